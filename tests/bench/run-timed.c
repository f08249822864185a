/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * run-timed CMD [ARG...]: run CMD once, its output thrown away, and print
 * "WALL-ms CPU-ms": the wall-clock time from just before the child is
 * started to just after it is reaped, and the child's user + system time
 * (all its threads, from wait4(), to the microsecond).
 *
 * The child is started with posix_spawnp(), which does not copy the
 * caller's memory, so the figures hold the command's own start-up and not
 * a shell's fork: timed with bash's `time`, a fork of the benchmark's bash
 * added 6 to 9 ms to every run on the 2-vCPU KVM guest of docs/testing.md,
 * more than /bin/true costs there on its own. The exit status is CMD's
 * (1 and a message when it could not be run).
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static double ms(const struct timeval *tv)
{
	return (double)tv->tv_sec * 1e3 + (double)tv->tv_usec / 1e3;
}

int main(int argc, char **argv)
{
	posix_spawn_file_actions_t fa;
	struct timespec t0, t1;
	struct rusage ru;
	int r, status;
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: run-timed CMD [ARG...]\n");
		return 2;
	}
	if (posix_spawn_file_actions_init(&fa) ||
	    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY,
					     0) ||
	    posix_spawn_file_actions_adddup2(&fa, 1, 2)) {
		fprintf(stderr, "run-timed: %s\n", strerror(ENOMEM));
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = posix_spawnp(&pid, argv[1], &fa, NULL, argv + 1, environ);
	if (r) {
		fprintf(stderr, "run-timed: %s: %s\n", argv[1], strerror(r));
		return 1;
	}
	while (wait4(pid, &status, 0, &ru) < 0)
		if (errno != EINTR) {
			fprintf(stderr, "run-timed: wait: %s\n",
				strerror(errno));
			return 1;
		}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	posix_spawn_file_actions_destroy(&fa);
	printf("%.3f %.3f\n",
	       (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
		       (double)(t1.tv_nsec - t0.tv_nsec) / 1e6,
	       ms(&ru.ru_utime) + ms(&ru.ru_stime));
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
