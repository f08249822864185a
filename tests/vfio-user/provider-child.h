/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A provider served from a forked child, for the tests and benchmarks that
 * need one (sim-device.c, mem-provider.c): started once it serves, stopped
 * with SIGTERM, its descriptors and memory read from /proc.
 */
#ifndef PROVIDER_CHILD_H
#define PROVIDER_CHILD_H

#include <stdint.h>
#include <sys/types.h>

/*
 * Fork; the child runs @fn(@arg, ready_fd), which writes one byte to
 * ready_fd and closes it once it serves, and exits with @fn's result.
 * Returns the child's pid once that byte came and the child's end of the
 * pipe is closed (so its descriptors are settled), or -1.
 */
pid_t child_start(int (*fn)(void *arg, int ready_fd), void *arg);
/* SIGTERM and reap it; its exit status (0 = clean, 128 + n = signal n) */
int child_stop(pid_t pid);
/* open descriptors of process @pid, or -1 */
int child_fds(pid_t pid);
/* resident bytes of process @pid (0 when unknown) */
uint64_t child_rss(pid_t pid);

#endif
