/* \summary: students' answer files (answers.json, answers.csv) and how an answer is compared with the computed one */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grade/rubric_int.h"

#define ANSWERS_MAX_BYTES (1u << 20)
#define ANSWER_MAX 512

void
wt_answer_normalise(const char *in, char *out, size_t cap)
{
	size_t o = 0, n;
	int space = 0;
	const char *p = in;

	if (!cap)
		return;
	while (*p && isspace((unsigned char)*p))
		p++;
	for (; *p && o + 1 < cap; p++) {
		unsigned char c = (unsigned char)*p;
		if (isspace(c)) {
			space = 1;
			continue;
		}
		if (space && o)
			out[o++] = ' ';
		space = 0;
		if (o + 1 < cap)
			out[o++] = (char)tolower(c);
	}
	out[o] = '\0';
	/* Quotes and angle brackets around the whole answer ("udp",
	 * <alice@a.example>) say nothing. */
	while ((n = strlen(out)) >= 2 &&
	       ((out[0] == '"' && out[n - 1] == '"') || (out[0] == '\'' && out[n - 1] == '\'') ||
		(out[0] == '<' && out[n - 1] == '>'))) {
		memmove(out, out + 1, n - 2);
		out[n - 2] = '\0';
	}
	/* A fully qualified name written with its trailing dot is the same
	 * name (RFC 1034 3.1); the root itself stays ".". */
	n = strlen(out);
	if (n > 1 && out[n - 1] == '.')
		out[n - 1] = '\0';
}

/* An integer answer: "15", "015", "15.", "15.0", "frame 15", "#15",
 * "0x1a2b" (DNS IDs are shown in hex by Wireshark). */
static int
parse_number(const char *s, long long *out)
{
	char *end;
	const char *p, *num = NULL;
	int count = 0;
	long long v;

	if (!strncmp(s, "0x", 2)) {
		errno = 0;
		v = strtoll(s + 2, &end, 16);
		if (!errno && end != s + 2 && !*end) {
			*out = v;
			return 0;
		}
		return -1;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (!errno && end != s && (!*end || !strcmp(end, ".") || !strcmp(end, ".0"))) {
		*out = v;
		return 0;
	}
	/* Exactly one run of digits among words ("frame 15", "port 53"). */
	for (p = s; *p; p++) {
		if (isdigit((unsigned char)*p) && (p == s || !isdigit((unsigned char)p[-1]))) {
			if (p > s && (p[-1] == '.' || p[-1] == ','))
				return -1;
			count++;
			num = p;
		}
	}
	if (count != 1)
		return -1;
	errno = 0;
	v = strtoll(num, &end, 10);
	if (errno || (*end && *end != ' ' && *end != ')' && *end != '.'))
		return -1;
	*out = v;
	return 0;
}

static int
parse_ip(const char *s, unsigned char *buf, int *fam)
{
	if (inet_pton(AF_INET, s, buf) == 1) {
		*fam = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, s, buf) == 1) {
		*fam = 6;
		return 0;
	}
	return -1;
}

static int
bool_of(const char *s)
{
	static const char *const yes[] = {"yes", "y", "true", "1", "set", "on", NULL};
	static const char *const no[] = {"no", "n", "false", "0", "not set", "unset", "off", NULL};
	size_t i;
	for (i = 0; yes[i]; i++)
		if (!strcmp(s, yes[i]))
			return 1;
	for (i = 0; no[i]; i++)
		if (!strcmp(s, no[i]))
			return 0;
	return -1;
}

/* A word or phrase of s, not part of a longer word ("ok" is not in "token"). */
static int
has_word(const char *s, const char *w)
{
	size_t n = strlen(w);
	const char *p = s;
	while ((p = strstr(p, w))) {
		int left = p == s || !isalnum((unsigned char)p[-1]);
		int right = !isalnum((unsigned char)p[n]);
		if (left && right)
			return 1;
		p++;
	}
	return 0;
}

/* RFC 5321 4.2.1: the first digit of a reply code says whether the
 * command was accepted (2), needs more input (3), failed for now (4) or
 * failed for good (5).  Students say it in words: the class's name, or
 * what this very code means (4.2.2, 4.2.3).  Returns the class the answer
 * names, 0 if none. */
static int
reply_class_of(const char *s)
{
	static const struct {
		int cls;
		const char *word;
	} words[] = {
		{2, "positive completion"}, {2, "completion"}, {2, "success"}, {2, "successful"},
		{2, "ok"}, {2, "okay"}, {2, "accepted"}, {2, "completed"},
		{3, "positive intermediate"}, {3, "intermediate"}, {3, "continue"},
		{3, "waiting for"}, {3, "more information"},
		{4, "transient negative"}, {4, "transient"}, {4, "temporary"}, {4, "try again"},
		{4, "try later"},
		{5, "permanent negative"}, {5, "permanent"}, {5, "rejected"}, {5, "fatal"},
	};
	size_t i;
	if (s[0] >= '2' && s[0] <= '5' &&
	    (s[1] == '\0' || !strcmp(s + 1, "xx") || !strcmp(s + 1, "yz")))
		return s[0] - '0';
	for (i = 0; i < sizeof words / sizeof words[0]; i++)
		if (has_word(s, words[i].word))
			return words[i].cls;
	return 0;
}

/* Phrases that explain one particular code (RFC 5321 4.2.2, 4.2.3). */
static int
explains_code(const char *s, int code)
{
	static const struct {
		int code;
		const char *word;
	} words[] = {
		{220, "service ready"}, {220, "ready"}, {220, "greeting"}, {220, "banner"},
		{221, "closing"}, {221, "bye"}, {221, "goodbye"},
		{235, "authentication successful"}, {235, "authenticated"},
		{250, "requested mail action okay"}, {250, "queued"},
		{334, "challenge"}, {334, "username"}, {334, "password"},
		{354, "start mail input"}, {354, "start input"}, {354, "send the message"},
		{354, "send the mail"}, {354, "send data"}, {354, "end with"},
		{550, "mailbox unavailable"}, {550, "user unknown"}, {550, "no such user"},
		{550, "not found"},
		{554, "transaction failed"},
	};
	size_t i;
	for (i = 0; i < sizeof words / sizeof words[0]; i++)
		if (words[i].code == code && has_word(s, words[i].word))
			return 1;
	return 0;
}

int
wt_answer_match(const char *expected, const char *given, enum wt_answer_mode mode)
{
	char e[ANSWER_MAX], g[ANSWER_MAX];
	long long ev, gv;

	if (!expected || !given)
		return 0;
	wt_answer_normalise(expected, e, sizeof e);
	wt_answer_normalise(given, g, sizeof g);
	if (!g[0])
		return 0;
	switch ((int)mode) {
	case WT_ANS_NUMBER:
		return parse_number(e, &ev) == 0 && parse_number(g, &gv) == 0 && ev == gv;
	case WT_ANS_IP: {
		unsigned char eb[16], gb[16];
		int ef, gf;
		if (parse_ip(e, eb, &ef) || parse_ip(g, gb, &gf) || ef != gf)
			return 0;
		return !memcmp(eb, gb, ef == 4 ? 4 : 16);
	}
	case WT_ANS_BOOL: {
		int eb = bool_of(e), gb = bool_of(g);
		return eb >= 0 && eb == gb;
	}
	case WT_ANS_REPLY_CLASS: {
		/* expected is the code itself ("354") */
		int code = atoi(e);
		if (code < 200 || code > 599)
			return 0;
		return reply_class_of(g) == code / 100 || explains_code(g, code);
	}
	default:
		if (!strcmp(e, g))
			return 1;
		/* "53" and "53.0", "0015" and "15" */
		{
			char *e1, *g1;
			double a, b;
			errno = 0;
			a = strtod(e, &e1);
			b = strtod(g, &g1);
			if (!errno && e1 != e && g1 != g && !*e1 && !*g1)
				return a == b;
		}
		return 0;
	}
}

/* ------------------------------------------------------------------ */

static char *
slurp(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;
	if (!f) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(ANSWERS_MAX_BYTES + 1);
	if (!buf) {
		fclose(f);
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	n = fread(buf, 1, ANSWERS_MAX_BYTES + 1, f);
	if (ferror(f)) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	if (n > ANSWERS_MAX_BYTES) {
		snprintf(err, errlen, "%s: larger than %u bytes", path, ANSWERS_MAX_BYTES);
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* One CSV field (RFC 4180: quotes, doubled quotes inside). */
static const char *
csv_field(const char *p, char *out, size_t cap)
{
	size_t o = 0;
	if (*p == '"') {
		p++;
		while (*p) {
			if (*p == '"' && p[1] == '"') {
				if (o + 1 < cap)
					out[o++] = '"';
				p += 2;
			} else if (*p == '"') {
				p++;
				break;
			} else {
				if (o + 1 < cap)
					out[o++] = *p;
				p++;
			}
		}
		while (*p && *p != ',' && *p != '\n')
			p++;
	} else {
		while (*p && *p != ',' && *p != '\n' && *p != '\r') {
			if (o + 1 < cap)
				out[o++] = *p;
			p++;
		}
		while (*p == '\r')
			p++;
	}
	out[o] = '\0';
	return p;
}

static json_t *
load_csv(const char *path, const char *text, char *err, size_t errlen)
{
	json_t *ans = json_object();
	const char *p = text;
	int line = 0;
	char q[256], a[ANSWER_MAX], nq[256];

	if (!strncmp(p, "\xef\xbb\xbf", 3)) /* spreadsheets write a BOM */
		p += 3;
	while (*p) {
		line++;
		p = csv_field(p, q, sizeof q);
		a[0] = '\0';
		if (*p == ',')
			p = csv_field(p + 1, a, sizeof a);
		while (*p && *p != '\n')
			p++; /* further columns: comments */
		if (*p == '\n')
			p++;
		wt_answer_normalise(q, nq, sizeof nq);
		if (!nq[0])
			continue;
		if (line == 1 && !strcmp(nq, "question"))
			continue;
		if (json_object_get(ans, q)) {
			snprintf(err, errlen, "%s:%d: question '%s' answered twice", path, line, q);
			json_decref(ans);
			return NULL;
		}
		json_object_set_new(ans, q, json_string(a));
	}
	return ans;
}

static json_t *
load_json(const char *path, const char *text, size_t len, char *err, size_t errlen)
{
	json_error_t je;
	json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je), *ans, *v;
	const char *k;
	if (!doc) {
		snprintf(err, errlen, "%s:%d:%d: not valid JSON: %s", path, je.line, je.column, je.text);
		return NULL;
	}
	if (!json_is_object(doc)) {
		snprintf(err, errlen, "%s: expected an object {\"q1\": \"answer\", ...}", path);
		json_decref(doc);
		return NULL;
	}
	ans = json_object();
	json_object_foreach(doc, k, v) {
		char buf[64];
		if (json_is_string(v)) {
			json_object_set(ans, k, v);
		} else if (json_is_integer(v)) {
			snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
			json_object_set_new(ans, k, json_string(buf));
		} else if (json_is_real(v)) {
			snprintf(buf, sizeof buf, "%.17g", json_real_value(v));
			json_object_set_new(ans, k, json_string(buf));
		} else if (json_is_boolean(v)) {
			json_object_set_new(ans, k, json_string(json_is_true(v) ? "yes" : "no"));
		} else if (!json_is_null(v)) {
			snprintf(err, errlen, "%s: answer '%s' is %s, not a string or a number",
				 path, k, json_is_array(v) ? "an array" : "an object");
			json_decref(ans);
			json_decref(doc);
			return NULL;
		}
	}
	json_decref(doc);
	return ans;
}

json_t *
wt_answers_load(const char *path, char *err, size_t errlen)
{
	size_t len = 0, pl = strlen(path);
	char *text = slurp(path, &len, err, errlen);
	json_t *ans;
	if (!text)
		return NULL;
	if (pl >= 4 && !strcasecmp(path + pl - 4, ".csv"))
		ans = load_csv(path, text, err, errlen);
	else
		ans = load_json(path, text, len, err, errlen);
	free(text);
	return ans;
}
