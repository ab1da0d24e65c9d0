"""Stage 2, header: the reply is a header built from the query's — ID, OPCODE and RD copied, QR set,
RCODE NOTIMP for any OPCODE but QUERY — and what is not a query (shorter than a header, or QR=1) is
dropped. The IDs used have two different bytes (0x1234, 0xA5C3) so a byte-order mistake shows."""

import pytest

import dnsgrader as g

NAME = "www.example.com."


def good_query(id_, rd=1, opcode=0):
    q = g.question(NAME, 1, 1)
    return g.header(id_, g.make_flags(opcode=opcode, rd=rd), 1) + q, q


@pytest.mark.stage(2)
def test_reply_has_qr_set(client, step):
    sent, _ = good_query(0x1234)
    reply = client.exchange(sent, what="a standard query (www.example.com. A IN, RD=1)")
    g.expect_header(reply, sent, step=step, id=0x1234, qr=1)


@pytest.mark.stage(2)
@pytest.mark.parametrize("id_", [0x1234, 0xA5C3, 0x0001, 0xFF00, 0x0000, 0xFFFF],
                         ids=lambda i: f"id-{i:04x}")
def test_id_copied(client, step, id_):
    sent, _ = good_query(id_)
    reply = client.exchange(sent)
    g.expect_header(reply, sent, step=step, id=id_)


@pytest.mark.stage(2)
@pytest.mark.parametrize("opcode", [0, 1, 2, 3], ids=lambda o: f"opcode-{o}")
@pytest.mark.parametrize("rd", [1, 0], ids=lambda r: f"rd-{r}")
@pytest.mark.parametrize("id_", [0x1234, 0xA5C3], ids=lambda i: f"id-{i:04x}")
def test_header_matrix(client, step, id_, rd, opcode):
    """ID x RD x OPCODE: ID, OPCODE and RD come back as sent, QR is set, and RCODE is NOTIMP (4) for
    every OPCODE but 0. RCODE 0 for OPCODE 0 is checked up to stage 3 only: from stage 4 on the
    answer depends on the zone."""
    sent, _ = good_query(id_, rd=rd, opcode=opcode)
    reply = client.exchange(sent)
    fields = dict(id=id_, qr=1, opcode=opcode, rd=rd)
    if opcode != 0:
        fields["rcode"] = g.NOTIMP
    elif step <= 3:
        fields["rcode"] = g.NOERROR
    g.expect_header(reply, sent, step=step, **fields)


@pytest.mark.stage(2, until=2)
def test_stage2_reply_is_the_header_alone(client, step):
    sent, q = good_query(0xA5C3)
    reply = client.exchange(sent)
    g.expect_correct_reply(step, sent, reply, q)


@pytest.mark.stage(2, until=2)
def test_stage2_counts_are_zero_whatever_the_query_says(client, step):
    sent = bytes([
        0x3C, 0x5A,  # ID
        0x01, 0x00,  # flags: QR=0 OPCODE=0 (QUERY) RD=1
        0x01, 0x02,  # QDCOUNT 258
        0x03, 0x04,  # ANCOUNT 772
        0x05, 0x06,  # NSCOUNT 1286
        0x07, 0x08,  # ARCOUNT 1800
    ])  # nothing follows: stage 2 reads the header only
    reply = client.exchange(sent, what="a 12-byte query whose counts are not 0",
                            hints=["stage 2 answers every datagram of 12 bytes or more with QR=0"])
    g.expect_header(reply, sent, step=step, **g.reply_fields(sent, step))


@pytest.mark.stage(2, until=2)
def test_stage2_does_not_read_past_the_header(client, step):
    sent = bytes([
        0x5E, 0x1F,  # ID
        0x00, 0x00,  # flags: QR=0 OPCODE=0 RD=0
        0x00, 0x01,  # QDCOUNT 1
        0x00, 0x00,  # ANCOUNT
        0x00, 0x00,  # NSCOUNT
        0x00, 0x00,  # ARCOUNT
        0xFF, 0xFF, 0xFF,  # not a question, but stage 2 does not look
    ])
    reply = client.exchange(sent, hints=["stage 2 answers from the header alone, whatever follows it"])
    g.expect_header(reply, sent, step=step, **g.reply_fields(sent, step))
    g.expect_bytes(reply, reply[:g.HEADER_SIZE], "a stage-2 reply (the header alone)", sent=sent)


@pytest.mark.stage(2, until=3)
def test_other_flags_are_not_copied(client, step):
    """A query with AA, TC, RA, Z, AD, CD (and at stage 2 an RCODE) set: the reply copies only
    OPCODE and RD, and may copy CD (RFC 4035 3.2.2 asks a security-aware server to). From stage 3
    on a query with an RCODE is malformed (test_03_question.py)."""
    q = g.question(NAME, 1, 1)
    sent = bytes([
        0x71, 0xE2,  # ID
        0x07, 0xF5 if step == 2 else 0xF0,  # flags: QR=0 OPCODE=0 AA=1 TC=1 RD=1 | RA=1 Z=1 AD=1
                                            # CD=1 RCODE=5 (stage 2) or 0
        0x00, 0x01,  # QDCOUNT 1
        0x00, 0x00,  # ANCOUNT
        0x00, 0x00,  # NSCOUNT
        0x00, 0x00,  # ARCOUNT
    ]) + q
    reply = client.exchange(sent)
    g.expect_header(reply, sent, step=step, **g.reply_fields(sent, step, qdcount=1 if step >= 3 else 0))


@pytest.mark.stage(2, until=3)
@pytest.mark.parametrize("opcode", [1, 2, 4, 5, 15], ids=lambda o: f"opcode-{o}")
def test_notimp_reply_is_the_header_alone(client, step, opcode):
    sent, _ = good_query(0x4E17 + opcode, opcode=opcode)
    reply = client.exchange(sent)
    g.expect_header(reply, sent, step=step, **g.reply_fields(sent, step, rcode=g.NOTIMP))
    g.expect_bytes(reply, reply[:g.HEADER_SIZE], "a NOTIMP reply (the header alone)", sent=sent,
                   hints=["a NOTIMP reply does not echo the question: the query was not parsed"])


@pytest.mark.stage(2)
@pytest.mark.parametrize("length", range(12), ids=lambda n: f"{n}-bytes")
def test_datagram_shorter_than_a_header_is_dropped(client, step, length):
    sent = good_query(0x3412)[0][:length]
    client.expect_no_reply(sent, what=f"a {length}-byte datagram",
                           hints=["a datagram shorter than the 12-byte header is not a DNS message: "
                                  "check the length recvfrom() returned and drop it"],
                           cause="datagrams shorter than a header are answered, not dropped")
    g.expect_still_answers(client, step, after=f"a {length}-byte datagram")


RESPONSE_HEADER_ONLY = bytes([
    0x2B, 0x3C,  # ID
    0x81, 0x00,  # flags: QR=1 (a response) RD=1
    0x00, 0x00,  # QDCOUNT
    0x00, 0x00,  # ANCOUNT
    0x00, 0x00,  # NSCOUNT
    0x00, 0x00,  # ARCOUNT
])
RESPONSE_WITH_QUESTION = bytes([
    0x2B, 0x3D,  # ID
    0x81, 0x80,  # flags: QR=1 RD=1 RA=1 RCODE=0, as another server's reply would be
    0x00, 0x01,  # QDCOUNT 1
    0x00, 0x00,  # ANCOUNT
    0x00, 0x00,  # NSCOUNT
    0x00, 0x00,  # ARCOUNT
]) + g.question(NAME, 1, 1)
RESPONSE_WITH_OPCODE = bytes([
    0x2B, 0x3E,  # ID
    0x90, 0x00,  # flags: QR=1 OPCODE=2 (STATUS): a response first, so no NOTIMP either
    0x00, 0x00,  # QDCOUNT
    0x00, 0x00,  # ANCOUNT
    0x00, 0x00,  # NSCOUNT
    0x00, 0x00,  # ARCOUNT
])


@pytest.mark.stage(2)
@pytest.mark.parametrize("sent", [RESPONSE_HEADER_ONLY, RESPONSE_WITH_QUESTION, RESPONSE_WITH_OPCODE],
                         ids=["header-only", "with-question", "opcode-2"])
def test_response_is_dropped(client, step, sent):
    client.expect_no_reply(sent, what="a response (QR=1)",
                           hints=["QR=1 marks a response, not a query: drop it (two servers that "
                                  "answer responses can bounce a message between them forever)"],
                           cause="responses (QR=1) are answered, not dropped")
    g.expect_still_answers(client, step, after="a response (QR=1)")


@pytest.mark.stage(2)
def test_burst_of_junk_then_a_good_query(server, new_client, step, tmp_path):
    """2000 datagrams of junk (fixed seed): the server must neither crash nor wedge."""
    g.burst_then_good_query(server, new_client, step, tmp_path)
