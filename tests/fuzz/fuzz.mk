# Coverage-guided fuzzing with libFuzzer (clang): `make fuzz` builds every target in tests/fuzz/
# and runs each for FUZZ_SECONDS; any crash, sanitizer report, leak or timeout fails the run.
# See docs/fuzzing.md.

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
# A target is SOURCE or SOURCE-N: tests/fuzz/fuzz_SOURCE.c built against common/ alone, or
# against step N's code (common/ plus the newest copy of each file in steps/01..N, as the
# Makefile's `overlay` gives it). A source whose code under test differs between steps is built
# for each of them; the targets of one source share its seeds, tests/fuzz/corpus/SOURCE/.
FUZZ_TARGETS ?= query name trace zone-4 zone-5 answer-4 answer-5 roundtrip-5 relay-6 \
                upstream-7 resolve-8 upstream-9 edns-9 tcp-9
FUZZ_DIR     := build/fuzz

fuzz_source  = $(firstword $(subst -, ,$(1)))
fuzz_step    = $(or $(word 2,$(subst -, ,$(1))),0)

# One instrumentation for everything: libFuzzer's coverage, ASan and UBSan, with every UBSan
# report fatal so libFuzzer saves the input. The code under test is compiled again here, never
# taken from the gcc build, so it is instrumented too. clang may warn where gcc does not: that
# code is built with the same warnings but without -Werror, so someone else's new warning cannot
# stop the fuzzers; the targets themselves keep -Werror.
FUZZ_SAN      := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS   := $(CSTD) -g -O1 -fno-omit-frame-pointer $(FUZZ_SAN)
FUZZ_WARN     := $(filter-out -Werror,$(WARN))
# What a target needs beyond its step's include path: the zones fuzz_answer serves, and the
# step it is built against (step 4 answers one question, step 5 up to 16).
fuzz_cppflags  = -DFUZZ_ZONE_DIR='"$(CURDIR)/zones"' -DFUZZ_STEP=$(call fuzz_step,$(1))
# Source-based coverage for `make fuzz-coverage`: no sanitizers, libFuzzer only to drive it.
FUZZ_COV_FLAGS := $(CSTD) -g -O1 -fsanitize=fuzzer -fprofile-instr-generate -fcoverage-mapping

# The code of step N (0: common/ alone) that a target links: every .c of its overlay but main.c.
# common/ files are compiled once for all steps, a step's files once per step (their include
# path is the step's).
fuzz_sources = $(filter-out %/main.c,$(call overlay,$(1),c))
fuzz_objects = $(foreach s,$(call fuzz_sources,$(1)),$(if $(filter common/%,$(s)),\
                   $(FUZZ_DIR)/obj/$(s:.c=.o),$(FUZZ_DIR)/obj/step-$(1)/$(s:.c=.o)))

# A source whose target #includes the .c file under test, to reach its static functions
# (fuzz_resolve.c includes resolve.c, fuzz_upstream.c upstream.c): that file is left out of
# the link, which would otherwise define its functions twice.
fuzz_includes_resolve  := %/resolve.c
fuzz_includes_upstream := %/upstream.c
fuzz_link_sources = $(filter-out $(fuzz_includes_$(call fuzz_source,$(1))),\
                        $(call fuzz_sources,$(call fuzz_step,$(1))))
fuzz_link_objects = $(filter-out $(patsubst %.c,%.o,$(fuzz_includes_$(call fuzz_source,$(1)))),\
                        $(call fuzz_objects,$(call fuzz_step,$(1))))

FUZZ_BINS      := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz_%)
FUZZ_COV_BINS  := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/coverage/fuzz_%)
FUZZ_TOOLCHAIN := $(FUZZ_DIR)/.toolchain-ok

.PHONY: fuzz fuzz-build fuzz-clean fuzz-coverage fuzz-always

fuzz: fuzz-build
	@tests/fuzz/run.sh --seconds $(FUZZ_SECONDS) --dir $(FUZZ_DIR) $(FUZZ_TARGETS)

fuzz-build: $(FUZZ_BINS)

fuzz-clean:
	rm -rf $(FUZZ_DIR)

fuzz-always:

# Checked once per build directory: clang and its libFuzzer runtime can build a target.
$(FUZZ_TOOLCHAIN): tests/fuzz/deps.sh
	@tests/fuzz/deps.sh $(FUZZ_CC) $(FUZZ_DIR)
	@touch $@

$(FUZZ_DIR)/obj/common/%.o: common/%.c | $(FUZZ_TOOLCHAIN)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -Icommon $(FUZZ_CFLAGS) $(FUZZ_WARN) -MMD -MP -c $< -o $@

define FUZZ_STEP_RULES
$(FUZZ_DIR)/obj/step-$(1)/%.o: %.c | $(FUZZ_TOOLCHAIN)
	@mkdir -p $$(dir $$@)
	$$(FUZZ_CC) $(call step_includes,$(1)) $$(FUZZ_CFLAGS) $$(FUZZ_WARN) -MMD -MP -c $$< -o $$@
endef
$(foreach n,$(STEP_NUMS),$(eval $(call FUZZ_STEP_RULES,$(n))))

# A target: its source, compiled with the step's include path (-MF records the headers it
# reads, and a .c it #includes, which become prerequisites on the next run: only its own .c,
# $<, and the objects go to clang), linked with the step's objects. Its coverage twin is built from all the sources in one
# clang command, every time (`make fuzz-coverage` is rare, and then it must be current).
define FUZZ_TARGET_RULES
$(FUZZ_DIR)/fuzz_$(1): tests/fuzz/fuzz_$(call fuzz_source,$(1)).c \
        $(call fuzz_link_objects,$(1)) | $(FUZZ_TOOLCHAIN)
	$$(FUZZ_CC) $(call step_includes,$(call fuzz_step,$(1))) $(call fuzz_cppflags,$(1)) \
	    $$(FUZZ_CFLAGS) $$(WARN) -MMD -MP -MF $$@.d -MT $$@ $$< $$(filter %.o,$$^) -o $$@

$(FUZZ_DIR)/coverage/fuzz_$(1): tests/fuzz/fuzz_$(call fuzz_source,$(1)).c \
        $(call fuzz_link_sources,$(1)) fuzz-always | $(FUZZ_TOOLCHAIN)
	@mkdir -p $$(dir $$@)
	$$(FUZZ_CC) $(call step_includes,$(call fuzz_step,$(1))) $(call fuzz_cppflags,$(1)) \
	    $$(FUZZ_COV_FLAGS) $$(filter %.c,$$^) -o $$@
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call FUZZ_TARGET_RULES,$(t))))

-include $(shell find $(FUZZ_DIR) -name '*.d' 2>/dev/null)

# How much of common/ and steps/ the working corpus (or the seeds) reaches, by llvm-cov; see
# docs/fuzzing.md.
fuzz-coverage: $(FUZZ_COV_BINS)
	@tests/fuzz/coverage.sh $(FUZZ_CC) $(FUZZ_DIR) $(FUZZ_TARGETS)
