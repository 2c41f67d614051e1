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
static bool __attribute__((unused)) all_lines_start(const char *s, const char *prefix)
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

TEST_HARNESS_MAIN
