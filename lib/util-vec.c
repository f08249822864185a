/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>

#include "util-vec.h"

int vgpu_array_reserve(void *items, size_t *cap, size_t n, size_t size,
		       size_t first)
{
	size_t want = *cap ? *cap * 2 : first;
	void *grown;

	if (n < *cap)
		return 0;
	grown = reallocarray(*(void **)items, want, size);
	if (!grown)
		return -ENOMEM;
	*(void **)items = grown;
	*cap = want;
	return 0;
}

int vgpu_vec_push(struct vgpu_vec *vec, void *item)
{
	int r = vgpu_array_reserve(&vec->items, &vec->cap, vec->n,
				   sizeof(*vec->items), 16);

	if (r < 0)
		return r;
	vec->items[vec->n++] = item;
	return 0;
}

void **vgpu_vec_steal(struct vgpu_vec *vec, size_t *n_ret)
{
	void **items = vec->items;

	*n_ret = vec->n;
	if (!vec->n) {
		free(items);
		items = NULL;
	}
	vec->items = NULL;
	vec->n = vec->cap = 0;
	return items;
}

void vgpu_vec_clear(struct vgpu_vec *vec, void *(*unref)(void *))
{
	for (size_t i = 0; i < vec->n; i++)
		unref(vec->items[i]);
	free(vec->items);
	vec->items = NULL;
	vec->n = vec->cap = 0;
}

void vgpu_vec_sort(struct vgpu_vec *vec, int (*cmp)(const void *, const void *))
{
	size_t i = 1;

	/* listings sort what is often sorted already (filtered or merged
	 * without additions): a pass that stops at the first pair out of
	 * order costs less than qsort's n log n comparisons */
	while (i < vec->n && cmp(&vec->items[i - 1], &vec->items[i]) <= 0)
		i++;
	if (i < vec->n)
		qsort(vec->items, vec->n, sizeof(*vec->items), cmp);
}
