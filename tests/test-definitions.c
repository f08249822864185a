/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Writing definitions the way a directory watcher (libvirt re-reads
 * /etc/mdevctl.d on every change) wants it: one event per write on the
 * definition's own name, never a half-written file; concurrent changes of
 * one definition all survive; temporary files a crashed writer left behind
 * are removed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test-common.h"

#pragma GCC diagnostic ignored "-Wformat-truncation"

#define P  "0000:00:02.0"
#define U1 "5f3a7c9e-2b1d-4e8f-9a6c-0d1e2f3a4b01"
#define U2 "5f3a7c9e-2b1d-4e8f-9a6c-0d1e2f3a4b02"

static struct vgpu_config *config_of(const char *type)
{
	struct vgpu_config *c;

	ck_assert_int_eq(vgpu_config_new(&c), 0);
	ck_assert_int_eq(vgpu_config_set_type(c, type), 0);
	return c;
}

static void define(const char *uuid, unsigned int flags)
{
	struct vgpu_config *c = config_of("i915-GVTg_V5_4");

	ck_assert_int_eq(vgpu_instance_define(fx.ctx, P, uuid, c, flags, NULL),
			 0);
	vgpu_config_unref(c);
}

/*
 * What a watcher of the definitions saw, and what libvirt would make of it.
 * libvirt watches the definitions directory and those below it through
 * GLib, and re-reads every definition when GLib says CHANGES_DONE_HINT,
 * else 100 ms after any other event. GLib says CHANGES_DONE_HINT on
 * IN_CLOSE_WRITE, right after a file moves in (IN_MOVED_TO), and 2 s after
 * a file appeared (IN_CREATE) that is then not closed after writing under
 * that name. So mdevctl's own write (create, write, close one name) costs
 * one re-read, and so must ours.
 */
struct seen {
	int events;	     /* every event */
	int final;	     /* events naming the definition */
	int rereads;	     /* what libvirt would make of it */
	char created[8][64]; /* appeared, not closed after writing yet */
	char what[512];
};

static void drain(int fd, const char *name, struct seen *s)
{
	char buf[16384]
		__attribute__((aligned(__alignof__(struct inotify_event))));
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	bool timer = false;

	while (poll(&pfd, 1, 0) > 0) {
		ssize_t n = read(fd, buf, sizeof(buf));

		ck_assert_int_gt(n, 0);
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;
			const char *nm = ev->len ? ev->name : "";
			size_t used = strlen(s->what);

			p += sizeof(*ev) + ev->len;
			snprintf(s->what + used, sizeof(s->what) - used,
				 " %s:%x", *nm ? nm : ".", ev->mask);
			s->events++;
			if (*nm && !strcmp(nm, name))
				s->final++;
			if (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) {
				s->rereads++;
				timer = false;
				for (int i = 0; i < 8; i++)
					if (!strcmp(s->created[i], nm))
						s->created[i][0] = '\0';
				continue;
			}
			timer = true;
			if ((ev->mask & IN_CREATE) && !(ev->mask & IN_ISDIR))
				for (int i = 0; i < 8; i++)
					if (!s->created[i][0]) {
						snprintf(s->created[i],
							 sizeof(s->created[i]),
							 "%s", nm);
						break;
					}
		}
	}
	s->rereads += timer;
	for (int i = 0; i < 8; i++)
		s->rereads += s->created[i][0] != '\0';
}

START_TEST(a_watcher_sees_one_event_per_written_definition)
{
	char dir[PATH_MAX + 64];
	struct vgpu_config *c;
	struct seen s = { 0 };
	int fd, wd;

	fixture_standard_host();
	define(U2, 0); /* the parent's directory exists from here on */
	snprintf(dir, sizeof(dir), "%s/%s", fx.config, P);
	fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	/* the mask GLib's inotify monitor asks for */
	wd = inotify_add_watch(fd, dir,
			       IN_MODIFY | IN_ATTRIB | IN_MOVED_FROM |
				       IN_MOVED_TO | IN_DELETE | IN_CREATE |
				       IN_DELETE_SELF | IN_UNMOUNT |
				       IN_MOVE_SELF | IN_CLOSE_WRITE);
	ck_assert_int_ge(wd, 0);
	ck_assert_int_ge(
		inotify_add_watch(fd, fx.config,
				  IN_ALL_EVENTS & ~(IN_OPEN | IN_ACCESS |
						    IN_CLOSE_NOWRITE)),
		0);

	/* a new definition moves in finished: one event, one re-read */
	define(U1, 0);
	drain(fd, U1, &s);
	ck_assert_msg(s.events == 1 && s.final == 1 && s.rereads == 1,
		      "define: events%s", s.what);

	/* so does a replaced one */
	memset(&s, 0, sizeof(s));
	define(U1, VGPU_DEFINE_FORCE);
	drain(fd, U1, &s);
	ck_assert_msg(s.events == 1 && s.final == 1 && s.rereads == 1,
		      "define --force: events%s", s.what);

	memset(&s, 0, sizeof(s));
	c = config_of("i915-GVTg_V5_8");
	ck_assert_int_eq(vgpu_instance_modify(fx.ctx, U1, NULL, c), 0);
	vgpu_config_unref(c);
	drain(fd, U1, &s);
	ck_assert_msg(s.events == 1 && s.final == 1 && s.rereads == 1,
		      "modify: events%s", s.what);

	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(vgpu_instance_undefine(fx.ctx, U1, NULL), 0);
	drain(fd, U1, &s);
	ck_assert_msg(s.events == 1 && s.final == 1 && s.rereads == 1,
		      "undefine: events%s", s.what);

	/* and nothing is left where it was staged */
	{
		DIR *d = opendir(fx.dir);
		struct dirent *de;

		ck_assert_ptr_nonnull(d);
		while ((de = readdir(d)))
			ck_assert_msg(!strstr(de->d_name, ".tmp"), "left: %s",
				      de->d_name);
		closedir(d);
	}
	close(fd);
}
END_TEST

static int add_one(struct vgpu_config *c, void *userdata)
{
	char key[32];

	snprintf(key, sizeof(key), "k%02d", *(int *)userdata);
	return vgpu_config_add_attr(c, key, "v", -1);
}

#define WRITERS 50

START_TEST(concurrent_edits_all_survive)
{
	struct vgpu_instance *in;
	struct vgpu_config *c;
	pid_t pids[WRITERS];
	bool seen[WRITERS] = { false };

	fixture_standard_host();
	define(U1, 0);
	for (int i = 0; i < WRITERS; i++) {
		pids[i] = fork();
		ck_assert_int_ge(pids[i], 0);
		if (pids[i] == 0) {
			struct vgpu_ctx *ctx;
			int r;

			/* a context of its own, as another process has */
			if (vgpu_ctx_new(&ctx) < 0 ||
			    vgpu_ctx_set_sysfs_root(ctx, fx.sysroot) < 0 ||
			    vgpu_ctx_set_config_dir(ctx, fx.config) < 0 ||
			    vgpu_ctx_set_runtime_dir(ctx, fx.runtime) < 0)
				_exit(3);
			r = vgpu_instance_edit(ctx, U1, NULL, add_one, &i);
			vgpu_ctx_unref(ctx);
			_exit(r < 0 ? 1 : 0);
		}
	}
	for (int i = 0; i < WRITERS; i++) {
		int st;

		ck_assert_int_eq(waitpid(pids[i], &st, 0), pids[i]);
		ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	ck_assert_int_eq(vgpu_instance_get(fx.ctx, U1, NULL, &in), 0);
	c = vgpu_instance_get_config(in);
	ck_assert_uint_eq(vgpu_config_get_attr_count(c), WRITERS);
	for (size_t i = 0; i < WRITERS; i++) {
		const char *k, *v;

		ck_assert_int_eq(vgpu_config_get_attr(c, i, &k, &v), 0);
		ck_assert(k[0] == 'k');
		seen[atoi(k + 1)] = true;
	}
	for (int i = 0; i < WRITERS; i++)
		ck_assert_msg(seen[i], "k%02d lost", i);
	vgpu_instance_unref(in);
}
END_TEST

static int fail_edit(struct vgpu_config *c, void *userdata)
{
	(void)userdata;
	vgpu_config_set_type(c, "changed-but-refused");
	return -EPERM;
}

START_TEST(edit_errors)
{
	struct vgpu_instance *in;

	fixture_standard_host();
	ck_assert_int_eq(vgpu_instance_edit(fx.ctx, U1, NULL, add_one, NULL),
			 -ENOENT);
	define(U1, 0);
	ck_assert_int_eq(vgpu_instance_edit(NULL, U1, NULL, add_one, NULL),
			 -EINVAL);
	ck_assert_int_eq(vgpu_instance_edit(fx.ctx, NULL, NULL, add_one, NULL),
			 -EINVAL);
	ck_assert_int_eq(vgpu_instance_edit(fx.ctx, U1, NULL, NULL, NULL),
			 -EINVAL);
	ck_assert_int_eq(
		vgpu_instance_edit(fx.ctx, "not-a-uuid", NULL, add_one, NULL),
		-EINVAL);
	ck_assert_int_eq(vgpu_instance_edit(fx.ctx, U1, "../x", add_one, NULL),
			 -EINVAL);
	ck_assert_int_eq(vgpu_instance_edit(fx.ctx, U1, "other", add_one, NULL),
			 -ENOENT);
	/* the callback's error leaves the file as it was */
	ck_assert_int_eq(vgpu_instance_edit(fx.ctx, U1, NULL, fail_edit, NULL),
			 -EPERM);
	ck_assert_int_eq(vgpu_instance_get(fx.ctx, U1, NULL, &in), 0);
	ck_assert_str_eq(vgpu_config_get_type(vgpu_instance_get_config(in)),
			 "i915-GVTg_V5_4");
	vgpu_instance_unref(in);
}
END_TEST

static void make_tmp(const char *name, time_t age)
{
	char path[PATH_MAX + 128];
	struct timespec t[2];
	int fd;

	snprintf(path, sizeof(path), "%s/%s/%s", fx.config, P, name);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "{", 1), 1);
	clock_gettime(CLOCK_REALTIME, &t[0]);
	t[0].tv_sec -= age;
	t[1] = t[0];
	ck_assert_int_eq(futimens(fd, t), 0);
	close(fd);
}

static bool exists(const char *name)
{
	char path[PATH_MAX + 128];

	snprintf(path, sizeof(path), "%s/%s/%s", fx.config, P, name);
	return access(path, F_OK) == 0;
}

START_TEST(temporary_files_of_a_crashed_writer_are_removed)
{
	static const char *const old = "." U1 ".0badc0de.tmp";
	static const char *const young = "." U1 ".12345678.tmp";
	/* names that only look alike are never touched */
	static const char *const keep[] = {
		"." U1 ".0badc0dx.tmp",
		".tmp",
		"." U1 ".tmp",
		U1 ".0badc0de.tmp",
	};

	char staged[PATH_MAX + 128], other[PATH_MAX + 128];
	int fd;

	fixture_standard_host();
	define(U2, 0);
	/* staged next to the definitions directory, by a writer that died */
	snprintf(staged, sizeof(staged), "%s/.mdevctl.d." U1 ".0badc0de.tmp",
		 fx.dir);
	snprintf(other, sizeof(other), "%s/.other.0badc0de.tmp", fx.dir);
	for (int i = 0; i < 2; i++) {
		struct timespec t[2];

		fd = open(i ? other : staged, O_WRONLY | O_CREAT | O_CLOEXEC,
			  0644);
		ck_assert_int_ge(fd, 0);
		clock_gettime(CLOCK_REALTIME, &t[0]);
		t[0].tv_sec -= 3600;
		t[1] = t[0];
		ck_assert_int_eq(futimens(fd, t), 0);
		close(fd);
	}
	make_tmp(old, 3600);
	make_tmp(young, 0);
	for (size_t i = 0; i < sizeof(keep) / sizeof(*keep); i++)
		make_tmp(keep[i], 3600);
	/* the next write into that directory cleans up */
	define(U1, 0);
	ck_assert(!exists(old));
	ck_assert(exists(young)); /* may be another writer's, at work */
	for (size_t i = 0; i < sizeof(keep) / sizeof(*keep); i++)
		ck_assert_msg(exists(keep[i]), "%s removed", keep[i]);
	ck_assert(exists(U1) && exists(U2));
	ck_assert_int_ne(access(staged, F_OK), 0);
	ck_assert_int_eq(access(other, F_OK), 0); /* not ours */
}
END_TEST

int main(void)
{
	Suite *s = suite_create("definitions");
	TCase *tc = tcase_create("write");

	tcase_add_checked_fixture(tc, fixture_setup, fixture_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, a_watcher_sees_one_event_per_written_definition);
	tcase_add_test(tc, concurrent_edits_all_survive);
	tcase_add_test(tc, edit_errors);
	tcase_add_test(tc, temporary_files_of_a_crashed_writer_are_removed);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
