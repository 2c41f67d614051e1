// SPDX-License-Identifier: GPL-2.0
/*
 * The pure parts of lib/sgnl: address and prefix text, masks, names,
 * growable arrays, whole files.  No socket: runs on the build host (make
 * check); the netlink calls are tested in the VM by netlink_test.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/genl/genl.h>

#include "kselftest_harness.h"
#include "file.h"
#include "sgnl.h"
#include "vec.h"

/* Parses @text, which must succeed, and prints it back. */
static const char *roundtrip(const char *text, char *buf, size_t len)
{
	static char err[SG_PARSE_ERRLEN];
	struct sg_prefix p;

	if (sg_prefix_parse(text, &p, err, sizeof(err)))
		return err;
	return sg_prefix_str(&p, buf, len);
}

TEST(prefix_roundtrip)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "192.0.2.0/24", "192.0.2.0/24" },
		{ "192.0.2.7", "192.0.2.7/32" },
		{ "0.0.0.0/0", "0.0.0.0/0" },
		{ "10.0.0.0/8", "10.0.0.0/8" },
		{ "2001:db8::/64", "2001:db8::/64" },
		{ "2001:db8::1", "2001:db8::1/128" },
		{ "::/0", "::/0" },
		{ "2001:DB8:0:0::/48", "2001:db8::/48" },
		{ "::ffff:192.0.2.1", "::ffff:192.0.2.1/128" },
		{ "192.0.2.128/25", "192.0.2.128/25" },
		{ "2000::/003", "2000::/3" },
	};
	char buf[SG_PREFIX_STRLEN];
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		EXPECT_STREQ(cases[i].out, roundtrip(cases[i].in, buf,
						     sizeof(buf)));
}

/* Every refusal says what was wrong, in the words the CLI prints. */
TEST(prefix_errors)
{
	static const struct {
		const char *in, *err;
	} cases[] = {
		{ "2001:db8::/129",
		  "cannot parse '2001:db8::/129': prefix longer than 128" },
		{ "192.0.2.0/33",
		  "cannot parse '192.0.2.0/33': prefix longer than 32" },
		{ "192.0.2.0/4294967320",
		  "cannot parse '192.0.2.0/4294967320': prefix longer than 32" },
		{ "192.0.2.1/24",
		  "cannot parse '192.0.2.1/24': host bits set past /24 "
		  "(the prefix is 192.0.2.0/24)" },
		{ "2001:db8::1/64",
		  "cannot parse '2001:db8::1/64': host bits set past /64 "
		  "(the prefix is 2001:db8::/64)" },
		{ "192.0.2.0/", "cannot parse '192.0.2.0/': "
		  "no prefix length after '/'" },
		{ "192.0.2.0/2x", "cannot parse '192.0.2.0/2x': "
		  "prefix length '2x' is not a number" },
		{ "192.0.2.0/-1", "cannot parse '192.0.2.0/-1': "
		  "prefix length '-1' is not a number" },
		{ "/24", "cannot parse '/24': no address" },
		{ "", "cannot parse '': no address" },
		{ "192.0.2", "cannot parse '192.0.2': "
		  "not an IPv4 or IPv6 address" },
		{ "192.0.2.256", "cannot parse '192.0.2.256': "
		  "not an IPv4 or IPv6 address" },
		{ "mx.example.org", "cannot parse 'mx.example.org': "
		  "not an IPv4 or IPv6 address" },
		{ "2001:db8:::1", "cannot parse '2001:db8:::1': "
		  "not an IPv4 or IPv6 address" },
		{ " 192.0.2.1", "cannot parse ' 192.0.2.1': "
		  "not an IPv4 or IPv6 address" },
		{ "1111:2222:3333:4444:5555:6666:7777:8888:9999",
		  "cannot parse '1111:2222:3333:4444:5555:6666:7777:8888:9999': "
		  "not an IPv4 or IPv6 address" },
	};
	char err[SG_PARSE_ERRLEN];
	struct sg_prefix p;
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		EXPECT_EQ(-EINVAL, sg_prefix_parse(cases[i].in, &p, err,
						   sizeof(err)));
		EXPECT_STREQ(cases[i].err, err);
	}
}

TEST(addr_parse)
{
	char err[SG_PARSE_ERRLEN], buf[SG_PREFIX_STRLEN];
	struct sg_prefix p;

	ASSERT_EQ(0, sg_addr_parse("198.51.100.9", &p, err, sizeof(err)));
	EXPECT_EQ(AF_INET, p.family);
	EXPECT_EQ(32U, p.len);
	EXPECT_STREQ("198.51.100.9", sg_addr_str(&p, buf, sizeof(buf)));
	ASSERT_EQ(0, sg_addr_parse("2001:db8::25", &p, err, sizeof(err)));
	EXPECT_EQ(AF_INET6, p.family);
	EXPECT_EQ(128U, p.len);
	EXPECT_STREQ("2001:db8::25", sg_addr_str(&p, buf, sizeof(buf)));
	EXPECT_EQ(-EINVAL, sg_addr_parse("192.0.2.0/24", &p, err, sizeof(err)));
	EXPECT_STREQ("cannot parse '192.0.2.0/24': an address is needed "
		     "here, not a prefix", err);
	/* No room for the message is not a crash. */
	EXPECT_EQ(-EINVAL, sg_addr_parse("x", &p, NULL, 0));
}

static struct sg_prefix prefix(const char *text)
{
	struct sg_prefix p;

	if (sg_prefix_parse(text, &p, NULL, 0))
		abort();
	return p;
}

/* Lengths that are not multiples of 8 are where masks go wrong. */
TEST(contains_and_mask)
{
	struct sg_prefix net = prefix("192.0.2.128/25");
	struct sg_prefix in = prefix("192.0.2.200");
	struct sg_prefix out = prefix("192.0.2.127");
	struct sg_prefix v6 = prefix("2001:db8:a::/47");
	struct sg_prefix p = prefix("2001:db8:b:ffff::1");
	struct sg_prefix q;
	char buf[SG_PREFIX_STRLEN];

	EXPECT_TRUE(sg_prefix_contains(&net, &in));
	EXPECT_FALSE(sg_prefix_contains(&net, &out));
	EXPECT_TRUE(sg_prefix_contains(&v6, &p));
	p.addr.bytes[5] = 0x0c;			/* 2001:db8:c:... */
	EXPECT_FALSE(sg_prefix_contains(&v6, &p));
	EXPECT_FALSE(sg_prefix_contains(&net, &v6));
	/* A longer prefix inside, a shorter one not. */
	q = prefix("192.0.2.192/26");
	EXPECT_TRUE(sg_prefix_contains(&net, &q));
	EXPECT_FALSE(sg_prefix_contains(&q, &net));

	q = prefix("192.0.2.255");
	q.len = 27;
	EXPECT_TRUE(sg_prefix_host_bits(&q));
	sg_prefix_mask(&q);
	EXPECT_FALSE(sg_prefix_host_bits(&q));
	EXPECT_STREQ("192.0.2.224/27", sg_prefix_str(&q, buf, sizeof(buf)));
	q = prefix("2001:db8:ffff:ffff::");
	q.len = 35;
	sg_prefix_mask(&q);
	EXPECT_STREQ("2001:db8:e000::/35", sg_prefix_str(&q, buf, sizeof(buf)));
	q.len = 0;
	sg_prefix_mask(&q);
	EXPECT_STREQ("::/0", sg_prefix_str(&q, buf, sizeof(buf)));
}

TEST(compare)
{
	struct sg_prefix a = prefix("192.0.2.0/24"), b = prefix("192.0.2.0/25");
	struct sg_prefix c = prefix("2001:db8::/32");

	EXPECT_TRUE(sg_prefix_equal(&a, &a));
	EXPECT_FALSE(sg_prefix_equal(&a, &b));
	EXPECT_LT(sg_prefix_cmp(&a, &b), 0);
	EXPECT_GT(sg_prefix_cmp(&b, &a), 0);
	/* AF_INET sorts before AF_INET6. */
	EXPECT_LT(sg_prefix_cmp(&b, &c), 0);
}

TEST(names)
{
	unsigned int i;

	EXPECT_STREQ("redirect", sgnl_action_name(SMTPGATE_ACTION_REDIRECT));
	EXPECT_EQ(SMTPGATE_ACTION_DROPLOG, sgnl_action_parse("droplog"));
	EXPECT_EQ(-1, sgnl_action_parse("drop "));
	EXPECT_EQ(-1, sgnl_action_parse("dr"));	/* no abbreviations */
	EXPECT_NULL(sgnl_action_name(SMTPGATE_ACTION_UNSPEC));
	EXPECT_NULL(sgnl_action_name(SMTPGATE_ACTION_MAX + 1));
	EXPECT_EQ(SMTPGATE_SCOPE_ALL, sgnl_scope_parse("all"));
	EXPECT_STREQ("smtp", sgnl_scope_name(SMTPGATE_SCOPE_SMTP));
	EXPECT_STREQ("ban-expired", sgnl_cmd_name(SMTPGATE_CMD_BAN_EXPIRED));
	/* Every class and verdict the header knows has a name. */
	for (i = 0; i <= SMTPGATE_CLASS_MAX; i++)
		EXPECT_NE(NULL, sgnl_class_name(i));
	for (i = 0; i <= SMTPGATE_VERDICT_MAX; i++)
		EXPECT_NE(NULL, sgnl_verdict_name(i));
	EXPECT_NULL(sgnl_verdict_name(SMTPGATE_VERDICT_MAX + 1));
}

/*
 * One name for every SMTPGATE_REASON_* bit and none for anything else;
 * names and bits round-trip, so smtpgatectl's listing and smtpgated's
 * "rate,destinations" say the same words.
 */
TEST(reason_names)
{
	uint32_t seen = 0, bit;
	unsigned int i, j;

	ASSERT_EQ(SGNL_NREASONS, ARRAY_SIZE(sgnl_reasons));
	for (i = 0; i < ARRAY_SIZE(sgnl_reasons); i++) {
		bit = sgnl_reasons[i].bit;
		ASSERT_NE(NULL, sgnl_reasons[i].name);
		/* One bit each, in bit order, each once. */
		EXPECT_EQ(0U, bit & (bit - 1));
		EXPECT_GT(bit, seen);
		EXPECT_EQ(0U, seen & bit);
		seen |= bit;
		EXPECT_STREQ(sgnl_reasons[i].name, sgnl_reason_name(bit));
		EXPECT_EQ(bit, sgnl_reason_parse(sgnl_reason_name(bit)));
		for (j = 0; j < i; j++)
			EXPECT_STRNE(sgnl_reasons[j].name,
				     sgnl_reasons[i].name);
	}
	EXPECT_EQ(SMTPGATE_REASON_ALL, seen);
	for (i = 0; i < 32; i++)
		if (!(SMTPGATE_REASON_ALL & (1U << i)))
			EXPECT_NULL(sgnl_reason_name(1U << i));
	EXPECT_NULL(sgnl_reason_name(0));
	EXPECT_NULL(sgnl_reason_name(SMTPGATE_REASON_RATE |
				     SMTPGATE_REASON_TUNNEL));
	EXPECT_STREQ("dialogue", sgnl_reason_name(SMTPGATE_REASON_DIALOGUE));
	EXPECT_EQ(SMTPGATE_REASON_DESTINATIONS,
		  sgnl_reason_parse("destinations"));
	EXPECT_EQ(0U, sgnl_reason_parse("dest"));	/* no abbreviations */
	EXPECT_EQ(0U, sgnl_reason_parse(""));
}

/* Every class counts, and the sum does not wrap at 2^32. */
TEST(host_attempts)
{
	struct sgnl_host h = { 0 };
	unsigned int c;

	EXPECT_EQ(0U, sgnl_host_attempts(&h));
	for (c = 0; c <= SMTPGATE_CLASS_MAX; c++)
		h.attempts[c] = c + 1;
	EXPECT_EQ((uint64_t)(SMTPGATE_CLASS_MAX + 1) *
		  (SMTPGATE_CLASS_MAX + 2) / 2, sgnl_host_attempts(&h));
	for (c = 0; c <= SMTPGATE_CLASS_MAX; c++)
		h.attempts[c] = UINT32_MAX;
	EXPECT_EQ((uint64_t)UINT32_MAX * (SMTPGATE_CLASS_MAX + 1),
		  sgnl_host_attempts(&h));
}

/*
 * vec_push() (lib/vec.c): the elements survive every doubling, n counts
 * them, and a size that would overflow leaves the array as it was.
 */
TEST(vec_grows)
{
	struct {
		uint32_t *v;
		size_t n, cap;
	} vec = { 0 };
	uint32_t *slot, *before;
	size_t i, cap;

	for (i = 0; i < 1000; i++) {
		slot = VEC_PUSH(&vec);
		ASSERT_NE(NULL, slot);
		ASSERT_EQ(&vec.v[i], slot);
		*slot = i * 7;
	}
	ASSERT_EQ(1000U, vec.n);
	EXPECT_GE(vec.cap, vec.n);
	EXPECT_LT(vec.cap, 2 * vec.n);
	for (i = 0; i < vec.n; i++)
		EXPECT_EQ(i * 7, vec.v[i]);

	/* Full, and the doubled size cannot be counted in a size_t. */
	while (vec.n < vec.cap)
		ASSERT_NE(NULL, VEC_PUSH(&vec));
	before = vec.v;
	cap = vec.cap;
	EXPECT_NULL(vec_push(&vec.v, &vec.n, &vec.cap, SIZE_MAX / cap));
	EXPECT_EQ(before, vec.v);
	EXPECT_EQ(cap, vec.n);
	EXPECT_EQ(cap, vec.cap);
	free(vec.v);
}

TEST(policy_defaults)
{
	struct sgnl_policy pol;

	sgnl_policy_defaults(&pol);
	EXPECT_EQ(SMTPGATE_ACTION_DROP, pol.action);
	EXPECT_EQ(587U, pol.submission_port);
	EXPECT_EQ(2U, pol.nports);
	EXPECT_EQ(25U, pol.ports[0]);
	EXPECT_EQ(465U, pol.ports[1]);
	EXPECT_EQ(64U, pol.host_prefix6);
	EXPECT_EQ(1048576U, pol.max_bans);
	EXPECT_TRUE(!!(pol.has & SGNL_POLICY_HAS(SMTPGATE_A_POLICY_MAX_BANS)));
	EXPECT_FALSE(!!(pol.has & SGNL_POLICY_HAS(SMTPGATE_A_POLICY_SUBMISSION4)));
	EXPECT_FALSE(!!(pol.has & SGNL_POLICY_HAS(SMTPGATE_A_POLICY_GENERATION)));
}

/* Where the next attribute of @m goes. */
static uint32_t here(struct nl_msg *m)
{
	return (char *)nlmsg_tail(nlmsg_hdr(m)) - (char *)nlmsg_hdr(m);
}

/* The kernel blames by offset; the CLI shows the attribute's path. */
TEST(attr_path)
{
	struct nl_msg *m = nlmsg_alloc();
	struct nlattr *pol, *list, *e, *bans, *b;
	uint32_t off_pol, off_len, off_action, off_ban1, off_timeout;
	uint32_t off_flags, off_odd, off_port;
	char path[96];
	int i;

	ASSERT_NE(NULL, m);
	ASSERT_NE(NULL, genlmsg_put(m, 0, 0, 0x42, 0, 0, SMTPGATE_CMD_POLICY_SET,
				    SMTPGATE_GENL_VERSION));
	off_pol = here(m);
	pol = nla_nest_start(m, SMTPGATE_A_POLICY | NLA_F_NESTED);
	list = nla_nest_start(m, SMTPGATE_A_POLICY_INTERNAL | NLA_F_NESTED);
	for (i = 0; i < 3; i++) {
		e = nla_nest_start(m, SMTPGATE_A_PREFIX_ENTRY | NLA_F_NESTED);
		nla_put_u16(m, SMTPGATE_A_PREFIX_FAMILY, AF_INET);
		nla_put_u32(m, SMTPGATE_A_PREFIX_ADDR, 0);
		off_len = here(m);
		nla_put_u8(m, SMTPGATE_A_PREFIX_LEN, 8);
		nla_nest_end(m, e);
	}
	nla_nest_end(m, list);
	list = nla_nest_start(m, SMTPGATE_A_POLICY_PORTS | NLA_F_NESTED);
	nla_put_u16(m, SMTPGATE_A_PORT, 25);
	off_port = here(m);
	nla_put_u16(m, SMTPGATE_A_PORT, 0);
	nla_nest_end(m, list);
	off_action = here(m);
	nla_put_u8(m, SMTPGATE_A_POLICY_ACTION, 9);
	nla_nest_end(m, pol);
	bans = nla_nest_start(m, SMTPGATE_A_BANS | NLA_F_NESTED);
	for (i = 0; i < 2; i++) {
		off_ban1 = here(m);
		b = nla_nest_start(m, SMTPGATE_A_BAN | NLA_F_NESTED);
		nla_put_u16(m, SMTPGATE_A_BAN_FAMILY, AF_INET);
		off_timeout = here(m);
		nla_put_u32(m, SMTPGATE_A_BAN_TIMEOUT, 0);
		nla_nest_end(m, b);
	}
	nla_nest_end(m, bans);
	off_flags = here(m);
	nla_put_u32(m, SMTPGATE_A_FLAGS, 1);
	off_odd = here(m);
	nla_put_u32(m, 42, 1);

#define PATH(off, want) do { \
	EXPECT_EQ(0, sgnl_attr_path(nlmsg_hdr(m), (off), path, sizeof(path))); \
	EXPECT_STREQ(want, path); \
} while (0)
	PATH(off_pol, "policy");
	PATH(off_len, "policy.internal[2].len");
	PATH(off_port, "policy.ports[1]");
	PATH(off_action, "policy.action");
	PATH(off_ban1, "bans[1]");
	PATH(off_timeout, "bans[1].timeout");
	PATH(off_flags, "flags");
	PATH(off_odd, "#42");
#undef PATH
	/* Not the start of an attribute: a byte of a value, the headers. */
	EXPECT_EQ(-ENOENT, sgnl_attr_path(nlmsg_hdr(m), off_flags + 4, path,
					  sizeof(path)));
	EXPECT_STREQ("", path);
	EXPECT_EQ(-ENOENT, sgnl_attr_path(nlmsg_hdr(m), 4, path, sizeof(path)));
	EXPECT_EQ(-ENOENT, sgnl_attr_path(nlmsg_hdr(m), 1 << 20, path,
					  sizeof(path)));
	nlmsg_free(m);
}

/*
 * An interrupted dump is redone five times, after pauses of 10, 20, 40,
 * 80 and 160 ms (a resize left pending outran five redone dumps in a
 * row); anything else is not redone.
 */
TEST(dump_again)
{
	struct timespec t0, t1;
	unsigned int tries = 0;
	int redone = 0;
	long ms;

	ASSERT_FALSE(sgnl_dump_again(0, &tries));
	ASSERT_FALSE(sgnl_dump_again(-ENOMEM, &tries));
	ASSERT_EQ(0U, tries);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (sgnl_dump_again(-EINTR, &tries))
		redone++;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 +
	     (t1.tv_nsec - t0.tv_nsec) / 1000000;
	EXPECT_EQ(5, redone);
	/* A lower bound only: sleeps end late on a busy machine, not early. */
	EXPECT_GE(ms, 310);
}

/* The dump callbacks that keep whole listings keep them in order. */
TEST(listings)
{
	struct sgnl_bans bans = { 0 };
	struct sgnl_hosts hosts = { 0 };
	struct sgnl_host h = { 0 };
	struct sgnl_ban b = { 0 };
	unsigned int i;

	for (i = 0; i < 300; i++) {
		b.timeout = i;
		h.rate = i;
		ASSERT_EQ(0, sgnl_bans_add(&b, &bans));
		ASSERT_EQ(0, sgnl_hosts_add(&h, &hosts));
	}
	ASSERT_EQ(300U, bans.n);
	ASSERT_EQ(300U, hosts.n);
	for (i = 0; i < 300; i++) {
		EXPECT_EQ(i, bans.v[i].timeout);
		EXPECT_EQ(i, hosts.v[i].rate);
	}
	free(bans.v);
	free(hosts.v);
}

/* A temporary file of @len bytes of 'x'; its name in @path. */
static void make_file(char *path, size_t len)
{
	FILE *f;
	int fd;

	strcpy(path, "/tmp/sgnl_test.XXXXXX");
	fd = mkstemp(path);
	f = fd < 0 ? NULL : fdopen(fd, "w");
	if (!f)
		abort();
	while (len--)
		fputc('x', f);
	fclose(f);
}

/*
 * sg_read_file() (lib/file.c): a file of @max bytes is read whole, one
 * byte more is refused, not cut short; each failure says why without
 * the file's name, which its callers put in front.
 */
TEST(read_file)
{
	char path[32], err[128];
	size_t len = 1;
	char *buf;

	make_file(path, 0);
	buf = sg_read_file(path, 8, &len, err, sizeof(err));
	ASSERT_NE(NULL, buf);
	EXPECT_EQ(0U, len);
	free(buf);
	unlink(path);

	make_file(path, 8);
	buf = sg_read_file(path, 8, &len, err, sizeof(err));
	ASSERT_NE(NULL, buf);
	EXPECT_EQ(8U, len);
	EXPECT_EQ(0, memcmp(buf, "xxxxxxxx", 8));
	free(buf);
	EXPECT_NULL(sg_read_file(path, 7, &len, err, sizeof(err)));
	EXPECT_STREQ("larger than 7 bytes", err);
	unlink(path);

	EXPECT_NULL(sg_read_file("/nonexistent/x", 8, &len, err, sizeof(err)));
	EXPECT_STREQ("cannot open: No such file or directory", err);
	EXPECT_NULL(sg_read_file("/", 8, &len, err, sizeof(err)));
	EXPECT_STREQ("cannot read: Is a directory", err);
}

TEST_HARNESS_MAIN
