/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fake-mount: start / stop vgpu-fakesysfs from a test.
 *
 *	pid_t pid;
 *	int r = fake_mount_start(backing, mnt, daemon, &pid);
 *	if (r == -EOPNOTSUPP)
 *		return 77;	// no FUSE here: skip
 *	...
 *	fake_mount_stop(mnt, pid);
 *
 * The environment variable VGPU_FAKESYSFS_WRAPPER, if set, is split on
 * spaces and prepended to the daemon's command line (e.g.
 * "valgrind --error-exitcode=1 --leak-check=full"); the mount wait is then
 * longer.
 */
#ifndef FAKE_MOUNT_H
#define FAKE_MOUNT_H

#include <sys/types.h>

/*
 * Spawn DAEMON_PATH BACKING MOUNTPOINT -f [EXTRA_ARGS...] and wait until
 * MOUNTPOINT is a mount (its st_dev changes), at most ~10 s (60 s with a
 * wrapper).  Returns 0 and the daemon pid in *RET; -EOPNOTSUPP when
 * /dev/fuse is unusable or the daemon exited without mounting (mounting
 * refused); -ETIMEDOUT (daemon killed) or another negative errno otherwise.
 * EXTRA_ARGS is NULL-terminated and may be NULL.
 */
int fake_mount_start_args(const char *backing, const char *mountpoint,
			  const char *daemon_path,
			  const char *const *extra_args, pid_t *ret);
int fake_mount_start(const char *backing, const char *mountpoint,
		     const char *daemon_path, pid_t *ret);

/*
 * Unmount MOUNTPOINT (umount2(MNT_DETACH) as root, else fusermount3 -u -z)
 * and reap PID (SIGTERM after 10 s, then SIGKILL).  Returns 0 if the
 * daemon exited with status 0, -EPROTO if it exited non-zero or was
 * killed by a signal, another negative errno on failure.
 */
int fake_mount_stop(const char *mountpoint, pid_t pid);

#endif /* FAKE_MOUNT_H */
