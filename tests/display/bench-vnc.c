/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * How fast a live display reaches a VNC viewer: vgpu-sim (the provider)
 * shows a 1920x1080 XR24 plane that a device client redraws every frame by
 * DMA, `vgpuctl vnc` serves it from the provider's display source, and a
 * libvncclient viewer counts the distinct frames it receives. Two cases:
 * the whole screen changes every frame, and a 64x64 square changes. For
 * each: frames offered and received per second, and the CPU time per
 * frame of the provider and of the VNC server (from /proc, user+system).
 * The floor, measured here in the same run: copying one frame (memcpy)
 * and sending it through a loopback TCP connection, the least any server
 * must do per full frame. Figures only: nothing here passes or fails on
 * time.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define W     1920
#define H     1080
#define FRAME ((size_t)W * H * 4)

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* user + system seconds of process @pid */
static double cpu_of(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return 0;
	}
	fclose(f);
	p = strrchr(buf, ')');
	/* fields after the name: state is 3rd, utime 14th, stime 15th */
	if (!p ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
		   &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* ---- the floor ---- */

static double floor_memcpy(void)
{
	uint8_t *a = malloc(FRAME), *b = malloc(FRAME);
	double t0, t;
	int n = 0;

	memset(a, 1, FRAME);
	memset(b, 2, FRAME);
	t0 = now();
	do {
		memcpy(b, a, FRAME);
		a[n % FRAME]++;
		n++;
		t = now();
	} while (t - t0 < 0.5);
	free(a);
	free(b);
	return (t - t0) / n;
}

struct sink {
	int fd;
	size_t total;
};

static void *drain(void *data)
{
	struct sink *s = data;
	static uint8_t buf[1 << 16];
	ssize_t n;

	while ((n = recv(s->fd, buf, sizeof(buf), 0)) > 0)
		s->total += (size_t)n;
	return NULL;
}

static double floor_socket(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	int l = socket(AF_INET, SOCK_STREAM, 0), c, one = 1;
	uint8_t *frame = calloc(1, FRAME);
	struct sink s = { .fd = -1 };
	pthread_t th;
	double t0, t;
	int n = 0;

	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(l, 1) < 0 || getsockname(l, (struct sockaddr *)&sa, &sl) < 0)
		return 0;
	c = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(c, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return 0;
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	s.fd = accept(l, NULL, NULL);
	pthread_create(&th, NULL, drain, &s);
	t0 = now();
	do {
		for (size_t off = 0; off < FRAME;) {
			ssize_t k = send(c, frame + off, FRAME - off, 0);

			if (k <= 0)
				break;
			off += (size_t)k;
		}
		n++;
		t = now();
	} while (t - t0 < 0.5);
	shutdown(c, SHUT_WR);
	pthread_join(th, NULL);
	t = now();
	close(c);
	close(s.fd);
	close(l);
	free(frame);
	return (t - t0) / n;
}

/* ---- the drawer, on its own thread ---- */

struct draw_job {
	struct drawer *d;
	bool small;
	double fps_cap;
	volatile bool stop;
	unsigned int frames;
	int err;
};

static void *draw_loop(void *data)
{
	struct draw_job *j = data;
	struct drawer *d = j->d;
	double next = now();

	while (!j->stop) {
		unsigned int k = ++j->frames;
		int r;

		if (j->small) {
			/* a 64x64 square that changes colour, at a place that
			 * moves along the top band */
			uint32_t x0 = (k * 64) % (W - 64), v = k * 2654435761u;

			for (uint32_t y = 0; y < 64; y++)
				for (uint32_t x = 0; x < 64; x++)
					d->guest[(size_t)y * W + x0 + x] =
						(v + x + y) & 0xffffff;
			r = drawer_blit(d, 0, 64);
		} else {
			uint32_t v = (k * 2654435761u) & 0xffffff;

			for (size_t i = 0; i < (size_t)W * H; i++)
				d->guest[i] = v ^ (uint32_t)(i & 0xff);
			r = drawer_blit(d, 0, H);
		}
		if (r < 0) {
			j->err = r;
			break;
		}
		next += 1.0 / j->fps_cap;
		{
			double wait = next - now();

			if (wait > 0)
				usleep((useconds_t)(wait * 1e6));
			else
				next = now();
		}
	}
	return NULL;
}

static int run_case(struct harness *hs, struct drawer *d, struct vncd *v,
		    bool small, double fps_cap, double seconds)
{
	struct draw_job j = { .d = d, .small = small, .fps_cap = fps_cap };
	struct viewer *vw;
	pthread_t th;
	double t0, t1, c_sim0, c_vnc0, c_sim, c_vnc;
	unsigned int f0;
	int got = 0, distinct = 0, r;
	uint32_t last = 0xffffffff;

	(void)hs;
	r = viewer_open(&vw, v->port);
	if (r < 0)
		return r;
	viewer_pump(vw, 300);
	pthread_create(&th, NULL, draw_loop, &j);
	/* settle, then measure */
	viewer_pump(vw, 300);
	f0 = j.frames;
	c_sim0 = cpu_of(hs->sim);
	c_vnc0 = cpu_of(v->pid);
	t0 = now();
	while ((t1 = now()) - t0 < seconds) {
		uint32_t w, h;
		const uint32_t *px;

		r = viewer_pump(vw, 50);
		if (r < 0)
			break;
		got += r;
		px = viewer_pixels(vw, &w, &h);
		if (px && w == W && h == H) {
			/* a frame is new when its changing pixel is */
			uint32_t k =
				small ? px[0] ^ px[(W - 1) / 2] ^ px[64 * 7]
				      : px[0];

			if (r > 0 && k != last) {
				distinct += r; /* updates that brought frames */
				last = k;
			}
		}
	}
	c_sim = cpu_of(hs->sim) - c_sim0;
	c_vnc = cpu_of(v->pid) - c_vnc0;
	j.stop = true;
	pthread_join(th, NULL);
	viewer_close(vw);
	if (j.err)
		return j.err;
	{
		double el = t1 - t0;
		unsigned int offered = j.frames - f0;

		printf("%-12s offered %6.1f fps, viewer received %6.1f fps (%d updates); "
		       "CPU per frame: provider %5.2f ms, VNC server %5.2f ms\n",
		       small ? "64x64 change" : "full screen", offered / el,
		       got / el, got, offered ? c_sim * 1e3 / offered : 0,
		       got ? c_vnc * 1e3 / got : 0);
		(void)distinct;
	}
	return 0;
}

int main(void)
{
	struct harness hs;
	struct drawer d;
	struct vncd v;
	double fm, fs;
	int r;

	if (!getenv("VGPU_SIM") || !getenv("VGPUCTL"))
		return 77;
	fm = floor_memcpy();
	fs = floor_socket();
	printf("floor: one 1920x1080 XR24 frame (%.1f MiB): memcpy %.2f ms (%.0f fps), "
	       "loopback TCP %.2f ms (%.0f fps)\n",
	       FRAME / 1048576.0, fm * 1e3, 1 / fm, fs * 1e3,
	       fs > 0 ? 1 / fs : 0);
	r = harness_start(&hs, "sim-16m");
	if (!r)
		r = drawer_open(&hs, &d);
	if (!r)
		r = drawer_mode(&d, W, H);
	if (!r)
		r = vncd_start(&hs, &v, "provider");
	if (!r)
		r = run_case(&hs, &d, &v, false, 60, 3);
	if (!r)
		r = run_case(&hs, &d, &v, true, 120, 3);
	printf("goal: >= 30 fps full screen, >= 60 fps for small changes\n");
	if (r < 0)
		fprintf(stderr, "bench-vnc: %s\n", strerror(-r));
	vncd_stop(&v);
	drawer_close(&d);
	harness_stop(&hs);
	return r < 0 ? 1 : 0;
}
