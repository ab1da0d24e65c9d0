# The DNS server workbook: build every step, run and grade them.  `make help` lists the targets.

CC      ?= cc
CSTD    := -std=c11 -D_POSIX_C_SOURCE=200809L
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS  ?= -O2 -g
CPPFLAGS += -Icommon
LDLIBS  :=

# SANITIZE=1: AddressSanitizer + UndefinedBehaviorSanitizer, in a build directory of its own so
# the two kinds of objects never mix.
ifeq ($(SANITIZE),1)
BUILD   ?= build/sanitize
CFLAGS  := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
export ASAN_OPTIONS  := detect_leaks=1:abort_on_error=0:exitcode=99
export UBSAN_OPTIONS := print_stacktrace=1:halt_on_error=1:exitcode=99
else
BUILD   ?= build
endif

ALL_CFLAGS := $(CSTD) $(WARN) $(CFLAGS)

# The shared library: every .c in common/.
COMMON_SRC := $(sort $(wildcard common/*.c))
COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/obj/%.o)
COMMON_LIB := $(BUILD)/libdnscommon.a

# Steps: steps/NN-name/ builds into $(BUILD)/step-N (NN without its leading zero).
STEP_DIRS := $(sort $(wildcard steps/[0-9][0-9]-*))
step_num   = $(patsubst 0%,%,$(firstword $(subst -, ,$(notdir $(1)))))
STEP_NUMS := $(foreach d,$(STEP_DIRS),$(call step_num,$(d)))
STEP_BINS := $(STEP_NUMS:%=$(BUILD)/step-%)
comma := ,
empty :=
space := $(empty) $(empty)
STEP_LIST := $(subst $(space),$(comma),$(STEP_NUMS))

# Unit tests: every tests/unit/*.c, linked with the library and CUnit.
UNIT_SRC := $(sort $(wildcard tests/unit/*.c))
UNIT_OBJ := $(UNIT_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_BIN := $(BUILD)/unit-tests

# The Python that has pytest and dnspython (found when a target needs it).
PYTHON = $(shell tests/find-python.sh)

# What `make step-N` gives each step before ARGS: the authoritative steps serve the example zones.
DEFAULT_ZONES   := --zone zones/example.com.zone --zone zones/2.0.192.in-addr.arpa.zone
STEP_DEFAULTS_4 := $(DEFAULT_ZONES)
STEP_DEFAULTS_5 := $(DEFAULT_ZONES)

# Arguments for `make step-N ARGS='--trace'`, and what `make grade` grades.
ARGS   ?=
STEP   ?= $(lastword $(STEP_NUMS))
SERVER ?=

.PHONY: all test unit conformance deps grade help format clean $(STEP_NUMS:%=step-%) \
        $(STEP_NUMS:%=test-step-%) $(STEP_NUMS:%=diff-step-%)

all: $(STEP_BINS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(COMMON_LIB): $(COMMON_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

# One block of rules per step directory.
define STEP_RULES
$(BUILD)/step-$(2): $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard $(1)/*.c)) $(COMMON_LIB)
	$$(CC) $$(LDFLAGS) $$^ $$(LDLIBS) -o $$@

step-$(2): $(BUILD)/step-$(2)
	@exec $(BUILD)/step-$(2) $$(STEP_DEFAULTS_$(2)) $$(ARGS)

test-step-$(2): deps $(BUILD)/step-$(2)
	$$(PYTHON) -m pytest tests/conformance --steps $(2) --build-dir $(BUILD) $$(PYTEST_ARGS)

diff-step-$(2):
	@$(if $(3),diff -ru --label $(3) --label $(1) $(3) $(1) || true,echo "step $(2) is the first step: nothing to compare with")
endef
STEP_INDEXES := $(shell seq 1 $(words $(STEP_DIRS)))
$(foreach i,$(STEP_INDEXES),$(eval $(call STEP_RULES,$(word $(i),$(STEP_DIRS)),$(call step_num,$(word $(i),$(STEP_DIRS))),$(filter-out none,$(word $(i),none $(STEP_DIRS))))))

$(UNIT_BIN): $(UNIT_OBJ) $(COMMON_LIB)
	$(CC) $(LDFLAGS) $^ -lcunit -o $@

deps:
	@tests/deps.sh

unit: deps $(UNIT_BIN)
	$(UNIT_BIN)

conformance: deps $(STEP_BINS)
	$(PYTHON) -m pytest tests/conformance --steps $(STEP_LIST) --build-dir $(BUILD) $(PYTEST_ARGS)

test: deps all unit conformance

grade: deps $(if $(SERVER),,$(BUILD)/step-$(STEP))
	$(PYTHON) tests/grade.py --step $(STEP) --build-dir $(BUILD) $(if $(SERVER),--server-cmd '$(SERVER)')

format:
	clang-format -i common/*.[ch] steps/*/*.[ch] tests/unit/*.[ch]

clean:
	rm -rf build

help:
	@echo 'make                  build every step into $(BUILD)/step-N'
	@echo 'make step-N           build and start the stage-N server on 127.0.0.1:2053 (ARGS="--trace")'
	@echo 'make test             check packages, build, run the unit and conformance tests'
	@echo 'make unit             only the CUnit tests of common/'
	@echo 'make test-step-N      only the conformance tests that apply to stage N'
	@echo 'make grade STEP=N     grade stage N (and the earlier stages that still apply) against'
	@echo "                      $(BUILD)/step-N, or any server: SERVER='python3 my.py --port {port}'"
	@echo 'make diff-step-N      what step N changed in its step directory, against step N-1'
	@echo 'make SANITIZE=1 ...   the same with AddressSanitizer + UndefinedBehaviorSanitizer'
	@echo 'make memcheck         the stage-5 conformance tests with the server under valgrind'
	@echo 'make fuzz             libFuzzer targets, FUZZ_SECONDS each (default 60)'
	@echo 'make bench            step 5 against NSD and the floor (dnsperf): one table'
	@echo 'make format           clang-format the C sources'
	@echo 'make clean            remove build/'
	@echo 'steps here: $(STEP_NUMS)'

# Hardening and performance (fuzz, memcheck, bench) live beside their tests.
include $(sort $(wildcard tests/*/*.mk))

-include $(COMMON_OBJ:.o=.d) $(UNIT_OBJ:.o=.d) $(wildcard $(BUILD)/obj/steps/*/*.d)
