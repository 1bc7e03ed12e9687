/* \summary: libFuzzer target: the DNS message parser and the presentation of every RR */
#include <stdint.h>
#include <string.h>

#include "proto/dns_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static wt_dns_msg_t msg;
static int ready;

/* Reads every string the parser produced, so ASan checks each one ends. */
static size_t
touch(const wt_dns_msg_t *m)
{
	size_t i, n = 0;
	char b[16];
	for (i = 0; i < m->n_questions; i++)
		n += strlen(m->questions[i].name);
	for (i = 0; i < m->n_rrs; i++) {
		n += strlen(m->rrs[i].name) + strlen(m->rrs[i].data);
		n += strlen(wt_dns_type_str(m->rrs[i].type, b, sizeof b));
		n += strlen(wt_dns_class_str(m->rrs[i].rclass, b, sizeof b));
	}
	for (i = 0; i < m->edns.n_opts; i++)
		n += strlen(m->edns.opts[i].data);
	return n + strlen(m->err.reason);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!ready) {
		if (wt_dns_msg_init(&msg) != 0)
			return 0;
		ready = 1;
	}
	wt_dns_parse(&msg, data, size, 0);
	touch(&msg);
	if (msg.arena_used > WT_DNS_ARENA)
		__builtin_trap();
	wt_dns_parse(&msg, data, size, WT_DNS_PARSE_MDNS);
	touch(&msg);
	return 0;
}
