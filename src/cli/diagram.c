/* \summary: `wiretale diagram`: a sequence diagram of a resolution chain or a mail flow */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/story.h"
#include "cli/cli.h"
#include "report/diagram.h"

/*
 * The analyzers are referenced here so that the linker keeps them in the
 * binary: the library is a static archive, and the analyze layer only
 * refers to them weakly while they are written (src/analyze/analyze.c).
 * A diagram without them would be empty.
 */
struct wt_diagram_needs {
	struct wt_resolve *(*resolve)(wt_ctx_t *);
	struct wt_mailflow *(*mailflow)(wt_ctx_t *);
};
extern const struct wt_diagram_needs wt_diagram_needs;
const struct wt_diagram_needs wt_diagram_needs = {wt_resolve_new, wt_mailflow_new};

/* Records kept: at most this many of each kind (a diagram is of one). */
#define DG_MAX_RECORDS 100000

struct collect {
	json_t *resolutions;
	json_t *mails;
	size_t dropped;
};

static void
collect_record(void *user, json_t *rec)
{
	struct collect *c = user;
	const char *type = json_string_value(json_object_get(rec, "type"));
	json_t *into;
	if (!type)
		return;
	if (!strcmp(type, "resolution"))
		into = c->resolutions;
	else if (!strcmp(type, "mail"))
		into = c->mails;
	else
		return;
	if (json_array_size(into) >= DG_MAX_RECORDS) {
		c->dropped++;
		return;
	}
	json_array_append(into, rec);
}

static void
diagram_help(void)
{
	printf("Usage: wiretale diagram [OPTIONS] CAPTURE...\n"
	       "Draw a sequence diagram of how a name was resolved or how a message\n"
	       "travelled, from the trace, with frame numbers on the arrows.\n\n"
	       "Diagram options:\n"
	       "      --resolution N        the Nth resolution chain (from 1, in the order\n"
	       "                            `wiretale analyze -F json` lists them)\n"
	       "      --mail N              the Nth mail flow\n"
	       "                            (neither: every chain and every flow, Mermaid only)\n"
	       "  -F, --format mermaid|svg  Mermaid text for Markdown (default) or an SVG picture\n"
	       "  -o, --output FILE         write there instead of standard output\n"
	       "  -h, --help                this help\n\n%s\n%s",
	       wt_common_help, wt_exit_help);
}

static void
fence(FILE *out, const char *heading, const wt_diagram_t *d)
{
	fprintf(out, "## %s\n\n```mermaid\n", heading);
	wt_diagram_mermaid(out, d);
	fputs("```\n\n", out);
}

/* Everything, Mermaid in one Markdown document. */
static int
draw_all(FILE *out, struct collect *c)
{
	size_t i;
	json_t *r;
	char h[512];

	if (json_array_size(c->resolutions) + json_array_size(c->mails) == 0) {
		fputs("<!-- wiretale: no resolution chain and no mail flow in this capture -->\n", out);
		return 0;
	}
	json_array_foreach(c->resolutions, i, r) {
		wt_diagram_t *d = wt_diagram_from_record(r);
		if (!d)
			return -1;
		snprintf(h, sizeof h, "Resolution %zu: %s %s", i + 1,
			 json_string_value(json_object_get(r, "qname")) ? json_string_value(json_object_get(r, "qname")) : "?",
			 json_string_value(json_object_get(r, "qtype")) ? json_string_value(json_object_get(r, "qtype")) : "?");
		fence(out, h, d);
		free(d);
	}
	json_array_foreach(c->mails, i, r) {
		wt_diagram_t *d = wt_diagram_from_record(r);
		const char *id = json_string_value(json_object_get(r, "message_id"));
		if (!d)
			return -1;
		snprintf(h, sizeof h, "Mail %zu: %s", i + 1, id ? id : "(no Message-ID)");
		fence(out, h, d);
		free(d);
	}
	return 0;
}

static int
parse_index(const char *s, size_t *out)
{
	char *end;
	unsigned long long v;
	errno = 0;
	if (!s || *s < '0' || *s > '9')
		return -1;
	v = strtoull(s, &end, 10);
	if (errno || *end || v == 0 || v > 1000000000ull)
		return -1;
	*out = (size_t)v;
	return 0;
}

int
wt_cmd_diagram(int argc, char **argv)
{
	enum { OPT_RESOLUTION = OPT_FIRST_PRIVATE, OPT_MAIL };
	static const struct option longopts[] = {
		{"resolution", required_argument, NULL, OPT_RESOLUTION},
		{"mail", required_argument, NULL, OPT_MAIL},
		{"format", required_argument, NULL, 'F'},
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		WT_COMMON_LONGOPTS,
		{NULL, 0, NULL, 0}};
	wt_options_t o;
	const char *format = "mermaid", *output = NULL, *kind = NULL;
	size_t index = 0;
	struct collect c;
	FILE *out = stdout;
	wt_ctx_t *ctx;
	int ch, rc, svg;

	wt_options_default(&o);
	o.progress = 0;
	optind = 1;
	while ((ch = wt_cli_next_opt(argc, argv, "F:o:f:h", longopts, &o)) != -1) {
		switch (ch) {
		case WT_CLI_BAD_VALUE:
			return WT_EXIT_USAGE;
		case OPT_RESOLUTION:
		case OPT_MAIL:
			if (kind)
				return wt_cli_usage_error("diagram", "give --resolution or --mail, not both");
			kind = ch == OPT_MAIL ? "mail" : "resolution";
			if (parse_index(optarg, &index) != 0)
				return wt_cli_usage_error("diagram", "--%s wants a number from 1, not '%s'", kind, optarg);
			break;
		case 'F':
			format = optarg;
			break;
		case 'o':
			output = optarg;
			break;
		case 'h':
			diagram_help();
			return WT_EXIT_OK;
		default:
			return wt_cli_usage_error("diagram", "unknown option");
		}
	}
	if (strcmp(format, "mermaid") != 0 && strcmp(format, "svg") != 0)
		return wt_cli_usage_error("diagram", "--format must be mermaid or svg, not '%s'", format);
	svg = !strcmp(format, "svg");
	if (optind >= argc)
		return wt_cli_usage_error("diagram", "no capture file given");
	if (wt_cli_check_filter(&o) != 0)
		return WT_EXIT_FILTER;

	ctx = wt_ctx_new(&o);
	if (!ctx)
		return WT_EXIT_INTERNAL;
	c.resolutions = json_array();
	c.mails = json_array();
	c.dropped = 0;
	wt_ctx_add_sink(ctx, collect_record, &c);
	rc = wt_run_files(ctx, (const char *const *)argv + optind, (size_t)(argc - optind));
	wt_ctx_free(ctx);
	if (rc != WT_EXIT_OK && rc != WT_EXIT_DAMAGED)
		goto done;

	{
		json_t *rec = NULL;
		if (kind) {
			json_t *list = !strcmp(kind, "mail") ? c.mails : c.resolutions;
			if (index > json_array_size(list)) {
				fprintf(stderr, "wiretale: diagram: there %s %zu %s%s in this capture, no number %zu\n",
					json_array_size(list) == 1 ? "is" : "are", json_array_size(list),
					!strcmp(kind, "mail") ? "mail flow" : "resolution chain",
					json_array_size(list) == 1 ? "" : "s", index);
				rc = WT_EXIT_USAGE;
				goto done;
			}
			rec = json_array_get(list, index - 1);
		} else if (svg) {
			/* One picture per file: without a choice, only when there is
			 * exactly one thing to draw. */
			size_t n = json_array_size(c.resolutions) + json_array_size(c.mails);
			if (n != 1) {
				fprintf(stderr, "wiretale: diagram: %zu resolution chains and mail flows in this "
						"capture; choose one with --resolution N or --mail N for an SVG\n", n);
				rc = WT_EXIT_USAGE;
				goto done;
			}
			rec = json_array_size(c.resolutions) ? json_array_get(c.resolutions, 0)
							     : json_array_get(c.mails, 0);
		}
		if (output && !(out = fopen(output, "w"))) {
			fprintf(stderr, "wiretale: %s: cannot write: %s\n", output, strerror(errno));
			out = stdout;
			rc = WT_EXIT_OUTPUT;
			goto done;
		}
		if (rec) {
			wt_diagram_t *d = wt_diagram_from_record(rec);
			if (!d) {
				rc = WT_EXIT_INTERNAL;
				goto done;
			}
			if (svg)
				wt_diagram_svg(out, d);
			else
				wt_diagram_mermaid(out, d);
			free(d);
		} else if (draw_all(out, &c) != 0) {
			rc = WT_EXIT_INTERNAL;
			goto done;
		}
		if (c.dropped)
			fprintf(stderr, "wiretale: diagram: only the first %d records of each kind were kept\n",
				DG_MAX_RECORDS);
	}
done:
	if ((out != stdout && fclose(out) != 0) || (out == stdout && fflush(stdout) != 0)) {
		fprintf(stderr, "wiretale: cannot write the output\n");
		if (rc == WT_EXIT_OK)
			rc = WT_EXIT_OUTPUT;
	}
	json_decref(c.resolutions);
	json_decref(c.mails);
	return rc;
}
