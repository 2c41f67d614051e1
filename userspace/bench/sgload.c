// SPDX-License-Identifier: GPL-2.0
/*
 * sgload: the control side of the forwarding benchmark
 * (tests/bench/forward.sh), through the sgnl library, in the caller's
 * network namespace.
 *
 *   sgload policy INTERNAL EXEMPT [KEY=N]...
 *	a default policy policing INTERNAL, with EXEMPT the mail server;
 *	KEYs: max_hosts blocked_limit rate_limit dest_limit max_bans
 *   sgload bans BASE COUNT [smtp|all]
 *	COUNT full-length bans BASE, BASE+1, ... (added to the low 32 bits)
 *	in one sgnl_ban_add_batch() call, timed: "bans=N seconds=S"
 *   sgload badbatch BASE COUNT ROUNDS
 *	ROUNDS times, one batch of COUNT bans BASE, BASE+1, ... that names
 *	BASE once more at its end, so the kernel must refuse it whole
 *	(-EEXIST); for tests.  Exits 1 if the kernel takes one.
 *   sgload race BASE COUNT DELAY
 *	one batch message of COUNT bans BASE, BASE+1, ... (at most 1000, so
 *	one message) from a thread, and DELAY seconds after it started the
 *	namespace's own policy set again from this one: a POLICY_SET landing
 *	inside a BAN_ADD, for tests/vm/bans.sh.  Prints "add=S policy_at=S"
 *   sgload trickle BASE SECONDS
 *	for SECONDS, bans BASE, BASE+1, ... one request each, as fast as the
 *	kernel takes them, quiet (no events): "adds=N seconds=S"; for tests
 *	of work that adds must not postpone
 *   sgload addrs BASE COUNT FORMAT
 *	prints the same addresses for other tools: FORMAT "plain", "ipset:SET"
 *	(ipset restore lines) or "nft:TABLESPEC:SET" (nft -f lines of 1000
 *	elements, TABLESPEC like "inet t")
 *   sgload flush
 *	removes every ban
 *   sgload stats
 *	key=value lines: table sizes, entry sizes, packets per verdict
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "clock.h"
#include "sgnl.h"

static int usage(void)
{
	fprintf(stderr,
		"Usage: sgload policy INTERNAL EXEMPT [KEY=N]...\n"
		"       sgload bans BASE COUNT [smtp|all]\n"
		"       sgload badbatch BASE COUNT ROUNDS\n"
		"       sgload race BASE COUNT DELAY\n"
		"       sgload trickle BASE SECONDS\n"
		"       sgload addrs BASE COUNT plain|ipset:SET|nft:TABLESPEC:SET\n"
		"       sgload flush\n"
		"       sgload stats\n");
	return 2;
}

static int open_handle(struct sgnl **h)
{
	int ret = sgnl_open(h);

	if (ret < 0)
		fprintf(stderr, "sgload: cannot open netlink: %s\n",
			strerror(-ret));
	return ret;
}

static int fail(struct sgnl *h, const char *what)
{
	fprintf(stderr, "sgload: %s: %s\n", what, sgnl_error_msg(h));
	sgnl_close(h);
	return 1;
}

static int parse_addr(const char *text, struct sg_prefix *p)
{
	char err[SG_PARSE_ERRLEN];

	if (sg_addr_parse(text, p, err, sizeof(err)) < 0) {
		fprintf(stderr, "sgload: %s\n", err);
		return -1;
	}
	return 0;
}

/* @base plus @i in the low 32 bits of the address. */
static void nth_addr(const struct sg_prefix *base, unsigned long i,
		     struct sg_prefix *a)
{
	unsigned int off = base->family == AF_INET6 ? 12 : 0;
	uint32_t low;

	*a = *base;
	memcpy(&low, a->addr.bytes + off, 4);
	low = htonl(ntohl(low) + i);
	memcpy(a->addr.bytes + off, &low, 4);
}

static int cmd_policy(int argc, char **argv)
{
	struct sgnl_policy pol;
	struct sg_prefix p;
	struct sgnl *h;
	char err[SG_PARSE_ERRLEN];
	int i;

	if (argc < 2)
		return usage();
	sgnl_policy_defaults(&pol);
	for (i = 0; i < 2; i++) {
		if (sg_prefix_parse(argv[i], &p, err, sizeof(err)) < 0) {
			fprintf(stderr, "sgload: %s\n", err);
			return 1;
		}
		if (i == 0)
			pol.internal.v[pol.internal.n++] = p;
		else
			pol.exempt.v[pol.exempt.n++] = p;
	}
	pol.has |= SGNL_POLICY_HAS(SMTPGATE_A_POLICY_INTERNAL) |
		   SGNL_POLICY_HAS(SMTPGATE_A_POLICY_EXEMPT);
	for (i = 2; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		unsigned long v;

		if (!eq)
			return usage();
		*eq = 0;
		v = strtoul(eq + 1, NULL, 10);
		if (!strcmp(argv[i], "max_hosts"))
			pol.max_hosts = v;
		else if (!strcmp(argv[i], "max_bans"))
			pol.max_bans = v;
		else if (!strcmp(argv[i], "blocked_limit"))
			pol.blocked_limit = v;
		else if (!strcmp(argv[i], "rate_limit"))
			pol.rate_limit = v;
		else if (!strcmp(argv[i], "dest_limit"))
			pol.dest_limit = v;
		else
			return usage();
	}
	if (open_handle(&h) < 0)
		return 1;
	if (sgnl_policy_set(h, &pol) < 0)
		return fail(h, "cannot set the policy");
	sgnl_close(h);
	return 0;
}

static int cmd_bans(int argc, char **argv)
{
	struct sgnl_ban *bans;
	struct sg_prefix base;
	unsigned long n, i;
	size_t added = 0;
	struct sgnl *h;
	uint8_t scope = SMTPGATE_SCOPE_ALL;
	double t;

	if (argc < 2 || parse_addr(argv[0], &base) < 0)
		return usage();
	n = strtoul(argv[1], NULL, 10);
	if (argc > 2) {
		int s = sgnl_scope_parse(argv[2]);

		if (s < 0)
			return usage();
		scope = s;
	}
	bans = calloc(n ? n : 1, sizeof(*bans));
	if (!bans) {
		perror("sgload");
		return 1;
	}
	for (i = 0; i < n; i++) {
		nth_addr(&base, i, &bans[i].prefix);
		bans[i].scope = scope;
	}
	if (open_handle(&h) < 0)
		return 1;
	t = mono_seconds();
	if (sgnl_ban_add_batch(h, bans, n, true, &added) < 0)
		return fail(h, "cannot add the bans");
	t = mono_seconds() - t;
	printf("bans=%zu seconds=%.6f\n", added, t);
	sgnl_close(h);
	free(bans);
	return 0;
}

static int cmd_badbatch(int argc, char **argv)
{
	unsigned long n, rounds, i;
	struct sgnl_ban *bans;
	struct sg_prefix base;
	struct sgnl *h;
	int ret = 0;

	if (argc != 3 || parse_addr(argv[0], &base) < 0)
		return usage();
	n = strtoul(argv[1], NULL, 10);
	rounds = strtoul(argv[2], NULL, 10);
	if (!n || n > 1000)
		return usage();
	bans = calloc(n + 1, sizeof(*bans));
	if (!bans) {
		perror("sgload");
		return 1;
	}
	for (i = 0; i < n; i++) {
		nth_addr(&base, i, &bans[i].prefix);
		bans[i].scope = SMTPGATE_SCOPE_ALL;
	}
	bans[n] = bans[0];
	if (open_handle(&h) < 0) {
		free(bans);
		return 1;
	}
	for (i = 0; i < rounds && !ret; i++) {
		int err = sgnl_ban_add_batch(h, bans, n + 1, true, NULL);

		if (err != -EEXIST) {
			fprintf(stderr, "sgload: round %lu: %s, want -EEXIST\n",
				i, err ? strerror(-err) : "accepted");
			ret = 1;
		}
	}
	printf("rounds=%lu refused=%lu\n", i, i - ret);
	sgnl_close(h);
	free(bans);
	return ret;
}

struct racer {
	struct sgnl *h;
	struct sgnl_ban *bans;
	size_t n;
	double start, took;
	int started;		/* start is set */
	int err;
};

static void *race_add(void *arg)
{
	struct racer *r = arg;

	r->start = mono_seconds();
	__atomic_store_n(&r->started, 1, __ATOMIC_RELEASE);
	r->err = sgnl_ban_add_batch(r->h, r->bans, r->n, true, NULL);
	r->took = mono_seconds() - r->start;
	return NULL;
}

static void sleep_until(double t)
{
	double left;

	while ((left = t - mono_seconds()) > 0) {
		struct timespec ts = {
			.tv_sec = (time_t)left,
			.tv_nsec = (long)((left - (time_t)left) * 1e9),
		};

		nanosleep(&ts, NULL);
	}
}

static int cmd_race(int argc, char **argv)
{
	struct racer r = {};
	struct sgnl_policy pol;
	struct sg_prefix base;
	struct sgnl *h;
	pthread_t t;
	double delay, at;
	size_t i;
	int err;

	if (argc != 3 || parse_addr(argv[0], &base) < 0)
		return usage();
	r.n = strtoul(argv[1], NULL, 10);
	delay = strtod(argv[2], NULL);
	if (!r.n || r.n > 1000 || delay < 0)
		return usage();
	r.bans = calloc(r.n, sizeof(*r.bans));
	if (!r.bans) {
		perror("sgload");
		return 1;
	}
	for (i = 0; i < r.n; i++) {
		nth_addr(&base, i, &r.bans[i].prefix);
		r.bans[i].scope = SMTPGATE_SCOPE_ALL;
	}
	if (open_handle(&h) < 0 || open_handle(&r.h) < 0)
		return 1;
	if (sgnl_policy_get(h, &pol) < 0)
		return fail(h, "cannot read the policy");
	err = pthread_create(&t, NULL, race_add, &r);
	if (err) {
		fprintf(stderr, "sgload: pthread_create: %s\n", strerror(err));
		return 1;
	}
	/* Spinning for the thread's start costs the delay nothing. */
	while (!__atomic_load_n(&r.started, __ATOMIC_ACQUIRE))
		;
	sleep_until(r.start + delay);
	at = mono_seconds() - r.start;
	err = sgnl_policy_set(h, &pol);
	pthread_join(t, NULL);
	if (err < 0)
		return fail(h, "cannot set the policy");
	if (r.err < 0)
		return fail(r.h, "cannot add the bans");
	printf("add=%.6f policy_at=%.6f\n", r.took, at);
	sgnl_close(r.h);
	sgnl_close(h);
	free(r.bans);
	return 0;
}

static int cmd_trickle(int argc, char **argv)
{
	double t0, end, secs;
	struct sgnl_ban ban = {};
	struct sg_prefix base;
	unsigned long i = 0;
	struct sgnl *h;
	int err = 0;

	if (argc != 2 || parse_addr(argv[0], &base) < 0)
		return usage();
	secs = strtod(argv[1], NULL);
	if (secs <= 0)
		return usage();
	if (open_handle(&h) < 0)
		return 1;
	t0 = mono_seconds();
	end = t0 + secs;
	while (mono_seconds() < end) {
		nth_addr(&base, i, &ban.prefix);
		err = sgnl_ban_add_batch(h, &ban, 1, true, NULL);
		if (err < 0)
			return fail(h, "ban");
		i++;
	}
	printf("adds=%lu seconds=%.3f\n", i, mono_seconds() - t0);
	sgnl_close(h);
	return 0;
}

static int cmd_addrs(int argc, char **argv)
{
	char buf[SG_PREFIX_STRLEN], *set = "", *table = "";
	struct sg_prefix base, a;
	unsigned long n, i;
	int fmt;

	if (argc < 3 || parse_addr(argv[0], &base) < 0)
		return usage();
	n = strtoul(argv[1], NULL, 10);
	if (!strcmp(argv[2], "plain")) {
		fmt = 0;
	} else if (!strncmp(argv[2], "ipset:", 6)) {
		fmt = 1;
		set = argv[2] + 6;
	} else if (!strncmp(argv[2], "nft:", 4) && strrchr(argv[2], ':') > argv[2] + 4) {
		fmt = 2;
		table = argv[2] + 4;
		set = strrchr(argv[2], ':');
		*set++ = 0;
	} else {
		return usage();
	}
	for (i = 0; i < n; i++) {
		nth_addr(&base, i, &a);
		sg_addr_str(&a, buf, sizeof(buf));
		if (fmt == 0)
			printf("%s\n", buf);
		else if (fmt == 1)
			printf("add %s %s\n", set, buf);
		else if (i % 1000 == 0)
			printf("add element %s %s { %s", table, set, buf);
		else
			printf(", %s", buf);
		if (fmt == 2 && (i % 1000 == 999 || i + 1 == n))
			printf(" }\n");
	}
	return 0;
}

static int cmd_flush(void)
{
	struct sgnl *h;

	if (open_handle(&h) < 0)
		return 1;
	if (sgnl_ban_flush(h) < 0)
		return fail(h, "cannot flush the bans");
	sgnl_close(h);
	return 0;
}

static int cmd_stats(void)
{
	struct sgnl_stats st;
	struct sgnl *h;
	unsigned int c, v;

	if (open_handle(&h) < 0)
		return 1;
	if (sgnl_stats_get(h, &st) < 0)
		return fail(h, "cannot get the statistics");
	printf("hosts=%u\nflagged=%u\nbans=%u\nhost_bytes=%u\nban_bytes=%u\n"
	       "host_evictions=%llu\nhost_cap_misses=%llu\n",
	       st.hosts, st.flagged, st.bans, st.host_bytes, st.ban_bytes,
	       (unsigned long long)st.host_evictions,
	       (unsigned long long)st.host_cap_misses);
	for (c = 0; c <= SMTPGATE_CLASS_MAX; c++)
		for (v = 0; v <= SMTPGATE_VERDICT_MAX; v++)
			if (st.packets[c][v])
				printf("packets_%s_%s=%llu\n",
				       sgnl_class_name(c), sgnl_verdict_name(v),
				       (unsigned long long)st.packets[c][v]);
	sgnl_close(h);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	if (!strcmp(argv[1], "policy"))
		return cmd_policy(argc - 2, argv + 2);
	if (!strcmp(argv[1], "bans"))
		return cmd_bans(argc - 2, argv + 2);
	if (!strcmp(argv[1], "addrs"))
		return cmd_addrs(argc - 2, argv + 2);
	if (!strcmp(argv[1], "badbatch"))
		return cmd_badbatch(argc - 2, argv + 2);
	if (!strcmp(argv[1], "race"))
		return cmd_race(argc - 2, argv + 2);
	if (!strcmp(argv[1], "trickle"))
		return cmd_trickle(argc - 2, argv + 2);
	if (!strcmp(argv[1], "flush") && argc == 2)
		return cmd_flush();
	if (!strcmp(argv[1], "stats") && argc == 2)
		return cmd_stats();
	return usage();
}
