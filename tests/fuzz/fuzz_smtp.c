/* \summary: libFuzzer target: the SMTP dissector fed alternating server/client chunks */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/dissector.h"
#include "wiretale/wiretale.h"

extern const wt_dissector_t wt_smtp_dissector;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Input: one flags byte (bit 0 show secrets, bit 1 mid-stream, bit 2 port
 * 465, bit 3 keep unconsumed bytes as the flow layer does), then chunks
 * separated by the 4 bytes "\0SEP", alternately server -> client (first: the
 * greeting) and client -> server.  A chunk "GAP" reports a gap of 100 bytes
 * in the direction it stands for.  Every record is serialized at the end.
 */
#define SEP "\0SEP"
#define SEP_LEN 4
#define KEEP_CAP (1u << 20)

static void
sink(void *user, json_t *rec)
{
	char *s = json_dumps(rec, JSON_COMPACT);
	(void)user;
	free(s);
}

static size_t
find_sep(const uint8_t *p, size_t n)
{
	size_t i;
	for (i = 0; i + SEP_LEN <= n; i++)
		if (memcmp(p + i, SEP, SEP_LEN) == 0)
			return i;
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	wt_options_t o;
	wt_ctx_t *ctx;
	wt_flow_info_t fi;
	void *st;
	uint8_t flags;
	uint8_t *keep[2] = { NULL, NULL };
	size_t nkeep[2] = { 0, 0 };
	size_t off = 1;
	int dir = WT_TO_CLIENT;
	wt_pkt_t pkt;

	if (size < 1)
		return 0;
	flags = data[0];
	wt_options_default(&o);
	o.show_secrets = flags & 1;
	o.max_flows = 16; /* a small flow table: one context per input */
	ctx = wt_ctx_new(&o);
	if (!ctx)
		return 0;
	wt_ctx_add_sink(ctx, sink, NULL);
	memset(&fi, 0, sizeof fi);
	fi.client.ip.family = 4;
	fi.server.ip.family = 4;
	fi.client.port = 40000;
	fi.server.port = (flags & 4) ? 465 : 25;
	fi.ipproto = 6;
	fi.first_frame = 1;
	fi.midstream = (flags & 2) != 0;
	memset(&pkt, 0, sizeof pkt);
	pkt.frame = 1;
	st = wt_smtp_dissector.open(ctx, &fi);
	if (!st) {
		wt_ctx_free(ctx);
		return 0;
	}
	while (off <= size) {
		size_t n = find_sep(data + off, size - off);
		const uint8_t *chunk = data + off;
		pkt.frame++;
		if (n == 3 && memcmp(chunk, "GAP", 3) == 0) {
			nkeep[dir] = 0;
			wt_smtp_dissector.gap(st, (wt_dir_t)dir, 100, &pkt);
		} else if (flags & 8) {
			/* the streaming contract: unconsumed bytes come back */
			size_t tot = nkeep[dir] + n, used;
			uint8_t *buf = malloc(tot ? tot : 1);
			if (!buf)
				break;
			if (nkeep[dir])
				memcpy(buf, keep[dir], nkeep[dir]);
			memcpy(buf + nkeep[dir], chunk, n);
			used = wt_smtp_dissector.data(st, (wt_dir_t)dir, buf, tot, &pkt);
			if (used > tot)
				abort();
			free(keep[dir]);
			nkeep[dir] = tot - used;
			if (nkeep[dir] > KEEP_CAP)
				nkeep[dir] = 0; /* what the per-flow cap would do */
			keep[dir] = malloc(nkeep[dir] ? nkeep[dir] : 1);
			if (keep[dir] && nkeep[dir])
				memcpy(keep[dir], buf + used, nkeep[dir]);
			free(buf);
		} else if (n > 0) {
			/* an exact-size copy so ASan sees reads past the end */
			uint8_t *buf = malloc(n);
			size_t used;
			if (!buf)
				break;
			memcpy(buf, chunk, n);
			used = wt_smtp_dissector.data(st, (wt_dir_t)dir, buf, n, &pkt);
			if (used > n)
				abort();
			free(buf);
		}
		off += n + SEP_LEN;
		dir = (dir == WT_TO_CLIENT) ? WT_TO_SERVER : WT_TO_CLIENT;
	}
	wt_smtp_dissector.close(st, WT_END_EOF, &pkt);
	free(keep[0]);
	free(keep[1]);
	wt_ctx_free(ctx);
	return 0;
}
