/* \summary: the story analyzers: resolution chains and mail flows */
#ifndef WT_ANALYZE_STORY_H
#define WT_ANALYZE_STORY_H

#include <jansson.h>

#include "wiretale/wiretale.h"

/*
 * Both analyzers watch the records other layers emit (wt_analyze_observe in
 * analyze.c hands them every record) and emit their own with wt_emit():
 * "resolution" records (resolve.c) and "mail" records (mailflow.c).  A record
 * emitted while another is being observed is queued and delivered right
 * after it, so sinks see records in cause-then-effect order.
 */
struct wt_resolve;
struct wt_resolve *wt_resolve_new(wt_ctx_t *ctx);
void wt_resolve_observe(struct wt_resolve *r, json_t *rec);
void wt_resolve_expire(struct wt_resolve *r, const wt_time_t *now);
void wt_resolve_finish(struct wt_resolve *r); /* emit everything pending */
void wt_resolve_free(struct wt_resolve *r);

struct wt_mailflow;
struct wt_mailflow *wt_mailflow_new(wt_ctx_t *ctx);
void wt_mailflow_observe(struct wt_mailflow *m, json_t *rec);
void wt_mailflow_expire(struct wt_mailflow *m, const wt_time_t *now);
void wt_mailflow_finish(struct wt_mailflow *m);
void wt_mailflow_free(struct wt_mailflow *m);

#endif /* WT_ANALYZE_STORY_H */
