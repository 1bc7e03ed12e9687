/* \summary: unit tests of the mail flows: hand-built smtp/pop3/imap/dns records in, "mail" records out */
#include <criterion/criterion.h>
#include <string.h>

#include "analyze/story.h"
#include "core/ctx_int.h"
#include "core/record.h"

/*
 * The records are built by hand the way the dissectors emit them and sent
 * through a real context with wt_emit(), so the mail flows see them exactly
 * as in a run; the "mail" records are collected by a sink.
 */

static json_t *mails;
static json_t *warnings;

static void
sink(void *user, json_t *rec)
{
	const char *t = json_string_value(json_object_get(rec, "type"));
	(void)user;
	if (t && !strcmp(t, "mail"))
		json_array_append(mails, rec);
	if (t && !strcmp(t, "warning"))
		json_array_append(warnings, rec);
}

static wt_ctx_t *
new_ctx(void)
{
	wt_options_t o;
	wt_ctx_t *ctx;
	/* Taking the address keeps mailflow.o in the test binary (the
	 * analyze layer refers to it weakly). */
	cr_assert(wt_mailflow_new != NULL);
	wt_options_default(&o);
	ctx = wt_ctx_new(&o);
	cr_assert(ctx);
	cr_assert(ctx->mailflow, "the mail-flow analyzer is not running");
	mails = json_array();
	warnings = json_array();
	wt_ctx_add_sink(ctx, sink, NULL);
	return ctx;
}

static void
done(wt_ctx_t *ctx)
{
	wt_ctx_free(ctx);
	json_decref(mails);
	json_decref(warnings);
}

static json_t *
ep(const char *ip, int port)
{
	return json_pack("{s:s,s:i}", "ip", ip, "port", port);
}

/* A message as the IMF parser describes it. */
static json_t *
imf(const char *id, const char *subject, int size, int body, json_t *received)
{
	return json_pack("{s:s,s:s,s:n,s:s*,s:s,s:s*,s:o,s:i,s:i,s:i,s:b,s:b,s:[]}",
			 "from", "Alice <alice@a.example>", "to", "Bob <bob@b.example>", "cc",
			 "subject", subject, "date", "Mon, 03 Jun 2024 09:00:00 +0000",
			 "message_id", id, "received", received ? received : json_array(),
			 "size", size, "header_size", size - body, "body_size", body,
			 "complete", 1, "truncated", 0, "mime");
}

static const char *RCV_A =
	"from alice-laptop.a.example (alice-laptop.a.example [127.0.0.11])\tby mail.a.example "
	"(Postfix) with ESMTPA id 4CA89A72EF0;\tTue,  1 Dec 2026 05:08:13 +0000 (UTC)";
static const char *RCV_B =
	"from mail.a.example (mail.a.example [127.0.0.25])\tby mail.b.example (Postfix) "
	"with ESMTP id 6627BA72EF3\tfor <bob@b.example>; Tue,  1 Dec 2026 05:08:13 +0000 (UTC)";

/* One SMTP connection with one transaction. */
static json_t *
smtp(const char *cip, int cport, const char *sip, int sport, int first, int last,
     double ts, int stream, const char *helo, int auth, json_t *msg, int data_frame,
     const char *queue_id)
{
	char reply[80];
	json_t *tx, *rec;
	snprintf(reply, sizeof reply, "2.0.0 Ok: queued as %s", queue_id);
	tx = json_pack("{s:s,s:[s],s:[],s:i,s:s,s:i,s:o,s:i}", "mail_from", "alice@a.example",
		       "rcpt_to", "bob@b.example", "rejected_rcpt", "reply_code", 250,
		       "reply_text", reply, "data_frame", data_frame, "message", msg,
		       "first_frame", data_frame - 2);
	rec = json_pack("{s:s,s:f,s:i,s:o,s:o,s:i,s:i,s:s,s:b,s:[],s:b,s:o,s:[o],s:[{s:i,s:s,s:s,s:i},{s:i,s:s,s:s,s:i}]}",
			"type", "smtp", "ts", ts, "stream", stream, "client", ep(cip, cport),
			"server", ep(sip, sport), "first_frame", first, "last_frame", last,
			"helo", helo, "esmtp", 1, "extensions", "tls", 0,
			"auth", auth ? json_pack("{s:s,s:s,s:b}", "mechanism", "PLAIN", "user",
						 "alice@a.example", "success", 1) : json_null(),
			"transactions", tx,
			"dialogue", "frame", first + 3, "from", "server", "text",
			sport == 25 ? "220 mail.b.example ESMTP" : "220 mail.a.example ESMTP", "code", 220,
			"frame", data_frame + 1, "from", "server", "text", reply, "code", 250);
	return rec;
}

static json_t *
dns(const char *cip, int qframe, int rframe, double ts, const char *qname, const char *qtype,
    const char *data)
{
	return json_pack("{s:s,s:f,s:s,s:o,s:o,s:s,s:s,s:i,s:i,s:s,s:{s:b},s:[{s:s,s:s,s:s,s:i,s:s}],s:f}",
			 "type", "dns", "ts", ts, "transport", "udp", "client", ep(cip, 40000 + qframe),
			 "server", ep("127.0.0.53", 53), "qname", qname, "qtype", qtype,
			 "query_frame", qframe, "response_frame", rframe, "rcode", "NOERROR",
			 "query_flags", "rd", 1, "answers", "name", qname, "type", qtype, "class", "IN",
			 "ttl", 300, "data", data, "rtt", 0.001);
}

static json_t *
retrieval(const char *type, int first, int last, double ts, int stream, json_t *msg, int frame)
{
	return json_pack("{s:s,s:f,s:o,s:o,s:i,s:i,s:i,s:s,s:[{s:s,s:i,s:i,s:i,s:o}]}",
			 "type", type, "ts", ts, "client", ep("127.0.0.12", 50000 + stream),
			 "server", ep("127.0.0.26", !strcmp(type, "pop3") ? 110 : 143),
			 "stream", stream, "first_frame", first, "last_frame", last,
			 "user", "bob@b.example", "messages", "command",
			 !strcmp(type, "pop3") ? "RETR" : "FETCH", "number", 1, "frame", frame,
			 "size", (int)json_integer_value(json_object_get(msg, "size")), "message", msg);
}

static json_t *
hop(json_t *mail, size_t i)
{
	return json_array_get(json_object_get(mail, "hops"), i);
}

static const char *
s(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static long long
n(json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

static void
check_hop(json_t *h, const char *proto, const char *role, const char *cip, const char *sip,
	  long long first, long long last)
{
	cr_assert(h, "missing hop %s/%s", proto, role);
	cr_expect_str_eq(s(h, "protocol"), proto);
	cr_expect_str_eq(s(h, "role"), role);
	cr_expect_str_eq(s(json_object_get(h, "client"), "ip"), cip);
	cr_expect_str_eq(s(json_object_get(h, "server"), "ip"), sip);
	cr_expect_eq(n(h, "first_frame"), first, "%s first_frame %lld != %lld", role, n(h, "first_frame"), first);
	cr_expect_eq(n(h, "last_frame"), last, "%s last_frame %lld != %lld", role, n(h, "last_frame"), last);
}

/* The Alice-to-Bob story: submission, MX and A lookups, relay, POP3. */
static void
alice_to_bob(wt_ctx_t *ctx, const char *id, int relay_first)
{
	json_t *recv_relay = json_pack("[s]", RCV_A), *recv_pop = json_pack("[s,s]", RCV_B, RCV_A);
	json_t *sub = smtp("127.0.0.11", 44851, "127.0.0.25", 587, 13, 42, 100.0, 0,
			   "alice-laptop.a.example", 1, imf(id, "Lunch", 653, 344, NULL), 37, "4CA89A72EF0");
	json_t *rel = smtp("127.0.0.25", 47473, "127.0.0.26", 25, 54, 73, 100.2, 1,
			   "mail.a.example", 0, imf(id, "Lunch", 828, 344, recv_relay), 70, "6627BA72EF3");

	if (relay_first) {
		/* A relay connection may close before the submission does. */
		wt_emit(ctx, dns("127.0.0.25", 44, 49, 100.15, "b.example", "MX", "10 mail.b.example"));
		wt_emit(ctx, dns("127.0.0.25", 50, 53, 100.16, "mail.b.example", "A", "127.0.0.26"));
		wt_emit(ctx, rel);
		wt_emit(ctx, sub);
	} else {
		wt_emit(ctx, sub);
		wt_emit(ctx, dns("127.0.0.25", 44, 49, 100.15, "b.example", "MX", "10 mail.b.example"));
		wt_emit(ctx, dns("127.0.0.25", 50, 53, 100.16, "mail.b.example", "A", "127.0.0.26"));
		wt_emit(ctx, rel);
	}
	wt_emit(ctx, retrieval("pop3", 131, 159, 101.0, 4, imf(id, "Lunch", 1077, 344, recv_pop), 152));
}

static void
check_alice_to_bob(json_t *m)
{
	json_t *claimed;
	cr_assert_eq(json_array_size(json_object_get(m, "hops")), 5);
	check_hop(hop(m, 0), "smtp", "submission", "127.0.0.11", "127.0.0.25", 13, 42);
	check_hop(hop(m, 1), "dns", "mx-lookup", "127.0.0.25", "127.0.0.53", 44, 49);
	check_hop(hop(m, 2), "dns", "address-lookup", "127.0.0.25", "127.0.0.53", 50, 53);
	check_hop(hop(m, 3), "smtp", "relay", "127.0.0.25", "127.0.0.26", 54, 73);
	check_hop(hop(m, 4), "pop3", "retrieval", "127.0.0.12", "127.0.0.26", 131, 159);
	cr_expect_eq(n(hop(m, 0), "reply_code"), 250);
	cr_expect_str_eq(s(hop(m, 0), "user"), "alice@a.example");
	cr_expect_eq(n(hop(m, 0), "reply_frame"), 38);
	cr_expect_str_eq(s(hop(m, 4), "user"), "bob@b.example");
	cr_expect_str_eq(s(hop(m, 1), "qname"), "b.example");
	cr_expect_str_eq(s(m, "subject"), "Lunch");
	cr_expect_str_eq(s(m, "from"), "Alice <alice@a.example>");
	cr_expect(json_is_true(json_object_get(m, "retrieved")));
	claimed = json_object_get(m, "claimed_path");
	cr_assert_eq(json_array_size(claimed), 2);
	/* Oldest first: the submission's Received, then the relay's. */
	cr_expect_str_eq(s(json_array_get(claimed, 0), "from_ip"), "127.0.0.11");
	cr_expect_str_eq(s(json_array_get(claimed, 0), "by_host"), "mail.a.example");
	cr_expect_str_eq(s(json_array_get(claimed, 0), "with"), "ESMTPA");
	cr_expect_str_eq(s(json_array_get(claimed, 0), "id"), "4CA89A72EF0");
	cr_expect_str_eq(s(json_array_get(claimed, 1), "from_host"), "mail.a.example");
	cr_expect_str_eq(s(json_array_get(claimed, 1), "for"), "bob@b.example");
	cr_expect_str_eq(s(json_array_get(claimed, 1), "date"), "Tue, 1 Dec 2026 05:08:13 +0000 (UTC)");
	cr_expect_eq(json_array_size(json_object_get(m, "path_differences")), 0,
		     "unexpected difference: %s",
		     json_string_value(json_array_get(json_object_get(m, "path_differences"), 0)));
}

Test(mailflow, matched_by_message_id)
{
	wt_ctx_t *ctx = new_ctx();
	json_t *m;
	alice_to_bob(ctx, "<lunch-0001@a.example>", 0);
	wt_finish(ctx, NULL);
	cr_assert_eq(json_array_size(mails), 1);
	m = json_array_get(mails, 0);
	cr_expect_str_eq(s(m, "message_id"), "<lunch-0001@a.example>");
	cr_expect_str_eq(s(m, "matched_by"), "message-id");
	check_alice_to_bob(m);
	done(ctx);
}

Test(mailflow, hops_sorted_when_records_arrive_out_of_order)
{
	wt_ctx_t *ctx = new_ctx();
	alice_to_bob(ctx, "<lunch-0001@a.example>", 1);
	wt_finish(ctx, NULL);
	cr_assert_eq(json_array_size(mails), 1);
	check_alice_to_bob(json_array_get(mails, 0));
	done(ctx);
}

Test(mailflow, matched_by_envelope_size_and_time)
{
	wt_ctx_t *ctx = new_ctx();
	json_t *m;
	/* A second message in flight at the same time, with another body:
	 * it must not be mixed in. */
	wt_emit(ctx, smtp("127.0.0.11", 44000, "127.0.0.25", 587, 1, 9, 99.0, 9, "alice-laptop.a.example",
			  1, imf(NULL, "Lunch", 700, 391, NULL), 7, "AAAA"));
	alice_to_bob(ctx, NULL, 0);
	wt_finish(ctx, NULL);
	cr_assert_eq(json_array_size(mails), 2);
	m = json_array_get(mails, 1);
	cr_expect(json_is_null(json_object_get(m, "message_id")));
	cr_expect_str_eq(s(m, "matched_by"), "envelope");
	check_alice_to_bob(m);
	m = json_array_get(mails, 0);
	cr_expect_eq(json_array_size(json_object_get(m, "hops")), 1);
	cr_expect_eq(n(m, "body_size"), 391);
	done(ctx);
}

Test(mailflow, different_message_ids_never_match)
{
	wt_ctx_t *ctx = new_ctx();
	json_t *recv_relay = json_pack("[s]", RCV_A);
	wt_emit(ctx, smtp("127.0.0.11", 44851, "127.0.0.25", 587, 13, 42, 100.0, 0, "alice-laptop.a.example",
			  1, imf("<one@a.example>", "Lunch", 653, 344, NULL), 37, "Q1"));
	wt_emit(ctx, smtp("127.0.0.25", 47473, "127.0.0.26", 25, 54, 73, 100.2, 1, "mail.a.example",
			  0, imf("<two@a.example>", "Lunch", 828, 344, recv_relay), 70, "Q2"));
	wt_finish(ctx, NULL);
	cr_assert_eq(json_array_size(mails), 2);
	done(ctx);
}

Test(mailflow, one_hop_flow)
{
	wt_ctx_t *ctx = new_ctx();
	json_t *m;
	wt_emit(ctx, smtp("127.0.0.25", 47473, "127.0.0.26", 25, 54, 73, 100.2, 1, "mail.a.example",
			  0, imf("<x@a.example>", "Hi", 828, 344, json_pack("[s]", RCV_A)), 70, "6627BA72EF3"));
	wt_finish(ctx, NULL);
	cr_assert_eq(json_array_size(mails), 1);
	m = json_array_get(mails, 0);
	cr_assert_eq(json_array_size(json_object_get(m, "hops")), 1);
	check_hop(hop(m, 0), "smtp", "relay", "127.0.0.25", "127.0.0.26", 54, 73);
	cr_expect_str_eq(s(m, "matched_by"), "single-copy");
	cr_expect(json_is_false(json_object_get(m, "retrieved")));
	cr_expect_str_eq(s(m, "end"), "eof");
	/* The one Received field claims the submission, which is not in the
	 * capture: that is said. */
	cr_expect_eq(json_array_size(json_object_get(m, "claimed_path")), 1);
	cr_expect_eq(json_array_size(json_object_get(m, "path_differences")), 1);
	cr_expect(strstr(json_string_value(json_array_get(json_object_get(m, "path_differences"), 0)),
			 "does not show"));
	done(ctx);
}

Test(mailflow, claimed_path_differences_flagged)
{
	wt_ctx_t *ctx = new_ctx();
	json_t *m, *d;
	size_t i;
	int ip = 0, auth = 0, qid = 0;
	/* The Received field the relay copy carries names another client
	 * address, claims authentication that never happened and another
	 * queue id than the server's reply. */
	const char *forged = "from alice-laptop.a.example (alice-laptop.a.example [10.9.8.7])\tby mail.a.example "
			     "(Postfix) with ESMTPA id FORGED1;\tTue,  1 Dec 2026 05:08:13 +0000 (UTC)";
	const char *noauth = "from alice-laptop.a.example (alice-laptop.a.example [127.0.0.11])\tby mail.a.example "
			     "(Postfix) with ESMTPA id ZZZ;\tTue,  1 Dec 2026 05:08:13 +0000 (UTC)";
	wt_emit(ctx, smtp("127.0.0.11", 44851, "127.0.0.25", 25, 13, 42, 100.0, 0, "alice-laptop.a.example",
			  0, imf("<f@a.example>", "Lunch", 653, 344, NULL), 37, "4CA89A72EF0"));
	wt_emit(ctx, smtp("127.0.0.25", 47473, "127.0.0.26", 25, 54, 73, 100.2, 1, "mail.a.example",
			  0, imf("<f@a.example>", "Lunch", 1000, 344, json_pack("[s,s]", noauth, forged)), 70, "X"));
	wt_finish(ctx, NULL);
	cr_assert_eq(json_array_size(mails), 1);
	m = json_array_get(mails, 0);
	/* Port 25 without AUTH, but no Received field: from its author. */
	cr_expect_str_eq(s(hop(m, 0), "role"), "submission");
	json_array_foreach(json_object_get(m, "path_differences"), i, d) {
		const char *t = json_string_value(d);
		if (strstr(t, "10.9.8.7") && strstr(t, "does not show"))
			ip = 1;
		if (strstr(t, "ESMTPA") && strstr(t, "no successful AUTH"))
			auth = 1;
		if (strstr(t, "ZZZ") && strstr(t, "queued as 4CA89A72EF0"))
			qid = 1;
	}
	cr_expect(ip, "the unseen client address is not flagged");
	cr_expect(auth, "the false ESMTPA is not flagged");
	cr_expect(qid, "the queue id mismatch is not flagged");
	done(ctx);
}

Test(mailflow, relay_then_delivery_to_the_mailbox_server)
{
	wt_ctx_t *ctx = new_ctx();
	json_t *m;
	wt_emit(ctx, smtp("127.0.0.25", 47473, "127.0.0.26", 25, 54, 73, 100.2, 1, "mail.a.example",
			  0, imf("<d@a.example>", "Hi", 828, 344, json_pack("[s]", RCV_A)), 70, "Q1"));
	wt_emit(ctx, smtp("127.0.0.26", 40000, "127.0.0.27", 25, 80, 95, 100.5, 2, "mail.b.example",
			  0, imf("<d@a.example>", "Hi", 990, 344, json_pack("[s,s]", RCV_B, RCV_A)), 90, "Q2"));
	wt_finish(ctx, NULL);
	cr_assert_eq(json_array_size(mails), 1);
	m = json_array_get(mails, 0);
	check_hop(hop(m, 0), "smtp", "relay", "127.0.0.25", "127.0.0.26", 54, 73);
	check_hop(hop(m, 1), "smtp", "delivery", "127.0.0.26", "127.0.0.27", 80, 95);
	done(ctx);
}

Test(mailflow, imap_header_fetch_is_not_a_retrieval)
{
	wt_ctx_t *ctx = new_ctx();
	json_t *r = retrieval("imap", 161, 188, 101.0, 5, imf("<h@a.example>", "Hi", 60, 0, NULL), 177);
	json_object_set_new(json_array_get(json_object_get(r, "messages"), 0), "headers_only", json_true());
	wt_emit(ctx, r);
	wt_finish(ctx, NULL);
	cr_expect_eq(json_array_size(mails), 0);
	done(ctx);
}

Test(mailflow, emitted_after_idle_timeout_and_after_retrieval)
{
	wt_ctx_t *ctx = new_ctx();
	wt_time_t t = {0, 0};
	wt_emit(ctx, smtp("127.0.0.11", 44851, "127.0.0.25", 587, 13, 42, 100.0, 0, "alice-laptop.a.example",
			  1, imf("<t@a.example>", "Idle", 653, 344, NULL), 37, "Q"));
	t.sec = 130;
	wt_expire(ctx, &t);
	cr_expect_eq(json_array_size(mails), 0, "emitted before the idle timeout");
	t.sec = 161;
	wt_expire(ctx, &t);
	cr_assert_eq(json_array_size(mails), 1, "not emitted after the idle timeout");
	cr_expect_str_eq(s(json_array_get(mails, 0), "end"), "timeout");

	/* A retrieved message is told a few seconds later, not a minute. */
	wt_emit(ctx, retrieval("pop3", 300, 310, 200.0, 7, imf("<r@a.example>", "Read", 900, 344,
								   json_pack("[s]", RCV_B)), 305));
	t.sec = 203;
	wt_expire(ctx, &t);
	cr_expect_eq(json_array_size(mails), 1);
	t.sec = 206;
	wt_expire(ctx, &t);
	cr_assert_eq(json_array_size(mails), 2);
	cr_expect_str_eq(s(json_array_get(mails, 1), "end"), "retrieved");
	wt_finish(ctx, NULL);
	cr_expect_eq(json_array_size(mails), 2);
	done(ctx);
}

Test(mailflow, bounded_number_of_flows)
{
	wt_ctx_t *ctx = new_ctx();
	int i;
	char id[64], subj[64];
	for (i = 0; i < 4100; i++) {
		snprintf(id, sizeof id, "<m%d@a.example>", i);
		snprintf(subj, sizeof subj, "S%d", i);
		wt_emit(ctx, smtp("127.0.0.11", 1000 + i % 60000, "127.0.0.25", 587, 10 * i + 1, 10 * i + 9,
				  100.0 + i * 0.001, i, "ua", 1, imf(id, subj, 600, 300 + i, NULL), 10 * i + 5, "Q"));
	}
	cr_expect_eq(json_array_size(mails), 4, "the oldest flows are told early when full");
	cr_expect_eq(json_array_size(warnings), 1);
	wt_finish(ctx, NULL);
	cr_expect_eq(json_array_size(mails), 4100);
	done(ctx);
}

/* The copy without a Message-ID finds its flow among thousands that share
 * the envelope sender, the recipient and the Date (the indexes must not
 * miss it nor take a decoy), and a mailbox user in another case still
 * counts. */
Test(mailflow, envelope_match_among_many_flows)
{
	wt_ctx_t *ctx = new_ctx();
	json_t *m, *got = NULL;
	size_t i;
	char id[64], subj[64];
	for (i = 0; i < 3000; i++) {
		snprintf(id, sizeof id, "<d%zu@a.example>", i);
		snprintf(subj, sizeof subj, "S%zu", i);
		wt_emit(ctx, smtp("127.0.0.11", 1000 + (int)i, "127.0.0.25", 587, 10 * (int)i + 1,
				  10 * (int)i + 9, 100.0 + (double)i * 0.001, (int)i, "ua", 1,
				  imf(id, subj, 600, 300 + (int)i, NULL), 10 * (int)i + 5, "Q"));
	}
	m = retrieval("pop3", 40001, 40009, 104.0, 5000, imf(NULL, "S1234", 900, 1534, NULL), 40005);
	json_object_set_new(m, "user", json_string("BOB"));
	wt_emit(ctx, m);
	wt_finish(ctx, NULL);
	cr_assert_eq(json_array_size(mails), 3000, "the copy made a flow of its own");
	json_array_foreach(mails, i, m) {
		if (s(m, "message_id") && !strcmp(s(m, "message_id"), "<d1234@a.example>"))
			got = m;
		else
			cr_expect_eq(json_array_size(json_object_get(m, "hops")), 1, "%s took a hop",
				     s(m, "message_id"));
	}
	cr_assert(got);
	cr_expect_eq(json_array_size(json_object_get(got, "hops")), 2);
	cr_expect_str_eq(s(got, "matched_by"), "envelope");
	cr_expect(json_is_true(json_object_get(got, "retrieved")));
	done(ctx);
}
