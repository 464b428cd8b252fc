/*
 * http.h - AWS requests over libcurl with retries and connection reuse,
 * shared by the S3 store (store_s3.c), IoT SiteWise (sitewise.c), signed,
 * and the credential providers (creds.c), unsigned.
 */
#ifndef SWREPART_HTTP_H
#define SWREPART_HTTP_H

#include <stdint.h>

#include "aws/sigv4.h"
#include "base/err.h"
#include "base/sink.h"
#include "base/util.h"

struct creds_provider;
struct http_client;
struct http_shared;
struct sw_config;

/*
 * What the clients of one session share (see session.h): DNS answers, TLS
 * sessions, idle easy handles with their open connections, and a budget
 * of at most max_inflight requests on the wire at once (0: no cap), held
 * only while a request is sent and answered, never during a back-off.
 * Thread-safe.  Free it after every client that uses it.
 */
sw_err http_shared_new(unsigned max_inflight, struct http_shared **out);
void http_shared_free(struct http_shared *sh);
struct http_stats {
	unsigned max_inflight;
	unsigned inflight;      /* now */
	unsigned peak;          /* the most at once so far */
	unsigned long requests; /* attempts sent so far */
};
void http_shared_stats(struct http_shared *sh, struct http_stats *st);

struct http_client_opts {
	const char *service;          /* SigV4 signing name: "s3" */
	int s3_rules;                 /* sign the S3 way (sigv4.h) */
	const char *region;
	struct creds_provider *creds; /* borrowed: outlives the client; NULL:
	                                 requests are sent unsigned */
	struct http_shared *shared;   /* borrowed; NULL: the client's own */
	int tls_verify;
	const char *ca_bundle;        /* NULL: the system's */
	unsigned max_retries;
	double retry_max_time;        /* seconds */
	long connect_timeout;         /* seconds */
	long request_timeout;         /* seconds without progress */
	long connect_timeout_ms;      /* when > 0, instead of connect_timeout */
	long timeout_ms;              /* > 0: a whole attempt's limit */
};

sw_err http_client_new(const struct http_client_opts *o,
    struct http_client **out);
/* A client with the settings of cfg (TLS, CA bundle, retries, timeouts),
 * over shared (borrowed; NULL: its own). */
sw_err http_client_from_config(const struct sw_config *cfg,
    const char *service, int s3_rules, const char *region,
    struct creds_provider *creds, struct http_shared *shared,
    struct http_client **out);
void http_client_free(struct http_client *c);

/* One request. */
struct http_req {
	const char *method;
	const char *scheme;       /* "https" */
	const char *host;         /* the Host header, port included */
	const char *path;         /* percent-encoded, as signed and sent */
	const char *query;        /* encoded query, or NULL */
	const struct sigv4_header *extra;  /* more headers to send and sign */
	size_t nextra;
	/* body */
	const char *body;         /* memory body, or NULL */
	int body_fd;              /* file body when body is NULL and fd >= 0 */
	uint64_t body_off, body_len;
	const char *payload_hash; /* NULL: the empty body's */
	/* GET */
	sw_sink_fn sink;       /* a 2xx body goes here when set */
	void *sink_arg;
	int ranged;
	uint64_t range_off, range_len;  /* len 0: to the end */
	/* for messages: what = "list 's3://b/p'", bucket for hints or NULL */
	const char *what;
	const char *bucket;
	/* Unsigned requests (a client without credentials: IMDS, the ECS
	 * container endpoint) name the whole URL, and what logs and
	 * messages show of it (show_url; NULL: url), as it may hold a
	 * secret path.  With any_status, an answer that is not 2xx ends
	 * the request with SW_OK and resp->status (5xx and 429 after the
	 * retries), for the caller to judge. */
	const char *url;
	const char *show_url;
	int any_status;
};

/* What came back. */
struct http_resp {
	long status;
	struct buf body;          /* unless streamed to the sink */
	char etag[80];
	char region_hint[64];     /* x-amz-bucket-region */
	char error_type[128];     /* x-amzn-ErrorType */
	uint64_t content_length;
	int has_content_length;
	uint64_t total_size;      /* from Content-Range, or Content-Length */
	uint64_t range_start;     /* Content-Range's first byte, or UINT64_MAX */
	int64_t mtime;
	char bad_header[96];      /* a number not to believe ("name: value") */
	char err_code[64];        /* a failed request's error code, or "" */
	/* bookkeeping for streamed bodies */
	uint64_t delivered;
	sw_err sink_rc;
	int sink_failed;
};

/*
 * Run q with retries.  On success resp holds a 2xx status, the headers and
 * (when q->sink is NULL) the body: release it with buf_release(&resp->body).
 * On failure the message names q->what, the server's code and message, or
 * the endpoint that could not be reached.
 */
sw_err http_perform(struct http_client *c, const struct http_req *q,
    struct http_resp *resp);

/*
 * A guard for paged calls (ListObjectsV2, ListMultipartUploads,
 * ListTimeSeries): a server that gives a continuation token it already
 * gave in the same listing, or pages without end, must not keep a client
 * busy forever.  Call http_pager_next() once per page answered, with the
 * token that page gives for the next (NULL or len 0 on the last page):
 * SW_ERR_PROTO, with a message naming what, when the token repeats any
 * earlier one or when max_pages pages did not reach the end.
 */
struct pager_slot;
struct http_pager {
	const char *what;              /* "list 's3://b/p/'", borrowed */
	unsigned long pages, max_pages;
	struct pager_slot *slots;
	size_t nslots, nused;
};
void http_pager_init(struct http_pager *pg, const char *what,
    unsigned long max_pages);
sw_err http_pager_next(struct http_pager *pg, const void *token, size_t len);
void http_pager_release(struct http_pager *pg);

/* Append k=v to a query string, both encoded the AWS way (so the query
 * is already in SigV4's canonical form). */
void http_query_add(struct buf *q, const char *k, const char *v);

#endif
