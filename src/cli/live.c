/* \summary: `wiretale live`: the same story from an interface, record by record as it happens */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pcap/pcap.h>

#include "cli/cli.h"
#include "report/jsonl.h"
#include "report/text.h"

enum {
	OPT_DURATION = OPT_FIRST_PRIVATE,
	OPT_PROMISC,
	OPT_LIST
};

#define LIVE_SNAPLEN 262144
#define LIVE_BUFFER (8 << 20)
#define POLL_MS 100

/* What `wiretale live` keeps by default: DNS, mDNS, LLMNR, SMTP, POP3 and
 * IMAP, and IP fragments (a large DNS answer over UDP may be fragmented and
 * only the first fragment carries the ports). */
static const char default_filter[] =
	"port 53 or port 5353 or port 5355 or port 25 or port 465 or port 587 "
	"or port 2525 or port 110 or port 995 or port 143 or port 993 "
	"or (ip and ip[6:2] & 0x1fff != 0) or (ip6 and ip6[6] == 44)";

/* The default filter plus "or port P" for each --dns-port/--smtp-port, so
 * that the extra ports reach the dissectors they were given to. */
static void
make_default_filter(char *buf, size_t len, const wt_options_t *o)
{
	size_t i, n;
	n = (size_t)snprintf(buf, len, "%s", default_filter);
	for (i = 0; i < o->n_dns_ports && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, " or port %u", (unsigned)o->dns_ports[i]);
	for (i = 0; i < o->n_smtp_ports && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, " or port %u", (unsigned)o->smtp_ports[i]);
}

static volatile sig_atomic_t stop_requested;
static pcap_t *live_handle;

static void
on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
	if (live_handle)
		pcap_breakloop(live_handle);
}

typedef struct live {
	wt_ctx_t *ctx;
	pcap_dumper_t *dump;
	int linktype;
	uint64_t count, max_count;
	wt_jsonl_t *jl;
	wt_text_t *tx;
	int out_failed, out_errno;
} live_t;

static void
live_help(void)
{
	printf("Usage: wiretale live -i IFACE [OPTIONS]\n"
	       "       wiretale live --list\n"
	       "Capture from an interface and write each DNS transaction, resolution\n"
	       "chain, mail session and message flow the moment it completes.  Ctrl-C,\n"
	       "SIGTERM, --count or --duration end the run: everything pending is written\n"
	       "(incomplete transactions as such), then a summary with libpcap's counts.\n\n"
	       "  -i, --interface IFACE   the interface ('any' for all, Linux cooked SLL2)\n"
	       "      --list              list the interfaces, like tcpdump -D\n"
	       "  -f, --filter EXPR       BPF filter; replaces the default, which keeps DNS\n"
	       "                          (53, 5353, 5355), SMTP (25, 465, 587, 2525), POP3\n"
	       "                          (110, 995), IMAP (143, 993), IP fragments and\n"
	       "                          the ports given with --dns-port and --smtp-port\n"
	       "  -F, --format text|json  readable lines (default) or JSON Lines, flushed per record\n"
	       "  -w, --write FILE        also write every captured packet to a pcap file\n"
	       "  -c, --count N           stop after N packets\n"
	       "      --duration S        stop after S seconds\n"
	       "  -p, --promisc           put the interface in promiscuous mode\n"
	       "  -h, --help              this help\n\n%s\n%s",
	       wt_common_help, wt_exit_help);
}

static int
list_interfaces(void)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_if_t *all, *d;
	int i = 1;

	if (pcap_findalldevs(&all, err) != 0) {
		fprintf(stderr, "wiretale: live: cannot list interfaces: %s\n", err);
		return WT_EXIT_INTERNAL;
	}
	for (d = all; d; d = d->next, i++) {
		printf("%d.%s", i, d->name);
		if (d->description)
			printf(" (%s)", d->description);
		printf(" [%s%s%s]\n", d->flags & PCAP_IF_UP ? "Up" : "Down",
		       d->flags & PCAP_IF_RUNNING ? ", Running" : "",
		       d->flags & PCAP_IF_LOOPBACK ? ", Loopback" : "");
	}
	pcap_freealldevs(all);
	return WT_EXIT_OK;
}

static void
print_available(void)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_if_t *all, *d;
	if (pcap_findalldevs(&all, err) != 0)
		return;
	fprintf(stderr, "wiretale: available interfaces:");
	for (d = all; d; d = d->next)
		fprintf(stderr, " %s", d->name);
	fprintf(stderr, "\n");
	pcap_freealldevs(all);
}

static void
on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
	live_t *l = (live_t *)user;
	wt_time_t ts;

	ts.sec = h->ts.tv_sec;
	ts.nsec = (uint32_t)h->ts.tv_usec * 1000u;
	if (l->dump)
		pcap_dump((u_char *)l->dump, h, data);
	wt_feed(l->ctx, l->linktype, &ts, h->caplen, h->len, data);
	l->count++;
	if (l->max_count && l->count >= l->max_count) {
		stop_requested = 1;
		pcap_breakloop(live_handle);
	}
}

/* The closed-stdout check, after each record: a failed write stops the
 * run.  A reader that went away (`wiretale live | head`: EPIPE, SIGPIPE
 * being ignored by main) ends it quietly; any other error (a full disk) is
 * reported at the end. */
static void
check_stdout(live_t *l)
{
	if (!ferror(stdout))
		return;
	l->out_failed = 1;
	l->out_errno = errno;
	stop_requested = 1;
	if (live_handle)
		pcap_breakloop(live_handle);
}

static void
json_sink(void *user, json_t *rec)
{
	live_t *l = user;
	if (l->out_failed)
		return;
	wt_jsonl_record(l->jl, rec);
	check_stdout(l);
}

static void
text_sink(void *user, json_t *rec)
{
	live_t *l = user;
	if (l->out_failed)
		return;
	wt_text_record(l->tx, rec);
	check_stdout(l);
}

/* Seconds since T0 on the monotonic clock. */
static double
since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static wt_time_t
wall_now(void)
{
	struct timespec t;
	wt_time_t w;
	clock_gettime(CLOCK_REALTIME, &t);
	w.sec = t.tv_sec;
	w.nsec = (uint32_t)t.tv_nsec;
	return w;
}

int
wt_cmd_live(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"interface", required_argument, NULL, 'i'},
		{"format", required_argument, NULL, 'F'},
		{"write", required_argument, NULL, 'w'},
		{"count", required_argument, NULL, 'c'},
		{"duration", required_argument, NULL, OPT_DURATION},
		{"promisc", no_argument, NULL, 'p'},
		{"list", no_argument, NULL, OPT_LIST},
		{"help", no_argument, NULL, 'h'},
		WT_COMMON_LONGOPTS,
		{NULL, 0, NULL, 0}};
	wt_options_t o;
	const char *iface = NULL, *format = "text", *wfile = NULL;
	double duration = 0, last_expire = 0;
	int promisc = 0, user_filter = 0, c, rc, fd, status = WT_EXIT_OK;
	char err[PCAP_ERRBUF_SIZE], *end;
	char dflt[sizeof default_filter + 16 * 16 * 2];
	struct bpf_program prog;
	struct pcap_stat st;
	struct sigaction sa;
	live_t l;
	pcap_t *p;
	json_t *extra;
	struct timespec t0;

	memset(&l, 0, sizeof l);
	wt_options_default(&o);
	optind = 1;
	while ((c = wt_cli_next_opt(argc, argv, "i:F:w:c:f:ph", longopts, &o)) != -1) {
		switch (c) {
		case WT_CLI_BAD_VALUE:
			return WT_EXIT_USAGE;
		case 'i':
			iface = optarg;
			break;
		case 'F':
			format = optarg;
			break;
		case 'w':
			wfile = optarg;
			break;
		case 'c':
			errno = 0;
			l.max_count = strtoull(optarg, &end, 10);
			if (errno || *end || !l.max_count || *optarg == '-')
				return wt_cli_usage_error("live", "--count wants a positive number");
			break;
		case OPT_DURATION:
			errno = 0;
			duration = strtod(optarg, &end);
			if (errno || *end || !(duration > 0))
				return wt_cli_usage_error("live", "--duration wants a positive number of seconds");
			break;
		case 'p':
			promisc = 1;
			break;
		case OPT_LIST:
			return list_interfaces();
		case 'h':
			live_help();
			return WT_EXIT_OK;
		default:
			return wt_cli_usage_error("live", "unknown option");
		}
	}
	if (optind != argc)
		return wt_cli_usage_error("live", "unexpected argument '%s'", argv[optind]);
	/* libpcap reads "-" as stdout, where the records go. */
	if (wfile && !strcmp(wfile, "-"))
		return wt_cli_usage_error("live", "-w - would mix packets with the records on stdout; give a file");
	if (!iface)
		return wt_cli_usage_error("live", "give an interface with -i (wiretale live --list shows them)");
	if (strcmp(format, "text") && strcmp(format, "json"))
		return wt_cli_usage_error("live", "--format must be text or json");

	p = pcap_create(iface, err);
	if (!p) {
		fprintf(stderr, "wiretale: live: %s: %s\n", iface, err);
		print_available();
		return WT_EXIT_NOIFACE;
	}
	pcap_set_snaplen(p, LIVE_SNAPLEN);
	pcap_set_promisc(p, promisc);
	pcap_set_immediate_mode(p, 1);
	pcap_set_buffer_size(p, LIVE_BUFFER);
	pcap_set_timeout(p, POLL_MS);
	rc = pcap_activate(p);
	if (rc == PCAP_ERROR_NO_SUCH_DEVICE || rc == PCAP_ERROR_IFACE_NOT_UP) {
		fprintf(stderr, "wiretale: live: %s: %s\n", iface,
			rc == PCAP_ERROR_IFACE_NOT_UP ? "the interface is not up" : "no such interface");
		print_available();
		pcap_close(p);
		return WT_EXIT_NOIFACE;
	}
	if (rc == PCAP_ERROR_PERM_DENIED || rc == PCAP_ERROR_PROMISC_PERM_DENIED) {
		fprintf(stderr,
			"wiretale: live: %s: no permission to capture (%s).\n"
			"Capturing needs the CAP_NET_RAW capability%s: run as root, or\n"
			"  setcap cap_net_raw,cap_net_admin=eip \"$(command -v wiretale)\"\n",
			iface, pcap_geterr(p), promisc ? " and CAP_NET_ADMIN for promiscuous mode" : "");
		pcap_close(p);
		return WT_EXIT_PERM;
	}
	if (rc < 0) {
		fprintf(stderr, "wiretale: live: %s: %s\n", iface, pcap_geterr(p));
		pcap_close(p);
		return WT_EXIT_INTERNAL;
	}
	if (rc > 0)
		fprintf(stderr, "wiretale: live: %s: %s\n", iface, pcap_statustostr(rc));
	/* On "any", ask for SLL2: it names the interface of each packet. */
	if (!strcmp(iface, "any"))
		pcap_set_datalink(p, DLT_LINUX_SLL2);
	l.linktype = pcap_datalink(p);

	make_default_filter(dflt, sizeof dflt, &o);
	if (pcap_compile(p, &prog, o.bpf ? o.bpf : dflt, 1,
			 PCAP_NETMASK_UNKNOWN) != 0) {
		fprintf(stderr, "wiretale: live: the filter '%s' does not compile: %s\n",
			o.bpf ? o.bpf : dflt, pcap_geterr(p));
		pcap_close(p);
		return WT_EXIT_FILTER;
	}
	if (pcap_setfilter(p, &prog) != 0) {
		fprintf(stderr, "wiretale: live: cannot set the filter: %s\n", pcap_geterr(p));
		pcap_freecode(&prog);
		pcap_close(p);
		return WT_EXIT_FILTER;
	}
	pcap_freecode(&prog);
	user_filter = o.bpf != NULL;
	o.bpf = NULL; /* applied by the kernel already */

	if (wfile && !(l.dump = pcap_dump_open(p, wfile))) {
		fprintf(stderr, "wiretale: live: %s: %s\n", wfile, pcap_geterr(p));
		pcap_close(p);
		return WT_EXIT_OUTPUT;
	}

	l.ctx = wt_ctx_new(&o);
	if (!l.ctx) {
		pcap_close(p);
		return WT_EXIT_INTERNAL;
	}
	if (!strcmp(format, "json")) {
		l.jl = wt_jsonl_new(stdout, 1);
		wt_ctx_add_sink(l.ctx, json_sink, &l);
	} else {
		l.tx = wt_text_new(stdout);
		if (!l.tx) {
			wt_ctx_free(l.ctx);
			pcap_close(p);
			return WT_EXIT_INTERNAL;
		}
		wt_text_set_streaming(l.tx, 1);
		wt_ctx_add_sink(l.ctx, text_sink, &l);
	}

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL); /* the terminal went away: end as for Ctrl-C */
	live_handle = p;
	fprintf(stderr, "wiretale: listening on %s, link type %s, %s\n", iface,
		pcap_datalink_val_to_name(l.linktype),
		user_filter ? "your filter" : "DNS, SMTP, POP3 and IMAP ports");
	clock_gettime(CLOCK_MONOTONIC, &t0);

	/* Wait here with poll() and read without blocking: in immediate mode
	 * (TPACKET_V2 on Linux) libpcap's own wait goes on polling through its
	 * timeouts without returning while nothing arrives, so the loop would
	 * never see time pass (timeouts, --duration). */
	fd = pcap_get_selectable_fd(p);
	if (fd >= 0 && pcap_setnonblock(p, 1, err) != 0) {
		fprintf(stderr, "wiretale: live: %s: %s\n", iface, err);
		fd = -1;
	}
	while (!stop_requested) {
		int wait_ms = POLL_MS;
		double el = since(&t0);
		wt_time_t now;

		if (duration > 0) {
			if (el >= duration)
				break;
			if ((duration - el) * 1000.0 < wait_ms)
				wait_ms = (int)((duration - el) * 1000.0) + 1;
		}
		if (fd >= 0) {
			struct pollfd pfd;
			pfd.fd = fd;
			pfd.events = POLLIN;
			pfd.revents = 0;
			if (poll(&pfd, 1, wait_ms) < 0 && errno != EINTR) {
				fprintf(stderr, "wiretale: live: %s: poll: %s\n", iface, strerror(errno));
				status = WT_EXIT_INTERNAL;
				break;
			}
		}
		/* The clock is read before the ring is drained: every packet
		 * stamped before NOW is then decoded before anything expires at
		 * NOW, so an answer that came just in time is never taken for
		 * a timeout (and the run agrees with the analysis of its -w
		 * file). */
		now = wall_now();
		rc = pcap_dispatch(p, -1, on_packet, (u_char *)&l);
		if (rc == PCAP_ERROR) {
			fprintf(stderr, "wiretale: live: %s: %s\n", iface, pcap_geterr(p));
			status = WT_EXIT_INTERNAL;
			break;
		}
		if (l.dump && pcap_dump_flush(l.dump) != 0) {
			fprintf(stderr, "wiretale: live: writing %s: %s\n", wfile, strerror(errno));
			status = WT_EXIT_OUTPUT;
			break;
		}
		/* Time passes even when nothing arrives: transactions, chains and
		 * flows that never complete are emitted when their timeout
		 * expires (by the wall clock, which stamps the packets too), at
		 * most every POLL_MS so that a flood does not pay for it per
		 * batch. */
		el = since(&t0);
		if (el - last_expire >= POLL_MS / 1000.0) {
			wt_expire(l.ctx, &now);
			last_expire = el;
		}
	}

	extra = json_object();
	{
		json_t *lv = json_object();
		memset(&st, 0, sizeof st);
		pcap_stats(p, &st);
		json_object_set_new(lv, "interface", json_string(iface));
		json_object_set_new(lv, "received", json_integer(st.ps_recv));
		json_object_set_new(lv, "dropped", json_integer(st.ps_drop));
		json_object_set_new(lv, "if_dropped", json_integer(st.ps_ifdrop));
		json_object_set_new(extra, "live", lv);
	}
	wt_finish(l.ctx, extra);
	json_decref(extra);
	if (l.jl && wt_jsonl_finish(l.jl) != 0 && !l.out_failed) {
		l.out_failed = 1;
		l.out_errno = errno;
	}
	if (l.tx)
		wt_text_finish(l.tx);
	if (fflush(stdout) != 0 && !l.out_failed) {
		l.out_failed = 1;
		l.out_errno = errno;
	}
	if (l.dump) {
		if (pcap_dump_flush(l.dump) != 0 && status == WT_EXIT_OK) {
			fprintf(stderr, "wiretale: live: writing %s: %s\n", wfile, strerror(errno));
			status = WT_EXIT_OUTPUT;
		}
		pcap_dump_close(l.dump);
	}
	live_handle = NULL;
	pcap_close(p);
	wt_ctx_free(l.ctx);
	if (l.out_failed && l.out_errno != EPIPE && status == WT_EXIT_OK) {
		fprintf(stderr, "wiretale: live: writing the records: %s\n",
			l.out_errno ? strerror(l.out_errno) : "write error");
		status = WT_EXIT_OUTPUT;
	}
	return status;
}
