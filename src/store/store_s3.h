/*
 * s3.h - the pure parts of the S3 backend (s3.c), exposed for unit tests:
 * where requests go, and what a listing answer says.  Everything else of
 * S3 is reached through store.h.
 */
#ifndef SWREPART_S3_H
#define SWREPART_S3_H

#include <stddef.h>

#include "base/util.h"
#include "store/store.h"

struct s3_endpoint {
	char *scheme;     /* "https" */
	char *host;       /* the Host header: "bucket.s3.eu-west-1.amazonaws.com" */
	char *path_base;  /* "" (virtual-hosted) or "/bucket" (path style) */
};

/* Where requests for bucket go.  style is "auto", "path" or "virtual";
 * auto is virtual-hosted on AWS and path style for a custom endpoint or a
 * bucket name with dots.  Free with s3_endpoint_release(). */
sw_err s3_endpoint_resolve(const char *bucket, const char *region,
    const char *endpoint_url, const char *style, struct s3_endpoint *out);
void s3_endpoint_release(struct s3_endpoint *e);

/* Parse one ListObjectsV2 answer: fn gets each entry whose key starts with
 * root, with root stripped (keys are URL-decoded when the answer says
 * EncodingType url).  A <Size> that is not a plain decimal number of at
 * most 2^62 is SW_ERR_PROTO naming the key.  token receives
 * NextContinuationToken when the listing is truncated, else "".  what
 * names the listing in messages. */
sw_err s3_parse_list(const struct buf *xml, const char *root,
    store_list_fn fn, void *arg, char *token, size_t toklen,
    const char *what);

#endif
