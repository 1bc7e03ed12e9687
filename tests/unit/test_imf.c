/* \summary: unit tests of the RFC 5322 / MIME parser (src/proto/imf.c) */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "proto/imf.h"

/* Parses msg fed in pieces of `step` bytes (0: all at once). */
static json_t *
parse_step(const char *msg, size_t step)
{
	wt_imf_t *m = wt_imf_new();
	size_t n = strlen(msg), i;
	json_t *j;
	cr_assert_not_null(m);
	if (step == 0)
		step = n ? n : 1;
	for (i = 0; i < n; i += step)
		wt_imf_feed(m, (const uint8_t *)msg + i, n - i < step ? n - i : step);
	j = wt_imf_finish(m);
	wt_imf_free(m);
	cr_assert_not_null(j);
	return j;
}

static json_t *
parse(const char *msg)
{
	return parse_step(msg, 0);
}

static const char *
str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	cr_assert(json_is_string(v), "field %s is not a string", key);
	return json_string_value(v);
}

static json_int_t
num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	cr_assert(json_is_integer(v), "field %s is not an integer", key);
	return json_integer_value(v);
}

Test(imf, simple_fields)
{
	json_t *j = parse("From: Alice <alice@a.example>\r\n"
			  "To: bob@b.example\r\n"
			  "Subject: hello\r\n"
			  "Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
			  "Message-ID: <1234@a.example>\r\n"
			  "In-Reply-To: <0@b.example>\r\n"
			  "Return-Path: <alice@a.example>\r\n"
			  "X-Mailer: swaks v20201014.0\r\n"
			  "\r\n"
			  "body line\r\n");
	cr_assert_str_eq(str(j, "from"), "Alice <alice@a.example>");
	cr_assert_str_eq(str(j, "to"), "bob@b.example");
	cr_assert_str_eq(str(j, "subject"), "hello");
	cr_assert_str_eq(str(j, "date"), "Mon, 1 Jan 2024 10:00:00 +0000");
	cr_assert_str_eq(str(j, "message_id"), "<1234@a.example>");
	cr_assert_str_eq(str(j, "in_reply_to"), "<0@b.example>");
	cr_assert_str_eq(str(j, "return_path"), "<alice@a.example>");
	cr_assert_str_eq(str(j, "user_agent"), "swaks v20201014.0");
	cr_assert(json_is_null(json_object_get(j, "cc")));
	cr_assert(json_is_null(json_object_get(j, "content_type")));
	cr_assert_eq(json_array_size(json_object_get(j, "headers")), 8);
	cr_assert_eq(num(j, "body_size"), 11);
	cr_assert_eq(num(j, "size"), num(j, "header_size") + 11);
	cr_assert(json_is_false(json_object_get(j, "truncated")));
	/* no Content-Type: one text/plain part (RFC 2045 §5.2) */
	cr_assert_eq(json_array_size(json_object_get(j, "mime")), 1);
	cr_assert_str_eq(str(json_array_get(json_object_get(j, "mime"), 0), "content_type"), "text/plain");
	json_decref(j);
}

Test(imf, folding_and_odd_syntax)
{
	/* folded Subject, white space before the colon (obs-optional), a
	 * field name in odd case, tabs in folding, bare LF line ends */
	json_t *j = parse("SUBJECT : a long\n"
			  "\tsubject\n"
			  "  line\n"
			  "tO:\tx@y\n"
			  "\n"
			  "b\n");
	cr_assert_str_eq(str(j, "subject"), "a long\tsubject  line");
	cr_assert_str_eq(str(j, "to"), "x@y");
	cr_assert_eq(num(j, "body_size"), 2);
	json_decref(j);
}

Test(imf, encoded_words_rfc2047_examples)
{
	/* RFC 2047 §8: white space between adjacent encoded words vanishes,
	 * between a word and text it stays */
	json_t *j = parse("From: =?US-ASCII?Q?Keith_Moore?= <moore@cs.utk.edu>\r\n"
			  "To: =?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?= <keld@dkuug.dk>\r\n"
			  "Cc: =?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>\r\n"
			  "Subject: =?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?=\r\n"
			  "    =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=\r\n"
			  "\r\n");
	cr_assert_str_eq(str(j, "from"), "Keith Moore <moore@cs.utk.edu>");
	cr_assert_str_eq(str(j, "to"), "Keld J\xc3\xb8rn Simonsen <keld@dkuug.dk>");
	cr_assert_str_eq(str(j, "cc"), "Andr\xc3\xa9 Pirard <PIRARD@vm1.ulg.ac.be>");
	cr_assert_str_eq(str(j, "subject"), "If you can read this you understand the example.");
	json_decref(j);
}

Test(imf, encoded_words_whitespace_rule)
{
	json_t *j;
	j = parse("Subject: (=?ISO-8859-1?Q?a?= b)\r\n\r\n");
	cr_assert_str_eq(str(j, "subject"), "(a b)");
	json_decref(j);
	j = parse("Subject: (=?ISO-8859-1?Q?a?=  \r\n    =?ISO-8859-1?Q?b?=)\r\n\r\n");
	cr_assert_str_eq(str(j, "subject"), "(ab)");
	json_decref(j);
	j = parse("Subject: (=?ISO-8859-1?Q?a_b?=)\r\n\r\n");
	cr_assert_str_eq(str(j, "subject"), "(a b)");
	json_decref(j);
	/* no space at all between words (seen in the wild) */
	j = parse("Subject: =?utf-8?Q?x?==?utf-8?Q?y?=\r\n\r\n");
	cr_assert_str_eq(str(j, "subject"), "xy");
	json_decref(j);
	/* a UTF-8 character split across two words comes out whole */
	j = parse("Subject: =?UTF-8?Q?caf=C3?= =?UTF-8?Q?=A9?=\r\n\r\n");
	cr_assert_str_eq(str(j, "subject"), "caf\xc3\xa9");
	json_decref(j);
	/* not an encoded word: kept as is */
	j = parse("Subject: =?bogus =? x?q?y?=\r\n\r\n");
	cr_assert_str_eq(str(j, "subject"), "=?bogus =? x?q?y?=");
	json_decref(j);
	/* language tag of RFC 2231 §5 */
	j = parse("Subject: =?US-ASCII*EN?Q?Keith_Moore?=\r\n\r\n");
	cr_assert_str_eq(str(j, "subject"), "Keith Moore");
	json_decref(j);
}

Test(imf, charsets)
{
	json_t *j;
	/* ISO-8859-15: 0xA4 is the euro sign */
	j = parse("Subject: =?iso-8859-15?Q?=A4_=BD?=\r\n\r\n");
	cr_assert_str_eq(str(j, "subject"), "\xe2\x82\xac \xc5\x93");
	json_decref(j);
	/* ISO-8859-1: 0xA4 is the currency sign */
	j = parse("Subject: =?iso-8859-1?Q?=A4?=\r\n\r\n");
	cr_assert_str_eq(str(j, "subject"), "\xc2\xa4");
	json_decref(j);
	/* Windows-1252 curly quotes and euro */
	j = parse("Subject: =?windows-1252?Q?=93hi=94_=80?=\r\n\r\n");
	cr_assert_str_eq(str(j, "subject"), "\xe2\x80\x9chi\xe2\x80\x9d \xe2\x82\xac");
	json_decref(j);
	/* through iconv: GB2312 "中文" */
	j = parse("Subject: =?gb2312?B?1tDOxA==?=\r\n\r\n");
	cr_assert_str_eq(str(j, "subject"), "\xe4\xb8\xad\xe6\x96\x87");
	json_decref(j);
	/* invalid UTF-8 in a UTF-8 word is escaped, output stays valid */
	j = parse("Subject: =?utf-8?Q?a=FFb?=\r\n\r\n");
	cr_assert_str_eq(str(j, "subject"), "a\\xffb");
	json_decref(j);
	/* raw 8-bit header (not encoded) is kept when valid UTF-8 */
	j = parse("Subject: gr\xc3\xbc\xc3\x9f\x65\r\n\r\n");
	cr_assert_str_eq(str(j, "subject"), "gr\xc3\xbc\xc3\x9f" "e");
	json_decref(j);
}

Test(imf, received_in_order)
{
	json_t *j = parse("Received: from c by d; Mon, 1 Jan 2024 00:00:02 +0000\r\n"
			  "Received: from b\r\n"
			  "\tby c; Mon, 1 Jan 2024 00:00:01 +0000\r\n"
			  "Subject: s\r\n"
			  "Received: from a by b; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
			  "\r\n");
	json_t *r = json_object_get(j, "received");
	cr_assert_eq(json_array_size(r), 3);
	cr_assert_str_eq(json_string_value(json_array_get(r, 0)),
			 "from c by d; Mon, 1 Jan 2024 00:00:02 +0000");
	cr_assert_str_eq(json_string_value(json_array_get(r, 1)),
			 "from b\tby c; Mon, 1 Jan 2024 00:00:01 +0000");
	cr_assert_str_eq(json_string_value(json_array_get(r, 2)),
			 "from a by b; Mon, 1 Jan 2024 00:00:00 +0000");
	json_decref(j);
}

static const char *nested =
	"From: a@b\r\n"
	"Content-Type: multipart/mixed; boundary=\"outer b\"\r\n"
	"MIME-Version: 1.0\r\n"
	"\r\n"
	"This is the preamble.\r\n"
	"--outer b\r\n"
	"Content-Type: multipart/alternative;\r\n"
	" boundary=inner\r\n"
	"\r\n"
	"--inner\r\n"
	"Content-Type: text/plain; charset=\"UTF-8\"\r\n"
	"Content-Transfer-Encoding: quoted-printable\r\n"
	"\r\n"
	"hello\r\n"
	"--inner\r\n"
	"Content-Type: text/html; charset=iso-8859-1\r\n"
	"\r\n"
	"<p>hello</p>\r\n"
	"--inner--\r\n"
	"\r\n"
	"--outer b\r\n"
	"Content-Type: application/octet-stream; name=\"ignored.bin\"\r\n"
	"Content-Disposition: attachment; filename=\"report 2024.pdf\"\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"\r\n"
	"QUJD\r\n"
	"REVG\r\n"
	"--outer b\r\n"
	"Content-Type: image/png; name==?utf-8?B?w6kucG5n?=\r\n"
	"\r\n"
	"x\r\n"
	"--outer b\r\n"
	"Content-Disposition: attachment;\r\n"
	" filename*0*=utf-8''%C3%A9t%C3%A9;\r\n"
	" filename*1=\".txt\"\r\n"
	"\r\n"
	"--outer b--\r\n"
	"epilogue\r\n";

static json_t *
part(json_t *j, size_t i)
{
	json_t *p = json_array_get(json_object_get(j, "mime"), i);
	cr_assert_not_null(p, "no part %zu", i);
	return p;
}

Test(imf, mime_nested)
{
	json_t *j = parse(nested), *p;
	cr_assert_eq(json_array_size(json_object_get(j, "mime")), 7);
	p = part(j, 0);
	cr_assert_str_eq(str(p, "content_type"), "multipart/mixed");
	cr_assert_eq(num(p, "depth"), 0);
	cr_assert_eq(num(p, "size"), num(j, "body_size"));
	p = part(j, 1);
	cr_assert_str_eq(str(p, "content_type"), "multipart/alternative");
	cr_assert_eq(num(p, "depth"), 1);
	p = part(j, 2);
	cr_assert_str_eq(str(p, "content_type"), "text/plain");
	cr_assert_str_eq(str(p, "charset"), "utf-8");
	cr_assert_str_eq(str(p, "transfer_encoding"), "quoted-printable");
	cr_assert_eq(num(p, "size"), 5); /* "hello": the CRLF before a delimiter is the delimiter's */
	cr_assert_eq(num(p, "depth"), 2);
	p = part(j, 3);
	cr_assert_str_eq(str(p, "content_type"), "text/html");
	cr_assert_str_eq(str(p, "charset"), "iso-8859-1");
	cr_assert_eq(num(p, "size"), 12);
	p = part(j, 4);
	cr_assert_str_eq(str(p, "content_type"), "application/octet-stream");
	cr_assert_str_eq(str(p, "filename"), "report 2024.pdf"); /* disposition wins */
	cr_assert_str_eq(str(p, "disposition"), "attachment");
	cr_assert_str_eq(str(p, "transfer_encoding"), "base64");
	cr_assert_eq(num(p, "size"), 10);
	cr_assert_eq(num(p, "depth"), 1);
	p = part(j, 5);
	cr_assert_str_eq(str(p, "filename"), "\xc3\xa9.png");
	p = part(j, 6);
	cr_assert_str_eq(str(p, "content_type"), "text/plain");
	cr_assert_str_eq(str(p, "filename"), "\xc3\xa9t\xc3\xa9.txt");
	cr_assert_eq(num(p, "size"), 0);
	json_decref(j);
}

Test(imf, pieces_give_the_same_result)
{
	json_t *whole = parse(nested);
	size_t steps[] = { 1, 2, 3, 7, 64 };
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		json_t *j = parse_step(nested, steps[i]);
		cr_assert(json_equal(whole, j), "fed in %zu-byte pieces the result differs", steps[i]);
		json_decref(j);
	}
	json_decref(whole);
}

Test(imf, message_rfc822_and_digest)
{
	json_t *j = parse("Content-Type: multipart/digest; boundary=d\r\n"
			  "\r\n"
			  "--d\r\n"
			  "\r\n"
			  "Subject: inner\r\n"
			  "Content-Type: text/html\r\n"
			  "\r\n"
			  "<b>x</b>\r\n"
			  "--d--\r\n");
	cr_assert_eq(json_array_size(json_object_get(j, "mime")), 3);
	cr_assert_str_eq(str(part(j, 1), "content_type"), "message/rfc822");
	cr_assert_str_eq(str(part(j, 2), "content_type"), "text/html");
	cr_assert_eq(num(part(j, 2), "depth"), 2);
	cr_assert_eq(num(part(j, 2), "size"), 8);
	/* the inner Subject is not the message's */
	cr_assert(json_is_null(json_object_get(j, "subject")));
	json_decref(j);
}

Test(imf, boundary_lookalikes)
{
	/* "--bx" is not the delimiter "--b" (RFC 2046 §5.1.1); trailing
	 * white space after a delimiter is allowed */
	json_t *j = parse("Content-Type: multipart/mixed; boundary=b\r\n\r\n"
			  "--b \t\r\n\r\n--bx\r\nabc\r\n--b--\r\n");
	cr_assert_eq(json_array_size(json_object_get(j, "mime")), 2);
	cr_assert_eq(num(part(j, 1), "size"), 9); /* "--bx" CRLF "abc" */
	json_decref(j);
}

Test(imf, no_blank_line_and_no_body)
{
	json_t *j = parse("Subject: only a header\r\n");
	cr_assert_str_eq(str(j, "subject"), "only a header");
	cr_assert_eq(num(j, "body_size"), 0);
	json_decref(j);
	/* a line that is not a field ends the header section */
	j = parse("Subject: x\r\nthis is body\r\n");
	cr_assert_eq(num(j, "body_size"), 14);
	cr_assert_eq(json_array_size(json_object_get(j, "headers")), 1);
	json_decref(j);
	j = parse("");
	cr_assert_eq(num(j, "size"), 0);
	json_decref(j);
}

Test(imf, caps)
{
	/* 2000 fields: 1000 kept, truncated; one 10 MB field line */
	size_t n = 2000 * 16 + 10 * 1024 * 1024 + 64, k = 0, i;
	char *buf = malloc(n);
	json_t *j;
	cr_assert_not_null(buf);
	for (i = 0; i < 2000; i++)
		k += (size_t)sprintf(buf + k, "X-F: %08zu\r\n", i);
	k += (size_t)sprintf(buf + k, "Subject: ");
	memset(buf + k, 'a', 10 * 1024 * 1024);
	k += 10 * 1024 * 1024;
	k += (size_t)sprintf(buf + k, "\r\n\r\nbody\r\n");
	buf[k] = '\0';
	j = parse_step(buf, 4096);
	cr_assert(json_is_true(json_object_get(j, "truncated")));
	cr_assert_eq(json_array_size(json_object_get(j, "headers")), 1000);
	cr_assert_eq(num(j, "size"), (json_int_t)k);
	cr_assert_eq(num(j, "body_size"), 6);
	cr_assert(strlen(str(j, "subject")) < 100000);
	json_decref(j);
	free(buf);
}

Test(imf, bad_bytes_are_escaped)
{
	json_t *j = parse("Subject: a\x01\xff\r\nFrom: \xc3\r\n\r\n");
	cr_assert_str_eq(str(j, "subject"), "a\\x01\\xff");
	cr_assert_str_eq(str(j, "from"), "\\xc3");
	json_decref(j);
}
