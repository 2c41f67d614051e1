// SPDX-License-Identifier: GPL-2.0
/*
 * libxt_SMTPGATE: the iptables/ip6tables extension of smtpgate's SMTPGATE
 * target (kmod/xt.c).  The rule data is struct xt_smtpgate_tginfo from the
 * shared uapi header; its meaning is described there and in
 * libxt_SMTPGATE(8).
 *
 * What userspace can tell is checked here, with a message naming the bad
 * value: the action, the submission address (and that its family is the
 * rule's), the ports (1-65535, at most XT_SMTPGATE_MAX_PORTS, no repeats),
 * and that redirect has a submission server and nothing else does.  What
 * only the kernel knows (the table and chain) is its checkentry's job.
 *
 * print and save write only what is not the default, always in the same
 * order (action, submission, ports) with ports sorted, so iptables-save
 * output restores to the same rule and saves again byte for byte.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/*
 * As iptables' own extensions: afinfo, the family of the program using us
 * (iptables or ip6tables, nft listing an ip or an ip6 table).
 */
#define XTABLES_INTERNAL
#include <xtables.h>
#include <linux/smtpgate.h>
#include <linux/netfilter/xt_SMTPGATE.h>

#define DEFAULT_SUBMISSION_PORT	587

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

enum {
	O_ACTION,
	O_SUBMISSION,
	O_PORTS,
};

static const struct {
	const char *name;
	__u8 action;
} actions[] = {
	{ "drop", SMTPGATE_ACTION_DROP },
	{ "log", SMTPGATE_ACTION_LOG },
	{ "droplog", SMTPGATE_ACTION_DROPLOG },
	{ "redirect", SMTPGATE_ACTION_REDIRECT },
	{ "classify", XT_SMTPGATE_ACTION_CLASSIFY },
};

static const struct xt_option_entry smtpgate_tg_opts[] = {
	{ .name = "action", .id = O_ACTION, .type = XTTYPE_STRING },
	{ .name = "submission", .id = O_SUBMISSION, .type = XTTYPE_STRING },
	{ .name = "ports", .id = O_PORTS, .type = XTTYPE_STRING },
	XTOPT_TABLEEND,
};

static void smtpgate_tg_help(void)
{
	printf(
"SMTPGATE target options:\n"
"  --action drop|log|droplog|redirect|classify\n"
"                             what to do with SMTP from the rule's sources\n"
"                             (default: drop); banned hosts are dropped\n"
"                             whatever the action\n"
"  --submission ADDR[:PORT]   redirect's submission server (port 587 by\n"
"                             default; IPv6: [ADDR]:PORT or ADDR); nat\n"
"                             table, PREROUTING only\n"
"  --ports PORT[,PORT...]     watched TCP ports, 1-%u of them, instead of\n"
"                             the smtpgate policy's (25,465)\n",
	XT_SMTPGATE_MAX_PORTS);
}

static const char *action_name(__u8 action)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(actions); i++)
		if (actions[i].action == action)
			return actions[i].name;
	return NULL;
}

static void smtpgate_tg_init(struct xt_entry_target *target)
{
	struct xt_smtpgate_tginfo *info = (void *)target->data;

	info->action = SMTPGATE_ACTION_DROP;
}

static void parse_action(const char *arg, struct xt_smtpgate_tginfo *info)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(actions); i++) {
		if (strcmp(arg, actions[i].name) == 0) {
			info->action = actions[i].action;
			return;
		}
	}
	xtables_error(PARAMETER_PROBLEM,
		      "SMTPGATE: --action \"%s\": not one of drop, log, droplog, redirect, classify",
		      arg);
}

/* A port number, 1-65535, in decimal and nothing else; 0 when it is not. */
static unsigned int parse_port(const char *s, size_t len)
{
	unsigned int port = 0;
	size_t i;

	if (len == 0 || len > 5)
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		port = port * 10 + (s[i] - '0');
	}
	return port <= 65535 ? port : 0;
}

/*
 * ADDR[:PORT] for IPv4; [ADDR]:PORT, [ADDR] or ADDR for IPv6.  Numeric
 * addresses only: a rule must not depend on DNS when it is restored at
 * boot.  The address must be of the rule's family.
 */
static void parse_submission(const char *arg, uint8_t family,
			     struct xt_smtpgate_tginfo *info)
{
	char addr[INET6_ADDRSTRLEN + 2];
	const char *port = NULL, *end;
	struct in6_addr a6;
	struct in_addr a4;
	size_t len;

	if (arg[0] == '[') {
		end = strchr(arg, ']');
		if (end == NULL || (end[1] != '\0' && end[1] != ':'))
			xtables_error(PARAMETER_PROBLEM,
				      "SMTPGATE: --submission \"%s\": expected [IPV6-ADDRESS]:PORT",
				      arg);
		len = end - arg - 1;
		if (end[1] == ':')
			port = end + 2;
		arg++;
	} else {
		end = strchr(arg, ':');
		/* One colon: IPv4:PORT; more: a bare IPv6 address. */
		if (end != NULL && strchr(end + 1, ':') == NULL) {
			len = end - arg;
			port = end + 1;
		} else {
			len = strlen(arg);
		}
	}
	if (len >= sizeof(addr))
		len = sizeof(addr) - 1;
	memcpy(addr, arg, len);
	addr[len] = '\0';

	memset(&info->submission, 0, sizeof(info->submission));
	if (inet_pton(AF_INET, addr, &a4) == 1) {
		if (family != NFPROTO_IPV4)
			xtables_error(PARAMETER_PROBLEM,
				      "SMTPGATE: --submission %s is an IPv4 address; an ip6tables rule needs an IPv6 submission server",
				      addr);
		info->submission.in = a4;
	} else if (inet_pton(AF_INET6, addr, &a6) == 1) {
		if (family != NFPROTO_IPV6)
			xtables_error(PARAMETER_PROBLEM,
				      "SMTPGATE: --submission %s is an IPv6 address; an iptables rule needs an IPv4 submission server",
				      addr);
		info->submission.in6 = a6;
	} else {
		xtables_error(PARAMETER_PROBLEM,
			      "SMTPGATE: --submission \"%s\": not a numeric IPv4 or IPv6 address",
			      addr);
	}

	info->submission_port = 0;
	if (port != NULL) {
		unsigned int p = parse_port(port, strlen(port));

		if (p == 0)
			xtables_error(PARAMETER_PROBLEM,
				      "SMTPGATE: --submission port \"%s\": not a port (1-65535)",
				      port);
		/* 587 is what 0 means: one way to write each rule. */
		if (p != DEFAULT_SUBMISSION_PORT)
			info->submission_port = p;
	}
	info->flags |= XT_SMTPGATE_F_SUBMISSION;
}

static int cmp_port(const void *a, const void *b)
{
	return *(const __u16 *)a - *(const __u16 *)b;
}

/* P[,P...], 1-XT_SMTPGATE_MAX_PORTS distinct ports, stored sorted. */
static void parse_ports(const char *arg, struct xt_smtpgate_tginfo *info)
{
	const char *p = arg, *comma;
	unsigned int n = 0, i, port;
	size_t len;

	for (;;) {
		comma = strchr(p, ',');
		len = comma ? (size_t)(comma - p) : strlen(p);
		port = parse_port(p, len);
		if (port == 0)
			xtables_error(PARAMETER_PROBLEM,
				      "SMTPGATE: --ports \"%s\": \"%.*s\" is not a port (1-65535)",
				      arg, (int)len, p);
		for (i = 0; i < n; i++)
			if (info->ports[i] == port)
				xtables_error(PARAMETER_PROBLEM,
					      "SMTPGATE: --ports \"%s\": port %u given twice",
					      arg, port);
		if (n == XT_SMTPGATE_MAX_PORTS)
			xtables_error(PARAMETER_PROBLEM,
				      "SMTPGATE: --ports \"%s\": more than %u ports",
				      arg, XT_SMTPGATE_MAX_PORTS);
		info->ports[n++] = port;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	qsort(info->ports, n, sizeof(info->ports[0]), cmp_port);
	info->n_ports = n;
	info->flags |= XT_SMTPGATE_F_PORTS;
}

static void smtpgate_tg_parse(struct xt_option_call *cb)
{
	struct xt_smtpgate_tginfo *info = cb->data;
	uint8_t family = afinfo->family;

	xtables_option_parse(cb);
	switch (cb->entry->id) {
	case O_ACTION:
		parse_action(cb->arg, info);
		break;
	case O_SUBMISSION:
		parse_submission(cb->arg, family, info);
		break;
	case O_PORTS:
		parse_ports(cb->arg, info);
		break;
	}
}

static void smtpgate_tg_check(struct xt_fcheck_call *cb)
{
	const struct xt_smtpgate_tginfo *info = cb->data;

	if (info->action == SMTPGATE_ACTION_REDIRECT &&
	    !(info->flags & XT_SMTPGATE_F_SUBMISSION))
		xtables_error(PARAMETER_PROBLEM,
			      "SMTPGATE: --action redirect needs --submission ADDR[:PORT] (the submission server)");
	if (info->action != SMTPGATE_ACTION_REDIRECT &&
	    (info->flags & XT_SMTPGATE_F_SUBMISSION))
		xtables_error(PARAMETER_PROBLEM,
			      "SMTPGATE: --submission only goes with --action redirect (the action is %s)",
			      action_name(info->action));
}

static void print_submission(const struct xt_smtpgate_tginfo *info,
			     uint8_t family, const char *sep)
{
	if (family == NFPROTO_IPV6) {
		printf("%s[%s]", sep, xtables_ip6addr_to_numeric(&info->submission.in6));
		if (info->submission_port != 0)
			printf(":%u", info->submission_port);
	} else {
		printf("%s%s", sep, xtables_ipaddr_to_numeric(&info->submission.in));
		if (info->submission_port != 0)
			printf(":%u", info->submission_port);
	}
}

static void print_ports(const struct xt_smtpgate_tginfo *info, const char *sep)
{
	unsigned int i;

	for (i = 0; i < info->n_ports && i < XT_SMTPGATE_MAX_PORTS; i++) {
		printf("%s%u", sep, info->ports[i]);
		sep = ",";
	}
}

/*
 * iptables-save: --action, --submission, --ports, each only when it is not
 * the default, in that order.  An IPv6 submission server is always
 * bracketed, so a port can follow it.
 */
static void smtpgate_tg_save_family(const struct xt_entry_target *target,
				    uint8_t family)
{
	const struct xt_smtpgate_tginfo *info = (const void *)target->data;
	const char *name = action_name(info->action);

	if (info->action != SMTPGATE_ACTION_DROP) {
		if (name != NULL)
			printf(" --action %s", name);
		else
			printf(" --action %u", info->action);
	}
	if (info->flags & XT_SMTPGATE_F_SUBMISSION)
		print_submission(info, family, " --submission ");
	if (info->flags & XT_SMTPGATE_F_PORTS)
		print_ports(info, " --ports ");
}

/* iptables -L: the same, as words; the action always. */
static void smtpgate_tg_print_family(const struct xt_entry_target *target,
				     uint8_t family)
{
	const struct xt_smtpgate_tginfo *info = (const void *)target->data;
	const char *name = action_name(info->action);

	if (name != NULL)
		printf(" action %s", name);
	else
		printf(" action %u", info->action);
	if (info->flags & XT_SMTPGATE_F_SUBMISSION)
		print_submission(info, family, " submission ");
	if (info->flags & XT_SMTPGATE_F_PORTS)
		print_ports(info, " ports ");
}

static void smtpgate_tg_save(const void *ip, const struct xt_entry_target *target)
{
	smtpgate_tg_save_family(target, afinfo->family);
}

static void smtpgate_tg_print(const void *ip, const struct xt_entry_target *target,
			      int numeric)
{
	smtpgate_tg_print_family(target, afinfo->family);
}

/*
 * One registration for both families, as iptables' own libxt_ extensions:
 * libxtables drops a registration for the other family than the one in
 * use, and a program that works with both (nft listing ip and ip6 tables)
 * loads the library once.  The family is afinfo's at each call.
 */
static struct xtables_target smtpgate_tg_reg = {
	.name = "SMTPGATE",
	.revision = 0,
	.family = NFPROTO_UNSPEC,
	.version = XTABLES_VERSION,
	.size = XT_ALIGN(sizeof(struct xt_smtpgate_tginfo)),
	.userspacesize = offsetof(struct xt_smtpgate_tginfo, priv),
	.help = smtpgate_tg_help,
	.init = smtpgate_tg_init,
	.print = smtpgate_tg_print,
	.save = smtpgate_tg_save,
	.x6_parse = smtpgate_tg_parse,
	.x6_fcheck = smtpgate_tg_check,
	.x6_options = smtpgate_tg_opts,
};

static __attribute__((constructor)) void smtpgate_tg_ldr(void)
{
	xtables_register_target(&smtpgate_tg_reg);
}
