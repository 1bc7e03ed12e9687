/* \summary: JSON Lines writer: one compact object per line, written through one large buffer */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/jsonl.h"

/*
 * jansson's json_dumpf() works through a callback per fragment; this writer
 * appends to a growable buffer and writes whole batches, and prints numbers
 * in their shortest round-trip form ("0.000123", "1700000000.123456").
 * Strings in records are already valid UTF-8 (wt_json_bytes escapes wire
 * bytes), so only JSON's own escapes are needed here.
 */

typedef struct buf {
	char *p;
	size_t len, cap;
	int oom;
} buf_t;

struct wt_jsonl {
	FILE *out;
	int flush_each;
	int failed;
	buf_t b;
};

#define BATCH (1u << 16)

static void
reserve(buf_t *b, size_t n)
{
	if (b->len + n <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + n)
		cap *= 2;
	char *q = realloc(b->p, cap);
	if (!q) {
		b->oom = 1;
		return;
	}
	b->p = q;
	b->cap = cap;
}

static void
put(buf_t *b, const char *s, size_t n)
{
	reserve(b, n);
	if (b->oom)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void
put_str(buf_t *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, start = 0;
	reserve(b, n + 2);
	put(b, "\"", 1);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *esc = NULL;
		char u[6];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		put(b, s + start, i - start);
		switch (c) {
		case '"':
			esc = "\\\"";
			break;
		case '\\':
			esc = "\\\\";
			break;
		case '\n':
			esc = "\\n";
			break;
		case '\r':
			esc = "\\r";
			break;
		case '\t':
			esc = "\\t";
			break;
		default:
			u[0] = '\\';
			u[1] = 'u';
			u[2] = '0';
			u[3] = '0';
			u[4] = hex[c >> 4];
			u[5] = hex[c & 15];
			put(b, u, 6);
			break;
		}
		if (esc)
			put(b, esc, strlen(esc));
		start = i + 1;
	}
	put(b, s + start, n - start);
	put(b, "\"", 1);
}

/* True when v printed with prec significant digits reads back as v. */
static int
exact_at(double v, int prec, char *out, size_t cap)
{
	snprintf(out, cap, "%.*g", prec, v);
	return strtod(out, NULL) == v;
}

static void
put_real(buf_t *b, double v)
{
	char s[40], t[40];
	int lo = 1, hi = 15;
	if (!isfinite(v)) {
		put(b, "null", 4);
		return;
	}
	/*
	 * The shortest form that reads back as the same double.  Exactness
	 * only grows with the precision, so: 15 digits, or 16, or 17 when 15
	 * is not enough (timestamps need 16); otherwise a binary search for
	 * the fewest digits (durations such as 0.000123).
	 */
	if (!exact_at(v, 15, s, sizeof s)) {
		if (!exact_at(v, 16, s, sizeof s))
			snprintf(s, sizeof s, "%.17g", v);
	} else {
		while (lo < hi) {
			int mid = (lo + hi) / 2;
			if (exact_at(v, mid, t, sizeof t))
				hi = mid;
			else
				lo = mid + 1;
		}
		if (lo < 15)
			exact_at(v, lo, s, sizeof s);
	}
	/* keep it a JSON real: 3 -> 3.0 */
	if (!strpbrk(s, ".eEn"))
		strcat(s, ".0");
	put(b, s, strlen(s));
}

static void
put_value(buf_t *b, const json_t *v)
{
	char s[32];
	int n;
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *k;
		json_t *x;
		int first = 1;
		put(b, "{", 1);
		json_object_foreach((json_t *)v, k, x) {
			if (!first)
				put(b, ",", 1);
			first = 0;
			put_str(b, k, strlen(k));
			put(b, ":", 1);
			put_value(b, x);
		}
		put(b, "}", 1);
		break;
	}
	case JSON_ARRAY: {
		size_t i, len = json_array_size(v);
		put(b, "[", 1);
		for (i = 0; i < len; i++) {
			if (i)
				put(b, ",", 1);
			put_value(b, json_array_get(v, i));
		}
		put(b, "]", 1);
		break;
	}
	case JSON_STRING:
		put_str(b, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		n = snprintf(s, sizeof s, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		put(b, s, (size_t)n);
		break;
	case JSON_REAL:
		put_real(b, json_real_value(v));
		break;
	case JSON_TRUE:
		put(b, "true", 4);
		break;
	case JSON_FALSE:
		put(b, "false", 5);
		break;
	case JSON_NULL:
		put(b, "null", 4);
		break;
	}
}

wt_jsonl_t *
wt_jsonl_new(FILE *out, int flush_each)
{
	wt_jsonl_t *w = calloc(1, sizeof *w);
	if (!w)
		return NULL;
	w->out = out;
	w->flush_each = flush_each;
	return w;
}

static void
drain(wt_jsonl_t *w)
{
	if (w->b.len && !w->failed) {
		if (fwrite(w->b.p, 1, w->b.len, w->out) != w->b.len)
			w->failed = 1;
	}
	w->b.len = 0;
	if (w->flush_each && !w->failed && fflush(w->out) != 0)
		w->failed = 1;
}

void
wt_jsonl_record(void *user, json_t *rec)
{
	wt_jsonl_t *w = user;
	put_value(&w->b, rec);
	put(&w->b, "\n", 1);
	if (w->flush_each || w->b.len >= BATCH)
		drain(w);
}

char *
wt_json_dumps(const json_t *v)
{
	buf_t b = {NULL, 0, 0, 0};
	put_value(&b, v);
	put(&b, "", 1);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

int
wt_jsonl_finish(wt_jsonl_t *w)
{
	int rc;
	if (!w)
		return 0;
	drain(w);
	if (fflush(w->out) != 0)
		w->failed = 1;
	rc = w->failed || w->b.oom ? -1 : 0;
	free(w->b.p);
	free(w);
	return rc;
}
