/* \summary: integrity checks across a class: copied traces, DNS activity from someone else's host */
#include <arpa/inet.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "grade/grade.h"

#define EVIDENCE_MAX 5 /* shared items shown per pair */
#define DEFAULT_MIN_SHARED 2

static const char *
jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static long long
jint(const json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * Items are readable strings so that the evidence can show them as they
 * are.  A DNS transaction is known by its ID, the client's port and the
 * question: 32 random bits (RFC 5452 9.2) and the name; a conversation by
 * its ports and its byte counts each way.  Neither holds a timestamp or
 * an address (a copier may rewrite both with editcap/tcprewrite; the
 * random numbers are what they do not think of).
 */
json_t *
wt_grade_fingerprint(const json_t *records)
{
	size_t i, n = 0, cap = json_array_size(records) * 4 + 64;
	char **items = calloc(cap ? cap : 1, sizeof *items);
	json_t *out = json_array(), *r;

	if (!items || !out) {
		free(items);
		json_decref(out);
		return NULL;
	}
	json_array_foreach(records, i, r) {
		const char *t = jstr(r, "type");
		char buf[512];
		if (!t)
			continue;
		if (!strcmp(t, "dns")) {
			char qn[256];
			size_t k;
			snprintf(qn, sizeof qn, "%s", jstr(r, "qname") ? jstr(r, "qname") : "");
			for (k = 0; qn[k]; k++)
				if (qn[k] >= 'A' && qn[k] <= 'Z')
					qn[k] = (char)(qn[k] - 'A' + 'a');
			snprintf(buf, sizeof buf, "dns id %lld from port %lld: %s %s", jint(r, "id"),
				 jint(json_object_get(r, "client"), "port"), qn,
				 jstr(r, "qtype") ? jstr(r, "qtype") : "?");
		} else if (!strcmp(t, "flow")) {
			const json_t *b = json_object_get(r, "bytes");
			snprintf(buf, sizeof buf, "%s port %lld -> %lld, %lld/%lld bytes",
				 jstr(r, "transport") ? jstr(r, "transport") : "?",
				 jint(json_object_get(r, "client"), "port"),
				 jint(json_object_get(r, "server"), "port"), jint(b, "to_server"),
				 jint(b, "to_client"));
		} else if (!strcmp(t, "smtp")) {
			/* The queue ID an MTA gives a message is made up on
			 * the spot ("250 2.0.0 Ok: queued as 4CA89A72EF0"). */
			json_t *tx;
			size_t k;
			json_array_foreach(json_object_get(r, "transactions"), k, tx) {
				const char *q = jstr(tx, "reply_text");
				q = q ? strstr(q, "queued as ") : NULL;
				if (!q || n >= cap)
					continue;
				snprintf(buf, sizeof buf, "smtp message %s", q);
				items[n] = strdup(buf);
				if (items[n])
					n++;
			}
			continue;
		} else {
			continue;
		}
		if (n >= cap)
			continue;
		items[n] = strdup(buf);
		if (items[n])
			n++;
	}
	qsort(items, n, sizeof *items, cmp_str);
	for (i = 0; i < n; i++) {
		if (!i || strcmp(items[i], items[i - 1]))
			json_array_append_new(out, json_string(items[i]));
	}
	for (i = 0; i < n; i++)
		free(items[i]);
	free(items);
	return out;
}

json_t *
wt_grade_copies(const json_t *ids, const json_t *fps, size_t min_shared)
{
	json_t *out = json_array();
	size_t a, b, n = json_array_size(fps);

	if (!min_shared)
		min_shared = DEFAULT_MIN_SHARED;
	for (a = 0; a < n; a++) {
		const json_t *fa = json_array_get(fps, a);
		if (!json_is_array(fa) || !json_array_size(fa))
			continue;
		for (b = a + 1; b < n; b++) {
			const json_t *fb = json_array_get(fps, b);
			size_t i = 0, j = 0, na, nb, shared = 0;
			json_t *ev;
			if (!json_is_array(fb) || !json_array_size(fb))
				continue;
			na = json_array_size(fa);
			nb = json_array_size(fb);
			ev = json_array();
			/* Both sorted: one merge pass. */
			while (i < na && j < nb) {
				const char *x = json_string_value(json_array_get(fa, i));
				const char *y = json_string_value(json_array_get(fb, j));
				int c = strcmp(x, y);
				if (c == 0) {
					if (shared < EVIDENCE_MAX)
						json_array_append_new(ev, json_string(x));
					shared++;
					i++;
					j++;
				} else if (c < 0) {
					i++;
				} else {
					j++;
				}
			}
			/* Enough shared random numbers, or the very same
			 * (small) trace. */
			if (shared >= min_shared || (shared == na && na == nb)) {
				json_t *p = json_object();
				double score = (double)shared / (double)(na + nb - shared);
				json_object_set_new(p, "a", json_incref(json_array_get(ids, a)));
				json_object_set_new(p, "b", json_incref(json_array_get(ids, b)));
				json_object_set_new(p, "score", json_real(floor(score * 1000 + 0.5) / 1000));
				json_object_set_new(p, "shared", json_integer((json_int_t)shared));
				json_object_set_new(p, "items", json_pack("[ii]", (int)na, (int)nb));
				json_object_set_new(p, "evidence", ev);
				json_array_append_new(out, p);
			} else {
				json_decref(ev);
			}
		}
	}
	return out;
}

static json_t *
flag(const char *kind, json_t *clients, const char *msg)
{
	json_t *f = json_object();
	json_object_set_new(f, "kind", json_string(kind));
	json_object_set_new(f, "message", json_string(msg));
	json_object_set_new(f, "clients", clients);
	return f;
}

static int
same_ip(const char *a, const char *b)
{
	unsigned char x[16], y[16];
	if (inet_pton(AF_INET, a, x) == 1)
		return inet_pton(AF_INET, b, y) == 1 && !memcmp(x, y, 4);
	if (inet_pton(AF_INET6, a, x) == 1)
		return inet_pton(AF_INET6, b, y) == 1 && !memcmp(x, y, 16);
	return !strcasecmp(a, b);
}

json_t *
wt_grade_host_check(const wt_rubric_t *r, const json_t *records, const char *declared)
{
	const json_t *integ = wt_rubric_integrity(r), *rec;
	json_t *flags = json_array(), *clients = json_object(), *list;
	long long maxh = -1;
	size_t i, n;
	const char *k;
	json_t *v;
	char names[400];
	size_t o = 0;

	if (!declared)
		declared = jstr(integ, "student_host");
	if (json_is_integer(json_object_get(integ, "max_client_hosts")))
		maxh = (long long)json_integer_value(json_object_get(integ, "max_client_hosts"));
	if (!declared && maxh < 0) {
		json_decref(clients);
		return flags; /* the rubric asks for no host check */
	}
	/* Who asked: the clients of resolution chains (the resolvers' own
	 * upstream queries are steps of those chains, not questions). */
	json_array_foreach(records, i, rec) {
		const char *t = jstr(rec, "type"), *ip;
		if (!t || strcmp(t, "resolution"))
			continue;
		ip = jstr(json_object_get(rec, "client"), "ip");
		if (!ip)
			continue;
		v = json_object_get(clients, ip);
		json_object_set_new(clients, ip, json_integer(v ? json_integer_value(v) + 1 : 1));
	}
	n = json_object_size(clients);
	if (!n) {
		json_decref(clients);
		return flags;
	}
	list = json_array();
	names[0] = '\0';
	/* jansson keeps insertion order: the order of the trace */
	json_object_foreach(clients, k, v) {
		json_t *c = json_object();
		json_object_set_new(c, "ip", json_string(k));
		json_object_set_new(c, "questions", json_incref(v));
		json_array_append_new(list, c);
		if (o < sizeof names)
			o += (size_t)snprintf(names + o, sizeof names - o, "%s%s (%lld)", o ? ", " : "",
					      k, (long long)json_integer_value(v));
	}
	if (declared) {
		int seen = 0;
		json_object_foreach(clients, k, v)
			if (same_ip(k, declared))
				seen = 1;
		if (!seen) {
			char msg[600];
			snprintf(msg, sizeof msg,
				 "no DNS question comes from the student's host %s; they come from %s",
				 declared, names);
			json_array_append_new(flags, flag("not-own-host", json_incref(list), msg));
		}
	}
	if (maxh > 0 && (long long)n > maxh) {
		char msg[600];
		snprintf(msg, sizeof msg, "DNS questions come from %zu hosts: %s", n, names);
		json_array_append_new(flags, flag("many-hosts", json_incref(list), msg));
	}
	json_decref(list);
	json_decref(clients);
	return flags;
}
