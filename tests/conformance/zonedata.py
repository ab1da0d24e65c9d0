"""zonedata: the zone files the tests of stages 4 to 6 (and 9) serve, written into the session's temporary
directory (conftest.py's test_zones fixture). Every name in them exercises one rule of the lookup;
test_04_answer.py says which.

Two syntaxes, so that stage 4 can be passed in parts:

  - SIMPLE_ZONES (zone4.test, child.zone4.test, lowttl.test), served by every server of stages 4
    and 5 but one: one record per line, always "owner TTL class type rdata" with the owner written
    in full (ending with a dot), single spaces, no comments, no blank lines, no $ directives, no
    parentheses. A zone reader that splits lines on spaces reads them (parts 4.1 to 4.3);
  - FULL_ZONES (syntax.test), served by the part-4.4 tests only: the master-file syntax of RFC 1035
    5.1 — $ORIGIN, $TTL, @, relative names, blank owners, parentheses, comments, TTL and class in
    either order or left out, quoted strings with spaces and escapes.
"""

BIG_COUNT = 40  # A records at big.zone4.test: 40 x 16 bytes or more, far beyond 512 bytes
GLUE_COUNT = 10  # name servers of g.zone4.test, each with an A and an AAAA glue record
LONG_CHAIN = 12  # CNAME links from long-0 to long-12


def _simple(records):
    """Zone text from (owner, ttl, type, rdata) tuples: "owner ttl IN type rdata", one per line."""
    return "".join(f"{owner} {ttl} IN {rtype} {rdata}\n" for owner, ttl, rtype, rdata in records)


Z = "zone4.test."
ZONE4 = _simple([
    (Z, 3600, "SOA", f"ns1.{Z} hostmaster.{Z} 2026010101 7200 3600 1209600 300"),  # MINIMUM 300
    (Z, 3600, "NS", f"ns1.{Z}"),
    (Z, 3600, "NS", f"ns2.{Z}"),
    (Z, 3600, "MX", f"10 mail.{Z}"),
    (Z, 3600, "MX", f"20 mail2.{Z}"),
    (Z, 3600, "A", "192.0.2.1"),
    (f"ns1.{Z}", 3600, "A", "192.0.2.53"),
    (f"ns2.{Z}", 3600, "A", "198.51.100.53"),
    (f"ns2.{Z}", 3600, "AAAA", "2001:db8::53"),
    (f"mail.{Z}", 3600, "A", "192.0.2.25"),
    (f"mail2.{Z}", 3600, "A", "198.51.100.25"),
    (f"www.{Z}", 300, "A", "192.0.2.80"),
    (f"www.{Z}", 300, "A", "192.0.2.81"),
    (f"MiXeD.{Z}", 3600, "A", "192.0.2.7"),  # mixed case here; answers use the query's case
    (f"txt.{Z}", 3600, "TXT", '"hello"'),
    (f"v6only.{Z}", 3600, "AAAA", "2001:db8::80"),
    (f"web.{Z}", 3600, "CNAME", f"www.{Z}"),
    (f"ftp.{Z}", 3600, "CNAME", f"web.{Z}"),  # ftp -> web -> www
    (f"ext.{Z}", 3600, "CNAME", "www.elsewhere.invalid."),  # a target outside our zones
    (f"other.{Z}", 3600, "CNAME", "www.lowttl.test."),  # a target in another of our zones
    (f"dangling.{Z}", 3600, "CNAME", f"nothere.{Z}"),  # a target that does not exist
    (f"loop1.{Z}", 3600, "CNAME", f"loop2.{Z}"),
    (f"loop2.{Z}", 3600, "CNAME", f"loop1.{Z}"),
    (f"a.b.{Z}", 3600, "A", "192.0.2.10"),  # so b.zone4.test is an empty non-terminal
    (f"*.wild.{Z}", 3600, "TXT", '"wild"'),
    (f"host.wild.{Z}", 3600, "A", "192.0.2.11"),
    (f"sub.{Z}", 3600, "NS", f"ns1.sub.{Z}"),  # a delegation, with glue for ns1.sub
    (f"sub.{Z}", 3600, "NS", "ns.elsewhere.invalid."),
    (f"ns1.sub.{Z}", 3600, "A", "192.0.2.153"),
    (f"mx.{Z}", 3600, "MX", f"10 ns1.sub.{Z}"),  # a mail host below the cut: its address is glue
    (f"child.{Z}", 3600, "NS", f"ns1.child.{Z}"),  # delegated, but child.zone4.test is served too
    (f"ns1.child.{Z}", 3600, "A", "192.0.2.200"),
    (f"tobig.{Z}", 3600, "CNAME", f"big.{Z}"),
    *[(f"big.{Z}", 3600, "A", f"10.0.0.{i}") for i in range(1, BIG_COUNT + 1)],
    *[(f"g.{Z}", 3600, "NS", f"n{i}.g.{Z}") for i in range(GLUE_COUNT)],
    *[r for i in range(GLUE_COUNT) for r in ((f"n{i}.g.{Z}", 3600, "A", f"192.0.2.{100 + i}"),
                                             (f"n{i}.g.{Z}", 3600, "AAAA", f"2001:db8::{100 + i}"))],
    *[(f"eight-{i}.{Z}", 3600, "CNAME", f"eight-{i + 1}.{Z}") for i in range(8)],
    (f"eight-8.{Z}", 3600, "A", "192.0.2.88"),
    *[(f"long-{i}.{Z}", 3600, "CNAME", f"long-{i + 1}.{Z}") for i in range(LONG_CHAIN)],
    (f"long-{LONG_CHAIN}.{Z}", 3600, "A", "192.0.2.99"),
])

# A zone below a zone we also serve (the longest apex answers).
CHILD = _simple([
    ("child.zone4.test.", 3600, "SOA",
     "ns1.child.zone4.test. hostmaster.child.zone4.test. 7 7200 3600 1209600 600"),
    ("child.zone4.test.", 3600, "NS", "ns1.child.zone4.test."),
    ("ns1.child.zone4.test.", 3600, "A", "192.0.2.200"),
    ("www.child.zone4.test.", 3600, "A", "192.0.2.201"),
])

# The SOA's TTL (60) is below its MINIMUM (3600): negative answers carry 60.
LOWTTL = _simple([
    ("lowttl.test.", 60, "SOA", "ns1.zone4.test. hostmaster.zone4.test. 1 7200 3600 1209600 3600"),
    ("lowttl.test.", 60, "NS", "ns1.zone4.test."),
    ("www.lowttl.test.", 600, "A", "192.0.2.60"),
])

# Every line of it is a feature of the master-file syntax; test_04_answer.py's SYNTAX_ANSWERS says
# what each one must read as.
SYNTAX = r"""; syntax.test: the master-file syntax of RFC 1035 5.1, for part 4.4 of the conformance tests
; (tests/conformance/zonedata.py). Comments, blank lines, directives, relative names, blank owners.

$ORIGIN syntax.test.
$TTL 3600
@       IN  SOA  ns1 hostmaster (
                 2026010101 ; serial
                 7200       ; refresh
                 3600       ; retry
                 1209600    ; expire
                 300 )      ; minimum
        IN  NS   ns1                      ; a blank owner: the one before (@)
        NS       ns2.syntax.test.         ; no class (IN), an absolute name
ns1     IN  A    192.0.2.53
ns2     3600 IN A 198.51.100.53           ; TTL, then class
        IN 600 AAAA 2001:db8::53          ; class, then TTL

www     300 IN A 192.0.2.80
        300 A    192.0.2.81               ; no class
txt     IN  TXT  "hello" "two strings"    ; two strings, spaces inside the quotes
quote   IN  TXT  "a \"quoted\" word; not a comment"
mx      IN  MX   ( 10                     ; parentheses around the RDATA, over two lines
                   mail )
mail    IN  A    192.0.2.25
$ORIGIN sub.syntax.test.
host    IN  A    192.0.2.90               ; host.sub.syntax.test., from the second $ORIGIN
$TTL 60
short   IN  A    192.0.2.91               ; TTL 60, from the second $TTL
"""


def txt_strings(tag, count, size):
    """`count` different TXT strings of `size` letters each ("a0xxxx...", "a1xxxx...", ...)."""
    return [f'"{tag}{i:02d}' + "x" * (size - len(tag) - 2) + '"' for i in range(count)]


# The stage-9 zone (EDNS and TCP), in the simple syntax, served by the stage-9 server beside its
# resolving: TXT RRsets whose replies take about 400, 1,000 and 3,000 bytes (TXT_SIZES: the reply's
# size without an OPT record, to the query "name TXT IN" without one), and a few names of each kind
# of answer, to compare UDP with TCP. Nothing in it points outside it: a resolver never has to ask a
# name server about it.
E = "edns9.test."
TXT_RRSETS = {"t400": (2, 180), "t1000": (5, 180), "t3000": (15, 190)}  # name: (records, letters)
EDNS9 = _simple([
    (E, 3600, "SOA", f"ns1.{E} hostmaster.{E} 2026010101 7200 3600 1209600 300"),
    (E, 3600, "NS", f"ns1.{E}"),
    (E, 3600, "MX", f"10 mail.{E}"),
    (f"ns1.{E}", 3600, "A", "192.0.2.53"),
    (f"mail.{E}", 3600, "A", "192.0.2.25"),
    (f"www.{E}", 300, "A", "192.0.2.80"),
    (f"www.{E}", 300, "A", "192.0.2.81"),
    (f"www.{E}", 300, "AAAA", "2001:db8::80"),
    (f"alias.{E}", 3600, "CNAME", f"www.{E}"),
    (f"txt.{E}", 3600, "TXT", '"hello"'),
    *[(f"{name}.{E}", 3600, "TXT", t)
      for name, (count, size) in TXT_RRSETS.items() for t in txt_strings(name[1:], count, size)],
])

SIMPLE_ZONES = {"zone4.test.zone": ZONE4, "child.zone4.test.zone": CHILD, "lowttl.test.zone": LOWTTL}
FULL_ZONES = {"syntax.test.zone": SYNTAX}
EDNS_ZONES = {"edns9.test.zone": EDNS9}


class ZoneFiles:
    """The zone files, written into `directory`: .simple and .full are lists of their paths."""

    def __init__(self, directory):
        self.dir = directory
        directory.mkdir(exist_ok=True)
        for name, text in {**SIMPLE_ZONES, **FULL_ZONES, **EDNS_ZONES}.items():
            (directory / name).write_text(text)
        self.simple = [directory / n for n in SIMPLE_ZONES]
        self.full = [directory / n for n in FULL_ZONES]
        self.edns = [directory / n for n in EDNS_ZONES]
