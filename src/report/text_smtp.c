/* \summary: text report of "smtp" records: the dialogue as a transcript, envelope, message, MIME outline */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "report/text.h"

/*
 * A session reads like the transcripts of Kurose & Ross (§2.3.1), with the
 * frame that completed each line in the margin:
 *
 *   SMTP stream 0  10.0.0.1:3293 -> 64.12.168.40:587  frames 1-30  ESMTP
 *        3  S: 220 mail.b.example ESMTP
 *        4  C: EHLO client.a.example
 *
 * then each transaction: the envelope (MAIL FROM, RCPT TO accepted and
 * refused, the final reply), the message's main header fields and its MIME
 * outline, indented by depth.  Formatter of records only: no bytes here.
 */

#define DIALOGUE_SHOWN 400 /* lines of dialogue printed per session */

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
print_params(FILE *out, json_t *params)
{
	const char *k;
	json_t *v;
	json_object_foreach(params, k, v) {
		if (json_is_string(v))
			fprintf(out, " %s=%s", k, json_string_value(v));
		else
			fprintf(out, " %s", k);
	}
}

static void
print_field(FILE *out, const char *label, json_t *m, const char *key)
{
	const char *v = json_string_value(json_object_get(m, key));
	if (v)
		fprintf(out, "        %-11s %s\n", label, v);
}

static void
print_message(FILE *out, json_t *m)
{
	json_t *rcv = json_object_get(m, "received"), *parts, *p;
	size_t i;

	fprintf(out, "      message #%lld: %lld bytes (header %lld, body %lld)%s%s\n",
		ival(m, "index"), ival(m, "size"), ival(m, "header_size"),
		ival(m, "body_size"),
		json_is_false(json_object_get(m, "complete")) ? ", INCOMPLETE" : "",
		json_is_true(json_object_get(m, "truncated")) ? ", header truncated" : "");
	print_field(out, "From:", m, "from");
	print_field(out, "To:", m, "to");
	print_field(out, "Cc:", m, "cc");
	print_field(out, "Subject:", m, "subject");
	print_field(out, "Date:", m, "date");
	print_field(out, "Message-ID:", m, "message_id");
	print_field(out, "In-Reply-To:", m, "in_reply_to");
	print_field(out, "User-Agent:", m, "user_agent");
	if (json_array_size(rcv) > 0) {
		fprintf(out, "        Received:   %zu hop%s, newest first\n",
			json_array_size(rcv), json_array_size(rcv) == 1 ? "" : "s");
		json_array_foreach(rcv, i, p) {
			if (i >= 10) {
				fprintf(out, "          ...\n");
				break;
			}
			fprintf(out, "          %zu. %.160s\n", i + 1,
				json_string_value(p) ? json_string_value(p) : "");
		}
	}
	parts = json_object_get(m, "mime");
	if (json_array_size(parts) > 0) {
		fprintf(out, "        MIME:\n");
		json_array_foreach(parts, i, p) {
			long long d = ival(p, "depth");
			const char *fn = json_string_value(json_object_get(p, "filename"));
			const char *cs = json_string_value(json_object_get(p, "charset"));
			const char *te = json_string_value(json_object_get(p, "transfer_encoding"));
			fprintf(out, "          %*s%s", (int)(d > 20 ? 40 : d * 2), "",
				sval(p, "content_type", "?"));
			if (cs)
				fprintf(out, "; charset=%s", cs);
			if (te)
				fprintf(out, " [%s]", te);
			if (fn)
				fprintf(out, " \"%s\"", fn);
			fprintf(out, "  %lld bytes\n", ival(p, "size"));
		}
	}
}

static void
print_transaction(FILE *out, size_t n, json_t *t)
{
	json_t *rc = json_object_get(t, "rcpt_to"), *rp = json_object_get(t, "rcpt_params");
	json_t *rej = json_object_get(t, "rejected_rcpt"), *v, *m;
	size_t i;

	fprintf(out, "    transaction %zu:\n", n);
	if (json_is_string(json_object_get(t, "mail_from"))) {
		fprintf(out, "      MAIL FROM:<%s>", sval(t, "mail_from", ""));
		print_params(out, json_object_get(t, "mail_params"));
		if (json_is_integer(json_object_get(t, "mail_reply")))
			fprintf(out, "  -> %lld", ival(t, "mail_reply"));
		fputc('\n', out);
	} else {
		fprintf(out, "      MAIL FROM: (not seen)\n");
	}
	json_array_foreach(rc, i, v) {
		fprintf(out, "      RCPT TO:<%s>", json_string_value(v) ? json_string_value(v) : "");
		print_params(out, json_array_get(rp, i));
		fputc('\n', out);
	}
	json_array_foreach(rej, i, v)
		fprintf(out, "      RCPT TO:<%s>  refused %lld %s\n", sval(v, "address", ""),
			ival(v, "code"), sval(v, "text", ""));
	if (json_is_integer(json_object_get(t, "reply_code")))
		fprintf(out, "      %s -> %lld %s (frame %lld)\n",
			strcmp(sval(t, "mode", "data"), "bdat") == 0 ? "BDAT" : "DATA",
			ival(t, "reply_code"), sval(t, "reply_text", ""),
			ival(t, "data_frame"));
	m = json_object_get(t, "message");
	if (json_is_object(m))
		print_message(out, m);
}

void
wt_text_smtp(FILE *out, json_t *r)
{
	char c[64], s[64];
	json_t *d = json_object_get(r, "dialogue"), *e, *a, *v;
	size_t i;

	fmt_endpoint(c, sizeof c, json_object_get(r, "client"));
	fmt_endpoint(s, sizeof s, json_object_get(r, "server"));
	fprintf(out, "SMTP stream %lld  %s -> %s  frames %lld-%lld  %s%s%s\n",
		ival(r, "stream"), c, s, ival(r, "first_frame"), ival(r, "last_frame"),
		json_is_true(json_object_get(r, "esmtp")) ? "ESMTP" : "SMTP",
		json_is_true(json_object_get(r, "tls_implicit")) ? ", implicit TLS"
		: json_is_true(json_object_get(r, "tls")) ? ", STARTTLS" : "",
		json_is_true(json_object_get(r, "midstream")) ? ", joined mid-stream" : "");
	json_array_foreach(d, i, e) {
		const char *from = sval(e, "from", "?");
		if (i >= DIALOGUE_SHOWN) {
			fprintf(out, "  ... %zu more lines\n", json_array_size(d) - i);
			break;
		}
		fprintf(out, "  %7lld  %c: %s\n", ival(e, "frame"),
			strcmp(from, "client") == 0 ? 'C' : 'S', sval(e, "text", ""));
	}
	if (ival(r, "dialogue_dropped") > 0)
		fprintf(out, "  ... %lld lines not kept\n", ival(r, "dialogue_dropped"));
	if (json_is_true(json_object_get(r, "tls"))) {
		json_t *eb = json_object_get(r, "encrypted_bytes");
		fprintf(out, "           (encrypted: %lld bytes from the client, %lld from the server)\n",
			ival(eb, "to_server"), ival(eb, "to_client"));
	}
	if (json_is_string(json_object_get(r, "helo")))
		fprintf(out, "    helo %s\n", sval(r, "helo", ""));
	if (json_array_size(json_object_get(r, "extensions")) > 0) {
		fprintf(out, "    extensions:");
		json_array_foreach(json_object_get(r, "extensions"), i, v)
			fprintf(out, "%s%s", i ? ", " : " ", json_string_value(v) ? json_string_value(v) : "");
		fputc('\n', out);
	}
	a = json_object_get(r, "auth");
	if (json_is_object(a)) {
		json_t *ok = json_object_get(a, "success");
		fprintf(out, "    auth %s user %s: %s\n", sval(a, "mechanism", "?"),
			sval(a, "user", "(unknown)"),
			json_is_true(ok) ? "success" : json_is_false(ok) ? "FAILED" : "no outcome seen");
	}
	json_array_foreach(json_object_get(r, "transactions"), i, v)
		print_transaction(out, i + 1, v);
	if (ival(r, "gaps") > 0 || ival(r, "warnings") > 0)
		fprintf(out, "    %lld gap%s (%lld bytes), %lld warning%s\n", ival(r, "gaps"),
			ival(r, "gaps") == 1 ? "" : "s", ival(r, "gap_bytes"),
			ival(r, "warnings"), ival(r, "warnings") == 1 ? "" : "s");
	fputc('\n', out);
}
