/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Migration and dirty page tracking of opened devices: the backend-neutral
 * half. The states and arcs of VFIO migration v2 are data here (one table
 * of "the next state on the way from A to B"); an access method only takes
 * single arcs and moves bytes (struct vgpu_handle_ops.mig_*, dirty_*).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "device-private.h"
#include "dma-table.h"

#define S(x)	 VGPU_MIG_##x
#define N_STATES 8

/* what a state needs the device to offer */
static const uint64_t state_needs[N_STATES] = {
	[S(ERROR)] = 0,
	[S(STOP)] = VGPU_MIGRATION_STOP_COPY,
	[S(RUNNING)] = VGPU_MIGRATION_STOP_COPY,
	[S(STOP_COPY)] = VGPU_MIGRATION_STOP_COPY,
	[S(RESUMING)] = VGPU_MIGRATION_STOP_COPY,
	[S(RUNNING_P2P)] = VGPU_MIGRATION_STOP_COPY | VGPU_MIGRATION_P2P,
	[S(PRE_COPY)] = VGPU_MIGRATION_STOP_COPY | VGPU_MIGRATION_PRE_COPY,
	[S(PRE_COPY_P2P)] = VGPU_MIGRATION_STOP_COPY | VGPU_MIGRATION_P2P |
			    VGPU_MIGRATION_PRE_COPY,
};

static const char *const state_names[N_STATES] = {
	[S(ERROR)] = "ERROR",	    [S(STOP)] = "STOP",
	[S(RUNNING)] = "RUNNING",   [S(STOP_COPY)] = "STOP_COPY",
	[S(RESUMING)] = "RESUMING", [S(RUNNING_P2P)] = "RUNNING_P2P",
	[S(PRE_COPY)] = "PRE_COPY", [S(PRE_COPY_P2P)] = "PRE_COPY_P2P",
};

/*
 * next[from][to]: the first arc on the way from @from to @to for a device
 * that offers every state. A step into a state the device does not offer
 * is skipped by looking up the next step from there (RUNNING -> STOP is
 * RUNNING -> RUNNING_P2P -> STOP with P2P, RUNNING -> STOP without). No
 * path passes through a state that saves or loads data on the way;
 * ERROR as a step means "no way" (STOP_COPY -> PRE_COPY, anything -> ERROR).
 */
static const uint8_t next[N_STATES][N_STATES] = {
	[S(STOP)] = {
		[S(STOP)] = S(STOP),
		[S(RUNNING)] = S(RUNNING_P2P),
		[S(STOP_COPY)] = S(STOP_COPY),
		[S(RESUMING)] = S(RESUMING),
		[S(RUNNING_P2P)] = S(RUNNING_P2P),
		[S(PRE_COPY)] = S(RUNNING_P2P),
		[S(PRE_COPY_P2P)] = S(RUNNING_P2P),
	},
	[S(RUNNING)] = {
		[S(STOP)] = S(RUNNING_P2P),
		[S(RUNNING)] = S(RUNNING),
		[S(STOP_COPY)] = S(RUNNING_P2P),
		[S(RESUMING)] = S(RUNNING_P2P),
		[S(RUNNING_P2P)] = S(RUNNING_P2P),
		[S(PRE_COPY)] = S(PRE_COPY),
		[S(PRE_COPY_P2P)] = S(RUNNING_P2P),
	},
	[S(STOP_COPY)] = {
		[S(STOP)] = S(STOP),
		[S(RUNNING)] = S(STOP),
		[S(STOP_COPY)] = S(STOP_COPY),
		[S(RESUMING)] = S(STOP),
		[S(RUNNING_P2P)] = S(STOP),
		[S(PRE_COPY)] = S(ERROR),
		[S(PRE_COPY_P2P)] = S(ERROR),
	},
	[S(RESUMING)] = {
		[S(STOP)] = S(STOP),
		[S(RUNNING)] = S(STOP),
		[S(STOP_COPY)] = S(STOP),
		[S(RESUMING)] = S(RESUMING),
		[S(RUNNING_P2P)] = S(STOP),
		[S(PRE_COPY)] = S(STOP),
		[S(PRE_COPY_P2P)] = S(STOP),
	},
	[S(RUNNING_P2P)] = {
		[S(STOP)] = S(STOP),
		[S(RUNNING)] = S(RUNNING),
		[S(STOP_COPY)] = S(STOP),
		[S(RESUMING)] = S(STOP),
		[S(RUNNING_P2P)] = S(RUNNING_P2P),
		[S(PRE_COPY)] = S(RUNNING),
		[S(PRE_COPY_P2P)] = S(PRE_COPY_P2P),
	},
	[S(PRE_COPY)] = {
		[S(STOP)] = S(RUNNING),
		[S(RUNNING)] = S(RUNNING),
		[S(STOP_COPY)] = S(PRE_COPY_P2P),
		[S(RESUMING)] = S(RUNNING),
		[S(RUNNING_P2P)] = S(RUNNING),
		[S(PRE_COPY)] = S(PRE_COPY),
		[S(PRE_COPY_P2P)] = S(PRE_COPY_P2P),
	},
	[S(PRE_COPY_P2P)] = {
		[S(STOP)] = S(RUNNING_P2P),
		[S(RUNNING)] = S(RUNNING_P2P),
		[S(STOP_COPY)] = S(STOP_COPY),
		[S(RESUMING)] = S(RUNNING_P2P),
		[S(RUNNING_P2P)] = S(RUNNING_P2P),
		[S(PRE_COPY)] = S(PRE_COPY),
		[S(PRE_COPY_P2P)] = S(PRE_COPY_P2P),
	},
	/* [S(ERROR)]: all ERROR, no way out but a reset */
};

static bool offers(uint64_t flags, unsigned int state)
{
	return state < N_STATES && state != S(ERROR) &&
	       (state_needs[state] & flags) == state_needs[state];
}

/* the next arc from @from towards @to on a device offering @flags;
 * ERROR when there is no way */
static unsigned int next_arc(uint64_t flags, unsigned int from, unsigned int to)
{
	unsigned int n = next[from][to];

	/* each skip moves strictly closer (the table has no cycles), so
	 * N_STATES steps bound it */
	for (int i = 0; i < N_STATES && n != S(ERROR) && !offers(flags, n); i++)
		n = next[n][to];
	return offers(flags, n) ? n : S(ERROR);
}

static bool is_saving(unsigned int s)
{
	return s == S(STOP_COPY) || s == S(PRE_COPY) || s == S(PRE_COPY_P2P);
}

VGPU_EXPORT const char *vgpu_migration_state_name(unsigned int state)
{
	return state < N_STATES ? state_names[state] : NULL;
}

/* 0 when @h offers migration (flags probed once), -ENOTSUP otherwise */
static int mig_check(struct vgpu_handle *h)
{
	if (!h)
		return -EINVAL;
	if (!h->ops->mig_get_state)
		return -ENOTSUP;
	if (!h->mig_probed) {
		uint64_t f = 0;
		int r = h->ops->probe_feature(h, VGPU_FEATURE_MIGRATION, &f);

		if (r < 0)
			return r;
		h->mig_flags = r > 0 ? f : 0;
		h->mig_probed = true;
		if (r > 0 && !(f & VGPU_MIGRATION_STOP_COPY)) {
			err(h->ctx,
			    "%s: migration flags 0x%llx lack STOP_COPY, which VFIO makes mandatory",
			    h->id, (unsigned long long)f);
			h->mig_flags = 0;
		}
	}
	return h->mig_flags ? 0 : -ENOTSUP;
}

/* the device's state, checked to be one it may be in */
static int get_state(struct vgpu_handle *h)
{
	int s = h->ops->mig_get_state(h);

	if (s < 0)
		return s;
	if (s != S(ERROR) && !offers(h->mig_flags, (unsigned int)s)) {
		err(h->ctx,
		    "%s: the device reports migration state %d, which it does not offer",
		    h->id, s);
		return -EBADMSG;
	}
	return s;
}

VGPU_EXPORT int vgpu_handle_migration_get_state(struct vgpu_handle *h)
{
	int r = mig_check(h);

	return r < 0 ? r : get_state(h);
}

VGPU_EXPORT int vgpu_handle_migration_set_state(struct vgpu_handle *h,
						unsigned int state)
{
	int cur, r = mig_check(h);

	if (r < 0)
		return r;
	if (!offers(h->mig_flags, state)) {
		err(h->ctx,
		    "%s: migration state %s (%u) is not offered by the device",
		    h->id, vgpu_migration_state_name(state) ?: "?", state);
		return -EINVAL;
	}
	cur = get_state(h);
	if (cur < 0)
		return cur;
	/* each arc changes the state; more arcs than states is a device
	 * that does not do what it is told */
	for (int arcs = 0; (unsigned int)cur != state; arcs++) {
		unsigned int n;

		if (cur == S(ERROR)) {
			err(h->ctx,
			    "%s: the device is in migration state ERROR; only a reset leads back",
			    h->id);
			return -EIO;
		}
		n = next_arc(h->mig_flags, (unsigned int)cur, state);
		if (n == S(ERROR)) {
			err(h->ctx,
			    "%s: VFIO migration has no way from %s to %s",
			    h->id, state_names[cur], state_names[state]);
			return -EINVAL;
		}
		if (arcs >= N_STATES) {
			err(h->ctx,
			    "%s: migration state does not converge on %s",
			    h->id, state_names[state]);
			return -EIO;
		}
		dbg(h->ctx, "%s: migration arc %s -> %s", h->id,
		    state_names[cur], state_names[n]);
		r = h->ops->mig_set_state(h, (enum vgpu_migration_state)n);
		if (r < 0) {
			int now = h->ops->mig_get_state(h);

			err(h->ctx,
			    "%s: migration arc %s -> %s failed: %s; the device is in %s",
			    h->id, state_names[cur], state_names[n],
			    strerror(-r),
			    now >= 0 && now < N_STATES ? state_names[now]
						       : "an unknown state");
			return r;
		}
		cur = (int)n;
	}
	return 0;
}

VGPU_EXPORT ssize_t vgpu_handle_migration_read(struct vgpu_handle *h, void *buf,
					       size_t len)
{
	int s, r = mig_check(h);

	if (r < 0)
		return r;
	if (!buf && len)
		return -EINVAL;
	s = get_state(h);
	if (s < 0)
		return s;
	if (!is_saving((unsigned int)s)) {
		err(h->ctx, "%s: no migration data to read in state %s", h->id,
		    state_names[s]);
		return -EINVAL;
	}
	if (!len)
		return 0;
	return h->ops->mig_read(h, buf, len);
}

VGPU_EXPORT int vgpu_handle_migration_write(struct vgpu_handle *h,
					    const void *buf, size_t len)
{
	int s, r = mig_check(h);

	if (r < 0)
		return r;
	if (!buf && len)
		return -EINVAL;
	s = get_state(h);
	if (s < 0)
		return s;
	if (s != S(RESUMING)) {
		err(h->ctx, "%s: migration data is written in RESUMING, not %s",
		    h->id, state_names[s]);
		return -EINVAL;
	}
	return len ? h->ops->mig_write(h, buf, len) : 0;
}

#define COPY_CHUNK (256u * 1024)

VGPU_EXPORT int vgpu_handle_migration_copy(struct vgpu_handle *src,
					   struct vgpu_handle *dst,
					   uint64_t *bytes)
{
	uint64_t total = 0;
	uint8_t *buf;
	int r = 0;

	if (bytes)
		*bytes = 0;
	if (!src || !dst || src == dst)
		return -EINVAL;
	buf = malloc(COPY_CHUNK);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n = vgpu_handle_migration_read(src, buf, COPY_CHUNK);

		if (n <= 0) {
			r = (int)n;
			break;
		}
		r = vgpu_handle_migration_write(dst, buf, (size_t)n);
		if (r < 0)
			break;
		total += (uint64_t)n;
	}
	free(buf);
	if (bytes)
		*bytes = total;
	return r;
}

VGPU_EXPORT int vgpu_handle_migration_precopy_info(struct vgpu_handle *h,
						   uint64_t *initial,
						   uint64_t *dirty)
{
	uint64_t i = 0, d = 0;
	int s, r = mig_check(h);

	if (r < 0)
		return r;
	s = get_state(h);
	if (s < 0)
		return s;
	if (s != S(PRE_COPY) && s != S(PRE_COPY_P2P)) {
		err(h->ctx, "%s: pre-copy estimates exist in PRE_COPY, not %s",
		    h->id, state_names[s]);
		return -EINVAL;
	}
	if (!h->ops->mig_precopy_info) {
		err(h->ctx, "%s: %s has no pre-copy estimate", h->id,
		    h->ops->access);
		return -EOPNOTSUPP;
	}
	r = h->ops->mig_precopy_info(h, &i, &d);
	if (r < 0)
		return r;
	if (initial)
		*initial = i;
	if (dirty)
		*dirty = d;
	return 0;
}

/* ---- dirty page tracking ---- */

struct windows {
	struct vgpu_iova_range *v;
	size_t n, cap;
};

static int collect(struct vgpu_dma_window *w, void *data)
{
	struct windows *ws = data;

	if (ws->n == ws->cap) {
		size_t cap = ws->cap ? ws->cap * 2 : 16;
		struct vgpu_iova_range *v = realloc(ws->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		ws->v = v;
		ws->cap = cap;
	}
	ws->v[ws->n].start = w->iova;
	ws->v[ws->n].last = w->iova + w->len - 1;
	ws->n++;
	return 0;
}

VGPU_EXPORT int vgpu_handle_dirty_start(struct vgpu_handle *h,
					uint64_t page_size)
{
	struct windows ws = { 0 };
	int r;

	if (!h || page_size < 4096 || (page_size & (page_size - 1)))
		return -EINVAL;
	if (h->dirty_pgsize) {
		err(h->ctx, "%s: dirty tracking already runs", h->id);
		return -EBUSY;
	}
	if (!h->ops->dirty_start) {
		err(h->ctx, "%s: %s cannot track dirty pages", h->id,
		    h->ops->access);
		return -EOPNOTSUPP;
	}
	r = vgpu_dma_table_foreach(h->dma, collect, &ws);
	if (r >= 0 && !ws.n) {
		err(h->ctx, "%s: no DMA window is mapped: nothing to track",
		    h->id);
		r = -ENOENT;
	}
	for (size_t i = 0; r >= 0 && i < ws.n; i++) {
		if ((ws.v[i].start | (ws.v[i].last + 1)) & (page_size - 1)) {
			err(h->ctx,
			    "%s: DMA window 0x%llx..0x%llx is not aligned to the %llu-byte tracking page",
			    h->id, (unsigned long long)ws.v[i].start,
			    (unsigned long long)ws.v[i].last,
			    (unsigned long long)page_size);
			r = -EINVAL;
		}
	}
	if (r >= 0)
		r = h->ops->dirty_start(h, page_size, ws.v, ws.n);
	free(ws.v);
	if (r < 0)
		return r;
	h->dirty_pgsize = page_size;
	return 0;
}

VGPU_EXPORT int vgpu_handle_dirty_report(struct vgpu_handle *h, uint64_t iova,
					 uint64_t len, uint64_t *bitmap,
					 size_t bitmap_size)
{
	struct vgpu_dma_window *w;
	uint64_t pages;

	if (!h || !bitmap || !len)
		return -EINVAL;
	if (!h->dirty_pgsize) {
		err(h->ctx, "%s: dirty tracking is not running", h->id);
		return -EINVAL;
	}
	if ((iova | len) & (h->dirty_pgsize - 1) || iova + len - 1 < iova)
		return -EINVAL;
	w = vgpu_dma_table_find(h->dma, iova);
	if (!w || iova + len - 1 > w->iova + w->len - 1) {
		err(h->ctx,
		    "%s: dirty report of 0x%llx+0x%llx is not inside one DMA window",
		    h->id, (unsigned long long)iova, (unsigned long long)len);
		return -EINVAL;
	}
	pages = len / h->dirty_pgsize;
	if (bitmap_size / 8 < (pages + 63) / 64)
		return -EINVAL;
	memset(bitmap, 0, (size_t)((pages + 63) / 64) * 8);
	return h->ops->dirty_report(h, iova, len, h->dirty_pgsize, bitmap);
}

VGPU_EXPORT int vgpu_handle_dirty_stop(struct vgpu_handle *h)
{
	int r;

	if (!h)
		return -EINVAL;
	if (!h->dirty_pgsize)
		return -EINVAL;
	r = h->ops->dirty_stop(h);
	h->dirty_pgsize = 0;
	return r;
}
