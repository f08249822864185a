/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The send lock of a connection (struct vgpu_device's send_lock, see
 * provider-private.h): an int, 0 free, 1 taken, 2 taken and a thread may
 * be waiting for it. Taking and releasing it uncontended is one atomic
 * instruction each, where a pthread mutex pair costs some 55 instructions
 * in the C library, and every reply takes it; a thread that finds it taken
 * sleeps in the kernel (futex) like a mutex would. The classic three-state
 * futex mutex; not recursive, no owner, nothing to destroy. The slow
 * paths are in conn.c.
 */
#ifndef VGPU_SEND_LOCK_H
#define VGPU_SEND_LOCK_H

#include <stdbool.h>

/* taken (@seen: what the fast path found): mark it as waited for and
 * sleep until it is free */
void send_lock_wait(int *lock, int seen);
/* released while a thread may wait: wake one */
void send_lock_wake(int *lock);

static inline void send_lock_take(int *lock)
{
	int c = 0;

	if (!__atomic_compare_exchange_n(lock, &c, 1, false, __ATOMIC_ACQUIRE,
					 __ATOMIC_RELAXED))
		send_lock_wait(lock, c);
}

static inline void send_lock_drop(int *lock)
{
	if (__atomic_exchange_n(lock, 0, __ATOMIC_RELEASE) == 2)
		send_lock_wake(lock);
}

#endif
