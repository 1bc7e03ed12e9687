/* \summary: unit tests of the byte cursor: edges at 0, n-1, n, n+1 and misuse */
#include <criterion/criterion.h>

#include "wiretale/cursor.h"

static const uint8_t buf[8] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};

Test(cursor, reads_big_and_little_endian)
{
	wt_cursor_t c = wt_cur_make(buf, sizeof buf);
	cr_assert_eq(wt_cur_u8(&c), 0x01);
	cr_assert_eq(wt_cur_be16(&c), 0x0203);
	cr_assert_eq(wt_cur_le16(&c), 0x0504);
	cr_assert_eq(wt_cur_left(&c), 3);
	cr_assert(wt_cur_ok(&c));
	c = wt_cur_make(buf, sizeof buf);
	cr_assert_eq(wt_cur_be32(&c), 0x01020304u);
	cr_assert_eq(wt_cur_le32(&c), 0x08070605u);
	cr_assert_eq(wt_cur_left(&c), 0);
	cr_assert(wt_cur_ok(&c));
}

Test(cursor, edges_n_minus_1_n_n_plus_1)
{
	wt_cursor_t c = wt_cur_make(buf, sizeof buf);
	cr_assert(wt_cur_skip(&c, 7));          /* n-1 */
	cr_assert_eq(wt_cur_u8(&c), 0x08);      /* the last byte */
	cr_assert(wt_cur_ok(&c));
	cr_assert_eq(wt_cur_u8(&c), 0);         /* n: past the end */
	cr_assert(!wt_cur_ok(&c));

	c = wt_cur_make(buf, sizeof buf);
	cr_assert(!wt_cur_skip(&c, 9));         /* n+1 */
	cr_assert(!wt_cur_ok(&c));
	c = wt_cur_make(buf, sizeof buf);
	cr_assert(wt_cur_skip(&c, 8));          /* exactly n */
	cr_assert(wt_cur_ok(&c));
	cr_assert_eq(wt_cur_left(&c), 0);
}

Test(cursor, error_is_sticky)
{
	wt_cursor_t c = wt_cur_make(buf, 3);
	uint8_t out[4] = {9, 9, 9, 9};
	cr_assert_eq(wt_cur_be32(&c), 0);
	cr_assert(!wt_cur_ok(&c));
	/* after the error, even a read that would fit returns zero */
	cr_assert_eq(wt_cur_u8(&c), 0);
	cr_assert(!wt_cur_copy(&c, out, 2));
	cr_assert_eq(out[0], 0);
	cr_assert_eq(out[1], 0);
	cr_assert_eq(wt_cur_left(&c), 0);
	cr_assert_eq(wt_cur_take(&c, 0), NULL);
}

Test(cursor, sub_cursor_only_shrinks)
{
	wt_cursor_t c = wt_cur_make(buf, sizeof buf), s;
	wt_cur_skip(&c, 2);
	s = wt_cur_sub(&c, 3);
	cr_assert_eq(wt_cur_left(&s), 3);
	cr_assert_eq(wt_cur_u8(&s), 0x03);
	cr_assert_eq(wt_cur_be16(&s), 0x0405);
	cr_assert_eq(wt_cur_u8(&s), 0); /* the child's end, not the parent's */
	cr_assert(!wt_cur_ok(&s));
	cr_assert(wt_cur_ok(&c));       /* the parent is unaffected */
	cr_assert_eq(wt_cur_u8(&c), 0x06);

	c = wt_cur_make(buf, sizeof buf);
	s = wt_cur_sub(&c, 20);
	cr_assert(!wt_cur_ok(&s));
	cr_assert(!wt_cur_ok(&c));
}

Test(cursor, seek_inside_bounds_only)
{
	wt_cursor_t c = wt_cur_make(buf, sizeof buf);
	cr_assert(wt_cur_seek(&c, 8));
	cr_assert_eq(wt_cur_left(&c), 0);
	cr_assert(wt_cur_seek(&c, 1));
	cr_assert_eq(wt_cur_u8(&c), 0x02);
	cr_assert(!wt_cur_seek(&c, 9));
	cr_assert(!wt_cur_ok(&c));
}

Test(cursor, null_and_empty_buffers)
{
	wt_cursor_t c = wt_cur_make(NULL, 100);
	cr_assert_eq(wt_cur_left(&c), 0);
	cr_assert_eq(wt_cur_u8(&c), 0);
	cr_assert(!wt_cur_ok(&c));
	c = wt_cur_make(buf, 0);
	cr_assert_eq(wt_cur_find(&c, 1), -1);
	cr_assert_eq(wt_cur_peek(&c, 1), NULL);
}

Test(cursor, lines)
{
	static const char text[] = "EHLO a\r\nQUIT\nrest";
	wt_cursor_t c = wt_cur_make(text, sizeof text - 1), l;
	cr_assert(wt_cur_line(&c, &l));
	cr_assert_eq(l.len, 6);
	cr_assert_eq(memcmp(l.base, "EHLO a", 6), 0);
	cr_assert(wt_cur_line(&c, &l));
	cr_assert_eq(l.len, 4);
	cr_assert(!wt_cur_line(&c, &l)); /* no LF yet: nothing taken */
	cr_assert(wt_cur_ok(&c));
	cr_assert_eq(wt_cur_left(&c), 4);
	cr_assert_eq(wt_cur_find(&c, 's'), 2);
}
