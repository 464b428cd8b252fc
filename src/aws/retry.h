/*
 * retry.h - when an AWS request is asked again, and after how long.
 *
 * The rules of http_perform()'s loop (http.c), kept apart as plain
 * functions so that they are tested alone (tests/unit/t_retry.c).
 */
#ifndef SWREPART_RETRY_H
#define SWREPART_RETRY_H

#define RETRY_BACKOFF_BASE 0.1  /* seconds, before the second attempt */
#define RETRY_BACKOFF_CAP 20.0  /* seconds, longest single wait */
#define RETRY_CONNECT_ATTEMPTS 3 /* a refused connection is rarely transient */

/*
 * Whether an HTTP answer may differ if asked again: server errors (but
 * 501 NotImplemented: the store lacks the API), 429, S3's 409
 * ConditionalRequestConflict (a conditional write raced another one) and
 * the 400s that mean "slow down" or "too slow".  code is the answer's AWS
 * error code ("" if none).  Every other 4xx is the same answer next time.
 */
int retry_status(long status, const char *code);

/*
 * Whether a transport failure (a CURLcode) is transient: timeouts,
 * resets, truncated bodies, TLS handshakes and HTTP/2 stream errors.  A
 * refused connection is, until connect_fails refusals in a row reach
 * RETRY_CONNECT_ATTEMPTS.
 */
int retry_transport(int curl_code, unsigned connect_fails);

/*
 * The wait before attempt + 1: RETRY_BACKOFF_BASE doubled per attempt,
 * capped at RETRY_BACKOFF_CAP, times jitter (uniform in [0, 1): "full
 * jitter").
 */
double retry_backoff(unsigned attempt, double jitter);

/*
 * Whether attempt + 1 may start: attempt (1 for the first) has not used
 * up max_retries retries, and waiting delay more seconds keeps the
 * request within max_time seconds of its start (elapsed so far).
 */
int retry_within(unsigned attempt, unsigned max_retries, double elapsed,
    double delay, double max_time);

#endif
