/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A growable array of pointers, and room in arrays of other elements. */
#ifndef UTIL_VEC_H
#define UTIL_VEC_H

#include <stddef.h>

struct vgpu_vec {
	void **items;
	size_t n;
	size_t cap;
};

/* append @item; -ENOMEM leaves the vector unchanged */
int vgpu_vec_push(struct vgpu_vec *vec, void *item);
/* hand the array to the caller (NULL when empty) and reset the vector */
void **vgpu_vec_steal(struct vgpu_vec *vec, size_t *n_ret);
/* call @unref on every item, then free the array */
void vgpu_vec_clear(struct vgpu_vec *vec, void *(*unref)(void *));
void vgpu_vec_sort(struct vgpu_vec *vec,
		   int (*cmp)(const void *, const void *));

/* room for element @n in the malloc'd array *@items of elements of @size
 * (*@cap of them), doubling it from @first when full: 0, or -ENOMEM with
 * the array unchanged */
int vgpu_array_reserve(void *items, size_t *cap, size_t n, size_t size,
		       size_t first);

#endif
