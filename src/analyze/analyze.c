/* \summary: the analyze layer's hooks: transactions, chains and flows */
#include "analyze/dns_tx.h"
#include "analyze/dns_tx_msg.h"
#include "analyze/story.h"
#include "analyze/analyze.h"
#include "core/ctx_int.h"

static void
dns_message(void *user, const wt_dns_msg_t *m, const wt_dns_meta_t *meta)
{
	wt_dnstx_message(user, m, meta);
}

static void
observe(void *user, json_t *rec)
{
	wt_analyze_observe(user, rec);
}

int
wt_analyze_init(wt_ctx_t *ctx)
{
	wt_ctx_set_observer(ctx, observe, ctx);
	if (!(ctx->dnstx = wt_dnstx_new(ctx)))
		return -1;
	wt_dns_set_consumer(ctx, dns_message, ctx->dnstx);
	if (ctx->opt.no_dissect)
		return 0; /* follow: flows only, no story */
	if (!(ctx->resolve = wt_resolve_new(ctx)))
		return -1;
	if (!(ctx->mailflow = wt_mailflow_new(ctx)))
		return -1;
	return 0;
}

void
wt_analyze_observe(wt_ctx_t *ctx, json_t *rec)
{
	if (ctx->resolve)
		wt_resolve_observe(ctx->resolve, rec);
	if (ctx->mailflow)
		wt_mailflow_observe(ctx->mailflow, rec);
}

void
wt_analyze_expire(wt_ctx_t *ctx, const wt_time_t *now)
{
	if (ctx->dnstx)
		wt_dnstx_expire(ctx->dnstx, now);
	if (ctx->resolve)
		wt_resolve_expire(ctx->resolve, now);
	if (ctx->mailflow)
		wt_mailflow_expire(ctx->mailflow, now);
}

/* In dependency order: pending transactions first (they feed the chains),
 * then the chains (the mail flows read resolutions), then the flows. */
void
wt_analyze_finish(wt_ctx_t *ctx)
{
	if (ctx->dnstx)
		wt_dnstx_finish(ctx->dnstx);
	if (ctx->resolve)
		wt_resolve_finish(ctx->resolve);
	if (ctx->mailflow)
		wt_mailflow_finish(ctx->mailflow);
}

void
wt_analyze_free(wt_ctx_t *ctx)
{
	if (ctx->dnstx)
		wt_dnstx_free(ctx->dnstx);
	if (ctx->resolve)
		wt_resolve_free(ctx->resolve);
	if (ctx->mailflow)
		wt_mailflow_free(ctx->mailflow);
	ctx->dnstx = NULL;
	ctx->resolve = NULL;
	ctx->mailflow = NULL;
}
