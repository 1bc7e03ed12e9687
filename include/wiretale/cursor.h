/* \summary: the one bounds-checked byte cursor every dissector reads through */
#ifndef WIRETALE_CURSOR_H
#define WIRETALE_CURSOR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * Every byte that comes from a capture is hostile.  Dissectors never index
 * raw pointers: they read through a wt_cursor_t.  The error is sticky (as in
 * Knot DNS's wire_ctx): after the first out-of-bounds read every further read
 * returns zero and leaves the position alone, so a parser can read a whole
 * structure straight through and check wt_cur_ok() once at the end.
 *
 * A child cursor (wt_cur_sub) covers a length-prefixed field; its bound can
 * only shrink, never grow (tcpdump's nd_push_snaplen).
 *
 * base/len describe the whole buffer; off is the read position.  Absolute
 * positioning (wt_cur_seek) is allowed inside [0, len] for DNS compression.
 */
typedef struct wt_cursor {
	const uint8_t *base;
	size_t len;
	size_t off;
	int err;
} wt_cursor_t;

/* Status codes shared by every fallible function of the library. */
typedef enum wt_status {
	WT_OK = 0,
	WT_E_TRUNC,     /* the data ends before the structure does */
	WT_E_MALFORMED, /* the data is there but breaks the format's rules */
	WT_E_NOMEM,     /* an allocation failed */
	WT_E_LIMIT      /* a configured cap was reached */
} wt_status_t;

static inline wt_cursor_t
wt_cur_make(const void *p, size_t len)
{
	wt_cursor_t c;
	c.base = (const uint8_t *)p;
	c.len = p ? len : 0;
	c.off = 0;
	c.err = 0;
	return c;
}

static inline size_t
wt_cur_left(const wt_cursor_t *c)
{
	return c->err ? 0 : c->len - c->off;
}

static inline int
wt_cur_ok(const wt_cursor_t *c)
{
	return c->err == 0;
}

/* True when at least n bytes remain (and no error is set). */
static inline int
wt_cur_has(const wt_cursor_t *c, size_t n)
{
	return c->err == 0 && c->len - c->off >= n;
}

/* Returns a pointer to the next n bytes and advances, or NULL (and sets the
 * error) when fewer remain.  The pointer is valid while the buffer is. */
static inline const uint8_t *
wt_cur_take(wt_cursor_t *c, size_t n)
{
	const uint8_t *p;
	if (!wt_cur_has(c, n)) {
		c->err = 1;
		return NULL;
	}
	p = c->base + c->off;
	c->off += n;
	return p;
}

/* Like wt_cur_take but does not advance. */
static inline const uint8_t *
wt_cur_peek(const wt_cursor_t *c, size_t n)
{
	if (!wt_cur_has(c, n))
		return NULL;
	return c->base + c->off;
}

static inline int
wt_cur_skip(wt_cursor_t *c, size_t n)
{
	return wt_cur_take(c, n) != NULL;
}

static inline uint8_t
wt_cur_u8(wt_cursor_t *c)
{
	const uint8_t *p = wt_cur_take(c, 1);
	return p ? p[0] : 0;
}

static inline uint16_t
wt_cur_be16(wt_cursor_t *c)
{
	const uint8_t *p = wt_cur_take(c, 2);
	return p ? (uint16_t)((unsigned)p[0] << 8 | p[1]) : 0;
}

static inline uint32_t
wt_cur_be32(wt_cursor_t *c)
{
	const uint8_t *p = wt_cur_take(c, 4);
	return p ? ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		    (uint32_t)p[2] << 8 | p[3])
		 : 0;
}

static inline uint16_t
wt_cur_le16(wt_cursor_t *c)
{
	const uint8_t *p = wt_cur_take(c, 2);
	return p ? (uint16_t)((unsigned)p[1] << 8 | p[0]) : 0;
}

static inline uint32_t
wt_cur_le32(wt_cursor_t *c)
{
	const uint8_t *p = wt_cur_take(c, 4);
	return p ? ((uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 |
		    (uint32_t)p[1] << 8 | p[0])
		 : 0;
}

/* Copies n bytes out; on failure dst is zeroed. */
static inline int
wt_cur_copy(wt_cursor_t *c, void *dst, size_t n)
{
	const uint8_t *p = wt_cur_take(c, n);
	if (!p) {
		memset(dst, 0, n);
		return 0;
	}
	memcpy(dst, p, n);
	return 1;
}

/* A child cursor over the next n bytes; the parent advances past them.  If
 * fewer than n remain, both the parent and the child are in error. */
static inline wt_cursor_t
wt_cur_sub(wt_cursor_t *c, size_t n)
{
	const uint8_t *p = wt_cur_take(c, n);
	wt_cursor_t s = wt_cur_make(p, p ? n : 0);
	if (!p)
		s.err = 1;
	return s;
}

/* The rest of the cursor as a child; the parent ends up at its end. */
static inline wt_cursor_t
wt_cur_rest(wt_cursor_t *c)
{
	return wt_cur_sub(c, wt_cur_left(c));
}

/* Absolute positioning inside the whole buffer. */
static inline int
wt_cur_seek(wt_cursor_t *c, size_t off)
{
	if (c->err || off > c->len) {
		c->err = 1;
		return 0;
	}
	c->off = off;
	return 1;
}

/* Offset of the first byte equal to b at or after the position, relative to
 * the position, or -1. */
static inline ptrdiff_t
wt_cur_find(const wt_cursor_t *c, uint8_t b)
{
	const uint8_t *s, *q;
	if (c->err || c->off >= c->len)
		return -1;
	s = c->base + c->off;
	q = (const uint8_t *)memchr(s, b, c->len - c->off);
	return q ? q - s : -1;
}

/* Takes one line ending in LF.  *line covers the line without its CR LF (or
 * bare LF).  Returns 0 and leaves the cursor untouched (no error set) when no
 * LF is there yet. */
static inline int
wt_cur_line(wt_cursor_t *c, wt_cursor_t *line)
{
	ptrdiff_t i = wt_cur_find(c, '\n');
	size_t n;
	if (i < 0)
		return 0;
	n = (size_t)i;
	*line = wt_cur_sub(c, n + 1);
	line->len = n;
	if (n > 0 && line->base[n - 1] == '\r')
		line->len = n - 1;
	return 1;
}

#endif /* WIRETALE_CURSOR_H */
