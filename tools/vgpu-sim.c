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
 *
 * Devices migrate (VFIO migration v2): registers, display mode,
 * framebuffer (pre-copied while running, changed tiles resent), the blits
 * not run yet, interrupt masks and pending bits, QoS — the stream format is
 * in vgpu-sim.h, the scheme in docs/vfio-user.md ("What a provider saves").
 */
#include <endian.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
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
	unsigned int fps; /* --frame-rate-limit: new devices start with it */
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
	/* migration: stopped (STOP, STOP_COPY, RESUMING), the engine holds
	 * nothing of ours and the blits not run yet wait here, unpinned */
	enum vgpu_migration_state mstate;
	bool stopped;
	struct {
		uint64_t src;
		uint32_t dst, len;
	} parked[ENGINE_QUEUE];
	unsigned int n_parked;
	pthread_cond_t popped; /* job_done() took a job off jobs[] */
	uint64_t *eng_dirty;   /* while saving: tiles the engine wrote */
	struct mig_save *save;
	struct mig_load *load;
};

static void mark_engine_dirty(struct simdev *d, uint32_t dst, uint32_t len);
static void save_free(struct simdev *d);
static void load_free(struct simdev *d);
static int sim_mig_state(struct vgpu_device *dev,
			 enum vgpu_migration_state next, void *userdata);
static ssize_t sim_mig_read(struct vgpu_device *dev, void *buf, size_t len,
			    void *userdata);
static int sim_mig_write(struct vgpu_device *dev, const void *buf, size_t len,
			 void *userdata);

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
	/* the registers first, under our lock alone: a migration that stops
	 * the device waits for this part (never for the device's lock) */
	pthread_mutex_lock(&d->lock);
	src = d->jobs[d->j_head].src;
	dst = d->jobs[d->j_head].dst;
	len = d->jobs[d->j_head].len;
	d->j_head = (d->j_head + 1) % ENGINE_QUEUE;
	d->j_len--;
	mark_engine_dirty(d, dst, len);
	if (status < 0) {
		d->regs[VGPU_SIM_REG_STATUS / 4] |= VGPU_SIM_STATUS_ERROR;
		d->regs[VGPU_SIM_REG_ERROR / 4] = (uint32_t)-status;
	} else {
		d->regs[VGPU_SIM_REG_STATUS / 4] |= VGPU_SIM_STATUS_DONE;
		d->regs[VGPU_SIM_REG_BLITS / 4]++;
	}
	if (!d->j_len && !d->n_parked)
		d->regs[VGPU_SIM_REG_STATUS / 4] &= ~VGPU_SIM_STATUS_BUSY;
	shown = status == 0 && on_screen(d, dst, len);
	pthread_cond_broadcast(&d->popped);
	pthread_mutex_unlock(&d->lock);
	/* stopped meanwhile: the library holds the interrupt as pending */
	if (len)
		vgpu_device_dma_unpin(d->dev, src, len);
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
	if (status == 0) {
		mark_engine_dirty(d, d->msg_dst, d->msg_len);
		engine_account(d->ec, engine_now_ns() - d->msg_t0, d->msg_len,
			       shown);
	}
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
static int queue_job(struct vgpu_device *dev, struct simdev *d, uint64_t src,
		     uint32_t dst, uint32_t len, bool inline_ok);

static int blit(struct vgpu_device *dev, struct simdev *d)
{
	uint64_t src = d->regs[VGPU_SIM_REG_SRC_LO / 4] |
		       (uint64_t)d->regs[VGPU_SIM_REG_SRC_HI / 4] << 32;
	uint32_t dst = d->regs[VGPU_SIM_REG_DST / 4];
	uint32_t len = d->regs[VGPU_SIM_REG_LEN / 4];

	if (d->busy || d->j_len + d->n_parked == ENGINE_QUEUE)
		return -EBUSY;
	if (!len || len > d->fb_size || dst > d->fb_size - len)
		return -EINVAL;
	if (d->stopped) {
		/* stopped for migration: it waits with the others */
		d->parked[d->n_parked].src = src;
		d->parked[d->n_parked].dst = dst;
		d->parked[d->n_parked].len = len;
		d->n_parked++;
		d->regs[VGPU_SIM_REG_STATUS / 4] |= VGPU_SIM_STATUS_BUSY;
		return 1;
	}
	return queue_job(dev, d, src, dst, len, true);
}

/* a blit onto the engine (a length of 0: one that was done but not yet
 * reported when it was parked); d->lock held */
static int queue_job(struct vgpu_device *dev, struct simdev *d, uint64_t src,
		     uint32_t dst, uint32_t len, bool inline_ok)
{
	struct engine_job job = { .dst = d->fb + dst };
	uint64_t t0;
	int n = 0, r;

	/* pinned: the client cannot unmap the pages while the engine copies */
	if (len)
		n = vgpu_device_dma_pin(dev, src, len, VGPU_DMA_READ, job.seg,
					MAX_SEGS);
	if (n == -EREMOTE && inline_ok) {
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
			if (r == 0) {
				mark_engine_dirty(d, dst, len);
				engine_account(d->ec, engine_now_ns() - t0, len,
					       on_screen(d, dst, len));
			}
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
		if (len)
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
	shown = r == 2 &&
		!(d->regs[VGPU_SIM_REG_STATUS / 4] & VGPU_SIM_STATUS_ERROR) &&
		on_screen(d, d->regs[VGPU_SIM_REG_DST / 4],
			  d->regs[VGPU_SIM_REG_LEN / 4]);
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
			fprintf(stderr,
				"vgpu-sim: attribute %s=%s refused (vgpu-sim knows "
				"resolution=WxH, within the framebuffer)\n",
				attrs[i].key, attrs[i].value);
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
	if (s->fps)
		engine_set(d->ec, ENGINE_FRAME_RATE_LIMIT, s->fps);
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->popped, NULL);
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
	save_free(d);
	load_free(d);
	pthread_cond_destroy(&d->popped);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

static int sim_reset(struct vgpu_device *dev, void *userdata)
{
	struct simdev *d = vgpu_device_get_userdata(dev);

	if (d) {
		/* blits under way end on their own */
		pthread_mutex_lock(&d->lock);
		/* parked blits are forgotten: the device starts over */
		d->n_parked = 0;
		if (!d->j_len)
			d->regs[VGPU_SIM_REG_STATUS / 4] &=
				~VGPU_SIM_STATUS_BUSY;
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

/* ------------------------------------------------------------------------ */
/* Migration (the stream format is in vgpu-sim.h)
 *
 * Saving: the framebuffer goes in tiles of 4 KiB. The first PRE_COPY pass
 * sends every tile, each later pass (and STOP_COPY) the tiles that changed
 * since they were sent. Two writers change them: the engine (and inline
 * blits), whose writes the device knows exactly and marks in eng_dirty;
 * and the client, who writes the BAR through its own mmap of the memfd,
 * which no one here sees (mprotect() acts on our mapping, not the
 * client's). For those, every tile sent is hashed as sent (the copy in the
 * record, not the live memory, so a write racing with the copy is seen
 * later), with a 64-bit hash seeded at random for each migration, and a
 * pass resends a tile whose live hash differs. STOP_COPY is such a pass
 * with nothing running, so what arrives is the framebuffer as it stopped,
 * but for a change that hashes the same under a seed the guest cannot
 * know: a chance of 2^-64 per changed tile, and only the guest's own
 * picture could be wrong.
 */

#define TILE	   VGPU_SIM_MIG_TILE
#define N_TILES(d) ((size_t)((d)->fb_size / TILE))

struct mig_save {
	uint64_t seed;
	size_t n_tiles, scan;
	uint64_t *hash;
	uint8_t *sent;
	bool header_sent, stop, pass_end;
	int phase;
	uint8_t *out;
	size_t o_len, o_pos;
};

enum {
	PH_REGS,
	PH_IRQS,
	PH_JOBS,
	PH_QOS,
	PH_TILES,
	PH_END,
	PH_DONE
};

struct mig_load {
	uint8_t hdr[8];
	size_t h_len;
	uint32_t type, len;
	uint8_t *buf;
	size_t b_len;
	bool failed, got_header, got_regs, got_irqs, got_jobs, got_qos, got_end;
	uint32_t regs[1024];
	uint8_t irq[5][4];
	struct {
		uint64_t src;
		uint32_t dst, len;
	} jobs[ENGINE_QUEUE];
	unsigned int n_jobs;
	uint64_t qos[ENGINE_KNOBS];
};

/* the interrupt vectors whose state travels, per index (INTx, MSI, MSI-X;
 * ERR and REQ carry no device state: the VMM wires them up again) */
static const unsigned int irq_counts[5] = { 1, 1, 4, 0, 0 };

/* d->lock held */
static void mark_engine_dirty(struct simdev *d, uint32_t dst, uint32_t len)
{
	if (!d->eng_dirty || !len)
		return;
	for (uint64_t t = dst / TILE; t <= ((uint64_t)dst + len - 1) / TILE;
	     t++)
		__atomic_fetch_or(&d->eng_dirty[t / 64], 1ull << (t % 64),
				  __ATOMIC_RELAXED);
}

static uint64_t tile_hash(const uint8_t *p, uint64_t seed)
{
	uint64_t h[4] = { seed, seed ^ 0x9e3779b97f4a7c15ull,
			  seed ^ 0xc2b2ae3d27d4eb4full,
			  seed ^ 0x165667b19e3779f9ull };

	for (size_t i = 0; i < TILE; i += 32) {
		for (int k = 0; k < 4; k++) {
			uint64_t w;

			memcpy(&w, p + i + 8 * k, 8);
			h[k] = (h[k] ^ w) * 0xff51afd7ed558ccdull;
			h[k] ^= h[k] >> 32;
		}
	}
	return (h[0] ^ (h[1] << 1 | h[1] >> 63)) * 0x9e3779b97f4a7c15ull ^
	       (h[2] ^ (h[3] << 7 | h[3] >> 57));
}

static void save_free(struct simdev *d)
{
	struct mig_save *s = d->save;
	uint64_t *ed;

	pthread_mutex_lock(&d->lock);
	ed = d->eng_dirty;
	d->eng_dirty = NULL;
	d->save = NULL;
	pthread_mutex_unlock(&d->lock);
	free(ed);
	if (!s)
		return;
	free(s->hash);
	free(s->sent);
	free(s->out);
	free(s);
}

static void load_free(struct simdev *d)
{
	if (!d->load)
		return;
	free(d->load->buf);
	free(d->load);
	d->load = NULL;
}

static int save_begin(struct simdev *d)
{
	struct mig_save *s = calloc(1, sizeof(*s));
	uint64_t *ed;

	if (!s)
		return -ENOMEM;
	s->n_tiles = N_TILES(d);
	s->hash = calloc(s->n_tiles, sizeof(*s->hash));
	s->sent = calloc(s->n_tiles, 1);
	s->out = malloc(8 + VGPU_SIM_MIG_REC_MAX);
	ed = calloc((s->n_tiles + 63) / 64, sizeof(*ed));
	if (!s->hash || !s->sent || !s->out || !ed ||
	    getrandom(&s->seed, sizeof(s->seed), 0) != sizeof(s->seed)) {
		free(s->hash);
		free(s->sent);
		free(s->out);
		free(s);
		free(ed);
		return -ENOMEM;
	}
	pthread_mutex_lock(&d->lock);
	d->save = s;
	d->eng_dirty = ed;
	pthread_mutex_unlock(&d->lock);
	return 0;
}

/*
 * Stop: no new copy starts, the engine lets go of our jobs, and the ones
 * not finished wait in parked[], unpinned, with what is left of them. A
 * completion already under way is waited for as far as its registers go;
 * its interrupt, raised after, is held pending by the library. Called from
 * the migration callback (the device's lock held, ours not).
 */
static void park_jobs(struct simdev *d)
{
	struct {
		uint64_t src;
		uint32_t len;
	} unpin[ENGINE_QUEUE];
	size_t head_done;
	unsigned int n;

	pthread_mutex_lock(&d->lock);
	d->stopped = true;
	pthread_mutex_unlock(&d->lock);
	n = engine_ctx_drain(d->ec, &head_done);
	pthread_mutex_lock(&d->lock);
	while (d->j_len > n)
		pthread_cond_wait(&d->popped, &d->lock);
	for (unsigned int i = 0; i < n; i++) {
		unsigned int j = (d->j_head + i) % ENGINE_QUEUE;
		uint32_t done = i ? 0 : (uint32_t)head_done;

		if (done > d->jobs[j].len)
			done = d->jobs[j].len;
		unpin[i].src = d->jobs[j].src;
		unpin[i].len = d->jobs[j].len;
		mark_engine_dirty(d, d->jobs[j].dst, d->jobs[j].len);
		d->parked[d->n_parked].src = d->jobs[j].src + done;
		d->parked[d->n_parked].dst = d->jobs[j].dst + done;
		d->parked[d->n_parked].len = d->jobs[j].len - done;
		d->n_parked++;
	}
	d->j_len = 0;
	pthread_mutex_unlock(&d->lock);
	for (unsigned int i = 0; i < n; i++)
		if (unpin[i].len)
			vgpu_device_dma_unpin(d->dev, unpin[i].src,
					      unpin[i].len);
}

/* running again (here, or on the destination): the parked blits go to the
 * engine in order; one whose guest memory is not mapped fails as a blit
 * does (STATUS_ERROR, ERROR, an interrupt) */
static void resume_jobs(struct vgpu_device *dev, struct simdev *d)
{
	unsigned int failed = 0;

	pthread_mutex_lock(&d->lock);
	d->stopped = false;
	for (unsigned int i = 0; i < d->n_parked; i++) {
		int r = queue_job(dev, d, d->parked[i].src, d->parked[i].dst,
				  d->parked[i].len, false);

		if (r < 0) {
			d->regs[VGPU_SIM_REG_STATUS / 4] |=
				VGPU_SIM_STATUS_ERROR;
			d->regs[VGPU_SIM_REG_ERROR / 4] = (uint32_t)-r;
			failed++;
		}
	}
	d->n_parked = 0;
	if (!d->j_len)
		d->regs[VGPU_SIM_REG_STATUS / 4] &= ~VGPU_SIM_STATUS_BUSY;
	pthread_mutex_unlock(&d->lock);
	while (failed--)
		raise_irq(dev, d);
}

static void put32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static void put64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return le64toh(v);
}

/* a record of @len payload bytes in s->out; returns the payload */
static uint8_t *rec_start(struct mig_save *s, uint32_t type, uint32_t len)
{
	put32(s->out, type);
	put32(s->out + 4, len);
	s->o_len = 8 + len;
	s->o_pos = 0;
	return s->out + 8;
}

/* the next run of tiles that changed since sent: 1, or 0 at the end of
 * the framebuffer */
static int emit_tiles(struct simdev *d, struct mig_save *s)
{
	size_t t = s->scan, count = 0;
	uint8_t *p;

	for (; t < s->n_tiles; t++) {
		uint64_t bit = 1ull << (t % 64);
		bool need = !s->sent[t] ||
			    (__atomic_fetch_and(&d->eng_dirty[t / 64], ~bit,
						__ATOMIC_RELAXED) &
			     bit) ||
			    tile_hash(d->fb + t * TILE, s->seed) != s->hash[t];

		if (need)
			break;
	}
	if (t == s->n_tiles) {
		s->scan = t;
		return 0;
	}
	p = rec_start(s, VGPU_SIM_MIG_TILES, 16);
	put64(p, t);
	put32(p + 12, 0);
	for (; t < s->n_tiles && count < VGPU_SIM_MIG_TILES_MAX; t++) {
		uint8_t *tp = p + 16 + count * TILE;
		uint64_t bit = 1ull << (t % 64);

		if (count && s->sent[t] &&
		    !(__atomic_fetch_and(&d->eng_dirty[t / 64], ~bit,
					 __ATOMIC_RELAXED) &
		      bit) &&
		    tile_hash(d->fb + t * TILE, s->seed) == s->hash[t])
			break;
		memcpy(tp, d->fb + t * TILE, TILE);
		s->hash[t] = tile_hash(tp, s->seed);
		s->sent[t] = 1;
		count++;
	}
	s->scan = t;
	put32(p + 8, (uint32_t)count);
	put32(s->out + 4, (uint32_t)(16 + count * TILE));
	s->o_len = 8 + 16 + count * TILE;
	return 1;
}

/* stage the next record: 1, or 0 when there is nothing (more) for now */
static int produce(struct simdev *d, struct mig_save *s)
{
	uint8_t *p;

	if (!s->header_sent) {
		p = rec_start(s, VGPU_SIM_MIG_HEADER, 24);
		put32(p, VGPU_SIM_MIG_MAGIC);
		put32(p + 4, VGPU_SIM_MIG_VERSION);
		put64(p + 8, d->fb_size);
		put32(p + 16, TILE);
		put32(p + 20, sizeof(d->regs));
		s->header_sent = true;
		return 1;
	}
	if (!s->stop) {
		if (emit_tiles(d, s))
			return 1;
		s->scan = 0; /* the next read starts another pass */
		s->pass_end = true;
		return 0;
	}
	switch (s->phase) {
	case PH_REGS:
		p = rec_start(s, VGPU_SIM_MIG_REGS, sizeof(d->regs));
		pthread_mutex_lock(&d->lock);
		for (size_t i = 0; i < 1024; i++)
			put32(p + 4 * i, d->regs[i]);
		pthread_mutex_unlock(&d->lock);
		break;
	case PH_IRQS: {
		size_t o = 0;

		p = rec_start(s, VGPU_SIM_MIG_IRQS, 5 * 4 + 6);
		for (unsigned int i = 0; i < 5; i++) {
			put32(p + o, irq_counts[i]);
			o += 4;
			for (unsigned int v = 0; v < irq_counts[i]; v++) {
				bool m = false, pe = false;

				vgpu_device_irq_get_state(d->dev, i, v, &m,
							  &pe);
				p[o++] = (uint8_t)(m | pe << 1);
			}
		}
		break;
	}
	case PH_JOBS:
		pthread_mutex_lock(&d->lock);
		p = rec_start(s, VGPU_SIM_MIG_JOBS, 8 + 16 * d->n_parked);
		put32(p, d->n_parked);
		put32(p + 4, 0);
		for (unsigned int i = 0; i < d->n_parked; i++) {
			put64(p + 8 + 16 * i, d->parked[i].src);
			put32(p + 16 + 16 * i, d->parked[i].dst);
			put32(p + 20 + 16 * i, d->parked[i].len);
		}
		pthread_mutex_unlock(&d->lock);
		break;
	case PH_QOS:
		p = rec_start(s, VGPU_SIM_MIG_QOS, 8 * ENGINE_KNOBS);
		for (unsigned int k = 0; k < ENGINE_KNOBS; k++)
			put64(p + 8 * k,
			      engine_get(d->ec, (enum engine_knob)k));
		break;
	case PH_TILES:
		if (emit_tiles(d, s))
			return 1;
		s->phase = PH_END;
		/* fall through */
	case PH_END:
		rec_start(s, VGPU_SIM_MIG_END, 0);
		break;
	default:
		return 0;
	}
	s->phase++;
	return 1;
}

static ssize_t sim_mig_read(struct vgpu_device *dev, void *buf, size_t len,
			    void *userdata)
{
	struct simdev *d = vgpu_device_get_userdata(dev);
	struct mig_save *s = d ? d->save : NULL;
	size_t out = 0;

	(void)userdata;
	if (!s)
		return -EINVAL;
	if (s->pass_end && s->o_pos == s->o_len) {
		s->pass_end = false; /* this PRE_COPY pass is over */
		return 0;
	}
	while (out < len) {
		size_t n;

		if (s->o_pos == s->o_len && !produce(d, s))
			break;
		n = s->o_len - s->o_pos < len - out ? s->o_len - s->o_pos
						    : len - out;
		memcpy((uint8_t *)buf + out, s->out + s->o_pos, n);
		s->o_pos += n;
		out += n;
	}
	if (!out && s->pass_end)
		s->pass_end = false;
	return (ssize_t)out;
}

/* one whole record of the stream being loaded: 0 or -EINVAL */
static int load_record(struct simdev *d, struct mig_load *l)
{
	const uint8_t *p = l->buf;
	uint32_t len = l->len;

	if (l->got_end)
		return -EINVAL; /* nothing after END */
	if (!l->got_header && l->type != VGPU_SIM_MIG_HEADER)
		return -EINVAL;
	switch (l->type) {
	case VGPU_SIM_MIG_HEADER:
		if (l->got_header || len != 24 ||
		    get32(p) != VGPU_SIM_MIG_MAGIC ||
		    get32(p + 4) != VGPU_SIM_MIG_VERSION ||
		    get64(p + 8) != d->fb_size || get32(p + 16) != TILE ||
		    get32(p + 20) != sizeof(d->regs))
			return -EINVAL;
		l->got_header = true;
		return 0;
	case VGPU_SIM_MIG_TILES: {
		uint64_t first;
		uint32_t count;

		if (len < 16)
			return -EINVAL;
		first = get64(p);
		count = get32(p + 8);
		if (!count || count > VGPU_SIM_MIG_TILES_MAX || get32(p + 12) ||
		    len != 16 + count * TILE || first > N_TILES(d) ||
		    count > N_TILES(d) - first)
			return -EINVAL;
		/* the device is not running: straight into the framebuffer */
		memcpy(d->fb + first * TILE, p + 16, (size_t)count * TILE);
		return 0;
	}
	case VGPU_SIM_MIG_REGS:
		if (l->got_regs || len != sizeof(l->regs))
			return -EINVAL;
		for (size_t i = 0; i < 1024; i++)
			l->regs[i] = get32(p + 4 * i);
		/* another device model or size: not ours to load */
		if (l->regs[VGPU_SIM_REG_ID / 4] != VGPU_SIM_ID ||
		    l->regs[VGPU_SIM_REG_FB_MB / 4] != d->fb_mb)
			return -EINVAL;
		l->got_regs = true;
		return 0;
	case VGPU_SIM_MIG_IRQS: {
		size_t o = 0;

		if (l->got_irqs || len != 5 * 4 + 6)
			return -EINVAL;
		for (unsigned int i = 0; i < 5; i++) {
			if (get32(p + o) != irq_counts[i])
				return -EINVAL;
			o += 4;
			for (unsigned int v = 0; v < irq_counts[i]; v++) {
				if (p[o] & ~3u)
					return -EINVAL;
				l->irq[i][v] = p[o++];
			}
		}
		l->got_irqs = true;
		return 0;
	}
	case VGPU_SIM_MIG_JOBS: {
		uint32_t n;

		if (l->got_jobs || len < 8)
			return -EINVAL;
		n = get32(p);
		if (n > ENGINE_QUEUE || get32(p + 4) || len != 8 + 16 * n)
			return -EINVAL;
		for (uint32_t i = 0; i < n; i++) {
			uint64_t src = get64(p + 8 + 16 * i);
			uint32_t dst = get32(p + 16 + 16 * i);
			uint32_t jl = get32(p + 20 + 16 * i);

			if (jl > d->fb_size || dst > d->fb_size - jl)
				return -EINVAL;
			l->jobs[i].src = src;
			l->jobs[i].dst = dst;
			l->jobs[i].len = jl;
		}
		l->n_jobs = n;
		l->got_jobs = true;
		return 0;
	}
	case VGPU_SIM_MIG_QOS:
		if (l->got_qos || len != 8 * ENGINE_KNOBS)
			return -EINVAL;
		for (unsigned int k = 0; k < ENGINE_KNOBS; k++)
			l->qos[k] = get64(p + 8 * k);
		/* the engine's knobs are libvgpu's, in its order: its ranges */
		for (unsigned int k = 0; k < ENGINE_KNOBS; k++)
			if (vgpu_qos_check_value((enum vgpu_qos_knob)k,
						 l->qos[k]) < 0)
				return -EINVAL;
		l->got_qos = true;
		return 0;
	case VGPU_SIM_MIG_END:
		if (len || !l->got_regs || !l->got_irqs || !l->got_jobs ||
		    !l->got_qos)
			return -EINVAL;
		l->got_end = true;
		return 0;
	default:
		/* an optional record of a later version: skipped */
		return l->type & VGPU_SIM_MIG_OPTIONAL ? 0 : -EINVAL;
	}
}

static int sim_mig_write(struct vgpu_device *dev, const void *buf, size_t len,
			 void *userdata)
{
	struct simdev *d = vgpu_device_get_userdata(dev);
	struct mig_load *l = d ? d->load : NULL;
	const uint8_t *p = buf;

	(void)userdata;
	if (!l || l->failed)
		return -EINVAL;
	while (len) {
		size_t n;

		if (l->h_len < 8) {
			n = 8 - l->h_len < len ? 8 - l->h_len : len;
			memcpy(l->hdr + l->h_len, p, n);
			l->h_len += n;
			p += n;
			len -= n;
			if (l->h_len < 8)
				break;
			l->type = get32(l->hdr);
			l->len = get32(l->hdr + 4);
			l->b_len = 0;
			if (l->len > VGPU_SIM_MIG_REC_MAX || l->got_end) {
				l->failed = true;
				return -EINVAL;
			}
		}
		n = l->len - l->b_len < len ? l->len - l->b_len : len;
		memcpy(l->buf + l->b_len, p, n);
		l->b_len += n;
		p += n;
		len -= n;
		if (l->b_len < l->len)
			break;
		if (load_record(d, l) < 0) {
			l->failed = true;
			return -EINVAL;
		}
		l->h_len = 0;
	}
	return 0;
}

/* RESUMING -> STOP: the whole stream arrived; the device takes it */
static int load_finish(struct vgpu_device *dev, struct simdev *d)
{
	struct mig_load *l = d->load;
	struct vgpu_display_plane pl;
	int r = 0;

	if (!l || l->failed || !l->got_end || l->h_len)
		return -EINVAL;
	for (unsigned int i = 0; i < 5 && !r; i++)
		for (unsigned int v = 0; v < irq_counts[i] && !r; v++)
			r = vgpu_device_irq_set_state(
				dev, i, v, l->irq[i][v] & 1, l->irq[i][v] & 2);
	for (unsigned int k = 0; k < ENGINE_KNOBS && !r; k++)
		r = engine_set(d->ec, (enum engine_knob)k, l->qos[k]);
	if (r < 0)
		return r;
	pthread_mutex_lock(&d->lock);
	memcpy(d->regs, l->regs, sizeof(d->regs));
	for (unsigned int i = 0; i < l->n_jobs; i++) {
		d->parked[i].src = l->jobs[i].src;
		d->parked[i].dst = l->jobs[i].dst;
		d->parked[i].len = l->jobs[i].len;
	}
	d->n_parked = l->n_jobs;
	if (d->n_parked)
		d->regs[VGPU_SIM_REG_STATUS / 4] |= VGPU_SIM_STATUS_BUSY;
	else
		d->regs[VGPU_SIM_REG_STATUS / 4] &= ~VGPU_SIM_STATUS_BUSY;
	current_plane(d, &pl);
	pthread_mutex_unlock(&d->lock);
	vgpu_device_set_display(dev, &pl);
	vgpu_device_display_changed(dev);
	return 0;
}

static int sim_mig_state(struct vgpu_device *dev,
			 enum vgpu_migration_state next, void *userdata)
{
	struct simdev *d = vgpu_device_get_userdata(dev);
	enum vgpu_migration_state cur;
	int r = 0;

	(void)userdata;
	if (!d)
		return -ENODEV;
	cur = d->mstate;
	switch (next) {
	case VGPU_MIG_RUNNING: /* from STOP, PRE_COPY, or a reset */
		save_free(d);
		load_free(d);
		if (d->stopped)
			resume_jobs(dev, d);
		break;
	case VGPU_MIG_STOP:
		if (cur == VGPU_MIG_RESUMING) {
			r = load_finish(dev, d);
			load_free(d);
			if (r < 0)
				return r;
		} else if (!d->stopped) {
			park_jobs(d);
		}
		save_free(d);
		break;
	case VGPU_MIG_PRE_COPY:
		r = save_begin(d);
		break;
	case VGPU_MIG_STOP_COPY:
		if (!d->stopped)
			park_jobs(d); /* from PRE_COPY */
		if (!d->save)
			r = save_begin(d);
		if (r == 0) {
			d->save->stop = true;
			d->save->phase = PH_REGS;
			d->save->scan = 0;
			d->save->pass_end = false;
		}
		break;
	case VGPU_MIG_RESUMING:
		/* what this device held is replaced by what arrives */
		pthread_mutex_lock(&d->lock);
		d->n_parked = 0;
		pthread_mutex_unlock(&d->lock);
		load_free(d);
		d->load = calloc(1, sizeof(*d->load));
		if (!d->load)
			return -ENOMEM;
		d->load->buf = malloc(VGPU_SIM_MIG_REC_MAX);
		if (!d->load->buf) {
			load_free(d);
			return -ENOMEM;
		}
		break;
	default:
		return -EINVAL;
	}
	if (r == 0)
		d->mstate = next;
	return r;
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
		"  --frame-rate-limit N  new devices start with this QoS "
		"frame-rate limit\n"
		"  -h, --help         this text\n\n"
		"Runs until SIGTERM or SIGINT. Prints \"ready\" once management "
		"can reach it.\n\n"
		"Its devices share one copy engine, scheduled by their QoS (time "
		"slice,\npreemption timeout, priority, weight, frame-rate limit), and "
		"report their\nusage; their displays can be watched with vgpuctl vnc. "
		"One attribute at\ncreation: resolution=WxH, the display's first "
		"mode (XR24).\n"
		"Devices migrate (VFIO migration v2 over vfio-user): registers, "
		"display mode,\nframebuffer (pre-copied), blits not run yet, "
		"interrupt state, QoS; see\nvgpu-sim-migrate(1).\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "parent", required_argument, NULL, 'p' },
		{ "pool", required_argument, NULL, 'm' },
		{ "runtime-dir", required_argument, NULL, 'R' },
		{ "frame-rate-limit", required_argument, NULL, 'f' },
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
		.migration_state = sim_mig_state,
		.migration_read = sim_mig_read,
		.migration_write = sim_mig_write,
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
			if (errno || *end || !s.pool_mb ||
			    s.pool_mb > 1u << 20) {
				fprintf(stderr, "vgpu-sim: bad --pool %s\n",
					optarg);
				return 2;
			}
			break;
		case 'R':
			runtime = optarg;
			break;
		case 'f':
			errno = 0;
			s.fps = (unsigned int)strtoul(optarg, &end, 10);
			if (errno || *end || !*optarg || s.fps > 1000) {
				fprintf(stderr,
					"vgpu-sim: bad --frame-rate-limit %s "
					"(0..1000)\n",
					optarg);
				return 2;
			}
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
	fprintf(stderr,
		"vgpu-sim: engine: %llu slices, %llu ns busy, %llu ns scheduling\n",
		(unsigned long long)st.slices, (unsigned long long)st.busy_ns,
		(unsigned long long)st.sched_ns);
	engine_free(s.engine);
	return 0;
}
