/* \summary: the analyze layer's hooks: transactions, chains and flows */
#include "analyze/dns_tx.h"
#include "core/ctx_int.h"

/* TEMPORARY while the DNS module is written in parallel. */
#pragma weak wt_dnstx_new
#pragma weak wt_dnstx_expire
#pragma weak wt_dnstx_finish
#pragma weak wt_dnstx_free

int
wt_analyze_init(wt_ctx_t *ctx)
{
	if (wt_dnstx_new)
		ctx->dnstx = wt_dnstx_new(ctx);
	return 0;
}

void
wt_analyze_observe(wt_ctx_t *ctx, json_t *rec)
{
	(void)ctx;
	(void)rec;
}

void
wt_analyze_expire(wt_ctx_t *ctx, const wt_time_t *now)
{
	if (ctx->dnstx)
		wt_dnstx_expire(ctx->dnstx, now);
}

void
wt_analyze_finish(wt_ctx_t *ctx)
{
	if (ctx->dnstx)
		wt_dnstx_finish(ctx->dnstx);
}

void
wt_analyze_free(wt_ctx_t *ctx)
{
	if (ctx->dnstx)
		wt_dnstx_free(ctx->dnstx);
	ctx->dnstx = NULL;
}
