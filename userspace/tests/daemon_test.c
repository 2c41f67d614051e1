// SPDX-License-Identifier: GPL-2.0
/*
 * smtpgated's parts that need no kernel: the config parser (every error
 * with its exact message), durations, escalation and decay, the store
 * (atomic writes under SIGKILL, corrupt files moved aside), the prefix
 * table against a naive reference, hooks (environment, timeout, limits),
 * the SASL log follower, metrics and the log format.
 *
 * `daemon_test --dump-configs DIR` writes the configs parsed here as
 * fuzzer seeds.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "msgs.h"
#include "smtpgated.h"
#include "duration.h"
#include "polkey.h"

/* ---- helpers ---------------------------------------------------------------- */

static int parse(struct sgd_config *c, const char *text, struct msgs *m)
{
	memset(m, 0, sizeof(*m));
	config_init(c);
	return config_parse(c, "smtpgate.conf", text, strlen(text), collect, m);
}

/* The one error @text gives, "" when it parses. */
static const char *error_of(const char *text)
{
	static struct msgs m;
	struct sgd_config c;

	parse(&c, text, &m);
	config_free(&c);
	if (m.len)
		m.text[m.len - 1] = '\0';	/* the last newline */
	return m.text;
}

static struct sg_prefix pfx(const char *text)
{
	struct sg_prefix p;

	if (sg_prefix_parse(text, &p, NULL, 0))
		abort();
	return p;
}

static char *tmpdir(void)
{
	char tmpl[] = "/tmp/sgd-test.XXXXXX", *d = mkdtemp(tmpl);

	return d ? strdup(d) : NULL;
}

static void rmtree(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		fprintf(stderr, "cannot remove %s\n", dir);
}

static char *slurp(const char *path)
{
	static char buf[65536];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void spit(const char *path, const char *text, const char *mode)
{
	FILE *f = fopen(path, mode);

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* Log lines, for the tests that check what was logged. */
static struct msgs logged;

static void sink(int prio, const char *line, void *arg)
{
	collect(&logged, line);
}

static void log_capture(void)
{
	memset(&logged, 0, sizeof(logged));
	log_set_sink(sink, NULL);
}

/* ---- configs for the fuzzer's seeds, and the valid-config tests --------------------- */

static const char *const good_configs[] = {
	"",
	"# only a comment\n\n   \n",
	"internal = 192.0.2.0/24, 2001:db8:1::/64\nexempt = 192.0.2.25\n",
	"internal = 192.0.2.0/24\n    10.0.0.0/8,\n\t172.16.0.0/12\n",
	"action = redirect\nsubmission = 198.51.100.10 2001:db8:2::10\n"
	"submission_port = 587\nsubmission_tls_port = 465\n",
	"ban_first = 1h30m\nban_factor = 1.5\nban_max = 7d\nban_decay = 2w\n"
	"ban_scope = all\n",
	"ports = 25,465,587\nwindow = 90\nrate_limit = 0\nflag_tunnel = no\n",
	"flag_tunnel = 1\nwindow = 90000ms\n",
	"on_ban = logger -t x \"$SMTPGATE_HOST # not a comment\"\n"
	"hook_timeout = 5s\n",
	"sasl_log = journal\nsasl_threshold = 3\nsasl_window = 5m\n",
	"sasl_syslog_name = postfix, postfix-out\n  postfix/submission\n",
	"state_dir = /tmp/x\nmetrics_file = /tmp/x.prom\nmetrics_interval = 1m\n",
	"allowlist = 192.0.2.200 2001:db8::/48\nwalled_garden = 198.51.100.53\n",
	"host_prefix4 = 24\nhost_prefix6 = 56\nmax_hosts = 16\nmax_bans = 16777216\n",
	"internal = 192.0.2.0/24\r\nwindow = 1m\r\n",
	"internal =\n# a comment inside the value\n  192.0.2.0/24\n",
	"metrics_file =\nsasl_log =\non_flag =\n",
	"inspect_queue = off\ntrap_port = off\n",
};

/* ---- config: values -------------------------------------------------------------- */

TEST(config_defaults)
{
	struct sgd_config c;
	struct msgs m;

	ASSERT_EQ(0, parse(&c, "", &m));
	EXPECT_EQ(3600U, c.ban_first);
	EXPECT_EQ(2.0, c.ban_factor);
	EXPECT_EQ(7U * 86400, c.ban_max);
	EXPECT_EQ(30U * 86400, c.ban_decay);
	EXPECT_EQ(10U, c.hook_timeout);
	EXPECT_STREQ("/var/lib/smtpgate", c.state_dir);
	EXPECT_EQ(NULL, c.metrics_file);
	EXPECT_EQ(NULL, c.sasl_log);
	EXPECT_EQ(5U, c.sasl_threshold);
	EXPECT_EQ(600U, c.sasl_window);
	EXPECT_EQ(SMTPGATE_SCOPE_ALL, c.sasl_scope);
	EXPECT_EQ(NULL, c.sasl_syslog_name);
	/* The kernel's documented defaults, every scalar present. */
	EXPECT_EQ(SMTPGATE_ACTION_DROP, c.pol.action);
	EXPECT_EQ(60U, c.pol.window);
	EXPECT_EQ(15U, c.pol.rate_limit);
	EXPECT_EQ(SMTPGATE_SCOPE_SMTP, c.pol.ban_scope);
	EXPECT_EQ(2U, c.pol.nports);
	EXPECT_EQ(0U, c.pol.internal.n);
	config_free(&c);
}

TEST(config_good_ones_parse)
{
	struct sgd_config c;
	struct msgs m;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(good_configs); i++) {
		EXPECT_EQ(0, parse(&c, good_configs[i], &m))
			TH_LOG("config %zu: %s", i, m.text);
		config_free(&c);
	}
}

TEST(config_values)
{
	char buf[SG_PREFIX_STRLEN];
	struct sgd_config c;
	struct msgs m;

	ASSERT_EQ(0, parse(&c,
		"internal = 192.0.2.0/24, 2001:db8:1::/64\n"
		"\t10.0.0.0/8\n"
		"# a comment does not end the value\n"
		"   172.16.0.0/12\n"
		"action = redirect\n"
		"submission = 2001:db8:2::10, 198.51.100.10\n"
		"ports = 25 465,,587\n"
		"window = 1m30s\n"
		"ban_first = 1h30m\n"
		"ban_factor = 1.5\n"
		"ban_max = 7d\n"
		"ban_scope = all\n"
		"flag_tunnel = no\n"
		"host_prefix6 = 56\n"
		"on_ban = echo \"$SMTPGATE_HOST\" # kept\n"
		"sasl_log = /var/log/mail.log\n"
		"sasl_syslog_name = postfix,postfix-out\n", &m)) TH_LOG("%s", m.text);
	ASSERT_EQ(4U, c.pol.internal.n);
	EXPECT_STREQ("10.0.0.0/8", sg_prefix_str(&c.pol.internal.v[2], buf,
						 sizeof(buf)));
	EXPECT_STREQ("172.16.0.0/12", sg_prefix_str(&c.pol.internal.v[3], buf,
						    sizeof(buf)));
	EXPECT_TRUE(!!(c.pol.has & SGNL_POLICY_HAS(SMTPGATE_A_POLICY_INTERNAL)));
	EXPECT_EQ(SMTPGATE_ACTION_REDIRECT, c.pol.action);
	EXPECT_TRUE(!!(c.pol.has & SGNL_POLICY_HAS(SMTPGATE_A_POLICY_SUBMISSION4)));
	EXPECT_TRUE(!!(c.pol.has & SGNL_POLICY_HAS(SMTPGATE_A_POLICY_SUBMISSION6)));
	EXPECT_EQ(htonl(0xc633640a), c.pol.submission4.s_addr);
	ASSERT_EQ(3U, c.pol.nports);
	EXPECT_EQ(587, c.pol.ports[2]);
	EXPECT_EQ(90U, c.pol.window);
	EXPECT_EQ(5400U, c.ban_first);
	EXPECT_EQ(1.5, c.ban_factor);
	EXPECT_EQ(604800U, c.ban_max);
	EXPECT_EQ(SMTPGATE_SCOPE_ALL, c.pol.ban_scope);
	EXPECT_EQ(0, c.pol.flag_tunnel);
	EXPECT_EQ(56, c.pol.host_prefix6);
	EXPECT_STREQ("echo \"$SMTPGATE_HOST\" # kept", c.on_ban);
	EXPECT_STREQ("/var/log/mail.log", c.sasl_log);
	EXPECT_STREQ("postfix postfix-out", c.sasl_syslog_name);
	config_free(&c);
}

TEST(config_example_is_valid)
{
	char exe[4096], path[4200];
	struct sgd_config c;
	struct msgs m = { 0 };
	ssize_t n;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	ASSERT_GT(n, 0);
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0';
	snprintf(path, sizeof(path), "%s/../../Documentation/smtpgate.conf.example",
		 exe);
	config_init(&c);
	EXPECT_EQ(0, config_load(&c, path, collect, &m)) TH_LOG("%s", m.text);
	EXPECT_EQ(2U, c.pol.internal.n);
	EXPECT_EQ(SMTPGATE_SCOPE_ALL, c.pol.ban_scope);
	EXPECT_EQ(2U, c.allowlist.n);
	config_free(&c);
}

TEST(config_allowlist_overlap)
{
	struct sgd_config c;
	struct sg_prefix p;
	struct msgs m;

	ASSERT_EQ(0, parse(&c, "allowlist = 192.0.2.200, 2001:db8:1::7\n", &m));
	p = pfx("192.0.2.200");
	EXPECT_NE(NULL, config_allowlisted(&c, &p));
	p = pfx("192.0.2.201");
	EXPECT_EQ(NULL, config_allowlisted(&c, &p));
	/* A /64 host holding an allowlisted address is not banned whole. */
	p = pfx("2001:db8:1::/64");
	EXPECT_NE(NULL, config_allowlisted(&c, &p));
	p = pfx("2001:db8:2::/64");
	EXPECT_EQ(NULL, config_allowlisted(&c, &p));
	config_free(&c);
}

/* ---- config: every error, with its exact message ------------------------------------- */

TEST(config_errors)
{
	static const struct {
		const char *in, *msg;
	} cases[] = {
		{ "frobnicate = 1\n", "smtpgate.conf:1: frobnicate: unknown key" },
		{ "\n\nwindow\n", "smtpgate.conf:3: 'window': not 'key = value'" },
		{ "Window = 1\n",
		  "smtpgate.conf:1: 'Window': not a key (keys are like rate_limit)" },
		{ "= 1\n", "smtpgate.conf:1: '': not a key (keys are like rate_limit)" },
		{ "window = 1\nwindow = 2\n",
		  "smtpgate.conf:2: window: already set at line 1" },
		{ "  192.0.2.0/24\n",
		  "smtpgate.conf:1: a continuation line (it starts with a blank) with no key before it" },
		{ "window =\n", "smtpgate.conf:1: window: no value" },
		{ "window = 2d\n", "smtpgate.conf:1: window: '2d' is longer than 1d" },
		{ "window = 0\n",
		  "smtpgate.conf:1: window: '0': a duration must be at least 1s" },
		{ "window = 1h 30m\n",
		  "smtpgate.conf:1: window: '1h 30m': one value expected" },
		{ "ban_first = 10x\n",
		  "smtpgate.conf:1: ban_first: '10x' is not a duration (like 90, 10m, 3h12m, 2d)" },
		{ "ban_first = 1h # one hour\n",
		  "smtpgate.conf:1: ban_first: '1h # one hour': one value expected (a '#' comment must be on a line of its own)" },
		{ "ban_first = 99999999999\n",
		  "smtpgate.conf:1: ban_first: '99999999999': duration too long" },
		{ "ban_max = 3651d\n",
		  "smtpgate.conf:1: ban_max: '3651d' is longer than 3650d" },
		{ "ban_decay = -1\n",
		  "smtpgate.conf:1: ban_decay: '-1' is not a duration (like 90, 10m, 3h12m, 2d)" },
		{ "ban_factor = 0.5\n",
		  "smtpgate.conf:1: ban_factor: '0.5' is not a number >= 1" },
		{ "ban_factor = two\n",
		  "smtpgate.conf:1: ban_factor: 'two' is not a number >= 1" },
		{ "ban_factor = 0x10\n",
		  "smtpgate.conf:1: ban_factor: '0x10' is not a number >= 1" },
		{ "ban_factor = inf\n",
		  "smtpgate.conf:1: ban_factor: 'inf' is not a number >= 1" },
		{ "ban_factor = 1001\n",
		  "smtpgate.conf:1: ban_factor: '1001' is more than 1000" },
		{ "ban_first = 8d\n",
		  "smtpgate.conf:1: ban_first: 8d is longer than ban_max (7d)" },
		{ "ban_first = 2h\nban_max = 1h\n",
		  "smtpgate.conf:2: ban_max: 1h is shorter than ban_first (2h)" },
		{ "ban_scope = everything\n",
		  "smtpgate.conf:1: ban_scope: 'everything' is not smtp or all" },
		{ "sasl_scope = SMTP\n",
		  "smtpgate.conf:1: sasl_scope: 'SMTP' is not smtp or all" },
		{ "action = reject\n",
		  "smtpgate.conf:1: action: 'reject' is not drop, log, droplog, redirect or trap" },
		{ "tunnel_action = reject\n",
		  "smtpgate.conf:1: tunnel_action: 'reject' is not drop, log or droplog" },
		{ "tunnel_action = redirect\n",
		  "smtpgate.conf:1: tunnel_action: tunnelled SMTP cannot be redirected; use drop, log or droplog" },
		{ "action = redirect\n",
		  "smtpgate.conf:1: action: redirect needs a submission server (the submission key)" },
		{ "submission = 198.51.100.10, 198.51.100.11\n",
		  "smtpgate.conf:1: submission: '198.51.100.11': a second IPv4 address (one per family)" },
		{ "submission = 198.51.100.0/24\n",
		  "smtpgate.conf:1: submission: cannot parse '198.51.100.0/24': an address is needed here, not a prefix" },
		{ "internal = 192.0.2.1/24\n",
		  "smtpgate.conf:1: internal: cannot parse '192.0.2.1/24': host bits set past /24 (the prefix is 192.0.2.0/24)" },
		{ "internal = 192.0.2.0/24\n  192.0.2.300\n",
		  "smtpgate.conf:2: internal: cannot parse '192.0.2.300': not an IPv4 or IPv6 address" },
		{ "exempt = 2001:db8::/129\n",
		  "smtpgate.conf:1: exempt: cannot parse '2001:db8::/129': prefix longer than 128" },
		{ "allowlist = example.org\n",
		  "smtpgate.conf:1: allowlist: cannot parse 'example.org': not an IPv4 or IPv6 address" },
		{ "ports = 25, 0\n",
		  "smtpgate.conf:1: ports: '0' is not a port from 1 to 65535" },
		{ "ports = 25\n 70000\n",
		  "smtpgate.conf:2: ports: '70000' is not a port from 1 to 65535" },
		{ "ports =\n", "smtpgate.conf:1: ports: the list is empty" },
		{ "ports = 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33\n",
		  "smtpgate.conf:1: ports: more than 32 ports" },
		{ "rate_limit = -1\n",
		  "smtpgate.conf:1: rate_limit: '-1' is not a number from 0 to 65534" },
		{ "rate_limit = 4294967296\n",
		  "smtpgate.conf:1: rate_limit: '4294967296' is not a number from 0 to 65534" },
		/* The kernel's host counters can reach no more. */
		{ "rate_limit = 65535\n",
		  "smtpgate.conf:1: rate_limit: '65535' is not a number from 0 to 65534" },
		{ "blocked_limit = 65536\n",
		  "smtpgate.conf:1: blocked_limit: '65536' is not a number from 0 to 65535" },
		{ "dest_limit = 268\n",
		  "smtpgate.conf:1: dest_limit: '268' is not a number from 0 to 267" },
		{ "submission_port = 0\n",
		  "smtpgate.conf:1: submission_port: '0' is not a number from 1 to 65535" },
		{ "host_prefix4 = 33\n",
		  "smtpgate.conf:1: host_prefix4: '33' is not a number from 8 to 32" },
		{ "host_prefix6 = 8\n",
		  "smtpgate.conf:1: host_prefix6: '8' is not a number from 16 to 128" },
		{ "max_hosts = 15\n",
		  "smtpgate.conf:1: max_hosts: '15' is not a number from 16 to 16777216" },
		{ "max_bans = 16777217\n",
		  "smtpgate.conf:1: max_bans: '16777217' is not a number from 16 to 16777216" },
		{ "sasl_threshold = 101\n",
		  "smtpgate.conf:1: sasl_threshold: '101' is not a number from 1 to 100" },
		{ "flag_tunnel = true\n",
		  "smtpgate.conf:1: flag_tunnel: 'true' is not yes or no (or 1 or 0)" },
		{ "hook_timeout = 2h\n",
		  "smtpgate.conf:1: hook_timeout: '2h' is longer than 1h" },
		{ "state_dir = var/lib/smtpgate\n",
		  "smtpgate.conf:1: state_dir: 'var/lib/smtpgate' is not an absolute path" },
		{ "state_dir =\n", "smtpgate.conf:1: state_dir: no value" },
		{ "metrics_file = smtpgate.prom\n",
		  "smtpgate.conf:1: metrics_file: 'smtpgate.prom' is not an absolute path" },
		{ "sasl_log = syslog\n",
		  "smtpgate.conf:1: sasl_log: 'syslog' is neither journal nor an absolute path" },
		{ "sasl_syslog_name = postfix post[fix]\n",
		  "smtpgate.conf:1: sasl_syslog_name: 'post[fix]' is not a syslog_name" },
		{ "sasl_syslog_name = /postfix\n",
		  "smtpgate.conf:1: sasl_syslog_name: '/postfix' is not a syslog_name" },
		{ "window = 1\0\n", "smtpgate.conf:1: a NUL byte in the line" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct sgd_config c;
		struct msgs m;
		size_t len = strlen(cases[i].in);

		/* The NUL case: the text goes on past its NUL. */
		if (strstr(cases[i].msg, "NUL"))
			len += 2;
		memset(&m, 0, sizeof(m));
		config_init(&c);
		EXPECT_EQ(1, config_parse(&c, "smtpgate.conf", cases[i].in, len,
					  collect, &m))
			TH_LOG("case %zu: %s", i, m.text);
		if (m.len)
			m.text[m.len - 1] = '\0';
		EXPECT_STREQ(cases[i].msg, m.text) TH_LOG("case %zu", i);
		config_free(&c);
	}
}

/* "off" leaves an optional attribute out, as in smtpgatectl policy set. */
TEST(config_optional_off)
{
	struct sgd_config c;
	struct msgs m;

	EXPECT_EQ(0, parse(&c, "inspect_queue = off\ntrap_port = off\n", &m))
		TH_LOG("%s", m.text);
	EXPECT_FALSE(!!(c.pol.has & SGNL_POLICY_HAS(SMTPGATE_A_POLICY_INSPECT_QUEUE)));
	EXPECT_FALSE(!!(c.pol.has & SGNL_POLICY_HAS(SMTPGATE_A_POLICY_TRAP_PORT)));
	config_free(&c);
	EXPECT_EQ(0, parse(&c, "inspect_queue = 0\ntrap_port = 2525\n", &m))
		TH_LOG("%s", m.text);
	EXPECT_TRUE(!!(c.pol.has & SGNL_POLICY_HAS(SMTPGATE_A_POLICY_INSPECT_QUEUE)));
	EXPECT_EQ(2525, c.pol.trap_port);
	config_free(&c);
}

/* smtpgate.conf's message for a value, less "smtpgate.conf:N: KEY: ". */
static const char *conf_msg(const char *text, const char *key)
{
	char pre[64];
	const char *at;

	snprintf(pre, sizeof(pre), ": %s: ", key);
	at = strstr(text, pre);
	return at ? at + strlen(pre) : text;
}

static void cli_err(void *arg, size_t off, const char *msg)
{
	struct msgs *m = arg;

	if (!m->len)
		collect(m, msg);
}

/*
 * Every policy key, with values of every kind, read as smtpgate.conf reads
 * "KEY = VALUE" and as smtpgatectl policy set reads KEY=VALUE: the same
 * policy or the same message.
 */
TEST(config_and_policy_set_agree)
{
	static const char *const values[] = {
		"", "0", "1", "7", "8", "16", "64", "267", "268", "65534",
		"65535", "65536", "86400", "86401", "16777217", "1m", "2d",
		"90s", "1500ms", "yes", "no", "true", "off", "drop", "log",
		"redirect", "trap", "smtp", "all", "192.0.2.0/24",
		"192.0.2.5/24", "25 587", "25,587,,2525", "192.0.2.1 2001:db8::1",
		"1 2",
	};
	const char *prelude;
	char text[256], *v;
	struct sgd_config c;
	struct sgnl_policy p;
	struct msgs m, cm;
	size_t i, j;
	int conf, cli;

	for (i = 0; i < sg_npolkeys; i++) {
		const struct sg_polkey *k = &sg_polkeys[i];

		if (k->flags & SG_PK_READONLY)
			continue;
		/* What action = redirect and trap need, on both sides. */
		prelude = !strcmp(k->name, "action") ?
			"submission = 192.0.2.1\ntrap_port = 2525\n" : "";
		for (j = 0; j < ARRAY_SIZE(values); j++) {
			snprintf(text, sizeof(text), "%s%s = %s\n", prelude,
				 k->name, values[j]);
			conf = parse(&c, text, &m);
			sgnl_policy_defaults(&p);
			memset(&cm, 0, sizeof(cm));
			if (*prelude) {
				char sub[] = "192.0.2.1", port[] = "2525";

				sg_polkey_parse(sg_polkey_find("submission", 10),
						sub, &p, NULL, NULL);
				sg_polkey_parse(sg_polkey_find("trap_port", 9),
						port, &p, NULL, NULL);
			}
			v = strdup(values[j]);
			ASSERT_NE(NULL, v);
			cli = sg_polkey_parse(k, v, &p, cli_err, &cm);
			free(v);
			EXPECT_EQ(!!conf, !!cli)
				TH_LOG("%s=%s: conf \"%s\", cli \"%s\"", k->name,
				       values[j], m.text, cm.text);
			if (!conf && !cli) {
				EXPECT_EQ(0, memcmp(&c.pol, &p, sizeof(p)))
					TH_LOG("%s=%s: not the same policy",
					       k->name, values[j]);
			} else if (conf && cli) {
				EXPECT_EQ(0, strncmp(conf_msg(m.text, k->name),
						     cm.text, strlen(cm.text) - 1))
					TH_LOG("%s=%s: conf \"%s\", cli \"%s\"",
					       k->name, values[j], m.text, cm.text);
			}
			config_free(&c);
		}
	}
}

TEST(config_all_errors_reported)
{
	struct sgd_config c;
	struct msgs m;

	EXPECT_EQ(3, parse(&c, "a = 1\nwindow = x\n\nports = 25\n  0\n", &m));
	EXPECT_STREQ("smtpgate.conf:1: a: unknown key\n"
		     "smtpgate.conf:2: window: 'x' is not a duration (like 90, 10m, 3h12m, 2d)\n"
		     "smtpgate.conf:5: ports: '0' is not a port from 1 to 65535\n",
		     m.text);
	config_free(&c);
}

TEST(config_too_many_prefixes)
{
	char text[2048] = "internal =";
	size_t i;

	for (i = 0; i < 33; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text),
			 "\n 10.%zu.0.0/16", i);
	EXPECT_STREQ("smtpgate.conf:34: internal: more than 32 prefixes (the kernel's maximum)",
		     error_of(text));
}

TEST(config_missing_file)
{
	struct sgd_config c;
	struct msgs m = { 0 };

	config_init(&c);
	EXPECT_EQ(1, config_load(&c, "/nonexistent/smtpgate.conf", collect, &m));
	EXPECT_STREQ("/nonexistent/smtpgate.conf: cannot open: No such file or directory\n",
		     m.text);
	config_free(&c);
}

/* ---- durations ------------------------------------------------------------------------ */

TEST(durations)
{
	static const struct { const char *in; uint32_t secs; } ok[] = {
		{ "90", 90 }, { "90s", 90 }, { "10m", 600 }, { "1h30m", 5400 },
		{ "7d", 604800 }, { "2w", 1209600 }, { "1d2h3m4s", 93784 },
		{ "4294967295", 4294967295u },
		/* One grammar: milliseconds too, in whole seconds here. */
		{ "2000ms", 2 }, { "1m500ms500ms", 61 },
	};
	static const struct { const char *in, *err; } bad[] = {
		{ "", "'' is not a duration (like 90, 10m, 3h12m, 2d)" },
		{ "h", "'h' is not a duration (like 90, 10m, 3h12m, 2d)" },
		{ "1h30", "'1h30' is not a duration (like 90, 10m, 3h12m, 2d)" },
		{ "1y", "'1y' is not a duration (like 90, 10m, 3h12m, 2d)" },
		{ "0", "'0': a duration must be at least 1s" },
		{ "0m", "'0m': a duration must be at least 1s" },
		{ "4294967296", "'4294967296': duration too long" },
		{ "99999w", "'99999w': duration too long" },
		{ "500ms", "'500ms' is not a whole number of seconds" },
		{ "1s1ms", "'1s1ms' is not a whole number of seconds" },
		{ "1mss", "'1mss' is not a duration (like 90, 10m, 3h12m, 2d)" },
		{ "1m s", "'1m s' is not a duration (like 90, 10m, 3h12m, 2d)" },
	};
	static const struct { uint64_t secs; const char *out; } fmt[] = {
		{ 45, "45s" }, { 60, "1m" }, { 330, "5m30s" }, { 3600, "1h" },
		{ 5400, "1h30m" }, { 11520, "3h12m" }, { 86400, "1d" },
		{ 187200, "2d4h" }, { 604800, "7d" },
	};
	char err[SG_PARSE_ERRLEN], buf[32];
	uint32_t secs;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ok); i++) {
		EXPECT_EQ(0, sg_duration_parse(ok[i].in, &secs, err, sizeof(err)))
			TH_LOG("%s: %s", ok[i].in, err);
		EXPECT_EQ(ok[i].secs, secs);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_NE(0, sg_duration_parse(bad[i].in, &secs, err, sizeof(err)));
		EXPECT_STREQ(bad[i].err, err);
	}
	for (i = 0; i < ARRAY_SIZE(fmt); i++)
		EXPECT_STREQ(fmt[i].out, sg_duration_fmt(fmt[i].secs, buf,
							 sizeof(buf)));
}

/* ---- escalation and decay -------------------------------------------------------------- */

TEST(escalation)
{
	static const uint32_t want[] = {
		0, 3600, 7200, 14400, 28800, 57600, 115200, 230400, 460800,
		604800, 604800,
	};
	struct sgd_config c;
	uint32_t i;

	config_init(&c);
	for (i = 1; i < ARRAY_SIZE(want); i++)
		EXPECT_EQ(want[i], decide_duration(&c, i)) TH_LOG("offence %u", i);
	/* No overflow, however many offences. */
	EXPECT_EQ(604800U, decide_duration(&c, UINT32_MAX));
	c.ban_factor = 1;
	EXPECT_EQ(3600U, decide_duration(&c, 50));
	/* Found by the fuzzer: a factor of 1 must not cost a loop per offence. */
	EXPECT_EQ(3600U, decide_duration(&c, UINT32_MAX));
	c.ban_factor = 1.5;
	c.ban_first = 600;
	EXPECT_EQ(600U, decide_duration(&c, 1));
	EXPECT_EQ(900U, decide_duration(&c, 2));
	EXPECT_EQ(1350U, decide_duration(&c, 3));
	c.ban_first = c.ban_max = 60;
	EXPECT_EQ(60U, decide_duration(&c, 9));
	config_free(&c);
}

FIXTURE(decide) {
	struct sgd_config c;
	struct sgd_store s;
	char *dir;
};

FIXTURE_SETUP(decide)
{
	struct msgs m;

	ASSERT_EQ(0, parse(&self->c, "ban_scope = all\nallowlist = 192.0.2.200\n"
			   "ban_first = 1h\nban_factor = 2\nban_max = 1d\n"
			   "ban_decay = 7d\n", &m));
	self->dir = tmpdir();
	ASSERT_NE(NULL, self->dir);
	ASSERT_EQ(0, store_init(&self->s, self->dir));
	log_capture();
}

FIXTURE_TEARDOWN(decide)
{
	log_set_sink(NULL, NULL);
	store_free(&self->s);
	config_free(&self->c);
	rmtree(self->dir);
	free(self->dir);
}

static struct decision flag(const char *host, uint8_t scope)
{
	struct decision d = { .prefix = pfx(host), .scope = scope };

	snprintf(d.reason, sizeof(d.reason), "rate");
	return d;
}

TEST_F(decide, escalates_then_decays)
{
	uint64_t t = 1700000000;
	struct decision d;
	struct sgd_ban *b;

	d = flag("192.0.2.66", SMTPGATE_SCOPE_ALL);
	decide(&self->c, &self->s, &d, t);
	ASSERT_EQ(DECIDE_BAN, (int)d.what);
	EXPECT_EQ(1U, d.offence);
	EXPECT_EQ(3600U, d.duration);
	b = ptab_find(&self->s.bans, &d.prefix);
	ASSERT_NE(NULL, b);
	EXPECT_TRUE(b->pending);
	EXPECT_EQ(t + 3600, b->expires);
	EXPECT_EQ(SMTPGATE_SCOPE_ALL, b->scope);
	EXPECT_STREQ("rate offence 1", b->reason);

	/* Banned still: left alone, no offence counted. */
	d = flag("192.0.2.66", SMTPGATE_SCOPE_ALL);
	decide(&self->c, &self->s, &d, t + 60);
	EXPECT_EQ(DECIDE_BANNED, (int)d.what);
	EXPECT_EQ(t + 3600, d.until);

	/* The ban ended: a relapse a day later is offence 2, twice as long. */
	store_ban_del(&self->s, ptab_find(&self->s.bans, &d.prefix));
	d = flag("192.0.2.66", SMTPGATE_SCOPE_ALL);
	decide(&self->c, &self->s, &d, t + 86400);
	EXPECT_EQ(DECIDE_BAN, (int)d.what);
	EXPECT_EQ(2U, d.offence);
	EXPECT_EQ(7200U, d.duration);

	/* Capped at ban_max. */
	store_ban_del(&self->s, ptab_find(&self->s.bans, &d.prefix));
	d = flag("192.0.2.66", SMTPGATE_SCOPE_ALL);
	decide(&self->c, &self->s, &d, t + 2 * 86400);
	EXPECT_EQ(3U, d.offence);
	store_ban_del(&self->s, ptab_find(&self->s.bans, &d.prefix));
	for (int i = 0; i < 3; i++) {
		d = flag("192.0.2.66", SMTPGATE_SCOPE_ALL);
		decide(&self->c, &self->s, &d, t + (3 + i) * 86400);
		store_ban_del(&self->s, ptab_find(&self->s.bans, &d.prefix));
	}
	EXPECT_EQ(6U, d.offence);
	EXPECT_EQ(86400U, d.duration);

	/* Clean for a second less than ban_decay after the ban: remembered. */
	d = flag("192.0.2.66", SMTPGATE_SCOPE_ALL);
	decide(&self->c, &self->s, &d, t + 5 * 86400 + 86400 + 7 * 86400 - 1);
	EXPECT_EQ(7U, d.offence);
	store_ban_del(&self->s, ptab_find(&self->s.bans, &d.prefix));
	/* Clean for ban_decay: forgotten, first ban again. */
	d = flag("192.0.2.66", SMTPGATE_SCOPE_ALL);
	decide(&self->c, &self->s, &d, t + 21 * 86400);
	EXPECT_EQ(1U, d.offence);
	EXPECT_EQ(3600U, d.duration);
}

TEST_F(decide, allowlist_and_scope)
{
	struct decision d;
	struct sg_prefix k;
	struct sgd_ban *b;

	d = flag("192.0.2.200", SMTPGATE_SCOPE_ALL);
	decide(&self->c, &self->s, &d, 1000);
	EXPECT_EQ(DECIDE_ALLOW, (int)d.what);
	EXPECT_EQ(0U, self->s.offences.n);
	EXPECT_EQ(0U, self->s.bans.n);

	/* An smtp ban does not stop an "all" decision: it is widened. */
	d = flag("192.0.2.67", SMTPGATE_SCOPE_SMTP);
	decide(&self->c, &self->s, &d, 1000);
	EXPECT_EQ(DECIDE_BAN, (int)d.what);
	d = flag("192.0.2.67", SMTPGATE_SCOPE_SMTP);
	decide(&self->c, &self->s, &d, 1001);
	EXPECT_EQ(DECIDE_BANNED, (int)d.what);
	d = flag("192.0.2.67", SMTPGATE_SCOPE_ALL);
	decide(&self->c, &self->s, &d, 1002);
	EXPECT_EQ(DECIDE_BAN, (int)d.what);
	EXPECT_EQ(2U, d.offence);

	/* A ban on a covering prefix counts. */
	k = pfx("192.0.2.0/24");
	b = store_ban_put(&self->s, &k);
	b->scope = SMTPGATE_SCOPE_ALL;
	b->expires = 0;
	d = flag("192.0.2.99", SMTPGATE_SCOPE_ALL);
	decide(&self->c, &self->s, &d, 1003);
	EXPECT_EQ(DECIDE_BANNED, (int)d.what);
	EXPECT_EQ(0U, d.until);
}

/* The kernel's events, on a daemon with no kernel: store and log only. */
TEST_F(decide, events_follow_the_kernel)
{
	struct sgd d = { .cfg = &self->c };
	struct sgnl_event ev = { 0 };
	struct decision dec;
	struct sgd_ban *b;
	struct sgd_offence *o;

	d.store = self->s;
	/* A ban made by hand: persisted and logged. */
	ev.cmd = SMTPGATE_CMD_BAN_ADDED;
	ev.has_ban = true;
	ev.ban.prefix = pfx("192.0.2.77");
	ev.ban.scope = SMTPGATE_SCOPE_ALL;
	ev.ban.timeout = 600;
	snprintf(ev.ban.reason, sizeof(ev.ban.reason), "abuse ticket #12");
	decide_event(&ev, &d);
	b = ptab_find(&d.store.bans, &ev.ban.prefix);
	ASSERT_NE(NULL, b);
	EXPECT_EQ(SMTPGATE_SCOPE_ALL, b->scope);
	EXPECT_STREQ("abuse ticket #12", b->reason);
	EXPECT_GE(b->expires, now_unix() + 599);
	EXPECT_EQ(1U, d.cnt.manual_bans);
	EXPECT_STREQ("action=manual-ban host=192.0.2.77 reason=\"abuse ticket #12\" duration=10m scope=all\n",
		     logged.text);

	/* Our own ban's event: no news. */
	dec = flag("192.0.2.66", SMTPGATE_SCOPE_ALL);
	decide(&self->c, &d.store, &dec, now_unix());
	ev.ban.prefix = pfx("192.0.2.66");
	decide_event(&ev, &d);
	EXPECT_EQ(1U, d.cnt.manual_bans);
	EXPECT_FALSE(((struct sgd_ban *)ptab_find(&d.store.bans,
						   &ev.ban.prefix))->pending);

	/* Lifted early: gone from the store, the clean period starts now. */
	ev.cmd = SMTPGATE_CMD_BAN_REMOVED;
	memset(&logged, 0, sizeof(logged));
	decide_event(&ev, &d);
	EXPECT_EQ(NULL, ptab_find(&d.store.bans, &ev.ban.prefix));
	o = ptab_find(&d.store.offences, &ev.ban.prefix);
	ASSERT_NE(NULL, o);
	EXPECT_LE(o->clean_from, now_unix());
	EXPECT_STREQ("action=unban host=192.0.2.66 why=removed reason=\"abuse ticket #12\"\n",
		     logged.text);

	/* A flagged allowlisted host: logged with its evidence, no ban. */
	memset(&ev, 0, sizeof(ev));
	memset(&logged, 0, sizeof(logged));
	ev.cmd = SMTPGATE_CMD_HOST_FLAGGED;
	ev.has_host = true;
	ev.host.prefix = pfx("192.0.2.200");
	ev.host.reasons = SMTPGATE_REASON_RATE | SMTPGATE_REASON_DESTINATIONS;
	ev.host.attempts[SMTPGATE_CLASS_SMTP4] = 40;
	ev.host.rate = 40;
	ev.host.blocked_rate = 38;
	ev.host.destinations = 12;
	decide_event(&ev, &d);
	EXPECT_STREQ("action=allow host=192.0.2.200 reason=rate,destinations allowlist=192.0.2.200 attempts=40 rate=40 blocked=38 destinations=12\n",
		     logged.text);
	EXPECT_EQ(0U, d.nqueue);
	EXPECT_EQ(1U, d.cnt.allowlisted);

	/* A flagged host: queued for the kernel, with its reasons. */
	ev.host.prefix = pfx("2001:db8:1::/64");
	decide_event(&ev, &d);
	ASSERT_EQ(1U, d.nqueue);
	EXPECT_EQ(DECIDE_BAN, (int)d.queue[0].what);
	EXPECT_STREQ("rate,destinations", d.queue[0].reason);
	EXPECT_EQ(SMTPGATE_SCOPE_ALL, d.queue[0].scope);
	free(d.queue);
	self->s = d.store;
}

/* ---- prefix tables: against a naive reference --------------------------------------------- */

struct naive {
	struct sg_prefix p;
	bool used;
};

TEST(ptab_random_vs_naive)
{
	static struct naive ref[512];
	struct ptab t;
	unsigned int seed = 42, op;

	ptab_init(&t, sizeof(struct sgd_ban));
	for (op = 0; op < 200000; op++) {
		unsigned int j;
		struct sg_prefix p = { .family = rand_r(&seed) & 1 ? AF_INET : AF_INET6 };
		struct sgd_ban *b, *want = NULL;
		int action = rand_r(&seed) % 4;

		/* Few distinct addresses, so hits, misses and covers all happen. */
		p.len = p.family == AF_INET ? 32 - (rand_r(&seed) % 3) * 8 :
			128 - (rand_r(&seed) % 3) * 32;
		p.addr.bytes[0] = 10;
		p.addr.bytes[3] = rand_r(&seed) % 4;
		p.addr.bytes[15] = rand_r(&seed) % 4;
		sg_prefix_mask(&p);
		for (j = 0; j < ARRAY_SIZE(ref); j++)
			if (ref[j].used && sg_prefix_equal(&ref[j].p, &p))
				break;
		b = ptab_find(&t, &p);
		ASSERT_EQ(j < ARRAY_SIZE(ref), b != NULL);
		if (action == 0 && b) {
			ptab_del(&t, b);
			ref[j].used = false;
		} else if (action == 1 && !b) {
			for (j = 0; ref[j].used; j++)
				;
			ref[j].used = true;
			ref[j].p = p;
			ASSERT_NE(NULL, ptab_get(&t, &p, NULL));
		} else if (action == 2) {
			/* covering: the longest stored prefix holding p */
			struct sg_prefix *best = NULL;

			for (j = 0; j < ARRAY_SIZE(ref); j++)
				if (ref[j].used && sg_prefix_contains(&ref[j].p, &p) &&
				    (!best || ref[j].p.len > best->len))
					best = &ref[j].p;
			want = ptab_covering(&t, &p);
			ASSERT_EQ(best != NULL, want != NULL);
			if (best)
				ASSERT_TRUE(sg_prefix_equal(best, &want->prefix));
		}
	}
	for (op = 0; op < ARRAY_SIZE(ref); op++)
		if (ref[op].used)
			ASSERT_NE(NULL, ptab_find(&t, &ref[op].p));
	ptab_free(&t);
}

/* ---- the store ------------------------------------------------------------------------------ */

FIXTURE(store) {
	char *dir;
	struct sgd_store s;
	char path[512];
};

FIXTURE_SETUP(store)
{
	self->dir = tmpdir();
	ASSERT_NE(NULL, self->dir);
	ASSERT_EQ(0, store_init(&self->s, self->dir));
	snprintf(self->path, sizeof(self->path), "%s/smtpgated.state", self->dir);
}

FIXTURE_TEARDOWN(store)
{
	store_free(&self->s);
	rmtree(self->dir);
	free(self->dir);
}

static void add_ban(struct sgd_store *s, const char *p, uint8_t scope,
		    uint64_t expires, const char *reason)
{
	struct sg_prefix k = pfx(p);
	struct sgd_ban *b = store_ban_put(s, &k);

	b->scope = scope;
	b->expires = expires;
	b->created = 1700000000;
	snprintf(b->reason, sizeof(b->reason), "%s", reason);
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The state as its sorted lines, generation left out: equal for equal
 * states whatever order the tables hold them in (a replay deletes and
 * adds in another order than the daemon did).
 */
static char *canon(struct sgd_store *s)
{
	char *text = NULL, **v, *line, *save, *out;
	size_t len = 0, n = 0, i, o = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f || store_dump(s, f))
		abort();
	fclose(f);
	v = calloc(len / 2 + 2, sizeof(*v));
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		if (strncmp(line, "generation ", 11))
			v[n++] = line;
	qsort(v, n, sizeof(*v), cmp_line);
	out = malloc(len + 1);
	for (i = 0; i < n; i++)
		o += sprintf(out + o, "%s\n", v[i]);
	out[o] = '\0';
	free(v);
	free(text);
	return out;
}

/* A file's bytes, NULs and all. */
static char *slurpn(const char *path, size_t *n)
{
	struct stat st;
	char *buf;
	FILE *f = fopen(path, "r");

	if (!f || fstat(fileno(f), &st))
		abort();
	buf = malloc(st.st_size + 1);
	*n = fread(buf, 1, st.st_size, f);
	buf[*n] = '\0';
	fclose(f);
	return buf;
}

static void spitn(const char *path, const char *buf, size_t n)
{
	FILE *f;

	unlink(path);
	f = fopen(path, "w");
	if (!f || fwrite(buf, 1, n, f) != n)
		abort();
	fclose(f);
}

static off_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) ? -1 : st.st_size;
}

/* CRC32C bit by bit: a reference for store.c's sliced one. */
static uint32_t crc32c_ref(const char *p, size_t n)
{
	uint32_t c = ~0u;
	int k;

	while (n--) {
		c ^= (unsigned char)*p++;
		for (k = 0; k < 8; k++)
			c = c & 1 ? c >> 1 ^ 0x82f63b78 : c >> 1;
	}
	return ~c;
}

/* The file a corrupt one was moved aside to, "" if none. */
static void find_aside(const char *dir, const char *name, char *out, size_t len)
{
	struct dirent *e;
	DIR *d = opendir(dir);

	out[0] = '\0';
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, name, strlen(name)) &&
		    strstr(e->d_name, ".corrupt-"))
			snprintf(out, len, "%s/%s", dir, e->d_name);
	closedir(d);
}

TEST_F(store, roundtrip)
{
	char msg[512];
	struct sgd_offence *o;
	struct sgd_ban *b;
	struct sg_prefix k;
	uint64_t later = now_unix() + 3600;

	add_ban(&self->s, "192.0.2.66", SMTPGATE_SCOPE_ALL, later,
		"rate,destinations offence 2");
	add_ban(&self->s, "2001:db8:1::/64", SMTPGATE_SCOPE_SMTP, 0, "");
	add_ban(&self->s, "198.51.100.0/24", SMTPGATE_SCOPE_SMTP, later,
		"100% spam - \"ticket\"\tx");
	add_ban(&self->s, "203.0.113.9", SMTPGATE_SCOPE_SMTP, later, "-");
	add_ban(&self->s, "203.0.113.10", SMTPGATE_SCOPE_SMTP, 1000, "expired");
	k = pfx("192.0.2.66");
	o = ptab_get(&self->s.offences, &k, NULL);
	o->count = 2;
	o->last = 1700000000;
	o->clean_from = 1700007200;
	ASSERT_EQ(0, store_save(&self->s, now_unix(), msg, sizeof(msg)))
		TH_LOG("%s", msg);
	EXPECT_FALSE(self->s.dirty);
	EXPECT_EQ(NULL, slurp(self->s.tmp));

	ASSERT_EQ(0, store_load(&self->s, msg, sizeof(msg))) TH_LOG("%s", msg);
	EXPECT_EQ(4U, self->s.bans.n);	/* the expired one is gone */
	k = pfx("192.0.2.66");
	b = ptab_find(&self->s.bans, &k);
	ASSERT_NE(NULL, b);
	EXPECT_EQ(SMTPGATE_SCOPE_ALL, b->scope);
	EXPECT_EQ(later, b->expires);
	EXPECT_EQ(1700000000U, b->created);
	EXPECT_STREQ("rate,destinations offence 2", b->reason);
	k = pfx("2001:db8:1::/64");
	b = ptab_find(&self->s.bans, &k);
	ASSERT_NE(NULL, b);
	EXPECT_EQ(0U, b->expires);
	EXPECT_STREQ("", b->reason);
	k = pfx("198.51.100.0/24");
	EXPECT_STREQ("100% spam - \"ticket\"\tx",
		     ((struct sgd_ban *)ptab_find(&self->s.bans, &k))->reason);
	k = pfx("203.0.113.9");
	EXPECT_STREQ("-", ((struct sgd_ban *)ptab_find(&self->s.bans, &k))->reason);
	k = pfx("192.0.2.66");
	o = ptab_find(&self->s.offences, &k);
	ASSERT_NE(NULL, o);
	EXPECT_EQ(2U, o->count);
	EXPECT_EQ(1700007200U, o->clean_from);
	/* The text is for humans too. */
	EXPECT_NE(NULL, strstr(slurp(self->path),
			       "ban 192.0.2.66/32 all "));
}

TEST_F(store, empty_dir_is_a_fresh_start)
{
	char msg[512];

	EXPECT_EQ(0, store_load(&self->s, msg, sizeof(msg)));
	EXPECT_STREQ("", msg);
	EXPECT_EQ(0U, self->s.bans.n);
}

TEST_F(store, failed_save_keeps_the_old_file)
{
	char msg[512], want[1024], old[65536];

	add_ban(&self->s, "192.0.2.66", SMTPGATE_SCOPE_ALL, 0, "one");
	ASSERT_EQ(0, store_save(&self->s, now_unix(), msg, sizeof(msg)));
	snprintf(old, sizeof(old), "%s", slurp(self->path));
	/* The temporary file cannot be created: a directory is in the way. */
	ASSERT_EQ(0, mkdir(self->s.tmp, 0700));
	add_ban(&self->s, "192.0.2.67", SMTPGATE_SCOPE_ALL, 0, "two");
	EXPECT_EQ(-EISDIR, store_compact(&self->s, now_unix(), msg, sizeof(msg)));
	snprintf(want, sizeof(want), "cannot create %s: Is a directory",
		 self->s.tmp);
	EXPECT_STREQ(want, msg);
	EXPECT_TRUE(self->s.dirty);
	EXPECT_EQ(1U, self->s.save_errors);
	EXPECT_STREQ(old, slurp(self->path));
	rmdir(self->s.tmp);
	EXPECT_EQ(0, store_save(&self->s, now_unix(), msg, sizeof(msg)));
	EXPECT_EQ(0, store_load(&self->s, msg, sizeof(msg)));
	EXPECT_EQ(2U, self->s.bans.n);
}

/* State A: 3000 bans of scope smtp; state B: the first 1000 of them, all. */
static void state_a(struct sgd_store *s)
{
	char ip[32];
	int i;

	for (i = 0; i < 3000; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.1", i / 256, i % 256);
		add_ban(s, ip, SMTPGATE_SCOPE_SMTP, 0, "state a");
	}
}

static void state_b(struct sgd_store *s)
{
	struct sg_prefix k;
	char ip[32];
	int i;

	for (i = 0; i < 3000; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.1", i / 256, i % 256);
		if (i < 1000) {
			add_ban(s, ip, SMTPGATE_SCOPE_ALL, 0, "state b");
			continue;
		}
		k = pfx(ip);
		if (ptab_find(&s->bans, &k))
			store_ban_del(s, ptab_find(&s->bans, &k));
	}
}

/*
 * SIGKILL at any moment: a child turns the state from A to B and back, a
 * save after each turn (journal records of 3000 changes, and compactions
 * when the journal outgrows the snapshot), as fast as it can; it is killed
 * at random points, and each time the state loaded must be exactly A or
 * exactly B, never a mix.
 */
TEST_F(store, sigkill_never_leaves_a_torn_state)
{
	unsigned int seed = 7, round, seen[2] = { 0 };
	struct sgd_store a, b;
	char msg[1024], *want[2], *got;

	store_init(&a, self->dir);
	store_init(&b, self->dir);
	state_a(&a);
	state_a(&b);
	state_b(&b);
	want[0] = canon(&a);
	want[1] = canon(&b);
	store_free(&a);
	store_free(&b);
	for (round = 0; round < 40; round++) {
		int ready[2];
		pid_t pid;
		char c;

		ASSERT_EQ(0, pipe(ready));
		pid = fork();
		ASSERT_GE(pid, 0);
		if (pid == 0) {
			store_init(&a, self->dir);
			if (store_load(&a, msg, sizeof(msg)) < 0)
				_exit(1);
			state_a(&a);
			/* One whole state first: there is always a file. */
			store_compact(&a, 1, msg, sizeof(msg));
			if (write(ready[1], "", 1) != 1)
				_exit(1);
			for (;;) {
				state_b(&a);
				store_save(&a, 1, msg, sizeof(msg));
				state_a(&a);
				store_save(&a, 1, msg, sizeof(msg));
			}
		}
		close(ready[1]);
		ASSERT_EQ(1, read(ready[0], &c, 1));
		close(ready[0]);
		/* Mid-stream: a save of either state takes a few ms. */
		usleep(rand_r(&seed) % 20000);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		ASSERT_EQ(0, store_load(&self->s, msg, sizeof(msg)))
			TH_LOG("round %u: %s", round, msg);
		got = canon(&self->s);
		ASSERT_TRUE(!strcmp(got, want[0]) || !strcmp(got, want[1]))
			TH_LOG("round %u: %zu bans: %.300s", round, self->s.bans.n, got);
		seen[!strcmp(got, want[1])]++;
		free(got);
	}
	/* Both states were caught: the kills did land mid-stream. */
	EXPECT_GT(seen[0], 0U);
	EXPECT_GT(seen[1], 0U);
	free(want[0]);
	free(want[1]);
}

TEST_F(store, corrupt_files_are_moved_aside)
{
	static const struct { const char *text, *why; unsigned int line; } cases[] = {
		{ "", "empty file", 1 },
		{ "hello\n", "not a smtpgated state file (version 1 or 2)", 1 },
		{ "smtpgated-state 1\nban 192.0.2.66/32 all 0 0 x\n",
		  "no end line (truncated?)", 3 },
		{ "smtpgated-state 1\nban 192.0.2.66/32 all 0 0 x\nend 1 0",
		  "a line without its newline (truncated?)", 3 },
		{ "smtpgated-state 1\nban 192.0.2.66/32 all 0 0 x\nend 2 0\n",
		  "the end line's counts do not match the records", 3 },
		{ "smtpgated-state 1\nban 192.0.2.66/33 all 0 0 x\nend 1 0\n",
		  "bad PREFIX", 2 },
		{ "smtpgated-state 1\nban 192.0.2.1/24 all 0 0 x\nend 1 0\n",
		  "bad PREFIX", 2 },
		{ "smtpgated-state 1\nban 192.0.2.66/32 most 0 0 x\nend 1 0\n",
		  "bad SCOPE", 2 },
		{ "smtpgated-state 1\nban 192.0.2.66/32 all -5 0 x\nend 1 0\n",
		  "bad EXPIRES", 2 },
		{ "smtpgated-state 1\nban 192.0.2.66/32 all 0 0 a%zz\nend 1 0\n",
		  "bad REASON", 2 },
		{ "smtpgated-state 1\nban 192.0.2.66/32 all 0 0\nend 1 0\n",
		  "a ban line has 6 fields", 2 },
		{ "smtpgated-state 1\nban 192.0.2.66/32 all 0 0 x\nban 192.0.2.66/32 smtp 0 0 y\nend 2 0\n",
		  "the prefix has a ban already", 3 },
		{ "smtpgated-state 1\noffence 192.0.2.66/32 0 1 2\nend 0 1\n",
		  "bad COUNT", 2 },
		{ "smtpgated-state 1\nbanana\nend 0 0\n", "unknown record", 2 },
		{ "smtpgated-state 1\nkernel 0 0\nend 0 0\n",
		  "bad kernel line", 2 },
		{ "smtpgated-state 1\nkernel 5 0\nkernel 5 1\nend 0 0\n",
		  "a second kernel line", 3 },
		{ "smtpgated-state 1\nend 0 0\nban 192.0.2.66/32 all 0 0 x\n",
		  "text after the end line", 3 },
		{ "smtpgated-state 1\nban 192.0.2.66/32 all 0 x x\nend 1 0\n",
		  "bad CREATED", 2 },
		{ "smtpgated-state 1\noffence 192.0.2.66/32 1 1 -2\nend 0 1\n",
		  "bad CLEAN_FROM", 2 },
		{ "smtpgated-state 2\nban 192.0.2.66/32 all 0 0 x\nend 1 0\n",
		  "no generation line after the version", 2 },
		{ "smtpgated-state 2\ngeneration 0\nend 0 0\n",
		  "no generation line after the version", 2 },
	};
	char msg[1024], want[1024], aside[600];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct dirent *e;
		DIR *d;

		spit(self->path, cases[i].text, "w");
		EXPECT_EQ(1, store_load(&self->s, msg, sizeof(msg)))
			TH_LOG("case %zu", i);
		EXPECT_EQ(0U, self->s.bans.n);
		EXPECT_EQ(-1, access(self->path, F_OK)) TH_LOG("case %zu: still there", i);
		/* Exactly one .corrupt-TIME file, holding the text as it was. */
		aside[0] = '\0';
		d = opendir(self->dir);
		while ((e = readdir(d)))
			if (strstr(e->d_name, ".corrupt-"))
				snprintf(aside, sizeof(aside), "%s/%s",
					 self->dir, e->d_name);
		closedir(d);
		ASSERT_NE('\0', aside[0]) TH_LOG("case %zu: not moved aside", i);
		EXPECT_STREQ(cases[i].text, slurp(aside));
		snprintf(want, sizeof(want), "%s:%u: %s; moved aside to %s, "
			 "starting from the kernel's bans", self->path,
			 cases[i].line, cases[i].why, aside);
		EXPECT_STREQ(want, msg) TH_LOG("case %zu", i);
		unlink(aside);
	}
}

TEST_F(store, one_daemon_per_directory)
{
	struct sgd_store other;
	char err[1024], want[1024];

	ASSERT_EQ(0, store_lock(&self->s, err, sizeof(err))) TH_LOG("%s", err);
	ASSERT_EQ(0, store_init(&other, self->dir));
	EXPECT_EQ(-EWOULDBLOCK, store_lock(&other, err, sizeof(err)));
	snprintf(want, sizeof(want), "another smtpgated uses %s (it holds %s/lock)",
		 self->dir, self->dir);
	EXPECT_STREQ(want, err);
	store_free(&other);
}

/* The kernel line: which kernel state the bans were reconciled with. */
/* A refused start gives the lock up and leaves no file; never another's. */
TEST_F(store, unlock_removes_only_its_own_lock)
{
	struct sgd_store other;
	char err[4608], lock[4200];
	struct stat st;

	snprintf(lock, sizeof(lock), "%s/lock", self->dir);
	ASSERT_EQ(0, store_lock(&self->s, err, sizeof(err))) TH_LOG("%s", err);
	ASSERT_EQ(0, stat(lock, &st));
	ASSERT_EQ(0, store_init(&other, self->dir));
	EXPECT_EQ(-EWOULDBLOCK, store_lock(&other, err, sizeof(err)));
	store_unlock(&other);		/* not its lock: nothing happens */
	EXPECT_EQ(0, stat(lock, &st));
	store_unlock(&self->s);
	EXPECT_EQ(-1, stat(lock, &st));
	EXPECT_EQ(-1, self->s.lock_fd);
	/* Free again: the next daemon locks a new file. */
	EXPECT_EQ(0, store_lock(&other, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_EQ(0, stat(lock, &st));
	store_free(&other);
}

TEST_F(store, kernel_instance_roundtrip)
{
	char msg[512];

	add_ban(&self->s, "192.0.2.66", SMTPGATE_SCOPE_ALL, 0, "one");
	ASSERT_EQ(0, store_save(&self->s, now_unix(), msg, sizeof(msg)));
	EXPECT_EQ(NULL, strstr(slurp(self->path), "kernel "));
	self->s.kinstance = 0x8000000000000001ULL;
	self->s.kflushes = 3;
	ASSERT_EQ(0, store_save(&self->s, now_unix(), msg, sizeof(msg)));
	/* A change of its own: appended to the journal, the snapshot as it was. */
	EXPECT_NE(NULL, strstr(slurp(self->s.jpath),
			       "kernel 9223372036854775809 3\n"));
	EXPECT_EQ(NULL, strstr(slurp(self->path), "kernel "));
	self->s.kinstance = 7;
	ASSERT_EQ(0, store_load(&self->s, msg, sizeof(msg))) TH_LOG("%s", msg);
	EXPECT_EQ(0x8000000000000001ULL, self->s.kinstance);
	EXPECT_EQ(3U, self->s.kflushes);
	EXPECT_EQ(1U, self->s.bans.n);
	ASSERT_EQ(0, store_compact(&self->s, now_unix(), msg, sizeof(msg)));
	EXPECT_NE(NULL, strstr(slurp(self->path),
			       "kernel 9223372036854775809 3\n"));
	/* Back to none (a kernel without instances), flushes counted. */
	self->s.kinstance = 0;
	self->s.kflushes = 4;
	ASSERT_EQ(0, store_save(&self->s, now_unix(), msg, sizeof(msg)));
	ASSERT_EQ(0, store_load(&self->s, msg, sizeof(msg))) TH_LOG("%s", msg);
	EXPECT_EQ(0U, self->s.kinstance);
	self->s.kflushes = 5;
	ASSERT_EQ(0, store_save(&self->s, now_unix(), msg, sizeof(msg)));
	ASSERT_EQ(0, store_load(&self->s, msg, sizeof(msg))) TH_LOG("%s", msg);
	EXPECT_EQ(0U, self->s.kinstance);
	EXPECT_EQ(1U, self->s.bans.n);
	/* A file without one (older smtpgated): instance unknown. */
	unlink(self->s.jpath);
	spit(self->path, "smtpgated-state 1\nend 0 0\n", "w");
	ASSERT_EQ(0, store_load(&self->s, msg, sizeof(msg)));
	EXPECT_EQ(0U, self->s.kinstance);
}

/*
 * Issue 11, item 4: restore from facts.  A new kernel instance lost the
 * bans; the same one lost none, whatever it holds now (a flush while the
 * daemon was down left it with none: that is no reason to restore).
 */
TEST(sync_rules)
{
	/* Unknown (an old state file, an old kernel): the old guess, at start. */
	EXPECT_EQ((int)SYNC_UNKNOWN_LOST, (int)sync_decide(0, 0, 42, 0, 0, true));
	EXPECT_EQ((int)SYNC_UNKNOWN_KEPT, (int)sync_decide(0, 0, 42, 0, 3, true));
	EXPECT_EQ((int)SYNC_UNKNOWN_KEPT, (int)sync_decide(0, 0, 42, 0, 0, false));
	EXPECT_EQ((int)SYNC_UNKNOWN_LOST, (int)sync_decide(42, 0, 0, 0, 0, true));
	/* Reloaded module, reboot: restore, at start or running. */
	EXPECT_EQ((int)SYNC_NEW_INSTANCE, (int)sync_decide(42, 0, 43, 0, 0, true));
	EXPECT_EQ((int)SYNC_NEW_INSTANCE, (int)sync_decide(42, 5, 43, 0, 0, false));
	EXPECT_EQ((int)SYNC_NEW_INSTANCE, (int)sync_decide(42, 0, 43, 0, 2, true));
	/* Flushed while down: none held, none restored. */
	EXPECT_EQ((int)SYNC_FLUSHED, (int)sync_decide(42, 0, 42, 1, 0, true));
	EXPECT_EQ((int)SYNC_FLUSHED, (int)sync_decide(42, 1, 42, 3, 0, false));
	/* Same instance, no flush: unbanned or expired. */
	EXPECT_EQ((int)SYNC_SAME_INSTANCE, (int)sync_decide(42, 1, 42, 1, 0, true));
	EXPECT_EQ((int)SYNC_SAME_INSTANCE, (int)sync_decide(42, 1, 42, 1, 4, true));
	EXPECT_TRUE(sync_restores(SYNC_UNKNOWN_LOST));
	EXPECT_TRUE(sync_restores(SYNC_NEW_INSTANCE));
	EXPECT_FALSE(sync_restores(SYNC_UNKNOWN_KEPT));
	EXPECT_FALSE(sync_restores(SYNC_FLUSHED));
	EXPECT_FALSE(sync_restores(SYNC_SAME_INSTANCE));
}

/* A flush event: the store forgets every ban the kernel held, not later ones. */
TEST_F(store, flush_event_drops_the_flushed_bans)
{
	struct sgd d = { 0 };
	struct sgnl_event ev = { .cmd = SMTPGATE_CMD_BANS_FLUSHED,
				 .has_stats = true };
	struct sgd_offence *o;
	struct sg_prefix k, after = pfx("192.0.2.68");
	struct sgd_ban *b;
	uint64_t later = now_unix() + 3600;

	log_capture();
	add_ban(&self->s, "192.0.2.66", SMTPGATE_SCOPE_ALL, later, "one");
	add_ban(&self->s, "192.0.2.67", SMTPGATE_SCOPE_ALL, 0, "two");
	add_ban(&self->s, "192.0.2.68", SMTPGATE_SCOPE_ALL, later, "after");
	b = ptab_find(&self->s.bans, &after);
	b->pending = true;	/* sent after the flush: its BAN_ADDED to come */
	k = pfx("192.0.2.66");
	o = ptab_get(&self->s.offences, &k, NULL);
	o->count = 1;
	o->clean_from = later;
	self->s.kinstance = 42;
	self->s.kflushes = 1;
	self->s.dirty = false;
	d.store = self->s;

	/* Another instance's flush: a reload we missed, resync; nothing dropped. */
	ev.stats.instance = 41;
	ev.stats.flushes = 2;
	EXPECT_EQ(0, decide_event(&ev, &d));
	EXPECT_TRUE(d.need_resync);
	EXPECT_EQ(3U, d.store.bans.n);

	ev.stats.instance = 42;
	ev.stats.bans = 2;
	EXPECT_EQ(0, decide_event(&ev, &d));
	EXPECT_EQ(1U, d.store.bans.n);
	EXPECT_NE(NULL, ptab_find(&d.store.bans, &after));
	k = pfx("192.0.2.66");
	EXPECT_EQ(NULL, ptab_find(&d.store.bans, &k));
	o = ptab_find(&d.store.offences, &k);
	ASSERT_NE(NULL, o);
	EXPECT_EQ(1U, o->count);	/* the history stays */
	EXPECT_LE(o->clean_from, now_unix());
	EXPECT_EQ(2U, d.store.kflushes);
	EXPECT_TRUE(d.store.dirty);
	EXPECT_NE(NULL, strstr(logged.text, "action=flush"))
		TH_LOG("%s", logged.text);
	self->s = d.store;
	log_set_sink(NULL, NULL);
}

/* ---- the journal ------------------------------------------------------------------------------ */

static void ip_ban(struct sgd_store *s, int i, const char *reason)
{
	char ip[32];

	snprintf(ip, sizeof(ip), "10.%d.%d.%d", i >> 16 & 255, i >> 8 & 255,
		 i & 255);
	add_ban(s, ip, SMTPGATE_SCOPE_SMTP, 0, reason);
}

/* Issue 11, item 6: a save writes what changed, whatever the state's size. */
TEST_F(store, a_batch_appends_only_its_change)
{
	struct stat a, b;
	uint64_t j0, w0;
	char msg[512];
	int i;

	for (i = 0; i < 20000; i++)
		ip_ban(&self->s, i, "rate,destinations offence 1");
	/* The first save has no snapshot to add to: one is written. */
	ASSERT_EQ(0, store_save(&self->s, now_unix(), msg, sizeof(msg)));
	ASSERT_EQ(0, stat(self->path, &a));
	EXPECT_GT(a.st_size, 20000 * 40);
	EXPECT_EQ(1U, self->s.compactions);

	j0 = self->s.jsize;
	w0 = self->s.bytes_written;
	add_ban(&self->s, "192.0.2.1", SMTPGATE_SCOPE_ALL, 0, "one");
	ASSERT_EQ(0, store_save(&self->s, now_unix(), msg, sizeof(msg)));
	EXPECT_LT(self->s.jsize - j0, 80U);
	EXPECT_EQ(self->s.jsize - j0, self->s.bytes_written - w0);
	EXPECT_NE(NULL, strstr(slurp(self->s.jpath),
			       "\nban 192.0.2.1/32 all 0 1700000000 one\n"));
	/* The snapshot untouched. */
	ASSERT_EQ(0, stat(self->path, &b));
	EXPECT_EQ(a.st_ino, b.st_ino);
	EXPECT_EQ(a.st_size, b.st_size);
	EXPECT_EQ(1U, self->s.compactions);

	j0 = self->s.jsize;
	for (i = 0; i < 100; i++)
		ip_ban(&self->s, 1 << 20 | i, "x");
	ASSERT_EQ(0, store_save(&self->s, now_unix(), msg, sizeof(msg)));
	EXPECT_GT(self->s.jsize - j0, 100U * 30);
	EXPECT_LT(self->s.jsize - j0, 100U * 50);
	EXPECT_EQ(2U, self->s.appends);

	/* Nothing changed: nothing written. */
	j0 = self->s.jsize;
	ASSERT_EQ(0, store_save(&self->s, now_unix(), msg, sizeof(msg)));
	EXPECT_EQ(j0, self->s.jsize);
	EXPECT_EQ(2U, self->s.appends);
	EXPECT_EQ(self->s.jsize, (uint64_t)file_size(self->s.jpath));
}

/*
 * Random bans, lifts, offences and kernel lines, saved in batches with
 * compactions between: after every save, a load (snapshot, then the
 * journal replayed) gives exactly the state in memory.
 */
TEST_F(store, snapshot_and_journal_replay_to_the_same_state)
{
	uint64_t now = now_unix();
	unsigned int seed = 11;
	struct sgd_store t;
	struct sgd_offence *o;
	struct sgd_ban *b;
	struct sg_prefix k;
	char msg[1024], ip[32], *want, *got;
	int round, op;

	ASSERT_EQ(0, store_init(&t, self->dir));
	t.readonly = true;
	for (round = 0; round < 60; round++) {
		for (op = 0; op < 40; op++) {
			snprintf(ip, sizeof(ip), "10.0.%u.%u",
				 rand_r(&seed) % 4, rand_r(&seed) % 64);
			k = pfx(ip);
			b = ptab_find(&self->s.bans, &k);
			switch (rand_r(&seed) % 6) {
			case 0:
			case 1:
				add_ban(&self->s, ip, rand_r(&seed) % 2 ?
					SMTPGATE_SCOPE_ALL : SMTPGATE_SCOPE_SMTP,
					rand_r(&seed) % 3 ? now + 3600 :
					rand_r(&seed) % 2 ? 0 : 1000,
					rand_r(&seed) % 2 ? "a b%c" : "");
				break;
			case 2:
				if (b)
					store_ban_del(&self->s, b);
				break;
			case 3:
				o = store_offence_get(&self->s, &k, NULL);
				o->count++;
				o->last = now + round;
				o->clean_from = now + op;
				break;
			case 4:
				if (b) {
					b->expires = now + op;
					store_ban_changed(&self->s, b);
				}
				break;
			case 5:
				self->s.kinstance = 1 + rand_r(&seed) % 3;
				self->s.kflushes = rand_r(&seed) % 5;
				break;
			}
		}
		if (round % 17 == 16) {
			ASSERT_EQ(0, store_compact(&self->s, now, msg, sizeof(msg)))
				TH_LOG("%s", msg);
		} else {
			ASSERT_EQ(0, store_save(&self->s, now, msg, sizeof(msg)))
				TH_LOG("%s", msg);
		}
		ASSERT_EQ(0, store_load(&t, msg, sizeof(msg))) TH_LOG("%s", msg);
		EXPECT_STREQ("", msg);
		want = canon(&self->s);
		got = canon(&t);
		ASSERT_STREQ(want, got) TH_LOG("round %d", round);
		free(want);
		free(got);
	}
	EXPECT_GE(self->s.appends, 50U);
	EXPECT_GE(self->s.compactions, 4U);
	store_free(&t);
}

/* A snapshot and three journal records; the state after each save. */
static void three_records(struct sgd_store *s, char *want[4], size_t end[4])
{
	struct sg_prefix k;
	struct sgd_offence *o;
	char msg[512];
	int i;

	for (i = 0; i < 4; i++) {
		ip_ban(s, i, i ? "later" : "first");
		k = pfx(i ? "192.0.2.7" : "192.0.2.8");
		o = store_offence_get(s, &k, NULL);
		o->count = i + 1;
		if (i == 2)
			store_ban_del(s, ptab_at(&s->bans, 0));
		if (store_save(s, now_unix(), msg, sizeof(msg)))
			abort();
		want[i] = canon(s);
		end[i] = s->jsize;
	}
}

/*
 * A crash in the middle of an append leaves any prefix of the record:
 * cut at every byte, the journal loads as the records before the cut,
 * the rest dropped and said, the file truncated to them so that the next
 * append follows them.
 */
TEST_F(store, a_torn_tail_is_dropped_at_every_offset)
{
	char *want[4], msg[1024], expect[1024], *j, *got;
	struct sgd_store t;
	struct sg_prefix k;
	size_t end[4], n, cut;
	int i;

	three_records(&self->s, want, end);
	j = slurpn(self->s.jpath, &n);
	ASSERT_EQ(end[3], n);
	for (cut = end[0]; cut < n; cut++) {
		spitn(self->s.jpath, j, cut);
		ASSERT_EQ(0, store_init(&t, self->dir));
		ASSERT_EQ(0, store_load(&t, msg, sizeof(msg))) TH_LOG("%s", msg);
		for (i = 3; end[i] > cut; i--)
			;
		got = canon(&t);
		EXPECT_STREQ(want[i], got) TH_LOG("cut at %zu", cut);
		free(got);
		if (cut == end[i]) {
			EXPECT_STREQ("", msg);
		} else {
			snprintf(expect, sizeof(expect), "%s: dropped a torn tail "
				 "of %zu bytes at offset %zu (", self->s.jpath,
				 cut - end[i], end[i]);
			EXPECT_EQ(0, strncmp(expect, msg, strlen(expect)))
				TH_LOG("%s", msg);
			EXPECT_EQ(cut - end[i], t.torn_bytes);
		}
		EXPECT_EQ((off_t)end[i], file_size(self->s.jpath));
		/* Appends go on after the last whole record. */
		if (cut % 7 == 0) {
			add_ban(&t, "198.51.100.1", SMTPGATE_SCOPE_ALL, 0, "new");
			ASSERT_EQ(0, store_save(&t, now_unix(), msg, sizeof(msg)));
			ASSERT_EQ(0, store_load(&t, msg, sizeof(msg)));
			EXPECT_STREQ("", msg);
			k = pfx("198.51.100.1");
			EXPECT_NE(NULL, ptab_find(&t.bans, &k));
		}
		store_free(&t);
	}
	/* Zeros past the end (a size the crash kept, its data not). */
	spitn(self->s.jpath, j, n);
	spit(self->s.jpath, "\0\0\0\0", "a");
	ASSERT_EQ(0, truncate(self->s.jpath, n + 4096));
	ASSERT_EQ(0, store_load(&self->s, msg, sizeof(msg)));
	EXPECT_EQ(4096U, self->s.torn_bytes);
	got = canon(&self->s);
	EXPECT_STREQ(want[3], got);
	free(got);
	/* The last record whole in length, a byte of it wrong. */
	j[n - 3] ^= 1;
	spitn(self->s.jpath, j, n);
	ASSERT_EQ(0, store_load(&self->s, msg, sizeof(msg)));
	EXPECT_NE(NULL, strstr(msg, "(bad checksum)")) TH_LOG("%s", msg);
	got = canon(&self->s);
	EXPECT_STREQ(want[2], got);
	free(got);
	for (i = 0; i < 4; i++)
		free(want[i]);
	free(j);
}

/*
 * A bad record with a valid one after it is no torn write: corruption,
 * reported with the file and the offset, the journal moved aside, the
 * records before it kept.  So is a record whose checksum holds but whose
 * text does not parse, wherever it is.
 */
TEST_F(store, a_corrupt_record_is_an_error_with_its_offset)
{
	char *want[4], msg[1024], expect[2048], aside[600], *j, *got, rec[256];
	struct sgd_store t;
	size_t end[4], n;
	int i, hl;

	three_records(&self->s, want, end);
	j = slurpn(self->s.jpath, &n);
	j[end[2] - 3] ^= 0x20;	/* in the second record */
	spitn(self->s.jpath, j, n);
	ASSERT_EQ(0, store_init(&t, self->dir));
	EXPECT_EQ(1, store_load(&t, msg, sizeof(msg))) TH_LOG("%s", msg);
	find_aside(self->dir, "smtpgated.journal", aside, sizeof(aside));
	ASSERT_NE('\0', aside[0]);
	snprintf(expect, sizeof(expect), "%s: offset %zu: bad checksum, and "
		 "valid records after it (not a torn write); moved aside to "
		 "%s, keeping the snapshot and the records before it",
		 self->s.jpath, end[1], aside);
	EXPECT_STREQ(expect, msg);
	got = canon(&t);
	EXPECT_STREQ(want[1], got);
	free(got);
	/* Kept as it was, for a human. */
	free(j);
	j = slurpn(aside, &n);
	EXPECT_EQ(end[3], n);
	unlink(aside);
	/* The next save writes it all again: nothing of the load is lost. */
	EXPECT_TRUE(t.need_compact);
	ASSERT_EQ(0, store_save(&t, now_unix(), msg, sizeof(msg)));
	ASSERT_EQ(0, store_load(&t, msg, sizeof(msg)));
	got = canon(&t);
	EXPECT_STREQ(want[1], got);
	free(got);

	/* A whole record, checksum right, a field wrong: line 2, SCOPE. */
	hl = snprintf(rec, sizeof(rec), "unban 10.0.0.1/32\n"
		      "ban 192.0.2.1/32 most 0 0 x\n");
	snprintf(expect, sizeof(expect), "J %d %08x\n%s", hl,
		 crc32c_ref(rec, hl), rec);
	n = file_size(t.jpath);
	spit(t.jpath, expect, "a");
	ASSERT_EQ(1, store_load(&t, msg, sizeof(msg)));
	find_aside(self->dir, "smtpgated.journal", aside, sizeof(aside));
	snprintf(expect, sizeof(expect), "%s: offset %zu (the record's line 2): "
		 "bad SCOPE; moved aside to %s, keeping the snapshot and the "
		 "records before it", t.jpath, n, aside);
	EXPECT_STREQ(expect, msg);
	got = canon(&t);
	EXPECT_STREQ(want[1], got);
	free(got);
	store_free(&t);
	for (i = 0; i < 4; i++)
		free(want[i]);
	free(j);
}

/*
 * A compaction is four steps: the new snapshot written to its temporary
 * file, renamed over the old one, the new journal written to its
 * temporary file, renamed over the old one.  Stopped after any of them,
 * the files load to the whole state, and saves go on from there.
 */
TEST_F(store, a_compaction_stopped_after_any_step_loses_nothing)
{
	char *s1, *j1, *s2, *j2, *want, *got, msg[1024];
	size_t ns1, nj1, ns2, nj2;
	struct sgd_store t;
	struct sg_prefix k;
	int i, step;

	for (i = 0; i < 50; i++)
		ip_ban(&self->s, i, "snapshot");
	ASSERT_EQ(0, store_save(&self->s, now_unix(), msg, sizeof(msg)));
	for (i = 0; i < 3; i++) {
		ip_ban(&self->s, 100 + i, "journal");
		store_ban_del(&self->s, ptab_at(&self->s.bans, i));
		ASSERT_EQ(0, store_save(&self->s, now_unix(), msg, sizeof(msg)));
	}
	want = canon(&self->s);
	s1 = slurpn(self->path, &ns1);
	j1 = slurpn(self->s.jpath, &nj1);
	ASSERT_EQ(0, store_compact(&self->s, now_unix(), msg, sizeof(msg)));
	s2 = slurpn(self->path, &ns2);
	j2 = slurpn(self->s.jpath, &nj2);
	EXPECT_NE(NULL, strstr(s2, "generation 2\n"));
	EXPECT_EQ(0, strncmp(j2, "smtpgated-journal 1 2\n", nj2));

	for (step = 0; step <= 4; step++) {
		unlink(self->s.tmp);
		unlink(self->s.jtmp);
		spitn(self->path, step < 2 ? s1 : s2, step < 2 ? ns1 : ns2);
		spitn(self->s.jpath, step < 4 ? j1 : j2, step < 4 ? nj1 : nj2);
		if (step == 1)
			spitn(self->s.tmp, s2, ns2);
		if (step == 3)
			spitn(self->s.jtmp, j2, nj2);
		ASSERT_EQ(0, store_init(&t, self->dir));
		ASSERT_EQ(0, store_load(&t, msg, sizeof(msg)))
			TH_LOG("step %d: %s", step, msg);
		got = canon(&t);
		EXPECT_STREQ(want, got) TH_LOG("step %d", step);
		free(got);
		if (step == 2 || step == 3) {
			EXPECT_NE(NULL, strstr(msg, "left by an interrupted "
					       "compaction")) TH_LOG("%s", msg);
		}
		EXPECT_EQ(-1, file_size(self->s.tmp));
		EXPECT_EQ(-1, file_size(self->s.jtmp));
		/* And on from there. */
		add_ban(&t, "198.51.100.9", SMTPGATE_SCOPE_ALL, 0, "after");
		ASSERT_EQ(0, store_save(&t, now_unix(), msg, sizeof(msg)))
			TH_LOG("%s", msg);
		ASSERT_EQ(0, store_load(&t, msg, sizeof(msg))) TH_LOG("%s", msg);
		k = pfx("198.51.100.9");
		ASSERT_NE(NULL, ptab_find(&t.bans, &k));
		store_ban_del(&t, ptab_find(&t.bans, &k));
		got = canon(&t);
		EXPECT_STREQ(want, got) TH_LOG("step %d, then a save", step);
		free(got);
		store_free(&t);
	}
	free(want);
	free(s1);
	free(j1);
	free(s2);
	free(j2);
}

/* Upgrades: smtpgated before the journal wrote version 1, no generation. */
TEST_F(store, a_version_1_file_loads_and_is_upgraded)
{
	static const char v1[] =
		"smtpgated-state 1\n"
		"ban 192.0.2.66/32 all 0 1700000000 ticket%2042\n"
		"ban 2001:db8::/64 smtp 4000000000 1700000000 -\n"
		"offence 192.0.2.66/32 2 1700000000 1700003600\n"
		"kernel 42 1\n"
		"end 2 1\n";
	char msg[1024], aside[600], want[1024], *before, *got;

	spit(self->path, v1, "w");
	ASSERT_EQ(0, store_load(&self->s, msg, sizeof(msg))) TH_LOG("%s", msg);
	EXPECT_STREQ("", msg);
	EXPECT_EQ(2U, self->s.bans.n);
	EXPECT_EQ(1U, self->s.offences.n);
	EXPECT_EQ(42U, self->s.kinstance);
	EXPECT_EQ(0U, self->s.gen);
	before = canon(&self->s);
	/* The first save writes version 2 and starts the journal. */
	add_ban(&self->s, "198.51.100.1", SMTPGATE_SCOPE_ALL, 0, "new");
	ASSERT_EQ(0, store_save(&self->s, now_unix(), msg, sizeof(msg)));
	EXPECT_EQ(0, strncmp(slurp(self->path),
			     "smtpgated-state 2\ngeneration 1\n", 31));
	EXPECT_STREQ("smtpgated-journal 1 1\n", slurp(self->s.jpath));
	ASSERT_EQ(0, store_load(&self->s, msg, sizeof(msg)));
	EXPECT_EQ(3U, self->s.bans.n);
	EXPECT_EQ(42U, self->s.kinstance);

	/* Put back by hand, under the journal of the new one: the journal
	 * belongs to another snapshot, kept aside, never applied. */
	add_ban(&self->s, "198.51.100.2", SMTPGATE_SCOPE_ALL, 0, "newer");
	ASSERT_EQ(0, store_save(&self->s, now_unix(), msg, sizeof(msg)));
	spit(self->path, v1, "w");
	EXPECT_EQ(1, store_load(&self->s, msg, sizeof(msg)));
	find_aside(self->dir, "smtpgated.journal", aside, sizeof(aside));
	snprintf(want, sizeof(want), "%s: generation 1, but the snapshot's is "
		 "0 (was the snapshot replaced?); moved aside to %s, the "
		 "snapshot alone loaded", self->s.jpath, aside);
	EXPECT_STREQ(want, msg);
	got = canon(&self->s);
	EXPECT_STREQ(before, got);
	free(got);
	free(before);
}

/* A failed append: the next save writes everything, nothing is lost. */
TEST_F(store, a_failed_append_is_followed_by_a_compaction)
{
	char msg[512], want[1024];
	int ro;

	add_ban(&self->s, "192.0.2.66", SMTPGATE_SCOPE_ALL, 0, "one");
	ASSERT_EQ(0, store_save(&self->s, now_unix(), msg, sizeof(msg)));
	/* The journal's descriptor turned read-only under the store. */
	ro = open(self->s.jpath, O_RDONLY);
	ASSERT_EQ(self->s.jfd, dup2(ro, self->s.jfd));
	close(ro);
	add_ban(&self->s, "192.0.2.67", SMTPGATE_SCOPE_ALL, 0, "two");
	EXPECT_EQ(-EBADF, store_save(&self->s, now_unix(), msg, sizeof(msg)));
	snprintf(want, sizeof(want), "cannot append to %s: Bad file descriptor",
		 self->s.jpath);
	EXPECT_STREQ(want, msg);
	EXPECT_TRUE(self->s.dirty);
	EXPECT_EQ(1U, self->s.save_errors);
	EXPECT_EQ(1U, self->s.compactions);
	ASSERT_EQ(0, store_save(&self->s, now_unix(), msg, sizeof(msg)));
	EXPECT_EQ(2U, self->s.compactions);
	ASSERT_EQ(0, store_load(&self->s, msg, sizeof(msg)));
	EXPECT_EQ(2U, self->s.bans.n);
}

/* --dump-state's reading: never changes a file, even a torn one. */
TEST_F(store, a_read_only_load_changes_nothing)
{
	char *want[4], msg[1024], expect[1024], *j, *got;
	struct sgd_store t;
	size_t end[4], n;
	int i;

	three_records(&self->s, want, end);
	j = slurpn(self->s.jpath, &n);
	spitn(self->s.jpath, j, n - 2);
	spitn(self->s.tmp, "junk", 4);
	ASSERT_EQ(0, store_init(&t, self->dir));
	t.readonly = true;
	ASSERT_EQ(0, store_load(&t, msg, sizeof(msg)));
	EXPECT_NE(NULL, strstr(msg, "dropped a torn tail")) TH_LOG("%s", msg);
	got = canon(&t);
	EXPECT_STREQ(want[2], got);
	free(got);
	EXPECT_EQ((off_t)n - 2, file_size(self->s.jpath));
	EXPECT_EQ(4, file_size(self->s.tmp));
	EXPECT_EQ(-EROFS, store_save(&t, now_unix(), msg, sizeof(msg)));
	/* Corrupt: an error, nothing moved. */
	spit(self->path, "smtpgated-state 2\nend 0 0\n", "w");
	EXPECT_EQ(-EINVAL, store_load(&t, msg, sizeof(msg)));
	snprintf(expect, sizeof(expect), "%s:2: no generation line after the "
		 "version", self->path);
	EXPECT_STREQ(expect, msg);
	EXPECT_EQ(0, access(self->path, F_OK));
	store_free(&t);
	for (i = 0; i < 4; i++)
		free(want[i]);
	free(j);
}

/* ---- hooks ------------------------------------------------------------------------------------ */

/* Running: neither gone nor a zombie waiting for its new parent. */
static bool alive(pid_t pid)
{
	char path[64], *stat, *paren;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	stat = slurp(path);
	if (!stat)
		return false;
	paren = strrchr(stat, ')');
	return paren && paren[1] == ' ' && paren[2] != 'Z' && paren[2] != 'X';
}

static int wait_hooks(struct hooks *h, int ms)
{
	int64_t end = now_ms() + ms;

	while (h->n && now_ms() < end) {
		hooks_tick(h, now_ms());
		usleep(10000);
	}
	return h->n ? -1 : 0;
}

FIXTURE(hooks) {
	char *dir;
	struct hooks h;
};

FIXTURE_SETUP(hooks)
{
	self->dir = tmpdir();
	ASSERT_NE(NULL, self->dir);
	memset(&self->h, 0, sizeof(self->h));
	log_capture();
}

FIXTURE_TEARDOWN(hooks)
{
	log_set_sink(NULL, NULL);
	rmtree(self->dir);
	free(self->dir);
}

TEST_F(hooks, evidence_in_the_environment)
{
	struct hook_env e;
	char cmd[1024], out[256];

	snprintf(out, sizeof(out), "%s/out", self->dir);
	snprintf(cmd, sizeof(cmd), "echo \"$SMTPGATE_HOST $SMTPGATE_REASON "
		 "$SMTPGATE_DURATION ${SMTPGATE_STALE-unset}\" >%s", out);
	setenv("SMTPGATE_STALE", "from the daemon", 1);
	hook_env_init(&e);
	hook_env_add(&e, "SMTPGATE_HOST", "%s", "192.0.2.66");
	hook_env_add(&e, "SMTPGATE_REASON", "%s", "rate,destinations");
	hook_env_add(&e, "SMTPGATE_DURATION", "%u", 3600);
	ASSERT_EQ(0, hooks_run(&self->h, "on_ban", cmd, "192.0.2.66", &e, 5,
			       now_ms()));
	hook_env_free(&e);
	ASSERT_EQ(0, wait_hooks(&self->h, 5000));
	EXPECT_STREQ("192.0.2.66 rate,destinations 3600 unset\n", slurp(out));
	EXPECT_EQ(0U, self->h.failures);
	unsetenv("SMTPGATE_STALE");
}

TEST_F(hooks, a_hanging_hook_is_killed_and_never_blocks)
{
	struct hook_env e;
	int64_t t0 = now_ms();
	char cmd[512], pidfile[256], *pid;

	/* A grandchild too: the whole process group must go. */
	snprintf(pidfile, sizeof(pidfile), "%s/pid", self->dir);
	snprintf(cmd, sizeof(cmd), "sleep 30 & echo $! >%s; wait", pidfile);
	hook_env_init(&e);
	ASSERT_EQ(0, hooks_run(&self->h, "on_ban", cmd, "192.0.2.66", &e, 1, t0));
	EXPECT_LT(now_ms() - t0, 1000);	/* not the 30 s of the sleep */
	EXPECT_EQ(t0 + 1000, hooks_next_deadline(&self->h));
	ASSERT_EQ(0, wait_hooks(&self->h, 5000));
	EXPECT_GE(now_ms() - t0, 1000);
	EXPECT_LT(now_ms() - t0, 4000);
	EXPECT_STREQ("action=hook hook=on_ban host=192.0.2.66 status=timeout:killed\n",
		     logged.text);
	EXPECT_EQ(1U, self->h.failures);
	pid = slurp(pidfile);
	ASSERT_NE(NULL, pid);
	usleep(100000);
	EXPECT_FALSE(alive(atoi(pid))) TH_LOG("the hook's sleep survived");
}

TEST_F(hooks, failures_are_logged)
{
	struct hook_env e;

	hook_env_init(&e);
	ASSERT_EQ(0, hooks_run(&self->h, "on_unban", "exit 3", "192.0.2.66", &e,
			       5, now_ms()));
	ASSERT_EQ(0, hooks_run(&self->h, "on_flag", "kill -TERM $$",
			       "2001:db8:1::/64", &e, 5, now_ms()));
	ASSERT_EQ(0, wait_hooks(&self->h, 5000));
	EXPECT_NE(NULL, strstr(logged.text,
			       "action=hook hook=on_unban host=192.0.2.66 status=exit:3\n"));
	EXPECT_NE(NULL, strstr(logged.text,
			       "action=hook hook=on_flag host=2001:db8:1::/64 status=signal:15\n"));
	EXPECT_EQ(2U, self->h.failures);
}

TEST_F(hooks, no_descriptor_leaks_into_hooks)
{
	struct hook_env e;
	char cmd[1024], out[256];
	int fd = open("/dev/null", O_RDONLY);	/* no O_CLOEXEC: a careless one */

	ASSERT_GE(fd, 3);
	snprintf(out, sizeof(out), "%s/out", self->dir);
	snprintf(cmd, sizeof(cmd), "test -e /proc/$$/fd/%d && echo leaked >%s "
		 "|| echo clean >%s", fd, out, out);
	hook_env_init(&e);
	ASSERT_EQ(0, hooks_run(&self->h, "on_ban", cmd, "x", &e, 5, now_ms()));
	ASSERT_EQ(0, wait_hooks(&self->h, 5000));
	EXPECT_STREQ("clean\n", slurp(out));
	close(fd);
}

TEST_F(hooks, at_most_HOOKS_MAX_at_once)
{
	struct hook_env e;
	int i;

	hook_env_init(&e);
	for (i = 0; i < HOOKS_MAX; i++)
		ASSERT_EQ(0, hooks_run(&self->h, "on_flag", "sleep 10", "x", &e,
				       60, now_ms()));
	for (i = 0; i < 100; i++)
		EXPECT_EQ(-EAGAIN, hooks_run(&self->h, "on_flag", "sleep 10", "y",
					     &e, 60, now_ms()));
	/* The first skip is logged, the others counted, not 100 lines. */
	EXPECT_STREQ("action=hook hook=on_flag host=y status=skipped:too-many-running\n",
		     logged.text);
	/* Past every deadline: all killed, all reaped. */
	hooks_tick(&self->h, now_ms() + 61000);
	ASSERT_EQ(0, wait_hooks(&self->h, 5000));
	EXPECT_NE(NULL, strstr(logged.text,
			       "action=hook status=skipped:too-many-running count=100\n"));
	EXPECT_EQ(HOOKS_MAX + 100U, self->h.failures);
}

/* ---- password fishers -------------------------------------------------------------------------- */

/*
 * Only whole lines of Postfix's smtpd count, from their start: the text
 * of a failure elsewhere (a HELO that Postfix quotes, another program, a
 * message in the middle) bans nobody (fail2ban's CVE-2012-5642 lesson).
 */
TEST(sasl_lines)
{
#define FAIL " warning: unknown[192.0.2.77]: SASL LOGIN authentication failed: UGFzc3dvcmQ6"
	static const struct { const char *line, *addr; } cases[] = {
		/* Classic BSD syslog, the day space-padded. */
		{ "Dec  5 14:09:01 host postfix/submission/smtpd[123]:" FAIL,
		  "192.0.2.77/32" },
		{ "Nov 24 10:02:03 submit postfix/smtpd[4711]: warning: unknown[2001:db8:1::66]: SASL PLAIN authentication failed: ",
		  "2001:db8:1::66/128" },
		/* Postfix's own maillog_file: a fraction of a second. */
		{ "Dec  5 14:09:01.123456 host postfix/smtpd[123]:" FAIL, "192.0.2.77/32" },
		/* rsyslog's RSYSLOG_FileFormat, high-precision RFC 3339. */
		{ "2026-12-05T14:09:01.123456+00:00 mx postfix/submissions/smtpd[9]: warning: pc12.example.net[198.51.100.7]: SASL CRAM-MD5 authentication failed: authentication failure",
		  "198.51.100.7/32" },
		{ "2026-12-05T14:09:01Z mx postfix/smtpd[9]:" FAIL, "192.0.2.77/32" },
		/* journalctl --output=short-iso (systemd 252). */
		{ "2026-12-05T14:09:01+0100 mx postfix/submission/smtpd[9]:" FAIL, "192.0.2.77/32" },
		/* RFC 5424 (RSYSLOG_SyslogProtocol23Format), with and without SD. */
		{ "<22>1 2026-12-05T14:09:01.003+01:00 mx postfix/submission/smtpd 123 - -" FAIL,
		  "192.0.2.77/32" },
		{ "<22>1 2026-12-05T14:09:01.003Z mx postfix/smtpd 123 - [meta seq=\"1\\]\"] \xef\xbb\xbfwarning: unknown[192.0.2.77]: SASL LOGIN authentication failed",
		  "192.0.2.77/32" },
		/* A PRI before a BSD header. */
		{ "<22>Dec  5 14:09:01 host postfix/smtpd[123]:" FAIL, "192.0.2.77/32" },
		/* A HELO carrying the text, inside a real Postfix reject line. */
		{ "Dec  5 14:09:01 host postfix/smtpd[123]: NOQUEUE: reject: RCPT from unknown[198.51.100.9]: 554 5.7.1 <victim@example.net>: Relay access denied; from=<a@example.org> to=<victim@example.net> proto=ESMTP helo=<x warning: unknown[192.0.2.77]: SASL LOGIN authentication failed: x>",
		  NULL },
		{ "Dec  5 14:09:01 host postfix/smtpd[123]: warning: Illegal address syntax from unknown[198.51.100.9] in HELO command: warning: unknown[192.0.2.77]: SASL LOGIN authentication failed",
		  NULL },
		/* Another program's line, a dovecot line. */
		{ "Dec  5 14:09:01 host evil[666]:" FAIL, NULL },
		{ "Dec  5 14:09:01 host logger:" FAIL, NULL },
		{ "Dec  5 14:09:01 host dovecot: auth: passwd-file(alice,192.0.2.77): unknown user" FAIL, NULL },
		{ "Dec  5 14:09:01 host dovecot[77]:" FAIL, NULL },
		{ "Dec  5 14:09:01 host postfix/smtp[123]:" FAIL, NULL },
		{ "Dec  5 14:09:01 host postfix/cleanup[123]:" FAIL, NULL },
		{ "Dec  5 14:09:01 host notpostfix/smtpd[123]:" FAIL, NULL },
		{ "Dec  5 14:09:01 host postfix/a/b/smtpd[123]:" FAIL, NULL },
		{ "Dec  5 14:09:01 host postfix-out/smtpd[123]:" FAIL, NULL },
		{ "<22>1 2026-12-05T14:09:01Z mx evil 123 - -" FAIL, NULL },
		{ "<22>1 2026-12-05T14:09:01Z mx postfix/smtpd - - -" FAIL, NULL },
		/* The message anywhere but at its start, or the whole line. */
		{ "Dec  5 14:09:01 host postfix/smtpd[123]: x" FAIL, NULL },
		{ "Dec  5 14:09:01 host postfix/smtpd[123]: " FAIL, NULL },
		{ FAIL + 1, NULL },
		{ "x Dec  5 14:09:01 host postfix/smtpd[123]:" FAIL, NULL },
		{ "Dec  5 14:09:01 host postfix/smtpd[]:" FAIL, NULL },
		{ "Dec  5 14:09:01 host postfix/smtpd[12]" FAIL, NULL },
		{ "Dec 35 14:9:01 host postfix/smtpd[12]:" FAIL, NULL },
		{ "Foo  5 14:09:01 host postfix/smtpd[12]:" FAIL, NULL },
		{ "Nov 24 10:02:03 submit postfix/submission/smtpd[4711]: lost connection after AUTH from unknown[192.0.2.66]", NULL },
		{ "Nov 24 10:02:03 submit postfix/submission/smtpd[4711]: 4F1A: client=unknown[192.0.2.66], sasl_method=PLAIN, sasl_username=alice", NULL },
		{ "Nov 24 10:02:03 submit postfix/smtpd[4711]: warning: hostname x.example does not resolve to address 192.0.2.66", NULL },
		{ "Nov 24 10:02:03 s postfix/smtpd[1]: warning: unknown[192.0.2.666]: SASL LOGIN authentication failed", NULL },
		{ "Nov 24 10:02:03 s postfix/smtpd[1]: warning: unknown[192.0.2.66]: SASL LOGIN authentication succeeded", NULL },
		{ "Nov 24 10:02:03 s postfix/smtpd[1]: warning: unknown[192.0.2.66]: SASL LOGIN authentication failedx", NULL },
		{ "Nov 24 10:02:03 s postfix/smtpd[1]: warning: unknown[192.0.2.66]: SASL  authentication failed", NULL },
		{ "Nov 24 10:02:03 s postfix/smtpd[1]: warning: [192.0.2.66]: SASL LOGIN authentication failed", NULL },
		{ "Nov 24 10:02:03 s postfix/smtpd[1]: warning: unknown[192.0.2.66: SASL LOGIN authentication failed", NULL },
		{ "Nov 24 10:02:03 s postfix/smtpd[1]: warning: unknown[]: SASL LOGIN authentication failed", NULL },
		{ "", NULL },
	};
	char buf[SG_PREFIX_STRLEN];
	struct sg_prefix a;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		int hit = sasl_parse_line(cases[i].line, NULL, &a);

		EXPECT_EQ(cases[i].addr != NULL, hit) TH_LOG("case %zu", i);
		if (hit && cases[i].addr)
			EXPECT_STREQ(cases[i].addr, sg_prefix_str(&a, buf, sizeof(buf)));
	}
	/* Multi-instance: another syslog_name, and only those named. */
	EXPECT_EQ(1, sasl_parse_line("Dec  5 14:09:01 host postfix-out/smtpd[123]:" FAIL,
				     "postfix postfix-out", &a));
	EXPECT_EQ(1, sasl_parse_line("Dec  5 14:09:01 host postfix-out/submission/smtpd[123]:" FAIL,
				     "postfix postfix-out", &a));
	EXPECT_EQ(1, sasl_parse_line("Dec  5 14:09:01 host postfix/smtpd[123]:" FAIL,
				     "postfix postfix-out", &a));
	EXPECT_EQ(0, sasl_parse_line("Dec  5 14:09:01 host postfix/smtpd[123]:" FAIL,
				     "postfix-out", &a));
	EXPECT_EQ(0, sasl_parse_line("Dec  5 14:09:01 host postfix-outer/smtpd[123]:" FAIL,
				     "postfix-out", &a));
#undef FAIL
}

TEST(sasl_threshold_window_aggregation)
{
	struct sg_prefix a = pfx("192.0.2.66"), p, v6;
	char buf[SG_PREFIX_STRLEN];
	struct sasl s;
	int i;

	sasl_init(&s);
	s.threshold = 3;
	s.window = 60;
	EXPECT_FALSE(sasl_count(&s, &a, 1000, &p));
	EXPECT_FALSE(sasl_count(&s, &a, 1030, &p));
	EXPECT_TRUE(sasl_count(&s, &a, 1059, &p));
	EXPECT_STREQ("192.0.2.66/32", sg_prefix_str(&p, buf, sizeof(buf)));
	/* Counted afresh after a hit. */
	EXPECT_FALSE(sasl_count(&s, &a, 1060, &p));
	EXPECT_FALSE(sasl_count(&s, &a, 1061, &p));
	/* Slow guessing stays under the threshold forever. */
	a = pfx("192.0.2.67");
	for (i = 0; i < 50; i++)
		EXPECT_FALSE(sasl_count(&s, &a, 2000 + i * 31, &p));
	/* IPv6 rotating inside a /64 is one source. */
	for (i = 0; i < 3; i++) {
		v6 = pfx("2001:db8:1::1");
		v6.addr.bytes[15] = i + 1;
		EXPECT_EQ(i == 2, sasl_count(&s, &v6, 5000, &p));
	}
	EXPECT_STREQ("2001:db8:1::/64", sg_prefix_str(&p, buf, sizeof(buf)));
	EXPECT_EQ(3U + 2 + 50 + 3, s.failures);
	EXPECT_EQ(2U, s.hits);
	ptab_free(&s.srcs);
}

struct hits {
	char text[1024];
	size_t len;
	int n;
};

static void on_hit(const struct sg_prefix *p, uint32_t failures, void *arg)
{
	struct hits *h = arg;
	char buf[SG_PREFIX_STRLEN];

	h->len += snprintf(h->text + h->len, sizeof(h->text) - h->len, "%s:%u ",
			   sg_prefix_str(p, buf, sizeof(buf)), failures);
	h->n++;
}

static void failures(const char *path, const char *addr, int n, const char *mode)
{
	FILE *f = fopen(path, mode);
	int i;

	for (i = 0; f && i < n; i++)
		fprintf(f, "Nov 24 10:02:%02d submit postfix/submission/smtpd[%d]: "
			"warning: unknown[%s]: SASL LOGIN authentication failed: "
			"UGFzc3dvcmQ6\n", i, 100 + i, addr);
	if (f)
		fclose(f);
}

TEST(sasl_follows_rotation_and_truncation)
{
	char *dir = tmpdir(), log[256], old[256];
	struct hits h = { 0 };
	uint64_t t = 10000;
	struct sasl s;

	ASSERT_NE(NULL, dir);
	snprintf(log, sizeof(log), "%s/mail.log", dir);
	snprintf(old, sizeof(old), "%s/mail.log.1", dir);
	/* Failures from before the start are history, not counted. */
	failures(log, "192.0.2.66", 10, "w");
	sasl_init(&s);
	s.threshold = 3;
	s.window = 600;
	ASSERT_EQ(0, sasl_open(&s, log, false));
	sasl_read(&s, t, on_hit, &h);
	EXPECT_EQ(0, h.n);
	/* New lines, one partial at first. */
	failures(log, "192.0.2.66", 2, "a");
	spit(log, "Nov 24 10:03:00 submit postfix/submission/smtpd[1]: warning: unknown[192.0.2.66]: SASL PL", "a");
	sasl_read(&s, t, on_hit, &h);
	EXPECT_EQ(0, h.n);
	spit(log, "AIN authentication failed: \n", "a");
	sasl_read(&s, t, on_hit, &h);
	EXPECT_STREQ("192.0.2.66/32:3 ", h.text);
	/* Rotation: the old file's tail, then the new file from its start. */
	failures(log, "192.0.2.77", 1, "a");
	ASSERT_EQ(0, rename(log, old));
	failures(old, "192.0.2.77", 1, "a");
	failures(log, "192.0.2.77", 1, "w");
	sasl_tick(&s, now_ms(), t, on_hit, &h);
	EXPECT_STREQ("192.0.2.66/32:3 192.0.2.77/32:3 ", h.text);
	/* copytruncate: the file shrinks, reading starts over. */
	ASSERT_EQ(0, truncate(log, 0));
	sasl_tick(&s, now_ms(), t, on_hit, &h);
	failures(log, "2001:db8:1::66", 3, "a");
	sasl_tick(&s, now_ms(), t, on_hit, &h);
	EXPECT_STREQ("192.0.2.66/32:3 192.0.2.77/32:3 2001:db8:1::/64:3 ", h.text);
	EXPECT_EQ(3, h.n);
	sasl_close(&s);
	rmtree(dir);
	free(dir);
}

/* The journal: journalctl --follow's output, through a pipe. */
TEST(sasl_from_the_journal)
{
	char *dir = tmpdir(), path[1024], fake[256], args[256], *old;
	struct hits h = { 0 };
	struct sasl s;
	int64_t end;

	ASSERT_NE(NULL, dir);
	snprintf(fake, sizeof(fake), "%s/journalctl", dir);
	snprintf(args, sizeof(args), "%s/args", dir);
	/*
	 * A journalctl that says three failures of smtpd and three forged
	 * ones (the message alone, another identifier), then ends.
	 */
	snprintf(path, sizeof(path), "#!/bin/sh\necho \"$*\" >%s\n"
		 "for i in 1 2 3; do echo '2026-12-05T14:09:0'$i'+0000 mx "
		 "postfix/submission/smtpd[12]: warning: unknown[192.0.2.66]: "
		 "SASL LOGIN authentication failed: UGFzc3dvcmQ6'; "
		 "echo 'warning: unknown[192.0.2.77]: SASL LOGIN authentication "
		 "failed: x'; echo '2026-12-05T14:09:0'$i'+0000 mx evil[1]: "
		 "warning: unknown[192.0.2.77]: SASL LOGIN authentication "
		 "failed: x'; done\n", args);
	spit(fake, path, "w");
	ASSERT_EQ(0, chmod(fake, 0755));
	/* Never through PATH: a journalctl there is not run. */
	old = strdup(getenv("PATH"));
	snprintf(path, sizeof(path), "%s:%s", dir, old);
	setenv("PATH", path, 1);
	log_capture();
	sasl_init(&s);
	s.journalctl = "/nonexistent/journalctl";
	EXPECT_EQ(-ENOENT, sasl_open(&s, "journal", false));
	EXPECT_NE(NULL, strstr(logged.text, "sasl_log: journal: no journalctl "
			       "at /nonexistent/journalctl;"));
	EXPECT_EQ(-1, s.child);
	sasl_close(&s);
	setenv("PATH", old, 1);
	free(old);
	sasl_init(&s);
	s.threshold = 3;
	s.journalctl = fake;
	ASSERT_EQ(0, sasl_open(&s, "journal", false));
	/* Until journalctl's output ends: its EOF is the end of the pipe. */
	for (end = now_ms() + 5000; s.fd >= 0 && now_ms() < end; usleep(10000))
		sasl_read(&s, 1000, on_hit, &h);
	EXPECT_STREQ("192.0.2.66/32:3 ", h.text);
	EXPECT_STREQ("--follow --lines=0 --quiet --output=short-iso SYSLOG_FACILITY=2\n",
		     slurp(args));
	EXPECT_NE(NULL, strstr(logged.text,
			       "sasl_log: journalctl exited; restarting in 5s\n"));
	/* Reaped, and not restarted before its time. */
	for (end = now_ms() + 2000; s.child > 0 && now_ms() < end; usleep(10000))
		sasl_tick(&s, now_ms(), 1000, on_hit, &h);
	EXPECT_EQ(-1, s.child);
	EXPECT_EQ(-1, s.fd);
	log_set_sink(NULL, NULL);
	sasl_close(&s);
	rmtree(dir);
	free(dir);
}

/* ---- metrics and logs ----------------------------------------------------------------------------- */

static bool prom_line_ok(const char *l)
{
	const char *sp = strrchr(l, ' ');

	if (!strncmp(l, "# HELP smtpgate", 15) || !strncmp(l, "# TYPE smtpgate", 15))
		return true;
	if (!sp || strspn(sp + 1, "0123456789") != strlen(sp + 1) || !sp[1])
		return false;
	return strspn(l, "abcdefghijklmnopqrstuvwxyz_") > 0;
}

TEST(metrics_text)
{
	struct sgnl_stats st = { 0 };
	struct sgd_counters c = { .bans_flag = 3, .bans_sasl = 1 };
	struct hooks h = { .runs = 4, .failures = 1 };
	struct sgd_store s;
	char buf[32768], *line, *save, path[256], *dir = tmpdir();
	char err[512];
	int n, lines = 0;

	ASSERT_NE(NULL, dir);
	store_init(&s, dir);
	st.packets[SMTPGATE_CLASS_SMTP4][SMTPGATE_VERDICT_DROP] = 7;
	st.packets[SMTPGATE_CLASS_TEREDO][SMTPGATE_VERDICT_BANNED] = 2;
	st.flagged = 2;
	st.bans = 5;
	st.event_losses = 9;
	n = metrics_render(buf, sizeof(buf), &st, &c, &h, &s);
	ASSERT_GT(n, 0);
	EXPECT_NE(NULL, strstr(buf, "smtpgate_packets_total{class=\"smtp4\",verdict=\"drop\"} 7\n"));
	EXPECT_NE(NULL, strstr(buf, "smtpgate_packets_total{class=\"teredo\",verdict=\"banned\"} 2\n"));
	EXPECT_NE(NULL, strstr(buf, "smtpgate_packets_total{class=\"other\",verdict=\"pass\"} 0\n"));
	EXPECT_NE(NULL, strstr(buf, "# TYPE smtpgate_flagged_hosts gauge\nsmtpgate_flagged_hosts 2\n"));
	EXPECT_NE(NULL, strstr(buf, "smtpgate_bans 5\n"));
	EXPECT_NE(NULL, strstr(buf, "smtpgate_event_losses_total 9\n"));
	EXPECT_NE(NULL, strstr(buf, "smtpgated_bans_total{trigger=\"sasl\"} 1\n"));
	EXPECT_NE(NULL, strstr(buf, "smtpgated_hook_failures_total 1\n"));
	snprintf(path, sizeof(path), "%s/smtpgate.prom", dir);
	ASSERT_EQ(0, metrics_write(path, buf, err, sizeof(err)));
	EXPECT_STREQ(buf, slurp(path));
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		EXPECT_TRUE(prom_line_ok(line)) TH_LOG("%s", line);
		lines++;
	}
	/* 5 classes x 6 verdicts, and the rest. */
	EXPECT_GT(lines, 30 + 2);
	EXPECT_EQ(-ENOSPC, metrics_render(buf, 100, &st, &c, &h, &s));
	store_free(&s);
	rmtree(dir);
	free(dir);
}

TEST(log_format)
{
	struct sg_prefix p = pfx("2001:db8:1::/64");
	char buf[64];
	struct kv kv;

	kv_init(&kv);
	kv_str(&kv, "action", "ban");
	kv_prefix(&kv, "host", &p);
	kv_str(&kv, "reason", "rate,destinations");
	kv_duration(&kv, "duration", 5400);
	kv_duration(&kv, "was", 0);
	kv_str(&kv, "note", "say \"hi\"\\\n");
	kv_str(&kv, "empty", "");
	kv_time(&kv, "until", 1700000000);
	EXPECT_STREQ("action=ban host=2001:db8:1::/64 reason=rate,destinations duration=1h30m was=permanent note=\"say \\\"hi\\\"\\\\\\x0a\" empty=\"\" until=2023-11-14T22:13:20Z",
		     kv.buf);
	EXPECT_STREQ("rate,blocked,destinations,tunnel,dialogue",
		     reasons_str(SMTPGATE_REASON_ALL, buf, sizeof(buf)));
	EXPECT_STREQ("none", reasons_str(0, buf, sizeof(buf)));
	p = pfx("192.0.2.66");
	EXPECT_STREQ("192.0.2.66", host_str(&p, buf, sizeof(buf)));
}

/*
 * A HELO name (the trap's evidence) is anyone's text: on a terminal or in
 * syslog it must not move the cursor, end the line or reorder it, and
 * invalid UTF-8 is shown as bytes.
 */
TEST(log_hostile_values)
{
	struct kv kv;

	kv_init(&kv);
	kv_str(&kv, "helo", "\x1b[2J\x1b]0;t\x07 \xc2\x9b \xe2\x80\xa8 \xe2\x80\xae"
	       " \xc0\xaf \xff h\xc3\xa9");
	EXPECT_STREQ("helo=\"\\x1b[2J\\x1b]0;t\\x07 \\x9b \\u2028 \\u202e"
		     " \\xc0\\xaf \\xff h\xc3\xa9\"", kv.buf);
	/* Sentences too: the sink sees what syslog and stderr see. */
	log_capture();
	log_msg(LOG_WARNING, "cannot open %s", "/tmp/\x1b[31mx\xff\n");
	EXPECT_STREQ("cannot open /tmp/\\x1b[31mx\\xff\\n\n", logged.text);
	log_set_sink(NULL, NULL);
}

/* ---- seeds for the fuzzer ----------------------------------------------------------------------------- */

static int dump_configs(const char *dir)
{
	char path[4096];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(good_configs); i++) {
		snprintf(path, sizeof(path), "%s/good-%02zu.conf", dir, i);
		spit(path, good_configs[i], "w");
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--dump-configs"))
		return dump_configs(argv[2]);
	return test_harness_run(argc, argv);
}
