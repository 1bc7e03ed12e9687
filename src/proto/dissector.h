/* \summary: the one interface between the flow layer and every dissector */
#ifndef WT_PROTO_DISSECTOR_H
#define WT_PROTO_DISSECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wiretale/wiretale.h"

/* Direction of data inside a flow, seen from the dissector. */
typedef enum wt_dir {
	WT_TO_SERVER = 0, /* client -> server */
	WT_TO_CLIENT = 1  /* server -> client */
} wt_dir_t;

/* Why a flow ends. */
typedef enum wt_end {
	WT_END_FIN = 0, /* both sides closed (FIN) */
	WT_END_RST,     /* reset */
	WT_END_TIMEOUT, /* idle too long */
	WT_END_EVICTED, /* the flow table was full */
	WT_END_EOF      /* end of the capture */
} wt_end_t;

const char *wt_end_name(wt_end_t e);

/* What a dissector is told when it claims a flow. */
typedef struct wt_flow_info {
	wt_endpoint_t client; /* the initiator (SYN sender), or the non-service side */
	wt_endpoint_t server;
	uint8_t ipproto;      /* 6 or 17 */
	uint64_t stream;      /* tcp.stream / udp.stream index, from 0 */
	uint64_t first_frame;
	wt_time_t first_ts;
	bool midstream;       /* TCP: the handshake was not seen */
} wt_flow_info_t;

/*
 * A dissector.  All callbacks receive the state that open() returned.
 *
 * TCP streaming contract (Suricata's): data() gets the in-order bytes of one
 * direction, starting with any bytes it did not consume last time, and
 * returns how many it consumed.  Unconsumed bytes are kept (up to the
 * per-flow cap) and presented again with the next data.  pkt is the frame
 * whose segment completed the bytes now available, so a message finished in
 * this call "belongs" to pkt->frame, as Wireshark shows it.  When the cap is
 * hit the kept bytes are dropped and gap() is called instead.
 *
 * gap(): n bytes of this direction were never captured; the stream goes on.
 * datagram(): one UDP payload.
 * close(): the flow ended; emit what is pending and free the state.
 */
typedef struct wt_dissector {
	const char *name;
	uint8_t ipproto;
	/* Does this dissector want a flow between these ports?  Sets
	 * *server_is_dst when the destination port is the service's. */
	bool (*match)(const wt_ctx_t *ctx, uint16_t sport, uint16_t dport,
		      bool *server_is_dst);
	void *(*open)(wt_ctx_t *ctx, const wt_flow_info_t *fi);
	size_t (*data)(void *st, wt_dir_t dir, const uint8_t *p, size_t n,
		       const wt_pkt_t *pkt);
	void (*gap)(void *st, wt_dir_t dir, uint64_t n, const wt_pkt_t *pkt);
	void (*datagram)(void *st, wt_dir_t dir, const uint8_t *p, size_t n,
			 const wt_pkt_t *pkt);
	void (*close)(void *st, wt_end_t why, const wt_pkt_t *last);
} wt_dissector_t;

/* The registry (src/proto/registry.c): the first dissector whose match()
 * accepts the flow claims it. */
const wt_dissector_t *wt_dissector_find(const wt_ctx_t *ctx, uint8_t ipproto,
					uint16_t sport, uint16_t dport,
					bool *server_is_dst);

/* Frees what the dissectors keep per context (the engine calls it). */
void wt_proto_free(wt_ctx_t *ctx);

/* Port helpers for match() implementations. */
bool wt_port_is_dns(const wt_ctx_t *ctx, uint16_t port);
bool wt_port_is_smtp(const wt_ctx_t *ctx, uint16_t port);
const wt_options_t *wt_ctx_options(const wt_ctx_t *ctx);

#endif /* WT_PROTO_DISSECTOR_H */
