/*
 * fuzz_common.c - see fuzz_common.h.
 */
#define _GNU_SOURCE
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "avro/ocf.h"
#include "base/log.h"
#include "base/options.h"
#include "base/util.h"

void
fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s:%d: invariant '%s' does not hold: ", file, line,
	    cond);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

void
fuzz_init(void)
{
	static int done;
	static const char *const unset[] = { "AWS_ACCESS_KEY_ID",
		"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
		"AWS_SECURITY_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
		"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_CA_BUNDLE",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI",
		"AWS_CONTAINER_AUTHORIZATION_TOKEN",
		"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
		"AWS_EC2_METADATA_SERVICE_ENDPOINT",
		"AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
		"AWS_EC2_METADATA_V1_DISABLED", "AWS_METADATA_SERVICE_TIMEOUT",
		"AWS_METADATA_SERVICE_NUM_ATTEMPTS",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
		"SWREPART_CONFIG", "http_proxy", "https_proxy", "HTTP_PROXY",
		"HTTPS_PROXY", "all_proxy", "ALL_PROXY", NULL };
	size_t i;

	if (done++)
		return;
	for (i = 0; unset[i] != NULL; i++)
		unsetenv(unset[i]);
	/* No file of the machine's: these paths never exist. */
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/fuzz/credentials",
	    1);
	setenv("AWS_CONFIG_FILE", "/nonexistent/fuzz/config", 1);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	setenv("NO_PROXY", "*", 1);
	log_init("fuzz", 0);
	log_set_level(getenv("FUZZ_VERBOSE") ? LOG_LVL_DEBUG : -1);
}

int
fuzz_memfd(const void *data, size_t n)
{
	const char *p = data;
	ssize_t w;
	int fd = memfd_create("fuzz", MFD_CLOEXEC);

	if (fd < 0) {
		perror("memfd_create");
		abort();
	}
	while (n > 0) {
		if ((w = write(fd, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			perror("write");
			abort();
		}
		p += w;
		n -= (size_t)w;
	}
	if (lseek(fd, 0, SEEK_SET) != 0)
		abort();
	return fd;
}

void
fuzz_fd_path(int fd, char out[64])
{
	snprintf(out, 64, "/proc/self/fd/%d", fd);
}

size_t
fuzz_split(const uint8_t *data, size_t n, const char *sep, const uint8_t **p,
    size_t *len, size_t max)
{
	size_t k = 0, sl = strlen(sep);
	const uint8_t *s = data, *end = data + n, *q;

	while (k + 1 < max && (q = memmem(s, (size_t)(end - s), sep, sl)) !=
	    NULL) {
		p[k] = s;
		len[k++] = (size_t)(q - s);
		s = q + sl;
	}
	p[k] = s;
	len[k++] = (size_t)(end - s);
	return k;
}

char *
fuzz_strndup(const void *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s == NULL)
		abort();
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

/* ---- the loopback HTTP server ------------------------------------------ */

#define MAX_RESPONSES 16

struct response {
	int status;
	char *headers;   /* "Name: value\r\n"... */
	char *body;
	size_t body_len;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct response queue[MAX_RESPONSES];
static size_t nqueued, next;
static unsigned requests, used;
static char base_url[64];
static const char *const *expected;
static char unexpected[128];

static const char *const header_ok[] = { "ETag", "Last-Modified",
	"Content-Type", "x-amz-bucket-region", "x-amzn-ErrorType", NULL };

static void
response_parse(struct response *r, const uint8_t *p, size_t n, int allow_5xx)
{
	const uint8_t *end = p + n, *eol;
	char line[256], hdrs[1024] = "";
	size_t hl = 0, i, l;
	int status = 0;

	/* The status line: digits. */
	eol = memchr(p, '\n', n);
	if (eol == NULL)
		eol = end;
	for (; p < eol && isdigit(*p); p++)
		status = status < 1000 ? status * 10 + (*p - '0') : status;
	p = eol < end ? eol + 1 : end;
	if (status < 200 || status > (allow_5xx ? 599 : 499) || status == 204 ||
	    status == 304)
		status = 200;
	/* Headers up to an empty line. */
	while (p < end) {
		eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			eol = end;
		l = (size_t)(eol - p);
		if (l > 0 && p[l - 1] == '\r')
			l--;
		if (l == 0) {
			p = eol < end ? eol + 1 : end;
			break;
		}
		if (l < sizeof(line)) {
			memcpy(line, p, l);
			line[l] = '\0';
			for (i = 0; header_ok[i] != NULL; i++) {
				size_t k = strlen(header_ok[i]);

				/* A CR inside a value is kept: curl ends
				 * header lines at LF only. */
				if (strncasecmp(line, header_ok[i], k) == 0 &&
				    line[k] == ':' &&
				    memchr(line, '\0', l) == NULL &&
				    hl + l + 2 < sizeof(hdrs)) {
					memcpy(hdrs + hl, line, l);
					hl += l;
					memcpy(hdrs + hl, "\r\n", 3);
					hl += 2;
				}
			}
		}
		p = eol < end ? eol + 1 : end;
	}
	r->status = status;
	r->headers = strdup(hdrs);
	r->body_len = (size_t)(end - p);
	r->body = malloc(r->body_len + 1);
	if (r->headers == NULL || r->body == NULL)
		abort();
	memcpy(r->body, p, r->body_len);
}

void
fuzz_http_queue(const uint8_t *const *p, const size_t *len, size_t n,
    int allow_5xx)
{
	size_t i;

	pthread_mutex_lock(&mu);
	for (i = 0; i < nqueued; i++) {
		free(queue[i].headers);
		free(queue[i].body);
	}
	memset(queue, 0, sizeof(queue));
	nqueued = next = 0;
	requests = used = 0;
	unexpected[0] = '\0';
	for (i = 0; i < n && i < MAX_RESPONSES; i++)
		response_parse(&queue[nqueued++], p[i], len[i], allow_5xx);
	pthread_mutex_unlock(&mu);
}

unsigned
fuzz_http_requests(void)
{
	unsigned n;

	pthread_mutex_lock(&mu);
	n = requests;
	pthread_mutex_unlock(&mu);
	return n;
}

void
fuzz_http_expect_headers(const char *const *names)
{
	pthread_mutex_lock(&mu);
	expected = names;
	pthread_mutex_unlock(&mu);
}

const char *
fuzz_http_unexpected(void)
{
	static char copy[128];

	pthread_mutex_lock(&mu);
	snprintf(copy, sizeof(copy), "%s", unexpected);
	pthread_mutex_unlock(&mu);
	return copy[0] ? copy : NULL;
}

/* Whether the header line l (n bytes) holds no control character but a
 * tab (a bare CR ends a line for some servers: a header line of the
 * sender's) and names an expected header (any, when none is set). */
static int
request_header_ok(const char *l, size_t n)
{
	const char *colon;
	size_t i, k;

	for (i = 0; i < n; i++)
		if (iscntrl((unsigned char)l[i]) && l[i] != '\t')
			return 0;
	if (expected == NULL)
		return 1;
	if ((colon = memchr(l, ':', n)) == NULL)
		return 0;
	k = (size_t)(colon - l);
	for (i = 0; expected[i] != NULL; i++)
		if (k == strlen(expected[i]) &&
		    strncasecmp(l, expected[i], k) == 0)
			return 1;
	return 0;
}

/* Note the first header line of the request head (NUL-terminated, lines
 * ended by CRLF) that is not expected, or that holds a control
 * character.  Called with mu held. */
static void
check_headers(const char *head)
{
	const char *l = strstr(head, "\r\n"), *e;
	size_t n;

	if (unexpected[0] != '\0')
		return;
	for (; l != NULL && l[2] != '\0'; l = e) {
		l += 2;
		e = strstr(l, "\r\n");
		n = e ? (size_t)(e - l) : strlen(l);
		if (!request_header_ok(l, n)) {
			snprintf(unexpected, sizeof(unexpected), "%.*s",
			    (int)(n < 100 ? n : 100), l);
			return;
		}
	}
}

unsigned
fuzz_http_used(void)
{
	unsigned n;

	pthread_mutex_lock(&mu);
	n = used;
	pthread_mutex_unlock(&mu);
	return n;
}

static int
send_all(int fd, const void *p, size_t n)
{
	const char *s = p;
	ssize_t w;

	while (n > 0) {
		w = send(fd, s, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Serve one connection until the client closes it. */
static void
serve(int fd)
{
	char req[64 * 1024];
	size_t have = 0, need, clen;
	char *hend, *cl, head[2048];
	int head_only, n;
	ssize_t r;

	for (;;) {
		/* The request's head, then its body (Content-Length). */
		while ((hend = memmem(req, have, "\r\n\r\n", 4)) == NULL) {
			if (have == sizeof(req))
				return;
			r = recv(fd, req + have, sizeof(req) - have, 0);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				return;
			have += (size_t)r;
		}
		*hend = '\0';
		/* Only PUT and POST bodies: a Content-Length injected into
		 * a GET is reported (check_headers), not waited for. */
		clen = 0;
		if ((strncmp(req, "PUT ", 4) == 0 ||
		    strncmp(req, "POST ", 5) == 0) &&
		    (cl = strcasestr(req, "\r\nContent-Length:")) != NULL)
			clen = strtoul(cl + 17, NULL, 10);
		head_only = strncmp(req, "HEAD ", 5) == 0;
		need = (size_t)(hend + 4 - req) + clen;
		if (need > sizeof(req))
			return;
		while (have < need) {
			r = recv(fd, req + have, sizeof(req) - have, 0);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				return;
			have += (size_t)r;
		}

		pthread_mutex_lock(&mu);
		requests++;
		check_headers(req);
		if (next < nqueued) {
			struct response *q = &queue[next++];

			used++;
			n = snprintf(head, sizeof(head), "HTTP/1.1 %d Fuzz\r\n"
			    "Content-Length: %zu\r\n%s\r\n", q->status,
			    q->body_len, q->headers);
			r = send_all(fd, head, (size_t)n);
			if (r == 0 && !head_only)
				r = send_all(fd, q->body, q->body_len);
		} else {
			static const char nf[] = "<?xml version=\"1.0\" "
			    "encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey"
			    "</Code><Message>no more answers</Message></Error>";

			n = snprintf(head, sizeof(head), "HTTP/1.1 404 Fuzz\r\n"
			    "Content-Length: %zu\r\nContent-Type: "
			    "application/xml\r\n\r\n", sizeof(nf) - 1);
			r = send_all(fd, head, (size_t)n);
			if (r == 0 && !head_only)
				r = send_all(fd, nf, sizeof(nf) - 1);
		}
		pthread_mutex_unlock(&mu);
		if (r != 0)
			return;
		memmove(req, req + need, have - need);
		have -= need;
	}
}

/* One thread per connection: a client may open a second one while the
 * first is still in its cache. */
static void *
conn_main(void *arg)
{
	int fd = (int)(intptr_t)arg;
	struct linger lg = { 1, 0 };

	serve(fd);
	/* Reset rather than TIME_WAIT: millions of connections. */
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	return NULL;
}

static void *
server_main(void *arg)
{
	int lfd = (int)(intptr_t)arg, fd;
	pthread_attr_t at;
	pthread_t t;

	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&at, 256 * 1024);
	for (;;) {
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		if (pthread_create(&t, &at, conn_main, (void *)(intptr_t)fd) !=
		    0)
			close(fd);
	}
	return NULL;
}

const char *
fuzz_http_start(void)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	pthread_t t;
	int fd, one = 1;

	if (base_url[0] != '\0')
		return base_url;
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		abort();
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(fd, 16) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
		perror("fuzz http server");
		abort();
	}
	if (pthread_create(&t, NULL, server_main, (void *)(intptr_t)fd) != 0)
		abort();
	pthread_detach(t);
	snprintf(base_url, sizeof(base_url), "http://127.0.0.1:%d",
	    ntohs(a.sin_port));
	return base_url;
}

void
fuzz_aws_config(struct sw_config *cfg, char **endpoint)
{
	static int done;

	if (done++)
		return;
	fuzz_init();
	setenv("AWS_ACCESS_KEY_ID", "AKIDFUZZFUZZFUZZFUZZ", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "fuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzz",
	    1);
	config_defaults(cfg);
	free(cfg->region);
	cfg->region = xstrdup("eu-west-1");
	cfg->max_retries = 0;
	cfg->retry_max_time = 1;
	cfg->connect_timeout = 5;
	cfg->request_timeout = 5;
	free(*endpoint);
	*endpoint = xstrdup(fuzz_http_start());
}

void
fuzz_http_check(sw_err rc, size_t n)
{
	FUZZ_ASSERT(rc == SW_OK || sw_errmsg()[0] != '\0', "error %s without "
	    "a message", sw_errname(rc));
	FUZZ_ASSERT(rc != SW_ERR_INTERNAL, "an answer made an internal error: "
	    "%s", sw_errmsg());
	FUZZ_ASSERT(fuzz_http_unexpected() == NULL, "a request carried the "
	    "header line '%s'", fuzz_http_unexpected());
	FUZZ_ASSERT(fuzz_http_requests() <= 200, "%u requests for %zu answers",
	    fuzz_http_requests(), n);
}

int64_t
fuzz_ocf_records(int fd, uint64_t limit)
{
	struct ocf_reader *r = NULL;
	struct ocf_block b;
	struct buf data;
	int64_t total = 0;
	int got = 1;

	buf_init(&data);
	if (lseek(fd, 0, SEEK_SET) != 0 ||
	    ocf_reader_open(fd, "re-read", limit, NULL, &r) != SW_OK)
		total = -1;
	while (total >= 0 && got) {
		if (ocf_reader_next(r, &b, &got) != SW_OK)
			total = -1;
		else if (got && (ocf_reader_decompress(r, &b, &data) != SW_OK ||
		    ocf_reader_check_count(r, &b, data.data, data.len) !=
		    SW_OK))
			total = -1;
		else if (got)
			total += b.count;
	}
	ocf_reader_free(r);
	buf_release(&data);
	return total;
}

int64_t
fuzz_ocf_records_mem(const void *p, size_t n)
{
	int fd = fuzz_memfd(p, n);
	int64_t total = fuzz_ocf_records(fd, OCF_TO_EOF);

	close(fd);
	return total;
}
