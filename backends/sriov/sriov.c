/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The SR-IOV backend: parents are the PCI physical functions with
 * sriov_totalvfs > 0 under <root>/bus/pci/devices, types the VF profiles of
 * the PF's model (generic, NVIDIA vendor-specific VFIO, Intel xe, AMD GIM),
 * instances the VFs handed out, each named by a UUID that is recorded in
 * <runtime>/sriov/instances/<uuid>. See docs/sriov.md.
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

#include "libvgpu-private.h"
#include "util-file.h"
#include "util-sysfs.h"
#include "util-uuid.h"

#define PCI_DEVICES "bus/pci/devices"
#define PCI_DRIVERS "bus/pci/drivers"
#define VFIO_DRIVER "vfio-pci"
#define ALIAS_PREFIX "sriov:"
#define RECORD_MAX 4096
#define FIELD_MAX 256

enum model {
	MODEL_GENERIC,
	MODEL_NVIDIA, /* vendor-specific VFIO: nvidia/current_vgpu_type */
	MODEL_XE,     /* Intel xe: sriov_admin profiles */
	MODEL_GIM,    /* AMD MxGPU: VF count fixed by the gim module */
};

static const char *const model_names[] = {
	[MODEL_GENERIC] = "generic",
	[MODEL_NVIDIA] = "nvidia",
	[MODEL_XE] = "xe",
	[MODEL_GIM] = "gim",
};

struct vf {
	unsigned int index;   /* N of the PF's virtfnN link */
	char bdf[FIELD_MAX];
	char driver[FIELD_MAX];   /* "" when unbound */
	char override[FIELD_MAX]; /* "" when unset ("(null)") */
	bool mdev_parent;         /* handed to the mdev backend, never ours */
	bool claimed;             /* an active libvgpu instance */
	long nv_current;          /* nvidia/current_vgpu_type, -errno if none */
	char *nv_creatable;       /* nvidia/creatable_vgpu_types text */
};

/* a PF as read now */
struct pf {
	struct vgpu_ctx *ctx;
	char bdf[FIELD_MAX];
	char *syspath;
	int fd;
	char driver[FIELD_MAX];
	long totalvfs, numvfs, offset, stride, vf_device, autoprobe;
	enum model model;
	struct vf *vfs;
	size_t n_vfs;
};

/* what <runtime>/sriov/instances/<uuid> holds */
struct record {
	char uuid[VGPU_UUID_LEN + 1];
	char parent[FIELD_MAX];
	char vf[FIELD_MAX];
	char type[FIELD_MAX];
	char model[FIELD_MAX];
	char prev_driver[FIELD_MAX]; /* the VF's driver before we took it */
	char prev_setting[FIELD_MAX]; /* xe: the sched_priority before */
};

/* ---- small helpers ---------------------------------------------------- */

static int fmt_path(char *buf, size_t size, const char *format, ...)
	__attribute__((format(printf, 3, 4)));

static int fmt_path(char *buf, size_t size, const char *format, ...)
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

static int open_rel(struct vgpu_ctx *ctx, const char *rel, const char *name)
{
	char path[PATH_MAX];
	int fd, r;

	r = fmt_path(path, sizeof(path), "%s/%s/%s", ctx->sysfs_root, rel,
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
	int fd = open_rel(ctx, PCI_DRIVERS, driver), r;

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

static void kv_append(struct vgpu_type *t, const char *key, const char *value)
{
	struct vgpu_kv *grown;
	char *k, *v;

	k = strdup(key);
	v = strdup(value);
	grown = k && v ? reallocarray(t->attrs, t->n_attrs + 1, sizeof(*grown)) :
			 NULL;
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
	kv_append(t, key, buf);
}

/* ---- physical functions ----------------------------------------------- */

static void vfs_free(struct vf *vfs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(vfs[i].nv_creatable);
	free(vfs);
}

static void pf_clear(struct pf *pf)
{
	if (pf->fd >= 0)
		close(pf->fd);
	free(pf->syspath);
	vfs_free(pf->vfs, pf->n_vfs);
	*pf = (struct pf){ .fd = -1 };
}

static enum model pick_model(struct pf *pf)
{
	struct stat st;

	if (!strcmp(pf->driver, "nvidia"))
		return MODEL_NVIDIA;
	if (!strcmp(pf->driver, "gim"))
		return MODEL_GIM;
	if (fstatat(pf->fd, "sriov_admin", &st, 0) == 0 && S_ISDIR(st.st_mode))
		return MODEL_XE;
	return MODEL_GENERIC;
}

static long read_fact(struct pf *pf, const char *name, int base)
{
	long v;
	int r = vgpu_read_attr_long(pf->fd, name, base, 0, 0xffffff, &v);

	if (r < 0) {
		if (r != -ENOENT)
			warn(pf->ctx, "%s: %s: %s", pf->bdf, name, strerror(-r));
		return r;
	}
	return v;
}

/*
 * Read the PF @bdf. -ENODEV when it is not an SR-IOV PF (no such device,
 * no sriov_totalvfs, or 0), -EBADMSG when sriov_totalvfs is garbage.
 */
static int pf_open(struct vgpu_ctx *ctx, const char *bdf, struct pf *pf)
{
	char path[PATH_MAX], buf[PATH_MAX];
	long total;
	int r;

	*pf = (struct pf){ .ctx = ctx, .fd = -1 };
	if (!valid_bdf(bdf))
		return -ENODEV;
	snprintf(pf->bdf, sizeof(pf->bdf), "%s", bdf);
	r = fmt_path(path, sizeof(path), "%s/" PCI_DEVICES "/%s",
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
		warn(ctx, "%s: sriov_totalvfs: %s; not listed as an SR-IOV parent",
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
	pf_clear(pf);
	return r;
}

static int cmp_vf(const void *a, const void *b)
{
	const struct vf *x = a, *y = b;

	return x->index < y->index ? -1 : x->index > y->index;
}

static int records_claims(struct pf *pf);

/* read the PF's VFs (its virtfnN links) and which of them we hold */
static int pf_load_vfs(struct pf *pf)
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
		struct vf vf = { .nv_current = -ENOENT };
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
		if (pf->model == MODEL_NVIDIA) {
			long cur;
			int rr = vgpu_read_attr_long(vfd,
						     "nvidia/current_vgpu_type",
						     10, 0, INT_MAX, &cur);

			vf.nv_current = rr < 0 ? rr : cur;
			if (rr < 0 && rr != -ENOENT)
				warn(ctx, "%s: nvidia/current_vgpu_type: %s",
				     vf.bdf, strerror(-rr));
			rr = vgpu_read_attr_alloc(vfd,
						  "nvidia/creatable_vgpu_types",
						  &vf.nv_creatable);
			if (rr < 0 && rr != -ENOENT)
				warn(ctx, "%s: nvidia/creatable_vgpu_types: %s",
				     vf.bdf, strerror(-rr));
		}
		close(vfd);
		if (fmt_path(rel, sizeof(rel), "%s/class/mdev_bus/%s",
			     ctx->sysfs_root, vf.bdf) == 0 &&
		    faccessat(AT_FDCWD, rel, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
			vf.mdev_parent = true;
		grown = reallocarray(pf->vfs, pf->n_vfs + 1, sizeof(*grown));
		if (!grown) {
			free(vf.nv_creatable);
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

static struct vf *find_vf(struct pf *pf, const char *bdf)
{
	for (size_t i = 0; i < pf->n_vfs; i++)
		if (!strcmp(pf->vfs[i].bdf, bdf))
			return &pf->vfs[i];
	return NULL;
}

/* a VF nobody holds: not ours, not mdev's, not bound to or reserved for
 * another VFIO user; a host driver bound to it is taken away, like
 * libvirt's managed hostdevs do */
static bool vf_is_free(struct pf *pf, const struct vf *vf)
{
	if (vf->claimed || vf->mdev_parent)
		return false;
	if (pf->model == MODEL_NVIDIA)
		return vf->nv_current == 0;
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

/* ---- NVIDIA creatable_vgpu_types ---------------------------------------- */

/*
 * One entry of nvidia/creatable_vgpu_types: "1414 : NVIDIA H200X-1-18C".
 * The first line is a header ("ID    : vGPU Name"); lines that do not
 * start with a number are skipped. Returns the next line or NULL.
 */
static const char *nv_next(const char *p, long *id, const char **name,
			   size_t *name_len)
{
	while (p && *p) {
		const char *eol = strchr(p, '\n');
		const char *end = eol ? eol : p + strlen(p);
		const char *q = p;
		char *num_end;
		long v;

		while (q < end && isblank((unsigned char)*q))
			q++;
		p = eol ? eol + 1 : NULL;
		if (q == end || !isdigit((unsigned char)*q))
			continue;
		errno = 0;
		v = strtol(q, &num_end, 10);
		if (errno || v <= 0 || v > INT_MAX || num_end > end)
			continue;
		q = num_end;
		while (q < end && isblank((unsigned char)*q))
			q++;
		if (q == end || *q != ':')
			continue;
		q++;
		while (q < end && isblank((unsigned char)*q))
			q++;
		while (end > q && isspace((unsigned char)end[-1]))
			end--;
		*id = v;
		*name = q;
		*name_len = (size_t)(end - q);
		return p ? p : "";
	}
	return NULL;
}

static bool nv_creatable_has(const char *text, long want, char **name_ret)
{
	const char *p = text, *name;
	size_t len;
	long id;

	while ((p = nv_next(p, &id, &name, &len))) {
		if (id == want) {
			if (name_ret && len)
				*name_ret = strndup(name, len);
			return true;
		}
	}
	return false;
}

/* "nvidia-1414" -> 1414 */
static long nv_type_number(const char *type_id)
{
	long v;

	if (strncmp(type_id, "nvidia-", 7) ||
	    vgpu_parse_long(type_id + 7, 10, 1, INT_MAX, &v) < 0 ||
	    type_id[7] == '0' || type_id[7] == ' ')
		return -ENOENT;
	return v;
}

/* ---- xe sriov_admin ------------------------------------------------------ */

#define XE_PRIO "sched_priority"

/* the choices of sriov_admin/vf1/profile/sched_priority ("[low] normal
 * high"), or NULL when the kernel has no such file */
static char *xe_priorities(struct pf *pf)
{
	char *text = NULL;

	if (vgpu_read_attr_alloc(pf->fd, "sriov_admin/vf1/profile/" XE_PRIO,
				 &text) < 0)
		return NULL;
	return text;
}

/* does the choice list @text offer @level? writes the current choice
 * to @current when non-NULL */
static bool xe_has_level(const char *text, const char *level, char *current,
			 size_t size)
{
	bool found = false;
	const char *p = text;

	if (current)
		current[0] = '\0';
	while (*p) {
		size_t n;
		bool sel = false;

		p += strspn(p, " \t\n");
		n = strcspn(p, " \t\n");
		if (!n)
			break;
		const char *w = p;
		size_t wn = n;

		if (wn > 2 && w[0] == '[' && w[wn - 1] == ']') {
			w++;
			wn -= 2;
			sel = true;
		}
		if (sel && current && wn < size) {
			memcpy(current, w, wn);
			current[wn] = '\0';
		}
		if (level && strlen(level) == wn && !strncmp(w, level, wn))
			found = true;
		p += n;
	}
	return found;
}

static bool xe_level_ok(const char *s)
{
	if (!*s || strlen(s) > 32)
		return false;
	for (; *s; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) &&
		    *s != '_')
			return false;
	return true;
}

/* sriov_admin/vf<index + 1>/profile/<file> */
static int xe_profile_path(const struct vf *vf, const char *file, char *buf,
			   size_t size)
{
	return fmt_path(buf, size, "sriov_admin/vf%u/profile/%s",
			vf->index + 1, file);
}

/* ---- records in the runtime directory ------------------------------------ */

static int runtime_subdir(struct vgpu_ctx *ctx, const char *name, bool create)
{
	char path[PATH_MAX];
	int fd, r;

	r = fmt_path(path, sizeof(path), "%s/sriov/%s", ctx->runtime_dir, name);
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
			for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]);
			     i++) {
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
static int record_find(struct vgpu_ctx *ctx, const char *uuid,
		       struct record *rec)
{
	int fd = runtime_subdir(ctx, "instances", false), r;

	if (fd < 0)
		return -ENOENT;
	r = record_load(ctx, fd, uuid, rec);
	close(fd);
	return r < 0 && r != -ENOMEM ? -ENOENT : r;
}

static int record_store(struct vgpu_ctx *ctx, const struct record *rec)
{
	char buf[RECORD_MAX];
	int fd, r, n;

	n = snprintf(buf, sizeof(buf),
		     "parent=%s\nvf=%s\ntype=%s\nmodel=%s\nprev_driver=%s\nprev_setting=%s\n",
		     rec->parent, rec->vf, rec->type, rec->model,
		     rec->prev_driver, rec->prev_setting);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -ENAMETOOLONG;
	fd = runtime_subdir(ctx, "instances", true);
	if (fd < 0)
		return fd;
	r = vgpu_write_file_atomic(fd, rec->uuid, buf, (size_t)n, true);
	close(fd);
	if (r < 0)
		err(ctx, "%s: cannot record the instance in %s/sriov/instances: %s",
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
	bool ok = false;
	long v;
	int fd;

	if (fmt_path(path, sizeof(path), "%s/" PCI_DEVICES "/%s",
		     ctx->sysfs_root, rec->vf) < 0)
		return false;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return false;
	read_link_name(fd, "physfn", name, sizeof(name));
	if (strcmp(name, rec->parent))
		goto out;
	if (!strcmp(rec->model, model_names[MODEL_NVIDIA])) {
		ok = vgpu_read_attr_long(fd, "nvidia/current_vgpu_type", 10, 0,
					 INT_MAX, &v) == 0 &&
		     v == nv_type_number(rec->type);
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
			int (*fn)(struct vgpu_ctx *ctx, const struct record *rec,
				  void *data),
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

static int claim_one(struct vgpu_ctx *ctx, const struct record *rec,
		     void *data)
{
	struct pf *pf = data;
	struct vf *vf;

	if (strcmp(rec->parent, pf->bdf))
		return 0;
	vf = find_vf(pf, rec->vf);
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
	snprintf(buf, sizeof(buf), "autoprobe=%ld\n", autoprobe < 0 ? -1 : autoprobe);
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
			err(ctx, "%s: cannot turn sriov_drivers_autoprobe off: %s",
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
		    r == -ENOENT ? " (no PF driver, or it cannot do SR-IOV)" :
				   "");
		if (pf->autoprobe > 0 &&
		    vgpu_write_attr(pf->fd, "sriov_drivers_autoprobe", "1") < 0)
			warn(ctx, "%s: could not restore sriov_drivers_autoprobe",
			     pf->bdf);
		marker_delete(ctx, pf->bdf);
		return r;
	}
	info(ctx, "%s: enabled %ld VFs", pf->bdf, pf->totalvfs);
	pf->numvfs = pf->totalvfs;
	return pf_load_vfs(pf);
}

/* if we enabled the VFs and none is in use any more, disable them again */
static void pf_maybe_disable_vfs(struct pf *pf)
{
	struct vgpu_ctx *ctx = pf->ctx;
	long autoprobe;
	int r;

	if (marker_read(ctx, pf->bdf, &autoprobe) < 0)
		return;
	if (pf_load_vfs(pf) < 0 || !vfs_all_idle(pf)) {
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
	    pf->numvfs, pf->totalvfs, model_names[pf->model]);
	*ret = p;
	return 0;
}

static int sriov_list_parents(struct vgpu_ctx *ctx, struct vgpu_vec *out)
{
	struct dirent *de;
	DIR *d;
	int fd, r = 0;

	fd = open_rel(ctx, PCI_DEVICES, ".");
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
		r = pf_open(ctx, de->d_name, &pf);
		if (r == -ENOMEM)
			break;
		if (r < 0) {
			r = 0;
			continue;
		}
		r = parent_from_pf(&pf, &p);
		pf_clear(&pf);
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
	return strncmp(id, ALIAS_PREFIX, strlen(ALIAS_PREFIX)) ?
		       id :
		       id + strlen(ALIAS_PREFIX);
}

static int sriov_get_parent(struct vgpu_ctx *ctx, const char *id,
			    struct vgpu_parent **ret)
{
	struct pf pf;
	int r;

	r = pf_open(ctx, strip_alias(id), &pf);
	if (r < 0)
		return r == -ENOMEM ? r : -ENODEV;
	r = parent_from_pf(&pf, ret);
	pf_clear(&pf);
	return r;
}

/* ---- types ------------------------------------------------------------- */

static void add_facts(struct pf *pf, struct vgpu_type *t)
{
	size_t nfree = 0, nused = 0;

	for (size_t i = 0; i < pf->n_vfs; i++) {
		if (vf_is_free(pf, &pf->vfs[i]))
			nfree++;
		else
			nused++;
	}
	kv_append(t, "model", model_names[pf->model]);
	kv_append_long(t, "sriov_totalvfs", pf->totalvfs, false);
	kv_append_long(t, "sriov_numvfs", pf->numvfs, false);
	kv_append_long(t, "sriov_offset", pf->offset, false);
	kv_append_long(t, "sriov_stride", pf->stride, false);
	kv_append_long(t, "sriov_vf_device", pf->vf_device, true);
	kv_append_long(t, "sriov_drivers_autoprobe", pf->autoprobe, false);
	kv_append_long(t, "vfs_free", (long)nfree, false);
	kv_append_long(t, "vfs_in_use", (long)nused, false);
}

static size_t count_free(struct pf *pf)
{
	size_t n = 0;

	for (size_t i = 0; i < pf->n_vfs; i++)
		n += vf_is_free(pf, &pf->vfs[i]);
	return n;
}

/* VFs we could still bring up: all of them, when none is enabled yet and
 * the model lets us enable them */
static long enableable(struct pf *pf)
{
	if (pf->model == MODEL_NVIDIA || pf->model == MODEL_GIM)
		return 0;
	return pf->numvfs == 0 && pf->n_vfs == 0 ? pf->totalvfs : 0;
}

static struct vgpu_type *new_type(struct pf *pf, struct vgpu_parent *parent,
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

static int push_type(struct vgpu_vec *out, struct vgpu_type *t)
{
	int r;

	if (!t)
		return -ENOMEM;
	r = vgpu_vec_push(out, t);
	if (r < 0)
		vgpu_type_unref(t);
	return r;
}

static bool vec_has_type(struct vgpu_vec *out, const char *id)
{
	for (size_t i = 0; i < out->n; i++)
		if (!strcmp(((struct vgpu_type *)out->items[i])->id, id))
			return true;
	return false;
}

static int nvidia_types(struct pf *pf, struct vgpu_parent *parent,
			struct vgpu_vec *out)
{
	bool any_vendor = false;
	int r = 0;

	for (size_t i = 0; i < pf->n_vfs && r >= 0; i++) {
		const struct vf *vf = &pf->vfs[i];
		const char *p, *name;
		size_t len;
		long id;

		any_vendor |= vf->nv_current >= 0;
		/* the types in use show up too, with their capacity */
		if (vf->nv_current > 0) {
			char tid[32];

			snprintf(tid, sizeof(tid), "nvidia-%ld", vf->nv_current);
			if (!vec_has_type(out, tid))
				r = push_type(out, new_type(pf, parent, tid,
							    NULL, 0));
		}
		if (!vf_is_free(pf, vf) || !vf->nv_creatable)
			continue;
		p = vf->nv_creatable;
		while (r >= 0 && (p = nv_next(p, &id, &name, &len))) {
			char tid[32];
			char *tname;

			snprintf(tid, sizeof(tid), "nvidia-%ld", id);
			if (vec_has_type(out, tid))
				continue;
			tname = strndup(name, len);
			if (!tname)
				return -ENOMEM;
			r = push_type(out, new_type(pf, parent, tid, tname, 0));
			free(tname);
		}
	}
	if (!any_vendor)
		info(pf->ctx, "%s: NVIDIA PF without vendor-specific VFIO VFs; enable them with /usr/lib/nvidia/sriov-manage -e %s",
		     pf->bdf, pf->bdf);
	/* capacity: the free VFs whose creatable list still has the type;
	 * the driver shrinks the lists as the card fills */
	for (size_t i = 0; i < out->n; i++) {
		struct vgpu_type *t = out->items[i];
		long num = nv_type_number(t->id);
		int avail = 0;

		if (t->parent != parent)
			continue;
		for (size_t j = 0; j < pf->n_vfs; j++) {
			const struct vf *vf = &pf->vfs[j];
			char *tname = NULL;

			if (!vf_is_free(pf, vf) || !vf->nv_creatable ||
			    !nv_creatable_has(vf->nv_creatable, num,
					      t->name ? NULL : &tname))
				continue;
			avail++;
			if (tname && !t->name)
				t->name = tname;
			else
				free(tname);
		}
		t->available = avail;
	}
	return r;
}

static int xe_types(struct pf *pf, struct vgpu_parent *parent,
		    struct vgpu_vec *out)
{
	long avail = (long)count_free(pf) + enableable(pf);
	char *levels = xe_priorities(pf);
	const char *p = levels;
	int r = 0;

	r = push_type(out, new_type(pf, parent, "xe-default",
				    "Intel xe VF, profile as provisioned",
				    avail));
	while (r >= 0 && p && *p) {
		char level[40], tid[48], name[96];
		size_t n;

		p += strspn(p, " \t\n");
		n = strcspn(p, " \t\n");
		if (!n)
			break;
		if (n >= sizeof(level)) {
			p += n;
			continue;
		}
		memcpy(level, p, n);
		level[n] = '\0';
		p += n;
		if (level[0] == '[' && n > 2 && level[n - 1] == ']') {
			memmove(level, level + 1, n - 2);
			level[n - 2] = '\0';
		}
		if (!xe_level_ok(level))
			continue;
		snprintf(tid, sizeof(tid), "xe-%s", level);
		snprintf(name, sizeof(name), "Intel xe VF, %s scheduling priority",
			 level);
		if (!vec_has_type(out, tid))
			r = push_type(out, new_type(pf, parent, tid, name,
						    avail));
		if (r >= 0)
			kv_append((struct vgpu_type *)out->items[out->n - 1],
				  XE_PRIO, level);
	}
	free(levels);
	return r;
}

static void gim_params(struct pf *pf, struct vgpu_type *t)
{
	static const char *const params[] = {
		"vf_num", "sch_policy", "fb_sharing_mode", "pf_fb_size",
		"accelerator_partition_mode", "memory_partition_mode",
	};
	int fd = open_rel(pf->ctx, "module/gim", "parameters");

	if (fd < 0)
		return;
	for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
		char buf[256], key[64];

		if (vgpu_read_attr(fd, params[i], buf, sizeof(buf)) < 0)
			continue;
		snprintf(key, sizeof(key), "gim.%s", params[i]);
		kv_append(t, key, buf);
	}
	close(fd);
}

static int sriov_list_types(struct vgpu_parent *parent, struct vgpu_vec *out)
{
	struct vgpu_type *t;
	struct pf pf;
	int r;

	r = pf_open(parent->ctx, parent->id, &pf);
	if (r < 0)
		return r == -ENOMEM ? r : -ENODEV;
	r = pf_load_vfs(&pf);
	if (r < 0)
		goto out;
	switch (pf.model) {
	case MODEL_NVIDIA:
		r = nvidia_types(&pf, parent, out);
		break;
	case MODEL_XE:
		r = xe_types(&pf, parent, out);
		break;
	case MODEL_GIM:
		t = new_type(&pf, parent, "gim-vf", "AMD MxGPU VF",
			     (long)count_free(&pf));
		if (t) {
			t->description = strdup(
				"VF count and partitioning are fixed when the gim module loads");
			gim_params(&pf, t);
		}
		r = push_type(out, t);
		break;
	default:
		r = push_type(out, new_type(&pf, parent, "VF",
					    "SR-IOV virtual function",
					    (long)count_free(&pf) +
						    enableable(&pf)));
		break;
	}
out:
	pf_clear(&pf);
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

	r = record_find(ctx, uuid, &rec);
	if (r < 0)
		return r;
	return instance_from_record(ctx, &rec, ret);
}

/* drop the records of @pf whose VF is no longer ours (see record_is_active) */
static int prune_one(struct vgpu_ctx *ctx, const struct record *rec,
		     void *data)
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

static int vf_open(struct vgpu_ctx *ctx, const char *bdf)
{
	return open_rel(ctx, PCI_DEVICES, bdf);
}

/* hand @rec's VF back: off vfio-pci, override cleared, back to
 * @prev_driver; each step is tried, the first error returned */
static int vf_release(struct vgpu_ctx *ctx, const struct record *rec)
{
	char cur[FIELD_MAX];
	int fd, r = 0, rr;

	fd = vf_open(ctx, rec->vf);
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
	struct vf *vf = find_vf(pf, rec->vf);
	char path[PATH_MAX];
	int fd, r = 0;

	if (!strcmp(rec->model, model_names[MODEL_NVIDIA])) {
		fd = vf_open(ctx, rec->vf);
		if (fd < 0)
			return fd == -ENOENT ? 0 : fd;
		r = vgpu_write_attr(fd, "nvidia/current_vgpu_type", "0");
		close(fd);
		if (r < 0)
			err(ctx, "%s: resetting nvidia/current_vgpu_type of %s failed: %s",
			    rec->uuid, rec->vf, strerror(-r));
	} else if (!strcmp(rec->model, model_names[MODEL_XE]) &&
		   rec->prev_setting[0] && vf) {
		r = xe_profile_path(vf, XE_PRIO, path, sizeof(path));
		if (r == 0)
			r = vgpu_write_attr(pf->fd, path, rec->prev_setting);
		if (r < 0)
			warn(ctx, "%s: restoring %s of %s failed: %s", rec->uuid,
			     XE_PRIO, rec->vf, strerror(-r));
	}
	return r;
}

/* which VF: the lowest free one that can take @type_id */
static struct vf *pick_vf(struct pf *pf, const char *type_id)
{
	long num = pf->model == MODEL_NVIDIA ? nv_type_number(type_id) : 0;

	for (size_t i = 0; i < pf->n_vfs; i++) {
		struct vf *vf = &pf->vfs[i];

		if (!vf_is_free(pf, vf))
			continue;
		if (pf->model == MODEL_NVIDIA &&
		    (!vf->nv_creatable ||
		     !nv_creatable_has(vf->nv_creatable, num, NULL)))
			continue;
		return vf;
	}
	return NULL;
}

/* write the VF's profile for @type_id (before the VF is handed out) */
static int vf_configure(struct pf *pf, struct vf *vf, struct record *rec)
{
	struct vgpu_ctx *ctx = pf->ctx;
	char path[PATH_MAX], buf[64], *levels = NULL;
	int fd, r = 0;

	if (pf->model == MODEL_NVIDIA) {
		snprintf(buf, sizeof(buf), "%ld", nv_type_number(rec->type));
		fd = vf_open(ctx, vf->bdf);
		if (fd < 0)
			return fd;
		r = vgpu_write_attr(fd, "nvidia/current_vgpu_type", buf);
		close(fd);
		if (r < 0)
			err(ctx, "%s: writing %s to nvidia/current_vgpu_type of %s failed: %s",
			    rec->uuid, buf, vf->bdf, strerror(-r));
		return r;
	}
	if (pf->model != MODEL_XE || !strcmp(rec->type, "xe-default"))
		return 0;
	r = xe_profile_path(vf, XE_PRIO, path, sizeof(path));
	if (r == 0)
		r = vgpu_read_attr_alloc(pf->fd, path, &levels);
	if (r < 0) {
		err(ctx, "%s: %s/%s: %s", rec->uuid, pf->bdf, path,
		    strerror(-r));
		return r;
	}
	if (!xe_has_level(levels, rec->type + 3, rec->prev_setting,
			  sizeof(rec->prev_setting))) {
		err(ctx, "%s: %s does not offer %s \"%s\"", rec->uuid, vf->bdf,
		    XE_PRIO, rec->type + 3);
		free(levels);
		return -ENOENT;
	}
	free(levels);
	r = vgpu_write_attr(pf->fd, path, rec->type + 3);
	if (r < 0) {
		err(ctx, "%s: writing %s to %s/%s failed: %s", rec->uuid,
		    rec->type + 3, pf->bdf, path, strerror(-r));
		rec->prev_setting[0] = '\0';
	}
	return r;
}

/* is the VF's VFIO group open? Only knowable on the real /sys */
static int vf_check_idle(struct vgpu_ctx *ctx, const struct record *rec)
{
	char path[64], name[FIELD_MAX];
	int fd, gfd;

	if (strcmp(ctx->sysfs_root, "/sys"))
		return 0;
	fd = vf_open(ctx, rec->vf);
	if (fd < 0)
		return 0;
	read_link_name(fd, "iommu_group", name, sizeof(name));
	close(fd);
	if (!name[0] || fmt_path(path, sizeof(path), "/dev/vfio/%s", name) < 0)
		return 0;
	gfd = open(path, O_RDWR | O_CLOEXEC);
	if (gfd < 0)
		return errno == EBUSY ? -EBUSY : 0;
	close(gfd);
	return 0;
}

static bool type_fits_model(enum model m, const char *type_id)
{
	switch (m) {
	case MODEL_NVIDIA:
		return nv_type_number(type_id) > 0;
	case MODEL_XE:
		return !strncmp(type_id, "xe-", 3) && xe_level_ok(type_id + 3);
	case MODEL_GIM:
		return !strcmp(type_id, "gim-vf");
	default:
		return !strcmp(type_id, "VF");
	}
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

	r = pf_open(ctx, parent->id, &pf);
	if (r < 0)
		return r == -ENOMEM ? r : -ENODEV;
	if (!type_fits_model(pf.model, type_id)) {
		r = -ENOENT;
		goto out;
	}
	r = records_each(ctx, prune_one, &pf);
	if (r >= 0)
		r = pf_load_vfs(&pf);
	if (r < 0)
		goto out;
	vf = pick_vf(&pf, type_id);
	if (!vf && pf.model == MODEL_GIM) {
		err(ctx, "%s: no free VF, and AMD GIM fixes the VF count and partitioning when it loads: change vf_num (and the partition modes) in /etc/gim_config or the gim module parameters, then reload gim",
		    pf.bdf);
		r = -EOPNOTSUPP;
		goto out;
	}
	if (!vf && pf.model == MODEL_NVIDIA) {
		err(ctx, "%s: no free VF can create %s; VFs are enabled by NVIDIA's sriov-manage, not by libvgpu",
		    pf.bdf, type_id);
		r = -ENOSPC;
		goto out;
	}
	if (!vf && pf.n_vfs > 0) {
		err(ctx, "%s: all %zu VFs are in use; sriov_numvfs cannot change while a VF is in use",
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
	snprintf(rec.model, sizeof(rec.model), "%s", model_names[pf.model]);
	snprintf(rec.prev_driver, sizeof(rec.prev_driver), "%s", vf->driver);
	/* recorded first: a crash from here on leaves a stale record, which
	 * the next create on this PF prunes */
	r = record_store(ctx, &rec);
	if (r < 0)
		goto rollback;
	r = vf_configure(&pf, vf, &rec);
	if (r < 0)
		goto rollback;
	if (rec.prev_setting[0])
		record_store(ctx, &rec);
	if (pf.model != MODEL_NVIDIA) {
		fd = vf_open(ctx, vf->bdf);
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
		    pf.model == MODEL_NVIDIA ? "with its vGPU type" :
					       "bound to vfio-pci");
		r = -EIO;
		goto rollback;
	}
	info(ctx, "%s: VF %s of %s is a %s instance", uuid, vf->bdf, pf.bdf,
	     type_id);
	r = 0;
	goto out;
rollback:
	if (rec.uuid[0]) {
		if (pf.model != MODEL_NVIDIA)
			vf_release(ctx, &rec);
		vf_unconfigure(ctx, &pf, &rec);
		record_delete(ctx, rec.uuid);
	}
	if (enabled_here)
		pf_maybe_disable_vfs(&pf);
out:
	pf_clear(&pf);
	return r;
}

/* attributes: relative to the VF's device directory, except that on xe
 * "profile/<knob>" goes to the PF's sriov_admin/vfN/profile/<knob> */
static int sriov_write_attr(struct vgpu_instance *instance, const char *key,
			    const char *value)
{
	struct vgpu_ctx *ctx = instance->ctx;
	struct record rec;
	struct pf pf;
	struct vf *vf;
	char path[PATH_MAX];
	int fd, r;

	r = record_find(ctx, instance->uuid, &rec);
	if (r < 0)
		return r;
	if (strncmp(key, "profile/", 8) ||
	    strcmp(rec.model, model_names[MODEL_XE])) {
		fd = vf_open(ctx, rec.vf);
		if (fd < 0)
			return fd;
		r = vgpu_write_attr(fd, key, value);
		close(fd);
		return r;
	}
	r = pf_open(ctx, rec.parent, &pf);
	if (r < 0)
		return r;
	r = pf_load_vfs(&pf);
	vf = r < 0 ? NULL : find_vf(&pf, rec.vf);
	if (!vf)
		r = r < 0 ? r : -ENOENT;
	else
		r = xe_profile_path(vf, key + 8, path, sizeof(path));
	if (r == 0)
		r = vgpu_write_attr(pf.fd, path, value);
	pf_clear(&pf);
	return r;
}

static int sriov_remove(struct vgpu_instance *instance)
{
	struct vgpu_ctx *ctx = instance->ctx;
	struct record rec;
	struct pf pf;
	int r;

	r = record_find(ctx, instance->uuid, &rec);
	if (r < 0)
		return r;
	r = vf_check_idle(ctx, &rec);
	if (r < 0) {
		err(ctx, "%s: VF %s is open through VFIO", rec.uuid, rec.vf);
		return r;
	}
	r = pf_open(ctx, rec.parent, &pf);
	if (r < 0)
		pf = (struct pf){ .fd = -1 };
	if (strcmp(rec.model, model_names[MODEL_NVIDIA])) {
		r = vf_release(ctx, &rec);
		if (r < 0) {
			pf_clear(&pf);
			return r;
		}
	}
	if (pf.fd >= 0 && pf_load_vfs(&pf) < 0)
		warn(ctx, "%s: cannot read the VFs of %s", rec.uuid, rec.parent);
	r = pf.fd >= 0 || !strcmp(rec.model, model_names[MODEL_NVIDIA]) ?
		    vf_unconfigure(ctx, &pf, &rec) :
		    0;
	if (r < 0 && !strcmp(rec.model, model_names[MODEL_NVIDIA])) {
		/* the vGPU is still there: keep the instance */
		pf_clear(&pf);
		return r;
	}
	record_delete(ctx, rec.uuid);
	if (pf.fd >= 0)
		pf_maybe_disable_vfs(&pf);
	pf_clear(&pf);
	return 0;
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
};
