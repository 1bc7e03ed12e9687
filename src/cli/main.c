/* \summary: the wiretale command: dispatch, shared options, `analyze` */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "report/jsonl.h"
#include "report/text.h"

enum { OPT_FLOWS_ONLY = OPT_FIRST_PRIVATE };

const char wt_common_help[] =
	"Analysis options:\n"
	"  -f, --filter EXPR         BPF filter applied to every frame, as tcpdump does\n"
	"      --dns-port P          also treat port P as DNS (repeatable)\n"
	"      --smtp-port P         also treat port P as SMTP (repeatable)\n"
	"      --show-secrets        show passwords and AUTH secrets (redacted by default)\n"
	"      --max-flows N         flows tracked at once (default 262144; the oldest idle is evicted)\n"
	"      --max-flow-buffer B   bytes buffered per TCP direction (default 1048576)\n"
	"      --max-total-buffer B  bytes buffered by all TCP reassembly (default 268435456)\n"
	"      --tcp-timeout S       idle seconds before a TCP connection ends (default 300)\n"
	"      --udp-timeout S       idle seconds before a UDP flow ends (default 60)\n"
	"      --max-fragments N     IP datagrams being reassembled at once (default 1024)\n"
	"      --frag-timeout S      seconds to wait for missing fragments (default 30)\n"
	"      --dns-timeout S       seconds before a DNS query counts as unanswered (default 5)\n"
	"      --no-progress         no progress line on standard error\n";

const char wt_exit_help[] =
	"Exit status:\n"
	"  0  success\n"
	"  1  internal error (out of memory, a bug)\n"
	"  2  usage error (bad option or value)\n"
	"  3  a capture could not be opened, is not a capture file, or is empty\n"
	"  4  a capture is damaged (truncated, impossible frame lengths); everything\n"
	"     decoded before the fault is still reported\n"
	"  5  the BPF filter does not compile\n"
	"  6  the output could not be written\n"
	"  7  live: no such interface\n"
	"  8  live: no permission to capture\n"
	"  9  grade: the rubric is invalid\n";

int
wt_cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "wiretale: %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'wiretale %s --help'.\n", cmd);
	return WT_EXIT_USAGE;
}

static int
parse_u64(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;
	unsigned long long v;
	errno = 0;
	if (!s || *s == '-' || *s == '\0')
		return -1;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

static int
parse_secs(const char *s, double *out)
{
	char *end;
	double v;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !(v > 0) || v > 1e9)
		return -1;
	*out = v;
	return 0;
}

int
wt_cli_common_opt(wt_options_t *o, int opt, const char *arg)
{
	unsigned long long v;
	double d;

	switch (opt) {
	case 'f':
		o->bpf = arg;
		return 1;
	case OPT_DNS_PORT:
	case OPT_SMTP_PORT:
		if (parse_u64(arg, 65535, &v) != 0 || v == 0) {
			fprintf(stderr, "wiretale: bad port '%s'\n", arg);
			return -1;
		}
		if (opt == OPT_DNS_PORT && o->n_dns_ports < 8)
			o->dns_ports[o->n_dns_ports++] = (uint16_t)v;
		else if (opt == OPT_SMTP_PORT && o->n_smtp_ports < 8)
			o->smtp_ports[o->n_smtp_ports++] = (uint16_t)v;
		return 1;
	case OPT_SHOW_SECRETS:
		o->show_secrets = 1;
		return 1;
	case OPT_NO_PROGRESS:
		o->progress = 0;
		return 1;
	case OPT_MAX_FLOWS:
	case OPT_MAX_FLOW_BUFFER:
	case OPT_MAX_TOTAL_BUFFER:
	case OPT_MAX_FRAGMENTS:
		if (parse_u64(arg, 1ull << 40, &v) != 0 || v == 0) {
			fprintf(stderr, "wiretale: bad number '%s'\n", arg);
			return -1;
		}
		if (opt == OPT_MAX_FLOWS)
			o->max_flows = (size_t)v;
		else if (opt == OPT_MAX_FLOW_BUFFER)
			o->max_flow_buffer = (size_t)v;
		else if (opt == OPT_MAX_TOTAL_BUFFER)
			o->max_total_buffer = (size_t)v;
		else
			o->max_fragments = (size_t)v;
		return 1;
	case OPT_TCP_TIMEOUT:
	case OPT_UDP_TIMEOUT:
	case OPT_FRAG_TIMEOUT:
	case OPT_DNS_TIMEOUT:
		if (parse_secs(arg, &d) != 0) {
			fprintf(stderr, "wiretale: bad number of seconds '%s'\n", arg);
			return -1;
		}
		if (opt == OPT_TCP_TIMEOUT)
			o->tcp_idle_timeout = d;
		else if (opt == OPT_UDP_TIMEOUT)
			o->udp_idle_timeout = d;
		else if (opt == OPT_FRAG_TIMEOUT)
			o->frag_timeout = d;
		else
			o->dns_timeout = d;
		return 1;
	default:
		return 0;
	}
}

int
wt_cli_next_opt(int argc, char **argv, const char *shortopts,
		const struct option *longopts, wt_options_t *o)
{
	int c;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		int r = wt_cli_common_opt(o, c, optarg);
		if (r == 0)
			return c;
		if (r < 0)
			return WT_CLI_BAD_VALUE;
	}
	return -1;
}

int
wt_cli_check_filter(const wt_options_t *o)
{
	char err[512];
	if (!o->bpf)
		return 0;
	if (wt_bpf_check(o->bpf, err, sizeof err) != 0) {
		fprintf(stderr, "wiretale: the filter '%s' does not compile: %s\n",
			o->bpf, err);
		return -1;
	}
	return 0;
}

static void
analyze_help(void)
{
	printf("Usage: wiretale analyze [OPTIONS] CAPTURE...\n"
	       "Tell the story of one or more captures (pcap or pcapng; '-' is standard\n"
	       "input; several files are read in order as one continuous trace).\n\n"
	       "Output options:\n"
	       "  -F, --format text|json    a report for people (default) or JSON Lines\n"
	       "  -o, --output FILE         write there instead of standard output\n"
	       "      --flows-only          only the flow layer: flow records and the summary,\n"
	       "                            no dissector (the fastest pass over a capture)\n"
	       "  -h, --help                this help\n\n%s\n%s",
	       wt_common_help, wt_exit_help);
}

int
wt_cmd_analyze(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"format", required_argument, NULL, 'F'},
		{"output", required_argument, NULL, 'o'},
		{"flows-only", no_argument, NULL, OPT_FLOWS_ONLY},
		{"help", no_argument, NULL, 'h'},
		WT_COMMON_LONGOPTS,
		{NULL, 0, NULL, 0}};
	wt_options_t o;
	const char *format = "text", *output = NULL;
	FILE *out = stdout;
	wt_ctx_t *ctx;
	wt_jsonl_t *jl = NULL;
	wt_text_t *tx = NULL;
	int c, rc, wrc = 0;

	wt_options_default(&o);
	o.progress = 1;
	optind = 1;
	while ((c = wt_cli_next_opt(argc, argv, "F:o:f:h", longopts, &o)) != -1) {
		switch (c) {
		case WT_CLI_BAD_VALUE:
			return WT_EXIT_USAGE;
		case 'F':
			format = optarg;
			break;
		case 'o':
			output = optarg;
			break;
		case OPT_FLOWS_ONLY:
			o.no_dissect = 1;
			break;
		case 'h':
			analyze_help();
			return WT_EXIT_OK;
		default:
			return wt_cli_usage_error("analyze", "unknown option");
		}
	}
	if (strcmp(format, "text") != 0 && strcmp(format, "json") != 0)
		return wt_cli_usage_error("analyze", "--format must be text or json, not '%s'", format);
	if (optind >= argc)
		return wt_cli_usage_error("analyze", "no capture file given");
	if (wt_cli_check_filter(&o) != 0)
		return WT_EXIT_FILTER;
	if (output && !(out = fopen(output, "w"))) {
		fprintf(stderr, "wiretale: %s: cannot write: %s\n", output, strerror(errno));
		return WT_EXIT_OUTPUT;
	}
	ctx = wt_ctx_new(&o);
	if (!ctx)
		return WT_EXIT_INTERNAL;
	if (!strcmp(format, "json")) {
		jl = wt_jsonl_new(out, 0);
		wt_ctx_add_sink(ctx, wt_jsonl_record, jl);
	} else {
		tx = wt_text_new(out);
		wt_ctx_add_sink(ctx, wt_text_record, tx);
	}
	rc = wt_run_files(ctx, (const char *const *)argv + optind, (size_t)(argc - optind));
	if (jl)
		wrc = wt_jsonl_finish(jl);
	if (tx)
		wt_text_finish(tx);
	wt_ctx_free(ctx);
	if ((out != stdout && fclose(out) != 0) || (out == stdout && fflush(stdout) != 0) || wrc) {
		if (errno != EPIPE)
			fprintf(stderr, "wiretale: cannot write the output\n");
		return rc ? rc : WT_EXIT_OUTPUT;
	}
	return rc;
}

static void
main_help(void)
{
	printf("Usage: wiretale COMMAND [OPTIONS] ...\n"
	       "wiretale tells the story inside a packet trace: DNS transactions and how\n"
	       "each name was resolved, SMTP/POP3/IMAP sessions and how each message\n"
	       "travelled.\n\n"
	       "Commands:\n"
	       "  analyze CAPTURE...        report on captures (text or JSON Lines)\n"
	       "  follow CAPTURE ...        the reassembled bytes of one TCP stream, or one message\n"
	       "  live -i IFACE             the same story, live from an interface\n"
	       "  diagram CAPTURE ...       a sequence diagram of a resolution or a mail flow\n"
	       "  grade --rubric R SUB...   grade homework traces against a rubric\n\n"
	       "Options:\n"
	       "  -h, --help                this help ('wiretale COMMAND --help' for a command)\n"
	       "  -V, --version             the version\n\n%s",
	       wt_exit_help);
}


int
main(int argc, char **argv)
{
	const char *cmd;
	int (*fn)(int, char **) = NULL;

	/* A closed pipe (| head) ends the run quietly: writes fail with EPIPE
	 * and we stop, instead of dying from SIGPIPE mid-record. */
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2) {
		main_help();
		return WT_EXIT_USAGE;
	}
	cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		main_help();
		return WT_EXIT_OK;
	}
	if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
		printf("wiretale %s\n", WIRETALE_VERSION);
		return WT_EXIT_OK;
	}
	if (!strcmp(cmd, "analyze"))
		fn = wt_cmd_analyze;
	else if (!strcmp(cmd, "follow"))
		fn = wt_cmd_follow;
	else if (!strcmp(cmd, "live"))
		fn = wt_cmd_live;
	else if (!strcmp(cmd, "diagram"))
		fn = wt_cmd_diagram;
	else if (!strcmp(cmd, "grade"))
		fn = wt_cmd_grade;
	if (!fn) {
		fprintf(stderr, "wiretale: '%s' is not a command (or is not built yet).\n"
				"Try 'wiretale --help'.\n", cmd);
		return WT_EXIT_USAGE;
	}
	return fn(argc - 1, argv + 1);
}
