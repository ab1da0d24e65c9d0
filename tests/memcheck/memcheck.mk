# memcheck: the conformance tests of a step, with its server run under valgrind's memcheck.
#
#   make memcheck                       every step in MEMCHECK_STEPS (valgrind is installed if
#                                       missing when run as root)
#   make memcheck MEMCHECK_STEPS=4      another step (it needs MEMCHECK_ARGS_4)
#
# The steps are the normal build ($(BUILD)/step-N, never SANITIZE=1: valgrind cannot run
# AddressSanitizer binaries). For each step, pytest runs every conformance test that applies to it
# with --server-cmd tests/memcheck/valgrind-server.sh, which adds MEMCHECK_ARGS_N when a test gives
# no --zone of its own (as the suite does for build/step-N), and every wait of the suite is
# stretched DNS_TEST_TIMEOUT_SCALE times, for valgrind is slow. Then tests/memcheck/report.sh
# prints "memcheck: N servers, E errors, L leaks" and fails if any server's log shows an error or a
# leak, or any server did not exit with status 0 on SIGTERM. Logs: $(MEMCHECK_DIR)/step-N/.
#
# A later step is one line: add it to MEMCHECK_STEPS, and give it MEMCHECK_ARGS_N if it needs
# arguments to start (those of `make step-N`, STEP_DEFAULTS_N in the Makefile).

MEMCHECK_STEPS         := 5 6 7 8 9
MEMCHECK_ARGS_4        := $(STEP_DEFAULTS_4)
MEMCHECK_ARGS_5        := $(STEP_DEFAULTS_5)
# Step 6 forwards to the suite's fake upstream: the pool appends --resolver itself.
MEMCHECK_ARGS_6        := $(DEFAULT_ZONES)
# Step 7 resolves in the suite's fake hierarchy: the pool appends --root-hints and --ns-port.
MEMCHECK_ARGS_7        :=
MEMCHECK_ARGS_8        :=
MEMCHECK_ARGS_9        :=
MEMCHECK_DIR           := build/memcheck
MEMCHECK_TIMEOUT_SCALE := 10

.PHONY: memcheck

ifeq ($(SANITIZE),1)
memcheck:
	@echo "memcheck: valgrind cannot run AddressSanitizer binaries: run make memcheck without SANITIZE=1" >&2
	@exit 2
else
memcheck: deps $(MEMCHECK_STEPS:%=$(BUILD)/step-%)
	@tests/memcheck/need-valgrind.sh
	@rm -rf $(MEMCHECK_DIR)
	@status=0; \
	$(foreach s,$(MEMCHECK_STEPS),\
	echo "memcheck: the conformance tests of stage $(s), $(BUILD)/step-$(s) under valgrind"; \
	DNS_TEST_TIMEOUT_SCALE=$(MEMCHECK_TIMEOUT_SCALE) $(PYTHON) -m pytest tests/conformance \
	    --steps $(s) $(PYTEST_ARGS) --server-cmd '$(CURDIR)/tests/memcheck/valgrind-server.sh \
	    $(CURDIR)/$(MEMCHECK_DIR)/step-$(s) $(CURDIR)/$(BUILD)/step-$(s) $(MEMCHECK_ARGS_$(s)) \
	    -- --port {port}' || status=1;) \
	tests/memcheck/report.sh $(MEMCHECK_DIR)/step-* || status=1; \
	exit $$status
endif
