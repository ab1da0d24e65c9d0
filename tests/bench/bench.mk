# bench.mk: `make bench` — step 5 against NSD, with step 1 as the floor (docs/performance.md).
# Included by the Makefile. BENCH_ARGS goes to the script, e.g. BENCH_ARGS='--seconds 10'.

BENCH_ARGS ?=

.PHONY: bench

ifeq ($(SANITIZE),1)
bench:
	@echo "make bench measures the optimized build: run it without SANITIZE=1" >&2; exit 2
else
bench: all
	/usr/bin/python3 tests/bench/bench.py --build-dir $(BUILD) $(BENCH_ARGS)
endif
