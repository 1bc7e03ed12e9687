/* \summary: wt-gencap: writes a large, deterministic synthetic capture for scripts/bench */
/*
 * usage: wt-gencap OUT.pcap SIZE_MB [SEED [SLOTS [GAP_US]]]
 *
 * Writes a classic pcap file (microsecond timestamps, LINKTYPE_ETHERNET) of
 * about SIZE_MB * 10^6 bytes.  The TCP traffic is a simulation of SLOTS
 * (default 4000) concurrent connections; each TCP packet comes from a slot
 * picked at random, so thousands of connections are open at once and
 * their segments interleave, as on a busy link.  One packet in 12 comes
 * instead from a small pool of 16 outstanding DNS/NTP transactions, so
 * that answers follow queries closely.  Packets are GAP_US (default 250)
 * microseconds apart on average, about 20 Mbit/s: a 600 MB file spans
 * some five minutes, longer than the idle timeouts of an analyzer, so
 * flow state must expire while it is read, as in a long real capture.
 *
 *  - SMTP (TCP 25): handshake, banner, EHLO, optional AUTH PLAIN, MAIL FROM,
 *    one to three RCPT TO (some refused), DATA with an RFC 5322 message of a
 *    few KB (dot-stuffed lines, sometimes a multipart/mixed base64
 *    attachment), sometimes a second message, QUIT, FIN or RST;
 *  - bulk TCP on ports 443 and 8080 (no dissector claims them: wiretale
 *    must only count them), opaque bytes in MSS-sized segments;
 *  - DNS over UDP 53: valid RFC 1035 messages (A with CNAME chains, AAAA,
 *    MX, TXT, NXDOMAIN with an SOA authority, EDNS OPT), answers using
 *    compression pointers, from many clients, a few never answered;
 *  - NTP on UDP 123 (another unclaimed UDP flow).
 *
 * About 10% of conversations use IPv6.  2.5% of TCP data segments are sent
 * out of order (swapped with the next one) and 2% are retransmitted as
 * exact duplicates.  Timestamps increase monotonically.  IPv4 header, TCP
 * and UDP checksums are computed.  The same SEED gives the same bytes.
 *
 * About 8 KB per open conversation before SIZE_MB is reached, no new
 * conversation starts and the transfers in flight are shortened, so that
 * (nearly) all conversations end properly; the file is then within a few
 * per cent of SIZE_MB (never more than one packet past it: writing stops
 * there, and whatever is still open ends with the capture, as in a real
 * trace).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SNAPLEN 262144u
#define OBUF_CAP (8u << 20)     /* output buffer: few large writes */
#define RTAB_SIZE (1u << 20)    /* random bytes used as opaque payload */
#define MSG_CAP (48u << 10)     /* largest SMTP message we compose */
#define FRAME_MAX 1600u
#define DEFAULT_SLOTS 4000u
#define DEFAULT_GAP_US 250u     /* mean gap between two packets */
#define UDP_SLOTS 16u           /* DNS/NTP transactions outstanding at once */
#define UDP_ODDS 12u            /* 1 packet in UDP_ODDS is DNS or NTP */

/* ------------------------------------------------------------------ */
/* Deterministic PRNG (splitmix64): fast and good enough for traffic. */

static uint64_t rng_state;

static uint64_t
rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, n), n < 2^32. */
static uint32_t
rnd_below(uint32_t n)
{
	return (uint32_t)(((rnd() >> 32) * (uint64_t)n) >> 32);
}

static uint32_t
rnd_range(uint32_t lo, uint32_t hi)
{
	return lo + rnd_below(hi - lo + 1);
}

/* True with probability per_mille / 1000. */
static int
chance(uint32_t per_mille)
{
	return rnd_below(1000) < per_mille;
}

/* ------------------------------------------------------------------ */
/* Output: the pcap file through one large buffer. */

static FILE *out_fp;
static unsigned char *obuf;
static size_t olen;
static uint64_t out_bytes, out_pkts;
static uint64_t clock_us;
static uint32_t gap_us = DEFAULT_GAP_US;

static void
die(const char *what)
{
	perror(what);
	exit(1);
}

static void
out_flush(void)
{
	if (olen && fwrite(obuf, 1, olen, out_fp) != olen)
		die("wt-gencap: write");
	olen = 0;
}

static void
put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static void
put_be16(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static void
put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static void
out_header(void)
{
	unsigned char h[24];

	put_le32(h, 0xa1b2c3d4u);          /* microsecond resolution */
	h[4] = 2; h[5] = 0; h[6] = 4; h[7] = 0; /* version 2.4 */
	put_le32(h + 8, 0);                 /* thiszone */
	put_le32(h + 12, 0);                /* sigfigs */
	put_le32(h + 16, SNAPLEN);
	put_le32(h + 20, 1);                /* LINKTYPE_ETHERNET */
	memcpy(obuf, h, sizeof h);
	olen = sizeof h;
	out_bytes = sizeof h;
}

/* Appends one record; the clock advances by a random gap first, so
 * timestamps are strictly monotonic in file order. */
static void
out_packet(const unsigned char *f, size_t len)
{
	if (olen + 16 + len > OBUF_CAP)
		out_flush();
	clock_us += 1 + rnd_below(2 * gap_us - 1);
	put_le32(obuf + olen, (uint32_t)(clock_us / 1000000u));
	put_le32(obuf + olen + 4, (uint32_t)(clock_us % 1000000u));
	put_le32(obuf + olen + 8, (uint32_t)len);
	put_le32(obuf + olen + 12, (uint32_t)len);
	memcpy(obuf + olen + 16, f, len);
	olen += 16 + len;
	out_bytes += 16 + len;
	out_pkts++;
}

/* ------------------------------------------------------------------ */
/* Frames: Ethernet + IPv4/IPv6 + TCP/UDP. */

struct addrs {
	int v6;
	unsigned char cip[16], sip[16];  /* client and server address */
	uint16_t cport, sport;
};

static uint16_t ip_id;
static unsigned char rtab[RTAB_SIZE + FRAME_MAX];

static uint64_t
sum16(const unsigned char *p, size_t n, uint64_t acc)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		acc += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		acc += (uint32_t)p[n - 1] << 8;
	return acc;
}

static uint16_t
fold(uint64_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)~acc;
}

/*
 * Writes Ethernet and IP headers for an L4 segment of l4len bytes going
 * client->server (to_server) or back; returns the offset of the L4 header.
 * *pseudo receives the pseudo-header sum for the L4 checksum.
 */
static size_t
put_l3(unsigned char *f, const struct addrs *a, int to_server, uint8_t proto,
       size_t l4len, uint64_t *pseudo)
{
	const unsigned char *src = to_server ? a->cip : a->sip;
	const unsigned char *dst = to_server ? a->sip : a->cip;
	size_t alen = a->v6 ? 16 : 4;
	unsigned char *ip = f + 14;
	uint64_t ps;

	/* Locally administered MACs derived from the addresses. */
	f[0] = 0x02; f[1] = 0x00; memcpy(f + 2, dst + alen - 4, 4);
	f[6] = 0x02; f[7] = 0x01; memcpy(f + 8, src + alen - 4, 4);
	ps = sum16(src, alen, 0);
	ps = sum16(dst, alen, ps);
	ps += proto + l4len;
	*pseudo = ps;
	if (a->v6) {
		put_be16(f + 12, 0x86dd);
		put_be32(ip, 0x60000000u);
		put_be16(ip + 4, (uint32_t)l4len);
		ip[6] = proto;
		ip[7] = 64;
		memcpy(ip + 8, src, 16);
		memcpy(ip + 24, dst, 16);
		return 14 + 40;
	}
	put_be16(f + 12, 0x0800);
	ip[0] = 0x45;
	ip[1] = 0;
	put_be16(ip + 2, (uint32_t)(20 + l4len));
	put_be16(ip + 4, ip_id++);
	put_be16(ip + 6, 0x4000);   /* DF */
	ip[8] = 64;
	ip[9] = proto;
	ip[10] = ip[11] = 0;
	memcpy(ip + 12, src, 4);
	memcpy(ip + 16, dst, 4);
	put_be16(ip + 10, fold(sum16(ip, 20, 0)));
	return 14 + 20;
}

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10

static size_t
mk_tcp(unsigned char *f, const struct addrs *a, int to_server, uint32_t seq,
       uint32_t ack, uint8_t flags, const unsigned char *pl, size_t plen)
{
	/* SYNs carry MSS, SACK-permitted and window scale (RFC 9293, 7323). */
	static const unsigned char synopt[12] = {
		2, 4, 0, 0, 1, 1, 4, 2, 1, 3, 3, 7
	};
	size_t optlen = (flags & TH_SYN) ? sizeof synopt : 0;
	size_t thl = 20 + optlen;
	uint64_t ps;
	size_t o = put_l3(f, a, to_server, 6, thl + plen, &ps);
	unsigned char *t = f + o;

	put_be16(t, to_server ? a->cport : a->sport);
	put_be16(t + 2, to_server ? a->sport : a->cport);
	put_be32(t + 4, seq);
	put_be32(t + 8, (flags & TH_ACK) ? ack : 0);
	t[12] = (unsigned char)((thl / 4) << 4);
	t[13] = flags;
	put_be16(t + 14, (flags & TH_SYN) ? 64240 : 502);
	t[16] = t[17] = 0;
	t[18] = t[19] = 0;
	if (optlen) {
		memcpy(t + 20, synopt, optlen);
		put_be16(t + 22, a->v6 ? 1440 : 1460);
	}
	if (plen)
		memcpy(t + thl, pl, plen);
	put_be16(t + 16, fold(sum16(t, thl + plen, ps)));
	return o + thl + plen;
}

static size_t
mk_udp(unsigned char *f, const struct addrs *a, int to_server,
       const unsigned char *pl, size_t plen)
{
	uint64_t ps;
	size_t o = put_l3(f, a, to_server, 17, 8 + plen, &ps);
	unsigned char *u = f + o;
	uint16_t ck;

	put_be16(u, to_server ? a->cport : a->sport);
	put_be16(u + 2, to_server ? a->sport : a->cport);
	put_be16(u + 4, (uint32_t)(8 + plen));
	u[6] = u[7] = 0;
	memcpy(u + 8, pl, plen);
	ck = fold(sum16(u, 8 + plen, ps));
	put_be16(u + 6, ck ? ck : 0xffff);  /* RFC 768: 0 means "none" */
	return o + 8 + plen;
}

/* ------------------------------------------------------------------ */
/* A growing text buffer with a hard cap (for SMTP messages). */

struct sb {
	unsigned char *p;
	size_t len, cap;
};

static void
sb_put(struct sb *b, const char *s, size_t n)
{
	if (n > b->cap - b->len)
		n = b->cap - b->len;
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void
sb_puts(struct sb *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

static void sb_printf(struct sb *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
sb_printf(struct sb *b, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n > 0)
		sb_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* ------------------------------------------------------------------ */
/* Vocabulary. */

static const char *const words[] = {
	"the", "meeting", "report", "quarterly", "budget", "review", "please",
	"attached", "find", "update", "project", "schedule", "thanks", "team",
	"regards", "network", "server", "capture", "analysis", "invoice",
	"payment", "delivery", "customer", "request", "approved", "pending",
	"tomorrow", "morning", "agenda", "minutes", "draft", "final", "version",
	"deadline", "release", "notes", "issue", "resolved", "ticket", "support",
	"we", "will", "have", "to", "and", "of", "in", "for", "on", "with",
	"is", "a", "this", "that", "be", "are", "from", "at", "as", "your",
	"all", "can", "our", "by",
};
#define NWORDS (sizeof words / sizeof words[0])

static const char *const users[] = {
	"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi",
	"ivan", "judy", "mallory", "niaj", "olivia", "peggy", "rupert", "sybil",
	"trent", "victor", "walter", "billing", "noreply", "support", "sales",
	"hr",
};
#define NUSERS (sizeof users / sizeof users[0])

static const char *const maildoms[] = {
	"example.com", "example.net", "example.org", "corp.example",
	"mail.example.com", "lists.example.org", "shop.example",
	"bank.example",
};
#define NMAILDOMS (sizeof maildoms / sizeof maildoms[0])

static const char *const dnsdoms[] = {
	"example.com", "example.net", "example.org", "wikipedia.org",
	"debian.org", "kernel.org", "gnu.org", "ietf.org", "iana.org",
	"wireshark.org", "tcpdump.org", "python.org", "rust-lang.org",
	"mozilla.org", "apache.org", "nginx.org", "openssl.org", "cdn.example",
	"static.example.net", "api.example.com", "shop.example", "corp.example",
	"bank.example", "news.example.org", "video.example.com",
	"mail.example.net", "maps.example.org", "cloud.example",
	"storage.example.com", "search.example",
};
#define NDNSDOMS (sizeof dnsdoms / sizeof dnsdoms[0])

static const char *const hosts[] = {
	"www", "mail", "api", "cdn", "img", "static", "login", "auth", "ftp",
	"ns1", "smtp", "imap", "pop", "vpn", "git", "docs", "blog", "m",
};
#define NHOSTS (sizeof hosts / sizeof hosts[0])

static const char *const wdays[] = { "Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed" };
static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

/* RFC 5322 date-time of the simulated clock (UTC, proleptic Gregorian). */
static void
sb_date(struct sb *b, uint64_t us)
{
	uint64_t s = us / 1000000u, days = s / 86400u, rem = s % 86400u;
	/* days since 1970-01-01 -> civil date (H. Hinnant's algorithm) */
	int64_t z = (int64_t)days + 719468;
	int64_t era = z / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int64_t d = doy - (153 * mp + 2) / 5 + 1;
	int64_t m = mp < 10 ? mp + 3 : mp - 9;
	int64_t y = yoe + era * 400 + (m <= 2);

	sb_printf(b, "%s, %d %s %d %02u:%02u:%02u +0000", wdays[days % 7],
		  (int)d, months[m - 1], (int)y, (unsigned)(rem / 3600),
		  (unsigned)(rem / 60 % 60), (unsigned)(rem % 60));
}

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Base64 (RFC 2045, 76-character lines) of n opaque bytes. */
static void
sb_base64(struct sb *b, const unsigned char *p, size_t n)
{
	char line[80];
	size_t i, l = 0;

	for (i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		size_t k = n - i < 3 ? n - i : 3;

		if (k > 1)
			v |= (uint32_t)p[i + 1] << 8;
		if (k > 2)
			v |= p[i + 2];
		line[l++] = b64[v >> 18 & 63];
		line[l++] = b64[v >> 12 & 63];
		line[l++] = k > 1 ? b64[v >> 6 & 63] : '=';
		line[l++] = k > 2 ? b64[v & 63] : '=';
		if (l == 76) {
			sb_put(b, line, l);
			sb_puts(b, "\r\n");
			l = 0;
		}
	}
	if (l) {
		sb_put(b, line, l);
		sb_puts(b, "\r\n");
	}
}

/* Text of about n bytes in lines of at most 72 characters; some lines
 * start with '.', which SMTP transparency (RFC 5321 4.5.2) doubles. */
static void
sb_text(struct sb *b, size_t n)
{
	size_t start = b->len;

	while (b->len - start < n && b->cap - b->len > 200) {
		size_t ll = 0;

		if (chance(20)) {
			sb_puts(b, "..");
			ll = 2;
		}
		while (ll < 60) {
			const char *w = words[rnd_below(NWORDS)];

			if (ll && ll != 2)
				sb_puts(b, " ");
			sb_puts(b, w);
			ll += strlen(w) + 1;
		}
		sb_puts(b, chance(100) ? ".\r\n\r\n" : "\r\n");
	}
}

/* ------------------------------------------------------------------ */
/* Conversations. */

enum kind { K_SMTP, K_BULK, K_DNS, K_NTP };

enum tstate {
	T_SYN, T_SYNACK, T_ACK, T_DATA, T_FIN1, T_FIN2, T_LASTACK, T_DONE
};

struct sess {
	enum kind kind;
	int state;               /* enum tstate for TCP, step for UDP */
	struct addrs a;
	uint32_t seq[2];         /* next sequence number: [0] client, [1] server */
	/* the message being sent */
	int mdir;                /* 0 client->server, 1 server->client */
	int mbulk;               /* opaque bytes from rtab, not from msg */
	size_t mlen, moff;
	uint32_t msalt;
	struct sb msg;
	int unacked;             /* segments since the receiver last acked */
	int need_ack;            /* the receiver owes a pure ACK */
	int step;                /* application script position */
	int nrcpt, rcpt_i, rcpt_ok, nmsgs, auth;
	int closer, rst;
	int nreq;
	uint16_t dns_id;
	/* a held (out-of-order) or duplicated segment, written after the next
	 * packet of this conversation */
	size_t pendlen;
	unsigned char pend[FRAME_MAX];
};

static struct {
	uint64_t tcp, smtp, bulk, dns, dns_lost, ntp, msgs, ooo, retx, rst;
	uint64_t v6, open_tcp, max_open_tcp;
} st;

static uint64_t sess_counter, dns_counter;
static int draining;

static void
addr_v4(unsigned char *ip, unsigned a, unsigned b, unsigned c, unsigned d)
{
	memset(ip, 0, 16);
	ip[0] = (unsigned char)a; ip[1] = (unsigned char)b;
	ip[2] = (unsigned char)c; ip[3] = (unsigned char)d;
}

static void
addr_v6(unsigned char *ip, uint16_t net, uint32_t host)
{
	memset(ip, 0, 16);
	ip[0] = 0x20; ip[1] = 0x01; ip[2] = 0x0d; ip[3] = 0xb8;
	put_be16(ip + 4, net);
	put_be32(ip + 12, host);
}

/* Emits a frame of conversation s.  Data segments (kind 1 = may be held
 * back because the next packet is the following segment of the same
 * direction, kind 2 = data) are sometimes reordered or duplicated. */
static void
emit(struct sess *s, const unsigned char *f, size_t len, int data)
{
	if (data && !s->pendlen) {
		uint32_t r = rnd_below(1000);

		if (r < 25 && data == 1) {
			memcpy(s->pend, f, len);
			s->pendlen = len;
			st.ooo++;
			return;
		}
		out_packet(f, len);
		if (r >= 25 && r < 45) {
			memcpy(s->pend, f, len);
			s->pendlen = len;
			st.retx++;
		}
		return;
	}
	out_packet(f, len);
	if (s->pendlen) {
		out_packet(s->pend, s->pendlen);
		s->pendlen = 0;
	}
}

static void
new_msg(struct sess *s, int dir)
{
	s->mdir = dir;
	s->mbulk = 0;
	s->msg.len = 0;
	s->moff = 0;
}

static void
smtp_message(struct sess *s, const char *from, const char *fromdom)
{
	struct sb *b = &s->msg;
	uint64_t mid = rnd();
	int multipart = chance(300);

	sb_printf(b, "Received: from client%llu.example.org (client%llu.example.org)\r\n"
		  "\tby mx.example.net with ESMTP id %08llX;\r\n\t",
		  (unsigned long long)s->a.cport, (unsigned long long)s->a.cport,
		  (unsigned long long)(mid & 0xffffffffu));
	sb_date(b, clock_us);
	sb_printf(b, "\r\nFrom: \"%c%s Sender\" <%s@%s>\r\n", from[0] - 32,
		  from + 1, from, fromdom);
	sb_printf(b, "To: <%s@%s>\r\n", users[rnd_below(NUSERS)],
		  maildoms[rnd_below(NMAILDOMS)]);
	if (chance(100))
		sb_puts(b, "Subject: =?UTF-8?Q?Caf=C3=A9_meeting_r=C3=A9sum=C3=A9?=\r\n");
	else
		sb_printf(b, "Subject: %s %s %s\r\n", words[rnd_below(NWORDS)],
			  words[rnd_below(NWORDS)], words[rnd_below(NWORDS)]);
	sb_puts(b, "Date: ");
	sb_date(b, clock_us);
	sb_printf(b, "\r\nMessage-ID: <%016llx@%s>\r\nMIME-Version: 1.0\r\n",
		  (unsigned long long)mid, fromdom);
	if (!multipart) {
		sb_puts(b, "Content-Type: text/plain; charset=us-ascii\r\n"
			"Content-Transfer-Encoding: 7bit\r\n\r\n");
		sb_text(b, rnd_range(1500, 12000));
	} else {
		unsigned long long bnd = (unsigned long long)(mid >> 16);
		uint32_t alen = rnd_range(800, 6000);

		sb_printf(b, "Content-Type: multipart/mixed; boundary=\"=_b%llx\"\r\n\r\n"
			  "This is a multi-part message in MIME format.\r\n\r\n"
			  "--=_b%llx\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n",
			  bnd, bnd);
		sb_text(b, rnd_range(500, 4000));
		sb_printf(b, "\r\n--=_b%llx\r\nContent-Type: application/octet-stream; "
			  "name=\"report-%u.bin\"\r\nContent-Transfer-Encoding: base64\r\n"
			  "Content-Disposition: attachment; filename=\"report-%u.bin\"\r\n\r\n",
			  bnd, (unsigned)(mid & 0xffff), (unsigned)(mid & 0xffff));
		sb_base64(b, rtab + rnd_below(RTAB_SIZE - 8192), alen);
		sb_printf(b, "\r\n--=_b%llx--\r\n", bnd);
	}
	if (b->len >= 2 && !(b->p[b->len - 2] == '\r' && b->p[b->len - 1] == '\n'))
		sb_puts(b, "\r\n");
	/* The terminator must fit: the text writers leave 200 bytes free. */
	sb_puts(b, ".\r\n");
}

/*
 * Produces the next SMTP message of the dialogue into s->msg; returns 0
 * when the dialogue is over.  RFC 5321 4.1/4.2 commands and replies.
 */
static int
smtp_next(struct sess *s)
{
	static const char *const smtpsrv[] = { "mx1.example.net", "mx2.example.net",
		"mail.example.com", "smtp.example.org" };
	struct sb *b = &s->msg;
	const char *srv = smtpsrv[s->a.sip[3] % 4];
	const char *from = users[s->msalt % NUSERS];
	const char *fromdom = maildoms[(s->msalt >> 8) % NMAILDOMS];

	switch (s->step++) {
	case 0:
		new_msg(s, 1);
		sb_printf(b, "220 %s ESMTP Postfix (Debian/GNU)\r\n", srv);
		return 1;
	case 1:
		new_msg(s, 0);
		sb_printf(b, "EHLO client%u.example.org\r\n", (unsigned)s->a.cport);
		return 1;
	case 2:
		new_msg(s, 1);
		sb_printf(b, "250-%s\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
			  "250-AUTH PLAIN LOGIN\r\n250-ENHANCEDSTATUSCODES\r\n"
			  "250-8BITMIME\r\n250 SMTPUTF8\r\n", srv);
		if (!s->auth)
			s->step = 5;
		return 1;
	case 3:
		new_msg(s, 0);
		/* base64("\0user\0secret-NNNN") */
		{
			char cred[64];
			int n = snprintf(cred, sizeof cred, "%c%s%csecret-%04u", 0,
					 from, 0, (unsigned)(s->msalt % 10000));

			sb_puts(b, "AUTH PLAIN ");
			sb_base64(b, (const unsigned char *)cred, (size_t)n);
		}
		return 1;
	case 4:
		new_msg(s, 1);
		sb_puts(b, "235 2.7.0 Authentication successful\r\n");
		return 1;
	case 5:
		new_msg(s, 0);
		s->rcpt_i = s->rcpt_ok = 0;
		s->nrcpt = (int)rnd_range(1, 3);
		sb_printf(b, "MAIL FROM:<%s@%s> SIZE=%u\r\n", from, fromdom,
			  rnd_range(2000, 20000));
		return 1;
	case 6:
		new_msg(s, 1);
		sb_puts(b, "250 2.1.0 Ok\r\n");
		return 1;
	case 7:
		new_msg(s, 0);
		sb_printf(b, "RCPT TO:<%s@%s>\r\n", users[rnd_below(NUSERS)],
			  maildoms[rnd_below(NMAILDOMS)]);
		return 1;
	case 8:
		new_msg(s, 1);
		if (chance(80)) {
			sb_puts(b, "550 5.1.1 <unknown>: Recipient address rejected: "
				"User unknown in local recipient table\r\n");
		} else {
			sb_puts(b, "250 2.1.5 Ok\r\n");
			s->rcpt_ok++;
		}
		if (++s->rcpt_i < s->nrcpt)
			s->step = 7;
		else if (!s->rcpt_ok)
			s->step = 13;
		return 1;
	case 9:
		new_msg(s, 0);
		sb_puts(b, "DATA\r\n");
		return 1;
	case 10:
		new_msg(s, 1);
		sb_puts(b, "354 End data with <CR><LF>.<CR><LF>\r\n");
		return 1;
	case 11:
		new_msg(s, 0);
		smtp_message(s, from, fromdom);
		st.msgs++;
		return 1;
	case 12:
		new_msg(s, 1);
		sb_printf(b, "250 2.0.0 Ok: queued as %010llX\r\n",
			  (unsigned long long)(rnd() & 0xffffffffffULL));
		if (s->nmsgs-- > 0 && !draining)
			s->step = 5;
		return 1;
	case 13:
		new_msg(s, 0);
		sb_puts(b, "QUIT\r\n");
		return 1;
	case 14:
		new_msg(s, 1);
		sb_puts(b, "221 2.0.0 Bye\r\n");
		return 1;
	default:
		return 0;
	}
}

/* Bulk: requests of a few hundred bytes, responses of 4 KB .. 400 KB. */
static int
bulk_next(struct sess *s)
{
	if (s->step >= 2 * s->nreq || (draining && !(s->step & 1)))
		return 0;
	s->mdir = s->step & 1;
	s->mbulk = 1;
	s->moff = 0;
	if (!s->mdir) {
		s->mlen = rnd_range(150, 700);
	} else {
		/* log-uniform between 4 KB and 400 KB: 100 steps of 100^(1/100) */
		uint32_t k = rnd_below(100);
		double v = 4096.0;

		while (k--)
			v *= 1.0471285;
		s->mlen = (size_t)v + rnd_below(1460);
		if (draining && s->mlen > 32768)
			s->mlen = 32768;
	}
	s->msalt = (uint32_t)rnd();
	s->step++;
	return 1;
}

static void
sess_new_tcp(struct sess *s, enum kind k)
{
	uint64_t id = sess_counter++;
	uint32_t idx = (uint32_t)(id % 60000u) + 1;

	s->kind = k;
	s->state = T_SYN;
	s->a.v6 = chance(100);
	if (s->a.v6) {
		addr_v6(s->a.cip, 1, idx);
		st.v6++;
	} else {
		addr_v4(s->a.cip, 10, idx >> 16, (idx >> 8) & 255, idx & 255);
	}
	/* distinct 4-tuples for 3 billion connections: never reused while open */
	s->a.cport = (uint16_t)(10000 + (id / 60000u) % 50000u);
	s->seq[0] = (uint32_t)rnd();
	s->seq[1] = (uint32_t)rnd();
	s->unacked = s->need_ack = 0;
	s->step = 0;
	s->pendlen = 0;
	s->rst = 0;
	s->msalt = (uint32_t)rnd();
	s->mlen = s->moff = 0;
	s->msg.len = 0;
	if (k == K_SMTP) {
		uint32_t srv = rnd_range(1, 32);

		if (s->a.v6)
			addr_v6(s->a.sip, 0x25, srv);
		else
			addr_v4(s->a.sip, 192, 0, 2, srv);
		s->a.sport = 25;
		s->auth = chance(200);
		s->nmsgs = chance(150) ? 1 : 0;
		if (!s->msg.p) {
			s->msg.p = malloc(MSG_CAP);
			if (!s->msg.p)
				die("wt-gencap: malloc");
			s->msg.cap = MSG_CAP;
		}
		st.smtp++;
	} else {
		uint32_t srv = rnd_range(1, 200);

		if (s->a.v6)
			addr_v6(s->a.sip, 0x443, srv);
		else
			addr_v4(s->a.sip, 198, 51, 100, srv);
		s->a.sport = chance(700) ? 443 : 8080;
		s->nreq = chance(700) ? 1 : (int)rnd_range(2, 4);
		st.bulk++;
	}
	s->rst = chance(40);
	s->closer = (int)rnd_below(2);
	st.tcp++;
	if (++st.open_tcp > st.max_open_tcp)
		st.max_open_tcp = st.open_tcp;
}

static void
sess_new_udp(struct sess *s, enum kind k)
{
	uint64_t id = dns_counter++;
	uint32_t client = (uint32_t)(id * 2654435761u % 5000u) + 1;

	s->kind = k;
	s->state = 0;
	s->pendlen = 0;
	s->a.v6 = chance(100);
	if (s->a.v6) {
		addr_v6(s->a.cip, 2, client);
		addr_v6(s->a.sip, 0x53, k == K_DNS ? 0x53 : 0x123);
		st.v6++;
	} else {
		addr_v4(s->a.cip, 10, 200, client >> 8, client & 255);
		addr_v4(s->a.sip, 203, 0, 113, k == K_DNS ? 53 + rnd_below(2) : 123);
	}
	s->a.cport = k == K_DNS ? (uint16_t)rnd_range(1024, 65535) : 123;
	s->a.sport = k == K_DNS ? 53 : 123;
	s->dns_id = (uint16_t)rnd();
	s->msalt = (uint32_t)rnd();
	if (k == K_DNS)
		st.dns++;
	else
		st.ntp++;
}

static void
sess_new(struct sess *s)
{
	if (rnd_below(1000) < 630)
		sess_new_tcp(s, K_SMTP);
	else
		sess_new_tcp(s, K_BULK);
}

static void
sess_new_dgram(struct sess *s)
{
	sess_new_udp(s, rnd_below(1000) < 950 ? K_DNS : K_NTP);
}

static int
app_next(struct sess *s)
{
	return s->kind == K_SMTP ? smtp_next(s) : bulk_next(s);
}

/* One packet (plus a released held one) of TCP conversation s; returns 1
 * when the conversation is over. */
static int
tcp_step(struct sess *s)
{
	unsigned char f[FRAME_MAX];
	size_t len;
	int d;

	switch (s->state) {
	case T_SYN:
		len = mk_tcp(f, &s->a, 1, s->seq[0]++, 0, TH_SYN, NULL, 0);
		emit(s, f, len, 0);
		s->state = T_SYNACK;
		return 0;
	case T_SYNACK:
		len = mk_tcp(f, &s->a, 0, s->seq[1]++, s->seq[0], TH_SYN | TH_ACK, NULL, 0);
		emit(s, f, len, 0);
		s->state = T_ACK;
		return 0;
	case T_ACK:
		len = mk_tcp(f, &s->a, 1, s->seq[0], s->seq[1], TH_ACK, NULL, 0);
		emit(s, f, len, 0);
		s->state = T_DATA;
		return 0;
	case T_DATA:
		if (s->need_ack) {
			d = !s->mdir;
			len = mk_tcp(f, &s->a, d == 0, s->seq[d], s->seq[!d], TH_ACK, NULL, 0);
			emit(s, f, len, 0);
			s->need_ack = 0;
			return 0;
		}
		if (s->moff >= s->mlen) {
			if (!app_next(s)) {
				if (s->rst) {
					d = s->closer;
					len = mk_tcp(f, &s->a, d == 0, s->seq[d], s->seq[!d],
						     TH_RST | TH_ACK, NULL, 0);
					emit(s, f, len, 0);
					st.rst++;
					return 1;
				}
				s->state = T_FIN1;
				return tcp_step(s);
			}
			if (!s->mbulk)
				s->mlen = s->msg.len;
			s->unacked = 0;
		}
		{
			size_t mss = s->a.v6 ? 1440 : 1460;
			size_t n = s->mlen - s->moff < mss ? s->mlen - s->moff : mss;
			const unsigned char *p = s->mbulk
				? rtab + (s->msalt + s->moff) % RTAB_SIZE
				: s->msg.p + s->moff;
			int last, hold;

			d = s->mdir;
			s->moff += n;
			last = s->moff >= s->mlen;
			len = mk_tcp(f, &s->a, d == 0, s->seq[d], s->seq[!d],
				     TH_ACK | (last ? TH_PSH : 0), p, n);
			s->seq[d] += (uint32_t)n;
			/* the receiver acks every second full segment (RFC 9293
			 * 3.8.6.3) and at the end of a bulk transfer */
			if (++s->unacked >= 2 && !last) {
				s->need_ack = 1;
				s->unacked = 0;
			}
			hold = !last && !s->need_ack;
			if (last && s->mbulk && s->mdir == 1)
				s->need_ack = 1;
			emit(s, f, len, hold ? 1 : 2);
		}
		return 0;
	case T_FIN1:
		d = s->closer;
		len = mk_tcp(f, &s->a, d == 0, s->seq[d]++, s->seq[!d], TH_FIN | TH_ACK, NULL, 0);
		emit(s, f, len, 0);
		s->state = T_FIN2;
		return 0;
	case T_FIN2:
		d = !s->closer;
		len = mk_tcp(f, &s->a, d == 0, s->seq[d]++, s->seq[!d], TH_FIN | TH_ACK, NULL, 0);
		emit(s, f, len, 0);
		s->state = T_LASTACK;
		return 0;
	case T_LASTACK:
		d = s->closer;
		len = mk_tcp(f, &s->a, d == 0, s->seq[d], s->seq[!d], TH_ACK, NULL, 0);
		emit(s, f, len, 0);
		s->state = T_DONE;
		return 1;
	default:
		return 1;
	}
}

/* ------------------------------------------------------------------ */
/* DNS (RFC 1035 4.1, RFC 3596, RFC 6891). */

struct dnsb {
	unsigned char p[1024];
	size_t len;
};

static void
d_u8(struct dnsb *m, unsigned v)
{
	if (m->len < sizeof m->p)
		m->p[m->len++] = (unsigned char)v;
}

static void
d_u16(struct dnsb *m, unsigned v)
{
	d_u8(m, v >> 8);
	d_u8(m, v & 255);
}

static void
d_u32(struct dnsb *m, uint32_t v)
{
	d_u16(m, v >> 16);
	d_u16(m, v & 0xffff);
}

/* Writes the labels of a dotted name; terminated by a root label unless
 * ptr >= 0, in which case a compression pointer to ptr ends it. */
static void
d_name(struct dnsb *m, const char *name, int ptr)
{
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);

		d_u8(m, (unsigned)l);
		while (l--)
			d_u8(m, (unsigned char)*name++);
		if (*name == '.')
			name++;
	}
	if (ptr >= 0)
		d_u16(m, 0xc000u | (unsigned)ptr);
	else
		d_u8(m, 0);
}

static void
d_rr(struct dnsb *m, int nameptr, unsigned type, uint32_t ttl)
{
	d_u16(m, 0xc000u | (unsigned)nameptr);
	d_u16(m, type);
	d_u16(m, 1);
	d_u32(m, ttl);
}

/* Backpatches the RDLENGTH at off to cover everything written since. */
static void
d_rdlen_end(struct dnsb *m, size_t off)
{
	put_be16(m->p + off, (uint32_t)(m->len - off - 2));
}

static void
dns_name_of(const struct sess *s, char *name, size_t cap, size_t *zone_off)
{
	uint32_t r = s->msalt;
	const char *dom = dnsdoms[r % NDNSDOMS];
	const char *host = hosts[(r >> 8) % NHOSTS];
	int n;

	/* 10% unique names, as CDN and tracking hosts produce */
	if ((r >> 16) % 10 == 0)
		n = snprintf(name, cap, "h%08x.%s", (unsigned)rnd(), dom);
	else
		n = snprintf(name, cap, "%s.%s", host, dom);
	(void)n;
	/* offset of the zone (the name minus its first label) in the message */
	*zone_off = 12 + 1 + (size_t)(strchr(name, '.') - name);
}

static size_t
dns_build(struct sess *s, int response, unsigned char *out)
{
	static const unsigned qtypes[] = { 1, 1, 1, 1, 28, 28, 15, 16 };
	struct dnsb m;
	char name[128];
	size_t zone, off;
	unsigned qtype = qtypes[(s->msalt >> 20) % 8];
	int edns = (s->msalt >> 24) & 1;
	int nx = ((s->msalt >> 25) % 20) == 0;
	unsigned an = 0, ns = 0, i;
	uint32_t ar;

	/* The name must be the same in query and response: derive from salt. */
	{
		uint64_t save = rng_state;

		rng_state = s->msalt;
		dns_name_of(s, name, sizeof name, &zone);
		rng_state = save;
	}
	m.len = 0;
	d_u16(&m, s->dns_id);
	d_u16(&m, response ? 0x8180u | (nx ? 3u : 0u) : 0x0100u);
	d_u16(&m, 1);
	d_u16(&m, 0); d_u16(&m, 0); d_u16(&m, edns ? 1 : 0);
	d_name(&m, name, -1);
	d_u16(&m, qtype);
	d_u16(&m, 1);
	if (response && nx) {
		/* SOA of the zone in the authority section (RFC 2308 2.1) */
		d_rr(&m, (int)zone, 6, 3600);
		off = m.len; d_u16(&m, 0);
		d_name(&m, "ns1", (int)zone);
		d_name(&m, "hostmaster", (int)zone);
		d_u32(&m, 2024011501u);
		d_u32(&m, 7200); d_u32(&m, 3600); d_u32(&m, 1209600); d_u32(&m, 300);
		d_rdlen_end(&m, off);
		ns = 1;
	} else if (response) {
		int owner = 12;

		switch (qtype) {
		case 1:
			if (chance(250)) {
				/* CNAME chain: name -> edgeN.cdn.example. */
				char cn[64];
				size_t cn_off;

				snprintf(cn, sizeof cn, "edge%u.cdn-provider.example",
					 rnd_below(64));
				d_rr(&m, owner, 5, 300);
				off = m.len; d_u16(&m, 0);
				cn_off = m.len;
				d_name(&m, cn, -1);
				d_rdlen_end(&m, off);
				owner = (int)cn_off;
				an++;
			}
			for (i = rnd_range(1, 3); i; i--) {
				d_rr(&m, owner, 1, 60 + rnd_below(3600));
				d_u16(&m, 4);
				d_u32(&m, 0xc6336400u | rnd_range(1, 254)); /* 198.51.100.x */
				an++;
			}
			break;
		case 28:
			for (i = rnd_range(1, 2); i; i--) {
				d_rr(&m, owner, 28, 300);
				d_u16(&m, 16);
				d_u32(&m, 0x20010db8u);
				d_u32(&m, 0x00440000u);
				d_u32(&m, 0);
				d_u32(&m, rnd_range(1, 65535));
				an++;
			}
			break;
		case 15:
			an = rnd_range(1, 3);
			for (i = 1; i <= an; i++) {
				char mx[8];

				d_rr(&m, owner, 15, 3600);
				off = m.len; d_u16(&m, 0);
				d_u16(&m, 10 * i);
				snprintf(mx, sizeof mx, "mx%u", i);
				d_name(&m, mx, owner);  /* mxN.<qname> */
				d_rdlen_end(&m, off);
			}
			break;
		default: {
			static const char *const txts[] = {
				"v=spf1 include:_spf.example.com ~all",
				"google-site-verification=abcdefghijklmnopqrstuvwxyz0123456789",
				"v=DMARC1; p=reject; rua=mailto:dmarc@example.com",
			};
			const char *t = txts[rnd_below(3)];
			size_t tl = strlen(t);

			d_rr(&m, owner, 16, 300);
			off = m.len; d_u16(&m, 0);
			d_u8(&m, (unsigned)tl);
			for (i = 0; i < tl; i++)
				d_u8(&m, (unsigned char)t[i]);
			if (chance(300)) {
				d_u8(&m, 8);
				for (i = 0; i < 8; i++)
					d_u8(&m, (unsigned char)"v=second"[i]);
			}
			d_rdlen_end(&m, off);
			an++;
			break;
		}
		}
	}
	if (edns) {
		/* OPT pseudo-RR: root owner, UDP payload size, no options */
		d_u8(&m, 0);
		d_u16(&m, 41);
		d_u16(&m, 1232);
		d_u32(&m, 0);
		d_u16(&m, 0);
	}
	ar = edns ? 1 : 0;
	put_be16(m.p + 6, an);
	put_be16(m.p + 8, ns);
	put_be16(m.p + 10, ar);
	memcpy(out, m.p, m.len);
	return m.len;
}

/* One packet of a UDP conversation; returns 1 when it is over. */
static int
udp_step(struct sess *s)
{
	unsigned char f[FRAME_MAX], pl[1024];
	size_t n, len;

	if (s->kind == K_NTP) {
		memset(pl, 0, 48);
		pl[0] = s->state ? 0x24 : 0x23;  /* NTPv4 client / server */
		if (s->state)
			pl[1] = 2;
		memcpy(pl + 40, rtab + (s->msalt % RTAB_SIZE), 8);
		len = mk_udp(f, &s->a, !s->state, pl, 48);
		out_packet(f, len);
		return s->state++ >= 1;
	}
	if (s->state == 0) {
		n = dns_build(s, 0, pl);
		len = mk_udp(f, &s->a, 1, pl, n);
		out_packet(f, len);
		s->state = 1;
		return 0;
	}
	/* 2% of queries are never answered */
	if (chance(20)) {
		st.dns_lost++;
		return 1;
	}
	n = dns_build(s, 1, pl);
	len = mk_udp(f, &s->a, 0, pl, n);
	out_packet(f, len);
	return 1;
}

static int
sess_step(struct sess *s)
{
	int done;

	if (s->kind == K_DNS || s->kind == K_NTP)
		return udp_step(s);
	done = tcp_step(s);
	if (done) {
		/* never lose a held segment: write it before forgetting */
		if (s->pendlen) {
			out_packet(s->pend, s->pendlen);
			s->pendlen = 0;
		}
		st.open_tcp--;
	}
	return done;
}

/* ------------------------------------------------------------------ */

int
main(int argc, char **argv)
{
	uint64_t target, drain_at, seed = 1;
	unsigned long slots = DEFAULT_SLOTS;
	static struct sess upool[UDP_SLOTS];
	struct sess *pool;
	size_t nactive, nudp, i;
	char *end;

	if (argc < 3 || argc > 6) {
		fprintf(stderr, "usage: wt-gencap OUT.pcap SIZE_MB [SEED [SLOTS [GAP_US]]]\n");
		return 2;
	}
	target = strtoull(argv[2], &end, 10);
	if (*end || target == 0 || target > 1000000) {
		fprintf(stderr, "wt-gencap: SIZE_MB must be 1..1000000\n");
		return 2;
	}
	target *= 1000000u;
	if (argc > 3) {
		seed = strtoull(argv[3], &end, 10);
		if (*end) {
			fprintf(stderr, "wt-gencap: bad SEED\n");
			return 2;
		}
	}
	if (argc > 4) {
		slots = strtoul(argv[4], &end, 10);
		if (*end || slots < 1 || slots > 1000000) {
			fprintf(stderr, "wt-gencap: SLOTS must be 1..1000000\n");
			return 2;
		}
	}
	if (argc > 5) {
		unsigned long g = strtoul(argv[5], &end, 10);

		if (*end || g < 1 || g > 10000000) {
			fprintf(stderr, "wt-gencap: GAP_US must be 1..10000000\n");
			return 2;
		}
		gap_us = (uint32_t)g;
	}
	out_fp = strcmp(argv[1], "-") ? fopen(argv[1], "wb") : stdout;
	if (!out_fp)
		die(argv[1]);
	obuf = malloc(OBUF_CAP);
	pool = calloc(slots, sizeof *pool);
	if (!obuf || !pool)
		die("wt-gencap: malloc");
	rng_state = seed * 0x2545f4914f6cdd1dULL + 1;
	for (i = 0; i < sizeof rtab; i++) {
		static uint64_t w;

		if (!(i & 7))
			w = rnd();
		rtab[i] = (unsigned char)(w >> (8 * (i & 7)));
	}
	clock_us = 1705276800ULL * 1000000u; /* 2024-01-15 00:00:00 UTC */
	out_header();
	for (i = 0; i < slots; i++)
		sess_new(&pool[i]);
	for (i = 0; i < UDP_SLOTS; i++)
		sess_new_dgram(&upool[i]);
	nactive = slots;
	nudp = UDP_SLOTS;
	/* about 8 KB per open conversation remain when draining starts */
	drain_at = target - (target / 5 < slots * 8000u ? target / 5 : slots * 8000u);
	while ((nactive || nudp) && out_bytes < target) {
		/* DNS and NTP come from a small pool of their own, so that
		 * answers follow queries within tens of milliseconds while
		 * TCP conversations take seconds */
		int udp = nudp && (!nactive || rnd_below(UDP_ODDS) == 0);
		struct sess *p = udp ? upool : pool;
		size_t *n = udp ? &nudp : &nactive;
		size_t k = rnd_below((uint32_t)*n);

		if (!draining && out_bytes >= drain_at) {
			draining = 1;
			/* cut the transfers in flight so that most
			 * conversations end before the capture does */
			for (i = 0; i < nactive; i++)
				if (pool[i].mbulk && pool[i].mlen > pool[i].moff + 8192)
					pool[i].mlen = pool[i].moff + 8192;
		}
		if (!sess_step(&p[k]))
			continue;
		if (!draining) {
			if (udp)
				sess_new_dgram(&p[k]);
			else
				sess_new(&p[k]);
		} else {
			struct sess t = p[k];

			p[k] = p[*n - 1];
			p[*n - 1] = t;
			(*n)--;
		}
	}
	out_flush();
	if (out_fp != stdout && fclose(out_fp))
		die("wt-gencap: close");
	fprintf(stderr,
		"wt-gencap: %llu bytes, %llu packets; TCP %llu (SMTP %llu, bulk %llu, "
		"%llu reset, %llu open at the end, at most %llu open at once), "
		"%llu SMTP messages; DNS %llu (%llu unanswered), NTP %llu; "
		"IPv6 %llu; out of order %llu, retransmitted %llu\n",
		(unsigned long long)out_bytes, (unsigned long long)out_pkts,
		(unsigned long long)st.tcp, (unsigned long long)st.smtp,
		(unsigned long long)st.bulk, (unsigned long long)st.rst,
		(unsigned long long)st.open_tcp, (unsigned long long)st.max_open_tcp,
		(unsigned long long)st.msgs, (unsigned long long)st.dns,
		(unsigned long long)st.dns_lost, (unsigned long long)st.ntp,
		(unsigned long long)st.v6, (unsigned long long)st.ooo,
		(unsigned long long)st.retx);
	for (i = 0; i < slots; i++)
		free(pool[i].msg.p);
	free(pool);
	free(obuf);
	return 0;
}
