// SPDX-License-Identifier: GPL-2.0
/*
 * smtpgatectl: the operators' command line for smtpgate.  It talks to the
 * kernel module directly over generic netlink (sgnl), so it works with or
 * without smtpgated running.
 *
 * This file holds the dispatch table, the global options and what every
 * subcommand shares: errors, argument parsing.  Each group of subcommands
 * has a file of its own (hosts.c, bans.c, load.c, stats.c, policy.c,
 * monitor.c); out.c prints text and JSON from one set of calls.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "escape.h"
#include "out.h"

#define PROG		"smtpgatectl"
#define NETNS_DIR	"/run/netns"

int ctl_exit_fail = EXIT_FAIL;
static struct sgnl *nl;

struct ctl_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *args;	/* the grammar after the name */
	const char *help;
};

static const struct ctl_cmd cmds[] = {
	{ "hosts", cmd_hosts, "[--flagged]", "list tracked hosts" },
	{ "host", cmd_host, "ADDR", "all the evidence about one host" },
	{ "forget", cmd_forget, "{ ADDR | all }", "stop tracking a host (or all)" },
	{ "bans", cmd_bans, "", "list bans" },
	{ "ban", cmd_ban, "PREFIX [--for DURATION] [--scope { smtp | all }] [--reason TEXT]",
	  "ban an address or prefix" },
	{ "unban", cmd_unban, "PREFIX", "remove a ban" },
	{ "banned", cmd_banned, "ADDR",
	  "is ADDR banned? exit 0 yes, 1 no, 2 cannot tell" },
	{ "flush", cmd_flush, "", "remove every ban" },
	{ "load", cmd_load, "FILE [--quiet]",
	  "add the bans in FILE (- for stdin), one per line" },
	{ "save", cmd_save, "", "print every ban as a line load reads back" },
	{ "stats", cmd_stats, "", "packet counters and table sizes" },
	{ "policy", cmd_policy, "[ set KEY=VALUE... ]",
	  "show the policy, or change some of its keys" },
	{ "monitor", cmd_monitor, "", "print events as they happen" },
	{ "help", NULL, "", "this text" },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "Usage: " PROG " [-j] [-n NETNS] COMMAND [ARGUMENTS]\n"
		"       " PROG " { -h | --help | help }\n\n"
		"COMMAND := ");
	for (i = 0; i < ARRAY_SIZE(cmds); i++)
		fprintf(f, "%s%s%s%s\n", i ? "         | " : "",
			cmds[i].name, *cmds[i].args ? " " : "", cmds[i].args);
	fprintf(f, "\n");
	for (i = 0; i < ARRAY_SIZE(cmds); i++)
		fprintf(f, "  %-9s %s\n", cmds[i].name, cmds[i].help);
	fprintf(f, "\n"
		"PREFIX   := ADDR[/LEN]            IPv4 or IPv6\n"
		"DURATION := NUMBER[s|m|h|d|w]...  e.g. 90, 10m, 3h12m, 2d\n"
		"  -j        JSON output (one object per line for monitor)\n"
		"  -n NETNS  act in network namespace NETNS (" NETNS_DIR "/NETNS)\n"
		"Exit status: 0 ok, 1 failure, 2 usage (banned: 0 yes, 1 no, 2 error).\n"
		"See smtpgatectl(8).\n");
}

static const struct ctl_cmd *find_cmd(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cmds); i++)
		if (!strcmp(cmds[i].name, name))
			return &cmds[i];
	return NULL;
}

/* ---- errors ---------------------------------------------------------------- */

/* Messages quote what they refuse, and that may be anyone's text. */
static void vmsg(const char *fmt, va_list ap)
{
	char msg[1024], safe[4096];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	sg_text_escape(safe, sizeof(safe), msg, 0);
	fflush(stdout);
	fprintf(stderr, PROG ": %s\n", safe);
}

void errmsg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	exit(ctl_exit_fail);
}

void die_nomem(void)
{
	die("out of memory");
}

int usage_error(const char *cmd, const char *fmt, ...)
{
	const struct ctl_cmd *c = find_cmd(cmd);
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	if (c)
		fprintf(stderr, "Usage: " PROG " %s%s%s\n", c->name,
			*c->args ? " " : "", c->args);
	return EXIT_USAGE;
}

/*
 * The generic messages of the kernel's attribute validation (lib/nlattr.c):
 * unlike smtpgate's own, they do not say which attribute they mean.
 */
static const char *const core_msgs[] = {
	"integer out of range", "invalid attribute length",
	"binary attribute size out of range", "Array element too short",
	"reserved bit set", "NLA_F_NESTED is missing",
	"NLA_F_NESTED not expected", "Unsupported attribute",
	"Attribute failed policy validation", "Unknown attribute type",
};

static bool core_msg(const struct sgnl_error *e)
{
	size_t i;

	for (i = 0; e->kernel_msg && i < ARRAY_SIZE(core_msgs); i++)
		if (!strcmp(e->msg, core_msgs[i]))
			return true;
	return false;
}

/*
 * The kernel's extended ACK is shown as it is, after "kernel: " so it is
 * clear who said it; without one, the errno's words.  To a generic message
 * of the netlink core we add the attribute it blamed, which sgnl names
 * from the offset the kernel gave: "(attribute policy.host_prefix4)".
 */
int nl_fail(struct sgnl *h, const char *fmt, ...)
{
	const struct sgnl_error *e = sgnl_error(h);
	char ctx[512], where[128] = "";
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ctx, sizeof(ctx), fmt, ap);
	va_end(ap);
	if (e->attr[0] && core_msg(e))
		snprintf(where, sizeof(where), " (attribute %s)", e->attr);
	errmsg("%s: %s%s%s%s", ctx, e->kernel_msg ? "kernel: " : "",
	       e->msg[0] ? e->msg : strerror(-e->err), where,
	       e->err == -EPERM ? " (CAP_NET_ADMIN needed)" : "");
	return ctl_exit_fail;
}

struct sgnl *ctl_nl(void)
{
	int ret;

	if (nl)
		return nl;
	ret = sgnl_open(&nl);
	if (ret) {
		errmsg("%s", nl && sgnl_error_msg(nl)[0] ?
		       sgnl_error_msg(nl) : strerror(-ret));
		exit(ctl_exit_fail);
	}
	return nl;
}

/* Like `ip -n`: enter the namespace before any socket is opened. */
static int enter_netns(const char *name)
{
	char path[256];
	int fd;

	if (!*name || strchr(name, '/') ||
	    snprintf(path, sizeof(path), NETNS_DIR "/%s", name) >=
	    (int)sizeof(path)) {
		errmsg("-n %s: not a network namespace name", name);
		return EXIT_USAGE;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		errmsg("cannot open network namespace '%s': %s", name,
		       strerror(errno));
		return EXIT_FAIL;
	}
	if (setns(fd, CLONE_NEWNET)) {
		errmsg("cannot enter network namespace '%s': %s", name,
		       strerror(errno));
		close(fd);
		return EXIT_FAIL;
	}
	close(fd);
	return 0;
}

/* ---- parsing --------------------------------------------------------------- */

int cmp_prefix_ptr(const void *a, const void *b)
{
	return sg_prefix_cmp(a, b);
}

/* ---- main ------------------------------------------------------------------ */

static bool use_color(void)
{
	const char *nc = getenv("NO_COLOR");

	return isatty(STDOUT_FILENO) && !(nc && *nc);
}

int main(int argc, char **argv)
{
	const struct ctl_cmd *c;
	const char *netns = NULL;
	bool json = false;
	int i, ret;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-j")) {
			json = true;
		} else if (!strcmp(argv[i], "-n")) {
			if (++i == argc) {
				errmsg("-n needs a network namespace name");
				return EXIT_USAGE;
			}
			netns = argv[i];
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return EXIT_OK;
		} else {
			errmsg("unknown option '%s' (see '" PROG " help')",
			       argv[i]);
			return EXIT_USAGE;
		}
	}
	if (i == argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	c = find_cmd(argv[i]);
	if (!c) {
		errmsg("unknown command '%s' (see '" PROG " help')", argv[i]);
		return EXIT_USAGE;
	}
	if (!c->fn) {
		usage(stdout);
		return EXIT_OK;
	}
	if (netns && (ret = enter_netns(netns)))
		return ret;
	out_setup(json, use_color());
	ret = c->fn(argc - i, argv + i);
	if (fflush(stdout) || ferror(stdout)) {
		errmsg("cannot write the output: %s", strerror(errno));
		ret = ret ? ret : EXIT_FAIL;
	}
	sgnl_close(nl);
	return ret;
}
