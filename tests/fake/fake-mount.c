// SPDX-License-Identifier: LGPL-2.1-or-later
/* fake-mount: spawn and stop vgpu-fakesysfs for tests (see fake-mount.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "fake-mount.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WRAPPER_ENV "VGPU_FAKESYSFS_WRAPPER"

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = {
		.tv_sec = ms / 1000,
		.tv_nsec = (long)(ms % 1000) * 1000000L,
	};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int fuse_usable(void)
{
	int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -EOPNOTSUPP;
	close(fd);
	return 0;
}

/* Wait up to MS for PID; returns 1 and *STATUS if it exited, else 0. */
static int wait_ms(pid_t pid, unsigned int ms, int *status)
{
	unsigned int waited = 0;

	for (;;) {
		pid_t w = waitpid(pid, status, WNOHANG);

		if (w == pid)
			return 1;
		if (w < 0 && errno != EINTR)
			return -errno;
		if (waited >= ms)
			return 0;
		sleep_ms(10);
		waited += 10;
	}
}

int fake_mount_start_args(const char *backing, const char *mountpoint,
			  const char *daemon_path,
			  const char *const *extra_args, pid_t *ret)
{
	const char *wrapper = getenv(WRAPPER_ENV);
	unsigned int timeout_ms = 10000, waited = 0;
	char *wcopy = NULL, *tok, *save = NULL;
	size_t n = 0, cap = 8;
	struct stat before, now;
	char **argv;
	pid_t pid;
	int r, status;

	if (!backing || !mountpoint || !daemon_path || !ret)
		return -EINVAL;
	r = fuse_usable();
	if (r < 0)
		return r;
	if (stat(mountpoint, &before) < 0)
		return -errno;
	if (access(daemon_path, X_OK) < 0)
		return -errno;

	if (wrapper && *wrapper) {
		wcopy = strdup(wrapper);
		if (!wcopy)
			return -ENOMEM;
		cap += strlen(wrapper) / 2 + 1;
		timeout_ms = 60000;
	}
	for (const char *const *e = extra_args; e && *e; e++)
		cap++;
	argv = calloc(cap, sizeof(*argv));
	if (!argv) {
		free(wcopy);
		return -ENOMEM;
	}
	if (wcopy)
		for (tok = strtok_r(wcopy, " ", &save); tok;
		     tok = strtok_r(NULL, " ", &save))
			argv[n++] = tok;
	argv[n++] = (char *)daemon_path;
	argv[n++] = (char *)backing;
	argv[n++] = (char *)mountpoint;
	argv[n++] = "-f";
	for (const char *const *e = extra_args; e && *e; e++)
		argv[n++] = (char *)*e;
	argv[n] = NULL;

	pid = fork();
	if (pid < 0) {
		r = -errno;
		goto out;
	}
	if (pid == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}

	for (;;) {
		r = wait_ms(pid, 0, &status);
		if (r == 1) {
			/* exited before mounting: exec failure or refused */
			r = WIFEXITED(status) && WEXITSTATUS(status) == 127
				    ? -ENOEXEC
				    : -EOPNOTSUPP;
			goto out;
		}
		if (stat(mountpoint, &now) == 0 &&
		    now.st_dev != before.st_dev) {
			*ret = pid;
			r = 0;
			goto out;
		}
		if (waited >= timeout_ms)
			break;
		sleep_ms(10);
		waited += 10;
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	umount2(mountpoint, MNT_DETACH);
	r = -ETIMEDOUT;
out:
	free(argv);
	free(wcopy);
	return r;
}

int fake_mount_start(const char *backing, const char *mountpoint,
		     const char *daemon_path, pid_t *ret)
{
	return fake_mount_start_args(backing, mountpoint, daemon_path, NULL,
				     ret);
}

static int run_fusermount(const char *mountpoint)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		execlp("fusermount3", "fusermount3", "-u", "-z", mountpoint,
		       (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

int fake_mount_stop(const char *mountpoint, pid_t pid)
{
	unsigned int timeout_ms = getenv(WRAPPER_ENV) ? 60000 : 10000;
	int status = 0, r, ur = 0;

	if (!mountpoint || pid <= 0)
		return -EINVAL;
	if (geteuid() == 0) {
		if (umount2(mountpoint, MNT_DETACH) < 0)
			ur = -errno;
	} else {
		ur = run_fusermount(mountpoint);
	}

	r = wait_ms(pid, ur < 0 ? 0 : timeout_ms, &status);
	if (r == 0) {
		kill(pid, SIGTERM);
		r = wait_ms(pid, 2000, &status);
	}
	if (r == 0) {
		kill(pid, SIGKILL);
		if (waitpid(pid, &status, 0) < 0)
			return -errno;
		r = 1;
	}
	if (r < 0)
		return r;
	if (ur < 0)
		return ur;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -EPROTO;
	return 0;
}
