/* \summary: POP3 dissector (RFC 1939, RFC 2449, RFC 2595 STLS, RFC 5034 AUTH): one record per connection */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/record.h"
#include "proto/dialogue.h"
#include "proto/dissector.h"
#include "proto/imf.h"
#include "wiretale/cursor.h"

/* Caps: every table and buffer of a connection is bounded. */
#define POP3_LINE_CAP 65536       /* longest line kept whole (RFC 1939 says 512) */
#define POP3_TEXT_CAP 1024        /* bytes of a line shown in the dialogue */
#define POP3_QUEUE 64             /* pipelined commands awaiting a response */
#define POP3_MAX_DIALOGUE 20000   /* dialogue entries per connection */
#define POP3_MAX_MESSAGES 4096    /* retrieved messages per connection */
#define POP3_USER_CAP 256         /* bytes of a user name kept */

#define REDACTED "[REDACTED]"

enum pop3_cmd {
	CMD_OTHER = 0,
	CMD_USER,
	CMD_PASS,
	CMD_APOP,
	CMD_AUTH,
	CMD_STAT,
	CMD_LIST,
	CMD_UIDL,
	CMD_RETR,
	CMD_TOP,
	CMD_DELE,
	CMD_NOOP,
	CMD_RSET,
	CMD_QUIT,
	CMD_CAPA,
	CMD_STLS
};

static const char *const cmd_names[] = {
	[CMD_OTHER] = NULL,   [CMD_USER] = "USER", [CMD_PASS] = "PASS",
	[CMD_APOP] = "APOP",  [CMD_AUTH] = "AUTH", [CMD_STAT] = "STAT",
	[CMD_LIST] = "LIST",  [CMD_UIDL] = "UIDL", [CMD_RETR] = "RETR",
	[CMD_TOP] = "TOP",    [CMD_DELE] = "DELE", [CMD_NOOP] = "NOOP",
	[CMD_RSET] = "RSET",  [CMD_QUIT] = "QUIT", [CMD_CAPA] = "CAPA",
	[CMD_STLS] = "STLS",
};

/* Whether a +OK answer to the command is followed by a multi-line body
 * ending in "." (RFC 1939 section 3). */
enum multi {
	MULTI_NO = 0,
	MULTI_YES,
	MULTI_MAYBE /* AUTH without a mechanism: some servers list them */
};

typedef struct pop3_pending {
	uint8_t cmd;
	uint8_t multi;
	uint64_t number; /* RETR/TOP message number */
	uint64_t frame;
} pop3_pending_t;

enum srv_state {
	SRV_STATUS = 0, /* expecting a status line */
	SRV_BODY,       /* inside a multi-line response */
	SRV_SKIP        /* inside a multi-line response we cannot place */
};

/* A message being retrieved by RETR/TOP. */
typedef struct pop3_msg {
	bool active;
	uint8_t cmd;
	uint64_t number;
	uint64_t index;
	uint64_t first_frame;
	uint64_t size;
	bool gap;
	wt_imf_t *imf;
	FILE *out;
} pop3_msg_t;

enum sasl_mech {
	SASL_OTHER = 0,
	SASL_PLAIN,
	SASL_LOGIN,
	SASL_CRAM,
	SASL_XOAUTH2,
	SASL_OAUTHBEARER
};

typedef struct pop3 {
	wt_ctx_t *ctx;
	wt_flow_info_t fi;
	bool show_secrets;
	bool implicit_tls;
	bool starttls;
	uint64_t starttls_frame;
	bool encrypted;
	uint64_t last_frame;

	bool discard[2];    /* dropping the rest of an overlong or gapped line */
	bool resync[2];     /* first data after a gap: is it a line start? */
	bool seen_server;   /* any server line: the first is the greeting */
	bool client_gap;    /* commands lost: responses may not match */

	pop3_pending_t q[POP3_QUEUE];
	size_t q_head, q_len;

	enum srv_state srv;
	pop3_pending_t body_of;  /* the command whose multi-line body this is */
	bool maybe_multi;        /* the body of a MULTI_MAYBE answer may follow */
	pop3_msg_t msg;

	/* SASL exchange (RFC 5034 section 4) */
	bool in_sasl;
	uint8_t sasl_mech;
	unsigned sasl_steps;

	char user[POP3_USER_CAP];
	bool have_user;
	json_t *auth; /* {"mechanism","user","success"} or NULL */
	bool auth_pending;
	uint64_t auth_attempts;

	wt_dialogue_t dlg;     /* the dialogue */
	json_t *messages;
	json_t *capabilities;
	uint64_t dialogue_dropped;
	uint64_t messages_dropped;
	uint64_t warnings;
	uint64_t gaps;
	uint64_t gap_bytes;
	uint32_t warned; /* once-per-connection warnings already given */
} pop3_t;

enum once {
	ONCE_UNMATCHED = 1u << 0,
	ONCE_UNEXPECTED = 1u << 1,
	ONCE_DIALOGUE = 1u << 2,
	ONCE_MESSAGES = 1u << 3,
	ONCE_QUEUE = 1u << 4,
	ONCE_MIDSTREAM = 1u << 5
};

#define pop3_warn(s, pkt, code, ...)                                    \
	do {                                                            \
		(s)->warnings++;                                        \
		wt_warn((s)->ctx, (pkt), "pop3", (code), __VA_ARGS__);  \
	} while (0)

/* ---- byte helpers over cursors ---- */

static bool
cur_ieq(wt_cursor_t w, const char *s)
{
	size_t n = strlen(s), i;
	if (wt_cur_left(&w) != n)
		return false;
	for (i = 0; i < n; i++) {
		uint8_t b = wt_cur_u8(&w);
		if (b >= 'a' && b <= 'z')
			b = (uint8_t)(b - 32);
		if (b != (uint8_t)s[i])
			return false;
	}
	return true;
}

/* Does the cursor start with s (ASCII case-insensitive)? */
static bool
cur_iprefix(wt_cursor_t w, const char *s)
{
	size_t n = strlen(s);
	if (!wt_cur_has(&w, n))
		return false;
	w.len = w.off + n;
	return cur_ieq(w, s);
}

/* The next byte without taking it, or -1. */
static int
cur_peek8(const wt_cursor_t *c)
{
	wt_cursor_t t = *c;
	return wt_cur_has(&t, 1) ? wt_cur_u8(&t) : -1;
}

/* Next token separated by spaces; false at the end. */
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

static bool
cur_uint(wt_cursor_t w, uint64_t *v)
{
	uint64_t x = 0;
	size_t n = wt_cur_left(&w);
	if (n == 0 || n > 19)
		return false;
	while (wt_cur_has(&w, 1)) {
		uint8_t b = wt_cur_u8(&w);
		if (b < '0' || b > '9')
			return false;
		x = x * 10 + (uint64_t)(b - '0');
	}
	*v = x;
	return true;
}

static json_t *
cur_json(wt_cursor_t w, size_t cap)
{
	size_t n = wt_cur_left(&w);
	const uint8_t *p = wt_cur_peek(&w, n);
	return wt_json_bytes(p, n < cap ? n : cap);
}

/* Copies a token into a NUL-terminated buffer (truncating), with bytes that
 * are not printable ASCII escaped so the result is safe to print. */
static void
cur_cstr(wt_cursor_t w, char *out, size_t cap)
{
	size_t n = wt_cur_left(&w);
	const uint8_t *p = wt_cur_peek(&w, n);
	wt_escape_bytes(p, n, out, cap);
}

/* ---- base64 (RFC 4648) for SASL responses ---- */

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

/* Decodes into out (at most cap bytes); returns the length or -1. */
static long
b64_decode(wt_cursor_t in, uint8_t *out, size_t cap)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t n = 0;
	while (wt_cur_has(&in, 1)) {
		uint8_t c = wt_cur_u8(&in);
		int v;
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

/* ---- record pieces ---- */

static void
set_user(pop3_t *s, wt_cursor_t w)
{
	if (wt_cur_left(&w) == 0)
		return;
	cur_cstr(w, s->user, sizeof s->user);
	s->have_user = true;
}

/* A new authentication attempt (USER/PASS, APOP or AUTH). */
static void
auth_begin(pop3_t *s, const char *mech)
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
auth_user_update(pop3_t *s)
{
	if (s->auth && s->have_user)
		json_object_set_new(s->auth, "user", json_string(s->user));
}

static void
auth_end(pop3_t *s, bool ok)
{
	if (s->auth && s->auth_pending)
		json_object_set_new(s->auth, "success", json_boolean(ok));
	s->auth_pending = false;
}

static void
dialogue_add(pop3_t *s, const wt_pkt_t *pkt, wt_dir_t dir, const uint8_t *p, size_t n,
	     bool truncated)
{
	if (s->dlg.n >= POP3_MAX_DIALOGUE) {
		s->dialogue_dropped++;
		if (!(s->warned & ONCE_DIALOGUE)) {
			s->warned |= ONCE_DIALOGUE;
			pop3_warn(s, pkt, "POP3_DIALOGUE_CAP",
				  "more than %d dialogue lines; the rest are counted, not kept",
				  POP3_MAX_DIALOGUE);
		}
		return;
	}
	wt_dialogue_push(&s->dlg, pkt, dir, p, n, truncated);
}

static void
dialogue_line(pop3_t *s, const wt_pkt_t *pkt, wt_dir_t dir, wt_cursor_t line)
{
	size_t n = wt_cur_left(&line);
	dialogue_add(s, pkt, dir, wt_cur_peek(&line, n), n < POP3_TEXT_CAP ? n : POP3_TEXT_CAP,
		     n > POP3_TEXT_CAP);
}

/* "VERB [REDACTED]" or "VERB arg [REDACTED]" */
static void
dialogue_redacted(pop3_t *s, const wt_pkt_t *pkt, const char *verb,
		  const char *arg)
{
	char buf[POP3_USER_CAP + 64];
	if (arg)
		snprintf(buf, sizeof buf, "%s %s %s", verb, arg, REDACTED);
	else
		snprintf(buf, sizeof buf, "%s %s", verb, REDACTED);
	dialogue_add(s, pkt, WT_TO_SERVER, (const uint8_t *)buf, strlen(buf), false);
}

/* ---- retrieved messages ---- */

static void
msg_begin(pop3_t *s, const pop3_pending_t *c, const wt_pkt_t *pkt)
{
	pop3_msg_t *m = &s->msg;
	memset(m, 0, sizeof *m);
	m->active = true;
	m->cmd = c->cmd;
	m->number = c->number;
	m->first_frame = pkt->frame;
	m->imf = wt_imf_new();
	m->index = wt_message_next(s->ctx, &m->out);
}

static void
msg_bytes(pop3_t *s, const uint8_t *p, size_t n)
{
	pop3_msg_t *m = &s->msg;
	m->size += n;
	if (m->imf)
		wt_imf_feed(m->imf, p, n);
	if (m->out && n > 0 && fwrite(p, 1, n, m->out) != n)
		m->out = NULL; /* the CLI reports the write error */
}

static void
msg_end(pop3_t *s, const wt_pkt_t *pkt, bool complete)
{
	pop3_msg_t *m = &s->msg;
	json_t *e, *parsed;
	if (!m->active)
		return;
	parsed = m->imf ? wt_imf_finish(m->imf) : NULL;
	if (m->imf)
		wt_imf_free(m->imf);
	m->imf = NULL;
	if (m->out)
		fflush(m->out);
	if (json_array_size(s->messages) >= POP3_MAX_MESSAGES) {
		s->messages_dropped++;
		if (!(s->warned & ONCE_MESSAGES)) {
			s->warned |= ONCE_MESSAGES;
			pop3_warn(s, pkt, "POP3_MESSAGES_CAP",
				  "more than %d messages; the rest are counted, not kept",
				  POP3_MAX_MESSAGES);
		}
		json_decref(parsed);
		m->active = false;
		return;
	}
	e = json_object();
	json_object_set_new(e, "command", json_string(cmd_names[m->cmd]));
	json_object_set_new(e, "number", json_integer((json_int_t)m->number));
	json_object_set_new(e, "frame",
			    json_integer((json_int_t)(pkt ? pkt->frame : s->last_frame)));
	json_object_set_new(e, "first_frame", json_integer((json_int_t)m->first_frame));
	json_object_set_new(e, "size", json_integer((json_int_t)m->size));
	json_object_set_new(e, "complete", json_boolean(complete && !m->gap));
	json_object_set_new(e, "message", parsed ? parsed : json_null());
	json_object_set_new(e, "index",
			    m->index ? json_integer((json_int_t)m->index) : json_null());
	json_array_append_new(s->messages, e);
	m->active = false;
}

/* ---- the command queue (RFC 2449 section 6.6: responses come in order) ---- */

static void
q_push(pop3_t *s, const pop3_pending_t *c, const wt_pkt_t *pkt)
{
	if (s->q_len == POP3_QUEUE) {
		if (!(s->warned & ONCE_QUEUE)) {
			s->warned |= ONCE_QUEUE;
			pop3_warn(s, pkt, "POP3_PIPELINE_CAP",
				  "more than %d commands awaiting a response; dropping the oldest",
				  POP3_QUEUE);
		}
		s->q_head = (s->q_head + 1) % POP3_QUEUE;
		s->q_len--;
	}
	s->q[(s->q_head + s->q_len) % POP3_QUEUE] = *c;
	s->q_len++;
}

static bool
q_pop(pop3_t *s, pop3_pending_t *c)
{
	if (s->q_len == 0)
		return false;
	*c = s->q[s->q_head];
	s->q_head = (s->q_head + 1) % POP3_QUEUE;
	s->q_len--;
	return true;
}

/* ---- client side ---- */

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

/*
 * The user name inside a SASL response, where the mechanism carries one in
 * the clear: PLAIN (RFC 4616: authzid NUL authcid NUL passwd), LOGIN (the
 * first response), CRAM-MD5 (RFC 2195: "user digest"), XOAUTH2
 * ("user=NAME^Aauth=..."), OAUTHBEARER (RFC 7628: "n,a=NAME,^A...").
 */
static void
sasl_response(pop3_t *s, wt_cursor_t b64)
{
	uint8_t buf[1024];
	long n;
	wt_cursor_t d, f;
	unsigned step = s->sasl_steps++;
	if (cur_ieq(b64, "=") || wt_cur_left(&b64) == 0)
		return;
	n = b64_decode(b64, buf, sizeof buf);
	if (n <= 0)
		return;
	d = wt_cur_make(buf, (size_t)n);
	switch (s->sasl_mech) {
	case SASL_PLAIN: {
		ptrdiff_t z = wt_cur_find(&d, 0);
		if (z < 0)
			return;
		wt_cur_skip(&d, (size_t)z + 1);
		z = wt_cur_find(&d, 0);
		if (z < 0)
			return;
		f = wt_cur_sub(&d, (size_t)z);
		set_user(s, f);
		break;
	}
	case SASL_LOGIN:
		if (step == 0)
			set_user(s, d);
		break;
	case SASL_CRAM: {
		ptrdiff_t sp = wt_cur_find(&d, ' ');
		if (sp > 0)
			set_user(s, wt_cur_sub(&d, (size_t)sp));
		break;
	}
	case SASL_XOAUTH2:
		if (cur_iprefix(d, "user=")) {
			ptrdiff_t e;
			wt_cur_skip(&d, 5);
			e = wt_cur_find(&d, 1);
			set_user(s, wt_cur_sub(&d, e < 0 ? wt_cur_left(&d) : (size_t)e));
		}
		break;
	case SASL_OAUTHBEARER: {
		/* gs2-header: "n,a=user," */
		ptrdiff_t c1 = wt_cur_find(&d, ',');
		if (c1 < 0)
			return;
		wt_cur_skip(&d, (size_t)c1 + 1);
		if (cur_iprefix(d, "a=")) {
			ptrdiff_t e;
			wt_cur_skip(&d, 2);
			e = wt_cur_find(&d, ',');
			set_user(s, wt_cur_sub(&d, e < 0 ? wt_cur_left(&d) : (size_t)e));
		}
		break;
	}
	default:
		break;
	}
	auth_user_update(s);
}

static uint8_t
cmd_of(wt_cursor_t verb)
{
	size_t i;
	for (i = 1; i < sizeof cmd_names / sizeof cmd_names[0]; i++)
		if (cur_ieq(verb, cmd_names[i]))
			return (uint8_t)i;
	return CMD_OTHER;
}

static void
client_line(pop3_t *s, wt_cursor_t line, const wt_pkt_t *pkt)
{
	wt_cursor_t rest = line, verb, arg, arg2;
	pop3_pending_t c;
	bool has_arg;

	if (s->in_sasl) {
		/* A SASL response line, or "*" to cancel (RFC 5034 section 4). */
		if (cur_ieq(line, "*")) {
			dialogue_line(s, pkt, WT_TO_SERVER, line);
			return;
		}
		sasl_response(s, line);
		if (s->show_secrets)
			dialogue_line(s, pkt, WT_TO_SERVER, line);
		else
			dialogue_add(s, pkt, WT_TO_SERVER, (const uint8_t *)REDACTED,
				     strlen(REDACTED), false);
		return;
	}

	memset(&c, 0, sizeof c);
	c.frame = pkt->frame;
	if (!cur_token(&rest, &verb)) {
		dialogue_line(s, pkt, WT_TO_SERVER, line);
		return;
	}
	c.cmd = cmd_of(verb);
	has_arg = cur_token(&rest, &arg);

	switch (c.cmd) {
	case CMD_USER:
		if (has_arg) {
			/* the name is everything after "USER " */
			wt_cursor_t all = line;
			wt_cur_skip(&all, 5);
			set_user(s, all);
		}
		auth_begin(s, "USER");
		auth_user_update(s);
		dialogue_line(s, pkt, WT_TO_SERVER, line);
		break;
	case CMD_PASS:
		if (!s->auth || !s->auth_pending ||
		    strcmp(json_string_value(json_object_get(s->auth, "mechanism")),
			   "USER") != 0)
			auth_begin(s, "USER");
		auth_user_update(s);
		s->auth_pending = true;
		if (s->show_secrets)
			dialogue_line(s, pkt, WT_TO_SERVER, line);
		else
			dialogue_redacted(s, pkt, "PASS", NULL);
		break;
	case CMD_APOP: {
		/* APOP name digest (RFC 1939 section 7) */
		char name[POP3_USER_CAP];
		auth_begin(s, "APOP");
		if (has_arg) {
			set_user(s, arg);
			auth_user_update(s);
		}
		if (s->show_secrets || !has_arg) {
			dialogue_line(s, pkt, WT_TO_SERVER, line);
		} else {
			cur_cstr(arg, name, sizeof name);
			dialogue_redacted(s, pkt, "APOP", name);
		}
		break;
	}
	case CMD_AUTH:
		if (!has_arg) {
			/* lists the mechanisms on some servers */
			c.multi = MULTI_MAYBE;
			dialogue_line(s, pkt, WT_TO_SERVER, line);
			break;
		}
		{
			char mech[64];
			cur_cstr(arg, mech, sizeof mech);
			for (char *m = mech; *m; m++)
				if (*m >= 'a' && *m <= 'z')
					*m = (char)(*m - 32);
			auth_begin(s, mech);
			s->sasl_mech = sasl_mech_of(arg);
			s->sasl_steps = 0;
			s->in_sasl = true;
			if (cur_token(&rest, &arg2)) {
				/* initial response (RFC 5034 section 4) */
				sasl_response(s, arg2);
				if (s->show_secrets)
					dialogue_line(s, pkt, WT_TO_SERVER, line);
				else
					dialogue_redacted(s, pkt, "AUTH", mech);
			} else {
				dialogue_line(s, pkt, WT_TO_SERVER, line);
			}
		}
		break;
	case CMD_LIST:
	case CMD_UIDL:
		c.multi = has_arg ? MULTI_NO : MULTI_YES;
		dialogue_line(s, pkt, WT_TO_SERVER, line);
		break;
	case CMD_RETR:
	case CMD_TOP:
		c.multi = MULTI_YES;
		if (has_arg)
			(void)cur_uint(arg, &c.number);
		dialogue_line(s, pkt, WT_TO_SERVER, line);
		break;
	case CMD_CAPA:
		c.multi = MULTI_YES;
		dialogue_line(s, pkt, WT_TO_SERVER, line);
		break;
	default:
		dialogue_line(s, pkt, WT_TO_SERVER, line);
		break;
	}
	q_push(s, &c, pkt);
}

/* ---- server side ---- */

static bool
is_ok(wt_cursor_t line)
{
	wt_cursor_t t = line;
	if (!cur_iprefix(t, "+OK"))
		return false;
	wt_cur_skip(&t, 3);
	return cur_peek8(&t) < 0 || cur_peek8(&t) == ' ';
}

static bool
is_err(wt_cursor_t line)
{
	wt_cursor_t t = line;
	if (!cur_iprefix(t, "-ERR"))
		return false;
	wt_cur_skip(&t, 4);
	return cur_peek8(&t) < 0 || cur_peek8(&t) == ' ';
}

/* A SASL continuation: "+ base64" or a lone "+" (RFC 5034 section 4). */
static bool
is_cont(wt_cursor_t line)
{
	if (cur_ieq(line, "+"))
		return true;
	return cur_iprefix(line, "+ ");
}

static void
capa_line(pop3_t *s, wt_cursor_t line)
{
	if (json_array_size(s->capabilities) < 64)
		json_array_append_new(s->capabilities, cur_json(line, 256));
}

/* One line of a multi-line body (already known not to be the end). */
static void
body_line(pop3_t *s, wt_cursor_t full, wt_cursor_t line)
{
	if (s->msg.active) {
		/* RFC 1939 section 3: a leading "." is byte-stuffed. */
		size_t n;
		if (cur_peek8(&full) == '.')
			wt_cur_skip(&full, 1);
		n = wt_cur_left(&full);
		msg_bytes(s, wt_cur_peek(&full, n), n);
	} else if (s->body_of.cmd == CMD_CAPA) {
		capa_line(s, line);
	}
}

static void
status_line(pop3_t *s, wt_cursor_t line, const wt_pkt_t *pkt, bool ok)
{
	pop3_pending_t c;
	dialogue_line(s, pkt, WT_TO_CLIENT, line);
	if (!s->seen_server) {
		/* RFC 1939 section 4: the server speaks first.  With commands
		 * already waiting, the greeting was not captured. */
		s->seen_server = true;
		if (s->q_len == 0)
			return;
	}
	/* Whatever the command, a status line ends a SASL exchange. */
	s->in_sasl = false;
	if (!q_pop(s, &c)) {
		if (!s->client_gap && !(s->warned & ONCE_UNMATCHED)) {
			s->warned |= ONCE_UNMATCHED;
			pop3_warn(s, pkt, "POP3_UNMATCHED_RESPONSE",
				  "a response with no command waiting for it");
		}
		return;
	}
	switch (c.cmd) {
	case CMD_PASS:
	case CMD_APOP:
	case CMD_AUTH:
		if (c.cmd == CMD_AUTH && c.multi == MULTI_MAYBE)
			break;
		s->in_sasl = false;
		auth_end(s, ok);
		break;
	case CMD_USER:
		if (!ok)
			auth_end(s, false);
		break;
	case CMD_STLS:
		if (ok) {
			/* RFC 2595 section 4: TLS starts after the CRLF. */
			s->starttls = true;
			s->starttls_frame = pkt->frame;
			s->encrypted = true;
		}
		break;
	default:
		break;
	}
	if (!ok || c.multi == MULTI_NO)
		return;
	s->body_of = c;
	if (c.multi == MULTI_MAYBE) {
		s->maybe_multi = true;
		return;
	}
	s->srv = SRV_BODY;
	if (c.cmd == CMD_RETR || c.cmd == CMD_TOP)
		msg_begin(s, &c, pkt);
}

static void
server_line(pop3_t *s, wt_cursor_t full, wt_cursor_t line, const wt_pkt_t *pkt)
{
	bool end = cur_ieq(line, ".");

	if (s->maybe_multi) {
		/* After +OK to AUTH without argument: a status line answering
		 * the next command means there was no body; anything else is
		 * the list of mechanisms. */
		s->maybe_multi = false;
		if (!((is_ok(line) || is_err(line)) && s->q_len > 0)) {
			if (end)
				return;
			s->srv = SRV_BODY;
		}
	}
	switch (s->srv) {
	case SRV_BODY:
		if (end) {
			msg_end(s, pkt, true);
			s->srv = SRV_STATUS;
			return;
		}
		/* A listing (LIST, UIDL, CAPA) never holds a status line: one
		 * there, with a command waiting, means the "." was missing.
		 * A message may hold anything, so it is not cut short. */
		if (!s->msg.active && s->q_len > 0 && (is_ok(line) || is_err(line))) {
			pop3_warn(s, pkt, "POP3_MISSING_TERMINATOR",
				  "a multi-line response ended without \".\"");
			s->srv = SRV_STATUS;
			break;
		}
		body_line(s, full, line);
		return;
	case SRV_SKIP:
		if (end) {
			s->srv = SRV_STATUS;
			return;
		}
		/* Skipping a response we could not place: a status line while
		 * a command waits is the answer to it. */
		if (s->q_len > 0 && (is_ok(line) || is_err(line))) {
			s->srv = SRV_STATUS;
			break;
		}
		return;
	case SRV_STATUS:
		break;
	}
	if (is_ok(line) || is_err(line)) {
		status_line(s, line, pkt, is_ok(line));
		return;
	}
	if (is_cont(line) && (s->in_sasl ||
			      (s->q_len > 0 && s->q[s->q_head].cmd == CMD_AUTH))) {
		dialogue_line(s, pkt, WT_TO_CLIENT, line);
		return;
	}
	/* Neither a status line nor a continuation: we joined in the middle
	 * of a multi-line response (or lost its status line in a gap).  Skip
	 * to its end. */
	if (!(s->warned & ONCE_UNEXPECTED)) {
		s->warned |= ONCE_UNEXPECTED;
		pop3_warn(s, pkt, "POP3_UNEXPECTED_LINE",
			  "server line that is not a status line; skipping to the end of a multi-line response");
	}
	s->seen_server = true;
	s->srv = end ? SRV_STATUS : SRV_SKIP;
}

/* ---- the dissector callbacks ---- */

static bool
pop3_match(const wt_ctx_t *ctx, uint16_t sport, uint16_t dport,
	   bool *server_is_dst)
{
	(void)ctx;
	if (dport == 110 || dport == 995) {
		*server_is_dst = true;
		return true;
	}
	if (sport == 110 || sport == 995) {
		*server_is_dst = false;
		return true;
	}
	return false;
}

static void *
pop3_open(wt_ctx_t *ctx, const wt_flow_info_t *fi)
{
	pop3_t *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->ctx = ctx;
	s->fi = *fi;
	s->show_secrets = wt_ctx_options(ctx)->show_secrets != 0;
	/* RFC 8314: port 995 is POP3 over implicit TLS. */
	s->implicit_tls = fi->server.port == 995;
	s->encrypted = s->implicit_tls;
	s->last_frame = fi->first_frame;
	s->messages = json_array();
	s->capabilities = json_array();
	if (!s->messages || !s->capabilities) {
		json_decref(s->messages);
		json_decref(s->capabilities);
		free(s);
		return NULL;
	}
	if (fi->midstream) {
		/* We may be inside a multi-line response; status lines tell. */
		s->seen_server = true;
	}
	return s;
}

static void
touch(pop3_t *s, const wt_pkt_t *pkt)
{
	if (pkt && pkt->frame > s->last_frame)
		s->last_frame = pkt->frame;
}

/* A TLS handshake record header: content type 22, version 3.x. */
static bool
looks_like_tls(wt_cursor_t c)
{
	return wt_cur_has(&c, 2) && wt_cur_u8(&c) == 0x16 && wt_cur_u8(&c) == 0x03;
}

/* The line inside full (which ends in LF), without its CR LF or bare LF. */
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

static bool
line_start_after_gap(const pop3_t *s, wt_dir_t dir, wt_cursor_t c)
{
	wt_cursor_t verb;
	ptrdiff_t lf = wt_cur_find(&c, '\n');
	if (lf < 0)
		return false;
	c.len = c.off + (size_t)lf;
	if (dir == WT_TO_CLIENT)
		return s->srv == SRV_STATUS && (is_ok(c) || is_err(c));
	if (!cur_token(&c, &verb))
		return false;
	if (verb.len > verb.off && cur_peek8(&verb) >= 0) {
		wt_cursor_t v = verb;
		/* strip a CR left at the end of a bare verb ("QUIT\r") */
		if (wt_cur_left(&v) > 1) {
			wt_cursor_t t = v;
			wt_cur_seek(&t, v.len - 1);
			if (wt_cur_u8(&t) == '\r')
				v.len--;
		}
		return cmd_of(v) != CMD_OTHER;
	}
	return false;
}

static size_t
pop3_data(void *st, wt_dir_t dir, const uint8_t *p, size_t n,
	  const wt_pkt_t *pkt)
{
	pop3_t *s = st;
	wt_cursor_t c = wt_cur_make(p, n);

	touch(s, pkt);
	if (s->encrypted)
		return n;
	/* A TLS record (content type 22, version 3.x) where a command should
	 * be: the STLS answer was lost, the client went ahead. */
	if (dir == WT_TO_SERVER && s->q_len > 0 &&
	    s->q[(s->q_head + s->q_len - 1) % POP3_QUEUE].cmd == CMD_STLS &&
	    looks_like_tls(c)) {
		s->starttls = true;
		s->starttls_frame = pkt->frame;
		s->encrypted = true;
		return n;
	}

	if (s->resync[dir]) {
		/* Segments mostly end at line ends: if what follows the hole
		 * reads as a command or a status line, take it whole. */
		s->resync[dir] = false;
		if (line_start_after_gap(s, dir, c))
			s->discard[dir] = false;
	}
	while (wt_cur_left(&c) > 0 && !s->encrypted) {
		ptrdiff_t lf = wt_cur_find(&c, '\n');
		wt_cursor_t full, line;
		if (s->discard[dir]) {
			if (lf < 0)
				return n;
			wt_cur_skip(&c, (size_t)lf + 1);
			s->discard[dir] = false;
			continue;
		}
		if (lf < 0) {
			if (wt_cur_left(&c) >= POP3_LINE_CAP) {
				pop3_warn(s, pkt, "POP3_LINE_TOO_LONG",
					  "a %s line longer than %d bytes; skipped to its end",
					  dir == WT_TO_SERVER ? "client" : "server",
					  POP3_LINE_CAP);
				/* A message line still belongs to the message. */
				if (dir == WT_TO_CLIENT && s->srv == SRV_BODY &&
				    s->msg.active) {
					size_t k = wt_cur_left(&c);
					msg_bytes(s, wt_cur_peek(&c, k), k);
				}
				s->discard[dir] = true;
				return n;
			}
			break;
		}
		full = wt_cur_sub(&c, (size_t)lf + 1);
		line = strip_eol(full);
		if (dir == WT_TO_SERVER)
			client_line(s, line, pkt);
		else
			server_line(s, full, line, pkt);
	}
	return s->encrypted ? n : c.off;
}

static void
pop3_gap(void *st, wt_dir_t dir, uint64_t n, const wt_pkt_t *pkt)
{
	pop3_t *s = st;
	touch(s, pkt);
	s->gaps++;
	s->gap_bytes += n;
	if (s->encrypted)
		return;
	pop3_warn(s, pkt, "POP3_GAP", "%llu bytes missing from the %s",
		  (unsigned long long)n,
		  dir == WT_TO_SERVER ? "client" : "server");
	/* Whatever follows the hole may start in the middle of a line. */
	s->discard[dir] = true;
	s->resync[dir] = true;
	if (dir == WT_TO_SERVER) {
		s->client_gap = true;
		s->in_sasl = false;
	} else if (s->msg.active) {
		s->msg.gap = true;
	}
}

static json_t *
pop3_record(pop3_t *s)
{
	json_t *r = json_object();
	json_object_set_new(r, "type", json_string("pop3"));
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
	json_object_set_new(r, "user", s->have_user ? json_string(s->user) : json_null());
	json_object_set_new(r, "auth", s->auth ? json_incref(s->auth) : json_null());
	json_object_set_new(r, "auth_attempts", json_integer((json_int_t)s->auth_attempts));
	json_object_set_new(r, "capabilities", json_incref(s->capabilities));
	json_object_set_new(r, "dialogue", wt_dialogue_json(&s->dlg));
	json_object_set_new(r, "dialogue_dropped", json_integer((json_int_t)s->dialogue_dropped));
	json_object_set_new(r, "messages", json_incref(s->messages));
	json_object_set_new(r, "messages_dropped", json_integer((json_int_t)s->messages_dropped));
	json_object_set_new(r, "warnings", json_integer((json_int_t)s->warnings));
	json_object_set_new(r, "gaps", json_integer((json_int_t)s->gaps));
	json_object_set_new(r, "gap_bytes", json_integer((json_int_t)s->gap_bytes));
	return r;
}

static void
pop3_close(void *st, wt_end_t why, const wt_pkt_t *last)
{
	pop3_t *s = st;
	(void)why;
	touch(s, last);
	if (s->msg.active)
		msg_end(s, NULL, false); /* the connection ended inside it */
	wt_emit(s->ctx, pop3_record(s));
	json_decref(s->auth);
	wt_dialogue_free(&s->dlg);
	json_decref(s->messages);
	json_decref(s->capabilities);
	free(s);
}

const wt_dissector_t wt_pop3_dissector = {
	.name = "pop3",
	.ipproto = 6,
	.match = pop3_match,
	.open = pop3_open,
	.data = pop3_data,
	.gap = pop3_gap,
	.datagram = NULL,
	.close = pop3_close,
};
