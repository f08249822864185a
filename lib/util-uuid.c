/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <uuid/uuid.h>

#include "util-uuid.h"

/*
 * What each byte may become in a UUID: its lower-case form for a hex
 * digit, '-' for a dash, 0 for anything else.  Called for every directory
 * entry of a listing, so one table look-up per character.
 */
static const char uuid_char[256] = {
	['0'] = '0', ['1'] = '1', ['2'] = '2', ['3'] = '3', ['4'] = '4',
	['5'] = '5', ['6'] = '6', ['7'] = '7', ['8'] = '8', ['9'] = '9',
	['a'] = 'a', ['b'] = 'b', ['c'] = 'c', ['d'] = 'd', ['e'] = 'e',
	['f'] = 'f', ['A'] = 'a', ['B'] = 'b', ['C'] = 'c', ['D'] = 'd',
	['E'] = 'e', ['F'] = 'f', ['-'] = '-',
};

int vgpu_uuid_normalize(const char *in, char out[37])
{
	char norm[37];
	int i;

	/* one pass, which also finds the end (no strlen of names that are
	 * not UUIDs); @out is written only on success */
	if (!in)
		return -EINVAL;
	for (i = 0; i < 36; i++) {
		char c = uuid_char[(unsigned char)in[i]];
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		/* a dash exactly where one belongs (c is never '-' for a
		 * hex digit, and 0 stops at the end of a shorter name) */
		if (!c || (c == '-') != dash)
			return -EINVAL;
		norm[i] = c;
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
