/*
 * sigv4.h - AWS Signature Version 4 for the Authorization header.
 *
 * The signer is a pure function of its arguments: it reads no clock, no
 * environment and no global state, so any thread may call it at any time.
 * The caller builds the request (path, query, headers) exactly as it will
 * send it, passes the time it wrote into x-amz-date, and gets back the
 * value of the Authorization header.  Presigned URLs and chunked
 * (streaming) payload signatures are not implemented.
 *
 * Output buffers belong to the caller, who frees them with buf_release().
 * Whatever they held before the call is discarded; they are filled only on
 * success and left empty on failure.
 */
#ifndef SWREPART_SIGV4_H
#define SWREPART_SIGV4_H

#include <stddef.h>
#include <time.h>

#include "base/err.h"
#include "base/util.h"

/* The hash of an empty body, for requests without one. */
#define SIGV4_EMPTY_SHA256 \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"

struct sigv4_header {
	const char *name;
	const char *value;
};

struct sigv4_request {
	const char *method;     /* "GET" */
	/*
	 * The path exactly as sent on the wire, already percent-encoded:
	 * "/bucket/raw/a%20b.avro".  NULL or "" means "/".
	 */
	const char *path;
	/* The query string as sent, without '?'; NULL or "" when none. */
	const char *query;
	/*
	 * The headers to sign, as sent: host and x-amz-date are required;
	 * S3 also wants x-amz-content-sha256 (the payload hash) and, with
	 * temporary credentials, x-amz-security-token.  Names are matched
	 * case-insensitively; a name given several times has its values
	 * joined with ',' in the order given.  Values must not contain CR or
	 * LF (no obsolete line folding).
	 */
	const struct sigv4_header *headers;
	size_t nheaders;
	/* Lowercase hex SHA-256 of the body, or SIGV4_UNSIGNED_PAYLOAD. */
	const char *payload_hash;
};

struct sigv4_key {
	const char *access_key;
	const char *secret_key;
	/*
	 * NULL for long-term keys.  When set, the request must carry it in an
	 * x-amz-security-token header among the signed headers (S3 requires
	 * it signed); sigv4_sign() fails if that header is missing or holds
	 * another value.  The signer never adds the header itself: it does
	 * not send the request.
	 */
	const char *session_token;
};

struct sigv4_scope {
	const char *region;     /* "eu-west-1" */
	const char *service;    /* "s3", "iotsitewise" */
	/*
	 * 1 for S3: the path is signed as given (it must be validly
	 * percent-encoded), without dot-segment normalization.  0 for other
	 * services: "." and ".." segments and empty segments are removed and
	 * every segment is percent-encoded again ("double encoding").
	 */
	int s3_rules;
};

/*
 * Writes t as the x-amz-date form, "20150830T123600Z".  out is "" when t is
 * outside the years 0000-9999.
 */
void sigv4_amz_date(time_t t, char out[17]);

/*
 * Signs req for scope at time t, which must be the time written in the
 * request's x-amz-date header (checked).  On success authorization holds
 * the Authorization header value ("AWS4-HMAC-SHA256 Credential=...,
 * SignedHeaders=..., Signature=...").
 *
 * canonical_request and string_to_sign, when not NULL, receive the two
 * intermediate texts for tests and debug logs.  They never contain the
 * secret key; the value of x-amz-security-token is replaced by
 * "<redacted>" in canonical_request (the string to sign still hashes the
 * real one), so both may be logged as they are.
 *
 * Errors: SW_ERR_INTERNAL for a request the caller built wrong: no host or
 * x-amz-date header, an x-amz-date other than t, an x-amz-content-sha256
 * other than payload_hash, a session token not signed or different, an S3
 * path not in sigv4_uri_encode() form, a malformed query escape, a bad
 * header name or a CR/LF in a value; SW_ERR_CREDS for a missing key.
 * Messages name the faulty part but never a secret.
 */
sw_err sigv4_sign(const struct sigv4_request *req, const struct sigv4_key *key,
    const struct sigv4_scope *scope, time_t t, struct buf *authorization,
    struct buf *canonical_request, struct buf *string_to_sign);

/*
 * Appends s[0..n) to out percent-encoded the AWS way: A-Z a-z 0-9 - _ . ~
 * stay as they are, every other byte becomes %XX (uppercase hex), '/'
 * included unless encode_slash is 0.  Use encode_slash=0 for S3 object
 * keys in a path and 1 for query keys and values; then the query is
 * already in canonical form and the signature does not depend on how the
 * server decodes '+'.
 */
void sigv4_uri_encode(struct buf *out, const char *s, size_t n,
    int encode_slash);

#endif
