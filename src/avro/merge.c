/*
 * merge.c - merge cold-tier files of one dataset into one day file (see
 * merge.h for the paths an input can take and for what a failure
 * leaves in the output).
 *
 * Everything the merge produces goes through one output buffer (out_sink)
 * so the many small pieces of re-framed blocks reach the caller's sink in
 * large writes, and so the merge knows at every moment the offset of the
 * output's end (pos) for rollbacks.  The buffer is emptied when it fills,
 * when an input fails (so the caller can cut the output back at once) and
 * by merge_finish().
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <snappy-c.h>

#include "avro/merge.h"
#include "base/util.h"

/* Output buffered before it is sent to the caller's sink. */
#define OUT_BUF (1024 * 1024)

/* The datasets.  A file of one has one of its value fields at least: a
 * raw file has none of the aggregates', an aggregate file none of the raw
 * values. */
static const char *const raw_values[] = {
	"doubleValue", "stringValue", "integerValue", "booleanValue",
	"jsonValue", NULL
};
static const char *const agg_values[] = {
	"count", "average", "min", "max", "sum", NULL
};
const struct merge_dataset merge_raw = {
	"raw", ocf_rawdatum_schema, raw_values
};
const struct merge_dataset merge_agg = {
	"aggregate", ocf_aggdatum_schema, agg_values
};

/* "a raw", "an aggregate" */
static const char *
article(const struct merge_dataset *ds)
{
	return strchr("aeiou", ds->name[0]) ? "an" : "a";
}

/* The values of ds, "a, b, c", for messages. */
static void
values_list(const struct merge_dataset *ds, char *out, size_t len)
{
	size_t k, n = 0;

	out[0] = '\0';
	for (k = 0; ds->values[k] != NULL && n < len; k++)
		n += (size_t)snprintf(out + n, len - n, "%s%s", k ? ", " : "",
		    ds->values[k]);
}

/* ---- resolution plans ------------------------------------------------- */

/* How a writer value (a primitive, or one branch of a writer union) is
 * read as the reader field's type. */
struct conv {
	int ok;                /* it can be */
	enum ocf_type from;    /* the writer's primitive */
	enum ocf_type to;      /* the reader's primitive */
	int64_t rbranch;       /* the reader union's branch, or -1 */
};

struct wfield {
	const char *name;
	const struct ocf_node *type;
	int target;            /* reader field, or -1: skipped */
	struct conv *convs;    /* per writer union branch, or [0] */
};

struct plan {
	size_t nw;
	struct wfield *w;
	int src[16];           /* reader field -> writer field, or -1 */
	struct conv *convmem;
};

/* A decoded primitive. */
struct val {
	const struct conv *conv;
	int64_t l;
	double d;
	float f;
	int b;
	const unsigned char *s;
	size_t n;
};

static void
plan_release(struct plan *pl)
{
	free(pl->w);
	free(pl->convmem);
	memset(pl, 0, sizeof(*pl));
}

static int
is_primitive(enum ocf_type t)
{
	return t <= OCF_STRING;
}

/* Writer primitive w read as reader primitive r: the same type or one of
 * the specification's promotions. */
static int
promotes(enum ocf_type w, enum ocf_type r)
{
	if (w == r)
		return 1;
	switch (w) {
	case OCF_INT:
		return r == OCF_LONG || r == OCF_FLOAT || r == OCF_DOUBLE;
	case OCF_LONG:
		return r == OCF_FLOAT || r == OCF_DOUBLE;
	case OCF_FLOAT:
		return r == OCF_DOUBLE;
	case OCF_STRING:
		return r == OCF_BYTES;
	case OCF_BYTES:
		return r == OCF_STRING;
	default:
		return 0;
	}
}

/* Resolve writer type w (not a union) against reader type r (a primitive
 * or a union of primitives): the same type first, then a promotion, as
 * Java's resolver does. */
static void
resolve_one(const struct ocf_node *w, const struct ocf_node *r,
    struct conv *c)
{
	size_t i;
	int pass;

	memset(c, 0, sizeof(*c));
	c->rbranch = -1;
	if (!is_primitive(w->type))
		return;
	c->from = w->type;
	if (r->type != OCF_UNION) {
		c->ok = promotes(w->type, r->type);
		c->to = r->type;
		return;
	}
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < r->n; i++) {
			enum ocf_type bt = r->branches[i]->type;

			if (pass == 0 ? bt == w->type : promotes(w->type, bt)) {
				c->ok = 1;
				c->to = bt;
				c->rbranch = (int64_t)i;
				return;
			}
		}
	}
}

/* Describe a writer type in messages. */
static const char *
type_desc(const struct ocf_node *t)
{
	return t->name ? t->name : ocf_type_name(t->type);
}

/*
 * Check that a writer schema can be read as the reader (the dataset's)
 * and make the plan to do it.  Refusals are SW_ERR_DATA naming the input.
 */
static sw_err
plan_make(const struct merge_dataset *ds, const struct ocf_node *reader,
    const struct ocf_node *w, const char *name, struct plan *pl)
{
	const char *rname = ocf_short_name(reader->name);
	const struct ocf_node *rt;
	size_t i, j, k, nconv = 0, used = 0, values = 0;
	struct wfield *wf;
	char vl[256];
	int okany;

	memset(pl, 0, sizeof(*pl));
	if (w->type != OCF_RECORD)
		return sw_seterr(SW_ERR_DATA, "'%s': not %s %s cold-tier file: "
		    "its schema is %s, not %s %s record", name, article(ds),
		    ds->name, type_desc(w), strchr("AEIOU", rname[0]) ? "an" :
		    "a", rname);
	if (strcmp(ocf_short_name(w->name), rname) != 0)
		return sw_seterr(SW_ERR_DATA, "'%s': not %s %s cold-tier file: "
		    "its schema is record '%s', not %s", name, article(ds),
		    ds->name, w->name, rname);
	if (reader->n > sizeof(pl->src) / sizeof(pl->src[0]))
		return sw_seterr(SW_ERR_INTERNAL, "reader schema too large");
	pl->nw = w->n;
	pl->w = xcalloc(w->n ? w->n : 1, sizeof(*pl->w));
	for (j = 0; j < w->n; j++)
		nconv += w->fields[j].type->type == OCF_UNION ?
		    w->fields[j].type->n : 1;
	pl->convmem = xcalloc(nconv ? nconv : 1, sizeof(*pl->convmem));
	for (j = 0; j < w->n; j++) {
		pl->w[j].name = w->fields[j].name;
		pl->w[j].type = w->fields[j].type;
		pl->w[j].target = -1;
	}

	for (i = 0; i < reader->n; i++) {
		rt = reader->fields[i].type;
		pl->src[i] = -1;
		for (j = 0; j < w->n; j++)
			if (strcmp(w->fields[j].name, reader->fields[i].name) ==
			    0)
				break;
		if (j == w->n) {
			/* the reader's optional fields, its ["null", T]
			 * unions, default to null; the others must be
			 * there */
			if (rt->type != OCF_UNION || rt->n == 0 ||
			    rt->branches[0]->type != OCF_NULL)
				goto missing;
			continue;
		}
		for (k = 0; ds->values[k] != NULL; k++)
			values += strcmp(reader->fields[i].name,
			    ds->values[k]) == 0;
		pl->src[i] = (int)j;
		wf = &pl->w[j];
		wf->target = (int)i;
		wf->convs = pl->convmem + used;
		okany = 0;
		if (wf->type->type == OCF_UNION) {
			for (k = 0; k < wf->type->n; k++) {
				resolve_one(wf->type->branches[k], rt,
				    &wf->convs[k]);
				okany |= wf->convs[k].ok;
			}
			used += wf->type->n;
		} else {
			resolve_one(wf->type, rt, &wf->convs[0]);
			okany = wf->convs[0].ok;
			used++;
		}
		if (!okany)
			goto incompatible;
	}
	if (values == 0) {
		plan_release(pl);
		values_list(ds, vl, sizeof(vl));
		return sw_seterr(SW_ERR_DATA, "'%s': not %s %s cold-tier file: "
		    "record '%s' has none of the value fields (%s)", name,
		    article(ds), ds->name, w->name, vl);
	}
	return SW_OK;

missing:
	plan_release(pl);
	return sw_seterr(SW_ERR_DATA, "'%s': not %s %s cold-tier file: record "
	    "'%s' has no field '%s'", name, article(ds), ds->name, w->name,
	    reader->fields[i].name);
incompatible:
	plan_release(pl);
	return sw_seterr(SW_ERR_DATA, "'%s': not %s %s cold-tier file: field "
	    "'%s' is %s in the file, which cannot be read as %s's", name,
	    article(ds), ds->name, reader->fields[i].name,
	    type_desc(w->fields[j].type), rname);
}

/* Read one writer primitive of type t. */
static sw_err
read_prim(enum ocf_type t, const unsigned char **p, const unsigned char *end,
    struct val *v)
{
	int32_t i32;

	switch (t) {
	case OCF_NULL:
		return SW_OK;
	case OCF_BOOLEAN:
		return enc_get_boolean(p, end, &v->b);
	case OCF_INT:
		if (enc_get_int(p, end, &i32) != SW_OK)
			return SW_ERR_DATA;
		v->l = i32;
		return SW_OK;
	case OCF_LONG:
		return enc_get_long(p, end, &v->l);
	case OCF_FLOAT:
		return enc_get_float(p, end, &v->f);
	case OCF_DOUBLE:
		return enc_get_double(p, end, &v->d);
	case OCF_BYTES:
	case OCF_STRING:
		return enc_get_bytes(p, end, &v->s, &v->n);
	default:
		return sw_seterr(SW_ERR_INTERNAL, "not a primitive");
	}
}

/* Encode v as the reader field's value (union branch first). */
static sw_err
put_val(struct buf *b, const struct val *v)
{
	const struct conv *c = v->conv;
	double d = 0;

	if (c->rbranch >= 0)
		enc_put_union_index(b, c->rbranch);
	switch (c->to) {
	case OCF_NULL:
		return SW_OK;
	case OCF_BOOLEAN:
		enc_put_boolean(b, v->b);
		return SW_OK;
	case OCF_INT:
		enc_put_int(b, (int32_t)v->l);
		return SW_OK;
	case OCF_LONG:
		enc_put_long(b, v->l);
		return SW_OK;
	case OCF_FLOAT:
	case OCF_DOUBLE:
		if (c->from == OCF_INT || c->from == OCF_LONG)
			d = (double)v->l;
		else if (c->from == OCF_FLOAT)
			d = v->f;
		else
			d = v->d;
		if (c->to == OCF_FLOAT)
			enc_put_float(b, (float)d);
		else
			enc_put_double(b, d);
		return SW_OK;
	case OCF_BYTES:
	case OCF_STRING:
		return enc_put_bytes(b, v->s, v->n);
	default:
		return sw_seterr(SW_ERR_INTERNAL, "not a primitive");
	}
}

/* Decode one record per the plan at *p and append it, in the reader's
 * order, to out. */
static sw_err
resolve_record(const struct plan *pl, const struct ocf_node *reader,
    const unsigned char **p, const unsigned char *end, struct buf *out)
{
	struct val vals[16];
	const struct wfield *wf;
	const struct ocf_node *t;
	size_t j, br;
	int i;
	sw_err rc;

	for (j = 0; j < pl->nw; j++) {
		wf = &pl->w[j];
		if (wf->target < 0) {
			if ((rc = ocf_skip(wf->type, p, end)) != SW_OK)
				goto bad;
			continue;
		}
		t = wf->type;
		br = 0;
		if (t->type == OCF_UNION) {
			if ((rc = enc_get_union_index(p, end, t->n, &br)) !=
			    SW_OK)
				goto bad;
			t = t->branches[br];
		}
		if (!wf->convs[br].ok) {
			rc = sw_seterr(SW_ERR_DATA, "its %s value cannot be "
			    "read as %s's", type_desc(t),
			    ocf_short_name(reader->name));
			goto bad;
		}
		vals[wf->target].conv = &wf->convs[br];
		if ((rc = read_prim(t->type, p, end, &vals[wf->target])) !=
		    SW_OK)
			goto bad;
	}
	for (i = 0; i < (int)reader->n; i++) {
		if (pl->src[i] < 0)
			enc_put_union_index(out, 0);  /* null default */
		else if ((rc = put_val(out, &vals[i])) != SW_OK)
			return rc;
	}
	return SW_OK;
bad:
	return sw_adderr(rc, "field '%s'", pl->w[j].name);
}

/* ---- the validation helper ---------------------------------------------- */

/*
 * Checking a copied block (snappy decompression, CRC, record walk) costs
 * more than reading and writing it, so a helper thread checks blocks of
 * the current input while the merge's own thread frames, copies and
 * writes them, and checks queued blocks too when it has nothing else to
 * do.  merge_add_file() still returns only once every block of its input
 * has been checked.
 *
 * The merge's thread never waits long for the helper: a block the helper
 * has not finished VAL_DRAIN_SECONDS after the merge ran out of work (the
 * helper was descheduled: a busy machine) is checked again by the merge's
 * thread, and the helper's late verdict is ignored; when that happens
 * often, the helper is left alone for a while.  So a loaded machine costs
 * little more than a merge without the helper.  The helper waits for work
 * spinning VAL_SPIN_SECONDS, then sleeps.
 *
 * Jobs hold copies of their blocks and everything needed to check them
 * (name, a schema reference), not the reader, which is gone when its input
 * is done.  They are few and take blocks of VAL_MAX_BLOCK bytes at most
 * (larger ones are checked inline), which bounds their memory.  Schema
 * references are taken and dropped by the merge's thread only.
 */
#define VAL_JOBS 8
#define VAL_MAX_BLOCK (256 * 1024)
#define VAL_SPIN_SECONDS 50e-6      /* the helper, for work */
#define VAL_DRAIN_SECONDS 20e-6     /* the merge, for the helper */
/* When the merge's thread had to check more than a quarter of the last
 * VAL_WINDOW jobs itself, the helper is not used for VAL_PAUSE inputs. */
#define VAL_WINDOW 64
#define VAL_PAUSE 256

enum { J_FREE = 0, J_QUEUED, J_BUSY, J_DONE };

struct vjob {
	int state;                 /* under the lock */
	int abandoned;             /* checked by the merge's thread instead */
	uint64_t input;            /* the input it belongs to */
	struct ocf_schema *schema; /* a reference */
	struct buf name;
	struct ocf_block b;        /* b.data points into comp */
	struct buf comp, data;
	sw_err rc;
	char msg[1024];
};

struct validator {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t work;       /* the helper sleeps on it */
	atomic_int queued;         /* jobs in J_QUEUED */
	atomic_int busy;           /* jobs the helper is running */
	atomic_int stop;
	int sleeping;
	struct vjob jobs[VAL_JOBS];
	uint64_t input;            /* the current input's number */
	struct buf data;           /* the merge's thread's own block */
	unsigned window, redone;   /* jobs queued, checked again */
	unsigned pause;            /* inputs left to merge without it */
	/* the failure of the lowest block of the current input */
	sw_err rc;
	uint64_t rc_index;
	char msg[1024];
};

/* Wait up to max seconds while *v == 0 (want_zero: while != 0), or until
 * stop; whether the wait ended by itself.  It spins for a few
 * microseconds, then yields the CPU between looks, so that on a busy
 * machine it hands its time to whoever can use it (the merge's thread
 * among others). */
static int
spin_while(atomic_int *v, int want_zero, atomic_int *stop, double max)
{
	double t0 = now_mono(), t;
	unsigned i;

	for (i = 0;; i++) {
		if ((atomic_load(v) == 0) == want_zero || atomic_load(stop))
			return 1;
		if ((i & 15) != 15) {
#if defined(__x86_64__) || defined(__i386__)
			__builtin_ia32_pause();
#endif
			continue;
		}
		t = now_mono() - t0;
		if (t > max)
			return 0;
		if (t > 5e-6)
			sched_yield();
	}
}

/* Check job j's block, into out; the verdict goes to *rc and msg. */
static void
check_job(const struct vjob *j, struct buf *out, sw_err *rc, char *msg,
    size_t msglen)
{
	*rc = ocf_block_check(j->name.data, OCF_CODEC_SNAPPY, j->schema,
	    &j->b, out);
	if (*rc != SW_OK)
		snprintf(msg, msglen, "%s", sw_errmsg());
}

/* Under the lock: keep a failure of the current input's lowest block. */
static void
note_failure(struct validator *v, sw_err rc, uint64_t index, const char *msg)
{
	if (rc != SW_OK && (v->rc == SW_OK || index < v->rc_index)) {
		v->rc = rc;
		v->rc_index = index;
		snprintf(v->msg, sizeof(v->msg), "%s", msg);
	}
}

/* Under the lock: a queued job, now the caller's to run. */
static struct vjob *
take_queued(struct validator *v)
{
	size_t i;

	if (atomic_load(&v->queued) == 0)
		return NULL;
	for (i = 0; i < VAL_JOBS; i++) {
		if (v->jobs[i].state == J_QUEUED) {
			v->jobs[i].state = J_BUSY;
			atomic_fetch_sub(&v->queued, 1);
			return &v->jobs[i];
		}
	}
	return NULL;
}

/* Under the lock, in the merge's thread: take the verdicts of finished
 * jobs and free them. */
static void
collect_done(struct validator *v)
{
	struct vjob *j;
	size_t i;

	for (i = 0; i < VAL_JOBS; i++) {
		j = &v->jobs[i];
		if (j->state != J_DONE)
			continue;
		if (!j->abandoned && j->input == v->input)
			note_failure(v, j->rc, j->b.index, j->msg);
		ocf_schema_free(j->schema);
		j->schema = NULL;
		j->state = J_FREE;
		/* a rare big block does not keep its memory */
		if (j->data.cap > 4 * VAL_MAX_BLOCK)
			buf_release(&j->data);
	}
}

static void *
val_main(void *arg)
{
	struct validator *v = arg;
	struct vjob *j;

	pthread_mutex_lock(&v->mu);
	while (!atomic_load(&v->stop)) {
		if ((j = take_queued(v)) != NULL) {
			atomic_fetch_add(&v->busy, 1);
			pthread_mutex_unlock(&v->mu);
			check_job(j, &j->data, &j->rc, j->msg, sizeof(j->msg));
			pthread_mutex_lock(&v->mu);
			j->state = J_DONE;
			atomic_fetch_sub(&v->busy, 1);
			continue;
		}
		pthread_mutex_unlock(&v->mu);
		spin_while(&v->queued, 0, &v->stop, VAL_SPIN_SECONDS);
		pthread_mutex_lock(&v->mu);
		if (atomic_load(&v->queued) == 0 && !atomic_load(&v->stop)) {
			v->sleeping = 1;
			pthread_cond_wait(&v->work, &v->mu);
			v->sleeping = 0;
		}
	}
	pthread_mutex_unlock(&v->mu);
	return NULL;
}

static struct validator *
val_new(void)
{
	struct validator *v = xcalloc(1, sizeof(*v));

	pthread_mutex_init(&v->mu, NULL);
	pthread_cond_init(&v->work, NULL);
	atomic_init(&v->queued, 0);
	atomic_init(&v->busy, 0);
	atomic_init(&v->stop, 0);
	v->rc_index = UINT64_MAX;
	if (pthread_create(&v->thread, NULL, val_main, v) != 0) {
		pthread_mutex_destroy(&v->mu);
		pthread_cond_destroy(&v->work);
		free(v);
		return NULL;   /* the merge checks inline instead */
	}
	return v;
}

static void
val_free(struct validator *v)
{
	size_t i;

	if (v == NULL)
		return;
	pthread_mutex_lock(&v->mu);
	atomic_store(&v->stop, 1);
	pthread_cond_signal(&v->work);
	pthread_mutex_unlock(&v->mu);
	pthread_join(v->thread, NULL);
	for (i = 0; i < VAL_JOBS; i++) {
		ocf_schema_free(v->jobs[i].schema);
		buf_release(&v->jobs[i].name);
		buf_release(&v->jobs[i].comp);
		buf_release(&v->jobs[i].data);
	}
	buf_release(&v->data);
	pthread_mutex_destroy(&v->mu);
	pthread_cond_destroy(&v->work);
	free(v);
}

/* Whether block b goes to the helper: small enough, compressed and not. */
static int
val_fits(const struct ocf_block *b)
{
	size_t len = 0;

	return b->size >= 4 && b->size <= VAL_MAX_BLOCK &&
	    snappy_uncompressed_length((const char *)b->data, b->size - 4,
	    &len) == SNAPPY_OK && len <= VAL_MAX_BLOCK;
}

/* Run queued jobs in the merge's thread (the lock is held on entry and
 * on return). */
static void
run_queued(struct validator *v)
{
	struct vjob *q;

	while ((q = take_queued(v)) != NULL) {
		pthread_mutex_unlock(&v->mu);
		check_job(q, &q->data, &q->rc, q->msg, sizeof(q->msg));
		pthread_mutex_lock(&v->mu);
		q->state = J_DONE;
	}
}

/*
 * Hand a copy of block b of r to the helper: *queued is 1, or 0 when no
 * job is free (the caller checks the block itself).  Returns the failure
 * of a block of this input checked meanwhile, so the input stops early.
 */
static sw_err
val_queue(struct validator *v, struct ocf_reader *r,
    const struct ocf_block *b, int *queued)
{
	struct vjob *j = NULL;
	size_t i;
	sw_err rc;

	*queued = 0;
	pthread_mutex_lock(&v->mu);
	collect_done(v);
	for (i = 0; i < VAL_JOBS && j == NULL; i++)
		if (v->jobs[i].state == J_FREE)
			j = &v->jobs[i];
	if (j == NULL) {
		/* all queued or running: work through the queue */
		run_queued(v);
		collect_done(v);
		for (i = 0; i < VAL_JOBS && j == NULL; i++)
			if (v->jobs[i].state == J_FREE)
				j = &v->jobs[i];
	}
	rc = v->rc;
	pthread_mutex_unlock(&v->mu);
	if (rc != SW_OK || j == NULL)
		return rc;   /* a failure: the caller drains and reports it */

	/* j is free: the helper does not look at it until it is queued */
	j->comp.len = 0;
	j->name.len = 0;
	buf_append(&j->comp, b->data, b->size);
	buf_puts(&j->name, ocf_reader_name(r));
	j->schema = ocf_schema_ref(ocf_reader_schema(r));
	j->input = v->input;
	j->abandoned = 0;
	j->b = *b;
	j->b.data = (const unsigned char *)j->comp.data;
	j->rc = SW_OK;

	pthread_mutex_lock(&v->mu);
	j->state = J_QUEUED;
	atomic_fetch_add(&v->queued, 1);
	if (v->sleeping)
		pthread_cond_signal(&v->work);
	pthread_mutex_unlock(&v->mu);
	*queued = 1;
	v->window++;
	return SW_OK;
}

/*
 * Finish the current input: every one of its blocks checked, by the
 * helper or here.  Returns the failure of its lowest block, with the
 * block's index and the message, and moves on to the next input.
 */
static sw_err
val_drain(struct validator *v, uint64_t *index, char *msg, size_t msglen)
{
	struct vjob *j;
	char jmsg[1024];
	sw_err rc;
	size_t i;

	pthread_mutex_lock(&v->mu);
	for (;;) {
		run_queued(v);
		collect_done(v);
		for (i = 0, j = NULL; i < VAL_JOBS && j == NULL; i++)
			if (v->jobs[i].state == J_BUSY &&
			    !v->jobs[i].abandoned &&
			    v->jobs[i].input == v->input)
				j = &v->jobs[i];
		if (j == NULL)
			break;
		/* the helper is on a block of this input: a few
		 * microseconds, unless it was descheduled */
		pthread_mutex_unlock(&v->mu);
		spin_while(&v->busy, 1, &v->stop, VAL_DRAIN_SECONDS);
		pthread_mutex_lock(&v->mu);
		if (j->state != J_BUSY)
			continue;
		/* check it here; the helper's verdict will be ignored.  The
		 * job's block, name and schema stay put while it is busy. */
		j->abandoned = 1;
		v->redone++;
		pthread_mutex_unlock(&v->mu);
		check_job(j, &v->data, &rc, jmsg, sizeof(jmsg));
		pthread_mutex_lock(&v->mu);
		note_failure(v, rc, j->b.index, jmsg);
	}
	rc = v->rc;
	*index = v->rc_index;
	snprintf(msg, msglen, "%s", v->msg);
	v->rc = SW_OK;
	v->rc_index = UINT64_MAX;
	v->msg[0] = '\0';
	v->input++;
	if (v->window >= VAL_WINDOW) {
		if (v->redone * 4 > v->window)
			v->pause = VAL_PAUSE;
		v->window = v->redone = 0;
	}
	pthread_mutex_unlock(&v->mu);
	if (v->data.cap > 4 * VAL_MAX_BLOCK)
		buf_release(&v->data);
	return rc;
}

/* ---- the merge ---------------------------------------------------------- */

struct merge {
	sw_sink_fn fn;
	void *arg;
	struct buf out;            /* output not yet sent to fn */
	uint64_t pos;              /* output offset of the end */
	struct ocf_writer *w;
	const struct merge_dataset *ds;
	struct ocf_schema *reader; /* the dataset's schema, parsed */
	struct ocf_schema_cache *schemas; /* inputs' schemas */

	struct buf data;           /* a decompressed input block */
	struct buf enc;            /* re-encoded records of an open block */
	int64_t enc_count;

	int workers;               /* helper threads wanted (0 or 1) */
	struct validator *val;     /* started with the first copied block */

	sw_err failed;             /* the output failed: nothing more */
	int finished;
	int dirty;                 /* a failed input's blocks are out */
	int can_rollback;          /* the last merge_add_file failed */
	uint64_t file_start;       /* where the last input's blocks began */
	struct merge_stats total;
};

/* All output passes here: buffered, counted, failures made sticky. */
static sw_err
out_flush(struct merge *m)
{
	sw_err rc;

	if (m->out.len == 0)
		return SW_OK;
	if ((rc = m->fn(m->arg, m->out.data, m->out.len)) != SW_OK) {
		m->failed = rc;
		return rc;
	}
	m->out.len = 0;
	return SW_OK;
}

static sw_err
out_sink(void *arg, const void *p, size_t n)
{
	struct merge *m = arg;
	sw_err rc;

	if (m->failed != SW_OK)
		return sw_seterr(m->failed, "merge output failed earlier");
	if (m->out.len + n > OUT_BUF && (rc = out_flush(m)) != SW_OK)
		return rc;
	if (n >= OUT_BUF) {
		/* large pieces go straight through */
		if ((rc = m->fn(m->arg, p, n)) != SW_OK) {
			m->failed = rc;
			return rc;
		}
	} else {
		buf_append(&m->out, p, n);
	}
	m->pos += n;
	return SW_OK;
}

/* A writer call: its failures are the output's. */
static sw_err
wrote(struct merge *m, sw_err rc)
{
	if (rc != SW_OK && m->failed == SW_OK)
		m->failed = rc;
	return rc;
}

static sw_err
merge_alloc(const struct merge_dataset *ds, sw_sink_fn fn, void *arg,
    struct merge **out)
{
	struct merge *m = xcalloc(1, sizeof(*m));
	sw_err rc;

	*out = NULL;
	m->fn = fn;
	m->arg = arg;
	m->ds = ds;
	if ((rc = ocf_schema_parse(ds->schema, strlen(ds->schema),
	    &m->reader)) != SW_OK) {
		merge_free(m);
		return sw_adderr(SW_ERR_INTERNAL, "the %s dataset's schema",
		    ds->name);
	}
	m->schemas = ocf_schema_cache_new();
	m->workers = sysconf(_SC_NPROCESSORS_ONLN) > 1;
	*out = m;
	return SW_OK;
}

sw_err
merge_new(sw_sink_fn fn, void *arg, const unsigned char *sync,
    struct merge **out)
{
	return merge_new_ds(&merge_raw, fn, arg, sync, out);
}

sw_err
merge_new_ds(const struct merge_dataset *ds, sw_sink_fn fn, void *arg,
    const unsigned char *sync, struct merge **out)
{
	struct merge *m = NULL;
	sw_err rc;

	*out = NULL;
	if ((rc = merge_alloc(ds, fn, arg, &m)) != SW_OK)
		return rc;
	rc = ocf_writer_new(ds->schema, "snappy", sync,
	    MERGE_BLOCK_SIZE, out_sink, m, &m->w);
	if (!rc) rc = out_flush(m);
	if (rc != SW_OK) {
		merge_free(m);
		return rc;
	}
	m->total.out_start = m->total.out_end = m->pos;
	m->file_start = m->pos;
	*out = m;
	return SW_OK;
}

/* Whether r's header is that of a day file: the dataset's schema,
 * snappy. */
static sw_err
check_day_header(const struct merge *m, const struct ocf_reader *r)
{
	if (!ocf_schema_equal(ocf_reader_schema(r), m->reader))
		return sw_seterr(SW_ERR_DATA, "'%s': not a day file of "
		    "swrepart: its schema is not %s", ocf_reader_name(r),
		    ocf_short_name(ocf_schema_root(m->reader)->name));
	if (ocf_reader_codec(r) != OCF_CODEC_SNAPPY)
		return sw_seterr(SW_ERR_DATA, "'%s': not a day file of "
		    "swrepart: its codec is %s, not snappy", ocf_reader_name(r),
		    ocf_codec_name(ocf_reader_codec(r)));
	return SW_OK;
}

sw_err
merge_open_append(int fd, const char *name, uint64_t end, int verify,
    sw_sink_fn fn, void *arg, struct merge **out,
    struct merge_stats *existing)
{
	return merge_open_append_ds(&merge_raw, fd, name, end, verify, fn, arg,
	    out, existing);
}

/* The dataset whose schema the day file read by r has: raw when none
 * (check_day_header then says what is wrong). */
static const struct merge_dataset *
day_dataset(const struct ocf_reader *r)
{
	struct ocf_schema *s = NULL;
	int same;

	if (ocf_schema_parse(ocf_aggdatum_schema, strlen(ocf_aggdatum_schema),
	    &s) != SW_OK)
		return &merge_raw;
	same = ocf_schema_equal(ocf_reader_schema(r), s);
	ocf_schema_free(s);
	return same ? &merge_agg : &merge_raw;
}

sw_err
merge_open_append_ds(const struct merge_dataset *ds, int fd, const char *name,
    uint64_t end, int verify, sw_sink_fn fn, void *arg, struct merge **out,
    struct merge_stats *existing)
{
	struct merge *m = NULL;
	struct ocf_reader *r = NULL;
	struct ocf_block b;
	struct merge_stats ex = { 0 };
	int got = 0;
	sw_err rc;

	*out = NULL;
	if ((rc = ocf_reader_open(fd, name, end ? end : OCF_TO_EOF, NULL,
	    &r)) != SW_OK)
		goto out;
	if ((rc = merge_alloc(ds != NULL ? ds : day_dataset(r), fn, arg,
	    &m)) != SW_OK)
		goto out;
	if ((rc = check_day_header(m, r)) != SW_OK)
		goto out;
	for (;;) {
		if ((rc = ocf_reader_next(r, &b, &got)) != SW_OK || !got)
			break;
		ex.blocks_in++;
		ex.records += (uint64_t)b.count;
		if (verify && ((rc = ocf_reader_decompress(r, &b, &m->data)) !=
		    SW_OK || (rc = ocf_reader_check_count(r, &b, m->data.data,
		    m->data.len)) != SW_OK))
			break;
	}
	if (rc != SW_OK)
		goto out;
	if (end != 0 && ocf_reader_offset(r) != end) {
		rc = sw_seterr(SW_ERR_DATA, "'%s': file ends at offset %llu, "
		    "before the expected %llu", name,
		    (unsigned long long)ocf_reader_offset(r),
		    (unsigned long long)end);
		goto out;
	}
	ex.bytes_in = ex.out_start = ex.out_end = ocf_reader_offset(r);
	if ((rc = ocf_writer_continue("snappy", ocf_reader_sync(r),
	    MERGE_BLOCK_SIZE, out_sink, m, &m->w)) != SW_OK)
		goto out;
	m->pos = m->file_start = ex.out_end;
	m->total.out_start = m->total.out_end = m->pos;
	if (existing != NULL)
		*existing = ex;
	*out = m;
	m = NULL;
out:
	ocf_reader_free(r);
	merge_free(m);
	return rc;
}

static sw_err
usable(const struct merge *m)
{
	if (m->failed != SW_OK)
		return sw_seterr(m->failed, "the merge's output failed "
		    "earlier");
	if (m->finished)
		return sw_seterr(SW_ERR_INTERNAL, "merge already finished");
	if (m->dirty)
		return sw_seterr(SW_ERR_INTERNAL, "the output holds blocks of "
		    "an input that failed: roll back or discard it");
	return SW_OK;
}

/* Close the open block of re-encoded records. */
static sw_err
flush_enc(struct merge *m, struct merge_stats *fs)
{
	sw_err rc;

	if (m->enc_count == 0)
		return SW_OK;
	if ((rc = wrote(m, ocf_writer_append_block(m->w, m->enc_count,
	    m->enc.data, m->enc.len))) != SW_OK)
		return rc;
	fs->records += (uint64_t)m->enc_count;
	fs->blocks_out++;
	m->enc.len = 0;
	m->enc_count = 0;
	return SW_OK;
}

/* Re-encode the records of one (checked) block per the plan. */
static sw_err
resolve_block(struct merge *m, const struct plan *pl,
    const struct ocf_reader *r, const struct ocf_block *b,
    struct merge_stats *fs)
{
	const struct ocf_node *reader = ocf_schema_root(m->reader);
	const unsigned char *p = (const unsigned char *)m->data.data;
	const unsigned char *end = p + m->data.len;
	int64_t i;
	sw_err rc;

	for (i = 0; i < b->count; i++) {
		if ((rc = resolve_record(pl, reader, &p, end, &m->enc)) !=
		    SW_OK)
			return sw_adderr(rc, "'%s': block %llu at offset %llu: "
			    "record %lld", ocf_reader_name(r),
			    (unsigned long long)b->index,
			    (unsigned long long)b->offset, (long long)i + 1);
		m->enc_count++;
		fs->records_resolved++;
		if (m->enc.len >= MERGE_BLOCK_SIZE &&
		    (rc = flush_enc(m, fs)) != SW_OK)
			return rc;
	}
	if (p != end)
		return sw_seterr(SW_ERR_INTERNAL, "'%s': block %llu: resolved "
		    "records and the walk disagree", ocf_reader_name(r),
		    (unsigned long long)b->index);
	return SW_OK;
}

/* The end of one input: its counters into the totals when it was
 * merged, or the state a rollback needs when it failed. */
static void
input_done(struct merge *m, struct merge_stats *fs, sw_err rc)
{
	fs->out_end = m->pos;
	fs->bytes_out = fs->out_end - fs->out_start;
	if (rc == SW_OK) {
		fs->files = 1;
		m->total.files++;
		m->total.records += fs->records;
		m->total.blocks_in += fs->blocks_in;
		m->total.blocks_raw += fs->blocks_raw;
		m->total.blocks_recompressed += fs->blocks_recompressed;
		m->total.records_resolved += fs->records_resolved;
		m->total.blocks_out += fs->blocks_out;
		m->total.bytes_in += fs->bytes_in;
	} else if (m->failed == SW_OK) {
		m->can_rollback = 1;
		m->dirty = m->pos != m->file_start;
	}
}

/* An input: a file descriptor, or bytes in memory when p is set. */
struct input {
	int fd;
	const void *p;
	size_t n;
};

static sw_err
add_file(struct merge *m, const struct input *in, const char *name,
    struct merge_stats *st)
{
	struct merge_stats fs = { 0 };
	struct ocf_reader *r = NULL;
	struct plan pl = { 0 };
	struct ocf_block b;
	uint64_t err_index = UINT64_MAX;   /* the block that failed */
	int got = 0, queued, use_val = 0;
	sw_err rc;

	fs.out_start = fs.out_end = m->pos;
	if ((rc = usable(m)) != SW_OK)
		goto done;
	m->can_rollback = 0;
	m->file_start = m->pos;
	rc = in->p != NULL ?
	    ocf_reader_open_mem(in->p, in->n, name, m->schemas, &r) :
	    ocf_reader_open(in->fd, name, OCF_TO_EOF, m->schemas, &r);
	if (rc != SW_OK)
		goto out;
	if (ocf_schema_equal(ocf_reader_schema(r), m->reader))
		fs.path = ocf_reader_codec(r) == OCF_CODEC_SNAPPY ?
		    MERGE_PATH_RAW : MERGE_PATH_RECOMPRESS;
	else if ((rc = plan_make(m->ds, ocf_schema_root(m->reader),
	    ocf_schema_root(ocf_reader_schema(r)), name, &pl)) != SW_OK)
		goto out;
	else
		fs.path = MERGE_PATH_RESOLVE;

	if (fs.path == MERGE_PATH_RAW && m->workers > 0 && m->val == NULL)
		m->val = val_new();
	use_val = m->val != NULL && fs.path == MERGE_PATH_RAW;
	if (use_val && m->val->pause > 0) {
		m->val->pause--;   /* the helper is left alone for now */
		use_val = 0;
	}
	for (;;) {
		if ((rc = ocf_reader_next(r, &b, &got)) != SW_OK || !got) {
			err_index = fs.blocks_in;
			break;
		}
		err_index = b.index;
		fs.blocks_in++;
		queued = 0;
		if (use_val && val_fits(&b)) {
			/* checked by the helper; written now (a failure
			 * found later fails this call all the same) */
			if ((rc = val_queue(m->val, r, &b, &queued)) != SW_OK)
				break;
		}
		if (!queued && ((rc = ocf_reader_decompress(r, &b,
		    &m->data)) != SW_OK || (rc = ocf_reader_check_count(r,
		    &b, m->data.data, m->data.len)) != SW_OK))
			break;
		if (b.count == 0)
			continue;   /* valid, and nothing to write */
		switch (fs.path) {
		case MERGE_PATH_RAW:
			rc = wrote(m, ocf_writer_append_raw_block(m->w, b.count,
			    b.data, b.size));
			fs.blocks_raw++;
			break;
		case MERGE_PATH_RECOMPRESS:
			rc = wrote(m, ocf_writer_append_block(m->w, b.count,
			    m->data.data, m->data.len));
			fs.blocks_recompressed++;
			break;
		default:
			rc = resolve_block(m, &pl, r, &b, &fs);
			break;
		}
		if (rc != SW_OK)
			break;
		if (fs.path != MERGE_PATH_RESOLVE) {
			fs.records += (uint64_t)b.count;
			fs.blocks_out++;
		}
	}
	if (rc == SW_OK)
		rc = flush_enc(m, &fs);
	if (use_val) {
		/* every block checked before the verdict; of two failures,
		 * the one of the lower block is reported */
		char msg[1024], vmsg[1024];
		uint64_t vindex = UINT64_MAX;
		sw_err vrc;

		snprintf(msg, sizeof(msg), "%s", sw_errmsg());
		vrc = val_drain(m->val, &vindex, vmsg, sizeof(vmsg));
		if (vrc != SW_OK && (rc == SW_OK || (m->failed == SW_OK &&
		    vindex <= err_index)))
			rc = sw_seterr(vrc, "%s", vmsg);
		else if (rc != SW_OK)
			sw_seterr(rc, "%s", msg);
	}
out:
	if (r != NULL)
		fs.bytes_in = ocf_reader_offset(r);
	/* after a failure, the sink has all the output (so the caller can
	 * cut it back); after a success, the buffer may keep some */
	if (rc != SW_OK && m->failed == SW_OK)
		out_flush(m);
	m->enc.len = 0;
	m->enc_count = 0;
	/* a rare big block does not keep its memory */
	if (m->data.cap > 4 * 1024 * 1024)
		buf_release(&m->data);
	if (m->enc.cap > 4 * MERGE_BLOCK_SIZE)
		buf_release(&m->enc);
	input_done(m, &fs, rc);
done:
	plan_release(&pl);
	ocf_reader_free(r);
	if (st != NULL)
		*st = fs;
	return rc;
}

sw_err
merge_add_file(struct merge *m, int fd, const char *name,
    struct merge_stats *st)
{
	struct input in = { fd, NULL, 0 };

	return add_file(m, &in, name, st);
}

sw_err
merge_add_mem(struct merge *m, const void *p, size_t n, const char *name,
    struct merge_stats *st)
{
	/* an empty input is still an input: refused as an empty file */
	struct input in = { -1, p != NULL ? p : "", n };

	return add_file(m, &in, name, st);
}

/* len bytes of blocks: at offset off of in->fd, or in->p's n bytes (off
 * then only names where they were). */
static sw_err
add_blocks(struct merge *m, const struct input *in, uint64_t off,
    uint64_t len, uint64_t records, int verify, const char *name,
    struct merge_stats *st)
{
	struct merge_stats fs = { 0 };
	struct ocf_reader *r = NULL;
	struct ocf_block b;
	int got = 0;
	sw_err rc;

	fs.out_start = fs.out_end = m->pos;
	fs.path = MERGE_PATH_RAW;
	if ((rc = usable(m)) != SW_OK)
		goto done;
	m->can_rollback = 0;
	m->file_start = m->pos;
	if (in->p != NULL) {
		rc = ocf_reader_open_blocks_mem(in->p, in->n, name, off,
		    m->reader, OCF_CODEC_SNAPPY, ocf_writer_sync(m->w), &r);
	} else if (lseek(in->fd, (off_t)off, SEEK_SET) < 0) {
		rc = sw_seterr(SW_ERR_IO, "'%s': cannot seek to offset %llu: %s",
		    name, (unsigned long long)off, strerror(errno));
	} else {
		rc = ocf_reader_open_blocks(in->fd, name, off, len, m->reader,
		    OCF_CODEC_SNAPPY, ocf_writer_sync(m->w), &r);
	}
	if (rc != SW_OK)
		goto out;
	for (;;) {
		if ((rc = ocf_reader_next(r, &b, &got)) != SW_OK || !got)
			break;
		fs.blocks_in++;
		if (verify && ((rc = ocf_reader_decompress(r, &b, &m->data)) !=
		    SW_OK || (rc = ocf_reader_check_count(r, &b, m->data.data,
		    m->data.len)) != SW_OK))
			break;
		if (b.count == 0)
			continue;
		if ((rc = wrote(m, ocf_writer_append_raw_block(m->w, b.count,
		    b.data, b.size))) != SW_OK)
			break;
		fs.blocks_raw++;
		fs.blocks_out++;
		fs.records += (uint64_t)b.count;
	}
	if (rc == SW_OK && ocf_reader_offset(r) != off + len)
		rc = sw_seterr(SW_ERR_DATA, "'%s': its blocks end at offset "
		    "%llu, not at %llu", name,
		    (unsigned long long)ocf_reader_offset(r),
		    (unsigned long long)(off + len));
	if (rc == SW_OK && fs.records != records)
		rc = sw_seterr(SW_ERR_DATA, "'%s': %llu records in its blocks, "
		    "%llu recorded", name, (unsigned long long)fs.records,
		    (unsigned long long)records);
out:
	fs.bytes_in = len;
	if (rc != SW_OK && m->failed == SW_OK)
		out_flush(m);
	if (m->data.cap > 4 * 1024 * 1024)
		buf_release(&m->data);
	input_done(m, &fs, rc);
done:
	ocf_reader_free(r);
	if (st != NULL)
		*st = fs;
	return rc;
}

sw_err
merge_add_blocks(struct merge *m, int fd, uint64_t off, uint64_t len,
    uint64_t records, int verify, const char *name, struct merge_stats *st)
{
	struct input in = { fd, NULL, 0 };

	return add_blocks(m, &in, off, len, records, verify, name, st);
}

sw_err
merge_add_blocks_mem(struct merge *m, const void *p, size_t n,
    uint64_t records, int verify, const char *name, struct merge_stats *st)
{
	struct input in = { -1, p != NULL ? p : "", n };

	return add_blocks(m, &in, 0, n, records, verify, name, st);
}

struct run {
	char *series;
	uint64_t n;
};

static int
cmp_run(const void *a, const void *b)
{
	return strcmp(((const struct run *)a)->series,
	    ((const struct run *)b)->series);
}

void
merge_counts_free(struct merge_count *v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++)
		free(v[i].series);
	free(v);
}

sw_err
merge_series_counts(int fd, const char *name, struct merge_count **out,
    size_t *n)
{
	return merge_series_counts_ds(&merge_raw, fd, name, out, n);
}

sw_err
merge_series_counts_ds(const struct merge_dataset *ds, int fd,
    const char *name, struct merge_count **out, size_t *n)
{
	struct ocf_schema *raw = NULL;
	struct ocf_reader *r = NULL;
	struct ocf_block b;
	struct buf data;
	struct run *runs = NULL;
	size_t nruns = 0, cap = 0, i, k;
	const struct ocf_node *root;
	int got = 0;
	sw_err rc;

	*out = NULL;
	*n = 0;
	buf_init(&data);
	if ((rc = ocf_schema_parse(ds->schema, strlen(ds->schema), &raw)) !=
	    SW_OK)
		return sw_adderr(SW_ERR_INTERNAL, "the %s dataset's schema",
		    ds->name);
	root = ocf_schema_root(raw);
	if ((rc = ocf_reader_open(fd, name, OCF_TO_EOF, NULL, &r)) != SW_OK)
		goto out;
	if (!ocf_schema_equal(ocf_reader_schema(r), raw)) {
		rc = sw_seterr(SW_ERR_DATA, "'%s': not a %s file", name,
		    ocf_short_name(root->name));
		goto out;
	}
	for (;;) {
		const unsigned char *p, *end;
		int64_t j;

		if ((rc = ocf_reader_next(r, &b, &got)) != SW_OK || !got)
			break;
		if ((rc = ocf_reader_decompress(r, &b, &data)) != SW_OK)
			break;
		p = (const unsigned char *)data.data;
		end = p + data.len;
		for (j = 0; j < b.count && rc == SW_OK; j++) {
			const char *sid;
			size_t len, f;

			if ((rc = enc_get_string(&p, end, &sid, &len)) !=
			    SW_OK)
				break;
			if (nruns == 0 || strlen(runs[nruns - 1].series) != len
			    || memcmp(runs[nruns - 1].series, sid, len) != 0) {
				runs = xgrowarray(runs, &cap, nruns + 1,
				    sizeof(*runs));
				runs[nruns].series = xcalloc(1, len + 1);
				memcpy(runs[nruns].series, sid, len);
				runs[nruns++].n = 0;
			}
			runs[nruns - 1].n++;
			for (f = 1; f < root->n && rc == SW_OK; f++)
				rc = ocf_skip(root->fields[f].type, &p, end);
		}
		if (rc == SW_OK && p != end)
			rc = sw_seterr(SW_ERR_DATA, "'%s': block %llu: records "
			    "and size disagree", name,
			    (unsigned long long)b.index);
		if (rc != SW_OK)
			break;
	}
	if (rc != SW_OK)
		goto out;
	if (nruns > 0)
		qsort(runs, nruns, sizeof(*runs), cmp_run);
	*out = xcalloc(nruns + 1, sizeof(**out));
	for (i = 0, k = 0; i < nruns; i++) {
		if (k > 0 && strcmp((*out)[k - 1].series, runs[i].series) ==
		    0) {
			(*out)[k - 1].records += runs[i].n;
			free(runs[i].series);
			continue;
		}
		(*out)[k].series = runs[i].series;
		(*out)[k++].records = runs[i].n;
	}
	*n = k;
	nruns = 0;
out:
	for (i = 0; i < nruns; i++)
		free(runs[i].series);
	free(runs);
	buf_release(&data);
	ocf_reader_free(r);
	ocf_schema_free(raw);
	return rc;
}

void
merge_set_workers(struct merge *m, int n)
{
	if (m->val != NULL && n == 0) {
		val_free(m->val);
		m->val = NULL;
	}
	m->workers = n > 0;
}

sw_err
merge_rollback(struct merge *m, uint64_t *truncate_to)
{
	*truncate_to = m->pos;
	if (m->failed != SW_OK)
		return sw_seterr(SW_ERR_INTERNAL, "cannot roll back: the "
		    "merge's output failed");
	if (!m->can_rollback)
		return sw_seterr(SW_ERR_INTERNAL, "nothing to roll back: the "
		    "last input did not fail");
	m->pos = m->file_start;
	*truncate_to = m->pos;
	m->dirty = 0;
	m->can_rollback = 0;
	return SW_OK;
}

sw_err
merge_finish(struct merge *m)
{
	sw_err rc;

	if ((rc = usable(m)) != SW_OK)
		return rc;
	if ((rc = wrote(m, ocf_writer_finish(m->w))) != SW_OK)
		return rc;
	if ((rc = out_flush(m)) != SW_OK)
		return rc;
	m->finished = 1;
	return SW_OK;
}

void
merge_stats(const struct merge *m, struct merge_stats *st)
{
	*st = m->total;
	st->out_end = m->pos;
	st->bytes_out = st->out_end - st->out_start;
	st->path = MERGE_PATH_NONE;
}

const unsigned char *
merge_sync(const struct merge *m)
{
	return ocf_writer_sync(m->w);
}

void
merge_free(struct merge *m)
{
	if (m == NULL)
		return;
	val_free(m->val);
	ocf_writer_free(m->w);
	ocf_schema_free(m->reader);
	ocf_schema_cache_free(m->schemas);
	buf_release(&m->out);
	buf_release(&m->data);
	buf_release(&m->enc);
	free(m);
}
