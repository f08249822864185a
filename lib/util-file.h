/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef UTIL_FILE_H
#define UTIL_FILE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Write @len bytes to @name in @dirfd atomically: the data goes to a
 * temporary file in the same directory, is fsync'd, then renamed over @name
 * (@replace) or hard-linked to it (!@replace, which fails with -EEXIST when
 * @name exists, without a window in which two writers both succeed).
 * A crash leaves the old file or the new one, never a torn one.
 */
int vgpu_write_file_atomic(int dirfd, const char *name, const void *data,
			   size_t len, bool replace);
/* mkdir -p below an open directory; 0 when it exists already */
int vgpu_mkdir_p(const char *path, unsigned int mode);

#endif
