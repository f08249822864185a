/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util-sysfs.h"

int vgpu_read_attr(int dirfd, const char *name, char *buf, size_t size)
{
	size_t len = 0;
	int fd, r = 0;

	if (size < 2)
		return -EINVAL;
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n;

		if (len == size - 1) {
			char extra;

			/* full: only fine if the file ends here */
			n = read(fd, &extra, 1);
			if (n > 0)
				r = -EFBIG;
			else if (n < 0 && errno != EINTR)
				r = -errno;
			else if (n < 0)
				continue;
			break;
		}
		n = read(fd, buf + len, size - 1 - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		/* a sysfs attribute comes whole in one read, and a regular
		 * file reads short only at its end: spare the read of EOF */
		if (len < size - 1)
			break;
	}
	close(fd);
	if (r < 0)
		return r;
	buf[len] = '\0';
	if (memchr(buf, '\0', len))
		return -EBADMSG;
	while (len && buf[len - 1] == '\n')
		buf[--len] = '\0';
	return (int)len;
}

int vgpu_read_attr_alloc(int dirfd, const char *name, char **ret)
{
	char buf[VGPU_ATTR_MAX + 1];
	int r = vgpu_read_attr(dirfd, name, buf, sizeof(buf));

	if (r < 0)
		return r;
	*ret = strdup(buf);
	return *ret ? r : -ENOMEM;
}

int vgpu_parse_long(const char *s, int base, long min, long max, long *ret)
{
	const char *p = s;
	char *end;
	long v;

	while (*p == ' ' || *p == '\t')
		p++;
	if (!*p || *p == '\n')
		return -EINVAL;
	if (base == 16 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	if (!((*p >= '0' && *p <= '9') || *p == '-' ||
	      (base == 16 &&
	       ((*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F')))))
		return -EINVAL;
	errno = 0;
	v = strtol(p, &end, base);
	if (errno == ERANGE)
		return -ERANGE;
	if (end == p)
		return -EINVAL;
	if (*end == '\n')
		end++;
	if (*end)
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

int vgpu_read_attr_long(int dirfd, const char *name, int base, long min,
			long max, long *ret)
{
	char buf[64];
	int r = vgpu_read_attr(dirfd, name, buf, sizeof(buf));

	if (r < 0)
		return r;
	return vgpu_parse_long(buf, base, min, max, ret);
}

int vgpu_readlink_base(int dirfd, const char *name, char *buf, size_t size)
{
	char target[PATH_MAX];
	ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);
	const char *base;
	size_t len;

	if (n < 0)
		return -errno;
	target[n] = '\0';
	while (n > 1 && target[n - 1] == '/')
		target[--n] = '\0';
	base = strrchr(target, '/');
	base = base ? base + 1 : target;
	len = strlen(base);
	if (!len || len >= size)
		return -ENAMETOOLONG;
	memcpy(buf, base, len + 1);
	return (int)len;
}

int vgpu_write_attr(int dirfd, const char *name, const char *value)
{
	size_t len = strlen(value);
	ssize_t n;
	int fd, r = 0;

	fd = openat(dirfd, name, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	do
		n = write(fd, value, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		r = -errno;
	else if ((size_t)n != len)
		r = -EIO;
	if (close(fd) < 0 && !r && errno != EINTR)
		r = -errno;
	return r;
}

char *vgpu_path_join(const char *a, const char *b)
{
	/* once per listed object: no printf */
	size_t la = strlen(a), lb = strlen(b);
	char *p = malloc(la + lb + 2);

	if (!p)
		return NULL;
	memcpy(p, a, la);
	p[la] = '/';
	memcpy(p + la + 1, b, lb + 1);
	return p;
}

int vgpu_dir_open(int dirfd, const char *path, struct vgpu_dir *d)
{
	*d = (struct vgpu_dir){ .fd = -1 };
	d->buf = malloc(VGPU_DIR_BUF);
	if (!d->buf)
		return -ENOMEM;
	d->fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->fd < 0) {
		int r = -errno;

		free(d->buf);
		d->buf = NULL;
		return r;
	}
	return 0;
}

const struct dirent64 *vgpu_dir_next(struct vgpu_dir *d)
{
	for (;;) {
		const struct dirent64 *de;

		if (d->pos >= d->len) {
			ssize_t n;

			if (d->fd < 0 || d->end)
				return NULL;
			n = getdents64(d->fd, d->buf, VGPU_DIR_BUF);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				d->err = n < 0 ? -errno : 0;
				d->end = true;
				d->len = d->pos = 0;
				return NULL;
			}
			d->len = (size_t)n;
			d->pos = 0;
		}
		de = (const struct dirent64 *)(void *)(d->buf + d->pos);
		/* record lengths come from the kernel; one that does not fit
		 * what it returned would be its bug: stop there */
		if (de->d_reclen <= offsetof(struct dirent64, d_name) ||
		    de->d_reclen > d->len - d->pos) {
			d->err = -EIO;
			d->end = true;
			d->len = d->pos = 0;
			return NULL;
		}
		d->pos += de->d_reclen;
		if (de->d_name[0] == '.' &&
		    (!de->d_name[1] ||
		     (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		return de;
	}
}

void vgpu_dir_close(struct vgpu_dir *d)
{
	if (d->fd >= 0)
		close(d->fd);
	free(d->buf);
	*d = (struct vgpu_dir){ .fd = -1 };
}
