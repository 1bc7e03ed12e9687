/* \summary: DNS message parser: header, sections, name decompression, rdata as dig prints it */
#include "proto/dns_msg.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * Presentation formats follow BIND 9.18 (lib/dns/rdata/ and dig) so that a
 * student can put our "data" next to dig's output: hex in upper case split
 * in 56-character words, base64 split likewise, character-strings quoted
 * with \DDD for non-printables.  One deliberate difference: names lose
 * their trailing dot (the root stays ".").
 */

/* ---- text builder over the message arena --------------------------- */

typedef struct tb {
	char *buf;
	size_t cap; /* usable bytes, NUL excluded */
	size_t len;
	bool over;
} tb_t;

static const char empty_text[] = "";

static tb_t
tb_begin(wt_dns_msg_t *m)
{
	tb_t t;
	size_t room = WT_DNS_ARENA - m->arena_used;
	t.buf = m->arena + m->arena_used;
	t.cap = room ? room - 1 : 0;
	t.len = 0;
	t.over = room == 0;
	return t;
}

static void
tb_putc(tb_t *t, char c)
{
	if (t->len >= t->cap) {
		t->over = true;
		return;
	}
	t->buf[t->len++] = c;
}

static void
tb_puts(tb_t *t, const char *s)
{
	while (*s)
		tb_putc(t, *s++);
}

static void tb_printf(tb_t *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
tb_printf(tb_t *t, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	tb_puts(t, tmp);
}

static void
fail(wt_dns_msg_t *m, wt_status_t st, size_t off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Records the first fault only: later ones are usually consequences. */
static void
fail(wt_dns_msg_t *m, wt_status_t st, size_t off, const char *fmt, ...)
{
	va_list ap;
	if (m->err.status != WT_OK)
		return;
	m->err.status = st;
	m->err.offset = off;
	va_start(ap, fmt);
	vsnprintf(m->err.reason, sizeof m->err.reason, fmt, ap);
	va_end(ap);
}

/* Ends the text; returns it (in the arena) or "" when it did not fit. */
static const char *
tb_end(wt_dns_msg_t *m, tb_t *t, size_t off)
{
	if (t->over) {
		fail(m, WT_E_LIMIT, off, "text of the message exceeds %u bytes",
		     WT_DNS_ARENA);
		return empty_text;
	}
	t->buf[t->len] = '\0';
	m->arena_used += t->len + 1;
	return t->buf;
}

static const char hex_upper[] = "0123456789ABCDEF";
static const char hex_lower[] = "0123456789abcdef";

/* dig writes long hex and base64 fields in words of 56 characters. */
#define DIG_WORD 56

static void
tb_hex(tb_t *t, const uint8_t *p, size_t n, bool split)
{
	size_t i, col = 0;
	for (i = 0; i < n; i++) {
		if (split && col == DIG_WORD) {
			tb_putc(t, ' ');
			col = 0;
		}
		tb_putc(t, hex_upper[p[i] >> 4]);
		tb_putc(t, hex_upper[p[i] & 15]);
		col += 2;
	}
}

static void
tb_base64(tb_t *t, const uint8_t *p, size_t n)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, col = 0;
	char q[4];
	for (i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		size_t k, r = n - i;
		if (r > 1)
			v |= (uint32_t)p[i + 1] << 8;
		if (r > 2)
			v |= p[i + 2];
		q[0] = b64[(v >> 18) & 63];
		q[1] = b64[(v >> 12) & 63];
		q[2] = r > 1 ? b64[(v >> 6) & 63] : '=';
		q[3] = r > 2 ? b64[v & 63] : '=';
		for (k = 0; k < 4; k++) {
			if (col == DIG_WORD) {
				tb_putc(t, ' ');
				col = 0;
			}
			tb_putc(t, q[k]);
			col++;
		}
	}
}

/* RFC 4648 section 7, as NSEC3 uses it (RFC 5155 3.3): no padding. */
static void
tb_base32hex(tb_t *t, const uint8_t *p, size_t n)
{
	static const char b32[] = "0123456789ABCDEFGHIJKLMNOPQRSTUV";
	uint32_t acc = 0;
	int bits = 0;
	size_t i;
	for (i = 0; i < n; i++) {
		acc = (acc << 8) | p[i];
		bits += 8;
		while (bits >= 5) {
			tb_putc(t, b32[(acc >> (bits - 5)) & 31]);
			bits -= 5;
		}
	}
	if (bits > 0)
		tb_putc(t, b32[(acc << (5 - bits)) & 31]);
}

/* A <character-string> (RFC 1035 3.3) in quotes, as BIND's txt_totext. */
static void
tb_quoted(tb_t *t, const uint8_t *p, size_t n)
{
	size_t i;
	tb_putc(t, '"');
	for (i = 0; i < n; i++) {
		uint8_t c = p[i];
		if (c < 0x20 || c >= 0x7f) {
			tb_printf(t, "\\%03u", c);
			continue;
		}
		if (c == '"' || c == '\\')
			tb_putc(t, '\\');
		tb_putc(t, (char)c);
	}
	tb_putc(t, '"');
}

/* ---- mnemonics ------------------------------------------------------- */

static const struct {
	uint16_t v;
	const char *s;
} type_names[] = {
	{1, "A"}, {2, "NS"}, {3, "MD"}, {4, "MF"}, {5, "CNAME"}, {6, "SOA"},
	{7, "MB"}, {8, "MG"}, {9, "MR"}, {10, "NULL"}, {11, "WKS"}, {12, "PTR"},
	{13, "HINFO"}, {14, "MINFO"}, {15, "MX"}, {16, "TXT"}, {17, "RP"},
	{18, "AFSDB"}, {19, "X25"}, {20, "ISDN"}, {21, "RT"}, {22, "NSAP"},
	{23, "NSAP-PTR"}, {24, "SIG"}, {25, "KEY"}, {26, "PX"}, {27, "GPOS"},
	{28, "AAAA"}, {29, "LOC"}, {30, "NXT"}, {31, "EID"}, {32, "NIMLOC"},
	{33, "SRV"}, {34, "ATMA"}, {35, "NAPTR"}, {36, "KX"}, {37, "CERT"},
	{38, "A6"}, {39, "DNAME"}, {40, "SINK"}, {41, "OPT"}, {42, "APL"},
	{43, "DS"}, {44, "SSHFP"}, {45, "IPSECKEY"}, {46, "RRSIG"}, {47, "NSEC"},
	{48, "DNSKEY"}, {49, "DHCID"}, {50, "NSEC3"}, {51, "NSEC3PARAM"},
	{52, "TLSA"}, {53, "SMIMEA"}, {55, "HIP"}, {56, "NINFO"}, {57, "RKEY"},
	{58, "TALINK"}, {59, "CDS"}, {60, "CDNSKEY"}, {61, "OPENPGPKEY"},
	{62, "CSYNC"}, {63, "ZONEMD"}, {64, "SVCB"}, {65, "HTTPS"}, {99, "SPF"},
	{100, "UINFO"}, {101, "UID"}, {102, "GID"}, {103, "UNSPEC"}, {104, "NID"},
	{105, "L32"}, {106, "L64"}, {107, "LP"}, {108, "EUI48"}, {109, "EUI64"},
	{249, "TKEY"}, {250, "TSIG"}, {251, "IXFR"}, {252, "AXFR"},
	{253, "MAILB"}, {254, "MAILA"}, {255, "ANY"}, {256, "URI"}, {257, "CAA"},
	{258, "AVC"}, {259, "DOA"}, {260, "AMTRELAY"}, {32768, "TA"},
	{32769, "DLV"},
};

const char *
wt_dns_type_name(uint16_t type)
{
	size_t i;
	for (i = 0; i < sizeof type_names / sizeof type_names[0]; i++)
		if (type_names[i].v == type)
			return type_names[i].s;
	return NULL;
}

/* RFC 3597 section 5: TYPEnnn for a type without a mnemonic. */
const char *
wt_dns_type_str(uint16_t type, char *buf, size_t len)
{
	const char *s = wt_dns_type_name(type);
	if (s)
		return s;
	snprintf(buf, len, "TYPE%u", type);
	return buf;
}

const char *
wt_dns_class_str(uint16_t cls, char *buf, size_t len)
{
	switch (cls) {
	case 1: return "IN";
	case 3: return "CH";
	case 4: return "HS";
	case 254: return "NONE";
	case 255: return "ANY";
	default:
		snprintf(buf, len, "CLASS%u", cls);
		return buf;
	}
}

const char *
wt_dns_opcode_name(unsigned opcode)
{
	switch (opcode) {
	case 0: return "QUERY";
	case 1: return "IQUERY";
	case 2: return "STATUS";
	case 4: return "NOTIFY";
	case 5: return "UPDATE";
	case 6: return "DSO";
	default: return NULL;
	}
}

const char *
wt_dns_rcode_name(unsigned rcode)
{
	static const char *const names[] = {
		"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",
		"REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH",
		"NOTZONE", "DSOTYPENI", NULL, NULL, NULL, NULL,
		"BADVERS", "BADKEY", "BADTIME", "BADMODE", "BADNAME",
		"BADALG", "BADTRUNC", "BADCOOKIE"};
	if (rcode < sizeof names / sizeof names[0])
		return names[rcode];
	return NULL;
}

const char *
wt_dns_opt_name(uint16_t code)
{
	switch (code) {
	case 1: return "LLQ";
	case 2: return "UL";
	case 3: return "NSID";
	case 5: return "DAU";
	case 6: return "DHU";
	case 7: return "N3U";
	case 8: return "CLIENT-SUBNET";
	case 9: return "EXPIRE";
	case 10: return "COOKIE";
	case 11: return "TCP-KEEPALIVE";
	case 12: return "PADDING";
	case 13: return "CHAIN";
	case 14: return "KEY-TAG";
	case 15: return "EDE";
	case 16: return "CLIENT-TAG";
	case 17: return "SERVER-TAG";
	case 18: return "REPORT-CHANNEL";
	case 19: return "ZONEVERSION";
	default: return NULL;
	}
}

unsigned
wt_dns_msg_rcode(const wt_dns_msg_t *m)
{
	unsigned rc = m->hdr.rcode;
	if (m->edns.present)
		rc |= (unsigned)m->edns.ext_rcode << 4;
	return rc;
}

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

bool
wt_dns_name_equal(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	for (; *a && *b; a++, b++)
		if (lower((unsigned char)*a) != lower((unsigned char)*b))
			return false;
	return *a == *b;
}

/* ---- names ----------------------------------------------------------- */

typedef struct parser {
	wt_dns_msg_t *m;
	wt_cursor_t whole; /* the whole message, for compression targets */
	unsigned flags;
} parser_t;

static size_t
abs_off(const parser_t *P, const wt_cursor_t *c)
{
	/* c is the whole cursor or a child of it: its base lies inside. */
	return (size_t)(c->base - P->whole.base) + c->off;
}

/* BIND's dns_name_totext escaping of one label. */
static void
tb_label(tb_t *t, const uint8_t *p, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++) {
		uint8_t c = p[i];
		switch (c) {
		case '"': case '(': case ')': case '.': case ';': case '\\':
		case '@': case '$':
			tb_putc(t, '\\');
			tb_putc(t, (char)c);
			break;
		default:
			if (c > 0x20 && c < 0x7f)
				tb_putc(t, (char)c);
			else
				tb_printf(t, "\\%03u", c);
		}
	}
}

/*
 * Reads a possibly compressed name (RFC 1035 4.1.4) at c's position into
 * t.  c advances past the name's in-place part only.  Pointers must point
 * strictly before the pointer itself and before every earlier pointer of
 * the same name, so a chain always ends; jumps are capped anyway.  Label
 * types 01 and 10 (RFC 6891 5, RFC 2673, both obsolete) are rejected.
 * Returns false after recording the fault in P->m->err.
 */
static bool
read_name(parser_t *P, wt_cursor_t *c, tb_t *t)
{
	wt_cursor_t r = *c;      /* where labels are read now */
	wt_cursor_t *cur = c;    /* c until the first jump */
	size_t wire = 0, jumps = 0, limit = SIZE_MAX, start = abs_off(P, c);
	bool first = true;

	for (;;) {
		size_t here = abs_off(P, cur);
		uint8_t len = wt_cur_u8(cur);
		if (!wt_cur_ok(cur)) {
			fail(P->m, WT_E_TRUNC, here, "name truncated");
			return false;
		}
		if ((len & 0xc0) == 0xc0) {
			uint8_t lo = wt_cur_u8(cur);
			size_t target = ((size_t)(len & 0x3f) << 8) | lo;
			if (!wt_cur_ok(cur)) {
				fail(P->m, WT_E_TRUNC, here,
				     "compression pointer truncated");
				return false;
			}
			if (target >= here || target >= limit) {
				fail(P->m, WT_E_MALFORMED, here,
				     "compression pointer to %zu does not point backwards",
				     target);
				return false;
			}
			if (++jumps > WT_DNS_MAX_JUMPS) {
				fail(P->m, WT_E_MALFORMED, here,
				     "more than %d compression pointers in a name",
				     WT_DNS_MAX_JUMPS);
				return false;
			}
			limit = here;
			r = P->whole;
			wt_cur_seek(&r, target);
			cur = &r;
			continue;
		}
		if (len & 0xc0) {
			fail(P->m, WT_E_MALFORMED, here,
			     "label type 0x%02x not supported", len & 0xc0);
			return false;
		}
		wire += (size_t)len + 1;
		if (wire > WT_DNS_NAME_WIRE_MAX) {
			fail(P->m, WT_E_MALFORMED, start,
			     "name longer than 255 octets");
			return false;
		}
		if (len == 0) {
			if (first)
				tb_putc(t, '.');
			return true;
		}
		{
			const uint8_t *lab = wt_cur_take(cur, len);
			if (!lab) {
				fail(P->m, WT_E_TRUNC, here, "label truncated");
				return false;
			}
			if (!first)
				tb_putc(t, '.');
			tb_label(t, lab, len);
			first = false;
		}
	}
}

/* A name as its own arena string. */
static const char *
name_text(parser_t *P, wt_cursor_t *c, bool *ok)
{
	tb_t t = tb_begin(P->m);
	size_t off = abs_off(P, c);
	*ok = read_name(P, c, &t);
	if (!*ok)
		return empty_text;
	return tb_end(P->m, &t, off);
}

/* ---- rdata ----------------------------------------------------------- */

/* Each formatter reads the rdata child cursor r and appends text to t;
 * it returns NULL on success or a reason.  Fixed-layout types must use
 * every byte (checked by the caller). */
typedef const char *(*rd_fn)(parser_t *P, wt_cursor_t *r, tb_t *t);

static const char *
rd_name(parser_t *P, wt_cursor_t *r, tb_t *t)
{
	return read_name(P, r, t) ? NULL : "bad name";
}

static const char *
rd_a(parser_t *P, wt_cursor_t *r, tb_t *t)
{
	const uint8_t *a = wt_cur_take(r, 4);
	if (!a)
		return "address truncated";
	tb_printf(t, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
	return NULL;
}

static void
tb_ip6(tb_t *t, const uint8_t *a)
{
	char s[INET6_ADDRSTRLEN];
	inet_ntop(AF_INET6, a, s, sizeof s);
	tb_puts(t, s);
}

static const char *
rd_aaaa(parser_t *P, wt_cursor_t *r, tb_t *t)
{
	const uint8_t *a = wt_cur_take(r, 16);
	if (!a)
		return "address truncated";
	tb_ip6(t, a);
	return NULL;
}

static const char *
rd_u16_name(parser_t *P, wt_cursor_t *r, tb_t *t)
{
	uint16_t v = wt_cur_be16(r);
	if (!wt_cur_ok(r))
		return "truncated";
	tb_printf(t, "%u ", v);
	return rd_name(P, r, t);
}

static const char *
rd_two_names(parser_t *P, wt_cursor_t *r, tb_t *t)
{
	if (!read_name(P, r, t))
		return "bad name";
	tb_putc(t, ' ');
	return rd_name(P, r, t);
}

static const char *
rd_px(parser_t *P, wt_cursor_t *r, tb_t *t)
{
	const char *e = rd_u16_name(P, r, t);
	if (e)
		return e;
	tb_putc(t, ' ');
	return rd_name(P, r, t);
}

static const char *
rd_soa(parser_t *P, wt_cursor_t *r, tb_t *t)
{
	uint32_t v[5];
	size_t i;
	if (rd_two_names(P, r, t))
		return "bad name";
	for (i = 0; i < 5; i++)
		v[i] = wt_cur_be32(r);
	if (!wt_cur_ok(r))
		return "SOA numbers truncated";
	tb_printf(t, " %u %u %u %u %u", v[0], v[1], v[2], v[3], v[4]);
	return NULL;
}

/* One <character-string>; quoted. */
static const char *
rd_cstring(wt_cursor_t *r, tb_t *t)
{
	uint8_t n = wt_cur_u8(r);
	const uint8_t *p = wt_cur_take(r, n);
	if (!wt_cur_ok(r))
		return "character-string truncated";
	tb_quoted(t, p, n);
	return NULL;
}

/* TXT, SPF: one or more strings (RFC 1035 3.3.14). */
static const char *
rd_txt(parser_t *P, wt_cursor_t *r, tb_t *t)
{
	bool first = true;
	if (wt_cur_left(r) == 0)
		return "no character-string";
	while (wt_cur_left(r) > 0) {
		const char *e;
		if (!first)
			tb_putc(t, ' ');
		if ((e = rd_cstring(r, t)) != NULL)
			return e;
		first = false;
	}
	return NULL;
}

static const char *
rd_hinfo(parser_t *P, wt_cursor_t *r, tb_t *t)
{
	if (rd_cstring(r, t))
		return "CPU truncated";
	tb_putc(t, ' ');
	return rd_cstring(r, t);
}

static const char *
rd_isdn(parser_t *P, wt_cursor_t *r, tb_t *t)
{
	if (rd_cstring(r, t))
		return "address truncated";
	if (wt_cur_left(r) > 0) {
		tb_putc(t, ' ');
		return rd_cstring(r, t);
	}
	return NULL;
}

static const char *
rd_x25(parser_t *P, wt_cursor_t *r, tb_t *t)
{
	return rd_cstring(r, t);
}

static const char *
rd_mx(parser_t *P, wt_cursor_t *r, tb_t *t)
{
	return rd_u16_name(P, r, t);
}

/* RFC 2782 */
static const char *
rd_srv(parser_t *P, wt_cursor_t *r, tb_t *t)
{
	uint16_t pr = wt_cur_be16(r), w = wt_cur_be16(r), port = wt_cur_be16(r);
	if (!wt_cur_ok(r))
		return "SRV truncated";
	tb_printf(t, "%u %u %u ", pr, w, port);
	return rd_name(P, r, t);
}

/* RFC 3403 4.1 */
static const char *
rd_naptr(parser_t *P, wt_cursor_t *r, tb_t *t)
{
	uint16_t order = wt_cur_be16(r), pref = wt_cur_be16(r);
	int i;
	if (!wt_cur_ok(r))
		return "NAPTR truncated";
	tb_printf(t, "%u %u", order, pref);
	for (i = 0; i < 3; i++) {
		tb_putc(t, ' ');
		if (rd_cstring(r, t))
			return "NAPTR string truncated";
	}
	tb_putc(t, ' ');
	return rd_name(P, r, t);
}

/* RFC 8659 4.1 */
static const char *
rd_caa(parser_t *P, wt_cursor_t *r, tb_t *t)
{
	uint8_t flags = wt_cur_u8(r), tl = wt_cur_u8(r);
	const uint8_t *tag = wt_cur_take(r, tl);
	wt_cursor_t v;
	size_t i;
	if (!wt_cur_ok(r))
		return "CAA truncated";
	if (tl == 0)
		return "CAA tag empty";
	for (i = 0; i < tl; i++) {
		uint8_t c = tag[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		      (c >= 'A' && c <= 'Z')))
			return "CAA tag not alphanumeric";
	}
	tb_printf(t, "%u ", flags);
	for (i = 0; i < tl; i++)
		tb_putc(t, (char)tag[i]);
	tb_putc(t, ' ');
	v = wt_cur_rest(r);
	tb_quoted(t, wt_cur_take(&v, v.len), v.len);
	return NULL;
}

/* DS, CDS, DLV, TA (RFC 4034 5.3) */
static const char *
rd_ds(parser_t *P, wt_cursor_t *r, tb_t *t)
{
	uint16_t tag = wt_cur_be16(r);
	uint8_t alg = wt_cur_u8(r), dt = wt_cur_u8(r);
	wt_cursor_t d;
	if (!wt_cur_ok(r))
		return "DS truncated";
	if (wt_cur_left(r) == 0)
		return "DS digest empty";
	tb_printf(t, "%u %u %u ", tag, alg, dt);
	d = wt_cur_rest(r);
	tb_hex(t, wt_cur_take(&d, d.len), d.len, true);
	return NULL;
}

/* DNSKEY, CDNSKEY, KEY (RFC 4034 2.2) */
static const char *
rd_dnskey(parser_t *P, wt_cursor_t *r, tb_t *t)
{
	uint16_t fl = wt_cur_be16(r);
	uint8_t proto = wt_cur_u8(r), alg = wt_cur_u8(r);
	wt_cursor_t d;
	if (!wt_cur_ok(r))
		return "DNSKEY truncated";
	tb_printf(t, "%u %u %u", fl, proto, alg);
	d = wt_cur_rest(r);
	if (d.len) {
		tb_putc(t, ' ');
		tb_base64(t, wt_cur_take(&d, d.len), d.len);
	}
	return NULL;
}

static void
tb_time32(tb_t *t, uint32_t v)
{
	time_t tt = (time_t)v;
	struct tm tm;
	gmtime_r(&tt, &tm);
	tb_printf(t, "%04d%02d%02d%02d%02d%02d", tm.tm_year + 1900,
		  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void
tb_type(tb_t *t, uint16_t type)
{
	char b[16];
	tb_puts(t, wt_dns_type_str(type, b, sizeof b));
}

/* RRSIG, SIG (RFC 4034 3.2) */
static const char *
rd_rrsig(parser_t *P, wt_cursor_t *r, tb_t *t)
{
	uint16_t covered = wt_cur_be16(r);
	uint8_t alg = wt_cur_u8(r), labels = wt_cur_u8(r);
	uint32_t ottl = wt_cur_be32(r), exp = wt_cur_be32(r),
		 inc = wt_cur_be32(r);
	uint16_t tag = wt_cur_be16(r);
	wt_cursor_t d;
	if (!wt_cur_ok(r))
		return "RRSIG truncated";
	tb_type(t, covered);
	tb_printf(t, " %u %u %u ", alg, labels, ottl);
	tb_time32(t, exp);
	tb_putc(t, ' ');
	tb_time32(t, inc);
	tb_printf(t, " %u ", tag);
	if (!read_name(P, r, t))
		return "bad signer name";
	d = wt_cur_rest(r);
	if (d.len) {
		tb_putc(t, ' ');
		tb_base64(t, wt_cur_take(&d, d.len), d.len);
	}
	return NULL;
}

/* Type bitmaps (RFC 4034 4.1.2), with BIND's checks. */
static const char *
rd_bitmap(wt_cursor_t *r, tb_t *t, bool allow_empty)
{
	int last = -1;
	bool any = false;
	while (wt_cur_left(r) > 0) {
		uint8_t win = wt_cur_u8(r), len = wt_cur_u8(r);
		const uint8_t *bm;
		unsigned i, b;
		if (!wt_cur_ok(r))
			return "type bitmap truncated";
		if ((int)win <= last)
			return "type bitmap windows out of order";
		if (len < 1 || len > 32)
			return "type bitmap length out of range";
		bm = wt_cur_take(r, len);
		if (!bm)
			return "type bitmap truncated";
		if (bm[len - 1] == 0)
			return "type bitmap ends in a zero octet";
		for (i = 0; i < len; i++)
			for (b = 0; b < 8; b++)
				if (bm[i] & (0x80 >> b)) {
					tb_putc(t, ' ');
					tb_type(t, (uint16_t)(win * 256 + i * 8 + b));
				}
		last = win;
		any = true;
	}
	if (!any && !allow_empty)
		return "type bitmap empty";
	return NULL;
}

static const char *
rd_nsec(parser_t *P, wt_cursor_t *r, tb_t *t)
{
	if (!read_name(P, r, t))
		return "bad next name";
	return rd_bitmap(r, t, false);
}

/* RFC 5155 3.3 */
static const char *
rd_nsec3(parser_t *P, wt_cursor_t *r, tb_t *t)
{
	uint8_t alg = wt_cur_u8(r), fl = wt_cur_u8(r);
	uint16_t it = wt_cur_be16(r);
	uint8_t sl = wt_cur_u8(r);
	const uint8_t *salt = wt_cur_take(r, sl);
	uint8_t hl;
	const uint8_t *hash;
	if (!wt_cur_ok(r))
		return "NSEC3 truncated";
	tb_printf(t, "%u %u %u ", alg, fl, it);
	if (sl)
		tb_hex(t, salt, sl, false);
	else
		tb_putc(t, '-');
	hl = wt_cur_u8(r);
	hash = wt_cur_take(r, hl);
	if (!wt_cur_ok(r))
		return "NSEC3 hash truncated";
	if (hl == 0)
		return "NSEC3 hash empty";
	tb_putc(t, ' ');
	tb_base32hex(t, hash, hl);
	return rd_bitmap(r, t, true);
}

static const char *
rd_nsec3param(parser_t *P, wt_cursor_t *r, tb_t *t)
{
	uint8_t alg = wt_cur_u8(r), fl = wt_cur_u8(r);
	uint16_t it = wt_cur_be16(r);
	uint8_t sl = wt_cur_u8(r);
	const uint8_t *salt = wt_cur_take(r, sl);
	if (!wt_cur_ok(r))
		return "NSEC3PARAM truncated";
	tb_printf(t, "%u %u %u ", alg, fl, it);
	if (sl)
		tb_hex(t, salt, sl, false);
	else
		tb_putc(t, '-');
	return NULL;
}

/* TLSA, SMIMEA (RFC 6698 2.1), SSHFP (RFC 4255) has two fields. */
static const char *
rd_tlsa(parser_t *P, wt_cursor_t *r, tb_t *t)
{
	uint8_t u = wt_cur_u8(r), s = wt_cur_u8(r), mt = wt_cur_u8(r);
	wt_cursor_t d;
	if (!wt_cur_ok(r))
		return "TLSA truncated";
	if (wt_cur_left(r) == 0)
		return "TLSA data empty";
	tb_printf(t, "%u %u %u ", u, s, mt);
	d = wt_cur_rest(r);
	tb_hex(t, wt_cur_take(&d, d.len), d.len, true);
	return NULL;
}

static const char *
rd_sshfp(parser_t *P, wt_cursor_t *r, tb_t *t)
{
	uint8_t a = wt_cur_u8(r), ft = wt_cur_u8(r);
	wt_cursor_t d;
	if (!wt_cur_ok(r))
		return "SSHFP truncated";
	tb_printf(t, "%u %u", a, ft);
	d = wt_cur_rest(r);
	if (d.len) {
		tb_putc(t, ' ');
		tb_hex(t, wt_cur_take(&d, d.len), d.len, true);
	}
	return NULL;
}

/* RFC 8976 2.2 */
static const char *
rd_zonemd(parser_t *P, wt_cursor_t *r, tb_t *t)
{
	uint32_t serial = wt_cur_be32(r);
	uint8_t sch = wt_cur_u8(r), alg = wt_cur_u8(r);
	wt_cursor_t d;
	if (!wt_cur_ok(r))
		return "ZONEMD truncated";
	if (wt_cur_left(r) < 12)
		return "ZONEMD digest too short";
	tb_printf(t, "%u %u %u ", serial, sch, alg);
	d = wt_cur_rest(r);
	tb_hex(t, wt_cur_take(&d, d.len), d.len, true);
	return NULL;
}

static const char *
rd_base64_all(parser_t *P, wt_cursor_t *r, tb_t *t)
{
	wt_cursor_t d = wt_cur_rest(r);
	if (d.len == 0)
		return "empty";
	tb_base64(t, wt_cur_take(&d, d.len), d.len);
	return NULL;
}

/* RFC 7553 */
static const char *
rd_uri(parser_t *P, wt_cursor_t *r, tb_t *t)
{
	uint16_t pr = wt_cur_be16(r), w = wt_cur_be16(r);
	wt_cursor_t d;
	if (!wt_cur_ok(r))
		return "URI truncated";
	tb_printf(t, "%u %u ", pr, w);
	d = wt_cur_rest(r);
	tb_quoted(t, wt_cur_take(&d, d.len), d.len);
	return NULL;
}

static const char *
rd_eui(wt_cursor_t *r, tb_t *t, size_t n)
{
	const uint8_t *p = wt_cur_take(r, n);
	size_t i;
	if (!p)
		return "EUI truncated";
	for (i = 0; i < n; i++) {
		if (i)
			tb_putc(t, '-');
		tb_putc(t, hex_lower[p[i] >> 4]);
		tb_putc(t, hex_lower[p[i] & 15]);
	}
	return NULL;
}

static const char *
rd_eui48(parser_t *P, wt_cursor_t *r, tb_t *t)
{
	return rd_eui(r, t, 6);
}

static const char *
rd_eui64(parser_t *P, wt_cursor_t *r, tb_t *t)
{
	return rd_eui(r, t, 8);
}

/* RFC 1035 3.4.2: address, protocol, then the ports set in the bitmap. */
static const char *
rd_wks(parser_t *P, wt_cursor_t *r, tb_t *t)
{
	const char *e = rd_a(P, r, t);
	uint8_t proto = wt_cur_u8(r);
	size_t n, i, b;
	wt_cursor_t d;
	const uint8_t *bm;
	if (e || !wt_cur_ok(r))
		return "WKS truncated";
	tb_printf(t, " %u", proto);
	d = wt_cur_rest(r);
	n = d.len;
	if (n > 8192)
		return "WKS bitmap too long";
	bm = wt_cur_take(&d, n);
	for (i = 0; i < n; i++)
		for (b = 0; b < 8; b++)
			if (bm[i] & (0x80 >> b))
				tb_printf(t, " %zu", i * 8 + b);
	return NULL;
}

/* RFC 4398 2.1; the algorithm as BIND's dns_secalg_totext. */
static const char *
rd_cert(parser_t *P, wt_cursor_t *r, tb_t *t)
{
	static const char *const certs[] = {NULL, "PKIX", "SPKI", "PGP",
		"IPKIX", "ISPKI", "IPGP", "ACPKIX", "IACPKIX"};
	uint16_t ct = wt_cur_be16(r), tag = wt_cur_be16(r);
	uint8_t alg = wt_cur_u8(r);
	const char *an = NULL;
	if (!wt_cur_ok(r))
		return "CERT truncated";
	if (ct >= 1 && ct <= 8)
		tb_puts(t, certs[ct]);
	else if (ct == 253)
		tb_puts(t, "URI");
	else if (ct == 254)
		tb_puts(t, "OID");
	else
		tb_printf(t, "%u", ct);
	switch (alg) {
	case 1: an = "RSAMD5"; break;
	case 2: an = "DH"; break;
	case 3: an = "DSA"; break;
	case 5: an = "RSASHA1"; break;
	case 6: an = "NSEC3DSA"; break;
	case 7: an = "NSEC3RSASHA1"; break;
	case 8: an = "RSASHA256"; break;
	case 10: an = "RSASHA512"; break;
	case 12: an = "ECCGOST"; break;
	case 13: an = "ECDSAP256SHA256"; break;
	case 14: an = "ECDSAP384SHA384"; break;
	case 15: an = "ED25519"; break;
	case 16: an = "ED448"; break;
	case 252: an = "INDIRECT"; break;
	case 253: an = "PRIVATEDNS"; break;
	case 254: an = "PRIVATEOID"; break;
	default: break;
	}
	tb_printf(t, " %u ", tag);
	if (an)
		tb_puts(t, an);
	else
		tb_printf(t, "%u", alg);
	tb_putc(t, ' ');
	return rd_base64_all(P, r, t);
}

/* RFC 4025 2 */
static const char *
rd_ipseckey(parser_t *P, wt_cursor_t *r, tb_t *t)
{
	uint8_t prec = wt_cur_u8(r), gt = wt_cur_u8(r), alg = wt_cur_u8(r);
	wt_cursor_t d;
	if (!wt_cur_ok(r))
		return "IPSECKEY truncated";
	tb_printf(t, "%u %u %u ", prec, gt, alg);
	switch (gt) {
	case 0: tb_putc(t, '.'); break;
	case 1: if (rd_a(P, r, t)) return "gateway truncated"; break;
	case 2: if (rd_aaaa(P, r, t)) return "gateway truncated"; break;
	case 3: if (!read_name(P, r, t)) return "bad gateway name"; break;
	default: return "unknown gateway type";
	}
	d = wt_cur_rest(r);
	if (d.len) {
		tb_putc(t, ' ');
		tb_base64(t, wt_cur_take(&d, d.len), d.len);
	}
	return NULL;
}

/* RFC 8945 4.2 (TSIG): the error is an rcode mnemonic. */
static const char *
rd_tsig(parser_t *P, wt_cursor_t *r, tb_t *t)
{
	uint16_t hi, fudge, macl, orig, err, ol;
	uint32_t lo;
	const uint8_t *mac, *other;
	const char *en;
	if (!read_name(P, r, t))
		return "bad algorithm name";
	hi = wt_cur_be16(r);
	lo = wt_cur_be32(r);
	fudge = wt_cur_be16(r);
	macl = wt_cur_be16(r);
	mac = wt_cur_take(r, macl);
	orig = wt_cur_be16(r);
	err = wt_cur_be16(r);
	ol = wt_cur_be16(r);
	other = wt_cur_take(r, ol);
	if (!wt_cur_ok(r))
		return "TSIG truncated";
	tb_printf(t, " %llu %u %u", ((unsigned long long)hi << 32) | lo,
		  fudge, macl);
	if (macl) {
		tb_putc(t, ' ');
		tb_base64(t, mac, macl);
	}
	en = err == 16 ? "BADSIG" : wt_dns_rcode_name(err);
	tb_printf(t, " %u ", orig);
	if (en)
		tb_puts(t, en);
	else
		tb_printf(t, "%u", err);
	tb_printf(t, " %u", ol);
	if (ol) {
		tb_putc(t, ' ');
		tb_base64(t, other, ol);
	}
	return NULL;
}

/* CSYNC (RFC 7477 2.1) */
static const char *
rd_csync(parser_t *P, wt_cursor_t *r, tb_t *t)
{
	uint32_t serial = wt_cur_be32(r);
	uint16_t fl = wt_cur_be16(r);
	if (!wt_cur_ok(r))
		return "CSYNC truncated";
	tb_printf(t, "%u %u", serial, fl);
	return rd_bitmap(r, t, true);
}

/* ---- SVCB / HTTPS (RFC 9460) ---------------------------------------- */

static const char *
svc_key_name(uint16_t k)
{
	switch (k) {
	case 0: return "mandatory";
	case 1: return "alpn";
	case 2: return "no-default-alpn";
	case 3: return "port";
	case 4: return "ipv4hint";
	case 5: return "ech";
	case 6: return "ipv6hint";
	/* 7 (dohpath, RFC 9461) is unknown to BIND 9.18: key7 there too. */
	default: return NULL;
	}
}

static void
tb_svc_key(tb_t *t, uint16_t k)
{
	const char *s = svc_key_name(k);
	if (s)
		tb_puts(t, s);
	else
		tb_printf(t, "key%u", k);
}

/* An SvcParamValue as a quoted string: RFC 9460 appendix A escaping,
 * with ',' and '\' inside alpn ids escaped once more (A.1). */
static void
tb_svc_text(tb_t *t, const uint8_t *p, size_t n, bool alpn_item)
{
	size_t i;
	for (i = 0; i < n; i++) {
		uint8_t c = p[i];
		if (c < 0x20 || c >= 0x7f) {
			tb_printf(t, "\\%03u", c);
			continue;
		}
		if (alpn_item && (c == ',' || c == '\\'))
			tb_puts(t, "\\\\");
		else if (c == '"' || c == '\\')
			tb_putc(t, '\\');
		tb_putc(t, (char)c);
	}
}

static const char *
rd_svcb(parser_t *P, wt_cursor_t *r, tb_t *t)
{
	uint16_t prio = wt_cur_be16(r);
	int last = -1;
	if (!wt_cur_ok(r))
		return "SVCB truncated";
	tb_printf(t, "%u ", prio);
	if (!read_name(P, r, t))
		return "bad target name";
	while (wt_cur_left(r) > 0) {
		uint16_t key = wt_cur_be16(r), len = wt_cur_be16(r);
		wt_cursor_t v = wt_cur_sub(r, len);
		if (!wt_cur_ok(r))
			return "SvcParam truncated";
		if ((int)key <= last)
			return "SvcParamKeys not in increasing order";
		last = key;
		tb_putc(t, ' ');
		tb_svc_key(t, key);
		switch (key) {
		case 0: /* mandatory: a list of keys */
			if (len == 0 || len % 2)
				return "bad mandatory length";
			tb_putc(t, '=');
			while (wt_cur_left(&v) > 0) {
				tb_svc_key(t, wt_cur_be16(&v));
				if (wt_cur_left(&v) > 0)
					tb_putc(t, ',');
			}
			break;
		case 1: /* alpn: length-prefixed ids */
			if (len == 0)
				return "empty alpn";
			tb_puts(t, "=\"");
			while (wt_cur_left(&v) > 0) {
				uint8_t il = wt_cur_u8(&v);
				const uint8_t *id = wt_cur_take(&v, il);
				if (!id || il == 0)
					return "bad alpn id";
				tb_svc_text(t, id, il, true);
				if (wt_cur_left(&v) > 0)
					tb_putc(t, ',');
			}
			tb_putc(t, '"');
			break;
		case 2:
			if (len != 0)
				return "no-default-alpn has a value";
			break;
		case 3:
			if (len != 2)
				return "bad port length";
			tb_printf(t, "=%u", wt_cur_be16(&v));
			break;
		case 4:
			if (len == 0 || len % 4)
				return "bad ipv4hint length";
			tb_putc(t, '=');
			while (wt_cur_left(&v) > 0) {
				rd_a(P, &v, t);
				if (wt_cur_left(&v) > 0)
					tb_putc(t, ',');
			}
			break;
		case 5:
			if (len == 0)
				return "empty ech";
			tb_putc(t, '=');
			tb_base64(t, wt_cur_take(&v, len), len);
			break;
		case 6:
			if (len == 0 || len % 16)
				return "bad ipv6hint length";
			tb_putc(t, '=');
			while (wt_cur_left(&v) > 0) {
				tb_ip6(t, wt_cur_take(&v, 16));
				if (wt_cur_left(&v) > 0)
					tb_putc(t, ',');
			}
			break;
		default:
			if (len) {
				tb_puts(t, "=\"");
				tb_svc_text(t, wt_cur_take(&v, len), len, false);
				tb_putc(t, '"');
			}
			break;
		}
	}
	return NULL;
}

/* ---- LOC (RFC 1876) --------------------------------------------------- */

/* BIND prints whole metres from 1 m up, else metres with centimetres. */
static void
tb_loc_size(tb_t *t, uint8_t v)
{
	unsigned mant = v >> 4, exp = v & 15;
	unsigned long long x = mant;
	if (exp >= 2) {
		for (exp -= 2; exp > 0; exp--)
			x *= 10;
		tb_printf(t, "%llum", x);
	} else {
		if (exp == 1)
			x *= 10;
		tb_printf(t, "%llu.%02llum", x / 100, x % 100);
	}
}

static void
tb_loc_angle(tb_t *t, uint32_t v, char pos, char neg)
{
	long long d = (long long)v - (1LL << 31);
	char h = d < 0 ? neg : pos;
	unsigned long long a = (unsigned long long)(d < 0 ? -d : d);
	unsigned ms = a % 1000, s, m, deg;
	a /= 1000;
	s = a % 60;
	a /= 60;
	m = a % 60;
	deg = (unsigned)(a / 60);
	tb_printf(t, "%u %u %u.%03u %c", deg, m, s, ms, h);
}

static const char *
rd_loc(parser_t *P, wt_cursor_t *r, tb_t *t)
{
	uint8_t ver = wt_cur_u8(r), size = wt_cur_u8(r), hp = wt_cur_u8(r),
		vp = wt_cur_u8(r);
	uint32_t lat = wt_cur_be32(r), lon = wt_cur_be32(r), alt = wt_cur_be32(r);
	long long altcm;
	if (!wt_cur_ok(r))
		return "LOC truncated";
	if (ver != 0)
		return "LOC version not 0";
	if ((size >> 4) > 9 || (size & 15) > 9 || (hp >> 4) > 9 ||
	    (hp & 15) > 9 || (vp >> 4) > 9 || (vp & 15) > 9)
		return "LOC precision out of range";
	tb_loc_angle(t, lat, 'N', 'S');
	tb_putc(t, ' ');
	tb_loc_angle(t, lon, 'E', 'W');
	altcm = (long long)alt - 10000000LL;
	tb_printf(t, " %s%lld.%02lldm ", altcm < 0 ? "-" : "",
		  (altcm < 0 ? -altcm : altcm) / 100,
		  (altcm < 0 ? -altcm : altcm) % 100);
	tb_loc_size(t, size);
	tb_putc(t, ' ');
	tb_loc_size(t, hp);
	tb_putc(t, ' ');
	tb_loc_size(t, vp);
	return NULL;
}

/* ---- dispatch -------------------------------------------------------- */

static const struct {
	uint16_t type;
	rd_fn fn;
	bool in_only; /* class-specific in BIND: other classes print \# */
} rd_table[] = {
	{1, rd_a, false},        {2, rd_name, false},      {3, rd_name, false},
	{4, rd_name, false},     {5, rd_name, false},      {6, rd_soa, false},
	{7, rd_name, false},     {8, rd_name, false},      {9, rd_name, false},
	{11, rd_wks, true},      {12, rd_name, false},     {13, rd_hinfo, false},
	{14, rd_two_names, false}, {15, rd_mx, false},     {16, rd_txt, false},
	{17, rd_two_names, false}, {18, rd_u16_name, false}, {19, rd_x25, false},
	{20, rd_isdn, false},    {21, rd_u16_name, false}, {23, rd_name, true},
	{24, rd_rrsig, false},   {25, rd_dnskey, false},   {26, rd_px, true},
	{28, rd_aaaa, true},     {29, rd_loc, false},      {33, rd_srv, true},
	{35, rd_naptr, true},    {36, rd_u16_name, true},  {37, rd_cert, false},
	{39, rd_name, false},    {43, rd_ds, false},       {44, rd_sshfp, false},
	{45, rd_ipseckey, false}, {46, rd_rrsig, false},   {47, rd_nsec, false},
	{48, rd_dnskey, false},  {49, rd_base64_all, true}, {50, rd_nsec3, false},
	{51, rd_nsec3param, false}, {52, rd_tlsa, false},  {53, rd_tlsa, false},
	{59, rd_ds, false},      {60, rd_dnskey, false},   {61, rd_base64_all, false},
	{62, rd_csync, false},   {63, rd_zonemd, false},   {64, rd_svcb, true},
	{65, rd_svcb, true},     {99, rd_txt, false},      {108, rd_eui48, false},
	{109, rd_eui64, false},  {250, rd_tsig, false},    {256, rd_uri, false},
	{257, rd_caa, false},    {32768, rd_ds, false},    {32769, rd_ds, false},
};

/* RFC 3597 section 5: \# length hex. */
static void
tb_generic(tb_t *t, const uint8_t *p, size_t n)
{
	tb_printf(t, "\\# %zu", n);
	if (n) {
		tb_putc(t, ' ');
		tb_hex(t, p, n, true);
	}
}

/* Formats the rdata in r (a child cursor of rdlength bytes) of an RR. */
static const char *
format_rdata(parser_t *P, wt_dns_rr_t *rr, wt_cursor_t r, size_t rdoff)
{
	wt_dns_msg_t *m = P->m;
	tb_t t = tb_begin(m);
	const wt_cursor_t start = r;
	const char *why = NULL;
	rd_fn fn = NULL;
	bool in_only = false;
	size_t i;

	/* Update prerequisites and deletions (RFC 2136 2.4, 2.5) carry an
	 * empty rdata with class ANY or NONE. */
	if (rr->rdlength == 0 && (rr->rclass == 255 || rr->rclass == 254))
		return tb_end(m, &t, rdoff);

	for (i = 0; i < sizeof rd_table / sizeof rd_table[0]; i++)
		if (rd_table[i].type == rr->type) {
			fn = rd_table[i].fn;
			in_only = rd_table[i].in_only;
			break;
		}
	/* A is defined for IN and HS alike; CH A has another layout. */
	if (rr->type == 1 && rr->rclass != 1 && rr->rclass != 4)
		in_only = true;
	if (fn && (!in_only || rr->rclass == 1)) {
		wt_dns_error_t saved = m->err;
		char inner[sizeof m->err.reason] = "";
		why = fn(P, &r, &t);
		if (!why && !wt_cur_ok(&r))
			why = "rdata truncated";
		if (!why && wt_cur_left(&r) != 0)
			why = "trailing bytes in rdata";
		/* A bad name inside rdata recorded its own fault: keep its
		 * words in ours, which names the RR. */
		if (saved.status == WT_OK && m->err.status != WT_OK) {
			snprintf(inner, sizeof inner, "%s", m->err.reason);
			m->err = saved;
		}
		if (!why)
			return tb_end(m, &t, rdoff);
		rr->bad = true;
		m->n_bad_rdata++;
		fail(m, WT_E_MALFORMED, rdoff, "%s rdata: %s%s%s",
		     wt_dns_type_name(rr->type) ? wt_dns_type_name(rr->type)
						 : "unknown",
		     why, inner[0] ? ": " : "", inner);
	}
	t = tb_begin(m);
	r = start;
	tb_generic(&t, wt_cur_take(&r, r.len), r.len);
	return tb_end(m, &t, rdoff);
}

/* ---- EDNS ------------------------------------------------------------- */

static void
tb_hexbytes_ascii(tb_t *t, const uint8_t *p, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++) {
		if (i)
			tb_putc(t, ' ');
		tb_putc(t, hex_lower[p[i] >> 4]);
		tb_putc(t, hex_lower[p[i] & 15]);
	}
	if (n) {
		tb_puts(t, " (\"");
		for (i = 0; i < n; i++)
			tb_putc(t, p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '.');
		tb_puts(t, "\")");
	}
}

static const char *const ede_names[] = {
	"Other", "Unsupported DNSKEY Algorithm", "Unsupported DS Digest Type",
	"Stale Answer", "Forged Answer", "DNSSEC Indeterminate",
	"DNSSEC Bogus", "Signature Expired", "Signature Not Yet Valid",
	"DNSKEY Missing", "RRSIGs Missing", "No Zone Key Bit Set",
	"NSEC Missing", "Cached Error", "Not Ready", "Blocked", "Censored",
	"Filtered", "Prohibited", "Stale NXDOMAIN Answer", "Not Authoritative",
	"Not Supported", "No Reachable Authority", "Network Error",
	"Invalid Data"};

/* RFC 7871 6: family, source and scope prefix lengths, then only the
 * significant octets of the address. */
static bool
tb_ecs(tb_t *t, wt_cursor_t v)
{
	uint16_t fam = wt_cur_be16(&v);
	uint8_t src = wt_cur_u8(&v), scope = wt_cur_u8(&v);
	uint8_t a[16] = {0};
	size_t need, alen;
	char s[INET6_ADDRSTRLEN];
	if (!wt_cur_ok(&v) || (fam != 1 && fam != 2))
		return false;
	alen = fam == 1 ? 4 : 16;
	if (src > alen * 8 || scope > alen * 8)
		return false;
	need = (src + 7u) / 8u;
	if (wt_cur_left(&v) != need)
		return false;
	wt_cur_copy(&v, a, need);
	inet_ntop(fam == 1 ? AF_INET : AF_INET6, a, s, sizeof s);
	tb_printf(t, "%s/%u/%u", s, src, scope);
	return true;
}

static const char *
format_opt(parser_t *P, uint16_t code, wt_cursor_t v, size_t off)
{
	tb_t t = tb_begin(P->m);
	wt_cursor_t all = v;
	size_t n = v.len;
	bool done = false;
	switch (code) {
	case 8:
		done = tb_ecs(&t, v);
		break;
	case 10: /* RFC 7873 4: client cookie 8, server cookie 8..32 */
		if (n == 8 || (n >= 16 && n <= 40)) {
			const uint8_t *p = wt_cur_take(&v, n);
			size_t i;
			for (i = 0; i < n; i++) {
				tb_putc(&t, hex_lower[p[i] >> 4]);
				tb_putc(&t, hex_lower[p[i] & 15]);
			}
			done = true;
		}
		break;
	case 11: /* RFC 7828 3.1: timeout in units of 100 ms */
		if (n == 0) {
			done = true;
		} else if (n == 2) {
			uint16_t to = wt_cur_be16(&v);
			tb_printf(&t, "%u.%u secs", to / 10, to % 10);
			done = true;
		}
		break;
	case 12: /* RFC 7830 */
		tb_printf(&t, "(%zu bytes)", n);
		done = true;
		break;
	case 9:
		if (n == 4) {
			tb_printf(&t, "%u", wt_cur_be32(&v));
			done = true;
		}
		break;
	case 14: /* RFC 8145 4.1 */
		if (n && n % 2 == 0) {
			while (wt_cur_left(&v) > 0) {
				tb_printf(&t, "%u", wt_cur_be16(&v));
				if (wt_cur_left(&v) > 0)
					tb_puts(&t, ", ");
			}
			done = true;
		}
		break;
	case 15: /* RFC 8914 2: info-code, then UTF-8 extra text */
		if (n >= 2) {
			uint16_t ic = wt_cur_be16(&v);
			size_t i, xl = wt_cur_left(&v);
			const uint8_t *x = wt_cur_take(&v, xl);
			tb_printf(&t, "%u", ic);
			if (ic < sizeof ede_names / sizeof ede_names[0])
				tb_printf(&t, " (%s)", ede_names[ic]);
			if (xl) {
				tb_puts(&t, ": (");
				for (i = 0; i < xl; i++)
					tb_putc(&t, x[i] >= 0x20 && x[i] < 0x7f
							    ? (char)x[i] : '.');
				tb_putc(&t, ')');
			}
			done = true;
		}
		break;
	default:
		break;
	}
	if (!done) {
		t = tb_begin(P->m);
		tb_hexbytes_ascii(&t, wt_cur_take(&all, n), n);
	}
	return tb_end(P->m, &t, off);
}

/* RFC 6891 6.1.2 / 6.1.3 */
static void
parse_opt(parser_t *P, const char *owner, uint16_t cls, uint32_t ttl,
	  wt_cursor_t r, size_t off)
{
	wt_dns_msg_t *m = P->m;
	wt_dns_edns_t *e = &m->edns;
	if (e->present) {
		fail(m, WT_E_MALFORMED, off, "more than one OPT RR");
		return;
	}
	if (strcmp(owner, ".") != 0)
		fail(m, WT_E_MALFORMED, off, "OPT owner is not the root");
	e->present = true;
	e->udp_size = cls;
	e->ext_rcode = (uint8_t)(ttl >> 24);
	e->version = (uint8_t)(ttl >> 16);
	e->do_bit = (ttl & 0x8000) != 0;
	e->z = (uint16_t)(ttl & 0x7fff);
	while (wt_cur_left(&r) > 0) {
		size_t ooff = abs_off(P, &r);
		uint16_t code = wt_cur_be16(&r), len = wt_cur_be16(&r);
		wt_cursor_t v = wt_cur_sub(&r, len);
		if (!wt_cur_ok(&r)) {
			fail(m, WT_E_MALFORMED, ooff, "EDNS option truncated");
			return;
		}
		e->n_opts_total++;
		if (e->n_opts < WT_DNS_MAX_OPTS) {
			wt_dns_opt_t *o = &e->opts[e->n_opts++];
			o->code = code;
			o->len = len;
			o->data = format_opt(P, code, v, ooff);
		}
	}
}

/* ---- the message ------------------------------------------------------- */

int
wt_dns_msg_init(wt_dns_msg_t *m)
{
	memset(m, 0, sizeof *m);
	m->arena = malloc(WT_DNS_ARENA);
	m->rrs = calloc(WT_DNS_MAX_RRS, sizeof *m->rrs);
	if (!m->arena || !m->rrs) {
		wt_dns_msg_free(m);
		return -1;
	}
	return 0;
}

void
wt_dns_msg_free(wt_dns_msg_t *m)
{
	free(m->arena);
	free(m->rrs);
	m->arena = NULL;
	m->rrs = NULL;
}

static void
reset(wt_dns_msg_t *m)
{
	char *arena = m->arena;
	wt_dns_rr_t *rrs = m->rrs;
	memset(m, 0, offsetof(wt_dns_msg_t, rrs));
	memset(&m->edns, 0, sizeof m->edns);
	memset(&m->err, 0, sizeof m->err);
	m->n_bad_rdata = 0;
	m->arena = arena;
	m->rrs = rrs;
	m->arena_used = 0;
}

static bool
parse_question(parser_t *P, wt_cursor_t *c)
{
	wt_dns_msg_t *m = P->m;
	size_t off = abs_off(P, c);
	bool ok;
	const char *name = name_text(P, c, &ok);
	uint16_t qt, qc;
	if (!ok)
		return false;
	qt = wt_cur_be16(c);
	qc = wt_cur_be16(c);
	if (!wt_cur_ok(c)) {
		fail(m, WT_E_TRUNC, off, "question truncated");
		return false;
	}
	if (m->n_questions < WT_DNS_MAX_QUESTIONS) {
		wt_dns_question_t *q = &m->questions[m->n_questions++];
		q->name = name;
		q->qtype = qt;
		q->qclass = qc;
		/* RFC 6762 5.4: the top bit asks for a unicast response. */
		if ((P->flags & WT_DNS_PARSE_MDNS) && (qc & 0x8000)) {
			q->unicast_response = true;
			q->qclass = qc & 0x7fff;
		}
	}
	m->n_questions_parsed++;
	return true;
}

static bool
parse_rr(parser_t *P, wt_cursor_t *c, int section)
{
	wt_dns_msg_t *m = P->m;
	size_t off = abs_off(P, c), rdoff;
	bool ok;
	const char *name = name_text(P, c, &ok);
	uint16_t type, cls, rdlen;
	uint32_t ttl;
	wt_cursor_t r;
	wt_dns_rr_t tmp, *rr;

	if (!ok)
		return false;
	type = wt_cur_be16(c);
	cls = wt_cur_be16(c);
	ttl = wt_cur_be32(c);
	rdlen = wt_cur_be16(c);
	if (!wt_cur_ok(c)) {
		fail(m, WT_E_TRUNC, off, "RR header truncated");
		return false;
	}
	rdoff = abs_off(P, c);
	r = wt_cur_sub(c, rdlen);
	if (!wt_cur_ok(c)) {
		fail(m, WT_E_TRUNC, rdoff,
		     "rdlength %u runs past the end of the message", rdlen);
		return false;
	}
	m->n_parsed[section]++;
	if (type == 41 && section == WT_DNS_SEC_ADDITIONAL) {
		parse_opt(P, name, cls, ttl, r, off);
		return true;
	}
	if (type == 41)
		fail(m, WT_E_MALFORMED, off, "OPT RR outside the additional section");
	rr = m->n_rrs < WT_DNS_MAX_RRS ? &m->rrs[m->n_rrs] : &tmp;
	memset(rr, 0, sizeof *rr);
	rr->name = name;
	rr->type = type;
	rr->rclass = cls;
	rr->ttl = ttl;
	rr->rdlength = rdlen;
	rr->section = (uint8_t)section;
	rr->offset = off;
	/* RFC 6762 10.2: the top bit is the cache-flush bit. */
	if ((P->flags & WT_DNS_PARSE_MDNS) && (cls & 0x8000)) {
		rr->cache_flush = true;
		rr->rclass = cls & 0x7fff;
	}
	if (rr == &tmp) {
		fail(m, WT_E_LIMIT, off, "more than %d RRs", WT_DNS_MAX_RRS);
		return true;
	}
	rr->data = format_rdata(P, rr, r, rdoff);
	m->n_rrs++;
	return true;
}

wt_status_t
wt_dns_parse(wt_dns_msg_t *m, const uint8_t *p, size_t len, unsigned flags)
{
	parser_t P;
	wt_cursor_t c = wt_cur_make(p, len);
	uint8_t b2, b3;
	uint16_t counts[3];
	int s;
	unsigned i;

	reset(m);
	m->len = len;
	P.m = m;
	P.whole = c;
	P.flags = flags;

	/* RFC 1035 4.1.1 */
	m->hdr.id = wt_cur_be16(&c);
	b2 = wt_cur_u8(&c);
	b3 = wt_cur_u8(&c);
	m->hdr.qdcount = wt_cur_be16(&c);
	m->hdr.ancount = wt_cur_be16(&c);
	m->hdr.nscount = wt_cur_be16(&c);
	m->hdr.arcount = wt_cur_be16(&c);
	if (!wt_cur_ok(&c)) {
		memset(&m->hdr, 0, sizeof m->hdr);
		fail(m, WT_E_TRUNC, 0, "message shorter than the 12-byte header");
		return m->err.status;
	}
	m->header_ok = true;
	m->hdr.qr = (b2 & 0x80) != 0;
	m->hdr.opcode = (b2 >> 3) & 15;
	m->hdr.aa = (b2 & 0x04) != 0;
	m->hdr.tc = (b2 & 0x02) != 0;
	m->hdr.rd = (b2 & 0x01) != 0;
	m->hdr.ra = (b3 & 0x80) != 0;
	m->hdr.z = (b3 & 0x40) != 0;
	m->hdr.ad = (b3 & 0x20) != 0; /* RFC 4035 3.2.3 */
	m->hdr.cd = (b3 & 0x10) != 0;
	m->hdr.rcode = b3 & 15;

	for (i = 0; i < m->hdr.qdcount; i++)
		if (!parse_question(&P, &c))
			return m->err.status;
	counts[0] = m->hdr.ancount;
	counts[1] = m->hdr.nscount;
	counts[2] = m->hdr.arcount;
	for (s = 0; s < 3; s++)
		for (i = 0; i < counts[s]; i++)
			if (!parse_rr(&P, &c, s + 1))
				return m->err.status;
	if (wt_cur_left(&c) > 0)
		fail(m, WT_E_MALFORMED, c.off, "%zu extra bytes after the message",
		     wt_cur_left(&c));
	return m->err.status;
}
