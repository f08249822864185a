/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reading and writing sysfs attributes relative to a directory descriptor.
 * Every reader is bounded: a file larger than the buffer is an error
 * (-EFBIG), never a silent truncation, and never an unbounded allocation.
 */
#ifndef UTIL_SYSFS_H
#define UTIL_SYSFS_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>

/* largest attribute we accept (sysfs attributes are at most one page,
 * vendor descriptions included; anything bigger is not a sysfs attribute) */
#define VGPU_ATTR_MAX 8192

/* read @name into @buf (NUL-terminated, trailing newlines stripped);
 * returns the length, -EFBIG when it does not fit */
int vgpu_read_attr(int dirfd, const char *name, char *buf, size_t size);
/* as vgpu_read_attr(), into a malloc'd string */
int vgpu_read_attr_alloc(int dirfd, const char *name, char **ret);
/* a whole decimal or 0x-hex number with optional trailing newline;
 * -EINVAL for anything else, -ERANGE when it does not fit @min..@max */
int vgpu_read_attr_long(int dirfd, const char *name, int base, long min,
			long max, long *ret);
/* the last component of the link @name, into @buf */
int vgpu_readlink_base(int dirfd, const char *name, char *buf, size_t size);
/* write @value to @name in a single write(2), as sysfs requires */
int vgpu_write_attr(int dirfd, const char *name, const char *value);
/* strict number parsing shared by the readers: whole string, base 10 or 16
 * (0x prefix optional for 16), optional trailing newline */
int vgpu_parse_long(const char *s, int base, long min, long max, long *ret);
/* @a + "/" + @b, malloc'd */
char *vgpu_path_join(const char *a, const char *b);

/*
 * A directory read with getdents64(2) straight into a large buffer: for the
 * hundreds of directories of a listing, none of the fstat and two fcntl
 * calls fdopendir() makes, and the descriptor stays the caller's idea of
 * the directory (for openat and friends).
 */
struct vgpu_dir {
	int fd;
	int err;  /* a negative errno when reading failed, else 0 */
	bool end; /* read to the end (or failed) */
	size_t pos, len;
	char *buf; /* VGPU_DIR_BUF bytes */
};
#define VGPU_DIR_BUF 32768
/* open @path relative to @dirfd (O_DIRECTORY, O_CLOEXEC); -errno */
int vgpu_dir_open(int dirfd, const char *path, struct vgpu_dir *d);
/* the next entry but "." and "..", or NULL at the end or on error (then
 * d->err says which) */
const struct dirent64 *vgpu_dir_next(struct vgpu_dir *d);
void vgpu_dir_close(struct vgpu_dir *d);

#endif
