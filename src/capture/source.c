/* \summary: reading capture files (pcap through libpcap, pcapng through our reader) as one trace */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "capture/pcapng.h"
#include "core/ctx_int.h"

#define READ_BUFFER (4u << 20) /* stdio buffer under libpcap: few, large reads */
#define PCAPNG_MAGIC 0x0a0d0d0au

/*
 * A FILE that first returns the bytes we peeked at to recognise the format,
 * then the rest of the underlying stream: lets standard input (which cannot
 * seek) be handed to libpcap or to the pcapng reader from its first byte.
 */
typedef struct prefixed {
	FILE *under;
	uint8_t pre[4];
	size_t pre_len, pre_off;
} prefixed_t;

static ssize_t
prefixed_read(void *cookie, char *buf, size_t size)
{
	prefixed_t *p = cookie;
	size_t n = 0;
	if (p->pre_off < p->pre_len) {
		n = p->pre_len - p->pre_off;
		if (n > size)
			n = size;
		memcpy(buf, p->pre + p->pre_off, n);
		p->pre_off += n;
		return (ssize_t)n;
	}
	n = fread(buf, 1, size, p->under);
	if (n == 0 && ferror(p->under))
		return -1;
	return (ssize_t)n;
}

static int
prefixed_close(void *cookie)
{
	prefixed_t *p = cookie;
	int rc = p->under != stdin ? fclose(p->under) : 0;
	free(p);
	return rc;
}

typedef struct progress {
	bool on;
	const char *name;
	uint64_t size;
	uint64_t done;
	time_t last;
} progress_t;

static void
progress_tick(progress_t *pr, uint64_t frames)
{
	time_t now;
	if (!pr->on || (frames & 0x3fff) != 0)
		return;
	now = time(NULL);
	if (now == pr->last)
		return;
	pr->last = now;
	if (pr->size)
		fprintf(stderr, "\rwiretale: %s: %3.0f%%  %llu frames", pr->name,
			100.0 * (double)pr->done / (double)pr->size,
			(unsigned long long)frames);
	else
		fprintf(stderr, "\rwiretale: %s: %llu frames", pr->name,
			(unsigned long long)frames);
}

static void
progress_end(progress_t *pr)
{
	if (pr->on && pr->last)
		fprintf(stderr, "\r\033[K");
}

static void
file_entry(wt_ctx_t *ctx, const char *name, const char *format,
	   uint64_t frames, const char *status, const char *error)
{
	json_t *f = json_object();
	json_object_set_new(f, "name", json_string(name));
	json_object_set_new(f, "format", format ? json_string(format) : json_null());
	json_object_set_new(f, "frames", json_integer((json_int_t)frames));
	json_object_set_new(f, "status", json_string(status));
	json_object_set_new(f, "error", error ? json_string(error) : json_null());
	json_array_append_new(ctx->files, f);
}

/* Reports a fault and records it; returns the exit status. */
static int
fault(wt_ctx_t *ctx, const char *name, const char *format, uint64_t frames,
      int status, const char *what, const char *detail)
{
	char msg[1024];
	if (detail)
		snprintf(msg, sizeof msg, "%s (%s)", what, detail);
	else
		snprintf(msg, sizeof msg, "%s", what);
	fprintf(stderr, "wiretale: %s: %s\n", name, msg);
	file_entry(ctx, name, format,
		   frames, status == WT_EXIT_OPEN ? "unreadable" : "damaged", msg);
	return status;
}

/* A frame whose captured length exceeds its length on the wire: said on
 * stderr and as a warning record naming the frame; the frame is still
 * decoded with what was captured. */
static void
caplen_warning(wt_ctx_t *ctx, const char *name, const char *msg,
	       const wt_time_t *ts)
{
	wt_pkt_t pkt;
	memset(&pkt, 0, sizeof pkt);
	pkt.frame = ctx->frame + 1;
	pkt.ts = *ts;
	fprintf(stderr, "wiretale: %s: %s\n", name, msg);
	wt_warn(ctx, &pkt, "capture", "FRAME_CAPLEN_EXCEEDS_LEN", "%s: %s", name, msg);
}

static int
read_pcap(wt_ctx_t *ctx, FILE *f, const char *name, progress_t *pr)
{
	char err[PCAP_ERRBUF_SIZE] = "";
	struct pcap_pkthdr *h;
	const u_char *d;
	uint64_t frames = 0;
	int rc, lt, status = WT_EXIT_OK;
	pcap_t *p;
	char msg[512];

	p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, err);
	if (!p) {
		fclose(f);
		return fault(ctx, name, NULL, 0, WT_EXIT_OPEN,
			     "not a capture file libpcap can read", err);
	}
	lt = pcap_datalink(p);
	while ((rc = pcap_next_ex(p, &h, &d)) == 1) {
		wt_time_t ts;
		frames++;
		ts.sec = h->ts.tv_sec;
		ts.nsec = (uint32_t)h->ts.tv_usec; /* nanoseconds: see precision above */
		if (h->caplen > h->len) {
			snprintf(msg, sizeof msg,
				 "frame %llu: captured length %u exceeds the original length %u",
				 (unsigned long long)(ctx->frame + 1), h->caplen, h->len);
			caplen_warning(ctx, name, msg, &ts);
			status = WT_EXIT_DAMAGED;
		}
		pr->done += h->caplen + 16;
		wt_feed(ctx, lt, &ts, h->caplen, h->len, d);
		progress_tick(pr, frames);
	}
	if (rc == -1) {
		snprintf(msg, sizeof msg, "frame %llu: %s; stopped reading this file",
			 (unsigned long long)(ctx->frame + 1), pcap_geterr(p));
		pcap_close(p);
		return fault(ctx, name, "pcap", frames, WT_EXIT_DAMAGED, msg, NULL);
	}
	pcap_close(p);
	file_entry(ctx, name, "pcap", frames,
		   status == WT_EXIT_OK ? "ok" : "damaged",
		   status == WT_EXIT_OK ? NULL : "frames with impossible lengths");
	return status;
}

static int
read_pcapng(wt_ctx_t *ctx, FILE *f, const char *name, progress_t *pr)
{
	char err[256] = "";
	wt_pcapng_t *r = wt_pcapng_open(f, err, sizeof err);
	wt_pcapng_pkt_t pk;
	uint64_t frames = 0;
	int rc, status = WT_EXIT_OK;
	char msg[512];

	if (!r) {
		fclose(f);
		return fault(ctx, name, "pcapng", 0, WT_EXIT_OPEN,
			     "not a readable pcapng file", err);
	}
	while ((rc = wt_pcapng_next(r, &pk, err, sizeof err)) == 1) {
		frames++;
		if (pk.caplen > pk.wirelen) {
			snprintf(msg, sizeof msg,
				 "frame %llu: captured length %u exceeds the original length %u",
				 (unsigned long long)(ctx->frame + 1), pk.caplen, pk.wirelen);
			caplen_warning(ctx, name, msg, &pk.ts);
			status = WT_EXIT_DAMAGED;
		}
		pr->done += pk.caplen + 32;
		wt_feed(ctx, pk.linktype, &pk.ts, pk.caplen, pk.wirelen, pk.data);
		progress_tick(pr, frames);
	}
	wt_pcapng_close(r);
	fclose(f);
	if (rc < 0) {
		snprintf(msg, sizeof msg, "frame %llu: %s; stopped reading this file",
			 (unsigned long long)(ctx->frame + 1), err);
		return fault(ctx, name, "pcapng", frames, WT_EXIT_DAMAGED, msg, NULL);
	}
	file_entry(ctx, name, "pcapng", frames,
		   status == WT_EXIT_OK ? "ok" : "damaged",
		   status == WT_EXIT_OK ? NULL : "frames with impossible lengths");
	return status;
}

/* Opens one input and reads it to its end; returns a WT_EXIT_* status. */
static int
read_one(wt_ctx_t *ctx, const char *path)
{
	bool is_stdin = strcmp(path, "-") == 0;
	const char *name = is_stdin ? "(standard input)" : path;
	FILE *under, *f;
	prefixed_t *pre;
	cookie_io_functions_t io = {prefixed_read, NULL, NULL, prefixed_close};
	struct stat st;
	uint8_t magic[4];
	size_t got;
	uint32_t m;
	progress_t pr;
	int rc;

	memset(&pr, 0, sizeof pr);
	under = is_stdin ? stdin : fopen(path, "rb");
	if (!under)
		return fault(ctx, name, NULL, 0, WT_EXIT_OPEN, "cannot open", strerror(errno));
	if (fstat(fileno(under), &st) == 0) {
		if (S_ISDIR(st.st_mode)) {
			fclose(under);
			return fault(ctx, name, NULL, 0, WT_EXIT_OPEN, "is a directory, not a capture file", NULL);
		}
		if (S_ISREG(st.st_mode))
			pr.size = (uint64_t)st.st_size;
	}
	pr.on = ctx->opt.progress && isatty(2);
	pr.name = name;
	got = fread(magic, 1, sizeof magic, under);
	if (got == 0) {
		if (!is_stdin)
			fclose(under);
		return fault(ctx, name, NULL, 0, WT_EXIT_OPEN, "empty file: not a capture", NULL);
	}
	pre = calloc(1, sizeof *pre);
	if (!pre) {
		if (!is_stdin)
			fclose(under);
		return WT_EXIT_INTERNAL;
	}
	pre->under = under;
	memcpy(pre->pre, magic, got);
	pre->pre_len = got;
	f = fopencookie(pre, "r", io);
	if (!f) {
		prefixed_close(pre);
		return WT_EXIT_INTERNAL;
	}
	setvbuf(f, NULL, _IOFBF, READ_BUFFER);
	m = (uint32_t)magic[0] << 24 | (uint32_t)magic[1] << 16 |
	    (uint32_t)magic[2] << 8 | magic[3];
	if (got == 4 && m == PCAPNG_MAGIC)
		rc = read_pcapng(ctx, f, name, &pr);
	else
		rc = read_pcap(ctx, f, name, &pr);
	progress_end(&pr);
	return rc;
}

int
wt_run_files(wt_ctx_t *ctx, const char *const *files, size_t n)
{
	size_t i;
	int status = WT_EXIT_OK;
	for (i = 0; i < n; i++) {
		int rc = read_one(ctx, files[i]);
		/* The first fault decides the status; go on with the next
		 * file, as tcpdump -r does not but a user reading rotated
		 * captures wants. */
		if (rc != WT_EXIT_OK && status == WT_EXIT_OK)
			status = rc;
	}
	wt_finish(ctx, NULL);
	return status;
}
