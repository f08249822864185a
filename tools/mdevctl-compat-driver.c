/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Stand-in entry point for the mdevctl personality until vgpuctl.c has it. */
#include <string.h>

#include "mdevctl-compat.h"

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "mdevctl") == 0)
		return mdevctl_compat_main(argc - 1, argv + 1, false);
	return mdevctl_compat_main(argc, argv,
				   mdevctl_compat_personality(argv[0]) == 2);
}
