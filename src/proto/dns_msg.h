/* \summary: DNS message parser (RFC 1035 and friends): wire to presentation text */
#ifndef WT_PROTO_DNS_MSG_H
#define WT_PROTO_DNS_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wiretale/cursor.h"

/*
 * wt_dns_parse() decodes one DNS message (no TCP length prefix) into a
 * wt_dns_msg_t: the header with every flag, all four sections, EDNS(0)
 * from the OPT pseudo-RR, and every RR's rdata in the presentation format
 * that dig (BIND 9.18) prints, except that names carry no trailing dot
 * (the root is ".").  No printing, no I/O, no allocation after
 * wt_dns_msg_init(): the text lives in a fixed arena inside the message.
 *
 * A malformed message keeps what decoded before the fault: the header,
 * the questions, the RRs before the bad one.  An RR whose rdata is bad
 * inside a sane rdlength is kept with its rdata in RFC 3597 generic form
 * (\# len hex) and bad=true, and parsing continues with the next RR.
 */

#define WT_DNS_NAME_WIRE_MAX 255 /* RFC 1035 2.3.4 */
#define WT_DNS_LABEL_MAX 63
#define WT_DNS_MAX_JUMPS 128      /* compression pointers followed per name */
#define WT_DNS_NAME_TEXT_MAX 1024 /* 255 octets, each at most \DDD */
#define WT_DNS_MAX_QUESTIONS 16   /* questions kept (all are parsed) */
#define WT_DNS_MAX_RRS 1024       /* RRs kept over the three RR sections */
#define WT_DNS_MAX_OPTS 32        /* EDNS options kept */
#define WT_DNS_ARENA (512u * 1024u)

/* Flags of wt_dns_parse(). */
#define WT_DNS_PARSE_MDNS 0x1 /* RFC 6762 10.2 / 5.4: top class bit is a flag */

enum wt_dns_section {
	WT_DNS_SEC_QUESTION = 0,
	WT_DNS_SEC_ANSWER = 1,
	WT_DNS_SEC_AUTHORITY = 2,
	WT_DNS_SEC_ADDITIONAL = 3
};

typedef struct wt_dns_header {
	uint16_t id;
	bool qr;
	uint8_t opcode;
	bool aa, tc, rd, ra, z, ad, cd;
	uint8_t rcode; /* the 4 header bits; see wt_dns_msg_rcode() */
	uint16_t qdcount, ancount, nscount, arcount;
} wt_dns_header_t;

typedef struct wt_dns_question {
	const char *name; /* presentation text, in the arena */
	uint16_t qtype;
	uint16_t qclass;
	bool unicast_response; /* mDNS QU bit (already stripped from qclass) */
} wt_dns_question_t;

typedef struct wt_dns_rr {
	const char *name;
	const char *data; /* rdata presentation text */
	uint32_t ttl;
	uint16_t type;
	uint16_t rclass;
	uint16_t rdlength;
	uint8_t section;  /* enum wt_dns_section */
	bool cache_flush; /* mDNS (already stripped from rclass) */
	bool bad;         /* rdata malformed; data is the generic form */
	size_t offset;    /* of the RR in the message */
} wt_dns_rr_t;

typedef struct wt_dns_opt {
	uint16_t code;
	uint16_t len;
	const char *data; /* presentation text (see docs/dns.md) */
} wt_dns_opt_t;

typedef struct wt_dns_edns {
	bool present;
	uint16_t udp_size;
	uint8_t ext_rcode; /* upper 8 bits of the 12-bit rcode, RFC 6891 6.1.3 */
	uint8_t version;
	bool do_bit;
	uint16_t z; /* the other flag bits */
	size_t n_opts;
	size_t n_opts_total;
	wt_dns_opt_t opts[WT_DNS_MAX_OPTS];
} wt_dns_edns_t;

typedef struct wt_dns_error {
	wt_status_t status; /* WT_OK, WT_E_TRUNC, WT_E_MALFORMED, WT_E_LIMIT */
	size_t offset;
	char reason[128];
} wt_dns_error_t;

typedef struct wt_dns_msg {
	bool header_ok; /* at least the 12-byte header was there */
	wt_dns_header_t hdr;
	size_t len; /* of the message */

	size_t n_questions;       /* kept */
	size_t n_questions_parsed; /* decoded in full (may exceed kept) */
	wt_dns_question_t questions[WT_DNS_MAX_QUESTIONS];

	size_t n_rrs;       /* kept, in wire order, OPT excluded */
	size_t n_parsed[4]; /* entries decoded per section (OPT included) */
	wt_dns_rr_t *rrs;   /* WT_DNS_MAX_RRS entries */

	wt_dns_edns_t edns;

	wt_dns_error_t err; /* the first fault, or status WT_OK */
	size_t n_bad_rdata;

	char *arena;
	size_t arena_used;
} wt_dns_msg_t;

/* Allocates the arena and the RR table once.  Returns 0 or -1. */
int wt_dns_msg_init(wt_dns_msg_t *m);
void wt_dns_msg_free(wt_dns_msg_t *m);

/* Parses p[0..len).  Returns m->err.status: WT_OK when the whole message
 * decoded and nothing was wrong.  m is reset first. */
wt_status_t wt_dns_parse(wt_dns_msg_t *m, const uint8_t *p, size_t len,
			 unsigned flags);

/* The full 12-bit rcode: header bits plus the EDNS extension. */
unsigned wt_dns_msg_rcode(const wt_dns_msg_t *m);

/* Mnemonics.  The _str variants write "TYPE123"/"CLASS123"/"123" into buf
 * when the value has no mnemonic; the plain ones return NULL then. */
const char *wt_dns_type_name(uint16_t type);
const char *wt_dns_type_str(uint16_t type, char *buf, size_t len);
const char *wt_dns_class_str(uint16_t cls, char *buf, size_t len);
const char *wt_dns_opcode_name(unsigned opcode);
const char *wt_dns_rcode_name(unsigned rcode);
const char *wt_dns_opt_name(uint16_t code);

/* Names are compared case-insensitively (RFC 4343) on their text. */
bool wt_dns_name_equal(const char *a, const char *b);

#endif /* WT_PROTO_DNS_MSG_H */
