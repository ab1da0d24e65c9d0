# The DNS server workbook: build every step, run and grade them.  `make help` lists the targets.

CC      ?= cc
CSTD    := -std=c11 -D_POSIX_C_SOURCE=200809L
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS  ?= -O2 -g
CPPFLAGS ?=
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

# The shared library: every .c in common/, compiled once; nothing in common/ includes a step's file.
COMMON_SRC := $(sort $(wildcard common/*.c))
COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/obj/%.o)

# Steps: steps/NN-name/ builds into $(BUILD)/step-N (NN without its leading zero).
STEP_DIRS := $(sort $(wildcard steps/[0-9][0-9]-*))
step_num   = $(patsubst 0%,%,$(firstword $(subst -, ,$(notdir $(1)))))
STEP_NUMS := $(foreach d,$(STEP_DIRS),$(call step_num,$(d)))
STEP_BINS := $(STEP_NUMS:%=$(BUILD)/step-%)
comma := ,
empty :=
space := $(empty) $(empty)
STEP_LIST := $(subst $(space),$(comma),$(STEP_NUMS))

# Copy-on-change. Step N is built from common/ plus, for each file name, the copy in the
# highest-numbered of steps/01..N that has it: a step directory holds only the files its stage adds
# or changes. $(call layers,N) lists where step N's files come from, oldest first; $(call
# overlay,N,c) is the newest copy of every .c file name in them. Headers follow the same rule
# through the include path, newest layer first (tests/check-layout.py checks that no file picks
# up an older header from its own directory).
# (Steps are numbered 1, 2, 3, ... without gaps, so step N's directory is the Nth.)
layers          = common $(wordlist 1,$(1),$(STEP_DIRS))
reverse         = $(if $(1),$(call reverse,$(wordlist 2,$(words $(1)),$(1))) $(firstword $(1)))
newest          = $(lastword $(wildcard $(addsuffix /$(1),$(2))))
overlay         = $(foreach f,$(sort $(notdir $(wildcard $(addsuffix /*.$(2),$(call layers,$(1)))))),$(call newest,$(f),$(call layers,$(1))))
step_includes   = $(addprefix -I,$(call reverse,$(call layers,$(1))))
# Objects of step N: common/ files come from the shared objects, step files are compiled for
# step N with its include path.
step_objects    = $(foreach s,$(call overlay,$(1),c),$(if $(filter common/%,$(s)),$(BUILD)/obj/$(s:.c=.o),$(BUILD)/obj/step-$(1)/$(s:.c=.o)))

# Unit tests: tests/unit/*.c test common/ (tests/unit/test_name.c tests common/name.c);
# tests/unit/NN-name/*.c test the files of steps/NN-name/ and build against step N's overlay.
UNIT_COMMON_SRC := $(sort $(wildcard tests/unit/*.c))
UNIT_COMMON_OBJ := $(UNIT_COMMON_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_STEP_DIRS  := $(sort $(wildcard tests/unit/[0-9][0-9]-*))
UNIT_STEP_NUMS  := $(foreach d,$(UNIT_STEP_DIRS),$(call step_num,$(d)))
UNIT_BINS       := $(BUILD)/unit/common $(UNIT_STEP_NUMS:%=$(BUILD)/unit/step-%)

# The Python that has pytest and dnspython (found when a target needs it).
PYTHON = $(shell tests/find-python.sh)

# What `make step-N` gives each step before ARGS: the authoritative steps serve the example zones.
DEFAULT_ZONES   := --zone zones/example.com.zone --zone zones/2.0.192.in-addr.arpa.zone
STEP_DEFAULTS_4 := $(DEFAULT_ZONES)
STEP_DEFAULTS_5 := $(DEFAULT_ZONES)
# The forwarder runs with an upstream: the step-5 server on 127.0.0.1:$(UPSTREAM_PORT) serving the
# example zones, started by tests/with-upstream.sh, or RESOLVER=ip:port (never outside 127.0.0.0/8
# on a machine without network).
STEP_LAUNCH_6   := tests/with-upstream.sh
STEP_NEEDS_6    := $(BUILD)/step-5
UPSTREAM_PORT   ?= 2054
export UPSTREAM_PORT RESOLVER
# The resolver starts from the root servers of the sandbox internet (make sandbox, started by
# tests/with-sandbox.sh if it is not running), or of ROOT_HINTS=file with NS_PORT=port (53) on a
# machine with internet access. The sandbox's name servers are step 9 without --root-hints: an
# authoritative server like step 5, with EDNS(0) and TCP, so that a big answer can be fetched.
SANDBOX_SERVER  := $(BUILD)/step-9
STEP_LAUNCH_7   := tests/with-sandbox.sh
STEP_NEEDS_7    := $(SANDBOX_SERVER)
STEP_LAUNCH_8   := tests/with-sandbox.sh
STEP_NEEDS_8    := $(SANDBOX_SERVER)
STEP_LAUNCH_9   := tests/with-sandbox.sh
STEP_NEEDS_9    := $(SANDBOX_SERVER)
# The sandbox's port (see `make sandbox` below); defined before it is exported, or the export
# would leave it defined and empty and the ?= would do nothing.
SANDBOX_PORT ?= 5300
export ROOT_HINTS NS_PORT SANDBOX_PORT

# Arguments for `make step-N ARGS='--trace'`, and what `make grade` grades.
ARGS   ?=
STEP   ?= $(lastword $(STEP_NUMS))
SERVER ?=

.PHONY: all test unit conformance deps grade help format clean check-layout $(STEP_NUMS:%=step-%) \
        $(STEP_NUMS:%=test-step-%) $(STEP_NUMS:%=diff-step-%)

all: $(STEP_BINS)

$(BUILD)/obj/common/%.o: common/%.c
	@mkdir -p $(dir $@)
	$(CC) -Icommon $(CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/tests/unit/%.o: tests/unit/%.c
	@mkdir -p $(dir $@)
	$(CC) -Icommon -Itests/unit $(CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

# One block of rules per step directory: $(1) is the directory, $(2) the step number.
define STEP_RULES
STEP_OBJ_$(2) := $(call step_objects,$(2))

$(BUILD)/obj/step-$(2)/%.o: %.c
	@mkdir -p $$(dir $$@)
	$$(CC) $(call step_includes,$(2)) $$(CPPFLAGS) $$(ALL_CFLAGS) -MMD -MP -c $$< -o $$@

# The unit tests of step $(2)'s files: the same include path, and tests.h.
$(BUILD)/obj/step-$(2)/tests/unit/%.o: tests/unit/%.c
	@mkdir -p $$(dir $$@)
	$$(CC) $(call step_includes,$(2)) -Itests/unit $$(CPPFLAGS) $$(ALL_CFLAGS) -MMD -MP -c $$< -o $$@

$(BUILD)/step-$(2): $$(STEP_OBJ_$(2))
	$$(CC) $$(LDFLAGS) $$^ $$(LDLIBS) -o $$@

step-$(2): $(BUILD)/step-$(2) $$(STEP_NEEDS_$(2))
	@exec $$(STEP_LAUNCH_$(2)) $(BUILD)/step-$(2) $$(STEP_NEEDS_$(2)) $$(STEP_DEFAULTS_$(2)) $$(ARGS)

test-step-$(2): deps $(BUILD)/step-$(2)
	$$(PYTHON) -m pytest tests/conformance --steps $(2) --build-dir $(BUILD) $$(PYTEST_ARGS)

# What chapter $(2) walks through: every file of $(1) against the copy it overrides.
diff-step-$(2):
	@$(foreach f,$(sort $(notdir $(wildcard $(1)/*))),\
	    $(call diff_file,$(call newest,$(f),$(filter-out $(1),$(call layers,$(2)))),$(1)/$(f)))true
endef

# $(call diff_file,OLD,NEW): a header line, then a unified diff, or the whole file when it is new.
diff_file = $(if $(1),echo "=== $(2): changed from $(1)"; diff -u --label $(1) --label $(2) $(1) $(2);,\
    echo "=== $(2): new"; diff -u --label /dev/null --label $(2) /dev/null $(2);)

$(foreach d,$(STEP_DIRS),$(eval $(call STEP_RULES,$(d),$(call step_num,$(d)))))

# The sandbox internet (zones/sandbox/README.md): a root, top-level and second-level name
# servers on 127.0.0.x, one $(SANDBOX_SERVER) per line of zones/sandbox/servers, all on port
# SANDBOX_PORT, in the background, for the iterative resolver of step 7 to walk.
# tests/sandbox.sh starts and stops them: PIDs in $(BUILD)/sandbox/pids, a log per address
# beside them. Starting a running sandbox, or stopping a stopped one, says so and succeeds.
.PHONY: sandbox sandbox-stop
sandbox: $(SANDBOX_SERVER)
	@SANDBOX_BINARY=$(SANDBOX_SERVER) SANDBOX_DIR=$(BUILD)/sandbox SANDBOX_PORT=$(SANDBOX_PORT) \
	    tests/sandbox.sh start
sandbox-stop:
	@SANDBOX_DIR=$(BUILD)/sandbox tests/sandbox.sh stop

# A unit-test binary per layer that has tests: tests/unit/main.c runs the suites that
# suites.c of its directory registers.
$(BUILD)/unit/common: $(UNIT_COMMON_OBJ) $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ -lcunit -o $@

define UNIT_RULES
$(BUILD)/unit/step-$(2): $(BUILD)/obj/tests/unit/main.o \
        $(patsubst %.c,$(BUILD)/obj/step-$(2)/%.o,$(sort $(wildcard $(1)/*.c))) \
        $(filter-out %/main.o,$(STEP_OBJ_$(2)))
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) $$^ -lcunit -o $$@
endef
$(foreach d,$(UNIT_STEP_DIRS),$(eval $(call UNIT_RULES,$(d),$(call step_num,$(d)))))

deps:
	@tests/deps.sh

unit: deps $(UNIT_BINS)
	@status=0; for t in $(UNIT_BINS); do echo "== $$t"; $$t || status=1; done; exit $$status

# The copy-on-change layout holds: no step file equal to the one it overrides, no unused file, no
# file that would compile against an older copy of a header.
check-layout: deps
	@$(PYTHON) tests/check-layout.py

# Every output the chapters mark as checked is what the programs print now (tests/check-docs.py
# says how blocks are marked, and what may vary). Needs dig; blocks that need kdig, drill or root
# are skipped, with a line, when those are missing.
.PHONY: check-docs
check-docs: deps all
	@/usr/bin/python3 tests/check-docs.py --build-dir $(BUILD)

conformance: deps $(STEP_BINS)
	$(PYTHON) -m pytest tests/conformance --steps $(STEP_LIST) --build-dir $(BUILD) $(PYTEST_ARGS)

test: deps all check-layout unit conformance

# PART=k: stage 4 up to part k (tests/grade.py --help lists the parts and SERVER's placeholders).
grade: deps $(if $(SERVER),,$(BUILD)/step-$(STEP))
	$(PYTHON) tests/grade.py --step $(STEP) $(if $(PART),--part $(PART) )--build-dir $(BUILD) $(if $(SERVER),--server-cmd '$(SERVER)')

format:
	clang-format -i common/*.[ch] steps/*/*.[ch] tests/unit/*.[ch] tests/unit/*/*.[ch]

clean:
	rm -rf build

help:
	@echo 'make                  build every step into $(BUILD)/step-N'
	@echo 'make step-N           build and start the stage-N server on 127.0.0.1:2053 (ARGS="--trace")'
	@echo '                      (step 6 forwards to a step-5 server it starts on port $(UPSTREAM_PORT),'
	@echo '                      or to RESOLVER=ip:port; step 7 resolves in the sandbox internet,'
	@echo '                      started if needed, or from ROOT_HINTS=file NS_PORT=53)'
	@echo 'make sandbox          start the sandbox internet of zones/sandbox/ for step 7, in the'
	@echo '                      background: name servers on 127.0.0.x, port $(SANDBOX_PORT) (SANDBOX_PORT=P)'
	@echo 'make sandbox-stop     stop it'
	@echo 'make test             check packages, build, run the unit and conformance tests'
	@echo 'make unit             only the CUnit tests (common/ and each step that has its own)'
	@echo 'make check-layout     check the copy-on-change layout of steps/'
	@echo 'make check-docs       run the chapters'"'"' checked command blocks, diff what they print'
	@echo 'make test-step-N      only the conformance tests that apply to stage N'
	@echo 'make grade STEP=N     grade stage N (and the earlier stages that still apply) against'
	@echo "                      $(BUILD)/step-N, or any server: SERVER='python3 my.py --port {port}'"
	@echo 'make diff-step-N      the code of chapter N: each file of its step directory against the'
	@echo '                      copy it overrides (or the whole file when it is new)'
	@echo 'make SANITIZE=1 ...   the same with AddressSanitizer + UndefinedBehaviorSanitizer'
	@echo 'make memcheck         the conformance tests of stages 5 to 9, the server under valgrind'
	@echo 'make fuzz             libFuzzer targets, FUZZ_SECONDS each (default 60)'
	@echo 'make bench            the servers against NSD, unbound and the floor (dnsperf): one table;'
	@echo '                      then make bench-cost: queries each resolver sends (needs root, unbound)'
	@echo 'make chaos            the resolvers against forged replies and broken name servers'
	@echo '                      (docs/hardening.md)'
	@echo 'make soak             10 minutes of mixed load on step 9, the sandbox partly down'
	@echo '                      (docs/hardening.md)'
	@echo 'make format           clang-format the C sources'
	@echo 'make clean            remove build/'
	@echo 'steps here: $(STEP_NUMS)'

# Hardening and performance (fuzz, memcheck, bench) live beside their tests.
include $(sort $(wildcard tests/*/*.mk))

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
