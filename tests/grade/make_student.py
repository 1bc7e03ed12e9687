#!/usr/bin/env python3
# \summary: builds a student's trace from the real captures: the same lab, as another laptop would have recorded it
#
# Usage: make_student.py --key K [--shift SECONDS] OUT.pcap IN.pcap [IN.pcap...]
#
# The inputs (classic pcap, Ethernet, IPv4, as captures/ holds them) are
# concatenated into one trace, frame numbers running on from one file to
# the next (what `mergecap -a` does).  Then, so that two students who ran
# the same lab do not look like copies of each other, what differs between
# two real runs is changed consistently, keyed by K:
#   - every client port (the side that is not 53, 25, 587, 110 or 143) is
#     moved by a fixed offset within 1024-65535 (a bijection: conversations
#     stay apart);
#   - every DNS ID over UDP is XORed with a 16-bit value from K (query and
#     response alike, so transactions still match);
#   - UDP and TCP checksums are recomputed (RFC 768, RFC 793 pseudo-header);
#   - timestamps are shifted by SECONDS (default K hours).
# Nothing else changes: frame numbers, names, addresses and sizes are those
# of the real capture, so the expected answers can be read off it with
# tshark.
import struct
import sys

SERVER_PORTS = {53, 25, 587, 110, 143}


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        end = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        end = ">"
    else:
        sys.exit("%s: not a classic pcap file" % path)
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    linktype = struct.unpack(end + "I", data[20:24])[0]
    if linktype != 1:
        sys.exit("%s: link type %d, only Ethernet is handled" % (path, linktype))
    off, frames = 24, []
    while off + 16 <= len(data):
        sec, frac, incl, orig = struct.unpack(end + "IIII", data[off:off + 16])
        pkt = bytearray(data[off + 16:off + 16 + incl])
        ts = sec * 1_000_000_000 + (frac if nano else frac * 1000)
        frames.append([ts, pkt, orig])
        off += 16 + incl
    return frames


def csum(data):
    if len(data) % 2:
        data = data + b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def map_port(p, key):
    if p < 1024:
        return p
    return 1024 + (p - 1024 + key * 7919) % (65536 - 1024)


def rewrite(pkt, key):
    if len(pkt) < 34 or pkt[12:14] != b"\x08\x00":
        return
    ihl = (pkt[14] & 0x0F) * 4
    proto = pkt[23]
    ip_len = struct.unpack("!H", pkt[16:18])[0]
    l4 = 14 + ihl
    end = min(len(pkt), 14 + ip_len)
    if proto not in (6, 17) or end < l4 + 8:
        return
    sport, dport = struct.unpack("!HH", pkt[l4:l4 + 4])
    if dport in SERVER_PORTS and sport not in SERVER_PORTS:
        sport = map_port(sport, key)
    elif sport in SERVER_PORTS and dport not in SERVER_PORTS:
        dport = map_port(dport, key)
    elif sport in SERVER_PORTS and dport in SERVER_PORTS:
        pass
    else:
        return
    pkt[l4:l4 + 4] = struct.pack("!HH", sport, dport)
    if proto == 17:
        hdr = 8
        if 53 in (sport, dport) and end >= l4 + hdr + 2:
            xid = struct.unpack("!H", pkt[l4 + 8:l4 + 10])[0] ^ ((key * 40503) & 0xFFFF)
            pkt[l4 + 8:l4 + 10] = struct.pack("!H", xid)
        if pkt[l4 + 6:l4 + 8] == b"\0\0":
            return  # no checksum (RFC 768): leave it so
        coff = l4 + 6
    else:
        coff = l4 + 16
    seg = bytes(pkt[l4:end])
    pseudo = pkt[26:34] + struct.pack("!BBH", 0, proto, len(seg))
    seg = seg[:coff - l4] + b"\0\0" + seg[coff - l4 + 2:]
    c = csum(bytes(pseudo) + seg)
    if proto == 17 and c == 0:
        c = 0xFFFF
    pkt[coff:coff + 2] = struct.pack("!H", c)


def main():
    args = sys.argv[1:]
    key, shift = None, None
    while args and args[0].startswith("--"):
        if args[0] == "--key":
            key = int(args[1])
        elif args[0] == "--shift":
            shift = float(args[1])
        else:
            sys.exit("unknown option " + args[0])
        args = args[2:]
    if key is None or len(args) < 2:
        sys.exit(__doc__ or "usage: make_student.py --key K [--shift S] OUT IN...")
    if shift is None:
        shift = key * 3600.0
    out, ins = args[0], args[1:]
    frames, last = [], None
    for path in ins:
        fr = read_pcap(path)
        if fr and last is not None and fr[0][0] <= last:
            # the next file continues the trace one second later
            delta = last + 1_000_000_000 - fr[0][0]
            for f in fr:
                f[0] += delta
        frames += fr
        if fr:
            last = fr[-1][0]
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        for ts, pkt, orig in frames:
            rewrite(pkt, key)
            ts += int(shift * 1_000_000_000)
            f.write(struct.pack("<IIII", ts // 1_000_000_000, (ts % 1_000_000_000) // 1000,
                                len(pkt), orig))
            f.write(pkt)


if __name__ == "__main__":
    main()
