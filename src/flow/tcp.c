/* \summary: TCP reassembly: in-order bytes, gaps and the streaming contract with dissectors */
#include <stdlib.h>
#include <string.h>

#include "flow/flow_int.h"

/*
 * Policy (docs/reassembly.md):
 *  - Bytes are handed up strictly in order, once.  Data is addressed by
 *    64-bit stream offsets derived from 32-bit sequence numbers with modular
 *    arithmetic, so wrap-around inside a connection is invisible.
 *  - Overlaps: the first data received for a byte wins.  A segment that
 *    covers bytes already delivered or already buffered is trimmed to the
 *    bytes nobody has sent yet.  Pure retransmissions are dropped.
 *  - Gaps: bytes that will never come are reported to the dissector as a gap
 *    of N bytes and the stream goes on after them.  That is decided when the
 *    peer acknowledges data beyond the hole while later data waits, when the
 *    per-flow buffer is full, when the snaplen cut a segment, and when the
 *    connection ends with data still waiting.
 *  - Connections whose handshake was not captured are picked up at the first
 *    segment seen.
 */

static wt_half_t *
half_get(wt_flow_t *f, int dir)
{
	if (!f->half[dir])
		f->half[dir] = calloc(1, sizeof(wt_half_t));
	return f->half[dir];
}

static size_t
flow_cap(const wt_ctx_t *ctx)
{
	return ctx->opt.max_flow_buffer;
}

/* Keeps n unconsumed bytes for the dissector. */
static int
pend_append(wt_ctx_t *ctx, wt_half_t *h, const uint8_t *p, size_t n)
{
	if (h->pend_len + n > h->pend_cap) {
		size_t cap = h->pend_cap ? h->pend_cap : 4096;
		uint8_t *q;
		while (cap < h->pend_len + n)
			cap *= 2;
		q = realloc(h->pend, cap);
		if (!q)
			return -1;
		ctx->tcp_buffered += cap - h->pend_cap;
		h->pend = q;
		h->pend_cap = cap;
	}
	memcpy(h->pend + h->pend_len, p, n);
	h->pend_len += n;
	return 0;
}

static void
pend_release(wt_ctx_t *ctx, wt_half_t *h)
{
	ctx->tcp_buffered -= h->pend_cap;
	free(h->pend);
	h->pend = NULL;
	h->pend_len = h->pend_cap = 0;
}

static void
report_gap(wt_ctx_t *ctx, wt_flow_t *f, int dir, uint64_t n,
	   const wt_pkt_t *pkt)
{
	wt_half_t *h = f->half[dir];

	if (n == 0)
		return;
	f->gaps++;
	f->gap_bytes += n;
	wt_count(ctx, WT_C_TCP_GAPS, 1);
	wt_count(ctx, WT_C_TCP_GAP_BYTES, n);
	if (f->tapped && ctx->tap)
		ctx->tap(ctx->tap_user, f->stream, dir, NULL, 0, n, pkt);
	if (h->pend_len)
		h->pend_len = 0; /* an incomplete unit cannot be completed */
	if (f->dis && !f->dis_closed && f->dis->gap)
		f->dis->gap(f->dstate, (wt_dir_t)(dir ^ f->dis_swap), n, pkt);
}

/* In-order bytes: to the tap, then to the dissector with what it left. */
static void
deliver(wt_ctx_t *ctx, wt_flow_t *f, int dir, const uint8_t *p, size_t n,
	const wt_pkt_t *pkt)
{
	wt_half_t *h = f->half[dir];
	wt_dir_t ddir = (wt_dir_t)(dir ^ f->dis_swap);
	size_t used;

	if (n == 0)
		return;
	f->payload[dir] += n;
	if (f->tapped && ctx->tap)
		ctx->tap(ctx->tap_user, f->stream, dir, p, n, 0, pkt);
	if (!f->dis || f->dis_closed || !f->dis->data)
		return;

	if (h->pend_len == 0) {
		used = f->dis->data(f->dstate, ddir, p, n, pkt);
		if (used < n) {
			if (n - used > flow_cap(ctx) ||
			    pend_append(ctx, h, p + used, n - used) != 0) {
				wt_count(ctx, WT_C_TCP_PENDING_CAP, 1);
				f->dis->gap(f->dstate, ddir, n - used, pkt);
			}
		}
		return;
	}
	if (h->pend_len + n > flow_cap(ctx)) {
		/* The dissector has held more than the cap without
		 * consuming it: drop what it holds and say so. */
		uint64_t lost = h->pend_len;
		wt_count(ctx, WT_C_TCP_PENDING_CAP, 1);
		h->pend_len = 0;
		f->dis->gap(f->dstate, ddir, lost, pkt);
		used = f->dis->data(f->dstate, ddir, p, n, pkt);
		if (used < n && n - used <= flow_cap(ctx))
			pend_append(ctx, h, p + used, n - used);
		return;
	}
	if (pend_append(ctx, h, p, n) != 0) {
		wt_count(ctx, WT_C_TCP_PENDING_CAP, 1);
		return;
	}
	used = f->dis->data(f->dstate, ddir, h->pend, h->pend_len, pkt);
	if (used >= h->pend_len) {
		h->pend_len = 0;
		if (h->pend_cap > 65536)
			pend_release(ctx, h);
	} else if (used > 0) {
		memmove(h->pend, h->pend + used, h->pend_len - used);
		h->pend_len -= used;
	}
}

static void
seg_free(wt_ctx_t *ctx, wt_half_t *h, wt_seg_t *s)
{
	h->ooo_bytes -= s->len;
	ctx->tcp_buffered -= s->len;
	free(s);
}

static void
check_closed(wt_half_t *h)
{
	if (h->fin && h->delivered >= h->fin_off && !h->ooo)
		h->closed = true;
}

/*
 * Hands up every buffered segment that is now in order.  With pkt, the
 * bytes belong to that frame (it filled the hole they waited behind).
 * Without (a hole declared lost), each segment's bytes belong to the frame
 * that carried them (the latest so far, when reordered), which is where
 * Wireshark shows a message that follows a gap.
 */
static void
drain(wt_ctx_t *ctx, wt_flow_t *f, int dir, const wt_pkt_t *pkt)
{
	wt_half_t *h = f->half[dir];
	wt_pkt_t own;
	memset(&own, 0, sizeof own);
	while (h->ooo && h->ooo->off <= h->delivered) {
		wt_seg_t *s = h->ooo;
		h->ooo = s->next;
		if (s->off + s->len > h->delivered) {
			uint64_t skip = h->delivered - s->off;
			size_t n = (size_t)(s->len - skip);
			if (!pkt && s->frame > own.frame) {
				own.frame = s->frame;
				own.ts = s->ts;
			}
			h->delivered += n;
			h->next_seq += (uint32_t)n;
			deliver(ctx, f, dir, s->data + skip, n, pkt ? pkt : &own);
		}
		seg_free(ctx, h, s);
	}
	check_closed(h);
}

/* Declares the hole before the first buffered segment lost, then hands up
 * what waited behind it, each part with the frame that carried it. */
static void
skip_hole(wt_ctx_t *ctx, wt_flow_t *f, int dir, const wt_pkt_t *pkt)
{
	wt_half_t *h = f->half[dir];
	wt_pkt_t at;
	if (!h->ooo || h->ooo->off <= h->delivered)
		return;
	uint64_t n = h->ooo->off - h->delivered;
	at = *pkt;
	at.frame = h->ooo->frame; /* "previous segment not captured" */
	at.ts = h->ooo->ts;
	h->delivered += n;
	h->next_seq += (uint32_t)n;
	report_gap(ctx, f, dir, n, &at);
	drain(ctx, f, dir, NULL);
}

static wt_seg_t *
seg_new(uint64_t off, const uint8_t *p, size_t n, const wt_pkt_t *pkt)
{
	wt_seg_t *s = malloc(sizeof *s + n);
	if (!s)
		return NULL;
	s->next = NULL;
	s->off = off;
	s->len = (uint32_t)n;
	s->frame = pkt->frame;
	s->ts = pkt->ts;
	memcpy(s->data, p, n);
	return s;
}

/* Buffers [off, off+n) out of order, keeping only bytes no earlier segment
 * holds (first received wins).  Returns 0, or -1 when a cap refused it. */
static int
insert_ooo(wt_ctx_t *ctx, wt_flow_t *f, int dir, uint64_t off,
	   const uint8_t *p, size_t n, const wt_pkt_t *pkt, bool capped)
{
	wt_half_t *h = f->half[dir];
	wt_seg_t **pp = &h->ooo;
	uint64_t cur = off, end = off + n;
	bool trimmed = false;

	if (capped && h->ooo_bytes + n > flow_cap(ctx)) {
		wt_count(ctx, WT_C_TCP_FLOW_CAP, 1);
		/* Waiting longer cannot help: the hole is lost. */
		skip_hole(ctx, f, dir, pkt);
		if (off <= h->delivered)
			capped = false; /* now in order: the caller drains it */
		else if (h->ooo_bytes + n > flow_cap(ctx))
			return -1;
	}
	if (capped && ctx->tcp_buffered + n > ctx->opt.max_total_buffer) {
		wt_count(ctx, WT_C_TCP_TOTAL_CAP, 1);
		return -1;
	}
	if (capped)
		wt_count(ctx, WT_C_TCP_OUT_OF_ORDER, 1);
	while (cur < end) {
		wt_seg_t *s = *pp;
		uint64_t piece_end;
		if (s && s->off + s->len <= cur) {
			pp = &s->next;
			continue;
		}
		if (s && s->off <= cur) {
			/* cur is inside s: s was here first */
			trimmed = true;
			cur = s->off + s->len;
			pp = &s->next;
			continue;
		}
		piece_end = s && s->off < end ? s->off : end;
		if (s && s->off < end)
			trimmed = true;
		{
			wt_seg_t *ns = seg_new(cur, p + (cur - off),
					       (size_t)(piece_end - cur), pkt);
			if (!ns)
				return -1;
			ns->next = s;
			*pp = ns;
			pp = &ns->next;
			h->ooo_bytes += ns->len;
			ctx->tcp_buffered += ns->len;
		}
		cur = piece_end;
	}
	if (trimmed)
		wt_count(ctx, WT_C_TCP_OVERLAP, 1);
	return 0;
}

void
wt_tcp_segment(wt_ctx_t *ctx, wt_flow_t *f, int dir, uint32_t seq,
	       uint32_t ack, uint8_t flags, const uint8_t *data, size_t caplen,
	       size_t wirelen, const wt_pkt_t *pkt)
{
	wt_half_t *h = half_get(f, dir);
	wt_half_t *o;
	int64_t off;

	if (!h)
		return;
	/* The peer acknowledged bytes of the other direction that were never
	 * captured while later bytes wait: the hole will not be filled.  That
	 * direction's gap and waiting bytes go up first: they came before
	 * this packet, which answers them. */
	o = f->half[dir ^ 1];
	if ((flags & TH_ACK) && o) {
		if (!o->peer_ack_set || SEQ_GT(ack, o->peer_ack)) {
			o->peer_ack = ack;
			o->peer_ack_set = true;
		}
		if (o->started && o->ooo && SEQ_GT(ack, o->next_seq))
			skip_hole(ctx, f, dir ^ 1, pkt);
	}

	if (flags & TH_SYN) {
		/* A second SYN (or SYN+ACK) with another sequence number before
		 * any data: the peer answers the last one, so it counts. */
		if (!h->started || (seq != h->isn && h->delivered == 0 && !h->ooo)) {
			h->started = true;
			h->isn = seq;
			h->next_seq = seq + 1;
		}
		seq++; /* the SYN occupies one sequence number */
	} else if (!h->started && f->resume[dir]) {
		/* continues an ended flow: old bytes stay delivered */
		h->started = true;
		h->isn = f->resume_seq[dir] - 1;
		h->next_seq = f->resume_seq[dir];
	} else if (!h->started) {
		h->started = true; /* picked up mid-stream */
		h->isn = seq - 1;
		h->next_seq = seq;
	}

	if (wirelen > 0 && !h->closed) {
		off = (int64_t)h->delivered + (int32_t)(seq - h->next_seq);
		if (off < 0) {
			/* Starts before the stream's first byte (a segment
			 * older than the one we picked up mid-stream). */
			uint64_t skip = (uint64_t)(-off);
			if (skip >= wirelen) {
				wt_count(ctx, WT_C_TCP_RETRANSMIT, 1);
				goto flags;
			}
			data += skip < caplen ? skip : caplen;
			caplen = skip < caplen ? caplen - skip : 0;
			wirelen -= skip;
			off = 0;
		}
		if ((uint64_t)off + wirelen <= h->delivered) {
			wt_count(ctx, WT_C_TCP_RETRANSMIT, 1);
		} else {
			if ((uint64_t)off < h->delivered) {
				uint64_t skip = h->delivered - (uint64_t)off;
				wt_count(ctx, WT_C_TCP_OVERLAP, 1);
				data += skip < caplen ? skip : caplen;
				caplen = skip < caplen ? caplen - (size_t)skip : 0;
				wirelen -= skip;
				off = (int64_t)h->delivered;
			}
			if ((uint64_t)off == h->delivered) {
				uint64_t wire_end = (uint64_t)off + wirelen;
				if (h->ooo && h->ooo->off < (uint64_t)off + caplen) {
					/* Buffered bytes inside this segment's
					 * range were there first: merge through
					 * the buffer, then drain. */
					insert_ooo(ctx, f, dir, (uint64_t)off, data,
						   caplen, pkt, false);
					drain(ctx, f, dir, pkt);
				} else {
					h->delivered += caplen;
					h->next_seq += (uint32_t)caplen;
					deliver(ctx, f, dir, data, caplen, pkt);
					drain(ctx, f, dir, pkt);
				}
				/* The snaplen cut the segment: the rest was
				 * on the wire but will never be seen. */
				if (h->delivered < wire_end &&
				    (!h->ooo || h->ooo->off > h->delivered)) {
					uint64_t lim = wire_end;
					if (h->ooo && h->ooo->off < lim)
						lim = h->ooo->off;
					uint64_t miss = lim - h->delivered;
					h->delivered += miss;
					h->next_seq += (uint32_t)miss;
					report_gap(ctx, f, dir, miss, pkt);
					drain(ctx, f, dir, pkt);
				}
			} else if (caplen > 0) {
				insert_ooo(ctx, f, dir, (uint64_t)off, data, caplen, pkt, true);
				/* The peer already acknowledged bytes beyond the
				 * hole: they were lost to the capture, not to the
				 * network, and will not come again.  What waits can
				 * go up now, with this frame, as Wireshark shows it. */
				if (h->peer_ack_set && SEQ_GT(h->peer_ack, h->next_seq))
					skip_hole(ctx, f, dir, pkt);
				drain(ctx, f, dir, pkt);
			}
		}
	}
flags:
	if ((flags & TH_FIN) && !h->fin) {
		h->fin = true;
		h->fin_off = h->delivered +
			     (uint64_t)(int64_t)(int32_t)(seq + (uint32_t)wirelen - h->next_seq);
		check_closed(h);
	}

}

void
wt_tcp_flush(wt_ctx_t *ctx, wt_flow_t *f, const wt_pkt_t *pkt)
{
	int dir;
	for (dir = 0; dir < 2; dir++) {
		wt_half_t *h = f->half[dir];
		if (!h)
			continue;
		while (h->ooo)
			skip_hole(ctx, f, dir, pkt);
		/* A FIN beyond the last byte seen: the tail was lost. */
		if (h->fin && h->fin_off > h->delivered) {
			uint64_t n = h->fin_off - h->delivered;
			h->delivered += n;
			report_gap(ctx, f, dir, n, pkt);
		}
	}
}

void
wt_tcp_free(wt_ctx_t *ctx, wt_flow_t *f)
{
	int dir;
	for (dir = 0; dir < 2; dir++) {
		wt_half_t *h = f->half[dir];
		if (!h)
			continue;
		while (h->ooo) {
			wt_seg_t *s = h->ooo;
			h->ooo = s->next;
			seg_free(ctx, h, s);
		}
		pend_release(ctx, h);
		free(h);
		f->half[dir] = NULL;
	}
}
