/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target: every byte string is a client message (header +
 * payload) plus an fd count; it goes through the command parser, the
 * server-to-client parser, the REGION_INFO reply checker and the VERSION
 * JSON parser; the same bytes also go through the control socket's request
 * and reply parsers. Any out-of-bounds read is an ASan report.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vfu_hdr hdr;
	struct vfu_req req;
	struct vfu_dma_access a;
	struct vfu_caps caps;
	const void *d;
	uint8_t *payload;
	size_t len;
	unsigned int nfds;

	if (size < sizeof(hdr) + 1)
		return 0;
	nfds = data[0] % (VFU_MAX_MSG_FDS + 1);
	memcpy(&hdr, data + 1, sizeof(hdr));
	len = size - 1 - sizeof(hdr);
	/* an exact-size copy so ASan sees every overread */
	payload = malloc(len ? len : 1);
	if (!payload)
		return 0;
	memcpy(payload, data + 1 + sizeof(hdr), len);
	if (vfu_parse_command(&hdr, payload, len, nfds, VFU_MAX_DATA_XFER,
			      &req) == 0 &&
	    req.cmd == VFU_CMD_VERSION && req.u.version.json) {
		vfu_caps_default(&caps);
		vfu_caps_parse(req.u.version.json, req.u.version.json_len,
			       &caps);
	}
	vfu_parse_dma_command(&hdr, payload, len, nfds, VFU_MAX_DATA_XFER, &a,
			      &d);
	vfu_check_region_info(payload, len);
	free(payload);
	{
		struct vfu_ctl_req q;
		struct vfu_ctl_reply rep;
		char *text = malloc(size - 1);

		vfu_ctl_parse_request((const char *)data + 1, size - 1, &q);
		if (text) {
			memcpy(text, data + 1, size - 1);
			/* taken over, freed on failure */
			if (vfu_ctl_parse_reply(text, size - 1, 1 + data[0] % 5,
						&rep) == 0)
				vfu_ctl_reply_free(&rep);
		}
	}
	{
		/* a display record: a NUL-terminated line */
		struct vfu_ctl_plane pl;
		char *line = malloc(size);

		if (line) {
			memcpy(line, data + 1, size - 1);
			line[size - 1] = '\0';
			vfu_ctl_parse_plane(line, &pl);
			free(line);
		}
	}
	return 0;
}
