/* \summary: unit tests of grading: rubric errors, answer normalisation, every check kind on hand-built records, the copy detector */
#include <string.h>

#include <criterion/criterion.h>

#include "grade/grade.h"

static wt_rubric_t *
load(const char *text, char *err, size_t errlen)
{
	err[0] = '\0';
	return wt_rubric_load_text("r.json", text, strlen(text), err, errlen);
}

static void
expect_error(const char *text, const char *want)
{
	char err[1024];
	wt_rubric_t *r = load(text, err, sizeof err);
	cr_expect_null(r, "rubric accepted, wanted: %s", want);
	cr_expect(strstr(err, want) != NULL, "error '%s' lacks '%s'", err, want);
	wt_rubric_free(r);
}

/* ------------------------------------------------------------------ */

Test(rubric, unknown_check_names_line_and_field)
{
	expect_error("{\n"
		     "  \"criteria\": [\n"
		     "    {\"id\": \"a\", \"points\": 1,\n"
		     "     \"check\": {\"kind\": \"dns_transaction\"}},\n"
		     "    {\"id\": \"b\", \"points\": 1,\n"
		     "     \"check\": {\n"
		     "        \"kind\": \"dns_transacton\"}}\n"
		     "  ]\n"
		     "}\n",
		     "r.json:7: criteria[1].check.kind: unknown check 'dns_transacton'");
}

Test(rubric, bad_types_and_fields)
{
	expect_error("{\"criteria\": [{\"id\": \"a\", \"points\": \"2\", \"check\": {\"kind\": \"resolution\"}}]}",
		     "r.json:1: criteria[0].points: expected a number of points");
	expect_error("{\"criteria\": [\n{\"id\": \"a\", \"points\": 2,\n \"check\": {\"kind\": \"resolution\",\n \"min_referrals\": -1}}]}",
		     "r.json:4: criteria[0].check.min_referrals: -1 is out of range");
	expect_error("{\"criteria\": [{\"id\": \"a\", \"points\": 2, \"check\": {\"kind\": \"dns_transaction\", \"qnam\": \"x\"}}]}",
		     "criteria[0].check.qnam: unknown field for dns_transaction");
	expect_error("{\"criteria\": [{\"id\": \"a\", \"points\": 2, \"check\": {\"kind\": \"dns_transaction\", \"server\": \"ns1\"}}]}",
		     "criteria[0].check.server: 'ns1' is not an IP address");
	expect_error("{\"criteria\": [{\"id\": \"a\", \"points\": 2, \"check\": {\"kind\": \"dns_transaction\", \"flags\": {\"rx\": true}}}]}",
		     "criteria[0].check.flags.rx: unknown flag");
	expect_error("{\"criteria\": [{\"id\": \"a\", \"points\": 2, \"check\": {\"kind\": \"dns_transaction\", \"answers\": {\"min\": 3, \"max\": 1}}}]}",
		     "criteria[0].check.answers: min is greater than max");
	expect_error("{\"criteria\": [{\"id\": \"a\", \"points\": 2, \"check\": {\"kind\": \"resolution\", \"roles\": [\"root\", \"king\"]}}]}",
		     "criteria[0].check.roles[1]: unknown role 'king'");
	expect_error("{\"criteria\": [{\"id\": \"a\", \"points\": 2, \"check\": {\"kind\": \"smtp_transaction\", \"replies\": [250, 99]}}]}",
		     "criteria[0].check.replies[1]: 99 is out of range");
}

Test(rubric, structure_errors)
{
	expect_error("[]", "r.json:1: (top level): a rubric is a JSON object");
	expect_error("{\"title\": \"x\"}", "missing \"criteria\"");
	expect_error("{\"criteria\": [], \"extra\": 1}", "extra: unknown field");
	expect_error("{\"criteria\": [{\"id\": \"a\", \"points\": 1}]}",
		     "criteria[0]: give exactly one of \"check\" and \"question\"");
	expect_error("{\"criteria\": [{\"id\": \"a\", \"points\": 1, \"question\": {\"ask\": \"dns.query_frame\"}},"
		     "{\"id\": \"a\", \"points\": 1, \"question\": {\"ask\": \"dns.transport\"}}]}",
		     "criteria[1].id: duplicate id 'a'");
	expect_error("{\"criteria\": [{\"id\": \"a\", \"points\": 1, \"question\": {\"ask\": \"dns.frame\"}}]}",
		     "criteria[0].question.ask: unknown question 'dns.frame'");
	expect_error("{\"criteria\": [{\"id\": \"a\", \"points\": 1, \"question\": {\"ask\": \"smtp.reply_code\"}}]}",
		     "criteria[0].question: smtp.reply_code needs \"command\"");
	expect_error("{\"criteria\": [{\"id\": \"a\", \"points\": 1, \"question\": {\"ask\": \"dns.qtype\", \"command\": \"DATA\"}}]}",
		     "criteria[0].question.command: unknown field for dns.qtype");
	expect_error("{\"criteria\": [{\"id\": \"a b\", \"points\": 1, \"question\": {\"ask\": \"dns.qtype\"}}]}",
		     "criteria[0].id: expected an id");
	expect_error("{\"criteria\": [\n  {\"id\": \"a\",\n   \"points\": 1,\n", "r.json:4:");
	expect_error("{\"integrity\": {\"student_host\": \"me\"}, \"criteria\": [{\"id\": \"a\", \"points\": 1, \"question\": {\"ask\": \"dns.qtype\"}}]}",
		     "integrity.student_host: expected an IP address");
}

Test(rubric, valid_rubric_loads)
{
	char err[512];
	wt_rubric_t *r = load("{\"title\": \"t\", \"criteria\": ["
			      "{\"id\": \"a\", \"points\": 2.5, \"check\": {\"kind\": \"dns_transaction\", \"answers\": 1}},"
			      "{\"id\": \"b\", \"points\": 1, \"question\": {\"ask\": \"dns.query_frame\", \"key\": \"q1\"}}]}",
			      err, sizeof err);
	cr_assert_not_null(r, "%s", err);
	cr_expect_eq(wt_rubric_count(r), 2);
	cr_expect_str_eq(wt_rubric_id(r, 1), "b");
	cr_expect_float_eq(wt_rubric_max(r), 3.5, 1e-9);
	cr_expect_str_eq(wt_rubric_title(r), "t");
	wt_rubric_free(r);
}

/* ------------------------------------------------------------------ */

Test(answers, normalisation)
{
	char out[64];
	wt_answer_normalise("  Mail.A.Example.  ", out, sizeof out);
	cr_expect_str_eq(out, "mail.a.example");
	wt_answer_normalise("\"UDP\"", out, sizeof out);
	cr_expect_str_eq(out, "udp");
	wt_answer_normalise("<Alice@A.example>", out, sizeof out);
	cr_expect_str_eq(out, "alice@a.example");
	wt_answer_normalise(".", out, sizeof out);
	cr_expect_str_eq(out, ".");
	wt_answer_normalise("a \t  b", out, sizeof out);
	cr_expect_str_eq(out, "a b");
}

Test(answers, matching)
{
	cr_expect(wt_answer_match("15", "frame 15", WT_ANS_NUMBER));
	cr_expect(wt_answer_match("15", "#15", WT_ANS_NUMBER));
	cr_expect(wt_answer_match("15", "015", WT_ANS_NUMBER));
	cr_expect(wt_answer_match("15", "15.0", WT_ANS_NUMBER));
	cr_expect(wt_answer_match("559", "0x022f", WT_ANS_NUMBER));
	cr_expect_not(wt_answer_match("15", "frame 15 or 16", WT_ANS_NUMBER));
	cr_expect_not(wt_answer_match("15", "1.5", WT_ANS_NUMBER));
	cr_expect_not(wt_answer_match("15", "", WT_ANS_NUMBER));
	cr_expect(wt_answer_match("127.0.0.53", " 127.0.0.53 ", WT_ANS_IP));
	cr_expect(wt_answer_match("2001:db8::1", "2001:DB8:0::1", WT_ANS_IP));
	cr_expect_not(wt_answer_match("127.0.0.53", "127.0.0.5", WT_ANS_IP));
	cr_expect(wt_answer_match("udp", "UDP", WT_ANS_TEXT));
	cr_expect(wt_answer_match("mail.a.example", "MAIL.a.example.", WT_ANS_TEXT));
	cr_expect(wt_answer_match("53", "53.0", WT_ANS_TEXT));
	cr_expect_not(wt_answer_match("udp", "tcp", WT_ANS_TEXT));
	cr_expect_not(wt_answer_match(NULL, "x", WT_ANS_TEXT));
}

Test(answers, reply_meaning)
{
	cr_expect(wt_answer_match("354", "Start mail input", WT_ANS_REPLY_CLASS));
	cr_expect(wt_answer_match("354", "positive intermediate", WT_ANS_REPLY_CLASS));
	cr_expect(wt_answer_match("354", "3yz", WT_ANS_REPLY_CLASS));
	cr_expect_not(wt_answer_match("354", "ok", WT_ANS_REPLY_CLASS));
	cr_expect_not(wt_answer_match("354", "354", WT_ANS_REPLY_CLASS)); /* not an explanation */
	cr_expect(wt_answer_match("250", "OK, completed", WT_ANS_REPLY_CLASS));
	cr_expect_not(wt_answer_match("250", "token", WT_ANS_REPLY_CLASS)); /* "ok" inside a word */
	cr_expect(wt_answer_match("221", "the server is closing the connection", WT_ANS_REPLY_CLASS));
	cr_expect(wt_answer_match("550", "permanent failure: no such user", WT_ANS_REPLY_CLASS));
	cr_expect_not(wt_answer_match("550", "temporary failure", WT_ANS_REPLY_CLASS));
}

/* ------------------------------------------------------------------ */
/* Checks on hand-built records */

static json_t *
recs(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);
	cr_assert_not_null(j, "bad test JSON: %s (line %d)", e.text, e.line);
	return j;
}

static const char *const dns_records =
	"[{\"type\":\"dns\",\"transport\":\"udp\",\"id\":1,\"client\":{\"ip\":\"10.0.0.5\",\"port\":40000},"
	"\"server\":{\"ip\":\"10.0.0.53\",\"port\":53},\"qname\":\"gaia.cs.umass.edu\",\"qtype\":\"AAAA\","
	"\"flags\":{\"rd\":true,\"ra\":true},\"rcode\":\"NOERROR\",\"answers\":[],\"query_frame\":7,\"response_frame\":8},"
	"{\"type\":\"dns\",\"transport\":\"udp\",\"id\":2,\"client\":{\"ip\":\"10.0.0.5\",\"port\":40001},"
	"\"server\":{\"ip\":\"10.0.0.53\",\"port\":53},\"qname\":\"gaia.cs.umass.edu\",\"qtype\":\"A\","
	"\"flags\":{\"rd\":true,\"ra\":true},\"rcode\":\"NOERROR\",\"answers\":["
	"{\"name\":\"gaia.cs.umass.edu\",\"type\":\"A\",\"ttl\":60,\"data\":\"128.119.245.12\"}],"
	"\"query_frame\":5,\"response_frame\":9},"
	"{\"type\":\"dns\",\"transport\":\"udp\",\"id\":3,\"client\":{\"ip\":\"10.0.0.5\",\"port\":40002},"
	"\"server\":{\"ip\":\"10.0.0.53\",\"port\":53},\"qname\":\"umass.edu\",\"qtype\":\"MX\","
	"\"flags\":{\"rd\":true},\"rcode\":\"NOERROR\",\"answers\":["
	"{\"name\":\"umass.edu\",\"type\":\"MX\",\"ttl\":60,\"data\":\"20 mx2.umass.edu\"},"
	"{\"name\":\"umass.edu\",\"type\":\"MX\",\"ttl\":60,\"data\":\"10 mx1.umass.edu\"}],"
	"\"query_frame\":11,\"response_frame\":12}]";

static json_t *
grade(const char *rubric, const char *records, const char *answers)
{
	char err[512];
	wt_rubric_t *r = load(rubric, err, sizeof err);
	json_t *rs, *an = answers ? recs(answers) : NULL, *res;
	cr_assert_not_null(r, "%s", err);
	rs = recs(records);
	res = wt_grade_records(r, rs, an);
	json_decref(rs);
	json_decref(an);
	wt_rubric_free(r);
	return res;
}

static const json_t *
crit(const json_t *res, size_t i)
{
	return json_array_get(json_object_get(res, "criteria"), i);
}

static int
passed(const json_t *res, size_t i)
{
	return json_is_true(json_object_get(crit(res, i), "passed"));
}

static const char *
message(const json_t *res, size_t i)
{
	return json_string_value(json_object_get(crit(res, i), "message"));
}

Test(check, dns_transaction)
{
	json_t *res = grade("{\"criteria\":["
			    "{\"id\":\"a\",\"points\":2,\"check\":{\"kind\":\"dns_transaction\",\"qname\":\"GAIA.cs.umass.edu.\",\"qtype\":\"A\",\"answers\":{\"min\":1},\"flags\":{\"rd\":true}}},"
			    "{\"id\":\"b\",\"points\":2,\"check\":{\"kind\":\"dns_transaction\",\"qname\":\"gaia.cs.umass.edu\",\"transport\":\"tcp\"}},"
			    "{\"id\":\"c\",\"points\":1,\"check\":{\"kind\":\"dns_transaction\",\"qname\":\"gaia.cs.umass.edu\",\"count\":2}},"
			    "{\"id\":\"d\",\"points\":1,\"check\":{\"kind\":\"dns_transaction\",\"qname\":\"nope.example\"}},"
			    "{\"id\":\"e\",\"points\":1,\"check\":{\"kind\":\"dns_transaction\",\"rcode\":\"NXDOMAIN\"}}]}",
			    dns_records, NULL);
	cr_expect(passed(res, 0));
	cr_expect_eq(json_integer_value(json_array_get(json_object_get(json_object_get(crit(res, 0), "evidence"), "frames"), 0)), 5);
	cr_expect_not(passed(res, 1));
	cr_expect(strstr(message(res, 1), "query frame 5") && strstr(message(res, 1), "over udp, not tcp"),
		  "%s", message(res, 1));
	cr_expect(passed(res, 2));
	cr_expect_not(passed(res, 3));
	cr_expect(strstr(message(res, 3), "no DNS query for nope.example"), "%s", message(res, 3));
	cr_expect_not(passed(res, 4));
	cr_expect_float_eq(json_number_value(json_object_get(res, "total")), 3, 1e-9);
	cr_expect_float_eq(json_number_value(json_object_get(res, "max")), 7, 1e-9);
	json_decref(res);
}

Test(question, dns_answers_from_the_trace)
{
	json_t *res = grade("{\"criteria\":["
			    "{\"id\":\"q1\",\"points\":1,\"question\":{\"ask\":\"dns.query_frame\",\"qname\":\"gaia.cs.umass.edu\"}},"
			    "{\"id\":\"q2\",\"points\":1,\"question\":{\"ask\":\"dns.server_port\",\"qname\":\"gaia.cs.umass.edu\"}},"
			    "{\"id\":\"q3\",\"points\":1,\"question\":{\"ask\":\"dns.answer\",\"qname\":\"gaia.cs.umass.edu\",\"qtype\":\"A\"}},"
			    "{\"id\":\"q4\",\"points\":1,\"question\":{\"ask\":\"dns.mx\",\"qname\":\"umass.edu\"}},"
			    "{\"id\":\"q5\",\"points\":1,\"question\":{\"ask\":\"dns.qtype\",\"qname\":\"gaia.cs.umass.edu\",\"nth\":2}},"
			    "{\"id\":\"q6\",\"points\":1,\"question\":{\"ask\":\"dns.flag\",\"flag\":\"ra\",\"qname\":\"umass.edu\"}},"
			    "{\"id\":\"q7\",\"points\":1,\"question\":{\"ask\":\"dns.ttl\",\"qname\":\"nowhere.example\"}}]}",
			    dns_records,
			    "{\"q1\":\"frame 5\",\"q2\":\"53\",\"q3\":\"128.119.245.12\",\"q4\":\"mx1.umass.edu.\",\"q5\":\"A\",\"q6\":\"no\",\"q7\":\"60\"}");
	json_t *key = json_object_get(res, "key");
	/* the first query in frame order is frame 5, although emitted second */
	cr_expect_str_eq(json_string_value(json_object_get(key, "q1")), "5");
	cr_expect(passed(res, 0));
	cr_expect(passed(res, 1));
	cr_expect(passed(res, 2));
	cr_expect(passed(res, 3), "%s", message(res, 3));
	cr_expect_str_eq(json_string_value(json_object_get(key, "q4")), "mx1.umass.edu");
	cr_expect_not(passed(res, 4), "the 2nd query for gaia is AAAA");
	cr_expect_str_eq(json_string_value(json_object_get(key, "q5")), "AAAA");
	cr_expect(passed(res, 5));
	cr_expect_not(passed(res, 6));
	cr_expect(json_is_null(json_object_get(key, "q7")));
	cr_expect(strstr(message(res, 6), "cannot be answered from this trace"), "%s", message(res, 6));
	json_decref(res);
}

static const char *const res_records =
	"[{\"type\":\"resolution\",\"qname\":\"www.a.example\",\"qtype\":\"A\",\"client\":{\"ip\":\"10.0.0.5\",\"port\":1},"
	"\"kind\":\"iterated\",\"resolver\":null,\"resolver_method\":\"iterated\",\"rcode\":\"NOERROR\",\"first_frame\":1,\"last_frame\":6,"
	"\"steps\":["
	"{\"server\":{\"ip\":\"198.41.0.4\",\"port\":53},\"role\":\"root\",\"outcome\":\"referral\",\"query_frame\":1,\"response_frame\":2,\"referral\":{\"zone\":\"example\"}},"
	"{\"server\":{\"ip\":\"10.1.1.1\",\"port\":53},\"role\":\"tld\",\"outcome\":\"referral\",\"query_frame\":3,\"response_frame\":4,\"referral\":{\"zone\":\"a.example\"}},"
	"{\"server\":{\"ip\":\"10.2.2.2\",\"port\":53},\"role\":\"authoritative\",\"outcome\":\"answer\",\"query_frame\":5,\"response_frame\":6}]},"
	"{\"type\":\"resolution\",\"qname\":\"www.b.example\",\"qtype\":\"A\",\"client\":{\"ip\":\"10.0.0.5\",\"port\":2},"
	"\"kind\":\"recursive\",\"resolver\":{\"ip\":\"10.0.0.53\",\"port\":53},\"resolver_method\":\"unseen\",\"rcode\":\"NOERROR\",\"first_frame\":7,\"last_frame\":8,"
	"\"steps\":[{\"server\":{\"ip\":\"10.0.0.53\",\"port\":53},\"role\":\"recursive resolver\",\"outcome\":\"answer\",\"query_frame\":7,\"response_frame\":8}]}]";

Test(check, resolution)
{
	json_t *res = grade("{\"criteria\":["
			    "{\"id\":\"a\",\"points\":3,\"check\":{\"kind\":\"resolution\",\"qname\":\"www.a.example\",\"resolution_kind\":\"iterated\",\"roles\":[\"root\",\"tld\",\"authoritative\"],\"min_referrals\":2}},"
			    "{\"id\":\"b\",\"points\":1,\"check\":{\"kind\":\"resolution\",\"qname\":\"www.a.example\",\"min_referrals\":3}},"
			    "{\"id\":\"c\",\"points\":1,\"check\":{\"kind\":\"resolution\",\"qname\":\"www.b.example\",\"resolution_kind\":\"iterated\"}},"
			    "{\"id\":\"q1\",\"points\":1,\"question\":{\"ask\":\"res.first_referral_zone\",\"qname\":\"www.a.example\"}},"
			    "{\"id\":\"q2\",\"points\":1,\"question\":{\"ask\":\"res.answer_server\",\"qname\":\"www.a.example\"}},"
			    "{\"id\":\"q3\",\"points\":1,\"question\":{\"ask\":\"res.resolver\",\"qname\":\"www.b.example\"}}]}",
			    res_records, "{\"q1\":\"example.\",\"q2\":\"10.2.2.2\",\"q3\":\"10.0.0.53\"}");
	cr_expect(passed(res, 0), "%s", message(res, 0));
	cr_expect_not(passed(res, 1));
	cr_expect(strstr(message(res, 1), "2 referrals, fewer than 3"), "%s", message(res, 1));
	cr_expect_not(passed(res, 2));
	cr_expect(strstr(message(res, 2), "it is recursive, not iterated"), "%s", message(res, 2));
	cr_expect(passed(res, 3));
	cr_expect(passed(res, 4));
	cr_expect(passed(res, 5));
	json_decref(res);
}

/* A pipelined transaction (RFC 2920), QUIT sent right after the dot. */
static const char *const smtp_records =
	"[{\"type\":\"smtp\",\"client\":{\"ip\":\"10.0.0.5\",\"port\":5000},\"server\":{\"ip\":\"10.0.0.25\",\"port\":25},"
	"\"first_frame\":1,\"last_frame\":20,\"tls\":false,\"auth\":null,\"helo\":\"me\","
	"\"transactions\":[{\"mail_from\":\"alice@a.example\",\"rcpt_to\":[\"bob@b.example\"],\"rejected_rcpt\":[\"x@b.example\"],"
	"\"reply_code\":250,\"reply_text\":\"2.0.0 Ok: queued as ABC123\",\"data_frame\":12,"
	"\"message\":{\"subject\":\"Hi\",\"message_id\":\"<1@a.example>\"}}],"
	"\"dialogue\":["
	"{\"frame\":4,\"from\":\"server\",\"text\":\"220 mx ESMTP\",\"code\":220},"
	"{\"frame\":6,\"from\":\"client\",\"text\":\"EHLO me\"},"
	"{\"frame\":8,\"from\":\"server\",\"text\":\"250-mx\",\"code\":250},"
	"{\"frame\":8,\"from\":\"server\",\"text\":\"250 PIPELINING\",\"code\":250},"
	"{\"frame\":10,\"from\":\"client\",\"text\":\"MAIL FROM:<alice@a.example>\"},"
	"{\"frame\":10,\"from\":\"client\",\"text\":\"RCPT TO:<bob@b.example>\"},"
	"{\"frame\":10,\"from\":\"client\",\"text\":\"RCPT TO:<x@b.example>\"},"
	"{\"frame\":10,\"from\":\"client\",\"text\":\"DATA\"},"
	"{\"frame\":11,\"from\":\"server\",\"text\":\"250 2.1.0 Ok\",\"code\":250},"
	"{\"frame\":11,\"from\":\"server\",\"text\":\"250 2.1.5 Ok\",\"code\":250},"
	"{\"frame\":11,\"from\":\"server\",\"text\":\"550 5.1.1 unknown\",\"code\":550},"
	"{\"frame\":11,\"from\":\"server\",\"text\":\"354 go ahead\",\"code\":354},"
	"{\"frame\":12,\"from\":\"client\",\"text\":\"QUIT\"},"
	"{\"frame\":13,\"from\":\"server\",\"text\":\"250 2.0.0 Ok: queued as ABC123\",\"code\":250},"
	"{\"frame\":13,\"from\":\"server\",\"text\":\"221 2.0.0 Bye\",\"code\":221}]}]";

Test(check, smtp_transaction_and_replies)
{
	json_t *res = grade("{\"criteria\":["
			    "{\"id\":\"a\",\"points\":3,\"check\":{\"kind\":\"smtp_transaction\",\"commands\":[\"EHLO\",\"MAIL\",\"RCPT\",\"DATA\",\"QUIT\"],\"replies\":[220,250,250,250,354,250,221],\"tls\":false}},"
			    "{\"id\":\"b\",\"points\":1,\"check\":{\"kind\":\"smtp_transaction\",\"sender\":\"<alice@a.example>\",\"recipients\":[\"bob@b.example\",\"x@b.example\"],\"subject\":\"Hi\"}},"
			    "{\"id\":\"c\",\"points\":1,\"check\":{\"kind\":\"smtp_transaction\",\"replies\":[354,550]}},"
			    "{\"id\":\"d\",\"points\":1,\"check\":{\"kind\":\"smtp_transaction\",\"auth\":true}},"
			    "{\"id\":\"q1\",\"points\":1,\"question\":{\"ask\":\"smtp.reply_code\",\"command\":\"end_of_data\"}},"
			    "{\"id\":\"q2\",\"points\":1,\"question\":{\"ask\":\"smtp.reply_code\",\"command\":\"QUIT\"}},"
			    "{\"id\":\"q3\",\"points\":1,\"question\":{\"ask\":\"smtp.reply_class\",\"command\":\"DATA\"}},"
			    "{\"id\":\"q4\",\"points\":1,\"question\":{\"ask\":\"smtp.command_frame\",\"command\":\"MAIL FROM\"}},"
			    "{\"id\":\"q5\",\"points\":1,\"question\":{\"ask\":\"smtp.reply_code\",\"command\":\"greeting\"}},"
			    "{\"id\":\"q6\",\"points\":1,\"question\":{\"ask\":\"smtp.subject\"}}]}",
			    smtp_records,
			    "{\"q1\":\"250\",\"q2\":\"221\",\"q3\":\"start mail input\",\"q4\":\"10\",\"q5\":\"220\",\"q6\":\"hi\"}");
	cr_expect(passed(res, 0), "%s", message(res, 0));
	cr_expect(passed(res, 1), "%s", message(res, 1));
	cr_expect_not(passed(res, 2), "550 comes before 354");
	cr_expect(strstr(message(res, 2), "no 550 reply after the ones before it"), "%s", message(res, 2));
	cr_expect_not(passed(res, 3));
	cr_expect(passed(res, 4), "the reply after the dot is 250, not QUIT's: %s", message(res, 4));
	cr_expect(passed(res, 5), "%s", message(res, 5));
	cr_expect(passed(res, 6));
	cr_expect(passed(res, 7));
	cr_expect(passed(res, 8));
	cr_expect(passed(res, 9), "subjects compare case-insensitively as answers");
	json_decref(res);
}

Test(check, mail_flow_and_retrieval)
{
	json_t *res = grade("{\"criteria\":["
			    "{\"id\":\"a\",\"points\":2,\"check\":{\"kind\":\"mail_flow\",\"subject\":\"Hi\",\"hops\":{\"min\":3},\"roles\":[\"submission\",\"mx-lookup\",\"relay\",\"retrieval\"]}},"
			    "{\"id\":\"b\",\"points\":1,\"check\":{\"kind\":\"mail_flow\",\"roles\":[\"relay\",\"submission\"]}},"
			    "{\"id\":\"c\",\"points\":1,\"check\":{\"kind\":\"retrieval\",\"protocol\":\"pop3\",\"user\":\"bob@b.example\",\"subject\":\"Hi\"}},"
			    "{\"id\":\"d\",\"points\":1,\"check\":{\"kind\":\"retrieval\",\"protocol\":\"imap\"}},"
			    "{\"id\":\"q1\",\"points\":1,\"question\":{\"ask\":\"mail.mx\"}},"
			    "{\"id\":\"q2\",\"points\":1,\"question\":{\"ask\":\"retr.subject\",\"message\":1}}]}",
			    "[{\"type\":\"mail\",\"subject\":\"Hi\",\"message_id\":\"<1@a>\",\"hops\":["
			    "{\"protocol\":\"smtp\",\"role\":\"submission\",\"first_frame\":1},"
			    "{\"protocol\":\"dns\",\"role\":\"mx-lookup\",\"first_frame\":20,\"last_frame\":21,\"answers\":[{\"type\":\"MX\",\"data\":\"10 mx.b.example\"}]},"
			    "{\"protocol\":\"smtp\",\"role\":\"relay\",\"first_frame\":30},"
			    "{\"protocol\":\"pop3\",\"role\":\"retrieval\",\"first_frame\":50}]},"
			    "{\"type\":\"pop3\",\"user\":\"bob@b.example\",\"first_frame\":50,\"last_frame\":60,"
			    "\"messages\":[{\"frame\":55,\"message\":{\"subject\":\"Hi\"}}]}]",
			    "{\"q1\":\"mx.b.example\",\"q2\":\"Hi\"}");
	cr_expect(passed(res, 0), "%s", message(res, 0));
	cr_expect_not(passed(res, 1), "roles out of order");
	cr_expect(passed(res, 2), "%s", message(res, 2));
	cr_expect_not(passed(res, 3));
	cr_expect(passed(res, 4), "%s", message(res, 4));
	cr_expect(passed(res, 5), "%s", message(res, 5));
	json_decref(res);
}

/* ------------------------------------------------------------------ */

Test(integrity, copies_and_shifted_copies)
{
	/* b is a with other timestamps (not part of the fingerprint); c
	 * shares one transaction by chance; d shares nothing. */
	json_t *a = recs(dns_records);
	json_t *b = recs(dns_records);
	json_t *c = recs("[{\"type\":\"dns\",\"id\":1,\"client\":{\"port\":40000},\"qname\":\"GAIA.cs.umass.edu\",\"qtype\":\"AAAA\"},"
			 "{\"type\":\"dns\",\"id\":9,\"client\":{\"port\":9},\"qname\":\"x\",\"qtype\":\"A\"},"
			 "{\"type\":\"dns\",\"id\":8,\"client\":{\"port\":8},\"qname\":\"y\",\"qtype\":\"A\"}]");
	json_t *d = recs("[{\"type\":\"dns\",\"id\":7,\"client\":{\"port\":7},\"qname\":\"z\",\"qtype\":\"A\"}]");
	json_t *ids = json_pack("[ssss]", "a", "b", "c", "d");
	json_t *fps = json_array(), *pairs, *p;
	json_object_set_new(json_array_get(b, 0), "ts", json_real(12345.0));
	json_array_append_new(fps, wt_grade_fingerprint(a));
	json_array_append_new(fps, wt_grade_fingerprint(b));
	json_array_append_new(fps, wt_grade_fingerprint(c));
	json_array_append_new(fps, wt_grade_fingerprint(d));
	cr_expect_eq(json_array_size(json_array_get(fps, 0)), 3);
	pairs = wt_grade_copies(ids, fps, 2);
	cr_assert_eq(json_array_size(pairs), 1, "only a~b: c shares one item, below the threshold");
	p = json_array_get(pairs, 0);
	cr_expect_str_eq(json_string_value(json_object_get(p, "a")), "a");
	cr_expect_str_eq(json_string_value(json_object_get(p, "b")), "b");
	cr_expect_float_eq(json_number_value(json_object_get(p, "score")), 1.0, 1e-9);
	cr_expect_eq(json_integer_value(json_object_get(p, "shared")), 3);
	json_decref(pairs);
	pairs = wt_grade_copies(ids, fps, 1);
	cr_expect_eq(json_array_size(pairs), 3, "a~b, a~c, b~c with a threshold of 1");
	p = json_array_get(pairs, 1);
	cr_expect_str_eq(json_string_value(json_object_get(p, "b")), "c");
	cr_expect_float_eq(json_number_value(json_object_get(p, "score")), 0.2, 1e-9); /* 1 / (3 + 3 - 1) */
	cr_expect(strstr(json_string_value(json_array_get(json_object_get(p, "evidence"), 0)),
			 "dns id 1 from port 40000: gaia.cs.umass.edu AAAA") != NULL);
	json_decref(pairs);
	json_decref(a);
	json_decref(b);
	json_decref(c);
	json_decref(d);
	json_decref(ids);
	json_decref(fps);
}

Test(integrity, host_check)
{
	char err[256];
	wt_rubric_t *r = load("{\"integrity\":{\"max_client_hosts\":1},\"criteria\":[{\"id\":\"a\",\"points\":1,\"question\":{\"ask\":\"dns.qtype\"}}]}",
			      err, sizeof err);
	json_t *one = recs("[{\"type\":\"resolution\",\"client\":{\"ip\":\"10.0.0.5\"}},{\"type\":\"resolution\",\"client\":{\"ip\":\"10.0.0.5\"}}]");
	json_t *two = recs("[{\"type\":\"resolution\",\"client\":{\"ip\":\"10.0.0.5\"}},{\"type\":\"resolution\",\"client\":{\"ip\":\"10.0.0.9\"}}]");
	json_t *f;
	cr_assert_not_null(r, "%s", err);
	f = wt_grade_host_check(r, one, NULL);
	cr_expect_eq(json_array_size(f), 0);
	json_decref(f);
	f = wt_grade_host_check(r, one, "10.0.0.6");
	cr_expect_eq(json_array_size(f), 1);
	cr_expect_str_eq(json_string_value(json_object_get(json_array_get(f, 0), "kind")), "not-own-host");
	json_decref(f);
	f = wt_grade_host_check(r, two, "10.0.0.5");
	cr_expect_eq(json_array_size(f), 1);
	cr_expect_str_eq(json_string_value(json_object_get(json_array_get(f, 0), "kind")), "many-hosts");
	json_decref(f);
	json_decref(one);
	json_decref(two);
	wt_rubric_free(r);
}

Test(collect, unreadable_file_gives_reason)
{
	int status = 0;
	char reason[512];
	const char *files[] = {"/nonexistent/wiretale-test.pcap"};
	json_t *r = wt_grade_collect(files, 1, NULL, &status, reason, sizeof reason);
	cr_expect_null(r);
	cr_expect_eq(status, WT_EXIT_OPEN);
	cr_expect(strstr(reason, "wiretale-test.pcap") != NULL, "%s", reason);
}

Test(collect, real_capture)
{
	int status = 0;
	char reason[512];
	const char *files[] = {WT_SRC_DIR "/captures/dns-iterative-client.pcap"};
	json_t *r = wt_grade_collect(files, 1, NULL, &status, reason, sizeof reason);
	size_t i, dns = 0;
	json_t *e;
	cr_assert_not_null(r, "%s", reason);
	json_array_foreach(r, i, e)
		if (!strcmp(json_string_value(json_object_get(e, "type")), "dns"))
			dns++;
	cr_expect_eq(dns, 13, "26 frames: 13 queries and 13 answers");
	json_decref(r);
}
