/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The provider's own objects, shared by the files of lib/provider/. Not
 * installed; nothing outside this folder includes it.
 */
#ifndef VGPU_PROVIDER_PRIVATE_H
#define VGPU_PROVIDER_PRIVATE_H

#include <assert.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ctl.h"
#include "dma-table.h"
#include "libvgpu-private.h"
#include "libvgpu-provider.h"
#include "proto.h"
#include "send-lock.h"
#include "util-uuid.h"

#define CFG_SPACE	4096
#define CFG_LEGACY	256
#define MAX_IRQ_VECTORS 2048
#define MAX_SPARSE	16
/* client commands kept while a DMA_READ/DMA_WRITE waits for its reply */
#define DMA_QUEUE_MAX	64
#define DMA_QUEUE_BYTES (4u << 20)
#define DMA_TIMEOUT_MS	5000
/* a control connection: its whole request line, then its whole reply */
#define CTL_DEADLINE_MS 1000
/* replies and requests a client has not taken yet, per connection; more
 * drops the client (a reply is at most 1 MiB and a header or two) */
#define CONN_OUTQ_MAX (4u << 20)
/* from accept to a negotiated VERSION, by default */
#define VERSION_TIMEOUT_MS 5000

/* bytes the client's socket has not taken yet, in order */
struct outbuf {
	struct outbuf *next;
	size_t len, off;
	int fd; /* -1, or one fd that goes with the first byte (a dup) */
	uint8_t data[];
};

/* a client command that arrived during a DMA exchange: handled later */
struct qmsg {
	struct qmsg *next;
	struct vfu_hdr hdr;
	int fds[VFU_MAX_MSG_FDS];
	unsigned int nfds;
	size_t len;
	uint8_t payload[];
};

struct ptype {
	char *id, *name, *description;
	unsigned int max, used;
};

struct region {
	uint64_t size;
	uint32_t flags;
	vgpu_region_access_fn access;
	void *data;
	int memfd;
	void *mem;
	bool split;  /* sparse: trapped parts in memory of our own */
	bool sealed; /* the memfd was handed out: no more set-up */
	unsigned int n_sparse;
	struct vfu_sparse_area sparse[MAX_SPARSE];
	bool has_type;
	uint32_t type, subtype;
};

struct irq {
	unsigned int count;
	int *efd; /* per vector, -1 when none */
	bool *masked;
	bool *pending;
};

enum watch_kind {
	WATCH_LISTEN,
	WATCH_CONN,
	WATCH_CONN_OUT, /* runner mode: a connection thread's queued output */
	WATCH_STOP,
	WATCH_CTL,
	WATCH_TIMER,
	WATCH_WAKE,
	WATCH_DISPLAY,
	WATCH_REFUSE,	    /* a refused client's socket */
	WATCH_REFUSE_TIMER, /* its VERSION deadline */
};

struct watch {
	enum watch_kind kind;
	struct vgpu_device *dev;
};

/*
 * A second client of a device in use, kept until its first message is
 * whole (then answered with EBUSY and closed) or its VERSION deadline
 * (then closed). At most REFUSE_MAX per device; beyond, closed at once.
 * Only the dispatching thread touches them, under the device lock.
 */
#define REFUSE_MAX 4

struct refusal {
	struct watch ws, wt;
	int fd, timer_fd; /* -1: a free slot */
	struct vfu_hdr hdr;
	size_t got; /* bytes of its first message read */
};

struct vgpu_device {
	int refcount;
	struct vgpu_provider *provider; /* NULL once destroyed */
	char uuid[VGPU_UUID_LEN + 1];
	struct ptype *type;
	char *socket_path;
	void *userdata;
	pthread_mutex_t lock; /* recursive; see the header */
	/*
	 * The socket's write side: every send on conn_fd, the output queue
	 * (out_*), conn_ev, out_watched, and closing conn_fd.
	 * Taken inside dev->lock or alone, never the other way round, and
	 * nothing under it waits: a reply goes out without the device lock.
	 * A lock of its own (send-lock.h), not a pthread mutex: every reply
	 * takes it, almost always uncontended.
	 */
	int send_lock;
	int listen_fd, conn_fd;
	struct watch wl, wc, wt, wo;
	bool conn_in_epoll; /* dispatch mode: conn_fd is in the provider's epoll */
	uint32_t conn_ev;   /* the events it is watched for */
	bool conn_threaded; /* runner mode: the client has a thread */
	bool out_watched;   /* runner mode: conn_fd is in the epoll set for
			     * EPOLLOUT (output waits), see conn_events() */
	int timer_fd;	    /* the VERSION deadline (dispatch mode), or -1 */
	struct refusal refusals[REFUSE_MAX];
	struct outbuf *out_head, *out_tail;
	size_t out_bytes;
	/* out_head != NULL, for readers without send_lock (atomic) */
	bool out_pending;
	bool versioned;
	struct vfu_caps client_caps;
	struct vfu_reader rx;
	/*
	 * Message-based DMA (see dma_exchange()). While a command is handled,
	 * its payload lives in rx's buffer, so a DMA exchange reads on in
	 * rx_wait (the unread rest of rx moved there: "stashed") and swaps
	 * the two back when the command is done. Commands that arrive in
	 * the meantime wait in the queue, in order.
	 */
	struct vfu_reader rx_wait;
	bool stashed;
	struct qmsg *q_head, *q_tail;
	unsigned int q_len;
	size_t q_bytes;
	uint16_t dma_id; /* our own message ids */
	int conn_err;	 /* a DMA exchange broke the connection */
	bool serving;	 /* a thread is handling this device's messages: */
	pthread_t serving_thread;
	/* with the runner thread, each connection has a thread of its own
	 * that reads the client (see conn_main()) */
	pthread_t conn_thread;
	bool has_conn_thread;
	bool dying; /* being destroyed: do not listen again */
	/* destroyed during a dispatch batch: the provider's reference waits
	 * in p->batch_dead until the batch is done */
	struct vgpu_device *batch_next;
	/*
	 * Quiesce (see vgpu_provider_set_quiesce()): a DMA_UNMAP or a reset
	 * waits in @deferred while the provider finishes (quiescing), and
	 * runs when it called vgpu_device_quiesced() (quiesce_done). DMA
	 * tables of former clients that the provider still pins, or has not
	 * quiesced for (orphan_wait), stay mapped in @orphans until it lets go.
	 */
	bool quiescing, quiesce_done, orphan_wait, conn_stopping;
	struct qmsg *deferred;
	pthread_cond_t quiesce_cond;
	struct vgpu_vec orphans;
	/* the client's DMA_READ/DMA_WRITE layout (dma-async.c) and the
	 * asynchronous transfers: the head of the queue has a message in
	 * flight (aq_hdr, for [aq_addr, aq_addr + aq_count)) when aq_sent */
	enum vfu_dma_layout dma_layout;
	struct dma_op *aq_head, *aq_tail, *done_head, *done_tail;
	bool aq_sent, aq_probe;
	/* the message in flight was for a transfer ended early (quiesce):
	 * its reply is taken and dropped */
	bool aq_stale;
	struct vfu_hdr aq_hdr;
	uint64_t aq_addr, aq_count;
	enum vgpu_migration_state mig;
	struct vgpu_dma_table *dma;
	struct region regions[VFU_MAX_REGIONS];
	struct irq irqs[VFU_PCI_NUM_IRQS];
	uint8_t config[CFG_SPACE];
	uint8_t wmask[CFG_SPACE];
	unsigned int cfg_size, cap_next, cap_last;
	vgpu_region_access_fn cfg_access;
	void *cfg_data;
	struct display_state *display; /* display.c; NULL: none offered */
};

struct vgpu_provider {
	int refcount;
	struct vgpu_ctx *ctx;
	char *id;
	struct vgpu_provider_ops ops;
	void *userdata;
	struct ptype *types;
	size_t n_types;
	struct vgpu_vec devices;
	int epfd, stop_fd;
	struct watch wstop;
	int ctl_fd;  /* the control socket, or -1 */
	int wake_fd; /* vgpu_device_quiesced() from another thread */
	struct watch wwake;
	char *ctl_path;
	struct watch wctl;
	pthread_t thread;
	bool thread_running;
	bool threaded; /* connections get threads; set before the runner starts */
	int dma_timeout_ms;
	/* display watchers closed, freed by the dispatching thread between
	 * two epoll batches (display.c); pushed from any thread */
	struct display_watcher *display_dead;
	int version_timeout_ms;
	vgpu_quiesce_fn quiesce;
	/* vgpu_provider_dispatch() handling a batch (nested: a callback that
	 * dispatches), and the devices destroyed meanwhile; dispatching
	 * thread only */
	unsigned int batch_depth;
	struct vgpu_device *batch_dead;
};

static inline bool valid_id(const char *id)
{
	return vfu_ctl_valid_id(id);
}

/*
 * What a command answers: a handler fills it in, the dispatcher
 * (dispatch.c) sends it once and frees what it owns. The fixed part is
 * copied; the variable part points into the message (reply_body()), at
 * small inline storage or a heap buffer the reply owns.
 */
struct prov_reply {
	uint8_t head[64];
	size_t head_len;
	const void *body;
	size_t body_len;
	void *body_owned; /* freed after sending */
	uint8_t small[64];
	int fd; /* -1, or one fd to pass; the device keeps it */
};

/* reply.c; the small ones inline, every message calls them */
static inline void reply_head(struct prov_reply *rep, const void *p, size_t len)
{
	assert(len <= sizeof(rep->head));
	memcpy(rep->head, p, len);
	rep->head_len = len;
}

/* @p must stay valid until the reply is sent (the message's payload) */
static inline void reply_body(struct prov_reply *rep, const void *p, size_t len)
{
	rep->body = p;
	rep->body_len = len;
}

/* a malloc'ed buffer, now the reply's */
void reply_body_take(struct prov_reply *rep, void *p, size_t len);
/* room for @len bytes of body beyond the inline storage */
void *reply_body_alloc_big(struct prov_reply *rep, size_t len);

/* room for @len bytes of body: inline when small; NULL without memory */
static inline void *reply_body_alloc(struct prov_reply *rep, size_t len)
{
	if (len > sizeof(rep->small))
		return reply_body_alloc_big(rep, len);
	reply_body(rep, rep->small, len);
	return rep->small;
}

int reply_body_copy(struct prov_reply *rep, const void *p, size_t len);

/* a command handler; see the table in dispatch.c */
typedef int (*prov_handler_fn)(struct vgpu_device *dev,
			       const struct vfu_req *req, int *fds,
			       struct prov_reply *rep);

/* the handlers, in the file of their concern */
int handle_version(struct vgpu_device *dev, const struct vfu_req *req, int *fds,
		   struct prov_reply *rep);
int handle_dma_map(struct vgpu_device *dev, const struct vfu_req *req, int *fds,
		   struct prov_reply *rep);
int handle_dma_unmap(struct vgpu_device *dev, const struct vfu_req *req,
		     int *fds, struct prov_reply *rep);
int handle_region_info(struct vgpu_device *dev, const struct vfu_req *req,
		       int *fds, struct prov_reply *rep);
int handle_region_rw(struct vgpu_device *dev, const struct vfu_req *req,
		     int *fds, struct prov_reply *rep);
int handle_write_multi(struct vgpu_device *dev, const struct vfu_req *req,
		       int *fds, struct prov_reply *rep);
int handle_irq_info(struct vgpu_device *dev, const struct vfu_req *req,
		    int *fds, struct prov_reply *rep);
int handle_set_irqs(struct vgpu_device *dev, const struct vfu_req *req,
		    int *fds, struct prov_reply *rep);
int handle_feature(struct vgpu_device *dev, const struct vfu_req *req, int *fds,
		   struct prov_reply *rep);
/* irq.c: one event on a client's eventfd, never blocking */
int irq_signal(int fd);
/* migration.c: whether the device runs (RUNNING, PRE_COPY); dev->lock held */
bool mig_live(const struct vgpu_device *dev);
int handle_mig_data(struct vgpu_device *dev, const struct vfu_req *req,
		    int *fds, struct prov_reply *rep);

/* the connection's send lock (send-lock.h) */
static inline void send_lock(struct vgpu_device *dev)
{
	send_lock_take(&dev->send_lock);
}

static inline void send_unlock(struct vgpu_device *dev)
{
	send_lock_drop(&dev->send_lock);
}

/* conn.c */
/* send without waiting (takes dev->send_lock; a provider thread may send
 * too, with or without dev->lock); what the socket does not take is
 * queued, bounded by CONN_OUTQ_MAX (-ENOBUFS: drop the client); at most
 * one fd */
int conn_send(struct vgpu_device *dev, struct vfu_hdr *hdr,
	      const struct iovec *iov, unsigned int n, const int *fds,
	      unsigned int nfds);
/* send what is queued: 0 when all went, -EAGAIN when some is left */
int conn_flush(struct vgpu_device *dev);
/* runner mode, the dispatching thread: the socket takes output again */
void conn_out_event(struct vgpu_device *dev);
/* whether something waits in the output queue */
bool conn_queued(struct vgpu_device *dev);
int64_t now_ms(void);
void version_timer_fired(struct vgpu_device *dev);
/* the epoll events of the connection, from its state; dev->send_lock held;
 * <0: epoll_ctl() failed, nothing would send the queue on */
int conn_events(struct vgpu_device *dev);
/* run the message that waited for the provider to quiesce, then the rest */
int serve_deferred(struct vgpu_device *dev);
/* whether the peer of @fd has hung up */
bool peer_gone(int fd);
void disconnect(struct vgpu_device *dev);
void conn_lost(struct vgpu_device *dev, int r);
void join_conn_thread(struct vgpu_device *dev);
int accept_client(struct vgpu_device *dev);
void refusals_init(struct vgpu_device *dev);
void refusal_event(struct watch *w);
void refusals_drop(struct vgpu_device *dev);
int serve_one(struct vgpu_device *dev, int flags);

/* ctl-server.c */
void serve_control(struct vgpu_provider *p);

/* provider.c: release the devices destroyed during a dispatch batch */
void batch_release(struct vgpu_provider *p);

/* device.c */
int device_create(struct vgpu_provider *p, const char *type_id,
		  const char *uuid, const char *socket_path,
		  const struct vgpu_device_attr *attrs, size_t n_attrs,
		  struct vgpu_device **ret);

/* display.c */
int display_attach(struct vgpu_provider *p, struct vgpu_device *dev, int fd);
void display_event(struct vgpu_provider *p, struct watch *w);
void display_gone(struct vgpu_device *dev);
void display_free(struct vgpu_device *dev);
void display_reap(struct vgpu_provider *p);

/* dispatch.c: parse and run one message (dev->lock held), the answer in
 * @ans; <0 disconnects (after the answer is sent), except -EINPROGRESS:
 * the message waits for the provider to quiesce (dev->deferred) */
struct prov_answer {
	struct vfu_hdr hdr;
	struct prov_reply rep;
	bool send;
};
int handle_msg(struct vgpu_device *dev, struct vfu_msg *msg,
	       struct prov_answer *ans);

/* dma-async.c; every request goes out through conn_send() */
int dma_send_request(struct vgpu_device *dev, struct vfu_hdr *h, uint64_t addr,
		     void *buf, uint64_t count, bool write);
int dma_send_probe(struct vgpu_device *dev, struct vfu_hdr *h, uint64_t addr);
/* copy to or from a guarded window's mapping (an fd the client could
 * shrink): EFAULT where the file no longer has the page, never SIGBUS */
int dma_guarded_copy(void *win, void *buf, size_t len, bool write);
/* copy one translated piece that has a host address: directly, or guarded
 * where the window's fd could shrink */
int dma_copy_piece(const struct vgpu_dma_sg *sg, void *buf, bool write);
/* a reply for the transfer in flight: 1 taken, 0 not ours, -EPROTO bad */
int dma_async_reply(struct vgpu_device *dev, struct vfu_msg *m);
/* call back the finished transfers (device lock held) */
void dma_async_run_done(struct vgpu_device *dev);
/* the client is gone (or the provider quiesces): every transfer ends
 * with @err, the reply to a message in flight is dropped when it comes */
void dma_async_fail_all(struct vgpu_device *dev, int err);

/* dma.c */
/* the client's DMA table goes: released now, or kept while pinned */
void dma_retire(struct vgpu_device *dev);
/* release the kept tables the provider let go of */
void dma_reap(struct vgpu_device *dev, bool all);
/* ask the provider to quiesce before an unmap, reset or disconnect: 0,
 * -EINPROGRESS (it will call vgpu_device_quiesced()), or its error */
int quiesce_begin(struct vgpu_device *dev);
void queue_free(struct vgpu_device *dev);
void unstash(struct vgpu_device *dev);

/* pci.c */
void config_init(struct vgpu_device *dev);
void put32(uint8_t *p, uint32_t v);
void bars_fixup(struct vgpu_device *dev);
int config_access(struct vgpu_device *dev, uint64_t off, void *buf,
		  uint32_t count, bool write);

/* provider.c */
int runtime_subdir(struct vgpu_provider *p, char **ret);
struct ptype *find_type(struct vgpu_provider *p, const char *id);

/* region.c */
uint32_t num_regions(const struct vgpu_device *dev);
int region_client_fd(struct region *r);

#endif
