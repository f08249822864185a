/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The provider control socket: how management (the "vfio-user" backend of
 * libvgpu, so vgpuctl) lists a provider's types and devices and creates and
 * removes devices. RUNTIME_DIR/vfio-user/PARENT.ctl, mode 0600, and the
 * provider serves only root and its own user (SO_PEERCRED).
 *
 * One request per connection, one line of at most 4095 bytes ending in \n:
 *   types | list | create TYPE UUID [KEY=VALUE]... | remove UUID
 *   remove-force UUID
 *   display UUID | qos-set UUID KNOB VALUE | qos-get UUID KNOB | usage UUID
 * (single spaces, ids of [A-Za-z0-9_.:-]{1,64}, a UUID in canonical form;
 * attribute keys of [A-Za-z0-9_./-]{1,64} (names, not paths: the provider
 * hands them to its vendor), at most 16 attributes, values of
 * up to 255 bytes percent-encoded: %XX for '%', space and any byte outside
 * the printable ASCII range, and no control character once decoded; knobs
 * by their libvgpu names, values in decimal).
 * The reply is "err ERRNO\n", or "ok N\n" and N records of tab-separated
 * fields ending in \n, then the provider closes the connection:
 *   types:   id, available, max, name, description  (one per type)
 *   list:    uuid, type, socket path                 (one per device)
 *   create:  uuid, type, socket path                 (the new device)
 *   remove:  no record; "err EBUSY" while a client uses the device
 *   remove-force: as remove when no client uses the device; otherwise the
 *            provider asks the client to let go (the REQ interrupt, which
 *            QEMU turns into a hot-unplug request) and answers
 *            "err EINPROGRESS": remove it once the client has gone. "err
 *            EBUSY" when the client has no REQ interrupt to ask it with
 *   qos-set: no record
 *   qos-get: value
 *   usage:   mask, engine_busy_ns, work_items, dma_bytes, interrupts,
 *            fb_bytes, frames (mask: bit n set when counter n is reported;
 *            a counter not reported is 0 in its field and means nothing)
 *   display: seq, format, width, height, stride, offset, size, with the
 *            plane memory's descriptor (read-only); the connection stays
 *            open and brings one such record per frame or mode change,
 *            "reopen" or "gone" (docs/display.md)
 * Text fields carry no control characters (the provider blanks them).
 */
#ifndef VGPU_VFU_CTL_H
#define VGPU_VFU_CTL_H

#include <stdbool.h>
#include <stddef.h>

#include <stdint.h>

#define VFU_CTL_MAX_REQ	   4096
#define VFU_CTL_MAX_REPLY  (256u * 1024u)
#define VFU_CTL_MAX_FIELDS 7
#define VFU_CTL_MAX_ATTRS  16
#define VFU_CTL_MAX_VALUE  255

enum vfu_ctl_op {
	VFU_CTL_TYPES,
	VFU_CTL_LIST,
	VFU_CTL_CREATE,
	VFU_CTL_REMOVE,
	VFU_CTL_REMOVE_FORCE,
	VFU_CTL_DISPLAY,
	VFU_CTL_QOS_SET,
	VFU_CTL_QOS_GET,
	VFU_CTL_USAGE,
};

/* the QoS knobs, in libvgpu's order (enum vgpu_qos_knob) */
#define VFU_CTL_KNOBS 5
extern const char *const vfu_ctl_knob_names[VFU_CTL_KNOBS];
/* the usage counters, in libvgpu's order (enum vgpu_usage_counter) */
#define VFU_CTL_COUNTERS 6

struct vfu_ctl_req {
	enum vfu_ctl_op op;
	char type[65];
	char uuid[37];
	unsigned int knob; /* qos-set, qos-get */
	uint64_t value;	   /* qos-set */
	size_t n_attrs;	   /* create */
	char attr_key[VFU_CTL_MAX_ATTRS][65];
	char attr_value[VFU_CTL_MAX_ATTRS][VFU_CTL_MAX_VALUE + 1];
};

/* a display record (docs/display.md): SEQ FMT W H STRIDE OFFSET SIZE */
struct vfu_ctl_plane {
	uint64_t seq, offset, size;
	uint32_t fmt, w, h, stride;
};
#define VFU_CTL_PLANE_MAX 160
/* a record line without its \n; 0, or -EBADMSG (malformed, or a plane
 * that does not fit SIZE) */
int vfu_ctl_parse_plane(const char *line, struct vfu_ctl_plane *out);

/* "KEY=VALUE" for a create request, VALUE percent-encoded, appended to
 * @buf (of @size bytes, NUL-terminated); -EINVAL (bad key, control
 * characters, a value too long), -ENOSPC */
int vfu_ctl_append_attr(char *buf, size_t size, const char *key,
			const char *value);

/* a parent or type id: 1..64 of [A-Za-z0-9_.:-] */
bool vfu_ctl_valid_id(const char *id);
/* a request line of @len bytes, without its \n; 0 or -EINVAL */
int vfu_ctl_parse_request(const char *line, size_t len,
			  struct vfu_ctl_req *out);
/* blank control characters in @s */
void vfu_ctl_clean(char *s);

struct vfu_ctl_reply {
	char *buf;
	char **fields; /* n_records * n_fields pointers into buf */
	size_t n_records;
	unsigned int n_fields;
};

/*
 * Split a reply of @len bytes (taken over: freed by vfu_ctl_reply_free())
 * into records of exactly @n_fields non-empty fields. "err E" gives -E;
 * anything malformed -EBADMSG.
 */
int vfu_ctl_parse_reply(char *buf, size_t len, unsigned int n_fields,
			struct vfu_ctl_reply *ret);
/*
 * Send @request to the socket at @path and parse the reply, all within
 * @timeout_ms: -ETIMEDOUT when the provider does not answer in time (or
 * accepts no connection), -ECONNRESET when it closes without a reply (it
 * refused the peer, or died), -ENOENT/-ECONNREFUSED when nobody listens,
 * -EACCES when the socket's mode shuts us out.
 */
int vfu_ctl_call(const char *path, const char *request, unsigned int n_fields,
		 int timeout_ms, struct vfu_ctl_reply *ret);
void vfu_ctl_reply_free(struct vfu_ctl_reply *r);

#endif
