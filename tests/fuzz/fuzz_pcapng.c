/* \summary: libFuzzer target: the pcapng reader on arbitrary files */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "capture/pcapng.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input is the whole file, read through fmemopen as the CLI reads a
 * file or a pipe; every packet's bytes are touched so that ASan sees a
 * pointer or length that runs past the block. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	wt_pcapng_pkt_t pkt;
	wt_pcapng_t *r;
	FILE *f;
	unsigned sum = 0;
	int rc;

	if (size == 0)
		return 0;
	f = fmemopen((void *)data, size, "rb");
	if (!f)
		return 0;
	r = wt_pcapng_open(f, err, sizeof err);
	if (r) {
		while ((rc = wt_pcapng_next(r, &pkt, err, sizeof err)) == 1) {
			for (uint32_t i = 0; i < pkt.caplen; i++)
				sum += pkt.data[i];
		}
		wt_pcapng_close(r);
	}
	fclose(f);
	return (int)(sum & 0);
}
