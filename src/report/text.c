/* \summary: the text report: sections in story order, flows, warnings and the summary */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report/text.h"

/*
 * Records are held (up to HOLD_MAX of them) so the report can tell the
 * story first, then the per-protocol detail, then the flows: a reader wants
 * "what happened" before "which packets".  Past the cap (a huge capture) the
 * report switches to printing each record as it arrives, so memory stays
 * bounded.  Live capture asks for streaming from the start.
 */
#define HOLD_MAX 5000
/* Flows are the lowest level of the story: the first ones are listed, the
 * rest counted (JSON Lines has every one). */
#define FLOW_LIST_MAX 200

enum section { SEC_STORY, SEC_DNS, SEC_MAIL, SEC_FLOW, SEC_WARN, SEC_N };

static const char *const section_title[SEC_N] = {
	"The story", "DNS transactions", "Mail sessions", "Flows", "Warnings"};

struct wt_text {
	FILE *out;
	int streaming;
	size_t held;
	json_t *sec[SEC_N];
	int printed_title[SEC_N];
	json_t *summary;
	wt_dns_summary_t *dns;
	uint64_t flows_seen;
};

#include "report/text_story.h"

wt_text_t *
wt_text_new(FILE *out)
{
	wt_text_t *t = calloc(1, sizeof *t);
	int i;
	if (!t)
		return NULL;
	t->out = out;
	for (i = 0; i < SEC_N; i++)
		t->sec[i] = json_array();
	t->dns = wt_dns_summary_new();
	return t;
}

void
wt_text_set_streaming(wt_text_t *t, int on)
{
	t->streaming = on;
}

static const char *
str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "-";
}

static long long
num(json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

static void
endpoint(char *buf, size_t len, json_t *e)
{
	const char *ip = str(e, "ip");
	if (strchr(ip, ':'))
		snprintf(buf, len, "[%s]:%lld", ip, num(e, "port"));
	else
		snprintf(buf, len, "%s:%lld", ip, num(e, "port"));
}

static void
text_flow(FILE *out, json_t *r)
{
	char c[80], s[80];
	json_t *pk = json_object_get(r, "packets"), *by = json_object_get(r, "bytes");
	json_t *proto = json_object_get(r, "protocol");
	endpoint(c, sizeof c, json_object_get(r, "client"));
	endpoint(s, sizeof s, json_object_get(r, "server"));
	fprintf(out, "  %s stream %-4lld %s -> %s  frames %lld-%lld  packets %lld/%lld  bytes %lld/%lld  %s%s",
		str(r, "transport"), num(r, "stream"), c, s, num(r, "first_frame"),
		num(r, "last_frame"), num(pk, "to_server"), num(pk, "to_client"),
		num(by, "to_server"), num(by, "to_client"), str(r, "end"),
		json_is_true(json_object_get(r, "midstream")) ? " (picked up mid-stream)" : "");
	if (json_is_string(proto))
		fprintf(out, "  [%s]", json_string_value(proto));
	if (num(r, "gaps") > 0)
		fprintf(out, "  %lld gap(s), %lld bytes missing", num(r, "gaps"), num(r, "gap_bytes"));
	fputc('\n', out);
}

static void
text_warning(FILE *out, json_t *r)
{
	json_t *f = json_object_get(r, "frame");
	if (json_is_integer(f))
		fprintf(out, "  frame %lld: [%s] %s: %s\n", (long long)json_integer_value(f),
			str(r, "proto"), str(r, "code"), str(r, "message"));
	else
		fprintf(out, "  [%s] %s: %s\n", str(r, "proto"), str(r, "code"), str(r, "message"));
}

static void
text_summary(FILE *out, json_t *r)
{
	size_t i;
	json_t *v;
	const char *k;
	char when[64] = "-";
	json_t *fts = json_object_get(r, "first_ts");

	if (json_is_number(fts)) {
		time_t t = (time_t)json_number_value(fts);
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
	}
	fprintf(out, "\nSummary\n");
	json_array_foreach(json_object_get(r, "files"), i, v) {
		fprintf(out, "  file %s: %s, %lld frames, %s%s%s\n", str(v, "name"),
			str(v, "format"), num(v, "frames"), str(v, "status"),
			json_is_string(json_object_get(v, "error")) ? ": " : "",
			json_is_string(json_object_get(v, "error")) ? str(v, "error") : "");
	}
	fprintf(out, "  %lld frames, %lld bytes, starting %s, lasting %.3f s\n",
		num(r, "packets"), num(r, "bytes"), when,
		json_number_value(json_object_get(r, "duration")));
	fprintf(out, "  link types:");
	json_array_foreach(json_object_get(r, "linktypes"), i, v)
		fprintf(out, " %s (%lld frames)", str(v, "name"), num(v, "frames"));
	fputc('\n', out);
	fprintf(out, "  records:");
	json_object_foreach(json_object_get(r, "records"), k, v)
		if (strcmp(k, "summary") != 0)
			fprintf(out, " %s %lld", k, (long long)json_integer_value(v));
	fputc('\n', out);
	{
		int any = 0;
		json_object_foreach(json_object_get(r, "counters"), k, v) {
			if (json_integer_value(v) == 0)
				continue;
			fprintf(out, "%s %s %lld", any ? "," : "  counters:", k,
				(long long)json_integer_value(v));
			any = 1;
		}
		if (any)
			fputc('\n', out);
	}
	if (json_object_size(json_object_get(r, "caps_hit"))) {
		fprintf(out, "  caps hit:");
		json_object_foreach(json_object_get(r, "caps_hit"), k, v)
			fprintf(out, " %s (%lld)", k, (long long)json_integer_value(v));
		fputc('\n', out);
	}
	if (json_object_size(json_object_get(r, "warnings"))) {
		fprintf(out, "  warnings:");
		json_object_foreach(json_object_get(r, "warnings"), k, v)
			fprintf(out, " %s %lld", k, (long long)json_integer_value(v));
		fputc('\n', out);
	}
	if (json_is_object(json_object_get(r, "live"))) {
		json_t *l = json_object_get(r, "live");
		fprintf(out, "  live capture: %lld received, %lld dropped by the kernel, %lld dropped by the interface\n",
			num(l, "received"), num(l, "dropped"), num(l, "if_dropped"));
	}
}

static enum section
section_of(const char *type)
{
	if (!strcmp(type, "resolution") || !strcmp(type, "mail"))
		return SEC_STORY;
	if (!strcmp(type, "dns"))
		return SEC_DNS;
	if (!strcmp(type, "smtp") || !strcmp(type, "pop3") || !strcmp(type, "imap"))
		return SEC_MAIL;
	if (!strcmp(type, "warning"))
		return SEC_WARN;
	return SEC_FLOW;
}

static void
print_one(wt_text_t *t, json_t *r)
{
	const char *type = str(r, "type");
	enum section s = section_of(type);

	if (!t->printed_title[s]) {
		fprintf(t->out, "\n%s\n", section_title[s]);
		t->printed_title[s] = 1;
	}
	if (!strcmp(type, "dns"))
		wt_text_dns(t->out, r);
	else if (!strcmp(type, "smtp"))
		wt_text_smtp(t->out, r);
	else if (!strcmp(type, "pop3"))
		wt_text_pop3(t->out, r);
	else if (!strcmp(type, "imap"))
		wt_text_imap(t->out, r);
	else if (s == SEC_STORY)
		wt_text_story(t->out, r);
	else if (!strcmp(type, "warning"))
		text_warning(t->out, r);
	else if (!strcmp(type, "flow"))
		text_flow(t->out, r);
}

/* Held records are printed in order of their first frame: transactions
 * complete out of order (a resolver's upstream answers come before its own
 * answer to the client), but a reader follows the trace. */
static long long
first_frame_of(json_t *r)
{
	static const char *const keys[] = {"query_frame", "first_frame", "frame"};
	size_t i;
	for (i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		json_t *v = json_object_get(r, keys[i]);
		if (json_is_integer(v))
			return (long long)json_integer_value(v);
	}
	return 0;
}

/* In the story, messages come first (a mail's flow is the headline; the
 * lookups it needed are told after it), then resolutions; each kind in
 * order of its first frame. */
static int
story_rank(json_t *r)
{
	const char *t = json_string_value(json_object_get(r, "type"));
	return t && !strcmp(t, "mail") ? 0 : 1;
}

static int
by_frame(const void *a, const void *b)
{
	json_t *ra = *(json_t *const *)a, *rb = *(json_t *const *)b;
	int ka = story_rank(ra), kb = story_rank(rb);
	long long x = first_frame_of(ra), y = first_frame_of(rb);
	if (ka != kb)
		return ka - kb;
	return x < y ? -1 : x > y;
}

static void
sort_section(json_t *arr)
{
	size_t n = json_array_size(arr), i;
	json_t **v;
	if (n < 2 || !(v = malloc(n * sizeof *v)))
		return;
	for (i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(arr, i));
	/* qsort is not stable: equal frames keep no order, which is fine
	 * since each record has its own first frame */
	qsort(v, n, sizeof *v, by_frame);
	json_array_clear(arr);
	for (i = 0; i < n; i++)
		json_array_append_new(arr, v[i]);
	free(v);
}

static void
print_held(wt_text_t *t)
{
	int s;
	size_t i;
	json_t *r;
	for (s = 0; s < SEC_N; s++) {
		sort_section(t->sec[s]);
		json_array_foreach(t->sec[s], i, r)
			print_one(t, r);
		json_array_clear(t->sec[s]);
	}
	t->held = 0;
}

void
wt_text_record(void *user, json_t *rec)
{
	wt_text_t *t = user;
	const char *type = str(rec, "type");

	if (!strcmp(type, "summary")) {
		json_decref(t->summary);
		t->summary = json_incref(rec);
		return;
	}
	if (!strcmp(type, "dns") && t->dns)
		wt_dns_summary_add(t->dns, rec);
	if (!strcmp(type, "flow") && ++t->flows_seen > FLOW_LIST_MAX)
		return;
	if (t->streaming) {
		print_one(t, rec);
		fflush(t->out);
		return;
	}
	json_array_append(t->sec[section_of(type)], rec);
	if (++t->held >= HOLD_MAX) {
		print_held(t);
		t->streaming = 1;
	}
}

void
wt_text_finish(wt_text_t *t)
{
	int i;
	if (!t)
		return;
	print_held(t);
	if (t->flows_seen > FLOW_LIST_MAX)
		fprintf(t->out, "  ... and %llu more flows (wiretale analyze --format json lists every one)\n",
			(unsigned long long)(t->flows_seen - FLOW_LIST_MAX));
	if (t->dns && (t->printed_title[SEC_DNS] || t->printed_title[SEC_STORY]))
		wt_dns_summary_print(t->out, t->dns);
	if (t->summary)
		text_summary(t->out, t->summary);
	fflush(t->out);
	json_decref(t->summary);
	for (i = 0; i < SEC_N; i++)
		json_decref(t->sec[i]);
	if (t->dns)
		wt_dns_summary_free(t->dns);
	free(t);
}
