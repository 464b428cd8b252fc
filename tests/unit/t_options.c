/* t_options.c - the option table and the YAML config file. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/options.h"
#include "tap.h"
#include "testlib.h"

static const char *dir;

static const char *
write_file(const char *name, const char *text)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

static sw_err
load(struct sw_config *cfg, const char *text)
{
	config_release(cfg);
	config_defaults(cfg);
	return config_load_file(cfg, write_file("c.yml", text));
}

int
main(void)
{
	struct sw_config cfg;
	char *found;
	sw_err rc;

	dir = test_tmpdir("t_options");
	config_defaults(&cfg);
	is_str(cfg.cold_prefix, "raw/", "default cold prefix");
	is_str(cfg.target_data_prefix, "consolidated/", "default data prefix");
	is_str(cfg.target_index_prefix, "index/", "default index prefix");
	is_str(cfg.timeseries_type, "ASSOCIATED", "default type");
	ok(cfg.tls_verify == 1, "TLS verification on by default");

	/* The sample's config.yml, unchanged. */
	rc = load(&cfg,
	    "timeseries_type: \"ASSOCIATED\"\n"
	    "s3:\n"
	    "  cold_tier:\n"
	    "    bucket_name: \"my-cold-tier\"\n"
	    "    data_prefix: \"raw/\"\n"
	    "  repartitioned:\n"
	    "    bucket_name: \"my-target\"\n"
	    "    data_prefix: \"consolidated/\"\n"
	    "    index_prefix: \"index/\"\n"
	    "  glue_assets:\n"
	    "    bucket_name: \"glue\"\n"
	    "    scripts_prefix: \"scripts/\"\n"
	    "profile: \"default\"\n"
	    "python_alias: \"python3\"\n"
	    "job_name_prefix: \"sitewise-cold-tier-repartitioning\"\n"
	    "glue_role_arn: \"arn:aws:iam::1:role/AWSGlueServiceRole-x\"\n");
	ok(rc == SW_OK, "the sample's config.yml loads (%s)", sw_errmsg());
	is_str(cfg.cold_bucket, "my-cold-tier", "cold bucket");
	is_str(cfg.target_bucket, "my-target", "target bucket");
	is_str(cfg.profile, "default", "profile");
	ok(config_validate(&cfg) == SW_OK, "and validates");

	rc = load(&cfg, "aws:\n  region: eu-west-1\n  tls_verify: no\n"
	    "  max_retries: 3\n  multipart_part_size: 8M\n"
	    "cache:\n  max_size: 2G\n  dir: /var/cache/x\n"
	    "timeseries_type: all\n");
	ok(rc == SW_OK, "own keys load (%s)", sw_errmsg());
	is_str(cfg.region, "eu-west-1", "aws.region");
	ok(cfg.tls_verify == 0, "aws.tls_verify: no");
	ok(cfg.max_retries == 3, "aws.max_retries");
	ok(cfg.part_size == 8ULL << 20, "part size 8M");
	ok(cfg.cache_max_size == 2ULL << 30, "cache.max_size 2G");
	is_str(cfg.timeseries_type, "ALL", "enum canonical spelling");

	rc = load(&cfg, "s3:\n  cold_tier:\n    bucket_nam: x\n");
	ok(rc == SW_ERR_CONFIG, "misspelt key rejected");
	ok(strstr(sw_errmsg(), "c.yml:3") != NULL, "with file and line: %s",
	    sw_errmsg());
	ok(strstr(sw_errmsg(), "did you mean 's3.cold_tier.bucket_name'") !=
	    NULL, "with a suggestion");

	rc = load(&cfg, "frobnicate: 1\n");
	ok(rc == SW_ERR_CONFIG && strstr(sw_errmsg(), "unknown key "
	    "'frobnicate'"), "unknown key rejected: %s", sw_errmsg());
	rc = load(&cfg, "aws:\n  max_retries: lots\n");
	ok(rc == SW_ERR_CONFIG && strstr(sw_errmsg(), ":2:"),
	    "bad number rejected with line: %s", sw_errmsg());
	rc = load(&cfg, "timeseries_type: SOME\n");
	ok(rc == SW_ERR_CONFIG, "bad enum rejected: %s", sw_errmsg());
	rc = load(&cfg, "s3:\n  cold_tier: [1, 2]\n");
	ok(rc == SW_ERR_CONFIG, "list where a mapping belongs rejected");
	rc = load(&cfg, "s3:\n  cold_tier:\n    bucket_name: {a: 1}\n");
	ok(rc == SW_ERR_CONFIG, "mapping where a value belongs rejected");
	rc = load(&cfg, "s3: [\n");
	ok(rc == SW_ERR_CONFIG && strstr(sw_errmsg(), "invalid YAML"),
	    "broken YAML rejected: %s", sw_errmsg());
	rc = load(&cfg, "- a\n- b\n");
	ok(rc == SW_ERR_CONFIG, "a list as the document rejected");
	rc = load(&cfg, "");
	ok(rc == SW_OK, "an empty file is fine");

	rc = load(&cfg, "s3:\n  cold_tier:\n    data_prefix: /raw/\n");
	ok(rc == SW_OK && config_validate(&cfg) == SW_ERR_CONFIG &&
	    strstr(sw_errmsg(), "must not start with '/'"),
	    "leading '/' in a prefix rejected: %s", sw_errmsg());
	rc = load(&cfg, "s3:\n  repartitioned:\n    index_prefix: index\n");
	ok(rc == SW_OK && config_validate(&cfg) == SW_ERR_CONFIG &&
	    strstr(sw_errmsg(), "must end with '/'"),
	    "prefix without trailing '/' rejected: %s", sw_errmsg());
	rc = load(&cfg, "s3:\n  cold_tier:\n    bucket_name: My_Bucket!\n");
	ok(rc == SW_OK && config_validate(&cfg) == SW_ERR_CONFIG,
	    "invalid bucket name rejected: %s", sw_errmsg());
	rc = load(&cfg, "s3:\n  cold_tier:\n    bucket_name: file:///tmp/x\n");
	ok(rc == SW_OK && config_validate(&cfg) == SW_OK,
	    "file:// bucket accepted");
	rc = load(&cfg, "aws:\n  multipart_part_size: 1M\n");
	ok(rc == SW_OK && config_validate(&cfg) == SW_ERR_CONFIG,
	    "part size under 5M rejected");

	ok(config_set(&cfg, opt_find_long("region"), "ap-south-1", "test") ==
	    SW_OK && strcmp(cfg.region, "ap-south-1") == 0,
	    "a command-line setting overrides");

	{
		char *u = config_bucket_url("bkt");

		is_str(u, "s3://bkt/", "bucket name -> s3:// URL");
		free(u);
		u = config_bucket_url("file:///d");
		is_str(u, "file:///d/", "file URL kept");
		free(u);
	}

	/* Lookup order. */
	unsetenv("SWREPART_CONFIG");
	setenv("HOME", dir, 1);
	unsetenv("XDG_CONFIG_HOME");
	ok(config_locate("/nonexistent/c.yml", &found) == SW_ERR_CONFIG,
	    "-c with a missing file is an error");
	setenv("SWREPART_CONFIG", write_file("env.yml", ""), 1);
	ok(config_locate(NULL, &found) == SW_OK && found &&
	    strstr(found, "env.yml"), "SWREPART_CONFIG is used");
	free(found);
	setenv("SWREPART_CONFIG", "/nonexistent.yml", 1);
	ok(config_locate(NULL, &found) == SW_ERR_CONFIG,
	    "a missing SWREPART_CONFIG file is an error");
	unsetenv("SWREPART_CONFIG");
	ok(config_locate(write_file("x.yml", ""), &found) == SW_OK && found &&
	    strstr(found, "x.yml"), "-c FILE wins");
	free(found);

	config_release(&cfg);
	test_tmpdir_remove();
	return done_testing();
}
