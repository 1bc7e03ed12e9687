/* \summary: IPv4 (with options) and IPv6 (with extension headers), fragments handed to frag.c */
#include <string.h>

#include "capture/frag.h"
#include "capture/capture.h"
#include "core/ctx_int.h"
#include "flow/flow.h"

#define IPPROTO_HOPOPTS_ 0
#define IPPROTO_IPIP_ 4
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define IPPROTO_IPV6_ 41
#define IPPROTO_ROUTING_ 43
#define IPPROTO_FRAGMENT_ 44
#define IPPROTO_ESP_ 50
#define IPPROTO_AH_ 51
#define IPPROTO_NONE_ 59
#define IPPROTO_DSTOPTS_ 60
#define IPPROTO_MH_ 135

#define MAX_TUNNEL_DEPTH 2

static void ip_packet(wt_ctx_t *ctx, wt_cursor_t c, const wt_pkt_t *pkt,
		      int depth);

/* A transport payload is ready: TCP/UDP go to the flow table, IP-in-IP
 * tunnels are followed once or twice, the rest is counted. */
static void
transport(wt_ctx_t *ctx, const wt_addr_t *src, const wt_addr_t *dst,
	  uint8_t proto, const uint8_t *p, size_t caplen, size_t wirelen,
	  const wt_pkt_t *pkt, int depth)
{
	struct wt_l4 l4;

	if (proto == IPPROTO_TCP_ || proto == IPPROTO_UDP_) {
		l4.src = *src;
		l4.dst = *dst;
		l4.ipproto = proto;
		l4.l4 = p;
		l4.l4len = caplen;
		l4.l4wirelen = wirelen;
		wt_flows_packet(ctx->flows, &l4, pkt);
	} else if ((proto == IPPROTO_IPIP_ || proto == IPPROTO_IPV6_) &&
		   depth < MAX_TUNNEL_DEPTH) {
		ip_packet(ctx, wt_cur_make(p, caplen), pkt, depth + 1);
	} else {
		wt_count(ctx, WT_C_IP_OTHER_PROTO, 1);
	}
}

/*
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * |Version|  IHL  |Type of Service|          Total Length         |
 * |         Identification        |Flags|      Fragment Offset    |
 * |  Time to Live |    Protocol   |         Header Checksum       |
 * |                       Source Address                          |
 * |                    Destination Address                        |
 * |                    Options                    |    Padding    |
 *                        (RFC 791, 3.1)
 */
static void
ipv4(wt_ctx_t *ctx, wt_cursor_t c, const wt_pkt_t *pkt, int depth)
{
	wt_addr_t src, dst;
	uint8_t vihl, proto;
	uint16_t total, frag;
	size_t hlen, caplen, wirelen;
	const uint8_t *payload;

	memset(&src, 0, sizeof src);
	memset(&dst, 0, sizeof dst);
	vihl = wt_cur_u8(&c);
	wt_cur_skip(&c, 1);
	total = wt_cur_be16(&c);
	uint16_t id = wt_cur_be16(&c);
	frag = wt_cur_be16(&c);
	wt_cur_skip(&c, 1);
	proto = wt_cur_u8(&c);
	wt_cur_skip(&c, 2);
	src.family = dst.family = 4;
	wt_cur_copy(&c, src.a, 4);
	wt_cur_copy(&c, dst.a, 4);
	if (!wt_cur_ok(&c)) {
		wt_count(ctx, WT_C_IP_TRUNCATED, 1);
		return;
	}
	hlen = (size_t)(vihl & 0x0f) * 4;
	/* A total length of 0 is what TCP segmentation offload leaves in
	 * packets captured on the sending host: the frame says how long the
	 * packet is (Wireshark does the same). */
	if (total == 0 && hlen >= 20)
		total = (uint16_t)(wt_cur_left(&c) + 20 > 0xffff ? 0xffff : wt_cur_left(&c) + 20);
	if (hlen < 20 || total < hlen) {
		wt_count(ctx, WT_C_IP_MALFORMED, 1);
		return;
	}
	if (!wt_cur_skip(&c, hlen - 20)) { /* options */
		wt_count(ctx, WT_C_IP_TRUNCATED, 1);
		return;
	}
	wirelen = total - hlen;
	caplen = wt_cur_left(&c);
	if (caplen > wirelen)
		caplen = wirelen; /* Ethernet padding */
	payload = wt_cur_take(&c, caplen);

	if (frag & 0x3fff) { /* MF set or offset != 0 */
		wt_frag_key_t key;
		const uint8_t *out;
		size_t outlen;
		if (caplen < wirelen) {
			/* A fragment cut by the snaplen cannot be rebuilt. */
			wt_count(ctx, WT_C_IP_TRUNCATED, 1);
			return;
		}
		memset(&key, 0, sizeof key);
		key.src = src;
		key.dst = dst;
		key.id = id;
		key.proto = proto;
		if (wt_frag_add(ctx->frags, &key, (uint32_t)(frag & 0x1fff) * 8,
				(frag & 0x2000) != 0, payload, caplen, pkt,
				&out, &outlen) == 1)
			transport(ctx, &src, &dst, proto, out, outlen, outlen,
				  pkt, depth);
		return;
	}
	transport(ctx, &src, &dst, proto, payload, caplen, wirelen, pkt, depth);
}

/* RFC 8200: the fixed header, then a chain of extension headers. */
static void
ipv6(wt_ctx_t *ctx, wt_cursor_t c, const wt_pkt_t *pkt, int depth)
{
	wt_addr_t src, dst;
	uint16_t plen;
	uint8_t nh;
	size_t wirelen;
	int hdrs = 0;
	bool fragmented = false;
	uint32_t frag_off = 0, frag_id = 0;
	bool frag_more = false;

	memset(&src, 0, sizeof src);
	memset(&dst, 0, sizeof dst);
	wt_cur_skip(&c, 4); /* version, traffic class, flow label */
	plen = wt_cur_be16(&c);
	nh = wt_cur_u8(&c);
	wt_cur_skip(&c, 1);
	src.family = dst.family = 6;
	wt_cur_copy(&c, src.a, 16);
	wt_cur_copy(&c, dst.a, 16);
	if (!wt_cur_ok(&c)) {
		wt_count(ctx, WT_C_IP_TRUNCATED, 1);
		return;
	}
	/* A zero payload length means a jumbogram; take what is there. */
	wirelen = plen ? plen : wt_cur_left(&c);
	if (wt_cur_left(&c) > wirelen)
		c.len = c.off + wirelen; /* drop link-layer padding */

	while (hdrs++ < 16) {
		uint8_t next, len;
		switch (nh) {
		case IPPROTO_HOPOPTS_:
		case IPPROTO_ROUTING_:
		case IPPROTO_DSTOPTS_:
		case IPPROTO_MH_:
			next = wt_cur_u8(&c);
			len = wt_cur_u8(&c);
			wt_cur_skip(&c, (size_t)len * 8 + 6);
			break;
		case IPPROTO_AH_:
			next = wt_cur_u8(&c);
			len = wt_cur_u8(&c);
			wt_cur_skip(&c, (size_t)len * 4 + 6);
			break;
		case IPPROTO_FRAGMENT_: {
			uint16_t offm;
			next = wt_cur_u8(&c);
			wt_cur_skip(&c, 1);
			offm = wt_cur_be16(&c);
			frag_id = wt_cur_be32(&c);
			frag_off = (uint32_t)(offm & 0xfff8);
			frag_more = (offm & 1) != 0;
			fragmented = frag_off != 0 || frag_more;
			break;
		}
		default:
			goto done;
		}
		if (!wt_cur_ok(&c)) {
			wt_count(ctx, WT_C_IP_TRUNCATED, 1);
			return;
		}
		nh = next;
		if (fragmented)
			break; /* what follows belongs to the fragmentable part */
	}
done:
	if (nh == IPPROTO_ESP_ || nh == IPPROTO_NONE_) {
		wt_count(ctx, WT_C_IP_OTHER_PROTO, 1);
		return;
	}
	{
		size_t consumed = c.off - 40;
		size_t l4wire = wirelen > consumed ? wirelen - consumed : 0;
		size_t caplen = wt_cur_left(&c);
		const uint8_t *payload = wt_cur_take(&c, caplen);

		if (fragmented) {
			wt_frag_key_t key;
			const uint8_t *out;
			size_t outlen;
			if (caplen < l4wire) {
				wt_count(ctx, WT_C_IP_TRUNCATED, 1);
				return;
			}
			memset(&key, 0, sizeof key);
			key.src = src;
			key.dst = dst;
			key.id = frag_id;
			key.proto = nh;
			/* Only the first fragment carries the upper-layer
			 * headers (RFC 8200, 4.5); the next header of the
			 * first fragment is the one that counts. */
			if (wt_frag_add(ctx->frags, &key, frag_off, frag_more,
					payload, caplen, pkt, &out,
					&outlen) == 1)
				transport(ctx, &src, &dst, nh, out, outlen,
					  outlen, pkt, depth);
			return;
		}
		transport(ctx, &src, &dst, nh, payload, caplen, l4wire, pkt,
			  depth);
	}
}

static void
ip_packet(wt_ctx_t *ctx, wt_cursor_t c, const wt_pkt_t *pkt, int depth)
{
	const uint8_t *v = wt_cur_peek(&c, 1);
	if (!v) {
		wt_count(ctx, WT_C_IP_TRUNCATED, 1);
		return;
	}
	switch (v[0] >> 4) {
	case 4:
		ipv4(ctx, c, pkt, depth);
		break;
	case 6:
		ipv6(ctx, c, pkt, depth);
		break;
	default:
		wt_count(ctx, WT_C_NOT_IP, 1);
		break;
	}
}

void
wt_ip_packet(wt_ctx_t *ctx, wt_cursor_t c, const wt_pkt_t *pkt)
{
	ip_packet(ctx, c, pkt, 0);
}
