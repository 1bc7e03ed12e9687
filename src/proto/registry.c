/* \summary: the table of dissectors and the port rules that pick one for a flow */
#include "proto/dissector.h"
#include "core/ctx_int.h"
#include "proto/dns.h"

/* Each dissector lives in its own file under src/proto/ and exports one
 * const wt_dissector_t.  Order matters: the first match claims the flow. */
extern const wt_dissector_t wt_dns_udp_dissector;
extern const wt_dissector_t wt_dns_tcp_dissector;
extern const wt_dissector_t wt_smtp_dissector;
extern const wt_dissector_t wt_pop3_dissector;
extern const wt_dissector_t wt_imap_dissector;

static const wt_dissector_t *const dissectors[] = {
	&wt_dns_udp_dissector,
	&wt_dns_tcp_dissector,
	&wt_smtp_dissector,
	&wt_pop3_dissector,
	&wt_imap_dissector,
};

const wt_dissector_t *
wt_dissector_find(const wt_ctx_t *ctx, uint8_t ipproto, uint16_t sport,
		  uint16_t dport, bool *server_is_dst)
{
	size_t i;
	if (ctx->opt.no_dissect)
		return NULL;
	for (i = 0; i < sizeof dissectors / sizeof dissectors[0]; i++) {
		const wt_dissector_t *d = dissectors[i];
		if (d->ipproto == ipproto && d->match(ctx, sport, dport, server_is_dst))
			return d;
	}
	return NULL;
}

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

void
wt_proto_free(wt_ctx_t *ctx)
{
	wt_dns_free(ctx);
}
