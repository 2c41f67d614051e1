// SPDX-License-Identifier: GPL-2.0
/*
 * The policy's one key table (lib/polkey.c): every attribute has its key,
 * every range is the kernel's, and the value grammar is one, whoever
 * reads it.  smtpgatectl's usage errors are checked here too: they come
 * before any netlink, so no module is needed (make check).  That
 * smtpgate.conf reads the same values the same way is daemon_test's
 * config_and_policy_set_agree.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "polkey.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

#define HAS(a)	SGNL_POLICY_HAS(SMTPGATE_A_POLICY_##a)

struct errs {
	int n;
	char first[256];
	size_t off;
};

static void collect(void *arg, size_t off, const char *msg)
{
	struct errs *e = arg;

	if (!e->n++) {
		snprintf(e->first, sizeof(e->first), "%s", msg);
		e->off = off;
	}
}

/* KEY and VALUE as one operator would write them; "" when accepted. */
static const char *parse(struct sgnl_policy *p, const char *key,
			 const char *value)
{
	static struct errs e;
	const struct sg_polkey *k = sg_polkey_find(key, strlen(key));
	char *v = strdup(value);

	memset(&e, 0, sizeof(e));
	if (!k || !v) {
		free(v);
		return "no such key";
	}
	sg_polkey_parse(k, v, p, collect, &e);
	free(v);
	return e.first;
}

TEST(every_attribute_has_its_key)
{
	const struct sg_polkey *k;
	unsigned int a;
	size_t i, j;

	for (a = 1; a <= SMTPGATE_A_POLICY_MAX; a++) {
		k = sg_polkey_of_attr(a);
		ASSERT_NE(NULL, k) TH_LOG("attribute %u has no key", a);
		if (a != SMTPGATE_A_POLICY_SUBMISSION6) {
			EXPECT_EQ(a, k->attr);
		}
	}
	for (i = 0; i < sg_npolkeys; i++) {
		k = &sg_polkeys[i];
		EXPECT_LE(k->attr, (unsigned int)SMTPGATE_A_POLICY_MAX);
		EXPECT_LE(k->off + k->width, sizeof(struct sgnl_policy));
		for (j = 0; j < i; j++)
			EXPECT_STRNE(sg_polkeys[j].name, k->name);
		if (k->flags & SG_PK_READONLY) {
			EXPECT_EQ(NULL, sg_polkey_find(k->name, strlen(k->name)));
		} else {
			EXPECT_EQ(k, sg_polkey_find(k->name, strlen(k->name)));
		}
	}
}

/* Exact names only: no prefixes, no case folding, no read-only keys. */
TEST(find_is_exact)
{
	EXPECT_NE(NULL, sg_polkey_find("window", 6));
	EXPECT_EQ(NULL, sg_polkey_find("win", 3));
	EXPECT_EQ(NULL, sg_polkey_find("Window", 6));
	EXPECT_EQ(NULL, sg_polkey_find("window=", 7));
	EXPECT_EQ(NULL, sg_polkey_find("generation", 10));
	EXPECT_EQ(NULL, sg_polkey_find("submission4", 11));
	EXPECT_STREQ("internal, exempt, walled_garden, action, tunnel_action, "
		     "submission, submission_port, submission_tls_port, ports, "
		     "window, rate_limit, blocked_limit, dest_limit, "
		     "flag_tunnel, ban_scope, host_prefix4, host_prefix6, "
		     "max_hosts, max_bans, inspect_queue, inspect_bytes, "
		     "trap_port", sg_polkey_names());
}

/* The ranges <linux/smtpgate.h> documents, at both edges. */
TEST(ranges_are_the_kernels)
{
	static const struct {
		const char *key;
		uint32_t min, max;
	} want[] = {
		{ "submission_port", 1, 65535 },
		{ "submission_tls_port", 0, 65535 },
		{ "window", 1, 86400 },
		{ "rate_limit", 0, 65534 },
		{ "blocked_limit", 0, 65535 },
		{ "dest_limit", 0, 267 },
		{ "host_prefix4", 8, 32 },
		{ "host_prefix6", 16, 128 },
		{ "max_hosts", 16, 16777216 },
		{ "max_bans", 16, 16777216 },
		{ "inspect_queue", 0, 65535 },
		{ "inspect_bytes", 64, 1048576 },
		{ "trap_port", 1, 65535 },
	};
	const struct sg_polkey *k;
	struct sgnl_policy p;
	char v[32];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(want); i++) {
		k = sg_polkey_find(want[i].key, strlen(want[i].key));
		ASSERT_NE(NULL, k);
		EXPECT_EQ(want[i].min, k->min) TH_LOG("%s", k->name);
		EXPECT_EQ(want[i].max, k->max) TH_LOG("%s", k->name);
		sgnl_policy_init(&p);
		snprintf(v, sizeof(v), "%u", k->min);
		EXPECT_STREQ("", parse(&p, k->name, v));
		EXPECT_EQ(k->min, sg_polkey_get(k, &p));
		EXPECT_TRUE(sg_polkey_present(k, &p));
		snprintf(v, sizeof(v), "%u", k->max);
		EXPECT_STREQ("", parse(&p, k->name, v));
		EXPECT_EQ(k->max, sg_polkey_get(k, &p));
		snprintf(v, sizeof(v), "%llu", (unsigned long long)k->max + 1);
		EXPECT_STRNE("", parse(&p, k->name, v)) TH_LOG("%s=%s", k->name, v);
		if (k->min) {
			snprintf(v, sizeof(v), "%u", k->min - 1);
			EXPECT_STRNE("", parse(&p, k->name, v))
				TH_LOG("%s=%s", k->name, v);
		}
	}
}

/* The grammar: durations with units, one set of booleans, lists, "off". */
TEST(values)
{
	struct sgnl_policy p;

	sgnl_policy_defaults(&p);
	EXPECT_STREQ("", parse(&p, "window", "1m"));
	EXPECT_EQ(60U, p.window);
	EXPECT_STREQ("", parse(&p, "window", "1h30s"));
	EXPECT_EQ(3630U, p.window);
	EXPECT_STREQ("", parse(&p, "window", "90"));
	EXPECT_EQ(90U, p.window);
	EXPECT_STREQ("", parse(&p, "flag_tunnel", "no"));
	EXPECT_EQ(0, p.flag_tunnel);
	EXPECT_STREQ("", parse(&p, "flag_tunnel", "1"));
	EXPECT_EQ(1, p.flag_tunnel);
	EXPECT_STREQ("", parse(&p, "ports", "25, 587 2525,,465"));
	ASSERT_EQ(4U, p.nports);
	EXPECT_EQ(2525, p.ports[2]);
	EXPECT_STREQ("", parse(&p, "internal", "192.0.2.0/24 2001:db8::/32"));
	EXPECT_EQ(2U, p.internal.n);
	EXPECT_STREQ("", parse(&p, "internal", ""));
	EXPECT_EQ(0U, p.internal.n);
	EXPECT_TRUE(!!(p.has & HAS(INTERNAL)));
	EXPECT_STREQ("", parse(&p, "submission", "2001:db8::25,192.0.2.25"));
	EXPECT_EQ(HAS(SUBMISSION4) | HAS(SUBMISSION6),
		  p.has & (HAS(SUBMISSION4) | HAS(SUBMISSION6)));
	EXPECT_STREQ("", parse(&p, "submission", ""));
	EXPECT_EQ(0U, p.has & (HAS(SUBMISSION4) | HAS(SUBMISSION6)));
	EXPECT_STREQ("", parse(&p, "inspect_queue", "3"));
	EXPECT_TRUE(!!(p.has & HAS(INSPECT_QUEUE)));
	EXPECT_STREQ("", parse(&p, "inspect_queue", "off"));
	EXPECT_FALSE(!!(p.has & HAS(INSPECT_QUEUE)));
	EXPECT_STREQ("", parse(&p, "trap_port", "off"));
	EXPECT_FALSE(!!(p.has & HAS(TRAP_PORT)));
	EXPECT_STREQ("", parse(&p, "action", "trap"));
	EXPECT_EQ(SMTPGATE_ACTION_TRAP, p.action);
	EXPECT_STREQ("", parse(&p, "ban_scope", "all"));
	EXPECT_EQ(SMTPGATE_SCOPE_ALL, p.ban_scope);
}

TEST(errors)
{
	static const struct {
		const char *key, *value, *msg;
	} cases[] = {
		{ "window", "2d", "'2d' is longer than 1d" },
		{ "window", "0", "'0': a duration must be at least 1s" },
		{ "window", "1500ms", "'1500ms' is not a whole number of seconds" },
		{ "window", "", "no value" },
		{ "window", "1h 30m", "'1h 30m': one value expected" },
		{ "flag_tunnel", "true", "'true' is not yes or no (or 1 or 0)" },
		{ "rate_limit", "65535", "'65535' is not a number from 0 to 65534" },
		{ "rate_limit", "-1", "'-1' is not a number from 0 to 65534" },
		{ "ports", "", "the list is empty" },
		{ "ports", "25 0", "'0' is not a port from 1 to 65535" },
		{ "trap_port", "0", "'0' is not a number from 1 to 65535" },
		{ "action", "reject",
		  "'reject' is not drop, log, droplog, redirect or trap" },
		{ "tunnel_action", "redirect",
		  "tunnelled SMTP cannot be redirected; use drop, log or droplog" },
		{ "tunnel_action", "trap",
		  "tunnelled SMTP cannot be trapped; use drop, log or droplog" },
		{ "ban_scope", "unspec", "'unspec' is not smtp or all" },
		{ "submission", "192.0.2.1 192.0.2.2",
		  "'192.0.2.2': a second IPv4 address (one per family)" },
		{ "internal", "192.0.2.5/24",
		  "cannot parse '192.0.2.5/24': host bits set past /24 (the prefix is 192.0.2.0/24)" },
	};
	struct sgnl_policy p;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		sgnl_policy_defaults(&p);
		EXPECT_STREQ(cases[i].msg,
			     parse(&p, cases[i].key, cases[i].value))
			TH_LOG("%s=%s", cases[i].key, cases[i].value);
	}
}

/* A list item's error says where the item is, for smtpgate.conf's lines. */
TEST(item_offsets)
{
	const struct sg_polkey *k = sg_polkey_find("ports", 5);
	char v[] = "25, 465 x 587";
	struct sgnl_policy p;
	struct errs e = { 0 };

	sgnl_policy_defaults(&p);
	EXPECT_EQ(1, sg_polkey_parse(k, v, &p, collect, &e));
	EXPECT_EQ(8U, e.off);
	EXPECT_EQ(3U, p.nports);
}

/* ---- smtpgatectl policy set: usage errors come before any netlink ---- */

/* Runs smtpgatectl with @args; its exit status, stderr in @out. */
static int ctl(char *out, size_t len, const char *const *args)
{
	char exe[PATH_MAX], path[PATH_MAX + 32], *slash;
	const char *argv[16] = { "smtpgatectl" };
	int fd[2], status;
	ssize_t n, got = 0;
	size_t i;
	pid_t pid;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return -1;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	*slash = '\0';
	snprintf(path, sizeof(path), "%s/../ctl/smtpgatectl", exe);
	for (i = 0; args[i] && i < ARRAY_SIZE(argv) - 2; i++)
		argv[i + 1] = args[i];
	if (pipe(fd))
		return -1;
	pid = fork();
	if (!pid) {
		dup2(fd[1], 2);
		close(fd[0]);
		execv(path, (char *const *)argv);
		_exit(127);
	}
	close(fd[1]);
	while (got < (ssize_t)len - 1 &&
	       (n = read(fd[0], out + got, len - 1 - got)) > 0)
		got += n;
	out[got] = '\0';
	close(fd[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(ctl_policy_set_usage)
{
	static const struct {
		const char *arg, *msg;	/* NULL: not a usage error */
	} cases[] = {
		{ "window=2d", "policy set window=2d: '2d' is longer than 1d" },
		{ "rate_limit=65535",
		  "policy set rate_limit=65535: '65535' is not a number from 0 to 65534" },
		{ "tunnel_action=redirect",
		  "policy set tunnel_action=redirect: tunnelled SMTP cannot be redirected" },
		{ "host_prefix4=7",
		  "policy set host_prefix4=7: '7' is not a number from 8 to 32" },
		{ "ports=", "policy set ports=: the list is empty" },
		{ "foo=1", "policy set: 'foo=1' is not KEY=VALUE with a known KEY "
		  "(internal, exempt, walled_garden, action, tunnel_action, "
		  "submission, submission_port, submission_tls_port, ports, "
		  "window, rate_limit, blocked_limit, dest_limit, flag_tunnel, "
		  "ban_scope, host_prefix4, host_prefix6, max_hosts, max_bans, "
		  "inspect_queue, inspect_bytes, trap_port)" },
		{ "generation=3", "is not KEY=VALUE with a known KEY" },
		/* smtpgate.conf's values: past the usage check, to the kernel. */
		{ "window=1m", NULL },
		{ "ports=25 587", NULL },
		{ "flag_tunnel=no", NULL },
		{ "inspect_queue=off", NULL },
		{ "trap_port=off", NULL },
	};
	char out[2048];
	size_t i;
	int rc;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *args[] = { "policy", "set", cases[i].arg, NULL };

		rc = ctl(out, sizeof(out), args);
		if (cases[i].msg) {
			EXPECT_EQ(2, rc) TH_LOG("%s: %s", cases[i].arg, out);
			EXPECT_NE(NULL, strstr(out, cases[i].msg))
				TH_LOG("%s: want \"%s\", got \"%s\"",
				       cases[i].arg, cases[i].msg, out);
		} else {
			EXPECT_NE(2, rc) TH_LOG("%s: %s", cases[i].arg, out);
		}
	}
}

TEST_HARNESS_MAIN
