/* \summary: IMAP4rev1 dissector (RFC 3501, RFC 9051, RFC 7888 LITERAL+, RFC 4978 COMPRESS): one record per connection */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/record.h"
#include "proto/dialogue.h"
#include "proto/dissector.h"
#include "proto/imf.h"
#include "wiretale/cursor.h"

/* Caps: every table and buffer of a connection is bounded. */
#define IMAP_LINE_CAP 65536          /* longest line kept whole */
#define IMAP_DISP_CAP 4096           /* bytes of one command/response shown */
#define IMAP_PARSE_CAP 4096          /* bytes of a command kept for parsing */
#define IMAP_LIT_KEEP 1024           /* client literals kept for parsing (LOGIN {5}) */
#define IMAP_LITERAL_MAX (1ull << 31) /* a larger literal is taken for garbage */
#define IMAP_OUTSTANDING 128         /* tagged commands awaiting completion */
#define IMAP_MAX_DIALOGUE 20000
#define IMAP_MAX_COMMANDS 20000
#define IMAP_MAX_MESSAGES 4096
#define IMAP_MAX_MAILBOXES 256
#define IMAP_UNIT_MSGS 8             /* message literals patched per response */
#define IMAP_TAG_CAP 64
#define IMAP_USER_CAP 256

#define REDACTED "[REDACTED]"

enum lit_kind {
	LK_NONE = 0,
	LK_KEEP,       /* small client literal: kept for argument parsing */
	LK_SKIP,       /* counted only */
	LK_MSG_FULL,   /* a whole message (BODY[], RFC822, APPEND) */
	LK_MSG_HEADER  /* a header section (BODY[HEADER...], RFC822.HEADER) */
};

enum cmd_kind {
	K_OTHER = 0,
	K_LOGIN,
	K_AUTHENTICATE,
	K_SELECT,
	K_EXAMINE,
	K_STARTTLS,
	K_COMPRESS,
	K_IDLE,
	K_APPEND,
	K_LOGOUT,
	K_FETCH
};

enum sasl_mech {
	SASL_OTHER = 0,
	SASL_PLAIN,
	SASL_LOGIN,
	SASL_CRAM,
	SASL_XOAUTH2,
	SASL_OAUTHBEARER
};

/* A message carried in a literal. */
typedef struct imap_msg {
	bool active;
	uint8_t kind;
	bool gap;
	bool partial;
	uint64_t index;
	uint64_t first_frame;
	uint64_t size;
	uint64_t declared;
	char section[128];
	wt_imf_t *imf;
	FILE *out;
} imap_msg_t;

/* One logical command or response: lines joined across literals. */
typedef struct imap_unit {
	bool active;
	char disp[IMAP_DISP_CAP];
	size_t disp_len;
	bool disp_trunc;
	char parse[IMAP_PARSE_CAP];
	size_t parse_len;
	bool parse_trunc;
	unsigned nlit;
	json_t *msgs[IMAP_UNIT_MSGS]; /* borrowed: entries of "messages" */
	size_t n_msgs;
} imap_unit_t;

typedef struct imap_dir {
	bool discard;           /* dropping bytes up to the next LF */
	bool discard_ends_unit; /* ... and that LF ends the command/response */
	bool resync;            /* first data after a gap: is it a line start? */
	uint64_t lit_left;
	uint64_t lit_size;
	uint64_t lit_got;
	uint8_t lit_kind;
	bool lit_sync;
	bool lit_partial;
	char lit_item[128];
	uint8_t lit_buf[IMAP_LIT_KEEP];
	size_t lit_buf_len;
	imap_msg_t msg;
	imap_unit_t u;
} imap_dir_t;

typedef struct imap_out {
	char tag[IMAP_TAG_CAP];
	uint8_t kind;
	json_t *cmd;     /* borrowed from "commands", or NULL past the cap */
	json_t *mailbox; /* borrowed from "mailboxes" (SELECT/EXAMINE) */
} imap_out_t;

typedef struct imap {
	wt_ctx_t *ctx;
	wt_flow_info_t fi;
	bool show_secrets;
	bool implicit_tls;
	bool starttls;
	uint64_t starttls_frame;
	bool compressed;
	uint64_t compress_frame;
	bool stopped; /* encrypted or compressed: nothing more is text */
	uint64_t last_frame;
	bool seen_server;

	imap_dir_t d[2];

	imap_out_t out[IMAP_OUTSTANDING];
	size_t n_out;

	/* AUTHENTICATE in progress (RFC 3501 section 6.2.2) */
	bool in_sasl;
	char sasl_tag[IMAP_TAG_CAP];
	uint8_t sasl_mech;
	unsigned sasl_steps;
	bool in_idle; /* RFC 2177: the client ends IDLE with "DONE" */
	bool starttls_pending;

	char user[IMAP_USER_CAP];
	bool have_user;
	json_t *auth;
	bool auth_pending;
	uint64_t auth_attempts;
	json_t *selected; /* borrowed: the mailbox selected last */

	wt_dialogue_t dlg;     /* the dialogue */
	json_t *commands;
	json_t *messages;
	json_t *mailboxes;
	json_t *capabilities;
	uint64_t dialogue_dropped;
	uint64_t commands_dropped;
	uint64_t messages_dropped;
	uint64_t warnings;
	uint64_t gaps;
	uint64_t gap_bytes;
	uint32_t warned;
} imap_t;

enum once {
	ONCE_UNMATCHED = 1u << 0,
	ONCE_DIALOGUE = 1u << 1,
	ONCE_COMMANDS = 1u << 2,
	ONCE_MESSAGES = 1u << 3,
	ONCE_OUTSTANDING = 1u << 4,
	ONCE_MAILBOXES = 1u << 5,
	ONCE_BADLINE = 1u << 6
};

#define imap_warn(s, pkt, code, ...)                                    \
	do {                                                            \
		(s)->warnings++;                                        \
		wt_warn((s)->ctx, (pkt), "imap", (code), __VA_ARGS__);  \
	} while (0)

static const char *
dir_name(wt_dir_t dir)
{
	return dir == WT_TO_SERVER ? "client" : "server";
}

/* A JSON string from text that came off the wire (possibly cut inside a
 * UTF-8 sequence by a cap): re-escaped so it is always valid. */
static json_t *
jstr(const char *t)
{
	return wt_json_bytes((const uint8_t *)t, strlen(t));
}

/* ---- cursor helpers ---- */

static int
cur_peek8(const wt_cursor_t *c)
{
	wt_cursor_t t = *c;
	return wt_cur_has(&t, 1) ? wt_cur_u8(&t) : -1;
}

static int
upper(int b)
{
	return b >= 'a' && b <= 'z' ? b - 32 : b;
}

static bool
cur_ieq(wt_cursor_t w, const char *s)
{
	size_t n = strlen(s), i;
	if (wt_cur_left(&w) != n)
		return false;
	for (i = 0; i < n; i++)
		if (upper(wt_cur_u8(&w)) != (uint8_t)s[i])
			return false;
	return true;
}

static bool
cur_iprefix(wt_cursor_t w, const char *s)
{
	size_t n = strlen(s);
	if (!wt_cur_has(&w, n))
		return false;
	w.len = w.off + n;
	return cur_ieq(w, s);
}

static bool
cur_uint(wt_cursor_t w, uint64_t *v)
{
	uint64_t x = 0;
	size_t n = wt_cur_left(&w);
	if (n == 0 || n > 19)
		return false;
	while (wt_cur_has(&w, 1)) {
		int b = wt_cur_u8(&w);
		if (b < '0' || b > '9')
			return false;
		x = x * 10 + (uint64_t)(b - '0');
	}
	*v = x;
	return true;
}

/* Next space-separated token. */
static bool
cur_token(wt_cursor_t *c, wt_cursor_t *tok)
{
	ptrdiff_t sp;
	while (cur_peek8(c) == ' ')
		wt_cur_skip(c, 1);
	if (!wt_cur_has(c, 1))
		return false;
	sp = wt_cur_find(c, ' ');
	*tok = wt_cur_sub(c, sp < 0 ? wt_cur_left(c) : (size_t)sp);
	return true;
}

static void
cur_skip_spaces(wt_cursor_t *c)
{
	while (cur_peek8(c) == ' ')
		wt_cur_skip(c, 1);
}

static const uint8_t *
cur_ptr(const wt_cursor_t *c)
{
	return wt_cur_peek(c, wt_cur_left(c));
}

/*
 * An astring (RFC 3501 section 9: atom / quoted / literal), decoded into out.
 * Literals reach this parser already turned into quoted strings (or "{N}"
 * when too big to keep), so only atoms and quoted strings are handled.
 */
static bool
cur_astring(wt_cursor_t *c, char *out, size_t cap)
{
	size_t n = 0;
	int b;
	cur_skip_spaces(c);
	if (!wt_cur_has(c, 1) || cap == 0)
		return false;
	if (cur_peek8(c) == '"') {
		wt_cur_skip(c, 1);
		while ((b = cur_peek8(c)) >= 0 && b != '"') {
			wt_cur_skip(c, 1);
			if (b == '\\' && wt_cur_has(c, 1))
				b = wt_cur_u8(c);
			if (n + 1 < cap)
				out[n++] = (char)b;
		}
		if (b == '"')
			wt_cur_skip(c, 1);
	} else {
		while ((b = cur_peek8(c)) >= 0 && b != ' ' && b != '(' &&
		       b != ')') {
			wt_cur_skip(c, 1);
			if (n + 1 < cap)
				out[n++] = (char)b;
		}
	}
	out[n] = '\0';
	return true;
}

/* ---- base64 and SASL (RFC 4648, RFC 4422) ---- */

static int
b64_val(int c)
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

static long
b64_decode(wt_cursor_t in, uint8_t *out, size_t cap)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t n = 0;
	while (wt_cur_has(&in, 1)) {
		int c = wt_cur_u8(&in), v;
		if (c == '=')
			break;
		v = b64_val(c);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n >= cap)
				return -1;
			out[n++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	return (long)n;
}

static uint8_t
sasl_mech_of(wt_cursor_t w)
{
	if (cur_ieq(w, "PLAIN"))
		return SASL_PLAIN;
	if (cur_ieq(w, "LOGIN"))
		return SASL_LOGIN;
	if (cur_ieq(w, "CRAM-MD5"))
		return SASL_CRAM;
	if (cur_ieq(w, "XOAUTH2"))
		return SASL_XOAUTH2;
	if (cur_ieq(w, "OAUTHBEARER"))
		return SASL_OAUTHBEARER;
	return SASL_OTHER;
}

static void
set_user(imap_t *s, wt_cursor_t w)
{
	size_t n = wt_cur_left(&w);
	if (n == 0)
		return;
	wt_escape_bytes(cur_ptr(&w), n, s->user, sizeof s->user);
	s->have_user = true;
	if (s->auth)
		json_object_set_new(s->auth, "user", json_string(s->user));
}

/* The user name inside a SASL response where the mechanism carries one in
 * the clear: PLAIN (RFC 4616), LOGIN (first response), CRAM-MD5 (RFC 2195),
 * XOAUTH2 ("user=NAME^A..."), OAUTHBEARER (RFC 7628 gs2 header "n,a=NAME,"). */
static void
sasl_response(imap_t *s, wt_cursor_t b64)
{
	uint8_t buf[1024];
	long n;
	wt_cursor_t d;
	ptrdiff_t z;
	unsigned step = s->sasl_steps++;
	if (wt_cur_left(&b64) == 0 || cur_ieq(b64, "="))
		return;
	n = b64_decode(b64, buf, sizeof buf);
	if (n <= 0)
		return;
	d = wt_cur_make(buf, (size_t)n);
	switch (s->sasl_mech) {
	case SASL_PLAIN:
		if ((z = wt_cur_find(&d, 0)) < 0)
			return;
		wt_cur_skip(&d, (size_t)z + 1);
		if ((z = wt_cur_find(&d, 0)) < 0)
			return;
		set_user(s, wt_cur_sub(&d, (size_t)z));
		break;
	case SASL_LOGIN:
		if (step == 0)
			set_user(s, d);
		break;
	case SASL_CRAM:
		if ((z = wt_cur_find(&d, ' ')) > 0)
			set_user(s, wt_cur_sub(&d, (size_t)z));
		break;
	case SASL_XOAUTH2:
		if (cur_iprefix(d, "user=")) {
			wt_cur_skip(&d, 5);
			z = wt_cur_find(&d, 1);
			set_user(s, wt_cur_sub(&d, z < 0 ? wt_cur_left(&d) : (size_t)z));
		}
		break;
	case SASL_OAUTHBEARER:
		if ((z = wt_cur_find(&d, ',')) < 0)
			return;
		wt_cur_skip(&d, (size_t)z + 1);
		if (cur_iprefix(d, "a=")) {
			wt_cur_skip(&d, 2);
			z = wt_cur_find(&d, ',');
			set_user(s, wt_cur_sub(&d, z < 0 ? wt_cur_left(&d) : (size_t)z));
		}
		break;
	default:
		break;
	}
}

static void
auth_begin(imap_t *s, const char *mech)
{
	json_decref(s->auth);
	s->auth = json_object();
	json_object_set_new(s->auth, "mechanism", json_string(mech));
	json_object_set_new(s->auth, "user", json_null());
	json_object_set_new(s->auth, "success", json_null());
	s->auth_pending = true;
	s->auth_attempts++;
}

static void
auth_end(imap_t *s, bool ok)
{
	if (s->auth && s->auth_pending)
		json_object_set_new(s->auth, "success", json_boolean(ok));
	s->auth_pending = false;
}

/* ---- unit text buffers ---- */

static void
disp_add(imap_unit_t *u, const char *p, size_t n)
{
	size_t room = sizeof u->disp - 1 - u->disp_len;
	if (n > room) {
		n = room;
		u->disp_trunc = true;
	}
	memcpy(u->disp + u->disp_len, p, n);
	u->disp_len += n;
	u->disp[u->disp_len] = '\0';
}

/* Wire bytes into the display: escaped so it stays valid UTF-8. */
static void
disp_add_wire(imap_unit_t *u, wt_cursor_t w)
{
	char tmp[IMAP_DISP_CAP];
	size_t n = wt_cur_left(&w), k;
	if (u->disp_len + 1 >= sizeof u->disp) {
		if (n)
			u->disp_trunc = true;
		return;
	}
	k = wt_escape_bytes(cur_ptr(&w), n, tmp, sizeof u->disp - u->disp_len);
	if (k < n)
		u->disp_trunc = true; /* escaping only grows: some were cut */
	disp_add(u, tmp, k);
}

static void
parse_add(imap_unit_t *u, const void *p, size_t n)
{
	size_t room = sizeof u->parse - 1 - u->parse_len;
	if (n > room) {
		n = room;
		u->parse_trunc = true;
	}
	if (n)
		memcpy(u->parse + u->parse_len, p, n);
	u->parse_len += n;
	u->parse[u->parse_len] = '\0';
}

static void
unit_reset(imap_unit_t *u)
{
	u->active = true;
	u->disp_len = 0;
	u->disp[0] = '\0';
	u->disp_trunc = false;
	u->parse_len = 0;
	u->parse[0] = '\0';
	u->parse_trunc = false;
	u->nlit = 0;
	u->n_msgs = 0;
}

/* ---- records ---- */

static void
dialogue_add(imap_t *s, const wt_pkt_t *pkt, wt_dir_t dir, const char *text,
	     bool truncated)
{
	if (s->dlg.n >= IMAP_MAX_DIALOGUE) {
		s->dialogue_dropped++;
		if (!(s->warned & ONCE_DIALOGUE)) {
			s->warned |= ONCE_DIALOGUE;
			imap_warn(s, pkt, "IMAP_DIALOGUE_CAP",
				  "more than %d dialogue entries; the rest are counted, not kept",
				  IMAP_MAX_DIALOGUE);
		}
		return;
	}
	wt_dialogue_push(&s->dlg, pkt, dir, (const uint8_t *)text, strlen(text), truncated);
}

static void
dialogue_wire(imap_t *s, const wt_pkt_t *pkt, wt_dir_t dir, wt_cursor_t line)
{
	imap_unit_t tmp;
	tmp.disp_len = 0;
	tmp.disp[0] = '\0';
	tmp.disp_trunc = false;
	disp_add_wire(&tmp, line);
	dialogue_add(s, pkt, dir, tmp.disp, tmp.disp_trunc);
}

/* ---- messages in literals ---- */

static void
msg_begin(imap_t *s, imap_dir_t *d, uint8_t kind, const char *section,
	  bool partial, uint64_t size, const wt_pkt_t *pkt)
{
	imap_msg_t *m = &d->msg;
	memset(m, 0, sizeof *m);
	m->active = true;
	m->kind = kind;
	m->partial = partial;
	m->declared = size;
	m->first_frame = pkt->frame;
	snprintf(m->section, sizeof m->section, "%s", section);
	m->imf = wt_imf_new();
	m->index = wt_message_next(s->ctx, &m->out);
}

static void
msg_bytes(imap_dir_t *d, const uint8_t *p, size_t n)
{
	imap_msg_t *m = &d->msg;
	m->size += n;
	if (m->imf)
		wt_imf_feed(m->imf, p, n);
	if (m->out && n > 0 && fwrite(p, 1, n, m->out) != n)
		m->out = NULL;
}

static void
msg_end(imap_t *s, wt_dir_t dir, const wt_pkt_t *pkt)
{
	imap_dir_t *d = &s->d[dir];
	imap_msg_t *m = &d->msg;
	json_t *e, *parsed;
	if (!m->active)
		return;
	m->active = false;
	parsed = m->imf ? wt_imf_finish(m->imf) : NULL;
	if (m->imf)
		wt_imf_free(m->imf);
	m->imf = NULL;
	if (m->out)
		fflush(m->out);
	if (json_array_size(s->messages) >= IMAP_MAX_MESSAGES) {
		s->messages_dropped++;
		if (!(s->warned & ONCE_MESSAGES)) {
			s->warned |= ONCE_MESSAGES;
			imap_warn(s, pkt, "IMAP_MESSAGES_CAP",
				  "more than %d messages; the rest are counted, not kept",
				  IMAP_MAX_MESSAGES);
		}
		json_decref(parsed);
		return;
	}
	e = json_object();
	json_object_set_new(e, "command",
			    json_string(dir == WT_TO_SERVER ? "APPEND" : "FETCH"));
	json_object_set_new(e, "uid", json_null());
	json_object_set_new(e, "seq", json_null());
	json_object_set_new(e, "section",
			    dir == WT_TO_SERVER ? json_null() : json_string(m->section));
	json_object_set_new(e, "headers_only", json_boolean(m->kind == LK_MSG_HEADER));
	json_object_set_new(e, "partial", json_boolean(m->partial));
	json_object_set_new(e, "mailbox",
			    s->selected ? json_incref(json_object_get(s->selected, "name"))
					: json_null());
	json_object_set_new(e, "frame",
			    json_integer((json_int_t)(pkt ? pkt->frame : s->last_frame)));
	json_object_set_new(e, "first_frame", json_integer((json_int_t)m->first_frame));
	json_object_set_new(e, "size", json_integer((json_int_t)m->size));
	json_object_set_new(e, "complete",
			    json_boolean(!m->gap && m->size == m->declared));
	json_object_set_new(e, "message", parsed ? parsed : json_null());
	json_object_set_new(e, "index",
			    m->index ? json_integer((json_int_t)m->index) : json_null());
	json_array_append_new(s->messages, e);
	if (d->u.n_msgs < IMAP_UNIT_MSGS)
		d->u.msgs[d->u.n_msgs++] = e;
}

/* ---- literals ---- */

/*
 * Does the line end with a literal announcement "{N}" or "{N+}" (RFC 3501
 * section 4.3, RFC 7888)?  Sets *size, *sync and *text_len (the length of
 * the line without the announcement).
 */
static bool
literal_suffix(wt_cursor_t line, uint64_t *size, bool *sync, size_t *text_len)
{
	uint8_t tail[24];
	size_t n = wt_cur_left(&line), k = n < sizeof tail ? n : sizeof tail;
	size_t i, open = SIZE_MAX, end;
	wt_cursor_t t = line;
	uint64_t v = 0;
	wt_cur_skip(&t, n - k);
	if (k < 3 || !wt_cur_copy(&t, tail, k) || tail[k - 1] != '}')
		return false;
	for (i = k - 1; i-- > 0;)
		if (tail[i] == '{') {
			open = i;
			break;
		}
	if (open == SIZE_MAX)
		return false;
	end = k - 1;
	*sync = true;
	if (tail[end - 1] == '+') {
		*sync = false;
		end--;
	}
	if (end <= open + 1 || end - open - 1 > 12)
		return false;
	for (i = open + 1; i < end; i++) {
		if (tail[i] < '0' || tail[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(tail[i] - '0');
	}
	*size = v;
	*text_len = n - (k - open);
	return true;
}

/*
 * The fetch item a server literal belongs to, from the text before "{N}":
 * "BODY[]", "BODY[HEADER.FIELDS (DATE FROM)]", "RFC822", "BODY[]<0>" ...
 * (RFC 3501 section 7.4.2).  Returns the kind of literal.
 */
static uint8_t
fetch_item(wt_cursor_t before, char *item, size_t cap, bool *partial)
{
	uint8_t b[512];
	size_t n = wt_cur_left(&before), k = n < sizeof b ? n : sizeof b;
	size_t end, start, i;
	int depth = 0;
	wt_cursor_t t = before;
	char up[512];

	item[0] = '\0';
	*partial = false;
	wt_cur_skip(&t, n - k);
	if (!wt_cur_copy(&t, b, k))
		return LK_SKIP;
	end = k;
	while (end > 0 && b[end - 1] == ' ')
		end--;
	if (end == 0)
		return LK_SKIP;
	i = end;
	if (b[i - 1] == '>') {
		/* partial fetch origin "<0>" */
		while (i > 0 && b[i - 1] != '<')
			i--;
		if (i == 0)
			return LK_SKIP;
		i--;
		*partial = true;
	}
	if (i > 0 && b[i - 1] == ']') {
		while (i > 0) {
			i--;
			if (b[i] == ']')
				depth++;
			else if (b[i] == '[' && --depth == 0)
				break;
		}
		if (depth != 0)
			return LK_SKIP;
	}
	start = i;
	while (start > 0 && b[start - 1] != ' ' && b[start - 1] != '(')
		start--;
	if (end - start >= cap || end - start >= sizeof up)
		return LK_SKIP;
	for (i = start; i < end; i++) {
		item[i - start] = (char)b[i];
		up[i - start] = (char)upper(b[i]);
	}
	item[end - start] = '\0';
	up[end - start] = '\0';
	if (strcmp(up, "RFC822") == 0)
		return LK_MSG_FULL;
	if (strcmp(up, "RFC822.HEADER") == 0)
		return LK_MSG_HEADER;
	if (strncmp(up, "BODY[]", 6) == 0 || strncmp(up, "BINARY[]", 8) == 0 ||
	    strncmp(up, "BODY.PEEK[]", 11) == 0)
		return LK_MSG_FULL;
	if (strncmp(up, "BODY[HEADER]", 12) == 0 ||
	    strncmp(up, "BODY[HEADER.FIELDS", 18) == 0 ||
	    strncmp(up, "BODY.PEEK[HEADER", 16) == 0)
		return LK_MSG_HEADER;
	return LK_SKIP;
}

/* Does the command being assembled already have a mailbox argument, so that
 * a literal now is the message of an APPEND (RFC 3501 section 6.3.11)? */
static bool
append_message_literal(const imap_unit_t *u)
{
	wt_cursor_t c = wt_cur_make(u->parse, u->parse_len), tag, cmd, mbox;
	return cur_token(&c, &tag) && cur_token(&c, &cmd) &&
	       cur_ieq(cmd, "APPEND") && cur_token(&c, &mbox);
}

static void
literal_begin(imap_t *s, wt_dir_t dir, uint64_t size, bool sync,
	      wt_cursor_t before, const wt_pkt_t *pkt)
{
	imap_dir_t *d = &s->d[dir];
	char item[128];
	bool partial = false;
	uint8_t kind;

	d->lit_left = size;
	d->lit_size = size;
	d->lit_got = 0;
	d->lit_sync = sync;
	d->lit_buf_len = 0;
	d->u.nlit++;
	if (dir == WT_TO_SERVER) {
		if (append_message_literal(&d->u))
			kind = LK_MSG_FULL;
		else if (size <= IMAP_LIT_KEEP)
			kind = LK_KEEP;
		else
			kind = LK_SKIP;
		item[0] = '\0';
	} else {
		kind = fetch_item(before, item, sizeof item, &partial);
	}
	d->lit_kind = kind;
	d->lit_partial = partial;
	snprintf(d->lit_item, sizeof d->lit_item, "%s", item);
}

static bool
lit_is_msg(const imap_dir_t *d)
{
	return d->lit_kind == LK_MSG_FULL || d->lit_kind == LK_MSG_HEADER;
}

/* A message starts with its first byte, not its announcement: a client's
 * sync literal the server refuses never comes. */
static void
literal_msg_start(imap_t *s, imap_dir_t *d, const wt_pkt_t *pkt)
{
	if (lit_is_msg(d) && !d->msg.active && d->lit_got == 0)
		msg_begin(s, d, d->lit_kind, d->lit_item, d->lit_partial,
			  d->lit_size, pkt);
}

static void
literal_bytes(imap_t *s, imap_dir_t *d, wt_cursor_t w, const wt_pkt_t *pkt)
{
	size_t n = wt_cur_left(&w);
	const uint8_t *p = cur_ptr(&w);
	literal_msg_start(s, d, pkt);
	d->lit_got += n;
	switch (d->lit_kind) {
	case LK_KEEP:
		if (d->lit_buf_len + n <= sizeof d->lit_buf) {
			memcpy(d->lit_buf + d->lit_buf_len, p, n);
			d->lit_buf_len += n;
		}
		break;
	case LK_MSG_FULL:
	case LK_MSG_HEADER:
		msg_bytes(d, p, n);
		break;
	default:
		break;
	}
}

/* The literal is complete (or cut by a gap: complete == false). */
static void
literal_end(imap_t *s, wt_dir_t dir, const wt_pkt_t *pkt, bool complete)
{
	imap_dir_t *d = &s->d[dir];
	if (d->lit_size == 0)
		literal_msg_start(s, d, pkt);
	d->lit_left = 0;
	if (d->lit_kind == LK_KEEP && complete &&
	    d->lit_buf_len == d->lit_size) {
		/* As a quoted string, so cur_astring() reads it back. */
		wt_cursor_t c = wt_cur_make(d->lit_buf, d->lit_buf_len);
		parse_add(&d->u, "\"", 1);
		while (wt_cur_has(&c, 1)) {
			uint8_t b = wt_cur_u8(&c);
			if (b == '"' || b == '\\')
				parse_add(&d->u, "\\", 1);
			parse_add(&d->u, &b, 1);
		}
		parse_add(&d->u, "\"", 1);
	} else {
		char ph[40];
		int k = snprintf(ph, sizeof ph, "{%llu}",
				 (unsigned long long)d->lit_size);
		parse_add(&d->u, ph, (size_t)k);
	}
	if (d->msg.active) {
		if (!complete)
			d->msg.gap = true;
		msg_end(s, dir, pkt);
	}
	d->lit_kind = LK_NONE;
}

/* ---- the outstanding-command table ---- */

static imap_out_t *
out_find(imap_t *s, const char *tag)
{
	size_t i;
	for (i = 0; i < s->n_out; i++)
		if (strcmp(s->out[i].tag, tag) == 0)
			return &s->out[i];
	return NULL;
}

static void
out_remove(imap_t *s, imap_out_t *o)
{
	size_t i = (size_t)(o - s->out);
	memmove(&s->out[i], &s->out[i + 1], (s->n_out - i - 1) * sizeof *o);
	s->n_out--;
}

static imap_out_t *
out_add(imap_t *s, const char *tag, const wt_pkt_t *pkt)
{
	imap_out_t *o;
	if (s->n_out == IMAP_OUTSTANDING) {
		if (!(s->warned & ONCE_OUTSTANDING)) {
			s->warned |= ONCE_OUTSTANDING;
			imap_warn(s, pkt, "IMAP_OUTSTANDING_CAP",
				  "more than %d commands awaiting completion; forgetting the oldest",
				  IMAP_OUTSTANDING);
		}
		out_remove(s, &s->out[0]);
	}
	o = &s->out[s->n_out++];
	memset(o, 0, sizeof *o);
	snprintf(o->tag, sizeof o->tag, "%s", tag);
	return o;
}

/* ---- client side ---- */

static uint8_t
cmd_kind(const char *up)
{
	static const struct {
		const char *name;
		uint8_t kind;
	} t[] = {
		{"LOGIN", K_LOGIN},     {"AUTHENTICATE", K_AUTHENTICATE},
		{"SELECT", K_SELECT},   {"EXAMINE", K_EXAMINE},
		{"STARTTLS", K_STARTTLS}, {"COMPRESS", K_COMPRESS},
		{"IDLE", K_IDLE},       {"APPEND", K_APPEND},
		{"LOGOUT", K_LOGOUT},   {"FETCH", K_FETCH},
		{"UID FETCH", K_FETCH},
	};
	size_t i;
	for (i = 0; i < sizeof t / sizeof t[0]; i++)
		if (strcmp(up, t[i].name) == 0)
			return t[i].kind;
	return K_OTHER;
}

static void
token_upper(wt_cursor_t w, char *out, size_t cap)
{
	size_t n = 0;
	while (wt_cur_has(&w, 1) && n + 1 < cap) {
		int b = upper(wt_cur_u8(&w));
		out[n++] = (b >= 0x21 && b < 0x7f) ? (char)b : '?';
	}
	out[n] = '\0';
}

static json_t *
mailbox_add(imap_t *s, const char *name, const char *cmd, const wt_pkt_t *pkt)
{
	json_t *m;
	if (json_array_size(s->mailboxes) >= IMAP_MAX_MAILBOXES) {
		if (!(s->warned & ONCE_MAILBOXES)) {
			s->warned |= ONCE_MAILBOXES;
			imap_warn(s, pkt, "IMAP_MAILBOXES_CAP",
				  "more than %d SELECT/EXAMINE; the rest are not kept",
				  IMAP_MAX_MAILBOXES);
		}
		return NULL;
	}
	m = json_object();
	json_object_set_new(m, "name", jstr(name));
	json_object_set_new(m, "command", json_string(cmd));
	json_object_set_new(m, "exists", json_null());
	json_object_set_new(m, "status", json_null());
	json_object_set_new(m, "frame", json_integer((json_int_t)pkt->frame));
	json_array_append_new(s->mailboxes, m);
	return m;
}

/* A complete client command: tag, name, arguments (RFC 3501 section 6). */
static void
client_command(imap_t *s, const wt_pkt_t *pkt)
{
	imap_unit_t *u = &s->d[WT_TO_SERVER].u;
	wt_cursor_t c = wt_cur_make(u->parse, u->parse_len), tag, name, sub;
	wt_cursor_t dc = wt_cur_make(u->disp, u->disp_len), dtag, dname, dsub;
	char tagbuf[IMAP_TAG_CAP], up[64], args[IMAP_DISP_CAP];
	const char *text = u->disp;
	char redacted[IMAP_DISP_CAP + IMAP_TAG_CAP + 32];
	uint8_t kind;
	json_t *e = NULL;
	imap_out_t *o;

	if (!cur_token(&c, &tag) || !cur_token(&c, &name)) {
		dialogue_add(s, pkt, WT_TO_SERVER, u->disp, u->disp_trunc);
		return;
	}
	(void)cur_token(&dc, &dtag);
	(void)cur_token(&dc, &dname);
	wt_escape_bytes(cur_ptr(&tag), wt_cur_left(&tag), tagbuf, sizeof tagbuf);
	token_upper(name, up, sizeof up);
	if (strcmp(up, "UID") == 0 && cur_token(&c, &sub)) {
		char up2[48];
		(void)cur_token(&dc, &dsub);
		token_upper(sub, up2, sizeof up2);
		snprintf(up, sizeof up, "UID %s", up2);
	}
	cur_skip_spaces(&dc);
	snprintf(args, sizeof args, "%.*s", (int)wt_cur_left(&dc),
		 (const char *)cur_ptr(&dc));
	kind = cmd_kind(up);

	switch (kind) {
	case K_LOGIN: {
		/* LOGIN userid password (RFC 3501 section 6.2.3) */
		char user[IMAP_USER_CAP];
		auth_begin(s, "LOGIN");
		if (cur_astring(&c, user, sizeof user) && user[0]) {
			set_user(s, wt_cur_make(user, strlen(user)));
		}
		if (!s->show_secrets) {
			json_t *q = json_string(s->have_user ? s->user : "");
			char *qs = json_dumps(q, JSON_ENCODE_ANY);
			snprintf(args, sizeof args, "%s %s", qs ? qs : "\"\"", REDACTED);
			free(qs);
			json_decref(q);
			snprintf(redacted, sizeof redacted, "%s LOGIN %s", tagbuf, args);
			text = redacted;
		}
		break;
	}
	case K_AUTHENTICATE: {
		/* AUTHENTICATE mech [initial-response] (RFC 4959) */
		wt_cursor_t mech, ir;
		char mname[64] = "";
		if (cur_token(&c, &mech))
			token_upper(mech, mname, sizeof mname);
		auth_begin(s, mname[0] ? mname : "?");
		s->in_sasl = true;
		snprintf(s->sasl_tag, sizeof s->sasl_tag, "%s", tagbuf);
		s->sasl_mech = sasl_mech_of(mech);
		s->sasl_steps = 0;
		if (cur_token(&c, &ir)) {
			sasl_response(s, ir);
			if (!s->show_secrets) {
				snprintf(args, sizeof args, "%s %s", mname, REDACTED);
				snprintf(redacted, sizeof redacted,
					 "%s AUTHENTICATE %s", tagbuf, args);
				text = redacted;
			}
		}
		break;
	}
	case K_IDLE:
		s->in_idle = true;
		break;
	case K_STARTTLS:
		s->starttls_pending = true;
		break;
	default:
		break;
	}

	dialogue_add(s, pkt, WT_TO_SERVER, text, u->disp_trunc);

	if (json_array_size(s->commands) < IMAP_MAX_COMMANDS) {
		e = json_object();
		json_object_set_new(e, "tag", jstr(tagbuf));
		json_object_set_new(e, "command", json_string(up));
		json_object_set_new(e, "args", jstr(args));
		json_object_set_new(e, "status", json_null());
		json_object_set_new(e, "text", json_null());
		json_object_set_new(e, "frame", json_integer((json_int_t)pkt->frame));
		json_object_set_new(e, "response_frame", json_null());
		json_array_append_new(s->commands, e);
	} else {
		s->commands_dropped++;
		if (!(s->warned & ONCE_COMMANDS)) {
			s->warned |= ONCE_COMMANDS;
			imap_warn(s, pkt, "IMAP_COMMANDS_CAP",
				  "more than %d commands; the rest are counted, not kept",
				  IMAP_MAX_COMMANDS);
		}
	}
	o = out_add(s, tagbuf, pkt);
	o->kind = kind;
	o->cmd = e;
	if (kind == K_SELECT || kind == K_EXAMINE) {
		char mbox[256];
		if (cur_astring(&c, mbox, sizeof mbox))
			o->mailbox = mailbox_add(s, mbox, up, pkt);
	}
	/* APPEND: the messages were parsed from its literals; name the box. */
	if (kind == K_APPEND && u->n_msgs > 0) {
		char mbox[256];
		if (cur_astring(&c, mbox, sizeof mbox))
			for (size_t i = 0; i < u->n_msgs; i++)
				json_object_set_new(u->msgs[i], "mailbox",
						    jstr(mbox));
	}
}

/* ---- server side ---- */

static void
capabilities_set(imap_t *s, wt_cursor_t c)
{
	wt_cursor_t t;
	json_array_clear(s->capabilities);
	while (cur_token(&c, &t) && json_array_size(s->capabilities) < 128) {
		size_t n = wt_cur_left(&t);
		/* inside a response code: "[CAPABILITY a b] text" */
		ptrdiff_t rb = wt_cur_find(&t, ']');
		if (rb >= 0)
			n = (size_t)rb;
		if (n)
			json_array_append_new(s->capabilities,
					      wt_json_bytes(cur_ptr(&t), n));
		if (rb >= 0)
			break;
	}
}

/* "UID n" inside a FETCH response (RFC 3501 section 7.4.2). */
static bool
fetch_uid(const imap_unit_t *u, uint64_t *uid)
{
	wt_cursor_t c = wt_cur_make(u->disp, u->disp_len), t;
	bool prev_uid = false;
	while (wt_cur_has(&c, 1)) {
		int b = cur_peek8(&c);
		if (b == ' ' || b == '(' || b == ')') {
			wt_cur_skip(&c, 1);
			continue;
		}
		t = c;
		while ((b = cur_peek8(&c)) >= 0 && b != ' ' && b != '(' && b != ')')
			wt_cur_skip(&c, 1);
		t.len = c.off;
		if (prev_uid && cur_uint(t, uid))
			return true;
		prev_uid = cur_ieq(t, "UID");
	}
	return false;
}

static void
untagged(imap_t *s, wt_cursor_t c, const wt_pkt_t *pkt)
{
	imap_unit_t *u = &s->d[WT_TO_CLIENT].u;
	wt_cursor_t a, b;
	uint64_t num = 0;
	if (!cur_token(&c, &a))
		return;
	if (cur_uint(a, &num) && cur_token(&c, &b)) {
		if (cur_ieq(b, "EXISTS")) {
			size_t i;
			for (i = s->n_out; i-- > 0;)
				if (s->out[i].mailbox) {
					json_object_set_new(s->out[i].mailbox, "exists",
							    json_integer((json_int_t)num));
					break;
				}
		} else if (cur_ieq(b, "FETCH")) {
			uint64_t uid;
			bool have_uid = fetch_uid(u, &uid);
			for (size_t i = 0; i < u->n_msgs; i++) {
				json_object_set_new(u->msgs[i], "seq",
						    json_integer((json_int_t)num));
				if (have_uid)
					json_object_set_new(u->msgs[i], "uid",
							    json_integer((json_int_t)uid));
			}
		}
		return;
	}
	if (cur_ieq(a, "CAPABILITY")) {
		capabilities_set(s, c);
	} else if (cur_ieq(a, "OK") || cur_ieq(a, "PREAUTH")) {
		cur_skip_spaces(&c);
		if (cur_iprefix(c, "[CAPABILITY ")) {
			wt_cur_skip(&c, 12);
			capabilities_set(s, c);
		}
	}
}

static void
tagged(imap_t *s, wt_cursor_t tag, wt_cursor_t c, const wt_pkt_t *pkt)
{
	wt_cursor_t st;
	char tagbuf[IMAP_TAG_CAP], status[8] = "";
	imap_out_t *o;
	bool ok;
	json_t *text;

	wt_escape_bytes(cur_ptr(&tag), wt_cur_left(&tag), tagbuf, sizeof tagbuf);
	if (!cur_token(&c, &st))
		return;
	if (cur_ieq(st, "OK"))
		strcpy(status, "OK");
	else if (cur_ieq(st, "NO"))
		strcpy(status, "NO");
	else if (cur_ieq(st, "BAD"))
		strcpy(status, "BAD");
	else {
		if (!(s->warned & ONCE_BADLINE)) {
			s->warned |= ONCE_BADLINE;
			imap_warn(s, pkt, "IMAP_BAD_RESPONSE",
				  "tagged response %s is neither OK, NO nor BAD", tagbuf);
		}
		return;
	}
	ok = status[0] == 'O';
	cur_skip_spaces(&c);
	text = wt_json_bytes(cur_ptr(&c), wt_cur_left(&c));
	if (cur_iprefix(c, "[CAPABILITY ")) {
		wt_cursor_t cc = c;
		wt_cur_skip(&cc, 12);
		capabilities_set(s, cc);
	}

	o = out_find(s, tagbuf);
	if (!o) {
		json_t *e;
		if (!(s->warned & ONCE_UNMATCHED) && !s->fi.midstream &&
		    s->gaps == 0) {
			s->warned |= ONCE_UNMATCHED;
			imap_warn(s, pkt, "IMAP_UNMATCHED_TAG",
				  "completion of tag %s, which no command carried", tagbuf);
		}
		if (json_array_size(s->commands) < IMAP_MAX_COMMANDS) {
			e = json_object();
			json_object_set_new(e, "tag", jstr(tagbuf));
			json_object_set_new(e, "command", json_null());
			json_object_set_new(e, "args", json_null());
			json_object_set_new(e, "status", json_string(status));
			json_object_set_new(e, "text", text);
			json_object_set_new(e, "frame", json_null());
			json_object_set_new(e, "response_frame",
					    json_integer((json_int_t)pkt->frame));
			json_array_append_new(s->commands, e);
		} else {
			json_decref(text);
		}
		return;
	}
	if (o->cmd) {
		json_object_set_new(o->cmd, "status", json_string(status));
		json_object_set_new(o->cmd, "text", text);
		json_object_set_new(o->cmd, "response_frame",
				    json_integer((json_int_t)pkt->frame));
	} else {
		json_decref(text);
	}
	switch (o->kind) {
	case K_LOGIN:
		auth_end(s, ok);
		break;
	case K_AUTHENTICATE:
		auth_end(s, ok);
		if (strcmp(s->sasl_tag, tagbuf) == 0)
			s->in_sasl = false;
		break;
	case K_SELECT:
	case K_EXAMINE:
		if (o->mailbox) {
			json_object_set_new(o->mailbox, "status", json_string(status));
			if (ok)
				s->selected = o->mailbox;
		}
		break;
	case K_IDLE:
		s->in_idle = false;
		break;
	case K_STARTTLS:
		s->starttls_pending = false;
		if (ok) {
			/* RFC 3501 section 6.2.1: TLS starts after the CRLF. */
			s->starttls = true;
			s->starttls_frame = pkt->frame;
			s->stopped = true;
		}
		break;
	case K_COMPRESS:
		if (ok) {
			/* RFC 4978 section 3: both directions are DEFLATE
			 * streams from the next byte on. */
			s->compressed = true;
			s->compress_frame = pkt->frame;
			s->stopped = true;
			imap_warn(s, pkt, "IMAP_COMPRESSED",
				  "COMPRESS DEFLATE accepted; the rest of the connection is not decoded");
		}
		break;
	default:
		break;
	}
	out_remove(s, o);
}

static void
server_response(imap_t *s, const wt_pkt_t *pkt)
{
	imap_unit_t *u = &s->d[WT_TO_CLIENT].u;
	wt_cursor_t c = wt_cur_make(u->disp, u->disp_len), tag;
	dialogue_add(s, pkt, WT_TO_CLIENT, u->disp, u->disp_trunc);
	s->seen_server = true;
	if (!cur_token(&c, &tag))
		return;
	if (cur_ieq(tag, "*"))
		untagged(s, c, pkt);
	else if (!cur_ieq(tag, "+"))
		tagged(s, tag, c, pkt);
}

/* A client whose sync literal the server refused sends no literal (RFC 3501
 * section 7.5): stop waiting for it. */
static void
cancel_client_literal(imap_t *s, const wt_pkt_t *pkt)
{
	imap_dir_t *d = &s->d[WT_TO_SERVER];
	wt_cursor_t c, ctag;
	imap_unit_t *su = &s->d[WT_TO_CLIENT].u;
	wt_cursor_t sc = wt_cur_make(su->disp, su->disp_len), stag, st;
	if (d->lit_left == 0 || !d->lit_sync || d->lit_got != 0)
		return;
	c = wt_cur_make(d->u.parse, d->u.parse_len);
	if (!cur_token(&c, &ctag) || !cur_token(&sc, &stag) ||
	    !cur_token(&sc, &st))
		return;
	if (wt_cur_left(&ctag) != wt_cur_left(&stag) ||
	    memcmp(cur_ptr(&ctag), cur_ptr(&stag), wt_cur_left(&ctag)) != 0)
		return;
	if (!cur_ieq(st, "NO") && !cur_ieq(st, "BAD"))
		return;
	d->lit_left = 0;
	d->lit_kind = LK_NONE;
	if (d->msg.active) {
		d->msg.gap = true;
		msg_end(s, WT_TO_SERVER, pkt);
	}
	d->u.active = false;
	client_command(s, pkt);
}

static void
unit_end(imap_t *s, wt_dir_t dir, const wt_pkt_t *pkt)
{
	imap_unit_t *u = &s->d[dir].u;
	if (!u->active)
		return;
	u->active = false;
	if (dir == WT_TO_SERVER) {
		client_command(s, pkt);
	} else {
		cancel_client_literal(s, pkt);
		server_response(s, pkt);
	}
}

/* One line of a direction (without CR LF). */
static void
unit_line(imap_t *s, wt_dir_t dir, wt_cursor_t line, const wt_pkt_t *pkt)
{
	imap_dir_t *d = &s->d[dir];
	uint64_t size;
	bool sync;
	size_t text_len;

	if (!d->u.active) {
		if (dir == WT_TO_SERVER && s->in_sasl) {
			/* a SASL response, or "*" to cancel */
			if (cur_ieq(line, "*") || s->show_secrets) {
				if (!cur_ieq(line, "*"))
					sasl_response(s, line);
				dialogue_wire(s, pkt, dir, line);
			} else {
				sasl_response(s, line);
				dialogue_add(s, pkt, dir, REDACTED, false);
			}
			return;
		}
		if (dir == WT_TO_SERVER && s->in_idle && cur_ieq(line, "DONE")) {
			dialogue_wire(s, pkt, dir, line);
			return;
		}
		unit_reset(&d->u);
	}
	if (literal_suffix(line, &size, &sync, &text_len)) {
		wt_cursor_t before = line;
		char ph[48];
		int k;
		before.len = before.off + text_len;
		if (size > IMAP_LITERAL_MAX) {
			imap_warn(s, pkt, "IMAP_LITERAL_TOO_BIG",
				  "%s literal of %llu bytes; taken as text", dir_name(dir),
				  (unsigned long long)size);
		} else {
			disp_add_wire(&d->u, before);
			k = snprintf(ph, sizeof ph, "{%llu bytes}",
				     (unsigned long long)size);
			disp_add(&d->u, ph, (size_t)k);
			parse_add(&d->u, cur_ptr(&before), wt_cur_left(&before));
			literal_begin(s, dir, size, sync, before, pkt);
			if (size == 0)
				literal_end(s, dir, pkt, true);
			return;
		}
	}
	disp_add_wire(&d->u, line);
	parse_add(&d->u, cur_ptr(&line), wt_cur_left(&line));
	unit_end(s, dir, pkt);
}

/* ---- the dissector callbacks ---- */

static bool
imap_match(const wt_ctx_t *ctx, uint16_t sport, uint16_t dport,
	   bool *server_is_dst)
{
	(void)ctx;
	if (dport == 143 || dport == 993) {
		*server_is_dst = true;
		return true;
	}
	if (sport == 143 || sport == 993) {
		*server_is_dst = false;
		return true;
	}
	return false;
}

static void *
imap_open(wt_ctx_t *ctx, const wt_flow_info_t *fi)
{
	imap_t *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->ctx = ctx;
	s->fi = *fi;
	s->show_secrets = wt_ctx_options(ctx)->show_secrets != 0;
	/* RFC 8314: port 993 is IMAP over implicit TLS. */
	s->implicit_tls = fi->server.port == 993;
	s->stopped = s->implicit_tls;
	s->last_frame = fi->first_frame;
	s->commands = json_array();
	s->messages = json_array();
	s->mailboxes = json_array();
	s->capabilities = json_array();
	if (!s->commands || !s->messages || !s->mailboxes || !s->capabilities) {
		json_decref(s->commands);
		json_decref(s->messages);
		json_decref(s->mailboxes);
		json_decref(s->capabilities);
		free(s);
		return NULL;
	}
	return s;
}

static void
touch(imap_t *s, const wt_pkt_t *pkt)
{
	if (pkt && pkt->frame > s->last_frame)
		s->last_frame = pkt->frame;
}

static bool
looks_like_tls(wt_cursor_t c)
{
	return wt_cur_has(&c, 2) && wt_cur_u8(&c) == 0x16 && wt_cur_u8(&c) == 0x03;
}

static wt_cursor_t
strip_eol(wt_cursor_t full)
{
	wt_cursor_t line = full, t = full;
	size_t n = wt_cur_left(&full);
	line.len = full.off + n - 1;
	if (n >= 2 && wt_cur_seek(&t, full.off + n - 2) && wt_cur_u8(&t) == '\r')
		line.len--;
	return line;
}

/* "tag SP command" from a client, "* ", "+" or "tag SP OK|NO|BAD" from a
 * server (RFC 3501 section 2.2). */
static bool
line_start_after_gap(wt_dir_t dir, wt_cursor_t c)
{
	wt_cursor_t tag, word;
	ptrdiff_t lf = wt_cur_find(&c, '\n');
	int b;
	if (lf < 0)
		return false;
	c.len = c.off + (size_t)lf;
	b = cur_peek8(&c);
	if (dir == WT_TO_CLIENT && (b == '*' || b == '+'))
		return true;
	if (!cur_token(&c, &tag) || !cur_token(&c, &word))
		return false;
	if (dir == WT_TO_CLIENT)
		return cur_iprefix(word, "OK") || cur_iprefix(word, "NO") ||
		       cur_iprefix(word, "BAD");
	while (wt_cur_has(&word, 1)) {
		b = upper(wt_cur_u8(&word));
		if (!(b >= 'A' && b <= 'Z') && b != '\r')
			return false;
	}
	return true;
}

static size_t
imap_data(void *st, wt_dir_t dir, const uint8_t *p, size_t n,
	  const wt_pkt_t *pkt)
{
	imap_t *s = st;
	imap_dir_t *d = &s->d[dir];
	wt_cursor_t c = wt_cur_make(p, n);

	touch(s, pkt);
	if (s->stopped)
		return n;
	/* A TLS handshake where a command should be: the STARTTLS answer was
	 * lost and the client went ahead. */
	if (dir == WT_TO_SERVER && s->starttls_pending && !d->u.active &&
	    d->lit_left == 0 && looks_like_tls(c)) {
		s->starttls = true;
		s->starttls_frame = pkt->frame;
		s->stopped = true;
		return n;
	}

	if (d->resync) {
		/* Segments mostly end at line ends: if what follows the hole
		 * reads as a command or a response, take it whole. */
		d->resync = false;
		if (d->lit_left == 0 && line_start_after_gap(dir, c))
			d->discard = false;
	}
	while (wt_cur_left(&c) > 0 && !s->stopped) {
		ptrdiff_t lf;
		wt_cursor_t full;
		if (d->lit_left > 0) {
			/* RFC 3501 section 4.3: a literal is counted, not
			 * line-delimited. */
			size_t k = wt_cur_left(&c);
			if (k > d->lit_left)
				k = (size_t)d->lit_left;
			literal_bytes(s, d, wt_cur_sub(&c, k), pkt);
			d->lit_left -= k;
			if (d->lit_left == 0)
				literal_end(s, dir, pkt, true);
			continue;
		}
		lf = wt_cur_find(&c, '\n');
		if (d->discard) {
			if (lf < 0)
				return n;
			wt_cur_skip(&c, (size_t)lf + 1);
			d->discard = false;
			if (d->discard_ends_unit) {
				d->discard_ends_unit = false;
				unit_end(s, dir, pkt);
			}
			continue;
		}
		if (lf < 0) {
			if (wt_cur_left(&c) >= IMAP_LINE_CAP) {
				imap_warn(s, pkt, "IMAP_LINE_TOO_LONG",
					  "a %s line longer than %d bytes; skipped to its end",
					  dir_name(dir), IMAP_LINE_CAP);
				if (!d->u.active)
					unit_reset(&d->u);
				parse_add(&d->u, cur_ptr(&c), wt_cur_left(&c));
				disp_add_wire(&d->u, wt_cur_rest(&c));
				d->u.disp_trunc = true;
				d->discard = true;
				d->discard_ends_unit = true;
				return n;
			}
			break;
		}
		full = wt_cur_sub(&c, (size_t)lf + 1);
		unit_line(s, dir, strip_eol(full), pkt);
	}
	return s->stopped ? n : c.off;
}

static void
imap_gap(void *st, wt_dir_t dir, uint64_t n, const wt_pkt_t *pkt)
{
	imap_t *s = st;
	imap_dir_t *d = &s->d[dir];
	touch(s, pkt);
	s->gaps++;
	s->gap_bytes += n;
	if (s->stopped)
		return;
	imap_warn(s, pkt, "IMAP_GAP", "%llu bytes missing from the %s",
		  (unsigned long long)n, dir_name(dir));
	if (d->lit_left > 0) {
		literal_msg_start(s, d, pkt);
		if (d->msg.active)
			d->msg.gap = true;
		if (n < d->lit_left) {
			/* the rest of the literal is still to come */
			d->lit_left -= n;
			d->lit_got += n;
			return;
		}
		literal_end(s, dir, pkt, false);
	}
	if (d->u.active) {
		disp_add(&d->u, " [gap]", 6);
		d->u.disp_trunc = true;
		unit_end(s, dir, pkt);
	}
	/* Whatever follows the hole may start in the middle of a line. */
	d->discard = true;
	d->discard_ends_unit = false;
	d->resync = true;
	if (dir == WT_TO_SERVER)
		s->in_sasl = false;
}

static json_t *
imap_record(imap_t *s)
{
	json_t *r = json_object();
	json_object_set_new(r, "type", json_string("imap"));
	json_object_set_new(r, "ts", wt_json_ts(&s->fi.first_ts));
	json_object_set_new(r, "client", wt_json_endpoint(&s->fi.client));
	json_object_set_new(r, "server", wt_json_endpoint(&s->fi.server));
	json_object_set_new(r, "stream", json_integer((json_int_t)s->fi.stream));
	json_object_set_new(r, "first_frame", json_integer((json_int_t)s->fi.first_frame));
	json_object_set_new(r, "last_frame", json_integer((json_int_t)s->last_frame));
	json_object_set_new(r, "midstream", json_boolean(s->fi.midstream));
	json_object_set_new(r, "tls", json_boolean(s->implicit_tls || s->starttls));
	json_object_set_new(r, "starttls", json_boolean(s->starttls));
	json_object_set_new(r, "starttls_frame",
			    s->starttls ? json_integer((json_int_t)s->starttls_frame)
					: json_null());
	json_object_set_new(r, "compressed", json_boolean(s->compressed));
	json_object_set_new(r, "compress_frame",
			    s->compressed ? json_integer((json_int_t)s->compress_frame)
					  : json_null());
	json_object_set_new(r, "user", s->have_user ? json_string(s->user) : json_null());
	json_object_set_new(r, "auth", s->auth ? json_incref(s->auth) : json_null());
	json_object_set_new(r, "auth_attempts", json_integer((json_int_t)s->auth_attempts));
	json_object_set_new(r, "capabilities", json_incref(s->capabilities));
	json_object_set_new(r, "mailboxes", json_incref(s->mailboxes));
	json_object_set_new(r, "dialogue", wt_dialogue_json(&s->dlg));
	json_object_set_new(r, "dialogue_dropped", json_integer((json_int_t)s->dialogue_dropped));
	json_object_set_new(r, "commands", json_incref(s->commands));
	json_object_set_new(r, "commands_dropped", json_integer((json_int_t)s->commands_dropped));
	json_object_set_new(r, "messages", json_incref(s->messages));
	json_object_set_new(r, "messages_dropped", json_integer((json_int_t)s->messages_dropped));
	json_object_set_new(r, "warnings", json_integer((json_int_t)s->warnings));
	json_object_set_new(r, "gaps", json_integer((json_int_t)s->gaps));
	json_object_set_new(r, "gap_bytes", json_integer((json_int_t)s->gap_bytes));
	return r;
}

static void
imap_close(void *st, wt_end_t why, const wt_pkt_t *last)
{
	imap_t *s = st;
	int dir;
	(void)why;
	touch(s, last);
	for (dir = 0; dir < 2; dir++) {
		imap_dir_t *d = &s->d[dir];
		wt_pkt_t lp;
		if (s->stopped)
			break;
		/* The connection ended inside a literal or a command: keep
		 * what was seen. */
		memset(&lp, 0, sizeof lp);
		lp.frame = s->last_frame;
		if (last)
			lp.ts = last->ts;
		if (d->lit_left > 0)
			literal_end(s, (wt_dir_t)dir, &lp, false);
		if (d->msg.active) {
			d->msg.gap = true;
			msg_end(s, (wt_dir_t)dir, &lp);
		}
		if (d->u.active) {
			d->u.disp_trunc = true;
			unit_end(s, (wt_dir_t)dir, &lp);
		}
	}
	wt_emit(s->ctx, imap_record(s));
	json_decref(s->auth);
	wt_dialogue_free(&s->dlg);
	json_decref(s->commands);
	json_decref(s->messages);
	json_decref(s->mailboxes);
	json_decref(s->capabilities);
	free(s);
}

const wt_dissector_t wt_imap_dissector = {
	.name = "imap",
	.ipproto = 6,
	.match = imap_match,
	.open = imap_open,
	.data = imap_data,
	.gap = imap_gap,
	.datagram = NULL,
	.close = imap_close,
};
