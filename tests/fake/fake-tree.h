/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fake-tree: build and mutate a fake sysfs tree inside a directory.
 *
 * The tree lives at DIR/sys/... and DIR/etc/mdevctl.d, laid out like the
 * real kernel's sysfs: real directories under sys/devices, relative
 * symlinks everywhere else (sys/class/mdev_bus, sys/bus/.../devices,
 * driver, subsystem, iommu_group, mdev_type, physfn, virtfnN ...), so the
 * directory may be bind-mounted on /sys.
 *
 * All state lives in the filesystem; struct fake_tree only holds the root
 * path and options.  Everything returns 0 (or a documented non-negative
 * value) on success and a negative errno on failure.  Nothing here is
 * thread-safe by itself: callers that mutate the same tree from several
 * threads (the FUSE daemon) must serialize the "kernel operations".
 *
 * Paths called "rel" are relative to DIR, e.g. "sys/bus/mdev/devices";
 * a leading '/' is ignored.
 *
 * Hidden metadata files (never present on a real system; the daemon reads
 * them, and hides them from readdir):
 *
 *   <typedir>/.fake-instance-attrs
 *	One line per vendor attribute that every instance of the type gets:
 *	    relpath [reject-value errno]
 *	relpath is relative to the instance dir (e.g. "nvidia/vgpu_params");
 *	the file is created empty, mode 0644.  Writing a value equal to
 *	reject-value (after stripping one trailing newline) fails with errno
 *	(a number or a name such as EBUSY); anything else replaces the file
 *	content.  Blank lines and lines starting with '#' are ignored.
 *   <typedir>/.fake-full-errno
 *	errno returned by create when available_instances is 0 (number or
 *	name).  Default ENOSPC (vendor drivers with get_available); the
 *	kernel's own counter returns EUSERS.
 *   <devdir>/.in-use
 *	Marker: removing this mdev instance (remove) or this VF
 *	(sriov_numvfs=0 on its PF) fails with EBUSY.
 */
#ifndef FAKE_TREE_H
#define FAKE_TREE_H

#include <stdbool.h>
#include <stddef.h>

struct fake_tree;

/* ---- lifetime ---------------------------------------------------------- */

/*
 * Create the skeleton under DIR (created if missing): sys/devices,
 * sys/class/mdev_bus, sys/bus/mdev/{devices,drivers}, sys/bus/pci/{devices,
 * drivers}, sys/kernel/iommu_groups and etc/mdevctl.d.
 */
int fake_tree_new(const char *dir, struct fake_tree **ret);
/* Wrap an existing tree without creating anything (used by the daemon). */
int fake_tree_open(const char *dir, struct fake_tree **ret);
void fake_tree_free(struct fake_tree *t);
const char *fake_tree_root(const struct fake_tree *t);
/* Sleep this long inside fake_tree_mdev_create(), after the checks. */
void fake_tree_set_create_delay_ms(struct fake_tree *t, unsigned int ms);

/* ---- raw helpers (for malformed trees) --------------------------------- */

/* Write CONTENT (mode 0644), creating parent directories. */
int fake_tree_write(struct fake_tree *t, const char *rel, const char *content);
int fake_tree_write_mode(struct fake_tree *t, const char *rel, const void *data,
			 size_t len, unsigned int mode);
/* Symlink REL -> TARGET, TARGET used verbatim (may dangle or be absolute). */
int fake_tree_symlink(struct fake_tree *t, const char *rel, const char *target);
/* Symlink REL -> relative path from REL's directory to TARGET_REL. */
int fake_tree_link(struct fake_tree *t, const char *rel,
		   const char *target_rel);
int fake_tree_mkdir(struct fake_tree *t, const char *rel);
/* rm -rf; a missing path is not an error. */
int fake_tree_remove(struct fake_tree *t, const char *rel);
/* Read a whole file into a malloc'ed NUL-terminated string (max 1 MiB). */
int fake_tree_read(struct fake_tree *t, const char *rel, char **ret);
bool fake_tree_exists(struct fake_tree *t, const char *rel);

/*
 * Relative path from directory FROM_DIR to TO (both normalized, relative
 * to the same root): ("sys/devices/pci0000:00/0000:00:02.0",
 * "sys/bus/pci") -> "../../../bus/pci".  Returns -ENAMETOOLONG if BUF is
 * too small.
 */
int fake_relpath(const char *from_dir, const char *to, char *buf, size_t len);
/* Lexically normalize ("a/./b/../c" -> "a/c"); -EINVAL if it escapes. */
int fake_path_normalize(const char *in, char *buf, size_t len);
/* Resolve symlink REL (one level) to a normalized root-relative path. */
int fake_tree_resolve_link(struct fake_tree *t, const char *rel, char *buf,
			   size_t len);

/* ---- devices ------------------------------------------------------------ */

struct fake_pci_info {
	unsigned int vendor; /* "0x%04x\n" */
	unsigned int device;
	unsigned int subsystem_vendor;
	unsigned int subsystem_device;
	unsigned int class; /* "0x%06x\n" */
	const char *driver; /* NULL: no driver bound */
	int numa_node;	    /* "%d\n" (-1 is fine) */
};

/*
 * sys/devices/pci<dom>:<bus>/<bdf> with vendor, device, subsystem_vendor,
 * subsystem_device, class, numa_node, driver_override ("(null)\n"), uevent,
 * subsystem -> bus/pci, iommu_group -> kernel/iommu_groups/N, the
 * sys/bus/pci/devices/<bdf> link and, if DRIVER, the driver binding
 * (sys/bus/pci/drivers/<drv>/{bind,unbind,<bdf>} and <dev>/driver).
 */
int fake_tree_add_pci_device(struct fake_tree *t, const char *bdf,
			     const struct fake_pci_info *info);
/* fake_tree_add_pci_device() + fake_tree_register_mdev_parent(). */
int fake_tree_add_pci_parent(struct fake_tree *t, const char *bdf,
			     unsigned int vendor, unsigned int device,
			     unsigned int subvendor, unsigned int subdevice,
			     unsigned int class, const char *driver,
			     int numa_node);
/*
 * sys/bus/<bus>/drivers/<driver>/{bind,unbind} (0200), e.g. ("pci",
 * "vfio-pci") so that tests can bind devices to it.
 */
int fake_tree_add_driver(struct fake_tree *t, const char *bus,
			 const char *driver);
/* sys/devices/css0/<schid>, bus css, driver vfio_ccw; an mdev parent. */
int fake_tree_add_css_parent(struct fake_tree *t, const char *schid);
/* sys/devices/vfio_ap/matrix, bus matrix, driver vfio_ap; an mdev parent. */
int fake_tree_add_ap_matrix(struct fake_tree *t);
/* sys/devices/platform/<name>, bus platform, DRIVER (may be NULL). */
int fake_tree_add_platform_parent(struct fake_tree *t, const char *name,
				  const char *driver);
/*
 * Make the existing device ID (looked up in sys/bus/{pci,css,matrix,
 * platform}/devices) an mdev parent: sys/class/mdev_bus/<id> -> device.
 */
int fake_tree_register_mdev_parent(struct fake_tree *t, const char *id);
/* Root-relative directory of mdev parent ID (via sys/class/mdev_bus). */
int fake_tree_parent_path(struct fake_tree *t, const char *id, char *buf,
			  size_t len);

/* ---- mdev types and instances ------------------------------------------ */

/*
 * <parent>/mdev_supported_types/<type_id>/{name, description, device_api,
 * available_instances, create (0200), devices/}.  NAME / DESCRIPTION are
 * omitted when NULL; DESCRIPTION is written verbatim.
 */
int fake_tree_add_type(struct fake_tree *t, const char *parent_id,
		       const char *type_id, const char *name,
		       const char *description, const char *device_api,
		       unsigned int available_instances);
/*
 * Declare a vendor attribute RELPATH for instances of the type (appended
 * to .fake-instance-attrs).  REJECT_VALUE may be NULL (never rejected);
 * otherwise writing it fails with -REJECT_ERRNO (positive errno value).
 * Only instances created afterwards get the file.
 */
int fake_tree_add_instance_attr(struct fake_tree *t, const char *parent_id,
				const char *type_id, const char *relpath,
				const char *reject_value, int reject_errno);
/* Set the errno for "type full" (see .fake-full-errno). */
int fake_tree_set_full_errno(struct fake_tree *t, const char *parent_id,
			     const char *type_id, int err);
/* An already existing mdev: same code path as writing "create". */
int fake_tree_add_instance(struct fake_tree *t, const char *parent_id,
			   const char *type_id, const char *uuid);

/* ---- SR-IOV ------------------------------------------------------------- */

/*
 * A PCI device (as fake_tree_add_pci_device) that is also an SR-IOV PF:
 * sriov_totalvfs, sriov_numvfs ("0"), sriov_offset, sriov_stride,
 * sriov_vf_device ("%x"), sriov_drivers_autoprobe ("1").
 */
int fake_tree_add_sriov_pf(struct fake_tree *t, const char *bdf,
			   const struct fake_pci_info *info,
			   unsigned int totalvfs, unsigned int offset,
			   unsigned int stride, unsigned int vf_device);
/* BDF of VF number VF (0-based) of PF_BDF: rid + offset + stride * vf. */
int fake_vf_bdf(const char *pf_bdf, unsigned int offset, unsigned int stride,
		unsigned int vf, char *buf, size_t len);

/* ---- "kernel" operations (what the daemon runs on writes) --------------- */

/* Parse like kstrtoul(s, 0): +, 0x / 0 prefixes, one trailing '\n'. */
int fake_parse_ul(const char *s, unsigned long *ret);

enum fake_attr_kind {
	FAKE_ATTR_PLAIN = 0,	   /* ordinary file */
	FAKE_ATTR_MDEV_CREATE,	   /* <type>/create */
	FAKE_ATTR_MDEV_REMOVE,	   /* <instance>/remove */
	FAKE_ATTR_SRIOV_NUMVFS,	   /* <pf>/sriov_numvfs */
	FAKE_ATTR_SRIOV_AUTOPROBE, /* <pf>/sriov_drivers_autoprobe */
	FAKE_ATTR_DRIVER_OVERRIDE, /* <dev>/driver_override */
	FAKE_ATTR_DRIVER_BIND,	   /* sys/bus/<b>/drivers/<d>/bind */
	FAKE_ATTR_DRIVER_UNBIND,   /* sys/bus/<b>/drivers/<d>/unbind */
	FAKE_ATTR_INSTANCE_ATTR,   /* declared vendor instance attribute */
};

/* Classify REL (a regular file).  Never fails: unknown -> FAKE_ATTR_PLAIN. */
enum fake_attr_kind fake_tree_attr_kind(struct fake_tree *t, const char *rel);
const char *fake_attr_kind_name(enum fake_attr_kind kind);

/*
 * Run the kernel "store" for REL with the LEN bytes at BUF (LEN is capped
 * to 4096 like kernfs does with PAGE_SIZE; callers should do the same and
 * report a short write).  Returns 0 or a
 * negative errno exactly as the kernel's write(2) would.  REL must not be
 * FAKE_ATTR_PLAIN (-EINVAL).
 */
int fake_tree_attr_store(struct fake_tree *t, const char *rel, const char *buf,
			 size_t len);

/* The individual operations, with already parsed arguments. */
int fake_tree_mdev_create(struct fake_tree *t, const char *typedir_rel,
			  const char *uuid);
int fake_tree_mdev_remove(struct fake_tree *t, const char *instdir_rel);
int fake_tree_sriov_set_numvfs(struct fake_tree *t, const char *pfdir_rel,
			       unsigned long numvfs);
int fake_tree_bind(struct fake_tree *t, const char *bus, const char *driver,
		   const char *dev);
int fake_tree_unbind(struct fake_tree *t, const char *bus, const char *driver,
		     const char *dev);

/* errno name <-> number for the metadata files ("EBUSY" or "16"). */
int fake_errno_parse(const char *s);

#endif /* FAKE_TREE_H */
