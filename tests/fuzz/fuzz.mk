# tests/fuzz/fuzz.mk - the libFuzzer harnesses (tests/fuzz/README.md),
# included by Makefile.am.
#
#   make fuzz            build every harness, run each for FUZZ_SECONDS
#   make fuzz-regress    build, run each once over its committed corpus
#   make fuzz-build      build only (tests/fuzz/build/fuzz_*)
#   make fuzz-clean
#
# They need clang and its libFuzzer runtime (Debian: clang and
# libclang-rt-14-dev); without them the targets say so and succeed.
FUZZ_CC = clang
FUZZ_SECONDS = 60
FUZZ_MAKE = $(MAKE) --no-print-directory -f $(srcdir)/tests/fuzz/build.mk \
	SRCDIR='$(abs_top_srcdir)' BUILDDIR='$(abs_top_builddir)' \
	OUT='$(abs_top_builddir)/tests/fuzz/build' CC='$(FUZZ_CC)' \
	SYSCONFDIR='$(sysconfdir)' LIB_SOURCES='$(libswrepart_a_SOURCES)' \
	LIB_CFLAGS='$(FUSE_CFLAGS) $(AVRO_CFLAGS) $(CURL_CFLAGS) \
	  $(OPENSSL_CFLAGS) $(SQLITE_CFLAGS) $(YAML_CFLAGS) \
	  $(JANSSON_CFLAGS) $(XML_CFLAGS) $(ZLIB_CFLAGS)' \
	LIBS='$(FUSE_LIBS) $(AVRO_LIBS) $(CURL_LIBS) $(OPENSSL_LIBS) \
	  $(SQLITE_LIBS) $(YAML_LIBS) $(JANSSON_LIBS) $(XML_LIBS) \
	  $(ZLIB_LIBS) $(SNAPPY_LIBS)'
# Whether $(FUZZ_CC) links a libFuzzer target (the runtime is there).
FUZZ_HAVE = printf 'int LLVMFuzzerTestOneInput(const char *d, long n)\n{\n\treturn (int)(d[0] * n) * 0;\n}\n' | \
	$(FUZZ_CC) -x c -fsanitize=fuzzer,address,undefined \
	  -o tests/fuzz/.have-fuzzer - >/dev/null 2>&1 && \
	rm -f tests/fuzz/.have-fuzzer
FUZZ_SKIP = echo "fuzz: skipped: '$(FUZZ_CC)' cannot link a libFuzzer target (install clang and libclang-rt-14-dev: contrib/debian-packages.sh --test)"

fuzz-build:
	@$(MKDIR_P) tests/fuzz
	@if $(FUZZ_HAVE); then $(FUZZ_MAKE) all; else $(FUZZ_SKIP); fi
fuzz:
	@$(MKDIR_P) tests/fuzz
	@if $(FUZZ_HAVE); then $(FUZZ_MAKE) run SECONDS=$(FUZZ_SECONDS); \
	else $(FUZZ_SKIP); fi
fuzz-regress:
	@$(MKDIR_P) tests/fuzz
	@if $(FUZZ_HAVE); then $(FUZZ_MAKE) regress; else $(FUZZ_SKIP); fi
fuzz-clean:
	rm -rf tests/fuzz/build
.PHONY: fuzz fuzz-build fuzz-regress fuzz-clean

FUZZ_DIST = tests/fuzz/fuzz.mk tests/fuzz/build.mk tests/fuzz/README.md \
	tests/fuzz/.gitignore tests/fuzz/seed-avro.py tests/fuzz/known-bugs \
	tests/fuzz/fuzz_common.c tests/fuzz/fuzz_common.h \
	tests/fuzz/fuzz_avro_merge.c tests/fuzz/fuzz_schema.c \
	tests/fuzz/fuzz_s3list.c tests/fuzz/fuzz_s3http.c \
	tests/fuzz/fuzz_sitewise.c tests/fuzz/fuzz_creds_ini.c \
	tests/fuzz/fuzz_creds_http.c tests/fuzz/fuzz_config.c \
	tests/fuzz/fuzz_coldkey.c tests/fuzz/fuzz_manifest.c \
	tests/fuzz/fuzz_catalog.c tests/fuzz/fuzz_names.c \
	tests/fuzz/corpus tests/fuzz/dict
