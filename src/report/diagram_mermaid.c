/* \summary: a sequence model as Mermaid sequenceDiagram text */
#include <stdio.h>
#include <string.h>

#include "report/diagram.h"

/*
 * Mermaid reads a message's text up to the end of the line, but '#' starts
 * a comment and ';' ends a statement, and '<' '>' would be taken for HTML:
 * those are written as Mermaid's entity codes (#35; #59; #lt; #gt;), which
 * it turns back into the characters when it draws.
 */
static void
put_text(FILE *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '#':
			fputs("#35;", out);
			break;
		case ';':
			fputs("#59;", out);
			break;
		case '<':
			fputs("#lt;", out);
			break;
		case '>':
			fputs("#gt;", out);
			break;
		case '\n':
		case '\r':
			fputc(' ', out);
			break;
		default:
			fputc(*s, out);
		}
	}
}

void
wt_diagram_mermaid(FILE *out, const wt_diagram_t *d)
{
	size_t i;
	fputs("sequenceDiagram\n", out);
	if (d->title[0]) {
		fputs("    title ", out);
		put_text(out, d->title);
		fputc('\n', out);
	}
	for (i = 0; i < d->n_p; i++) {
		fprintf(out, "    participant P%zu as ", i + 1);
		put_text(out, d->p[i].label);
		fputc('\n', out);
	}
	for (i = 0; i < d->n_m; i++) {
		const wt_dg_message_t *m = &d->m[i];
		/* ->> a request, -->> (dotted) a response. */
		fprintf(out, "    P%zu%sP%zu: ", m->from + 1, m->reply ? "-->>" : "->>", m->to + 1);
		put_text(out, m->label);
		fputc('\n', out);
	}
	if (d->dropped)
		fprintf(out, "    %%%% %zu more steps were left out (the diagram's caps)\n", d->dropped);
}
