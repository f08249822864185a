/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kernel mdev backend: parents are the devices linked from
 * <root>/class/mdev_bus, types the directories below each parent's
 * mdev_supported_types, active instances the links in <root>/bus/mdev/devices.
 * See docs/mdev-sysfs.md for the mapping.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "enum-parallel.h"
#include "libvgpu-private.h"
#include "mdev-qos.h"
#include "util-sysfs.h"
#include "util-uuid.h"

#define CLASS_DIR "class/mdev_bus"
#define BUS_DIR	  "bus/mdev/devices"
#define TYPES_DIR "mdev_supported_types"

static int open_dir(const char *root, const char *rel)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/%s", root, rel) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/*
 * Join @base and the relative link target @rel, folding "." and ".."
 * lexically. sysfs links point along real directories, so this equals
 * realpath() without its per-component system calls.
 */
static char *lexical_join(const char *base, const char *rel)
{
	size_t blen = strlen(base), cap = blen + strlen(rel) + 2, len;
	char *out = malloc(cap);
	const char *p = rel;

	if (!out)
		return NULL;
	if (rel[0] == '/') {
		len = 0;
		out[0] = '\0';
	} else {
		memcpy(out, base, blen + 1);
		len = blen;
	}
	while (*p) {
		size_t n = strcspn(p, "/");

		if (n == 0 || (n == 1 && p[0] == '.')) {
			/* nothing */
		} else if (n == 2 && p[0] == '.' && p[1] == '.') {
			while (len > 0 && out[len - 1] != '/')
				len--;
			if (len > 0)
				len--;
			out[len] = '\0';
		} else {
			out[len++] = '/';
			memcpy(out + len, p, n);
			len += n;
			out[len] = '\0';
		}
		p += n;
		if (*p == '/')
			p++;
	}
	if (len == 0) {
		out[0] = '/';
		out[1] = '\0';
	}
	return out;
}

/* resolve the link @dir/@name to a path (lexically) */
static int resolve_link(int dirfd, const char *dir, const char *name,
			char **ret)
{
	char target[PATH_MAX];
	ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);

	if (n < 0)
		return -errno;
	target[n] = '\0';
	*ret = lexical_join(dir, target);
	return *ret ? 0 : -ENOMEM;
}

/*
 * A parent as the class directory links it.  Only whether it has a types
 * directory is asked here (one fstatat): its bus, driver, NUMA node and PCI
 * identity are read by the first getter that wants them, which a listing
 * of instances or types never calls.
 */
static int parent_from_class(struct vgpu_ctx *ctx, int classfd,
			     const char *classdir, const char *id,
			     struct vgpu_parent **ret)
{
	struct vgpu_parent *p;
	struct stat st;
	char *types;
	int r;

	p = vgpu_parent_alloc(ctx, &vgpu_backend_mdev, id);
	if (!p)
		return -ENOMEM;
	r = resolve_link(classfd, classdir, id, &p->syspath);
	if (r == -EINVAL) {
		/* not a link: take the entry itself */
		p->syspath = vgpu_path_join(classdir, id);
		r = p->syspath ? 0 : -ENOMEM;
	}
	if (r < 0)
		goto fail;
	types = vgpu_path_join(p->syspath, TYPES_DIR);
	if (!types) {
		r = -ENOMEM;
		goto fail;
	}
	if (stat(types, &st) < 0 || !S_ISDIR(st.st_mode)) {
		/* which is missing: the parent, or its types? */
		r = stat(p->syspath, &st) < 0 ? -errno : -ENODEV;
		if (r == -ENODEV)
			warn(ctx, "mdev parent %s has no %s", id, TYPES_DIR);
		else
			warn(ctx, "mdev parent %s: %s: %s", id, p->syspath,
			     strerror(-r));
		free(types);
		goto fail;
	}
	free(types);
	p->details_pending = true;
	*ret = p;
	return 0;
fail:
	vgpu_parent_unref(p);
	return r;
}

static char *class_dir(struct vgpu_ctx *ctx)
{
	return vgpu_path_join(ctx->sysfs_root, CLASS_DIR);
}

static int mdev_list_parents(struct vgpu_ctx *ctx, struct vgpu_vec *out)
{
	char *cdir = class_dir(ctx);
	struct dirent *de;
	DIR *d;
	int r = 0;

	if (!cdir)
		return -ENOMEM;
	d = opendir(cdir);
	if (!d) {
		r = errno == ENOENT ? 0 : -errno;
		if (r)
			err(ctx, "cannot read %s: %s", cdir, strerror(-r));
		else
			dbg(ctx, "%s does not exist: no mdev parents", cdir);
		free(cdir);
		return r;
	}
	while ((de = readdir(d))) {
		struct vgpu_parent *p;

		if (de->d_name[0] == '.')
			continue;
		if (parent_from_class(ctx, dirfd(d), cdir, de->d_name, &p) < 0)
			continue;
		r = vgpu_vec_push(out, p);
		if (r < 0) {
			vgpu_parent_unref(p);
			break;
		}
	}
	closedir(d);
	free(cdir);
	return r;
}

static int mdev_get_parent(struct vgpu_ctx *ctx, const char *id,
			   struct vgpu_parent **ret)
{
	char *cdir = class_dir(ctx);
	struct stat st;
	int cfd, r;

	if (!cdir)
		return -ENOMEM;
	cfd = open(cdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cfd < 0) {
		/* a permission problem says so, never "no such parent" */
		r = errno == EACCES || errno == EPERM ? -errno : -ENODEV;
		if (r != -ENODEV)
			err(ctx, "cannot read %s: %s", cdir, strerror(-r));
		free(cdir);
		return r;
	}
	if (fstatat(cfd, id, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		r = errno == EACCES || errno == EPERM ? -errno : -ENODEV;
		if (r != -ENODEV)
			err(ctx, "cannot read %s/%s: %s", cdir, id,
			    strerror(-r));
	} else
		r = parent_from_class(ctx, cfd, cdir, id, ret);
	close(cfd);
	free(cdir);
	return r;
}

/* read the attribute @attr of type @id through the types directory: no
 * descriptor for the type's own directory is needed */
static int type_attr(int typesfd, const char *id, const char *attr, char *buf,
		     size_t size)
{
	size_t il = strlen(id), al = strlen(attr);
	char rel[NAME_MAX + 32];

	/* 65,536 of these on a big host: no snprintf */
	if (il + 1 + al >= sizeof(rel))
		return -ENAMETOOLONG;
	memcpy(rel, id, il);
	rel[il] = '/';
	memcpy(rel + il + 1, attr, al + 1);
	return vgpu_read_attr(typesfd, rel, buf, size);
}

static int type_attr_alloc(int typesfd, const char *id, const char *attr,
			   char **ret)
{
	char buf[VGPU_ATTR_MAX + 1];
	int r = type_attr(typesfd, id, attr, buf, sizeof(buf));

	if (r < 0)
		return r;
	*ret = strdup(buf);
	return *ret ? r : -ENOMEM;
}

static int type_attr_long(int typesfd, const char *id, const char *attr,
			  long *ret)
{
	char buf[64];
	int r = type_attr(typesfd, id, attr, buf, sizeof(buf));

	return r < 0 ? r : vgpu_parse_long(buf, 10, 0, INT_MAX, ret);
}

/* a type's attributes as read from sysfs, before any object is made */
struct type_read {
	char *id;
	bool exists;
	int name_r, desc_r, api_r, avail_r;
	char *name, *description, *device_api;
	long avail;
};

static void type_read_clear(struct type_read *tr)
{
	free(tr->id);
	free(tr->name);
	free(tr->description);
	free(tr->device_api);
}

/* read the attributes of type @tr->id: sysfs reads only, no object and no
 * log (may run in a worker thread) */
static void read_type_attrs(int typesfd, struct type_read *tr)
{
	const char *id = tr->id;
	struct stat st;

	tr->name_r = type_attr_alloc(typesfd, id, "name", &tr->name);
	/* name is optional: only then ask whether the type exists at all */
	tr->exists =
		!((tr->name_r == -ENOENT || tr->name_r == -ENOTDIR) &&
		  (fstatat(typesfd, id, &st, 0) < 0 || !S_ISDIR(st.st_mode)));
	if (!tr->exists)
		return;
	tr->desc_r =
		type_attr_alloc(typesfd, id, "description", &tr->description);
	tr->api_r = type_attr_alloc(typesfd, id, "device_api", &tr->device_api);
	tr->avail_r =
		type_attr_long(typesfd, id, "available_instances", &tr->avail);
}

/* the type read into @tr, its strings taken over; -ENOENT when it is not
 * a type */
static int type_from_read(struct vgpu_parent *parent, struct type_read *tr,
			  struct vgpu_type **ret)
{
	struct vgpu_ctx *ctx = parent->ctx;
	const char *id = tr->id;
	struct vgpu_type *t;

	if (!tr->exists)
		return -ENOENT;
	t = vgpu_type_alloc(parent, id);
	if (!t)
		return -ENOMEM;
	t->name = tr->name;
	tr->name = NULL;
	if (tr->name_r < 0 && tr->name_r != -ENOENT)
		warn(ctx, "%s/%s: name: %s", parent->id, id,
		     strerror(-tr->name_r));
	t->description = tr->description;
	tr->description = NULL;
	if (tr->desc_r < 0 && tr->desc_r != -ENOENT)
		warn(ctx, "%s/%s: description: %s", parent->id, id,
		     strerror(-tr->desc_r));
	t->device_api = tr->device_api;
	tr->device_api = NULL;
	if (tr->api_r < 0)
		warn(ctx, "%s/%s: device_api: %s", parent->id, id,
		     strerror(-tr->api_r));
	if (tr->avail_r < 0) {
		warn(ctx, "%s/%s: available_instances: %s", parent->id, id,
		     strerror(-tr->avail_r));
		t->available = tr->avail_r;
	} else {
		t->available = (int)tr->avail;
	}
	t->attrs_pending = true;
	*ret = t;
	return 0;
}

static int type_from_dir(struct vgpu_parent *parent, int typesfd,
			 const char *id, struct vgpu_type **ret)
{
	struct type_read tr = { .id = strdup(id) };
	int r;

	if (!tr.id)
		return -ENOMEM;
	read_type_attrs(typesfd, &tr);
	r = type_from_read(parent, &tr, ret);
	type_read_clear(&tr);
	return r;
}

struct types_job {
	int typesfd;
	struct type_read *tr;
};

static void read_type_step(void *data, size_t i)
{
	struct types_job *job = data;

	read_type_attrs(job->typesfd, &job->tr[i]);
}

/*
 * Threads for one parent's types from this many on: the context's workers
 * wait between calls (enum-parallel.h), so a caller that lists the types
 * of many parents one by one does not start threads for each; on a host
 * of 256 parents with 16 types each that takes a quarter off the
 * wall-clock time for a quarter more processor time (docs/testing.md,
 * "Listing speed").
 */
#define TYPES_THREADED_MIN 16

/* the entries of a parent's types directory @d, not yet read: each gets a
 * type_read with its id (-ENOMEM, or 0; the directory's own read error
 * stays in d->err) */
static int read_type_names(struct vgpu_dir *d, struct type_read **tr,
			   size_t *n_ret)
{
	const struct dirent64 *de;
	size_t n = 0, cap = 0;
	int r = 0;

	*tr = NULL;
	while ((de = vgpu_dir_next(d))) {
		if (de->d_name[0] == '.')
			continue;
		r = vgpu_array_reserve(tr, &cap, n, sizeof(**tr), 16);
		if (r < 0)
			break;
		(*tr)[n] = (struct type_read){ .id = strdup(de->d_name) };
		if (!(*tr)[n].id) {
			r = -ENOMEM;
			break;
		}
		n++;
	}
	*n_ret = n;
	return r;
}

static void type_reads_free(struct type_read *tr, size_t n)
{
	for (size_t i = 0; i < n; i++)
		type_read_clear(&tr[i]);
	free(tr);
}

/*
 * Make the types read into @tr[0..n), in order, with the warnings one
 * thread would give, and free @tr: the types before a failed directory
 * read (@dir_err) are made (and warned about) before the failure is
 * returned, as they always were. @r: what reading the names returned.
 */
static int build_types(struct vgpu_parent *parent, struct type_read *tr,
		       size_t n, int r, int dir_err, struct vgpu_vec *out)
{
	for (size_t i = 0; r >= 0 && i < n; i++) {
		struct vgpu_type *t;

		r = type_from_read(parent, &tr[i], &t);
		if (r == -ENOMEM)
			break;
		if (r < 0) {
			r = 0;
			continue;
		}
		r = vgpu_vec_push(out, t);
		if (r < 0) {
			vgpu_type_unref(t);
			break;
		}
	}
	if (r >= 0 && dir_err)
		r = dir_err;
	type_reads_free(tr, n);
	return r;
}

/* open the types directory of the parent at @syspath (-ENODEV: none) */
static int open_types_dir(const char *syspath, struct vgpu_dir *d)
{
	char *path = vgpu_path_join(syspath, TYPES_DIR);
	int r;

	if (!path)
		return -ENOMEM;
	r = vgpu_dir_open(AT_FDCWD, path, d);
	free(path);
	return r == -ENOENT ? -ENODEV : r;
}

/*
 * The types of @parent in directory order.  Their attribute files (four
 * per type) are read first, by a few threads when the parent has many
 * types (enum-parallel.h); the objects are then made here, in order, with
 * the warnings one thread would give.
 */
static int mdev_list_types(struct vgpu_parent *parent, struct vgpu_vec *out)
{
	struct types_job job = { -1, NULL };
	struct vgpu_dir d;
	size_t n;
	int r;

	r = open_types_dir(parent->syspath, &d);
	if (r < 0)
		return r;
	r = read_type_names(&d, &job.tr, &n);
	if (r >= 0) {
		job.typesfd = d.fd;
		vgpu_enum_run(parent->ctx, n, TYPES_THREADED_MIN,
			      read_type_step, &job);
	}
	r = build_types(parent, job.tr, n, r, d.err, out);
	vgpu_dir_close(&d);
	return r;
}

/* the types of one parent of mdev_list_types_many(), as a worker read them */
struct ptypes {
	const char *syspath; /* the parent's (read only) */
	struct type_read *tr;
	size_t n;
	int r;	     /* opening the directory, or reading the names */
	int dir_err; /* the directory's read error */
};

/* mdev_list_types_many()'s parents, their records and their types */
struct types_many {
	struct vgpu_parent *const *parents;
	struct ptypes *pt;
	struct vgpu_vec *outs;
};

/* read one parent's types directory and every type's attributes: sysfs
 * reads only, into its own record (run in a worker thread) */
static void read_parent_types(void *data, size_t i)
{
	struct ptypes *pt = &((struct types_many *)data)->pt[i];
	struct vgpu_dir d;

	pt->r = open_types_dir(pt->syspath, &d);
	if (pt->r >= 0) {
		pt->r = read_type_names(&d, &pt->tr, &pt->n);
		for (size_t k = 0; pt->r >= 0 && k < pt->n; k++)
			read_type_attrs(d.fd, &pt->tr[k]);
		pt->dir_err = d.err;
		vgpu_dir_close(&d);
	}
}

/* make the types of parent @i, and hand its records over */
static int build_parent_types(void *data, size_t i)
{
	struct types_many *tm = data;
	struct ptypes *pt = &tm->pt[i];
	int r = build_types(tm->parents[i], pt->tr, pt->n, pt->r, pt->dir_err,
			    &tm->outs[i]);

	pt->tr = NULL;
	pt->n = 0;
	return vgpu_types_leave_out(tm->parents[i], &tm->outs[i], r);
}

/*
 * The types of many parents (of one context), each into its own vector:
 * the unit of work is the parent, its directory and its types' attribute
 * files read by one of the context's threads; the calling thread makes
 * the types of the parents read so far, in their order, between the
 * parents it reads itself. Stops making at the first error (in the order
 * of @parents) that stands (vgpu_types_leave_out()), which it returns.
 */
static int mdev_list_types_many(struct vgpu_parent *const *parents, size_t n,
				struct vgpu_vec *outs)
{
	struct types_many tm = { parents, calloc(n ? n : 1, sizeof(*tm.pt)),
				 outs };
	struct vgpu_enum_job job;
	int r;

	if (!tm.pt)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		tm.pt[i].syspath = parents[i]->syspath;
	vgpu_enum_start_ordered(parents[0]->ctx, &job, n, VGPU_ENUM_MIN_ITEMS,
				read_parent_types, &tm);
	r = vgpu_enum_finish_ordered(&job, build_parent_types);
	/* what was read but not made, after an error */
	for (size_t i = 0; i < n; i++)
		type_reads_free(tm.pt[i].tr, tm.pt[i].n);
	free(tm.pt);
	return r;
}

static int mdev_get_type(struct vgpu_parent *parent, const char *id,
			 struct vgpu_type **ret)
{
	int fd = open_dir(parent->syspath, TYPES_DIR), r;

	if (fd < 0)
		return fd == -ENOENT ? -ENOENT : fd;
	r = type_from_dir(parent, fd, id, ret);
	close(fd);
	return r;
}

/*
 * Parent directories seen while listing active instances, each open once
 * (O_PATH), so that an instance's mdev_type link is read relative to its
 * parent: a path walk of two components instead of following the bus link
 * again for every instance.  Open addressing on a hash of the path; when it
 * is full, links are read through the bus directory as before.
 */
#define PDIR_SLOTS 1024

struct pdir_cache {
	struct {
		char *path;
		int fd;
	} slot[PDIR_SLOTS];
	size_t used;
};

static void pdir_cache_clear(struct pdir_cache *c)
{
	for (size_t i = 0; c && i < PDIR_SLOTS; i++) {
		if (!c->slot[i].path)
			continue;
		free(c->slot[i].path);
		if (c->slot[i].fd >= 0)
			close(c->slot[i].fd);
	}
}

/* an O_PATH fd of the directory @path, or -1 */
static int pdir_cache_get(struct pdir_cache *c, const char *path)
{
	uint32_t h = 2166136261u;
	size_t i;

	if (!c)
		return -1;
	for (const char *p = path; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	for (i = h % PDIR_SLOTS; c->slot[i].path; i = (i + 1) % PDIR_SLOTS)
		if (!strcmp(c->slot[i].path, path))
			return c->slot[i].fd;
	/* keep a quarter free so that probing stays short */
	if (c->used >= PDIR_SLOTS * 3 / 4)
		return -1;
	c->slot[i].path = strdup(path);
	if (!c->slot[i].path)
		return -1;
	c->slot[i].fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	c->used++;
	return c->slot[i].fd;
}

/* the type of the active instance @in: the link @dirfd/@name/mdev_type */
static void read_type(struct vgpu_ctx *ctx, struct vgpu_instance *in, int dirfd,
		      const char *name)
{
	static const char leaf[] = "/mdev_type";
	char buf[NAME_MAX + 1], link[NAME_MAX + sizeof(leaf)];
	size_t n = strnlen(name, NAME_MAX + 1);
	int r = -ENAMETOOLONG;

	/* once per active instance: no printf */
	if (n <= NAME_MAX) {
		memcpy(link, name, n);
		memcpy(link + n, leaf, sizeof(leaf));
		r = vgpu_readlink_base(dirfd, link, buf, sizeof(buf));
	}
	if (r > 0)
		in->type_id = strdup(buf);
	else
		warn(ctx, "%s: no mdev_type link: %s", in->uuid,
		     strerror(r < 0 ? -r : EINVAL));
}

/* an active instance from its entry in bus/mdev/devices */
static int instance_from_bus(struct vgpu_ctx *ctx, int busfd,
			     const char *busdir, const char *name,
			     const char *parent_filter, struct pdir_cache *pc,
			     struct vgpu_instance **ret)
{
	char uuid[VGPU_UUID_LEN + 1];
	char *syspath = NULL, *slash;
	struct vgpu_instance *in;
	const char *parent;
	int r, pfd;

	if (vgpu_uuid_normalize(name, uuid) < 0) {
		warn(ctx, "%s/%s: not a UUID, ignored", busdir, name);
		return -EINVAL;
	}
	r = resolve_link(busfd, busdir, name, &syspath);
	if (r < 0) {
		warn(ctx, "%s/%s: %s", busdir, name, strerror(-r));
		return r;
	}
	/* the parent is the directory holding the instance */
	slash = strrchr(syspath, '/');
	*slash = '\0';
	parent = strrchr(syspath, '/');
	parent = parent ? parent + 1 : syspath;
	if (!*parent || (parent_filter && strcmp(parent, parent_filter))) {
		free(syspath);
		return -ENOENT;
	}
	in = vgpu_instance_alloc(ctx, &vgpu_backend_mdev, uuid, parent);
	pfd = in ? pdir_cache_get(pc, syspath) : -1;
	*slash = '/';
	if (!in) {
		free(syspath);
		return -ENOMEM;
	}
	in->syspath = syspath;
	in->active = true;
	/* read when asked: one link less per instance in every listing */
	in->iommu_group = VGPU_IOMMU_GROUP_UNREAD;
	if (pfd >= 0)
		read_type(ctx, in, pfd, slash + 1);
	else
		read_type(ctx, in, busfd, name);
	*ret = in;
	return 0;
}

/* the names in bus/mdev/devices, which a parent holds, and a hash index of
 * them (looked up once per entry of every parent directory) */
struct bus_names {
	char **name;
	bool *found;
	size_t n;
	uint32_t *slot; /* 1 + the index of a name; 0: empty */
	size_t mask;	/* slots - 1 */
};

/* FNV-1a: a few instructions a byte, enough for names that are UUIDs */
static uint64_t name_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

static int bus_index(struct bus_names *bn)
{
	size_t size = 16;

	while (size < 2 * bn->n)
		size *= 2;
	bn->slot = calloc(size, sizeof(*bn->slot));
	if (!bn->slot)
		return -ENOMEM;
	bn->mask = size - 1;
	for (size_t i = 0; i < bn->n; i++) {
		size_t h = name_hash(bn->name[i]) & bn->mask;

		while (bn->slot[h])
			h = (h + 1) & bn->mask;
		bn->slot[h] = (uint32_t)(i + 1);
	}
	return 0;
}

/* whether the bus lists @name (its index in *k) */
static bool bus_find(const struct bus_names *bn, const char *name, size_t *k)
{
	for (size_t h = name_hash(name) & bn->mask; bn->slot[h];
	     h = (h + 1) & bn->mask) {
		if (!strcmp(bn->name[bn->slot[h] - 1], name)) {
			*k = bn->slot[h] - 1;
			return true;
		}
	}
	return false;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_uuid(const void *a, const void *b)
{
	return strcmp((*(struct vgpu_instance *const *)a)->uuid,
		      (*(struct vgpu_instance *const *)b)->uuid);
}

/* the names in @d but those starting with ".", sorted (free each) */
static int sorted_names(struct vgpu_dir *d, struct vgpu_vec *names)
{
	const struct dirent64 *de;
	int r = 0;

	while (r >= 0 && (de = vgpu_dir_next(d))) {
		char *name;

		if (de->d_name[0] == '.')
			continue;
		name = strdup(de->d_name);
		r = name ? vgpu_vec_push(names, name) : -ENOMEM;
		if (r < 0)
			free(name);
	}
	vgpu_vec_sort(names, cmp_name);
	return r < 0 ? r : d->err;
}

static void *free_name(void *p)
{
	free(p);
	return NULL;
}

/* an entry of a parent directory that the bus lists, as a worker read it */
struct pentry {
	char name[VGPU_UUID_LEN + 1]; /* as the directory spells it */
	char uuid[VGPU_UUID_LEN + 1];
	char *type; /* the mdev_type link's last component */
	int type_r; /* vgpu_readlink_base()'s answer */
};

/* one entry of class/mdev_bus, read by a worker of scan_parents() */
struct pscan {
	const char *cname;
	char *psys;	   /* the parent directory */
	const char *pname; /* in psys */
	int r;		   /* -ENOMEM, else 0 */
	struct pentry *e;
	size_t n;
};

/* a scan of the parents: what every worker shares, read-only, and the
 * records they fill */
struct pscan_job {
	int classfd;
	const char *cdir, *parent_id;
	struct pscan *p;
	char *dir;	       /* the class directory */
	struct vgpu_vec names; /* its entries, sorted */
	struct vgpu_dir d;
	bool open;
	int r; /* reading the class directory failed (-errno), else 0 */
	struct vgpu_enum_job run;
	/* where scan_finish() makes the instances (calling thread only) */
	struct vgpu_ctx *ctx;
	struct bus_names *bn;
	struct vgpu_vec *out;
};

/* the entries of @ps's parent directory named like an instance (a UUID),
 * each with its mdev_type link: sysfs reads only, into @ps (run in a
 * worker thread, while the calling thread reads the bus directory) */
static void read_parent(const struct pscan_job *job, struct pscan *ps)
{
	const struct dirent64 *e;
	struct vgpu_dir pd;
	size_t cap = 0;
	int r;

	r = resolve_link(job->classfd, job->cdir, ps->cname, &ps->psys);
	if (r == -EINVAL)
		ps->psys = vgpu_path_join(job->cdir, ps->cname);
	if (r == -ENOMEM || !ps->psys) {
		ps->r = -ENOMEM;
		return;
	}
	ps->pname = strrchr(ps->psys, '/');
	ps->pname = ps->pname ? ps->pname + 1 : ps->psys;
	if (!*ps->pname ||
	    (job->parent_id && strcmp(ps->pname, job->parent_id)))
		return;
	/* gone since the class directory was read: nothing of it */
	if (vgpu_dir_open(AT_FDCWD, ps->psys, &pd) < 0)
		return;
	while ((e = vgpu_dir_next(&pd))) {
		static const char leaf[] = "/mdev_type";
		const char *name = e->d_name;
		char buf[NAME_MAX + 1], link[NAME_MAX + sizeof(leaf)];
		struct pentry *pe;

		if (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN)
			continue;
		if (vgpu_array_reserve(&ps->e, &cap, ps->n, sizeof(*ps->e),
				       16) < 0) {
			ps->r = -ENOMEM;
			break;
		}
		pe = &ps->e[ps->n];
		if (vgpu_uuid_normalize(name, pe->uuid) < 0)
			continue;
		/* a UUID: 36 characters */
		memcpy(pe->name, name, sizeof(pe->name));
		/* once per active instance: no printf */
		memcpy(link, name, VGPU_UUID_LEN);
		memcpy(link + VGPU_UUID_LEN, leaf, sizeof(leaf));
		pe->type_r = vgpu_readlink_base(pd.fd, link, buf, sizeof(buf));
		pe->type = pe->type_r > 0 ? strdup(buf) : NULL;
		ps->n++;
	}
	vgpu_dir_close(&pd);
}

static void read_parent_step(void *data, size_t i)
{
	struct pscan_job *job = data;

	read_parent(job, &job->p[i]);
}

/* the instances of @ps that the bus lists, in UUID order, and that no
 * earlier parent holds */
static int build_parent(struct vgpu_ctx *ctx, struct pscan *ps,
			struct bus_names *bn, struct vgpu_vec *out)
{
	size_t first = out->n;
	int r = 0;

	for (size_t j = 0; r >= 0 && j < ps->n; j++) {
		struct pentry *pe = &ps->e[j];
		struct vgpu_instance *in;
		char *path;
		size_t k;

		if (!bus_find(bn, pe->name, &k) || bn->found[k])
			continue;
		path = vgpu_path_join(ps->psys, pe->name);
		in = path ? vgpu_instance_alloc(ctx, &vgpu_backend_mdev,
						pe->uuid, ps->pname)
			  : NULL;
		if (!in) {
			free(path);
			r = -ENOMEM;
			break;
		}
		bn->found[k] = true;
		in->syspath = path;
		in->active = true;
		/* read when asked: one link less per instance */
		in->iommu_group = VGPU_IOMMU_GROUP_UNREAD;
		if (pe->type_r > 0) {
			in->type_id = pe->type;
			pe->type = NULL;
		} else {
			warn(ctx, "%s: no mdev_type link: %s", in->uuid,
			     strerror(pe->type_r < 0 ? -pe->type_r : EINVAL));
		}
		r = vgpu_vec_push(out, in);
		if (r < 0)
			vgpu_instance_unref(in);
	}
	/* a dozen or so per parent: sorted here, the listing needs no sort
	 * of all of them */
	if (out->n - first > 1)
		qsort(out->items + first, out->n - first, sizeof(*out->items),
		      cmp_uuid);
	return r;
}

/*
 * The active instances found in their parents' directories: each parent of
 * class/mdev_bus is read once, and each of its entries that the bus lists
 * is an instance of it.  This tells the parent of every instance without
 * reading the bus link of each: one link (mdev_type) per instance instead
 * of two.  What no parent holds is left to the bus links.  Parents are
 * visited in name order and each one's instances come sorted, so the
 * listing comes out in its final order (parent, UUID).
 *
 * On a big host the parents' directories and links are read by a few
 * threads (enum-parallel.h), started before the bus directory is read and
 * joined after: each UUID-named directory of a parent has its link read,
 * and only those the bus lists become instances, made here, parent by
 * parent, exactly as if one thread had read them.
 */
static void scan_start(struct vgpu_ctx *ctx, const char *parent_id,
		       struct pscan_job *job)
{
	int r;

	*job = (struct pscan_job){ .parent_id = parent_id, .d.fd = -1 };
	job->dir = class_dir(ctx);
	job->open = job->dir && vgpu_dir_open(AT_FDCWD, job->dir, &job->d) == 0;
	job->cdir = job->dir;
	r = job->open ? sorted_names(&job->d, &job->names) : 0;
	job->r = job->dir ? r : -ENOMEM;
	if (job->open && r >= 0 && job->names.n) {
		job->classfd = job->d.fd;
		job->p = calloc(job->names.n, sizeof(*job->p));
	}
	if (!job->p)
		return;
	for (size_t i = 0; i < job->names.n; i++)
		job->p[i].cname = job->names.items[i];
	vgpu_enum_start_ordered(ctx, &job->run, job->names.n,
				VGPU_ENUM_MIN_ITEMS, read_parent_step, job);
}

/* the instances of parent @i of the scan, or its error */
static int build_one(void *data, size_t i)
{
	struct pscan_job *job = data;
	struct pscan *ps = &job->p[i];

	if (ps->r < 0)
		return ps->r;
	return ps->n ? build_parent(job->ctx, ps, job->bn, job->out) : 0;
}

/* wait for the scan; with @bn, make the instances it found */
static int scan_finish(struct vgpu_ctx *ctx, struct pscan_job *job,
		       struct bus_names *bn, struct vgpu_vec *out)
{
	int r = job->r;

	if (r >= 0 && job->open && !job->p && job->names.n)
		r = -ENOMEM;
	if (job->p) {
		job->ctx = ctx;
		job->bn = bn;
		job->out = out;
		/* the parents read so far are made into instances, in their
		 * order, while the workers read the others */
		if (bn && r >= 0)
			r = vgpu_enum_finish_ordered(&job->run, build_one);
		else
			vgpu_enum_finish(&job->run);
		for (size_t i = 0; i < job->names.n; i++) {
			for (size_t j = 0; j < job->p[i].n; j++)
				free(job->p[i].e[j].type);
			free(job->p[i].e);
			free(job->p[i].psys);
		}
		free(job->p);
	}
	vgpu_vec_clear(&job->names, free_name);
	if (job->open)
		vgpu_dir_close(&job->d);
	free(job->dir);
	return r;
}

static int mdev_list_active(struct vgpu_ctx *ctx, const char *parent_id,
			    struct vgpu_vec *out)
{
	char *bdir = vgpu_path_join(ctx->sysfs_root, BUS_DIR);
	struct bus_names bn = { 0 };
	struct vgpu_vec names = { 0 };
	struct pscan_job job;
	struct pdir_cache *pc;
	struct dirent *de;
	DIR *d;
	int r = 0, r2;

	if (!bdir)
		return -ENOMEM;
	d = opendir(bdir);
	if (!d) {
		r = errno == ENOENT ? 0 : -errno;
		if (r)
			err(ctx, "cannot read %s: %s", bdir, strerror(-r));
		free(bdir);
		return r;
	}
	/* the parents are read meanwhile */
	scan_start(ctx, parent_id, &job);
	while (r >= 0 && (de = readdir(d))) {
		char *name;

		if (de->d_name[0] == '.')
			continue;
		name = strdup(de->d_name);
		r = name ? vgpu_vec_push(&names, name) : -ENOMEM;
		if (r < 0)
			free(name);
	}
	bn.name = (char **)vgpu_vec_steal(&names, &bn.n);
	bn.found = calloc(bn.n ? bn.n : 1, sizeof(*bn.found));
	if (r >= 0 && (!bn.found || (bn.n && !bn.name)))
		r = -ENOMEM;
	if (r >= 0 && bn.n)
		r = bus_index(&bn);
	/* called in any case: it joins the readers */
	r2 = scan_finish(ctx, &job, r >= 0 && bn.n ? &bn : NULL, out);
	if (r >= 0 && bn.n)
		r = r2;
	/* what no parent holds (usually nothing), in name order */
	for (size_t i = 0; r >= 0 && i < bn.n; i++)
		if (!bn.found[i])
			r = vgpu_vec_push(&names, bn.name[i]);
	vgpu_vec_sort(&names, cmp_name);
	/* without memory for the cache, links are read the long way */
	pc = r >= 0 ? calloc(1, sizeof(*pc)) : NULL;
	for (size_t i = 0; r >= 0 && i < names.n; i++) {
		struct vgpu_instance *in;

		r = instance_from_bus(ctx, dirfd(d), bdir, names.items[i],
				      parent_id, pc, &in);
		if (r == -ENOMEM)
			break;
		if (r < 0) {
			r = 0;
			continue;
		}
		r = vgpu_vec_push(out, in);
		if (r < 0) {
			vgpu_instance_unref(in);
			break;
		}
	}
	pdir_cache_clear(pc);
	free(pc);
	free(names.items); /* pointers into bn.name */
	for (size_t i = 0; i < bn.n; i++)
		free(bn.name[i]);
	free(bn.name);
	free(bn.found);
	free(bn.slot);
	closedir(d);
	free(bdir);
	return r;
}

static int mdev_get_active(struct vgpu_ctx *ctx, const char *uuid,
			   struct vgpu_instance **ret)
{
	char *bdir = vgpu_path_join(ctx->sysfs_root, BUS_DIR);
	struct stat st;
	int fd, r;

	if (!bdir)
		return -ENOMEM;
	fd = open(bdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		free(bdir);
		return -ENOENT;
	}
	if (fstatat(fd, uuid, &st, AT_SYMLINK_NOFOLLOW) < 0)
		r = -ENOENT;
	else
		r = instance_from_bus(ctx, fd, bdir, uuid, NULL, NULL, ret);
	close(fd);
	free(bdir);
	return r;
}

static int mdev_create(struct vgpu_parent *parent, const char *type_id,
		       const char *uuid)
{
	char rel[NAME_MAX + 64];
	int fd, r;

	fd = open_dir(parent->syspath, TYPES_DIR);
	if (fd < 0)
		return fd == -ENOENT ? -ENODEV : fd;
	snprintf(rel, sizeof(rel), "%s/create", type_id);
	r = vgpu_write_attr(fd, rel, uuid);
	close(fd);
	return r;
}

static int mdev_write_attr(struct vgpu_instance *instance, const char *key,
			   const char *value)
{
	int fd = open(instance->syspath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r;

	if (fd < 0)
		return -errno;
	r = vgpu_write_attr(fd, key, value);
	close(fd);
	return r;
}

static int mdev_remove(struct vgpu_instance *instance)
{
	return mdev_write_attr(instance, "remove", "1");
}

const struct vgpu_backend vgpu_backend_mdev = {
	.name = "mdev",
	.access = "vfio",
	.list_parents = mdev_list_parents,
	.get_parent = mdev_get_parent,
	.list_types = mdev_list_types,
	.list_types_many = mdev_list_types_many,
	.get_type = mdev_get_type,
	.list_active = mdev_list_active,
	.get_active = mdev_get_active,
	.create = mdev_create,
	.write_attr = mdev_write_attr,
	.remove = mdev_remove,
	.qos_get = mdev_qos_get,
	.qos_set = mdev_qos_set,
	.get_usage = mdev_get_usage,
};
