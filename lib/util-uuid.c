/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <uuid/uuid.h>

#include "util-uuid.h"

int vgpu_uuid_normalize(const char *in, char out[37])
{
	if (!in || strlen(in) != 36)
		return -EINVAL;
	for (int i = 0; i < 36; i++) {
		char c = in[i];
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? c != '-'
			 : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
			     (c >= 'A' && c <= 'F')))
			return -EINVAL;
	}
	/* validated above: lower-casing is all that is left to do */
	for (int i = 0; i < 36; i++)
		out[i] = in[i] >= 'A' && in[i] <= 'F'
				 ? (char)(in[i] - 'A' + 'a')
				 : in[i];
	out[36] = '\0';
	return 0;
}

void vgpu_uuid_generate(char out[37])
{
	uuid_t u;

	uuid_generate_random(u);
	uuid_unparse_lower(u, out);
}
