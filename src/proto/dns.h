/* \summary: what the DNS dissector hands on: each decoded message, to a consumer the analyze layer registers */
#ifndef WT_PROTO_DNS_H
#define WT_PROTO_DNS_H

#include <stdbool.h>

#include "proto/dns_msg.h"
#include "wiretale/wiretale.h"

/* Where a message was seen: its own source and destination (not the
 * flow's client/server: mDNS and LLMNR answer from another address). */
typedef struct wt_dns_meta {
	wt_endpoint_t src;
	wt_endpoint_t dst;
	bool tcp;
	const wt_pkt_t *pkt; /* the frame the message belongs to */
} wt_dns_meta_t;

/* A consumer of decoded messages (m->header_ok is true); both pointers are
 * valid during the call only. */
typedef void (*wt_dns_consumer_fn)(void *user, const wt_dns_msg_t *m,
				   const wt_dns_meta_t *meta);

/* The transaction layer registers itself here (src/analyze/analyze.c), so
 * the dissector never calls up into the layer above by name. */
void wt_dns_set_consumer(wt_ctx_t *ctx, wt_dns_consumer_fn fn, void *user);

/* Frees the per-context parser (src/engine calls it through
 * wt_proto_free). */
void wt_dns_free(wt_ctx_t *ctx);

#endif /* WT_PROTO_DNS_H */
