/*
 * fuzz_common.h - what the libFuzzer harnesses share: inputs as file
 * descriptors and paths without touching the disk (memfd), inputs cut
 * into parts, a quiet process, and a loopback HTTP server that answers
 * the project's HTTP clients with responses taken from the input.
 *
 * Nothing here writes a file: memfds live in memory, and the server
 * listens on 127.0.0.1 only, on a port the kernel picks.
 */
#ifndef SWREPART_FUZZ_COMMON_H
#define SWREPART_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* Abort with a message when an invariant does not hold: libFuzzer keeps
 * the input as a crash. */
#define FUZZ_ASSERT(cond, ...)                                        \
	do {                                                          \
		if (!(cond))                                          \
			fuzz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__); \
	} while (0)
void fuzz_fail(const char *file, int line, const char *cond,
    const char *fmt, ...) __attribute__((noreturn, format(printf, 4, 5)));

struct sw_config;

/* Once per process: no log lines below errors (set FUZZ_VERBOSE=1 to see
 * them all), no AWS settings of the machine (files, profile, keys,
 * container and instance endpoints). */
void fuzz_init(void);

/* A memfd holding the n bytes at data, offset 0.  Aborts on failure. */
int fuzz_memfd(const void *data, size_t n);
/* "/proc/self/fd/N": a path naming fd, for APIs that take a path. */
void fuzz_fd_path(int fd, char out[64]);

/* Cut data at each occurrence of sep into at most max parts (the last
 * part keeps the rest).  Returns the number of parts (>= 1); part i is
 * p[i], len[i] bytes, pointing into data. */
size_t fuzz_split(const uint8_t *data, size_t n, const char *sep,
    const uint8_t **p, size_t *len, size_t max);
/* A NUL-terminated copy (caller frees). */
char *fuzz_strndup(const void *p, size_t n);

/*
 * The loopback HTTP server.  fuzz_http_start() starts it once and
 * returns its base URL ("http://127.0.0.1:PORT").  Each request is
 * answered with the next queued response, in order; once the queue is
 * empty, with 404 and an S3-style NoSuchKey error, so that any loop over
 * requests ends.  A response is given as text in the input:
 *
 *     STATUS\n                          (e.g. "200"; see below)
 *     Header-Name: value\n              (zero or more, then)
 *     \n
 *     body...
 *
 * Only headers the project reads are sent (ETag, Last-Modified,
 * Content-Type, x-amz-bucket-region, x-amzn-ErrorType); the rest, and
 * malformed lines, are dropped, so the input fuzzes swrepart's code and
 * not curl's HTTP framing.  A status outside 200..499 becomes 200 (no
 * 5xx: the clients sleep before retrying those), unless allow_5xx.
 */
const char *fuzz_http_start(void);
/* Queue the responses described by the n parts; reset the counters. */
void fuzz_http_queue(const uint8_t *const *p, const size_t *len, size_t n,
    int allow_5xx);
/* Requests answered since the last fuzz_http_queue(), and how many of
 * them took a queued response. */
unsigned fuzz_http_requests(void);
unsigned fuzz_http_used(void);
/* Only these request headers are expected (NULL-ended, case-insensitive;
 * NULL: any).  fuzz_http_unexpected() names the first other header line,
 * or line with a control character (a bare CR), that a request carried
 * since the last fuzz_http_queue() (a header injected through a value
 * the client took from an answer), or returns NULL. */
void fuzz_http_expect_headers(const char *const *names);
const char *fuzz_http_unexpected(void);

/* Once per process (later calls return at once): fuzz_init(), then cfg
 * with the defaults and what the HTTP harnesses share: fuzz keys in the
 * environment, region eu-west-1, no retries, short timeouts; and
 * *endpoint, one of cfg's URLs, at fuzz_http_start(). */
void fuzz_aws_config(struct sw_config *cfg, char **endpoint);
/* What holds after a call that n queued answers served and that returned
 * rc: an error carries a message, no answer makes an internal error, no
 * request carried a header line of the answers' making, and the requests
 * stay bounded. */
void fuzz_http_check(sw_err rc, size_t n);

/* The records of the Avro file at fd (read from its start, at most limit
 * bytes: OCF_TO_EOF for all), each block decompressed and its count
 * checked; -1 when any of that fails. */
int64_t fuzz_ocf_records(int fd, uint64_t limit);
/* The same for a file held in memory. */
int64_t fuzz_ocf_records_mem(const void *p, size_t n);

#endif
