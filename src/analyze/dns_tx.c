/* \summary: DNS transactions: queries matched with responses, one "dns" record each */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/dns_tx.h"
#include "analyze/dns_tx_msg.h"
#include "core/ctx_int.h"
#include "core/record.h"

/*
 * A transaction is keyed by (client address+port, server address+port,
 * transport, ID, question), as RFC 5452 9.1 says a resolver must match a
 * response.  The hash covers only client, transport and ID so that a query
 * sent to a multicast group (mDNS, LLMNR: RFC 4795 2.1) still finds its
 * unicast answer from whichever host replies; the server is compared in
 * the chain.  Memory is bounded: at most WT_DNSTX_MAX_PENDING queries wait
 * for an answer; past that the oldest is emitted as unanswered (and
 * counted as evicted).  A query is unanswered when no response came within
 * the timeout (capture time, from its latest retransmission).
 *
 * A truncated UDP answer (TC=1) is held back, not emitted, until the
 * client's TCP retry of the same question completes (RFC 7766 5), so that
 * the UDP record can say it was retried ("retried_over_tcp"); when no TCP
 * query comes within WT_DNSTX_TC_HOLD it is emitted without.  Clients
 * retry at once (dig, stub resolvers, recursive servers), so the hold
 * costs nothing when they do.
 *
 * The resolution analyzer asks which queries are still waiting
 * (wt_dnstx_pending_query), to know whether a chain may still grow: so
 * pending queries are also indexed by client and by server address.
 */

#define WT_DNSTX_BUCKETS 16384
#define WT_DNSTX_MAX_PENDING 65536
#define WT_DNSTX_MAX_FRAMES 32 /* query frames kept per transaction */
#define WT_DNSTX_TC_RING 256   /* recent truncated UDP answers */
#define WT_DNSTX_TC_HOLD 3.0   /* seconds a TC answer waits for its TCP retry */
#define WT_DNSTX_ADDR_BUCKETS 4096
#define WT_DNSTX_DEFAULT_TIMEOUT 5.0

typedef struct pend {
	struct pend *hnext;
	struct pend *prev, *next; /* age list, oldest first */
	struct pend *cprev, *cnext; /* by client address */
	struct pend *sprev, *snext; /* by server address */
	uint32_t hash;
	bool rd;
	int tc_idx; /* the truncated UDP exchange this TCP query retries, or -1 */
	wt_endpoint_t client, server;
	bool tcp;
	bool server_multicast;
	uint16_t id;
	bool has_q;
	char *qname;
	uint16_t qtype, qclass;
	wt_time_t ts, last_ts;
	uint64_t frames[WT_DNSTX_MAX_FRAMES];
	size_t n_frames;
	uint64_t retrans;
	json_t *q; /* the query side of the record, built at the query */
} pend_t;

typedef struct tc_entry {
	bool used;     /* may still be matched by a TCP query */
	wt_addr_t client, server;
	char *qname;
	uint16_t qtype, qclass;
	bool rd;
	wt_time_t qts, ts; /* of the query, of the truncated answer */
	uint64_t query_frame, response_frame;
	json_t *rec;   /* the UDP record, held until its retry completes */
	struct pend *retry; /* the TCP query retrying it, while it waits */
} tc_entry_t;

struct wt_dnstx {
	wt_ctx_t *ctx;
	double timeout;
	pend_t *buckets[WT_DNSTX_BUCKETS];
	pend_t *by_client[WT_DNSTX_ADDR_BUCKETS];
	pend_t *by_server[WT_DNSTX_ADDR_BUCKETS];
	pend_t *oldest, *newest;
	size_t n_pending;
	tc_entry_t tc[WT_DNSTX_TC_RING];
	size_t tc_next;
	wt_dnstx_stats_t st;
};

/* ---- helpers ------------------------------------------------------- */

static bool
addr_eq(const wt_addr_t *a, const wt_addr_t *b)
{
	size_t n = a->family == 6 ? 16 : 4;
	return a->family == b->family && memcmp(a->a, b->a, n) == 0;
}

static bool
ep_eq(const wt_endpoint_t *a, const wt_endpoint_t *b)
{
	return a->port == b->port && addr_eq(&a->ip, &b->ip);
}

static bool
is_multicast(const wt_addr_t *a)
{
	if (a->family == 4)
		return (a->a[0] & 0xf0) == 0xe0 || (a->a[0] == 255 && a->a[1] == 255 &&
						    a->a[2] == 255 && a->a[3] == 255);
	if (a->family == 6)
		return a->a[0] == 0xff;
	return false;
}

static uint32_t
mix(uint32_t h, const uint8_t *p, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++) {
		h ^= p[i];
		h *= 16777619u; /* FNV-1a */
	}
	return h;
}

static uint32_t
addr_hash(const wt_addr_t *a)
{
	return mix(2166136261u, a->a, a->family == 6 ? 16 : 4) % WT_DNSTX_ADDR_BUCKETS;
}

static uint32_t
key_hash(const wt_endpoint_t *client, bool tcp, uint16_t id)
{
	uint32_t h = 2166136261u;
	uint8_t b[5];
	h = mix(h, client->ip.a, client->ip.family == 6 ? 16 : 4);
	b[0] = (uint8_t)(client->port >> 8);
	b[1] = (uint8_t)client->port;
	b[2] = tcp;
	b[3] = (uint8_t)(id >> 8);
	b[4] = (uint8_t)id;
	return mix(h, b, sizeof b);
}

static json_t *
flags_json(const wt_dns_header_t *h)
{
	json_t *o = json_object();
	json_object_set_new(o, "qr", json_boolean(h->qr));
	json_object_set_new(o, "aa", json_boolean(h->aa));
	json_object_set_new(o, "tc", json_boolean(h->tc));
	json_object_set_new(o, "rd", json_boolean(h->rd));
	json_object_set_new(o, "ra", json_boolean(h->ra));
	json_object_set_new(o, "z", json_boolean(h->z));
	json_object_set_new(o, "ad", json_boolean(h->ad));
	json_object_set_new(o, "cd", json_boolean(h->cd));
	return o;
}

static json_t *
type_json(uint16_t type)
{
	char b[16];
	return json_string(wt_dns_type_str(type, b, sizeof b));
}

static json_t *
class_json(uint16_t cls)
{
	char b[16];
	return json_string(wt_dns_class_str(cls, b, sizeof b));
}

static json_t *
mnemonic_or_number(const char *s, unsigned v)
{
	return s ? json_string(s) : json_integer(v);
}

/* Names and rdata text may hold any byte escaped as \DDD, so they are
 * ASCII already; wt_json_bytes keeps them valid UTF-8 anyway. */
static json_t *
text_json(const char *s)
{
	return wt_json_bytes((const uint8_t *)s, strlen(s));
}

static json_t *
section_json(const wt_dns_msg_t *m, int section)
{
	json_t *a = json_array();
	size_t i;
	for (i = 0; i < m->n_rrs; i++) {
		const wt_dns_rr_t *rr = &m->rrs[i];
		json_t *o;
		if (rr->section != section)
			continue;
		o = json_object();
		json_object_set_new(o, "name", text_json(rr->name));
		json_object_set_new(o, "type", type_json(rr->type));
		json_object_set_new(o, "class", class_json(rr->rclass));
		json_object_set_new(o, "ttl", json_integer(rr->ttl));
		json_object_set_new(o, "data", text_json(rr->data));
		if (rr->cache_flush)
			json_object_set_new(o, "cache_flush", json_true());
		if (rr->bad)
			json_object_set_new(o, "malformed", json_true());
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *
edns_json(const wt_dns_msg_t *m)
{
	json_t *o, *opts;
	size_t i;
	if (!m->edns.present)
		return json_null();
	o = json_object();
	json_object_set_new(o, "udp_size", json_integer(m->edns.udp_size));
	json_object_set_new(o, "version", json_integer(m->edns.version));
	json_object_set_new(o, "do", json_boolean(m->edns.do_bit));
	json_object_set_new(o, "extended_rcode", json_integer(m->edns.ext_rcode));
	json_object_set_new(o, "z", json_integer(m->edns.z));
	opts = json_array();
	for (i = 0; i < m->edns.n_opts; i++) {
		const wt_dns_opt_t *op = &m->edns.opts[i];
		const char *n = wt_dns_opt_name(op->code);
		json_t *x = json_object();
		json_object_set_new(x, "code", json_integer(op->code));
		json_object_set_new(x, "name", n ? json_string(n) : json_null());
		json_object_set_new(x, "length", json_integer(op->len));
		json_object_set_new(x, "data", text_json(op->data));
		json_array_append_new(opts, x);
	}
	json_object_set_new(o, "options", opts);
	return o;
}

static json_t *
questions_json(const wt_dns_msg_t *m)
{
	json_t *a = json_array();
	size_t i;
	for (i = 0; i < m->n_questions; i++) {
		const wt_dns_question_t *q = &m->questions[i];
		json_t *o = json_object();
		json_object_set_new(o, "name", text_json(q->name));
		json_object_set_new(o, "type", type_json(q->qtype));
		json_object_set_new(o, "class", class_json(q->qclass));
		if (q->unicast_response)
			json_object_set_new(o, "unicast_response", json_true());
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *
counts_json(const wt_dns_header_t *h)
{
	json_t *o = json_object();
	json_object_set_new(o, "qd", json_integer(h->qdcount));
	json_object_set_new(o, "an", json_integer(h->ancount));
	json_object_set_new(o, "ns", json_integer(h->nscount));
	json_object_set_new(o, "ar", json_integer(h->arcount));
	return o;
}

static json_t *
error_json(const wt_dns_msg_t *m, const wt_pkt_t *pkt)
{
	json_t *o = json_object();
	json_object_set_new(o, "frame", json_integer((json_int_t)pkt->frame));
	json_object_set_new(o, "offset", json_integer((json_int_t)m->err.offset));
	json_object_set_new(o, "reason", json_string(m->err.reason));
	return o;
}

/* The fields that describe one message side. */
static void
add_common(json_t *rec, const wt_dns_msg_t *m, const wt_dns_meta_t *meta,
	   const wt_endpoint_t *client, const wt_endpoint_t *server)
{
	const wt_dns_question_t *q = m->n_questions ? &m->questions[0] : NULL;
	json_object_set_new(rec, "type", json_string("dns"));
	json_object_set_new(rec, "ts", wt_json_ts(&meta->pkt->ts));
	json_object_set_new(rec, "transport", json_string(meta->tcp ? "tcp" : "udp"));
	json_object_set_new(rec, "client", wt_json_endpoint(client));
	json_object_set_new(rec, "server", wt_json_endpoint(server));
	json_object_set_new(rec, "id", json_integer(m->hdr.id));
	json_object_set_new(rec, "opcode",
			    mnemonic_or_number(wt_dns_opcode_name(m->hdr.opcode),
					       m->hdr.opcode));
	json_object_set_new(rec, "qname", q ? text_json(q->name) : json_null());
	json_object_set_new(rec, "qtype", q ? type_json(q->qtype) : json_null());
	json_object_set_new(rec, "qclass", q ? class_json(q->qclass) : json_null());
	json_object_set_new(rec, "questions", questions_json(m));
}

/* The response side: flags, rcode, sections, EDNS. */
static void
add_response(json_t *rec, const wt_dns_msg_t *m, const wt_dns_meta_t *meta)
{
	unsigned rc = wt_dns_msg_rcode(m);
	json_object_set_new(rec, "flags", flags_json(&m->hdr));
	json_object_set_new(rec, "rcode",
			    mnemonic_or_number(wt_dns_rcode_name(rc), rc));
	json_object_set_new(rec, "answers", section_json(m, WT_DNS_SEC_ANSWER));
	json_object_set_new(rec, "authority", section_json(m, WT_DNS_SEC_AUTHORITY));
	json_object_set_new(rec, "additional", section_json(m, WT_DNS_SEC_ADDITIONAL));
	json_object_set_new(rec, "edns", edns_json(m));
	json_object_set_new(rec, "counts", counts_json(&m->hdr));
	json_object_set_new(rec, "response_frame",
			    json_integer((json_int_t)meta->pkt->frame));
	json_object_set_new(rec, "response_ts", wt_json_ts(&meta->pkt->ts));
	json_object_set_new(rec, "response_size", json_integer((json_int_t)m->len));
}

static void
add_errors(json_t *rec, const wt_dns_msg_t *m, const wt_pkt_t *pkt)
{
	json_t *errs;
	if (m->err.status == WT_OK)
		return;
	json_object_set_new(rec, "malformed", json_true());
	errs = json_object_get(rec, "errors");
	if (!errs) {
		errs = json_array();
		json_object_set_new(rec, "errors", errs);
	}
	json_array_append_new(errs, error_json(m, pkt));
}

/* ---- pending table ------------------------------------------------- */

static void
unlink_age(struct wt_dnstx *t, pend_t *p)
{
	if (p->prev)
		p->prev->next = p->next;
	else
		t->oldest = p->next;
	if (p->next)
		p->next->prev = p->prev;
	else
		t->newest = p->prev;
	p->prev = p->next = NULL;
}

static void
append_age(struct wt_dnstx *t, pend_t *p)
{
	p->prev = t->newest;
	p->next = NULL;
	if (t->newest)
		t->newest->next = p;
	else
		t->oldest = p;
	t->newest = p;
}

static void
remove_pend(struct wt_dnstx *t, pend_t *p)
{
	pend_t **pp = &t->buckets[p->hash % WT_DNSTX_BUCKETS];
	while (*pp && *pp != p)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = p->hnext;
	unlink_age(t, p);
	if (p->cprev)
		p->cprev->cnext = p->cnext;
	else
		t->by_client[addr_hash(&p->client.ip)] = p->cnext;
	if (p->cnext)
		p->cnext->cprev = p->cprev;
	if (p->sprev)
		p->sprev->snext = p->snext;
	else
		t->by_server[addr_hash(&p->server.ip)] = p->snext;
	if (p->snext)
		p->snext->sprev = p->sprev;
	p->cprev = p->cnext = p->sprev = p->snext = NULL;
	t->n_pending--;
}

static void
index_pend(struct wt_dnstx *t, pend_t *p)
{
	pend_t **c = &t->by_client[addr_hash(&p->client.ip)];
	pend_t **s = &t->by_server[addr_hash(&p->server.ip)];
	p->cprev = NULL;
	p->cnext = *c;
	if (*c)
		(*c)->cprev = p;
	*c = p;
	p->sprev = NULL;
	p->snext = *s;
	if (*s)
		(*s)->sprev = p;
	*s = p;
}

static void
free_pend(pend_t *p)
{
	json_decref(p->q);
	free(p->qname);
	free(p);
}

static json_t *
frames_json(const pend_t *p)
{
	json_t *a = json_array();
	size_t i;
	for (i = 0; i < p->n_frames; i++)
		json_array_append_new(a, json_integer((json_int_t)p->frames[i]));
	return a;
}

static json_t *
frame_or_null(uint64_t f)
{
	return f ? json_integer((json_int_t)f) : json_null();
}

/* Emits the held UDP record of tc entry e: with "retried_over_tcp" when
 * tcp (its TCP retry) is given, response_frame 0 when the retry got no
 * answer. */
static void
tc_release(struct wt_dnstx *t, tc_entry_t *e, const pend_t *tcp,
	   uint64_t response_frame)
{
	json_t *rec = e->rec;
	e->rec = NULL;
	if (e->retry)
		e->retry->tc_idx = -1;
	e->retry = NULL;
	if (!rec)
		return;
	if (tcp)
		json_object_set_new(rec, "retried_over_tcp", json_pack("{s:I,s:o}",
			"query_frame", (json_int_t)tcp->frames[0],
			"response_frame", frame_or_null(response_frame)));
	wt_emit(t->ctx, rec);
}

/* A TCP query that retried a truncated answer completes: the UDP record
 * goes first, so that records keep the order of the exchanges. */
static void
tc_retry_done(struct wt_dnstx *t, pend_t *p, uint64_t response_frame)
{
	if (p->tc_idx < 0)
		return;
	tc_release(t, &t->tc[p->tc_idx], p, response_frame);
	p->tc_idx = -1;
}

/* Emits a query that got no answer; consumes p. */
static void
emit_unanswered(struct wt_dnstx *t, pend_t *p, bool evicted)
{
	json_t *rec = p->q;
	p->q = NULL;
	tc_retry_done(t, p, 0);
	/* Without a response the flags are the query's own. */
	json_object_set(rec, "flags", json_object_get(rec, "query_flags"));
	json_object_set_new(rec, "rcode", json_null());
	json_object_set_new(rec, "answers", json_array());
	json_object_set_new(rec, "authority", json_array());
	json_object_set_new(rec, "additional", json_array());
	json_object_set_new(rec, "edns", json_null());
	json_object_set(rec, "counts", json_object_get(rec, "query_counts"));
	json_object_set_new(rec, "response_frame", json_null());
	json_object_set_new(rec, "response_ts", json_null());
	json_object_set_new(rec, "response_size", json_null());
	json_object_set_new(rec, "rtt", json_null());
	json_object_set_new(rec, "status", json_string("unanswered"));
	json_object_set_new(rec, "retransmissions", json_integer((json_int_t)p->retrans));
	json_object_set_new(rec, "query_frames", frames_json(p));
	if (evicted)
		json_object_set_new(rec, "evicted", json_true());
	if (!json_object_get(rec, "malformed"))
		json_object_set_new(rec, "malformed", json_false());
	t->st.unanswered++;
	free_pend(p);
	wt_emit(t->ctx, rec);
}

static bool
question_matches(const pend_t *p, const wt_dns_msg_t *m)
{
	const wt_dns_question_t *q;
	if (m->n_questions == 0 || !p->has_q)
		return m->n_questions == 0 || !p->has_q;
	q = &m->questions[0];
	return q->qtype == p->qtype && q->qclass == p->qclass &&
	       wt_dns_name_equal(q->name, p->qname);
}

static pend_t *
find_pending(struct wt_dnstx *t, const wt_endpoint_t *client,
	     const wt_endpoint_t *server, bool tcp, uint16_t id,
	     const wt_dns_msg_t *m, uint32_t h)
{
	pend_t *p;
	for (p = t->buckets[h % WT_DNSTX_BUCKETS]; p; p = p->hnext)
		if (p->hash == h && p->id == id && p->tcp == tcp &&
		    ep_eq(&p->client, client) &&
		    (ep_eq(&p->server, server) || p->server_multicast) &&
		    question_matches(p, m))
			return p;
	return NULL;
}

/* Holds a truncated UDP answer's record until the TCP retry (RFC 7766
 * 5) completes or WT_DNSTX_TC_HOLD passes.  Steals rec. */
static void
tc_remember(struct wt_dnstx *t, const pend_t *p, uint64_t resp_frame,
	    const wt_time_t *ts, json_t *rec)
{
	tc_entry_t *e = &t->tc[t->tc_next];
	t->tc_next = (t->tc_next + 1) % WT_DNSTX_TC_RING;
	/* The ring is full of answers still waiting: the oldest goes out
	 * as it is (its TCP record, if any, still carries tc_retry). */
	tc_release(t, e, NULL, 0);
	free(e->qname);
	e->used = true;
	e->client = p->client.ip;
	e->server = p->server.ip;
	e->qname = strdup(p->qname);
	e->qtype = p->qtype;
	e->qclass = p->qclass;
	e->rd = p->rd;
	e->qts = p->ts;
	e->ts = *ts;
	e->query_frame = p->frames[0];
	e->response_frame = resp_frame;
	e->rec = rec;
	e->retry = NULL;
	if (!e->qname) {
		e->used = false;
		tc_release(t, e, NULL, 0);
	}
}

/* The truncated answer a TCP query retries (the latest one for the same
 * question between the same addresses, within the hold), or -1. */
static int
tc_lookup(struct wt_dnstx *t, const wt_endpoint_t *client,
	  const wt_endpoint_t *server, const wt_dns_question_t *q,
	  const wt_time_t *now)
{
	size_t i, k;
	for (k = 0; k < WT_DNSTX_TC_RING; k++) {
		tc_entry_t *e;
		double age;
		i = (t->tc_next + WT_DNSTX_TC_RING - 1 - k) % WT_DNSTX_TC_RING;
		e = &t->tc[i];
		if (!e->used || !addr_eq(&e->client, &client->ip) ||
		    !addr_eq(&e->server, &server->ip) || e->qtype != q->qtype ||
		    e->qclass != q->qclass || !wt_dns_name_equal(e->qname, q->name))
			continue;
		age = wt_time_diff(now, &e->ts);
		if (age > WT_DNSTX_TC_HOLD || age < 0)
			continue;
		return (int)i;
	}
	return -1;
}

/* ---- the two sides ------------------------------------------------- */

static void
on_query(struct wt_dnstx *t, const wt_dns_msg_t *m, const wt_dns_meta_t *meta)
{
	const wt_endpoint_t *client = &meta->src, *server = &meta->dst;
	uint32_t h = key_hash(client, meta->tcp, m->hdr.id);
	pend_t *p = find_pending(t, client, server, meta->tcp, m->hdr.id, m, h);
	json_t *rec;

	t->st.queries++;
	if (p) {
		/* Same key, same question, still unanswered: a retransmission. */
		p->retrans++;
		t->st.retransmissions++;
		if (p->n_frames < WT_DNSTX_MAX_FRAMES)
			p->frames[p->n_frames++] = meta->pkt->frame;
		p->last_ts = meta->pkt->ts;
		unlink_age(t, p);
		append_age(t, p);
		if (m->err.status != WT_OK)
			add_errors(p->q, m, meta->pkt);
		return;
	}
	if (t->n_pending >= WT_DNSTX_MAX_PENDING && t->oldest) {
		pend_t *old = t->oldest;
		remove_pend(t, old);
		t->st.evicted++;
		if (t->st.evicted == 1)
			wt_warn(t->ctx, meta->pkt, "dns", "DNS_PENDING_CAP",
				"more than %d DNS queries waiting for an answer: "
				"the oldest are reported unanswered early",
				WT_DNSTX_MAX_PENDING);
		emit_unanswered(t, old, true);
	}
	p = calloc(1, sizeof *p);
	if (!p)
		return;
	p->hash = h;
	p->tc_idx = -1;
	p->rd = m->hdr.rd;
	p->client = *client;
	p->server = *server;
	p->tcp = meta->tcp;
	p->server_multicast = is_multicast(&server->ip);
	p->id = m->hdr.id;
	if (m->n_questions) {
		p->has_q = true;
		p->qtype = m->questions[0].qtype;
		p->qclass = m->questions[0].qclass;
		p->qname = strdup(m->questions[0].name);
	} else {
		p->qname = strdup("");
	}
	p->ts = p->last_ts = meta->pkt->ts;
	p->frames[p->n_frames++] = meta->pkt->frame;
	rec = json_object();
	if (!p->qname || !rec) {
		json_decref(rec);
		free(p->qname);
		free(p);
		return;
	}
	add_common(rec, m, meta, client, server);
	json_object_set_new(rec, "query_frame", json_integer((json_int_t)meta->pkt->frame));
	json_object_set_new(rec, "query_flags", flags_json(&m->hdr));
	json_object_set_new(rec, "query_edns", edns_json(m));
	json_object_set_new(rec, "query_counts", counts_json(&m->hdr));
	json_object_set_new(rec, "query_size", json_integer((json_int_t)m->len));
	if (m->n_rrs)
		json_object_set_new(rec, "query_records", json_pack("{s:o,s:o,s:o}",
			"answers", section_json(m, WT_DNS_SEC_ANSWER),
			"authority", section_json(m, WT_DNS_SEC_AUTHORITY),
			"additional", section_json(m, WT_DNS_SEC_ADDITIONAL)));
	if (meta->tcp && m->n_questions) {
		int k = tc_lookup(t, client, server, &m->questions[0], &meta->pkt->ts);
		if (k >= 0) {
			tc_entry_t *e = &t->tc[k];
			json_object_set_new(rec, "tc_retry", json_pack("{s:I,s:I}",
				"query_frame", (json_int_t)e->query_frame,
				"response_frame", (json_int_t)e->response_frame));
			e->used = false;
			if (e->rec) {
				/* Its UDP record waits for this one to complete. */
				e->retry = p;
				p->tc_idx = k;
			}
		}
	}
	add_errors(rec, m, meta->pkt);
	p->q = rec;
	p->hnext = t->buckets[h % WT_DNSTX_BUCKETS];
	t->buckets[h % WT_DNSTX_BUCKETS] = p;
	append_age(t, p);
	index_pend(t, p);
	t->n_pending++;
}

static void
on_response(struct wt_dnstx *t, const wt_dns_msg_t *m, const wt_dns_meta_t *meta)
{
	const wt_endpoint_t *client = &meta->dst, *server = &meta->src;
	uint32_t h = key_hash(client, meta->tcp, m->hdr.id);
	pend_t *p = find_pending(t, client, server, meta->tcp, m->hdr.id, m, h);
	json_t *rec;

	t->st.responses++;
	if (!p) {
		rec = json_object();
		add_common(rec, m, meta, client, server);
		add_response(rec, m, meta);
		json_object_set_new(rec, "query_frame", json_null());
		json_object_set_new(rec, "query_flags", json_null());
		json_object_set_new(rec, "query_edns", json_null());
		json_object_set_new(rec, "query_counts", json_null());
		json_object_set_new(rec, "rtt", json_null());
		json_object_set_new(rec, "status", json_string("unsolicited"));
		json_object_set_new(rec, "retransmissions", json_integer(0));
		json_object_set_new(rec, "query_frames", json_array());
		add_errors(rec, m, meta->pkt);
		if (!json_object_get(rec, "malformed"))
			json_object_set_new(rec, "malformed", json_false());
		t->st.unsolicited++;
		wt_emit(t->ctx, rec);
		return;
	}
	remove_pend(t, p);
	rec = p->q;
	p->q = NULL;
	/* The responder is the server (a multicast query's group is not). */
	json_object_set_new(rec, "server", wt_json_endpoint(server));
	add_response(rec, m, meta);
	json_object_set_new(rec, "rtt", json_real(wt_time_diff(&meta->pkt->ts, &p->ts)));
	json_object_set_new(rec, "status", json_string("answered"));
	json_object_set_new(rec, "retransmissions", json_integer((json_int_t)p->retrans));
	json_object_set_new(rec, "query_frames", frames_json(p));
	/* The response's questions win when the query had none. */
	if (!p->has_q && m->n_questions) {
		json_object_set_new(rec, "qname", text_json(m->questions[0].name));
		json_object_set_new(rec, "qtype", type_json(m->questions[0].qtype));
		json_object_set_new(rec, "qclass", class_json(m->questions[0].qclass));
	}
	add_errors(rec, m, meta->pkt);
	if (!json_object_get(rec, "malformed"))
		json_object_set_new(rec, "malformed", json_false());
	t->st.answered++;
	if (!meta->tcp && m->hdr.tc && p->has_q) {
		tc_remember(t, p, meta->pkt->frame, &meta->pkt->ts, rec);
		free_pend(p);
		return;
	}
	tc_retry_done(t, p, meta->pkt->frame);
	free_pend(p);
	wt_emit(t->ctx, rec);
}

/* ---- API ------------------------------------------------------------- */

void
wt_dnstx_message(struct wt_dnstx *t, const wt_dns_msg_t *m,
		 const wt_dns_meta_t *meta)
{
	if (!t || !m->header_ok)
		return;
	if (m->hdr.qr)
		on_response(t, m, meta);
	else
		on_query(t, m, meta);
}


void
wt_dnstx_get_stats(const struct wt_dnstx *t, wt_dnstx_stats_t *s)
{
	*s = t->st;
	s->pending = t->n_pending;
}

struct wt_dnstx *
wt_dnstx_new(wt_ctx_t *ctx)
{
	struct wt_dnstx *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->ctx = ctx;
	t->timeout = ctx->opt.dns_timeout > 0 ? ctx->opt.dns_timeout
					      : WT_DNSTX_DEFAULT_TIMEOUT;
	return t;
}

/* Truncated answers whose TCP retry did not come: out as they are. */
static void
tc_expire(struct wt_dnstx *t, const wt_time_t *now, bool all)
{
	size_t k;
	for (k = 0; k < WT_DNSTX_TC_RING; k++) {
		tc_entry_t *e = &t->tc[(t->tc_next + k) % WT_DNSTX_TC_RING];
		if (!e->rec || e->retry)
			continue;
		if (all || wt_time_diff(now, &e->ts) >= WT_DNSTX_TC_HOLD) {
			e->used = false;
			tc_release(t, e, NULL, 0);
		}
	}
}

void
wt_dnstx_expire(struct wt_dnstx *t, const wt_time_t *now)
{
	while (t->oldest && wt_time_diff(now, &t->oldest->last_ts) >= t->timeout) {
		pend_t *p = t->oldest;
		remove_pend(t, p);
		emit_unanswered(t, p, false);
	}
	tc_expire(t, now, false);
}

void
wt_dnstx_finish(struct wt_dnstx *t)
{
	while (t->oldest) {
		pend_t *p = t->oldest;
		remove_pend(t, p);
		emit_unanswered(t, p, false);
	}
	tc_expire(t, NULL, true);
}

static bool
parse_addr(const char *s, wt_addr_t *a)
{
	memset(a, 0, sizeof *a);
	if (inet_pton(AF_INET, s, a->a) == 1) {
		a->family = 4;
		return true;
	}
	if (inet_pton(AF_INET6, s, a->a) == 1) {
		a->family = 6;
		return true;
	}
	return false;
}

static bool
question_fits(const char *qname, uint16_t qtype, bool has_q,
	      wt_dnstx_match_fn match, void *user)
{
	char b[16];
	if (!match)
		return true;
	return has_q ? match(user, qname, wt_dns_type_str(qtype, b, sizeof b))
		     : match(user, NULL, NULL);
}

static bool
pend_fits(const pend_t *p, const wt_addr_t *c, const wt_addr_t *s, bool rd_only,
	  uint64_t lo, uint64_t hi, double max_ts, wt_dnstx_match_fn match,
	  void *user)
{
	/* The cheap tests first: most candidates differ in frames. */
	return p->frames[0] >= lo && p->frames[0] <= hi && (!rd_only || p->rd) &&
	       (!c || addr_eq(&p->client.ip, c)) && (!s || addr_eq(&p->server.ip, s)) &&
	       !(wt_time_to_double(&p->ts) > max_ts) &&
	       question_fits(p->qname, p->qtype, p->has_q, match, user);
}

bool
wt_dnstx_pending_query(const struct wt_dnstx *t, const char *client,
		       const char *server, bool rd_only, uint64_t lo, uint64_t hi,
		       double max_ts, wt_dnstx_match_fn match, void *user)
{
	wt_addr_t ca, sa;
	const wt_addr_t *c = NULL, *s = NULL;
	const pend_t *p;
	size_t k;

	if (!t)
		return false;
	if (client) {
		if (!parse_addr(client, &ca))
			return false;
		c = &ca;
	}
	if (server) {
		if (!parse_addr(server, &sa))
			return false;
		s = &sa;
	}
	if (c) {
		for (p = t->by_client[addr_hash(c)]; p; p = p->cnext)
			if (pend_fits(p, c, s, rd_only, lo, hi, max_ts, match, user))
				return true;
	} else if (s) {
		for (p = t->by_server[addr_hash(s)]; p; p = p->snext)
			if (pend_fits(p, c, s, rd_only, lo, hi, max_ts, match, user))
				return true;
	} else {
		for (p = t->oldest; p; p = p->next)
			if (pend_fits(p, c, s, rd_only, lo, hi, max_ts, match, user))
				return true;
	}
	/* A truncated answer held for its TCP retry is not reported yet. */
	for (k = 0; k < WT_DNSTX_TC_RING; k++) {
		const tc_entry_t *e = &t->tc[k];
		if (e->rec && e->query_frame >= lo && e->query_frame <= hi &&
		    (!rd_only || e->rd) && (!c || addr_eq(&e->client, c)) &&
		    (!s || addr_eq(&e->server, s)) &&
		    !(wt_time_to_double(&e->qts) > max_ts) &&
		    question_fits(e->qname, e->qtype, true, match, user))
			return true;
	}
	return false;
}

void
wt_dnstx_free(struct wt_dnstx *t)
{
	size_t i;
	if (!t)
		return;
	while (t->oldest) {
		pend_t *p = t->oldest;
		remove_pend(t, p);
		free_pend(p);
	}
	for (i = 0; i < WT_DNSTX_TC_RING; i++) {
		free(t->tc[i].qname);
		json_decref(t->tc[i].rec);
	}
	free(t);
}
