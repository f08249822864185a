/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The reply object: what a command handler answers (struct prov_reply in
 * provider-private.h). The dispatcher (dispatch.c) sends it.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "provider-private.h"

void reply_head(struct prov_reply *rep, const void *p, size_t len)
{
	assert(len <= sizeof(rep->head));
	memcpy(rep->head, p, len);
	rep->head_len = len;
}

void reply_body(struct prov_reply *rep, const void *p, size_t len)
{
	rep->body = p;
	rep->body_len = len;
}

void reply_body_take(struct prov_reply *rep, void *p, size_t len)
{
	free(rep->body_owned);
	rep->body_owned = p;
	reply_body(rep, p, len);
}

void *reply_body_alloc(struct prov_reply *rep, size_t len)
{
	void *p;

	if (len <= sizeof(rep->small)) {
		reply_body(rep, rep->small, len);
		return rep->small;
	}
	p = malloc(len);
	if (p)
		reply_body_take(rep, p, len);
	return p;
}

int reply_body_copy(struct prov_reply *rep, const void *p, size_t len)
{
	void *buf = reply_body_alloc(rep, len);

	if (!buf)
		return -ENOMEM;
	memcpy(buf, p, len);
	return 0;
}
