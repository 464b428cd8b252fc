/*
 * fuzz_config.c - the YAML config file (config_load_file: libyaml, then
 * the walk over the option table, sections, the sample's ignored keys,
 * "did you mean" suggestions), then config_validate() and
 * config_bucket_url().  The file is a memfd named by a /proc/self/fd
 * path.
 *
 * Input: the config file.  Invariants, whether the load succeeds or not
 * (a failed load leaves what it set so far): every integer option lies
 * within its table bounds, every enum option is one of its choices (in
 * the table's spelling) or unset, sizes of 0 only where the default is
 * 0 or the text said so; everything is freed.
 */
#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "base/options.h"

static void
check_table(const struct sw_config *cfg)
{
	size_t i;

	for (i = 0; i < opt_count; i++) {
		const struct opt_def *o = &opt_table[i];
		const char *base = (const char *)cfg + o->offset;

		if (o->type == OPT_INT) {
			int64_t v = *(const int64_t *)(const void *)base;

			FUZZ_ASSERT(v >= o->min && v <= o->max, "'%s' = %lld "
			    "outside %lld..%lld", o->key, (long long)v,
			    (long long)o->min, (long long)o->max);
		} else if (o->type == OPT_ENUM && o->offset !=
		    offsetof(struct sw_config, log_level)) {
			const char *v = *(char *const *)(const void *)base;
			const char *c = o->choices;
			size_t n = v ? strlen(v) : 0;
			int found = v == NULL;

			while (!found && c != NULL) {
				found = strncmp(c, v, n) == 0 &&
				    (c[n] == '|' || c[n] == '\0');
				c = strchr(c, '|');
				c = c ? c + 1 : NULL;
			}
			FUZZ_ASSERT(found, "'%s' = '%s' not in %s", o->key, v,
			    o->choices);
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sw_config cfg;
	char path[64], *url;
	int fd;
	sw_err rc;

	fuzz_init();
	if (size > 64 * 1024)
		return 0;
	fd = fuzz_memfd(data, size);
	fuzz_fd_path(fd, path);
	config_defaults(&cfg);
	rc = config_load_file(&cfg, path);
	FUZZ_ASSERT(rc == SW_OK || rc == SW_ERR_CONFIG, "load: %s (%s)",
	    sw_errname(rc), sw_errmsg());
	FUZZ_ASSERT(rc == SW_OK || sw_errmsg()[0] != '\0', "no message");
	check_table(&cfg);
	if (rc == SW_OK && config_validate(&cfg) == SW_OK) {
		url = config_bucket_url(cfg.cold_bucket);
		FUZZ_ASSERT(url == NULL || url[strlen(url) - 1] == '/',
		    "bucket URL '%s'", url);
		free(url);
		url = config_bucket_url(cfg.target_bucket);
		free(url);
	}
	config_release(&cfg);
	close(fd);
	return 0;
}
