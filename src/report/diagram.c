/* \summary: the sequence model of a resolution chain or a mail flow */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/diagram.h"

/*
 * The textbook draws an iterated resolution as the client, the local
 * resolver, a root, a TLD and an authoritative server with numbered
 * arrows, and the Alice-to-Bob story as two user agents and two mail
 * servers.  We draw the same figures from a record: one lifeline per
 * host the trace shows, one arrow per query, response, transaction or
 * retrieval, each with its frame number so the reader can find it in
 * Wireshark.
 */

static const char *
jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static const char *
jstr_or(json_t *o, const char *k, const char *dflt)
{
	const char *s = jstr(o, k);
	return s ? s : dflt;
}

static long long
jint(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_integer(v) ? (long long)json_integer_value(v) : 0;
}

static const char *
ip_of(json_t *endpoint)
{
	return jstr_or(endpoint, "ip", "?");
}

/* Finds or adds the participant for `key`; the label is set only when it
 * is added.  Returns the index, or (size_t)-1 over the cap. */
static size_t
participant(wt_diagram_t *d, const char *key, const char *label)
{
	size_t i;
	for (i = 0; i < d->n_p; i++)
		if (!strcmp(d->p[i].key, key))
			return i;
	if (d->n_p >= WT_DG_MAX_PARTICIPANTS) {
		d->dropped++;
		return (size_t)-1;
	}
	snprintf(d->p[d->n_p].key, sizeof d->p[d->n_p].key, "%s", key);
	snprintf(d->p[d->n_p].label, sizeof d->p[d->n_p].label, "%s", label);
	return d->n_p++;
}

static void
message(wt_diagram_t *d, size_t from, size_t to, int reply, long long frame,
	const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void
message(wt_diagram_t *d, size_t from, size_t to, int reply, long long frame,
	const char *fmt, ...)
{
	wt_dg_message_t *m;
	va_list ap;
	size_t n;
	if (from == (size_t)-1 || to == (size_t)-1)
		return;
	if (d->n_m >= WT_DG_MAX_MESSAGES) {
		d->dropped++;
		return;
	}
	m = &d->m[d->n_m++];
	m->from = from;
	m->to = to;
	m->reply = reply;
	m->frame = frame > 0 ? (unsigned long long)frame : 0;
	va_start(ap, fmt);
	vsnprintf(m->label, sizeof m->label, fmt, ap);
	va_end(ap);
	/* A label cut by the buffer ends with an ellipsis, not mid-word. */
	n = strlen(m->label);
	if (n == sizeof m->label - 1)
		memcpy(m->label + n - 3, "...", 3);
}

/* Arrows in frame order; a response after the query of the same frame. */
static int
msg_cmp(const void *a, const void *b)
{
	const wt_dg_message_t *x = a, *y = b;
	if (x->frame != y->frame)
		return x->frame < y->frame ? -1 : 1;
	return x->reply - y->reply;
}

static void
sort_messages(wt_diagram_t *d)
{
	/* qsort is not stable: make the order total by the index first. */
	size_t i;
	for (i = 1; i < d->n_m; i++) {
		wt_dg_message_t tmp = d->m[i];
		size_t j = i;
		while (j > 0 && msg_cmp(&d->m[j - 1], &tmp) > 0) {
			d->m[j] = d->m[j - 1];
			j--;
		}
		d->m[j] = tmp;
	}
}

/* Appends "a, b, c" of the answers' data to buf. */
static void
join_answers(char *buf, size_t len, json_t *answers, const char *type)
{
	size_t i, k = strlen(buf);
	json_t *a;
	json_array_foreach(answers, i, a) {
		const char *t = jstr(a, "type"), *v = jstr(a, "data");
		if (!v || (type && t && strcmp(t, type) && strcmp(t, "CNAME")))
			continue;
		if (k < len)
			k += (size_t)snprintf(buf + k, len - k, "%s%s%s%s", k ? ", " : "",
					      type ? "" : (t ? t : ""), type ? "" : " ", v);
	}
}

/* ---- resolution chains ------------------------------------------------ */

static const char *
zone_dot(const char *z, char *buf, size_t len)
{
	if (!z || !*z)
		return "?";
	if (!strcmp(z, "."))
		return ".";
	snprintf(buf, len, "%s%s", z, z[strlen(z) - 1] == '.' ? "" : ".");
	return buf;
}

static void
server_label(char *buf, size_t len, json_t *step)
{
	const char *role = jstr_or(step, "role", "server"), *ip = ip_of(json_object_get(step, "server"));
	char z[300];
	if (!strcmp(role, "recursive resolver"))
		snprintf(buf, len, "resolver %s", ip);
	else if (!strcmp(role, "forwarder"))
		snprintf(buf, len, "forwarder %s", ip);
	else if (!strcmp(role, "root"))
		snprintf(buf, len, "root %s", ip);
	else if (!strcmp(role, "tld"))
		/* a label cut short is still a label */
		snprintf(buf, len, "TLD %.100s %s", zone_dot(jstr(step, "zone"), z, sizeof z), ip);
	else if (!strcmp(role, "authoritative"))
		snprintf(buf, len, "auth %s %s", jstr_or(step, "zone", "?"), ip);
	else
		snprintf(buf, len, "%s %s", role, ip);
}

static void
build_resolution(wt_diagram_t *d, json_t *rec)
{
	json_t *steps = json_object_get(rec, "steps"), *s;
	const char *cip = ip_of(json_object_get(rec, "client"));
	size_t i;
	char label[WT_DG_LABEL];

	snprintf(d->title, sizeof d->title, "Resolution of %s %s for %s (%s, %s)",
		 jstr_or(rec, "qname", "?"), jstr_or(rec, "qtype", "?"), cip,
		 jstr_or(rec, "kind", "?"), jstr_or(rec, "resolver_method", "?"));
	snprintf(label, sizeof label, "client %s", cip);
	participant(d, cip, label);
	/* Servers get their label from the role they played; hosts that only
	 * ask (the resolver as a client of the root) from the step where they
	 * answered, added in the order they appear. */
	json_array_foreach(steps, i, s) {
		server_label(label, sizeof label, s);
		{
			size_t k;
			const char *q = ip_of(json_object_get(s, "querier"));
			json_t *t;
			int found = 0;
			json_array_foreach(steps, k, t) {
				if (!strcmp(ip_of(json_object_get(t, "server")), q)) {
					char l2[WT_DG_LABEL];
					server_label(l2, sizeof l2, t);
					participant(d, q, l2);
					found = 1;
					break;
				}
			}
			if (!found) {
				char l2[WT_DG_LABEL];
				snprintf(l2, sizeof l2, "client %s", q);
				participant(d, q, l2);
			}
		}
		participant(d, ip_of(json_object_get(s, "server")), label);
	}
	json_array_foreach(steps, i, s) {
		const char *q = ip_of(json_object_get(s, "querier")), *sv = ip_of(json_object_get(s, "server"));
		size_t a = participant(d, q, q), b = participant(d, sv, sv);
		const char *outcome = jstr_or(s, "outcome", "?");
		long long qf = jint(s, "query_frame"), rf = jint(s, "response_frame");
		const char *tcp = !strcmp(jstr_or(s, "transport", ""), "tcp") ? " over TCP" : "";
		char r[WT_DG_LABEL * 2] = "";

		message(d, a, b, 0, qf, "#%lld %s? %s (RD=%d)%s%s", qf, jstr_or(s, "qtype", "?"),
			jstr_or(s, "qname", "?"), json_is_true(json_object_get(s, "rd")) ? 1 : 0, tcp,
			json_is_true(json_object_get(s, "nested")) ? " [nested]" : "");
		if (!strcmp(outcome, "timeout") || !rf) {
			message(d, b, a, 1, qf, "no answer (timeout)");
			continue;
		}
		if (!strcmp(outcome, "referral")) {
			json_t *ref = json_object_get(s, "referral"), *ns;
			size_t k, n = 0;
			char z[300];
			n = (size_t)snprintf(r, sizeof r, "referral %s NS",
					     zone_dot(jstr(ref, "zone"), z, sizeof z));
			json_array_foreach(json_object_get(ref, "nameservers"), k, ns) {
				if (n < sizeof r)
					n += (size_t)snprintf(r + n, sizeof r - n, "%s%s", k ? ", " : " ",
							      jstr_or(ns, "name", "?"));
			}
		} else if (!strcmp(outcome, "cname")) {
			snprintf(r, sizeof r, "CNAME %s", jstr_or(s, "cname", "?"));
		} else if (!strcmp(outcome, "answer")) {
			snprintf(r, sizeof r, "answer%s", json_is_true(json_object_get(s, "aa")) ? " (AA)" : "");
			/* The record's answers are those of its question. */
			if (!strcmp(jstr_or(s, "qname", ""), jstr_or(rec, "qname", "-")) &&
			    !strcmp(jstr_or(s, "qtype", ""), jstr_or(rec, "qtype", "-"))) {
				strncat(r, ": ", sizeof r - strlen(r) - 1);
				join_answers(r + strlen(r), sizeof r - strlen(r),
					     json_object_get(rec, "answers"), jstr(rec, "qtype"));
			}
		} else if (!strcmp(outcome, "nxdomain")) {
			snprintf(r, sizeof r, "NXDOMAIN");
		} else if (!strcmp(outcome, "nodata")) {
			snprintf(r, sizeof r, "no data (NOERROR, empty answer)");
		} else {
			snprintf(r, sizeof r, "%s %s", outcome, jstr_or(s, "rcode", ""));
		}
		if (json_is_true(json_object_get(s, "truncated")))
			strncat(r, " (TC: truncated)", sizeof r - strlen(r) - 1);
		message(d, b, a, 1, rf, "#%lld %s", rf, r);
	}
}

/* ---- mail flows ------------------------------------------------------------ */

/* "Alice <alice@a.example>, Bob <bob@b.example>" -> the display name of
 * `addr` (or of the first mailbox when addr is NULL). */
static int
display_name(const char *list, const char *addr, char *out, size_t len)
{
	const char *p = list;
	while (p && *p) {
		const char *lt = strchr(p, '<'), *gt = lt ? strchr(lt, '>') : NULL;
		const char *comma = strchr(p, ',');
		if (!lt || !gt || (comma && comma < lt))
			return 0;
		if (!addr || ((size_t)(gt - lt - 1) == strlen(addr) &&
			      strncasecmp(lt + 1, addr, (size_t)(gt - lt - 1)) == 0)) {
			const char *s = p, *e = lt;
			while (s < e && (isspace((unsigned char)*s) || *s == '"'))
				s++;
			while (e > s && (isspace((unsigned char)e[-1]) || e[-1] == '"'))
				e--;
			if (e <= s)
				return 0;
			snprintf(out, len, "%.*s", (int)(e - s), s);
			return 1;
		}
		p = strchr(gt, ',');
		if (p)
			p++;
	}
	return 0;
}

/* The name the trace gives a host: a server's greeting, the name an A
 * lookup resolved to it, or the name it gave in HELO. */
static const char *
host_name(json_t *hops, const char *ip)
{
	size_t i;
	json_t *h;
	json_array_foreach(hops, i, h) {
		if (!strcmp(jstr_or(h, "protocol", ""), "smtp") &&
		    !strcmp(ip_of(json_object_get(h, "server")), ip) && jstr(h, "server_name"))
			return jstr(h, "server_name");
	}
	json_array_foreach(hops, i, h) {
		size_t k;
		json_t *a;
		if (strcmp(jstr_or(h, "protocol", ""), "dns"))
			continue;
		json_array_foreach(json_object_get(h, "answers"), k, a) {
			const char *t = jstr_or(a, "type", "");
			if ((!strcmp(t, "A") || !strcmp(t, "AAAA")) && !strcmp(jstr_or(a, "data", ""), ip))
				return jstr(a, "name") ? jstr(a, "name") : jstr(h, "qname");
		}
	}
	json_array_foreach(hops, i, h) {
		if (!strcmp(jstr_or(h, "protocol", ""), "smtp") && strcmp(jstr_or(h, "role", ""), "submission") &&
		    !strcmp(ip_of(json_object_get(h, "client")), ip) && jstr(h, "helo"))
			return jstr(h, "helo");
	}
	return NULL;
}

/* The label of the host at `ip`: a user agent when it submitted or
 * retrieved the message, the resolver when it answered lookups, else its
 * name from the trace. */
static void
mail_label(json_t *rec, json_t *hops, const char *ip, char *buf, size_t len)
{
	const char *name;
	char who[96];
	size_t i;
	json_t *h;

	json_array_foreach(hops, i, h) {
		const char *role = jstr_or(h, "role", "");
		if (strcmp(ip_of(json_object_get(h, "client")), ip))
			continue;
		if (!strcmp(role, "submission")) {
			if (display_name(jstr(rec, "from"), NULL, who, sizeof who))
				snprintf(buf, len, "%s's UA %s", who, ip);
			else
				snprintf(buf, len, "user agent %s", ip);
			return;
		}
		if (!strcmp(role, "retrieval")) {
			const char *user = jstr(h, "user");
			if (user && display_name(jstr(rec, "to"), user, who, sizeof who))
				snprintf(buf, len, "%s's UA %s", who, ip);
			else if (user)
				snprintf(buf, len, "UA of %s %s", user, ip);
			else
				snprintf(buf, len, "user agent %s", ip);
			return;
		}
	}
	json_array_foreach(hops, i, h) {
		if (!strcmp(jstr_or(h, "protocol", ""), "dns") &&
		    !strcmp(ip_of(json_object_get(h, "server")), ip)) {
			snprintf(buf, len, "resolver %s", ip);
			return;
		}
	}
	name = host_name(hops, ip);
	if (name)
		snprintf(buf, len, "%s %s", name, ip);
	else
		snprintf(buf, len, "host %s", ip);
}

static void
build_mail(wt_diagram_t *d, json_t *rec)
{
	json_t *hops = json_object_get(rec, "hops"), *h;
	size_t i;
	char label[WT_DG_LABEL];

	snprintf(d->title, sizeof d->title, "Mail %s: %s", jstr_or(rec, "message_id", "(no Message-ID)"),
		 jstr_or(rec, "subject", "(no subject)"));
	/* The author's user agent first, then every host in the order of
	 * the hops. */
	json_array_foreach(hops, i, h) {
		if (!strcmp(jstr_or(h, "role", ""), "submission")) {
			const char *ip = ip_of(json_object_get(h, "client"));
			mail_label(rec, hops, ip, label, sizeof label);
			participant(d, ip, label);
			break;
		}
	}
	json_array_foreach(hops, i, h) {
		const char *ip = ip_of(json_object_get(h, "client"));
		mail_label(rec, hops, ip, label, sizeof label);
		participant(d, ip, label);
		ip = ip_of(json_object_get(h, "server"));
		mail_label(rec, hops, ip, label, sizeof label);
		participant(d, ip, label);
	}
	json_array_foreach(hops, i, h) {
		const char *proto = jstr_or(h, "protocol", "?"), *role = jstr_or(h, "role", "?");
		size_t a = participant(d, ip_of(json_object_get(h, "client")), "?");
		size_t b = participant(d, ip_of(json_object_get(h, "server")), "?");
		long long ff = jint(h, "first_frame"), lf = jint(h, "last_frame");
		long long mf = jint(h, "message_frame"), rf = jint(h, "reply_frame");

		if (!strcmp(proto, "dns")) {
			char r[WT_DG_LABEL * 2] = "";
			json_t *ans = json_object_get(h, "answers");
			message(d, a, b, 0, ff, "#%lld %s? %s (%s)", ff, jstr_or(h, "qtype", "?"),
				jstr_or(h, "qname", "?"), role);
			if (json_array_size(ans))
				join_answers(r, sizeof r, ans, jstr(h, "qtype"));
			else
				snprintf(r, sizeof r, "%s, no answer", jstr_or(h, "rcode", "?"));
			message(d, b, a, 1, lf, "#%lld %s %s", lf, jstr_or(h, "qtype", ""), r);
		} else if (!strcmp(proto, "smtp")) {
			char rc[WT_DG_LABEL] = "", extra[WT_DG_LABEL] = "";
			json_t *rej = json_object_get(h, "rejected_rcpt");
			if (jstr(h, "auth") && jstr(h, "user"))
				snprintf(extra, sizeof extra, ", AUTH %s %s", jstr(h, "auth"), jstr(h, "user"));
			if (json_is_true(json_object_get(h, "tls")))
				strncat(extra, ", TLS", sizeof extra - strlen(extra) - 1);
			message(d, a, b, 0, mf ? mf : ff, "#%lld SMTP %s: message for %zu recipient%s%s (frames %lld-%lld)",
				mf ? mf : ff, role, json_array_size(json_object_get(h, "rcpt")),
				json_array_size(json_object_get(h, "rcpt")) == 1 ? "" : "s", extra, ff, lf);
			if (json_array_size(rej))
				snprintf(rc, sizeof rc, " (%zu recipient%s refused)", json_array_size(rej),
					 json_array_size(rej) == 1 ? "" : "s");
			if (json_is_integer(json_object_get(h, "reply_code"))) {
				char pre[32] = "";
				if (rf)
					snprintf(pre, sizeof pre, "#%lld ", rf);
				message(d, b, a, 1, rf ? rf : (mf ? mf : ff), "%s%lld %s%s", pre,
					jint(h, "reply_code"), jstr_or(h, "reply_text", ""), rc);
			}
		} else {
			const char *P = !strcmp(proto, "imap") ? "IMAP" : "POP3";
			message(d, a, b, 0, ff, "#%lld %s login %s, %s %lld (frames %lld-%lld)", ff, P,
				jstr_or(h, "user", "?"), jstr_or(h, "command", "?"), jint(h, "number"), ff, lf);
			message(d, b, a, 1, mf ? mf : ff, "#%lld the message, %lld bytes", mf ? mf : ff,
				jint(h, "size"));
		}
	}
}

wt_diagram_t *
wt_diagram_from_record(json_t *rec)
{
	const char *type = jstr(rec, "type");
	wt_diagram_t *d;
	if (!type || (strcmp(type, "resolution") && strcmp(type, "mail")))
		return NULL;
	d = calloc(1, sizeof *d);
	if (!d)
		return NULL;
	if (!strcmp(type, "resolution"))
		build_resolution(d, rec);
	else
		build_mail(d, rec);
	sort_messages(d);
	return d;
}
