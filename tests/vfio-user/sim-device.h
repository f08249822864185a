/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A small device for the tests and benchmarks, served from a forked child:
 * BAR0 4 KiB trapped registers (0x0 scratch, 0x8 DMA source iova, 0x10
 * DMA length, 0x4 doorbell: copy len bytes from src to src + len, inverted,
 * then raise MSI vector 0), BAR2 1 MiB shared memory with a sparse area over
 * its first half, INTx, MSI (1 vector), MSI-X (4) and a PCIe capability.
 * Migration: the saved state is 16 bytes {magic, scratch}; BAR0 0x18
 * counts the state changes the library asked for. A write to BAR0 0x20
 * makes the provider exit before it answers (a provider that vanishes).
 * BAR0 0x30 reads the errno of the last doorbell's DMA (0: fine); a write
 * to BAR0 0x28 starts a thread that reads 16 bytes at the DMA source, and
 * a read of 0x28 gives its result (1 while it runs). DMA_READ/DMA_WRITE
 * replies are waited for SIM_DMA_TIMEOUT_MS.
 */
#ifndef SIM_DEVICE_H
#define SIM_DEVICE_H

#include <stdbool.h>
#include <sys/types.h>

#define SIM_DMA_TIMEOUT_MS 1000
#define SIM_UUID	   "6f0c8e5a-3c1e-4d2b-9a55-0123456789ab"

/* fork a provider serving one device on @path; returns the child's pid
 * (stopped with child_stop(), see provider-child.h) */
pid_t sim_start(const char *path);
/* the same; @threaded: vgpu_provider_start_thread() (a thread per client)
 * instead of a vgpu_provider_dispatch() loop */
pid_t sim_start_mode(const char *path, bool threaded);
/* the same with a control socket in @runtime_dir (parent "sim0"), the
 * device at its default socket there: reachable by vgpu_handle_open() */
pid_t sim_start_managed(const char *runtime_dir);
#endif
