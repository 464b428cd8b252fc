/*
 * fuzz_creds_ini.c - the shared AWS files (~/.aws/credentials and
 * ~/.aws/config, botocore's INI dialect: [DEFAULT], nested blocks,
 * continuation lines, "profile NAME" sections split like a shell word
 * list), through the public creds_provider_new() and creds_region().
 * The files are memfds named by /proc/self/fd paths; the instance
 * metadata service is off, so nothing leaves the process.
 *
 * Input: the credentials file, "\n=====\n", the config file; the input's
 * size picks the profile (the default chain, an explicit "dev", or
 * AWS_PROFILE=prod).  Invariants: a provider that is created hands out a
 * key id and a secret that are not empty, and names its source; a region
 * found is a non-empty string; errors carry a message; everything is
 * freed.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "aws/creds.h"
#include "fuzz_common.h"
#include "base/options.h"

#define SEP "\n=====\n"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p[2];
	size_t len[2], n;
	struct sw_config cfg;
	struct creds_provider *cp = NULL;
	struct aws_creds c;
	char path[2][64];
	char *region = NULL;
	int fd[2];
	sw_err rc;

	fuzz_init();
	if (size > 64 * 1024)
		return 0;
	n = fuzz_split(data, size, SEP, p, len, 2);
	fd[0] = fuzz_memfd(p[0], len[0]);
	fd[1] = fuzz_memfd(n > 1 ? p[1] : data, n > 1 ? len[1] : 0);
	fuzz_fd_path(fd[0], path[0]);
	fuzz_fd_path(fd[1], path[1]);
	setenv("AWS_SHARED_CREDENTIALS_FILE", path[0], 1);
	setenv("AWS_CONFIG_FILE", path[1], 1);
	memset(&cfg, 0, sizeof(cfg));
	unsetenv("AWS_PROFILE");
	if (size % 3 == 1)
		cfg.profile = "dev";
	else if (size % 3 == 2)
		setenv("AWS_PROFILE", "prod", 1);

	rc = creds_provider_new(&cfg, &cp);
	if (rc == SW_OK) {
		FUZZ_ASSERT(creds_source(cp) != NULL && creds_source(cp)[0],
		    "no source");
		memset(&c, 0, sizeof(c));
		FUZZ_ASSERT(creds_get(cp, (time_t)1714521600, &c) == SW_OK,
		    "static credentials: %s", sw_errmsg());
		FUZZ_ASSERT(c.access_key != NULL && c.access_key[0] != '\0' &&
		    c.secret_key != NULL && c.secret_key[0] != '\0',
		    "incomplete credentials from %s", creds_source(cp));
		creds_release(&c);
	} else {
		FUZZ_ASSERT(sw_errmsg()[0] != '\0', "error %s without a message",
		    sw_errname(rc));
	}
	creds_provider_free(cp);
	if (creds_region(&cfg, &region) == SW_OK && region != NULL)
		FUZZ_ASSERT(region[0] != '\0', "an empty region");
	free(region);
	close(fd[0]);
	close(fd[1]);
	return 0;
}
