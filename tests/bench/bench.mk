# bench.mk: `make bench` — step 5 against NSD, with step 1 as the floor (docs/performance.md);
# step 8's cache hits against unbound's, both resolving in a sandbox internet the script starts
# (served by the same program as `make sandbox`) and stops.
# Included by the Makefile. BENCH_ARGS goes to the script, e.g. BENCH_ARGS='--seconds 10'.

BENCH_ARGS ?=

.PHONY: bench

ifeq ($(SANITIZE),1)
bench:
	@echo "make bench measures the optimized build: run it without SANITIZE=1" >&2; exit 2
else
bench: all
	/usr/bin/python3 tests/bench/bench.py --build-dir $(BUILD) \
	    --sandbox-server $(or $(SANDBOX_SERVER),$(BUILD)/step-5) $(BENCH_ARGS)
endif
