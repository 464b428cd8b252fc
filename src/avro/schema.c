/*
 * schema.c - writer schemas: our strict check of the JSON, then avro-c's
 * parse (avro_schema_from_json_length) and comparison
 * (avro_schema_equal), the tree our walk and the merge use, built from
 * avro-c's parse, and a small cache of parsed schemas.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <avro.h>
#include <jansson.h>

#include "avro/ocf.h"
#include "avro/ocf_impl.h"

/*
 * The raw file schema, field for field as COLD_TIER.md gives it.  Kept in
 * one line of JSON without spaces so it is also a stable string to compare.
 */
const char ocf_rawdatum_schema[] =
	"{\"type\":\"record\",\"name\":\"RawDatum\","
	"\"namespace\":\"amazon.aws.iot.sitewise.raw\",\"fields\":["
	"{\"name\":\"seriesId\",\"type\":\"string\"},"
	"{\"name\":\"timeInSeconds\",\"type\":\"long\"},"
	"{\"name\":\"offsetInNanos\",\"type\":\"long\"},"
	"{\"name\":\"quality\",\"type\":\"string\"},"
	"{\"name\":\"doubleValue\",\"type\":[\"null\",\"double\"],\"default\":null},"
	"{\"name\":\"stringValue\",\"type\":[\"null\",\"string\"],\"default\":null},"
	"{\"name\":\"integerValue\",\"type\":[\"null\",\"int\"],\"default\":null},"
	"{\"name\":\"booleanValue\",\"type\":[\"null\",\"boolean\"],\"default\":null},"
	"{\"name\":\"jsonValue\",\"type\":[\"null\",\"string\"],\"default\":null},"
	"{\"name\":\"recordVersion\",\"type\":[\"null\",\"long\"],\"default\":null}"
	"]}";

/*
 * The aggregate file schema (agg/).  COLD_TIER.md gives its fields and
 * types but not the record's name: no public source shows one.  The name
 * follows RawDatum's pattern (AggDatum in amazon.aws.iot.sitewise.agg);
 * inputs are matched by the unqualified name, so only "AggDatum" counts
 * (README.md, "Aggregates", says so).
 */
const char ocf_aggdatum_schema[] =
	"{\"type\":\"record\",\"name\":\"AggDatum\","
	"\"namespace\":\"amazon.aws.iot.sitewise.agg\",\"fields\":["
	"{\"name\":\"seriesId\",\"type\":\"string\"},"
	"{\"name\":\"timeInSeconds\",\"type\":\"long\"},"
	"{\"name\":\"offsetInNanos\",\"type\":\"long\"},"
	"{\"name\":\"quality\",\"type\":\"string\"},"
	"{\"name\":\"resolution\",\"type\":\"string\"},"
	"{\"name\":\"count\",\"type\":[\"null\",\"double\"],\"default\":null},"
	"{\"name\":\"average\",\"type\":[\"null\",\"double\"],\"default\":null},"
	"{\"name\":\"min\",\"type\":[\"null\",\"double\"],\"default\":null},"
	"{\"name\":\"max\",\"type\":[\"null\",\"double\"],\"default\":null},"
	"{\"name\":\"sum\",\"type\":[\"null\",\"double\"],\"default\":null},"
	"{\"name\":\"recordVersion\",\"type\":[\"null\",\"long\"],\"default\":null}"
	"]}";



/*
 * A writer schema comes from the file, so from anyone who can write to the
 * cold tier, and avro-c's parser is not hardened against hostile input (a
 * type defined twice leaks memory in 1.11.1, its parser recurses as deep
 * as the JSON nests, and it takes a record with two fields of one name or
 * a union of two ints).  So the JSON is first checked here, strictly and
 * within bounds (schema_check()): size, nesting, names, duplicates, union
 * rules, references to known types.  Only then does avro-c parse it, and
 * the tree our walk and the merge's plan use is built from avro-c's parse
 * (node_of()), so that both read a schema the same way.
 */

static const char *const type_names[] = {
	[OCF_NULL] = "null", [OCF_BOOLEAN] = "boolean", [OCF_INT] = "int",
	[OCF_LONG] = "long", [OCF_FLOAT] = "float", [OCF_DOUBLE] = "double",
	[OCF_BYTES] = "bytes", [OCF_STRING] = "string",
	[OCF_RECORD] = "record", [OCF_ENUM] = "enum", [OCF_ARRAY] = "array",
	[OCF_MAP] = "map", [OCF_UNION] = "union", [OCF_FIXED] = "fixed",
};

const char *
ocf_type_name(enum ocf_type t)
{
	if ((unsigned)t >= sizeof(type_names) / sizeof(type_names[0]))
		return "?";
	return type_names[t];
}

const char *
ocf_short_name(const char *full_name)
{
	const char *dot = strrchr(full_name, '.');

	return dot ? dot + 1 : full_name;
}

static int
primitive_type(const char *name, enum ocf_type *t)
{
	int i;

	for (i = OCF_NULL; i <= OCF_STRING; i++) {
		if (strcmp(name, type_names[i]) == 0) {
			*t = (enum ocf_type)i;
			return 1;
		}
	}
	return 0;
}

/* [A-Za-z_][A-Za-z0-9_]*, n bytes */
static int
valid_name(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    c == '_' || (i > 0 && c >= '0' && c <= '9')))
			return 0;
	}
	return 1;
}

/* Names joined by dots. */
static int
valid_full_name(const char *s)
{
	const char *dot;

	for (;;) {
		dot = strchr(s, '.');
		if (dot == NULL)
			return valid_name(s, strlen(s));
		if (!valid_name(s, (size_t)(dot - s)))
			return 0;
		s = dot + 1;
	}
}

/* ---- the check in front of avro-c ---- */

/* What the check knows of a type: enough to refuse a union with two
 * branches of one type. */
struct shape {
	enum ocf_type type;
	const char *name;            /* full name of a named type */
};

struct check {
	struct {
		char *name;          /* full name */
		enum ocf_type type;
		char *space;         /* the namespace its nested types inherit */
	} *names;
	size_t nnames, capnames;
};

static void
check_release(struct check *c)
{
	size_t i;

	for (i = 0; i < c->nnames; i++) {
		free(c->names[i].name);
		free(c->names[i].space);
	}
	free(c->names);
}

static const struct shape *
find_named(const struct check *c, const char *full, struct shape *out)
{
	size_t i;

	for (i = 0; i < c->nnames; i++) {
		if (strcmp(c->names[i].name, full) == 0) {
			out->type = c->names[i].type;
			out->name = c->names[i].name;
			return out;
		}
	}
	return NULL;
}

/* A reference to a named type from namespace ns: the spec qualifies a
 * name without a dot with the enclosing namespace; like Java's parser,
 * fall back to the name alone (the null namespace). */
static const struct shape *
lookup_named(const struct check *c, const char *name, const char *ns,
    struct shape *out)
{
	const struct shape *t = NULL;
	struct buf b = { 0 };

	if (strchr(name, '.') == NULL && ns != NULL && *ns != '\0') {
		buf_printf(&b, "%s.%s", ns, name);
		t = find_named(c, b.data, out);
		buf_release(&b);
	}
	return t ? t : find_named(c, name, out);
}

static sw_err check_type(struct check *c, json_t *j, const char *ns,
    int depth, struct shape *out);

/* Register the named type of object j; *inner_ns gets the namespace its
 * own nested types inherit (owned by the check). */
static sw_err
check_named(struct check *c, json_t *j, const char *ns, enum ocf_type t,
    struct shape *out, const char **inner_ns)
{
	json_t *jn = json_object_get(j, "name");
	json_t *jns = json_object_get(j, "namespace");
	const char *name, *space = ns, *dot;
	struct shape seen;
	enum ocf_type prim;
	struct buf full = { 0 };
	size_t i;
	sw_err rc = SW_OK;

	if (!json_is_string(jn))
		return sw_seterr(SW_ERR_DATA, "%s without a name",
		    type_names[t]);
	name = json_string_value(jn);
	if (jns != NULL && !json_is_null(jns)) {
		if (!json_is_string(jns))
			return sw_seterr(SW_ERR_DATA, "namespace of '%s' is "
			    "not a string", name);
		space = json_string_value(jns);
	}
	if (strchr(name, '.') == NULL && space != NULL && *space != '\0')
		buf_printf(&full, "%s.%s", space, name);
	else
		buf_puts(&full, name);
	if (!valid_full_name(full.data)) {
		rc = sw_seterr(SW_ERR_DATA, "'%s' is not a valid avro name",
		    full.data);
		goto out;
	}
	if (primitive_type(ocf_short_name(full.data), &prim)) {
		rc = sw_seterr(SW_ERR_DATA, "a %s may not be named '%s'",
		    type_names[t], full.data);
		goto out;
	}
	if (find_named(c, full.data, &seen) != NULL) {
		rc = sw_seterr(SW_ERR_DATA, "type '%s' is defined twice",
		    full.data);
		goto out;
	}
	c->names = xgrowarray(c->names, &c->capnames, c->nnames + 1,
	    sizeof(*c->names));
	i = c->nnames++;
	c->names[i].type = t;
	c->names[i].name = buf_detach(&full);
	dot = strrchr(c->names[i].name, '.');
	c->names[i].space = xstrdup(dot ? c->names[i].name : "");
	if (dot)
		c->names[i].space[dot - c->names[i].name] = '\0';
	out->type = t;
	out->name = c->names[i].name;
	*inner_ns = c->names[i].space;
out:
	buf_release(&full);
	return rc;
}

static sw_err
check_record(struct check *c, json_t *j, const char *ns, int depth,
    struct shape *out)
{
	json_t *jf = json_object_get(j, "fields"), *f, *jn, *jt;
	const char *inner = NULL, *name, *rname;
	struct shape ft;
	size_t i, k, n;
	sw_err rc;

	if ((rc = check_named(c, j, ns, OCF_RECORD, out, &inner)) != SW_OK)
		return rc;
	rname = out->name;
	if (!json_is_array(jf))
		return sw_seterr(SW_ERR_DATA, "record '%s' has no fields array",
		    rname);
	n = json_array_size(jf);
	for (i = 0; i < n; i++) {
		f = json_array_get(jf, i);
		jn = json_object_get(f, "name");
		jt = json_object_get(f, "type");
		if (!json_is_object(f) || !json_is_string(jn))
			return sw_seterr(SW_ERR_DATA, "record '%s': field %zu "
			    "has no name", rname, i + 1);
		name = json_string_value(jn);
		if (!valid_name(name, strlen(name)))
			return sw_seterr(SW_ERR_DATA, "record '%s': '%s' is "
			    "not a valid field name", rname, name);
		for (k = 0; k < i; k++)
			if (strcmp(json_string_value(json_object_get(
			    json_array_get(jf, k), "name")), name) == 0)
				return sw_seterr(SW_ERR_DATA, "record '%s': "
				    "field '%s' appears twice", rname, name);
		if (jt == NULL)
			return sw_seterr(SW_ERR_DATA, "record '%s': field '%s' "
			    "has no type", rname, name);
		if ((rc = check_type(c, jt, inner, depth + 1, &ft)) != SW_OK)
			return sw_adderr(rc, "record '%s': field '%s'", rname,
			    name);
	}
	return SW_OK;
}

static sw_err
check_enum(struct check *c, json_t *j, const char *ns, struct shape *out)
{
	json_t *js = json_object_get(j, "symbols");
	const char *inner = NULL, *sym;
	size_t i, k, n;
	sw_err rc;

	if ((rc = check_named(c, j, ns, OCF_ENUM, out, &inner)) != SW_OK)
		return rc;
	if (!json_is_array(js))
		return sw_seterr(SW_ERR_DATA, "enum '%s' has no symbols array",
		    out->name);
	n = json_array_size(js);
	for (i = 0; i < n; i++) {
		sym = json_string_value(json_array_get(js, i));
		if (sym == NULL || !valid_name(sym, strlen(sym)))
			return sw_seterr(SW_ERR_DATA, "enum '%s': symbol %zu "
			    "is not a valid name", out->name, i + 1);
		for (k = 0; k < i; k++)
			if (strcmp(json_string_value(json_array_get(js, k)),
			    sym) == 0)
				return sw_seterr(SW_ERR_DATA, "enum '%s': "
				    "symbol '%s' appears twice", out->name,
				    sym);
	}
	return SW_OK;
}

static sw_err
check_fixed(struct check *c, json_t *j, const char *ns, struct shape *out)
{
	json_t *jsz = json_object_get(j, "size");
	const char *inner = NULL;
	sw_err rc;

	if ((rc = check_named(c, j, ns, OCF_FIXED, out, &inner)) != SW_OK)
		return rc;
	if (!json_is_integer(jsz) || json_integer_value(jsz) < 0 ||
	    json_integer_value(jsz) > INT32_MAX)
		return sw_seterr(SW_ERR_DATA, "fixed '%s' has no valid size",
		    out->name);
	return SW_OK;
}

static sw_err
check_union(struct check *c, json_t *j, const char *ns, int depth,
    struct shape *out)
{
	size_t i, k, n = json_array_size(j);
	struct shape *br;
	sw_err rc = SW_OK;

	out->type = OCF_UNION;
	out->name = NULL;
	br = xcalloc(n ? n : 1, sizeof(*br));
	for (i = 0; i < n && rc == SW_OK; i++) {
		if ((rc = check_type(c, json_array_get(j, i), ns, depth + 1,
		    &br[i])) != SW_OK) {
			rc = sw_adderr(rc, "union branch %zu", i + 1);
			break;
		}
		if (br[i].type == OCF_UNION) {
			rc = sw_seterr(SW_ERR_DATA, "union branch %zu is "
			    "itself a union", i + 1);
			break;
		}
		for (k = 0; k < i; k++) {
			if (br[i].type == br[k].type && (br[i].name == NULL ||
			    strcmp(br[i].name, br[k].name) == 0)) {
				rc = sw_seterr(SW_ERR_DATA, "union has two "
				    "branches of type %s", br[i].name ?
				    br[i].name : type_names[br[i].type]);
				break;
			}
		}
	}
	free(br);
	return rc;
}

static sw_err
check_type(struct check *c, json_t *j, const char *ns, int depth,
    struct shape *out)
{
	const char *name;
	json_t *jt, *ji;
	int array;
	sw_err rc;

	out->name = NULL;
	if (depth > OCF_MAX_DEPTH)
		return sw_seterr(SW_ERR_DATA, "schema nested deeper than %d",
		    OCF_MAX_DEPTH);
	if (json_is_array(j))
		return check_union(c, j, ns, depth, out);
	if (json_is_string(j)) {
		name = json_string_value(j);
	} else if (json_is_object(j)) {
		jt = json_object_get(j, "type");
		if (jt == NULL)
			return sw_seterr(SW_ERR_DATA, "schema object without "
			    "a type");
		if (!json_is_string(jt))
			return check_type(c, jt, ns, depth + 1, out);
		name = json_string_value(jt);
		if (strcmp(name, "record") == 0)
			return check_record(c, j, ns, depth, out);
		if (strcmp(name, "enum") == 0)
			return check_enum(c, j, ns, out);
		if (strcmp(name, "fixed") == 0)
			return check_fixed(c, j, ns, out);
		if (strcmp(name, "array") == 0 || strcmp(name, "map") == 0) {
			array = name[0] == 'a';
			out->type = array ? OCF_ARRAY : OCF_MAP;
			ji = json_object_get(j, array ? "items" : "values");
			if (ji == NULL)
				return sw_seterr(SW_ERR_DATA, "%s without %s",
				    name, array ? "items" : "values");
			if ((rc = check_type(c, ji, ns, depth + 1,
			    &(struct shape){ 0 })) != SW_OK)
				return sw_adderr(rc, "%s %s", name,
				    array ? "items" : "values");
			return SW_OK;
		}
	} else {
		return sw_seterr(SW_ERR_DATA, "a schema is a JSON string, "
		    "object or array");
	}
	if (primitive_type(name, &out->type))
		return SW_OK;
	if (lookup_named(c, name, ns, out) == NULL)
		return sw_seterr(SW_ERR_DATA, "unknown type '%s'", name);
	return SW_OK;
}

/* The whole check: n bytes of JSON, at most OCF_MAX_SCHEMA. */
static sw_err
schema_check(const char *json, size_t n)
{
	struct check c = { 0 };
	struct shape root;
	json_error_t je;
	json_t *j;
	sw_err rc;

	if (n > OCF_MAX_SCHEMA)
		return sw_seterr(SW_ERR_DATA, "schema of %zu bytes, more than "
		    "%d", n, OCF_MAX_SCHEMA);
	j = json_loadb(json, n, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
	if (j == NULL)
		return sw_seterr(SW_ERR_DATA, "schema is not valid JSON: %s "
		    "(line %d, column %d)", je.text, je.line, je.column);
	rc = check_type(&c, j, NULL, 0, &root);
	json_decref(j);
	check_release(&c);
	return rc;
}

/* ---- the tree, from avro-c's parse ---- */

static void *
sch_alloc(struct ocf_schema *s, size_t size)
{
	void *p = xcalloc(1, size ? size : 1);

	s->mem = xgrowarray(s->mem, &s->capmem, s->nmem + 1, sizeof(*s->mem));
	s->mem[s->nmem++] = p;
	return p;
}

static char *
sch_strdup(struct ocf_schema *s, const char *str)
{
	size_t n = strlen(str);
	char *p = sch_alloc(s, n + 1);

	memcpy(p, str, n);
	return p;
}

static struct ocf_node *
new_node(struct ocf_schema *s, enum ocf_type t)
{
	struct ocf_node *node = sch_alloc(s, sizeof(*node));

	node->type = t;
	return node;
}

/* The node of named type a, made (and its full name set) when it is met
 * first: a reference to it (an avro-c link) finds it, also from inside
 * itself. */
static struct ocf_node *
named_node(struct ocf_schema *s, avro_schema_t a, enum ocf_type t, int *fresh)
{
	const char *ns = avro_schema_namespace(a);
	struct ocf_node *node;
	struct buf full = { 0 };
	size_t i;

	*fresh = 0;
	for (i = 0; i < s->nnamed; i++)
		if (s->named[i].avro == a)
			return s->named[i].node;
	node = new_node(s, t);
	if (ns != NULL && *ns != '\0')
		buf_printf(&full, "%s.%s", ns, avro_schema_name(a));
	else
		buf_puts(&full, avro_schema_name(a));
	node->name = sch_strdup(s, full.data ? full.data : "");
	buf_release(&full);
	s->named = xgrowarray(s->named, &s->capnamed, s->nnamed + 1,
	    sizeof(*s->named));
	s->named[s->nnamed].avro = a;
	s->named[s->nnamed].node = node;
	s->nnamed++;
	*fresh = 1;
	return node;
}

static sw_err
node_of(struct ocf_schema *s, avro_schema_t a, int depth,
    struct ocf_node **out)
{
	struct ocf_node *node;
	size_t i;
	int fresh;
	sw_err rc;

	if (depth > OCF_MAX_DEPTH)
		return sw_seterr(SW_ERR_DATA, "schema nested deeper than %d",
		    OCF_MAX_DEPTH);
	switch (avro_typeof(a)) {
	case AVRO_NULL: *out = new_node(s, OCF_NULL); return SW_OK;
	case AVRO_BOOLEAN: *out = new_node(s, OCF_BOOLEAN); return SW_OK;
	case AVRO_INT32: *out = new_node(s, OCF_INT); return SW_OK;
	case AVRO_INT64: *out = new_node(s, OCF_LONG); return SW_OK;
	case AVRO_FLOAT: *out = new_node(s, OCF_FLOAT); return SW_OK;
	case AVRO_DOUBLE: *out = new_node(s, OCF_DOUBLE); return SW_OK;
	case AVRO_BYTES: *out = new_node(s, OCF_BYTES); return SW_OK;
	case AVRO_STRING: *out = new_node(s, OCF_STRING); return SW_OK;
	case AVRO_LINK:
		return node_of(s, avro_schema_link_target(a), depth + 1, out);
	case AVRO_RECORD:
		*out = node = named_node(s, a, OCF_RECORD, &fresh);
		if (!fresh)
			return SW_OK;
		node->n = avro_schema_record_size(a);
		node->fields = sch_alloc(s, node->n * sizeof(*node->fields));
		for (i = 0; i < node->n; i++) {
			node->fields[i].name = sch_strdup(s,
			    avro_schema_record_field_name(a, (int)i));
			if ((rc = node_of(s, avro_schema_record_field_get_by_index(
			    a, (int)i), depth + 1, &node->fields[i].type)) !=
			    SW_OK)
				return rc;
		}
		return SW_OK;
	case AVRO_ENUM:
		*out = node = named_node(s, a, OCF_ENUM, &fresh);
		if (!fresh)
			return SW_OK;
		node->n = (size_t)avro_schema_enum_number_of_symbols(a);
		node->symbols = sch_alloc(s, node->n * sizeof(*node->symbols));
		for (i = 0; i < node->n; i++)
			node->symbols[i] = sch_strdup(s,
			    avro_schema_enum_get(a, (int)i));
		return SW_OK;
	case AVRO_FIXED:
		*out = node = named_node(s, a, OCF_FIXED, &fresh);
		if (!fresh)
			return SW_OK;
		node->n = (size_t)avro_schema_fixed_size(a);
		return SW_OK;
	case AVRO_ARRAY:
	case AVRO_MAP:
		*out = node = new_node(s, avro_typeof(a) == AVRO_ARRAY ?
		    OCF_ARRAY : OCF_MAP);
		return node_of(s, node->type == OCF_ARRAY ?
		    avro_schema_array_items(a) : avro_schema_map_values(a),
		    depth + 1, &node->items);
	case AVRO_UNION:
		*out = node = new_node(s, OCF_UNION);
		node->n = avro_schema_union_size(a);
		node->branches = sch_alloc(s, node->n *
		    sizeof(*node->branches));
		for (i = 0; i < node->n; i++)
			if ((rc = node_of(s, avro_schema_union_branch(a,
			    (int)i), depth + 1, &node->branches[i])) != SW_OK)
				return rc;
		return SW_OK;
	default:
		break;
	}
	return sw_seterr(SW_ERR_DATA, "avro-c type %d is not supported",
	    (int)avro_typeof(a));
}

void
ocf_schema_free(struct ocf_schema *s)
{
	size_t i;

	if (s == NULL || --s->refs > 0)
		return;
	if (s->avro != NULL)
		avro_schema_decref(s->avro);
	free(s->top);
	free(s->br);
	for (i = 0; i < s->nmem; i++)
		free(s->mem[i]);
	free(s->mem);
	free(s->named);
	free(s);
}

static void
wop_push(struct wop **v, size_t *n, size_t *cap, const struct wop *op)
{
	*v = xgrowarray(*v, cap, *n + 1, sizeof(**v));
	(*v)[(*n)++] = *op;
}

/* The op of a type that is not a union nor a record. */
static void
wop_of(const struct ocf_node *t, struct wop *op)
{
	static const enum wop_code codes[] = {
		[OCF_NULL] = W_NULL, [OCF_BOOLEAN] = W_BOOL, [OCF_INT] = W_INT,
		[OCF_LONG] = W_LONG, [OCF_FLOAT] = W_FLOAT,
		[OCF_DOUBLE] = W_DOUBLE, [OCF_BYTES] = W_BYTES,
		[OCF_STRING] = W_BYTES,
	};

	memset(op, 0, sizeof(*op));
	if (t->type <= OCF_STRING) {
		op->code = codes[t->type];
	} else if (t->type == OCF_FIXED || t->type == OCF_ENUM) {
		op->code = t->type == OCF_FIXED ? W_FIXED : W_ENUM;
		op->n = t->n;
	} else {
		op->code = W_GENERIC;
		op->node = t;
	}
}

static void
compile_type(struct ocf_schema *s, const struct ocf_node *t, int depth)
{
	struct wop op;
	size_t i;

	if (t->type == OCF_RECORD && depth < 8) {
		for (i = 0; i < t->n; i++)
			compile_type(s, t->fields[i].type, depth + 1);
		return;
	}
	if (t->type == OCF_UNION) {
		memset(&op, 0, sizeof(op));
		op.code = W_UNION;
		op.n = t->n;
		op.first = s->nbr;
		wop_push(&s->top, &s->ntop, &s->captop, &op);
		for (i = 0; i < t->n; i++) {
			wop_of(t->branches[i], &op);
			wop_push(&s->br, &s->nbr, &s->capbr, &op);
		}
		return;
	}
	wop_of(t, &op);
	wop_push(&s->top, &s->ntop, &s->captop, &op);
}

static void
compile_root(struct ocf_schema *s)
{
	/* RawDatum's encoding, op by op: string, long, long, string, then
	 * six ["null", T] unions */
	static const enum wop_code raw_top[] = {
		W_BYTES, W_LONG, W_LONG, W_BYTES, W_UNION, W_UNION, W_UNION,
		W_UNION, W_UNION, W_UNION,
	};
	static const enum wop_code raw_values[] = {
		W_DOUBLE, W_BYTES, W_INT, W_BOOL, W_BYTES, W_LONG,
	};
	size_t i, k = 0;

	compile_type(s, s->root, 0);
	s->rawdatum = s->ntop == sizeof(raw_top) / sizeof(raw_top[0]) &&
	    s->nbr == 12;
	for (i = 0; s->rawdatum && i < s->ntop; i++) {
		if (s->top[i].code != raw_top[i])
			s->rawdatum = 0;
		else if (raw_top[i] == W_UNION)
			s->rawdatum = s->top[i].n == 2 &&
			    s->br[s->top[i].first].code == W_NULL &&
			    s->br[s->top[i].first + 1].code == raw_values[k++];
	}
}

/* avro-c 1.11.1 keeps its last error message in one buffer for the whole
 * process (Debian's build has no thread-local storage), and merges run in
 * several threads: its parse and its message are taken under one lock.
 * Parses are few (the readers' cache keeps them). */
static pthread_mutex_t parse_lock = PTHREAD_MUTEX_INITIALIZER;

sw_err
ocf_schema_parse(const char *json, size_t n, struct ocf_schema **out)
{
	struct ocf_schema *s = NULL;
	avro_schema_t a = NULL;
	sw_err rc;

	*out = NULL;
	if ((rc = schema_check(json, n)) != SW_OK)
		return rc;
	pthread_mutex_lock(&parse_lock);
	if (avro_schema_from_json_length(json, n, &a) != 0)
		rc = sw_seterr(SW_ERR_DATA, "avro-c cannot parse the schema: "
		    "%s", avro_strerror());
	pthread_mutex_unlock(&parse_lock);
	if (rc != SW_OK)
		return rc;
	s = xcalloc(1, sizeof(*s));
	s->refs = 1;
	s->avro = a;
	if ((rc = node_of(s, a, 0, &s->root)) != SW_OK)
		goto out;
	compile_root(s);
	*out = s;
	s = NULL;
out:
	ocf_schema_free(s);
	return rc;
}

#define SCHEMA_CACHE_SIZE 8

struct ocf_schema_cache {
	struct {
		char *json;
		size_t n;
		struct ocf_schema *s;
	} e[SCHEMA_CACHE_SIZE];
	size_t next;   /* the entry to replace when all are taken */
};

struct ocf_schema_cache *
ocf_schema_cache_new(void)
{
	return xcalloc(1, sizeof(struct ocf_schema_cache));
}

void
ocf_schema_cache_free(struct ocf_schema_cache *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < SCHEMA_CACHE_SIZE; i++) {
		free(c->e[i].json);
		ocf_schema_free(c->e[i].s);
	}
	free(c);
}

sw_err
ocf_schema_get(struct ocf_schema_cache *c, const char *json, size_t n,
    struct ocf_schema **out)
{
	size_t i;
	sw_err rc;

	for (i = 0; c != NULL && i < SCHEMA_CACHE_SIZE; i++) {
		if (c->e[i].s != NULL && c->e[i].n == n &&
		    memcmp(c->e[i].json, json, n) == 0) {
			c->e[i].s->refs++;
			*out = c->e[i].s;
			return SW_OK;
		}
	}
	if ((rc = ocf_schema_parse(json, n, out)) != SW_OK || c == NULL)
		return rc;
	i = c->next;
	c->next = (c->next + 1) % SCHEMA_CACHE_SIZE;
	free(c->e[i].json);
	ocf_schema_free(c->e[i].s);
	c->e[i].json = xcalloc(1, n + 1);
	memcpy(c->e[i].json, json, n);
	c->e[i].n = n;
	c->e[i].s = *out;
	(*out)->refs++;
	return SW_OK;
}

struct ocf_schema *
ocf_schema_ref(const struct ocf_schema *s)
{
	struct ocf_schema *w = (struct ocf_schema *)(uintptr_t)s;

	w->refs++;
	return w;
}

const struct ocf_node *
ocf_schema_root(const struct ocf_schema *s)
{
	return s->root;
}

/*
 * avro_schema_equal() of avro-c 1.11.1 walks the fields, symbols and
 * branches of its first argument only, looking each up by position in the
 * second: asked both ways, a type with more of them than the other
 * differs.
 */
int
ocf_schema_equal(const struct ocf_schema *a, const struct ocf_schema *b)
{
	return a == b || (avro_schema_equal(a->avro, b->avro) &&
	    avro_schema_equal(b->avro, a->avro));
}
