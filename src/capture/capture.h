/* \summary: the capture layer's entry points: link layers, IP, fragment table */
#ifndef WT_CAPTURE_CAPTURE_H
#define WT_CAPTURE_CAPTURE_H

#include <stdint.h>

#include "wiretale/wiretale.h"

/* One frame of pkt->linktype (src/capture/link.c). */
void wt_link_frame(wt_ctx_t *ctx, const uint8_t *data, const wt_pkt_t *pkt);
/* cur covers an IPv4 or IPv6 packet (src/capture/ip.c). */
void wt_ip_packet(wt_ctx_t *ctx, wt_cursor_t cur, const wt_pkt_t *pkt);

/* The fragment table (src/capture/frag.c). */
struct wt_frag_table;
struct wt_frag_table *wt_frags_new(wt_ctx_t *ctx);
void wt_frags_free(struct wt_frag_table *t);
void wt_frags_expire(struct wt_frag_table *t, const wt_time_t *now);

#endif /* WT_CAPTURE_CAPTURE_H */
