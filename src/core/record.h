/* \summary: building and emitting JSON records, warnings and counters */
#ifndef WT_CORE_RECORD_H
#define WT_CORE_RECORD_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "wiretale/wiretale.h"

/*
 * Records are jansson objects with a "type" field.  Any layer may emit one
 * with wt_emit(): it goes to the analyzers that watch that type (resolution
 * chains watch "dns", mail flows watch "smtp"/"pop3"/"imap"/"dns"), then to
 * every sink (the JSON Lines writer, the text report, tests).  wt_emit()
 * steals the reference.
 */
void wt_emit(wt_ctx_t *ctx, json_t *rec);

/*
 * A "warning" record: {"type":"warning","frame","ts","proto","code","message"}
 * plus the counter of that code in the summary.  code is a constant
 * SHOUTING_NAME (e.g. "DNS_BAD_POINTER").  pkt may be NULL.
 */
void wt_warn(wt_ctx_t *ctx, const wt_pkt_t *pkt, const char *proto,
	     const char *code, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Helpers that build the common JSON shapes.  All return new references. */
json_t *wt_json_ts(const wt_time_t *t);               /* seconds as a number */
json_t *wt_json_ip(const wt_addr_t *a);               /* "192.0.2.1" / "2001:db8::1" */
json_t *wt_json_endpoint(const wt_endpoint_t *e);     /* {"ip","port"} */
double wt_time_diff(const wt_time_t *later, const wt_time_t *earlier);
double wt_time_to_double(const wt_time_t *t);

/*
 * A JSON string from bytes of the wire: valid UTF-8 is kept, every other
 * byte and every control character except TAB becomes \xNN (so the output
 * is always valid UTF-8 and one line).
 */
json_t *wt_json_bytes(const uint8_t *p, size_t n);
/* The same escaping into a caller's buffer; returns the length written
 * (always NUL-terminated, truncated to cap-1). */
size_t wt_escape_bytes(const uint8_t *p, size_t n, char *out, size_t cap);

/*
 * Messages (SMTP DATA/BDAT, POP3 RETR/TOP, IMAP FETCH bodies) are numbered
 * 1, 2, 3 ... in order of their start, for `wiretale follow --message N`.
 * Returns the new message's number; *out is set to the FILE to copy the
 * message's raw bytes to when it is the one asked for, else NULL.
 */
uint64_t wt_message_next(wt_ctx_t *ctx, FILE **out);

/* Named counters of the lower layers, summed in the "summary" record. */
#define WT_COUNTERS(X)                                                      \
	X(LINK_UNSUPPORTED, "frames of an unsupported link type")          \
	X(LINK_TRUNCATED, "frames too short for their link header")        \
	X(NOT_IP, "frames carrying neither IPv4 nor IPv6")                   \
	X(IP_MALFORMED, "IP headers that break the rules")                 \
	X(IP_TRUNCATED, "IP packets cut short by the snaplen")             \
	X(IP_OTHER_PROTO, "IP packets neither TCP nor UDP")                 \
	X(FRAG_REASSEMBLED, "IP datagrams rebuilt from fragments")          \
	X(FRAG_TIMEOUT, "fragmented datagrams dropped: timeout")           \
	X(FRAG_CAP, "fragmented datagrams dropped: table full")            \
	X(FRAG_TOO_BIG, "fragmented datagrams dropped: over 65535 bytes")  \
	X(FRAG_OVERLAP, "fragments overlapping earlier ones")              \
	X(TCP_MALFORMED, "TCP headers that break the rules")               \
	X(UDP_MALFORMED, "UDP headers that break the rules")               \
	X(FLOW_EVICTED, "flows evicted because the table was full")        \
	X(FLOW_TIMEOUT, "flows ended by idle timeout")                     \
	X(TCP_OUT_OF_ORDER, "TCP segments buffered out of order")          \
	X(TCP_RETRANSMIT, "TCP segments already delivered (dropped)")      \
	X(TCP_OVERLAP, "TCP segments partly overlapping delivered data")   \
	X(TCP_GAPS, "TCP gaps reported to dissectors")                     \
	X(TCP_GAP_BYTES, "TCP bytes never captured")                       \
	X(TCP_FLOW_CAP, "TCP segments dropped: per-flow buffer cap")       \
	X(TCP_TOTAL_CAP, "TCP segments dropped: total buffer cap")         \
	X(TCP_PENDING_CAP, "TCP unconsumed bytes dropped: per-flow cap")    \
	X(BPF_REJECTED, "frames rejected by the BPF filter")

enum wt_counter {
#define WT_X(name, desc) WT_C_##name,
	WT_COUNTERS(WT_X)
#undef WT_X
	WT_C__COUNT
};

void wt_count(wt_ctx_t *ctx, enum wt_counter c, uint64_t n);

#endif /* WT_CORE_RECORD_H */
