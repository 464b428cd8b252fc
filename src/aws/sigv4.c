/*
 * sigv4.c - AWS Signature Version 4: canonical request, string to sign,
 * signing key and the Authorization header value.
 *
 * The rules are those of the IAM guide ("Create a signed AWS API request")
 * and of its S3 variant ("Signature Calculations for the Authorization
 * Header: Transferring Payload in a Single Chunk"); where the prose leaves
 * a choice open, the AWS SigV4 test suite in tests/data/sigv4 decides.
 * Character classes are spelled out in ASCII: <ctype.h> follows the locale,
 * a signature must not.
 */
#include "config.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "aws/sigv4.h"
#include "base/dates.h"

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define SIGV4_TERMINATOR "aws4_request"
#define SIGV4_REDACTED "<redacted>"
#define SIGV4_TOKEN_HEADER "x-amz-security-token"

/* A header to sign and its place in the caller's list. */
struct hent {
	const struct sigv4_header *h;
	size_t order;
};

/* A query parameter, both halves in canonical (encoded) form. */
struct qparam {
	struct buf key;
	struct buf value;
};

static int
is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
	    c == '~';
}

/* RFC 9110 tchar: what a method or a header name may be made of. */
static int
is_tchar(unsigned char c)
{
	return is_unreserved(c) || (c != '\0' && strchr("!#$%&'*+^`|", c));
}

static int
is_ows(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static unsigned char
ascii_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

static int
hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int
is_token(const char *s)
{
	if (s == NULL || *s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!is_tchar((unsigned char)*s))
			return 0;
	return 1;
}

/* Region and service stand unquoted in "date/region/service/aws4_request". */
static int
is_scope_part(const char *s)
{
	if (s == NULL || *s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!is_unreserved((unsigned char)*s))
			return 0;
	return 1;
}

static const char *
shown_path(const struct sigv4_request *req)
{
	return req->path != NULL && *req->path != '\0' ? req->path : "/";
}

/* "cannot sign GET '/bucket/key': what" as this thread's error. */
static sw_err __attribute__((format(printf, 2, 3)))
bad_request(const struct sigv4_request *req, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return sw_seterr(SW_ERR_INTERNAL, "cannot sign %s '%s': %s",
	    req->method != NULL ? req->method : "(null)", shown_path(req),
	    what);
}

void
sigv4_amz_date(time_t t, char out[17])
{
	date_format_iso8601((int64_t)t, 1, out);
}

void
sigv4_uri_encode(struct buf *out, const char *s, size_t n, int encode_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	if (n > (SIZE_MAX - 1) / 3)
		xoom(n, 3);
	buf_reserve(out, 3 * n);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (is_unreserved(c) || (c == '/' && !encode_slash)) {
			out->data[out->len++] = (char)c;
		} else {
			out->data[out->len++] = '%';
			out->data[out->len++] = hex[c >> 4];
			out->data[out->len++] = hex[c & 15];
		}
	}
	out->data[out->len] = '\0';
}

/*
 * Percent-decodes s[0..n) into out.  '+' stays a literal plus: S3 and the
 * SDKs sign it as %2B, never as a space.
 */
static sw_err
uri_decode(const struct sigv4_request *req, struct buf *out, const char *s,
    size_t n)
{
	size_t i;

	buf_reserve(out, n);
	for (i = 0; i < n; i++) {
		int hi, lo;

		if (s[i] != '%') {
			out->data[out->len++] = s[i];
			continue;
		}
		if (i + 2 >= n ||
		    (hi = hex_value((unsigned char)s[i + 1])) < 0 ||
		    (lo = hex_value((unsigned char)s[i + 2])) < 0)
			return bad_request(req, "malformed percent-escape in "
			    "query '%s'", req->query);
		out->data[out->len++] = (char)(hi << 4 | lo);
		i += 2;
	}
	out->data[out->len] = '\0';
	return SW_OK;
}

static int
is_upper_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

/*
 * S3 signs the path as sent, so it must already be in the one form that
 * S3 and every SDK agree on: what sigv4_uri_encode(key, 0) produces.  A
 * raw '!' or space here would be signed one way and read another.
 */
static sw_err
check_s3_path(const struct sigv4_request *req, const char *path)
{
	const unsigned char *p;

	for (p = (const unsigned char *)path; *p != '\0'; p++) {
		if (*p == '%') {
			if (!is_upper_hex(p[1]) || !is_upper_hex(p[2]))
				return bad_request(req, "malformed or "
				    "lowercase percent-escape in the path");
			p += 2;
		} else if (!is_unreserved(*p) && *p != '/') {
			return bad_request(req, "byte 0x%02x in the path "
			    "is not percent-encoded (use sigv4_uri_encode)",
			    *p);
		}
	}
	return SW_OK;
}

/*
 * Every service but S3: remove empty, "." and ".." segments (RFC 3986
 * section 5.2.4, plus the empty ones as the test suite wants), keep a
 * trailing slash, and percent-encode each segment once more.
 */
static void
normalized_uri(struct buf *out, const char *path)
{
	struct buf raw = { 0 };
	const char *p, *end;
	int trailing = 0;

	/* p is at a '/' at the top of each round. */
	for (p = path; *p != '\0'; p = end) {
		size_t n;

		p++;
		end = strchr(p, '/');
		if (end == NULL)
			end = p + strlen(p);
		n = (size_t)(end - p);
		trailing = 1;
		if (n == 0 || (n == 1 && p[0] == '.'))
			continue;
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			while (raw.len > 0 && raw.data[--raw.len] != '/')
				;
			if (raw.data != NULL)
				raw.data[raw.len] = '\0';
			continue;
		}
		trailing = 0;
		buf_putc(&raw, '/');
		buf_append(&raw, p, n);
	}
	if (raw.len == 0)
		buf_putc(out, '/');
	else
		sigv4_uri_encode(out, raw.data, raw.len, 0);
	if (raw.len > 0 && trailing)
		buf_putc(out, '/');
	buf_release(&raw);
}

static sw_err
canonical_uri(const struct sigv4_request *req, int s3_rules, struct buf *out)
{
	const char *path = req->path;
	sw_err rc = SW_OK;

	if (path == NULL || *path == '\0')
		path = "/";
	if (path[0] != '/')
		return bad_request(req, "the path does not start with '/'");
	if (!s3_rules)
		normalized_uri(out, path);
	else if ((rc = check_s3_path(req, path)) == SW_OK)
		buf_puts(out, path);
	return rc;
}

static int
qparam_cmp(const void *a, const void *b)
{
	const struct qparam *x = a, *y = b;
	int c = strcmp(x->key.data, y->key.data);

	return c != 0 ? c : strcmp(x->value.data, y->value.data);
}

/*
 * Decode then re-encode each key and value, so that "a b", "a%20b" and
 * "a%2f" sign as "a%20b", "a%20b" and "a%2F" whoever wrote them; then sort
 * by key and value in byte order.  A parameter without '=' has an empty
 * value, and empty parameters ("a=1&&b=2") are dropped.
 */
static sw_err
canonical_query(const struct sigv4_request *req, struct buf *out)
{
	struct qparam *params = NULL;
	struct buf tmp = { 0 };
	const char *p, *amp, *eq;
	size_t n = 1, np = 0, i;
	sw_err rc = SW_OK;

	if (req->query == NULL || *req->query == '\0')
		return SW_OK;
	for (p = req->query; *p != '\0'; p++)
		n += *p == '&';
	params = xcalloc(n, sizeof(*params));
	for (p = req->query; rc == SW_OK; p = amp + 1) {
		size_t len, klen;

		amp = strchr(p, '&');
		len = amp != NULL ? (size_t)(amp - p) : strlen(p);
		if (len > 0) {
			eq = memchr(p, '=', len);
			klen = eq != NULL ? (size_t)(eq - p) : len;
			tmp.len = 0;
			rc = uri_decode(req, &tmp, p, klen);
			if (rc == SW_OK)
				sigv4_uri_encode(&params[np].key, tmp.data,
				    tmp.len, 1);
			tmp.len = 0;
			if (rc == SW_OK)
				rc = uri_decode(req, &tmp,
				    p + klen + (eq != NULL),
				    len - klen - (eq != NULL));
			if (rc == SW_OK)
				sigv4_uri_encode(&params[np].value, tmp.data,
				    tmp.len, 1);
			np++;
		}
		if (amp == NULL)
			break;
	}
	if (rc == SW_OK)
		qsort(params, np, sizeof(*params), qparam_cmp);
	for (i = 0; rc == SW_OK && i < np; i++) {
		if (i > 0)
			buf_putc(out, '&');
		buf_append(out, params[i].key.data, params[i].key.len);
		buf_putc(out, '=');
		buf_append(out, params[i].value.data, params[i].value.len);
	}
	for (i = 0; i < np; i++) {
		buf_release(&params[i].key);
		buf_release(&params[i].value);
	}
	free(params);
	buf_release(&tmp);
	return rc;
}

static int
ascii_casecmp(const char *a, const char *b)
{
	const unsigned char *p = (const unsigned char *)a;
	const unsigned char *q = (const unsigned char *)b;

	while (*p != '\0' && ascii_lower(*p) == ascii_lower(*q)) {
		p++;
		q++;
	}
	return (int)ascii_lower(*p) - (int)ascii_lower(*q);
}

/* By lowercase name, then in the caller's order (qsort is not stable). */
static int
hent_cmp(const void *a, const void *b)
{
	const struct hent *x = a, *y = b;
	int c = ascii_casecmp(x->h->name, y->h->name);

	if (c != 0)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* The end of the run of headers sharing v[i]'s name. */
static size_t
run_end(const struct hent *v, size_t n, size_t i)
{
	size_t j = i + 1;

	while (j < n && ascii_casecmp(v[j].h->name, v[i].h->name) == 0)
		j++;
	return j;
}

static void
append_lower(struct buf *out, const char *s)
{
	size_t n = strlen(s), i;

	buf_reserve(out, n);
	for (i = 0; i < n; i++)
		out->data[out->len++] = (char)ascii_lower((unsigned char)s[i]);
	out->data[out->len] = '\0';
}

/*
 * The values of v[i..j) trimmed, inner runs of blanks collapsed to one
 * space (quoted strings too, as the test suite expects), joined by ','.
 */
static void
append_values(struct buf *out, const struct hent *v, size_t i, size_t j)
{
	size_t k;

	for (k = i; k < j; k++) {
		const char *s = v[k].h->value;
		int blank = 0, any = 0;

		if (k > i)
			buf_putc(out, ',');
		buf_reserve(out, strlen(s));
		for (; *s != '\0'; s++) {
			if (is_ows((unsigned char)*s)) {
				blank = 1;
				continue;
			}
			if (blank && any)
				out->data[out->len++] = ' ';
			out->data[out->len++] = *s;
			blank = 0;
			any = 1;
		}
		out->data[out->len] = '\0';
	}
}

/* The canonical value of header lname into out; whether it is there. */
static int
header_value(const struct hent *v, size_t n, const char *lname,
    struct buf *out)
{
	size_t i, j;

	for (i = 0; i < n; i = j) {
		j = run_end(v, n, i);
		if (ascii_casecmp(v[i].h->name, lname) == 0) {
			append_values(out, v, i, j);
			return 1;
		}
	}
	return 0;
}

static void
append_signed_headers(struct buf *out, const struct hent *v, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i = j) {
		j = run_end(v, n, i);
		if (i > 0)
			buf_putc(out, ';');
		append_lower(out, v[i].h->name);
	}
}

/* Header names must be tokens and values free of CR, LF and other CTLs. */
static sw_err
check_headers(const struct sigv4_request *req)
{
	size_t i;

	if (req->headers == NULL || req->nheaders == 0)
		return bad_request(req, "no headers to sign (host and "
		    "x-amz-date are required)");
	for (i = 0; i < req->nheaders; i++) {
		const struct sigv4_header *h = &req->headers[i];
		const unsigned char *s;

		if (!is_token(h->name))
			return bad_request(req, "header %zu has an invalid "
			    "name", i + 1);
		if (h->value == NULL)
			return bad_request(req, "header '%s' has no value",
			    h->name);
		for (s = (const unsigned char *)h->value; *s != '\0'; s++)
			if ((*s < 0x20 && *s != '\t') || *s == 0x7f)
				return bad_request(req, "header '%s' has a "
				    "control character in its value", h->name);
	}
	return SW_OK;
}

/*
 * Catch the mistakes that S3 would only answer with an opaque 403: the
 * signer and the request must agree on the date, the token and the hash.
 */
static sw_err
check_consistency(const struct sigv4_request *req, const struct hent *v,
    size_t n, const char *date, const char *token)
{
	struct buf val = { 0 };
	sw_err rc = SW_OK;

	if (!header_value(v, n, "host", &val) || val.len == 0)
		rc = bad_request(req, "no host header");
	val.len = 0;
	if (rc == SW_OK && !header_value(v, n, "x-amz-date", &val))
		rc = bad_request(req, "no x-amz-date header");
	else if (rc == SW_OK && strcmp(val.data, date) != 0)
		rc = bad_request(req, "x-amz-date '%s' is not the signing "
		    "time %s", val.data, date);
	val.len = 0;
	if (rc == SW_OK && header_value(v, n, "x-amz-content-sha256", &val) &&
	    strcmp(val.data, req->payload_hash) != 0)
		rc = bad_request(req, "x-amz-content-sha256 '%s' is not the "
		    "payload hash '%s'", val.data, req->payload_hash);
	buf_release(&val);
	if (rc != SW_OK || token == NULL)
		return rc;
	if (!header_value(v, n, SIGV4_TOKEN_HEADER, &val))
		rc = bad_request(req, "the session token is not among the "
		    "signed headers (" SIGV4_TOKEN_HEADER ")");
	else if (strcmp(val.data, token) != 0)
		rc = bad_request(req, SIGV4_TOKEN_HEADER " does not hold the "
		    "session token being signed with");
	buf_wipe(&val);
	return rc;
}

/*
 * The canonical request.  With redact, the session token's value is
 * replaced for display; that text is never signed.
 */
static sw_err
build_canonical_request(const struct sigv4_request *req,
    const struct sigv4_scope *scope, const struct hent *v, size_t n,
    int redact, struct buf *out)
{
	sw_err rc;
	size_t i, j;

	buf_puts(out, req->method);
	buf_putc(out, '\n');
	if ((rc = canonical_uri(req, scope->s3_rules, out)) != SW_OK)
		return rc;
	buf_putc(out, '\n');
	if ((rc = canonical_query(req, out)) != SW_OK)
		return rc;
	buf_putc(out, '\n');
	for (i = 0; i < n; i = j) {
		j = run_end(v, n, i);
		append_lower(out, v[i].h->name);
		buf_putc(out, ':');
		if (redact &&
		    ascii_casecmp(v[i].h->name, SIGV4_TOKEN_HEADER) == 0)
			buf_puts(out, SIGV4_REDACTED);
		else
			append_values(out, v, i, j);
		buf_putc(out, '\n');
	}
	buf_putc(out, '\n');
	append_signed_headers(out, v, n);
	buf_putc(out, '\n');
	buf_puts(out, req->payload_hash);
	return SW_OK;
}

static sw_err
hmac_sha256(const void *key, size_t keylen, const void *msg, size_t msglen,
    unsigned char out[32])
{
	unsigned int len = 32;

	if (keylen > INT_MAX || HMAC(EVP_sha256(), key, (int)keylen, msg,
	    msglen, out, &len) == NULL || len != 32)
		return sw_seterr(SW_ERR_INTERNAL, "HMAC-SHA256 failed");
	return SW_OK;
}

/*
 * kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" secret, date), region), service),
 * "aws4_request"); the signature is HMAC(kSigning, string to sign).  Every
 * intermediate key is wiped before returning.
 */
static sw_err
compute_signature(const char *secret, const char *date,
    const struct sigv4_scope *scope, const struct buf *sts, char sig[65])
{
	struct buf ksecret = { 0 };
	unsigned char k1[32], k2[32];
	sw_err rc;

	/*
	 * One allocation of the final size: growing the buffer would leave
	 * a copy of the secret in memory that realloc() freed.
	 */
	buf_reserve(&ksecret, 4 + strlen(secret));
	buf_puts(&ksecret, "AWS4");
	buf_puts(&ksecret, secret);
	rc = hmac_sha256(ksecret.data, ksecret.len, date, 8, k1);
	if (rc == SW_OK)
		rc = hmac_sha256(k1, 32, scope->region, strlen(scope->region),
		    k2);
	if (rc == SW_OK)
		rc = hmac_sha256(k2, 32, scope->service,
		    strlen(scope->service), k1);
	if (rc == SW_OK)
		rc = hmac_sha256(k1, 32, SIGV4_TERMINATOR,
		    strlen(SIGV4_TERMINATOR), k2);
	if (rc == SW_OK)
		rc = hmac_sha256(k2, 32, sts->data, sts->len, k1);
	if (rc == SW_OK)
		hex_encode(k1, 32, sig);
	OPENSSL_cleanse(k1, sizeof(k1));
	OPENSSL_cleanse(k2, sizeof(k2));
	buf_wipe(&ksecret);
	return rc;
}

/* What may stand in "Credential=<id>/..." without quoting. */
static int
is_key_id(const char *s)
{
	if (s == NULL || *s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f ||
		    *s == '/' || *s == ',')
			return 0;
	return 1;
}

static int
is_payload_hash(const char *s)
{
	if (s == NULL || *s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

static sw_err
check_arguments(const struct sigv4_request *req, const struct sigv4_key *key,
    const struct sigv4_scope *scope)
{
	if (!is_token(req->method))
		return bad_request(req, "invalid method");
	if (!is_payload_hash(req->payload_hash))
		return bad_request(req, "no valid payload hash");
	if (!is_scope_part(scope->region))
		return bad_request(req, "invalid region '%s'",
		    scope->region != NULL ? scope->region : "");
	if (!is_scope_part(scope->service))
		return bad_request(req, "invalid service '%s'",
		    scope->service != NULL ? scope->service : "");
	if (!is_key_id(key->access_key))
		return sw_seterr(SW_ERR_CREDS, "cannot sign %s '%s': no usable "
		    "access key id", req->method, shown_path(req));
	if (key->secret_key == NULL || *key->secret_key == '\0')
		return sw_seterr(SW_ERR_CREDS, "cannot sign %s '%s': no secret "
		    "key", req->method, shown_path(req));
	return check_headers(req);
}

sw_err
sigv4_sign(const struct sigv4_request *req, const struct sigv4_key *key,
    const struct sigv4_scope *scope, time_t t, struct buf *authorization,
    struct buf *canonical_request, struct buf *string_to_sign)
{
	struct buf creq = { 0 }, sts = { 0 }, auth = { 0 }, shown = { 0 };
	struct hent *v = NULL;
	char date[17], hash[65], sig[65];
	size_t i, n;
	sw_err rc;

	if (authorization != NULL)
		buf_release(authorization);
	if (canonical_request != NULL)
		buf_release(canonical_request);
	if (string_to_sign != NULL)
		buf_release(string_to_sign);
	if (req == NULL || key == NULL || scope == NULL ||
	    authorization == NULL)
		return sw_seterr(SW_ERR_INTERNAL, "sigv4_sign: no %s",
		    req == NULL ? "request" : key == NULL ? "key" :
		    scope == NULL ? "scope" : "output buffer");
	if ((rc = check_arguments(req, key, scope)) != SW_OK)
		return rc;
	sigv4_amz_date(t, date);
	if (date[0] == '\0')
		return bad_request(req, "time %lld is out of range",
		    (long long)t);

	n = req->nheaders;
	v = xcalloc(n, sizeof(*v));
	for (i = 0; i < n; i++) {
		v[i].h = &req->headers[i];
		v[i].order = i;
	}
	qsort(v, n, sizeof(*v), hent_cmp);
	rc = check_consistency(req, v, n, date, key->session_token);

	if (rc == SW_OK)
		rc = build_canonical_request(req, scope, v, n, 0, &creq);
	if (rc == SW_OK) {
		sha256_hex(creq.data, creq.len, hash);
		buf_printf(&sts, "%s\n%s\n%.8s/%s/%s/%s\n%s", SIGV4_ALGORITHM,
		    date, date, scope->region, scope->service,
		    SIGV4_TERMINATOR, hash);
		rc = compute_signature(key->secret_key, date, scope, &sts, sig);
	}
	if (rc == SW_OK) {
		buf_printf(&auth, "%s Credential=%s/%.8s/%s/%s/%s, "
		    "SignedHeaders=", SIGV4_ALGORITHM, key->access_key, date,
		    scope->region, scope->service, SIGV4_TERMINATOR);
		append_signed_headers(&auth, v, n);
		buf_printf(&auth, ", Signature=%s", sig);
	}
	if (rc == SW_OK && canonical_request != NULL)
		rc = build_canonical_request(req, scope, v, n, 1, &shown);

	if (rc == SW_OK) {
		*authorization = auth;
		buf_init(&auth);
		if (canonical_request != NULL) {
			*canonical_request = shown;
			buf_init(&shown);
		}
		if (string_to_sign != NULL) {
			*string_to_sign = sts;
			buf_init(&sts);
		}
	}
	buf_wipe(&creq);        /* holds the session token, if any */
	buf_release(&shown);
	buf_release(&sts);
	buf_release(&auth);
	free(v);
	return rc;
}
