/*
 * store.h - one interface to an object store, two backends:
 *
 *   s3://bucket[/prefix]   S3 (or a compatible server) through s3.c
 *   file:///path           a local directory with the same key layout
 *
 * Keys are always relative to the store's root (bucket + prefix, or the
 * directory); a key never starts with '/'.  Every function is thread-safe:
 * many threads may use one store at once (that is how requests run in
 * parallel; see pool.h).  Errors carry a message naming the store and key.
 */
#ifndef SWREPART_STORE_H
#define SWREPART_STORE_H

#include <stdint.h>
#include <sys/types.h>

#include "base/err.h"
#include "base/sink.h"

struct sw_config;
struct store;

/* One listed object, or one common prefix when is_prefix is set. */
struct store_entry {
	const char *key;      /* full key, relative to the store root */
	uint64_t size;        /* bytes (objects only) */
	const char *etag;     /* quoted ETag as the server gives it, or "" */
	int64_t mtime;        /* seconds since the epoch, or 0 */
	int is_prefix;        /* a CommonPrefix (delimiter listing) */
};

/* Called for each entry in S3 byte order; non-SW_OK stops the listing
 * and is returned by store_list(). */
typedef sw_err (*store_list_fn)(void *arg, const struct store_entry *e);

/* A GET's body goes to a sw_sink_fn (base/sink.h), chunk by chunk. */

/*
 * Conditional writes (the commit point of a day is written this way):
 * if_match puts only over the object whose ETag it is (quoted, as
 * store_head() and listings report it); if_none_match only when the key
 * does not exist.  When the condition does not hold (another writer got
 * there first, or deleted the object) the put is SW_ERR_EXISTS and
 * changes nothing; a store without conditional writes (S3-compatible
 * servers that answer 501) is SW_ERR_UNSUPPORTED.  Both backends honour
 * them atomically: S3 itself, the file store under a lock.
 */
struct store_put_opts {
	const char *content_type;  /* NULL: application/octet-stream */
	const char *sse;           /* NULL, "AES256" or "aws:kms" */
	const char *sse_kms_key_id;
	const char *if_match;      /* NULL, or an ETag: replace that only */
	int if_none_match;         /* create only (If-None-Match: *) */
	/* The process's request pool (pool.h), lent by the caller: the parts
	 * of a multipart upload run as its jobs.  NULL: one part at a time.
	 * The store starts no threads of its own. */
	struct pool *pool;
	/* The MD5s of the body, taken by the caller before (NULL: none).
	 * The bytes stored are checked against them: S3 checks the
	 * Content-MD5s sent (these, instead of hashing the body again), a
	 * directory checks md5 as it copies (SW_ERR_DATA when they differ).
	 * md5 is the whole body's (one PUT); part_md5[i] is that of bytes
	 * [i * part_size, (i + 1) * part_size) of a multipart upload.  Parts
	 * of another size than the store's are hashed by the store. */
	const unsigned char *md5;
	const unsigned char (*part_md5)[16];
	size_t nparts;
	uint64_t part_size;
};

/* Open a store from a URL (see above) with settings from cfg (endpoint,
 * region, credentials, TLS, retries, part size).  *out is set on success;
 * free with store_free(). */
sw_err store_open(const char *url, const struct sw_config *cfg, struct store **out);
void store_free(struct store *st);

/* The URL the store was opened with, for messages ("s3://b/p"). */
const char *store_url(const struct store *st);

/* List keys starting with prefix.  delimiter may be NULL (flat) or "/".
 * start_after may be NULL.  Pages through continuation tokens internally;
 * a server that repeats a token, pages without end, lists a key outside
 * prefix or a size that cannot be is SW_ERR_PROTO, with the listing (or
 * the key) named. */
sw_err store_list(struct store *st, const char *prefix, const char *delimiter,
    const char *start_after, store_list_fn fn, void *arg);

/* What GET, HEAD and PUT report of an object. */
struct store_info {
	uint64_t size;
	char etag[80];
	int64_t mtime;
};
/* GET key, bytes [off, off+len) (len 0 = to the end), streamed to fn.
 * info, when not NULL, receives the whole object's size and ETag. */
sw_err store_get(struct store *st, const char *key, uint64_t off, uint64_t len,
    sw_sink_fn fn, void *arg, struct store_info *info);
/* GET the whole object into an open file descriptor (written from its
 * current offset). */
sw_err store_get_fd(struct store *st, const char *key, int fd,
    struct store_info *info);

/*
 * Open the object at key for reading as a file descriptor (read it from
 * offset 0), when the store keeps objects as files (file://): a reader
 * then reads the bytes where they are, with no copy.  info receives what
 * store_get() reports, of the file opened.  SW_ERR_UNSUPPORTED (with no
 * message set) for a store that does not (S3): use store_get().
 */
sw_err store_open_object(struct store *st, const char *key, int *fd,
    struct store_info *info);
/* Does the store keep objects as files (store_open_object works)? */
int store_has_files(const struct store *st);

/* HEAD: SW_ERR_NOTFOUND when absent. */
sw_err store_head(struct store *st, const char *key, struct store_info *info);

/* PUT from memory (small objects). */
sw_err store_put_mem(struct store *st, const char *key, const void *p,
    size_t n, const struct store_put_opts *opts, struct store_info *info);
/* PUT the size bytes of an open file (from offset 0), with a multipart
 * upload when size exceeds the configured part size (aborted on failure). */
sw_err store_put_fd(struct store *st, const char *key, int fd, uint64_t size,
    const struct store_put_opts *opts, struct store_info *info);

/* DELETE (absent keys are not an error, as in S3). */
sw_err store_delete(struct store *st, const char *key);

/* Abandon what an interrupted store_put_fd() of key left behind: in S3
 * every multipart upload in progress for exactly that key (they hold
 * storage until aborted), in a directory the temporary files of puts
 * beside it.  *n (may be NULL) counts them.  Call it only when no other
 * process is uploading the key.  A store that does not implement
 * ListMultipartUploads or AbortMultipartUpload (501) is
 * SW_ERR_UNSUPPORTED after one request, the message naming the bucket and
 * the lifecycle rule (AbortIncompleteMultipartUpload) to set instead:
 * housekeeping, which the caller may warn about and go on without. */
sw_err store_abort_uploads(struct store *st, const char *key, unsigned *n);

/*
 * Requests a store made since it was opened, by kind: with S3 one per
 * HTTP request (LIST one per page of up to 1,000 keys; a multipart upload
 * counts its POSTs and each part's PUT; a retry is not counted again),
 * with a directory one per operation.  bytes_read: object bytes received
 * by GETs, and the sizes of the objects store_open_object() opened.
 */
enum store_req {
	STORE_REQ_LIST, STORE_REQ_GET, STORE_REQ_HEAD, STORE_REQ_PUT,
	STORE_REQ_POST, STORE_REQ_DELETE, STORE_REQ_KINDS
};
struct store_stats {
	unsigned long req[STORE_REQ_KINDS];
	uint64_t bytes_read;
};
void store_stats(const struct store *st, struct store_stats *out);
/* "LIST", "GET", ... */
const char *store_req_name(enum store_req k);
/* "3 requests: 1 LIST, 2 GET" (kinds with none left out) into out. */
void store_stats_format(const struct store_stats *s, char *out,
    size_t outlen);

/* Check that a key is acceptable as a relative key: not empty, no leading
 * '/', no "." or ".." segment, no NUL, no empty segment except a trailing
 * '/'.  Used by the file backend so no key can escape its directory. */
int store_key_ok(const char *key);

#endif
