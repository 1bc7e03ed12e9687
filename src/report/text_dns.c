/* \summary: text report of "dns" records: one line per transaction and a per-capture summary */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "report/text.h"

/*
 * One line per transaction, read left to right as the exchange happened:
 *   frames 1 -> 2  udp  10.0.0.1:43966 -> 10.0.0.53:53  id 22836  A www.example.com  [rd]
 *     => NOERROR [qr rd ra]  2 answers: A 192.0.2.1, A 192.0.2.2  rtt 1.3 ms
 * The query frame (with retransmissions), the transport, the server, the
 * question type and the answer count are what a student looks for first.
 */

#define ANSWERS_SHOWN 4
#define SUMMARY_KEYS_MAX 10000 /* distinct names/servers counted */
#define SUMMARY_TOP 10
#define SUMMARY_SLOW 5

static const char *
sval(json_t *o, const char *k, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : dflt;
}

static void
fmt_endpoint(char *buf, size_t len, json_t *e)
{
	const char *ip = sval(e, "ip", "?");
	long long port = (long long)json_integer_value(json_object_get(e, "port"));
	if (strchr(ip, ':'))
		snprintf(buf, len, "[%s]:%lld", ip, port);
	else
		snprintf(buf, len, "%s:%lld", ip, port);
}

static void
print_flags(FILE *out, json_t *f)
{
	static const char *const names[] = {"qr", "aa", "tc", "rd", "ra", "z", "ad", "cd"};
	size_t i;
	bool first = true;
	fputc('[', out);
	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		if (json_is_true(json_object_get(f, names[i]))) {
			fprintf(out, "%s%s", first ? "" : " ", names[i]);
			first = false;
		}
	fputc(']', out);
}

static void
print_mnemonic(FILE *out, json_t *v)
{
	if (json_is_string(v))
		fputs(json_string_value(v), out);
	else if (json_is_integer(v))
		fprintf(out, "%lld", (long long)json_integer_value(v));
	else
		fputs("-", out);
}

static void
print_frames(FILE *out, json_t *r)
{
	json_t *qf = json_object_get(r, "query_frames");
	json_t *rf = json_object_get(r, "response_frame");
	size_t i, n = json_array_size(qf);
	json_t *v;
	if (n == 0)
		fputs("frames    -", out);
	else {
		fputs("frames ", out);
		json_array_foreach(qf, i, v) {
			if (i == 3 && n > 4) {
				fprintf(out, ",...(%zu)", n);
				break;
			}
			fprintf(out, "%s%lld", i ? "," : "", (long long)json_integer_value(v));
		}
	}
	if (json_is_integer(rf))
		fprintf(out, " -> %lld", (long long)json_integer_value(rf));
	else
		fputs(" -> -", out);
}

void
wt_text_dns(FILE *out, json_t *r)
{
	char c[80], s[80];
	const char *status = sval(r, "status", "?");
	json_t *an = json_object_get(r, "answers");
	json_t *opcode = json_object_get(r, "opcode"), *v, *tc;
	size_t i, n_an = json_array_size(an);
	json_t *rtt = json_object_get(r, "rtt");
	json_t *qflags = json_object_get(r, "query_flags");

	fmt_endpoint(c, sizeof c, json_object_get(r, "client"));
	fmt_endpoint(s, sizeof s, json_object_get(r, "server"));
	fputs("  ", out);
	print_frames(out, r);
	fprintf(out, "  %s  %s -> %s  id %lld  ", sval(r, "transport", "?"), c, s,
		(long long)json_integer_value(json_object_get(r, "id")));
	if (!json_is_string(opcode) || strcmp(json_string_value(opcode), "QUERY")) {
		print_mnemonic(out, opcode);
		fputc(' ', out);
	}
	fprintf(out, "%s %s", sval(r, "qtype", "-"), sval(r, "qname", "(no question)"));
	if (strcmp(sval(r, "qclass", "IN"), "IN"))
		fprintf(out, " %s", sval(r, "qclass", "-"));
	if (json_is_object(qflags)) {
		fputs("  ", out);
		print_flags(out, qflags);
	}
	if (json_object_get(r, "query_edns") && json_is_object(json_object_get(r, "query_edns")))
		fprintf(out, " edns%s",
			json_is_true(json_object_get(json_object_get(r, "query_edns"), "do")) ? "+do" : "");
	if (json_integer_value(json_object_get(r, "retransmissions")) > 0)
		fprintf(out, "  (%lld retransmissions)",
			(long long)json_integer_value(json_object_get(r, "retransmissions")));
	if (!strcmp(status, "unanswered")) {
		fputs("  => no answer", out);
		if (json_is_true(json_object_get(r, "evicted")))
			fputs(" (too many pending queries)", out);
	} else {
		fputs("  => ", out);
		print_mnemonic(out, json_object_get(r, "rcode"));
		fputc(' ', out);
		print_flags(out, json_object_get(r, "flags"));
		fprintf(out, "  %zu answer%s", n_an, n_an == 1 ? "" : "s");
		json_array_foreach(an, i, v) {
			if (i == ANSWERS_SHOWN) {
				fprintf(out, ", +%zu more", n_an - i);
				break;
			}
			fprintf(out, "%s %s %s", i ? "," : ":", sval(v, "type", "?"),
				sval(v, "data", ""));
		}
		if (json_array_size(json_object_get(r, "authority")))
			fprintf(out, "; %zu authority",
				json_array_size(json_object_get(r, "authority")));
		if (json_array_size(json_object_get(r, "additional")))
			fprintf(out, "; %zu additional",
				json_array_size(json_object_get(r, "additional")));
		if (json_is_number(rtt))
			fprintf(out, "  rtt %.1f ms", json_number_value(rtt) * 1000.0);
		if (!strcmp(status, "unsolicited"))
			fputs("  (unsolicited: no query seen)", out);
	}
	tc = json_object_get(r, "tc_retry");
	if (json_is_object(tc))
		fprintf(out, "  (TCP retry of the truncated UDP answer in frame %lld)",
			(long long)json_integer_value(json_object_get(tc, "response_frame")));
	if (json_is_true(json_object_get(r, "malformed")))
		fputs("  MALFORMED", out);
	fputc('\n', out);
}

/* ---- per-capture summary -------------------------------------------- */

struct wt_dns_summary {
	json_t *names;   /* {"qname": n} */
	json_t *servers; /* {"ip": n} */
	json_t *rcodes;  /* {"RCODE": n} */
	json_t *slow;    /* records with the largest rtt, at most SUMMARY_SLOW */
	unsigned long long total, answered, unanswered, unsolicited, tcp;
	unsigned long long dropped_keys;
};

wt_dns_summary_t *
wt_dns_summary_new(void)
{
	wt_dns_summary_t *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->names = json_object();
	s->servers = json_object();
	s->rcodes = json_object();
	s->slow = json_array();
	return s;
}

static void
bump(wt_dns_summary_t *s, json_t *map, const char *key)
{
	json_t *n = json_object_get(map, key);
	if (!n && json_object_size(map) >= SUMMARY_KEYS_MAX) {
		s->dropped_keys++;
		key = "(other)";
		n = json_object_get(map, key);
	}
	json_object_set_new(map, key, json_integer(n ? json_integer_value(n) + 1 : 1));
}

void
wt_dns_summary_add(wt_dns_summary_t *s, json_t *rec)
{
	const char *status = sval(rec, "status", "");
	json_t *rtt = json_object_get(rec, "rtt"), *rc;
	char buf[32];
	if (!s)
		return;
	s->total++;
	if (!strcmp(status, "answered"))
		s->answered++;
	else if (!strcmp(status, "unanswered"))
		s->unanswered++;
	else
		s->unsolicited++;
	if (!strcmp(sval(rec, "transport", ""), "tcp"))
		s->tcp++;
	if (json_is_string(json_object_get(rec, "qname")))
		bump(s, s->names, sval(rec, "qname", ""));
	bump(s, s->servers, sval(json_object_get(rec, "server"), "ip", "?"));
	rc = json_object_get(rec, "rcode");
	if (json_is_string(rc))
		bump(s, s->rcodes, json_string_value(rc));
	else if (json_is_integer(rc)) {
		snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(rc));
		bump(s, s->rcodes, buf);
	} else
		bump(s, s->rcodes, "(no answer)");
	if (json_is_number(rtt)) {
		/* Keep the SUMMARY_SLOW largest, sorted descending. */
		double d = json_number_value(rtt);
		size_t i, n = json_array_size(s->slow);
		for (i = 0; i < n; i++)
			if (d > json_number_value(json_object_get(json_array_get(s->slow, i), "rtt")))
				break;
		if (i < SUMMARY_SLOW) {
			json_array_insert(s->slow, i, rec);
			if (json_array_size(s->slow) > SUMMARY_SLOW)
				json_array_remove(s->slow, SUMMARY_SLOW);
		}
	}
}

static int
cmp_count(const void *a, const void *b)
{
	json_int_t x = json_integer_value(json_array_get(*(json_t *const *)a, 1));
	json_int_t y = json_integer_value(json_array_get(*(json_t *const *)b, 1));
	if (x != y)
		return x < y ? 1 : -1;
	return strcmp(json_string_value(json_array_get(*(json_t *const *)a, 0)),
		      json_string_value(json_array_get(*(json_t *const *)b, 0)));
}

static void
print_top(FILE *out, const char *title, json_t *map, size_t top)
{
	size_t n = json_object_size(map), i = 0;
	json_t **v, *val;
	const char *k;
	if (n == 0)
		return;
	v = calloc(n, sizeof *v);
	if (!v)
		return;
	json_object_foreach(map, k, val)
		v[i++] = json_pack("[s,O]", k, val);
	qsort(v, n, sizeof *v, cmp_count);
	fprintf(out, "  %s:", title);
	for (i = 0; i < n; i++) {
		if (i < top)
			fprintf(out, "%s %s (%lld)", i ? "," : "",
				json_string_value(json_array_get(v[i], 0)),
				(long long)json_integer_value(json_array_get(v[i], 1)));
		json_decref(v[i]);
	}
	if (n > top)
		fprintf(out, ", ... %zu more", n - top);
	fputc('\n', out);
	free(v);
}

void
wt_dns_summary_print(FILE *out, wt_dns_summary_t *s)
{
	size_t i;
	json_t *r;
	if (!s || s->total == 0)
		return;
	fprintf(out, "\nDNS summary\n");
	fprintf(out, "  %llu transactions: %llu answered, %llu unanswered, %llu unsolicited; %llu over TCP\n",
		s->total, s->answered, s->unanswered, s->unsolicited, s->tcp);
	print_top(out, "top names", s->names, SUMMARY_TOP);
	print_top(out, "rcodes", s->rcodes, SUMMARY_TOP);
	print_top(out, "servers", s->servers, SUMMARY_TOP);
	if (json_array_size(s->slow)) {
		fprintf(out, "  slowest answers:\n");
		json_array_foreach(s->slow, i, r)
			fprintf(out, "    %.1f ms  %s %s  frames %lld -> %lld  server %s\n",
				json_number_value(json_object_get(r, "rtt")) * 1000.0,
				sval(r, "qtype", "-"), sval(r, "qname", "-"),
				(long long)json_integer_value(json_object_get(r, "query_frame")),
				(long long)json_integer_value(json_object_get(r, "response_frame")),
				sval(json_object_get(r, "server"), "ip", "?"));
	}
}

void
wt_dns_summary_free(wt_dns_summary_t *s)
{
	if (!s)
		return;
	json_decref(s->names);
	json_decref(s->servers);
	json_decref(s->rcodes);
	json_decref(s->slow);
	free(s);
}
