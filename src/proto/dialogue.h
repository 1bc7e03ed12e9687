/* \summary: a session's dialogue (commands and reply lines), kept compact until its record is made */
#ifndef WT_PROTO_DIALOGUE_H
#define WT_PROTO_DIALOGUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "proto/dissector.h"

/* One line: its frame, who sent it, where its text is in the buffer. */
typedef struct wt_dialogue_line {
	uint64_t frame;
	uint32_t off, len;
	bool from_server;
	bool truncated;
} wt_dialogue_line_t;

/* The lines and one text buffer for all of them: no JSON, and two
 * allocations that only grow, while the connection lasts. */
typedef struct wt_dialogue {
	wt_dialogue_line_t *v;
	size_t n, cap;
	uint8_t *text;
	size_t text_len, text_cap;
} wt_dialogue_t;

/* Appends a line; false when out of memory. */
bool wt_dialogue_push(wt_dialogue_t *d, const wt_pkt_t *pkt, wt_dir_t dir,
		      const uint8_t *p, size_t n, bool truncated);
/* [{"frame","from":"client"|"server","text","truncated"?}...] */
json_t *wt_dialogue_json(const wt_dialogue_t *d);
void wt_dialogue_free(wt_dialogue_t *d);

#endif /* WT_PROTO_DIALOGUE_H */
