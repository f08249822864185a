/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The fixture of the tests against sim-device (sim-device.h), server and
 * client in separate processes: every test runs twice, against a provider
 * in a vgpu_provider_dispatch() loop (test case "server-client") and
 * against one with a thread per client ("server-client-threaded"), each
 * time a fresh sim-device on @sock_path, with @ctx for the library's own
 * client. Plus the raw wire helpers the tests share.
 */
#ifndef SIM_FIXTURE_H
#define SIM_FIXTURE_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct vgpu_ctx;
struct vfu_hdr;

/* the running test's sim-device: its socket, its pid; a context */
extern char sock_path[108];
extern pid_t sim;
extern struct vgpu_ctx *ctx;

/* a test case with the fixture for one threading mode */
TCase *sim_tcase(const char *name, bool threaded);
/* run suite @suite: @add_tests adds the tests to both test cases; the
 * exit status for main() */
int sim_run(const char *suite, void (*add_tests)(TCase *tc));

/* a raw connection that has negotiated VERSION */
int raw_connect(void);
/* a raw connection; VERSION with @json (NULL: none), the reply's JSON in
 * @rjson (may be NULL) */
int raw_connect_json(const char *json, char *rjson, size_t rmax);
/* send raw bytes, expect an error reply with @err, or EOF when err == 0 */
void raw_expect(int fd, const void *msg, size_t len, int err);
/* one whole message; false at EOF */
bool raw_recv(int fd, struct vfu_hdr *h, uint8_t *p, size_t max);

#endif
