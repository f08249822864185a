/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A fake kernel VFIO for the device API's unit tests: a struct
 * vgpu_vfio_sys that answers the ioctls of one PCI device (9 regions plus a
 * device-specific region 16, a partial IRQ table, a type1 IOMMU with two
 * valid IOVA ranges, a region display plane) and can be told to misbehave.
 */
#ifndef FAKE_VFIO_H
#define FAKE_VFIO_H

#include <stdbool.h>
#include <stdint.h>

#include "device-private.h"

#define FAKE_UUID  "0b1d3b6e-4f4e-4d55-9a8f-2f6c3e0a9b11"
#define FAKE_BDF   "0000:01:00.0"
#define FAKE_GROUP 7
#define FAKE_CDEV  3

enum fake_fd {
	FD_CONTAINER = 100,
	FD_GROUP,
	FD_DEVICE,
	FD_IOMMUFD,
	FD_CDEV,
	FD_DATA
};

/* the saved state of the fake device: FAKE_MIG_BYTES of a pattern */
#define FAKE_MIG_BYTES 10000

struct fake_vfio {
	struct vgpu_vfio_sys sys;
	char root[256];	     /* the fake sysfs root */
	uint8_t config[256]; /* region 7 */
	/* misbehaviour */
	int eintr;		/* the next N calls fail with EINTR */
	bool vanished;		/* every call fails with ENODEV */
	bool group_busy;	/* opening the group gives EBUSY */
	bool iommufd;		/* /dev/iommu and the cdev exist */
	unsigned long fail_req; /* this ioctl fails with fail_errno */
	int fail_errno;
	int fail_region; /* region info of this index misbehaves: */
	enum {
		LIE_NONE,
		LIE_ARGSZ_GROWS,
		LIE_CAP_LOOP,
		LIE_CAP_OOB,
		LIE_ARGSZ_HUGE,
		LIE_SPARSE_OOB,
		LIE_SPARSE_COUNT
	} lie;
	size_t max_xfer;  /* pread/pwrite move at most this (0: all) */
	int zero_reads;	  /* the next N preads return 0 */
	int plane_enomem; /* the next N plane queries fail ENOMEM */
	bool migration;	  /* offers the migration feature */
	/* migration v2: the flags offered (0: STOP_COPY only when
	 * .migration), the state, every arc taken (a strict device: one
	 * direct arc per call), the stream */
	uint64_t mig_flags;
	uint32_t mig_state;
	uint32_t arcs[32];
	int n_arcs;
	int data_fds;	/* data fds handed out */
	size_t mig_pos; /* read position, or bytes loaded */
	uint8_t loaded[FAKE_MIG_BYTES + 16];
	bool mig_fail_resume;	/* RESUMING -> STOP refuses (to ERROR) */
	bool mig_read_too_much; /* read() claims more than asked */
	/* dirty tracking */
	bool dma_logging;	/* the device has DMA logging */
	bool dma_log_no_report; /* ... the kernel cannot report it */
	bool hwpt_dirty;	/* iommufd: dirty-tracking HWPTs exist */
	uint32_t attached_pt;	/* the device's iommufd page table */
	int hwpts;		/* HWPTs alive */
	bool type1_dirty;	/* the type1 IOMMU tracks */
	bool dirty_on;
	uint64_t dirty_pgsize;
	/* VF tokens: the device needs this one when set (else EACCES) */
	char need_token[40];
	uint8_t pf_token[16]; /* what VFIO_DEVICE_FEATURE_PCI_VF_TOKEN set */
	/* records */
	int open_fds;
	int dma_maps, dma_unmaps, ioas_maps;
	uint32_t last_irq_flags, last_irq_index, last_irq_start, last_irq_count;
	int32_t last_irq_fd;
};

/* a fresh fake with its sysfs tree under a new temporary directory */
void fake_vfio_init(struct fake_vfio *f);
void fake_vfio_cleanup(struct fake_vfio *f);

#endif
