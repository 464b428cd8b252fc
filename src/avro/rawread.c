/*
 * rawread.c - RawDatum records through avro-c, from byte ranges of a
 * container file (rawread.h): a stdio stream over the ranges
 * (fopencookie), avro_file_reader_fp on it, and each record read into a
 * generic value and taken apart by the fields' indexes, found once.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <avro.h>

#include "avro/rawread.h"
#include "base/util.h"

/* avro-c's message buffer is the process's (rawread.h). */
static pthread_mutex_t avroc_lock = PTHREAD_MUTEX_INITIALIZER;

/* The stream's buffer: a few of the day file's blocks (16 KiB to a few
 * hundred KiB each) per read(2). */
#define RAWREAD_BUFFER (256 * 1024)

/* The ranges as one stream. */
struct ranges {
	int fd;
	struct rawread_range *r;
	size_t n;
	size_t cur;        /* the range being read */
	uint64_t pos;      /* bytes of it read */
	int err;           /* errno of a failed read, or EIO for a short file */
};

enum field {
	F_SERIES, F_TIME, F_OFFSET, F_QUALITY, F_DOUBLE, F_STRING, F_INTEGER,
	F_BOOLEAN, F_JSON, F_VERSION, F__COUNT
};

static const struct {
	const char *name;
	avro_type_t type;
	int optional;      /* may be null (a union with null) */
} fields[F__COUNT] = {
	[F_SERIES] = { "seriesId", AVRO_STRING, 0 },
	[F_TIME] = { "timeInSeconds", AVRO_INT64, 0 },
	[F_OFFSET] = { "offsetInNanos", AVRO_INT64, 0 },
	[F_QUALITY] = { "quality", AVRO_STRING, 0 },
	[F_DOUBLE] = { "doubleValue", AVRO_DOUBLE, 1 },
	[F_STRING] = { "stringValue", AVRO_STRING, 1 },
	[F_INTEGER] = { "integerValue", AVRO_INT32, 1 },
	[F_BOOLEAN] = { "booleanValue", AVRO_BOOLEAN, 1 },
	[F_JSON] = { "jsonValue", AVRO_STRING, 1 },
	[F_VERSION] = { "recordVersion", AVRO_INT64, 1 },
};

struct rawread {
	char *name;
	struct ranges in;
	FILE *fp;
	avro_file_reader_t reader;
	avro_schema_t schema;  /* the writer's: a reference of ours (avro-c's
	                        * avro_file_reader_get_writer_schema gives one) */
	avro_value_iface_t *iface;
	avro_value_t value;
	int have_value;
	int idx[F__COUNT];  /* the field's index in the record, or -1 */
	uint64_t expect;     /* records still to come, or RAWREAD_UNKNOWN */
	uint64_t nread;
	int done, failed;
};

static ssize_t
ranges_read(void *cookie, char *buf, size_t size)
{
	struct ranges *in = cookie;
	uint64_t left;
	ssize_t got;

	while (in->cur < in->n && in->pos == in->r[in->cur].len) {
		in->cur++;
		in->pos = 0;
	}
	if (in->cur == in->n || size == 0)
		return 0;
	left = in->r[in->cur].len - in->pos;
	if (size > left)
		size = (size_t)left;
	do
		got = pread(in->fd, buf, size, (off_t)(in->r[in->cur].off +
		    in->pos));
	while (got < 0 && errno == EINTR);
	if (got <= 0) {
		/* a file shorter than its index says is an error, not an end */
		in->err = got < 0 ? errno : EIO;
		errno = in->err;
		return -1;
	}
	in->pos += (uint64_t)got;
	return got;
}

static int
ranges_at_end(const struct ranges *in)
{
	size_t i;

	if (in->cur < in->n && in->pos < in->r[in->cur].len)
		return 0;
	for (i = in->cur + 1; i < in->n; i++)
		if (in->r[i].len > 0)
			return 0;
	return 1;
}

/* The error of a failed avro-c call ("cannot WHAT"), or of the stream
 * under it. */
static sw_err
avroc_error(struct rawread *rd, const char *what)
{
	sw_err rc;

	if (rd->in.err != 0)
		return sw_seterr(SW_ERR_IO, "cannot read '%s': %s", rd->name,
		    strerror(rd->in.err));
	pthread_mutex_lock(&avroc_lock);
	rc = sw_seterr(SW_ERR_DATA, "'%s': avro-c cannot %s: %s", rd->name,
	    what, avro_strerror());
	pthread_mutex_unlock(&avroc_lock);
	return rc;
}

/* The schema of field f (its non-null branch when optional) is the one
 * RawDatum gives it. */
static int
field_ok(avro_schema_t s, int f)
{
	size_t i, n;
	int ok = 0;

	if (avro_typeof(s) == fields[f].type)
		return 1;
	if (!fields[f].optional || avro_typeof(s) != AVRO_UNION)
		return 0;
	n = avro_schema_union_size(s);
	for (i = 0; i < n; i++) {
		avro_schema_t b = avro_schema_union_branch(s, (int)i);

		if (avro_typeof(b) == fields[f].type)
			ok++;
		else if (avro_typeof(b) != AVRO_NULL)
			return 0;
	}
	return ok == 1 && n <= 2;
}

static sw_err
check_schema(struct rawread *rd, avro_schema_t s)
{
	int f, i;

	if (s == NULL || avro_typeof(s) != AVRO_RECORD)
		return sw_seterr(SW_ERR_DATA, "'%s': the writer schema is not "
		    "a record", rd->name);
	for (f = 0; f < F__COUNT; f++) {
		i = avro_schema_record_field_get_index(s, fields[f].name);
		rd->idx[f] = i;
		if (i < 0 && !fields[f].optional)
			return sw_seterr(SW_ERR_DATA, "'%s': the writer schema "
			    "has no field %s: not RawDatum", rd->name,
			    fields[f].name);
		if (i >= 0 && !field_ok(avro_schema_record_field_get_by_index(
		    s, i), f))
			return sw_seterr(SW_ERR_DATA, "'%s': field %s of the "
			    "writer schema is not RawDatum's", rd->name,
			    fields[f].name);
	}
	return SW_OK;
}

sw_err
rawread_open(int fd, const char *name, const struct rawread_range *r,
    size_t n, uint64_t records, struct rawread **out)
{
	static const cookie_io_functions_t io = { ranges_read, NULL, NULL,
	    NULL };
	struct rawread *rd;
	sw_err rc = SW_OK;

	*out = NULL;
	rd = xcalloc(1, sizeof(*rd));
	rd->name = xstrdup(name);
	rd->in.fd = fd;
	rd->expect = records;
	if (n == 0 || records == 0) {
		rd->done = 1;
		*out = rd;
		return SW_OK;
	}
	rd->in.r = xcalloc(n, sizeof(*r));
	memcpy(rd->in.r, r, n * sizeof(*r));
	rd->in.n = n;
	if ((rd->fp = fopencookie(&rd->in, "r", io)) == NULL)
		xoom(1, 1);
	setvbuf(rd->fp, NULL, _IOFBF, RAWREAD_BUFFER);
	pthread_mutex_lock(&avroc_lock);
	if (avro_file_reader_fp(rd->fp, rd->name, 0, &rd->reader) != 0) {
		rd->reader = NULL;
		if (rd->in.err != 0)
			rc = sw_seterr(SW_ERR_IO, "cannot read '%s': %s",
			    rd->name, strerror(rd->in.err));
		else
			rc = sw_seterr(SW_ERR_DATA, "'%s': avro-c cannot read "
			    "the container's header: %s", rd->name,
			    avro_strerror());
	}
	pthread_mutex_unlock(&avroc_lock);
	if (rc == SW_OK) {
		rd->schema = avro_file_reader_get_writer_schema(rd->reader);
		rc = check_schema(rd, rd->schema);
	}
	if (rc == SW_OK && (rd->iface = avro_generic_class_from_schema(
	    rd->schema)) == NULL)
		rc = avroc_error(rd, "make a value of the writer schema");
	if (rc == SW_OK) {
		if (avro_generic_value_new(rd->iface, &rd->value) != 0)
			rc = avroc_error(rd, "make a value of the writer "
			    "schema");
		else
			rd->have_value = 1;
	}
	if (rc != SW_OK) {
		rawread_free(rd);
		return rc;
	}
	*out = rd;
	return SW_OK;
}

/* Field f of the record just read, its branch when it is a union: 0 when
 * null (or absent from the schema). */
static int
get_field(struct rawread *rd, int f, avro_value_t *v)
{
	avro_value_t u;

	if (rd->idx[f] < 0 || avro_value_get_by_index(&rd->value,
	    (size_t)rd->idx[f], &u, NULL) != 0)
		return 0;
	if (avro_value_get_type(&u) == AVRO_UNION) {
		if (avro_value_get_current_branch(&u, v) != 0)
			return 0;
	} else {
		*v = u;
	}
	return avro_value_get_type(v) != AVRO_NULL;
}

static void
get_string(avro_value_t *v, struct rawread_str *s)
{
	size_t size = 0;

	s->s = "";
	s->n = 0;
	if (avro_value_get_string(v, &s->s, &size) != 0 || s->s == NULL) {
		s->s = "";
		return;
	}
	/* avro-c's size counts the NUL it adds */
	s->n = size > 0 ? size - 1 : 0;
}

static void
take_apart(struct rawread *rd, struct raw_record *rec)
{
	avro_value_t v;

	memset(rec, 0, sizeof(*rec));
	if (get_field(rd, F_SERIES, &v))
		get_string(&v, &rec->series);
	if (get_field(rd, F_TIME, &v))
		avro_value_get_long(&v, &rec->time_s);
	if (get_field(rd, F_OFFSET, &v))
		avro_value_get_long(&v, &rec->offset_ns);
	if (get_field(rd, F_QUALITY, &v))
		get_string(&v, &rec->quality);
	if ((rec->has_double = get_field(rd, F_DOUBLE, &v)))
		avro_value_get_double(&v, &rec->dbl);
	if ((rec->has_string = get_field(rd, F_STRING, &v)))
		get_string(&v, &rec->str);
	if ((rec->has_integer = get_field(rd, F_INTEGER, &v)))
		avro_value_get_int(&v, &rec->integer);
	if ((rec->has_boolean = get_field(rd, F_BOOLEAN, &v)))
		avro_value_get_boolean(&v, &rec->boolean);
	if ((rec->has_json = get_field(rd, F_JSON, &v)))
		get_string(&v, &rec->json);
	if ((rec->has_version = get_field(rd, F_VERSION, &v)))
		avro_value_get_long(&v, &rec->version);
}

/* The end: every range read to its end, and the records the caller
 * expected all there. */
static sw_err
at_end(struct rawread *rd, int *got)
{
	/* avro-c looks for a next block after the last record of a block:
	 * past the last one, that read hit the end of the ranges */
	if (!ranges_at_end(&rd->in))
		return sw_seterr(SW_ERR_DATA, "'%s': bytes after record %llu, "
		    "the last the cache index counts", rd->name,
		    (unsigned long long)rd->nread);
	rd->done = 1;
	*got = 0;
	return SW_OK;
}

sw_err
rawread_next(struct rawread *rd, struct raw_record *rec, int *got)
{
	char what[64];
	sw_err rc;

	*got = 0;
	if (rd->failed)
		return sw_seterr(SW_ERR_DATA, "'%s': read after an error",
		    rd->name);
	if (rd->done)
		return SW_OK;
	if (rd->expect == 0) {
		if ((rc = at_end(rd, got)) != SW_OK)
			rd->failed = 1;
		return rc;
	}
	avro_value_reset(&rd->value);
	if (avro_file_reader_read_value(rd->reader, &rd->value) != 0) {
		/* with no count to go by, the ranges' end is the records'
		 * (avro-c says an end as it says an error) */
		if (rd->expect == RAWREAD_UNKNOWN && rd->in.err == 0 &&
		    ranges_at_end(&rd->in)) {
			rd->done = 1;
			return SW_OK;
		}
		rd->failed = 1;
		if (rd->expect != RAWREAD_UNKNOWN && rd->in.err == 0 &&
		    ranges_at_end(&rd->in))
			return sw_seterr(SW_ERR_DATA, "'%s': %llu records where "
			    "the cache index counts %llu", rd->name,
			    (unsigned long long)rd->nread,
			    (unsigned long long)(rd->nread + rd->expect));
		snprintf(what, sizeof(what), "read record %llu",
		    (unsigned long long)rd->nread + 1);
		return avroc_error(rd, what);
	}
	take_apart(rd, rec);
	rd->nread++;
	if (rd->expect != RAWREAD_UNKNOWN)
		rd->expect--;
	*got = 1;
	return SW_OK;
}

void
rawread_free(struct rawread *rd)
{
	if (rd == NULL)
		return;
	if (rd->have_value)
		avro_value_decref(&rd->value);
	if (rd->iface != NULL)
		avro_value_iface_decref(rd->iface);
	if (rd->schema != NULL)
		avro_schema_decref(rd->schema);
	if (rd->reader != NULL)
		avro_file_reader_close(rd->reader);
	if (rd->fp != NULL)
		fclose(rd->fp);
	free(rd->in.r);
	free(rd->name);
	free(rd);
}
