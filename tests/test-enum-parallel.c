/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Listings read by worker threads (lib/enum-parallel.c) give what one
 * thread gives: the same instances in the same order, the same errors and
 * the same log, and so do type listings, on fake hosts of several sizes,
 * malformed ones included.
 */
#include <errno.h>
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <sys/wait.h>
#include <sys/stat.h>

#include "enum-parallel.h"
#include "test-common.h"

#pragma GCC diagnostic ignored "-Wformat-truncation"

/* every item is visited exactly once, whatever the number of threads */
static void count_step(void *data, size_t i)
{
	unsigned char *seen = data;

	seen[i]++;
}

START_TEST(every_item_once)
{
	static const size_t sizes[] = { 0, 1, 15, 16, 17, 63, 64, 100, 1000 };
	static const char *const threads[] = { "1", "2", "3", "8" };
	struct vgpu_ctx *ctx;

	/* the context's workers, kept between the calls */
	ck_assert_int_eq(vgpu_ctx_new(&ctx), 0);
	for (size_t t = 0; t < sizeof(threads) / sizeof(*threads); t++) {
		setenv("VGPU_ENUM_THREADS", threads[t], 1);
		for (size_t s = 0; s < sizeof(sizes) / sizeof(*sizes); s++) {
			unsigned char *seen = calloc(sizes[s] + 1, 1);

			ck_assert_ptr_nonnull(seen);
			vgpu_enum_run(ctx, sizes[s], VGPU_ENUM_MIN_ITEMS,
				      count_step, seen);
			for (size_t i = 0; i < sizes[s]; i++)
				ck_assert_uint_eq(seen[i], 1);
			free(seen);
		}
	}
	unsetenv("VGPU_ENUM_THREADS");
	vgpu_ctx_unref(ctx);
}
END_TEST

/* a caller works between starting an enumeration and joining in: every
 * item still runs exactly once, and all have when finish returns */
START_TEST(start_then_finish)
{
	struct vgpu_ctx *ctx;
	static const char *const threads[] = { "1", "2", "8" };

	ck_assert_int_eq(vgpu_ctx_new(&ctx), 0);
	for (size_t t = 0; t < sizeof(threads) / sizeof(*threads); t++) {
		struct vgpu_enum_job a, b;
		unsigned char *sa = calloc(200, 1), *sb = calloc(40, 1);

		ck_assert_ptr_nonnull(sa);
		ck_assert_ptr_nonnull(sb);
		setenv("VGPU_ENUM_THREADS", threads[t], 1);
		vgpu_enum_start(ctx, &a, 200, VGPU_ENUM_MIN_ITEMS, count_step,
				sa);
		/* a second one while the first runs, as a listing does */
		vgpu_enum_start(ctx, &b, 40, VGPU_ENUM_MIN_ITEMS, count_step,
				sb);
		vgpu_enum_finish(&b);
		for (size_t i = 0; i < 40; i++)
			ck_assert_uint_eq(sb[i], 1);
		vgpu_enum_finish(&a);
		for (size_t i = 0; i < 200; i++)
			ck_assert_uint_eq(sa[i], 1);
		free(sa);
		free(sb);
	}
	unsetenv("VGPU_ENUM_THREADS");
	vgpu_ctx_unref(ctx);
}
END_TEST

/* the calling thread takes items one at a time between its own work:
 * every item still runs once; without workers it runs them all, and none
 * is left to take after finish */
START_TEST(help_one_at_a_time)
{
	struct vgpu_ctx *ctx;
	static const char *const threads[] = { "1", "2", "8" };

	ck_assert_int_eq(vgpu_ctx_new(&ctx), 0);
	for (size_t t = 0; t < sizeof(threads) / sizeof(*threads); t++) {
		struct vgpu_enum_job job;
		unsigned char *seen = calloc(300, 1);
		size_t helped = 0;

		ck_assert_ptr_nonnull(seen);
		setenv("VGPU_ENUM_THREADS", threads[t], 1);
		vgpu_enum_start(ctx, &job, 300, VGPU_ENUM_MIN_ITEMS, count_step,
				seen);
		while (vgpu_enum_help(&job))
			helped++;
		vgpu_enum_finish(&job);
		for (size_t i = 0; i < 300; i++)
			ck_assert_uint_eq(seen[i], 1);
		ck_assert_uint_le(helped, 300);
		if (t == 0)
			ck_assert_uint_eq(helped, 300);
		ck_assert(!vgpu_enum_help(&job));
		free(seen);
	}
	unsetenv("VGPU_ENUM_THREADS");
	vgpu_ctx_unref(ctx);
}
END_TEST

/* items used in order, each once and after it ran; none after a failure */
struct ordered {
	unsigned char seen[300]; /* written by the steps */
	size_t next_use, stop_at;
};

static void ordered_step(void *data, size_t i)
{
	((struct ordered *)data)->seen[i]++;
}

static int ordered_use(void *data, size_t i)
{
	struct ordered *o = data;

	ck_assert_uint_eq(i, o->next_use);
	ck_assert_uint_eq(o->seen[i], 1);
	o->next_use++;
	return i == o->stop_at ? -EIO : 0;
}

START_TEST(finish_in_order)
{
	static const char *const threads[] = { "1", "2", "8" };
	struct vgpu_ctx *ctx;

	ck_assert_int_eq(vgpu_ctx_new(&ctx), 0);
	for (size_t t = 0; t < sizeof(threads) / sizeof(*threads); t++) {
		struct vgpu_enum_job job;
		struct ordered *o = calloc(1, sizeof(*o));

		ck_assert_ptr_nonnull(o);
		setenv("VGPU_ENUM_THREADS", threads[t], 1);
		o->stop_at = SIZE_MAX;
		vgpu_enum_start_ordered(ctx, &job, 300, VGPU_ENUM_MIN_ITEMS,
					ordered_step, o);
		ck_assert_int_eq(vgpu_enum_finish_ordered(&job, ordered_use),
				 0);
		ck_assert_uint_eq(o->next_use, 300);
		/* a failure stops the using, not the running */
		memset(o, 0, sizeof(*o));
		o->stop_at = 100;
		vgpu_enum_start_ordered(ctx, &job, 300, VGPU_ENUM_MIN_ITEMS,
					ordered_step, o);
		ck_assert_int_eq(vgpu_enum_finish_ordered(&job, ordered_use),
				 -EIO);
		ck_assert_uint_eq(o->next_use, 101);
		for (size_t i = 0; i < 300; i++)
			ck_assert_uint_eq(o->seen[i], 1);
		free(o);
	}
	unsetenv("VGPU_ENUM_THREADS");
	vgpu_ctx_unref(ctx);
}
END_TEST

START_TEST(thread_count_bounds)
{
	setenv("VGPU_ENUM_THREADS", "8", 1);
	ck_assert_uint_eq(vgpu_enum_threads(NULL, 0, VGPU_ENUM_MIN_ITEMS), 1);
	ck_assert_uint_eq(vgpu_enum_threads(NULL, VGPU_ENUM_MIN_ITEMS - 1,
					    VGPU_ENUM_MIN_ITEMS),
			  1);
	ck_assert_uint_eq(vgpu_enum_threads(NULL, 16, VGPU_ENUM_MIN_ITEMS), 2);
	ck_assert_uint_eq(vgpu_enum_threads(NULL, 24, VGPU_ENUM_MIN_ITEMS), 3);
	ck_assert_uint_eq(vgpu_enum_threads(NULL, 100000, VGPU_ENUM_MIN_ITEMS),
			  8);
	/* a caller's own, higher minimum holds even when threads are forced */
	ck_assert_uint_eq(vgpu_enum_threads(NULL, 63, 64), 1);
	ck_assert_uint_eq(vgpu_enum_threads(NULL, 64, 64), 8);
	setenv("VGPU_ENUM_THREADS", "1", 1);
	ck_assert_uint_eq(vgpu_enum_threads(NULL, 100000, VGPU_ENUM_MIN_ITEMS),
			  1);
	/* malformed: ignored, the CPUs decide (at least one thread) */
	setenv("VGPU_ENUM_THREADS", "0", 1);
	ck_assert_uint_ge(vgpu_enum_threads(NULL, 100000, VGPU_ENUM_MIN_ITEMS),
			  1);
	setenv("VGPU_ENUM_THREADS", "9x", 1);
	ck_assert_uint_le(vgpu_enum_threads(NULL, 100000, VGPU_ENUM_MIN_ITEMS),
			  VGPU_ENUM_MAX_THREADS);
	unsetenv("VGPU_ENUM_THREADS");
	ck_assert_uint_le(vgpu_enum_threads(NULL, 100000, VGPU_ENUM_MIN_ITEMS),
			  VGPU_ENUM_MAX_THREADS);
}
END_TEST

/* rename the tree's @from to @to (both root-relative) */
static int rename_in_tree(const char *from, const char *to)
{
	char a[PATH_MAX], b[PATH_MAX];
	const char *root = fake_tree_root(fx.tree);

	snprintf(a, sizeof(a), "%s/%s", root, from);
	snprintf(b, sizeof(b), "%s/%s", root, to);
	return rename(a, b) < 0 ? -errno : 0;
}

/*
 * A host of @np PCI parents, each with one type and (i % 4) instances; some
 * are malformed: every 5th parent's first instance has no mdev_type link,
 * every 7th parent's class link points at a removed device (as when a
 * parent goes away in the middle of a listing), and every 11th holds an
 * entry that looks like an instance but is not on the bus.
 */
static void build_host(unsigned int np)
{
	char bdf[32], uuid[40], rel[PATH_MAX], path[PATH_MAX];

	for (unsigned int i = 0; i < np; i++) {
		snprintf(bdf, sizeof(bdf), "0000:%02x:%02x.0", 1 + i / 32,
			 i % 32);
		ck_assert_int_eq(fake_tree_add_pci_parent(
					 fx.tree, bdf, 0x10de, 0x1eb8, 0x10de,
					 0x12a2, 0x030200, "nvidia", 0),
				 0);
		ck_assert_int_eq(fake_tree_add_type(fx.tree, bdf, "nvidia-1",
						    "GRID T4-1Q", "x=1",
						    "vfio-pci", 16),
				 0);
		for (unsigned int j = 0; j < i % 4; j++) {
			snprintf(uuid, sizeof(uuid),
				 "%08x-0000-4000-8000-%012x", i, j);
			ck_assert_int_eq(fake_tree_add_instance(fx.tree, bdf,
								"nvidia-1",
								uuid),
					 0);
			if (i % 5 == 1 && j == 0) {
				ck_assert_int_eq(fake_tree_parent_path(
							 fx.tree, bdf, path,
							 sizeof(path)),
						 0);
				snprintf(rel, sizeof(rel), "%s/%s/mdev_type",
					 path, uuid);
				ck_assert_int_eq(fake_tree_remove(fx.tree, rel),
						 0);
			}
		}
		if (i % 11 == 3) {
			ck_assert_int_eq(fake_tree_parent_path(fx.tree, bdf,
							       path,
							       sizeof(path)),
					 0);
			snprintf(rel, sizeof(rel),
				 "%s/deadbeef-0000-4000-8000-000000000000",
				 path);
			ck_assert_int_eq(fake_tree_mkdir(fx.tree, rel), 0);
		}
		if (i % 7 == 6 && i % 4) {
			/* the device goes, its class link and bus entries
			 * stay */
			ck_assert_int_eq(fake_tree_parent_path(fx.tree, bdf,
							       path,
							       sizeof(path)),
					 0);
			snprintf(rel, sizeof(rel), "%s.gone", path);
			ck_assert_int_eq(rename_in_tree(path, rel), 0);
		}
	}
}

/* write @content as the definition @name of parent @bdf */
static void write_definition(const char *bdf, const char *name,
			     const char *content)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", fx.config, bdf);
	mkdir(fx.config, 0755);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/%s", fx.config, bdf, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(content, f);
	ck_assert_int_eq(fclose(f), 0);
}

/*
 * Definitions for the parents of build_host(): (i % 3) per parent, some
 * of running instances, some of none; every 9th parent's first one is not
 * JSON, every 4th parent also has one named in upper case, every 6th a
 * file that is not a UUID, and a directory that is not a parent's.
 */
static void build_definitions(unsigned int np)
{
	char bdf[32], uuid[40];

	for (unsigned int i = 0; i < np; i++) {
		snprintf(bdf, sizeof(bdf), "0000:%02x:%02x.0", 1 + i / 32,
			 i % 32);
		for (unsigned int j = 0; j < i % 3; j++) {
			snprintf(uuid, sizeof(uuid),
				 "%08x-0000-4000-8000-%012x", i, 4 * j);
			write_definition(bdf, uuid,
					 i % 9 == 2 && j == 0
						 ? "{\"mdev_type\": "
						 : "{\"mdev_type\": "
						   "\"nvidia-1\", \"start\": "
						   "\"auto\", \"attrs\": []}");
		}
		if (i % 4 == 1) {
			snprintf(uuid, sizeof(uuid),
				 "%08X-0000-4000-8000-00000000ABCD", i);
			write_definition(bdf, uuid,
					 "{\"mdev_type\": \"nvidia-1\", "
					 "\"start\": \"manual\"}");
		}
		if (i % 6 == 5)
			write_definition(bdf, "not-a-uuid", "{}");
	}
	if (np) {
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/.hidden", fx.config);
		mkdir(path, 0755);
	}
}

/* a listing written out whole: error, objects in order, and the log */
static char *listing(const char *threads, unsigned int flags,
		     const char *parent)
{
	struct vgpu_instance **list = NULL;
	size_t n = 0, len = 0;
	char *out = NULL;
	FILE *f = open_memstream(&out, &len);
	int r;

	ck_assert_ptr_nonnull(f);
	setenv("VGPU_ENUM_THREADS", threads, 1);
	fx.log_len = 0;
	fx.log[0] = '\0';
	r = vgpu_instance_list(fx.ctx, flags, parent, NULL, &list, &n);
	unsetenv("VGPU_ENUM_THREADS");
	fprintf(f, "r=%d n=%zu\n", r, n);
	for (size_t i = 0; r == 0 && i < n; i++) {
		const char *type = vgpu_instance_get_type_id(list[i]);

		fprintf(f, "%s %s %s %s\n", vgpu_instance_get_uuid(list[i]),
			vgpu_instance_get_parent_id(list[i]),
			type ? type : "(none)",
			vgpu_instance_get_syspath(list[i]));
	}
	fprintf(f, "log:\n%s", fx.log);
	fclose(f);
	if (r == 0)
		vgpu_instance_list_free(list, n);
	return out;
}

static const unsigned int host_sizes[] = { 0, 5, 16, 40, 130 };

START_TEST(threads_list_what_one_thread_lists)
{
	unsigned int np = host_sizes[_i];
	char *one, *many;

	build_host(np);
	one = listing("1", VGPU_LIST_ACTIVE, NULL);
	many = listing("8", VGPU_LIST_ACTIVE, NULL);
	ck_assert_str_eq(many, one);
	if (np >= 5) {
		/* the malformed parts were met: no type, and warned */
		ck_assert_ptr_nonnull(strstr(one, "(none)"));
		ck_assert_ptr_nonnull(strstr(one, "no mdev_type link"));
	}
	free(one);
	free(many);
	/* with definitions too (read by threads of their own while the
	 * parents are), strictly or not, and for one parent */
	build_definitions(np);
	one = listing("1", VGPU_LIST_ACTIVE | VGPU_LIST_DEFINED, NULL);
	many = listing("3", VGPU_LIST_ACTIVE | VGPU_LIST_DEFINED, NULL);
	ck_assert_str_eq(many, one);
	if (np >= 16) {
		/* defined only, upper-case name, malformed: all met */
		ck_assert_ptr_nonnull(strstr(one, "-000000000004 "));
		ck_assert_ptr_nonnull(strstr(one, "-00000000abcd "));
		ck_assert_ptr_nonnull(strstr(one, "unusable"));
	}
	free(one);
	free(many);
	one = listing("1", VGPU_LIST_DEFINED | VGPU_LIST_STRICT, NULL);
	many = listing("8", VGPU_LIST_DEFINED | VGPU_LIST_STRICT, NULL);
	ck_assert_str_eq(many, one);
	if (np >= 16)
		ck_assert_ptr_nonnull(strstr(one, "malformed definition"));
	free(one);
	free(many);
	one = listing("1", VGPU_LIST_ACTIVE, "0000:01:01.0");
	many = listing("8", VGPU_LIST_ACTIVE, "0000:01:01.0");
	ck_assert_str_eq(many, one);
	free(one);
	free(many);
}
END_TEST

/* the threads of this process */
static int thread_count(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/*
 * The context's workers: they stay for the next listing, end when idle and
 * with the context, block every signal, and a child of fork() lists
 * without them (the parent's threads are not in it).
 */
START_TEST(workers_of_a_context)
{
	int base = thread_count(), n;
	char *one, *many;
	pid_t pid;
	int status;

	build_host(40);
	one = listing("1", VGPU_LIST_ACTIVE, NULL);
	ck_assert_int_eq(thread_count(), base);
	many = listing("3", VGPU_LIST_ACTIVE, NULL);
	ck_assert_str_eq(many, one);
	free(many);
	/* they wait for the next listing, with every signal blocked */
	n = thread_count();
	ck_assert_int_gt(n, base);
	{
		char path[64], line[256];
		DIR *d = opendir("/proc/self/task");
		struct dirent *de;
		int blocked = 0;

		ck_assert_ptr_nonnull(d);
		while ((de = readdir(d))) {
			FILE *f;

			if (de->d_name[0] == '.' ||
			    atoi(de->d_name) == (int)getpid())
				continue;
			snprintf(path, sizeof(path),
				 "/proc/self/task/%s/status", de->d_name);
			f = fopen(path, "r");
			if (!f)
				continue; /* ended meanwhile */
			while (fgets(line, sizeof(line), f)) {
				unsigned long long m;
				const unsigned long long want =
					1ULL << (SIGINT - 1) |
					1ULL << (SIGTERM - 1) |
					1ULL << (SIGHUP - 1) |
					1ULL << (SIGUSR1 - 1) |
					1ULL << (SIGCHLD - 1);

				if (strncmp(line, "SigBlk:", 7))
					continue;
				m = strtoull(line + 7, NULL, 16);
				/* every worker blocks them */
				ck_assert_uint_eq(m & want, want);
				blocked++;
			}
			fclose(f);
		}
		closedir(d);
		ck_assert_int_gt(blocked, 0);
	}
	/* a child of fork() lists what the parent lists, without hanging on
	 * the parent's workers */
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char *child = listing("3", VGPU_LIST_ACTIVE, NULL);
		int same = !strcmp(child, one);

		/* nothing lost in the child either (valgrind checks it) */
		free(child);
		free(one);
		vgpu_ctx_unref(fx.ctx);
		fx.ctx = NULL;
		_exit(same ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	/* idle, they end (a bound, not a timing assertion) */
	for (int i = 0; i < 200 && thread_count() > base; i++)
		usleep(50000);
	ck_assert_int_eq(thread_count(), base);
	/* and come back for the next listing */
	many = listing("3", VGPU_LIST_ACTIVE, NULL);
	ck_assert_str_eq(many, one);
	free(many);
	ck_assert_int_gt(thread_count(), base);
	/* the context's end joins them */
	vgpu_ctx_unref(fx.ctx);
	fx.ctx = NULL;
	ck_assert_int_eq(thread_count(), base);
	free(one);
}
END_TEST

/*
 * A parent with @nt types, every few of them malformed: no name, a
 * description larger than any sysfs attribute, no device_api, a number that
 * is not one, and entries that are not type directories at all.
 */
static void build_types(const char *bdf, unsigned int nt)
{
	char id[64], rel[PATH_MAX], path[PATH_MAX];
	static char big[3 * 8192];

	memset(big, 'x', sizeof(big) - 1);
	ck_assert_int_eq(fake_tree_add_pci_parent(fx.tree, bdf, 0x8086, 0x3e92,
						  0x1028, 0x0869, 0x030000,
						  "i915", 0),
			 0);
	ck_assert_int_eq(
		fake_tree_parent_path(fx.tree, bdf, path, sizeof(path)), 0);
	for (unsigned int i = 0; i < nt; i++) {
		snprintf(id, sizeof(id), "i915-GVTg_V5_%u", i);
		ck_assert_int_eq(fake_tree_add_type(fx.tree, bdf, id,
						    i % 6 == 1 ? NULL : id,
						    "low_gm_size: 64MB",
						    "vfio-pci", i),
				 0);
		if (i % 6 == 2) {
			snprintf(rel, sizeof(rel),
				 "%s/mdev_supported_types/%s/description", path,
				 id);
			ck_assert_int_eq(fake_tree_write(fx.tree, rel, big), 0);
		}
		snprintf(rel, sizeof(rel), "%s/mdev_supported_types/%s/%s",
			 path, id,
			 i % 6 == 3 ? "device_api" : "available_instances");
		if (i % 6 == 3)
			ck_assert_int_eq(fake_tree_remove(fx.tree, rel), 0);
		if (i % 6 == 4)
			ck_assert_int_eq(fake_tree_write(fx.tree, rel, "7x\n"),
					 0);
		if (i % 6 == 5) {
			snprintf(rel, sizeof(rel),
				 "%s/mdev_supported_types/stray-%u", path, i);
			ck_assert_int_eq(fake_tree_write(fx.tree, rel, "1\n"),
					 0);
		}
	}
}

static const unsigned int type_counts[] = { 0, 3, 15, 16, 17, 63, 64, 130 };

/* one line per type, as the listings below compare them */
static void print_types(FILE *f, struct vgpu_type **list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *name = vgpu_type_get_name(list[i]);
		const char *desc = vgpu_type_get_description(list[i]);
		const char *api = vgpu_type_get_device_api(list[i]);

		fprintf(f, "%s %s [%s] [%s] [%s] %d\n",
			vgpu_parent_get_id(vgpu_type_get_parent(list[i])),
			vgpu_type_get_id(list[i]), name ? name : "-",
			desc ? desc : "-", api ? api : "-",
			vgpu_type_get_available_instances(list[i]));
	}
}

static char *type_listing(const char *threads, const char *bdf)
{
	struct vgpu_parent *p = NULL;
	struct vgpu_type **list = NULL;
	size_t n = 0, len = 0;
	char *out = NULL;
	FILE *f = open_memstream(&out, &len);
	int r;

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(vgpu_parent_get(fx.ctx, bdf, &p), 0);
	setenv("VGPU_ENUM_THREADS", threads, 1);
	fx.log_len = 0;
	fx.log[0] = '\0';
	r = vgpu_type_list(p, &list, &n);
	unsetenv("VGPU_ENUM_THREADS");
	fprintf(f, "r=%d n=%zu\n", r, n);
	if (r == 0)
		print_types(f, list, n);
	fprintf(f, "log:\n%s", fx.log);
	fclose(f);
	if (r == 0)
		vgpu_type_list_free(list, n);
	vgpu_parent_unref(p);
	return out;
}

/* the types of every parent: with @threads NULL one vgpu_type_list() per
 * parent, else one vgpu_type_list_many() with that many threads */
static char *all_types(const char *threads)
{
	struct vgpu_parent **ps;
	struct vgpu_type **list = NULL;
	size_t np, n = 0, len = 0, *counts;
	char *out = NULL;
	FILE *f = open_memstream(&out, &len);
	int r = 0;

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(vgpu_parent_list(fx.ctx, &ps, &np), 0);
	counts = calloc(np + 1, sizeof(*counts));
	ck_assert_ptr_nonnull(counts);
	fx.log_len = 0;
	fx.log[0] = '\0';
	if (threads) {
		setenv("VGPU_ENUM_THREADS", threads, 1);
		r = vgpu_type_list_many(ps, np, &list, &n, counts);
		unsetenv("VGPU_ENUM_THREADS");
		fprintf(f, "r=%d n=%zu\n", r, n);
		for (size_t i = 0, first = 0; r == 0 && i < np;
		     first += counts[i++]) {
			fprintf(f, "%s: %zu\n", vgpu_parent_get_id(ps[i]),
				counts[i]);
			print_types(f, list + first, counts[i]);
		}
		if (r == 0)
			vgpu_type_list_free(list, n);
	} else {
		size_t total = 0;

		for (size_t i = 0; r == 0 && i < np; i++) {
			r = vgpu_type_list(ps[i], &list, &n);
			counts[i] = n;
			total += n;
			if (r == 0)
				vgpu_type_list_free(list, n);
		}
		fprintf(f, "r=%d n=%zu\n", r, r ? 0 : total);
		for (size_t i = 0; r == 0 && i < np; i++) {
			ck_assert_int_eq(vgpu_type_list(ps[i], &list, &n), 0);
			fprintf(f, "%s: %zu\n", vgpu_parent_get_id(ps[i]), n);
			print_types(f, list, n);
			vgpu_type_list_free(list, n);
		}
	}
	fprintf(f, "log:\n%s", fx.log);
	fclose(f);
	free(counts);
	vgpu_parent_list_free(ps, np);
	return out;
}

/* what an unreachable function heard: "backend parent error" lines */
static char left_out[256];
static size_t left_out_len;

static void note_left_out(struct vgpu_ctx *ctx, const char *backend,
			  const char *parent_id, int error, void *userdata)
{
	int k;

	(void)ctx;
	(void)userdata;
	k = snprintf(left_out + left_out_len, sizeof(left_out) - left_out_len,
		     "%s %s %d\n", backend, parent_id, error);
	if (k > 0 && (size_t)k < sizeof(left_out) - left_out_len)
		left_out_len += (size_t)k;
}

/* the types of many parents in one call are those of one call per parent,
 * with the same log, however many threads read them; the first failing
 * parent fails the call and nothing is returned, unless the context has
 * an unreachable function: then it is left out and the others answer */
START_TEST(types_of_many_parents)
{
	static const char *const threads[] = { "1", "3", "8" };
	struct vgpu_parent **ps;
	struct vgpu_type **list = (struct vgpu_type **)&list;
	size_t np, n = 7, counts[1];
	char bdf[32], *one, *many, path[PATH_MAX], rel[PATH_MAX + 16];

	for (unsigned int i = 0; i < 40; i++) {
		snprintf(bdf, sizeof(bdf), "0000:%02x:00.0", 1 + i);
		build_types(bdf, type_counts[i % 8]);
	}
	/* vgpu_type_list() logs its warnings the first time only: one
	 * listing first, then each kind */
	free(all_types(NULL));
	one = all_types(NULL);
	ck_assert_ptr_nonnull(strstr(one, "File too large"));
	for (size_t t = 0; t < sizeof(threads) / sizeof(*threads); t++) {
		many = all_types(threads[t]);
		ck_assert_str_eq(many, one);
		free(many);
	}
	free(one);

	/* counts are optional; no parent gives an empty list */
	ck_assert_int_eq(vgpu_parent_list(fx.ctx, &ps, &np), 0);
	ck_assert_int_eq(vgpu_type_list_many(ps, np, &list, &n, NULL), 0);
	ck_assert_uint_gt(n, 100);
	vgpu_type_list_free(list, n);
	ck_assert_int_eq(vgpu_type_list_many(ps, 0, &list, &n, counts), 0);
	ck_assert_uint_eq(n, 0);
	vgpu_type_list_free(list, n);
	ck_assert_int_eq(vgpu_type_list_many(NULL, 1, &list, &n, NULL),
			 -EINVAL);

	/* a parent whose types went: -ENODEV as vgpu_type_list() says */
	ck_assert_int_eq(fake_tree_parent_path(fx.tree, "0000:15:00.0", path,
					       sizeof(path)),
			 0);
	snprintf(rel, sizeof(rel), "%s/mdev_supported_types", path);
	ck_assert_int_eq(fake_tree_remove(fx.tree, rel), 0);
	for (size_t t = 0; t < sizeof(threads) / sizeof(*threads); t++) {
		list = (struct vgpu_type **)&list;
		n = 7;
		setenv("VGPU_ENUM_THREADS", threads[t], 1);
		ck_assert_int_eq(vgpu_type_list_many(ps, np, &list, &n, NULL),
				 -ENODEV);
		unsetenv("VGPU_ENUM_THREADS");
		ck_assert_ptr_eq(list, (struct vgpu_type **)&list);
		ck_assert_uint_eq(n, 7);
	}
	/* with an unreachable function: that parent and the last one (whose
	 * types went too) are left out and heard of, the others answer */
	ck_assert_int_eq(fake_tree_parent_path(fx.tree, "0000:28:00.0", path,
					       sizeof(path)),
			 0);
	snprintf(rel, sizeof(rel), "%s/mdev_supported_types", path);
	ck_assert_int_eq(fake_tree_remove(fx.tree, rel), 0);
	vgpu_ctx_set_unreachable_fn(fx.ctx, note_left_out, NULL);
	/* errors only: the types' warnings would fill the log */
	vgpu_ctx_set_log_priority(fx.ctx, LOG_ERR);
	for (size_t t = 0; t < sizeof(threads) / sizeof(*threads); t++) {
		size_t *cs = calloc(np, sizeof(*cs)), total = 0;

		ck_assert_ptr_nonnull(cs);
		left_out_len = 0;
		left_out[0] = '\0';
		fx.log_len = 0;
		fx.log[0] = '\0';
		setenv("VGPU_ENUM_THREADS", threads[t], 1);
		ck_assert_int_eq(vgpu_type_list_many(ps, np, &list, &n, cs), 0);
		unsetenv("VGPU_ENUM_THREADS");
		ck_assert_str_eq(left_out, "mdev 0000:15:00.0 -19\n"
					   "mdev 0000:28:00.0 -19\n");
		ck_assert_msg(strstr(fx.log,
				     "mdev parent 0000:15:00.0: its "
				     "types are left out: No such device"),
			      "log: %s", fx.log);
		for (size_t i = 0; i < np; i++) {
			const char *id = vgpu_parent_get_id(ps[i]);
			bool gone = !strcmp(id, "0000:15:00.0") ||
				    !strcmp(id, "0000:28:00.0");

			ck_assert_uint_eq(cs[i] == 0,
					  gone || !type_counts[i % 8]);
			for (size_t k = total; k < total + cs[i]; k++)
				ck_assert_ptr_eq(vgpu_type_get_parent(list[k]),
						 ps[i]);
			total += cs[i];
		}
		ck_assert_uint_eq(total, n);
		vgpu_type_list_free(list, n);
		free(cs);
	}
	vgpu_ctx_set_unreachable_fn(fx.ctx, NULL, NULL);
	vgpu_ctx_set_log_priority(fx.ctx, LOG_DEBUG);
	vgpu_parent_list_free(ps, np);
}
END_TEST

START_TEST(threads_read_types_as_one_thread)
{
	unsigned int nt = type_counts[_i];
	char *one, *many;

	build_types("0000:00:02.0", nt);
	one = type_listing("1", "0000:00:02.0");
	many = type_listing("8", "0000:00:02.0");
	ck_assert_str_eq(many, one);
	if (nt >= 6) {
		/* the malformed parts were met */
		ck_assert_ptr_nonnull(strstr(one, "File too large"));
		ck_assert_ptr_nonnull(strstr(one, "device_api:"));
		ck_assert_ptr_nonnull(strstr(one, "available_instances:"));
		ck_assert_ptr_null(strstr(one, "stray-"));
	}
	free(one);
	free(many);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("enum-parallel");
	TCase *tc = tcase_create("parallel");

	/* building 130 parents takes a while on a loaded machine */
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, every_item_once);
	tcase_add_test(tc, start_then_finish);
	tcase_add_test(tc, help_one_at_a_time);
	tcase_add_test(tc, finish_in_order);
	tcase_add_test(tc, thread_count_bounds);
	suite_add_tcase(s, tc);
	tc = tcase_create("listings");
	tcase_set_timeout(tc, 300);
	tcase_add_checked_fixture(tc, fixture_setup, fixture_teardown);
	tcase_add_loop_test(tc, threads_list_what_one_thread_lists, 0,
			    sizeof(host_sizes) / sizeof(*host_sizes));
	tcase_add_test(tc, workers_of_a_context);
	tcase_add_loop_test(tc, threads_read_types_as_one_thread, 0,
			    sizeof(type_counts) / sizeof(*type_counts));
	tcase_add_test(tc, types_of_many_parents);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
