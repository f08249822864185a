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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libvgpu-private.h"
#include "mdev-qos.h"
#include "util-sysfs.h"
#include "util-uuid.h"

#define CLASS_DIR "class/mdev_bus"
#define BUS_DIR "bus/mdev/devices"
#define TYPES_DIR "mdev_supported_types"

static int open_dir(const char *root, const char *rel)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/%s", root, rel) >= (int)sizeof(path))
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

static int parent_from_class(struct vgpu_ctx *ctx, int classfd,
			     const char *classdir, const char *id,
			     struct vgpu_parent **ret)
{
	char buf[NAME_MAX + 1];
	struct vgpu_parent *p;
	struct stat st;
	long node;
	int fd, r;

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
	fd = open(p->syspath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		warn(ctx, "mdev parent %s: %s: %s", id, p->syspath,
		     strerror(-r));
		goto fail;
	}
	if (fstatat(fd, TYPES_DIR, &st, 0) < 0 || !S_ISDIR(st.st_mode)) {
		warn(ctx, "mdev parent %s has no %s", id, TYPES_DIR);
		close(fd);
		r = -ENODEV;
		goto fail;
	}
	if (vgpu_readlink_base(fd, "subsystem", buf, sizeof(buf)) > 0)
		p->bus = strdup(buf);
	if (vgpu_readlink_base(fd, "driver", buf, sizeof(buf)) > 0)
		p->driver = strdup(buf);
	if (vgpu_read_attr_long(fd, "numa_node", 10, -1, 65535, &node) == 0)
		p->numa_node = (int)node;
	if (p->bus && !strcmp(p->bus, "pci"))
		vgpu_parent_read_pci_identity(p, fd);
	close(fd);
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
			err(ctx, "cannot read %s/%s: %s", cdir, id, strerror(-r));
	} else
		r = parent_from_class(ctx, cfd, cdir, id, ret);
	close(cfd);
	free(cdir);
	return r;
}

static int type_from_dir(struct vgpu_parent *parent, int typesfd,
			 const char *id, struct vgpu_type **ret)
{
	struct vgpu_ctx *ctx = parent->ctx;
	struct vgpu_type *t;
	long avail;
	int fd, r;

	fd = openat(typesfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR ? -ENOENT : -errno;
	t = vgpu_type_alloc(parent, id);
	if (!t) {
		close(fd);
		return -ENOMEM;
	}
	r = vgpu_read_attr_alloc(fd, "name", &t->name);
	if (r < 0 && r != -ENOENT)
		warn(ctx, "%s/%s: name: %s", parent->id, id, strerror(-r));
	r = vgpu_read_attr_alloc(fd, "description", &t->description);
	if (r < 0 && r != -ENOENT)
		warn(ctx, "%s/%s: description: %s", parent->id, id,
		     strerror(-r));
	r = vgpu_read_attr_alloc(fd, "device_api", &t->device_api);
	if (r < 0)
		warn(ctx, "%s/%s: device_api: %s", parent->id, id,
		     strerror(-r));
	r = vgpu_read_attr_long(fd, "available_instances", 10, 0, INT_MAX,
				&avail);
	if (r < 0) {
		warn(ctx, "%s/%s: available_instances: %s", parent->id, id,
		     strerror(-r));
		t->available = r;
	} else {
		t->available = (int)avail;
	}
	close(fd);
	r = vgpu_parse_description(t->description, &t->attrs, &t->n_attrs);
	if (r < 0) {
		vgpu_type_unref(t);
		return r;
	}
	*ret = t;
	return 0;
}

static int mdev_list_types(struct vgpu_parent *parent, struct vgpu_vec *out)
{
	struct dirent *de;
	DIR *d;
	int fd, r = 0;

	fd = open_dir(parent->syspath, TYPES_DIR);
	if (fd < 0)
		return fd == -ENOENT ? -ENODEV : fd;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(d))) {
		struct vgpu_type *t;

		if (de->d_name[0] == '.')
			continue;
		r = type_from_dir(parent, dirfd(d), de->d_name, &t);
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
	closedir(d);
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

/* an active instance from its entry in bus/mdev/devices */
static int instance_from_bus(struct vgpu_ctx *ctx, int busfd,
			     const char *busdir, const char *name,
			     const char *parent_filter,
			     struct vgpu_instance **ret)
{
	char uuid[VGPU_UUID_LEN + 1], buf[NAME_MAX + 1], link[NAME_MAX + 64];
	char *syspath = NULL, *slash;
	struct vgpu_instance *in;
	const char *parent;
	long group;
	int r;

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
	*slash = '/';
	if (!in) {
		free(syspath);
		return -ENOMEM;
	}
	in->syspath = syspath;
	in->active = true;
	snprintf(link, sizeof(link), "%s/mdev_type", name);
	r = vgpu_readlink_base(busfd, link, buf, sizeof(buf));
	if (r > 0)
		in->type_id = strdup(buf);
	else
		warn(ctx, "%s: no mdev_type link: %s", uuid,
		     strerror(r < 0 ? -r : EINVAL));
	snprintf(link, sizeof(link), "%s/iommu_group", name);
	if (vgpu_readlink_base(busfd, link, buf, sizeof(buf)) > 0 &&
	    vgpu_parse_long(buf, 10, 0, INT_MAX, &group) == 0)
		in->iommu_group = (int)group;
	*ret = in;
	return 0;
}

static int mdev_list_active(struct vgpu_ctx *ctx, const char *parent_id,
			    struct vgpu_vec *out)
{
	char *bdir = vgpu_path_join(ctx->sysfs_root, BUS_DIR);
	struct dirent *de;
	DIR *d;
	int r = 0;

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
	while ((de = readdir(d))) {
		struct vgpu_instance *in;

		if (de->d_name[0] == '.')
			continue;
		r = instance_from_bus(ctx, dirfd(d), bdir, de->d_name,
				      parent_id, &in);
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
		r = instance_from_bus(ctx, fd, bdir, uuid, NULL, ret);
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
