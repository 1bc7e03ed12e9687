/* \summary: grading a class: one analysis per submission, on every core, merged in submission order */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "grade/grade.h"

#define MAX_JOBS 64

/* The records a grade can use; the rest (warnings) are counted only. */
static const char *const kept_types[] = {
	"dns", "resolution", "smtp", "pop3", "imap", "mail", "flow", "summary", NULL};

typedef struct collector {
	json_t *records;
	size_t warnings;
} collector_t;

static void
collect_record(void *user, json_t *rec)
{
	collector_t *c = user;
	const char *t = json_string_value(json_object_get(rec, "type"));
	size_t i;
	if (!t)
		return;
	if (!strcmp(t, "warning")) {
		c->warnings++;
		return;
	}
	for (i = 0; kept_types[i]; i++)
		if (!strcmp(kept_types[i], t)) {
			json_array_append(c->records, rec);
			return;
		}
}

json_t *
wt_grade_collect(const char *const *files, size_t n, const wt_options_t *o,
		 int *status, char *reason, size_t reasonlen)
{
	wt_options_t opt;
	wt_ctx_t *ctx;
	collector_t c;
	json_t *sum, *f;
	size_t i;

	reason[0] = '\0';
	if (o)
		opt = *o;
	else
		wt_options_default(&opt);
	opt.progress = 0; /* the class has one progress line of its own */
	ctx = wt_ctx_new(&opt);
	if (!ctx) {
		*status = WT_EXIT_INTERNAL;
		snprintf(reason, reasonlen, "out of memory");
		return NULL;
	}
	c.records = json_array();
	c.warnings = 0;
	wt_ctx_add_sink(ctx, collect_record, &c);
	*status = wt_run_files(ctx, files, n);
	wt_ctx_free(ctx);
	/* The summary says which file failed and why. */
	sum = json_array_get(c.records, json_array_size(c.records) - 1);
	json_array_foreach(json_object_get(sum, "files"), i, f) {
		const char *err = json_string_value(json_object_get(f, "error"));
		if (err && !reason[0])
			snprintf(reason, reasonlen, "%s: %s",
				 json_string_value(json_object_get(f, "name")), err);
	}
	if (*status == WT_EXIT_OPEN || *status == WT_EXIT_INTERNAL) {
		if (!reason[0])
			snprintf(reason, reasonlen, "the capture could not be read");
		json_decref(c.records);
		return NULL;
	}
	return c.records;
}

/* ------------------------------------------------------------------ */

static json_t *
zero_criteria(const wt_rubric_t *r, const char *reason)
{
	json_t *a = json_array();
	size_t i;
	for (i = 0; i < wt_rubric_count(r); i++) {
		const json_t *c = wt_rubric_criterion(r, i);
		json_t *o = json_object();
		const json_t *q = json_object_get(c, "question");
		json_object_set_new(o, "id", json_string(wt_rubric_id(r, i)));
		json_object_set_new(o, "description",
				    json_string(json_string_value(json_object_get(c, "description"))
							? json_string_value(json_object_get(c, "description"))
							: ""));
		json_object_set_new(o, "kind", json_string(json_string_value(
			json_object_get(q ? q : json_object_get(c, "check"), q ? "ask" : "kind"))));
		json_object_set_new(o, "points", json_real(0));
		json_object_set_new(o, "max", json_real(wt_rubric_points(r, i)));
		json_object_set_new(o, "passed", json_false());
		json_object_set_new(o, "message", json_string(reason));
		json_object_set_new(o, "evidence", json_pack("{s:[],s:n,s:n}", "frames", "expected", "found"));
		json_array_append_new(a, o);
	}
	return a;
}

typedef struct graded {
	json_t *student;
	json_t *fingerprint; /* or NULL */
} graded_t;

static void
grade_one(const wt_rubric_t *r, const wt_submission_t *s, const wt_options_t *o,
	  graded_t *g)
{
	json_t *st = json_object(), *files = json_array(), *warnings = json_array();
	json_t *answers = NULL, *records = NULL, *res, *flags;
	char reason[1024] = "", err[1024];
	const char *declared = NULL;
	int status = 0;
	size_t i;

	json_object_set_new(st, "id", json_string(s->id));
	json_object_set_new(st, "path", json_string(s->path));
	for (i = 0; i < s->n_files; i++)
		json_array_append_new(files, json_string(s->files[i]));
	json_object_set_new(st, "files", files);
	json_object_set_new(st, "answers", s->answers_path ? json_string(s->answers_path) : json_null());

	if (s->error) {
		snprintf(reason, sizeof reason, "%s", s->error);
	} else {
		records = wt_grade_collect((const char *const *)s->files, s->n_files, o, &status,
					   reason, sizeof reason);
		if (records && status == WT_EXIT_DAMAGED) {
			char w[1100];
			snprintf(w, sizeof w, "the capture is damaged (%s); graded on what could be read",
				 reason[0] ? reason : "truncated");
			json_array_append_new(warnings, json_string(w));
			reason[0] = '\0';
		}
	}
	if (s->answers_path && records) {
		answers = wt_answers_load(s->answers_path, err, sizeof err);
		if (!answers) {
			char w[1100];
			snprintf(w, sizeof w, "%s; every question is graded as unanswered", err);
			json_array_append_new(warnings, json_string(w));
		}
	}
	if (!records) {
		json_object_set_new(st, "status", json_string("unreadable"));
		json_object_set_new(st, "reason", json_string(reason));
		json_object_set_new(st, "total", json_real(0));
		json_object_set_new(st, "max", json_real(wt_rubric_max(r)));
		json_object_set_new(st, "criteria", zero_criteria(r, reason));
		json_object_set_new(st, "key", json_object());
		json_object_set_new(st, "flags", json_array());
		json_object_set_new(st, "warnings", warnings);
		g->student = st;
		g->fingerprint = NULL;
		return;
	}
	res = wt_grade_records(r, records, answers);
	json_object_set_new(st, "status", json_string("graded"));
	json_object_set_new(st, "reason", json_null());
	json_object_set(st, "total", json_object_get(res, "total"));
	json_object_set(st, "max", json_object_get(res, "max"));
	json_object_set(st, "criteria", json_object_get(res, "criteria"));
	json_object_set(st, "key", json_object_get(res, "key"));
	if (answers)
		declared = json_string_value(json_object_get(answers, "student_host"));
	flags = wt_grade_host_check(r, records, declared);
	json_object_set_new(st, "flags", flags);
	json_object_set_new(st, "warnings", warnings);
	g->student = st;
	g->fingerprint = wt_grade_fingerprint(records);
	json_decref(res);
	json_decref(answers);
	json_decref(records);
}

typedef struct pool {
	const wt_rubric_t *r;
	const wt_submission_t *subs;
	size_t n;
	const wt_options_t *o;
	graded_t *out;
	pthread_mutex_t lock;
	size_t next, done;
	wt_grade_progress_fn progress;
	void *user;
} pool_t;

static void *
worker(void *arg)
{
	pool_t *p = arg;
	for (;;) {
		size_t i;
		pthread_mutex_lock(&p->lock);
		i = p->next++;
		pthread_mutex_unlock(&p->lock);
		if (i >= p->n)
			break;
		grade_one(p->r, &p->subs[i], p->o, &p->out[i]);
		pthread_mutex_lock(&p->lock);
		p->done++;
		if (p->progress)
			p->progress(p->user, p->done, p->n);
		pthread_mutex_unlock(&p->lock);
	}
	return NULL;
}

json_t *
wt_grade_class(const wt_rubric_t *r, const wt_submission_t *subs, size_t n,
	       unsigned jobs, const wt_options_t *o, wt_grade_progress_fn progress,
	       void *user)
{
	pool_t p;
	pthread_t th[MAX_JOBS];
	size_t i, started = 0;
	json_t *out, *students, *ids, *fps, *integ, *hosts;
	const json_t *ms;

	if (!jobs) {
		long c = sysconf(_SC_NPROCESSORS_ONLN);
		jobs = c > 0 ? (unsigned)c : 1;
	}
	if (jobs > MAX_JOBS)
		jobs = MAX_JOBS;
	if (jobs > n)
		jobs = n ? (unsigned)n : 1;
	memset(&p, 0, sizeof p);
	p.r = r;
	p.subs = subs;
	p.n = n;
	p.o = o;
	p.progress = progress;
	p.user = user;
	p.out = calloc(n ? n : 1, sizeof *p.out);
	if (!p.out)
		return NULL;
	pthread_mutex_init(&p.lock, NULL);
	/* jansson seeds its hash function on first use; do it before the
	 * threads race for it. */
	json_object_seed(0);
	for (i = 1; i < jobs; i++) {
		if (pthread_create(&th[i], NULL, worker, &p) != 0)
			break;
		started++;
	}
	worker(&p);
	for (i = 1; i <= started; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&p.lock);

	out = json_object();
	students = json_array();
	ids = json_array();
	fps = json_array();
	hosts = json_array();
	for (i = 0; i < n; i++) {
		json_t *st = p.out[i].student;
		json_array_append_new(ids, json_string(subs[i].id));
		json_array_append_new(fps, p.out[i].fingerprint ? p.out[i].fingerprint : json_null());
		if (st && json_array_size(json_object_get(st, "flags"))) {
			json_t *h = json_object();
			json_object_set_new(h, "id", json_string(subs[i].id));
			json_object_set(h, "flags", json_object_get(st, "flags"));
			json_array_append_new(hosts, h);
		}
		json_array_append_new(students, st ? st : json_null());
	}
	integ = json_object();
	ms = json_object_get(wt_rubric_integrity(r), "copy_min_shared");
	json_object_set_new(integ, "copies",
			    wt_grade_copies(ids, fps, ms ? (size_t)json_integer_value(ms) : 0));
	json_object_set_new(integ, "hosts", hosts);
	json_object_set_new(out, "rubric", json_string(wt_rubric_title(r)));
	json_object_set_new(out, "max", json_real(wt_rubric_max(r)));
	json_object_set_new(out, "students", students);
	json_object_set_new(out, "integrity", integ);
	json_decref(ids);
	json_decref(fps);
	free(p.out);
	return out;
}
