/* \summary: unit tests of the flow table and TCP reassembly, fed through wt_feed */
#include <criterion/criterion.h>
#include <string.h>

#include "wiretale/wiretale.h"

/* Raw IPv4 frames (LINKTYPE_RAW = 101) built by hand. */
#define LT_RAW 101
#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_ACK 0x10

typedef struct got {
	uint8_t data[2][8192];
	size_t len[2];
	uint64_t gaps[2];
	int calls;
	json_t *flows;
	json_t *summary;
} got_t;

static got_t G;

static void
tap(void *user, uint64_t stream, int dir, const uint8_t *p, size_t n,
    uint64_t gap, const wt_pkt_t *pkt)
{
	got_t *g = user;
	(void)stream;
	(void)pkt;
	g->calls++;
	if (gap) {
		g->gaps[dir] += gap;
		return;
	}
	cr_assert(g->len[dir] + n <= sizeof g->data[dir]);
	memcpy(g->data[dir] + g->len[dir], p, n);
	g->len[dir] += n;
}

static void
sink(void *user, json_t *rec)
{
	got_t *g = user;
	const char *t = json_string_value(json_object_get(rec, "type"));
	if (!strcmp(t, "flow"))
		json_array_append(g->flows, rec);
	else if (!strcmp(t, "summary"))
		g->summary = json_incref(rec);
}

static wt_ctx_t *
setup_ctx(uint64_t stream, wt_options_t *opt)
{
	wt_options_t o;
	wt_ctx_t *ctx;
	memset(&G, 0, sizeof G);
	G.flows = json_array();
	if (!opt) {
		wt_options_default(&o);
		opt = &o;
	}
	opt->no_dissect = 1;
	ctx = wt_ctx_new(opt);
	cr_assert_not_null(ctx);
	wt_ctx_set_stream_tap(ctx, stream, tap, &G);
	wt_ctx_add_sink(ctx, sink, &G);
	return ctx;
}

static void
teardown_ctx(wt_ctx_t *ctx)
{
	wt_finish(ctx, NULL);
	wt_ctx_free(ctx);
}

static double clock_s = 1000.0;

/* Sends one TCP segment from a (dir 0: 10.0.0.1:40000) or b (dir 1:
 * 10.0.0.2:25). caplen_cut, if non-zero, truncates the captured frame. */
static void
seg(wt_ctx_t *ctx, int dir, uint32_t seq, uint32_t ack, uint8_t flags,
    const char *payload, size_t caplen_cut)
{
	uint8_t f[1600];
	size_t n = payload ? strlen(payload) : 0, total = 40 + n;
	uint8_t a[4] = {10, 0, 0, 1}, b[4] = {10, 0, 0, 2};
	wt_time_t ts;

	memset(f, 0, 40);
	f[0] = 0x45;
	f[2] = (uint8_t)(total >> 8);
	f[3] = (uint8_t)total;
	f[8] = 64;
	f[9] = 6;
	memcpy(f + 12, dir ? b : a, 4);
	memcpy(f + 16, dir ? a : b, 4);
	f[20] = dir ? 0 : 0x9c;
	f[21] = dir ? 25 : 0x40;
	f[22] = dir ? 0x9c : 0;
	f[23] = dir ? 0x40 : 25;
	f[24] = (uint8_t)(seq >> 24);
	f[25] = (uint8_t)(seq >> 16);
	f[26] = (uint8_t)(seq >> 8);
	f[27] = (uint8_t)seq;
	f[28] = (uint8_t)(ack >> 24);
	f[29] = (uint8_t)(ack >> 16);
	f[30] = (uint8_t)(ack >> 8);
	f[31] = (uint8_t)ack;
	f[32] = 5 << 4;
	f[33] = flags;
	memcpy(f + 40, payload ? payload : "", n);
	clock_s += 0.001;
	ts.sec = (int64_t)clock_s;
	ts.nsec = (uint32_t)((clock_s - (double)ts.sec) * 1e9);
	wt_feed(ctx, LT_RAW, &ts, (uint32_t)(caplen_cut ? caplen_cut : total),
		(uint32_t)total, f);
}

static void
handshake(wt_ctx_t *ctx, uint32_t isn_c, uint32_t isn_s)
{
	seg(ctx, 0, isn_c, 0, F_SYN, NULL, 0);
	seg(ctx, 1, isn_s, isn_c + 1, F_SYN | F_ACK, NULL, 0);
	seg(ctx, 0, isn_c + 1, isn_s + 1, F_ACK, NULL, 0);
}

static void
assert_dir(int dir, const char *want)
{
	cr_assert_eq(G.len[dir], strlen(want), "dir %d: %zu bytes, want %zu", dir,
		     G.len[dir], strlen(want));
	cr_assert_eq(memcmp(G.data[dir], want, strlen(want)), 0, "dir %d: %.*s",
		     dir, (int)G.len[dir], G.data[dir]);
}

Test(tcp, in_order_both_directions)
{
	wt_ctx_t *ctx = setup_ctx(0, NULL);
	handshake(ctx, 100, 5000);
	seg(ctx, 1, 5001, 101, F_ACK, "220 hi\r\n", 0);
	seg(ctx, 0, 101, 5009, F_ACK, "EHLO a\r\n", 0);
	seg(ctx, 1, 5009, 109, F_ACK, "250 ok\r\n", 0);
	seg(ctx, 0, 109, 5017, F_ACK | F_FIN, "QUIT\r\n", 0);
	seg(ctx, 1, 5017, 116, F_ACK | F_FIN, NULL, 0);
	seg(ctx, 0, 116, 5018, F_ACK, NULL, 0);
	teardown_ctx(ctx);
	assert_dir(0, "EHLO a\r\nQUIT\r\n");
	assert_dir(1, "220 hi\r\n250 ok\r\n");
	cr_assert_eq(json_array_size(G.flows), 1);
	json_t *fl = json_array_get(G.flows, 0);
	cr_assert_str_eq(json_string_value(json_object_get(fl, "end")), "fin");
	cr_assert_eq(json_integer_value(json_object_get(fl, "first_frame")), 1);
	cr_assert_eq(json_integer_value(json_object_get(fl, "last_frame")), 9);
	cr_assert_eq(json_integer_value(json_object_get(fl, "gaps")), 0);
	cr_assert(json_is_false(json_object_get(fl, "midstream")));
}

Test(tcp, out_of_order_is_buffered_then_released)
{
	wt_ctx_t *ctx = setup_ctx(0, NULL);
	handshake(ctx, 100, 5000);
	seg(ctx, 0, 107, 5001, F_ACK, "def", 0);
	seg(ctx, 0, 104, 5001, F_ACK, "abc", 0);
	cr_assert_eq(G.len[0], 0);
	seg(ctx, 0, 101, 5001, F_ACK, "123", 0);
	assert_dir(0, "123abcdef");
	teardown_ctx(ctx);
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(G.summary, "counters"), "tcp_out_of_order")), 2);
}

Test(tcp, retransmissions_are_dropped)
{
	wt_ctx_t *ctx = setup_ctx(0, NULL);
	handshake(ctx, 100, 5000);
	seg(ctx, 0, 101, 5001, F_ACK, "hello", 0);
	seg(ctx, 0, 101, 5001, F_ACK, "hello", 0);
	seg(ctx, 0, 106, 5001, F_ACK, " world", 0);
	seg(ctx, 0, 101, 5001, F_ACK, "hello", 0);
	teardown_ctx(ctx);
	assert_dir(0, "hello world");
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(G.summary, "counters"), "tcp_retransmit")), 2);
}

Test(tcp, overlap_first_received_wins)
{
	wt_ctx_t *ctx = setup_ctx(0, NULL);
	handshake(ctx, 100, 5000);
	seg(ctx, 0, 101, 5001, F_ACK, "AAAA", 0);
	/* overlaps delivered bytes 3-4 with different data: old bytes win */
	seg(ctx, 0, 103, 5001, F_ACK, "xxBB", 0);
	/* out of order, then an earlier segment overlapping it */
	seg(ctx, 0, 109, 5001, F_ACK, "DD", 0);
	seg(ctx, 0, 107, 5001, F_ACK, "CCyy", 0);
	teardown_ctx(ctx);
	assert_dir(0, "AAAABBCCDD");
}

Test(tcp, gap_reported_when_peer_acks_unseen_data)
{
	wt_ctx_t *ctx = setup_ctx(0, NULL);
	handshake(ctx, 100, 5000);
	seg(ctx, 0, 101, 5001, F_ACK, "one ", 0);
	/* "two " (seq 105) is lost; "three" waits */
	seg(ctx, 0, 109, 5001, F_ACK, "three", 0);
	cr_assert_eq(G.gaps[0], 0);
	/* the server acknowledges everything: the hole will not be filled */
	seg(ctx, 1, 5001, 114, F_ACK, NULL, 0);
	cr_assert_eq(G.gaps[0], 4);
	assert_dir(0, "one three");
	teardown_ctx(ctx);
	json_t *fl = json_array_get(G.flows, 0);
	cr_assert_eq(json_integer_value(json_object_get(fl, "gaps")), 1);
	cr_assert_eq(json_integer_value(json_object_get(fl, "gap_bytes")), 4);
}

Test(tcp, gap_flushed_at_end_of_capture)
{
	wt_ctx_t *ctx = setup_ctx(0, NULL);
	handshake(ctx, 100, 5000);
	seg(ctx, 0, 101, 5001, F_ACK, "one ", 0);
	seg(ctx, 0, 109, 5001, F_ACK, "three", 0);
	teardown_ctx(ctx);
	cr_assert_eq(G.gaps[0], 4);
	assert_dir(0, "one three");
}

Test(tcp, sequence_wraparound)
{
	wt_ctx_t *ctx = setup_ctx(0, NULL);
	uint32_t isn = 0xfffffff8u;
	handshake(ctx, isn, 5000);
	seg(ctx, 0, isn + 1, 5001, F_ACK, "0123456", 0);     /* ends at 0xffffffff+1 */
	seg(ctx, 0, isn + 15, 5001, F_ACK, "EFG", 0);         /* after the wrap, early */
	seg(ctx, 0, isn + 8, 5001, F_ACK, "789ABCD", 0);      /* crosses 0 */
	teardown_ctx(ctx);
	assert_dir(0, "0123456789ABCDEFG");
}

Test(tcp, picked_up_mid_stream)
{
	wt_ctx_t *ctx = setup_ctx(0, NULL);
	seg(ctx, 1, 7000, 300, F_ACK, "250 ok\r\n", 0);
	seg(ctx, 0, 300, 7008, F_ACK, "QUIT\r\n", 0);
	seg(ctx, 1, 7008, 306, F_ACK, "221 bye\r\n", 0);
	teardown_ctx(ctx);
	/* the first packet's sender is the client, as Wireshark's follow shows */
	assert_dir(0, "250 ok\r\n221 bye\r\n");
	assert_dir(1, "QUIT\r\n");
	cr_assert(json_is_true(json_object_get(json_array_get(G.flows, 0), "midstream")));
}

Test(tcp, snaplen_cut_becomes_a_gap)
{
	wt_ctx_t *ctx = setup_ctx(0, NULL);
	handshake(ctx, 100, 5000);
	seg(ctx, 0, 101, 5001, F_ACK, "abcdefghij", 40 + 4); /* only "abcd" captured */
	seg(ctx, 0, 111, 5001, F_ACK, "XYZ", 0);
	teardown_ctx(ctx);
	assert_dir(0, "abcdXYZ");
	cr_assert_eq(G.gaps[0], 6);
}

Test(tcp, port_reuse_starts_a_new_stream)
{
	wt_ctx_t *ctx = setup_ctx(UINT64_MAX, NULL);
	handshake(ctx, 100, 5000);
	seg(ctx, 0, 101, 5001, F_ACK | F_FIN, "x", 0);
	seg(ctx, 1, 5001, 103, F_ACK | F_FIN, NULL, 0);
	seg(ctx, 0, 103, 5002, F_ACK, NULL, 0);
	handshake(ctx, 90000, 8000);
	seg(ctx, 0, 90001, 8001, F_ACK, "y", 0);
	teardown_ctx(ctx);
	cr_assert_eq(json_array_size(G.flows), 2);
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(G.flows, 0), "stream")), 0);
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(G.flows, 1), "stream")), 1);
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(G.flows, 1), "first_frame")), 7);
}

Test(tcp, rst_ends_the_connection)
{
	wt_ctx_t *ctx = setup_ctx(0, NULL);
	handshake(ctx, 100, 5000);
	seg(ctx, 0, 101, 5001, F_ACK, "data", 0);
	seg(ctx, 1, 5001, 105, F_RST | F_ACK, NULL, 0);
	teardown_ctx(ctx);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(G.flows, 0), "end")), "rst");
}

Test(tcp, per_flow_buffer_cap_gives_a_gap_not_unbounded_memory)
{
	wt_options_t o;
	wt_options_default(&o);
	o.max_flow_buffer = 8;
	wt_ctx_t *ctx = setup_ctx(0, &o);
	handshake(ctx, 100, 5000);
	/* byte 101 never comes; 20 bytes arrive out of order, over the cap */
	seg(ctx, 0, 102, 5001, F_ACK, "0123456", 0);
	seg(ctx, 0, 109, 5001, F_ACK, "789abcdef", 0);
	teardown_ctx(ctx);
	cr_assert_eq(G.gaps[0], 1);
	assert_dir(0, "0123456789abcdef");
	cr_assert(json_integer_value(json_object_get(json_object_get(G.summary, "caps_hit"), "max_flow_buffer")) >= 1);
}

Test(tcp, flow_table_cap_evicts_the_oldest)
{
	wt_options_t o;
	wt_options_default(&o);
	o.max_flows = 1;
	wt_ctx_t *ctx = setup_ctx(UINT64_MAX, &o);
	handshake(ctx, 100, 5000);
	/* a second connection (other port) forces the first out */
	uint8_t f[40];
	memset(f, 0, sizeof f);
	f[0] = 0x45;
	f[3] = 40;
	f[9] = 6;
	f[12] = 10; f[15] = 3;
	f[16] = 10; f[19] = 2;
	f[21] = 99; f[23] = 25;
	f[32] = 5 << 4;
	f[33] = F_SYN;
	wt_time_t ts = {2000, 0};
	wt_feed(ctx, LT_RAW, &ts, 40, 40, f);
	teardown_ctx(ctx);
	cr_assert_eq(json_array_size(G.flows), 2);
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(G.flows, 0), "end")), "evicted");
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(G.summary, "caps_hit"), "max_flows")), 1);
}

Test(tcp, late_packet_after_idle_timeout_keeps_the_stream_number)
{
	wt_options_t o;
	wt_options_default(&o);
	o.tcp_idle_timeout = 5;
	wt_ctx_t *ctx = setup_ctx(UINT64_MAX, &o);
	handshake(ctx, 100, 5000);
	seg(ctx, 0, 101, 5001, F_ACK, "early ", 0);
	clock_s += 60; /* the connection times out */
	seg(ctx, 0, 107, 5001, F_ACK, "late", 0);
	/* a retransmission of old bytes after the timeout is still old */
	seg(ctx, 0, 101, 5001, F_ACK, "early ", 0);
	teardown_ctx(ctx);
	assert_dir(0, "early late");
	cr_assert_eq(json_array_size(G.flows), 2);
	json_t *a = json_array_get(G.flows, 0), *b = json_array_get(G.flows, 1);
	cr_assert_str_eq(json_string_value(json_object_get(a, "end")), "timeout");
	cr_assert_eq(json_integer_value(json_object_get(b, "stream")), 0);
	cr_assert(json_is_true(json_object_get(b, "continued")));
	cr_assert(json_is_false(json_object_get(a, "continued")));
}

Test(tcp, repeated_syn_with_the_same_number_is_the_same_stream)
{
	wt_ctx_t *ctx = setup_ctx(UINT64_MAX, NULL);
	seg(ctx, 0, 100, 0, F_SYN, NULL, 0);
	seg(ctx, 1, 0, 101, F_RST | F_ACK, NULL, 0);
	seg(ctx, 0, 100, 0, F_SYN, NULL, 0);
	seg(ctx, 1, 0, 101, F_RST | F_ACK, NULL, 0);
	teardown_ctx(ctx);
	cr_assert_eq(json_array_size(G.flows), 1);
	cr_assert_eq(json_integer_value(json_object_get(json_array_get(G.flows, 0), "packets")
					    ? json_object_get(json_object_get(json_array_get(G.flows, 0), "packets"), "to_server") : NULL), 2);
}
