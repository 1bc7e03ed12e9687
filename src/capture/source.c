/* \summary: capture sources: pcap through libpcap, pcapng through our reader, frame by frame */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "capture/pcapng.h"
#include "capture/source.h"
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

struct wt_source {
	wt_ctx_t *ctx;
	const char *name;
	const char *format;
	FILE *f;
	pcap_t *pcap;      /* a pcap file, through libpcap */
	wt_pcapng_t *ng;   /* a pcapng file, through our reader */
	int linktype;      /* of the pcap file */
	uint64_t frames;
	int status;        /* WT_EXIT_OK, or DAMAGED once a fault is seen */
	char error[512];
	progress_t pr;
};

/* A frame whose captured length exceeds its length on the wire: said on
 * stderr and as a warning record naming the frame; the frame is still
 * decoded with what was captured. */
static void
check_lengths(wt_source_t *s, const wt_frame_t *f)
{
	char msg[256];
	wt_pkt_t pkt;

	if (f->caplen <= f->wirelen)
		return;
	snprintf(msg, sizeof msg,
		 "frame %llu: captured length %u exceeds the original length %u",
		 (unsigned long long)(s->ctx->frame + 1), f->caplen, f->wirelen);
	memset(&pkt, 0, sizeof pkt);
	pkt.frame = s->ctx->frame + 1;
	pkt.ts = f->ts;
	fprintf(stderr, "wiretale: %s: %s\n", s->name, msg);
	wt_warn(s->ctx, &pkt, "capture", "FRAME_CAPLEN_EXCEEDS_LEN", "%s: %s", s->name, msg);
	if (s->status == WT_EXIT_OK) {
		s->status = WT_EXIT_DAMAGED;
		snprintf(s->error, sizeof s->error, "%s (and maybe more)", msg);
	}
}

int
wt_source_next(wt_source_t *s, wt_frame_t *f)
{
	char err[256] = "";
	int rc;

	if (s->pcap) {
		struct pcap_pkthdr *h;
		const u_char *d;
		rc = pcap_next_ex(s->pcap, &h, &d);
		if (rc == 1) {
			f->linktype = s->linktype;
			f->ts.sec = h->ts.tv_sec;
			f->ts.nsec = (uint32_t)h->ts.tv_usec; /* nanoseconds: see the precision at open */
			f->caplen = h->caplen;
			f->wirelen = h->len;
			f->data = d;
		} else if (rc == -1) {
			snprintf(err, sizeof err, "%s", pcap_geterr(s->pcap));
		} else {
			rc = 0; /* PCAP_ERROR_BREAK: the end of the file */
		}
	} else {
		wt_pcapng_pkt_t pk;
		rc = wt_pcapng_next(s->ng, &pk, err, sizeof err);
		if (rc == 1) {
			f->linktype = pk.linktype;
			f->ts = pk.ts;
			f->caplen = pk.caplen;
			f->wirelen = pk.wirelen;
			f->data = pk.data;
		}
	}
	if (rc == 1) {
		s->frames++;
		check_lengths(s, f);
		s->pr.done += f->caplen + 16;
		progress_tick(&s->pr, s->frames);
		return 1;
	}
	if (rc < 0) {
		/* A fault that stops the file: everything before it stands. */
		snprintf(s->error, sizeof s->error, "frame %llu: %s; stopped reading this file",
			 (unsigned long long)(s->ctx->frame + 1), err);
		fprintf(stderr, "wiretale: %s: %s\n", s->name, s->error);
		s->status = WT_EXIT_DAMAGED;
	}
	return 0;
}

int
wt_source_close(wt_source_t *s)
{
	int status = s->status;
	progress_end(&s->pr);
	if (s->pcap)
		pcap_close(s->pcap); /* closes the FILE too */
	if (s->ng) {
		wt_pcapng_close(s->ng);
		fclose(s->f);
	}
	file_entry(s->ctx, s->name, s->format, s->frames,
		   status == WT_EXIT_OK ? "ok" : "damaged",
		   status == WT_EXIT_OK ? NULL : s->error);
	free(s);
	return status;
}

int
wt_source_open(wt_ctx_t *ctx, const char *path, wt_source_t **out)
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
	wt_source_t *s;
	char err[PCAP_ERRBUF_SIZE] = "";

	*out = NULL;
	under = is_stdin ? stdin : fopen(path, "rb");
	if (!under)
		return fault(ctx, name, NULL, 0, WT_EXIT_OPEN, "cannot open", strerror(errno));
	if (!is_stdin)
		setvbuf(under, NULL, _IOFBF, READ_BUFFER); /* before any read */
	if (fstat(fileno(under), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(under);
		return fault(ctx, name, NULL, 0, WT_EXIT_OPEN, "is a directory, not a capture file", NULL);
	}
	got = fread(magic, 1, sizeof magic, under);
	if (got == 0) {
		if (!is_stdin)
			fclose(under);
		return fault(ctx, name, NULL, 0, WT_EXIT_OPEN, "empty file: not a capture", NULL);
	}
	s = calloc(1, sizeof *s);
	pre = calloc(1, sizeof *pre);
	if (!s || !pre) {
		free(s);
		free(pre);
		if (!is_stdin)
			fclose(under);
		return WT_EXIT_INTERNAL;
	}
	if (!is_stdin && fseek(under, 0, SEEK_SET) == 0) {
		/* A file: read it directly from its start again (one copy
		 * less than through the prefixed stream). */
		free(pre);
		f = under;
	} else {
		pre->under = under;
		memcpy(pre->pre, magic, got);
		pre->pre_len = got;
		f = fopencookie(pre, "r", io);
		if (!f) {
			prefixed_close(pre);
			free(s);
			return WT_EXIT_INTERNAL;
		}
		setvbuf(f, NULL, _IOFBF, READ_BUFFER);
	}
	s->ctx = ctx;
	s->name = name;
	s->f = f;
	s->pr.on = ctx->opt.progress && isatty(2);
	s->pr.name = name;
	if (fstat(fileno(under), &st) == 0 && S_ISREG(st.st_mode))
		s->pr.size = (uint64_t)st.st_size;

	m = (uint32_t)magic[0] << 24 | (uint32_t)magic[1] << 16 |
	    (uint32_t)magic[2] << 8 | magic[3];
	if (got == 4 && m == PCAPNG_MAGIC) {
		s->format = "pcapng";
		s->ng = wt_pcapng_open(f, err, sizeof err);
		if (!s->ng) {
			fclose(f);
			free(s);
			return fault(ctx, name, "pcapng", 0, WT_EXIT_OPEN,
				     "not a readable pcapng file", err);
		}
	} else {
		s->format = "pcap";
		s->pcap = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, err);
		if (!s->pcap) {
			fclose(f);
			free(s);
			return fault(ctx, name, NULL, 0, WT_EXIT_OPEN,
				     "not a capture file libpcap can read", err);
		}
		s->linktype = pcap_datalink(s->pcap);
	}
	*out = s;
	return WT_EXIT_OK;
}
