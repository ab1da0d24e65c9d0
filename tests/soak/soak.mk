# soak.mk: `make soak` — a bounded soak test of step 9 (tests/soak/soak.py): SOAK_SECONDS (600) of
# mixed UDP and TCP queries (cache hits, misses, NXDOMAIN, NODATA, big TXT over TCP, hostile
# packets, slow and never-reading TCP clients, --tcp-max floods) against build/step-9 resolving in
# a private sandbox internet (build/soak/sandbox, its own port), with two of its servers stopped
# (one killed, one frozen) partway through. Samples the server's RSS and fds; prints a summary
# table and fails if the server crashed, grew, leaked descriptors, or left a query unanswered
# without a reason.
# Included by the Makefile. SOAK_ARGS goes to the script, e.g. SOAK_ARGS='--rate 2', or
# SOAK_ARGS='--valgrind --rate 0.2' for the server under valgrind's memcheck.

SOAK_SECONDS ?= 600
SOAK_ARGS    ?=

.PHONY: soak

ifeq ($(SANITIZE),1)
soak:
	@echo "make soak measures the normal build's memory: run it without SANITIZE=1" >&2; exit 2
else
soak: $(BUILD)/step-9
	/usr/bin/python3 tests/soak/soak.py --build-dir $(BUILD) --seconds $(SOAK_SECONDS) $(SOAK_ARGS)
endif
