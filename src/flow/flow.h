/* \summary: the flow layer's entry points: the flow table (src/flow/flow.c) */
#ifndef WT_FLOW_FLOW_H
#define WT_FLOW_FLOW_H

#include <stddef.h>
#include <stdint.h>

#include "wiretale/wiretale.h"

struct wt_flow_table;

/* One transport packet (after IP parsing and reassembly). */
struct wt_l4 {
	wt_addr_t src, dst;
	uint8_t ipproto;
	const uint8_t *l4;   /* the TCP/UDP header and payload */
	size_t l4len;        /* as captured */
	size_t l4wirelen;    /* as the IP header says */
};

struct wt_flow_table *wt_flows_new(wt_ctx_t *ctx);
void wt_flows_free(struct wt_flow_table *t);
void wt_flows_packet(struct wt_flow_table *t, const struct wt_l4 *p,
		     const wt_pkt_t *pkt);
void wt_flows_expire(struct wt_flow_table *t, const wt_time_t *now);
void wt_flows_finish(struct wt_flow_table *t); /* end every flow (EOF) */
size_t wt_flows_count(const struct wt_flow_table *t);

#endif /* WT_FLOW_FLOW_H */
