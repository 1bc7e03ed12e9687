/* \summary: capture sources: one file (or standard input) read frame by frame */
#ifndef WT_CAPTURE_SOURCE_H
#define WT_CAPTURE_SOURCE_H

#include <stdint.h>

#include "wiretale/wiretale.h"

typedef struct wt_source wt_source_t;

/* One frame as the file holds it. */
typedef struct wt_frame {
	int linktype;        /* DLT_* for pcap, LINKTYPE_* for pcapng */
	wt_time_t ts;
	uint32_t caplen, wirelen;
	const uint8_t *data; /* valid until the next call */
} wt_frame_t;

/*
 * Opens a capture ("-" is standard input): pcap through libpcap, pcapng
 * through our reader, told apart by the first four bytes.  Returns
 * WT_EXIT_OK and *out, or a WT_EXIT_* status after saying what is wrong on
 * stderr and in the summary's file list.
 */
int wt_source_open(wt_ctx_t *ctx, const char *path, wt_source_t **out);
/* 1: a frame; 0: the end (or a fault that stops this file). */
int wt_source_next(wt_source_t *s, wt_frame_t *f);
/* Closes, records the file in the summary, returns its WT_EXIT_* status. */
int wt_source_close(wt_source_t *s);

#endif /* WT_CAPTURE_SOURCE_H */
