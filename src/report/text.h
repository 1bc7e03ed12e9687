/* \summary: the text report: one formatter per record type */
#ifndef WT_REPORT_TEXT_H
#define WT_REPORT_TEXT_H

#include <stdio.h>

#include <jansson.h>

/* A text report consumes records (never bytes) and writes them for people.
 * Formatters for each record type live beside this file: text.c (flow,
 * summary, warning), text_dns.c (dns), text_mail.c (smtp, pop3, imap),
 * text_story.c (resolution, mail). */
typedef struct wt_text wt_text_t;

wt_text_t *wt_text_new(FILE *out);
/* Print each record as it arrives (live capture) instead of in sections. */
void wt_text_set_streaming(wt_text_t *t, int on);
/* A wt_record_fn: buffers or prints the record. */
void wt_text_record(void *text, json_t *rec);
/* Prints what was held back (per-capture summaries) and frees. */
void wt_text_finish(wt_text_t *t);

/* One formatter per type; each prints one record. */
void wt_text_dns(FILE *out, json_t *rec);
void wt_text_smtp(FILE *out, json_t *rec);
void wt_text_pop3(FILE *out, json_t *rec);
void wt_text_imap(FILE *out, json_t *rec);

/* Per-capture DNS summary (top names, rcodes, servers, slowest answers),
 * fed with every "dns" record, printed at the end. */
typedef struct wt_dns_summary wt_dns_summary_t;
wt_dns_summary_t *wt_dns_summary_new(void);
void wt_dns_summary_add(wt_dns_summary_t *s, json_t *rec);
void wt_dns_summary_print(FILE *out, wt_dns_summary_t *s);
void wt_dns_summary_free(wt_dns_summary_t *s);

#endif /* WT_REPORT_TEXT_H */
