/* \summary: libFuzzer target: DNS over TCP framing (segments, gaps, resync) and the transactions */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/dissector.h"
#include "wiretale/wiretale.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

extern const wt_dissector_t wt_dns_tcp_dissector;

/*
 * Input: 4 bytes of control, then the stream.  The control bytes pick
 * the segment sizes and where gaps fall; the stream is split into
 * segments and fed as the flow layer would: with the bytes the dissector
 * did not consume presented again in front of the next segment.
 * Even-numbered segments go to the server, odd ones to the client.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	wt_options_t o;
	wt_ctx_t *ctx;
	wt_flow_info_t fi;
	void *st;
	uint8_t *pend[2] = {NULL, NULL};
	size_t npend[2] = {0, 0}, off = 4, seg = 0;
	uint32_t ctl;
	wt_pkt_t pkt;

	if (size < 4)
		return 0;
	ctl = (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 |
	      (uint32_t)data[2] << 8 | data[3];
	wt_options_default(&o);
	ctx = wt_ctx_new(&o);
	if (!ctx)
		return 0;
	memset(&fi, 0, sizeof fi);
	fi.client.ip.family = 4;
	fi.client.ip.a[0] = 10;
	fi.client.ip.a[3] = 1;
	fi.client.port = 40000;
	fi.server.ip.family = 4;
	fi.server.ip.a[0] = 10;
	fi.server.ip.a[3] = 53;
	fi.server.port = 53;
	fi.ipproto = 6;
	st = wt_dns_tcp_dissector.open(ctx, &fi);
	memset(&pkt, 0, sizeof pkt);
	while (st && off < size) {
		size_t want = 1 + ((ctl >> (seg % 24)) & 0x3ff) % 300;
		size_t n = size - off < want ? size - off : want;
		int dir = (int)((ctl >> (seg % 32)) & 1) & (int)((ctl >> 31) & 1);
		uint8_t *buf;
		size_t used;
		pkt.frame = ++seg;
		pkt.ts.sec = (int64_t)seg;
		if (((ctl >> (seg % 29)) & 0x7) == 0x7 && seg > 2) {
			/* a hole: the kept bytes are dropped, the stream goes on */
			free(pend[dir]);
			pend[dir] = NULL;
			npend[dir] = 0;
			wt_dns_tcp_dissector.gap(st, (wt_dir_t)dir, n, &pkt);
			off += n;
			continue;
		}
		buf = malloc(npend[dir] + n);
		if (!buf)
			break;
		if (npend[dir])
			memcpy(buf, pend[dir], npend[dir]);
		memcpy(buf + npend[dir], data + off, n);
		off += n;
		used = wt_dns_tcp_dissector.data(st, (wt_dir_t)dir, buf,
						 npend[dir] + n, &pkt);
		if (used > npend[dir] + n)
			__builtin_trap();
		free(pend[dir]);
		npend[dir] = npend[dir] + n - used;
		pend[dir] = NULL;
		if (npend[dir]) {
			pend[dir] = malloc(npend[dir]);
			if (pend[dir])
				memcpy(pend[dir], buf + used, npend[dir]);
			else
				npend[dir] = 0;
		}
		free(buf);
	}
	if (st)
		wt_dns_tcp_dissector.close(st, WT_END_EOF, &pkt);
	free(pend[0]);
	free(pend[1]);
	wt_finish(ctx, NULL);
	wt_ctx_free(ctx);
	return 0;
}
