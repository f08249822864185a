/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Memory shared with a hostile client: the client's DMA fds (sealed or not)
 * truncated under the provider, and the region fds the client receives
 * (truncate, write where the region is read-only or trapped). Against a
 * small provider on the public API (mem-provider.c) in a child process.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check-run.h"
#include "client.h"
#include "libvgpu-private.h"
#include "mem-provider.h"
#include "proto.h"

#define IOVA 0x100000ULL
#define WIN  0x10000ULL

/* guest memory of WIN bytes: a memfd, sealed against shrinking or not, or
 * a plain file (what QEMU's memory-backend-file shares) */
enum kind {
	SEALED,
	UNSEALED,
	FILE_BACKED
};

static int guest_fd(enum kind k, uint64_t size)
{
	int fd;

	if (k == FILE_BACKED) {
		char p[128];

		snprintf(p, sizeof(p), "%s/mem", memp.dir);
		fd = open(p, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	} else {
		fd = memfd_create("guest", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	}
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)size), 0);
	if (k == SEALED)
		ck_assert_int_eq(
			fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
	return fd;
}

/* the device's DMA of 256 bytes at IOVA: copy (read, write back
 * inverted), blit (pinned or copied), pin; their errnos */
static void dma_all(struct vfu_client *c, uint64_t err[3])
{
	memp_set(c, MEMP_ADDR, IOVA);
	memp_set(c, MEMP_LEN, 0x100);
	memp_set(c, MEMP_COPY, 1);
	err[0] = memp_reg(c, MEMP_ERR);
	memp_set(c, MEMP_BLIT, 1);
	err[1] = memp_reg(c, MEMP_ERR);
	memp_set(c, MEMP_PIN, 1);
	err[2] = memp_reg(c, MEMP_ERR);
	if (!err[2]) {
		memp_set(c, MEMP_UNPIN, 1);
		ck_assert_uint_eq(memp_reg(c, MEMP_ERR), 0);
	}
}

/*
 * QEMU's default guest memory, a memfd sealed against shrinking, is used
 * directly (and pinned); the client cannot truncate it any more. A sealed
 * memfd shorter than the window is refused.
 */
START_TEST(test_dma_fd_sealed)
{
	struct vfu_client *c = memp_connect("a");
	int fd = guest_fd(SEALED, WIN), shortfd = guest_fd(SEALED, WIN / 2);
	uint8_t *g = mmap(NULL, WIN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	uint64_t err[3];

	ck_assert_ptr_ne(g, MAP_FAILED);
	for (int i = 0; i < 0x100; i++)
		g[i] = (uint8_t)i;
	ck_assert_int_eq(vfu_client_dma_map(c, IOVA, WIN, 3, fd, 0, g), 0);
	ck_assert_int_eq(
		vfu_client_dma_map(c, IOVA + WIN, WIN, 3, shortfd, 0, NULL),
		-EINVAL);
	dma_all(c, err);
	ck_assert_uint_eq(err[0], 0);
	ck_assert_uint_eq(err[1], 0);
	ck_assert_uint_eq(err[2], 0); /* pinnable */
	for (int i = 0; i < 0x100; i++)
		ck_assert_uint_eq(g[0x100 + i], (uint8_t)~i);
	/* the attack fails at the kernel */
	ck_assert_int_eq(ftruncate(fd, 0), -1);
	ck_assert_int_eq(errno, EPERM);
	dma_all(c, err);
	ck_assert_uint_eq(err[0], 0);
	vfu_client_close(c);
	munmap(g, WIN);
	close(fd);
	close(shortfd);
	memp_check_healthy();
}
END_TEST

/*
 * An fd the client can truncate (an unsealed memfd, a plain file) is not
 * touched directly: copies fail with EFAULT once the client truncated it,
 * pinning gives EREMOTE (so vgpu-sim's blit falls back to a copy), and the
 * provider lives on.
 */
START_TEST(test_dma_fd_unsealed)
{
	enum kind k = _i ? FILE_BACKED : UNSEALED;
	struct vfu_client *c = memp_connect("a");
	int fd = guest_fd(k, WIN);
	uint8_t *g = mmap(NULL, WIN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	uint64_t err[3];

	ck_assert_ptr_ne(g, MAP_FAILED);
	for (int i = 0; i < 0x100; i++)
		g[i] = (uint8_t)i;
	ck_assert_int_eq(vfu_client_dma_map(c, IOVA, WIN, 3, fd, 0, g), 0);
	dma_all(c, err);
	ck_assert_uint_eq(err[0], 0);
	ck_assert_uint_eq(err[1], 0);
	ck_assert_uint_eq(err[2], EREMOTE);
	for (int i = 0; i < 0x100; i++)
		ck_assert_uint_eq(g[0x100 + i], (uint8_t)~i);
	munmap(g, WIN);
	/* the attack: the pages go away under the provider's mapping */
	ck_assert_int_eq(ftruncate(fd, 0), 0);
	dma_all(c, err);
	ck_assert_uint_eq(err[0], EFAULT);
	ck_assert_uint_eq(err[1], EFAULT);
	ck_assert_uint_eq(err[2], EREMOTE);
	/* grown back: served again */
	ck_assert_int_eq(ftruncate(fd, (off_t)WIN), 0);
	dma_all(c, err);
	ck_assert_uint_eq(err[0], 0);
	ck_assert_int_eq(vfu_client_dma_unmap(c, IOVA, WIN), 0);
	vfu_client_close(c);
	close(fd);
	memp_check_healthy();
}
END_TEST

static int region_fd(struct vfu_client *c, unsigned int index,
		     unsigned int *n_areas)
{
	struct vfu_sparse_area areas[4];
	struct vfu_region_info ri;
	int fd = -1;

	ck_assert_int_eq(vfu_client_region_info(c, index, &ri, &fd, areas, 4,
						n_areas, NULL),
			 0);
	ck_assert(ri.flags & VFU_REGION_MMAP);
	ck_assert_int_ge(fd, 0);
	return fd;
}

/* a region's fd cannot be truncated, grown or given seals of the client's */
START_TEST(test_region_fd_sealed)
{
	struct vfu_client *c = memp_connect("a");
	unsigned int n;
	int fd = region_fd(c, VGPU_REGION_BAR2, &n);
	uint64_t v = 0x0123456789abcdefULL, r = 0;

	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(ftruncate(fd, 0), -1);
	ck_assert_int_eq(errno, EPERM);
	ck_assert_int_eq(ftruncate(fd, 2 * MEMP_BAR2_SIZE), -1);
	ck_assert_int_eq(fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE), -1);
	/* the provider still reads and writes all of it */
	ck_assert_int_eq(
		vfu_client_region_write(c, VGPU_REGION_BAR2, 0x100, &v, 8), 0);
	ck_assert_int_eq(
		vfu_client_region_read(c, VGPU_REGION_BAR2, 0x100, &r, 8), 0);
	ck_assert_uint_eq(r, v);
	close(fd);
	vfu_client_close(c);
	memp_check_healthy();
}
END_TEST

/*
 * A read-only region's fd takes no write: not by write(), not by a
 * writable shared mapping, not by mprotect(), not by reopening it
 * read-write through /proc.
 */
START_TEST(test_region_fd_readonly)
{
	struct vfu_client *c = memp_connect("a");
	unsigned int n;
	int fd = region_fd(c, VGPU_REGION_BAR4, &n), rw;
	uint8_t b = 0, *m;
	char p[64];

	ck_assert_int_eq(pwrite(fd, &b, 1, 0), -1);
	ck_assert_int_eq(errno, EPERM);
	ck_assert_ptr_eq(mmap(NULL, MEMP_BAR4_SIZE, PROT_READ | PROT_WRITE,
			      MAP_SHARED, fd, 0),
			 MAP_FAILED);
	m = mmap(NULL, MEMP_BAR4_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	ck_assert_ptr_ne(m, MAP_FAILED);
	ck_assert_uint_eq(m[MEMP_BAR4_SIZE - 1], 0xa5);
	ck_assert_int_eq(mprotect(m, MEMP_BAR4_SIZE, PROT_READ | PROT_WRITE),
			 -1);
	munmap(m, MEMP_BAR4_SIZE);
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	rw = open(p, O_RDWR | O_CLOEXEC);
	if (rw >= 0) {
		ck_assert_int_eq(pwrite(rw, &b, 1, 0), -1);
		close(rw);
	}
	/* nor through the protocol */
	ck_assert_int_eq(vfu_client_region_write(c, VGPU_REGION_BAR4, 0, &b, 1),
			 -EPERM);
	ck_assert_int_eq(vfu_client_region_read(c, VGPU_REGION_BAR4, 0, &b, 1),
			 0);
	ck_assert_uint_eq(b, 0xa5);
	close(fd);
	vfu_client_close(c);
	memp_check_healthy();
}
END_TEST

/*
 * A sparse region's fd reaches only its mmap-able areas: the trapped part
 * of the region is not in it, neither for reading the provider's data nor
 * for writing it.
 */
START_TEST(test_region_fd_sparse)
{
	struct vfu_client *c = memp_connect("a");
	const uint64_t trapped = MEMP_BAR2_AREA + 0x1000;
	uint64_t v = 0x1122334455667788ULL, r = 0, junk = ~0ULL;
	unsigned int n;
	int fd = region_fd(c, VGPU_REGION_BAR2, &n);
	uint8_t *m;

	/* provider data in the trapped part, unseen through the fd */
	ck_assert_int_eq(
		vfu_client_region_write(c, VGPU_REGION_BAR2, trapped, &v, 8),
		0);
	ck_assert_int_eq(pread(fd, &r, 8, (off_t)trapped), 8);
	ck_assert_uint_eq(r, 0);
	/* writes there through the fd reach nothing of the provider's */
	ck_assert_int_eq(pwrite(fd, &junk, 8, (off_t)trapped), 8);
	m = mmap(NULL, MEMP_BAR2_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 0);
	ck_assert_ptr_ne(m, MAP_FAILED);
	memset(m + MEMP_BAR2_AREA, 0xee, MEMP_BAR2_SIZE - MEMP_BAR2_AREA);
	ck_assert_int_eq(
		vfu_client_region_read(c, VGPU_REGION_BAR2, trapped, &r, 8), 0);
	ck_assert_uint_eq(r, v);
	/* the area is shared both ways */
	memcpy(m + 0x200, &junk, 8);
	ck_assert_int_eq(
		vfu_client_region_read(c, VGPU_REGION_BAR2, 0x200, &r, 8), 0);
	ck_assert_uint_eq(r, junk);
	ck_assert_int_eq(
		vfu_client_region_write(c, VGPU_REGION_BAR2, 0x300, &v, 8), 0);
	ck_assert_mem_eq(m + 0x300, &v, 8);
	munmap(m, MEMP_BAR2_SIZE);
	close(fd);
	vfu_client_close(c);
	memp_check_healthy();
}
END_TEST

static Suite *seal_suite(void)
{
	Suite *s = suite_create("sealing");
	TCase *tc = tcase_create("shared-memory");

	tcase_add_checked_fixture(tc, memp_setup, memp_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_dma_fd_sealed);
	tcase_add_loop_test(tc, test_dma_fd_unsealed, 0, 2);
	tcase_add_test(tc, test_region_fd_sealed);
	tcase_add_test(tc, test_region_fd_readonly);
	tcase_add_test(tc, test_region_fd_sparse);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(seal_suite());
}
