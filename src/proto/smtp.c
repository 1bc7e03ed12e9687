/* \summary: SMTP dissector: dialogue, pipelining, DATA/BDAT messages, STARTTLS, AUTH */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/record.h"
#include "proto/dissector.h"
#include "proto/imf.h"
#include "wiretale/cursor.h"

/*
 * One "smtp" record per TCP connection, emitted when it closes.
 *
 * Client lines are commands (RFC 5321 §4.1), except while a message is sent
 * (DATA, §4.1.1.4: dot-stuffed lines up to CRLF "." CRLF; BDAT, RFC 3030:
 * exactly the announced number of bytes) and while an AUTH exchange runs
 * (RFC 4954: base64 responses to 334 challenges).  Server lines are replies
 * (§4.2), possibly multi-line ("250-" ... "250 ").  Commands wait in a queue
 * and every complete reply is matched to the oldest one, so that pipelined
 * groups (RFC 2920) come out right.
 *
 * The flow layer delivers both directions in capture order, so the 354 that
 * opens DATA is seen before the client's message.  When it is missing (a
 * gap, a late start), client bytes that follow an unanswered DATA are taken
 * as the message: a client must wait for the 354 (RFC 2920 §3.1: DATA ends
 * a pipelined group).
 */

#define SMTP_LINE_CAP 65536        /* longest command/reply line handled */
#define SMTP_QUEUE_CAP 256         /* commands awaiting a reply */
#define SMTP_DIALOGUE_CAP 2000     /* dialogue entries kept */
#define SMTP_TEXT_CAP 1000         /* bytes of one dialogue line kept */
#define SMTP_TX_CAP 500            /* transactions kept per connection */
#define SMTP_RCPT_CAP 1000         /* recipients kept per transaction */
#define SMTP_EXT_CAP 64            /* extensions kept */
#define SMTP_REPLY_LINES_CAP 100   /* lines of one reply kept for EHLO */
#define SMTP_WARN_CAP 20           /* warning records per connection */
#define SMTP_ENH_MAX 9             /* "c.sss.ddd" (RFC 3463) */

#define REDACTED "[REDACTED]"

enum verb {
	V_UNKNOWN, V_HELO, V_EHLO, V_LHLO, V_MAIL, V_RCPT, V_DATA, V_BDAT,
	V_RSET, V_NOOP, V_VRFY, V_EXPN, V_HELP, V_QUIT, V_STARTTLS, V_AUTH,
	V_ETRN, V_TURN, V_ATRN, V_XCLIENT, V_XFORWARD,
	V_DATA_END /* not a command: the end of a DATA message awaits its reply */
};

static const char *const verb_names[] = {
	"", "HELO", "EHLO", "LHLO", "MAIL", "RCPT", "DATA", "BDAT", "RSET",
	"NOOP", "VRFY", "EXPN", "HELP", "QUIT", "STARTTLS", "AUTH", "ETRN",
	"TURN", "ATRN", "XCLIENT", "XFORWARD", NULL
};

enum cmode {
	C_CMD,    /* command lines */
	C_DATA,   /* a DATA message */
	C_BDAT,   /* the bytes of a BDAT chunk */
	C_SKIP    /* joined mid-message: skip up to the "." line */
};

/* DATA body scanner states (dot-unstuffing, end at CRLF "." CRLF). */
enum dstate { D_BOL, D_MID, D_DOT, D_DOT_CR };

typedef struct smtp_pending {
	enum verb verb;
	json_t *tx;     /* borrowed: owned by s->transactions */
	json_t *addr;   /* RCPT: the address (owned) */
	json_t *params; /* RCPT: its parameters (owned) */
	bool last;      /* BDAT ... LAST */
} smtp_pending_t;

/*
 * One line of the dialogue, kept compact while the connection lasts (a
 * busy capture has thousands of connections open at once); its JSON is
 * made when the record is.  The text is in smtp_t.dtext.
 */
typedef struct smtp_line {
	uint64_t frame;
	uint32_t off;          /* of the text in dtext */
	uint16_t len;          /* at most SMTP_TEXT_CAP */
	int16_t code;          /* reply code, -1: none */
	uint8_t from_server;
	uint8_t sasl;          /* a SASL response, not a command */
	uint8_t enh_len;       /* 0: no enhanced status code */
	char enh[SMTP_ENH_MAX];
} smtp_line_t;

/* A growable byte buffer. */
typedef struct smtp_buf {
	uint8_t *p;
	size_t len, cap;
} smtp_buf_t;

typedef struct smtp {
	wt_ctx_t *ctx;
	wt_flow_info_t fi;
	uint64_t last_frame;
	bool show_secrets;

	/* client side */
	enum cmode cmode;
	enum dstate dstate;
	bool discard[2];       /* an overlong line: skip to its LF */
	bool resync[2];        /* after a gap: skip to the next LF */
	uint64_t bdat_left;    /* bytes of the current BDAT chunk still to come */
	bool bdat_last;
	bool any_command;      /* a known command was seen */
	bool data_gap;         /* the message being read lost bytes */
	bool end_queued;       /* the DATA entry already awaits the final reply */

	/* AUTH exchange in progress */
	bool auth_active;
	int auth_step;         /* client responses so far */
	char auth_mech[32];

	/* server side */
	bool greeted;
	/* texts of the lines of the reply being read (capped), after "NNN-" */
	smtp_buf_t rl_text;
	uint32_t rl_off[SMTP_REPLY_LINES_CAP];
	uint16_t rl_len[SMTP_REPLY_LINES_CAP];
	size_t rl_n;
	int reply_code;

	/* the queue of commands awaiting replies (a ring) */
	smtp_pending_t q[SMTP_QUEUE_CAP];
	size_t q_head, q_len;

	/* the record being built */
	json_t *helo;
	bool esmtp;
	json_t *extensions;
	bool tls;
	bool tls_implicit;
	uint64_t tls_bytes[2];
	json_t *auth;
	json_t *transactions;
	json_t *tx;            /* current transaction (borrowed) */
	smtp_line_t *dlg;      /* the dialogue */
	size_t dlg_n, dlg_cap;
	smtp_buf_t dtext;      /* its texts */
	uint64_t dialogue_dropped;
	uint64_t warnings;
	uint64_t gaps, gap_bytes;
	uint64_t unknown_commands;

	/* the message being received */
	wt_imf_t *imf;
	json_t *msg_tx;        /* its transaction (borrowed) */
	uint64_t msg_index;
	FILE *msg_out;
} smtp_t;

/* ---- small helpers -------------------------------------------------------- */

#define SMTP_WARN(s, pkt, code, ...)                                        \
	do {                                                                \
		(s)->warnings++;                                            \
		if ((s)->warnings <= SMTP_WARN_CAP)                        \
			wt_warn((s)->ctx, (pkt), "smtp", (code), __VA_ARGS__); \
	} while (0)

static uint8_t
upper(uint8_t c)
{
	return (c >= 'a' && c <= 'z') ? (uint8_t)(c - 32) : c;
}

static bool
is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

/* Does the cursor start with the C string s, case-insensitively?  Advances
 * past it when it does. */
static bool
cur_prefix_ci(wt_cursor_t *c, const char *s)
{
	size_t n = strlen(s), i;
	const uint8_t *p = wt_cur_peek(c, n);
	if (!p)
		return false;
	for (i = 0; i < n; i++)
		if (upper(p[i]) != (uint8_t)s[i])
			return false;
	wt_cur_skip(c, n);
	return true;
}

static void
cur_skip_sp(wt_cursor_t *c)
{
	const uint8_t *p;
	while ((p = wt_cur_peek(c, 1)) != NULL && (p[0] == ' ' || p[0] == '\t'))
		wt_cur_skip(c, 1);
}

/* The next space-delimited word. */
static wt_cursor_t
cur_word(wt_cursor_t *c)
{
	const uint8_t *p;
	size_t start, n = 0;
	wt_cursor_t w;
	cur_skip_sp(c);
	start = c->off;
	while ((p = wt_cur_peek(c, 1)) != NULL && p[0] != ' ' && p[0] != '\t') {
		wt_cur_skip(c, 1);
		n++;
	}
	w = wt_cur_make(c->base ? c->base + start : NULL, n);
	return w;
}

static json_t *
cur_json(const wt_cursor_t *c)
{
	return wt_json_bytes(c->base ? c->base + c->off : (const uint8_t *)"",
			     wt_cur_left(c));
}

/* Lenient base64 into out (cap bytes); returns the length. */
static size_t
b64_decode(wt_cursor_t c, uint8_t *out, size_t cap)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t n = 0;
	while (wt_cur_left(&c) > 0) {
		uint8_t ch = wt_cur_u8(&c);
		int v;
		if (ch >= 'A' && ch <= 'Z')
			v = ch - 'A';
		else if (ch >= 'a' && ch <= 'z')
			v = ch - 'a' + 26;
		else if (ch >= '0' && ch <= '9')
			v = ch - '0' + 52;
		else if (ch == '+')
			v = 62;
		else if (ch == '/')
			v = 63;
		else if (ch == '=')
			break;
		else
			continue;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n < cap)
				out[n++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	return n;
}

/* ---- the record's parts --------------------------------------------------- */

/* Appends bytes; false when out of memory. */
static bool
buf_add(smtp_buf_t *b, const uint8_t *p, size_t n)
{
	if (b->cap - b->len < n) {
		size_t nc = b->cap ? b->cap : 256;
		uint8_t *q;
		while (nc - b->len < n)
			nc *= 2;
		q = realloc(b->p, nc);
		if (!q)
			return false;
		b->p = q;
		b->cap = nc;
	}
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	return true;
}

/* The text of a line as kept: at most SMTP_TEXT_CAP bytes. */
static wt_cursor_t
line_text(const wt_cursor_t *line)
{
	size_t n = wt_cur_left(line);
	wt_cursor_t t = *line;
	return wt_cur_sub(&t, n > SMTP_TEXT_CAP ? SMTP_TEXT_CAP : n);
}

static wt_cursor_t
str_text(const char *s)
{
	return wt_cur_make((const uint8_t *)s, strlen(s));
}

static json_t *
text_json(const uint8_t *p, size_t n)
{
	return wt_json_bytes(n ? p : (const uint8_t *)"", n);
}

/* n bytes at off in a buffer that may not exist yet (an empty text). */
static json_t *
text_at(const uint8_t *base, size_t off, size_t n)
{
	return text_json(n && base ? base + off : NULL, base ? n : 0);
}

/* Returns the entry (valid until the next one), or NULL past the cap. */
static smtp_line_t *
dialogue_add(smtp_t *s, const wt_pkt_t *pkt, wt_dir_t dir, wt_cursor_t text,
	     int code, const wt_cursor_t *enhanced)
{
	smtp_line_t *e;
	size_t n = wt_cur_left(&text);
	const uint8_t *p = wt_cur_peek(&text, n);
	if (s->dlg_n >= SMTP_DIALOGUE_CAP) {
		s->dialogue_dropped++;
		return NULL;
	}
	if (s->dlg_n == s->dlg_cap) {
		size_t nc = s->dlg_cap ? s->dlg_cap * 2 : 16;
		smtp_line_t *t = realloc(s->dlg, nc * sizeof *t);
		if (!t)
			return NULL;
		s->dlg = t;
		s->dlg_cap = nc;
	}
	if (n > SMTP_TEXT_CAP)
		n = SMTP_TEXT_CAP;
	if (!buf_add(&s->dtext, p, n))
		return NULL;
	e = &s->dlg[s->dlg_n++];
	memset(e, 0, sizeof *e);
	e->frame = pkt->frame;
	e->off = (uint32_t)(s->dtext.len - n);
	e->len = (uint16_t)n;
	e->code = (int16_t)(code >= 0 ? code : -1);
	e->from_server = dir != WT_TO_SERVER;
	if (enhanced) {
		size_t k = wt_cur_left(enhanced);
		if (k > sizeof e->enh)
			k = sizeof e->enh;
		memcpy(e->enh, wt_cur_peek(enhanced, k), k);
		e->enh_len = (uint8_t)k;
	}
	return e;
}

/* The dialogue as the record has it: [{"frame","from","text","code",
 * "enhanced","sasl"}...]. */
static json_t *
dialogue_json(smtp_t *s)
{
	json_t *a = json_array(), *who[2];
	size_t i;
	who[0] = json_string("client");
	who[1] = json_string("server");
	for (i = 0; i < s->dlg_n; i++) {
		const smtp_line_t *l = &s->dlg[i];
		json_t *e = json_object();
		json_object_set_new(e, "frame", json_integer((json_int_t)l->frame));
		json_object_set(e, "from", who[l->from_server]);
		json_object_set_new(e, "text", text_at(s->dtext.p, l->off, l->len));
		if (l->code >= 0)
			json_object_set_new(e, "code", json_integer(l->code));
		if (l->enh_len)
			json_object_set_new(e, "enhanced", text_json((const uint8_t *)l->enh, l->enh_len));
		if (l->sasl)
			json_object_set_new(e, "sasl", json_true());
		json_array_append_new(a, e);
	}
	json_decref(who[0]);
	json_decref(who[1]);
	return a;
}

static json_t *
tx_new(smtp_t *s, const wt_pkt_t *pkt)
{
	json_t *tx;
	if (json_array_size(s->transactions) >= SMTP_TX_CAP) {
		SMTP_WARN(s, pkt, "SMTP_TOO_MANY_TRANSACTIONS",
			  "more than %d transactions; later ones not kept", SMTP_TX_CAP);
		return NULL;
	}
	tx = json_object();
	json_object_set_new(tx, "mail_from", json_null());
	json_object_set_new(tx, "mail_params", json_object());
	json_object_set_new(tx, "mail_reply", json_null());
	json_object_set_new(tx, "rcpt_to", json_array());
	json_object_set_new(tx, "rcpt_params", json_array());
	json_object_set_new(tx, "rejected_rcpt", json_array());
	json_object_set_new(tx, "mode", json_null());
	json_object_set_new(tx, "reply_code", json_null());
	json_object_set_new(tx, "reply_text", json_null());
	json_object_set_new(tx, "data_frame", json_null());
	json_object_set_new(tx, "message", json_null());
	json_object_set_new(tx, "first_frame", json_integer((json_int_t)pkt->frame));
	json_array_append_new(s->transactions, tx);
	return tx;
}

/* The transaction a DATA/BDAT/RCPT belongs to; one is made up when MAIL
 * was not seen (a late start). */
static json_t *
tx_current(smtp_t *s, const wt_pkt_t *pkt)
{
	if (!s->tx)
		s->tx = tx_new(s, pkt);
	return s->tx;
}

/* ---- the pending queue ---------------------------------------------------- */

static void
q_push(smtp_t *s, const wt_pkt_t *pkt, enum verb v, json_t *tx, json_t *addr,
       json_t *params, bool last)
{
	smtp_pending_t *e;
	if (s->q_len >= SMTP_QUEUE_CAP) {
		SMTP_WARN(s, pkt, "SMTP_QUEUE_FULL",
			  "more than %d commands await a reply", SMTP_QUEUE_CAP);
		json_decref(addr);
		json_decref(params);
		return;
	}
	e = &s->q[(s->q_head + s->q_len) % SMTP_QUEUE_CAP];
	e->verb = v;
	e->tx = tx;
	e->addr = addr;
	e->params = params;
	e->last = last;
	s->q_len++;
}

static smtp_pending_t *
q_front(smtp_t *s)
{
	return s->q_len ? &s->q[s->q_head] : NULL;
}

static smtp_pending_t *
q_back(smtp_t *s)
{
	return s->q_len ? &s->q[(s->q_head + s->q_len - 1) % SMTP_QUEUE_CAP] : NULL;
}

static void
q_pop(smtp_t *s)
{
	smtp_pending_t *e = q_front(s);
	if (!e)
		return;
	json_decref(e->addr);
	json_decref(e->params);
	memset(e, 0, sizeof *e);
	s->q_head = (s->q_head + 1) % SMTP_QUEUE_CAP;
	s->q_len--;
}

/* ---- messages ------------------------------------------------------------- */

static void
msg_start(smtp_t *s, const wt_pkt_t *pkt, json_t *tx)
{
	FILE *out = NULL;
	if (s->imf)
		return;
	s->imf = wt_imf_new();
	s->msg_tx = tx;
	s->msg_index = wt_message_next(s->ctx, &out);
	s->msg_out = out;
	s->data_gap = false;
}

static void
msg_bytes(smtp_t *s, const uint8_t *p, size_t n)
{
	if (n == 0)
		return;
	if (s->imf)
		wt_imf_feed(s->imf, p, n);
	if (s->msg_out)
		fwrite(p, 1, n, s->msg_out);
}

static void
msg_end(smtp_t *s, const wt_pkt_t *pkt, bool complete)
{
	json_t *m;
	if (!s->imf)
		return;
	m = wt_imf_finish(s->imf);
	wt_imf_free(s->imf);
	s->imf = NULL;
	json_object_set_new(m, "index", json_integer((json_int_t)s->msg_index));
	json_object_set_new(m, "complete", json_boolean(complete && !s->data_gap));
	if (s->data_gap)
		json_object_set_new(m, "gap", json_true());
	if (s->msg_out)
		fflush(s->msg_out);
	s->msg_out = NULL;
	if (s->msg_tx) {
		json_object_set_new(s->msg_tx, "message", m);
		json_object_set_new(s->msg_tx, "data_frame",
				    json_integer((json_int_t)pkt->frame));
	} else {
		json_decref(m);
	}
	s->msg_tx = NULL;
}

/* ---- AUTH (RFC 4954) ------------------------------------------------------ */

static void
auth_set_user(smtp_t *s, const uint8_t *p, size_t n)
{
	if (s->auth && n > 0)
		json_object_set_new(s->auth, "user", wt_json_bytes(p, n));
}

/* The user name inside an NTLM AUTHENTICATE message (MS-NLMP §2.2.1.3). */
static void
auth_ntlm_user(smtp_t *s, const uint8_t *msg, size_t n)
{
	wt_cursor_t c = wt_cur_make(msg, n), f, u;
	uint16_t dlen, ulen;
	uint32_t doff, uoff, flags;
	uint8_t out[512];
	size_t k = 0;
	const uint8_t *sig = wt_cur_take(&c, 8);
	if (!sig || memcmp(sig, "NTLMSSP\0", 8) != 0 || wt_cur_le32(&c) != 3)
		return;
	wt_cur_skip(&c, 16);           /* LM and NT responses */
	dlen = wt_cur_le16(&c);
	wt_cur_skip(&c, 2);
	doff = wt_cur_le32(&c);
	ulen = wt_cur_le16(&c);
	wt_cur_skip(&c, 2);
	uoff = wt_cur_le32(&c);
	wt_cur_skip(&c, 16);           /* workstation, session key */
	flags = wt_cur_le32(&c);
	if (!wt_cur_ok(&c))
		return;
	/* "DOMAIN\user", both UTF-16LE when NEGOTIATE_UNICODE (0x1) is set */
	for (int pass = 0; pass < 2; pass++) {
		uint32_t off = pass ? uoff : doff;
		uint16_t len = pass ? ulen : dlen;
		if (len == 0)
			continue;
		f = wt_cur_make(msg, n);
		if (!wt_cur_seek(&f, off))
			return;
		u = wt_cur_sub(&f, len);
		if (!wt_cur_ok(&u))
			return;
		if (pass == 1 && k > 0 && k < sizeof out)
			out[k++] = '\\';
		while (wt_cur_left(&u) > 0 && k + 4 < sizeof out) {
			uint32_t cp = (flags & 1) ? wt_cur_le16(&u) : wt_cur_u8(&u);
			if (!wt_cur_ok(&u))
				break;
			if (cp < 0x80) {
				out[k++] = (uint8_t)cp;
			} else if (cp < 0x800) {
				out[k++] = (uint8_t)(0xC0 | cp >> 6);
				out[k++] = (uint8_t)(0x80 | (cp & 0x3F));
			} else {
				out[k++] = (uint8_t)(0xE0 | cp >> 12);
				out[k++] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
				out[k++] = (uint8_t)(0x80 | (cp & 0x3F));
			}
		}
	}
	auth_set_user(s, out, k);
}

/*
 * One client SASL response (step 0 is the initial response on the AUTH
 * line).  Pulls the user name out: PLAIN (RFC 4616) "authzid NUL authcid NUL
 * passwd", LOGIN (first response), CRAM-MD5 (RFC 2195) "user digest",
 * XOAUTH2 "user=...^Aauth=...", NTLM type 3.
 */
static void
auth_response(smtp_t *s, wt_cursor_t b64, int step)
{
	uint8_t buf[4096];
	size_t n = b64_decode(b64, buf, sizeof buf);
	wt_cursor_t c = wt_cur_make(buf, n);
	const char *m = s->auth_mech;
	ptrdiff_t z;

	if (strcmp(m, "PLAIN") == 0) {
		z = wt_cur_find(&c, 0);
		if (z < 0)
			return;
		wt_cur_skip(&c, (size_t)z + 1);
		z = wt_cur_find(&c, 0);
		if (z >= 0)
			auth_set_user(s, wt_cur_peek(&c, (size_t)z), (size_t)z);
	} else if (strcmp(m, "LOGIN") == 0) {
		/* with an initial response, it is the user; else step 1 is */
		if (step == 0 || (step == 1 && !json_is_string(json_object_get(s->auth, "user"))))
			auth_set_user(s, buf, n);
	} else if (strcmp(m, "CRAM-MD5") == 0) {
		z = wt_cur_find(&c, ' ');
		if (z > 0)
			auth_set_user(s, buf, (size_t)z);
	} else if (strcmp(m, "XOAUTH2") == 0 || strcmp(m, "OAUTHBEARER") == 0) {
		/* RFC 7628 gs2 header "n,a=user," or Google's "user=" */
		while (wt_cur_left(&c) > 0) {
			ptrdiff_t e = wt_cur_find(&c, 0x01);
			size_t len = e < 0 ? wt_cur_left(&c) : (size_t)e;
			wt_cursor_t kv = wt_cur_sub(&c, len);
			if (cur_prefix_ci(&kv, "USER=")) {
				auth_set_user(s, wt_cur_peek(&kv, wt_cur_left(&kv)), wt_cur_left(&kv));
				return;
			}
			if (cur_prefix_ci(&kv, "N,A=")) {
				ptrdiff_t comma = wt_cur_find(&kv, ',');
				size_t ul = comma < 0 ? wt_cur_left(&kv) : (size_t)comma;
				auth_set_user(s, wt_cur_peek(&kv, ul), ul);
				return;
			}
			if (e >= 0)
				wt_cur_skip(&c, 1);
		}
	} else if (strcmp(m, "NTLM") == 0) {
		auth_ntlm_user(s, buf, n);
	}
}

/* ---- commands ------------------------------------------------------------- */

static enum verb
verb_lookup(const wt_cursor_t *w)
{
	size_t n = wt_cur_left(w), i, k;
	const uint8_t *p = wt_cur_peek(w, n);
	if (!p || n == 0 || n > 12)
		return V_UNKNOWN;
	for (k = 1; verb_names[k]; k++) {
		if (strlen(verb_names[k]) != n)
			continue;
		for (i = 0; i < n; i++)
			if (upper(p[i]) != (uint8_t)verb_names[k][i])
				break;
		if (i == n)
			return (enum verb)k;
	}
	return V_UNKNOWN;
}

/* "<path>" or a bare address, then ESMTP parameters (RFC 5321 §4.1.2). */
static void
parse_path_params(wt_cursor_t *c, json_t **addr, json_t **params)
{
	const uint8_t *p;
	cur_skip_sp(c);
	p = wt_cur_peek(c, 1);
	if (p && p[0] == '<') {
		ptrdiff_t e = wt_cur_find(c, '>');
		size_t len = e < 0 ? wt_cur_left(c) : (size_t)e + 1;
		wt_cursor_t a = wt_cur_sub(c, len);
		wt_cur_skip(&a, 1);
		if (e >= 0)
			a.len--;
		*addr = cur_json(&a);
	} else {
		wt_cursor_t a = cur_word(c);
		*addr = cur_json(&a);
	}
	*params = json_object();
	for (;;) {
		wt_cursor_t w = cur_word(c), k;
		ptrdiff_t eq;
		char key[64];
		size_t kl, i;
		if (wt_cur_left(&w) == 0)
			break;
		eq = wt_cur_find(&w, '=');
		kl = eq < 0 ? wt_cur_left(&w) : (size_t)eq;
		k = wt_cur_sub(&w, kl);
		for (i = 0; i < kl && i + 1 < sizeof key; i++) {
			uint8_t ch = upper(wt_cur_u8(&k));
			key[i] = (ch > ' ' && ch < 0x7F) ? (char)ch : '?';
		}
		key[i] = '\0';
		if (json_object_size(*params) >= 32)
			break;
		if (eq < 0) {
			json_object_set_new(*params, key, json_true());
		} else {
			wt_cur_skip(&w, 1);
			json_object_set_new(*params, key, cur_json(&w));
		}
	}
}

static void
do_auth_cmd(smtp_t *s, const wt_pkt_t *pkt, wt_cursor_t line, wt_cursor_t *args)
{
	wt_cursor_t mech = cur_word(args), ir;
	size_t i, n = wt_cur_left(&mech);
	char text[128];

	for (i = 0; i < n && i + 1 < sizeof s->auth_mech; i++) {
		uint8_t ch = upper(wt_cur_u8(&mech));
		s->auth_mech[i] = (ch > ' ' && ch < 0x7F) ? (char)ch : '?';
	}
	s->auth_mech[i] = '\0';
	json_decref(s->auth);
	s->auth = json_object();
	json_object_set_new(s->auth, "mechanism", json_string(s->auth_mech));
	json_object_set_new(s->auth, "user", json_null());
	json_object_set_new(s->auth, "success", json_null());
	s->auth_active = true;
	s->auth_step = 0;
	ir = cur_word(args);
	if (wt_cur_left(&ir) > 0 && !(wt_cur_left(&ir) == 1 && *wt_cur_peek(&ir, 1) == '=')) {
		auth_response(s, ir, 0);
		s->auth_step = 1;
		if (s->show_secrets) {
			dialogue_add(s, pkt, WT_TO_SERVER, line, -1, NULL);
		} else {
			snprintf(text, sizeof text, "AUTH %s %s", s->auth_mech, REDACTED);
			dialogue_add(s, pkt, WT_TO_SERVER, str_text(text), -1, NULL);
		}
	} else {
		dialogue_add(s, pkt, WT_TO_SERVER, line, -1, NULL);
	}
	q_push(s, pkt, V_AUTH, NULL, NULL, NULL, false);
}

/* One command line (without its CRLF). */
static void
do_command(smtp_t *s, const wt_pkt_t *pkt, wt_cursor_t line)
{
	wt_cursor_t args = line, w = cur_word(&args);
	enum verb v = verb_lookup(&w);
	json_t *tx, *addr = NULL, *params = NULL;

	if (v == V_AUTH) {
		s->any_command = true;
		do_auth_cmd(s, pkt, line, &args);
		return;
	}
	if (v != V_UNKNOWN)
		s->any_command = true;
	dialogue_add(s, pkt, WT_TO_SERVER, line, -1, NULL);

	switch (v) {
	case V_HELO:
	case V_EHLO:
	case V_LHLO: {
		wt_cursor_t h = cur_word(&args);
		if (!s->helo)
			s->helo = cur_json(&h);
		/* RFC 5321 §4.1.4: HELO/EHLO resets any transaction */
		s->tx = NULL;
		q_push(s, pkt, v, NULL, NULL, NULL, false);
		return;
	}
	case V_MAIL:
		if (!cur_prefix_ci(&args, "FROM:")) {
			cur_skip_sp(&args);
			if (!cur_prefix_ci(&args, "FROM:"))
				SMTP_WARN(s, pkt, "SMTP_BAD_MAIL", "MAIL without FROM:");
		}
		s->tx = tx = tx_new(s, pkt);
		parse_path_params(&args, &addr, &params);
		if (tx) {
			json_object_set_new(tx, "mail_from", addr);
			json_object_set_new(tx, "mail_params", params);
		} else {
			json_decref(addr);
			json_decref(params);
		}
		q_push(s, pkt, V_MAIL, tx, NULL, NULL, false);
		return;
	case V_RCPT:
		if (!cur_prefix_ci(&args, "TO:")) {
			cur_skip_sp(&args);
			if (!cur_prefix_ci(&args, "TO:"))
				SMTP_WARN(s, pkt, "SMTP_BAD_RCPT", "RCPT without TO:");
		}
		parse_path_params(&args, &addr, &params);
		q_push(s, pkt, V_RCPT, tx_current(s, pkt), addr, params, false);
		return;
	case V_DATA:
		q_push(s, pkt, V_DATA, tx_current(s, pkt), NULL, NULL, false);
		return;
	case V_BDAT: {
		/* RFC 3030 §2: "BDAT" SP chunk-size [SP "LAST"] */
		wt_cursor_t sz = cur_word(&args), last = cur_word(&args);
		uint64_t size = 0;
		size_t i, n = wt_cur_left(&sz);
		bool ok = n > 0 && n <= 19;
		for (i = 0; ok && i < n; i++) {
			uint8_t ch = wt_cur_u8(&sz);
			if (!is_digit(ch))
				ok = false;
			size = size * 10 + (uint64_t)(ch - '0');
		}
		if (!ok) {
			SMTP_WARN(s, pkt, "SMTP_BAD_BDAT", "BDAT without a valid chunk size");
			q_push(s, pkt, V_BDAT, tx_current(s, pkt), NULL, NULL, false);
			return;
		}
		s->bdat_last = cur_prefix_ci(&last, "LAST");
		tx = tx_current(s, pkt);
		if (tx)
			json_object_set_new(tx, "mode", json_string("bdat"));
		msg_start(s, pkt, tx);
		q_push(s, pkt, V_BDAT, tx, NULL, NULL, s->bdat_last);
		s->bdat_left = size;
		if (size > 0)
			s->cmode = C_BDAT;
		else if (s->bdat_last)
			msg_end(s, pkt, true);
		return;
	}
	case V_RSET:
		s->tx = NULL;
		break;
	case V_UNKNOWN: {
		const uint8_t *p = wt_cur_peek(&w, 1);
		s->unknown_commands++;
		if (wt_cur_left(&line) == 0)
			SMTP_WARN(s, pkt, "SMTP_EMPTY_COMMAND", "empty command line");
		else if (!p || !((p[0] >= 'A' && p[0] <= 'Z') || (p[0] >= 'a' && p[0] <= 'z')))
			SMTP_WARN(s, pkt, "SMTP_BAD_COMMAND", "client line is not a command");
		else
			SMTP_WARN(s, pkt, "SMTP_UNKNOWN_COMMAND", "unknown command");
		break;
	}
	default:
		break;
	}
	q_push(s, pkt, v, NULL, NULL, NULL, false);
}

/* One client line while an AUTH exchange runs. */
static void
do_auth_line(smtp_t *s, const wt_pkt_t *pkt, wt_cursor_t line)
{
	smtp_line_t *e;
	if (wt_cur_left(&line) == 1 && *wt_cur_peek(&line, 1) == '*') {
		/* RFC 4954 §4: the client cancels */
		e = dialogue_add(s, pkt, WT_TO_SERVER, str_text("*"), -1, NULL);
		if (e)
			e->sasl = 1;
		return;
	}
	{
		/* No reply ended the exchange (lost, or the server went
		 * silent) and the client has moved on: a SASL response is
		 * one base64 word, a command line with arguments or a bare
		 * DATA/QUIT/RSET/NOOP is not one. */
		wt_cursor_t a = line, w = cur_word(&a);
		enum verb v = verb_lookup(&w);
		cur_skip_sp(&a);
		if (v != V_UNKNOWN && (wt_cur_left(&a) > 0 || v == V_DATA ||
				       v == V_QUIT || v == V_RSET || v == V_NOOP)) {
			SMTP_WARN(s, pkt, "SMTP_AUTH_UNFINISHED",
				  "AUTH exchange without an outcome; the client sends commands again");
			s->auth_active = false;
			if (q_front(s) && q_front(s)->verb == V_AUTH)
				q_pop(s);
			do_command(s, pkt, line);
			return;
		}
	}
	auth_response(s, line, s->auth_step);
	s->auth_step++;
	e = dialogue_add(s, pkt, WT_TO_SERVER,
			 s->show_secrets ? line : str_text(REDACTED), -1, NULL);
	if (e) /* a SASL response, not a command */
		e->sasl = 1;
}

/* ---- replies -------------------------------------------------------------- */

/* RFC 3463 enhanced status code "c.sss.ddd" at the start of the text;
 * false when there is none. */
static bool
enhanced_code(wt_cursor_t *t, int code, wt_cursor_t *out)
{
	wt_cursor_t c = *t, w = cur_word(&c);
	size_t n = wt_cur_left(&w), i, dots = 0, run = 0;
	const uint8_t *p = wt_cur_peek(&w, n);
	if (!p || n < 5 || n > 9 || code / 100 == 3)
		return false; /* RFC 3463 §2: class 2, 4 or 5 only */
	if (p[0] != '0' + code / 100 || p[1] != '.')
		return false;
	for (i = 1; i < n; i++) {
		if (p[i] == '.') {
			if (run == 0 && i > 1)
				return false;
			dots++;
			run = 0;
		} else if (is_digit(p[i]) && run < 3) {
			run++;
		} else {
			return false;
		}
	}
	if (dots != 2 || run == 0)
		return false;
	*out = w;
	*t = c;
	cur_skip_sp(t);
	return true;
}

static void
ext_add(smtp_t *s, size_t line)
{
	if (json_array_size(s->extensions) < SMTP_EXT_CAP)
		json_array_append_new(s->extensions,
				      text_at(s->rl_text.p, s->rl_off[line], s->rl_len[line]));
}

/* The text of the last line of the reply (new), or NULL. */
static json_t *
reply_text(smtp_t *s)
{
	size_t i = s->rl_n - 1;
	return s->rl_n ? text_at(s->rl_text.p, s->rl_off[i], s->rl_len[i]) : NULL;
}

static void
reply_clear(smtp_t *s)
{
	s->rl_n = 0;
	s->rl_text.len = 0;
}

/* A reply is complete (its last line was "NNN " or "NNN"): match it. */
static void
reply_done(smtp_t *s, const wt_pkt_t *pkt, int code)
{
	smtp_pending_t *e = q_front(s);
	json_t *last_text;
	size_t i;

	if (!s->greeted && (!e || code == 220 || code == 554)) {
		/* the greeting (RFC 5321 §4.3.1); 554 refuses the connection */
		s->greeted = true;
		if (!e || code == 220)
			return;
	}
	s->greeted = true;
	if (s->cmode == C_DATA &&
	    (!e || (e->verb == V_DATA_END && s->end_queued && code != 354))) {
		/* The server answered the end of a message whose "." we
		 * never saw (it fell into a gap): the message is over. */
		SMTP_WARN(s, pkt, "SMTP_DATA_END_UNSEEN",
			  "reply %d while the message was still being read; "
			  "its end was not captured", code);
		if (s->msg_tx) {
			json_object_set_new(s->msg_tx, "reply_code", json_integer(code));
			if ((last_text = reply_text(s)) != NULL)
				json_object_set_new(s->msg_tx, "reply_text", last_text);
		}
		s->data_gap = true;
		msg_end(s, pkt, false);
		/* The rest of the message may still come (the flow layer may
		 * deliver the client's bytes after the gap only now): skip
		 * client lines up to a "." line or a known command. */
		s->cmode = C_SKIP;
		s->dstate = D_BOL;
		s->tx = NULL;
		return;
	}
	if (!e) {
		if (code != 421)
			SMTP_WARN(s, pkt, "SMTP_UNEXPECTED_REPLY",
				  "reply %d matches no command", code);
		return;
	}
	switch (e->verb) {
	case V_EHLO:
	case V_LHLO:
		if (code / 100 == 2) {
			s->esmtp = true;
			json_array_clear(s->extensions);
			for (i = 1; i < s->rl_n; i++)
				ext_add(s, i);
		}
		break;
	case V_MAIL:
		if (e->tx)
			json_object_set_new(e->tx, "mail_reply", json_integer(code));
		break;
	case V_RCPT:
		if (e->tx && code / 100 == 2) {
			if (json_array_size(json_object_get(e->tx, "rcpt_to")) < SMTP_RCPT_CAP) {
				json_array_append(json_object_get(e->tx, "rcpt_to"), e->addr);
				json_array_append(json_object_get(e->tx, "rcpt_params"), e->params);
			}
		} else if (e->tx) {
			json_t *r = json_object();
			json_object_set(r, "address", e->addr);
			json_object_set_new(r, "code", json_integer(code));
			if ((last_text = reply_text(s)) != NULL)
				json_object_set_new(r, "text", last_text);
			if (json_array_size(json_object_get(e->tx, "rejected_rcpt")) < SMTP_RCPT_CAP)
				json_array_append_new(json_object_get(e->tx, "rejected_rcpt"), r);
			else
				json_decref(r);
		}
		break;
	case V_DATA:
		if (code == 354) {
			if (e->tx)
				json_object_set_new(e->tx, "mode", json_string("data"));
			if (s->cmode == C_CMD) {
				s->cmode = C_DATA;
				s->dstate = D_BOL;
				s->end_queued = false;
				msg_start(s, pkt, e->tx);
			}
		} else if (e->tx) {
			json_object_set_new(e->tx, "reply_code", json_integer(code));
			if ((last_text = reply_text(s)) != NULL)
				json_object_set_new(e->tx, "reply_text", last_text);
		}
		break;
	case V_DATA_END:
	case V_BDAT:
		if (e->verb == V_DATA_END && code == 354)
			return; /* the 354 of a DATA whose message we already read */
		if (e->tx && (e->verb == V_DATA_END || e->last || code / 100 != 2)) {
			json_object_set_new(e->tx, "reply_code", json_integer(code));
			if ((last_text = reply_text(s)) != NULL)
				json_object_set_new(e->tx, "reply_text", last_text);
		}
		break;
	case V_STARTTLS:
		if (code == 220)
			s->tls = true;
		break;
	case V_AUTH:
		if (code == 334)
			return; /* a challenge: the exchange goes on */
		s->auth_active = false;
		if (s->auth)
			json_object_set_new(s->auth, "success", json_boolean(code == 235));
		break;
	default:
		break;
	}
	q_pop(s);
}

/* One server line (without its CRLF). */
static void
do_reply_line(smtp_t *s, const wt_pkt_t *pkt, wt_cursor_t line)
{
	const uint8_t *p = wt_cur_peek(&line, 3);
	wt_cursor_t text = line, enh;
	int code;
	bool more = false;

	if (!p || !is_digit(p[0]) || !is_digit(p[1]) || !is_digit(p[2]) ||
	    p[0] < '2' || p[0] > '5') {
		SMTP_WARN(s, pkt, "SMTP_BAD_REPLY", "server line is not a reply");
		dialogue_add(s, pkt, WT_TO_CLIENT, line, -1, NULL);
		return;
	}
	code = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
	wt_cur_skip(&text, 3);
	p = wt_cur_peek(&text, 1);
	if (p && p[0] == '-')
		more = true;
	if (p && (p[0] == '-' || p[0] == ' '))
		wt_cur_skip(&text, 1);
	if (s->rl_n > 0 && code != s->reply_code)
		SMTP_WARN(s, pkt, "SMTP_REPLY_CODE_CHANGED",
			  "multi-line reply changes its code from %d to %d",
			  s->reply_code, code);
	s->reply_code = code;
	dialogue_add(s, pkt, WT_TO_CLIENT, line, code,
		     enhanced_code(&text, code, &enh) ? &enh : NULL);
	if (s->rl_n < SMTP_REPLY_LINES_CAP) {
		/* extension lines keep the whole text after "250-" */
		wt_cursor_t t = line;
		wt_cur_skip(&t, wt_cur_left(&t) >= 4 ? 4 : 3);
		t = line_text(&t);
		if (buf_add(&s->rl_text, wt_cur_peek(&t, wt_cur_left(&t)), wt_cur_left(&t))) {
			s->rl_off[s->rl_n] = (uint32_t)(s->rl_text.len - wt_cur_left(&t));
			s->rl_len[s->rl_n] = (uint16_t)wt_cur_left(&t);
			s->rl_n++;
		}
	}
	if (!more) {
		reply_done(s, pkt, code);
		reply_clear(s);
	}
}

/* ---- the DATA scanner ----------------------------------------------------- */

/*
 * Feeds the dot-unstuffed message (RFC 5321 §4.5.2) and finds its end, the
 * line "." (CRLF "." CRLF; a bare LF is accepted too).  Returns the bytes
 * consumed; *ended is set when the end was found.
 */
static size_t
data_scan(smtp_t *s, const wt_pkt_t *pkt, wt_cursor_t c, bool *ended)
{
	size_t start = c.off;
	*ended = false;
	while (wt_cur_left(&c) > 0) {
		const uint8_t *b;
		ptrdiff_t lf;
		size_t n;
		switch (s->dstate) {
		case D_MID:
			lf = wt_cur_find(&c, '\n');
			n = lf < 0 ? wt_cur_left(&c) : (size_t)lf + 1;
			b = wt_cur_take(&c, n);
			msg_bytes(s, b, n);
			if (lf >= 0)
				s->dstate = D_BOL;
			break;
		case D_BOL:
			b = wt_cur_peek(&c, 1);
			if (b[0] == '.') {
				wt_cur_skip(&c, 1);
				s->dstate = D_DOT;
			} else {
				s->dstate = D_MID;
			}
			break;
		case D_DOT:
			b = wt_cur_peek(&c, 1);
			if (b[0] == '\r') {
				wt_cur_skip(&c, 1);
				s->dstate = D_DOT_CR;
			} else if (b[0] == '\n') {
				wt_cur_skip(&c, 1);
				*ended = true;
				return c.off - start;
			} else {
				/* a stuffed dot: drop it, the line goes on */
				s->dstate = D_MID;
			}
			break;
		case D_DOT_CR:
			b = wt_cur_peek(&c, 1);
			if (b[0] == '\n') {
				wt_cur_skip(&c, 1);
				*ended = true;
				return c.off - start;
			}
			msg_bytes(s, (const uint8_t *)"\r", 1);
			s->dstate = D_MID;
			break;
		}
	}
	(void)pkt;
	return c.off - start;
}

static void
data_ended(smtp_t *s, const wt_pkt_t *pkt)
{
	json_t *tx = s->msg_tx;
	msg_end(s, pkt, true);
	s->cmode = C_CMD;
	s->dstate = D_BOL;
	/* the server's reply to the end of the message comes after any
	 * reply still owed (RFC 2920 §3.1) */
	if (!s->end_queued)
		q_push(s, pkt, V_DATA_END, tx, NULL, NULL, false);
	s->end_queued = false;
	s->tx = NULL;
}

/* ---- the dissector callbacks --------------------------------------------- */

static bool
smtp_match(const wt_ctx_t *ctx, uint16_t sport, uint16_t dport, bool *server_is_dst)
{
	if (wt_port_is_smtp(ctx, dport)) {
		*server_is_dst = true;
		return true;
	}
	if (wt_port_is_smtp(ctx, sport)) {
		*server_is_dst = false;
		return true;
	}
	return false;
}

static void *
smtp_open(wt_ctx_t *ctx, const wt_flow_info_t *fi)
{
	smtp_t *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->ctx = ctx;
	s->fi = *fi;
	s->last_frame = fi->first_frame;
	s->show_secrets = wt_ctx_options(ctx)->show_secrets != 0;
	s->extensions = json_array();
	s->transactions = json_array();
	/* SMTP over implicit TLS (RFC 8314 §3.3): nothing to read as text */
	if (fi->server.port == 465) {
		s->tls = true;
		s->tls_implicit = true;
	}
	return s;
}

/* Looks like a TLS record (a handshake): 0x16 0x03. */
static bool
looks_tls(wt_cursor_t c)
{
	const uint8_t *p = wt_cur_peek(&c, 2);
	return p && p[0] == 0x16 && p[1] == 0x03;
}

/* After a gap: does the data start with what a line of that side starts
 * with (a reply code, a known command)?  Then there is nothing to skip. */
static bool
line_starts_well(smtp_t *s, wt_dir_t dir, wt_cursor_t c)
{
	const uint8_t *p;
	if (dir == WT_TO_CLIENT) {
		p = wt_cur_peek(&c, 4);
		return p && is_digit(p[0]) && is_digit(p[1]) && is_digit(p[2]) &&
		       (p[3] == ' ' || p[3] == '-' || p[3] == '\r');
	}
	if (s->auth_active)
		return false;
	{
		ptrdiff_t lf = wt_cur_find(&c, '\n');
		wt_cursor_t w;
		if (lf < 0)
			return false;
		wt_cursor_t t = c;
		c.len = c.off + (size_t)lf;
		if (lf > 0 && wt_cur_seek(&t, c.len - 1) &&
		    (p = wt_cur_peek(&t, 1)) != NULL && p[0] == '\r')
			c.len--;
		w = cur_word(&c);
		return verb_lookup(&w) != V_UNKNOWN;
	}
}

/* Lines of either side, with the overlong-line and resync rules. */
static size_t
lines_scan(smtp_t *s, wt_dir_t dir, wt_cursor_t *c, const wt_pkt_t *pkt,
	   bool *need_more)
{
	wt_cursor_t line;
	*need_more = false;
	if (s->resync[dir] && line_starts_well(s, dir, *c))
		s->resync[dir] = false;
	if (s->discard[dir] || s->resync[dir]) {
		ptrdiff_t lf = wt_cur_find(c, '\n');
		if (lf < 0) {
			wt_cur_skip(c, wt_cur_left(c));
			return 0;
		}
		wt_cur_skip(c, (size_t)lf + 1);
		s->discard[dir] = s->resync[dir] = false;
		return 0;
	}
	if (!wt_cur_line(c, &line)) {
		if (wt_cur_left(c) >= SMTP_LINE_CAP) {
			SMTP_WARN(s, pkt, "SMTP_LINE_TOO_LONG",
				  "%s line longer than %d bytes; skipped",
				  dir == WT_TO_SERVER ? "client" : "server", SMTP_LINE_CAP);
			wt_cur_skip(c, wt_cur_left(c));
			s->discard[dir] = true;
		} else {
			*need_more = true;
		}
		return 0;
	}
	if (dir == WT_TO_CLIENT) {
		do_reply_line(s, pkt, line);
		return 1;
	}
	if (s->auth_active) {
		do_auth_line(s, pkt, line);
		return 1;
	}
	if (s->cmode == C_SKIP) {
		if (wt_cur_left(&line) == 1 && *wt_cur_peek(&line, 1) == '.') {
			s->cmode = C_CMD;
			return 1;
		}
		{
			wt_cursor_t a = line, w = cur_word(&a);
			if (verb_lookup(&w) == V_UNKNOWN)
				return 1;
		}
		s->cmode = C_CMD;
	}
	if ((s->fi.midstream || !s->greeted) && !s->any_command) {
		wt_cursor_t a = line, w = cur_word(&a);
		if (verb_lookup(&w) == V_UNKNOWN) {
			/* Joined in the middle of a message (the server speaks
			 * first, so client text before any greeting and any
			 * command is a late start): skip to its end. */
			SMTP_WARN(s, pkt, "SMTP_MIDSTREAM",
				  "connection joined mid-dialogue; client text before "
				  "the first command skipped");
			s->cmode = C_SKIP;
			return 1;
		}
	}
	do_command(s, pkt, line);
	return 1;
}

static size_t
smtp_data(void *st, wt_dir_t dir, const uint8_t *p, size_t n, const wt_pkt_t *pkt)
{
	smtp_t *s = st;
	wt_cursor_t c = wt_cur_make(p, n);

	if (pkt->frame > s->last_frame)
		s->last_frame = pkt->frame;
	if (!s->tls && s->q_len == 0 && !s->greeted && dir == WT_TO_SERVER &&
	    !s->any_command && looks_tls(c)) {
		/* a TLS handshake on a plain-text port: implicit TLS */
		s->tls = true;
		s->tls_implicit = true;
	}
	while (wt_cur_left(&c) > 0) {
		bool need_more = false;
		if (s->tls) {
			s->tls_bytes[dir] += wt_cur_left(&c);
			wt_cur_skip(&c, wt_cur_left(&c));
			break;
		}
		if (dir == WT_TO_SERVER) {
			smtp_pending_t *b = q_back(s);
			if (s->cmode == C_CMD && b && b->verb == V_DATA && !s->auth_active) {
				/* Bytes after an unanswered DATA are the message;
				 * its entry now awaits the final reply (a 354 that
				 * still comes is taken as an intermediate one). */
				s->cmode = C_DATA;
				s->dstate = D_BOL;
				b->verb = V_DATA_END;
				s->end_queued = true;
				if (b->tx)
					json_object_set_new(b->tx, "mode", json_string("data"));
				msg_start(s, pkt, b->tx);
			}
			if (s->cmode == C_CMD && b && b->verb == V_STARTTLS && looks_tls(c)) {
				s->tls = true;
				continue;
			}
			if (s->cmode == C_DATA) {
				bool ended;
				size_t off = c.off;
				wt_cursor_t r = wt_cur_rest(&c);
				wt_cur_seek(&c, off + data_scan(s, pkt, r, &ended));
				if (ended)
					data_ended(s, pkt);
				continue;
			}
			if (s->cmode == C_BDAT) {
				size_t take = wt_cur_left(&c);
				if ((uint64_t)take > s->bdat_left)
					take = (size_t)s->bdat_left;
				msg_bytes(s, wt_cur_take(&c, take), take);
				s->bdat_left -= take;
				if (s->bdat_left == 0) {
					s->cmode = C_CMD;
					if (s->bdat_last) {
						msg_end(s, pkt, true);
						s->tx = NULL;
					}
				}
				continue;
			}
		}
		lines_scan(s, dir, &c, pkt, &need_more);
		if (need_more)
			break;
	}
	return n - wt_cur_left(&c);
}

static void
smtp_gap(void *st, wt_dir_t dir, uint64_t n, const wt_pkt_t *pkt)
{
	smtp_t *s = st;
	if (pkt && pkt->frame > s->last_frame)
		s->last_frame = pkt->frame;
	s->gaps++;
	s->gap_bytes += n;
	if (s->tls)
		return;
	if (dir == WT_TO_SERVER && s->cmode == C_DATA) {
		/* The message lost bytes.  Its end may have been lost too: a
		 * server reply while we still read the message says so. */
		s->data_gap = true;
		s->dstate = D_MID;
		SMTP_WARN(s, pkt, "SMTP_GAP", "%llu bytes of the message not captured",
			  (unsigned long long)n);
		return;
	}
	if (dir == WT_TO_SERVER && s->cmode == C_BDAT) {
		s->data_gap = true;
		if (n >= s->bdat_left) {
			/* the chunk ended inside the gap; what follows is a
			 * command, maybe cut: resynchronise at a line end */
			s->bdat_left = 0;
			s->cmode = C_CMD;
			s->resync[dir] = true;
			if (s->bdat_last) {
				msg_end(s, pkt, false);
				s->tx = NULL;
			}
		} else {
			s->bdat_left -= n;
		}
		SMTP_WARN(s, pkt, "SMTP_GAP", "%llu bytes of a BDAT chunk not captured",
			  (unsigned long long)n);
		return;
	}
	SMTP_WARN(s, pkt, "SMTP_GAP", "%llu %s bytes not captured; resynchronising at the next line",
		  (unsigned long long)n, dir == WT_TO_SERVER ? "client" : "server");
	s->resync[dir] = true;
	s->discard[dir] = false;
	if (dir == WT_TO_CLIENT)
		reply_clear(s);
}

static json_t *
endpoint(const wt_endpoint_t *e)
{
	return wt_json_endpoint(e);
}

static void
smtp_close(void *st, wt_end_t why, const wt_pkt_t *last)
{
	smtp_t *s = st;
	json_t *rec;
	wt_pkt_t fake;

	if (last && last->frame > s->last_frame)
		s->last_frame = last->frame;
	if (!last) {
		memset(&fake, 0, sizeof fake);
		fake.frame = s->last_frame;
		fake.ts = s->fi.first_ts;
		last = &fake;
	}
	if (s->imf) {
		if (s->cmode == C_DATA || s->cmode == C_BDAT)
			SMTP_WARN(s, last, "SMTP_MESSAGE_UNFINISHED",
				  "connection ended inside a message");
		msg_end(s, last, false);
	}
	rec = json_object();
	json_object_set_new(rec, "type", json_string("smtp"));
	json_object_set_new(rec, "ts", wt_json_ts(&s->fi.first_ts));
	json_object_set_new(rec, "stream", json_integer((json_int_t)s->fi.stream));
	json_object_set_new(rec, "client", endpoint(&s->fi.client));
	json_object_set_new(rec, "server", endpoint(&s->fi.server));
	json_object_set_new(rec, "first_frame", json_integer((json_int_t)s->fi.first_frame));
	json_object_set_new(rec, "last_frame", json_integer((json_int_t)s->last_frame));
	json_object_set_new(rec, "midstream", json_boolean(s->fi.midstream));
	json_object_set_new(rec, "end", json_string(wt_end_name(why)));
	json_object_set_new(rec, "helo", s->helo ? json_incref(s->helo) : json_null());
	json_object_set_new(rec, "esmtp", json_boolean(s->esmtp));
	json_object_set_new(rec, "extensions", json_incref(s->extensions));
	json_object_set_new(rec, "tls", json_boolean(s->tls));
	json_object_set_new(rec, "tls_implicit", json_boolean(s->tls_implicit));
	{
		json_t *tb = json_object();
		json_object_set_new(tb, "to_server", json_integer((json_int_t)s->tls_bytes[0]));
		json_object_set_new(tb, "to_client", json_integer((json_int_t)s->tls_bytes[1]));
		json_object_set_new(rec, "encrypted_bytes", tb);
	}
	json_object_set_new(rec, "auth", s->auth ? json_incref(s->auth) : json_null());
	json_object_set_new(rec, "transactions", json_incref(s->transactions));
	json_object_set_new(rec, "dialogue", dialogue_json(s));
	json_object_set_new(rec, "dialogue_dropped", json_integer((json_int_t)s->dialogue_dropped));
	json_object_set_new(rec, "unknown_commands", json_integer((json_int_t)s->unknown_commands));
	json_object_set_new(rec, "unanswered", json_integer((json_int_t)s->q_len));
	json_object_set_new(rec, "warnings", json_integer((json_int_t)s->warnings));
	json_object_set_new(rec, "gaps", json_integer((json_int_t)s->gaps));
	json_object_set_new(rec, "gap_bytes", json_integer((json_int_t)s->gap_bytes));
	wt_emit(s->ctx, rec);

	while (s->q_len)
		q_pop(s);
	json_decref(s->helo);
	json_decref(s->extensions);
	json_decref(s->auth);
	json_decref(s->transactions);
	free(s->dlg);
	free(s->dtext.p);
	free(s->rl_text.p);
	free(s);
}

const wt_dissector_t wt_smtp_dissector = {
	.name = "smtp",
	.ipproto = 6,
	.match = smtp_match,
	.open = smtp_open,
	.data = smtp_data,
	.gap = smtp_gap,
	.datagram = NULL,
	.close = smtp_close,
};
