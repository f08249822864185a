/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Cross-process locks in the runtime directory, so that two programs using
 * libvgpu (two vgpuctl runs, vgpuctl and a daemon) never interleave their
 * lifecycle steps on one parent; and locks on a definitions directory
 * itself, so that changes to definitions are serialised among everyone who
 * writes them, whatever their runtime directory. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "libvgpu-private.h"
#include "util-file.h"

int vgpu_lock_take(struct vgpu_ctx *ctx, const char *name)
{
	char *dir = NULL, *path = NULL;
	int fd, r;

	if (asprintf(&dir, "%s/locks", ctx->runtime_dir) < 0)
		return -ENOMEM;
	r = vgpu_mkdir_p(dir, 0755);
	if (r < 0) {
		err(ctx, "cannot create lock directory %s: %s", dir,
		    strerror(-r));
		free(dir);
		return r;
	}
	if (asprintf(&path, "%s/%s.lock", dir, name) < 0) {
		free(dir);
		return -ENOMEM;
	}
	free(dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		r = -errno;
		err(ctx, "cannot open lock %s: %s", path, strerror(-r));
		free(path);
		return r;
	}
	while (flock(fd, LOCK_EX) < 0) {
		if (errno == EINTR)
			continue;
		r = -errno;
		err(ctx, "cannot lock %s: %s", path, strerror(-r));
		close(fd);
		free(path);
		return r;
	}
	dbg(ctx, "locked %s", path);
	free(path);
	return fd;
}

void vgpu_lock_release(int fd)
{
	if (fd >= 0)
		close(fd);
}

int vgpu_lock_dir(struct vgpu_ctx *ctx, const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r;

	if (fd < 0) {
		r = -errno;
		err(ctx, "cannot open %s to lock it: %s", dir, strerror(-r));
		return r;
	}
	while (flock(fd, LOCK_EX) < 0) {
		if (errno == EINTR)
			continue;
		r = -errno;
		err(ctx, "cannot lock %s: %s", dir, strerror(-r));
		close(fd);
		return r;
	}
	return fd;
}
