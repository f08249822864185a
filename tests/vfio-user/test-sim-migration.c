/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vgpu-sim migrated between two provider processes through the public
 * device handle: the sample program (vgpu-sim-migrate) mid-workload, with
 * and without pre-copy; a source that goes back to RUNNING finishes its
 * queued blits; and the destination's side of hostile streams: truncated
 * (between records and inside one), data in the wrong state, a destination
 * of another size that refuses, and every field of every record broken in
 * turn. A refused stream leaves the destination in ERROR; a reset brings
 * it back, working.
 */
#include <check.h>
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check-run.h"
#include "libvgpu.h"
#include "vgpu-sim.h"

#define UUID_A	   "6a0a7c52-8d0e-4b8e-9f1a-0c2d4e6f8a01"
#define UUID_B	   "6a0a7c52-8d0e-4b8e-9f1a-0c2d4e6f8a02"
#define UUID_C	   "6a0a7c52-8d0e-4b8e-9f1a-0c2d4e6f8a03"
#define GUEST_IOVA 0x10000000ull
#define GUEST_LEN  (2u << 20)

static char tmp[64], run[96];
static pid_t sims[2];
static struct vgpu_ctx *ctx;

static pid_t start_sim(const char *parent)
{
	const char *prog = getenv("VGPU_SIM");
	char line[16] = "";
	int out[2];
	pid_t pid;
	FILE *f;

	ck_assert_ptr_nonnull(prog);
	ck_assert_int_eq(pipe(out), 0);
	pid = fork();
	if (pid == 0) {
		dup2(out[1], 1);
		execl(prog, prog, "--runtime-dir", run, "--parent", parent,
		      "--frame-rate-limit", "2", (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	f = fdopen(out[0], "r");
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
	fclose(f);
	ck_assert_str_eq(line, "ready\n");
	return pid;
}

static void setup(void)
{
	strcpy(tmp, "/tmp/vgpu-simmig-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	snprintf(run, sizeof(run), "%s/run", tmp);
	sims[0] = start_sim("simA");
	sims[1] = start_sim("simB");
	ck_assert_int_eq(vgpu_ctx_new(&ctx), 0);
	vgpu_ctx_set_log_fn(ctx, NULL, NULL);
	ck_assert_int_eq(vgpu_ctx_set_sysfs_root(ctx, tmp), 0);
	ck_assert_int_eq(vgpu_ctx_set_runtime_dir(ctx, run), 0);
}

static void teardown(void)
{
	char cmd[128];
	int st;

	vgpu_ctx_unref(ctx);
	for (int i = 0; i < 2; i++) {
		kill(sims[i], SIGTERM);
		ck_assert_int_eq(waitpid(sims[i], &st, 0), sims[i]);
		ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	ck_assert_int_eq(system(cmd), 0);
}

static int run_sample(const char *precopy)
{
	const char *prog = getenv("VGPU_SIM_MIGRATE");
	pid_t pid;
	int st;

	ck_assert_ptr_nonnull(prog);
	pid = fork();
	if (pid == 0) {
		execl(prog, prog, "--runtime-dir", run, "--sysfs-root", tmp,
		      "--precopy", precopy, "simA", "simB", (char *)NULL);
		_exit(127);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

START_TEST(test_sample_move)
{
	/* with pre-copy passes and without */
	ck_assert_int_eq(run_sample("2"), 0);
	ck_assert_int_eq(run_sample("0"), 0);
}
END_TEST

static struct vgpu_handle *instance(const char *parent, const char *uuid,
				    const char *type)
{
	struct vgpu_config *cfg;
	struct vgpu_handle *h;

	ck_assert_int_eq(vgpu_config_new(&cfg), 0);
	ck_assert_int_eq(vgpu_config_set_type(cfg, type), 0);
	ck_assert_int_eq(vgpu_instance_create(ctx, parent, uuid, cfg, NULL), 0);
	vgpu_config_unref(cfg);
	ck_assert_int_eq(vgpu_handle_open(ctx, uuid, 0, &h), 0);
	return h;
}

static uint32_t reg(struct vgpu_handle *h, uint32_t off)
{
	uint32_t v = 0;

	ck_assert_int_eq(
		vgpu_handle_region_read(h, VGPU_SIM_BAR_REGS, off, &v, 4), 0);
	return v;
}

static void reg_set(struct vgpu_handle *h, uint32_t off, uint32_t v)
{
	ck_assert_int_eq(
		vgpu_handle_region_write(h, VGPU_SIM_BAR_REGS, off, &v, 4), 0);
}

/* the whole STOP_COPY stream of a device */
static uint8_t *save(struct vgpu_handle *h, size_t *len)
{
	size_t cap = 1 << 20, n = 0;
	uint8_t *buf = malloc(cap);

	ck_assert_int_eq(vgpu_handle_migration_set_state(h, VGPU_MIG_STOP_COPY),
			 0);
	for (;;) {
		ssize_t r;

		if (cap - n < 65536) {
			cap *= 2;
			buf = realloc(buf, cap);
			ck_assert_ptr_nonnull(buf);
		}
		r = vgpu_handle_migration_read(h, buf + n, 65536);
		ck_assert_int_ge(r, 0);
		if (!r)
			break;
		n += (size_t)r;
	}
	ck_assert_int_eq(vgpu_handle_migration_set_state(h, VGPU_MIG_STOP), 0);
	*len = n;
	return buf;
}

/* load @len bytes in odd-sized pieces; the result of RESUMING -> STOP */
static int load(struct vgpu_handle *h, const uint8_t *buf, size_t len)
{
	size_t off = 0, piece = 1000;
	int r = 0;

	ck_assert_int_eq(vgpu_handle_migration_set_state(h, VGPU_MIG_RESUMING),
			 0);
	while (off < len && !r) {
		size_t n = len - off < piece ? len - off : piece;

		r = vgpu_handle_migration_write(h, buf + off, n);
		off += n;
		piece = piece * 3 % 70001 + 1;
	}
	if (r < 0)
		return r;
	return vgpu_handle_migration_set_state(h, VGPU_MIG_STOP);
}

/* after a refused stream: ERROR, then a reset, and the device works */
static void refused_then_reset(struct vgpu_handle *h, int r)
{
	ck_assert_int_lt(r, 0);
	if (vgpu_handle_migration_get_state(h) != VGPU_MIG_RUNNING)
		ck_assert_int_eq(vgpu_handle_reset(h), 0);
	ck_assert_int_eq(vgpu_handle_migration_get_state(h), VGPU_MIG_RUNNING);
	ck_assert_uint_eq(reg(h, VGPU_SIM_REG_ID), VGPU_SIM_ID);
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

static void wr32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static void wr64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
}

/* offset of the first record of @type in a stream, or -1 */
static long find_rec(const uint8_t *s, size_t len, uint32_t type)
{
	size_t o = 0;

	while (o + 8 <= len) {
		if (rd32(s + o) == type)
			return (long)o;
		o += 8 + rd32(s + o + 4);
	}
	return -1;
}

START_TEST(test_hostile_streams)
{
	struct vgpu_handle *a = instance("simA", UUID_A, "sim-16m");
	struct vgpu_handle *b = instance("simB", UUID_B, "sim-16m");
	struct vgpu_handle *c = instance("simB", UUID_C, "sim-64m");
	uint8_t *s, *m, junk[64] = { 0 };
	size_t len, end_off, m_len;
	long o;

	/* a known state: a display mode, a register pattern */
	reg_set(a, VGPU_SIM_REG_FORMAT, VGPU_SIM_XR24);
	reg_set(a, VGPU_SIM_REG_WIDTH, 64);
	reg_set(a, VGPU_SIM_REG_HEIGHT, 64);
	reg_set(a, VGPU_SIM_REG_STRIDE, 256);
	reg_set(a, VGPU_SIM_REG_SRC_LO, 0x12345678);
	s = save(a, &len);
	ck_assert_uint_gt(len, 16u << 20);
	ck_assert_int_eq(rd32(s), VGPU_SIM_MIG_HEADER);

	/* data in the wrong state: writes to a running device, reads from
	 * one that is loading */
	ck_assert_int_eq(vgpu_handle_migration_write(b, s, 64), -EINVAL);
	ck_assert_int_eq(vgpu_handle_migration_set_state(b, VGPU_MIG_RESUMING),
			 0);
	ck_assert_int_lt(vgpu_handle_migration_read(b, junk, sizeof(junk)), 0);
	ck_assert_int_eq(
		vgpu_handle_migration_set_state(b, VGPU_MIG_RUNNING) < 0 ||
			vgpu_handle_migration_get_state(b) != VGPU_MIG_RUNNING,
		1);
	refused_then_reset(b, -EINVAL);

	/* the good stream loads, and the registers came along */
	ck_assert_int_eq(load(b, s, len), 0);
	ck_assert_int_eq(vgpu_handle_migration_set_state(b, VGPU_MIG_RUNNING),
			 0);
	ck_assert_uint_eq(reg(b, VGPU_SIM_REG_SRC_LO), 0x12345678);
	ck_assert_uint_eq(reg(b, VGPU_SIM_REG_WIDTH), 64);

	/* a destination of another size refuses at the header */
	refused_then_reset(c, load(c, s, len));

	/* truncated: without END, inside the last tile record, inside a
	 * record header, nothing at all */
	o = find_rec(s, len, VGPU_SIM_MIG_END);
	ck_assert_int_gt(o, 0);
	end_off = (size_t)o;
	refused_then_reset(b, load(b, s, end_off));
	refused_then_reset(b, load(b, s, end_off - 100));
	refused_then_reset(b, load(b, s, end_off + 4));
	refused_then_reset(b, load(b, s, 0));

	/* garbage after END; a record before the header */
	m = malloc(len + 64);
	memcpy(m, s, len);
	memcpy(m + len, s + end_off, 8);
	refused_then_reset(b, load(b, m, len + 8));
	refused_then_reset(b, load(b, s + 32, len - 32));

	/* one field broken at a time */
	{
		const struct {
			uint32_t type;
			size_t at; /* from the payload */
			int width; /* 1, 4 or 8; 0: the record's length */
			uint64_t value;
		} cases[] = {
			{ VGPU_SIM_MIG_HEADER, 0, 4, 0xdeadbeef }, /* magic */
			{ VGPU_SIM_MIG_HEADER, 4, 4, 2 },	   /* version */
			{ VGPU_SIM_MIG_HEADER, 8, 8, 32u << 20 },  /* fb size */
			{ VGPU_SIM_MIG_HEADER, 16, 4, 8192 }, /* tile size */
			{ VGPU_SIM_MIG_HEADER, 0, 0, 20 },    /* length */
			{ VGPU_SIM_MIG_TILES, 0, 8,
			  4096 }, /* first tile: past the end */
			{ VGPU_SIM_MIG_TILES, 0, 8, UINT64_MAX },
			{ VGPU_SIM_MIG_TILES, 8, 4, 0 }, /* count */
			{ VGPU_SIM_MIG_TILES, 8, 4, 17 },
			{ VGPU_SIM_MIG_TILES, 12, 4, 1 },	  /* reserved */
			{ VGPU_SIM_MIG_TILES, 0, 0, 0xffffffff }, /* length */
			{ VGPU_SIM_MIG_REGS, 0, 4, 0 },		  /* ID */
			{ VGPU_SIM_MIG_REGS, 4, 4, 64 },	  /* FB_MB */
			{ VGPU_SIM_MIG_REGS, 0, 0, 4092 },
			{ VGPU_SIM_MIG_IRQS, 5, 4, 2 },	   /* MSI count */
			{ VGPU_SIM_MIG_IRQS, 4, 1, 0x04 }, /* INTx flags */
			{ VGPU_SIM_MIG_JOBS, 0, 4, 5 },	   /* n */
			{ VGPU_SIM_MIG_JOBS, 4, 4, 1 },
			{ VGPU_SIM_MIG_QOS, 16, 8, 3 },		/* priority */
			{ VGPU_SIM_MIG_QOS, 24, 8, 0 },		/* weight */
			{ VGPU_SIM_MIG_QOS, 0, 8, 1ull << 40 }, /* time slice */
			{ VGPU_SIM_MIG_END, 0, 0, 4 },
		};

		memcpy(m, s, len);
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			uint8_t saved[24];
			size_t at;

			o = find_rec(m, len, cases[i].type);
			ck_assert_int_ge(o, 0);
			/* the bytes broken, kept to mend them after */
			at = cases[i].width ? (size_t)o + 8 + cases[i].at
					    : (size_t)o + 4;
			memcpy(saved, m + at, 8);
			if (!cases[i].width)
				wr32(m + o + 4, (uint32_t)cases[i].value);
			else if (cases[i].width == 1)
				m[o + 8 + cases[i].at] =
					(uint8_t)cases[i].value;
			else if (cases[i].width == 4)
				wr32(m + o + 8 + cases[i].at,
				     (uint32_t)cases[i].value);
			else
				wr64(m + o + 8 + cases[i].at, cases[i].value);
			refused_then_reset(b, load(b, m, len));
			memcpy(m + at, saved, 8);
		}
	}
	/* a job out of the framebuffer: a JOBS record of one */
	{
		uint8_t rec[8 + 24];

		o = find_rec(s, len, VGPU_SIM_MIG_JOBS);
		ck_assert_int_ge(o, 0);
		m_len = 0;
		memcpy(m, s, (size_t)o);
		m_len = (size_t)o;
		wr32(rec, VGPU_SIM_MIG_JOBS);
		wr32(rec + 4, 24);
		wr32(rec + 8, 1);
		wr32(rec + 12, 0);
		wr64(rec + 16, GUEST_IOVA);
		wr32(rec + 24, 16u << 20);
		wr32(rec + 28, 4096);
		memcpy(m + m_len, rec, sizeof(rec));
		m_len += sizeof(rec);
		memcpy(m + m_len, s + o + 8 + rd32(s + o + 4),
		       len - ((size_t)o + 8 + rd32(s + o + 4)));
		m_len += len - ((size_t)o + 8 + rd32(s + o + 4));
		refused_then_reset(b, load(b, m, m_len));
	}
	/* an unknown type refused; an unknown optional one skipped */
	{
		uint8_t rec[8 + 3] = { 0 };

		memcpy(m, s, end_off);
		wr32(rec, 99);
		wr32(rec + 4, 3);
		memcpy(m + end_off, rec, sizeof(rec));
		memcpy(m + end_off + sizeof(rec), s + end_off, len - end_off);
		refused_then_reset(b, load(b, m, len + sizeof(rec)));
		wr32(m + end_off, 99 | VGPU_SIM_MIG_OPTIONAL);
		ck_assert_int_eq(load(b, m, len + sizeof(rec)), 0);
		ck_assert_int_eq(
			vgpu_handle_migration_set_state(b, VGPU_MIG_RUNNING),
			0);
	}
	/* random bytes of the records around the tiles broken, with a fixed
	 * seed: taken or refused, never more (the provider's exit status is
	 * checked in the teardown) */
	{
		unsigned int seed = 12345;
		size_t meta = 32 + 8 + 4096 + 8 + 26 + 8 + 8 + 8 + 40;

		memcpy(m, s, len);
		for (int i = 0; i < 16; i++) {
			size_t at = (size_t)rand_r(&seed) % meta;
			uint8_t was = m[at];
			int r;

			if (i % 4 == 3)
				at = end_off + (size_t)rand_r(&seed) % 8;
			was = m[at];
			m[at] ^= (uint8_t)(1u << (rand_r(&seed) % 8));
			r = load(b, m, len);
			if (r == 0)
				ck_assert_int_eq(
					vgpu_handle_migration_set_state(
						b, VGPU_MIG_RUNNING),
					0);
			else
				refused_then_reset(b, r);
			ck_assert_uint_eq(reg(b, VGPU_SIM_REG_ID), VGPU_SIM_ID);
			m[at] = was;
		}
	}
	free(m);
	free(s);
	vgpu_handle_unref(a);
	vgpu_handle_unref(b);
	vgpu_handle_unref(c);
	ck_assert_int_eq(vgpu_instance_remove(ctx, UUID_A), 0);
	ck_assert_int_eq(vgpu_instance_remove(ctx, UUID_B), 0);
	ck_assert_int_eq(vgpu_instance_remove(ctx, UUID_C), 0);
}
END_TEST

/* a migration given up after STOP_COPY: the source runs on and finishes
 * the blits it had queued, interrupts included */
START_TEST(test_source_resumes)
{
	struct vgpu_handle *a = instance("simA", UUID_A, "sim-16m");
	uint8_t *guest, *buf;
	uint64_t n, irqs = 0;
	size_t len;
	int mfd, efd;

	mfd = memfd_create("guest", MFD_CLOEXEC);
	ck_assert_int_ge(mfd, 0);
	ck_assert_int_eq(ftruncate(mfd, GUEST_LEN), 0);
	guest = mmap(NULL, GUEST_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, mfd,
		     0);
	ck_assert_ptr_ne(guest, MAP_FAILED);
	memset(guest, 0x5a, GUEST_LEN);
	ck_assert_int_eq(vgpu_handle_dma_map_fd(a, guest, mfd, 0, GUEST_IOVA,
						GUEST_LEN, VGPU_DMA_READ),
			 0);
	efd = eventfd(0, EFD_CLOEXEC);
	ck_assert_int_eq(vgpu_handle_irq_attach(a, VGPU_IRQ_MSIX, 0, 1, &efd),
			 0);
	/* a mode, so the blits present and the frame-rate limit holds them */
	reg_set(a, VGPU_SIM_REG_FORMAT, VGPU_SIM_XR24);
	reg_set(a, VGPU_SIM_REG_WIDTH, 256);
	reg_set(a, VGPU_SIM_REG_HEIGHT, 256);
	reg_set(a, VGPU_SIM_REG_STRIDE, 1024);
	for (uint32_t i = 0; i < 4; i++) {
		reg_set(a, VGPU_SIM_REG_SRC_LO,
			(uint32_t)GUEST_IOVA + i * 65536);
		reg_set(a, VGPU_SIM_REG_SRC_HI, 0);
		reg_set(a, VGPU_SIM_REG_DST, i * 65536);
		reg_set(a, VGPU_SIM_REG_LEN, 65536);
		reg_set(a, VGPU_SIM_REG_DOORBELL, 1);
	}
	buf = save(a, &len);
	free(buf);
	ck_assert_int_eq(vgpu_handle_migration_set_state(a, VGPU_MIG_RUNNING),
			 0);
	/* the provider keeps the eventfd non-blocking (and the file
	 * description is shared): wait with poll() */
	while (reg(a, VGPU_SIM_REG_BLITS) < 4 || !irqs) {
		struct pollfd p = { .fd = efd, .events = POLLIN };

		ck_assert_int_eq(poll(&p, 1, 30000), 1);
		if (read(efd, &n, sizeof(n)) == sizeof(n))
			irqs += n;
	}
	ck_assert_uint_eq(reg(a, VGPU_SIM_REG_STATUS) & VGPU_SIM_STATUS_ERROR,
			  0);
	ck_assert_uint_ge(irqs, 1);
	for (size_t i = 0; i < 4 * 65536; i += 4096) {
		uint8_t page[4096], want[4096];

		memset(want, 0x5a, sizeof(want));
		ck_assert_int_eq(vgpu_handle_region_read(a, VGPU_SIM_BAR_FB, i,
							 page, sizeof(page)),
				 0);
		ck_assert_int_eq(memcmp(page, want, sizeof(page)), 0);
	}
	vgpu_handle_irq_detach(a, VGPU_IRQ_MSIX, 0, 0);
	close(efd);
	ck_assert_int_eq(vgpu_handle_dma_unmap(a, GUEST_IOVA, GUEST_LEN), 0);
	munmap(guest, GUEST_LEN);
	close(mfd);
	vgpu_handle_unref(a);
	ck_assert_int_eq(vgpu_instance_remove(ctx, UUID_A), 0);
}
END_TEST

/* stops that land while the engine copies, again and again: a stop must
 * never wait for a completion that waits for the device (a deadlock once:
 * the engine went from copying into its done call without a word to the
 * stop waiting for it) */
START_TEST(test_stop_while_copying)
{
	struct vgpu_handle *a = instance("simA", UUID_A, "sim-64m");
	const uint32_t blit = 4u << 20;
	uint32_t want = 0;
	uint8_t *guest;
	int mfd;

	mfd = memfd_create("guest", MFD_CLOEXEC);
	ck_assert_int_ge(mfd, 0);
	ck_assert_int_eq(ftruncate(mfd, 4 * blit), 0);
	guest = mmap(NULL, 4 * blit, PROT_READ | PROT_WRITE, MAP_SHARED, mfd,
		     0);
	ck_assert_ptr_ne(guest, MAP_FAILED);
	memset(guest, 0x3c, 4 * blit);
	ck_assert_int_eq(vgpu_handle_dma_map_fd(a, guest, mfd, 0, GUEST_IOVA,
						4 * blit, VGPU_DMA_READ),
			 0);
	for (int round = 0; round < 40; round++) {
		for (uint32_t i = 0; i < 4; i++) {
			reg_set(a, VGPU_SIM_REG_SRC_LO,
				(uint32_t)GUEST_IOVA + i * blit);
			reg_set(a, VGPU_SIM_REG_SRC_HI, 0);
			reg_set(a, VGPU_SIM_REG_DST, i * blit);
			reg_set(a, VGPU_SIM_REG_LEN, blit);
			reg_set(a, VGPU_SIM_REG_DOORBELL, 1);
		}
		want += 4;
		ck_assert_int_eq(
			vgpu_handle_migration_set_state(a, VGPU_MIG_STOP), 0);
		ck_assert_int_eq(
			vgpu_handle_migration_set_state(a, VGPU_MIG_RUNNING),
			0);
		while (reg(a, VGPU_SIM_REG_BLITS) < want)
			usleep(1000);
	}
	ck_assert_uint_eq(reg(a, VGPU_SIM_REG_STATUS) & VGPU_SIM_STATUS_ERROR,
			  0);
	ck_assert_int_eq(vgpu_handle_dma_unmap(a, GUEST_IOVA, 4 * blit), 0);
	munmap(guest, 4 * blit);
	close(mfd);
	vgpu_handle_unref(a);
	ck_assert_int_eq(vgpu_instance_remove(ctx, UUID_A), 0);
}
END_TEST

static bool fired(int efd)
{
	uint64_t n = 0;

	return read(efd, &n, sizeof(n)) == sizeof(n) && n;
}

/* an interrupt raised while the device is stopped is held, not signalled:
 * delivered when it runs again, or carried to the destination */
START_TEST(test_irq_held_while_stopped)
{
	struct vgpu_handle *a = instance("simA", UUID_A, "sim-16m");
	struct vgpu_handle *b = instance("simB", UUID_B, "sim-16m");
	int ea = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int eb = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	uint8_t *st;
	size_t len;

	ck_assert_int_eq(vgpu_handle_irq_attach(a, VGPU_IRQ_MSIX, 0, 1, &ea),
			 0);
	ck_assert_int_eq(vgpu_handle_irq_attach(b, VGPU_IRQ_MSIX, 0, 1, &eb),
			 0);
	/* a blit of length 0 fails at once, with its interrupt */
	reg_set(a, VGPU_SIM_REG_LEN, 0);
	reg_set(a, VGPU_SIM_REG_DOORBELL, 1);
	ck_assert(fired(ea));
	ck_assert_int_eq(vgpu_handle_migration_set_state(a, VGPU_MIG_STOP), 0);
	reg_set(a, VGPU_SIM_REG_DOORBELL, 1);
	ck_assert(reg(a, VGPU_SIM_REG_STATUS) & VGPU_SIM_STATUS_ERROR);
	ck_assert(!fired(ea));
	ck_assert_int_eq(vgpu_handle_migration_set_state(a, VGPU_MIG_RUNNING),
			 0);
	ck_assert(fired(ea));
	/* held, then moved: it arrives on the destination, not here */
	ck_assert_int_eq(vgpu_handle_migration_set_state(a, VGPU_MIG_STOP), 0);
	reg_set(a, VGPU_SIM_REG_DOORBELL, 1);
	st = save(a, &len);
	ck_assert_int_eq(load(b, st, len), 0);
	ck_assert(!fired(eb));
	ck_assert_int_eq(vgpu_handle_migration_set_state(b, VGPU_MIG_RUNNING),
			 0);
	ck_assert(fired(eb));
	ck_assert(!fired(ea));
	free(st);
	vgpu_handle_irq_detach(a, VGPU_IRQ_MSIX, 0, 0);
	vgpu_handle_irq_detach(b, VGPU_IRQ_MSIX, 0, 0);
	close(ea);
	close(eb);
	vgpu_handle_unref(a);
	vgpu_handle_unref(b);
	ck_assert_int_eq(vgpu_instance_remove(ctx, UUID_A), 0);
	ck_assert_int_eq(vgpu_instance_remove(ctx, UUID_B), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sim-migration");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_sample_move);
	tcase_add_test(tc, test_hostile_streams);
	tcase_add_test(tc, test_source_resumes);
	tcase_add_test(tc, test_irq_held_while_stopped);
	tcase_add_test(tc, test_stop_while_copying);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
