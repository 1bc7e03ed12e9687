/* \summary: DNS over UDP and TCP (RFC 1035 4.2, RFC 7766): framing, then the parser and transactions */
#include <stdlib.h>
#include <string.h>

#include "core/ctx_int.h"
#include "core/record.h"
#include "proto/dissector.h"
#include "proto/dns.h"
#include "proto/dns_msg.h"

/*
 * UDP: one message per datagram.  TCP: each message is preceded by a
 * two-byte length (RFC 1035 4.2.2); several may share a segment and one
 * may span several.  We consume whole messages only, so the flow layer
 * keeps a partial one and hands it back with the next segment; the frame
 * of the call that completes a message is the message's frame, as
 * Wireshark's reassembly shows it.
 *
 * After a gap the length prefixes are lost.  We then look for the next
 * offset where a length prefix is followed by a message that parses
 * without a fault, skip what came before with a warning, and go on.
 */

#define DNS_MIN_MSG 12
#define RESYNC_SCAN_MAX 65536 /* bytes examined per call while resyncing */

typedef struct dns_state {
	wt_ctx_t *ctx;
	wt_flow_info_t fi;
	bool mdns;
	bool lost[2]; /* direction lost its framing after a gap */
} dns_state_t;

static bool
dns_match(const wt_ctx_t *ctx, uint16_t sport, uint16_t dport,
	  bool *server_is_dst)
{
	if (wt_port_is_dns(ctx, dport)) {
		*server_is_dst = true;
		return true;
	}
	if (wt_port_is_dns(ctx, sport)) {
		*server_is_dst = false;
		return true;
	}
	return false;
}

static void *
dns_open(wt_ctx_t *ctx, const wt_flow_info_t *fi)
{
	dns_state_t *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->ctx = ctx;
	s->fi = *fi;
	/* RFC 6762 18.12 / 10.2: class top bits are flags on port 5353. */
	s->mdns = fi->client.port == 5353 || fi->server.port == 5353;
	return s;
}

/* One parser per context, reused for every message (its text buffer is
 * large): no message allocates. */
static wt_dns_msg_t *
parser_of(dns_state_t *s)
{
	wt_ctx_t *ctx = s->ctx;
	if (!ctx->dns_parser) {
		wt_dns_msg_t *m = calloc(1, sizeof *m);
		if (!m || wt_dns_msg_init(m) != 0) {
			free(m);
			return NULL;
		}
		ctx->dns_parser = m;
	}
	return ctx->dns_parser;
}

void
wt_dns_set_consumer(wt_ctx_t *ctx, wt_dns_consumer_fn fn, void *user)
{
	ctx->dns_consumer = fn;
	ctx->dns_consumer_user = user;
}

void
wt_dns_free(wt_ctx_t *ctx)
{
	if (ctx->dns_parser) {
		wt_dns_msg_free(ctx->dns_parser);
		free(ctx->dns_parser);
		ctx->dns_parser = NULL;
	}
}

static const char *
fault_code(wt_status_t st)
{
	switch (st) {
	case WT_E_TRUNC: return "DNS_TRUNCATED";
	case WT_E_LIMIT: return "DNS_LIMIT";
	default: return "DNS_MALFORMED";
	}
}

/* Parses one message, reports its fault, hands it on. */
static void
handle_message(dns_state_t *s, wt_dir_t dir, const uint8_t *p, size_t n,
	       const wt_pkt_t *pkt, bool tcp, size_t base_off)
{
	wt_dns_msg_t *m = parser_of(s);
	wt_dns_meta_t meta;
	if (!m)
		return;
	wt_dns_parse(m, p, n, s->mdns ? WT_DNS_PARSE_MDNS : 0);
	if (m->err.status != WT_OK)
		wt_warn(s->ctx, pkt, "dns", fault_code(m->err.status),
			"%s message id %u, offset %zu: %s",
			m->header_ok ? (m->hdr.qr ? "response" : "query") : "short",
			m->hdr.id, base_off + m->err.offset, m->err.reason);
	if (!m->header_ok)
		return;
	meta.src = dir == WT_TO_SERVER ? s->fi.client : s->fi.server;
	meta.dst = dir == WT_TO_SERVER ? s->fi.server : s->fi.client;
	meta.tcp = tcp;
	meta.pkt = pkt;
	if (s->ctx->dns_consumer)
		s->ctx->dns_consumer(s->ctx->dns_consumer_user, m, &meta);
}

static void
dns_datagram(void *st, wt_dir_t dir, const uint8_t *p, size_t n,
	     const wt_pkt_t *pkt)
{
	handle_message(st, dir, p, n, pkt, false, 0);
}

/* Does a length prefix at c's position frame a clean message?  Returns 1
 * yes, 0 no, -1 cannot tell yet (not all of it is here). */
static int
plausible_at(dns_state_t *s, wt_cursor_t c)
{
	uint16_t len = wt_cur_be16(&c);
	const uint8_t *msg;
	wt_dns_msg_t *m;
	if (!wt_cur_ok(&c))
		return -1;
	if (len < DNS_MIN_MSG)
		return 0;
	msg = wt_cur_peek(&c, len);
	if (!msg) {
		/* Judge what is here: a header that makes sense. */
		wt_cursor_t h = c;
		uint8_t b2, b3;
		uint16_t qd;
		if (!wt_cur_has(&c, DNS_MIN_MSG))
			return -1;
		wt_cur_skip(&h, 2);
		b2 = wt_cur_u8(&h);
		b3 = wt_cur_u8(&h);
		qd = wt_cur_be16(&h);
		if (((b2 >> 3) & 15) > 6 || (b3 & 0x40) || qd > 1)
			return 0;
		return -1;
	}
	m = parser_of(s);
	if (!m)
		return 0;
	return wt_dns_parse(m, msg, len, s->mdns ? WT_DNS_PARSE_MDNS : 0) == WT_OK &&
	       m->hdr.qdcount <= 1;
}

static size_t
dns_data(void *st, wt_dir_t dir, const uint8_t *p, size_t n,
	 const wt_pkt_t *pkt)
{
	dns_state_t *s = st;
	wt_cursor_t c = wt_cur_make(p, n);
	size_t consumed = 0;

	if (s->lost[dir]) {
		size_t i, lim = n < RESYNC_SCAN_MAX ? n : RESYNC_SCAN_MAX;
		for (i = 0; i < lim; i++) {
			wt_cursor_t at = c;
			int r;
			wt_cur_seek(&at, i);
			r = plausible_at(s, at);
			if (r < 0)
				return i; /* wait for more bytes at i */
			if (r > 0)
				break;
		}
		if (i == lim) {
			/* Nothing here looks like a message start. */
			return lim;
		}
		s->lost[dir] = false;
		if (i > 0)
			wt_warn(s->ctx, pkt, "dns", "DNS_TCP_RESYNC",
				"skipped %zu bytes to find the next DNS message "
				"after a gap", i);
		wt_cur_seek(&c, i);
		consumed = i;
	}
	for (;;) {
		wt_cursor_t m = c;
		uint16_t len = wt_cur_be16(&m);
		const uint8_t *msg;
		size_t start = c.off;
		if (!wt_cur_ok(&m))
			break;
		msg = wt_cur_take(&m, len);
		if (!msg)
			break; /* the rest comes with a later segment */
		if (len == 0)
			wt_warn(s->ctx, pkt, "dns", "DNS_TRUNCATED",
				"zero-length DNS message over TCP");
		else
			handle_message(s, dir, msg, len, pkt, true, start + 2);
		c = m;
		consumed = c.off;
	}
	return consumed;
}

static void
dns_gap(void *st, wt_dir_t dir, uint64_t n, const wt_pkt_t *pkt)
{
	dns_state_t *s = st;
	if (!s->lost[dir])
		wt_warn(s->ctx, pkt, "dns", "DNS_TCP_GAP",
			"%llu bytes missing from the %s stream: DNS messages "
			"there are lost",
			(unsigned long long)n,
			dir == WT_TO_SERVER ? "client" : "server");
	s->lost[dir] = true;
}

static void
dns_close(void *st, wt_end_t why, const wt_pkt_t *last)
{
	free(st);
}

const wt_dissector_t wt_dns_udp_dissector = {
	.name = "dns",
	.ipproto = 17,
	.match = dns_match,
	.open = dns_open,
	.data = NULL,
	.gap = NULL,
	.datagram = dns_datagram,
	.close = dns_close,
};

const wt_dissector_t wt_dns_tcp_dissector = {
	.name = "dns",
	.ipproto = 6,
	.match = dns_match,
	.open = dns_open,
	.data = dns_data,
	.gap = dns_gap,
	.datagram = NULL,
	.close = dns_close,
};
