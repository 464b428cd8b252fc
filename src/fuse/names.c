/*
 * names.c - the mount's friendly paths of time series (see names.h): a
 * sorted table of every series' path ("/assets/A/P", "/aliases/a/b"),
 * built once per catalogue; directories above them are the prefixes of
 * those paths.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "fuse/names.h"

#define NAME_MAX_BYTES 255

struct ent {
	char *path;
	char *series;
};

struct names {
	struct ent *v;
	size_t n, cap;
};

int
names_encode(const char *s, int year_safe, char *out, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t k = 0, i, n = strlen(s);
	char tmp[3 * NAME_MAX_BYTES + 4];

	if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0) {
		snprintf(tmp, sizeof(tmp), "%s", n == 1 ? "%2E" : "%2E%2E");
		k = strlen(tmp);
	} else {
		for (i = 0; i < n && k + 3 < sizeof(tmp); i++) {
			unsigned char c = (unsigned char)s[i];
			int digits = year_safe && i == 0 && n == 4 &&
			    strspn(s, "0123456789") == 4;

			if (c == '%' || c == '/' || c < 0x20 || c == 0x7f ||
			    digits) {
				tmp[k++] = '%';
				tmp[k++] = hex[c >> 4];
				tmp[k++] = hex[c & 15];
			} else {
				tmp[k++] = (char)c;
			}
		}
		if (i < n)
			return -1;
	}
	if (k == 0 || k > NAME_MAX_BYTES || k + 1 > len)
		return -1;
	memcpy(out, tmp, k);
	out[k] = '\0';
	return 0;
}

static void
add(struct names *t, const char *path, const char *series)
{
	t->v = xgrowarray(t->v, &t->cap, t->n + 1, sizeof(*t->v));
	t->v[t->n].path = xstrdup(path);
	t->v[t->n++].series = xstrdup(series);
}

static int
ent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ent *)a)->path,
	    ((const struct ent *)b)->path);
}

/* A name, or the id when the name is missing, empty or too long. */
static void
name_or_id(const char *name, const char *id, char *out, size_t len)
{
	if (name == NULL || names_encode(name, 0, out, len) != 0)
		if (id == NULL || names_encode(id, 0, out, len) != 0)
			snprintf(out, len, "%%00");
}

/* A row's directory under /assets: "/assets/{asset}" with the asset's
 * name made unique among assets (by id). */
struct named {
	const char *id;           /* asset id, or "{asset id}\n{property}" */
	char name[NAME_MAX_BYTES + 1];
	size_t row;
};

static int
named_cmp(const void *a, const void *b)
{
	const struct named *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c != 0 ? c : strcmp(x->id, y->id);
}

/* Names that several ids share each get " ({id})" after them. */
static void
unique_names(struct named *v, size_t n, const char *(*id_of)(
    const struct named *))
{
	size_t i, j;

	qsort(v, n, sizeof(*v), named_cmp);
	for (i = 0; i < n; i = j) {
		int several = 0;

		for (j = i + 1; j < n && strcmp(v[j].name, v[i].name) == 0; j++)
			several |= strcmp(v[j].id, v[i].id) != 0;
		for (; several && i < j; i++) {
			char tmp[NAME_MAX_BYTES * 2 + 8], id[NAME_MAX_BYTES + 1];
			size_t l;

			if (names_encode(id_of(&v[i]), 0, id, sizeof(id)) != 0)
				snprintf(id, sizeof(id), "%%00");
			snprintf(tmp, sizeof(tmp), "%s (%s)", v[i].name, id);
			if ((l = strlen(tmp)) > NAME_MAX_BYTES)
				l = 0;   /* too long: the id alone */
			snprintf(v[i].name, sizeof(v[i].name), "%s", l ? tmp :
			    id);
		}
	}
}

static const char *
plain_id(const struct named *x)
{
	return x->id;
}

/* "{asset id}\n{property id}" -> the property id */
static const char *
second_id(const struct named *x)
{
	const char *nl = strchr(x->id, '\n');

	return nl != NULL ? nl + 1 : x->id;
}

static int
named_id_cmp(const void *a, const void *b)
{
	return strcmp(((const struct named *)a)->id,
	    ((const struct named *)b)->id);
}

/* Every associated series at /assets/{asset}/{property}: asset names
 * made unique among assets, property names among their asset's (sorting
 * and grouping: n log n for 100,000 series). */
static void
build_assets(struct names *t, const struct names_src *rows, size_t n)
{
	struct named *a = xcalloc(n + 1, sizeof(*a));
	struct named *p = xcalloc(n + 1, sizeof(*p));
	char **pid = xcalloc(n + 1, sizeof(*pid));
	char path[3 * NAME_MAX_BYTES + 32];
	size_t i, k = 0, j, g;

	for (i = 0; i < n; i++) {
		const struct names_src *r = &rows[i];

		if (r->asset_id == NULL || r->property_id == NULL)
			continue;
		a[k].id = r->asset_id;
		a[k].row = i;
		name_or_id(r->asset_name, r->asset_id, a[k].name,
		    sizeof(a[k].name));
		pid[k] = xcalloc(1, strlen(r->asset_id) +
		    strlen(r->property_id) + 2);
		sprintf(pid[k], "%s\n%s", r->asset_id, r->property_id);
		p[k].id = pid[k];
		p[k].row = i;
		name_or_id(r->property_name, r->property_id, p[k].name,
		    sizeof(p[k].name));
		k++;
	}
	unique_names(a, k, plain_id);
	qsort(a, k, sizeof(*a), named_id_cmp);
	qsort(p, k, sizeof(*p), named_id_cmp);  /* by asset, property */
	for (i = 0; i < k; i = j) {
		const char *asset = rows[p[i].row].asset_id;
		struct named key, *an;

		for (j = i + 1; j < k && strcmp(rows[p[j].row].asset_id,
		    asset) == 0; j++)
			;
		key.id = asset;
		an = bsearch(&key, a, k, sizeof(*a), named_id_cmp);
		unique_names(p + i, j - i, second_id);
		for (g = i; an != NULL && g < j; g++) {
			snprintf(path, sizeof(path), "/assets/%s/%s", an->name,
			    p[g].name);
			add(t, path, rows[p[g].row].series);
		}
	}
	for (i = 0; i < k; i++)
		free(pid[i]);
	free(pid);
	free(p);
	free(a);
}

static void
build_aliases(struct names *t, const struct names_src *rows, size_t n)
{
	struct ent *al = xcalloc(n + 1, sizeof(*al));
	size_t i, k = 0, j;

	for (i = 0; i < n; i++) {
		struct buf b;
		char part[NAME_MAX_BYTES + 1];
		const char *s = rows[i].alias, *e;
		int bad = 0, parts = 0;

		if (s == NULL)
			continue;
		buf_init(&b);
		buf_puts(&b, "/aliases");
		for (; *s != '\0'; s = *e ? e + 1 : e) {
			char *one;

			e = strchr(s, '/');
			if (e == NULL)
				e = s + strlen(s);
			if (e == s)
				continue;
			one = xstrndup(s, (size_t)(e - s));
			bad |= names_encode(one, 1, part, sizeof(part)) != 0;
			free(one);
			if (bad)
				break;
			buf_printf(&b, "/%s", part);
			parts++;
		}
		if (!bad && parts > 0) {
			al[k].path = xstrdup(b.data);
			al[k++].series = (char *)rows[i].series;
		}
		buf_release(&b);
	}
	qsort(al, k, sizeof(*al), ent_cmp);
	for (i = 0; i < k; i = j) {
		int several = 0;

		for (j = i + 1; j < k && strcmp(al[j].path, al[i].path) == 0;
		    j++)
			several |= strcmp(al[j].series, al[i].series) != 0;
		for (; i < j; i++) {
			if (several) {
				char id[NAME_MAX_BYTES + 1], *p;

				if (names_encode(al[i].series, 0, id,
				    sizeof(id)) != 0)
					continue;
				p = xcalloc(1, strlen(al[i].path) +
				    strlen(id) + 4);
				sprintf(p, "%s (%s)", al[i].path, id);
				if (strlen(strrchr(p, '/') + 1) <=
				    NAME_MAX_BYTES)
					add(t, p, al[i].series);
				free(p);
			} else if (i == j - 1) {
				add(t, al[i].path, al[i].series);
			}
		}
	}
	for (i = 0; i < k; i++)
		free(al[i].path);
	free(al);
}

struct names *
names_build(const struct names_src *rows, size_t n)
{
	struct names *t = xcalloc(1, sizeof(*t));
	size_t i, k;

	build_assets(t, rows, n);
	build_aliases(t, rows, n);
	if (t->n > 1)
		qsort(t->v, t->n, sizeof(*t->v), ent_cmp);
	/* the same path twice (a row repeated): once */
	for (i = 0, k = 0; i < t->n; i++) {
		if (k > 0 && strcmp(t->v[k - 1].path, t->v[i].path) == 0) {
			free(t->v[i].path);
			free(t->v[i].series);
			continue;
		}
		t->v[k++] = t->v[i];
	}
	t->n = k;
	return t;
}

void
names_free(struct names *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++) {
		free(t->v[i].path);
		free(t->v[i].series);
	}
	free(t->v);
	free(t);
}

static const struct ent *
find(const struct names *t, const char *path)
{
	struct ent key = { (char *)path, NULL };

	if (t->n == 0)
		return NULL;
	return bsearch(&key, t->v, t->n, sizeof(*t->v), ent_cmp);
}

/* The first entry not below prefix in order (lower bound). */
static size_t
lower(const struct names *t, const char *prefix)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(t->v[mid].path, prefix) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Whether some entry is below dir ("dir/..."). */
static int
has_below(const struct names *t, const char *dir)
{
	size_t l = strlen(dir), i;
	char *p = xcalloc(1, l + 2);
	int r;

	sprintf(p, "%s/", dir);
	i = lower(t, p);
	r = i < t->n && strncmp(t->v[i].path, p, l + 1) == 0;
	free(p);
	return r;
}

int
names_resolve(const struct names *t, const char *path, const char **series,
    const char **rest)
{
	size_t l = strlen(path), cut;
	char *p;
	int i, r = -1;

	*series = NULL;
	*rest = NULL;
	if (strcmp(path, "/assets") == 0 || strcmp(path, "/aliases") == 0)
		return 0;
	if (strncmp(path, "/assets/", 8) != 0 &&
	    strncmp(path, "/aliases/", 9) != 0)
		return -1;
	p = xstrdup(path);
	/* the series' directory, then up to YYYY/MM/DD.avro below it */
	for (i = 0, cut = l; i < 4; i++) {
		const struct ent *e;

		p[cut] = '\0';
		if ((e = find(t, p)) != NULL) {
			*series = e->series;
			*rest = path + cut;
			r = 1;
			break;
		}
		if (i == 0 && has_below(t, p)) {
			r = 0;
			break;
		}
		while (cut > 0 && p[cut - 1] != '/')
			cut--;
		if (cut <= 1)
			break;
		cut--;
	}
	free(p);
	return r;
}

int
names_list(const struct names *t, const char *dir, names_fn fn, void *arg)
{
	size_t l = strlen(dir), i, n = 0, cap = 0;
	char *p = xcalloc(1, l + 2), **v = NULL;
	int r = 0;

	sprintf(p, "%s/", dir);
	for (i = lower(t, p); i < t->n && strncmp(t->v[i].path, p, l + 1) == 0;
	    i++) {
		const char *s = t->v[i].path + l + 1, *e = strchr(s, '/');

		v = xgrowarray(v, &cap, n + 1, sizeof(*v));
		v[n++] = e != NULL ? xstrndup(s, (size_t)(e - s)) : xstrdup(s);
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), strv_cmp);
	for (i = 0; i < n; i++)
		if (r == 0 && (i == 0 || strcmp(v[i - 1], v[i]) != 0))
			r = fn(arg, v[i]);
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
	free(p);
	return r;
}
