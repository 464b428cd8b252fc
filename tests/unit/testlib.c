/*
 * testlib.c - the unit tests' temporary directory, generated cold tiers
 * and the configuration over them, and the independent Avro tool.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/options.h"
#include "base/util.h"
#include "core/gen.h"
#include "tap.h"
#include "testlib.h"

#define PYTHON "/usr/bin/python3"

static char tmpdir[512];
static char tool[1024];

const char *
test_tmpdir(const char *name)
{
	const char *t = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/%s.XXXXXX",
	    t != NULL && *t != '\0' ? t : "/tmp", name);
	if (mkdtemp(tmpdir) == NULL) {
		printf("Bail out! cannot create %s: %s\n", tmpdir,
		    strerror(errno));
		exit(1);
	}
	return tmpdir;
}

void
test_tmpdir_remove(void)
{
	if (tmpdir[0] != '\0' && rmtree(tmpdir) != 0)
		diag("could not remove %s: %s", tmpdir, strerror(errno));
	tmpdir[0] = '\0';
}

const char *
test_avro_tool_missing(void)
{
	const char *top = getenv("top_srcdir");

	snprintf(tool, sizeof(tool), "%s/tests/integration/avro_tool.py",
	    top != NULL && *top != '\0' ? top : ".");
	if (access(tool, R_OK) != 0)
		return "avro_tool.py not found (set top_srcdir)";
	if (system(PYTHON " -c 'import avro, snappy' 2>/dev/null") != 0)
		return PYTHON " lacks python3-avro or python3-snappy";
	return NULL;
}

int
test_avro_tool(const char *args, int quiet, struct buf *out)
{
	struct buf cmd = { 0 };
	char chunk[4096];
	FILE *f;
	size_t n;
	int st;

	buf_printf(&cmd, PYTHON " '%s' %s%s", tool, args,
	    out != NULL ? "" : " 2>&1");
	fflush(stdout);
	f = popen(cmd.data, "r");
	buf_release(&cmd);
	if (f == NULL)
		return -1;
	if (out != NULL) {
		out->len = 0;
		buf_puts(out, "");
		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
			buf_append(out, chunk, n);
	} else {
		while (fgets(chunk, sizeof(chunk), f) != NULL)
			if (!quiet)
				diag("%.*s", (int)strcspn(chunk, "\n"),
				    chunk);
	}
	st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

sw_err
test_write_under(void *arg, const char *key, const void *data, size_t n)
{
	const char *dir = arg;
	char path[4096], *slash;
	FILE *f;
	int okay;

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	for (slash = strchr(path + strlen(dir) + 1, '/'); slash != NULL;
	    slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST)
			return sw_seterr(SW_ERR_IO, "cannot create '%s': %s",
			    path, strerror(errno));
		*slash = '/';
	}
	if ((f = fopen(path, "wb")) == NULL)
		return sw_seterr(SW_ERR_IO, "cannot create '%s': %s", path,
		    strerror(errno));
	okay = fwrite(data, 1, n, f) == n;
	if (fclose(f) != 0)
		okay = 0;
	return okay ? SW_OK : sw_seterr(SW_ERR_IO, "cannot write '%s'", path);
}

uint64_t
test_gen_windows(char *dir, int series, int records, int first, int last)
{
	struct gen_params gp;
	struct gen_stats gs;

	gen_params_init(&gp);
	gp.series = series;
	gp.records_per_file = records;
	gp.first_window = first;
	gp.last_window = last;
	memset(&gs, 0, sizeof(gs));
	if (gen_run(&gp, test_write_under, dir, &gs) != SW_OK) {
		diag("gen: %s", sw_errmsg());
		return 0;
	}
	return gs.data_objects;
}

void
test_config(struct sw_config *cfg, const char *cold, const char *cache)
{
	char url[4200];

	config_defaults(cfg);
	snprintf(url, sizeof(url), "file://%s", cold);
	free(cfg->cold_bucket);
	cfg->cold_bucket = xstrdup(url);
	free(cfg->timeseries_type);
	cfg->timeseries_type = xstrdup("ALL");
	free(cfg->cache_dir);
	cfg->cache_dir = xstrdup(cache);
}

int
test_read_file(const char *path, struct buf *b)
{
	char chunk[65536];
	FILE *f = fopen(path, "rb");
	size_t n;

	b->len = 0;
	if (f == NULL)
		return 0;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(b, chunk, n);
	fclose(f);
	return 1;
}
