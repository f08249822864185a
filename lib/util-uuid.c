/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <uuid/uuid.h>

#include "util-uuid.h"

/* what each character of a UUID may be: 1 a hex digit, 2 a dash */
static unsigned char uuid_class(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
			       (c >= 'A' && c <= 'F')
		       ? 1
	       : c == '-' ? 2
			  : 0;
}

int vgpu_uuid_normalize(const char *in, char out[37])
{
	/* 1 where a hex digit belongs, 2 where a dash does */
	static const unsigned char want[36] = {
		1, 1, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1, 2, 1, 1, 1, 1,
		2, 1, 1, 1, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	};
	char norm[37];
	int i;

	/* called for every directory entry of a listing: one pass, which
	 * also finds the end (no strlen of names that are not UUIDs); @out
	 * is written only on success */
	if (!in)
		return -EINVAL;
	for (i = 0; i < 36; i++) {
		char c = in[i];

		if (uuid_class(c) != want[i])
			return -EINVAL;
		/* validated: lower-casing is all there is to do */
		norm[i] = c >= 'A' && c <= 'F' ? (char)(c - 'A' + 'a') : c;
	}
	if (in[36] != '\0')
		return -EINVAL;
	norm[36] = '\0';
	memcpy(out, norm, sizeof(norm));
	return 0;
}

void vgpu_uuid_generate(char out[37])
{
	uuid_t u;

	uuid_generate_random(u);
	uuid_unparse_lower(u, out);
}
