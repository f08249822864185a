/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libvgpu-provider.h"
#include "provider-child.h"
#include "sim-device.h"

struct sim {
	uint64_t scratch, src, len;
	/* migration: the state is {SIM_MIG_MAGIC, scratch}, 16 bytes */
	uint64_t image[2];
	size_t image_pos;
	enum vgpu_migration_state mig;
	unsigned int arcs; /* state changes seen, readable at BAR0 0x18 */
	struct vgpu_device *dev;
	int thread_r;	  /* BAR0 0x28: a DMA from another thread */
	uint32_t dma_err; /* BAR0 0x30: the last doorbell's DMA errno */
};

/* a DMA read from a thread that is not the dispatcher: -EREMOTE for
 * message-only windows */
static void *other_thread(void *data)
{
	struct sim *s = data;
	uint8_t tmp[16];

	__atomic_store_n(&s->thread_r,
			 vgpu_device_dma_read(s->dev, s->src, tmp, sizeof(tmp)),
			 __ATOMIC_RELEASE);
	return NULL;
}

#define SIM_MIG_MAGIC 0x73696d6d69677231ull

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int bar0_access(struct vgpu_device *dev, unsigned int region,
		       uint64_t off, void *buf, uint32_t count, bool is_write,
		       void *userdata)
{
	struct sim *s = userdata;
	uint64_t v = 0;

	if (count > 8 || (off & 3))
		return -EINVAL;
	if (!is_write) {
		if (off == 0)
			v = s->scratch;
		else if (off == 8)
			v = s->src;
		else if (off == 0x10)
			v = s->len;
		else if (off == 0x18)
			v = s->arcs;
		else if (off == 0x28)
			v = (uint64_t)(int64_t)__atomic_load_n(
				&s->thread_r, __ATOMIC_ACQUIRE);
		else if (off == 0x30)
			v = s->dma_err;
		memcpy(buf, &v, count);
		return 0;
	}
	memcpy(&v, buf, count);
	if (off == 0x20)
		_exit(0); /* vanish in the middle of a request */
	if (off == 0x28) {
		pthread_t t;

		s->dev = dev;
		s->thread_r = 1; /* not done yet */
		if (pthread_create(&t, NULL, other_thread, s))
			return -EAGAIN;
		pthread_detach(t);
		return 0;
	}
	if (off == 0) {
		s->scratch = v;
	} else if (off == 8) {
		s->src = v;
	} else if (off == 0x10) {
		s->len = v;
	} else if (off == 4) {
		uint8_t tmp[4096];
		int r;

		if (s->len > sizeof(tmp))
			return -EINVAL;
		r = vgpu_device_dma_read(dev, s->src, tmp, s->len);
		s->dma_err = (uint32_t)-r;
		if (r < 0)
			return r;
		for (uint64_t i = 0; i < s->len; i++)
			tmp[i] = (uint8_t)~tmp[i];
		r = vgpu_device_dma_write(dev, s->src + s->len, tmp, s->len);
		s->dma_err = (uint32_t)-r;
		if (r < 0)
			return r;
		vgpu_device_irq_trigger(dev, VGPU_IRQ_MSI, 0);
	}
	return 0;
}

static int sim_mig_state(struct vgpu_device *dev,
			 enum vgpu_migration_state state, void *userdata)
{
	struct sim *s = userdata;

	s->arcs++;
	if (state == VGPU_MIG_STOP_COPY || state == VGPU_MIG_PRE_COPY ||
	    state == VGPU_MIG_RESUMING) {
		s->image[0] = state == VGPU_MIG_RESUMING ? 0 : SIM_MIG_MAGIC;
		s->image[1] = s->scratch;
		s->image_pos = 0;
	}
	/* leaving RESUMING: check what was loaded */
	if (s->mig == VGPU_MIG_RESUMING && state == VGPU_MIG_STOP) {
		if (s->image_pos != sizeof(s->image) ||
		    s->image[0] != SIM_MIG_MAGIC)
			return -EINVAL;
		s->scratch = s->image[1];
	}
	s->mig = state;
	return 0;
}

static ssize_t sim_mig_read(struct vgpu_device *dev, void *buf, size_t len,
			    void *userdata)
{
	struct sim *s = userdata;
	size_t n = sizeof(s->image) - s->image_pos;

	if (n > len)
		n = len;
	memcpy(buf, (uint8_t *)s->image + s->image_pos, n);
	s->image_pos += n;
	return (ssize_t)n;
}

static int sim_mig_write(struct vgpu_device *dev, const void *buf, size_t len,
			 void *userdata)
{
	struct sim *s = userdata;

	if (len > sizeof(s->image) - s->image_pos)
		return -EFBIG;
	memcpy((uint8_t *)s->image + s->image_pos, buf, len);
	s->image_pos += len;
	return 0;
}

/* BAR4: 8 GiB, trapped; reads return the low 32 bits of the offset, so a
 * client can see that offsets above 4 GiB arrive whole */
static int bar4_access(struct vgpu_device *dev, unsigned int region,
		       uint64_t off, void *buf, uint32_t count, bool is_write,
		       void *userdata)
{
	uint32_t v = (uint32_t)(off >> 32) ^ (uint32_t)off;

	(void)dev;
	(void)region;
	(void)userdata;
	if (count != 4)
		return -EINVAL;
	if (!is_write)
		memcpy(buf, &v, 4);
	return 0;
}

static int sim_create(struct vgpu_device *dev, const char *type_id,
		      void *userdata)
{
	struct sim *s = userdata;
	int r;

	(void)type_id;
	r = vgpu_device_set_pci_ids(dev, 0x1af4, 0x10f0, 0x1af4, 0x1100,
				    0x030000, 1);
	if (!r)
		r = vgpu_device_setup_region(dev, VGPU_REGION_BAR0, 4096,
					     VGPU_REGION_F_READ |
						     VGPU_REGION_F_WRITE,
					     bar0_access, s);
	if (!r)
		r = vgpu_device_setup_region(
			dev, VGPU_REGION_BAR2, 1 << 20,
			VGPU_REGION_F_READ | VGPU_REGION_F_WRITE |
				VGPU_REGION_F_MEM | VGPU_REGION_F_64BIT |
				VGPU_REGION_F_PREFETCH,
			NULL, NULL);
	if (!r)
		r = vgpu_device_region_add_sparse(dev, VGPU_REGION_BAR2, 0,
						  1 << 19);
	if (!r)
		r = vgpu_device_setup_region(dev, VGPU_REGION_BAR4, 8ULL << 30,
					     VGPU_REGION_F_READ |
						     VGPU_REGION_F_WRITE |
						     VGPU_REGION_F_64BIT,
					     bar4_access, NULL);
	if (!r)
		r = vgpu_device_setup_irq(dev, VGPU_IRQ_INTX, 1);
	if (!r)
		r = vgpu_device_setup_irq(dev, VGPU_IRQ_MSI, 1);
	if (!r)
		r = vgpu_device_setup_irq(dev, VGPU_IRQ_MSIX, 4);
	if (!r)
		r = vgpu_device_add_cap_msi(dev, 1, NULL);
	if (!r)
		r = vgpu_device_add_cap_msix(dev, 4, 0, 0x800, 0, 0xc00, NULL);
	if (!r)
		r = vgpu_device_add_cap_pcie(dev, NULL);
	return r;
}

static int sim_main(const char *path, const char *runtime, int ready_fd,
		    bool threaded)
{
	struct vgpu_provider_ops ops = { .size = sizeof(ops),
					 .create = sim_create,
					 .migration_state = sim_mig_state,
					 .migration_read = sim_mig_read,
					 .migration_write = sim_mig_write };
	struct vgpu_provider *p;
	struct vgpu_ctx *ctx;
	struct sim s = { .mig = VGPU_MIG_RUNNING };
	char ok = 1;
	int r;

	signal(SIGTERM, on_term);
	if (vgpu_ctx_new(&ctx) < 0)
		return 2;
	vgpu_ctx_set_log_fn(ctx, NULL, NULL);
	r = runtime ? vgpu_ctx_set_runtime_dir(ctx, runtime) : 0;
	if (!r)
		r = vgpu_provider_new(ctx, "sim0", &ops, &s, &p);
	if (!r)
		r = vgpu_provider_set_dma_timeout(p, SIM_DMA_TIMEOUT_MS);
	if (!r && runtime)
		r = vgpu_provider_listen_control(p, NULL);
	if (!r)
		r = vgpu_provider_add_type(p, "sim-1g", "sim 1G", "fb=1024M",
					   2);
	if (!r)
		r = vgpu_provider_create_device(p, "sim-1g", SIM_UUID, path,
						NULL);
	if (r < 0) {
		fprintf(stderr, "sim: %s\n", strerror(-r));
		return 3;
	}
	if (write(ready_fd, &ok, 1) != 1)
		return 4;
	close(ready_fd);
	if (threaded) {
		sigset_t term, old;

		/* connections served by threads of their own */
		sigemptyset(&term);
		sigaddset(&term, SIGTERM);
		sigprocmask(SIG_BLOCK, &term, &old);
		r = vgpu_provider_start_thread(p);
		while (!r && !stop)
			sigsuspend(&old);
	}
	while (!stop) {
		r = vgpu_provider_dispatch(p, 100);
		if (r < 0 && r != -EINTR) {
			fprintf(stderr, "sim: dispatch: %s\n", strerror(-r));
			return 5;
		}
	}
	vgpu_provider_unref(p);
	vgpu_ctx_unref(ctx);
	return 0;
}

struct sim_args {
	const char *path, *runtime;
	bool threaded;
};

static int sim_child(void *arg, int ready_fd)
{
	struct sim_args *a = arg;

	return sim_main(a->path, a->runtime, ready_fd, a->threaded);
}

static pid_t start(const char *path, const char *runtime, bool threaded)
{
	struct sim_args a = { path, runtime, threaded };

	return child_start(sim_child, &a);
}

pid_t sim_start_mode(const char *path, bool threaded)
{
	return start(path, NULL, threaded);
}

pid_t sim_start_managed(const char *runtime_dir)
{
	return start(NULL, runtime_dir, false);
}

pid_t sim_start(const char *path)
{
	return sim_start_mode(path, false);
}
