/* \summary: IPv4 and IPv6 fragment reassembly (bounded, with a timeout) */
/*
 * Datagrams are keyed by (source, destination, identification, protocol):
 * RFC 791 section 3.2 for IPv4 (the protocol is part of the key), RFC 8200
 * section 4.5 for IPv6 (source, destination and the 32-bit
 * identification; the next header after the fragment header is added to
 * the key like IPv4's protocol, which only splits datagrams that a
 * receiver could not have joined anyway).
 *
 * Policy (docs/reassembly.md): the first data received for a byte wins;
 * later copies of that byte are ignored and the fragment is counted as an
 * overlap (WT_C_FRAG_OVERLAP), with a warning when the bytes differ (the
 * classic IDS-evasion pattern, RFC 3128 / Ptacek-Newsham).  The same
 * policy as the TCP reassembly, so wiretale tells one consistent story.
 *
 * Bounds: at most max_fragments datagrams in progress (the oldest is
 * dropped when a new one arrives: WT_C_FRAG_CAP), each at most 65535
 * bytes (larger is the "ping of death": WT_C_FRAG_TOO_BIG), and each is
 * dropped frag_timeout seconds of capture time after its first fragment
 * (WT_C_FRAG_TIMEOUT), like Linux's ipfrag_time.  Buffers are kept in the
 * slots and reused; a completed datagram is copied into one output buffer
 * owned by the table.
 */
#include "capture/capture.h"
#include "capture/frag.h"

#include <stdlib.h>
#include <string.h>

#include "core/ctx_int.h"
#include "core/record.h"
#include "wiretale/cursor.h"

#define FRAG_MAX_SIZE 65535u
#define FRAG_DEFAULT_MAX 1024u
#define FRAG_MAX_SLOTS (1u << 20)
#define FRAG_DEFAULT_TIMEOUT 30.0
/* A slot keeps its buffers for reuse up to this size; bigger ones are
 * given back when the datagram is done, so idle memory stays small. */
#define FRAG_KEEP_BYTES 16384u
#define NIL ((size_t)-1)

typedef struct frag_slot {
	wt_frag_key_t key;
	bool used;
	wt_time_t first_ts; /* capture time of the first fragment seen */
	uint64_t first_frame;
	uint32_t total;     /* length, known once the last fragment is seen */
	bool have_last;
	uint32_t received;  /* bytes filled so far */
	uint32_t high;      /* highest end offset seen */
	uint8_t *data;      /* `cap` bytes */
	uint8_t *have;      /* bitmap, one bit per byte of data */
	size_t cap;
	size_t hnext;       /* hash chain */
	size_t prev, next;  /* age list, oldest first */
} frag_slot_t;

struct wt_frag_table {
	wt_ctx_t *ctx;
	size_t max;
	double timeout;
	frag_slot_t *slots;
	size_t *buckets;
	size_t nbuckets;     /* power of two */
	size_t free_head;    /* free slots chained through hnext */
	size_t oldest, newest;
	size_t count;
	/* The last completed datagram, handed out until the next call. */
	uint8_t *out;
	size_t outcap;
};

static double
tdiff(const wt_time_t *a, const wt_time_t *b)
{
	return (double)(a->sec - b->sec) +
	       ((double)a->nsec - (double)b->nsec) / 1e9;
}

static size_t
addr_bytes(const wt_addr_t *a)
{
	return a->family == 6 ? 16 : 4;
}

static bool
key_eq(const wt_frag_key_t *x, const wt_frag_key_t *y)
{
	return x->id == y->id && x->proto == y->proto &&
	       x->src.family == y->src.family && x->dst.family == y->dst.family &&
	       memcmp(x->src.a, y->src.a, addr_bytes(&x->src)) == 0 &&
	       memcmp(x->dst.a, y->dst.a, addr_bytes(&x->dst)) == 0;
}

/* FNV-1a over the meaningful bytes of the key. */
static size_t
key_hash(const wt_frag_key_t *k)
{
	uint64_t h = 1469598103934665603u;
	size_t i;
#define MIX(b) (h = (h ^ (uint8_t)(b)) * 1099511628211u)
	for (i = 0; i < addr_bytes(&k->src); i++)
		MIX(k->src.a[i]);
	for (i = 0; i < addr_bytes(&k->dst); i++)
		MIX(k->dst.a[i]);
	MIX(k->id);
	MIX(k->id >> 8);
	MIX(k->id >> 16);
	MIX(k->id >> 24);
	MIX(k->proto);
	MIX(k->src.family);
#undef MIX
	return (size_t)(h ^ (h >> 32));
}

struct wt_frag_table *
wt_frags_new(wt_ctx_t *ctx)
{
	struct wt_frag_table *t = calloc(1, sizeof *t);
	size_t i;
	if (!t)
		return NULL;
	t->ctx = ctx;
	t->max = ctx && ctx->opt.max_fragments ? ctx->opt.max_fragments
					       : FRAG_DEFAULT_MAX;
	/* The slots are allocated up front: keep a silly option value from
	 * asking for gigabytes. */
	if (t->max > FRAG_MAX_SLOTS)
		t->max = FRAG_MAX_SLOTS;
	t->timeout = ctx && ctx->opt.frag_timeout > 0 ? ctx->opt.frag_timeout
						      : FRAG_DEFAULT_TIMEOUT;
	t->nbuckets = 16;
	while (t->nbuckets < t->max * 2 && t->nbuckets < ((size_t)1 << 24))
		t->nbuckets *= 2;
	t->slots = calloc(t->max, sizeof *t->slots);
	t->buckets = malloc(t->nbuckets * sizeof *t->buckets);
	if (!t->slots || !t->buckets) {
		wt_frags_free(t);
		return NULL;
	}
	for (i = 0; i < t->nbuckets; i++)
		t->buckets[i] = NIL;
	for (i = 0; i < t->max; i++)
		t->slots[i].hnext = i + 1 < t->max ? i + 1 : NIL;
	t->free_head = 0;
	t->oldest = t->newest = NIL;
	return t;
}

void
wt_frags_free(struct wt_frag_table *t)
{
	size_t i;
	if (!t)
		return;
	if (t->slots) {
		for (i = 0; i < t->max; i++) {
			free(t->slots[i].data);
			free(t->slots[i].have);
		}
	}
	free(t->slots);
	free(t->buckets);
	free(t->out);
	free(t);
}

/* Unlinks slot i from its hash chain and the age list and frees it. */
static void
release(struct wt_frag_table *t, size_t i)
{
	frag_slot_t *s = &t->slots[i];
	size_t *pp = &t->buckets[key_hash(&s->key) & (t->nbuckets - 1)];
	while (*pp != NIL && *pp != i)
		pp = &t->slots[*pp].hnext;
	if (*pp == i)
		*pp = s->hnext;
	if (s->prev != NIL)
		t->slots[s->prev].next = s->next;
	else
		t->oldest = s->next;
	if (s->next != NIL)
		t->slots[s->next].prev = s->prev;
	else
		t->newest = s->prev;
	if (s->cap > FRAG_KEEP_BYTES) {
		free(s->data);
		free(s->have);
		s->data = s->have = NULL;
		s->cap = 0;
	}
	s->used = false;
	s->hnext = t->free_head;
	t->free_head = i;
	t->count--;
}

static void
drop_timeout(struct wt_frag_table *t, size_t i)
{
	frag_slot_t *s = &t->slots[i];
	wt_count(t->ctx, WT_C_FRAG_TIMEOUT, 1);
	if (s->have_last)
		wt_warn(t->ctx, NULL, "ip", "IP_FRAG_TIMEOUT",
			"fragmented datagram (id 0x%x, first fragment in frame "
			"%llu) incomplete after %gs: %u of %u bytes",
			(unsigned)s->key.id, (unsigned long long)s->first_frame,
			t->timeout, (unsigned)s->received, (unsigned)s->total);
	else
		wt_warn(t->ctx, NULL, "ip", "IP_FRAG_TIMEOUT",
			"fragmented datagram (id 0x%x, first fragment in frame "
			"%llu) incomplete after %gs: last fragment never seen",
			(unsigned)s->key.id, (unsigned long long)s->first_frame,
			t->timeout);
	release(t, i);
}

/* The age list is in order of the first fragment, which is capture-time
 * order as long as the capture's clock does not step back; a datagram
 * behind a younger one is expired on a later call. */
void
wt_frags_expire(struct wt_frag_table *t, const wt_time_t *now)
{
	if (!t || !now)
		return;
	while (t->oldest != NIL &&
	       tdiff(now, &t->slots[t->oldest].first_ts) > t->timeout)
		drop_timeout(t, t->oldest);
}

static size_t
find(const struct wt_frag_table *t, const wt_frag_key_t *key)
{
	size_t i = t->buckets[key_hash(key) & (t->nbuckets - 1)];
	while (i != NIL && !key_eq(&t->slots[i].key, key))
		i = t->slots[i].hnext;
	return i;
}

static size_t
insert(struct wt_frag_table *t, const wt_frag_key_t *key, const wt_pkt_t *pkt)
{
	size_t i, b;
	frag_slot_t *s;
	if (t->free_head == NIL) {
		/* Table full: the oldest datagram in progress makes room. */
		wt_count(t->ctx, WT_C_FRAG_CAP, 1);
		release(t, t->oldest);
	}
	i = t->free_head;
	s = &t->slots[i];
	t->free_head = s->hnext;
	s->key = *key;
	s->used = true;
	s->first_ts = pkt ? pkt->ts : t->ctx->now;
	s->first_frame = pkt ? pkt->frame : 0;
	s->total = 0;
	s->have_last = false;
	s->received = 0;
	s->high = 0;
	if (s->have)
		memset(s->have, 0, s->cap / 8 + 1);
	b = key_hash(key) & (t->nbuckets - 1);
	s->hnext = t->buckets[b];
	t->buckets[b] = i;
	s->next = NIL;
	s->prev = t->newest;
	if (t->newest != NIL)
		t->slots[t->newest].next = i;
	else
		t->oldest = i;
	t->newest = i;
	t->count++;
	return i;
}

/* Makes room for `end` bytes (end <= 65535). */
static int
reserve(frag_slot_t *s, size_t end)
{
	size_t cap = s->cap ? s->cap : 2048;
	uint8_t *d, *h;
	if (end <= s->cap)
		return 0;
	while (cap < end)
		cap *= 2;
	if (cap > FRAG_MAX_SIZE + 1)
		cap = FRAG_MAX_SIZE + 1;
	d = realloc(s->data, cap);
	if (!d)
		return -1;
	s->data = d;
	h = realloc(s->have, cap / 8 + 1);
	if (!h)
		return -1;
	memset(h + (s->cap ? s->cap / 8 + 1 : 0), 0,
	       cap / 8 + 1 - (s->cap ? s->cap / 8 + 1 : 0));
	s->have = h;
	s->cap = cap;
	return 0;
}

static bool
bit(const uint8_t *m, size_t i)
{
	return (m[i >> 3] >> (i & 7)) & 1;
}

int
wt_frag_add(struct wt_frag_table *t, const wt_frag_key_t *key, uint32_t offset,
	    bool more, const uint8_t *data, size_t len, const wt_pkt_t *pkt,
	    const uint8_t **out, size_t *outlen)
{
	wt_cursor_t cur = wt_cur_make(data, len);
	const uint8_t *src;
	frag_slot_t *s;
	size_t i, end, b;
	bool overlap = false, conflict = false;

	*out = NULL;
	*outlen = 0;
	if (pkt)
		wt_frags_expire(t, &pkt->ts);

	end = (size_t)offset + len;
	i = find(t, key);
	if (end > FRAG_MAX_SIZE) {
		/* RFC 791 / RFC 8200: no datagram can be this long; the
		 * whole datagram goes (Linux does the same). */
		wt_count(t->ctx, WT_C_FRAG_TOO_BIG, 1);
		wt_warn(t->ctx, pkt, "ip", "IP_FRAG_TOO_BIG",
			"fragment (id 0x%x) at offset %u with %zu bytes ends past "
			"65535: datagram dropped",
			(unsigned)key->id, (unsigned)offset, len);
		if (i != NIL)
			release(t, i);
		return -1;
	}
	if (i == NIL)
		i = insert(t, key, pkt);
	s = &t->slots[i];

	/* Consistency of the length: the last fragment fixes it; data past
	 * it, or a second different end, breaks the rules (RFC 8200 4.5). */
	if ((s->have_last && end > s->total) ||
	    (!more && s->have_last && end != s->total) ||
	    (!more && s->high > end)) {
		wt_count(t->ctx, WT_C_IP_MALFORMED, 1);
		wt_warn(t->ctx, pkt, "ip", "IP_FRAG_BAD_LENGTH",
			"fragment (id 0x%x) at offset %u with %zu bytes%s "
			"contradicts the datagram length %u: fragment ignored",
			(unsigned)key->id, (unsigned)offset, len,
			more ? "" : " (last)",
			(unsigned)(s->have_last ? s->total : s->high));
		return -1;
	}
	if (!more) {
		s->have_last = true;
		s->total = (uint32_t)end;
	}
	if (reserve(s, end) < 0) {
		release(t, i);
		return -1;
	}
	/* First data received for a byte wins. */
	src = wt_cur_take(&cur, len);
	for (b = offset; src && b < end; b++) {
		uint8_t v = src[b - offset];
		if (bit(s->have, b)) {
			overlap = true;
			if (s->data[b] != v)
				conflict = true;
			continue;
		}
		s->data[b] = v;
		s->have[b >> 3] |= (uint8_t)(1u << (b & 7));
		s->received++;
	}
	if (end > s->high)
		s->high = (uint32_t)end;
	if (overlap) {
		wt_count(t->ctx, WT_C_FRAG_OVERLAP, 1);
		if (conflict)
			wt_warn(t->ctx, pkt, "ip", "IP_FRAG_OVERLAP_CONFLICT",
				"fragment (id 0x%x) at offset %u overlaps earlier "
				"data with different bytes; the first received "
				"are kept",
				(unsigned)key->id, (unsigned)offset);
	}
	if (!s->have_last || s->received != s->total)
		return 0;

	/* Complete: copy out into the table's one output buffer (kept and
	 * reused), so the slot's buffers stay with the slot. */
	if (t->outcap < s->total) {
		uint8_t *o = realloc(t->out, FRAG_MAX_SIZE + 1);
		if (!o) {
			release(t, i);
			return -1;
		}
		t->out = o;
		t->outcap = FRAG_MAX_SIZE + 1;
	}
	if (s->total)
		memcpy(t->out, s->data, s->total);
	*out = t->out ? t->out : (const uint8_t *)"";
	*outlen = s->total;
	release(t, i);
	wt_count(t->ctx, WT_C_FRAG_REASSEMBLED, 1);
	return 1;
}
