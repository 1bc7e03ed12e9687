/* \summary: which ports are DNS's and SMTP's (the well-known ones and --dns-port/--smtp-port) */
#include "core/ctx_int.h"
#include "proto/dissector.h"

bool
wt_port_is_dns(const wt_ctx_t *ctx, uint16_t port)
{
	size_t i;
	if (port == 53 || port == 5353 || port == 5355)
		return true;
	for (i = 0; i < ctx->opt.n_dns_ports; i++)
		if (ctx->opt.dns_ports[i] == port)
			return true;
	return false;
}

bool
wt_port_is_smtp(const wt_ctx_t *ctx, uint16_t port)
{
	size_t i;
	if (port == 25 || port == 587 || port == 465 || port == 2525)
		return true;
	for (i = 0; i < ctx->opt.n_smtp_ports; i++)
		if (ctx->opt.smtp_ports[i] == port)
			return true;
	return false;
}

const wt_options_t *
wt_ctx_options(const wt_ctx_t *ctx)
{
	return &ctx->opt;
}
