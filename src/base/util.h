/*
 * util.h - small helpers shared by every module: a growable byte buffer,
 * hex and SHA-256 helpers, secret wiping, checked allocation.
 */
#ifndef SWREPART_UTIL_H
#define SWREPART_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/sink.h"

/*
 * A growable, always NUL-terminated byte buffer.  A zeroed struct is empty.
 * Like git's strbuf, growing cannot fail: running out of memory (or a size
 * that overflows) aborts with a message (xoom()), so the functions that add
 * to a buffer return nothing.  buf_sink alone returns sw_err, because it is
 * a sw_sink_fn; it too always returns SW_OK.
 */
struct buf {
	char *data;
	size_t len;
	size_t cap;
};

void buf_init(struct buf *b);
/* Free the storage; the buffer is empty and reusable afterwards. */
void buf_release(struct buf *b);
/* Like buf_release, but wipes the contents first (for secrets). */
void buf_wipe(struct buf *b);
void buf_reserve(struct buf *b, size_t extra);
void buf_append(struct buf *b, const void *p, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Hand the storage to the caller (who frees it) and empty the buffer. */
char *buf_detach(struct buf *b);
/* A sw_sink_fn (base/sink.h) that appends to the struct buf at arg. */
sw_err buf_sink(void *arg, const void *p, size_t n);

/* Lowercase hex of n bytes into out (2n+1 bytes). */
void hex_encode(const unsigned char *p, size_t n, char *out);
/* Write the n bytes at p to fd, again after EINTR and short writes: 0,
 * or -1 with errno set. */
int write_full(int fd, const void *p, size_t n);
/* Send the first size bytes of fd to fn in order, read with pread (the
 * offset is untouched) in chunks of at most 1 MiB that never cross a
 * multiple of boundary (0: no boundary); name names the file in
 * messages.  A short file is SW_ERR_IO; fn's error stops it. */
sw_err fd_stream(int fd, uint64_t size, uint64_t boundary, const char *name,
    sw_sink_fn fn, void *arg);
/* The MD5 of the first size bytes of fd (fd_stream), as 32 hex digits. */
sw_err fd_md5_hex(int fd, uint64_t size, const char *name, char out[33]);
/* SHA-256 of n bytes as 64 lowercase hex digits + NUL. */
void sha256_hex(const void *p, size_t n, char out[65]);

/* The qsort(3)/bsearch(3) comparator of an array of strings (char *). */
int strv_cmp(const void *a, const void *b);
/* Free the n strings of v, then v; accepts NULL. */
void strv_free(char **v, size_t n);

/* Wipe and free a string holding a secret; accepts NULL. */
void freezero_str(char *s);

/*
 * Allocation that cannot fail: on failure, or when a size overflows, they
 * log "out of memory" and abort(), as git's xmalloc does.  Every module
 * allocates through them (struct buf too), so no caller checks for NULL.
 */
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
/* realloc(p, n * size), the product checked (OpenBSD's reallocarray). */
void *xreallocarray(void *p, size_t n, size_t size);
/* Make the array p of *cap elements of size bytes hold at least need:
 * when it does not, its capacity doubles (from 16, or need if larger) and
 * *cap says the new one.  Returns the array, moved or not.  The one way
 * arrays grow:  v = xgrowarray(v, &cap, n + 1, sizeof(*v));  v[n++] = x; */
void *xgrowarray(void *p, size_t *cap, size_t need, size_t size);
/* Say "out of memory" with the size asked for (n elements of size bytes),
 * and abort(). */
void xoom(size_t n, size_t size) __attribute__((noreturn));

/* Parse "64M", "1G", "512k", "100" (bytes, binary units).  0 on success. */
int parse_size(const char *s, uint64_t *out);
/* The largest size or count believed from the network (2^62 bytes is
 * beyond any object; sums of such numbers cannot wrap a uint64_t). */
#define NET_NUMBER_MAX (UINT64_C(1) << 62)
/* Parse a decimal number that another party sent (a <Size>, a
 * Content-Length): digits only, no sign, blank, unit or other character,
 * at most max.  0 on success, -1 otherwise (*out untouched). */
int parse_u64_strict(const char *s, uint64_t max, uint64_t *out);
/* Remove path and, when it is a directory, everything below it, depth
 * first (nftw(3) with FTW_DEPTH | FTW_PHYS): a symbolic link is removed,
 * never followed.  Every entry is tried; 0 when all went, else -1 with
 * errno of the first that stayed. */
int rmtree(const char *path);

/* Format bytes as "12.3 MiB". */
void format_size(uint64_t n, char *out, size_t outlen);

/* Monotonic clock in seconds. */
double now_mono(void);
/* Seconds since the epoch, with a fraction (wall clock). */
double now_wall(void);

/* An S3 ETag is the MD5 of the object ("\"<32 hex>\"") unless the object
 * was uploaded in parts ("...-N") or encrypted with KMS. */
int etag_is_md5(const char *etag);

#endif
