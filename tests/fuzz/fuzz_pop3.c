/* \summary: libFuzzer target: the POP3 dissector fed alternating client/server chunks */
#include "stream_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

extern const wt_dissector_t wt_pop3_dissector;

/* Input layout: see stream_harness.h. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_stream(&wt_pop3_dissector, 110, 995, data, size);
}
