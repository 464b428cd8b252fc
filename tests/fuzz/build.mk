# build.mk - builds and runs the libFuzzer harnesses (GNU make).  Not
# meant to be run by hand: fuzz.mk calls it with the configured flags
# (make fuzz, make fuzz-regress, make fuzz-build).
#
# The project's sources are compiled again with clang, the fuzzer's
# coverage instrumentation and ASan + UBSan, into objects of their own
# under $(OUT)/obj: the main build (gcc) is left alone.

SRCDIR ?= .
OUT ?= tests/fuzz/build
CC = clang
SECONDS ?= 60
SYSCONFDIR ?= /usr/local/etc
LIB_SOURCES ?=
LIB_CFLAGS ?=
LIBS ?=

FUZZDIR = $(SRCDIR)/tests/fuzz
SAN = -fsanitize=address,undefined -fno-sanitize-recover=undefined
CFLAGS_FUZZ = -g -O1 -fno-omit-frame-pointer $(SAN) -pthread \
	-Wall -Wno-unused-parameter
CPPFLAGS_FUZZ = -DHAVE_CONFIG_H -I$(BUILDDIR) -iquote $(SRCDIR)/src \
	-I$(FUZZDIR) -DSYSCONFDIR='"$(SYSCONFDIR)"' $(LIB_CFLAGS)

LIB_SRCS = $(filter %.c,$(LIB_SOURCES))
LIB_OBJS = $(patsubst %.c,$(OUT)/obj/%.o,$(LIB_SRCS))
HARNESSES = $(sort $(patsubst $(FUZZDIR)/fuzz_%.c,%,\
	$(filter-out $(FUZZDIR)/fuzz_common.c,$(wildcard $(FUZZDIR)/fuzz_*.c))))
BINS = $(patsubst %,$(OUT)/fuzz_%,$(HARNESSES))

all: $(BINS)

$(OUT)/obj/%.o: $(SRCDIR)/%.c
	@mkdir -p $(dir $@)
	@echo "  CC (fuzz) $*.c"
	@$(CC) $(CPPFLAGS_FUZZ) $(CFLAGS_FUZZ) -fsanitize=fuzzer-no-link \
	    -MMD -MP -c -o $@ $<

$(OUT)/libswrepart-fuzz.a: $(LIB_OBJS)
	@rm -f $@
	@ar crs $@ $(LIB_OBJS)

$(OUT)/fuzz_%: $(OUT)/obj/tests/fuzz/fuzz_%.o \
    $(OUT)/obj/tests/fuzz/fuzz_common.o $(OUT)/libswrepart-fuzz.a
	@echo "  LD (fuzz) $(notdir $@)"
	@$(CC) $(CFLAGS_FUZZ) -fsanitize=fuzzer -o $@ $^ $(LIBS)

-include $(LIB_OBJS:.o=.d) $(OUT)/obj/tests/fuzz/*.d

# Each harness once over each input of its committed corpus: a crash, a
# leak or a broken invariant fails.  Inputs listed in known-bugs (a bug
# found and reported, not fixed yet) run one by one and are expected to
# fail (XFAIL); one that passes is reported (XPASS: delete its line).
KNOWN = $(FUZZDIR)/known-bugs
regress: $(BINS)
	@fail=; for h in $(HARNESSES); do \
	  dir=$(FUZZDIR)/corpus/$$h; \
	  known=$$(sed -n "s|^$$h/\([^ ]*\).*|\1|p" $(KNOWN) 2>/dev/null | tr "\n" " "); \
	  files=; n=0; \
	  for f in "$$dir"/*; do \
	    case " $$known " in *" $${f##*/} "*) continue;; esac; \
	    [ -f "$$f" ] && { files="$$files $$f"; n=$$((n + 1)); }; \
	  done; \
	  if [ "$$n" -eq 0 ]; then echo "FAIL: fuzz_$$h: no corpus"; \
	    fail="$$fail $$h"; continue; fi; \
	  if $(OUT)/fuzz_$$h -timeout=25 $$files \
	      >$(OUT)/regress-$$h.log 2>&1; then \
	    echo "PASS: fuzz_$$h ($$n inputs)"; \
	  else \
	    echo "FAIL: fuzz_$$h (log: $(OUT)/regress-$$h.log)"; \
	    grep -a -m1 -B2 -A12 'invariant\|ERROR:' \
	      $(OUT)/regress-$$h.log; fail="$$fail $$h"; \
	  fi; \
	  for k in $$known; do \
	    if $(OUT)/fuzz_$$h -timeout=25 "$$dir/$$k" \
	        >$(OUT)/regress-$$h-$$k.log 2>&1; then \
	      echo "XPASS: fuzz_$$h $$k: fixed? delete its line from tests/fuzz/known-bugs"; \
	    else \
	      echo "XFAIL: fuzz_$$h $$k (known bug: tests/fuzz/known-bugs)"; \
	    fi; \
	  done; \
	done; \
	if [ -n "$$fail" ]; then echo "fuzz-regress: failed:$$fail"; exit 1; fi

# Each harness for SECONDS over a scratch copy of its corpus; new inputs
# stay in $(OUT)/scratch, crashes in $(OUT)/artifacts (see README.md).
run: $(BINS)
	@fail=; for h in $(HARNESSES); do \
	  s=$(OUT)/scratch/$$h; a=$(OUT)/artifacts/$$h/; \
	  mkdir -p "$$s" "$$a"; \
	  cp $(FUZZDIR)/corpus/$$h/* "$$s"/ 2>/dev/null; \
	  dict=; [ -f $(FUZZDIR)/dict/$$h.dict ] && \
	    dict=-dict=$(FUZZDIR)/dict/$$h.dict; \
	  echo "fuzz_$$h: $(SECONDS) s (log: $(OUT)/run-$$h.log)"; \
	  if $(OUT)/fuzz_$$h -max_total_time=$(SECONDS) -timeout=25 \
	      -print_final_stats=1 -artifact_prefix="$$a" $$dict "$$s" \
	      >$(OUT)/run-$$h.log 2>&1; then \
	    grep -E '^stat::(number_of_executed_units|new_units_added)|cov: ' \
	      $(OUT)/run-$$h.log | tail -n 3; \
	  else \
	    echo "FAIL: fuzz_$$h: the input is in $$a"; \
	    tail -n 40 $(OUT)/run-$$h.log; fail="$$fail $$h"; \
	  fi; \
	done; \
	if [ -n "$$fail" ]; then echo "fuzz: failed:$$fail"; exit 1; fi

.PHONY: all regress run
.SECONDARY:
