# chaos: the long versions of the resolver attack tests (tests/conformance/test_resolver_attacks.py,
# docs/hardening.md) against the resolvers, steps 7 to 9: 50,000 forged replies per flood, and the
# chaos hierarchy asked CHAOS_ROUNDS times with the server's memory watched.
#
#   make chaos                          steps 7, 8 and 9 (CHAOS_STEPS), then a summary
#   make chaos CHAOS_STEPS=9            one step
#   make chaos CHAOS_ROUNDS=40          more rounds (each takes about 3 s per step)
#
# The in-suite versions (`make test`) are the same tests with 5,000 forged replies and 3 rounds.
# Here pytest runs them with DNS_SPOOF_COUNT, DNS_CHAOS_ROUNDS and DNS_ATTACK_REPORT set, under
# `timeout` (CHAOS_TIMEOUT seconds in all); tests/chaos/summary.py then prints the figures each
# test wrote to $(CHAOS_DIR)/figures.jsonl, one table per attack. It fails if a test failed, or
# the run went over its time.

CHAOS_STEPS       := 7 8 9
CHAOS_SPOOF_COUNT := 50000
CHAOS_ROUNDS      := 15
CHAOS_TIMEOUT     := 420
CHAOS_DIR         := build/chaos
chaos_empty       :=
chaos_space       := $(chaos_empty) $(chaos_empty)
CHAOS_STEP_LIST    = $(subst $(chaos_space),$(comma),$(strip $(CHAOS_STEPS)))

.PHONY: chaos

chaos: deps $(CHAOS_STEPS:%=$(BUILD)/step-%)
	@rm -rf $(CHAOS_DIR) && mkdir -p $(CHAOS_DIR)
	@echo "chaos: steps $(CHAOS_STEPS) ($(BUILD)): floods of $(CHAOS_SPOOF_COUNT) forged replies, $(CHAOS_ROUNDS) rounds of the chaos hierarchy"
	@status=0; start=$$(date +%s); \
	DNS_SPOOF_COUNT=$(CHAOS_SPOOF_COUNT) DNS_CHAOS_ROUNDS=$(CHAOS_ROUNDS) \
	DNS_ATTACK_REPORT=$(CURDIR)/$(CHAOS_DIR)/figures.jsonl \
	timeout --kill-after=10 $(CHAOS_TIMEOUT) $(PYTHON) -m pytest -q --run-slow \
	    tests/conformance/test_resolver_attacks.py --steps $(CHAOS_STEP_LIST) \
	    --build-dir $(BUILD) -p no:cacheprovider $(PYTEST_ARGS) > $(CHAOS_DIR)/pytest.log 2>&1 || status=$$?; \
	tail -n 1 $(CHAOS_DIR)/pytest.log; \
	if [ $$status = 124 ]; then echo "chaos: stopped after $(CHAOS_TIMEOUT) s (CHAOS_TIMEOUT)" >&2; fi; \
	if [ $$status != 0 ]; then grep -E '^(FAILED|ERROR)' $(CHAOS_DIR)/pytest.log; \
	    echo "chaos: the failures in full: $(CHAOS_DIR)/pytest.log"; fi; \
	$(PYTHON) tests/chaos/summary.py $(CHAOS_DIR)/figures.jsonl $$(( $$(date +%s) - start )) || status=1; \
	[ $$status = 0 ]
