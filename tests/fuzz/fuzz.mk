# Coverage-guided fuzzing with libFuzzer (clang): `make fuzz` builds every target in tests/fuzz/
# and runs each for FUZZ_SECONDS; any crash, sanitizer report, leak or timeout fails the run.
# See docs/fuzzing.md.

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= query name zone answer roundtrip trace
FUZZ_DIR     := build/fuzz

# One instrumentation for everything: libFuzzer's coverage, ASan and UBSan, with every UBSan
# report fatal so libFuzzer saves the input. common/ is compiled again here, never taken from
# the gcc library, so its code is instrumented too. clang may warn where gcc does not: common/
# is built with the same warnings but without -Werror, so someone else's new warning cannot
# stop the fuzzers; the targets themselves keep -Werror.
FUZZ_SAN     := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS  := $(CSTD) -g -O1 -fno-omit-frame-pointer $(FUZZ_SAN)
FUZZ_CPPFLAGS := -Icommon -DFUZZ_ZONE_DIR='"$(CURDIR)/zones"'

FUZZ_COMMON_OBJ := $(COMMON_SRC:common/%.c=$(FUZZ_DIR)/obj/common/%.o)
FUZZ_BINS       := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz_%)
FUZZ_TOOLCHAIN  := $(FUZZ_DIR)/.toolchain-ok

.PHONY: fuzz fuzz-build fuzz-clean fuzz-coverage
# Objects made by a pattern rule for a pattern rule: keep them, or make deletes them after linking.
.SECONDARY: $(FUZZ_COMMON_OBJ)

fuzz: fuzz-build
	@tests/fuzz/run.sh --seconds $(FUZZ_SECONDS) --dir $(FUZZ_DIR) $(FUZZ_TARGETS)

fuzz-build: $(FUZZ_BINS)

fuzz-clean:
	rm -rf $(FUZZ_DIR)

# Checked once per build directory: clang and its libFuzzer runtime can build a target.
$(FUZZ_TOOLCHAIN): tests/fuzz/deps.sh
	@tests/fuzz/deps.sh $(FUZZ_CC) $(FUZZ_DIR)
	@touch $@

$(FUZZ_DIR)/obj/common/%.o: common/%.c | $(FUZZ_TOOLCHAIN)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) $(filter-out -Werror,$(WARN)) -MMD -MP -c $< -o $@

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_COMMON_OBJ) | $(FUZZ_TOOLCHAIN)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) $(WARN) $< $(FUZZ_COMMON_OBJ) -o $@

-include $(FUZZ_COMMON_OBJ:.o=.d)

# How much of common/ the working corpus (or the seeds) reaches, by llvm-cov; see docs/fuzzing.md.
fuzz-coverage: | $(FUZZ_TOOLCHAIN)
	@tests/fuzz/coverage.sh $(FUZZ_CC) $(FUZZ_DIR)/coverage $(FUZZ_TARGETS)
