/* \summary: evaluating a rubric's checks and questions over the records of one analysis */
#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "grade/rubric_int.h"

#define MSG_MAX 512

/* ------------------------------------------------------------------ */
/* Small accessors over records (which come from our own dissectors but
 * are treated as untrusted shapes all the same: every access checks). */

static const char *
jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static long long
jint(const json_t *o, const char *k, long long dflt)
{
	json_t *v = json_object_get(o, k);
	return json_is_integer(v) ? (long long)json_integer_value(v) : dflt;
}

static int
jtrue(const json_t *o, const char *k)
{
	return json_is_true(json_object_get(o, k));
}

/* Domain names: case-insensitive (RFC 4343), a trailing dot ignored. */
static int
name_eq(const char *a, const char *b)
{
	size_t la, lb;
	if (!a || !b)
		return 0;
	la = strlen(a);
	lb = strlen(b);
	if (la > 1 && a[la - 1] == '.')
		la--;
	if (lb > 1 && b[lb - 1] == '.')
		lb--;
	return la == lb && !strncasecmp(a, b, la);
}

static int
ip_eq(const char *a, const char *b)
{
	unsigned char x[16], y[16];
	if (!a || !b)
		return 0;
	if (inet_pton(AF_INET, a, x) == 1)
		return inet_pton(AF_INET, b, y) == 1 && !memcmp(x, y, 4);
	if (inet_pton(AF_INET6, a, x) == 1)
		return inet_pton(AF_INET6, b, y) == 1 && !memcmp(x, y, 16);
	return 0;
}

static const char *
ep_ip(const json_t *rec, const char *k)
{
	return jstr(json_object_get(rec, k), "ip");
}

/* A mailbox from "Alice <alice@a.example>" or "<alice@a.example>". */
static int
addr_eq(const char *have, const char *want)
{
	char a[320], b[320];
	const char *lt;
	size_t n;
	if (!have || !want)
		return 0;
	lt = strrchr(have, '<');
	snprintf(a, sizeof a, "%s", lt ? lt + 1 : have);
	if ((n = strlen(a)) && a[n - 1] == '>')
		a[n - 1] = '\0';
	lt = strrchr(want, '<');
	snprintf(b, sizeof b, "%s", lt ? lt + 1 : want);
	if ((n = strlen(b)) && b[n - 1] == '>')
		b[n - 1] = '\0';
	return !strcasecmp(a, b);
}

/* ------------------------------------------------------------------ */
/* Records of one type, in frame order (analyzers emit a record when it
 * completes, so the stream is in completion order, not the trace's). */

typedef struct list {
	const json_t **v;
	size_t n;
} list_t;

static long long
rec_frame(const json_t *r)
{
	long long f = jint(r, "query_frame", -1);
	if (f < 0)
		f = jint(r, "first_frame", -1);
	if (f < 0) {
		const json_t *h = json_array_get(json_object_get(r, "hops"), 0);
		f = jint(h, "first_frame", 0);
	}
	return f;
}

typedef struct keyed {
	const json_t *v;
	long long frame;
	size_t idx;
} keyed_t;

/* By first frame, then in emission order: deterministic whatever qsort does. */
static int
cmp_frame(const void *a, const void *b)
{
	const keyed_t *x = a, *y = b;
	if (x->frame != y->frame)
		return x->frame < y->frame ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static list_t
list_of(const json_t *records, const char *type, const char *type2)
{
	list_t l = {NULL, 0};
	size_t i, n = json_array_size(records), k = 0;
	keyed_t *ks = calloc(n ? n : 1, sizeof *ks);
	l.v = calloc(n ? n : 1, sizeof *l.v);
	if (!l.v || !ks) {
		free(ks);
		free(l.v);
		l.v = NULL;
		return l;
	}
	for (i = 0; i < n; i++) {
		const json_t *r = json_array_get(records, i);
		const char *t = jstr(r, "type");
		if (t && (!strcmp(t, type) || (type2 && !strcmp(t, type2)))) {
			ks[k].v = r;
			ks[k].frame = rec_frame(r);
			ks[k].idx = i;
			k++;
		}
	}
	qsort(ks, k, sizeof *ks, cmp_frame);
	for (i = 0; i < k; i++)
		l.v[i] = ks[i].v;
	l.n = k;
	free(ks);
	return l;
}

/* ------------------------------------------------------------------ */
/* Results */

typedef struct res {
	int passed;
	char msg[MSG_MAX];
	json_t *frames;   /* array of integers */
	json_t *expected; /* what the rubric wants / the computed answer */
	json_t *found;    /* what the trace / the student gave */
} res_t;

static void
res_init(res_t *r)
{
	memset(r, 0, sizeof *r);
	r->frames = json_array();
}

static void
res_msg(res_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
res_msg(res_t *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof r->msg, fmt, ap);
	va_end(ap);
}

static void
res_frame(res_t *r, long long f)
{
	size_t i;
	json_t *v;
	if (f <= 0)
		return;
	json_array_foreach(r->frames, i, v)
		if (json_integer_value(v) == f)
			return;
	json_array_append_new(r->frames, json_integer(f));
}

/* ------------------------------------------------------------------ */
/* Counts: an integer (exactly) or {"min","max"} */

static int
count_ok(const json_t *c, long long n)
{
	if (!c)
		return 1;
	if (json_is_integer(c))
		return n == json_integer_value(c);
	if (json_object_get(c, "min") && n < json_integer_value(json_object_get(c, "min")))
		return 0;
	if (json_object_get(c, "max") && n > json_integer_value(json_object_get(c, "max")))
		return 0;
	return 1;
}

static void
count_str(const json_t *c, char *out, size_t cap)
{
	json_t *mn, *mx;
	if (json_is_integer(c)) {
		snprintf(out, cap, "exactly %lld", (long long)json_integer_value(c));
		return;
	}
	mn = json_object_get(c, "min");
	mx = json_object_get(c, "max");
	if (mn && mx)
		snprintf(out, cap, "%lld to %lld", (long long)json_integer_value(mn),
			 (long long)json_integer_value(mx));
	else if (mn)
		snprintf(out, cap, "at least %lld", (long long)json_integer_value(mn));
	else
		snprintf(out, cap, "at most %lld", (long long)json_integer_value(mx));
}

/* ------------------------------------------------------------------ */
/* DNS transactions */

/* NULL if tx satisfies every selector field of c, else why not. */
static const char *
dns_mismatch(const json_t *tx, const json_t *c, char *why, size_t cap)
{
	const char *s;
	const json_t *flags, *fl;
	const char *k;
	json_t *v;

	if ((s = jstr(c, "qname")) && !name_eq(jstr(tx, "qname"), s)) {
		snprintf(why, cap, "the name is %s, not %s", jstr(tx, "qname") ? jstr(tx, "qname") : "?", s);
		return why;
	}
	if ((s = jstr(c, "qtype")) && (!jstr(tx, "qtype") || strcasecmp(jstr(tx, "qtype"), s))) {
		snprintf(why, cap, "the type is %s, not %s", jstr(tx, "qtype") ? jstr(tx, "qtype") : "?", s);
		return why;
	}
	if ((s = jstr(c, "transport")) && (!jstr(tx, "transport") || strcasecmp(jstr(tx, "transport"), s))) {
		snprintf(why, cap, "it went over %s, not %s", jstr(tx, "transport") ? jstr(tx, "transport") : "?", s);
		return why;
	}
	if ((s = jstr(c, "server")) && !ip_eq(s, ep_ip(tx, "server"))) {
		snprintf(why, cap, "it was sent to %s, not %s", ep_ip(tx, "server") ? ep_ip(tx, "server") : "?", s);
		return why;
	}
	if ((s = jstr(c, "client")) && !ip_eq(s, ep_ip(tx, "client"))) {
		snprintf(why, cap, "it was sent by %s, not %s", ep_ip(tx, "client") ? ep_ip(tx, "client") : "?", s);
		return why;
	}
	if ((s = jstr(c, "rcode")) && (!jstr(tx, "rcode") || strcasecmp(jstr(tx, "rcode"), s))) {
		snprintf(why, cap, "the response code is %s, not %s",
			 jstr(tx, "rcode") ? jstr(tx, "rcode") : "none (no response)", s);
		return why;
	}
	if ((fl = json_object_get(c, "flags"))) {
		flags = json_object_get(tx, "flags");
		json_object_foreach((json_t *)fl, k, v) {
			int have = jtrue(flags, k);
			if (have != json_is_true(v)) {
				snprintf(why, cap, "the %s flag is %s", k, have ? "set" : "not set");
				return why;
			}
		}
	}
	if ((s = jstr(c, "status"))) {
		int answered = json_is_integer(json_object_get(tx, "response_frame"));
		if (answered != !strcmp(s, "answered")) {
			snprintf(why, cap, "it was %s", answered ? "answered" : "not answered");
			return why;
		}
	}
	if (json_object_get(c, "answers") &&
	    !count_ok(json_object_get(c, "answers"),
		      (long long)json_array_size(json_object_get(tx, "answers")))) {
		char cs[64];
		count_str(json_object_get(c, "answers"), cs, sizeof cs);
		snprintf(why, cap, "it has %zu answer%s, not %s",
			 json_array_size(json_object_get(tx, "answers")),
			 json_array_size(json_object_get(tx, "answers")) == 1 ? "" : "s", cs);
		return why;
	}
	return NULL;
}

static json_t *
dns_found(const json_t *tx)
{
	char buf[512];
	snprintf(buf, sizeof buf, "%s %s over %s from %s:%lld to %s:%lld, %s, %zu answer%s",
		 jstr(tx, "qname") ? jstr(tx, "qname") : "?",
		 jstr(tx, "qtype") ? jstr(tx, "qtype") : "?",
		 jstr(tx, "transport") ? jstr(tx, "transport") : "?",
		 ep_ip(tx, "client") ? ep_ip(tx, "client") : "?",
		 jint(json_object_get(tx, "client"), "port", 0),
		 ep_ip(tx, "server") ? ep_ip(tx, "server") : "?",
		 jint(json_object_get(tx, "server"), "port", 0),
		 jstr(tx, "rcode") ? jstr(tx, "rcode") : "no response",
		 json_array_size(json_object_get(tx, "answers")),
		 json_array_size(json_object_get(tx, "answers")) == 1 ? "" : "s");
	return json_string(buf);
}

/* The constraints of a check, as text, for the report. */
static json_t *
constraints(const json_t *c, const char *skip)
{
	json_t *o = json_deep_copy(c);
	if (o)
		json_object_del(o, skip);
	return o;
}

/* Among transactions that do not match, the most telling: the first
 * one for the same name (and type) — "your query for X went over TCP". */
static const json_t *
closest(const list_t *l, const json_t *c, int (*same)(const json_t *, const json_t *))
{
	size_t i;
	for (i = 0; i < l->n; i++)
		if (same(l->v[i], c))
			return l->v[i];
	return NULL;
}

static int
dns_same_q(const json_t *tx, const json_t *c)
{
	const char *q = jstr(c, "qname"), *t = jstr(c, "qtype");
	return (!q || name_eq(jstr(tx, "qname"), q)) &&
	       (!t || (jstr(tx, "qtype") && !strcasecmp(jstr(tx, "qtype"), t)));
}

static int
dns_same_name(const json_t *tx, const json_t *c)
{
	const char *q = jstr(c, "qname");
	return !q || name_eq(jstr(tx, "qname"), q);
}

static void
check_dns(const json_t *records, const json_t *c, res_t *r)
{
	list_t l = list_of(records, "dns", NULL);
	char why[256];
	size_t i, matched = 0;
	const json_t *first = NULL, *near;
	const json_t *cnt = json_object_get(c, "count");

	r->expected = constraints(c, "kind");
	for (i = 0; i < l.n; i++) {
		if (dns_mismatch(l.v[i], c, why, sizeof why))
			continue;
		if (!first)
			first = l.v[i];
		matched++;
	}
	if (!l.n) {
		res_msg(r, "no DNS transaction in the trace");
	} else if (!matched) {
		near = closest(&l, c, dns_same_q);
		if (!near)
			near = closest(&l, c, dns_same_name);
		if (near) {
			dns_mismatch(near, c, why, sizeof why);
			res_msg(r, "no DNS transaction matches: the nearest (query frame %lld) %s",
				jint(near, "query_frame", 0), why);
			r->found = dns_found(near);
			res_frame(r, jint(near, "query_frame", 0));
			res_frame(r, jint(near, "response_frame", 0));
		} else if (jstr(c, "qname")) {
			res_msg(r, "no DNS query for %s in the trace (%zu other transaction%s)",
				jstr(c, "qname"), l.n, l.n == 1 ? "" : "s");
		} else {
			res_msg(r, "none of the %zu DNS transactions matches", l.n);
		}
	} else if (cnt ? !count_ok(cnt, (long long)matched) : matched < 1) {
		char cs[64];
		count_str(cnt, cs, sizeof cs);
		res_msg(r, "%zu matching DNS transaction%s, expected %s", matched,
			matched == 1 ? "" : "s", cs);
		r->found = dns_found(first);
		res_frame(r, jint(first, "query_frame", 0));
	} else {
		r->passed = 1;
		r->found = dns_found(first);
		res_frame(r, jint(first, "query_frame", 0));
		res_frame(r, jint(first, "response_frame", 0));
		res_msg(r, "query frame %lld, response frame %lld%s",
			jint(first, "query_frame", 0), jint(first, "response_frame", 0),
			matched > 1 ? " (and later ones)" : "");
	}
	free(l.v);
}

/* ------------------------------------------------------------------ */
/* Resolution chains */

static const char *
res_mismatch(const json_t *rs, const json_t *c, char *why, size_t cap, int full)
{
	const char *s;
	json_t *steps = json_object_get(rs, "steps"), *st, *role;
	size_t i, j, refs = 0;

	if ((s = jstr(c, "qname")) && !name_eq(jstr(rs, "qname"), s)) {
		snprintf(why, cap, "it resolves %s, not %s", jstr(rs, "qname") ? jstr(rs, "qname") : "?", s);
		return why;
	}
	if ((s = jstr(c, "qtype")) && (!jstr(rs, "qtype") || strcasecmp(jstr(rs, "qtype"), s))) {
		snprintf(why, cap, "the type is %s, not %s", jstr(rs, "qtype") ? jstr(rs, "qtype") : "?", s);
		return why;
	}
	if ((s = jstr(c, "client")) && !ip_eq(s, ep_ip(rs, "client"))) {
		snprintf(why, cap, "the client is %s, not %s", ep_ip(rs, "client") ? ep_ip(rs, "client") : "?", s);
		return why;
	}
	/* "resolution_kind": "kind" names the check itself */
	if ((s = jstr(c, "resolution_kind")) && (!jstr(rs, "kind") || strcmp(jstr(rs, "kind"), s))) {
		snprintf(why, cap, "it is %s, not %s", jstr(rs, "kind") ? jstr(rs, "kind") : "?", s);
		return why;
	}
	if ((s = jstr(c, "resolver_method")) &&
	    (!jstr(rs, "resolver_method") || strcmp(jstr(rs, "resolver_method"), s))) {
		snprintf(why, cap, "the resolver's method is %s, not %s",
			 jstr(rs, "resolver_method") ? jstr(rs, "resolver_method") : "?", s);
		return why;
	}
	if (!full)
		return NULL;
	if ((s = jstr(c, "rcode")) && (!jstr(rs, "rcode") || strcasecmp(jstr(rs, "rcode"), s))) {
		snprintf(why, cap, "it ended with %s, not %s", jstr(rs, "rcode") ? jstr(rs, "rcode") : "?", s);
		return why;
	}
	json_array_foreach(json_object_get(c, "roles"), j, role) {
		int seen = 0;
		json_array_foreach(steps, i, st)
			if (jstr(st, "role") && !strcmp(jstr(st, "role"), json_string_value(role)))
				seen = 1;
		if (!seen) {
			snprintf(why, cap, "no step reaches a server in the role '%s'",
				 json_string_value(role));
			return why;
		}
	}
	json_array_foreach(steps, i, st)
		if (jstr(st, "outcome") && !strcmp(jstr(st, "outcome"), "referral"))
			refs++;
	if (json_object_get(c, "min_referrals") &&
	    (long long)refs < json_integer_value(json_object_get(c, "min_referrals"))) {
		snprintf(why, cap, "it follows %zu referral%s, fewer than %lld", refs,
			 refs == 1 ? "" : "s",
			 (long long)json_integer_value(json_object_get(c, "min_referrals")));
		return why;
	}
	return NULL;
}

static json_t *
res_found(const json_t *rs)
{
	char buf[512];
	json_t *st;
	size_t i, refs = 0, o;
	json_array_foreach(json_object_get(rs, "steps"), i, st)
		if (jstr(st, "outcome") && !strcmp(jstr(st, "outcome"), "referral"))
			refs++;
	o = (size_t)snprintf(buf, sizeof buf, "%s %s: %s (%s), %zu referral%s, roles",
			     jstr(rs, "qname") ? jstr(rs, "qname") : "?",
			     jstr(rs, "qtype") ? jstr(rs, "qtype") : "?",
			     jstr(rs, "kind") ? jstr(rs, "kind") : "?",
			     jstr(rs, "resolver_method") ? jstr(rs, "resolver_method") : "?",
			     refs, refs == 1 ? "" : "s");
	json_array_foreach(json_object_get(rs, "steps"), i, st) {
		const char *role = jstr(st, "role");
		if (o < sizeof buf && role && !jtrue(st, "nested"))
			o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s", i ? ", " : " ", role);
	}
	return json_string(buf);
}

static void
res_frames(res_t *r, const json_t *rs)
{
	json_t *st;
	size_t i;
	json_array_foreach(json_object_get(rs, "steps"), i, st) {
		if (jtrue(st, "nested"))
			continue;
		res_frame(r, jint(st, "query_frame", 0));
		res_frame(r, jint(st, "response_frame", 0));
	}
}

static int
res_same_q(const json_t *rs, const json_t *c)
{
	char why[8];
	return res_mismatch(rs, c, why, sizeof why, 0) == NULL;
}

static int
res_same_name(const json_t *rs, const json_t *c)
{
	const char *q = jstr(c, "qname");
	return !q || name_eq(jstr(rs, "qname"), q);
}

static void
check_resolution(const json_t *records, const json_t *c, res_t *r)
{
	list_t l = list_of(records, "resolution", NULL);
	char why[256];
	size_t i;
	const json_t *near;

	r->expected = constraints(c, "kind");
	for (i = 0; i < l.n; i++) {
		if (res_mismatch(l.v[i], c, why, sizeof why, 1))
			continue;
		r->passed = 1;
		r->found = res_found(l.v[i]);
		res_frames(r, l.v[i]);
		res_msg(r, "resolution from frame %lld to %lld", jint(l.v[i], "first_frame", 0),
			jint(l.v[i], "last_frame", 0));
		free(l.v);
		return;
	}
	near = closest(&l, c, res_same_q);
	if (!near)
		near = closest(&l, c, res_same_name);
	if (!l.n) {
		res_msg(r, "no DNS resolution in the trace");
	} else if (near) {
		res_mismatch(near, c, why, sizeof why, 1);
		res_msg(r, "no resolution matches: the nearest (frames %lld-%lld) %s",
			jint(near, "first_frame", 0), jint(near, "last_frame", 0), why);
		r->found = res_found(near);
		res_frames(r, near);
	} else {
		res_msg(r, "no resolution of %s in the trace", jstr(c, "qname") ? jstr(c, "qname") : "that name");
	}
	free(l.v);
}

/* ------------------------------------------------------------------ */
/* SMTP: commands paired with their replies (RFC 5321 4.2: one reply per
 * command, in order, also when pipelined, RFC 2920 3.1; the greeting
 * comes unasked; the message itself, after a 354, gets one reply). */

typedef struct pair {
	char verb[24];
	long long cmd_frame;   /* 0 for the greeting and the end of data */
	long long reply_frame; /* 0 if unanswered */
	int code;
} pair_t;

#define MAX_PAIRS 512

static size_t
smtp_pairs(const json_t *sess, pair_t *p, size_t cap)
{
	json_t *dlg = json_object_get(sess, "dialogue"), *e;
	size_t i, n = 0, next = 0; /* next: first pair awaiting a reply */
	int greeted = 0;
	json_array_foreach(dlg, i, e) {
		const char *from = jstr(e, "from"), *text = jstr(e, "text");
		if (!from || !text)
			continue;
		if (!strcmp(from, "client")) {
			size_t k = 0;
			if (n >= cap)
				break;
			memset(&p[n], 0, sizeof p[n]);
			if (jtrue(e, "sasl")) {
				snprintf(p[n].verb, sizeof p[n].verb, "AUTH-DATA");
			} else {
				while (text[k] && text[k] != ' ' && text[k] != ':' &&
				       k + 1 < sizeof p[n].verb) {
					p[n].verb[k] = (char)toupper((unsigned char)text[k]);
					k++;
				}
				p[n].verb[k] = '\0';
			}
			p[n].cmd_frame = jint(e, "frame", 0);
			n++;
			greeted = 1;
			continue;
		}
		/* A server line ends a reply unless it is "250-..." */
		if (strlen(text) >= 4 && text[3] == '-')
			continue;
		if (next < n) {
			p[next].reply_frame = jint(e, "frame", 0);
			p[next].code = (int)jint(e, "code", 0);
			next++;
			/* A 354 to DATA: the message comes next and gets the
			 * next reply, before any command pipelined after it
			 * (RFC 2920 3.1: QUIT may follow the final dot). */
			if ((!strcmp(p[next - 1].verb, "DATA")) && p[next - 1].code / 100 == 3 && n < cap) {
				memmove(&p[next + 1], &p[next], (n - next) * sizeof *p);
				memset(&p[next], 0, sizeof p[next]);
				snprintf(p[next].verb, sizeof p[next].verb, "END_OF_DATA");
				n++;
			}
			continue;
		}
		if (n >= cap)
			break;
		memset(&p[n], 0, sizeof p[n]);
		if (!greeted && n == 0)
			snprintf(p[n].verb, sizeof p[n].verb, "GREETING");
		else if (n > 0 && (!strcmp(p[n - 1].verb, "DATA") || !strcmp(p[n - 1].verb, "BDAT") ||
				   !strcmp(p[n - 1].verb, "END_OF_DATA")))
			snprintf(p[n].verb, sizeof p[n].verb, "END_OF_DATA");
		else
			snprintf(p[n].verb, sizeof p[n].verb, "UNSOLICITED");
		greeted = 1;
		p[n].reply_frame = jint(e, "frame", 0);
		p[n].code = (int)jint(e, "code", 0);
		n++;
		next = n;
	}
	return n;
}

static int
verb_is(const char *verb, const char *want)
{
	/* "greeting", "end_of_data" and "end of data" in rubrics */
	char w[24];
	size_t i;
	for (i = 0; want[i] && i + 1 < sizeof w; i++)
		w[i] = want[i] == ' ' ? '_' : (char)toupper((unsigned char)want[i]);
	w[i] = '\0';
	if (!strcmp(w, "HELO") || !strcmp(w, "EHLO"))
		return !strcmp(verb, "HELO") || !strcmp(verb, "EHLO");
	if (!strcmp(w, "MAIL_FROM"))
		return !strcmp(verb, "MAIL");
	if (!strcmp(w, "RCPT_TO"))
		return !strcmp(verb, "RCPT");
	return !strcmp(verb, w);
}

static int
sess_has_sender(const json_t *s, const char *sender)
{
	json_t *t;
	size_t i;
	json_array_foreach(json_object_get(s, "transactions"), i, t)
		if (addr_eq(jstr(t, "mail_from"), sender))
			return 1;
	return 0;
}

static const char *
smtp_sel_mismatch(const json_t *s, const json_t *c, char *why, size_t cap)
{
	const char *v;
	if ((v = jstr(c, "server")) && !ip_eq(v, ep_ip(s, "server"))) {
		snprintf(why, cap, "the server is %s, not %s", ep_ip(s, "server") ? ep_ip(s, "server") : "?", v);
		return why;
	}
	if (json_object_get(c, "server_port") &&
	    jint(json_object_get(s, "server"), "port", 0) != jint(c, "server_port", 0)) {
		snprintf(why, cap, "the server port is %lld, not %lld",
			 jint(json_object_get(s, "server"), "port", 0), jint(c, "server_port", 0));
		return why;
	}
	if ((v = jstr(c, "sender")) && !sess_has_sender(s, v)) {
		snprintf(why, cap, "no MAIL FROM:<%s> in the session", v);
		return why;
	}
	return NULL;
}

static int
has_rcpt(const json_t *t, const char *rcpt)
{
	json_t *e;
	size_t i;
	json_array_foreach(json_object_get(t, "rcpt_to"), i, e)
		if (addr_eq(json_string_value(e), rcpt))
			return 1;
	json_array_foreach(json_object_get(t, "rejected_rcpt"), i, e)
		if (addr_eq(json_string_value(e), rcpt))
			return 1;
	return 0;
}

static const char *
smtp_mismatch(const json_t *s, const json_t *c, char *why, size_t cap, int *best_t)
{
	pair_t *p;
	size_t np, i, j, k;
	json_t *e, *t;
	const char *v;
	int need_tx = json_object_get(c, "recipients") || json_object_get(c, "subject") ||
		      json_object_get(c, "message_id");

	if (smtp_sel_mismatch(s, c, why, cap))
		return why;
	if (json_object_get(c, "tls") && jtrue(s, "tls") != json_is_true(json_object_get(c, "tls"))) {
		snprintf(why, cap, jtrue(s, "tls") ? "the session switched to TLS (STARTTLS or implicit TLS)"
						   : "the session did not use TLS");
		return why;
	}
	if (json_object_get(c, "auth")) {
		json_t *a = json_object_get(s, "auth");
		int authed = json_is_object(a) && jtrue(a, "success");
		if (authed != json_is_true(json_object_get(c, "auth"))) {
			snprintf(why, cap, authed ? "the client authenticated" : "the client did not authenticate");
			return why;
		}
	}
	p = calloc(MAX_PAIRS, sizeof *p);
	if (!p) {
		snprintf(why, cap, "out of memory");
		return why;
	}
	np = smtp_pairs(s, p, MAX_PAIRS);
	/* Commands in order: a subsequence of what the client sent. */
	k = 0;
	json_array_foreach(json_object_get(c, "commands"), i, e) {
		for (; k < np; k++)
			if (p[k].cmd_frame && verb_is(p[k].verb, json_string_value(e)))
				break;
		if (k == np) {
			snprintf(why, cap, "no %s command%s", json_string_value(e),
				 i ? " after the ones before it" : "");
			free(p);
			return why;
		}
		k++;
	}
	k = 0;
	json_array_foreach(json_object_get(c, "replies"), i, e) {
		for (; k < np; k++)
			if (p[k].code == json_integer_value(e))
				break;
		if (k == np) {
			snprintf(why, cap, "no %lld reply%s", (long long)json_integer_value(e),
				 i ? " after the ones before it" : "");
			free(p);
			return why;
		}
		k++;
	}
	free(p);
	if (!need_tx)
		return NULL;
	/* Transaction-level constraints: one transaction must meet them all. */
	if (!json_array_size(json_object_get(s, "transactions"))) {
		snprintf(why, cap, "no mail transaction (MAIL FROM ... DATA) is visible in the session");
		return why;
	}
	json_array_foreach(json_object_get(s, "transactions"), j, t) {
		const json_t *m = json_object_get(t, "message");
		int ok = 1;
		json_array_foreach(json_object_get(c, "recipients"), i, e)
			if (!has_rcpt(t, json_string_value(e))) {
				snprintf(why, cap, "no RCPT TO:<%s>", json_string_value(e));
				ok = 0;
				break;
			}
		if (ok && (v = jstr(c, "subject")) && (!jstr(m, "subject") || strcmp(jstr(m, "subject"), v))) {
			snprintf(why, cap, "the subject is \"%s\"", jstr(m, "subject") ? jstr(m, "subject") : "");
			ok = 0;
		}
		if (ok && (v = jstr(c, "message_id")) && !addr_eq(jstr(m, "message_id"), v)) {
			snprintf(why, cap, "the Message-ID is %s", jstr(m, "message_id") ? jstr(m, "message_id") : "missing");
			ok = 0;
		}
		if (ok) {
			*best_t = (int)j;
			return NULL;
		}
	}
	return why;
}

static json_t *
smtp_found(const json_t *s)
{
	char buf[1024];
	pair_t *p = calloc(MAX_PAIRS, sizeof *p);
	size_t np, i, o;
	if (!p)
		return NULL;
	np = smtp_pairs(s, p, MAX_PAIRS);
	o = (size_t)snprintf(buf, sizeof buf, "%s -> %s:%lld%s:",
			     ep_ip(s, "client") ? ep_ip(s, "client") : "?",
			     ep_ip(s, "server") ? ep_ip(s, "server") : "?",
			     jint(json_object_get(s, "server"), "port", 0),
			     jtrue(s, "tls") ? " (TLS)" : "");
	for (i = 0; i < np && o < sizeof buf; i++) {
		if (!strcmp(p[i].verb, "AUTH-DATA"))
			continue;
		if (p[i].code)
			o += (size_t)snprintf(buf + o, sizeof buf - o, " %s %d", p[i].verb, p[i].code);
		else
			o += (size_t)snprintf(buf + o, sizeof buf - o, " %s -", p[i].verb);
	}
	free(p);
	return json_string(buf);
}

static void
check_smtp(const json_t *records, const json_t *c, res_t *r)
{
	list_t l = list_of(records, "smtp", NULL);
	char why[256], first_why[256] = "";
	const json_t *near = NULL;
	size_t i;
	int t = -1;

	r->expected = constraints(c, "kind");
	for (i = 0; i < l.n; i++) {
		if (smtp_mismatch(l.v[i], c, why, sizeof why, &t)) {
			if (!near) {
				near = l.v[i];
				snprintf(first_why, sizeof first_why, "%s", why);
			}
			continue;
		}
		r->passed = 1;
		r->found = smtp_found(l.v[i]);
		res_frame(r, jint(l.v[i], "first_frame", 0));
		if (t >= 0)
			res_frame(r, jint(json_array_get(json_object_get(l.v[i], "transactions"), (size_t)t),
					  "data_frame", 0));
		res_frame(r, jint(l.v[i], "last_frame", 0));
		res_msg(r, "SMTP session in frames %lld-%lld", jint(l.v[i], "first_frame", 0),
			jint(l.v[i], "last_frame", 0));
		free(l.v);
		return;
	}
	if (!near) {
		res_msg(r, "no SMTP session in the trace");
	} else {
		res_msg(r, "no SMTP session matches: in the %s (frames %lld-%lld) %s",
			l.n == 1 ? "session" : "first session", jint(near, "first_frame", 0),
			jint(near, "last_frame", 0), first_why);
		r->found = smtp_found(near);
		res_frame(r, jint(near, "first_frame", 0));
		res_frame(r, jint(near, "last_frame", 0));
	}
	free(l.v);
}

/* ------------------------------------------------------------------ */
/* Mail flows and retrieval */

static const char *
mail_sel_mismatch(const json_t *m, const json_t *c, char *why, size_t cap)
{
	const char *v;
	if ((v = jstr(c, "subject")) && (!jstr(m, "subject") || strcmp(jstr(m, "subject"), v))) {
		snprintf(why, cap, "the subject is \"%s\"", jstr(m, "subject") ? jstr(m, "subject") : "");
		return why;
	}
	if ((v = jstr(c, "message_id")) && !addr_eq(jstr(m, "message_id"), v)) {
		snprintf(why, cap, "the Message-ID is %s", jstr(m, "message_id") ? jstr(m, "message_id") : "missing");
		return why;
	}
	return NULL;
}

static void
check_mail(const json_t *records, const json_t *c, res_t *r)
{
	list_t l = list_of(records, "mail", NULL);
	char why[256] = "";
	const json_t *near = NULL;
	size_t i, j, k;
	json_t *h, *role;

	r->expected = constraints(c, "kind");
	for (i = 0; i < l.n; i++) {
		const json_t *m = l.v[i];
		json_t *hops = json_object_get(m, "hops");
		int ok = 1;
		char w[256];
		if (mail_sel_mismatch(m, c, w, sizeof w))
			continue;
		if (!near)
			near = m;
		if (!count_ok(json_object_get(c, "hops"), (long long)json_array_size(hops))) {
			char cs[64];
			count_str(json_object_get(c, "hops"), cs, sizeof cs);
			snprintf(w, sizeof w, "it has %zu hop%s, not %s", json_array_size(hops),
				 json_array_size(hops) == 1 ? "" : "s", cs);
			ok = 0;
		}
		/* The roles in order: a subsequence of the hops. */
		k = 0;
		json_array_foreach(json_object_get(c, "roles"), j, role) {
			if (!ok)
				break;
			for (; k < json_array_size(hops); k++) {
				h = json_array_get(hops, k);
				if ((jstr(h, "role") && !strcmp(jstr(h, "role"), json_string_value(role))) ||
				    (jstr(h, "protocol") && !strcmp(jstr(h, "protocol"), json_string_value(role))))
					break;
			}
			if (k == json_array_size(hops)) {
				snprintf(w, sizeof w, "no %s hop%s", json_string_value(role),
					 j ? " after the ones before it" : "");
				ok = 0;
			}
			k++;
		}
		if (!ok) {
			if (near == m)
				snprintf(why, sizeof why, "%s", w);
			continue;
		}
		r->passed = 1;
		near = m;
		break;
	}
	if (near) {
		char buf[512];
		size_t o = (size_t)snprintf(buf, sizeof buf, "%s: %zu hops:",
					    jstr(near, "message_id") ? jstr(near, "message_id") : "(no Message-ID)",
					    json_array_size(json_object_get(near, "hops")));
		json_array_foreach(json_object_get(near, "hops"), j, h) {
			if (o < sizeof buf)
				o += (size_t)snprintf(buf + o, sizeof buf - o, " %s/%s",
						      jstr(h, "protocol") ? jstr(h, "protocol") : "?",
						      jstr(h, "role") ? jstr(h, "role") : "?");
			res_frame(r, jint(h, "first_frame", 0));
		}
		r->found = json_string(buf);
	}
	if (r->passed)
		res_msg(r, "mail %s", jstr(near, "message_id") ? jstr(near, "message_id") : "");
	else if (!l.n)
		res_msg(r, "no mail flow in the trace");
	else if (!near)
		res_msg(r, "no mail flow with that subject or Message-ID");
	else
		res_msg(r, "the mail flow does not match: %s", why);
	free(l.v);
}

static int
retr_sel_ok(const json_t *s, const json_t *c)
{
	const char *p = jstr(c, "protocol"), *u = jstr(c, "user");
	if (p && strcmp(p, "any") && strcmp(p, jstr(s, "type")))
		return 0;
	if (u && !addr_eq(jstr(s, "user"), u))
		return 0;
	return 1;
}

/* The messages a session retrieved whole (IMAP header-only fetches are
 * a listing, not a retrieval). */
static size_t
retr_messages(const json_t *s, const json_t **out, size_t cap)
{
	json_t *m;
	size_t i, n = 0;
	json_array_foreach(json_object_get(s, "messages"), i, m) {
		if (jtrue(m, "headers_only"))
			continue;
		if (n < cap)
			out[n] = m;
		n++;
	}
	return n < cap ? n : cap;
}

static void
check_retrieval(const json_t *records, const json_t *c, res_t *r)
{
	list_t l = list_of(records, "pop3", "imap");
	const json_t *msgs[256];
	size_t i, j, nm;
	const char *v;
	char why[256] = "";
	const json_t *near = NULL;

	r->expected = constraints(c, "kind");
	for (i = 0; i < l.n; i++) {
		const json_t *s = l.v[i];
		int ok = 1;
		if (!retr_sel_ok(s, c))
			continue;
		if (!near)
			near = s;
		nm = retr_messages(s, msgs, 256);
		if (!count_ok(json_object_get(c, "messages"), (long long)nm)) {
			char cs[64];
			count_str(json_object_get(c, "messages"), cs, sizeof cs);
			snprintf(why, sizeof why, "%zu message%s retrieved, not %s", nm, nm == 1 ? "" : "s", cs);
			ok = 0;
		}
		if (ok && ((v = jstr(c, "subject")) || jstr(c, "message_id"))) {
			ok = 0;
			for (j = 0; j < nm && !ok; j++) {
				const json_t *hdr = json_object_get(msgs[j], "message");
				if ((!(v = jstr(c, "subject")) || (jstr(hdr, "subject") && !strcmp(jstr(hdr, "subject"), v))) &&
				    (!(v = jstr(c, "message_id")) || addr_eq(jstr(hdr, "message_id"), v))) {
					ok = 1;
					res_frame(r, jint(msgs[j], "frame", 0));
				}
			}
			if (!ok)
				snprintf(why, sizeof why, "no retrieved message has that %s",
					 jstr(c, "subject") ? "subject" : "Message-ID");
		}
		if (ok) {
			char buf[256];
			r->passed = 1;
			snprintf(buf, sizeof buf, "%s session of %s, %zu message%s retrieved",
				 jstr(s, "type"), jstr(s, "user") ? jstr(s, "user") : "?", nm, nm == 1 ? "" : "s");
			r->found = json_string(buf);
			res_frame(r, jint(s, "first_frame", 0));
			res_frame(r, jint(s, "last_frame", 0));
			res_msg(r, "%s session in frames %lld-%lld", jstr(s, "type"),
				jint(s, "first_frame", 0), jint(s, "last_frame", 0));
			free(l.v);
			return;
		}
	}
	if (!l.n)
		res_msg(r, "no POP3 or IMAP session in the trace");
	else if (!near)
		res_msg(r, "no POP3 or IMAP session of that protocol and user");
	else
		res_msg(r, "the retrieval does not match: %s", why);
	if (near) {
		res_frame(r, jint(near, "first_frame", 0));
		res_frame(r, jint(near, "last_frame", 0));
	}
	free(l.v);
}

/* ------------------------------------------------------------------ */
/* Questions: the answer computed from the student's own trace */

typedef struct answer {
	json_t *value;  /* a string, or an array of acceptable strings; NULL if none */
	char why[256];  /* when value is NULL */
	long long frames[4];
} answer_t;

static void
set_int(answer_t *a, long long v)
{
	char b[32];
	snprintf(b, sizeof b, "%lld", v);
	a->value = json_string(b);
}

/* The nth record of the list satisfying sel (1-based). */
static const json_t *
nth_match(const list_t *l, const json_t *q, int (*ok)(const json_t *, const json_t *))
{
	long long nth = jint(q, "nth", 1), k = 0;
	size_t i;
	for (i = 0; i < l->n; i++)
		if (ok(l->v[i], q) && ++k == nth)
			return l->v[i];
	return NULL;
}

static int
dns_sel_ok(const json_t *tx, const json_t *q)
{
	char why[8];
	return dns_mismatch(tx, q, why, sizeof why) == NULL;
}

static int
res_sel_ok(const json_t *rs, const json_t *q)
{
	char why[8];
	return res_mismatch(rs, q, why, sizeof why, 0) == NULL;
}

static int
smtp_sel_ok(const json_t *s, const json_t *q)
{
	char why[8];
	return smtp_sel_mismatch(s, q, why, sizeof why) == NULL;
}

static int
mail_sel_ok(const json_t *m, const json_t *q)
{
	char why[8];
	return mail_sel_mismatch(m, q, why, sizeof why) == NULL;
}

static void
describe_sel(const json_t *q, const char *what, char *out, size_t cap)
{
	const char *n = jstr(q, "qname"), *t = jstr(q, "qtype");
	long long nth = jint(q, "nth", 1);
	if (n || t)
		snprintf(out, cap, "no%s %s%s%s%s in the trace", nth > 1 ? " such" : "", what,
			 n ? " for " : "", n ? n : "", t ? "" : "");
	else
		snprintf(out, cap, "no%s %s in the trace", nth > 1 ? " such" : "", what);
	if (t && strlen(out) + strlen(t) + 8 < cap) {
		char *p = strstr(out, " in the trace");
		if (p)
			snprintf(p, cap - (size_t)(p - out), " (%s) in the trace", t);
	}
}

/* The answer records of tx that answer its question type (the CNAMEs
 * before them are the way, not the answer). */
static json_t *
answers_of_type(const json_t *tx, int ttl)
{
	json_t *out = json_array(), *a;
	size_t i;
	const char *qt = jstr(tx, "qtype");
	json_array_foreach(json_object_get(tx, "answers"), i, a) {
		if (qt && jstr(a, "type") && strcasecmp(jstr(a, "type"), qt))
			continue;
		if (ttl) {
			char b[32];
			snprintf(b, sizeof b, "%lld", jint(a, "ttl", 0));
			json_array_append_new(out, json_string(b));
		} else if (jstr(a, "data")) {
			json_array_append_new(out, json_string(jstr(a, "data")));
		}
	}
	if (!json_array_size(out)) {
		json_decref(out);
		return NULL;
	}
	return out;
}

/* "10 mail.b.example" -> the exchanges of lowest preference (RFC 5321 5.1). */
static json_t *
mx_hosts(const json_t *answers)
{
	json_t *out = json_array(), *a;
	size_t i;
	long long best = -1;
	for (i = 0; i < json_array_size(answers); i++) {
		const char *d = json_string_value(json_object_get(json_array_get(answers, i), "data"));
		const char *t = json_string_value(json_object_get(json_array_get(answers, i), "type"));
		if (!d || (t && strcasecmp(t, "MX")))
			continue;
		if (best < 0 || atoll(d) < best)
			best = atoll(d);
	}
	json_array_foreach(answers, i, a) {
		const char *d = jstr(a, "data"), *sp;
		if (!d || (jstr(a, "type") && strcasecmp(jstr(a, "type"), "MX")) || atoll(d) != best)
			continue;
		sp = strchr(d, ' ');
		json_array_append_new(out, json_string(sp ? sp + 1 : d));
	}
	if (!json_array_size(out)) {
		json_decref(out);
		return NULL;
	}
	return out;
}

static void
ask_dns(const json_t *records, const json_t *q, const char *ask, answer_t *a)
{
	list_t l = list_of(records, "dns", NULL);
	json_t *mxq = NULL;
	const json_t *tx, *cl, *sv;

	/* "the MX host of DOMAIN" is about the MX query for it */
	if (!strcmp(ask, "dns.mx") && !jstr(q, "qtype")) {
		mxq = json_deep_copy(q);
		json_object_set_new(mxq, "qtype", json_string("MX"));
		q = mxq;
	}
	tx = nth_match(&l, q, dns_sel_ok);

	if (!tx) {
		if (!l.n)
			snprintf(a->why, sizeof a->why, "no DNS transaction in the trace");
		else
			describe_sel(q, "DNS query", a->why, sizeof a->why);
		free(l.v);
		json_decref(mxq);
		return;
	}
	a->frames[0] = jint(tx, "query_frame", 0);
	a->frames[1] = jint(tx, "response_frame", 0);
	cl = json_object_get(tx, "client");
	sv = json_object_get(tx, "server");
	if (!strcmp(ask, "dns.query_frame"))
		set_int(a, jint(tx, "query_frame", 0));
	else if (!strcmp(ask, "dns.response_frame")) {
		if (json_is_integer(json_object_get(tx, "response_frame")))
			set_int(a, jint(tx, "response_frame", 0));
		else
			snprintf(a->why, sizeof a->why, "the query of frame %lld was not answered",
				 jint(tx, "query_frame", 0));
	} else if (!strcmp(ask, "dns.transport"))
		a->value = json_string(jstr(tx, "transport") ? jstr(tx, "transport") : "?");
	else if (!strcmp(ask, "dns.client_port"))
		set_int(a, jint(cl, "port", 0));
	else if (!strcmp(ask, "dns.server_port"))
		set_int(a, jint(sv, "port", 0));
	else if (!strcmp(ask, "dns.server") || !strcmp(ask, "dns.client")) {
		const char *ip = jstr(!strcmp(ask, "dns.server") ? sv : cl, "ip");
		if (ip)
			a->value = json_string(ip);
	} else if (!strcmp(ask, "dns.qtype"))
		a->value = json_string(jstr(tx, "qtype") ? jstr(tx, "qtype") : "?");
	else if (!strcmp(ask, "dns.id"))
		set_int(a, jint(tx, "id", 0));
	else if (!strcmp(ask, "dns.answer_count"))
		set_int(a, (long long)json_array_size(json_object_get(tx, "answers")));
	else if (!strcmp(ask, "dns.rcode")) {
		if (jstr(tx, "rcode"))
			a->value = json_string(jstr(tx, "rcode"));
		else
			snprintf(a->why, sizeof a->why, "the query of frame %lld was not answered",
				 jint(tx, "query_frame", 0));
	} else if (!strcmp(ask, "dns.flag")) {
		a->value = json_string(jtrue(json_object_get(tx, "flags"), jstr(q, "flag")) ? "yes" : "no");
	} else if (!strcmp(ask, "dns.answer") || !strcmp(ask, "dns.ttl")) {
		a->value = answers_of_type(tx, !strcmp(ask, "dns.ttl"));
		if (!a->value)
			snprintf(a->why, sizeof a->why, "the response (frame %lld) has no %s answer",
				 jint(tx, "response_frame", 0), jstr(tx, "qtype") ? jstr(tx, "qtype") : "");
	} else if (!strcmp(ask, "dns.mx")) {
		a->value = mx_hosts(json_object_get(tx, "answers"));
		if (!a->value)
			snprintf(a->why, sizeof a->why, "the response (frame %lld) has no MX record",
				 jint(tx, "response_frame", 0));
	}
	free(l.v);
	json_decref(mxq);
}

static void
ask_res(const json_t *records, const json_t *q, const char *ask, answer_t *a)
{
	list_t l = list_of(records, "resolution", NULL);
	const json_t *rs = nth_match(&l, q, res_sel_ok), *st, *pick = NULL;
	json_t *steps;
	size_t i, n = 0;

	if (!rs) {
		if (!l.n)
			snprintf(a->why, sizeof a->why, "no DNS resolution in the trace");
		else
			describe_sel(q, "resolution", a->why, sizeof a->why);
		free(l.v);
		return;
	}
	a->frames[0] = jint(rs, "first_frame", 0);
	a->frames[1] = jint(rs, "last_frame", 0);
	steps = json_object_get(rs, "steps");
	if (!strcmp(ask, "res.kind"))
		a->value = json_string(jstr(rs, "kind") ? jstr(rs, "kind") : "?");
	else if (!strcmp(ask, "res.method"))
		a->value = json_string(jstr(rs, "resolver_method") ? jstr(rs, "resolver_method") : "?");
	else if (!strcmp(ask, "res.resolver")) {
		if (ep_ip(rs, "resolver"))
			a->value = json_string(ep_ip(rs, "resolver"));
		else
			snprintf(a->why, sizeof a->why, "no resolver: the client resolved it itself");
	} else if (!strcmp(ask, "res.first_referral_zone") || !strcmp(ask, "res.referrals")) {
		json_array_foreach(steps, i, st) {
			if (jtrue(st, "nested") || !jstr(st, "outcome") || strcmp(jstr(st, "outcome"), "referral"))
				continue;
			if (!n++)
				pick = st;
		}
		if (!strcmp(ask, "res.referrals"))
			set_int(a, (long long)n);
		else if (pick && jstr(json_object_get(pick, "referral"), "zone")) {
			a->value = json_string(jstr(json_object_get(pick, "referral"), "zone"));
			a->frames[0] = jint(pick, "query_frame", 0);
			a->frames[1] = jint(pick, "response_frame", 0);
		} else
			snprintf(a->why, sizeof a->why, "the resolution in frames %lld-%lld has no referral",
				 jint(rs, "first_frame", 0), jint(rs, "last_frame", 0));
	} else if (!strcmp(ask, "res.steps")) {
		json_array_foreach(steps, i, st)
			if (!jtrue(st, "nested"))
				n++;
		set_int(a, (long long)n);
	} else if (!strcmp(ask, "res.answer_server")) {
		/* The last server that answered for the zone: the
		 * authoritative one when the walk is visible, else the
		 * resolver that gave the answer. */
		json_array_foreach(steps, i, st) {
			const char *o = jstr(st, "outcome");
			if (jtrue(st, "nested") || !o)
				continue;
			if (!strcmp(o, "answer") || !strcmp(o, "nxdomain") || !strcmp(o, "nodata") ||
			    !strcmp(o, "cname")) {
				if (!pick || (jstr(st, "role") && strcmp(jstr(st, "role"), "recursive resolver") &&
					      strcmp(jstr(st, "role"), "forwarder")))
					pick = st;
			}
		}
		if (pick && ep_ip(pick, "server")) {
			a->value = json_string(ep_ip(pick, "server"));
			a->frames[0] = jint(pick, "query_frame", 0);
			a->frames[1] = jint(pick, "response_frame", 0);
		} else
			snprintf(a->why, sizeof a->why, "no server answered the resolution in frames %lld-%lld",
				 jint(rs, "first_frame", 0), jint(rs, "last_frame", 0));
	}
	free(l.v);
}

/* RFC 5321 4.2.2/4.2.3: what a code says, in the words students use. */
static const char *
reply_meaning(int code)
{
	switch (code) {
	case 211: return "system status";
	case 214: return "help message";
	case 220: return "service ready";
	case 221: return "service closing transmission channel";
	case 235: return "authentication succeeded";
	case 250: return "requested mail action okay, completed";
	case 251: return "user not local; will forward";
	case 252: return "cannot verify user, but will accept message";
	case 334: return "server challenge (continue authentication)";
	case 354: return "start mail input; end with <CRLF>.<CRLF>";
	case 421: return "service not available, closing transmission channel";
	case 450: return "mailbox unavailable (busy)";
	case 451: return "local error in processing";
	case 452: return "insufficient system storage";
	case 500: return "syntax error, command unrecognized";
	case 501: return "syntax error in parameters or arguments";
	case 502: return "command not implemented";
	case 503: return "bad sequence of commands";
	case 504: return "command parameter not implemented";
	case 530: return "authentication required";
	case 535: return "authentication credentials invalid";
	case 550: return "mailbox unavailable (not found, no access, or rejected)";
	case 551: return "user not local";
	case 552: return "exceeded storage allocation";
	case 553: return "mailbox name not allowed";
	case 554: return "transaction failed";
	default: return NULL;
	}
}

static void
ask_smtp(const json_t *records, const json_t *q, const char *ask, answer_t *a)
{
	list_t l = list_of(records, "smtp", NULL);
	const json_t *s = nth_match(&l, q, smtp_sel_ok);
	const char *cmd = jstr(q, "command");
	const json_t *t;
	pair_t *p = NULL;
	size_t np, i;

	if (!s) {
		snprintf(a->why, sizeof a->why, l.n ? "no such SMTP session in the trace"
						    : "no SMTP session in the trace");
		free(l.v);
		return;
	}
	a->frames[0] = jint(s, "first_frame", 0);
	t = json_array_get(json_object_get(s, "transactions"), 0);
	if (cmd) {
		p = calloc(MAX_PAIRS, sizeof *p);
		if (!p) {
			snprintf(a->why, sizeof a->why, "out of memory");
			free(l.v);
			return;
		}
		np = smtp_pairs(s, p, MAX_PAIRS);
		for (i = 0; i < np; i++)
			if (verb_is(p[i].verb, cmd))
				break;
		if (i == np) {
			snprintf(a->why, sizeof a->why, "no %s in the SMTP session of frames %lld-%lld%s", cmd,
				 jint(s, "first_frame", 0), jint(s, "last_frame", 0),
				 jtrue(s, "tls") ? " (the rest of it is encrypted)" : "");
		} else if (!strcmp(ask, "smtp.command_frame")) {
			if (p[i].cmd_frame)
				set_int(a, p[i].cmd_frame);
			else
				snprintf(a->why, sizeof a->why, "the %s is not a command", cmd);
			a->frames[0] = p[i].cmd_frame;
		} else if (!p[i].code) {
			snprintf(a->why, sizeof a->why, "the %s of frame %lld was not answered", cmd,
				 p[i].cmd_frame);
		} else if (!strcmp(ask, "smtp.reply_frame")) {
			set_int(a, p[i].reply_frame);
			a->frames[0] = p[i].cmd_frame;
			a->frames[1] = p[i].reply_frame;
		} else if (!strcmp(ask, "smtp.reply_code") || !strcmp(ask, "smtp.reply_class")) {
			set_int(a, p[i].code);
			a->frames[0] = p[i].cmd_frame;
			a->frames[1] = p[i].reply_frame;
		}
		free(p);
	} else if (!strcmp(ask, "smtp.server")) {
		if (ep_ip(s, "server"))
			a->value = json_string(ep_ip(s, "server"));
	} else if (!strcmp(ask, "smtp.server_port")) {
		set_int(a, jint(json_object_get(s, "server"), "port", 0));
	} else if (!strcmp(ask, "smtp.helo")) {
		if (jstr(s, "helo"))
			a->value = json_string(jstr(s, "helo"));
		else
			snprintf(a->why, sizeof a->why, "no HELO/EHLO in the session");
	} else if (!t) {
		snprintf(a->why, sizeof a->why, "no mail transaction is visible in the SMTP session of frames %lld-%lld%s",
			 jint(s, "first_frame", 0), jint(s, "last_frame", 0),
			 jtrue(s, "tls") ? " (it is encrypted)" : "");
	} else if (!strcmp(ask, "smtp.sender")) {
		a->value = json_string(jstr(t, "mail_from") ? jstr(t, "mail_from") : "");
	} else if (!strcmp(ask, "smtp.recipients")) {
		set_int(a, (long long)json_array_size(json_object_get(t, "rcpt_to")));
	} else if (!strcmp(ask, "smtp.subject") || !strcmp(ask, "smtp.message_id")) {
		const char *v = jstr(json_object_get(t, "message"), !strcmp(ask, "smtp.subject") ? "subject" : "message_id");
		if (v)
			a->value = json_string(v);
		else
			snprintf(a->why, sizeof a->why, "the message has no %s",
				 !strcmp(ask, "smtp.subject") ? "Subject" : "Message-ID");
		a->frames[0] = jint(t, "data_frame", 0);
	}
	free(l.v);
}

static void
ask_mail(const json_t *records, const json_t *q, const char *ask, answer_t *a)
{
	list_t l = list_of(records, "mail", NULL);
	const json_t *m = nth_match(&l, q, mail_sel_ok), *h;
	size_t i;
	if (!m) {
		snprintf(a->why, sizeof a->why, l.n ? "no such mail flow in the trace" : "no mail flow in the trace");
		free(l.v);
		return;
	}
	a->frames[0] = rec_frame(m);
	if (!strcmp(ask, "mail.hops")) {
		set_int(a, (long long)json_array_size(json_object_get(m, "hops")));
	} else {
		json_array_foreach(json_object_get(m, "hops"), i, h) {
			if (jstr(h, "role") && !strcmp(jstr(h, "role"), "mx-lookup")) {
				a->value = mx_hosts(json_object_get(h, "answers"));
				a->frames[0] = jint(h, "first_frame", 0);
				a->frames[1] = jint(h, "last_frame", 0);
				break;
			}
		}
		if (!a->value)
			snprintf(a->why, sizeof a->why, "no MX lookup in the mail flow");
	}
	free(l.v);
}

static void
ask_retr(const json_t *records, const json_t *q, const char *ask, answer_t *a)
{
	list_t l = list_of(records, "pop3", "imap");
	const json_t *s = nth_match(&l, q, retr_sel_ok), *msgs[256];
	size_t nm;
	long long want = jint(q, "message", 1);
	if (!s) {
		snprintf(a->why, sizeof a->why, l.n ? "no such POP3/IMAP session in the trace"
						    : "no POP3 or IMAP session in the trace");
		free(l.v);
		return;
	}
	a->frames[0] = jint(s, "first_frame", 0);
	nm = retr_messages(s, msgs, 256);
	if (!strcmp(ask, "retr.user")) {
		if (jstr(s, "user"))
			a->value = json_string(jstr(s, "user"));
		else
			snprintf(a->why, sizeof a->why, "no user name is visible");
	} else if (!strcmp(ask, "retr.messages")) {
		set_int(a, (long long)nm);
	} else if ((long long)nm < want) {
		snprintf(a->why, sizeof a->why, "only %zu message%s retrieved", nm, nm == 1 ? "" : "s");
	} else {
		const json_t *hdr = json_object_get(msgs[want - 1], "message");
		const char *v = jstr(hdr, !strcmp(ask, "retr.subject") ? "subject" : "message_id");
		a->frames[0] = jint(msgs[want - 1], "frame", 0);
		if (v)
			a->value = json_string(v);
		else
			snprintf(a->why, sizeof a->why, "the message has no such header");
	}
	free(l.v);
}

static int
answer_accepts(const json_t *value, const char *given, int mode)
{
	size_t i;
	json_t *v;
	if (json_is_string(value))
		return wt_answer_match(json_string_value(value), given, (enum wt_answer_mode)mode);
	json_array_foreach(value, i, v)
		if (wt_answer_match(json_string_value(v), given, (enum wt_answer_mode)mode))
			return 1;
	return 0;
}

static void
eval_question(const json_t *records, const json_t *q, const char *key,
	      const json_t *answers, res_t *r, json_t *keyobj)
{
	const char *ask = jstr(q, "ask");
	const wt_ask_def_t *d = wt_ask_find(ask);
	const char *given = json_string_value(json_object_get(answers, key));
	answer_t a;
	size_t i;

	memset(&a, 0, sizeof a);
	switch (d->family) {
	case WT_FAM_DNS: ask_dns(records, q, ask, &a); break;
	case WT_FAM_RES: ask_res(records, q, ask, &a); break;
	case WT_FAM_SMTP: ask_smtp(records, q, ask, &a); break;
	case WT_FAM_MAIL: ask_mail(records, q, ask, &a); break;
	case WT_FAM_RETR: ask_retr(records, q, ask, &a); break;
	}
	for (i = 0; i < 4; i++)
		res_frame(r, a.frames[i]);
	/* The key shows one answer; every listed one is accepted. */
	if (a.value && json_is_array(a.value) && json_array_size(a.value) == 1) {
		json_t *one = json_incref(json_array_get(a.value, 0));
		json_decref(a.value);
		a.value = one;
	}
	r->expected = a.value ? json_incref(a.value) : json_null();
	r->found = given ? json_string(given) : json_null();
	json_object_set_new(keyobj, key, a.value ? json_incref(a.value) : json_null());
	if (!a.value) {
		res_msg(r, "cannot be answered from this trace: %s", a.why);
	} else if (!given || !*given) {
		res_msg(r, "not answered (the %s is %s)", d->what,
			json_is_string(a.value) ? json_string_value(a.value)
						: json_string_value(json_array_get(a.value, 0)));
	} else if (answer_accepts(a.value, given, d->mode)) {
		r->passed = 1;
		res_msg(r, "correct");
	} else {
		const char *exp = json_is_string(a.value) ? json_string_value(a.value)
							 : json_string_value(json_array_get(a.value, 0));
		if (d->mode == WT_ANS_REPLY_CLASS) {
			int code = atoi(exp);
			res_msg(r, "answered \"%s\"; %d means: %s (%s)", given, code,
				reply_meaning(code) ? reply_meaning(code) : "?",
				code / 100 == 2 ? "positive completion" : code / 100 == 3 ? "positive intermediate"
				: code / 100 == 4 ? "transient negative" : "permanent negative");
		} else {
			res_msg(r, "answered \"%s\", the %s is %s", given, d->what, exp);
		}
	}
	json_decref(a.value);
}

static int
cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return x < y ? -1 : x > y;
}

/* Evidence frames in trace order (steals frames). */
static json_t *
sorted_frames(json_t *frames)
{
	size_t i, n = json_array_size(frames);
	long long *v = calloc(n ? n : 1, sizeof *v);
	json_t *out;
	if (!v)
		return frames;
	for (i = 0; i < n; i++)
		v[i] = (long long)json_integer_value(json_array_get(frames, i));
	qsort(v, n, sizeof *v, cmp_ll);
	out = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(out, json_integer((json_int_t)v[i]));
	free(v);
	json_decref(frames);
	return out;
}

/* ------------------------------------------------------------------ */

json_t *
wt_grade_records(const wt_rubric_t *rb, const json_t *records, const json_t *answers)
{
	json_t *out = json_object(), *crits = json_array(), *key = json_object();
	double total = 0;
	size_t i;

	for (i = 0; i < wt_rubric_count(rb); i++) {
		const json_t *c = wt_rubric_criterion(rb, i);
		const json_t *chk = json_object_get(c, "check"), *q = json_object_get(c, "question");
		double pts = json_number_value(json_object_get(c, "points"));
		json_t *o = json_object(), *ev = json_object();
		const char *kind;
		res_t r;

		res_init(&r);
		if (chk) {
			kind = jstr(chk, "kind");
			if (!strcmp(kind, "dns_transaction"))
				check_dns(records, chk, &r);
			else if (!strcmp(kind, "resolution"))
				check_resolution(records, chk, &r);
			else if (!strcmp(kind, "smtp_transaction"))
				check_smtp(records, chk, &r);
			else if (!strcmp(kind, "mail_flow"))
				check_mail(records, chk, &r);
			else
				check_retrieval(records, chk, &r);
		} else {
			const char *k = jstr(q, "key") ? jstr(q, "key") : jstr(c, "id");
			kind = jstr(q, "ask");
			eval_question(records, q, k, answers, &r, key);
			json_object_set_new(o, "key", json_string(k));
		}
		json_object_set_new(o, "id", json_string(jstr(c, "id")));
		json_object_set_new(o, "description", json_string(jstr(c, "description") ? jstr(c, "description") : ""));
		json_object_set_new(o, "kind", json_string(kind));
		json_object_set_new(o, "points", json_real(r.passed ? pts : 0));
		json_object_set_new(o, "max", json_real(pts));
		json_object_set_new(o, "passed", json_boolean(r.passed));
		json_object_set_new(o, "message", json_string(r.msg));
		json_object_set_new(ev, "frames", sorted_frames(r.frames));
		json_object_set_new(ev, "expected", r.expected ? r.expected : json_null());
		json_object_set_new(ev, "found", r.found ? r.found : json_null());
		json_object_set_new(o, "evidence", ev);
		json_array_append_new(crits, o);
		if (r.passed)
			total += pts;
	}
	json_object_set_new(out, "total", json_real(total));
	json_object_set_new(out, "max", json_real(wt_rubric_max(rb)));
	json_object_set_new(out, "criteria", crits);
	json_object_set_new(out, "key", key);
	return out;
}
