/* \summary: the CLI's commands and the options they share */
#ifndef WT_CLI_CLI_H
#define WT_CLI_CLI_H

#include <getopt.h>

#include "wiretale/wiretale.h"

/* Long options shared by every command that analyses a trace. */
enum {
	OPT_DNS_PORT = 1000,
	OPT_SMTP_PORT,
	OPT_SHOW_SECRETS,
	OPT_MAX_FLOWS,
	OPT_MAX_FLOW_BUFFER,
	OPT_MAX_TOTAL_BUFFER,
	OPT_TCP_TIMEOUT,
	OPT_UDP_TIMEOUT,
	OPT_MAX_FRAGMENTS,
	OPT_FRAG_TIMEOUT,
	OPT_DNS_TIMEOUT,
	OPT_NO_PROGRESS,
	OPT_FIRST_PRIVATE
};

#define WT_COMMON_LONGOPTS                                                  \
	{"filter", required_argument, NULL, 'f'},                          \
	{"dns-port", required_argument, NULL, OPT_DNS_PORT},               \
	{"smtp-port", required_argument, NULL, OPT_SMTP_PORT},             \
	{"show-secrets", no_argument, NULL, OPT_SHOW_SECRETS},             \
	{"max-flows", required_argument, NULL, OPT_MAX_FLOWS},             \
	{"max-flow-buffer", required_argument, NULL, OPT_MAX_FLOW_BUFFER}, \
	{"max-total-buffer", required_argument, NULL, OPT_MAX_TOTAL_BUFFER}, \
	{"tcp-timeout", required_argument, NULL, OPT_TCP_TIMEOUT},         \
	{"udp-timeout", required_argument, NULL, OPT_UDP_TIMEOUT},         \
	{"max-fragments", required_argument, NULL, OPT_MAX_FRAGMENTS},     \
	{"frag-timeout", required_argument, NULL, OPT_FRAG_TIMEOUT},       \
	{"dns-timeout", required_argument, NULL, OPT_DNS_TIMEOUT},         \
	{"no-progress", no_argument, NULL, OPT_NO_PROGRESS}

/* Help text for the shared options. */
extern const char wt_common_help[];
extern const char wt_exit_help[];

/* Applies one shared option; returns 1 if it was one, 0 if not, -1 on a
 * bad value (message printed). */
int wt_cli_common_opt(wt_options_t *o, int opt, const char *arg);
/* getopt_long that applies the shared options itself: returns the next
 * other option, -1 at the end, or WT_CLI_BAD_VALUE after printing why a
 * shared option's value is bad.  Call with optind = 1 first. */
#define WT_CLI_BAD_VALUE (-2)
int wt_cli_next_opt(int argc, char **argv, const char *shortopts,
		    const struct option *longopts, wt_options_t *o);
/* Checks the filter; prints libpcap's message and returns -1 if bad. */
int wt_cli_check_filter(const wt_options_t *o);
/* "wiretale: COMMAND: message" on stderr, returns WT_EXIT_USAGE. */
int wt_cli_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

int wt_cmd_analyze(int argc, char **argv);
int wt_cmd_follow(int argc, char **argv);
int wt_cmd_live(int argc, char **argv);
int wt_cmd_diagram(int argc, char **argv);
int wt_cmd_grade(int argc, char **argv);

#endif /* WT_CLI_CLI_H */
