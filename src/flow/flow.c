/* \summary: the bidirectional flow table: one lookup per packet, "flow" records, caps and timeouts */
#include <stdlib.h>
#include <string.h>

#include "flow/flow_int.h"

/*
 * Every TCP and UDP packet costs one header parse and one hash lookup here.
 * Only flows that a dissector claimed (or that `follow` taps) are
 * reassembled; the rest are counted.  Flows come from a free list refilled
 * in slabs, so the per-packet path allocates only when a flow is created.
 *
 * Two idle lists (TCP and UDP) hold flows oldest-activity first, so expiry
 * and eviction are O(1) per flow.  A closed TCP connection (both FINs or a
 * RST) lingers a few seconds of capture time for its last ACKs, then its
 * "flow" record is emitted.
 */

#define SLAB 1024
#define CLOSED_LINGER 2.0 /* seconds a closed connection stays for late packets */

typedef struct idle_list {
	wt_flow_t *head, *tail;
} idle_list_t;

/*
 * Wireshark never ends a conversation, so its stream numbers never restart
 * for a pair of endpoints.  We end flows (timeouts, eviction, a closed
 * connection's linger) to bound memory; a tombstone remembers an ended
 * flow's stream number, orientation and sequence numbers, so that a late
 * packet of the same conversation continues it under the same number
 * instead of shifting every later stream.  Direct-mapped by hash: a
 * collision forgets the older one (bounded memory, counted nowhere: at
 * worst a number differs from Wireshark's).
 */
#define TOMBS 32768

typedef struct tomb {
	bool used;
	uint8_t ipproto;
	wt_endpoint_t ep[2];
	uint64_t stream;
	uint32_t base_seq[2];
	bool base_set[2];
	uint32_t next_seq[2];
	bool seq_known[2];
	bool closed;      /* it had closed (FIN both ways or RST) */
} tomb_t;

struct wt_flow_table {
	wt_ctx_t *ctx;
	wt_flow_t **buckets;
	uint32_t mask;
	size_t count;
	idle_list_t idle[3]; /* [0] TCP open, [1] UDP, [2] TCP closed */
	wt_flow_t *free_list;
	void **slabs;
	size_t n_slabs, cap_slabs;
	uint64_t next_stream[2];
	tomb_t *tombs;
};

static uint32_t
mix(uint32_t h, uint32_t v)
{
	h ^= v;
	h *= 0x9e3779b1u;
	return h ^ (h >> 15);
}

static uint32_t
addr_hash(const wt_addr_t *a)
{
	uint32_t w[4];
	memcpy(w, a->a, 16);
	return w[0] ^ w[1] ^ w[2] ^ w[3] ^ a->family;
}

/* Symmetric: both directions of a flow hash the same. */
static uint32_t
flow_hash(uint8_t proto, const wt_addr_t *s, uint16_t sp, const wt_addr_t *d,
	  uint16_t dp)
{
	uint32_t a = mix(addr_hash(s), sp), b = mix(addr_hash(d), dp);
	return mix(a ^ b, proto) ^ (a + b);
}

static bool
ep_eq(const wt_endpoint_t *e, const wt_addr_t *a, uint16_t port)
{
	return e->port == port && e->ip.family == a->family &&
	       memcmp(e->ip.a, a->a, 16) == 0;
}

struct wt_flow_table *
wt_flows_new(wt_ctx_t *ctx)
{
	struct wt_flow_table *t = calloc(1, sizeof *t);
	/* Start small and double as flows come (grow()): a table sized for
	 * the cap from the start would spread a few thousand live flows over
	 * megabytes of buckets, a cache miss per packet. */
	size_t nb = 4096;
	if (!t)
		return NULL;
	t->buckets = calloc(nb, sizeof *t->buckets);
	if (!t->buckets) {
		free(t);
		return NULL;
	}
	t->tombs = calloc(TOMBS, sizeof *t->tombs);
	if (!t->tombs) {
		free(t->buckets);
		free(t);
		return NULL;
	}
	t->mask = (uint32_t)(nb - 1);
	t->ctx = ctx;
	return t;
}

static wt_flow_t *
flow_alloc(struct wt_flow_table *t)
{
	wt_flow_t *f;
	if (!t->free_list) {
		wt_flow_t *slab;
		size_t i;
		if (t->n_slabs == t->cap_slabs) {
			size_t cap = t->cap_slabs ? t->cap_slabs * 2 : 16;
			void **s = realloc(t->slabs, cap * sizeof *s);
			if (!s)
				return NULL;
			t->slabs = s;
			t->cap_slabs = cap;
		}
		slab = malloc(SLAB * sizeof *slab);
		if (!slab)
			return NULL;
		t->slabs[t->n_slabs++] = slab;
		for (i = 0; i < SLAB; i++) {
			slab[i].hnext = t->free_list;
			t->free_list = &slab[i];
		}
	}
	f = t->free_list;
	t->free_list = f->hnext;
	memset(f, 0, sizeof *f);
	return f;
}

static void
idle_unlink(idle_list_t *l, wt_flow_t *f)
{
	if (f->lprev)
		f->lprev->lnext = f->lnext;
	else
		l->head = f->lnext;
	if (f->lnext)
		f->lnext->lprev = f->lprev;
	else
		l->tail = f->lprev;
	f->lprev = f->lnext = NULL;
}

static void
idle_push(idle_list_t *l, wt_flow_t *f)
{
	f->lprev = l->tail;
	f->lnext = NULL;
	if (l->tail)
		l->tail->lnext = f;
	else
		l->head = f;
	l->tail = f;
}

static idle_list_t *
idle_of(struct wt_flow_table *t, const wt_flow_t *f)
{
	return &t->idle[f->ipproto != 6 ? 1 : f->closed ? 2 : 0];
}

/* Ends the dissector's view of the flow (it emits its record). */
static void
close_dissector(wt_ctx_t *ctx, wt_flow_t *f, wt_end_t why)
{
	wt_pkt_t last;
	memset(&last, 0, sizeof last);
	last.frame = f->last_frame;
	last.ts = f->last_ts;
	if (f->reassemble && f->ipproto == 6)
		wt_tcp_flush(ctx, f, &last);
	if (!f->dis || f->dis_closed)
		return;
	f->dis_closed = true;
	if (f->dis->close)
		f->dis->close(f->dstate, why, &last);
	f->dstate = NULL;
}

static json_t *
pair(uint64_t a, uint64_t b)
{
	json_t *o = json_object();
	json_object_set_new(o, "to_server", json_integer((json_int_t)a));
	json_object_set_new(o, "to_client", json_integer((json_int_t)b));
	return o;
}

static void
emit_flow(wt_ctx_t *ctx, wt_flow_t *f, wt_end_t why)
{
	json_t *r = json_object();
	bool tcp = f->ipproto == 6;

	if (tcp && f->rst)
		why = WT_END_RST;
	else if (tcp && f->fin[0] && f->fin[1])
		why = WT_END_FIN;
	json_object_set_new(r, "type", json_string("flow"));
	json_object_set_new(r, "stream", json_integer((json_int_t)f->stream));
	json_object_set_new(r, "transport", json_string(tcp ? "tcp" : "udp"));
	json_object_set_new(r, "client", wt_json_endpoint(&f->ep[0]));
	json_object_set_new(r, "server", wt_json_endpoint(&f->ep[1]));
	json_object_set_new(r, "first_frame", json_integer((json_int_t)f->first_frame));
	json_object_set_new(r, "last_frame", json_integer((json_int_t)f->last_frame));
	json_object_set_new(r, "first_ts", wt_json_ts(&f->first_ts));
	json_object_set_new(r, "last_ts", wt_json_ts(&f->last_ts));
	json_object_set_new(r, "packets", pair(f->pkts[0], f->pkts[1]));
	json_object_set_new(r, "bytes", pair(f->bytes[0], f->bytes[1]));
	json_object_set_new(r, "payload_bytes", f->reassemble || !tcp ? pair(f->payload[0], f->payload[1]) : json_null());
	json_object_set_new(r, "end", json_string(wt_end_name(why)));
	json_object_set_new(r, "midstream", json_boolean(f->midstream));
	json_object_set_new(r, "continued", json_boolean(f->continued));
	json_object_set_new(r, "reassembled", json_boolean(tcp && f->reassemble));
	json_object_set_new(r, "gaps", tcp && f->reassemble ? json_integer((json_int_t)f->gaps) : json_null());
	json_object_set_new(r, "gap_bytes", tcp && f->reassemble ? json_integer((json_int_t)f->gap_bytes) : json_null());
	json_object_set_new(r, "protocol", f->dis ? json_string(f->dis->name) : json_null());
	wt_emit(ctx, r);
}

static void
bury(struct wt_flow_table *t, const wt_flow_t *f)
{
	tomb_t *g = &t->tombs[f->hash & (TOMBS - 1)];
	int d;
	g->used = true;
	g->ipproto = f->ipproto;
	g->ep[0] = f->ep[0];
	g->ep[1] = f->ep[1];
	g->stream = f->stream;
	g->closed = f->closed || f->rst;
	for (d = 0; d < 2; d++) {
		g->base_seq[d] = f->base_seq[d];
		g->base_set[d] = f->base_set[d];
		g->seq_known[d] = f->half[d] && f->half[d]->started;
		g->next_seq[d] = g->seq_known[d] ? f->half[d]->next_seq : 0;
	}
}

/* The tombstone of an ended flow between these endpoints, unless the
 * packet is a SYN that starts a new connection (another sequence number). */
static tomb_t *
exhume(struct wt_flow_table *t, uint32_t h, uint8_t proto, const wt_addr_t *s,
       uint16_t sp, const wt_addr_t *d, uint16_t dp, const uint32_t *syn_seq,
       int *dir)
{
	tomb_t *g = &t->tombs[h & (TOMBS - 1)];
	if (!g->used || g->ipproto != proto)
		return NULL;
	if (ep_eq(&g->ep[0], s, sp) && ep_eq(&g->ep[1], d, dp))
		*dir = 0;
	else if (ep_eq(&g->ep[1], s, sp) && ep_eq(&g->ep[0], d, dp))
		*dir = 1;
	else
		return NULL;
	if (syn_seq && g->base_set[*dir] && g->base_seq[*dir] != *syn_seq)
		return NULL;
	return g;
}

/* Removes a flow from the table: dissector closed, record emitted. */
static void
flow_end(struct wt_flow_table *t, wt_flow_t *f, wt_end_t why)
{
	wt_ctx_t *ctx = t->ctx;
	wt_flow_t **pp = &t->buckets[f->hash & t->mask];

	while (*pp && *pp != f)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = f->hnext;
	idle_unlink(idle_of(t, f), f);
	t->count--;

	close_dissector(ctx, f, why);
	emit_flow(ctx, f, why);
	if (why != WT_END_EOF)
		bury(t, f);
	wt_tcp_free(ctx, f);
	f->hnext = t->free_list;
	t->free_list = f;
}

static wt_flow_t *
flow_find(struct wt_flow_table *t, uint32_t h, uint8_t proto,
	  const wt_addr_t *s, uint16_t sp, const wt_addr_t *d, uint16_t dp,
	  int *dir)
{
	wt_flow_t *f;
	for (f = t->buckets[h & t->mask]; f; f = f->hnext) {
		if (f->hash != h || f->ipproto != proto)
			continue;
		if (ep_eq(&f->ep[0], s, sp) && ep_eq(&f->ep[1], d, dp)) {
			*dir = 0;
			return f;
		}
		if (ep_eq(&f->ep[1], s, sp) && ep_eq(&f->ep[0], d, dp)) {
			*dir = 1;
			return f;
		}
	}
	return NULL;
}

/* A flow found for a packet that comes after its idle timeout ends first,
 * exactly as the periodic expiry would have ended it: reading a file and
 * watching live give the same flows whatever the expiry's timing. */
static wt_flow_t *
unless_expired(struct wt_flow_table *t, wt_flow_t *f, const wt_pkt_t *pkt)
{
	double timeout;
	if (!f)
		return NULL;
	timeout = f->ipproto != 6 ? t->ctx->opt.udp_idle_timeout
	          : f->closed ? CLOSED_LINGER : t->ctx->opt.tcp_idle_timeout;
	if (wt_time_diff(&pkt->ts, &f->last_ts) < timeout)
		return f;
	if (!f->closed)
		wt_count(t->ctx, WT_C_FLOW_TIMEOUT, 1);
	flow_end(t, f, WT_END_TIMEOUT);
	return NULL;
}

/* Doubles the buckets when the table is 3/4 full (up to 2^24 buckets). */
static void
grow(struct wt_flow_table *t)
{
	size_t nb = (size_t)t->mask + 1;
	wt_flow_t **nbk;
	int l;
	if (t->count < nb - nb / 4 || nb >= ((size_t)1 << 24))
		return;
	nbk = calloc(nb * 2, sizeof *nbk);
	if (!nbk)
		return; /* longer chains, still correct */
	for (l = 0; l < 3; l++) {
		wt_flow_t *f;
		for (f = t->idle[l].head; f; f = f->lnext) {
			size_t b = f->hash & (nb * 2 - 1);
			f->hnext = nbk[b];
			nbk[b] = f;
		}
	}
	free(t->buckets);
	t->buckets = nbk;
	t->mask = (uint32_t)(nb * 2 - 1);
}

static wt_flow_t *
flow_create(struct wt_flow_table *t, uint32_t h, uint8_t proto,
	    const wt_addr_t *s, uint16_t sp, const wt_addr_t *d, uint16_t dp,
	    const wt_pkt_t *pkt, bool tcp_synack, bool midstream,
	    const uint32_t *syn_seq)
{
	wt_ctx_t *ctx = t->ctx;
	wt_flow_t *f;
	bool server_is_dst = true;
	int pi = proto == 6 ? 0 : 1, gdir = 0;
	tomb_t *g;

	if (t->count >= ctx->opt.max_flows) {
		/* Evict the flow idle the longest, TCP or UDP. */
		wt_flow_t *v = t->idle[2].head; /* closed ones first */
		wt_flow_t *a = t->idle[0].head, *b = t->idle[1].head;
		if (!v)
			v = !a ? b : !b ? a : (a->last_frame < b->last_frame ? a : b);
		if (v) {
			wt_count(ctx, WT_C_FLOW_EVICTED, 1);
			flow_end(t, v, WT_END_EVICTED);
		}
	}
	f = flow_alloc(t);
	if (!f)
		return NULL;
	f->hash = h;
	f->ipproto = proto;
	g = exhume(t, h, proto, s, sp, d, dp, syn_seq, &gdir);
	if (g) {
		/* A late packet of an ended conversation: same number, same
		 * orientation, reassembly resumes where it stopped. */
		int k;
		f->ep[0] = g->ep[0];
		f->ep[1] = g->ep[1];
		f->stream = g->stream;
		f->continued = true;
		for (k = 0; k < 2; k++) {
			f->base_seq[k] = g->base_seq[k];
			f->base_set[k] = g->base_set[k];
			f->resume_seq[k] = g->next_seq[k];
			f->resume[k] = g->seq_known[k];
		}
		g->used = false;
	} else if (tcp_synack) {
		f->ep[0].ip = *d;
		f->ep[0].port = dp;
		f->ep[1].ip = *s;
		f->ep[1].port = sp;
	} else {
		f->ep[0].ip = *s;
		f->ep[0].port = sp;
		f->ep[1].ip = *d;
		f->ep[1].port = dp;
	}
	if (!g)
		f->stream = t->next_stream[pi]++;
	f->midstream = midstream;
	f->first_frame = pkt->frame;
	f->first_ts = pkt->ts;
	grow(t);
	f->hnext = t->buckets[h & t->mask];
	t->buckets[h & t->mask] = f;
	idle_push(&t->idle[pi], f);
	t->count++;

	/* Late packets of a connection that had closed are counted, not
	 * dissected: the session was told already. */
	f->dis = g && g->closed ? NULL
	         : wt_dissector_find(ctx, proto, f->ep[0].port, f->ep[1].port,
				     &server_is_dst);
	f->dis_swap = f->dis && !server_is_dst;
	f->tapped = proto == 6 && ctx->tap &&
		    (ctx->tap_stream == UINT64_MAX || ctx->tap_stream == f->stream);
	f->reassemble = f->dis != NULL || f->tapped;
	if (f->dis) {
		wt_flow_info_t fi;
		memset(&fi, 0, sizeof fi);
		fi.client = f->ep[f->dis_swap ? 1 : 0];
		fi.server = f->ep[f->dis_swap ? 0 : 1];
		fi.ipproto = proto;
		fi.stream = f->stream;
		fi.first_frame = pkt->frame;
		fi.first_ts = pkt->ts;
		fi.midstream = midstream;
		f->dstate = f->dis->open ? f->dis->open(ctx, &fi) : NULL;
		if (!f->dstate)
			f->dis = NULL; /* could not allocate: count only */
		f->reassemble = f->dis != NULL || f->tapped;
	}
	return f;
}

static void
touch(struct wt_flow_table *t, wt_flow_t *f, int dir, const wt_pkt_t *pkt)
{
	idle_list_t *l = idle_of(t, f);
	f->last_frame = pkt->frame;
	f->last_ts = pkt->ts;
	f->pkts[dir]++;
	f->bytes[dir] += pkt->wirelen;
	if (l->tail != f) {
		idle_unlink(l, f);
		idle_push(l, f);
	}
}

static void
tcp_packet(struct wt_flow_table *t, const struct wt_l4 *p, const wt_pkt_t *pkt)
{
	wt_ctx_t *ctx = t->ctx;
	wt_cursor_t c = wt_cur_make(p->l4, p->l4len);
	uint16_t sp, dp;
	uint32_t seq, ack, h;
	uint8_t off, flags;
	size_t hlen, caplen, wirelen;
	wt_flow_t *f;
	int dir = 0;

	sp = wt_cur_be16(&c);
	dp = wt_cur_be16(&c);
	seq = wt_cur_be32(&c);
	ack = wt_cur_be32(&c);
	off = wt_cur_u8(&c);
	flags = wt_cur_u8(&c);
	if (!wt_cur_ok(&c)) {
		wt_count(ctx, WT_C_TCP_MALFORMED, 1);
		return;
	}
	hlen = (size_t)(off >> 4) * 4;
	if (hlen < 20 || hlen > p->l4wirelen) {
		wt_count(ctx, WT_C_TCP_MALFORMED, 1);
		return;
	}
	c = wt_cur_make(p->l4, p->l4len);
	if (!wt_cur_skip(&c, hlen)) {
		/* Options cut by the snaplen: count the packet, no data. */
		caplen = 0;
	} else {
		caplen = wt_cur_left(&c);
	}
	wirelen = p->l4wirelen - hlen;
	if (caplen > wirelen)
		caplen = wirelen;

	h = flow_hash(6, &p->src, sp, &p->dst, dp);
	f = unless_expired(t, flow_find(t, h, 6, &p->src, sp, &p->dst, dp, &dir), pkt);

	/* A SYN whose sequence number differs from the first one this side
	 * used starts a new connection (port reuse), as Wireshark starts a
	 * new tcp.stream; a retransmitted SYN (same number) does not, even
	 * after a RST. */
	if (f && (flags & (TH_SYN | TH_ACK)) == TH_SYN && f->base_set[dir] &&
	    f->base_seq[dir] != seq) {
		flow_end(t, f, f->rst ? WT_END_RST : WT_END_FIN);
		f = NULL;
	}
	if (!f) {
		f = flow_create(t, h, 6, &p->src, sp, &p->dst, dp, pkt,
				(flags & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK),
				!(flags & TH_SYN),
				(flags & (TH_SYN | TH_ACK)) == TH_SYN ? &seq : NULL);
		if (!f)
			return;
		dir = ep_eq(&f->ep[0], &p->src, sp) ? 0 : 1;
	}
	touch(t, f, dir, pkt);
	/* Each side's base sequence number as Wireshark sets it: a SYN's own
	 * number, one less than the first other segment's, or the ACK of a
	 * SYN+ACK minus one for the side whose SYN was not captured. */
	if (!f->base_set[dir]) {
		f->base_set[dir] = true;
		f->base_seq[dir] = (flags & TH_SYN) ? seq : seq - 1;
	}
	if ((flags & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK) && !f->base_set[dir ^ 1]) {
		f->base_set[dir ^ 1] = true;
		f->base_seq[dir ^ 1] = ack - 1;
	}
	if (flags & TH_SYN)
		f->syn[dir] = true;
	if (flags & TH_FIN)
		f->fin[dir] = true;
	if (flags & TH_RST)
		f->rst = true;

	if (f->reassemble)
		wt_tcp_segment(ctx, f, dir, seq, ack, flags,
			       c.err ? NULL : c.base + c.off, c.err ? 0 : caplen,
			       wirelen, pkt);

	if (!f->closed && (f->rst || (f->fin[0] && f->fin[1]))) {
		bool done = true;
		if (!f->rst && f->reassemble)
			done = f->half[0] && f->half[1] && f->half[0]->closed &&
			       f->half[1]->closed;
		if (done || f->rst) {
			idle_unlink(idle_of(t, f), f);
			f->closed = true;
			idle_push(idle_of(t, f), f);
			close_dissector(ctx, f, f->rst ? WT_END_RST : WT_END_FIN);
		}
	}
}

static void
udp_packet(struct wt_flow_table *t, const struct wt_l4 *p, const wt_pkt_t *pkt)
{
	wt_ctx_t *ctx = t->ctx;
	wt_cursor_t c = wt_cur_make(p->l4, p->l4len);
	uint16_t sp, dp, ulen;
	uint32_t h;
	size_t len;
	wt_flow_t *f;
	int dir = 0;

	sp = wt_cur_be16(&c);
	dp = wt_cur_be16(&c);
	ulen = wt_cur_be16(&c);
	wt_cur_skip(&c, 2);
	if (!wt_cur_ok(&c) || ulen < 8) {
		wt_count(ctx, WT_C_UDP_MALFORMED, 1);
		return;
	}
	/* The UDP length wins over the IP length when it is smaller (padding);
	 * what the snaplen cut is simply not there. */
	len = wt_cur_left(&c);
	if (len > (size_t)ulen - 8)
		len = (size_t)ulen - 8;

	h = flow_hash(17, &p->src, sp, &p->dst, dp);
	f = unless_expired(t, flow_find(t, h, 17, &p->src, sp, &p->dst, dp, &dir), pkt);
	if (!f) {
		f = flow_create(t, h, 17, &p->src, sp, &p->dst, dp, pkt, false, false, NULL);
		if (!f)
			return;
		dir = 0;
	}
	touch(t, f, dir, pkt);
	f->payload[dir] += len;
	if (f->dis && f->dis->datagram)
		f->dis->datagram(f->dstate, (wt_dir_t)(dir ^ f->dis_swap),
				 c.base + c.off, len, pkt);
}

void
wt_flows_packet(struct wt_flow_table *t, const struct wt_l4 *p,
		const wt_pkt_t *pkt)
{
	if (p->ipproto == 6)
		tcp_packet(t, p, pkt);
	else
		udp_packet(t, p, pkt);
}

void
wt_flows_expire(struct wt_flow_table *t, const wt_time_t *now)
{
	int i;
	for (i = 0; i < 3; i++) {
		double timeout = i == 0 ? t->ctx->opt.tcp_idle_timeout
				 : i == 1 ? t->ctx->opt.udp_idle_timeout
					  : CLOSED_LINGER;
		while (t->idle[i].head) {
			wt_flow_t *f = t->idle[i].head;
			double idle = wt_time_diff(now, &f->last_ts);
			/* the oldest is not idle long enough: nor is the rest */
			if (idle < timeout)
				break;
			if (!f->closed)
				wt_count(t->ctx, WT_C_FLOW_TIMEOUT, 1);
			flow_end(t, f, WT_END_TIMEOUT);
		}
	}
}

static int
by_first_frame(const void *a, const void *b)
{
	const wt_flow_t *x = *(wt_flow_t *const *)a, *y = *(wt_flow_t *const *)b;
	return x->first_frame < y->first_frame ? -1 : x->first_frame > y->first_frame;
}

void
wt_flows_finish(struct wt_flow_table *t)
{
	/* End in order of first packet, so records come out in stream order. */
	size_t n = 0, i;
	int l;
	wt_flow_t **all = malloc((t->count ? t->count : 1) * sizeof *all);
	wt_flow_t *f;

	if (!all) {
		for (l = 0; l < 3; l++)
			while (t->idle[l].head)
				flow_end(t, t->idle[l].head, WT_END_EOF);
		return;
	}
	for (l = 0; l < 3; l++)
		for (f = t->idle[l].head; f; f = f->lnext)
			all[n++] = f;
	qsort(all, n, sizeof *all, by_first_frame);
	for (i = 0; i < n; i++)
		flow_end(t, all[i], WT_END_EOF);
	free(all);
}

size_t
wt_flows_count(const struct wt_flow_table *t)
{
	return t->count;
}

void
wt_flows_free(struct wt_flow_table *t)
{
	size_t i;
	if (!t)
		return;
	for (i = 0; i < t->n_slabs; i++)
		free(t->slabs[i]);
	free(t->slabs);
	free(t->buckets);
	free(t->tombs);
	free(t);
}
