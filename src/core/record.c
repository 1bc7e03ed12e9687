/* \summary: record emission, warnings, counters and the common JSON shapes */
#include <arpa/inet.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/ctx_int.h"
#include "core/record.h"

static void
deliver(wt_ctx_t *ctx, json_t *rec)
{
	const char *type = json_string_value(json_object_get(rec, "type"));
	size_t i;

	if (type && ctx->records_out) {
		json_t *n = json_object_get(ctx->records_out, type);
		json_object_set_new(ctx->records_out, type,
				    json_integer(n ? json_integer_value(n) + 1 : 1));
	}
	/* The analyze layer watches records first (resolution chains read
	 * "dns", mail flows read "smtp" ...), then every sink gets it. */
	if (ctx->observe)
		ctx->observe(ctx->observe_user, rec);
	for (i = 0; i < ctx->n_sinks; i++)
		ctx->sinks[i].fn(ctx->sinks[i].user, rec);
	json_decref(rec);
}

void
wt_emit(wt_ctx_t *ctx, json_t *rec)
{
	if (!rec)
		return;
	/* A record emitted while another is being delivered (an analyzer
	 * reacting to it) waits until that one has reached the sinks. */
	if (ctx->emitting) {
		if (!ctx->emit_queue)
			ctx->emit_queue = json_array();
		json_array_append_new(ctx->emit_queue, rec);
		return;
	}
	ctx->emitting = true;
	deliver(ctx, rec);
	while (ctx->emit_queue && json_array_size(ctx->emit_queue) > 0) {
		json_t *next = json_incref(json_array_get(ctx->emit_queue, 0));
		json_array_remove(ctx->emit_queue, 0);
		deliver(ctx, next);
	}
	ctx->emitting = false;
}

void
wt_warn(wt_ctx_t *ctx, const wt_pkt_t *pkt, const char *proto,
	const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	json_t *rec, *n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);

	n = json_object_get(ctx->warning_counts, code);
	json_object_set_new(ctx->warning_counts, code,
			    json_integer(n ? json_integer_value(n) + 1 : 1));

	rec = json_object();
	json_object_set_new(rec, "type", json_string("warning"));
	json_object_set_new(rec, "frame", pkt ? json_integer((json_int_t)pkt->frame) : json_null());
	json_object_set_new(rec, "ts", pkt ? wt_json_ts(&pkt->ts) : json_null());
	json_object_set_new(rec, "proto", json_string(proto));
	json_object_set_new(rec, "code", json_string(code));
	json_object_set_new(rec, "message", wt_json_bytes((const uint8_t *)msg, strlen(msg)));
	wt_emit(ctx, rec);
}

void
wt_count(wt_ctx_t *ctx, enum wt_counter c, uint64_t n)
{
	ctx->counters[c] += n;
}

uint64_t
wt_message_next(wt_ctx_t *ctx, FILE **out)
{
	uint64_t n = ++ctx->messages_seen;
	if (out)
		*out = (ctx->opt.message_index == n) ? ctx->opt.message_out : NULL;
	return n;
}

double
wt_time_to_double(const wt_time_t *t)
{
	return (double)t->sec + (double)t->nsec / 1e9;
}

double
wt_time_diff(const wt_time_t *later, const wt_time_t *earlier)
{
	return (double)(later->sec - earlier->sec) +
	       ((double)later->nsec - (double)earlier->nsec) / 1e9;
}

json_t *
wt_json_ts(const wt_time_t *t)
{
	/* Rounded to the microsecond unless the capture has nanoseconds, so
	 * the shortest round-trip form printed by the JSON writer is exact
	 * enough for people ("1700000000.123456"). */
	double v;
	if (t->nsec % 1000 == 0)
		v = (double)t->sec + (double)(t->nsec / 1000) / 1e6;
	else
		v = (double)t->sec + (double)t->nsec / 1e9;
	return json_real(v);
}

void
wt_addr_str(const wt_addr_t *a, char *buf, size_t len)
{
	if (a->family == 4)
		inet_ntop(AF_INET, a->a, buf, (socklen_t)len);
	else if (a->family == 6)
		inet_ntop(AF_INET6, a->a, buf, (socklen_t)len);
	else if (len)
		snprintf(buf, len, "?");
}

json_t *
wt_json_ip(const wt_addr_t *a)
{
	char b[64];
	wt_addr_str(a, b, sizeof b);
	return json_string(b);
}

json_t *
wt_json_endpoint(const wt_endpoint_t *e)
{
	json_t *o = json_object();
	json_object_set_new(o, "ip", wt_json_ip(&e->ip));
	json_object_set_new(o, "port", json_integer(e->port));
	return o;
}

/* Length of the valid UTF-8 sequence starting at p (at most n bytes), or 0. */
static size_t
utf8_len(const uint8_t *p, size_t n)
{
	uint8_t c = p[0];
	size_t need, i;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		need = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (n < need)
		return 0;
	for (i = 1; i < need; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	/* overlong, surrogates, beyond U+10FFFF */
	if ((need == 3 && cp < 0x800) || (need == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return need;
}

size_t
wt_escape_bytes(const uint8_t *p, size_t n, char *out, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0, o = 0;

	if (cap == 0)
		return 0;
	while (i < n) {
		size_t l = utf8_len(p + i, n - i);
		if (l == 1 && (p[i] >= 0x20 || p[i] == '\t') && p[i] != 0x7f) {
			if (o + 1 >= cap)
				break;
			out[o++] = (char)p[i];
		} else if (l > 1) {
			if (o + l >= cap)
				break;
			memcpy(out + o, p + i, l);
			o += l;
		} else {
			if (o + 4 >= cap)
				break;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[p[i] >> 4];
			out[o++] = hex[p[i] & 15];
			l = 1;
		}
		i += l;
	}
	out[o] = '\0';
	return o;
}

json_t *
wt_json_bytes(const uint8_t *p, size_t n)
{
	char small[512];
	char *buf = small;
	size_t cap = n * 4 + 1;
	json_t *s;

	/* Most wire text is plain printable ASCII: no escaping, no copy. */
	{
		size_t i;
		for (i = 0; i < n; i++)
			if (p[i] < 0x20 || p[i] >= 0x7f)
				break;
		if (i == n) {
			s = json_stringn(n ? (const char *)p : "", n);
			return s ? s : json_null();
		}
	}
	if (cap > sizeof small) {
		buf = malloc(cap);
		if (!buf)
			return json_null();
	}
	wt_escape_bytes(p, n, buf, cap);
	s = json_string(buf);
	if (buf != small)
		free(buf);
	return s ? s : json_null();
}
