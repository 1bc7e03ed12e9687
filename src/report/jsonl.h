/* \summary: the JSON Lines writer */
#ifndef WT_REPORT_JSONL_H
#define WT_REPORT_JSONL_H

#include <stdio.h>

#include <jansson.h>

typedef struct wt_jsonl wt_jsonl_t;

/* flush_each: flush after every record (live capture). */
wt_jsonl_t *wt_jsonl_new(FILE *out, int flush_each);
/* A wt_record_fn. */
void wt_jsonl_record(void *w, json_t *rec);
/* Serialises one value into a malloc'd NUL-terminated string (tests). */
char *wt_json_dumps(const json_t *v);
/* Flushes; returns -1 if any write failed (e.g. a closed pipe). */
int wt_jsonl_finish(wt_jsonl_t *w);

#endif /* WT_REPORT_JSONL_H */
