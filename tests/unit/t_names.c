/*
 * t_names.c - the mount's friendly paths of series (fuse/names.c): names
 * made path-safe and unambiguous, aliases as directories, resolution of
 * paths below a series and listings of the directories above them.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "fuse/names.h"
#include "tap.h"
#include "testlib.h"

static void
test_encode(void)
{
	static const struct { const char *in; int year; const char *out; }
	cases[] = {
		{ "Pump 7", 0, "Pump 7" },
		{ "a/b", 0, "a%2Fb" },
		{ "100%", 0, "100%25" },
		{ ".", 0, "%2E" },
		{ "..", 0, "%2E%2E" },
		{ "...", 0, "..." },
		{ "tab\there", 0, "tab%09here" },
		{ "K\xc3\xbchlung", 0, "K\xc3\xbchlung" },
		{ "2022", 1, "%32022" },
		{ "2022", 0, "2022" },
		{ "20221", 1, "20221" },
		{ "202a", 1, "202a" },
		{ NULL, 0, NULL }
	};
	char out[300], big[300];
	int i;

	for (i = 0; cases[i].in != NULL; i++) {
		int r = names_encode(cases[i].in, cases[i].year, out,
		    sizeof(out));

		ok(r == 0 && strcmp(out, cases[i].out) == 0, "encode '%s'%s: "
		    "'%s'", cases[i].in, cases[i].year ? " (alias)" : "",
		    r == 0 ? out : "(none)");
	}
	ok(names_encode("", 0, out, sizeof(out)) == -1, "an empty name: none");
	memset(big, 'x', 255);
	big[255] = '\0';
	ok(names_encode(big, 0, out, sizeof(out)) == 0, "255 bytes fit");
	big[254] = '/';
	ok(names_encode(big, 0, out, sizeof(out)) == -1, "257 bytes once "
	    "written so do not");
}

struct list {
	char buf[1024];
};

static int
collect(void *arg, const char *name)
{
	struct list *l = arg;
	size_t n = strlen(l->buf);

	snprintf(l->buf + n, sizeof(l->buf) - n, "%s%s", n ? "|" : "", name);
	return 0;
}

static const char *
list(const struct names *t, const char *dir)
{
	static struct list l;

	l.buf[0] = '\0';
	names_list(t, dir, collect, &l);
	return l.buf;
}

static const char *
resolve(const struct names *t, const char *path)
{
	static char out[256];
	const char *series, *rest;
	int r = names_resolve(t, path, &series, &rest);

	if (r == 1)
		snprintf(out, sizeof(out), "%s%s", series, rest);
	else
		snprintf(out, sizeof(out), "%s", r == 0 ? "DIR" : "NONE");
	return out;
}

static void
test_tree(void)
{
	static const struct names_src rows[] = {
		/* two assets named alike, one with a slash in a property */
		{ "s1", "A1", "Pump 7", "P1", "Temperature", "/plant1/pump7/temp" },
		{ "s2", "A1", "Pump 7", "P2", "In/Out", NULL },
		{ "s3", "A2", "Pump 7", "P1", "Temperature", NULL },
		/* two properties of one asset named alike */
		{ "s4", "A3", "Mixer", "P3", "Speed", NULL },
		{ "s5", "A3", "Mixer", "P4", "Speed", NULL },
		/* a disassociated stream with an alias: an alias below
		 * another, and a part that reads like a year */
		{ "s6", NULL, NULL, NULL, NULL, "/plant1/pump7/temp/2022" },
		{ "s7", NULL, NULL, NULL, NULL, "plant1//pump7/" },
		/* the same alias for two series */
		{ "s8", NULL, NULL, NULL, NULL, "/dup" },
		{ "s9", NULL, NULL, NULL, NULL, "/dup" },
		/* no names at all */
		{ "s10", "A4", NULL, "P5", "", NULL },
		/* a row repeated */
		{ "s4", "A3", "Mixer", "P3", "Speed", NULL },
	};
	struct names *t = names_build(rows, sizeof(rows) / sizeof(rows[0]));

	ok(strcmp(list(t, "/assets"), "A4|Mixer|Pump 7 (A1)|Pump 7 (A2)") ==
	    0, "assets: alike names get their ids, a nameless asset its id "
	    "(%s)", list(t, "/assets"));
	ok(strcmp(list(t, "/assets/Pump 7 (A1)"), "In%2FOut|Temperature") ==
	    0, "properties, a slash written %%2F (%s)",
	    list(t, "/assets/Pump 7 (A1)"));
	ok(strcmp(list(t, "/assets/Mixer"), "Speed (P3)|Speed (P4)") == 0,
	    "properties of one asset named alike (%s)",
	    list(t, "/assets/Mixer"));
	ok(strcmp(list(t, "/assets/A4"), "P5") == 0, "an empty property "
	    "name: its id (%s)", list(t, "/assets/A4"));
	ok(strcmp(resolve(t, "/assets/Pump 7 (A2)/Temperature"), "s3") == 0,
	    "resolve an asset's property");
	ok(strcmp(resolve(t, "/assets/Pump 7 (A1)/In%2FOut/2022/03/01.avro"),
	    "s2/2022/03/01.avro") == 0, "resolve a day below it (%s)",
	    resolve(t, "/assets/Pump 7 (A1)/In%2FOut/2022/03/01.avro"));
	ok(strcmp(resolve(t, "/assets/Pump 7"), "NONE") == 0 &&
	    strcmp(resolve(t, "/assets/Pump 7 (A1)"), "DIR") == 0 &&
	    strcmp(resolve(t, "/assets"), "DIR") == 0 &&
	    strcmp(resolve(t, "/aliases"), "DIR") == 0 &&
	    strcmp(resolve(t, "/elsewhere"), "NONE") == 0,
	    "directories above series, and what is nothing");
	ok(strcmp(list(t, "/aliases"), "dup (s8)|dup (s9)|plant1") == 0,
	    "aliases: one directory a part; the same alias twice gets the "
	    "series ids (%s)", list(t, "/aliases"));
	ok(strcmp(list(t, "/aliases/plant1/pump7"), "temp") == 0 &&
	    strcmp(resolve(t, "/aliases/plant1/pump7"), "s7") == 0,
	    "empty parts dropped: plant1//pump7/ is /aliases/plant1/pump7");
	ok(strcmp(resolve(t, "/aliases/plant1/pump7/temp"), "s1") == 0 &&
	    strcmp(list(t, "/aliases/plant1/pump7/temp"), "%32022") == 0,
	    "an alias below another's directory (%s)",
	    list(t, "/aliases/plant1/pump7/temp"));
	ok(strcmp(resolve(t, "/aliases/plant1/pump7/temp/2022/03"),
	    "s1/2022/03") == 0 && strcmp(resolve(t,
	    "/aliases/plant1/pump7/temp/%32022/2022/03/01.avro"),
	    "s6/2022/03/01.avro") == 0, "a year below an alias is the "
	    "series' year; the alias part that reads like one is %%32022");
	ok(strcmp(resolve(t, "/aliases/plant1/pump7/temp/2022/03/01.avro/x"),
	    "NONE") == 0 || strcmp(resolve(t,
	    "/aliases/plant1/pump7/temp/2022/03/01.avro/x"),
	    "s1/2022/03/01.avro/x") != 0, "nothing deeper than a day");
	names_free(t);
	t = names_build(NULL, 0);
	ok(strcmp(list(t, "/assets"), "") == 0 &&
	    strcmp(resolve(t, "/assets"), "DIR") == 0 &&
	    strcmp(resolve(t, "/assets/x"), "NONE") == 0,
	    "an empty catalogue: empty directories");
	names_free(t);
}

int
main(void)
{
	test_encode();
	test_tree();
	return done_testing();
}
