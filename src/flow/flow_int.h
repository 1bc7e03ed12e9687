/* \summary: flow table entries and TCP half-connections (private to src/flow) */
#ifndef WT_FLOW_FLOW_INT_H
#define WT_FLOW_FLOW_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/ctx_int.h"
#include "flow/flow.h"
#include "proto/dissector.h"

/* Sequence-number comparisons modulo 2^32 (RFC 793, 3.3). */
#define SEQ_LT(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) <= 0)
#define SEQ_GT(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) > 0)

/* An out-of-order segment waiting for the bytes before it.  Data is
 * referred to by stream offset, never by a saved packet pointer. */
typedef struct wt_seg {
	struct wt_seg *next;
	uint64_t off; /* stream offset of data[0] */
	uint32_t len;
	uint64_t frame;
	wt_time_t ts;
	uint8_t data[];
} wt_seg_t;

/* One direction of a TCP connection being reassembled. */
typedef struct wt_half {
	bool started;      /* next_seq is known */
	bool fin;          /* FIN seen */
	bool closed;       /* FIN reached in order: nothing more comes */
	uint32_t next_seq; /* sequence number of the next in-order byte */
	uint32_t isn;
	uint64_t delivered; /* stream offset of next_seq */
	uint64_t fin_off;
	uint32_t peer_ack;  /* highest ACK the other side sent for these bytes */
	bool peer_ack_set;
	wt_seg_t *ooo;      /* sorted by off, never overlapping */
	size_t ooo_bytes;
	uint8_t *pend;      /* bytes the dissector has not consumed yet */
	size_t pend_len, pend_cap;
} wt_half_t;

typedef struct wt_flow {
	struct wt_flow *hnext;            /* hash chain */
	struct wt_flow *lprev, *lnext;    /* idle list, oldest first */
	uint32_t hash;
	uint8_t ipproto;
	wt_endpoint_t ep[2];              /* [0] client, [1] server */
	uint64_t stream;
	uint64_t first_frame, last_frame;
	wt_time_t first_ts, last_ts;
	uint64_t pkts[2], bytes[2], payload[2];
	uint64_t gaps, gap_bytes;

	/* TCP state */
	bool syn[2], fin[2], rst, midstream, closed;
	uint32_t base_seq[2];             /* first sequence number seen per side */
	bool base_set[2];
	bool continued;                   /* resumes an ended flow (same stream) */
	uint32_t resume_seq[2];           /* where that flow's reassembly stopped */
	bool resume[2];
	bool reassemble;                  /* claimed or tapped */
	wt_half_t *half[2];

	/* the dissector that claimed it */
	const wt_dissector_t *dis;
	void *dstate;
	bool dis_swap;                    /* dissector's client is ep[1] */
	bool dis_closed;
	bool tapped;
} wt_flow_t;

/* tcp.c */
void wt_tcp_segment(wt_ctx_t *ctx, wt_flow_t *f, int dir, uint32_t seq,
		    uint32_t ack, uint8_t flags, const uint8_t *data,
		    size_t caplen, size_t wirelen, const wt_pkt_t *pkt);
/* Flushes what is buffered (gaps included) at the end of a flow. */
void wt_tcp_flush(wt_ctx_t *ctx, wt_flow_t *f, const wt_pkt_t *pkt);
void wt_tcp_free(wt_ctx_t *ctx, wt_flow_t *f);

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10

#endif /* WT_FLOW_FLOW_INT_H */
