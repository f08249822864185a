/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Not in the 6.1 uAPI headers of Debian 12: the iommufd ABI (Linux 6.2+)
 * and the VFIO cdev binding (6.6+), declared from the documented layout.
 * Internal; shared with the unit tests' fake kernel.
 */
#ifndef VGPU_IOMMUFD_ABI_H
#define VGPU_IOMMUFD_ABI_H

#include <linux/types.h>
#include <linux/vfio.h>

#ifndef VFIO_DEVICE_BIND_IOMMUFD
struct vfio_device_bind_iommufd {
	__u32 argsz;
	__u32 flags;
	__s32 iommufd;
	__u32 out_devid;
};
#define VFIO_DEVICE_BIND_IOMMUFD _IO(VFIO_TYPE, VFIO_BASE + 18)
struct vfio_device_attach_iommufd_pt {
	__u32 argsz;
	__u32 flags;
	__u32 pt_id;
};
#define VFIO_DEVICE_ATTACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 19)
#endif
/* migration v2 additions of 6.2: PRE_COPY and its estimate */
#ifndef VFIO_MIG_GET_PRECOPY_INFO
struct vfio_precopy_info {
	__u32 argsz;
	__u32 flags;
	__aligned_u64 initial_bytes;
	__aligned_u64 dirty_bytes;
};
#define VFIO_MIG_GET_PRECOPY_INFO _IO(VFIO_TYPE, VFIO_BASE + 21)
#endif
#define VGPU_IOMMUFD_TYPE ';'
struct vgpu_iommu_ioas_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_ioas_id;
};
struct vgpu_iommu_destroy {
	__u32 size;
	__u32 id;
};
struct vgpu_iommu_ioas_iova_ranges {
	__u32 size;
	__u32 ioas_id;
	__u32 num_iovas;
	__u32 reserved;
	__aligned_u64 allowed_iovas;
	__aligned_u64 out_iova_alignment;
};
struct vgpu_iommu_ioas_map {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__u32 reserved;
	__aligned_u64 user_va;
	__aligned_u64 length;
	__aligned_u64 iova;
};
struct vgpu_iommu_ioas_unmap {
	__u32 size;
	__u32 ioas_id;
	__aligned_u64 iova;
	__aligned_u64 length;
};
/* dirty tracking through a hardware page table (Linux 6.7+) */
struct vgpu_iommu_hwpt_alloc {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 pt_id;
	__u32 out_hwpt_id;
	__u32 reserved;
	__u32 data_type;
	__u32 data_len;
	__aligned_u64 data_uptr;
};
struct vgpu_iommu_hwpt_set_dirty_tracking {
	__u32 size;
	__u32 flags;
	__u32 hwpt_id;
	__u32 reserved;
};
struct vgpu_iommu_hwpt_get_dirty_bitmap {
	__u32 size;
	__u32 hwpt_id;
	__u32 flags;
	__u32 reserved;
	__aligned_u64 iova;
	__aligned_u64 length;
	__aligned_u64 page_size;
	__aligned_u64 data;
};
#define VGPU_HWPT_ALLOC_DIRTY_TRACKING	   (1u << 1)
#define VGPU_HWPT_DIRTY_TRACKING_ENABLE	   (1u << 0)
#define VGPU_IOMMU_DESTROY		   _IO(VGPU_IOMMUFD_TYPE, 0x80)
#define VGPU_IOMMU_IOAS_ALLOC		   _IO(VGPU_IOMMUFD_TYPE, 0x81)
#define VGPU_IOMMU_IOAS_IOVA_RANGES	   _IO(VGPU_IOMMUFD_TYPE, 0x84)
#define VGPU_IOMMU_IOAS_MAP		   _IO(VGPU_IOMMUFD_TYPE, 0x85)
#define VGPU_IOMMU_IOAS_UNMAP		   _IO(VGPU_IOMMUFD_TYPE, 0x86)
#define VGPU_IOMMU_HWPT_ALLOC		   _IO(VGPU_IOMMUFD_TYPE, 0x89)
#define VGPU_IOMMU_HWPT_SET_DIRTY_TRACKING _IO(VGPU_IOMMUFD_TYPE, 0x8b)
#define VGPU_IOMMU_HWPT_GET_DIRTY_BITMAP   _IO(VGPU_IOMMUFD_TYPE, 0x8c)
#define VGPU_IOAS_MAP_FIXED_IOVA	   (1u << 0)
#define VGPU_IOAS_MAP_WRITEABLE		   (1u << 1)
#define VGPU_IOAS_MAP_READABLE		   (1u << 2)

#endif
