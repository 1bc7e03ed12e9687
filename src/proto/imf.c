/* \summary: streaming RFC 5322 message parser: header fields, RFC 2047 words, MIME outline */
#include <errno.h>
#include <iconv.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/record.h"
#include "proto/imf.h"
#include "wiretale/cursor.h"

/*
 * The message arrives in pieces of any size (TCP segments, IMAP literals),
 * so the parser works line by line with one line buffer.  Only the header
 * section of the message is kept (capped); bodies are never stored: the
 * MIME walker (RFC 2046 §5.1) keeps a stack of the open entities and knows
 * every part's size from the offsets where it starts and ends.
 *
 * Caps (every one sets "truncated"):
 *  - one physical header line: IMF_LINE_CAP bytes kept, the rest counted;
 *  - one unfolded field: IMF_FIELD_CAP bytes;
 *  - the header section kept in "headers": IMF_HDR_TOTAL_CAP bytes and
 *    IMF_MAX_FIELDS fields (later fields still fill the single-valued
 *    fields such as Subject if these were absent, each capped);
 *  - IMF_MAX_PARTS MIME parts, IMF_MAX_DEPTH levels of nesting.
 * A body line keeps only IMF_BODY_LINE_CAP bytes: enough to compare with a
 * boundary (at most 70 characters, RFC 2046 §5.1.1).
 */
#define IMF_LINE_CAP 16384
#define IMF_BODY_LINE_CAP 256
#define IMF_FIELD_CAP 65536
#define IMF_HDR_TOTAL_CAP (256 * 1024)
#define IMF_MAX_FIELDS 1000
#define IMF_MAX_PARTS 512
#define IMF_MAX_DEPTH 16
#define IMF_BOUNDARY_MAX 200
#define IMF_PART_HDR_CAP 4096
#define IMF_DECODED_CAP (IMF_FIELD_CAP * 2)

typedef struct imf_buf {
	uint8_t *p;
	size_t len, cap;
} imf_buf_t;

enum ent_state { ENT_HEADERS, ENT_BODY, ENT_EPILOGUE };
enum ent_kind { ENT_LEAF, ENT_MULTIPART, ENT_MESSAGE };

typedef struct imf_ent {
	enum ent_state state;
	enum ent_kind kind;
	bool digest;          /* multipart/digest: parts default to message/rfc822 */
	bool parent_digest;   /* this entity's default type is message/rfc822 */
	unsigned depth;
	uint64_t body_start;
	json_t *part;         /* borrowed from m->parts; NULL over the cap */
	char boundary[IMF_BOUNDARY_MAX + 1];
	size_t blen;
} imf_ent_t;

struct wt_imf {
	uint64_t off;        /* bytes fed so far */
	uint64_t line_start; /* offset of the current line's first byte */
	imf_buf_t line;      /* the current line, capped */
	size_t line_full;    /* its bytes seen so far, LF excluded */
	uint8_t line_last;   /* its last byte (to see the CR of a CR LF) */
	size_t prev_eol;     /* length of the previous line's terminator */
	bool any_line;       /* a line was already processed */

	/* the header field being unfolded (of the entity on top) */
	imf_buf_t field;
	bool field_on;
	/* the MIME fields of the entity whose header is being read */
	imf_buf_t p_ct, p_cte, p_cd;
	bool have_ct, have_cte, have_cd;

	/* the message's own header (the root entity) */
	bool root_hdr_done;
	uint64_t header_size;
	size_t n_fields, kept_bytes;
	json_t *headers, *received, *parts;
	json_t *from, *to, *cc, *subject, *date, *message_id, *in_reply_to;
	json_t *return_path, *user_agent, *content_type;

	imf_buf_t dec;       /* RFC 2047 decoding, reused field after field */
	size_t n;
	bool truncated;
	bool finished;
	json_t *result;

	/* last: only the entries below n are ever read, so a new parser
	 * clears what comes before (the stack is most of its size) */
	imf_ent_t st[IMF_MAX_DEPTH];
};

/* ---- small helpers ---------------------------------------------------- */

static int
buf_reserve(imf_buf_t *b, size_t n)
{
	size_t want, nc;
	uint8_t *q;
	if (b->cap - b->len >= n)
		return 0;
	want = b->len + n;
	nc = b->cap ? b->cap : 64;
	while (nc < want)
		nc *= 2;
	q = realloc(b->p, nc);
	if (!q)
		return -1;
	b->p = q;
	b->cap = nc;
	return 0;
}

/* Appends at most what keeps len <= max; returns false when cut. */
static bool
buf_add_capped(imf_buf_t *b, const uint8_t *p, size_t n, size_t max)
{
	bool cut = false;
	if (b->len >= max)
		return n == 0;
	if (n > max - b->len) {
		n = max - b->len;
		cut = true;
	}
	if (n == 0)
		return !cut;
	if (buf_reserve(b, n) != 0)
		return false;
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return !cut;
}

static void
buf_byte(imf_buf_t *b, uint8_t c)
{
	if (b->len < IMF_DECODED_CAP && buf_reserve(b, 1) == 0)
		b->p[b->len++] = c;
}

static void
buf_free(imf_buf_t *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

static uint8_t
lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

static bool
is_wsp(uint8_t c)
{
	return c == ' ' || c == '\t';
}

/* Case-insensitive comparison of bytes with a lower-case C string. */
static bool
eq_ci(const uint8_t *p, size_t n, const char *s)
{
	size_t i, sl = strlen(s);
	if (n != sl)
		return false;
	for (i = 0; i < n; i++)
		if (lower(p[i]) != (uint8_t)s[i])
			return false;
	return true;
}

static void
put_utf8(imf_buf_t *o, uint32_t cp)
{
	if (cp < 0x80) {
		buf_byte(o, (uint8_t)cp);
	} else if (cp < 0x800) {
		buf_byte(o, (uint8_t)(0xC0 | cp >> 6));
		buf_byte(o, (uint8_t)(0x80 | (cp & 0x3F)));
	} else if (cp < 0x10000) {
		buf_byte(o, (uint8_t)(0xE0 | cp >> 12));
		buf_byte(o, (uint8_t)(0x80 | ((cp >> 6) & 0x3F)));
		buf_byte(o, (uint8_t)(0x80 | (cp & 0x3F)));
	} else {
		buf_byte(o, (uint8_t)(0xF0 | cp >> 18));
		buf_byte(o, (uint8_t)(0x80 | ((cp >> 12) & 0x3F)));
		buf_byte(o, (uint8_t)(0x80 | ((cp >> 6) & 0x3F)));
		buf_byte(o, (uint8_t)(0x80 | (cp & 0x3F)));
	}
}

/* ---- charsets ------------------------------------------------------------ */

/* Windows-1252 0x80..0x9F (the WHATWG table; 0 marks the five holes). */
static const uint16_t cp1252_hi[32] = {
	0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0,      0x017D, 0,
	0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178,
};

enum cs_kind { CS_UTF8, CS_LATIN1, CS_LATIN9, CS_CP1252, CS_OTHER, CS_BAD };

static enum cs_kind
charset_kind(const char *cs)
{
	static const char *const utf8[] = { "utf-8", "utf8", "us-ascii",
		"ascii", "ansi_x3.4-1968", "us", "iso646-us", NULL };
	static const char *const l1[] = { "iso-8859-1", "iso8859-1",
		"iso_8859-1", "latin1", "latin-1", "l1", "cp819", "ibm819",
		"iso_8859-1:1987", NULL };
	static const char *const l9[] = { "iso-8859-15", "iso8859-15",
		"iso_8859-15", "latin9", "latin-9", "l9", NULL };
	static const char *const w1252[] = { "windows-1252", "cp1252",
		"x-cp1252", "cp-1252", NULL };
	size_t i;
	if (cs[0] == '\0')
		return CS_UTF8;
	for (i = 0; utf8[i]; i++)
		if (strcmp(cs, utf8[i]) == 0)
			return CS_UTF8;
	for (i = 0; l1[i]; i++)
		if (strcmp(cs, l1[i]) == 0)
			return CS_LATIN1;
	for (i = 0; l9[i]; i++)
		if (strcmp(cs, l9[i]) == 0)
			return CS_LATIN9;
	for (i = 0; w1252[i]; i++)
		if (strcmp(cs, w1252[i]) == 0)
			return CS_CP1252;
	for (i = 0; cs[i]; i++) {
		char c = cs[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.' || c == ':'))
			return CS_BAD;
	}
	return CS_OTHER;
}

static uint32_t
latin9(uint8_t c)
{
	switch (c) {
	case 0xA4: return 0x20AC;
	case 0xA6: return 0x0160;
	case 0xA8: return 0x0161;
	case 0xB4: return 0x017D;
	case 0xB8: return 0x017E;
	case 0xBC: return 0x0152;
	case 0xBD: return 0x0153;
	case 0xBE: return 0x0178;
	default: return c;
	}
}

/* Through glibc's iconv for charsets not converted by hand; bytes it
 * cannot convert are kept raw (escaped as \xNN when the JSON is built). */
static void
conv_iconv(const char *cs, const uint8_t *p, size_t n, imf_buf_t *o)
{
	iconv_t cd = iconv_open("UTF-8", cs);
	char *in;
	size_t inleft = n;
	if (cd == (iconv_t)-1) {
		buf_add_capped(o, p, n, IMF_DECODED_CAP);
		return;
	}
	in = (char *)(uintptr_t)p; /* iconv does not write its input */
	while (inleft > 0 && o->len < IMF_DECODED_CAP) {
		char tmp[1024];
		char *out = tmp;
		size_t outleft = sizeof tmp;
		size_t r = iconv(cd, &in, &inleft, &out, &outleft);
		buf_add_capped(o, (const uint8_t *)tmp, sizeof tmp - outleft,
			       IMF_DECODED_CAP);
		if (r == (size_t)-1) {
			if (errno == E2BIG)
				continue;
			/* EILSEQ or EINVAL: keep one byte raw and go on */
			buf_byte(o, (uint8_t)*in);
			in++;
			inleft--;
			iconv(cd, NULL, NULL, NULL, NULL);
		}
	}
	iconv_close(cd);
}

/* Converts bytes in charset cs (lower-case) to UTF-8. */
static void
to_utf8(const char *cs, const uint8_t *p, size_t n, imf_buf_t *o)
{
	size_t i;
	switch (charset_kind(cs)) {
	case CS_UTF8:
	case CS_BAD:
		buf_add_capped(o, p, n, IMF_DECODED_CAP);
		return;
	case CS_OTHER:
		conv_iconv(cs, p, n, o);
		return;
	case CS_LATIN1:
		for (i = 0; i < n; i++)
			put_utf8(o, p[i]);
		return;
	case CS_LATIN9:
		for (i = 0; i < n; i++)
			put_utf8(o, latin9(p[i]));
		return;
	case CS_CP1252:
		for (i = 0; i < n; i++) {
			uint32_t cp = p[i];
			if (cp >= 0x80 && cp < 0xA0)
				cp = cp1252_hi[cp - 0x80] ? cp1252_hi[cp - 0x80] : 0xFFFD;
			put_utf8(o, cp);
		}
		return;
	}
}

/* ---- RFC 2047 encoded words ---------------------------------------------- */

static int
b64_val(uint8_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static int
hex_val(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Lenient base64: skips what is not of the alphabet, stops at '='. */
static void
b64_decode(wt_cursor_t c, imf_buf_t *o)
{
	uint32_t acc = 0;
	int bits = 0;
	while (wt_cur_left(&c) > 0) {
		uint8_t ch = wt_cur_u8(&c);
		int v;
		if (ch == '=')
			break;
		v = b64_val(ch);
		if (v < 0)
			continue;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf_byte(o, (uint8_t)(acc >> bits));
			acc &= (1u << bits) - 1;
		}
	}
}

/* RFC 2047 §4.2: "_" is a space, "=XX" a byte. */
static void
q_decode(wt_cursor_t c, imf_buf_t *o)
{
	while (wt_cur_left(&c) > 0) {
		uint8_t ch = wt_cur_u8(&c);
		if (ch == '_') {
			buf_byte(o, ' ');
		} else if (ch == '=' && wt_cur_has(&c, 2)) {
			const uint8_t *h = wt_cur_peek(&c, 2);
			int a = hex_val(h[0]), b = hex_val(h[1]);
			if (a >= 0 && b >= 0) {
				buf_byte(o, (uint8_t)(a << 4 | b));
				wt_cur_skip(&c, 2);
			} else {
				buf_byte(o, ch);
			}
		} else {
			buf_byte(o, ch);
		}
	}
}

typedef struct ew {
	char charset[48]; /* lower-case, RFC 2231 §5 language removed */
	char enc;         /* 'b' or 'q' */
	size_t text_off, text_len;
	size_t end;       /* offset just past "?=" */
} ew_t;

/* Parses "=?charset?X?text?=" at offset i of the value. */
static bool
ew_parse(wt_cursor_t v, size_t i, ew_t *w)
{
	size_t cl = 0, j;
	bool lang = false;
	uint8_t ch;
	if (!wt_cur_seek(&v, i) || !wt_cur_has(&v, 2))
		return false;
	if (wt_cur_u8(&v) != '=' || wt_cur_u8(&v) != '?')
		return false;
	for (;;) {
		if (!wt_cur_has(&v, 1))
			return false;
		ch = wt_cur_u8(&v);
		if (ch == '?')
			break;
		if (ch <= ' ' || ch >= 0x7F || ch == '=' )
			return false;
		if (ch == '*')
			lang = true;
		if (!lang) {
			if (cl + 1 >= sizeof w->charset)
				return false;
			w->charset[cl++] = (char)lower(ch);
		}
	}
	w->charset[cl] = '\0';
	if (cl == 0 || !wt_cur_has(&v, 2))
		return false;
	w->enc = (char)lower(wt_cur_u8(&v));
	if ((w->enc != 'b' && w->enc != 'q') || wt_cur_u8(&v) != '?')
		return false;
	w->text_off = v.off;
	/* The encoded text holds no "?" and no white space (§5); cap at a
	 * generous length rather than the 75 of §2. */
	for (j = 0; j < 4096; j++) {
		if (!wt_cur_has(&v, 1))
			return false;
		ch = wt_cur_u8(&v);
		if (ch == '?') {
			if (!wt_cur_has(&v, 1) || wt_cur_u8(&v) != '=')
				return false;
			w->text_len = j;
			w->end = v.off;
			return true;
		}
		if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n')
			return false;
	}
	return false;
}

/*
 * Decodes the encoded words of a header value into UTF-8 (RFC 2047 §6).
 * White space between two adjacent encoded words is dropped (§6.2); the
 * bytes of adjacent words in the same charset are converted together so
 * that a character split across two words (as mailers do with UTF-8)
 * comes out whole.  Text outside encoded words is kept as it is.
 */
static void
decode_2047(const uint8_t *p, size_t n, imf_buf_t *o)
{
	wt_cursor_t v = wt_cur_make(p, n);
	imf_buf_t raw = { 0 };
	char cs[48] = "";
	size_t i = 0;

	while (i < n && o->len < IMF_DECODED_CAP) {
		ew_t w;
		const uint8_t *b;
		wt_cursor_t t;
		if (!wt_cur_seek(&v, i))
			break;
		b = wt_cur_peek(&v, 1);
		if (b && b[0] == '=' && ew_parse(v, i, &w)) {
			size_t j;
			if (raw.len > 0 && strcmp(cs, w.charset) != 0) {
				to_utf8(cs, raw.p, raw.len, o);
				raw.len = 0;
			}
			memcpy(cs, w.charset, sizeof cs);
			t = wt_cur_make(p, n);
			wt_cur_seek(&t, w.text_off);
			t = wt_cur_sub(&t, w.text_len);
			if (w.enc == 'b')
				b64_decode(t, &raw);
			else
				q_decode(t, &raw);
			i = w.end;
			/* skip linear white space up to a following encoded word */
			j = i;
			wt_cur_seek(&v, j);
			while ((b = wt_cur_peek(&v, 1)) != NULL &&
			       (is_wsp(b[0]) || b[0] == '\r' || b[0] == '\n')) {
				wt_cur_skip(&v, 1);
				j++;
			}
			if (j > i && j < n && ew_parse(v, j, &w))
				i = j;
			continue;
		}
		if (raw.len > 0) {
			to_utf8(cs, raw.p, raw.len, o);
			raw.len = 0;
		}
		if (b)
			buf_byte(o, b[0]);
		i++;
	}
	if (raw.len > 0)
		to_utf8(cs, raw.p, raw.len, o);
	buf_free(&raw);
}

static json_t *
json_decoded(wt_imf_t *m, const uint8_t *p, size_t n)
{
	m->dec.len = 0;
	decode_2047(p, n, &m->dec);
	return wt_json_bytes(m->dec.p ? m->dec.p : (const uint8_t *)"", m->dec.len);
}

/* ---- Content-Type / Content-Disposition parameters (RFC 2045, 2231) ----- */

/* Skips white space and (nested) comments. */
static void
skip_cfws(wt_cursor_t *c)
{
	const uint8_t *b;
	int depth = 0;
	while ((b = wt_cur_peek(c, 1)) != NULL) {
		if (depth > 0) {
			if (b[0] == '\\')
				wt_cur_skip(c, 1);
			else if (b[0] == '(')
				depth++;
			else if (b[0] == ')')
				depth--;
		} else if (b[0] == '(') {
			depth = 1;
		} else if (!is_wsp(b[0]) && b[0] != '\r' && b[0] != '\n') {
			return;
		}
		if (wt_cur_left(c) > 0)
			wt_cur_skip(c, 1);
	}
}

/* A parameter value: a token or a quoted string (RFC 2045 §5.1). */
static void
read_value(wt_cursor_t *c, imf_buf_t *out, size_t max)
{
	const uint8_t *b = wt_cur_peek(c, 1);
	if (!b)
		return;
	if (b[0] == '"') {
		wt_cur_skip(c, 1);
		while ((b = wt_cur_peek(c, 1)) != NULL) {
			wt_cur_skip(c, 1);
			if (b[0] == '"')
				return;
			if (b[0] == '\\' && wt_cur_has(c, 1))
				b = wt_cur_take(c, 1);
			buf_add_capped(out, b, 1, max);
		}
		return;
	}
	/* A token; be lenient and also take what a careless mailer puts in
	 * an unquoted file name, up to ";" or the end. */
	while ((b = wt_cur_peek(c, 1)) != NULL && b[0] != ';') {
		buf_add_capped(out, b, 1, max);
		wt_cur_skip(c, 1);
	}
	while (out->len > 0 && is_wsp(out->p[out->len - 1]))
		out->len--;
}

/* The "type/subtype" (or disposition type) before the first ";", lower-cased. */
static void
mime_type(const uint8_t *p, size_t n, char *out, size_t cap)
{
	wt_cursor_t c = wt_cur_make(p, n);
	const uint8_t *b;
	size_t k = 0;
	skip_cfws(&c);
	while ((b = wt_cur_peek(&c, 1)) != NULL && b[0] != ';' && b[0] != '(') {
		if (!is_wsp(b[0]) && b[0] != '\r' && b[0] != '\n' && k + 1 < cap &&
		    b[0] > ' ' && b[0] < 0x7F)
			out[k++] = (char)lower(b[0]);
		wt_cur_skip(&c, 1);
	}
	out[k] = '\0';
}

#define IMF_MAX_SECTIONS 64

/*
 * Finds parameter `name` (lower-case) and writes its value as UTF-8.
 * RFC 2231: name*=charset'lang'%XX, continuations name*0, name*1*, ...
 * An extended value wins over a plain one.  Returns false when absent.
 */
static bool
mime_param(const uint8_t *p, size_t n, const char *name, imf_buf_t *out)
{
	wt_cursor_t c = wt_cur_make(p, n);
	imf_buf_t plain = { 0 }, val = { 0 };
	imf_buf_t sect[IMF_MAX_SECTIONS];
	bool sect_enc[IMF_MAX_SECTIONS], sect_have[IMF_MAX_SECTIONS];
	bool have_plain = false, have_ext = false;
	const uint8_t *b;
	size_t nl = strlen(name), i;

	memset(sect, 0, sizeof sect);
	memset(sect_have, 0, sizeof sect_have);
	memset(sect_enc, 0, sizeof sect_enc);
	/* skip the type */
	while ((b = wt_cur_peek(&c, 1)) != NULL && b[0] != ';') {
		if (b[0] == '"') {
			imf_buf_t junk = { 0 };
			read_value(&c, &junk, 0);
			continue;
		}
		wt_cur_skip(&c, 1);
	}
	while (wt_cur_has(&c, 1)) {
		uint8_t attr[128];
		size_t al = 0;
		wt_cur_skip(&c, 1); /* ';' */
		skip_cfws(&c);
		while ((b = wt_cur_peek(&c, 1)) != NULL && b[0] != '=' &&
		       b[0] != ';' && !is_wsp(b[0])) {
			if (al < sizeof attr)
				attr[al++] = lower(b[0]);
			wt_cur_skip(&c, 1);
		}
		skip_cfws(&c);
		b = wt_cur_peek(&c, 1);
		if (!b || b[0] != '=')
			goto next;
		wt_cur_skip(&c, 1);
		skip_cfws(&c);
		val.len = 0;
		read_value(&c, &val, IMF_PART_HDR_CAP);
		if (al == nl && memcmp(attr, name, nl) == 0) {
			if (!have_plain) {
				plain.len = 0;
				buf_add_capped(&plain, val.p, val.len, IMF_PART_HDR_CAP);
				have_plain = true;
			}
		} else if (al > nl && memcmp(attr, name, nl) == 0 && attr[nl] == '*') {
			/* name*  or name*N or name*N* */
			size_t k = nl + 1, idx = 0;
			bool enc = false, digits = false;
			while (k < al && attr[k] >= '0' && attr[k] <= '9') {
				idx = idx * 10 + (size_t)(attr[k] - '0');
				if (idx >= IMF_MAX_SECTIONS)
					idx = IMF_MAX_SECTIONS;
				digits = true;
				k++;
			}
			if (!digits) {
				enc = true; /* name* */
				idx = 0;
			} else if (k < al && attr[k] == '*') {
				enc = true;
				k++;
			}
			if (k == al && idx < IMF_MAX_SECTIONS && !sect_have[idx]) {
				buf_add_capped(&sect[idx], val.p, val.len, IMF_PART_HDR_CAP);
				sect_have[idx] = true;
				sect_enc[idx] = enc;
				have_ext = true;
			}
		}
	next:
		while ((b = wt_cur_peek(&c, 1)) != NULL && b[0] != ';') {
			if (b[0] == '"') {
				imf_buf_t junk = { 0 };
				read_value(&c, &junk, 0);
				continue;
			}
			wt_cur_skip(&c, 1);
		}
	}

	if (have_ext && sect_have[0]) {
		/* RFC 2231 §4: the first section may start with charset'lang' */
		char cs[48] = "";
		imf_buf_t bytes = { 0 };
		for (i = 0; i < IMF_MAX_SECTIONS && sect_have[i]; i++) {
			wt_cursor_t s = wt_cur_make(sect[i].p, sect[i].len);
			if (i == 0 && sect_enc[0]) {
				ptrdiff_t q1 = wt_cur_find(&s, '\'');
				if (q1 >= 0) {
					wt_cursor_t r = s;
					size_t k;
					wt_cur_skip(&r, (size_t)q1 + 1);
					ptrdiff_t q2 = wt_cur_find(&r, '\'');
					if (q2 >= 0) {
						for (k = 0; k < (size_t)q1 && k + 1 < sizeof cs; k++)
							cs[k] = (char)lower(sect[0].p[k]);
						cs[k] = '\0';
						wt_cur_skip(&r, (size_t)q2 + 1);
						s = r;
					}
				}
			}
			while (wt_cur_left(&s) > 0) {
				uint8_t ch = wt_cur_u8(&s);
				if (sect_enc[i] && ch == '%' && wt_cur_has(&s, 2)) {
					const uint8_t *h = wt_cur_peek(&s, 2);
					int a = hex_val(h[0]), d = hex_val(h[1]);
					if (a >= 0 && d >= 0) {
						ch = (uint8_t)(a << 4 | d);
						wt_cur_skip(&s, 2);
					}
				}
				buf_add_capped(&bytes, &ch, 1, IMF_PART_HDR_CAP);
			}
		}
		to_utf8(cs, bytes.p, bytes.len, out);
		buf_free(&bytes);
	} else if (have_plain) {
		/* Many mailers put RFC 2047 words in file names (not allowed
		 * by §5 of RFC 2047, but everywhere); decode them. */
		decode_2047(plain.p, plain.len, out);
	}
	for (i = 0; i < IMF_MAX_SECTIONS; i++)
		buf_free(&sect[i]);
	buf_free(&plain);
	buf_free(&val);
	return have_plain || (have_ext && sect_have[0]);
}

/* ---- the MIME walker ------------------------------------------------------ */

static void
ent_headers_done(wt_imf_t *m, imf_ent_t *e, uint64_t body_start, bool may_push);

static void
push_entity(wt_imf_t *m, unsigned depth, bool parent_digest, uint64_t start)
{
	imf_ent_t *e;
	if (m->n >= IMF_MAX_DEPTH) {
		m->truncated = true;
		return;
	}
	e = &m->st[m->n++];
	memset(e, 0, sizeof *e);
	e->state = ENT_HEADERS;
	e->kind = ENT_LEAF;
	e->depth = depth;
	e->parent_digest = parent_digest;
	e->body_start = start;
	m->field.len = 0;
	m->field_on = false;
	m->p_ct.len = m->p_cte.len = m->p_cd.len = 0;
	m->have_ct = m->have_cte = m->have_cd = false;
}

static void
set_size(json_t *part, uint64_t start, uint64_t end)
{
	if (part)
		json_object_set_new(part, "size",
				    json_integer((json_int_t)(end > start ? end - start : 0)));
}

/* Pops the top entity, which ends at message offset `end`. */
static void
ent_close(wt_imf_t *m, uint64_t end)
{
	imf_ent_t *e = &m->st[m->n - 1];
	if (e->state == ENT_HEADERS)
		ent_headers_done(m, e, end, false);
	set_size(e->part, e->body_start, end);
	m->n--;
}

static void field_end(wt_imf_t *m, imf_ent_t *e);

static void
ent_headers_done(wt_imf_t *m, imf_ent_t *e, uint64_t body_start, bool may_push)
{
	char ct[128], disp[64];
	imf_buf_t v = { 0 };
	json_t *part = NULL;

	field_end(m, e);
	if (m->have_ct)
		mime_type(m->p_ct.p, m->p_ct.len, ct, sizeof ct);
	else
		ct[0] = '\0';
	if (ct[0] == '\0' || strchr(ct, '/') == NULL)
		/* RFC 2045 §5.2 and RFC 2046 §5.1.5 */
		snprintf(ct, sizeof ct, "%s", e->parent_digest ? "message/rfc822" : "text/plain");

	if (json_array_size(m->parts) < IMF_MAX_PARTS) {
		part = json_object();
		json_object_set_new(part, "content_type", json_string(ct));
		v.len = 0;
		if (m->have_ct && mime_param(m->p_ct.p, m->p_ct.len, "charset", &v)) {
			size_t i;
			for (i = 0; i < v.len; i++)
				v.p[i] = lower(v.p[i]);
			json_object_set_new(part, "charset", wt_json_bytes(v.p, v.len));
		} else {
			json_object_set_new(part, "charset", json_null());
		}
		if (m->have_cte) {
			char te[64];
			mime_type(m->p_cte.p, m->p_cte.len, te, sizeof te);
			json_object_set_new(part, "transfer_encoding", json_string(te));
		} else {
			json_object_set_new(part, "transfer_encoding", json_null());
		}
		disp[0] = '\0';
		if (m->have_cd)
			mime_type(m->p_cd.p, m->p_cd.len, disp, sizeof disp);
		json_object_set_new(part, "disposition",
				    disp[0] ? json_string(disp) : json_null());
		v.len = 0;
		if ((m->have_cd && mime_param(m->p_cd.p, m->p_cd.len, "filename", &v)) ||
		    (m->have_ct && mime_param(m->p_ct.p, m->p_ct.len, "name", &v)))
			json_object_set_new(part, "filename", wt_json_bytes(v.p ? v.p : (const uint8_t *)"", v.len));
		else
			json_object_set_new(part, "filename", json_null());
		json_object_set_new(part, "size", json_integer(0));
		json_object_set_new(part, "depth", json_integer(e->depth));
		json_array_append_new(m->parts, part);
	} else {
		m->truncated = true;
	}
	e->part = part;
	e->state = ENT_BODY;
	e->body_start = body_start;

	if (strncmp(ct, "multipart/", 10) == 0) {
		v.len = 0;
		if (m->have_ct && mime_param(m->p_ct.p, m->p_ct.len, "boundary", &v) &&
		    v.len > 0 && v.len <= IMF_BOUNDARY_MAX) {
			e->kind = ENT_MULTIPART;
			memcpy(e->boundary, v.p, v.len);
			e->blen = v.len;
			e->digest = strcmp(ct, "multipart/digest") == 0;
		}
	} else if ((strcmp(ct, "message/rfc822") == 0 ||
		    strcmp(ct, "message/global") == 0) && may_push) {
		/* An encapsulated message (RFC 2046 §5.2.1) unless it is
		 * base64/quoted-printable encoded, which we do not decode. */
		char te[64] = "";
		if (m->have_cte)
			mime_type(m->p_cte.p, m->p_cte.len, te, sizeof te);
		if (strcmp(te, "base64") != 0 && strcmp(te, "quoted-printable") != 0) {
			e->kind = ENT_MESSAGE;
			buf_free(&v);
			push_entity(m, e->depth + 1, false, body_start);
			return;
		}
	}
	buf_free(&v);
}

/* Does the line delimit multipart e?  1: close delimiter, 0: delimiter,
 * -1: no (RFC 2046 §5.1.1: "--" boundary ["--"] transport-padding). */
static int
boundary_match(const uint8_t *l, size_t kl, size_t full, const imf_ent_t *e)
{
	wt_cursor_t c = wt_cur_make(l, kl);
	const uint8_t *b;
	int closing = 0;
	if (full != kl) /* longer than a boundary line can be */
		return -1;
	if (!wt_cur_skip(&c, 2))
		return -1;
	b = wt_cur_take(&c, e->blen);
	if (!b || memcmp(b, e->boundary, e->blen) != 0)
		return -1;
	b = wt_cur_peek(&c, 2);
	if (b && b[0] == '-' && b[1] == '-') {
		closing = 1;
		wt_cur_skip(&c, 2);
	}
	while ((b = wt_cur_peek(&c, 1)) != NULL) {
		if (!is_wsp(b[0]))
			return -1;
		wt_cur_skip(&c, 1);
	}
	return closing;
}

/* ---- header fields -------------------------------------------------------- */

/* Fields whose value is structured: RFC 2047 words are not decoded there. */
static bool
is_structured(const uint8_t *name, size_t nl)
{
	static const char *const s[] = { "received", "message-id", "in-reply-to",
		"references", "date", "content-type", "content-transfer-encoding",
		"content-disposition", "content-id", "mime-version", "return-path",
		"dkim-signature", "arc-seal", "arc-message-signature",
		"authentication-results", "arc-authentication-results",
		"received-spf", "delivered-to", "resent-date", "resent-message-id",
		NULL };
	size_t i;
	for (i = 0; s[i]; i++)
		if (eq_ci(name, nl, s[i]))
			return true;
	return false;
}

/* The field in m->field is complete: interpret it. */
static void
field_end(wt_imf_t *m, imf_ent_t *e)
{
	wt_cursor_t c;
	ptrdiff_t colon;
	const uint8_t *name, *val;
	size_t nl, vl;
	bool root = (e == &m->st[0]);

	if (!m->field_on)
		return;
	m->field_on = false;
	c = wt_cur_make(m->field.p, m->field.len);
	colon = wt_cur_find(&c, ':');
	if (colon < 0)
		return;
	name = wt_cur_take(&c, (size_t)colon);
	nl = (size_t)colon;
	wt_cur_skip(&c, 1);
	/* obs-optional (RFC 5322 §4.5.3): white space before the colon */
	while (nl > 0 && is_wsp(name[nl - 1]))
		nl--;
	while ((val = wt_cur_peek(&c, 1)) != NULL && is_wsp(val[0]))
		wt_cur_skip(&c, 1);
	vl = wt_cur_left(&c);
	val = vl ? wt_cur_take(&c, vl) : (const uint8_t *)"";
	while (vl > 0 && (is_wsp(val[vl - 1]) || val[vl - 1] == '\r'))
		vl--;

	if (eq_ci(name, nl, "content-type") && !m->have_ct) {
		buf_add_capped(&m->p_ct, val, vl, IMF_PART_HDR_CAP);
		m->have_ct = true;
	} else if (eq_ci(name, nl, "content-transfer-encoding") && !m->have_cte) {
		buf_add_capped(&m->p_cte, val, vl, IMF_PART_HDR_CAP);
		m->have_cte = true;
	} else if (eq_ci(name, nl, "content-disposition") && !m->have_cd) {
		buf_add_capped(&m->p_cd, val, vl, IMF_PART_HDR_CAP);
		m->have_cd = true;
	}
	if (!root)
		return;

	/*
	 * The value as JSON, made once: "headers" has it, and so do the
	 * single fields (From, Subject, ... decoded like it, the structured
	 * ones raw like it) and "received".
	 */
	{
		static const char *const named[] = { "from", "to", "cc", "subject",
			"date", "message-id", "in-reply-to", "return-path",
			"user-agent", "x-mailer", "content-type", NULL };
		json_t **slot[] = { &m->from, &m->to, &m->cc, &m->subject, &m->date,
			&m->message_id, &m->in_reply_to, &m->return_path,
			&m->user_agent, &m->user_agent, &m->content_type };
		json_t **to = NULL, *hv = NULL;
		bool keep = m->n_fields < IMF_MAX_FIELDS &&
			    m->kept_bytes + nl + vl <= IMF_HDR_TOTAL_CAP;
		size_t i;

		for (i = 0; named[i]; i++) {
			if (eq_ci(name, nl, named[i])) {
				to = slot[i];
				break;
			}
		}
		if (keep || (to && !*to))
			hv = is_structured(name, nl) ? wt_json_bytes(val, vl) : json_decoded(m, val, vl);
		if (keep) {
			json_t *h = json_object();
			m->n_fields++;
			m->kept_bytes += nl + vl;
			json_object_set_new(h, "name", wt_json_bytes(name, nl));
			json_object_set(h, "value", hv);
			json_array_append_new(m->headers, h);
			if (eq_ci(name, nl, "received"))
				json_array_append(m->received, hv);
		} else {
			m->truncated = true;
		}
		if (to && !*to)
			*to = json_incref(hv);
		json_decref(hv);
	}
}

static void imf_line(wt_imf_t *m, const uint8_t *l, size_t kl, size_t full,
		     size_t eol);

/* One line of the header section of the entity on top of the stack. */
static void
header_line(wt_imf_t *m, const uint8_t *l, size_t kl, size_t full,
	    size_t eol, uint64_t start, uint64_t next)
{
	imf_ent_t *e = &m->st[m->n - 1];
	bool root = (m->n == 1);

	if (full != kl)
		m->truncated = true;
	if (full == 0) {
		/* the empty line ends the header section (RFC 5322 §2.1) */
		ent_headers_done(m, e, next, true);
		if (root && !m->root_hdr_done) {
			m->root_hdr_done = true;
			m->header_size = next;
		}
		return;
	}
	if (is_wsp(l[0])) {
		/* unfolding (§2.2.3): the CRLF goes, the white space stays */
		if (m->field_on &&
		    !buf_add_capped(&m->field, l, kl, IMF_FIELD_CAP))
			m->truncated = true;
		return;
	}
	field_end(m, e);
	if (memchr(l, ':', kl) == NULL) {
		if (root && start == 0 && kl >= 5 && memcmp(l, "From ", 5) == 0)
			return; /* an mbox "From " line before the header */
		/* Not a field: the header section ended without its empty
		 * line; this line is the first of the body. */
		ent_headers_done(m, e, start, true);
		if (root && !m->root_hdr_done) {
			m->root_hdr_done = true;
			m->header_size = start;
		}
		if (m->n > 0 && m->st[m->n - 1].state == ENT_HEADERS)
			header_line(m, l, kl, full, eol, start, next);
		return;
	}
	m->field.len = 0;
	m->field_on = true;
	if (!buf_add_capped(&m->field, l, kl, IMF_FIELD_CAP))
		m->truncated = true;
}

/* One complete line: kl bytes kept of its full length, eol = 0, 1 or 2. */
static void
imf_line(wt_imf_t *m, const uint8_t *l, size_t kl, size_t full, size_t eol)
{
	uint64_t start = m->line_start;
	uint64_t next = start + full + eol;
	size_t i;

	if (m->n == 0)
		goto done;
	if (kl >= 2 && l[0] == '-' && l[1] == '-') {
		for (i = m->n; i-- > 0;) {
			imf_ent_t *e = &m->st[i];
			int closing;
			uint64_t end;
			if (e->kind != ENT_MULTIPART || e->state != ENT_BODY)
				continue;
			closing = boundary_match(l, kl, full, e);
			if (closing < 0)
				continue;
			/* The CRLF before a delimiter belongs to it (§5.1.1). */
			end = (start >= m->prev_eol) ? start - m->prev_eol : start;
			while (m->n > i + 1)
				ent_close(m, end);
			if (closing)
				e->state = ENT_EPILOGUE;
			else
				push_entity(m, e->depth + 1, e->digest, next);
			goto done;
		}
	}
	if (m->st[m->n - 1].state == ENT_HEADERS)
		header_line(m, l, kl, full, eol, start, next);
done:
	m->prev_eol = eol;
	m->line_start = next;
	m->any_line = true;
}

/* ---- public API ----------------------------------------------------------- */

wt_imf_t *
wt_imf_new(void)
{
	wt_imf_t *m = malloc(sizeof *m);
	if (!m)
		return NULL;
	memset(m, 0, offsetof(wt_imf_t, st));
	m->headers = json_array();
	m->received = json_array();
	m->parts = json_array();
	if (!m->headers || !m->received || !m->parts) {
		wt_imf_free(m);
		return NULL;
	}
	push_entity(m, 0, false, 0);
	return m;
}

static size_t
line_cap(const wt_imf_t *m)
{
	return (m->n > 0 && m->st[m->n - 1].state == ENT_HEADERS)
		? IMF_LINE_CAP : IMF_BODY_LINE_CAP;
}

void
wt_imf_feed(wt_imf_t *m, const uint8_t *p, size_t n)
{
	wt_cursor_t c = wt_cur_make(p, n);
	if (!m || m->finished)
		return;
	m->off += n;
	while (wt_cur_left(&c) > 0) {
		ptrdiff_t lf = wt_cur_find(&c, '\n');
		size_t take = lf < 0 ? wt_cur_left(&c) : (size_t)lf;
		const uint8_t *b = wt_cur_take(&c, take);
		size_t cap = line_cap(m);
		if (take > 0) {
			if (m->line.len < cap)
				buf_add_capped(&m->line, b, take, cap);
			m->line_full += take;
			m->line_last = b[take - 1];
		}
		if (lf >= 0) {
			size_t kl = m->line.len, full = m->line_full, eol = 1;
			wt_cur_skip(&c, 1);
			if (full > 0 && m->line_last == '\r') {
				/* the CR is part of the terminator */
				full--;
				eol = 2;
				if (kl > full)
					kl = full;
			}
			imf_line(m, m->line.p ? m->line.p : (const uint8_t *)"", kl, full, eol);
			m->line.len = 0;
			m->line_full = 0;
			m->line_last = 0;
		}
	}
}

static json_t *
or_null(json_t *v)
{
	return v ? json_incref(v) : json_null();
}

json_t *
wt_imf_finish(wt_imf_t *m)
{
	json_t *o;
	uint64_t body_size;
	if (!m)
		return json_null();
	if (!m->finished) {
		m->finished = true;
		if (m->line_full > 0) /* a last line without its LF */
			imf_line(m, m->line.p ? m->line.p : (const uint8_t *)"",
				 m->line.len, m->line_full, 0);
		if (m->n > 0 && m->st[0].state == ENT_HEADERS) {
			/* no empty line: the whole message is header */
			if (m->n == 1) {
				field_end(m, &m->st[0]);
				m->root_hdr_done = true;
				m->header_size = m->off;
			}
		}
		while (m->n > 0)
			ent_close(m, m->off);
	}
	o = json_object();
	json_object_set_new(o, "from", or_null(m->from));
	json_object_set_new(o, "to", or_null(m->to));
	json_object_set_new(o, "cc", or_null(m->cc));
	json_object_set_new(o, "subject", or_null(m->subject));
	json_object_set_new(o, "date", or_null(m->date));
	json_object_set_new(o, "message_id", or_null(m->message_id));
	json_object_set_new(o, "in_reply_to", or_null(m->in_reply_to));
	json_object_set_new(o, "return_path", or_null(m->return_path));
	json_object_set_new(o, "user_agent", or_null(m->user_agent));
	json_object_set_new(o, "content_type", or_null(m->content_type));
	/* Shared, not copied: a finished parser never changes them again. */
	json_object_set_new(o, "received", json_incref(m->received));
	json_object_set_new(o, "headers", json_incref(m->headers));
	json_object_set_new(o, "size", json_integer((json_int_t)m->off));
	json_object_set_new(o, "header_size", json_integer((json_int_t)m->header_size));
	body_size = m->off > m->header_size ? m->off - m->header_size : 0;
	json_object_set_new(o, "body_size", json_integer((json_int_t)body_size));
	json_object_set_new(o, "mime", json_incref(m->parts));
	json_object_set_new(o, "truncated", json_boolean(m->truncated));
	return o;
}

void
wt_imf_free(wt_imf_t *m)
{
	if (!m)
		return;
	buf_free(&m->line);
	buf_free(&m->field);
	buf_free(&m->p_ct);
	buf_free(&m->p_cte);
	buf_free(&m->p_cd);
	buf_free(&m->dec);
	json_decref(m->headers);
	json_decref(m->received);
	json_decref(m->parts);
	json_decref(m->from);
	json_decref(m->to);
	json_decref(m->cc);
	json_decref(m->subject);
	json_decref(m->date);
	json_decref(m->message_id);
	json_decref(m->in_reply_to);
	json_decref(m->return_path);
	json_decref(m->user_agent);
	json_decref(m->content_type);
	json_decref(m->result);
	free(m);
}
