/*
 * http.c - AWS requests over libcurl, shared by the S3 store, the IoT
 * SiteWise client and the credential providers.
 *
 * Every request goes through http_perform(): it signs with our own SigV4
 * signer (sigv4.c), sends with a reused easy handle (connections, DNS and
 * TLS sessions are shared through a CURLSH), and retries with exponential
 * back-off and full jitter on 5xx (but 501 NotImplemented), 429,
 * SlowDown, throttling, RequestTimeout, S3's 409 ConditionalRequestConflict,
 * timeouts, resets and truncated bodies, bounded in count
 * (aws.max_retries) and time (aws.retry_max_time).  A GET that was cut off
 * resumes with a Range from the first byte not yet delivered, guarded by
 * If-Match on the ETag, so a streamed body is never delivered twice.
 * 501 and other 4xx fail at once (asking again gets the same answer) with
 * the server's code and message; numbers in headers are range-checked.
 *
 * Requests without credentials (IMDS, the ECS container endpoint: see
 * creds.c) take the same loop unsigned, so there is one set of retry and
 * timeout rules.
 *
 * Threads: any number of threads may use one client at once; each request
 * borrows an idle easy handle from the free list of the client's shared
 * state (one per session: session.h), and a slot of its request budget
 * while it is on the wire.
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
#include <jansson.h>
#include <libxml/parser.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "aws/creds.h"
#include "aws/http.h"
#include "aws/retry.h"
#include "aws/xml.h"
#include "aws/sigv4.h"
#include "base/log.h"
#include "base/options.h"
#include "base/util.h"

#define XML_MAX (8u << 20)     /* cap on a buffered response body */

/*
 * What every client of one session shares: the CURLSH (DNS cache, TLS
 * sessions, connection cache), the idle easy handles and the request
 * budget.  A slot of the budget is held only while curl runs a request
 * (never while signing, fetching credentials or backing off), and a
 * thread that already holds one (a sink that asks for more) does not
 * take a second, so the budget cannot deadlock on itself.
 */
struct http_shared {
	CURLSH *share;
	pthread_mutex_t share_mu[CURL_LOCK_DATA_LAST];
	pthread_mutex_t handles_mu;
	CURL **handles;
	size_t nhandles, caphandles;
	/* the budget */
	pthread_mutex_t budget_mu;
	pthread_cond_t budget_cv;
	unsigned max_inflight;      /* 0: unbounded */
	unsigned inflight, peak;
	unsigned long requests;
};

struct http_client {
	char *service;
	int s3_rules;
	char *region;
	struct creds_provider *creds;   /* borrowed; NULL: unsigned */
	int tls_verify;
	char *ca_bundle;
	unsigned max_retries;
	double retry_max_time;
	long connect_timeout, request_timeout;
	long connect_timeout_ms, timeout_ms;
	struct http_shared *shared;     /* borrowed, or own_shared */
	struct http_shared *own_shared;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void
global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	xmlInitParser();
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

/* ---- curl plumbing ---- */

static void
share_lock(CURL *h, curl_lock_data data, curl_lock_access acc, void *u)
{
	struct http_shared *sh = u;

	(void)h;
	(void)acc;
	pthread_mutex_lock(&sh->share_mu[data]);
}

static void
share_unlock(CURL *h, curl_lock_data data, void *u)
{
	struct http_shared *sh = u;

	(void)h;
	pthread_mutex_unlock(&sh->share_mu[data]);
}

static CURL *
handle_take(struct http_shared *c)
{
	CURL *h = NULL;

	pthread_mutex_lock(&c->handles_mu);
	if (c->nhandles > 0)
		h = c->handles[--c->nhandles];
	pthread_mutex_unlock(&c->handles_mu);
	if (h == NULL && (h = curl_easy_init()) == NULL) {
		log_error("out of memory (a curl handle)");
		abort();
	}
	curl_easy_reset(h);
	return h;
}

static void
handle_give(struct http_shared *c, CURL *h)
{
	pthread_mutex_lock(&c->handles_mu);
	c->handles = xgrowarray(c->handles, &c->caphandles, c->nhandles + 1,
	    sizeof(*c->handles));
	c->handles[c->nhandles++] = h;
	pthread_mutex_unlock(&c->handles_mu);
}

/* Slots this thread holds (a sink that makes a request of its own). */
static _Thread_local unsigned budget_held;

static void
budget_take(struct http_shared *sh)
{
	if (budget_held++ > 0)
		return;
	pthread_mutex_lock(&sh->budget_mu);
	while (sh->max_inflight > 0 && sh->inflight >= sh->max_inflight)
		pthread_cond_wait(&sh->budget_cv, &sh->budget_mu);
	sh->inflight++;
	sh->requests++;
	if (sh->inflight > sh->peak)
		sh->peak = sh->inflight;
	pthread_mutex_unlock(&sh->budget_mu);
}

static void
budget_give(struct http_shared *sh)
{
	if (--budget_held > 0)
		return;
	pthread_mutex_lock(&sh->budget_mu);
	sh->inflight--;
	pthread_cond_signal(&sh->budget_cv);
	pthread_mutex_unlock(&sh->budget_mu);
}

struct xfer {
	const struct http_req *req;
	struct http_resp *resp;
	CURL *h;
	uint64_t sent;            /* body bytes sent in this attempt */
	/* A GET into a sink: what this attempt asked for and got. */
	uint64_t from;            /* first byte asked for (Range), or 0 */
	uint64_t left;            /* bytes still wanted, UINT64_MAX: all */
	uint64_t skip;            /* bytes of a 200 body before from */
	uint64_t got;             /* body bytes received */
	int started;              /* the 2xx body has begun */
	int enough;               /* all wanted arrived; the rest is dropped */
};

/* A header whose number cannot be believed: the request fails with
 * SW_ERR_PROTO (see http_perform). */
static void
bad_header(struct http_resp *r, const char *name, const char *val)
{
	char *c;

	if (r->bad_header[0] != '\0')
		return;
	snprintf(r->bad_header, sizeof(r->bad_header), "%s: %.60s", name,
	    val);
	for (c = r->bad_header; *c != '\0'; c++)  /* shown in messages */
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
}

/* Whether a header value has a control character (a CR or LF inside it
 * could smuggle a header into a request that sends the value back). */
static int
has_ctl(const char *v)
{
	for (; *v != '\0'; v++)
		if (((unsigned char)*v < 0x20 && *v != '\t') || *v == 0x7f)
			return 1;
	return 0;
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	struct http_resp *r = x->resp;
	size_t len = size * n, vlen, namelen;
	char *colon, *v, val[256];

	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		/* A new response (after 100 Continue or a redirect). */
		r->etag[0] = '\0';
		r->has_content_length = 0;
		r->content_length = 0;
		r->total_size = 0;
		r->range_start = UINT64_MAX;
		r->bad_header[0] = '\0';
		return len;
	}
	colon = memchr(p, ':', len);
	if (colon == NULL)
		return len;
	namelen = (size_t)(colon - p);
	v = colon + 1;
	vlen = len - namelen - 1;
	while (vlen > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		vlen--;
	}
	while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' ||
	    v[vlen - 1] == ' '))
		vlen--;
	if (vlen >= sizeof(val))
		vlen = sizeof(val) - 1;
	memcpy(val, v, vlen);
	val[vlen] = '\0';
#define IS(h) (namelen == sizeof(h) - 1 && strncasecmp(p, h, namelen) == 0)
	if (has_ctl(val)) {
		/* An ETag is sent back (If-Match) and sizes are believed:
		 * refuse the answer; other values are only shown: drop them. */
		if (IS("etag") || IS("content-length") || IS("content-range"))
			bad_header(r, IS("etag") ? "ETag" : IS("content-length") ?
			    "Content-Length" : "Content-Range", val);
		return len;
	}
	if (IS("etag") && strlen(val) >= sizeof(r->etag))
		bad_header(r, "ETag", val);  /* would be cut: another ETag */
	else if (IS("etag"))
		snprintf(r->etag, sizeof(r->etag), "%s", val);
	else if (IS("content-length")) {
		if (parse_u64_strict(val, NET_NUMBER_MAX,
		    &r->content_length) != 0)
			bad_header(r, "Content-Length", val);
		r->has_content_length = 1;
		if (r->total_size == 0)
			r->total_size = r->content_length;
	} else if (IS("content-range")) {
		/* "bytes FIRST-LAST/TOTAL" (TOTAL may be "*") */
		char *slash = strrchr(val, '/'), *dash = strchr(val, '-');

		if (slash != NULL && slash[1] != '*' &&
		    parse_u64_strict(slash + 1, NET_NUMBER_MAX,
		    &r->total_size) != 0)
			bad_header(r, "Content-Range", val);
		r->range_start = UINT64_MAX;
		if (strncmp(val, "bytes ", 6) == 0 && dash != NULL) {
			*dash = '\0';
			if (parse_u64_strict(val + 6, NET_NUMBER_MAX,
			    &r->range_start) != 0)
				r->range_start = UINT64_MAX;
			*dash = '-';
		}
	} else if (IS("x-amzn-errortype"))
		snprintf(r->error_type, sizeof(r->error_type), "%s", val);
	else if (IS("x-amz-bucket-region"))
		snprintf(r->region_hint, sizeof(r->region_hint), "%s", val);
	else if (IS("last-modified"))
		r->mtime = (int64_t)curl_getdate(val, NULL);
#undef IS
	return len;
}

/* Stop a transfer whose body cannot be taken: rc (its message set) is
 * what http_perform returns, without retrying. */
static size_t
body_fail(struct xfer *x, sw_err rc)
{
	x->resp->sink_rc = rc;
	x->resp->sink_failed = 1;
	return 0; /* abort the transfer */
}

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	struct http_resp *r = x->resp;
	size_t len = size * n;
	long status = 0;

	if (r->bad_header[0] != '\0')
		return 0; /* abort: http_perform says why */
	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 200 && status < 300 && x->req->sink != NULL) {
		const char *d = p;
		size_t m = len;
		sw_err rc;

		if (!x->started) {
			x->started = 1;
			/* A server that ignores Range sends the whole object:
			 * what comes before the range is dropped. */
			if (status == 200)
				x->skip = x->from;
			else if (status == 206 && r->range_start != x->from)
				return body_fail(x, sw_seterr(SW_ERR_PROTO,
				    "cannot %s: asked for bytes from %llu, the "
				    "answer starts elsewhere", x->req->what,
				    (unsigned long long)x->from));
		}
		x->got += len;
		if (x->skip > 0) {
			uint64_t k = x->skip < m ? x->skip : m;

			d += k;
			m -= (size_t)k;
			x->skip -= k;
		}
		if (m > x->left) {
			/* A 206 of more than the range is a broken answer; a
			 * 200 goes on past the range: enough. */
			if (status == 206)
				return body_fail(x, sw_seterr(SW_ERR_PROTO,
				    "cannot %s: the answer holds more bytes "
				    "than the range asked for", x->req->what));
			m = (size_t)x->left;
			x->enough = 1;
		}
		if (m > 0 && (rc = x->req->sink(x->req->sink_arg, d, m)) !=
		    SW_OK)
			return body_fail(x, rc);
		r->delivered += m;
		if (x->left != UINT64_MAX)
			x->left -= m;
		return x->enough ? 0 : len; /* 0: stop reading */
	}
	if (r->body.len + len > XML_MAX)
		return 0;
	buf_append(&r->body, p, len);
	return len;
}

static size_t
on_read(char *dst, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	const struct http_req *q = x->req;
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

/* ---- the request loop ---- */

/*
 * The error code and message of an AWS error answer: S3's XML
 * (<Error><Code/><Message/></Error>) or the JSON of rest-json services
 * (x-amzn-ErrorType header, {"message": ...}).
 */
static void
error_code(const struct http_resp *r, char *code, size_t clen, char *msg,
    size_t mlen)
{
	xmlDoc *doc;
	xmlNode *root;

	code[0] = msg[0] = '\0';
	if (r->error_type[0] != '\0') {
		/* "ThrottlingException:http://internal..." */
		snprintf(code, clen, "%.*s", (int)strcspn(r->error_type, ":"),
		    r->error_type);
	}
	if (r->body.len > 0 && r->body.data[0] == '{') {
		json_t *j = json_loadb(r->body.data, r->body.len, 0, NULL);
		const char *m = json_string_value(json_object_get(j,
		    "message"));

		if (m == NULL)
			m = json_string_value(json_object_get(j, "Message"));
		if (m != NULL)
			snprintf(msg, mlen, "%s", m);
		if (code[0] == '\0' && json_string_value(json_object_get(j,
		    "__type")) != NULL)
			snprintf(code, clen, "%s", json_string_value(
			    json_object_get(j, "__type")));
		json_decref(j);
		return;
	}
	doc = xml_parse(&r->body);
	root = doc ? xmlDocGetRootElement(doc) : NULL;
	if (root != NULL && strcmp((const char *)root->name, "Error") == 0) {
		xml_text(root, "Code", code, clen);
		xml_text(root, "Message", msg, mlen);
	}
	xmlFreeDoc(doc);
}

/* Map a final HTTP error to a code and a message a person can act on. */
static sw_err
http_error(const struct http_req *q, struct http_resp *r, unsigned attempts,
    double elapsed)
{
	char code[128], msg[512], extra[200] = "";
	const char *hint = "";
	sw_err ec;

	error_code(r, code, sizeof(code), msg, sizeof(msg));
	if (code[0] == '\0') {
		/* HEAD answers carry no body. */
		snprintf(code, sizeof(code), "%s", r->status == 404 ?
		    "NotFound" : r->status == 403 ? "Forbidden" :
		    r->status == 412 ? "PreconditionFailed" :
		    r->status == 501 ? "NotImplemented" :
		    r->status == 301 ? "PermanentRedirect" : "HttpError");
	}
	snprintf(r->err_code, sizeof(r->err_code), "%s", code);
	if (r->status == 403) {
		ec = SW_ERR_AUTH;
		if (strcmp(code, "SignatureDoesNotMatch") == 0)
			hint = " (check the secret access key)";
		else if (strcmp(code, "InvalidAccessKeyId") == 0)
			hint = " (the access key id is not known)";
		else if (strcmp(code, "ExpiredToken") == 0 ||
		    strcmp(code, "ExpiredTokenException") == 0)
			hint = " (the session token has expired)";
		else if (strcmp(code, "InvalidSignatureException") == 0)
			hint = " (check the secret access key)";
		else if (strcmp(code, "UnrecognizedClientException") == 0)
			hint = " (the access key id is not known)";
	} else if (r->status == 404) {
		ec = SW_ERR_NOTFOUND;
		if (strcmp(code, "NoSuchBucket") == 0 && q->bucket != NULL) {
			snprintf(extra, sizeof(extra), " (bucket '%s' does not "
			    "exist)", q->bucket);
			hint = extra;
		}
	} else if (r->status == 301 || r->status == 307 ||
	    strcmp(code, "AuthorizationHeaderMalformed") == 0) {
		ec = SW_ERR_CONFIG;
		if (r->region_hint[0] != '\0' && q->bucket != NULL) {
			snprintf(extra, sizeof(extra), " (bucket '%s' is in "
			    "region '%s': set aws.region or AWS_REGION)",
			    q->bucket, r->region_hint);
			hint = extra;
		}
	} else if (r->status == 412) {
		ec = SW_ERR_EXISTS;
	} else if (r->status == 501) {
		ec = SW_ERR_UNSUPPORTED;
	} else if (retry_status(r->status, code)) {
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
curl_error(const struct http_req *q, CURLcode cc, const char *detail,
    unsigned attempts)
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
	if (q->url != NULL)
		return sw_seterr(SW_ERR_NET, "cannot reach '%s': %s%s (after "
		    "%u attempt%s)", q->show_url ? q->show_url : q->url,
		    detail[0] ? detail : curl_easy_strerror(cc), hint,
		    attempts, attempts == 1 ? "" : "s");
	return sw_seterr(SW_ERR_NET, "cannot %s: cannot reach '%s://%s': %s%s "
	    "(after %u attempt%s)", q->what, q->scheme, q->host,
	    detail[0] ? detail : curl_easy_strerror(cc), hint, attempts,
	    attempts == 1 ? "" : "s");
}

/* Free a header list after wiping it (it may hold a token). */
static void
slist_wipe(struct curl_slist *l)
{
	struct curl_slist *s;

	for (s = l; s != NULL; s = s->next)
		OPENSSL_cleanse(s->data, strlen(s->data));
	curl_slist_free_all(l);
}

/* The header list of an unsigned request: q's headers as they are. */
static sw_err
plain_headers(const struct http_req *q, const char *range,
    const char *if_match, struct curl_slist **out)
{
	struct curl_slist *list = NULL, *n;
	struct buf line;
	size_t i;
	sw_err rc = SW_OK;

	*out = NULL;
	buf_init(&line);
	for (i = 0; rc == SW_OK && i < q->nextra + 3; i++) {
		const char *name = i < q->nextra ? q->extra[i].name :
		    i == q->nextra ? "Range" : i == q->nextra + 1 ? "If-Match" :
		    "Expect";
		const char *val = i < q->nextra ? q->extra[i].value :
		    i == q->nextra ? range : i == q->nextra + 1 ? if_match : "";

		if (val == NULL)
			continue;
		buf_wipe(&line);
		buf_printf(&line, "%s:%s%s", name, *val ? " " : "", val);
		if ((n = curl_slist_append(list, line.data)) == NULL)
			rc = sw_seterr(SW_ERR_NOMEM, "out of memory");
		else
			list = n;
	}
	buf_wipe(&line);
	if (rc != SW_OK) {
		slist_wipe(list);
		return rc;
	}
	*out = list;
	return SW_OK;
}

/* Build the signed header list for one attempt. */
static sw_err
sign_headers(struct http_client *c, const struct http_req *q,
    const char *range, const char *if_match, struct curl_slist **out)
{
	struct sigv4_header hs[24];
	struct aws_creds cr;
	struct sigv4_request sreq;
	struct sigv4_key key;
	struct sigv4_scope scope = { c->region, c->service, c->s3_rules };
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
	hs[n++] = (struct sigv4_header){ "Host", q->host };
	hs[n++] = (struct sigv4_header){ "x-amz-date", date };
	if (c->s3_rules)  /* S3 wants the payload hash as a header */
		hs[n++] = (struct sigv4_header){ "x-amz-content-sha256",
		    hash };
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
	sreq.path = q->path;
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
		slist_wipe(list);
		return rc;
	}
	*out = list;
	return SW_OK;
}

/* The method's options: HEAD has no body, PUT and POST upload q->body. */
static void
setup_method(const struct http_req *q, CURL *h, struct xfer *x)
{
	if (strcmp(q->method, "HEAD") == 0) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (strcmp(q->method, "PUT") == 0 ||
	    strcmp(q->method, "POST") == 0) {
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
		    (curl_off_t)q->body_len);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(h, CURLOPT_READDATA, x);
		curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(h, CURLOPT_SEEKDATA, x);
		if (strcmp(q->method, "POST") == 0)
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "POST");
	} else if (strcmp(q->method, "GET") != 0) {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, q->method);
	}
}

/* The URL a request goes to: q->url as given, or built from its parts. */
static void
request_url(const struct http_req *q, struct buf *url)
{
	if (q->url != NULL) {
		buf_puts(url, q->url);
	} else {
		buf_printf(url, "%s://%s%s", q->scheme, q->host, q->path);
		if (q->query != NULL && *q->query != '\0')
			buf_printf(url, "?%s", q->query);
	}
}

/*
 * The Range header for one attempt, written into range (size n), or NULL
 * when none is wanted.  A retry resumes after what earlier attempts
 * delivered; x learns the first byte asked for and how many are wanted.
 */
static const char *
attempt_range(const struct http_req *q, uint64_t base_delivered,
    char *range, size_t n, struct xfer *x)
{
	uint64_t from = q->range_off + base_delivered;

	if (q->ranged && q->range_len != 0) {
		snprintf(range, n, "bytes=%llu-%llu",
		    (unsigned long long)from,
		    (unsigned long long)(q->range_off + q->range_len - 1));
		x->from = from;
		x->left = q->range_len - base_delivered;
		return range;
	}
	if (q->ranged || base_delivered > 0) {
		snprintf(range, n, "bytes=%llu-", (unsigned long long)from);
		x->from = from;
		return range;
	}
	return NULL;
}

/* Set every option of one attempt on the pooled handle h. */
static void
setup_handle(struct http_client *c, const struct http_req *q, CURL *h,
    const char *url, struct curl_slist *hdrs, char *errbuf, struct xfer *x)
{
	curl_easy_setopt(h, CURLOPT_URL, url);
	/* Send the path as signed: no "./" or "../" squashing. */
	curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_SHARE, c->shared->share);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	if (c->connect_timeout_ms > 0)
		curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
		    c->connect_timeout_ms);
	else
		curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, c->connect_timeout);
	if (c->timeout_ms > 0)
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, c->request_timeout);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(h, CURLOPT_PROTOCOLS,
	    CURLPROTO_HTTP | CURLPROTO_HTTPS);
#endif
	if (c->creds == NULL)
		curl_easy_setopt(h, CURLOPT_USERAGENT,
		    PACKAGE "/" PACKAGE_VERSION);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, (long)c->tls_verify);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, c->tls_verify ? 2L : 0L);
	if (c->ca_bundle != NULL)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_bundle);
	setup_method(q, h, x);
}

/*
 * An attempt whose answer must not be retried whatever its status: the
 * sink refused the body, or a header cannot be believed.  Sets *rc.
 */
static int
attempt_refused(const struct http_req *q, const struct http_resp *resp,
    sw_err *rc)
{
	if (resp->sink_failed) {
		*rc = resp->sink_rc;
		return 1;
	}
	if (resp->bad_header[0] != '\0') {
		/* Not a transient fault: the server says so. */
		*rc = sw_seterr(SW_ERR_PROTO, "cannot %s: the answer has "
		    "an impossible '%s'", q->what, resp->bad_header);
		return 1;
	}
	return 0;
}

/*
 * Whether the attempt succeeded.  A 2xx whose body is shorter than
 * announced is a cut-off: *cc becomes CURLE_PARTIAL_FILE.
 */
static int
attempt_complete(const struct http_req *q, const struct http_resp *resp,
    const struct xfer *x, CURLcode *cc)
{
	int ok = resp->status >= 200 && resp->status < 300;

	if (x->enough && ok)
		return 1; /* all of the range arrived (curl was stopped) */
	if (*cc == CURLE_OK && ok) {
		/* A body shorter than announced is a cut-off. */
		if (q->sink != NULL && resp->has_content_length &&
		    x->got < resp->content_length)
			*cc = CURLE_PARTIAL_FILE;
		else
			return 1;
	}
	return 0;
}

/*
 * After a failed attempt: wait and return 1 to try again, or set *rc to
 * the final answer and return 0 when the fault is not transient or the
 * retries or their time are spent.
 */
static int
retry_wait(struct http_client *c, const struct http_req *q,
    struct http_resp *resp, CURLcode cc, const char *errbuf,
    unsigned attempt, unsigned connect_fails, double start,
    const char *shown, sw_err *rc)
{
	char code[64] = "";
	int again;
	double elapsed = now_mono() - start, delay;

	if (cc == CURLE_OK) {
		char msg[8];

		error_code(resp, code, sizeof(code), msg, sizeof(msg));
		again = retry_status(resp->status, code);
	} else {
		again = retry_transport(cc, connect_fails);
	}
	delay = retry_backoff(attempt, jitter());
	if (!again || !retry_within(attempt, c->max_retries, elapsed, delay,
	    c->retry_max_time)) {
		if (cc == CURLE_OK && q->any_status)
			*rc = SW_OK;  /* the caller judges */
		else if (cc == CURLE_OK)
			*rc = http_error(q, resp, attempt, elapsed);
		else
			*rc = curl_error(q, cc, errbuf, attempt);
		return 0;
	}
	log_info("%s: %s, retrying in %.2f s (attempt %u)",
	    q->what != NULL ? q->what : shown, cc == CURLE_OK ? (code[0] ?
	    code : "server error") : curl_easy_strerror(cc), delay, attempt);
	sleep_seconds(delay);
	return 1;
}

/*
 * Run q with retries (see http.h).  On success resp holds status 2xx, headers and (when
 * q->sink is NULL) the body.  On failure the message names q->what.
 */
sw_err
http_perform(struct http_client *c, const struct http_req *q,
    struct http_resp *resp)
{
	struct buf url;
	char range[96], errbuf[CURL_ERROR_SIZE];
	char first_etag[80] = "";
	double start = now_mono();
	unsigned attempt = 0, connect_fails = 0;
	uint64_t base_delivered = 0;
	const char *shown;
	sw_err rc = SW_OK;

	memset(resp, 0, sizeof(*resp));
	buf_init(&url);
	request_url(q, &url);
	shown = q->show_url != NULL ? q->show_url : url.data;

	for (;;) {
		struct xfer x = { q, resp, NULL, 0, 0, UINT64_MAX, 0, 0, 0, 0 };
		struct curl_slist *hdrs = NULL;
		const char *range_hdr, *if_match;
		CURLcode cc;
		CURL *h;

		attempt++;
		/* Keep what was delivered by earlier attempts. */
		base_delivered = resp->delivered;
		buf_release(&resp->body);
		resp->status = 0;
		resp->sink_failed = 0;
		range_hdr = attempt_range(q, base_delivered, range,
		    sizeof(range), &x);
		if_match = base_delivered > 0 && first_etag[0] ? first_etag :
		    NULL;
		if (c->creds != NULL)
			rc = sign_headers(c, q, range_hdr, if_match, &hdrs);
		else
			rc = plain_headers(q, range_hdr, if_match, &hdrs);
		if (rc != SW_OK)
			break;

		h = handle_take(c->shared);
		x.h = h;
		errbuf[0] = '\0';
		setup_handle(c, q, h, url.data, hdrs, errbuf, &x);
		log_debug("%s %s (attempt %u)", q->method, shown, attempt);
		budget_take(c->shared);
		cc = curl_easy_perform(h);
		budget_give(c->shared);
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
		handle_give(c->shared, h);
		slist_wipe(hdrs);

		if (attempt_refused(q, resp, &rc))
			break;
		if (first_etag[0] == '\0' && resp->etag[0] != '\0')
			snprintf(first_etag, sizeof(first_etag), "%s",
			    resp->etag);
		if (attempt_complete(q, resp, &x, &cc))
			break;
		if (cc == CURLE_OK && resp->status == 412 && base_delivered > 0) {
			rc = sw_seterr(SW_ERR_DATA, "cannot %s: the object "
			    "changed while it was being read", q->what);
			break;
		}
		if (cc == CURLE_COULDNT_CONNECT)
			connect_fails++;
		if (!retry_wait(c, q, resp, cc, errbuf, attempt, connect_fails,
		    start, shown, &rc))
			break;
	}
	buf_release(&url);
	if (rc != SW_OK)
		buf_release(&resp->body);
	return rc;
}

/* ---- the shared state and the budget ---- */

/*
 * DNS answers and TLS sessions are shared through the CURLSH; connections
 * are not: libcurl 7.88's shared connection cache is not safe with
 * concurrent threads (curl known bug 11.11, curl/curl#4915).  Each idle
 * easy handle keeps its own connections instead, and the handles are
 * pooled here, so a request reuses a connection another client opened.
 */
sw_err
http_shared_new(unsigned max_inflight, struct http_shared **out)
{
	struct http_shared *sh;
	size_t i;

	pthread_once(&global_once, global_init);
	sh = xcalloc(1, sizeof(*sh));
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&sh->share_mu[i], NULL);
	pthread_mutex_init(&sh->handles_mu, NULL);
	pthread_mutex_init(&sh->budget_mu, NULL);
	pthread_cond_init(&sh->budget_cv, NULL);
	sh->max_inflight = max_inflight;
	if ((sh->share = curl_share_init()) == NULL) {
		log_error("out of memory (a curl share)");
		abort();
	}
	curl_share_setopt(sh->share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(sh->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(sh->share, CURLSHOPT_USERDATA, sh);
	curl_share_setopt(sh->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(sh->share, CURLSHOPT_SHARE,
	    CURL_LOCK_DATA_SSL_SESSION);
	*out = sh;
	return SW_OK;
}

void
http_shared_free(struct http_shared *sh)
{
	size_t i;

	if (sh == NULL)
		return;
	for (i = 0; i < sh->nhandles; i++)
		curl_easy_cleanup(sh->handles[i]);
	free(sh->handles);
	if (sh->share != NULL)
		curl_share_cleanup(sh->share);
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&sh->share_mu[i]);
	pthread_mutex_destroy(&sh->handles_mu);
	pthread_cond_destroy(&sh->budget_cv);
	pthread_mutex_destroy(&sh->budget_mu);
	free(sh);
}

void
http_shared_stats(struct http_shared *sh, struct http_stats *st)
{
	pthread_mutex_lock(&sh->budget_mu);
	st->inflight = sh->inflight;
	st->peak = sh->peak;
	st->requests = sh->requests;
	st->max_inflight = sh->max_inflight;
	pthread_mutex_unlock(&sh->budget_mu);
}

/* ---- the client ---- */

sw_err
http_client_new(const struct http_client_opts *o, struct http_client **out)
{
	struct http_client *c;

	*out = NULL;
	pthread_once(&global_once, global_init);
	c = xcalloc(1, sizeof(*c));
	c->service = xstrdup(o->service != NULL ? o->service : "");
	c->s3_rules = o->s3_rules;
	c->region = xstrdup(o->region != NULL ? o->region : "");
	c->creds = o->creds;
	c->tls_verify = o->tls_verify;
	c->ca_bundle = o->ca_bundle ? xstrdup(o->ca_bundle) : NULL;
	c->max_retries = o->max_retries;
	c->retry_max_time = o->retry_max_time;
	c->connect_timeout = o->connect_timeout;
	c->request_timeout = o->request_timeout;
	c->connect_timeout_ms = o->connect_timeout_ms;
	c->timeout_ms = o->timeout_ms;
	c->shared = o->shared;
	if (c->shared == NULL) {
		http_shared_new(0, &c->own_shared);
		c->shared = c->own_shared;
	}
	*out = c;
	return SW_OK;
}

void
http_client_free(struct http_client *c)
{
	if (c == NULL)
		return;
	http_shared_free(c->own_shared);
	free(c->service);
	free(c->region);
	free(c->ca_bundle);
	free(c);
}

sw_err
http_client_from_config(const struct sw_config *cfg, const char *service,
    int s3_rules, const char *region, struct creds_provider *creds,
    struct http_shared *shared, struct http_client **out)
{
	struct http_client_opts o;
	const char *ca = cfg->ca_bundle ? cfg->ca_bundle :
	    getenv("AWS_CA_BUNDLE");

	memset(&o, 0, sizeof(o));
	o.service = service;
	o.s3_rules = s3_rules;
	o.region = region;
	o.creds = creds;
	o.tls_verify = cfg->tls_verify;
	o.ca_bundle = ca != NULL && *ca != '\0' ? ca : NULL;
	o.max_retries = (unsigned)cfg->max_retries;
	o.retry_max_time = (double)cfg->retry_max_time;
	o.connect_timeout = (long)cfg->connect_timeout;
	o.request_timeout = (long)cfg->request_timeout;
	o.shared = shared;
	return http_client_new(&o, out);
}

/* ---- paged calls ---- */

/*
 * The tokens seen are kept as 128-bit digests (a SHA-256 prefix) in an
 * open-addressing set, so a listing of a million pages costs tens of
 * megabytes at most, and a repeat of any earlier token is found, not only
 * of the last one.
 */
struct pager_slot {
	unsigned char d[16];
	unsigned char used;
};

void
http_pager_init(struct http_pager *pg, const char *what,
    unsigned long max_pages)
{
	memset(pg, 0, sizeof(*pg));
	pg->what = what;
	pg->max_pages = max_pages;
}

void
http_pager_release(struct http_pager *pg)
{
	if (pg == NULL)
		return;
	free(pg->slots);
	pg->slots = NULL;
	pg->nslots = pg->nused = 0;
}

static size_t
pager_index(const unsigned char d[16], size_t nslots)
{
	uint64_t h;

	memcpy(&h, d, sizeof(h));
	return (size_t)(h & (nslots - 1));
}

/* Insert d; 1 if it was there already. */
static int
pager_insert(struct http_pager *pg, const unsigned char d[16])
{
	struct pager_slot *s;
	size_t i;

	if ((pg->nused + 1) * 2 > pg->nslots) {
		struct pager_slot *old = pg->slots;
		size_t n = pg->nslots, k;

		pg->nslots = n ? n * 2 : 64;
		pg->slots = xcalloc(pg->nslots, sizeof(*pg->slots));
		pg->nused = 0;
		for (k = 0; k < n; k++)
			if (old[k].used)
				pager_insert(pg, old[k].d);
		free(old);
	}
	for (i = pager_index(d, pg->nslots);; i = (i + 1) & (pg->nslots - 1)) {
		s = &pg->slots[i];
		if (!s->used)
			break;
		if (memcmp(s->d, d, 16) == 0)
			return 1;
	}
	memcpy(s->d, d, 16);
	s->used = 1;
	pg->nused++;
	return 0;
}

sw_err
http_pager_next(struct http_pager *pg, const void *token, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;

	pg->pages++;
	if (token == NULL || len == 0)
		return SW_OK; /* the last page */
	if (pg->pages >= pg->max_pages)
		return sw_seterr(SW_ERR_PROTO, "cannot %s: still not done after "
		    "%lu pages; giving up (a listing that does not end)",
		    pg->what, pg->pages);
	if (EVP_Digest(token, len, md, &mdlen, EVP_sha256(), NULL) != 1)
		return sw_seterr(SW_ERR_INTERNAL, "cannot %s: SHA-256 failed",
		    pg->what);
	if (pager_insert(pg, md))
		return sw_seterr(SW_ERR_PROTO, "cannot %s: the server gave "
		    "again, on page %lu, a continuation token it gave before "
		    "(a listing that would never end)", pg->what, pg->pages);
	return SW_OK;
}

void
http_query_add(struct buf *q, const char *k, const char *v)
{
	if (q->len > 0)
		buf_putc(q, '&');
	sigv4_uri_encode(q, k, strlen(k), 1);
	buf_putc(q, '=');
	sigv4_uri_encode(q, v, strlen(v), 1);
}
