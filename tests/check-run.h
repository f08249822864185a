/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one way every test program runs its Check suite. */
#ifndef VGPU_CHECK_RUN_H
#define VGPU_CHECK_RUN_H

#include <check.h>

/* run every test of @s (forked, as Check does by default) and free it:
 * EXIT_SUCCESS when all passed, else EXIT_FAILURE */
int run_suite(Suite *s);

#endif
