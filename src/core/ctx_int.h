/* \summary: the analysis context (private to the library) */
#ifndef WT_CORE_CTX_INT_H
#define WT_CORE_CTX_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <pcap/pcap.h>

#include "core/record.h"
#include "wiretale/wiretale.h"

struct wt_flow_table;
struct wt_frag_table;
struct wt_dnstx;
struct wt_resolve;
struct wt_mailflow;

typedef struct wt_sink {
	wt_record_fn fn;
	void *user;
} wt_sink_t;

/* One BPF program per link type seen (a pcapng file may mix them). */
typedef struct wt_bpf {
	int linktype;
	struct bpf_program prog;
	bool ok;
} wt_bpf_t;

struct wt_ctx {
	wt_options_t opt;

	wt_sink_t sinks[8];
	size_t n_sinks;

	wt_stream_fn tap;
	void *tap_user;
	uint64_t tap_stream;

	struct wt_flow_table *flows;
	struct wt_frag_table *frags;

	/* analyze layer */
	struct wt_dnstx *dnstx;
	struct wt_resolve *resolve;
	struct wt_mailflow *mailflow;

	wt_bpf_t bpf[8];
	size_t n_bpf;

	/* position in the trace */
	uint64_t frame;
	wt_time_t now;       /* capture time of the newest frame */
	wt_time_t first_ts, last_ts;
	bool have_ts;
	wt_time_t next_expire;

	/* summary */
	uint64_t packets, bytes;
	uint64_t counters[WT_C__COUNT];
	uint64_t linktypes[16][2]; /* {linktype, frames} */
	size_t n_linktypes;
	json_t *warning_counts; /* {"CODE": n} */
	json_t *files;          /* [{"name","frames","status"}] */
	json_t *caps_hit;       /* {"cap": n} */
	json_t *records_out;    /* {"type": n} */
	uint64_t messages_seen;
	bool emitting;      /* inside wt_emit */
	json_t *emit_queue; /* records emitted meanwhile */
	uint64_t tcp_buffered; /* bytes held by all TCP reassembly */
	bool finished;
};

/* LINKTYPE_* (pcapng) to DLT_* (libpcap) */
int wt_linktype_to_dlt(int linktype);

/* The flow table's public face inside the library (src/flow/flow.c). */
struct wt_flow_table *wt_flows_new(wt_ctx_t *ctx);
void wt_flows_free(struct wt_flow_table *t);
/* Hand one transport packet (after IP parsing and reassembly) to the table. */
struct wt_l4 {
	wt_addr_t src, dst;
	uint8_t ipproto;
	const uint8_t *l4;   /* the TCP/UDP header and payload */
	size_t l4len;        /* as captured */
	size_t l4wirelen;    /* as the IP header says */
};
void wt_flows_packet(struct wt_flow_table *t, const struct wt_l4 *p,
		     const wt_pkt_t *pkt);
void wt_flows_expire(struct wt_flow_table *t, const wt_time_t *now);
void wt_flows_finish(struct wt_flow_table *t); /* end every flow (EOF) */
size_t wt_flows_count(const struct wt_flow_table *t);
uint64_t wt_flows_buffered(const struct wt_flow_table *t);

/* The analyze layer's hooks (src/analyze/analyze.c). */
int wt_analyze_init(wt_ctx_t *ctx);
/* Observers see every record before the sinks do. */
void wt_analyze_observe(wt_ctx_t *ctx, json_t *rec);
void wt_analyze_expire(wt_ctx_t *ctx, const wt_time_t *now);
void wt_analyze_finish(wt_ctx_t *ctx);
void wt_analyze_free(wt_ctx_t *ctx);

/* Capture layer entry (src/capture/link.c): one frame of a link type. */
void wt_link_frame(wt_ctx_t *ctx, const uint8_t *data, const wt_pkt_t *pkt);
/* IP layer (src/capture/ip.c): cur covers an IPv4 or IPv6 packet. */
void wt_ip_packet(wt_ctx_t *ctx, wt_cursor_t cur, const wt_pkt_t *pkt);
/* Fragments (src/capture/frag.c). */
struct wt_frag_table *wt_frags_new(wt_ctx_t *ctx);
void wt_frags_free(struct wt_frag_table *t);
void wt_frags_expire(struct wt_frag_table *t, const wt_time_t *now);

#endif /* WT_CORE_CTX_INT_H */
