/* \summary: unit tests of the sequence diagrams: model, Mermaid text, SVG structure */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/diagram.h"

/* A small iterated resolution as resolve.c emits it. */
static json_t *
resolution(void)
{
	return json_loads(
		"{\"type\":\"resolution\",\"qname\":\"www.a.example\",\"qtype\":\"A\","
		"\"client\":{\"ip\":\"127.0.0.10\",\"port\":39290},\"kind\":\"recursive\","
		"\"resolver\":{\"ip\":\"127.0.0.53\",\"port\":53},\"resolver_method\":\"iterated\","
		"\"steps\":["
		"{\"querier\":{\"ip\":\"127.0.0.10\",\"port\":39290},\"server\":{\"ip\":\"127.0.0.53\",\"port\":53},"
		"\"role\":\"recursive resolver\",\"zone\":null,\"rd\":true,\"outcome\":\"answer\",\"query_frame\":1,"
		"\"response_frame\":8,\"qname\":\"www.a.example\",\"qtype\":\"A\",\"transport\":\"udp\"},"
		"{\"querier\":{\"ip\":\"127.0.0.53\",\"port\":1111},\"server\":{\"ip\":\"127.0.0.2\",\"port\":53},"
		"\"role\":\"root\",\"zone\":\".\",\"rd\":false,\"outcome\":\"referral\",\"query_frame\":2,"
		"\"response_frame\":3,\"qname\":\"www.a.example\",\"qtype\":\"A\",\"transport\":\"udp\","
		"\"referral\":{\"zone\":\"example\",\"nameservers\":[{\"name\":\"ns1.nic.example\"}]}},"
		"{\"querier\":{\"ip\":\"127.0.0.53\",\"port\":1112},\"server\":{\"ip\":\"127.0.0.3\",\"port\":53},"
		"\"role\":\"tld\",\"zone\":\"example\",\"rd\":false,\"outcome\":\"referral\",\"query_frame\":4,"
		"\"response_frame\":5,\"qname\":\"www.a.example\",\"qtype\":\"A\",\"transport\":\"udp\","
		"\"referral\":{\"zone\":\"a.example\",\"nameservers\":[{\"name\":\"ns1.a.example\"}]}},"
		"{\"querier\":{\"ip\":\"127.0.0.53\",\"port\":1113},\"server\":{\"ip\":\"127.0.0.31\",\"port\":53},"
		"\"role\":\"authoritative\",\"zone\":\"a.example\",\"rd\":false,\"outcome\":\"answer\",\"aa\":true,"
		"\"query_frame\":6,\"response_frame\":7,\"qname\":\"www.a.example\",\"qtype\":\"A\",\"transport\":\"udp\"}],"
		"\"answers\":[{\"name\":\"www.a.example\",\"type\":\"A\",\"class\":\"IN\",\"ttl\":3600,\"data\":\"127.0.0.80\"}],"
		"\"rcode\":\"NOERROR\"}",
		0, NULL);
}

/* A small mail flow: submission, MX lookup, relay, POP3 retrieval. */
static json_t *
mail(void)
{
	return json_loads(
		"{\"type\":\"mail\",\"message_id\":\"<lunch-0001@a.example>\",\"from\":\"Alice <alice@a.example>\","
		"\"to\":\"Bob <bob@b.example>\",\"subject\":\"Lunch; & <friends>\",\"hops\":["
		"{\"protocol\":\"smtp\",\"role\":\"submission\",\"client\":{\"ip\":\"127.0.0.11\",\"port\":1},"
		"\"server\":{\"ip\":\"127.0.0.25\",\"port\":587},\"first_frame\":13,\"last_frame\":42,\"message_frame\":37,"
		"\"reply_frame\":38,\"reply_code\":250,\"reply_text\":\"2.0.0 Ok: queued as 4CA89A72EF0\","
		"\"server_name\":\"mail.a.example\",\"rcpt\":[\"bob@b.example\"],\"rejected_rcpt\":[],"
		"\"auth\":\"PLAIN\",\"user\":\"alice@a.example\"},"
		"{\"protocol\":\"dns\",\"role\":\"mx-lookup\",\"client\":{\"ip\":\"127.0.0.25\",\"port\":2},"
		"\"server\":{\"ip\":\"127.0.0.53\",\"port\":53},\"first_frame\":44,\"last_frame\":49,\"qname\":\"b.example\","
		"\"qtype\":\"MX\",\"answers\":[{\"name\":\"b.example\",\"type\":\"MX\",\"data\":\"10 mail.b.example\"}]},"
		"{\"protocol\":\"smtp\",\"role\":\"relay\",\"client\":{\"ip\":\"127.0.0.25\",\"port\":3},"
		"\"server\":{\"ip\":\"127.0.0.26\",\"port\":25},\"first_frame\":54,\"last_frame\":73,\"message_frame\":70,"
		"\"reply_frame\":71,\"reply_code\":250,\"reply_text\":\"2.0.0 Ok\",\"server_name\":\"mail.b.example\","
		"\"rcpt\":[\"bob@b.example\"],\"rejected_rcpt\":[]},"
		"{\"protocol\":\"pop3\",\"role\":\"retrieval\",\"client\":{\"ip\":\"127.0.0.12\",\"port\":4},"
		"\"server\":{\"ip\":\"127.0.0.26\",\"port\":110},\"first_frame\":131,\"last_frame\":159,"
		"\"message_frame\":152,\"command\":\"RETR\",\"number\":1,\"user\":\"bob@b.example\",\"size\":1077}]}",
		0, NULL);
}

static char *
render(wt_diagram_t *d, int svg, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	cr_assert(f);
	if (svg)
		wt_diagram_svg(f, d);
	else
		wt_diagram_mermaid(f, d);
	fclose(f);
	return buf;
}

static size_t
count(const char *hay, const char *needle)
{
	size_t n = 0;
	const char *p = hay;
	while ((p = strstr(p, needle))) {
		n++;
		p += strlen(needle);
	}
	return n;
}

Test(diagram, resolution_model)
{
	json_t *r = resolution();
	wt_diagram_t *d = wt_diagram_from_record(r);
	cr_assert(d);
	cr_assert_eq(d->n_p, 5);
	cr_expect_str_eq(d->p[0].label, "client 127.0.0.10");
	cr_expect_str_eq(d->p[1].label, "resolver 127.0.0.53");
	cr_expect_str_eq(d->p[2].label, "root 127.0.0.2");
	cr_expect_str_eq(d->p[3].label, "TLD example. 127.0.0.3");
	cr_expect_str_eq(d->p[4].label, "auth a.example 127.0.0.31");
	/* Eight arrows in frame order: 1 2 3 4 5 6 7 8. */
	cr_assert_eq(d->n_m, 8);
	for (size_t i = 0; i < d->n_m; i++)
		cr_expect_eq(d->m[i].frame, i + 1, "arrow %zu has frame %llu", i, d->m[i].frame);
	cr_expect_str_eq(d->m[1].label, "#2 A? www.a.example (RD=0)");
	cr_expect_str_eq(d->m[2].label, "#3 referral example. NS ns1.nic.example");
	cr_expect(d->m[2].reply);
	cr_expect_eq(d->m[2].from, 2);
	cr_expect_eq(d->m[2].to, 1);
	cr_expect_str_eq(d->m[7].label, "#8 answer: 127.0.0.80");
	free(d);
	json_decref(r);
}

Test(diagram, resolution_mermaid)
{
	json_t *r = resolution();
	wt_diagram_t *d = wt_diagram_from_record(r);
	size_t len;
	char *t = render(d, 0, &len);
	cr_expect(strncmp(t, "sequenceDiagram\n", 16) == 0);
	cr_expect(strstr(t, "participant P3 as root 127.0.0.2\n"));
	cr_expect(strstr(t, "participant P4 as TLD example. 127.0.0.3\n"));
	/* '#' would start a Mermaid comment: written as its entity code. */
	cr_expect(strstr(t, "    P2->>P3: #35;2 A? www.a.example (RD=0)\n"), "%s", t);
	cr_expect(strstr(t, "    P3-->>P2: #35;3 referral example. NS ns1.nic.example\n"), "%s", t);
	cr_expect(strstr(t, "    P5-->>P2: #35;7 answer (AA): 127.0.0.80\n"), "%s", t);
	cr_expect_eq(count(t, "->>"), 8);
	free(t);
	free(d);
	json_decref(r);
}

Test(diagram, mail_mermaid)
{
	json_t *r = mail();
	wt_diagram_t *d = wt_diagram_from_record(r);
	size_t len;
	char *t = render(d, 0, &len);
	cr_expect(strstr(t, "participant P1 as Alice's UA 127.0.0.11\n"), "%s", t);
	cr_expect(strstr(t, "as mail.a.example 127.0.0.25\n"), "%s", t);
	cr_expect(strstr(t, "as resolver 127.0.0.53\n"), "%s", t);
	cr_expect(strstr(t, "as mail.b.example 127.0.0.26\n"), "%s", t);
	cr_expect(strstr(t, "as Bob's UA 127.0.0.12\n"), "%s", t);
	/* Every hop, both ways, with its frames. */
	cr_expect(strstr(t, "#35;37 SMTP submission"), "%s", t);
	cr_expect(strstr(t, "#35;38 250 2.0.0 Ok: queued as 4CA89A72EF0"), "%s", t);
	cr_expect(strstr(t, "#35;44 MX? b.example"), "%s", t);
	cr_expect(strstr(t, "#35;49 MX 10 mail.b.example"), "%s", t);
	cr_expect(strstr(t, "#35;70 SMTP relay"), "%s", t);
	cr_expect(strstr(t, "#35;131 POP3 login bob@b.example, RETR 1"), "%s", t);
	cr_expect(strstr(t, "#35;152 the message, 1077 bytes"), "%s", t);
	cr_expect_eq(count(t, "->>"), 8);
	/* ';' ends a Mermaid statement and '<' '>' are HTML: escaped. */
	cr_expect(strstr(t, "title Mail #lt;lunch-0001@a.example#gt;: Lunch#59; & #lt;friends#gt;\n"), "%s", t);
	free(t);
	free(d);
	json_decref(r);
}

Test(diagram, svg_is_well_formed_with_an_arrow_per_step)
{
	json_t *r = mail();
	wt_diagram_t *d = wt_diagram_from_record(r);
	size_t len, i;
	char *t = render(d, 1, &len);
	long depth = 0;
	cr_expect(strstr(t, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
	cr_expect_eq(count(t, "<g class=\"arrow"), d->n_m);
	cr_expect_eq(count(t, "marker-end="), d->n_m);
	cr_expect_eq(count(t, "<g class=\"participant\">"), 2 * d->n_p);
	/* The subject's '&' and '<' are escaped, never raw. */
	cr_expect(strstr(t, "Lunch; &amp; &lt;friends&gt;"));
	cr_expect(!strstr(t, "& <"));
	/* A tiny well-formedness check: tags balance (the script test parses
	 * it with a real XML parser). */
	for (i = 0; i < len; i++) {
		if (t[i] != '<')
			continue;
		if (t[i + 1] == '?' || t[i + 1] == '!')
			continue;
		if (t[i + 1] == '/') {
			depth--;
			continue;
		}
		{
			const char *gt = strchr(t + i, '>');
			cr_assert(gt);
			if (gt[-1] != '/')
				depth++;
		}
	}
	cr_expect_eq(depth, 0, "unbalanced tags: %ld", depth);
	free(t);
	free(d);
	json_decref(r);
}

Test(diagram, other_records_have_no_diagram)
{
	json_t *r = json_pack("{s:s}", "type", "dns");
	cr_expect_null(wt_diagram_from_record(r));
	json_decref(r);
}
