/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The display tests' harness, see harness.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jpeglib.h>
#include <png.h>
#include <rfb/rfbclient.h>

#include "harness.h"
#include "vgpu-sim.h"

#define GUEST_IOVA 0x10000000ull

static pid_t spawn_err(char *const argv[], int *out, const char *err_path)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		if (err_path) {
			int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC,
				     0600);

			if (e >= 0)
				dup2(e, 2);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return -1;
	}
	*out = p[0];
	return pid;
}

static pid_t spawn(char *const argv[], int *out)
{
	return spawn_err(argv, out, NULL);
}

/* one line of a child's stdout, waiting up to 30 s (a loaded machine,
 * valgrind); the deadline only ends a test that would otherwise hang */
static int read_line(int fd, char *buf, size_t size)
{
	size_t n = 0;

	while (n + 1 < size) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, 30000) != 1)
			return -ETIMEDOUT;
		r = read(fd, buf + n, 1);
		if (r <= 0)
			return -EPIPE;
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = '\0';
	return 0;
}

int harness_start(struct harness *hs, const char *type)
{
	const char *prog = getenv("VGPU_SIM");
	struct vgpu_config *cfg = NULL;
	struct vgpu_instance *in = NULL;
	char line[64];
	int out, r;

	memset(hs, 0, sizeof(*hs));
	if (!prog)
		return -ENOENT;
	strcpy(hs->tmp, "/tmp/vgpu-display-XXXXXX");
	if (!mkdtemp(hs->tmp))
		return -errno;
	snprintf(hs->run, sizeof(hs->run), "%s/run", hs->tmp);
	{
		char *argv[] = { (char *)prog,	(char *)"--runtime-dir",
				 hs->run,	(char *)"--pool",
				 (char *)"512", NULL };

		char err[128];

		snprintf(err, sizeof(err), "%s/sim.err", hs->tmp);
		hs->sim = spawn_err(argv, &out, err);
	}
	if (hs->sim < 0)
		return -errno;
	r = read_line(out, line, sizeof(line));
	close(out);
	if (r < 0 || strcmp(line, "ready"))
		return r < 0 ? r : -EPROTO;
	r = vgpu_ctx_new(&hs->ctx);
	if (r < 0)
		return r;
	vgpu_ctx_set_log_fn(hs->ctx, NULL, NULL);
	r = vgpu_ctx_set_sysfs_root(hs->ctx, hs->tmp);
	if (!r)
		r = vgpu_ctx_set_runtime_dir(hs->ctx, hs->run);
	if (!r)
		r = vgpu_config_new(&cfg);
	if (!r)
		r = vgpu_config_set_type(cfg, type);
	if (!r)
		r = vgpu_instance_create(hs->ctx, "vgpu-sim0", NULL, cfg, &in);
	if (!r)
		snprintf(hs->uuid, sizeof(hs->uuid), "%s",
			 vgpu_instance_get_uuid(in));
	vgpu_instance_unref(in);
	vgpu_config_unref(cfg);
	return r;
}

int harness_stop_sim(struct harness *hs, char *err, size_t size)
{
	char path[128];
	int st = -1, fd;
	ssize_t n = 0;

	if (hs->sim > 0) {
		kill(hs->sim, SIGTERM);
		if (waitpid(hs->sim, &st, 0) == hs->sim)
			st = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		hs->sim = 0;
	}
	snprintf(path, sizeof(path), "%s/sim.err", hs->tmp);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, err, size - 1);
		close(fd);
	}
	err[n > 0 ? n : 0] = '\0';
	return st;
}

void harness_stop(struct harness *hs)
{
	char cmd[128], err[4096];

	/* what vgpu-sim said, for the log */
	if (hs->sim > 0 && harness_stop_sim(hs, err, sizeof(err)) >= 0 &&
	    err[0])
		fputs(err, stderr);
	vgpu_ctx_unref(hs->ctx);
	if (hs->tmp[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", hs->tmp);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", hs->tmp);
	}
}

/* ---- the drawer ---- */

static int reg_write(struct drawer *d, uint32_t off, uint32_t v)
{
	return vgpu_handle_region_write(d->h, VGPU_SIM_BAR_REGS, off, &v, 4);
}

int drawer_open(struct harness *hs, struct drawer *d)
{
	int r;

	memset(d, 0, sizeof(*d));
	d->mfd = d->efd = -1;
	d->guest = MAP_FAILED;
	r = vgpu_handle_open(hs->ctx, hs->uuid, 0, &d->h);
	if (r < 0)
		return r;
	/* room for 1920x1080 and a little more */
	d->guest_len = 16u << 20;
	d->mfd = memfd_create("display-test-guest", MFD_CLOEXEC);
	if (d->mfd < 0 || ftruncate(d->mfd, (off_t)d->guest_len) < 0)
		return -errno;
	d->guest = mmap(NULL, d->guest_len, PROT_READ | PROT_WRITE, MAP_SHARED,
			d->mfd, 0);
	if (d->guest == MAP_FAILED)
		return -errno;
	r = vgpu_handle_dma_map_fd(d->h, d->guest, d->mfd, 0, GUEST_IOVA,
				   d->guest_len,
				   VGPU_DMA_READ | VGPU_DMA_WRITE);
	if (r < 0)
		return r;
	d->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->efd < 0)
		return -errno;
	r = vgpu_handle_irq_attach(d->h, VGPU_IRQ_MSIX, 0, 1, &d->efd);
	if (r < 0)
		return r;
	d->fb_len = 16u << 20;
	return vgpu_handle_region_mmap(d->h, VGPU_SIM_BAR_FB, 0, d->fb_len,
				       PROT_READ, (void **)&d->fb);
}

int drawer_mode(struct drawer *d, uint32_t w, uint32_t h)
{
	int r = reg_write(d, VGPU_SIM_REG_FORMAT, VGPU_SIM_XR24);

	if (!r)
		r = reg_write(d, VGPU_SIM_REG_WIDTH, w);
	if (!r)
		r = reg_write(d, VGPU_SIM_REG_HEIGHT, h);
	if (!r)
		r = reg_write(d, VGPU_SIM_REG_STRIDE, w * 4);
	if (!r)
		d->w = w, d->hgt = h;
	return r;
}

int drawer_submit(struct drawer *d, uint32_t y0, uint32_t rows)
{
	uint64_t off = (uint64_t)y0 * d->w * 4;
	int r;

	r = reg_write(d, VGPU_SIM_REG_SRC_LO, (uint32_t)(GUEST_IOVA + off));
	if (!r)
		r = reg_write(d, VGPU_SIM_REG_SRC_HI,
			      (uint32_t)((GUEST_IOVA + off) >> 32));
	if (!r)
		r = reg_write(d, VGPU_SIM_REG_DST, (uint32_t)off);
	if (!r)
		r = reg_write(d, VGPU_SIM_REG_LEN, rows * d->w * 4);
	if (!r)
		r = reg_write(d, VGPU_SIM_REG_DOORBELL, 1);
	return r;
}

int drawer_wait(struct drawer *d)
{
	struct pollfd p = { .fd = d->efd, .events = POLLIN };
	uint64_t n;

	if (poll(&p, 1, 30000) != 1 || read(d->efd, &n, sizeof(n)) != sizeof(n))
		return -ETIMEDOUT;
	return (int)n;
}

int drawer_blit(struct drawer *d, uint32_t y0, uint32_t rows)
{
	uint32_t status = 0;
	int r = drawer_submit(d, y0, rows);

	if (r < 0)
		return r;
	r = drawer_wait(d);
	if (r < 0)
		return r;
	r = vgpu_handle_region_read(d->h, VGPU_SIM_BAR_REGS,
				    VGPU_SIM_REG_STATUS, &status, 4);
	if (r < 0)
		return r;
	if (status != VGPU_SIM_STATUS_DONE)
		return -EIO;
	return reg_write(d, VGPU_SIM_REG_STATUS, status);
}

void drawer_close(struct drawer *d)
{
	if (d->fb)
		munmap((void *)d->fb, d->fb_len);
	if (d->efd >= 0)
		close(d->efd);
	if (d->guest != MAP_FAILED)
		munmap(d->guest, d->guest_len);
	if (d->mfd >= 0)
		close(d->mfd);
	vgpu_handle_unref(d->h);
	memset(d, 0, sizeof(*d));
}

uint32_t pattern_pixel(unsigned int k, uint32_t x, uint32_t y)
{
	uint32_t r = (x * 255 / 1919 + k * 37) & 0xff;
	uint32_t g = (y * 255 / 1079 + k * 91) & 0xff;
	uint32_t b = ((x / 48 + y / 48 + k) & 1) ? 0xe0 : 0x20;

	return r << 16 | g << 8 | b;
}

void pattern_fill(struct drawer *d, unsigned int k)
{
	for (uint32_t y = 0; y < d->hgt; y++)
		for (uint32_t x = 0; x < d->w; x++)
			d->guest[(size_t)y * d->w + x] = pattern_pixel(k, x, y);
}

/* ---- vgpuctl vnc ---- */

int vncd_start(struct harness *hs, struct vncd *v, const char *source_kind)
{
	const char *prog = getenv("VGPUCTL");
	char line[256], want[64], *p;
	int r;

	memset(v, 0, sizeof(*v));
	v->out = -1;
	if (!prog)
		return -ENOENT;
	{
		char *argv[] = { (char *)prog,
				 (char *)"--sysfs-root",
				 hs->tmp,
				 (char *)"--runtime-dir",
				 hs->run,
				 (char *)"vnc",
				 hs->uuid,
				 (char *)"--listen",
				 (char *)"127.0.0.1:0",
				 (char *)"--source",
				 (char *)source_kind,
				 NULL };

		v->pid = spawn(argv, &v->out);
	}
	if (v->pid < 0)
		return -errno;
	r = read_line(v->out, line, sizeof(line));
	if (r < 0)
		return r;
	p = strstr(line, "VNC on 127.0.0.1:");
	if (!p)
		return -EPROTO;
	v->port = atoi(p + strlen("VNC on 127.0.0.1:"));
	snprintf(want, sizeof(want), "display source: %s", source_kind);
	return v->port > 0 && strstr(line, want) ? 0 : -EPROTO;
}

int vncd_wait_exit(struct vncd *v, int ms)
{
	int st;

	for (int i = 0; i < ms / 10; i++) {
		pid_t r = waitpid(v->pid, &st, WNOHANG);

		if (r == v->pid) {
			v->pid = 0;
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		}
		usleep(10000);
	}
	return -1;
}

int vncd_stop(struct vncd *v)
{
	int st = -1;

	if (v->pid > 0) {
		kill(v->pid, SIGTERM);
		if (waitpid(v->pid, &st, 0) == v->pid)
			st = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		v->pid = 0;
	}
	if (v->out >= 0)
		close(v->out);
	v->out = -1;
	return st;
}

/* ---- the viewer ---- */

struct viewer {
	rfbClient *c;
	int updates;
};

static void quiet(const char *fmt, ...)
{
	(void)fmt;
}

/* a zeroed framebuffer (the default leaves it unset until the first
 * update, and to the application to free) */
static rfbBool alloc_fb(rfbClient *c)
{
	free(c->frameBuffer);
	c->frameBuffer = calloc((size_t)c->width * c->height, 4);
	return c->frameBuffer != NULL;
}

static void finished(rfbClient *c)
{
	struct viewer *v = rfbClientGetClientData(c, (void *)finished);

	v->updates++;
}

int viewer_open(struct viewer **ret, int port)
{
	struct viewer *v = calloc(1, sizeof(*v));

	if (!v)
		return -ENOMEM;
	rfbClientLog = quiet;
	rfbClientErr = quiet;
	v->c = rfbGetClient(8, 3, 4);
	if (!v->c) {
		free(v);
		return -ENOMEM;
	}
	/* XR24 in memory: 0x00RRGGBB little-endian */
	v->c->format.redShift = 16;
	v->c->format.greenShift = 8;
	v->c->format.blueShift = 0;
	v->c->appData.encodingsString = "raw";
	v->c->appData.shareDesktop = TRUE;
	v->c->canHandleNewFBSize = TRUE;
	free(v->c->serverHost);
	v->c->serverHost = strdup("127.0.0.1");
	v->c->MallocFrameBuffer = alloc_fb;
	v->c->serverPort = port;
	v->c->FinishedFrameBufferUpdate = finished;
	rfbClientSetClientData(v->c, (void *)finished, v);
	if (!rfbInitClient(v->c, NULL, NULL)) {
		/* rfbInitClient cleans the client up when it fails, all but
		 * the framebuffer */
		free(v);
		return -ECONNREFUSED;
	}
	*ret = v;
	return 0;
}

int viewer_pump(struct viewer *v, int ms)
{
	struct timespec t0, t;
	int before = v->updates;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		long left;
		int n;

		clock_gettime(CLOCK_MONOTONIC, &t);
		left = ms - ((t.tv_sec - t0.tv_sec) * 1000 +
			     (t.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0)
			break;
		n = WaitForMessage(v->c, (unsigned int)(left * 1000));
		if (n < 0)
			return -EIO;
		if (n == 0)
			break;
		if (!HandleRFBServerMessage(v->c))
			return -ECONNRESET;
	}
	return v->updates - before;
}

const uint32_t *viewer_pixels(struct viewer *v, uint32_t *w, uint32_t *h)
{
	*w = (uint32_t)v->c->width;
	*h = (uint32_t)v->c->height;
	return (const uint32_t *)v->c->frameBuffer;
}

void viewer_close(struct viewer *v)
{
	if (!v)
		return;
	free(v->c->frameBuffer);
	v->c->frameBuffer = NULL;
	rfbClientCleanup(v->c);
	free(v);
}

void picture_diff(const uint32_t *a, const uint32_t *b, size_t n, double *mean,
		  unsigned int *worst)
{
	unsigned long long sum = 0;

	*worst = 0;
	for (size_t i = 0; i < n; i++)
		for (int s = 0; s < 24; s += 8) {
			int d = (int)((a[i] >> s) & 0xff) -
				(int)((b[i] >> s) & 0xff);
			unsigned int ad = (unsigned int)(d < 0 ? -d : d);

			sum += ad;
			if (ad > *worst)
				*worst = ad;
		}
	*mean = n ? (double)sum / (double)(n * 3) : 0;
}

struct jerr {
	struct jpeg_error_mgr pub;
	jmp_buf jb;
};

static void jpeg_fail(j_common_ptr c)
{
	longjmp(((struct jerr *)c->err)->jb, 1);
}

int jpeg_load(const char *path, uint32_t **pix, uint32_t *w, uint32_t *h)
{
	struct jpeg_decompress_struct c;
	struct jerr e;
	uint8_t *row = NULL;
	uint32_t *volatile out = NULL;
	FILE *f = fopen(path, "rb");

	if (!f)
		return -errno;
	c.err = jpeg_std_error(&e.pub);
	e.pub.error_exit = jpeg_fail;
	if (setjmp(e.jb)) {
		jpeg_destroy_decompress(&c);
		fclose(f);
		free(out);
		free(row);
		return -EBADMSG;
	}
	jpeg_create_decompress(&c);
	jpeg_stdio_src(&c, f);
	jpeg_read_header(&c, TRUE);
	c.out_color_space = JCS_RGB;
	jpeg_start_decompress(&c);
	out = malloc((size_t)c.output_width * c.output_height * 4);
	row = malloc((size_t)c.output_width * 3);
	if (!out || !row)
		longjmp(e.jb, 1);
	while (c.output_scanline < c.output_height) {
		JSAMPROW rp = row;
		uint32_t y = c.output_scanline;

		jpeg_read_scanlines(&c, &rp, 1);
		for (uint32_t x = 0; x < c.output_width; x++)
			out[(size_t)y * c.output_width + x] =
				(uint32_t)row[x * 3] << 16 |
				(uint32_t)row[x * 3 + 1] << 8 | row[x * 3 + 2];
	}
	*w = c.output_width;
	*h = c.output_height;
	jpeg_finish_decompress(&c);
	jpeg_destroy_decompress(&c);
	fclose(f);
	free(row);
	*pix = out;
	return 0;
}

int png_load(const char *path, uint32_t **pix, uint32_t *w, uint32_t *h)
{
	png_image img = { .version = PNG_IMAGE_VERSION };
	uint32_t *out;

	if (!png_image_begin_read_from_file(&img, path))
		return -EBADMSG;
	img.format = PNG_FORMAT_BGRA;
	out = malloc(PNG_IMAGE_SIZE(img));
	if (!out) {
		png_image_free(&img);
		return -ENOMEM;
	}
	if (!png_image_finish_read(&img, NULL, out, 0, NULL)) {
		free(out);
		return -EBADMSG;
	}
	/* BGRA in memory is XR24 with alpha on top: drop it */
	for (size_t i = 0; i < (size_t)img.width * img.height; i++)
		out[i] &= 0xffffff;
	*w = img.width;
	*h = img.height;
	*pix = out;
	return 0;
}

int harness_ctl(struct harness *hs, const char *req, char *reply, size_t size)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t got = 0;
	int fd, r = 0;

	if (strlen(hs->run) + sizeof("/vfio-user/vgpu-sim0.ctl") >
	    sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	snprintf(sa.sun_path, sizeof(sa.sun_path),
		 "%.60s/vfio-user/vgpu-sim0.ctl", hs->run);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req)) {
		r = -errno;
		close(fd);
		return r;
	}
	while (got + 1 < size) {
		ssize_t n = recv(fd, reply + got, size - 1 - got, 0);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	reply[got] = '\0';
	close(fd);
	return 0;
}

int harness_add_instance(struct harness *hs, const char *type, char uuid[37])
{
	struct vgpu_config *cfg = NULL;
	struct vgpu_instance *in = NULL;
	int r = vgpu_config_new(&cfg);

	if (!r)
		r = vgpu_config_set_type(cfg, type);
	if (!r)
		r = vgpu_instance_create(hs->ctx, "vgpu-sim0", NULL, cfg, &in);
	if (!r)
		snprintf(uuid, 37, "%s", vgpu_instance_get_uuid(in));
	vgpu_instance_unref(in);
	vgpu_config_unref(cfg);
	return r;
}

int drawer_open_uuid(struct harness *hs, const char *uuid, struct drawer *d)
{
	char saved[37];
	int r;

	memcpy(saved, hs->uuid, sizeof(saved));
	snprintf(hs->uuid, sizeof(hs->uuid), "%s", uuid);
	r = drawer_open(hs, d);
	memcpy(hs->uuid, saved, sizeof(saved));
	return r;
}
