// SPDX-License-Identifier: GPL-2.0
/*
 * SMTP inspection's cost in smtpgated, without the kernel: whole sessions
 * as IPv4 packets through the flow tracker and the dialogue scorer
 * (inspect_packet(), what each NFQUEUE packet costs the daemon but the
 * netlink read and the verdict), and the memory each tracked flow holds.
 *
 *   inspect_bench [SESSIONS] [CONCURRENT]
 *
 * prints a markdown table on stdout (`make -C userspace bench` runs it):
 * inspected sessions per second for a well-behaved client (13 segments,
 * EHLO to QUIT with a small message) and a zombie (pregreet, an address
 * literal: flagged), one core; and bytes per flow, both computed
 * (sizeof) and measured (the heap's growth with CONCURRENT flows open).
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "segment.h"
#include "smtpgated.h"

struct seg {
	bool server;
	const char *data;
};

static const struct seg good[] = {
	{ true, "220 mx.example.net ESMTP Postfix\r\n" },
	{ false, "EHLO client.example.org\r\n" },
	{ true, "250-mx.example.net\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
		"250-8BITMIME\r\n250 SMTPUTF8\r\n" },
	{ false, "MAIL FROM:<alice@example.org>\r\n" },
	{ true, "250 2.1.0 Ok\r\n" },
	{ false, "RCPT TO:<bob@example.net>\r\n" },
	{ true, "250 2.1.5 Ok\r\n" },
	{ false, "DATA\r\n" },
	{ true, "354 End data with <CR><LF>.<CR><LF>\r\n" },
	{ false, "From: alice@example.org\r\nTo: bob@example.net\r\n"
		 "Subject: bench\r\n\r\nHello Bob.\r\n.\r\n" },
	{ true, "250 2.0.0 Ok: queued as 4Xk2v1\r\n" },
	{ false, "QUIT\r\n" },
	{ true, "221 2.0.0 Bye\r\n" },
};

static const struct seg zombie[] = {
	{ false, "EHLO [192.0.2.66]\r\n" },
	{ true, "220 mx.example.net ESMTP Postfix\r\n" },
	{ true, "250-mx.example.net\r\n250 PIPELINING\r\n" },
	{ false, "MAIL FROM:<x@example.org>\r\nRCPT TO:<a@example.net>\r\n"
		 "RCPT TO:<b@example.net>\r\nDATA\r\n" },
	{ true, "250 Ok\r\n250 Ok\r\n250 Ok\r\n354 go\r\n" },
};

/* Client @client (host order) port @port and the MX 203.0.113.25:25. */
static size_t mkpkt(uint8_t *pkt, uint32_t client, uint16_t port, bool server,
		    uint32_t seq, uint32_t ack, const char *data, uint8_t flags)
{
	static const uint8_t mx[4] = { 203, 0, 113, 25 };
	uint8_t c[4];

	seg_put32(c, client);
	return seg_smtp(pkt, false, c, port, mx, server, seq, ack, data,
			strlen(data), flags);
}

static uint64_t hits;

static void on_hit(const struct inspect_hit *h, void *arg)
{
	hits++;
}

/* @n sessions of @s, each of a new 5-tuple, each ended by a FIN. */
static double run(struct inspect *in, const struct seg *s, size_t nseg,
		  uint32_t n, bool fin)
{
	static uint8_t pkt[1600];
	struct timespec a, b;
	uint32_t i, seq[2];
	size_t j, len;

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < n; i++) {
		uint32_t client = 0x0a000000 | (i >> 14);
		uint16_t port = 1024 + (i & 0x3fff);

		seq[0] = i * 7919;
		seq[1] = i * 104729;
		for (j = 0; j < nseg; j++) {
			bool srv = s[j].server;

			len = mkpkt(pkt, client, port, srv, seq[srv], seq[!srv],
				    s[j].data, 0);
			inspect_packet(in, pkt, len, i);
			seq[srv] += strlen(s[j].data);
		}
		if (fin) {
			len = mkpkt(pkt, client, port, false, seq[0], seq[1], "",
				    0x01);
			inspect_packet(in, pkt, len, i);
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	return (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
}

int main(int argc, char **argv)
{
	uint32_t n = argc > 1 ? strtoul(argv[1], NULL, 0) : 200000;
	uint32_t conc = argc > 2 ? strtoul(argv[2], NULL, 0) : 100000;
	struct smtp_conf conf = {
		.threshold = SMTP_DEFAULT_THRESHOLD,
		.max_recipients = SMTP_DEFAULT_MAX_RCPT,
		.max_messages = SMTP_DEFAULT_MAX_MSGS,
	};
	struct mallinfo2 m0, m1;
	struct inspect *in;
	double tg, tz;

	in = inspect_new(4096, &conf, on_hit, NULL);
	if (!in)
		return 1;
	tg = run(in, good, ARRAY_SIZE(good), n, true);
	if (hits) {
		fprintf(stderr, "inspect_bench: the good client was flagged\n");
		return 1;
	}
	tz = run(in, zombie, ARRAY_SIZE(zombie), n, true);
	if (hits != n) {
		fprintf(stderr, "inspect_bench: %llu of %u zombies flagged\n",
			(unsigned long long)hits, n);
		return 1;
	}
	inspect_free(in);

	/* Memory: CONCURRENT flows open at once, each past its EHLO. */
	m0 = mallinfo2();
	in = inspect_new(conc, &conf, NULL, NULL);
	if (!in)
		return 1;
	run(in, good, 3, conc, false);
	m1 = mallinfo2();
	if (inspect_stats(in)->active != conc) {
		fprintf(stderr, "inspect_bench: %zu flows open, not %u\n",
			inspect_stats(in)->active, conc);
		return 1;
	}

	printf("| inspected session | segments | sessions/s | ns/segment |\n");
	printf("|---|---:|---:|---:|\n");
	printf("| well-behaved (EHLO .. QUIT, one message) | %zu | %.0f | %.0f |\n",
	       ARRAY_SIZE(good) + 1, n / tg,
	       tg * 1e9 / n / (ARRAY_SIZE(good) + 1));
	printf("| zombie (pregreet, literal; flagged) | %zu | %.0f | %.0f |\n",
	       ARRAY_SIZE(zombie) + 1, n / tz,
	       tz * 1e9 / n / (ARRAY_SIZE(zombie) + 1));
	printf("\n| memory per flow | bytes |\n|---|---:|\n");
	printf("| computed (struct iflow, bucket) | %zu |\n", inspect_flow_bytes());
	printf("| measured (heap growth / %u open flows) | %.0f |\n", conc,
	       (double)(m1.uordblks - m0.uordblks) / conc);
	printf("\n%u sessions of each kind, inspect_packet() from daemon/inspect.c "
	       "(flow lookup, sequence tracking, the dialogue scorer) on one "
	       "core, gcc -O2; the netlink read and the verdict are not counted. "
	       "inspect_max_flows = 4096 by default: %.1f MiB.\n", n,
	       4096.0 * inspect_flow_bytes() / (1 << 20));
	inspect_free(in);
	return 0;
}
