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
struct wt_dns_msg;
struct wt_dns_meta;

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

	/* the analyze layer watches every record before the sinks */
	wt_record_fn observe;
	void *observe_user;

	/* the DNS dissector's parser and the consumer of its messages */
	struct wt_dns_msg *dns_parser;
	void (*dns_consumer)(void *user, const struct wt_dns_msg *m,
			     const struct wt_dns_meta *meta);
	void *dns_consumer_user;

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

/* The context's observer: the analyze layer registers itself here. */
void wt_ctx_set_observer(wt_ctx_t *ctx, wt_record_fn fn, void *user);

#endif /* WT_CORE_CTX_INT_H */
