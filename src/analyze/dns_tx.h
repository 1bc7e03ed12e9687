/* \summary: DNS query/response transactions (the "dns" records) */
#ifndef WT_ANALYZE_DNS_TX_H
#define WT_ANALYZE_DNS_TX_H

#include "wiretale/wiretale.h"

struct wt_dnstx;

/* Lifecycle, called by src/analyze/analyze.c. */
struct wt_dnstx *wt_dnstx_new(wt_ctx_t *ctx);
void wt_dnstx_expire(struct wt_dnstx *t, const wt_time_t *now);
void wt_dnstx_finish(struct wt_dnstx *t); /* emit everything pending */
void wt_dnstx_free(struct wt_dnstx *t);

/* The DNS dissector hands each decoded message here; the DNS module
 * defines the message type and this entry point in its own header. */

#endif /* WT_ANALYZE_DNS_TX_H */
