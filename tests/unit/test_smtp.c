/* \summary: unit tests of the SMTP dissector driven through its callbacks */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "proto/dissector.h"
#include "wiretale/wiretale.h"

extern const wt_dissector_t wt_smtp_dissector;

/* A session: a context whose sink keeps the records, one open flow. */
typedef struct sess {
	wt_ctx_t *ctx;
	json_t *records;
	void *st;
	uint64_t frame;
	/* bytes not consumed by data(), per direction, as the flow layer
	 * keeps them (the streaming contract of src/proto/dissector.h) */
	uint8_t *pend[2];
	size_t npend[2];
	json_t *smtp;
} sess_t;

static void
sink(void *user, json_t *rec)
{
	sess_t *s = user;
	json_array_append(s->records, rec);
}

static void
sess_open(sess_t *s, int show_secrets, bool midstream, uint16_t port)
{
	wt_options_t o;
	wt_flow_info_t fi;
	memset(s, 0, sizeof *s);
	wt_options_default(&o);
	o.show_secrets = show_secrets;
	o.max_flows = 16;
	s->ctx = wt_ctx_new(&o);
	cr_assert_not_null(s->ctx);
	s->records = json_array();
	wt_ctx_add_sink(s->ctx, sink, s);
	memset(&fi, 0, sizeof fi);
	fi.client.ip.family = 4;
	fi.client.ip.a[0] = 192; fi.client.ip.a[1] = 0; fi.client.ip.a[2] = 2; fi.client.ip.a[3] = 1;
	fi.client.port = 40000;
	fi.server.ip.family = 4;
	fi.server.ip.a[0] = 192; fi.server.ip.a[1] = 0; fi.server.ip.a[2] = 2; fi.server.ip.a[3] = 25;
	fi.server.port = port;
	fi.ipproto = 6;
	fi.stream = 7;
	fi.first_frame = 1;
	fi.first_ts.sec = 1700000000;
	fi.midstream = midstream;
	s->frame = 1;
	s->st = wt_smtp_dissector.open(s->ctx, &fi);
	cr_assert_not_null(s->st);
}

static wt_pkt_t
pkt_of(sess_t *s)
{
	wt_pkt_t p;
	memset(&p, 0, sizeof p);
	p.frame = ++s->frame;
	p.ts.sec = 1700000000;
	p.ts.nsec = (uint32_t)s->frame * 1000;
	return p;
}

/* Delivers bytes of one direction as one segment. */
static void
seg(sess_t *s, wt_dir_t dir, const void *data, size_t n)
{
	wt_pkt_t p = pkt_of(s);
	size_t tot = s->npend[dir] + n, used;
	uint8_t *buf = malloc(tot ? tot : 1);
	cr_assert_not_null(buf);
	if (s->npend[dir])
		memcpy(buf, s->pend[dir], s->npend[dir]);
	memcpy(buf + s->npend[dir], data, n);
	used = wt_smtp_dissector.data(s->st, dir, buf, tot, &p);
	cr_assert(used <= tot);
	free(s->pend[dir]);
	s->npend[dir] = tot - used;
	s->pend[dir] = malloc(s->npend[dir] ? s->npend[dir] : 1);
	memcpy(s->pend[dir], buf + used, s->npend[dir]);
	free(buf);
}

static void
C(sess_t *s, const char *t)
{
	seg(s, WT_TO_SERVER, t, strlen(t));
}

static void
S(sess_t *s, const char *t)
{
	seg(s, WT_TO_CLIENT, t, strlen(t));
}

static void
gap(sess_t *s, wt_dir_t dir, uint64_t n)
{
	wt_pkt_t p = pkt_of(s);
	s->npend[dir] = 0; /* the flow layer drops what was kept */
	wt_smtp_dissector.gap(s->st, dir, n, &p);
}

/* Closes the flow and returns the smtp record (owned by the session). */
static json_t *
sess_close(sess_t *s)
{
	wt_pkt_t p = pkt_of(s);
	size_t i;
	wt_smtp_dissector.close(s->st, WT_END_FIN, &p);
	for (i = 0; i < json_array_size(s->records); i++) {
		json_t *r = json_array_get(s->records, i);
		if (strcmp(json_string_value(json_object_get(r, "type")), "smtp") == 0)
			s->smtp = r;
	}
	cr_assert_not_null(s->smtp, "no smtp record");
	return s->smtp;
}

static void
sess_free(sess_t *s)
{
	json_decref(s->records);
	free(s->pend[0]);
	free(s->pend[1]);
	wt_ctx_free(s->ctx);
}

static size_t
count_warnings(sess_t *s, const char *code)
{
	size_t i, n = 0;
	for (i = 0; i < json_array_size(s->records); i++) {
		json_t *r = json_array_get(s->records, i);
		if (strcmp(json_string_value(json_object_get(r, "type")), "warning") == 0 &&
		    strcmp(json_string_value(json_object_get(r, "code")), code) == 0)
			n++;
	}
	return n;
}

static json_t *
tx(json_t *rec, size_t i)
{
	json_t *t = json_array_get(json_object_get(rec, "transactions"), i);
	cr_assert_not_null(t, "no transaction %zu", i);
	return t;
}

static const char *
jstr(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	cr_assert(json_is_string(v), "%s is not a string", k);
	return json_string_value(v);
}

static json_int_t
jint(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	cr_assert(json_is_integer(v), "%s is not an integer", k);
	return json_integer_value(v);
}

/* The dialogue as one string "C:text|S:text|..." to compare easily. */
static char *
dialogue(json_t *rec)
{
	static char buf[65536];
	json_t *d = json_object_get(rec, "dialogue"), *e;
	size_t i, k = 0;
	buf[0] = '\0';
	json_array_foreach(d, i, e) {
		k += (size_t)snprintf(buf + k, sizeof buf - k, "%s%c:%s", i ? "|" : "",
				      strcmp(jstr(e, "from"), "client") == 0 ? 'C' : 'S',
				      jstr(e, "text"));
	}
	return buf;
}

Test(smtp, classic_session)
{
	sess_t s;
	json_t *r, *t, *m;
	sess_open(&s, 0, false, 25);
	S(&s, "220 mail.b.example ESMTP Postfix\r\n");
	C(&s, "EHLO client.a.example\r\n");
	S(&s, "250-mail.b.example\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
	      "250-ENHANCEDSTATUSCODES\r\n250 8BITMIME\r\n");
	C(&s, "MAIL FROM:<alice@a.example> SIZE=120 BODY=8BITMIME\r\n");
	S(&s, "250 2.1.0 Ok\r\n");
	C(&s, "RCPT TO:<bob@b.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob@b.example\r\n");
	S(&s, "250 2.1.5 Ok\r\n");
	C(&s, "RCPT TO:<nobody@b.example>\r\n");
	S(&s, "550 5.1.1 <nobody@b.example>: Recipient address rejected\r\n");
	C(&s, "DATA\r\n");
	S(&s, "354 End data with <CR><LF>.<CR><LF>\r\n");
	C(&s, "Subject: hi\r\nFrom: alice@a.example\r\n\r\n");
	C(&s, "..leading dot\r\nline 2\r\n.");
	C(&s, "\r\n");
	S(&s, "250 2.0.0 Ok: queued as 12345\r\n");
	C(&s, "QUIT\r\n");
	S(&s, "221 2.0.0 Bye\r\n");
	r = sess_close(&s);

	cr_assert_str_eq(jstr(r, "type"), "smtp");
	cr_assert_str_eq(jstr(r, "helo"), "client.a.example");
	cr_assert(json_is_true(json_object_get(r, "esmtp")));
	cr_assert(json_is_false(json_object_get(r, "tls")));
	cr_assert(json_is_null(json_object_get(r, "auth")));
	cr_assert_eq(jint(r, "stream"), 7);
	cr_assert_str_eq(jstr(json_object_get(r, "server"), "ip"), "192.0.2.25");
	cr_assert_eq(json_array_size(json_object_get(r, "extensions")), 4);
	cr_assert_str_eq(json_string_value(json_array_get(json_object_get(r, "extensions"), 1)),
			 "SIZE 10240000");
	t = tx(r, 0);
	cr_assert_str_eq(jstr(t, "mail_from"), "alice@a.example");
	cr_assert_str_eq(jstr(json_object_get(t, "mail_params"), "SIZE"), "120");
	cr_assert_str_eq(jstr(json_object_get(t, "mail_params"), "BODY"), "8BITMIME");
	cr_assert_eq(json_array_size(json_object_get(t, "rcpt_to")), 1);
	cr_assert_str_eq(json_string_value(json_array_get(json_object_get(t, "rcpt_to"), 0)),
			 "bob@b.example");
	cr_assert_str_eq(jstr(json_array_get(json_object_get(t, "rcpt_params"), 0), "NOTIFY"),
			 "SUCCESS,FAILURE");
	cr_assert_eq(jint(json_array_get(json_object_get(t, "rejected_rcpt"), 0), "code"), 550);
	cr_assert_eq(jint(t, "reply_code"), 250);
	cr_assert_eq(jint(t, "data_frame"), 15); /* the segment with the final CRLF */
	m = json_object_get(t, "message");
	cr_assert_str_eq(jstr(m, "subject"), "hi");
	cr_assert_eq(jint(m, "index"), 1);
	/* dot-unstuffed: ".leading dot\r\nline 2\r\n" after the blank line */
	cr_assert_eq(jint(m, "body_size"), 22);
	cr_assert_eq(jint(m, "size"), 38 + 22);
	cr_assert_str_eq(dialogue(r),
		"S:220 mail.b.example ESMTP Postfix|C:EHLO client.a.example|"
		"S:250-mail.b.example|S:250-PIPELINING|S:250-SIZE 10240000|"
		"S:250-ENHANCEDSTATUSCODES|S:250 8BITMIME|"
		"C:MAIL FROM:<alice@a.example> SIZE=120 BODY=8BITMIME|S:250 2.1.0 Ok|"
		"C:RCPT TO:<bob@b.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob@b.example|"
		"S:250 2.1.5 Ok|C:RCPT TO:<nobody@b.example>|"
		"S:550 5.1.1 <nobody@b.example>: Recipient address rejected|C:DATA|"
		"S:354 End data with <CR><LF>.<CR><LF>|S:250 2.0.0 Ok: queued as 12345|"
		"C:QUIT|S:221 2.0.0 Bye");
	/* enhanced status codes */
	cr_assert_str_eq(jstr(json_array_get(json_object_get(r, "dialogue"), 8), "enhanced"), "2.1.0");
	cr_assert_eq(jint(json_array_get(json_object_get(r, "dialogue"), 8), "code"), 250);
	cr_assert_eq(jint(r, "warnings"), 0);
	sess_free(&s);
}

Test(smtp, pipelining)
{
	sess_t s;
	json_t *r, *t;
	sess_open(&s, 0, false, 25);
	S(&s, "220 x ESMTP\r\n");
	C(&s, "EHLO c\r\n");
	S(&s, "250-x\r\n250 PIPELINING\r\n");
	/* one segment, three commands (RFC 2920) */
	C(&s, "MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nRCPT TO:<c@y>\r\nDATA\r\n");
	S(&s, "250 ok\r\n550 no such user\r\n250 ok\r\n354 go\r\n");
	C(&s, "Subject: p\r\n\r\nx\r\n.\r\nMAIL FROM:<d@x>\r\nRCPT TO:<e@y>\r\nDATA\r\n");
	S(&s, "250 queued\r\n250 ok\r\n451 try later\r\n");
	S(&s, "554 no valid recipients\r\n");
	C(&s, "QUIT\r\n");
	S(&s, "221 bye\r\n");
	r = sess_close(&s);
	t = tx(r, 0);
	cr_assert_eq(json_array_size(json_object_get(t, "rcpt_to")), 1);
	cr_assert_str_eq(json_string_value(json_array_get(json_object_get(t, "rcpt_to"), 0)), "c@y");
	cr_assert_str_eq(jstr(json_array_get(json_object_get(t, "rejected_rcpt"), 0), "address"), "b@y");
	cr_assert_eq(jint(t, "reply_code"), 250);
	cr_assert_str_eq(jstr(json_object_get(t, "message"), "subject"), "p");
	t = tx(r, 1);
	cr_assert_str_eq(jstr(t, "mail_from"), "d@x");
	cr_assert_eq(jint(t, "mail_reply"), 250);
	cr_assert_eq(jint(json_array_get(json_object_get(t, "rejected_rcpt"), 0), "code"), 451);
	cr_assert_eq(jint(t, "reply_code"), 554);
	cr_assert(json_is_null(json_object_get(t, "message")));
	cr_assert_eq(jint(r, "unanswered"), 0);
	cr_assert_eq(jint(r, "warnings"), 0);
	sess_free(&s);
}

Test(smtp, data_end_split_across_segments)
{
	/* CRLF . CRLF cut at every position between two segments */
	const char *body = "Subject: s\r\n\r\nabc\r\n.\r\n";
	size_t cut;
	for (cut = 1; cut < strlen(body); cut++) {
		sess_t s;
		json_t *r, *t;
		char a[64], b[64];
		sess_open(&s, 0, false, 25);
		S(&s, "220 x\r\n");
		C(&s, "HELO c\r\n");
		S(&s, "250 x\r\n");
		C(&s, "MAIL FROM:<>\r\nRCPT TO:<p@q>\r\nDATA\r\n");
		S(&s, "250 ok\r\n250 ok\r\n354 go\r\n");
		snprintf(a, sizeof a, "%.*s", (int)cut, body);
		snprintf(b, sizeof b, "%s", body + cut);
		C(&s, a);
		C(&s, b);
		S(&s, "250 queued\r\n");
		C(&s, "QUIT\r\n");
		r = sess_close(&s);
		t = tx(r, 0);
		cr_assert_str_eq(jstr(t, "mail_from"), "");
		cr_assert(json_is_false(json_object_get(r, "esmtp")));
		cr_assert_eq(jint(t, "reply_code"), 250, "cut at %zu", cut);
		cr_assert_eq(jint(json_object_get(t, "message"), "size"), 19, "cut at %zu", cut);
		cr_assert(json_is_true(json_object_get(json_object_get(t, "message"), "complete")));
		cr_assert_str_eq(dialogue(r) + strlen(dialogue(r)) - 6, "C:QUIT");
		sess_free(&s);
	}
}

Test(smtp, bdat_chunking)
{
	sess_t s;
	json_t *r, *t, *m;
	sess_open(&s, 0, false, 25);
	S(&s, "220 x\r\n");
	C(&s, "EHLO c\r\n");
	S(&s, "250-x\r\n250-CHUNKING\r\n250 BINARYMIME\r\n");
	C(&s, "MAIL FROM:<a@x> BODY=BINARYMIME\r\nRCPT TO:<b@y>\r\n");
	S(&s, "250 ok\r\n250 ok\r\n");
	/* the first chunk: its bytes follow the command at once; a "." line
	 * inside is data, not an end */
	C(&s, "BDAT 20\r\nSubject: bd\r\n\r\n.\r\nab");
	C(&s, "BDAT 3 LAST\r\ncd\n");
	S(&s, "250 chunk ok\r\n250 message ok\r\n");
	C(&s, "QUIT\r\n");
	S(&s, "221 bye\r\n");
	r = sess_close(&s);
	t = tx(r, 0);
	cr_assert_str_eq(jstr(t, "mode"), "bdat");
	cr_assert_eq(jint(t, "reply_code"), 250);
	cr_assert_str_eq(jstr(t, "reply_text"), "message ok");
	m = json_object_get(t, "message");
	cr_assert_eq(jint(m, "size"), 23);
	cr_assert_str_eq(jstr(m, "subject"), "bd");
	cr_assert_eq(jint(m, "body_size"), 8);
	cr_assert_str_eq(dialogue(r),
		"S:220 x|C:EHLO c|S:250-x|S:250-CHUNKING|S:250 BINARYMIME|"
		"C:MAIL FROM:<a@x> BODY=BINARYMIME|C:RCPT TO:<b@y>|S:250 ok|S:250 ok|"
		"C:BDAT 20|C:BDAT 3 LAST|S:250 chunk ok|S:250 message ok|C:QUIT|S:221 bye");
	sess_free(&s);
}

Test(smtp, starttls)
{
	sess_t s;
	json_t *r;
	static const uint8_t hello[] = { 0x16, 0x03, 0x01, 0x00, 0x05, 'E', 'H', 'L', 'O', '\n' };
	sess_open(&s, 0, false, 587);
	S(&s, "220 x\r\n");
	C(&s, "EHLO c\r\n");
	S(&s, "250-x\r\n250 STARTTLS\r\n");
	C(&s, "STARTTLS\r\n");
	S(&s, "220 2.0.0 Ready to start TLS\r\n");
	seg(&s, WT_TO_SERVER, hello, sizeof hello);
	S(&s, "\x16\x03\x03 anything\r\n250 not a reply\r\n");
	C(&s, "MAIL FROM:<hidden@x>\r\n");
	r = sess_close(&s);
	cr_assert(json_is_true(json_object_get(r, "tls")));
	cr_assert(json_is_false(json_object_get(r, "tls_implicit")));
	cr_assert_eq(json_array_size(json_object_get(r, "transactions")), 0);
	cr_assert_eq(jint(json_object_get(r, "encrypted_bytes"), "to_server"), (json_int_t)sizeof hello + 22);
	cr_assert_str_eq(dialogue(r),
		"S:220 x|C:EHLO c|S:250-x|S:250 STARTTLS|C:STARTTLS|S:220 2.0.0 Ready to start TLS");
	sess_free(&s);
}

Test(smtp, implicit_tls_465)
{
	sess_t s;
	json_t *r;
	sess_open(&s, 0, false, 465);
	C(&s, "EHLO looks like text but is TLS\r\n");
	r = sess_close(&s);
	cr_assert(json_is_true(json_object_get(r, "tls")));
	cr_assert(json_is_true(json_object_get(r, "tls_implicit")));
	cr_assert_eq(json_array_size(json_object_get(r, "dialogue")), 0);
	sess_free(&s);
}

Test(smtp, auth_plain_redacted)
{
	sess_t s;
	json_t *r, *a;
	const char *d;
	sess_open(&s, 0, false, 587);
	S(&s, "220 x\r\n");
	C(&s, "EHLO c\r\n");
	S(&s, "250-x\r\n250 AUTH PLAIN LOGIN\r\n");
	/* "\0alice\0s3cret" */
	C(&s, "AUTH PLAIN AGFsaWNlAHMzY3JldA==\r\n");
	S(&s, "235 2.7.0 Authentication successful\r\n");
	r = sess_close(&s);
	a = json_object_get(r, "auth");
	cr_assert_str_eq(jstr(a, "mechanism"), "PLAIN");
	cr_assert_str_eq(jstr(a, "user"), "alice");
	cr_assert(json_is_true(json_object_get(a, "success")));
	d = dialogue(r);
	cr_assert(strstr(d, "C:AUTH PLAIN [REDACTED]") != NULL, "%s", d);
	cr_assert(strstr(d, "AGFsaWNl") == NULL);
	sess_free(&s);

	sess_open(&s, 1, false, 587);
	S(&s, "220 x\r\n");
	C(&s, "AUTH PLAIN AGFsaWNlAHMzY3JldA==\r\n");
	S(&s, "535 5.7.8 bad\r\n");
	r = sess_close(&s);
	cr_assert(strstr(dialogue(r), "C:AUTH PLAIN AGFsaWNlAHMzY3JldA==") != NULL);
	cr_assert(json_is_false(json_object_get(json_object_get(r, "auth"), "success")));
	sess_free(&s);
}

Test(smtp, auth_login_redacted)
{
	sess_t s;
	json_t *r, *a;
	sess_open(&s, 0, false, 587);
	S(&s, "220 x\r\n");
	C(&s, "EHLO c\r\n");
	S(&s, "250 x\r\n");
	C(&s, "AUTH LOGIN\r\n");
	S(&s, "334 VXNlcm5hbWU6\r\n");
	C(&s, "Ym9i\r\n");                  /* bob */
	S(&s, "334 UGFzc3dvcmQ6\r\n");
	C(&s, "cGFzc3dvcmQ=\r\n");          /* password */
	S(&s, "235 ok\r\n");
	C(&s, "MAIL FROM:<bob@x>\r\n");
	S(&s, "250 ok\r\n");
	r = sess_close(&s);
	a = json_object_get(r, "auth");
	cr_assert_str_eq(jstr(a, "mechanism"), "LOGIN");
	cr_assert_str_eq(jstr(a, "user"), "bob");
	cr_assert(json_is_true(json_object_get(a, "success")));
	cr_assert_str_eq(dialogue(r),
		"S:220 x|C:EHLO c|S:250 x|C:AUTH LOGIN|S:334 VXNlcm5hbWU6|C:[REDACTED]|"
		"S:334 UGFzc3dvcmQ6|C:[REDACTED]|S:235 ok|C:MAIL FROM:<bob@x>|S:250 ok");
	cr_assert_str_eq(jstr(tx(r, 0), "mail_from"), "bob@x");
	sess_free(&s);
}

Test(smtp, auth_xoauth2_and_cram)
{
	sess_t s;
	json_t *r;
	sess_open(&s, 0, false, 587);
	S(&s, "220 x\r\n");
	/* "user=me@x\1auth=Bearer tok\1\1" */
	C(&s, "AUTH XOAUTH2 dXNlcj1tZUB4AWF1dGg9QmVhcmVyIHRvawEB\r\n");
	S(&s, "235 ok\r\n");
	r = sess_close(&s);
	cr_assert_str_eq(jstr(json_object_get(r, "auth"), "user"), "me@x");
	cr_assert(strstr(dialogue(r), "dXNlcj1") == NULL);
	sess_free(&s);

	sess_open(&s, 0, false, 587);
	S(&s, "220 x\r\n");
	C(&s, "AUTH CRAM-MD5\r\n");
	S(&s, "334 PDQxOTI5NDIzNDEuMTI4Mjg0NzJAc291cmNlZm91ci5hbmRyZXcuY211LmVkdT4=\r\n");
	/* "tim b913a602c7eda7a495b4e6e7334d3890" */
	C(&s, "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw\r\n");
	S(&s, "235 ok\r\n");
	r = sess_close(&s);
	cr_assert_str_eq(jstr(json_object_get(r, "auth"), "user"), "tim");
	sess_free(&s);
}

Test(smtp, midstream_start)
{
	sess_t s;
	json_t *r, *t;
	sess_open(&s, 0, true, 25);
	/* joined in the middle of a message */
	C(&s, "end of some body line\r\nmore body\r\n.\r\n");
	S(&s, "250 2.0.0 queued\r\n");
	C(&s, "MAIL FROM:<a@x>\r\n");
	S(&s, "250 ok\r\n");
	C(&s, "RCPT TO:<b@y>\r\nDATA\r\n");
	S(&s, "250 ok\r\n354 go\r\n");
	C(&s, "Subject: after\r\n\r\nx\r\n.\r\n");
	S(&s, "250 queued\r\n");
	r = sess_close(&s);
	cr_assert(json_is_true(json_object_get(r, "midstream")));
	cr_assert_eq(json_array_size(json_object_get(r, "transactions")), 1);
	t = tx(r, 0);
	cr_assert_str_eq(jstr(json_object_get(t, "message"), "subject"), "after");
	cr_assert_eq(jint(t, "reply_code"), 250);
	cr_assert_eq(count_warnings(&s, "SMTP_MIDSTREAM"), 1);
	sess_free(&s);
}

Test(smtp, gap_in_data_with_lost_end)
{
	sess_t s;
	json_t *r, *t, *m;
	sess_open(&s, 0, false, 25);
	S(&s, "220 x\r\n");
	C(&s, "HELO c\r\n");
	S(&s, "250 x\r\n");
	C(&s, "MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n");
	S(&s, "250 ok\r\n250 ok\r\n354 go\r\n");
	C(&s, "Subject: gappy\r\n\r\npart one\r\n");
	gap(&s, WT_TO_SERVER, 1000); /* the rest and the "." are lost */
	S(&s, "250 queued\r\n");
	C(&s, "QUIT\r\n");
	S(&s, "221 bye\r\n");
	r = sess_close(&s);
	t = tx(r, 0);
	m = json_object_get(t, "message");
	cr_assert_str_eq(jstr(m, "subject"), "gappy");
	cr_assert(json_is_false(json_object_get(m, "complete")));
	cr_assert_eq(jint(t, "reply_code"), 250);
	cr_assert_eq(jint(r, "gaps"), 1);
	cr_assert(strstr(dialogue(r), "C:QUIT|S:221 bye") != NULL, "%s", dialogue(r));
	cr_assert_eq(count_warnings(&s, "SMTP_GAP"), 1);
	sess_free(&s);
}

Test(smtp, gap_mid_dialogue)
{
	sess_t s;
	json_t *r;
	sess_open(&s, 0, false, 25);
	S(&s, "220 x\r\n");
	C(&s, "HELO c\r\n");
	S(&s, "250 x\r\n");
	C(&s, "MAIL FR");
	gap(&s, WT_TO_SERVER, 30);
	C(&s, "M:<a@x>\r\nNOOP\r\n");
	r = sess_close(&s);
	/* the cut line is skipped, the next one is read */
	cr_assert_str_eq(dialogue(r), "S:220 x|C:HELO c|S:250 x|C:NOOP");
	cr_assert_eq(count_warnings(&s, "SMTP_GAP"), 1);
	sess_free(&s);
}

Test(smtp, overlong_line_and_garbage)
{
	sess_t s;
	json_t *r;
	size_t n = 200000, i;
	char *big = malloc(n + 1);
	cr_assert_not_null(big);
	for (i = 0; i < n; i++)
		big[i] = (char)(i * 7 + 1) == '\n' ? 'x' : (char)(i * 7 + 1);
	big[n] = '\0';
	sess_open(&s, 0, false, 25);
	S(&s, "220 x\r\n");
	/* 200 KB without a LF, in 1000-byte segments */
	for (i = 0; i < n; i += 1000)
		seg(&s, WT_TO_SERVER, big + i, 1000);
	cr_assert(s.npend[0] < 70000, "kept %zu bytes", s.npend[0]);
	C(&s, "\r\nNOOP\r\n");
	S(&s, "250 ok\r\n");
	C(&s, "\x01\x02\xff garbage\r\n");
	S(&s, "500 what\r\n");
	r = sess_close(&s);
	cr_assert_eq(count_warnings(&s, "SMTP_LINE_TOO_LONG"), 1);
	cr_assert_eq(count_warnings(&s, "SMTP_BAD_COMMAND"), 1);
	cr_assert_str_eq(dialogue(r), "S:220 x|C:NOOP|S:250 ok|C:\\x01\\x02\\xff garbage|S:500 what");
	free(big);
	sess_free(&s);
}

Test(smtp, data_never_ends)
{
	sess_t s;
	json_t *r, *m;
	static char chunk[65536];
	size_t i;
	memset(chunk, 'a', sizeof chunk);
	for (i = 99; i < sizeof chunk; i += 100)
		chunk[i] = '\n';
	sess_open(&s, 0, false, 25);
	S(&s, "220 x\r\n");
	C(&s, "MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n");
	S(&s, "250 ok\r\n250 ok\r\n354 go\r\n");
	/* 10 MB of header lines, never ended */
	C(&s, "X-Big: ");
	for (i = 0; i < 160; i++)
		seg(&s, WT_TO_SERVER, chunk, sizeof chunk);
	cr_assert_eq(s.npend[0], 0);
	r = sess_close(&s);
	m = json_object_get(tx(r, 0), "message");
	cr_assert_eq(jint(m, "size"), 7 + 160 * 65536);
	cr_assert(json_is_false(json_object_get(m, "complete")));
	cr_assert_eq(count_warnings(&s, "SMTP_MESSAGE_UNFINISHED"), 1);
	sess_free(&s);
}

Test(smtp, data_without_354_seen)
{
	sess_t s;
	json_t *r, *t;
	sess_open(&s, 0, false, 25);
	S(&s, "220 x\r\n");
	C(&s, "MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n");
	S(&s, "250 ok\r\n250 ok\r\n");
	gap(&s, WT_TO_CLIENT, 12); /* the 354 was lost */
	C(&s, "Subject: x\r\n\r\nbody\r\n.\r\n");
	S(&s, "250 queued\r\n");
	r = sess_close(&s);
	t = tx(r, 0);
	cr_assert_str_eq(jstr(json_object_get(t, "message"), "subject"), "x");
	cr_assert_eq(jint(t, "reply_code"), 250);
	sess_free(&s);
}
