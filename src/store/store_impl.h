/*
 * store_impl.h - what a store backend provides (private to store*.c, s3.c).
 */
#ifndef SWREPART_STORE_IMPL_H
#define SWREPART_STORE_IMPL_H

#include "store/store.h"

struct store_ops {
	sw_err (*list)(struct store *st, const char *prefix,
	    const char *delimiter, const char *start_after, store_list_fn fn,
	    void *arg);
	sw_err (*get)(struct store *st, const char *key, uint64_t off,
	    uint64_t len, sw_sink_fn fn, void *arg, struct store_info *info);
	sw_err (*head)(struct store *st, const char *key,
	    struct store_info *info);
	/* NULL: objects are not files (store_open_object) */
	sw_err (*open_object)(struct store *st, const char *key, int *fd,
	    struct store_info *info);
	sw_err (*put_mem)(struct store *st, const char *key, const void *p,
	    size_t n, const struct store_put_opts *opts,
	    struct store_info *info);
	sw_err (*put_fd)(struct store *st, const char *key, int fd,
	    uint64_t size, const struct store_put_opts *opts,
	    struct store_info *info);
	sw_err (*del)(struct store *st, const char *key);
	sw_err (*abort_uploads)(struct store *st, const char *key,
	    unsigned *n);
	void (*free)(struct store *st);
};

struct store {
	const struct store_ops *ops;
	char *url;      /* as opened, with a trailing '/' */
	void *impl;     /* the backend's state */
	/* requests by kind (store_count), read by store_stats() */
	unsigned long req[STORE_REQ_KINDS];
	uint64_t bytes_read;
};

/* Count one request of kind k (and n object bytes received); any
 * thread. */
static inline void
store_count(struct store *st, enum store_req k, uint64_t n)
{
	__atomic_add_fetch(&st->req[k], 1, __ATOMIC_RELAXED);
	if (n > 0)
		__atomic_add_fetch(&st->bytes_read, n, __ATOMIC_RELAXED);
}

/* Backends: url is the full URL; rest is what follows "file://" or
 * "s3://".  They fill st->ops and st->impl. */
sw_err store_file_open(struct store *st, const char *rest);
sw_err store_s3_open(struct store *st, const char *rest,
    const struct sw_config *cfg);

#endif
