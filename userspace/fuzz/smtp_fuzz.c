// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the SMTP stream parser (daemon/smtp.c, with the
 * seed's helo table through daemon/helo.c), built with ASan and UBSan.
 *
 * Input: a flags byte (bit 0: use the helo table; bit 1: also replay the
 * dialogue as IPv4 packets through the flow tracker, daemon/inspect.c),
 * then pieces: one byte (bit 7: the server's bytes, else the client's;
 * bits 0-6: the length) and that many bytes.  Whatever the input:
 *
 *   - the score is the sum of the weights of the signs set, and flagged
 *     means greeted and at or over the threshold;
 *   - the evidence is printable and within its bounds, one per sign at
 *     most, never more than SMTP_EVIDENCE_MAX;
 *   - commands in flight stay within SMTP_PENDING_MAX, the group-enders
 *     among them within that count;
 *   - once inspection ended, more bytes change nothing;
 *   - feeding the same pieces byte by byte gives the same signs.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segment.h"
#include "smtpgated.h"

#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "violated: %s\n", #cond); \
		abort(); \
	} \
} while (0)

static const char seed_table[] =
	"/^mx\\.dominio\\.br$/ REJECT You are not me\n"
	"/localhost/ REJECT No, you are not localhost\n"
	"/^\\[[[:digit:]\\.]*\\]$/ REJECT Local policy prohibits address literals in helo\n"
	"/^\\[[[:digit:]\\.]*$/ REJECT Local policy prohibits IP address in helo\n";

static char *names[] = { "mx.example.net" };
static struct helo_table table;
static struct smtp_conf conf_plain = {
	.threshold = SMTP_DEFAULT_THRESHOLD, .max_recipients = 3,
	.max_messages = 2, .protected_names = names, .nprotected = 1,
};
static struct smtp_conf conf_table;

static void check(const struct smtp_flow *f)
{
	uint32_t score = 0;
	unsigned int i, j;

	for (i = 0; i < __SMTP_S_MAX; i++)
		if (f->signs & (1U << i))
			score += smtp_sign_weight(i);
	CHECK(!(f->signs >> __SMTP_S_MAX));
	CHECK(score == f->score);
	CHECK(smtp_flagged(f) == (f->greeted && f->score >= f->conf->threshold));
	CHECK(f->nevidence <= SMTP_EVIDENCE_MAX);
	for (i = 0; i < f->nevidence; i++) {
		const char *t = f->ev[i].text;

		CHECK(f->signs & (1U << f->ev[i].sign));
		CHECK(memchr(t, '\0', SMTP_EVIDENCE_LEN));
		for (j = 0; t[j]; j++)
			CHECK((unsigned char)t[j] >= 0x20 && (unsigned char)t[j] < 0x7f);
		for (j = 0; j < i; j++)
			CHECK(f->ev[j].sign != f->ev[i].sign);
	}
	CHECK(f->npending <= SMTP_PENDING_MAX);
	CHECK(f->enders <= f->npending);
	CHECK(f->clen <= SMTP_LINE_MAX && f->slen <= SMTP_REPLY_KEEP);
	CHECK(f->nrejected <= SMTP_REJECTED_MAX);
	CHECK(f->end < __SMTP_END_MAX);
}

static void feed(struct smtp_flow *f, bool server, const uint8_t *p, size_t n)
{
	uint32_t signs = f->signs;
	uint8_t end = f->end;
	bool going;

	going = server ? smtp_server(f, p, n) : smtp_client(f, p, n);
	CHECK(going == !f->end);
	if (end)
		CHECK(f->signs == signs && f->end == end);
	check(f);
}

/* The same pieces as IPv4 segments of one session. */
static void replay_packets(const struct smtp_conf *c, const uint8_t *data,
			   size_t size)
{
	struct inspect *in = inspect_new(16, c, NULL, NULL);
	static const uint8_t bot[4] = { 192, 0, 2, 66 }, mx[4] = { 203, 0, 113, 25 };
	uint32_t seq[2] = { 1000, 5000 };
	uint8_t pkt[SEG_MAX_HDR + 127];
	size_t i = 1;

	if (!in)
		return;
	while (i < size) {
		bool server = data[i] & 0x80;
		size_t n = data[i] & 0x7f;

		i++;
		if (n > size - i)
			n = size - i;
		inspect_packet(in, pkt,
			       seg_smtp(pkt, false, bot, 40000, mx, server,
					seq[server], seq[!server], data + i, n,
					0x08), 1);
		seq[server] += n;
		i += n;
	}
	CHECK(inspect_stats(in)->malformed == 0);
	CHECK(inspect_stats(in)->holes == 0);
	inspect_free(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct smtp_conf *c;
	struct smtp_flow whole, bytes;
	size_t i = 1, j;

	if (!table.n) {
		if (helo_parse(&table, "seed", seed_table, strlen(seed_table),
			       NULL, NULL))
			abort();
		conf_table = conf_plain;
		conf_table.helo = &table;
	}
	if (!size)
		return 0;
	c = data[0] & 1 ? &conf_table : &conf_plain;
	smtp_init(&whole, c);
	smtp_init(&bytes, c);
	while (i < size) {
		bool server = data[i] & 0x80;
		size_t n = data[i] & 0x7f;

		i++;
		if (n > size - i)
			n = size - i;
		feed(&whole, server, data + i, n);
		for (j = 0; j < n; j++)
			feed(&bytes, server, data + i + j, 1);
		i += n;
	}
	CHECK(whole.signs == bytes.signs);
	CHECK(whole.end == bytes.end);
	if (data[0] & 2)
		replay_packets(c, data, size);
	return 0;
}
