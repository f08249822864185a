/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Shared fixture for the Check suites: a private fake host per test. */
#ifndef TEST_COMMON_H
#define TEST_COMMON_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>
#include <check.h>

#include <libvgpu.h>
#include "check-run.h"
#include "fake-tree.h"

#define EXIT_SKIP 77

struct fixture {
	char dir[PATH_MAX];	/* private temporary directory */
	char backing[PATH_MAX]; /* where the tree is built */
	char sysroot[PATH_MAX]; /* what the context reads as sysfs */
	char config[PATH_MAX];
	char runtime[PATH_MAX];
	struct fake_tree *tree;
	pid_t daemon;
	bool live;
	struct vgpu_ctx *ctx;
	char log[8192]; /* the context's log, for assertions */
	size_t log_len;
};

extern struct fixture fx;

/* a temporary tree (and a context reading it), not yet live */
void fixture_setup(void);
/* mount the tree through vgpu-fakesysfs so it behaves like the kernel;
 * the test process exits 77 if that is impossible */
void fixture_go_live(void);
void fixture_teardown(void);
/* whether vgpu-fakesysfs can be mounted here (probed once) */
bool fixture_can_go_live(void);

/* a host with one GVT-g parent (2 types), one NVIDIA-style parent, one
 * mtty-like parent without description, a css and an ap parent */
void fixture_standard_host(void);

#endif
