/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pci/pci.h>

#include "libvgpu-private.h"
#include "util-sysfs.h"

const struct vgpu_backend *const vgpu_backends[] = {
	&vgpu_backend_mdev,
	&vgpu_backend_sriov,
	&vgpu_backend_vfio_user,
	NULL,
};

struct vgpu_parent *vgpu_parent_alloc(struct vgpu_ctx *ctx,
				      const struct vgpu_backend *backend,
				      const char *id)
{
	struct vgpu_parent *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->id = strdup(id);
	if (!p->id) {
		free(p);
		return NULL;
	}
	p->refcount = 1;
	p->ctx = vgpu_ctx_ref(ctx);
	p->backend = backend;
	p->numa_node = -1;
	return p;
}

static int read_hex16(int fd, const char *name, uint16_t *ret)
{
	long v;
	int r = vgpu_read_attr_long(fd, name, 16, 0, 0xffff, &v);

	if (r == 0)
		*ret = (uint16_t)v;
	return r;
}

int vgpu_parent_read_pci_identity(struct vgpu_parent *p, int devfd)
{
	long cls;
	int r;

	r = read_hex16(devfd, "vendor", &p->vendor);
	if (!r)
		r = read_hex16(devfd, "device", &p->device);
	if (!r)
		r = read_hex16(devfd, "subsystem_vendor", &p->subsystem_vendor);
	if (!r)
		r = read_hex16(devfd, "subsystem_device", &p->subsystem_device);
	if (!r)
		r = vgpu_read_attr_long(devfd, "class", 16, 0, 0xffffff, &cls);
	if (r < 0) {
		warn(p->ctx, "%s: unreadable PCI identity: %s", p->id,
		     strerror(-r));
		return r;
	}
	p->class_code = (uint32_t)cls;
	p->is_pci = true;
	return 0;
}

void vgpu_parent_load_details(struct vgpu_parent *p)
{
	char buf[NAME_MAX + 1];
	long node;
	int fd;

	if (!p->details_pending)
		return;
	p->details_pending = false;
	fd = open(p->syspath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		warn(p->ctx, "parent %s: %s: %s", p->id, p->syspath,
		     strerror(errno));
		return;
	}
	if (vgpu_readlink_base(fd, "subsystem", buf, sizeof(buf)) > 0)
		p->bus = strdup(buf);
	if (vgpu_readlink_base(fd, "driver", buf, sizeof(buf)) > 0)
		p->driver = strdup(buf);
	if (vgpu_read_attr_long(fd, "numa_node", 10, -1, 65535, &node) == 0)
		p->numa_node = (int)node;
	if (p->bus && !strcmp(p->bus, "pci"))
		vgpu_parent_read_pci_identity(p, fd);
	close(fd);
}

static int cmp_parent(const void *a, const void *b)
{
	const struct vgpu_parent *pa = *(struct vgpu_parent *const *)a;
	const struct vgpu_parent *pb = *(struct vgpu_parent *const *)b;
	int r = strcmp(pa->backend->name, pb->backend->name);

	return r ? r : strcmp(pa->id, pb->id);
}

VGPU_EXPORT int vgpu_parent_list(struct vgpu_ctx *ctx,
				 struct vgpu_parent ***ret, size_t *n_ret)
{
	struct vgpu_vec vec = { 0 };

	if (!ctx || !ret || !n_ret)
		return -EINVAL;
	for (size_t i = 0; vgpu_backends[i]; i++) {
		int r = vgpu_backend_on(ctx, i)
				? vgpu_backends[i]->list_parents(ctx, &vec)
				: 0;

		if (r < 0) {
			vgpu_vec_clear(&vec,
				       (void *(*)(void *))vgpu_parent_unref);
			return r;
		}
	}
	vgpu_vec_sort(&vec, cmp_parent);
	*ret = (struct vgpu_parent **)vgpu_vec_steal(&vec, n_ret);
	return 0;
}

VGPU_EXPORT void vgpu_parent_list_free(struct vgpu_parent **list, size_t n)
{
	if (!list)
		return;
	for (size_t i = 0; i < n; i++)
		vgpu_parent_unref(list[i]);
	free(list);
}

static bool valid_id(const char *id)
{
	return id && *id && strlen(id) < 256 && !strchr(id, '/') &&
	       strcmp(id, ".") && strcmp(id, "..");
}

VGPU_EXPORT int vgpu_parent_get(struct vgpu_ctx *ctx, const char *id,
				struct vgpu_parent **ret)
{
	if (!ctx || !ret)
		return -EINVAL;
	if (!valid_id(id))
		return -EINVAL;
	for (size_t i = 0; vgpu_backends[i]; i++) {
		int r = vgpu_backend_on(ctx, i)
				? vgpu_backends[i]->get_parent(ctx, id, ret)
				: -ENODEV;

		if (r != -ENODEV)
			return r;
	}
	return -ENODEV;
}

VGPU_EXPORT struct vgpu_parent *vgpu_parent_ref(struct vgpu_parent *parent)
{
	if (parent)
		parent->refcount++;
	return parent;
}

VGPU_EXPORT struct vgpu_parent *vgpu_parent_unref(struct vgpu_parent *parent)
{
	if (!parent)
		return NULL;
	if (--parent->refcount > 0)
		return parent;
	vgpu_ctx_unref(parent->ctx);
	free(parent->id);
	free(parent->bus);
	free(parent->syspath);
	free(parent->driver);
	free(parent->vendor_name);
	free(parent->device_name);
	free(parent);
	return NULL;
}

VGPU_EXPORT struct vgpu_ctx *vgpu_parent_get_ctx(struct vgpu_parent *parent)
{
	return parent ? parent->ctx : NULL;
}

VGPU_EXPORT const char *vgpu_parent_get_id(struct vgpu_parent *parent)
{
	return parent ? parent->id : NULL;
}

VGPU_EXPORT const char *vgpu_parent_get_backend(struct vgpu_parent *parent)
{
	return parent ? parent->backend->name : NULL;
}

VGPU_EXPORT const char *vgpu_parent_get_bus(struct vgpu_parent *parent)
{
	if (!parent)
		return NULL;
	vgpu_parent_load_details(parent);
	return parent->bus;
}

VGPU_EXPORT const char *vgpu_parent_get_syspath(struct vgpu_parent *parent)
{
	return parent ? parent->syspath : NULL;
}

VGPU_EXPORT const char *vgpu_parent_get_driver(struct vgpu_parent *parent)
{
	if (!parent)
		return NULL;
	vgpu_parent_load_details(parent);
	return parent->driver;
}

VGPU_EXPORT int vgpu_parent_get_numa_node(struct vgpu_parent *parent)
{
	if (!parent)
		return -1;
	vgpu_parent_load_details(parent);
	return parent->numa_node;
}

VGPU_EXPORT int vgpu_parent_get_pci_ids(struct vgpu_parent *parent,
					uint16_t *vendor, uint16_t *device,
					uint16_t *subsystem_vendor,
					uint16_t *subsystem_device,
					uint32_t *class_code)
{
	if (!parent)
		return -EINVAL;
	vgpu_parent_load_details(parent);
	if (!parent->is_pci)
		return -ENODATA;
	if (vendor)
		*vendor = parent->vendor;
	if (device)
		*device = parent->device;
	if (subsystem_vendor)
		*subsystem_vendor = parent->subsystem_vendor;
	if (subsystem_device)
		*subsystem_device = parent->subsystem_device;
	if (class_code)
		*class_code = parent->class_code;
	return 0;
}

/* libpci reports through callbacks with no context pointer. Its warnings
 * (a missing pci.ids) are not ours to print. Its ->error, which must not
 * return, is reached from the name look-up only when malloc fails inside
 * libpci; we keep libpci's own handler for that one case. */
static void pci_quiet(char *msg, ...)
{
	(void)msg;
}

static void lookup_pci_names(struct vgpu_parent *p)
{
	struct vgpu_ctx *ctx = p->ctx;
	char buf[256];
	const char *name;

	p->names_looked_up = true;
	vgpu_parent_load_details(p);
	if (!p->is_pci)
		return;
	if (!ctx->pacc) {
		ctx->pacc = pci_alloc();
		if (!ctx->pacc)
			return;
		ctx->pacc->warning = pci_quiet;
		ctx->pacc->debug = pci_quiet;
	}
	name = pci_lookup_name(ctx->pacc, buf, sizeof(buf),
			       PCI_LOOKUP_VENDOR | PCI_LOOKUP_NO_NUMBERS,
			       p->vendor);
	if (name)
		p->vendor_name = strdup(name);
	name = pci_lookup_name(ctx->pacc, buf, sizeof(buf),
			       PCI_LOOKUP_DEVICE | PCI_LOOKUP_NO_NUMBERS,
			       p->vendor, p->device);
	if (name)
		p->device_name = strdup(name);
	dbg(ctx, "%s: PCI %04x:%04x is %s / %s", p->id, p->vendor, p->device,
	    p->vendor_name ? p->vendor_name : "?",
	    p->device_name ? p->device_name : "?");
}

VGPU_EXPORT const char *vgpu_parent_get_vendor_name(struct vgpu_parent *parent)
{
	if (!parent)
		return NULL;
	if (!parent->names_looked_up)
		lookup_pci_names(parent);
	return parent->vendor_name;
}

VGPU_EXPORT const char *vgpu_parent_get_device_name(struct vgpu_parent *parent)
{
	if (!parent)
		return NULL;
	if (!parent->names_looked_up)
		lookup_pci_names(parent);
	return parent->device_name;
}
