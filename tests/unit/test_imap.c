/* \summary: unit tests of the IMAP dissector, driven through its callbacks */
#include <criterion/criterion.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ctx_int.h"
#include "core/record.h"
#include "proto/dissector.h"

extern const wt_dissector_t wt_imap_dissector;

/* A stand-in for the flow layer: unconsumed bytes are presented again with
 * the next segment (the streaming contract of src/proto/dissector.h). */
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
	fi.client.ip.a[0] = 10;
	fi.client.ip.a[3] = 2;
	fi.client.port = 50000;
	fi.server.ip.family = 4;
	fi.server.ip.a[0] = 10;
	fi.server.ip.a[3] = 1;
	fi.server.port = server_port;
	fi.ipproto = 6;
	fi.stream = 2;
	fi.first_frame = 1;
	fi.first_ts.sec = 1700000000;
	fi.midstream = midstream;
	frame = 3;
	st = wt_imap_dissector.open(ctx, &fi);
	cr_assert_not_null(st);
}

static void
start(void)
{
	start_opts(143, false, 0, 0);
}

static void
feed(wt_dir_t dir, const void *p, size_t n)
{
	wt_pkt_t pkt;
	size_t used;
	memset(&pkt, 0, sizeof pkt);
	pkt.frame = ++frame;
	pend[dir] = realloc(pend[dir], plen[dir] + n + 1);
	cr_assert_not_null(pend[dir]);
	memcpy(pend[dir] + plen[dir], p, n);
	plen[dir] += n;
	used = wt_imap_dissector.data(st, dir, pend[dir], plen[dir], &pkt);
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
	plen[dir] = 0;
	wt_imap_dissector.gap(st, dir, n, &pkt);
}

static json_t *
finish(void)
{
	wt_pkt_t pkt;
	size_t i;
	json_t *r = NULL;
	memset(&pkt, 0, sizeof pkt);
	pkt.frame = ++frame;
	wt_imap_dissector.close(st, WT_END_FIN, &pkt);
	st = NULL;
	for (i = 0; i < json_array_size(records); i++) {
		json_t *x = json_array_get(records, i);
		if (strcmp(json_string_value(json_object_get(x, "type")), "imap") == 0)
			r = x;
	}
	cr_assert_not_null(r, "no imap record");
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
		wt_imap_dissector.close(st, WT_END_EOF, NULL);
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
dstr(json_t *o, const char *k1, const char *k2)
{
	json_t *v = json_object_get(o, k1);
	if (k2)
		v = json_object_get(v, k2);
	return json_string_value(v);
}

static json_int_t
dint(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static json_t *
at(json_t *r, const char *arr, size_t i)
{
	return json_array_get(json_object_get(r, arr), i);
}

static json_t *
command(json_t *r, const char *tag)
{
	json_t *cmds = json_object_get(r, "commands"), *c;
	size_t i;
	json_array_foreach(cmds, i, c)
		if (strcmp(dstr(c, "tag", NULL), tag) == 0)
			return c;
	cr_assert_fail("no command %s", tag);
	return NULL;
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

/* A message with a line that is only "." and a line starting with "*":
 * inside a literal neither means anything. */
static const char message[] =
	"From: Carol <carol@example.org>\r\n"
	"To: dave@example.net\r\n"
	"Subject: literal test\r\n"
	"Message-ID: <lit@example.org>\r\n"
	"\r\n"
	"a0003 OK not a completion\r\n"
	".\r\n"
	"* 9 EXISTS\r\n";

static void
fetch_session_split(size_t cut1, size_t cut2)
{
	char resp[2048];
	size_t n;
	json_t *r, *m, *c;

	start_opts(143, false, 0, 1);
	feeds(WT_TO_CLIENT, "* OK [CAPABILITY IMAP4rev1 LITERAL+ AUTH=PLAIN] ready\r\n");
	feeds(WT_TO_SERVER, "a0001 SELECT INBOX\r\n");
	feeds(WT_TO_CLIENT, "* 3 EXISTS\r\n* 0 RECENT\r\na0001 OK [READ-WRITE] done\r\n");
	feeds(WT_TO_SERVER, "a0002 UID FETCH 42 (UID FLAGS BODY.PEEK[])\r\n");
	n = (size_t)snprintf(resp, sizeof resp,
			     "* 3 FETCH (UID 42 FLAGS (\\Seen) BODY[] {%zu}\r\n%s)\r\n"
			     "a0002 OK FETCH completed\r\n",
			     sizeof message - 1, message);
	feed(WT_TO_CLIENT, resp, cut1);
	if (cut2 > cut1)
		feed(WT_TO_CLIENT, resp + cut1, cut2 - cut1);
	if (n > cut2)
		feed(WT_TO_CLIENT, resp + cut2, n - cut2);
	feeds(WT_TO_SERVER, "a0003 LOGOUT\r\n");
	feeds(WT_TO_CLIENT, "* BYE\r\na0003 OK\r\n");
	r = finish();

	cr_assert_eq(json_array_size(json_object_get(r, "messages")), 1,
		     "cuts %zu %zu", cut1, cut2);
	m = at(r, "messages", 0);
	cr_assert_eq(dint(m, "uid"), 42);
	cr_assert_eq(dint(m, "seq"), 3);
	cr_assert_str_eq(dstr(m, "section", NULL), "BODY[]");
	cr_assert_str_eq(dstr(m, "mailbox", NULL), "INBOX");
	cr_assert_eq(dint(m, "size"), (json_int_t)(sizeof message - 1));
	cr_assert(json_is_true(json_object_get(m, "complete")));
	cr_assert_str_eq(dstr(m, "message", "subject"), "literal test");
	cr_assert_eq(dint(m, "index"), 1);
	cr_assert_eq(msg_len, sizeof message - 1);
	cr_assert(memcmp(msg_buf, message, msg_len) == 0);

	c = command(r, "a0002");
	cr_assert_str_eq(dstr(c, "command", NULL), "UID FETCH");
	cr_assert_str_eq(dstr(c, "args", NULL), "42 (UID FLAGS BODY.PEEK[])");
	cr_assert_str_eq(dstr(c, "status", NULL), "OK");
	cr_assert_str_eq(dstr(c, "text", NULL), "FETCH completed");
	c = command(r, "a0003");
	cr_assert_str_eq(dstr(c, "status", NULL), "OK");
	cr_assert_eq(json_array_size(json_object_get(r, "commands")), 3);
	/* the literal's "a0003 OK" and "* 9 EXISTS" lines meant nothing */
	cr_assert_eq(dint(at(r, "mailboxes", 0), "exists"), 3);
	cr_assert_str_eq(dstr(at(r, "mailboxes", 0), "status", NULL), "OK");
	cr_assert_eq(count_warnings("IMAP_UNMATCHED_TAG"), 0);
	/* greeting, SELECT, 3 responses, FETCH, its 2 responses, LOGOUT, 2 */
	cr_assert_eq(json_array_size(json_object_get(r, "dialogue")), 11);
	{
		char want[128];
		snprintf(want, sizeof want,
			 "* 3 FETCH (UID 42 FLAGS (\\Seen) BODY[] {%zu bytes})",
			 sizeof message - 1);
		cr_assert_str_eq(dstr(at(r, "dialogue", 6), "text", NULL), want);
	}
	cr_assert_eq(json_array_size(json_object_get(r, "capabilities")), 3);
	teardown();
}

Test(imap, fetch_literal_every_split)
{
	char resp[2048];
	size_t n = (size_t)snprintf(resp, sizeof resp,
				    "* 3 FETCH (UID 42 FLAGS (\\Seen) BODY[] {%zu}\r\n%s)\r\n"
				    "a0002 OK FETCH completed\r\n",
				    sizeof message - 1, message);
	for (size_t a = 1; a < n; a++)
		fetch_session_split(a, a);
	for (size_t a = 1; a < n; a += 9)
		for (size_t b = a + 1; b < n; b += 6)
			fetch_session_split(a, b);
}

Test(imap, login_redacted, .fini = teardown)
{
	json_t *r, *c;
	start();
	feeds(WT_TO_CLIENT, "* OK ready\r\n");
	feeds(WT_TO_SERVER, "a1 LOGIN \"alice\" \"Pa55\\\"w0rd\"\r\n");
	feeds(WT_TO_CLIENT, "a1 OK LOGIN completed\r\n");
	r = finish();
	assert_no_secret(r, "Pa55");
	assert_no_secret(r, "w0rd");
	cr_assert_str_eq(dstr(r, "user", NULL), "alice");
	cr_assert_str_eq(dstr(r, "auth", "mechanism"), "LOGIN");
	cr_assert(json_is_true(json_object_get(json_object_get(r, "auth"), "success")));
	c = command(r, "a1");
	cr_assert_str_eq(dstr(c, "command", NULL), "LOGIN");
	cr_assert_str_eq(dstr(c, "args", NULL), "\"alice\" [REDACTED]");
	cr_assert_str_eq(dstr(at(r, "dialogue", 1), "text", NULL),
			 "a1 LOGIN \"alice\" [REDACTED]");
}

Test(imap, login_with_literals_split, .fini = teardown)
{
	/* RFC 3501 section 4.3: both arguments as sync literals, the client
	 * waiting for "+" each time; the password split across segments */
	json_t *r;
	start();
	feeds(WT_TO_CLIENT, "* OK ready\r\n");
	feeds(WT_TO_SERVER, "a1 LOGIN {5}\r\n");
	feeds(WT_TO_CLIENT, "+ go ahead\r\n");
	feeds(WT_TO_SERVER, "bo");
	feeds(WT_TO_SERVER, "bby {11}\r\n");
	feeds(WT_TO_CLIENT, "+ go ahead\r\n");
	feeds(WT_TO_SERVER, "Secr");
	feeds(WT_TO_SERVER, "et{7}\r\n\r");
	feeds(WT_TO_SERVER, "\n");
	feeds(WT_TO_CLIENT, "a1 NO [AUTHENTICATIONFAILED] bad\r\n");
	r = finish();
	assert_no_secret(r, "Secret{7}");
	assert_no_secret(r, "Secr");
	cr_assert_str_eq(dstr(r, "user", NULL), "bobby");
	cr_assert(json_is_false(json_object_get(json_object_get(r, "auth"), "success")));
	cr_assert_str_eq(dstr(command(r, "a1"), "status", NULL), "NO");
	cr_assert_eq(dint(command(r, "a1"), "frame"), 12);
}

Test(imap, login_show_secrets, .fini = teardown)
{
	json_t *r;
	start_opts(143, false, 1, 0);
	feeds(WT_TO_CLIENT, "* OK ready\r\n");
	feeds(WT_TO_SERVER, "a1 LOGIN alice hunter2\r\n");
	feeds(WT_TO_CLIENT, "a1 OK\r\n");
	r = finish();
	cr_assert_str_eq(dstr(command(r, "a1"), "args", NULL), "alice hunter2");
}

Test(imap, authenticate_plain, .fini = teardown)
{
	json_t *r;
	start();
	feeds(WT_TO_CLIENT, "* OK ready\r\n");
	feeds(WT_TO_SERVER, "A01 AUTHENTICATE PLAIN\r\n");
	feeds(WT_TO_CLIENT, "+ \r\n");
	/* "\0carol\0hunter22" */
	feeds(WT_TO_SERVER, "AGNhcm9sAGh1bnRlcjIy\r\n");
	feeds(WT_TO_CLIENT, "A01 OK done\r\n");
	feeds(WT_TO_SERVER, "A02 AUTHENTICATE PLAIN AGNhcm9sAGh1bnRlcjIy\r\n");
	feeds(WT_TO_CLIENT, "A02 BAD already\r\n");
	feeds(WT_TO_SERVER, "A03 NOOP\r\n");
	feeds(WT_TO_CLIENT, "A03 OK\r\n");
	r = finish();
	assert_no_secret(r, "AGNhcm9sAGh1bnRlcjIy");
	assert_no_secret(r, "hunter22");
	cr_assert_str_eq(dstr(r, "user", NULL), "carol");
	cr_assert_str_eq(dstr(r, "auth", "mechanism"), "PLAIN");
	cr_assert_str_eq(dstr(at(r, "dialogue", 3), "text", NULL), "[REDACTED]");
	cr_assert_str_eq(dstr(command(r, "A02"), "args", NULL), "PLAIN [REDACTED]");
	cr_assert_str_eq(dstr(command(r, "A03"), "status", NULL), "OK");
	cr_assert_eq(dint(r, "auth_attempts"), 2);
}

Test(imap, starttls, .fini = teardown)
{
	json_t *r;
	start();
	feeds(WT_TO_CLIENT, "* OK ready\r\n");
	feeds(WT_TO_SERVER, "t1 STARTTLS\r\n");
	feeds(WT_TO_CLIENT, "t1 OK Begin TLS negotiation now\r\n");
	feed(WT_TO_SERVER, "\x16\x03\x01\x00\x10t2 LOGIN a b\r\n", 19);
	feeds(WT_TO_CLIENT, "\x16\x03\x03 t2 OK\r\n");
	r = finish();
	cr_assert(json_is_true(json_object_get(r, "tls")));
	cr_assert(json_is_true(json_object_get(r, "starttls")));
	cr_assert_eq(json_array_size(json_object_get(r, "commands")), 1);
	cr_assert(json_is_null(json_object_get(r, "user")));
}

Test(imap, implicit_tls_port, .fini = teardown)
{
	json_t *r;
	start_opts(993, false, 0, 0);
	feeds(WT_TO_CLIENT, "* OK not really text\r\n");
	r = finish();
	cr_assert(json_is_true(json_object_get(r, "tls")));
	cr_assert_eq(json_array_size(json_object_get(r, "dialogue")), 0);
}

Test(imap, compress_deflate, .fini = teardown)
{
	json_t *r;
	start();
	feeds(WT_TO_CLIENT, "* OK ready\r\n");
	feeds(WT_TO_SERVER, "c1 COMPRESS DEFLATE\r\n");
	feeds(WT_TO_CLIENT, "c1 OK DEFLATE active\r\n");
	feed(WT_TO_SERVER, "\x78\x9c\x01\x02\r\nc2 NOOP\r\n", 13);
	r = finish();
	cr_assert(json_is_true(json_object_get(r, "compressed")));
	cr_assert_eq(count_warnings("IMAP_COMPRESSED"), 1);
	cr_assert_eq(json_array_size(json_object_get(r, "commands")), 1);
}

Test(imap, append_nonsync_literal, .fini = teardown)
{
	json_t *r, *m;
	char cmd[1024];
	start_opts(143, false, 0, 1);
	feeds(WT_TO_CLIENT, "* OK ready\r\n");
	snprintf(cmd, sizeof cmd, "A4 APPEND \"Sent Items\" (\\Seen) {%zu+}\r\n%s\r\n",
		 sizeof message - 1, message);
	/* the literal arrives in three pieces */
	feed(WT_TO_SERVER, cmd, 30);
	feed(WT_TO_SERVER, cmd + 30, 80);
	feed(WT_TO_SERVER, cmd + 110, strlen(cmd) - 110);
	feeds(WT_TO_CLIENT, "A4 OK [APPENDUID 38505 3955] APPEND completed\r\n");
	r = finish();
	m = at(r, "messages", 0);
	cr_assert_not_null(m);
	cr_assert_str_eq(dstr(m, "command", NULL), "APPEND");
	cr_assert_str_eq(dstr(m, "mailbox", NULL), "Sent Items");
	cr_assert_str_eq(dstr(m, "message", "subject"), "literal test");
	cr_assert_eq(msg_len, sizeof message - 1);
	cr_assert_str_eq(dstr(command(r, "A4"), "status", NULL), "OK");
	{
		char want[128];
		snprintf(want, sizeof want, "\"Sent Items\" (\\Seen) {%zu bytes}",
			 sizeof message - 1);
		cr_assert_str_eq(dstr(command(r, "A4"), "args", NULL), want);
	}
}

Test(imap, sync_literal_refused, .fini = teardown)
{
	json_t *r;
	start();
	feeds(WT_TO_CLIENT, "* OK ready\r\n");
	feeds(WT_TO_SERVER, "A5 APPEND INBOX {999999}\r\n");
	feeds(WT_TO_CLIENT, "A5 NO [TOOBIG] message too big\r\n");
	/* RFC 3501 section 7.5: no "+", so the client sends no literal */
	feeds(WT_TO_SERVER, "A6 NOOP\r\n");
	feeds(WT_TO_CLIENT, "A6 OK\r\n");
	r = finish();
	cr_assert_str_eq(dstr(command(r, "A5"), "status", NULL), "NO");
	cr_assert_str_eq(dstr(command(r, "A6"), "command", NULL), "NOOP");
	cr_assert_str_eq(dstr(command(r, "A6"), "status", NULL), "OK");
	cr_assert_eq(json_array_size(json_object_get(r, "messages")), 0);
}

Test(imap, idle_done_and_pipelining, .fini = teardown)
{
	json_t *r;
	start();
	feeds(WT_TO_CLIENT, "* OK ready\r\n");
	feeds(WT_TO_SERVER, "b1 NOOP\r\nb2 CHECK\r\nb3 IDLE\r\n");
	feeds(WT_TO_CLIENT, "b2 OK check\r\nb1 OK noop\r\n+ idling\r\n* 4 EXISTS\r\n");
	feeds(WT_TO_SERVER, "DONE\r\n");
	feeds(WT_TO_CLIENT, "b3 OK IDLE terminated\r\n");
	r = finish();
	cr_assert_str_eq(dstr(command(r, "b1"), "text", NULL), "noop");
	cr_assert_str_eq(dstr(command(r, "b2"), "text", NULL), "check");
	cr_assert_str_eq(dstr(command(r, "b3"), "status", NULL), "OK");
	cr_assert_eq(json_array_size(json_object_get(r, "commands")), 3);
	cr_assert_str_eq(dstr(at(r, "dialogue", 8), "text", NULL), "DONE");
	cr_assert_eq(count_warnings("IMAP_UNMATCHED_TAG"), 0);
}

Test(imap, header_fields_fetch, .fini = teardown)
{
	json_t *r, *m;
	static const char hdr[] = "Subject: just headers\r\nFrom: x@y.z\r\n\r\n";
	char resp[512];
	start();
	feeds(WT_TO_CLIENT, "* OK ready\r\n");
	feeds(WT_TO_SERVER, "h1 FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)] ENVELOPE)\r\n");
	snprintf(resp, sizeof resp,
		 "* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT FROM)] {%zu}\r\n%s"
		 " ENVELOPE (\"date\" {4}\r\nsubj NIL))\r\nh1 OK\r\n",
		 sizeof hdr - 1, hdr);
	feeds(WT_TO_CLIENT, resp);
	r = finish();
	cr_assert_eq(json_array_size(json_object_get(r, "messages")), 1);
	m = at(r, "messages", 0);
	cr_assert(json_is_true(json_object_get(m, "headers_only")));
	cr_assert_str_eq(dstr(m, "section", NULL), "BODY[HEADER.FIELDS (SUBJECT FROM)]");
	cr_assert_str_eq(dstr(m, "message", "subject"), "just headers");
	cr_assert(json_is_null(json_object_get(m, "uid")));
	cr_assert_eq(dint(m, "seq"), 1);
	cr_assert_str_eq(dstr(command(r, "h1"), "status", NULL), "OK");
}

Test(imap, midstream_inside_literal, .fini = teardown)
{
	json_t *r, *c;
	start_opts(143, true, 0, 0);
	feeds(WT_TO_CLIENT, "body text of some message\r\n)\r\nx9 OK FETCH done\r\n");
	feeds(WT_TO_SERVER, "y1 NOOP\r\n");
	feeds(WT_TO_CLIENT, "y1 OK\r\n");
	r = finish();
	c = command(r, "x9");
	cr_assert(json_is_null(json_object_get(c, "command")));
	cr_assert_str_eq(dstr(c, "status", NULL), "OK");
	cr_assert_str_eq(dstr(command(r, "y1"), "status", NULL), "OK");
	cr_assert(json_is_true(json_object_get(r, "midstream")));
}

Test(imap, gap_inside_literal, .fini = teardown)
{
	json_t *r, *m;
	start();
	feeds(WT_TO_CLIENT, "* OK ready\r\n");
	feeds(WT_TO_SERVER, "g1 FETCH 1 RFC822\r\n");
	feeds(WT_TO_CLIENT, "* 1 FETCH (RFC822 {2000}\r\nSubject: gappy\r\n\r\nbody");
	gap(WT_TO_CLIENT, 1000);
	{
		/* the rest of the literal: 2000 - 22 - 1000 bytes */
		char rest[978];
		memset(rest, 'x', sizeof rest);
		feed(WT_TO_CLIENT, rest, sizeof rest);
	}
	feeds(WT_TO_CLIENT, ")\r\ng1 OK done\r\n");
	r = finish();
	m = at(r, "messages", 0);
	cr_assert_not_null(m);
	cr_assert(json_is_false(json_object_get(m, "complete")));
	cr_assert_str_eq(dstr(m, "message", "subject"), "gappy");
	cr_assert_str_eq(dstr(command(r, "g1"), "status", NULL), "OK");
	cr_assert_eq(dint(r, "gaps"), 1);
	cr_assert_eq(count_warnings("IMAP_GAP"), 1);
}

Test(imap, gap_between_commands, .fini = teardown)
{
	json_t *r;
	start();
	feeds(WT_TO_CLIENT, "* OK ready\r\n");
	feeds(WT_TO_SERVER, "k1 NOOP\r\n");
	gap(WT_TO_SERVER, 9);
	feeds(WT_TO_SERVER, "k3 NOOP\r\n");
	feeds(WT_TO_CLIENT, "k1 OK\r\nk2 OK\r\nk3 OK\r\n");
	r = finish();
	cr_assert_str_eq(dstr(command(r, "k3"), "status", NULL), "OK");
	cr_assert(json_is_null(json_object_get(command(r, "k2"), "command")));
}

Test(imap, overlong_line, .fini = teardown)
{
	json_t *r;
	char *big = malloc(70000);
	cr_assert_not_null(big);
	memset(big, 'Z', 70000);
	memcpy(big, "o1 SEARCH ", 10);
	start();
	feeds(WT_TO_CLIENT, "* OK ready\r\n");
	feed(WT_TO_SERVER, big, 40000);
	feed(WT_TO_SERVER, big + 40000, 30000);
	free(big);
	feeds(WT_TO_SERVER, "ZZ\r\no2 NOOP\r\n");
	feeds(WT_TO_CLIENT, "o1 BAD too long\r\no2 OK\r\n");
	r = finish();
	cr_assert_eq(count_warnings("IMAP_LINE_TOO_LONG"), 1);
	cr_assert_eq(plen[WT_TO_SERVER], 0);
	cr_assert_str_eq(dstr(command(r, "o1"), "command", NULL), "SEARCH");
	cr_assert_str_eq(dstr(command(r, "o1"), "status", NULL), "BAD");
	cr_assert_str_eq(dstr(command(r, "o2"), "status", NULL), "OK");
	cr_assert(json_is_true(json_object_get(at(r, "dialogue", 1), "truncated")));
}

Test(imap, literal_too_big_is_text, .fini = teardown)
{
	json_t *r;
	start();
	feeds(WT_TO_CLIENT, "* OK ready\r\n");
	feeds(WT_TO_SERVER, "z1 FETCH 1 BODY[]\r\n");
	feeds(WT_TO_CLIENT, "* 1 FETCH (BODY[] {99999999999}\r\nz1 OK\r\n");
	r = finish();
	cr_assert_eq(count_warnings("IMAP_LITERAL_TOO_BIG"), 1);
	cr_assert_str_eq(dstr(command(r, "z1"), "status", NULL), "OK");
}

Test(imap, match_ports)
{
	bool dst = false;
	wt_options_t o;
	wt_ctx_t *c;
	wt_options_default(&o);
	c = wt_ctx_new(&o);
	cr_assert(wt_imap_dissector.match(c, 50000, 143, &dst) && dst);
	cr_assert(wt_imap_dissector.match(c, 993, 50000, &dst) && !dst);
	cr_assert(!wt_imap_dissector.match(c, 50000, 110, &dst));
	wt_ctx_free(c);
}
