/* \summary: unit tests of IPv4/IPv6 fragment reassembly */
#include <criterion/criterion.h>

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "capture/capture.h"
#include "capture/frag.h"
#include "core/ctx_int.h"
#include "core/record.h"

static wt_ctx_t *ctx;
static struct wt_frag_table *tab;
static int warnings;
static char last_code[64];

static void
sink(void *user, json_t *rec)
{
	const char *type = json_string_value(json_object_get(rec, "type"));
	(void)user;
	if (type && strcmp(type, "warning") == 0) {
		const char *code = json_string_value(json_object_get(rec, "code"));
		warnings++;
		snprintf(last_code, sizeof last_code, "%s", code ? code : "");
	}
}

static void
setup_with(size_t max, double timeout)
{
	wt_options_t o;
	wt_options_default(&o);
	o.max_fragments = max;
	o.frag_timeout = timeout;
	ctx = wt_ctx_new(&o);
	cr_assert_not_null(ctx);
	wt_ctx_add_sink(ctx, sink, NULL);
	tab = wt_frags_new(ctx);
	cr_assert_not_null(tab);
	warnings = 0;
	last_code[0] = 0;
}

static void
setup(void)
{
	setup_with(0, 0);
}

static void
teardown(void)
{
	wt_frags_free(tab);
	wt_ctx_free(ctx);
	tab = NULL;
	ctx = NULL;
}

static wt_frag_key_t
key4(uint32_t id)
{
	wt_frag_key_t k;
	memset(&k, 0, sizeof k);
	k.src.family = k.dst.family = 4;
	memcpy(k.src.a, "\xc0\x00\x02\x01", 4);
	memcpy(k.dst.a, "\xc0\x00\x02\x02", 4);
	k.id = id;
	k.proto = 17;
	return k;
}

static wt_frag_key_t
key6(uint32_t id)
{
	wt_frag_key_t k;
	memset(&k, 0, sizeof k);
	k.src.family = k.dst.family = 6;
	k.src.a[0] = 0x20; k.src.a[1] = 0x01; k.src.a[15] = 1;
	k.dst.a[0] = 0x20; k.dst.a[1] = 0x01; k.dst.a[15] = 2;
	k.id = id;
	k.proto = 17;
	return k;
}

static uint8_t payload[4000];
static uint64_t frame;

static void
fill(void)
{
	for (size_t i = 0; i < sizeof payload; i++)
		payload[i] = (uint8_t)(i * 31 + 7);
}

/* Adds payload[off, off+len) at capture time `sec`. */
static int
add_at(const wt_frag_key_t *k, uint32_t off, size_t len, bool more, int64_t sec,
       const uint8_t **out, size_t *outlen)
{
	wt_pkt_t pkt;
	memset(&pkt, 0, sizeof pkt);
	pkt.frame = ++frame;
	pkt.ts.sec = sec;
	return wt_frag_add(tab, k, off, more, payload + off, len, &pkt, out,
			   outlen);
}

static int
add(const wt_frag_key_t *k, uint32_t off, size_t len, bool more,
    const uint8_t **out, size_t *outlen)
{
	return add_at(k, off, len, more, 100, out, outlen);
}

#define C(name) (ctx->counters[WT_C_##name])

Test(frag, in_order, .init = setup, .fini = teardown)
{
	wt_frag_key_t k = key4(0x1234);
	const uint8_t *out;
	size_t n;
	fill();
	cr_assert_eq(add(&k, 0, 1480, true, &out, &n), 0);
	cr_assert_null(out);
	cr_assert_eq(add(&k, 1480, 1480, true, &out, &n), 0);
	cr_assert_eq(add(&k, 2960, 100, false, &out, &n), 1);
	cr_assert_eq(n, 3060);
	cr_assert_arr_eq(out, payload, 3060);
	cr_assert_eq(C(FRAG_REASSEMBLED), 1);
	cr_assert_eq(C(FRAG_OVERLAP), 0);
	cr_assert_eq(warnings, 0);
	/* The slot is free again: the same key starts a new datagram. */
	cr_assert_eq(add(&k, 0, 8, true, &out, &n), 0);
}

Test(frag, reversed_and_ipv6, .init = setup, .fini = teardown)
{
	wt_frag_key_t k = key6(0xdeadbeef);
	const uint8_t *out;
	size_t n;
	fill();
	cr_assert_eq(add(&k, 2000, 33, false, &out, &n), 0);
	cr_assert_eq(add(&k, 1000, 1000, true, &out, &n), 0);
	cr_assert_eq(add(&k, 0, 1000, true, &out, &n), 1);
	cr_assert_eq(n, 2033);
	cr_assert_arr_eq(out, payload, 2033);
	cr_assert_eq(C(FRAG_REASSEMBLED), 1);
}

Test(frag, middle_out_of_order, .init = setup, .fini = teardown)
{
	wt_frag_key_t k = key4(7);
	const uint8_t *out;
	size_t n;
	fill();
	cr_assert_eq(add(&k, 16, 16, true, &out, &n), 0);
	cr_assert_eq(add(&k, 32, 5, false, &out, &n), 0);
	cr_assert_eq(add(&k, 0, 16, true, &out, &n), 1);
	cr_assert_eq(n, 37);
	cr_assert_arr_eq(out, payload, 37);
}

Test(frag, keys_do_not_mix, .init = setup, .fini = teardown)
{
	wt_frag_key_t a = key4(1), b = key4(1), c = key4(2);
	const uint8_t *out;
	size_t n;
	fill();
	b.proto = 6;
	cr_assert_eq(add(&a, 0, 8, true, &out, &n), 0);
	cr_assert_eq(add(&b, 8, 8, false, &out, &n), 0);
	cr_assert_eq(add(&c, 8, 8, false, &out, &n), 0);
	cr_assert_eq(add(&a, 8, 8, false, &out, &n), 1);
	cr_assert_eq(n, 16);
	cr_assert_eq(add(&c, 0, 8, true, &out, &n), 1);
	cr_assert_eq(n, 16);
}

Test(frag, duplicates, .init = setup, .fini = teardown)
{
	wt_frag_key_t k = key4(9);
	const uint8_t *out;
	size_t n;
	fill();
	cr_assert_eq(add(&k, 0, 800, true, &out, &n), 0);
	cr_assert_eq(add(&k, 0, 800, true, &out, &n), 0);
	cr_assert_eq(add(&k, 800, 10, false, &out, &n), 1);
	cr_assert_eq(n, 810);
	cr_assert_arr_eq(out, payload, 810);
	cr_assert_eq(C(FRAG_OVERLAP), 1);
	/* Same bytes: an overlap, but no conflict to warn about. */
	cr_assert_eq(warnings, 0);
}

/* The second copy of bytes 8..15 differs: the first received wins. */
Test(frag, overlap_first_wins, .init = setup, .fini = teardown)
{
	wt_frag_key_t k = key4(10);
	uint8_t evil[24];
	const uint8_t *out;
	size_t n;
	wt_pkt_t pkt;
	fill();
	memset(&pkt, 0, sizeof pkt);
	memset(evil, 'X', sizeof evil);
	cr_assert_eq(add(&k, 0, 16, true, &out, &n), 0);
	cr_assert_eq(wt_frag_add(tab, &k, 8, true, evil, sizeof evil, &pkt, &out,
				 &n),
		     0);
	cr_assert_eq(add(&k, 32, 4, false, &out, &n), 1);
	cr_assert_eq(n, 36);
	cr_assert_arr_eq(out, payload, 16);
	for (size_t i = 16; i < 32; i++)
		cr_assert_eq(out[i], 'X', "byte %zu", i);
	cr_assert_arr_eq(out + 32, payload + 32, 4);
	cr_assert_eq(C(FRAG_OVERLAP), 1);
	cr_assert_eq(warnings, 1);
	cr_assert_str_eq(last_code, "IP_FRAG_OVERLAP_CONFLICT");
}

/* A later fragment that covers an earlier one entirely keeps the earlier
 * bytes and fills around them. */
Test(frag, overlap_covering, .init = setup, .fini = teardown)
{
	wt_frag_key_t k = key4(11);
	uint8_t evil[40];
	const uint8_t *out;
	size_t n;
	wt_pkt_t pkt;
	fill();
	memset(&pkt, 0, sizeof pkt);
	memset(evil, 'Y', sizeof evil);
	cr_assert_eq(add(&k, 16, 8, true, &out, &n), 0);
	cr_assert_eq(wt_frag_add(tab, &k, 0, false, evil, sizeof evil, &pkt,
				 &out, &n),
		     1);
	cr_assert_eq(n, 40);
	for (size_t i = 0; i < 40; i++)
		cr_assert_eq(out[i], i >= 16 && i < 24 ? payload[i] : 'Y');
}

Test(frag, missing_last_then_timeout, .init = setup, .fini = teardown)
{
	wt_frag_key_t k = key4(12);
	const uint8_t *out;
	size_t n;
	wt_time_t now = {131, 0};
	fill();
	cr_assert_eq(add_at(&k, 0, 8, true, 100, &out, &n), 0);
	cr_assert_eq(add_at(&k, 8, 8, true, 101, &out, &n), 0);
	/* 30 s after the first fragment: still there. */
	wt_frags_expire(tab, &(wt_time_t){130, 0});
	cr_assert_eq(C(FRAG_TIMEOUT), 0);
	wt_frags_expire(tab, &now);
	cr_assert_eq(C(FRAG_TIMEOUT), 1);
	cr_assert_eq(warnings, 1);
	cr_assert_str_eq(last_code, "IP_FRAG_TIMEOUT");
	/* The late last fragment starts a new datagram that stays pending. */
	cr_assert_eq(add_at(&k, 16, 8, false, 132, &out, &n), 0);
	cr_assert_eq(C(FRAG_REASSEMBLED), 0);
}

/* A fragment that arrives after the timeout expires the old datagram by
 * itself, without a call to wt_frags_expire. */
Test(frag, timeout_on_add, .init = setup, .fini = teardown)
{
	wt_frag_key_t k = key4(13);
	const uint8_t *out;
	size_t n;
	fill();
	cr_assert_eq(add_at(&k, 0, 8, true, 100, &out, &n), 0);
	cr_assert_eq(add_at(&k, 8, 8, false, 200, &out, &n), 0);
	cr_assert_eq(C(FRAG_TIMEOUT), 1);
	cr_assert_eq(C(FRAG_REASSEMBLED), 0);
}

Test(frag, configured_timeout, .fini = teardown)
{
	wt_frag_key_t k = key4(14);
	const uint8_t *out;
	size_t n;
	setup_with(0, 2.5);
	fill();
	cr_assert_eq(add_at(&k, 0, 8, true, 100, &out, &n), 0);
	wt_frags_expire(tab, &(wt_time_t){102, 400000000});
	cr_assert_eq(C(FRAG_TIMEOUT), 0);
	wt_frags_expire(tab, &(wt_time_t){102, 600000000});
	cr_assert_eq(C(FRAG_TIMEOUT), 1);
}

Test(frag, cap_drops_oldest, .fini = teardown)
{
	const uint8_t *out;
	size_t n;
	setup_with(4, 0);
	fill();
	for (uint32_t id = 1; id <= 5; id++) {
		wt_frag_key_t k = key4(id);
		cr_assert_eq(add(&k, 8, 8, false, &out, &n), 0);
	}
	cr_assert_eq(C(FRAG_CAP), 1);
	/* id 1 was dropped: its first half starts a new, incomplete one
	 * (and pushes out id 2). */
	{
		wt_frag_key_t k = key4(1);
		cr_assert_eq(add(&k, 0, 8, true, &out, &n), 0);
	}
	cr_assert_eq(C(FRAG_CAP), 2);
	{
		wt_frag_key_t k = key4(5);
		cr_assert_eq(add(&k, 0, 8, true, &out, &n), 1);
		cr_assert_eq(n, 16);
	}
	{
		wt_frag_key_t k = key4(2);
		cr_assert_eq(add(&k, 0, 8, true, &out, &n), 0);
	}
	cr_assert_eq(C(FRAG_REASSEMBLED), 1);
}

Test(frag, too_big, .init = setup, .fini = teardown)
{
	wt_frag_key_t k = key4(15);
	static uint8_t big[2000];
	const uint8_t *out;
	size_t n;
	wt_pkt_t pkt;
	memset(&pkt, 0, sizeof pkt);
	fill();
	cr_assert_eq(add(&k, 0, 8, true, &out, &n), 0);
	/* 64000 + 2000 > 65535: the "ping of death". */
	cr_assert_eq(wt_frag_add(tab, &k, 64000, false, big, sizeof big, &pkt,
				 &out, &n),
		     -1);
	cr_assert_eq(C(FRAG_TOO_BIG), 1);
	cr_assert_str_eq(last_code, "IP_FRAG_TOO_BIG");
	/* The whole datagram went: its last piece alone does not finish it. */
	cr_assert_eq(add(&k, 8, 8, false, &out, &n), 0);
	/* The largest possible datagram is fine. */
	{
		wt_frag_key_t k2 = key4(16);
		static uint8_t maxd[65535];
		cr_assert_eq(wt_frag_add(tab, &k2, 32768, false, maxd + 32768,
					 65535 - 32768, &pkt, &out, &n),
			     0);
		cr_assert_eq(wt_frag_add(tab, &k2, 0, true, maxd, 32768, &pkt,
					 &out, &n),
			     1);
		cr_assert_eq(n, 65535);
	}
}

Test(frag, contradicting_lengths, .init = setup, .fini = teardown)
{
	wt_frag_key_t k = key4(17);
	const uint8_t *out;
	size_t n;
	fill();
	cr_assert_eq(add(&k, 16, 8, false, &out, &n), 0);
	/* Data past the known end. */
	cr_assert_eq(add(&k, 24, 8, true, &out, &n), -1);
	/* A second, different end. */
	cr_assert_eq(add(&k, 8, 4, false, &out, &n), -1);
	cr_assert_eq(C(IP_MALFORMED), 2);
	cr_assert_str_eq(last_code, "IP_FRAG_BAD_LENGTH");
	cr_assert_eq(add(&k, 0, 16, true, &out, &n), 1);
	cr_assert_eq(n, 24);
	cr_assert_arr_eq(out, payload, 24);
}

/* Many datagrams through a small table: nothing leaks, counters add up. */
Test(frag, churn, .fini = teardown)
{
	const uint8_t *out;
	size_t n;
	uint64_t done = 0;
	setup_with(8, 0);
	fill();
	for (uint32_t id = 0; id < 2000; id++) {
		wt_frag_key_t k = key4(id);
		wt_frag_key_t j = key6(id);
		add(&k, 1000, 2000, false, &out, &n);
		add(&j, 0, 8, true, &out, &n); /* never completed */
		if (add(&k, 0, 1000, true, &out, &n) == 1) {
			cr_assert_eq(n, 3000);
			cr_assert_arr_eq(out, payload, 3000);
			done++;
		}
	}
	cr_assert_eq(done, 2000);
	cr_assert_eq(C(FRAG_REASSEMBLED), 2000);
	/* From the 8th round on, each round's never-finished IPv6 datagram
	 * pushes out the oldest one. */
	cr_assert_eq(C(FRAG_CAP), 2000 - 7, "cap %llu",
		     (unsigned long long)C(FRAG_CAP));
}
