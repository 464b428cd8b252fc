/*
 * store.c - picks a backend from a URL and forwards calls to it.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "store/store_impl.h"

sw_err
store_open(const char *url, const struct sw_config *cfg, struct store **out)
{
	struct store *st;
	struct buf u;
	sw_err rc;

	*out = NULL;
	st = xcalloc(1, sizeof(*st));
	buf_init(&u);
	buf_puts(&u, url);
	if (u.len > 0 && u.data[u.len - 1] != '/')
		buf_putc(&u, '/');
	st->url = buf_detach(&u);
	if (strncmp(url, "file://", 7) == 0)
		rc = store_file_open(st, url + 7);
	else if (strncmp(url, "s3://", 5) == 0)
		rc = store_s3_open(st, url + 5, cfg);
	else
		rc = sw_seterr(SW_ERR_CONFIG,
		    "unsupported store '%s': use s3://BUCKET[/PREFIX] or "
		    "file:///DIR", url);
	if (rc != SW_OK) {
		free(st->url);
		free(st);
		return rc;
	}
	*out = st;
	return SW_OK;
}

void
store_free(struct store *st)
{
	if (st == NULL)
		return;
	if (st->ops != NULL)
		st->ops->free(st);
	free(st->url);
	free(st);
}

const char *
store_url(const struct store *st)
{
	return st->url;
}

void
store_stats(const struct store *st, struct store_stats *out)
{
	int k;

	for (k = 0; k < STORE_REQ_KINDS; k++)
		out->req[k] = __atomic_load_n(&st->req[k], __ATOMIC_RELAXED);
	out->bytes_read = __atomic_load_n(&st->bytes_read, __ATOMIC_RELAXED);
}

const char *
store_req_name(enum store_req k)
{
	static const char *const names[STORE_REQ_KINDS] = {
		"LIST", "GET", "HEAD", "PUT", "POST", "DELETE"
	};

	return (unsigned)k < STORE_REQ_KINDS ? names[k] : "?";
}

void
store_stats_format(const struct store_stats *s, char *out, size_t outlen)
{
	unsigned long total = 0;
	const char *sep = ":";
	size_t n;
	int k;

	for (k = 0; k < STORE_REQ_KINDS; k++)
		total += s->req[k];
	n = (size_t)snprintf(out, outlen, "%lu request%s", total,
	    total == 1 ? "" : "s");
	for (k = 0; k < STORE_REQ_KINDS && n < outlen; k++) {
		if (s->req[k] == 0)
			continue;
		n += (size_t)snprintf(out + n, outlen - n, "%s %lu %s", sep,
		    s->req[k], store_req_name((enum store_req)k));
		sep = ",";
	}
}

int
store_key_ok(const char *key)
{
	const char *p = key, *seg;

	if (key == NULL || *key == '\0' || *key == '/')
		return 0;
	while (*p != '\0') {
		size_t n;

		seg = p;
		n = strcspn(seg, "/");
		if (n == 0)
			return 0; /* "a//b" */
		if ((n == 1 && seg[0] == '.') ||
		    (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return 0;
		p = seg + n;
		if (*p == '/')
			p++;
	}
	return 1;
}

sw_err
store_list(struct store *st, const char *prefix, const char *delimiter,
    const char *start_after, store_list_fn fn, void *arg)
{
	return st->ops->list(st, prefix ? prefix : "", delimiter, start_after,
	    fn, arg);
}

/* Every key goes through here before a backend sees it. */
static sw_err
check_key(const struct store *st, const char *key)
{
	if (store_key_ok(key))
		return SW_OK;
	return sw_seterr(SW_ERR_BADKEY, "invalid key '%s' in '%s'",
	    key ? key : "(null)", st->url);
}

sw_err
store_get(struct store *st, const char *key, uint64_t off, uint64_t len,
    sw_sink_fn fn, void *arg, struct store_info *info)
{
	sw_err rc;

	if ((rc = check_key(st, key)) != SW_OK)
		return rc;
	return st->ops->get(st, key, off, len, fn, arg, info);
}

struct fd_sink {
	int fd;
	const char *key;
};

static sw_err
fd_sink_write(void *arg, const void *p, size_t n)
{
	struct fd_sink *s = arg;

	if (write_full(s->fd, p, n) < 0)
		return sw_seterr(SW_ERR_IO,
		    "cannot write '%s' to a local file: %s", s->key,
		    strerror(errno));
	return SW_OK;
}

sw_err
store_get_fd(struct store *st, const char *key, int fd,
    struct store_info *info)
{
	struct fd_sink s = { fd, key };
	sw_err rc;

	if ((rc = check_key(st, key)) != SW_OK)
		return rc;
	return st->ops->get(st, key, 0, 0, fd_sink_write, &s, info);
}

sw_err
store_open_object(struct store *st, const char *key, int *fd,
    struct store_info *info)
{
	sw_err rc;

	*fd = -1;
	if (st->ops->open_object == NULL)
		return SW_ERR_UNSUPPORTED;
	if ((rc = check_key(st, key)) != SW_OK)
		return rc;
	return st->ops->open_object(st, key, fd, info);
}

int
store_has_files(const struct store *st)
{
	return st->ops->open_object != NULL;
}

sw_err
store_head(struct store *st, const char *key, struct store_info *info)
{
	sw_err rc;

	if ((rc = check_key(st, key)) != SW_OK)
		return rc;
	return st->ops->head(st, key, info);
}

sw_err
store_put_mem(struct store *st, const char *key, const void *p, size_t n,
    const struct store_put_opts *opts, struct store_info *info)
{
	sw_err rc;

	if ((rc = check_key(st, key)) != SW_OK)
		return rc;
	return st->ops->put_mem(st, key, p, n, opts, info);
}

sw_err
store_put_fd(struct store *st, const char *key, int fd, uint64_t size,
    const struct store_put_opts *opts, struct store_info *info)
{
	sw_err rc;

	if ((rc = check_key(st, key)) != SW_OK)
		return rc;
	return st->ops->put_fd(st, key, fd, size, opts, info);
}

sw_err
store_delete(struct store *st, const char *key)
{
	sw_err rc;

	if ((rc = check_key(st, key)) != SW_OK)
		return rc;
	return st->ops->del(st, key);
}

sw_err
store_abort_uploads(struct store *st, const char *key, unsigned *n)
{
	unsigned dummy;
	sw_err rc;

	if (n == NULL)
		n = &dummy;
	*n = 0;
	if ((rc = check_key(st, key)) != SW_OK)
		return rc;
	return st->ops->abort_uploads(st, key, n);
}
