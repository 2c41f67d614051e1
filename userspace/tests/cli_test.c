// SPDX-License-Identifier: GPL-2.0
/*
 * smtpgatectl's and smtpgated's command lines, run as an operator runs
 * them: options, --version, --help, exit codes, what goes to stdout and
 * what to stderr.  Nothing here needs the module or privileges: every
 * command stops before the kernel (a usage error, a missing namespace, a
 * configuration check, a trap port already taken).
 *
 * The programs are ctl/smtpgatectl and daemon/smtpgated, or $SGCTL and
 * $SGD (to run these checks against another build).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "kselftest_harness.h"

#ifndef SG_VERSION
#error "SG_VERSION is not defined: build with userspace/Makefile"
#endif

#define MAX_ARGS	16

struct run {
	int status;		/* the exit status; 128 + N: killed by N */
	char out[16384];
	char err[16384];
};

static const char *prog(const char *env, const char *dflt)
{
	const char *p = getenv(env);

	return p && *p ? p : dflt;
}

static void slurp_fd(int fd, char *buf, size_t len)
{
	ssize_t n, got = 0;

	lseek(fd, 0, SEEK_SET);
	while ((size_t)got < len - 1 &&
	       (n = read(fd, buf + got, len - 1 - got)) > 0)
		got += n;
	buf[got] = '\0';
	close(fd);
}

/* Runs @path with the NULL-ended arguments; stdin is /dev/null. */
static void run_argv(struct run *r, const char *path, char *const argv[])
{
	char tout[] = "/tmp/cli-test.out.XXXXXX";
	char terr[] = "/tmp/cli-test.err.XXXXXX";
	int fo = mkstemp(tout), fe = mkstemp(terr), null, st;
	pid_t pid;

	unlink(tout);
	unlink(terr);
	pid = fork();
	if (pid == 0) {
		null = open("/dev/null", O_RDONLY);
		dup2(null, 0);
		dup2(fo, 1);
		dup2(fe, 2);
		execv(path, argv);
		_exit(127);
	}
	waitpid(pid, &st, 0);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	slurp_fd(fo, r->out, sizeof(r->out));
	slurp_fd(fe, r->err, sizeof(r->err));
}

static void run_v(struct run *r, const char *path, const char *arg0,
		  va_list ap)
{
	char *argv[MAX_ARGS + 2];
	int n = 0;
	const char *a;

	argv[n++] = (char *)arg0;
	while (n <= MAX_ARGS && (a = va_arg(ap, const char *)))
		argv[n++] = (char *)a;
	argv[n] = NULL;
	run_argv(r, path, argv);
}

/* ctl(&r, "-j", "bans", NULL) */
static void ctl(struct run *r, ...)
{
	va_list ap;

	va_start(ap, r);
	run_v(r, prog("SGCTL", "ctl/smtpgatectl"), "smtpgatectl", ap);
	va_end(ap);
}

static void sgd(struct run *r, ...)
{
	va_list ap;

	va_start(ap, r);
	run_v(r, prog("SGD", "daemon/smtpgated"), "smtpgated", ap);
	va_end(ap);
}

/* The first line of @s, for comparing one message. */
static const char *first_line(const char *s)
{
	static char line[1024];
	size_t n = strcspn(s, "\n");

	snprintf(line, sizeof(line), "%.*s", (int)n, s);
	return line;
}

/* Every line of @s starts with @prefix (and @s has at least one). */
static bool all_lines_start(const char *s, const char *prefix)
{
	size_t plen = strlen(prefix);

	if (!*s)
		return false;
	while (*s) {
		if (strncmp(s, prefix, plen))
			return false;
		s = strchrnul(s, '\n');
		if (*s)
			s++;
	}
	return true;
}

/* ---- smtpgatectl ----------------------------------------------------------- */

TEST(ctl_version)
{
	static const char *const opts[] = { "-V", "--version" };
	struct run r;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(opts); i++) {
		ctl(&r, opts[i], NULL);
		EXPECT_EQ(0, r.status) TH_LOG("%s: %s", opts[i], r.err);
		EXPECT_STREQ("smtpgatectl " SG_VERSION "\n", r.out);
		EXPECT_STREQ("", r.err);
	}
}

/* Bundled like getopt's (-jn NETNS, -nNETNS), and long forms. */
TEST(ctl_global_options)
{
	static const char *const want =
		"smtpgatectl: cannot open network namespace 'sg-cli-none': "
		"No such file or directory";
	static const char *const forms[][3] = {
		{ "-jn", "sg-cli-none", NULL },
		{ "-j", "-nsg-cli-none", NULL },
		{ "--json", "-n", "sg-cli-none" },
		{ "--json", "--netns", "sg-cli-none" },
		{ "--netns=sg-cli-none", "-j", NULL },
	};
	struct run r;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(forms); i++) {
		if (forms[i][2])
			ctl(&r, forms[i][0], forms[i][1], forms[i][2], "bans",
			    NULL);
		else
			ctl(&r, forms[i][0], forms[i][1], "bans", NULL);
		EXPECT_EQ(1, r.status) TH_LOG("form %zu: %s", i, r.err);
		EXPECT_STREQ(want, first_line(r.err)) TH_LOG("form %zu", i);
		EXPECT_STREQ("", r.out);
	}
}

/* -j after the command is the same -j; a value of ban's own is not. */
TEST(ctl_json_after_the_command)
{
	struct run r;

	ctl(&r, "stats", "-j", "--bogus", NULL);
	EXPECT_EQ(2, r.status);
	EXPECT_STREQ("smtpgatectl: stats: unexpected '--bogus'",
		     first_line(r.err));
	ctl(&r, "stats", "--json", "--bogus", NULL);
	EXPECT_STREQ("smtpgatectl: stats: unexpected '--bogus'",
		     first_line(r.err));
	ctl(&r, "banned", "192.0.2.1/33", "-j", NULL);
	EXPECT_EQ(2, r.status);
	EXPECT_STREQ("smtpgatectl: banned: cannot parse '192.0.2.1/33': an address is needed here, not a prefix",
		     first_line(r.err));
	/* --reason -j: the reason is "-j", and --for's value is checked. */
	ctl(&r, "ban", "192.0.2.1", "--reason", "-j", "--for", "1x", NULL);
	EXPECT_EQ(2, r.status);
	EXPECT_STREQ("smtpgatectl: ban --for '1x' is not a duration (like 90, 10m, 3h12m, 2d)",
		     first_line(r.err));
}

TEST(ctl_command_help)
{
	static const char *const helps[] = { "--help", "-h" };
	struct run r;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(helps); i++) {
		ctl(&r, "ban", helps[i], NULL);
		EXPECT_EQ(0, r.status) TH_LOG("%s: %s", helps[i], r.err);
		EXPECT_STREQ("Usage: smtpgatectl [-j] [-n NETNS] ban PREFIX "
			     "[--for DURATION] [--scope { smtp | all }] "
			     "[--reason TEXT]", first_line(r.out));
		EXPECT_NE(NULL, strstr(r.out, "DURATION := "));
		EXPECT_STREQ("", r.err);
	}
	/* Its arguments are not looked at: no kernel, no namespace. */
	ctl(&r, "-n", "sg-cli-none", "banned", "not-an-address", "--help", NULL);
	EXPECT_EQ(0, r.status);
	EXPECT_STREQ("Usage: smtpgatectl [-j] [-n NETNS] banned ADDR",
		     first_line(r.out));
	ctl(&r, "help", "bans", NULL);
	EXPECT_EQ(0, r.status);
	EXPECT_STREQ("Usage: smtpgatectl [-j] [-n NETNS] bans", first_line(r.out));
	ctl(&r, "help", "frob", NULL);
	EXPECT_EQ(2, r.status);
	EXPECT_STREQ("smtpgatectl: help: unknown command 'frob' (see 'smtpgatectl help')",
		     r.err[0] ? first_line(r.err) : "");
}

/* What scripts rely on: 0 ok, 1 failure, 2 usage. */
TEST(ctl_exit_codes)
{
	struct run r;

	ctl(&r, NULL);
	EXPECT_EQ(2, r.status);
	EXPECT_STREQ("Usage: smtpgatectl [-j] [-n NETNS] COMMAND [ARGUMENTS]",
		     first_line(r.err));
	ctl(&r, "--help", NULL);
	EXPECT_EQ(0, r.status);
	EXPECT_STREQ("", r.err);
	ctl(&r, "help", NULL);
	EXPECT_EQ(0, r.status);
	EXPECT_STREQ("Usage: smtpgatectl [-j] [-n NETNS] COMMAND [ARGUMENTS]",
		     first_line(r.out));
	ctl(&r, "-x", "bans", NULL);
	EXPECT_EQ(2, r.status);
	EXPECT_STREQ("smtpgatectl: unknown option '-x' (see 'smtpgatectl help')",
		     r.err[0] ? first_line(r.err) : "");
	ctl(&r, "-jx", "bans", NULL);
	EXPECT_EQ(2, r.status);
	EXPECT_STREQ("smtpgatectl: unknown option '-x' (see 'smtpgatectl help')",
		     r.err[0] ? first_line(r.err) : "");
	/* Long options match exactly: no abbreviations. */
	ctl(&r, "--js", "bans", NULL);
	EXPECT_EQ(2, r.status);
	EXPECT_STREQ("smtpgatectl: unknown option '--js' (see 'smtpgatectl help')",
		     r.err[0] ? first_line(r.err) : "");
	ctl(&r, "-n", NULL);
	EXPECT_EQ(2, r.status);
	EXPECT_STREQ("smtpgatectl: -n needs a network namespace name",
		     r.err[0] ? first_line(r.err) : "");
	ctl(&r, "-jn", NULL);
	EXPECT_EQ(2, r.status);
	ctl(&r, "ban-list", NULL);
	EXPECT_EQ(2, r.status);
	EXPECT_STREQ("smtpgatectl: unknown command 'ban-list' (see 'smtpgatectl help')",
		     r.err[0] ? first_line(r.err) : "");
	ctl(&r, "bans", "extra", NULL);
	EXPECT_EQ(2, r.status);
	/* banned answers in its exit status: a usage error is still 2. */
	ctl(&r, "banned", NULL);
	EXPECT_EQ(2, r.status);
	ctl(&r, "-n", "sg-cli-none", "banned", "192.0.2.1", NULL);
	EXPECT_EQ(1, r.status);
}

/*
 * Without the module, the message says how to load it.  Only where the
 * family is missing: on a host with smtpgate loaded, stats just works.
 */
TEST(ctl_without_the_module)
{
	struct run r;

	if (!access("/sys/module/smtpgate", F_OK))
		SKIP(return, "the smtpgate module is loaded here");
	ctl(&r, "stats", NULL);
	if (r.status == 0)
		SKIP(return, "the smtpgate family exists here");
	if (!strstr(r.err, "generic netlink family"))
		SKIP(return, "no generic netlink here: %.200s", r.err);
	EXPECT_EQ(1, r.status);
	EXPECT_STREQ("smtpgatectl: no generic netlink family 'smtpgate': is the "
		     "smtpgate module loaded? (try 'modprobe smtpgate')",
		     first_line(r.err));
}

/* ---- smtpgated --------------------------------------------------------------- */

TEST(sgd_version)
{
	static const char *const opts[] = { "-V", "--version" };
	struct run r;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(opts); i++) {
		sgd(&r, opts[i], NULL);
		EXPECT_EQ(0, r.status) TH_LOG("%s: %s", opts[i], r.err);
		EXPECT_STREQ("smtpgated " SG_VERSION "\n", r.out);
		EXPECT_STREQ("", r.err);
	}
}

/* Usage errors: exit 2, and every line on stderr says who speaks. */
TEST(sgd_usage_errors)
{
	struct run r;

	sgd(&r, "--frob", NULL);
	EXPECT_EQ(2, r.status);
	EXPECT_TRUE(all_lines_start(r.err, "smtpgated: ")) TH_LOG("%s", r.err);
	EXPECT_STREQ("smtpgated: unknown option '--frob' (see 'smtpgated --help')",
		     first_line(r.err));
	sgd(&r, "-x", NULL);
	EXPECT_EQ(2, r.status);
	EXPECT_STREQ("smtpgated: unknown option '-x' (see 'smtpgated --help')",
		     first_line(r.err));
	sgd(&r, "-c", NULL);
	EXPECT_EQ(2, r.status);
	EXPECT_STREQ("smtpgated: -c needs a FILE (see 'smtpgated --help')",
		     first_line(r.err));
	sgd(&r, "extra", NULL);
	EXPECT_EQ(2, r.status);
	EXPECT_TRUE(all_lines_start(r.err, "smtpgated: ")) TH_LOG("%s", r.err);
	sgd(&r, "--help", NULL);
	EXPECT_EQ(0, r.status);
	EXPECT_STREQ("Usage: smtpgated [-f] [-c FILE]", first_line(r.out));
	EXPECT_STREQ("", r.err);
}

/* A scratch directory with smtpgate.conf files, and the state under it. */
FIXTURE(sgd) {
	char dir[64];
	char conf[128];
	char state[128];
};

FIXTURE_SETUP(sgd)
{
	snprintf(self->dir, sizeof(self->dir), "/tmp/cli-test.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->conf, sizeof(self->conf), "%s/smtpgate.conf", self->dir);
	snprintf(self->state, sizeof(self->state), "%s/state", self->dir);
}

FIXTURE_TEARDOWN(sgd)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", self->dir);
	if (system(cmd))
		TH_LOG("cannot remove %s", self->dir);
}

static void __attribute__((format(printf, 2, 3)))
write_conf(const char *path, const char *fmt, ...)
{
	FILE *f = fopen(path, "w");
	va_list ap;

	if (!f)
		return;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
}

TEST_F(sgd, check_config_ok_says_what_the_file_amounts_to)
{
	char want[512];
	struct run r;

	write_conf(self->conf, "internal = 192.0.2.0/24, 2001:db8:1::/64\n"
		   "exempt = 192.0.2.25\nban_scope = all\n"
		   "allowlist = 192.0.2.10\nstate_dir = %s\n", self->state);
	sgd(&r, "--check-config", "-c", self->conf, NULL);
	EXPECT_EQ(0, r.status);
	snprintf(want, sizeof(want), "smtpgated: %s: ok: 2 internal prefixes, "
		 "1 exempt, 0 walled garden, action drop, bans 1h to 7d "
		 "(scope all), 1 allowlisted, inspection off, sasl_log off, "
		 "state_dir %s\n", self->conf, self->state);
	EXPECT_STREQ(want, r.out);
	EXPECT_STREQ("", r.err);
}

/* Valid, so exit 0 (ExecStartPre), but it says so. */
TEST_F(sgd, check_config_warns_when_nothing_is_enforced)
{
	char want[512];
	struct run r;

	write_conf(self->conf, "state_dir = %s\n"
		   "inspect_helo_access = /nonexistent/helo\n", self->state);
	sgd(&r, "--check-config", "-c", self->conf, NULL);
	EXPECT_EQ(0, r.status);
	snprintf(want, sizeof(want),
		 "smtpgated: %s: warning: no internal prefixes (the internal "
		 "key): smtpgate enforces nothing\n"
		 "smtpgated: %s:2: warning: inspect_helo_access: not read: "
		 "the inspection is off (no inspect_queue)\n",
		 self->conf, self->conf);
	EXPECT_STREQ(want, r.err);
	EXPECT_EQ(0, strncmp(r.out, "smtpgated: ", 11));
}

TEST_F(sgd, check_config_errors_on_stderr_with_the_prefix)
{
	char want[512];
	struct run r;

	write_conf(self->conf, "window = 1m\nban_factor = 0.5\nfrob = 1\n");
	sgd(&r, "--check-config", "-c", self->conf, NULL);
	EXPECT_EQ(1, r.status);
	snprintf(want, sizeof(want),
		 "smtpgated: %s:2: ban_factor: '0.5' is not a number >= 1\n"
		 "smtpgated: %s:3: frob: unknown key\n", self->conf, self->conf);
	EXPECT_STREQ(want, r.err);
	EXPECT_STREQ("", r.out);
}

/*
 * A start refused after the lock was taken (the trap's port is ours
 * here, before any netlink) exits 1, says so with the prefix on every
 * line, and leaves no lock file with its pid behind.
 */
TEST_F(sgd, a_refused_start_leaves_no_lock)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	char lock[160];
	struct run r;
	int one = 1, fd;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, fd);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ASSERT_EQ(0, bind(fd, (struct sockaddr *)&sa, sizeof(sa)));
	ASSERT_EQ(0, listen(fd, 1));
	ASSERT_EQ(0, getsockname(fd, (struct sockaddr *)&sa, &sl));
	write_conf(self->conf, "internal = 192.0.2.0/24\naction = trap\n"
		   "trap_port = %u\nstate_dir = %s\n", ntohs(sa.sin_port),
		   self->state);
	sgd(&r, "-f", "-c", self->conf, NULL);
	close(fd);
	EXPECT_EQ(1, r.status);
	EXPECT_TRUE(all_lines_start(r.err, "smtpgated: ")) TH_LOG("%s", r.err);
	EXPECT_NE(NULL, strstr(r.err, "smtpgated: not started\n"));
	snprintf(lock, sizeof(lock), "%s/lock", self->state);
	EXPECT_NE(0, access(lock, F_OK)) TH_LOG("%s is left", lock);
	EXPECT_EQ(0, access(self->state, F_OK));
}

TEST_HARNESS_MAIN
