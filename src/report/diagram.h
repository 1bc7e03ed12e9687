/* \summary: sequence diagrams of a resolution chain or a mail flow (model, Mermaid, SVG) */
#ifndef WT_REPORT_DIAGRAM_H
#define WT_REPORT_DIAGRAM_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

/*
 * A neutral sequence model built from one "resolution" or "mail" record:
 * participants (one lifeline per host, labelled with what the trace shows
 * it to be: "client 127.0.0.10", "root 127.0.0.2", "mail.a.example
 * 127.0.0.25" ...) and messages in frame order, each with its frame number
 * ("#3 A? www.a.example (RD=0)").  The renderers draw only the model, so
 * Mermaid and SVG show the same steps.
 */
#define WT_DG_MAX_PARTICIPANTS 32
#define WT_DG_MAX_MESSAGES 512
#define WT_DG_LABEL 160

typedef struct wt_dg_participant {
	char key[64];              /* the host's address */
	char label[WT_DG_LABEL];
} wt_dg_participant_t;

typedef struct wt_dg_message {
	size_t from, to;           /* participant indexes */
	int reply;                 /* a response: drawn dashed */
	unsigned long long frame;  /* for ordering; 0 if none */
	char label[WT_DG_LABEL * 2];
} wt_dg_message_t;

typedef struct wt_diagram {
	char title[WT_DG_LABEL * 2];
	wt_dg_participant_t p[WT_DG_MAX_PARTICIPANTS];
	size_t n_p;
	wt_dg_message_t m[WT_DG_MAX_MESSAGES];
	size_t n_m;
	size_t dropped;            /* messages or participants over the caps */
} wt_diagram_t;

/* Builds the model of a "resolution" or "mail" record; NULL for any other
 * record or when out of memory.  Free with free(). */
wt_diagram_t *wt_diagram_from_record(json_t *rec);

/* Mermaid sequenceDiagram text (no Markdown fence). */
void wt_diagram_mermaid(FILE *out, const wt_diagram_t *d);
/* A self-contained SVG document. */
void wt_diagram_svg(FILE *out, const wt_diagram_t *d);

#endif /* WT_REPORT_DIAGRAM_H */
