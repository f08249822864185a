/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The real system calls behind struct vgpu_vfio_sys. */
#include <fcntl.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "device-private.h"

static int sys_open(void *data, const char *path, int flags)
{
	(void)data;
	return open(path, flags);
}

static int sys_close(void *data, int fd)
{
	(void)data;
	return close(fd);
}

static int sys_ioctl(void *data, int fd, unsigned long request, void *arg)
{
	(void)data;
	return ioctl(fd, request, arg);
}

static ssize_t sys_pread(void *data, int fd, void *buf, size_t len, off_t off)
{
	(void)data;
	return pread(fd, buf, len, off);
}

static ssize_t sys_pwrite(void *data, int fd, const void *buf, size_t len,
			  off_t off)
{
	(void)data;
	return pwrite(fd, buf, len, off);
}

static void *sys_mmap(void *data, size_t len, int prot, int fd, off_t off)
{
	(void)data;
	return mmap(NULL, len, prot, MAP_SHARED, fd, off);
}

static ssize_t sys_read(void *data, int fd, void *buf, size_t len)
{
	(void)data;
	return read(fd, buf, len);
}

static ssize_t sys_write(void *data, int fd, const void *buf, size_t len)
{
	(void)data;
	return write(fd, buf, len);
}

const struct vgpu_vfio_sys vgpu_vfio_sys_default = {
	.read = sys_read,
	.write = sys_write,
	.open = sys_open,
	.close = sys_close,
	.ioctl = sys_ioctl,
	.pread = sys_pread,
	.pwrite = sys_pwrite,
	.mmap = sys_mmap,
};
