/* \summary: `wiretale grade`: grade a class's homework traces against a rubric */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "grade/grade.h"

#define MAX_SUBMISSIONS 100000
#define MAX_FILES_PER_SUBMISSION 64

static void
grade_help(void)
{
	printf("Usage: wiretale grade --rubric RUBRIC [OPTIONS] SUBMISSION...\n"
	       "Grade homework traces: run the analysis of each student's capture and\n"
	       "evaluate the rubric's checks and questions on it, pointing at frame numbers.\n\n"
	       "A SUBMISSION is:\n"
	       "  - a capture file (the student id is its name without the extension);\n"
	       "  - a student's folder (the id is the folder's name) holding the capture(s)\n"
	       "    (*.pcap, *.pcapng, *.cap; several are read in name order as one trace)\n"
	       "    and optionally answers.json ({\"q1\": \"15\", ...}) or answers.csv\n"
	       "    (question,answer lines);\n"
	       "  - a class folder (one with sub-folders and no answers file): every\n"
	       "    sub-folder and capture file in it, in name order.\n\n"
	       "Options:\n"
	       "  -r, --rubric FILE         the rubric (JSON; see docs/grading.md)\n"
	       "  -F, --format text|json    a report per student (default) or one JSON document\n"
	       "  -g, --gradebook FILE.csv  also write one row per student: id, total, points\n"
	       "                            per criterion in rubric order (with a header row)\n"
	       "  -k, --key                 print the answer key computed from each student's\n"
	       "                            own trace instead of the report (JSON: always included)\n"
	       "  -j, --jobs N              grade N submissions at once (default: one per CPU)\n"
	       "  -h, --help                this help\n\n"
	       "A submission that cannot be read gets zero points with the reason; the others\n"
	       "are still graded and the exit status stays 0.  Possible copies (traces sharing\n"
	       "DNS transaction IDs and ports, or conversations) and DNS activity from other\n"
	       "hosts are reported under \"Integrity\".\n\n%s\n%s",
	       wt_common_help, wt_exit_help);
}

/* ------------------------------------------------------------------ */
/* Finding the submissions */

typedef struct subs {
	wt_submission_t *v;
	size_t n, cap;
} subs_t;

static int
has_ext(const char *name, const char *ext)
{
	size_t n = strlen(name), e = strlen(ext);
	return n > e && !strcasecmp(name + n - e, ext);
}

static int
is_capture_name(const char *name)
{
	return has_ext(name, ".pcap") || has_ext(name, ".pcapng") || has_ext(name, ".cap");
}

static int
is_answers_name(const char *name)
{
	return !strcasecmp(name, "answers.json") || !strcasecmp(name, "answers.csv");
}

static char *
join(const char *dir, const char *name)
{
	size_t n = strlen(dir);
	char *p = malloc(n + strlen(name) + 2);
	if (!p)
		return NULL;
	sprintf(p, "%s%s%s", dir, n && dir[n - 1] == '/' ? "" : "/", name);
	return p;
}

static char *
base_name(const char *path)
{
	char *p = strdup(path), *b;
	size_t n;
	if (!p)
		return NULL;
	while ((n = strlen(p)) > 1 && p[n - 1] == '/')
		p[n - 1] = '\0';
	b = strrchr(p, '/');
	b = strdup(b ? b + 1 : p);
	free(p);
	return b;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The visible entries of a folder, sorted (C locale order: deterministic). */
static char **
list_dir(const char *dir, size_t *n, int *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **v = NULL;
	size_t cap = 0;
	*n = 0;
	*err = 0;
	if (!d) {
		*err = errno;
		return NULL;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (*n == cap) {
			char **nv = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof *v);
			if (!nv)
				break;
			v = nv;
		}
		v[*n] = strdup(e->d_name);
		if (v[*n])
			(*n)++;
	}
	closedir(d);
	if (*n)
		qsort(v, *n, sizeof *v, cmp_names);
	return v;
}

static void
free_list(char **v, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static wt_submission_t *
add_sub(subs_t *s, const char *path, char *id)
{
	wt_submission_t *x;
	if (s->n == s->cap) {
		wt_submission_t *nv = realloc(s->v, (s->cap = s->cap ? s->cap * 2 : 16) * sizeof *nv);
		if (!nv) {
			free(id);
			return NULL;
		}
		s->v = nv;
	}
	x = &s->v[s->n++];
	memset(x, 0, sizeof *x);
	x->id = id ? id : strdup("?");
	x->path = strdup(path);
	return x;
}

/* "PATH: what is wrong" */
static void
sub_error(wt_submission_t *x, const char *path, const char *what)
{
	char buf[1024];
	snprintf(buf, sizeof buf, "%s: %s", path, what);
	free(x->error);
	x->error = strdup(buf);
}

static int
is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static void
student_folder(subs_t *s, const char *dir, char **names, size_t n)
{
	wt_submission_t *x = add_sub(s, dir, base_name(dir));
	size_t i;
	if (!x)
		return;
	x->files = calloc(MAX_FILES_PER_SUBMISSION, sizeof *x->files);
	for (i = 0; i < n && x->files; i++) {
		char *p = join(dir, names[i]);
		if (!p)
			continue;
		if (is_answers_name(names[i]) && !x->answers_path && !is_dir(p)) {
			/* answers.json wins over answers.csv (sorted first). */
			x->answers_path = p;
		} else if (is_capture_name(names[i]) && !is_dir(p) &&
			   x->n_files < MAX_FILES_PER_SUBMISSION) {
			x->files[x->n_files++] = p;
		} else {
			free(p);
		}
	}
	if (!x->n_files)
		sub_error(x, dir, "no capture file (*.pcap, *.pcapng, *.cap) in the folder");
}

static void
add_path(subs_t *s, const char *path, int depth)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		wt_submission_t *x = add_sub(s, path, base_name(path));
		if (x)
			sub_error(x, path, strerror(errno));
		return;
	}
	if (S_ISDIR(st.st_mode)) {
		size_t n, i;
		int err, answers = 0, subdirs = 0;
		char **names = list_dir(path, &n, &err);
		if (err) {
			wt_submission_t *x = add_sub(s, path, base_name(path));
			if (x)
				sub_error(x, path, strerror(err));
			return;
		}
		for (i = 0; i < n; i++) {
			char *p = join(path, names[i]);
			if (is_answers_name(names[i]))
				answers = 1;
			else if (p && is_dir(p))
				subdirs = 1;
			free(p);
		}
		if (!answers && subdirs && depth == 0) {
			/* a class folder */
			for (i = 0; i < n; i++) {
				char *p = join(path, names[i]);
				if (p && (is_dir(p) || is_capture_name(names[i])))
					add_path(s, p, depth + 1);
				free(p);
			}
		} else {
			student_folder(s, path, names, n);
		}
		free_list(names, n);
		return;
	}
	{
		char *id = base_name(path), *dot;
		wt_submission_t *x;
		if (id && (dot = strrchr(id, '.')) && dot != id)
			*dot = '\0';
		x = add_sub(s, path, id);
		if (!x)
			return;
		x->files = calloc(1, sizeof *x->files);
		if (x->files) {
			x->files[0] = strdup(path);
			x->n_files = 1;
		}
	}
}

static void
free_subs(subs_t *s)
{
	size_t i, j;
	for (i = 0; i < s->n; i++) {
		wt_submission_t *x = &s->v[i];
		for (j = 0; j < x->n_files; j++)
			free(x->files[j]);
		free(x->files);
		free(x->id);
		free(x->path);
		free(x->answers_path);
		free(x->error);
	}
	free(s->v);
}

/* ------------------------------------------------------------------ */
/* Output */

static void
fmt_points(double v, char *out, size_t cap)
{
	if (fabs(v - floor(v + 0.5)) < 1e-9)
		snprintf(out, cap, "%.0f", floor(v + 0.5));
	else {
		size_t n;
		snprintf(out, cap, "%.2f", v);
		n = strlen(out);
		while (n > 0 && out[n - 1] == '0')
			out[--n] = '\0';
	}
}

static const char *
jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static void
print_frames(FILE *out, const json_t *frames)
{
	size_t i;
	json_t *f;
	if (!json_array_size(frames))
		return;
	fprintf(out, "; frame%s ", json_array_size(frames) > 1 ? "s" : "");
	json_array_foreach(frames, i, f)
		fprintf(out, "%s%lld", i ? ", " : "", (long long)json_integer_value(f));
}

static void
print_value(FILE *out, const json_t *v)
{
	size_t i;
	json_t *e;
	if (json_is_string(v))
		fputs(json_string_value(v), out);
	else if (json_is_array(v)) {
		json_array_foreach(v, i, e) {
			fputs(i ? " | " : "", out);
			print_value(out, e);
		}
	} else if (json_is_null(v) || !v) {
		fputs("-", out);
	} else {
		char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		if (s)
			fputs(s, out);
		free(s);
	}
}

static void
text_student(FILE *out, const json_t *st)
{
	char t[32], m[32];
	const json_t *c, *f;
	size_t i;

	fmt_points(json_number_value(json_object_get(st, "total")), t, sizeof t);
	fmt_points(json_number_value(json_object_get(st, "max")), m, sizeof m);
	fprintf(out, "== %s: %s/%s", jstr(st, "id"), t, m);
	if (!strcmp(jstr(st, "status"), "unreadable"))
		fprintf(out, "  NOT GRADED: %s", jstr(st, "reason"));
	fprintf(out, "\n   ");
	json_array_foreach(json_object_get(st, "files"), i, f)
		fprintf(out, " %s", json_string_value(f));
	if (jstr(st, "answers"))
		fprintf(out, "; answers: %s", jstr(st, "answers"));
	else
		fprintf(out, "; no answers file");
	fputc('\n', out);
	json_array_foreach(json_object_get(st, "warnings"), i, f)
		fprintf(out, "    warning: %s\n", json_string_value(f));
	if (!strcmp(jstr(st, "status"), "unreadable")) {
		fputc('\n', out);
		return;
	}
	json_array_foreach(json_object_get(st, "criteria"), i, c) {
		const json_t *ev = json_object_get(c, "evidence");
		fmt_points(json_number_value(json_object_get(c, "points")), t, sizeof t);
		fmt_points(json_number_value(json_object_get(c, "max")), m, sizeof m);
		fprintf(out, "  %s %-14s %3s/%-3s %s\n", json_is_true(json_object_get(c, "passed")) ? "PASS" : "FAIL",
			jstr(c, "id"), t, m, jstr(c, "description"));
		fprintf(out, "       %s", jstr(c, "message"));
		print_frames(out, json_object_get(ev, "frames"));
		fputc('\n', out);
		if (json_object_get(c, "key")) {
			fprintf(out, "       expected: ");
			print_value(out, json_object_get(ev, "expected"));
			fprintf(out, "; answered: ");
			print_value(out, json_object_get(ev, "found"));
			fputc('\n', out);
		} else if (!json_is_null(json_object_get(ev, "found"))) {
			fprintf(out, "       found: ");
			print_value(out, json_object_get(ev, "found"));
			fputc('\n', out);
		}
	}
	json_array_foreach(json_object_get(st, "flags"), i, f)
		fprintf(out, "  FLAG %s: %s\n", jstr(f, "kind"), jstr(f, "message"));
	fputc('\n', out);
}

static void
text_integrity(FILE *out, const json_t *res)
{
	const json_t *integ = json_object_get(res, "integrity"), *p, *e;
	size_t i, j;
	fprintf(out, "== Integrity\n");
	if (!json_array_size(json_object_get(integ, "copies")) &&
	    !json_array_size(json_object_get(integ, "hosts"))) {
		fprintf(out, "  nothing suspicious\n");
		return;
	}
	json_array_foreach(json_object_get(integ, "copies"), i, p) {
		const json_t *items = json_object_get(p, "items");
		fprintf(out, "  POSSIBLE COPY: %s and %s share %lld of %lld and %lld items (similarity %.3f)\n",
			jstr(p, "a"), jstr(p, "b"), (long long)json_integer_value(json_object_get(p, "shared")),
			(long long)json_integer_value(json_array_get(items, 0)),
			(long long)json_integer_value(json_array_get(items, 1)),
			json_number_value(json_object_get(p, "score")));
		json_array_foreach(json_object_get(p, "evidence"), j, e)
			fprintf(out, "      %s\n", json_string_value(e));
	}
	json_array_foreach(json_object_get(integ, "hosts"), i, p) {
		json_array_foreach(json_object_get(p, "flags"), j, e)
			fprintf(out, "  HOST %s: %s\n", jstr(p, "id"), jstr(e, "message"));
	}
}

static void
text_key(FILE *out, const json_t *res)
{
	const json_t *st, *c;
	size_t i, j;
	json_array_foreach(json_object_get(res, "students"), i, st) {
		fprintf(out, "== %s\n", jstr(st, "id"));
		if (!strcmp(jstr(st, "status"), "unreadable")) {
			fprintf(out, "  NOT GRADED: %s\n\n", jstr(st, "reason"));
			continue;
		}
		json_array_foreach(json_object_get(st, "criteria"), j, c) {
			const json_t *ev = json_object_get(c, "evidence");
			if (!json_object_get(c, "key"))
				continue;
			fprintf(out, "  %-12s ", jstr(c, "key"));
			if (json_is_null(json_object_get(ev, "expected")))
				fprintf(out, "(none: %s)", jstr(c, "message"));
			else
				print_value(out, json_object_get(ev, "expected"));
			print_frames(out, json_object_get(ev, "frames"));
			fprintf(out, "  [%s]\n", jstr(c, "description"));
		}
		fputc('\n', out);
	}
}

static void
csv_cell(FILE *out, const char *s)
{
	if (strpbrk(s, ",\"\r\n")) {
		fputc('"', out);
		for (; *s; s++) {
			if (*s == '"')
				fputc('"', out);
			fputc(*s, out);
		}
		fputc('"', out);
	} else {
		fputs(s, out);
	}
}

static int
write_gradebook(const char *path, const wt_rubric_t *r, const json_t *res)
{
	FILE *out = fopen(path, "w");
	const json_t *st, *c;
	size_t i, j;
	char b[32];
	if (!out) {
		fprintf(stderr, "wiretale: %s: cannot write: %s\n", path, strerror(errno));
		return -1;
	}
	fputs("id,total", out);
	for (i = 0; i < wt_rubric_count(r); i++) {
		fputc(',', out);
		csv_cell(out, wt_rubric_id(r, i));
	}
	fputc('\n', out);
	json_array_foreach(json_object_get(res, "students"), i, st) {
		csv_cell(out, jstr(st, "id"));
		fmt_points(json_number_value(json_object_get(st, "total")), b, sizeof b);
		fprintf(out, ",%s", b);
		json_array_foreach(json_object_get(st, "criteria"), j, c) {
			fmt_points(json_number_value(json_object_get(c, "points")), b, sizeof b);
			fprintf(out, ",%s", b);
		}
		fputc('\n', out);
	}
	if (fclose(out) != 0) {
		fprintf(stderr, "wiretale: %s: cannot write: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

static void
progress_line(void *user, size_t done, size_t total)
{
	(void)user;
	fprintf(stderr, "\rwiretale: grading %zu/%zu", done, total);
	if (done == total)
		fprintf(stderr, "\r\033[K");
}

int
wt_cmd_grade(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"rubric", required_argument, NULL, 'r'},
		{"format", required_argument, NULL, 'F'},
		{"gradebook", required_argument, NULL, 'g'},
		{"key", no_argument, NULL, 'k'},
		{"jobs", required_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		WT_COMMON_LONGOPTS,
		{NULL, 0, NULL, 0}};
	wt_options_t o;
	const char *rubric_path = NULL, *format = "text", *gradebook = NULL;
	int key = 0, c, i, rc = WT_EXIT_OK;
	unsigned jobs = 0;
	wt_rubric_t *r;
	char err[1024];
	subs_t subs = {NULL, 0, 0};
	json_t *res;

	wt_options_default(&o);
	o.progress = 1;
	optind = 1;
	while ((c = wt_cli_next_opt(argc, argv, "r:F:g:kj:f:h", longopts, &o)) != -1) {
		switch (c) {
		case WT_CLI_BAD_VALUE:
			return WT_EXIT_USAGE;
		case 'r':
			rubric_path = optarg;
			break;
		case 'F':
			format = optarg;
			break;
		case 'g':
			gradebook = optarg;
			break;
		case 'k':
			key = 1;
			break;
		case 'j': {
			char *end;
			long v;
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || v < 1 || v > 64)
				return wt_cli_usage_error("grade", "--jobs must be 1 to 64, not '%s'", optarg);
			jobs = (unsigned)v;
			break;
		}
		case 'h':
			grade_help();
			return WT_EXIT_OK;
		default:
			return wt_cli_usage_error("grade", "unknown option");
		}
	}
	if (strcmp(format, "text") != 0 && strcmp(format, "json") != 0)
		return wt_cli_usage_error("grade", "--format must be text or json, not '%s'", format);
	if (!rubric_path)
		return wt_cli_usage_error("grade", "no rubric given (--rubric FILE)");
	if (optind >= argc)
		return wt_cli_usage_error("grade", "no submission given");
	if (wt_cli_check_filter(&o) != 0)
		return WT_EXIT_FILTER;
	r = wt_rubric_load_file(rubric_path, err, sizeof err);
	if (!r) {
		fprintf(stderr, "wiretale: invalid rubric: %s\n", err);
		return WT_EXIT_RUBRIC;
	}
	for (i = optind; i < argc && subs.n < MAX_SUBMISSIONS; i++)
		add_path(&subs, argv[i], 0);
	res = wt_grade_class(r, subs.v, subs.n, jobs, &o,
			     o.progress && isatty(STDERR_FILENO) ? progress_line : NULL, NULL);
	if (!res) {
		fprintf(stderr, "wiretale: grade: out of memory\n");
		free_subs(&subs);
		wt_rubric_free(r);
		return WT_EXIT_INTERNAL;
	}
	if (!strcmp(format, "json")) {
		if (json_dumpf(res, stdout, JSON_INDENT(2)) != 0)
			rc = WT_EXIT_OUTPUT;
		fputc('\n', stdout);
	} else if (key) {
		text_key(stdout, res);
	} else {
		const json_t *st;
		size_t k;
		char m[32];
		fmt_points(wt_rubric_max(r), m, sizeof m);
		printf("wiretale grade: %s: %zu submission%s, %s points\n\n",
		       wt_rubric_title(r)[0] ? wt_rubric_title(r) : rubric_path, subs.n,
		       subs.n == 1 ? "" : "s", m);
		json_array_foreach(json_object_get(res, "students"), k, st)
			text_student(stdout, st);
		text_integrity(stdout, res);
	}
	if (gradebook && write_gradebook(gradebook, r, res) != 0)
		rc = WT_EXIT_OUTPUT;
	if (fflush(stdout) != 0 && rc == WT_EXIT_OK)
		rc = WT_EXIT_OUTPUT;
	json_decref(res);
	free_subs(&subs);
	wt_rubric_free(r);
	return rc;
}
