// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * vgpu-fakesysfs: FUSE passthrough of a fake-tree directory that runs the
 * kernel's behaviour for the dynamic sysfs files synchronously inside
 * write(), so the writer gets the kernel's errno from write(2).
 *
 *   vgpu-fakesysfs BACKING MOUNTPOINT [-f] [-d] [-s] [-o opt,...]
 *                  [--log FILE] [--create-delay-ms N]
 *
 * Kernel-like rules applied to regular files under sys/:
 *  - opening for reading a file without any read bit (create, remove,
 *    bind, unbind: mode 0200) fails with EACCES, even for root, as kernfs
 *    does for attributes without show(); opening for writing a file
 *    without any write bit (available_instances ...) fails with EACCES;
 *  - dynamic attributes (see fake_tree_attr_kind()) ignore O_TRUNC,
 *    truncate() and the write offset; each write(2) is one store() of at
 *    most 4096 bytes (larger writes are short, like sysfs's PAGE_SIZE);
 *  - read/write on an open sys/ file whose backing file has been removed
 *    (e.g. a second write to "remove" on the same fd) fails with ENODEV;
 *  - everything else is a plain passthrough.
 * Names starting with ".fake-" and ".in-use" are hidden from readdir.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#define FUSE_USE_VERSION 31
#include <fuse.h>

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fake-tree.h"

#define STORE_MAX 4096 /* kernfs: one store per PAGE_SIZE */

struct fs {
	char *backing;
	struct fake_tree *tree;
	pthread_mutex_t lock; /* serializes every dynamic store */
	FILE *log;
	bool ended; /* the session was torn down (unmount) */
};

static struct fs *fs_get(void)
{
	return fuse_get_context()->private_data;
}

/* called when the session ends, i.e. after an unmount */
static void fs_destroy(void *data)
{
	struct fs *fs = data;

	fs->ended = true;
}

static int bpath(const char *path, char *buf, size_t len)
{
	struct fs *fs = fs_get();
	int n = snprintf(buf, len, "%s%s", fs->backing, path);

	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}

#define BPATH(var, path)                                \
	char var[PATH_MAX];                             \
	do {                                            \
		int _r = bpath(path, var, sizeof(var)); \
		if (_r < 0)                             \
			return _r;                      \
	} while (0)

static bool under_sys(const char *path)
{
	return path && !strncmp(path, "/sys/", 5);
}

/* kernfs: I/O on an open attribute whose node is gone gives ENODEV. */
static int sys_gone(const char *path)
{
	struct stat st;
	char p[PATH_MAX];

	if (!under_sys(path) || bpath(path, p, sizeof(p)) < 0)
		return 0;
	if (lstat(p, &st) < 0 && errno == ENOENT)
		return -ENODEV;
	return 0;
}

static bool hidden(const char *name)
{
	return !strncmp(name, ".fake-", 6) || !strcmp(name, ".in-use");
}

static void log_store(struct fs *fs, enum fake_attr_kind kind, const char *path,
		      const char *buf, size_t len, int r)
{
	size_t i;

	if (!fs->log)
		return;
	fprintf(fs->log, "%s %s \"", fake_attr_kind_name(kind), path);
	for (i = 0; i < len && i < 256; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (c == '\n')
			fputs("\\n", fs->log);
		else if (c == '"' || c == '\\')
			fprintf(fs->log, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(fs->log, "\\x%02x", c);
		else
			fputc(c, fs->log);
	}
	if (len > 256)
		fputs("...", fs->log);
	if (r < 0)
		fprintf(fs->log, "\" len=%zu -> %d (%s)\n", len, r,
			strerror(-r));
	else
		fprintf(fs->log, "\" len=%zu -> 0\n", len);
	fflush(fs->log);
}

static void *fs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	(void)conn;
	cfg->use_ino = 1;
	cfg->entry_timeout = 0;
	cfg->attr_timeout = 0;
	cfg->negative_timeout = 0;
	cfg->direct_io = 1;
	cfg->kernel_cache = 0;
	cfg->hard_remove = 1;
	return fuse_get_context()->private_data;
}

static int fs_getattr(const char *path, struct stat *st,
		      struct fuse_file_info *fi)
{
	BPATH(p, path);

	(void)fi;
	if (lstat(p, st) < 0)
		return -errno;
	return 0;
}

static int fs_readlink(const char *path, char *buf, size_t size)
{
	ssize_t n;
	BPATH(p, path);

	if (size == 0)
		return -EINVAL;
	n = readlink(p, buf, size - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

static int fs_mkdir(const char *path, mode_t mode)
{
	BPATH(p, path);

	return mkdir(p, mode) < 0 ? -errno : 0;
}

static int fs_unlink(const char *path)
{
	BPATH(p, path);

	return unlink(p) < 0 ? -errno : 0;
}

static int fs_rmdir(const char *path)
{
	BPATH(p, path);

	return rmdir(p) < 0 ? -errno : 0;
}

static int fs_symlink(const char *target, const char *path)
{
	BPATH(p, path);

	return symlink(target, p) < 0 ? -errno : 0;
}

static int fs_rename(const char *from, const char *to, unsigned int flags)
{
	BPATH(a, from);
	BPATH(b, to);

	if (flags)
		return renameat2(AT_FDCWD, a, AT_FDCWD, b, flags) < 0 ? -errno
								      : 0;
	return rename(a, b) < 0 ? -errno : 0;
}

static int fs_link(const char *from, const char *to)
{
	BPATH(a, from);
	BPATH(b, to);

	return link(a, b) < 0 ? -errno : 0;
}

static int fs_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	BPATH(p, path);

	(void)fi;
	return chmod(p, mode) < 0 ? -errno : 0;
}

static int fs_chown(const char *path, uid_t uid, gid_t gid,
		    struct fuse_file_info *fi)
{
	BPATH(p, path);

	(void)fi;
	return lchown(p, uid, gid) < 0 ? -errno : 0;
}

static bool is_dynamic(const char *path)
{
	struct fs *fs = fs_get();
	enum fake_attr_kind k;

	if (!under_sys(path))
		return false;
	pthread_mutex_lock(&fs->lock);
	k = fake_tree_attr_kind(fs->tree, path);
	pthread_mutex_unlock(&fs->lock);
	return k != FAKE_ATTR_PLAIN;
}

static int fs_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	BPATH(p, path);

	if (is_dynamic(path))
		return 0; /* sysfs ignores truncation */
	if (fi)
		return ftruncate((int)fi->fh, size) < 0 ? -errno : 0;
	return truncate(p, size) < 0 ? -errno : 0;
}

static int fs_utimens(const char *path, const struct timespec ts[2],
		      struct fuse_file_info *fi)
{
	BPATH(p, path);

	(void)fi;
	return utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

/* kernfs-like permission check on sys/ regular files (see header). */
static int sys_access(const char *path, const char *p, int flags)
{
	struct stat st;
	int acc = flags & O_ACCMODE;

	if (!under_sys(path))
		return 0;
	if (lstat(p, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return 0;
	if ((acc == O_RDONLY || acc == O_RDWR) && !(st.st_mode & 0444))
		return -EACCES;
	if ((acc == O_WRONLY || acc == O_RDWR) && !(st.st_mode & 0222))
		return -EACCES;
	return 0;
}

static int fs_open(const char *path, struct fuse_file_info *fi)
{
	int flags = fi->flags & ~(O_CREAT | O_EXCL | O_NOCTTY);
	int fd, r;
	BPATH(p, path);

	r = sys_access(path, p, fi->flags);
	if (r < 0)
		return r;
	if (is_dynamic(path))
		flags &= ~(O_TRUNC | O_APPEND);
	fd = open(p, flags | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	fi->fh = (uint64_t)fd;
	fi->direct_io = 1;
	fi->keep_cache = 0;
	return 0;
}

static int fs_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	int fd;
	BPATH(p, path);

	fd = open(p, fi->flags | O_CREAT | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	fi->fh = (uint64_t)fd;
	fi->direct_io = 1;
	return 0;
}

static int fs_read(const char *path, char *buf, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	ssize_t n;
	int r = sys_gone(path);

	if (r < 0)
		return r;
	n = pread((int)fi->fh, buf, size, off);
	if (n < 0)
		return -errno;
	return (int)n;
}

static int fs_write(const char *path, const char *buf, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct fs *fs = fs_get();
	enum fake_attr_kind kind = FAKE_ATTR_PLAIN;
	ssize_t n;
	int r;

	if (under_sys(path)) {
		pthread_mutex_lock(&fs->lock);
		kind = fake_tree_attr_kind(fs->tree, path);
		if (kind != FAKE_ATTR_PLAIN) {
			if (size == 0) {
				r = 0;
			} else {
				if (size > STORE_MAX)
					size = STORE_MAX;
				r = fake_tree_attr_store(fs->tree, path, buf,
							 size);
				log_store(fs, kind, path, buf, size, r);
			}
			pthread_mutex_unlock(&fs->lock);
			return r < 0 ? r : (int)size;
		}
		pthread_mutex_unlock(&fs->lock);
		r = sys_gone(path);
		if (r < 0)
			return r;
	}
	if (size > INT_MAX)
		size = INT_MAX;
	n = pwrite((int)fi->fh, buf, size, off);
	if (n < 0)
		return -errno;
	return (int)n;
}

static int fs_statfs(const char *path, struct statvfs *st)
{
	BPATH(p, path);

	return statvfs(p, st) < 0 ? -errno : 0;
}

static int fs_flush(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	(void)fi;
	return 0;
}

static int fs_release(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	close((int)fi->fh);
	return 0;
}

static int fs_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	(void)path;
	if (datasync)
		return fdatasync((int)fi->fh) < 0 ? -errno : 0;
	return fsync((int)fi->fh) < 0 ? -errno : 0;
}

static int fs_readdir(const char *path, void *buf, fuse_fill_dir_t filler,
		      off_t off, struct fuse_file_info *fi,
		      enum fuse_readdir_flags flags)
{
	struct dirent *de;
	DIR *d;
	BPATH(p, path);

	(void)off;
	(void)fi;
	(void)flags;
	d = opendir(p);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		struct stat st;

		if (hidden(de->d_name))
			continue;
		memset(&st, 0, sizeof(st));
		st.st_ino = de->d_ino;
		st.st_mode = (mode_t)DTTOIF(de->d_type);
		if (filler(buf, de->d_name, &st, 0, 0))
			break;
	}
	closedir(d);
	return 0;
}

static int fs_access(const char *path, int mask)
{
	BPATH(p, path);

	return access(p, mask) < 0 ? -errno : 0;
}

static const struct fuse_operations fs_ops = {
	.init = fs_init,
	.destroy = fs_destroy,
	.getattr = fs_getattr,
	.readlink = fs_readlink,
	.mkdir = fs_mkdir,
	.unlink = fs_unlink,
	.rmdir = fs_rmdir,
	.symlink = fs_symlink,
	.rename = fs_rename,
	.link = fs_link,
	.chmod = fs_chmod,
	.chown = fs_chown,
	.truncate = fs_truncate,
	.open = fs_open,
	.read = fs_read,
	.write = fs_write,
	.statfs = fs_statfs,
	.flush = fs_flush,
	.release = fs_release,
	.fsync = fs_fsync,
	.readdir = fs_readdir,
	.access = fs_access,
	.create = fs_create,
	.utimens = fs_utimens,
};

static void usage(FILE *f, const char *argv0)
{
	fprintf(f,
		"usage: %s BACKING MOUNTPOINT [-f] [-d] [-s] [-o OPT[,OPT...]]\n"
		"          [--log FILE] [--create-delay-ms N]\n"
		"\n"
		"Mount BACKING (a fake-tree directory) on MOUNTPOINT with\n"
		"kernel-like behaviour for mdev create/remove, sriov_numvfs,\n"
		"sriov_drivers_autoprobe, driver_override, drivers/*/bind,\n"
		"drivers/*/unbind and declared vendor instance attributes.\n"
		"\n"
		"  --log FILE            append one line per dynamic write\n"
		"  --create-delay-ms N   sleep N ms inside create (race tests)\n"
		"  -f                    stay in the foreground\n"
		"  -d                    FUSE debug output (implies -f)\n"
		"  -s                    single-threaded\n"
		"  -o OPT                FUSE mount options (e.g. allow_other)\n",
		argv0);
}

static int parse_ms(const char *s, unsigned int *ret)
{
	unsigned long v;

	if (fake_parse_ul(s, &v) < 0 || v > 600000)
		return -EINVAL;
	*ret = (unsigned int)v;
	return 0;
}

/*
 * LeakSanitizer (the tests' ASan build) reads this at exit. libfuse's
 * multithreaded loop can leave a worker's record behind when a lazy
 * unmount races its threads (the race main() forgives in the exit status
 * below): that memory is libfuse's, and a report of it must not fail the
 * test that stops this daemon. This program's own leaks are still found.
 */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libfuse3.so\n";
}

int main(int argc, char **argv)
{
	struct fs fs = { .lock = PTHREAD_MUTEX_INITIALIZER };
	const char *pos[2] = { NULL, NULL };
	const char *logfile = NULL;
	unsigned int delay = 0;
	char **fargv;
	int fargc = 0, npos = 0, i, r, ret = 1;

	fargv = calloc((size_t)argc + 5, sizeof(*fargv));
	if (!fargv) {
		perror("calloc");
		return 1;
	}
	fargv[fargc++] = argv[0];
	/*
	 * libfuse 3.14 warns "Ignoring invalid max threads value 4294967295"
	 * when max_idle_threads is left at its default (libfuse#1003).
	 */
	fargv[fargc++] = "-omax_idle_threads=16";
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout, argv[0]);
			free(fargv);
			return 0;
		} else if (!strcmp(a, "--log") && i + 1 < argc) {
			logfile = argv[++i];
		} else if (!strncmp(a, "--log=", 6)) {
			logfile = a + 6;
		} else if (!strcmp(a, "--create-delay-ms") && i + 1 < argc) {
			if (parse_ms(argv[++i], &delay) < 0)
				goto bad;
		} else if (!strncmp(a, "--create-delay-ms=", 18)) {
			if (parse_ms(a + 18, &delay) < 0)
				goto bad;
		} else if (!strcmp(a, "-o") && i + 1 < argc) {
			fargv[fargc++] = argv[i++];
			fargv[fargc++] = argv[i];
		} else if (!strcmp(a, "-f") || !strcmp(a, "-d") ||
			   !strcmp(a, "-s") || !strncmp(a, "-o", 2)) {
			fargv[fargc++] = argv[i];
		} else if (a[0] == '-') {
			fprintf(stderr, "%s: unknown option %s\n", argv[0], a);
			goto bad;
		} else if (npos < 2) {
			pos[npos++] = a;
		} else {
			goto bad;
		}
	}
	if (npos != 2)
		goto bad;

	fs.backing = realpath(pos[0], NULL);
	if (!fs.backing) {
		fprintf(stderr, "%s: %s: %s\n", argv[0], pos[0],
			strerror(errno));
		goto out;
	}
	r = fake_tree_open(fs.backing, &fs.tree);
	if (r < 0) {
		fprintf(stderr, "%s: %s: %s\n", argv[0], fs.backing,
			strerror(-r));
		goto out;
	}
	fake_tree_set_create_delay_ms(fs.tree, delay);
	if (logfile) {
		fs.log = fopen(logfile, "ae");
		if (!fs.log) {
			fprintf(stderr, "%s: %s: %s\n", argv[0], logfile,
				strerror(errno));
			goto out;
		}
	}
	fargv[fargc++] = (char *)pos[1];
	fargv[fargc++] = "-ofsname=vgpu-fakesysfs,subtype=vgpu-fakesysfs";
	fargv[fargc] = NULL;

	ret = fuse_main(fargc, fargv, &fs_ops, &fs);
	/*
	 * A lazy unmount can race with worker threads still reading
	 * /dev/fuse, and libfuse's multithreaded loop then reports an error
	 * although the session ended normally. Exit 0 whenever the session
	 * was torn down; a crash still shows as death by a signal.
	 */
	if (ret != 0 && fs.ended) {
		fprintf(stderr, "%s: loop ended with %d after unmount\n",
			argv[0], ret);
		ret = 0;
	}
out:
	if (fs.log)
		fclose(fs.log);
	fake_tree_free(fs.tree);
	free(fs.backing);
	free(fargv);
	return ret;
bad:
	usage(stderr, argv[0]);
	free(fargv);
	return 2;
}
