/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * In-process enumeration benchmark over a synthetic host (built by mkhost):
 * every parent, every type with all its attributes, every active and defined
 * instance — against a floor that makes the same system calls a minimal
 * reader must make (readdir, and open/read/close of the same files, readlink
 * of the same links) with no objects, parsing or sorting. Prints both and
 * the ratio. No timing assertion: machines here are shared and noisy.
 *   bench-enum HOSTDIR [ROUNDS]
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libvgpu.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t sink;

static void slurp(int dirfd, const char *name)
{
	char buf[4096];
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf));
	if (n > 0)
		sink += (size_t)n;
	close(fd);
}

static void floor_round(const char *sys, const char *conf)
{
	char path[PATH_MAX], target[PATH_MAX];
	struct dirent *pe, *te, *ie;
	DIR *pd, *td, *id;

	snprintf(path, sizeof(path), "%s/class/mdev_bus", sys);
	pd = opendir(path);
	while (pd && (pe = readdir(pd))) {
		char types[PATH_MAX + 300];

		if (pe->d_name[0] == '.')
			continue;
		snprintf(types, sizeof(types), "%s/%s/mdev_supported_types",
			 path, pe->d_name);
		td = opendir(types);
		while (td && (te = readdir(td))) {
			int fd;

			if (te->d_name[0] == '.')
				continue;
			fd = openat(dirfd(td), te->d_name,
				    O_RDONLY | O_DIRECTORY);
			slurp(fd, "name");
			slurp(fd, "description");
			slurp(fd, "device_api");
			slurp(fd, "available_instances");
			close(fd);
		}
		if (td)
			closedir(td);
	}
	if (pd)
		closedir(pd);
	snprintf(path, sizeof(path), "%s/bus/mdev/devices", sys);
	id = opendir(path);
	while (id && (ie = readdir(id))) {
		char l[PATH_MAX];

		if (ie->d_name[0] == '.')
			continue;
		sink += (size_t)readlinkat(dirfd(id), ie->d_name, target,
					   sizeof(target));
		snprintf(l, sizeof(l), "%s/mdev_type", ie->d_name);
		sink += (size_t)readlinkat(dirfd(id), l, target,
					   sizeof(target));
		snprintf(l, sizeof(l), "%s/iommu_group", ie->d_name);
		sink += (size_t)readlinkat(dirfd(id), l, target,
					   sizeof(target));
	}
	if (id)
		closedir(id);
	pd = opendir(conf);
	while (pd && (pe = readdir(pd))) {
		int fd;

		if (pe->d_name[0] == '.')
			continue;
		fd = openat(dirfd(pd), pe->d_name, O_RDONLY | O_DIRECTORY);
		td = fdopendir(fd);
		while (td && (te = readdir(td)))
			if (te->d_name[0] != '.')
				slurp(dirfd(td), te->d_name);
		if (td)
			closedir(td);
	}
	if (pd)
		closedir(pd);
}

static size_t lib_round(struct vgpu_ctx *ctx)
{
	struct vgpu_parent **parents;
	struct vgpu_instance **insts;
	size_t np, ni, count = 0;

	if (vgpu_parent_list(ctx, &parents, &np) < 0)
		exit(1);
	for (size_t i = 0; i < np; i++) {
		struct vgpu_type **types;
		size_t nt;

		if (vgpu_type_list(parents[i], &types, &nt) < 0)
			exit(1);
		count += nt;
		vgpu_type_list_free(types, nt);
	}
	vgpu_parent_list_free(parents, np);
	if (vgpu_instance_list(ctx, VGPU_LIST_ACTIVE | VGPU_LIST_DEFINED, NULL,
			       NULL, &insts, &ni) < 0)
		exit(1);
	vgpu_instance_list_free(insts, ni);
	return count + ni;
}

int main(int argc, char **argv)
{
	char sys[PATH_MAX], conf[PATH_MAX];
	int rounds = argc > 2 ? atoi(argv[2]) : 20;
	struct vgpu_ctx *ctx;
	double t0, t_floor, t_lib;
	size_t objects = 0;

	if (argc < 2 || rounds <= 0) {
		fprintf(stderr, "usage: %s HOSTDIR [ROUNDS]\n", argv[0]);
		return 2;
	}
	snprintf(sys, sizeof(sys), "%s/sys", argv[1]);
	snprintf(conf, sizeof(conf), "%s/etc/mdevctl.d", argv[1]);
	if (vgpu_ctx_new(&ctx) < 0 || vgpu_ctx_set_sysfs_root(ctx, sys) < 0 ||
	    vgpu_ctx_set_config_dir(ctx, conf) < 0)
		return 1;
	/* warm the dentry cache for both */
	floor_round(sys, conf);
	lib_round(ctx);
	t0 = now();
	for (int i = 0; i < rounds; i++)
		floor_round(sys, conf);
	t_floor = (now() - t0) / rounds;
	t0 = now();
	for (int i = 0; i < rounds; i++)
		objects = lib_round(ctx);
	t_lib = (now() - t0) / rounds;
	printf("enumeration of %zu types+instances, %d rounds\n", objects,
	       rounds);
	printf("  floor (raw syscalls): %8.3f ms/round\n", t_floor * 1e3);
	printf("  libvgpu             : %8.3f ms/round\n", t_lib * 1e3);
	printf("  ratio libvgpu/floor : %8.2f\n", t_lib / t_floor);
	vgpu_ctx_unref(ctx);
	return sink == 0;
}
