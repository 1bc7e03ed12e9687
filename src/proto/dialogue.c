/* \summary: a session's dialogue (POP3, IMAP), kept compact until its record is made */
#include <stdlib.h>
#include <string.h>

#include "core/record.h"
#include "proto/dialogue.h"

bool
wt_dialogue_push(wt_dialogue_t *d, const wt_pkt_t *pkt, wt_dir_t dir,
		 const uint8_t *p, size_t n, bool truncated)
{
	wt_dialogue_line_t *e;
	if (d->n == d->cap) {
		size_t nc = d->cap ? d->cap * 2 : 16;
		wt_dialogue_line_t *q = realloc(d->v, nc * sizeof *q);
		if (!q)
			return false;
		d->v = q;
		d->cap = nc;
	}
	if (d->text_cap - d->text_len < n) {
		size_t nc = d->text_cap ? d->text_cap : 256;
		uint8_t *q;
		while (nc - d->text_len < n)
			nc *= 2;
		q = realloc(d->text, nc);
		if (!q)
			return false;
		d->text = q;
		d->text_cap = nc;
	}
	if (n)
		memcpy(d->text + d->text_len, p, n);
	e = &d->v[d->n++];
	e->frame = pkt->frame;
	e->off = (uint32_t)d->text_len;
	e->len = (uint32_t)n;
	e->from_server = dir != WT_TO_SERVER;
	e->truncated = truncated;
	d->text_len += n;
	return true;
}

json_t *
wt_dialogue_json(const wt_dialogue_t *d)
{
	json_t *a = json_array(), *who[2];
	size_t i;
	who[0] = json_string("client");
	who[1] = json_string("server");
	for (i = 0; i < d->n; i++) {
		const wt_dialogue_line_t *l = &d->v[i];
		json_t *e = json_object();
		json_object_set_new(e, "frame", json_integer((json_int_t)l->frame));
		json_object_set(e, "from", who[l->from_server]);
		json_object_set_new(e, "text", wt_json_bytes(l->len ? d->text + l->off : (const uint8_t *)"", l->len));
		if (l->truncated)
			json_object_set_new(e, "truncated", json_true());
		json_array_append_new(a, e);
	}
	json_decref(who[0]);
	json_decref(who[1]);
	return a;
}

void
wt_dialogue_free(wt_dialogue_t *d)
{
	free(d->v);
	free(d->text);
	memset(d, 0, sizeof *d);
}
