/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef UTIL_UUID_H
#define UTIL_UUID_H

/* check that @in is a 36-character UUID and write it lower case to @out;
 * -EINVAL otherwise */
int vgpu_uuid_normalize(const char *in, char out[37]);
/* a fresh random UUID, lower case */
void vgpu_uuid_generate(char out[37]);

#endif
