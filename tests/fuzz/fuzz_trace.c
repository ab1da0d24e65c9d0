/* fuzz_trace: the --trace dump and the one-line summary of any bytes — they must never crash. */
#include "fuzz.h"
#include "trace.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);

static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    devnull = fopen("/dev/null", "w");
    if (devnull == NULL) {
        perror("fuzz_trace: /dev/null");
        exit(1);
    }
    return 0;
}

/* trace_summary() into exactly `cap` bytes of heap, so a write past them is
 * an AddressSanitizer report; the text must be terminated within them. */
static void summary(const uint8_t *data, size_t size, size_t cap)
{
    char *out = malloc(cap);
    FUZZ_CHECK(out != NULL, "out of memory");
    const char *got = trace_summary(data, size, out, cap);
    FUZZ_CHECK(got == out, "trace_summary did not return its buffer");
    FUZZ_CHECK(memchr(out, '\0', cap) != NULL, "summary into %zu bytes is not terminated", cap);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    trace_message(devnull, data, size);
    trace_datagram(devnull, "received", "127.0.0.1:53", data, size);

    /* A roomy buffer, then a tight one whose size the input picks. */
    summary(data, size, 1024);
    summary(data, size, size > 0 ? 1 + data[size - 1] % 96u : 1);

    char full[1024];
    trace_summary(data, size, full, sizeof full);
    if (size < DNS_HEADER_SIZE)
        FUZZ_CHECK(strncmp(full, "undecodable", 11) == 0, "summary of %zu bytes: \"%s\"", size,
                   full);
    return 0;
}
