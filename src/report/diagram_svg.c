/* \summary: a sequence model as a self-contained SVG document */
#include <stdio.h>
#include <string.h>

#include "report/diagram.h"

/*
 * Drawn by hand so the picture needs nothing but a browser: a box per
 * participant at the top and the bottom, a dashed lifeline between them,
 * and one arrow per message from top to bottom in frame order, its label
 * above it.  Requests are solid with a filled head, responses dashed with
 * an open head, as in UML and Mermaid.  Widths come from the label lengths
 * (about 6.4 px per character at 12 px sans-serif), so labels do not overlap
 * the neighbouring lifelines.
 */

#define MARGIN 20
#define TITLE_H 44
#define BOX_H 36
#define STEP_H 38
#define CHAR_W 6.4
#define COL_MIN 170.0
#define COL_MAX 520.0

/* Text for XML: the five special characters as entities; control
 * characters (not allowed in XML 1.0) as '?'. */
static void
put_xml(FILE *out, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		switch (c) {
		case '&':
			fputs("&amp;", out);
			break;
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		case '\'':
			fputs("&apos;", out);
			break;
		default:
			if (c < 0x20 && c != '\t')
				fputc('?', out);
			else
				fputc((int)c, out);
		}
	}
}

/* Characters, not bytes: UTF-8 continuation bytes do not count. */
static size_t
text_len(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

void
wt_diagram_svg(FILE *out, const wt_diagram_t *d)
{
	double col = COL_MIN, w, h, y;
	size_t i;
	size_t n_p = d->n_p ? d->n_p : 1;

	for (i = 0; i < d->n_p; i++) {
		double need = (double)text_len(d->p[i].label) * CHAR_W + 24;
		if (need > col)
			col = need;
	}
	for (i = 0; i < d->n_m; i++) {
		const wt_dg_message_t *m = &d->m[i];
		size_t span = m->from > m->to ? m->from - m->to : m->to - m->from;
		double need = ((double)text_len(m->label) * CHAR_W + 30) / (double)(span ? span : 1);
		if (need > col)
			col = need;
	}
	if (col > COL_MAX)
		col = COL_MAX;
	w = 2 * MARGIN + col * (double)n_p;
	if (w < (double)text_len(d->title) * 8.0 + 2 * MARGIN)
		w = (double)text_len(d->title) * 8.0 + 2 * MARGIN;
	h = TITLE_H + BOX_H + 24 + STEP_H * (double)d->n_m + 16 + BOX_H + MARGIN;

	fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		     "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
		     "viewBox=\"0 0 %.0f %.0f\" font-family=\"DejaVu Sans, Arial, sans-serif\" font-size=\"12\">\n",
		w, h, w, h);
	fputs("<title>", out);
	put_xml(out, d->title);
	fputs("</title>\n", out);
	fputs("<defs>\n"
	      "<marker id=\"head\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"9\" "
	      "markerHeight=\"9\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#222\"/></marker>\n"
	      "<marker id=\"open\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"9\" "
	      "markerHeight=\"9\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10\" fill=\"none\" "
	      "stroke=\"#222\" stroke-width=\"1.5\"/></marker>\n"
	      "</defs>\n", out);
	fprintf(out, "<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n");
	fprintf(out, "<text class=\"title\" x=\"%.1f\" y=\"%d\" font-size=\"15\" font-weight=\"bold\">", (double)MARGIN, 28);
	put_xml(out, d->title);
	fputs("</text>\n", out);

	/* Participants, top and bottom, and their lifelines. */
	for (i = 0; i < d->n_p; i++) {
		double x = MARGIN + col * ((double)i + 0.5), bw = col - 16;
		double top = TITLE_H, bottom = h - MARGIN - BOX_H;
		int k;
		fprintf(out, "<line class=\"lifeline\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
			     "stroke=\"#999\" stroke-dasharray=\"4,4\"/>\n", x, top + BOX_H, x, bottom);
		for (k = 0; k < 2; k++) {
			double by = k ? bottom : top;
			fprintf(out, "<g class=\"participant\"><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" "
				     "rx=\"4\" fill=\"#eef3fb\" stroke=\"#4a6fa5\"/>"
				     "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">",
				x - bw / 2, by, bw, BOX_H, x, by + BOX_H / 2.0 + 4);
			put_xml(out, d->p[i].label);
			fputs("</text></g>\n", out);
		}
	}

	/* One arrow per message. */
	y = TITLE_H + BOX_H + 24 + STEP_H / 2.0;
	for (i = 0; i < d->n_m; i++, y += STEP_H) {
		const wt_dg_message_t *m = &d->m[i];
		double x1 = MARGIN + col * ((double)m->from + 0.5);
		double x2 = MARGIN + col * ((double)m->to + 0.5);
		const char *dash = m->reply ? " stroke-dasharray=\"6,4\"" : "";
		const char *mk = m->reply ? "open" : "head";
		fprintf(out, "<g class=\"arrow%s\">", m->reply ? " reply" : "");
		if (m->from == m->to) {
			/* To itself: a small loop to the right. */
			fprintf(out, "<path d=\"M%.1f,%.1f h30 v12 h-30\" fill=\"none\" stroke=\"#222\"%s "
				     "marker-end=\"url(#%s)\"/>", x1, y - 6, dash, mk);
			fprintf(out, "<text x=\"%.1f\" y=\"%.1f\">", x1 + 36, y + 2);
		} else {
			fprintf(out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#222\" "
				     "stroke-width=\"1.3\"%s marker-end=\"url(#%s)\"/>", x1, y + 8, x2, y + 8, dash, mk);
			fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", (x1 + x2) / 2, y + 2);
		}
		put_xml(out, m->label);
		fputs("</text></g>\n", out);
	}
	if (d->dropped)
		fprintf(out, "<text x=\"%d\" y=\"%.1f\" fill=\"#a00\">%zu more steps were left out (the diagram's caps)</text>\n",
			MARGIN, h - 4, d->dropped);
	fputs("</svg>\n", out);
}
