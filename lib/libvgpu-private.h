/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Internal object layouts and the backend interface. Never installed. */
#ifndef LIBVGPU_PRIVATE_H
#define LIBVGPU_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <syslog.h>

#include "libvgpu.h"
#include "util-vec.h"

#define VGPU_EXPORT __attribute__((visibility("default")))

#define VGPU_UUID_LEN 36

struct vgpu_backend;
struct vgpu_vfio_sys;

struct vgpu_ctx {
	int refcount;
	vgpu_log_fn log_fn;
	void *log_data;
	int log_priority;
	void *userdata;
	char *sysfs_root;
	char *config_dir;
	char *runtime_dir;
	struct pci_access *pacc; /* opened on the first PCI name look-up */
	/* system calls of opened kernel VFIO devices; NULL: the real ones */
	const struct vgpu_vfio_sys *vfio_sys;
	/* backends left out by vgpu_ctx_set_backends(), bit i for
	 * vgpu_backends[i] */
	unsigned int backends_off;
	/* listings leave out parents that cannot be asked and tell this
	 * function (vgpu_ctx_set_unreachable_fn()); NULL: they fail */
	vgpu_unreachable_fn unreachable_fn;
	void *unreachable_data;
	/* during vgpu_instance_list(): the IDs of the parents left out
	 * (strings to free), so that their definitions are left out too */
	struct vgpu_vec *left_out;
	/* the worker threads of big listings (enum-parallel.h); NULL until
	 * the first one that wants them */
	struct vgpu_enum_pool *enum_pool;
};

struct vgpu_parent {
	int refcount;
	struct vgpu_ctx *ctx;
	const struct vgpu_backend *backend;
	char *id;
	char *bus;
	char *syspath;
	char *driver;
	int numa_node;
	bool is_pci;
	bool names_looked_up;
	/* bus, driver, numa_node and PCI identity not read yet: they are
	 * read from syspath by the first getter that needs them */
	bool details_pending;
	uint16_t vendor, device, subsystem_vendor, subsystem_device;
	uint32_t class_code;
	char *vendor_name;
	char *device_name;
};

struct vgpu_kv {
	char *key;
	char *value;
};

struct vgpu_type {
	int refcount;
	struct vgpu_parent *parent;
	char *id;
	char *name;
	char *description;
	char *device_api;
	int available;
	int max; /* the total the backend reports, or -ENODATA */
	struct vgpu_kv *attrs;
	size_t n_attrs;
	/* attrs not parsed from description yet: the first attribute
	 * getter does it (a listing of types never asks) */
	bool attrs_pending;
};

/* the knobs of enum vgpu_qos_knob and counters of enum vgpu_usage_counter */
#define VGPU_QOS_KNOBS	    5
#define VGPU_USAGE_COUNTERS 6

struct vgpu_config {
	int refcount;
	char *type;
	bool autostart;
	bool incomplete; /* parsed from JSON without "start" */
	struct vgpu_kv *attrs;
	size_t n_attrs;
	/* QoS (qos.c): kept beside mdevctl's file, never in it */
	uint64_t qos[VGPU_QOS_KNOBS];
	unsigned int qos_set; /* bit (1 << knob): the knob is set */
	bool qos_touched;     /* QoS was loaded or changed: modify writes it */
};

/* a snapshot of enum vgpu_usage_counter values */
struct vgpu_usage {
	int refcount;
	uint64_t timestamp;    /* CLOCK_MONOTONIC ns */
	unsigned int reported; /* bit (1 << counter): the backend reported it */
	uint64_t value[VGPU_USAGE_COUNTERS];
};

/* an instance's IOMMU group not read yet: its getter reads the
 * syspath's iommu_group link the first time it is asked */
#define VGPU_IOMMU_GROUP_UNREAD (-2)

struct vgpu_instance {
	int refcount;
	struct vgpu_ctx *ctx;
	const struct vgpu_backend *backend;
	char uuid[VGPU_UUID_LEN + 1];
	char *parent_id;
	char *type_id; /* of the active instance */
	char *syspath;
	int iommu_group; /* VGPU_IOMMU_GROUP_UNREAD: read on demand */
	bool active;
	struct vgpu_config *config; /* non-NULL when defined */
};

/*
 * A backend: one table of operations, filled by one folder under backends/.
 * Every function returns 0 or a negative errno. Lists append new references
 * to a struct vgpu_vec. The core sorts, merges definitions and locks; the
 * backend only talks to its own interface (sysfs, a socket, ...).
 */
struct vgpu_backend {
	const char *name;
	/* append every parent */
	int (*list_parents)(struct vgpu_ctx *ctx, struct vgpu_vec *out);
	/* one parent by id; -ENODEV when absent */
	int (*get_parent)(struct vgpu_ctx *ctx, const char *id,
			  struct vgpu_parent **ret);
	/* append every type of a parent */
	int (*list_types)(struct vgpu_parent *parent, struct vgpu_vec *out);
	/* optional: list_types for each of @n (>= 1) parents of this backend
	 * and of one context into outs[i], faster than one by one; each
	 * parent's failure goes through vgpu_types_leave_out(), in their
	 * order, and the first one that stands is returned */
	int (*list_types_many)(struct vgpu_parent *const *parents, size_t n,
			       struct vgpu_vec *outs);
	/* one type; -ENOENT when absent */
	int (*get_type)(struct vgpu_parent *parent, const char *id,
			struct vgpu_type **ret);
	/* append active instances (of one parent when parent_id != NULL) */
	int (*list_active)(struct vgpu_ctx *ctx, const char *parent_id,
			   struct vgpu_vec *out);
	/* one active instance by normalised UUID; -ENOENT when absent */
	int (*get_active)(struct vgpu_ctx *ctx, const char *uuid,
			  struct vgpu_instance **ret);
	/* create an instance; called with the parent's lock held */
	int (*create)(struct vgpu_parent *parent, const char *type_id,
		      const char *uuid);
	/* write one attribute of an active instance */
	int (*write_attr)(struct vgpu_instance *instance, const char *key,
			  const char *value);
	/* remove an active instance; called with the parent's lock held */
	int (*remove)(struct vgpu_instance *instance);
	/* optional: remove one in use, asking its user to let go first
	 * (vgpu_instance_remove_force()); NULL means remove */
	int (*remove_force)(struct vgpu_instance *instance);
	/* optional: a malloc'd directory for this backend's persistent
	 * definitions (<dir>/<parent>/<uuid>, mdevctl's JSON), for backends
	 * whose definitions must stay out of mdevctl's config_dir; NULL
	 * means ctx->config_dir */
	char *(*config_dir)(struct vgpu_ctx *ctx);
	/* how its active instances are opened as device handles: the name
	 * of an access method (lib/device-private.h), "vfio" for kernel VFIO
	 * devices at their syspath (mdev, a VF), "vfio-user" for sockets */
	const char *access;
	/* optional: a malloc'd directory whose entries change when the
	 * backend's parents or instances do, for backends whose changes raise
	 * no uevent; the monitor watches it (the backend creates it if it
	 * may). NULL: uevents cover the backend */
	char *(*watch_dir)(struct vgpu_ctx *ctx);
	/* optional: a read-only display source of an active instance, beside
	 * its VMM; fills display->ops and ->priv (display-private.h) */
	int (*open_display)(struct vgpu_instance *instance,
			    struct vgpu_display *display);
	/* optional: create with the definition's attributes in one step
	 * (instead of create, then write_attr for each); called with the
	 * parent's lock held */
	int (*create_attrs)(struct vgpu_parent *parent, const char *type_id,
			    const char *uuid, const struct vgpu_kv *attrs,
			    size_t n_attrs);
	/* optional: a QoS knob of an active instance into *value, with
	 * enum vgpu_qos_state bits in *state. A knob the backend lacks is
	 * -EOPNOTSUPP, logged with the backend's name; one it has without a
	 * readable value -ENODATA. NULL: the backend has no knob */
	int (*qos_get)(struct vgpu_instance *instance, enum vgpu_qos_knob knob,
		       uint64_t *value, unsigned int *state);
	/* optional: set a knob of an active instance (@value is in the
	 * knob's range); 0 when in effect, VGPU_QOS_APPLIED_AT_NEXT_START
	 * when the device takes it at the next VM start, -EOPNOTSUPP
	 * (logged, naming the backend) for a knob it lacks or cannot set */
	int (*qos_set)(struct vgpu_instance *instance, enum vgpu_qos_knob knob,
		       uint64_t value);
	/* optional: the counters the backend can read, with
	 * vgpu_usage_set(); the others stay "not reported". NULL: none */
	int (*get_usage)(struct vgpu_instance *instance,
			 struct vgpu_usage *usage);
};

extern const struct vgpu_backend vgpu_backend_mdev;
extern const struct vgpu_backend vgpu_backend_sriov;
extern const struct vgpu_backend vgpu_backend_vfio_user;

/* all built-in backends, NULL-terminated */
extern const struct vgpu_backend *const vgpu_backends[];

/*
 * A listing's failure @r to ask parent @id of @backend: with an unreachable
 * function (vgpu_ctx_set_unreachable_fn()) the parent is left out (noted
 * in ctx->left_out during an instance listing, so that its definitions
 * are left out too), the function is told, and the listing goes on (0);
 * without one, or out of memory, the listing fails with @r.
 */
int vgpu_ctx_leave_out(struct vgpu_ctx *ctx, const struct vgpu_backend *backend,
		       const char *id, int r);

/*
 * @r, parent @p's answer (its types in @v) in a listing of many parents'
 * types (vgpu_type_list_many()): a failure but -ENOMEM leaves @p out, its
 * types dropped, when its context has an unreachable function, which is
 * told (0, after logging why); otherwise @r stands.
 */
int vgpu_types_leave_out(struct vgpu_parent *p, struct vgpu_vec *v, int r);

/* whether @ctx uses backend vgpu_backends[@i] (vgpu_ctx_set_backends()) */
static inline bool vgpu_backend_on(const struct vgpu_ctx *ctx, size_t i)
{
	return !(ctx->backends_off & (1u << i));
}

/*
 * A backend's own definitions directory: $@env_name when it is absolute,
 * else @dir_name next to ctx->config_dir (out of mdevctl's sight).
 * Malloc'd, NULL without memory.
 */
char *vgpu_backend_config_dir(struct vgpu_ctx *ctx, const char *env_name,
			      const char *dir_name);

/* logging */
void vgpu_log(struct vgpu_ctx *ctx, int priority, const char *file, int line,
	      const char *fn, const char *format, ...)
	__attribute__((format(printf, 6, 7)));

#define vgpu_log_cond(ctx, prio, ...)                                     \
	do {                                                              \
		if ((ctx) && (ctx)->log_priority >= (prio))               \
			vgpu_log(ctx, prio, __FILE__, __LINE__, __func__, \
				 __VA_ARGS__);                            \
	} while (0)

#define dbg(ctx, ...)  vgpu_log_cond(ctx, LOG_DEBUG, __VA_ARGS__)
#define info(ctx, ...) vgpu_log_cond(ctx, LOG_INFO, __VA_ARGS__)
#define warn(ctx, ...) vgpu_log_cond(ctx, LOG_WARNING, __VA_ARGS__)
#define err(ctx, ...)  vgpu_log_cond(ctx, LOG_ERR, __VA_ARGS__)

/* object constructors used by backends */
struct vgpu_parent *vgpu_parent_alloc(struct vgpu_ctx *ctx,
				      const struct vgpu_backend *backend,
				      const char *id);
/* read vendor, device, subsystem ids and class from a PCI device's
 * directory into @p (is_pci set); logs and returns the error otherwise */
int vgpu_parent_read_pci_identity(struct vgpu_parent *p, int devfd);
/* read what details_pending stands for, once */
void vgpu_parent_load_details(struct vgpu_parent *p);
struct vgpu_type *vgpu_type_alloc(struct vgpu_parent *parent, const char *id);
struct vgpu_instance *vgpu_instance_alloc(struct vgpu_ctx *ctx,
					  const struct vgpu_backend *backend,
					  const char *uuid,
					  const char *parent_id);

/* parse vendor description text into key/value attributes */
int vgpu_parse_description(const char *text, struct vgpu_kv **ret,
			   size_t *n_ret);
void vgpu_kv_free(struct vgpu_kv *kv, size_t n);

/* definitions (config.c) */
int vgpu_config_load_file(struct vgpu_ctx *ctx, int dirfd, const char *name,
			  struct vgpu_config **ret);
/* vgpu_config_load_file() without the warning: it uses no context, so a
 * worker thread of a listing may call it (enum-parallel.h) */
int vgpu_config_read_at(int dirfd, const char *name, struct vgpu_config **ret);
/* what a series of reads can share (a parser and a buffer): zeroed to
 * start, vgpu_config_reader_clear() at the end */
struct json_tokener;
struct vgpu_config_reader {
	struct json_tokener *tok;
	char *buf;
	size_t cap;
};
int vgpu_config_read_with(struct vgpu_config_reader *rd, int dirfd,
			  const char *name, struct vgpu_config **ret);
void vgpu_config_reader_clear(struct vgpu_config_reader *rd);
/* the warning of vgpu_config_load_file() for the failure @r of @name */
void vgpu_config_warn_unusable(struct vgpu_ctx *ctx, const char *name, int r);
int vgpu_config_valid_key(const char *key);

/* QoS and usage (qos.c) */
void vgpu_usage_set(struct vgpu_usage *usage, enum vgpu_usage_counter counter,
		    uint64_t value);
/* log and return -EOPNOTSUPP for a knob @instance's backend lacks */
int vgpu_qos_unsupported(struct vgpu_instance *instance,
			 enum vgpu_qos_knob knob, const char *why);
/* the QoS of the definition <parent>/<uuid> into @config: 0 (also when
 * there is none), -EBADMSG for a malformed file */
int vgpu_qos_def_load(struct vgpu_ctx *ctx, const char *parent,
		      const char *uuid, struct vgpu_config *config);
/* the same for many definitions of one parent: the QoS directory of
 * @parent opened once (-ENOENT: there is none, every load gives 0), and
 * each definition's file read through it */
int vgpu_qos_def_dir_open(struct vgpu_ctx *ctx, const char *parent);
/* false when the QoS directory does not exist: no definition has QoS */
bool vgpu_qos_def_dir_exists(struct vgpu_ctx *ctx);
int vgpu_qos_def_load_at(struct vgpu_ctx *ctx, int dirfd, const char *parent,
			 const char *uuid, struct vgpu_config *config);
/* store @config's QoS for <parent>/<uuid>; none set: the file goes */
int vgpu_qos_def_store(struct vgpu_ctx *ctx, const char *parent,
		       const char *uuid, struct vgpu_config *config);
void vgpu_qos_def_delete(struct vgpu_ctx *ctx, const char *parent,
			 const char *uuid);
/* "1024M", "512MB", "18G", "4096": bytes (binary units); -EINVAL */
int vgpu_parse_size(const char *s, uint64_t *bytes);
/* the value of @key in @kv, or NULL */
const char *vgpu_kv_get(const struct vgpu_kv *kv, size_t n, const char *key);
/* set every knob of @config on the new instance @in */
int vgpu_qos_apply(struct vgpu_ctx *ctx, struct vgpu_instance *in,
		   struct vgpu_config *config);

/* locking (lock.c): an exclusive cross-process lock named @name */
int vgpu_lock_take(struct vgpu_ctx *ctx, const char *name);
void vgpu_lock_release(int fd);
/* flock() the directory @dir (exclusive, waits); the fd, to release */
int vgpu_lock_dir(struct vgpu_ctx *ctx, const char *dir);

#endif
