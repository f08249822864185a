/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "util-file.h"

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* a named temporary file ".NAME.xxxxxxxx.tmp" in @dirfd, into @tmp */
static int open_named_tmp(int dirfd, const char *name, char tmp[300])
{
	unsigned int rnd = 0;
	int fd = -1;

	for (int tries = 0; tries < 100; tries++) {
		if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) < 0)
			rnd = (unsigned int)getpid() * 2654435761u +
			      (unsigned int)tries;
		snprintf(tmp, 300, ".%s.%08x.tmp", name, rnd);
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			    0644);
		if (fd >= 0 || errno != EEXIST)
			break;
	}
	return fd < 0 ? -errno : fd;
}

/* give the unnamed file @fd the name @name in @dirfd */
static int link_tmpfile(int fd, int dirfd, const char *name)
{
	char proc[64];

	if (linkat(fd, "", dirfd, name, AT_EMPTY_PATH) == 0)
		return 0;
	/* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; /proc does not */
	if (errno != ENOENT && errno != EPERM && errno != EINVAL)
		return -errno;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	return linkat(AT_FDCWD, proc, dirfd, name, AT_SYMLINK_FOLLOW) < 0
		       ? -errno
		       : 0;
}

/* the data in a file without a name (O_TMPFILE), or -EOPNOTSUPP */
static int write_unnamed(int dirfd, const void *data, size_t len)
{
	int fd = openat(dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
	int r;

	if (fd < 0)
		/* file systems without O_TMPFILE say so in several ways */
		return errno == EISDIR || errno == EOPNOTSUPP ||
				       errno == EINVAL || errno == ENOENT
			       ? -EOPNOTSUPP
			       : -errno;
	r = write_all(fd, data, len);
	if (!r && fsync(fd) < 0)
		r = -errno;
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

int vgpu_write_file_atomic(int dirfd, const char *name, const void *data,
			   size_t len, bool replace)
{
	char tmp[300];
	int fd, r;

	if (strlen(name) > 200)
		return -ENAMETOOLONG;
	fd = write_unnamed(dirfd, data, len);
	if (fd >= 0) {
		/* a new name appears once, complete: one event for a watcher */
		r = link_tmpfile(fd, dirfd, name);
		if (r == -EEXIST && replace) {
			/* replacing needs a name to rename from; it appears
			 * with its data already written */
			r = -EEXIST;
			for (int tries = 0; r == -EEXIST && tries < 100;
			     tries++) {
				unsigned int rnd = 0;

				if (getrandom(&rnd, sizeof(rnd),
					      GRND_NONBLOCK) < 0)
					rnd = (unsigned int)getpid() *
						      2654435761u +
					      (unsigned int)tries;
				snprintf(tmp, sizeof(tmp), ".%s.%08x.tmp", name,
					 rnd);
				r = link_tmpfile(fd, dirfd, tmp);
			}
			if (!r && renameat(dirfd, tmp, dirfd, name) < 0) {
				r = -errno;
				unlinkat(dirfd, tmp, 0);
			}
		}
		close(fd);
		if (r != -EOPNOTSUPP && r != -ENOSYS && r != -EXDEV) {
			if (!r)
				fsync(dirfd);
			return r;
		}
	} else if (fd != -EOPNOTSUPP) {
		return fd;
	}

	/* no O_TMPFILE here: a named temporary file, as before */
	fd = open_named_tmp(dirfd, name, tmp);
	if (fd < 0)
		return fd;
	r = write_all(fd, data, len);
	if (!r && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && !r && errno != EINTR)
		r = -errno;
	if (!r) {
		if (replace) {
			if (renameat(dirfd, tmp, dirfd, name) < 0)
				r = -errno;
		} else if (renameat2(dirfd, tmp, dirfd, name,
				     RENAME_NOREPLACE) < 0) {
			/* a rename in is one event for a watcher, a link two */
			r = -errno;
			if (r == -EINVAL)
				r = linkat(dirfd, tmp, dirfd, name, 0) < 0
					    ? -errno
					    : 1;
		}
	}
	if (r != 0)
		unlinkat(dirfd, tmp, 0);
	if (r > 0)
		r = 0;
	if (!r)
		fsync(dirfd);
	return r;
}

/* whether a rename between the two directories can work: the same mount
 * (a bind mount of the same file system is another one) */
static bool same_mount(int a, int b)
{
	struct statx sa, sb;

	if (statx(a, "", AT_EMPTY_PATH, STATX_MNT_ID, &sa) < 0 ||
	    statx(b, "", AT_EMPTY_PATH, STATX_MNT_ID, &sb) < 0)
		return true; /* cannot tell: the rename will */
	if (sa.stx_dev_major != sb.stx_dev_major ||
	    sa.stx_dev_minor != sb.stx_dev_minor)
		return false;
	return !(sa.stx_mask & sb.stx_mask & STATX_MNT_ID) ||
	       sa.stx_mnt_id == sb.stx_mnt_id;
}

int vgpu_write_file_staged(int stagefd, const char *prefix, int dirfd,
			   const char *name, const void *data, size_t len,
			   bool replace)
{
	char tmp[300];
	int fd, r = -EEXIST;

	if (strlen(prefix) > 200)
		return -ENAMETOOLONG;
	if (!same_mount(stagefd, dirfd))
		return -EXDEV;
	fd = write_unnamed(stagefd, data, len);
	if (fd >= 0) {
		for (int tries = 0; r == -EEXIST && tries < 100; tries++) {
			unsigned int rnd = 0;

			if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) < 0)
				rnd = (unsigned int)getpid() * 2654435761u +
				      (unsigned int)tries;
			snprintf(tmp, sizeof(tmp), "%s.%08x.tmp", prefix, rnd);
			r = link_tmpfile(fd, stagefd, tmp);
		}
		/* closed (IN_CLOSE_WRITE) where nobody watches */
		close(fd);
	} else if (fd == -EOPNOTSUPP) {
		/* no O_TMPFILE (overlayfs before Linux 6.6): a named file, as
		 * nobody watches here either */
		for (int tries = 0; r == -EEXIST && tries < 100; tries++) {
			unsigned int rnd = 0;

			if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) < 0)
				rnd = (unsigned int)getpid() * 2654435761u +
				      (unsigned int)tries;
			snprintf(tmp, sizeof(tmp), "%s.%08x.tmp", prefix, rnd);
			fd = openat(stagefd, tmp,
				    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
				    0644);
			r = fd < 0 ? -errno : 0;
		}
		if (!r) {
			r = write_all(fd, data, len);
			if (!r && fsync(fd) < 0)
				r = -errno;
			if (close(fd) < 0 && !r && errno != EINTR)
				r = -errno;
			if (r < 0)
				unlinkat(stagefd, tmp, 0);
		}
	} else {
		return fd == -EPERM || fd == -EACCES || fd == -EROFS ? -EXDEV
								     : fd;
	}
	if (r < 0)
		return r == -EPERM || r == -EACCES || r == -EROFS ? -EXDEV : r;
	if (replace)
		r = renameat(stagefd, tmp, dirfd, name) < 0 ? -errno : 0;
	else
		r = renameat2(stagefd, tmp, dirfd, name, RENAME_NOREPLACE) < 0
			    ? -errno
			    : 0;
	if (r == -EINVAL && !replace)
		/* no RENAME_NOREPLACE here: a link does not replace either */
		r = linkat(stagefd, tmp, dirfd, name, 0) < 0 ? -errno : 1;
	if (r != 0)
		unlinkat(stagefd, tmp, 0);
	if (r >= 0) {
		fsync(dirfd);
		r = 0;
	}
	return r;
}

/*
 * Delete the ".NAME.xxxxxxxx.tmp" files a writer that crashed between
 * writing and renaming left in @dirfd (older than @min_age seconds, so that
 * a writer at work keeps its file). Returns how many were deleted.
 */
int vgpu_clean_stale_tmp(int dirfd, const char *prefix, unsigned int min_age)
{
	struct timespec now;
	struct dirent *de;
	int dfd, n = 0;
	DIR *d;

	dfd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return -errno;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		struct stat st;

		/* ".<name>.xxxxxxxx.tmp": at least 1 + 1 + 1 + 8 + 4 */
		if (prefix && strncmp(de->d_name, prefix, strlen(prefix)))
			continue;
		if (de->d_name[0] != '.' || len < 15 ||
		    strcmp(de->d_name + len - 4, ".tmp") ||
		    de->d_name[len - 13] != '.')
			continue;
		if (strspn(de->d_name + len - 12, "0123456789abcdef") != 8)
			continue;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode) ||
		    st.st_mtim.tv_sec + (time_t)min_age > now.tv_sec)
			continue;
		if (unlinkat(dirfd, de->d_name, 0) == 0)
			n++;
	}
	closedir(d);
	return n;
}

int vgpu_mkdir_p(const char *path, unsigned int mode)
{
	char *copy = strdup(path);
	int r = 0;

	if (!copy)
		return -ENOMEM;
	for (char *p = copy + 1;; p++) {
		if (*p != '/' && *p)
			continue;
		char c = *p;

		*p = '\0';
		if (mkdir(copy, mode) < 0 && errno != EEXIST) {
			r = -errno;
			break;
		}
		*p = c;
		if (!c)
			break;
	}
	free(copy);
	return r;
}
