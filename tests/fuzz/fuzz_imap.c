/* \summary: libFuzzer target: the IMAP dissector fed alternating client/server chunks */
#include "stream_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

extern const wt_dissector_t wt_imap_dissector;

/* Input layout: see stream_harness.h. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_stream(&wt_imap_dissector, 143, 993, data, size);
}
