/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvgpu — one C ABI over every way Linux shares an accelerator between
 * virtual machines (kernel mdev, SR-IOV, vfio-user).
 *
 * Conventions, for every function in this header:
 *  - Functions returning int return 0 (or a positive count) on success and
 *    a negative errno on failure. Misuse (NULL where an object is required)
 *    returns -EINVAL; nothing in the library exits, aborts or prints to stdout.
 *  - Objects are reference counted. vgpu_X_ref() returns its argument,
 *    vgpu_X_unref() returns NULL when the last reference is gone (and the
 *    argument otherwise). Both accept NULL.
 *  - Strings returned by getters belong to the object and live as long as it.
 *  - One object, one thread: a context and everything obtained from it may be
 *    used from one thread at a time. Separate contexts are independent.
 *  - Listings are snapshots taken when the list call runs; list again to see
 *    changes, or use a struct vgpu_monitor to be told about them.
 */
#ifndef LIBVGPU_H
#define LIBVGPU_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vgpu_ctx;
struct vgpu_parent;
struct vgpu_type;
struct vgpu_instance;
struct vgpu_config;
struct vgpu_monitor;
struct vgpu_event;
struct vgpu_handle;
struct vgpu_usage;

/* ------------------------------------------------------------------------ */
/* Context                                                                   */
/* ------------------------------------------------------------------------ */

/**
 * vgpu_log_fn - receives the library's log messages
 * @ctx: the context that logs
 * @priority: a syslog priority (LOG_ERR, LOG_INFO, LOG_DEBUG, ...)
 * @file: source file of the message
 * @line: source line of the message
 * @fn: function that logged
 * @format: printf format
 * @args: its arguments
 * @userdata: the pointer given to vgpu_ctx_set_log_fn()
 */
typedef void (*vgpu_log_fn)(struct vgpu_ctx *ctx, int priority,
			    const char *file, int line, const char *fn,
			    const char *format, va_list args, void *userdata);

/**
 * vgpu_ctx_new - create a library context
 * @ret: receives the new context (one reference)
 *
 * The context starts with sysfs root "/sys", configuration directory
 * "/etc/mdevctl.d" and runtime directory "/run/vgpu". The environment
 * variables VGPU_SYSFS_ROOT, VGPU_CONFIG_DIR and VGPU_RUNTIME_DIR, read with
 * secure_getenv(), override those defaults; VGPU_LOG (err, warning, info,
 * debug or a number) sets the log priority, which defaults to LOG_ERR.
 * Every built-in backend is enabled.
 *
 * Returns: 0, or -ENOMEM.
 * @since: 0.1
 */
int vgpu_ctx_new(struct vgpu_ctx **ret);

/**
 * vgpu_ctx_ref - take a reference on a context
 * @ctx: the context, or NULL
 * Returns: @ctx.
 * @since: 0.1
 */
struct vgpu_ctx *vgpu_ctx_ref(struct vgpu_ctx *ctx);

/**
 * vgpu_ctx_unref - drop a reference on a context
 * @ctx: the context, or NULL
 * Returns: NULL when the context was freed, @ctx otherwise.
 * @since: 0.1
 */
struct vgpu_ctx *vgpu_ctx_unref(struct vgpu_ctx *ctx);

/**
 * vgpu_ctx_set_log_fn - send the context's log messages to @fn
 * @ctx: the context
 * @fn: the log function; NULL silences the context
 * @userdata: passed to @fn
 *
 * The default log function prints to stderr.
 * @since: 0.1
 */
void vgpu_ctx_set_log_fn(struct vgpu_ctx *ctx, vgpu_log_fn fn, void *userdata);

/**
 * vgpu_ctx_set_log_priority - set the most verbose priority that is logged
 * @ctx: the context
 * @priority: a syslog priority (LOG_ERR .. LOG_DEBUG)
 * @since: 0.1
 */
void vgpu_ctx_set_log_priority(struct vgpu_ctx *ctx, int priority);

/**
 * vgpu_ctx_get_log_priority - the most verbose priority that is logged
 * @ctx: the context
 * Returns: a syslog priority, or -EINVAL for a NULL context.
 * @since: 0.1
 */
int vgpu_ctx_get_log_priority(struct vgpu_ctx *ctx);

/**
 * vgpu_ctx_set_userdata - attach an application pointer to the context
 * @ctx: the context
 * @userdata: any pointer; the library never dereferences it
 * @since: 0.1
 */
void vgpu_ctx_set_userdata(struct vgpu_ctx *ctx, void *userdata);

/**
 * vgpu_ctx_get_userdata - the pointer given to vgpu_ctx_set_userdata()
 * @ctx: the context
 * Returns: the pointer, or NULL.
 * @since: 0.1
 */
void *vgpu_ctx_get_userdata(struct vgpu_ctx *ctx);

/**
 * vgpu_ctx_set_sysfs_root - where sysfs is mounted
 * @ctx: the context
 * @path: an absolute directory, e.g. "/sys" or "/host/sys"
 *
 * Use this inside containers that mount the host's sysfs elsewhere, and in
 * tests. The root is the directory that holds "class", "bus" and "devices".
 * Returns: 0, -EINVAL for a relative or empty path, -ENOMEM.
 * @since: 0.1
 */
int vgpu_ctx_set_sysfs_root(struct vgpu_ctx *ctx, const char *path);

/**
 * vgpu_ctx_get_sysfs_root - where the context looks for sysfs
 * @ctx: the context
 * Returns: the path, owned by the context.
 * @since: 0.1
 */
const char *vgpu_ctx_get_sysfs_root(struct vgpu_ctx *ctx);

/**
 * vgpu_ctx_set_config_dir - where persistent mdev definitions live
 * @ctx: the context
 * @path: an absolute directory; "/etc/mdevctl.d" by default, the directory
 *        mdevctl uses, so definitions made by either tool are seen by both
 * Returns: 0, -EINVAL for a relative or empty path, -ENOMEM.
 * @since: 0.1
 */
int vgpu_ctx_set_config_dir(struct vgpu_ctx *ctx, const char *path);

/**
 * vgpu_ctx_get_config_dir - where persistent mdev definitions live
 * @ctx: the context
 * Returns: the path, owned by the context.
 * @since: 0.1
 */
const char *vgpu_ctx_get_config_dir(struct vgpu_ctx *ctx);

/**
 * vgpu_ctx_set_runtime_dir - where locks and sockets live
 * @ctx: the context
 * @path: an absolute directory; "/run/vgpu" by default. It is created
 *        (mode 0755) the first time it is needed.
 * Returns: 0, -EINVAL for a relative or empty path, -ENOMEM.
 * @since: 0.1
 */
int vgpu_ctx_set_runtime_dir(struct vgpu_ctx *ctx, const char *path);

/**
 * vgpu_ctx_get_runtime_dir - where locks and sockets live
 * @ctx: the context
 * Returns: the path, owned by the context.
 * @since: 0.1
 */
const char *vgpu_ctx_get_runtime_dir(struct vgpu_ctx *ctx);

/**
 * vgpu_ctx_set_backends - use only some backends
 * @ctx: the context
 * @names: backend names separated by commas ("mdev", "sriov",
 *         "vfio-user"), e.g. "mdev" for a tool that knows only mdev; NULL
 *         for all of them (the default)
 *
 * Listings, look-ups, definitions and the monitor of @ctx then see only
 * these backends: a tool that manages mdev devices alone is neither slowed
 * down nor failed by a user-space provider that does not answer.
 * Returns: 0, -EINVAL for an empty list or an unknown name.
 * @since: 0.2
 */
int vgpu_ctx_set_backends(struct vgpu_ctx *ctx, const char *names);

/**
 * vgpu_unreachable_fn - hears of a parent that a listing left out
 * @ctx: the context that lists
 * @backend: the parent's backend ("vfio-user")
 * @parent_id: the parent's id (a provider's name)
 * @error: why, a negative errno: -ETIMEDOUT (no answer within
 *         VGPU_PROVIDER_TIMEOUT_MS), -EACCES (it refuses the caller),
 *         -EBADMSG or -EIO (a broken answer), or another one
 * @userdata: the pointer given to vgpu_ctx_set_unreachable_fn()
 *
 * The library has logged the cause (at LOG_ERR, naming the parent) just
 * before the call.
 * @since: 0.3
 */
typedef void (*vgpu_unreachable_fn)(struct vgpu_ctx *ctx, const char *backend,
				    const char *parent_id, int error,
				    void *userdata);

/**
 * vgpu_ctx_set_unreachable_fn - list what answers, and hear of the rest
 * @ctx: the context
 * @fn: called once for each parent a listing leaves out; NULL (the
 *      default) restores whole failures
 * @userdata: passed to @fn
 *
 * By default a listing (vgpu_parent_list(), vgpu_instance_list() without a
 * UUID, vgpu_type_list_many()) fails whole when a parent exists but cannot
 * be asked: a vfio-user provider whose control socket does not answer in
 * time, or refuses the caller. With @fn set, such a parent is left out of
 * the listing, with its instances (or types), and @fn is called for it;
 * the listing returns what the other parents answered. An instance
 * listing leaves out its definitions too (whether they run is not known;
 * they are not given as inactive). Look-ups of one object
 * (vgpu_parent_get(), vgpu_instance_get(), a listing by UUID,
 * vgpu_type_list()) still fail with the error. -ENOMEM always fails the
 * whole listing.
 * @since: 0.3
 */
void vgpu_ctx_set_unreachable_fn(struct vgpu_ctx *ctx, vgpu_unreachable_fn fn,
				 void *userdata);

/* ------------------------------------------------------------------------ */
/* Parents: devices that can host instances (an mdev parent, an SR-IOV PF,   */
/* a vfio-user provider).                                                    */
/* ------------------------------------------------------------------------ */

/**
 * vgpu_parent_list - every parent every backend can see
 * @ctx: the context
 * @ret: receives a malloc'd array of parents, each holding one reference,
 *       sorted by backend then id; free it with vgpu_parent_list_free()
 * @n_ret: receives the number of entries
 *
 * A parent whose sysfs entries are unreadable or malformed is skipped with a
 * log message; it never fails the whole listing. A vfio-user provider that
 * does not answer or refuses the caller fails it, unless the context has an
 * unreachable function (vgpu_ctx_set_unreachable_fn()).
 * Returns: 0, or a negative errno (-ENOMEM; -ETIMEDOUT, -EACCES, ... from a
 *          provider).
 * @since: 0.1
 */
int vgpu_parent_list(struct vgpu_ctx *ctx, struct vgpu_parent ***ret,
		     size_t *n_ret);

/**
 * vgpu_parent_list_free - unref every entry and free the array
 * @list: an array from vgpu_parent_list(), or NULL
 * @n: its number of entries
 * @since: 0.1
 */
void vgpu_parent_list_free(struct vgpu_parent **list, size_t n);

/**
 * vgpu_parent_get - look a parent up by its id
 * @ctx: the context
 * @id: the parent's id, e.g. "0000:00:02.0", "matrix" or "0.0.0023"
 * @ret: receives the parent (one reference)
 * Returns: 0, -ENODEV when no backend has such a parent, -EINVAL for a
 *          malformed id, -ENOMEM.
 * @since: 0.1
 */
int vgpu_parent_get(struct vgpu_ctx *ctx, const char *id,
		    struct vgpu_parent **ret);

/**
 * vgpu_parent_ref - take a reference
 * @parent: the parent, or NULL
 * Returns: @parent.
 * @since: 0.1
 */
struct vgpu_parent *vgpu_parent_ref(struct vgpu_parent *parent);

/**
 * vgpu_parent_unref - drop a reference
 * @parent: the parent, or NULL
 * Returns: NULL when it was freed, @parent otherwise.
 * @since: 0.1
 */
struct vgpu_parent *vgpu_parent_unref(struct vgpu_parent *parent);

/**
 * vgpu_parent_get_ctx - the context the parent belongs to
 * @parent: the parent
 * Returns: the context (no reference taken).
 * @since: 0.1
 */
struct vgpu_ctx *vgpu_parent_get_ctx(struct vgpu_parent *parent);

/**
 * vgpu_parent_get_id - the parent's id (sysfs device name for kernel parents)
 * @parent: the parent
 * Returns: the id.
 * @since: 0.1
 */
const char *vgpu_parent_get_id(struct vgpu_parent *parent);

/**
 * vgpu_parent_get_backend - the backend that serves the parent
 * @parent: the parent
 * Returns: "mdev", "sriov" or "vfio-user".
 * @since: 0.1
 */
const char *vgpu_parent_get_backend(struct vgpu_parent *parent);

/**
 * vgpu_parent_get_bus - the bus the parent device sits on
 * @parent: the parent
 * Returns: the name of the device's subsystem ("pci", "css", "ap",
 *          "platform", ...), or NULL when unknown.
 * @since: 0.1
 */
const char *vgpu_parent_get_bus(struct vgpu_parent *parent);

/**
 * vgpu_parent_get_syspath - the parent's device directory
 * @parent: the parent
 * Returns: the resolved path below the sysfs root, or NULL for parents
 *          without one (vfio-user providers).
 * @since: 0.1
 */
const char *vgpu_parent_get_syspath(struct vgpu_parent *parent);

/**
 * vgpu_parent_get_driver - the kernel driver bound to the parent
 * @parent: the parent
 * Returns: the driver's name, or NULL when none is bound.
 * @since: 0.1
 */
const char *vgpu_parent_get_driver(struct vgpu_parent *parent);

/**
 * vgpu_parent_get_numa_node - the parent's NUMA node
 * @parent: the parent
 * Returns: the node (>= 0), or -1 when unknown or not NUMA-local.
 * @since: 0.1
 */
int vgpu_parent_get_numa_node(struct vgpu_parent *parent);

/**
 * vgpu_parent_get_pci_ids - PCI identity of a PCI parent
 * @parent: the parent
 * @vendor: receives the vendor id, or NULL
 * @device: receives the device id, or NULL
 * @subsystem_vendor: receives the subsystem vendor id, or NULL
 * @subsystem_device: receives the subsystem device id, or NULL
 * @class_code: receives the 24-bit class code, or NULL
 * Returns: 0, -ENODATA when the parent is not a PCI device or its ids are
 *          unreadable.
 * @since: 0.1
 */
int vgpu_parent_get_pci_ids(struct vgpu_parent *parent, uint16_t *vendor,
			    uint16_t *device, uint16_t *subsystem_vendor,
			    uint16_t *subsystem_device, uint32_t *class_code);

/**
 * vgpu_parent_get_vendor_name - the PCI vendor's name from the PCI id database
 * @parent: the parent
 *
 * The database is read (through libpci) the first time a name is asked for.
 * Returns: the name, or NULL when the parent is not PCI or the id is unknown.
 * @since: 0.1
 */
const char *vgpu_parent_get_vendor_name(struct vgpu_parent *parent);

/**
 * vgpu_parent_get_device_name - the PCI device's name from the PCI id database
 * @parent: the parent
 * Returns: the name, or NULL when the parent is not PCI or the id is unknown.
 * @since: 0.1
 */
const char *vgpu_parent_get_device_name(struct vgpu_parent *parent);

/* ------------------------------------------------------------------------ */
/* Types                                                                     */
/* ------------------------------------------------------------------------ */

/**
 * vgpu_type_list - the instance types a parent offers
 * @parent: the parent
 * @ret: receives a malloc'd array of types sorted by id, each holding one
 *       reference; free it with vgpu_type_list_free()
 * @n_ret: receives the number of entries
 * Returns: 0, or a negative errno (-ENODEV when the parent has gone).
 * @since: 0.1
 */
int vgpu_type_list(struct vgpu_parent *parent, struct vgpu_type ***ret,
		   size_t *n_ret);

/**
 * vgpu_type_list_many - the types of several parents in one call
 * @parents: the parents (e.g. from vgpu_parent_list()); none NULL
 * @n: their number (0 gives an empty list)
 * @ret: receives one malloc'd array of every parent's types, parent after
 *       parent in the order of @parents, each parent's sorted by id as
 *       vgpu_type_list() gives them, each holding one reference; free it
 *       with vgpu_type_list_free()
 * @n_ret: receives the number of entries
 * @counts: NULL, or an array of @n that receives how many of the entries
 *          belong to each parent
 *
 * The same as vgpu_type_list() for each parent in turn, with the same
 * warnings in the same order, but faster on a host of many parents: the
 * parents' type directories are read by the context's threads (see
 * VGPU_ENUM_THREADS in vgpuctl(8)) while the calling thread makes the
 * types, instead of one parent after the other.
 * A listing of many parents, it follows the context's unreachable function
 * (vgpu_ctx_set_unreachable_fn(), the context of each parent): with one
 * set, a parent whose types cannot be listed (a provider that does not
 * answer, an mdev parent whose types directory went) is left out, with no
 * types (a count of 0), after the library logged why, and the function
 * hears of it; the call returns the other parents' types. -ENOMEM always
 * fails the call.
 * Returns: 0, or the first error (in the order of @parents) that
 *          vgpu_type_list() gives for one of them and that is not left out;
 *          nothing is returned then.
 * @since: 0.4
 */
int vgpu_type_list_many(struct vgpu_parent *const *parents, size_t n,
			struct vgpu_type ***ret, size_t *n_ret, size_t *counts);

/**
 * vgpu_type_list_free - unref every entry and free the array
 * @list: an array from vgpu_type_list(), or NULL
 * @n: its number of entries
 * @since: 0.1
 */
void vgpu_type_list_free(struct vgpu_type **list, size_t n);

/**
 * vgpu_type_get - look a type of @parent up by its id
 * @parent: the parent
 * @id: the type id, e.g. "i915-GVTg_V5_4" or "nvidia-256"
 * @ret: receives the type (one reference)
 * Returns: 0, -ENOENT when the parent has no such type, -EINVAL for a
 *          malformed id.
 * @since: 0.1
 */
int vgpu_type_get(struct vgpu_parent *parent, const char *id,
		  struct vgpu_type **ret);

/**
 * vgpu_type_ref - take a reference
 * @type: the type, or NULL
 * Returns: @type.
 * @since: 0.1
 */
struct vgpu_type *vgpu_type_ref(struct vgpu_type *type);

/**
 * vgpu_type_unref - drop a reference
 * @type: the type, or NULL
 * Returns: NULL when it was freed, @type otherwise.
 * @since: 0.1
 */
struct vgpu_type *vgpu_type_unref(struct vgpu_type *type);

/**
 * vgpu_type_get_parent - the parent offering the type
 * @type: the type
 * Returns: the parent (no reference taken).
 * @since: 0.1
 */
struct vgpu_parent *vgpu_type_get_parent(struct vgpu_type *type);

/**
 * vgpu_type_get_id - the type's id
 * @type: the type
 * Returns: the id.
 * @since: 0.1
 */
const char *vgpu_type_get_id(struct vgpu_type *type);

/**
 * vgpu_type_get_name - the type's human readable name
 * @type: the type
 * Returns: the name, or NULL when the backend offers none.
 * @since: 0.1
 */
const char *vgpu_type_get_name(struct vgpu_type *type);

/**
 * vgpu_type_get_description - the vendor's description text, unparsed
 * @type: the type
 * Returns: the text without its final newline, or NULL when there is none.
 * @since: 0.1
 */
const char *vgpu_type_get_description(struct vgpu_type *type);

/**
 * vgpu_type_get_device_api - the VFIO device API instances present
 * @type: the type
 * Returns: "vfio-pci", "vfio-ccw", "vfio-ap", ..., or NULL when unknown.
 * @since: 0.1
 */
const char *vgpu_type_get_device_api(struct vgpu_type *type);

/**
 * vgpu_type_get_available_instances - how many more instances fit
 * @type: the type
 * Returns: the count read when the type was listed (>= 0), or a negative
 *          errno when the parent's answer was missing or malformed.
 * @since: 0.1
 */
int vgpu_type_get_available_instances(struct vgpu_type *type);

/**
 * vgpu_type_get_max_instances - how many instances of the type fit in all
 * @type: the type
 *
 * The total capacity, created instances included: what a vfio-user
 * provider reports, or the "max_instance" of an mdev type's description
 * (NVIDIA's drivers give it). Kernel mdev has no such count in general.
 * Returns: the count (>= 0), -ENODATA when the backend does not say,
 *          -EINVAL without a type.
 * @since: 0.2
 */
int vgpu_type_get_max_instances(struct vgpu_type *type);

/**
 * vgpu_type_get_attr_count - how many key/value attributes were parsed
 * @type: the type
 *
 * Attributes come from the description text in the formats vendors use:
 * "key: value" lines (Intel GVT-g) and "key=value, key=value" (NVIDIA).
 * Returns: the count (0 when the description has no recognised format).
 * @since: 0.1
 */
size_t vgpu_type_get_attr_count(struct vgpu_type *type);

/**
 * vgpu_type_get_attr - one parsed attribute, in description order
 * @type: the type
 * @index: 0 .. vgpu_type_get_attr_count() - 1
 * @key: receives the key (owned by @type), or NULL
 * @value: receives the value (owned by @type), or NULL
 * Returns: 0, -ERANGE for an index out of range.
 * @since: 0.1
 */
int vgpu_type_get_attr(struct vgpu_type *type, size_t index, const char **key,
		       const char **value);

/**
 * vgpu_type_get_attr_value - a parsed attribute by key
 * @type: the type
 * @key: the key, e.g. "framebuffer" or "low_gm_size"
 * Returns: the value (owned by @type), or NULL when absent.
 * @since: 0.1
 */
const char *vgpu_type_get_attr_value(struct vgpu_type *type, const char *key);

/* ------------------------------------------------------------------------ */
/* Persistent definitions (struct vgpu_config)                               */
/* ------------------------------------------------------------------------ */

/**
 * vgpu_config_new - an empty definition (no type, manual start, no attrs)
 * @ret: receives the definition (one reference)
 * Returns: 0, or -ENOMEM.
 * @since: 0.1
 */
int vgpu_config_new(struct vgpu_config **ret);

/**
 * vgpu_config_new_from_json - parse a definition in mdevctl's JSON format
 * @json: the text: {"mdev_type": "...", "start": "auto"|"manual",
 *        "attrs": [{"key": "value"}, ...]}
 * @len: its length in bytes
 * @ret: receives the definition (one reference)
 *
 * "start" defaults to manual and "attrs" to none; like mdevctl, any
 * "start" but "auto" means manual. Unknown members are ignored, as mdevctl
 * ignores them; attrs entries that are not one-member
 * objects with a string value, and keys that escape the instance directory,
 * make the whole text invalid.
 * Returns: 0, -EBADMSG for text that is not such a definition, -ENOMEM.
 * @since: 0.1
 */
int vgpu_config_new_from_json(const char *json, size_t len,
			      struct vgpu_config **ret);

/**
 * vgpu_config_ref - take a reference
 * @config: the definition, or NULL
 * Returns: @config.
 * @since: 0.1
 */
struct vgpu_config *vgpu_config_ref(struct vgpu_config *config);

/**
 * vgpu_config_unref - drop a reference
 * @config: the definition, or NULL
 * Returns: NULL when it was freed, @config otherwise.
 * @since: 0.1
 */
struct vgpu_config *vgpu_config_unref(struct vgpu_config *config);

/**
 * vgpu_config_set_type - set the instance type
 * @config: the definition
 * @type_id: a type id, or NULL to clear it
 * Returns: 0, -EINVAL for an id that cannot name a type, -ENOMEM.
 * @since: 0.1
 */
int vgpu_config_set_type(struct vgpu_config *config, const char *type_id);

/**
 * vgpu_config_get_type - the instance type
 * @config: the definition
 * Returns: the type id, or NULL when unset.
 * @since: 0.1
 */
const char *vgpu_config_get_type(struct vgpu_config *config);

/**
 * vgpu_config_set_autostart - start the instance when its parent appears
 * @config: the definition
 * @autostart: true for "auto", false for "manual"
 * @since: 0.1
 */
void vgpu_config_set_autostart(struct vgpu_config *config, bool autostart);

/**
 * vgpu_config_get_autostart - whether the instance starts with its parent
 * @config: the definition
 * Returns: true for "auto".
 * @since: 0.1
 */
bool vgpu_config_get_autostart(struct vgpu_config *config);

/**
 * vgpu_config_add_attr - insert an attribute written after creation
 * @config: the definition
 * @key: the attribute's path relative to the instance's sysfs directory,
 *       e.g. "nvidia/vgpu_params"; no "..", no leading '/'
 * @value: the text written to it
 * @index: where to insert (0 = first); -1 or any index past the end appends
 *
 * Attributes are written in order, and the instance is removed again if one
 * of them fails.
 * Returns: 0, -EINVAL for a key that escapes the instance directory, -ENOMEM.
 * @since: 0.1
 */
int vgpu_config_add_attr(struct vgpu_config *config, const char *key,
			 const char *value, long index);

/**
 * vgpu_config_del_attr - remove an attribute
 * @config: the definition
 * @index: its position; -1 removes the last one
 * Returns: 0, -ERANGE when there is no attribute at @index.
 * @since: 0.1
 */
int vgpu_config_del_attr(struct vgpu_config *config, long index);

/**
 * vgpu_config_get_attr_count - how many attributes the definition has
 * @config: the definition
 * Returns: the count.
 * @since: 0.1
 */
size_t vgpu_config_get_attr_count(struct vgpu_config *config);

/**
 * vgpu_config_get_attr - one attribute, in write order
 * @config: the definition
 * @index: 0 .. count - 1
 * @key: receives the key (owned by @config), or NULL
 * @value: receives the value (owned by @config), or NULL
 * Returns: 0, -ERANGE for an index out of range.
 * @since: 0.1
 */
int vgpu_config_get_attr(struct vgpu_config *config, size_t index,
			 const char **key, const char **value);

/** Flags for vgpu_config_to_json(). */
enum vgpu_json_flags {
	/** indent like mdevctl's configuration files (two spaces) */
	VGPU_JSON_PRETTY = 1 << 0,
};

/**
 * vgpu_config_to_json - the definition in mdevctl's JSON format
 * @config: the definition
 * @flags: a mask of enum vgpu_json_flags
 * @ret: receives malloc'd text without a trailing newline, laid out like
 *       mdevctl's files with VGPU_JSON_PRETTY; free() it
 * Returns: 0, -EINVAL when the definition has no type, -ENOMEM.
 * @since: 0.1
 */
int vgpu_config_to_json(struct vgpu_config *config, unsigned int flags,
			char **ret);

/* ------------------------------------------------------------------------ */
/* Instances                                                                 */
/* ------------------------------------------------------------------------ */

/** What vgpu_instance_list() returns. */
enum vgpu_list_flags {
	/** instances that exist now (created in the kernel or a provider) */
	VGPU_LIST_ACTIVE = 1 << 0,
	/** instances with a persistent definition, whether active or not */
	VGPU_LIST_DEFINED = 1 << 1,
	/** fail with -EBADMSG on a malformed definition (or one without
	 * "start") instead of skipping it, as mdevctl does */
	VGPU_LIST_STRICT = 1 << 2,
};

/**
 * vgpu_instance_list - active and/or defined instances
 * @ctx: the context
 * @flags: a mask of enum vgpu_list_flags; without VGPU_LIST_ACTIVE and
 *         VGPU_LIST_DEFINED, VGPU_LIST_ACTIVE is implied
 * @parent_id: only instances of this parent, or NULL for all
 * @uuid: only the instance(s) with this UUID (any case), or NULL for all;
 *        only that UUID's definition files are then read
 * @ret: receives a malloc'd array sorted by parent id, then uuid; free it
 *       with vgpu_instance_list_free()
 * @n_ret: receives the number of entries
 *
 * An instance that is both active and defined is listed once, with both
 * states. A malformed definition file is skipped with a log message, unless
 * VGPU_LIST_STRICT is given. A vfio-user provider that does not answer or
 * refuses the caller fails the listing, unless the context has an
 * unreachable function (vgpu_ctx_set_unreachable_fn()) and @uuid is NULL.
 * Returns: 0, -EINVAL (a malformed @parent_id or @uuid, unknown flags),
 *          -EBADMSG (strict, and a definition that was read is malformed),
 *          or another negative errno.
 * @since: 0.1
 */
int vgpu_instance_list(struct vgpu_ctx *ctx, unsigned int flags,
		       const char *parent_id, const char *uuid,
		       struct vgpu_instance ***ret, size_t *n_ret);

/**
 * vgpu_instance_list_free - unref every entry and free the array
 * @list: an array from vgpu_instance_list(), or NULL
 * @n: its number of entries
 * @since: 0.1
 */
void vgpu_instance_list_free(struct vgpu_instance **list, size_t n);

/**
 * vgpu_instance_get - look an instance up by UUID
 * @ctx: the context
 * @uuid: the instance's UUID (any case)
 * @parent_id: the parent, or NULL; needed only to choose between
 *             definitions of the same UUID under several parents
 * @ret: receives the instance (one reference)
 * Returns: 0, -EINVAL for a malformed UUID, -ENOENT when the instance is
 *          neither active nor defined, -ENOTUNIQ when it is defined under
 *          several parents and @parent_id is NULL.
 * @since: 0.1
 */
int vgpu_instance_get(struct vgpu_ctx *ctx, const char *uuid,
		      const char *parent_id, struct vgpu_instance **ret);

/**
 * vgpu_instance_ref - take a reference
 * @instance: the instance, or NULL
 * Returns: @instance.
 * @since: 0.1
 */
struct vgpu_instance *vgpu_instance_ref(struct vgpu_instance *instance);

/**
 * vgpu_instance_unref - drop a reference
 * @instance: the instance, or NULL
 * Returns: NULL when it was freed, @instance otherwise.
 * @since: 0.1
 */
struct vgpu_instance *vgpu_instance_unref(struct vgpu_instance *instance);

/**
 * vgpu_instance_get_uuid - the instance's UUID, lower case
 * @instance: the instance
 * Returns: the UUID.
 * @since: 0.1
 */
const char *vgpu_instance_get_uuid(struct vgpu_instance *instance);

/**
 * vgpu_instance_get_parent_id - the id of the instance's parent
 * @instance: the instance
 * Returns: the parent id.
 * @since: 0.1
 */
const char *vgpu_instance_get_parent_id(struct vgpu_instance *instance);

/**
 * vgpu_instance_get_type_id - the instance's type
 * @instance: the instance
 * Returns: the type id of the active instance, else of its definition;
 *          NULL when neither says.
 * @since: 0.1
 */
const char *vgpu_instance_get_type_id(struct vgpu_instance *instance);

/**
 * vgpu_instance_get_backend - the backend that serves the instance
 * @instance: the instance
 * Returns: "mdev", "sriov" or "vfio-user".
 * @since: 0.1
 */
const char *vgpu_instance_get_backend(struct vgpu_instance *instance);

/**
 * vgpu_instance_is_active - whether the instance exists now
 * @instance: the instance
 * Returns: true when it was active at listing time.
 * @since: 0.1
 */
bool vgpu_instance_is_active(struct vgpu_instance *instance);

/**
 * vgpu_instance_is_defined - whether the instance has a persistent definition
 * @instance: the instance
 * Returns: true when a definition existed at listing time.
 * @since: 0.1
 */
bool vgpu_instance_is_defined(struct vgpu_instance *instance);

/**
 * vgpu_instance_get_config - the instance's persistent definition
 * @instance: the instance
 * Returns: the definition (no reference taken; take one to keep it longer
 *          than @instance), or NULL when the instance is not defined.
 * @since: 0.1
 */
struct vgpu_config *vgpu_instance_get_config(struct vgpu_instance *instance);

/**
 * vgpu_instance_get_syspath - the active instance's device directory
 * @instance: the instance
 *
 * For the "vfio-user" backend (a device of a user-space provider) this is
 * the device's vfio-user socket, the path a VMM connects to.
 * Returns: the resolved path, or NULL when not active or not in sysfs.
 * @since: 0.1
 */
const char *vgpu_instance_get_syspath(struct vgpu_instance *instance);

/**
 * vgpu_instance_get_iommu_group - the active instance's IOMMU group
 * @instance: the instance
 * Returns: the group number (>= 0), or -1 when it has none or is inactive.
 * @since: 0.1
 */
int vgpu_instance_get_iommu_group(struct vgpu_instance *instance);

/** Flags for the lifecycle calls below. */
enum vgpu_lifecycle_flags {
	/** vgpu_instance_define(): replace an existing definition */
	VGPU_DEFINE_FORCE = 1 << 0,
};

/**
 * vgpu_instance_create - create a transient instance (mdevctl "start -t")
 * @ctx: the context
 * @parent_id: the parent
 * @uuid: the UUID to use, or NULL to generate a random one
 * @config: the type and the attributes to write; its autostart is ignored
 * @ret: receives the new instance (one reference), or NULL
 *
 * The UUID is written to the type's create file, then every attribute in
 * order, then the QoS knobs of @config (vgpu_config_set_qos()); if one
 * fails the instance is removed again and the error returned.
 * Lifecycle calls on the same parent are serialized across processes with a
 * lock in the runtime directory.
 * Returns: 0, -EINVAL (bad UUID, no type in @config), -ENODEV (no such
 *          parent), -ENOENT (no such type), -EEXIST (the UUID is in use),
 *          -ENOSPC (the type has no capacity left), or the errno of the
 *          write that failed.
 * @since: 0.1
 */
int vgpu_instance_create(struct vgpu_ctx *ctx, const char *parent_id,
			 const char *uuid, struct vgpu_config *config,
			 struct vgpu_instance **ret);

/**
 * vgpu_instance_write_attr - write one attribute of an active instance
 * @instance: the instance (active when it was obtained)
 * @key: the attribute's path relative to the instance's directory, e.g.
 *       "nvidia/vgpu_params"; no "..", no leading '/'
 * @value: the text to write, in a single write
 *
 * Use it for live changes; vgpu_instance_create() already writes the
 * attributes of its definition.
 * Returns: 0, -EINVAL (bad key), -ENOENT (the instance is not active), or
 *          the errno of the failed write.
 * @since: 0.1
 */
int vgpu_instance_write_attr(struct vgpu_instance *instance, const char *key,
			     const char *value);

/**
 * vgpu_instance_remove - remove an active instance (mdevctl "stop")
 * @ctx: the context
 * @uuid: the instance
 * Returns: 0, -EINVAL (bad UUID), -ENOENT (not active), -EBUSY (in use), or
 *          the errno of the failed removal.
 * @since: 0.1
 */
int vgpu_instance_remove(struct vgpu_ctx *ctx, const char *uuid);

/**
 * vgpu_instance_remove_force - remove an active instance, in use or not
 * @ctx: the context
 * @uuid: the instance
 *
 * As vgpu_instance_remove(), but an instance in use is not refused: its
 * user is asked to let go the way VFIO does, through the device's REQ
 * interrupt (QEMU turns it into a hot-unplug request to the guest), and
 * the instance is removed once it has. For a vfio-user provider's device
 * this waits up to a minute; a user that registered no REQ interrupt
 * (QEMU 10.2's vfio-user-pci) cannot be asked: -EBUSY. Kernel devices: as
 * vgpu_instance_remove() (the kernel sends the request itself).
 * Returns: as vgpu_instance_remove(); -EBUSY when the user cannot be asked
 *          (it has no REQ interrupt), -ETIMEDOUT when it did not let go.
 * @since: 0.2
 */
int vgpu_instance_remove_force(struct vgpu_ctx *ctx, const char *uuid);

/**
 * vgpu_instance_define - store a persistent definition
 * @ctx: the context
 * @parent_id: the parent; it need not be present now. The definition goes
 *             where the parent's backend keeps definitions (mdevctl's
 *             directory for mdev). For a parent that is not present, name
 *             its backend as in "sriov:0000:3b:00.0"; an unqualified
 *             absent parent is taken for an mdev parent, as mdevctl does.
 * @uuid: the UUID, or NULL to generate one
 * @config: the definition; it must have a type
 * @flags: VGPU_DEFINE_FORCE to replace an existing definition
 * @ret: receives the defined instance (one reference), or NULL
 *
 * The file is written atomically: a crash leaves the old or the new file.
 * Returns: 0, -EINVAL, -EEXIST (already defined and no FORCE), or the errno
 *          of the failed write.
 * @since: 0.1
 */
int vgpu_instance_define(struct vgpu_ctx *ctx, const char *parent_id,
			 const char *uuid, struct vgpu_config *config,
			 unsigned int flags, struct vgpu_instance **ret);

/**
 * vgpu_instance_undefine - delete a persistent definition
 * @ctx: the context
 * @uuid: the instance
 * @parent_id: the parent, or NULL to delete the definitions under every
 *             parent
 *
 * An active instance stays active.
 * Returns: 0, -EINVAL (bad UUID), -ENOENT (no definition).
 * @since: 0.1
 */
int vgpu_instance_undefine(struct vgpu_ctx *ctx, const char *uuid,
			   const char *parent_id);

/**
 * vgpu_instance_start - create an instance from its definition
 * @ctx: the context
 * @uuid: the instance
 * @parent_id: the parent, or NULL when the UUID is defined only once
 * @ret: receives the instance (one reference), or NULL
 * Returns: as vgpu_instance_create(), and -ENOENT when there is no
 *          definition, -ENOTUNIQ when several parents define @uuid.
 * @since: 0.1
 */
int vgpu_instance_start(struct vgpu_ctx *ctx, const char *uuid,
			const char *parent_id, struct vgpu_instance **ret);

/**
 * vgpu_instance_modify - replace a persistent definition
 * @ctx: the context
 * @uuid: the instance
 * @parent_id: the parent, or NULL when the UUID is defined only once
 * @config: the new definition
 *
 * The active instance, if any, is not changed. The definition's QoS knobs
 * stay as they are unless @config speaks of QoS: it was obtained with the
 * definition (vgpu_instance_get_config()) or had knobs set or unset.
 * Returns: 0, -ENOENT (no definition), -ENOTUNIQ, -EINVAL, or the errno of
 *          the failed write.
 * @since: 0.1
 */
int vgpu_instance_modify(struct vgpu_ctx *ctx, const char *uuid,
			 const char *parent_id, struct vgpu_config *config);

/**
 * vgpu_instance_edit - change a persistent definition in place
 * @ctx: the context
 * @uuid: the instance
 * @parent_id: the parent, or NULL when the UUID is defined only once
 * @edit: called with the definition as it is on disk now; it changes it
 *        with the vgpu_config_set_*() and attribute calls and returns 0,
 *        or a negative errno to leave the definition as it is
 * @userdata: passed to @edit
 *
 * Unlike reading a definition and handing a changed copy to
 * vgpu_instance_modify(), this cannot lose a concurrent change: the
 * definitions directory stays locked (flock(2) on the directory, which
 * every libvgpu writer of definitions takes) from the read to the write,
 * so fifty processes adding one attribute each leave fifty attributes.
 * @edit must not call back into libvgpu's definition calls.  The active
 * instance, if any, is not changed.
 * Returns: 0, -ENOENT (no definition), -ENOTUNIQ (several parents define
 *          @uuid and @parent_id is NULL), -EINVAL, @edit's error, or the
 *          errno of the failed write.
 * @since: 0.2
 */
int vgpu_instance_edit(struct vgpu_ctx *ctx, const char *uuid,
		       const char *parent_id,
		       int (*edit)(struct vgpu_config *config, void *userdata),
		       void *userdata);

/**
 * vgpu_parent_autostart - start every "auto" definition of a parent
 * @ctx: the context
 * @parent_id: the parent that appeared
 *
 * Definitions already active are skipped; the others are started in UUID
 * order, and one failure does not stop the rest.
 * Returns: the number started (>= 0), or the first error when none could be
 *          started and at least one failed.
 * @since: 0.1
 */
int vgpu_parent_autostart(struct vgpu_ctx *ctx, const char *parent_id);

/* ------------------------------------------------------------------------ */
/* Monitor                                                                   */
/* ------------------------------------------------------------------------ */

/** What a struct vgpu_event reports. */
enum vgpu_event_type {
	VGPU_EVENT_PARENT_ADDED = 1,
	VGPU_EVENT_PARENT_REMOVED = 2,
	VGPU_EVENT_INSTANCE_ADDED = 3,
	VGPU_EVENT_INSTANCE_REMOVED = 4,
};

/**
 * vgpu_monitor_new - watch parents and active instances come and go
 * @ctx: the context
 * @ret: receives the monitor (one reference)
 *
 * The monitor takes a snapshot now and reports differences from it. It
 * listens to udev (when the sysfs root is "/sys" and udev events can be
 * received), watches the sockets of user-space providers in the runtime
 * directory (creating <runtime>/vfio-user when it may), and, in addition,
 * rescans on a timer when an interval is set with
 * vgpu_monitor_set_rescan_interval() — needed for fake or bind-mounted sysfs
 * trees. A user-space provider that does not answer, or shuts the caller
 * out, is logged at every rescan and keeps its last known state (no
 * removal is reported for it) while the others are reported as usual.
 * Returns: 0, or a negative errno.
 * @since: 0.1
 */
int vgpu_monitor_new(struct vgpu_ctx *ctx, struct vgpu_monitor **ret);

/**
 * vgpu_monitor_ref - take a reference
 * @monitor: the monitor, or NULL
 * Returns: @monitor.
 * @since: 0.1
 */
struct vgpu_monitor *vgpu_monitor_ref(struct vgpu_monitor *monitor);

/**
 * vgpu_monitor_unref - drop a reference
 * @monitor: the monitor, or NULL
 * Returns: NULL when it was freed, @monitor otherwise.
 * @since: 0.1
 */
struct vgpu_monitor *vgpu_monitor_unref(struct vgpu_monitor *monitor);

/**
 * vgpu_monitor_set_rescan_interval - also rescan every @msec milliseconds
 * @monitor: the monitor
 * @msec: the interval; 0 stops the timer (the default when udev is usable;
 *        otherwise the default is 1000)
 * Returns: 0, or a negative errno.
 * @since: 0.1
 */
int vgpu_monitor_set_rescan_interval(struct vgpu_monitor *monitor,
				     unsigned int msec);

/**
 * vgpu_monitor_get_fd - the descriptor to poll for POLLIN
 * @monitor: the monitor
 * Returns: a descriptor owned by the monitor (do not close it).
 * @since: 0.1
 */
int vgpu_monitor_get_fd(struct vgpu_monitor *monitor);

/**
 * vgpu_monitor_receive - the next event, without blocking
 * @monitor: the monitor
 * @ret: receives an event (one reference), or NULL when none is pending
 *
 * Call it after the descriptor polls readable, until it gives NULL.
 * Returns: 0 (with *@ret possibly NULL), or a negative errno.
 * @since: 0.1
 */
int vgpu_monitor_receive(struct vgpu_monitor *monitor, struct vgpu_event **ret);

/**
 * vgpu_event_ref - take a reference
 * @event: the event, or NULL
 * Returns: @event.
 * @since: 0.1
 */
struct vgpu_event *vgpu_event_ref(struct vgpu_event *event);

/**
 * vgpu_event_unref - drop a reference
 * @event: the event, or NULL
 * Returns: NULL when it was freed, @event otherwise.
 * @since: 0.1
 */
struct vgpu_event *vgpu_event_unref(struct vgpu_event *event);

/**
 * vgpu_event_get_type - what happened
 * @event: the event
 * Returns: an enum vgpu_event_type value.
 * @since: 0.1
 */
enum vgpu_event_type vgpu_event_get_type(struct vgpu_event *event);

/**
 * vgpu_event_get_parent_id - the parent the event concerns
 * @event: the event
 * Returns: the parent id.
 * @since: 0.1
 */
const char *vgpu_event_get_parent_id(struct vgpu_event *event);

/**
 * vgpu_event_get_uuid - the instance the event concerns
 * @event: the event
 * Returns: the UUID for instance events, NULL for parent events.
 * @since: 0.1
 */
const char *vgpu_event_get_uuid(struct vgpu_event *event);

/**
 * vgpu_event_get_backend - the backend of the parent or instance
 * @event: the event
 * Returns: "mdev", "sriov" or "vfio-user".
 * @since: 0.1
 */
const char *vgpu_event_get_backend(struct vgpu_event *event);

/**
 * vgpu_event_get_type_id - the instance's type, for instance events
 * @event: the event
 * Returns: the type id, or NULL (parent events, or the type was unreadable).
 * @since: 0.1
 */
const char *vgpu_event_get_type_id(struct vgpu_event *event);

/* ------------------------------------------------------------------------ */
/* Opened devices: regions, interrupts, DMA and display of an instance as   */
/* its user (a VMM, a test harness) sees it. Kernel mdev instances and PCI  */
/* functions (SR-IOV VFs, any vfio-pci device) are reached through kernel   */
/* VFIO; other backends provide the same handle.                            */
/* ------------------------------------------------------------------------ */

/** Flags for vgpu_handle_open(). */
enum vgpu_open_flags {
	/** use the VFIO group/container API even where iommufd exists */
	VGPU_OPEN_NO_IOMMUFD = 1 << 0,
	/** use iommufd or fail: -EOPNOTSUPP when the kernel offers none for
	 * the device, the errno of the failing step otherwise */
	VGPU_OPEN_IOMMUFD = 1 << 1,
};

/** Region flags, as reported by vgpu_handle_get_region(). */
enum vgpu_region_flags {
	VGPU_REGION_READ = 1 << 0,
	VGPU_REGION_WRITE = 1 << 1,
	/** some or all of the region can be mapped with vgpu_handle_region_mmap() */
	VGPU_REGION_MMAP = 1 << 2,
};

/** PCI region indexes, as in VFIO. */
enum vgpu_region_index {
	VGPU_REGION_BAR0 = 0,
	VGPU_REGION_BAR1 = 1,
	VGPU_REGION_BAR2 = 2,
	VGPU_REGION_BAR3 = 3,
	VGPU_REGION_BAR4 = 4,
	VGPU_REGION_BAR5 = 5,
	VGPU_REGION_ROM = 6,
	VGPU_REGION_CONFIG = 7,
	VGPU_REGION_VGA = 8,
};

/** PCI interrupt indexes, as in VFIO. */
enum vgpu_irq_index {
	VGPU_IRQ_INTX = 0,
	VGPU_IRQ_MSI = 1,
	VGPU_IRQ_MSIX = 2,
	VGPU_IRQ_ERR = 3,
	VGPU_IRQ_REQ = 4,
};

/** IRQ flags, as reported by vgpu_handle_get_irq(). */
enum vgpu_irq_flags {
	VGPU_IRQ_EVENTFD = 1 << 0,
	VGPU_IRQ_MASKABLE = 1 << 1,
	VGPU_IRQ_AUTOMASKED = 1 << 2,
	VGPU_IRQ_NORESIZE = 1 << 3,
};

/* DMA protection, for vgpu_handle_dma_map() (and the provider API) */
#define VGPU_DMA_READ  (1u << 0) /* the device may read the memory */
#define VGPU_DMA_WRITE (1u << 1) /* the device may write the memory */

/** Flags of a BAR, from vgpu_handle_config_get_bar(). */
enum vgpu_bar_flags {
	VGPU_BAR_IO = 1 << 0,
	VGPU_BAR_MEM64 = 1 << 1,
	VGPU_BAR_PREFETCH = 1 << 2,
};

/** Optional device features, for vgpu_handle_probe_feature(). */
enum vgpu_feature {
	VGPU_FEATURE_MIGRATION = 1,   /**< VFIO migration v2 */
	VGPU_FEATURE_DMA_LOGGING = 2, /**< device dirty page tracking */
};

/**
 * Migration states, as VFIO migration v2 numbers them (the kernel's
 * enum vfio_device_mig_state and vfio-user's MIG_DEVICE_STATE).
 * RUNNING_P2P and PRE_COPY_P2P exist on devices that offer
 * VGPU_MIGRATION_P2P, PRE_COPY and PRE_COPY_P2P on devices that offer
 * VGPU_MIGRATION_PRE_COPY.
 */
enum vgpu_migration_state {
	VGPU_MIG_ERROR = 0,
	VGPU_MIG_STOP = 1,
	VGPU_MIG_RUNNING = 2,
	VGPU_MIG_STOP_COPY = 3,
	VGPU_MIG_RESUMING = 4,
	VGPU_MIG_RUNNING_P2P = 5,
	VGPU_MIG_PRE_COPY = 6,
	VGPU_MIG_PRE_COPY_P2P = 7,
};

/** What a device's migration offers (VFIO_MIGRATION_*), from
 * vgpu_handle_probe_feature(VGPU_FEATURE_MIGRATION). */
enum vgpu_migration_flags {
	VGPU_MIGRATION_STOP_COPY = 1 << 0, /**< always set when offered */
	VGPU_MIGRATION_P2P = 1 << 1,	   /**< RUNNING_P2P, PRE_COPY_P2P */
	VGPU_MIGRATION_PRE_COPY = 1 << 2,  /**< PRE_COPY, PRE_COPY_P2P */
};

/** Options of vgpu_handle_open_opts(). */
struct vgpu_open_opts {
	/** sizeof(struct vgpu_open_opts) as compiled by the caller */
	size_t size;
	/** enum vgpu_open_flags */
	unsigned int flags;
	/** the VF token (a UUID) for a VF whose PF is driven by vfio-pci
	 * and has set one (vgpu_handle_set_vf_token()); NULL: none */
	const char *vf_token;
};

/** Kinds of display plane, for vgpu_handle_query_plane(). */
enum vgpu_plane_type {
	VGPU_PLANE_PRIMARY = 1,
	VGPU_PLANE_CURSOR = 2,
};

/** How a plane's pixels are reached. */
enum vgpu_plane_kind {
	/** a region of the device: map or read plane.region */
	VGPU_PLANE_REGION = 1,
	/** a dma-buf: get its fd with vgpu_handle_get_plane_dmabuf() */
	VGPU_PLANE_DMABUF = 2,
};

/**
 * struct vgpu_plane_info - what a display plane shows
 * @size: set by the caller to sizeof(struct vgpu_plane_info); fields past
 *        @size are not written, so the struct can grow
 * @kind: an enum vgpu_plane_kind
 * @drm_format: the DRM fourcc (e.g. XR24), 0 when nothing is displayed
 * @drm_format_mod: the DRM format modifier
 * @width: in pixels
 * @height: in pixels
 * @stride: bytes per line
 * @x_pos: cursor position (cursor planes)
 * @y_pos: cursor position (cursor planes)
 * @x_hot: cursor hot spot
 * @y_hot: cursor hot spot
 * @region_index: the region holding the pixels (VGPU_PLANE_REGION)
 * @dmabuf_id: the id for vgpu_handle_get_plane_dmabuf() (VGPU_PLANE_DMABUF)
 * @plane_size: bytes of pixel data
 */
struct vgpu_plane_info {
	size_t size;
	uint32_t kind;
	uint32_t drm_format;
	uint64_t drm_format_mod;
	uint32_t width;
	uint32_t height;
	uint32_t stride;
	uint32_t x_pos;
	uint32_t y_pos;
	uint32_t x_hot;
	uint32_t y_hot;
	uint32_t region_index;
	uint32_t dmabuf_id;
	uint64_t plane_size;
};

/**
 * vgpu_handle_open - open a device for use
 * @ctx: the context
 * @id: the UUID of an active instance of any backend (an mdev, an SR-IOV
 *      VF, a vfio-user provider's device), or a PCI address
 *      ("0000:01:00.1", a VF or any device bound to vfio-pci)
 * @flags: a mask of enum vgpu_open_flags
 * @ret: receives the handle (one reference)
 *
 * Kernel devices are found in sysfs below the context's sysfs root; a
 * vfio-user instance is reached through its socket. For kernel devices,
 * where the
 * device has a VFIO character device (/dev/vfio/devices/vfioN) and
 * /dev/iommu exists, iommufd is used; otherwise the device's IOMMU group is
 * opened into a new type1 container. While the handle exists no other
 * process can open the device's group.
 * Returns: 0, -EINVAL (malformed id, unknown flags), -ENODEV (no such
 *          device, or it is not a VFIO device), -EBUSY (in use elsewhere),
 *          -EACCES/-EPERM (no permission), -ETIMEDOUT (a vfio-user
 *          provider that does not answer, as for vgpu_handle_open_socket()),
 *          or the errno of the failed call.
 * @since: 0.1
 */
int vgpu_handle_open(struct vgpu_ctx *ctx, const char *id, unsigned int flags,
		     struct vgpu_handle **ret);

/**
 * vgpu_handle_open_socket - open any vfio-user device by its socket
 * @ctx: the context
 * @path: the UNIX socket a vfio-user server listens on (a libvgpu
 *        provider's device, a libvfio-user or SPDK device, ...)
 * @flags: 0
 * @ret: receives the handle (one reference)
 *
 * The same handle as vgpu_handle_open() gives for a vfio-user instance,
 * for a socket no provider control socket lists: libvgpu as a vfio-user
 * client library. Regions are those the server's DEVICE_GET_INFO counts.
 * A server that refuses a second client gives -EBUSY at once.
 * Every message exchange of a vfio-user handle (this open included) fails
 * with -ETIMEDOUT when the server makes no progress for
 * $VGPU_PROVIDER_TIMEOUT_MS (default 5000 ms); the handle then returns
 * -ETIMEDOUT from every later call (see docs/device-api.md).
 * Returns: 0, -ENODEV when nothing listens at @path, -EACCES, -EBUSY,
 *          -EPROTO for a server that breaks the protocol, -ETIMEDOUT for
 *          one that does not answer, -EINVAL, -ENOMEM.
 * @since: 0.2
 */
int vgpu_handle_open_socket(struct vgpu_ctx *ctx, const char *path,
			    unsigned int flags, struct vgpu_handle **ret);

/**
 * vgpu_handle_get_service_fd - the fd to poll for the device's requests
 * @handle: the handle
 *
 * A vfio-user server may send DMA_READ/DMA_WRITE requests at any time,
 * not only while a call of this handle waits for its answer (a provider
 * that completes a doorbell write first and reads guest memory after, as
 * libvgpu's asynchronous DMA does). The handle serves them inside its
 * calls; between calls, poll this fd for POLLIN in your event loop and
 * call vgpu_handle_service() when it is readable. libvgpu starts no thread
 * for this: the handle stays one object, one thread.
 * Returns: the fd (owned by the handle), -ENOTSUP for kernel devices
 *          (the kernel does their DMA), -EINVAL.
 * @since: 0.2
 */
int vgpu_handle_get_service_fd(struct vgpu_handle *handle);

/**
 * vgpu_handle_service - serve the device's pending requests
 * @handle: the handle
 *
 * Answers every DMA_READ/DMA_WRITE the server has sent, from the handle's
 * DMA maps, without blocking. Call it from the thread that uses the
 * handle, when vgpu_handle_get_service_fd() polls readable.
 * Returns: the number of requests served (0 for kernel devices), or a
 *          negative errno when the connection broke (-ENOTCONN: the
 *          server went away; -EPROTO: it sent a reply nobody waits for;
 *          -ETIMEDOUT: a vfio-user provider stopped reading our answer
 *          for VGPU_PROVIDER_TIMEOUT_MS, or an earlier call timed out).
 * @since: 0.2
 */
int vgpu_handle_service(struct vgpu_handle *handle);

/**
 * vgpu_handle_ref - take a reference
 * @handle: the handle, or NULL
 * Returns: @handle.
 * @since: 0.1
 */
struct vgpu_handle *vgpu_handle_ref(struct vgpu_handle *handle);

/**
 * vgpu_handle_unref - drop a reference; the last one closes the device
 * @handle: the handle, or NULL
 *
 * Closing unmaps every DMA window still mapped, detaches every eventfd and
 * releases the group or iommufd. Mappings made with vgpu_handle_region_mmap()
 * stay valid until munmap()ed.
 * Returns: NULL when it was closed, @handle otherwise.
 * @since: 0.1
 */
struct vgpu_handle *vgpu_handle_unref(struct vgpu_handle *handle);

/**
 * vgpu_handle_get_id - the id the handle was opened with, normalised
 * @handle: the handle
 * Returns: the UUID (lower case) or PCI address.
 * @since: 0.1
 */
const char *vgpu_handle_get_id(struct vgpu_handle *handle);

/**
 * vgpu_handle_get_access - how the device is reached
 * @handle: the handle
 * Returns: "vfio-group" (group + type1 container), "iommufd", or another
 *          backend's name.
 * @since: 0.1
 */
const char *vgpu_handle_get_access(struct vgpu_handle *handle);

/**
 * vgpu_handle_get_iommu_group - the device's IOMMU group
 * @handle: the handle
 * Returns: the group number, or -1 when not known.
 * @since: 0.1
 */
int vgpu_handle_get_iommu_group(struct vgpu_handle *handle);

/**
 * vgpu_handle_is_pci - whether the device is a PCI device (vfio-pci API)
 * @handle: the handle
 * Returns: true for PCI devices; config space helpers need one.
 * @since: 0.1
 */
bool vgpu_handle_is_pci(struct vgpu_handle *handle);

/**
 * vgpu_handle_get_region_count - number of entries in the region table
 * @handle: the handle
 *
 * The table holds every index below the device's region count and the
 * device-specific regions found beyond it (e.g. mdpy's framebuffer), in
 * index order; it is read once, when the device is opened.
 * Returns: the count (>= 0), or -EINVAL.
 * @since: 0.1
 */
int vgpu_handle_get_region_count(struct vgpu_handle *handle);

/**
 * vgpu_handle_get_region - one entry of the region table
 * @handle: the handle
 * @n: 0 .. vgpu_handle_get_region_count() - 1
 * @index: receives the region's index (the argument of the region calls), or NULL
 * @size: receives its size in bytes, or NULL
 * @flags: receives a mask of enum vgpu_region_flags, or NULL
 * Returns: 0, -ERANGE for @n out of range.
 * @since: 0.1
 */
int vgpu_handle_get_region(struct vgpu_handle *handle, unsigned int n,
			   unsigned int *index, uint64_t *size,
			   uint32_t *flags);

/**
 * vgpu_handle_region_get_type - the type capability of a region
 * @handle: the handle
 * @index: the region index
 * @type: receives the VFIO region type, or NULL
 * @subtype: receives the subtype, or NULL
 * Returns: 0, -ENODATA when the region has no type, -ENOENT for no such
 *          region.
 * @since: 0.1
 */
int vgpu_handle_region_get_type(struct vgpu_handle *handle, unsigned int index,
				uint32_t *type, uint32_t *subtype);

/**
 * vgpu_handle_region_get_sparse_count - number of sparse mmap areas
 * @handle: the handle
 * @index: the region index
 * Returns: the count; 0 when the region has no sparse mmap capability (then
 *          the whole region is mmap-able if it has VGPU_REGION_MMAP);
 *          -ENOENT for no such region.
 * @since: 0.1
 */
int vgpu_handle_region_get_sparse_count(struct vgpu_handle *handle,
					unsigned int index);

/**
 * vgpu_handle_region_get_sparse - one sparse mmap area
 * @handle: the handle
 * @index: the region index
 * @n: 0 .. count - 1
 * @offset: receives the area's offset inside the region, or NULL
 * @size: receives its size, or NULL
 * Returns: 0, -ENOENT (no such region), -ERANGE (@n out of range).
 * @since: 0.1
 */
int vgpu_handle_region_get_sparse(struct vgpu_handle *handle,
				  unsigned int index, unsigned int n,
				  uint64_t *offset, uint64_t *size);

/**
 * vgpu_handle_region_read - read from a region
 * @handle: the handle
 * @index: the region index
 * @offset: where, inside the region
 * @buf: receives the data
 * @len: how many bytes; accesses of 1, 2, 4 and 8 bytes at an aligned
 *       offset reach the device as one access of that width
 *
 * Interrupted and short transfers are continued.
 * Returns: 0, -ENOENT (no such region), -EACCES (not readable), -ERANGE
 *          (beyond the region), -ENODEV (the device has gone), -EIO.
 * @since: 0.1
 */
int vgpu_handle_region_read(struct vgpu_handle *handle, unsigned int index,
			    uint64_t offset, void *buf, size_t len);

/**
 * vgpu_handle_region_write - write to a region
 * @handle: the handle
 * @index: the region index
 * @offset: where, inside the region
 * @buf: the data
 * @len: how many bytes (see vgpu_handle_region_read())
 * Returns: as vgpu_handle_region_read(), -EACCES when not writable.
 * @since: 0.1
 */
int vgpu_handle_region_write(struct vgpu_handle *handle, unsigned int index,
			     uint64_t offset, const void *buf, size_t len);

/**
 * vgpu_handle_region_mmap - map part of a region into memory
 * @handle: the handle
 * @index: the region index
 * @offset: page-aligned offset inside the region
 * @len: length; [@offset, @offset + @len) must lie inside the region (if it
 *       has no sparse areas) or inside one sparse area
 * @prot: PROT_READ and/or PROT_WRITE, allowed by the region's flags
 * @ret: receives the address; release it with munmap()
 * Returns: 0, -ENOENT (no such region), -EACCES (not mmap-able there, or
 *          @prot not allowed), -EINVAL (unaligned or empty), or the errno
 *          of mmap().
 * @since: 0.1
 */
int vgpu_handle_region_mmap(struct vgpu_handle *handle, unsigned int index,
			    uint64_t offset, size_t len, int prot, void **ret);

/**
 * vgpu_handle_config_read - read PCI config space
 * @handle: the handle (a PCI device)
 * @offset: byte offset in config space
 * @width: 1, 2 or 4, and @offset a multiple of it
 * @val: receives the value, converted from little endian
 * Returns: 0, -ENOTSUP (not PCI), -EINVAL (bad width or alignment), or
 *          the errors of vgpu_handle_region_read().
 * @since: 0.1
 */
int vgpu_handle_config_read(struct vgpu_handle *handle, unsigned int offset,
			    unsigned int width, uint32_t *val);

/**
 * vgpu_handle_config_write - write PCI config space
 * @handle: the handle (a PCI device)
 * @offset: byte offset in config space
 * @width: 1, 2 or 4, and @offset a multiple of it
 * @val: the value, written little endian
 * Returns: as vgpu_handle_config_read().
 * @since: 0.1
 */
int vgpu_handle_config_write(struct vgpu_handle *handle, unsigned int offset,
			     unsigned int width, uint32_t val);

/**
 * vgpu_handle_config_find_cap - find a PCI capability
 * @handle: the handle (a PCI device)
 * @cap_id: the capability id (PCI_CAP_ID_*), or an extended capability id
 *          (PCI_EXT_CAP_ID_*) when @extended
 * @extended: search the PCI Express extended list (from offset 0x100)
 * @after: 0 for the first match, or the offset of a previous match to find
 *         the next
 *
 * The walk refuses lists that loop or point outside config space.
 * Returns: the capability's offset (> 0), -ENOENT when absent, -EBADMSG
 *          for a malformed list, or the errors of vgpu_handle_config_read().
 * @since: 0.1
 */
int vgpu_handle_config_find_cap(struct vgpu_handle *handle, unsigned int cap_id,
				bool extended, unsigned int after);

/**
 * vgpu_handle_config_get_bar - decode a base address register
 * @handle: the handle (a PCI device)
 * @bar: 0 .. 5
 * @addr: receives the address programmed in config space (as emulated for
 *        the device's user), or NULL
 * @size: receives the BAR's size from its region, or NULL
 * @flags: receives a mask of enum vgpu_bar_flags, or NULL
 * Returns: 0, -ENOENT for an unimplemented BAR (or the upper half of a
 *          64-bit one), -ENOTSUP (not PCI), -EINVAL.
 * @since: 0.1
 */
int vgpu_handle_config_get_bar(struct vgpu_handle *handle, unsigned int bar,
			       uint64_t *addr, uint64_t *size, uint32_t *flags);

/**
 * vgpu_handle_get_irq_count - number of IRQ indexes
 * @handle: the handle
 * Returns: the count (>= 0), or -EINVAL.
 * @since: 0.1
 */
int vgpu_handle_get_irq_count(struct vgpu_handle *handle);

/**
 * vgpu_handle_get_irq - one IRQ index
 * @handle: the handle
 * @index: an enum vgpu_irq_index value (or a device-specific index)
 * @count: receives the number of vectors, or NULL
 * @flags: receives a mask of enum vgpu_irq_flags, or NULL
 * Returns: 0, -ERANGE (beyond the IRQ count), -ENOENT (the device does not
 *          implement this index; partial tables are real, e.g. mtty has no
 *          MSI-X).
 * @since: 0.1
 */
int vgpu_handle_get_irq(struct vgpu_handle *handle, unsigned int index,
			uint32_t *count, uint32_t *flags);

/**
 * vgpu_handle_irq_attach - signal vectors to eventfds
 * @handle: the handle
 * @index: the IRQ index
 * @start: the first vector
 * @count: the number of vectors, >= 1
 * @fds: @count eventfds; -1 leaves that vector without one
 * Returns: 0, -ENOENT (no such index), -ERANGE (vectors out of range),
 *          -EINVAL, or the errno of the device.
 * @since: 0.1
 */
int vgpu_handle_irq_attach(struct vgpu_handle *handle, unsigned int index,
			   unsigned int start, unsigned int count,
			   const int *fds);

/**
 * vgpu_handle_irq_detach - stop signalling vectors
 * @handle: the handle
 * @index: the IRQ index
 * @start: the first vector
 * @count: the number of vectors; 0 disables the whole index
 * Returns: as vgpu_handle_irq_attach().
 * @since: 0.1
 */
int vgpu_handle_irq_detach(struct vgpu_handle *handle, unsigned int index,
			   unsigned int start, unsigned int count);

/**
 * vgpu_handle_irq_mask - mask vectors (for maskable indexes)
 * @handle: the handle
 * @index: the IRQ index
 * @start: the first vector
 * @count: the number of vectors, >= 1
 * Returns: as vgpu_handle_irq_attach(), -ENOTSUP when not maskable.
 * @since: 0.1
 */
int vgpu_handle_irq_mask(struct vgpu_handle *handle, unsigned int index,
			 unsigned int start, unsigned int count);

/**
 * vgpu_handle_irq_unmask - unmask vectors
 * @handle: the handle
 * @index: the IRQ index
 * @start: the first vector
 * @count: the number of vectors, >= 1
 * Returns: as vgpu_handle_irq_mask().
 * @since: 0.1
 */
int vgpu_handle_irq_unmask(struct vgpu_handle *handle, unsigned int index,
			   unsigned int start, unsigned int count);

/**
 * vgpu_handle_irq_trigger - fire vectors from user space (tests, loopback)
 * @handle: the handle
 * @index: the IRQ index
 * @start: the first vector
 * @count: the number of vectors, >= 1
 *
 * Devices differ: vfio-pci signals the attached eventfds, while some mdev
 * drivers (mtty in Linux 6.1) treat it as "disable".
 * Returns: as vgpu_handle_irq_attach().
 * @since: 0.1
 */
int vgpu_handle_irq_trigger(struct vgpu_handle *handle, unsigned int index,
			    unsigned int start, unsigned int count);

/**
 * vgpu_handle_dma_map - let the device reach memory at an I/O address
 * @handle: the handle
 * @vaddr: page-aligned memory of this process
 * @iova: page-aligned I/O virtual address
 * @len: page-aligned length, > 0
 * @prot: VGPU_DMA_READ and/or VGPU_DMA_WRITE
 *
 * The handle keeps a table of mapped windows: a window that overlaps one
 * already mapped is refused before the kernel is asked.
 * Returns: 0, -EINVAL (alignment, zero length, wrap, bad @prot), -EEXIST
 *          (overlaps a mapped window), -ERANGE (outside the IOMMU's valid
 *          ranges), or the errno of the kernel.
 * @since: 0.1
 */
int vgpu_handle_dma_map(struct vgpu_handle *handle, void *vaddr, uint64_t iova,
			uint64_t len, uint32_t prot);

/**
 * vgpu_handle_dma_map_fd - vgpu_handle_dma_map() of memory backed by a file
 * @handle: the handle
 * @vaddr: page-aligned memory of this process: a MAP_SHARED mapping of @fd
 * @fd: the file behind @vaddr (a memfd, a shm or hugetlbfs file)
 * @offset: page-aligned offset of @vaddr's first byte in @fd
 * @iova: page-aligned I/O virtual address
 * @len: page-aligned length, > 0
 * @prot: VGPU_DMA_READ and/or VGPU_DMA_WRITE
 *
 * The kernel VFIO backend pins @vaddr and ignores @fd. A vfio-user device
 * (a process of its own) gets a copy of @fd and maps it, so its DMA goes
 * straight to the memory; vgpu_handle_dma_map() on a vfio-user device
 * maps the window without an fd, and the device then reaches it only by
 * DMA_READ/DMA_WRITE messages, which the handle serves while it waits for
 * the reply to a call. @fd stays the caller's.
 * Returns: as vgpu_handle_dma_map(); -EBADF when @fd is negative.
 * @since: 0.1
 */
int vgpu_handle_dma_map_fd(struct vgpu_handle *handle, void *vaddr, int fd,
			   uint64_t offset, uint64_t iova, uint64_t len,
			   uint32_t prot);

/**
 * vgpu_handle_dma_unmap - unmap exactly one window mapped before
 * @handle: the handle
 * @iova: the window's start
 * @len: the window's length
 * Returns: 0, -ENOENT when no window starts at @iova with length @len (a
 *          second unmap of the same window, a partial unmap), or the errno
 *          of the kernel.
 * @since: 0.1
 */
int vgpu_handle_dma_unmap(struct vgpu_handle *handle, uint64_t iova,
			  uint64_t len);

/**
 * vgpu_handle_get_dma_count - number of DMA windows mapped through the handle
 * @handle: the handle
 * Returns: the count (>= 0), or -EINVAL.
 * @since: 0.1
 */
int vgpu_handle_get_dma_count(struct vgpu_handle *handle);

/**
 * vgpu_handle_get_iova_range_count - number of valid IOVA ranges
 * @handle: the handle
 * Returns: the count; 1 (the whole 64-bit space) when the IOMMU does not
 *          report ranges.
 * @since: 0.1
 */
int vgpu_handle_get_iova_range_count(struct vgpu_handle *handle);

/**
 * vgpu_handle_get_iova_range - one valid IOVA range
 * @handle: the handle
 * @n: 0 .. count - 1
 * @start: receives the first valid address, or NULL
 * @last: receives the last valid address (inclusive), or NULL
 * Returns: 0, -ERANGE for @n out of range.
 * @since: 0.1
 */
int vgpu_handle_get_iova_range(struct vgpu_handle *handle, unsigned int n,
			       uint64_t *start, uint64_t *last);

/**
 * vgpu_handle_get_iommu_pgsizes - page sizes the IOMMU can map
 * @handle: the handle
 * Returns: a bitmap of supported sizes (bit k set: 2^k bytes); 4096 when
 *          unknown.
 * @since: 0.1
 */
uint64_t vgpu_handle_get_iommu_pgsizes(struct vgpu_handle *handle);

/**
 * vgpu_handle_reset - reset the device
 * @handle: the handle
 * Returns: 0, -ENOTSUP when the device cannot be reset, or the errno of the
 *          device.
 * @since: 0.1
 */
int vgpu_handle_reset(struct vgpu_handle *handle);

/**
 * vgpu_handle_probe_feature - whether the device offers an optional feature
 * @handle: the handle
 * @feature: an enum vgpu_feature value
 * @data: receives feature data, or NULL: the migration flags
 *        (VFIO_MIGRATION_*) for VGPU_FEATURE_MIGRATION, 0 otherwise
 * Returns: 1 when offered, 0 when not, -EINVAL for an unknown feature,
 *          -ENODEV when the device has gone.
 * @since: 0.1
 */
int vgpu_handle_probe_feature(struct vgpu_handle *handle, unsigned int feature,
			      uint64_t *data);

/**
 * vgpu_handle_query_plane - what a display plane shows now
 * @handle: the handle
 * @type: VGPU_PLANE_PRIMARY or VGPU_PLANE_CURSOR
 * @info: receives the plane; set @info->size first
 *
 * Region and dma-buf planes are tried in that order. A device that has a
 * display but shows nothing gives 0 with @info->drm_format 0. A query that
 * fails with -ENOMEM is retried once (mbochs in Linux 6.1 fails the first
 * query after a mode change).
 * Returns: 0, -ENOTSUP when the device has no display, -EINVAL (bad @type
 *          or @info->size), or the errno of the device.
 * @since: 0.1
 */
int vgpu_handle_query_plane(struct vgpu_handle *handle, unsigned int type,
			    struct vgpu_plane_info *info);

/**
 * vgpu_handle_get_plane_dmabuf - a dma-buf of a plane
 * @handle: the handle
 * @dmabuf_id: the id from a VGPU_PLANE_DMABUF plane
 * Returns: a new file descriptor (the caller closes it), or a negative errno.
 * @since: 0.1
 */
int vgpu_handle_get_plane_dmabuf(struct vgpu_handle *handle,
				 uint32_t dmabuf_id);

/**
 * vgpu_handle_probe_in_use - whether a device is open by someone else
 * @ctx: the context
 * @id: an instance UUID (mdev, SR-IOV) or a PCI address
 * @group: receives the IOMMU group (or -1), or NULL
 *
 * Probes without side effects visible to the other user: the device's VFIO
 * group is opened and closed again (a group in use refuses the open).
 * Returns: 1 in use, 0 free, -ENODEV (no such device or no IOMMU group),
 *          -EOPNOTSUPP (a user-space provider's instance: no VFIO group),
 *          -EACCES (no permission to probe), or another negative errno.
 * @since: 0.1
 */
int vgpu_handle_probe_in_use(struct vgpu_ctx *ctx, const char *id, int *group);

/* ------------------------------------------------------------------------ */
/* Display of a running instance (since 0.2)                                 */

struct vgpu_display;

/**
 * struct vgpu_display_frame - what a display source shows now
 * @size: set by the caller to sizeof(struct vgpu_display_frame); fields past
 *        it are left alone
 * @drm_format: DRM fourcc of the pixels; 0 when the display is off
 * @width: pixels
 * @height: lines
 * @stride: bytes from one line to the next
 * @reserved: 0
 * @seq: grows with every frame or mode change the provider announced
 * @pixels: the first pixel, mapped read-only; valid until the next
 *          vgpu_display_get_frame() or the last unref; NULL when off
 */
struct vgpu_display_frame {
	uint32_t size;
	uint32_t drm_format;
	uint32_t width;
	uint32_t height;
	uint32_t stride;
	uint32_t reserved;
	uint64_t seq;
	const void *pixels;
};

/**
 * vgpu_display_open - watch the display of a running instance, read-only
 * @ctx: the context
 * @uuid: an active instance
 * @ret: receives the display source (one reference)
 *
 * A display source is offered by the instance's provider (user-space
 * instances, "vfio-user" backend) beside the VMM's connection: it works
 * while the device is in use, and never touches the device itself. The
 * provider serves it under the same rules as its control socket (root or
 * the provider's user); its memory is mapped read-only. Kernel instances
 * have no display source: open the device (vgpu_handle_query_plane()),
 * which works while nobody else holds it.
 * Returns: 0, -EINVAL (not a UUID), -ENODEV (no such active instance),
 *          -EOPNOTSUPP (its backend or provider offers no display source),
 *          -EACCES (the provider refused us), or another negative errno.
 * @since: 0.2
 */
int vgpu_display_open(struct vgpu_ctx *ctx, const char *uuid,
		      struct vgpu_display **ret);

/**
 * vgpu_display_ref - take a reference
 * @display: the display source, or NULL
 * Returns: @display.
 * @since: 0.2
 */
struct vgpu_display *vgpu_display_ref(struct vgpu_display *display);

/**
 * vgpu_display_unref - drop a reference; the last one closes the source
 * @display: the display source, or NULL
 * Returns: NULL when it was closed, @display otherwise.
 * @since: 0.2
 */
struct vgpu_display *vgpu_display_unref(struct vgpu_display *display);

/**
 * vgpu_display_get_fd - a descriptor that is readable when the display changed
 * @display: the display source
 *
 * Poll it for POLLIN, then call vgpu_display_get_frame(), which consumes
 * what made it readable. It also becomes readable when the instance goes
 * away.
 * Returns: the fd (owned by @display), or -EINVAL.
 * @since: 0.2
 */
int vgpu_display_get_fd(struct vgpu_display *display);

/**
 * vgpu_display_get_frame - the current plane and its pixels
 * @display: the display source
 * @frame: receives the plane; set @frame->size first
 *
 * Never blocks: reads the announcements that arrived and reports the
 * latest. The pixels are the provider's framebuffer itself, mapped
 * read-only, not a copy: the guest may draw while they are read.
 * Returns: 0, -ENODEV when the instance (or its provider) went away,
 *          -EBADMSG when the provider sent something malformed, -EINVAL.
 * @since: 0.2
 */
int vgpu_display_get_frame(struct vgpu_display *display,
			   struct vgpu_display_frame *frame);

/* ------------------------------------------------------------------------ */
/* Quality of service and usage                                              */
/* ------------------------------------------------------------------------ */

/**
 * enum vgpu_qos_knob - the QoS knobs of an instance, one model over every
 * backend
 *
 * Each backend maps a knob to its vendor's interface where there is one
 * (docs/qos.md has the table); a knob the backend lacks is refused with
 * -EOPNOTSUPP and a message that names the backend, never ignored.
 */
enum vgpu_qos_knob {
	/** scheduling time slice (execution quantum), microseconds;
	 * 0 = the scheduler's default/unlimited */
	VGPU_QOS_TIME_SLICE_US = 0,
	/** how long a running slice may take to yield before it is
	 * preempted (reset), microseconds; 0 = unlimited */
	VGPU_QOS_PREEMPT_TIMEOUT_US = 1,
	/** scheduling priority, an enum vgpu_qos_priority */
	VGPU_QOS_PRIORITY = 2,
	/** relative weight (share) against the parent's other instances,
	 * 1 and up */
	VGPU_QOS_WEIGHT = 3,
	/** display frame-rate limit, frames per second; 0 = no limit */
	VGPU_QOS_FRAME_RATE_LIMIT = 4,
};

/** Values of VGPU_QOS_PRIORITY. */
enum vgpu_qos_priority {
	VGPU_QOS_PRIORITY_LOW = 0,
	VGPU_QOS_PRIORITY_NORMAL = 1,
	VGPU_QOS_PRIORITY_HIGH = 2,
};

/** What vgpu_instance_get_qos() says about a value (a mask). */
enum vgpu_qos_state {
	/** fixed by the instance's type; vgpu_instance_set_qos() refuses it */
	VGPU_QOS_STATE_FIXED = 1 << 0,
	/** the value the device takes when the VM starts next; the running
	 * VM may still use an older one (NVIDIA's vgpu_params) */
	VGPU_QOS_STATE_PENDING = 1 << 1,
	/** the value comes from the persistent definition (the instance is
	 * not active, or VGPU_QOS_CONFIG was asked for) */
	VGPU_QOS_STATE_DEFINED = 1 << 2,
};

/** Flags of vgpu_instance_set_qos() and vgpu_instance_get_qos(). */
enum vgpu_qos_flags {
	/** the running instance only */
	VGPU_QOS_LIVE = 1 << 0,
	/** the persistent definition only (applied at every start) */
	VGPU_QOS_CONFIG = 1 << 1,
};

/** Positive result of vgpu_instance_set_qos(). */
#define VGPU_QOS_APPLIED_AT_NEXT_START 1

/**
 * vgpu_qos_knob_name - the knob's stable name
 * @knob: the knob
 *
 * The names are used by vgpuctl, in the persistent definitions and in the
 * metrics: "time_slice_us", "preempt_timeout_us", "priority", "weight",
 * "frame_rate_limit".
 * Returns: the name, or NULL for an unknown knob.
 * @since: 0.2
 */
const char *vgpu_qos_knob_name(enum vgpu_qos_knob knob);

/**
 * vgpu_qos_knob_from_name - the knob with this name
 * @name: a name from vgpu_qos_knob_name()
 * Returns: the knob (>= 0), or -EINVAL.
 * @since: 0.2
 */
int vgpu_qos_knob_from_name(const char *name);

/**
 * vgpu_qos_check_value - whether a value is in a knob's range
 * @knob: the knob
 * @value: the value
 *
 * Ranges: time slice and preemption timeout up to 4294967295 µs; priority
 * an enum vgpu_qos_priority; weight 1 to 1000000; frame-rate limit up to
 * 1000 frames per second. A backend may refuse more (see docs/qos.md).
 * Returns: 0, -EINVAL (unknown knob), -ERANGE (value out of range).
 * @since: 0.2
 */
int vgpu_qos_check_value(enum vgpu_qos_knob knob, uint64_t value);

/**
 * vgpu_config_set_qos - set a QoS knob in a definition
 * @config: the definition
 * @knob: the knob
 * @value: its value (vgpu_qos_check_value())
 *
 * The knobs of a definition are applied, in knob order, when the instance
 * is created from it (vgpu_instance_create(), vgpu_instance_start(),
 * autostart), after its attributes; a knob the backend refuses fails the
 * creation and the instance is removed again, as for attributes.
 * Returns: 0, -EINVAL, -ERANGE.
 * @since: 0.2
 */
int vgpu_config_set_qos(struct vgpu_config *config, enum vgpu_qos_knob knob,
			uint64_t value);

/**
 * vgpu_config_unset_qos - remove a QoS knob from a definition
 * @config: the definition
 * @knob: the knob
 *
 * The backend's own setting then stays as it is at creation.
 * Returns: 0, -EINVAL.
 * @since: 0.2
 */
int vgpu_config_unset_qos(struct vgpu_config *config, enum vgpu_qos_knob knob);

/**
 * vgpu_config_get_qos - a QoS knob of a definition
 * @config: the definition
 * @knob: the knob
 * @value: receives the value
 * Returns: 0, -ENODATA when the definition does not set the knob, -EINVAL.
 * @since: 0.2
 */
int vgpu_config_get_qos(struct vgpu_config *config, enum vgpu_qos_knob knob,
			uint64_t *value);

/**
 * vgpu_instance_set_qos - change a QoS knob of an instance
 * @instance: the instance
 * @knob: the knob
 * @value: the new value
 * @flags: VGPU_QOS_LIVE, VGPU_QOS_CONFIG, both, or 0 for "the running
 *         instance when it is active and the definition when it is defined"
 *
 * A live change goes to the backend now. The definition keeps the knob for
 * every later start, and vgpu_instance_modify() keeps it unless the new
 * definition says otherwise. Where the device takes the value only when
 * the VM starts again (NVIDIA's vgpu_params), the call says so by its
 * result and in the log.
 * Returns: 0 (applied), VGPU_QOS_APPLIED_AT_NEXT_START (live, but in
 *          effect from the next VM start), -EINVAL, -ERANGE (out of the
 *          knob's range), -EOPNOTSUPP (the backend has no such knob or
 *          the type fixes it; logged with the backend's name), -ENOENT
 *          (VGPU_QOS_LIVE and the instance is not active, or
 *          VGPU_QOS_CONFIG and it is not defined), or the errno of the
 *          failed write.
 * @since: 0.2
 */
int vgpu_instance_set_qos(struct vgpu_instance *instance,
			  enum vgpu_qos_knob knob, uint64_t value,
			  unsigned int flags);

/**
 * vgpu_instance_get_qos - a QoS knob of an instance
 * @instance: the instance
 * @knob: the knob
 * @flags: VGPU_QOS_LIVE (the device's value), VGPU_QOS_CONFIG (the
 *         definition's), or 0: the device's when active, else the
 *         definition's
 * @value: receives the value
 * @state: receives a mask of enum vgpu_qos_state, or NULL
 * Returns: 0, -ENODATA (the backend has the knob but reports no value, or
 *          the definition does not set it), -EOPNOTSUPP (the backend has
 *          no such knob), -ENOENT (neither active nor defined as asked),
 *          -EINVAL, or the errno of the failed read.
 * @since: 0.2
 */
int vgpu_instance_get_qos(struct vgpu_instance *instance,
			  enum vgpu_qos_knob knob, unsigned int flags,
			  uint64_t *value, unsigned int *state);

/**
 * enum vgpu_usage_counter - what an instance has used
 *
 * Counters only grow while the instance lives (they may restart when it
 * is created again); VGPU_USAGE_FB_BYTES is a gauge. A counter the backend
 * cannot read is "not reported" (vgpu_usage_get() returns -ENODATA),
 * which is never shown as 0.
 */
enum vgpu_usage_counter {
	/** time an engine ran the instance's work, nanoseconds */
	VGPU_USAGE_ENGINE_BUSY_NS = 0,
	/** work items (command buffers, jobs) completed */
	VGPU_USAGE_WORK_ITEMS = 1,
	/** bytes the device moved to and from guest memory */
	VGPU_USAGE_DMA_BYTES = 2,
	/** interrupts raised to the guest */
	VGPU_USAGE_INTERRUPTS = 3,
	/** framebuffer (device-local) memory the instance holds, bytes */
	VGPU_USAGE_FB_BYTES = 4,
	/** frames presented on the instance's display */
	VGPU_USAGE_FRAMES = 5,
};

/**
 * vgpu_usage_counter_name - the counter's stable name
 * @counter: the counter
 *
 * "engine_busy_ns", "work_items", "dma_bytes", "interrupts", "fb_bytes",
 * "frames"; vgpuctl and the metrics use them.
 * Returns: the name, or NULL for an unknown counter.
 * @since: 0.2
 */
const char *vgpu_usage_counter_name(enum vgpu_usage_counter counter);

/**
 * vgpu_instance_get_usage - read an active instance's usage
 * @instance: the instance (active when it was obtained)
 * @ret: receives a snapshot (one reference); drop it with
 *       vgpu_usage_unref()
 *
 * Every counter is read once, at the same moment. An instance whose
 * backend reports nothing still gets a snapshot, with every counter "not
 * reported".
 * Returns: 0, -EINVAL, -ENOENT (not active), -ENOMEM, or the errno of the
 *          backend's failed read.
 * @since: 0.2
 */
int vgpu_instance_get_usage(struct vgpu_instance *instance,
			    struct vgpu_usage **ret);

/**
 * vgpu_usage_ref - take a reference
 * @usage: the snapshot, or NULL
 * Returns: @usage.
 * @since: 0.2
 */
struct vgpu_usage *vgpu_usage_ref(struct vgpu_usage *usage);

/**
 * vgpu_usage_unref - drop a reference
 * @usage: the snapshot, or NULL
 * Returns: NULL when it was freed, @usage otherwise.
 * @since: 0.2
 */
struct vgpu_usage *vgpu_usage_unref(struct vgpu_usage *usage);

/**
 * vgpu_usage_get - one counter of a snapshot
 * @usage: the snapshot
 * @counter: the counter
 * @value: receives the value
 * Returns: 0, -ENODATA when the backend does not report the counter,
 *          -EINVAL (unknown counter).
 * @since: 0.2
 */
int vgpu_usage_get(struct vgpu_usage *usage, enum vgpu_usage_counter counter,
		   uint64_t *value);

/**
 * vgpu_usage_get_timestamp - when the snapshot was taken
 * @usage: the snapshot
 * Returns: CLOCK_MONOTONIC time in nanoseconds, 0 for NULL. Two snapshots
 *          of one instance give rates (utilisation = busy time / elapsed).
 * @since: 0.2
 */
uint64_t vgpu_usage_get_timestamp(struct vgpu_usage *usage);
/**
 * vgpu_handle_open_opts - open a device, with options
 * @ctx: the context
 * @id: as for vgpu_handle_open()
 * @opts: the options (@opts->size set; unknown non-zero trailing bytes
 *        give -E2BIG), or NULL for none
 * @ret: receives the handle (one reference)
 *
 * Like vgpu_handle_open(), and with @opts->vf_token the VF token a kernel
 * VFIO device needs when it is an SR-IOV VF whose PF is bound to vfio-pci
 * with a token set (without it the kernel refuses the open with EACCES).
 * A vfio-user device takes no token (-EINVAL).
 * Returns: as vgpu_handle_open(); -EINVAL for a token that is not a UUID.
 * @since: 0.2
 */
int vgpu_handle_open_opts(struct vgpu_ctx *ctx, const char *id,
			  const struct vgpu_open_opts *opts,
			  struct vgpu_handle **ret);

/**
 * vgpu_handle_set_vf_token - set the VF token of a PF opened through VFIO
 * @handle: a handle on an SR-IOV PF bound to vfio-pci
 * @uuid: the token, a UUID
 *
 * Users of the PF's VFs must then give the same token
 * (struct vgpu_open_opts.vf_token). vfio-pci needs its enable_sriov
 * parameter set for VFs of a PF it drives.
 * Returns: 0, -EINVAL (not a UUID), -ENOTSUP (no such feature: not a
 *          vfio-pci PF), or the errno of the kernel.
 * @since: 0.2
 */
int vgpu_handle_set_vf_token(struct vgpu_handle *handle, const char *uuid);

/**
 * vgpu_migration_state_name - the name of a migration state
 * @state: an enum vgpu_migration_state value
 * Returns: "RUNNING", "STOP", "STOP_COPY", "RESUMING", "RUNNING_P2P",
 *          "PRE_COPY", "PRE_COPY_P2P", "ERROR", or NULL for other values.
 * @since: 0.2
 */
const char *vgpu_migration_state_name(unsigned int state);

/**
 * vgpu_handle_migration_get_state - the device's migration state
 * @handle: the handle
 * Returns: an enum vgpu_migration_state value, -ENOTSUP when the device
 *          does not offer migration, or the errno of the device.
 * @since: 0.2
 */
int vgpu_handle_migration_get_state(struct vgpu_handle *handle);

/**
 * vgpu_handle_migration_set_state - move the device to a migration state
 * @handle: the handle
 * @state: the enum vgpu_migration_state to reach
 *
 * Walks the arcs of VFIO migration v2 one at a time, through the
 * intermediate states the device offers (RUNNING to STOP_COPY is
 * RUNNING -> [RUNNING_P2P ->] STOP -> STOP_COPY), never through a state that
 * saves or loads data on the way. Entering STOP_COPY, PRE_COPY(_P2P) or
 * RESUMING starts a data stream (vgpu_handle_migration_read(),
 * vgpu_handle_migration_write()); leaving them ends it. Leaving RESUMING for
 * STOP is where the device checks what was written.
 *
 * When an arc fails the device stays where that arc left it, or in ERROR;
 * vgpu_handle_migration_get_state() tells. From ERROR only
 * vgpu_handle_reset() leads back (to RUNNING).
 * Returns: 0, -ENOTSUP (no migration), -EINVAL (a state the device does
 *          not offer, ERROR, or STOP_COPY -> PRE_COPY, which VFIO forbids),
 *          -EIO (the device is in ERROR: reset it), or the errno of the
 *          failing arc.
 * @since: 0.2
 */
int vgpu_handle_migration_set_state(struct vgpu_handle *handle,
				    unsigned int state);

/**
 * vgpu_handle_migration_read - read the device's saved state
 * @handle: the handle, in STOP_COPY, PRE_COPY or PRE_COPY_P2P
 * @buf: where to put it
 * @len: at most this many bytes
 *
 * The stream is opaque and device-specific; give it unchanged, in order,
 * to vgpu_handle_migration_write() of the destination.
 * Returns: the number of bytes read (at most @len); 0 at the end of the
 *          stream in STOP_COPY, or when PRE_COPY has nothing more for now;
 *          -EINVAL in another state; or the errno of the device.
 * @since: 0.2
 */
ssize_t vgpu_handle_migration_read(struct vgpu_handle *handle, void *buf,
				   size_t len);

/**
 * vgpu_handle_migration_write - load saved state into the device
 * @handle: the handle, in RESUMING
 * @buf: the next bytes of a stream read from the source
 * @len: how many
 * Returns: 0 when all @len bytes were taken, -EINVAL in another state, or
 *          the errno of the device (which may refuse the data).
 * @since: 0.2
 */
int vgpu_handle_migration_write(struct vgpu_handle *handle, const void *buf,
				size_t len);

/**
 * vgpu_handle_migration_copy - move the saved state from one device to another
 * @src: the source, in STOP_COPY (or PRE_COPY, for what is there now)
 * @dst: the destination, in RESUMING
 * @bytes: receives how many bytes were moved, or NULL
 *
 * Reads @src until its stream ends (or PRE_COPY has no more for now) and
 * writes everything to @dst, in chunks.
 * Returns: 0, or the errno of the read or the write.
 * @since: 0.2
 */
int vgpu_handle_migration_copy(struct vgpu_handle *src, struct vgpu_handle *dst,
			       uint64_t *bytes);

/**
 * vgpu_handle_migration_precopy_info - how much PRE_COPY data is left
 * @handle: the handle, in PRE_COPY or PRE_COPY_P2P
 * @initial: receives the bytes of the initial state not read yet, or NULL
 * @dirty: receives the estimate of state changed since, or NULL
 * Returns: 0, -EINVAL in another state, -EOPNOTSUPP where the access
 *          method has no such query (vfio-user), or the errno of the device.
 * @since: 0.2
 */
int vgpu_handle_migration_precopy_info(struct vgpu_handle *handle,
				       uint64_t *initial, uint64_t *dirty);

/**
 * vgpu_handle_dirty_start - start tracking the pages written by DMA
 * @handle: the handle
 * @page_size: the granularity, a power of two >= 4096
 *
 * Tracks every DMA window mapped now (vgpu_handle_dma_map()): with the
 * device's own DMA logging where it has it (VFIO_DEVICE_FEATURE_DMA_LOGGING,
 * vfio-user's DMA_LOGGING), else with the kernel IOMMU's (through iommufd a
 * dirty-tracking hardware page table, IOMMU_HWPT_GET_DIRTY_BITMAP; on the
 * group path type1's VFIO_IOMMU_DIRTY_PAGES, in the IOMMU's smallest page,
 * reporting whole windows). Windows cannot be mapped or unmapped while
 * tracking.
 * Returns: 0, -EBUSY (already tracking), -ENOENT (no window mapped),
 *          -EOPNOTSUPP (neither the device nor the IOMMU can track; the
 *          log says why), or the errno of the device.
 * @since: 0.2
 */
int vgpu_handle_dirty_start(struct vgpu_handle *handle, uint64_t page_size);

/**
 * vgpu_handle_dirty_report - the pages written since the last report
 * @handle: the handle, tracking
 * @iova: start of the range, inside one mapped window, page aligned
 * @len: length of the range, page aligned
 * @bitmap: receives one bit per page of the range (bit k of word k / 64:
 *          the page at @iova + k * page size), cleared first
 * @bitmap_size: bytes at @bitmap, at least (pages + 63) / 64 * 8
 *
 * Reading clears the device's (or IOMMU's) record for the range.
 * Returns: 0, -EINVAL (not tracking, a range outside one window, a short
 *          bitmap), or the errno of the device.
 * @since: 0.2
 */
int vgpu_handle_dirty_report(struct vgpu_handle *handle, uint64_t iova,
			     uint64_t len, uint64_t *bitmap,
			     size_t bitmap_size);

/**
 * vgpu_handle_dirty_stop - stop tracking
 * @handle: the handle
 * Returns: 0, -EINVAL when not tracking, or the errno of the device.
 * @since: 0.2
 */
int vgpu_handle_dirty_stop(struct vgpu_handle *handle);

#ifdef __cplusplus
}
#endif

#endif /* LIBVGPU_H */
