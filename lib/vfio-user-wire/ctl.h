/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The provider control socket: how management (the "vfio-user" backend of
 * libvgpu, so vgpuctl) lists a provider's types and devices and creates and
 * removes devices. RUNTIME_DIR/vfio-user/PARENT.ctl, mode 0600, and the
 * provider serves only root and its own user (SO_PEERCRED).
 *
 * One request per connection, one line of at most 255 bytes ending in \n:
 *   types | list | create TYPE UUID | remove UUID
 * (single spaces, ids of [A-Za-z0-9_.:-]{1,64}, a UUID in canonical form).
 * The reply is "err ERRNO\n", or "ok N\n" and N records of tab-separated
 * fields ending in \n, then the provider closes the connection:
 *   types:  id, available, max, name, description  (one per type)
 *   list:   uuid, type, socket path                 (one per device)
 *   create: uuid, type, socket path                 (the new device)
 *   remove: no record
 * Text fields carry no control characters (the provider blanks them).
 */
#ifndef VGPU_VFU_CTL_H
#define VGPU_VFU_CTL_H

#include <stdbool.h>
#include <stddef.h>

#define VFU_CTL_MAX_REQ 256
#define VFU_CTL_MAX_REPLY (256u * 1024u)
#define VFU_CTL_MAX_FIELDS 5

enum vfu_ctl_op { VFU_CTL_TYPES, VFU_CTL_LIST, VFU_CTL_CREATE, VFU_CTL_REMOVE };

struct vfu_ctl_req {
	enum vfu_ctl_op op;
	char type[65];
	char uuid[37];
};

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
/* send @request to the socket at @path and parse the reply */
int vfu_ctl_call(const char *path, const char *request, unsigned int n_fields,
		 struct vfu_ctl_reply *ret);
void vfu_ctl_reply_free(struct vfu_ctl_reply *r);

#endif
