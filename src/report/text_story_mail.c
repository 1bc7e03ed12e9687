/* \summary: the text report of a mail flow: numbered hops, then claimed vs seen path */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "report/text_story.h"

/*
 * One block per message, written for a student who has just read how mail
 * travels: who handed the message to whom, over which protocol, in which
 * frames, what the server answered; then what the message's own Received
 * fields claim, beside what the trace shows.
 */

static const char *
str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : NULL;
}

static const char *
str_or(json_t *o, const char *k, const char *dflt)
{
	const char *s = str(o, k);
	return s ? s : dflt;
}

static long long
num(json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

static void
endpoint(char *buf, size_t len, json_t *e)
{
	const char *ip = str_or(e, "ip", "?");
	if (strchr(ip, ':'))
		snprintf(buf, len, "[%s]:%lld", ip, num(e, "port"));
	else
		snprintf(buf, len, "%s:%lld", ip, num(e, "port"));
}

/* What each role means, in one line, for the reader new to it. */
static const char *
role_gloss(const char *role, const char *proto)
{
	if (!role)
		return "";
	if (!strcmp(role, "submission"))
		return "the user agent hands the message to its own server";
	if (!strcmp(role, "mx-lookup"))
		return "the sending server asks DNS which server takes mail for the domain";
	if (!strcmp(role, "address-lookup"))
		return "DNS gives the address of the server to connect to";
	if (!strcmp(role, "relay"))
		return "one mail server passes the message to the next";
	if (!strcmp(role, "delivery"))
		return "the message reaches the server that keeps the mailbox";
	if (!strcmp(role, "retrieval"))
		return proto && !strcmp(proto, "imap") ? "the recipient reads it over IMAP"
						       : "the recipient downloads it over POP3";
	return "";
}

static void
print_list(FILE *out, json_t *a)
{
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v) {
		const char *s = json_string_value(v);
		fprintf(out, "%s%s", i ? ", " : "", s ? s : "?");
	}
}

static void
hop_line(FILE *out, size_t n, json_t *h)
{
	char c[80], s[80];
	const char *proto = str_or(h, "protocol", "?"), *role = str(h, "role");
	json_t *rc = json_object_get(h, "reply_code");

	endpoint(c, sizeof c, json_object_get(h, "client"));
	endpoint(s, sizeof s, json_object_get(h, "server"));
	fprintf(out, "  %zu. %-14s %-5s %s -> %s  frames %lld-%lld\n", n,
		role ? role : "?", proto, c, s, num(h, "first_frame"), num(h, "last_frame"));
	fprintf(out, "       %s", role_gloss(role, proto));
	if (!strcmp(proto, "dns")) {
		json_t *ans = json_object_get(h, "answers"), *a;
		size_t i;
		fprintf(out, ":\n       %s? %s -> %s", str_or(h, "qtype", "?"),
			str_or(h, "qname", "?"), str_or(h, "rcode", "?"));
		json_array_foreach(ans, i, a)
			fprintf(out, "%s%s", i ? ", " : " ", str_or(a, "data", "?"));
		fputc('\n', out);
		return;
	}
	fputc('\n', out);
	if (!strcmp(proto, "smtp")) {
		json_t *rej = json_object_get(h, "rejected_rcpt");
		fprintf(out, "       MAIL FROM <%s>  RCPT TO ", str_or(h, "mail_from", ""));
		print_list(out, json_object_get(h, "rcpt"));
		if (json_array_size(rej)) {
			fputs("  (refused: ", out);
			print_list(out, rej);
			fputc(')', out);
		}
		fputc('\n', out);
		fprintf(out, "       message in frame %lld", num(h, "message_frame"));
		if (json_is_integer(rc))
			fprintf(out, ", server replied %lld %s", (long long)json_integer_value(rc),
				str_or(h, "reply_text", ""));
		fputc('\n', out);
		if (str(h, "user") || json_is_true(json_object_get(h, "tls")))
			fprintf(out, "       %s%s%s%s\n",
				str(h, "user") ? "logged in as " : "", str_or(h, "user", ""),
				str(h, "auth") ? " with AUTH " : "", str_or(h, "auth", ""));
		if (json_is_true(json_object_get(h, "tls")))
			fputs("       encrypted with TLS\n", out);
	} else {
		fprintf(out, "       %s %lld in frame %lld, user %s%s\n", str_or(h, "command", "?"),
			num(h, "number"), num(h, "message_frame"), str_or(h, "user", "?"),
			json_is_true(json_object_get(h, "tls")) ? ", encrypted with TLS" : "");
	}
}

void
wt_text_mail(FILE *out, json_t *rec)
{
	json_t *hops = json_object_get(rec, "hops"), *claimed = json_object_get(rec, "claimed_path");
	json_t *diff = json_object_get(rec, "path_differences"), *h;
	size_t i, k;

	fprintf(out, "Message %s\n", str_or(rec, "message_id", "(no Message-ID)"));
	fprintf(out, "  From: %s\n  To: %s\n  Subject: %s\n", str_or(rec, "from", "-"),
		str_or(rec, "to", "-"), str_or(rec, "subject", "-"));
	fprintf(out, "  Seen on %zu hop%s (matched by %s)%s:\n", json_array_size(hops),
		json_array_size(hops) == 1 ? "" : "s", str_or(rec, "matched_by", "?"),
		json_is_true(json_object_get(rec, "retrieved")) ? ", read by its recipient" : "");
	json_array_foreach(hops, i, h)
		hop_line(out, i + 1, h);
	if (num(rec, "hops_dropped") > 0)
		fprintf(out, "  (%lld more hops not kept)\n", num(rec, "hops_dropped"));

	if (json_array_size(claimed) == 0) {
		fputs("  Claimed path: no Received field (the copy seen never left its first server)\n", out);
	} else {
		fprintf(out, "  Claimed path (Received fields of the copy in frame %lld, oldest first):\n",
			num(rec, "claimed_path_from"));
		json_array_foreach(claimed, k, h) {
			json_t *sf = json_object_get(h, "seen_frame");
			fprintf(out, "    %zu. from %s [%s] by %s with %s id %s", k + 1,
				str_or(h, "from_host", "?"), str_or(h, "from_ip", "?"),
				str_or(h, "by_host", "?"), str_or(h, "with", "?"), str_or(h, "id", "?"));
			if (json_is_integer(sf))
				fprintf(out, "  -- seen in the trace from frame %lld\n",
					(long long)json_integer_value(sf));
			else
				fputs("  -- not seen in the trace\n", out);
		}
	}
	if (json_array_size(diff) == 0) {
		if (json_array_size(claimed))
			fputs("  The claimed path agrees with the trace.\n", out);
	} else {
		fputs("  Differences between the claimed path and the trace:\n", out);
		json_array_foreach(diff, i, h)
			fprintf(out, "    - %s\n", json_string_value(h) ? json_string_value(h) : "?");
	}
	fputc('\n', out);
}
