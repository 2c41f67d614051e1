// SPDX-License-Identifier: GPL-2.0
/*
 * The smtpgate generic netlink family, end to end through lib/sgnl: every
 * command, every validation rule with its errno and extack message,
 * privilege, per-netns isolation, dumps of 100k bans, NLM_F_DUMP_INTR,
 * the ban cap, expiry and events.
 *
 * Runs as root with the module loaded (tests/vm/netlink.sh in the VM).
 * Every test runs in a network namespace of its own, created by the
 * fixture, so no test sees another's bans, policy or events, and the
 * module's per-netns teardown runs after each.
 *
 *   netlink_test                 the kselftest-harness tests (KTAP)
 *   netlink_test --dump-loop N   for the rmmod test: keeps N bans in the
 *                                init netns and dumps them until SIGTERM,
 *                                reopening when the family goes away
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <netlink/attr.h>
#include <netlink/msg.h>

#include "kselftest_harness.h"
#include "sgnl.h"

#define NOBODY		65534

/* ---- helpers ------------------------------------------------------------ */

static struct sg_prefix prefix(const char *text)
{
	char err[SG_PARSE_ERRLEN];
	struct sg_prefix p;

	if (sg_prefix_parse(text, &p, err, sizeof(err))) {
		fprintf(stderr, "# test bug: %s\n", err);
		abort();
	}
	return p;
}

static struct sgnl_ban ban(const char *text, uint8_t scope, uint32_t timeout,
			   const char *reason)
{
	struct sgnl_ban b = { .prefix = prefix(text), .scope = scope,
			      .timeout = timeout };

	snprintf(b.reason, sizeof(b.reason), "%s", reason ? reason : "");
	return b;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *pstr(const struct sg_prefix *p)
{
	static char buf[4][SG_PREFIX_STRLEN];
	static unsigned int i;

	return sg_prefix_str(p, buf[i++ % 4], sizeof(buf[0]));
}

/* A call that must succeed; on failure the kernel's message is logged. */
#define NL_OK(h, call) do { \
	int __ret = (call); \
	if (__ret) \
		TH_LOG("%s: %d (%s)", #call, __ret, sgnl_error_msg(h)); \
	ASSERT_EQ(0, __ret); \
} while (0)

/* A call that must fail with -@err and an extack message holding @text. */
#define NL_FAILS(h, err, text, call) do { \
	int __ret = (call); \
	if (__ret != -(err) || !strstr(sgnl_error_msg(h), (text))) \
		TH_LOG("%s: want -%s \"%s\", got %d \"%s\"", #call, #err, \
		       (text), __ret, sgnl_error_msg(h)); \
	ASSERT_EQ(-(err), __ret); \
	ASSERT_NE(NULL, strstr(sgnl_error_msg(h), (text))); \
} while (0)

/*
 * Every ban, retrying a dump the kernel flagged inconsistent (a table
 * resize under the walker also does that).  Returns 0 or -errno; *@intr
 * counts the retries.
 */
static int list_bans(struct sgnl *h, struct sgnl_bans *bv, unsigned int *intr)
{
	unsigned int tries;
	int ret = -EINTR;

	for (tries = 0; tries < 10 && ret == -EINTR; tries++) {
		bv->n = 0;
		ret = sgnl_ban_list(h, sgnl_bans_add, bv);
	}
	if (intr)
		*intr = tries - 1;
	return ret;
}

static const struct sgnl_ban *find_ban(const struct sgnl_bans *bv,
				       const char *text)
{
	struct sg_prefix p = prefix(text);
	size_t i;

	for (i = 0; i < bv->n; i++)
		if (sg_prefix_equal(&bv->v[i].prefix, &p))
			return &bv->v[i];
	return NULL;
}

static int count_host(const struct sgnl_host *host, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

#define MAX_EVENTS	64

struct ev_vec {
	struct sgnl_event v[MAX_EVENTS];
	int n;
};

static int collect_event(const struct sgnl_event *ev, void *arg)
{
	struct ev_vec *e = arg;

	if (e->n < MAX_EVENTS)
		e->v[e->n++] = *ev;
	return 0;
}

/* Collects events until @want arrived or @ms passed; returns the count. */
static int wait_events(struct sgnl *h, struct ev_vec *e, int want, int ms)
{
	double end = now_s() + ms / 1000.0;
	int left, ret;

	while (e->n < want) {
		left = (end - now_s()) * 1000;
		if (left <= 0)
			break;
		ret = sgnl_event_recv(h, left, collect_event, e);
		if (ret < 0)
			return ret;
	}
	return e->n;
}

static int open_events(struct sgnl **hp)
{
	int ret = sgnl_open(hp);

	return ret ? ret : sgnl_events_subscribe(*hp);
}

/*
 * Bans spread over v4 /32s and v6 /64s (two prefix lengths in use), some
 * with a reason, all permanent.
 */
static struct sgnl_ban *many_bans(size_t n)
{
	struct sgnl_ban *v = calloc(n, sizeof(*v));
	size_t i;

	for (i = 0; v && i < n; i++) {
		struct sg_prefix *p = &v[i].prefix;

		if (i % 2) {
			p->family = AF_INET;
			p->len = 32;
			p->addr.v4.s_addr = htonl(0x0a000000 + i);
		} else {
			p->family = AF_INET6;
			p->len = 64;
			p->addr.v6 = prefix("2001:db8::").addr.v6;
			p->addr.bytes[4] = i >> 24;
			p->addr.bytes[5] = i >> 16;
			p->addr.bytes[6] = i >> 8;
			p->addr.bytes[7] = i;
		}
		if (!(i % 100))
			snprintf(v[i].reason, sizeof(v[i].reason),
				 "restored %zu", i);
	}
	return v;
}

static int cmp_ban(const void *a, const void *b)
{
	return sg_prefix_cmp(&((const struct sgnl_ban *)a)->prefix,
			     &((const struct sgnl_ban *)b)->prefix);
}

/* The whole policy, every field off its default, lists full. */
static void full_policy(struct sgnl_policy *p, bool v6)
{
	unsigned int i;
	char text[64];

	sgnl_policy_defaults(p);
	p->internal.n = p->exempt.n = p->walled_garden.n = SMTPGATE_MAX_PREFIXES;
	for (i = 0; i < SMTPGATE_MAX_PREFIXES; i++) {
		/* Alternate families unless all-v6: the biggest reply. */
		if (v6 || i % 2) {
			snprintf(text, sizeof(text), "2001:db8:%x::/48", i);
			p->internal.v[i] = prefix(text);
			snprintf(text, sizeof(text), "2001:db8:%x::25", i);
			p->exempt.v[i] = prefix(text);
			snprintf(text, sizeof(text), "2001:db8:ff%02x::/%u",
				 i, 48 + i % 8);
			p->walled_garden.v[i] = prefix(text);
		} else {
			snprintf(text, sizeof(text), "10.%u.0.0/16", i);
			p->internal.v[i] = prefix(text);
			snprintf(text, sizeof(text), "10.%u.0.25", i);
			p->exempt.v[i] = prefix(text);
			snprintf(text, sizeof(text), "198.51.%u.0/24", i);
			p->walled_garden.v[i] = prefix(text);
		}
	}
	p->nports = SMTPGATE_MAX_PORTS;
	for (i = 0; i < SMTPGATE_MAX_PORTS; i++)
		p->ports[i] = i ? 2500 + i : 25;
	p->action = SMTPGATE_ACTION_REDIRECT;
	p->tunnel_action = SMTPGATE_ACTION_DROPLOG;
	inet_pton(AF_INET, "198.51.100.10", &p->submission4);
	inet_pton(AF_INET6, "2001:db8:2::10", &p->submission6);
	p->submission_port = 10587;
	p->submission_tls_port = 465;
	p->window = 300;
	p->rate_limit = 100;
	p->blocked_limit = 50;
	p->dest_limit = 20;
	p->flag_tunnel = 0;
	p->ban_scope = SMTPGATE_SCOPE_ALL;
	p->host_prefix4 = 24;
	p->host_prefix6 = 56;
	p->max_hosts = 1000;
	p->max_bans = 2000;
	p->inspect_queue = 7;
	p->inspect_bytes = 8192;
	p->trap_port = 2525;
	p->has |= SGNL_POLICY_HAS(SMTPGATE_A_POLICY_INSPECT_QUEUE) |
		  SGNL_POLICY_HAS(SMTPGATE_A_POLICY_TRAP_PORT) |
		  SGNL_POLICY_HAS(SMTPGATE_A_POLICY_INTERNAL) |
		  SGNL_POLICY_HAS(SMTPGATE_A_POLICY_EXEMPT) |
		  SGNL_POLICY_HAS(SMTPGATE_A_POLICY_WALLED_GARDEN) |
		  SGNL_POLICY_HAS(SMTPGATE_A_POLICY_SUBMISSION4) |
		  SGNL_POLICY_HAS(SMTPGATE_A_POLICY_SUBMISSION6);
}

static bool lists_equal(const struct sgnl_prefix_list *a,
			const struct sgnl_prefix_list *b)
{
	unsigned int i;

	if (a->n != b->n)
		return false;
	for (i = 0; i < a->n; i++)
		if (!sg_prefix_equal(&a->v[i], &b->v[i]))
			return false;
	return true;
}

/*
 * Whether @got holds every field of @want (the generation aside).  Logs
 * the first difference.
 */
static bool policy_matches(struct __test_metadata *_metadata,
			   const struct sgnl_policy *want,
			   const struct sgnl_policy *got)
{
	uint32_t gen = SGNL_POLICY_HAS(SMTPGATE_A_POLICY_GENERATION);

#define DIFF(what) do { TH_LOG("policy differs: %s", what); return false; } while (0)
	if ((want->has & ~gen) != (got->has & ~gen)) {
		TH_LOG("policy attributes: want %#x, got %#x", want->has & ~gen,
		       got->has & ~gen);
		return false;
	}
	if (!lists_equal(&want->internal, &got->internal))
		DIFF("internal");
	if (!lists_equal(&want->exempt, &got->exempt))
		DIFF("exempt");
	if (!lists_equal(&want->walled_garden, &got->walled_garden))
		DIFF("walled_garden");
	if (want->nports != got->nports ||
	    memcmp(want->ports, got->ports, want->nports * 2))
		DIFF("ports");
	if (memcmp(&want->submission4, &got->submission4, 4) ||
	    memcmp(&want->submission6, &got->submission6, 16))
		DIFF("submission");
#define FIELD(f) if (want->f != got->f) { \
	TH_LOG("policy differs: " #f " want %u got %u", \
	       (unsigned int)want->f, (unsigned int)got->f); return false; }
	FIELD(action) FIELD(tunnel_action) FIELD(submission_port)
	FIELD(submission_tls_port) FIELD(window) FIELD(rate_limit)
	FIELD(blocked_limit) FIELD(dest_limit) FIELD(flag_tunnel)
	FIELD(ban_scope) FIELD(host_prefix4) FIELD(host_prefix6)
	FIELD(max_hosts) FIELD(max_bans) FIELD(inspect_bytes)
	if (want->has & SGNL_POLICY_HAS(SMTPGATE_A_POLICY_INSPECT_QUEUE))
		FIELD(inspect_queue)
	if (want->has & SGNL_POLICY_HAS(SMTPGATE_A_POLICY_TRAP_PORT))
		FIELD(trap_port)
#undef FIELD
#undef DIFF
	return true;
}

/* On a fresh namespace's get, the defaults come with empty lists. */
static void defaults_as_got(struct sgnl_policy *p)
{
	sgnl_policy_defaults(p);
	p->has |= SGNL_POLICY_HAS(SMTPGATE_A_POLICY_INTERNAL) |
		  SGNL_POLICY_HAS(SMTPGATE_A_POLICY_EXEMPT) |
		  SGNL_POLICY_HAS(SMTPGATE_A_POLICY_WALLED_GARDEN);
}

/* ---- the fixture: a fresh netns and a handle in it -------------------- */

FIXTURE(nl) {
	struct sgnl *h;
};

/*
 * In 6.1's harness a skip in a setup does not stop the test: leave the
 * test's child at once, with the harness's skip status.
 */
static void fresh_netns(struct __test_metadata *_metadata)
{
	if (geteuid())
		SKIP(_exit(255), "needs root (in the VM: tests/vm/netlink.sh)");
	ASSERT_EQ(0, unshare(CLONE_NEWNET)) {
		TH_LOG("unshare(CLONE_NEWNET): %s", strerror(errno));
	}
}

FIXTURE_SETUP(nl)
{
	int ret;

	fresh_netns(_metadata);
	ret = sgnl_open(&self->h);
	ASSERT_EQ(0, ret) {
		TH_LOG("sgnl_open: %s", self->h ? sgnl_error_msg(self->h) : "");
	}
}

FIXTURE_TEARDOWN(nl)
{
	sgnl_close(self->h);
}

/* ---- policy ----------------------------------------------------------- */

TEST_F(nl, policy_defaults)
{
	struct sgnl_policy got, want;

	NL_OK(self->h, sgnl_policy_get(self->h, &got));
	defaults_as_got(&want);
	EXPECT_TRUE(policy_matches(_metadata, &want, &got));
	EXPECT_TRUE(!!(got.has & SGNL_POLICY_HAS(SMTPGATE_A_POLICY_GENERATION)));
}

/* Mixed families: what the daemon's config usually looks like. */
TEST_F(nl, policy_roundtrip)
{
	struct sgnl_policy want, got, before;

	NL_OK(self->h, sgnl_policy_get(self->h, &before));
	full_policy(&want, false);
	NL_OK(self->h, sgnl_policy_set(self->h, &want));
	NL_OK(self->h, sgnl_policy_get(self->h, &got));
	EXPECT_TRUE(policy_matches(_metadata, &want, &got));
	EXPECT_EQ(before.generation + 1, got.generation);
}

/* Three full v6 lists: the largest policy a get must still return. */
TEST_F(nl, policy_roundtrip_v6_full)
{
	struct sgnl_policy want, got;

	full_policy(&want, true);
	NL_OK(self->h, sgnl_policy_set(self->h, &want));
	NL_OK(self->h, sgnl_policy_get(self->h, &got));
	EXPECT_TRUE(policy_matches(_metadata, &want, &got));
}

/* A set replaces the whole policy: what it leaves out is the default. */
TEST_F(nl, policy_set_replaces_whole)
{
	struct sgnl_policy full, partial, got, want;

	full_policy(&full, false);
	NL_OK(self->h, sgnl_policy_set(self->h, &full));
	sgnl_policy_init(&partial);
	partial.window = 77;
	partial.has = SGNL_POLICY_HAS(SMTPGATE_A_POLICY_WINDOW);
	NL_OK(self->h, sgnl_policy_set(self->h, &partial));
	NL_OK(self->h, sgnl_policy_get(self->h, &got));
	defaults_as_got(&want);
	want.window = 77;
	EXPECT_TRUE(policy_matches(_metadata, &want, &got));
}

/* Rejected after partial parsing (the cross-field rule runs last). */
TEST_F(nl, policy_rejected_keeps_old)
{
	struct sgnl_policy good, bad, before, after;

	full_policy(&good, false);
	NL_OK(self->h, sgnl_policy_set(self->h, &good));
	NL_OK(self->h, sgnl_policy_get(self->h, &before));

	bad = good;
	bad.window = 5;
	bad.internal.n = 1;
	bad.tunnel_action = SMTPGATE_ACTION_REDIRECT;
	NL_FAILS(self->h, EINVAL, "tunnel_action: tunnelled SMTP cannot be redirected",
		 sgnl_policy_set(self->h, &bad));
	NL_OK(self->h, sgnl_policy_get(self->h, &after));
	EXPECT_TRUE(policy_matches(_metadata, &good, &after));
	EXPECT_EQ(before.generation, after.generation);

	bad = good;
	bad.action = SMTPGATE_ACTION_REDIRECT;
	bad.has &= ~(SGNL_POLICY_HAS(SMTPGATE_A_POLICY_SUBMISSION4) |
		     SGNL_POLICY_HAS(SMTPGATE_A_POLICY_SUBMISSION6));
	NL_FAILS(self->h, EINVAL, "action: redirect needs a submission server",
		 sgnl_policy_set(self->h, &bad));
	NL_OK(self->h, sgnl_policy_get(self->h, &after));
	EXPECT_TRUE(policy_matches(_metadata, &good, &after));
	EXPECT_EQ(before.generation, after.generation);
}

/*
 * smtpgatectl policy set's read-modify-write: the generation it read goes
 * with the set.  A policy installed in between (smtpgated's reload, a
 * second operator) makes the set fail with ESTALE, changing nothing; a set
 * without the attribute (smtpgated) is unconditional.
 */
TEST_F(nl, policy_generation)
{
	const uint32_t gen_bit = SGNL_POLICY_HAS(SMTPGATE_A_POLICY_GENERATION);
	struct sgnl_policy read, other, got;

	NL_OK(self->h, sgnl_policy_get(self->h, &read));
	ASSERT_TRUE(!!(read.has & gen_bit));

	/* The current generation: the set goes through and bumps it. */
	read.window = 120;
	NL_OK(self->h, sgnl_policy_set(self->h, &read));
	NL_OK(self->h, sgnl_policy_get(self->h, &got));
	EXPECT_EQ(120U, got.window);
	EXPECT_EQ(read.generation + 1, got.generation);

	/* Someone else's change in between: ours is refused, theirs stays. */
	NL_OK(self->h, sgnl_policy_get(self->h, &read));
	other = read;
	other.has &= ~gen_bit;
	other.rate_limit = 7;
	NL_OK(self->h, sgnl_policy_set(self->h, &other));
	read.window = 300;
	NL_FAILS(self->h, ESTALE, "generation: the policy changed since it was read",
		 sgnl_policy_set(self->h, &read));
	EXPECT_STREQ("policy.generation", sgnl_error(self->h)->attr);
	NL_OK(self->h, sgnl_policy_get(self->h, &got));
	EXPECT_EQ(120U, got.window);
	EXPECT_EQ(7U, got.rate_limit);
	EXPECT_EQ(read.generation + 1, got.generation);

	/* A generation from the future is just as stale. */
	read = got;
	read.generation += 5;
	NL_FAILS(self->h, ESTALE, "generation", sgnl_policy_set(self->h, &read));

	/* Without the attribute: unconditional, as smtpgated sets. */
	read.has &= ~gen_bit;
	read.window = 600;
	NL_OK(self->h, sgnl_policy_set(self->h, &read));
	NL_OK(self->h, sgnl_policy_get(self->h, &got));
	EXPECT_EQ(600U, got.window);
	EXPECT_EQ(read.generation - 5 + 1, got.generation);
}

/* ---- bans --------------------------------------------------------------- */

TEST_F(nl, ban_add_list_del)
{
	struct sgnl_ban v4 = ban("192.0.2.7", SMTPGATE_SCOPE_ALL, 600, "spam run");
	struct sgnl_ban net4 = ban("198.51.100.0/24", 0, 0, NULL);
	struct sgnl_ban net6 = ban("2001:db8:5::/64", SMTPGATE_SCOPE_SMTP, 3600,
				   "..............................."
				   "................................");
	struct sgnl_bans bv = {};
	const struct sgnl_ban *b;
	time_t t0 = time(NULL);
	struct sg_prefix half;

	ASSERT_EQ((size_t)SMTPGATE_BAN_REASON_LEN - 1, strlen(net6.reason));
	NL_OK(self->h, sgnl_ban_add(self->h, &v4));
	NL_OK(self->h, sgnl_ban_add(self->h, &net4));
	NL_OK(self->h, sgnl_ban_add(self->h, &net6));
	NL_OK(self->h, list_bans(self->h, &bv, NULL));
	ASSERT_EQ(3U, bv.n);

	b = find_ban(&bv, "192.0.2.7/32");
	ASSERT_NE(NULL, b);
	EXPECT_EQ(SMTPGATE_SCOPE_ALL, b->scope);
	EXPECT_STREQ("spam run", b->reason);
	EXPECT_LE(b->timeout, 600U);
	EXPECT_GE(b->timeout, 590U);
	EXPECT_GE(b->created, (uint64_t)t0 - 2);
	EXPECT_LE(b->created, (uint64_t)time(NULL) + 2);
	EXPECT_EQ(0U, b->drops);

	/* Absent scope is smtp; absent timeout is permanent. */
	b = find_ban(&bv, "198.51.100.0/24");
	ASSERT_NE(NULL, b);
	EXPECT_EQ(SMTPGATE_SCOPE_SMTP, b->scope);
	EXPECT_EQ(0U, b->timeout);
	EXPECT_STREQ("", b->reason);

	b = find_ban(&bv, "2001:db8:5::/64");
	ASSERT_NE(NULL, b);
	EXPECT_STREQ(net6.reason, b->reason);

	NL_OK(self->h, sgnl_ban_del(self->h, &v4.prefix));
	NL_FAILS(self->h, ENOENT, "no such ban",
		 sgnl_ban_del(self->h, &v4.prefix));
	/* A prefix is deleted by its exact length, not by an address in it. */
	half = prefix("198.51.100.0/25");
	NL_FAILS(self->h, ENOENT, "no such ban", sgnl_ban_del(self->h, &half));
	NL_OK(self->h, list_bans(self->h, &bv, NULL));
	EXPECT_EQ(2U, bv.n);
	EXPECT_EQ(NULL, find_ban(&bv, "192.0.2.7/32"));
	free(bv.v);
}

TEST_F(nl, ban_replace)
{
	struct sgnl_ban first = ban("192.0.2.0/24", SMTPGATE_SCOPE_SMTP, 60, "one");
	struct sgnl_ban again = ban("192.0.2.0/24", SMTPGATE_SCOPE_ALL, 0, "two");
	struct sgnl_bans bv = {};

	NL_OK(self->h, sgnl_ban_add(self->h, &first));
	NL_OK(self->h, sgnl_ban_add(self->h, &again));
	NL_OK(self->h, list_bans(self->h, &bv, NULL));
	ASSERT_EQ(1U, bv.n);
	EXPECT_EQ(SMTPGATE_SCOPE_ALL, bv.v[0].scope);
	EXPECT_EQ(0U, bv.v[0].timeout);
	EXPECT_STREQ("two", bv.v[0].reason);
	free(bv.v);
}

/* BAN_GET doit: "is this address banned?", prefix bans included. */
TEST_F(nl, ban_test)
{
	static const struct {
		const char *addr, *covered_by;
	} cases[] = {
		{ "192.0.2.77", "192.0.2.0/24" },
		{ "192.0.2.0", "192.0.2.0/24" },
		{ "192.0.2.255", "192.0.2.0/24" },
		{ "192.0.3.0", NULL },
		{ "198.51.100.7", "198.51.100.7/32" },
		{ "198.51.100.8", NULL },
		{ "10.1.2.3", "10.0.0.0/8" },
		{ "2001:db8:0:1::5", "2001:db8::/48" },
		{ "2001:db8:1::", NULL },
		{ "2001:db9::", NULL },
		{ "2001:db8:7::25", "2001:db8:7::25/128" },
		{ "::ffff:192.0.2.77", NULL },	/* v4-mapped is v6 */
	};
	static const char *const bans[] = {
		"192.0.2.0/24", "198.51.100.7", "10.0.0.0/8", "2001:db8::/48",
		"2001:db8:7::25",
	};
	struct sgnl_ban b, got;
	unsigned int i;

	for (i = 0; i < sizeof(bans) / sizeof(bans[0]); i++) {
		b = ban(bans[i], 0, 0, NULL);
		/* The reason tells which ban answered. */
		snprintf(b.reason, sizeof(b.reason), "%s", pstr(&b.prefix));
		NL_OK(self->h, sgnl_ban_add(self->h, &b));
	}
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sg_prefix a = prefix(cases[i].addr);
		int ret = sgnl_ban_test(self->h, &a, &got);

		if (!cases[i].covered_by) {
			EXPECT_EQ(-ENOENT, ret) {
				TH_LOG("%s: covered by %s", cases[i].addr,
				       pstr(&got.prefix));
			}
			EXPECT_STREQ("not banned", sgnl_error_msg(self->h));
			continue;
		}
		EXPECT_EQ(0, ret) {
			TH_LOG("%s: %s", cases[i].addr, sgnl_error_msg(self->h));
		}
		if (ret)
			continue;
		EXPECT_STREQ(cases[i].covered_by, pstr(&got.prefix));
		EXPECT_STREQ(pstr(&got.prefix), got.reason);
	}
}

/* Overlapping bans: the answer is one that covers the address. */
TEST_F(nl, ban_test_overlap)
{
	struct sgnl_ban wide = ban("10.0.0.0/8", 0, 0, "wide");
	struct sgnl_ban narrow = ban("10.1.0.0/16", 0, 0, "narrow");
	struct sg_prefix a = prefix("10.1.2.3");
	struct sgnl_ban got;

	NL_OK(self->h, sgnl_ban_add(self->h, &wide));
	NL_OK(self->h, sgnl_ban_add(self->h, &narrow));
	NL_OK(self->h, sgnl_ban_test(self->h, &a, &got));
	EXPECT_TRUE(sg_prefix_contains(&got.prefix, &a));
	NL_OK(self->h, sgnl_ban_del(self->h, &narrow.prefix));
	NL_OK(self->h, sgnl_ban_test(self->h, &a, &got));
	EXPECT_STREQ("10.0.0.0/8", pstr(&got.prefix));
}

TEST_F(nl, ban_flush)
{
	struct sgnl_ban *v = many_bans(1000);
	struct sgnl_bans bv = {};
	struct sgnl_stats st;

	ASSERT_NE(NULL, v);
	NL_OK(self->h, sgnl_ban_add_batch(self->h, v, 1000, true, NULL));
	NL_OK(self->h, sgnl_stats_get(self->h, &st));
	EXPECT_EQ(1000U, st.bans);
	NL_OK(self->h, sgnl_ban_flush(self->h));
	NL_OK(self->h, list_bans(self->h, &bv, NULL));
	EXPECT_EQ(0U, bv.n);
	NL_OK(self->h, sgnl_stats_get(self->h, &st));
	EXPECT_EQ(0U, st.bans);
	/* And the table works after a flush. */
	NL_OK(self->h, sgnl_ban_add(self->h, &v[0]));
	NL_OK(self->h, sgnl_ban_test(self->h, &v[0].prefix, NULL));
	free(v);
	free(bv.v);
}

/*
 * A ban keeps its reason as a 15-bit id of an interned text: 32767
 * distinct texts a namespace, then an explicit error; known texts go on.
 */
TEST_F(nl, ban_reason_texts)
{
	const size_t n = 32767;
	struct sgnl_ban *v = many_bans(n + 1);
	struct sgnl_ban got;
	size_t i;

	ASSERT_NE(NULL, v);
	for (i = 0; i <= n; i++)
		snprintf(v[i].reason, sizeof(v[i].reason), "reason %zu", i);
	NL_OK(self->h, sgnl_ban_add_batch(self->h, v, n, true, NULL));
	NL_FAILS(self->h, EMLINK, "more than 32767 distinct reason texts",
		 sgnl_ban_add(self->h, &v[n]));
	strcpy(v[n].reason, "reason 7");
	NL_OK(self->h, sgnl_ban_add(self->h, &v[n]));
	NL_OK(self->h, sgnl_ban_test(self->h, &v[n].prefix, &got));
	EXPECT_STREQ("reason 7", got.reason);
	/* A text no ban uses any more frees its id. */
	NL_OK(self->h, sgnl_ban_del(self->h, &v[0].prefix));
	strcpy(v[n].reason, "a new one");
	NL_OK(self->h, sgnl_ban_add(self->h, &v[n]));
	NL_OK(self->h, sgnl_ban_test(self->h, &v[n].prefix, &got));
	EXPECT_STREQ("a new one", got.reason);
	free(v);
}

/* Past the cap: an explicit error, all or nothing, counted. */
TEST_F(nl, ban_table_full)
{
	struct sgnl_ban *v = many_bans(18);
	struct sgnl_policy pol;
	struct sgnl_bans bv = {};
	struct sgnl_stats st;
	size_t added;

	ASSERT_NE(NULL, v);
	sgnl_policy_init(&pol);
	pol.max_bans = 16;
	pol.has = SGNL_POLICY_HAS(SMTPGATE_A_POLICY_MAX_BANS);
	NL_OK(self->h, sgnl_policy_set(self->h, &pol));

	NL_OK(self->h, sgnl_ban_add_batch(self->h, v, 15, true, &added));
	EXPECT_EQ(15U, added);
	/* 15 + 2 > 16: the batch fails whole. */
	NL_FAILS(self->h, ENOSPC, "ban table full",
		 sgnl_ban_add_batch(self->h, v + 15, 2, true, &added));
	EXPECT_EQ(0U, added);
	NL_OK(self->h, list_bans(self->h, &bv, NULL));
	EXPECT_EQ(15U, bv.n);
	NL_OK(self->h, sgnl_ban_add(self->h, &v[15]));
	NL_FAILS(self->h, ENOSPC, "ban table full",
		 sgnl_ban_add(self->h, &v[16]));
	/* Replacing an existing ban needs no room. */
	snprintf(v[3].reason, sizeof(v[3].reason), "replaced");
	NL_OK(self->h, sgnl_ban_add(self->h, &v[3]));
	NL_OK(self->h, list_bans(self->h, &bv, NULL));
	EXPECT_EQ(16U, bv.n);
	NL_OK(self->h, sgnl_stats_get(self->h, &st));
	EXPECT_EQ(16U, st.bans);
	EXPECT_GE(st.ban_cap_rejects, 2U);
	free(v);
	free(bv.v);
}

#define LOAD_BANS	100000U

/* Case 12: a big table loads fast and dumps exactly. */
TEST_F_TIMEOUT(nl, ban_batch_100k, 600)
{
	struct sgnl_ban *v = many_bans(LOAD_BANS);
	struct sgnl_policy pol;
	struct sgnl_bans bv = {};
	struct sgnl_stats st;
	unsigned int intr;
	double t0, t1, t2;
	size_t i, added;

	ASSERT_NE(NULL, v);
	NL_OK(self->h, sgnl_policy_get(self->h, &pol));
	ASSERT_GE(pol.max_bans, LOAD_BANS);

	t0 = now_s();
	NL_OK(self->h, sgnl_ban_add_batch(self->h, v, LOAD_BANS, true, &added));
	t1 = now_s();
	EXPECT_EQ(LOAD_BANS, added);
	NL_OK(self->h, list_bans(self->h, &bv, &intr));
	t2 = now_s();
	printf("# %u bans loaded in %.2f s\n", LOAD_BANS, t1 - t0);
	printf("# %zu bans dumped in %.2f s (%u interrupted dumps retried)\n",
	       bv.n, t2 - t1, intr);
	/* The harness ends a test with _exit(): nothing buffered survives. */
	fflush(stdout);

	ASSERT_EQ(LOAD_BANS, bv.n);
	qsort(bv.v, bv.n, sizeof(*bv.v), cmp_ban);
	qsort(v, LOAD_BANS, sizeof(*v), cmp_ban);
	for (i = 0; i < bv.n; i++) {
		if (i && sg_prefix_equal(&bv.v[i - 1].prefix, &bv.v[i].prefix))
			TH_LOG("duplicate in dump: %s", pstr(&bv.v[i].prefix));
		if (!sg_prefix_equal(&bv.v[i].prefix, &v[i].prefix) ||
		    strcmp(bv.v[i].reason, v[i].reason)) {
			TH_LOG("dump entry %zu: %s \"%s\", loaded %s \"%s\"", i,
			       pstr(&bv.v[i].prefix), bv.v[i].reason,
			       pstr(&v[i].prefix), v[i].reason);
			ASSERT_TRUE(false);
		}
	}
	NL_OK(self->h, sgnl_stats_get(self->h, &st));
	EXPECT_EQ(LOAD_BANS, st.bans);
	printf("# %u bytes per ban, %u per host\n", st.ban_bytes, st.host_bytes);
	fflush(stdout);
	free(v);
	free(bv.v);
}

struct intr_ctx {
	struct sgnl *other;
	struct sg_prefix victim;
	int seen, del_ret;
};

/* Between two parts of the dump, another socket changes the table. */
static int delete_during_dump(const struct sgnl_ban *b, void *arg)
{
	struct intr_ctx *c = arg;

	if (c->seen++ == 0)
		c->del_ret = sgnl_ban_del(c->other, &c->victim);
	return 0;
}

TEST_F(nl, dump_interrupted)
{
	const size_t n = 5000;
	struct sgnl_ban *v = many_bans(n);
	struct intr_ctx c = { .victim = v[n - 1].prefix };
	struct sgnl_bans bv = {};
	int ret;

	ASSERT_NE(NULL, v);
	NL_OK(self->h, sgnl_ban_add_batch(self->h, v, n, true, NULL));
	ASSERT_EQ(0, sgnl_open(&c.other));

	ret = sgnl_ban_list(self->h, delete_during_dump, &c);
	EXPECT_EQ(0, c.del_ret);
	EXPECT_EQ(-EINTR, ret) {
		TH_LOG("dump with a delete in the middle: %d (%s), %d entries",
		       ret, sgnl_error_msg(self->h), c.seen);
	}
	/* A retry is exact again. */
	ASSERT_EQ(0, sgnl_ban_list(self->h, sgnl_bans_add, &bv));
	EXPECT_EQ(n - 1, bv.n);
	sgnl_close(c.other);
	free(v);
	free(bv.v);
}

/* Case 10: a ban stops at its TTL and says so. */
TEST_F_TIMEOUT(nl, ban_expiry, 60)
{
	struct sgnl_ban b = ban("192.0.2.9", SMTPGATE_SCOPE_SMTP, 1, "short");
	struct sgnl_ban keep = ban("192.0.2.10", SMTPGATE_SCOPE_SMTP, 3600, "long");
	struct ev_vec ev = {};
	struct sgnl_bans bv = {};
	struct sgnl *e;
	int i;

	NL_OK(self->h, open_events(&e));
	NL_OK(self->h, sgnl_ban_add(self->h, &keep));
	NL_OK(self->h, sgnl_ban_add(self->h, &b));
	NL_OK(self->h, sgnl_ban_test(self->h, &b.prefix, NULL));
	/* ADDED twice, then EXPIRED once the second is due. */
	ASSERT_EQ(3, wait_events(e, &ev, 3, 20000));
	EXPECT_EQ(SMTPGATE_CMD_BAN_ADDED, ev.v[0].cmd);
	EXPECT_EQ(SMTPGATE_CMD_BAN_ADDED, ev.v[1].cmd);
	EXPECT_EQ(SMTPGATE_CMD_BAN_EXPIRED, ev.v[2].cmd);
	for (i = 0; i < ev.n; i++)
		ASSERT_TRUE(ev.v[i].has_ban);
	EXPECT_STREQ("192.0.2.9/32", pstr(&ev.v[2].ban.prefix));
	EXPECT_STREQ("short", ev.v[2].ban.reason);
	NL_FAILS(self->h, ENOENT, "not banned",
		 sgnl_ban_test(self->h, &b.prefix, NULL));
	NL_OK(self->h, list_bans(self->h, &bv, NULL));
	ASSERT_EQ(1U, bv.n);
	EXPECT_STREQ("192.0.2.10/32", pstr(&bv.v[0].prefix));
	sgnl_close(e);
	free(bv.v);
}

/*
 * Events arrive in order, with their content; a quiet batch sends none, a
 * flush one bans-flushed event naming the instance (not one per ban).
 */
TEST_F(nl, events_in_order)
{
	struct sgnl_ban a = ban("192.0.2.1", SMTPGATE_SCOPE_ALL, 600, "first");
	struct sgnl_ban b = ban("2001:db8::/64", 0, 0, "second");
	struct sgnl_ban quiet[2] = {
		ban("203.0.113.1", 0, 0, "quiet"), ban("203.0.113.2", 0, 0, NULL),
	};
	struct sgnl_ban last = ban("198.51.100.0/24", 0, 0, "last");
	struct sgnl_stats st;
	struct ev_vec ev = {};
	struct sgnl *e;

	NL_OK(self->h, open_events(&e));
	NL_OK(self->h, sgnl_ban_add(self->h, &a));
	NL_OK(self->h, sgnl_ban_add(self->h, &b));
	NL_OK(self->h, sgnl_ban_del(self->h, &a.prefix));
	NL_OK(self->h, sgnl_ban_add_batch(self->h, quiet, 2, true, NULL));
	NL_OK(self->h, sgnl_ban_flush(self->h));
	NL_OK(self->h, sgnl_ban_add(self->h, &last));
	NL_OK(self->h, sgnl_stats_get(self->h, &st));

	ASSERT_EQ(5, wait_events(e, &ev, 5, 5000));
	/* Nothing more may come. */
	EXPECT_EQ(5, wait_events(e, &ev, 6, 300));

	EXPECT_EQ(SMTPGATE_CMD_BAN_ADDED, ev.v[0].cmd);
	EXPECT_STREQ("192.0.2.1/32", pstr(&ev.v[0].ban.prefix));
	EXPECT_EQ(SMTPGATE_SCOPE_ALL, ev.v[0].ban.scope);
	EXPECT_STREQ("first", ev.v[0].ban.reason);
	EXPECT_LE(ev.v[0].ban.timeout, 600U);
	EXPECT_GE(ev.v[0].ban.timeout, 590U);
	EXPECT_FALSE(ev.v[0].has_host);	/* no traffic, no host */

	EXPECT_EQ(SMTPGATE_CMD_BAN_ADDED, ev.v[1].cmd);
	EXPECT_STREQ("2001:db8::/64", pstr(&ev.v[1].ban.prefix));
	EXPECT_EQ(SMTPGATE_SCOPE_SMTP, ev.v[1].ban.scope);
	EXPECT_EQ(0U, ev.v[1].ban.timeout);

	EXPECT_EQ(SMTPGATE_CMD_BAN_REMOVED, ev.v[2].cmd);
	EXPECT_STREQ("192.0.2.1/32", pstr(&ev.v[2].ban.prefix));
	EXPECT_STREQ("first", ev.v[2].ban.reason);

	/* The flush: the 2 quiet bans and b, of this instance. */
	EXPECT_EQ(SMTPGATE_CMD_BANS_FLUSHED, ev.v[3].cmd);
	ASSERT_TRUE(ev.v[3].has_stats);
	EXPECT_FALSE(ev.v[3].has_ban);
	EXPECT_EQ(3U, ev.v[3].stats.bans);
	EXPECT_EQ(st.instance, ev.v[3].stats.instance);
	EXPECT_EQ(st.flushes, ev.v[3].stats.flushes);
	EXPECT_NE(0ULL, (unsigned long long)st.instance);

	EXPECT_EQ(SMTPGATE_CMD_BAN_ADDED, ev.v[4].cmd);
	EXPECT_STREQ("198.51.100.0/24", pstr(&ev.v[4].ban.prefix));
	EXPECT_STREQ("last", ev.v[4].ban.reason);
	sgnl_close(e);
}

/* ---- hosts and stats (no traffic) -------------------------------------- */

TEST_F(nl, host_commands)
{
	struct sg_prefix a4 = prefix("192.0.2.1"), a6 = prefix("2001:db8::1");
	struct sgnl_host host;
	int n = 0;

	NL_FAILS(self->h, ENOENT, "host not tracked",
		 sgnl_host_get(self->h, &a4, &host));
	NL_FAILS(self->h, ENOENT, "host not tracked",
		 sgnl_host_get(self->h, &a6, &host));
	NL_OK(self->h, sgnl_host_list(self->h, false, count_host, &n));
	NL_OK(self->h, sgnl_host_list(self->h, true, count_host, &n));
	EXPECT_EQ(0, n);
	NL_FAILS(self->h, ENOENT, "host not tracked",
		 sgnl_host_forget(self->h, &a4));
	NL_OK(self->h, sgnl_host_forget(self->h, NULL));
}

/*
 * smtpgated's inspection flags hosts through the kernel, so the flag, the
 * event and the ban that follows are the same as for the kernel's own.
 */
TEST_F(nl, host_flag)
{
	struct sg_prefix bot = prefix("10.1.2.3"), mta = prefix("10.0.0.25");
	struct sg_prefix outside = prefix("192.0.2.1");
	struct sgnl_policy pol;
	struct ev_vec e = {};
	struct sgnl_host host;
	struct sgnl *ev;

	sgnl_policy_defaults(&pol);
	pol.internal.n = 1;
	pol.internal.v[0] = prefix("10.0.0.0/8");
	pol.exempt.n = 1;
	pol.exempt.v[0] = mta;
	pol.has |= SGNL_POLICY_HAS(SMTPGATE_A_POLICY_INTERNAL) |
		   SGNL_POLICY_HAS(SMTPGATE_A_POLICY_EXEMPT);
	NL_OK(self->h, sgnl_policy_set(self->h, &pol));
	ASSERT_EQ(0, open_events(&ev));

	NL_OK(self->h, sgnl_host_flag(self->h, &bot, SMTPGATE_REASON_DIALOGUE));
	NL_OK(self->h, sgnl_host_get(self->h, &bot, &host));
	EXPECT_TRUE(!!(host.flags & SMTPGATE_HOST_F_FLAGGED));
	EXPECT_EQ(SMTPGATE_REASON_DIALOGUE, host.reasons);
	EXPECT_NE(0U, host.flagged_at);
	EXPECT_EQ(1, wait_events(ev, &e, 1, 2000));
	EXPECT_EQ(SMTPGATE_CMD_HOST_FLAGGED, e.v[0].cmd);
	EXPECT_TRUE(e.v[0].has_host);
	EXPECT_EQ(SMTPGATE_REASON_DIALOGUE, e.v[0].host.reasons);

	/* Flagged already: the reasons add up, no second event. */
	NL_OK(self->h, sgnl_host_flag(self->h, &bot, SMTPGATE_REASON_RATE));
	NL_OK(self->h, sgnl_host_get(self->h, &bot, &host));
	EXPECT_EQ(SMTPGATE_REASON_DIALOGUE | SMTPGATE_REASON_RATE, host.reasons);
	EXPECT_EQ(1, wait_events(ev, &e, 2, 300));

	NL_FAILS(self->h, EINVAL, "host is exempt",
		 sgnl_host_flag(self->h, &mta, SMTPGATE_REASON_DIALOGUE));
	NL_FAILS(self->h, EINVAL, "host is not internal",
		 sgnl_host_flag(self->h, &outside, SMTPGATE_REASON_DIALOGUE));
	NL_FAILS(self->h, ENOENT, "host not tracked",
		 sgnl_host_get(self->h, &outside, &host));
	sgnl_close(ev);
}

TEST_F(nl, stats)
{
	struct sgnl_ban b = ban("192.0.2.0/24", 0, 0, NULL);
	struct sgnl_stats st;
	unsigned int c, v;

	NL_OK(self->h, sgnl_stats_get(self->h, &st));
	EXPECT_EQ(0U, st.bans);
	EXPECT_EQ(0U, st.hosts);
	EXPECT_EQ(0U, st.flagged);
	for (c = 0; c <= SMTPGATE_CLASS_MAX; c++)
		for (v = 0; v <= SMTPGATE_VERDICT_MAX; v++)
			EXPECT_EQ(0U, st.packets[c][v]);
	/* Memory per entry is reported, and within the goal for hosts. */
	EXPECT_GT(st.host_bytes, 0U);
	EXPECT_LE(st.host_bytes, 96U);
	EXPECT_GT(st.ban_bytes, 0U);
	NL_OK(self->h, sgnl_ban_add(self->h, &b));
	NL_OK(self->h, sgnl_stats_get(self->h, &st));
	EXPECT_EQ(1U, st.bans);
}

/* ---- hosts from real traffic -------------------------------------------- */

/*
 *  netns A (spambot)            netns R (the test's; smtpgate)
 *  +------------------+        +----------------------------------+
 *  | sg-a 10.9.0.2/24 |--veth--| sg-r 10.9.0.1/24       sg-mx     |
 *  | 2001:db8:9::2,::3|        | 2001:db8:9::1/64       (dummy)   |
 *  +------------------+        | 203.0.113.0/24, 2001:db8:ff::/48 |
 *   default via R              |   routed to sg-mx: forwarded     |
 *                              +----------------------------------+
 * SYNs from A to "MX servers" behind sg-mx cross R's FORWARD hook.
 */
static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int ret;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	ret = system(cmd);
	if (ret)
		fprintf(stderr, "# failed (%d): %s\n", ret, cmd);
	return ret;
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY), ret = -1;

	if (fd >= 0) {
		ret = write(fd, text, strlen(text)) == (ssize_t)strlen(text) ?
		      0 : -1;
		close(fd);
	}
	return ret;
}

struct testbed {
	int rfd, afd;
};

static int testbed_setup(struct testbed *tb)
{
	tb->rfd = open("/proc/self/ns/net", O_RDONLY);
	if (tb->rfd < 0 || unshare(CLONE_NEWNET))
		return -1;
	tb->afd = open("/proc/self/ns/net", O_RDONLY);
	if (tb->afd < 0 || setns(tb->rfd, CLONE_NEWNET))
		return -1;
	/* The fds are inherited by ip, which takes a netns as a path. */
	if (sh("ip link add sg-r type veth peer name sg-a netns /proc/%d/fd/%d",
	       getpid(), tb->afd) ||
	    sh("ip link add sg-mx type dummy") ||
	    sh("ip link set lo up && ip link set sg-r up && ip link set sg-mx up") ||
	    sh("ip addr add 10.9.0.1/24 dev sg-r") ||
	    sh("ip addr add 2001:db8:9::1/64 dev sg-r nodad") ||
	    sh("ip route add 203.0.113.0/24 dev sg-mx") ||
	    sh("ip -6 route add 2001:db8:ff::/48 dev sg-mx") ||
	    write_file("/proc/sys/net/ipv4/ip_forward", "1") ||
	    write_file("/proc/sys/net/ipv6/conf/all/forwarding", "1"))
		return -1;
	if (setns(tb->afd, CLONE_NEWNET) ||
	    sh("ip link set lo up && ip link set sg-a up") ||
	    sh("ip addr add 10.9.0.2/24 dev sg-a") ||
	    sh("ip addr add 2001:db8:9::2/64 dev sg-a nodad") ||
	    sh("ip addr add 2001:db8:9::3/64 dev sg-a nodad") ||
	    sh("ip route add default via 10.9.0.1") ||
	    sh("ip -6 route add default via 2001:db8:9::1") ||
	    setns(tb->rfd, CLONE_NEWNET))
		return -1;
	return 0;
}

/*
 * Opens a TCP connection from netns A (@src to @dst port 25), leaving the
 * SYN (and its retransmissions) on their way.  Returns the socket.
 */
static int smtp_from_a(struct testbed *tb, const char *src, const char *dst)
{
	struct sockaddr_storage s = {}, d = {};
	struct sg_prefix ps = prefix(src), pd = prefix(dst);
	socklen_t len;
	int fd;

	if (setns(tb->afd, CLONE_NEWNET))
		return -1;
	fd = socket(ps.family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (ps.family == AF_INET) {
		struct sockaddr_in *a = (void *)&s, *b = (void *)&d;

		a->sin_family = b->sin_family = AF_INET;
		a->sin_addr = ps.addr.v4;
		b->sin_addr = pd.addr.v4;
		b->sin_port = htons(25);
		len = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (void *)&s, *b = (void *)&d;

		a->sin6_family = b->sin6_family = AF_INET6;
		a->sin6_addr = ps.addr.v6;
		b->sin6_addr = pd.addr.v6;
		b->sin6_port = htons(25);
		len = sizeof(*a);
	}
	if (fd >= 0 && (bind(fd, (void *)&s, len) ||
			(connect(fd, (void *)&d, len) && errno != EINPROGRESS))) {
		close(fd);
		fd = -1;
	}
	if (setns(tb->rfd, CLONE_NEWNET)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static bool have_ip(void)
{
	return !system("command -v ip >/dev/null 2>&1");
}

/*
 * A spambot contacting many MX servers is tracked, flagged once with its
 * evidence, listed, and forgotten; IPv6 sources are one host per /64.
 */
TEST_F_TIMEOUT(nl, hosts_from_traffic, 120)
{
	struct sg_prefix bot = prefix("10.9.0.2"), bot6 = prefix("2001:db8:9::77");
	struct sgnl_ban bot_ban = ban("10.9.0.2", SMTPGATE_SCOPE_SMTP, 0, "bot");
	struct sgnl_policy pol;
	struct sgnl_host host;
	struct sgnl_bans bv = {};
	struct ev_vec ev = {};
	struct sgnl_stats st;
	struct testbed tb;
	struct sgnl *e;
	char dst[64];
	int i, n, fds[8];

	if (!have_ip())
		SKIP(return, "ip (iproute2) not installed");
	ASSERT_EQ(0, testbed_setup(&tb));
	sgnl_policy_defaults(&pol);
	pol.internal.n = 2;
	pol.internal.v[0] = prefix("10.9.0.0/24");
	pol.internal.v[1] = prefix("2001:db8:9::/48");
	pol.has |= SGNL_POLICY_HAS(SMTPGATE_A_POLICY_INTERNAL);
	pol.rate_limit = 0;
	pol.blocked_limit = 0;
	pol.dest_limit = 4;
	NL_OK(self->h, sgnl_policy_set(self->h, &pol));
	NL_OK(self->h, open_events(&e));

	for (i = 0; i < 6; i++) {
		snprintf(dst, sizeof(dst), "203.0.113.%d", 10 + i);
		fds[i] = smtp_from_a(&tb, "10.9.0.2", dst);
		ASSERT_LE(0, fds[i]);
	}
	/* Two addresses of one /64, two servers: one host, not flagged. */
	fds[6] = smtp_from_a(&tb, "2001:db8:9::2", "2001:db8:ff::25");
	fds[7] = smtp_from_a(&tb, "2001:db8:9::3", "2001:db8:ff:1::25");
	ASSERT_LE(0, fds[6]);
	ASSERT_LE(0, fds[7]);

	ASSERT_EQ(1, wait_events(e, &ev, 1, 20000));
	EXPECT_EQ(SMTPGATE_CMD_HOST_FLAGGED, ev.v[0].cmd);
	ASSERT_TRUE(ev.v[0].has_host);
	EXPECT_STREQ("10.9.0.2/32", pstr(&ev.v[0].host.prefix));
	EXPECT_TRUE(!!(ev.v[0].host.flags & SMTPGATE_HOST_F_FLAGGED));
	EXPECT_EQ(SMTPGATE_REASON_DESTINATIONS, ev.v[0].host.reasons);
	EXPECT_GE(ev.v[0].host.destinations, 4U);
	EXPECT_NE(0U, ev.v[0].host.flagged_at);

	NL_OK(self->h, sgnl_host_get(self->h, &bot, &host));
	EXPECT_STREQ("10.9.0.2/32", pstr(&host.prefix));
	EXPECT_GE(host.attempts[SMTPGATE_CLASS_SMTP4], 6U);
	EXPECT_GE(host.blocked, 6U);
	EXPECT_TRUE(!!(host.flags & SMTPGATE_HOST_F_FLAGGED));
	EXPECT_NE(0U, host.first_seen);
	EXPECT_LE(host.first_seen, host.last_seen);

	/* Any address of the /64 finds the v6 host. */
	NL_OK(self->h, sgnl_host_get(self->h, &bot6, &host));
	EXPECT_STREQ("2001:db8:9::/64", pstr(&host.prefix));
	EXPECT_GE(host.attempts[SMTPGATE_CLASS_SMTP6], 2U);
	EXPECT_FALSE(!!(host.flags & SMTPGATE_HOST_F_FLAGGED));

	n = 0;
	NL_OK(self->h, sgnl_host_list(self->h, false, count_host, &n));
	EXPECT_EQ(2, n);
	n = 0;
	NL_OK(self->h, sgnl_host_list(self->h, true, count_host, &n));
	EXPECT_EQ(1, n);
	NL_OK(self->h, sgnl_stats_get(self->h, &st));
	EXPECT_EQ(2U, st.hosts);
	EXPECT_EQ(1U, st.flagged);
	EXPECT_GE(st.packets[SMTPGATE_CLASS_SMTP4][SMTPGATE_VERDICT_DROP], 6U);

	/* A ban of a tracked host carries the host's evidence... */
	ev.n = 0;
	NL_OK(self->h, sgnl_ban_add(self->h, &bot_ban));
	ASSERT_EQ(1, wait_events(e, &ev, 1, 5000));
	EXPECT_EQ(SMTPGATE_CMD_BAN_ADDED, ev.v[0].cmd);
	ASSERT_TRUE(ev.v[0].has_host);
	EXPECT_STREQ("10.9.0.2/32", pstr(&ev.v[0].host.prefix));
	EXPECT_TRUE(!!(ev.v[0].host.flags & SMTPGATE_HOST_F_FLAGGED));
	/* ...and drops (and counts) what the host sends next. */
	close(smtp_from_a(&tb, "10.9.0.2", "203.0.113.99"));
	for (i = 0; i < 50; i++) {
		NL_OK(self->h, list_bans(self->h, &bv, NULL));
		if (bv.n == 1 && bv.v[0].drops)
			break;
		usleep(100000);
	}
	ASSERT_EQ(1U, bv.n);
	EXPECT_LT(0U, bv.v[0].drops);

	NL_OK(self->h, sgnl_host_forget(self->h, &bot));
	NL_FAILS(self->h, ENOENT, "host not tracked",
		 sgnl_host_get(self->h, &bot, &host));
	NL_OK(self->h, sgnl_host_forget(self->h, NULL));
	n = 0;
	NL_OK(self->h, sgnl_host_list(self->h, false, count_host, &n));
	EXPECT_EQ(0, n);
	for (i = 0; i < 8; i++)
		close(fds[i]);
	sgnl_close(e);
	free(bv.v);
}

/* ---- per-netns isolation (case 16) -------------------------------------- */

TEST_F(nl, netns_isolation)
{
	struct sgnl_ban mine = ban("192.0.2.1", 0, 0, "netns A");
	struct sgnl_ban theirs = ban("192.0.2.2", 0, 0, "netns B");
	struct sgnl_policy pol, got, want;
	struct sgnl_bans bv = {};
	struct ev_vec ev = {};
	struct sgnl *hb, *eb;

	sgnl_policy_init(&pol);
	pol.window = 42;
	pol.has = SGNL_POLICY_HAS(SMTPGATE_A_POLICY_WINDOW);
	NL_OK(self->h, sgnl_policy_set(self->h, &pol));
	NL_OK(self->h, sgnl_ban_add(self->h, &mine));

	ASSERT_EQ(0, unshare(CLONE_NEWNET));
	ASSERT_EQ(0, sgnl_open(&hb));
	ASSERT_EQ(0, open_events(&eb));
	/* B sees none of A's state... */
	NL_OK(hb, sgnl_policy_get(hb, &got));
	defaults_as_got(&want);
	EXPECT_TRUE(policy_matches(_metadata, &want, &got));
	NL_OK(hb, list_bans(hb, &bv, NULL));
	EXPECT_EQ(0U, bv.n);
	NL_FAILS(hb, ENOENT, "not banned",
		 sgnl_ban_test(hb, &mine.prefix, NULL));
	/* ...nor its events... */
	NL_OK(self->h, sgnl_ban_del(self->h, &mine.prefix));
	NL_OK(self->h, sgnl_ban_add(self->h, &mine));
	EXPECT_EQ(0, wait_events(eb, &ev, 1, 500));
	/* ...and A none of B's. */
	NL_OK(hb, sgnl_ban_add(hb, &theirs));
	EXPECT_EQ(1, wait_events(eb, &ev, 1, 2000));
	NL_OK(self->h, list_bans(self->h, &bv, NULL));
	ASSERT_EQ(1U, bv.n);
	EXPECT_STREQ("netns A", bv.v[0].reason);
	NL_OK(self->h, sgnl_policy_get(self->h, &got));
	EXPECT_EQ(42U, got.window);
	/* Flushing B leaves A alone. */
	NL_OK(hb, sgnl_ban_flush(hb));
	NL_OK(self->h, sgnl_ban_test(self->h, &mine.prefix, NULL));
	sgnl_close(hb);
	sgnl_close(eb);
	free(bv.v);
}

/* ---- privilege (case 14) ------------------------------------------------ */

static int p_policy_set(struct sgnl *h)
{
	struct sgnl_policy p;

	sgnl_policy_init(&p);
	return sgnl_policy_set(h, &p);
}

static int p_policy_get(struct sgnl *h)
{
	struct sgnl_policy p;

	return sgnl_policy_get(h, &p);
}

static int p_host_get(struct sgnl *h)
{
	struct sg_prefix a = prefix("192.0.2.1");
	struct sgnl_host host;

	return sgnl_host_get(h, &a, &host);
}

static int p_host_list(struct sgnl *h)
{
	int n = 0;

	return sgnl_host_list(h, false, count_host, &n);
}

static int p_host_list_flagged(struct sgnl *h)
{
	int n = 0;

	return sgnl_host_list(h, true, count_host, &n);
}

static int p_host_forget(struct sgnl *h)
{
	struct sg_prefix a = prefix("192.0.2.1");

	return sgnl_host_forget(h, &a);
}

static int p_host_forget_all(struct sgnl *h)
{
	return sgnl_host_forget(h, NULL);
}

static int p_ban_add(struct sgnl *h)
{
	struct sgnl_ban b = ban("192.0.2.1", 0, 0, NULL);

	return sgnl_ban_add(h, &b);
}

static int p_ban_add_batch(struct sgnl *h)
{
	struct sgnl_ban b[2] = { ban("192.0.2.1", 0, 0, NULL),
				 ban("192.0.2.2", 0, 0, NULL) };

	return sgnl_ban_add_batch(h, b, 2, true, NULL);
}

static int p_ban_del(struct sgnl *h)
{
	struct sg_prefix a = prefix("192.0.2.1");

	return sgnl_ban_del(h, &a);
}

static int p_ban_test(struct sgnl *h)
{
	struct sg_prefix a = prefix("192.0.2.1");

	return sgnl_ban_test(h, &a, NULL);
}

static int p_ban_list(struct sgnl *h)
{
	struct sgnl_bans bv = {};
	int ret = sgnl_ban_list(h, sgnl_bans_add, &bv);

	free(bv.v);
	return ret;
}

static int p_ban_flush(struct sgnl *h)
{
	return sgnl_ban_flush(h);
}

static const struct {
	const char *name;
	int (*fn)(struct sgnl *h);
} admin_cmds[] = {
	{ "policy set", p_policy_set },
	{ "policy get", p_policy_get },
	{ "host get", p_host_get },
	{ "host list", p_host_list },
	{ "host list flagged", p_host_list_flagged },
	{ "host forget", p_host_forget },
	{ "host forget all", p_host_forget_all },
	{ "ban add", p_ban_add },
	{ "ban add batch", p_ban_add_batch },
	{ "ban del", p_ban_del },
	{ "ban test", p_ban_test },
	{ "ban list", p_ban_list },
	{ "ban flush", p_ban_flush },
};

/*
 * In a child without CAP_NET_ADMIN in the initial user namespace: every
 * command but stats fails with EPERM.  Prints one line per violation to
 * @out; returns how many.
 */
static int probe_commands(FILE *out)
{
	struct sgnl_stats st;
	struct sgnl *h;
	unsigned int i;
	int ret, bad = 0;

	ret = sgnl_open(&h);
	if (ret) {
		fprintf(out, "sgnl_open: %d %s\n", ret, h ? sgnl_error_msg(h) : "");
		return 1;
	}
	for (i = 0; i < sizeof(admin_cmds) / sizeof(admin_cmds[0]); i++) {
		ret = admin_cmds[i].fn(h);
		if (ret != -EPERM) {
			fprintf(out, "%s: want -EPERM, got %d (%s)\n",
				admin_cmds[i].name, ret, sgnl_error_msg(h));
			bad++;
		}
	}
	ret = sgnl_stats_get(h, &st);
	if (ret) {
		fprintf(out, "stats get: want 0, got %d (%s)\n", ret,
			sgnl_error_msg(h));
		bad++;
	}
	sgnl_close(h);
	return bad;
}

static int drop_to_nobody(void)
{
	if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY))
		return -errno;
	/* A credential change makes /proc/self root's; uid_map needs it ours. */
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0))
		return -errno;
	return 0;
}

/* Runs @fn in a child; its report lines are logged.  Returns its status. */
static int run_child(struct __test_metadata *_metadata,
		     int (*fn)(FILE *out, void *arg), void *arg)
{
	char line[512];
	int pfd[2], status;
	FILE *in;
	pid_t pid;

	if (pipe(pfd))
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		FILE *out = fdopen(pfd[1], "w");

		close(pfd[0]);
		setvbuf(out, NULL, _IOLBF, 0);
		_exit(fn(out, arg));
	}
	close(pfd[1]);
	in = fdopen(pfd[0], "r");
	while (fgets(line, sizeof(line), in)) {
		line[strcspn(line, "\n")] = '\0';
		TH_LOG("%s", line);
	}
	fclose(in);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static int as_nobody(FILE *out, void *arg)
{
	struct sgnl *e;
	int ret, bad;

	ret = drop_to_nobody();
	if (ret) {
		fprintf(out, "cannot become uid %d: %s\n", NOBODY, strerror(-ret));
		return 100;
	}
	bad = probe_commands(out);
	ret = sgnl_open(&e);
	if (!ret)
		ret = sgnl_events_subscribe(e);
	if (ret != -EPERM) {
		fprintf(out, "join events: want -EPERM, got %d (%s)\n", ret,
			e ? sgnl_error_msg(e) : "");
		bad++;
	}
	sgnl_close(e);
	return bad;
}

TEST_F(nl, privilege_user)
{
	EXPECT_EQ(0, run_child(_metadata, as_nobody, NULL));
}

/* `unshare -Urn`: root in a user namespace of its own, nobody outside. */
static int enter_userns(FILE *out)
{
	char map[64];
	int ret = drop_to_nobody();

	if (ret) {
		fprintf(out, "cannot become uid %d: %s\n", NOBODY, strerror(-ret));
		return -1;
	}
	if (unshare(CLONE_NEWUSER | CLONE_NEWNET)) {
		fprintf(out, "SKIP: unprivileged unshare(CLONE_NEWUSER): %s\n",
			strerror(errno));
		return 1;
	}
	snprintf(map, sizeof(map), "0 %d 1", NOBODY);
	if (write_file("/proc/self/setgroups", "deny") ||
	    write_file("/proc/self/uid_map", map) ||
	    write_file("/proc/self/gid_map", map)) {
		fprintf(out, "cannot write the id maps: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

struct userns_ctx {
	int ready[2];		/* child -> parent: subscribed (1 byte) */
	int go[2];		/* parent -> child: events were made */
};

static int in_userns(FILE *out, void *arg)
{
	struct userns_ctx *c = arg;
	struct ev_vec ev = {};
	struct sgnl *e = NULL;
	char byte = 0;
	int ret, bad;

	close(c->ready[0]);
	close(c->go[1]);
	ret = enter_userns(out);
	if (ret) {
		if (write(c->ready[1], "s", 1) != 1)
			return 100;
		return ret > 0 ? 4 : 100;
	}
	bad = probe_commands(out);
	/*
	 * The group needs CAP_NET_ADMIN over the socket's netns (the header):
	 * here we have it, for a namespace that can only ever carry its own
	 * events.
	 */
	ret = open_events(&e);
	if (ret) {
		fprintf(out, "join events in own netns: got %d (%s)\n", ret,
			e ? sgnl_error_msg(e) : "");
		bad++;
		byte = 'f';
	}
	if (write(c->ready[1], byte ? "f" : "r", 1) != 1 ||
	    read(c->go[0], &byte, 1) != 1)
		return 100;
	if (!ret) {
		ret = wait_events(e, &ev, 2, 3000);
		if (ret != 1 || ev.v[0].cmd != SMTPGATE_CMD_BAN_ADDED ||
		    strcmp(pstr(&ev.v[0].ban.prefix), "198.51.100.1/32")) {
			fprintf(out, "events: want 1 (198.51.100.1/32 added in "
				"this netns), got %d%s%s\n", ret,
				ret > 0 ? ", first " : "",
				ret > 0 ? pstr(&ev.v[0].ban.prefix) : "");
			bad++;
		}
	}
	sgnl_close(e);
	return bad;
}

/* Makes a ban in the netns of process @pid. */
static int ban_in_netns_of(pid_t pid, const char *text)
{
	struct sgnl_ban b = ban(text, 0, 0, "from outside");
	char path[64];
	int self_fd, fd, ret = -1;
	struct sgnl *h;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", pid);
	self_fd = open("/proc/self/ns/net", O_RDONLY);
	fd = open(path, O_RDONLY);
	if (self_fd >= 0 && fd >= 0 && !setns(fd, CLONE_NEWNET)) {
		ret = sgnl_open(&h);
		if (!ret)
			ret = sgnl_ban_add(h, &b);
		sgnl_close(h);
		if (setns(self_fd, CLONE_NEWNET))
			ret = -1;
	}
	if (fd >= 0)
		close(fd);
	if (self_fd >= 0)
		close(self_fd);
	return ret;
}

TEST_F_TIMEOUT(nl, privilege_userns, 60)
{
	struct sgnl_ban outside = ban("192.0.2.1", 0, 0, "parent netns");
	struct userns_ctx c;
	char line[512], state = 0;
	int pfd[2], status;
	FILE *in;
	pid_t pid;

	ASSERT_EQ(0, pipe(c.ready));
	ASSERT_EQ(0, pipe(c.go));
	ASSERT_EQ(0, pipe(pfd));
	fflush(NULL);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		FILE *out = fdopen(pfd[1], "w");

		close(pfd[0]);
		setvbuf(out, NULL, _IOLBF, 0);
		_exit(in_userns(out, &c));
	}
	close(pfd[1]);
	close(c.ready[1]);
	close(c.go[0]);
	ASSERT_EQ(1, read(c.ready[0], &state, 1));
	if (state == 'r') {
		/* One ban here (must not reach the child), one in its netns. */
		NL_OK(self->h, sgnl_ban_add(self->h, &outside));
		EXPECT_EQ(0, ban_in_netns_of(pid, "198.51.100.1"));
	}
	/* 's': the child could not set up and is gone, not waiting. */
	if (state != 's')
		ASSERT_EQ(1, write(c.go[1], "g", 1));
	in = fdopen(pfd[0], "r");
	while (fgets(line, sizeof(line), in)) {
		line[strcspn(line, "\n")] = '\0';
		TH_LOG("%s", line);
	}
	fclose(in);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	if (WEXITSTATUS(status) == 4)
		SKIP(return, "unprivileged user namespaces are disabled");
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/* ---- validation (case 13) ----------------------------------------------- */

/*
 * Each variant builds one malformed request and names what the kernel must
 * answer: the errno (ERANGE for a value or length outside a policy's range,
 * as the netlink core answers), a part of the extack message, and (when
 * the builder marks one) the offset of the offending attribute, which is
 * how NLMSGERR_ATTR_OFFS names it.  The fixture first puts a known policy and
 * one ban in place; a rejected request must leave both as they were.
 */
typedef void (*build_fn)(struct nl_msg *m, int64_t *blame);

FIXTURE(bad) {
	struct sgnl *h;
	struct sgnl_policy pol;
};

FIXTURE_VARIANT(bad) {
	uint8_t cmd;
	bool dump;
	build_fn build;
	int err;
	const char *msg;
};

static const struct sgnl_ban bad_fixture_ban = {
	.prefix = { .family = AF_INET, .addr.bytes = { 192, 0, 2, 250 },
		    .len = 32 },
	.reason = "fixture",
};

FIXTURE_SETUP(bad)
{
	struct sgnl_policy pol;

	fresh_netns(_metadata);
	ASSERT_EQ(0, sgnl_open(&self->h));
	sgnl_policy_init(&pol);
	pol.window = 123;
	pol.max_bans = 100;
	pol.internal.n = 1;
	pol.internal.v[0] = prefix("10.0.0.0/8");
	pol.has = SGNL_POLICY_HAS(SMTPGATE_A_POLICY_WINDOW) |
		  SGNL_POLICY_HAS(SMTPGATE_A_POLICY_MAX_BANS) |
		  SGNL_POLICY_HAS(SMTPGATE_A_POLICY_INTERNAL);
	NL_OK(self->h, sgnl_policy_set(self->h, &pol));
	NL_OK(self->h, sgnl_policy_get(self->h, &self->pol));
	NL_OK(self->h, sgnl_ban_add(self->h, &bad_fixture_ban));
}

FIXTURE_TEARDOWN(bad)
{
	sgnl_close(self->h);
}

TEST_F(bad, rejected)
{
	int64_t blame = -1;
	struct sgnl_policy after;
	struct sgnl_bans bv = {};
	struct nl_msg *m;
	int ret;

	m = sgnl_msg(self->h, variant->cmd, variant->dump ? NLM_F_DUMP : 0,
		     SGNL_BATCH_BYTES);
	ASSERT_NE(NULL, m);
	variant->build(m, &blame);
	ret = sgnl_request(self->h, m, NULL, NULL);
	EXPECT_EQ(-variant->err, ret) {
		TH_LOG("want -%d \"%s\", got %d \"%s\"", variant->err,
		       variant->msg, ret, sgnl_error_msg(self->h));
	}
	EXPECT_NE(NULL, strstr(sgnl_error_msg(self->h), variant->msg)) {
		TH_LOG("message: want \"%s\", got \"%s\"", variant->msg,
		       sgnl_error_msg(self->h));
	}
	printf("# rejected: %s \"%s\"%s%s\n",
	       strerror(-ret), sgnl_error_msg(self->h),
	       sgnl_error(self->h)->attr[0] ? " at " : "",
	       sgnl_error(self->h)->attr);
	fflush(stdout);
	if (blame >= 0) {
		EXPECT_STRNE("", sgnl_error(self->h)->attr);
		EXPECT_EQ(blame, sgnl_error(self->h)->offset) {
			TH_LOG("the extack blames offset %lld, not the bad "
			       "attribute at %lld",
			       (long long)sgnl_error(self->h)->offset,
			       (long long)blame);
		}
	}
	/* Nothing changed. */
	NL_OK(self->h, sgnl_policy_get(self->h, &after));
	EXPECT_EQ(self->pol.generation, after.generation);
	EXPECT_TRUE(policy_matches(_metadata, &self->pol, &after));
	NL_OK(self->h, list_bans(self->h, &bv, NULL));
	for (size_t i = 0; bv.n != 1 && i < bv.n; i++)
		TH_LOG("ban left: %s \"%s\"", pstr(&bv.v[i].prefix),
		       bv.v[i].reason);
	ASSERT_EQ(1U, bv.n);
	EXPECT_STREQ("fixture", bv.v[0].reason);
	free(bv.v);
}

/* Where the next attribute goes: its offset in the message. */
static int64_t here(struct nl_msg *m)
{
	return (char *)nlmsg_tail(nlmsg_hdr(m)) - (char *)nlmsg_hdr(m);
}

static struct nlattr *nest(struct nl_msg *m, int type)
{
	return nla_nest_start(m, type | NLA_F_NESTED);
}

static void end(struct nl_msg *m, struct nlattr *n)
{
	nla_nest_end_keep_empty(m, n);
}

static const uint8_t v4_addr[4] = { 192, 0, 2, 0 };
static const uint8_t v6_addr[16] = { 0x20, 0x01, 0x0d, 0xb8 };

/* FAMILY, ADDR, LEN of the prefix/ban/host nest being built. */
static void put_raw(struct nl_msg *m, int family, const void *addr,
		    int alen, int len)
{
	if (family >= 0)
		nla_put_u16(m, SMTPGATE_A_PREFIX_FAMILY, family);
	if (alen >= 0)
		nla_put(m, SMTPGATE_A_PREFIX_ADDR, alen, addr);
	if (len >= 0)
		nla_put_u8(m, SMTPGATE_A_PREFIX_LEN, len);
}

static struct nlattr *ban_open(struct nl_msg *m, const char *text)
{
	struct sg_prefix p = prefix(text);
	struct nlattr *n = nest(m, SMTPGATE_A_BAN);

	put_raw(m, p.family, p.addr.bytes, sg_family_addr_len(p.family), p.len);
	return n;
}

static struct nlattr *policy_open(struct nl_msg *m)
{
	return nest(m, SMTPGATE_A_POLICY);
}

#define BUILD(name) static void build_##name(struct nl_msg *m, int64_t *blame)

#define BAD(name, _cmd, _err, _msg) \
	FIXTURE_VARIANT_ADD(bad, name) { \
		.cmd = SMTPGATE_CMD_##_cmd, .build = build_##name, \
		.err = _err, .msg = _msg, \
	}

#define BAD_DUMP(name, _cmd, _err, _msg) \
	FIXTURE_VARIANT_ADD(bad, name) { \
		.cmd = SMTPGATE_CMD_##_cmd, .dump = true, \
		.build = build_##name, .err = _err, .msg = _msg, \
	}

/* The kernel's own policy messages (lib/nlattr.c) name no attribute in
 * their text: the offset does. */
#define OUT_OF_RANGE	"integer out of range"
#define BAD_LENGTH	"invalid attribute length"
#define FAILED_POLICY	"Attribute failed policy validation"
#define UNKNOWN		"Unknown attribute type"
#define UNSUPPORTED	"Unsupported attribute"
#define RESERVED_BIT	"reserved bit set"
#define NO_NESTED_FLAG	"NLA_F_NESTED is missing"

/* A ban nest for 192.0.2.0/24 with one more attribute, which is to blame. */
#define BAN_PLUS(name, put) BUILD(name) \
{ \
	struct nlattr *n = ban_open(m, "192.0.2.0/24"); \
	*blame = here(m); \
	put; \
	end(m, n); \
}

/* -- ban add: the ban nest -- */

BUILD(ban_no_family)
{
	struct nlattr *n;

	*blame = here(m);
	n = nest(m, SMTPGATE_A_BAN);
	put_raw(m, -1, v4_addr, 4, 24);
	end(m, n);
}
BAD(ban_no_family, BAN_ADD, EINVAL, "address family and address are required");

BUILD(ban_no_addr)
{
	struct nlattr *n;

	*blame = here(m);
	n = nest(m, SMTPGATE_A_BAN);
	put_raw(m, AF_INET, NULL, -1, 24);
	end(m, n);
}
BAD(ban_no_addr, BAN_ADD, EINVAL, "address family and address are required");

BUILD(ban_bad_family)
{
	struct nlattr *n = nest(m, SMTPGATE_A_BAN);

	*blame = here(m);
	put_raw(m, AF_UNIX, v4_addr, 4, 24);
	end(m, n);
}
BAD(ban_bad_family, BAN_ADD, EINVAL, "address family must be AF_INET or AF_INET6");

BUILD(ban_v4_16_bytes)
{
	struct nlattr *n = nest(m, SMTPGATE_A_BAN);

	nla_put_u16(m, SMTPGATE_A_BAN_FAMILY, AF_INET);
	*blame = here(m);
	nla_put(m, SMTPGATE_A_BAN_ADDR, 16, v6_addr);
	end(m, n);
}
BAD(ban_v4_16_bytes, BAN_ADD, EINVAL, "address length does not match the address family");

BUILD(ban_v6_4_bytes)
{
	struct nlattr *n = nest(m, SMTPGATE_A_BAN);

	nla_put_u16(m, SMTPGATE_A_BAN_FAMILY, AF_INET6);
	*blame = here(m);
	nla_put(m, SMTPGATE_A_BAN_ADDR, 4, v4_addr);
	end(m, n);
}
BAD(ban_v6_4_bytes, BAN_ADD, EINVAL, "address length does not match the address family");

BUILD(ban_addr_17_bytes)
{
	uint8_t addr[17] = { 0x20, 0x01, 0x0d, 0xb8 };
	struct nlattr *n = nest(m, SMTPGATE_A_BAN);

	nla_put_u16(m, SMTPGATE_A_BAN_FAMILY, AF_INET6);
	*blame = here(m);
	nla_put(m, SMTPGATE_A_BAN_ADDR, sizeof(addr), addr);
	end(m, n);
}
BAD(ban_addr_17_bytes, BAN_ADD, ERANGE, FAILED_POLICY);

BUILD(ban_v4_len_33)
{
	struct nlattr *n = nest(m, SMTPGATE_A_BAN);

	put_raw(m, AF_INET, v4_addr, 4, -1);
	*blame = here(m);
	nla_put_u8(m, SMTPGATE_A_BAN_PREFIX_LEN, 33);
	end(m, n);
}
BAD(ban_v4_len_33, BAN_ADD, EINVAL, "prefix length longer than the address");

BUILD(ban_v6_len_129)
{
	struct nlattr *n = nest(m, SMTPGATE_A_BAN);

	put_raw(m, AF_INET6, v6_addr, 16, -1);
	*blame = here(m);
	nla_put_u8(m, SMTPGATE_A_BAN_PREFIX_LEN, 129);
	end(m, n);
}
BAD(ban_v6_len_129, BAN_ADD, ERANGE, OUT_OF_RANGE);

BUILD(ban_host_bits)
{
	static const uint8_t addr[4] = { 192, 0, 2, 1 };
	struct nlattr *n = nest(m, SMTPGATE_A_BAN);

	nla_put_u16(m, SMTPGATE_A_BAN_FAMILY, AF_INET);
	*blame = here(m);
	nla_put(m, SMTPGATE_A_BAN_ADDR, 4, addr);
	nla_put_u8(m, SMTPGATE_A_BAN_PREFIX_LEN, 24);
	end(m, n);
}
BAD(ban_host_bits, BAN_ADD, EINVAL, "address has host bits set past the prefix length");

BUILD(ban_v6_host_bits)
{
	uint8_t addr[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	struct nlattr *n = nest(m, SMTPGATE_A_BAN);

	nla_put_u16(m, SMTPGATE_A_BAN_FAMILY, AF_INET6);
	*blame = here(m);
	nla_put(m, SMTPGATE_A_BAN_ADDR, 16, addr);
	nla_put_u8(m, SMTPGATE_A_BAN_PREFIX_LEN, 64);
	end(m, n);
}
BAD(ban_v6_host_bits, BAN_ADD, EINVAL, "address has host bits set past the prefix length");

BAN_PLUS(ban_timeout_0, nla_put_u32(m, SMTPGATE_A_BAN_TIMEOUT, 0))
BAD(ban_timeout_0, BAN_ADD, ERANGE, OUT_OF_RANGE);
BAN_PLUS(ban_timeout_max, nla_put_u32(m, SMTPGATE_A_BAN_TIMEOUT, 0xffffffff))
BAD(ban_timeout_max, BAN_ADD, ERANGE, OUT_OF_RANGE);
BAN_PLUS(ban_timeout_ten_years_1s,
	 nla_put_u32(m, SMTPGATE_A_BAN_TIMEOUT, SMTPGATE_MAX_BAN_TIMEOUT + 1))
BAD(ban_timeout_ten_years_1s, BAN_ADD, ERANGE, OUT_OF_RANGE);
BAN_PLUS(ban_timeout_u8, nla_put_u8(m, SMTPGATE_A_BAN_TIMEOUT, 5))
BAD(ban_timeout_u8, BAN_ADD, EINVAL, BAD_LENGTH);
BAN_PLUS(ban_scope_3, nla_put_u8(m, SMTPGATE_A_BAN_SCOPE, SMTPGATE_SCOPE_MAX + 1))
BAD(ban_scope_3, BAN_ADD, ERANGE, OUT_OF_RANGE);
BAN_PLUS(ban_scope_unspec, nla_put_u8(m, SMTPGATE_A_BAN_SCOPE, SMTPGATE_SCOPE_UNSPEC))
BAD(ban_scope_unspec, BAN_ADD, ERANGE, OUT_OF_RANGE);
BAN_PLUS(ban_scope_u32, nla_put_u32(m, SMTPGATE_A_BAN_SCOPE, SMTPGATE_SCOPE_ALL))
BAD(ban_scope_u32, BAN_ADD, EINVAL, BAD_LENGTH);
BAN_PLUS(ban_reason_64,
	 nla_put_string(m, SMTPGATE_A_BAN_REASON,
			"0123456789012345678901234567890123456789012345678901234567890123"))
BAD(ban_reason_64, BAN_ADD, EINVAL, FAILED_POLICY);
BAN_PLUS(ban_reason_no_nul, nla_put(m, SMTPGATE_A_BAN_REASON, 4, "spam"))
BAD(ban_reason_no_nul, BAN_ADD, EINVAL, FAILED_POLICY);
BAN_PLUS(ban_created, nla_put_u64(m, SMTPGATE_A_BAN_CREATED, 1))
BAD(ban_created, BAN_ADD, EINVAL, UNSUPPORTED);
BAN_PLUS(ban_unknown_in_nest, nla_put_u32(m, SMTPGATE_A_BAN_MAX + 1, 1))
BAD(ban_unknown_in_nest, BAN_ADD, EINVAL, UNKNOWN);

BUILD(ban_not_nested)
{
	*blame = here(m);
	nla_put_u32(m, SMTPGATE_A_BAN, 0);
}
BAD(ban_not_nested, BAN_ADD, EINVAL, NO_NESTED_FLAG);

/* -- ban add: the request -- */

BUILD(ban_unknown_top)
{
	end(m, ban_open(m, "192.0.2.0/24"));
	*blame = here(m);
	nla_put_u32(m, SMTPGATE_A_MAX + 1, 0);
}
BAD(ban_unknown_top, BAN_ADD, EINVAL, UNKNOWN);

BUILD(ban_stats_attr)
{
	end(m, ban_open(m, "192.0.2.0/24"));
	*blame = here(m);
	end(m, nest(m, SMTPGATE_A_STATS));
}
BAD(ban_stats_attr, BAN_ADD, EINVAL, UNSUPPORTED);

BUILD(ban_none)
{
}
BAD(ban_none, BAN_ADD, EINVAL, "exactly one of SMTPGATE_A_BAN and SMTPGATE_A_BANS is required");

BUILD(ban_and_bans)
{
	struct nlattr *list;

	end(m, ban_open(m, "192.0.2.0/24"));
	list = nest(m, SMTPGATE_A_BANS);
	end(m, ban_open(m, "192.0.3.0/24"));
	end(m, list);
}
BAD(ban_and_bans, BAN_ADD, EINVAL, "exactly one of SMTPGATE_A_BAN and SMTPGATE_A_BANS is required");

BUILD(bans_empty)
{
	*blame = here(m);
	end(m, nest(m, SMTPGATE_A_BANS));
}
BAD(bans_empty, BAN_ADD, EINVAL, "bans: the batch is empty");

BUILD(bans_wrong_entry)
{
	struct nlattr *list = nest(m, SMTPGATE_A_BANS), *e;

	end(m, ban_open(m, "192.0.2.0/24"));
	*blame = here(m);
	e = nest(m, SMTPGATE_A_HOST);
	put_raw(m, AF_INET, v4_addr, 4, 24);
	end(m, e);
	end(m, list);
}
BAD(bans_wrong_entry, BAN_ADD, EINVAL, "bans: entries must be SMTPGATE_A_BAN");

/*
 * The fourth of four is bad: none of the first three may stay.  Once for a
 * rule of the policy (checked before the handler), once for the handler's.
 */
static void three_good(struct nl_msg *m)
{
	end(m, ban_open(m, "192.0.2.0/24"));
	end(m, ban_open(m, "198.51.100.0/24"));
	end(m, ban_open(m, "2001:db8::/32"));
}

BUILD(bans_last_out_of_range)
{
	struct nlattr *list = nest(m, SMTPGATE_A_BANS), *n;

	three_good(m);
	n = ban_open(m, "203.0.113.0/24");
	*blame = here(m);
	nla_put_u32(m, SMTPGATE_A_BAN_TIMEOUT, 0);
	end(m, n);
	end(m, list);
}
BAD(bans_last_out_of_range, BAN_ADD, ERANGE, OUT_OF_RANGE);

BUILD(bans_last_host_bits)
{
	static const uint8_t addr[4] = { 203, 0, 113, 1 };
	struct nlattr *list = nest(m, SMTPGATE_A_BANS), *n;

	three_good(m);
	n = nest(m, SMTPGATE_A_BAN);
	nla_put_u16(m, SMTPGATE_A_BAN_FAMILY, AF_INET);
	*blame = here(m);
	nla_put(m, SMTPGATE_A_BAN_ADDR, 4, addr);
	nla_put_u8(m, SMTPGATE_A_BAN_PREFIX_LEN, 24);
	end(m, n);
	end(m, list);
}
BAD(bans_last_host_bits, BAN_ADD, EINVAL, "address has host bits set past the prefix length");

BUILD(bans_duplicate)
{
	struct nlattr *list = nest(m, SMTPGATE_A_BANS);

	end(m, ban_open(m, "192.0.2.0/24"));
	end(m, ban_open(m, "198.51.100.0/24"));
	end(m, ban_open(m, "192.0.2.0/24"));
	end(m, list);
}
BAD(bans_duplicate, BAN_ADD, EEXIST, "bans: the batch names the same prefix twice");

BUILD(ban_flags_unknown)
{
	end(m, ban_open(m, "192.0.2.0/24"));
	*blame = here(m);
	nla_put_u32(m, SMTPGATE_A_FLAGS, 1U << 7);
}
BAD(ban_flags_unknown, BAN_ADD, EINVAL, RESERVED_BIT);

/* FLAGGED_ONLY means something for host dumps, nothing for bans. */
BUILD(ban_flags_flagged_only)
{
	end(m, ban_open(m, "192.0.2.0/24"));
	*blame = here(m);
	nla_put_u32(m, SMTPGATE_A_FLAGS, SMTPGATE_F_FLAGGED_ONLY);
}
BAD(ban_flags_flagged_only, BAN_ADD, EINVAL, RESERVED_BIT);

/* -- ban del, get -- */

BUILD(del_none)
{
}
BAD(del_none, BAN_DEL, EINVAL, "SMTPGATE_A_BAN with the banned prefix is required");

BUILD(del_missing)
{
	*blame = here(m);
	end(m, ban_open(m, "203.0.113.0/24"));
}
BAD(del_missing, BAN_DEL, ENOENT, "no such ban");

BUILD(del_v4_len_33)
{
	struct nlattr *n = nest(m, SMTPGATE_A_BAN);

	put_raw(m, AF_INET, v4_addr, 4, -1);
	*blame = here(m);
	nla_put_u8(m, SMTPGATE_A_BAN_PREFIX_LEN, 33);
	end(m, n);
}
BAD(del_v4_len_33, BAN_DEL, EINVAL, "prefix length longer than the address");

BUILD(del_timeout_0)
{
	struct nlattr *n = ban_open(m, "192.0.2.250");

	*blame = here(m);
	nla_put_u32(m, SMTPGATE_A_BAN_TIMEOUT, 0);
	end(m, n);
}
BAD(del_timeout_0, BAN_DEL, ERANGE, OUT_OF_RANGE);

BUILD(get_none)
{
}
BAD(get_none, BAN_GET, EINVAL, "SMTPGATE_A_BAN with an address is required");

BUILD(get_v6_4_bytes)
{
	struct nlattr *n = nest(m, SMTPGATE_A_BAN);

	nla_put_u16(m, SMTPGATE_A_BAN_FAMILY, AF_INET6);
	*blame = here(m);
	nla_put(m, SMTPGATE_A_BAN_ADDR, 4, v4_addr);
	end(m, n);
}
BAD(get_v6_4_bytes, BAN_GET, EINVAL, "address length does not match the address family");

BUILD(ban_dump_unknown)
{
	*blame = here(m);
	nla_put_u32(m, SMTPGATE_A_MAX + 1, 0);
}
BAD_DUMP(ban_dump_unknown, BAN_GET, EINVAL, UNKNOWN);

BUILD(flush_with_ban)
{
	*blame = here(m);
	end(m, ban_open(m, "192.0.2.250"));
}
BAD(flush_with_ban, BAN_FLUSH, EINVAL, UNSUPPORTED);

/* -- hosts -- */

BUILD(host_get_none)
{
}
BAD(host_get_none, HOST_GET, EINVAL, "SMTPGATE_A_HOST with the host's address is required");

BUILD(host_get_with_len)
{
	struct nlattr *n = nest(m, SMTPGATE_A_HOST);

	put_raw(m, AF_INET, v4_addr, 4, -1);
	*blame = here(m);
	nla_put_u8(m, SMTPGATE_A_HOST_PREFIX_LEN, 24);
	end(m, n);
}
BAD(host_get_with_len, HOST_GET, EINVAL, UNSUPPORTED);

BUILD(host_get_bad_family)
{
	struct nlattr *n = nest(m, SMTPGATE_A_HOST);

	*blame = here(m);
	put_raw(m, 99, v4_addr, 4, -1);
	end(m, n);
}
BAD(host_get_bad_family, HOST_GET, EINVAL, "address family must be AF_INET or AF_INET6");

BUILD(host_forget_v4_16_bytes)
{
	struct nlattr *n = nest(m, SMTPGATE_A_HOST);

	nla_put_u16(m, SMTPGATE_A_HOST_FAMILY, AF_INET);
	*blame = here(m);
	nla_put(m, SMTPGATE_A_HOST_ADDR, 16, v6_addr);
	end(m, n);
}
BAD(host_forget_v4_16_bytes, HOST_FORGET, EINVAL,
    "address length does not match the address family");

BUILD(host_flag_none)
{
}
BAD(host_flag_none, HOST_FLAG, EINVAL, "SMTPGATE_A_HOST is needed");

/* 10.0.0.0/8 is the fixture's internal prefix. */
BUILD(host_flag_no_reason)
{
	struct nlattr *n;

	*blame = here(m);
	n = nest(m, SMTPGATE_A_HOST);
	nla_put_u16(m, SMTPGATE_A_HOST_FAMILY, AF_INET);
	nla_put(m, SMTPGATE_A_HOST_ADDR, 4, "\x0a\x01\x02\x03");
	end(m, n);
}
BAD(host_flag_no_reason, HOST_FLAG, EINVAL,
    "SMTPGATE_A_HOST_REASONS: at least one reason is needed");

BUILD(host_flag_unknown_reason)
{
	struct nlattr *n = nest(m, SMTPGATE_A_HOST);

	nla_put_u16(m, SMTPGATE_A_HOST_FAMILY, AF_INET);
	nla_put(m, SMTPGATE_A_HOST_ADDR, 4, "\x0a\x01\x02\x03");
	*blame = here(m);
	nla_put_u32(m, SMTPGATE_A_HOST_REASONS, 1U << 7);
	end(m, n);
}
BAD(host_flag_unknown_reason, HOST_FLAG, EINVAL, RESERVED_BIT);

BUILD(host_flag_outside)
{
	struct nlattr *n;

	*blame = here(m);
	n = nest(m, SMTPGATE_A_HOST);
	put_raw(m, AF_INET, v4_addr, 4, -1);
	nla_put_u32(m, SMTPGATE_A_HOST_REASONS, SMTPGATE_REASON_DIALOGUE);
	end(m, n);
}
BAD(host_flag_outside, HOST_FLAG, EINVAL, "host is not internal");

BUILD(host_flag_with_len)
{
	struct nlattr *n = nest(m, SMTPGATE_A_HOST);

	put_raw(m, AF_INET, v4_addr, 4, -1);
	*blame = here(m);
	nla_put_u8(m, SMTPGATE_A_HOST_PREFIX_LEN, 24);
	end(m, n);
}
BAD(host_flag_with_len, HOST_FLAG, EINVAL, UNSUPPORTED);

BUILD(host_dump_quiet)
{
	*blame = here(m);
	nla_put_u32(m, SMTPGATE_A_FLAGS, SMTPGATE_F_QUIET);
}
BAD_DUMP(host_dump_quiet, HOST_GET, EINVAL, RESERVED_BIT);

/* -- policy set: lists -- */

static void put_list(struct nl_msg *m, int type, unsigned int n, int64_t *blame)
{
	struct nlattr *list = nest(m, type), *e;
	uint8_t addr[4] = { 10, 0, 0, 0 };
	unsigned int i;

	for (i = 0; i < n; i++) {
		addr[1] = i;
		if (i == SMTPGATE_MAX_PREFIXES)
			*blame = here(m);
		e = nest(m, SMTPGATE_A_PREFIX_ENTRY);
		put_raw(m, AF_INET, addr, 4, 16);
		end(m, e);
	}
	end(m, list);
}

#define LIST_33(name, type) BUILD(name) \
{ \
	struct nlattr *p = policy_open(m); \
	put_list(m, SMTPGATE_A_POLICY_##type, SMTPGATE_MAX_PREFIXES + 1, blame); \
	end(m, p); \
}
LIST_33(internal_33, INTERNAL)
BAD(internal_33, POLICY_SET, E2BIG, "internal: more than 32 prefixes");
LIST_33(exempt_33, EXEMPT)
BAD(exempt_33, POLICY_SET, E2BIG, "exempt: more than 32 prefixes");
LIST_33(walled_garden_33, WALLED_GARDEN)
BAD(walled_garden_33, POLICY_SET, E2BIG, "walled_garden: more than 32 prefixes");

/* A prefix list whose one entry has @put added after its family. */
#define ENTRY(name, type, put) BUILD(name) \
{ \
	struct nlattr *p = policy_open(m), *l, *e; \
	l = nest(m, SMTPGATE_A_POLICY_##type); \
	e = nest(m, SMTPGATE_A_PREFIX_ENTRY); \
	put; \
	end(m, e); \
	end(m, l); \
	end(m, p); \
}
ENTRY(internal_len_33, INTERNAL,
      (put_raw(m, AF_INET, v4_addr, 4, -1), *blame = here(m),
       nla_put_u8(m, SMTPGATE_A_PREFIX_LEN, 33)))
BAD(internal_len_33, POLICY_SET, EINVAL, "prefix length longer than the address");
ENTRY(exempt_len_129, EXEMPT,
      (put_raw(m, AF_INET6, v6_addr, 16, -1), *blame = here(m),
       nla_put_u8(m, SMTPGATE_A_PREFIX_LEN, 129)))
BAD(exempt_len_129, POLICY_SET, ERANGE, OUT_OF_RANGE);
ENTRY(internal_v6_4_bytes, INTERNAL,
      (nla_put_u16(m, SMTPGATE_A_PREFIX_FAMILY, AF_INET6), *blame = here(m),
       nla_put(m, SMTPGATE_A_PREFIX_ADDR, 4, v4_addr)))
BAD(internal_v6_4_bytes, POLICY_SET, EINVAL, "address length does not match the address family");
ENTRY(garden_host_bits, WALLED_GARDEN,
      (nla_put_u16(m, SMTPGATE_A_PREFIX_FAMILY, AF_INET), *blame = here(m),
       nla_put(m, SMTPGATE_A_PREFIX_ADDR, 4, v4_addr),
       nla_put_u8(m, SMTPGATE_A_PREFIX_LEN, 16)))
BAD(garden_host_bits, POLICY_SET, EINVAL, "address has host bits set past the prefix length");
ENTRY(exempt_no_addr, EXEMPT,
      (nla_put_u16(m, SMTPGATE_A_PREFIX_FAMILY, AF_INET)))
BAD(exempt_no_addr, POLICY_SET, EINVAL, "address family and address are required");
ENTRY(internal_unknown, INTERNAL,
      (put_raw(m, AF_INET, v4_addr, 4, 24), *blame = here(m),
       nla_put_u8(m, SMTPGATE_A_PREFIX_MAX + 1, 0)))
BAD(internal_unknown, POLICY_SET, EINVAL, UNKNOWN);

BUILD(internal_wrong_entry)
{
	struct nlattr *p = policy_open(m), *l, *e;

	l = nest(m, SMTPGATE_A_POLICY_INTERNAL);
	*blame = here(m);
	e = nest(m, SMTPGATE_A_PREFIX_ENTRY + 1);
	put_raw(m, AF_INET, v4_addr, 4, 24);
	end(m, e);
	end(m, l);
	end(m, p);
}
BAD(internal_wrong_entry, POLICY_SET, EINVAL, "internal: entries must be SMTPGATE_A_PREFIX_ENTRY");

/* -- policy set: ports -- */

static void put_ports(struct nl_msg *m, unsigned int n, int bad_port,
		      int64_t *blame)
{
	struct nlattr *p = policy_open(m), *l;
	unsigned int i;

	if (!n)
		*blame = here(m);
	l = nest(m, SMTPGATE_A_POLICY_PORTS);
	for (i = 0; i < n; i++) {
		if (i == SMTPGATE_MAX_PORTS || (bad_port >= 0 && i == n - 1))
			*blame = here(m);
		nla_put_u16(m, SMTPGATE_A_PORT,
			    bad_port >= 0 && i == n - 1 ? (unsigned int)bad_port :
			    1000 + i);
	}
	end(m, l);
	end(m, p);
}

BUILD(ports_33)
{
	put_ports(m, SMTPGATE_MAX_PORTS + 1, -1, blame);
}
BAD(ports_33, POLICY_SET, E2BIG, "ports: more than 32 ports");

BUILD(ports_empty)
{
	put_ports(m, 0, -1, blame);
}
BAD(ports_empty, POLICY_SET, EINVAL, "ports: the list is empty");

BUILD(ports_zero)
{
	put_ports(m, 3, 0, blame);
}
BAD(ports_zero, POLICY_SET, ERANGE, OUT_OF_RANGE);

BUILD(ports_wrong_type)
{
	struct nlattr *p = policy_open(m), *l;

	l = nest(m, SMTPGATE_A_POLICY_PORTS);
	nla_put_u16(m, SMTPGATE_A_PORT, 25);
	*blame = here(m);
	nla_put_u16(m, SMTPGATE_A_PORT + 1, 465);
	end(m, l);
	end(m, p);
}
BAD(ports_wrong_type, POLICY_SET, EINVAL, UNKNOWN);

/* -- policy set: scalars -- */

#define SCALAR(name, type, attr, value) BUILD(name) \
{ \
	struct nlattr *p = policy_open(m); \
	*blame = here(m); \
	nla_put_##type(m, SMTPGATE_A_POLICY_##attr, value); \
	end(m, p); \
}
SCALAR(action_unspec, u8, ACTION, SMTPGATE_ACTION_UNSPEC)
BAD(action_unspec, POLICY_SET, ERANGE, OUT_OF_RANGE);
SCALAR(action_5, u8, ACTION, SMTPGATE_ACTION_MAX + 1)
BAD(action_5, POLICY_SET, ERANGE, OUT_OF_RANGE);
SCALAR(action_u32, u32, ACTION, SMTPGATE_ACTION_DROP)
BAD(action_u32, POLICY_SET, EINVAL, BAD_LENGTH);
SCALAR(tunnel_action_5, u8, TUNNEL_ACTION, SMTPGATE_ACTION_MAX + 1)
BAD(tunnel_action_5, POLICY_SET, ERANGE, OUT_OF_RANGE);
SCALAR(tunnel_action_redirect, u8, TUNNEL_ACTION, SMTPGATE_ACTION_REDIRECT)
BAD(tunnel_action_redirect, POLICY_SET, EINVAL,
    "tunnel_action: tunnelled SMTP cannot be redirected");
SCALAR(redirect_no_submission, u8, ACTION, SMTPGATE_ACTION_REDIRECT)
BAD(redirect_no_submission, POLICY_SET, EINVAL, "action: redirect needs a submission server");
SCALAR(tunnel_action_trap, u8, TUNNEL_ACTION, SMTPGATE_ACTION_TRAP)
BAD(tunnel_action_trap, POLICY_SET, EINVAL,
    "tunnel_action: tunnelled SMTP cannot be trapped");
SCALAR(trap_no_port, u8, ACTION, SMTPGATE_ACTION_TRAP)
BAD(trap_no_port, POLICY_SET, EINVAL, "action: trap needs trap_port");
SCALAR(trap_port_0, u16, TRAP_PORT, 0)
BAD(trap_port_0, POLICY_SET, ERANGE, OUT_OF_RANGE);
SCALAR(inspect_bytes_63, u32, INSPECT_BYTES, 63)
BAD(inspect_bytes_63, POLICY_SET, ERANGE, OUT_OF_RANGE);
SCALAR(inspect_bytes_1m1, u32, INSPECT_BYTES, 1048577)
BAD(inspect_bytes_1m1, POLICY_SET, ERANGE, OUT_OF_RANGE);
SCALAR(inspect_queue_u32, u32, INSPECT_QUEUE, 1)
BAD(inspect_queue_u32, POLICY_SET, EINVAL, BAD_LENGTH);
SCALAR(submission4_8_bytes, u64, SUBMISSION4, 0)
BAD(submission4_8_bytes, POLICY_SET, ERANGE, "binary attribute size out of range");
SCALAR(submission6_4_bytes, u32, SUBMISSION6, 0)
BAD(submission6_4_bytes, POLICY_SET, ERANGE, "binary attribute size out of range");
SCALAR(submission_port_0, u16, SUBMISSION_PORT, 0)
BAD(submission_port_0, POLICY_SET, ERANGE, OUT_OF_RANGE);
SCALAR(submission_tls_port_u8, u8, SUBMISSION_TLS_PORT, 1)
BAD(submission_tls_port_u8, POLICY_SET, EINVAL, BAD_LENGTH);
SCALAR(window_0, u32, WINDOW, 0)
BAD(window_0, POLICY_SET, ERANGE, OUT_OF_RANGE);
SCALAR(window_day_1s, u32, WINDOW, 86401)
BAD(window_day_1s, POLICY_SET, ERANGE, OUT_OF_RANGE);
SCALAR(rate_limit_u16, u16, RATE_LIMIT, 1)
BAD(rate_limit_u16, POLICY_SET, EINVAL, BAD_LENGTH);
SCALAR(flag_tunnel_2, u8, FLAG_TUNNEL, 2)
BAD(flag_tunnel_2, POLICY_SET, ERANGE, OUT_OF_RANGE);
SCALAR(policy_ban_scope_3, u8, BAN_SCOPE, SMTPGATE_SCOPE_MAX + 1)
BAD(policy_ban_scope_3, POLICY_SET, ERANGE, OUT_OF_RANGE);
SCALAR(host_prefix4_7, u8, HOST_PREFIX4, 7)
BAD(host_prefix4_7, POLICY_SET, ERANGE, OUT_OF_RANGE);
SCALAR(host_prefix4_33, u8, HOST_PREFIX4, 33)
BAD(host_prefix4_33, POLICY_SET, ERANGE, OUT_OF_RANGE);
SCALAR(host_prefix6_15, u8, HOST_PREFIX6, 15)
BAD(host_prefix6_15, POLICY_SET, ERANGE, OUT_OF_RANGE);
SCALAR(host_prefix6_129, u8, HOST_PREFIX6, 129)
BAD(host_prefix6_129, POLICY_SET, ERANGE, OUT_OF_RANGE);
SCALAR(max_hosts_15, u32, MAX_HOSTS, 15)
BAD(max_hosts_15, POLICY_SET, ERANGE, OUT_OF_RANGE);
SCALAR(max_hosts_2_24_1, u32, MAX_HOSTS, 16777217)
BAD(max_hosts_2_24_1, POLICY_SET, ERANGE, OUT_OF_RANGE);
SCALAR(max_bans_15, u32, MAX_BANS, 15)
BAD(max_bans_15, POLICY_SET, ERANGE, OUT_OF_RANGE);
SCALAR(max_bans_2_32_1, u32, MAX_BANS, 0xffffffff)
BAD(max_bans_2_32_1, POLICY_SET, ERANGE, OUT_OF_RANGE);
/* The fixture's set made it generation 2: 1 is stale. */
SCALAR(generation_stale, u32, GENERATION, 1)
BAD(generation_stale, POLICY_SET, ESTALE,
    "generation: the policy changed since it was read");
SCALAR(generation_u16, u16, GENERATION, 2)
BAD(generation_u16, POLICY_SET, EINVAL, BAD_LENGTH);
SCALAR(policy_unknown, u32, MAX + 1, 1)
BAD(policy_unknown, POLICY_SET, EINVAL, UNKNOWN);

BUILD(policy_not_nested)
{
	*blame = here(m);
	nla_put_u32(m, SMTPGATE_A_POLICY, 0);
}
BAD(policy_not_nested, POLICY_SET, EINVAL, NO_NESTED_FLAG);

BUILD(policy_get_with_policy)
{
	*blame = here(m);
	end(m, policy_open(m));
}
BAD(policy_get_with_policy, POLICY_GET, EINVAL, UNSUPPORTED);

BUILD(stats_with_flags)
{
	*blame = here(m);
	nla_put_u32(m, SMTPGATE_A_FLAGS, 0);
}
BAD(stats_with_flags, STATS_GET, EINVAL, UNSUPPORTED);

/* Events are sent, never requested. */
BUILD(event_cmd)
{
}
BAD(event_cmd, BAN_ADDED, EOPNOTSUPP, "");

/* ---- the rmmod helper ---------------------------------------------------- */

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	stop = 1;
}

static int ignore_event(const struct sgnl_event *ev, void *arg)
{
	return 0;
}

static int count_ban(const struct sgnl_ban *b, void *arg)
{
	(*(size_t *)arg)++;
	return 0;
}

struct loop_stats {
	unsigned long opens, dumps, exact, intr, errors[2];
};

/* One life of the family: load the bans if missing, then dump until the
 * family goes away or we are told to stop. */
static int dump_family(struct sgnl *h, size_t want, const struct sgnl_ban *v,
		       struct loop_stats *ls)
{
	struct sgnl *e = NULL;
	size_t n = 0;
	int ret;

	/* A listener too, as smtpgated would have one. */
	if (open_events(&e)) {
		sgnl_close(e);
		e = NULL;
	}
	ret = sgnl_ban_list(h, count_ban, &n);
	if (!ret && n < want) {
		ret = sgnl_ban_add_batch(h, v, want, true, NULL);
		printf("# dump-loop: loaded %zu bans: %d\n", want, ret);
		fflush(stdout);
	}
	while (!stop && ret != -ENOENT) {
		n = 0;
		ret = sgnl_ban_list(h, count_ban, &n);
		if (!ret) {
			ls->dumps++;
			ls->exact += n == want;
		} else if (ret == -EINTR) {
			ls->intr++;
		} else if (ret != -ENOENT) {
			printf("# dump-loop: dump: %d %s\n", ret, sgnl_error_msg(h));
			ls->errors[1]++;
			break;
		}
		if (e)
			sgnl_event_recv(e, 0, ignore_event, NULL);
	}
	sgnl_close(e);
	return ret;
}

/*
 * Keeps dumping @want bans in the init netns while the module comes and
 * goes (tests/vm/netlink.sh).  Each time the family (re)appears it prints
 * "# dump-loop: open N"; on SIGTERM a summary.  Exits 1 on any error other
 * than the family being gone.
 */
static int dump_loop(size_t want)
{
	struct sgnl_ban *v = many_bans(want);
	struct loop_stats ls = {};
	struct sgnl *h;
	int ret;

	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	while (!stop && v) {
		ret = sgnl_open(&h);
		if (ret) {
			if (ret != -ENOENT) {
				printf("# dump-loop: open: %s\n",
				       h ? sgnl_error_msg(h) : "");
				ls.errors[0]++;
			}
			sgnl_close(h);
			usleep(20000);
			continue;
		}
		ls.opens++;
		printf("# dump-loop: open %lu\n", ls.opens);
		fflush(stdout);
		ret = dump_family(h, want, v, &ls);
		sgnl_close(h);
		if (ret && ret != -ENOENT && ret != -EINTR)
			break;
	}
	printf("# dump-loop: %lu opens, %lu dumps (%lu exact), %lu interrupted, "
	       "%lu open errors, %lu dump errors\n", ls.opens, ls.dumps,
	       ls.exact, ls.intr, ls.errors[0], ls.errors[1]);
	free(v);
	return !v || ls.errors[0] || ls.errors[1];
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--dump-loop"))
		return dump_loop(strtoul(argv[2], NULL, 0));
	if (argc > 1) {
		fprintf(stderr, "usage: %s [--dump-loop BANS]\n", argv[0]);
		return 2;
	}
	return test_harness_run(argc, argv);
}
