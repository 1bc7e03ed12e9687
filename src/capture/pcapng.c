/* \summary: our own pcapng reader (several sections, mixed link types, any byte order) */
/*
 * Why our own: libpcap 1.10 refuses a pcapng file whose interfaces do not
 * all share one link type, and those files are common (any-interface
 * captures from dumpcap mixing Ethernet, loopback and cooked frames).
 *
 * Format: draft-ietf-opsawg-pcapng (the pcapng specification).  A file is a
 * series of blocks; each block is
 *     u32 type | u32 total length | body | u32 total length (again)
 * in the byte order of its section, which the Section Header Block (SHB)
 * sets with its byte-order magic.  Each SHB starts a new section and
 * forgets the interfaces of the previous one.
 *
 * The reader works on a FILE * that may be a pipe: it never seeks.  Every
 * block is read whole into one buffer that only grows (up to WT_PCAPNG_MAX_
 * BLOCK), so no allocation happens per packet; every field is read through
 * the bounds-checked cursor.
 */
#include "capture/pcapng.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "wiretale/cursor.h"

/* Block types (pcapng specification section 11.1). */
#define BT_SHB 0x0A0D0D0Au
#define BT_IDB 0x00000001u
#define BT_PB 0x00000002u  /* obsolete Packet Block (appendix) */
#define BT_SPB 0x00000003u
#define BT_NRB 0x00000004u
#define BT_ISB 0x00000005u
#define BT_EPB 0x00000006u
#define BT_DSB 0x0000000Au

#define BYTE_ORDER_MAGIC 0x1A2B3C4Du

/* Option codes of the IDB (section 4.2). */
#define OPT_ENDOFOPT 0
#define IF_TSRESOL 9
#define IF_TSOFFSET 14

/* The largest block we accept.  Wireshark caps blocks at 16 MiB too; a
 * bigger length is a corrupt file, not a jumbo frame. */
#define WT_PCAPNG_MAX_BLOCK (16u * 1024u * 1024u)
/* Interfaces per section: far more than any real capture has, small enough
 * that a hostile file cannot make us allocate much. */
#define WT_PCAPNG_MAX_IFACES 65536u
#define INITIAL_BUF 65536u

typedef struct wt_iface {
	int linktype;
	uint32_t snaplen;
	bool pow2;       /* if_tsresol: units are 2^-exp s, else 10^-exp s */
	uint8_t exp;
	int64_t tsoffset; /* if_tsoffset: seconds added to every timestamp */
} wt_iface_t;

struct wt_pcapng {
	FILE *f;
	uint8_t *buf;
	size_t bufcap;
	uint64_t off;     /* file offset of the next block */
	bool big;         /* byte order of the current section */
	wt_iface_t *ifs;
	size_t n_ifs, cap_ifs;
	bool failed;      /* after an error every call fails the same way */
	char msg[256];
};

static void
set_err(wt_pcapng_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
set_err(wt_pcapng_t *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof r->msg, fmt, ap);
	va_end(ap);
	r->failed = true;
}

static void
copy_err(const wt_pcapng_t *r, char *err, size_t errlen)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", r->msg);
}

static uint16_t
rd16(wt_cursor_t *c, bool big)
{
	return big ? wt_cur_be16(c) : wt_cur_le16(c);
}

static uint32_t
rd32(wt_cursor_t *c, bool big)
{
	return big ? wt_cur_be32(c) : wt_cur_le32(c);
}

static uint64_t
rd64(wt_cursor_t *c, bool big)
{
	uint32_t a = rd32(c, big), b = rd32(c, big);
	return big ? ((uint64_t)a << 32 | b) : ((uint64_t)b << 32 | a);
}

/* Reads exactly n bytes; returns how many were read (short only at EOF or
 * on a read error, which sets the message). */
static size_t
read_n(wt_pcapng_t *r, uint8_t *dst, size_t n)
{
	size_t got = fread(dst, 1, n, r->f);
	if (got < n && ferror(r->f))
		set_err(r, "read error at offset %" PRIu64 ": %s",
			r->off + got, strerror(errno));
	return got;
}

static int
grow(wt_pcapng_t *r, size_t need)
{
	size_t cap = r->bufcap ? r->bufcap : INITIAL_BUF;
	uint8_t *p;
	if (need <= r->bufcap)
		return 0;
	while (cap < need)
		cap *= 2;
	p = realloc(r->buf, cap);
	if (!p) {
		set_err(r, "out of memory (block of %zu bytes)", need);
		return -1;
	}
	r->buf = p;
	r->bufcap = cap;
	return 0;
}

static const char *
block_name(uint32_t type)
{
	switch (type) {
	case BT_SHB: return "section header block";
	case BT_IDB: return "interface description block";
	case BT_PB: return "packet block";
	case BT_SPB: return "simple packet block";
	case BT_EPB: return "enhanced packet block";
	case BT_NRB: return "name resolution block";
	case BT_ISB: return "interface statistics block";
	case BT_DSB: return "decryption secrets block";
	default: return "block";
	}
}

/*
 * Reads one whole block into r->buf.  Returns 1 with *type and *len set,
 * 0 at a clean end of file (no byte of a new block), -1 on error.  For an
 * SHB the byte order is decided here, from its byte-order magic, before
 * the length can be interpreted (section 4.1).
 */
static int
read_block(wt_pcapng_t *r, uint32_t *type, uint32_t *len)
{
	uint8_t *hdr;
	size_t got, have;
	uint32_t blen, t, trail;
	wt_cursor_t c;
	bool big = r->big;

	if (grow(r, INITIAL_BUF) < 0)
		return -1;
	hdr = r->buf;
	got = read_n(r, hdr, 8);
	if (r->failed)
		return -1;
	if (got == 0)
		return 0;
	if (got < 8) {
		set_err(r, "truncated block at offset %" PRIu64
			   " (file ends %zu bytes into the block header)",
			r->off, got);
		return -1;
	}
	have = 8;
	c = wt_cur_make(hdr, 8);
	/* The SHB type is a palindrome: readable before the order is known. */
	t = wt_cur_be32(&c);
	if (r->off == 0 && t != BT_SHB) {
		/* A pcapng file starts with a section header; anything else
		 * is another format (or none). */
		set_err(r, "not a pcapng file (first block type 0x%08" PRIx32 ")",
			t);
		return -1;
	}
	if (t == BT_SHB) {
		uint32_t bom;
		wt_cursor_t m;
		got = read_n(r, hdr + 8, 4);
		if (r->failed)
			return -1;
		if (got < 4) {
			set_err(r, "truncated block at offset %" PRIu64
				   " (section header ends before its byte-order magic)",
				r->off);
			return -1;
		}
		have = 12;
		m = wt_cur_make(hdr + 8, 4);
		bom = wt_cur_be32(&m);
		if (bom == BYTE_ORDER_MAGIC)
			big = true;
		else if (bom == 0x4D3C2B1Au)
			big = false;
		else {
			set_err(r, "bad byte-order magic 0x%08" PRIx32
				   " in section header at offset %" PRIu64,
				bom, r->off);
			return -1;
		}
		r->big = big;
	}
	c = wt_cur_make(hdr, 8);
	t = rd32(&c, big);
	blen = rd32(&c, big);
	if (blen < 12 || blen % 4 != 0 || (t == BT_SHB && blen < 28)) {
		set_err(r, "bad block length %" PRIu32 " of %s (type 0x%08" PRIx32
			   ") at offset %" PRIu64,
			blen, block_name(t), t, r->off);
		return -1;
	}
	if (blen > WT_PCAPNG_MAX_BLOCK) {
		set_err(r, "bad block length %" PRIu32 " of %s at offset %" PRIu64
			   " (over the %u-byte limit)",
			blen, block_name(t), r->off, WT_PCAPNG_MAX_BLOCK);
		return -1;
	}
	if (grow(r, blen) < 0)
		return -1;
	got = read_n(r, r->buf + have, blen - have);
	if (r->failed)
		return -1;
	if (got < blen - have) {
		set_err(r, "truncated block at offset %" PRIu64 " (%s of %" PRIu32
			   " bytes, file ends after %zu)",
			r->off, block_name(t), blen, have + got);
		return -1;
	}
	c = wt_cur_make(r->buf, blen);
	wt_cur_seek(&c, blen - 4);
	trail = rd32(&c, big);
	if (trail != blen) {
		set_err(r, "bad block length at offset %" PRIu64 ": %s says %" PRIu32
			   " at its start and %" PRIu32 " at its end",
			r->off, block_name(t), blen, trail);
		return -1;
	}
	*type = t;
	*len = blen;
	return 1;
}

/* Section Header Block (section 4.1): a new section, new byte order, no
 * interfaces yet. */
static int
parse_shb(wt_pcapng_t *r, wt_cursor_t body)
{
	uint16_t major, minor;
	rd32(&body, r->big); /* byte-order magic, already checked */
	major = rd16(&body, r->big);
	minor = rd16(&body, r->big);
	rd64(&body, r->big); /* section length: -1 or a hint, never needed */
	if (!wt_cur_ok(&body)) {
		set_err(r, "bad section header at offset %" PRIu64, r->off);
		return -1;
	}
	/* 1.0 is the current version; 1.2 appears in files of old writers.
	 * Anything else is a format we do not know (section 4.1); libpcap and
	 * Wireshark accept exactly these two as well. */
	if (major != 1 || (minor != 0 && minor != 2)) {
		set_err(r, "unsupported pcapng version %u.%u at offset %" PRIu64,
			major, minor, r->off);
		return -1;
	}
	r->n_ifs = 0;
	return 0;
}

/* Interface Description Block (section 4.2). */
static int
parse_idb(wt_pcapng_t *r, wt_cursor_t body)
{
	wt_iface_t ifc;
	memset(&ifc, 0, sizeof ifc);
	ifc.linktype = rd16(&body, r->big);
	rd16(&body, r->big); /* reserved */
	ifc.snaplen = rd32(&body, r->big);
	ifc.exp = 6; /* default resolution: microseconds */
	if (!wt_cur_ok(&body)) {
		set_err(r, "bad interface description block at offset %" PRIu64,
			r->off);
		return -1;
	}
	/* Options (section 3.5): code, length, value padded to 32 bits. */
	while (wt_cur_left(&body) >= 4) {
		uint16_t code = rd16(&body, r->big);
		uint16_t olen = rd16(&body, r->big);
		size_t pad;
		wt_cursor_t v = wt_cur_sub(&body, olen);
		if (!wt_cur_ok(&body)) {
			set_err(r, "bad option length %u (code %u) in interface "
				   "description block at offset %" PRIu64,
				olen, code, r->off);
			return -1;
		}
		/* The padding may be missing after the last option. */
		pad = (4u - olen % 4u) % 4u;
		wt_cur_skip(&body, pad < wt_cur_left(&body) ? pad
							 : wt_cur_left(&body));
		if (code == OPT_ENDOFOPT)
			break;
		if (code == IF_TSRESOL && olen == 1) {
			uint8_t b = wt_cur_u8(&v);
			ifc.pow2 = (b & 0x80) != 0;
			ifc.exp = b & 0x7F;
			/* 10^-19 is the finest decimal unit whose count of
			 * ticks per second fits in 64 bits. */
			if ((!ifc.pow2 && ifc.exp > 19) || (ifc.pow2 && ifc.exp > 63)) {
				set_err(r, "unsupported if_tsresol 0x%02x in interface "
					   "description block at offset %" PRIu64,
					b, r->off);
				return -1;
			}
		} else if (code == IF_TSOFFSET && olen == 8) {
			ifc.tsoffset = (int64_t)rd64(&v, r->big);
		}
	}
	if (r->n_ifs >= WT_PCAPNG_MAX_IFACES) {
		set_err(r, "too many interfaces in one section (over %u) at offset %"
			   PRIu64, WT_PCAPNG_MAX_IFACES, r->off);
		return -1;
	}
	if (r->n_ifs == r->cap_ifs) {
		size_t nc = r->cap_ifs ? r->cap_ifs * 2 : 8;
		wt_iface_t *p = realloc(r->ifs, nc * sizeof *p);
		if (!p) {
			set_err(r, "out of memory (interfaces)");
			return -1;
		}
		r->ifs = p;
		r->cap_ifs = nc;
	}
	r->ifs[r->n_ifs++] = ifc;
	return 0;
}

/* Converts a count of if_tsresol units to seconds and nanoseconds. */
static void
convert_ts(const wt_iface_t *ifc, uint64_t ticks, wt_time_t *ts)
{
	uint64_t sec, frac, nsec;
	int64_t s;
	if (ifc->pow2) {
		unsigned e = ifc->exp;
		sec = e ? ticks >> e : ticks;
		frac = e ? ticks & ((UINT64_C(1) << e) - 1) : 0;
		/* frac * 1e9 fits in 64 bits while frac < 2^34; finer units
		 * lose only sub-nanosecond precision when shifted down. */
		if (e > 34) {
			frac >>= e - 34;
			e = 34;
		}
		nsec = (frac * UINT64_C(1000000000)) >> e;
	} else {
		uint64_t per = 1;
		for (unsigned i = 0; i < ifc->exp; i++)
			per *= 10;
		sec = ticks / per;
		frac = ticks % per;
		if (ifc->exp <= 9) {
			uint64_t mul = 1;
			for (unsigned i = ifc->exp; i < 9; i++)
				mul *= 10;
			nsec = frac * mul;
		} else {
			uint64_t dv = 1;
			for (unsigned i = 9; i < ifc->exp; i++)
				dv *= 10;
			nsec = frac / dv;
		}
	}
	/* Saturate instead of overflowing on absurd values. */
	s = sec > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)sec;
	if (ifc->tsoffset > 0 && s > INT64_MAX - ifc->tsoffset)
		s = INT64_MAX;
	else if (ifc->tsoffset < 0 && s < INT64_MIN - ifc->tsoffset)
		s = INT64_MIN;
	else
		s += ifc->tsoffset;
	ts->sec = s;
	ts->nsec = (uint32_t)(nsec > 999999999u ? 999999999u : nsec);
}

static int
check_iface(wt_pcapng_t *r, uint32_t ifindex, uint32_t type)
{
	if (ifindex >= r->n_ifs) {
		set_err(r, "%s at offset %" PRIu64 " refers to interface %" PRIu32
			   ", but the section describes %zu interface%s",
			block_name(type), r->off, ifindex, r->n_ifs,
			r->n_ifs == 1 ? "" : "s");
		return -1;
	}
	return 0;
}

/* Enhanced Packet Block (section 4.3) and the obsolete Packet Block
 * (appendix A): the same layout except a 16-bit interface id followed by
 * a 16-bit drop count. */
static int
parse_epb(wt_pcapng_t *r, wt_cursor_t body, uint32_t type, wt_pcapng_pkt_t *pkt)
{
	uint32_t ifindex, hi, lo, caplen, wirelen;
	const uint8_t *data;
	if (type == BT_PB) {
		ifindex = rd16(&body, r->big);
		rd16(&body, r->big); /* drops count */
	} else {
		ifindex = rd32(&body, r->big);
	}
	hi = rd32(&body, r->big);
	lo = rd32(&body, r->big);
	caplen = rd32(&body, r->big);
	wirelen = rd32(&body, r->big);
	if (!wt_cur_ok(&body)) {
		set_err(r, "bad block length: %s at offset %" PRIu64
			   " too short for its header",
			block_name(type), r->off);
		return -1;
	}
	if (caplen > wt_cur_left(&body)) {
		set_err(r, "bad captured length %" PRIu32 " in %s at offset %" PRIu64
			   " (the block holds only %zu bytes of data)",
			caplen, block_name(type), r->off, wt_cur_left(&body));
		return -1;
	}
	if (check_iface(r, ifindex, type) < 0)
		return -1;
	data = wt_cur_take(&body, caplen);
	pkt->linktype = r->ifs[ifindex].linktype;
	pkt->ifindex = ifindex;
	convert_ts(&r->ifs[ifindex], (uint64_t)hi << 32 | lo, &pkt->ts);
	pkt->caplen = caplen;
	pkt->wirelen = wirelen;
	pkt->data = data;
	return 1;
}

/* Simple Packet Block (section 4.4): no interface id (it is interface 0),
 * no timestamp, no captured length.  The captured length is the smaller of
 * the original length, interface 0's snaplen and what the block holds. */
static int
parse_spb(wt_pcapng_t *r, wt_cursor_t body, wt_pcapng_pkt_t *pkt)
{
	uint32_t wirelen, caplen;
	size_t room;
	wirelen = rd32(&body, r->big);
	if (!wt_cur_ok(&body)) {
		set_err(r, "bad block length: simple packet block at offset %" PRIu64
			   " too short for its header",
			r->off);
		return -1;
	}
	if (check_iface(r, 0, BT_SPB) < 0)
		return -1;
	room = wt_cur_left(&body);
	caplen = wirelen;
	if (r->ifs[0].snaplen != 0 && caplen > r->ifs[0].snaplen)
		caplen = r->ifs[0].snaplen;
	if (caplen > room)
		caplen = (uint32_t)room;
	pkt->linktype = r->ifs[0].linktype;
	pkt->ifindex = 0;
	pkt->ts.sec = 0;
	pkt->ts.nsec = 0;
	pkt->caplen = caplen;
	pkt->wirelen = wirelen;
	pkt->data = wt_cur_take(&body, caplen);
	return 1;
}

/* One block already in r->buf: 1 when it is a packet, 0 when it was
 * consumed (or skipped), -1 on error. */
static int
handle_block(wt_pcapng_t *r, uint32_t type, uint32_t blen, wt_pcapng_pkt_t *pkt)
{
	wt_cursor_t c = wt_cur_make(r->buf, blen);
	wt_cursor_t body;
	wt_cur_skip(&c, 8);
	body = wt_cur_sub(&c, blen - 12);
	switch (type) {
	case BT_SHB:
		return parse_shb(r, body);
	case BT_IDB:
		return parse_idb(r, body);
	case BT_EPB:
	case BT_PB:
		return parse_epb(r, body, type, pkt);
	case BT_SPB:
		return parse_spb(r, body, pkt);
	default:
		/* NRB, ISB, DSB, custom blocks (0x00000BAD, 0x40000BAD),
		 * systemd journal and unknown types carry nothing we use. */
		return 0;
	}
}

wt_pcapng_t *
wt_pcapng_open(FILE *f, char *err, size_t errlen)
{
	wt_pcapng_t *r;
	uint32_t type = 0, blen = 0;
	int rc;

	r = calloc(1, sizeof *r);
	if (!r) {
		if (err && errlen)
			snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->f = f;
	rc = read_block(r, &type, &blen);
	if (rc == 0)
		set_err(r, "empty file");
	else if (rc == 1 && type != BT_SHB)
		set_err(r, "not a pcapng file (first block type 0x%08" PRIx32 ")",
			type);
	else if (rc == 1)
		rc = parse_shb(r, wt_cur_make(r->buf + 8, blen - 12));
	if (r->failed) {
		copy_err(r, err, errlen);
		wt_pcapng_close(r);
		return NULL;
	}
	r->off += blen;
	return r;
}

int
wt_pcapng_next(wt_pcapng_t *r, wt_pcapng_pkt_t *pkt, char *err, size_t errlen)
{
	for (;;) {
		uint32_t type, blen;
		int rc;
		if (r->failed) {
			copy_err(r, err, errlen);
			return -1;
		}
		rc = read_block(r, &type, &blen);
		if (rc == 0)
			return 0;
		if (rc < 0)
			continue;
		rc = handle_block(r, type, blen, pkt);
		if (rc < 0)
			continue;
		r->off += blen;
		if (rc == 1)
			return 1;
	}
}

void
wt_pcapng_close(wt_pcapng_t *r)
{
	if (!r)
		return;
	free(r->buf);
	free(r->ifs);
	free(r);
}
