/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/random.h>
#include <unistd.h>

#include "util-file.h"

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int vgpu_write_file_atomic(int dirfd, const char *name, const void *data,
			   size_t len, bool replace)
{
	char tmp[300];
	unsigned int rnd = 0;
	int fd = -1, r;

	if (strlen(name) > 200)
		return -ENAMETOOLONG;
	for (int tries = 0; tries < 100; tries++) {
		if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) < 0)
			rnd = (unsigned int)getpid() * 2654435761u + (unsigned int)tries;
		snprintf(tmp, sizeof(tmp), ".%s.%08x.tmp", name, rnd);
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			    0644);
		if (fd >= 0 || errno != EEXIST)
			break;
	}
	if (fd < 0)
		return -errno;
	r = write_all(fd, data, len);
	if (!r && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && !r && errno != EINTR)
		r = -errno;
	if (!r) {
		if (replace) {
			if (renameat(dirfd, tmp, dirfd, name) < 0)
				r = -errno;
		} else {
			if (linkat(dirfd, tmp, dirfd, name, 0) < 0)
				r = -errno;
		}
	}
	if (r < 0 || !replace)
		unlinkat(dirfd, tmp, 0);
	if (!r)
		fsync(dirfd);
	return r;
}

int vgpu_mkdir_p(const char *path, unsigned int mode)
{
	char *copy = strdup(path);
	int r = 0;

	if (!copy)
		return -ENOMEM;
	for (char *p = copy + 1; ; p++) {
		if (*p != '/' && *p)
			continue;
		char c = *p;

		*p = '\0';
		if (mkdir(copy, mode) < 0 && errno != EEXIST) {
			r = -errno;
			break;
		}
		*p = c;
		if (!c)
			break;
	}
	free(copy);
	return r;
}
