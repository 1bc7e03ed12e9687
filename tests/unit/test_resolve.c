/* \summary: unit tests of resolution chains: hand-built "dns" records through a real context */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "analyze/dns_tx_msg.h"
#include "analyze/story.h"
#include "core/ctx_int.h"
#include "core/record.h"
#include "report/text_story.h"
#include "wiretale/wiretale.h"

/*
 * Each test plays DNS exchanges, described as transactions (query and
 * response frames and times, flags, sections), through the real
 * transaction layer (src/analyze/dns_tx.c) of a real context: every query
 * and every response is handed to it as a decoded message at its frame, in
 * frame order, so the "dns" records reach the resolution analyzer exactly
 * as they do from a capture (at the response, at the timeout of an
 * unanswered query, the truncated UDP answer just before its TCP retry),
 * and the analyzer can ask which queries are still waiting.  The
 * "resolution" (and "dns") records that come out are checked.  The
 * addresses and names follow the lab of scripts/make-captures: root
 * 127.0.0.2, TLD "example" 127.0.0.3, TLD "lab" 127.0.0.4, TLD "test"
 * 127.0.0.5, a.example 127.0.0.31, b.example 127.0.0.32, hosting.test
 * 127.0.0.33, the client 127.0.0.10, the resolver 127.0.0.53, the
 * forwarder 127.0.0.54.
 */

#define T0 1700000000.0

typedef struct tx {
	uint64_t qf, rf;     /* frames; rf 0: unanswered */
	double qt, rt;       /* offsets from T0 */
	const char *c;       /* client ip */
	const char *s;       /* server ip */
	const char *qn, *qt_; /* question */
	int rd, ra, aa, tc;
	const char *rcode;
	const char *an, *ns, *ar; /* "name TYPE data;name TYPE data" */
	int tcp;
	uint64_t tc_q, tc_r; /* the tc_retry the transaction layer must find */
} tx_t;

static wt_ctx_t *ctx;
static json_t *out; /* the resolution records */
static json_t *dns; /* the dns records */

static void
collect(void *user, json_t *rec)
{
	const char *t = json_string_value(json_object_get(rec, "type"));
	(void)user;
	if (strcmp(t, "resolution") == 0)
		json_array_append(out, rec);
	else if (strcmp(t, "dns") == 0)
		json_array_append(dns, rec);
}

static void
setup(void)
{
	wt_options_t o;
	wt_options_default(&o);
	ctx = wt_ctx_new(&o);
	cr_assert_not_null(ctx);
	cr_assert_not_null(ctx->dnstx);
	out = json_array();
	dns = json_array();
	wt_ctx_add_sink(ctx, collect, NULL);
}

static void
teardown(void)
{
	wt_ctx_free(ctx);
	json_decref(out);
	json_decref(dns);
}

static uint16_t
type_num(const char *t)
{
	static const struct { const char *n; uint16_t v; } tab[] = {
		{"A", 1}, {"NS", 2}, {"CNAME", 5}, {"SOA", 6}, {"PTR", 12}, {"MX", 15},
		{"TXT", 16}, {"AAAA", 28}, {"DS", 43}, {"DNSKEY", 48}};
	size_t i;
	for (i = 0; i < sizeof tab / sizeof tab[0]; i++)
		if (strcmp(tab[i].n, t) == 0)
			return tab[i].v;
	cr_assert_fail("type %s not in the test's table", t);
	return 0;
}

static uint8_t
rcode_num(const char *r)
{
	if (!r || strcmp(r, "NOERROR") == 0)
		return 0;
	if (strcmp(r, "SERVFAIL") == 0)
		return 2;
	if (strcmp(r, "NXDOMAIN") == 0)
		return 3;
	cr_assert_fail("rcode %s not in the test's table", r);
	return 0;
}

/* Text storage for one message's RRs (names and data point into it). */
typedef struct rrbuf {
	char text[8192];
	size_t used;
	wt_dns_rr_t rr[64];
} rrbuf_t;

static const char *
keep(rrbuf_t *b, const char *s)
{
	size_t n = strlen(s) + 1;
	char *d;
	cr_assert_leq(b->used + n, sizeof b->text);
	d = b->text + b->used;
	memcpy(d, s, n);
	b->used += n;
	return d;
}

static uint16_t
add_rrs(wt_dns_msg_t *m, rrbuf_t *b, const char *spec, int section)
{
	char buf[2048], *save = NULL, *tok;
	uint16_t count = 0;
	if (!spec)
		return 0;
	snprintf(buf, sizeof buf, "%s", spec);
	for (tok = strtok_r(buf, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
		char name[256], type[32], data[512];
		wt_dns_rr_t *rr;
		cr_assert_eq(sscanf(tok, " %255s %31s %511[^\n]", name, type, data), 3,
			     "bad rr spec %s", tok);
		cr_assert_lt(m->n_rrs, 64);
		rr = &m->rrs[m->n_rrs++];
		memset(rr, 0, sizeof *rr);
		rr->name = keep(b, name);
		rr->data = keep(b, data);
		rr->type = type_num(type);
		rr->rclass = 1;
		rr->ttl = 3600;
		rr->section = (uint8_t)section;
		count++;
	}
	return count;
}

static void
endpoint(wt_endpoint_t *e, const char *ip, uint16_t port)
{
	memset(e, 0, sizeof *e);
	cr_assert_eq(inet_pton(AF_INET, ip, e->ip.a), 1, "bad address %s", ip);
	e->ip.family = 4;
	e->port = port;
}

static wt_time_t
at(double off)
{
	wt_time_t t;
	double whole = (double)(int64_t)off;
	t.sec = (int64_t)T0 + (int64_t)off;
	t.nsec = (int64_t)((off - whole) * 1e9 + 0.5);
	return t;
}

/* Hands the query (resp false) or the response of t to the transaction
 * layer, as the DNS dissector does. */
static void
message(const tx_t *t, bool resp)
{
	static rrbuf_t b;
	wt_dns_msg_t m;
	wt_dns_meta_t meta;
	wt_pkt_t pkt;
	wt_endpoint_t c, s;
	uint16_t port = (uint16_t)(20000 + t->qf % 40000);

	memset(&m, 0, sizeof m);
	memset(&pkt, 0, sizeof pkt);
	b.used = 0;
	m.rrs = b.rr;
	m.header_ok = true;
	m.len = 64;
	m.err.status = WT_OK;
	m.hdr.id = (uint16_t)(t->qf * 7 % 65536);
	m.hdr.qr = resp;
	m.hdr.rd = t->rd;
	m.hdr.qdcount = 1;
	m.n_questions = m.n_questions_parsed = 1;
	m.questions[0].name = keep(&b, t->qn);
	m.questions[0].qtype = type_num(t->qt_);
	m.questions[0].qclass = 1;
	if (resp) {
		m.hdr.aa = t->aa;
		m.hdr.tc = t->tc;
		m.hdr.ra = t->ra;
		m.hdr.rcode = rcode_num(t->rcode);
		m.hdr.ancount = add_rrs(&m, &b, t->an, WT_DNS_SEC_ANSWER);
		m.hdr.nscount = add_rrs(&m, &b, t->ns, WT_DNS_SEC_AUTHORITY);
		m.hdr.arcount = add_rrs(&m, &b, t->ar, WT_DNS_SEC_ADDITIONAL);
	}
	endpoint(&c, t->c, port);
	endpoint(&s, t->s, 53);
	pkt.frame = resp ? t->rf : t->qf;
	pkt.ts = at(resp ? t->rt : t->qt);
	meta.src = resp ? s : c;
	meta.dst = resp ? c : s;
	meta.tcp = t->tcp;
	meta.pkt = &pkt;
	wt_dnstx_message(ctx->dnstx, &m, &meta);
}

typedef struct ev {
	uint64_t frame;
	const tx_t *t;
	bool resp;
} ev_t;

static int
cmp_ev(const void *a, const void *b)
{
	const ev_t *x = a, *y = b;
	return x->frame < y->frame ? -1 : x->frame > y->frame;
}

/* Plays the transactions' messages whose frames lie in [lo, hi], in frame
 * order. */
static void
run_frames(const tx_t *t, size_t n, uint64_t lo, uint64_t hi)
{
	ev_t *ev = calloc(2 * n, sizeof *ev);
	size_t k = 0, i;
	cr_assert_not_null(ev);
	for (i = 0; i < n; i++) {
		if (t[i].qf >= lo && t[i].qf <= hi)
			ev[k++] = (ev_t){t[i].qf, &t[i], false};
		if (t[i].rf && t[i].rf >= lo && t[i].rf <= hi)
			ev[k++] = (ev_t){t[i].rf, &t[i], true};
	}
	qsort(ev, k, sizeof *ev, cmp_ev);
	for (i = 0; i < k; i++)
		message(ev[i].t, ev[i].resp);
	free(ev);
}

static void
run(const tx_t *t, size_t n)
{
	run_frames(t, n, 0, UINT64_MAX);
}

static void
feed(const tx_t *t)
{
	run(t, 1);
}

static void
expire_at(double off)
{
	wt_time_t now = at(off);
	wt_expire(ctx, &now);
}

/* The dns record of the transaction whose query is at frame qf. */
static json_t *
dns_rec(long long qf)
{
	size_t i;
	json_t *r;
	json_array_foreach(dns, i, r)
		if (json_integer_value(json_object_get(r, "query_frame")) == qf)
			return r;
	cr_assert_fail("no dns record with query frame %lld", qf);
	return NULL;
}

static void
finish(void)
{
	wt_finish(ctx, NULL);
}

static json_t *
res(size_t i)
{
	cr_assert_gt(json_array_size(out), i, "only %zu resolutions", json_array_size(out));
	return json_array_get(out, i);
}

static const char *
s_(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));
	return v ? v : "(null)";
}

static json_t *
step(json_t *r, size_t i)
{
	json_t *st = json_object_get(r, "steps");
	cr_assert_gt(json_array_size(st), i, "only %zu steps", json_array_size(st));
	return json_array_get(st, i);
}

static long long
i_(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

/* step i: server ip, role, zone (NULL: null), outcome, frames */
static void
check_step(json_t *r, size_t i, const char *querier, const char *server,
	   const char *role, const char *zone, const char *outcome, long long qf,
	   long long rf)
{
	json_t *s = step(r, i);
	cr_expect_str_eq(s_(json_object_get(s, "querier"), "ip"), querier, "step %zu querier", i);
	cr_expect_str_eq(s_(json_object_get(s, "server"), "ip"), server, "step %zu server", i);
	cr_expect_str_eq(s_(s, "role"), role, "step %zu role", i);
	if (zone)
		cr_expect_str_eq(s_(s, "zone"), zone, "step %zu zone", i);
	else
		cr_expect(json_is_null(json_object_get(s, "zone")), "step %zu zone not null", i);
	cr_expect_str_eq(s_(s, "outcome"), outcome, "step %zu outcome", i);
	cr_expect_eq(i_(s, "query_frame"), qf, "step %zu query_frame %lld", i, i_(s, "query_frame"));
	cr_expect_eq(i_(s, "response_frame"), rf, "step %zu response_frame %lld", i,
		     i_(s, "response_frame"));
}

static void
check_res(json_t *r, const char *qname, const char *qtype, const char *kind,
	  const char *resolver, const char *method, size_t nsteps)
{
	cr_expect_str_eq(s_(r, "qname"), qname);
	cr_expect_str_eq(s_(r, "qtype"), qtype);
	cr_expect_str_eq(s_(r, "kind"), kind);
	if (resolver)
		cr_expect_str_eq(s_(json_object_get(r, "resolver"), "ip"), resolver);
	else
		cr_expect(json_is_null(json_object_get(r, "resolver")));
	cr_expect_str_eq(s_(r, "resolver_method"), method);
	cr_expect_eq(json_array_size(json_object_get(r, "steps")), nsteps, "%zu steps",
		     json_array_size(json_object_get(r, "steps")));
}

static bool
has_note(json_t *r, const char *sub)
{
	size_t i;
	json_t *n;
	json_array_foreach(json_object_get(r, "notes"), i, n)
		if (strstr(json_string_value(n), sub))
			return true;
	return false;
}

#define C "127.0.0.10"
#define R "127.0.0.53"
#define F "127.0.0.54"
#define ROOT "127.0.0.2"
#define TLD "127.0.0.3"
#define LAB "127.0.0.4"
#define TEST "127.0.0.5"
#define NSA "127.0.0.31"
#define NSB "127.0.0.32"
#define HOST "127.0.0.33"

/* The resolver's cold-cache work for www.a.example, as in the capture. */
static const tx_t cold[] = {
	{2, 3, 0.0002, 0.0003, R, ROOT, "www.a.example", "A", 0, 0, 0, 0, NULL, NULL,
	 "example NS ns1.nic.example", "ns1.nic.example A 127.0.0.3", 0, 0, 0},
	{4, 5, 0.0004, 0.0006, R, TLD, "www.a.example", "A", 0, 0, 0, 0, NULL, NULL,
	 "a.example NS ns1.a.example", "ns1.a.example A 127.0.0.31", 0, 0, 0},
	{6, 7, 0.0007, 0.0008, R, NSA, "www.a.example", "A", 0, 0, 1, 0, NULL,
	 "www.a.example A 127.0.0.80", "a.example NS ns1.a.example", NULL, 0, 0, 0},
	{8, 9, 0.0011, 0.0012, R, TLD, "example", "DNSKEY", 0, 0, 1, 0, NULL,
	 "example DNSKEY 257 3 13 AAAA", NULL, NULL, 0, 0, 0},
	{10, 11, 0.0016, 0.0016, R, NSA, "a.example", "DNSKEY", 0, 0, 1, 0, NULL,
	 "a.example DNSKEY 257 3 13 BBBB", NULL, NULL, 0, 0, 0},
	{1, 12, 0.0, 0.0021, C, R, "www.a.example", "A", 1, 1, 0, 0, NULL,
	 "www.a.example A 127.0.0.80", NULL, NULL, 0, 0, 0},
};

TestSuite(resolve, .init = setup, .fini = teardown);

Test(resolve, stub_view_is_recursive_unseen)
{
	tx_t t = {1, 2, 0.0, 0.002, C, R, "www.a.example", "A", 1, 1, 0, 0, NULL,
		  "www.a.example A 127.0.0.80", NULL, NULL, 0, 0, 0};
	json_t *r;
	feed(&t);
	finish();
	cr_assert_eq(json_array_size(out), 1);
	r = res(0);
	check_res(r, "www.a.example", "A", "recursive", R, "unseen", 1);
	check_step(r, 0, C, R, "recursive resolver", NULL, "answer", 1, 2);
	cr_expect(has_note(r, "not in this capture"));
	cr_expect_eq(i_(r, "first_frame"), 1);
	cr_expect_eq(i_(r, "last_frame"), 2);
	cr_expect_str_eq(s_(r, "rcode"), "NOERROR");
	cr_expect_str_eq(s_(json_array_get(json_object_get(r, "answers"), 0), "data"), "127.0.0.80");
	cr_expect(fabs(json_number_value(json_object_get(r, "duration")) - 0.002) < 1e-6);
}

Test(resolve, resolver_view_is_recursive_iterated_with_roles)
{
	json_t *r, *ref;
	size_t i;
	run(cold, sizeof cold / sizeof cold[0]);
	finish();
	cr_assert_eq(json_array_size(out), 1, "%zu resolutions", json_array_size(out));
	r = res(0);
	check_res(r, "www.a.example", "A", "recursive", R, "iterated", 6);
	check_step(r, 0, C, R, "recursive resolver", NULL, "answer", 1, 12);
	check_step(r, 1, R, ROOT, "root", ".", "referral", 2, 3);
	check_step(r, 2, R, TLD, "tld", "example", "referral", 4, 5);
	check_step(r, 3, R, NSA, "authoritative", "a.example", "answer", 6, 7);
	check_step(r, 4, R, TLD, "tld", "example", "answer", 8, 9);
	check_step(r, 5, R, NSA, "authoritative", "a.example", "answer", 10, 11);
	cr_expect_str_eq(s_(step(r, 4), "purpose"), "dnssec");
	cr_expect(json_is_true(json_object_get(step(r, 5), "nested")));
	cr_expect_null(json_object_get(step(r, 3), "purpose"));
	ref = json_object_get(step(r, 1), "referral");
	cr_assert_not_null(ref);
	cr_expect_str_eq(s_(ref, "zone"), "example");
	cr_expect_str_eq(s_(json_array_get(json_object_get(ref, "nameservers"), 0), "name"),
			 "ns1.nic.example");
	cr_expect_str_eq(json_string_value(json_array_get(json_object_get(
		json_array_get(json_object_get(ref, "nameservers"), 0), "addresses"), 0)),
		"127.0.0.3");
	cr_expect(json_is_false(json_object_get(step(r, 1), "rd")));
	cr_expect(json_is_true(json_object_get(step(r, 0), "rd")));
	cr_expect_eq(i_(r, "first_frame"), 1);
	cr_expect_eq(i_(r, "last_frame"), 12);
}

Test(resolve, cache_hit_points_at_the_resolution_that_filled_it)
{
	tx_t again = {13, 14, 0.046, 0.0467, C, R, "www.a.example", "A", 1, 1, 0, 0, NULL,
		      "www.a.example A 127.0.0.80", NULL, NULL, 0, 0, 0};
	tx_t key = {82, 83, 0.68, 0.6806, C, R, "a.example", "DNSKEY", 1, 1, 0, 0, NULL,
		    "a.example DNSKEY 257 3 13 BBBB", NULL, NULL, 0, 0, 0};
	json_t *r;
	size_t i;
	run(cold, sizeof cold / sizeof cold[0]);
	feed(&again);
	feed(&key);
	finish();
	cr_assert_eq(json_array_size(out), 3);
	check_res(res(0), "www.a.example", "A", "recursive", R, "iterated", 6);
	r = res(1);
	check_res(r, "www.a.example", "A", "recursive", R, "cache", 1);
	check_step(r, 0, C, R, "recursive resolver", NULL, "answer", 13, 14);
	cr_expect_eq(i_(json_object_get(r, "cached_from"), "first_frame"), 1);
	/* A key fetched during another question's validation is cached too. */
	r = res(2);
	check_res(r, "a.example", "DNSKEY", "recursive", R, "cache", 1);
	cr_expect_eq(i_(json_object_get(r, "cached_from"), "first_frame"), 1);
	cr_expect_str_eq(s_(json_object_get(r, "cached_from"), "qname"), "www.a.example");
}

Test(resolve, glueless_referral_nests_the_name_server_lookup)
{
	const tx_t t[] = {
		{93, 94, 0.7665, 0.7666, R, ROOT, "www.glueless.lab", "A", 0, 0, 0, 0, NULL, NULL,
		 "lab NS ns1.nic.lab", "ns1.nic.lab A 127.0.0.4", 0, 0, 0},
		{95, 96, 0.7667, 0.7694, R, LAB, "www.glueless.lab", "A", 0, 0, 0, 0, NULL, NULL,
		 "glueless.lab NS ns1.hosting.test", NULL, 0, 0, 0},
		{97, 98, 0.7696, 0.7697, R, ROOT, "ns1.hosting.test", "A", 0, 0, 0, 0, NULL, NULL,
		 "test NS ns1.nic.test", "ns1.nic.test A 127.0.0.5", 0, 0, 0},
		{99, 100, 0.7698, 0.7700, R, TEST, "ns1.hosting.test", "A", 0, 0, 0, 0, NULL, NULL,
		 "hosting.test NS ns1.hosting.test", "ns1.hosting.test A 127.0.0.33", 0, 0, 0},
		{101, 102, 0.7701, 0.7702, R, HOST, "ns1.hosting.test", "A", 0, 0, 1, 0, NULL,
		 "ns1.hosting.test A 127.0.0.33", "hosting.test NS ns1.hosting.test", NULL, 0, 0, 0},
		{103, 104, 0.7703, 0.7704, R, HOST, "www.glueless.lab", "A", 0, 0, 1, 0, NULL,
		 "www.glueless.lab A 127.0.0.90", "glueless.lab NS ns1.hosting.test", NULL, 0, 0, 0},
		{92, 105, 0.7663, 0.7708, C, R, "www.glueless.lab", "A", 1, 1, 0, 0, NULL,
		 "www.glueless.lab A 127.0.0.90", NULL, NULL, 0, 0, 0},
	};
	json_t *r, *ns;
	size_t i;
	run(t, sizeof t / sizeof t[0]);
	finish();
	cr_assert_eq(json_array_size(out), 1);
	r = res(0);
	check_res(r, "www.glueless.lab", "A", "recursive", R, "iterated", 7);
	check_step(r, 1, R, ROOT, "root", ".", "referral", 93, 94);
	check_step(r, 2, R, LAB, "tld", "lab", "referral", 95, 96);
	check_step(r, 3, R, ROOT, "root", ".", "referral", 97, 98);
	check_step(r, 4, R, TEST, "tld", "test", "referral", 99, 100);
	check_step(r, 5, R, HOST, "authoritative", "hosting.test", "answer", 101, 102);
	check_step(r, 6, R, HOST, "authoritative", "glueless.lab", "answer", 103, 104);
	for (i = 3; i <= 5; i++) {
		cr_expect_str_eq(s_(step(r, i), "purpose"), "ns-address", "step %zu", i);
		cr_expect_str_eq(s_(step(r, i), "qname"), "ns1.hosting.test");
	}
	cr_expect_null(json_object_get(step(r, 6), "nested"));
	/* The referral had no glue; the address learnt later is shown. */
	ns = json_array_get(json_object_get(json_object_get(step(r, 2), "referral"),
					    "nameservers"), 0);
	cr_expect_str_eq(s_(ns, "name"), "ns1.hosting.test");
	cr_expect(json_is_false(json_object_get(ns, "glue")));
	cr_expect_str_eq(json_string_value(json_array_get(json_object_get(ns, "addresses"), 0)),
			 "127.0.0.33");
}

Test(resolve, cname_chased_across_zones)
{
	const tx_t t[] = {
		/* two earlier questions taught the resolver (and us) the
		 * servers of b.example and hosting.test */
		{2, 3, 0.01, 0.011, R, TLD, "x.b.example", "A", 0, 0, 0, 0, NULL, NULL,
		 "b.example NS ns1.b.example", "ns1.b.example A 127.0.0.32", 0, 0, 0},
		{1, 4, 0.0, 0.012, C, R, "x.b.example", "A", 1, 1, 0, 0, "SERVFAIL", NULL, NULL,
		 NULL, 0, 0, 0},
		{6, 7, 0.02, 0.021, R, TEST, "x.hosting.test", "A", 0, 0, 0, 0, NULL, NULL,
		 "hosting.test NS ns1.hosting.test", "ns1.hosting.test A 127.0.0.33", 0, 0, 0},
		{5, 8, 0.019, 0.03, C, R, "x.hosting.test", "A", 1, 1, 0, 0, "SERVFAIL", NULL,
		 NULL, NULL, 0, 0, 0},
		{107, 108, 0.8215, 0.8216, R, NSB, "web.b.example", "A", 0, 0, 1, 0, NULL,
		 "web.b.example CNAME www.b.example;www.b.example CNAME b-example.cdn.hosting.test",
		 NULL, NULL, 0, 0, 0},
		{111, 112, 0.8218, 0.8219, R, HOST, "b-example.cdn.hosting.test", "A", 0, 0, 1, 0,
		 NULL, "b-example.cdn.hosting.test CNAME edge1.cdn.hosting.test",
		 "hosting.test NS ns1.hosting.test", NULL, 0, 0, 0},
		{113, 114, 0.8221, 0.8231, R, HOST, "edge1.cdn.hosting.test", "A", 0, 0, 1, 0, NULL,
		 "edge1.cdn.hosting.test A 127.0.0.91", "hosting.test NS ns1.hosting.test", NULL,
		 0, 0, 0},
		{106, 115, 0.8213, 0.8239, C, R, "web.b.example", "A", 1, 1, 0, 0, NULL,
		 "web.b.example CNAME www.b.example;www.b.example CNAME b-example.cdn.hosting.test;"
		 "b-example.cdn.hosting.test CNAME edge1.cdn.hosting.test;"
		 "edge1.cdn.hosting.test A 127.0.0.91", NULL, NULL, 0, 0, 0},
	};
	json_t *r;
	size_t i;
	run(t, sizeof t / sizeof t[0]);
	finish();
	cr_assert_eq(json_array_size(out), 3);
	r = res(2);
	check_res(r, "web.b.example", "A", "recursive", R, "iterated", 4);
	check_step(r, 0, C, R, "recursive resolver", NULL, "answer", 106, 115);
	check_step(r, 1, R, NSB, "authoritative", "b.example", "cname", 107, 108);
	check_step(r, 2, R, HOST, "authoritative", "hosting.test", "cname", 111, 112);
	check_step(r, 3, R, HOST, "authoritative", "hosting.test", "answer", 113, 114);
	cr_expect_str_eq(s_(step(r, 1), "cname"), "b-example.cdn.hosting.test");
	cr_expect_null(json_object_get(step(r, 2), "nested"));
	cr_expect_eq(json_array_size(json_object_get(r, "answers")), 4);
	cr_expect(has_note(r, "started at the servers of b.example"));
	/* The earlier ones stay apart. */
	cr_expect_str_eq(s_(res(0), "rcode"), "SERVFAIL");
	cr_expect_eq(json_array_size(json_object_get(res(0), "steps")), 2);
	check_step(res(1), 1, R, TEST, "tld", "test", "referral", 6, 7);
}

Test(resolve, qname_minimisation_is_one_chain)
{
	const tx_t t[] = {
		{2, 3, 0.0002, 0.0003, R, ROOT, "example", "A", 0, 0, 0, 0, NULL, NULL,
		 "example NS ns1.nic.example", "ns1.nic.example A 127.0.0.3", 0, 0, 0},
		{4, 5, 0.0004, 0.0005, R, TLD, "b.example", "A", 0, 0, 0, 0, NULL, NULL,
		 "b.example NS ns1.b.example", "ns1.b.example A 127.0.0.32", 0, 0, 0},
		{6, 7, 0.0006, 0.0048, R, NSB, "www.b.example", "A", 0, 0, 1, 0, NULL,
		 "www.b.example A 127.0.0.70", NULL, NULL, 0, 0, 0},
		{1, 8, 0.0, 0.01, C, R, "www.b.example", "A", 1, 1, 0, 0, NULL,
		 "www.b.example A 127.0.0.70", NULL, NULL, 0, 0, 0},
	};
	json_t *r;
	size_t i;
	run(t, sizeof t / sizeof t[0]);
	finish();
	cr_assert_eq(json_array_size(out), 1);
	r = res(0);
	check_res(r, "www.b.example", "A", "recursive", R, "iterated", 4);
	check_step(r, 1, R, ROOT, "root", ".", "referral", 2, 3);
	check_step(r, 2, R, TLD, "tld", "example", "referral", 4, 5);
	check_step(r, 3, R, NSB, "authoritative", "b.example", "answer", 6, 7);
	cr_expect_str_eq(s_(step(r, 1), "qname"), "example");
	cr_expect_str_eq(s_(step(r, 2), "qname"), "b.example");
	cr_expect_null(json_object_get(step(r, 1), "nested"));
}

Test(resolve, timeout_then_another_server)
{
	const tx_t t[] = {
		{2, 3, 0.001, 0.0011, R, ROOT, "www.a.example", "A", 0, 0, 0, 0, NULL, NULL,
		 "example NS ns1.nic.example;example NS ns2.nic.example",
		 "ns1.nic.example A 127.0.0.3;ns2.nic.example A 127.0.0.7", 0, 0, 0},
		/* 4: to 127.0.0.3, never answered; 5/6: 127.0.0.7 answers */
		{5, 6, 0.4, 0.4001, R, "127.0.0.7", "www.a.example", "A", 0, 0, 0, 0, NULL, NULL,
		 "a.example NS ns1.a.example", "ns1.a.example A 127.0.0.31", 0, 0, 0},
		{7, 8, 0.4002, 0.4003, R, NSA, "www.a.example", "A", 0, 0, 1, 0, NULL,
		 "www.a.example A 127.0.0.80", NULL, NULL, 0, 0, 0},
		{1, 9, 0.0, 0.4005, C, R, "www.a.example", "A", 1, 1, 0, 0, NULL,
		 "www.a.example A 127.0.0.80", NULL, NULL, 0, 0, 0},
		/* the transaction layer reports the timeout 5 s later */
		{4, 0, 0.002, 0, R, TLD, "www.a.example", "A", 0, 0, 0, 0, NULL, NULL, NULL, NULL,
		 0, 0, 0},
	};
	json_t *r;
	size_t i;
	run(t, sizeof t / sizeof t[0]);
	finish();
	cr_assert_eq(json_array_size(out), 1, "%zu", json_array_size(out));
	r = res(0);
	check_res(r, "www.a.example", "A", "recursive", R, "iterated", 5);
	check_step(r, 2, R, TLD, "tld", "example", "timeout", 4, -1);
	cr_expect(json_is_null(json_object_get(step(r, 2), "response_frame")));
	check_step(r, 3, R, "127.0.0.7", "tld", "example", "referral", 5, 6);
	check_step(r, 4, R, NSA, "authoritative", "a.example", "answer", 7, 8);
	cr_expect(has_note(r, "timeout"));
}

Test(resolve, truncated_then_tcp_on_both_hops)
{
	const tx_t t[] = {
		{20, 21, 0.1614, 0.1615, R, TLD, "big.b.example", "TXT", 0, 0, 0, 0, NULL, NULL,
		 "b.example NS ns1.b.example", "ns1.b.example A 127.0.0.32", 0, 0, 0},
		{22, 23, 0.1616, 0.1618, R, NSB, "big.b.example", "TXT", 0, 0, 1, 1, NULL, NULL,
		 NULL, NULL, 0, 0, 0},
		{27, 29, 0.1620, 0.1621, R, NSB, "big.b.example", "TXT", 0, 0, 1, 0, NULL,
		 "big.b.example TXT \"x\"", NULL, NULL, 1, 22, 23},
		{19, 31, 0.1612, 0.1625, C, R, "big.b.example", "TXT", 1, 1, 0, 1, NULL, NULL,
		 NULL, NULL, 0, 0, 0},
		{35, 37, 0.1632, 0.1634, C, R, "big.b.example", "TXT", 1, 1, 0, 0, NULL,
		 "big.b.example TXT \"x\"", NULL, NULL, 1, 19, 31},
	};
	json_t *r, *u;
	size_t i;
	run(t, sizeof t / sizeof t[0]);
	/* Out with the TCP answer, before the end. */
	cr_assert_eq(json_array_size(out), 1, "%zu", json_array_size(out));
	finish();
	cr_assert_eq(json_array_size(out), 1, "%zu", json_array_size(out));
	/* The UDP records say they were retried, the TCP ones what they retry. */
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		json_t *d = dns_rec((long long)t[i].qf), *x;
		if (t[i].tc) {
			x = json_object_get(d, "retried_over_tcp");
			cr_expect_eq(i_(x, "query_frame"), t[i].qf == 22 ? 27 : 35, "udp %llu",
				     (unsigned long long)t[i].qf);
			cr_expect_eq(i_(x, "response_frame"), t[i].qf == 22 ? 29 : 37);
		} else {
			cr_expect_null(json_object_get(d, "retried_over_tcp"));
		}
		x = json_object_get(d, "tc_retry");
		if (t[i].tc_q) {
			cr_expect_eq(i_(x, "query_frame"), (long long)t[i].tc_q);
			cr_expect_eq(i_(x, "response_frame"), (long long)t[i].tc_r);
		} else {
			cr_expect_null(x);
		}
	}
	/* Each UDP record comes just before its TCP retry's. */
	for (i = 0; i + 1 < json_array_size(dns); i++) {
		u = json_array_get(dns, i);
		if (json_is_object(json_object_get(u, "retried_over_tcp")))
			cr_expect_eq(i_(json_array_get(dns, i + 1), "query_frame"),
				     i_(json_object_get(u, "retried_over_tcp"), "query_frame"));
	}
	r = res(0);
	check_res(r, "big.b.example", "TXT", "recursive", R, "iterated", 5);
	check_step(r, 0, C, R, "recursive resolver", NULL, "error", 19, 31);
	check_step(r, 1, R, TLD, "tld", "example", "referral", 20, 21);
	check_step(r, 2, R, NSB, "authoritative", "b.example", "error", 22, 23);
	check_step(r, 3, R, NSB, "authoritative", "b.example", "answer", 27, 29);
	check_step(r, 4, C, R, "recursive resolver", NULL, "answer", 35, 37);
	cr_expect(json_is_true(json_object_get(step(r, 2), "truncated")));
	cr_expect(json_is_true(json_object_get(step(r, 3), "tcp_retry")));
	cr_expect_str_eq(s_(step(r, 3), "transport"), "tcp");
	cr_expect(json_is_true(json_object_get(step(r, 4), "tcp_retry")));
	cr_expect_eq(i_(json_object_get(step(r, 4), "retry_of"), "query_frame"), 19);
	/* The final answer is the TCP one. */
	cr_expect_eq(json_array_size(json_object_get(r, "answers")), 1);
	cr_expect_eq(i_(r, "last_frame"), 37);
}

Test(resolve, ds_fetch_is_nested_dnssec)
{
	const tx_t t[] = {
		{85, 86, 0.7185, 0.7186, R, ROOT, "25.0.0.127.in-addr.arpa", "PTR", 0, 0, 0, 0,
		 NULL, NULL, "in-addr.arpa NS ns1.reverse.lab", "ns1.reverse.lab A 127.0.0.6",
		 0, 0, 0},
		{87, 88, 0.7187, 0.7188, R, "127.0.0.6", "25.0.0.127.in-addr.arpa", "PTR", 0, 0, 1,
		 0, NULL, "25.0.0.127.in-addr.arpa PTR mail.a.example",
		 "in-addr.arpa NS ns1.reverse.lab", NULL, 0, 0, 0},
		{89, 90, 0.7189, 0.7195, R, ROOT, "arpa", "DS", 0, 0, 1, 0, NULL, NULL,
		 ". SOA a.root-servers.lab. hostmaster.lab. 1 2 3 4 5", NULL, 0, 0, 0},
		{84, 91, 0.7184, 0.7201, C, R, "25.0.0.127.in-addr.arpa", "PTR", 1, 1, 0, 0, NULL,
		 "25.0.0.127.in-addr.arpa PTR mail.a.example", NULL, NULL, 0, 0, 0},
	};
	json_t *r;
	size_t i;
	run(t, sizeof t / sizeof t[0]);
	finish();
	cr_assert_eq(json_array_size(out), 1);
	r = res(0);
	check_res(r, "25.0.0.127.in-addr.arpa", "PTR", "recursive", R, "iterated", 4);
	check_step(r, 1, R, ROOT, "root", ".", "referral", 85, 86);
	check_step(r, 2, R, "127.0.0.6", "authoritative", "in-addr.arpa", "answer", 87, 88);
	check_step(r, 3, R, ROOT, "root", ".", "nodata", 89, 90);
	cr_expect_str_eq(s_(step(r, 3), "purpose"), "dnssec");
	cr_expect_str_eq(s_(step(r, 3), "qtype"), "DS");
}

Test(resolve, client_iterating_by_hand_with_norecurse)
{
	const tx_t t[] = {
		{1, 2, 0.0, 0.0003, C, ROOT, "www.a.example", "A", 0, 0, 0, 0, NULL, NULL,
		 "example NS ns1.nic.example", "ns1.nic.example A 127.0.0.3", 0, 0, 0},
		{3, 4, 0.032, 0.0321, C, TLD, "www.a.example", "A", 0, 0, 0, 0, NULL, NULL,
		 "a.example NS ns1.a.example", "ns1.a.example A 127.0.0.31", 0, 0, 0},
		{5, 6, 0.0645, 0.0647, C, NSA, "www.a.example", "A", 0, 0, 1, 0, NULL,
		 "www.a.example A 127.0.0.80", "a.example NS ns1.a.example", NULL, 0, 0, 0},
	};
	json_t *r;
	size_t i;
	run(t, sizeof t / sizeof t[0]);
	finish();
	cr_assert_eq(json_array_size(out), 1, "%zu", json_array_size(out));
	r = res(0);
	check_res(r, "www.a.example", "A", "iterated", NULL, "iterated", 3);
	check_step(r, 0, C, ROOT, "root", ".", "referral", 1, 2);
	check_step(r, 1, C, TLD, "tld", "example", "referral", 3, 4);
	check_step(r, 2, C, NSA, "authoritative", "a.example", "answer", 5, 6);
	cr_expect_str_eq(s_(json_object_get(r, "client"), "ip"), C);
	cr_expect(has_note(r, "followed the referrals itself"));
}

Test(resolve, dig_trace_with_name_server_lookups_through_the_resolver)
{
	const tx_t t[] = {
		/* dig +trace: ". NS" to the root (RD=1, answered without RA) */
		{7, 8, 0.0851, 0.0852, C, ROOT, ".", "NS", 1, 0, 1, 0, NULL,
		 ". NS a.root-servers.lab", NULL, NULL, 0, 0, 0},
		{13, 14, 0.0879, 0.0891, C, ROOT, "www.b.example", "A", 0, 0, 0, 0, NULL, NULL,
		 "example NS ns1.nic.example", NULL, 0, 0, 0},
		/* the name server's address, asked of the usual resolver */
		{16, 17, 0.0893, 0.0914, R, TLD, "ns1.nic.example", "A", 0, 0, 1, 0, NULL,
		 "ns1.nic.example A 127.0.0.3", "example NS ns1.nic.example", NULL, 0, 0, 0},
		{15, 18, 0.0892, 0.0919, C, R, "ns1.nic.example", "A", 1, 1, 0, 0, NULL,
		 "ns1.nic.example A 127.0.0.3", NULL, NULL, 0, 0, 0},
		{19, 20, 0.0920, 0.0921, C, TLD, "www.b.example", "A", 0, 0, 0, 0, NULL, NULL,
		 "b.example NS ns1.b.example", NULL, 0, 0, 0},
		{22, 23, 0.0923, 0.0924, R, NSB, "ns1.b.example", "A", 0, 0, 1, 0, NULL,
		 "ns1.b.example A 127.0.0.32", "b.example NS ns1.b.example", NULL, 0, 0, 0},
		{21, 24, 0.0922, 0.0924, C, R, "ns1.b.example", "A", 1, 1, 0, 0, NULL,
		 "ns1.b.example A 127.0.0.32", NULL, NULL, 0, 0, 0},
		{25, 26, 0.0925, 0.0928, C, NSB, "www.b.example", "A", 0, 0, 1, 0, NULL,
		 "www.b.example A 127.0.0.70", NULL, NULL, 0, 0, 0},
	};
	json_t *r;
	size_t i;
	run(t, sizeof t / sizeof t[0]);
	finish();
	cr_assert_eq(json_array_size(out), 4, "%zu", json_array_size(out));
	r = res(0);
	check_res(r, ".", "NS", "iterated", NULL, "iterated", 1);
	check_step(r, 0, C, ROOT, "root", ".", "answer", 7, 8);
	r = res(1);
	check_res(r, "ns1.nic.example", "A", "recursive", R, "iterated", 2);
	check_step(r, 1, R, TLD, "tld", "example", "answer", 16, 17);
	r = res(2);
	check_res(r, "ns1.b.example", "A", "recursive", R, "iterated", 2);
	check_step(r, 1, R, NSB, "authoritative", "b.example", "answer", 22, 23);
	r = res(3);
	check_res(r, "www.b.example", "A", "iterated", NULL, "iterated", 3);
	check_step(r, 0, C, ROOT, "root", ".", "referral", 13, 14);
	check_step(r, 1, C, TLD, "tld", "example", "referral", 19, 20);
	check_step(r, 2, C, NSB, "authoritative", "b.example", "answer", 25, 26);
}

static const tx_t fwd[] = {
	{3, 4, 0.0089, 0.0090, R, ROOT, "www.b.example", "A", 0, 0, 0, 0, NULL, NULL,
	 "example NS ns1.nic.example", "ns1.nic.example A 127.0.0.3", 0, 0, 0},
	{5, 6, 0.0091, 0.0092, R, TLD, "www.b.example", "A", 0, 0, 0, 0, NULL, NULL,
	 "b.example NS ns1.b.example", "ns1.b.example A 127.0.0.32", 0, 0, 0},
	{7, 8, 0.0092, 0.0093, R, NSB, "www.b.example", "A", 0, 0, 1, 0, NULL,
	 "www.b.example A 127.0.0.70", NULL, NULL, 0, 0, 0},
	{2, 19, 0.0087, 0.0159, F, R, "www.b.example", "A", 1, 1, 0, 0, NULL,
	 "www.b.example A 127.0.0.70", NULL, NULL, 0, 0, 0},
	{1, 24, 0.0, 0.0170, C, F, "www.b.example", "A", 1, 1, 0, 0, NULL,
	 "www.b.example A 127.0.0.70", NULL, NULL, 0, 0, 0},
	{31, 32, 0.1049, 0.1050, C, F, "www.b.example", "A", 1, 1, 0, 0, NULL,
	 "www.b.example A 127.0.0.70", NULL, NULL, 0, 0, 0},
};

Test(resolve, forwarder_and_the_upstream_iteration)
{
	json_t *r;
	size_t i;
	run(fwd, sizeof fwd / sizeof fwd[0]);
	finish();
	cr_assert_eq(json_array_size(out), 2, "%zu", json_array_size(out));
	r = res(0);
	check_res(r, "www.b.example", "A", "recursive", F, "forwarded", 5);
	check_step(r, 0, C, F, "forwarder", NULL, "answer", 1, 24);
	check_step(r, 1, F, R, "recursive resolver", NULL, "answer", 2, 19);
	check_step(r, 2, R, ROOT, "root", ".", "referral", 3, 4);
	check_step(r, 3, R, TLD, "tld", "example", "referral", 5, 6);
	check_step(r, 4, R, NSB, "authoritative", "b.example", "answer", 7, 8);
	cr_expect(json_is_true(json_object_get(step(r, 1), "rd")));
	r = res(1);
	check_res(r, "www.b.example", "A", "recursive", F, "cache", 1);
	check_step(r, 0, C, F, "forwarder", NULL, "answer", 31, 32);
	cr_expect_eq(i_(json_object_get(r, "cached_from"), "first_frame"), 1);
}

Test(resolve, forwarder_seen_without_upstream_iteration)
{
	/* Captured between client and forwarder, and forwarder and resolver only. */
	json_t *r;
	run(&fwd[3], 2);
	finish();
	cr_assert_eq(json_array_size(out), 1);
	r = res(0);
	check_res(r, "www.b.example", "A", "recursive", F, "forwarded", 2);
	check_step(r, 1, F, R, "recursive resolver", NULL, "answer", 2, 19);
}

Test(resolve, concurrent_questions_stay_apart)
{
	const tx_t t[] = {
		{3, 4, 0.001, 0.002, R, NSA, "www.a.example", "A", 0, 0, 1, 0, NULL,
		 "www.a.example A 127.0.0.80", "a.example NS ns1.a.example", NULL, 0, 0, 0},
		{5, 6, 0.0015, 0.0025, R, NSB, "www.b.example", "A", 0, 0, 1, 0, NULL,
		 "www.b.example A 127.0.0.70", "b.example NS ns1.b.example", NULL, 0, 0, 0},
		{1, 7, 0.0, 0.003, C, R, "www.a.example", "A", 1, 1, 0, 0, NULL,
		 "www.a.example A 127.0.0.80", NULL, NULL, 0, 0, 0},
		{2, 8, 0.0005, 0.0035, "127.0.0.11", R, "www.b.example", "A", 1, 1, 0, 0, NULL,
		 "www.b.example A 127.0.0.70", NULL, NULL, 0, 0, 0},
	};
	size_t i;
	run(t, sizeof t / sizeof t[0]);
	finish();
	cr_assert_eq(json_array_size(out), 2);
	check_res(res(0), "www.a.example", "A", "recursive", R, "iterated", 2);
	check_step(res(0), 1, R, NSA, "authoritative", "a.example", "answer", 3, 4);
	check_res(res(1), "www.b.example", "A", "recursive", R, "iterated", 2);
	check_step(res(1), 1, R, NSB, "authoritative", "b.example", "answer", 5, 6);
	cr_expect_str_eq(s_(json_object_get(res(1), "client"), "ip"), "127.0.0.11");
}

Test(resolve, unanswered_client_question)
{
	/* The resolver was seen working (so a silent answer-less question
	 * must still not be called a cache hit). */
	tx_t t = {13, 0, 0.5, 0, C, R, "slow.example", "A", 1, 0, 0, 0, NULL, NULL, NULL, NULL,
		  0, 0, 0};
	json_t *r;
	char text[4096];
	FILE *f;
	run(cold, sizeof cold / sizeof cold[0]);
	feed(&t);
	cr_expect_eq(json_array_size(out), 1);
	expire_at(5.4);
	cr_expect_eq(json_array_size(out), 1, "the query has not timed out yet");
	expire_at(5.6);
	cr_assert_eq(json_array_size(out), 2, "out when the transaction layer gives up");
	r = res(1);
	check_res(r, "slow.example", "A", "recursive", R, "unseen", 1);
	check_step(r, 0, C, R, "recursive resolver", NULL, "timeout", 13, -1);
	cr_expect(json_is_null(json_object_get(r, "rcode")));
	cr_expect(json_is_null(json_object_get(r, "duration")));
	cr_expect(has_note(r, "no answer was seen"));
	cr_expect(!has_note(r, "cache"));
	cr_expect_null(json_object_get(r, "cached_from"));
	/* The text says so too, and claims no cache. */
	memset(text, 0, sizeof text);
	f = fmemopen(text, sizeof text - 1, "w");
	cr_assert_not_null(f);
	wt_text_resolution(f, r);
	fclose(f);
	cr_expect(strstr(text, "no answer was seen") != NULL, "%s", text);
	cr_expect(strstr(text, "cache") == NULL, "%s", text);
	cr_expect(strstr(text, "resolved") == NULL, "%s", text);
	finish();
	cr_expect_eq(json_array_size(out), 2);
}

Test(resolve, streaming_emits_with_the_answer)
{
	/* Nothing can join once the client has its answer and the resolver
	 * waits for nothing: out at once, no clock needed. */
	run_frames(cold, sizeof cold / sizeof cold[0], 0, 11);
	cr_expect_eq(json_array_size(out), 0, "the client's question is still open");
	run_frames(cold, sizeof cold / sizeof cold[0], 12, 12);
	cr_assert_eq(json_array_size(out), 1, "out with the client's answer");
	check_res(res(0), "www.a.example", "A", "recursive", R, "iterated", 6);
	finish();
	cr_expect_eq(json_array_size(out), 1);
}

Test(resolve, held_while_an_upstream_query_may_still_time_out)
{
	/* The resolver's query 4 is unanswered when the client gets its
	 * answer: it may become a "timeout" step, so the chain waits for
	 * the transaction layer's verdict (5 s after the query). */
	const tx_t t[] = {
		{2, 3, 0.001, 0.0011, R, ROOT, "www.a.example", "A", 0, 0, 0, 0, NULL, NULL,
		 "example NS ns1.nic.example", "ns1.nic.example A 127.0.0.3", 0, 0, 0},
		{4, 0, 0.002, 0, R, TLD, "www.a.example", "A", 0, 0, 0, 0, NULL, NULL, NULL, NULL,
		 0, 0, 0},
		{5, 6, 0.4, 0.4001, R, "127.0.0.7", "www.a.example", "A", 0, 0, 0, 0, NULL, NULL,
		 "a.example NS ns1.a.example", "ns1.a.example A 127.0.0.31", 0, 0, 0},
		{7, 8, 0.4002, 0.4003, R, NSA, "www.a.example", "A", 0, 0, 1, 0, NULL,
		 "www.a.example A 127.0.0.80", NULL, NULL, 0, 0, 0},
		{1, 9, 0.0, 0.4005, C, R, "www.a.example", "A", 1, 1, 0, 0, NULL,
		 "www.a.example A 127.0.0.80", NULL, NULL, 0, 0, 0},
	};
	run(t, sizeof t / sizeof t[0]);
	cr_expect_eq(json_array_size(out), 0);
	expire_at(4.9);
	cr_expect_eq(json_array_size(out), 0, "query 4 may still be answered");
	expire_at(5.1);
	cr_assert_eq(json_array_size(out), 1, "out with the timeout of query 4");
	check_res(res(0), "www.a.example", "A", "recursive", R, "iterated", 5);
	check_step(res(0), 2, R, TLD, "tld", "example", "timeout", 4, -1);
	finish();
	cr_expect_eq(json_array_size(out), 1);
}

Test(resolve, an_unrelated_upstream_query_does_not_hold_the_chain)
{
	/* While it resolves www.a.example, the resolver also has a query for
	 * another name outstanding (another client's, or its own): that one
	 * cannot join this chain, so the chain goes with its answer. */
	const tx_t other = {3, 0, 0.00025, 0, R, NSB, "other.b.example", "A", 0, 0, 0, 0,
			    NULL, NULL, NULL, NULL, 0, 0, 0};
	tx_t t[sizeof cold / sizeof cold[0] + 1];
	size_t i;
	for (i = 0; i < sizeof cold / sizeof cold[0]; i++) {
		t[i] = cold[i];
		/* make room for frame 3 */
		t[i].qf += t[i].qf >= 3;
		t[i].rf += t[i].rf >= 3;
	}
	t[i] = other;
	run(t, i + 1);
	cr_assert_eq(json_array_size(out), 1, "%zu", json_array_size(out));
	check_res(res(0), "www.a.example", "A", "recursive", R, "iterated", 6);
	finish();
	cr_assert_eq(json_array_size(out), 2);
	check_res(res(1), "other.b.example", "A", "iterated", NULL, "iterated", 1);
	check_step(res(1), 0, R, NSB, "unknown", NULL, "timeout", 3, -1);
}

Test(resolve, forwarder_upstream_held_until_its_client_is_answered)
{
	/* The forwarder's own question to the resolver is answered first;
	 * its client's question (sent before) will claim it. */
	run_frames(fwd, 5, 0, 23);
	cr_expect_eq(json_array_size(out), 0, "the forwarder's client is still waiting");
	run_frames(fwd, 5, 24, 24);
	cr_assert_eq(json_array_size(out), 1);
	check_res(res(0), "www.b.example", "A", "recursive", F, "forwarded", 5);
	run(&fwd[5], 1);
	cr_assert_eq(json_array_size(out), 2, "a cache hit goes with its answer");
	check_res(res(1), "www.b.example", "A", "recursive", F, "cache", 1);
}

Test(resolve, truncated_answer_without_retry_waits_a_short_hold)
{
	/* A client that does not retry over TCP (or a TCP retry the capture
	 * filter dropped): the UDP record is held 3 s, then goes out
	 * without "retried_over_tcp", and the chain with it. */
	tx_t t = {1, 2, 0.0, 0.001, C, R, "big.b.example", "TXT", 1, 1, 0, 1, NULL, NULL,
		  NULL, NULL, 0, 0, 0};
	feed(&t);
	cr_expect_eq(json_array_size(dns), 0, "held for its TCP retry");
	cr_expect_eq(json_array_size(out), 0);
	expire_at(2.9);
	cr_expect_eq(json_array_size(dns), 0);
	expire_at(3.1);
	cr_assert_eq(json_array_size(dns), 1);
	cr_expect_null(json_object_get(dns_rec(1), "retried_over_tcp"));
	cr_assert_eq(json_array_size(out), 1);
	check_res(res(0), "big.b.example", "TXT", "recursive", R, "unseen", 1);
	check_step(res(0), 0, C, R, "recursive resolver", NULL, "error", 1, 2);
	cr_expect(json_is_true(json_object_get(step(res(0), 0), "truncated")));
}

Test(resolve, truncated_answer_retried_but_unanswered_over_tcp)
{
	const tx_t t[] = {
		{1, 2, 0.0, 0.001, C, R, "big.b.example", "TXT", 1, 1, 0, 1, NULL, NULL,
		 NULL, NULL, 0, 0, 0},
		{3, 0, 0.002, 0, C, R, "big.b.example", "TXT", 1, 0, 0, 0, NULL, NULL,
		 NULL, NULL, 1, 1, 2},
	};
	json_t *x;
	run(t, 2);
	cr_expect_eq(json_array_size(dns), 0);
	finish();
	cr_assert_eq(json_array_size(dns), 2);
	x = json_object_get(dns_rec(1), "retried_over_tcp");
	cr_expect_eq(i_(x, "query_frame"), 3);
	cr_expect(json_is_null(json_object_get(x, "response_frame")));
	cr_expect_eq(i_(json_object_get(dns_rec(3), "tc_retry"), "query_frame"), 1);
	cr_assert_eq(json_array_size(out), 1);
	check_res(res(0), "big.b.example", "TXT", "recursive", R, "unseen", 2);
	cr_expect(json_is_true(json_object_get(step(res(0), 1), "tcp_retry")));
	cr_expect(json_is_null(json_object_get(res(0), "rcode")));
}

Test(resolve, iterated_chain_that_stops_short_closes_after_the_gap)
{
	/* By hand, stopping after two referrals: no final answer, so the
	 * chain stays open 3 s after its last step (and while the client
	 * has a query outstanding that it sent in time). */
	const tx_t t[] = {
		{1, 2, 0.0, 0.0003, C, ROOT, "www.a.example", "A", 0, 0, 0, 0, NULL, NULL,
		 "example NS ns1.nic.example", "ns1.nic.example A 127.0.0.3", 0, 0, 0},
		{3, 4, 0.032, 0.0321, C, TLD, "www.a.example", "A", 0, 0, 0, 0, NULL, NULL,
		 "a.example NS ns1.a.example", "ns1.a.example A 127.0.0.31", 0, 0, 0},
		/* another query of the client, sent within the gap */
		{5, 0, 3.0, 0, C, R, "other.example", "A", 1, 0, 0, 0, NULL, NULL, NULL, NULL,
		 0, 0, 0},
	};
	run(t, 2);
	expire_at(3.0);
	cr_expect_eq(json_array_size(out), 0, "within the gap");
	run(&t[2], 1);
	expire_at(3.2);
	cr_expect_eq(json_array_size(out), 0, "a query sent in the gap is outstanding");
	expire_at(8.1);
	cr_assert_eq(json_array_size(out), 2, "%zu", json_array_size(out));
	check_res(res(0), "other.example", "A", "recursive", R, "unseen", 1);
	check_res(res(1), "www.a.example", "A", "iterated", NULL, "iterated", 2);
	check_step(res(1), 1, C, TLD, "tld", "example", "referral", 3, 4);
}

Test(resolve, iterated_chain_with_a_later_unrelated_query_closes_after_the_gap)
{
	/* A query the client sends after the gap cannot join: it does not
	 * keep the chain open. */
	const tx_t t[] = {
		{1, 2, 0.0, 0.0003, C, ROOT, "www.a.example", "A", 0, 0, 0, 0, NULL, NULL,
		 "example NS ns1.nic.example", "ns1.nic.example A 127.0.0.3", 0, 0, 0},
		{3, 0, 3.5, 0, C, R, "other.example", "A", 1, 0, 0, 0, NULL, NULL, NULL, NULL,
		 0, 0, 0},
	};
	run(t, 2);
	expire_at(3.6);
	cr_assert_eq(json_array_size(out), 1, "%zu", json_array_size(out));
	check_res(res(0), "www.a.example", "A", "iterated", NULL, "iterated", 1);
	finish();
	cr_expect_eq(json_array_size(out), 2);
}

Test(resolve, resolver_own_lookup_is_reported_as_such)
{
	/* The resolver asks on its own (no client question in the capture),
	 * after it was seen answering recursively. */
	const tx_t t[] = {
		{1, 2, 0.0, 0.001, C, R, "www.a.example", "A", 1, 1, 0, 0, NULL,
		 "www.a.example A 127.0.0.80", NULL, NULL, 0, 0, 0},
		{3, 4, 2.0, 2.001, R, NSA, "ns1.a.example", "AAAA", 0, 0, 1, 0, NULL, NULL,
		 "a.example SOA ns1.a.example. h.a.example. 1 2 3 4 5", NULL, 0, 0, 0},
	};
	json_t *r;
	size_t i;
	run(t, sizeof t / sizeof t[0]);
	finish();
	cr_assert_eq(json_array_size(out), 2);
	r = res(1);
	check_res(r, "ns1.a.example", "AAAA", "iterated", NULL, "iterated", 1);
	check_step(r, 0, R, NSA, "authoritative", "a.example", "nodata", 3, 4);
	cr_expect(has_note(r, "resolver's own lookup"));
}

Test(resolve, non_dns_and_mdns_records_are_ignored)
{
	json_t *m;
	wt_emit(ctx, json_pack("{s:s,s:i}", "type", "flow", "stream", 0));
	/* Multicast DNS resolves on the link: no chain. */
	m = json_pack("{s:s,s:f,s:s,s:{s:s,s:i},s:{s:s,s:i},s:s,s:s,s:s,s:i,s:n,s:s,"
		      "s:{s:b},s:[]}",
		      "type", "dns", "ts", T0, "transport", "udp", "client", "ip", C, "port",
		      5353, "server", "ip", "224.0.0.251", "port", 5353, "opcode", "QUERY",
		      "qname", "printer.local", "qtype", "A", "query_frame", 9,
		      "response_frame", "status", "unanswered", "query_flags", "rd", 0,
		      "answers");
	wt_emit(ctx, m);
	/* A NOTIFY is no question to resolve. */
	m = json_pack("{s:s,s:f,s:s,s:{s:s,s:i},s:{s:s,s:i},s:s,s:s,s:s,s:i,s:n,s:s}",
		      "type", "dns", "ts", T0, "transport", "udp", "client", "ip", C, "port",
		      4000, "server", "ip", R, "port", 53, "opcode", "NOTIFY",
		      "qname", "a.example", "qtype", "SOA", "query_frame", 10,
		      "response_frame", "status", "unanswered");
	wt_emit(ctx, m);
	finish();
	cr_expect_eq(json_array_size(out), 0);
}

Test(resolve, deep_forwarder_chains_are_bounded)
{
	/* 60 servers each forwarding to the next: the innermost answers
	 * first, so every one is claimed by the next one out.  Nesting is
	 * capped; every transaction is still reported exactly once. */
	char ips[61][16];
	tx_t t[60];
	size_t i, total = 0, maxsteps = 0;
	json_t *r;
	for (i = 0; i <= 60; i++)
		snprintf(ips[i], sizeof ips[i], "10.0.%zu.1", i);
	for (i = 0; i < 60; i++)
		t[i] = (tx_t){i + 1, 200 - i, 0.001 * (double)i, 1.0 - 0.001 * (double)i, ips[i],
			      ips[i + 1], "deep.example", "A", 1, 1, 0, 0, NULL,
			      "deep.example A 192.0.2.1", NULL, NULL, 0, 0, 0};
	run(t, 60);
	cr_expect_gt(json_array_size(out), 0, "the outermost chain goes with its answer");
	finish();
	cr_assert_gt(json_array_size(out), 1, "the cap splits the chain");
	json_array_foreach(out, i, r) {
		size_t n = json_array_size(json_object_get(r, "steps"));
		total += n;
		if (n > maxsteps)
			maxsteps = n;
	}
	cr_expect_eq(total, 60, "%zu steps in all", total);
	cr_expect_leq(maxsteps, 24);
	/* The outermost piece is the first client's question (the inner
	 * pieces went out as soon as their would-be claimer arrived). */
	r = json_array_get(out, json_array_size(out) - 1);
	check_res(r, "deep.example", "A", "recursive", "10.0.1.1", "forwarded",
		  json_array_size(json_object_get(r, "steps")));
}

static void
count_warning(void *user, json_t *rec)
{
	if (strcmp(json_string_value(json_object_get(rec, "type")), "warning") == 0 &&
	    strcmp(json_string_value(json_object_get(rec, "code")), "RESOLVE_CAP") == 0)
		(*(int *)user)++;
}

Test(resolve, waiting_transactions_are_capped)
{
	/* More waiting transactions than the cap (32768): the oldest are
	 * emitted early, with one warning, before the end of the trace. */
	/* They wait because a recursive question to their querier (frame
	 * 1, never answered) may still claim them. */
	tx_t ask = {1, 0, 0.0, 0, "127.0.0.11", C, "other.example", "A", 1, 0, 0, 0, NULL,
		    NULL, NULL, NULL, 0, 0, 0};
	int warnings = 0;
	size_t i;
	wt_ctx_add_sink(ctx, count_warning, &warnings);
	feed(&ask);
	for (i = 0; i < 32800; i++) {
		char name[64];
		tx_t t = {2 * i + 2, 2 * i + 3, 0.0001 * (double)i, 0.0001 * (double)i + 0.00005,
			  C, NSA, name, "A", 0, 0, 1, 0, NULL, NULL, NULL, NULL, 0, 0, 0};
		snprintf(name, sizeof name, "h%zu.a.example", i);
		feed(&t);
	}
	cr_expect_eq(json_array_size(out), 32, "%zu emitted early", json_array_size(out));
	cr_expect_eq(warnings, 1);
	check_res(res(0), "h0.a.example", "A", "iterated", NULL, "iterated", 1);
	finish();
	cr_expect_eq(json_array_size(out), 32801);
}
