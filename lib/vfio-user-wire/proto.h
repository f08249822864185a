/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-user wire format: message layouts, limits, a validating parser for
 * untrusted messages and the socket transport with SCM_RIGHTS.
 * See docs/vfio-user.md and ../shared/reference/vfio-user-protocol.md.
 * Everything is host byte order and packed.
 */
#ifndef VGPU_VFU_PROTO_H
#define VGPU_VFU_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

enum vfu_cmd {
	VFU_CMD_VERSION = 1,
	VFU_CMD_DMA_MAP = 2,
	VFU_CMD_DMA_UNMAP = 3,
	VFU_CMD_DEVICE_GET_INFO = 4,
	VFU_CMD_DEVICE_GET_REGION_INFO = 5,
	VFU_CMD_DEVICE_GET_REGION_IO_FDS = 6,
	VFU_CMD_DEVICE_GET_IRQ_INFO = 7,
	VFU_CMD_DEVICE_SET_IRQS = 8,
	VFU_CMD_REGION_READ = 9,
	VFU_CMD_REGION_WRITE = 10,
	VFU_CMD_DMA_READ = 11,
	VFU_CMD_DMA_WRITE = 12,
	VFU_CMD_DEVICE_RESET = 13,
	VFU_CMD_REGION_WRITE_MULTI = 15,
	VFU_CMD_DEVICE_FEATURE = 16,
	VFU_CMD_MIG_DATA_READ = 17,
	VFU_CMD_MIG_DATA_WRITE = 18,
	VFU_CMD_MAX = 18,
};

/* header flags */
#define VFU_F_TYPE_MASK	   0xfu
#define VFU_F_TYPE_COMMAND 0x0u
#define VFU_F_TYPE_REPLY   0x1u
#define VFU_F_NO_REPLY	   0x10u
#define VFU_F_ERROR	   0x20u

/* limits we advertise and enforce */
#define VFU_VERSION_MAJOR   0
#define VFU_VERSION_MINOR   0
#define VFU_MAX_DATA_XFER   (1u << 20)
#define VFU_MAX_MSG_FDS	    16u
#define VFU_MAX_MSG_SIZE    (VFU_MAX_DATA_XFER + 64u)
#define VFU_MAX_DMA_MAPS    1048576u
#define VFU_MAX_WRITE_MULTI 1024u
#define VFU_MAX_LOG_RANGES  4096u

/* DMA_MAP / DMA_UNMAP flags */
#define VFU_DMA_MAP_READ	       (1u << 0)
#define VFU_DMA_MAP_WRITE	       (1u << 1)
#define VFU_DMA_MAP_MMAP	       (1u << 2) /* libvfio-user extension */
#define VFU_DMA_UNMAP_GET_DIRTY_BITMAP (1u << 0)
#define VFU_DMA_UNMAP_ALL	       (1u << 1)

/* DEVICE_GET_INFO flags */
#define VFU_DEV_FLAG_RESET (1u << 0)
#define VFU_DEV_FLAG_PCI   (1u << 1)

/* REGION_INFO flags and capabilities */
#define VFU_REGION_READ	    (1u << 0)
#define VFU_REGION_WRITE    (1u << 1)
#define VFU_REGION_MMAP	    (1u << 2)
#define VFU_REGION_CAPS	    (1u << 3)
#define VFU_CAP_SPARSE_MMAP 1
#define VFU_CAP_TYPE	    2
#define VFU_PCI_NUM_REGIONS 9
/* the PCI regions plus device-specific ones (index 9 up) */
#define VFU_MAX_REGIONS	      16
#define VFU_PCI_CONFIG_REGION 7

/* IRQ_INFO flags, SET_IRQS flags, PCI IRQ indexes */
#define VFU_IRQ_INFO_EVENTFD	(1u << 0)
#define VFU_IRQ_INFO_MASKABLE	(1u << 1)
#define VFU_IRQ_INFO_AUTOMASKED (1u << 2)
#define VFU_IRQ_INFO_NORESIZE	(1u << 3)
#define VFU_IRQ_DATA_NONE	(1u << 0)
#define VFU_IRQ_DATA_BOOL	(1u << 1)
#define VFU_IRQ_DATA_EVENTFD	(1u << 2)
#define VFU_IRQ_DATA_MASK	0x7u
#define VFU_IRQ_ACTION_MASK	(1u << 3)
#define VFU_IRQ_ACTION_UNMASK	(1u << 4)
#define VFU_IRQ_ACTION_TRIGGER	(1u << 5)
#define VFU_IRQ_ACTION_MASKBITS 0x38u
#define VFU_PCI_NUM_IRQS	5

/* DEVICE_FEATURE */
#define VFU_FEATURE_MASK	     0xffffu
#define VFU_FEATURE_GET		     (1u << 16)
#define VFU_FEATURE_SET		     (1u << 17)
#define VFU_FEATURE_PROBE	     (1u << 18)
#define VFU_FEATURE_MIGRATION	     1
#define VFU_FEATURE_MIG_DEVICE_STATE 2
/* the flags of the VFU_FEATURE_MIGRATION reply (the kernel's
 * VFIO_MIGRATION_*): which optional states the device supports */
#define VFU_MIGRATION_STOP_COPY	       (1u << 0)
#define VFU_MIGRATION_P2P	       (1u << 1)
#define VFU_MIGRATION_PRE_COPY	       (1u << 2)
#define VFU_FEATURE_DMA_LOGGING_START  6
#define VFU_FEATURE_DMA_LOGGING_STOP   7
#define VFU_FEATURE_DMA_LOGGING_REPORT 8

struct vfu_hdr {
	uint16_t msg_id;
	uint16_t cmd;
	uint32_t size;
	uint32_t flags;
	uint32_t error;
} __attribute__((packed));

struct vfu_version {
	uint16_t major;
	uint16_t minor;
	/* char json[], NUL-terminated, optional */
} __attribute__((packed));

struct vfu_dma_map {
	uint32_t argsz;
	uint32_t flags;
	uint64_t offset;
	uint64_t addr;
	uint64_t size;
} __attribute__((packed));

struct vfu_dma_unmap {
	uint32_t argsz;
	uint32_t flags;
	uint64_t addr;
	uint64_t size;
} __attribute__((packed));

struct vfu_bitmap {
	uint64_t pgsize;
	uint64_t size;
} __attribute__((packed));

struct vfu_device_info {
	uint32_t argsz;
	uint32_t flags;
	uint32_t num_regions;
	uint32_t num_irqs;
} __attribute__((packed));

struct vfu_region_info {
	uint32_t argsz;
	uint32_t flags;
	uint32_t index;
	uint32_t cap_offset;
	uint64_t size;
	uint64_t offset;
} __attribute__((packed));

struct vfu_cap_header {
	uint16_t id;
	uint16_t version;
	uint32_t next;
} __attribute__((packed));

struct vfu_sparse_area {
	uint64_t offset;
	uint64_t size;
} __attribute__((packed));

struct vfu_cap_sparse {
	struct vfu_cap_header hdr;
	uint32_t nr_areas;
	uint32_t reserved;
	/* struct vfu_sparse_area areas[] */
} __attribute__((packed));

struct vfu_cap_type {
	struct vfu_cap_header hdr;
	uint32_t type;
	uint32_t subtype;
} __attribute__((packed));

/*
 * libvgpu's display convention (vfio-user has no GFX_PLANE command): a
 * device-specific region of type VGPU_VFU_TYPE_GFX, subtype
 * VGPU_VFU_SUBTYPE_PLANE, read-only, whose first bytes are this struct
 * (little endian): the primary plane's mode and the region whose offset 0
 * holds its pixels. drm_format 0: nothing shown. The same values are
 * VGPU_REGION_TYPE_GFX, VGPU_REGION_SUBTYPE_GFX_PLANE and
 * VGPU_PLANE_DESC_* in libvgpu-provider.h.
 */
#define VGPU_VFU_TYPE_GFX      1u
#define VGPU_VFU_SUBTYPE_PLANE 0x6c760001u
#define VGPU_VFU_PLANE_VERSION 1u
struct vgpu_vfu_plane {
	uint32_t version;
	uint32_t drm_format;
	uint32_t width;
	uint32_t height;
	uint32_t stride;
	uint32_t region_index;
} __attribute__((packed));

struct vfu_io_fds {
	uint32_t argsz;
	uint32_t flags;
	uint32_t index;
	uint32_t count;
} __attribute__((packed));

struct vfu_irq_info {
	uint32_t argsz;
	uint32_t flags;
	uint32_t index;
	uint32_t count;
} __attribute__((packed));

struct vfu_irq_set {
	uint32_t argsz;
	uint32_t flags;
	uint32_t index;
	uint32_t start;
	uint32_t count;
} __attribute__((packed));

struct vfu_region_access {
	uint64_t offset;
	uint32_t region;
	uint32_t count;
} __attribute__((packed));

struct vfu_dma_access {
	uint64_t addr;
	uint64_t count;
} __attribute__((packed));

struct vfu_write_multi_entry {
	uint64_t offset;
	uint32_t region;
	uint32_t count;
	uint8_t data[8];
} __attribute__((packed));

struct vfu_feature {
	uint32_t argsz;
	uint32_t flags;
} __attribute__((packed));

struct vfu_mig_state {
	uint32_t device_state;
	uint32_t data_fd;
} __attribute__((packed));

struct vfu_log_start {
	uint64_t page_size;
	uint32_t num_ranges;
	uint32_t reserved;
} __attribute__((packed));

struct vfu_log_range {
	uint64_t iova;
	uint64_t length;
} __attribute__((packed));

struct vfu_log_report {
	uint64_t iova;
	uint64_t length;
	uint64_t page_size;
} __attribute__((packed));

struct vfu_mig_data {
	uint32_t argsz;
	uint32_t size;
} __attribute__((packed));

/* capabilities negotiated in VERSION */
struct vfu_caps {
	uint32_t max_msg_fds;
	uint64_t max_data_xfer_size;
	uint64_t max_dma_maps;
	uint64_t pgsizes;
	uint64_t mig_pgsize; /* 0: no migration object */
	uint64_t mig_max_bitmap;
	bool twin_socket;
	bool write_multiple;
	unsigned int present; /* VFU_CAP_* keys the JSON had */
};

/* the keys of a capabilities object; a reply names only those the offer
 * named (the spec: a subset) */
#define VFU_CAP_MAX_MSG_FDS   (1u << 0)
#define VFU_CAP_MAX_DATA_XFER (1u << 1)
#define VFU_CAP_MAX_DMA_MAPS  (1u << 2)
#define VFU_CAP_PGSIZES	      (1u << 3)

/* the defaults the spec gives for absent keys */
void vfu_caps_default(struct vfu_caps *caps);
/*
 * Parse the JSON of a VERSION payload (@json has @len bytes including the
 * NUL; len 0 means no JSON) over the defaults. Unknown keys are ignored,
 * known keys of the wrong type or out of range give -EINVAL.
 */
int vfu_caps_parse(const char *json, size_t len, struct vfu_caps *caps);
/* format caps as JSON into a malloc'd NUL-terminated string: the numbers
 * whose VFU_CAP_* bit is in caps->present, migration when mig_pgsize is
 * set, write_multiple when true */
int vfu_caps_format(const struct vfu_caps *caps, char **ret);

/*
 * A validated request. The parser checks every size and field it can check
 * without knowing the device (region sizes and DMA windows are the server's
 * business) and how many fds the command may carry. Pointers point into the
 * message buffer.
 */
struct vfu_req {
	uint16_t cmd;
	uint16_t msg_id;
	bool no_reply;
	unsigned int nfds; /* fds the command consumes, taken in order */
	union {
		struct {
			uint16_t major, minor;
			const char *json; /* NULL when absent */
			size_t json_len;  /* including the NUL */
		} version;
		struct vfu_dma_map dma_map;
		struct {
			struct vfu_dma_unmap u;
			struct vfu_bitmap bitmap; /* when GET_DIRTY_BITMAP */
		} dma_unmap;
		struct vfu_device_info dev_info;
		struct vfu_region_info region_info;
		struct vfu_io_fds io_fds;
		struct vfu_irq_info irq_info;
		struct {
			struct vfu_irq_set s;
			const uint8_t *bools; /* DATA_BOOL: count bytes */
		} set_irqs;
		struct {
			struct vfu_region_access a;
			const void *data; /* writes */
		} region;
		struct {
			uint64_t count;
			const struct vfu_write_multi_entry *entries;
		} write_multi;
		struct {
			struct vfu_feature f;
			const void *data;
			size_t data_len;
		} feature;
		struct {
			struct vfu_mig_data m;
			const void *data; /* writes */
		} mig;
	} u;
};

/*
 * The commands a client may send, one entry each: the name (for logs), how
 * many fds may come with it, and its parser. vfu_parse_command() indexes it by
 * command number.
 */
struct vfu_command {
	uint16_t cmd;
	const char *name;
	unsigned int max_fds;
	int (*parse)(const struct vfu_hdr *hdr, const uint8_t *p, size_t len,
		     unsigned int nfds, uint64_t max_xfer, struct vfu_req *out);
};

/* the table entry of @cmd, or NULL for an unknown command */
const struct vfu_command *vfu_command_find(uint16_t cmd);

/*
 * Validate a client-to-server command: @hdr, then @len payload bytes at
 * @payload, which arrived with @nfds descriptors.
 * Returns 0, or a negative errno to put in the error reply (-EINVAL for
 * malformed messages and wrong fd counts, -ENOSYS for unknown commands,
 * -E2BIG for transfers above @max_xfer).
 */
int vfu_parse_command(const struct vfu_hdr *hdr, const void *payload,
		      size_t len, unsigned int nfds, uint64_t max_xfer,
		      struct vfu_req *out);

/*
 * Validate a server-to-client command (DMA_READ, DMA_WRITE): fills
 * @access and, for writes, *@data.
 */
int vfu_parse_dma_command(const struct vfu_hdr *hdr, const void *payload,
			  size_t len, unsigned int nfds, uint64_t max_xfer,
			  struct vfu_dma_access *access, const void **data);

/*
 * The two DMA_READ/DMA_WRITE layouts in use. The spec's (libvfio-user,
 * libvgpu's client): {u64 addr, u64 count} then the data at payload offset
 * 16; a DMA_WRITE reply echoes those 16 bytes. QEMU's (10.1, 10.2):
 * {u64 addr, u32 count} then the data at offset 12 and 4 bytes of padding
 * after it (its struct's size), and a DMA_WRITE reply is the header alone.
 * A reply of one layout can pass for the other (a DMA_READ reply has the
 * same size in both), so the layout is learnt once per connection with a
 * probe: a DMA_WRITE of 0 bytes, whose successful reply is 16 bytes of
 * payload in the spec's layout and none in QEMU's (a spec peer may also
 * refuse a count of 0: an error reply; QEMU never does).
 */
enum vfu_dma_layout {
	VFU_DMA_LAYOUT_UNKNOWN = 0,
	VFU_DMA_LAYOUT_SPEC,
	VFU_DMA_LAYOUT_QEMU,
};

/*
 * The request payload around the data: @head (at most 16 bytes) goes
 * before the data, then @tail zero bytes (QEMU's padding) after it.
 * Returns the head's size. The probe is a DMA_WRITE with @count 0 in the
 * spec's layout.
 */
size_t vfu_dma_request_head(enum vfu_dma_layout layout, uint64_t addr,
			    uint64_t count, uint8_t head[16], size_t *tail);
/*
 * The layout a reply @m to the probe @probe shows, or -EPROTO when it is
 * not a reply to it in either layout.
 */
int vfu_dma_probe_layout(const struct vfu_hdr *probe, const struct vfu_hdr *rh,
			 const void *payload, size_t len, unsigned int nfds);
/*
 * Check the reply (@rh, @payload, @len, @nfds) to the request @req for
 * [addr, addr + count) in @layout; for DMA_READ the data is copied to
 * @buf. Returns 0, the peer's errno from an error reply (-EIO for errno 0),
 * or -EPROTO for anything else.
 */
int vfu_dma_check_reply(enum vfu_dma_layout layout, const struct vfu_hdr *req,
			uint64_t addr, uint64_t count, const struct vfu_hdr *rh,
			const void *payload, size_t len, unsigned int nfds,
			void *buf);

/*
 * Validate a REGION_INFO reply of @len bytes: the caps chain stays inside
 * the reply, moves strictly forwards and a sparse-mmap cap's areas stay
 * inside the region. Returns 0 or -EPROTO.
 */
int vfu_check_region_info(const void *payload, size_t len);

/* ---- transport ---- */

/* a received message; fds beyond what the command uses must be closed */
struct vfu_msg {
	struct vfu_hdr hdr;
	uint8_t *payload; /* hdr.size - 16 bytes inside the reader's buffer,
			   * valid until the next vfu_reader_next() */
	size_t len;
	int fds[VFU_MAX_MSG_FDS];
	unsigned int nfds;
};

#define VFU_RX_BUF    65536u /* grows to the largest message seen */
#define VFU_RX_FDSETS 4u     /* fd-carrying reads buffered at once */

/* fds one recvmsg() brought, and the stream bytes [begin, end) it read */
struct vfu_rx_fds {
	uint64_t begin, end;
	int fds[VFU_MAX_MSG_FDS];
	unsigned int n;
};

/* a per-connection receive buffer; see vfu_reader_next() */
struct vfu_reader {
	uint8_t *buf;
	size_t cap, head, tail; /* unread bytes are buf[head..tail) */
	uint64_t base;		/* stream offset of buf[0] */
	struct vfu_rx_fds sets[VFU_RX_FDSETS];
	unsigned int nsets;
};

void vfu_reader_init(struct vfu_reader *r);
/* forget buffered bytes and close pending fds (a new connection) */
void vfu_reader_reset(struct vfu_reader *r);
void vfu_reader_free(struct vfu_reader *r);
/*
 * The next message from @sock: from the buffer when it holds a whole one,
 * else after as many recvmsg() calls as it takes, each reading as much as
 * the socket has (so later messages may be buffered too). Fds go to the
 * message they were sent with (see proto.c). More than VFU_MAX_MSG_FDS in
 * one call (ancillary data truncated), or fds arriving while VFU_RX_FDSETS
 * sets wait for their messages, close them and give -EMSGSIZE. A size
 * below 16 or above VFU_MAX_MSG_SIZE gives -EMSGSIZE (framing is lost:
 * disconnect). EOF between messages gives -ENOTCONN, inside one
 * -ECONNRESET. @flags go to recvmsg(): with MSG_DONTWAIT, -EAGAIN when no
 * whole message is there yet; the partial one stays buffered.
 */
int vfu_reader_next(struct vfu_reader *r, int sock, struct vfu_msg *msg,
		    int flags);
/*
 * Move the unread bytes and pending fds of @src into @dst, which must be
 * empty (initialised or reset). @src's buffer is not touched, so a message
 * taken from it stays valid; @src must not be read again before
 * vfu_reader_reset(). Used to read on while a message is being handled.
 */
int vfu_reader_move(struct vfu_reader *dst, struct vfu_reader *src);
/* whether vfu_reader_next() can answer without a system call */
bool vfu_reader_has_msg(const struct vfu_reader *r);
/* close every fd of @msg from index @from on */
void vfu_msg_close_fds(struct vfu_msg *msg, unsigned int from);

/*
 * Send header + @n payload pieces in one sendmsg (retried for the rest on a
 * short write), with @nfds descriptors attached to the first byte.
 */
int vfu_send(int sock, struct vfu_hdr *hdr, const struct iovec *iov,
	     unsigned int n, const int *fds, unsigned int nfds);
/*
 * The same without waiting (MSG_DONTWAIT): the bytes that went out, from 0
 * to hdr->size (set here), the fds with the first of them; or -errno. The
 * caller keeps the rest.
 */
ssize_t vfu_send_some(int sock, struct vfu_hdr *hdr, const struct iovec *iov,
		      unsigned int n, const int *fds, unsigned int nfds);
/* header-only error reply to @req_hdr */
int vfu_send_error(int sock, const struct vfu_hdr *req_hdr, int err);

#endif
