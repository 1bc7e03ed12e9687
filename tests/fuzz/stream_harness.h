/* \summary: the shared body of the mail-access fuzz targets: one dissector fed alternating client/server chunks */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/record.h"
#include "proto/dissector.h"
#include "wiretale/wiretale.h"

/* Included by exactly one fuzz target each: everything here is static. */


/*
 * Input layout: one flags byte (bit 0 --show-secrets, bit 1 mid-stream,
 * bit 2 implicit-TLS port, bit 3 write message 1 for `follow --message`),
 * then chunks separated by the magic "|~|", alternating client->server and
 * server->client (an empty chunk just passes the turn).  A chunk of the
 * single byte 0xff stands for a gap of 100 bytes in that direction.  Unconsumed bytes are presented again with the next chunk of
 * the same direction, as the flow layer does, up to a cap past which they
 * are dropped and reported as a gap.
 */
#define SEP "|~|"
#define SEP_LEN 3
#define PEND_CAP (256 * 1024)

static uint64_t n_records;

static void
sink(void *user, json_t *rec)
{
	/* serialise every record: catches invalid strings and bad trees */
	char *s = json_dumps(rec, JSON_COMPACT);
	(void)user;
	if (!s)
		abort();
	free(s);
	n_records++;
}

static const uint8_t *
find_sep(const uint8_t *p, size_t n)
{
	size_t i;
	for (i = 0; i + SEP_LEN <= n; i++)
		if (memcmp(p + i, SEP, SEP_LEN) == 0)
			return p + i;
	return NULL;
}

/* dis: the dissector; port and tls_port: its plain and implicit-TLS ports
 * (flag bit 2 picks the second). */
static int
fuzz_stream(const wt_dissector_t *dis, uint16_t port, uint16_t tls_port,
	    const uint8_t *data, size_t size)
{
	wt_options_t o;
	wt_ctx_t *ctx;
	wt_flow_info_t fi;
	wt_pkt_t pkt;
	void *st;
	uint8_t *pend[2] = {NULL, NULL};
	size_t plen[2] = {0, 0};
	FILE *devnull = NULL;
	uint8_t flags;
	int dir = 0;
	const uint8_t *p, *end;

	if (size < 1)
		return 0;
	flags = data[0];
	p = data + 1;
	end = data + size;

	wt_options_default(&o);
	o.show_secrets = flags & 1;
	if (flags & 8) {
		devnull = fopen("/dev/null", "w");
		o.message_index = 1;
		o.message_out = devnull;
	}
	ctx = wt_ctx_new(&o);
	if (!ctx)
		return 0;
	wt_ctx_add_sink(ctx, sink, NULL);
	memset(&fi, 0, sizeof fi);
	fi.client.ip.family = 4;
	fi.client.ip.a[0] = 10;
	fi.client.ip.a[3] = 2;
	fi.client.port = 40000;
	fi.server.ip.family = 4;
	fi.server.ip.a[0] = 10;
	fi.server.ip.a[3] = 1;
	fi.server.port = (flags & 4) ? tls_port : port;
	fi.ipproto = 6;
	fi.first_frame = 1;
	fi.midstream = (flags & 2) != 0;
	memset(&pkt, 0, sizeof pkt);
	pkt.frame = 1;
	st = dis->open(ctx, &fi);
	if (!st) {
		wt_ctx_free(ctx);
		if (devnull)
			fclose(devnull);
		return 0;
	}

	while (p <= end) {
		const uint8_t *s = find_sep(p, (size_t)(end - p));
		size_t n = s ? (size_t)(s - p) : (size_t)(end - p);
		pkt.frame++;
		pkt.ts.sec++;
		if (n == 0) {
			/* nothing: the other side speaks next */
		} else if (n == 1 && p[0] == 0xff) {
			plen[dir] = 0;
			dis->gap(st, (wt_dir_t)dir, 100, &pkt);
		} else if (plen[dir] + n > PEND_CAP) {
			dis->gap(st, (wt_dir_t)dir, plen[dir] + n, &pkt);
			plen[dir] = 0;
		} else {
			uint8_t *q = realloc(pend[dir], plen[dir] + n);
			size_t used;
			if (!q)
				break;
			pend[dir] = q;
			memcpy(q + plen[dir], p, n);
			plen[dir] += n;
			used = dis->data(st, (wt_dir_t)dir, q, plen[dir], &pkt);
			if (used > plen[dir])
				abort(); /* the contract: never more than given */
			memmove(q, q + used, plen[dir] - used);
			plen[dir] -= used;
		}
		if (!s)
			break;
		p = s + SEP_LEN;
		dir ^= 1;
	}
	pkt.frame++;
	dis->close(st, WT_END_EOF, &pkt);
	free(pend[0]);
	free(pend[1]);
	wt_ctx_free(ctx);
	if (devnull)
		fclose(devnull);
	return 0;
}
