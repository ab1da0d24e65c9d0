# bench.mk: `make bench` — step 5 against NSD, with step 1 as the floor (docs/performance.md);
# step 8's cache hits against unbound's, both resolving in a sandbox internet the script starts
# (served by the same program as `make sandbox`) and stops; then `make bench-cost`.
# `make bench-cost` — the queries steps 7, 8 and 9 and unbound send to name servers for the same
# lookups, cold and warm, in a private sandbox on port 53 (root only; skipped otherwise, saying
# why): tests/bench/cost.py, docs/performance.md "Resolution cost". It fails if step 8 or 9
# sends more than unbound cold, or a cache sends anything warm.
# Included by the Makefile. BENCH_ARGS goes to bench.py, e.g. BENCH_ARGS='--seconds 10';
# COST_ARGS to cost.py, e.g. COST_ARGS=-v (every query sent).

BENCH_ARGS ?=
COST_ARGS ?=

.PHONY: bench bench-cost

ifeq ($(SANITIZE),1)
bench:
	@echo "make bench measures the optimized build: run it without SANITIZE=1" >&2; exit 2
else
bench: all
	/usr/bin/python3 tests/bench/bench.py --build-dir $(BUILD) \
	    --sandbox-server $(or $(SANDBOX_SERVER),$(BUILD)/step-5) $(BENCH_ARGS)
	/usr/bin/python3 tests/bench/cost.py --build-dir $(BUILD) $(COST_ARGS)
endif

# Counts, not speed: any build will do, the sanitized one too.
bench-cost: $(BUILD)/step-7 $(BUILD)/step-8 $(BUILD)/step-9
	/usr/bin/python3 tests/bench/cost.py --build-dir $(BUILD) $(COST_ARGS)
