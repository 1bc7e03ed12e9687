/* \summary: what the grading engine's files share: the check and question kinds of a rubric */
#ifndef WT_GRADE_RUBRIC_INT_H
#define WT_GRADE_RUBRIC_INT_H

#include <jansson.h>

#include "grade/grade.h"

/* What a question's answer is made of, and so how it is compared. */
enum wt_ask_family {
	WT_FAM_DNS,
	WT_FAM_RES,
	WT_FAM_SMTP,
	WT_FAM_MAIL,
	WT_FAM_RETR
};

typedef struct wt_ask_def {
	const char *name;          /* "dns.query_frame" */
	enum wt_ask_family family;
	int mode;                  /* enum wt_answer_mode, or WT_ANS_BOOL */
	const char *what;          /* for the key and the evidence */
} wt_ask_def_t;

/* Yes/no answers (dns.flag). */
#define WT_ANS_BOOL 100

extern const wt_ask_def_t wt_ask_defs[];
extern const size_t wt_n_ask_defs;
const wt_ask_def_t *wt_ask_find(const char *name);

#endif /* WT_GRADE_RUBRIC_INT_H */
