/* \summary: mail flows: one "mail" record per message, from submission to retrieval */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/story.h"
#include "core/ctx_int.h"
#include "core/record.h"

/*
 * Every message leaves a trace at each hop it takes: the SMTP transaction
 * that submits it (RFC 6409), the DNS lookups the sending server makes to
 * find the recipient's mail exchanger (RFC 5321 section 5.1), each SMTP
 * transaction that relays it between servers, and each POP3 (RFC 1939) or
 * IMAP (RFC 9051) session that retrieves it.  The dissectors emit one
 * record per session; here the copies of one message are grouped into a
 * flow and emitted as one "mail" record.
 *
 * Matching a copy to a flow, in order:
 *   1. the Message-ID (RFC 5322 section 3.6.4), when both sides have one;
 *   2. otherwise (one side has none: a server may add it) a score over
 *      what every hop preserves: the body size (servers prepend header
 *      fields such as Received, so the whole size grows but the body does
 *      not), Subject, Date, From, the envelope (MAIL FROM, RCPT TO) and,
 *      for a retrieval, the mailbox user among the recipients.  A copy
 *      that contradicts a flow (another Message-ID, another body size,
 *      Subject or Date) never joins it.
 *
 * Records arrive when their session ends, so hops arrive out of order (a
 * relay connection may close before the submission connection does); the
 * hops are sorted by their first frame when the flow is emitted.  DNS
 * lookups arrive before the connection that uses them; the recent ones are
 * kept in a ring and attached when a hop from the querier to the answered
 * address arrives.
 *
 * A flow is emitted when it is complete (retrieved, then quiet for a few
 * seconds of capture time so a second retrieval by IMAP after POP3 still
 * joins it), after MF_IDLE seconds of capture time without a new hop, or
 * at the end.  Memory is bounded: at most MF_MAX_FLOWS flows (the oldest
 * is emitted early when full), MF_MAX_HOPS hops each, MF_DNS_RING lookups.
 */

#define MF_MAX_FLOWS 4096
#define MF_MAX_HOPS 64
#define MF_DNS_RING 512
#define MF_MAX_ANSWERS 16
#define MF_MAX_RECEIVED 32
#define MF_IDLE 60.0        /* seconds of capture time without a new hop */
#define MF_LINGER 5.0       /* after a retrieval, for a second retrieval */
#define MF_DNS_WINDOW 60.0  /* a lookup this old still explains a connection */
#define MF_MIN_SCORE 5      /* matching without a Message-ID */

/* A recent MX/A/AAAA lookup: its record, made into a hop only when a
 * connection uses it (most lookups explain no mail). */
struct mf_lookup {
	json_t *rec;       /* the "dns" record (shared); NULL when the slot is free */
	char client[48];   /* querier's address */
	char qtype[8];
	char qname[256];
	double ts;
	int64_t used_stream; /* the connection that used it, -1: none yet */
};

struct mf_member;

struct mf_flow {
	json_t *hops;        /* unsorted until emission */
	size_t hops_dropped;
	json_t *message_id;  /* string or NULL */
	json_t *ident;       /* {"from","to","cc","subject","date"} of the newest copy */
	json_int_t body_size; /* -1: unknown */
	json_int_t size;      /* size of the first copy seen (smallest) */
	char *mail_from;
	json_t *rcpt;        /* union of accepted envelope recipients */
	json_t *received;    /* the copy with the most Received fields */
	json_int_t recv_first_frame; /* the hop that copy came from (0: none) */
	json_int_t recv_msg_frame;
	const char *matched_by;
	double first_ts;
	double touched;      /* capture time of the newest hop's record */
	bool retrieved;
	uint64_t seq;

	/* bookkeeping: the list in seq order, the heap by touched, the
	 * index entries, the candidate stamp of flow_for */
	struct mf_flow *prev, *next;
	size_t heap_at;
	struct mf_member **mem;
	size_t n_mem, cap_mem;
	uint64_t stamp;
};

/*
 * The indexes of flow_for.  Every flow is filed under each key it can be
 * matched by: its Message-ID, and each of the fields that give points in
 * match_score (body size, Subject, Date, From, MAIL FROM, each recipient
 * and each recipient's local part).  A key's group lists the flows that
 * have it, so a copy only meets the flows it shares something with.  The
 * fallback keys are filed in two partitions, flows with and without a
 * Message-ID: a copy with an ID only looks among the flows without one.
 */
enum mf_kind {
	K_ID, K_BODY, K_SUBJECT, K_DATE, K_FROM, K_MAILFROM, K_RCPT, K_LOCAL,
	K_HAS_ID = 0x10 /* or-ed into the fallback kinds: the flow has an ID */
};

struct mf_group {
	struct mf_group *chain; /* hash bucket */
	struct mf_member *head; /* the flows filed under the key */
	size_t count;
	size_t klen;
	uint32_t hash;
	uint8_t kind;
	char key[];             /* klen bytes and a NUL */
};

struct mf_member {
	struct mf_flow *flow;
	struct mf_group *group;
	struct mf_member *prev, *next;
};

struct wt_mailflow {
	wt_ctx_t *ctx;
	struct mf_flow *head, *tail; /* in seq order: the order of first sight */
	size_t n_flows;
	struct mf_flow *heap[MF_MAX_FLOWS]; /* min-heap by (touched, seq) */
	struct mf_group **index; /* hash table of the groups, grown by doubling */
	size_t n_buckets, n_groups;
	struct mf_flow **cand;  /* candidates of one flow_for */
	size_t cap_cand;
	uint64_t stamp;
	struct mf_lookup ring[MF_DNS_RING];
	size_t ring_next;
	uint64_t seq;
	uint64_t evicted;
	uint64_t hops_dropped;
};

/* ---- small helpers -------------------------------------------------- */

static const char *
jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static double
jnum(json_t *o, const char *k)
{
	return json_number_value(json_object_get(o, k));
}

static json_int_t
jint(json_t *o, const char *k, json_int_t dflt)
{
	json_t *v = json_object_get(o, k);
	return json_is_integer(v) ? json_integer_value(v) : dflt;
}

/* A field for a hop: records are not changed once emitted, so a number or
 * a string is shared; objects and arrays are copied. */
static json_t *
jcopy(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	if (!v)
		return json_null();
	return json_is_object(v) || json_is_array(v) ? json_deep_copy(v) : json_incref(v);
}

static double
now_of(struct wt_mailflow *m)
{
	return wt_time_to_double(&m->ctx->now);
}

static bool
str_ieq(const char *a, const char *b)
{
	return a && b && strcasecmp(a, b) == 0;
}

/* The domain of an address, "bob@b.example" -> "b.example", else NULL. */
static const char *
domain_of(const char *addr)
{
	const char *at = addr ? strrchr(addr, '@') : NULL;
	return at && at[1] ? at + 1 : NULL;
}

static bool
array_has_str(json_t *a, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v) {
		if (str_ieq(json_string_value(v), s))
			return true;
	}
	return false;
}

static bool
is_2xx(json_t *code)
{
	json_int_t c = json_integer_value(code);
	return c >= 200 && c < 300;
}

/* ---- DNS lookups ---------------------------------------------------- */

static void
lookup_clear(struct mf_lookup *l)
{
	json_decref(l->rec);
	memset(l, 0, sizeof *l);
}

/*
 * The answers a lookup's hop lists: the records that answer the question
 * (a CNAME chain leads to them; its targets are in the answer too), at
 * most MF_MAX_ANSWERS.  Calls fn for each; stops when it returns true.
 */
static bool
hop_answers(json_t *rec, const char *qtype, bool (*fn)(json_t *a, const char *t,
	    const char *d, void *u), void *u)
{
	size_t i, kept = 0;
	json_t *a;
	json_array_foreach(json_object_get(rec, "answers"), i, a) {
		const char *t = jstr(a, "type"), *d = jstr(a, "data");
		if (!t || !d || kept >= MF_MAX_ANSWERS)
			continue;
		if (!strcmp(t, qtype) || !strcmp(t, "CNAME")) {
			kept++;
			if (fn(a, t, d, u))
				return true;
		}
	}
	return false;
}

static bool
answer_json(json_t *a, const char *t, const char *d, void *u)
{
	json_t *e = json_object();
	json_object_set_new(e, "name", jcopy(a, "name"));
	json_object_set_new(e, "type", json_string(t));
	json_object_set_new(e, "data", json_string(d));
	json_array_append_new(u, e);
	return false;
}

/* The hop a lookup becomes. */
static json_t *
lookup_hop(const struct mf_lookup *l)
{
	json_t *rec = l->rec, *hop = json_object(), *ans = json_array();
	json_object_set_new(hop, "protocol", json_string("dns"));
	json_object_set_new(hop, "role", json_string(strcmp(l->qtype, "MX") ? "address-lookup" : "mx-lookup"));
	json_object_set_new(hop, "client", jcopy(rec, "client"));
	json_object_set_new(hop, "server", jcopy(rec, "server"));
	json_object_set_new(hop, "first_frame", jcopy(rec, "query_frame"));
	json_object_set_new(hop, "last_frame", jcopy(rec, "response_frame"));
	json_object_set_new(hop, "ts", jcopy(rec, "ts"));
	json_object_set_new(hop, "transport", jcopy(rec, "transport"));
	json_object_set_new(hop, "qname", json_string(l->qname));
	json_object_set_new(hop, "qtype", json_string(l->qtype));
	json_object_set_new(hop, "rcode", jcopy(rec, "rcode"));
	json_object_set_new(hop, "rd", json_boolean(json_is_true(json_object_get(
		json_object_get(rec, "query_flags"), "rd"))));
	hop_answers(rec, l->qtype, answer_json, ans);
	json_object_set_new(hop, "answers", ans);
	json_object_set_new(hop, "rtt", jcopy(rec, "rtt"));
	return hop;
}

/*
 * Keeps an answered MX, A or AAAA lookup as the hop it may become.  The
 * resolver's own iterative queries are kept too (they are lookups like any
 * other); they only ever match a connection made from the resolver.
 */
static void
observe_dns(struct wt_mailflow *m, json_t *rec)
{
	const char *qtype = jstr(rec, "qtype"), *qname = jstr(rec, "qname");
	const char *cip = jstr(json_object_get(rec, "client"), "ip");
	struct mf_lookup *l;

	if (!qtype || !qname || !cip)
		return;
	if (strcmp(qtype, "MX") && strcmp(qtype, "A") && strcmp(qtype, "AAAA"))
		return;
	if (!json_is_integer(json_object_get(rec, "response_frame")))
		return; /* unanswered: it explains no connection */

	l = &m->ring[m->ring_next];
	m->ring_next = (m->ring_next + 1) % MF_DNS_RING;
	lookup_clear(l);
	l->rec = json_incref(rec);
	snprintf(l->client, sizeof l->client, "%s", cip);
	snprintf(l->qtype, sizeof l->qtype, "%s", qtype);
	snprintf(l->qname, sizeof l->qname, "%s", qname);
	l->ts = jnum(rec, "ts");
	l->used_stream = -1;
}

struct answer_want {
	const char *type, *data_or_name;
};

static bool
answer_is(json_t *a, const char *t, const char *d, void *u)
{
	const struct answer_want *w = u;
	(void)a;
	if (strcmp(t, w->type))
		return false;
	if (!strcmp(w->type, "MX")) {
		/* "10 mail.b.example": compare the exchange. */
		const char *sp = strchr(d, ' ');
		return sp && str_ieq(sp + 1, w->data_or_name);
	}
	return str_ieq(d, w->data_or_name);
}

/* Does the lookup's hop list an answer of this type with this data? */
static bool
answers_have(const struct mf_lookup *l, const char *type, const char *data_or_name)
{
	struct answer_want w = { type, data_or_name };
	return hop_answers(l->rec, l->qtype, answer_is, &w);
}

/*
 * The lookup that explains a connection: the newest one made by `client`
 * before the connection started (and not longer ago than MF_DNS_WINDOW)
 * whose answer is the connection's server, and not already used by
 * another connection (a name is looked up once, then cached by the host).
 */
static struct mf_lookup *
find_address_lookup(struct wt_mailflow *m, const char *client, const char *server,
		    double ts, int64_t stream)
{
	struct mf_lookup *best = NULL;
	size_t i;
	for (i = 0; i < MF_DNS_RING; i++) {
		struct mf_lookup *l = &m->ring[i];
		if (!l->rec || strcmp(l->qtype, "MX") == 0 || strcmp(l->client, client))
			continue;
		if (l->ts > ts || ts - l->ts > MF_DNS_WINDOW)
			continue;
		if (l->used_stream >= 0 && l->used_stream != stream)
			continue;
		if (!answers_have(l, l->qtype, server))
			continue;
		if (!best || l->ts > best->ts)
			best = l;
	}
	return best;
}

/* The MX lookup for one of `domains` by `client` before `ts`; when an
 * address lookup was found, its name must be among the exchanges. */
static struct mf_lookup *
find_mx_lookup(struct wt_mailflow *m, const char *client, json_t *domains,
	       const char *exchange, double ts, int64_t stream)
{
	struct mf_lookup *best = NULL;
	size_t i;
	for (i = 0; i < MF_DNS_RING; i++) {
		struct mf_lookup *l = &m->ring[i];
		if (!l->rec || strcmp(l->qtype, "MX") || strcmp(l->client, client))
			continue;
		if (l->ts > ts || ts - l->ts > MF_DNS_WINDOW)
			continue;
		if (l->used_stream >= 0 && l->used_stream != stream)
			continue;
		if (!array_has_str(domains, l->qname))
			continue;
		if (exchange && !answers_have(l, "MX", exchange))
			continue;
		if (!best || l->ts > best->ts)
			best = l;
	}
	return best;
}

/* ---- the indexes of flow_for ------------------------------------------ */

static bool
kind_folds_case(unsigned kind)
{
	kind &= ~(unsigned)K_HAS_ID;
	/* the keys match_score compares with str_ieq */
	return kind == K_MAILFROM || kind == K_RCPT || kind == K_LOCAL;
}

/* FNV-1a over the key, case-folded by the tolower() strcasecmp uses so
 * that keys equal to it hash alike. */
static uint32_t
key_hash(unsigned kind, const char *k, size_t n)
{
	uint32_t h = 2166136261u ^ kind;
	bool fold = kind_folds_case(kind);
	size_t i;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)k[i];
		h ^= fold ? (unsigned char)tolower(c) : c;
		h *= 16777619u;
	}
	return h;
}

static bool
key_eq(const struct mf_group *g, const char *k, size_t n)
{
	if (g->klen != n)
		return false;
	return kind_folds_case(g->kind) ? strncasecmp(g->key, k, n) == 0 : memcmp(g->key, k, n) == 0;
}

static struct mf_group *
group_find(struct wt_mailflow *m, unsigned kind, const char *k, size_t n)
{
	uint32_t h = key_hash(kind, k, n);
	struct mf_group *g;
	if (!m->index)
		return NULL;
	for (g = m->index[h & (m->n_buckets - 1)]; g; g = g->chain)
		if (g->hash == h && g->kind == kind && key_eq(g, k, n))
			return g;
	return NULL;
}

/* Doubles the hash table when the groups outnumber its buckets. */
static int
index_grow(struct wt_mailflow *m)
{
	size_t nb = m->n_buckets ? m->n_buckets * 2 : 4096, i;
	struct mf_group **t = calloc(nb, sizeof *t);
	if (!t)
		return m->index ? 0 : -1; /* a full table still works, slower */
	for (i = 0; i < m->n_buckets; i++) {
		struct mf_group *g = m->index[i], *nx;
		for (; g; g = nx) {
			nx = g->chain;
			g->chain = t[g->hash & (nb - 1)];
			t[g->hash & (nb - 1)] = g;
		}
	}
	free(m->index);
	m->index = t;
	m->n_buckets = nb;
	return 0;
}

/* Files flow f under a key (kind as is: the caller adds the partition). */
static void
index_add(struct wt_mailflow *m, struct mf_flow *f, unsigned kind, const char *k, size_t n)
{
	struct mf_group *g = group_find(m, kind, k, n);
	struct mf_member *x;

	if (f->n_mem == f->cap_mem) {
		size_t nc = f->cap_mem ? f->cap_mem * 2 : 16;
		struct mf_member **t = realloc(f->mem, nc * sizeof *t);
		if (!t)
			return;
		f->mem = t;
		f->cap_mem = nc;
	}
	if (!g) {
		uint32_t h = key_hash(kind, k, n);
		if ((m->n_groups >= m->n_buckets * 2 || !m->index) && index_grow(m) != 0)
			return;
		g = malloc(sizeof *g + n + 1);
		if (!g)
			return;
		memcpy(g->key, k, n);
		g->key[n] = '\0';
		g->klen = n;
		g->hash = h;
		g->kind = (uint8_t)kind;
		g->count = 0;
		g->head = NULL;
		g->chain = m->index[h & (m->n_buckets - 1)];
		m->index[h & (m->n_buckets - 1)] = g;
		m->n_groups++;
	}
	x = malloc(sizeof *x);
	if (!x) {
		if (g->count == 0) {
			m->index[g->hash & (m->n_buckets - 1)] = g->chain;
			m->n_groups--;
			free(g);
		}
		return;
	}
	x->flow = f;
	x->group = g;
	x->prev = NULL;
	x->next = g->head;
	if (g->head)
		g->head->prev = x;
	g->head = x;
	g->count++;
	f->mem[f->n_mem++] = x;
}

static void
index_remove_all(struct wt_mailflow *m, struct mf_flow *f)
{
	size_t i;
	for (i = 0; i < f->n_mem; i++) {
		struct mf_member *x = f->mem[i];
		struct mf_group *g = x->group;
		if (x->prev)
			x->prev->next = x->next;
		else
			g->head = x->next;
		if (x->next)
			x->next->prev = x->prev;
		free(x);
		if (--g->count == 0) {
			struct mf_group **pp = &m->index[g->hash & (m->n_buckets - 1)];
			while (*pp != g)
				pp = &(*pp)->chain;
			*pp = g->chain;
			m->n_groups--;
			free(g);
		}
	}
	f->n_mem = 0;
}

static unsigned
partition(const struct mf_flow *f)
{
	return f->message_id ? K_HAS_ID : 0;
}

static void
index_str(struct wt_mailflow *m, struct mf_flow *f, unsigned kind, const char *v)
{
	if (v)
		index_add(m, f, kind | partition(f), v, strlen(v));
}

static void
index_body(struct wt_mailflow *m, struct mf_flow *f)
{
	char k[32];
	int n = snprintf(k, sizeof k, "%lld", (long long)f->body_size);
	index_add(m, f, K_BODY | partition(f), k, (size_t)n);
}

/* A recipient: by address, and by local part for a mailbox user. */
static void
index_rcpt(struct wt_mailflow *m, struct mf_flow *f, const char *a)
{
	const char *at = strrchr(a, '@');
	index_add(m, f, K_RCPT | partition(f), a, strlen(a));
	if (at)
		index_add(m, f, K_LOCAL | partition(f), a, (size_t)(at - a));
}

/* Files the flow under everything it has (after it gained an ID). */
static void
index_flow(struct wt_mailflow *m, struct mf_flow *f)
{
	size_t i;
	json_t *r;
	index_remove_all(m, f);
	if (f->message_id)
		index_add(m, f, K_ID, json_string_value(f->message_id),
			  strlen(json_string_value(f->message_id)));
	if (f->body_size >= 0)
		index_body(m, f);
	index_str(m, f, K_SUBJECT, jstr(f->ident, "subject"));
	index_str(m, f, K_DATE, jstr(f->ident, "date"));
	index_str(m, f, K_FROM, jstr(f->ident, "from"));
	index_str(m, f, K_MAILFROM, f->mail_from);
	json_array_foreach(f->rcpt, i, r)
		index_rcpt(m, f, json_string_value(r));
}

/* ---- the order of the flows -------------------------------------------- */

/* The flow told first when too many are in flight: the least recently
 * touched, the first seen among equals (as a scan in seq order finds). */
static bool
heap_less(const struct mf_flow *a, const struct mf_flow *b)
{
	return a->touched < b->touched || (a->touched == b->touched && a->seq < b->seq);
}

static void
heap_set(struct wt_mailflow *m, size_t i, struct mf_flow *f)
{
	m->heap[i] = f;
	f->heap_at = i;
}

static void
heap_fix(struct wt_mailflow *m, size_t i)
{
	struct mf_flow *f = m->heap[i];
	while (i > 0 && heap_less(f, m->heap[(i - 1) / 2])) {
		heap_set(m, i, m->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= m->n_flows)
			break;
		if (c + 1 < m->n_flows && heap_less(m->heap[c + 1], m->heap[c]))
			c++;
		if (!heap_less(m->heap[c], f))
			break;
		heap_set(m, i, m->heap[c]);
		i = c;
	}
	heap_set(m, i, f);
}

/* Adds a new flow at the end of the list (it is the newest). */
static void
flows_link(struct wt_mailflow *m, struct mf_flow *f)
{
	f->prev = m->tail;
	f->next = NULL;
	if (m->tail)
		m->tail->next = f;
	else
		m->head = f;
	m->tail = f;
	heap_set(m, m->n_flows, f);
	m->n_flows++;
	heap_fix(m, f->heap_at);
}

static void
flows_unlink(struct wt_mailflow *m, struct mf_flow *f)
{
	size_t i = f->heap_at;
	if (f->prev)
		f->prev->next = f->next;
	else
		m->head = f->next;
	if (f->next)
		f->next->prev = f->prev;
	else
		m->tail = f->prev;
	m->n_flows--;
	if (i < m->n_flows) {
		heap_set(m, i, m->heap[m->n_flows]);
		heap_fix(m, i);
	}
	index_remove_all(m, f);
}

/* ---- flows ------------------------------------------------------------ */

static void
flow_free(struct mf_flow *f)
{
	if (!f)
		return;
	json_decref(f->hops);
	json_decref(f->message_id);
	json_decref(f->ident);
	json_decref(f->rcpt);
	json_decref(f->received);
	free(f->mail_from);
	free(f->mem);
	free(f);
}

static bool
flow_has_hop(struct mf_flow *f, json_t *hop)
{
	size_t i;
	json_t *h;
	const char *role = jstr(hop, "role");
	json_int_t ff = jint(hop, "first_frame", -1), mf = jint(hop, "message_frame", -1);
	json_array_foreach(f->hops, i, h) {
		if (jint(h, "first_frame", -2) == ff && jint(h, "message_frame", -1) == mf &&
		    str_ieq(jstr(h, "role"), role))
			return true;
	}
	return false;
}

static void
flow_add_hop(struct wt_mailflow *m, struct mf_flow *f, json_t *hop)
{
	if (flow_has_hop(f, hop)) {
		json_decref(hop);
		return;
	}
	if (json_array_size(f->hops) >= MF_MAX_HOPS) {
		f->hops_dropped++;
		m->hops_dropped++;
		json_decref(hop);
		return;
	}
	json_array_append_new(f->hops, hop);
}

/* Attaches the lookups that explain the connection behind `hop`. */
static void
attach_lookups(struct wt_mailflow *m, struct mf_flow *f, json_t *hop, int64_t stream,
	       bool want_mx)
{
	const char *client = jstr(json_object_get(hop, "client"), "ip");
	const char *server = jstr(json_object_get(hop, "server"), "ip");
	double ts = jnum(hop, "ts");
	struct mf_lookup *a, *mx = NULL;
	const char *exchange = NULL;

	if (!client || !server)
		return;
	a = find_address_lookup(m, client, server, ts, stream);
	if (a)
		exchange = a->qname;
	if (want_mx) {
		json_t *domains = json_array(), *r;
		size_t i;
		json_array_foreach(json_object_get(hop, "rcpt"), i, r) {
			const char *d = domain_of(json_string_value(r));
			if (d && !array_has_str(domains, d))
				json_array_append_new(domains, json_string(d));
		}
		mx = find_mx_lookup(m, client, domains, exchange, ts, stream);
		/* No A lookup seen (cached by the server): the MX alone. */
		json_decref(domains);
	}
	/* An address lookup of a relay that follows no MX lookup and is not
	 * for a recipient's domain (RFC 5321 section 5.1 "implicit MX") is
	 * still the server's way to its peer: keep it. */
	if (mx) {
		mx->used_stream = stream;
		flow_add_hop(m, f, lookup_hop(mx));
	}
	if (a) {
		a->used_stream = stream;
		flow_add_hop(m, f, lookup_hop(a));
	}
}

static const char *const ident_keys[] = {"from", "to", "cc", "subject", "date"};

static struct mf_flow *
flow_new(struct wt_mailflow *m)
{
	struct mf_flow *f = calloc(1, sizeof *f);
	if (!f)
		return NULL;
	f->hops = json_array();
	f->ident = json_object();
	f->rcpt = json_array();
	f->body_size = -1;
	f->size = -1;
	f->seq = ++m->seq;
	f->matched_by = "single-copy";
	return f;
}

/* Score of a copy against a flow; -1 when they contradict each other. */
static int
match_score(struct mf_flow *f, json_t *msg, const char *mail_from, json_t *rcpt,
	    const char *user)
{
	const char *id = jstr(msg, "message_id"), *fid = json_string_value(f->message_id);
	json_int_t bs = jint(msg, "body_size", -1);
	bool complete = !json_is_false(json_object_get(msg, "complete")) &&
			!json_is_true(json_object_get(msg, "truncated"));
	int score = 0;
	size_t i;
	json_t *r;

	if (id && fid && strcmp(id, fid) != 0)
		return -1;
	if (bs >= 0 && f->body_size >= 0 && complete) {
		if (bs != f->body_size)
			return -1;
		score += 4;
	}
	{
		const char *s = jstr(msg, "subject"), *fs = jstr(f->ident, "subject");
		if (s && fs) {
			if (strcmp(s, fs))
				return -1;
			score += 2;
		}
		s = jstr(msg, "date");
		fs = jstr(f->ident, "date");
		if (s && fs) {
			if (strcmp(s, fs))
				return -1;
			score += 2;
		}
		s = jstr(msg, "from");
		fs = jstr(f->ident, "from");
		if (s && fs) {
			if (strcmp(s, fs))
				return -1;
			score += 1;
		}
	}
	if (mail_from && f->mail_from && str_ieq(mail_from, f->mail_from))
		score += 2;
	if (rcpt && json_array_size(rcpt) > 0) {
		bool all = true;
		json_array_foreach(rcpt, i, r) {
			if (!array_has_str(f->rcpt, json_string_value(r)))
				all = false;
		}
		if (all && json_array_size(f->rcpt) > 0)
			score += 2;
	}
	if (user) {
		json_array_foreach(f->rcpt, i, r) {
			const char *a = json_string_value(r), *at = a ? strrchr(a, '@') : NULL;
			if (str_ieq(a, user) ||
			    (at && strlen(user) == (size_t)(at - a) && strncasecmp(a, user, (size_t)(at - a)) == 0)) {
				score += 2;
				break;
			}
		}
	}
	return score;
}

static void emit_flow(struct wt_mailflow *m, struct mf_flow *f, const char *end);

/* One way a copy can score against a flow, and the groups of the flows
 * that could give it (a recipient-user test has two keys, each key is
 * looked up in one or both partitions). */
struct mf_way {
	struct mf_group *g[4];
	size_t n_g;
	size_t size;
};

static void
way_add(struct wt_mailflow *m, struct mf_way *w, unsigned kind, const char *k, size_t n,
	bool with_id)
{
	struct mf_group *g = group_find(m, kind, k, n);
	if (g) {
		w->g[w->n_g++] = g;
		w->size += g->count;
	}
	if (with_id && (g = group_find(m, kind | K_HAS_ID, k, n)) != NULL) {
		w->g[w->n_g++] = g;
		w->size += g->count;
	}
}

static void
cand_add(struct wt_mailflow *m, struct mf_flow *f, size_t *n)
{
	if (f->stamp == m->stamp)
		return;
	f->stamp = m->stamp;
	if (*n == m->cap_cand) {
		size_t nc = m->cap_cand ? m->cap_cand * 2 : 64;
		struct mf_flow **t = realloc(m->cand, nc * sizeof *t);
		if (!t)
			return;
		m->cand = t;
		m->cap_cand = nc;
	}
	m->cand[(*n)++] = f;
}

/*
 * Finds (or makes) the flow a copy of a message belongs to.  Returns NULL
 * only when out of memory.
 *
 * The same as scanning every flow (first by Message-ID, then for the best
 * match_score, the newest among equals), through the indexes: a score of
 * MF_MIN_SCORE needs two of the ways below to give points (none gives more
 * than 4), so a flow that reaches it is filed under the keys of at least
 * two ways, and the union of the groups of all ways but the largest holds
 * every such flow.
 */
static struct mf_flow *
flow_for(struct wt_mailflow *m, json_t *msg, const char *mail_from, json_t *rcpt,
	 const char *user)
{
	const char *id = jstr(msg, "message_id");
	struct mf_flow *best = NULL, *f;
	int best_score = -1;
	struct mf_way ways[7];
	size_t n_ways = 0, i, j, skip = 0, n_cand = 0;
	bool with_id = id == NULL; /* flows with an ID are candidates too */

	if (id) {
		struct mf_group *g = group_find(m, K_ID, id, strlen(id));
		struct mf_member *x;
		for (x = g ? g->head : NULL; x; x = x->next)
			if (!best || x->flow->seq < best->seq)
				best = x->flow;
		if (best) {
			best->matched_by = "message-id";
			return best;
		}
	}

	memset(ways, 0, sizeof ways);
	{
		json_int_t bs = jint(msg, "body_size", -1);
		bool complete = !json_is_false(json_object_get(msg, "complete")) &&
				!json_is_true(json_object_get(msg, "truncated"));
		static const struct { const char *field; unsigned kind; } idf[] = {
			{"subject", K_SUBJECT}, {"date", K_DATE}, {"from", K_FROM}};
		const char *r0 = json_array_size(rcpt) > 0 ?
				 json_string_value(json_array_get(rcpt, 0)) : NULL;
		if (bs >= 0 && complete) {
			char k[32];
			int n = snprintf(k, sizeof k, "%lld", (long long)bs);
			way_add(m, &ways[n_ways++], K_BODY, k, (size_t)n, with_id);
		}
		for (i = 0; i < sizeof idf / sizeof idf[0]; i++) {
			const char *v = jstr(msg, idf[i].field);
			if (v)
				way_add(m, &ways[n_ways++], idf[i].kind, v, strlen(v), with_id);
		}
		if (mail_from)
			way_add(m, &ways[n_ways++], K_MAILFROM, mail_from, strlen(mail_from), with_id);
		if (r0)
			way_add(m, &ways[n_ways++], K_RCPT, r0, strlen(r0), with_id);
		if (user) {
			way_add(m, &ways[n_ways], K_RCPT, user, strlen(user), with_id);
			way_add(m, &ways[n_ways++], K_LOCAL, user, strlen(user), with_id);
		}
	}
	for (i = 1; i < n_ways; i++)
		if (ways[i].size > ways[skip].size)
			skip = i;
	m->stamp++;
	for (i = 0; i < n_ways; i++) {
		if (i == skip)
			continue;
		for (j = 0; j < ways[i].n_g; j++) {
			struct mf_member *x;
			for (x = ways[i].g[j]->head; x; x = x->next)
				cand_add(m, x->flow, &n_cand);
		}
	}
	for (i = 0; i < n_cand; i++) {
		int s;
		f = m->cand[i];
		/* Both have an ID and they differ: another message. */
		if (id && f->message_id)
			continue;
		s = match_score(f, msg, mail_from, rcpt, user);
		if (s >= MF_MIN_SCORE && (s > best_score || (s == best_score && f->seq > best->seq))) {
			best = f;
			best_score = s;
		}
	}
	if (best) {
		if (strcmp(best->matched_by, "message-id") != 0)
			best->matched_by = "envelope";
		return best;
	}
	if (m->n_flows >= MF_MAX_FLOWS) {
		/* Full: the oldest flow is told now rather than dropped. */
		if (m->evicted++ == 0)
			wt_warn(m->ctx, NULL, "mail", "MAIL_FLOW_CAP",
				"more than %d messages in flight: the oldest are reported early",
				MF_MAX_FLOWS);
		emit_flow(m, m->heap[0], "evicted");
	}
	f = flow_new(m);
	if (!f)
		return NULL;
	flows_link(m, f);
	return f;
}

/* Takes what a copy tells about the message into the flow. */
static void
flow_learn(struct wt_mailflow *m, struct mf_flow *f, json_t *msg, json_t *hop,
	   const char *mail_from, json_t *rcpt, double ts, double now)
{
	const char *id = jstr(msg, "message_id");
	json_t *recv = json_object_get(msg, "received"), *r;
	size_t i, k;

	if (id && !f->message_id) {
		f->message_id = json_string(id);
		if (f->message_id)
			index_flow(m, f); /* into the other partition */
	}
	for (k = 0; k < sizeof ident_keys / sizeof ident_keys[0]; k++) {
		json_t *v = json_object_get(msg, ident_keys[k]);
		if (json_is_string(v) && !json_is_string(json_object_get(f->ident, ident_keys[k]))) {
			json_object_set(f->ident, ident_keys[k], v);
			if (!strcmp(ident_keys[k], "subject"))
				index_str(m, f, K_SUBJECT, json_string_value(v));
			else if (!strcmp(ident_keys[k], "date"))
				index_str(m, f, K_DATE, json_string_value(v));
			else if (!strcmp(ident_keys[k], "from"))
				index_str(m, f, K_FROM, json_string_value(v));
		}
	}
	if (f->body_size < 0) {
		f->body_size = jint(msg, "body_size", -1);
		if (f->body_size >= 0)
			index_body(m, f);
	}
	{
		json_int_t sz = jint(msg, "size", -1);
		if (sz >= 0 && (f->size < 0 || sz < f->size))
			f->size = sz;
	}
	if (mail_from && !f->mail_from) {
		f->mail_from = strdup(mail_from);
		index_str(m, f, K_MAILFROM, f->mail_from);
	}
	json_array_foreach(rcpt, i, r) {
		if (json_is_string(r) && !array_has_str(f->rcpt, json_string_value(r)) &&
		    json_array_size(f->rcpt) < 256) {
			json_array_append(f->rcpt, r);
			index_rcpt(m, f, json_string_value(r));
		}
	}
	if (json_is_array(recv) &&
	    (!f->received || json_array_size(recv) > json_array_size(f->received))) {
		json_decref(f->received);
		f->received = json_deep_copy(recv);
		f->recv_first_frame = jint(hop, "first_frame", 0);
		f->recv_msg_frame = jint(hop, "message_frame", f->recv_first_frame);
	}
	if (!f->first_ts || ts < f->first_ts)
		f->first_ts = ts;
	/* Capture time when the record came (its session ended), or the
	 * record's own start when that is later (records built by hand). */
	f->touched = now > ts ? now : ts;
	heap_fix(m, f->heap_at);
}

/* ---- SMTP, POP3, IMAP records ---------------------------------------- */

/* The host name in the server's greeting ("220 mail.a.example ESMTP"). */
static json_t *
greeting_host(json_t *rec)
{
	size_t i;
	json_t *d;
	json_array_foreach(json_object_get(rec, "dialogue"), i, d) {
		const char *t = jstr(d, "text");
		if (!str_ieq(jstr(d, "from"), "server") || !t)
			continue;
		if (strncmp(t, "220", 3) == 0 && (t[3] == ' ' || t[3] == '-')) {
			const char *s = t + 4, *e = s;
			while (*e && *e != ' ')
				e++;
			return e > s ? json_stringn(s, (size_t)(e - s)) : json_null();
		}
		break;
	}
	return json_null();
}

/* The frame of the server's reply to the end of the message: the first
 * server line after the frame that completed the message. */
static json_t *
reply_frame(json_t *rec, json_t *data_frame)
{
	json_int_t df = json_integer_value(data_frame);
	size_t i;
	json_t *d;
	if (!json_is_integer(data_frame))
		return json_null();
	json_array_foreach(json_object_get(rec, "dialogue"), i, d) {
		if (str_ieq(jstr(d, "from"), "server") && jint(d, "frame", 0) > df &&
		    json_is_integer(json_object_get(d, "code")))
			return json_integer(jint(d, "frame", 0));
	}
	return json_null();
}

/* The queue id a server names in its final reply ("... queued as 4CA89A72EF0"). */
static json_t *
queue_id(const char *reply)
{
	const char *p = reply ? strstr(reply, "queued as ") : NULL, *e;
	if (!p)
		return json_null();
	p += strlen("queued as ");
	e = p;
	while (*e && !isspace((unsigned char)*e) && *e != ')' && *e != ';')
		e++;
	return e > p ? json_stringn(p, (size_t)(e - p)) : json_null();
}

static void
observe_smtp(struct wt_mailflow *m, json_t *rec)
{
	json_t *server = json_object_get(rec, "server"), *auth = json_object_get(rec, "auth");
	json_int_t port = jint(server, "port", 0);
	bool auth_ok = json_is_true(json_object_get(auth, "success"));
	int64_t stream = (int64_t)jint(rec, "stream", -1);
	size_t i;
	json_t *tx;

	json_array_foreach(json_object_get(rec, "transactions"), i, tx) {
		json_t *msg = json_object_get(tx, "message"), *hop, *rcpt, *rej, *r;
		const char *mail_from = jstr(tx, "mail_from");
		struct mf_flow *f;
		bool submission;
		size_t k;

		if (!json_is_object(msg))
			continue; /* no DATA/BDAT: no message travelled */
		/*
		 * Submission (RFC 6409): the user agent hands the message to
		 * its server, on 587 or 465 (RFC 8314), or on 25 after AUTH.
		 * A message with no Received field comes straight from its
		 * author too: every relaying server adds one (RFC 5321
		 * section 4.4).
		 */
		submission = port == 587 || port == 465 || auth_ok ||
			     json_array_size(json_object_get(msg, "received")) == 0;
		rcpt = json_deep_copy(json_object_get(tx, "rcpt_to"));
		if (!json_is_array(rcpt)) {
			json_decref(rcpt);
			rcpt = json_array();
		}
		hop = json_object();
		json_object_set_new(hop, "protocol", json_string("smtp"));
		json_object_set_new(hop, "role", json_string(submission ? "submission" : "relay"));
		json_object_set_new(hop, "client", jcopy(rec, "client"));
		json_object_set_new(hop, "server", jcopy(rec, "server"));
		json_object_set_new(hop, "first_frame", jcopy(rec, "first_frame"));
		json_object_set_new(hop, "last_frame", jcopy(rec, "last_frame"));
		json_object_set_new(hop, "ts", jcopy(rec, "ts"));
		json_object_set_new(hop, "stream", jcopy(rec, "stream"));
		json_object_set_new(hop, "message_frame", jcopy(tx, "data_frame"));
		json_object_set_new(hop, "reply_frame", reply_frame(rec, json_object_get(tx, "data_frame")));
		json_object_set_new(hop, "reply_code", jcopy(tx, "reply_code"));
		json_object_set_new(hop, "reply_text", jcopy(tx, "reply_text"));
		json_object_set_new(hop, "queue_id", queue_id(jstr(tx, "reply_text")));
		json_object_set_new(hop, "user", json_is_object(auth) ? jcopy(auth, "user") : json_null());
		json_object_set_new(hop, "auth", json_is_object(auth) ? jcopy(auth, "mechanism") : json_null());
		json_object_set_new(hop, "auth_success", json_is_object(auth) ? jcopy(auth, "success") : json_null());
		json_object_set_new(hop, "tls", json_boolean(json_is_true(json_object_get(rec, "tls"))));
		json_object_set_new(hop, "esmtp", json_boolean(json_is_true(json_object_get(rec, "esmtp"))));
		json_object_set_new(hop, "helo", jcopy(rec, "helo"));
		json_object_set_new(hop, "server_name", greeting_host(rec));
		json_object_set_new(hop, "mail_from", mail_from ? json_string(mail_from) : json_null());
		json_object_set(hop, "rcpt", rcpt);
		rej = json_array();
		json_array_foreach(json_object_get(tx, "rejected_rcpt"), k, r) {
			const char *a = json_is_string(r) ? json_string_value(r) : jstr(r, "address");
			if (a)
				json_array_append_new(rej, json_string(a));
		}
		json_object_set_new(hop, "rejected_rcpt", rej);
		json_object_set_new(hop, "size", jcopy(msg, "size"));

		f = flow_for(m, msg, mail_from, rcpt, NULL);
		if (!f) {
			json_decref(hop);
			json_decref(rcpt);
			continue;
		}
		/* The reply ends the transaction: only a 2xx means the server
		 * took responsibility for the recipients. */
		flow_learn(m, f, msg, hop, mail_from, is_2xx(json_object_get(tx, "reply_code")) ? rcpt : NULL,
			   jnum(rec, "ts"), now_of(m));
		attach_lookups(m, f, hop, stream, !submission);
		flow_add_hop(m, f, hop);
		json_decref(rcpt);
	}
}

static void
observe_retrieval(struct wt_mailflow *m, json_t *rec, const char *proto)
{
	const char *user = jstr(rec, "user");
	int64_t stream = (int64_t)jint(rec, "stream", -1);
	size_t i;
	json_t *e;

	if (!user)
		user = jstr(json_object_get(rec, "auth"), "user");
	json_array_foreach(json_object_get(rec, "messages"), i, e) {
		json_t *msg = json_object_get(e, "message"), *hop;
		const char *cmd = jstr(e, "command");
		struct mf_flow *f;

		if (!json_is_object(msg))
			continue;
		/* Headers only (IMAP BODY.PEEK[HEADER...], POP3 TOP) or a
		 * partial fetch: Bob's client listed the message, it did not
		 * read it. */
		if (json_is_true(json_object_get(e, "headers_only")) ||
		    json_is_true(json_object_get(e, "partial")) || str_ieq(cmd, "TOP"))
			continue;
		hop = json_object();
		json_object_set_new(hop, "protocol", json_string(proto));
		json_object_set_new(hop, "role", json_string("retrieval"));
		json_object_set_new(hop, "client", jcopy(rec, "client"));
		json_object_set_new(hop, "server", jcopy(rec, "server"));
		json_object_set_new(hop, "first_frame", jcopy(rec, "first_frame"));
		json_object_set_new(hop, "last_frame", jcopy(rec, "last_frame"));
		json_object_set_new(hop, "ts", jcopy(rec, "ts"));
		json_object_set_new(hop, "stream", jcopy(rec, "stream"));
		json_object_set_new(hop, "message_frame", jcopy(e, "frame"));
		json_object_set_new(hop, "command", cmd ? json_string(cmd) : json_null());
		json_object_set_new(hop, "number", json_is_integer(json_object_get(e, "number")) ? jcopy(e, "number") : jcopy(e, "seq"));
		json_object_set_new(hop, "user", user ? json_string(user) : json_null());
		json_object_set_new(hop, "tls", json_boolean(json_is_true(json_object_get(rec, "tls"))));
		json_object_set_new(hop, "size", jcopy(msg, "size"));

		f = flow_for(m, msg, NULL, NULL, user);
		if (!f) {
			json_decref(hop);
			continue;
		}
		flow_learn(m, f, msg, hop, NULL, NULL, jnum(rec, "ts"), now_of(m));
		f->retrieved = true;
		attach_lookups(m, f, hop, stream, false);
		flow_add_hop(m, f, hop);
	}
}

/* ---- emission ---------------------------------------------------------- */

static int
hop_cmp(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	json_int_t fx = jint(x, "first_frame", 0), fy = jint(y, "first_frame", 0);
	if (fx != fy)
		return fx < fy ? -1 : 1;
	fx = jint(x, "message_frame", 0);
	fy = jint(y, "message_frame", 0);
	return fx < fy ? -1 : fx > fy;
}

static bool
ip_eq(json_t *a, json_t *b)
{
	const char *x = jstr(a, "ip"), *y = jstr(b, "ip");
	return x && y && strcmp(x, y) == 0;
}

static bool
is_server_hop(json_t *h)
{
	const char *p = jstr(h, "protocol"), *r = jstr(h, "role");
	return p && !strcmp(p, "smtp") && r && strcmp(r, "submission") != 0;
}

/*
 * Relay or delivery.  A hop between servers is a relay; the hop that
 * carries the message on from a server a relay reached, and after which
 * nothing carries it further, is the delivery to the final server (a
 * gateway handing it to the mailbox server, by SMTP or LMTP).  A single
 * hop between servers stays a relay: the trace cannot tell whether the
 * server it reached is the last.
 */
static void
assign_roles(json_t *hops)
{
	size_t i, j, n = json_array_size(hops);
	for (i = 0; i < n; i++) {
		json_t *h = json_array_get(hops, i);
		bool from_relay = false, onward = false;
		if (!is_server_hop(h))
			continue;
		for (j = 0; j < n; j++) {
			json_t *g = json_array_get(hops, j);
			if (j == i || !is_server_hop(g))
				continue;
			if (j < i && ip_eq(json_object_get(g, "server"), json_object_get(h, "client")))
				from_relay = true;
			if (j > i && ip_eq(json_object_get(g, "client"), json_object_get(h, "server")))
				onward = true;
		}
		json_object_set_new(h, "role", json_string(from_relay && !onward ? "delivery" : "relay"));
	}
}

/* ---- Received: the path the message claims (RFC 5321 section 4.4) ---- */

/* Copies the next token of s (a word, or a parenthesised comment with
 * nesting) into out; returns the position after it, or NULL at the end. */
static const char *
next_token(const char *s, char *out, size_t cap, bool *comment)
{
	size_t n = 0;
	while (*s && isspace((unsigned char)*s))
		s++;
	if (!*s)
		return NULL;
	*comment = *s == '(';
	if (*comment) {
		int depth = 0;
		do {
			if (*s == '(')
				depth++;
			else if (*s == ')')
				depth--;
			if (n + 1 < cap)
				out[n++] = *s;
			s++;
		} while (*s && depth > 0);
	} else {
		while (*s && !isspace((unsigned char)*s) && *s != '(') {
			if (n + 1 < cap)
				out[n++] = *s;
			s++;
		}
	}
	out[n] = '\0';
	return s;
}

/* "(alice-laptop.a.example [127.0.0.11])" -> rdns name and address. */
static void
parse_tcp_info(const char *c, json_t *entry)
{
	const char *lb = strchr(c, '['), *rb = lb ? strchr(lb, ']') : NULL;
	const char *p = c + 1, *e;
	if (lb && rb && rb > lb + 1) {
		const char *ip = lb + 1;
		if (strncasecmp(ip, "IPv6:", 5) == 0)
			ip += 5;
		json_object_set_new(entry, "from_ip", json_stringn(ip, (size_t)(rb - ip)));
	}
	while (*p && isspace((unsigned char)*p))
		p++;
	e = p;
	while (*e && !isspace((unsigned char)*e) && *e != '[' && *e != ')')
		e++;
	if (e > p)
		json_object_set_new(entry, "from_rdns", json_stringn(p, (size_t)(e - p)));
}

static json_t *
parse_received(const char *v)
{
	json_t *e = json_object();
	const char *semi = strrchr(v, ';'), *s = v;
	char tok[512], key[8] = "";
	bool comment;
	size_t n;
	static const char *const keys[] = {"from", "by", "via", "with", "id", "for"};

	for (n = 0; n < sizeof keys / sizeof keys[0]; n++)
		json_object_set_new(e, keys[n], json_null());
	json_object_set_new(e, "from_ip", json_null());
	json_object_set_new(e, "from_rdns", json_null());
	while ((s = next_token(s, tok, sizeof tok, &comment)) && (!semi || s <= semi + 1)) {
		char *t = tok;
		size_t len = strlen(t);
		if (!comment && len && t[len - 1] == ';')
			t[--len] = '\0';
		if (comment) {
			if (!strcmp(key, "from"))
				parse_tcp_info(t, e);
			continue;
		}
		for (n = 0; n < sizeof keys / sizeof keys[0]; n++)
			if (strcasecmp(t, keys[n]) == 0)
				break;
		if (n < sizeof keys / sizeof keys[0]) {
			snprintf(key, sizeof key, "%s", keys[n]);
			continue;
		}
		if (key[0] && json_is_null(json_object_get(e, key)) && len) {
			if (!strcmp(key, "for") && t[0] == '<' && t[len - 1] == '>')
				json_object_set_new(e, key, json_stringn(t + 1, len - 2));
			else
				json_object_set_new(e, key, json_string(t));
		}
	}
	/* The record's field names, in the order a reader expects. */
	{
		static const char *const order[][2] = {
			{"from_host", "from"}, {"from_ip", "from_ip"}, {"from_rdns", "from_rdns"},
			{"by_host", "by"}, {"via", "via"}, {"with", "with"}, {"id", "id"},
			{"for", "for"}};
		json_t *o = json_object();
		for (n = 0; n < sizeof order / sizeof order[0]; n++)
			json_object_set(o, order[n][0], json_object_get(e, order[n][1]));
		json_decref(e);
		e = o;
	}
	if (semi) {
		char date[128];
		size_t k = 0;
		const char *p = semi + 1;
		bool sp = false;
		while (*p && isspace((unsigned char)*p))
			p++;
		for (; *p && k + 1 < sizeof date; p++) {
			if (isspace((unsigned char)*p)) {
				sp = true;
				continue;
			}
			if (sp && k)
				date[k++] = ' ';
			sp = false;
			if (k + 1 < sizeof date)
				date[k++] = *p;
		}
		date[k] = '\0';
		json_object_set_new(e, "date", json_string(date));
	} else {
		json_object_set_new(e, "date", json_null());
	}
	return e;
}

static void
differ(json_t *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
differ(json_t *d, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (json_array_size(d) < 64)
		json_array_append_new(d, wt_json_bytes((const uint8_t *)buf, strlen(buf)));
}

static const char *
s_or(json_t *o, const char *k, const char *dflt)
{
	const char *s = jstr(o, k);
	return s ? s : dflt;
}

/*
 * Sets the claimed path (oldest Received first) beside the SMTP hops the
 * trace shows.  Each server adds its Received field on top (RFC 5321
 * section 4.4), so the copy seen at hop k claims the hops before k; hops
 * are paired with claims by the client address the claim names.
 */
static void
compare_paths(struct mf_flow *f, json_t *hops, json_t *rec)
{
	json_t *claimed = json_array(), *diff = json_array(), *seen = json_array(), *h;
	json_int_t src_frame = f->recv_first_frame;
	size_t i, j, n;
	bool *paired;

	/* received[] is newest first: reverse into time order. */
	n = json_array_size(f->received);
	for (i = n; i-- > 0 && json_array_size(claimed) < MF_MAX_RECEIVED;) {
		const char *v = json_string_value(json_array_get(f->received, i));
		if (v)
			json_array_append_new(claimed, parse_received(v));
	}
	json_array_foreach(hops, i, h) {
		const char *p = jstr(h, "protocol");
		if (p && !strcmp(p, "smtp") && jint(h, "first_frame", 0) < src_frame)
			json_array_append(seen, h);
	}
	n = json_array_size(claimed);
	paired = calloc(n ? n : 1, sizeof *paired);
	json_array_foreach(seen, i, h) {
		const char *cip = jstr(json_object_get(h, "client"), "ip");
		json_t *c = NULL;
		const char *with, *helo, *sname, *qid, *cid, *cfor;
		for (j = n; j-- > 0;) {
			if (paired && !paired[j] && str_ieq(jstr(json_array_get(claimed, j), "from_ip"), cip)) {
				paired[j] = true;
				c = json_array_get(claimed, j);
				break;
			}
		}
		if (!c) {
			differ(diff, "the %s from %s to %s (frames %lld-%lld) is in no Received field of the copy seen later",
			       s_or(h, "role", "hop"), cip ? cip : "?",
			       s_or(json_object_get(h, "server"), "ip", "?"),
			       (long long)jint(h, "first_frame", 0), (long long)jint(h, "last_frame", 0));
			continue;
		}
		json_object_set_new(c, "seen_frame", json_integer(jint(h, "first_frame", 0)));
		helo = jstr(h, "helo");
		if (helo && jstr(c, "from_host") && !str_ieq(helo, jstr(c, "from_host")))
			differ(diff, "a Received field says %s introduced itself as %s, but in the trace it said HELO/EHLO %s",
			       cip, jstr(c, "from_host"), helo);
		sname = jstr(h, "server_name");
		if (sname && jstr(c, "by_host") && !str_ieq(sname, jstr(c, "by_host")))
			differ(diff, "a Received field names the receiving server %s, but it greeted as %s in the trace",
			       jstr(c, "by_host"), sname);
		qid = jstr(h, "queue_id");
		cid = jstr(c, "id");
		if (qid && cid && strcmp(qid, cid))
			differ(diff, "a Received field gives queue id %s, but the server replied \"queued as %s\" in frame %lld",
			       cid, qid, (long long)jint(h, "last_frame", 0));
		with = jstr(c, "with");
		if (with) {
			/* RFC 3848: ESMTPA authenticated, ESMTPS over TLS. */
			bool says_auth = strncasecmp(with, "ESMTP", 5) == 0 && strchr(with + 5, 'A');
			bool says_tls = strncasecmp(with, "ESMTP", 5) == 0 && (strchr(with + 5, 'S') || strchr(with + 5, 's'));
			bool did_auth = json_is_true(json_object_get(h, "auth_success"));
			bool did_tls = json_is_true(json_object_get(h, "tls"));
			if (says_auth != did_auth)
				differ(diff, "a Received field says \"with %s\" (%s), but the trace shows %s from %s",
				       with, says_auth ? "authenticated" : "not authenticated",
				       did_auth ? "a successful AUTH" : "no successful AUTH", cip);
			if (says_tls != did_tls)
				differ(diff, "a Received field says \"with %s\" (%s), but the trace shows %s from %s",
				       with, says_tls ? "over TLS" : "not over TLS",
				       did_tls ? "STARTTLS or TLS" : "plain text", cip);
		}
		cfor = jstr(c, "for");
		if (cfor && !array_has_str(json_object_get(h, "rcpt"), cfor))
			differ(diff, "a Received field says the message was for %s, not among the recipients accepted in frames %lld-%lld",
			       cfor, (long long)jint(h, "first_frame", 0), (long long)jint(h, "last_frame", 0));
	}
	for (j = 0; j < n; j++) {
		json_t *c = json_array_get(claimed, j);
		if (paired && paired[j])
			continue;
		differ(diff, "Received field %zu claims a hop from %s [%s] to %s that this capture does not show",
		       j + 1, s_or(c, "from_host", "?"), s_or(c, "from_ip", "?"), s_or(c, "by_host", "?"));
	}
	free(paired);
	json_object_set_new(rec, "claimed_path", claimed);
	json_object_set_new(rec, "claimed_path_from", f->recv_first_frame ?
			    json_integer(f->recv_msg_frame) : json_null());
	json_object_set_new(rec, "path_differences", diff);
	json_decref(seen);
}

static void
emit_flow(struct wt_mailflow *m, struct mf_flow *f, const char *end)
{
	json_t *rec = json_object(), *hops = f->hops, *h;
	size_t n = json_array_size(hops), i;
	json_t **v = n ? malloc(n * sizeof *v) : NULL;
	json_t *sorted = json_array();
	double first = 0, last = 0;

	for (i = 0; v && i < n; i++)
		v[i] = json_incref(json_array_get(hops, i));
	if (v)
		qsort(v, n, sizeof *v, hop_cmp);
	for (i = 0; v && i < n; i++)
		json_array_append_new(sorted, v[i]);
	free(v);
	assign_roles(sorted);
	json_array_foreach(sorted, i, h) {
		double t = jnum(h, "ts");
		if (i == 0 || t < first)
			first = t;
		if (t > last)
			last = t;
	}

	json_object_set_new(rec, "type", json_string("mail"));
	json_object_set_new(rec, "message_id", f->message_id ? json_incref(f->message_id) : json_null());
	for (i = 0; i < sizeof ident_keys / sizeof ident_keys[0]; i++) {
		json_t *x = json_object_get(f->ident, ident_keys[i]);
		json_object_set_new(rec, ident_keys[i], x ? json_incref(x) : json_null());
	}
	json_object_set_new(rec, "mail_from", f->mail_from ? json_string(f->mail_from) : json_null());
	json_object_set_new(rec, "rcpt_to", json_incref(f->rcpt));
	json_object_set_new(rec, "size", f->size >= 0 ? json_integer(f->size) : json_null());
	json_object_set_new(rec, "body_size", f->body_size >= 0 ? json_integer(f->body_size) : json_null());
	json_object_set_new(rec, "matched_by", json_string(n > 1 ? f->matched_by : "single-copy"));
	json_object_set_new(rec, "retrieved", json_boolean(f->retrieved));
	json_object_set_new(rec, "end", json_string(end));
	json_object_set_new(rec, "ts", json_real(first));
	json_object_set_new(rec, "duration", json_real(last - first));
	json_object_set_new(rec, "hops", sorted);
	json_object_set_new(rec, "hops_dropped", json_integer((json_int_t)f->hops_dropped));
	compare_paths(f, sorted, rec);

	flows_unlink(m, f);
	flow_free(f);
	wt_emit(m->ctx, rec);
}

/* ---- the analyzer's face ---------------------------------------------- */

struct wt_mailflow *
wt_mailflow_new(wt_ctx_t *ctx)
{
	struct wt_mailflow *m = calloc(1, sizeof *m);
	if (!m)
		return NULL;
	m->ctx = ctx;
	return m;
}

void
wt_mailflow_observe(struct wt_mailflow *m, json_t *rec)
{
	const char *type = jstr(rec, "type");
	if (!m || !type)
		return;
	if (!strcmp(type, "smtp"))
		observe_smtp(m, rec);
	else if (!strcmp(type, "pop3"))
		observe_retrieval(m, rec, "pop3");
	else if (!strcmp(type, "imap"))
		observe_retrieval(m, rec, "imap");
	else if (!strcmp(type, "dns"))
		observe_dns(m, rec);
}

void
wt_mailflow_expire(struct wt_mailflow *m, const wt_time_t *now)
{
	double t = wt_time_to_double(now);
	struct mf_flow *f, *next;
	if (!m)
		return;
	for (f = m->head; f; f = next) {
		next = f->next;
		if (f->retrieved && t - f->touched >= MF_LINGER)
			emit_flow(m, f, "retrieved");
		else if (t - f->touched >= MF_IDLE)
			emit_flow(m, f, "timeout");
	}
}

void
wt_mailflow_finish(struct wt_mailflow *m)
{
	if (!m)
		return;
	/* In the order the messages were first seen: the list's. */
	while (m->head)
		emit_flow(m, m->head, m->head->retrieved ? "retrieved" : "eof");
	if (m->evicted > 1)
		wt_warn(m->ctx, NULL, "mail", "MAIL_FLOW_CAP",
			"%llu messages were reported early because too many were in flight",
			(unsigned long long)m->evicted);
}

void
wt_mailflow_free(struct wt_mailflow *m)
{
	size_t i;
	if (!m)
		return;
	while (m->head) {
		struct mf_flow *f = m->head;
		flows_unlink(m, f);
		flow_free(f);
	}
	for (i = 0; i < MF_DNS_RING; i++)
		lookup_clear(&m->ring[i]);
	free(m->index);
	free(m->cand);
	free(m);
}
