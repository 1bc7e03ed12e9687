/* \summary: link layers: Ethernet (802.1Q/QinQ), Linux SLL/SLL2, BSD NULL/LOOP, raw IP */
#include <stdbool.h>

#include <pcap/dlt.h>

#include "capture/capture.h"
#include "core/ctx_int.h"

/* LINKTYPE_* values as they appear in pcapng files; libpcap hands us DLT_*
 * values for pcap files, which differ for a few of them (DLT_RAW is 12 on
 * Linux, 14 on OpenBSD, LINKTYPE_RAW is 101). */
enum {
	LT_NULL = 0,
	LT_ETHERNET = 1,
	LT_RAW_LINUX = 12,
	LT_RAW_OPENBSD = 14,
	LT_RAW = 101,
	LT_LOOP = 108,
	LT_LINUX_SLL = 113,
	LT_IPV4 = 228,
	LT_IPV6 = 229,
	LT_LINUX_SLL2 = 276
};

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88a8
#define ETHERTYPE_QINQ_OLD 0x9100
#define MAX_VLAN_TAGS 4

/* Follows an ethertype (after any VLAN tags) to IP. */
static void
ethertype(wt_ctx_t *ctx, uint16_t type, wt_cursor_t c, const wt_pkt_t *pkt)
{
	int tags = 0;
	while ((type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ ||
		type == ETHERTYPE_QINQ_OLD) && tags++ < MAX_VLAN_TAGS) {
		(void)wt_cur_be16(&c); /* TCI: priority, DEI, VLAN id */
		type = wt_cur_be16(&c);
	}
	if (!wt_cur_ok(&c)) {
		wt_count(ctx, WT_C_LINK_TRUNCATED, 1);
		return;
	}
	if (type == ETHERTYPE_IPV4 || type == ETHERTYPE_IPV6)
		wt_ip_packet(ctx, wt_cur_rest(&c), pkt);
	else
		wt_count(ctx, WT_C_NOT_IP, 1);
}

/* BSD AF_INET6 values differ between systems (Linux 10, BSDs 24/28/30). */
static void
null_family(wt_ctx_t *ctx, uint32_t fam, wt_cursor_t c, const wt_pkt_t *pkt)
{
	if (fam == 2 || fam == 10 || fam == 24 || fam == 28 || fam == 30)
		wt_ip_packet(ctx, wt_cur_rest(&c), pkt);
	else
		wt_count(ctx, WT_C_NOT_IP, 1);
}

void
wt_link_frame(wt_ctx_t *ctx, const uint8_t *data, const wt_pkt_t *pkt)
{
	wt_cursor_t c = wt_cur_make(data, pkt->caplen);
	uint16_t type = 0;
	uint32_t fam = 0;
	bool by_family = false;

	switch (pkt->linktype) {
	case LT_ETHERNET:
		wt_cur_skip(&c, 12); /* destination and source MAC */
		type = wt_cur_be16(&c);
		break;
	case LT_LINUX_SLL:
		/* packet type(2) ARPHRD(2) addr len(2) addr(8) protocol(2) */
		wt_cur_skip(&c, 14);
		type = wt_cur_be16(&c);
		break;
	case LT_LINUX_SLL2:
		/* protocol(2) reserved(2) ifindex(4) ARPHRD(2) pkttype(1)
		 * addr len(1) addr(8) */
		type = wt_cur_be16(&c);
		wt_cur_skip(&c, 18);
		break;
	case LT_NULL:
		/* The family is in the capturing host's byte order: values
		 * are small, so whichever order gives a small number is it. */
		fam = wt_cur_le32(&c);
		if (fam > 0xffff)
			fam = (fam >> 24) | ((fam >> 8) & 0xff00);
		by_family = true;
		break;
	case LT_LOOP:
		fam = wt_cur_be32(&c);
		by_family = true;
		break;
	case LT_RAW:
	case LT_RAW_LINUX:
	case LT_RAW_OPENBSD:
	case LT_IPV4:
	case LT_IPV6:
		wt_ip_packet(ctx, c, pkt);
		return;
	default:
		wt_count(ctx, WT_C_LINK_UNSUPPORTED, 1);
		return;
	}
	if (!wt_cur_ok(&c)) {
		wt_count(ctx, WT_C_LINK_TRUNCATED, 1);
		return;
	}
	if (by_family)
		null_family(ctx, fam, c, pkt);
	else
		ethertype(ctx, type, c, pkt);
}
