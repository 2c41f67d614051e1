// SPDX-License-Identifier: GPL-2.0
/*
 * sgfault: every smtpgate netlink command, and the module load, through
 * each allocation failure in turn (failslab, fail-nth), for
 * tests/vm/faults.sh.  Needs a kernel with CONFIG_FAULT_INJECTION and
 * CONFIG_FAILSLAB, failslab's ignore-gfp-wait off and its verbose 0.
 *
 *   sgfault cmds [SCENARIO...]
 *	the module loaded: for each scenario (all by default), from its base
 *	state, the request alone with fail-nth = 1, 2, ... until one runs
 *	without reaching the injected failure.  Each failed request must leave
 *	the state (policy, bans, hosts, table sizes, the module's netfilter
 *	hooks) exactly as before; each successful one exactly as the
 *	unfaulted request leaves it.
 *   sgfault insmod KO [PARAMS]
 *	finit_module(KO, PARAMS) with fail-nth = 1, 2, ... until it loads
 *	without reaching the failure; each failed load must leave no module,
 *	no family, no cache behind.  Leaves the module unloaded.
 *
 * fail-nth counts the calling thread's fault sites from the write on; the
 * file is opened, and the request built, before, so only the request's
 * own syscalls count.  Mutations go without NLM_F_ACK: netlink runs them
 * inside sendmsg(), so afterwards a queued NLMSG_ERROR (or ENOBUFS: the
 * error's own skb failed) is their failure and an empty queue their
 * success, and a lost ACK cannot pass for a failed command.
 *
 *   sgfault --no-faults cmds [SCENARIO...]
 *	the same scenarios unfaulted, twice each: the base and the result
 *	states must be reproducible, and each mutation visible in them (the
 *	checks above would otherwise compare nothing); runs on any kernel.
 *
 * Prints one line per failure found ("FAIL ...") and a summary per
 * scenario; exits 1 if anything failed, 4 if fail-nth is missing.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include "nlraw.h"
#include "sgnl.h"
#include "vec.h"

#define MAX_NTH		20000

static int nth_fd = -1;
static bool want_hooks;	/* compare the hooks too (the scenario's hooks) */
static int failures;
static bool dry;	/* --no-faults: the plumbing only, unfaulted */
static unsigned char reqbuf[NLR_BUF], rxbuf[NLR_BUF];

static int nth_open(void)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/task/%ld/fail-nth",
		 (long)syscall(SYS_gettid));
	nth_fd = open(path, O_RDWR | O_CLOEXEC);
	return nth_fd < 0 ? -errno : 0;
}

static void nth_set(unsigned int n)
{
	char b[16];
	int len = snprintf(b, sizeof(b), "%u", n);

	if (pwrite(nth_fd, b, len, 0) != len) {
		perror("sgfault: fail-nth");
		exit(1);
	}
}

/* True when the failure set by nth_set() was injected; disarms. */
static bool nth_fired(void)
{
	char b[16] = "";
	bool fired;

	if (pread(nth_fd, b, sizeof(b) - 1, 0) <= 0) {
		perror("sgfault: fail-nth");
		exit(1);
	}
	fired = atoi(b) == 0;
	nth_set(0);
	return fired;
}

/* ---- the state ------------------------------------------------------- */

struct buf {
	char *p;
	size_t len;
	FILE *f;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct lines {
	char **v;
	size_t n, cap;
};

static void lines_add(struct lines *l, const char *s)
{
	char **slot = VEC_PUSH(l);

	if (!slot)
		abort();
	*slot = strdup(s);
}

/* Forgets the lines of an interrupted listing. */
static void lines_free(struct lines *l)
{
	while (l->n)
		free(l->v[--l->n]);
}

static void lines_flush(struct lines *l, FILE *f)
{
	size_t i;

	qsort(l->v, l->n, sizeof(*l->v), cmp_str);
	for (i = 0; i < l->n; i++) {
		fprintf(f, "%s\n", l->v[i]);
		free(l->v[i]);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int on_ban(const struct sgnl_ban *b, void *arg)
{
	char p[SG_PREFIX_STRLEN], line[256];

	snprintf(line, sizeof(line), "ban %s scope=%u %s reason=%s",
		 sg_prefix_str(&b->prefix, p, sizeof(p)), b->scope,
		 b->timeout ? "timed" : "permanent", b->reason);
	lines_add(arg, line);
	return 0;
}

static int on_host(const struct sgnl_host *h, void *arg)
{
	char p[SG_PREFIX_STRLEN], line[256];

	snprintf(line, sizeof(line), "host %s flags=%#x reasons=%#x",
		 sg_prefix_str(&h->prefix, p, sizeof(p)), h->flags,
		 h->reasons);
	lines_add(arg, line);
	return 0;
}

static void print_list(FILE *f, const char *name,
		       const struct sgnl_prefix_list *l)
{
	char p[SG_PREFIX_STRLEN];
	unsigned int i;

	fprintf(f, "%s", name);
	for (i = 0; i < l->n; i++)
		fprintf(f, " %s", sg_prefix_str(&l->v[i], p, sizeof(p)));
	fprintf(f, "\n");
}

/*
 * Everything a command may change, in one comparable text: the policy
 * (all but the generation, returned apart), bans and hosts (sorted, no
 * times), table sizes, and the module's hooks as nft lists them.
 */
static char *state(struct sgnl *h, uint32_t *generation)
{
	struct sgnl_policy pol;
	struct sgnl_stats st;
	struct lines l = {};
	struct buf b = {};
	char line[512];
	unsigned int i, tries;
	FILE *nft;
	int ret;

	b.f = open_memstream(&b.p, &b.len);
	if (!b.f)
		abort();
	ret = sgnl_policy_get(h, &pol);
	if (ret) {
		fprintf(b.f, "policy: error %d\n", ret);
	} else {
		*generation = pol.generation;
		print_list(b.f, "internal", &pol.internal);
		print_list(b.f, "exempt", &pol.exempt);
		print_list(b.f, "walled", &pol.walled_garden);
		fprintf(b.f, "has=%#x action=%u/%u sub=%08x:%u/%u ports",
			pol.has & ~SGNL_POLICY_HAS(SMTPGATE_A_POLICY_GENERATION),
			pol.action, pol.tunnel_action,
			pol.submission4.s_addr, pol.submission_port,
			pol.submission_tls_port);
		for (i = 0; i < pol.nports; i++)
			fprintf(b.f, " %u", pol.ports[i]);
		fprintf(b.f, "\nwindow=%u limits=%u/%u/%u flag_tunnel=%u scope=%u prefix=%u/%u max=%u/%u inspect=%u/%u trap=%u\n",
			pol.window, pol.rate_limit, pol.blocked_limit,
			pol.dest_limit, pol.flag_tunnel, pol.ban_scope,
			pol.host_prefix4, pol.host_prefix6, pol.max_hosts,
			pol.max_bans, pol.inspect_queue, pol.inspect_bytes,
			pol.trap_port);
	}
	/*
	 * A resize of the table under the walker interrupts the dump, and a
	 * failed allocation in the request can leave one pending (the
	 * rhashtable's worker makes it): read again, as smtpgatectl does.
	 * Still interrupted after that would be a finding.
	 */
	tries = 0;
	do {
		lines_free(&l);
		ret = sgnl_ban_list(h, on_ban, &l);
	} while (sgnl_dump_again(ret, &tries));
	fprintf(b.f, "bans: %d\n", ret);
	lines_flush(&l, b.f);
	ret = sgnl_host_list(h, false, on_host, &l);
	fprintf(b.f, "hosts: %d\n", ret);
	lines_flush(&l, b.f);
	ret = sgnl_stats_get(h, &st);
	fprintf(b.f, "stats: %d hosts=%u flagged=%u bans=%u\n", ret,
		st.hosts, st.flagged, st.bans);
	/*
	 * nft costs seconds under TCG: only where the request may register
	 * or unregister hooks, and with no shell in between.
	 */
	nft = want_hooks ? popen("exec nft list hooks 2>&1", "r") : NULL;
	if (nft) {
		while (fgets(line, sizeof(line), nft))
			if (strstr(line, "smtpgate"))
				lines_add(&l, line);
		pclose(nft);
		fprintf(b.f, "hooks:\n");
		lines_flush(&l, b.f);
	}
	fclose(b.f);
	return b.p;
}

/* ---- requests, built raw --------------------------------------------- */

static void put_prefix(struct nlr_msg *m, uint16_t type, const char *text)
{
	struct sg_prefix p;
	char err[SG_PARSE_ERRLEN];
	size_t nest;

	if (sg_prefix_parse(text, &p, err, sizeof(err))) {
		fprintf(stderr, "sgfault: %s\n", err);
		exit(2);
	}
	nest = nlr_nest_start(m, type);
	nlr_put_u16(m, SMTPGATE_A_PREFIX_FAMILY, p.family);
	nlr_put(m, SMTPGATE_A_PREFIX_ADDR, p.addr.bytes,
		sg_family_addr_len(p.family));
	nlr_put_u8(m, SMTPGATE_A_PREFIX_LEN, p.len);
	nlr_nest_end(m, nest);
}

static void put_list(struct nlr_msg *m, uint16_t type, const char *const *v)
{
	size_t nest = nlr_nest_start(m, type);

	for (; *v; v++)
		put_prefix(m, SMTPGATE_A_PREFIX_ENTRY, *v);
	nlr_nest_end(m, nest);
}

/* A ban: the prefix fields share the prefix attribute numbers. */
static void put_ban(struct nlr_msg *m, uint16_t type, const char *prefix,
		    uint8_t scope, uint32_t timeout, const char *reason)
{
	struct sg_prefix p;
	char err[SG_PARSE_ERRLEN];
	size_t nest;

	if (sg_prefix_parse(prefix, &p, err, sizeof(err))) {
		fprintf(stderr, "sgfault: %s\n", err);
		exit(2);
	}
	nest = nlr_nest_start(m, type);
	nlr_put_u16(m, SMTPGATE_A_BAN_FAMILY, p.family);
	nlr_put(m, SMTPGATE_A_BAN_ADDR, p.addr.bytes,
		sg_family_addr_len(p.family));
	nlr_put_u8(m, SMTPGATE_A_BAN_PREFIX_LEN, p.len);
	if (scope)
		nlr_put_u8(m, SMTPGATE_A_BAN_SCOPE, scope);
	if (timeout)
		nlr_put_u32(m, SMTPGATE_A_BAN_TIMEOUT, timeout);
	if (reason)
		nlr_put(m, SMTPGATE_A_BAN_REASON, reason, strlen(reason) + 1);
	nlr_nest_end(m, nest);
}

static void put_host(struct nlr_msg *m, const char *addr, uint32_t reasons)
{
	struct sg_prefix p;
	char err[SG_PARSE_ERRLEN];
	size_t nest;

	if (sg_addr_parse(addr, &p, err, sizeof(err))) {
		fprintf(stderr, "sgfault: %s\n", err);
		exit(2);
	}
	nest = nlr_nest_start(m, SMTPGATE_A_HOST);
	nlr_put_u16(m, SMTPGATE_A_HOST_FAMILY, p.family);
	nlr_put(m, SMTPGATE_A_HOST_ADDR, p.addr.bytes,
		sg_family_addr_len(p.family));
	if (reasons)
		nlr_put_u32(m, SMTPGATE_A_HOST_REASONS, reasons);
	nlr_nest_end(m, nest);
}

static const char *const internal1[] = {
	"192.0.2.0/24", "198.51.100.0/25", "2001:db8:1::/64",
	"2001:db8:2::/48", NULL
};
static const char *const exempt1[] = { "192.0.2.25", "2001:db8:1::25", NULL };
static const char *const walled1[] = { "203.0.113.44", "2001:db8:3::/64", NULL };

static void build_policy(struct nlr_msg *m)
{
	size_t nest = nlr_nest_start(m, SMTPGATE_A_POLICY), ports;
	struct in6_addr s6;
	uint32_t s4 = htonl(0xcb00710a); /* 203.0.113.10 */

	put_list(m, SMTPGATE_A_POLICY_INTERNAL, internal1);
	put_list(m, SMTPGATE_A_POLICY_EXEMPT, exempt1);
	put_list(m, SMTPGATE_A_POLICY_WALLED_GARDEN, walled1);
	nlr_put_u8(m, SMTPGATE_A_POLICY_ACTION, SMTPGATE_ACTION_REDIRECT);
	nlr_put_u8(m, SMTPGATE_A_POLICY_TUNNEL_ACTION, SMTPGATE_ACTION_DROPLOG);
	nlr_put(m, SMTPGATE_A_POLICY_SUBMISSION4, &s4, 4);
	inet_pton(AF_INET6, "2001:db8:3::587", &s6);
	nlr_put(m, SMTPGATE_A_POLICY_SUBMISSION6, &s6, 16);
	nlr_put_u16(m, SMTPGATE_A_POLICY_SUBMISSION_PORT, 587);
	ports = nlr_nest_start(m, SMTPGATE_A_POLICY_PORTS);
	nlr_put_u16(m, SMTPGATE_A_PORT, 25);
	nlr_put_u16(m, SMTPGATE_A_PORT, 465);
	nlr_put_u16(m, SMTPGATE_A_PORT, 2525);
	nlr_nest_end(m, ports);
	nlr_put_u32(m, SMTPGATE_A_POLICY_WINDOW, 120);
	nlr_put_u32(m, SMTPGATE_A_POLICY_RATE_LIMIT, 30);
	nlr_put_u8(m, SMTPGATE_A_POLICY_HOST_PREFIX4, 24);
	nlr_put_u32(m, SMTPGATE_A_POLICY_MAX_HOSTS, 1024);
	nlr_put_u32(m, SMTPGATE_A_POLICY_MAX_BANS, 4096);
	nlr_put_u16(m, SMTPGATE_A_POLICY_INSPECT_QUEUE, 3);
	nlr_nest_end(m, nest);
}

enum base { BASE_FULL, BASE_EMPTY };

struct scenario {
	const char *name;
	enum base base;
	uint8_t cmd;
	bool dump;
	bool mutates;
	void (*build)(struct nlr_msg *m);
	bool hooks;	/* may register or unregister the hooks */
};

static void b_none(struct nlr_msg *m) { }
static void b_ban_one(struct nlr_msg *m)
{
	put_ban(m, SMTPGATE_A_BAN, "198.51.100.0/24", SMTPGATE_SCOPE_ALL, 600,
		"fault one");
}

static void b_ban_replace(struct nlr_msg *m)
{
	put_ban(m, SMTPGATE_A_BAN, "192.0.2.66", SMTPGATE_SCOPE_ALL, 60,
		"replaced");
}

static void b_ban_batch(struct nlr_msg *m)
{
	size_t nest = nlr_nest_start(m, SMTPGATE_A_BANS);
	char p[64];
	int i;

	for (i = 1; i <= 40; i++) {
		snprintf(p, sizeof(p), "2001:db8:f:%x::/64", i);
		put_ban(m, SMTPGATE_A_BAN, p, 0, i % 2 ? 300 : 0, "batch");
		snprintf(p, sizeof(p), "203.0.113.%d", i);
		put_ban(m, SMTPGATE_A_BAN, p, SMTPGATE_SCOPE_SMTP, 0, NULL);
	}
	/* One the base has: replaced within the batch. */
	put_ban(m, SMTPGATE_A_BAN, "192.0.2.66", SMTPGATE_SCOPE_ALL, 0,
		"batch replace");
	nlr_nest_end(m, nest);
	nlr_put_u32(m, SMTPGATE_A_FLAGS, SMTPGATE_F_QUIET);
}

static void b_ban_addr(struct nlr_msg *m)
{
	put_ban(m, SMTPGATE_A_BAN, "192.0.2.66", 0, 0, NULL);
}

static void b_ban_del6(struct nlr_msg *m)
{
	put_ban(m, SMTPGATE_A_BAN, "2001:db8:1::66", 0, 0, NULL);
}

static void b_host77(struct nlr_msg *m) { put_host(m, "192.0.2.77", 0); }
static void b_flagged(struct nlr_msg *m)
{
	nlr_put_u32(m, SMTPGATE_A_FLAGS, SMTPGATE_F_FLAGGED_ONLY);
}

static void b_flag_new(struct nlr_msg *m)
{
	put_host(m, "2001:db8:1::78", SMTPGATE_REASON_DIALOGUE);
}

static void b_flag_again(struct nlr_msg *m)
{
	put_host(m, "192.0.2.77",
		 SMTPGATE_REASON_DIALOGUE | SMTPGATE_REASON_RATE);
}

static const struct scenario scenarios[] = {
	{ "policy-set", BASE_FULL, SMTPGATE_CMD_POLICY_SET, false, true, build_policy, true },
	{ "policy-set-first", BASE_EMPTY, SMTPGATE_CMD_POLICY_SET, false, true, build_policy, true },
	{ "policy-set-default", BASE_FULL, SMTPGATE_CMD_POLICY_SET, false, true, b_none, true },
	{ "policy-get", BASE_FULL, SMTPGATE_CMD_POLICY_GET, false, false, b_none, false },
	{ "ban-add", BASE_FULL, SMTPGATE_CMD_BAN_ADD, false, true, b_ban_one, false },
	{ "ban-add-first", BASE_EMPTY, SMTPGATE_CMD_BAN_ADD, false, true, b_ban_one, true },
	{ "ban-add-replace", BASE_FULL, SMTPGATE_CMD_BAN_ADD, false, true, b_ban_replace, false },
	{ "ban-add-batch", BASE_FULL, SMTPGATE_CMD_BAN_ADD, false, true, b_ban_batch, false },
	{ "ban-add-batch-first", BASE_EMPTY, SMTPGATE_CMD_BAN_ADD, false, true, b_ban_batch, true },
	{ "ban-del", BASE_FULL, SMTPGATE_CMD_BAN_DEL, false, true, b_ban_del6, true },
	{ "ban-get", BASE_FULL, SMTPGATE_CMD_BAN_GET, false, false, b_ban_addr, false },
	{ "ban-dump", BASE_FULL, SMTPGATE_CMD_BAN_GET, true, false, b_none, false },
	{ "ban-flush", BASE_FULL, SMTPGATE_CMD_BAN_FLUSH, false, true, b_none, true },
	{ "host-get", BASE_FULL, SMTPGATE_CMD_HOST_GET, false, false, b_host77, false },
	{ "host-dump", BASE_FULL, SMTPGATE_CMD_HOST_GET, true, false, b_none, false },
	{ "host-dump-flagged", BASE_FULL, SMTPGATE_CMD_HOST_GET, true, false, b_flagged, false },
	{ "host-forget", BASE_FULL, SMTPGATE_CMD_HOST_FORGET, false, true, b_host77, false },
	{ "host-forget-all", BASE_FULL, SMTPGATE_CMD_HOST_FORGET, false, true, b_none, true },
	{ "host-flag", BASE_FULL, SMTPGATE_CMD_HOST_FLAG, false, true, b_flag_new, false },
	{ "host-flag-again", BASE_FULL, SMTPGATE_CMD_HOST_FLAG, false, true, b_flag_again, false },
	{ "stats", BASE_FULL, SMTPGATE_CMD_STATS_GET, false, false, b_none, false },
};

/* ---- base states ----------------------------------------------------- */

static void must(struct sgnl *h, int ret, const char *what)
{
	if (ret < 0) {
		fprintf(stderr, "sgfault: setup: %s: %s\n", what,
			sgnl_error_msg(h));
		exit(1);
	}
}

static void add_prefix(struct sgnl_prefix_list *l, const char *text)
{
	char err[SG_PARSE_ERRLEN];

	if (sg_prefix_parse(text, &l->v[l->n++], err, sizeof(err)))
		abort();
}

static void setup(struct sgnl *h, enum base base)
{
	struct sgnl_policy pol;
	struct sgnl_ban b = {};
	struct sg_prefix a;
	char err[SG_PARSE_ERRLEN];

	must(h, sgnl_ban_flush(h), "ban flush");
	must(h, sgnl_host_forget(h, NULL), "forget all");
	sgnl_policy_init(&pol);
	if (base == BASE_EMPTY) {
		must(h, sgnl_policy_set(h, &pol), "policy set");
		return;
	}
	add_prefix(&pol.internal, "192.0.2.0/24");
	add_prefix(&pol.internal, "2001:db8:1::/64");
	add_prefix(&pol.exempt, "192.0.2.25");
	add_prefix(&pol.walled_garden, "203.0.113.44");
	pol.has |= SGNL_POLICY_HAS(SMTPGATE_A_POLICY_INTERNAL) |
		   SGNL_POLICY_HAS(SMTPGATE_A_POLICY_EXEMPT) |
		   SGNL_POLICY_HAS(SMTPGATE_A_POLICY_WALLED_GARDEN);
	must(h, sgnl_policy_set(h, &pol), "policy set");
	sg_prefix_parse("192.0.2.66", &b.prefix, err, sizeof(err));
	strcpy(b.reason, "fault base");
	must(h, sgnl_ban_add(h, &b), "ban add");
	sg_prefix_parse("2001:db8:1::66", &b.prefix, err, sizeof(err));
	b.scope = SMTPGATE_SCOPE_ALL;
	b.timeout = 3600;
	must(h, sgnl_ban_add(h, &b), "ban add");
	sg_addr_parse("192.0.2.77", &a, err, sizeof(err));
	must(h, sgnl_host_flag(h, &a, SMTPGATE_REASON_DIALOGUE), "host flag");
}

/* ---- one faulted request --------------------------------------------- */

static int count_replies(const struct nlmsghdr *nlh, void *arg)
{
	++*(unsigned int *)arg;
	return 0;
}

/*
 * The request of @sc, with fail-nth @nth armed around it (0: none).
 * Returns 0 or -errno; *@fired says whether the failure was injected.
 */
static int run_one(struct nlr *s, const struct scenario *sc,
		   unsigned int nth, bool *fired)
{
	struct nlr_msg m;
	unsigned int replies = 0;
	int64_t seq;
	int ret;

	nlr_msg_init(&m, reqbuf, sizeof(reqbuf), s->family,
		     sc->mutates ? 0 : (sc->dump ? NLM_F_DUMP : NLM_F_ACK),
		     sc->cmd, SMTPGATE_GENL_VERSION);
	sc->build(&m);
	if (m.overflow)
		abort();
	s->rflags = sc->mutates ? MSG_DONTWAIT : 0;
	if (nth)
		nth_set(nth);
	seq = nlr_send(s, &m);
	if (seq < 0)
		ret = (int)seq;
	else
		ret = nlr_recv(s, (uint32_t)seq, count_replies, &replies,
			       rxbuf, sizeof(rxbuf));
	*fired = nth ? nth_fired() : false;
	if (sc->mutates && ret == -EAGAIN)
		ret = 0;	/* no error queued: it succeeded */
	/*
	 * Drain what a failed read left (a dump's rest).  A dump whose part
	 * failed stays running on its socket (the next dump there would be
	 * -EBUSY): dumps get a fresh socket each time.
	 */
	for (;;) {
		errno = 0;
		if (recv(s->fd, rxbuf, sizeof(rxbuf), MSG_DONTWAIT) <= 0 &&
		    errno != ENOBUFS)
			break;
	}
	if (sc->dump) {
		nlr_close(s);
		if (nlr_open(s) || nlr_resolve(s, SMTPGATE_GENL_NAME)) {
			fprintf(stderr, "sgfault: cannot reopen netlink\n");
			exit(1);
		}
	}
	if (!ret && !sc->mutates && !sc->dump && !replies)
		ret = -ENODATA;	/* a get must reply */
	return ret;
}

static void show_diff(const char *want, const char *got)
{
	fprintf(stderr, "# --- expected\n%s# --- found\n%s", want, got);
}

static int run_scenario(struct sgnl *h, struct nlr *s,
			const struct scenario *sc)
{
	unsigned int nth, injected = 0, absorbed = 0;
	uint32_t gen0 = 0, gen = 0;
	char *s0, *s1, *now;
	bool fired;
	int ret, bad = 0;

	want_hooks = sc->hooks;
	printf("%s: from the %s state\n", sc->name,
	       sc->base == BASE_FULL ? "full" : "empty");
	setup(h, sc->base);
	s0 = state(h, &gen0);
	ret = run_one(s, sc, 0, &fired);
	if (ret && !(sc->cmd == SMTPGATE_CMD_HOST_GET && ret == -ENOENT)) {
		printf("FAIL %s: fails unfaulted: %s\n", sc->name,
		       strerror(-ret));
		return 1;
	}
	s1 = state(h, &gen);
	if (dry) {
		/* Both states reproducible; a mutation visible in them. */
		setup(h, sc->base);
		now = state(h, &gen0);
		bad += !!strcmp(now, s0);
		free(now);
		run_one(s, sc, 0, &fired);
		now = state(h, &gen);
		bad += !!strcmp(now, s1);
		free(now);
		if (sc->mutates && !strcmp(s0, s1)) {
			printf("FAIL %s: the request changes nothing visible\n",
			       sc->name);
			bad++;
		}
		printf("%s %s: states reproducible%s\n", bad ? "not ok" : "ok",
		       sc->name, sc->mutates ? ", the change visible" : "");
		free(s0);
		free(s1);
		return bad;
	}
	for (nth = 1; nth <= MAX_NTH; nth++) {
		int want = ret;

		setup(h, sc->base);
		now = state(h, &gen0);
		if (strcmp(now, s0)) {
			printf("FAIL %s: nth=%u: the base state differs before the request\n",
			       sc->name, nth);
			show_diff(s0, now);
			free(now);
			return 1;
		}
		free(now);
		ret = run_one(s, sc, nth, &fired);
		now = state(h, &gen);
		if (!fired) {
			if (ret != want || strcmp(now, s1)) {
				printf("FAIL %s: nth=%u (not reached): %s, state %s\n",
				       sc->name, nth, strerror(-ret),
				       strcmp(now, s1) ? "differs" : "as expected");
				show_diff(s1, now);
				bad++;
			}
			free(now);
			break;
		}
		injected++;
		if (ret == want) {
			absorbed++;
			if (strcmp(now, s1)) {
				printf("FAIL %s: nth=%u: succeeded under the failure, with a state not the request's\n",
				       sc->name, nth);
				show_diff(s1, now);
				bad++;
			}
		} else if (strcmp(now, s0) || (sc->mutates && gen != gen0)) {
			printf("FAIL %s: nth=%u: failed (%s) and left the state changed (generation %u -> %u)\n",
			       sc->name, nth, strerror(-ret), gen0, gen);
			show_diff(s0, now);
			bad++;
		} else if (ret > 0 || ret == -EBADMSG || ret == -ENODATA) {
			printf("FAIL %s: nth=%u: no clean errno (%d)\n",
			       sc->name, nth, ret);
			bad++;
		}
		free(now);
		ret = want;
	}
	if (nth > MAX_NTH) {
		printf("FAIL %s: still reaching the failure at nth=%u\n",
		       sc->name, MAX_NTH);
		bad++;
	}
	printf("%s %s: %u allocation failures injected, %u absorbed\n",
	       bad ? "not ok" : "ok", sc->name, injected, absorbed);
	fflush(stdout);
	free(s0);
	free(s1);
	return bad;
}

static int cmds(int argc, char **argv)
{
	struct sgnl *h;
	struct nlr s;
	size_t i;
	int ret, n;

	ret = sgnl_open(&h);
	if (ret < 0) {
		fprintf(stderr, "sgfault: sgnl: %s\n", strerror(-ret));
		return 1;
	}
	if (nlr_open(&s) || nlr_resolve(&s, SMTPGATE_GENL_NAME)) {
		fprintf(stderr, "sgfault: no smtpgate family\n");
		return 1;
	}
	for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		bool want = argc == 0;

		for (n = 0; n < argc; n++)
			want |= !strcmp(argv[n], scenarios[i].name);
		if (want)
			failures += run_scenario(h, &s, &scenarios[i]);
	}
	setup(h, BASE_EMPTY);
	sgnl_close(h);
	nlr_close(&s);
	return failures ? 1 : 0;
}

/* ---- the module load ------------------------------------------------- */

static bool module_present(void)
{
	struct stat st;

	return !stat("/sys/module/smtpgate", &st);
}

static bool caches_left(void)
{
	char line[512];
	bool found = false;
	FILE *f = fopen("/proc/slabinfo", "r");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		found |= !strncmp(line, "smtpgate", 8);
	fclose(f);
	return found;
}

static bool family_present(void)
{
	struct nlr s;
	int ret;

	if (nlr_open(&s))
		return false;
	ret = nlr_resolve(&s, SMTPGATE_GENL_NAME);
	nlr_close(&s);
	return ret == 0;
}

static int insmod(const char *ko, const char *params)
{
	unsigned int nth, injected = 0, absorbed = 0;
	bool fired;
	int fd, ret, bad = 0;

	if (module_present()) {
		fprintf(stderr, "sgfault: smtpgate is loaded\n");
		return 1;
	}
	for (nth = getenv("SGF_NTH") ? atoi(getenv("SGF_NTH")) : 1; nth <= MAX_NTH; nth++) {
		fd = open(ko, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			perror(ko);
			return 1;
		}
		nth_set(nth);
		ret = syscall(SYS_finit_module, fd, params, 0) ? -errno : 0;
		fired = nth_fired();
		close(fd);
		if (!ret) {
			if (syscall(SYS_delete_module, "smtpgate", O_NONBLOCK)) {
				printf("FAIL insmod: nth=%u: loaded, but rmmod fails: %m\n",
				       nth);
				return 1;
			}
			if (!fired)
				break;
			injected++;
			absorbed++;
			continue;
		}
		if (!fired) {
			printf("FAIL insmod: nth=%u (not reached): %s\n", nth,
			       strerror(-ret));
			return 1;
		}
		injected++;
		if (module_present() || family_present() || caches_left()) {
			printf("FAIL insmod: nth=%u: failed (%s) but left %s behind\n",
			       nth, strerror(-ret),
			       module_present() ? "the module" :
			       family_present() ? "the genl family" :
			       "a slab cache");
			bad++;
			if (module_present())
				return 1;
		}
	}
	if (nth > MAX_NTH) {
		printf("FAIL insmod: still reaching the failure at nth=%u\n",
		       MAX_NTH);
		bad++;
	}
	printf("%s insmod %s: %u allocation failures injected, %u absorbed\n",
	       bad ? "not ok" : "ok", params, injected, absorbed);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2) {
		fprintf(stderr, "Usage: sgfault [--no-faults] cmds [SCENARIO...]\n"
			"       sgfault insmod KO [PARAMS]\n");
		return 2;
	}
	if (!strcmp(argv[1], "--no-faults") && argc > 2) {
		dry = true;
		argv++;
		argc--;
	} else if (nth_open()) {
		printf("sgfault: no fail-nth (CONFIG_FAULT_INJECTION): %m\n");
		return 4;
	}
	if (!strcmp(argv[1], "cmds"))
		return cmds(argc - 2, argv + 2);
	if (!strcmp(argv[1], "insmod") && argc >= 3)
		return insmod(argv[2], argc > 3 ? argv[3] : "");
	fprintf(stderr, "sgfault: unknown mode %s\n", argv[1]);
	return 2;
}
