/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the verbs of vgpuctl share (vgpuctl.c, vgpuctl-device.c). */
#ifndef VGPUCTL_H
#define VGPUCTL_H

#include <getopt.h>
#include <stdbool.h>

#include <libvgpu.h>

#include "util-json.h"

#define EXIT_USAGE 2
#define EXIT_NOTFOUND 3
#define EXIT_CONFLICT 4

struct opts {
	bool json;
	const char *sysfs_root;
	const char *config_dir;
	const char *runtime_dir;
	int verbose;
};

void __attribute__((format(printf, 1, 2))) fail_msg(const char *fmt, ...);
/* the exit status for a library error */
int exit_for(int r);
int __attribute__((format(printf, 2, 3)))
usage_error(const char *verb, const char *fmt, ...);
void print_json(struct jw *j);
/* getopt_long over @extra plus --json and --help */
int parse_common(int argc, char **argv, const struct option *extra,
		 const char *shortopts,
		 int (*handle)(int c, const char *arg, void *data), void *data,
		 struct opts *o);
bool looks_like_uuid(const char *s);

/* device verbs (vgpuctl-device.c) */
int cmd_regions(struct vgpu_ctx *ctx, const struct opts *go, int argc,
		char **argv);
int cmd_irqs(struct vgpu_ctx *ctx, const struct opts *go, int argc,
	     char **argv);
int cmd_screenshot(struct vgpu_ctx *ctx, const struct opts *go, int argc,
		   char **argv);
int cmd_migration(struct vgpu_ctx *ctx, const struct opts *go, int argc,
		  char **argv);

/* vgpuctl-vnc.c */
int cmd_vnc(struct vgpu_ctx *ctx, const struct opts *go, int argc, char **argv);

#endif
