/* \summary: the analyze layer's entry points (src/analyze/analyze.c) */
#ifndef WT_ANALYZE_ANALYZE_H
#define WT_ANALYZE_ANALYZE_H

#include <jansson.h>

#include "wiretale/wiretale.h"

/* Creates the analyzers and registers the observer that shows them every
 * record before the sinks see it. */
int wt_analyze_init(wt_ctx_t *ctx);
void wt_analyze_observe(wt_ctx_t *ctx, json_t *rec);
void wt_analyze_expire(wt_ctx_t *ctx, const wt_time_t *now);
void wt_analyze_finish(wt_ctx_t *ctx);
void wt_analyze_free(wt_ctx_t *ctx);

#endif /* WT_ANALYZE_ANALYZE_H */
