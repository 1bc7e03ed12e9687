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

const char *
wt_end_name(wt_end_t e)
{
	switch (e) {
	case WT_END_FIN:
		return "fin";
	case WT_END_RST:
		return "rst";
	case WT_END_TIMEOUT:
		return "timeout";
	case WT_END_EVICTED:
		return "evicted";
	case WT_END_EOF:
		return "eof";
	}
	return "eof";
}

void
wt_proto_free(wt_ctx_t *ctx)
{
	wt_dns_free(ctx);
}
