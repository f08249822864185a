/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The connection's send lock (lib/provider/send-lock.h): threads that take
 * it in turn, most of them finding it taken, never overlap inside it and
 * none is left sleeping; a single thread takes and drops it without the
 * slow paths.
 */
#include <check.h>
#include <pthread.h>
#include <sched.h>

#include "check-run.h"
#include "send-lock.h"

#define THREADS 4
#define ROUNDS	20000

static int lock;
static unsigned long counter; /* only under the lock */
static int inside;	      /* threads inside: never more than one */
static int overlaps;

static void *worker(void *data)
{
	(void)data;
	for (int i = 0; i < ROUNDS; i++) {
		send_lock_take(&lock);
		if (__atomic_add_fetch(&inside, 1, __ATOMIC_RELAXED) != 1)
			__atomic_add_fetch(&overlaps, 1, __ATOMIC_RELAXED);
		/* a read-modify-write that loses updates without the lock */
		unsigned long v = counter;

		if (i % 64 == 0)
			sched_yield(); /* held while another thread runs */
		counter = v + 1;
		__atomic_sub_fetch(&inside, 1, __ATOMIC_RELAXED);
		send_lock_drop(&lock);
	}
	return NULL;
}

START_TEST(test_contended)
{
	pthread_t t[THREADS];

	for (int i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, worker, NULL), 0);
	for (int i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
	ck_assert_int_eq(overlaps, 0);
	ck_assert_uint_eq(counter, (unsigned long)THREADS * ROUNDS);
	ck_assert_int_eq(lock, 0); /* free, nobody marked as waiting */
}
END_TEST

START_TEST(test_uncontended)
{
	int l = 0;

	send_lock_take(&l);
	ck_assert_int_eq(l, 1);
	send_lock_drop(&l);
	ck_assert_int_eq(l, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("send-lock");
	TCase *tc = tcase_create("lock");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_uncontended);
	tcase_add_test(tc, test_contended);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
