/* \summary: IPv4 and IPv6 fragment reassembly (bounded, with a timeout) */
#ifndef WT_CAPTURE_FRAG_H
#define WT_CAPTURE_FRAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wiretale/wiretale.h"

struct wt_frag_table;

typedef struct wt_frag_key {
	wt_addr_t src, dst;
	uint32_t id;     /* IPv4: 16-bit id; IPv6: 32-bit identification */
	uint8_t proto;   /* IPv4 protocol / IPv6 next header after the fragment header */
} wt_frag_key_t;

/*
 * Adds one fragment: `data` holds `len` bytes of the fragmentable part
 * starting at byte `offset`; `more` is the MF / M flag.
 * Returns 1 when this completes the datagram: *out and *outlen then hold the
 * reassembled payload (valid until the next call on the table); 0 when the
 * fragment is held; -1 when it is dropped (counted: cap, too big, bad).
 * Overlap policy: the first data received for a byte wins (documented in
 * docs/reassembly.md); overlaps are counted.
 */
int wt_frag_add(struct wt_frag_table *t, const wt_frag_key_t *key,
		uint32_t offset, bool more, const uint8_t *data, size_t len,
		const wt_pkt_t *pkt, const uint8_t **out, size_t *outlen);

#endif /* WT_CAPTURE_FRAG_H */
