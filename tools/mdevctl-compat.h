/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mdevctl 1.2 personality of vgpuctl: a drop-in for /usr/sbin/mdevctl and
 * lsmdev, built only on the public libvgpu API.  See docs/mdevctl-compat.md.
 */
#ifndef VGPUCTL_MDEVCTL_COMPAT_H
#define VGPUCTL_MDEVCTL_COMPAT_H

#include <stdbool.h>

/*
 * mdevctl_compat_personality - which personality argv[0] asks for
 * Returns 1 for "mdevctl", 2 for "lsmdev" (the basename ends with "lsmdev",
 * as mdevctl checks), 0 otherwise.
 */
int mdevctl_compat_personality(const char *argv0);

/*
 * mdevctl_compat_main - run an mdevctl (or lsmdev when @as_lsmdev) command
 * line; argv[0] is the program name, argv[1] the subcommand (mdevctl) or the
 * first option (lsmdev).  Returns the process exit status: 0, 1 for runtime
 * errors, 2 for command-line errors, like mdevctl.
 */
int mdevctl_compat_main(int argc, char **argv, bool as_lsmdev);

#endif
