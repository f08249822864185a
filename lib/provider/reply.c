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

void reply_body_take(struct prov_reply *rep, void *p, size_t len)
{
	free(rep->body_owned);
	rep->body_owned = p;
	reply_body(rep, p, len);
}

void *reply_body_alloc_big(struct prov_reply *rep, size_t len)
{
	void *p = malloc(len);

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
