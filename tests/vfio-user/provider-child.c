/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A provider in a forked child: see provider-child.h. */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "provider-child.h"

pid_t child_start(int (*fn)(void *arg, int ready_fd), void *arg)
{
	int pfd[2];
	pid_t pid;
	char c;

	if (pipe(pfd) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		_exit(fn(arg, pfd[1]));
	}
	close(pfd[1]);
	/* ready, and (EOF) the child's end closed: its fds are settled */
	if (pid < 0 || read(pfd[0], &c, 1) != 1 || read(pfd[0], &c, 1) != 0) {
		close(pfd[0]);
		if (pid > 0)
			child_stop(pid);
		return -1;
	}
	close(pfd[0]);
	return pid;
}

int child_stop(pid_t pid)
{
	int st;

	kill(pid, SIGTERM);
	if (waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int child_fds(pid_t pid)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

uint64_t child_rss(pid_t pid)
{
	char path[64];
	unsigned long long size = 0, res = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/statm", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fscanf(f, "%llu %llu", &size, &res) != 2)
		res = 0;
	fclose(f);
	return (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE);
}
