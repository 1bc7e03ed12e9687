/* \summary: the context's settings: options, sinks, the stream tap, the observer */
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "core/ctx_int.h"

void
wt_options_default(wt_options_t *o)
{
	memset(o, 0, sizeof *o);
	o->max_flows = 262144;
	o->max_flow_buffer = 1 << 20;   /* 1 MiB per direction */
	o->max_total_buffer = 256 << 20; /* 256 MiB for all TCP reassembly */
	o->tcp_idle_timeout = 300;
	o->udp_idle_timeout = 60;
	o->max_fragments = 1024;
	o->frag_timeout = 30;
	o->dns_timeout = 5;
}

int
wt_ctx_add_sink(wt_ctx_t *ctx, wt_record_fn fn, void *user)
{
	if (ctx->n_sinks == sizeof ctx->sinks / sizeof ctx->sinks[0])
		return -1;
	ctx->sinks[ctx->n_sinks].fn = fn;
	ctx->sinks[ctx->n_sinks].user = user;
	ctx->n_sinks++;
	return 0;
}

void
wt_ctx_set_stream_tap(wt_ctx_t *ctx, uint64_t stream, wt_stream_fn fn,
		      void *user)
{
	ctx->tap = fn;
	ctx->tap_user = user;
	ctx->tap_stream = stream;
}

uint64_t
wt_ctx_messages(const wt_ctx_t *ctx)
{
	return ctx->messages_seen;
}

/* pcapng files carry LINKTYPE_* values, libpcap wants DLT_* ones. */
int
wt_linktype_to_dlt(int lt)
{
	switch (lt) {
	case 101:
		return DLT_RAW;
	default:
		return lt;
	}
}

int
wt_bpf_check(const char *expr, char *err, size_t errlen)
{
	struct bpf_program prog;
	pcap_t *p = pcap_open_dead(DLT_EN10MB, 262144);
	int rc = 0;
	if (!p) {
		snprintf(err, errlen, "cannot create a libpcap handle");
		return -1;
	}
	if (pcap_compile(p, &prog, expr, 1, PCAP_NETMASK_UNKNOWN) != 0) {
		snprintf(err, errlen, "%s", pcap_geterr(p));
		rc = -1;
	} else {
		pcap_freecode(&prog);
	}
	pcap_close(p);
	return rc;
}

void
wt_ctx_set_observer(wt_ctx_t *ctx, wt_record_fn fn, void *user)
{
	ctx->observe = fn;
	ctx->observe_user = user;
}
