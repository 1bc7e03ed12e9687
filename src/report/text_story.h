/* \summary: the story blocks of the text report: resolution chains and mail flows */
#ifndef WT_REPORT_TEXT_STORY_H
#define WT_REPORT_TEXT_STORY_H

#include <stdio.h>

#include <jansson.h>

/* One block per "resolution" record (text_story_resolution.c). */
void wt_text_resolution(FILE *out, json_t *rec);
/* One block per "mail" record (text_story_mail.c). */
void wt_text_mail(FILE *out, json_t *rec);
/* Dispatches on "type": "resolution" or "mail"; other types are ignored. */
void wt_text_story(FILE *out, json_t *rec);

#endif /* WT_REPORT_TEXT_STORY_H */
