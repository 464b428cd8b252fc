/*
 * names.h - the mount's friendly paths of time series, from the series
 * catalogue:
 *
 *   /assets/{asset name}/{property name}/   an associated series
 *   /aliases/{alias, one directory a part}/ a series with an alias
 *
 * each holding the series' YYYY/MM/DD.avro.  Names are made path-safe and
 * unambiguous: '%', '/' and control characters are written %XX (hex,
 * upper case), "." and ".." as %2E and %2E%2E; an alias part of exactly
 * four digits (it would read as a year) starts with %3N; an empty or
 * missing name, or one longer than 255 bytes written so, is the id
 * instead; names that come out the same for different assets (or
 * properties of one asset) each get " ({id})" after them; two series
 * with the same alias each get " ({seriesId})" after the last part.
 * Empty parts of an alias ("//", a leading '/') are dropped.
 * Pure: no I/O, no lock (a built tree is read-only).
 */
#ifndef SWREPART_NAMES_H
#define SWREPART_NAMES_H

#include <stddef.h>

/* What a series is called, as the catalogue says (fields may be NULL). */
struct names_src {
	const char *series;
	const char *asset_id, *asset_name;
	const char *property_id, *property_name;
	const char *alias;
};

struct names;

struct names *names_build(const struct names_src *rows, size_t n);
void names_free(struct names *t);

/*
 * What path (below the mount's root: "/assets/Pump 7/Temperature/2022")
 * names: 1 for a series' directory or below it (*series is its id, owned
 * by t, and *rest the part after it: "" or "/2022..."), 0 for a
 * directory above series ("/assets", "/aliases/plant1"), -1 for nothing.
 */
int names_resolve(const struct names *t, const char *path,
    const char **series, const char **rest);

/* Call fn for each entry of a directory that names_resolve() says is
 * above series (0), sorted, each once. */
typedef int (*names_fn)(void *arg, const char *name);
int names_list(const struct names *t, const char *dir, names_fn fn,
    void *arg);

/* The path-safe form of one name (see above; year_safe: an alias part).
 * Returns 0, or -1 when it does not fit in a file name. */
int names_encode(const char *s, int year_safe, char *out, size_t len);

#endif
