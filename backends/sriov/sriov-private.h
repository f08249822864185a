/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The SR-IOV backend's inside: the PF and VF records every model works on,
 * and the table of operations one vendor model fills (sriov-<model>.c).
 * sriov.c holds what every model shares (PFs, VFs, the instance records,
 * enabling VFs, binding to vfio-pci) and asks the PF's model for the rest.
 * Never included outside backends/sriov.
 */
#ifndef LIBVGPU_SRIOV_PRIVATE_H
#define LIBVGPU_SRIOV_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

#include "libvgpu-private.h"

#define SRIOV_FIELD_MAX	  256
#define SRIOV_VFIO_DRIVER "vfio-pci"

struct sriov_model;

struct vf {
	unsigned int index; /* N of the PF's virtfnN link */
	char bdf[SRIOV_FIELD_MAX];
	char driver[SRIOV_FIELD_MAX];	/* "" when unbound */
	char override[SRIOV_FIELD_MAX]; /* "" when unset ("(null)") */
	bool mdev_parent;		/* handed to the mdev backend */
	bool claimed;			/* an active libvgpu instance */
	/* the vendor's per-VF type (NVIDIA: nvidia/current_vgpu_type),
	 * -errno when the model has none */
	long vendor_current;
	/* the vendor's creatable list (nvidia/creatable_vgpu_types), or NULL */
	char *vendor_creatable;
};

/* a PF as read now */
struct pf {
	struct vgpu_ctx *ctx;
	char bdf[SRIOV_FIELD_MAX];
	char *syspath;
	int fd;
	char driver[SRIOV_FIELD_MAX];
	long totalvfs, numvfs, offset, stride, vf_device, autoprobe;
	const struct sriov_model *model;
	struct vf *vfs;
	size_t n_vfs;
};

/* what <runtime>/sriov/instances/<uuid> holds */
struct record {
	char uuid[VGPU_UUID_LEN + 1];
	char parent[SRIOV_FIELD_MAX];
	char vf[SRIOV_FIELD_MAX];
	char type[SRIOV_FIELD_MAX];
	char model[SRIOV_FIELD_MAX];
	char prev_driver[SRIOV_FIELD_MAX];  /* the VF's driver before us */
	char prev_setting[SRIOV_FIELD_MAX]; /* xe: the sched_priority before */
	char type_name[SRIOV_FIELD_MAX];    /* the type's name, when known */
	/* xe: the profile values before QoS changed them ("" untouched) */
	char prev_exec_quantum_ms[32];
	char prev_preempt_timeout_us[32];
};

/*
 * One vendor model: a row of operations, like kmod's comp_types[]. Every
 * operation is optional unless said otherwise; NULL means the shared
 * behaviour described with it.
 */
struct sriov_model {
	const char *name; /* required; recorded in the instance records */
	/* required: does @pf belong to this model? Asked in table order */
	bool (*probe)(const struct pf *pf);
	/* libvgpu may write sriov_numvfs to bring VFs up */
	bool enables_vfs;
	/* the VF stays with the vendor's driver, which is its VFIO provider;
	 * otherwise it is bound to vfio-pci */
	bool vendor_vfio;
	/* read model facts of a VF into @vf (vendor_current/creatable) */
	void (*read_vf)(struct pf *pf, struct vf *vf, int vfd);
	/* is a VF, not claimed and not an mdev parent, free? NULL: not bound
	 * to a VFIO driver and without driver_override */
	bool (*vf_free)(const struct pf *pf, const struct vf *vf);
	/* required: append the PF's types */
	int (*list_types)(struct pf *pf, struct vgpu_parent *parent,
			  struct vgpu_vec *out);
	/* required: can @type_id be a type of this model? */
	bool (*type_fits)(const char *type_id);
	/* can this free VF take @type_id? NULL: yes */
	bool (*vf_fits)(const struct pf *pf, const struct vf *vf,
			const char *type_id);
	/* no free VF and the model does not enable VFs: log why, return the
	 * error. NULL: -ENOSPC */
	int (*no_free_vf)(const struct pf *pf, const char *type_id);
	/* configure @vf for @rec's type before it is handed out; may fill
	 * @rec (prev_setting), which is stored again afterwards */
	int (*configure)(struct pf *pf, struct vf *vf, struct record *rec);
	/* undo configure(); @pf may be closed (fd -1) when the PF is gone */
	int (*unconfigure)(struct vgpu_ctx *ctx, struct pf *pf,
			   const struct record *rec);
	/* is the VF (its directory @vfd) still in the state configure() and
	 * the binding left it in? NULL: bound to vfio-pci */
	bool (*vf_active)(int vfd, const struct record *rec);
	/* write an attribute the model redirects (xe "profile/..."); return
	 * 1 when @key is not one of them */
	int (*write_attr)(struct vgpu_ctx *ctx, const struct record *rec,
			  const char *key, const char *value);
	/* QoS of the instance @in on @vf (struct vgpu_backend qos_get and
	 * qos_set, which the backend calls with the PF and record read);
	 * qos_set may note in @rec what to restore, and the record is stored
	 * again. NULL: the model has no knob */
	int (*qos_get)(struct pf *pf, struct vf *vf, const struct record *rec,
		       struct vgpu_instance *in, enum vgpu_qos_knob knob,
		       uint64_t *value, unsigned int *state);
	int (*qos_set)(struct pf *pf, struct vf *vf, struct record *rec,
		       struct vgpu_instance *in, enum vgpu_qos_knob knob,
		       uint64_t value);
	/* the model's usage counters (vgpu_usage_set); the backend adds
	 * the interrupts of VFs bound to vfio-pci */
	int (*get_usage)(struct pf *pf, struct vf *vf, const struct record *rec,
			 struct vgpu_usage *usage);
};

extern const struct sriov_model sriov_model_generic;
extern const struct sriov_model sriov_model_nvidia;
extern const struct sriov_model sriov_model_xe;
extern const struct sriov_model sriov_model_gim;

/* the model recorded as @name, or NULL */
const struct sriov_model *sriov_model_find(const char *name);

/* ---- shared helpers (sriov.c) -------------------------------------------- */

int sriov_fmt_path(char *buf, size_t size, const char *format, ...)
	__attribute__((format(printf, 3, 4)));
/* <sysfs>/<rel>/<name> as a directory fd */
int sriov_open_rel(struct vgpu_ctx *ctx, const char *rel, const char *name);
/* a PCI device's directory */
int sriov_vf_open(struct vgpu_ctx *ctx, const char *bdf);
/* open the PF @bdf and read its VFs; -ENODEV when it is no SR-IOV PF */
int sriov_pf_open(struct vgpu_ctx *ctx, const char *bdf, struct pf *pf);
int sriov_pf_load_vfs(struct pf *pf);
void sriov_pf_clear(struct pf *pf);
struct vf *sriov_find_vf(struct pf *pf, const char *bdf);
bool sriov_vf_is_free(const struct pf *pf, const struct vf *vf);
size_t sriov_count_free(const struct pf *pf);
/* VFs libvgpu could still bring up (models that enable VFs) */
long sriov_enableable(const struct pf *pf);
int sriov_record_find(struct vgpu_ctx *ctx, const char *uuid,
		      struct record *rec);
int sriov_record_store(struct vgpu_ctx *ctx, const struct record *rec);

/* types */
struct vgpu_type *sriov_new_type(struct pf *pf, struct vgpu_parent *parent,
				 const char *id, const char *name, long avail);
/* push @t (NULL: -ENOMEM); on failure @t is dropped */
int sriov_push_type(struct vgpu_vec *out, struct vgpu_type *t);
bool sriov_vec_has_type(struct vgpu_vec *out, const char *id);
void sriov_kv_append(struct vgpu_type *t, const char *key, const char *value);

#endif
