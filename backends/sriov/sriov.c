/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The SR-IOV backend: parents are the PCI physical functions with
 * sriov_totalvfs > 0 under <root>/bus/pci/devices, types the VF profiles of
 * the PF's model (generic, NVIDIA vendor-specific VFIO, Intel xe, AMD GIM),
 * instances the VFs handed out, each named by a UUID that is recorded in
 * <runtime>/sriov/instances/<uuid>. This file holds what the models share;
 * each model is a row of operations in sriov-<model>.c (sriov-private.h).
 * See docs/sriov.md.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sriov-private.h"
#include "util-file.h"
#include "util-sysfs.h"
#include "util-uuid.h"

#define PCI_DEVICES  "bus/pci/devices"
#define PCI_DRIVERS  "bus/pci/drivers"
#define VFIO_DRIVER  SRIOV_VFIO_DRIVER
#define ALIAS_PREFIX "sriov:"
#define RECORD_MAX   4096
#define FIELD_MAX    SRIOV_FIELD_MAX

/* ---- small helpers ---------------------------------------------------- */

int sriov_fmt_path(char *buf, size_t size, const char *format, ...)
	__attribute__((format(printf, 3, 4)));

/* the vendor models, asked in this order; generic takes every PF */
static const struct sriov_model *const models[] = {
	&sriov_model_nvidia,
	&sriov_model_gim,
	&sriov_model_xe,
	&sriov_model_generic,
};

const struct sriov_model *sriov_model_find(const char *name)
{
	for (size_t i = 0; i < sizeof(models) / sizeof(models[0]); i++)
		if (!strcmp(models[i]->name, name))
			return models[i];
	return NULL;
}

int sriov_fmt_path(char *buf, size_t size, const char *format, ...)
{
	va_list ap;
	int n;

	va_start(ap, format);
	n = vsnprintf(buf, size, format, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* "dddd:bb:dd.f", lower-case hex, as the kernel names PCI devices */
static bool valid_bdf(const char *s)
{
	static const char shape[] = "xxxx:xx:xx.x";

	if (strlen(s) != sizeof(shape) - 1)
		return false;
	for (size_t i = 0; shape[i]; i++) {
		if (shape[i] == 'x') {
			if (!isxdigit((unsigned char)s[i]) ||
			    isupper((unsigned char)s[i]))
				return false;
		} else if (s[i] != shape[i]) {
			return false;
		}
	}
	return true;
}

int sriov_open_rel(struct vgpu_ctx *ctx, const char *rel, const char *name)
{
	char path[PATH_MAX];
	int fd, r;

	r = sriov_fmt_path(path, sizeof(path), "%s/%s/%s", ctx->sysfs_root, rel,
			   name);
	if (r < 0)
		return r;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* write @value to <root>/bus/pci/drivers/<driver>/<file> */
static int driver_write(struct vgpu_ctx *ctx, const char *driver,
			const char *file, const char *value)
{
	int fd = sriov_open_rel(ctx, PCI_DRIVERS, driver), r;

	if (fd < 0)
		return fd == -ENOENT ? -ENODEV : fd;
	r = vgpu_write_attr(fd, file, value);
	close(fd);
	return r;
}

static void read_link_name(int fd, const char *name, char *buf, size_t size)
{
	if (vgpu_readlink_base(fd, name, buf, size) <= 0)
		buf[0] = '\0';
}

/* driver_override reads "(null)" when unset */
static void read_override(int fd, char *buf, size_t size)
{
	if (vgpu_read_attr(fd, "driver_override", buf, size) < 0 ||
	    !strcmp(buf, "(null)"))
		buf[0] = '\0';
}

static bool is_vfio_driver(const char *driver)
{
	return strstr(driver, "vfio") != NULL;
}

void sriov_kv_append(struct vgpu_type *t, const char *key, const char *value)
{
	struct vgpu_kv *grown;
	char *k, *v;

	k = strdup(key);
	v = strdup(value);
	grown = k && v ? reallocarray(t->attrs, t->n_attrs + 1, sizeof(*grown))
		       : NULL;
	if (!grown) {
		/* attributes are informative; a failed one is left out */
		free(k);
		free(v);
		return;
	}
	t->attrs = grown;
	grown[t->n_attrs].key = k;
	grown[t->n_attrs].value = v;
	t->n_attrs++;
}

static void kv_append_long(struct vgpu_type *t, const char *key, long value,
			   bool hex)
{
	char buf[32];

	if (value < 0)
		return;
	snprintf(buf, sizeof(buf), hex ? "%lx" : "%ld", value);
	sriov_kv_append(t, key, buf);
}

/* ---- physical functions ----------------------------------------------- */

static void vfs_free(struct vf *vfs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(vfs[i].vendor_creatable);
	free(vfs);
}

void sriov_pf_clear(struct pf *pf)
{
	if (pf->fd >= 0)
		close(pf->fd);
	free(pf->syspath);
	vfs_free(pf->vfs, pf->n_vfs);
	*pf = (struct pf){ .fd = -1 };
}

static const struct sriov_model *pick_model(const struct pf *pf)
{
	size_t i = 0;

	while (!models[i]->probe(pf))
		i++;
	return models[i];
}

static long read_fact(struct pf *pf, const char *name, int base)
{
	long v;
	int r = vgpu_read_attr_long(pf->fd, name, base, 0, 0xffffff, &v);

	if (r < 0) {
		if (r != -ENOENT)
			warn(pf->ctx, "%s: %s: %s", pf->bdf, name,
			     strerror(-r));
		return r;
	}
	return v;
}

/*
 * Read the PF @bdf. -ENODEV when it is not an SR-IOV PF (no such device,
 * no sriov_totalvfs, or 0), -EBADMSG when sriov_totalvfs is garbage.
 */
int sriov_pf_open(struct vgpu_ctx *ctx, const char *bdf, struct pf *pf)
{
	char path[PATH_MAX], buf[PATH_MAX];
	long total;
	int r;

	*pf = (struct pf){ .ctx = ctx, .fd = -1 };
	if (!valid_bdf(bdf))
		return -ENODEV;
	snprintf(pf->bdf, sizeof(pf->bdf), "%s", bdf);
	r = sriov_fmt_path(path, sizeof(path), "%s/" PCI_DEVICES "/%s",
			   ctx->sysfs_root, bdf);
	if (r < 0)
		return -ENODEV;
	pf->fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pf->fd < 0) {
		if (errno != ENOENT)
			dbg(ctx, "%s: %s", path, strerror(errno));
		r = -ENODEV;
		goto fail;
	}
	r = vgpu_read_attr_long(pf->fd, "sriov_totalvfs", 10, 0, 0xffff,
				&total);
	if (r == -ENOENT || (r == 0 && total == 0)) {
		r = -ENODEV;
		goto fail;
	}
	if (r < 0) {
		warn(ctx,
		     "%s: sriov_totalvfs: %s; not listed as an SR-IOV parent",
		     bdf, strerror(-r));
		r = r == -ERANGE || r == -EINVAL ? -EBADMSG : r;
		goto fail;
	}
	pf->totalvfs = total;
	if (!realpath(path, buf)) {
		r = -ENODEV;
		goto fail;
	}
	pf->syspath = strdup(buf);
	if (!pf->syspath) {
		r = -ENOMEM;
		goto fail;
	}
	read_link_name(pf->fd, "driver", pf->driver, sizeof(pf->driver));
	pf->numvfs = read_fact(pf, "sriov_numvfs", 10);
	pf->offset = read_fact(pf, "sriov_offset", 10);
	pf->stride = read_fact(pf, "sriov_stride", 10);
	pf->vf_device = read_fact(pf, "sriov_vf_device", 16);
	pf->autoprobe = read_fact(pf, "sriov_drivers_autoprobe", 10);
	pf->model = pick_model(pf);
	return 0;
fail:
	sriov_pf_clear(pf);
	return r;
}

static int cmp_vf(const void *a, const void *b)
{
	const struct vf *x = a, *y = b;

	return x->index < y->index ? -1 : x->index > y->index;
}

static int records_claims(struct pf *pf);

/* read the PF's VFs (its virtfnN links) and which of them we hold */
int sriov_pf_load_vfs(struct pf *pf)
{
	struct vgpu_ctx *ctx = pf->ctx;
	struct dirent *de;
	DIR *d;
	int dfd, r = 0;

	vfs_free(pf->vfs, pf->n_vfs);
	pf->vfs = NULL;
	pf->n_vfs = 0;
	dfd = dup(pf->fd);
	if (dfd < 0)
		return -errno;
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return -errno;
	}
	rewinddir(d);
	while ((de = readdir(d))) {
		struct vf vf = { .vendor_current = -ENOENT };
		struct vf *grown;
		char rel[PATH_MAX];
		long idx;
		int vfd;

		if (strncmp(de->d_name, "virtfn", 6) ||
		    vgpu_parse_long(de->d_name + 6, 10, 0, 0xffff, &idx) < 0)
			continue;
		vf.index = (unsigned int)idx;
		if (vgpu_readlink_base(pf->fd, de->d_name, vf.bdf,
				       sizeof(vf.bdf)) <= 0 ||
		    !valid_bdf(vf.bdf)) {
			warn(ctx, "%s/%s: not a link to a PCI device, ignored",
			     pf->bdf, de->d_name);
			continue;
		}
		vfd = openat(pf->fd, de->d_name,
			     O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (vfd < 0) {
			warn(ctx, "%s/%s -> %s: %s (dangling link), ignored",
			     pf->bdf, de->d_name, vf.bdf, strerror(errno));
			continue;
		}
		read_link_name(vfd, "driver", vf.driver, sizeof(vf.driver));
		read_override(vfd, vf.override, sizeof(vf.override));
		if (pf->model->read_vf)
			pf->model->read_vf(pf, &vf, vfd);
		close(vfd);
		if (sriov_fmt_path(rel, sizeof(rel), "%s/class/mdev_bus/%s",
				   ctx->sysfs_root, vf.bdf) == 0 &&
		    faccessat(AT_FDCWD, rel, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
			vf.mdev_parent = true;
		grown = reallocarray(pf->vfs, pf->n_vfs + 1, sizeof(*grown));
		if (!grown) {
			free(vf.vendor_creatable);
			r = -ENOMEM;
			break;
		}
		pf->vfs = grown;
		pf->vfs[pf->n_vfs++] = vf;
	}
	closedir(d);
	if (r < 0)
		return r;
	if (pf->n_vfs > 1)
		qsort(pf->vfs, pf->n_vfs, sizeof(*pf->vfs), cmp_vf);
	return records_claims(pf);
}

struct vf *sriov_find_vf(struct pf *pf, const char *bdf)
{
	for (size_t i = 0; i < pf->n_vfs; i++)
		if (!strcmp(pf->vfs[i].bdf, bdf))
			return &pf->vfs[i];
	return NULL;
}

/* a VF nobody holds: not ours, not mdev's, not bound to or reserved for
 * another VFIO user; a host driver bound to it is taken away, like
 * libvirt's managed hostdevs do */
bool sriov_vf_is_free(const struct pf *pf, const struct vf *vf)
{
	if (vf->claimed || vf->mdev_parent)
		return false;
	if (pf->model->vf_free)
		return pf->model->vf_free(pf, vf);
	return !is_vfio_driver(vf->driver) && !vf->override[0];
}

/* no VF is bound, reserved or ours: sriov_numvfs may change */
static bool vfs_all_idle(struct pf *pf)
{
	for (size_t i = 0; i < pf->n_vfs; i++) {
		const struct vf *vf = &pf->vfs[i];

		if (vf->claimed || vf->mdev_parent || vf->driver[0] ||
		    vf->override[0])
			return false;
	}
	return true;
}

/* ---- records in the runtime directory ------------------------------------ */

static int runtime_subdir(struct vgpu_ctx *ctx, const char *name, bool create)
{
	char path[PATH_MAX];
	int fd, r;

	r = sriov_fmt_path(path, sizeof(path), "%s/sriov/%s", ctx->runtime_dir,
			   name);
	if (r < 0)
		return r;
	if (create) {
		r = vgpu_mkdir_p(path, 0755);
		if (r < 0) {
			err(ctx, "cannot create %s: %s", path, strerror(-r));
			return r;
		}
	}
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int record_parse(const char *text, struct record *rec)
{
	static const struct {
		const char *key;
		size_t offset;
	} fields[] = {
		{ "parent", offsetof(struct record, parent) },
		{ "vf", offsetof(struct record, vf) },
		{ "type", offsetof(struct record, type) },
		{ "model", offsetof(struct record, model) },
		{ "prev_driver", offsetof(struct record, prev_driver) },
		{ "prev_setting", offsetof(struct record, prev_setting) },
		{ "type_name", offsetof(struct record, type_name) },
		{ "prev_exec_quantum_ms",
		  offsetof(struct record, prev_exec_quantum_ms) },
		{ "prev_preempt_timeout_us",
		  offsetof(struct record, prev_preempt_timeout_us) },
	};
	const char *p = text;

	while (*p) {
		const char *eol = strchrnul(p, '\n'), *eq;
		size_t klen;
		bool known = false;

		eq = memchr(p, '=', (size_t)(eol - p));
		if (eol != p && !eq)
			return -EBADMSG;
		if (eq) {
			klen = (size_t)(eq - p);
			for (size_t i = 0;
			     i < sizeof(fields) / sizeof(fields[0]); i++) {
				char *slot = (char *)rec + fields[i].offset;
				size_t vlen = (size_t)(eol - eq - 1);

				if (strlen(fields[i].key) != klen ||
				    strncmp(fields[i].key, p, klen))
					continue;
				if (vlen >= FIELD_MAX)
					return -EBADMSG;
				memcpy(slot, eq + 1, vlen);
				slot[vlen] = '\0';
				known = true;
			}
			/* unknown keys come from newer versions: ignored */
			(void)known;
		}
		p = *eol ? eol + 1 : eol;
	}
	if (!valid_bdf(rec->parent) || !valid_bdf(rec->vf) || !rec->type[0] ||
	    !rec->model[0])
		return -EBADMSG;
	return 0;
}

static int record_load(struct vgpu_ctx *ctx, int dirfd, const char *uuid,
		       struct record *rec)
{
	char buf[RECORD_MAX];
	int r;

	*rec = (struct record){ 0 };
	if (vgpu_uuid_normalize(uuid, rec->uuid) < 0 || strcmp(uuid, rec->uuid))
		return -ENOENT;
	r = vgpu_read_attr(dirfd, uuid, buf, sizeof(buf));
	if (r < 0)
		return r;
	r = record_parse(buf, rec);
	if (r < 0)
		warn(ctx, "%s/sriov/instances/%s: malformed record, ignored",
		     ctx->runtime_dir, uuid);
	return r;
}

/* the record of @uuid: -ENOENT when there is none (or it is unreadable) */
int sriov_record_find(struct vgpu_ctx *ctx, const char *uuid,
		      struct record *rec)
{
	int fd = runtime_subdir(ctx, "instances", false), r;

	if (fd < 0)
		return -ENOENT;
	r = record_load(ctx, fd, uuid, rec);
	close(fd);
	return r < 0 && r != -ENOMEM ? -ENOENT : r;
}

int sriov_record_store(struct vgpu_ctx *ctx, const struct record *rec)
{
	char buf[RECORD_MAX];
	int fd, r, n;

	n = snprintf(
		buf, sizeof(buf),
		"parent=%s\nvf=%s\ntype=%s\nmodel=%s\nprev_driver=%s\nprev_setting=%s\n"
		"type_name=%s\nprev_exec_quantum_ms=%s\nprev_preempt_timeout_us=%s\n",
		rec->parent, rec->vf, rec->type, rec->model, rec->prev_driver,
		rec->prev_setting, rec->type_name, rec->prev_exec_quantum_ms,
		rec->prev_preempt_timeout_us);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -ENAMETOOLONG;
	fd = runtime_subdir(ctx, "instances", true);
	if (fd < 0)
		return fd;
	r = vgpu_write_file_atomic(fd, rec->uuid, buf, (size_t)n, true);
	close(fd);
	if (r < 0)
		err(ctx,
		    "%s: cannot record the instance in %s/sriov/instances: %s",
		    rec->uuid, ctx->runtime_dir, strerror(-r));
	return r;
}

static void record_delete(struct vgpu_ctx *ctx, const char *uuid)
{
	int fd = runtime_subdir(ctx, "instances", false);

	if (fd < 0)
		return;
	if (unlinkat(fd, uuid, 0) < 0 && errno != ENOENT)
		warn(ctx, "%s: cannot delete its record: %s", uuid,
		     strerror(errno));
	close(fd);
}

/*
 * Is the record's VF in the state we left it in? The VF must exist, belong
 * to the recorded PF and be bound to vfio-pci (NVIDIA: carry the recorded
 * vGPU type). A record that fails this is stale: a crash mid-way, VFs
 * disabled behind our back, or a driver change by someone else.
 */
static bool record_is_active(struct vgpu_ctx *ctx, const struct record *rec,
			     char **syspath, int *group)
{
	char path[PATH_MAX], buf[PATH_MAX], name[FIELD_MAX];
	const struct sriov_model *model;
	bool ok = false;
	long v;
	int fd;

	if (sriov_fmt_path(path, sizeof(path), "%s/" PCI_DEVICES "/%s",
			   ctx->sysfs_root, rec->vf) < 0)
		return false;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return false;
	read_link_name(fd, "physfn", name, sizeof(name));
	if (strcmp(name, rec->parent))
		goto out;
	model = sriov_model_find(rec->model);
	if (!model)
		goto out;
	if (model->vf_active) {
		ok = model->vf_active(fd, rec);
	} else {
		read_link_name(fd, "driver", name, sizeof(name));
		ok = !strcmp(name, VFIO_DRIVER);
	}
	if (ok && syspath) {
		*syspath = realpath(path, buf) ? strdup(buf) : strdup(path);
		if (!*syspath)
			ok = false;
	}
	if (ok && group) {
		*group = -1;
		if (vgpu_readlink_base(fd, "iommu_group", name, sizeof(name)) >
			    0 &&
		    vgpu_parse_long(name, 10, 0, INT_MAX, &v) == 0)
			*group = (int)v;
	}
out:
	close(fd);
	return ok;
}

/* visit every well-formed record; @fn returns < 0 to stop */
static int records_each(struct vgpu_ctx *ctx,
			int (*fn)(struct vgpu_ctx *ctx,
				  const struct record *rec, void *data),
			void *data)
{
	struct dirent *de;
	DIR *d;
	int fd, r = 0;

	fd = runtime_subdir(ctx, "instances", false);
	if (fd < 0)
		return fd == -ENOENT ? 0 : fd;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while (r >= 0 && (de = readdir(d))) {
		struct record rec;

		if (de->d_name[0] == '.')
			continue;
		if (record_load(ctx, dirfd(d), de->d_name, &rec) < 0)
			continue;
		r = fn(ctx, &rec, data);
	}
	closedir(d);
	return r;
}

static int claim_one(struct vgpu_ctx *ctx, const struct record *rec, void *data)
{
	struct pf *pf = data;
	struct vf *vf;

	if (strcmp(rec->parent, pf->bdf))
		return 0;
	vf = sriov_find_vf(pf, rec->vf);
	if (vf && record_is_active(ctx, rec, NULL, NULL))
		vf->claimed = true;
	return 0;
}

static int records_claims(struct pf *pf)
{
	return records_each(pf->ctx, claim_one, pf);
}

/* ---- the VFs-enabled-by-us marker ---------------------------------------- */

/* <runtime>/sriov/enabled/<pf> exists while VFs we enabled are up; it holds
 * the sriov_drivers_autoprobe value to restore */
static int marker_read(struct vgpu_ctx *ctx, const char *bdf, long *autoprobe)
{
	char buf[64];
	int fd = runtime_subdir(ctx, "enabled", false), r;

	if (fd < 0)
		return fd;
	r = vgpu_read_attr(fd, bdf, buf, sizeof(buf));
	close(fd);
	if (r < 0)
		return r;
	if (strncmp(buf, "autoprobe=", 10) ||
	    vgpu_parse_long(buf + 10, 10, -1, 1, autoprobe) < 0)
		*autoprobe = -1;
	return 0;
}

static int marker_write(struct vgpu_ctx *ctx, const char *bdf, long autoprobe)
{
	char buf[64];
	int fd = runtime_subdir(ctx, "enabled", true), r;

	if (fd < 0)
		return fd;
	snprintf(buf, sizeof(buf), "autoprobe=%ld\n",
		 autoprobe < 0 ? -1 : autoprobe);
	r = vgpu_write_file_atomic(fd, bdf, buf, strlen(buf), true);
	close(fd);
	return r;
}

static void marker_delete(struct vgpu_ctx *ctx, const char *bdf)
{
	int fd = runtime_subdir(ctx, "enabled", false);

	if (fd < 0)
		return;
	unlinkat(fd, bdf, 0);
	close(fd);
}

/* ---- enabling and disabling VFs ---------------------------------------- */

/*
 * Enable every VF of @pf with driver autoprobe off, so that they come up
 * unbound. Only called with no VF present (numvfs == 0). On failure the
 * PF is as before.
 */
static int pf_enable_vfs(struct pf *pf)
{
	struct vgpu_ctx *ctx = pf->ctx;
	char count[32];
	int r;

	if (pf->numvfs != 0) {
		err(ctx, "%s: sriov_numvfs is %ld; VFs are enabled only from 0",
		    pf->bdf, pf->numvfs);
		return -EBUSY;
	}
	r = marker_write(ctx, pf->bdf, pf->autoprobe);
	if (r < 0) {
		err(ctx, "%s: cannot write the enabled-VFs marker: %s", pf->bdf,
		    strerror(-r));
		return r;
	}
	if (pf->autoprobe > 0) {
		r = vgpu_write_attr(pf->fd, "sriov_drivers_autoprobe", "0");
		if (r < 0) {
			err(ctx,
			    "%s: cannot turn sriov_drivers_autoprobe off: %s",
			    pf->bdf, strerror(-r));
			marker_delete(ctx, pf->bdf);
			return r;
		}
	}
	snprintf(count, sizeof(count), "%ld", pf->totalvfs);
	r = vgpu_write_attr(pf->fd, "sriov_numvfs", count);
	if (r < 0) {
		err(ctx, "%s: enabling %ld VFs (sriov_numvfs) failed: %s%s",
		    pf->bdf, pf->totalvfs, strerror(-r),
		    r == -ENOENT ? " (no PF driver, or it cannot do SR-IOV)"
				 : "");
		if (pf->autoprobe > 0 &&
		    vgpu_write_attr(pf->fd, "sriov_drivers_autoprobe", "1") < 0)
			warn(ctx,
			     "%s: could not restore sriov_drivers_autoprobe",
			     pf->bdf);
		marker_delete(ctx, pf->bdf);
		return r;
	}
	info(ctx, "%s: enabled %ld VFs", pf->bdf, pf->totalvfs);
	pf->numvfs = pf->totalvfs;
	return sriov_pf_load_vfs(pf);
}

/* if we enabled the VFs and none is in use any more, disable them again */
static void pf_maybe_disable_vfs(struct pf *pf)
{
	struct vgpu_ctx *ctx = pf->ctx;
	long autoprobe;
	int r;

	if (marker_read(ctx, pf->bdf, &autoprobe) < 0)
		return;
	if (sriov_pf_load_vfs(pf) < 0 || !vfs_all_idle(pf)) {
		dbg(ctx, "%s: VFs still in use; they stay enabled", pf->bdf);
		return;
	}
	r = vgpu_write_attr(pf->fd, "sriov_numvfs", "0");
	if (r < 0) {
		warn(ctx, "%s: disabling the VFs we enabled failed: %s",
		     pf->bdf, strerror(-r));
		return;
	}
	pf->numvfs = 0;
	if (autoprobe > 0 &&
	    vgpu_write_attr(pf->fd, "sriov_drivers_autoprobe", "1") < 0)
		warn(ctx, "%s: could not restore sriov_drivers_autoprobe",
		     pf->bdf);
	marker_delete(ctx, pf->bdf);
	info(ctx, "%s: disabled the VFs libvgpu had enabled", pf->bdf);
}

/* ---- parents ----------------------------------------------------------- */

static int parent_from_pf(struct pf *pf, struct vgpu_parent **ret)
{
	struct vgpu_parent *p;
	long v;

	p = vgpu_parent_alloc(pf->ctx, &vgpu_backend_sriov, pf->bdf);
	if (!p)
		return -ENOMEM;
	p->syspath = strdup(pf->syspath);
	p->bus = strdup("pci");
	if (pf->driver[0])
		p->driver = strdup(pf->driver);
	if (!p->syspath || !p->bus || (pf->driver[0] && !p->driver)) {
		vgpu_parent_unref(p);
		return -ENOMEM;
	}
	if (vgpu_read_attr_long(pf->fd, "numa_node", 10, -1, 65535, &v) == 0)
		p->numa_node = (int)v;
	vgpu_parent_read_pci_identity(p, pf->fd);
	dbg(pf->ctx, "%s: SR-IOV PF, %ld of %ld VFs, model %s", pf->bdf,
	    pf->numvfs, pf->totalvfs, pf->model->name);
	*ret = p;
	return 0;
}

static int sriov_list_parents(struct vgpu_ctx *ctx, struct vgpu_vec *out)
{
	struct dirent *de;
	DIR *d;
	int fd, r = 0;

	fd = sriov_open_rel(ctx, PCI_DEVICES, ".");
	if (fd < 0) {
		if (fd != -ENOENT)
			err(ctx, "cannot read %s/" PCI_DEVICES ": %s",
			    ctx->sysfs_root, strerror(-fd));
		return fd == -ENOENT ? 0 : fd;
	}
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(d))) {
		struct vgpu_parent *p;
		struct pf pf;

		if (de->d_name[0] == '.')
			continue;
		r = sriov_pf_open(ctx, de->d_name, &pf);
		if (r == -ENOMEM)
			break;
		if (r < 0) {
			r = 0;
			continue;
		}
		r = parent_from_pf(&pf, &p);
		sriov_pf_clear(&pf);
		if (r < 0)
			break;
		r = vgpu_vec_push(out, p);
		if (r < 0) {
			vgpu_parent_unref(p);
			break;
		}
	}
	closedir(d);
	return r;
}

/* "sriov:<bdf>" names the SR-IOV side of a PF that is an mdev parent too */
static const char *strip_alias(const char *id)
{
	return strncmp(id, ALIAS_PREFIX, strlen(ALIAS_PREFIX))
		       ? id
		       : id + strlen(ALIAS_PREFIX);
}

static int sriov_get_parent(struct vgpu_ctx *ctx, const char *id,
			    struct vgpu_parent **ret)
{
	struct pf pf;
	int r;

	r = sriov_pf_open(ctx, strip_alias(id), &pf);
	if (r < 0)
		return r == -ENOMEM ? r : -ENODEV;
	r = parent_from_pf(&pf, ret);
	sriov_pf_clear(&pf);
	return r;
}

/* ---- types ------------------------------------------------------------- */

static void add_facts(struct pf *pf, struct vgpu_type *t)
{
	size_t nfree = 0, nused = 0;

	for (size_t i = 0; i < pf->n_vfs; i++) {
		if (sriov_vf_is_free(pf, &pf->vfs[i]))
			nfree++;
		else
			nused++;
	}
	sriov_kv_append(t, "model", pf->model->name);
	kv_append_long(t, "sriov_totalvfs", pf->totalvfs, false);
	kv_append_long(t, "sriov_numvfs", pf->numvfs, false);
	kv_append_long(t, "sriov_offset", pf->offset, false);
	kv_append_long(t, "sriov_stride", pf->stride, false);
	kv_append_long(t, "sriov_vf_device", pf->vf_device, true);
	kv_append_long(t, "sriov_drivers_autoprobe", pf->autoprobe, false);
	kv_append_long(t, "vfs_free", (long)nfree, false);
	kv_append_long(t, "vfs_in_use", (long)nused, false);
}

size_t sriov_count_free(const struct pf *pf)
{
	size_t n = 0;

	for (size_t i = 0; i < pf->n_vfs; i++)
		n += sriov_vf_is_free(pf, &pf->vfs[i]);
	return n;
}

/* VFs we could still bring up: all of them, when none is enabled yet and
 * the model lets us enable them */
long sriov_enableable(const struct pf *pf)
{
	if (!pf->model->enables_vfs)
		return 0;
	return pf->numvfs == 0 && pf->n_vfs == 0 ? pf->totalvfs : 0;
}

struct vgpu_type *sriov_new_type(struct pf *pf, struct vgpu_parent *parent,
				 const char *id, const char *name, long avail)
{
	struct vgpu_type *t = vgpu_type_alloc(parent, id);

	if (!t)
		return NULL;
	t->device_api = strdup("vfio-pci");
	t->name = name ? strdup(name) : NULL;
	if (!t->device_api || (name && !t->name))
		return vgpu_type_unref(t);
	t->available = avail > INT_MAX ? INT_MAX : (int)avail;
	add_facts(pf, t);
	return t;
}

int sriov_push_type(struct vgpu_vec *out, struct vgpu_type *t)
{
	int r;

	if (!t)
		return -ENOMEM;
	r = vgpu_vec_push(out, t);
	if (r < 0)
		vgpu_type_unref(t);
	return r;
}

bool sriov_vec_has_type(struct vgpu_vec *out, const char *id)
{
	for (size_t i = 0; i < out->n; i++)
		if (!strcmp(((struct vgpu_type *)out->items[i])->id, id))
			return true;
	return false;
}

static int sriov_list_types(struct vgpu_parent *parent, struct vgpu_vec *out)
{
	struct pf pf;
	int r;

	r = sriov_pf_open(parent->ctx, parent->id, &pf);
	if (r < 0)
		return r == -ENOMEM ? r : -ENODEV;
	r = sriov_pf_load_vfs(&pf);
	if (r < 0)
		goto out;
	r = pf.model->list_types(&pf, parent, out);
out:
	sriov_pf_clear(&pf);
	return r;
}

static int sriov_get_type(struct vgpu_parent *parent, const char *id,
			  struct vgpu_type **ret)
{
	struct vgpu_vec vec = { 0 };
	int r = sriov_list_types(parent, &vec);

	if (r == 0) {
		r = -ENOENT;
		for (size_t i = 0; i < vec.n; i++) {
			struct vgpu_type *t = vec.items[i];

			if (!strcmp(t->id, id)) {
				*ret = vgpu_type_ref(t);
				r = 0;
				break;
			}
		}
	}
	vgpu_vec_clear(&vec, (void *(*)(void *))vgpu_type_unref);
	return r;
}

/* ---- instances ----------------------------------------------------------- */

static int instance_from_record(struct vgpu_ctx *ctx, const struct record *rec,
				struct vgpu_instance **ret)
{
	struct vgpu_instance *in;
	char *syspath = NULL;
	int group = -1;

	if (!record_is_active(ctx, rec, &syspath, &group)) {
		dbg(ctx, "%s: record for VF %s is stale", rec->uuid, rec->vf);
		return -ENOENT;
	}
	in = vgpu_instance_alloc(ctx, &vgpu_backend_sriov, rec->uuid,
				 rec->parent);
	if (!in) {
		free(syspath);
		return -ENOMEM;
	}
	in->syspath = syspath;
	in->iommu_group = group;
	in->active = true;
	in->type_id = strdup(rec->type);
	if (!in->type_id) {
		vgpu_instance_unref(in);
		return -ENOMEM;
	}
	*ret = in;
	return 0;
}

struct list_ctx {
	const char *parent;
	struct vgpu_vec *out;
};

static int list_one(struct vgpu_ctx *ctx, const struct record *rec, void *data)
{
	struct list_ctx *l = data;
	struct vgpu_instance *in;
	int r;

	if (l->parent && strcmp(strip_alias(l->parent), rec->parent))
		return 0;
	r = instance_from_record(ctx, rec, &in);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	r = vgpu_vec_push(l->out, in);
	if (r < 0)
		vgpu_instance_unref(in);
	return r;
}

static int sriov_list_active(struct vgpu_ctx *ctx, const char *parent_id,
			     struct vgpu_vec *out)
{
	struct list_ctx l = { .parent = parent_id, .out = out };

	return records_each(ctx, list_one, &l);
}

static int sriov_get_active(struct vgpu_ctx *ctx, const char *uuid,
			    struct vgpu_instance **ret)
{
	struct record rec;
	int r;

	r = sriov_record_find(ctx, uuid, &rec);
	if (r < 0)
		return r;
	return instance_from_record(ctx, &rec, ret);
}

/* drop the records of @pf whose VF is no longer ours (see record_is_active) */
static int prune_one(struct vgpu_ctx *ctx, const struct record *rec, void *data)
{
	struct pf *pf = data;

	if (strcmp(rec->parent, pf->bdf) ||
	    record_is_active(ctx, rec, NULL, NULL))
		return 0;
	info(ctx, "%s: dropping the stale record of VF %s", rec->uuid, rec->vf);
	record_delete(ctx, rec->uuid);
	return 0;
}

/* unbind @vf from whatever it has, then bind it to @driver; on failure the
 * caller rolls back with vf_restore() */
static int vf_bind(struct vgpu_ctx *ctx, const char *bdf, const char *current,
		   const char *driver)
{
	int r;

	if (current[0] && strcmp(current, driver)) {
		r = driver_write(ctx, current, "unbind", bdf);
		if (r < 0) {
			err(ctx, "%s: unbinding it from %s failed: %s", bdf,
			    current, strerror(-r));
			return r;
		}
	}
	if (!current[0] || strcmp(current, driver)) {
		r = driver_write(ctx, driver, "bind", bdf);
		if (r < 0) {
			err(ctx, "%s: binding it to %s failed: %s%s", bdf,
			    driver, strerror(-r),
			    r == -ENODEV ? " (is the module loaded?)" : "");
			return r;
		}
	}
	return 0;
}

int sriov_vf_open(struct vgpu_ctx *ctx, const char *bdf)
{
	return sriov_open_rel(ctx, PCI_DEVICES, bdf);
}

/* hand @rec's VF back: off vfio-pci, override cleared, back to
 * @prev_driver; each step is tried, the first error returned */
static int vf_release(struct vgpu_ctx *ctx, const struct record *rec)
{
	char cur[FIELD_MAX];
	int fd, r = 0, rr;

	fd = sriov_vf_open(ctx, rec->vf);
	if (fd < 0)
		return fd == -ENOENT ? 0 : fd;
	read_link_name(fd, "driver", cur, sizeof(cur));
	if (!strcmp(cur, VFIO_DRIVER)) {
		r = driver_write(ctx, VFIO_DRIVER, "unbind", rec->vf);
		if (r < 0) {
			err(ctx, "%s: unbinding VF %s from vfio-pci failed: %s",
			    rec->uuid, rec->vf, strerror(-r));
			close(fd);
			return r;
		}
		cur[0] = '\0';
	}
	rr = vgpu_write_attr(fd, "driver_override", "\n");
	if (rr < 0) {
		warn(ctx, "%s: clearing driver_override of %s failed: %s",
		     rec->uuid, rec->vf, strerror(-rr));
		r = r ? r : rr;
	}
	if (rec->prev_driver[0] && !cur[0] &&
	    strcmp(rec->prev_driver, VFIO_DRIVER)) {
		rr = driver_write(ctx, rec->prev_driver, "bind", rec->vf);
		if (rr < 0)
			warn(ctx, "%s: rebinding %s to %s failed: %s",
			     rec->uuid, rec->vf, rec->prev_driver,
			     strerror(-rr));
	}
	close(fd);
	return r;
}

/* undo the type configuration of @rec's VF */
static int vf_unconfigure(struct vgpu_ctx *ctx, struct pf *pf,
			  const struct record *rec)
{
	const struct sriov_model *model = sriov_model_find(rec->model);

	return model && model->unconfigure ? model->unconfigure(ctx, pf, rec)
					   : 0;
}

/* which VF: the lowest free one that can take @type_id */
static struct vf *pick_vf(struct pf *pf, const char *type_id)
{
	for (size_t i = 0; i < pf->n_vfs; i++) {
		struct vf *vf = &pf->vfs[i];

		if (!sriov_vf_is_free(pf, vf))
			continue;
		if (pf->model->vf_fits && !pf->model->vf_fits(pf, vf, type_id))
			continue;
		return vf;
	}
	return NULL;
}

/* is the VF's VFIO group open? Only knowable on the real /sys */
static int vf_check_idle(struct vgpu_ctx *ctx, const struct record *rec)
{
	char path[64], name[FIELD_MAX];
	int fd, gfd;

	if (strcmp(ctx->sysfs_root, "/sys"))
		return 0;
	fd = sriov_vf_open(ctx, rec->vf);
	if (fd < 0)
		return 0;
	read_link_name(fd, "iommu_group", name, sizeof(name));
	close(fd);
	if (!name[0] ||
	    sriov_fmt_path(path, sizeof(path), "/dev/vfio/%s", name) < 0)
		return 0;
	gfd = open(path, O_RDWR | O_CLOEXEC);
	if (gfd < 0)
		return errno == EBUSY ? -EBUSY : 0;
	close(gfd);
	return 0;
}

static int sriov_create(struct vgpu_parent *parent, const char *type_id,
			const char *uuid)
{
	struct vgpu_ctx *ctx = parent->ctx;
	struct record rec = { 0 };
	bool enabled_here = false;
	struct pf pf;
	struct vf *vf;
	int fd, r;

	r = sriov_pf_open(ctx, parent->id, &pf);
	if (r < 0)
		return r == -ENOMEM ? r : -ENODEV;
	if (!pf.model->type_fits(type_id)) {
		r = -ENOENT;
		goto out;
	}
	r = records_each(ctx, prune_one, &pf);
	if (r >= 0)
		r = sriov_pf_load_vfs(&pf);
	if (r < 0)
		goto out;
	vf = pick_vf(&pf, type_id);
	if (!vf && !pf.model->enables_vfs) {
		r = pf.model->no_free_vf ? pf.model->no_free_vf(&pf, type_id)
					 : -ENOSPC;
		goto out;
	}
	if (!vf && pf.n_vfs > 0) {
		err(ctx,
		    "%s: all %zu VFs are in use; sriov_numvfs cannot change while a VF is in use",
		    pf.bdf, pf.n_vfs);
		r = -ENOSPC;
		goto out;
	}
	if (!vf) {
		r = pf_enable_vfs(&pf);
		if (r < 0)
			goto out;
		enabled_here = true;
		vf = pick_vf(&pf, type_id);
		if (!vf) {
			err(ctx, "%s: VFs enabled, but none appeared free",
			    pf.bdf);
			r = -EIO;
			goto rollback;
		}
	}
	snprintf(rec.uuid, sizeof(rec.uuid), "%s", uuid);
	snprintf(rec.parent, sizeof(rec.parent), "%s", pf.bdf);
	snprintf(rec.vf, sizeof(rec.vf), "%s", vf->bdf);
	snprintf(rec.type, sizeof(rec.type), "%s", type_id);
	snprintf(rec.model, sizeof(rec.model), "%s", pf.model->name);
	snprintf(rec.prev_driver, sizeof(rec.prev_driver), "%s", vf->driver);
	/* recorded first: a crash from here on leaves a stale record, which
	 * the next create on this PF prunes */
	r = sriov_record_store(ctx, &rec);
	if (r < 0)
		goto rollback;
	r = pf.model->configure ? pf.model->configure(&pf, vf, &rec) : 0;
	if (r < 0)
		goto rollback;
	if (rec.prev_setting[0] || rec.type_name[0])
		sriov_record_store(ctx, &rec);
	if (!pf.model->vendor_vfio) {
		fd = sriov_vf_open(ctx, vf->bdf);
		if (fd < 0) {
			r = fd;
			goto rollback;
		}
		r = vgpu_write_attr(fd, "driver_override", VFIO_DRIVER);
		close(fd);
		if (r < 0) {
			err(ctx, "%s: setting driver_override of %s failed: %s",
			    uuid, vf->bdf, strerror(-r));
			goto rollback;
		}
		r = vf_bind(ctx, vf->bdf, vf->driver, VFIO_DRIVER);
		if (r < 0)
			goto rollback;
	}
	if (!record_is_active(ctx, &rec, NULL, NULL)) {
		err(ctx, "%s: VF %s did not end up %s", uuid, vf->bdf,
		    pf.model->vendor_vfio ? "with its vGPU type"
					  : "bound to vfio-pci");
		r = -EIO;
		goto rollback;
	}
	info(ctx, "%s: VF %s of %s is a %s instance", uuid, vf->bdf, pf.bdf,
	     type_id);
	r = 0;
	goto out;
rollback:
	if (rec.uuid[0]) {
		if (!pf.model->vendor_vfio)
			vf_release(ctx, &rec);
		vf_unconfigure(ctx, &pf, &rec);
		record_delete(ctx, rec.uuid);
	}
	if (enabled_here)
		pf_maybe_disable_vfs(&pf);
out:
	sriov_pf_clear(&pf);
	return r;
}

/* attributes: relative to the VF's device directory, unless the model
 * redirects the key (xe: "profile/<knob>" to the PF's sriov_admin) */
static int sriov_write_attr(struct vgpu_instance *instance, const char *key,
			    const char *value)
{
	struct vgpu_ctx *ctx = instance->ctx;
	const struct sriov_model *model;
	struct record rec;
	int fd, r;

	r = sriov_record_find(ctx, instance->uuid, &rec);
	if (r < 0)
		return r;
	model = sriov_model_find(rec.model);
	if (model && model->write_attr) {
		r = model->write_attr(ctx, &rec, key, value);
		if (r <= 0)
			return r;
	}
	fd = sriov_vf_open(ctx, rec.vf);
	if (fd < 0)
		return fd;
	r = vgpu_write_attr(fd, key, value);
	close(fd);
	return r;
}

static int sriov_remove(struct vgpu_instance *instance)
{
	struct vgpu_ctx *ctx = instance->ctx;
	const struct sriov_model *model;
	bool vendor_vfio;
	struct record rec;
	struct pf pf;
	int r;

	r = sriov_record_find(ctx, instance->uuid, &rec);
	if (r < 0)
		return r;
	model = sriov_model_find(rec.model);
	vendor_vfio = model && model->vendor_vfio;
	r = vf_check_idle(ctx, &rec);
	if (r < 0) {
		err(ctx, "%s: VF %s is open through VFIO", rec.uuid, rec.vf);
		return r;
	}
	r = sriov_pf_open(ctx, rec.parent, &pf);
	if (r < 0)
		pf = (struct pf){ .fd = -1 };
	if (!vendor_vfio) {
		r = vf_release(ctx, &rec);
		if (r < 0) {
			sriov_pf_clear(&pf);
			return r;
		}
	}
	if (pf.fd >= 0 && sriov_pf_load_vfs(&pf) < 0)
		warn(ctx, "%s: cannot read the VFs of %s", rec.uuid,
		     rec.parent);
	r = pf.fd >= 0 || vendor_vfio ? vf_unconfigure(ctx, &pf, &rec) : 0;
	if (r < 0 && vendor_vfio) {
		/* the vGPU is still there: keep the instance */
		sriov_pf_clear(&pf);
		return r;
	}
	record_delete(ctx, rec.uuid);
	if (pf.fd >= 0)
		pf_maybe_disable_vfs(&pf);
	sriov_pf_clear(&pf);
	return 0;
}

/* ---- QoS and usage ------------------------------------------------------ */

/* the VF @bdf of @pf, found by its virtfnN link alone: the QoS and usage
 * calls need its index, not the state of every VF */
static int pf_find_vf_link(struct pf *pf, const char *bdf, struct vf *out)
{
	struct dirent *de;
	int dfd, r = -ENOENT;
	DIR *d;

	dfd = openat(pf->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return -errno;
	}
	while (r == -ENOENT && (de = readdir(d))) {
		char name[SRIOV_FIELD_MAX];
		long idx;

		if (strncmp(de->d_name, "virtfn", 6) ||
		    vgpu_parse_long(de->d_name + 6, 10, 0, 0xffff, &idx) < 0 ||
		    vgpu_readlink_base(pf->fd, de->d_name, name,
				       sizeof(name)) <= 0 ||
		    strcmp(name, bdf))
			continue;
		*out = (struct vf){ .index = (unsigned int)idx,
				    .vendor_current = -ENOENT };
		snprintf(out->bdf, sizeof(out->bdf), "%s", bdf);
		r = 0;
	}
	closedir(d);
	return r;
}

/* the instance's record, its PF and VF; -ENOENT when gone */
static int instance_open(struct vgpu_instance *in, struct record *rec,
			 struct pf *pf, struct vf *vf,
			 const struct sriov_model **model)
{
	int r = sriov_record_find(in->ctx, in->uuid, rec);

	if (r < 0)
		return r;
	r = sriov_pf_open(in->ctx, rec->parent, pf);
	if (r < 0)
		return r == -ENOMEM ? r : -ENOENT;
	r = pf_find_vf_link(pf, rec->vf, vf);
	if (r < 0) {
		sriov_pf_clear(pf);
		return r == -ENOMEM ? r : -ENOENT;
	}
	*model = sriov_model_find(rec->model);
	if (!*model)
		*model = pf->model;
	return 0;
}

static int sriov_qos_get(struct vgpu_instance *in, enum vgpu_qos_knob knob,
			 uint64_t *value, unsigned int *state)
{
	const struct sriov_model *model;
	struct record rec;
	struct pf pf;
	struct vf vf;
	int r = instance_open(in, &rec, &pf, &vf, &model);

	if (r < 0)
		return r;
	r = model->qos_get
		    ? model->qos_get(&pf, &vf, &rec, in, knob, value, state)
		    : -EOPNOTSUPP;
	sriov_pf_clear(&pf);
	return r;
}

static int sriov_qos_set(struct vgpu_instance *in, enum vgpu_qos_knob knob,
			 uint64_t value)
{
	const struct sriov_model *model;
	struct record rec;
	struct pf pf;
	struct vf vf;
	char why[96];
	int r = instance_open(in, &rec, &pf, &vf, &model);

	if (r < 0)
		return r;
	if (model->qos_set) {
		r = model->qos_set(&pf, &vf, &rec, in, knob, value);
		if (r >= 0)
			sriov_record_store(in->ctx, &rec);
	} else {
		snprintf(why, sizeof(why), "its %s model has no QoS knob",
			 model->name);
		r = vgpu_qos_unsupported(in, knob, why);
	}
	sriov_pf_clear(&pf);
	return r;
}

/* <sysfs root>/../proc/interrupts ("/proc/interrupts" for "/sys") */
static FILE *open_interrupts(struct vgpu_ctx *ctx)
{
	const char *slash = strrchr(ctx->sysfs_root, '/');
	char path[PATH_MAX];

	if (sriov_fmt_path(path, sizeof(path), "%.*s/proc/interrupts",
			   (int)(slash ? slash - ctx->sysfs_root : 0),
			   ctx->sysfs_root) < 0)
		return NULL;
	return fopen(path, "re");
}

/*
 * The interrupts the host took for @bdf's vfio-pci vectors ("vfio-msix[0]
 * (0000:05:01.0)" lines of /proc/interrupts), summed over the CPUs; -ENODATA
 * when the device has no such line (no vector enabled, or the interrupts
 * are posted straight to the guest and never counted by the host).
 */
static int vfio_interrupts(struct vgpu_ctx *ctx, const char *bdf,
			   uint64_t *total)
{
	char *line = NULL, *save, want[SRIOV_FIELD_MAX + 4];
	size_t cap = 0, ncpu = 0;
	bool found = false;
	FILE *f = open_interrupts(ctx);
	int r = 0;

	if (!f)
		return -ENODATA;
	snprintf(want, sizeof(want), "(%s)", bdf);
	*total = 0;
	if (getline(&line, &cap, f) > 0) {
		for (char *t = strtok_r(line, " \t\n", &save); t;
		     t = strtok_r(NULL, " \t\n", &save))
			ncpu += !strncmp(t, "CPU", 3);
	}
	while (r == 0 && ncpu && getline(&line, &cap, f) > 0) {
		size_t len = strcspn(line, "\n"), wl = strlen(want);
		uint64_t sum = 0;
		char *p, *end;

		line[len] = '\0';
		while (len && (line[len - 1] == ' ' || line[len - 1] == '\t'))
			line[--len] = '\0';
		if (len < wl || strcmp(line + len - wl, want) ||
		    !strstr(line, " vfio-"))
			continue;
		p = strchr(line, ':');
		if (!p) {
			r = -EBADMSG;
			break;
		}
		p++;
		for (size_t i = 0; i < ncpu; i++) {
			unsigned long long v;

			while (*p == ' ' || *p == '\t')
				p++;
			errno = 0;
			v = strtoull(p, &end, 10);
			if (end == p || errno ||
			    (*end != ' ' && *end != '\t')) {
				r = -EBADMSG;
				break;
			}
			sum += v;
			p = end;
		}
		*total += sum;
		found = true;
	}
	free(line);
	fclose(f);
	if (r < 0) {
		warn(ctx,
		     "%s: a malformed line for it in /proc/interrupts; interrupts not reported",
		     bdf);
		return r;
	}
	return found ? 0 : -ENODATA;
}

static int sriov_get_usage(struct vgpu_instance *in, struct vgpu_usage *usage)
{
	const struct sriov_model *model;
	struct record rec;
	struct pf pf;
	struct vf vf;
	uint64_t n;
	int r = instance_open(in, &rec, &pf, &vf, &model);

	if (r < 0)
		return r;
	if (model->get_usage)
		r = model->get_usage(&pf, &vf, &rec, usage);
	if (r >= 0 && !model->vendor_vfio &&
	    vfio_interrupts(in->ctx, vf.bdf, &n) == 0)
		vgpu_usage_set(usage, VGPU_USAGE_INTERRUPTS, n);
	sriov_pf_clear(&pf);
	return r;
}

/* persistent definitions of SR-IOV instances: not in mdevctl's directory,
 * where mdevctl would take them for mdev devices */
static char *sriov_config_dir(struct vgpu_ctx *ctx)
{
	return vgpu_backend_config_dir(ctx, "VGPU_SRIOV_CONFIG_DIR",
				       "vgpu-sriov.d");
}

const struct vgpu_backend vgpu_backend_sriov = {
	.name = "sriov",
	.access = "vfio",
	.list_parents = sriov_list_parents,
	.get_parent = sriov_get_parent,
	.list_types = sriov_list_types,
	.get_type = sriov_get_type,
	.list_active = sriov_list_active,
	.get_active = sriov_get_active,
	.create = sriov_create,
	.write_attr = sriov_write_attr,
	.remove = sriov_remove,
	.config_dir = sriov_config_dir,
	.qos_get = sriov_qos_get,
	.qos_set = sriov_qos_set,
	.get_usage = sriov_get_usage,
};
