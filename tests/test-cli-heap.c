/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vgpuctl's heap set-up (tools/cli-heap.c), in a process of its own since
 * it acts only on a heap that nothing has used yet: the range asked for
 * huge pages starts on a 2 MiB boundary with none of its pages touched (one
 * touched page would keep its first 2 MiB on 4 KiB pages), the first
 * 256 KiB of small blocks stay below it, and what comes after lands in it.
 * Skipped (77) where the allocator is not glibc's heap (valgrind, a
 * sanitizer) or the kernel has no transparent huge pages.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define HUGE ((uintptr_t)2 << 20)

static int fails;

#define CHECK(cond, ...)                                       \
	do {                                                   \
		if (!(cond)) {                                 \
			fprintf(stderr, "FAIL: " __VA_ARGS__); \
			fputc('\n', stderr);                   \
			fails++;                               \
		}                                              \
	} while (0)

/* the mapping of smaps with the VmFlags "hg" (MADV_HUGEPAGE), in @lo/@hi */
static int huge_range(uintptr_t *lo, uintptr_t *hi)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	char line[512];
	uintptr_t a = 0, b = 0;
	int found = 0;

	if (!f)
		return -1;
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned long x, y;

		if (sscanf(line, "%lx-%lx ", &x, &y) == 2) {
			a = x;
			b = y;
		} else if (!strncmp(line, "VmFlags:", 8) &&
			   strstr(line, " hg")) {
			*lo = a;
			*hi = b;
			found = 1;
		}
	}
	fclose(f);
	return found;
}

/* how many of the pages in [lo, hi) are present (/proc/self/pagemap) */
static long present(uintptr_t lo, uintptr_t hi)
{
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	long n = 0, pg = sysconf(_SC_PAGESIZE);

	if (fd < 0)
		return -1;
	for (uintptr_t p = lo; p < hi; p += (uintptr_t)pg) {
		uint64_t e;

		if (pread(fd, &e, sizeof(e), (off_t)(p / (uintptr_t)pg * 8)) !=
		    (ssize_t)sizeof(e)) {
			n = -1;
			break;
		}
		n += (long)(e >> 63);
	}
	close(fd);
	return n;
}

int main(void)
{
	uintptr_t start = (uintptr_t)sbrk(0), lo = 0, hi = 0;
	size_t below = 0, inside = 0, small = 0;
	long touched;
	char *p;
	int r;

	cli_heap_setup();
	r = huge_range(&lo, &hi);
	if (r <= 0) {
		p = malloc(1);
		/* not glibc's brk heap, or no THP: nothing was asked */
		if (!p || (uintptr_t)p < start ||
		    (uintptr_t)p >= (uintptr_t)sbrk(0) ||
		    access("/sys/kernel/mm/transparent_hugepage", F_OK)) {
			printf("skip: the heap is not glibc's, or no THP\n");
			free(p);
			return 77;
		}
		fprintf(stderr, "FAIL: no range asked for huge pages\n");
		return 1;
	}
	CHECK(lo % HUGE == 0, "range starts at %#lx, not on 2 MiB", lo);
	CHECK(hi - lo >= 2 * HUGE, "range of %lu bytes only", hi - lo);
	CHECK(lo > start && lo - start <= 2 * HUGE,
	      "range at %#lx, heap at %#lx", lo, start);
	touched = present(lo, lo + HUGE);
	CHECK(touched == 0,
	      "%ld pages of the first 2 MiB touched before any use", touched);
	/* 4 MiB in small blocks, each touched: the first 256 KiB of them
	 * below the range, the rest in it */
	for (size_t i = 0; i < 65536; i++) {
		p = malloc(48);
		CHECK(p, "out of memory");
		if (!p)
			break;
		memset(p, 1, 48);
		if ((uintptr_t)p < lo)
			below += 64;
		else if ((uintptr_t)p < hi)
			inside += 64;
		small++;
	}
	CHECK(below >= (200u << 10) && below <= (260u << 10),
	      "%zu bytes of blocks below the range (256 KiB expected)", below);
	CHECK(inside >= (3u << 20), "%zu bytes of blocks in the range", inside);
	CHECK(present(lo, lo + HUGE) > 0,
	      "blocks in the range but none of its pages present");
	/* the blocks are the process's until it exits, as in vgpuctl */
	printf("heap at %#lx, huge pages asked from %#lx to %#lx; %zu blocks: "
	       "%zu KiB below, %zu KiB in it\n",
	       start, lo, hi, small, below >> 10, inside >> 10);
	return fails ? 1 : 0;
}
