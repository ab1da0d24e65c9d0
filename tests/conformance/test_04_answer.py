"""Stage 4, answer: an authoritative server answering from zone files (RFC 1034 4.3.2, RFC 2308,
RFC 4592). The tests serve their own zone files (zonedata.py, written into a temporary directory):
the pooled server of stages 4 to 6 is started with the three simple ones (`--zone FILE` each, or
the {zone} placeholder of --server-cmd), and every name in them exercises one rule of the lookup:

  - the zone with the longest apex containing the name answers (case-insensitively); none: REFUSED;
  - at or below a zone cut: a referral (AA=0, the cut's NS in authority, glue in additional);
  - the name has the type: the RRset, AA=1; a CNAME instead: the CNAME, then its target's records
    while the target is in our zones (at most 8 links; a loop stops the chain);
  - the name exists without the type (also an empty non-terminal): NODATA, the SOA in authority;
  - the name does not exist: the wildcard *.<closest encloser> if there is one, else NXDOMAIN;
  - a UDP reply is at most 512 bytes: an answer or authority RRset that does not fit sets TC,
    additional records that do not fit are left out.

Stage 4 is graded in parts (@pytest.mark.part(4, k); make grade STEP=4 PART=k), each passable on
its own, in this order:

  4.1 fixed answers: the exact RRset at QNAME (AA=1, owner in the query's case), REFUSED outside
      our zones, ANY (one RRset), AXFR/IXFR (NOTIMP); from zone files in the simple syntax only;
  4.2 negative answers: NXDOMAIN and NODATA with the SOA (its TTL the smaller of TTL and MINIMUM),
      empty non-terminals, the zone with the longest apex;
  4.3 referrals and glue, the addresses of NS and MX targets in the additional section, CNAME
      chains, wildcards;
  4.4 the full master-file syntax (syntax.test, zonedata.SYNTAX), the 512-byte limit and TC, every
      reply read by dnspython, and the shipped zones/example.com.zone.

Stage 6 serves its zones by the same rules (and forwards the rest when RD=1; the Asker sends RD=0
unless told): these tests apply to stages 4 to 6, with RA=1 at stage 6, which offers recursion.
Stage 7 resolves instead of serving zones. (test_05_compression.py imports the fixtures from
here.)"""

import itertools
import os
import subprocess
from pathlib import Path

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import pytest

import dnsgrader as g
from zonedata import GLUE_COUNT, LONG_CHAIN

REPO = Path(__file__).resolve().parents[2]
UDP_MAX = 512

SOA4 = ("zone4.test. {ttl} IN SOA ns1.zone4.test. hostmaster.zone4.test. "
        "2026010101 7200 3600 1209600 300")
NEG_SOA4 = SOA4.format(ttl=300)  # min(3600, 300)
SOA_CHILD = ("child.zone4.test. {ttl} IN SOA ns1.child.zone4.test. hostmaster.child.zone4.test. "
             "7 7200 3600 1209600 600")
NEG_SOA_LOWTTL = ("lowttl.test. 60 IN SOA ns1.zone4.test. hostmaster.zone4.test. "
                  "1 7200 3600 1209600 3600")
WWW_A = ["www.zone4.test. 300 IN A 192.0.2.80", "www.zone4.test. 300 IN A 192.0.2.81"]


@pytest.fixture
def auth(server):
    """The pooled server for `step`, serving the simple test zones (the step's own `server`)."""
    return server


@pytest.fixture
def asker(auth, new_client, step):
    return Asker(new_client(auth), step)


def part(k):
    """The part of stage 4 a test belongs to (see the module's docstring)."""
    return pytest.mark.part(4, k)


# --------------------------------------------------------------------------------------------------
# Asking and reading


class Reply:
    """A query sent and its reply: bytes, header and the dnspython reading of it."""

    def __init__(self, sent, q, raw, what, step):
        self.sent, self.q, self.raw, self.what, self.step = sent, q, raw, what, step
        self.hdr = g.Header.parse(raw) if len(raw) >= g.HEADER_SIZE else None
        self.msg = parse_reply(raw, sent, what)


def parse_reply(raw, sent, what):
    """dnspython's reading of a reply; a reply it cannot read fails the test."""
    error = None
    try:
        return dns.message.from_wire(raw)
    except Exception as e:  # any parse error is the finding
        error = f"{type(e).__name__}: {e}"
    # failed outside the except block: no "During handling..." noise
    g.fail(f"dnspython cannot parse the reply to {what}", expected="a well-formed DNS message",
           got=error, sent=sent, details=[f"the reply ({len(raw)} bytes): {g.hexs(raw, 96)}"],
           hints=["check each record: owner name, TYPE, CLASS, TTL (32 bits), RDLENGTH, then "
                  "exactly RDLENGTH bytes of RDATA; and that the counts match the records"])


class Asker:
    """Sends single-question queries to the server under test."""

    ids = itertools.count(0x4A01)

    def __init__(self, client, step):
        self.client, self.step = client, step

    def ask(self, name, qtype="A", rd=0, flags=None, edns_payload=None, id_=None):
        """Sends `name` `qtype` IN (case kept; RD as given, or the whole flags word) and returns the
        Reply. With edns_payload, an OPT record with that UDP payload size is added."""
        id_ = next(self.ids) & 0xFFFF if id_ is None else id_
        qtype_code = dns.rdatatype.from_text(qtype) if isinstance(qtype, str) else qtype
        q = g.question(name, qtype_code, 1)
        flags = g.make_flags(rd=rd) if flags is None else flags
        opt = b""
        if edns_payload is not None:
            # OPT (RFC 6891): root owner, TYPE 41, CLASS = payload size, TTL 0, RDLENGTH 0
            opt = b"\x00" + bytes.fromhex("0029") + edns_payload.to_bytes(2, "big") + bytes(6)
        sent = g.header(id_, flags, 1, 0, 0, 1 if opt else 0) + q + opt
        what = f"{name} {dns.rdatatype.to_text(qtype_code)}"
        raw = self.client.exchange(sent, what=what)
        g.expect_answered(raw, sent)  # a FORMERR to this well-formed query is reported as such
        return Reply(sent, q, raw, what, self.step)


def record_texts(section):
    """One line per record, dig-like: "owner ttl IN TYPE rdata" (owner case as received)."""
    out = []
    for rrset in section:
        for rd in rrset:
            out.append(f"{rrset.name} {rrset.ttl} IN {dns.rdatatype.to_text(rrset.rdtype)} "
                       f"{rd.to_text()}")
    return out


def _key(text):
    return text.lower()


def _rrset_order(texts):
    """(owner, type) of each RRset in order of appearance, case-insensitive."""
    order = []
    for t in texts:
        owner, _, _, rtype = t.lower().split()[:4]
        if not order or order[-1] != (owner, rtype):
            order.append((owner, rtype))
    return order


def _count(records):
    return f"{len(records)} record{'' if len(records) == 1 else 's'}"


def _lines(records):
    return [f"    {r}" for r in records] or ["    (none)"]


def expect_section(reply, section, expected, ordered=False, hints=()):
    """The records of `section` are `expected` (dig-like lines), compared without letter case; with
    ordered, their RRsets must also come in that order."""
    got = record_texts({"answer": reply.msg.answer, "authority": reply.msg.authority,
                        "additional": reply.msg.additional}[section])
    same = sorted(map(_key, got)) == sorted(map(_key, expected))
    if same and (not ordered or _rrset_order(got) == _rrset_order(expected)):
        return
    summary = (f"the reply to {reply.what}: the {section} section holds the right records in the "
               "wrong order" if same else
               f"the reply to {reply.what}: wrong {section} section")
    g.fail(summary, details=[f"expected ({_count(expected)}):", *_lines(expected),
                             f"got ({_count(got)}):", *_lines(got)],
           sent=reply.sent, hints=list(hints) + _section_hints(section, expected, got))


def _section_hints(section, expected, got):
    hints = []
    exp, have = sorted(map(_key, expected)), sorted(map(_key, got))
    if exp and have and len(exp) == len(have):
        ttls = [(e.split()[1], h.split()[1]) for e, h in zip(exp, have)
                if e.split()[0] == h.split()[0] and e.split()[2:] == h.split()[2:]]
        if ttls and all(a != b for a, b in ttls):
            hints.append("the records are right but their TTLs are not: an RRset's TTL comes from "
                         "the zone file (a negative answer's SOA: min(SOA TTL, MINIMUM))")
    if section == "additional" and expected and not got:
        hints.append("NS and MX answers (and referrals) carry the A/AAAA records of the names they "
                     "point to, when one of our zones has them (RFC 1035 3.3.9, 3.3.11)")
    return hints


def expect_reply(reply, rcode, aa, answer=(), authority=(), additional=None, tc=0, ordered=False,
                 hints=()):
    """The whole reply: header (ID, OPCODE, RD copied; QR=1, RA=0 (1 from stage 6 on, which offers
    recursion: test_06_forwarding.py checks local answers with this too), Z=0, QDCOUNT 1, and the
    given RCODE, AA, TC), the question echoed as sent, then the sections (additional=None: not
    checked)."""
    q = g.Header.parse(reply.sent)
    g.expect_header(reply.raw, reply.sent, what=f"the reply header to {reply.what}", step=reply.step,
                    extra_hints=hints, id=q.id, qr=1, opcode=q.opcode, rd=q.rd,
                    ra=1 if reply.step >= g.RA_FROM else 0, z=0,
                    qdcount=1, rcode=rcode, aa=aa, tc=tc)
    g.expect_question(reply.raw, reply.sent, reply.q, exact=False, what=f"the reply to {reply.what}")
    expect_section(reply, "answer", list(answer), ordered=ordered, hints=hints)
    expect_section(reply, "authority", list(authority), hints=hints)
    if additional is not None:
        expect_section(reply, "additional", list(additional), hints=hints)


NODATA_HINT = ("the name exists but has no record of this type: NOERROR, an empty answer and the "
               "zone's SOA in authority (RFC 2308 2.2), AA=1")
NXDOMAIN_HINT = ("the name does not exist in the zone: NXDOMAIN (RCODE 3), AA=1 and the zone's SOA in "
                 "authority (RFC 2308 2.1)")


# --------------------------------------------------------------------------------------------------
# Exact answers


@pytest.mark.stage(4, until=6)
@part(1)
@pytest.mark.parametrize("name,qtype,answer", [
    pytest.param("www.zone4.test.", "A", WWW_A, id="two-A"),
    pytest.param("v6only.zone4.test.", "AAAA", ["v6only.zone4.test. 3600 IN AAAA 2001:db8::80"],
                 id="AAAA"),
    pytest.param("txt.zone4.test.", "TXT", ['txt.zone4.test. 3600 IN TXT "hello"'], id="TXT"),
    pytest.param("zone4.test.", "A", ["zone4.test. 3600 IN A 192.0.2.1"], id="apex-A"),
    pytest.param("zone4.test.", "SOA", [SOA4.format(ttl=3600)], id="apex-SOA"),
    pytest.param("zone4.test.", "MX", ["zone4.test. 3600 IN MX 10 mail.zone4.test.",
                                       "zone4.test. 3600 IN MX 20 mail2.zone4.test."], id="apex-MX"),
    pytest.param("zone4.test.", "NS", ["zone4.test. 3600 IN NS ns1.zone4.test.",
                                       "zone4.test. 3600 IN NS ns2.zone4.test."], id="apex-NS"),
    pytest.param("web.zone4.test.", "CNAME", ["web.zone4.test. 3600 IN CNAME www.zone4.test."],
                 id="CNAME-asked-for"),
    pytest.param("*.wild.zone4.test.", "TXT", ['*.wild.zone4.test. 3600 IN TXT "wild"'],
                 id="the-wildcard-itself"),
])
def test_exact_answer(asker, name, qtype, answer):
    """The name has the type: its whole RRset in answer, AA=1, nothing in authority. (The additional
    section of MX and NS answers is part 4.3's: test_additional_addresses.)"""
    r = asker.ask(name, qtype)
    expect_reply(r, g.NOERROR, aa=1, answer=answer,
                 hints=["an exact match: the RRset of QTYPE at QNAME, AA=1 (we are the authority)"])


@pytest.mark.stage(4, until=6)
@part(3)
@pytest.mark.parametrize("qtype,answer,additional", [
    pytest.param("MX", ["zone4.test. 3600 IN MX 10 mail.zone4.test.",
                        "zone4.test. 3600 IN MX 20 mail2.zone4.test."],
                 ["mail.zone4.test. 3600 IN A 192.0.2.25",
                  "mail2.zone4.test. 3600 IN A 198.51.100.25"], id="MX"),
    pytest.param("NS", ["zone4.test. 3600 IN NS ns1.zone4.test.",
                        "zone4.test. 3600 IN NS ns2.zone4.test."],
                 ["ns1.zone4.test. 3600 IN A 192.0.2.53", "ns2.zone4.test. 3600 IN A 198.51.100.53",
                  "ns2.zone4.test. 3600 IN AAAA 2001:db8::53"], id="NS"),
])
def test_additional_addresses(asker, qtype, answer, additional):
    """MX and NS answers carry the addresses (A and AAAA) of the names they point to in the
    additional section, when one of our zones has them (RFC 1035 3.3.9, 3.3.11)."""
    r = asker.ask("zone4.test.", qtype)
    expect_reply(r, g.NOERROR, aa=1, answer=answer, additional=additional,
                 hints=["an exact match: the RRset of QTYPE at QNAME, AA=1 (we are the authority)"])


@pytest.mark.stage(4, until=6)
@part(1)
@pytest.mark.parametrize("rd", [0, 1], ids=["rd-0", "rd-1"])
@pytest.mark.parametrize("id_", [0x1234, 0xA5C3], ids=lambda i: f"id-{i:04x}")
def test_header_of_an_answer(asker, id_, rd):
    """ID, OPCODE and RD come back as sent; QR=1, AA=1, TC=0; RA=0 (no recursion here), 1 from
    stage 6 on (which offers recursion, even in its local answers)."""
    r = asker.ask("www.zone4.test.", "A", rd=rd, id_=id_)
    expect_reply(r, g.NOERROR, aa=1, answer=WWW_A)


@pytest.mark.stage(4, until=6)
@part(1)
def test_other_query_flags_are_not_copied(asker, step):
    """A query with AA, TC, RA, Z, AD and CD set: none of them comes back but CD, which may (RFC 4035
    3.2.2); AA is the server's own (1: an answer from our zone). (A query with an RCODE set is
    malformed: test_03_question.py.)"""
    flags = g.make_flags(aa=1, tc=1, rd=1, ra=1, z=1, ad=1, cd=1)
    r = asker.ask("www.zone4.test.", "A", flags=flags)
    g.expect_header(r.raw, r.sent, what="the reply to a query with odd flags", step=r.step,
                    extra_hints=["copy only ID, OPCODE and RD from the query (and CD if you like)"],
                    qr=1, aa=1, tc=0, rd=1, ra=1 if step >= g.RA_FROM else 0, z=0, ad=0,
                    cd=(0, 1), rcode=g.NOERROR)
    expect_section(r, "answer", WWW_A)


@pytest.mark.stage(4, until=6)
@part(1)
@pytest.mark.parametrize("name", ["WWW.ZONE4.TEST.", "wWw.ZoNe4.tEsT."])
def test_names_match_without_case_and_keep_the_querys_case(asker, name):
    """Names match case-insensitively; the question comes back as sent, and the answer's owner is
    the query's name, letter case kept (RFC 4343)."""
    r = asker.ask(name, "A")
    expect_reply(r, g.NOERROR, aa=1, answer=WWW_A,
                 hints=["compare names case-insensitively (e.g. lower-case both sides, or a "
                        "case-insensitive hash)"])
    owners = {rrset.name.to_text() for rrset in r.msg.answer}
    if owners != {name}:
        g.fail(f"the reply to {r.what}: the answer's owner name lost the query's letter case",
               expected=name, got=", ".join(sorted(owners)), sent=r.sent,
               hints=["write the owner of an exact answer as the client sent QNAME (its case "
                      "kept), not as the zone file spells it"])


@pytest.mark.stage(4, until=6)
@part(1)
def test_owner_case_from_the_query_not_the_zone(asker):
    """The zone file writes MiXeD; a query for mixed.zone4.test gets the owner mixed.zone4.test."""
    r = asker.ask("mixed.zone4.test.", "A")
    expect_reply(r, g.NOERROR, aa=1, answer=["mixed.zone4.test. 3600 IN A 192.0.2.7"])
    owners = {rrset.name.to_text() for rrset in r.msg.answer}
    if owners != {"mixed.zone4.test."}:
        g.fail(f"the reply to {r.what}: the answer's owner is spelt as in the zone file",
               expected="mixed.zone4.test.", got=", ".join(sorted(owners)), sent=r.sent,
               hints=["the owner of an exact answer is QNAME as the client sent it"])


# --------------------------------------------------------------------------------------------------
# Which zone: the longest apex; none -> REFUSED


@pytest.mark.stage(4, until=6)
@part(1)
@pytest.mark.parametrize("name,qtype", [
    pytest.param("www.example.invalid.", "A", id="unrelated-name"),
    pytest.param("test.", "SOA", id="parent-of-our-zone"),
    pytest.param(".", "NS", id="root"),
    pytest.param("xzone4.test.", "A", id="same-suffix-not-a-label"),
    pytest.param("www.zone4.test.example.", "A", id="our-zone-inside-another-name"),
])
def test_name_outside_our_zones_is_refused(asker, name, qtype):
    """No zone's apex contains the name: REFUSED, AA=0, nothing in any section."""
    r = asker.ask(name, qtype)
    hints = ["a name no zone contains is not ours to answer: RCODE 5 REFUSED, AA=0, empty sections"]
    if name == "xzone4.test.":
        hints.append("xzone4.test is not inside zone4.test: compare whole labels from the right, "
                     "not the text's last characters")
    expect_reply(r, g.REFUSED, aa=0, additional=[], hints=hints)


@pytest.mark.stage(4, until=6)
@part(2)
@pytest.mark.parametrize("name,qtype,rcode,answer,authority", [
    pytest.param("www.child.zone4.test.", "A", g.NOERROR,
                 ["www.child.zone4.test. 3600 IN A 192.0.2.201"], [], id="answer"),
    pytest.param("child.zone4.test.", "SOA", g.NOERROR, [SOA_CHILD.format(ttl=3600)], [],
                 id="apex-SOA"),
    pytest.param("nosuch.child.zone4.test.", "A", g.NXDOMAIN, [], [SOA_CHILD.format(ttl=600)],
                 id="nxdomain-with-the-childs-SOA"),
])
def test_longest_apex_wins(asker, name, qtype, rcode, answer, authority):
    """zone4.test delegates child.zone4.test, but we serve child.zone4.test too: its zone, the one
    with the longest apex containing the name, answers authoritatively (no referral)."""
    r = asker.ask(name, qtype)
    expect_reply(r, rcode, aa=1, answer=answer, authority=authority,
                 hints=["several zones may contain the name: the one with the longest apex "
                        "(the most labels) answers, so the child zone, not zone4.test's referral"])


# --------------------------------------------------------------------------------------------------
# Referrals

SUB_NS = ["sub.zone4.test. 3600 IN NS ns1.sub.zone4.test.",
          "sub.zone4.test. 3600 IN NS ns.elsewhere.invalid."]
SUB_GLUE = ["ns1.sub.zone4.test. 3600 IN A 192.0.2.153"]
REFERRAL_HINT = ("the name is at or below a zone cut (NS records below the apex): the data belongs "
                 "to the child zone, so the reply is a referral — NOERROR, AA=0, an empty answer, "
                 "the cut's NS RRset in authority and their glue addresses in additional")


@pytest.mark.stage(4, until=6)
@part(3)
@pytest.mark.parametrize("name,qtype", [
    pytest.param("www.sub.zone4.test.", "A", id="below-the-cut"),
    pytest.param("a.b.c.sub.zone4.test.", "MX", id="far-below-the-cut"),
    pytest.param("sub.zone4.test.", "A", id="at-the-cut"),
    pytest.param("sub.zone4.test.", "NS", id="at-the-cut-NS"),
    pytest.param("ns1.sub.zone4.test.", "A", id="the-glue-name"),
    pytest.param("WWW.SUB.Zone4.Test.", "A", id="mixed-case"),
])
def test_referral(asker, name, qtype):
    """At or below a zone cut: AA=0, answer empty, the cut's NS RRset in authority, the glue A record
    of ns1.sub in additional (ns.elsewhere.invalid has none here). Even the glue name itself is
    answered with a referral: glue is not authoritative data."""
    r = asker.ask(name, qtype)
    expect_reply(r, g.NOERROR, aa=0, answer=[], authority=SUB_NS, additional=SUB_GLUE,
                 hints=[REFERRAL_HINT])


@pytest.mark.stage(4, until=6)
@part(3)
def test_glue_goes_only_with_referrals(asker):
    """mx.zone4.test's MX names ns1.sub.zone4.test, whose address is glue (below the cut at sub):
    the child's data, kept to reach its servers. An authoritative answer carries no glue in its
    additional section; only a referral does (as NSD does)."""
    r = asker.ask("mx.zone4.test.", "MX")
    expect_reply(r, g.NOERROR, aa=1, answer=["mx.zone4.test. 3600 IN MX 10 ns1.sub.zone4.test."],
                 authority=[], additional=[],
                 hints=["an address at or below a zone cut is glue: it goes into the additional "
                        "section of a referral, never of an authoritative answer"])


@pytest.mark.stage(4, until=6)
@part(3)
def test_ds_at_the_cut_is_answered_by_the_parent(asker):
    """DS is the one type that lives on the parent's side of a cut (RFC 4035 3.1.4.1): a DS
    question for sub.zone4.test is answered by zone4.test itself, NODATA (it holds no DS), not
    referred to the child."""
    r = asker.ask("sub.zone4.test.", "DS")
    expect_reply(r, g.NOERROR, aa=1, answer=[], authority=[NEG_SOA4], additional=[],
                 hints=["a DS question at a delegation point is the parent's to answer: "
                        "NOERROR, AA=1 and the SOA when there is no DS (not a referral)"])


@pytest.mark.stage(4, until=6)
@part(1)
def test_any_gets_one_rrset(asker):
    """ANY at zone4.test (SOA, NS, MX, A): one RRset, the first, as RFC 8482 4.1 recommends;
    all of them would make ANY the lever of reflection attacks."""
    r = asker.ask("zone4.test.", "ANY")
    expect_reply(r, g.NOERROR, aa=1, answer=[SOA4.format(ttl=3600)], authority=[],
                 additional=[],
                 hints=["answer ANY with one RRset of the name (RFC 8482), not every RRset"])


@pytest.mark.stage(4, until=6)
@part(1)
@pytest.mark.parametrize("qtype", ["AXFR", "IXFR"])
def test_zone_transfer_over_udp_is_notimp(asker, qtype):
    """A zone transfer is a TCP conversation (RFC 5936 4.2): over UDP, AXFR and IXFR get NOTIMP,
    as NSD answers AXFR."""
    r = asker.ask("zone4.test.", qtype)
    expect_reply(r, g.NOTIMP, aa=0, answer=[], authority=[], additional=[],
                 hints=[f"{qtype} over UDP is not implemented here: NOTIMP (RCODE 4)"])


# --------------------------------------------------------------------------------------------------
# CNAME


@pytest.mark.stage(4, until=6)
@part(3)
@pytest.mark.parametrize("name,rcode,answer,authority", [
    pytest.param("web.zone4.test.", g.NOERROR,
                 ["web.zone4.test. 3600 IN CNAME www.zone4.test.", *WWW_A], [], id="one-link"),
    pytest.param("ftp.zone4.test.", g.NOERROR,
                 ["ftp.zone4.test. 3600 IN CNAME web.zone4.test.",
                  "web.zone4.test. 3600 IN CNAME www.zone4.test.", *WWW_A], [], id="two-links"),
    pytest.param("other.zone4.test.", g.NOERROR,
                 ["other.zone4.test. 3600 IN CNAME www.lowttl.test.",
                  "www.lowttl.test. 600 IN A 192.0.2.60"], [], id="into-another-of-our-zones"),
    pytest.param("ext.zone4.test.", g.NOERROR,
                 ["ext.zone4.test. 3600 IN CNAME www.elsewhere.invalid."], [],
                 id="target-outside-our-zones"),
    pytest.param("eight-0.zone4.test.", g.NOERROR,
                 [*[f"eight-{i}.zone4.test. 3600 IN CNAME eight-{i + 1}.zone4.test."
                    for i in range(8)],
                  "eight-8.zone4.test. 3600 IN A 192.0.2.88"], [], id="eight-links"),
])
def test_cname_chain(asker, name, rcode, answer, authority):
    """A CNAME at the name (QTYPE is not CNAME): the CNAME first, then the records of its target,
    following the chain while the target is in one of our zones (up to 8 links). AA=1."""
    r = asker.ask(name, "A")
    expect_reply(r, rcode, aa=1, answer=answer, authority=authority, ordered=True,
                 hints=["a CNAME answers for its name: put it in the answer, then look up the same "
                        "QTYPE at its target, in any of our zones, and add what is found there"])


@pytest.mark.stage(4, until=6)
@part(3)
@pytest.mark.parametrize("qtype,rcode,authority", [
    pytest.param("A", g.NXDOMAIN, [NEG_SOA4], id="target-does-not-exist"),
])
def test_cname_to_a_missing_name(asker, qtype, rcode, authority):
    """The chain ends at a name that does not exist: the CNAME, then NXDOMAIN with the SOA (the
    RCODE is about the last name of the chain, RFC 6604 2.1)."""
    r = asker.ask("dangling.zone4.test.", qtype)
    expect_reply(r, rcode, aa=1, answer=["dangling.zone4.test. 3600 IN CNAME nothere.zone4.test."],
                 authority=authority, hints=[NXDOMAIN_HINT + ", after the CNAME that led there"])


@pytest.mark.stage(4, until=6)
@part(3)
def test_cname_to_a_name_without_the_type(asker):
    """web -> www, asked for AAAA: www has no AAAA, so the CNAME, then NODATA's SOA in authority."""
    r = asker.ask("web.zone4.test.", "AAAA")
    expect_reply(r, g.NOERROR, aa=1, answer=["web.zone4.test. 3600 IN CNAME www.zone4.test."],
                 authority=[NEG_SOA4], hints=[NODATA_HINT + ", after the CNAME that led there"])


@pytest.mark.stage(4, until=6)
@part(3)
def test_cname_loop_stops(asker, auth):
    """loop1 -> loop2 -> loop1: the chain stops where it would repeat itself; the reply is the two
    CNAMEs, NOERROR (and the server keeps answering)."""
    r = asker.ask("loop1.zone4.test.", "A")
    expect_reply(r, g.NOERROR, aa=1, answer=["loop1.zone4.test. 3600 IN CNAME loop2.zone4.test.",
                                             "loop2.zone4.test. 3600 IN CNAME loop1.zone4.test."],
                 ordered=True, hints=["remember the names of the chain (or count the links) and stop "
                                      "at a name already seen: each RRset once"])
    g.expect_still_answers(asker.client, asker.step, after="a query for a CNAME loop")


@pytest.mark.stage(4, until=6)
@part(3)
def test_long_cname_chain_stops_after_eight_links(asker):
    """long-0 -> long-1 -> ... -> long-12 (A): at most 8 links are followed, so the answer is the
    chain's first CNAMEs in order (8, or 9 if the CNAME that is not followed is included), no A
    record, NOERROR, AA=1."""
    r = asker.ask("long-0.zone4.test.", "A")
    g.expect_header(r.raw, r.sent, what=f"the reply to {r.what}", step=r.step, qr=1, rcode=g.NOERROR,
                    aa=1, tc=0, qdcount=1)
    chain = [f"long-{i}.zone4.test. 3600 IN CNAME long-{i + 1}.zone4.test." for i in range(LONG_CHAIN)]
    got = record_texts(r.msg.answer)
    n = len(got)
    if not (8 <= n <= 9 and list(map(_key, got)) == list(map(_key, chain[:n]))):
        g.fail(f"the reply to {r.what}: the chain of {LONG_CHAIN} CNAMEs is not cut after 8 links",
               details=["expected the first 8 (or 9) CNAMEs of the chain, in order:",
                        *_lines(chain[:9]),
                        f"got ({_count(got)}):", *_lines(got)], sent=r.sent,
               hints=["follow at most 8 CNAME links, then return the answer so far: long chains "
                      "are a misconfiguration, and each link costs a lookup"])


# --------------------------------------------------------------------------------------------------
# NODATA and NXDOMAIN


@pytest.mark.stage(4, until=6)
@part(2)
@pytest.mark.parametrize("name,qtype,authority", [
    pytest.param("www.zone4.test.", "AAAA", NEG_SOA4, id="type-missing"),
    pytest.param("www.zone4.test.", "MX", NEG_SOA4, id="type-missing-MX"),
    pytest.param("zone4.test.", "TXT", NEG_SOA4, id="apex"),
    pytest.param("b.zone4.test.", "A", NEG_SOA4, id="empty-non-terminal"),
    pytest.param("B.Zone4.Test.", "TXT", NEG_SOA4, id="empty-non-terminal-mixed-case"),
    pytest.param("www.lowttl.test.", "AAAA", NEG_SOA_LOWTTL, id="soa-ttl-below-minimum"),
])
def test_nodata(asker, name, qtype, authority):
    """The name exists but has no RRset of this type (an empty non-terminal exists too, with no
    RRset at all): NOERROR, empty answer, the zone's SOA in authority with TTL min(SOA TTL, MINIMUM)
    (RFC 2308 3), AA=1."""
    r = asker.ask(name, qtype)
    hints = [NODATA_HINT]
    if name.lower().startswith("b."):
        hints.append("b.zone4.test has no records, but a.b.zone4.test exists, so b exists too (an "
                     "empty non-terminal): NODATA, not NXDOMAIN")
    expect_reply(r, g.NOERROR, aa=1, answer=[], authority=[authority], additional=[], hints=hints)


@pytest.mark.stage(4, until=6)
@part(2)
@pytest.mark.parametrize("name,qtype,authority", [
    pytest.param("nosuch.zone4.test.", "A", NEG_SOA4, id="nxdomain"),
    pytest.param("a.b.c.nosuch.zone4.test.", "A", NEG_SOA4, id="deep"),
    pytest.param("c.b.zone4.test.", "A", NEG_SOA4, id="under-an-empty-non-terminal"),
    pytest.param("nosuch.lowttl.test.", "A", NEG_SOA_LOWTTL, id="soa-ttl-below-minimum"),
])
def test_nxdomain(asker, name, qtype, authority):
    """The name does not exist and no wildcard covers it: NXDOMAIN, empty answer, the SOA in
    authority with TTL min(SOA TTL, MINIMUM), AA=1."""
    r = asker.ask(name, qtype)
    expect_reply(r, g.NXDOMAIN, aa=1, answer=[], authority=[authority], additional=[],
                 hints=[NXDOMAIN_HINT])


# --------------------------------------------------------------------------------------------------
# Wildcards (RFC 4592)


@pytest.mark.stage(4, until=6)
@part(3)
@pytest.mark.parametrize("name", ["foo.wild.zone4.test.", "x.y.wild.zone4.test.",
                                  "FoO.Wild.zone4.test."],
                         ids=["one-label", "two-labels", "mixed-case"])
def test_wildcard_answers_with_the_query_name(asker, name):
    """foo.wild.zone4.test does not exist, its closest encloser is wild.zone4.test, and
    *.wild.zone4.test exists: its TXT answers, with the query's name (case kept) as the owner."""
    r = asker.ask(name, "TXT")
    expect_reply(r, g.NOERROR, aa=1, answer=[f'{name} 3600 IN TXT "wild"'], authority=[],
                 hints=["a name that does not exist is answered from *.<closest encloser> when that "
                        "exists (RFC 4592), with QNAME as the owner"])
    owners = {rrset.name.to_text() for rrset in r.msg.answer}
    if owners != {name}:
        g.fail(f"the reply to {r.what}: the synthesized record's owner is not the query name",
               expected=name, got=", ".join(sorted(owners)), sent=r.sent,
               hints=["records synthesized from a wildcard take QNAME, as sent, as their owner, "
                      "not *.wild.zone4.test"])


@pytest.mark.stage(4, until=6)
@part(3)
@pytest.mark.parametrize("name,qtype,rcode,answer", [
    pytest.param("foo.wild.zone4.test.", "A", g.NOERROR, [], id="wildcard-without-the-type"),
    pytest.param("wild.zone4.test.", "TXT", g.NOERROR, [], id="the-closest-encloser-itself"),
    pytest.param("host.wild.zone4.test.", "TXT", g.NOERROR, [], id="existing-name-is-not-covered"),
    pytest.param("a.host.wild.zone4.test.", "TXT", g.NXDOMAIN, [], id="below-an-existing-name"),
])
def test_wildcard_limits(asker, name, qtype, rcode, answer):
    """Where *.wild does not apply: a name that exists (host.wild, or wild itself, an empty
    non-terminal) is never answered from the wildcard (NODATA); below host.wild the closest encloser
    is host.wild, which has no wildcard (NXDOMAIN); and a matching wildcard without the type is
    NODATA."""
    r = asker.ask(name, qtype)
    hints = {
        "foo.wild.zone4.test.": "the wildcard matches but has no A: NODATA (NOERROR, the SOA in "
                                "authority)",
        "wild.zone4.test.": "wild.zone4.test exists (it has a child, *.wild): NODATA; the wildcard "
                            "only stands for names that do not exist",
        "host.wild.zone4.test.": "host.wild.zone4.test exists, so the wildcard does not apply to it "
                                 "(RFC 4592 2.2): NODATA",
        "a.host.wild.zone4.test.": "the closest encloser of a.host.wild.zone4.test is "
                                   "host.wild.zone4.test, and *.host.wild.zone4.test does not exist: "
                                   "NXDOMAIN (*.wild does not cover it)",
    }[name]
    expect_reply(r, rcode, aa=1, answer=answer, authority=[NEG_SOA4], hints=[hints])


# --------------------------------------------------------------------------------------------------
# The master-file syntax (part 4.4): syntax.test, zonedata.SYNTAX, served alone

SYNTAX_ANSWERS = [
    pytest.param("syntax.test.", "SOA", ["syntax.test. 3600 IN SOA ns1.syntax.test. "
                                         "hostmaster.syntax.test. 2026010101 7200 3600 1209600 300"],
                 "@, relative names, $TTL, and parentheses over six lines with comments inside",
                 id="soa-in-parentheses"),
    pytest.param("syntax.test.", "NS", ["syntax.test. 3600 IN NS ns1.syntax.test.",
                                        "syntax.test. 3600 IN NS ns2.syntax.test."],
                 "blank owners (the previous record's), a record without a class", id="blank-owners"),
    pytest.param("ns2.syntax.test.", "A", ["ns2.syntax.test. 3600 IN A 198.51.100.53"],
                 "TTL before the class", id="ttl-then-class"),
    pytest.param("ns2.syntax.test.", "AAAA", ["ns2.syntax.test. 600 IN AAAA 2001:db8::53"],
                 "class before the TTL, under a blank owner", id="class-then-ttl"),
    pytest.param("www.syntax.test.", "A", ["www.syntax.test. 300 IN A 192.0.2.80",
                                           "www.syntax.test. 300 IN A 192.0.2.81"],
                 "a blank line, then a blank owner with a TTL and no class", id="ttl-no-class"),
    pytest.param("txt.syntax.test.", "TXT", ['txt.syntax.test. 3600 IN TXT "hello" "two strings"'],
                 "two quoted strings, one with a space", id="txt-two-strings"),
    pytest.param("quote.syntax.test.", "TXT",
                 ['quote.syntax.test. 3600 IN TXT "a \\"quoted\\" word; not a comment"'],
                 "escaped quotes and a ';' inside a quoted string", id="txt-escapes"),
    pytest.param("mx.syntax.test.", "MX", ["mx.syntax.test. 3600 IN MX 10 mail.syntax.test."],
                 "parentheses around the RDATA, with a comment inside", id="rdata-in-parentheses"),
    pytest.param("host.sub.syntax.test.", "A", ["host.sub.syntax.test. 3600 IN A 192.0.2.90"],
                 "a second $ORIGIN", id="second-origin"),
    pytest.param("short.sub.syntax.test.", "A", ["short.sub.syntax.test. 60 IN A 192.0.2.91"],
                 "a second $TTL", id="second-ttl"),
]


@pytest.mark.stage(4, until=6)
@part(4)
@pytest.mark.parametrize("name,qtype,answer,feature", SYNTAX_ANSWERS)
def test_master_file_syntax(server_with, test_zones, new_client, step, name, qtype, answer,
                            feature):
    """syntax.test is written with the whole master-file syntax of RFC 1035 5.1; each record reads as
    its plain form: $ORIGIN and @, relative names, $TTL, blank owners, parentheses, comments, TTL and
    class in either order or left out, quoted strings with spaces and escapes."""
    srv = server_with(zone=test_zones.full)
    r = Asker(new_client(srv), step).ask(name, qtype)
    expect_reply(r, g.NOERROR, aa=1, answer=answer,
                 hints=[f"the zone file writes this with {feature} "
                        f"(see {test_zones.full[0]}): RFC 1035 5.1"])


# --------------------------------------------------------------------------------------------------
# Size: at most 512 bytes over UDP


def expect_fits(reply):
    if len(reply.raw) > UDP_MAX:
        g.fail(f"the reply to {reply.what} is longer than a UDP reply may be",
               expected=f"at most {UDP_MAX} bytes (RFC 1035 4.2.1, without EDNS)",
               got=f"{len(reply.raw)} bytes", sent=reply.sent,
               hints=["add whole RRsets while they fit in 512 bytes; if an answer or authority RRset "
                      "does not fit, leave it out and set TC"])


@pytest.mark.stage(4, until=6)
@part(4)
@pytest.mark.parametrize("edns", [None, 4096], ids=["plain", "edns-4096"])
def test_rrset_too_big_sets_tc(asker, edns):
    """big.zone4.test holds 40 A records, more than 512 bytes: the RRset is left out whole (ANCOUNT 0),
    TC=1, and the reply is at most 512 bytes. The server ignores EDNS, so a client's bigger payload
    size changes nothing (and no OPT comes back)."""
    r = asker.ask("big.zone4.test.", "A", edns_payload=edns)
    expect_fits(r)
    hints = ["an RRset that does not fit is rolled back whole (never half an RRset) and TC is set: "
             "the client retries over TCP"]
    if edns:
        hints.append("this stage ignores EDNS: the limit stays 512 bytes and no OPT is added")
    expect_reply(r, g.NOERROR, aa=1, tc=1, answer=[], authority=[], additional=[], hints=hints)


@pytest.mark.stage(4, until=6)
@part(4)
def test_answer_keeps_the_rrsets_that_fit(asker):
    """tobig -> big: the CNAME fits, the 40 A records do not: the answer keeps the CNAME, TC=1."""
    r = asker.ask("tobig.zone4.test.", "A")
    expect_fits(r)
    expect_reply(r, g.NOERROR, aa=1, tc=1, answer=["tobig.zone4.test. 3600 IN CNAME big.zone4.test."],
                 authority=[], additional=[],
                 hints=["keep the RRsets that fitted, drop the one that did not (whole), set TC"])


@pytest.mark.stage(4, until=6)
@part(4)
def test_referral_with_too_much_glue_drops_glue_without_tc(asker):
    """g.zone4.test is delegated to 10 name servers, each with A and AAAA glue: the NS RRset fits, not
    all the glue. Additional records that do not fit are simply left out: TC=0, all 10 NS records,
    some (not all 20) glue records, every one of them right, and at most 512 bytes."""
    r = asker.ask("www.g.zone4.test.", "A")
    expect_fits(r)
    ns = [f"g.zone4.test. 3600 IN NS n{i}.g.zone4.test." for i in range(GLUE_COUNT)]
    glue = {_key(t) for i in range(GLUE_COUNT)
            for t in (f"n{i}.g.zone4.test. 3600 IN A 192.0.2.{100 + i}",
                      f"n{i}.g.zone4.test. 3600 IN AAAA 2001:db8::{100 + i}")}
    expect_reply(r, g.NOERROR, aa=0, tc=0, answer=[], authority=ns,
                 hints=["the additional section is a courtesy: records that do not fit are left "
                        "out without setting TC (RFC 2181 9)"])
    got = record_texts(r.msg.additional)
    wrong = [t for t in got if _key(t) not in glue]
    if wrong or not 0 < len(got) < 2 * GLUE_COUNT:
        g.fail(f"the reply to {r.what}: the additional section should hold some of the glue",
               expected=f"between 1 and {2 * GLUE_COUNT - 1} of the glue records of "
                        "n0..n9.g.zone4.test",
               got=f"{len(got)} records" + (f", {len(wrong)} of them not glue" if wrong else ""),
               details=["got:", *_lines(got)], sent=r.sent,
               hints=["add each glue RRset if it fits, skip it if it does not"])


# --------------------------------------------------------------------------------------------------
# Every reply is a message dnspython reads and takes as the response to its query

MANY = [(n, t) for n in ["zone4.test.", "www.zone4.test.", "web.zone4.test.", "ftp.zone4.test.",
                         "b.zone4.test.", "nosuch.zone4.test.", "foo.wild.zone4.test.",
                         "www.sub.zone4.test.", "www.g.zone4.test.", "big.zone4.test.",
                         "www.child.zone4.test.", "loop1.zone4.test.", "long-0.zone4.test.",
                         "other.zone4.test.", "www.example.invalid."]
        for t in ["A", "AAAA", "NS", "MX", "TXT", "SOA", "CNAME", "ANY"]]


@pytest.mark.stage(4, until=6)
@part(4)
def test_dnspython_reads_every_reply(auth, new_client, step):
    """120 queries (15 names x 8 types, including ANY): each reply is a well-formed message that
    dnspython accepts as the response to its query, of at most 512 bytes."""
    client = new_client(auth)
    for i, (name, qtype) in enumerate(MANY):
        m = dns.message.make_query(name, qtype)
        m.id = 0x7000 + i
        m.flags &= ~dns.flags.RD
        sent = m.to_wire()
        raw = client.exchange(sent, what=f"{name} {qtype}")
        g.expect_answered(raw, sent)
        r = parse_reply(raw, sent, f"{name} {qtype}")
        if not m.is_response(r):
            g.fail(f"dnspython does not take the reply to {name} {qtype} as its response",
                   expected="the query's ID, QR=1, the same OPCODE and question",
                   got=f"{g.Header.parse(raw).describe()}; question {[str(x) for x in r.question]}",
                   sent=sent)
        if len(raw) > UDP_MAX:
            g.fail(f"the reply to {name} {qtype} is longer than 512 bytes", got=f"{len(raw)} bytes",
                   sent=sent)


# --------------------------------------------------------------------------------------------------
# The shipped zone


@pytest.mark.stage(4, until=6)
@part(4)
def test_shipped_example_zone_loads_and_answers(server_with, new_client, step):
    """zones/example.com.zone, the zone `make step-4` serves, loads; www.example.com A is answered."""
    path = REPO / "zones" / "example.com.zone"
    if not path.exists():
        pytest.skip(f"{path} is not in this checkout")
    srv = server_with(zone=[path])
    r = Asker(new_client(srv), step).ask("www.example.com.", "A")
    expect_reply(r, g.NOERROR, aa=1, answer=["www.example.com. 300 IN A 192.0.2.80",
                                             "www.example.com. 300 IN A 192.0.2.81"])


# --------------------------------------------------------------------------------------------------
# The command line: bad zone files stop the program


def run_step(dns_settings, step, *args, timeout=5, hints=()):
    binary = dns_settings.build_dir / f"step-{step}"
    if not binary.exists():
        pytest.fail(g.missing_binary(binary), pytrace=False)
    argv = [str(binary), "--port", str(g.free_udp_port()), *args]
    if g.provided("resolver", step):  # required there; never used: these servers exit at once
        argv += ["--resolver", "127.0.0.1:53"]
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL), argv
    except subprocess.TimeoutExpired:
        pass
    g.fail(f"{' '.join(argv)} was still running after {timeout} s",
           expected="it exits at once: there is no zone to serve, or a zone file is wrong",
           hints=[*hints, "check every zone file before serving: print FILE:LINE: what is wrong "
                  "on stderr and exit with status 1 (no --zone at all: exit 2)"])


GOOD_HEAD = "$ORIGIN bad.test.\n$TTL 60\n@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n"
BAD_ZONES = [
    pytest.param(GOOD_HEAD + "www IN A 192.0.2.1\nftp IN AAA 2001:db8::1\n", 5, "AAA",
                 id="unknown-type"),
    pytest.param(GOOD_HEAD + "\n; a comment\nwww IN A 192.0.2.300\n", 6, "192.0.2.300",
                 id="bad-address"),
    pytest.param("$ORIGIN bad.test.\n$TTL 60\n; no SOA\nwww IN A 192.0.2.1\n", 4, "SOA",
                 id="missing-soa"),
    pytest.param(GOOD_HEAD + "www IN A 192.0.2.1\nwww IN CNAME other\n", 5, "CNAME",
                 id="cname-beside-other-data"),
    pytest.param(GOOD_HEAD + "www.elsewhere.test. IN A 192.0.2.1\n", 4, "outside",
                 id="name-outside-the-origin"),
    pytest.param("$ORIGIN bad.test.\n$TTL 60\n@ IN SOA ( ns1 hostmaster\n  1 7200 3600\n"
                 "  1209600 300 )\nwww IN CNAME a\nwww IN CNAME b\n", 7, "CNAME",
                 id="line-count-after-parentheses", marks=part(4)),
    pytest.param(GOOD_HEAD + "mx IN MX ( 10\n  mail..bad )\n", 5, "mail..bad",
                 id="error-inside-parentheses", marks=part(4)),
]


@pytest.mark.stage(4, until=6)
@part(1)
@pytest.mark.build_only
@pytest.mark.parametrize("text,line,word", BAD_ZONES)
def test_bad_zone_file_stops_the_program(dns_settings, step, tmp_path, text, line, word):
    """A zone file with an error: "FILE:LINE: what is wrong" on stderr, exit status 1, no serving."""
    path = tmp_path / "bad.test.zone"
    path.write_text(text)
    r, argv = run_step(dns_settings, step, "--zone", str(path))
    numbered = [f"  {i:2}  {t}" for i, t in enumerate(text.splitlines(), 1)]
    prefix = f"{path}:{line}:"
    if r.returncode != 1 or prefix not in r.stderr or word.lower() not in r.stderr.lower():
        g.fail(f"a zone file with an error on line {line}",
               expected=f"exit status 1 and a message on stderr starting {prefix} and naming {word!r}",
               got=f"exit status {r.returncode}; stderr: {r.stderr.strip()!r}",
               details=[f"command: {' '.join(argv)}", "the file:", *numbered],
               hints=["report the first error as FILE:LINE: what is wrong (the line of the field "
                      "at fault, even inside parentheses) and exit 1: a server must not serve "
                      "half a zone"])


@pytest.mark.stage(4, until=6)
@part(1)
@pytest.mark.build_only
def test_bad_second_zone_file_is_named(dns_settings, step, tmp_path, test_zones):
    good = test_zones.dir / "lowttl.test.zone"
    bad = tmp_path / "second.zone"
    bad.write_text(GOOD_HEAD + "www IN A not-an-address\n")
    r, argv = run_step(dns_settings, step, "--zone", str(good), "--zone", str(bad))
    if r.returncode != 1 or f"{bad}:4:" not in r.stderr:
        g.fail("the second of two zone files has an error on line 4",
               expected=f"exit status 1 and {bad}:4: ... on stderr",
               got=f"exit status {r.returncode}; stderr: {r.stderr.strip()!r}",
               details=[f"command: {' '.join(argv)}"])


@pytest.mark.stage(4, until=6)
@part(1)
@pytest.mark.build_only
def test_two_files_of_one_zone(dns_settings, step, tmp_path):
    """Two zone files with the same origin: an error naming both (one would hide the other)."""
    first, second = tmp_path / "a.zone", tmp_path / "b.zone"
    first.write_text(GOOD_HEAD + "www IN A 192.0.2.1\n")
    second.write_text(GOOD_HEAD + "www IN A 192.0.2.2\n")
    r, argv = run_step(dns_settings, step, "--zone", str(first), "--zone", str(second))
    if r.returncode != 1 or f"{second}:" not in r.stderr or str(first) not in r.stderr:
        g.fail("two zone files for the zone bad.test.",
               expected=f"exit status 1 and a message on stderr starting {second}: and naming "
                        f"{first}",
               got=f"exit status {r.returncode}; stderr: {r.stderr.strip()!r}",
               details=[f"command: {' '.join(argv)}"],
               hints=["compare each zone's origin with those already loaded, e.g. "
                      "\"b.zone: zone 'bad.test.' is already loaded from a.zone\""])


NOT_FILES = [
    pytest.param("directory", ["directory"], id="directory"),
    pytest.param("fifo", ["fifo", "pipe", "regular file"], id="fifo"),
]


@pytest.mark.stage(4, until=6)
@part(1)
@pytest.mark.build_only
@pytest.mark.parametrize("kind,words", NOT_FILES)
def test_zone_that_is_not_a_file(dns_settings, step, tmp_path, kind, words):
    """--zone naming a directory or a FIFO: "FILE: what it is" on stderr and exit status 1, at
    once (opening a FIFO must not wait for a writer)."""
    path = tmp_path / "not-a-file.zone"
    if kind == "directory":
        path.mkdir()
    else:
        os.mkfifo(path)
    r, argv = run_step(dns_settings, step, "--zone", str(path),
                       hints=["open the file with O_NONBLOCK, so that a FIFO without a writer "
                              "does not block open(), then refuse anything fstat() says is not "
                              "a regular file"])
    said = r.stderr.lower()
    if r.returncode != 1 or f"{path}:" not in r.stderr or not any(w in said for w in words):
        g.fail(f"--zone names a {kind}",
               expected=f"exit status 1 and a message on stderr starting {path}: and saying it "
                        f"is a {kind} (one of {words})",
               got=f"exit status {r.returncode}; stderr: {r.stderr.strip()!r}",
               details=[f"command: {' '.join(argv)}"],
               hints=["a zone file is a regular file: say what the path is instead (\"is a "
                      "directory\"), not a read error"])


@pytest.mark.stage(4, until=6)
@part(1)
@pytest.mark.build_only
def test_missing_zone_file(dns_settings, step, tmp_path):
    path = tmp_path / "does-not-exist.zone"
    r, argv = run_step(dns_settings, step, "--zone", str(path))
    if r.returncode != 1 or str(path) not in r.stderr:
        g.fail("a zone file that does not exist",
               expected=f"exit status 1 and a message naming {path} on stderr",
               got=f"exit status {r.returncode}; stderr: {r.stderr.strip()!r}",
               details=[f"command: {' '.join(argv)}"])


@pytest.mark.stage(4, until=5)  # stage 6 forwards: its zones are optional
@part(1)
@pytest.mark.build_only
def test_no_zone_exits_2(dns_settings, step):
    r, argv = run_step(dns_settings, step)
    if r.returncode != 2 or "zone" not in r.stderr.lower():
        g.fail("no --zone option: nothing to serve",
               expected="exit status 2 (a usage error) and a message about --zone on stderr",
               got=f"exit status {r.returncode}; stderr: {r.stderr.strip()!r}",
               details=[f"command: {' '.join(argv)}"])
