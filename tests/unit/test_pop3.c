/* \summary: unit tests of the POP3 dissector, driven through its callbacks */
#include <criterion/criterion.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ctx_int.h"
#include "core/record.h"
#include "proto/dissector.h"

extern const wt_dissector_t wt_pop3_dissector;

/*
 * A small stand-in for the flow layer: it keeps what data() did not consume
 * and presents it again with the next segment, as the streaming contract in
 * src/proto/dissector.h says.
 */
static wt_ctx_t *ctx;
static void *st;
static uint8_t *pend[2];
static size_t plen[2];
static uint64_t frame;
static json_t *records;
static char *msg_buf;
static size_t msg_len;
static FILE *msg_out;

static void
sink(void *user, json_t *rec)
{
	(void)user;
	json_array_append(records, rec);
}

static void
start_opts(uint16_t server_port, bool midstream, int show_secrets,
	   uint64_t message_index)
{
	wt_options_t o;
	wt_flow_info_t fi;
	wt_options_default(&o);
	o.show_secrets = show_secrets;
	if (message_index) {
		msg_out = open_memstream(&msg_buf, &msg_len);
		cr_assert_not_null(msg_out);
		o.message_index = message_index;
		o.message_out = msg_out;
	}
	ctx = wt_ctx_new(&o);
	cr_assert_not_null(ctx);
	records = json_array();
	wt_ctx_add_sink(ctx, sink, NULL);
	memset(&fi, 0, sizeof fi);
	fi.client.ip.family = 4;
	fi.client.ip.a[0] = 192;
	fi.client.ip.a[3] = 2;
	fi.client.port = 40000;
	fi.server.ip.family = 4;
	fi.server.ip.a[0] = 192;
	fi.server.ip.a[3] = 1;
	fi.server.port = server_port;
	fi.ipproto = 6;
	fi.stream = 7;
	fi.first_frame = 1;
	fi.first_ts.sec = 1700000000;
	fi.midstream = midstream;
	frame = 3; /* after the handshake */
	st = wt_pop3_dissector.open(ctx, &fi);
	cr_assert_not_null(st);
}

static void
start(void)
{
	start_opts(110, false, 0, 0);
}

static void
feed(wt_dir_t dir, const void *p, size_t n)
{
	wt_pkt_t pkt;
	size_t used;
	memset(&pkt, 0, sizeof pkt);
	pkt.frame = ++frame;
	pkt.ts.sec = 1700000000;
	pend[dir] = realloc(pend[dir], plen[dir] + n + 1);
	cr_assert_not_null(pend[dir]);
	memcpy(pend[dir] + plen[dir], p, n);
	plen[dir] += n;
	used = wt_pop3_dissector.data(st, dir, pend[dir], plen[dir], &pkt);
	cr_assert_leq(used, plen[dir]);
	memmove(pend[dir], pend[dir] + used, plen[dir] - used);
	plen[dir] -= used;
}

static void
feeds(wt_dir_t dir, const char *s)
{
	feed(dir, s, strlen(s));
}

static void
gap(wt_dir_t dir, uint64_t n)
{
	wt_pkt_t pkt;
	memset(&pkt, 0, sizeof pkt);
	pkt.frame = ++frame;
	/* the flow layer drops what was pending before the hole */
	plen[dir] = 0;
	wt_pop3_dissector.gap(st, dir, n, &pkt);
}

/* Ends the flow and returns the pop3 record (borrowed from records). */
static json_t *
finish(void)
{
	wt_pkt_t pkt;
	size_t i;
	json_t *r = NULL;
	memset(&pkt, 0, sizeof pkt);
	pkt.frame = ++frame;
	wt_pop3_dissector.close(st, WT_END_FIN, &pkt);
	st = NULL;
	for (i = 0; i < json_array_size(records); i++) {
		json_t *x = json_array_get(records, i);
		if (strcmp(json_string_value(json_object_get(x, "type")), "pop3") == 0)
			r = x;
	}
	cr_assert_not_null(r, "no pop3 record");
	if (msg_out) {
		fclose(msg_out);
		msg_out = NULL;
	}
	return r;
}

static int
count_warnings(const char *code)
{
	size_t i;
	int n = 0;
	for (i = 0; i < json_array_size(records); i++) {
		json_t *x = json_array_get(records, i);
		if (strcmp(json_string_value(json_object_get(x, "type")), "warning") == 0 &&
		    strcmp(json_string_value(json_object_get(x, "code")), code) == 0)
			n++;
	}
	return n;
}

static void
teardown(void)
{
	int d;
	if (st) {
		wt_pop3_dissector.close(st, WT_END_EOF, NULL);
		st = NULL;
	}
	if (msg_out)
		fclose(msg_out);
	msg_out = NULL;
	free(msg_buf);
	msg_buf = NULL;
	msg_len = 0;
	for (d = 0; d < 2; d++) {
		free(pend[d]);
		pend[d] = NULL;
		plen[d] = 0;
	}
	json_decref(records);
	records = NULL;
	wt_ctx_free(ctx);
	ctx = NULL;
}

static const char *
dstr(json_t *o, const char *path1, const char *path2)
{
	json_t *v = json_object_get(o, path1);
	if (path2)
		v = json_object_get(v, path2);
	return json_string_value(v);
}

static json_t *
dialogue_at(json_t *r, size_t i)
{
	return json_array_get(json_object_get(r, "dialogue"), i);
}

/* The message as the server holds it, and its dot-stuffed form on the wire
 * (RFC 1939 section 3). */
static const char msg_plain[] =
	"From: Alice <alice@example.org>\r\n"
	"To: bob@example.net\r\n"
	"Subject: dots\r\n"
	"Message-ID: <m1@example.org>\r\n"
	"\r\n"
	".leading dot\r\n"
	"..two dots\r\n"
	".\r\n"
	"end\r\n";
static const char msg_wire[] =
	"From: Alice <alice@example.org>\r\n"
	"To: bob@example.net\r\n"
	"Subject: dots\r\n"
	"Message-ID: <m1@example.org>\r\n"
	"\r\n"
	"..leading dot\r\n"
	"...two dots\r\n"
	"..\r\n"
	"end\r\n"
	".\r\n";

static void
retr_session_split(size_t cut1, size_t cut2)
{
	char server[1024];
	size_t n;
	json_t *r, *m;

	start_opts(110, false, 0, 1);
	feeds(WT_TO_CLIENT, "+OK POP3 ready\r\n");
	feeds(WT_TO_SERVER, "RETR 1\r\n");
	n = (size_t)snprintf(server, sizeof server, "+OK %zu octets\r\n%s",
			     sizeof msg_plain - 1, msg_wire);
	cr_assert_lt(cut1, n);
	cr_assert_leq(cut2, n);
	feed(WT_TO_CLIENT, server, cut1);
	if (cut2 > cut1)
		feed(WT_TO_CLIENT, server + cut1, cut2 - cut1);
	if (n > cut2)
		feed(WT_TO_CLIENT, server + cut2, n - cut2);
	feeds(WT_TO_SERVER, "QUIT\r\n");
	feeds(WT_TO_CLIENT, "+OK bye\r\n");
	r = finish();
	cr_assert_eq(json_array_size(json_object_get(r, "messages")), 1,
		     "cuts %zu %zu", cut1, cut2);
	m = json_array_get(json_object_get(r, "messages"), 0);
	cr_assert_str_eq(dstr(m, "command", NULL), "RETR");
	cr_assert_eq(json_integer_value(json_object_get(m, "number")), 1);
	cr_assert_eq(json_integer_value(json_object_get(m, "size")),
		     (json_int_t)(sizeof msg_plain - 1), "cuts %zu %zu", cut1, cut2);
	cr_assert(json_is_true(json_object_get(m, "complete")));
	cr_assert_str_eq(dstr(m, "message", "subject"), "dots");
	cr_assert_str_eq(dstr(m, "message", "message_id"), "<m1@example.org>");
	cr_assert_eq(json_integer_value(json_object_get(m, "index")), 1);
	/* the raw bytes written for `follow --message 1` are unstuffed */
	cr_assert_eq(msg_len, sizeof msg_plain - 1, "cuts %zu %zu", cut1, cut2);
	cr_assert(memcmp(msg_buf, msg_plain, msg_len) == 0);
	/* the dialogue holds commands and status lines, not the message */
	cr_assert_eq(json_array_size(json_object_get(r, "dialogue")), 5);
	cr_assert_str_eq(dstr(dialogue_at(r, 4), "text", NULL), "+OK bye");
	teardown();
}

Test(pop3, retr_dot_stuffing_every_split)
{
	char server[1024];
	size_t n = (size_t)snprintf(server, sizeof server, "+OK %zu octets\r\n%s",
				    sizeof msg_plain - 1, msg_wire);
	/* every place to cut the response in two, and a sample of three-way
	 * cuts, including between CR and LF and inside ".\r\n" */
	for (size_t a = 1; a < n; a++)
		retr_session_split(a, a);
	for (size_t a = 1; a < n; a += 7)
		for (size_t b = a + 1; b < n; b += 5)
			retr_session_split(a, b);
}

Test(pop3, pipelined_commands_matched_in_order, .fini = teardown)
{
	json_t *r, *d, *m;
	start();
	feeds(WT_TO_CLIENT, "+OK ready\r\n");
	feeds(WT_TO_SERVER, "CAPA\r\n");
	feeds(WT_TO_CLIENT, "+OK\r\nPIPELINING\r\nUIDL\r\nTOP\r\n.\r\n");
	/* RFC 2449 section 6.6: several commands in one segment */
	feeds(WT_TO_SERVER, "STAT\r\nLIST\r\nUIDL 1\r\nTOP 2 0\r\nDELE 2\r\nNOOP\r\n");
	feeds(WT_TO_CLIENT,
	      "+OK 2 320\r\n"
	      "+OK 2 messages\r\n1 120\r\n2 200\r\n.\r\n"
	      "+OK 1 abc\r\n"
	      "+OK top of message follows\r\nSubject: second\r\n\r\n.\r\n"
	      "-ERR no such message\r\n"
	      "+OK\r\n");
	r = finish();
	d = json_object_get(r, "dialogue");
	cr_assert_eq(json_array_size(d), 15);
	cr_assert_str_eq(dstr(dialogue_at(r, 3), "text", NULL), "STAT");
	cr_assert_str_eq(dstr(dialogue_at(r, 9), "text", NULL), "+OK 2 320");
	cr_assert_str_eq(dstr(dialogue_at(r, 10), "text", NULL), "+OK 2 messages");
	cr_assert_str_eq(dstr(dialogue_at(r, 13), "text", NULL), "-ERR no such message");
	cr_assert_str_eq(dstr(dialogue_at(r, 14), "from", NULL), "server");
	cr_assert_eq(json_array_size(json_object_get(r, "messages")), 1);
	m = json_array_get(json_object_get(r, "messages"), 0);
	cr_assert_str_eq(dstr(m, "command", NULL), "TOP");
	cr_assert_eq(json_integer_value(json_object_get(m, "number")), 2);
	cr_assert_str_eq(dstr(m, "message", "subject"), "second");
	cr_assert_eq(json_array_size(json_object_get(r, "capabilities")), 3);
	cr_assert_eq(count_warnings("POP3_UNMATCHED_RESPONSE"), 0);
	cr_assert_eq(count_warnings("POP3_UNEXPECTED_LINE"), 0);
}

static void
assert_no_secret(json_t *r, const char *secret)
{
	char *all = json_dumps(records, 0);
	char *one = json_dumps(r, 0);
	cr_assert_null(strstr(all, secret), "secret %s leaked: %s", secret, all);
	cr_assert_null(strstr(one, secret));
	free(all);
	free(one);
}

Test(pop3, user_pass_redacted, .fini = teardown)
{
	json_t *r;
	start();
	feeds(WT_TO_CLIENT, "+OK ready\r\n");
	feeds(WT_TO_SERVER, "USER alice\r\n");
	feeds(WT_TO_CLIENT, "+OK\r\n");
	feeds(WT_TO_SERVER, "PASS s3cr3tPa55\r\n");
	feeds(WT_TO_CLIENT, "+OK logged in\r\n");
	r = finish();
	assert_no_secret(r, "s3cr3tPa55");
	cr_assert_str_eq(dstr(r, "user", NULL), "alice");
	cr_assert_str_eq(dstr(r, "auth", "mechanism"), "USER");
	cr_assert_str_eq(dstr(r, "auth", "user"), "alice");
	cr_assert(json_is_true(json_object_get(json_object_get(r, "auth"), "success")));
	cr_assert_str_eq(dstr(dialogue_at(r, 3), "text", NULL), "PASS [REDACTED]");
}

Test(pop3, sasl_plain_and_apop_redacted, .fini = teardown)
{
	json_t *r;
	/* "\0carol\0hunter22" */
	start();
	feeds(WT_TO_CLIENT, "+OK ready <1.2@host>\r\n");
	feeds(WT_TO_SERVER, "APOP dave c4c9334bac560ecc979e58001b3e22fb\r\n");
	feeds(WT_TO_CLIENT, "-ERR bad\r\n");
	feeds(WT_TO_SERVER, "AUTH PLAIN\r\n");
	feeds(WT_TO_CLIENT, "+ \r\n");
	feeds(WT_TO_SERVER, "AGNhcm9sAGh1bnRlcjIy\r\n");
	feeds(WT_TO_CLIENT, "+OK welcome\r\n");
	feeds(WT_TO_SERVER, "STAT\r\n");
	feeds(WT_TO_CLIENT, "+OK 0 0\r\n");
	r = finish();
	assert_no_secret(r, "c4c9334bac560ecc979e58001b3e22fb");
	assert_no_secret(r, "AGNhcm9sAGh1bnRlcjIy");
	assert_no_secret(r, "hunter22");
	cr_assert_str_eq(dstr(r, "user", NULL), "carol");
	cr_assert_str_eq(dstr(r, "auth", "mechanism"), "PLAIN");
	cr_assert_str_eq(dstr(r, "auth", "user"), "carol");
	cr_assert(json_is_true(json_object_get(json_object_get(r, "auth"), "success")));
	cr_assert_eq(json_integer_value(json_object_get(r, "auth_attempts")), 2);
	cr_assert_str_eq(dstr(dialogue_at(r, 1), "text", NULL), "APOP dave [REDACTED]");
	cr_assert_str_eq(dstr(dialogue_at(r, 5), "text", NULL), "[REDACTED]");
	/* after the exchange, commands are commands again */
	cr_assert_str_eq(dstr(dialogue_at(r, 7), "text", NULL), "STAT");
}

Test(pop3, sasl_initial_response_and_show_secrets, .fini = teardown)
{
	json_t *r;
	start_opts(110, false, 1, 0);
	feeds(WT_TO_CLIENT, "+OK ready\r\n");
	feeds(WT_TO_SERVER, "AUTH PLAIN AGNhcm9sAGh1bnRlcjIy\r\n");
	feeds(WT_TO_CLIENT, "-ERR no\r\n");
	r = finish();
	cr_assert_str_eq(dstr(r, "user", NULL), "carol");
	cr_assert(json_is_false(json_object_get(json_object_get(r, "auth"), "success")));
	cr_assert_str_eq(dstr(dialogue_at(r, 1), "text", NULL),
			 "AUTH PLAIN AGNhcm9sAGh1bnRlcjIy");
}

Test(pop3, sasl_initial_response_redacted, .fini = teardown)
{
	json_t *r;
	start();
	feeds(WT_TO_CLIENT, "+OK ready\r\n");
	feeds(WT_TO_SERVER, "AUTH PLAIN AGNhcm9sAGh1bnRlcjIy\r\n");
	feeds(WT_TO_CLIENT, "+OK\r\n");
	r = finish();
	assert_no_secret(r, "AGNhcm9sAGh1bnRlcjIy");
	cr_assert_str_eq(dstr(dialogue_at(r, 1), "text", NULL), "AUTH PLAIN [REDACTED]");
}

Test(pop3, stls_stops_decoding, .fini = teardown)
{
	json_t *r;
	start();
	feeds(WT_TO_CLIENT, "+OK ready\r\n");
	feeds(WT_TO_SERVER, "STLS\r\n");
	feeds(WT_TO_CLIENT, "+OK begin TLS\r\n");
	feed(WT_TO_SERVER, "\x16\x03\x01\x00\x05hello\r\nRETR 1\r\n", 19);
	feeds(WT_TO_CLIENT, "\x16\x03\x03\r\n+OK not really\r\n");
	r = finish();
	cr_assert(json_is_true(json_object_get(r, "tls")));
	cr_assert(json_is_true(json_object_get(r, "starttls")));
	cr_assert_eq(json_array_size(json_object_get(r, "dialogue")), 3);
	cr_assert_eq(json_array_size(json_object_get(r, "messages")), 0);
}

Test(pop3, implicit_tls_port, .fini = teardown)
{
	json_t *r;
	start_opts(995, false, 0, 0);
	feeds(WT_TO_CLIENT, "+OK looks like text but is TLS\r\n");
	r = finish();
	cr_assert(json_is_true(json_object_get(r, "tls")));
	cr_assert_eq(json_array_size(json_object_get(r, "dialogue")), 0);
}

Test(pop3, midstream_inside_a_message, .fini = teardown)
{
	json_t *r;
	start_opts(110, true, 0, 0);
	/* we join in the middle of a RETR body */
	feeds(WT_TO_CLIENT, "ody line\r\nmore body\r\n.\r\n");
	feeds(WT_TO_SERVER, "DELE 1\r\n");
	feeds(WT_TO_CLIENT, "+OK deleted\r\n");
	feeds(WT_TO_SERVER, "RETR 2\r\n");
	feeds(WT_TO_CLIENT, "+OK\r\nSubject: two\r\n\r\nhi\r\n.\r\n");
	r = finish();
	cr_assert_eq(count_warnings("POP3_UNEXPECTED_LINE"), 1);
	cr_assert_eq(json_array_size(json_object_get(r, "dialogue")), 4);
	cr_assert_str_eq(dstr(dialogue_at(r, 1), "text", NULL), "+OK deleted");
	cr_assert_eq(json_array_size(json_object_get(r, "messages")), 1);
	cr_assert_str_eq(dstr(json_array_get(json_object_get(r, "messages"), 0),
			      "message", "subject"), "two");
	cr_assert(json_is_true(json_object_get(r, "midstream")));
}

Test(pop3, gap_inside_a_message, .fini = teardown)
{
	json_t *r, *m;
	start();
	feeds(WT_TO_CLIENT, "+OK ready\r\n");
	feeds(WT_TO_SERVER, "RETR 1\r\n");
	feeds(WT_TO_CLIENT, "+OK\r\nSubject: holes\r\n\r\nfirst li");
	gap(WT_TO_CLIENT, 1000);
	feeds(WT_TO_CLIENT, "rest of a line\r\nlast line\r\n.\r\n");
	feeds(WT_TO_SERVER, "QUIT\r\n");
	feeds(WT_TO_CLIENT, "+OK\r\n");
	r = finish();
	cr_assert_eq(json_integer_value(json_object_get(r, "gaps")), 1);
	cr_assert_eq(count_warnings("POP3_GAP"), 1);
	m = json_array_get(json_object_get(r, "messages"), 0);
	cr_assert_not_null(m);
	cr_assert(json_is_false(json_object_get(m, "complete")));
	cr_assert_str_eq(dstr(m, "message", "subject"), "holes");
	/* the response to QUIT is still matched after the hole */
	cr_assert_str_eq(dstr(dialogue_at(r, 3), "text", NULL), "QUIT");
	cr_assert_eq(count_warnings("POP3_UNMATCHED_RESPONSE"), 0);
}

Test(pop3, client_gap_then_unplaced_body, .fini = teardown)
{
	json_t *r;
	start();
	feeds(WT_TO_CLIENT, "+OK ready\r\n");
	gap(WT_TO_SERVER, 8); /* "RETR 1\r\n" lost */
	feeds(WT_TO_CLIENT, "+OK\r\nSubject: lost\r\n\r\n.\r\n");
	feeds(WT_TO_SERVER, "QUIT\r\n");
	feeds(WT_TO_CLIENT, "+OK\r\n");
	r = finish();
	/* the +OK has no command; its body is skipped, not misread */
	cr_assert_eq(json_array_size(json_object_get(r, "messages")), 0);
	cr_assert_str_eq(dstr(dialogue_at(r, 2), "text", NULL), "QUIT");
	cr_assert_eq(json_array_size(json_object_get(r, "dialogue")), 4);
}

Test(pop3, overlong_line, .fini = teardown)
{
	json_t *r;
	char *big = malloc(70000);
	cr_assert_not_null(big);
	memset(big, 'A', 70000);
	start();
	feeds(WT_TO_CLIENT, "+OK ready\r\n");
	feed(WT_TO_SERVER, big, 35000);
	feed(WT_TO_SERVER, big, 35000);
	feed(WT_TO_SERVER, big, 1000);
	feeds(WT_TO_SERVER, "AAAA\r\nNOOP\r\n");
	free(big);
	feeds(WT_TO_CLIENT, "+OK\r\n");
	r = finish();
	cr_assert_eq(count_warnings("POP3_LINE_TOO_LONG"), 1);
	/* nothing of the long line was kept; NOOP still parsed and matched */
	cr_assert_eq(plen[WT_TO_SERVER], 0);
	cr_assert_str_eq(dstr(dialogue_at(r, 1), "text", NULL), "NOOP");
	cr_assert_str_eq(dstr(dialogue_at(r, 2), "text", NULL), "+OK");
}

Test(pop3, connection_ends_inside_message, .fini = teardown)
{
	json_t *r, *m;
	start();
	feeds(WT_TO_CLIENT, "+OK ready\r\n");
	feeds(WT_TO_SERVER, "RETR 3\r\n");
	feeds(WT_TO_CLIENT, "+OK\r\nSubject: cut\r\n\r\nbody\r\n");
	r = finish();
	m = json_array_get(json_object_get(r, "messages"), 0);
	cr_assert_not_null(m);
	cr_assert(json_is_false(json_object_get(m, "complete")));
	cr_assert_eq(json_integer_value(json_object_get(m, "number")), 3);
	cr_assert_str_eq(dstr(r, "type", NULL), "pop3");
	cr_assert_eq(json_integer_value(json_object_get(r, "stream")), 7);
	cr_assert_str_eq(dstr(r, "server", "ip"), "192.0.0.1");
}

Test(pop3, match_ports)
{
	bool dst = false;
	wt_options_t o;
	wt_ctx_t *c;
	wt_options_default(&o);
	c = wt_ctx_new(&o);
	cr_assert(wt_pop3_dissector.match(c, 40000, 110, &dst) && dst);
	cr_assert(wt_pop3_dissector.match(c, 995, 40000, &dst) && !dst);
	cr_assert(!wt_pop3_dissector.match(c, 40000, 143, &dst));
	wt_ctx_free(c);
}
