/* \summary: text report of "pop3" and "imap" records: the dialogue as a transcript, then each retrieved message */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "report/text.h"

/*
 * A retrieval session reads as a transcript with the frame that completed
 * each line in the margin, as in the SMTP report:
 *
 *   POP3 stream 0  10.0.0.2:40000 -> 10.0.0.1:110  frames 1-24  user alice (USER, accepted)
 *        4  S: +OK POP3 ready
 *       12  C: RETR 1
 *       13  S: +OK 532 octets
 *     message #1: RETR 1, frames 13-15, 532 bytes
 *         From:       Alice <alice@example.org>
 *
 * Literals and message bodies are never in the dialogue ("{532 bytes}").
 * Formatter of records only: no bytes here.
 */

#define DIALOGUE_SHOWN 400 /* lines of dialogue printed per session */
#define MESSAGES_SHOWN 200

static const char *
sval(json_t *o, const char *k, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : dflt;
}

static long long
ival(json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

static void
fmt_endpoint(char *buf, size_t len, json_t *e)
{
	const char *ip = sval(e, "ip", "?");
	long long port = ival(e, "port");
	if (strchr(ip, ':'))
		snprintf(buf, len, "[%s]:%lld", ip, port);
	else
		snprintf(buf, len, "%s:%lld", ip, port);
}

static void
print_header(FILE *out, const char *proto, json_t *r)
{
	char c[80], s[80];
	json_t *auth = json_object_get(r, "auth");
	fmt_endpoint(c, sizeof c, json_object_get(r, "client"));
	fmt_endpoint(s, sizeof s, json_object_get(r, "server"));
	fprintf(out, "%s stream %lld  %s -> %s  frames %lld-%lld", proto,
		ival(r, "stream"), c, s, ival(r, "first_frame"),
		ival(r, "last_frame"));
	if (json_is_string(json_object_get(r, "user")))
		fprintf(out, "  user %s", sval(r, "user", ""));
	if (json_is_object(auth)) {
		json_t *ok = json_object_get(auth, "success");
		fprintf(out, " (%s, %s)", sval(auth, "mechanism", "?"),
			json_is_true(ok) ? "accepted"
			: json_is_false(ok) ? "refused" : "no answer");
	}
	fputc('\n', out);
	if (json_is_true(json_object_get(r, "starttls")))
		fprintf(out, "    TLS from frame %lld on: the rest is not decoded\n",
			ival(r, "starttls_frame"));
	else if (json_is_true(json_object_get(r, "tls")))
		fprintf(out, "    implicit TLS: nothing decoded\n");
	if (json_is_true(json_object_get(r, "compressed")))
		fprintf(out, "    COMPRESS DEFLATE from frame %lld on: the rest is not decoded\n",
			ival(r, "compress_frame"));
	if (json_is_true(json_object_get(r, "midstream")))
		fprintf(out, "    joined mid-stream: the start of the session was not captured\n");
	if (ival(r, "gaps") > 0)
		fprintf(out, "    %lld gap%s (%lld bytes never captured)\n", ival(r, "gaps"),
			ival(r, "gaps") == 1 ? "" : "s", ival(r, "gap_bytes"));
}

static void
print_dialogue(FILE *out, json_t *r)
{
	json_t *d = json_object_get(r, "dialogue"), *e;
	size_t i, n = json_array_size(d);
	json_array_foreach(d, i, e) {
		if (i == DIALOGUE_SHOWN) {
			fprintf(out, "           ... %zu more lines\n", n - i);
			break;
		}
		fprintf(out, "  %7lld  %c: %s%s\n", ival(e, "frame"),
			strcmp(sval(e, "from", "?"), "client") == 0 ? 'C' : 'S',
			sval(e, "text", ""),
			json_is_true(json_object_get(e, "truncated")) ? " [...]" : "");
	}
	if (ival(r, "dialogue_dropped") > 0)
		fprintf(out, "           ... %lld lines over the cap, not kept\n",
			ival(r, "dialogue_dropped"));
}

static void
print_field(FILE *out, const char *label, json_t *m, const char *key)
{
	const char *v = json_string_value(json_object_get(m, key));
	if (v)
		fprintf(out, "        %-11s %s\n", label, v);
}

static void
print_imf(FILE *out, json_t *m)
{
	if (!json_is_object(m)) {
		fprintf(out, "        (not parsed)\n");
		return;
	}
	print_field(out, "From:", m, "from");
	print_field(out, "To:", m, "to");
	print_field(out, "Cc:", m, "cc");
	print_field(out, "Subject:", m, "subject");
	print_field(out, "Date:", m, "date");
	print_field(out, "Message-ID:", m, "message_id");
	if (json_is_true(json_object_get(m, "truncated")))
		fprintf(out, "        (header truncated: a cap was hit)\n");
}

static void
print_frames(FILE *out, json_t *m)
{
	long long f0 = ival(m, "first_frame"), f1 = ival(m, "frame");
	if (f0 && f0 != f1)
		fprintf(out, "frames %lld-%lld", f0, f1);
	else
		fprintf(out, "frame %lld", f1);
}

static void
print_index(FILE *out, json_t *m)
{
	if (json_is_integer(json_object_get(m, "index")))
		fprintf(out, "    message #%lld: ", ival(m, "index"));
	else
		fprintf(out, "    message: ");
}

void
wt_text_pop3(FILE *out, json_t *r)
{
	json_t *msgs = json_object_get(r, "messages"), *m;
	size_t i;

	print_header(out, "POP3", r);
	print_dialogue(out, r);
	json_array_foreach(msgs, i, m) {
		if (i == MESSAGES_SHOWN) {
			fprintf(out, "    ... %zu more messages\n", json_array_size(msgs) - i);
			break;
		}
		print_index(out, m);
		fprintf(out, "%s %lld, ", sval(m, "command", "?"), ival(m, "number"));
		print_frames(out, m);
		fprintf(out, ", %lld bytes%s\n", ival(m, "size"),
			json_is_false(json_object_get(m, "complete")) ? ", INCOMPLETE" : "");
		print_imf(out, json_object_get(m, "message"));
	}
	fputc('\n', out);
}

void
wt_text_imap(FILE *out, json_t *r)
{
	json_t *msgs = json_object_get(r, "messages"), *m, *boxes, *b;
	size_t i;

	print_header(out, "IMAP", r);
	boxes = json_object_get(r, "mailboxes");
	json_array_foreach(boxes, i, b) {
		fprintf(out, "    %s %s", sval(b, "command", "SELECT"), sval(b, "name", "?"));
		if (json_is_integer(json_object_get(b, "exists")))
			fprintf(out, ": %lld messages", ival(b, "exists"));
		fprintf(out, " (%s, frame %lld)\n", sval(b, "status", "no answer"),
			ival(b, "frame"));
	}
	print_dialogue(out, r);
	json_array_foreach(msgs, i, m) {
		if (i == MESSAGES_SHOWN) {
			fprintf(out, "    ... %zu more messages\n", json_array_size(msgs) - i);
			break;
		}
		print_index(out, m);
		if (strcmp(sval(m, "command", ""), "APPEND") == 0) {
			fprintf(out, "APPEND to %s, ", sval(m, "mailbox", "?"));
		} else {
			fprintf(out, "FETCH");
			if (json_is_integer(json_object_get(m, "seq")))
				fprintf(out, " seq %lld", ival(m, "seq"));
			if (json_is_integer(json_object_get(m, "uid")))
				fprintf(out, " uid %lld", ival(m, "uid"));
			fprintf(out, " %s", sval(m, "section", ""));
			if (json_is_string(json_object_get(m, "mailbox")))
				fprintf(out, " in %s", sval(m, "mailbox", ""));
			fprintf(out, ", ");
		}
		print_frames(out, m);
		fprintf(out, ", %lld bytes%s%s\n", ival(m, "size"),
			json_is_true(json_object_get(m, "headers_only")) ? ", header only" : "",
			json_is_false(json_object_get(m, "complete")) ? ", INCOMPLETE" : "");
		print_imf(out, json_object_get(m, "message"));
	}
	fputc('\n', out);
}
