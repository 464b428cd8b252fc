/*
 * s3.c - the s3://BUCKET[/PREFIX] store backend: S3 over libcurl.
 *
 * Every request goes through s3_perform(): it signs with our own SigV4
 * signer (sigv4.c), sends with a reused easy handle (connections, DNS and
 * TLS sessions are shared through a CURLSH), and retries with exponential
 * back-off and full jitter on 5xx, 429, SlowDown, RequestTimeout, timeouts,
 * resets and truncated bodies, bounded in count (aws.max_retries) and time
 * (aws.retry_max_time).  A GET that was cut off resumes with a Range from
 * the first byte not yet delivered, guarded by If-Match on the ETag, so a
 * streamed body is never delivered twice.  Other 4xx fail at once with the
 * server's code and message.
 *
 * Threads: any number of threads may call into one client at once; each
 * request borrows an idle easy handle from a small free list.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/evp.h>

#include "creds.h"
#include "log.h"
#include "options.h"
#include "s3.h"
#include "sigv4.h"
#include "store_impl.h"
#include "util.h"

#define XML_MAX (8u << 20)     /* cap on a buffered response body */
#define BACKOFF_BASE 0.1       /* seconds */
#define BACKOFF_CAP 20.0
#define CONNECT_ATTEMPTS 3     /* a refused connection is rarely transient */

struct s3 {
	char *bucket;
	char *root;            /* key prefix from s3://bucket/PREFIX/, or "" */
	char *scheme;          /* "https" */
	char *host;            /* Host header: "bucket.s3.eu-west-1..." */
	char *path_base;       /* "" (virtual) or "/bucket" (path style) */
	char *region;
	struct creds_provider *creds;
	const struct sw_config *cfg_unused;
	int tls_verify;
	char *ca_bundle;
	unsigned max_retries;
	double retry_max_time;
	long connect_timeout, request_timeout;
	uint64_t part_size, multipart_threshold;

	CURLSH *share;
	pthread_mutex_t share_mu[CURL_LOCK_DATA_LAST];
	pthread_mutex_t handles_mu;
	CURL **handles;
	size_t nhandles, caphandles;
};

/* One request and what came back. */
struct s3_req {
	const char *method;
	const char *key;          /* full key (root included), NULL: bucket */
	const char *query;        /* encoded query, or NULL */
	const struct sigv4_header *extra;  /* more headers to send and sign */
	size_t nextra;
	/* body */
	const char *body;         /* memory body, or NULL */
	int body_fd;              /* file body when body is NULL and fd >= 0 */
	uint64_t body_off, body_len;
	const char *payload_hash; /* NULL: the empty body's */
	/* GET */
	store_sink_fn sink;       /* 2xx body goes here when set */
	void *sink_arg;
	int ranged;
	uint64_t range_off, range_len;  /* len 0: to the end */
	/* for messages: "list 's3://b/p'" */
	const char *what;
};

struct s3_resp {
	long status;
	struct buf body;          /* error bodies and XML answers */
	char etag[80];
	char region_hint[64];
	uint64_t content_length;
	int has_content_length;
	uint64_t total_size;      /* from Content-Range, or Content-Length */
	int64_t mtime;
	/* bookkeeping for streamed bodies */
	uint64_t delivered;
	sw_err sink_rc;
	int sink_failed;
	int buffering;            /* body goes to resp.body, not the sink */
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void
global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	xmlInitParser();
}

static struct s3 *
S3(struct store *st)
{
	return st->impl;
}

/* ---- small helpers ---- */

static _Thread_local uint64_t rng_state;

/* Uniform in [0, 1), from a per-thread generator seeded by getrandom. */
static double
jitter(void)
{
	uint64_t z;

	if (rng_state == 0 &&
	    getrandom(&rng_state, sizeof(rng_state), 0) != sizeof(rng_state))
		rng_state = (uint64_t)time(NULL) ^ (uint64_t)pthread_self();
	z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return (double)(z >> 11) / 9007199254740992.0;
}

static void
sleep_seconds(double s)
{
	struct timespec ts;

	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void
base64(const unsigned char *p, size_t n, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
}

/* Percent-decode s in place (for encoding-type=url listings). */
static void
url_decode(char *s)
{
	char *w = s;

	for (; *s != '\0'; s++) {
		if (*s == '%' && s[1] != '\0' && s[2] != '\0') {
			char hex[3] = { s[1], s[2], '\0' };
			char *end;
			long v = strtol(hex, &end, 16);

			if (*end == '\0') {
				*w++ = (char)v;
				s += 2;
				continue;
			}
		}
		*w++ = *s == '+' ? ' ' : *s;
	}
	*w = '\0';
}

/* ---- curl plumbing ---- */

static void
share_lock(CURL *h, curl_lock_data data, curl_lock_access acc, void *u)
{
	struct s3 *c = u;

	(void)h;
	(void)acc;
	pthread_mutex_lock(&c->share_mu[data]);
}

static void
share_unlock(CURL *h, curl_lock_data data, void *u)
{
	struct s3 *c = u;

	(void)h;
	pthread_mutex_unlock(&c->share_mu[data]);
}

static CURL *
handle_take(struct s3 *c)
{
	CURL *h = NULL;

	pthread_mutex_lock(&c->handles_mu);
	if (c->nhandles > 0)
		h = c->handles[--c->nhandles];
	pthread_mutex_unlock(&c->handles_mu);
	if (h == NULL && (h = curl_easy_init()) == NULL)
		abort();
	curl_easy_reset(h);
	return h;
}

static void
handle_give(struct s3 *c, CURL *h)
{
	pthread_mutex_lock(&c->handles_mu);
	if (c->nhandles == c->caphandles) {
		c->caphandles = c->caphandles ? c->caphandles * 2 : 16;
		c->handles = xrealloc(c->handles,
		    c->caphandles * sizeof(*c->handles));
	}
	c->handles[c->nhandles++] = h;
	pthread_mutex_unlock(&c->handles_mu);
}

struct xfer {
	const struct s3_req *req;
	struct s3_resp *resp;
	CURL *h;
	uint64_t sent;            /* body bytes sent in this attempt */
};

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	struct s3_resp *r = x->resp;
	size_t len = size * n, vlen;
	char *colon, val[256];

	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		/* A new response (after 100 Continue or a redirect). */
		r->etag[0] = '\0';
		r->has_content_length = 0;
		r->total_size = 0;
		return len;
	}
	colon = memchr(p, ':', len);
	if (colon == NULL)
		return len;
	vlen = len - (size_t)(colon + 1 - p);
	while (vlen > 0 && (colon[1] == ' ' || colon[1] == '\t')) {
		colon++;
		vlen--;
	}
	while (vlen > 0 && (colon[vlen] == '\r' || colon[vlen] == '\n' ||
	    colon[vlen] == ' '))
		vlen--;
	if (vlen >= sizeof(val))
		vlen = sizeof(val) - 1;
	memcpy(val, colon + 1, vlen);
	val[vlen] = '\0';
#define IS(h) ((size_t)(colon - p) >= sizeof(h) - 1 && \
	strncasecmp(p, h, sizeof(h) - 1) == 0)
	if (IS("etag"))
		snprintf(r->etag, sizeof(r->etag), "%s", val);
	else if (IS("content-length")) {
		r->content_length = strtoull(val, NULL, 10);
		r->has_content_length = 1;
		if (r->total_size == 0)
			r->total_size = r->content_length;
	} else if (IS("content-range")) {
		char *slash = strrchr(val, '/');

		if (slash != NULL && slash[1] != '*')
			r->total_size = strtoull(slash + 1, NULL, 10);
	} else if (IS("x-amz-bucket-region"))
		snprintf(r->region_hint, sizeof(r->region_hint), "%s", val);
	else if (IS("last-modified"))
		r->mtime = (int64_t)curl_getdate(val, NULL);
#undef IS
	return len;
}

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	struct s3_resp *r = x->resp;
	size_t len = size * n;
	long status = 0;

	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 200 && status < 300 && x->req->sink != NULL) {
		sw_err rc = x->req->sink(x->req->sink_arg, p, len);

		if (rc != SW_OK) {
			r->sink_rc = rc;
			r->sink_failed = 1;
			return 0; /* abort the transfer */
		}
		r->delivered += len;
		return len;
	}
	if (r->body.len + len > XML_MAX)
		return 0;
	if (buf_append(&r->body, p, len) != SW_OK)
		return 0;
	return len;
}

static size_t
on_read(char *dst, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	const struct s3_req *q = x->req;
	size_t want = size * n;
	uint64_t left = q->body_len - x->sent;

	if (want > left)
		want = (size_t)left;
	if (want == 0)
		return 0;
	if (q->body != NULL) {
		memcpy(dst, q->body + x->sent, want);
	} else {
		ssize_t r = pread(q->body_fd, dst, want,
		    (off_t)(q->body_off + x->sent));

		if (r <= 0)
			return CURL_READFUNC_ABORT;
		want = (size_t)r;
	}
	x->sent += want;
	return want;
}

static int
on_seek(void *arg, curl_off_t off, int origin)
{
	struct xfer *x = arg;

	if (origin != SEEK_SET || off < 0 ||
	    (uint64_t)off > x->req->body_len)
		return CURL_SEEKFUNC_FAIL;
	x->sent = (uint64_t)off;
	return CURL_SEEKFUNC_OK;
}

/* ---- XML ---- */

static xmlNode *
xml_child(xmlNode *n, const char *name)
{
	for (n = n ? n->children : NULL; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE &&
		    strcmp((const char *)n->name, name) == 0)
			return n;
	return NULL;
}

/* The text of child name of n, copied into out; "" when absent. */
static const char *
xml_text(xmlNode *n, const char *name, char *out, size_t outlen)
{
	xmlNode *c = xml_child(n, name);
	xmlChar *t;

	out[0] = '\0';
	if (c == NULL)
		return out;
	t = xmlNodeGetContent(c);
	if (t != NULL) {
		snprintf(out, outlen, "%s", (const char *)t);
		xmlFree(t);
	}
	return out;
}

static xmlDoc *
xml_parse(const struct buf *b)
{
	if (b->len == 0 || b->len > INT32_MAX)
		return NULL;
	return xmlReadMemory(b->data, (int)b->len, NULL, NULL,
	    XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOERROR |
	    XML_PARSE_NOWARNING);
}

/* ---- the request loop ---- */

static int
retryable_curl(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return 1;
	default:
		return 0;
	}
}

static int
retryable_status(long status, const char *code)
{
	if (status >= 500 || status == 429)
		return 1;
	return status == 400 && (strcmp(code, "RequestTimeout") == 0 ||
	    strcmp(code, "SlowDown") == 0);
}

/* Map a final HTTP error to a code and a message a person can act on. */
static sw_err
http_error(struct s3 *c, const struct s3_req *q, struct s3_resp *r,
    unsigned attempts, double elapsed)
{
	char code[128], msg[512], extra[160] = "";
	const char *hint = "";
	xmlDoc *doc = xml_parse(&r->body);
	xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
	sw_err ec;

	code[0] = msg[0] = '\0';
	if (root != NULL && strcmp((const char *)root->name, "Error") == 0) {
		xml_text(root, "Code", code, sizeof(code));
		xml_text(root, "Message", msg, sizeof(msg));
	}
	xmlFreeDoc(doc);
	if (code[0] == '\0') {
		/* HEAD answers carry no body. */
		snprintf(code, sizeof(code), "%s", r->status == 404 ?
		    "NotFound" : r->status == 403 ? "Forbidden" :
		    r->status == 301 ? "PermanentRedirect" : "HttpError");
	}
	if (r->status == 403) {
		ec = SW_ERR_AUTH;
		if (strcmp(code, "SignatureDoesNotMatch") == 0)
			hint = " (check the secret access key)";
		else if (strcmp(code, "InvalidAccessKeyId") == 0)
			hint = " (the access key id is not known)";
		else if (strcmp(code, "ExpiredToken") == 0)
			hint = " (the session token has expired)";
	} else if (r->status == 404) {
		ec = SW_ERR_NOTFOUND;
		if (strcmp(code, "NoSuchBucket") == 0) {
			snprintf(extra, sizeof(extra), " (bucket '%s' does not "
			    "exist)", c->bucket);
			hint = extra;
		}
	} else if (r->status == 301 || r->status == 307 ||
	    strcmp(code, "AuthorizationHeaderMalformed") == 0) {
		ec = SW_ERR_CONFIG;
		if (r->region_hint[0] != '\0') {
			snprintf(extra, sizeof(extra), " (bucket '%s' is in "
			    "region '%s': set aws.region or AWS_REGION)",
			    c->bucket, r->region_hint);
			hint = extra;
		}
	} else if (r->status == 412) {
		ec = SW_ERR_EXISTS;
	} else if (retryable_status(r->status, code)) {
		ec = SW_ERR_SERVER;
		snprintf(extra, sizeof(extra), " (gave up after %u attempts "
		    "in %.1f s)", attempts, elapsed);
		hint = extra;
	} else {
		ec = SW_ERR_PROTO;
	}
	return sw_seterr(ec, "cannot %s: %ld %s%s%s%s", q->what, r->status,
	    code, msg[0] ? ": " : "", msg, hint);
}

static sw_err
curl_error(struct s3 *c, const struct s3_req *q, CURLcode cc,
    const char *detail, unsigned attempts)
{
	const char *hint = "";

	switch (cc) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
		hint = " (TLS verification failed: set aws.ca_bundle, or "
		    "--no-tls-verify for a test server)";
		break;
	default:
		break;
	}
	return sw_seterr(SW_ERR_NET, "cannot %s: cannot reach '%s://%s': %s%s "
	    "(after %u attempt%s)", q->what, c->scheme, c->host,
	    detail[0] ? detail : curl_easy_strerror(cc), hint, attempts,
	    attempts == 1 ? "" : "s");
}

/* Build the signed header list for one attempt. */
static sw_err
sign_headers(struct s3 *c, const struct s3_req *q, const char *path,
    const char *range, const char *if_match, struct curl_slist **out)
{
	struct sigv4_header hs[24];
	struct aws_creds cr;
	struct sigv4_request sreq;
	struct sigv4_key key;
	struct sigv4_scope scope = { c->region, "s3", 1 };
	struct buf authz, line;
	struct curl_slist *list = NULL;
	char date[17];
	const char *hash = q->payload_hash ? q->payload_hash :
	    SIGV4_EMPTY_SHA256;
	time_t now = time(NULL);
	size_t n = 0, i;
	sw_err rc;

	*out = NULL;
	memset(&cr, 0, sizeof(cr));
	if ((rc = creds_get(c->creds, now, &cr)) != SW_OK)
		return rc;
	sigv4_amz_date(now, date);
	hs[n++] = (struct sigv4_header){ "Host", c->host };
	hs[n++] = (struct sigv4_header){ "x-amz-date", date };
	hs[n++] = (struct sigv4_header){ "x-amz-content-sha256", hash };
	if (cr.session_token != NULL)
		hs[n++] = (struct sigv4_header){ "x-amz-security-token",
		    cr.session_token };
	if (range != NULL)
		hs[n++] = (struct sigv4_header){ "Range", range };
	if (if_match != NULL)
		hs[n++] = (struct sigv4_header){ "If-Match", if_match };
	for (i = 0; i < q->nextra && n < sizeof(hs) / sizeof(hs[0]); i++)
		hs[n++] = q->extra[i];

	sreq.method = q->method;
	sreq.path = path;
	sreq.query = q->query;
	sreq.headers = hs;
	sreq.nheaders = n;
	sreq.payload_hash = hash;
	key.access_key = cr.access_key;
	key.secret_key = cr.secret_key;
	key.session_token = cr.session_token;
	buf_init(&authz);
	buf_init(&line);
	rc = sigv4_sign(&sreq, &key, &scope, now, &authz, NULL, NULL);
	for (i = 0; rc == SW_OK && i < n; i++) {
		line.len = 0;
		buf_printf(&line, "%s: %s", hs[i].name, hs[i].value);
		list = curl_slist_append(list, line.data);
	}
	if (rc == SW_OK) {
		line.len = 0;
		buf_printf(&line, "Authorization: %s", authz.data);
		list = curl_slist_append(list, line.data);
		/* No 100-continue round trip; no default Accept. */
		list = curl_slist_append(list, "Expect:");
		list = curl_slist_append(list, "Accept:");
	}
	buf_wipe(&line);
	buf_release(&authz);
	creds_release(&cr);
	if (rc != SW_OK) {
		curl_slist_free_all(list);
		return rc;
	}
	*out = list;
	return SW_OK;
}

/*
 * Run q with retries.  On success resp holds status 2xx, headers and (when
 * q->sink is NULL) the body.  On failure the message names q->what.
 */
static sw_err
s3_perform(struct s3 *c, const struct s3_req *q, struct s3_resp *resp)
{
	struct buf url, path;
	char range[96], errbuf[CURL_ERROR_SIZE];
	char first_etag[80] = "";
	double start = now_mono(), delay;
	unsigned attempt = 0, connect_fails = 0;
	uint64_t base_delivered = 0;
	sw_err rc = SW_OK;

	memset(resp, 0, sizeof(*resp));
	buf_init(&url);
	buf_init(&path);
	/* Bucket requests go to "/bucket" (path style) or "/" (virtual). */
	buf_puts(&path, c->path_base);
	if (q->key != NULL) {
		buf_putc(&path, '/');
		sigv4_uri_encode(&path, q->key, strlen(q->key), 0);
	} else if (path.len == 0) {
		buf_putc(&path, '/');
	}
	buf_printf(&url, "%s://%s%s", c->scheme, c->host, path.data);
	if (q->query != NULL && *q->query != '\0')
		buf_printf(&url, "?%s", q->query);

	for (;;) {
		struct xfer x = { q, resp, NULL, 0 };
		struct curl_slist *hdrs = NULL;
		const char *range_hdr = NULL;
		CURLcode cc;
		CURL *h;
		uint64_t from;

		attempt++;
		/* Keep what was delivered by earlier attempts. */
		base_delivered = resp->delivered;
		buf_release(&resp->body);
		resp->status = 0;
		resp->sink_failed = 0;
		from = q->range_off + base_delivered;
		if (q->ranged && q->range_len != 0) {
			snprintf(range, sizeof(range), "bytes=%llu-%llu",
			    (unsigned long long)from,
			    (unsigned long long)(q->range_off + q->range_len -
			    1));
			range_hdr = range;
		} else if (q->ranged || base_delivered > 0) {
			snprintf(range, sizeof(range), "bytes=%llu-",
			    (unsigned long long)from);
			range_hdr = range;
		}
		rc = sign_headers(c, q, path.data, range_hdr,
		    base_delivered > 0 && first_etag[0] ? first_etag : NULL,
		    &hdrs);
		if (rc != SW_OK)
			break;

		h = handle_take(c);
		x.h = h;
		errbuf[0] = '\0';
		curl_easy_setopt(h, CURLOPT_URL, url.data);
		/* Send the path as signed: no "./" or "../" squashing. */
		curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(h, CURLOPT_SHARE, c->share);
		curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
		curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
		curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, c->connect_timeout);
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, c->request_timeout);
		curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, (long)c->tls_verify);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST,
		    c->tls_verify ? 2L : 0L);
		if (c->ca_bundle != NULL)
			curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_bundle);
		if (strcmp(q->method, "HEAD") == 0) {
			curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
		} else if (strcmp(q->method, "PUT") == 0 ||
		    strcmp(q->method, "POST") == 0) {
			curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
			curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
			    (curl_off_t)q->body_len);
			curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
			curl_easy_setopt(h, CURLOPT_READDATA, &x);
			curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
			curl_easy_setopt(h, CURLOPT_SEEKDATA, &x);
			if (strcmp(q->method, "POST") == 0)
				curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST,
				    "POST");
		} else if (strcmp(q->method, "GET") != 0) {
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, q->method);
		}
		log_debug("%s %s (attempt %u)", q->method, url.data, attempt);
		cc = curl_easy_perform(h);
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
		handle_give(c, h);
		curl_slist_free_all(hdrs);

		if (resp->sink_failed) {
			rc = resp->sink_rc;
			break;
		}
		if (first_etag[0] == '\0' && resp->etag[0] != '\0')
			snprintf(first_etag, sizeof(first_etag), "%s",
			    resp->etag);
		if (cc == CURLE_OK && resp->status >= 200 &&
		    resp->status < 300) {
			/* A body shorter than announced is a cut-off. */
			if (q->sink != NULL && resp->has_content_length &&
			    resp->delivered - base_delivered <
			    resp->content_length)
				cc = CURLE_PARTIAL_FILE;
			else
				break;
		}
		if (cc == CURLE_OK && resp->status == 412 && base_delivered > 0) {
			rc = sw_seterr(SW_ERR_DATA, "cannot %s: the object "
			    "changed while it was being read", q->what);
			break;
		}
		if (cc == CURLE_COULDNT_CONNECT)
			connect_fails++;
		{
			char code[64] = "";
			int again;
			double elapsed = now_mono() - start;

			if (cc == CURLE_OK) {
				xmlDoc *doc = xml_parse(&resp->body);
				xmlNode *root = doc ?
				    xmlDocGetRootElement(doc) : NULL;

				if (root != NULL)
					xml_text(root, "Code", code,
					    sizeof(code));
				xmlFreeDoc(doc);
				again = retryable_status(resp->status, code);
			} else {
				again = retryable_curl(cc) &&
				    !(cc == CURLE_COULDNT_CONNECT &&
				    connect_fails >= CONNECT_ATTEMPTS);
			}
			delay = BACKOFF_BASE * (double)(1u << (attempt < 16 ?
			    attempt - 1 : 15));
			if (delay > BACKOFF_CAP)
				delay = BACKOFF_CAP;
			delay *= jitter();
			if (!again || attempt > c->max_retries ||
			    elapsed + delay > c->retry_max_time) {
				if (cc == CURLE_OK)
					rc = http_error(c, q, resp, attempt,
					    elapsed);
				else
					rc = curl_error(c, q, cc, errbuf,
					    attempt);
				break;
			}
			log_info("%s: %s, retrying in %.2f s (attempt %u)",
			    q->what, cc == CURLE_OK ? (code[0] ? code :
			    "server error") : curl_easy_strerror(cc), delay,
			    attempt);
			sleep_seconds(delay);
		}
	}
	buf_release(&url);
	buf_release(&path);
	if (rc != SW_OK)
		buf_release(&resp->body);
	return rc;
}

/* ---- operations ---- */

static char *
full_key(struct s3 *c, const char *key)
{
	struct buf b;

	buf_init(&b);
	buf_puts(&b, c->root);
	buf_puts(&b, key);
	return buf_detach(&b);
}

static void
add_param(struct buf *q, const char *k, const char *v)
{
	if (q->len > 0)
		buf_putc(q, '&');
	sigv4_uri_encode(q, k, strlen(k), 1);
	buf_putc(q, '=');
	sigv4_uri_encode(q, v, strlen(v), 1);
}

sw_err
s3_parse_list(const struct buf *xml, const char *root, store_list_fn fn,
    void *arg, char *token, size_t toklen, const char *what)
{
	size_t rootlen = strlen(root);
	xmlDoc *doc = xml_parse(xml);
	xmlNode *rn = doc ? xmlDocGetRootElement(doc) : NULL, *n;
	char tmp[2048], truncated[16], enc[16];
	int urlenc;
	sw_err rc = SW_OK;

	token[0] = '\0';
	if (rn == NULL || strcmp((const char *)rn->name,
	    "ListBucketResult") != 0) {
		xmlFreeDoc(doc);
		return sw_seterr(SW_ERR_PROTO, "cannot %s: the answer is not a "
		    "ListBucketResult", what);
	}
	urlenc = strcmp(xml_text(rn, "EncodingType", enc, sizeof(enc)),
	    "url") == 0;
	for (n = rn->children; n != NULL && rc == SW_OK; n = n->next) {
		struct store_entry e;
		char etag[128], size[32], mod[64], *end;
		int isp;

		if (n->type != XML_ELEMENT_NODE)
			continue;
		isp = strcmp((const char *)n->name, "CommonPrefixes") == 0;
		if (!isp && strcmp((const char *)n->name, "Contents") != 0)
			continue;
		xml_text(n, isp ? "Prefix" : "Key", tmp, sizeof(tmp));
		if (urlenc)
			url_decode(tmp);
		if (strncmp(tmp, root, rootlen) != 0)
			continue;
		memset(&e, 0, sizeof(e));
		e.key = tmp + rootlen;
		e.is_prefix = isp;
		e.etag = "";
		if (!isp) {
			e.etag = xml_text(n, "ETag", etag, sizeof(etag));
			xml_text(n, "Size", size, sizeof(size));
			e.size = strtoull(size, &end, 10);
			if (size[0] == '\0' || *end != '\0') {
				rc = sw_seterr(SW_ERR_PROTO, "cannot %s: bad "
				    "Size '%s' for '%s'", what, size, tmp);
				break;
			}
			xml_text(n, "LastModified", mod, sizeof(mod));
			e.mtime = (int64_t)curl_getdate(mod, NULL);
		}
		rc = fn(arg, &e);
	}
	xml_text(rn, "IsTruncated", truncated, sizeof(truncated));
	if (rc == SW_OK && strcmp(truncated, "true") == 0) {
		xml_text(rn, "NextContinuationToken", token, toklen);
		if (token[0] == '\0')
			rc = sw_seterr(SW_ERR_PROTO, "cannot %s: truncated "
			    "listing without a continuation token", what);
	}
	xmlFreeDoc(doc);
	return rc;
}

static sw_err
s3_list(struct store *st, const char *prefix, const char *delimiter,
    const char *start_after, store_list_fn fn, void *arg)
{
	struct s3 *c = S3(st);
	char *fprefix = full_key(c, prefix), *fstart = NULL;
	char token[2048] = "", what[1200];
	struct buf q;
	sw_err rc = SW_OK;

	if (start_after != NULL)
		fstart = full_key(c, start_after);
	snprintf(what, sizeof(what), "list '%s%s'", st->url, prefix);
	buf_init(&q);
	do {
		struct s3_req req;
		struct s3_resp resp;

		q.len = 0;
		add_param(&q, "list-type", "2");
		if (token[0] != '\0')
			add_param(&q, "continuation-token", token);
		if (delimiter != NULL)
			add_param(&q, "delimiter", delimiter);
		add_param(&q, "encoding-type", "url");
		add_param(&q, "prefix", fprefix);
		if (fstart != NULL && token[0] == '\0')
			add_param(&q, "start-after", fstart);
		memset(&req, 0, sizeof(req));
		req.method = "GET";
		req.query = q.data;
		req.body_fd = -1;
		req.what = what;
		if ((rc = s3_perform(c, &req, &resp)) != SW_OK)
			break;
		rc = s3_parse_list(&resp.body, c->root, fn, arg, token,
		    sizeof(token), what);
		buf_release(&resp.body);
	} while (rc == SW_OK && token[0] != '\0');
	buf_release(&q);
	free(fprefix);
	free(fstart);
	return rc;
}

static void
fill_info(const struct s3_resp *r, struct store_info *info)
{
	if (info == NULL)
		return;
	info->size = r->total_size;
	snprintf(info->etag, sizeof(info->etag), "%s", r->etag);
	info->mtime = r->mtime;
}

static sw_err
s3_get(struct store *st, const char *key, uint64_t off, uint64_t len,
    store_sink_fn fn, void *arg, struct store_info *info)
{
	struct s3 *c = S3(st);
	struct s3_req req;
	struct s3_resp resp;
	char what[1200];
	char *fk = full_key(c, key);
	sw_err rc;

	snprintf(what, sizeof(what), "read '%s%s'", st->url, key);
	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.key = fk;
	req.body_fd = -1;
	req.sink = fn;
	req.sink_arg = arg;
	req.ranged = off > 0 || len > 0;
	req.range_off = off;
	req.range_len = len;
	req.what = what;
	rc = s3_perform(c, &req, &resp);
	if (rc == SW_OK)
		fill_info(&resp, info);
	buf_release(&resp.body);
	free(fk);
	return rc;
}

static sw_err
s3_head(struct store *st, const char *key, struct store_info *info)
{
	struct s3 *c = S3(st);
	struct s3_req req;
	struct s3_resp resp;
	char what[1200];
	char *fk = full_key(c, key);
	sw_err rc;

	snprintf(what, sizeof(what), "stat '%s%s'", st->url, key);
	memset(&req, 0, sizeof(req));
	req.method = "HEAD";
	req.key = fk;
	req.body_fd = -1;
	req.what = what;
	rc = s3_perform(c, &req, &resp);
	if (rc == SW_OK)
		fill_info(&resp, info);
	buf_release(&resp.body);
	free(fk);
	return rc;
}

/* SHA-256 (hex) and MD5 (base64) of a body in one pass. */
static sw_err
hash_body(const char *mem, int fd, uint64_t off, uint64_t len,
    char sha_hex[65], char md5_b64[25])
{
	EVP_MD_CTX *sha = EVP_MD_CTX_new(), *md5 = EVP_MD_CTX_new();
	unsigned char d[32];
	char *chunk = mem ? NULL : xcalloc(1, 1 << 18);
	uint64_t done = 0;
	sw_err rc = SW_OK;

	EVP_DigestInit_ex(sha, EVP_sha256(), NULL);
	EVP_DigestInit_ex(md5, EVP_md5(), NULL);
	while (done < len) {
		size_t want = len - done < (1 << 18) ? (size_t)(len - done) :
		    (1 << 18);
		const void *p;

		if (mem != NULL) {
			p = mem + done;
		} else {
			ssize_t r = pread(fd, chunk, want, (off_t)(off + done));

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				rc = sw_seterr(SW_ERR_IO, "cannot read the file "
				    "to upload: %s", r < 0 ? strerror(errno) :
				    "it is shorter than expected");
				break;
			}
			want = (size_t)r;
			p = chunk;
		}
		EVP_DigestUpdate(sha, p, want);
		EVP_DigestUpdate(md5, p, want);
		done += want;
	}
	EVP_DigestFinal_ex(sha, d, NULL);
	hex_encode(d, 32, sha_hex);
	EVP_DigestFinal_ex(md5, d, NULL);
	base64(d, 16, md5_b64);
	EVP_MD_CTX_free(sha);
	EVP_MD_CTX_free(md5);
	free(chunk);
	return rc;
}

static size_t
put_headers(const struct store_put_opts *o, const char *md5,
    struct sigv4_header *hs)
{
	size_t n = 0;

	if (md5 != NULL)
		hs[n++] = (struct sigv4_header){ "Content-MD5", md5 };
	hs[n++] = (struct sigv4_header){ "Content-Type",
	    o && o->content_type ? o->content_type :
	    "application/octet-stream" };
	if (o != NULL && o->sse != NULL) {
		hs[n++] = (struct sigv4_header){ "x-amz-server-side-encryption",
		    o->sse };
		if (o->sse_kms_key_id != NULL)
			hs[n++] = (struct sigv4_header){
			    "x-amz-server-side-encryption-aws-kms-key-id",
			    o->sse_kms_key_id };
	}
	return n;
}

/* One PUT (object or part) of a memory or file body. */
static sw_err
put_once(struct s3 *c, const char *fk, const char *query, const char *mem,
    int fd, uint64_t off, uint64_t len, const struct store_put_opts *o,
    int with_meta, const char *what, struct s3_resp *resp)
{
	struct sigv4_header hs[8];
	struct s3_req req;
	char sha[65], md5[25];
	sw_err rc;

	if ((rc = hash_body(mem, fd, off, len, sha, md5)) != SW_OK)
		return sw_adderr(rc, "cannot %s", what);
	memset(&req, 0, sizeof(req));
	req.method = "PUT";
	req.key = fk;
	req.query = query;
	req.extra = hs;
	req.nextra = with_meta ? put_headers(o, md5, hs) : 0;
	if (!with_meta) {
		hs[0] = (struct sigv4_header){ "Content-MD5", md5 };
		req.nextra = 1;
	}
	req.body = mem;
	req.body_fd = fd;
	req.body_off = off;
	req.body_len = len;
	req.payload_hash = sha;
	req.what = what;
	return s3_perform(c, &req, resp);
}

static sw_err
s3_put_mem(struct store *st, const char *key, const void *p, size_t n,
    const struct store_put_opts *opts, struct store_info *info)
{
	struct s3 *c = S3(st);
	struct s3_resp resp;
	char what[1200];
	char *fk = full_key(c, key);
	sw_err rc;

	snprintf(what, sizeof(what), "upload '%s%s'", st->url, key);
	rc = put_once(c, fk, NULL, p ? p : "", -1, 0, n, opts, 1, what, &resp);
	if (rc == SW_OK) {
		fill_info(&resp, info);
		if (info != NULL)
			info->size = n;
	}
	buf_release(&resp.body);
	free(fk);
	return rc;
}

/* POST a small XML or empty body with a query; the answer in resp. */
static sw_err
post_xml(struct s3 *c, const char *fk, const char *query, const char *body,
    const struct store_put_opts *o, const char *what, struct s3_resp *resp)
{
	struct sigv4_header hs[8];
	struct s3_req req;
	char sha[65], md5[25];

	hash_body(body, -1, 0, strlen(body), sha, md5);
	memset(&req, 0, sizeof(req));
	req.method = "POST";
	req.key = fk;
	req.query = query;
	req.extra = hs;
	req.nextra = put_headers(o, body[0] ? md5 : NULL, hs);
	req.body = body;
	req.body_fd = -1;
	req.body_len = strlen(body);
	req.payload_hash = sha;
	req.what = what;
	return s3_perform(c, &req, resp);
}

static void
abort_upload(struct s3 *c, const char *fk, const char *upload_id,
    const char *what)
{
	struct s3_req req;
	struct s3_resp resp;
	struct buf q;
	char w[1300];

	buf_init(&q);
	add_param(&q, "uploadId", upload_id);
	snprintf(w, sizeof(w), "abort the multipart %s", what);
	memset(&req, 0, sizeof(req));
	req.method = "DELETE";
	req.key = fk;
	req.query = q.data;
	req.body_fd = -1;
	req.what = w;
	if (s3_perform(c, &req, &resp) != SW_OK)
		log_warn("%s", sw_errmsg());
	buf_release(&resp.body);
	buf_release(&q);
}

static sw_err
s3_put_multipart(struct store *st, const char *key, int fd, uint64_t size,
    const struct store_put_opts *opts, struct store_info *info)
{
	struct s3 *c = S3(st);
	struct s3_resp resp;
	struct buf q, done;
	char what[1200], upload_id[1024], etag[128];
	char *fk = full_key(c, key);
	uint64_t off;
	unsigned part = 0;
	xmlDoc *doc;
	xmlNode *root;
	sw_err rc;

	snprintf(what, sizeof(what), "upload '%s%s'", st->url, key);
	buf_init(&q);
	buf_init(&done);
	rc = post_xml(c, fk, "uploads=", "", opts, what, &resp);
	if (rc != SW_OK)
		goto out;
	doc = xml_parse(&resp.body);
	root = doc ? xmlDocGetRootElement(doc) : NULL;
	xml_text(root, "UploadId", upload_id, sizeof(upload_id));
	xmlFreeDoc(doc);
	buf_release(&resp.body);
	if (upload_id[0] == '\0') {
		rc = sw_seterr(SW_ERR_PROTO, "cannot %s: no UploadId in the "
		    "answer to CreateMultipartUpload", what);
		goto out;
	}
	buf_puts(&done, "<CompleteMultipartUpload>");
	for (off = 0; off < size && rc == SW_OK; off += c->part_size) {
		uint64_t len = size - off < c->part_size ? size - off :
		    c->part_size;
		char num[16];

		snprintf(num, sizeof(num), "%u", ++part);
		q.len = 0;
		add_param(&q, "partNumber", num);
		add_param(&q, "uploadId", upload_id);
		rc = put_once(c, fk, q.data, NULL, fd, off, len, opts, 0, what,
		    &resp);
		if (rc == SW_OK) {
			snprintf(etag, sizeof(etag), "%s", resp.etag);
			buf_printf(&done, "<Part><PartNumber>%u</PartNumber>"
			    "<ETag>%s</ETag></Part>", part, etag);
		}
		buf_release(&resp.body);
	}
	buf_puts(&done, "</CompleteMultipartUpload>");
	if (rc == SW_OK) {
		q.len = 0;
		add_param(&q, "uploadId", upload_id);
		rc = post_xml(c, fk, q.data, done.data, NULL, what, &resp);
		/* Complete can fail inside a 200 answer. */
		if (rc == SW_OK) {
			doc = xml_parse(&resp.body);
			root = doc ? xmlDocGetRootElement(doc) : NULL;
			if (root != NULL && strcmp((const char *)root->name,
			    "Error") == 0) {
				char code[64], msg[256];

				rc = sw_seterr(SW_ERR_SERVER, "cannot %s: "
				    "CompleteMultipartUpload failed: %s: %s",
				    what, xml_text(root, "Code", code,
				    sizeof(code)), xml_text(root, "Message",
				    msg, sizeof(msg)));
			} else if (root != NULL) {
				xml_text(root, "ETag", etag, sizeof(etag));
				if (info != NULL) {
					info->size = size;
					snprintf(info->etag, sizeof(info->etag),
					    "%s", etag);
					info->mtime = (int64_t)time(NULL);
				}
			}
			xmlFreeDoc(doc);
		}
		buf_release(&resp.body);
	}
	if (rc != SW_OK)
		abort_upload(c, fk, upload_id, what);
out:
	buf_release(&q);
	buf_release(&done);
	free(fk);
	return rc;
}

static sw_err
s3_put_fd(struct store *st, const char *key, int fd, uint64_t size,
    const struct store_put_opts *opts, struct store_info *info)
{
	struct s3 *c = S3(st);
	struct s3_resp resp;
	char what[1200];
	char *fk;
	sw_err rc;

	if (size > c->multipart_threshold)
		return s3_put_multipart(st, key, fd, size, opts, info);
	fk = full_key(c, key);
	snprintf(what, sizeof(what), "upload '%s%s'", st->url, key);
	rc = put_once(c, fk, NULL, NULL, fd, 0, size, opts, 1, what, &resp);
	if (rc == SW_OK) {
		fill_info(&resp, info);
		if (info != NULL)
			info->size = size;
	}
	buf_release(&resp.body);
	free(fk);
	return rc;
}

static sw_err
s3_del(struct store *st, const char *key)
{
	struct s3 *c = S3(st);
	struct s3_req req;
	struct s3_resp resp;
	char what[1200];
	char *fk = full_key(c, key);
	sw_err rc;

	snprintf(what, sizeof(what), "delete '%s%s'", st->url, key);
	memset(&req, 0, sizeof(req));
	req.method = "DELETE";
	req.key = fk;
	req.body_fd = -1;
	req.what = what;
	rc = s3_perform(c, &req, &resp);
	if (rc == SW_ERR_NOTFOUND && resp.status == 404)
		rc = SW_OK;
	buf_release(&resp.body);
	free(fk);
	return rc;
}

static void
s3_free(struct store *st)
{
	struct s3 *c = S3(st);
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nhandles; i++)
		curl_easy_cleanup(c->handles[i]);
	free(c->handles);
	if (c->share != NULL)
		curl_share_cleanup(c->share);
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&c->share_mu[i]);
	pthread_mutex_destroy(&c->handles_mu);
	creds_provider_free(c->creds);
	free(c->bucket);
	free(c->root);
	free(c->scheme);
	free(c->host);
	free(c->path_base);
	free(c->region);
	free(c->ca_bundle);
	free(c);
}

static const struct store_ops s3_ops = {
	s3_list, s3_get, s3_head, s3_put_mem, s3_put_fd, s3_del, s3_free
};

/* Split "http://host:port/path" into scheme and authority. */
static sw_err
parse_endpoint(const char *url, char **scheme, char **authority)
{
	const char *p = strstr(url, "://"), *end;

	if (p == NULL)
		return sw_seterr(SW_ERR_CONFIG, "invalid endpoint URL '%s'",
		    url);
	p += 3;
	end = p + strcspn(p, "/?#");
	if (end == p)
		return sw_seterr(SW_ERR_CONFIG, "endpoint URL '%s' has no host",
		    url);
	*scheme = strndup(url, (size_t)(p - 3 - url));
	*authority = strndup(p, (size_t)(end - p));
	return SW_OK;
}

sw_err
s3_endpoint_resolve(const char *bucket, const char *region,
    const char *endpoint_url, const char *style, struct s3_endpoint *out)
{
	char *scheme = NULL, *auth = NULL;
	struct buf b;
	int path_style;
	sw_err rc;

	memset(out, 0, sizeof(*out));
	/* Path style for custom endpoints (they rarely have wildcard DNS)
	 * and for bucket names with dots (TLS wildcards do not cover them),
	 * unless told otherwise. */
	if (strcmp(style, "path") == 0)
		path_style = 1;
	else if (strcmp(style, "virtual") == 0)
		path_style = 0;
	else
		path_style = endpoint_url != NULL ||
		    strchr(bucket, '.') != NULL;
	if (endpoint_url != NULL) {
		if ((rc = parse_endpoint(endpoint_url, &scheme, &auth)) !=
		    SW_OK)
			return rc;
	} else {
		buf_init(&b);
		buf_printf(&b, "s3.%s.amazonaws.com", region);
		scheme = xstrdup("https");
		auth = buf_detach(&b);
	}
	buf_init(&b);
	if (path_style) {
		buf_putc(&b, '/');
		sigv4_uri_encode(&b, bucket, strlen(bucket), 1);
		out->path_base = buf_detach(&b);
		out->host = auth;
	} else {
		buf_printf(&b, "%s.%s", bucket, auth);
		out->host = buf_detach(&b);
		out->path_base = xstrdup("");
		free(auth);
	}
	out->scheme = scheme;
	return SW_OK;
}

void
s3_endpoint_release(struct s3_endpoint *e)
{
	free(e->scheme);
	free(e->host);
	free(e->path_base);
	memset(e, 0, sizeof(*e));
}

sw_err
store_s3_open(struct store *st, const char *rest, const struct sw_config *cfg)
{
	struct s3 *c;
	const char *slash = strchr(rest, '/');
	char *region = NULL;
	const char *ca;
	size_t i;
	sw_err rc;

	pthread_once(&global_once, global_init);
	c = xcalloc(1, sizeof(*c));
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&c->share_mu[i], NULL);
	pthread_mutex_init(&c->handles_mu, NULL);
	c->bucket = slash ? strndup(rest, (size_t)(slash - rest)) :
	    xstrdup(rest);
	c->root = xstrdup(slash ? slash + 1 : "");
	st->impl = c;
	st->ops = &s3_ops;
	if (c->bucket[0] == '\0') {
		rc = sw_seterr(SW_ERR_CONFIG, "'%s' names no bucket", st->url);
		goto fail;
	}
	if ((rc = creds_region(cfg, &region)) != SW_OK)
		goto fail;
	c->region = region ? region : xstrdup("us-east-1");
	c->tls_verify = cfg->tls_verify;
	ca = cfg->ca_bundle ? cfg->ca_bundle : getenv("AWS_CA_BUNDLE");
	c->ca_bundle = ca && *ca ? xstrdup(ca) : NULL;
	c->max_retries = (unsigned)cfg->max_retries;
	c->retry_max_time = (double)cfg->retry_max_time;
	c->connect_timeout = (long)cfg->connect_timeout;
	c->request_timeout = (long)cfg->request_timeout;
	c->part_size = cfg->part_size;
	c->multipart_threshold = cfg->multipart_threshold;

	{
		struct s3_endpoint ep;

		if ((rc = s3_endpoint_resolve(c->bucket, c->region,
		    cfg->endpoint_url, cfg->addressing_style, &ep)) != SW_OK)
			goto fail;
		c->scheme = ep.scheme;
		c->host = ep.host;
		c->path_base = ep.path_base;
	}
	if ((c->share = curl_share_init()) == NULL)
		abort();
	curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(c->share, CURLSHOPT_SHARE,
	    CURL_LOCK_DATA_SSL_SESSION);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);

	if ((rc = creds_provider_new(cfg, &c->creds)) != SW_OK)
		goto fail;
	log_debug("store %s: %s://%s%s region %s, credentials from %s",
	    st->url, c->scheme, c->host, c->path_base, c->region,
	    creds_source(c->creds));
	return SW_OK;
fail:
	s3_free(st);
	st->impl = NULL;
	st->ops = NULL;
	return rc;
}
