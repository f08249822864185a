/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-user client: connect to a vfio-user socket (a libvgpu provider,
 * libvfio-user, SPDK, ...) and drive the device. Internal for now; the
 * public device handle shared with the kernel VFIO backend will wrap it.
 * One client, one thread.
 */
#ifndef VGPU_VFU_CLIENT_H
#define VGPU_VFU_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libvgpu.h"
#include "proto.h"

struct vfu_client;

/*
 * How long a provider may stay silent: $VGPU_PROVIDER_TIMEOUT_MS
 * (1..600000), 5000 by default. Management requests use it as the
 * deadline of a whole request; the client as the bound on each send or
 * receive that makes no progress.
 */
int vfu_provider_timeout_ms(void);

/*
 * Connect and negotiate VERSION; -EPROTO when the server answers badly.
 * Every exchange of the client is bounded by vfu_provider_timeout_ms():
 * a send or receive that makes no progress for that long fails the call
 * with -ETIMEDOUT, and every later call of the client fails at once with
 * -ETIMEDOUT (the stream is out of step). A reply that keeps coming,
 * however large, is never cut.
 */
int vfu_client_connect(struct vgpu_ctx *ctx, const char *path,
		       struct vfu_client **ret);
void vfu_client_close(struct vfu_client *c);
/* the server's capabilities */
const struct vfu_caps *vfu_client_server_caps(struct vfu_client *c);

int vfu_client_get_info(struct vfu_client *c, struct vfu_device_info *ret);
/* what the capability chain of a REGION_INFO reply said besides areas */
struct vfu_region_type {
	bool sparse;  /* a sparse-mmap cap was there (maybe with 0 areas) */
	bool present; /* a type cap was there: */
	uint32_t type, subtype;
};

#define VFU_MAX_SPARSE_AREAS 64

/*
 * Region info with the argsz retry for capabilities. @fd_ret receives the
 * region's fd (or -1; the caller closes it), @areas up to @max sparse areas
 * and @n_areas their number (0 when the whole region is mmap-able), @rt
 * (may be NULL) the type capability.
 */
int vfu_client_region_info(struct vfu_client *c, unsigned int index,
			   struct vfu_region_info *ret, int *fd_ret,
			   struct vfu_sparse_area *areas, unsigned int max,
			   unsigned int *n_areas, struct vfu_region_type *rt);
int vfu_client_irq_info(struct vfu_client *c, unsigned int index,
			struct vfu_irq_info *ret);
/* DATA_EVENTFD + ACTION_TRIGGER with @count fds (or none to de-assign) */
int vfu_client_set_irq_eventfds(struct vfu_client *c, unsigned int index,
				unsigned int start, unsigned int count,
				const int *fds);
/* any other SET_IRQS with DATA_NONE */
int vfu_client_set_irqs(struct vfu_client *c, unsigned int index,
			uint32_t flags, unsigned int start, unsigned int count);
int vfu_client_region_read(struct vfu_client *c, unsigned int index,
			   uint64_t offset, void *buf, uint32_t count);
int vfu_client_region_write(struct vfu_client *c, unsigned int index,
			    uint64_t offset, const void *buf, uint32_t count);
/*
 * Map [iova, iova + size) of guest memory. @fd (or -1) is sent to the
 * server; @vaddr (or NULL) is this process's mapping, used to serve the
 * server's DMA_READ/DMA_WRITE for windows sent without an fd.
 */
int vfu_client_dma_map(struct vfu_client *c, uint64_t iova, uint64_t size,
		       uint32_t prot, int fd, uint64_t offset, void *vaddr);
int vfu_client_dma_unmap(struct vfu_client *c, uint64_t iova, uint64_t size);
int vfu_client_dma_unmap_all(struct vfu_client *c);
int vfu_client_reset(struct vfu_client *c);
/*
 * Send any command and wait for its reply (the building block of the
 * above, and a way for tests to send raw payloads). @reply/@reply_len
 * receive a malloc'd payload (may be NULL), @fds up to @max_fds fds.
 */
int vfu_client_call(struct vfu_client *c, uint16_t cmd, const void *req,
		    size_t req_len, const int *fds, unsigned int nfds,
		    void **reply, size_t *reply_len, int *rfds,
		    unsigned int max_rfds, unsigned int *n_rfds);
/* the socket, for tests that need to misbehave */
int vfu_client_get_fd(struct vfu_client *c);
/*
 * Serve the DMA_READ/DMA_WRITE requests the server sent while no call of
 * ours was waiting (the fd of vfu_client_get_fd() polls readable), without
 * blocking. Returns how many were served, or a negative errno (-EPROTO for
 * a reply nobody waits for; the connection is then unusable).
 */
int vfu_client_service(struct vfu_client *c);

#endif
