/* \summary: libwiretale public API: open captures, run the pipeline, get records */
#ifndef WIRETALE_WIRETALE_H
#define WIRETALE_WIRETALE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "wiretale/cursor.h"

#define WIRETALE_VERSION "0.1.0"

/* Exit statuses of the CLI, also returned by wt_run_files(). Documented in
 * `wiretale --help` and the README. */
enum wt_exit {
	WT_EXIT_OK = 0,       /* everything read and decoded */
	WT_EXIT_INTERNAL = 1, /* a bug or out of memory */
	WT_EXIT_USAGE = 2,    /* bad command line or option value */
	WT_EXIT_OPEN = 3,     /* a capture could not be opened / is not a capture / is empty */
	WT_EXIT_DAMAGED = 4,  /* a capture is truncated or has an impossible frame; what came before was reported */
	WT_EXIT_FILTER = 5,   /* the BPF filter does not compile */
	WT_EXIT_OUTPUT = 6,   /* the output could not be written */
	WT_EXIT_NOIFACE = 7,  /* live: no such interface */
	WT_EXIT_PERM = 8,     /* live: no permission to capture */
	WT_EXIT_RUBRIC = 9    /* grade: the rubric is invalid */
};

/* An IPv4 or IPv6 address.  IPv4 lives in a[0..3]. */
typedef struct wt_addr {
	uint8_t family; /* 4 or 6; 0 for none */
	uint8_t a[16];
} wt_addr_t;

typedef struct wt_endpoint {
	wt_addr_t ip;
	uint16_t port;
} wt_endpoint_t;

/* Timestamps are the capture's, kept to the nanosecond. */
typedef struct wt_time {
	int64_t sec;
	uint32_t nsec;
} wt_time_t;

/* What every layer knows of the frame being processed. */
typedef struct wt_pkt {
	uint64_t frame; /* 1-based, across all files read as one trace (as Wireshark numbers them within one file) */
	wt_time_t ts;
	uint32_t caplen;
	uint32_t wirelen;
	int linktype;
} wt_pkt_t;

typedef struct wt_options {
	const char *bpf; /* -f EXPR, or NULL */

	/* Caps and timeouts (0 means the default). */
	size_t max_flows;           /* flows in the table at once */
	size_t max_flow_buffer;     /* bytes buffered per direction of a TCP connection */
	size_t max_total_buffer;    /* bytes buffered by all TCP reassembly */
	double tcp_idle_timeout;    /* seconds of capture time */
	double udp_idle_timeout;
	size_t max_fragments;       /* IP datagrams being reassembled at once */
	double frag_timeout;
	double dns_timeout;         /* unanswered DNS query after this many seconds */

	/* Extra ports (from --dns-port / --smtp-port). */
	uint16_t dns_ports[8];
	size_t n_dns_ports;
	uint16_t smtp_ports[8];
	size_t n_smtp_ports;

	int show_secrets; /* --show-secrets */
	int progress;     /* show progress on stderr */
	int no_dissect;   /* flows only (follow, bench of the lower layers) */

	/* wiretale follow --message N: the SMTP/POP3/IMAP dissectors write the
	 * bytes of the Nth message seen (from 1, in order of completion) to
	 * message_out.  0: none. */
	uint64_t message_index;
	FILE *message_out;
} wt_options_t;

typedef struct wt_ctx wt_ctx_t;

/* A record consumer.  The record is borrowed: take a reference to keep it. */
typedef void (*wt_record_fn)(void *user, json_t *record);

/* A raw stream tap (wiretale follow): called with each direction's
 * reassembled bytes of a TCP stream in order.  gap > 0 reports that many
 * missing bytes instead of data.  dir is 0 for client->server. */
typedef void (*wt_stream_fn)(void *user, uint64_t stream, int dir,
			     const uint8_t *data, size_t len, uint64_t gap,
			     const wt_pkt_t *pkt);

void wt_options_default(wt_options_t *o);

/* Returns NULL on allocation failure.  The options are copied. */
wt_ctx_t *wt_ctx_new(const wt_options_t *o);
void wt_ctx_free(wt_ctx_t *ctx);

/* Record sinks are called in the order they were added. */
int wt_ctx_add_sink(wt_ctx_t *ctx, wt_record_fn fn, void *user);

/* Tap TCP stream `stream` (UINT64_MAX: every stream) before any dissector. */
void wt_ctx_set_stream_tap(wt_ctx_t *ctx, uint64_t stream, wt_stream_fn fn,
			   void *user);

/* Reads the files in order as one trace ("-" is standard input).  Emits the
 * records, ending with the "summary" record.  Returns a WT_EXIT_* status and,
 * on error, prints a message naming the file and frame on stderr. */
int wt_run_files(wt_ctx_t *ctx, const char *const *files, size_t n);

/* Lower-level entry points used by live capture: feed one frame, then
 * finish (flush all pending state and emit the summary). */
void wt_feed(wt_ctx_t *ctx, int linktype, const wt_time_t *ts, uint32_t caplen,
	     uint32_t wirelen, const uint8_t *data);
/* Expire state idle at capture time `now` (live capture calls this on a timer). */
void wt_expire(wt_ctx_t *ctx, const wt_time_t *now);
void wt_finish(wt_ctx_t *ctx, json_t *extra_summary);

/* Messages (SMTP, POP3, IMAP) seen so far, as numbered for follow --message. */
uint64_t wt_ctx_messages(const wt_ctx_t *ctx);

/* Checks that a BPF expression compiles; on failure returns -1 and writes
 * libpcap's message into err. */
int wt_bpf_check(const char *expr, char *err, size_t errlen);

/* Formatting helpers. */
void wt_addr_str(const wt_addr_t *a, char *buf, size_t len); /* buf >= 46 */

#endif /* WIRETALE_WIRETALE_H */
