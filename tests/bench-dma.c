/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * DMA window table timings, each against its floor measured in the same run:
 * vgpu_dma_table_translate() of random addresses (what a device model's DMA
 * costs) vs a branchless binary search over a plain sorted array of the 8-byte
 * window starts (with the containment check in a parallel array of ends), and
 * so each build of translate that this CPU can run (plain, and AVX-512 where
 * the CPU has it): the plain one is what CPUs without AVX-512 run; beside
 * each, the same binary search made into a function of translate's shape (a
 * call, the checks, the window's record read and the answer filled in) over a
 * sorted array of starts and record addresses, which shows how much of a
 * difference is the call and the record, which the floor does without;
 * and each without its answer (max 0), which shows what filling it costs;
 * vgpu_dma_table_find() vs a binary search over 16-byte spans; repeats inside
 * one window; map+unmap throughput. Prints figures only; it asserts nothing
 * about time.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "dma-table-private.h"
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

/* the floor's search: the index of the last of the @n sorted starts that
 * is <= @addr, or -1; branch-free */
static inline long search8(const uint64_t *starts, size_t n, uint64_t addr)
{
	const uint64_t *base = starts;

	if (!n || starts[0] > addr)
		return -1;
	while (n > 1) {
		size_t half = n / 2;

		base = base[half] <= addr ? base + half : base;
		n -= half;
	}
	return base - starts;
}

/* the floor: the index of the window containing @addr in starts[]/lasts[],
 * or -1 */
static long floor8(const uint64_t *starts, const uint64_t *lasts, size_t n,
		   uint64_t addr)
{
	long i = search8(starts, n, addr);

	return i >= 0 && lasts[i] >= addr ? i : -1;
}

/* the windows as a sorted array: the floor's starts, and the windows'
 * records in the table */
struct flat {
	const uint64_t *starts;
	struct vgpu_dma_window **win;
	size_t n;
};

/*
 * floor8's search as a table that is only a sorted array would run it for
 * a device model: behind a call that is not inlined, with translate's
 * checks, the window's record read for its end and protection, and the
 * answer filled in (one window; a range that leaves it is an error here).
 */
__attribute__((noinline)) static int
flat_translate(const struct flat *f, uint64_t iova, uint64_t len, uint32_t prot,
	       struct vgpu_dma_sg *sg, size_t max)
{
	struct vgpu_dma_window *w;
	long i;

	if (!f || (!sg && max) || !len || iova + (len - 1) < iova)
		return -EINVAL;
	i = search8(f->starts, f->n, iova);
	if (i < 0)
		return -EFAULT;
	w = f->win[i];
	if (iova + (len - 1) - w->iova >= w->len)
		return -EFAULT;
	if ((w->prot & prot) != prot)
		return -EACCES;
	if (max) {
		sg->wtag = (uintptr_t)w | (w->guarded ? WIN_TAG_GUARDED : 0);
		sg->iova = iova;
		sg->len = len;
		sg->vaddr =
			w->vaddr ? (char *)w->vaddr + (iova - w->iova) : NULL;
	}
	return 1;
}

/*
 * The start of the window of a translation's answer, as its caller sees it:
 * from the host address (each window's is twice its start here), without
 * reading the window's record, which a device model copying to or from
 * sg.vaddr does not read either (lib/provider/dma.c).
 */
static uint64_t answer_start(const struct vgpu_dma_sg *sg)
{
	return (uint64_t)(uintptr_t)sg->vaddr - sg->iova;
}

/* the records in start order, each where the floor has its start */
static int collect(struct vgpu_dma_window *w, void *data)
{
	struct flat *f = data;

	if (f->starts[f->n] != w->iova)
		return 1;
	f->win[f->n++] = w;
	return 0;
}

/*
 * translate vs floor8 and vs flat_translate over the same random addresses,
 * in slices of 1/16 of them taken in turn, 4 passes: the best slice of each
 * stands (a loaded machine only ever adds time). Then translate without an
 * answer (max 0): the difference is what filling the answer costs.
 */
typedef int translate_fn(const struct vgpu_dma_table *, uint64_t, uint64_t,
			 uint32_t, struct vgpu_dma_sg *, size_t);
typedef int flat_fn(const struct flat *, uint64_t, uint64_t, uint32_t,
		    struct vgpu_dma_sg *, size_t);
/* called through a pointer the compiler cannot see through, like the
 * builds of translate */
static flat_fn *volatile flat_call = flat_translate;

/* @ns into *@best if lower; the first pass (or round) only warms up */
static void keep_best(double *best, double ns, int pass)
{
	if (pass && ns < *best)
		*best = ns;
}

static int time_translate(struct vgpu_dma_table *t, const struct span *spans,
			  size_t n, const uint64_t *addrs, size_t lookups,
			  translate_fn *translate, const char *name)
{
	uint64_t *starts = malloc(n * sizeof(*starts));
	uint64_t *lasts = malloc(n * sizeof(*lasts));
	struct flat flat = { .starts = starts,
			     .win = malloc(n * sizeof(*flat.win)) };
	uint64_t sum_t = 0, sum_f = 0, sum_c = 0;
	size_t slice = lookups / 16;
	double tr_ns = 1e30, fl_ns = 1e30, fc_ns = 1e30, na_ns = 1e30, t0;
	flat_fn *fc = flat_call;

	if (!starts || !lasts || !flat.win)
		return 1;
	for (size_t i = 0; i < n; i++) {
		starts[i] = spans[i].start;
		lasts[i] = spans[i].last;
	}
	if (vgpu_dma_table_foreach(t, collect, &flat) || flat.n != n)
		return 1;
	for (int pass = 0; pass < 4; pass++) {
		for (size_t from = 0; from + slice <= lookups; from += slice) {
			t0 = now_ns();
			for (size_t i = from; i < from + slice; i++)
				sum_f += starts[floor8(starts, lasts, n,
						       addrs[i])];
			keep_best(&fl_ns, now_ns() - t0, pass);
			t0 = now_ns();
			for (size_t i = from; i < from + slice; i++) {
				struct vgpu_dma_sg sg;

				if (translate(t, addrs[i], 1, VGPU_DMA_READ,
					      &sg, 1) != 1)
					return 1;
				sum_t += answer_start(&sg);
			}
			keep_best(&tr_ns, now_ns() - t0, pass);
			/* between translate and the search as a call, so
			 * that the floor still follows the latter, as it
			 * always did: at 256k and 1M windows the floor's
			 * time depends on what ran before it */
			t0 = now_ns();
			for (size_t i = from; i < from + slice; i++)
				if (translate(t, addrs[i], 1, VGPU_DMA_READ,
					      NULL, 0) != 1)
					return 1;
			keep_best(&na_ns, now_ns() - t0, pass);
			t0 = now_ns();
			for (size_t i = from; i < from + slice; i++) {
				struct vgpu_dma_sg sg;

				if (fc(&flat, addrs[i], 1, VGPU_DMA_READ, &sg,
				       1) != 1)
					return 1;
				sum_c += answer_start(&sg);
			}
			keep_best(&fc_ns, now_ns() - t0, pass);
		}
	}
	free(starts);
	free(lasts);
	free(flat.win);
	if (sum_t != sum_f || sum_c != sum_f) {
		fprintf(stderr, "%s mismatch\n",
			sum_t != sum_f ? "translate" : "the search as a call");
		return 1;
	}
	printf("%8zu windows: %-17s %6.1f ns (8-byte-key binary-search floor %6.1f ns, ratio %.2f; "
	       "the same search as a call %6.1f ns, ratio %.2f; "
	       "without the answer %6.1f ns, ratio %.2f)\n",
	       n, name, tr_ns / (double)slice, fl_ns / (double)slice,
	       tr_ns / fl_ns, fc_ns / (double)slice, tr_ns / fc_ns,
	       na_ns / (double)slice, na_ns / fl_ns);
	return 0;
}

/* the builds of translate, by name: the loader picked one of them */
static const struct {
	bool wide;
	translate_fn *fn;
	const char *name;
} builds[] = {
	{ false, dma_translate_plain, "  plain build" },
	{ true, dma_translate_wide, "  AVX-512 build" },
};

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
		/* never dereferenced: see answer_start() */
		w.vaddr = (void *)(uintptr_t)(2 * iova);
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
		keep_best(&floor_ns, now_ns() - t0, round);
		t0 = now_ns();
		for (size_t i = 0; i < lookups; i++)
			sum_t += vgpu_dma_table_find(t, addrs[i])->iova;
		keep_best(&table_ns, now_ns() - t0, round);
	}
	if (sum_t != sum_f) {
		fprintf(stderr, "mismatch\n");
		return 1;
	}
	if (time_translate(t, spans, n, addrs, lookups,
			   vgpu_dma_table_translate, "translate"))
		return 1;
	for (size_t b = 0; b < sizeof(builds) / sizeof(builds[0]); b++)
		if ((!builds[b].wide || dma_wide_supported()) &&
		    time_translate(t, spans, n, addrs, lookups, builds[b].fn,
				   builds[b].name))
			return 1;
	/* repeats inside one window */
	{
		const struct span *s = &spans[n / 2];
		uint64_t span_len = s->last - s->start + 1;

		t0 = now_ns();
		for (size_t i = 0; i < lookups; i++)
			sum_t += vgpu_dma_table_find(
					 t, s->start + (i * 64) % span_len)
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
				.iova = iova + 0x1000 +
					(rnd(&seed) % 1000000) * 0x2000,
				.len = 0x1000,
				.fd = -1,
				.prot = 3,
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

/* bench-dma [WINDOWS...]: the table sizes to time (default 1k, 64k, 1M) */
int main(int argc, char **argv)
{
	static const size_t sizes[] = { 1000, 64 * 1024, 1024 * 1024 };

	for (int i = 1; i < argc; i++) {
		char *end;
		unsigned long long n = strtoull(argv[i], &end, 0);

		if (!n || *end || n > (1ULL << 26)) {
			fprintf(stderr, "bench-dma: bad window count '%s'\n",
				argv[i]);
			return 2;
		}
		if (run((size_t)n, 2000000))
			return 1;
	}
	if (argc > 1)
		return 0;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		if (run(sizes[i], 2000000))
			return 1;
	return 0;
}
