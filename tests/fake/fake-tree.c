// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * fake-tree: a fake sysfs tree in a directory, and the kernel-like
 * operations (mdev create/remove, SR-IOV, driver bind) on it.
 * See fake-tree.h for the documentation.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "fake-tree.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FAKE_MAX_READ (1024 * 1024)
#define MDEV_DRIVER   "vfio_mdev"
#define UUID_LEN      36

struct fake_tree {
	char *root;
	unsigned int create_delay_ms;
};

/* ---- path helpers -------------------------------------------------------- */

static const char *skip_slash(const char *rel)
{
	while (*rel == '/')
		rel++;
	return rel;
}

static int vfmt(char *buf, size_t len, const char *fmt, va_list ap)
{
	int n = vsnprintf(buf, len, fmt, ap);

	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}

__attribute__((format(printf, 3, 4))) static int fmt(char *buf, size_t len,
						     const char *f, ...)
{
	va_list ap;
	int r;

	va_start(ap, f);
	r = vfmt(buf, len, f, ap);
	va_end(ap);
	return r;
}

static int abspath(const struct fake_tree *t, const char *rel, char *buf,
		   size_t len)
{
	rel = skip_slash(rel);
	if (!*rel)
		return fmt(buf, len, "%s", t->root);
	return fmt(buf, len, "%s/%s", t->root, rel);
}

/* Split BUF in place at the last '/': returns the basename. */
static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static int dir_name(const char *path, char *buf, size_t len)
{
	const char *s = strrchr(path, '/');

	if (!s)
		return fmt(buf, len, "%s", "");
	return fmt(buf, len, "%.*s", (int)(s - path), path);
}

int fake_path_normalize(const char *in, char *buf, size_t len)
{
	char tmp[PATH_MAX];
	char *save = NULL, *c;
	size_t out = 0;
	int r;

	r = fmt(tmp, sizeof(tmp), "%s", in);
	if (r < 0)
		return r;
	if (len == 0)
		return -ENAMETOOLONG;
	buf[0] = '\0';
	for (c = strtok_r(tmp, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		size_t cl = strlen(c);

		if (!strcmp(c, "."))
			continue;
		if (!strcmp(c, "..")) {
			char *s;

			if (out == 0)
				return -EINVAL;
			s = strrchr(buf, '/');
			out = s ? (size_t)(s - buf) : 0;
			buf[out] = '\0';
			continue;
		}
		if (out + (out ? 1 : 0) + cl + 1 > len)
			return -ENAMETOOLONG;
		if (out)
			buf[out++] = '/';
		memcpy(buf + out, c, cl + 1);
		out += cl;
	}
	return 0;
}

int fake_relpath(const char *from_dir, const char *to, char *buf, size_t len)
{
	char f[PATH_MAX], tt[PATH_MAX];
	const char *a, *b;
	size_t out = 0;
	int r;

	r = fake_path_normalize(from_dir, f, sizeof(f));
	if (r < 0)
		return r;
	r = fake_path_normalize(to, tt, sizeof(tt));
	if (r < 0)
		return r;

	/* strip the common leading components */
	a = f;
	b = tt;
	for (;;) {
		size_t la = strcspn(a, "/"), lb = strcspn(b, "/");

		if (!*a || !*b || la != lb || memcmp(a, b, la))
			break;
		a += la;
		b += lb;
		if (*a == '/')
			a++;
		if (*b == '/')
			b++;
	}
	if (len == 0)
		return -ENAMETOOLONG;
	buf[0] = '\0';
	while (*a) {
		size_t la = strcspn(a, "/");

		if (out + 3 >= len)
			return -ENAMETOOLONG;
		memcpy(buf + out, "../", 4);
		out += 3;
		a += la;
		if (*a == '/')
			a++;
	}
	if (*b) {
		if (out + strlen(b) >= len)
			return -ENAMETOOLONG;
		strcpy(buf + out, b);
	} else if (out) {
		buf[out - 1] = '\0'; /* drop the trailing '/' */
	} else {
		if (len < 2)
			return -ENAMETOOLONG;
		strcpy(buf, ".");
	}
	return 0;
}

int fake_tree_resolve_link(struct fake_tree *t, const char *rel, char *buf,
			   size_t len)
{
	char p[PATH_MAX], target[PATH_MAX], dir[PATH_MAX], joined[PATH_MAX * 2];
	ssize_t n;
	int r;

	rel = skip_slash(rel);
	r = abspath(t, rel, p, sizeof(p));
	if (r < 0)
		return r;
	n = readlink(p, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	if (target[0] == '/') {
		/* not sysfs-like; treat as root-relative */
		return fake_path_normalize(target, buf, len);
	}
	r = dir_name(rel, dir, sizeof(dir));
	if (r < 0)
		return r;
	r = fmt(joined, sizeof(joined), "%s/%s", dir, target);
	if (r < 0)
		return r;
	return fake_path_normalize(joined, buf, len);
}

/* ---- file helpers ---------------------------------------------------------- */

static int mkdir_p_abs(char *path)
{
	char *s;

	for (s = path + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST) {
			int e = -errno;

			*s = '/';
			return e;
		}
		*s = '/';
	}
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int fake_tree_mkdir(struct fake_tree *t, const char *rel)
{
	char p[PATH_MAX];
	int r;

	r = abspath(t, rel, p, sizeof(p));
	if (r < 0)
		return r;
	return mkdir_p_abs(p);
}

static int mkdir_parent(struct fake_tree *t, const char *rel)
{
	char d[PATH_MAX];
	int r;

	r = dir_name(skip_slash(rel), d, sizeof(d));
	if (r < 0)
		return r;
	if (!d[0])
		return 0;
	return fake_tree_mkdir(t, d);
}

int fake_tree_write_mode(struct fake_tree *t, const char *rel, const void *data,
			 size_t len, unsigned int mode)
{
	const char *d = data;
	char p[PATH_MAX];
	int fd, r;

	r = abspath(t, rel, p, sizeof(p));
	if (r < 0)
		return r;
	r = mkdir_parent(t, rel);
	if (r < 0)
		return r;
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0)
		return -errno;
	while (len > 0) {
		ssize_t n = write(fd, d, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			close(fd);
			return r;
		}
		d += n;
		len -= (size_t)n;
	}
	if (fchmod(fd, mode & 07777) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	if (close(fd) < 0)
		return -errno;
	return 0;
}

int fake_tree_write(struct fake_tree *t, const char *rel, const char *content)
{
	return fake_tree_write_mode(t, rel, content, strlen(content), 0644);
}

__attribute__((format(printf, 4, 5))) static int writef(struct fake_tree *t,
							const char *rel,
							unsigned int mode,
							const char *f, ...)
{
	char buf[4096];
	va_list ap;
	int r;

	va_start(ap, f);
	r = vfmt(buf, sizeof(buf), f, ap);
	va_end(ap);
	if (r < 0)
		return r;
	return fake_tree_write_mode(t, rel, buf, strlen(buf), mode);
}

int fake_tree_symlink(struct fake_tree *t, const char *rel, const char *target)
{
	char p[PATH_MAX];
	int r;

	r = abspath(t, rel, p, sizeof(p));
	if (r < 0)
		return r;
	r = mkdir_parent(t, rel);
	if (r < 0)
		return r;
	if (symlink(target, p) < 0)
		return -errno;
	return 0;
}

int fake_tree_link(struct fake_tree *t, const char *rel, const char *target_rel)
{
	char dir[PATH_MAX], target[PATH_MAX];
	int r;

	r = dir_name(skip_slash(rel), dir, sizeof(dir));
	if (r < 0)
		return r;
	r = fake_relpath(dir, skip_slash(target_rel), target, sizeof(target));
	if (r < 0)
		return r;
	return fake_tree_symlink(t, rel, target);
}

static int rm_cb(const char *path, const struct stat *st, int flag,
		 struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	if (remove(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int fake_tree_remove(struct fake_tree *t, const char *rel)
{
	char p[PATH_MAX];
	struct stat st;
	int r;

	r = abspath(t, rel, p, sizeof(p));
	if (r < 0)
		return r;
	if (lstat(p, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlink(p) < 0 ? -errno : 0;
	r = nftw(p, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	if (r < 0)
		return errno ? -errno : -EIO;
	return r;
}

/* Read up to LEN-1 bytes of REL into BUF, NUL-terminated; returns length. */
static ssize_t read_small(struct fake_tree *t, const char *rel, char *buf,
			  size_t len)
{
	char p[PATH_MAX];
	size_t got = 0;
	int fd, r;

	r = abspath(t, rel, p, sizeof(p));
	if (r < 0)
		return r;
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (got + 1 < len) {
		ssize_t n = read(fd, buf + got, len - 1 - got);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			close(fd);
			return r;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	return (ssize_t)got;
}

int fake_tree_read(struct fake_tree *t, const char *rel, char **ret)
{
	char p[PATH_MAX];
	size_t got = 0, cap = 256;
	char *buf;
	int fd, r;

	r = abspath(t, rel, p, sizeof(p));
	if (r < 0)
		return r;
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf = malloc(cap);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t n;

		if (got + 1 >= cap) {
			char *nb;

			if (cap >= FAKE_MAX_READ) {
				r = -EFBIG;
				goto fail;
			}
			nb = realloc(buf, cap * 2);
			if (!nb) {
				r = -ENOMEM;
				goto fail;
			}
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + got, cap - 1 - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto fail;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	*ret = buf;
	return 0;
fail:
	close(fd);
	free(buf);
	return r;
}

/* the file type bits of @rel (not following a final link), or 0 if absent */
static mode_t type_of(struct fake_tree *t, const char *rel)
{
	char p[PATH_MAX];
	struct stat st;

	if (abspath(t, rel, p, sizeof(p)) < 0 || lstat(p, &st) < 0)
		return 0;
	return st.st_mode & S_IFMT;
}

bool fake_tree_exists(struct fake_tree *t, const char *rel)
{
	return type_of(t, rel) != 0;
}

static bool is_link(struct fake_tree *t, const char *rel)
{
	return type_of(t, rel) == S_IFLNK;
}

static bool is_dir(struct fake_tree *t, const char *rel)
{
	return type_of(t, rel) == S_IFDIR;
}

static int unlink_rel(struct fake_tree *t, const char *rel)
{
	char p[PATH_MAX];
	int r;

	r = abspath(t, rel, p, sizeof(p));
	if (r < 0)
		return r;
	if (unlink(p) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

/* Write FILE only if it does not exist yet. */
static int ensure_file(struct fake_tree *t, const char *rel, const char *c,
		       unsigned int mode)
{
	if (fake_tree_exists(t, rel))
		return 0;
	return fake_tree_write_mode(t, rel, c, strlen(c), mode);
}

/* ---- parsing ------------------------------------------------------------ */

int fake_parse_ul(const char *s, unsigned long *ret)
{
	unsigned long long v = 0;
	unsigned int base = 10;
	bool any = false;

	if (*s == '+')
		s++;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') &&
	    isxdigit((unsigned char)s[2])) {
		base = 16;
		s += 2;
	} else if (s[0] == '0') {
		base = 8;
	}
	for (; *s; s++) {
		unsigned int d;

		if (*s >= '0' && *s <= '9')
			d = (unsigned int)(*s - '0');
		else if (*s >= 'a' && *s <= 'f')
			d = (unsigned int)(*s - 'a' + 10);
		else if (*s >= 'A' && *s <= 'F')
			d = (unsigned int)(*s - 'A' + 10);
		else
			break;
		if (d >= base)
			break;
		if (v > (ULONG_MAX - d) / base)
			return -ERANGE;
		v = v * base + d;
		any = true;
	}
	if (!any)
		return -EINVAL;
	if (*s == '\n')
		s++;
	if (*s)
		return -EINVAL;
	*ret = (unsigned long)v;
	return 0;
}

static int read_ul(struct fake_tree *t, const char *rel, unsigned long *v)
{
	char buf[64];
	ssize_t n;

	n = read_small(t, rel, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	return fake_parse_ul(buf, v) < 0 ? -EIO : 0;
}

static int read_hex(struct fake_tree *t, const char *rel, unsigned int *v)
{
	char buf[64], *end;
	unsigned long x;
	ssize_t n;

	n = read_small(t, rel, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	errno = 0;
	x = strtoul(buf, &end, 16);
	if (errno || end == buf || x > 0xffffffffUL)
		return -EIO;
	*v = (unsigned int)x;
	return 0;
}

static const struct {
	const char *name;
	int err;
} errno_names[] = {
	{ "EPERM", EPERM },
	{ "ENOENT", ENOENT },
	{ "EIO", EIO },
	{ "ENXIO", ENXIO },
	{ "E2BIG", E2BIG },
	{ "EAGAIN", EAGAIN },
	{ "ENOMEM", ENOMEM },
	{ "EACCES", EACCES },
	{ "EFAULT", EFAULT },
	{ "EBUSY", EBUSY },
	{ "EEXIST", EEXIST },
	{ "ENODEV", ENODEV },
	{ "EINVAL", EINVAL },
	{ "ENOSPC", ENOSPC },
	{ "ERANGE", ERANGE },
	{ "ENOTSUP", ENOTSUP },
	{ "EOPNOTSUPP", EOPNOTSUPP },
	{ "EUSERS", EUSERS },
	{ "ETIMEDOUT", ETIMEDOUT },
	{ "ECANCELED", ECANCELED },
	{ "EUCLEAN", EUCLEAN },
	{ "EDQUOT", EDQUOT },
	{ "ENOTTY", ENOTTY },
};

int fake_errno_parse(const char *s)
{
	unsigned long v;
	size_t i;

	for (i = 0; i < sizeof(errno_names) / sizeof(errno_names[0]); i++)
		if (!strcmp(s, errno_names[i].name))
			return errno_names[i].err;
	if (fake_parse_ul(s, &v) < 0 || v == 0 || v > 4095)
		return -EINVAL;
	return (int)v;
}

static bool uuid_valid(const char *s)
{
	int i;

	for (i = 0; i < UUID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!isxdigit((unsigned char)s[i])) {
			return false;
		}
	}
	return true;
}

/* Safe single path component (for names coming from writes). */
static bool name_ok(const char *s)
{
	return *s && strcmp(s, ".") && strcmp(s, "..") && !strchr(s, '/') &&
	       strlen(s) < NAME_MAX;
}

/* ---- lifetime ------------------------------------------------------------- */

static int tree_alloc(const char *dir, struct fake_tree **ret)
{
	struct fake_tree *t;

	if (!dir || !*dir || !ret)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->root = strdup(dir);
	if (!t->root) {
		free(t);
		return -ENOMEM;
	}
	/* strip trailing slashes, but keep "/" */
	for (size_t l = strlen(t->root); l > 1 && t->root[l - 1] == '/'; l--)
		t->root[l - 1] = '\0';
	*ret = t;
	return 0;
}

int fake_tree_open(const char *dir, struct fake_tree **ret)
{
	struct fake_tree *t;
	struct stat st;
	int r;

	if (dir && stat(dir, &st) == 0 && !S_ISDIR(st.st_mode))
		return -ENOTDIR;
	r = tree_alloc(dir, &t);
	if (r < 0)
		return r;
	*ret = t;
	return 0;
}

int fake_tree_new(const char *dir, struct fake_tree **ret)
{
	static const char *const dirs[] = {
		"sys/devices",
		"sys/class/mdev_bus",
		"sys/bus/mdev/devices",
		"sys/bus/mdev/drivers",
		"sys/bus/pci/devices",
		"sys/bus/pci/drivers",
		"sys/kernel/iommu_groups",
		"etc/mdevctl.d/scripts.d/callouts",
		"etc/mdevctl.d/scripts.d/notifiers",
	};
	struct fake_tree *t;
	char p[PATH_MAX];
	size_t i;
	int r;

	r = tree_alloc(dir, &t);
	if (r < 0)
		return r;
	r = fmt(p, sizeof(p), "%s", t->root);
	if (r < 0 || (r = mkdir_p_abs(p)) < 0)
		goto fail;
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		r = fake_tree_mkdir(t, dirs[i]);
		if (r < 0)
			goto fail;
	}
	*ret = t;
	return 0;
fail:
	fake_tree_free(t);
	return r;
}

void fake_tree_free(struct fake_tree *t)
{
	if (!t)
		return;
	free(t->root);
	free(t);
}

const char *fake_tree_root(const struct fake_tree *t)
{
	return t->root;
}

void fake_tree_set_create_delay_ms(struct fake_tree *t, unsigned int ms)
{
	t->create_delay_ms = ms;
}

/* ---- iommu groups, drivers, devices --------------------------------------- */

/* Put DEVREL alone into a new iommu group (lowest unused number). */
static int iommu_group_add(struct fake_tree *t, const char *devrel)
{
	char g[PATH_MAX], l[PATH_MAX], il[PATH_MAX];
	int n, r;

	for (n = 0;; n++) {
		if (n == 1000000)
			return -ENOSPC;
		r = fmt(g, sizeof(g), "sys/kernel/iommu_groups/%d", n);
		if (r < 0)
			return r;
		if (!fake_tree_exists(t, g))
			break;
	}
	r = fmt(l, sizeof(l), "%s/devices/%s", g, base_name(devrel));
	if (r < 0)
		return r;
	r = fmt(il, sizeof(il), "%s/iommu_group", devrel);
	if (r < 0)
		return r;
	r = fake_tree_mkdir(t, g);
	if (r < 0)
		return r;
	r = fmt(l, sizeof(l), "%s/type", g);
	if (r < 0)
		return r;
	r = fake_tree_write(t, l, "DMA\n");
	if (r < 0)
		return r;
	r = fmt(l, sizeof(l), "%s/devices/%s", g, base_name(devrel));
	if (r < 0)
		return r;
	r = fake_tree_link(t, l, devrel);
	if (r < 0)
		return r;
	return fake_tree_link(t, il, g);
}

/* Drop DEVREL from its iommu group; remove the group once empty. */
static int iommu_group_del(struct fake_tree *t, const char *devrel)
{
	char il[PATH_MAX], g[PATH_MAX], l[PATH_MAX], p[PATH_MAX];
	int r;

	r = fmt(il, sizeof(il), "%s/iommu_group", devrel);
	if (r < 0)
		return r;
	if (fake_tree_resolve_link(t, il, g, sizeof(g)) < 0)
		return 0;
	r = fmt(l, sizeof(l), "%s/devices/%s", g, base_name(devrel));
	if (r < 0)
		return r;
	r = unlink_rel(t, l);
	if (r < 0)
		return r;
	r = fmt(l, sizeof(l), "%s/devices", g);
	if (r < 0)
		return r;
	r = abspath(t, l, p, sizeof(p));
	if (r < 0)
		return r;
	/* rmdir fails (ENOTEMPTY) while other devices share the group */
	if (rmdir(p) == 0)
		r = fake_tree_remove(t, g);
	if (r < 0)
		return r;
	return unlink_rel(t, il);
}

static int ensure_bus(struct fake_tree *t, const char *bus)
{
	char p[PATH_MAX];
	int r;

	r = fmt(p, sizeof(p), "sys/bus/%s/devices", bus);
	if (r < 0)
		return r;
	r = fake_tree_mkdir(t, p);
	if (r < 0)
		return r;
	r = fmt(p, sizeof(p), "sys/bus/%s/drivers", bus);
	if (r < 0)
		return r;
	return fake_tree_mkdir(t, p);
}

static int ensure_driver(struct fake_tree *t, const char *bus, const char *drv)
{
	char p[PATH_MAX];
	int r;

	r = ensure_bus(t, bus);
	if (r < 0)
		return r;
	r = fmt(p, sizeof(p), "sys/bus/%s/drivers/%s/bind", bus, drv);
	if (r < 0)
		return r;
	r = ensure_file(t, p, "", 0200);
	if (r < 0)
		return r;
	r = fmt(p, sizeof(p), "sys/bus/%s/drivers/%s/unbind", bus, drv);
	if (r < 0)
		return r;
	return ensure_file(t, p, "", 0200);
}

int fake_tree_add_driver(struct fake_tree *t, const char *bus,
			 const char *driver)
{
	if (!name_ok(bus) || !name_ok(driver))
		return -EINVAL;
	return ensure_driver(t, bus, driver);
}

/* Bind DEVREL (named NAME on BUS) to DRV, no checks but "already bound". */
static int do_bind(struct fake_tree *t, const char *bus, const char *drv,
		   const char *devrel)
{
	char d[PATH_MAX], l[PATH_MAX];
	int r;

	r = fmt(l, sizeof(l), "%s/driver", devrel);
	if (r < 0)
		return r;
	if (fake_tree_exists(t, l))
		return -EBUSY;
	r = fmt(d, sizeof(d), "sys/bus/%s/drivers/%s", bus, drv);
	if (r < 0)
		return r;
	r = fake_tree_link(t, l, d);
	if (r < 0)
		return r;
	r = fmt(l, sizeof(l), "%s/%s", d, base_name(devrel));
	if (r < 0)
		return r;
	r = fake_tree_link(t, l, devrel);
	if (r == -EEXIST)
		r = 0;
	return r;
}

/* Unbind DEVREL from whatever driver it is bound to. */
static int do_unbind(struct fake_tree *t, const char *devrel)
{
	char d[PATH_MAX], l[PATH_MAX];
	int r;

	r = fmt(l, sizeof(l), "%s/driver", devrel);
	if (r < 0)
		return r;
	if (fake_tree_resolve_link(t, l, d, sizeof(d)) == 0) {
		char dl[PATH_MAX];

		r = fmt(dl, sizeof(dl), "%s/%s", d, base_name(devrel));
		if (r < 0)
			return r;
		r = unlink_rel(t, dl);
		if (r < 0)
			return r;
	}
	return unlink_rel(t, l);
}

/* Generic device: dir, subsystem link, bus devices link, uevent, driver. */
static int add_device(struct fake_tree *t, const char *devrel, const char *bus,
		      const char *driver, const char *uevent)
{
	char p[PATH_MAX], b[PATH_MAX];
	int r;

	if (fake_tree_exists(t, devrel))
		return -EEXIST;
	r = ensure_bus(t, bus);
	if (r < 0)
		return r;
	r = fake_tree_mkdir(t, devrel);
	if (r < 0)
		return r;
	r = fmt(p, sizeof(p), "%s/subsystem", devrel);
	if (r < 0)
		return r;
	r = fmt(b, sizeof(b), "sys/bus/%s", bus);
	if (r < 0)
		return r;
	r = fake_tree_link(t, p, b);
	if (r < 0)
		return r;
	r = fmt(p, sizeof(p), "sys/bus/%s/devices/%s", bus, base_name(devrel));
	if (r < 0)
		return r;
	r = fake_tree_link(t, p, devrel);
	if (r < 0)
		return r;
	r = fmt(p, sizeof(p), "%s/uevent", devrel);
	if (r < 0)
		return r;
	r = writef(t, p, 0644, "%s%s%s%s", driver ? "DRIVER=" : "",
		   driver ? driver : "", driver ? "\n" : "", uevent);
	if (r < 0)
		return r;
	if (driver) {
		r = ensure_driver(t, bus, driver);
		if (r < 0)
			return r;
		r = do_bind(t, bus, driver, devrel);
	}
	return r;
}

/* Look a device up on the buses that can hold mdev parents. */
static int find_device(struct fake_tree *t, const char *id, char *buf,
		       size_t len)
{
	static const char *const buses[] = { "pci", "css", "matrix",
					     "platform" };
	char l[PATH_MAX];
	size_t i;
	int r;

	if (!name_ok(id))
		return -EINVAL;
	for (i = 0; i < sizeof(buses) / sizeof(buses[0]); i++) {
		r = fmt(l, sizeof(l), "sys/bus/%s/devices/%s", buses[i], id);
		if (r < 0)
			return r;
		if (fake_tree_resolve_link(t, l, buf, len) == 0)
			return 0;
	}
	return -ENODEV;
}

static int parse_bdf(const char *bdf, unsigned int *dom, unsigned int *bus,
		     unsigned int *dev, unsigned int *fn)
{
	char tail;

	if (sscanf(bdf, "%x:%x:%x.%x%c", dom, bus, dev, fn, &tail) != 4 ||
	    *dom > 0xffff || *bus > 0xff || *dev > 0x1f || *fn > 7)
		return -EINVAL;
	return 0;
}

static int pci_dir(const char *bdf, char *buf, size_t len)
{
	unsigned int dom, bus, dev, fn;
	int r;

	r = parse_bdf(bdf, &dom, &bus, &dev, &fn);
	if (r < 0)
		return r;
	return fmt(buf, len, "sys/devices/pci%04x:%02x/%s", dom, bus, bdf);
}

static int add_pci_at(struct fake_tree *t, const char *devrel,
		      const struct fake_pci_info *info)
{
	char p[PATH_MAX];
	int r;

	r = add_device(t, devrel, "pci", info->driver, "");
	if (r < 0)
		return r;
#define ATTR(file, ...)                                    \
	do {                                               \
		r = fmt(p, sizeof(p), "%s/" file, devrel); \
		if (r < 0)                                 \
			return r;                          \
		r = writef(t, p, 0444, __VA_ARGS__);       \
		if (r < 0)                                 \
			return r;                          \
	} while (0)
	ATTR("vendor", "0x%04x\n", info->vendor);
	ATTR("device", "0x%04x\n", info->device);
	ATTR("subsystem_vendor", "0x%04x\n", info->subsystem_vendor);
	ATTR("subsystem_device", "0x%04x\n", info->subsystem_device);
	ATTR("class", "0x%06x\n", info->class);
	ATTR("numa_node", "%d\n", info->numa_node);
#undef ATTR
	r = fmt(p, sizeof(p), "%s/driver_override", devrel);
	if (r < 0)
		return r;
	r = fake_tree_write(t, p, "(null)\n");
	if (r < 0)
		return r;
	return iommu_group_add(t, devrel);
}

int fake_tree_add_pci_device(struct fake_tree *t, const char *bdf,
			     const struct fake_pci_info *info)
{
	char d[PATH_MAX];
	int r;

	if (!info)
		return -EINVAL;
	r = pci_dir(bdf, d, sizeof(d));
	if (r < 0)
		return r;
	return add_pci_at(t, d, info);
}

int fake_tree_register_mdev_parent(struct fake_tree *t, const char *id)
{
	char d[PATH_MAX], l[PATH_MAX];
	int r;

	r = find_device(t, id, d, sizeof(d));
	if (r < 0)
		return r;
	r = fmt(l, sizeof(l), "sys/class/mdev_bus/%s", id);
	if (r < 0)
		return r;
	r = fake_tree_link(t, l, d);
	if (r < 0)
		return r;
	r = fmt(l, sizeof(l), "%s/mdev_supported_types", d);
	if (r < 0)
		return r;
	return fake_tree_mkdir(t, l);
}

int fake_tree_add_pci_parent(struct fake_tree *t, const char *bdf,
			     unsigned int vendor, unsigned int device,
			     unsigned int subvendor, unsigned int subdevice,
			     unsigned int class, const char *driver,
			     int numa_node)
{
	struct fake_pci_info info = {
		.vendor = vendor,
		.device = device,
		.subsystem_vendor = subvendor,
		.subsystem_device = subdevice,
		.class = class,
		.driver = driver,
		.numa_node = numa_node,
	};
	int r;

	r = fake_tree_add_pci_device(t, bdf, &info);
	if (r < 0)
		return r;
	return fake_tree_register_mdev_parent(t, bdf);
}

int fake_tree_add_css_parent(struct fake_tree *t, const char *schid)
{
	char d[PATH_MAX], p[PATH_MAX];
	int r;

	if (!name_ok(schid))
		return -EINVAL;
	r = fmt(d, sizeof(d), "sys/devices/css0/%s", schid);
	if (r < 0)
		return r;
	r = fake_tree_mkdir(t, "sys/devices/css0");
	if (r < 0)
		return r;
	r = add_device(t, d, "css", "vfio_ccw", "");
	if (r < 0)
		return r;
	r = fmt(p, sizeof(p), "%s/type", d);
	if (r < 0)
		return r;
	r = fake_tree_write(t, p, "0\n");
	if (r < 0)
		return r;
	r = fmt(p, sizeof(p), "%s/modalias", d);
	if (r < 0)
		return r;
	r = fake_tree_write(t, p, "css:t0\n");
	if (r < 0)
		return r;
	return fake_tree_register_mdev_parent(t, schid);
}

int fake_tree_add_ap_matrix(struct fake_tree *t)
{
	int r;

	r = add_device(t, "sys/devices/vfio_ap/matrix", "matrix", "vfio_ap",
		       "");
	if (r < 0)
		return r;
	return fake_tree_register_mdev_parent(t, "matrix");
}

int fake_tree_add_platform_parent(struct fake_tree *t, const char *name,
				  const char *driver)
{
	char d[PATH_MAX];
	int r;

	if (!name_ok(name))
		return -EINVAL;
	r = fmt(d, sizeof(d), "sys/devices/platform/%s", name);
	if (r < 0)
		return r;
	r = add_device(t, d, "platform", driver, "");
	if (r < 0)
		return r;
	return fake_tree_register_mdev_parent(t, name);
}

int fake_tree_parent_path(struct fake_tree *t, const char *id, char *buf,
			  size_t len)
{
	char l[PATH_MAX];
	int r;

	if (!name_ok(id))
		return -EINVAL;
	r = fmt(l, sizeof(l), "sys/class/mdev_bus/%s", id);
	if (r < 0)
		return r;
	r = fake_tree_resolve_link(t, l, buf, len);
	if (r == -ENOENT || r == -EINVAL)
		return -ENODEV;
	return r;
}

/* ---- mdev types ------------------------------------------------------------ */

static int type_dir(struct fake_tree *t, const char *parent_id,
		    const char *type_id, char *buf, size_t len)
{
	char d[PATH_MAX];
	int r;

	if (!name_ok(type_id))
		return -EINVAL;
	r = fake_tree_parent_path(t, parent_id, d, sizeof(d));
	if (r < 0)
		return r;
	return fmt(buf, len, "%s/mdev_supported_types/%s", d, type_id);
}

int fake_tree_add_type(struct fake_tree *t, const char *parent_id,
		       const char *type_id, const char *name,
		       const char *description, const char *device_api,
		       unsigned int available_instances)
{
	char d[PATH_MAX], p[PATH_MAX];
	int r;

	r = type_dir(t, parent_id, type_id, d, sizeof(d));
	if (r < 0)
		return r;
	if (fake_tree_exists(t, d))
		return -EEXIST;
	r = fmt(p, sizeof(p), "%s/devices", d);
	if (r < 0)
		return r;
	r = fake_tree_mkdir(t, p);
	if (r < 0)
		return r;
#define FILE_(file, mode, ...)                        \
	do {                                          \
		r = fmt(p, sizeof(p), "%s/" file, d); \
		if (r < 0)                            \
			return r;                     \
		r = writef(t, p, mode, __VA_ARGS__);  \
		if (r < 0)                            \
			return r;                     \
	} while (0)
	if (name)
		FILE_("name", 0444, "%s\n", name);
	if (description)
		FILE_("description", 0444, "%s", description);
	FILE_("device_api", 0444, "%s\n", device_api ? device_api : "");
	FILE_("available_instances", 0444, "%u\n", available_instances);
	FILE_("create", 0200, "%s", "");
#undef FILE_
	return 0;
}

int fake_tree_add_instance_attr(struct fake_tree *t, const char *parent_id,
				const char *type_id, const char *relpath,
				const char *reject_value, int reject_errno)
{
	char d[PATH_MAX], p[PATH_MAX], norm[PATH_MAX];
	char *old = NULL, *buf;
	size_t ol;
	int r;

	if (!relpath || strpbrk(relpath, " \t\n") ||
	    (reject_value &&
	     (!*reject_value || strpbrk(reject_value, " \t\n") ||
	      reject_errno <= 0)))
		return -EINVAL;
	r = fake_path_normalize(relpath, norm, sizeof(norm));
	if (r < 0)
		return r;
	if (!norm[0] || strcmp(norm, relpath))
		return -EINVAL;
	r = type_dir(t, parent_id, type_id, d, sizeof(d));
	if (r < 0)
		return r;
	if (!fake_tree_exists(t, d))
		return -ENOENT;
	r = fmt(p, sizeof(p), "%s/.fake-instance-attrs", d);
	if (r < 0)
		return r;
	r = fake_tree_read(t, p, &old);
	if (r == -ENOENT) {
		old = NULL;
	} else if (r < 0) {
		return r;
	}
	ol = old ? strlen(old) : 0;
	if (reject_value)
		r = asprintf(&buf, "%s%s%s %s %d\n", old ? old : "",
			     ol && old[ol - 1] != '\n' ? "\n" : "", relpath,
			     reject_value, reject_errno);
	else
		r = asprintf(&buf, "%s%s%s\n", old ? old : "",
			     ol && old[ol - 1] != '\n' ? "\n" : "", relpath);
	free(old);
	if (r < 0)
		return -ENOMEM;
	r = fake_tree_write(t, p, buf);
	free(buf);
	return r;
}

int fake_tree_set_full_errno(struct fake_tree *t, const char *parent_id,
			     const char *type_id, int err)
{
	char d[PATH_MAX], p[PATH_MAX];
	int r;

	if (err <= 0)
		return -EINVAL;
	r = type_dir(t, parent_id, type_id, d, sizeof(d));
	if (r < 0)
		return r;
	r = fmt(p, sizeof(p), "%s/.fake-full-errno", d);
	if (r < 0)
		return r;
	return writef(t, p, 0644, "%d\n", err);
}

/*
 * Look RELPATH up in TYPEDIR/.fake-instance-attrs.  Returns 1 when found
 * (with *REJECT / *ERR filled, *REJECT empty if none), 0 when not declared.
 * With RELPATH NULL, calls nothing and creates every declared attribute in
 * INSTREL instead.
 */
static int instance_attrs(struct fake_tree *t, const char *typedir,
			  const char *relpath, const char *instrel,
			  char *reject, size_t rlen, int *err)
{
	char p[PATH_MAX];
	char *data = NULL, *line, *save = NULL;
	int r, found = 0;

	r = fmt(p, sizeof(p), "%s/.fake-instance-attrs", typedir);
	if (r < 0)
		return r;
	r = fake_tree_read(t, p, &data);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	for (line = strtok_r(data, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *f[4] = { NULL }, *s2 = NULL, *w;
		int nf = 0;

		for (w = strtok_r(line, " \t", &s2); w && nf < 4;
		     w = strtok_r(NULL, " \t", &s2))
			f[nf++] = w;
		if (nf == 0 || f[0][0] == '#')
			continue;
		if (nf != 1 && nf != 3)
			continue; /* malformed line: ignored */
		if (!relpath) {
			char ap[PATH_MAX], norm[PATH_MAX];

			if (fake_path_normalize(f[0], norm, sizeof(norm)) < 0 ||
			    !norm[0])
				continue;
			r = fmt(ap, sizeof(ap), "%s/%s", instrel, norm);
			if (r < 0)
				break;
			r = ensure_file(t, ap, "", 0644);
			if (r < 0)
				break;
			continue;
		}
		if (strcmp(f[0], relpath))
			continue;
		found = 1;
		reject[0] = '\0';
		*err = 0;
		if (nf == 3) {
			int e = fake_errno_parse(f[2]);

			if (e > 0 && strlen(f[1]) < rlen) {
				strcpy(reject, f[1]);
				*err = e;
			}
		}
		break;
	}
	free(data);
	if (r < 0)
		return r;
	return found;
}

/* ---- mdev instances --------------------------------------------------------- */

/* Tear down whatever exists of instance INSTREL; tolerant of partial state. */
static int instance_destroy(struct fake_tree *t, const char *instrel)
{
	const char *uuid = base_name(instrel);
	char l[PATH_MAX], d[PATH_MAX];
	int r;

	r = fmt(l, sizeof(l), "sys/bus/mdev/devices/%s", uuid);
	if (r < 0)
		return r;
	if (fake_tree_resolve_link(t, l, d, sizeof(d)) == 0 &&
	    !strcmp(d, instrel)) {
		r = unlink_rel(t, l);
		if (r < 0)
			return r;
	}
	r = fmt(l, sizeof(l), "%s/mdev_type", instrel);
	if (r < 0)
		return r;
	if (fake_tree_resolve_link(t, l, d, sizeof(d)) == 0) {
		r = fmt(l, sizeof(l), "%s/devices/%s", d, uuid);
		if (r < 0)
			return r;
		r = unlink_rel(t, l);
		if (r < 0)
			return r;
	}
	r = do_unbind(t, instrel);
	if (r < 0)
		return r;
	r = iommu_group_del(t, instrel);
	if (r < 0)
		return r;
	return fake_tree_remove(t, instrel);
}

static int instance_build(struct fake_tree *t, const char *typedir,
			  const char *instrel)
{
	const char *uuid = base_name(instrel);
	char p[PATH_MAX];
	int r;

	r = fake_tree_mkdir(t, instrel);
	if (r < 0)
		return r;
	r = fmt(p, sizeof(p), "%s/remove", instrel);
	if (r < 0)
		return r;
	r = fake_tree_write_mode(t, p, "", 0, 0200);
	if (r < 0)
		return r;
	r = fmt(p, sizeof(p), "%s/mdev_type", instrel);
	if (r < 0)
		return r;
	r = fake_tree_link(t, p, typedir);
	if (r < 0)
		return r;
	r = fmt(p, sizeof(p), "%s/subsystem", instrel);
	if (r < 0)
		return r;
	r = fake_tree_link(t, p, "sys/bus/mdev");
	if (r < 0)
		return r;
	r = fmt(p, sizeof(p), "%s/uevent", instrel);
	if (r < 0)
		return r;
	r = writef(t, p, 0644, "DRIVER=%s\nMDEV_TYPE=%s\n", MDEV_DRIVER,
		   base_name(typedir));
	if (r < 0)
		return r;
	r = iommu_group_add(t, instrel);
	if (r < 0)
		return r;
	r = ensure_driver(t, "mdev", MDEV_DRIVER);
	if (r < 0)
		return r;
	r = do_bind(t, "mdev", MDEV_DRIVER, instrel);
	if (r < 0)
		return r;
	r = instance_attrs(t, typedir, NULL, instrel, NULL, 0, NULL);
	if (r < 0)
		return r;
	r = fmt(p, sizeof(p), "%s/devices/%s", typedir, uuid);
	if (r < 0)
		return r;
	r = fake_tree_link(t, p, instrel);
	if (r < 0)
		return r;
	r = fmt(p, sizeof(p), "sys/bus/mdev/devices/%s", uuid);
	if (r < 0)
		return r;
	return fake_tree_link(t, p, instrel);
}

static int full_errno(struct fake_tree *t, const char *typedir)
{
	char p[PATH_MAX], buf[64];
	int e;

	if (fmt(p, sizeof(p), "%s/.fake-full-errno", typedir) < 0 ||
	    read_small(t, p, buf, sizeof(buf)) < 0)
		return ENOSPC;
	buf[strcspn(buf, " \t\n")] = '\0';
	e = fake_errno_parse(buf);
	return e > 0 ? e : ENOSPC;
}

int fake_tree_mdev_create(struct fake_tree *t, const char *typedir_rel,
			  const char *uuid_in)
{
	char typedir[PATH_MAX], parent[PATH_MAX], inst[PATH_MAX], p[PATH_MAX];
	char uuid[UUID_LEN + 1];
	unsigned long avail;
	int i, r;

	if (strlen(uuid_in) != UUID_LEN || !uuid_valid(uuid_in))
		return -EINVAL;
	for (i = 0; i < UUID_LEN; i++)
		uuid[i] = (char)tolower((unsigned char)uuid_in[i]);
	uuid[UUID_LEN] = '\0';

	r = fake_path_normalize(typedir_rel, typedir, sizeof(typedir));
	if (r < 0)
		return r;
	r = dir_name(typedir, parent, sizeof(parent));
	if (r < 0)
		return r;
	if (strcmp(base_name(parent), "mdev_supported_types") ||
	    !is_dir(t, typedir))
		return -ENODEV;
	r = dir_name(parent, p, sizeof(p));
	if (r < 0)
		return r;
	strcpy(parent, p);

	r = fmt(p, sizeof(p), "sys/bus/mdev/devices/%s", uuid);
	if (r < 0)
		return r;
	if (fake_tree_exists(t, p))
		return -EEXIST;
	r = fmt(inst, sizeof(inst), "%s/%s", parent, uuid);
	if (r < 0)
		return r;
	if (fake_tree_exists(t, inst))
		return -EEXIST;

	r = fmt(p, sizeof(p), "%s/available_instances", typedir);
	if (r < 0)
		return r;
	r = read_ul(t, p, &avail);
	if (r < 0)
		return r;
	if (avail == 0)
		return -full_errno(t, typedir);

	if (t->create_delay_ms) {
		struct timespec ts = {
			.tv_sec = t->create_delay_ms / 1000,
			.tv_nsec = (long)(t->create_delay_ms % 1000) * 1000000L,
		};

		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}

	r = instance_build(t, typedir, inst);
	if (r < 0)
		goto fail;
	r = writef(t, p, 0444, "%lu\n", avail - 1);
	if (r < 0)
		goto fail;
	return 0;
fail:
	instance_destroy(t, inst);
	return r;
}

int fake_tree_add_instance(struct fake_tree *t, const char *parent_id,
			   const char *type_id, const char *uuid)
{
	char d[PATH_MAX];
	int r;

	r = type_dir(t, parent_id, type_id, d, sizeof(d));
	if (r < 0)
		return r;
	return fake_tree_mdev_create(t, d, uuid);
}

static bool in_use(struct fake_tree *t, const char *devrel)
{
	char p[PATH_MAX];

	return fmt(p, sizeof(p), "%s/.in-use", devrel) == 0 &&
	       fake_tree_exists(t, p);
}

int fake_tree_mdev_remove(struct fake_tree *t, const char *instdir_rel)
{
	char inst[PATH_MAX], l[PATH_MAX], typedir[PATH_MAX];
	unsigned long avail;
	int r;

	r = fake_path_normalize(instdir_rel, inst, sizeof(inst));
	if (r < 0)
		return r;
	r = fmt(l, sizeof(l), "%s/mdev_type", inst);
	if (r < 0)
		return r;
	r = fake_tree_resolve_link(t, l, typedir, sizeof(typedir));
	if (r < 0)
		return -ENODEV;
	if (in_use(t, inst))
		return -EBUSY;
	r = instance_destroy(t, inst);
	if (r < 0)
		return r;
	r = fmt(l, sizeof(l), "%s/available_instances", typedir);
	if (r < 0)
		return r;
	if (read_ul(t, l, &avail) < 0)
		return 0; /* type vanished or garbage: nothing to count */
	return writef(t, l, 0444, "%lu\n", avail + 1);
}

/* ---- SR-IOV ------------------------------------------------------------------ */

int fake_vf_bdf(const char *pf_bdf, unsigned int offset, unsigned int stride,
		unsigned int vf, char *buf, size_t len)
{
	unsigned int dom, bus, dev, fn;
	unsigned long long rid;
	int r;

	r = parse_bdf(pf_bdf, &dom, &bus, &dev, &fn);
	if (r < 0)
		return r;
	rid = (bus << 8) | (dev << 3) | fn;
	rid += offset + (unsigned long long)stride * vf;
	if (rid > 0xffff)
		return -ERANGE;
	return fmt(buf, len, "%04x:%02x:%02x.%x", dom, (unsigned int)(rid >> 8),
		   (unsigned int)(rid >> 3) & 0x1f, (unsigned int)rid & 7);
}

int fake_tree_add_sriov_pf(struct fake_tree *t, const char *bdf,
			   const struct fake_pci_info *info,
			   unsigned int totalvfs, unsigned int offset,
			   unsigned int stride, unsigned int vf_device)
{
	char d[PATH_MAX], p[PATH_MAX];
	int r;

	r = fake_tree_add_pci_device(t, bdf, info);
	if (r < 0)
		return r;
	r = pci_dir(bdf, d, sizeof(d));
	if (r < 0)
		return r;
#define ATTR(file, mode, ...)                         \
	do {                                          \
		r = fmt(p, sizeof(p), "%s/" file, d); \
		if (r < 0)                            \
			return r;                     \
		r = writef(t, p, mode, __VA_ARGS__);  \
		if (r < 0)                            \
			return r;                     \
	} while (0)
	ATTR("sriov_totalvfs", 0444, "%u\n", totalvfs);
	ATTR("sriov_numvfs", 0644, "%u\n", 0u);
	ATTR("sriov_offset", 0444, "%u\n", offset);
	ATTR("sriov_stride", 0444, "%u\n", stride);
	ATTR("sriov_vf_device", 0444, "%x\n", vf_device);
	ATTR("sriov_drivers_autoprobe", 0644, "%u\n", 1u);
	ATTR("sriov_vf_total_msix", 0444, "%u\n", 0u);
#undef ATTR
	return 0;
}

static int read_pf_attr(struct fake_tree *t, const char *pf, const char *name,
			unsigned long *v)
{
	char p[PATH_MAX];
	int r;

	r = fmt(p, sizeof(p), "%s/%s", pf, name);
	if (r < 0)
		return r;
	return read_ul(t, p, v);
}

static int vf_destroy(struct fake_tree *t, const char *pf, unsigned long k)
{
	char l[PATH_MAX], vf[PATH_MAX], p[PATH_MAX];
	int r;

	r = fmt(l, sizeof(l), "%s/virtfn%lu", pf, k);
	if (r < 0)
		return r;
	if (fake_tree_resolve_link(t, l, vf, sizeof(vf)) < 0)
		return unlink_rel(t, l);
	r = do_unbind(t, vf);
	if (r < 0)
		return r;
	r = fmt(p, sizeof(p), "sys/class/mdev_bus/%s", base_name(vf));
	if (r < 0)
		return r;
	r = unlink_rel(t, p);
	if (r < 0)
		return r;
	r = iommu_group_del(t, vf);
	if (r < 0)
		return r;
	r = fmt(p, sizeof(p), "sys/bus/pci/devices/%s", base_name(vf));
	if (r < 0)
		return r;
	r = unlink_rel(t, p);
	if (r < 0)
		return r;
	r = fake_tree_remove(t, vf);
	if (r < 0)
		return r;
	return unlink_rel(t, l);
}

static int vf_create(struct fake_tree *t, const char *pf, unsigned long k,
		     unsigned int offset, unsigned int stride,
		     unsigned int vf_device, const char *probe_drv)
{
	struct fake_pci_info info = { .numa_node = -1 };
	char dir[PATH_MAX], vf[PATH_MAX], bdf[32], p[PATH_MAX], buf[32];
	int r;

	r = fake_vf_bdf(base_name(pf), offset, stride, (unsigned int)k, bdf,
			sizeof(bdf));
	if (r < 0)
		return r;
	r = dir_name(pf, dir, sizeof(dir));
	if (r < 0)
		return r;
	r = fmt(vf, sizeof(vf), "%s/%s", dir, bdf);
	if (r < 0)
		return r;
	r = fmt(p, sizeof(p), "sys/bus/pci/devices/%s", bdf);
	if (r < 0)
		return r;
	if (fake_tree_exists(t, vf) || fake_tree_exists(t, p))
		return -EEXIST;
#define HEX(file, field)                                      \
	do {                                                  \
		r = fmt(p, sizeof(p), "%s/" file, pf);        \
		if (r < 0 || read_hex(t, p, &info.field) < 0) \
			info.field = 0xffff;                  \
	} while (0)
	HEX("vendor", vendor);
	HEX("subsystem_vendor", subsystem_vendor);
	HEX("subsystem_device", subsystem_device);
	HEX("class", class);
#undef HEX
	info.device = vf_device;
	r = fmt(p, sizeof(p), "%s/numa_node", pf);
	if (r == 0 && read_small(t, p, buf, sizeof(buf)) > 0)
		info.numa_node = atoi(buf);

	r = add_pci_at(t, vf, &info);
	if (r < 0)
		goto fail;
	r = fmt(p, sizeof(p), "%s/physfn", vf);
	if (r < 0)
		goto fail;
	r = fake_tree_link(t, p, pf);
	if (r < 0)
		goto fail;
	r = fmt(p, sizeof(p), "%s/virtfn%lu", pf, k);
	if (r < 0)
		goto fail;
	r = fake_tree_link(t, p, vf);
	if (r < 0)
		goto fail;
	if (probe_drv) {
		r = ensure_driver(t, "pci", probe_drv);
		if (r < 0)
			goto fail;
		r = do_bind(t, "pci", probe_drv, vf);
		if (r < 0)
			goto fail;
	}
	return 0;
fail:
	/* undo the partial VF by hand: virtfnK may not exist yet */
	do_unbind(t, vf);
	iommu_group_del(t, vf);
	if (fmt(p, sizeof(p), "sys/bus/pci/devices/%s", bdf) == 0) {
		char chk[PATH_MAX];

		if (fake_tree_resolve_link(t, p, chk, sizeof(chk)) == 0 &&
		    !strcmp(chk, vf))
			unlink_rel(t, p);
	}
	fake_tree_remove(t, vf);
	if (fmt(p, sizeof(p), "%s/virtfn%lu", pf, k) == 0)
		unlink_rel(t, p);
	return r;
}

int fake_tree_sriov_set_numvfs(struct fake_tree *t, const char *pfdir_rel,
			       unsigned long numvfs)
{
	char pf[PATH_MAX], p[PATH_MAX], drv[PATH_MAX];
	unsigned long total, cur, offset, stride, autoprobe, k;
	unsigned int vf_device;
	int r;

	r = fake_path_normalize(pfdir_rel, pf, sizeof(pf));
	if (r < 0)
		return r;
	if (read_pf_attr(t, pf, "sriov_totalvfs", &total) < 0)
		return -EIO;
	if (numvfs > total)
		return -ERANGE;
	if (read_pf_attr(t, pf, "sriov_numvfs", &cur) < 0)
		return -EIO;
	if (numvfs == cur)
		return 0;
	r = fmt(p, sizeof(p), "%s/driver", pf);
	if (r < 0)
		return r;
	if (fake_tree_resolve_link(t, p, drv, sizeof(drv)) < 0)
		return -ENOENT; /* no PF driver: cannot configure SR-IOV */
	r = fmt(p, sizeof(p), "%s/sriov_numvfs", pf);
	if (r < 0)
		return r;

	if (numvfs == 0) {
		for (k = 0; k < cur; k++) {
			char l[PATH_MAX], vf[PATH_MAX];

			r = fmt(l, sizeof(l), "%s/virtfn%lu", pf, k);
			if (r < 0)
				return r;
			if (fake_tree_resolve_link(t, l, vf, sizeof(vf)) == 0 &&
			    in_use(t, vf))
				return -EBUSY;
		}
		for (k = 0; k < cur; k++) {
			r = vf_destroy(t, pf, k);
			if (r < 0)
				return r;
		}
		return writef(t, p, 0644, "0\n");
	}
	if (cur)
		return -EBUSY;

	if (read_pf_attr(t, pf, "sriov_offset", &offset) < 0 ||
	    read_pf_attr(t, pf, "sriov_stride", &stride) < 0 ||
	    offset > 0xffff || stride > 0xffff)
		return -EIO;
	r = fmt(p, sizeof(p), "%s/sriov_vf_device", pf);
	if (r < 0)
		return r;
	if (read_hex(t, p, &vf_device) < 0)
		return -EIO;
	if (read_pf_attr(t, pf, "sriov_drivers_autoprobe", &autoprobe) < 0)
		autoprobe = 1;

	for (k = 0; k < numvfs; k++) {
		r = vf_create(t, pf, k, (unsigned int)offset,
			      (unsigned int)stride, vf_device,
			      autoprobe ? base_name(drv) : NULL);
		if (r < 0) {
			while (k-- > 0)
				vf_destroy(t, pf, k);
			return r;
		}
	}
	r = fmt(p, sizeof(p), "%s/sriov_numvfs", pf);
	if (r < 0)
		return r;
	return writef(t, p, 0644, "%lu\n", numvfs);
}

/* ---- driver bind / unbind ------------------------------------------------------ */

static int driver_dir(struct fake_tree *t, const char *bus, const char *drv,
		      char *buf, size_t len)
{
	int r;

	if (!name_ok(bus) || !name_ok(drv))
		return -ENODEV;
	r = fmt(buf, len, "sys/bus/%s/drivers/%s", bus, drv);
	if (r < 0)
		return r;
	return is_dir(t, buf) ? 0 : -ENODEV;
}

static int bus_device(struct fake_tree *t, const char *bus, const char *dev,
		      char *buf, size_t len)
{
	char l[PATH_MAX];
	int r;

	if (!name_ok(dev))
		return -ENODEV;
	r = fmt(l, sizeof(l), "sys/bus/%s/devices/%s", bus, dev);
	if (r < 0)
		return -ENODEV;
	r = fake_tree_resolve_link(t, l, buf, len);
	if (r < 0 || !is_dir(t, buf))
		return -ENODEV;
	return 0;
}

int fake_tree_bind(struct fake_tree *t, const char *bus, const char *driver,
		   const char *dev)
{
	char d[PATH_MAX], devrel[PATH_MAX], p[PATH_MAX], ov[4096];
	int r;

	r = driver_dir(t, bus, driver, d, sizeof(d));
	if (r < 0)
		return r;
	r = bus_device(t, bus, dev, devrel, sizeof(devrel));
	if (r < 0)
		return r;
	r = fmt(p, sizeof(p), "%s/driver_override", devrel);
	if (r < 0)
		return r;
	if (read_small(t, p, ov, sizeof(ov)) >= 0) {
		ov[strcspn(ov, "\n")] = '\0';
		if (ov[0] && strcmp(ov, "(null)") && strcmp(ov, driver))
			return -ENODEV;
	}
	return do_bind(t, bus, driver, devrel);
}

int fake_tree_unbind(struct fake_tree *t, const char *bus, const char *driver,
		     const char *dev)
{
	char d[PATH_MAX], devrel[PATH_MAX], p[PATH_MAX], cur[PATH_MAX];
	int r;

	r = driver_dir(t, bus, driver, d, sizeof(d));
	if (r < 0)
		return r;
	r = bus_device(t, bus, dev, devrel, sizeof(devrel));
	if (r < 0)
		return r;
	r = fmt(p, sizeof(p), "%s/driver", devrel);
	if (r < 0)
		return r;
	if (fake_tree_resolve_link(t, p, cur, sizeof(cur)) < 0 ||
	    strcmp(cur, d))
		return -ENODEV;
	return do_unbind(t, devrel);
}

/* ---- classification and store ---------------------------------------------------- */

const char *fake_attr_kind_name(enum fake_attr_kind kind)
{
	switch (kind) {
	case FAKE_ATTR_PLAIN:
		return "plain";
	case FAKE_ATTR_MDEV_CREATE:
		return "create";
	case FAKE_ATTR_MDEV_REMOVE:
		return "remove";
	case FAKE_ATTR_SRIOV_NUMVFS:
		return "sriov_numvfs";
	case FAKE_ATTR_SRIOV_AUTOPROBE:
		return "sriov_drivers_autoprobe";
	case FAKE_ATTR_DRIVER_OVERRIDE:
		return "driver_override";
	case FAKE_ATTR_DRIVER_BIND:
		return "bind";
	case FAKE_ATTR_DRIVER_UNBIND:
		return "unbind";
	case FAKE_ATTR_INSTANCE_ATTR:
		return "instance_attr";
	}
	return "?";
}

/* Split "sys/bus/<bus>/drivers/<drv>/<file>"; false if REL is not that. */
static bool split_driver_file(const char *rel, char *bus, char *drv, size_t len)
{
	const char *c[7];
	size_t n = 0;
	const char *s = rel;

	while (*s && n < 7) {
		c[n++] = s;
		s += strcspn(s, "/");
		if (*s == '/')
			s++;
	}
	if (n != 6 || *s || strncmp(rel, "sys/bus/", 8) ||
	    strncmp(c[3], "drivers/", 8))
		return false;
	if ((size_t)(c[3] - c[2]) > len || (size_t)(c[5] - c[4]) > len)
		return false;
	memcpy(bus, c[2], (size_t)(c[3] - c[2] - 1));
	bus[c[3] - c[2] - 1] = '\0';
	memcpy(drv, c[4], (size_t)(c[5] - c[4] - 1));
	drv[c[5] - c[4] - 1] = '\0';
	return true;
}

/*
 * The mdev instance directory REL lies in (up to 4 levels up), with
 * *ATTR pointing at the rest of REL.  Returns false if none.
 */
static bool find_instance(struct fake_tree *t, const char *rel, char *inst,
			  size_t len, const char **attr)
{
	char cur[PATH_MAX], l[PATH_MAX];
	int depth;

	if (dir_name(rel, cur, sizeof(cur)) < 0)
		return false;
	for (depth = 0; depth < 4 && strchr(cur, '/'); depth++) {
		if (fmt(l, sizeof(l), "%s/mdev_type", cur) == 0 &&
		    is_link(t, l)) {
			if (fmt(inst, len, "%s", cur) < 0)
				return false;
			*attr = rel + strlen(cur) + 1;
			return true;
		}
		*strrchr(cur, '/') = '\0';
	}
	return false;
}

static int instance_attr_lookup(struct fake_tree *t, const char *rel,
				char *inst, size_t ilen, char *reject,
				size_t rlen, int *err)
{
	char l[PATH_MAX], typedir[PATH_MAX];
	const char *attr;

	if (!find_instance(t, rel, inst, ilen, &attr))
		return 0;
	if (fmt(l, sizeof(l), "%s/mdev_type", inst) < 0 ||
	    fake_tree_resolve_link(t, l, typedir, sizeof(typedir)) < 0)
		return 0;
	return instance_attrs(t, typedir, attr, NULL, reject, rlen, err);
}

enum fake_attr_kind fake_tree_attr_kind(struct fake_tree *t, const char *in)
{
	char rel[PATH_MAX], dir[PATH_MAX], up[PATH_MAX], bus[NAME_MAX + 1],
		drv[NAME_MAX + 1], inst[PATH_MAX], reject[256];
	const char *base;
	int err;

	if (fake_path_normalize(in, rel, sizeof(rel)) < 0 ||
	    strncmp(rel, "sys/", 4) || dir_name(rel, dir, sizeof(dir)) < 0 ||
	    dir_name(dir, up, sizeof(up)) < 0)
		return FAKE_ATTR_PLAIN;
	base = base_name(rel);
	if (!strcmp(base, "create") &&
	    !strcmp(base_name(up), "mdev_supported_types"))
		return FAKE_ATTR_MDEV_CREATE;
	if (!strcmp(base, "remove")) {
		char l[PATH_MAX];

		if (fmt(l, sizeof(l), "%s/mdev_type", dir) == 0 &&
		    is_link(t, l))
			return FAKE_ATTR_MDEV_REMOVE;
	}
	if (!strcmp(base, "sriov_numvfs"))
		return FAKE_ATTR_SRIOV_NUMVFS;
	if (!strcmp(base, "sriov_drivers_autoprobe"))
		return FAKE_ATTR_SRIOV_AUTOPROBE;
	if (!strcmp(base, "driver_override"))
		return FAKE_ATTR_DRIVER_OVERRIDE;
	if (split_driver_file(rel, bus, drv, sizeof(bus))) {
		if (!strcmp(base, "bind"))
			return FAKE_ATTR_DRIVER_BIND;
		if (!strcmp(base, "unbind"))
			return FAKE_ATTR_DRIVER_UNBIND;
	}
	if (instance_attr_lookup(t, rel, inst, sizeof(inst), reject,
				 sizeof(reject), &err) == 1)
		return FAKE_ATTR_INSTANCE_ATTR;
	return FAKE_ATTR_PLAIN;
}

/* kstrtobool() */
static int parse_bool(const char *s, bool *v)
{
	switch (s[0]) {
	case 'y':
	case 'Y':
	case '1':
		*v = true;
		return 0;
	case 'n':
	case 'N':
	case '0':
		*v = false;
		return 0;
	case 'o':
	case 'O':
		if (s[1] == 'n' || s[1] == 'N') {
			*v = true;
			return 0;
		}
		if (s[1] == 'f' || s[1] == 'F') {
			*v = false;
			return 0;
		}
		break;
	}
	return -EINVAL;
}

static int store_instance_attr(struct fake_tree *t, const char *rel,
			       const char *s, const char *raw, size_t len)
{
	char inst[PATH_MAX], reject[256], val[4097], p[PATH_MAX];
	struct stat st;
	int err = 0, r;

	r = instance_attr_lookup(t, rel, inst, sizeof(inst), reject,
				 sizeof(reject), &err);
	if (r < 0)
		return r;
	if (r == 0)
		return -EINVAL;
	r = fmt(val, sizeof(val), "%s", s);
	if (r < 0)
		return r;
	if (val[0] && val[strlen(val) - 1] == '\n')
		val[strlen(val) - 1] = '\0';
	if (reject[0] && err > 0 && !strcmp(val, reject))
		return -err;
	r = abspath(t, rel, p, sizeof(p));
	if (r < 0)
		return r;
	if (lstat(p, &st) < 0)
		return -errno;
	return fake_tree_write_mode(t, rel, raw, len, st.st_mode & 07777);
}

int fake_tree_attr_store(struct fake_tree *t, const char *in, const char *buf,
			 size_t len)
{
	char rel[PATH_MAX], dir[PATH_MAX], s[4097], bus[NAME_MAX + 1],
		drv[NAME_MAX + 1];
	unsigned long v;
	bool b;
	int r;

	r = fake_path_normalize(in, rel, sizeof(rel));
	if (r < 0)
		return r;
	r = dir_name(rel, dir, sizeof(dir));
	if (r < 0)
		return r;
	if (len > sizeof(s) - 1)
		len = sizeof(s) - 1;
	memcpy(s, buf, len);
	s[len] = '\0';

	switch (fake_tree_attr_kind(t, rel)) {
	case FAKE_ATTR_MDEV_CREATE:
		if (len < UUID_LEN || len > UUID_LEN + 1)
			return -EINVAL;
		if (len == UUID_LEN + 1 && s[UUID_LEN] != '\n')
			return -EINVAL;
		s[UUID_LEN] = '\0';
		return fake_tree_mdev_create(t, dir, s);
	case FAKE_ATTR_MDEV_REMOVE:
		if (fake_parse_ul(s, &v) < 0)
			return -EINVAL;
		if (!v)
			return 0;
		return fake_tree_mdev_remove(t, dir);
	case FAKE_ATTR_SRIOV_NUMVFS:
		if (fake_parse_ul(s, &v) < 0 || v > 0xffff)
			return -EINVAL;
		return fake_tree_sriov_set_numvfs(t, dir, v);
	case FAKE_ATTR_SRIOV_AUTOPROBE:
		if (parse_bool(s, &b) < 0)
			return -EINVAL;
		return writef(t, rel, 0644, "%d\n", b ? 1 : 0);
	case FAKE_ATTR_DRIVER_OVERRIDE:
		if (len >= 4096 - 1) /* driver_set_override() */
			return -EINVAL;
		s[strcspn(s, "\n")] = '\0';
		return writef(t, rel, 0644, "%s\n", s[0] ? s : "(null)");
	case FAKE_ATTR_DRIVER_BIND:
	case FAKE_ATTR_DRIVER_UNBIND:
		if (!split_driver_file(rel, bus, drv, sizeof(bus)))
			return -ENODEV;
		/* sysfs_streq(): one trailing newline is ignored */
		if (s[0] && s[strlen(s) - 1] == '\n')
			s[strlen(s) - 1] = '\0';
		if (!strcmp(base_name(rel), "bind"))
			return fake_tree_bind(t, bus, drv, s);
		return fake_tree_unbind(t, bus, drv, s);
	case FAKE_ATTR_INSTANCE_ATTR:
		return store_instance_attr(t, rel, s, buf, len);
	case FAKE_ATTR_PLAIN:
		break;
	}
	return -EINVAL;
}
