/* \summary: our own pcapng reader (libpcap refuses files whose interfaces differ in link type) */
#ifndef WT_CAPTURE_PCAPNG_H
#define WT_CAPTURE_PCAPNG_H

#include <stdint.h>
#include <stdio.h>

#include "wiretale/wiretale.h"

typedef struct wt_pcapng wt_pcapng_t;

typedef struct wt_pcapng_pkt {
	int linktype;        /* of the packet's interface (LINKTYPE_* value) */
	uint32_t ifindex;
	wt_time_t ts;        /* converted with the interface's if_tsresol/if_tsoffset */
	uint32_t caplen;
	uint32_t wirelen;
	const uint8_t *data; /* caplen bytes, valid until the next call */
} wt_pcapng_pkt_t;

/* f is positioned at the start of the file (the first SHB).  Returns NULL
 * and a message in err when the file is not pcapng or is unreadable. */
wt_pcapng_t *wt_pcapng_open(FILE *f, char *err, size_t errlen);
/* 1: a packet (EPB, SPB or obsolete PB); 0: clean end of file;
 * -1: truncated or corrupt (message in err, e.g. "truncated block"). */
int wt_pcapng_next(wt_pcapng_t *r, wt_pcapng_pkt_t *pkt, char *err,
		   size_t errlen);
void wt_pcapng_close(wt_pcapng_t *r); /* does not fclose */

#endif /* WT_CAPTURE_PCAPNG_H */
