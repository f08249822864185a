/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Build a synthetic host for the benchmarks:
 *   mkhost DIR PARENTS TYPES INSTANCES
 * PARENTS PCI mdev parents with TYPES types each (GVT-g style descriptions),
 * INSTANCES active instances spread over them, and as many definitions. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fake-tree.h"

int main(int argc, char **argv)
{
	struct fake_tree *t;
	unsigned long np, nt, ni, nd;
	char *end;
	int r;

	if (argc != 5 && argc != 6) {
		fprintf(stderr,
			"usage: %s DIR PARENTS TYPES INSTANCES [DEFINED]\n",
			argv[0]);
		return 2;
	}
	np = strtoul(argv[2], &end, 10);
	nt = strtoul(argv[3], &end, 10);
	ni = strtoul(argv[4], &end, 10);
	/* the first DEFINED instances get a definition (default: all) */
	nd = argc == 6 ? strtoul(argv[5], &end, 10) : ni;
	if (!np || !nt || np > 65536 || nt > 1000) {
		fprintf(stderr, "%s: bad sizes\n", argv[0]);
		return 2;
	}
	mkdir(argv[1], 0755);
	r = fake_tree_new(argv[1], &t);
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", argv[1], strerror(-r));
		return 1;
	}
	for (unsigned long p = 0; p < np; p++) {
		char bdf[32];

		snprintf(bdf, sizeof(bdf), "0000:%02lx:%02lx.0", (p >> 5) + 1,
			 p & 31);
		r = fake_tree_add_pci_parent(t, bdf, 0x8086, 0x3e92, 0x1028,
					     0x0869, 0x030000, "i915",
					     (int)(p & 1));
		for (unsigned long k = 0; k < nt && r >= 0; k++) {
			char id[64], name[64], desc[256];
			unsigned long per_type =
				(ni + np * nt - 1) / (np * nt) + 1;

			snprintf(id, sizeof(id), "i915-GVTg_V5_%lu", k);
			snprintf(name, sizeof(name), "GVTg_V5_%lu", k);
			snprintf(
				desc, sizeof(desc),
				"low_gm_size: %luMB\nhigh_gm_size: %luMB\nfence: 4\n"
				"resolution: 1920x1200\nweight: %lu\n",
				64 * (k + 1), 384 * (k + 1), k + 1);
			r = fake_tree_add_type(t, bdf, id, name, desc,
					       "vfio-pci",
					       (unsigned int)per_type);
		}
		if (r < 0)
			break;
	}
	for (unsigned long i = 0; i < ni && r >= 0; i++) {
		unsigned long p = i % np, k = (i / np) % nt;
		char bdf[32], id[64], uuid[40], rel[256], json[256];

		snprintf(bdf, sizeof(bdf), "0000:%02lx:%02lx.0", (p >> 5) + 1,
			 p & 31);
		snprintf(id, sizeof(id), "i915-GVTg_V5_%lu", k);
		snprintf(uuid, sizeof(uuid), "%08lx-0000-4000-8000-%012lx",
			 i & 0xffffffffUL, i & 0xffffffffffffUL);
		r = fake_tree_add_instance(t, bdf, id, uuid);
		if (r < 0)
			break;
		if (i >= nd)
			continue;
		snprintf(rel, sizeof(rel), "etc/mdevctl.d/%s/%s", bdf, uuid);
		snprintf(
			json, sizeof(json),
			"{\n  \"mdev_type\": \"%s\",\n  \"start\": \"%s\",\n  \"attrs\": []\n}",
			id, i & 1 ? "auto" : "manual");
		r = fake_tree_write(t, rel, json);
	}
	fake_tree_free(t);
	if (r < 0) {
		fprintf(stderr, "%s: building the host failed: %s\n", argv[0],
			strerror(-r));
		return 1;
	}
	return 0;
}
