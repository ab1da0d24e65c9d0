/* fuzz_name: name_read_visit() on any message, then text and wire-form round trips. */
#include "fuzz.h"

enum {
    /* Names read one after another from offset 12; later ones may point
     * back into earlier ones. More adds nothing a mutation cannot reach. */
    FUZZ_NAMES_MAX = 64,
};

/* What the visitor saw of one name: the parts before the first pointer,
 * which must be contiguous from where the read started. */
struct visit_log {
    const uint8_t *data;
    size_t size;
    size_t next;                   /* where the next part must start */
    bool finished;                 /* a root or a pointer was reported: nothing may follow */
    uint8_t prefix[NAME_WIRE_MAX]; /* labels reported, in wire form */
    size_t prefix_len;
};

static void visit(void *ctx, enum name_part part, size_t offset, const uint8_t *label,
                  size_t label_len, size_t pointer_target)
{
    struct visit_log *v = ctx;
    FUZZ_CHECK(!v->finished, "a part reported after the root or the first pointer");
    FUZZ_CHECK(offset == v->next, "part at offset %zu, expected %zu", offset, v->next);
    FUZZ_CHECK(offset < v->size, "part at offset %zu of a %zu-byte message", offset, v->size);
    switch (part) {
    case NAME_PART_LABEL:
        FUZZ_CHECK(label_len >= 1 && label_len <= NAME_LABEL_MAX && label != NULL,
                   "label of %zu octets", label_len);
        FUZZ_CHECK(offset + 1 + label_len <= v->size && v->data[offset] == label_len &&
                       memcmp(label, v->data + offset + 1, label_len) == 0,
                   "label at %zu is not the message's bytes", offset);
        FUZZ_CHECK(v->prefix_len + 1 + label_len < NAME_WIRE_MAX, "labels reported pass 255");
        memcpy(v->prefix + v->prefix_len, v->data + offset, 1 + label_len);
        v->prefix_len += 1 + label_len;
        v->next = offset + 1 + label_len;
        break;
    case NAME_PART_POINTER:
        FUZZ_CHECK(offset + 2 <= v->size && (v->data[offset] & 0xC0) == 0xC0,
                   "pointer at %zu is not a pointer", offset);
        FUZZ_CHECK(pointer_target == (((size_t)v->data[offset] & 0x3F) << 8 | v->data[offset + 1]),
                   "pointer at %zu: target %zu is not its 14 bits", offset, pointer_target);
        /* Strictly backwards and out of the header, or the read must fail. */
        FUZZ_CHECK(pointer_target >= DNS_HEADER_SIZE && pointer_target < offset,
                   "pointer at %zu to %zu was followed", offset, pointer_target);
        v->next = offset + 2;
        v->finished = true;
        break;
    case NAME_PART_ROOT:
        FUZZ_CHECK(v->data[offset] == 0, "root at %zu is not a 0 byte", offset);
        v->next = offset + 1;
        v->finished = true;
        break;
    }
}

/* Reads the name at the reader's position and checks everything name.h
 * promises about the result. Returns the status. */
static enum name_status read_and_check(struct buf_reader *r, struct name *out)
{
    struct visit_log v = {.data = r->data, .size = r->len, .next = r->pos};
    size_t start = r->pos;
    memset(out, 0xA5, sizeof *out);
    enum name_status st = name_read_visit(r, out, visit, &v);
    if (st != NAME_OK) {
        FUZZ_CHECK(!buf_reader_ok(r), "status %d (%s) but the reader's error is not set", st,
                   name_strerror(st));
        FUZZ_CHECK(out->len == 1 && out->wire[0] == 0, "failed read left out != root");
        return st;
    }
    FUZZ_CHECK(buf_reader_ok(r), "NAME_OK with the reader's error set");
    FUZZ_CHECK(v.finished && r->pos == v.next,
               "read from %zu: reader at %zu, but the name's bytes end at %zu", start, r->pos,
               v.next);
    FUZZ_CHECK(fuzz_name_well_formed(out), "malformed name of %u octets", out->len);
    FUZZ_CHECK(v.prefix_len < out->len && memcmp(v.prefix, out->wire, v.prefix_len) == 0,
               "the labels visited are not the start of the name");
    return st;
}

/* Text form and back: the same bytes, case included. */
static void check_text(const struct name *n)
{
    char text[NAME_TEXT_MAX];
    int tlen = name_to_text(n, text, sizeof text);
    FUZZ_CHECK(tlen > 0 && (size_t)tlen == strlen(text), "name_to_text failed (%d)", tlen);
    FUZZ_CHECK(text[tlen - 1] == '.', "text \"%s\" does not end in a dot", text);
    struct name back;
    enum name_status st = name_from_text(text, NULL, &back);
    FUZZ_CHECK(st == NAME_OK, "name_from_text(\"%s\"): %s", text, name_strerror(st));
    FUZZ_CHECK(fuzz_name_same(&back, n), "\"%s\" parses to a different name", text);

    /* A buffer one byte short must fail cleanly, not write past it. */
    char *tight = malloc((size_t)tlen);
    FUZZ_CHECK(tight != NULL, "out of memory");
    FUZZ_CHECK(name_to_text(n, tight, (size_t)tlen) == -1 && tight[0] == '\0',
               "name_to_text into %d bytes did not fail", tlen);
    free(tight);

    /* Helpers that take a name. */
    struct name lower = *n, root;
    name_lower(&lower);
    name_root(&root);
    FUZZ_CHECK(name_equal(&lower, n) &&
                   name_hash(lower.wire, lower.len) == name_hash(n->wire, n->len),
               "a lower-cased copy is not equal, or hashes differently");
    FUZZ_CHECK(name_is_subdomain(n, &root) && name_is_subdomain(n, n), "not below the root");
    FUZZ_CHECK(name_label_count(n) < NAME_LABELS_MAX, "%u labels", name_label_count(n));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct name names[FUZZ_NAMES_MAX];
    size_t count = 0;

    /* Every name from offset 12 on, one after another, as a question or
     * record section would hold them. */
    struct buf_reader r;
    buf_reader_init(&r, data, size);
    buf_seek(&r, DNS_HEADER_SIZE);
    while (buf_reader_ok(&r) && buf_remaining(&r) > 0 && count < FUZZ_NAMES_MAX) {
        if (read_and_check(&r, &names[count]) != NAME_OK)
            break;
        check_text(&names[count]);
        count++;
    }

    /* One more at the offset the ID field names, so reads start anywhere. */
    if (size >= 2) {
        size_t at = ((size_t)data[0] << 8 | data[1]) % (size + 1);
        struct buf_reader r2;
        struct name n;
        buf_reader_init(&r2, data, size);
        buf_seek(&r2, at);
        if (read_and_check(&r2, &n) == NAME_OK)
            check_text(&n);
    }

    /* Written after a header with name_write(), then read back one after
     * another: the same bytes. (Writing with compression pointers is step
     * 5's; fuzz_roundtrip checks it.) */
    static uint8_t out[DNS_HEADER_SIZE + FUZZ_NAMES_MAX * NAME_WIRE_MAX];
    struct buf_writer w;
    buf_writer_init(&w, out, sizeof out);
    struct hdr h = {0};
    hdr_encode(&w, &h);
    for (size_t i = 0; i < count; i++)
        name_write(&w, &names[i]);
    FUZZ_CHECK(buf_writer_ok(&w), "%zu names do not fit %zu bytes", count, sizeof out);

    struct buf_reader back;
    buf_reader_init(&back, out, w.pos);
    buf_seek(&back, DNS_HEADER_SIZE);
    for (size_t i = 0; i < count; i++) {
        struct name n;
        enum name_status st = read_and_check(&back, &n);
        FUZZ_CHECK(st == NAME_OK, "name %zu written does not read back: %s", i, name_strerror(st));
        FUZZ_CHECK(fuzz_name_same(&n, &names[i]), "name %zu reads back as another name", i);
    }
    FUZZ_CHECK(buf_remaining(&back) == 0, "%zu bytes left after the names", buf_remaining(&back));
    return 0;
}
