/* fuzz_tcp: step 9's DNS-over-TCP framing, fed any byte stream in reads of any sizes. */
#include "fuzz.h"
#include "tcp.h"

#include <netinet/in.h>

/* The most a connection's input buffer may hold: one whole message with its
 * prefix (tcp.h), or TCP_IN_FIRST while messages are small. */
enum { FUZZ_TCP_IN_MAX = TCP_PREFIX + DNS_MESSAGE_MAX };

/* The size of the next read or send, from the cut bytes, used in turn (a
 * stream with no cut bytes is read as the room allows). 0 means "as much as
 * there is room for"; up to 127 is itself; above, multiples of 64 bytes,
 * so a large message can come in a few reads as well as in many. */
static size_t next_cut(const uint8_t *cuts, size_t ncuts, size_t *at)
{
    if (ncuts == 0)
        return 0;
    uint8_t c = cuts[(*at)++ % ncuts];
    return c < 128 ? c : (size_t)(c - 127) * 64;
}

static size_t min_size(size_t a, size_t b)
{
    return a < b ? a : b;
}

/*
 * The input: byte 0 says how many cut bytes follow (next_cut()); the rest is
 * the stream a client sends. The stream is read into one connection in
 * pieces of the sizes the cuts give. Checked:
 *   - every message tcp_in_next() hands out is the next length-prefixed
 *     message of the stream, in order, its bytes inside the input buffer,
 *     and the connection's activity time is the time it was handed out;
 *   - after the last byte, every whole message has been handed out and what
 *     is left (a partial one) is not;
 *   - the input buffer never grows past one whole message (or TCP_IN_FIRST),
 *     the room given is at least 1 byte and inside it;
 *   - each message handed out is queued back with tcp_out_push(), and sends
 *     of the cut sizes (tcp_out_pending(), tcp_out_sent()) between reads give
 *     exactly the framed replies in order; once all is sent the connection is
 *     idle and keeps at most TCP_OUT_KEEP bytes of output buffer;
 *   - tcp_find() finds the connection by id and serial, and nothing once it
 *     is closed; tcp_table_free() frees everything (else LeakSanitizer tells).
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t ncuts = min_size(data[0], size - 1);
    const uint8_t *cuts = data + 1;
    const uint8_t *stream = data + 1 + ncuts;
    size_t len = size - 1 - ncuts;

    /* What the output must be: every whole message of the stream, framed
     * again. At most the stream's own bytes. */
    uint8_t *want_out = malloc(len ? len : 1);
    FUZZ_CHECK(want_out != NULL, "no memory");
    size_t want_out_len = 0, sent = 0;

    struct tcp_table t;
    FUZZ_CHECK(tcp_table_init(&t, 2) == 0, "no memory for the table");
    struct sockaddr_in peer = {.sin_family = AF_INET, .sin_port = htons(5353)};
    struct tcp_conn *c = tcp_open(&t, 7, (const struct sockaddr *)&peer, sizeof peer, 1);
    FUZZ_CHECK(c != NULL && c->fd == 7 && c->last_active == 1, "tcp_open() failed");
    uint32_t id = tcp_id(&t, c);
    uint64_t serial = c->serial;
    FUZZ_CHECK(tcp_find(&t, id, serial) == c, "tcp_find() does not find the connection");
    FUZZ_CHECK(tcp_idle(c) && tcp_idlest(&t) == c, "a new connection is not idle");

    size_t fed = 0;    /* stream bytes read into the connection */
    size_t parsed = 0; /* stream bytes of the messages handed out */
    size_t cut_at = 0; /* the next cut to use */
    uint64_t now = 1;
    /* Bounded: each pass reads at least one byte of the stream, or ends. */
    for (;;) {
        now++;
        const uint8_t *msg;
        size_t mlen;
        /* Bounded: each pass hands out a message of at least TCP_PREFIX bytes read. */
        while (tcp_in_next(c, now, &msg, &mlen)) {
            FUZZ_CHECK(parsed + TCP_PREFIX <= fed, "a message handed out before its length came");
            size_t expect = (size_t)stream[parsed] << 8 | stream[parsed + 1];
            FUZZ_CHECK(mlen == expect, "message of %zu bytes, the stream says %zu", mlen, expect);
            FUZZ_CHECK(parsed + TCP_PREFIX + mlen <= fed,
                       "a message handed out before it all came");
            FUZZ_CHECK(msg >= c->in && msg + mlen <= c->in + c->in_cap,
                       "the message is outside the input buffer");
            FUZZ_CHECK(memcmp(msg, stream + parsed + TCP_PREFIX, mlen) == 0,
                       "message bytes differ from the stream's");
            FUZZ_CHECK(c->last_active == now, "handing out a message is no activity");
            parsed += TCP_PREFIX + mlen;

            /* Queued back, and a piece of the output sent. */
            FUZZ_CHECK(tcp_out_push(c, msg, mlen) == 0, "no memory to queue %zu bytes", mlen);
            memcpy(want_out + want_out_len, stream + parsed - TCP_PREFIX - mlen, TCP_PREFIX + mlen);
            want_out_len += TCP_PREFIX + mlen;
            size_t pending;
            const uint8_t *out = tcp_out_pending(c, &pending);
            FUZZ_CHECK(pending == want_out_len - sent, "%zu bytes pending, %zu expected", pending,
                       want_out_len - sent);
            FUZZ_CHECK(out != NULL && memcmp(out, want_out + sent, pending) == 0,
                       "the pending output is not the framed messages in order");
            size_t n = next_cut(cuts, ncuts, &cut_at);
            n = n == 0 ? pending : min_size(n, pending);
            tcp_out_sent(c, n, now);
            sent += n;
            FUZZ_CHECK(!tcp_idle(c) || sent == want_out_len, "idle with output pending");
        }
        FUZZ_CHECK(!tcp_in_ready(c), "tcp_in_ready() after tcp_in_next() said no");
        if (fed == len)
            break;
        size_t room;
        uint8_t *to = tcp_in_room(c, &room);
        FUZZ_CHECK(to != NULL, "no memory for input");
        FUZZ_CHECK(room >= 1 && to >= c->in && to + room == c->in + c->in_cap,
                   "room of %zu bytes outside the buffer", room);
        FUZZ_CHECK(c->in_cap <= FUZZ_TCP_IN_MAX, "input buffer of %zu bytes", c->in_cap);
        size_t n = next_cut(cuts, ncuts, &cut_at);
        n = min_size(n == 0 ? room : min_size(n, room), len - fed);
        memcpy(to, stream + fed, n);
        tcp_in_got(c, n);
        fed += n;
        FUZZ_CHECK(c->in_len - c->in_start == fed - parsed, "%zu bytes kept, %zu unread",
                   c->in_len - c->in_start, fed - parsed);
    }

    /* The stream is all in: what was not handed out is no whole message. */
    size_t rest = len - parsed;
    if (rest >= TCP_PREFIX) {
        size_t expect = (size_t)stream[parsed] << 8 | stream[parsed + 1];
        FUZZ_CHECK(rest < TCP_PREFIX + expect, "a whole message of %zu bytes never handed out",
                   expect);
    }

    /* The rest of the output, in the cut sizes. */
    /* Bounded: each pass sends at least one byte. */
    while (sent < want_out_len) {
        size_t pending;
        const uint8_t *out = tcp_out_pending(c, &pending);
        FUZZ_CHECK(pending == want_out_len - sent && out != NULL &&
                       memcmp(out, want_out + sent, pending) == 0,
                   "the pending output is not the rest of the framed messages");
        size_t n = next_cut(cuts, ncuts, &cut_at);
        n = n == 0 ? pending : min_size(n, pending);
        tcp_out_sent(c, n, ++now);
        sent += n;
    }
    size_t pending;
    FUZZ_CHECK(tcp_out_pending(c, &pending) == NULL && pending == 0, "output left after it all");
    FUZZ_CHECK(tcp_idle(c) && c->out_cap <= TCP_OUT_KEEP, "idle %d, output buffer of %zu bytes",
               tcp_idle(c), c->out_cap);
    FUZZ_CHECK(tcp_may_read(c), "an idle connection may not read");
    FUZZ_CHECK(tcp_due(c, 1000) == c->last_active + 1000, "tcp_due() of an idle connection");

    tcp_close(&t, c);
    FUZZ_CHECK(tcp_find(&t, id, serial) == NULL, "a closed connection is still found");
    FUZZ_CHECK(t.open == 0 && tcp_idlest(&t) == NULL, "an empty table has a connection");
    tcp_table_free(&t);
    free(want_out);
    return 0;
}
