/* \summary: loading and validating rubric files, with errors that name the line and the field */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grade/rubric_int.h"

#define RUBRIC_MAX_BYTES (4u << 20) /* a rubric is a few KB; refuse anything absurd */
#define RUBRIC_MAX_CRITERIA 1000
#define SCAN_MAX_DEPTH 64
#define PATH_MAX_LEN 256

struct wt_rubric {
	json_t *doc;
	json_t *criteria; /* borrowed from doc */
	json_t *integrity; /* borrowed, or NULL */
	size_t n;
	double max;
	char *title;
};

/* ------------------------------------------------------------------ */
/* Where each value sits in the text.  jansson keeps no positions per
 * node, so the (already valid) text is scanned once more and every JSON
 * path ("criteria[2].check.kind") is mapped to the line of its key, or of
 * the value itself for array elements. */

typedef struct scan {
	const char *s;
	size_t len, pos;
	int line;
	json_t *lines; /* path -> line */
	int depth;
} scan_t;

/* A field's path ("criteria[2].check.kind") into a fixed buffer: a path
 * longer than the buffer is cut, which only shortens an error message. */
static void subpath(char *out, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void
subpath(char *out, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out, cap, fmt, ap);
	va_end(ap);
}

static void
scan_ws(scan_t *sc)
{
	while (sc->pos < sc->len) {
		char c = sc->s[sc->pos];
		if (c == '\n')
			sc->line++;
		else if (c != ' ' && c != '\t' && c != '\r')
			break;
		sc->pos++;
	}
}

/* Reads a string token into out (decoded escapes are kept as written:
 * keys in rubrics are plain ASCII, and a key needing escapes is only
 * located approximately). */
static void
scan_string(scan_t *sc, char *out, size_t cap)
{
	size_t o = 0;
	if (sc->pos >= sc->len || sc->s[sc->pos] != '"')
		return;
	sc->pos++;
	while (sc->pos < sc->len && sc->s[sc->pos] != '"') {
		char c = sc->s[sc->pos];
		if (c == '\\' && sc->pos + 1 < sc->len) {
			if (o + 1 < cap)
				out[o++] = sc->s[sc->pos + 1];
			sc->pos += 2;
			continue;
		}
		if (c == '\n')
			sc->line++;
		if (o + 1 < cap)
			out[o++] = c;
		sc->pos++;
	}
	if (cap)
		out[o < cap ? o : cap - 1] = '\0';
	if (sc->pos < sc->len)
		sc->pos++;
}

static void scan_value(scan_t *sc, const char *path);

static void
scan_mark(scan_t *sc, const char *path)
{
	if (!json_object_get(sc->lines, path))
		json_object_set_new(sc->lines, path, json_integer(sc->line));
}

static void
scan_value(scan_t *sc, const char *path)
{
	char sub[PATH_MAX_LEN], key[128];
	scan_ws(sc);
	if (sc->pos >= sc->len || ++sc->depth > SCAN_MAX_DEPTH) {
		sc->pos = sc->len;
		return;
	}
	if (sc->s[sc->pos] == '{') {
		sc->pos++;
		for (;;) {
			scan_ws(sc);
			if (sc->pos >= sc->len)
				break;
			if (sc->s[sc->pos] == '}') {
				sc->pos++;
				break;
			}
			if (sc->s[sc->pos] == ',') {
				sc->pos++;
				continue;
			}
			key[0] = '\0';
			{
				int kline = sc->line;
				scan_string(sc, key, sizeof key);
				if (path[0])
					subpath(sub, sizeof sub, "%s.%s", path, key);
				else
					subpath(sub, sizeof sub, "%s", key);
				if (!json_object_get(sc->lines, sub))
					json_object_set_new(sc->lines, sub, json_integer(kline));
			}
			scan_ws(sc);
			if (sc->pos < sc->len && sc->s[sc->pos] == ':')
				sc->pos++;
			scan_value(sc, sub);
		}
	} else if (sc->s[sc->pos] == '[') {
		size_t i = 0;
		sc->pos++;
		for (;;) {
			scan_ws(sc);
			if (sc->pos >= sc->len)
				break;
			if (sc->s[sc->pos] == ']') {
				sc->pos++;
				break;
			}
			if (sc->s[sc->pos] == ',') {
				sc->pos++;
				continue;
			}
			subpath(sub, sizeof sub, "%s[%zu]", path, i++);
			scan_mark(sc, sub);
			scan_value(sc, sub);
		}
	} else if (sc->s[sc->pos] == '"') {
		scan_string(sc, key, sizeof key);
	} else {
		while (sc->pos < sc->len && !strchr(",]}\n \t\r", sc->s[sc->pos]))
			sc->pos++;
	}
	sc->depth--;
}

/* ------------------------------------------------------------------ */
/* Validation */

typedef struct vctx {
	const char *name;
	json_t *lines;
	char *err;
	size_t errlen;
	int failed;
} vctx_t;

static int
line_of(vctx_t *v, const char *path)
{
	char p[PATH_MAX_LEN];
	json_t *l;
	snprintf(p, sizeof p, "%s", path);
	/* The closest enclosing value that the scan located. */
	for (;;) {
		char *cut;
		l = json_object_get(v->lines, p);
		if (l)
			return (int)json_integer_value(l);
		cut = strrchr(p, '.');
		if (!cut || strrchr(p, '[') > cut)
			cut = strrchr(p, '[');
		if (!cut)
			return 1;
		*cut = '\0';
	}
}

static int
fail(vctx_t *v, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
fail(vctx_t *v, const char *path, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	if (v->failed)
		return -1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(v->err, v->errlen, "%s:%d: %s: %s", v->name, line_of(v, path),
		 path[0] ? path : "(top level)", msg);
	v->failed = 1;
	return -1;
}

enum ftype {
	F_STR,     /* a non-empty string */
	F_IP,      /* an IPv4 or IPv6 address */
	F_ENUM,    /* one of the strings in `values` */
	F_INT,     /* an integer >= 0 */
	F_POSINT,  /* an integer >= 1 */
	F_BOOL,
	F_COUNT,   /* an integer >= 0, or {"min","max"} */
	F_FLAGS,   /* {"qr","aa","tc","rd","ra","ad","cd"}: booleans */
	F_STRLIST, /* a non-empty array of strings */
	F_ROLES,   /* a non-empty array of role names */
	F_INTLIST  /* a non-empty array of reply codes 200..599 */
};

typedef struct field {
	const char *name;
	enum ftype type;
	const char *const *values; /* F_ENUM */
} field_t;

static const char *const transports[] = {"udp", "tcp", NULL};
static const char *const res_kinds[] = {"recursive", "iterated", NULL};
static const char *const res_methods[] = {"iterated", "forwarded", "cache", "unseen", NULL};
static const char *const dns_status[] = {"answered", "unanswered", NULL};
static const char *const retr_protos[] = {"pop3", "imap", "any", NULL};
static const char *const flag_names[] = {"qr", "aa", "tc", "rd", "ra", "ad", "cd", NULL};
/* The roles of resolution steps (docs/story-resolution.md). */
static const char *const role_names[] = {
	"root", "tld", "authoritative", "recursive resolver", "forwarder", NULL};
/* The roles of mail hops (docs/story-mail.md). */
static const char *const hop_roles[] = {
	"submission", "relay", "delivery", "mx-lookup", "address-lookup",
	"retrieval", "pop3", "imap", "smtp", "dns", NULL};

#define DNS_SELECT \
	{"qname", F_STR, NULL}, {"qtype", F_STR, NULL},           \
	{"transport", F_ENUM, transports}, {"server", F_IP, NULL}, \
	{"client", F_IP, NULL}, {"rcode", F_STR, NULL},            \
	{"flags", F_FLAGS, NULL}

static const field_t f_dns_tx[] = {
	DNS_SELECT,
	{"answers", F_COUNT, NULL},
	{"count", F_COUNT, NULL},
	{"status", F_ENUM, dns_status},
	{NULL, F_STR, NULL}};

#define RES_SELECT \
	{"qname", F_STR, NULL}, {"qtype", F_STR, NULL},  \
	{"client", F_IP, NULL}, {"resolution_kind", F_ENUM, res_kinds}, \
	{"resolver_method", F_ENUM, res_methods}

static const field_t f_res[] = {
	RES_SELECT,
	{"roles", F_ROLES, NULL},
	{"min_referrals", F_INT, NULL},
	{"rcode", F_STR, NULL},
	{NULL, F_STR, NULL}};

#define SMTP_SELECT \
	{"server", F_IP, NULL}, {"server_port", F_POSINT, NULL}, \
	{"sender", F_STR, NULL}

static const field_t f_smtp[] = {
	SMTP_SELECT,
	{"recipients", F_STRLIST, NULL},
	{"subject", F_STR, NULL},
	{"message_id", F_STR, NULL},
	{"commands", F_STRLIST, NULL},
	{"replies", F_INTLIST, NULL},
	{"tls", F_BOOL, NULL},
	{"auth", F_BOOL, NULL},
	{NULL, F_STR, NULL}};

static const field_t f_mail[] = {
	{"subject", F_STR, NULL},
	{"message_id", F_STR, NULL},
	{"hops", F_COUNT, NULL},
	{"roles", F_STRLIST, hop_roles},
	{NULL, F_STR, NULL}};

static const field_t f_retr[] = {
	{"protocol", F_ENUM, retr_protos},
	{"user", F_STR, NULL},
	{"subject", F_STR, NULL},
	{"message_id", F_STR, NULL},
	{"messages", F_COUNT, NULL},
	{NULL, F_STR, NULL}};

/* Questions: the selector of their family, plus "ask", "key", "nth". */
static const field_t q_dns[] = {
	DNS_SELECT, {"flag", F_ENUM, flag_names}, {NULL, F_STR, NULL}};
static const field_t q_res[] = {RES_SELECT, {NULL, F_STR, NULL}};
static const field_t q_smtp[] = {
	SMTP_SELECT, {"command", F_STR, NULL}, {NULL, F_STR, NULL}};
static const field_t q_mail[] = {
	{"subject", F_STR, NULL}, {"message_id", F_STR, NULL}, {NULL, F_STR, NULL}};
static const field_t q_retr[] = {
	{"protocol", F_ENUM, retr_protos}, {"user", F_STR, NULL},
	{"message", F_POSINT, NULL}, {NULL, F_STR, NULL}};

typedef struct check_def {
	const char *kind;
	const field_t *fields;
} check_def_t;

static const check_def_t check_defs[] = {
	{"dns_transaction", f_dns_tx},
	{"resolution", f_res},
	{"smtp_transaction", f_smtp},
	{"mail_flow", f_mail},
	{"retrieval", f_retr},
	{NULL, NULL}};

const wt_ask_def_t wt_ask_defs[] = {
	{"dns.query_frame", WT_FAM_DNS, WT_ANS_NUMBER, "frame of the query"},
	{"dns.response_frame", WT_FAM_DNS, WT_ANS_NUMBER, "frame of the response"},
	{"dns.transport", WT_FAM_DNS, WT_ANS_TEXT, "transport"},
	{"dns.client_port", WT_FAM_DNS, WT_ANS_NUMBER, "source port of the query"},
	{"dns.server_port", WT_FAM_DNS, WT_ANS_NUMBER, "destination port of the query"},
	{"dns.server", WT_FAM_DNS, WT_ANS_IP, "address of the server that answered"},
	{"dns.client", WT_FAM_DNS, WT_ANS_IP, "address of the client"},
	{"dns.qtype", WT_FAM_DNS, WT_ANS_TEXT, "type of the query"},
	{"dns.id", WT_FAM_DNS, WT_ANS_NUMBER, "transaction ID"},
	{"dns.answer_count", WT_FAM_DNS, WT_ANS_NUMBER, "number of answers"},
	{"dns.answer", WT_FAM_DNS, WT_ANS_TEXT, "answer"},
	{"dns.ttl", WT_FAM_DNS, WT_ANS_NUMBER, "TTL of the answer"},
	{"dns.rcode", WT_FAM_DNS, WT_ANS_TEXT, "response code"},
	{"dns.flag", WT_FAM_DNS, WT_ANS_BOOL, "flag"},
	{"dns.mx", WT_FAM_DNS, WT_ANS_TEXT, "mail exchanger"},
	{"res.kind", WT_FAM_RES, WT_ANS_TEXT, "kind of resolution"},
	{"res.method", WT_FAM_RES, WT_ANS_TEXT, "how the resolver resolved it"},
	{"res.first_referral_zone", WT_FAM_RES, WT_ANS_TEXT, "zone of the first referral"},
	{"res.referrals", WT_FAM_RES, WT_ANS_NUMBER, "number of referrals"},
	{"res.answer_server", WT_FAM_RES, WT_ANS_IP, "server that gave the final answer"},
	{"res.resolver", WT_FAM_RES, WT_ANS_IP, "recursive resolver"},
	{"res.steps", WT_FAM_RES, WT_ANS_NUMBER, "number of steps"},
	{"smtp.reply_code", WT_FAM_SMTP, WT_ANS_NUMBER, "reply code"},
	{"smtp.reply_class", WT_FAM_SMTP, WT_ANS_REPLY_CLASS, "meaning of the reply code"},
	{"smtp.command_frame", WT_FAM_SMTP, WT_ANS_NUMBER, "frame of the command"},
	{"smtp.reply_frame", WT_FAM_SMTP, WT_ANS_NUMBER, "frame of the reply"},
	{"smtp.server", WT_FAM_SMTP, WT_ANS_IP, "address of the SMTP server"},
	{"smtp.server_port", WT_FAM_SMTP, WT_ANS_NUMBER, "port of the SMTP server"},
	{"smtp.helo", WT_FAM_SMTP, WT_ANS_TEXT, "name given in HELO/EHLO"},
	{"smtp.sender", WT_FAM_SMTP, WT_ANS_TEXT, "envelope sender"},
	{"smtp.recipients", WT_FAM_SMTP, WT_ANS_NUMBER, "number of recipients"},
	{"smtp.subject", WT_FAM_SMTP, WT_ANS_TEXT, "subject"},
	{"smtp.message_id", WT_FAM_SMTP, WT_ANS_TEXT, "Message-ID"},
	{"mail.hops", WT_FAM_MAIL, WT_ANS_NUMBER, "number of hops"},
	{"mail.mx", WT_FAM_MAIL, WT_ANS_TEXT, "mail exchanger looked up"},
	{"retr.user", WT_FAM_RETR, WT_ANS_TEXT, "user name"},
	{"retr.subject", WT_FAM_RETR, WT_ANS_TEXT, "subject of the retrieved message"},
	{"retr.message_id", WT_FAM_RETR, WT_ANS_TEXT, "Message-ID of the retrieved message"},
	{"retr.messages", WT_FAM_RETR, WT_ANS_NUMBER, "number of messages retrieved"},
};
const size_t wt_n_ask_defs = sizeof wt_ask_defs / sizeof wt_ask_defs[0];

const wt_ask_def_t *
wt_ask_find(const char *name)
{
	size_t i;
	for (i = 0; i < wt_n_ask_defs; i++)
		if (!strcmp(wt_ask_defs[i].name, name))
			return &wt_ask_defs[i];
	return NULL;
}

static const char *
jtype_name(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

static int
is_ip(const char *s)
{
	unsigned char buf[16];
	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static int
in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (!strcmp(*list, s))
			return 1;
	return 0;
}

static void
list_str(const char *const *list, char *out, size_t cap)
{
	size_t o = 0;
	out[0] = '\0';
	for (; *list && o < cap; list++)
		o += (size_t)snprintf(out + o, cap - o, "%s'%s'", o ? ", " : "", *list);
}

static int
check_int(vctx_t *v, const char *path, const json_t *j, json_int_t min,
	  json_int_t max)
{
	if (!json_is_integer(j))
		return fail(v, path, "expected an integer, found %s", jtype_name(j));
	if (json_integer_value(j) < min || json_integer_value(j) > max)
		return fail(v, path, "%lld is out of range (%lld to %lld)",
			    (long long)json_integer_value(j), (long long)min,
			    (long long)max);
	return 0;
}

static int
check_field(vctx_t *v, const char *path, const field_t *f, const json_t *j)
{
	char sub[PATH_MAX_LEN], buf[256];
	size_t i;
	const char *k;
	json_t *e;

	switch (f->type) {
	case F_STR:
	case F_IP:
	case F_ENUM:
		if (!json_is_string(j))
			return fail(v, path, "expected a string, found %s", jtype_name(j));
		if (!json_string_length(j))
			return fail(v, path, "must not be empty");
		if (f->type == F_IP && !is_ip(json_string_value(j)))
			return fail(v, path, "'%s' is not an IP address", json_string_value(j));
		if (f->type == F_ENUM && !in_list(f->values, json_string_value(j))) {
			list_str(f->values, buf, sizeof buf);
			return fail(v, path, "'%s' is not one of %s", json_string_value(j), buf);
		}
		return 0;
	case F_INT:
		return check_int(v, path, j, 0, 1000000000);
	case F_POSINT:
		return check_int(v, path, j, 1, 1000000000);
	case F_BOOL:
		if (!json_is_boolean(j))
			return fail(v, path, "expected true or false, found %s", jtype_name(j));
		return 0;
	case F_COUNT:
		if (json_is_integer(j))
			return check_int(v, path, j, 0, 1000000000);
		if (!json_is_object(j))
			return fail(v, path, "expected an integer or {\"min\", \"max\"}, found %s",
				    jtype_name(j));
		if (!json_object_size(j))
			return fail(v, path, "give \"min\", \"max\" or both");
		json_object_foreach((json_t *)j, k, e) {
			subpath(sub, sizeof sub, "%s.%s", path, k);
			if (strcmp(k, "min") && strcmp(k, "max"))
				return fail(v, sub, "unknown field (expected \"min\" or \"max\")");
			if (check_int(v, sub, e, 0, 1000000000))
				return -1;
		}
		if (json_object_get(j, "min") && json_object_get(j, "max") &&
		    json_integer_value(json_object_get(j, "min")) >
			    json_integer_value(json_object_get(j, "max")))
			return fail(v, path, "min is greater than max");
		return 0;
	case F_FLAGS:
		if (!json_is_object(j))
			return fail(v, path, "expected an object of flags, found %s", jtype_name(j));
		json_object_foreach((json_t *)j, k, e) {
			subpath(sub, sizeof sub, "%s.%s", path, k);
			if (!in_list(flag_names, k)) {
				list_str(flag_names, buf, sizeof buf);
				return fail(v, sub, "unknown flag (expected one of %s)", buf);
			}
			if (!json_is_boolean(e))
				return fail(v, sub, "expected true or false, found %s", jtype_name(e));
		}
		return 0;
	case F_STRLIST:
	case F_ROLES:
	case F_INTLIST:
		if (!json_is_array(j))
			return fail(v, path, "expected an array, found %s", jtype_name(j));
		if (!json_array_size(j))
			return fail(v, path, "must not be empty");
		json_array_foreach(j, i, e) {
			subpath(sub, sizeof sub, "%s[%zu]", path, i);
			if (f->type == F_INTLIST) {
				if (check_int(v, sub, e, 200, 599))
					return -1;
				continue;
			}
			if (!json_is_string(e) || !json_string_length(e))
				return fail(v, sub, "expected a non-empty string, found %s",
					    jtype_name(e));
			if (f->type == F_ROLES && !in_list(role_names, json_string_value(e))) {
				list_str(role_names, buf, sizeof buf);
				return fail(v, sub, "unknown role '%s' (expected one of %s)",
					    json_string_value(e), buf);
			}
			if (f->values && !in_list(f->values, json_string_value(e))) {
				list_str(f->values, buf, sizeof buf);
				return fail(v, sub, "unknown role '%s' (expected one of %s)",
					    json_string_value(e), buf);
			}
		}
		return 0;
	}
	return 0;
}

/* Every member of obj must be in fields (or in extra, a NULL-ended list
 * of names already checked by the caller). */
static int
check_fields(vctx_t *v, const char *path, const json_t *obj,
	     const field_t *fields, const char *const *extra, const char *what)
{
	char sub[PATH_MAX_LEN];
	const char *k;
	json_t *e;
	json_object_foreach((json_t *)obj, k, e) {
		const field_t *f;
		subpath(sub, sizeof sub, "%s.%s", path, k);
		if (extra && in_list(extra, k))
			continue;
		for (f = fields; f->name; f++)
			if (!strcmp(f->name, k))
				break;
		if (!f->name)
			return fail(v, sub, "unknown field for %s", what);
		if (check_field(v, sub, f, e))
			return -1;
	}
	return 0;
}

static const field_t *
family_fields(enum wt_ask_family fam)
{
	switch (fam) {
	case WT_FAM_DNS: return q_dns;
	case WT_FAM_RES: return q_res;
	case WT_FAM_SMTP: return q_smtp;
	case WT_FAM_MAIL: return q_mail;
	case WT_FAM_RETR: return q_retr;
	}
	return q_dns;
}

static int
check_check(vctx_t *v, const char *path, const json_t *c)
{
	char sub[PATH_MAX_LEN], buf[256];
	static const char *const extra[] = {"kind", NULL};
	const check_def_t *d;
	json_t *kind;
	size_t i;

	if (!json_is_object(c))
		return fail(v, path, "expected an object, found %s", jtype_name(c));
	subpath(sub, sizeof sub, "%s.kind", path);
	kind = json_object_get(c, "kind");
	if (!kind)
		return fail(v, path, "missing \"kind\"");
	if (!json_is_string(kind))
		return fail(v, sub, "expected a string, found %s", jtype_name(kind));
	for (d = check_defs; d->kind; d++)
		if (!strcmp(d->kind, json_string_value(kind)))
			break;
	if (!d->kind) {
		size_t o = 0;
		for (i = 0; check_defs[i].kind && o < sizeof buf; i++)
			o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s",
					      i ? ", " : "", check_defs[i].kind);
		return fail(v, sub, "unknown check '%s' (expected one of %s)",
			    json_string_value(kind), buf);
	}
	return check_fields(v, path, c, d->fields, extra, d->kind);
}

static int
check_question(vctx_t *v, const char *path, const json_t *q)
{
	char sub[PATH_MAX_LEN];
	static const char *const extra[] = {"ask", "key", "nth", NULL};
	const wt_ask_def_t *d;
	json_t *ask, *e;

	if (!json_is_object(q))
		return fail(v, path, "expected an object, found %s", jtype_name(q));
	subpath(sub, sizeof sub, "%s.ask", path);
	ask = json_object_get(q, "ask");
	if (!ask)
		return fail(v, path, "missing \"ask\"");
	if (!json_is_string(ask))
		return fail(v, sub, "expected a string, found %s", jtype_name(ask));
	d = wt_ask_find(json_string_value(ask));
	if (!d)
		return fail(v, sub, "unknown question '%s' (see docs/grading.md for the list)",
			    json_string_value(ask));
	if ((e = json_object_get(q, "key"))) {
		subpath(sub, sizeof sub, "%s.key", path);
		if (!json_is_string(e) || !json_string_length(e))
			return fail(v, sub, "expected a non-empty string, found %s", jtype_name(e));
	}
	if ((e = json_object_get(q, "nth"))) {
		subpath(sub, sizeof sub, "%s.nth", path);
		if (check_int(v, sub, e, 1, 1000000))
			return -1;
	}
	if (check_fields(v, path, q, family_fields(d->family), extra, d->name))
		return -1;
	/* Questions that cannot be answered without a parameter. */
	if (!strcmp(d->name, "dns.flag") && !json_object_get(q, "flag"))
		return fail(v, path, "dns.flag needs \"flag\" (one of qr, aa, tc, rd, ra, ad, cd)");
	if (!strcmp(d->name, "dns.mx") && !json_object_get(q, "qname"))
		return fail(v, path, "dns.mx needs \"qname\" (the domain)");
	if (!strncmp(d->name, "smtp.", 5) && (strstr(d->name, "reply") || strstr(d->name, "command_frame")) &&
	    !json_object_get(q, "command"))
		return fail(v, path, "%s needs \"command\" (e.g. \"DATA\", \"greeting\", \"end_of_data\")",
			    d->name);
	return 0;
}

static int
valid_id(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
			return 0;
	return 1;
}

static int
validate(vctx_t *v, json_t *doc, wt_rubric_t *r)
{
	char path[64], sub[PATH_MAX_LEN];
	const char *k;
	json_t *e, *crit, *seen;
	size_t i;

	if (!json_is_object(doc))
		return fail(v, "", "a rubric is a JSON object, found %s", jtype_name(doc));
	json_object_foreach(doc, k, e) {
		if (!strcmp(k, "title") || !strcmp(k, "description")) {
			if (!json_is_string(e))
				return fail(v, k, "expected a string, found %s", jtype_name(e));
		} else if (!strcmp(k, "version")) {
			if (check_int(v, k, e, 1, 1))
				return -1;
		} else if (!strcmp(k, "$schema")) {
			continue;
		} else if (!strcmp(k, "integrity")) {
			const char *ik;
			json_t *ie;
			if (!json_is_object(e))
				return fail(v, k, "expected an object, found %s", jtype_name(e));
			json_object_foreach(e, ik, ie) {
				subpath(sub, sizeof sub, "integrity.%s", ik);
				if (!strcmp(ik, "student_host")) {
					if (!json_is_string(ie) || !is_ip(json_string_value(ie)))
						return fail(v, sub, "expected an IP address");
				} else if (!strcmp(ik, "max_client_hosts") ||
					   !strcmp(ik, "copy_min_shared")) {
					if (check_int(v, sub, ie, 1, 1000000))
						return -1;
				} else {
					return fail(v, sub, "unknown field (expected student_host, "
						    "max_client_hosts or copy_min_shared)");
				}
			}
			r->integrity = e;
		} else if (strcmp(k, "criteria")) {
			return fail(v, k, "unknown field (expected title, description, "
				    "version, integrity or criteria)");
		}
	}
	crit = json_object_get(doc, "criteria");
	if (!crit)
		return fail(v, "", "missing \"criteria\"");
	if (!json_is_array(crit))
		return fail(v, "criteria", "expected an array, found %s", jtype_name(crit));
	if (!json_array_size(crit))
		return fail(v, "criteria", "must not be empty");
	if (json_array_size(crit) > RUBRIC_MAX_CRITERIA)
		return fail(v, "criteria", "more than %d criteria", RUBRIC_MAX_CRITERIA);
	seen = json_object();
	json_array_foreach(crit, i, e) {
		json_t *id, *pts, *chk, *q;
		snprintf(path, sizeof path, "criteria[%zu]", i);
		if (!json_is_object(e)) {
			fail(v, path, "expected an object, found %s", jtype_name(e));
			break;
		}
		json_object_foreach(e, k, q) {
			if (strcmp(k, "id") && strcmp(k, "points") && strcmp(k, "description") &&
			    strcmp(k, "check") && strcmp(k, "question")) {
				subpath(sub, sizeof sub, "%s.%s", path, k);
				fail(v, sub, "unknown field (expected id, points, description, "
				     "check or question)");
				break;
			}
		}
		if (v->failed)
			break;
		id = json_object_get(e, "id");
		subpath(sub, sizeof sub, "%s.id", path);
		if (!id) {
			fail(v, path, "missing \"id\"");
			break;
		}
		if (!json_is_string(id) || !valid_id(json_string_value(id))) {
			fail(v, sub, "expected an id of letters, digits, '-', '_' and '.'");
			break;
		}
		if (json_object_get(seen, json_string_value(id))) {
			fail(v, sub, "duplicate id '%s'", json_string_value(id));
			break;
		}
		json_object_set_new(seen, json_string_value(id), json_true());
		pts = json_object_get(e, "points");
		subpath(sub, sizeof sub, "%s.points", path);
		if (!pts) {
			fail(v, path, "missing \"points\"");
			break;
		}
		if (!json_is_number(pts) || !(json_number_value(pts) >= 0) ||
		    json_number_value(pts) > 1e6) {
			fail(v, sub, "expected a number of points >= 0");
			break;
		}
		if ((q = json_object_get(e, "description")) && !json_is_string(q)) {
			subpath(sub, sizeof sub, "%s.description", path);
			fail(v, sub, "expected a string, found %s", jtype_name(q));
			break;
		}
		chk = json_object_get(e, "check");
		q = json_object_get(e, "question");
		if (!chk == !q) {
			fail(v, path, "give exactly one of \"check\" and \"question\"");
			break;
		}
		subpath(sub, sizeof sub, "%s.%s", path, chk ? "check" : "question");
		if (chk ? check_check(v, sub, chk) : check_question(v, sub, q))
			break;
		r->max += json_number_value(pts);
	}
	/* Question keys (answers.json names) must be unique too. */
	if (!v->failed) {
		json_t *keys = json_object();
		json_array_foreach(crit, i, e) {
			json_t *q = json_object_get(e, "question");
			const char *key;
			if (!q)
				continue;
			key = json_string_value(json_object_get(q, "key"));
			if (!key)
				key = json_string_value(json_object_get(e, "id"));
			subpath(sub, sizeof sub, "criteria[%zu].question", i);
			if (json_object_get(keys, key)) {
				fail(v, sub, "answer key '%s' is used by two questions", key);
				break;
			}
			json_object_set_new(keys, key, json_true());
		}
		json_decref(keys);
	}
	json_decref(seen);
	if (v->failed)
		return -1;
	r->criteria = crit;
	r->n = json_array_size(crit);
	e = json_object_get(doc, "title");
	r->title = strdup(e ? json_string_value(e) : "");
	return r->title ? 0 : -1;
}

wt_rubric_t *
wt_rubric_load_text(const char *name, const char *text, size_t len, char *err,
		    size_t errlen)
{
	json_error_t je;
	json_t *doc;
	wt_rubric_t *r;
	scan_t sc;
	vctx_t v;

	if (len > RUBRIC_MAX_BYTES) {
		snprintf(err, errlen, "%s: too large for a rubric (%zu bytes)", name, len);
		return NULL;
	}
	doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!doc) {
		snprintf(err, errlen, "%s:%d:%d: not valid JSON: %s", name, je.line,
			 je.column, je.text);
		return NULL;
	}
	r = calloc(1, sizeof *r);
	if (!r) {
		json_decref(doc);
		snprintf(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	memset(&sc, 0, sizeof sc);
	sc.s = text;
	sc.len = len;
	sc.line = 1;
	sc.lines = json_object();
	scan_value(&sc, "");
	memset(&v, 0, sizeof v);
	v.name = name;
	v.lines = sc.lines;
	v.err = err;
	v.errlen = errlen;
	if (validate(&v, doc, r) != 0) {
		if (!v.failed)
			snprintf(err, errlen, "%s: out of memory", name);
		json_decref(sc.lines);
		json_decref(doc);
		free(r->title);
		free(r);
		return NULL;
	}
	json_decref(sc.lines);
	r->doc = doc;
	return r;
}

wt_rubric_t *
wt_rubric_load_file(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n = 0, cap = 65536;
	wt_rubric_t *r;

	if (!f) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(cap);
	while (buf) {
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
		if (n == cap) {
			char *nb;
			if (cap > RUBRIC_MAX_BYTES)
				break;
			nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
	}
	if (!buf || ferror(f)) {
		snprintf(err, errlen, "%s: cannot read: %s", path,
			 buf ? strerror(errno) : "out of memory");
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	r = wt_rubric_load_text(path, buf, n, err, errlen);
	free(buf);
	return r;
}

void
wt_rubric_free(wt_rubric_t *r)
{
	if (!r)
		return;
	json_decref(r->doc);
	free(r->title);
	free(r);
}

const char *
wt_rubric_title(const wt_rubric_t *r)
{
	return r->title;
}

size_t
wt_rubric_count(const wt_rubric_t *r)
{
	return r->n;
}

const json_t *
wt_rubric_criterion(const wt_rubric_t *r, size_t i)
{
	return i < r->n ? json_array_get(r->criteria, i) : NULL;
}

const char *
wt_rubric_id(const wt_rubric_t *r, size_t i)
{
	return json_string_value(json_object_get(wt_rubric_criterion(r, i), "id"));
}

double
wt_rubric_points(const wt_rubric_t *r, size_t i)
{
	return json_number_value(json_object_get(wt_rubric_criterion(r, i), "points"));
}

double
wt_rubric_max(const wt_rubric_t *r)
{
	return r->max;
}

const json_t *
wt_rubric_integrity(const wt_rubric_t *r)
{
	return r->integrity;
}
