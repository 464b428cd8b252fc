/*
 * ocf_reader.c - the Object Container File reader: one block at a time
 * from a file descriptor, within hard limits, each block's framing, marker
 * and (on request) CRC and record count checked.  Our own because avro-c's
 * reader always decodes, reads from a FILE and trusts the sizes it reads
 * (ocf.h).
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/stat.h>

#include "avro/ocf.h"
#include "avro/ocf_impl.h"

/* Bytes asked of read() at once (cat asks 128 KiB). */
#define READ_CHUNK (256 * 1024)
/* The header is parsed from the first HEADER_STEP bytes, then from four
 * times as many, up to OCF_MAX_HEADER. */
#define HEADER_STEP (64 * 1024)
/* The shortest block: count, size, marker. */
#define MIN_BLOCK (2 + OCF_SYNC_SIZE)

struct ocf_reader {
	int fd;
	char *name;
	uint64_t limit;         /* bytes of the file to read at most */
	uint64_t nread;         /* bytes read so far */
	int eof;                /* nothing more to read */
	int borrowed;           /* buf is the caller's bytes (a reader of
	                         * memory): never read into, moved or freed */
	unsigned char *buf;
	size_t cap;
	size_t start, len;      /* unread bytes: buf[start, len) */
	uint64_t buf_off;       /* file offset of buf[0] */

	struct ocf_schema_cache *cache;
	struct ocf_schema *schema;
	char *schema_json;
	enum ocf_codec codec;
	unsigned char sync[OCF_SYNC_SIZE];
	uint64_t header_size;
	uint64_t offset;        /* just past the last block returned */
	uint64_t blocks;        /* blocks returned */
	sw_err failed;
};

/* Make at least need unread bytes available, or all that is left. */
static sw_err
fill(struct ocf_reader *r, size_t need)
{
	size_t have, room, cap;
	unsigned char *p;
	ssize_t k;

	if (r->start == r->len) {
		r->buf_off += r->start;
		r->start = r->len = 0;
	}
	/* never more than what is left before the limit */
	have = r->len - r->start;
	if (need > have && need - have > r->limit - r->nread)
		need = have + (size_t)(r->limit - r->nread);
	if (r->nread == r->limit)
		r->eof = 1;
	while (r->len - r->start < need && !r->eof) {
		have = r->len - r->start;
		if (r->start + need > r->cap) {
			/* move what is left to the front; grow if need be */
			memmove(r->buf, r->buf + r->start, have);
			r->buf_off += r->start;
			r->start = 0;
			r->len = have;
			if (need > r->cap) {
				cap = r->cap ? r->cap : READ_CHUNK;
				while (cap < need)
					cap *= 2;
				p = realloc(r->buf, cap);
				if (p == NULL)
					return sw_seterr(SW_ERR_NOMEM,
					    "'%s': out of memory (%zu bytes)",
					    r->name, cap);
				r->buf = p;
				r->cap = cap;
			}
		}
		room = r->cap - r->len;
		if (room > r->limit - r->nread)
			room = (size_t)(r->limit - r->nread);
		if (room == 0) {
			r->eof = 1;
			break;
		}
		k = read(r->fd, r->buf + r->len, room);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return sw_seterr(SW_ERR_IO, "'%s': cannot read: %s",
			    r->name, strerror(errno));
		if (k == 0) {
			r->eof = 1;
			break;
		}
		r->len += (size_t)k;
		r->nread += (uint64_t)k;
		if (r->nread == r->limit)
			r->eof = 1;
	}
	return SW_OK;
}

/* Parse the header from n bytes at h.  *more is set when the bytes ran out
 * before the header did (more input may help); other errors are final. */
static sw_err
parse_header(struct ocf_reader *r, const unsigned char *h, size_t n,
    size_t *hlen, int *more)
{
	const unsigned char *p = h, *end = h + n, *schema = NULL, *val;
	const char *key, *codec = NULL;
	size_t schema_n = 0, codec_n = 0, keyn, valn;
	int64_t count, bsize;
	char cname[32];
	sw_err rc;

	*more = 0;
	if (n < OCF_MAGIC_SIZE) {
		*more = 1;
		return sw_seterr(SW_ERR_DATA, "'%s': file of %zu bytes is too "
		    "short for an avro container", r->name, n);
	}
	if (memcmp(h, OCF_MAGIC, OCF_MAGIC_SIZE) != 0)
		return sw_seterr(SW_ERR_DATA, "'%s': not an avro container "
		    "file (bad magic %02x %02x %02x %02x)", r->name, h[0], h[1],
		    h[2], h[3]);
	p += OCF_MAGIC_SIZE;
	for (;;) {
		if ((rc = enc_get_long(&p, end, &count)) != SW_OK)
			goto short_input;
		if (count == 0)
			break;
		if (count < 0) {
			if (count == INT64_MIN)
				goto bad_count;
			count = -count;
			if ((rc = enc_get_long(&p, end, &bsize)) != SW_OK)
				goto short_input;
		}
		if (count > OCF_MAX_HEADER)
			goto bad_count;
		while (count-- > 0) {
			if ((rc = enc_get_string(&p, end, &key, &keyn)) !=
			    SW_OK ||
			    (rc = enc_get_bytes(&p, end, &val, &valn)) !=
			    SW_OK)
				goto short_input;
			if (keyn == 11 && memcmp(key, "avro.schema", 11) == 0) {
				if (schema != NULL)
					goto twice;
				schema = val;
				schema_n = valn;
			} else if (keyn == 10 &&
			    memcmp(key, "avro.codec", 10) == 0) {
				if (codec != NULL)
					goto twice;
				codec = (const char *)val;
				codec_n = valn;
			}
		}
	}
	if ((size_t)(end - p) < OCF_SYNC_SIZE) {
		*more = 1;
		return sw_seterr(SW_ERR_DATA, "'%s': truncated header: no sync "
		    "marker after the metadata", r->name);
	}
	memcpy(r->sync, p, OCF_SYNC_SIZE);
	p += OCF_SYNC_SIZE;
	*hlen = (size_t)(p - h);

	if (codec == NULL) {
		r->codec = OCF_CODEC_NULL;
	} else {
		snprintf(cname, sizeof(cname), "%.*s", (int)(codec_n <
		    sizeof(cname) ? codec_n : sizeof(cname) - 1), codec);
		if (codec_n >= sizeof(cname) || memchr(codec, 0, codec_n) ||
		    ocf_codec_parse(cname, &r->codec) != SW_OK)
			return sw_seterr(SW_ERR_DATA, "'%s': unsupported avro "
			    "codec '%s'", r->name, cname);
	}
	if (schema == NULL)
		return sw_seterr(SW_ERR_DATA, "'%s': no avro.schema in the "
		    "header", r->name);
	r->schema_json = xcalloc(1, schema_n + 1);
	memcpy(r->schema_json, schema, schema_n);
	if ((rc = ocf_schema_get(r->cache, r->schema_json, schema_n,
	    &r->schema)) != SW_OK)
		return sw_adderr(rc, "'%s': invalid avro.schema", r->name);
	return SW_OK;

short_input:
	*more = 1;
	return sw_adderr(SW_ERR_DATA, "'%s': truncated or corrupt header "
	    "metadata at offset %zu", r->name, (size_t)(p - h));
bad_count:
	return sw_seterr(SW_ERR_DATA, "'%s': header metadata: bad entry count "
	    "at offset %zu", r->name, (size_t)(p - h));
twice:
	return sw_seterr(SW_ERR_DATA, "'%s': header metadata: '%.*s' appears "
	    "twice", r->name, (int)keyn, key);
}

static sw_err
read_header(struct ocf_reader *r)
{
	size_t need = HEADER_STEP, hlen = 0, avail;
	int more = 0;
	sw_err rc;

	for (;;) {
		if ((rc = fill(r, need)) != SW_OK)
			return rc;
		avail = r->len - r->start;
		if (avail == 0)
			return sw_seterr(SW_ERR_DATA, "'%s': empty file (0 "
			    "bytes), not an avro container", r->name);
		rc = parse_header(r, r->buf + r->start, avail, &hlen, &more);
		if (rc == SW_OK)
			break;
		if (!more || r->eof)
			return rc;
		if (need >= OCF_MAX_HEADER)
			return sw_seterr(SW_ERR_DATA, "'%s': header longer "
			    "than %d bytes", r->name, OCF_MAX_HEADER);
		/* free the previous attempt's results */
		free(r->schema_json);
		r->schema_json = NULL;
		need *= 4;
		if (need > OCF_MAX_HEADER)
			need = OCF_MAX_HEADER;
	}
	r->start += hlen;
	r->header_size = hlen;
	r->offset = hlen;
	return SW_OK;
}

sw_err
ocf_reader_open(int fd, const char *name, uint64_t limit,
    struct ocf_schema_cache *cache, struct ocf_reader **out)
{
	struct ocf_reader *r = xcalloc(1, sizeof(*r));
	struct stat st;
	off_t cur;
	sw_err rc;

	*out = NULL;
	r->fd = fd;
	r->cache = cache;
	r->name = xstrdup(name ? name : "(input)");
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (cur = lseek(fd, 0, SEEK_CUR)) >= 0 && st.st_size >= cur &&
	    (uint64_t)(st.st_size - cur) < limit)
		limit = (uint64_t)(st.st_size - cur);
	r->limit = limit;
	/* a small file gets a buffer of its size */
	r->cap = limit < READ_CHUNK ? (size_t)limit + 1 : READ_CHUNK;
	r->buf = malloc(r->cap);
	if (r->buf == NULL) {
		rc = sw_seterr(SW_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = read_header(r)) != SW_OK)
		goto out;
	*out = r;
	r = NULL;
out:
	ocf_reader_free(r);
	return rc;
}

sw_err
ocf_reader_open_blocks(int fd, const char *name, uint64_t base,
    uint64_t limit, const struct ocf_schema *s, enum ocf_codec codec,
    const unsigned char *sync, struct ocf_reader **out)
{
	struct ocf_reader *r = xcalloc(1, sizeof(*r));

	*out = NULL;
	r->fd = fd;
	r->name = xstrdup(name ? name : "(input)");
	r->limit = limit;
	r->cap = limit < READ_CHUNK ? (size_t)limit + 1 : READ_CHUNK;
	r->buf = malloc(r->cap);
	if (r->buf == NULL) {
		ocf_reader_free(r);
		return sw_seterr(SW_ERR_NOMEM, "out of memory");
	}
	r->schema = ocf_schema_ref(s);
	r->codec = codec;
	memcpy(r->sync, sync, OCF_SYNC_SIZE);
	r->buf_off = r->offset = base;
	*out = r;
	return SW_OK;
}

/* A reader of the n bytes at p, all there at once: fill() finds them
 * available and at their end, so it never reads, moves or grows buf. */
static struct ocf_reader *
reader_mem(const void *p, size_t n, const char *name)
{
	struct ocf_reader *r = xcalloc(1, sizeof(*r));

	r->fd = -1;
	r->name = xstrdup(name ? name : "(input)");
	r->borrowed = 1;
	r->buf = (unsigned char *)(uintptr_t)p;   /* only ever read */
	r->cap = r->len = n;
	r->limit = r->nread = n;
	r->eof = 1;
	return r;
}

sw_err
ocf_reader_open_mem(const void *p, size_t n, const char *name,
    struct ocf_schema_cache *cache, struct ocf_reader **out)
{
	struct ocf_reader *r = reader_mem(p, n, name);
	sw_err rc;

	*out = NULL;
	r->cache = cache;
	if ((rc = read_header(r)) != SW_OK) {
		ocf_reader_free(r);
		return rc;
	}
	*out = r;
	return SW_OK;
}

sw_err
ocf_reader_open_blocks_mem(const void *p, size_t n, const char *name,
    uint64_t base, const struct ocf_schema *s, enum ocf_codec codec,
    const unsigned char *sync, struct ocf_reader **out)
{
	struct ocf_reader *r = reader_mem(p, n, name);

	r->schema = ocf_schema_ref(s);
	r->codec = codec;
	memcpy(r->sync, sync, OCF_SYNC_SIZE);
	r->buf_off = r->offset = base;
	*out = r;
	return SW_OK;
}

void
ocf_reader_free(struct ocf_reader *r)
{
	if (r == NULL)
		return;
	ocf_schema_free(r->schema);
	free(r->schema_json);
	if (!r->borrowed)
		free(r->buf);
	free(r->name);
	free(r);
}

const char *
ocf_reader_name(const struct ocf_reader *r)
{
	return r->name;
}

const struct ocf_schema *
ocf_reader_schema(const struct ocf_reader *r)
{
	return r->schema;
}

const char *
ocf_reader_schema_json(const struct ocf_reader *r)
{
	return r->schema_json;
}

enum ocf_codec
ocf_reader_codec(const struct ocf_reader *r)
{
	return r->codec;
}

const unsigned char *
ocf_reader_sync(const struct ocf_reader *r)
{
	return r->sync;
}

uint64_t
ocf_reader_header_size(const struct ocf_reader *r)
{
	return r->header_size;
}

uint64_t
ocf_reader_offset(const struct ocf_reader *r)
{
	return r->offset;
}

static sw_err
block_fail(struct ocf_reader *r, sw_err rc)
{
	r->failed = rc;
	return rc;
}

sw_err
ocf_reader_next(struct ocf_reader *r, struct ocf_block *b, int *got)
{
	const unsigned char *p, *end;
	unsigned long long idx = r->blocks, off;
	int64_t count = 0, size = 0;
	size_t avail, hlen;
	sw_err rc;

	*got = 0;
	memset(b, 0, sizeof(*b));
	if (r->failed != SW_OK)
		return sw_seterr(r->failed, "'%s': reading failed earlier",
		    r->name);
	if ((rc = fill(r, 2 * ENC_LONG_MAX_BYTES)) != SW_OK)
		return block_fail(r, rc);
	avail = r->len - r->start;
	off = r->buf_off + r->start;
	if (avail == 0)
		return SW_OK;   /* the end, right after a block */
	if (r->eof && avail < MIN_BLOCK)
		return block_fail(r, sw_seterr(SW_ERR_DATA, "'%s': %zu stray "
		    "bytes at offset %llu after %s (trailing garbage or a "
		    "truncated block)", r->name, avail, off,
		    idx ? "the last block" : "the header"));
	p = r->buf + r->start;
	end = p + avail;
	if (enc_get_long(&p, end, &count) != SW_OK ||
	    enc_get_long(&p, end, &size) != SW_OK)
		return block_fail(r, sw_adderr(SW_ERR_DATA, "'%s': block %llu "
		    "at offset %llu: corrupt block header", r->name, idx, off));
	if (count < 0)
		return block_fail(r, sw_seterr(SW_ERR_DATA, "'%s': block %llu "
		    "at offset %llu: negative record count %lld", r->name, idx,
		    off, (long long)count));
	if (count > OCF_MAX_BLOCK_RECORDS)
		return block_fail(r, sw_seterr(SW_ERR_DATA, "'%s': block %llu "
		    "at offset %llu: absurd record count %lld", r->name, idx,
		    off, (long long)count));
	if (size < 0)
		return block_fail(r, sw_seterr(SW_ERR_DATA, "'%s': block %llu "
		    "at offset %llu: negative size %lld", r->name, idx, off,
		    (long long)size));
	if (size > OCF_MAX_BLOCK)
		return block_fail(r, sw_seterr(SW_ERR_DATA, "'%s': block %llu "
		    "at offset %llu: absurd size %lld (the limit is %d)",
		    r->name, idx, off, (long long)size, OCF_MAX_BLOCK));
	hlen = (size_t)(p - (r->buf + r->start));
	if ((rc = fill(r, hlen + (size_t)size + OCF_SYNC_SIZE)) != SW_OK)
		return block_fail(r, rc);
	avail = r->len - r->start;
	if (avail < hlen + (size_t)size + OCF_SYNC_SIZE)
		return block_fail(r, sw_seterr(SW_ERR_DATA, "'%s': block %llu "
		    "at offset %llu: its %lld bytes and sync marker run past "
		    "the end of the file at offset %llu (truncated file or "
		    "trailing garbage)", r->name, idx, off, (long long)size,
		    off + (unsigned long long)avail));
	p = r->buf + r->start + hlen;
	if (memcmp(p + size, r->sync, OCF_SYNC_SIZE) != 0)
		return block_fail(r, sw_seterr(SW_ERR_DATA, "'%s': block %llu "
		    "at offset %llu: the sync marker at offset %llu is not the "
		    "header's (corrupt or misframed block)", r->name, idx, off,
		    off + (unsigned long long)(hlen + (size_t)size)));
	b->index = idx;
	b->offset = off;
	b->end = off + hlen + (uint64_t)size + OCF_SYNC_SIZE;
	b->count = count;
	b->data = p;
	b->size = (size_t)size;
	r->start += hlen + (size_t)size + OCF_SYNC_SIZE;
	r->offset = b->end;
	r->blocks++;
	*got = 1;
	return SW_OK;
}

static sw_err
block_decompress(const char *name, enum ocf_codec codec,
    const struct ocf_block *b, struct buf *out)
{
	sw_err rc;

	if ((rc = ocf_decompress(codec, b->data, b->size, OCF_MAX_BLOCK,
	    out)) != SW_OK)
		return sw_adderr(rc, "'%s': block %llu at offset %llu", name,
		    (unsigned long long)b->index,
		    (unsigned long long)b->offset);
	return SW_OK;
}

sw_err
ocf_reader_decompress(struct ocf_reader *r, const struct ocf_block *b,
    struct buf *out)
{
	return block_decompress(r->name, r->codec, b, out);
}

sw_err
ocf_reader_check_count(struct ocf_reader *r, const struct ocf_block *b,
    const void *data, size_t n)
{
	return ocf_walk_block(r->name, r->schema, b, data, n);
}

sw_err
ocf_block_check(const char *name, enum ocf_codec codec,
    const struct ocf_schema *s, const struct ocf_block *b, struct buf *out)
{
	sw_err rc;

	if ((rc = block_decompress(name, codec, b, out)) != SW_OK)
		return rc;
	return ocf_walk_block(name, s, b, out->data, out->len);
}
