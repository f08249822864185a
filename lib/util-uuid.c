/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <uuid/uuid.h>

#include "util-uuid.h"

/* a hex digit's lower-case form, 0 for anything else */
static const char hex_lower[256] = {
	['0'] = '0', ['1'] = '1', ['2'] = '2', ['3'] = '3', ['4'] = '4',
	['5'] = '5', ['6'] = '6', ['7'] = '7', ['8'] = '8', ['9'] = '9',
	['a'] = 'a', ['b'] = 'b', ['c'] = 'c', ['d'] = 'd', ['e'] = 'e',
	['f'] = 'f', ['A'] = 'a', ['B'] = 'b', ['C'] = 'c', ['D'] = 'd',
	['E'] = 'e', ['F'] = 'f',
};

int vgpu_uuid_normalize(const char *in, char out[37])
{
	/* the groups of hex digits, each but the last followed by a dash */
	static const unsigned char group[5] = { 8, 4, 4, 4, 12 };
	char norm[37];
	int i = 0;

	/* called for every directory entry of a listing: one table look-up
	 * a character, which also finds the end (0 at a name's end stops
	 * it); @out is written only on success */
	if (!in)
		return -EINVAL;
	for (int g = 0; g < 5; g++) {
		for (int k = 0; k < group[g]; k++, i++) {
			norm[i] = hex_lower[(unsigned char)in[i]];
			if (!norm[i])
				return -EINVAL;
		}
		if (g == 4)
			break;
		if (in[i] != '-')
			return -EINVAL;
		norm[i++] = '-';
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
