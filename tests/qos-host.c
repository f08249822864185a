/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A static fake host for the CLI test of the usage and QoS verbs:
 *   qos-host DIR
 * builds DIR/sys with an Intel GVT-g instance, an NVIDIA mdev vGPU (with
 * nvidia/vgpu_params), an Intel xe PF whose VF 1 is an active SR-IOV
 * instance (its record in DIR/run), and DIR/proc/interrupts with that VF's
 * vfio-msix lines. The UUIDs are printed, one per line, in that order.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fake-tree.h"

#define GVT    "0000:00:02.0"
#define NV     "0000:3b:00.0"
#define XE     "0000:05:00.0"
#define XE_DIR "sys/devices/pci0000:05/" XE
#define VF0    "0000:05:01.0"
#define U_GVT  "8a1f6a8c-0f0b-4c1e-9d6a-3c8c2f6f2b01"
#define U_NV   "8a1f6a8c-0f0b-4c1e-9d6a-3c8c2f6f2b02"
#define U_XE   "8a1f6a8c-0f0b-4c1e-9d6a-3c8c2f6f2b03"

static int build(struct fake_tree *t)
{
	struct fake_pci_info xe = {
		.vendor = 0x8086,
		.device = 0x56c0,
		.subsystem_vendor = 0x8086,
		.subsystem_device = 0x1234,
		.class = 0x030000,
		.driver = "xe",
		.numa_node = 0,
	};
	int r = 0;

	r = r
		    ?: fake_tree_add_pci_parent(t, GVT, 0x8086, 0x3e92, 0x1028,
						0x0869, 0x030000, "i915", 0);
	r = r
		    ?: fake_tree_add_type(
			       t, GVT, "i915-GVTg_V5_4", "GVTg_V5_4",
			       "low_gm_size: 128MB\nhigh_gm_size: 512MB\n"
			       "fence: 4\nresolution: 1920x1200\nweight: 4\n",
			       "vfio-pci", 1);
	r = r ?: fake_tree_add_instance(t, GVT, "i915-GVTg_V5_4", U_GVT);
	r = r
		    ?: fake_tree_add_pci_parent(t, NV, 0x10de, 0x1e30, 0x10de,
						0x12ba, 0x030000, "nvidia", 1);
	r = r
		    ?: fake_tree_add_type(
			       t, NV, "nvidia-256", "GRID RTX6000-1Q",
			       "num_heads=4, frl_config=60, framebuffer=1024M, "
			       "max_resolution=5120x2880, max_instance=24",
			       "vfio-pci", 24);
	r = r
		    ?: fake_tree_add_instance_attr(t, NV, "nvidia-256",
						   "nvidia/vgpu_params", NULL,
						   0);
	r = r ?: fake_tree_add_instance(t, NV, "nvidia-256", U_NV);
	r = r ?: fake_tree_add_sriov_pf(t, XE, &xe, 2, 8, 2, 0x56c1);
	r = r ?: fake_tree_write(t, XE_DIR "/sriov_drivers_autoprobe", "0\n");
	r = r ?: fake_tree_sriov_set_numvfs(t, XE_DIR, 2);
	for (int i = 1; i <= 2 && !r; i++) {
		char p[256];

		snprintf(p, sizeof(p),
			 XE_DIR "/sriov_admin/vf%d/profile/sched_priority", i);
		r = fake_tree_write(t, p, "low [normal] high\n");
		snprintf(p, sizeof(p),
			 XE_DIR "/sriov_admin/vf%d/profile/exec_quantum_ms", i);
		r = r ?: fake_tree_write(t, p, "0\n");
		snprintf(p, sizeof(p),
			 XE_DIR "/sriov_admin/vf%d/profile/preempt_timeout_us",
			 i);
		r = r ?: fake_tree_write(t, p, "640000\n");
		snprintf(p, sizeof(p),
			 XE_DIR "/sriov_admin/vf%d/profile/vram_quota", i);
		r = r ?: fake_tree_write(t, p, "1073741824\n");
	}
	r = r ?: fake_tree_add_driver(t, "pci", "vfio-pci");
	r = r ?: fake_tree_bind(t, "pci", "vfio-pci", VF0);
	r = r
		    ?: fake_tree_write(t, "run/sriov/instances/" U_XE,
				       "parent=" XE "\nvf=" VF0
				       "\ntype=xe-default\nmodel=xe\n");
	r = r
		    ?: fake_tree_write(
			       t, "proc/interrupts",
			       "           CPU0       CPU1\n"
			       " 150:          3          4   IR-PCI-MSIX-" VF0
			       "    0-edge      vfio-msix[0](" VF0 ")\n"
			       " 151:          0        100   IR-PCI-MSIX-" VF0
			       "    1-edge      vfio-msix[1](" VF0 ")\n");
	return r;
}

int main(int argc, char **argv)
{
	struct fake_tree *t;
	int r;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	mkdir(argv[1], 0755);
	r = fake_tree_new(argv[1], &t);
	if (r == 0) {
		r = build(t);
		fake_tree_free(t);
	}
	if (r < 0) {
		fprintf(stderr, "%s: building the host failed: %s\n", argv[0],
			strerror(-r));
		return 1;
	}
	printf("%s\n%s\n%s\n", U_GVT, U_NV, U_XE);
	return 0;
}
