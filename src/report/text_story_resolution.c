/* \summary: the text report's block for one resolution chain, written for a student */
#include <stdbool.h>
#include <string.h>

#include "report/text_story.h"

/*
 * One block per "resolution" record:
 *
 *   www.a.example A: resolved for 127.0.0.10 by 127.0.0.53, which iterated
 *     frames 1-12, 2.117 ms, NOERROR
 *     1. frames 1 -> 12    127.0.0.10 -> 127.0.0.53 (recursive resolver) RD=1
 *        asks www.a.example A: answer
 *     2. frames 2 -> 3     127.0.0.53 -> 127.0.0.2 (root, zone .) RD=0
 *        asks www.a.example A: referral to example: ns1.nic.example 127.0.0.3
 *   ...
 *     Answer: www.a.example A 127.0.0.80
 *     Note: ...
 *
 * A question nobody answered says so in its first line ("asked by C of R:
 * no answer was seen"), never "resolved".
 */

static const char *
str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "-";
}

static void
frame(char *buf, size_t cap, json_t *v)
{
	if (json_is_integer(v))
		snprintf(buf, cap, "%lld", (long long)json_integer_value(v));
	else
		snprintf(buf, cap, "-");
}

static void
endpoint(FILE *out, json_t *e)
{
	/* Addresses only: port 53 is implied and a client's ephemeral port
	 * is noise in a story (the steps' JSON keeps them). */
	fputs(str(e, "ip"), out);
}

static void
duration(FILE *out, json_t *v)
{
	double d;
	if (!json_is_number(v)) {
		fputs("no answer", out);
		return;
	}
	d = json_number_value(v);
	if (d < 1.0)
		fprintf(out, "%.3f ms", d * 1000.0);
	else
		fprintf(out, "%.3f s", d);
}

static const char *
method_text(const char *m)
{
	if (!strcmp(m, "iterated"))
		return "which iterated from server to server";
	if (!strcmp(m, "forwarded"))
		return "which forwarded the question to another resolver";
	if (!strcmp(m, "cache"))
		return "which answered from its cache";
	if (!strcmp(m, "unseen"))
		return "whose own work is not in this capture";
	return m;
}

static void
referral(FILE *out, json_t *ref)
{
	json_t *ns, *a;
	size_t i, j;
	fprintf(out, "referral to %s:", str(ref, "zone"));
	json_array_foreach(json_object_get(ref, "nameservers"), i, ns) {
		fprintf(out, "%s %s", i ? "," : "", str(ns, "name"));
		json_array_foreach(json_object_get(ns, "addresses"), j, a)
			fprintf(out, " %s", json_string_value(a) ? json_string_value(a) : "?");
		if (json_array_size(json_object_get(ns, "addresses")) == 0)
			fputs(" (no address given: the resolver must look it up)", out);
	}
}

static void
step(FILE *out, size_t n, json_t *s)
{
	char qf[24], rf[24];
	const char *outcome = str(s, "outcome"), *zone = str(s, "zone");
	bool nested = json_is_true(json_object_get(s, "nested"));
	const char *ind = nested ? "      " : "    ";

	frame(qf, sizeof qf, json_object_get(s, "query_frame"));
	frame(rf, sizeof rf, json_object_get(s, "response_frame"));
	fprintf(out, "%s%2zu. frames %s -> %s  ", ind, n, qf, rf);
	endpoint(out, json_object_get(s, "querier"));
	fputs(" -> ", out);
	endpoint(out, json_object_get(s, "server"));
	fprintf(out, " (%s", str(s, "role"));
	if (json_is_string(json_object_get(s, "zone")))
		fprintf(out, ", zone %s", zone);
	fprintf(out, ") RD=%d %s", json_is_true(json_object_get(s, "rd")),
		str(s, "transport"));
	if (json_is_true(json_object_get(s, "tcp_retry")))
		fputs(" (retry over TCP)", out);
	if (nested)
		fprintf(out, " [%s]", !strcmp(str(s, "purpose"), "ns-address")
			? "looking up a name server's address"
			: !strcmp(str(s, "purpose"), "dnssec") ? "DNSSEC key or delegation signer"
								: str(s, "purpose"));
	fprintf(out, "\n%s    asks %s %s: ", ind, str(s, "qname"), str(s, "qtype"));
	if (!strcmp(outcome, "referral") && json_is_object(json_object_get(s, "referral")))
		referral(out, json_object_get(s, "referral"));
	else if (!strcmp(outcome, "cname"))
		fprintf(out, "CNAME, the name is an alias of %s", str(s, "cname"));
	else if (!strcmp(outcome, "timeout"))
		fputs("no answer (timeout)", out);
	else if (json_is_true(json_object_get(s, "truncated")))
		fputs("truncated (TC=1), too big for UDP", out);
	else if (!strcmp(outcome, "answer"))
		fprintf(out, "answer%s", json_is_true(json_object_get(s, "aa"))
			? " (authoritative)" : "");
	else if (!strcmp(outcome, "nodata"))
		fputs("no data: the name exists, without that type", out);
	else if (!strcmp(outcome, "nxdomain"))
		fputs("NXDOMAIN: no such name", out);
	else
		fprintf(out, "%s (%s)", outcome, str(s, "rcode"));
	if (json_is_number(json_object_get(s, "rtt"))) {
		fputs(", ", out);
		duration(out, json_object_get(s, "rtt"));
	}
	fputc('\n', out);
}

void
wt_text_resolution(FILE *out, json_t *rec)
{
	json_t *steps = json_object_get(rec, "steps"), *s, *a, *resolver;
	const char *kind = str(rec, "kind"), *method = str(rec, "resolver_method");
	char ff[24], lf[24];
	size_t i;

	resolver = json_object_get(rec, "resolver");
	fprintf(out, "%s %s: ", str(rec, "qname"), str(rec, "qtype"));
	if (!strcmp(kind, "recursive") && json_is_object(resolver) &&
	    (!json_object_get(rec, "rcode") || json_is_null(json_object_get(rec, "rcode")))) {
		/* Never answered: say so, and claim nothing about a cache. */
		fputs("asked by ", out);
		endpoint(out, json_object_get(rec, "client"));
		fputs(" of ", out);
		endpoint(out, resolver);
		if (!strcmp(method, "unseen"))
			fputs(": no answer was seen\n", out);
		else
			fprintf(out, ", %s, but no answer reached the client\n",
				method_text(method));
	} else if (!strcmp(kind, "recursive") && json_is_object(resolver)) {
		fputs("resolved for ", out);
		endpoint(out, json_object_get(rec, "client"));
		fputs(" by ", out);
		endpoint(out, resolver);
		fprintf(out, ", %s\n", method_text(method));
	} else {
		endpoint(out, json_object_get(rec, "client"));
		fputs(" followed the referrals itself (iterated)\n", out);
	}
	frame(ff, sizeof ff, json_object_get(rec, "first_frame"));
	frame(lf, sizeof lf, json_object_get(rec, "last_frame"));
	fprintf(out, "  frames %s-%s, ", ff, lf);
	if (json_is_string(json_object_get(rec, "rcode"))) {
		duration(out, json_object_get(rec, "duration"));
		fprintf(out, ", %s", str(rec, "rcode"));
	} else {
		fputs("no answer", out);
	}
	fprintf(out, ", %zu step%s\n", json_array_size(steps),
		json_array_size(steps) == 1 ? "" : "s");
	json_array_foreach(steps, i, s)
		step(out, i + 1, s);
	if (json_array_size(json_object_get(rec, "answers")) == 0)
		fputs("  Answer: none\n", out);
	json_array_foreach(json_object_get(rec, "answers"), i, a) {
		const char *d = str(a, "data");
		if (i == 6) {
			fprintf(out, "          ... and %zu more\n",
				json_array_size(json_object_get(rec, "answers")) - i);
			break;
		}
		/* Long rdata (keys, signatures, padding) cut to one line. */
		fprintf(out, "  %s %s %s %.*s%s\n", i ? "       " : "Answer:", str(a, "name"),
			str(a, "type"), 72, d, strlen(d) > 72 ? "..." : "");
	}
	if (json_is_object(json_object_get(rec, "cached_from"))) {
		json_t *c = json_object_get(rec, "cached_from");
		fprintf(out, "  From the cache filled at frame %lld (%s %s)\n",
			(long long)json_integer_value(json_object_get(c, "first_frame")),
			str(c, "qname"), str(c, "qtype"));
	}
	json_array_foreach(json_object_get(rec, "notes"), i, a)
		fprintf(out, "  Note: %s\n", json_string_value(a) ? json_string_value(a) : "");
	fputc('\n', out);
}
