/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vgpu-sim moved between two provider processes by vgpu-sim-migrate, its
 * framebuffer written whole first (so every byte moves): downtime
 * (STOP_COPY until the destination is RUNNING) and the whole move, for a
 * 64 MiB and a 256 MiB framebuffer, without pre-copy and with two passes.
 * The floor, measured in the same run: the same number of bytes through a
 * pipe from one process to another. Prints figures only.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TRIALS 3

static char tmp[64], run[96];

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static pid_t start_sim(const char *prog, const char *parent)
{
	char line[16] = "";
	int out[2];
	pid_t pid;
	FILE *f;

	if (pipe(out) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(out[1], 1);
		execl(prog, prog, "--runtime-dir", run, "--parent", parent,
		      "--pool", "1024", (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	f = fdopen(out[0], "r");
	if (!f || !fgets(line, sizeof(line), f) || strcmp(line, "ready\n")) {
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	return pid;
}

/* one move; 0 with the figures, or -1 */
static int move(const char *prog, const char *type, const char *precopy,
		unsigned long long *bytes, double *down, double *total)
{
	char line[256] = "";
	int out[2], st;
	pid_t pid;
	FILE *f;
	int r = -1;

	if (pipe(out) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(out[1], 1);
		execl(prog, prog, "--runtime-dir", run, "--sysfs-root", tmp,
		      "--type", type, "--precopy", precopy, "--fill", "--bench",
		      "simA", "simB", (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	f = fdopen(out[0], "r");
	if (f) {
		unsigned long long d, t;

		if (fgets(line, sizeof(line), f) &&
		    sscanf(line, "bytes=%llu downtime_ns=%llu total_ns=%llu",
			   bytes, &d, &t) == 3) {
			*down = (double)d;
			*total = (double)t;
			r = 0;
		}
		fclose(f);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		r = -1;
	return r;
}

/* the floor: @bytes from a child process through a pipe */
static double pipe_floor(unsigned long long bytes)
{
	static char buf[1 << 16];
	int p[2];
	double t0, t1;
	pid_t pid;

	if (pipe(p) < 0)
		return 0;
	t0 = now_ns();
	pid = fork();
	if (pid == 0) {
		unsigned long long left = bytes;

		close(p[0]);
		memset(buf, 0x5a, sizeof(buf));
		while (left) {
			size_t n =
				left < sizeof(buf) ? (size_t)left : sizeof(buf);
			ssize_t w = write(p[1], buf, n);

			if (w <= 0)
				_exit(1);
			left -= (unsigned long long)w;
		}
		_exit(0);
	}
	close(p[1]);
	while (read(p[0], buf, sizeof(buf)) > 0)
		;
	t1 = now_ns();
	close(p[0]);
	waitpid(pid, NULL, 0);
	return t1 - t0;
}

int main(void)
{
	const char *sim = getenv("VGPU_SIM"), *mig = getenv("VGPU_SIM_MIGRATE");
	static const char *const types[] = { "sim-64m", "sim-256m" };
	static const char *const passes[] = { "0", "2" };
	pid_t a, b;
	char cmd[128];
	int fail = 0;

	if (!sim || !mig) {
		fprintf(stderr,
			"VGPU_SIM and VGPU_SIM_MIGRATE must name the programs\n");
		return 1;
	}
	strcpy(tmp, "/tmp/vgpu-simmig-bench-XXXXXX");
	if (!mkdtemp(tmp))
		return 1;
	snprintf(run, sizeof(run), "%s/run", tmp);
	a = start_sim(sim, "simA");
	b = start_sim(sim, "simB");
	if (a < 0 || b < 0) {
		fprintf(stderr, "vgpu-sim did not start\n");
		fail = 1;
		goto out;
	}
	printf("vgpu-sim moved between two providers (best of %d; framebuffer "
	       "written whole first)\n",
	       TRIALS);
	printf("%-9s %-9s %12s %12s %12s %12s %9s\n", "type", "pre-copy",
	       "bytes", "downtime ms", "total ms", "pipe ms", "total/pipe");
	for (size_t i = 0; i < 2; i++) {
		for (size_t k = 0; k < 2; k++) {
			double best_d = 0, best_t = 0, best_p = 0;
			unsigned long long bytes = 0;

			for (int t = 0; t < TRIALS; t++) {
				double d, tt, p;

				if (move(mig, types[i], passes[k], &bytes, &d,
					 &tt) < 0) {
					fprintf(stderr,
						"%s, %s passes: the move failed\n",
						types[i], passes[k]);
					fail = 1;
					goto out;
				}
				p = pipe_floor(bytes);
				if (!t || d < best_d)
					best_d = d;
				if (!t || tt < best_t)
					best_t = tt;
				if (!t || p < best_p)
					best_p = p;
			}
			printf("%-9s %-9s %12llu %12.1f %12.1f %12.1f %9.1f\n",
			       types[i], passes[k], bytes, best_d / 1e6,
			       best_t / 1e6, best_p / 1e6,
			       best_p > 0 ? best_t / best_p : 0);
		}
	}
out:
	if (a > 0) {
		kill(a, SIGTERM);
		waitpid(a, NULL, 0);
	}
	if (b > 0) {
		kill(b, SIGTERM);
		waitpid(b, NULL, 0);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	if (system(cmd) != 0)
		fail = 1;
	return fail;
}
