/* \summary: how the DNS dissector hands decoded messages to the transaction layer */
#ifndef WT_ANALYZE_DNS_TX_MSG_H
#define WT_ANALYZE_DNS_TX_MSG_H

#include <stdbool.h>

#include "analyze/dns_tx.h"
#include "proto/dns.h"
#include "proto/dns_msg.h"

/* A parsed message (m->header_ok must be true).  Matches queries with
 * responses and emits a "dns" record when a transaction completes. */
void wt_dnstx_message(struct wt_dnstx *t, const wt_dns_msg_t *m,
		      const wt_dns_meta_t *meta);

/* Counters of the transaction layer (tests and the summary). */
typedef struct wt_dnstx_stats {
	uint64_t queries, responses, answered, unanswered, unsolicited;
	uint64_t retransmissions, evicted, pending;
} wt_dnstx_stats_t;
void wt_dnstx_get_stats(const struct wt_dnstx *t, wt_dnstx_stats_t *s);

/* Is a query still waiting for its answer (neither answered nor timed
 * out, or a truncated answer whose record is held for its TCP retry)
 * from the client address and to the server address given (NULL: any),
 * with RD=1 when rd_only, whose first query frame lies in [lo, hi], which
 * was sent at max_ts (seconds since the epoch; INFINITY: any time) or
 * before, and whose question match accepts (match NULL: any; it gets the
 * name and type as the records write them, or NULLs for a query without
 * a question)?  Addresses as text, as the records write them.  The
 * resolution analyzer asks this to know whether a chain may still grow:
 * every query leaves this state through a "dns" record. */
typedef bool (*wt_dnstx_match_fn)(void *user, const char *qname, const char *qtype);
bool wt_dnstx_pending_query(const struct wt_dnstx *t, const char *client,
			    const char *server, bool rd_only, uint64_t lo,
			    uint64_t hi, double max_ts, wt_dnstx_match_fn match,
			    void *user);

#endif /* WT_ANALYZE_DNS_TX_MSG_H */
