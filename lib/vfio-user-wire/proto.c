/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfio-user message validation and transport. See proto.h. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto.h"

_Static_assert(sizeof(struct vfu_hdr) == 16, "header");
_Static_assert(sizeof(struct vfu_dma_map) == 32, "dma_map");
_Static_assert(sizeof(struct vfu_dma_unmap) == 24, "dma_unmap");
_Static_assert(sizeof(struct vfu_region_info) == 32, "region_info");
_Static_assert(sizeof(struct vfu_irq_set) == 20, "irq_set");
_Static_assert(sizeof(struct vfu_region_access) == 16, "region_access");
_Static_assert(sizeof(struct vfu_write_multi_entry) == 24, "write_multi");
_Static_assert(sizeof(struct vfu_cap_sparse) == 16, "sparse");

void vfu_caps_default(struct vfu_caps *caps)
{
	memset(caps, 0, sizeof(*caps));
	caps->max_msg_fds = 1;
	caps->max_data_xfer_size = 1u << 20;
	caps->max_dma_maps = 65535;
	caps->pgsizes = 4096;
}

/* a non-negative integer member within [min, max] */
static int get_uint(struct json_object *obj, const char *key, uint64_t min,
		    uint64_t max, uint64_t *out)
{
	struct json_object *v;
	int64_t x;

	if (!json_object_object_get_ex(obj, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return -EINVAL;
	errno = 0;
	x = json_object_get_int64(v);
	if (errno || x < 0 || (uint64_t)x < min || (uint64_t)x > max)
		return -EINVAL;
	*out = (uint64_t)x;
	return 0;
}

int vfu_caps_parse(const char *json, size_t len, struct vfu_caps *caps)
{
	struct json_object *root = NULL, *c, *v;
	struct json_tokener *tok;
	uint64_t x;
	int r = -EINVAL;

	if (!len)
		return 0;
	if (!json || json[len - 1] != '\0' || strlen(json) != len - 1)
		return -EINVAL;
	tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	root = json_tokener_parse_ex(tok, json, (int)(len - 1));
	if (json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(root);
		root = NULL;
	}
	json_tokener_free(tok);
	if (!root || !json_object_is_type(root, json_type_object))
		goto out;
	if (!json_object_object_get_ex(root, "capabilities", &c)) {
		r = 0;
		goto out;
	}
	if (!json_object_is_type(c, json_type_object))
		goto out;
	if (json_object_object_get_ex(c, "max_msg_fds", NULL))
		caps->present |= VFU_CAP_MAX_MSG_FDS;
	if (json_object_object_get_ex(c, "max_data_xfer_size", NULL))
		caps->present |= VFU_CAP_MAX_DATA_XFER;
	if (json_object_object_get_ex(c, "max_dma_maps", NULL))
		caps->present |= VFU_CAP_MAX_DMA_MAPS;
	if (json_object_object_get_ex(c, "pgsizes", NULL))
		caps->present |= VFU_CAP_PGSIZES;
	x = caps->max_msg_fds;
	if (get_uint(c, "max_msg_fds", 0, 1024, &x) < 0)
		goto out;
	caps->max_msg_fds = (uint32_t)x;
	if (get_uint(c, "max_data_xfer_size", 1, UINT32_MAX,
		     &caps->max_data_xfer_size) < 0 ||
	    get_uint(c, "max_dma_maps", 1, UINT32_MAX, &caps->max_dma_maps) <
		    0 ||
	    get_uint(c, "pgsizes", 1, UINT64_MAX >> 1, &caps->pgsizes) < 0)
		goto out;
	if (json_object_object_get_ex(c, "migration", &v)) {
		if (!json_object_is_type(v, json_type_object))
			goto out;
		caps->mig_pgsize = 4096;
		caps->mig_max_bitmap = 256u << 20;
		if (get_uint(v, "pgsize", 1, 1ULL << 40, &caps->mig_pgsize) <
			    0 ||
		    get_uint(v, "max_bitmap_size", 1, 1ULL << 40,
			     &caps->mig_max_bitmap) < 0)
			goto out;
		if (caps->mig_pgsize & (caps->mig_pgsize - 1))
			goto out;
	}
	if (json_object_object_get_ex(c, "twin_socket", &v)) {
		struct json_object *s;

		if (!json_object_is_type(v, json_type_object))
			goto out;
		if (json_object_object_get_ex(v, "supported", &s)) {
			if (!json_object_is_type(s, json_type_boolean))
				goto out;
			caps->twin_socket = json_object_get_boolean(s);
		}
	}
	if (json_object_object_get_ex(c, "write_multiple", &v)) {
		if (!json_object_is_type(v, json_type_boolean))
			goto out;
		caps->write_multiple = json_object_get_boolean(v);
	}
	r = 0;
out:
	json_object_put(root);
	return r;
}

int vfu_caps_format(const struct vfu_caps *caps, char **ret)
{
	char nums[160] = "", mig[128] = "";
	const char *sep = "";
	size_t o = 0;
	int n;

#define NUM(bit, fmt, val)                                                  \
	if (caps->present & (bit)) {                                        \
		o += (size_t)snprintf(nums + o, sizeof(nums) - o, "%s" fmt, \
				      sep, val);                            \
		sep = ",";                                                  \
	}
	NUM(VFU_CAP_MAX_MSG_FDS, "\"max_msg_fds\":%u", caps->max_msg_fds)
	NUM(VFU_CAP_MAX_DATA_XFER, "\"max_data_xfer_size\":%llu",
	    (unsigned long long)caps->max_data_xfer_size)
	NUM(VFU_CAP_MAX_DMA_MAPS, "\"max_dma_maps\":%llu",
	    (unsigned long long)caps->max_dma_maps)
	NUM(VFU_CAP_PGSIZES, "\"pgsizes\":%llu",
	    (unsigned long long)caps->pgsizes)
#undef NUM
	if (caps->mig_pgsize) {
		snprintf(
			mig, sizeof(mig),
			"%s\"migration\":{\"pgsize\":%llu,\"max_bitmap_size\":%llu}",
			sep, (unsigned long long)caps->mig_pgsize,
			(unsigned long long)caps->mig_max_bitmap);
		sep = ",";
	}
	n = asprintf(ret, "{\"capabilities\":{%s%s%s}}", nums, mig,
		     caps->write_multiple ? (*sep ? ",\"write_multiple\":true"
						  : "\"write_multiple\":true")
					  : "");
	return n < 0 ? -ENOMEM : 0;
}

/* exactly @n bytes of payload */
#define NEED_EQ(n)                      \
	do {                            \
		if (len != (n))         \
			return -EINVAL; \
	} while (0)
#define NEED_GE(n)                      \
	do {                            \
		if (len < (n))          \
			return -EINVAL; \
	} while (0)
#define NO_FDS()                        \
	do {                            \
		if (nfds)               \
			return -EINVAL; \
	} while (0)

static bool wraps(uint64_t addr, uint64_t size)
{
	return size && addr + (size - 1) < addr;
}

static int parse_set_irqs(const struct vfu_hdr *hdr, const uint8_t *p,
			  size_t len, unsigned int nfds, uint64_t max_xfer,
			  struct vfu_req *out)
{
	struct vfu_irq_set *s = &out->u.set_irqs.s;
	uint32_t data, action;

	NEED_GE(sizeof(*s));
	memcpy(s, p, sizeof(*s));
	data = s->flags & VFU_IRQ_DATA_MASK;
	action = s->flags & VFU_IRQ_ACTION_MASKBITS;
	if (s->flags & ~(VFU_IRQ_DATA_MASK | VFU_IRQ_ACTION_MASKBITS))
		return -EINVAL;
	if (__builtin_popcount(data) != 1 || __builtin_popcount(action) != 1)
		return -EINVAL;
	if (s->argsz < sizeof(*s) || s->start + s->count < s->start)
		return -EINVAL;
	switch (data) {
	case VFU_IRQ_DATA_NONE:
		NEED_EQ(sizeof(*s));
		NO_FDS();
		break;
	case VFU_IRQ_DATA_BOOL:
		NEED_EQ(sizeof(*s) + (size_t)s->count);
		NO_FDS();
		if (!s->count)
			return -EINVAL;
		out->u.set_irqs.bools = p + sizeof(*s);
		break;
	case VFU_IRQ_DATA_EVENTFD:
		NEED_EQ(sizeof(*s));
		/* one eventfd per vector, or none to de-assign */
		if (nfds && nfds != s->count)
			return -EINVAL;
		if (!s->count && nfds)
			return -EINVAL;
		out->nfds = nfds;
		break;
	}
	return 0;
}

static int parse_feature(const struct vfu_hdr *hdr, const uint8_t *p,
			 size_t len, unsigned int nfds, uint64_t max_xfer,
			 struct vfu_req *out)
{
	struct vfu_feature *f = &out->u.feature.f;
	uint32_t ops;

	NO_FDS();
	NEED_GE(sizeof(*f));
	memcpy(f, p, sizeof(*f));
	if (f->flags & ~(VFU_FEATURE_MASK | VFU_FEATURE_GET | VFU_FEATURE_SET |
			 VFU_FEATURE_PROBE))
		return -EINVAL;
	ops = f->flags & (VFU_FEATURE_GET | VFU_FEATURE_SET);
	if (!ops && !(f->flags & VFU_FEATURE_PROBE))
		return -EINVAL;
	if (ops == (VFU_FEATURE_GET | VFU_FEATURE_SET) &&
	    !(f->flags & VFU_FEATURE_PROBE))
		return -EINVAL;
	if (f->argsz < sizeof(*f))
		return -EINVAL;
	out->u.feature.data = p + sizeof(*f);
	out->u.feature.data_len = len - sizeof(*f);
	if (f->flags & VFU_FEATURE_PROBE)
		return 0;
	/* per-feature payload shapes */
	switch (f->flags & VFU_FEATURE_MASK) {
	case VFU_FEATURE_MIG_DEVICE_STATE:
		if ((f->flags & VFU_FEATURE_SET) &&
		    out->u.feature.data_len != sizeof(struct vfu_mig_state))
			return -EINVAL;
		break;
	case VFU_FEATURE_DMA_LOGGING_START: {
		struct vfu_log_start st;
		size_t dl = out->u.feature.data_len;

		if (dl < sizeof(st))
			return -EINVAL;
		memcpy(&st, out->u.feature.data, sizeof(st));
		if (st.num_ranges > VFU_MAX_LOG_RANGES ||
		    dl != sizeof(st) + (size_t)st.num_ranges *
					       sizeof(struct vfu_log_range))
			return -EINVAL;
		for (uint32_t i = 0; i < st.num_ranges; i++) {
			struct vfu_log_range r;

			memcpy(&r,
			       (const uint8_t *)out->u.feature.data +
				       sizeof(st) + i * sizeof(r),
			       sizeof(r));
			if (!r.length || wraps(r.iova, r.length))
				return -EINVAL;
		}
		break;
	}
	case VFU_FEATURE_DMA_LOGGING_REPORT: {
		struct vfu_log_report rep;

		if (out->u.feature.data_len != sizeof(rep))
			return -EINVAL;
		memcpy(&rep, out->u.feature.data, sizeof(rep));
		if (!rep.length || wraps(rep.iova, rep.length) ||
		    !rep.page_size || (rep.page_size & (rep.page_size - 1)))
			return -EINVAL;
		break;
	}
	default:
		break;
	}
	return 0;
}

static int parse_version(const struct vfu_hdr *hdr, const uint8_t *p,
			 size_t len, unsigned int nfds, uint64_t max_xfer,
			 struct vfu_req *out)
{
	struct vfu_version v;

	NO_FDS();
	NEED_GE(sizeof(v));
	memcpy(&v, p, sizeof(v));
	out->u.version.major = v.major;
	out->u.version.minor = v.minor;
	if (len > sizeof(v)) {
		out->u.version.json = (const char *)p + sizeof(v);
		out->u.version.json_len = len - sizeof(v);
		if (p[len - 1] != '\0' || memchr(out->u.version.json, '\0',
						 out->u.version.json_len) !=
						  (const void *)(p + len - 1))
			return -EINVAL;
	}
	return 0;
}

static int parse_dma_map(const struct vfu_hdr *hdr, const uint8_t *p,
			 size_t len, unsigned int nfds, uint64_t max_xfer,
			 struct vfu_req *out)
{
	struct vfu_dma_map *m = &out->u.dma_map;

	NEED_EQ(sizeof(*m));
	memcpy(m, p, sizeof(*m));
	if (m->argsz != sizeof(*m) || nfds > 1 || !m->size ||
	    wraps(m->addr, m->size) ||
	    (m->flags &
	     ~(VFU_DMA_MAP_READ | VFU_DMA_MAP_WRITE | VFU_DMA_MAP_MMAP)))
		return -EINVAL;
	if ((m->flags & VFU_DMA_MAP_MMAP) && !nfds)
		return -EINVAL;
	if (nfds && wraps(m->offset, m->size))
		return -EINVAL;
	out->nfds = nfds;
	return 0;
}

static int parse_dma_unmap(const struct vfu_hdr *hdr, const uint8_t *p,
			   size_t len, unsigned int nfds, uint64_t max_xfer,
			   struct vfu_req *out)
{
	struct vfu_dma_unmap *u = &out->u.dma_unmap.u;

	NO_FDS();
	NEED_GE(sizeof(*u));
	memcpy(u, p, sizeof(*u));
	if (u->flags & ~(VFU_DMA_UNMAP_ALL | VFU_DMA_UNMAP_GET_DIRTY_BITMAP))
		return -EINVAL;
	if (u->flags & VFU_DMA_UNMAP_ALL) {
		if (u->addr || u->size ||
		    (u->flags & VFU_DMA_UNMAP_GET_DIRTY_BITMAP))
			return -EINVAL;
		NEED_EQ(sizeof(*u));
		return 0;
	}
	if (!u->size || wraps(u->addr, u->size))
		return -EINVAL;
	if (u->flags & VFU_DMA_UNMAP_GET_DIRTY_BITMAP) {
		struct vfu_bitmap *b = &out->u.dma_unmap.bitmap;

		NEED_EQ(sizeof(*u) + sizeof(*b));
		memcpy(b, p + sizeof(*u), sizeof(*b));
		if (!b->pgsize || (b->pgsize & (b->pgsize - 1)) ||
		    b->size > VFU_MAX_DATA_XFER || (b->size & 7) ||
		    u->size / b->pgsize + !!(u->size % b->pgsize) >
			    b->size * 8 ||
		    u->argsz < sizeof(*u) + sizeof(*b) + b->size)
			return -EINVAL;
		return 0;
	}
	NEED_EQ(sizeof(*u));
	return 0;
}

/*
 * A request that is one structure starting with its argsz: at least the
 * structure (longer is fine: argsz says how much reply fits, the rest of the
 * request is ignored, as libvfio-user does), no fds, and an argsz that
 * covers the structure.
 */
static int parse_argsz_struct(const uint8_t *p, size_t len, unsigned int nfds,
			      void *dst, size_t size)
{
	uint32_t argsz;

	NO_FDS();
	NEED_GE(size);
	memcpy(dst, p, size);
	memcpy(&argsz, p, sizeof(argsz));
	return argsz < size ? -EINVAL : 0;
}

static int parse_device_info(const struct vfu_hdr *hdr, const uint8_t *p,
			     size_t len, unsigned int nfds, uint64_t max_xfer,
			     struct vfu_req *out)
{
	return parse_argsz_struct(p, len, nfds, &out->u.dev_info,
				  sizeof(out->u.dev_info));
}

static int parse_region_info(const struct vfu_hdr *hdr, const uint8_t *p,
			     size_t len, unsigned int nfds, uint64_t max_xfer,
			     struct vfu_req *out)
{
	return parse_argsz_struct(p, len, nfds, &out->u.region_info,
				  sizeof(out->u.region_info));
}

static int parse_region_io_fds(const struct vfu_hdr *hdr, const uint8_t *p,
			       size_t len, unsigned int nfds, uint64_t max_xfer,
			       struct vfu_req *out)
{
	return parse_argsz_struct(p, len, nfds, &out->u.io_fds,
				  sizeof(out->u.io_fds));
}

static int parse_irq_info(const struct vfu_hdr *hdr, const uint8_t *p,
			  size_t len, unsigned int nfds, uint64_t max_xfer,
			  struct vfu_req *out)
{
	return parse_argsz_struct(p, len, nfds, &out->u.irq_info,
				  sizeof(out->u.irq_info));
}

static int parse_region_rw(const struct vfu_hdr *hdr, const uint8_t *p,
			   size_t len, unsigned int nfds, uint64_t max_xfer,
			   struct vfu_req *out)
{
	struct vfu_region_access *a = &out->u.region.a;

	NO_FDS();
	NEED_GE(sizeof(*a));
	memcpy(a, p, sizeof(*a));
	if (!a->count || wraps(a->offset, a->count))
		return -EINVAL;
	if (a->count > max_xfer)
		return -E2BIG;
	if (hdr->cmd == VFU_CMD_REGION_READ) {
		NEED_EQ(sizeof(*a));
	} else {
		NEED_EQ(sizeof(*a) + (size_t)a->count);
		out->u.region.data = p + sizeof(*a);
	}
	return 0;
}

static int parse_reset(const struct vfu_hdr *hdr, const uint8_t *p, size_t len,
		       unsigned int nfds, uint64_t max_xfer,
		       struct vfu_req *out)
{
	NO_FDS();
	NEED_EQ(0);
	return 0;
}

static int parse_write_multi(const struct vfu_hdr *hdr, const uint8_t *p,
			     size_t len, unsigned int nfds, uint64_t max_xfer,
			     struct vfu_req *out)
{
	uint64_t n;

	NO_FDS();
	NEED_GE(sizeof(n));
	memcpy(&n, p, sizeof(n));
	if (!n || n > VFU_MAX_WRITE_MULTI)
		return -EINVAL;
	NEED_EQ(sizeof(n) + n * sizeof(struct vfu_write_multi_entry));
	out->u.write_multi.count = n;
	out->u.write_multi.entries =
		(const struct vfu_write_multi_entry *)(p + sizeof(n));
	for (uint64_t i = 0; i < n; i++) {
		struct vfu_write_multi_entry e;

		memcpy(&e, p + sizeof(n) + i * sizeof(e), sizeof(e));
		if (!e.count || e.count > 8 || wraps(e.offset, e.count))
			return -EINVAL;
	}
	return 0;
}

static int parse_mig_data(const struct vfu_hdr *hdr, const uint8_t *p,
			  size_t len, unsigned int nfds, uint64_t max_xfer,
			  struct vfu_req *out)
{
	struct vfu_mig_data *m = &out->u.mig.m;

	NO_FDS();
	NEED_GE(sizeof(*m));
	memcpy(m, p, sizeof(*m));
	if (m->size > max_xfer)
		return -E2BIG;
	if (hdr->cmd == VFU_CMD_MIG_DATA_READ) {
		NEED_EQ(sizeof(*m));
		if (m->argsz < sizeof(*m) + (size_t)m->size)
			return -EINVAL;
	} else {
		NEED_EQ(sizeof(*m) + (size_t)m->size);
		out->u.mig.data = p + sizeof(*m);
	}
	return 0;
}

/* server-to-client only: a client never sends these */
static int parse_to_client(const struct vfu_hdr *hdr, const uint8_t *p,
			   size_t len, unsigned int nfds, uint64_t max_xfer,
			   struct vfu_req *out)
{
	return -EINVAL;
}

/* indexed by the command number (a hole, 14, has no parser) */
#define CMD(c, n, f, p) [c] = { c, n, f, p }
static const struct vfu_command commands[VFU_CMD_MAX + 1] = {
	CMD(VFU_CMD_VERSION, "VERSION", 0, parse_version),
	CMD(VFU_CMD_DMA_MAP, "DMA_MAP", 1, parse_dma_map),
	CMD(VFU_CMD_DMA_UNMAP, "DMA_UNMAP", 0, parse_dma_unmap),
	CMD(VFU_CMD_DEVICE_GET_INFO, "DEVICE_GET_INFO", 0, parse_device_info),
	CMD(VFU_CMD_DEVICE_GET_REGION_INFO, "DEVICE_GET_REGION_INFO", 0,
	    parse_region_info),
	CMD(VFU_CMD_DEVICE_GET_REGION_IO_FDS, "DEVICE_GET_REGION_IO_FDS", 0,
	    parse_region_io_fds),
	CMD(VFU_CMD_DEVICE_GET_IRQ_INFO, "DEVICE_GET_IRQ_INFO", 0,
	    parse_irq_info),
	CMD(VFU_CMD_DEVICE_SET_IRQS, "DEVICE_SET_IRQS", VFU_MAX_MSG_FDS,
	    parse_set_irqs),
	CMD(VFU_CMD_REGION_READ, "REGION_READ", 0, parse_region_rw),
	CMD(VFU_CMD_REGION_WRITE, "REGION_WRITE", 0, parse_region_rw),
	CMD(VFU_CMD_DMA_READ, "DMA_READ", 0, parse_to_client),
	CMD(VFU_CMD_DMA_WRITE, "DMA_WRITE", 0, parse_to_client),
	CMD(VFU_CMD_DEVICE_RESET, "DEVICE_RESET", 0, parse_reset),
	CMD(VFU_CMD_REGION_WRITE_MULTI, "REGION_WRITE_MULTI", 0,
	    parse_write_multi),
	CMD(VFU_CMD_DEVICE_FEATURE, "DEVICE_FEATURE", 0, parse_feature),
	CMD(VFU_CMD_MIG_DATA_READ, "MIG_DATA_READ", 0, parse_mig_data),
	CMD(VFU_CMD_MIG_DATA_WRITE, "MIG_DATA_WRITE", 0, parse_mig_data),
};
#undef CMD

/* one look-up per message: an index, not a walk */
const struct vfu_command *vfu_command_find(uint16_t cmd)
{
	if (cmd >= sizeof(commands) / sizeof(commands[0]) ||
	    !commands[cmd].parse)
		return NULL;
	return &commands[cmd];
}

int vfu_parse_command(const struct vfu_hdr *hdr, const void *payload,
		      size_t len, unsigned int nfds, uint64_t max_xfer,
		      struct vfu_req *out)
{
	const struct vfu_command *c;

	memset(out, 0, sizeof(*out));
	if (!hdr || (len && !payload))
		return -EINVAL;
	out->cmd = hdr->cmd;
	out->msg_id = hdr->msg_id;
	out->no_reply = hdr->flags & VFU_F_NO_REPLY;
	if ((hdr->flags & VFU_F_TYPE_MASK) != VFU_F_TYPE_COMMAND ||
	    (hdr->flags & ~(VFU_F_TYPE_MASK | VFU_F_NO_REPLY)) || hdr->error ||
	    hdr->size != len + sizeof(*hdr))
		return -EINVAL;
	c = vfu_command_find(hdr->cmd);
	if (!c)
		return -ENOSYS;
	if (nfds > c->max_fds)
		return -EINVAL;
	return c->parse(hdr, payload, len, nfds, max_xfer, out);
}

int vfu_parse_dma_command(const struct vfu_hdr *hdr, const void *payload,
			  size_t len, unsigned int nfds, uint64_t max_xfer,
			  struct vfu_dma_access *access, const void **data)
{
	if (!hdr || (len && !payload) || nfds ||
	    (hdr->flags & VFU_F_TYPE_MASK) != VFU_F_TYPE_COMMAND ||
	    hdr->size != len + sizeof(*hdr) || len < sizeof(*access))
		return -EINVAL;
	memcpy(access, payload, sizeof(*access));
	if (!access->count || wraps(access->addr, access->count))
		return -EINVAL;
	if (access->count > max_xfer)
		return -E2BIG;
	switch (hdr->cmd) {
	case VFU_CMD_DMA_READ:
		return len == sizeof(*access) ? 0 : -EINVAL;
	case VFU_CMD_DMA_WRITE:
		if (len != sizeof(*access) + access->count)
			return -EINVAL;
		*data = (const uint8_t *)payload + sizeof(*access);
		return 0;
	default:
		return -EINVAL;
	}
}

size_t vfu_dma_request_head(enum vfu_dma_layout layout, uint64_t addr,
			    uint64_t count, uint8_t head[16], size_t *tail)
{
	uint32_t c32 = (uint32_t)count;

	memcpy(head, &addr, 8);
	if (layout == VFU_DMA_LAYOUT_QEMU) {
		memcpy(head + 8, &c32, 4);
		*tail = 4;
		return 12;
	}
	memcpy(head + 8, &count, 8);
	*tail = 0;
	return 16;
}

/* a reply to @req at all: type, flags, id, command, no fds; the error
 * reply's errno in *err (0: none) */
static int dma_reply_head(const struct vfu_hdr *req, const struct vfu_hdr *rh,
			  size_t len, unsigned int nfds, int *err)
{
	*err = 0;
	if ((rh->flags & VFU_F_TYPE_MASK) != VFU_F_TYPE_REPLY ||
	    (rh->flags & ~(VFU_F_TYPE_MASK | VFU_F_ERROR)) ||
	    rh->msg_id != req->msg_id || rh->cmd != req->cmd || nfds ||
	    rh->size != sizeof(*rh) + len)
		return -EPROTO;
	if (rh->flags & VFU_F_ERROR) {
		/* header only; an errno we can pass on */
		if (len || rh->error >= 4096)
			return -EPROTO;
		*err = rh->error ? -(int)rh->error : -EIO;
		return 0;
	}
	return rh->error ? -EPROTO : 0;
}

int vfu_dma_probe_layout(const struct vfu_hdr *probe, const struct vfu_hdr *rh,
			 const void *payload, size_t len, unsigned int nfds)
{
	struct vfu_dma_access echo;
	int err;

	if (probe->cmd != VFU_CMD_DMA_WRITE ||
	    dma_reply_head(probe, rh, len, nfds, &err) < 0)
		return -EPROTO;
	if (err) /* a spec peer refusing a count of 0 */
		return VFU_DMA_LAYOUT_SPEC;
	if (!len)
		return VFU_DMA_LAYOUT_QEMU;
	if (len != sizeof(echo))
		return -EPROTO;
	memcpy(&echo, payload, sizeof(echo));
	return echo.count ? -EPROTO : VFU_DMA_LAYOUT_SPEC;
}

int vfu_dma_check_reply(enum vfu_dma_layout layout, const struct vfu_hdr *req,
			uint64_t addr, uint64_t count, const struct vfu_hdr *rh,
			const void *payload, size_t len, unsigned int nfds,
			void *buf)
{
	bool read = req->cmd == VFU_CMD_DMA_READ;
	const uint8_t *p = payload;
	size_t head, tail;
	uint8_t want[16];
	int err;

	if (dma_reply_head(req, rh, len, nfds, &err) < 0)
		return -EPROTO;
	if (err)
		return err;
	if (layout == VFU_DMA_LAYOUT_QEMU && !read)
		return len ? -EPROTO : 0;
	head = vfu_dma_request_head(layout, addr, count, want, &tail);
	if (len != head + (read ? count : 0) + (read ? tail : 0) ||
	    memcmp(p, want, head))
		return -EPROTO;
	if (read)
		memcpy(buf, p + head, (size_t)count);
	return 0;
}

int vfu_check_region_info(const void *payload, size_t len)
{
	const uint8_t *p = payload;
	struct vfu_region_info ri;
	uint32_t off, min_next;

	if (len < sizeof(ri))
		return -EPROTO;
	memcpy(&ri, p, sizeof(ri));
	if (!(ri.flags & VFU_REGION_CAPS))
		return 0;
	if (ri.argsz > len)
		return -EPROTO;
	min_next = sizeof(ri);
	for (off = ri.cap_offset; off;) {
		struct vfu_cap_header ch;

		if (off < min_next || off > len || len - off < sizeof(ch))
			return -EPROTO;
		memcpy(&ch, p + off, sizeof(ch));
		if (ch.id == VFU_CAP_SPARSE_MMAP) {
			struct vfu_cap_sparse sp;

			if (len - off < sizeof(sp))
				return -EPROTO;
			memcpy(&sp, p + off, sizeof(sp));
			if (sp.nr_areas >
			    (len - off - sizeof(sp)) /
				    sizeof(struct vfu_sparse_area))
				return -EPROTO;
			for (uint32_t i = 0; i < sp.nr_areas; i++) {
				struct vfu_sparse_area a;

				memcpy(&a, p + off + sizeof(sp) + i * sizeof(a),
				       sizeof(a));
				if (wraps(a.offset, a.size) ||
				    a.offset + a.size > ri.size)
					return -EPROTO;
			}
		}
		if (ch.id == VFU_CAP_TYPE &&
		    len - off < sizeof(struct vfu_cap_type))
			return -EPROTO;
		min_next = off + sizeof(ch);
		off = ch.next;
	}
	return 0;
}

/* ---- transport ---- */

void vfu_msg_close_fds(struct vfu_msg *msg, unsigned int from)
{
	for (unsigned int i = from; i < msg->nfds; i++)
		if (msg->fds[i] >= 0)
			close(msg->fds[i]);
	if (from < msg->nfds)
		msg->nfds = from;
}

/*
 * The buffered reader. One recvmsg() fetches as much as the socket holds,
 * so a message (header and payload) and any messages pipelined behind it
 * usually cost one system call, and a message already in the buffer none.
 *
 * Descriptors: Linux attaches a sendmsg()'s fds to the first byte of its
 * data and ends a stream recvmsg() right after the skb that carried fds, so
 * the fds a recvmsg() returns belong to the last message that starts inside
 * the bytes that call read. We remember, per call that brought fds, the
 * stream range it read, and hand the fds to the message that starts in
 * that range and reaches its end. Fds nobody can claim (a peer that sent
 * them with the middle of a message) are closed.
 */
void vfu_reader_init(struct vfu_reader *r)
{
	memset(r, 0, sizeof(*r));
}

static void drop_fdsets(struct vfu_reader *r)
{
	for (unsigned int i = 0; i < r->nsets; i++)
		for (unsigned int k = 0; k < r->sets[i].n; k++)
			close(r->sets[i].fds[k]);
	r->nsets = 0;
}

void vfu_reader_reset(struct vfu_reader *r)
{
	drop_fdsets(r);
	r->head = r->tail = 0;
	r->base = 0;
}

void vfu_reader_free(struct vfu_reader *r)
{
	drop_fdsets(r);
	free(r->buf);
	vfu_reader_init(r);
}

static void pop_fdset(struct vfu_reader *r, struct vfu_msg *msg)
{
	struct vfu_rx_fds *s = &r->sets[0];

	for (unsigned int k = 0; k < s->n; k++) {
		if (msg)
			msg->fds[msg->nfds++] = s->fds[k];
		else
			close(s->fds[k]);
	}
	memmove(&r->sets[0], &r->sets[1], (r->nsets - 1) * sizeof(r->sets[0]));
	r->nsets--;
}

/* take the message at r->head (complete, @size bytes) */
static void extract(struct vfu_reader *r, struct vfu_msg *msg, uint32_t size)
{
	uint64_t at = r->base + r->head;

	memcpy(&msg->hdr, r->buf + r->head, sizeof(msg->hdr));
	msg->payload = r->buf + r->head + sizeof(msg->hdr);
	msg->len = size - sizeof(msg->hdr);
	while (r->nsets && r->sets[0].end <= at)
		pop_fdset(r, NULL); /* fds that came with no message start */
	if (r->nsets && r->sets[0].begin <= at && at + size >= r->sets[0].end)
		pop_fdset(r, msg);
	r->head += size;
	if (r->head == r->tail) {
		r->base += r->head;
		r->head = r->tail = 0;
	}
}

/* a buffer of at least @need bytes (and VFU_RX_BUF) */
static int reserve(struct vfu_reader *r, size_t need)
{
	size_t cap = need > VFU_RX_BUF ? need : VFU_RX_BUF;
	uint8_t *nb;

	if (need <= r->cap && r->buf)
		return 0;
	nb = realloc(r->buf, cap);
	if (!nb)
		return -ENOMEM;
	r->buf = nb;
	r->cap = cap;
	return 0;
}

/* one recvmsg() into the free end of the buffer */
static int fill(struct vfu_reader *r, int sock, int flags)
{
	union {
		char b[CMSG_SPACE(sizeof(int) * VFU_MAX_MSG_FDS)];
		struct cmsghdr align;
	} ctrl;
	struct iovec iov = { .iov_base = r->buf + r->tail,
			     .iov_len = r->cap - r->tail };
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctrl.b,
		.msg_controllen = sizeof(ctrl.b),
	};
	struct vfu_rx_fds set; /* fds[] past n never read: not cleared */
	struct cmsghdr *c;
	ssize_t n;

	set.n = 0;

	do {
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | flags);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		size_t k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int),
			       sizeof(int));
			if (set.n < VFU_MAX_MSG_FDS)
				set.fds[set.n++] = fd;
			else
				close(fd);
		}
	}
	if ((mh.msg_flags & MSG_CTRUNC) ||
	    (set.n && r->nsets == VFU_RX_FDSETS)) {
		for (unsigned int k = 0; k < set.n; k++)
			close(set.fds[k]);
		return -EMSGSIZE;
	}
	if (n == 0)
		return r->tail > r->head ? -ECONNRESET : -ENOTCONN;
	if (set.n) {
		set.begin = r->base + r->tail;
		set.end = set.begin + (uint64_t)n;
		r->sets[r->nsets++] = set;
	}
	r->tail += (size_t)n;
	return 0;
}

int vfu_reader_move(struct vfu_reader *dst, struct vfu_reader *src)
{
	size_t n = src->tail - src->head;
	int r;

	if (dst->head != dst->tail || dst->nsets)
		return -EBUSY;
	r = reserve(dst, n);
	if (r < 0)
		return r;
	if (n)
		memcpy(dst->buf, src->buf + src->head, n);
	dst->head = 0;
	dst->tail = n;
	dst->base = src->base + src->head;
	memcpy(dst->sets, src->sets, sizeof(src->sets));
	dst->nsets = src->nsets;
	src->nsets = 0;
	src->head = src->tail;
	return 0;
}

bool vfu_reader_has_msg(const struct vfu_reader *r)
{
	struct vfu_hdr h;

	if (r->tail - r->head < sizeof(h))
		return false;
	memcpy(&h, r->buf + r->head, sizeof(h));
	/* a bad size counts: the next call reports it */
	return h.size < sizeof(h) || h.size > VFU_MAX_MSG_SIZE ||
	       r->tail - r->head >= h.size;
}

int vfu_reader_next(struct vfu_reader *r, int sock, struct vfu_msg *msg,
		    int flags)
{
	msg->nfds = 0;
	msg->payload = NULL;
	msg->len = 0;
	for (;;) {
		size_t avail = r->tail - r->head, need = sizeof(struct vfu_hdr);
		int ret;

		if (avail >= sizeof(struct vfu_hdr)) {
			struct vfu_hdr h;

			memcpy(&h, r->buf + r->head, sizeof(h));
			if (h.size < sizeof(h) || h.size > VFU_MAX_MSG_SIZE)
				return -EMSGSIZE;
			if (avail >= h.size) {
				extract(r, msg, h.size);
				return 0;
			}
			need = h.size;
		}
		/* room for the whole message after what is buffered */
		if (r->head && r->head + need > r->cap) {
			memmove(r->buf, r->buf + r->head, avail);
			r->base += r->head;
			r->tail = avail;
			r->head = 0;
		}
		ret = reserve(r, need);
		if (ret == 0)
			ret = fill(r, sock, flags);
		if (ret < 0)
			return ret;
	}
}

/* the sendmsg() loop of vfu_send() and vfu_send_some(): bytes sent, or
 * -errno when nothing could be sent for a reason other than EAGAIN */
static ssize_t send_msg(int sock, struct vfu_hdr *hdr, const struct iovec *iov,
			unsigned int n, const int *fds, unsigned int nfds,
			int flags)
{
	union {
		char b[CMSG_SPACE(sizeof(int) * VFU_MAX_MSG_FDS)];
		struct cmsghdr align;
	} ctrl;
	struct iovec v[8];
	struct msghdr mh = { .msg_iov = v };
	size_t total = sizeof(*hdr), done = 0;
	unsigned int cnt = 1;

	if (n > 7 || nfds > VFU_MAX_MSG_FDS)
		return -EINVAL;
	v[0].iov_base = hdr;
	v[0].iov_len = sizeof(*hdr);
	for (unsigned int i = 0; i < n; i++) {
		if (!iov[i].iov_len)
			continue;
		v[cnt++] = iov[i];
		total += iov[i].iov_len;
	}
	if (total > UINT32_MAX)
		return -EMSGSIZE;
	hdr->size = (uint32_t)total;
	mh.msg_iovlen = cnt;
	if (nfds) {
		struct cmsghdr *c;

		memset(ctrl.b, 0, sizeof(ctrl.b));
		mh.msg_control = ctrl.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	while (done < total) {
		ssize_t r = sendmsg(sock, &mh, MSG_NOSIGNAL | flags);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN && (flags & MSG_DONTWAIT))
			break;
		if (r < 0)
			return -errno;
		if ((size_t)r == total)
			return r; /* the common case: all of it at once */
		done += (size_t)r;
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
		/* skip what went out */
		while (r > 0 && mh.msg_iovlen) {
			if ((size_t)r >= mh.msg_iov->iov_len) {
				r -= (ssize_t)mh.msg_iov->iov_len;
				mh.msg_iov++;
				mh.msg_iovlen--;
			} else {
				mh.msg_iov->iov_base =
					(char *)mh.msg_iov->iov_base + r;
				mh.msg_iov->iov_len -= (size_t)r;
				r = 0;
			}
		}
	}
	return (ssize_t)done;
}

int vfu_send(int sock, struct vfu_hdr *hdr, const struct iovec *iov,
	     unsigned int n, const int *fds, unsigned int nfds)
{
	ssize_t r = send_msg(sock, hdr, iov, n, fds, nfds, 0);

	return r < 0 ? (int)r : 0;
}

ssize_t vfu_send_some(int sock, struct vfu_hdr *hdr, const struct iovec *iov,
		      unsigned int n, const int *fds, unsigned int nfds)
{
	return send_msg(sock, hdr, iov, n, fds, nfds, MSG_DONTWAIT);
}

int vfu_send_error(int sock, const struct vfu_hdr *req_hdr, int err)
{
	struct vfu_hdr h = {
		.msg_id = req_hdr->msg_id,
		.cmd = req_hdr->cmd,
		.flags = VFU_F_TYPE_REPLY | VFU_F_ERROR,
		.error = (uint32_t)(err < 0 ? -err : err),
	};

	return vfu_send(sock, &h, NULL, 0, NULL, 0);
}
