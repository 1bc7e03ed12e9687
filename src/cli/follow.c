/* \summary: `wiretale follow`: one TCP stream's reassembled bytes, or one message as .eml */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"

enum { OPT_STREAM = OPT_FIRST_PRIVATE, OPT_TUPLE, OPT_DIR, OPT_OUT_DIR, OPT_MESSAGE };

typedef struct follow {
	FILE *out;
	int dir;          /* -1 interleaved, 0 client, 1 server */
	int last_dir;
	uint64_t stream;
	const char *out_dir;
	/* --stream all: per-stream files, opened on first data */
	FILE **files;     /* [2 * stream + dir] */
	uint8_t *created; /* the file was written earlier in this run */
	size_t n_files;
	uint64_t gaps;
	int failed;
	/* --tuple: the stream that matches, found in a first pass */
	wt_endpoint_t ta, tb;
	int64_t found;
} follow_t;

static void
follow_help(void)
{
	printf("Usage: wiretale follow CAPTURE (--stream N | --tuple IP:PORT-IP:PORT) [--dir client|server]\n"
	       "       wiretale follow CAPTURE --stream all --out-dir DIR\n"
	       "       wiretale follow CAPTURE --message N [-o FILE]\n"
	       "The reassembled bytes of one TCP connection, like Wireshark's Follow TCP\n"
	       "Stream.  Streams are numbered from 0 in order of their first packet, the\n"
	       "same numbers as Wireshark's tcp.stream and the \"stream\" field of flow records.\n\n"
	       "  --stream N         the stream to follow\n"
	       "  --tuple A-B        the stream between these endpoints (IPv6 as [addr]:port)\n"
	       "  --dir client|server  only that direction's bytes, raw (gaps are left out\n"
	       "                     and reported on standard error); without it, an\n"
	       "                     interleaved readable view with frame numbers\n"
	       "  --stream all --out-dir DIR  every stream N to DIR/N.client and DIR/N.server\n"
	       "  --message N        message N (SMTP, POP3 or IMAP, numbered from 1 as in the\n"
	       "                     \"index\" field of the records) written as an .eml file\n"
	       "  -o, --output FILE  write there instead of standard output\n"
	       "  -f, --filter EXPR  BPF filter, as tcpdump does\n\n%s\n%s",
	       wt_common_help, wt_exit_help);
}

static void
write_readable(FILE *out, const uint8_t *p, size_t n)
{
	size_t i;
	for (i = 0; i < n; i++) {
		uint8_t ch = p[i];
		if (ch == '\n' || ch == '\t' || (ch >= 0x20 && ch < 0x7f))
			fputc(ch, out);
		else if (ch != '\r')
			fputc('.', out);
	}
}

static FILE *
stream_file(follow_t *f, uint64_t stream, int dir)
{
	size_t idx = (size_t)(stream * 2 + (uint64_t)dir);
	if (idx >= f->n_files) {
		size_t n = f->n_files ? f->n_files : 64;
		FILE **q;
		uint8_t *c;
		while (n <= idx)
			n *= 2;
		q = realloc(f->files, n * sizeof *q);
		if (!q)
			return NULL;
		memset(q + f->n_files, 0, (n - f->n_files) * sizeof *q);
		f->files = q;
		c = realloc(f->created, n);
		if (!c)
			return NULL;
		memset(c + f->n_files, 0, n - f->n_files);
		f->created = c;
		f->n_files = n;
	}
	if (!f->files[idx]) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%llu.%s", f->out_dir,
			 (unsigned long long)stream, dir ? "server" : "client");
		/* A flow that continues an ended one (same stream) appends. */
		f->files[idx] = fopen(path, f->created[idx] ? "ab" : "wb");
		f->created[idx] = 1;
		if (!f->files[idx]) {
			fprintf(stderr, "wiretale: %s: %s\n", path, strerror(errno));
			f->failed = 1;
		}
	}
	return f->files[idx];
}

static void
tap(void *user, uint64_t stream, int dir, const uint8_t *data, size_t len,
    uint64_t gap, const wt_pkt_t *pkt)
{
	follow_t *f = user;
	static const char *const name[2] = {"client -> server", "server -> client"};

	if (f->out_dir) {
		FILE *o = stream_file(f, stream, dir);
		if (o && len)
			fwrite(data, 1, len, o);
		return;
	}
	if (gap) {
		f->gaps++;
		fprintf(stderr, "wiretale: stream %llu, %s: %llu bytes missing before frame %llu\n",
			(unsigned long long)stream, name[dir], (unsigned long long)gap,
			(unsigned long long)(pkt ? pkt->frame : 0));
		if (f->dir < 0)
			fprintf(f->out, "\n[%llu bytes missing]\n", (unsigned long long)gap);
		return;
	}
	if (f->dir >= 0) {
		if (dir == f->dir && fwrite(data, 1, len, f->out) != len)
			f->failed = 1;
		return;
	}
	if (dir != f->last_dir) {
		fprintf(f->out, "%s==== frame %llu, %s\n", f->last_dir < 0 ? "" : "\n",
			(unsigned long long)pkt->frame, name[dir]);
		f->last_dir = dir;
	}
	write_readable(f->out, data, len);
}

/* Closes a stream's files when its flow ends, creating empty ones for
 * directions that carried nothing. */
static void
flow_sink(void *user, json_t *rec)
{
	follow_t *f = user;
	const char *type = json_string_value(json_object_get(rec, "type"));
	uint64_t stream;
	int d;

	if (!type || strcmp(type, "flow") != 0 ||
	    strcmp(json_string_value(json_object_get(rec, "transport")), "tcp") != 0)
		return;
	stream = (uint64_t)json_integer_value(json_object_get(rec, "stream"));
	if (f->out_dir) {
		for (d = 0; d < 2; d++) {
			FILE *o = stream_file(f, stream, d);
			if (o) {
				fclose(o);
				f->files[stream * 2 + (uint64_t)d] = NULL;
			}
		}
	} else if (f->dir < 0 && stream == f->stream) {
		json_t *c = json_object_get(rec, "client"), *s = json_object_get(rec, "server");
		fprintf(f->out, "\n==== stream %llu: client %s port %lld, server %s port %lld, frames %lld-%lld\n",
			(unsigned long long)stream,
			json_string_value(json_object_get(c, "ip")),
			(long long)json_integer_value(json_object_get(c, "port")),
			json_string_value(json_object_get(s, "ip")),
			(long long)json_integer_value(json_object_get(s, "port")),
			(long long)json_integer_value(json_object_get(rec, "first_frame")),
			(long long)json_integer_value(json_object_get(rec, "last_frame")));
	}
}

static int
parse_endpoint(const char *s, size_t n, wt_endpoint_t *e)
{
	char buf[128];
	const char *port;
	char *end;
	unsigned long p;

	if (n == 0 || n >= sizeof buf)
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	memset(e, 0, sizeof *e);
	if (buf[0] == '[') {
		char *close = strchr(buf, ']');
		if (!close || close[1] != ':')
			return -1;
		*close = '\0';
		port = close + 2;
		if (inet_pton(AF_INET6, buf + 1, e->ip.a) != 1)
			return -1;
		e->ip.family = 6;
	} else {
		char *colon = strrchr(buf, ':');
		if (!colon)
			return -1;
		*colon = '\0';
		port = colon + 1;
		if (inet_pton(AF_INET, buf, e->ip.a) != 1)
			return -1;
		e->ip.family = 4;
	}
	errno = 0;
	p = strtoul(port, &end, 10);
	if (errno || *end || p > 65535 || end == port)
		return -1;
	e->port = (uint16_t)p;
	return 0;
}

static int
ep_matches(json_t *j, const wt_endpoint_t *e)
{
	char ip[64];
	wt_addr_str(&e->ip, ip, sizeof ip);
	return !strcmp(json_string_value(json_object_get(j, "ip")), ip) &&
	       json_integer_value(json_object_get(j, "port")) == e->port;
}

static void
tuple_sink(void *user, json_t *rec)
{
	follow_t *f = user;
	json_t *c = json_object_get(rec, "client"), *s = json_object_get(rec, "server");
	const char *type = json_string_value(json_object_get(rec, "type"));
	if (f->found >= 0 || !type || strcmp(type, "flow") ||
	    strcmp(json_string_value(json_object_get(rec, "transport")), "tcp"))
		return;
	if ((ep_matches(c, &f->ta) && ep_matches(s, &f->tb)) ||
	    (ep_matches(c, &f->tb) && ep_matches(s, &f->ta)))
		f->found = (int64_t)json_integer_value(json_object_get(rec, "stream"));
}

int
wt_cmd_follow(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"stream", required_argument, NULL, OPT_STREAM},
		{"tuple", required_argument, NULL, OPT_TUPLE},
		{"dir", required_argument, NULL, OPT_DIR},
		{"out-dir", required_argument, NULL, OPT_OUT_DIR},
		{"message", required_argument, NULL, OPT_MESSAGE},
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		WT_COMMON_LONGOPTS,
		{NULL, 0, NULL, 0}};
	wt_options_t o;
	follow_t f;
	const char *stream = NULL, *tuple = NULL, *output = NULL, *message = NULL;
	const char *cap;
	wt_ctx_t *ctx;
	int c, rc;
	char *end;

	memset(&f, 0, sizeof f);
	f.dir = -1;
	f.last_dir = -1;
	f.found = -1;
	wt_options_default(&o);
	optind = 1;
	while ((c = wt_cli_next_opt(argc, argv, "o:f:h", longopts, &o)) != -1) {
		switch (c) {
		case WT_CLI_BAD_VALUE:
			return WT_EXIT_USAGE;
		case OPT_STREAM:
			stream = optarg;
			break;
		case OPT_TUPLE:
			tuple = optarg;
			break;
		case OPT_DIR:
			if (!strcmp(optarg, "client"))
				f.dir = 0;
			else if (!strcmp(optarg, "server"))
				f.dir = 1;
			else
				return wt_cli_usage_error("follow", "--dir must be client or server");
			break;
		case OPT_OUT_DIR:
			f.out_dir = optarg;
			break;
		case OPT_MESSAGE:
			message = optarg;
			break;
		case 'o':
			output = optarg;
			break;
		case 'h':
			follow_help();
			return WT_EXIT_OK;
		default:
			return wt_cli_usage_error("follow", "unknown option");
		}
	}
	if (optind + 1 != argc)
		return wt_cli_usage_error("follow", "give exactly one capture file");
	cap = argv[optind];
	if (!!stream + !!tuple + !!message != 1)
		return wt_cli_usage_error("follow", "give one of --stream, --tuple or --message");
	if (wt_cli_check_filter(&o) != 0)
		return WT_EXIT_FILTER;
	f.out = stdout;
	if (output && !(f.out = fopen(output, "wb"))) {
		fprintf(stderr, "wiretale: %s: cannot write: %s\n", output, strerror(errno));
		return WT_EXIT_OUTPUT;
	}

	if (message) {
		errno = 0;
		o.message_index = strtoull(message, &end, 10);
		if (errno || *end || o.message_index == 0)
			return wt_cli_usage_error("follow", "--message wants a number from 1");
		o.message_out = f.out;
		ctx = wt_ctx_new(&o);
		if (!ctx)
			return WT_EXIT_INTERNAL;
		rc = wt_run_files(ctx, &cap, 1);
		if (wt_ctx_messages(ctx) < o.message_index) {
			fprintf(stderr, "wiretale: %s: there is no message %llu (the capture has %llu)\n",
				cap, (unsigned long long)o.message_index,
				(unsigned long long)wt_ctx_messages(ctx));
			if (rc == WT_EXIT_OK)
				rc = WT_EXIT_USAGE;
		}
		wt_ctx_free(ctx);
		if (f.out != stdout)
			fclose(f.out);
		return rc;
	}

	o.no_dissect = 1;
	if (tuple) {
		const char *dash = strchr(tuple[0] == '[' ? strchr(tuple, ']') ? strchr(tuple, ']') : tuple : tuple, '-');
		if (!dash || parse_endpoint(tuple, (size_t)(dash - tuple), &f.ta) != 0 ||
		    parse_endpoint(dash + 1, strlen(dash + 1), &f.tb) != 0)
			return wt_cli_usage_error("follow", "--tuple wants IP:PORT-IP:PORT");
		if (!strcmp(cap, "-"))
			return wt_cli_usage_error("follow", "--tuple needs a file, not standard input");
		ctx = wt_ctx_new(&o);
		if (!ctx)
			return WT_EXIT_INTERNAL;
		wt_ctx_add_sink(ctx, tuple_sink, &f);
		rc = wt_run_files(ctx, &cap, 1);
		wt_ctx_free(ctx);
		if (f.found < 0) {
			fprintf(stderr, "wiretale: %s: no TCP connection between %s\n", cap, tuple);
			return rc ? rc : WT_EXIT_USAGE;
		}
		f.stream = (uint64_t)f.found;
	} else if (!strcmp(stream, "all")) {
		if (!f.out_dir)
			return wt_cli_usage_error("follow", "--stream all needs --out-dir DIR");
		if (mkdir(f.out_dir, 0777) != 0 && errno != EEXIST) {
			fprintf(stderr, "wiretale: %s: %s\n", f.out_dir, strerror(errno));
			return WT_EXIT_OUTPUT;
		}
		f.stream = UINT64_MAX;
	} else {
		errno = 0;
		f.stream = strtoull(stream, &end, 10);
		if (errno || *end || *stream == '-' || !*stream)
			return wt_cli_usage_error("follow", "--stream wants a number or 'all'");
	}
	if (f.out_dir && f.stream != UINT64_MAX)
		return wt_cli_usage_error("follow", "--out-dir goes with --stream all");

	ctx = wt_ctx_new(&o);
	if (!ctx)
		return WT_EXIT_INTERNAL;
	wt_ctx_set_stream_tap(ctx, f.stream, tap, &f);
	wt_ctx_add_sink(ctx, flow_sink, &f);
	rc = wt_run_files(ctx, &cap, 1);
	wt_ctx_free(ctx);
	free(f.files);
	free(f.created);
	if (fflush(f.out) != 0 || f.failed)
		rc = rc ? rc : WT_EXIT_OUTPUT;
	if (f.out != stdout)
		fclose(f.out);
	return rc;
}
