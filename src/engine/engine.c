/* \summary: the engine: assembles the layers into one context and drives frames through them */
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "analyze/analyze.h"
#include "capture/capture.h"
#include "capture/source.h"
#include "core/ctx_int.h"
#include "flow/flow.h"
#include "proto/dissector.h"

/*
 * The one place that knows every layer: it creates the flow table, the
 * fragment table and the analyzers, feeds each frame to the link layer
 * (capture -> flow -> proto -> analyze, each calling the next), lets time
 * expire state, and ends the run with the summary.  Nothing below calls
 * back up into it.
 */

/* Zero means "the default" for every cap. */
static void
fill_defaults(wt_options_t *o)
{
	wt_options_t d;
	wt_options_default(&d);
	if (!o->max_flows)
		o->max_flows = d.max_flows;
	if (!o->max_flow_buffer)
		o->max_flow_buffer = d.max_flow_buffer;
	if (!o->max_total_buffer)
		o->max_total_buffer = d.max_total_buffer;
	if (o->tcp_idle_timeout <= 0)
		o->tcp_idle_timeout = d.tcp_idle_timeout;
	if (o->udp_idle_timeout <= 0)
		o->udp_idle_timeout = d.udp_idle_timeout;
	if (!o->max_fragments)
		o->max_fragments = d.max_fragments;
	if (o->frag_timeout <= 0)
		o->frag_timeout = d.frag_timeout;
	if (o->dns_timeout <= 0)
		o->dns_timeout = d.dns_timeout;
}

wt_ctx_t *
wt_ctx_new(const wt_options_t *o)
{
	wt_ctx_t *ctx = calloc(1, sizeof *ctx);
	if (!ctx)
		return NULL;
	if (o)
		ctx->opt = *o;
	else
		wt_options_default(&ctx->opt);
	fill_defaults(&ctx->opt);
	ctx->warning_counts = json_object();
	ctx->files = json_array();
	ctx->records_out = json_object();
	ctx->flows = wt_flows_new(ctx);
	ctx->frags = wt_frags_new(ctx);
	if (!ctx->warning_counts || !ctx->files || !ctx->records_out ||
	    !ctx->flows || !ctx->frags || wt_analyze_init(ctx) != 0) {
		wt_ctx_free(ctx);
		return NULL;
	}
	return ctx;
}

void
wt_ctx_free(wt_ctx_t *ctx)
{
	size_t i;
	if (!ctx)
		return;
	wt_analyze_free(ctx);
	wt_proto_free(ctx);
	wt_flows_free(ctx->flows);
	wt_frags_free(ctx->frags);
	for (i = 0; i < ctx->n_bpf; i++)
		if (ctx->bpf[i].ok)
			pcap_freecode(&ctx->bpf[i].prog);
	json_decref(ctx->warning_counts);
	json_decref(ctx->files);
	json_decref(ctx->records_out);
	json_decref(ctx->emit_queue);
	free(ctx);
}

/* The filter compiled for this link type (compiled on first use). */
static const wt_bpf_t *
bpf_for(wt_ctx_t *ctx, int linktype)
{
	size_t i;
	wt_bpf_t *b;
	pcap_t *p;

	for (i = 0; i < ctx->n_bpf; i++)
		if (ctx->bpf[i].linktype == linktype)
			return &ctx->bpf[i];
	if (ctx->n_bpf == sizeof ctx->bpf / sizeof ctx->bpf[0])
		return NULL;
	b = &ctx->bpf[ctx->n_bpf++];
	b->linktype = linktype;
	b->ok = false;
	p = pcap_open_dead(wt_linktype_to_dlt(linktype), 262144);
	if (p) {
		if (pcap_compile(p, &b->prog, ctx->opt.bpf, 1,
				 PCAP_NETMASK_UNKNOWN) == 0)
			b->ok = true;
		pcap_close(p);
	}
	return b;
}

static void
count_linktype(wt_ctx_t *ctx, int linktype)
{
	size_t i;
	for (i = 0; i < ctx->n_linktypes; i++) {
		if (ctx->linktypes[i][0] == (uint64_t)linktype) {
			ctx->linktypes[i][1]++;
			return;
		}
	}
	if (ctx->n_linktypes < sizeof ctx->linktypes / sizeof ctx->linktypes[0]) {
		ctx->linktypes[ctx->n_linktypes][0] = (uint64_t)linktype;
		ctx->linktypes[ctx->n_linktypes][1] = 1;
		ctx->n_linktypes++;
	}
}

static int
time_lt(const wt_time_t *a, const wt_time_t *b)
{
	return a->sec < b->sec || (a->sec == b->sec && a->nsec < b->nsec);
}

void
wt_expire(wt_ctx_t *ctx, const wt_time_t *now)
{
	wt_flows_expire(ctx->flows, now);
	wt_frags_expire(ctx->frags, now);
	wt_analyze_expire(ctx, now);
}

void
wt_feed(wt_ctx_t *ctx, int linktype, const wt_time_t *ts, uint32_t caplen,
	uint32_t wirelen, const uint8_t *data)
{
	wt_pkt_t pkt;

	pkt.frame = ++ctx->frame;
	pkt.ts = *ts;
	pkt.caplen = caplen;
	pkt.wirelen = wirelen < caplen ? caplen : wirelen;
	pkt.linktype = linktype;
	ctx->packets++;
	ctx->bytes += pkt.wirelen;
	count_linktype(ctx, linktype);

	if (!ctx->have_ts) {
		ctx->first_ts = ctx->last_ts = ctx->now = *ts;
		ctx->next_expire = *ts;
		ctx->next_expire.sec += 1;
		ctx->have_ts = true;
	}
	/* Capture time only moves forward for expiry, even when a file
	 * holds frames slightly out of time order. */
	if (time_lt(&ctx->now, ts))
		ctx->now = *ts;
	if (time_lt(&ctx->last_ts, ts))
		ctx->last_ts = *ts;
	if (time_lt(ts, &ctx->first_ts))
		ctx->first_ts = *ts;

	if (ctx->opt.bpf) {
		const wt_bpf_t *b = bpf_for(ctx, linktype);
		struct pcap_pkthdr h;
		h.ts.tv_sec = (time_t)ts->sec;
		h.ts.tv_usec = (suseconds_t)(ts->nsec / 1000);
		h.caplen = caplen;
		h.len = pkt.wirelen;
		if (!b || !b->ok || pcap_offline_filter(&b->prog, &h, data) == 0) {
			wt_count(ctx, WT_C_BPF_REJECTED, 1);
			goto expire;
		}
	}
	wt_link_frame(ctx, data, &pkt);
expire:
	if (!time_lt(&ctx->now, &ctx->next_expire)) {
		wt_expire(ctx, &ctx->now);
		ctx->next_expire = ctx->now;
		ctx->next_expire.sec += 1;
	}
}

static const char *const counter_names[] = {
#define WT_X(name, desc) #name,
	WT_COUNTERS(WT_X)
#undef WT_X
};

static json_t *
summary_record(wt_ctx_t *ctx, json_t *extra)
{
	json_t *r = json_object(), *lts = json_array(), *cnt = json_object(),
	       *caps = json_object();
	size_t i;
	uint64_t evicted = ctx->counters[WT_C_FLOW_EVICTED];

	json_object_set_new(r, "type", json_string("summary"));
	json_object_set_new(r, "files", json_incref(ctx->files));
	json_object_set_new(r, "packets", json_integer((json_int_t)ctx->packets));
	json_object_set_new(r, "bytes", json_integer((json_int_t)ctx->bytes));
	json_object_set_new(r, "first_ts", ctx->have_ts ? wt_json_ts(&ctx->first_ts) : json_null());
	json_object_set_new(r, "last_ts", ctx->have_ts ? wt_json_ts(&ctx->last_ts) : json_null());
	json_object_set_new(r, "duration", json_real(ctx->have_ts ? wt_time_diff(&ctx->last_ts, &ctx->first_ts) : 0.0));
	for (i = 0; i < ctx->n_linktypes; i++) {
		json_t *l = json_object();
		int lt = (int)ctx->linktypes[i][0];
		const char *name = pcap_datalink_val_to_name(wt_linktype_to_dlt(lt));
		json_object_set_new(l, "linktype", json_integer(lt));
		json_object_set_new(l, "name", name ? json_string(name) : json_null());
		json_object_set_new(l, "frames", json_integer((json_int_t)ctx->linktypes[i][1]));
		json_array_append_new(lts, l);
	}
	json_object_set_new(r, "linktypes", lts);
	for (i = 0; i < WT_C__COUNT; i++) {
		char key[64];
		size_t k;
		snprintf(key, sizeof key, "%s", counter_names[i]);
		for (k = 0; key[k]; k++)
			if (key[k] >= 'A' && key[k] <= 'Z')
				key[k] = (char)(key[k] - 'A' + 'a');
		json_object_set_new(cnt, key, json_integer((json_int_t)ctx->counters[i]));
	}
	json_object_set_new(r, "counters", cnt);
	/* Every cap that was hit, with how often. */
	if (evicted)
		json_object_set_new(caps, "max_flows", json_integer((json_int_t)evicted));
	if (ctx->counters[WT_C_TCP_FLOW_CAP] + ctx->counters[WT_C_TCP_PENDING_CAP])
		json_object_set_new(caps, "max_flow_buffer",
				    json_integer((json_int_t)(ctx->counters[WT_C_TCP_FLOW_CAP] +
							      ctx->counters[WT_C_TCP_PENDING_CAP])));
	if (ctx->counters[WT_C_TCP_TOTAL_CAP])
		json_object_set_new(caps, "max_total_buffer", json_integer((json_int_t)ctx->counters[WT_C_TCP_TOTAL_CAP]));
	if (ctx->counters[WT_C_FRAG_CAP])
		json_object_set_new(caps, "max_fragments", json_integer((json_int_t)ctx->counters[WT_C_FRAG_CAP]));
	if (ctx->counters[WT_C_FRAG_TIMEOUT])
		json_object_set_new(caps, "frag_timeout", json_integer((json_int_t)ctx->counters[WT_C_FRAG_TIMEOUT]));
	if (ctx->counters[WT_C_FLOW_TIMEOUT])
		json_object_set_new(caps, "idle_timeout", json_integer((json_int_t)ctx->counters[WT_C_FLOW_TIMEOUT]));
	json_object_set_new(r, "caps_hit", caps);
	json_object_set_new(r, "warnings", json_incref(ctx->warning_counts));
	json_object_set_new(r, "records", json_deep_copy(ctx->records_out));
	if (extra)
		json_object_update(r, extra);
	return r;
}

void
wt_finish(wt_ctx_t *ctx, json_t *extra_summary)
{
	if (ctx->finished)
		return;
	ctx->finished = true;
	wt_flows_finish(ctx->flows);
	wt_analyze_finish(ctx);
	wt_emit(ctx, summary_record(ctx, extra_summary));
}

int
wt_run_files(wt_ctx_t *ctx, const char *const *files, size_t n)
{
	size_t i;
	int status = WT_EXIT_OK;

	for (i = 0; i < n; i++) {
		wt_source_t *src;
		wt_frame_t f;
		int rc = wt_source_open(ctx, files[i], &src);
		if (rc == WT_EXIT_OK) {
			while (wt_source_next(src, &f) == 1)
				wt_feed(ctx, f.linktype, &f.ts, f.caplen, f.wirelen, f.data);
			rc = wt_source_close(src);
		}
		/* The first fault decides the status; the next files are
		 * still read (rotated captures: one damaged file should not
		 * hide the rest). */
		if (rc != WT_EXIT_OK && status == WT_EXIT_OK)
			status = rc;
	}
	wt_finish(ctx, NULL);
	return status;
}
