/*
 * fuzz_names.c - the mount's friendly paths (fuse/names.c), built from
 * names that come from the cold tier's asset metadata and ListTimeSeries
 * (untrusted).
 *
 * Input: lines of six tab-separated fields (series, asset id, asset name,
 * property id, property name, alias; "-" for a missing one).
 * Invariants: every name listed below /assets and /aliases is one path
 * component (not empty, no '/', no NUL, not "." or "..", at most 255
 * bytes), and resolves to a directory or to a series of the input with
 * nothing after it; names_encode() writes one component that decodes
 * back to its input.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuse/names.h"
#include "fuzz_common.h"

#define MAX_ROWS 64

static struct names_src rows[MAX_ROWS];
static size_t nrows;
static const struct names *tree;

static int
is_series(const char *s)
{
	size_t i;

	for (i = 0; i < nrows; i++)
		if (strcmp(rows[i].series, s) == 0)
			return 1;
	return 0;
}

struct walk {
	char path[8192];
	int depth;
};

static int
visit(void *arg, const char *name)
{
	struct walk *w = arg;
	const char *series, *rest;
	size_t n = strlen(w->path), l = strlen(name);
	int r;

	FUZZ_ASSERT(l > 0 && l <= 255 && strchr(name, '/') == NULL &&
	    strcmp(name, ".") != 0 && strcmp(name, "..") != 0,
	    "'%s' below '%s' is not one path component", name, w->path);
	if (n + l + 2 >= sizeof(w->path) || w->depth > 16)
		return 0;
	snprintf(w->path + n, sizeof(w->path) - n, "/%s", name);
	r = names_resolve(tree, w->path, &series, &rest);
	FUZZ_ASSERT(r == 0 || r == 1, "'%s' was listed but resolves to "
	    "nothing", w->path);
	if (r == 1)
		FUZZ_ASSERT(is_series(series) && rest[0] == '\0', "'%s' "
		    "resolves to '%s' + '%s'", w->path, series, rest);
	w->depth++;
	names_list(tree, w->path, visit, w);
	w->depth--;
	w->path[n] = '\0';
	return 0;
}

static void
check_encode(const char *s, int year)
{
	char out[1024], back[1024];
	size_t i, k = 0;

	if (names_encode(s, year, out, sizeof(out)) != 0)
		return;
	FUZZ_ASSERT(strchr(out, '/') == NULL && strlen(out) <= 255 &&
	    strcmp(out, ".") != 0 && strcmp(out, "..") != 0,
	    "'%s' is written '%s'", s, out);
	for (i = 0; out[i] != '\0'; i++) {
		unsigned v;

		if (out[i] == '%' && sscanf(out + i + 1, "%2X", &v) == 1) {
			back[k++] = (char)v;
			i += 2;
		} else {
			back[k++] = out[i];
		}
	}
	back[k] = '\0';
	FUZZ_ASSERT(strcmp(back, s) == 0, "'%s' written '%s' reads back "
	    "'%s'", s, out, back);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *lines[MAX_ROWS];
	size_t len[MAX_ROWS], n, i, k;
	struct names *t;
	struct walk w;

	fuzz_init();
	if (size > 16384)
		return 0;
	n = fuzz_split(data, size, "\n", lines, len, MAX_ROWS);
	nrows = 0;
	for (i = 0; i < n; i++) {
		const uint8_t *f[6];
		size_t fl[6];
		const char **dst[6];
		struct names_src *r = &rows[nrows];

		memset(r, 0, sizeof(*r));
		if (fuzz_split(lines[i], len[i], "\t", f, fl, 6) < 6)
			continue;
		dst[0] = &r->series;
		dst[1] = &r->asset_id;
		dst[2] = &r->asset_name;
		dst[3] = &r->property_id;
		dst[4] = &r->property_name;
		dst[5] = &r->alias;
		for (k = 0; k < 6; k++)
			*dst[k] = fl[k] == 1 && f[k][0] == '-' ? NULL :
			    fuzz_strndup(f[k], fl[k]);
		if (r->series == NULL)
			r->series = fuzz_strndup("s", 1);
		check_encode(r->series, 0);
		if (r->alias != NULL)
			check_encode(r->alias, 1);
		nrows++;
	}
	t = names_build(rows, nrows);
	tree = t;
	for (k = 0; k < 2; k++) {
		memset(&w, 0, sizeof(w));
		snprintf(w.path, sizeof(w.path), "%s", k ? "/aliases" :
		    "/assets");
		names_list(t, w.path, visit, &w);
	}
	names_free(t);
	for (i = 0; i < nrows; i++) {
		free((char *)rows[i].series);
		free((char *)rows[i].asset_id);
		free((char *)rows[i].asset_name);
		free((char *)rows[i].property_id);
		free((char *)rows[i].property_name);
		free((char *)rows[i].alias);
	}
	return 0;
}
