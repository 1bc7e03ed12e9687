/* \summary: resolution chains: DNS transactions grouped into one "resolution" per question a client asked */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "analyze/dns_tx_msg.h"
#include "analyze/story.h"
#include "core/ctx_int.h"
#include "core/record.h"

/*
 * Input: the "dns" transaction records (one per query/response pair),
 * which arrive when the response is seen (or when the query times out).
 * A resolver's upstream queries therefore arrive BEFORE the client query
 * they serve, since the resolver answers its client last.  So every
 * transaction becomes a node that waits, as a "root", to be claimed:
 *
 *  - when a recursive transaction T arrives (the querier asked with RD=1
 *    and the server answered with RA=1, or never answered), T claims the
 *    waiting roots whose querier is T's server and whose query lies
 *    between T's query and T's response (frame numbers, which are exact),
 *    provided their question is relevant to T's: the same name or an
 *    ancestor of it (QNAME minimisation, RFC 9156), a CNAME target
 *    (RFC 1034 3.6.2), a name server named in a referral of the chain
 *    (glue-less delegations, RFC 1034 4.3.2 step 4), or a DS/DNSKEY of an
 *    enclosing zone (DNSSEC validation, RFC 4035 5);
 *  - a query that timed out arrives seconds later, so it looks for the
 *    recursive transaction that was waiting around it instead;
 *  - a TCP retry after a truncated UDP answer (RFC 7766 5) is linked to
 *    the UDP transaction by the "tc_retry" field of the dns record.
 *
 * A root that nobody can claim any more is a question of its own: a
 * recursive one becomes a resolution, a non-recursive one joins the open
 * "iterated" chain of its querier (dig +trace, dig +norecurse by hand) or
 * starts one.  Server roles and zones come from what the trace shows
 * (referrals, glue, AA answers, SOA and NS records) and are learnt as
 * records pass, in bounded tables.
 *
 * Streaming: a root is released the moment no transaction still to come
 * can join its tree.  Every way of joining is known, so the transaction
 * layer (dns_tx.c) is asked whether a query that could is still waiting
 * for its answer (wt_dnstx_pending_query):
 *  - a recursive query to the root's querier, sent before the root's
 *    query, may claim it when its answer (or timeout) comes;
 *  - a query sent by a recursive server of the tree while it worked for
 *    its client, for a name of the chain, may time out and be attached
 *    (find_claimer); the server's unrelated queries do not hold it;
 *  - a truncated answer whose TCP retry is coming ("retried_over_tcp":
 *    the transaction layer holds the UDP record until the retry
 *    completes, and the TCP record follows it at once).
 * A query leaves the waiting state only through a "dns" record, so the
 * roots are looked at again when one arrives (those it may concern).
 * A client's question answered at once is thus reported with its answer;
 * one whose resolver is still waiting upstream, when the last upstream
 * answer or timeout arrives.  As a guard, nothing is held longer than
 * max_hold (three DNS timeouts) after it arrived.
 *
 * Iterated chains end with the final answer to their question.  One that
 * stops short (a referral or a CNAME not followed, a timeout) is closed
 * when its client has no query outstanding and WT_RS_ITER_GAP has passed
 * since its last step completed: an automatic client (dig +trace,
 * nslookup) sends its next step within milliseconds of the previous
 * answer, and looks up name server addresses in between (outstanding
 * queries, which keep the chain open).  Steps typed by hand further
 * apart than that make separate chains.
 *
 * Bounded memory: at most WT_RS_MAX_NODES transactions wait; past that
 * the oldest question is emitted early and counted.
 */

#define WT_RS_MAX_NODES 32768
#define WT_RS_BUCKETS 1024
#define WT_RS_ITER_GAP 3.0     /* max pause after a step of an iterated chain */
#define WT_RS_MAX_OPEN_ITER 256
#define WT_RS_MAX_ITER_STEPS 128
#define WT_RS_MAX_NAMES 64     /* names followed per chain */
#define WT_RS_ADDR_ZONES 4096  /* learnt (address, zone) pairs */
#define WT_RS_NS_ZONES 4096    /* learnt (name server, zone) pairs */
#define WT_RS_HOSTS 4096       /* learnt (name, address) pairs */
#define WT_RS_SERVERS 2048     /* per address: seen querying, forwarding */
#define WT_RS_DONE 2048        /* questions resolved, for "cached_from" */
#define WT_RS_MAX_DEPTH 24     /* nesting of claims (forwarders of forwarders) */
#define WT_NAME_MAX 256
#define WT_IP_MAX 48

typedef struct node {
	json_t *rec;       /* the dns record (a reference) */
	struct node *parent;
	struct node *kids, *last_kid, *sibling;
	struct node *rprev, *rnext; /* roots list, arrival order */
	struct node *bprev, *bnext; /* roots bucket by querier address */
	struct node *sprev, *snext; /* recursive nodes by server address */
	bool in_sbucket;
	unsigned height;   /* of its subtree: 1 for a leaf */
	bool is_root;
	char cip[WT_IP_MAX], sip[WT_IP_MAX];
	const char *qname, *qtype; /* inside rec */
	double q, r, arrival;
	double done;       /* when the querier had its answer or gave up */
	uint64_t qframe, rframe;   /* rframe 0: unanswered */
	uint64_t arrival_frame;    /* frames captured when it arrived */
	unsigned mark;     /* settle(): already a candidate */
	bool await_tcp;    /* truncated; its TCP retry's record comes next */
	bool rtype;        /* a recursive question (RD=1, RA=1 or no answer) */
	bool unanswered;
	bool tcp_retry;    /* the TCP retry of a truncated UDP answer */
	const char *purpose; /* why it is nested in its parent, or NULL */
	size_t subtree;    /* nodes in this subtree (roots only accurate) */
} node_t;

typedef struct addr_zone {
	char ip[WT_IP_MAX];
	char zone[WT_NAME_MAX];
} addr_zone_t;

typedef struct ns_zone {
	char ns[WT_NAME_MAX];
	char zone[WT_NAME_MAX];
} ns_zone_t;

typedef struct host {
	char name[WT_NAME_MAX];
	char ip[WT_IP_MAX];
} host_t;

typedef struct server {
	char ip[WT_IP_MAX];
	bool querier;   /* seen sending queries */
	bool forwards;  /* seen sending recursive queries for its clients */
	bool recursive; /* seen answering RD=1 queries with RA=1 */
} server_t;

typedef struct done {
	char ip[WT_IP_MAX]; /* the resolver that did the work */
	char qname[WT_NAME_MAX];
	char qtype[16];
	uint64_t first_frame;
	char root_qname[WT_NAME_MAX];
	char root_qtype[16];
} done_t;

typedef struct iter {
	bool used;
	char cip[WT_IP_MAX];
	char target[WT_NAME_MAX]; /* the name now being resolved */
	char qname[WT_NAME_MAX];  /* the question (longest name asked) */
	char qtype[16];
	node_t *steps[WT_RS_MAX_ITER_STEPS];
	size_t n;
	double last_done; /* the latest step's answer (or timeout) */
} iter_t;

typedef struct names {
	const char *main[WT_RS_MAX_NAMES]; /* the question and CNAME targets */
	size_t n_main;
	const char *ns[WT_RS_MAX_NAMES];   /* name servers of referrals */
	size_t n_ns;
} names_t;

struct wt_resolve {
	wt_ctx_t *ctx;
	double grace; /* the DNS transaction timeout plus a margin */
	double max_hold; /* guard: no root waits longer after it arrived */
	unsigned epoch;  /* settle() marks */
	node_t *roots, *roots_tail;
	node_t *bucket[WT_RS_BUCKETS];
	node_t *sbucket[WT_RS_BUCKETS]; /* recursive nodes, by server address */
	size_t n_nodes;
	iter_t iters[WT_RS_MAX_OPEN_ITER];
	addr_zone_t *az;
	size_t n_az, az_next;
	ns_zone_t *nz;
	size_t n_nz, nz_next;
	host_t *hosts;
	size_t n_hosts, hosts_next;
	server_t *servers;
	size_t n_servers, servers_next;
	done_t *done;
	size_t n_done, done_next;
	uint64_t forced, iter_dropped, emitted;
	bool warned_cap, warned_iter;
};

/* ---- names ----------------------------------------------------------- */

static bool
name_eq(const char *a, const char *b)
{
	return a && b && strcasecmp(a, b) == 0;
}

/* Is a equal to n or an ancestor of it?  Names are as dig prints them:
 * no trailing dot, the root is ".". */
static bool
ancestor_or_self(const char *a, const char *n)
{
	size_t la, ln;
	if (!a || !n)
		return false;
	if (strcmp(a, ".") == 0)
		return true;
	la = strlen(a);
	ln = strlen(n);
	if (la > ln)
		return false;
	if (la == ln)
		return strcasecmp(a, n) == 0;
	return n[ln - la - 1] == '.' && strcasecmp(n + ln - la, a) == 0;
}

static size_t
label_count(const char *n)
{
	size_t c = 1;
	if (!n || strcmp(n, ".") == 0 || !*n)
		return 0;
	for (; *n; n++)
		if (*n == '.')
			c++;
	return c;
}

static void
copy_str(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

static const char *
jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static bool
jbool(json_t *o, const char *k)
{
	return json_is_true(json_object_get(o, k));
}

static double
jnum(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

static uint64_t
jframe(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_integer(v) && json_integer_value(v) > 0
		       ? (uint64_t)json_integer_value(v) : 0;
}

static const char *
ep_ip(json_t *rec, const char *k)
{
	return jstr(json_object_get(rec, k), "ip");
}

/* ---- learnt tables (rings with linear search: small and bounded) ----- */

static void
learn_addr_zone(struct wt_resolve *r, const char *ip, const char *zone)
{
	size_t i;
	if (!ip || !zone)
		return;
	for (i = 0; i < r->n_az; i++)
		if (strcmp(r->az[i].ip, ip) == 0 && name_eq(r->az[i].zone, zone))
			return;
	copy_str(r->az[r->az_next].ip, WT_IP_MAX, ip);
	copy_str(r->az[r->az_next].zone, WT_NAME_MAX, zone);
	r->az_next = (r->az_next + 1) % WT_RS_ADDR_ZONES;
	if (r->n_az < WT_RS_ADDR_ZONES)
		r->n_az++;
}

/* The deepest zone served at ip that is an ancestor of name (or the name
 * itself when self_ok). */
static const char *
zone_of(struct wt_resolve *r, const char *ip, const char *name, bool self_ok)
{
	const char *best = NULL;
	size_t i, bl = 0;
	for (i = 0; i < r->n_az; i++) {
		const char *z = r->az[i].zone;
		size_t l;
		if (strcmp(r->az[i].ip, ip) != 0 || !ancestor_or_self(z, name))
			continue;
		if (!self_ok && name_eq(z, name))
			continue;
		l = strcmp(z, ".") == 0 ? 0 : label_count(z);
		if (!best || l > bl) {
			best = z;
			bl = l;
		}
	}
	return best;
}

static void
learn_ns_zone(struct wt_resolve *r, const char *ns, const char *zone)
{
	size_t i;
	for (i = 0; i < r->n_nz; i++)
		if (name_eq(r->nz[i].ns, ns) && name_eq(r->nz[i].zone, zone))
			return;
	copy_str(r->nz[r->nz_next].ns, WT_NAME_MAX, ns);
	copy_str(r->nz[r->nz_next].zone, WT_NAME_MAX, zone);
	r->nz_next = (r->nz_next + 1) % WT_RS_NS_ZONES;
	if (r->n_nz < WT_RS_NS_ZONES)
		r->n_nz++;
}

static void
learn_host(struct wt_resolve *r, const char *name, const char *ip)
{
	size_t i;
	for (i = 0; i < r->n_hosts; i++)
		if (name_eq(r->hosts[i].name, name) && strcmp(r->hosts[i].ip, ip) == 0)
			return;
	copy_str(r->hosts[r->hosts_next].name, WT_NAME_MAX, name);
	copy_str(r->hosts[r->hosts_next].ip, WT_IP_MAX, ip);
	r->hosts_next = (r->hosts_next + 1) % WT_RS_HOSTS;
	if (r->n_hosts < WT_RS_HOSTS)
		r->n_hosts++;
	/* A name server's address serves the zones it is named for. */
	for (i = 0; i < r->n_nz; i++)
		if (name_eq(r->nz[i].ns, name))
			learn_addr_zone(r, ip, r->nz[i].zone);
}

static server_t *
server_get(struct wt_resolve *r, const char *ip, bool create)
{
	size_t i;
	server_t *s;
	if (!ip)
		return NULL;
	for (i = 0; i < r->n_servers; i++)
		if (strcmp(r->servers[i].ip, ip) == 0)
			return &r->servers[i];
	if (!create)
		return NULL;
	s = &r->servers[r->servers_next];
	memset(s, 0, sizeof *s);
	copy_str(s->ip, WT_IP_MAX, ip);
	r->servers_next = (r->servers_next + 1) % WT_RS_SERVERS;
	if (r->n_servers < WT_RS_SERVERS)
		r->n_servers++;
	return s;
}

/* ---- reading a dns record ------------------------------------------- */

static bool
is_ns_rr(json_t *rr)
{
	return name_eq(jstr(rr, "type"), "NS");
}

static bool
is_addr_rr(json_t *rr)
{
	const char *t = jstr(rr, "type");
	return name_eq(t, "A") || name_eq(t, "AAAA");
}

/* A referral (RFC 1034 4.3.2 step 3b): no answer, not authoritative, NS
 * records of a delegated zone in the authority section.  Returns the zone. */
static const char *
referral_zone(json_t *rec)
{
	json_t *auth, *rr;
	size_t i;
	const char *rc = jstr(rec, "rcode");
	if (jframe(rec, "response_frame") == 0 || !rc || strcmp(rc, "NOERROR") != 0)
		return NULL;
	if (jbool(json_object_get(rec, "flags"), "aa") ||
	    json_array_size(json_object_get(rec, "answers")) > 0)
		return NULL;
	auth = json_object_get(rec, "authority");
	json_array_foreach(auth, i, rr)
		if (is_ns_rr(rr) && jstr(rr, "name"))
			return jstr(rr, "name");
	return NULL;
}

/* Follows the CNAME records of the answer section from name; returns the
 * final target (name itself when there is none).  Bounded by the section. */
static const char *
cname_target(json_t *answers, const char *name)
{
	size_t hops, i, n = json_array_size(answers);
	json_t *rr;
	for (hops = 0; hops < n; hops++) {
		bool moved = false;
		json_array_foreach(answers, i, rr) {
			if (name_eq(jstr(rr, "type"), "CNAME") &&
			    name_eq(jstr(rr, "name"), name) && jstr(rr, "data")) {
				name = jstr(rr, "data");
				moved = true;
				break;
			}
		}
		if (!moved)
			break;
	}
	return name;
}

/* The outcome of one step, from its response. */
static const char *
outcome_of(json_t *rec, bool *truncated)
{
	const char *rc = jstr(rec, "rcode");
	const char *qname = jstr(rec, "qname"), *qtype = jstr(rec, "qtype");
	json_t *answers = json_object_get(rec, "answers"), *rr;
	const char *target;
	size_t i;

	*truncated = false;
	if (jframe(rec, "response_frame") == 0)
		return "timeout";
	if (rc && strcmp(rc, "NXDOMAIN") == 0)
		return "nxdomain";
	if (!rc || strcmp(rc, "NOERROR") != 0)
		return "error";
	if (json_array_size(answers) == 0) {
		if (jbool(json_object_get(rec, "flags"), "tc")) {
			/* RFC 2181 9: an empty truncated answer says nothing. */
			*truncated = true;
			return "error";
		}
		return referral_zone(rec) ? "referral" : "nodata";
	}
	target = cname_target(answers, qname);
	json_array_foreach(answers, i, rr) {
		const char *t = jstr(rr, "type");
		if (name_eq(jstr(rr, "name"), target) &&
		    (name_eq(t, qtype) || name_eq(qtype, "ANY") ||
		     (name_eq(t, "CNAME") && !name_eq(target, qname))))
			if (!name_eq(t, "CNAME") || name_eq(qtype, "CNAME"))
				return "answer";
	}
	if (!name_eq(target, qname))
		return "cname";
	return "answer";
}

/* Learns zones, name servers and addresses from one record. */
static void
learn(struct wt_resolve *r, json_t *rec, const char *cip, const char *sip)
{
	json_t *flags = json_object_get(rec, "flags");
	json_t *auth = json_object_get(rec, "authority");
	json_t *add = json_object_get(rec, "additional");
	json_t *answers = json_object_get(rec, "answers"), *rr;
	const char *zone, *qname = jstr(rec, "qname");
	server_t *s;
	size_t i;

	s = server_get(r, cip, true);
	if (s)
		s->querier = true;
	if (jframe(rec, "response_frame") == 0)
		return;
	s = server_get(r, sip, true);
	if (s && jbool(flags, "ra") &&
	    jbool(json_object_get(rec, "query_flags"), "rd"))
		s->recursive = true;

	zone = referral_zone(rec);
	if (zone) {
		json_array_foreach(auth, i, rr)
			if (is_ns_rr(rr) && name_eq(jstr(rr, "name"), zone) && jstr(rr, "data"))
				learn_ns_zone(r, jstr(rr, "data"), zone);
		/* Whoever refers to a one-label zone serves the root. */
		if (label_count(zone) == 1)
			learn_addr_zone(r, sip, ".");
	}
	if (jbool(flags, "aa")) {
		const char *z = NULL;
		json_array_foreach(auth, i, rr)
			if (name_eq(jstr(rr, "type"), "SOA") || is_ns_rr(rr)) {
				z = jstr(rr, "name");
				break;
			}
		if (!z)
			json_array_foreach(answers, i, rr)
				if ((name_eq(jstr(rr, "type"), "SOA") || is_ns_rr(rr)) &&
				    name_eq(jstr(rr, "name"), qname)) {
					z = qname;
					break;
				}
		if (z && ancestor_or_self(z, qname))
			learn_addr_zone(r, sip, z);
		/* An authoritative NS set names the zone's servers too. */
		json_array_foreach(auth, i, rr)
			if (is_ns_rr(rr) && jstr(rr, "name") && jstr(rr, "data"))
				learn_ns_zone(r, jstr(rr, "data"), jstr(rr, "name"));
		json_array_foreach(answers, i, rr)
			if (is_ns_rr(rr) && jstr(rr, "name") && jstr(rr, "data"))
				learn_ns_zone(r, jstr(rr, "data"), jstr(rr, "name"));
	}
	json_array_foreach(answers, i, rr)
		if (is_addr_rr(rr) && jstr(rr, "name") && jstr(rr, "data"))
			learn_host(r, jstr(rr, "name"), jstr(rr, "data"));
	json_array_foreach(add, i, rr)
		if (is_addr_rr(rr) && jstr(rr, "name") && jstr(rr, "data"))
			learn_host(r, jstr(rr, "name"), jstr(rr, "data"));
}

/* ---- nodes ----------------------------------------------------------- */

static uint32_t
ip_hash(const char *ip)
{
	uint32_t h = 2166136261u;
	for (; *ip; ip++) {
		h ^= (uint8_t)*ip;
		h *= 16777619u;
	}
	return h % WT_RS_BUCKETS;
}

static void
root_link(struct wt_resolve *r, node_t *n)
{
	uint32_t b = ip_hash(n->cip);
	n->is_root = true;
	n->parent = NULL;
	n->rprev = r->roots_tail;
	n->rnext = NULL;
	if (r->roots_tail)
		r->roots_tail->rnext = n;
	else
		r->roots = n;
	r->roots_tail = n;
	n->bprev = NULL;
	n->bnext = r->bucket[b];
	if (r->bucket[b])
		r->bucket[b]->bprev = n;
	r->bucket[b] = n;
}

static void
root_unlink(struct wt_resolve *r, node_t *n)
{
	if (!n->is_root)
		return;
	if (n->rprev)
		n->rprev->rnext = n->rnext;
	else
		r->roots = n->rnext;
	if (n->rnext)
		n->rnext->rprev = n->rprev;
	else
		r->roots_tail = n->rprev;
	if (n->bprev)
		n->bprev->bnext = n->bnext;
	else
		r->bucket[ip_hash(n->cip)] = n->bnext;
	if (n->bnext)
		n->bnext->bprev = n->bprev;
	n->rprev = n->rnext = n->bprev = n->bnext = NULL;
	n->is_root = false;
}

static node_t *
root_of(node_t *n)
{
	while (n->parent)
		n = n->parent;
	return n;
}

static void
add_kid(node_t *parent, node_t *kid)
{
	node_t *p;
	unsigned h = kid->height;
	kid->parent = parent;
	kid->sibling = NULL;
	if (parent->last_kid)
		parent->last_kid->sibling = kid;
	else
		parent->kids = kid;
	parent->last_kid = kid;
	for (p = parent; p; p = p->parent) {
		p->subtree += kid->subtree;
		if (p->height < h + 1)
			p->height = h + 1;
		h = p->height;
	}
}

static void
sbucket_link(struct wt_resolve *r, node_t *n)
{
	uint32_t b = ip_hash(n->sip);
	n->sprev = NULL;
	n->snext = r->sbucket[b];
	if (r->sbucket[b])
		r->sbucket[b]->sprev = n;
	r->sbucket[b] = n;
	n->in_sbucket = true;
}

static void
sbucket_unlink(struct wt_resolve *r, node_t *n)
{
	if (!n->in_sbucket)
		return;
	if (n->sprev)
		n->sprev->snext = n->snext;
	else
		r->sbucket[ip_hash(n->sip)] = n->snext;
	if (n->snext)
		n->snext->sprev = n->sprev;
	n->in_sbucket = false;
}

static unsigned
depth_of(const node_t *n)
{
	unsigned d = 1;
	while (n->parent) {
		n = n->parent;
		d++;
	}
	return d;
}

static void
free_tree(struct wt_resolve *r, node_t *n)
{
	node_t *k = n->kids, *next;
	sbucket_unlink(r, n);
	while (k) {
		next = k->sibling;
		free_tree(r, k);
		k = next;
	}
	json_decref(n->rec);
	r->n_nodes--;
	free(n);
}

/* Names a chain follows: the question, CNAME targets, and the name
 * servers of its referrals (walks the subtree). */
static void
names_add(const char **arr, size_t *n, const char *s)
{
	size_t i;
	if (!s)
		return;
	for (i = 0; i < *n; i++)
		if (name_eq(arr[i], s))
			return;
	if (*n < WT_RS_MAX_NAMES)
		arr[(*n)++] = s;
}

static void
collect_names(node_t *n, names_t *nm, bool top)
{
	json_t *answers = json_object_get(n->rec, "answers"), *rr;
	const char *zone;
	node_t *k;
	size_t i;

	if (top || !n->purpose)
		names_add(nm->main, &nm->n_main, n->qname);
	json_array_foreach(answers, i, rr)
		if (name_eq(jstr(rr, "type"), "CNAME") && jstr(rr, "data"))
			names_add(n->purpose ? nm->ns : nm->main,
				  n->purpose ? &nm->n_ns : &nm->n_main, jstr(rr, "data"));
	zone = referral_zone(n->rec);
	if (zone)
		json_array_foreach(json_object_get(n->rec, "authority"), i, rr)
			if (is_ns_rr(rr) && name_eq(jstr(rr, "name"), zone))
				names_add(nm->ns, &nm->n_ns, jstr(rr, "data"));
	for (k = n->kids; k; k = k->sibling)
		collect_names(k, nm, false);
}

static bool
is_dnssec_type(const char *t)
{
	return name_eq(t, "DS") || name_eq(t, "DNSKEY");
}

/* Is a question (qname, qtype) part of the work for the chain whose names are nm?
 * Sets *purpose (NULL for the main line of the chain). */
static bool
relevant_q(const char *qname, const char *qtype, const names_t *nm,
	   const node_t *claimer, const char **purpose)
{
	size_t i;
	if (is_dnssec_type(qtype) &&
	    !(name_eq(qname, claimer->qname) && name_eq(qtype, claimer->qtype))) {
		for (i = 0; i < nm->n_main; i++)
			if (ancestor_or_self(qname, nm->main[i]))
				goto dnssec;
		for (i = 0; i < nm->n_ns; i++)
			if (ancestor_or_self(qname, nm->ns[i]))
				goto dnssec;
		return false;
	dnssec:
		*purpose = "dnssec";
		return true;
	}
	for (i = 0; i < nm->n_main; i++)
		if (ancestor_or_self(qname, nm->main[i])) {
			*purpose = NULL;
			return true;
		}
	for (i = 0; i < nm->n_ns; i++)
		if (ancestor_or_self(qname, nm->ns[i])) {
			*purpose = "ns-address";
			return true;
		}
	return false;
}

static bool
relevant(const node_t *c, const names_t *nm, const node_t *claimer, const char **purpose)
{
	return relevant_q(c->qname, c->qtype, nm, claimer, purpose);
}

static int
cmp_node_q(const void *a, const void *b)
{
	const node_t *x = *(node_t *const *)a, *y = *(node_t *const *)b;
	if (x->qframe != y->qframe)
		return x->qframe < y->qframe ? -1 : 1;
	return 0;
}

/* Does c's query fall inside t's wait for its answer? */
static bool
in_window(const node_t *t, const node_t *c)
{
	if (c->qframe <= t->qframe)
		return false;
	if (t->rframe)
		return c->qframe < t->rframe;
	return c->q <= t->arrival;
}

/* A recursive transaction t claims its server's waiting work. */
static void
claim(struct wt_resolve *r, node_t *t)
{
	node_t *cand[512], *c, *top = root_of(t);
	size_t n = 0, i;
	unsigned depth = depth_of(t);
	names_t nm;

	for (c = r->bucket[ip_hash(t->sip)]; c && n < 512; c = c->bnext)
		if (c != top && strcmp(c->cip, t->sip) == 0 && in_window(t, c) &&
		    depth + c->height <= WT_RS_MAX_DEPTH)
			cand[n++] = c;
	if (!n)
		return;
	qsort(cand, n, sizeof *cand, cmp_node_q);
	for (i = 0; i < n; i++) {
		const char *purpose;
		memset(&nm, 0, sizeof nm);
		collect_names(t, &nm, true);
		if (!relevant(cand[i], &nm, t, &purpose))
			continue;
		root_unlink(r, cand[i]);
		cand[i]->purpose = purpose;
		add_kid(t, cand[i]);
		if (cand[i]->rtype) {
			server_t *s = server_get(r, t->sip, true);
			if (s)
				s->forwards = true;
		}
	}
}

/* For a query that timed out: the recursive transaction it served (the
 * innermost one, latest query first). */
static node_t *
find_claimer(struct wt_resolve *r, node_t *c)
{
	node_t *n, *best = NULL;
	for (n = r->sbucket[ip_hash(c->cip)]; n; n = n->snext) {
		names_t nm;
		const char *purpose;
		if (strcmp(n->sip, c->cip) != 0 || !in_window(n, c) ||
		    (best && n->qframe <= best->qframe) || depth_of(n) >= WT_RS_MAX_DEPTH)
			continue;
		memset(&nm, 0, sizeof nm);
		collect_names(n, &nm, true);
		if (relevant(c, &nm, n, &purpose))
			best = n;
	}
	return best;
}

static node_t *
find_by_qframe(node_t *n, const char *cip, uint64_t qframe)
{
	node_t *k, *f;
	if (n->qframe == qframe && strcmp(n->cip, cip) == 0)
		return n;
	for (k = n->kids; k; k = k->sibling)
		if ((f = find_by_qframe(k, cip, qframe)))
			return f;
	return NULL;
}

/* ---- output ---------------------------------------------------------- */

static const char *
parent_zone(const char *z, char *buf, size_t cap)
{
	const char *dot = strchr(z, '.');
	if (!dot || !dot[1])
		return ".";
	copy_str(buf, cap, dot + 1);
	return buf;
}

/* Real root servers' IPv4 addresses, used only as a hint when the trace
 * itself does not show what a server is. */
static bool
root_hint(const char *ip)
{
	static const char *const roots[] = {
		"198.41.0.4", "170.247.170.2", "199.9.14.201", "192.33.4.12",
		"199.7.91.13", "192.203.230.10", "192.5.5.241", "192.112.36.4",
		"198.97.190.53", "192.36.148.17", "192.58.128.30", "193.0.14.129",
		"199.7.83.42", "202.12.27.33"};
	size_t i;
	for (i = 0; i < sizeof roots / sizeof roots[0]; i++)
		if (strcmp(ip, roots[i]) == 0)
			return true;
	return false;
}

static void
role_zone(struct wt_resolve *r, node_t *n, const char **role, const char **zone,
	  char *buf, size_t cap)
{
	json_t *rec = n->rec, *rr;
	const char *ref = referral_zone(rec);
	bool aa = n->rframe && jbool(json_object_get(rec, "flags"), "aa");
	size_t i;
	server_t *s;

	*zone = NULL;
	if (n->rtype) {
		s = server_get(r, n->sip, false);
		*role = s && s->forwards ? "forwarder" : "recursive resolver";
		return;
	}
	if (ref) {
		*zone = zone_of(r, n->sip, ref, false);
		if (!*zone)
			*zone = parent_zone(ref, buf, cap);
	} else if (aa) {
		json_array_foreach(json_object_get(rec, "authority"), i, rr)
			if ((name_eq(jstr(rr, "type"), "SOA") || is_ns_rr(rr)) &&
			    ancestor_or_self(jstr(rr, "name"), n->qname)) {
				*zone = jstr(rr, "name");
				break;
			}
		if (!*zone)
			*zone = zone_of(r, n->sip, n->qname, true);
	} else {
		*zone = zone_of(r, n->sip, n->qname, true);
	}
	if (*zone && strcmp(*zone, ".") == 0)
		*role = "root";
	else if (*zone && label_count(*zone) == 1)
		*role = "tld";
	else if (*zone || aa)
		*role = "authoritative";
	else if (root_hint(n->sip)) {
		*role = "root";
		*zone = "."; /* what a root server serves */
	}
	else
		*role = "unknown";
}

static json_t *
referral_json(struct wt_resolve *r, json_t *rec, const char *zone)
{
	json_t *o = json_object(), *nss = json_array(), *rr, *rr2;
	size_t i, j;
	json_array_foreach(json_object_get(rec, "authority"), i, rr) {
		const char *ns = jstr(rr, "data");
		json_t *e, *addrs;
		if (!is_ns_rr(rr) || !name_eq(jstr(rr, "name"), zone) || !ns)
			continue;
		e = json_object();
		addrs = json_array();
		/* Glue first (RFC 1034 4.2.1), then addresses learnt since. */
		json_array_foreach(json_object_get(rec, "additional"), j, rr2)
			if (is_addr_rr(rr2) && name_eq(jstr(rr2, "name"), ns))
				json_array_append_new(addrs, json_string(jstr(rr2, "data")));
		if (json_array_size(addrs) == 0)
			for (j = 0; j < r->n_hosts; j++)
				if (name_eq(r->hosts[j].name, ns))
					json_array_append_new(addrs, json_string(r->hosts[j].ip));
		json_object_set_new(e, "name", json_string(ns));
		json_object_set_new(e, "addresses", addrs);
		json_object_set_new(e, "glue", json_boolean(false));
		json_array_foreach(json_object_get(rec, "additional"), j, rr2)
			if (is_addr_rr(rr2) && name_eq(jstr(rr2, "name"), ns))
				json_object_set_new(e, "glue", json_true());
		json_array_append_new(nss, e);
	}
	json_object_set_new(o, "zone", json_string(zone));
	json_object_set_new(o, "nameservers", nss);
	return o;
}

static json_t *
copy_or_null(json_t *rec, const char *k)
{
	json_t *v = json_object_get(rec, k);
	return v ? json_deep_copy(v) : json_null();
}

static json_t *
step_json(struct wt_resolve *r, node_t *n)
{
	json_t *s = json_object(), *rec = n->rec;
	const char *role, *zone, *outcome, *ref;
	char buf[WT_NAME_MAX];
	bool truncated;

	role_zone(r, n, &role, &zone, buf, sizeof buf);
	outcome = outcome_of(rec, &truncated);
	json_object_set_new(s, "querier", copy_or_null(rec, "client"));
	json_object_set_new(s, "server", copy_or_null(rec, "server"));
	json_object_set_new(s, "role", json_string(role));
	json_object_set_new(s, "zone", zone ? json_string(zone) : json_null());
	json_object_set_new(s, "rd", json_boolean(jbool(json_object_get(rec, "query_flags"), "rd")));
	json_object_set_new(s, "outcome", json_string(outcome));
	json_object_set_new(s, "query_frame", json_integer((json_int_t)n->qframe));
	json_object_set_new(s, "response_frame",
			    n->rframe ? json_integer((json_int_t)n->rframe) : json_null());
	json_object_set_new(s, "rtt", copy_or_null(rec, "rtt"));
	json_object_set_new(s, "ts", json_real(n->q));
	json_object_set_new(s, "transport", copy_or_null(rec, "transport"));
	json_object_set_new(s, "qname", json_string(n->qname));
	json_object_set_new(s, "qtype", json_string(n->qtype));
	json_object_set_new(s, "rcode", copy_or_null(rec, "rcode"));
	json_object_set_new(s, "aa", json_boolean(n->rframe &&
				jbool(json_object_get(rec, "flags"), "aa")));
	if (truncated)
		json_object_set_new(s, "truncated", json_true());
	ref = strcmp(outcome, "referral") == 0 ? referral_zone(rec) : NULL;
	if (ref)
		json_object_set_new(s, "referral", referral_json(r, rec, ref));
	if (strcmp(outcome, "cname") == 0)
		json_object_set_new(s, "cname", json_string(
			cname_target(json_object_get(rec, "answers"), n->qname)));
	if (n->purpose) {
		json_object_set_new(s, "nested", json_true());
		json_object_set_new(s, "purpose", json_string(n->purpose));
	}
	if (n->tcp_retry) {
		json_object_set_new(s, "tcp_retry", json_true());
		json_object_set_new(s, "retry_of", copy_or_null(rec, "tc_retry"));
	}
	if (json_integer_value(json_object_get(rec, "retransmissions")) > 0)
		json_object_set_new(s, "retransmissions",
				    copy_or_null(rec, "retransmissions"));
	return s;
}

static void
flatten(node_t *n, node_t **out, size_t *k, size_t cap)
{
	node_t *c;
	if (*k < cap)
		out[(*k)++] = n;
	for (c = n->kids; c; c = c->sibling)
		flatten(c, out, k, cap);
}

/* The final client-facing transaction: the last TCP retry, if any. */
static node_t *
final_of(node_t *root)
{
	node_t *f = root, *k;
	for (;;) {
		node_t *next = NULL;
		for (k = f->kids; k; k = k->sibling)
			if (k->tcp_retry && strcmp(k->cip, f->cip) == 0)
				next = k;
		if (!next)
			return f;
		f = next;
	}
}

static void
remember_done(struct wt_resolve *r, const char *ip, const char *qname,
	      const char *qtype, uint64_t first_frame, const char *rq,
	      const char *rt)
{
	done_t *d = &r->done[r->done_next];
	copy_str(d->ip, WT_IP_MAX, ip);
	copy_str(d->qname, WT_NAME_MAX, qname);
	copy_str(d->qtype, sizeof d->qtype, qtype);
	copy_str(d->root_qname, WT_NAME_MAX, rq);
	copy_str(d->root_qtype, sizeof d->root_qtype, rt);
	d->first_frame = first_frame;
	r->done_next = (r->done_next + 1) % WT_RS_DONE;
	if (r->n_done < WT_RS_DONE)
		r->n_done++;
}

static const done_t *
find_done(struct wt_resolve *r, const char *ip, const char *qname, const char *qtype)
{
	size_t k;
	for (k = 0; k < r->n_done; k++) {
		size_t i = (r->done_next + WT_RS_DONE - 1 - k) % WT_RS_DONE;
		if (strcmp(r->done[i].ip, ip) == 0 && name_eq(r->done[i].qname, qname) &&
		    name_eq(r->done[i].qtype, qtype))
			return &r->done[i];
	}
	return NULL;
}

static void
note(json_t *notes, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
note(json_t *notes, const char *fmt, ...)
{
	char b[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b, sizeof b, fmt, ap);
	va_end(ap);
	json_array_append_new(notes, json_string(b));
}

/* Builds and emits one resolution from the nodes in time order; frees
 * nothing.  root: the client's first transaction (recursive) or NULL for
 * an iterated chain given as steps. */
static void
emit_resolution(struct wt_resolve *r, node_t *root, node_t **steps, size_t n,
		const char *iter_qname)
{
	json_t *rec = json_object(), *jsteps = json_array(), *notes = json_array();
	node_t *first = steps[0], *final, *k;
	const char *method, *kind;
	uint64_t first_frame = UINT64_MAX, last_frame = 0;
	bool upstream_rd = false, upstream_iter = false;
	double end = NAN;
	size_t i;

	for (i = 0; i < n; i++) {
		json_array_append_new(jsteps, step_json(r, steps[i]));
		if (steps[i]->qframe < first_frame)
			first_frame = steps[i]->qframe;
		if (steps[i]->rframe > last_frame)
			last_frame = steps[i]->rframe;
		if (steps[i]->qframe > last_frame)
			last_frame = steps[i]->qframe;
	}
	json_object_set_new(rec, "type", json_string("resolution"));
	if (root) {
		final = final_of(root);
		for (k = root->kids; k; k = k->sibling) {
			if (k->tcp_retry)
				continue;
			if (k->rtype)
				upstream_rd = true;
			else
				upstream_iter = true;
		}
		for (k = final != root ? final->kids : NULL; k; k = k->sibling) {
			if (k->tcp_retry)
				continue;
			if (k->rtype)
				upstream_rd = true;
			else
				upstream_iter = true;
		}
		kind = "recursive";
		if (upstream_rd)
			method = "forwarded";
		else if (upstream_iter)
			method = "iterated";
		else if (!final->rframe)
			method = "unseen"; /* no answer: nothing says it had one cached */
		else {
			server_t *s = server_get(r, root->sip, false);
			method = s && s->querier ? "cache" : "unseen";
		}
		json_object_set_new(rec, "qname", json_string(root->qname));
		json_object_set_new(rec, "qtype", json_string(root->qtype));
		json_object_set_new(rec, "client", copy_or_null(root->rec, "client"));
		json_object_set_new(rec, "kind", json_string(kind));
		json_object_set_new(rec, "resolver", copy_or_null(root->rec, "server"));
		json_object_set_new(rec, "resolver_method", json_string(method));
	} else {
		final = steps[n - 1];
		kind = "iterated";
		method = "iterated";
		json_object_set_new(rec, "qname", json_string(iter_qname));
		json_object_set_new(rec, "qtype", json_string(first->qtype));
		json_object_set_new(rec, "client", copy_or_null(first->rec, "client"));
		json_object_set_new(rec, "kind", json_string(kind));
		json_object_set_new(rec, "resolver", json_null());
		json_object_set_new(rec, "resolver_method", json_string(method));
	}
	json_object_set_new(rec, "steps", jsteps);
	json_object_set_new(rec, "answers", final->rframe
		? json_deep_copy(json_object_get(final->rec, "answers")) : json_array());
	json_object_set_new(rec, "rcode", final->rframe ? copy_or_null(final->rec, "rcode")
							: json_null());
	if (final->rframe)
		end = jnum(final->rec, "response_ts");
	json_object_set_new(rec, "duration", isnan(end) ? json_null()
				: json_real(end - first->q > 0 ? end - first->q : 0));
	json_object_set_new(rec, "ts", json_real(first->q));
	json_object_set_new(rec, "first_frame", json_integer((json_int_t)first_frame));
	json_object_set_new(rec, "last_frame", json_integer((json_int_t)last_frame));

	/* What a student should know about how it was resolved. */
	if (root && strcmp(method, "unseen") == 0 && final->rframe)
		note(notes, "the resolver's own work is not in this capture "
		     "(captured on the client's side, or answered from a cache "
		     "filled before the capture)");
	if (root && strcmp(method, "cache") == 0) {
		const done_t *d = find_done(r, root->sip, root->qname, root->qtype);
		if (d) {
			json_object_set_new(rec, "cached_from", json_pack(
				"{s:I,s:s,s:s}", "first_frame", (json_int_t)d->first_frame,
				"qname", d->root_qname, "qtype", d->root_qtype));
			note(notes, "answered from %s's cache, filled by the "
			     "resolution of %s %s starting at frame %llu", root->sip,
			     d->root_qname, d->root_qtype,
			     (unsigned long long)d->first_frame);
		} else {
			note(notes, "answered from %s's cache (no upstream query in "
			     "between; filled before the capture started)", root->sip);
		}
	}
	if (root && strcmp(method, "forwarded") == 0)
		note(notes, "the server forwarded the question to another "
		     "recursive server (RD=1) instead of iterating itself");
	if (root && strcmp(method, "iterated") == 0) {
		/* The first non-nested iterative step: where the resolver began. */
		for (i = 0; i < n; i++) {
			const char *role, *zone;
			char buf[WT_NAME_MAX];
			if (steps[i]->rtype || steps[i]->purpose)
				continue;
			role_zone(r, steps[i], &role, &zone, buf, sizeof buf);
			if (zone && strcmp(zone, ".") != 0)
				note(notes, "the resolver started at the servers of %s: "
				     "it knew that delegation from its cache", zone);
			break;
		}
	}
	if (!root) {
		server_t *s = server_get(r, first->cip, false);
		if (s && (s->recursive || s->forwards))
			note(notes, "no client question in the capture asked for this: "
			     "the resolver's own lookup (a name server's address, a "
			     "DNSSEC key, a prefetch) or its client's query was not "
			     "captured");
		else
			note(notes, "the client followed the referrals itself "
			     "(non-recursive queries)");
	}
	for (i = 0; i < n; i++)
		if (!steps[i]->rframe && steps[i] != final) {
			note(notes, "some queries got no answer (timeout): the "
			     "querier tried again, or another server");
			break;
		}
	for (i = 0; i < n; i++) {
		bool truncated;
		outcome_of(steps[i]->rec, &truncated);
		if (truncated) {
			note(notes, "an answer did not fit in UDP (TC=1): the query "
			     "was asked again over TCP (RFC 7766)");
			break;
		}
	}
	if (!root && strcmp(outcome_of(final->rec, &(bool){false}), "cname") == 0)
		note(notes, "the client stopped at a CNAME and did not follow it");
	if (final->rframe == 0)
		note(notes, "no answer was seen: the client never got an answer "
		     "(the server did not answer in time, or its answer was not "
		     "captured)");
	json_object_set_new(rec, "notes", notes);

	/* For later cache hits. */
	if (root)
		remember_done(r, root->sip, root->qname, root->qtype, first_frame,
			      root->qname, root->qtype);
	for (i = 0; i < n; i++)
		if (steps[i] != root)
			remember_done(r, steps[i]->cip, steps[i]->qname, steps[i]->qtype,
				      first_frame, root ? root->qname : iter_qname,
				      first->qtype);
	r->emitted++;
	wt_emit(r->ctx, rec);
}

static void
emit_recursive(struct wt_resolve *r, node_t *root)
{
	node_t *buf[1024];
	size_t n = 0;
	flatten(root, buf, &n, 1024);
	qsort(buf, n, sizeof *buf, cmp_node_q);
	emit_resolution(r, root, buf, n, NULL);
	free_tree(r, root);
}

/* ---- iterated chains ------------------------------------------------- */

static void
iter_emit(struct wt_resolve *r, iter_t *it)
{
	node_t *buf[1024];
	size_t n = 0, i;
	for (i = 0; i < it->n; i++)
		flatten(it->steps[i], buf, &n, 1024);
	qsort(buf, n, sizeof *buf, cmp_node_q);
	if (n)
		emit_resolution(r, NULL, buf, n, it->qname);
	for (i = 0; i < it->n; i++)
		free_tree(r, it->steps[i]);
	it->used = false;
	it->n = 0;
}

static bool
final_outcome(node_t *n)
{
	bool truncated;
	const char *o = outcome_of(n->rec, &truncated);
	return strcmp(o, "referral") != 0 && strcmp(o, "cname") != 0 &&
	       strcmp(o, "timeout") != 0 && !truncated;
}

static void
iter_add(struct wt_resolve *r, node_t *n)
{
	iter_t *it = NULL;
	size_t i;
	bool truncated;
	const char *o;

	for (i = 0; i < WT_RS_MAX_OPEN_ITER; i++) {
		iter_t *c = &r->iters[i];
		if (!c->used || strcmp(c->cip, n->cip) != 0 ||
		    n->q - c->last_done > WT_RS_ITER_GAP)
			continue;
		if (!ancestor_or_self(n->qname, c->target) &&
		    !ancestor_or_self(c->target, n->qname))
			continue;
		if (name_eq(n->qtype, c->qtype) ||
		    (is_dnssec_type(n->qtype) && ancestor_or_self(n->qname, c->target))) {
			if (!name_eq(n->qtype, c->qtype))
				n->purpose = "dnssec";
			it = c;
			break;
		}
	}
	if (!it) {
		for (i = 0; i < WT_RS_MAX_OPEN_ITER && r->iters[i].used; i++)
			;
		if (i == WT_RS_MAX_OPEN_ITER) {
			/* Full: the chain idle longest goes out as it is. */
			size_t j, old = 0;
			for (j = 1; j < WT_RS_MAX_OPEN_ITER; j++)
				if (r->iters[j].last_done < r->iters[old].last_done)
					old = j;
			iter_emit(r, &r->iters[old]);
			i = old;
		}
		it = &r->iters[i];
		memset(it, 0, sizeof *it);
		it->used = true;
		copy_str(it->cip, WT_IP_MAX, n->cip);
		copy_str(it->target, WT_NAME_MAX, n->qname);
		copy_str(it->qname, WT_NAME_MAX, n->qname);
		copy_str(it->qtype, sizeof it->qtype, n->qtype);
	}
	if (it->n == WT_RS_MAX_ITER_STEPS) {
		r->iter_dropped++;
		free_tree(r, n);
		return;
	}
	it->steps[it->n++] = n;
	if (!(it->last_done >= n->done))
		it->last_done = n->done;
	/* QNAME minimisation asks shorter names first: the question is the
	 * longest name on the way down. */
	if (!n->purpose && label_count(n->qname) > label_count(it->qname) &&
	    ancestor_or_self(it->qname, n->qname))
		copy_str(it->qname, WT_NAME_MAX, n->qname);
	o = outcome_of(n->rec, &truncated);
	if (strcmp(o, "cname") == 0 && name_eq(n->qname, it->target))
		copy_str(it->target, WT_NAME_MAX,
			 cname_target(json_object_get(n->rec, "answers"), n->qname));
	else if (!n->purpose && name_eq(n->qname, it->target) && final_outcome(n))
		iter_emit(r, it);
}

/* ---- the pipeline ---------------------------------------------------- */

static void
process_root(struct wt_resolve *r, node_t *n)
{
	root_unlink(r, n);
	if (n->rtype)
		emit_recursive(r, n);
	else
		iter_add(r, n);
}

static int
cmp_root(const void *a, const void *b)
{
	return cmp_node_q(a, b);
}

typedef struct waits_for {
	names_t nm;
	const node_t *m;
} waits_for_t;

/* Could a pending query for (qname, qtype) join m's work?  The test
 * find_claimer applies when it times out, on m's names as they are now
 * (they grow only when something joins, and the tree is then looked at
 * again). */
static bool
waits_for(void *user, const char *qname, const char *qtype)
{
	waits_for_t *w = user;
	const char *purpose;
	if (!qname || !qtype)
		return true; /* no question to judge by */
	return relevant_q(qname, qtype, &w->nm, w->m, &purpose);
}

/* Is something in m's subtree still waiting for a transaction to come:
 * a truncated answer for its TCP retry, or a recursive server for a query
 * it sent while it worked, for a name of its chain (find_claimer attaches
 * it when it times out)?  Unrelated queries the server has outstanding
 * at the same time do not hold the chain. */
static bool
tree_waits(struct wt_resolve *r, const node_t *m)
{
	const node_t *k;
	if (m->await_tcp)
		return true;
	if (m->rtype) {
		uint64_t hi = m->rframe ? m->rframe - 1 : m->arrival_frame;
		waits_for_t w;
		if (hi > m->qframe) {
			memset(&w, 0, sizeof w);
			w.m = m;
			collect_names((node_t *)m, &w.nm, true);
			if (wt_dnstx_pending_query(r->ctx->dnstx, m->sip, NULL, false,
						   m->qframe + 1, hi, INFINITY, waits_for, &w))
				return true;
		}
	}
	for (k = m->kids; k; k = k->sibling)
		if (tree_waits(r, k))
			return true;
	return false;
}

/* Can a transaction still to come join root n's tree? */
static bool
may_grow(struct wt_resolve *r, node_t *n)
{
	if (tree_waits(r, n))
		return true;
	/* A recursive query to n's querier sent before n's query may claim
	 * n (claim()) when it is answered or times out. */
	return n->qframe > 1 &&
	       wt_dnstx_pending_query(r->ctx->dnstx, NULL, n->cip, true, 0,
				      n->qframe - 1, INFINITY, NULL, NULL);
}

typedef struct cands {
	node_t **v;
	size_t n, cap;
} cands_t;

static void
cand_add(struct wt_resolve *r, cands_t *c, node_t *n)
{
	if (!n || !n->is_root || n->mark == r->epoch)
		return;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		node_t **g = realloc(c->v, cap * sizeof *g);
		if (!g)
			return; /* looked at again on the next record or tick */
		c->v = g;
		c->cap = cap;
	}
	n->mark = r->epoch;
	c->v[c->n++] = n;
}

/* Releases the candidates nothing can join any more, oldest question
 * first (as iterated chains are built in the order of their steps). */
static void
release(struct wt_resolve *r, cands_t *c, bool force)
{
	size_t i, k = 0;
	for (i = 0; i < c->n; i++)
		if (force || !may_grow(r, c->v[i]))
			c->v[k++] = c->v[i];
	if (k > 1)
		qsort(c->v, k, sizeof *c->v, cmp_root);
	for (i = 0; i < k; i++)
		process_root(r, c->v[i]);
	free(c->v);
	c->v = NULL;
	c->n = c->cap = 0;
}

/* A "dns" record from cip to sip, query frame qframe, arrived (n: its
 * node, or NULL): the roots that may have waited for it are looked at
 * again. */
static void
settle(struct wt_resolve *r, const char *cip, const char *sip, uint64_t qframe,
       node_t *n)
{
	cands_t c = {NULL, 0, 0};
	node_t *x;

	if (++r->epoch == 0)
		r->epoch = 1;
	if (n)
		cand_add(r, &c, root_of(n));
	/* It was a query to sip: sip's own later queries may have waited
	 * for it to claim them. */
	if (sip)
		for (x = r->bucket[ip_hash(sip)]; x; x = x->bnext)
			if (x->qframe > qframe && strcmp(x->cip, sip) == 0)
				cand_add(r, &c, x);
	/* It was a query from cip: chains in which cip worked as a
	 * recursive server while it was sent may have waited for it. */
	if (cip)
		for (x = r->sbucket[ip_hash(cip)]; x; x = x->snext)
			if (qframe > x->qframe &&
			    qframe <= (x->rframe ? x->rframe : x->arrival_frame) &&
			    strcmp(x->sip, cip) == 0)
				cand_add(r, &c, root_of(x));
	release(r, &c, false);
}

/* May a step still join the open iterated chain it? */
static bool
iter_may_grow(struct wt_resolve *r, iter_t *it, double now)
{
	double until = it->last_done + WT_RS_ITER_GAP;
	node_t *x;
	if (now <= until)
		return true;
	/* A query of its client sent in time, still waiting for its answer
	 * (or the client's recursive look-up of a name server's address). */
	if (wt_dnstx_pending_query(r->ctx->dnstx, it->cip, NULL, false, 0, UINT64_MAX,
				   until, NULL, NULL))
		return true;
	for (x = r->bucket[ip_hash(it->cip)]; x; x = x->bnext)
		if (strcmp(x->cip, it->cip) == 0 && !(x->q > until))
			return true;
	return false;
}

/* The clock moved: the guard on roots held too long, and iterated
 * chains that stopped short. */
static void
tick(struct wt_resolve *r, double now)
{
	cands_t c = {NULL, 0, 0};
	node_t *n;
	size_t i;

	if (++r->epoch == 0)
		r->epoch = 1;
	for (n = r->roots; n; n = n->rnext)
		if (now - n->arrival > r->max_hold)
			cand_add(r, &c, n);
	release(r, &c, true);
	for (i = 0; i < WT_RS_MAX_OPEN_ITER; i++)
		if (r->iters[i].used && !iter_may_grow(r, &r->iters[i], now))
			iter_emit(r, &r->iters[i]);
}

/* The end: everything, oldest question first. */
static void
flush_all(struct wt_resolve *r)
{
	cands_t c = {NULL, 0, 0};
	node_t *n;
	size_t i;

	if (++r->epoch == 0)
		r->epoch = 1;
	for (n = r->roots; n; n = n->rnext)
		cand_add(r, &c, n);
	release(r, &c, true);
	for (i = 0; i < WT_RS_MAX_OPEN_ITER; i++)
		if (r->iters[i].used)
			iter_emit(r, &r->iters[i]);
}

struct wt_resolve *
wt_resolve_new(wt_ctx_t *ctx)
{
	struct wt_resolve *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->ctx = ctx;
	r->grace = (ctx->opt.dns_timeout > 0 ? ctx->opt.dns_timeout : 5.0) + 1.0;
	r->max_hold = 3.0 * r->grace;
	r->az = calloc(WT_RS_ADDR_ZONES, sizeof *r->az);
	r->nz = calloc(WT_RS_NS_ZONES, sizeof *r->nz);
	r->hosts = calloc(WT_RS_HOSTS, sizeof *r->hosts);
	r->servers = calloc(WT_RS_SERVERS, sizeof *r->servers);
	r->done = calloc(WT_RS_DONE, sizeof *r->done);
	if (!r->az || !r->nz || !r->hosts || !r->servers || !r->done) {
		wt_resolve_free(r);
		return NULL;
	}
	return r;
}

void
wt_resolve_observe(struct wt_resolve *r, json_t *rec)
{
	const char *type = jstr(rec, "type"), *status, *cip, *sip, *op;
	json_t *qf, *tcr, *sport;
	node_t *n, *c, *target = NULL;

	if (!r || !type || strcmp(type, "dns") != 0)
		return;
	status = jstr(rec, "status");
	cip = ep_ip(rec, "client");
	sip = ep_ip(rec, "server");
	op = jstr(rec, "opcode");
	/* Multicast DNS and LLMNR resolve on the link, not in the hierarchy. */
	sport = json_object_get(json_object_get(rec, "server"), "port");
	if (!status || strcmp(status, "unsolicited") == 0 || !cip || !sip ||
	    !jstr(rec, "qname") || !jstr(rec, "qtype") || !op ||
	    strcmp(op, "QUERY") != 0 || !jframe(rec, "query_frame") ||
	    json_integer_value(sport) == 5353 || json_integer_value(sport) == 5355) {
		/* No step of a chain, but a query that was waiting has left
		 * the transaction layer: what waited on it may go. */
		if (status && strcmp(status, "unsolicited") != 0)
			settle(r, cip, sip, jframe(rec, "query_frame"), NULL);
		return;
	}

	learn(r, rec, cip, sip);

	if (r->n_nodes >= WT_RS_MAX_NODES && r->roots) {
		r->forced++;
		if (!r->warned_cap) {
			r->warned_cap = true;
			wt_warn(r->ctx, NULL, "resolution", "RESOLVE_CAP",
				"more than %d DNS transactions waiting to be grouped "
				"into resolution chains: the oldest are reported early",
				WT_RS_MAX_NODES);
		}
		process_root(r, r->roots);
	}

	n = calloc(1, sizeof *n);
	if (!n)
		return;
	n->rec = json_incref(rec);
	copy_str(n->cip, WT_IP_MAX, cip);
	copy_str(n->sip, WT_IP_MAX, sip);
	n->qname = jstr(rec, "qname");
	n->qtype = jstr(rec, "qtype");
	n->q = jnum(rec, "ts");
	n->qframe = jframe(rec, "query_frame");
	n->rframe = jframe(rec, "response_frame");
	n->unanswered = n->rframe == 0;
	n->r = n->rframe ? jnum(rec, "response_ts") : NAN;
	if (isnan(n->r) && n->rframe)
		n->r = n->q;
	n->arrival = wt_time_to_double(&r->ctx->now);
	if (n->arrival < n->q || !r->ctx->have_ts)
		n->arrival = n->rframe ? n->r : n->q + r->grace - 1.0;
	/* Frames captured so far bound the window of an unanswered server
	 * (in_window); without packets (records fed by hand), no bound. */
	n->arrival_frame = r->ctx->have_ts ? r->ctx->frame : UINT64_MAX;
	/* The querier gave up when the transaction layer did. */
	n->done = n->rframe ? n->r : n->q + r->grace - 1.0;
	n->await_tcp = json_is_object(json_object_get(rec, "retried_over_tcp"));
	n->subtree = 1;
	n->height = 1;
	r->n_nodes++;
	qf = json_object_get(rec, "query_flags");
	n->rtype = jbool(qf, "rd") &&
		   (n->unanswered || jbool(json_object_get(rec, "flags"), "ra"));
	if (n->rtype)
		sbucket_link(r, n);

	/* A TCP retry of a truncated answer belongs with the UDP exchange. */
	tcr = json_object_get(rec, "tc_retry");
	if (json_is_object(tcr)) {
		/* The truncated exchange is normally still a root (its claimer
		 * answers later): search the querier's roots only. */
		uint64_t qfr = jframe(tcr, "query_frame");
		for (c = r->bucket[ip_hash(cip)]; c && !target; c = c->bnext) {
			node_t *f;
			if (strcmp(c->cip, cip) != 0 || !(f = find_by_qframe(c, cip, qfr)))
				continue;
			f->await_tcp = false; /* its retry is here */
			if (depth_of(c) + c->height <= WT_RS_MAX_DEPTH)
				target = f;
			else
				break;
		}
	}
	if (target) {
		n->tcp_retry = true;
		add_kid(target, n);
	} else if (n->unanswered) {
		node_t *best = find_claimer(r, n);
		if (best) {
			const char *purpose = n->purpose;
			names_t nm;
			memset(&nm, 0, sizeof nm);
			collect_names(best, &nm, true);
			relevant(n, &nm, best, &purpose);
			n->purpose = purpose;
			add_kid(best, n);
		} else {
			root_link(r, n);
		}
	} else {
		root_link(r, n);
	}
	if (n->rtype)
		claim(r, n);
	settle(r, cip, sip, n->qframe, n);
}

void
wt_resolve_expire(struct wt_resolve *r, const wt_time_t *now)
{
	if (r)
		tick(r, wt_time_to_double(now));
}

void
wt_resolve_finish(struct wt_resolve *r)
{
	if (r)
		flush_all(r);
}

void
wt_resolve_free(struct wt_resolve *r)
{
	size_t i;
	if (!r)
		return;
	while (r->roots) {
		node_t *n = r->roots;
		root_unlink(r, n);
		free_tree(r, n);
	}
	for (i = 0; i < WT_RS_MAX_OPEN_ITER; i++) {
		size_t j;
		for (j = 0; j < r->iters[i].n; j++)
			free_tree(r, r->iters[i].steps[j]);
	}
	free(r->az);
	free(r->nz);
	free(r->hosts);
	free(r->servers);
	free(r->done);
	free(r);
}
