// SPDX-License-Identifier: GPL-2.0
/*
 * SMTP inspection without a kernel: the dialogue scorer (daemon/smtp.c)
 * on each zombie sign alone and on well-behaved clients, split at every
 * byte; Postfix check_helo_access tables (daemon/helo.c) with the seed's
 * file and every error; the inspect_* keys of smtpgate.conf; and the flow
 * tracker (daemon/inspect.c) on crafted IPv4 and IPv6 packets: order,
 * retransmits, holes, eviction, FIN.
 *
 * `smtp_test --dump-corpus DIR` writes the dialogues played here as seeds
 * for fuzz/smtp_fuzz.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/stat.h>

/* The harness compares with the expected value's type: 1 vs size_t. */
#pragma GCC diagnostic ignored "-Wsign-compare"
#include "kselftest_harness.h"
#include "segment.h"
#include "msgs.h"
#include "smtpgated.h"

/* ---- dialogues ------------------------------------------------------------- */

/* "S:..." the server's bytes, "C:..." the client's; NULL ends it. */
typedef const char *const script_t[];

#define GREET	"S:220 mx.example.net ESMTP Postfix\r\n"
#define EHLO_REPLY_PIPE	"S:250-mx.example.net\r\n250-SIZE 10240000\r\n" \
			"250-PIPELINING\r\n250 8BITMIME\r\n"
#define EHLO_REPLY	"S:250-mx.example.net\r\n250-SIZE 10240000\r\n" \
			"250 8BITMIME\r\n"

static char *protected_names[] = { "mx.example.net", "gw.example.net" };

static struct smtp_conf conf = {
	.threshold = SMTP_DEFAULT_THRESHOLD,
	.protected_names = protected_names,
	.nprotected = 2,
	.max_recipients = 3,
	.max_messages = 2,
};

/* Feeds @s, each piece cut into @chunk-byte writes (0: whole). */
static void play_split(struct smtp_flow *f, const struct smtp_conf *c,
		       script_t s, size_t chunk)
{
	size_t i, off, n, len;

	smtp_init(f, c);
	for (i = 0; s[i]; i++) {
		const char *p = s[i] + 2;

		len = strlen(p);
		for (off = 0; off < len; off += n) {
			n = chunk && chunk < len - off ? chunk : len - off;
			if (s[i][0] == 'C')
				smtp_client(f, (const uint8_t *)p + off, n);
			else
				smtp_server(f, (const uint8_t *)p + off, n);
		}
	}
}

static void play(struct smtp_flow *f, script_t s)
{
	play_split(f, &conf, s, 0);
}

static const char *signs_of(const struct smtp_flow *f)
{
	static char buf[400];

	return smtp_signs_str(f->signs, buf, sizeof(buf));
}

/* ---- the scripts (also the fuzzer's seeds) -------------------------------- */

static script_t good = {
	GREET, "C:EHLO client.example.org\r\n", EHLO_REPLY,
	"C:MAIL FROM:<alice@example.org>\r\n", "S:250 2.1.0 Ok\r\n",
	"C:RCPT TO:<bob@example.net>\r\n", "S:250 2.1.5 Ok\r\n",
	"C:DATA\r\n", "S:354 End data with <CR><LF>.<CR><LF>\r\n",
	"C:Subject: hi\r\n\r\n.. a dot-stuffed line\r\nQUIT\r\n.\r\n",
	"S:250 2.0.0 Ok: queued as 1234\r\n",
	"C:QUIT\r\n", "S:221 2.0.0 Bye\r\n", NULL
};

/* swaks --pipeline: MAIL, RCPT and DATA in one group. */
static script_t good_pipelined = {
	GREET, "C:EHLO client.example.org\r\n", EHLO_REPLY_PIPE,
	"C:MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\n"
	"RCPT TO:<carol@example.net>\r\nDATA\r\n",
	"S:250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 no carol\r\n354 go\r\n",
	"C:body\r\n.\r\n", "S:250 2.0.0 Ok\r\n", "C:QUIT\r\n", NULL
};

/* A rejected recipient, then a good one: no error is ignored. */
static script_t good_rejected = {
	GREET, "C:EHLO client.example.org\r\n", EHLO_REPLY,
	"C:MAIL FROM:<alice@example.org>\r\n", "S:250 Ok\r\n",
	"C:RCPT TO:<nobody@example.net>\r\n", "S:550 5.1.1 unknown\r\n",
	"C:RCPT TO:<bob@example.net>\r\n", "S:250 Ok\r\n",
	"C:DATA\r\n", "S:354 go\r\n", "C:x\r\n.\r\n", "S:250 Ok\r\n",
	"C:QUIT\r\n", NULL
};

static script_t greylisted = {
	GREET, "C:EHLO client.example.org\r\n", EHLO_REPLY,
	"C:MAIL FROM:<alice@example.org>\r\n", "S:250 Ok\r\n",
	"C:RCPT TO:<bob@example.net>\r\n", "S:450 4.7.1 Greylisted\r\n",
	"C:QUIT\r\n", NULL
};

static script_t literal = {
	GREET, "C:EHLO [192.0.2.66]\r\n", EHLO_REPLY, NULL
};

static script_t bare_ip = {
	GREET, "C:HELO 192.0.2.66\r\n", "S:250 mx.example.net\r\n", NULL
};

static script_t localhost = {
	GREET, "C:EHLO localhost.localdomain\r\n", EHLO_REPLY, NULL
};

static script_t not_fqdn = {
	GREET, "C:EHLO desktop-7\r\n", EHLO_REPLY,
	"C:MAIL FROM:<a@example.org>\r\n", "S:250 Ok\r\n", NULL
};

static script_t protected = {
	GREET, "C:EHLO MX.Example.NET.\r\n", EHLO_REPLY, NULL
};

static script_t no_helo = {
	GREET, "C:MAIL FROM:<a@example.org>\r\n", "S:250 Ok\r\n", NULL
};

static script_t pregreet = {
	"C:EHLO client.example.org\r\n", GREET, EHLO_REPLY, NULL
};

/* Pregreet inside a multi-line greeting: still before the greeting. */
static script_t pregreet_multi = {
	"S:220-mx.example.net ESMTP\r\n", "C:EHLO client.example.org\r\n",
	"S:220 welcome\r\n", EHLO_REPLY, NULL
};

static script_t pipelining = {
	GREET, "C:EHLO client.example.org\r\n", EHLO_REPLY,
	"C:MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n",
	"S:250 Ok\r\n250 Ok\r\n", NULL
};

/* PIPELINING offered, but nothing may follow DATA before its 354. */
static script_t pipelined_data = {
	GREET, "C:EHLO client.example.org\r\n", EHLO_REPLY_PIPE,
	"C:MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n"
	"Subject: buy\r\n\r\nnow\r\n.\r\nQUIT\r\n",
	"S:250 Ok\r\n250 Ok\r\n354 go\r\n", NULL
};

/* EHLO ends a group: MAIL right behind it is pipelining. */
static script_t pipelined_ehlo = {
	GREET, "C:EHLO client.example.org\r\nMAIL FROM:<a@example.org>\r\n",
	EHLO_REPLY_PIPE, "S:250 Ok\r\n", NULL
};

static script_t after_5xx_mail = {
	GREET, "C:EHLO client.example.org\r\n", EHLO_REPLY,
	"C:MAIL FROM:<a@example.org>\r\n", "S:554 5.7.1 go away\r\n",
	"C:RCPT TO:<b@example.net>\r\n", "S:503 5.5.1 need MAIL\r\n", NULL
};

static script_t after_5xx_data = {
	GREET, "C:EHLO client.example.org\r\n", EHLO_REPLY,
	"C:MAIL FROM:<a@example.org>\r\n", "S:250 Ok\r\n",
	"C:RCPT TO:<b@example.net>\r\n", "S:554 5.7.1 Relay access denied\r\n",
	"C:DATA\r\n", "S:554 5.5.1 No valid recipients\r\n", NULL
};

static script_t after_5xx_rcpt = {
	GREET, "C:EHLO client.example.org\r\n", EHLO_REPLY,
	"C:MAIL FROM:<a@example.org>\r\n", "S:250 Ok\r\n",
	"C:RCPT TO:<b@example.net>\r\n", "S:554 5.7.1 Relay access denied\r\n",
	"C:RCPT TO:<B@Example.NET>\r\n", NULL
};

static script_t after_554_greeting = {
	"S:554 5.7.1 no service for you\r\n", "C:EHLO client.example.org\r\n",
	NULL
};

static script_t rset_4xx = {
	GREET, "C:EHLO client.example.org\r\n", EHLO_REPLY,
	"C:MAIL FROM:<a@example.org>\r\n", "S:250 Ok\r\n",
	"C:RCPT TO:<b@example.net>\r\n", "S:450 4.7.1 Greylisting\r\n",
	"C:RSET\r\n", "S:250 2.0.0 Ok\r\n", NULL
};

static script_t reboot_4xx = {
	GREET, "C:EHLO client.example.org\r\n", EHLO_REPLY,
	"C:MAIL FROM:<a@example.org>\r\n", "S:250 Ok\r\n",
	"C:RCPT TO:<b@example.net>\r\n", "S:450 4.7.1 Greylisting\r\n",
	"C:EHLO client.example.org\r\n", EHLO_REPLY, NULL
};

static script_t recipients = {
	GREET, "C:EHLO client.example.org\r\n", EHLO_REPLY,
	"C:MAIL FROM:<a@example.org>\r\n", "S:250 Ok\r\n",
	"C:RCPT TO:<b1@example.net>\r\n", "S:250 Ok\r\n",
	"C:RCPT TO:<b2@example.net>\r\n", "S:250 Ok\r\n",
	"C:RCPT TO:<b3@example.net>\r\n", "S:250 Ok\r\n",
	"C:RCPT TO:<b4@example.net>\r\n", "S:250 Ok\r\n", NULL
};

static script_t messages = {
	GREET, "C:EHLO client.example.org\r\n", EHLO_REPLY,
	"C:MAIL FROM:<a@example.org>\r\n", "S:250 Ok\r\n",
	"C:RCPT TO:<b@example.net>\r\n", "S:250 Ok\r\n",
	"C:DATA\r\n", "S:354 go\r\n", "C:one\r\n.\r\n", "S:250 Ok\r\n",
	"C:MAIL FROM:<a@example.org>\r\n", "S:250 Ok\r\n",
	"C:RCPT TO:<b@example.net>\r\n", "S:250 Ok\r\n",
	"C:DATA\r\n", "S:354 go\r\n", "C:two\n.\n", "S:250 Ok\r\n",
	"C:MAIL FROM:<a@example.org>\r\n", "S:250 Ok\r\n", NULL
};

static script_t error_share = {
	GREET, "C:EHLO client.example.org\r\n", EHLO_REPLY,
	"C:MAIL FROM:<a@example.org>\r\n", "S:250 Ok\r\n",
	"C:RCPT TO:<b1@example.net>\r\n", "S:550 5.1.1 unknown\r\n",
	"C:RCPT TO:<b2@example.net>\r\n", "S:550 5.1.1 unknown\r\n",
	"C:RCPT TO:<b3@example.net>\r\n", "S:450 4.2.0 try later\r\n", NULL
};

/* Picked up mid-session (the daemon restarted): nothing counts. */
static script_t mid_session = {
	"C:RCPT TO:<b@example.net>\r\n", "S:250 Ok\r\n",
	"C:RCPT TO:<c@example.net>\r\nDATA\r\n", NULL
};

static script_t mid_starttls = {
	"S:220 2.0.0 Ready to start TLS\r\n", "C:\x16\x03\x01\x02\x00\x01", NULL
};

static script_t starttls = {
	GREET, "C:EHLO client.example.org\r\n",
	"S:250-mx.example.net\r\n250 STARTTLS\r\n", "C:STARTTLS\r\n",
	"S:220 2.0.0 Ready to start TLS\r\n",
	"C:\x16\x03\x01\x02\x00\x01\xfc\x03\x03 binary TLS\r\nEHLO [1.2.3.4]\r\n",
	NULL
};

/* The seed's zombie: an address literal, two signs with localhost. */
static script_t zombie = {
	"C:EHLO [143.106.7.43]\r\nMAIL FROM:<x@example.org>\r\n", GREET,
	EHLO_REPLY, "S:250 Ok\r\n", NULL
};

static const struct {
	const char *name;
	const char *const *s;
} scripts[] = {
#define S(x) { #x, x }
	S(good), S(good_pipelined), S(good_rejected), S(greylisted),
	S(literal), S(bare_ip), S(localhost), S(not_fqdn), S(protected),
	S(no_helo), S(pregreet), S(pregreet_multi), S(pipelining),
	S(pipelined_data), S(pipelined_ehlo), S(after_5xx_mail),
	S(after_5xx_data), S(after_5xx_rcpt), S(after_554_greeting),
	S(rset_4xx), S(reboot_4xx), S(recipients), S(messages),
	S(error_share), S(mid_session), S(mid_starttls), S(starttls),
	S(zombie),
#undef S
};

/* ---- the scorer -------------------------------------------------------------- */

TEST(well_behaved_clients_are_not_flagged)
{
	struct smtp_flow f;

	play(&f, good);
	EXPECT_STREQ("none", signs_of(&f));
	EXPECT_EQ(0, f.score);
	EXPECT_TRUE(f.greeted);
	EXPECT_EQ(SMTP_END_QUIT, f.end);
	EXPECT_EQ(1, f.messages);
	play(&f, good_pipelined);
	EXPECT_STREQ("none", signs_of(&f));
	play(&f, good_rejected);
	EXPECT_STREQ("none", signs_of(&f));
	play(&f, greylisted);
	EXPECT_STREQ("none", signs_of(&f));
	EXPECT_FALSE(smtp_flagged(&f));
}

/* Each sign alone, its weight, and whether it flags alone. */
TEST(each_sign)
{
	static const struct {
		const char *const *s;
		const char *signs;
		bool flags;
		const char *evidence;
	} t[] = {
		{ literal, "helo-address-literal", true,
		  "helo-address-literal: EHLO [192.0.2.66]" },
		{ bare_ip, "helo-bare-ip", true, "helo-bare-ip: HELO 192.0.2.66" },
		{ localhost, "helo-localhost", true,
		  "helo-localhost: EHLO localhost.localdomain" },
		{ not_fqdn, "helo-not-fqdn", false, "helo-not-fqdn: EHLO desktop-7" },
		{ protected, "helo-protected-name", true,
		  "helo-protected-name: EHLO MX.Example.NET." },
		{ no_helo, "no-helo", false, "no-helo: MAIL FROM:<a@example.org>" },
		{ pregreet, "pregreet", true, "pregreet: EHLO client.example.org" },
		{ pregreet_multi, "pregreet", true, NULL },
		{ pipelining, "pipelining", true,
		  "pipelining: RCPT TO:<b@example.net>" },
		{ pipelined_data, "pipelining", true,
		  "pipelining: Subject: buy" },
		{ pipelined_ehlo, "pipelining", true,
		  "pipelining: MAIL FROM:<a@example.org>" },
		{ after_5xx_mail, "after-5xx", false,
		  "after-5xx: RCPT TO:<b@example.net> (MAIL got 5xx)" },
		{ after_5xx_data, "after-5xx", false,
		  "after-5xx: DATA (every RCPT got 5xx)" },
		{ after_5xx_rcpt, "after-5xx", false,
		  "after-5xx: RCPT TO:<B@Example.NET> (again after 5xx)" },
		{ after_554_greeting, "after-5xx", false, NULL },
		{ rset_4xx, "restart-after-4xx", false, "restart-after-4xx: RSET" },
		{ reboot_4xx, "restart-after-4xx", false, NULL },
		{ recipients, "recipients", false,
		  "recipients: RCPT TO:<b4@example.net> (recipient 4, limit 3)" },
		{ messages, "messages", false,
		  "messages: MAIL FROM:<a@example.org> (transaction 3, limit 2)" },
		{ error_share, "error-share", false,
		  "error-share: 3 of 5 replies 4xx/5xx" },
	};
	char ev[1024];
	struct smtp_flow f;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(t); i++) {
		play(&f, t[i].s);
		EXPECT_STREQ(t[i].signs, signs_of(&f)) {
			TH_LOG("script %zu", i);
		}
		EXPECT_EQ(t[i].flags, smtp_flagged(&f)) {
			TH_LOG("script %zu: score %u", i, f.score);
		}
		if (t[i].evidence)
			EXPECT_STREQ(t[i].evidence,
				     smtp_evidence_str(&f, ev, sizeof(ev)));
	}
}

TEST(two_mild_signs_flag)
{
	static script_t s = {
		GREET, "C:EHLO desktop-7\r\n", EHLO_REPLY,
		"C:MAIL FROM:<a@example.org>\r\n", "S:554 5.7.1 no\r\n",
		"C:RCPT TO:<b@example.net>\r\n", NULL
	};
	struct smtp_flow f;

	play(&f, s);
	EXPECT_STREQ("helo-not-fqdn,after-5xx", signs_of(&f));
	EXPECT_EQ(100, f.score);
	EXPECT_TRUE(smtp_flagged(&f));
}

TEST(the_seed_zombie)
{
	struct smtp_flow f;
	char ev[1024];

	play(&f, zombie);
	EXPECT_STREQ("helo-address-literal,pregreet,pipelining", signs_of(&f));
	EXPECT_EQ(300, f.score);
	EXPECT_TRUE(smtp_flagged(&f));
	EXPECT_STREQ("pregreet: EHLO [143.106.7.43] | helo-address-literal: "
		     "EHLO [143.106.7.43] | pipelining: MAIL FROM:<x@example.org>",
		     smtp_evidence_str(&f, ev, sizeof(ev)));
	/* Cut to whole items. */
	EXPECT_STREQ("pregreet: EHLO [143.106.7.43]",
		     smtp_evidence_str(&f, ev, 40));
}

TEST(picked_up_mid_session_counts_nothing)
{
	struct smtp_flow f;

	play(&f, mid_session);
	EXPECT_EQ(SMTP_END_DESYNC, f.end);
	EXPECT_FALSE(smtp_flagged(&f));
	play(&f, mid_starttls);
	EXPECT_EQ(SMTP_END_DESYNC, f.end);
	EXPECT_FALSE(smtp_flagged(&f));
}

TEST(inspection_ends_at_starttls)
{
	struct smtp_flow f;

	play(&f, starttls);
	EXPECT_EQ(SMTP_END_STARTTLS, f.end);
	EXPECT_STREQ("none", signs_of(&f));
}

TEST(not_smtp_and_binary)
{
	static script_t http = { "S:HTTP/1.1 400 Bad Request\r\n", NULL };
	static script_t nul = { GREET, "C:EHLO a\0b\r\n", NULL };
	struct smtp_flow f;

	play(&f, http);
	EXPECT_EQ(SMTP_END_NOT_SMTP, f.end);
	smtp_init(&f, &conf);
	smtp_server(&f, (const uint8_t *)GREET + 2, strlen(GREET) - 2);
	EXPECT_FALSE(smtp_client(&f, (const uint8_t *)"EHLO a\0b\r\n", 10));
	EXPECT_EQ(SMTP_END_BINARY, f.end);
	(void)nul;
}

/* Bounded: a 100 kB line, and 100 commands in flight. */
TEST(bounded)
{
	static char line[100000];
	struct smtp_flow f;
	char ev[1024];
	int i;

	play(&f, (script_t){ GREET, NULL });
	memset(line, 'A', sizeof(line));
	memcpy(line, "HELO ", 5);
	smtp_client(&f, (const uint8_t *)line, sizeof(line));
	smtp_client(&f, (const uint8_t *)"\r\n", 2);
	EXPECT_EQ(SMTP_GOING, f.end);
	EXPECT_STREQ("helo-not-fqdn", signs_of(&f));
	EXPECT_EQ(SMTP_EVIDENCE_LEN - 1,
		  strlen(smtp_evidence_str(&f, ev, sizeof(ev))) -
		  strlen("helo-not-fqdn: "));
	play(&f, (script_t){ GREET, "C:EHLO a.example\r\n", EHLO_REPLY_PIPE, NULL });
	for (i = 0; i < 100 && !f.end; i++)
		smtp_client(&f, (const uint8_t *)"RCPT TO:<a@b>\r\n", 15);
	EXPECT_EQ(SMTP_END_DEPTH, f.end);
	EXPECT_EQ(SMTP_PENDING_MAX, f.npending);
}

/* The result does not depend on how TCP cut the bytes. */
TEST(any_segmentation)
{
	struct smtp_flow whole, cut;
	size_t i, chunk;

	for (i = 0; i < ARRAY_SIZE(scripts); i++)
		for (chunk = 1; chunk <= 7; chunk++) {
			play_split(&whole, &conf, scripts[i].s, 0);
			play_split(&cut, &conf, scripts[i].s, chunk);
			EXPECT_EQ(whole.signs, cut.signs) {
				TH_LOG("%s, %zu-byte pieces", scripts[i].name, chunk);
			}
			EXPECT_EQ(whole.end, cut.end);
		}
}

TEST(limits_off)
{
	struct smtp_conf c = conf;
	struct smtp_flow f;

	c.max_recipients = 0;
	c.max_messages = 0;
	play_split(&f, &c, recipients, 0);
	EXPECT_STREQ("none", signs_of(&f));
	play_split(&f, &c, messages, 0);
	EXPECT_STREQ("none", signs_of(&f));
}

/* ---- helo tables --------------------------------------------------------------- */

/* The seed's file, as tests/vm/data/helo-checks.regexp has it. */
static const char seed_table[] =
	"/^mx\\.dominio\\.br$/ REJECT You are not me\n"
	"/localhost/ REJECT No, you are not localhost\n"
	"/^\\[[[:digit:]\\.]*\\]$/ REJECT Local policy prohibits address literals in helo\n"
	"/^\\[[[:digit:]\\.]*$/ REJECT Local policy prohibits IP address in helo\n";

TEST(helo_seed_table)
{
	struct helo_table t;
	struct msgs m = { 0 };
	char why[200];

	helo_init(&t);
	ASSERT_EQ(0, helo_parse(&t, "helo-checks.regexp", seed_table,
				strlen(seed_table), collect, &m));
	EXPECT_EQ(4, t.n);
	EXPECT_TRUE(helo_match(&t, "[143.106.7.43]", why, sizeof(why)));
	EXPECT_STREQ("helo-checks.regexp:3 REJECT Local policy prohibits "
		     "address literals in helo", why);
	EXPECT_TRUE(helo_match(&t, "[143.106.7.43", why, sizeof(why)));
	EXPECT_STREQ("helo-checks.regexp:4 REJECT Local policy prohibits IP "
		     "address in helo", why);
	EXPECT_TRUE(helo_match(&t, "MX.Dominio.BR", why, sizeof(why)));
	EXPECT_TRUE(helo_match(&t, "my.localhost.lan", why, sizeof(why)));
	EXPECT_FALSE(helo_match(&t, "client.example.org", why, sizeof(why)));
	EXPECT_FALSE(helo_match(&t, "mx.dominio.br.evil", why, sizeof(why)));
	EXPECT_FALSE(helo_match(&t, "[IPv6:2001:db8::1]", why, sizeof(why)));
	helo_free(&t);
}

TEST(helo_syntax)
{
	static const char text[] =
		"# a comment\n"
		"\n"
		"   # an indented comment\n"
		"/^ok\\./ OK\n"
		"/^ok/ REJECT never reached for ok.*\n"
		"!/\\./ 550 5.7.1 a dotless helo\n"
		"/^CaSe$/i REJECT case-sensitive\n"
		"|^slash/x|	DEFER_IF_PERMIT another delimiter\n"
		"if /^d/\n"
		"/^dunno/ DUNNO\n"
		"/^d.*x$/ 450 4.7.1 in the if\n"
		"endif\n"
		"/^and/!/^andnot/ HOLD\n"
		"/^multi/ REJECT one\n"
		"  two\n"
		"/^warn/ WARN just a warning\n"
		"/^restr/ reject_unknown_helo_hostname\n";
	static const struct {
		const char *helo;
		bool match;
		const char *why;
	} t[] = {
		{ "ok.example", false, NULL },
		{ "oknot", true, "t:5 REJECT never reached for ok.*" },
		{ "dotless", true, "t:6 550 5.7.1 a dotless helo" },
		{ "case.x", false, NULL },
		{ "CaSe", true, NULL },
		{ "slash/x.y", true, "t:8 DEFER_IF_PERMIT another delimiter" },
		{ "dunno.x", false, NULL },
		{ "dbox.x", true, "t:11 450 4.7.1 in the if" },
		{ "and.x", true, NULL },
		{ "andnot.x", false, NULL },
		{ "multi.x", true, "t:14 REJECT one two" },
		{ "warn.x", false, NULL },
		{ "restr.x", true, NULL },
	};
	struct helo_table h;
	struct msgs m = { 0 };
	char why[200];
	size_t i;

	helo_init(&h);
	ASSERT_EQ(0, helo_parse(&h, "t", text, strlen(text), collect, &m)) {
		TH_LOG("%s", m.text);
	}
	for (i = 0; i < ARRAY_SIZE(t); i++) {
		EXPECT_EQ(t[i].match, helo_match(&h, t[i].helo, why, sizeof(why))) {
			TH_LOG("%s", t[i].helo);
		}
		if (t[i].why)
			EXPECT_STREQ(t[i].why, why);
	}
	helo_free(&h);
}

TEST(helo_errors)
{
	static const struct {
		const char *text;
		const char *msg;
	} t[] = {
		{ "/a/\n", "t:1: the rule has no result (an action: REJECT, OK...)\n" },
		{ "/a REJECT\n", "t:1: the pattern has no closing /\n" },
		{ "a REJECT\n", "t:1: 'a REJECT': a rule starts with /pattern/\n" },
		{ "\n/a/q REJECT\n", "t:2: unknown flag 'q' (i, x or m)\n" },
		{ "/a(/ REJECT\n",
		  "t:1: /a(/: Unmatched ( or \\(\n" },
		{ "  /a/ REJECT\n",
		  "t:1: a continuation line (it starts with a blank) with no rule before it\n" },
		{ "endif\n", "t:1: endif without if\n" },
		{ "if /a/\n/b/ OK\n", "t:1: if without endif\n" },
		{ "if /a/ REJECT\nendif\n",
		  "t:1: if /pattern/ takes no result\nt:2: endif without if\n" },
		{ "/ok/ OK\n/a(/ REJECT\n/b/\n",
		  "t:2: /a(/: Unmatched ( or \\(\nt:3: the rule has no result (an action: REJECT, OK...)\n" },
	};
	struct helo_table h;
	struct msgs m;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(t); i++) {
		memset(&m, 0, sizeof(m));
		helo_init(&h);
		EXPECT_LT(0, helo_parse(&h, "t", t[i].text, strlen(t[i].text),
					collect, &m));
		EXPECT_STREQ(t[i].msg, m.text);
		helo_free(&h);
	}
	memset(&m, 0, sizeof(m));
	helo_init(&h);
	EXPECT_EQ(1, helo_load(&h, "/nonexistent/helo", collect, &m));
	EXPECT_STREQ("/nonexistent/helo: cannot open: No such file or directory\n",
		     m.text);
	helo_free(&h);
}

TEST(helo_table_scores)
{
	struct smtp_conf c = conf;
	struct helo_table h;
	struct smtp_flow f;
	char ev[1024];

	helo_init(&h);
	ASSERT_EQ(0, helo_parse(&h, "helo-checks.regexp", seed_table,
				strlen(seed_table), NULL, NULL));
	c.helo = &h;
	play_split(&f, &c, literal, 0);
	EXPECT_STREQ("helo-address-literal,helo-access", signs_of(&f));
	EXPECT_STREQ("helo-access: EHLO [192.0.2.66] (helo-checks.regexp:3 "
		     "REJECT Local policy prohibits address literals in helo) | "
		     "helo-address-literal: EHLO [192.0.2.66]",
		     smtp_evidence_str(&f, ev, sizeof(ev)));
	play_split(&f, &c, good, 0);
	EXPECT_STREQ("none", signs_of(&f));
	helo_free(&h);
}

/* ---- smtpgate.conf ------------------------------------------------------------ */

static int conf_parse(struct sgd_config *c, const char *text, struct msgs *m)
{
	memset(m, 0, sizeof(*m));
	config_init(c);
	return config_parse(c, "smtpgate.conf", text, strlen(text), collect, m);
}

TEST(config_keys)
{
	struct sgd_config c;
	struct msgs m;

	ASSERT_EQ(0, conf_parse(&c, "inspect_queue = 7\n"
				"inspect_bytes = 8192\n"
				"inspect_threshold = 150\n"
				"inspect_protected_names = MX.example.net., gw\n"
				"\tmail.example.net\n"
				"inspect_max_flows = 100\n"
				"inspect_max_recipients = 0\n"
				"inspect_max_messages = 5\n", &m)) {
		TH_LOG("%s", m.text);
	}
	EXPECT_TRUE(c.pol.has & SGNL_POLICY_HAS(SMTPGATE_A_POLICY_INSPECT_QUEUE));
	EXPECT_EQ(7, c.pol.inspect_queue);
	EXPECT_EQ(8192, c.pol.inspect_bytes);
	EXPECT_EQ(150, c.smtp.threshold);
	ASSERT_EQ(3, c.smtp.nprotected);
	EXPECT_STREQ("mx.example.net", c.smtp.protected_names[0]);
	EXPECT_STREQ("mail.example.net", c.smtp.protected_names[2]);
	EXPECT_EQ(100, c.inspect_max_flows);
	EXPECT_EQ(0, c.smtp.max_recipients);
	EXPECT_EQ(5, c.smtp.max_messages);
	config_free(&c);

	ASSERT_EQ(0, conf_parse(&c, "", &m));
	EXPECT_FALSE(c.pol.has & SGNL_POLICY_HAS(SMTPGATE_A_POLICY_INSPECT_QUEUE));
	EXPECT_EQ(SMTPGATE_DEFAULT_INSPECT_BYTES, c.pol.inspect_bytes);
	EXPECT_EQ(SMTP_DEFAULT_THRESHOLD, c.smtp.threshold);
	EXPECT_EQ(4096, c.inspect_max_flows);
	EXPECT_EQ(SMTP_DEFAULT_MAX_RCPT, c.smtp.max_recipients);
	EXPECT_EQ(SMTP_DEFAULT_MAX_MSGS, c.smtp.max_messages);
	config_free(&c);
}

TEST(config_errors)
{
	static const struct {
		const char *text, *msg;
	} t[] = {
		{ "inspect_queue = 65536\n",
		  "smtpgate.conf:1: inspect_queue: '65536' is not a number from 0 to 65535\n" },
		{ "inspect_bytes = 63\n",
		  "smtpgate.conf:1: inspect_bytes: '63' is not a number from 64 to 1048576\n" },
		{ "inspect_threshold = 0\n",
		  "smtpgate.conf:1: inspect_threshold: '0' is not a number from 1 to 100000\n" },
		{ "inspect_max_flows = 15\n",
		  "smtpgate.conf:1: inspect_max_flows: '15' is not a number from 16 to 1048576\n" },
		{ "inspect_helo_access = helo.regexp\n",
		  "smtpgate.conf:1: inspect_helo_access: 'helo.regexp' is not an absolute path\n" },
		{ "inspect_protected_names = a.example\n\tb_c.example, [1.2.3.4]\n",
		  "smtpgate.conf:2: inspect_protected_names: '[1.2.3.4]' is not a host name\n" },
	};
	struct sgd_config c;
	struct msgs m;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(t); i++) {
		EXPECT_EQ(1, conf_parse(&c, t[i].text, &m));
		EXPECT_STREQ(t[i].msg, m.text);
		config_free(&c);
	}
}

/*
 * The table's errors are the configuration's: each names the key and
 * where it was set, then the table's FILE:LINE.
 */
TEST(config_loads_the_helo_table)
{
	char dir[] = "/tmp/smtp-test.XXXXXX", conf_path[64], table[64];
	char expect[256];
	struct sgd_config c;
	struct msgs m = { 0 };
	FILE *fp;

	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(conf_path, sizeof(conf_path), "%s/smtpgate.conf", dir);
	snprintf(table, sizeof(table), "%s/helo.regexp", dir);
	fp = fopen(conf_path, "w");
	ASSERT_NE(NULL, fp);
	fprintf(fp, "inspect_queue = 7\ninspect_helo_access = %s\n", table);
	fclose(fp);
	fp = fopen(table, "w");
	ASSERT_NE(NULL, fp);
	fputs(seed_table, fp);
	fclose(fp);
	config_init(&c);
	EXPECT_EQ(0, config_load(&c, conf_path, collect, &m));
	EXPECT_EQ(&c.helo, c.smtp.helo);
	EXPECT_EQ(4, c.helo.n);
	config_free(&c);

	fp = fopen(table, "a");
	ASSERT_NE(NULL, fp);
	fputs("\n/a/ REJECT\n/b(/ REJECT\n", fp);
	fclose(fp);
	config_init(&c);
	EXPECT_EQ(1, config_load(&c, conf_path, collect, &m));
	snprintf(expect, sizeof(expect),
		 "%s:2: inspect_helo_access: %s:7: /b(/: Unmatched ( or \\(\n",
		 conf_path, table);
	EXPECT_STREQ(expect, m.text);
	config_free(&c);
	unlink(table);
	unlink(conf_path);
	rmdir(dir);
}

/* A file that is no regexp table: ten errors, then how many more. */
TEST(config_helo_table_errors_stop_after_ten)
{
	char dir[] = "/tmp/smtp-test.XXXXXX", conf_path[64], table[64];
	char want[256];
	struct sgd_config c;
	struct msgs m = { 0 };
	const char *last;
	FILE *fp;
	int i;

	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(conf_path, sizeof(conf_path), "%s/smtpgate.conf", dir);
	snprintf(table, sizeof(table), "%s/helo.regexp", dir);
	fp = fopen(conf_path, "w");
	ASSERT_NE(NULL, fp);
	fprintf(fp, "inspect_queue = 7\n\ninspect_helo_access = %s\n", table);
	fclose(fp);
	fp = fopen(table, "w");
	ASSERT_NE(NULL, fp);
	for (i = 0; i < 25; i++)
		fprintf(fp, "host%d.example REJECT\n", i);
	fclose(fp);
	config_init(&c);
	EXPECT_EQ(25, config_load(&c, conf_path, collect, &m));
	EXPECT_EQ(11, m.n);
	snprintf(want, sizeof(want),
		 "%s:3: inspect_helo_access: %s:1: 'host0.example REJECT': "
		 "a rule starts with /pattern/\n", conf_path, table);
	EXPECT_EQ(0, strncmp(m.text, want, strlen(want))) TH_LOG("%s", m.text);
	last = m.text + m.len - 1;
	while (last > m.text && last[-1] != '\n')
		last--;
	snprintf(want, sizeof(want),
		 "%s:3: inspect_helo_access: ... and 15 more errors in %s\n",
		 conf_path, table);
	EXPECT_STREQ(want, last);
	config_free(&c);
	unlink(table);
	unlink(conf_path);
	rmdir(dir);
}

/* Without inspect_queue the table is not read: missing, it is no error. */
TEST(config_helo_table_not_read_when_inspection_is_off)
{
	struct sgd_config c;
	struct msgs m = { 0 };
	char dir[] = "/tmp/smtp-test.XXXXXX", conf_path[64];
	FILE *fp;

	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(conf_path, sizeof(conf_path), "%s/smtpgate.conf", dir);
	fp = fopen(conf_path, "w");
	ASSERT_NE(NULL, fp);
	fputs("internal = 192.0.2.0/24\n"
	      "inspect_helo_access = /nonexistent/helo.regexp\n", fp);
	fclose(fp);
	config_init(&c);
	EXPECT_EQ(0, config_load(&c, conf_path, collect, &m)) TH_LOG("%s", m.text);
	EXPECT_EQ(0, c.helo.n);
	EXPECT_EQ(NULL, c.smtp.helo);
	memset(&m, 0, sizeof(m));
	EXPECT_EQ(1, config_warnings(&c, "smtpgate.conf", collect, &m));
	EXPECT_STREQ("smtpgate.conf:2: warning: inspect_helo_access: not read: "
		     "the inspection is off (no inspect_queue)\n", m.text);
	config_free(&c);
	unlink(conf_path);
	rmdir(dir);
}

/* ---- the flow tracker ---------------------------------------------------------- */

struct pkt {
	uint8_t b[1600];
	size_t len;
};

struct hits {
	int n;
	char client[64];
	uint32_t score;
};

static void on_hit(const struct inspect_hit *h, void *arg)
{
	struct hits *x = arg;

	x->n++;
	host_str(&h->client, x->client, sizeof(x->client));
	x->score = h->smtp->score;
}

/* One TCP segment of client @c:@cport <-> server @s:25 carrying @data. */
static void tcp_pkt(struct pkt *p, bool v6, const char *c, uint16_t cport,
		    const char *s, bool from_server, uint32_t seq, uint32_t ack,
		    const char *data, uint8_t flags)
{
	uint8_t ca[16], sa[16];

	inet_pton(v6 ? AF_INET6 : AF_INET, c, ca);
	inet_pton(v6 ? AF_INET6 : AF_INET, s, sa);
	p->len = seg_smtp(p->b, v6, ca, cport, sa, from_server, seq, ack, data,
			  strlen(data), flags);
}

/* A session played as packets; returns the tracker's stats after it. */
struct session {
	struct inspect *in;
	bool v6;
	const char *client;
	uint16_t cport;
	const char *server;
	uint32_t cseq, sseq;
};

static void say(struct session *x, bool server, const char *data)
{
	struct pkt p;

	tcp_pkt(&p, x->v6, x->client, x->cport, x->server, server,
		server ? x->sseq : x->cseq, server ? x->cseq : x->sseq, data, 0);
	inspect_packet(x->in, p.b, p.len, 1000);
	if (server)
		x->sseq += strlen(data);
	else
		x->cseq += strlen(data);
}

TEST(tracker_flags_a_session_once)
{
	struct hits h = { 0 };
	struct inspect *in = inspect_new(16, &conf, on_hit, &h);
	struct session x = { in, false, "192.0.2.66", 40000, "203.0.113.25",
			     0xfffffff0, 1000 };
	const struct inspect_stats *st;

	ASSERT_NE(NULL, in);
	say(&x, true, "220 mx.example.net ESMTP\r\n");
	say(&x, false, "EHLO [192.0.2.66]\r\n");
	EXPECT_EQ(1, h.n);
	EXPECT_STREQ("192.0.2.66", h.client);
	EXPECT_EQ(100, h.score);
	/* More evidence later: still one hit. */
	say(&x, true, "250 mx.example.net\r\n");
	say(&x, false, "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n");
	EXPECT_EQ(1, h.n);
	st = inspect_stats(in);
	EXPECT_EQ(1, st->flows);
	EXPECT_EQ(1, st->active);
	EXPECT_EQ(0, st->malformed);
	inspect_free(in);
}

TEST(tracker_ipv6_and_extension_headers)
{
	struct hits h = { 0 };
	struct inspect *in = inspect_new(16, &conf, on_hit, &h);
	struct pkt p;

	ASSERT_NE(NULL, in);
	tcp_pkt(&p, true, "2001:db8:1::66", 40000, "2001:db8:3::25", false,
		1, 1, "EHLO localhost\r\n", 0);
	/* A hop-by-hop header in front of TCP. */
	memmove(p.b + 48, p.b + 40, p.len - 40);
	memset(p.b + 40, 0, 8);
	p.b[40] = IPPROTO_TCP;
	p.b[6] = 0;
	seg_put16(p.b + 4, p.len - 40 + 8);
	p.len += 8;
	inspect_packet(in, p.b, p.len, 1);
	tcp_pkt(&p, true, "2001:db8:1::66", 40000, "2001:db8:3::25", true,
		1, 17, "220 mx ESMTP\r\n", 0);
	inspect_packet(in, p.b, p.len, 2);
	EXPECT_EQ(1, h.n);
	EXPECT_STREQ("2001:db8:1::66", h.client);
	EXPECT_EQ(200, h.score);	/* pregreet, localhost */
	EXPECT_EQ(0, inspect_stats(in)->malformed);
	inspect_free(in);
}

TEST(tracker_retransmits_and_holes)
{
	struct hits h = { 0 };
	struct inspect *in = inspect_new(16, &conf, on_hit, &h);
	struct session x = { in, false, "192.0.2.10", 40001, "203.0.113.25",
			     5000, 9000 };
	struct pkt p;

	ASSERT_NE(NULL, in);
	say(&x, true, GREET + 2);
	say(&x, false, "EHLO client.example.org\r\n");
	/* The same segment again, and a partial overlap: nothing doubles. */
	tcp_pkt(&p, false, x.client, x.cport, x.server, false, 5000, x.sseq,
		"EHLO client.example.org\r\n", 0);
	inspect_packet(in, p.b, p.len, 1);
	say(&x, true, EHLO_REPLY + 2);
	EXPECT_EQ(1, inspect_stats(in)->retransmits);
	EXPECT_EQ(0, h.n);
	/* A hole: what follows it is never judged. */
	x.cseq += 100;
	say(&x, false, "EHLO [1.2.3.4]\r\n");
	EXPECT_EQ(1, inspect_stats(in)->holes);
	EXPECT_EQ(0, h.n);
	inspect_free(in);
}

/* The greeting's ack fixes where the client's stream starts. */
TEST(tracker_client_start_from_the_greeting_ack)
{
	struct hits h = { 0 };
	struct inspect *in = inspect_new(16, &conf, on_hit, &h);
	struct session x = { in, false, "192.0.2.10", 40002, "203.0.113.25",
			     100, 200 };

	ASSERT_NE(NULL, in);
	say(&x, true, GREET + 2);
	x.cseq += 25;		/* "EHLO ..." went by unqueued */
	say(&x, false, "MAIL FROM:<a@b>\r\n");
	EXPECT_EQ(1, inspect_stats(in)->holes);
	EXPECT_EQ(0, h.n);
	inspect_free(in);
}

TEST(tracker_evicts_the_oldest_and_forgets_on_fin)
{
	struct hits h = { 0 };
	struct inspect *in = inspect_new(16, &conf, on_hit, &h);
	struct session x = { in, false, "192.0.2.10", 0, "203.0.113.25", 1, 1 };
	struct pkt p;
	int i;

	ASSERT_NE(NULL, in);
	for (i = 0; i < 40; i++) {
		x.cport = 30000 + i;
		x.sseq = 1;
		say(&x, true, GREET + 2);
	}
	EXPECT_EQ(16, inspect_stats(in)->active);
	EXPECT_EQ(24, inspect_stats(in)->evictions);
	tcp_pkt(&p, false, x.client, x.cport, x.server, false, x.cseq, x.sseq,
		"", 0x01);
	inspect_packet(in, p.b, p.len, 1);
	EXPECT_EQ(15, inspect_stats(in)->active);
	inspect_expire(in, 1000 + 5 * 60 * 1000);
	EXPECT_EQ(0, inspect_stats(in)->active);
	EXPECT_EQ(15, inspect_stats(in)->expired);
	inspect_free(in);
}

TEST(tracker_malformed)
{
	struct inspect *in = inspect_new(16, &conf, NULL, NULL);
	struct pkt p;
	size_t len;

	ASSERT_NE(NULL, in);
	tcp_pkt(&p, false, "192.0.2.10", 40000, "203.0.113.25", false, 1, 1,
		"EHLO x\r\n", 0);
	/* Every truncation: none crashes, none is a flow with data. */
	for (len = 0; len < p.len; len++)
		inspect_packet(in, p.b, len, 1);
	EXPECT_EQ(p.len, inspect_stats(in)->malformed);
	EXPECT_EQ(0, inspect_stats(in)->flows);
	p.b[9] = IPPROTO_UDP;
	inspect_packet(in, p.b, p.len, 1);
	EXPECT_EQ(p.len + 1, inspect_stats(in)->malformed);
	inspect_free(in);
}

/* ---- corpus -------------------------------------------------------------------- */

/* fuzz/smtp_fuzz's format: a flags byte, then pieces of one byte (bit 7:
 * the server's; bits 0-6: length) and the bytes. */
static int dump_corpus(const char *dir)
{
	unsigned char buf[8192];
	size_t i, j, n, len, off;
	char path[512];
	FILE *fp;

	for (i = 0; i < ARRAY_SIZE(scripts); i++) {
		n = 0;
		buf[n++] = i & 1;	/* every other one with the helo table */
		for (j = 0; scripts[i].s[j]; j++) {
			const char *p = scripts[i].s[j] + 2;

			len = strlen(p);
			for (off = 0; off < len; off += 127) {
				size_t k = len - off < 127 ? len - off : 127;

				if (n + k + 1 > sizeof(buf))
					break;
				buf[n++] = (scripts[i].s[j][0] == 'S' ? 0x80 : 0) | k;
				memcpy(buf + n, p + off, k);
				n += k;
			}
		}
		snprintf(path, sizeof(path), "%s/%s", dir, scripts[i].name);
		fp = fopen(path, "w");
		if (!fp || fwrite(buf, 1, n, fp) != n) {
			perror(path);
			return 1;
		}
		fclose(fp);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--dump-corpus"))
		return dump_corpus(argv[2]);
	return test_harness_run(argc, argv);
}
