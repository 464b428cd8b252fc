/*
 * s3.c - the s3://BUCKET[/PREFIX] store backend: S3 over http.c.
 *
 * Every request goes through s3_perform() and http_perform(), which signs,
 * reuses connections and retries what may succeed when asked again (see
 * http.c); 501 and other 4xx fail at once with the server's code and
 * message.
 *
 * Conditional writes (store_put_opts.if_match / if_none_match) go on
 * PutObject and on CompleteMultipartUpload, where S3 evaluates them; a 412
 * becomes SW_ERR_EXISTS naming the key, a 501 SW_ERR_UNSUPPORTED naming the
 * header.  Listings (ListObjectsV2, ListMultipartUploads) stop with
 * SW_ERR_PROTO when the server repeats a token or pages past S3_MAX_PAGES,
 * and listed sizes are range-checked.  Cleaning up interrupted uploads is
 * housekeeping: a store that answers 501 to it gets SW_ERR_UNSUPPORTED
 * after one request, with a lifecycle rule to use instead.
 *
 * Threads: any number of threads may call into one store at once.
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

#include "aws/creds.h"
#include "aws/http.h"
#include "aws/xml.h"
#include "aws/session.h"
#include "aws/sigv4.h"
#include "base/log.h"
#include "base/options.h"
#include "base/pool.h"
#include "base/util.h"
#include "store/store_impl.h"
#include "store/store_s3.h"

/* Pages of one listing (ListObjectsV2, ListMultipartUploads) before it is
 * taken for a server that pages without end: a million pages of 1,000
 * keys is a billion keys, far more than any prefix swrepart lists holds. */
#define S3_MAX_PAGES 1000000UL

struct s3 {
	char *bucket;
	char *root;            /* key prefix from s3://bucket/PREFIX/, or "" */
	char *scheme;          /* "https" */
	char *host;            /* Host header: "bucket.s3.eu-west-1..." */
	char *path_base;       /* "" (virtual) or "/bucket" (path style) */
	char *region;
	struct aws_session *session;   /* a reference */
	struct http_client *http;
	uint64_t part_size, multipart_threshold;
	struct store *st;      /* the store this is the backend of */
};

/* One S3 request: the HTTP request less its path, which s3_perform()
 * derives from the key. */
struct s3_req {
	struct http_req h;
	const char *key;          /* full key (root included), NULL: bucket */
};

static struct s3 *
S3(struct store *st)
{
	return st->impl;
}

/* ---- small helpers ---- */

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

/* What -v counts a request as: a GET with a query lists (objects,
 * uploads, parts). */
static enum store_req
req_kind(const struct http_req *h)
{
	if (strcmp(h->method, "GET") == 0)
		return h->query != NULL && h->query[0] != '\0' ?
		    STORE_REQ_LIST : STORE_REQ_GET;
	if (strcmp(h->method, "HEAD") == 0)
		return STORE_REQ_HEAD;
	if (strcmp(h->method, "PUT") == 0)
		return STORE_REQ_PUT;
	if (strcmp(h->method, "POST") == 0)
		return STORE_REQ_POST;
	return STORE_REQ_DELETE;
}

/* Send q to the bucket's endpoint: the key becomes the path. */
static sw_err
s3_perform(struct s3 *c, const struct s3_req *q, struct http_resp *resp)
{
	struct http_req h = q->h;
	struct buf path;
	sw_err rc;

	buf_init(&path);
	/* Bucket requests go to "/bucket" (path style) or "/" (virtual). */
	buf_puts(&path, c->path_base);
	if (q->key != NULL) {
		buf_putc(&path, '/');
		sigv4_uri_encode(&path, q->key, strlen(q->key), 0);
	} else if (path.len == 0) {
		buf_putc(&path, '/');
	}
	h.scheme = c->scheme;
	h.host = c->host;
	h.path = path.data;
	h.bucket = c->bucket;
	rc = http_perform(c->http, &h, resp);
	store_count(c->st, req_kind(&h), strcmp(h.method, "GET") == 0 &&
	    h.sink != NULL ? resp->delivered : 0);
	buf_release(&path);
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
		char etag[128], size[32], mod[64];
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
			if (parse_u64_strict(size, NET_NUMBER_MAX, &e.size) !=
			    0) {
				rc = sw_seterr(SW_ERR_PROTO, "cannot %s: the "
				    "listing gives '%s' a size of '%s', which "
				    "is not a number of bytes", what, tmp,
				    size);
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

/* What a listing's callback is wrapped in: every entry must lie under
 * the prefix asked for (a server's answer is not believed blindly). */
struct list_guard {
	const char *prefix, *what;
	size_t plen;
	store_list_fn fn;
	void *arg;
};

static sw_err
list_guard_fn(void *arg, const struct store_entry *e)
{
	struct list_guard *g = arg;

	if (strncmp(e->key, g->prefix, g->plen) != 0)
		return sw_seterr(SW_ERR_PROTO, "cannot %s: the answer lists "
		    "'%s', which is not under the prefix asked for", g->what,
		    e->key);
	return g->fn(g->arg, e);
}

static sw_err
s3_list(struct store *st, const char *prefix, const char *delimiter,
    const char *start_after, store_list_fn fn, void *arg)
{
	struct s3 *c = S3(st);
	struct list_guard guard = { prefix, NULL, strlen(prefix), fn, arg };
	char *fprefix = full_key(c, prefix), *fstart = NULL;
	char token[2048] = "", what[1200];
	struct http_pager pg;
	struct buf q;
	sw_err rc = SW_OK;

	if (start_after != NULL)
		fstart = full_key(c, start_after);
	snprintf(what, sizeof(what), "list '%s%s'", st->url, prefix);
	guard.what = what;
	http_pager_init(&pg, what, S3_MAX_PAGES);
	buf_init(&q);
	do {
		struct s3_req req;
		struct http_resp resp;

		q.len = 0;
		http_query_add(&q, "list-type", "2");
		if (token[0] != '\0')
			http_query_add(&q, "continuation-token", token);
		if (delimiter != NULL)
			http_query_add(&q, "delimiter", delimiter);
		http_query_add(&q, "encoding-type", "url");
		http_query_add(&q, "prefix", fprefix);
		if (fstart != NULL && token[0] == '\0')
			http_query_add(&q, "start-after", fstart);
		memset(&req, 0, sizeof(req));
		req.h.method = "GET";
		req.h.query = q.data;
		req.h.body_fd = -1;
		req.h.what = what;
		if ((rc = s3_perform(c, &req, &resp)) != SW_OK)
			break;
		rc = s3_parse_list(&resp.body, c->root, list_guard_fn, &guard,
		    token, sizeof(token), what);
		buf_release(&resp.body);
		if (rc == SW_OK)
			rc = http_pager_next(&pg, token, strlen(token));
	} while (rc == SW_OK && token[0] != '\0');
	http_pager_release(&pg);
	buf_release(&q);
	free(fprefix);
	free(fstart);
	return rc;
}

static void
fill_info(const struct http_resp *r, struct store_info *info)
{
	if (info == NULL)
		return;
	info->size = r->total_size;
	snprintf(info->etag, sizeof(info->etag), "%s", r->etag);
	info->mtime = r->mtime;
}

static sw_err
s3_get(struct store *st, const char *key, uint64_t off, uint64_t len,
    sw_sink_fn fn, void *arg, struct store_info *info)
{
	struct s3 *c = S3(st);
	struct s3_req req;
	struct http_resp resp;
	char what[1200];
	char *fk = full_key(c, key);
	sw_err rc;

	snprintf(what, sizeof(what), "read '%s%s'", st->url, key);
	memset(&req, 0, sizeof(req));
	req.h.method = "GET";
	req.key = fk;
	req.h.body_fd = -1;
	req.h.sink = fn;
	req.h.sink_arg = arg;
	req.h.ranged = off > 0 || len > 0;
	req.h.range_off = off;
	req.h.range_len = len;
	req.h.what = what;
	rc = s3_perform(c, &req, &resp);
	if (rc == SW_OK)
		fill_info(&resp, info);
	buf_release(&resp.body);
	free(fk);
	return rc;
}

/* A request about one key with no body (HEAD, DELETE); verb says what
 * it does in messages ("stat", "delete").  Release resp->body after. */
static sw_err
key_request(struct store *st, const char *method, const char *verb,
    const char *key, struct http_resp *resp)
{
	struct s3 *c = S3(st);
	struct s3_req req;
	char what[1200];
	char *fk = full_key(c, key);
	sw_err rc;

	snprintf(what, sizeof(what), "%s '%s%s'", verb, st->url, key);
	memset(&req, 0, sizeof(req));
	req.h.method = method;
	req.key = fk;
	req.h.body_fd = -1;
	req.h.what = what;
	rc = s3_perform(c, &req, resp);
	free(fk);
	return rc;
}

static sw_err
s3_head(struct store *st, const char *key, struct store_info *info)
{
	struct http_resp resp;
	sw_err rc;

	rc = key_request(st, "HEAD", "stat", key, &resp);
	if (rc == SW_OK)
		fill_info(&resp, info);
	buf_release(&resp.body);
	return rc;
}

/* SHA-256 (hex) and MD5 (base64) of a body in one pass; the MD5 only
 * when the caller did not give it (given: 16 bytes, or NULL). */
static sw_err
hash_body(const char *mem, int fd, uint64_t off, uint64_t len,
    const unsigned char *given, char sha_hex[65], char md5_b64[25])
{
	EVP_MD_CTX *sha = EVP_MD_CTX_new();
	EVP_MD_CTX *md5 = given == NULL ? EVP_MD_CTX_new() : NULL;
	unsigned char d[32];
	char *chunk = mem ? NULL : xcalloc(1, 1 << 18);
	uint64_t done = 0;
	sw_err rc = SW_OK;

	EVP_DigestInit_ex(sha, EVP_sha256(), NULL);
	if (md5 != NULL)
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
		if (md5 != NULL)
			EVP_DigestUpdate(md5, p, want);
		done += want;
	}
	EVP_DigestFinal_ex(sha, d, NULL);
	hex_encode(d, 32, sha_hex);
	if (md5 != NULL)
		EVP_DigestFinal_ex(md5, d, NULL);
	base64(md5 != NULL ? d : given, 16, md5_b64);
	EVP_MD_CTX_free(sha);
	EVP_MD_CTX_free(md5);
	free(chunk);
	return rc;
}

/* The conditional-write headers of o (for PutObject and
 * CompleteMultipartUpload, where S3 takes them): at most one. */
static size_t
cond_headers(const struct store_put_opts *o, struct sigv4_header *hs)
{
	if (o != NULL && o->if_match != NULL) {
		hs[0] = (struct sigv4_header){ "If-Match", o->if_match };
		return 1;
	}
	if (o != NULL && o->if_none_match) {
		hs[0] = (struct sigv4_header){ "If-None-Match", "*" };
		return 1;
	}
	return 0;
}

static int
is_conditional(const struct store_put_opts *o)
{
	return o != NULL && (o->if_match != NULL || o->if_none_match);
}

/* Headers of PutObject (cond set) or CreateMultipartUpload. */
static size_t
put_headers(const struct store_put_opts *o, const char *md5, int cond,
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
	if (cond)
		n += cond_headers(o, hs + n);
	return n;
}

/*
 * What a failed conditional write means, said of the key: 412 (and, for
 * If-Match, 404 NoSuchKey: the object is gone) is SW_ERR_EXISTS, another
 * writer got there first; 501 is SW_ERR_UNSUPPORTED, a store without
 * conditional writes.  Other results pass unchanged.
 */
static sw_err
cond_result(sw_err rc, const struct http_resp *r,
    const struct store_put_opts *o, const char *url, const char *key)
{
	const char *hdr;

	if (rc == SW_OK || !is_conditional(o))
		return rc;
	hdr = o->if_match != NULL ? "If-Match" : "If-None-Match: *";
	if (rc == SW_ERR_EXISTS && o->if_match != NULL)
		return sw_seterr(SW_ERR_EXISTS, "cannot upload '%s%s': it was "
		    "changed by another writer (it no longer has ETag %s: "
		    "412 %s)", url, key, o->if_match, r->err_code);
	if (rc == SW_ERR_EXISTS)
		return sw_seterr(SW_ERR_EXISTS, "cannot upload '%s%s': it was "
		    "created by another writer meanwhile (412 %s to %s)",
		    url, key, r->err_code, hdr);
	if (rc == SW_ERR_NOTFOUND && o->if_match != NULL &&
	    strcmp(r->err_code, "NoSuchKey") == 0)
		return sw_seterr(SW_ERR_EXISTS, "cannot upload '%s%s': it was "
		    "changed by another writer (deleted: there is no object "
		    "with ETag %s)", url, key, o->if_match);
	if (rc == SW_ERR_UNSUPPORTED)
		return sw_seterr(SW_ERR_UNSUPPORTED, "cannot upload '%s%s': the "
		    "store does not support conditional writes (501 %s to "
		    "the header %s)", url, key, r->err_code, hdr);
	return rc;
}

/* One PUT (object or part) of a memory or file body; given: its MD5 as
 * the caller took it, or NULL. */
static sw_err
put_once(struct s3 *c, const char *fk, const char *query, const char *mem,
    int fd, uint64_t off, uint64_t len, const unsigned char *given,
    const struct store_put_opts *o, int with_meta, const char *what,
    struct http_resp *resp)
{
	struct sigv4_header hs[8];
	struct s3_req req;
	char sha[65], md5[25];
	sw_err rc;

	if ((rc = hash_body(mem, fd, off, len, given, sha, md5)) != SW_OK)
		return sw_adderr(rc, "cannot %s", what);
	memset(&req, 0, sizeof(req));
	req.h.method = "PUT";
	req.key = fk;
	req.h.query = query;
	req.h.extra = hs;
	req.h.nextra = with_meta ? put_headers(o, md5, 1, hs) : 0;
	if (!with_meta) {
		hs[0] = (struct sigv4_header){ "Content-MD5", md5 };
		req.h.nextra = 1;
	}
	req.h.body = mem;
	req.h.body_fd = fd;
	req.h.body_off = off;
	req.h.body_len = len;
	req.h.payload_hash = sha;
	req.h.what = what;
	return s3_perform(c, &req, resp);
}

/* One PUT of a whole object, from memory (mem) or else from fd. */
static sw_err
put_whole(struct store *st, const char *key, const char *mem, int fd,
    uint64_t n, const struct store_put_opts *opts, struct store_info *info)
{
	struct s3 *c = S3(st);
	struct http_resp resp;
	char what[1200];
	char *fk = full_key(c, key);
	sw_err rc;

	snprintf(what, sizeof(what), "upload '%s%s'", st->url, key);
	rc = put_once(c, fk, NULL, mem, fd, 0, n, opts != NULL ? opts->md5 :
	    NULL, opts, 1, what, &resp);
	rc = cond_result(rc, &resp, opts, st->url, key);
	if (rc == SW_OK) {
		fill_info(&resp, info);
		if (info != NULL)
			info->size = n;
	}
	buf_release(&resp.body);
	free(fk);
	return rc;
}

static sw_err
s3_put_mem(struct store *st, const char *key, const void *p, size_t n,
    const struct store_put_opts *opts, struct store_info *info)
{
	return put_whole(st, key, p ? p : "", -1, n, opts, info);
}

/* POST a small XML or empty body with a query; the answer in resp.  o
 * gives the headers of CreateMultipartUpload, cond the conditions of
 * CompleteMultipartUpload (one of them is NULL). */
static sw_err
post_xml(struct s3 *c, const char *fk, const char *query, const char *body,
    const struct store_put_opts *o, const struct store_put_opts *cond,
    const char *what, struct http_resp *resp)
{
	struct sigv4_header hs[8];
	struct s3_req req;
	char sha[65], md5[25];

	hash_body(body, -1, 0, strlen(body), NULL, sha, md5);
	memset(&req, 0, sizeof(req));
	req.h.method = "POST";
	req.key = fk;
	req.h.query = query;
	req.h.extra = hs;
	if (cond != NULL) {
		hs[0] = (struct sigv4_header){ "Content-MD5", md5 };
		hs[1] = (struct sigv4_header){ "Content-Type",
		    "application/xml" };
		req.h.nextra = 2 + cond_headers(cond, hs + 2);
	} else {
		req.h.nextra = put_headers(o, body[0] ? md5 : NULL, 0, hs);
	}
	req.h.body = body;
	req.h.body_fd = -1;
	req.h.body_len = strlen(body);
	req.h.payload_hash = sha;
	req.h.what = what;
	return s3_perform(c, &req, resp);
}

/* AbortMultipartUpload of one upload id. */
static sw_err
abort_upload(struct s3 *c, const char *fk, const char *upload_id,
    const char *what)
{
	struct s3_req req;
	struct http_resp resp;
	struct buf q;
	char w[1300];
	sw_err rc;

	buf_init(&q);
	http_query_add(&q, "uploadId", upload_id);
	snprintf(w, sizeof(w), "abort the multipart %s", what);
	memset(&req, 0, sizeof(req));
	req.h.method = "DELETE";
	req.key = fk;
	req.h.query = q.data;
	req.h.body_fd = -1;
	req.h.what = w;
	rc = s3_perform(c, &req, &resp);
	buf_release(&resp.body);
	buf_release(&q);
	return rc;
}

/* Housekeeping the store does not implement: say what to do instead. */
static sw_err
no_housekeeping(struct s3 *c, const char *api)
{
	char why[1024];

	snprintf(why, sizeof(why), "%s", sw_errmsg());
	return sw_seterr(SW_ERR_UNSUPPORTED, "%s; the store of bucket '%s' "
	    "does not implement %s: add an S3 lifecycle rule with "
	    "AbortIncompleteMultipartUpload to bucket '%s' to clean up "
	    "interrupted multipart uploads", why, c->bucket, api, c->bucket);
}

/* One part of a multipart upload, run by a pool worker. */
struct part_job {
	struct s3 *c;
	const char *fk, *upload_id, *what;
	int fd;
	uint64_t off, len;
	const unsigned char *md5;  /* the caller's, or NULL */
	unsigned num, nparts;
	char etag[128];        /* the server's answer */
};

static sw_err
put_part(void *arg)
{
	struct part_job *j = arg;
	struct http_resp resp;
	struct buf q;
	char num[16], what[1300];
	sw_err rc;

	buf_init(&q);
	snprintf(num, sizeof(num), "%u", j->num);
	http_query_add(&q, "partNumber", num);
	http_query_add(&q, "uploadId", j->upload_id);
	snprintf(what, sizeof(what), "%s (part %u of %u)", j->what, j->num,
	    j->nparts);
	rc = put_once(j->c, j->fk, q.data, NULL, j->fd, j->off, j->len,
	    j->md5, NULL, 0, what, &resp);
	if (rc == SW_OK)
		snprintf(j->etag, sizeof(j->etag), "%s", resp.etag);
	buf_release(&resp.body);
	buf_release(&q);
	return rc;
}

/*
 * Upload the parts in the pool the caller lent (the process's request
 * pool; NULL: one part after another; each part reads its own range of fd
 * with pread, so nothing is buffered beyond the requests' own chunks), and
 * describe them in order in done, the body of CompleteMultipartUpload.
 */
static sw_err
put_parts(struct s3 *c, const struct store_put_opts *o, const char *fk,
    const char *upload_id, int fd, uint64_t size, const char *what,
    struct buf *done)
{
	uint64_t nparts = (size + c->part_size - 1) / c->part_size;
	struct part_job *jobs;
	struct batch b;
	uint64_t k;
	sw_err rc;
	/* the caller's MD5s, when its parts are ours */
	int given = o != NULL && o->part_md5 != NULL &&
	    o->part_size == c->part_size && o->nparts == nparts;

	jobs = xcalloc((size_t)nparts, sizeof(*jobs));
	batch_init(&b, o != NULL ? o->pool : NULL, 1);
	for (k = 0; k < nparts; k++) {
		struct part_job *j = &jobs[k];

		j->c = c;
		j->fk = fk;
		j->upload_id = upload_id;
		j->what = what;
		j->fd = fd;
		j->off = k * c->part_size;
		j->len = size - j->off < c->part_size ? size - j->off :
		    c->part_size;
		j->md5 = given ? o->part_md5[k] : NULL;
		j->num = (unsigned)k + 1;
		j->nparts = (unsigned)nparts;
		batch_submit(&b, put_part, j);
	}
	rc = batch_wait(&b);
	batch_release(&b);
	buf_puts(done, "<CompleteMultipartUpload>");
	for (k = 0; k < nparts && rc == SW_OK; k++)
		buf_printf(done, "<Part><PartNumber>%u</PartNumber>"
		    "<ETag>%s</ETag></Part>", jobs[k].num, jobs[k].etag);
	buf_puts(done, "</CompleteMultipartUpload>");
	free(jobs);
	return rc;
}

static sw_err
s3_put_multipart(struct store *st, const char *key, int fd, uint64_t size,
    const struct store_put_opts *opts, struct store_info *info)
{
	struct s3 *c = S3(st);
	struct http_resp resp;
	struct buf q, done;
	char what[1200], upload_id[1024], etag[128];
	char *fk = full_key(c, key);
	xmlDoc *doc;
	xmlNode *root;
	sw_err rc;

	snprintf(what, sizeof(what), "upload '%s%s'", st->url, key);
	buf_init(&q);
	buf_init(&done);
	if ((size + c->part_size - 1) / c->part_size > 10000) {
		rc = sw_seterr(SW_ERR_CONFIG, "cannot %s: its %llu bytes make "
		    "more than the 10000 parts S3 allows; raise "
		    "aws.multipart_part_size", what, (unsigned long long)size);
		goto out;
	}
	rc = post_xml(c, fk, "uploads=", "", opts, NULL, what, &resp);
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
	rc = put_parts(c, opts, fk, upload_id, fd, size, what, &done);
	if (rc == SW_OK) {
		http_query_add(&q, "uploadId", upload_id);
		rc = post_xml(c, fk, q.data, done.data, NULL, opts ? opts :
		    &(struct store_put_opts){ 0 }, what, &resp);
		rc = cond_result(rc, &resp, opts, st->url, key);
		/* Complete can fail inside a 200 answer. */
		if (rc == SW_OK) {
			doc = xml_parse(&resp.body);
			root = doc ? xmlDocGetRootElement(doc) : NULL;
			if (root != NULL && strcmp((const char *)root->name,
			    "Error") == 0) {
				char code[64], msg[256];

				xml_text(root, "Code", code, sizeof(code));
				rc = sw_seterr(SW_ERR_SERVER, "cannot %s: "
				    "CompleteMultipartUpload failed: %s: %s",
				    what, code, xml_text(root, "Message",
				    msg, sizeof(msg)));
				if (strcmp(code, "PreconditionFailed") == 0) {
					snprintf(resp.err_code,
					    sizeof(resp.err_code), "%s", code);
					rc = cond_result(SW_ERR_EXISTS, &resp,
					    opts, st->url, key);
				}
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
	if (rc != SW_OK) {
		/* Keep the reason the upload failed, whatever the abort says. */
		char why[1024];

		snprintf(why, sizeof(why), "%s", sw_errmsg());
		if (abort_upload(c, fk, upload_id, what) != SW_OK)
			log_warn("%s", sw_errmsg());
		sw_seterr(rc, "%s", why);
	}
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
	if (size > S3(st)->multipart_threshold)
		return s3_put_multipart(st, key, fd, size, opts, info);
	return put_whole(st, key, NULL, fd, size, opts, info);
}

static sw_err
s3_del(struct store *st, const char *key)
{
	struct http_resp resp;
	sw_err rc;

	rc = key_request(st, "DELETE", "delete", key, &resp);
	if (rc == SW_ERR_NOTFOUND && resp.status == 404)
		rc = SW_OK;
	buf_release(&resp.body);
	return rc;
}

/* ListMultipartUploads for the key, then AbortMultipartUpload of each. */
static sw_err
s3_abort_uploads(struct store *st, const char *key, unsigned *n)
{
	struct s3 *c = S3(st);
	char *fk = full_key(c, key);
	char what[1200], kmark[1024] = "", umark[1024] = "";
	char truncated[8];
	struct http_pager pg;
	struct buf q, tok;
	sw_err rc = SW_OK;

	snprintf(what, sizeof(what), "list the multipart uploads of '%s%s'",
	    st->url, key);
	http_pager_init(&pg, what, S3_MAX_PAGES);
	buf_init(&q);
	buf_init(&tok);
	do {
		struct s3_req req;
		struct http_resp resp;
		xmlDoc *doc;
		xmlNode *root, *u;

		q.len = 0;
		if (kmark[0] != '\0')
			http_query_add(&q, "key-marker", kmark);
		http_query_add(&q, "prefix", fk);
		if (umark[0] != '\0')
			http_query_add(&q, "upload-id-marker", umark);
		http_query_add(&q, "uploads", "");
		memset(&req, 0, sizeof(req));
		req.h.method = "GET";
		req.h.query = q.data;
		req.h.body_fd = -1;
		req.h.what = what;
		if ((rc = s3_perform(c, &req, &resp)) != SW_OK) {
			if (rc == SW_ERR_UNSUPPORTED)
				rc = no_housekeeping(c, "ListMultipartUploads");
			break;
		}
		doc = xml_parse(&resp.body);
		buf_release(&resp.body);
		root = doc ? xmlDocGetRootElement(doc) : NULL;
		if (root == NULL) {
			xmlFreeDoc(doc);
			rc = sw_seterr(SW_ERR_PROTO, "cannot %s: the answer is "
			    "not XML", what);
			break;
		}
		for (u = root->children; u != NULL; u = u->next) {
			char k[1100], id[1024];

			if (u->type != XML_ELEMENT_NODE ||
			    strcmp((const char *)u->name, "Upload") != 0)
				continue;
			xml_text(u, "Key", k, sizeof(k));
			xml_text(u, "UploadId", id, sizeof(id));
			if (strcmp(k, fk) != 0 || id[0] == '\0')
				continue;
			log_notice("aborting an unfinished upload of '%s%s' "
			    "(upload id %.12s...)", st->url, key, id);
			rc = abort_upload(c, fk, id, what);
			if (rc == SW_ERR_UNSUPPORTED) {
				rc = no_housekeeping(c,
				    "AbortMultipartUpload");
				break;
			}
			if (rc != SW_OK)  /* the next run tries again */
				log_warn("%s", sw_errmsg());
			rc = SW_OK;
			(*n)++;
		}
		xml_text(root, "IsTruncated", truncated, sizeof(truncated));
		xml_text(root, "NextKeyMarker", kmark, sizeof(kmark));
		xml_text(root, "NextUploadIdMarker", umark, sizeof(umark));
		xmlFreeDoc(doc);
		if (rc != SW_OK)
			break;
		/* The pair of markers is this listing's token. */
		tok.len = 0;
		if (strcmp(truncated, "true") == 0 && kmark[0] != '\0') {
			buf_puts(&tok, kmark);
			buf_putc(&tok, '\0');
			buf_puts(&tok, umark);
		}
		rc = http_pager_next(&pg, tok.data, tok.len);
	} while (rc == SW_OK && tok.len > 0);
	http_pager_release(&pg);
	buf_release(&tok);
	buf_release(&q);
	free(fk);
	return rc;
}

static void
s3_free(struct store *st)
{
	struct s3 *c = S3(st);

	if (c == NULL)
		return;
	http_client_free(c->http);
	aws_session_release(c->session);
	free(c->bucket);
	free(c->root);
	free(c->scheme);
	free(c->host);
	free(c->path_base);
	free(c->region);
	free(c);
}

static const struct store_ops s3_ops = {
	.list = s3_list,
	.get = s3_get,
	.head = s3_head,
	.put_mem = s3_put_mem,
	.put_fd = s3_put_fd,
	.del = s3_del,
	.abort_uploads = s3_abort_uploads,
	.free = s3_free
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
	*scheme = xstrndup(url, (size_t)(p - 3 - url));
	*authority = xstrndup(p, (size_t)(end - p));
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
	const char *region;
	struct s3_endpoint ep;
	sw_err rc;

	c = xcalloc(1, sizeof(*c));
	c->bucket = slash ? xstrndup(rest, (size_t)(slash - rest)) :
	    xstrdup(rest);
	c->root = xstrdup(slash ? slash + 1 : "");
	st->impl = c;
	c->st = st;
	st->ops = &s3_ops;
	if (c->bucket[0] == '\0') {
		rc = sw_seterr(SW_ERR_CONFIG, "'%s' names no bucket", st->url);
		goto fail;
	}
	if ((rc = aws_session_get(cfg, &c->session)) != SW_OK)
		goto fail;
	region = aws_session_region(c->session);
	c->region = xstrdup(region ? region : "us-east-1");
	c->part_size = cfg->part_size;
	c->multipart_threshold = cfg->multipart_threshold;
	if ((rc = s3_endpoint_resolve(c->bucket, c->region, cfg->endpoint_url,
	    cfg->addressing_style, &ep)) != SW_OK)
		goto fail;
	c->scheme = ep.scheme;
	c->host = ep.host;
	c->path_base = ep.path_base;
	if ((rc = aws_session_client(c->session, "s3", 1, c->region,
	    &c->http)) != SW_OK)
		goto fail;
	log_debug("store %s: %s://%s%s region %s, credentials from %s",
	    st->url, c->scheme, c->host, c->path_base, c->region,
	    creds_source(aws_session_creds(c->session)));
	return SW_OK;
fail:
	s3_free(st);
	st->impl = NULL;
	st->ops = NULL;
	return rc;
}
