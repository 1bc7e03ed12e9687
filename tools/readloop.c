/* \summary: the plain libpcap read loop: the practical ceiling for scripts/bench */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>

/* Reads every frame with pcap_next_ex and touches its first and last byte,
 * so the data is really loaded; prints frames and bytes. */
int
main(int argc, char **argv)
{
	char err[PCAP_ERRBUF_SIZE];
	unsigned long long frames = 0, bytes = 0, sum = 0;
	struct pcap_pkthdr *h;
	const unsigned char *d;
	pcap_t *p;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: wt-readloop CAPTURE\n");
		return 2;
	}
	p = pcap_open_offline(argv[1], err);
	if (!p) {
		fprintf(stderr, "wt-readloop: %s\n", err);
		return 3;
	}
	while ((rc = pcap_next_ex(p, &h, &d)) == 1) {
		frames++;
		bytes += h->caplen;
		if (h->caplen)
			sum += d[0] + d[h->caplen - 1];
	}
	printf("frames %llu bytes %llu check %llu\n", frames, bytes, sum);
	pcap_close(p);
	return rc == -1 ? 4 : 0;
}
