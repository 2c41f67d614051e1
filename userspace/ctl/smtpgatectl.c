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
/* The project's version, from ../VERSION by way of userspace/Makefile. */
#ifndef SG_VERSION
#error "SG_VERSION is not defined: build with userspace/Makefile"
#endif
#define NETNS_DIR	"/run/netns"

int ctl_exit_fail = EXIT_FAIL;
static struct sgnl *nl;

struct ctl_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *args;	/* the grammar after the name */
	const char *help;
	/* Its options that take a value: that value is never read as -j. */
	const char *const *valopts;
};

static const char *const ban_valopts[] = { "--for", "--scope", "--reason", NULL };

static const struct ctl_cmd cmds[] = {
	{ "hosts", cmd_hosts, "[--flagged]", "list tracked hosts", NULL },
	{ "host", cmd_host, "ADDR", "all the evidence about one host", NULL },
	{ "forget", cmd_forget, "{ ADDR | all }", "stop tracking a host (or all)", NULL },
	{ "bans", cmd_bans, "", "list bans", NULL },
	{ "ban", cmd_ban, "PREFIX [--for DURATION] [--scope { smtp | all }] [--reason TEXT]",
	  "ban an address or prefix", ban_valopts },
	{ "unban", cmd_unban, "PREFIX", "remove a ban", NULL },
	{ "banned", cmd_banned, "ADDR",
	  "is ADDR banned? exit 0 yes, 1 no, 2 cannot tell", NULL },
	{ "flush", cmd_flush, "", "remove every ban", NULL },
	{ "load", cmd_load, "FILE [--quiet]",
	  "add the bans in FILE (- for stdin), one per line", NULL },
	{ "save", cmd_save, "", "print every ban as a line load reads back", NULL },
	{ "stats", cmd_stats, "", "packet counters and table sizes", NULL },
	{ "policy", cmd_policy, "[ set KEY=VALUE... ]",
	  "show the policy, or change some of its keys", NULL },
	{ "monitor", cmd_monitor, "", "print events as they happen", NULL },
	{ "help", NULL, "[COMMAND]", "this text, or COMMAND's", NULL },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "Usage: " PROG " [-j] [-n NETNS] COMMAND [ARGUMENTS]\n"
		"       " PROG " COMMAND { -h | --help }\n"
		"       " PROG " { -h | --help | help | -V | --version }\n\n"
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
		"  -j, --json        JSON output (one object per line for monitor);\n"
		"                    also after COMMAND\n"
		"  -n, --netns NETNS act in network namespace NETNS (" NETNS_DIR "/NETNS)\n"
		"  -V, --version     print the version\n"
		"Exit status: 0 ok, 1 failure, 2 usage (banned: 0 yes, 1 no, 2 error).\n"
		"See smtpgatectl(8).\n");
}

/* `COMMAND --help`: its grammar and what it does, on stdout. */
static void cmd_usage(const struct ctl_cmd *c)
{
	printf("Usage: " PROG " [-j] [-n NETNS] %s%s%s\n\n  %s\n",
	       c->name, *c->args ? " " : "", c->args, c->help);
	if (strstr(c->args, "PREFIX"))
		printf("\nPREFIX   := ADDR[/LEN]            IPv4 or IPv6\n");
	if (strstr(c->args, "DURATION"))
		printf("DURATION := NUMBER[s|m|h|d|w]...  e.g. 90, 10m, 3h12m, 2d\n");
	printf("\nSee smtpgatectl(8).\n");
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

/* ---- options --------------------------------------------------------------- */

struct gopts {
	bool json;
	const char *netns;
};

/*
 * The options before COMMAND.  Short ones bundle as getopt(3) has them
 * (-jn NETNS, -nNETNS); long ones match exactly, no abbreviations.
 * Returns the index of COMMAND, or -1 with *@ret the exit status (after
 * -h, -V or a usage error).
 */
static int global_opts(int argc, char **argv, struct gopts *g, int *ret)
{
	const char *a;
	int i;

	*ret = EXIT_OK;
	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		a = argv[i];
		if (!strcmp(a, "--json")) {
			g->json = true;
		} else if (!strcmp(a, "--netns") || !strncmp(a, "--netns=", 8)) {
			if (a[7] == '=') {
				g->netns = a + 8;
			} else if (++i == argc) {
				goto no_netns;
			} else {
				g->netns = argv[i];
			}
		} else if (!strcmp(a, "--help")) {
			usage(stdout);
			return -1;
		} else if (!strcmp(a, "--version")) {
			goto version;
		} else if (a[1] == '-') {
			goto unknown;
		} else {
			for (a++; *a; a++) {
				if (*a == 'j') {
					g->json = true;
				} else if (*a == 'h') {
					usage(stdout);
					return -1;
				} else if (*a == 'V') {
					goto version;
				} else if (*a == 'n') {
					if (a[1])
						g->netns = a + 1;
					else if (++i == argc)
						goto no_netns;
					else
						g->netns = argv[i];
					break;
				} else {
					errmsg("unknown option '-%c' (see '" PROG
					       " help')", *a);
					goto usage;
				}
			}
		}
	}
	return i;
version:
	printf(PROG " %s\n", SG_VERSION);
	return -1;
no_netns:
	errmsg("-n needs a network namespace name");
	goto usage;
unknown:
	errmsg("unknown option '%s' (see '" PROG " help')", a);
usage:
	*ret = EXIT_USAGE;
	return -1;
}

static bool takes_value(const struct ctl_cmd *c, const char *arg)
{
	const char *const *o;

	for (o = c->valopts; o && *o; o++)
		if (!strcmp(*o, arg))
			return true;
	return false;
}

/*
 * What every command takes after its name too: -j (`bans -j`, as `ip`
 * has it) and -h.  They are taken out of argv; a value of the command's
 * own options (ban --reason -j) stays.  True when -h was among them.
 */
static bool command_opts(const struct ctl_cmd *c, int *argc, char **argv,
			 struct gopts *g)
{
	bool help = false;
	int i, n = 1;

	for (i = 1; i < *argc; i++) {
		if (takes_value(c, argv[i]) && i + 1 < *argc) {
			argv[n++] = argv[i++];
		} else if (!strcmp(argv[i], "-j") ||
			   !strcmp(argv[i], "--json")) {
			g->json = true;
			continue;
		} else if (!strcmp(argv[i], "-h") ||
			   !strcmp(argv[i], "--help")) {
			help = true;
			continue;
		}
		argv[n++] = argv[i];
	}
	argv[n] = NULL;
	*argc = n;
	return help;
}

/* `help [COMMAND]` */
static int cmd_help(int argc, char **argv)
{
	const struct ctl_cmd *c;

	if (argc < 2) {
		usage(stdout);
		return EXIT_OK;
	}
	c = find_cmd(argv[1]);
	if (!c || argc > 2) {
		errmsg("help: %s '%s' (see '" PROG " help')",
		       c ? "unexpected" : "unknown command", argv[c ? 2 : 1]);
		return EXIT_USAGE;
	}
	cmd_usage(c);
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	const struct ctl_cmd *c;
	struct gopts g = { 0 };
	int i, ret;

	i = global_opts(argc, argv, &g, &ret);
	if (i < 0)
		return ret;
	if (i == argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	c = find_cmd(argv[i]);
	if (!c) {
		errmsg("unknown command '%s' (see '" PROG " help')", argv[i]);
		return EXIT_USAGE;
	}
	argc -= i;
	argv += i;
	if (command_opts(c, &argc, argv, &g)) {
		cmd_usage(c);
		return EXIT_OK;
	}
	if (!c->fn)
		return cmd_help(argc, argv);
	if (g.netns && (ret = enter_netns(g.netns)))
		return ret;
	out_setup(g.json, use_color());
	ret = c->fn(argc, argv);
	if (fflush(stdout) || ferror(stdout)) {
		errmsg("cannot write the output: %s", strerror(errno));
		ret = ret ? ret : EXIT_FAIL;
	}
	sgnl_close(nl);
	return ret;
}
