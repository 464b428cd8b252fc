/*
 * util.c - growable buffers, hex, hashing, size parsing.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "base/log.h"
#include "base/util.h"

void
buf_init(struct buf *b)
{
	b->data = NULL;
	b->len = b->cap = 0;
}

void
buf_release(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

void
buf_wipe(struct buf *b)
{
	if (b->data != NULL)
		OPENSSL_cleanse(b->data, b->cap);
	buf_release(b);
}

void
buf_reserve(struct buf *b, size_t extra)
{
	if (extra > SIZE_MAX - b->len - 1)
		xoom(1, SIZE_MAX);
	b->data = xgrowarray(b->data, &b->cap, b->len + extra + 1, 1);
}

void
buf_append(struct buf *b, const void *p, size_t n)
{
	buf_reserve(b, n);
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
buf_puts(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

void
buf_putc(struct buf *b, char c)
{
	buf_append(b, &c, 1);
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		/* only a format the program got wrong, or text over 2 GiB */
		log_error("cannot format '%s': %s", fmt, strerror(errno));
		abort();
	}
	buf_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

sw_err
buf_sink(void *arg, const void *p, size_t n)
{
	buf_append(arg, p, n);
	return SW_OK;
}

char *
buf_detach(struct buf *b)
{
	char *p = b->data;

	if (p == NULL)
		p = xstrdup("");
	buf_init(b);
	return p;
}

void
hex_encode(const unsigned char *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

void
sha256_hex(const void *p, size_t n, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen = sizeof(md);

	EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL);
	hex_encode(md, 32, out);
}

/* The first failure of the rmtree() running in this thread. */
static __thread int rmtree_errno;

static int
rmtree_entry(const char *path, const struct stat *sb, int flag,
    struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	if (remove(path) != 0 && rmtree_errno == 0)
		rmtree_errno = errno;
	return 0;       /* go on: remove what can be removed */
}

int
rmtree(const char *path)
{
	rmtree_errno = 0;
	if (nftw(path, rmtree_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
		return -1;
	if (rmtree_errno != 0) {
		errno = rmtree_errno;
		return -1;
	}
	return 0;
}

void
strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++)
		free(v[i]);
	free(v);
}

int
strv_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
freezero_str(char *s)
{
	if (s == NULL)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}

void
xoom(size_t n, size_t size)
{
	if (n == 1)
		log_error("out of memory (%zu bytes)", size);
	else
		log_error("out of memory (%zu elements of %zu bytes)", n, size);
	abort();
}

char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		xoom(1, strlen(s) + 1);
	return p;
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);

	if (p == NULL)
		xoom(1, n + 1);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p;

	if ((p = calloc(n ? n : 1, size ? size : 1)) == NULL)
		xoom(n, size);
	return p;
}

void *
xrealloc(void *p, size_t size)
{
	if ((p = realloc(p, size ? size : 1)) == NULL)
		xoom(1, size);
	return p;
}

void *
xreallocarray(void *p, size_t n, size_t size)
{
	if (n != 0 && size > SIZE_MAX / n)
		xoom(n, size);
	return xrealloc(p, n * size);
}

void *
xgrowarray(void *p, size_t *cap, size_t need, size_t size)
{
	size_t n;

	if (need <= *cap)
		return p;
	if (*cap == 0)
		n = 16;
	else if (*cap > SIZE_MAX / 2)
		xoom(*cap, 2 * size);
	else
		n = *cap * 2;
	if (n < need)
		n = need;
	p = xreallocarray(p, n, size);
	*cap = n;
	return p;
}

int
parse_u64_strict(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	const char *p = s;

	if (s == NULL || *s == '\0')
		return -1;
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || (uint64_t)(*p - '0') > max)
			return -1;
		if (v > (max - (uint64_t)(*p - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*out = v;
	return 0;
}

int
parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mult = 1;

	if (s == NULL || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	switch (toupper((unsigned char)*end)) {
	case '\0':
		break;
	case 'K':
		mult = 1ULL << 10;
		end++;
		break;
	case 'M':
		mult = 1ULL << 20;
		end++;
		break;
	case 'G':
		mult = 1ULL << 30;
		end++;
		break;
	case 'T':
		mult = 1ULL << 40;
		end++;
		break;
	default:
		return -1;
	}
	/* Accept "M", "MB", "MiB". */
	if (*end == 'i')
		end++;
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end != '\0' || v > UINT64_MAX / mult)
		return -1;
	*out = v * mult;
	return 0;
}

void
format_size(uint64_t n, char *out, size_t outlen)
{
	static const char *unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	int i = 0;

	while (v >= 1024 && i < 4) {
		v /= 1024;
		i++;
	}
	if (i == 0)
		snprintf(out, outlen, "%llu B", (unsigned long long)n);
	else
		snprintf(out, outlen, "%.1f %s", v, unit[i]);
}

double
now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
etag_is_md5(const char *etag)
{
	size_t i;

	if (strlen(etag) != 34 || etag[0] != '"' || etag[33] != '"')
		return 0;
	for (i = 1; i < 33; i++)
		if (!strchr("0123456789abcdef", etag[i]))
			return 0;
	return 1;
}

double
now_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int
write_full(int fd, const void *p, size_t n)
{
	const char *c = p;
	ssize_t w;

	while (n > 0) {
		w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

sw_err
fd_stream(int fd, uint64_t size, uint64_t boundary, const char *name,
    sw_sink_fn fn, void *arg)
{
	unsigned char *chunk = xrealloc(NULL, 1 << 20);
	uint64_t off = 0;
	sw_err rc = SW_OK;

	while (off < size && rc == SW_OK) {
		uint64_t want = size - off;
		ssize_t r;

		if (want > (1 << 20))
			want = 1 << 20;
		if (boundary > 0 && want > boundary - off % boundary)
			want = boundary - off % boundary;
		r = pread(fd, chunk, (size_t)want, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = sw_seterr(SW_ERR_IO, "cannot read '%s': %s", name,
			    r < 0 ? strerror(errno) : "shorter than recorded");
			break;
		}
		off += (uint64_t)r;
		rc = fn(arg, chunk, (size_t)r);
	}
	free(chunk);
	return rc;
}

static sw_err
md5_sink(void *arg, const void *p, size_t n)
{
	EVP_DigestUpdate(arg, p, n);
	return SW_OK;
}

sw_err
fd_md5_hex(int fd, uint64_t size, const char *name, char out[33])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char md[16];
	sw_err rc;

	EVP_DigestInit_ex(ctx, EVP_md5(), NULL);
	rc = fd_stream(fd, size, 0, name, md5_sink, ctx);
	EVP_DigestFinal_ex(ctx, md, NULL);
	EVP_MD_CTX_free(ctx);
	hex_encode(md, sizeof(md), out);
	return rc;
}
