/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef UTIL_FILE_H
#define UTIL_FILE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Write @len bytes to @name in @dirfd atomically: the data goes to an
 * unnamed file (O_TMPFILE) in the same directory, is fsync'd, then linked
 * to @name, so a directory watcher sees @name appear once, complete, and
 * no temporary name at all. When @name exists and @replace is set, the
 * finished file is linked to a temporary name and renamed over @name
 * (a watcher sees that name appear and move, never written to). Without
 * @replace an existing @name gives -EEXIST, without a window in which two
 * writers both succeed. Where the file system has no O_TMPFILE, a named
 * temporary file is written instead. A crash leaves the old file or the
 * new one, never a torn one; a named temporary may be left behind
 * (vgpu_clean_stale_tmp()).
 */
int vgpu_write_file_atomic(int dirfd, const char *name, const void *data,
			   size_t len, bool replace);
/*
 * Write @len bytes to @name in @dirfd by way of @stagefd, a directory on
 * the same file system that no one watches: the data goes to an unnamed
 * file there (a named one without O_TMPFILE), gets the name
 * "@prefix.xxxxxxxx.tmp" there, and is renamed
 * into place (without replacing unless @replace), so a watcher of @dirfd
 * sees only the finished file move in (IN_MOVED_TO). Returns 0, -EEXIST,
 * -EXDEV when staging is impossible (another mount, no O_TMPFILE, no
 * permission: the caller writes another way), or another -errno.
 */
int vgpu_write_file_staged(int stagefd, const char *prefix, int dirfd,
			   const char *name, const void *data, size_t len,
			   bool replace);
/* delete ".NAME.xxxxxxxx.tmp" files (only those starting with @prefix,
 * unless NULL) older than @min_age seconds that a crashed writer left in
 * @dirfd; returns how many */
int vgpu_clean_stale_tmp(int dirfd, const char *prefix, unsigned int min_age);
/* mkdir -p below an open directory; 0 when it exists already */
int vgpu_mkdir_p(const char *path, unsigned int mode);

#endif
