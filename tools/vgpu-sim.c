/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vgpu-sim — a sample vendor driver: a display vGPU written in user space
 * on libvgpu-provider.h alone, served over vfio-user. Its parent appears to
 * management (vgpuctl parents/types/create/remove/list) through the
 * provider's control socket; every device gets its own vfio-user socket
 * that QEMU (-device vfio-user-pci) or libvgpu's client connects to.
 *
 * The device: BAR0 registers (trapped, see vgpu-sim.h), BAR2 framebuffer
 * (shared memory the client may mmap), MSI, MSI-X, INTx and a DMA engine
 * that copies pixels from guest memory into the framebuffer. Types are
 * sized by framebuffer; they all draw on one memory pool, so the available
 * instances of every type shrink as devices are created.
 *
 * All devices share one copy engine, run by a scheduler that honours each
 * device's QoS knobs (time slice, preemption timeout, priority, weight,
 * frame-rate limit; see vgpu-sim-engine.h), and each reports its usage
 * (engine time, jobs, DMA bytes, interrupts, framebuffer, frames). The
 * display is offered to management as a display source: `vgpuctl vnc`
 * and `vgpuctl screenshot` show it while a VMM drives the device.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include <libvgpu-provider.h>

#include "vgpu-sim.h"
#include "vgpu-sim-engine.h"

#define MAX_SEGS 64

struct sim_type {
	const char *id, *name;
	unsigned int fb_mb, max;
};

static const struct sim_type types[] = {
	{ "sim-16m", "vgpu-sim 16M", 16, 32 },
	{ "sim-64m", "vgpu-sim 64M", 64, 16 },
	{ "sim-256m", "vgpu-sim 256M", 256, 4 },
};

struct sim {
	unsigned int pool_mb, used_mb;
	struct engine *engine;
};

struct simdev {
	struct sim *sim;
	struct vgpu_device *dev;
	struct engine_ctx *ec;
	unsigned int fb_mb;
	pthread_mutex_t lock; /* regs and the job: the client's thread and
			       * the engine's */
	uint32_t regs[1024];
	uint8_t *fb;
	uint64_t fb_size;
	/* a blit by DMA_READ messages (the client mapped the guest memory
	 * without an fd): under way (busy), its target and start, and how
	 * it ended when it ended inside the doorbell's own call (msg_inline) */
	bool busy, msg_inline, msg_finished;
	int msg_status;
	uint32_t msg_dst, msg_len;
	uint64_t msg_t0;
	/* the jobs on the engine, in order: their pinned guest ranges */
	struct {
		uint64_t src;
		uint32_t dst, len;
	} jobs[ENGINE_QUEUE];
	unsigned int j_head, j_len;
	uint64_t irqs;
};

static const struct sim_type *find_type(const char *id)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(types[i].id, id))
			return &types[i];
	return NULL;
}

static int sim_available(struct vgpu_provider *p, const char *type_id,
			 void *userdata)
{
	struct sim *s = userdata;
	const struct sim_type *t = find_type(type_id);

	return t ? (int)((s->pool_mb - s->used_mb) / t->fb_mb) : 0;
}

/* raise the completion interrupt on whatever the client enabled */
static void raise_irq(struct vgpu_device *dev, struct simdev *d)
{
	/* counted first: the guest may ask for usage as soon as it is told */
	__atomic_add_fetch(&d->irqs, 1, __ATOMIC_RELAXED);
	if (vgpu_device_irq_trigger(dev, VGPU_IRQ_MSIX, 0) == 0 ||
	    vgpu_device_irq_trigger(dev, VGPU_IRQ_MSI, 0) == 0 ||
	    vgpu_device_irq_trigger(dev, VGPU_IRQ_INTX, 0) == 0)
		return;
	__atomic_sub_fetch(&d->irqs, 1, __ATOMIC_RELAXED); /* none enabled */
}

/* the display mode registers as a plane; off unless it is XR24 and fits */
static void current_plane(struct simdev *d, struct vgpu_display_plane *pl)
{
	uint32_t fmt = d->regs[VGPU_SIM_REG_FORMAT / 4];
	uint32_t w = d->regs[VGPU_SIM_REG_WIDTH / 4];
	uint32_t h = d->regs[VGPU_SIM_REG_HEIGHT / 4];
	uint32_t stride = d->regs[VGPU_SIM_REG_STRIDE / 4];

	*pl = (struct vgpu_display_plane){ .size = sizeof(*pl),
					   .region = VGPU_SIM_BAR_FB };
	if (fmt == VGPU_SIM_XR24 && w && h && (uint64_t)w * 4 <= stride &&
	    (uint64_t)stride * h <= d->fb_size) {
		pl->drm_format = fmt;
		pl->width = w;
		pl->height = h;
		pl->stride = stride;
	}
}

/* whether framebuffer bytes [dst, dst + len) are on the screen */
static bool on_screen(struct simdev *d, uint32_t dst, uint32_t len)
{
	struct vgpu_display_plane pl;

	current_plane(d, &pl);
	return pl.drm_format && dst < (uint64_t)pl.stride * pl.height && len;
}

/* the engine finished a job (engine thread) */
static void job_done(struct engine_ctx *c, int status, void *data)
{
	struct simdev *d = data;
	uint64_t src;
	uint32_t dst, len;
	bool shown;

	(void)c;
	pthread_mutex_lock(&d->lock);
	src = d->jobs[d->j_head].src;
	dst = d->jobs[d->j_head].dst;
	len = d->jobs[d->j_head].len;
	d->j_head = (d->j_head + 1) % ENGINE_QUEUE;
	d->j_len--;
	pthread_mutex_unlock(&d->lock);
	vgpu_device_dma_unpin(d->dev, src, len);
	pthread_mutex_lock(&d->lock);
	if (status < 0) {
		d->regs[VGPU_SIM_REG_STATUS / 4] |= VGPU_SIM_STATUS_ERROR;
		d->regs[VGPU_SIM_REG_ERROR / 4] = (uint32_t)-status;
	} else {
		d->regs[VGPU_SIM_REG_STATUS / 4] |= VGPU_SIM_STATUS_DONE;
		d->regs[VGPU_SIM_REG_BLITS / 4]++;
	}
	if (!d->j_len)
		d->regs[VGPU_SIM_REG_STATUS / 4] &= ~VGPU_SIM_STATUS_BUSY;
	shown = status == 0 && on_screen(d, dst, len);
	pthread_mutex_unlock(&d->lock);
	if (shown)
		vgpu_device_display_changed(d->dev);
	raise_irq(d->dev, d);
}

/*
 * The end of a blit that went by DMA_READ messages. When the transfer ended
 * inside vgpu_device_dma_read_async() (the doorbell's own call, d->lock
 * held), blit() reports it; otherwise this runs on the thread that serves
 * the connection, after the client's last reply, and ends the blit here.
 */
static void blit_msg_done(struct vgpu_device *dev, int status, void *userdata)
{
	struct simdev *d = userdata;
	bool shown;

	if (d->msg_inline) {
		d->msg_status = status;
		d->msg_finished = true;
		return;
	}
	pthread_mutex_lock(&d->lock);
	d->busy = false;
	if (status < 0) {
		d->regs[VGPU_SIM_REG_STATUS / 4] |= VGPU_SIM_STATUS_ERROR;
		d->regs[VGPU_SIM_REG_ERROR / 4] = (uint32_t)-status;
	} else {
		d->regs[VGPU_SIM_REG_STATUS / 4] |= VGPU_SIM_STATUS_DONE;
		d->regs[VGPU_SIM_REG_BLITS / 4]++;
	}
	if (!d->j_len)
		d->regs[VGPU_SIM_REG_STATUS / 4] &= ~VGPU_SIM_STATUS_BUSY;
	shown = status == 0 && on_screen(d, d->msg_dst, d->msg_len);
	if (status == 0)
		engine_account(d->ec, engine_now_ns() - d->msg_t0, d->msg_len, shown);
	pthread_mutex_unlock(&d->lock);
	if (shown)
		vgpu_device_display_changed(dev);
	raise_irq(dev, d);
}

/*
 * The doorbell: guest [src, src + len) -> framebuffer [dst, dst + len).
 * Pinned guest memory goes to the shared engine's queue for the device
 * (1: queued, the interrupt comes when it is done; up to ENGINE_QUEUE
 * blits may be queued, then -EBUSY); memory the client shared no fd for is
 * read by DMA_READ messages without waiting inside the doorbell (QEMU
 * serves our requests only after it has the doorbell's answer): 1, and
 * blit_msg_done() ends it — or 0 when it was all copied at once; only with
 * nothing queued, so that blits complete in order. Called with d->lock
 * held.
 */
static int blit(struct vgpu_device *dev, struct simdev *d)
{
	uint64_t src = d->regs[VGPU_SIM_REG_SRC_LO / 4] |
		       (uint64_t)d->regs[VGPU_SIM_REG_SRC_HI / 4] << 32;
	uint32_t dst = d->regs[VGPU_SIM_REG_DST / 4];
	uint32_t len = d->regs[VGPU_SIM_REG_LEN / 4];
	struct engine_job job = { .dst = d->fb + dst };
	uint64_t t0;
	int n, r;

	if (d->busy || d->j_len == ENGINE_QUEUE)
		return -EBUSY;
	if (!len || len > d->fb_size || dst > d->fb_size - len)
		return -EINVAL;
	/* pinned: the client cannot unmap the pages while the engine copies */
	n = vgpu_device_dma_pin(dev, src, len, VGPU_DMA_READ, job.seg, MAX_SEGS);
	if (n == -EREMOTE) {
		if (d->j_len)
			return -EBUSY; /* in order: after the queued ones */
		d->busy = true;
		d->msg_dst = dst;
		d->msg_len = len;
		d->msg_t0 = t0 = engine_now_ns();
		d->msg_inline = true;
		d->msg_finished = false;
		r = vgpu_device_dma_read_async(dev, src, d->fb + dst, len,
					       blit_msg_done, d);
		d->msg_inline = false;
		if (r < 0 || d->msg_finished) {
			d->busy = false;
			if (r == 0)
				r = d->msg_status;
			if (r == 0)
				engine_account(d->ec, engine_now_ns() - t0, len,
					       on_screen(d, dst, len));
			return r;
		}
		d->regs[VGPU_SIM_REG_STATUS / 4] |= VGPU_SIM_STATUS_BUSY;
		return 1;
	}
	if (n < 0)
		return n;
	job.n_seg = n;
	job.presents = on_screen(d, dst, len);
	{
		unsigned int t = (d->j_head + d->j_len) % ENGINE_QUEUE;

		d->jobs[t].src = src;
		d->jobs[t].dst = dst;
		d->jobs[t].len = len;
	}
	d->j_len++;
	r = engine_submit(d->ec, &job);
	if (r < 0) {
		d->j_len--;
		vgpu_device_dma_unpin(dev, src, len);
		return r;
	}
	d->regs[VGPU_SIM_REG_STATUS / 4] |= VGPU_SIM_STATUS_BUSY;
	return 1;
}

static int regs_write(struct vgpu_device *dev, struct simdev *d,
		      uint64_t offset, uint32_t v, bool *mode)
{
	switch (offset) {
	case VGPU_SIM_REG_ID:
	case VGPU_SIM_REG_FB_MB:
	case VGPU_SIM_REG_ERROR:
	case VGPU_SIM_REG_BLITS:
		return 0; /* read-only */
	case VGPU_SIM_REG_STATUS:
		d->regs[offset / 4] &= ~(v & ~VGPU_SIM_STATUS_BUSY);
		return 0;
	case VGPU_SIM_REG_DOORBELL:
		if (v & 1) {
			int r = blit(dev, d);

			if (r == 1)
				return 1; /* on the engine */
			if (r < 0) {
				d->regs[VGPU_SIM_REG_STATUS / 4] |=
					VGPU_SIM_STATUS_ERROR;
				d->regs[VGPU_SIM_REG_ERROR / 4] = (uint32_t)-r;
			} else {
				d->regs[VGPU_SIM_REG_STATUS / 4] |=
					VGPU_SIM_STATUS_DONE;
				d->regs[VGPU_SIM_REG_BLITS / 4]++;
			}
			return 2; /* done here: interrupt now */
		}
		return 0;
	case VGPU_SIM_REG_FORMAT:
	case VGPU_SIM_REG_WIDTH:
	case VGPU_SIM_REG_HEIGHT:
	case VGPU_SIM_REG_STRIDE:
		*mode = d->regs[offset / 4] != v;
		d->regs[offset / 4] = v;
		return 0;
	default:
		d->regs[offset / 4] = v;
		return 0;
	}
}

static int regs_access(struct vgpu_device *dev, unsigned int region,
		       uint64_t offset, void *buf, uint32_t count,
		       bool is_write, void *userdata)
{
	struct simdev *d = vgpu_device_get_userdata(dev);
	struct vgpu_display_plane pl;
	bool mode = false, shown;
	uint32_t v;
	int r;

	if (!d)
		return -ENODEV;
	/* registers: aligned 32-bit accesses; the MSI-X table and PBA
	 * (0x800 up) take any size */
	if (offset < 0x800 && (count != 4 || offset % 4))
		return -EINVAL;
	pthread_mutex_lock(&d->lock);
	if (offset >= 0x800) {
		if (is_write)
			memcpy((uint8_t *)d->regs + offset, buf, count);
		else
			memcpy(buf, (uint8_t *)d->regs + offset, count);
		pthread_mutex_unlock(&d->lock);
		return 0;
	}
	if (!is_write) {
		memcpy(buf, &d->regs[offset / 4], 4);
		pthread_mutex_unlock(&d->lock);
		return 0;
	}
	memcpy(&v, buf, 4);
	r = regs_write(dev, d, offset, v, &mode);
	if (mode)
		current_plane(d, &pl);
	shown = r == 2 && !(d->regs[VGPU_SIM_REG_STATUS / 4] & VGPU_SIM_STATUS_ERROR) &&
		on_screen(d, d->regs[VGPU_SIM_REG_DST / 4], d->regs[VGPU_SIM_REG_LEN / 4]);
	pthread_mutex_unlock(&d->lock);
	/* the provider is called with no lock of ours held */
	if (shown)
		vgpu_device_display_changed(dev);
	if (r == 2)
		raise_irq(dev, d);
	if (mode)
		vgpu_device_set_display(dev, &pl);
	return 0;
}

/* region 9, libvgpu's display plane descriptor (read-only) */
static int plane_access(struct vgpu_device *dev, unsigned int region,
			uint64_t offset, void *buf, uint32_t count,
			bool is_write, void *userdata)
{
	struct simdev *d = vgpu_device_get_userdata(dev);
	uint32_t desc[VGPU_PLANE_DESC_SIZE / 4] = { 0 };
	struct vgpu_display_plane pl;

	if (!d)
		return -ENODEV;
	if (is_write)
		return -EPERM;
	pthread_mutex_lock(&d->lock);
	current_plane(d, &pl);
	pthread_mutex_unlock(&d->lock);
	desc[VGPU_PLANE_DESC_VERSION / 4] = 1;
	desc[VGPU_PLANE_DESC_REGION / 4] = VGPU_SIM_BAR_FB;
	/* only XR24, and only a mode that fits the framebuffer */
	desc[VGPU_PLANE_DESC_FORMAT / 4] = pl.drm_format;
	desc[VGPU_PLANE_DESC_WIDTH / 4] = pl.width;
	desc[VGPU_PLANE_DESC_HEIGHT / 4] = pl.height;
	desc[VGPU_PLANE_DESC_STRIDE / 4] = pl.stride;
	memset(buf, 0, count);
	if (offset < sizeof(desc))
		memcpy(buf, (uint8_t *)desc + offset,
		       count < sizeof(desc) - offset ? count
						     : sizeof(desc) - offset);
	return 0;
}

/* attribute resolution=WxH: the display starts in that XR24 mode */
static int parse_resolution(const char *v, uint32_t *w, uint32_t *h)
{
	unsigned long a, b;
	char *end;

	errno = 0;
	a = strtoul(v, &end, 10);
	if (errno || end == v || *end != 'x' || !a || a > 8192)
		return -EINVAL;
	v = end + 1;
	b = strtoul(v, &end, 10);
	if (errno || end == v || *end || !b || b > 8192)
		return -EINVAL;
	*w = (uint32_t)a;
	*h = (uint32_t)b;
	return 0;
}

static int setup_device(struct vgpu_device *dev, const struct sim_type *t,
			void **fb)
{
	int r = vgpu_device_set_pci_ids(dev, VGPU_SIM_VENDOR, VGPU_SIM_DEVICE,
					VGPU_SIM_VENDOR, VGPU_SIM_DEVICE,
					VGPU_SIM_CLASS, 1);

	if (!r)
		r = vgpu_device_setup_region(dev, VGPU_SIM_BAR_REGS, 4096,
					     VGPU_REGION_F_READ |
						     VGPU_REGION_F_WRITE,
					     regs_access, NULL);
	if (!r)
		r = vgpu_device_setup_region(
			dev, VGPU_SIM_BAR_FB, (uint64_t)t->fb_mb << 20,
			VGPU_REGION_F_READ | VGPU_REGION_F_WRITE |
				VGPU_REGION_F_MEM | VGPU_REGION_F_64BIT |
				VGPU_REGION_F_PREFETCH,
			NULL, NULL);
	if (!r)
		r = vgpu_device_region_get_mem(dev, VGPU_SIM_BAR_FB, fb);
	if (!r)
		r = vgpu_device_setup_region(dev, VGPU_SIM_REGION_PLANE, 4096,
					     VGPU_REGION_F_READ, plane_access,
					     NULL);
	if (!r)
		r = vgpu_device_region_set_type(dev, VGPU_SIM_REGION_PLANE,
						VGPU_REGION_TYPE_GFX,
						VGPU_REGION_SUBTYPE_GFX_PLANE);
	if (!r)
		r = vgpu_device_setup_irq(dev, VGPU_IRQ_INTX, 1);
	if (!r)
		r = vgpu_device_setup_irq(dev, VGPU_IRQ_MSI, 1);
	if (!r)
		r = vgpu_device_setup_irq(dev, VGPU_IRQ_MSIX, 4);
	/* error and request interrupts: QEMU wires both up (without ERR it
	 * warns that it cannot enable error recovery) */
	if (!r)
		r = vgpu_device_setup_irq(dev, VGPU_IRQ_ERR, 1);
	if (!r)
		r = vgpu_device_setup_irq(dev, VGPU_IRQ_REQ, 1);
	if (!r)
		r = vgpu_device_add_cap_msi(dev, 1, NULL);
	if (!r)
		r = vgpu_device_add_cap_msix(dev, 4, VGPU_SIM_BAR_REGS, 0x800,
					     VGPU_SIM_BAR_REGS, 0xc00, NULL);
	if (!r)
		r = vgpu_device_add_cap_pcie(dev, NULL);
	return r;
}

static int sim_create_attrs(struct vgpu_device *dev, const char *type_id,
			    const struct vgpu_device_attr *attrs, size_t n,
			    void *userdata)
{
	struct sim *s = userdata;
	const struct sim_type *t = find_type(type_id);
	struct vgpu_display_plane pl;
	uint32_t w = 0, h = 0;
	struct simdev *d;
	void *fb;
	int r;

	if (!t)
		return -ENOENT;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(attrs[i].key, "resolution") ||
		    parse_resolution(attrs[i].value, &w, &h) < 0 ||
		    (uint64_t)w * 4 * h > (uint64_t)t->fb_mb << 20) {
			fprintf(stderr, "vgpu-sim: attribute %s=%s refused (vgpu-sim knows "
				"resolution=WxH, within the framebuffer)\n", attrs[i].key,
				attrs[i].value);
			return -EINVAL;
		}
	}
	if (s->pool_mb - s->used_mb < t->fb_mb)
		return -ENOSPC;
	r = setup_device(dev, t, &fb);
	if (r < 0)
		return r;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->ec = engine_ctx_new(s->engine, job_done, d);
	if (!d->ec) {
		free(d);
		return -ENOMEM;
	}
	pthread_mutex_init(&d->lock, NULL);
	d->sim = s;
	d->dev = dev;
	d->fb_mb = t->fb_mb;
	d->fb = fb;
	d->fb_size = (uint64_t)t->fb_mb << 20;
	d->regs[VGPU_SIM_REG_ID / 4] = VGPU_SIM_ID;
	d->regs[VGPU_SIM_REG_FB_MB / 4] = t->fb_mb;
	if (w) {
		d->regs[VGPU_SIM_REG_FORMAT / 4] = VGPU_SIM_XR24;
		d->regs[VGPU_SIM_REG_WIDTH / 4] = w;
		d->regs[VGPU_SIM_REG_HEIGHT / 4] = h;
		d->regs[VGPU_SIM_REG_STRIDE / 4] = w * 4;
	}
	vgpu_device_set_userdata(dev, d);
	s->used_mb += t->fb_mb;
	/* the display source, from the start (off until a mode is set) */
	current_plane(d, &pl);
	return vgpu_device_set_display(dev, &pl);
}

static void sim_destroy(struct vgpu_device *dev, void *userdata)
{
	struct sim *s = userdata;
	struct simdev *d = vgpu_device_get_userdata(dev);

	if (!d)
		return;
	/* the engine lets go of the device first */
	engine_ctx_free(d->ec);
	for (unsigned int i = 0; i < d->j_len; i++) {
		unsigned int j = (d->j_head + i) % ENGINE_QUEUE;

		vgpu_device_dma_unpin(dev, d->jobs[j].src, d->jobs[j].len);
	}
	s->used_mb -= d->fb_mb;
	vgpu_device_set_userdata(dev, NULL);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

static int sim_reset(struct vgpu_device *dev, void *userdata)
{
	struct simdev *d = vgpu_device_get_userdata(dev);

	if (d) {
		/* blits under way end on their own */
		pthread_mutex_lock(&d->lock);
		d->regs[VGPU_SIM_REG_STATUS / 4] &= VGPU_SIM_STATUS_BUSY;
		d->regs[VGPU_SIM_REG_ERROR / 4] = 0;
		pthread_mutex_unlock(&d->lock);
	}
	return 0;
}

/* QoS: libvgpu's knobs in their order (time slice, preemption timeout,
 * priority, weight, frame-rate limit) are the engine's */
static int sim_qos_set(struct vgpu_device *dev, unsigned int knob,
		       uint64_t value, void *userdata)
{
	struct simdev *d = vgpu_device_get_userdata(dev);

	(void)userdata;
	if (!d)
		return -ENODEV;
	if (knob >= ENGINE_KNOBS)
		return -EOPNOTSUPP;
	return engine_set(d->ec, (enum engine_knob)knob, value);
}

static int sim_qos_get(struct vgpu_device *dev, unsigned int knob,
		       uint64_t *value, void *userdata)
{
	struct simdev *d = vgpu_device_get_userdata(dev);

	(void)userdata;
	if (!d)
		return -ENODEV;
	if (knob >= ENGINE_KNOBS)
		return -EOPNOTSUPP;
	*value = engine_get(d->ec, (enum engine_knob)knob);
	return 0;
}

static int sim_usage(struct vgpu_device *dev, struct vgpu_device_usage *u,
		     void *userdata)
{
	struct simdev *d = vgpu_device_get_userdata(dev);
	struct engine_usage eu;

	(void)userdata;
	if (!d)
		return -ENODEV;
	engine_ctx_usage(d->ec, &eu);
	u->engine_busy_ns = eu.busy_ns;
	u->work_items = eu.jobs;
	u->dma_bytes = eu.bytes;
	u->interrupts = __atomic_load_n(&d->irqs, __ATOMIC_RELAXED);
	u->fb_bytes = d->fb_size;
	u->frames = eu.frames;
	u->reported = 0x3f; /* all six */
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vgpu-sim [OPTIONS]\n"
		"A sample display vGPU served over vfio-user.\n\n"
		"  --parent ID        the parent id (default vgpu-sim0)\n"
		"  --pool MIB         framebuffer memory shared by all devices "
		"(default 512)\n"
		"  --runtime-dir DIR  where the sockets go (default /run/vgpu, "
		"or $VGPU_RUNTIME_DIR)\n"
		"  -h, --help         this text\n\n"
		"Runs until SIGTERM or SIGINT. Prints \"ready\" once management "
		"can reach it.\n\n"
		"Its devices share one copy engine, scheduled by their QoS (time "
		"slice,\npreemption timeout, priority, weight, frame-rate limit), and "
		"report their\nusage; their displays can be watched with vgpuctl vnc. "
		"One attribute at\ncreation: resolution=WxH, the display's first "
		"mode (XR24).\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "parent", required_argument, NULL, 'p' },
		{ "pool", required_argument, NULL, 'm' },
		{ "runtime-dir", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct vgpu_provider_ops ops = {
		.size = sizeof(ops),
		.destroy = sim_destroy,
		.reset = sim_reset,
		.available = sim_available,
		.qos_set = sim_qos_set,
		.qos_get = sim_qos_get,
		.usage = sim_usage,
		.create_attrs = sim_create_attrs,
	};
	const char *parent = "vgpu-sim0", *runtime = NULL;
	struct sim s = { .pool_mb = 512 };
	struct vgpu_provider *p = NULL;
	struct vgpu_ctx *ctx = NULL;
	struct engine_stats st;
	sigset_t stop;
	char *end;
	int c, sig, r;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			parent = optarg;
			break;
		case 'm':
			errno = 0;
			s.pool_mb = (unsigned int)strtoul(optarg, &end, 10);
			if (errno || *end || !s.pool_mb || s.pool_mb > 1u << 20) {
				fprintf(stderr, "vgpu-sim: bad --pool %s\n", optarg);
				return 2;
			}
			break;
		case 'R':
			runtime = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	/* the runner's threads inherit the mask: signals come to sigwait() */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	r = engine_new(&s.engine);
	if (!r)
		r = vgpu_ctx_new(&ctx);
	if (!r && runtime)
		r = vgpu_ctx_set_runtime_dir(ctx, runtime);
	if (!r)
		r = vgpu_provider_new(ctx, parent, &ops, &s, &p);
	for (size_t i = 0; !r && i < sizeof(types) / sizeof(types[0]); i++) {
		char desc[64];

		snprintf(desc, sizeof(desc), "framebuffer=%uM, max_instance=%u",
			 types[i].fb_mb, types[i].max);
		r = vgpu_provider_add_type(p, types[i].id, types[i].name, desc,
					   types[i].max);
	}
	if (!r)
		r = vgpu_provider_listen_control(p, NULL);
	if (!r)
		r = vgpu_provider_start_thread(p);
	if (r < 0) {
		fprintf(stderr, "vgpu-sim: %s\n", strerror(-r));
		vgpu_provider_unref(p);
		vgpu_ctx_unref(ctx);
		engine_free(s.engine);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	sigwait(&stop, &sig);
	vgpu_provider_unref(p);
	vgpu_ctx_unref(ctx);
	engine_get_stats(s.engine, &st);
	/* for the scheduler's benchmark */
	fprintf(stderr, "vgpu-sim: engine: %llu slices, %llu ns busy, %llu ns scheduling\n",
		(unsigned long long)st.slices, (unsigned long long)st.busy_ns,
		(unsigned long long)st.sched_ns);
	engine_free(s.engine);
	return 0;
}
