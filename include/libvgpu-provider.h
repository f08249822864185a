/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvgpu provider API: write a vGPU device model in user space and let
 * libvgpu serve it to a VMM (QEMU's vfio-user-pci, or any vfio-user client).
 *
 * Model: a struct vgpu_provider is one parent with its types. Creating a
 * device of a type calls the vendor's create callback, which declares the
 * device's PCI identity, regions and interrupts; libvgpu then listens on one
 * vfio-user socket for the device. One client at a time; when it goes away
 * its DMA windows are unmapped, its eventfds closed and the device stays,
 * ready for the next connection (windows the vendor still pins stay mapped
 * until unpinned). A client may be hostile: see docs/vfio-user.md, "Hostile
 * clients", for what is checked.
 *
 * Threads: the provider's callbacks run on the thread that calls
 * vgpu_provider_dispatch(). With vgpu_provider_start_thread() the runner
 * thread accepts clients and each connected client gets a thread of its
 * own that blocks on its socket: a device's callbacks then run on its
 * client's thread, callbacks of different devices may run at the same
 * time, and create/destroy run on the runner thread.
 * vgpu_device_irq_trigger() and the vgpu_device_dma_*() functions may be
 * called from any thread; they take the
 * device's lock, which the dispatcher holds while it handles a message (it
 * is recursive, so callbacks may call them too). Everything else follows the
 * library rule: one object, one thread.
 *
 * DMA windows the client mapped without an fd are reached with DMA_READ/
 * DMA_WRITE messages on the client's socket, whose messages only the thread
 * handling them reads. So vgpu_device_dma_read()/_write() reach such a
 * window only from inside a callback of the same device, on the thread
 * that called it (the dispatcher, or the client's thread with the runner);
 * from anywhere else they give -EREMOTE. The callback blocks until the
 * client answers (vgpu_provider_set_dma_timeout()); client commands that
 * arrive meanwhile are handled after the callback's command, in order.
 *
 * Same conventions as libvgpu.h: 0 or a negative errno, references, @since.
 */
#ifndef LIBVGPU_PROVIDER_H
#define LIBVGPU_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "libvgpu.h"

#ifdef __cplusplus
extern "C" {
#endif

struct vgpu_provider;
struct vgpu_device;

/* enum vgpu_region_index and enum vgpu_irq_index: in libvgpu.h */

/* enum vgpu_migration_state (VFIO migration v2's numbers): in libvgpu.h,
 * shared with the device handle's migration API */

/* region flags for vgpu_device_setup_region() */
#define VGPU_REGION_F_READ  (1u << 0)
#define VGPU_REGION_F_WRITE (1u << 1)
/* backed by shared memory (a memfd) the client may mmap */
#define VGPU_REGION_F_MEM (1u << 2)
/* BAR flags, reflected in config space */
#define VGPU_REGION_F_64BIT    (1u << 3)
#define VGPU_REGION_F_PREFETCH (1u << 4)
#define VGPU_REGION_F_IO       (1u << 5)

/* DMA protection (VGPU_DMA_READ, VGPU_DMA_WRITE): in libvgpu.h */

/**
 * vgpu_region_access_fn - a trapped region access
 * @dev: the device
 * @region: the region index
 * @offset: offset inside the region; [offset, offset + count) is inside it
 * @buf: data to write, or where to put the data read
 * @count: bytes (1..1 MiB; config and MMIO accesses are usually 1, 2, 4, 8)
 * @is_write: true for writes
 * @userdata: the pointer given to vgpu_device_setup_region()
 *
 * For the config space region the library emulates the standard header and
 * capabilities itself and calls this after applying a write, or before
 * answering a read (the function may then fill @buf with its own value).
 * Returns: 0, or a negative errno sent back to the client.
 */
typedef int (*vgpu_region_access_fn)(struct vgpu_device *dev,
				     unsigned int region, uint64_t offset,
				     void *buf, uint32_t count, bool is_write,
				     void *userdata);

/**
 * struct vgpu_device_usage - what a device has used, for management
 * @size: sizeof(struct vgpu_device_usage), set by the library
 * @reported: one bit per counter filled in: 1 << VGPU_USAGE_* (libvgpu.h's
 *            enum vgpu_usage_counter); the vendor sets the bits
 * @engine_busy_ns: time an engine ran the device's work
 * @work_items: work items (jobs, command buffers) completed
 * @dma_bytes: bytes moved to and from guest memory
 * @interrupts: interrupts raised to the guest
 * @fb_bytes: framebuffer memory the device holds (a gauge)
 * @frames: frames presented on its display
 *
 * Counters grow for the device's life. Since 0.2.
 */
struct vgpu_device_usage {
	size_t size;
	uint32_t reported;
	uint64_t engine_busy_ns;
	uint64_t work_items;
	uint64_t dma_bytes;
	uint64_t interrupts;
	uint64_t fb_bytes;
	uint64_t frames;
};

/**
 * struct vgpu_device_attr - one attribute given at creation
 * @key: the name, [A-Za-z0-9_./-]{1,64}
 * @value: the value, any text without control characters
 *
 * Since 0.2.
 */
struct vgpu_device_attr {
	const char *key;
	const char *value;
};

/**
 * struct vgpu_provider_ops - what the vendor implements
 * @size: sizeof(struct vgpu_provider_ops) as compiled by the caller; lets
 *        the struct grow without breaking the ABI
 * @create: configure a new device of @type_id (regions, IRQs, PCI ids);
 *          a negative errno cancels the creation
 * @destroy: the device is going away (optional)
 * @reset: the client asked for a device reset (optional)
 * @irq_mask: the client masked or unmasked vectors (optional)
 * @dma_map: a DMA window appeared (optional)
 * @dma_unmap: a DMA window is about to disappear; it is unpinned (optional)
 * @available: how many more devices of @type_id the vendor's resources
 *             allow (optional; the library takes the smaller of this and
 *             what the type's max_instances leaves)
 * @migration_state: enter @state (optional; without it the device does not
 *             offer migration). The library walks the client's request
 *             one VFIO arc at a time (RUNNING<->STOP, RUNNING<->PRE_COPY,
 *             PRE_COPY->STOP_COPY, STOP<->STOP_COPY, STOP<->RESUMING), never
 *             through a saving state in the middle; an error puts the
 *             device in VGPU_MIG_ERROR until the client resets it. Leaving
 *             RESUMING for STOP is where the loaded data is to be checked.
 *             Entering STOP or STOP_COPY, the device must stop its DMA and
 *             its writes to guest memory before returning; interrupts it
 *             raises while stopped are held by the library (see
 *             vgpu_device_irq_trigger()). It runs with the device's lock
 *             held: never wait here for a thread that may be waiting to
 *             call vgpu_device_dma_*() or vgpu_device_irq_trigger().
 * @migration_read: the next bytes of the device state (PRE_COPY and
 *             STOP_COPY): fill up to @len bytes of @buf, return how many,
 *             0 at the end of the stream (for now), or a negative errno
 * @migration_write: consume all @len bytes of saved state (RESUMING);
 *             0 or a negative errno
 * @qos_set: (since 0.2, optional) management sets QoS knob @knob (an enum
 *             vgpu_qos_knob of libvgpu.h: time slice, preemption timeout,
 *             priority, weight, frame-rate limit) to @value, already
 *             checked against the knob's range (vgpu_qos_check_value());
 *             0 when in effect, -EOPNOTSUPP for a knob the device does not
 *             have, -ERANGE for a value it cannot honour. Without it,
 *             every knob is -EOPNOTSUPP.
 * @qos_get: (since 0.2, optional) the value of @knob now; -EOPNOTSUPP for
 *             a knob the device does not have, -ENODATA when unknown
 * @usage: (since 0.2, optional) fill in what the device has used (see
 *             struct vgpu_device_usage); counters left out are "not
 *             reported" to management, never 0
 * @create_attrs: (since 0.2, optional) like @create, with the attributes
 *             management gave (mdevctl's --attr KEY=VALUE, in order; @n
 *             may be 0). When set it is called instead of @create; an
 *             attribute the vendor does not know should fail the creation
 *             (-EINVAL). Without it, a creation with attributes is refused
 *             with -EOPNOTSUPP.
 *
 * Pinned windows (vgpu_device_dma_pin()) are never unmapped under the
 * provider: when the client disconnects, windows still pinned (or, after
 * -EBUSY from the quiesce callback, see vgpu_provider_set_quiesce(), all
 * windows until vgpu_device_quiesced()) stay mapped in this process, out
 * of reach of any new client, until the last vgpu_device_dma_unpin();
 * @dma_unmap is called then.
 *
 * Every callback receives the userdata given to vgpu_provider_new().
 */
struct vgpu_provider_ops {
	size_t size;
	int (*create)(struct vgpu_device *dev, const char *type_id,
		      void *userdata);
	void (*destroy)(struct vgpu_device *dev, void *userdata);
	int (*reset)(struct vgpu_device *dev, void *userdata);
	void (*irq_mask)(struct vgpu_device *dev, unsigned int index,
			 unsigned int start, unsigned int count, bool masked,
			 void *userdata);
	void (*dma_map)(struct vgpu_device *dev, uint64_t iova, uint64_t len,
			uint32_t prot, void *userdata);
	void (*dma_unmap)(struct vgpu_device *dev, uint64_t iova, uint64_t len,
			  void *userdata);
	int (*available)(struct vgpu_provider *provider, const char *type_id,
			 void *userdata);
	int (*migration_state)(struct vgpu_device *dev,
			       enum vgpu_migration_state state, void *userdata);
	ssize_t (*migration_read)(struct vgpu_device *dev, void *buf,
				  size_t len, void *userdata);
	int (*migration_write)(struct vgpu_device *dev, const void *buf,
			       size_t len, void *userdata);
	int (*qos_set)(struct vgpu_device *dev, unsigned int knob,
		       uint64_t value, void *userdata);
	int (*qos_get)(struct vgpu_device *dev, unsigned int knob,
		       uint64_t *value, void *userdata);
	int (*usage)(struct vgpu_device *dev, struct vgpu_device_usage *usage,
		     void *userdata);
	int (*create_attrs)(struct vgpu_device *dev, const char *type_id,
			    const struct vgpu_device_attr *attrs, size_t n,
			    void *userdata);
};

/**
 * vgpu_provider_new - register a parent served from this process
 * @ctx: the context
 * @id: the parent's id (1..64 characters of [A-Za-z0-9_.:-])
 * @ops: the vendor's callbacks; @ops->size must be set and @ops->create is
 *       required; unknown non-zero trailing bytes give -E2BIG
 * @userdata: passed to every callback
 * @ret: receives the provider (one reference)
 * Returns: 0, -EINVAL, -E2BIG, -ENOMEM, or the error of epoll_create1().
 * @since: 0.1
 */
int vgpu_provider_new(struct vgpu_ctx *ctx, const char *id,
		      const struct vgpu_provider_ops *ops, void *userdata,
		      struct vgpu_provider **ret);

/**
 * vgpu_provider_ref - take a reference
 * @provider: the provider, or NULL
 * Returns: @provider.
 * @since: 0.1
 */
struct vgpu_provider *vgpu_provider_ref(struct vgpu_provider *provider);

/**
 * vgpu_provider_unref - drop a reference
 * @provider: the provider, or NULL
 *
 * The last reference stops the runner thread and destroys every device.
 * Returns: NULL when it was freed, @provider otherwise.
 * @since: 0.1
 */
struct vgpu_provider *vgpu_provider_unref(struct vgpu_provider *provider);

/**
 * vgpu_provider_get_id - the parent id
 * @provider: the provider
 * Returns: the id.
 * @since: 0.1
 */
const char *vgpu_provider_get_id(struct vgpu_provider *provider);

/**
 * vgpu_provider_add_type - offer an instance type
 * @provider: the provider
 * @id: the type id (same character set as parent ids)
 * @name: human readable name, or NULL
 * @description: free text ("key=value, ..." is parsed like NVIDIA's), or NULL
 * @max_instances: how many devices of this type may exist at once (>= 1)
 * Returns: 0, -EINVAL, -EEXIST when the id is taken, -ENOMEM.
 * @since: 0.1
 */
int vgpu_provider_add_type(struct vgpu_provider *provider, const char *id,
			   const char *name, const char *description,
			   unsigned int max_instances);

/**
 * vgpu_provider_get_available - how many more devices of a type fit
 * @provider: the provider
 * @type_id: the type
 * Returns: the count (>= 0), or -ENOENT for an unknown type.
 * @since: 0.1
 */
int vgpu_provider_get_available(struct vgpu_provider *provider,
				const char *type_id);

/**
 * vgpu_provider_create_device - create a device and listen for its client
 * @provider: the provider
 * @type_id: the type
 * @uuid: the device's UUID (any case; stored lower case)
 * @socket_path: where to bind the vfio-user socket; NULL means
 *               "RUNTIME_DIR/vfio-user/UUID.sock" in the context's runtime
 *               directory. An existing socket file is replaced.
 * @ret: receives the device (one reference; the provider keeps its own
 *       until vgpu_device_destroy()), or NULL
 * Returns: 0, -EINVAL, -ENOENT (unknown type), -ENOSPC (no instance left),
 *          -EEXIST (UUID taken), the create callback's error, or the error
 *          of socket()/bind()/listen().
 * @since: 0.1
 */
int vgpu_provider_create_device(struct vgpu_provider *provider,
				const char *type_id, const char *uuid,
				const char *socket_path,
				struct vgpu_device **ret);

/**
 * vgpu_provider_listen_control - let management reach this provider
 * @provider: the provider
 * @path: where to bind the control socket; NULL means
 *        "RUNTIME_DIR/vfio-user/PARENT.ctl", where libvgpu's "vfio-user"
 *        backend (and so vgpuctl parents, types, create, remove, list)
 *        looks for providers
 *
 * The socket is mode 0600 and served from the provider's event loop
 * (vgpu_provider_dispatch() or the runner thread); only root and the
 * provider's effective user are answered (SO_PEERCRED), others are
 * disconnected. A connection carries one request and has one second to
 * send the whole request line (however slowly it arrives: the limit is per
 * request, not per read), then one second to take the reply; a peer that
 * misses either is dropped. Devices created through it listen at their
 * default path.
 * Returns: 0, -EINVAL, -EALREADY, -ENAMETOOLONG, -ENOMEM, or the error of
 *          socket()/bind()/chmod()/listen().
 * @since: 0.1
 */
int vgpu_provider_listen_control(struct vgpu_provider *provider,
				 const char *path);

/**
 * vgpu_provider_get_fd - a descriptor to poll for POLLIN
 * @provider: the provider
 * Returns: an epoll descriptor owned by the provider.
 * @since: 0.1
 */
int vgpu_provider_get_fd(struct vgpu_provider *provider);

/**
 * vgpu_provider_dispatch - accept connections and handle client messages
 * @provider: the provider
 * @timeout_ms: how long to wait for work (0: do not block, -1: forever)
 *
 * A malformed message gets an error reply; a message that breaks the
 * framing, or a client that vanishes, disconnects that client only.
 * Returns: the number of events handled (>= 0), or a negative errno.
 * @since: 0.1
 */
int vgpu_provider_dispatch(struct vgpu_provider *provider, int timeout_ms);

/**
 * vgpu_provider_start_thread - dispatch on a thread of the library's own
 * @provider: the provider
 *
 * The runner accepts clients and serves each on a thread of its own, which
 * blocks in recvmsg(): one system call in and one out per message, no
 * epoll_wait() (see the threads note at the top). While it runs, only
 * vgpu_provider_stop_thread(), vgpu_device_irq_trigger(), the
 * vgpu_device_dma_*() functions, vgpu_device_quiesced() and the
 * vgpu_provider_set_*_timeout() functions may be called from other threads.
 * Returns: 0, -EALREADY, or the error of pthread_create().
 * @since: 0.1
 */
int vgpu_provider_start_thread(struct vgpu_provider *provider);

/**
 * vgpu_provider_set_dma_timeout - how long a DMA_READ/DMA_WRITE may wait
 * @provider: the provider
 * @ms: milliseconds, 1..3600000 (default 5000, QEMU's message time limit)
 *
 * A client that has not answered a DMA_READ/DMA_WRITE within @ms is
 * dropped and the vgpu_device_dma_read()/_write() call gives -ETIMEDOUT.
 * Any thread may call this.
 * Returns: 0, -EINVAL.
 * @since: 0.1
 */
int vgpu_provider_set_dma_timeout(struct vgpu_provider *provider,
				  unsigned int ms);

/**
 * vgpu_quiesce_fn - stop DMA to guest memory
 * @dev: the device
 * @userdata: the userdata given to vgpu_provider_new()
 *
 * See vgpu_provider_set_quiesce().
 * Returns: 0 when quiesced, -EBUSY when vgpu_device_quiesced() will follow,
 *          or another negative errno to refuse the operation.
 */
typedef int (*vgpu_quiesce_fn)(struct vgpu_device *dev, void *userdata);

/**
 * vgpu_provider_set_quiesce - be asked to quiesce before DMA goes away
 * @provider: the provider
 * @fn: the callback, or NULL (the default: operations go on at once, and
 *      an unmap of a pinned window is refused with EBUSY)
 *
 * @fn is called before a client's DMA_UNMAP or DEVICE_RESET is carried out
 * and before a disconnect releases the client's DMA windows. It returns 0
 * when the device has no DMA in flight any more (and has unpinned what the
 * operation touches), or -EBUSY to say "I will call vgpu_device_quiesced()
 * when done": the operation then waits, and the client's later messages
 * wait behind it (other devices are not affected; a disconnect completes
 * for the client at once, only the release of its windows waits). Any
 * other negative errno refuses an unmap or reset with that error.
 *
 * @fn runs with the device lock held, on the device's dispatching thread:
 * it must not wait there for a thread that calls vgpu_device_*() functions
 * (that thread would wait for the lock); it returns -EBUSY instead and that
 * thread calls vgpu_device_quiesced(). Set it before devices serve clients.
 * Returns: 0, -EINVAL.
 * @since: 0.2
 */
int vgpu_provider_set_quiesce(struct vgpu_provider *provider,
			      vgpu_quiesce_fn fn);

/**
 * vgpu_provider_set_version_timeout - how long a new client may take to
 *                                     negotiate
 * @provider: the provider
 * @ms: milliseconds, 1..3600000 (default 5000)
 *
 * A client that has not completed VERSION within @ms of connecting is
 * dropped, so that a peer which connects and stays silent (or sends half a
 * message) does not hold the device's one connection for ever. Applies to
 * connections accepted afterwards. Any thread may call this.
 * Returns: 0, -EINVAL.
 * @since: 0.2
 */
int vgpu_provider_set_version_timeout(struct vgpu_provider *provider,
				      unsigned int ms);

/**
 * vgpu_provider_stop_thread - stop and join the runner thread
 * @provider: the provider
 *
 * Clients served by the runner's threads are disconnected; their devices
 * stay and listen for the next client.
 * Returns: 0, or -ESRCH when no thread runs.
 * @since: 0.1
 */
int vgpu_provider_stop_thread(struct vgpu_provider *provider);

/**
 * vgpu_device_ref - take a reference
 * @dev: the device, or NULL
 * Returns: @dev.
 * @since: 0.1
 */
struct vgpu_device *vgpu_device_ref(struct vgpu_device *dev);

/**
 * vgpu_device_unref - drop a reference
 * @dev: the device, or NULL
 * Returns: NULL when it was freed, @dev otherwise.
 * @since: 0.1
 */
struct vgpu_device *vgpu_device_unref(struct vgpu_device *dev);

/**
 * vgpu_device_destroy - disconnect the client, call destroy, remove the socket
 * @dev: the device; the caller's reference stays valid (unref it after)
 * Returns: 0, or -ENODEV when it was destroyed already.
 * @since: 0.1
 */
int vgpu_device_destroy(struct vgpu_device *dev);

/**
 * vgpu_device_get_uuid - the device's UUID
 * @dev: the device
 * Returns: the lower-case UUID.
 * @since: 0.1
 */
const char *vgpu_device_get_uuid(struct vgpu_device *dev);

/**
 * vgpu_device_get_type_id - the device's type
 * @dev: the device
 * Returns: the type id.
 * @since: 0.1
 */
const char *vgpu_device_get_type_id(struct vgpu_device *dev);

/**
 * vgpu_device_get_socket_path - where the device's vfio-user socket is
 * @dev: the device
 * Returns: the path (NULL before the create callback returned).
 * @since: 0.1
 */
const char *vgpu_device_get_socket_path(struct vgpu_device *dev);

/**
 * vgpu_device_set_userdata - attach a vendor pointer to the device
 * @dev: the device
 * @userdata: any pointer
 * @since: 0.1
 */
void vgpu_device_set_userdata(struct vgpu_device *dev, void *userdata);

/**
 * vgpu_device_get_userdata - the pointer given to vgpu_device_set_userdata()
 * @dev: the device
 * Returns: the pointer, or NULL.
 * @since: 0.1
 */
void *vgpu_device_get_userdata(struct vgpu_device *dev);

/**
 * vgpu_device_is_connected - whether a client is attached
 * @dev: the device
 * Returns: true while a client is connected.
 * @since: 0.1
 */
bool vgpu_device_is_connected(struct vgpu_device *dev);

/**
 * vgpu_device_set_pci_ids - write the PCI identity into config space
 * @dev: the device
 * @vendor: vendor id
 * @device: device id
 * @subsystem_vendor: subsystem vendor id
 * @subsystem_device: subsystem id
 * @class_code: 24-bit class code (0x030000 for a VGA controller)
 * @revision: revision id
 * Returns: 0, -EINVAL.
 * @since: 0.1
 */
int vgpu_device_set_pci_ids(struct vgpu_device *dev, uint16_t vendor,
			    uint16_t device, uint16_t subsystem_vendor,
			    uint16_t subsystem_device, uint32_t class_code,
			    uint8_t revision);

/**
 * vgpu_device_setup_region - declare a BAR, the ROM or a VGA region
 * @dev: the device
 * @index: VGPU_REGION_BAR0..VGPU_REGION_VGA except VGPU_REGION_CONFIG (use
 *         vgpu_device_set_config_access() for it)
 * @size: bytes; BARs must be a power of two >= 16 (any size up to 2^63,
 *        above 4 GiB with VGPU_REGION_F_64BIT)
 * @flags: VGPU_REGION_F_*; with VGPU_REGION_F_MEM the region is shared
 *         memory the client may mmap (see vgpu_device_region_get_mem())
 * @access: trapped accesses, or NULL: accesses to a memory region then go
 *          to the memory, and other regions read as zero and ignore writes
 * @userdata: passed to @access
 * Returns: 0, -EINVAL, -EEXIST when set up already, -ENOMEM, or the error of
 *          memfd_create()/ftruncate()/mmap().
 * @since: 0.1
 */
int vgpu_device_setup_region(struct vgpu_device *dev, unsigned int index,
			     uint64_t size, uint32_t flags,
			     vgpu_region_access_fn access, void *userdata);

/**
 * vgpu_device_region_get_mem - the memory behind a VGPU_REGION_F_MEM region
 * @dev: the device
 * @index: the region
 * @ret: receives the address of the region's first byte in this process
 * Returns: 0, -EINVAL, -ENOENT when the region has no memory.
 * @since: 0.1
 */
int vgpu_device_region_get_mem(struct vgpu_device *dev, unsigned int index,
			       void **ret);

/**
 * vgpu_device_region_set_type - give a device-specific region a type
 * @dev: the device
 * @index: a region set up at index 9..15 (device-specific regions, after
 *         the PCI ones; vgpu_device_setup_region() accepts them without
 *         BAR flags)
 * @type: the VFIO region type the client sees in the type capability
 * @subtype: the subtype
 *
 * libvgpu's display convention is one such region: type
 * VGPU_REGION_TYPE_GFX, subtype VGPU_REGION_SUBTYPE_GFX_PLANE, read-only,
 * VGPU_PLANE_DESC_SIZE bytes or more of little-endian 32-bit fields at the
 * VGPU_PLANE_DESC_* offsets. libvgpu's client answers
 * vgpu_handle_query_plane() (and so vgpuctl screenshot) from it.
 * Returns: 0, -EINVAL (not a device-specific index), -ENOENT (not set up).
 * @since: 0.1
 */
int vgpu_device_region_set_type(struct vgpu_device *dev, unsigned int index,
				uint32_t type, uint32_t subtype);

/* the display plane region (see vgpu_device_region_set_type()) */
#define VGPU_REGION_TYPE_GFX	      1u	  /* VFIO_REGION_TYPE_GFX */
#define VGPU_REGION_SUBTYPE_GFX_PLANE 0x6c760001u /* libvgpu's own */
#define VGPU_PLANE_DESC_VERSION	      0x00	  /* reads 1 */
#define VGPU_PLANE_DESC_FORMAT	      0x04 /* DRM fourcc, 0: nothing shown */
#define VGPU_PLANE_DESC_WIDTH	      0x08 /* pixels */
#define VGPU_PLANE_DESC_HEIGHT	      0x0c /* pixels */
#define VGPU_PLANE_DESC_STRIDE	      0x10 /* bytes per line */
#define VGPU_PLANE_DESC_REGION	      0x14 /* the region holding the pixels at 0 */
#define VGPU_PLANE_DESC_SIZE	      0x18

/**
 * vgpu_device_region_add_sparse - allow the client to mmap part of a region
 * @dev: the device
 * @index: a VGPU_REGION_F_MEM region
 * @offset: start of the area (page aligned)
 * @size: length of the area (page aligned, > 0)
 *
 * Without any area the whole region is mmap-able. With areas, the client is
 * told (sparse-mmap capability) to map only those and to trap the rest
 * through @access. Areas must not overlap.
 * Returns: 0, -EINVAL, -EEXIST for an overlap, -ENOMEM.
 * @since: 0.1
 */
int vgpu_device_region_add_sparse(struct vgpu_device *dev, unsigned int index,
				  uint64_t offset, uint64_t size);

/**
 * vgpu_device_set_config_access - be told about config space accesses
 * @dev: the device
 * @access: called for every config access, see vgpu_region_access_fn
 * @userdata: passed to @access
 * Returns: 0, -EINVAL.
 * @since: 0.1
 */
int vgpu_device_set_config_access(struct vgpu_device *dev,
				  vgpu_region_access_fn access, void *userdata);

/**
 * vgpu_device_get_config - the emulated config space
 * @dev: the device
 * @ret: receives its first byte (4096 bytes, of which the client sees 256,
 *       or 4096 once a PCIe capability was added)
 *
 * Write to it only from the dispatching thread or before clients connect.
 * Returns: 0, -EINVAL.
 * @since: 0.1
 */
int vgpu_device_get_config(struct vgpu_device *dev, uint8_t **ret);

/**
 * vgpu_device_add_cap - append a PCI capability to config space
 * @dev: the device
 * @cap_id: the PCI capability id
 * @size: its length in bytes including the 2-byte header (>= 2)
 * @ret: receives the capability's offset in config space, or NULL
 *
 * The header (id, next pointer) is filled in and the list linked; the rest
 * is zero and read-only to the client unless a helper made it writable.
 * Returns: 0, -EINVAL, -ENOSPC when the 256-byte space is full.
 * @since: 0.1
 */
int vgpu_device_add_cap(struct vgpu_device *dev, uint8_t cap_id, size_t size,
			unsigned int *ret);

/**
 * vgpu_device_add_cap_msi - add an MSI capability (64-bit addresses)
 * @dev: the device
 * @nvec: vectors (1, 2, 4, 8, 16 or 32)
 * @ret: receives the offset, or NULL
 * Returns: 0, -EINVAL, -ENOSPC.
 * @since: 0.1
 */
int vgpu_device_add_cap_msi(struct vgpu_device *dev, unsigned int nvec,
			    unsigned int *ret);

/**
 * vgpu_device_add_cap_msix - add an MSI-X capability
 * @dev: the device
 * @nvec: vectors (1..2048)
 * @table_bar: BAR index holding the table
 * @table_offset: offset of the table in that BAR (8-byte aligned)
 * @pba_bar: BAR index holding the pending bit array
 * @pba_offset: offset of the PBA (8-byte aligned)
 * @ret: receives the offset, or NULL
 * Returns: 0, -EINVAL, -ENOSPC.
 * @since: 0.1
 */
int vgpu_device_add_cap_msix(struct vgpu_device *dev, unsigned int nvec,
			     unsigned int table_bar, uint32_t table_offset,
			     unsigned int pba_bar, uint32_t pba_offset,
			     unsigned int *ret);

/**
 * vgpu_device_add_cap_pcie - add a PCI Express endpoint capability
 * @dev: the device
 * @ret: receives the offset, or NULL
 *
 * Config space grows to 4096 bytes.
 * Returns: 0, -EINVAL, -ENOSPC.
 * @since: 0.1
 */
int vgpu_device_add_cap_pcie(struct vgpu_device *dev, unsigned int *ret);

/**
 * vgpu_device_setup_irq - declare how many vectors an interrupt type has
 * @dev: the device
 * @index: an enum vgpu_irq_index value
 * @count: vectors (INTx, ERR and REQ: 0 or 1; MSI: up to 32; MSI-X: up to
 *         2048)
 * Returns: 0, -EINVAL, -ENOMEM.
 * @since: 0.1
 */
int vgpu_device_setup_irq(struct vgpu_device *dev, unsigned int index,
			  unsigned int count);

/**
 * vgpu_device_irq_get_state - an interrupt vector's mask and pending bits
 * @dev: the device
 * @index: an enum vgpu_irq_index value
 * @vector: the vector
 * @masked: receives whether the client masked it
 * @pending: receives whether it was raised while masked, or while the
 *           device was stopped for migration, and not delivered yet
 *
 * For a vendor's migration stream: what the client set up and what the
 * device owes it travels with the device. Callable from any thread.
 * Returns: 0, -EINVAL, -ERANGE (no such vector).
 * @since: 0.2
 */
int vgpu_device_irq_get_state(struct vgpu_device *dev, unsigned int index,
			      unsigned int vector, bool *masked, bool *pending);

/**
 * vgpu_device_irq_set_state - restore a vector's mask and pending bits
 * @dev: the device, stopped for migration (RESUMING, STOP, ...)
 * @index: an enum vgpu_irq_index value
 * @vector: the vector
 * @masked: masked by the client
 * @pending: owed to the client: signalled when the device runs again
 *           (if not masked and an eventfd is attached), else on unmask
 * Returns: 0, -EINVAL, -ERANGE (no such vector), -EBUSY (the device is
 *          running: restore state while it is stopped).
 * @since: 0.2
 */
int vgpu_device_irq_set_state(struct vgpu_device *dev, unsigned int index,
			      unsigned int vector, bool masked, bool pending);

/**
 * vgpu_device_irq_trigger - raise an interrupt
 * @dev: the device
 * @index: the interrupt type
 * @vector: the vector
 *
 * Writes the client's eventfd, without ever blocking: the library takes
 * only eventfds from the client (SET_IRQS with any other fd gets EINVAL)
 * and keeps them non-blocking; a counter the client let fill up means the
 * interrupt is pending already (0 is returned). A masked vector is marked
 * pending and raised when the client unmasks it; so is any vector while the
 * device is stopped for migration (STOP, STOP_COPY, RESUMING: raised when it
 * runs again, or carried to the destination with vgpu_device_irq_get_state()).
 * Any thread may call this.
 * Returns: 0, -EINVAL for a vector out of range, -ENOTCONN when the client
 *          gave no eventfd for the vector (the interrupt is dropped),
 *          -EAGAIN when it was left pending because masked or stopped.
 * @since: 0.1
 */
int vgpu_device_irq_trigger(struct vgpu_device *dev, unsigned int index,
			    unsigned int vector);

/**
 * vgpu_device_dma_read - copy from guest memory
 * @dev: the device
 * @iova: guest I/O virtual address
 * @buf: destination
 * @len: bytes
 *
 * Any thread may call this. The parts of the range in windows the client
 * mapped with an fd are copied directly; the parts in windows without one
 * are read with DMA_READ messages (split at the client's
 * max_data_xfer_size), which works only from inside a callback of @dev on
 * its dispatching thread (see the threads note at the top): elsewhere
 * -EREMOTE. The whole range is checked before anything is copied.
 * Returns: 0, -EFAULT when part of the range is not mapped, -EACCES when a
 *          window does not allow reading, -EREMOTE, -EINVAL; for message
 *          windows also the client's errno from an error reply, and, with
 *          the client dropped, -ETIMEDOUT (no answer in time), -EPROTO (a
 *          malformed reply or one that is not ours), -ECONNRESET (the
 *          client went away), -ENOBUFS (more than 64 commands or 4 MiB
 *          sent while we waited).
 * @since: 0.1
 */
int vgpu_device_dma_read(struct vgpu_device *dev, uint64_t iova, void *buf,
			 size_t len);

/**
 * vgpu_device_dma_write - copy to guest memory
 * @dev: the device
 * @iova: guest I/O virtual address
 * @buf: source
 * @len: bytes
 *
 * As vgpu_device_dma_read(), with DMA_WRITE messages for windows without
 * an fd; the pages written are marked dirty while the client has dirty
 * logging on.
 * Returns: 0, or the errors of vgpu_device_dma_read().
 * @since: 0.1
 */
int vgpu_device_dma_write(struct vgpu_device *dev, uint64_t iova,
			  const void *buf, size_t len);

/**
 * vgpu_dma_done_fn - the end of an asynchronous DMA transfer
 * @dev: the device
 * @status: 0, or a negative errno: the client's from an error reply,
 *          -ECONNRESET when the client went away (or the device is being
 *          destroyed) first, -ECANCELED when the library asked the
 *          provider to quiesce first (vgpu_provider_set_quiesce())
 * @userdata: as given to vgpu_device_dma_read_async()/_write_async()
 *
 * Called with the device lock held, so it may touch the device's state,
 * raise interrupts and start more transfers.
 * @since: 0.2
 */
typedef void (*vgpu_dma_done_fn)(struct vgpu_device *dev, int status,
				 void *userdata);

/**
 * vgpu_device_dma_read_async - copy from guest memory without waiting
 * @dev: the device
 * @iova: guest I/O virtual address
 * @buf: destination; must stay valid until @done is called
 * @len: bytes (> 0)
 * @done: called once when the transfer is over
 * @userdata: for @done
 *
 * The way to do DMA from a trapped access (a doorbell write): start the
 * transfer, return from the callback, finish the work in @done. The parts
 * of the range in windows the client mapped with an fd are copied at once;
 * when that is all of it, @done is called before this returns. Otherwise
 * the rest goes out as DMA_READ messages (one in flight per device, in the
 * order the transfers were started, split at the client's
 * max_data_xfer_size) and @done is called on the thread that serves the
 * device's connection when the last reply has arrived; meanwhile the
 * client's commands are handled as usual. A client must answer a command
 * before it can serve our requests (QEMU's vCPU holds its big lock while
 * it waits for our reply), so waiting inside a callback — what
 * vgpu_device_dma_read() does — stalls both sides; this does not. Any
 * thread may call this. The client's DMA_READ/DMA_WRITE layout (the
 * spec's, or QEMU's) is found out on the first message transfer of a
 * connection. A client that never answers keeps its transfers pending
 * until it goes away; there is no time limit. The messages never wait
 * for the client: what its socket does not take is queued (bounded; a
 * client that does not read is dropped). A quiesce ends the transfers in
 * flight with -ECANCELED before the quiesce callback is called.
 * Returns: 0 (@done will be called), or, without calling @done: -EFAULT
 *          when part of the range is not mapped, -EACCES when a window
 *          does not allow reading, -ENOTCONN when part of it needs messages
 *          and no client is connected, -EBUSY while the provider is asked
 *          to quiesce (until vgpu_device_quiesced()), -ENODEV for a device
 *          being destroyed, -EINVAL, -ENOMEM.
 * @since: 0.2
 */
int vgpu_device_dma_read_async(struct vgpu_device *dev, uint64_t iova,
			       void *buf, size_t len, vgpu_dma_done_fn done,
			       void *userdata);

/**
 * vgpu_device_dma_write_async - copy to guest memory without waiting
 * @dev: the device
 * @iova: guest I/O virtual address
 * @buf: source; must stay valid until @done is called
 * @len: bytes (> 0)
 * @done: called once when the transfer is over
 * @userdata: for @done
 *
 * As vgpu_device_dma_read_async(), with DMA_WRITE messages for windows
 * without an fd; the mapped pages written are marked dirty while the
 * client has dirty logging on.
 * Returns: as vgpu_device_dma_read_async(), -EACCES for a window that does
 *          not allow writing.
 * @since: 0.2
 */
int vgpu_device_dma_write_async(struct vgpu_device *dev, uint64_t iova,
				const void *buf, size_t len,
				vgpu_dma_done_fn done, void *userdata);

/**
 * vgpu_device_dma_pin - map a guest range into this process and hold it
 * @dev: the device
 * @iova: guest I/O virtual address
 * @len: bytes (> 0)
 * @prot: VGPU_DMA_READ and/or VGPU_DMA_WRITE
 * @iov: receives one host segment per DMA window crossed
 * @max: entries in @iov
 *
 * While pinned, the client's DMA_UNMAP of a window in the range is refused
 * with EBUSY (the client sees an error reply; QEMU reports it; a provider
 * with a quiesce callback, vgpu_provider_set_quiesce(), can unpin first),
 * and a disconnect leaves the window mapped until it is unpinned (see
 * struct vgpu_provider_ops). Unpin with
 * vgpu_device_dma_unpin() and the same range. Writes through the segments
 * are not dirty-tracked; call vgpu_device_dma_mark_dirty().
 * Returns: the number of segments, -ENOSPC when @max is too small,
 *          -EREMOTE when a window in the range has no fd (nothing to map:
 *          use vgpu_device_dma_read()/_write() from a callback), or the
 *          other errors of vgpu_device_dma_read().
 * @since: 0.1
 */
int vgpu_device_dma_pin(struct vgpu_device *dev, uint64_t iova, uint64_t len,
			uint32_t prot, struct iovec *iov, size_t max);

/**
 * vgpu_device_dma_unpin - release a range pinned by vgpu_device_dma_pin()
 * @dev: the device
 * @iova: the same address as given to vgpu_device_dma_pin()
 * @len: the same length
 * Returns: 0, -EINVAL when the range is not (fully) mapped.
 * @since: 0.1
 */
int vgpu_device_dma_unpin(struct vgpu_device *dev, uint64_t iova, uint64_t len);

/**
 * vgpu_device_quiesced - the provider has quiesced, after -EBUSY
 * @dev: the device
 *
 * Completes what the quiesce callback (vgpu_provider_set_quiesce())
 * answered -EBUSY for: the waiting
 * DMA_UNMAP or reset runs, and the windows of a client that disconnected
 * meanwhile are released (those still pinned at their last unpin). Any
 * thread may call this.
 * Returns: 0, -EINVAL when nothing waits for it.
 * @since: 0.2
 */
int vgpu_device_quiesced(struct vgpu_device *dev);

/**
 * vgpu_device_dma_mark_dirty - record device writes done through a pin
 * @dev: the device
 * @iova: start
 * @len: bytes
 * @since: 0.1
 */
void vgpu_device_dma_mark_dirty(struct vgpu_device *dev, uint64_t iova,
				uint64_t len);

/**
 * struct vgpu_display_plane - what a device's display shows
 * @size: sizeof(struct vgpu_display_plane) as compiled by the caller
 * @drm_format: DRM fourcc of the pixels; 0 when the display is off
 * @width: pixels
 * @height: lines
 * @stride: bytes from one line to the next
 * @region: the memory region (VGPU_REGION_F_MEM) the pixels live in
 * @offset: where the first pixel is in @region
 *
 * Since 0.2.
 */
struct vgpu_display_plane {
	size_t size;
	uint32_t drm_format;
	uint32_t width;
	uint32_t height;
	uint32_t stride;
	unsigned int region;
	uint64_t offset;
};

/**
 * vgpu_device_set_display - offer the device's display to management
 * @dev: the device
 * @plane: the current plane (set its size first)
 *
 * From the first call on the device has a display source: management
 * clients (vgpu_display_open(), `vgpuctl vnc`, `vgpuctl screenshot`) reach
 * it through the provider's control socket, under the control socket's
 * rules (root or the provider's user), read-only and beside the VMM's
 * connection. Call it again on every mode change (a new format, size,
 * stride or offset; a plane in another region makes watchers open the
 * source again). Watchers are told at once. A plane must fit its region.
 * May be called from any thread.
 * Returns: 0, -EINVAL (bad @plane, a region that is not memory, a plane
 *          that does not fit), -ENODEV (the device was destroyed).
 * @since: 0.2
 */
int vgpu_device_set_display(struct vgpu_device *dev,
			    const struct vgpu_display_plane *plane);

/**
 * vgpu_device_display_changed - tell watchers that a new frame is shown
 * @dev: the device
 *
 * Call it when the pixels of the plane changed (a frame was presented).
 * Watchers that cannot keep up are told of the latest frame only. May be
 * called from any thread, also from a region access callback.
 * Returns: 0, -ENODEV (destroyed), -ENOENT (no display set).
 * @since: 0.2
 */
int vgpu_device_display_changed(struct vgpu_device *dev);

#ifdef __cplusplus
}
#endif

#endif /* LIBVGPU_PROVIDER_H */
