// SPDX-License-Identifier: GPL-2.0
/*
 * load's and save's line grammar (ctl/banline.c): keywords as ipset
 * restore has them, the old positional form only where it is unambiguous,
 * and save's lines read back to the same bans, whatever bytes a reason
 * holds.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"

#include "../ctl/banline.h"

static int parse(const char *text, struct sgnl_ban *b, char *err, size_t len)
{
	char line[1024];

	snprintf(line, sizeof(line), "%s", text);
	err[0] = '\0';
	return ban_line_parse(line, b, err, len);
}

TEST(keywords_and_old_form)
{
	static const struct {
		const char *in, *prefix;
		uint32_t timeout;
		uint8_t scope;
		const char *reason;
	} ok[] = {
		{ "192.0.2.1 for 1h scope all reason \"spam from x\"",
		  "192.0.2.1/32", 3600, SMTPGATE_SCOPE_ALL, "spam from x" },
		{ "2001:db8::/48 reason spam scope smtp",
		  "2001:db8::/48", 0, SMTPGATE_SCOPE_SMTP, "spam" },
		{ "192.0.2.1 reason \"ticket #12\" # a comment",
		  "192.0.2.1/32", 0, 0, "ticket #12" },
		{ "192.0.2.1 reason \"a\\\"b\\\\c\\x1bd\\xff\"",
		  "192.0.2.1/32", 0, 0, "a\"b\\c\x1b" "d\xff" },
		{ "  192.0.2.1\tfor 90\t# trailing", "192.0.2.1/32", 90, 0, "" },
		{ "192.0.2.1 reason \"\"", "192.0.2.1/32", 0, 0, "" },
		/* The old form, where it is unambiguous. */
		{ "192.0.2.1 1h all fine", "192.0.2.1/32", 3600,
		  SMTPGATE_SCOPE_ALL, "fine" },
		{ "192.0.2.1 - smtp again and again", "192.0.2.1/32", 0,
		  SMTPGATE_SCOPE_SMTP, "again and again" },
		{ "2001:db8::/48 90 all # two", "2001:db8::/48", 90,
		  SMTPGATE_SCOPE_ALL, "" },
		{ "192.0.2.1 1h", "192.0.2.1/32", 3600, 0, "" },
		{ "192.0.2.1 - - why", "192.0.2.1/32", 0, 0, "why" },
		{ "192.0.2.1", "192.0.2.1/32", 0, 0, "" },
	};
	static const struct { const char *in, *err; } bad[] = {
		{ "10.0.0.1 1h al spam",
		  "is 'al' a scope or a reason? write it as PREFIX [for DURATION] [scope smtp|all] [reason \"TEXT\"]" },
		{ "10.0.0.1 spammer",
		  "is 'spammer' a scope or a reason? write it as PREFIX [for DURATION] [scope smtp|all] [reason \"TEXT\"]" },
		{ "10.0.0.1 for", "for needs a value" },
		{ "10.0.0.1 for 1h for 2h", "for given twice" },
		{ "10.0.0.1 for 10x", "'10x' is not a duration (like 90, 10m, 3h12m, 2d)" },
		{ "10.0.0.1 scope everything", "scope: 'everything' is not smtp or all" },
		{ "10.0.0.1 for 1h color red", "'color' is not for, scope or reason" },
		{ "10.0.0.1 reason \"open", "reason: no closing '\"'" },
		{ "10.0.0.1 reason \"a\"b", "reason: text after the closing '\"'" },
		{ "10.0.0.1 reason \"\\q\"", "reason: '\\q' is not \\\", \\\\ or \\xHH" },
		{ "10.0.0.1 reason \"\\x00\"", "reason: '\\x' is not \\\", \\\\ or \\xHH" },
		{ "10.0.0.1 reason \"0123456789012345678901234567890123456789012345678901234567890123\"",
		  "reason longer than 63 bytes" },
		{ "192.0.2.3/24 for 1h",
		  "cannot parse '192.0.2.3/24': host bits set past /24 (the prefix is 192.0.2.0/24)" },
	};
	char err[256], buf[SG_PREFIX_STRLEN];
	struct sgnl_ban b;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ok); i++) {
		ASSERT_EQ(1, parse(ok[i].in, &b, err, sizeof(err)))
			TH_LOG("%s: %s", ok[i].in, err);
		EXPECT_STREQ(ok[i].prefix, sg_prefix_str(&b.prefix, buf, sizeof(buf)));
		EXPECT_EQ(ok[i].timeout, b.timeout) TH_LOG("%s", ok[i].in);
		EXPECT_EQ(ok[i].scope, b.scope) TH_LOG("%s", ok[i].in);
		EXPECT_STREQ(ok[i].reason, b.reason);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-EINVAL, parse(bad[i].in, &b, err, sizeof(err)))
			TH_LOG("%s", bad[i].in);
		EXPECT_STREQ(bad[i].err, err);
	}
	EXPECT_EQ(0, parse("", &b, err, sizeof(err)));
	EXPECT_EQ(0, parse("   # only a comment", &b, err, sizeof(err)));
}

TEST(save_lines)
{
	struct sgnl_ban b = { .timeout = 10783, .scope = SMTPGATE_SCOPE_ALL };
	char line[512];

	b.prefix = (struct sg_prefix){ .family = AF_INET, .len = 24,
				       .addr.v4.s_addr = htonl(0xc0000200) };
	strcpy(b.reason, "say \"hi\" \\ \x1b[2J h\xc3\xa9 \xe2\x80\xae");
	ban_line_format(&b, line, sizeof(line));
	EXPECT_STREQ("192.0.2.0/24 for 10783 scope all reason \"say \\\"hi\\\" \\\\ \\x1b[2J h\xc3\xa9 \\xe2\\x80\\xae\"",
		     line);
	b.timeout = 0;
	b.reason[0] = '\0';
	b.scope = SMTPGATE_SCOPE_SMTP;
	ban_line_format(&b, line, sizeof(line));
	EXPECT_STREQ("192.0.2.0/24 scope smtp", line);
}

/* Random bans, reasons of any bytes: format, parse, the same ban. */
TEST(save_load_round_trip)
{
	struct sgnl_ban b, back;
	char line[512], err[256];
	size_t i, j, n;

	srandom(11);
	for (i = 0; i < 20000; i++) {
		memset(&b, 0, sizeof(b));
		b.prefix.family = random() % 2 ? AF_INET : AF_INET6;
		b.prefix.len = random() % (sg_family_bits(b.prefix.family) + 1);
		for (j = 0; j < sg_family_addr_len(b.prefix.family); j++)
			b.prefix.addr.bytes[j] = random();
		sg_prefix_mask(&b.prefix);
		b.timeout = random() % 3 ? random() % 100000000 : 0;
		b.scope = 1 + random() % 2;
		n = random() % sizeof(b.reason);
		for (j = 0; j < n; j++)
			b.reason[j] = 1 + random() % 255;
		ASSERT_LT(ban_line_format(&b, line, sizeof(line)), sizeof(line));
		ASSERT_EQ(1, ban_line_parse(line, &back, err, sizeof(err)))
			TH_LOG("%s: %s", line, err);
		ASSERT_TRUE(sg_prefix_equal(&b.prefix, &back.prefix));
		ASSERT_EQ(b.timeout, back.timeout);
		ASSERT_EQ(b.scope, back.scope);
		ASSERT_STREQ(b.reason, back.reason);
	}
}

TEST_HARNESS_MAIN
