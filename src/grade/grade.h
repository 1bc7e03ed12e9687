/* \summary: grading homework traces: rubrics, checks and questions over the records of one analysis, integrity across a class */
#ifndef WT_GRADE_GRADE_H
#define WT_GRADE_GRADE_H

#include <stddef.h>

#include <jansson.h>

#include "wiretale/wiretale.h"

/*
 * A rubric (docs/grading.md, docs/schema/rubric.schema.json) is a JSON
 * file: {"title", "integrity": {...}, "criteria": [{"id", "points",
 * "description", "check": {"kind", ...}} or {..., "question": {"ask",
 * ...}}]}.  Loading validates every field; an error reads
 * "FILE:LINE: criteria[2].check.kind: unknown check 'dns_transacton'".
 */
typedef struct wt_rubric wt_rubric_t;

wt_rubric_t *wt_rubric_load_file(const char *path, char *err, size_t errlen);
/* name is what error messages call the text (a file name). */
wt_rubric_t *wt_rubric_load_text(const char *name, const char *text,
				 size_t len, char *err, size_t errlen);
void wt_rubric_free(wt_rubric_t *r);

const char *wt_rubric_title(const wt_rubric_t *r);
size_t wt_rubric_count(const wt_rubric_t *r);
const char *wt_rubric_id(const wt_rubric_t *r, size_t i);
double wt_rubric_points(const wt_rubric_t *r, size_t i);
double wt_rubric_max(const wt_rubric_t *r);
/* The criteria as validated (borrowed; read-only, shared by threads). */
const json_t *wt_rubric_criterion(const wt_rubric_t *r, size_t i);
/* The "integrity" object, or NULL. */
const json_t *wt_rubric_integrity(const wt_rubric_t *r);

/*
 * Answers: answers.json ({"q1": "15", "q2": 53, ...}) or answers.csv
 * (question,answer lines; an optional header "question,answer").  Returns
 * an object of strings, or NULL with a message in err.
 */
json_t *wt_answers_load(const char *path, char *err, size_t errlen);

/*
 * Normalises an answer for comparison: trimmed, whitespace collapsed,
 * lower case, surrounding quotes and <> removed, a trailing dot removed
 * (except from ".").
 */
void wt_answer_normalise(const char *in, char *out, size_t cap);

/* How a computed answer is compared with the student's. */
enum wt_answer_mode {
	WT_ANS_TEXT = 0,   /* normalised text; numbers compared as numbers */
	WT_ANS_NUMBER,     /* an integer; "frame 15", "#15", "15." accepted */
	WT_ANS_IP,         /* an IPv4/IPv6 address, compared as an address */
	WT_ANS_REPLY_CLASS /* RFC 5321 4.2.1 reply class, by keyword or by digit */
};

/* 1 if the student's answer matches the expected one. */
int wt_answer_match(const char *expected, const char *given,
		    enum wt_answer_mode mode);

/*
 * Grades the records of one analysis (an array of records, as the sinks
 * see them) against the rubric.  answers may be NULL.  Returns
 * {"total","max","criteria":[{"id","description","kind","points","max",
 * "passed","message","evidence":{"frames","expected","found"}}],
 * "key":{"question id": answer or null}}.
 */
json_t *wt_grade_records(const wt_rubric_t *r, const json_t *records,
			 const json_t *answers);

/*
 * Runs the analysis of one submission's captures (read as one trace) and
 * collects its records (flow, dns, resolution, smtp, pop3, imap, mail,
 * summary).  Returns the array, or NULL when nothing could be read, with
 * the reason in reason.  *status is the WT_EXIT_* of the run.
 */
json_t *wt_grade_collect(const char *const *files, size_t n,
			 const wt_options_t *o, int *status, char *reason,
			 size_t reasonlen);

/*
 * Integrity.  A fingerprint is the sorted set of a trace's DNS
 * transactions as "dns id/client port/qname/qtype" and of its TCP and UDP
 * conversations as "transport/client port/server port/bytes/bytes": two
 * students do not share one by chance, timestamps play no part, so a
 * trace copied and shifted in time keeps all of them.
 */
json_t *wt_grade_fingerprint(const json_t *records);
/*
 * ids and fps are parallel arrays (fps[i] a fingerprint or null).  Pairs
 * sharing at least min_shared items are reported as
 * {"a","b","score","shared","evidence":[first shared items]}, score being
 * |A∩B| / |A∪B|; sorted by a's then b's position.
 */
json_t *wt_grade_copies(const json_t *ids, const json_t *fps,
			size_t min_shared);
/*
 * Whose DNS activity this is: the clients of the resolution chains (the
 * hosts that asked, not the resolvers working for them).  declared is the
 * student's declared address, or NULL (then the rubric's, if any).
 * Returns an array of flag objects {"kind","message","clients"} (empty
 * when nothing is wrong).
 */
json_t *wt_grade_host_check(const wt_rubric_t *r, const json_t *records,
			    const char *declared);

/* One student's work. */
typedef struct wt_submission {
	char *id;           /* folder name or file stem */
	char *path;         /* as given */
	char **files;       /* captures, read in this order as one trace */
	size_t n_files;
	char *answers_path; /* or NULL */
	char *error;        /* set when the submission cannot be graded at all */
} wt_submission_t;

typedef void (*wt_grade_progress_fn)(void *user, size_t done, size_t total);

/*
 * Grades every submission, using `jobs` threads (0: one per CPU), and
 * returns {"rubric","max","students":[...in submission order...],
 * "integrity":{"copies":[...],"hosts":[...]}}.  A student that cannot be
 * read gets {"status":"unreadable","reason",...,"total":0}.  The result
 * does not depend on the number of threads.
 */
json_t *wt_grade_class(const wt_rubric_t *r, const wt_submission_t *subs,
		       size_t n, unsigned jobs, const wt_options_t *o,
		       wt_grade_progress_fn progress, void *user);

#endif /* WT_GRADE_GRADE_H */
