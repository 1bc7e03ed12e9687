/* \summary: libFuzzer target: the RFC 5322/MIME parser fed in pieces */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/imf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Input: one byte giving the piece size (0: all at once), then the message.
 * The message is fed in pieces of that size, each an exact-size copy so
 * that ASan catches a read past a piece; the result is serialized.  The
 * same message fed whole must give the same JSON (the parser is streaming).
 */
static json_t *
run(const uint8_t *p, size_t n, size_t step)
{
	wt_imf_t *m = wt_imf_new();
	json_t *j;
	size_t i;
	if (!m)
		return NULL;
	if (step == 0)
		step = n ? n : 1;
	for (i = 0; i < n; i += step) {
		size_t k = n - i < step ? n - i : step;
		uint8_t *b = malloc(k);
		if (!b)
			break;
		memcpy(b, p + i, k);
		wt_imf_feed(m, b, k);
		free(b);
	}
	j = wt_imf_finish(m);
	wt_imf_free(m);
	return j;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *a, *b;
	char *s;
	if (size < 1)
		return 0;
	a = run(data + 1, size - 1, data[0]);
	b = run(data + 1, size - 1, 0);
	if (a && b && !json_equal(a, b))
		abort(); /* pieces changed the result */
	s = json_dumps(a, JSON_COMPACT);
	free(s);
	json_decref(a);
	json_decref(b);
	return 0;
}
