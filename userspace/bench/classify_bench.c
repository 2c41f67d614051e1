// SPDX-License-Identifier: GPL-2.0
/*
 * Classifies one kind of packet N times, for `make bench`: run under
 * callgrind with --toggle-collect=sg_classify, the instruction count over
 * N is the cost of one classification alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "classify.h"
#include "spec.h"

/* The packet kinds of Documentation/performance.md, as sgcraft specs. */
static const struct {
	const char *name;
	const char *spec;
} kinds[] = {
	{ "other-tcp-80", "tcp4 dport=80" },
	/* A query: its first bytes are the random ID, here "Q7". */
	{ "other-udp-dns", "udp4 dport=53 data=Q7example.com.IN.A" },
	{ "smtp4", "tcp4" },
	{ "smtp6", "tcp6" },
	{ "smtp6-3ext", "tcp6 ext=hop,rt,dst" },
	{ "teredo", "teredo" },
	{ "teredo-auth-origin", "teredo auth=4,8 origin" },
	{ "sixin4", "sixin4" },
};

static int usage(void)
{
	unsigned int i;

	fprintf(stderr, "Usage: classify_bench KIND COUNT | --list\nKIND:");
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		fprintf(stderr, " %s", kinds[i].name);
	fprintf(stderr, "\n");
	return 2;
}

int main(int argc, char **argv)
{
	static struct pkt p;
	static struct spec s;
	static struct sg_ports ports;
	struct sk_buff skb;
	struct sg_flow flow;
	unsigned long n, i, smtp = 0;
	unsigned int k;
	char err[256];
	u8 family;

	if (argc == 2 && !strcmp(argv[1], "--list")) {
		for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
			printf("%s\t%s\n", kinds[k].name, kinds[k].spec);
		return 0;
	}
	if (argc != 3)
		return usage();
	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
		if (!strcmp(argv[1], kinds[k].name))
			break;
	if (k == sizeof(kinds) / sizeof(kinds[0]))
		return usage();
	n = strtoul(argv[2], NULL, 10);

	if (spec_build_str(kinds[k].spec, &p, &s, err, sizeof(err)) < 0) {
		fprintf(stderr, "classify_bench: %s\n", err);
		return 1;
	}
	family = spec_family(&s) == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6;
	sg_port_set(&ports, 25);
	sg_port_set(&ports, 465);
	skb.data = p.buf;
	skb.len = skb.head_len = p.len;	/* linear, as after GRO */
	for (i = 0; i < n; i++)
		smtp += sg_classify(&skb, 0, family, &ports, &flow) !=
			SMTPGATE_CLASS_OTHER;
	printf("%s: %lu of %lu classified SMTP\n", kinds[k].name, smtp, n);
	return 0;
}
