/*
 * testlib.h - what the unit tests share beyond TAP (tap.h): one temporary
 * directory per test program, made fresh and removed with all in it.
 *
 *   const char *dir = test_tmpdir("t_gen");
 *   ...
 *   test_tmpdir_remove();
 *   return done_testing();
 */
#ifndef SWREPART_TESTLIB_H
#define SWREPART_TESTLIB_H

/* Make $TMPDIR/NAME.XXXXXX (/tmp when TMPDIR is unset or empty) and return
 * its path, valid until test_tmpdir_remove(); bails out of the test when
 * it cannot be made. */
const char *test_tmpdir(const char *name);
/* Remove that directory and everything below it (rmtree(): symbolic links
 * are removed, never followed); a diagnostic says what stayed. */
void test_tmpdir_remove(void);

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct buf;
struct sw_config;

/* Write data as DIR/KEY, making KEY's directories: a gen_emit_fn
 * (core/gen.h) that lays a generated cold tier out under dir (arg). */
sw_err test_write_under(void *dir, const char *key, const void *data,
    size_t n);

/* Generate the windows first..last of 2022-01-01 (gen_params_init()'s
 * day), series series of records records per object, under dir
 * (test_write_under): the data objects written, 0 with a diagnostic when
 * it fails. */
uint64_t test_gen_windows(char *dir, int series, int records, int first,
    int last);

/* The defaults with a file:// cold tier at cold, every series
 * (timeseries_type ALL) and the cache at cache; config_release() frees
 * cfg. */
void test_config(struct sw_config *cfg, const char *cold, const char *cache);

/* Why the checks against the independent Avro implementation
 * (tests/integration/avro_tool.py under $top_srcdir, with python3-avro
 * and python3-snappy) cannot run here, or NULL when they can. */
const char *test_avro_tool_missing(void);
/* Run avro_tool.py with args (shell words).  With out, its standard
 * output replaces out's contents; without, its output and errors become
 * diagnostics unless quiet.  Its exit status, or -1. */
int test_avro_tool(const char *args, int quiet, struct buf *out);
/* The whole file at path into b (replacing what b held); 0 if it cannot
 * be opened. */
int test_read_file(const char *path, struct buf *b);

#endif
