"""dnswire: reading a query the way the workbook's stage-3 server does (RFC 1035 4.1, with the rules of
common/name.c), in plain Python with no test framework, for two users:

  - dnsgrader.py, to tell a well-formed query from a malformed one when a reply is FORMERR (the
    report then says "a well-formed query was rejected") and to show a query field by field;
  - the stand-in learner servers (question_server.py, fixed_server.py), which answer from it.

Every check raises Malformed with what is wrong; nothing here indexes past the end of the data.
"""

import struct

HEADER_SIZE = 12  # six 16-bit fields
LABEL_MAX = 63  # a length byte is 00xxxxxx: 0-63
NAME_MAX = 255  # octets on the wire, every length byte and the root included
NAME_HOPS_MAX = 128  # pointers one name may follow (common/name.h)
QUESTIONS_MAX = 16  # stage 5 answers up to 16 questions

TYPE_NAMES = {1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT", 28: "AAAA",
              41: "OPT", 43: "DS", 65: "HTTPS", 251: "IXFR", 252: "AXFR", 255: "ANY"}
CLASS_NAMES = {1: "IN", 3: "CH", 4: "HS", 255: "ANY"}


class Malformed(Exception):
    """The message breaks a rule of RFC 1035 (or of the workbook's stage): FORMERR."""


def read_name(data, pos, length_bits=False, skip_len_only=False):
    """Reads the (possibly compressed) name at `pos`. Returns (labels, end): the labels as bytes and
    the offset just after the name where it is written. A pointer must point before the run of
    labels it ends (so it cannot loop) and never into the header; at most NAME_HOPS_MAX of them.

    Two mistakes on request, for the stand-in servers: length_bits takes any byte up to 0xBF as a
    label length (only 11 is a pointer), skip_len_only moves past a label by its length without the
    length byte (pos += len)."""
    labels, end, hops, run_start, octets = [], None, 0, pos, 1  # octets: the root's zero byte
    while True:  # bounded: each pass moves forwards, or follows one of at most 128 pointers
        if pos >= len(data):
            raise Malformed(f"the name at offset {run_start} runs past the end of the message")
        n = data[pos]
        if n & 0xC0 == 0xC0:
            if pos + 1 >= len(data):
                raise Malformed(f"a pointer cut in half at offset {pos}")
            target = (n & 0x3F) << 8 | data[pos + 1]
            if target < HEADER_SIZE:
                raise Malformed(f"the pointer at offset {pos} points into the header ({target})")
            if target >= run_start:
                raise Malformed(f"the pointer at offset {pos} points to {target}: not before the "
                                f"labels it ends (offset {run_start})")
            hops += 1
            if hops > NAME_HOPS_MAX:
                raise Malformed(f"a name follows more than {NAME_HOPS_MAX} pointers")
            if end is None:
                end = pos + 2
            pos = run_start = target
            continue
        if n > LABEL_MAX and not (length_bits and n < 0xC0):
            kind = "01 (0x40, extended label type)" if n & 0xC0 == 0x40 else "10 (0x80, reserved)"
            raise Malformed(f"byte 0x{n:02x} at offset {pos} has the top bits {kind}: not a length")
        if n == 0:
            return labels, (pos + 1 if end is None else end)
        octets += 1 + n
        if octets > NAME_MAX:
            raise Malformed(f"a name over {NAME_MAX} octets (offset {run_start})")
        if pos + 1 + n > len(data):
            raise Malformed(f"the label at offset {pos} runs past the end of the message")
        labels.append(bytes(data[pos + 1:pos + 1 + n]))
        pos += n if skip_len_only else 1 + n


def name_text(labels):
    return ".".join(l.decode("ascii", "backslashreplace") for l in labels) + "." if labels else "."


class Query:
    """A query read field by field: header values, questions [(labels, qtype, qclass, start, end)],
    additional records [(start, end, type)], and where the question section ends."""

    def __init__(self, data, max_questions=1, **mistakes):
        if len(data) < HEADER_SIZE:
            raise Malformed("shorter than a header")
        (self.id, self.flags, self.qdcount, self.ancount, self.nscount,
         self.arcount) = struct.unpack("!6H", data[:HEADER_SIZE])
        self.opcode = (self.flags >> 11) & 0xF
        if self.flags & 0x000F:
            raise Malformed(f"the query has RCODE {self.flags & 0xF} set: only a response has one")
        if self.qdcount == 0 or self.qdcount > max_questions:
            raise Malformed(f"QDCOUNT {self.qdcount}: this stage takes "
                            + ("exactly one question" if max_questions == 1 else
                               f"1 to {max_questions} questions"))
        if self.ancount or self.nscount:
            raise Malformed("a query carries no answer or authority records")
        pos = HEADER_SIZE
        self.questions = []
        for _ in range(self.qdcount):
            labels, end = read_name(data, pos, **mistakes)
            if end + 4 > len(data):
                raise Malformed("QTYPE and QCLASS are missing or cut")
            qtype, qclass = struct.unpack("!HH", data[end:end + 4])
            self.questions.append((labels, qtype, qclass, pos, end + 4))
            pos = end + 4
        self.question_end = pos
        self.additional = []
        for i in range(self.arcount):
            start = pos
            _, end = read_name(data, pos, **mistakes)
            if end + 10 > len(data):
                raise Malformed(f"additional record {i + 1} is cut short")
            rtype, _, _, rdlength = struct.unpack("!HHIH", data[end:end + 10])
            pos = end + 10 + rdlength
            if pos > len(data):
                raise Malformed(f"the RDATA of additional record {i + 1} runs past the end")
            self.additional.append((start, pos, rtype))
        if pos != len(data):
            raise Malformed(f"{len(data) - pos} byte(s) after the last record")


def problem(data, max_questions=1):
    """What is wrong with the query `data` (a standard QUERY: QR=0, OPCODE 0) by the rules of stage 3
    on, or None if it is well formed."""
    try:
        q = Query(data, max_questions)
    except Malformed as e:
        return str(e)
    if q.flags & 0x8000 or q.opcode:
        return "not a standard query (QR=1 or OPCODE != 0)"
    return None


def describe_fields(data):
    """The query `data`, one line per field: [(offset, bytes in hex, what it is)]. Stops, saying so,
    where the data stops making sense."""
    rows = []

    def hx(a, b):
        return " ".join(f"{x:02x}" for x in data[a:b])

    if len(data) < HEADER_SIZE:
        return [(0, hx(0, len(data)), f"{len(data)} bytes: shorter than a header")]
    id_, flags, qd, an, ns, ar = struct.unpack("!6H", data[:HEADER_SIZE])
    bits = [n for n, m in (("QR", 0x8000), ("AA", 0x400), ("TC", 0x200), ("RD", 0x100),
                           ("RA", 0x80), ("Z", 0x40), ("AD", 0x20), ("CD", 0x10)) if flags & m]
    rows.append((0, hx(0, 2), f"ID 0x{id_:04X}"))
    rows.append((2, hx(2, 4), f"flags: OPCODE {(flags >> 11) & 0xF}"
                 + (", " + " ".join(f"{b}=1" for b in bits) if bits else "")
                 + (f", RCODE {flags & 0xF}" if flags & 0xF else "")))
    rows.append((4, hx(4, 12), f"QDCOUNT {qd}, ANCOUNT {an}, NSCOUNT {ns}, ARCOUNT {ar}"))
    pos = HEADER_SIZE
    for k in range(min(qd, QUESTIONS_MAX + 1)):
        while True:  # bounded: each pass moves forwards or stops
            if pos >= len(data):
                rows.append((pos, "", "(the message ends here)"))
                return rows
            n = data[pos]
            if n == 0:
                rows.append((pos, "00", "the root: the name ends"))
                pos += 1
                break
            if n & 0xC0 == 0xC0:
                target = (n & 0x3F) << 8 | (data[pos + 1] if pos + 1 < len(data) else 0)
                rows.append((pos, hx(pos, pos + 2), f"a pointer to offset {target}: the name ends"))
                pos += 2
                break
            if n & 0xC0:
                rows.append((pos, hx(pos, pos + 1), f"0x{n:02x}: top bits "
                             f"{'01' if n & 0xC0 == 0x40 else '10'}, not a length"))
                return rows
            label = data[pos + 1:pos + 1 + n]
            text = label.decode("ascii", "backslashreplace")
            shown = hx(pos, min(pos + 1 + n, pos + 9)) + (" ..." if n > 8 else "")
            rows.append((pos, shown, f"length {n}, then the label \"{text}\""))
            pos += 1 + n
        if pos + 4 > len(data):
            rows.append((pos, hx(pos, len(data)), "QTYPE and QCLASS cut short"))
            return rows
        qtype, qclass = struct.unpack("!HH", data[pos:pos + 4])
        rows.append((pos, hx(pos, pos + 2), f"QTYPE {qtype} ({TYPE_NAMES.get(qtype, '?')})"))
        rows.append((pos + 2, hx(pos + 2, pos + 4), f"QCLASS {qclass} "
                     f"({CLASS_NAMES.get(qclass, '?')})" + (f", end of question {k + 1}"
                                                            if qd > 1 else "")))
        pos += 4
    if pos < len(data):
        rest = len(data) - pos
        what = f"{rest} more bytes: the records the counts announce"
        if ar and data[pos:pos + 3] == b"\x00\x00\x29":
            what = f"{rest} more bytes: an OPT record (EDNS) in the additional section"
        rows.append((pos, hx(pos, min(len(data), pos + 11)) + (" ..." if rest > 11 else ""), what))
    return rows
