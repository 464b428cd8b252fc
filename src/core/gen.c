/*
 * gen.c - the synthetic cold tier (see gen.h for what it promises).
 *
 * Randomness: every decision draws from a hash of the seed and of the
 * coordinates the decision may depend on (splitmix64's finalizer chained
 * over them), and each file's contents from a xoshiro256** stream seeded
 * that way.  Per-series shares (disassociated, legacy id, unversioned)
 * use additive recurrences (Weyl sequences) instead of coin flips, so even
 * 20 series get close to the asked shares, and series i's draw still
 * depends on i alone.  No libm, no locale, no rand(): the output is the
 * same bytes on any machine.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avro/ocf.h"
#include "base/dates.h"
#include "base/util.h"
#include "core/gen.h"

#define DAY_SECONDS 86400
#define MAX_SERIES 10000000
#define MAX_DAYS 100000
#define MAX_RECORDS 10000000

/* ---- randomness --------------------------------------------------------- */

/* Decision domains, so two decisions on the same coordinates differ. */
enum {
	T_SERIES_ID = 1,
	T_ASSET_ID,
	T_PROPERTY_ID,
	T_MODEL,
	T_MODEL_ID,
	T_WEYL,
	T_SERIES_MISC,
	T_ASSET_DATES,
	T_FILE,
	T_FILE_OPTS,
	T_PRESENCE,
	T_AGG_SYNC,
};

/* Fractional parts of the golden ratio, sqrt(2) and sqrt(3) in 64-bit
 * fixed point: steps of low-discrepancy sequences that are independent of
 * one another. */
#define FRAC_PHI 0x9e3779b97f4a7c15ULL
#define FRAC_SQRT2 0x6a09e667f3bcc908ULL
#define FRAC_SQRT3 0xbb67ae8584caa73bULL

static uint64_t
mix64(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t
derive(uint64_t seed, uint64_t tag, uint64_t a, uint64_t b, uint64_t c,
    uint64_t d)
{
	uint64_t h = mix64(seed ^ mix64(tag));

	h = mix64(h ^ a);
	h = mix64(h ^ b);
	h = mix64(h ^ c);
	return mix64(h ^ d);
}

struct rng {
	uint64_t s[4];
};

static void
rng_seed(struct rng *r, uint64_t seed)
{
	int i;

	for (i = 0; i < 4; i++) {
		seed += 0x9e3779b97f4a7c15ULL;
		r->s[i] = mix64(seed);
	}
}

static uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* xoshiro256** */
static uint64_t
rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

/* A double in [0, 1) from 53 bits. */
static double
unit(uint64_t u)
{
	return (double)(u >> 11) * 0x1p-53;
}

static uint64_t
rng_below(struct rng *r, uint64_t n)
{
	return rng_next(r) % n;
}

/* u (uniform over 64 bits) falls in the first share of the range. */
static int
under(uint64_t u, double share)
{
	if (share <= 0)
		return 0;
	if (share >= 1)
		return 1;
	return unit(u) < share;
}

/* Element i of a Weyl sequence with a seed-dependent start. */
static uint64_t
weyl(uint64_t seed, uint64_t which, uint64_t step, int i)
{
	return derive(seed, T_WEYL, which, 0, 0, 0) + (uint64_t)i * step;
}

static void
make_uuid(uint64_t seed, uint64_t tag, uint64_t n, char out[37])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char b[16];
	uint64_t hi = derive(seed, tag, n, 0, 0, 0);
	uint64_t lo = derive(seed, tag, n, 1, 0, 0);
	int i, o = 0;

	for (i = 0; i < 8; i++) {
		b[i] = (unsigned char)(hi >> (56 - 8 * i));
		b[8 + i] = (unsigned char)(lo >> (56 - 8 * i));
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);  /* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);  /* RFC 4122 variant */
	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = digits[b[i] >> 4];
		out[o++] = digits[b[i] & 15];
	}
	out[o] = '\0';
}

/* ---- dates -------------------------------------------------------------- */

/* Strict "YYYY-MM-DD" (1970..9999) to days since the epoch. */
static int
parse_date(const char *s, int64_t *out)
{
	int y, m, d;

	if (date_parse_ymd(s, &y, &m, &d) != 0 || y < 1970)
		return -1;
	*out = days_from_civil(y, m, d);
	return 0;
}

/* ---- parameters and series ---------------------------------------------- */

void
gen_params_init(struct gen_params *p)
{
	memset(p, 0, sizeof(*p));
	p->start_date = "2022-01-01";
	p->days = 1;
	p->series = 10;
	p->records_per_file = 100;
	p->windows_per_day = GEN_MAX_WINDOWS;
	p->first_window = 0;
	p->last_window = -1;
	p->seed = 1;
	p->prefix = "raw/";
	p->disassociated_share = 0.1;
	p->legacy_id_share = 0.5;
	p->unversioned_share = 0.3;
	p->asset_metadata = 1;
	p->block_size = OCF_DEFAULT_BLOCK_SIZE;
}

static int
share_ok(double v)
{
	return v >= 0 && v <= 1;  /* false for NaN too */
}

sw_err
gen_params_check(const struct gen_params *p)
{
	int64_t day;
	int last = p->last_window < 0 ? p->windows_per_day - 1 : p->last_window;
	const struct {
		const char *name;
		double v;
	} shares[] = {
		{ "disassociated share", p->disassociated_share },
		{ "legacy id share", p->legacy_id_share },
		{ "unversioned share", p->unversioned_share },
		{ "deflate share", p->deflate_share },
		{ "null codec share", p->null_share },
		{ "variant schema share", p->variant_schema_share },
		{ "bad share", p->bad_share },
		{ "uncertain share", p->uncertain_share },
	};
	size_t i, n;

	if (parse_date(p->start_date, &day) != 0)
		return sw_seterr(SW_ERR_USAGE,
		    "bad start date '%s': expected YYYY-MM-DD from 1970",
		    p->start_date ? p->start_date : "");
	if (p->days < 1 || p->days > MAX_DAYS)
		return sw_seterr(SW_ERR_USAGE, "days %d not in 1..%d", p->days,
		    MAX_DAYS);
	if (day + p->days > days_from_civil(9999, 12, 31))
		return sw_seterr(SW_ERR_USAGE, "days run past the year 9999");
	if (p->series < 0 || p->series > MAX_SERIES)
		return sw_seterr(SW_ERR_USAGE, "series %d not in 0..%d",
		    p->series, MAX_SERIES);
	if (p->records_per_file < 1 || p->records_per_file > MAX_RECORDS)
		return sw_seterr(SW_ERR_USAGE, "records per file %d not in "
		    "1..%d", p->records_per_file, MAX_RECORDS);
	if (p->windows_per_day < 1 || p->windows_per_day > GEN_MAX_WINDOWS)
		return sw_seterr(SW_ERR_USAGE, "windows per day %d not in 1..%d",
		    p->windows_per_day, GEN_MAX_WINDOWS);
	if (p->first_window < 0 || p->first_window > last ||
	    last >= p->windows_per_day)
		return sw_seterr(SW_ERR_USAGE, "window range %d..%d not within "
		    "0..%d", p->first_window, last, p->windows_per_day - 1);
	for (i = 0; i < sizeof(shares) / sizeof(shares[0]); i++)
		if (!share_ok(shares[i].v))
			return sw_seterr(SW_ERR_USAGE, "%s %g not in 0..1",
			    shares[i].name, shares[i].v);
	if (p->deflate_share + p->null_share > 1 + 1e-9)
		return sw_seterr(SW_ERR_USAGE, "deflate and null codec shares "
		    "add up to more than 1");
	if (p->prefix == NULL)
		return sw_seterr(SW_ERR_USAGE, "no data prefix");
	n = strlen(p->prefix);
	if (n > 0 && (p->prefix[0] == '/' || p->prefix[n - 1] != '/' ||
	    strstr(p->prefix, "//") != NULL || n > 200))
		return sw_seterr(SW_ERR_USAGE, "bad data prefix '%s': expected "
		    "\"\" or a relative path ending in '/'", p->prefix);
	n = p->agg_prefix != NULL ? strlen(p->agg_prefix) : 0;
	if (p->agg_prefix != NULL && (n == 0 || p->agg_prefix[0] == '/' ||
	    p->agg_prefix[n - 1] != '/' || strstr(p->agg_prefix, "//") !=
	    NULL || n > 200 || strcmp(p->agg_prefix, p->prefix) == 0))
		return sw_seterr(SW_ERR_USAGE, "bad aggregates prefix '%s': "
		    "expected a relative path ending in '/', not the data "
		    "prefix", p->agg_prefix);
	return SW_OK;
}

static const char *const quality_names[GEN_QUALITY__COUNT] = {
	"GOOD", "BAD", "UNCERTAIN"
};
static const char *const type_names[GEN_TYPE__COUNT] = {
	"DOUBLE", "INTEGER", "STRING", "BOOLEAN", "JSON"
};
static const char *const type_sitewise[GEN_TYPE__COUNT] = {
	"DOUBLE", "INTEGER", "STRING", "BOOLEAN", "STRUCT"
};

const char *
gen_quality_name(enum gen_quality q)
{
	return (unsigned)q < GEN_QUALITY__COUNT ? quality_names[q] : "?";
}

const char *
gen_type_name(enum gen_type t)
{
	return (unsigned)t < GEN_TYPE__COUNT ? type_names[t] : "?";
}

const char *
gen_type_sitewise(enum gen_type t)
{
	return (unsigned)t < GEN_TYPE__COUNT ? type_sitewise[t] : "?";
}

const char *
gen_type_spec(enum gen_type t)
{
	return t == GEN_TYPE_JSON ? "AWS/ALARM_STATE" : NULL;
}

void
gen_bucket(const char *series_id, char out[3])
{
	char hex[65];

	sha256_hex(series_id, strlen(series_id), hex);
	out[0] = hex[0];
	out[1] = hex[1];
	out[2] = '\0';
}

/* Asset models, and the property of each type in each of an asset's four
 * slots (names differ per slot, so they are unique within an asset). */
static const struct {
	const char *name;
	const char *slug;
} models[] = {
	{ "Wind Turbine", "wind-turbine" },
	{ "Boiler", "boiler" },
	{ "Pump", "pump" },
	{ "Compressor", "compressor" },
};
#define NMODELS (sizeof(models) / sizeof(models[0]))

static const struct {
	const char *name;
	const char *slug;
	const char *unit;  /* NULL: no unit */
} props[GEN_TYPE__COUNT][GEN_SERIES_PER_ASSET] = {
	[GEN_TYPE_DOUBLE] = {
		{ "Temperature", "temperature", "Celsius" },
		{ "Pressure", "pressure", "kPa" },
		{ "Wind Speed", "wind-speed", "m/s" },
		{ "Power", "power", "kW" } },
	[GEN_TYPE_INTEGER] = {
		{ "Rotations", "rotations", "rpm" },
		{ "Cycle Count", "cycle-count", "count" },
		{ "Latency", "latency", "ms" },
		{ "Error Count", "error-count", NULL } },
	[GEN_TYPE_STRING] = {
		{ "Operating State", "operating-state", NULL },
		{ "Firmware Version", "firmware-version", NULL },
		{ "Operator Note", "operator-note", NULL },
		{ "Location", "location", NULL } },
	[GEN_TYPE_BOOLEAN] = {
		{ "Running", "running", NULL },
		{ "Door Open", "door-open", NULL },
		{ "Overheated", "overheated", NULL },
		{ "Maintenance Due", "maintenance-due", NULL } },
	[GEN_TYPE_JSON] = {
		{ "Temperature Alarm", "temperature-alarm", NULL },
		{ "Pressure Alarm", "pressure-alarm", NULL },
		{ "Vibration Alarm", "vibration-alarm", NULL },
		{ "Power Alarm", "power-alarm", NULL } },
};

/* 2020-01-01T00:00:00Z: generated assets and streams date from 2020-21. */
#define EPOCH_2020 1577836800

static int
asset_model(uint64_t seed, int asset)
{
	return (int)(derive(seed, T_MODEL, (uint64_t)asset, 0, 0, 0) % NMODELS);
}

void
gen_series_get(const struct gen_params *p, int i, struct gen_series *s)
{
	uint64_t seed = p->seed;
	uint64_t misc = derive(seed, T_SERIES_MISC, (uint64_t)i, 0, 0, 0);
	int asset = i / GEN_SERIES_PER_ASSET, slot = i % GEN_SERIES_PER_ASSET;
	char uuid[37];

	memset(s, 0, sizeof(*s));
	s->index = i;
	s->associated = !under(weyl(seed, 1, FRAC_PHI, i),
	    p->disassociated_share);
	s->legacy_id = s->associated &&
	    under(weyl(seed, 2, FRAC_SQRT2, i), p->legacy_id_share);
	s->versioned = !under(weyl(seed, 3, FRAC_SQRT3, i),
	    p->unversioned_share);
	/* consecutive series cycle through the five types */
	s->type = (enum gen_type)(((uint64_t)i +
	    derive(seed, T_WEYL, 4, 0, 0, 0) % GEN_TYPE__COUNT) %
	    GEN_TYPE__COUNT);
	make_uuid(seed, T_SERIES_ID, (uint64_t)i, uuid);
	if (s->associated) {
		make_uuid(seed, T_ASSET_ID, (uint64_t)asset, s->asset_id);
		make_uuid(seed, T_PROPERTY_ID, (uint64_t)i, s->property_id);
		if (s->legacy_id)
			snprintf(s->id, sizeof(s->id), "%s_%s", s->asset_id,
			    s->property_id);
		else
			snprintf(s->id, sizeof(s->id), "%s", uuid);
		snprintf(s->alias, sizeof(s->alias), "/swrepart/site-%d/%s-%d/%s",
		    asset / 16 + 1, models[asset_model(seed, asset)].slug,
		    asset + 1, props[s->type][slot].slug);
	} else {
		snprintf(s->id, sizeof(s->id), "%s", uuid);
		snprintf(s->alias, sizeof(s->alias),
		    "/swrepart/site-%d/stream-%d/%s", asset / 16 + 1, i + 1,
		    props[s->type][slot].slug);
	}
	gen_bucket(s->id, s->bucket);
	s->created = EPOCH_2020 + (int64_t)(misc % (2 * 365 * DAY_SECONDS));
	s->updated = s->created + (int64_t)((misc >> 32) % (180 * DAY_SECONDS));
}

sw_err
gen_series_list(const struct gen_params *p, gen_series_fn fn, void *arg)
{
	struct gen_series s;
	sw_err rc;
	int i;

	if ((rc = gen_params_check(p)) != SW_OK)
		return rc;
	for (i = 0; i < p->series; i++) {
		gen_series_get(p, i, &s);
		if ((rc = fn(arg, &s)) != SW_OK)
			return rc;
	}
	return SW_OK;
}

/* ---- writer schemas ----------------------------------------------------- */

enum field {
	F_SERIES, F_TIME, F_OFFSET, F_QUALITY, F_DOUBLE, F_STRING, F_INTEGER,
	F_BOOLEAN, F_JSON, F_VERSION, F__COUNT
};

static const struct {
	const char *name;
	const char *type;  /* JSON; unions get "default":null */
	int nullable;
} fields[F__COUNT] = {
	[F_SERIES] = { "seriesId", "\"string\"", 0 },
	[F_TIME] = { "timeInSeconds", "\"long\"", 0 },
	[F_OFFSET] = { "offsetInNanos", "\"long\"", 0 },
	[F_QUALITY] = { "quality", "\"string\"", 0 },
	[F_DOUBLE] = { "doubleValue", "[\"null\",\"double\"]", 1 },
	[F_STRING] = { "stringValue", "[\"null\",\"string\"]", 1 },
	[F_INTEGER] = { "integerValue", "[\"null\",\"int\"]", 1 },
	[F_BOOLEAN] = { "booleanValue", "[\"null\",\"boolean\"]", 1 },
	[F_JSON] = { "jsonValue", "[\"null\",\"string\"]", 1 },
	[F_VERSION] = { "recordVersion", "[\"null\",\"long\"]", 1 },
};

/*
 * Writer schema variants: 0 is ocf_rawdatum_schema itself; 1 has the same
 * fields in another order; 2 the canonical order in another namespace.
 * A reader must resolve all three to the same records.
 */
#define NVARIANTS 3
static const enum field variant_order[NVARIANTS][F__COUNT] = {
	{ F_SERIES, F_TIME, F_OFFSET, F_QUALITY, F_DOUBLE, F_STRING,
	  F_INTEGER, F_BOOLEAN, F_JSON, F_VERSION },
	{ F_QUALITY, F_TIME, F_OFFSET, F_SERIES, F_VERSION, F_JSON,
	  F_BOOLEAN, F_INTEGER, F_STRING, F_DOUBLE },
	{ F_SERIES, F_TIME, F_OFFSET, F_QUALITY, F_DOUBLE, F_STRING,
	  F_INTEGER, F_BOOLEAN, F_JSON, F_VERSION },
};
static const char *const variant_ns[NVARIANTS] = {
	"amazon.aws.iot.sitewise.raw",
	"amazon.aws.iot.sitewise.raw",
	"com.amazonaws.iotsitewise.export",
};

static void
build_schema(int v, struct buf *b)
{
	int i;

	if (v == 0) {
		buf_puts(b, ocf_rawdatum_schema);
		return;
	}
	buf_printf(b, "{\"type\":\"record\",\"name\":\"RawDatum\","
	    "\"namespace\":\"%s\",\"fields\":[", variant_ns[v]);
	for (i = 0; i < F__COUNT; i++) {
		enum field f = variant_order[v][i];

		buf_printf(b, "%s{\"name\":\"%s\",\"type\":%s%s}",
		    i ? "," : "", fields[f].name, fields[f].type,
		    fields[f].nullable ? ",\"default\":null" : "");
	}
	buf_puts(b, "]}");
}

/* ---- records ------------------------------------------------------------ */

struct record {
	const struct buf *sid;   /* seriesId, already Avro-encoded */
	const struct buf *qual;  /* quality, already Avro-encoded */
	int64_t t, ns;
	enum gen_type type;
	double dv;
	int32_t iv;
	int bv;
	const char *sv;          /* stringValue or jsonValue */
	size_t svn;
	int64_t version;         /* 0: null */
};

/* The union branch of an optional field; its value follows when set. */
static int
put_optional(struct buf *b, int present)
{
	enc_put_union_index(b, present ? ENC_UNION_VALUE : ENC_UNION_NULL);
	return present;
}

static sw_err
put_field(struct buf *b, enum field f, const struct record *r)
{
	switch (f) {
	case F_SERIES:
		buf_append(b, r->sid->data, r->sid->len);
		return SW_OK;
	case F_TIME:
		enc_put_long(b, r->t);
		return SW_OK;
	case F_OFFSET:
		enc_put_long(b, r->ns);
		return SW_OK;
	case F_QUALITY:
		buf_append(b, r->qual->data, r->qual->len);
		return SW_OK;
	case F_DOUBLE:
		if (put_optional(b, r->type == GEN_TYPE_DOUBLE))
			enc_put_double(b, r->dv);
		return SW_OK;
	case F_STRING:
	case F_JSON:
		if (!put_optional(b, r->type == (f == F_STRING ?
		    GEN_TYPE_STRING : GEN_TYPE_JSON)))
			return SW_OK;
		return enc_put_string(b, r->sv, r->svn);
	case F_INTEGER:
		if (put_optional(b, r->type == GEN_TYPE_INTEGER))
			enc_put_int(b, r->iv);
		return SW_OK;
	case F_BOOLEAN:
		if (put_optional(b, r->type == GEN_TYPE_BOOLEAN))
			enc_put_boolean(b, r->bv);
		return SW_OK;
	case F_VERSION:
		if (put_optional(b, r->version > 0))
			enc_put_long(b, r->version);
		return SW_OK;
	case F__COUNT:
		break;
	}
	return sw_seterr(SW_ERR_INTERNAL, "bad field %d", (int)f);
}

/* "außer Betrieb" puts non-ASCII text into STRING series. */
static const char *const states[] = {
	"RUNNING", "IDLE", "STOPPED", "MAINTENANCE", "au\303\237er Betrieb"
};
static const char *const alarm_states[] = {
	"NORMAL", "ACTIVE", "ACKNOWLEDGED", "LATCHED", "SNOOZE_DISABLED"
};

/* ---- the run ------------------------------------------------------------ */

struct gen {
	const struct gen_params *p;
	gen_emit_fn emit;
	void *arg;
	struct gen_stats *st;
	struct gen_series *series;
	struct buf schema[NVARIANTS];
	struct buf obj;      /* the object being built */
	struct buf datum;    /* one encoded record */
	struct buf sid;      /* encoded seriesId of the current file */
	struct buf qual;     /* encoded quality of the current file */
	struct buf key;
	char meta_parent[256];
	struct agg *agg;     /* the aggregates of the current file, or NULL */
};

static sw_err
emit_object(struct gen *g, const char *key, const void *data, size_t n)
{
	sw_err rc;

	if ((rc = g->emit(g->arg, key, data, n)) != SW_OK)
		return rc;
	g->st->objects++;
	g->st->bytes += n;
	return SW_OK;
}

/* Fill r's value for the k-th record; *walk is the file's random walk. */
static void
make_value(struct record *r, struct rng *rng, double *walk, char *tmp,
    size_t tmplen)
{
	uint64_t u = rng_next(rng);
	int n;

	switch (r->type) {
	case GEN_TYPE_DOUBLE:
		*walk += (unit(u) - 0.5) * 2.0;
		r->dv = *walk;
		break;
	case GEN_TYPE_INTEGER:
		/* mostly small counts, now and then negative or large */
		r->iv = (u & 0xf) == 0 ?
		    (int32_t)((int64_t)(u >> 32) - INT64_C(2147483648)) :
		    (int32_t)((u >> 8) % 5000);
		break;
	case GEN_TYPE_STRING:
		r->sv = states[(u >> 8) % (sizeof(states) / sizeof(states[0]))];
		r->svn = strlen(r->sv);
		break;
	case GEN_TYPE_BOOLEAN:
		r->bv = (int)((u >> 17) & 1);
		break;
	case GEN_TYPE_JSON:
		/* an AWS/ALARM_STATE-like value; fixed-point, so no locale */
		n = snprintf(tmp, tmplen, "{\"stateName\":\"%s\","
		    "\"ruleEvaluation\":{\"simpleRule\":{\"inputProperty\":"
		    "%d.%d,\"operator\":\"GREATER\",\"threshold\":30}}}",
		    alarm_states[(u >> 8) % (sizeof(alarm_states) /
		    sizeof(alarm_states[0]))], (int)((u >> 16) % 60),
		    (int)((u >> 40) % 10));
		r->sv = tmp;
		r->svn = (size_t)n < tmplen ? (size_t)n : tmplen - 1;
		break;
	case GEN_TYPE__COUNT:
		break;
	}
}

/*
 * Choices about a file (codec, schema variant) from their own hash, and the
 * contents' generator, which first draws the file's sync marker.
 */
static void
gen_file_choose(struct gen *g, const struct gen_series *s, int64_t day,
    int w, enum gen_quality q, struct rng *rng, const char **codec,
    int *variant, unsigned char sync[OCF_SYNC_SIZE])
{
	const struct gen_params *p = g->p;
	struct rng opts;
	uint64_t a, b;
	double u;
	int i;

	*codec = "snappy";
	*variant = 0;
	rng_seed(&opts, derive(p->seed, T_FILE_OPTS, (uint64_t)s->index,
	    (uint64_t)day, (uint64_t)w, (uint64_t)q));
	rng_seed(rng, derive(p->seed, T_FILE, (uint64_t)s->index,
	    (uint64_t)day, (uint64_t)w, (uint64_t)q));
	u = unit(rng_next(&opts));
	if (u < p->deflate_share)
		*codec = "deflate";
	else if (u < p->deflate_share + p->null_share)
		*codec = "null";
	if (under(rng_next(&opts), p->variant_schema_share))
		*variant = 1 + (int)(rng_next(&opts) % (NVARIANTS - 1));
	a = rng_next(rng);
	b = rng_next(rng);
	for (i = 0; i < 8; i++) {
		sync[i] = (unsigned char)(a >> (8 * i));
		sync[8 + i] = (unsigned char)(b >> (8 * i));
	}
}

/* ---- aggregates --------------------------------------------------------- */

/* One interval's aggregates. */
struct agg_acc {
	int64_t start;       /* seconds */
	uint64_t n;
	double sum, min, max;
	int64_t version;     /* largest recordVersion, 0: none */
};

#define AGG_HOURS (GEN_WINDOW_SECONDS / 3600)

/* The aggregate file being written beside a raw file. */
struct agg {
	struct ocf_writer *w;
	struct buf obj;      /* the file */
	struct buf datum;
	struct buf key;
	int numeric;         /* DOUBLE or INTEGER: more than counts */
	struct agg_acc minute;
	struct agg_acc hour[AGG_HOURS];
	uint64_t records;
	char prefix[512];
};

static void
agg_acc_add(struct agg_acc *a, double v, int64_t version)
{
	if (a->n == 0 || v < a->min)
		a->min = v;
	if (a->n == 0 || v > a->max)
		a->max = v;
	a->sum += v;
	a->n++;
	if (version > a->version)
		a->version = version;
}

/* Write one interval's record (nothing for an empty one). */
static sw_err
agg_put(struct gen *g, const struct agg_acc *a, const char *resolution)
{
	struct agg *ag = g->agg;
	struct buf *b = &ag->datum;
	sw_err rc;

	if (a->n == 0)
		return SW_OK;
	b->len = 0;
	buf_append(b, g->sid.data, g->sid.len);
	enc_put_long(b, a->start);
	enc_put_long(b, 0);
	buf_append(b, g->qual.data, g->qual.len);
	if ((rc = enc_put_string(b, resolution, strlen(resolution))) != SW_OK)
		return rc;
	put_optional(b, 1);
	enc_put_double(b, (double)a->n);
	if (put_optional(b, ag->numeric))
		enc_put_double(b, a->sum / (double)a->n);
	if (put_optional(b, ag->numeric))
		enc_put_double(b, a->min);
	if (put_optional(b, ag->numeric))
		enc_put_double(b, a->max);
	if (put_optional(b, ag->numeric))
		enc_put_double(b, a->sum);
	if (put_optional(b, a->version > 0))
		enc_put_long(b, a->version);
	ag->records++;
	return ocf_writer_append(ag->w, b->data, b->len);
}

/* Start the aggregate file of (series, day, window, quality). */
static sw_err
agg_begin(struct gen *g, const struct gen_series *s, int64_t day, int w,
    enum gen_quality q)
{
	struct agg *ag = g->agg;
	unsigned char sync[OCF_SYNC_SIZE];
	uint64_t a = derive(g->p->seed, T_AGG_SYNC, (uint64_t)s->index,
	    (uint64_t)day, (uint64_t)w, (uint64_t)q);
	uint64_t b = mix64(a);
	int i;

	for (i = 0; i < 8; i++) {
		sync[i] = (unsigned char)(a >> (8 * i));
		sync[8 + i] = (unsigned char)(b >> (8 * i));
	}
	ag->obj.len = 0;
	ag->records = 0;
	ag->numeric = s->type == GEN_TYPE_DOUBLE || s->type == GEN_TYPE_INTEGER;
	memset(&ag->minute, 0, sizeof(ag->minute));
	memset(ag->hour, 0, sizeof(ag->hour));
	ocf_writer_free(ag->w);
	ag->w = NULL;
	return ocf_writer_new(ocf_aggdatum_schema, "snappy", sync,
	    g->p->block_size, buf_sink, &ag->obj, &ag->w);
}

/* Count record r (of the window starting at start) in its minute and its
 * hour; a minute is written when the next one begins. */
static sw_err
agg_add(struct gen *g, const struct record *r, int64_t start)
{
	struct agg *ag = g->agg;
	int64_t minute = start + (r->t - start) / 60 * 60;
	int64_t h = (r->t - start) / 3600;
	double v = r->type == GEN_TYPE_DOUBLE ? r->dv :
	    r->type == GEN_TYPE_INTEGER ? (double)r->iv : 0;
	sw_err rc;

	if (ag->minute.n > 0 && ag->minute.start != minute) {
		if ((rc = agg_put(g, &ag->minute, "PT1M")) != SW_OK)
			return rc;
		memset(&ag->minute, 0, sizeof(ag->minute));
	}
	ag->minute.start = minute;
	agg_acc_add(&ag->minute, v, r->version);
	if (h < 0 || h >= AGG_HOURS)
		return sw_seterr(SW_ERR_INTERNAL, "record outside its window");
	ag->hour[h].start = start + h * 3600;
	agg_acc_add(&ag->hour[h], v, r->version);
	return SW_OK;
}

/* The last minute, the hours, and the file under its agg_ key. */
static sw_err
agg_end(struct gen *g, const struct gen_series *s, int64_t day,
    int64_t start, enum gen_quality q)
{
	struct agg *ag = g->agg;
	int64_t y;
	int m, d, h;
	sw_err rc;

	rc = agg_put(g, &ag->minute, "PT1M");
	for (h = 0; h < AGG_HOURS && rc == SW_OK; h++)
		rc = agg_put(g, &ag->hour[h], "PT1H");
	if (!rc) rc = ocf_writer_finish(ag->w);
	if (rc != SW_OK)
		return rc;
	civil_from_days(day, &y, &m, &d);
	ag->key.len = 0;
	buf_printf(&ag->key, "%sstartYear=%d/startMonth=%d/startDay=%d/"
	    "seriesBucket=%s/agg_%s_%" PRId64 "_%s.avro", ag->prefix, (int)y,
	    m, d, s->bucket, s->id, start, quality_names[q]);
	if ((rc = emit_object(g, ag->key.data, ag->obj.data, ag->obj.len)) !=
	    SW_OK)
		return rc;
	g->st->agg_objects++;
	g->st->agg_records += ag->records;
	return SW_OK;
}

static void
agg_free(struct agg *ag)
{
	if (ag == NULL)
		return;
	ocf_writer_free(ag->w);
	buf_release(&ag->obj);
	buf_release(&ag->datum);
	buf_release(&ag->key);
	free(ag);
}

/*
 * Times strictly inside the window: record k sits at a random point
 * of the k-th of n equal slots of [start + 1 s, start + 21600 s), so
 * (timeInSeconds, offsetInNanos) increases and no record falls on a
 * window boundary, whichever end of it counts as exclusive.
 */
static sw_err
gen_file_records(struct gen *g, const struct gen_series *s,
    struct ocf_writer *ow, struct rng *rng, int64_t start, int n, int variant)
{
	struct record r;
	char tmp[256];
	double walk;
	uint64_t slot, pos;
	int k, i;
	sw_err rc = SW_OK;

	memset(&r, 0, sizeof(r));
	r.sid = &g->sid;
	r.qual = &g->qual;
	r.type = s->type;
	slot = (uint64_t)(GEN_WINDOW_SECONDS - 1) * 1000000000ULL / (uint64_t)n;
	walk = 10 + 90 * unit(derive(g->p->seed, T_SERIES_MISC,
	    (uint64_t)s->index, 1, 0, 0));
	for (k = 0; k < n; k++) {
		pos = 1000000000ULL + (uint64_t)k * slot + rng_below(rng, slot);
		r.t = start + (int64_t)(pos / 1000000000ULL);
		r.ns = (int64_t)(pos % 1000000000ULL);
		r.version = s->versioned ? r.t * 1000 + r.ns / 1000000 : 0;
		make_value(&r, rng, &walk, tmp, sizeof(tmp));
		g->datum.len = 0;
		for (i = 0; i < F__COUNT && rc == SW_OK; i++)
			rc = put_field(&g->datum, variant_order[variant][i], &r);
		if (!rc) rc = ocf_writer_append(ow, g->datum.data,
		    g->datum.len);
		if (!rc && g->agg != NULL)
			rc = agg_add(g, &r, start);
		if (rc != SW_OK)
			return rc;
	}
	return SW_OK;
}

/* Writes the finished file under its raw key and counts it. */
static sw_err
gen_file_emit(struct gen *g, const struct gen_series *s, int64_t day,
    int64_t start, enum gen_quality q, int n)
{
	const struct gen_params *p = g->p;
	int64_t y;
	int m, d;
	sw_err rc;

	civil_from_days(day, &y, &m, &d);
	g->key.len = 0;
	buf_printf(&g->key, "%sstartYear=%d/startMonth=%d/startDay=%d/"
	    "seriesBucket=%s/raw_%s_%" PRId64 "_%s.avro", p->prefix, (int)y, m,
	    d, s->bucket, s->id, start, quality_names[q]);
	if ((rc = emit_object(g, g->key.data, g->obj.data, g->obj.len)) !=
	    SW_OK)
		return rc;
	g->st->data_objects++;
	g->st->records += (uint64_t)n;
	return SW_OK;
}

static sw_err
gen_file(struct gen *g, const struct gen_series *s, int64_t day, int w,
    enum gen_quality q)
{
	const struct gen_params *p = g->p;
	struct rng rng;
	struct ocf_writer *ow = NULL;
	unsigned char sync[OCF_SYNC_SIZE];
	const char *codec;
	int64_t start = day * DAY_SECONDS + (int64_t)w * GEN_WINDOW_SECONDS;
	int variant, n;
	sw_err rc;

	/* choices about the file, then its contents, each from its own hash */
	gen_file_choose(g, s, day, w, q, &rng, &codec, &variant, sync);
	n = q == GEN_GOOD ? p->records_per_file :
	    (p->records_per_file / 8 > 0 ? p->records_per_file / 8 : 1);
	g->obj.len = 0;
	g->sid.len = 0;
	g->qual.len = 0;
	rc = enc_put_string(&g->sid, s->id, strlen(s->id));
	if (!rc) rc = enc_put_string(&g->qual, quality_names[q],
	    strlen(quality_names[q]));
	if (!rc) rc = ocf_writer_new(g->schema[variant].data, codec, sync,
	    p->block_size, buf_sink, &g->obj, &ow);
	if (!rc && g->agg != NULL)
		rc = agg_begin(g, s, day, w, q);
	if (!rc) rc = gen_file_records(g, s, ow, &rng, start, n, variant);
	if (!rc) rc = ocf_writer_finish(ow);
	if (!rc) rc = gen_file_emit(g, s, day, start, q, n);
	if (!rc && g->agg != NULL)
		rc = agg_end(g, s, day, start, q);
	ocf_writer_free(ow);
	return rc;
}

/* A JSON string (the generator's strings need no escapes beyond these). */
static void
json_str(struct buf *b, const char *s)
{
	buf_putc(b, '"');
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			buf_printf(b, "\\%c", c);
		else if (c < 0x20)
			buf_printf(b, "\\u%04x", c);
		else
			buf_putc(b, (char)c);
	}
	buf_putc(b, '"');
}

static void
json_field(struct buf *b, const char *name, const char *value, int first)
{
	buf_printf(b, "%s\"%s\":", first ? "{" : ",", name);
	if (value != NULL)
		json_str(b, value);
	else
		buf_puts(b, "null");
}

/* One asset_metadata line for an associated series. */
static void
metadata_line(struct gen *g, struct buf *b, const struct gen_series *s)
{
	uint64_t seed = g->p->seed;
	int asset = s->index / GEN_SERIES_PER_ASSET;
	int slot = s->index % GEN_SERIES_PER_ASSET;
	int model = asset_model(seed, asset);
	uint64_t dates = derive(seed, T_ASSET_DATES, (uint64_t)asset, 0, 0, 0);
	int64_t created = EPOCH_2020 + (int64_t)(dates % (365 * DAY_SECONDS));
	int64_t updated = created + (int64_t)((dates >> 32) %
	    (365 * DAY_SECONDS));
	char model_id[37], name[64], arn[128];

	make_uuid(seed, T_MODEL_ID, (uint64_t)model, model_id);
	snprintf(name, sizeof(name), "%s %d", models[model].name, asset + 1);
	snprintf(arn, sizeof(arn), "arn:aws:iotsitewise:%s:%s:asset/%s",
	    GEN_REGION, GEN_ACCOUNT, s->asset_id);
	json_field(b, "assetId", s->asset_id, 1);
	json_field(b, "assetName", name, 0);
	json_field(b, "assetModelId", model_id, 0);
	json_field(b, "assetModelName", models[model].name, 0);
	json_field(b, "assetPropertyId", s->property_id, 0);
	json_field(b, "assetPropertyName", props[s->type][slot].name, 0);
	json_field(b, "assetPropertyDataType", gen_type_sitewise(s->type), 0);
	json_field(b, "assetPropertyUnit", props[s->type][slot].unit, 0);
	json_field(b, "assetPropertyAlias", s->alias, 0);
	json_field(b, "timeSeriesId", s->id, 0);
	json_field(b, "timeSeriesBucket", s->bucket, 0);
	json_field(b, "assetArn", arn, 0);
	json_field(b, "assetCompositeModelDescription", NULL, 0);
	json_field(b, "assetCompositeModelName", NULL, 0);
	json_field(b, "assetCompositeModelType", NULL, 0);
	buf_printf(b, ",\"assetCreationDate\":%" PRId64
	    ",\"assetLastUpdateDate\":%" PRId64, created, updated);
	json_field(b, "assetStatusErrorCode", NULL, 0);
	json_field(b, "assetStatusErrorMessage", NULL, 0);
	json_field(b, "assetStatusState", "ACTIVE", 0);
	buf_puts(b, "}\n");
}

static sw_err
gen_metadata(struct gen *g)
{
	const struct gen_series *s;
	const char *asset_id;
	int asset, i;
	sw_err rc = SW_OK;

	for (asset = 0; asset * GEN_SERIES_PER_ASSET < g->p->series; asset++) {
		g->obj.len = 0;
		asset_id = NULL;
		for (i = asset * GEN_SERIES_PER_ASSET;
		    i < (asset + 1) * GEN_SERIES_PER_ASSET && i < g->p->series;
		    i++) {
			s = &g->series[i];
			if (!s->associated)
				continue;
			metadata_line(g, &g->obj, s);
			asset_id = s->asset_id;
		}
		if (asset_id == NULL)  /* no associated series: no asset */
			continue;
		g->key.len = 0;
		buf_printf(&g->key, "%sasset_metadata/asset_%s.ndjson",
		    g->meta_parent, asset_id);
		if ((rc = emit_object(g, g->key.data, g->obj.data,
		    g->obj.len)) != SW_OK)
			return rc;
		g->st->metadata_objects++;
	}
	return SW_OK;
}

sw_err
gen_run(const struct gen_params *p, gen_emit_fn emit, void *arg,
    struct gen_stats *stats)
{
	struct gen g;
	struct gen_stats dummy;
	int64_t day0, day;
	/* GOOD files always exist; BAD and UNCERTAIN ones come on top */
	const double share[GEN_QUALITY__COUNT] = {
		[GEN_GOOD] = 1,
		[GEN_BAD] = p->bad_share,
		[GEN_UNCERTAIN] = p->uncertain_share,
	};
	int last, i, v, w, dd, q;
	size_t n;
	sw_err rc;

	if (stats == NULL)
		stats = &dummy;
	memset(stats, 0, sizeof(*stats));
	if ((rc = gen_params_check(p)) != SW_OK)
		return rc;
	parse_date(p->start_date, &day0);
	last = p->last_window < 0 ? p->windows_per_day - 1 : p->last_window;

	memset(&g, 0, sizeof(g));
	g.p = p;
	g.emit = emit;
	g.arg = arg;
	g.st = stats;
	stats->days = (uint64_t)p->days;
	stats->series = (uint64_t)p->series;

	/* asset_metadata/ sits beside the data prefix's last segment */
	n = strlen(p->prefix);
	if (n > 0) {
		n--;
		while (n > 0 && p->prefix[n - 1] != '/')
			n--;
	}
	memcpy(g.meta_parent, p->prefix, n);
	g.meta_parent[n] = '\0';
	if (p->aggregates) {
		g.agg = xcalloc(1, sizeof(*g.agg));
		snprintf(g.agg->prefix, sizeof(g.agg->prefix), "%s",
		    p->agg_prefix != NULL ? p->agg_prefix : g.meta_parent);
		if (p->agg_prefix == NULL)
			snprintf(g.agg->prefix + strlen(g.agg->prefix),
			    sizeof(g.agg->prefix) - strlen(g.agg->prefix),
			    "agg/");
	}

	g.series = xcalloc((size_t)p->series, sizeof(*g.series));
	for (i = 0; i < p->series; i++)
		gen_series_get(p, i, &g.series[i]);
	for (v = 0; v < NVARIANTS; v++)
		build_schema(v, &g.schema[v]);

	if (p->asset_metadata && (rc = gen_metadata(&g)) != SW_OK)
		goto out;
	for (dd = 0; dd < p->days; dd++) {
		day = day0 + dd;
		for (w = p->first_window; w <= last; w++) {
			for (i = 0; i < p->series; i++) {
				for (q = 0; q < GEN_QUALITY__COUNT; q++) {
					if (!under(derive(
					    p->seed, T_PRESENCE, (uint64_t)i,
					    (uint64_t)day, (uint64_t)w,
					    (uint64_t)q), share[q]))
						continue;
					if ((rc = gen_file(&g, &g.series[i], day,
					    w, (enum gen_quality)q)) != SW_OK)
						goto out;
				}
			}
		}
	}
out:
	for (v = 0; v < NVARIANTS; v++)
		buf_release(&g.schema[v]);
	buf_release(&g.obj);
	buf_release(&g.datum);
	buf_release(&g.sid);
	buf_release(&g.qual);
	buf_release(&g.key);
	agg_free(g.agg);
	free(g.series);
	return rc;
}
