// SPDX-License-Identifier: GPL-2.0
/*
 * sgnlfuzz: a netlink fuzzer for the smtpgate family, in the spirit of
 * syzkaller, for tests/vm/nlfuzz.sh (which makes the traffic and watches
 * the kernel log).
 *
 *   sgnlfuzz [--seed N] [--seconds S] [--threads T] [--no-netns]
 *
 * T threads (3) send, for S seconds (60), random requests of every
 * command: well-formed ones with random values (prefixes of any family
 * and length, scopes, timeouts, batches of up to 3000 bans, policies),
 * the same with a few mutations (a byte, an attribute's length or type,
 * the nesting flag, a truncation, an unknown or oversized attribute, a
 * missing one), random commands and flags, and dumps abandoned after
 * their first part (the socket closed mid-dump).  One more thread forks,
 * over and over, a child that enters a fresh network namespace, fuzzs
 * there for a few dozen requests and exits, so namespaces with smtpgate
 * state die while the others fuzz.
 *
 * Each thread has its own generator, seeded from --seed (printed at the
 * start; random by default): a run with --threads 1 --no-netns sends the
 * same requests again.  Every reply is checked against the uapi: well
 * formed netlink, the request's command, only attributes the command
 * replies with, nests that parse, addresses as long as their family says,
 * prefix lengths within it, strings terminated.
 *
 * At the end: iterations, and replies per command and errno.  Exits 1 on
 * an errno outside the expected classes or a malformed reply (each
 * printed with the thread, iteration and seed), 0 otherwise.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <linux/smtpgate.h>
#include "clock.h"
#include "nlraw.h"

#define NCMD		32	/* counted commands: 0-30, 31 = any other */
#define NERR		136	/* errnos counted one by one; 135 = other */

struct counters {
	atomic_ulong iter;
	atomic_ulong netns;
	atomic_ulong bad;
	atomic_ulong by[NCMD][NERR];
	atomic_ulong mutated, random, abandoned, replies;
};

static struct counters *cnt;	/* shared with the netns children */
static uint64_t seed;
static double deadline;

/* ---- the generator: xorshift64*, one per thread ----------------------- */

struct rng {
	uint64_t s;
	int id;
	unsigned long it;
};

static uint64_t rnd(struct rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545f4914f6cdd1dULL;
}

static uint32_t below(struct rng *r, uint32_t n)
{
	return n ? (uint32_t)(rnd(r) % n) : 0;
}

static bool chance(struct rng *r, unsigned int pct)
{
	return below(r, 100) < pct;
}

/* Edge values first, then anything. */
static uint32_t rnd_u32(struct rng *r)
{
	static const uint32_t edge[] = {
		0, 1, 2, 15, 16, 63, 64, 65, 255, 256, 4096, 65535, 65536,
		86400, 86401, 1048576, 16777216, 16777217, 315360000,
		315360001, 0x7fffffff, 0x80000000, 0xffffffff,
	};

	return chance(r, 60) ? edge[below(r, sizeof(edge) / sizeof(edge[0]))] :
			       (uint32_t)rnd(r);
}

/* ---- requests -------------------------------------------------------- */

static const uint8_t v4_nets[][4] = {
	{ 192, 0, 2, 0 }, { 198, 51, 100, 0 }, { 203, 0, 113, 0 },
};

static void rnd_addr(struct rng *r, uint16_t fam, uint8_t *a)
{
	memset(a, 0, 16);
	if (fam == AF_INET) {
		memcpy(a, v4_nets[below(r, 3)], 4);
		a[3] = (uint8_t)below(r, 256);
		return;
	}
	a[0] = 0x20;
	a[1] = 0x01;
	a[2] = 0x0d;
	a[3] = 0xb8;
	a[5] = (uint8_t)below(r, 4);
	a[7] = (uint8_t)below(r, 8);
	if (chance(r, 50))
		a[15] = (uint8_t)below(r, 256);
	if (chance(r, 20))
		a[9] = (uint8_t)rnd(r);
}

/* A prefix nest body: family, address, length; sometimes wrong. */
static void put_prefix_fields(struct rng *r, struct nlr_msg *m,
			      uint16_t t_fam, uint16_t t_addr, uint16_t t_len,
			      bool with_len)
{
	uint16_t fam = chance(r, 50) ? AF_INET : AF_INET6;
	unsigned int bits = fam == AF_INET ? 32 : 128;
	uint8_t a[16];
	unsigned int len = bits, i;

	if (chance(r, 3))
		fam = (uint16_t)below(r, 50);
	rnd_addr(r, fam, a);
	if (with_len && chance(r, 70)) {
		len = chance(r, 90) ? below(r, bits + 1) : below(r, 256);
		/* Mostly clear the host bits, so most adds are valid. */
		if (chance(r, 90) && len <= bits)
			for (i = len; i < bits; i++)
				a[i / 8] &= ~(0x80 >> (i % 8));
	}
	if (!chance(r, 3))
		nlr_put_u16(m, t_fam, fam);
	if (!chance(r, 3))
		nlr_put(m, t_addr, a, chance(r, 5) ? below(r, 17) :
			(fam == AF_INET ? 4 : 16));
	if (with_len && len != bits)
		nlr_put_u8(m, t_len, (uint8_t)len);
}

static void put_ban(struct rng *r, struct nlr_msg *m, bool add)
{
	size_t nest = nlr_nest_start(m, SMTPGATE_A_BAN);
	char reason[80];
	unsigned int n;

	put_prefix_fields(r, m, SMTPGATE_A_BAN_FAMILY, SMTPGATE_A_BAN_ADDR,
			  SMTPGATE_A_BAN_PREFIX_LEN, true);
	if (add) {
		if (chance(r, 50))
			nlr_put_u8(m, SMTPGATE_A_BAN_SCOPE,
				   (uint8_t)(chance(r, 95) ? 1 + below(r, 2) :
					     below(r, 256)));
		if (chance(r, 50))
			nlr_put_u32(m, SMTPGATE_A_BAN_TIMEOUT,
				    chance(r, 80) ? 1 + below(r, 5) : rnd_u32(r));
		if (chance(r, 40)) {
			n = below(r, 70);
			memset(reason, 'a' + below(r, 26), n);
			reason[n] = 0;
			nlr_put(m, SMTPGATE_A_BAN_REASON, reason,
				chance(r, 90) ? n + 1 : n);
		}
	}
	nlr_nest_end(m, nest);
}

static void put_host(struct rng *r, struct nlr_msg *m, bool flag)
{
	size_t nest = nlr_nest_start(m, SMTPGATE_A_HOST);

	put_prefix_fields(r, m, SMTPGATE_A_HOST_FAMILY, SMTPGATE_A_HOST_ADDR,
			  SMTPGATE_A_HOST_PREFIX_LEN, false);
	if (flag && !chance(r, 5))
		nlr_put_u32(m, SMTPGATE_A_HOST_REASONS,
			    chance(r, 90) ? SMTPGATE_REASON_DIALOGUE :
					    rnd_u32(r));
	nlr_nest_end(m, nest);
}

static void put_list(struct rng *r, struct nlr_msg *m, uint16_t type)
{
	size_t nest = nlr_nest_start(m, type), p;
	unsigned int n = chance(r, 90) ? below(r, 5) : below(r, 40), i;

	for (i = 0; i < n; i++) {
		p = nlr_nest_start(m, SMTPGATE_A_PREFIX_ENTRY);
		put_prefix_fields(r, m, SMTPGATE_A_PREFIX_FAMILY,
				  SMTPGATE_A_PREFIX_ADDR, SMTPGATE_A_PREFIX_LEN,
				  true);
		nlr_nest_end(m, p);
	}
	nlr_nest_end(m, nest);
}

static void put_policy(struct rng *r, struct nlr_msg *m)
{
	size_t nest = nlr_nest_start(m, SMTPGATE_A_POLICY), p;
	uint8_t a[16];
	unsigned int i, n;

	if (chance(r, 85))
		put_list(r, m, SMTPGATE_A_POLICY_INTERNAL);
	if (chance(r, 40))
		put_list(r, m, SMTPGATE_A_POLICY_EXEMPT);
	if (chance(r, 30))
		put_list(r, m, SMTPGATE_A_POLICY_WALLED_GARDEN);
	if (chance(r, 60))
		nlr_put_u8(m, SMTPGATE_A_POLICY_ACTION, (uint8_t)below(r, 7));
	if (chance(r, 30))
		nlr_put_u8(m, SMTPGATE_A_POLICY_TUNNEL_ACTION,
			   (uint8_t)below(r, 7));
	if (chance(r, 30)) {
		rnd_addr(r, AF_INET, a);
		nlr_put(m, SMTPGATE_A_POLICY_SUBMISSION4, a, 4);
	}
	if (chance(r, 30)) {
		rnd_addr(r, AF_INET6, a);
		nlr_put(m, SMTPGATE_A_POLICY_SUBMISSION6, a, 16);
	}
	if (chance(r, 20))
		nlr_put_u16(m, SMTPGATE_A_POLICY_SUBMISSION_PORT,
			    (uint16_t)rnd_u32(r));
	if (chance(r, 20))
		nlr_put_u16(m, SMTPGATE_A_POLICY_SUBMISSION_TLS_PORT,
			    (uint16_t)rnd_u32(r));
	if (chance(r, 30)) {
		p = nlr_nest_start(m, SMTPGATE_A_POLICY_PORTS);
		n = chance(r, 90) ? 1 + below(r, 4) : below(r, 40);
		for (i = 0; i < n; i++)
			nlr_put_u16(m, SMTPGATE_A_PORT, chance(r, 50) ? 25 :
				    (uint16_t)rnd_u32(r));
		nlr_nest_end(m, p);
	}
	for (i = SMTPGATE_A_POLICY_WINDOW; i <= SMTPGATE_A_POLICY_DEST_LIMIT; i++)
		if (chance(r, 20))
			nlr_put_u32(m, i, chance(r, 70) ? 1 + below(r, 300) :
				    rnd_u32(r));
	if (chance(r, 20))
		nlr_put_u8(m, SMTPGATE_A_POLICY_FLAG_TUNNEL, (uint8_t)below(r, 3));
	if (chance(r, 20))
		nlr_put_u8(m, SMTPGATE_A_POLICY_BAN_SCOPE, (uint8_t)below(r, 4));
	if (chance(r, 25))
		nlr_put_u8(m, SMTPGATE_A_POLICY_HOST_PREFIX4,
			   (uint8_t)(chance(r, 85) ? 8 + below(r, 25) :
				     below(r, 256)));
	if (chance(r, 25))
		nlr_put_u8(m, SMTPGATE_A_POLICY_HOST_PREFIX6,
			   (uint8_t)(chance(r, 85) ? 16 + below(r, 113) :
				     below(r, 256)));
	if (chance(r, 30))
		nlr_put_u32(m, SMTPGATE_A_POLICY_MAX_HOSTS,
			    chance(r, 70) ? 16 + below(r, 512) : rnd_u32(r));
	if (chance(r, 30))
		nlr_put_u32(m, SMTPGATE_A_POLICY_MAX_BANS,
			    chance(r, 70) ? 16 + below(r, 4096) : rnd_u32(r));
	if (chance(r, 10))
		nlr_put_u32(m, SMTPGATE_A_POLICY_GENERATION, rnd_u32(r));
	if (chance(r, 15))
		nlr_put_u16(m, SMTPGATE_A_POLICY_INSPECT_QUEUE,
			    (uint16_t)below(r, 8));
	if (chance(r, 15))
		nlr_put_u32(m, SMTPGATE_A_POLICY_INSPECT_BYTES,
			    chance(r, 70) ? 64 + below(r, 8192) : rnd_u32(r));
	if (chance(r, 15))
		nlr_put_u16(m, SMTPGATE_A_POLICY_TRAP_PORT,
			    chance(r, 80) ? 2525 : (uint16_t)rnd_u32(r));
	nlr_nest_end(m, nest);
}

/* The command's own attributes, as a client would send them (mostly). */
static void build_valid(struct rng *r, struct nlr_msg *m, uint8_t cmd)
{
	unsigned int n, i;
	size_t nest;

	switch (cmd) {
	case SMTPGATE_CMD_POLICY_SET:
		if (chance(r, 95))
			put_policy(r, m);
		break;
	case SMTPGATE_CMD_HOST_GET:
		if (chance(r, 50))
			put_host(r, m, false);
		else if (chance(r, 50))
			nlr_put_u32(m, SMTPGATE_A_FLAGS,
				    chance(r, 90) ? SMTPGATE_F_FLAGGED_ONLY :
						    rnd_u32(r));
		break;
	case SMTPGATE_CMD_HOST_FORGET:
		if (chance(r, 80))
			put_host(r, m, false);
		break;
	case SMTPGATE_CMD_HOST_FLAG:
		put_host(r, m, true);
		break;
	case SMTPGATE_CMD_BAN_ADD:
		if (chance(r, 50)) {
			put_ban(r, m, true);
		} else {
			n = chance(r, 80) ? below(r, 50) : below(r, 3000);
			nest = nlr_nest_start(m, SMTPGATE_A_BANS);
			for (i = 0; i < n && !m->overflow; i++)
				put_ban(r, m, true);
			nlr_nest_end(m, nest);
		}
		if (chance(r, 40))
			nlr_put_u32(m, SMTPGATE_A_FLAGS,
				    chance(r, 90) ? SMTPGATE_F_QUIET : rnd_u32(r));
		break;
	case SMTPGATE_CMD_BAN_DEL:
	case SMTPGATE_CMD_BAN_GET:
		put_ban(r, m, false);
		break;
	default:
		break;
	}
}

/* A few mutations of the attributes built so far. */
static void mutate(struct rng *r, struct nlr_msg *m)
{
	size_t base = NLMSG_HDRLEN + GENL_HDRLEN, off;
	unsigned int k = 1 + below(r, 4);
	struct nlattr *a;
	uint8_t junk[512];

	while (k--) {
		switch (below(r, 8)) {
		case 0:	/* a random byte anywhere past the headers */
			if (m->len > base)
				m->buf[base + below(r, m->len - base)] =
					(uint8_t)rnd(r);
			break;
		case 1:	/* an attribute's length */
		case 2:	/* an attribute's type or nesting flag */
			off = base;
			a = NULL;
			/* The n-th attribute header at the top level. */
			for (unsigned int n = below(r, 4);
			     off + NLA_HDRLEN <= m->len; n--) {
				a = (struct nlattr *)(m->buf + off);
				if (!n || a->nla_len < NLA_HDRLEN)
					break;
				/* Sometimes descend into it. */
				if ((a->nla_type & NLA_F_NESTED) && chance(r, 50))
					off += NLA_HDRLEN;
				else
					off += NLA_ALIGN(a->nla_len);
			}
			if (!a || off + NLA_HDRLEN > m->len)
				break;
			if (k & 1 || chance(r, 50))
				a->nla_len = chance(r, 50) ?
					(uint16_t)(a->nla_len + below(r, 9) - 4) :
					(uint16_t)rnd(r);
			else
				a->nla_type = chance(r, 50) ?
					a->nla_type ^ NLA_F_NESTED :
					(uint16_t)below(r, 40);
			break;
		case 3:	/* truncated */
			if (m->len > base)
				m->len = base + below(r, m->len - base);
			break;
		case 4:	/* an unknown attribute */
			nlr_put_u32(m, (uint16_t)(SMTPGATE_A_MAX + 1 + below(r, 100)),
				    rnd_u32(r));
			break;
		case 5:	/* a known one, oversized, maybe marked nested */
			memset(junk, (int)below(r, 256), sizeof(junk));
			nlr_put(m, (uint16_t)((1 + below(r, SMTPGATE_A_MAX)) |
				    (chance(r, 50) ? NLA_F_NESTED : 0)),
				junk, below(r, sizeof(junk)));
			break;
		case 6:	/* a deep nest */
			for (unsigned int d = below(r, 40); d; d--)
				nlr_put_raw(m, (uint16_t)(below(r, 8) | NLA_F_NESTED),
					    (uint16_t)(NLA_HDRLEN * d), NULL, 0);
			break;
		case 7:	/* an empty nest of a known attribute */
			nlr_put_raw(m, (uint16_t)((1 + below(r, SMTPGATE_A_MAX)) |
				    NLA_F_NESTED), NLA_HDRLEN, NULL, 0);
			break;
		}
	}
}

/* ---- reply checks ---------------------------------------------------- */

struct check {
	struct rng *r;
	uint8_t cmd;
	const char *why;	/* set on the first violation */
	unsigned int replies;
	int depth;
};

#define for_attr(a, start, len)						\
	for (a = (const struct nlattr *)(start);				\
	     (len) >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN &&		\
	     a->nla_len <= (len);						\
	     (len) -= NLA_ALIGN(a->nla_len),				\
	     a = (const struct nlattr *)((const char *)a + NLA_ALIGN(a->nla_len)))

static const void *adata(const struct nlattr *a)
{
	return (const char *)a + NLA_HDRLEN;
}

static int alen(const struct nlattr *a)
{
	return a->nla_len - NLA_HDRLEN;
}

/* Attributes inside @nest all well formed (the last may lack padding). */
static bool well_formed(const struct nlattr *nest)
{
	const struct nlattr *a;
	int len = alen(nest);

	for_attr(a, adata(nest), len)
		;
	return len < NLA_HDRLEN;
}

/* A prefix-like nest: family, address of its length, length within. */
static const char *check_prefix(const struct nlattr *nest, uint16_t t_fam,
				uint16_t t_addr, uint16_t t_len, uint16_t max,
				const uint8_t *sizes)
{
	const struct nlattr *a;
	int len = alen(nest), fam = -1, addr = -1, plen = -1;

	if (!well_formed(nest))
		return "malformed nest";
	for_attr(a, adata(nest), len) {
		uint16_t t = a->nla_type & NLA_TYPE_MASK;

		if (!t || t > max)
			return "unknown attribute in a nest";
		if (sizes[t] && alen(a) != sizes[t] && t != t_addr)
			return "attribute of the wrong size";
		if (t == t_fam)
			fam = *(const uint16_t *)adata(a);
		else if (t == t_addr)
			addr = alen(a);
		else if (t == t_len)
			plen = *(const uint8_t *)adata(a);
	}
	if (fam != AF_INET && fam != AF_INET6)
		return "no or bad family";
	if (addr != (fam == AF_INET ? 4 : 16))
		return "address length not the family's";
	if (plen > (fam == AF_INET ? 32 : 128))
		return "prefix length past the family's";
	return NULL;
}

static const uint8_t ban_sizes[SMTPGATE_A_BAN_MAX + 1] = {
	[SMTPGATE_A_BAN_FAMILY] = 2, [SMTPGATE_A_BAN_PREFIX_LEN] = 1,
	[SMTPGATE_A_BAN_SCOPE] = 1, [SMTPGATE_A_BAN_TIMEOUT] = 4,
	[SMTPGATE_A_BAN_CREATED] = 8, [SMTPGATE_A_BAN_DROPS] = 8,
};

static const uint8_t host_sizes[SMTPGATE_A_HOST_MAX + 1] = {
	[SMTPGATE_A_HOST_FAMILY] = 2, [SMTPGATE_A_HOST_PREFIX_LEN] = 1,
	[SMTPGATE_A_HOST_FIRST_SEEN] = 8, [SMTPGATE_A_HOST_LAST_SEEN] = 8,
	[SMTPGATE_A_HOST_BLOCKED] = 4, [SMTPGATE_A_HOST_REDIRECTED] = 4,
	[SMTPGATE_A_HOST_LOGGED] = 4, [SMTPGATE_A_HOST_RATE] = 4,
	[SMTPGATE_A_HOST_BLOCKED_RATE] = 4, [SMTPGATE_A_HOST_DESTINATIONS] = 4,
	[SMTPGATE_A_HOST_FLAGS] = 4, [SMTPGATE_A_HOST_REASONS] = 4,
	[SMTPGATE_A_HOST_FLAGGED_AT] = 8,
};

static const char *check_ban(const struct nlattr *nest)
{
	const struct nlattr *a;
	int len = alen(nest);
	const char *why = check_prefix(nest, SMTPGATE_A_BAN_FAMILY,
				       SMTPGATE_A_BAN_ADDR,
				       SMTPGATE_A_BAN_PREFIX_LEN,
				       SMTPGATE_A_BAN_PAD, ban_sizes);

	if (why)
		return why;
	for_attr(a, adata(nest), len) {
		uint16_t t = a->nla_type & NLA_TYPE_MASK;

		if (t == SMTPGATE_A_BAN_REASON &&
		    (alen(a) < 1 || alen(a) > SMTPGATE_BAN_REASON_LEN ||
		     memchr(adata(a), 0, alen(a)) == NULL))
			return "ban reason not a terminated string of <= 64";
		if (t == SMTPGATE_A_BAN_SCOPE &&
		    (*(const uint8_t *)adata(a) < SMTPGATE_SCOPE_SMTP ||
		     *(const uint8_t *)adata(a) > SMTPGATE_SCOPE_MAX))
			return "ban scope out of range";
	}
	return NULL;
}

static const char *check_host(const struct nlattr *nest)
{
	const char *why = check_prefix(nest, SMTPGATE_A_HOST_FAMILY,
				       SMTPGATE_A_HOST_ADDR,
				       SMTPGATE_A_HOST_PREFIX_LEN,
				       SMTPGATE_A_HOST_PAD, host_sizes);
	const struct nlattr *a;
	int len = alen(nest);

	if (why)
		return why;
	for_attr(a, adata(nest), len)
		if ((a->nla_type & NLA_TYPE_MASK) == SMTPGATE_A_HOST_ATTEMPTS &&
		    !well_formed(a))
			return "host attempts nest malformed";
	return NULL;
}

static const char *check_list(const struct nlattr *nest)
{
	static const uint8_t sizes[SMTPGATE_A_PREFIX_MAX + 1] = {
		[SMTPGATE_A_PREFIX_FAMILY] = 2, [SMTPGATE_A_PREFIX_LEN] = 1,
	};
	const struct nlattr *a;
	int len = alen(nest), n = 0;
	const char *why;

	if (!well_formed(nest))
		return "malformed prefix list";
	for_attr(a, adata(nest), len) {
		why = check_prefix(a, SMTPGATE_A_PREFIX_FAMILY,
				   SMTPGATE_A_PREFIX_ADDR, SMTPGATE_A_PREFIX_LEN,
				   SMTPGATE_A_PREFIX_MAX, sizes);
		if (why)
			return why;
		if (++n > SMTPGATE_MAX_PREFIXES)
			return "prefix list longer than 32";
	}
	return NULL;
}

static const char *check_policy(const struct nlattr *nest)
{
	const struct nlattr *a;
	int len = alen(nest);
	const char *why;

	if (!well_formed(nest))
		return "malformed policy";
	for_attr(a, adata(nest), len) {
		uint16_t t = a->nla_type & NLA_TYPE_MASK;

		if (!t || t > SMTPGATE_A_POLICY_MAX)
			return "unknown policy attribute";
		if (t <= SMTPGATE_A_POLICY_WALLED_GARDEN) {
			why = check_list(a);
			if (why)
				return why;
		}
		if (t == SMTPGATE_A_POLICY_PORTS && !well_formed(a))
			return "malformed ports";
		if (t == SMTPGATE_A_POLICY_SUBMISSION4 && alen(a) != 4)
			return "submission4 not 4 bytes";
		if (t == SMTPGATE_A_POLICY_SUBMISSION6 && alen(a) != 16)
			return "submission6 not 16 bytes";
	}
	return NULL;
}

static int on_reply(const struct nlmsghdr *nlh, void *arg)
{
	struct check *c = arg;
	const struct genlmsghdr *g = NLMSG_DATA(nlh);
	const struct nlattr *a;
	int len = (int)nlh->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN;
	const char *why = NULL;
	bool ban = false, host = false, policy = false, stats = false;

	c->replies++;
	atomic_fetch_add(&cnt->replies, 1);
	if (len < 0) {
		c->why = "reply shorter than the genl header";
		return 0;
	}
	if (g->cmd != c->cmd)
		why = "reply of another command";
	switch (c->cmd) {
	case SMTPGATE_CMD_POLICY_GET:
	case SMTPGATE_CMD_POLICY_SET:
		policy = true;
		break;
	case SMTPGATE_CMD_HOST_GET:
		host = true;
		break;
	case SMTPGATE_CMD_BAN_GET:
		ban = true;
		break;
	case SMTPGATE_CMD_STATS_GET:
		stats = true;
		break;
	default:
		why = "a reply to a command that has none";
	}
	for_attr(a, (const char *)g + GENL_HDRLEN, len) {
		uint16_t t = a->nla_type & NLA_TYPE_MASK;

		if (why)
			break;
		if (t == SMTPGATE_A_BAN && ban)
			why = check_ban(a);
		else if (t == SMTPGATE_A_HOST && (host || ban))
			why = check_host(a);
		else if (t == SMTPGATE_A_POLICY && policy)
			why = check_policy(a);
		else if (t == SMTPGATE_A_STATS && stats)
			why = well_formed(a) ? NULL : "malformed stats";
		else
			why = "an attribute the command does not reply with";
	}
	if (!why && len >= NLA_HDRLEN)
		why = "trailing bytes after the attributes";
	if (why && !c->why)
		c->why = why;
	return 0;
}

/* ---- the loop -------------------------------------------------------- */

static bool expected_errno(int e)
{
	switch (e) {
	case 0: case EINVAL: case ERANGE: case E2BIG: case ENOENT:
	case ENOSPC: case EOPNOTSUPP: case EMSGSIZE: case EBUSY:
	case ENOMEM: case EEXIST:
	/* A policy set whose generation is not the current one. */
	case ESTALE:
		return true;
	}
	return false;
}

static void count(uint8_t cmd, int err)
{
	int e = -err;

	atomic_fetch_add(&cnt->by[cmd <= SMTPGATE_CMD_MAX ? cmd : NCMD - 1]
				 [e >= 0 && e < NERR - 1 ? e : NERR - 1], 1);
}

static const uint8_t cmds[] = {
	SMTPGATE_CMD_POLICY_SET, SMTPGATE_CMD_POLICY_GET,
	SMTPGATE_CMD_HOST_GET, SMTPGATE_CMD_HOST_FORGET,
	SMTPGATE_CMD_HOST_FLAG, SMTPGATE_CMD_BAN_ADD, SMTPGATE_CMD_BAN_DEL,
	SMTPGATE_CMD_BAN_GET, SMTPGATE_CMD_BAN_FLUSH, SMTPGATE_CMD_STATS_GET,
};

/* One request and its replies; false on a finding. */
static bool one(struct rng *r, struct nlr *s, unsigned char *req,
		unsigned char *rx)
{
	struct check c = { .r = r };
	struct nlr_msg m;
	uint16_t flags = NLM_F_ACK;
	bool dump = false, abandon = false;
	int64_t seq;
	int err;

	c.cmd = cmds[below(r, sizeof(cmds))];
	if (chance(r, 3)) {
		c.cmd = (uint8_t)below(r, 40);	/* events, unknown */
		atomic_fetch_add(&cnt->random, 1);
	}
	if ((c.cmd == SMTPGATE_CMD_BAN_GET || c.cmd == SMTPGATE_CMD_HOST_GET) &&
	    chance(r, 50)) {
		dump = true;
		flags = NLM_F_DUMP;
		abandon = chance(r, 20);
	} else if (chance(r, 3)) {
		flags |= NLM_F_DUMP;
	}
	nlr_msg_init(&m, req, NLR_BUF, s->family, flags, c.cmd,
		     chance(r, 97) ? SMTPGATE_GENL_VERSION : (uint8_t)rnd(r));
	build_valid(r, &m, c.cmd);
	if (chance(r, 25)) {
		mutate(r, &m);
		atomic_fetch_add(&cnt->mutated, 1);
	}
	seq = nlr_send(s, &m);
	if (seq < 0) {
		err = (int)seq;
	} else if (abandon) {
		/* The first part, then the socket goes away mid-dump. */
		recv(s->fd, rx, NLR_BUF, 0);
		nlr_close(s);
		nlr_open(s);
		err = nlr_resolve(s, SMTPGATE_GENL_NAME);
		atomic_fetch_add(&cnt->abandoned, 1);
		if (err) {
			fprintf(stderr, "sgnlfuzz: family gone: %d\n", err);
			return false;
		}
		count(c.cmd, 0);
		return true;
	} else {
		err = nlr_recv(s, (uint32_t)seq, on_reply, &c, rx, NLR_BUF);
	}
	count(c.cmd, err);
	/* A dump may legitimately answer nothing; a doit get must answer. */
	if (!err && !dump && !c.why && !(flags & NLM_F_DUMP) && !c.replies &&
	    (c.cmd == SMTPGATE_CMD_POLICY_GET || c.cmd == SMTPGATE_CMD_STATS_GET ||
	     c.cmd == SMTPGATE_CMD_HOST_GET || c.cmd == SMTPGATE_CMD_BAN_GET))
		c.why = "a get that succeeded without a reply";
	if (expected_errno(-err) && !c.why)
		return true;
	fprintf(stderr, "sgnlfuzz: thread %d iteration %lu (seed %llu) cmd %u%s: %s\n",
		r->id, r->it, (unsigned long long)seed, c.cmd,
		dump ? " dump" : "", c.why ? c.why : strerror(-err));
	return false;
}

static void fuzz(struct rng *r, unsigned long max)
{
	unsigned char *req = malloc(NLR_BUF), *rx = malloc(NLR_BUF);
	struct nlr s;

	if (!req || !rx || nlr_open(&s) || nlr_resolve(&s, SMTPGATE_GENL_NAME)) {
		fprintf(stderr, "sgnlfuzz: thread %d: no smtpgate family\n",
			r->id);
		atomic_fetch_add(&cnt->bad, 1);
		return;
	}
	for (r->it = 0; r->it < max && mono_seconds() < deadline; r->it++) {
		atomic_fetch_add(&cnt->iter, 1);
		if (!one(r, &s, req, rx))
			atomic_fetch_add(&cnt->bad, 1);
	}
	nlr_close(&s);
	free(req);
	free(rx);
}

static void *worker(void *arg)
{
	fuzz(arg, ~0UL);
	return NULL;
}

/* Children in fresh namespaces, a few dozen requests each, one by one. */
static void *netns_worker(void *arg)
{
	struct rng *r = arg;

	while (mono_seconds() < deadline) {
		uint64_t child_seed = rnd(r);
		pid_t pid = fork();
		int status;

		if (pid < 0)
			break;
		if (!pid) {
			struct rng cr = { .s = child_seed | 1, .id = r->id };

			if (unshare(CLONE_NEWNET)) {
				perror("sgnlfuzz: unshare");
				_exit(1);
			}
			fuzz(&cr, 20 + below(&cr, 60));
			_exit(0);
		}
		waitpid(pid, &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			fprintf(stderr, "sgnlfuzz: netns child: status %#x\n",
				status);
			atomic_fetch_add(&cnt->bad, 1);
		}
		atomic_fetch_add(&cnt->netns, 1);
	}
	return NULL;
}

static const char *cmd_name(unsigned int c)
{
	static const char *const names[] = {
		"unspec", "policy_set", "policy_get", "host_get",
		"host_forget", "ban_add", "ban_del", "ban_get", "ban_flush",
		"stats_get", "host_flagged", "ban_added", "ban_expired",
		"ban_removed", "host_flag",
	};

	return c < sizeof(names) / sizeof(names[0]) ? names[c] :
	       c == NCMD - 1 ? "other" : "unknown";
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "seconds", required_argument, NULL, 't' },
		{ "threads", required_argument, NULL, 'j' },
		{ "no-netns", no_argument, NULL, 'N' },
		{}
	};
	unsigned int threads = 3, seconds = 60, i, c, e;
	bool netns = true;
	pthread_t tid[65];
	struct rng rngs[65];
	double t0;
	int o;

	seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 's':
			seed = strtoull(optarg, NULL, 0);
			break;
		case 't':
			seconds = (unsigned int)atoi(optarg);
			break;
		case 'j':
			threads = (unsigned int)atoi(optarg);
			break;
		case 'N':
			netns = false;
			break;
		default:
			fprintf(stderr, "Usage: sgnlfuzz [--seed N] [--seconds S] [--threads T] [--no-netns]\n");
			return 2;
		}
	}
	if (!threads || threads > 64)
		threads = 3;
	cnt = mmap(NULL, sizeof(*cnt), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (cnt == MAP_FAILED)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	printf("sgnlfuzz: seed %llu, %u threads%s, %u s\n",
	       (unsigned long long)seed, threads, netns ? " + netns" : "",
	       seconds);
	fflush(stdout);
	t0 = mono_seconds();
	deadline = t0 + seconds;
	for (i = 0; i <= threads; i++) {
		rngs[i].s = (seed + 0x9e3779b97f4a7c15ULL * (i + 1)) | 1;
		rngs[i].id = (int)i;
	}
	for (i = 0; i < threads; i++)
		pthread_create(&tid[i], NULL, worker, &rngs[i]);
	if (netns)
		pthread_create(&tid[threads], NULL, netns_worker, &rngs[threads]);
	for (i = 0; i < threads + netns; i++)
		pthread_join(tid[i], NULL);

	printf("sgnlfuzz: %lu requests in %.1f s (%.0f/s), %lu mutated, %lu random commands, %lu dumps abandoned, %lu replies checked, %lu namespaces\n",
	       atomic_load(&cnt->iter), mono_seconds() - t0,
	       atomic_load(&cnt->iter) / (mono_seconds() - t0),
	       atomic_load(&cnt->mutated), atomic_load(&cnt->random),
	       atomic_load(&cnt->abandoned), atomic_load(&cnt->replies),
	       atomic_load(&cnt->netns));
	for (c = 0; c < NCMD; c++) {
		unsigned long tot = 0;

		for (e = 0; e < NERR; e++)
			tot += atomic_load(&cnt->by[c][e]);
		if (!tot)
			continue;
		printf("  %-12s %8lu:", cmd_name(c), tot);
		for (e = 0; e < NERR; e++) {
			unsigned long n = atomic_load(&cnt->by[c][e]);

			if (!n)
				continue;
			if (!e)
				printf(" ok %lu", n);
			else if (e == NERR - 1)
				printf(" other %lu", n);
			else
				printf(" %s %lu", strerrorname_np(e) ?: "?", n);
		}
		printf("\n");
	}
	if (atomic_load(&cnt->bad)) {
		printf("sgnlfuzz: %lu findings (seed %llu)\n",
		       atomic_load(&cnt->bad), (unsigned long long)seed);
		return 1;
	}
	return 0;
}
