/* \summary: unit tests of the pcapng reader on hand-built files */
#include <criterion/criterion.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/pcapng.h"

/* A file under construction, in the byte order of its current section. */
typedef struct fb {
	uint8_t *b;
	size_t n, cap;
	bool big;
	size_t blk; /* start of the block being written */
} fb_t;

static void
fb_bytes(fb_t *f, const void *p, size_t n)
{
	if (f->n + n > f->cap) {
		f->cap = (f->n + n) * 2 + 64;
		f->b = realloc(f->b, f->cap);
		cr_assert_not_null(f->b);
	}
	memcpy(f->b + f->n, p, n);
	f->n += n;
}

static void
put_at32(fb_t *f, size_t at, uint32_t v)
{
	uint8_t x[4];
	if (f->big) {
		x[0] = (uint8_t)(v >> 24); x[1] = (uint8_t)(v >> 16);
		x[2] = (uint8_t)(v >> 8); x[3] = (uint8_t)v;
	} else {
		x[3] = (uint8_t)(v >> 24); x[2] = (uint8_t)(v >> 16);
		x[1] = (uint8_t)(v >> 8); x[0] = (uint8_t)v;
	}
	memcpy(f->b + at, x, 4);
}

static void
u32(fb_t *f, uint32_t v)
{
	uint8_t z[4] = {0};
	fb_bytes(f, z, 4);
	put_at32(f, f->n - 4, v);
}

static void
u16(fb_t *f, uint16_t v)
{
	uint8_t x[2];
	if (f->big) {
		x[0] = (uint8_t)(v >> 8); x[1] = (uint8_t)v;
	} else {
		x[1] = (uint8_t)(v >> 8); x[0] = (uint8_t)v;
	}
	fb_bytes(f, x, 2);
}

static void
u64(fb_t *f, uint64_t v)
{
	if (f->big) {
		u32(f, (uint32_t)(v >> 32)); u32(f, (uint32_t)v);
	} else {
		u32(f, (uint32_t)v); u32(f, (uint32_t)(v >> 32));
	}
}

static void
pad4(fb_t *f)
{
	uint8_t z[4] = {0};
	fb_bytes(f, z, (4 - f->n % 4) % 4);
}

static void
begin(fb_t *f, uint32_t type)
{
	f->blk = f->n;
	u32(f, type);
	u32(f, 0);
}

static void
end(fb_t *f)
{
	uint32_t len;
	pad4(f);
	len = (uint32_t)(f->n - f->blk + 4);
	put_at32(f, f->blk + 4, len);
	u32(f, len);
}

static void
shb(fb_t *f, bool big)
{
	f->big = big;
	begin(f, 0x0A0D0D0A);
	u32(f, 0x1A2B3C4D);
	u16(f, 1);
	u16(f, 0);
	u64(f, UINT64_MAX);
	end(f);
}

/* tsresol < 0: no option; has_off: an if_tsoffset option. */
static void
idb(fb_t *f, uint16_t linktype, uint32_t snaplen, int tsresol, bool has_off,
    int64_t off)
{
	begin(f, 1);
	u16(f, linktype);
	u16(f, 0);
	u32(f, snaplen);
	if (tsresol >= 0) {
		uint8_t r = (uint8_t)tsresol;
		u16(f, 9);
		u16(f, 1);
		fb_bytes(f, &r, 1);
		pad4(f);
	}
	if (has_off) {
		u16(f, 14);
		u16(f, 8);
		u64(f, (uint64_t)off);
	}
	if (tsresol >= 0 || has_off) {
		u16(f, 0);
		u16(f, 0);
	}
	end(f);
}

static void
epb(fb_t *f, uint32_t ifidx, uint64_t ts, const void *data, uint32_t caplen,
    uint32_t origlen)
{
	begin(f, 6);
	u32(f, ifidx);
	u32(f, (uint32_t)(ts >> 32));
	u32(f, (uint32_t)ts);
	u32(f, caplen);
	u32(f, origlen);
	fb_bytes(f, data, caplen);
	end(f);
}

static void
spb(fb_t *f, const void *data, uint32_t datalen, uint32_t origlen)
{
	begin(f, 3);
	u32(f, origlen);
	fb_bytes(f, data, datalen);
	end(f);
}

static void
pb(fb_t *f, uint16_t ifidx, uint64_t ts, const void *data, uint32_t caplen)
{
	begin(f, 2);
	u16(f, ifidx);
	u16(f, 0);
	u32(f, (uint32_t)(ts >> 32));
	u32(f, (uint32_t)ts);
	u32(f, caplen);
	u32(f, caplen);
	fb_bytes(f, data, caplen);
	end(f);
}

static void
other(fb_t *f, uint32_t type, size_t bodylen)
{
	uint8_t x = 0xEE;
	begin(f, type);
	for (size_t i = 0; i < bodylen; i++)
		fb_bytes(f, &x, 1);
	end(f);
}

static FILE *
mem(const fb_t *f, size_t len)
{
	FILE *fp = len ? fmemopen(f->b, len, "rb") : fopen("/dev/null", "rb");
	cr_assert_not_null(fp);
	return fp;
}

static const uint8_t P1[] = {0x01, 0x02, 0x03, 0x04, 0x05};
static const uint8_t P2[] = {0x45, 0x00, 0x00, 0x14, 0xAA, 0xBB, 0xCC};

static void
check_simple(bool big)
{
	fb_t f = {0};
	char err[256] = "";
	wt_pcapng_pkt_t pkt;
	wt_pcapng_t *r;
	FILE *fp;

	shb(&f, big);
	idb(&f, 1, 65535, -1, false, 0);
	other(&f, 4, 8);  /* NRB */
	epb(&f, 0, UINT64_C(1700000000123456), P1, sizeof P1, 60);
	other(&f, 5, 20); /* ISB */
	other(&f, 0x0A, 12); /* DSB */
	other(&f, 0x00000BAD, 16); /* custom */
	other(&f, 0x12345678, 4); /* unknown */
	fp = mem(&f, f.n);
	r = wt_pcapng_open(fp, err, sizeof err);
	cr_assert_not_null(r, "open: %s", err);
	cr_assert_eq(wt_pcapng_next(r, &pkt, err, sizeof err), 1, "%s", err);
	cr_assert_eq(pkt.linktype, 1);
	cr_assert_eq(pkt.ifindex, 0);
	cr_assert_eq(pkt.caplen, sizeof P1);
	cr_assert_eq(pkt.wirelen, 60);
	cr_assert_arr_eq(pkt.data, P1, sizeof P1);
	cr_assert_eq(pkt.ts.sec, 1700000000);
	cr_assert_eq(pkt.ts.nsec, 123456000);
	cr_assert_eq(wt_pcapng_next(r, &pkt, err, sizeof err), 0, "%s", err);
	cr_assert_eq(wt_pcapng_next(r, &pkt, err, sizeof err), 0);
	wt_pcapng_close(r);
	fclose(fp);
	free(f.b);
}

Test(pcapng, little_endian)
{
	check_simple(false);
}

Test(pcapng, big_endian)
{
	check_simple(true);
}

/* Two sections of opposite byte order: the second forgets the first's
 * interfaces, so its interface 0 is raw IP, and interface 1 is unknown. */
Test(pcapng, two_sections)
{
	fb_t f = {0};
	char err[256] = "";
	wt_pcapng_pkt_t pkt;
	wt_pcapng_t *r;
	FILE *fp;

	shb(&f, false);
	idb(&f, 1, 0, -1, false, 0);
	idb(&f, 113, 0, -1, false, 0);
	epb(&f, 1, 1000000, P1, sizeof P1, sizeof P1);
	shb(&f, true);
	idb(&f, 101, 0, -1, false, 0);
	epb(&f, 0, 2000000, P2, sizeof P2, sizeof P2);
	epb(&f, 1, 3000000, P2, sizeof P2, sizeof P2);
	fp = mem(&f, f.n);
	r = wt_pcapng_open(fp, err, sizeof err);
	cr_assert_not_null(r, "%s", err);
	cr_assert_eq(wt_pcapng_next(r, &pkt, err, sizeof err), 1);
	cr_assert_eq(pkt.linktype, 113);
	cr_assert_eq(pkt.ifindex, 1);
	cr_assert_eq(pkt.ts.sec, 1);
	cr_assert_eq(wt_pcapng_next(r, &pkt, err, sizeof err), 1, "%s", err);
	cr_assert_eq(pkt.linktype, 101);
	cr_assert_eq(pkt.ts.sec, 2);
	cr_assert_arr_eq(pkt.data, P2, sizeof P2);
	cr_assert_eq(wt_pcapng_next(r, &pkt, err, sizeof err), -1);
	cr_assert(strstr(err, "interface 1") != NULL, "message: %s", err);
	/* Errors are sticky. */
	err[0] = 0;
	cr_assert_eq(wt_pcapng_next(r, &pkt, err, sizeof err), -1);
	cr_assert(strstr(err, "interface") != NULL);
	wt_pcapng_close(r);
	fclose(fp);
	free(f.b);
}

Test(pcapng, two_link_types_in_one_section)
{
	fb_t f = {0};
	char err[256] = "";
	wt_pcapng_pkt_t pkt;
	wt_pcapng_t *r;
	FILE *fp;

	shb(&f, false);
	idb(&f, 1, 262144, -1, false, 0);
	idb(&f, 101, 262144, -1, false, 0);
	epb(&f, 0, 1, P1, sizeof P1, sizeof P1);
	epb(&f, 1, 2, P2, sizeof P2, sizeof P2);
	epb(&f, 0, 3, P1, 3, sizeof P1);
	fp = mem(&f, f.n);
	r = wt_pcapng_open(fp, err, sizeof err);
	cr_assert_not_null(r, "%s", err);
	cr_assert_eq(wt_pcapng_next(r, &pkt, err, sizeof err), 1);
	cr_assert_eq(pkt.linktype, 1);
	cr_assert_eq(wt_pcapng_next(r, &pkt, err, sizeof err), 1);
	cr_assert_eq(pkt.linktype, 101);
	cr_assert_eq(pkt.ifindex, 1);
	cr_assert_eq(wt_pcapng_next(r, &pkt, err, sizeof err), 1);
	cr_assert_eq(pkt.linktype, 1);
	cr_assert_eq(pkt.caplen, 3);
	cr_assert_eq(pkt.wirelen, 5);
	cr_assert_eq(wt_pcapng_next(r, &pkt, err, sizeof err), 0);
	wt_pcapng_close(r);
	fclose(fp);
	free(f.b);
}

/* One interface per resolution; every packet is 1.5 s (+ offset). */
Test(pcapng, tsresol_and_tsoffset)
{
	fb_t f = {0};
	char err[256] = "";
	wt_pcapng_pkt_t pkt;
	wt_pcapng_t *r;
	FILE *fp;

	shb(&f, true);
	idb(&f, 1, 0, 6, false, 0);        /* 10^-6, explicit */
	idb(&f, 1, 0, 9, false, 0);        /* 10^-9 */
	idb(&f, 1, 0, 0x80 | 20, false, 0); /* 2^-20 */
	idb(&f, 1, 0, 0, true, 1000);      /* 1 s units, offset +1000 s */
	idb(&f, 1, 0, 3, true, -1);        /* ms, offset -1 s */
	epb(&f, 0, 1500000, P1, 1, 1);
	epb(&f, 1, UINT64_C(1500000001), P1, 1, 1);
	epb(&f, 2, (UINT64_C(1) << 20) + (UINT64_C(1) << 19) + 1, P1, 1, 1);
	epb(&f, 3, 7, P1, 1, 1);
	epb(&f, 4, 1500, P1, 1, 1);
	fp = mem(&f, f.n);
	r = wt_pcapng_open(fp, err, sizeof err);
	cr_assert_not_null(r, "%s", err);
	cr_assert_eq(wt_pcapng_next(r, &pkt, err, sizeof err), 1, "%s", err);
	cr_assert_eq(pkt.ts.sec, 1);
	cr_assert_eq(pkt.ts.nsec, 500000000);
	cr_assert_eq(wt_pcapng_next(r, &pkt, err, sizeof err), 1);
	cr_assert_eq(pkt.ts.sec, 1);
	cr_assert_eq(pkt.ts.nsec, 500000001);
	cr_assert_eq(wt_pcapng_next(r, &pkt, err, sizeof err), 1);
	cr_assert_eq(pkt.ts.sec, 1);
	/* 1/2^20 s = 953.67 ns, truncated */
	cr_assert_eq(pkt.ts.nsec, 500000953, "nsec %u", pkt.ts.nsec);
	cr_assert_eq(wt_pcapng_next(r, &pkt, err, sizeof err), 1);
	cr_assert_eq(pkt.ts.sec, 1007);
	cr_assert_eq(pkt.ts.nsec, 0);
	cr_assert_eq(wt_pcapng_next(r, &pkt, err, sizeof err), 1);
	cr_assert_eq(pkt.ts.sec, 0);
	cr_assert_eq(pkt.ts.nsec, 500000000);
	cr_assert_eq(wt_pcapng_next(r, &pkt, err, sizeof err), 0);
	wt_pcapng_close(r);
	fclose(fp);
	free(f.b);
}

Test(pcapng, simple_packet_block_uses_snaplen)
{
	fb_t f = {0};
	char err[256] = "";
	uint8_t data[100];
	wt_pcapng_pkt_t pkt;
	wt_pcapng_t *r;
	FILE *fp;

	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (uint8_t)i;
	shb(&f, false);
	idb(&f, 1, 64, -1, false, 0);
	spb(&f, data, 64, 100);  /* truncated to the snaplen */
	spb(&f, data, 10, 10);   /* short packet */
	fp = mem(&f, f.n);
	r = wt_pcapng_open(fp, err, sizeof err);
	cr_assert_not_null(r, "%s", err);
	cr_assert_eq(wt_pcapng_next(r, &pkt, err, sizeof err), 1, "%s", err);
	cr_assert_eq(pkt.caplen, 64);
	cr_assert_eq(pkt.wirelen, 100);
	cr_assert_arr_eq(pkt.data, data, 64);
	cr_assert_eq(pkt.linktype, 1);
	cr_assert_eq(wt_pcapng_next(r, &pkt, err, sizeof err), 1, "%s", err);
	cr_assert_eq(pkt.caplen, 10);
	cr_assert_eq(wt_pcapng_next(r, &pkt, err, sizeof err), 0);
	wt_pcapng_close(r);
	fclose(fp);
	free(f.b);
}

Test(pcapng, simple_packet_block_without_interface)
{
	fb_t f = {0};
	char err[256] = "";
	wt_pcapng_pkt_t pkt;
	wt_pcapng_t *r;
	FILE *fp;

	shb(&f, false);
	spb(&f, P1, sizeof P1, sizeof P1);
	fp = mem(&f, f.n);
	r = wt_pcapng_open(fp, err, sizeof err);
	cr_assert_not_null(r, "%s", err);
	cr_assert_eq(wt_pcapng_next(r, &pkt, err, sizeof err), -1);
	cr_assert(strstr(err, "interface 0") != NULL, "%s", err);
	wt_pcapng_close(r);
	fclose(fp);
	free(f.b);
}

Test(pcapng, obsolete_packet_block)
{
	fb_t f = {0};
	char err[256] = "";
	wt_pcapng_pkt_t pkt;
	wt_pcapng_t *r;
	FILE *fp;

	shb(&f, true);
	idb(&f, 0, 0, -1, false, 0);
	idb(&f, 108, 0, -1, false, 0);
	pb(&f, 1, 5000000, P2, sizeof P2);
	fp = mem(&f, f.n);
	r = wt_pcapng_open(fp, err, sizeof err);
	cr_assert_not_null(r, "%s", err);
	cr_assert_eq(wt_pcapng_next(r, &pkt, err, sizeof err), 1, "%s", err);
	cr_assert_eq(pkt.linktype, 108);
	cr_assert_eq(pkt.ts.sec, 5);
	cr_assert_arr_eq(pkt.data, P2, sizeof P2);
	cr_assert_eq(wt_pcapng_next(r, &pkt, err, sizeof err), 0);
	wt_pcapng_close(r);
	fclose(fp);
	free(f.b);
}

/* A block bigger than the initial buffer makes it grow. */
Test(pcapng, big_block)
{
	fb_t f = {0};
	char err[256] = "";
	wt_pcapng_pkt_t pkt;
	wt_pcapng_t *r;
	FILE *fp;
	size_t n = 200000;
	uint8_t *data = malloc(n);

	for (size_t i = 0; i < n; i++)
		data[i] = (uint8_t)(i * 7);
	shb(&f, false);
	idb(&f, 1, 0, -1, false, 0);
	epb(&f, 0, 1, data, (uint32_t)n, (uint32_t)n);
	epb(&f, 0, 2, P1, sizeof P1, sizeof P1);
	fp = mem(&f, f.n);
	r = wt_pcapng_open(fp, err, sizeof err);
	cr_assert_not_null(r, "%s", err);
	cr_assert_eq(wt_pcapng_next(r, &pkt, err, sizeof err), 1, "%s", err);
	cr_assert_eq(pkt.caplen, n);
	cr_assert_arr_eq(pkt.data, data, n);
	cr_assert_eq(wt_pcapng_next(r, &pkt, err, sizeof err), 1, "%s", err);
	cr_assert_arr_eq(pkt.data, P1, sizeof P1);
	wt_pcapng_close(r);
	fclose(fp);
	free(f.b);
	free(data);
}

/* A pipe cannot seek: the reader must not need to. */
Test(pcapng, reads_from_a_pipe)
{
	fb_t f = {0};
	char err[256] = "";
	wt_pcapng_pkt_t pkt;
	wt_pcapng_t *r;
	FILE *fp;
	int fds[2];

	shb(&f, false);
	idb(&f, 1, 0, -1, false, 0);
	epb(&f, 0, 1, P1, sizeof P1, sizeof P1);
	cr_assert_eq(pipe(fds), 0);
	cr_assert_eq(write(fds[1], f.b, f.n), (ssize_t)f.n);
	close(fds[1]);
	fp = fdopen(fds[0], "rb");
	cr_assert_not_null(fp);
	r = wt_pcapng_open(fp, err, sizeof err);
	cr_assert_not_null(r, "%s", err);
	cr_assert_eq(wt_pcapng_next(r, &pkt, err, sizeof err), 1, "%s", err);
	cr_assert_arr_eq(pkt.data, P1, sizeof P1);
	cr_assert_eq(wt_pcapng_next(r, &pkt, err, sizeof err), 0);
	wt_pcapng_close(r);
	fclose(fp);
	free(f.b);
}

/* Every prefix of a valid file: never a crash; a cut inside a block is
 * "truncated", a cut on a block boundary is a clean end. */
Test(pcapng, truncated_at_every_length)
{
	fb_t f = {0};
	size_t bounds[16], nb = 0;
	uint8_t data[37];

	memset(data, 0x5A, sizeof data);
	shb(&f, false);
	bounds[nb++] = f.n;
	idb(&f, 1, 0, 9, true, 3);
	bounds[nb++] = f.n;
	epb(&f, 0, 1, data, sizeof data, sizeof data);
	bounds[nb++] = f.n;
	spb(&f, data, 5, 5);
	bounds[nb++] = f.n;
	shb(&f, true);
	bounds[nb++] = f.n;
	idb(&f, 101, 0, -1, false, 0);
	bounds[nb++] = f.n;
	pb(&f, 0, 2, data, 9);
	bounds[nb++] = f.n;
	for (size_t len = 0; len < f.n; len++) {
		char err[256] = "";
		wt_pcapng_pkt_t pkt;
		wt_pcapng_t *r;
		FILE *fp = mem(&f, len);
		bool boundary = false;
		int rc, packets = 0;
		for (size_t i = 0; i < nb; i++)
			boundary |= bounds[i] == len;
		r = wt_pcapng_open(fp, err, sizeof err);
		if (!r) {
			cr_assert(len < bounds[0], "open failed at %zu: %s", len, err);
			cr_assert(strstr(err, len ? "truncated" : "empty") != NULL,
				  "len %zu: %s", len, err);
			fclose(fp);
			continue;
		}
		while ((rc = wt_pcapng_next(r, &pkt, err, sizeof err)) == 1)
			packets++;
		if (boundary) {
			cr_assert_eq(rc, 0, "len %zu: %s", len, err);
		} else {
			cr_assert_eq(rc, -1, "len %zu", len);
			cr_assert(strstr(err, "truncated block at offset") != NULL,
				  "len %zu: %s", len, err);
		}
		cr_assert(packets <= 3);
		wt_pcapng_close(r);
		fclose(fp);
	}
	free(f.b);
}

static void
expect_error(fb_t *f, const char *needle)
{
	char err[256] = "";
	wt_pcapng_pkt_t pkt;
	wt_pcapng_t *r;
	FILE *fp = mem(f, f->n);
	int rc = -1;
	r = wt_pcapng_open(fp, err, sizeof err);
	if (r) {
		while ((rc = wt_pcapng_next(r, &pkt, err, sizeof err)) == 1)
			;
		wt_pcapng_close(r);
	}
	fclose(fp);
	cr_assert_eq(rc, -1);
	cr_assert(strstr(err, needle) != NULL, "wanted \"%s\", got \"%s\"",
		  needle, err);
}

Test(pcapng, bad_lengths)
{
	fb_t f = {0};
	size_t at;

	/* Not a multiple of 4. */
	shb(&f, false);
	idb(&f, 1, 0, -1, false, 0);
	at = f.n;
	epb(&f, 0, 1, P1, sizeof P1, sizeof P1);
	put_at32(&f, at + 4, 37);
	expect_error(&f, "bad block length 37");
	/* Under the minimum of 12. */
	put_at32(&f, at + 4, 8);
	expect_error(&f, "bad block length 8");
	/* Over the cap. */
	put_at32(&f, at + 4, 0x7FFFFFF0);
	expect_error(&f, "bad block length");
	/* Trailing length differs. */
	put_at32(&f, at + 4, (uint32_t)(f.n - at));
	put_at32(&f, f.n - 4, 44);
	expect_error(&f, "at its end");
	free(f.b);

	/* Captured length larger than the block. */
	memset(&f, 0, sizeof f);
	shb(&f, true);
	idb(&f, 1, 0, -1, false, 0);
	at = f.n;
	epb(&f, 0, 1, P1, sizeof P1, sizeof P1);
	put_at32(&f, at + 20, 4000);
	expect_error(&f, "bad captured length 4000");
	free(f.b);

	/* An EPB too short for its own header. */
	memset(&f, 0, sizeof f);
	shb(&f, false);
	idb(&f, 1, 0, -1, false, 0);
	other(&f, 6, 8);
	expect_error(&f, "too short");
	free(f.b);

	/* An IDB option running past the block. */
	memset(&f, 0, sizeof f);
	shb(&f, false);
	begin(&f, 1);
	u16(&f, 1);
	u16(&f, 0);
	u32(&f, 0);
	u16(&f, 9);
	u16(&f, 200);
	end(&f);
	expect_error(&f, "bad option length 200");
	free(f.b);
}

Test(pcapng, not_pcapng)
{
	static const uint8_t pcap_le[24] = {0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0};
	static const uint8_t text[] = "hello, this is not a capture\n";
	char err[256] = "";
	FILE *fp = fmemopen((void *)pcap_le, sizeof pcap_le, "rb");
	cr_assert_null(wt_pcapng_open(fp, err, sizeof err));
	cr_assert(strstr(err, "not a pcapng file") != NULL, "%s", err);
	fclose(fp);
	fp = fmemopen((void *)text, sizeof text - 1, "rb");
	cr_assert_null(wt_pcapng_open(fp, err, sizeof err));
	cr_assert(strstr(err, "not a pcapng") != NULL, "%s", err);
	fclose(fp);
	fp = fopen("/dev/null", "rb");
	cr_assert_null(wt_pcapng_open(fp, err, sizeof err));
	cr_assert(strstr(err, "empty") != NULL, "%s", err);
	fclose(fp);
}

Test(pcapng, bad_byte_order_magic_and_version)
{
	fb_t f = {0};
	shb(&f, false);
	put_at32(&f, 8, 0x11223344);
	{
		char err[256] = "";
		FILE *fp = mem(&f, f.n);
		cr_assert_null(wt_pcapng_open(fp, err, sizeof err));
		cr_assert(strstr(err, "byte-order magic") != NULL, "%s", err);
		fclose(fp);
	}
	free(f.b);
	memset(&f, 0, sizeof f);
	shb(&f, false);
	idb(&f, 1, 0, -1, false, 0);
	{
		/* A second section of major version 2. */
		size_t at = f.n;
		shb(&f, false);
		f.b[at + 12] = 2;
	}
	expect_error(&f, "unsupported pcapng version 2.0");
	/* 1.1 never existed; 1.2 did (old writers). */
	f.b[f.n - 28 + 12] = 1;
	f.b[f.n - 28 + 14] = 1;
	expect_error(&f, "unsupported pcapng version 1.1");
	f.b[f.n - 28 + 14] = 2;
	{
		char err[256] = "";
		wt_pcapng_pkt_t pkt;
		FILE *fp = mem(&f, f.n);
		wt_pcapng_t *r = wt_pcapng_open(fp, err, sizeof err);
		cr_assert_not_null(r, "%s", err);
		cr_assert_eq(wt_pcapng_next(r, &pkt, err, sizeof err), 0, "%s", err);
		wt_pcapng_close(r);
		fclose(fp);
	}
	free(f.b);
}
