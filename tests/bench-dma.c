/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * DMA window table timings, each against its floor measured in the same run:
 * random-address translation vs a plain binary search over a sorted array of
 * the same windows, repeats inside one window, and map+unmap throughput.
 * Prints figures only; it asserts nothing about time.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "dma-table.h"

struct span {
	uint64_t start, last;
};

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static uint64_t rnd(uint64_t *s)
{
	/* xorshift64* */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static const struct span *floor_search(const struct span *a, size_t n,
				       uint64_t addr)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (a[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || a[lo - 1].last < addr)
		return NULL;
	return &a[lo - 1];
}

static int run(size_t n, size_t lookups)
{
	struct vgpu_dma_table *t;
	struct span *spans = malloc(n * sizeof(*spans));
	uint64_t *addrs = malloc(lookups * sizeof(*addrs));
	uint64_t seed = 0x9e3779b97f4a7c15ULL ^ n, sum_t = 0, sum_f = 0;
	uint64_t iova = 0x100000;
	double t0, table_ns, floor_ns, rep_t, rep_f;

	if (!spans || !addrs || vgpu_dma_table_new(&t) < 0)
		return 1;
	for (size_t i = 0; i < n; i++) {
		struct vgpu_dma_window w = { .fd = -1, .prot = 3 };

		iova += (1 + rnd(&seed) % 4) << 12; /* a gap */
		w.iova = iova;
		w.len = (1 + rnd(&seed) % 16) << 12;
		spans[i].start = w.iova;
		spans[i].last = w.iova + w.len - 1;
		iova += w.len;
		if (vgpu_dma_table_insert(t, &w, NULL) < 0)
			return 1;
	}
	for (size_t i = 0; i < lookups; i++) {
		const struct span *s = &spans[rnd(&seed) % n];

		addrs[i] = s->start + rnd(&seed) % (s->last - s->start + 1);
	}

	/* warm both, then time alternately twice and keep the best */
	table_ns = floor_ns = 1e30;
	for (int round = 0; round < 3; round++) {
		t0 = now_ns();
		for (size_t i = 0; i < lookups; i++)
			sum_f += floor_search(spans, n, addrs[i])->start;
		t0 = now_ns() - t0;
		if (round && t0 < floor_ns)
			floor_ns = t0;
		t0 = now_ns();
		for (size_t i = 0; i < lookups; i++)
			sum_t += vgpu_dma_table_find(t, addrs[i])->iova;
		t0 = now_ns() - t0;
		if (round && t0 < table_ns)
			table_ns = t0;
	}
	if (sum_t != sum_f) {
		fprintf(stderr, "mismatch\n");
		return 1;
	}
	/* repeats inside one window */
	{
		const struct span *s = &spans[n / 2];
		uint64_t span_len = s->last - s->start + 1;

		t0 = now_ns();
		for (size_t i = 0; i < lookups; i++)
			sum_t += vgpu_dma_table_find(t, s->start + (i * 64) % span_len)
					 ->iova;
		rep_t = now_ns() - t0;
		t0 = now_ns();
		for (size_t i = 0; i < lookups; i++)
			sum_f += floor_search(spans, n,
					      s->start + (i * 64) % span_len)
					 ->start;
		rep_f = now_ns() - t0;
	}
	printf("%8zu windows: random lookup %6.1f ns (binary-search floor %6.1f ns, ratio %.2f); "
	       "same-window %5.1f ns (floor %5.1f ns)\n",
	       n, table_ns / (double)lookups, floor_ns / (double)lookups,
	       table_ns / floor_ns, rep_t / (double)lookups,
	       rep_f / (double)lookups);

	/* map + unmap of fresh windows above the populated range */
	{
		size_t ops = 200000;

		t0 = now_ns();
		for (size_t i = 0; i < ops; i++) {
			struct vgpu_dma_window w = {
				.iova = iova + 0x1000 + (rnd(&seed) % 1000000) * 0x2000,
				.len = 0x1000, .fd = -1, .prot = 3,
			};

			if (vgpu_dma_table_insert(t, &w, NULL) < 0 ||
			    vgpu_dma_table_remove(t, w.iova, w.len, NULL) < 0)
				return 1;
		}
		t0 = now_ns() - t0;
		printf("%8zu windows: map+unmap %.0f pairs/s (%.1f ns/pair)\n",
		       n, (double)ops / (t0 / 1e9), t0 / (double)ops);
	}
	vgpu_dma_table_free(t, NULL, NULL);
	free(spans);
	free(addrs);
	return 0;
}

int main(void)
{
	static const size_t sizes[] = { 1000, 64 * 1024, 1024 * 1024 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		if (run(sizes[i], 2000000))
			return 1;
	return 0;
}
