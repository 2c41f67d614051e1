// SPDX-License-Identifier: GPL-2.0
/*
 * smtpgatectl policy | policy set KEY=VALUE...
 *
 * The keys are the module parameters' names (internal, exempt, action, ...)
 * plus the thresholds and caps, so one vocabulary serves modprobe,
 * smtpgate.conf and this command, and `policy` prints values in the form
 * `policy set` takes.  The kernel replaces its policy as a whole; `policy
 * set` reads it, changes the keys given and writes it back, so the keys
 * not given keep their values.  An empty list value empties the list.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "ctl.h"
#include "duration.h"
#include "out.h"

enum key_type {
	K_PREFIXES, K_ACTION, K_SUBMISSION, K_PORTS, K_U8, K_U16, K_U32,
	K_BOOL, K_SCOPE, K_OPT_U16,	/* K_OPT_U16: "off" or a number */
	K_DURATION,			/* u32 seconds, as in smtpgate.conf */
};

struct key {
	const char *name;
	int attr;
	enum key_type type;
	size_t off;
};

#define POL(f)	offsetof(struct sgnl_policy, f)
#define KEY(n, a, t)	{ #n, SMTPGATE_A_POLICY_##a, t, POL(n) }

static const struct key keys[] = {
	KEY(internal, INTERNAL, K_PREFIXES),
	KEY(exempt, EXEMPT, K_PREFIXES),
	KEY(walled_garden, WALLED_GARDEN, K_PREFIXES),
	KEY(action, ACTION, K_ACTION),
	KEY(tunnel_action, TUNNEL_ACTION, K_ACTION),
	{ "submission", SMTPGATE_A_POLICY_SUBMISSION4, K_SUBMISSION, 0 },
	KEY(submission_port, SUBMISSION_PORT, K_U16),
	KEY(submission_tls_port, SUBMISSION_TLS_PORT, K_U16),
	{ "ports", SMTPGATE_A_POLICY_PORTS, K_PORTS, 0 },
	KEY(window, WINDOW, K_DURATION),
	KEY(rate_limit, RATE_LIMIT, K_U32),
	KEY(blocked_limit, BLOCKED_LIMIT, K_U32),
	KEY(dest_limit, DEST_LIMIT, K_U32),
	KEY(flag_tunnel, FLAG_TUNNEL, K_BOOL),
	KEY(ban_scope, BAN_SCOPE, K_SCOPE),
	KEY(host_prefix4, HOST_PREFIX4, K_U8),
	KEY(host_prefix6, HOST_PREFIX6, K_U8),
	KEY(max_hosts, MAX_HOSTS, K_U32),
	KEY(max_bans, MAX_BANS, K_U32),
	KEY(inspect_queue, INSPECT_QUEUE, K_OPT_U16),
	KEY(inspect_bytes, INSPECT_BYTES, K_U32),
	KEY(trap_port, TRAP_PORT, K_OPT_U16),
};

#define HAS(a)	SGNL_POLICY_HAS(SMTPGATE_A_POLICY_##a)

/* ---- show -------------------------------------------------------------- */

static void print_prefixes(const char *key, const struct sgnl_prefix_list *l)
{
	char buf[SG_PREFIX_STRLEN];
	unsigned int i;

	out_list(OUT_ANY, key, key);
	for (i = 0; i < l->n; i++)
		out_str(OUT_ANY, NULL, NULL,
			sg_prefix_str(&l->v[i], buf, sizeof(buf)));
	out_end();
}

static void print_submission(const struct sgnl_policy *p)
{
	char buf[INET6_ADDRSTRLEN];

	out_list(OUT_ANY, "submission", "submission");
	if (p->has & HAS(SUBMISSION4))
		out_str(OUT_ANY, NULL, NULL,
			inet_ntop(AF_INET, &p->submission4, buf, sizeof(buf)));
	if (p->has & HAS(SUBMISSION6))
		out_str(OUT_ANY, NULL, NULL,
			inet_ntop(AF_INET6, &p->submission6, buf, sizeof(buf)));
	out_end();
}

static void print_key(const struct sgnl_policy *p, const struct key *k)
{
	const char *base = (const char *)p, *name;
	unsigned int i;

	switch (k->type) {
	case K_PREFIXES:
		print_prefixes(k->name,
			       (const struct sgnl_prefix_list *)(base + k->off));
		break;
	case K_SUBMISSION:
		print_submission(p);
		break;
	case K_PORTS:
		out_list(OUT_ANY, k->name, k->name);
		for (i = 0; i < p->nports; i++)
			out_uint(OUT_ANY, NULL, NULL, p->ports[i]);
		out_end();
		break;
	case K_ACTION:
		name = sgnl_action_name(*(const uint8_t *)(base + k->off));
		out_str(OUT_ANY, k->name, k->name, name ? name : "?");
		break;
	case K_SCOPE:
		name = sgnl_scope_name(*(const uint8_t *)(base + k->off));
		out_str(OUT_ANY, k->name, k->name, name ? name : "?");
		break;
	case K_BOOL:
		out_bool(OUT_ANY, k->name, k->name,
			 *(const uint8_t *)(base + k->off));
		break;
	case K_U8:
		out_uint(OUT_ANY, k->name, k->name,
			 *(const uint8_t *)(base + k->off));
		break;
	case K_U16:
		out_uint(OUT_ANY, k->name, k->name,
			 *(const uint16_t *)(base + k->off));
		break;
	case K_OPT_U16:
		if (p->has & SGNL_POLICY_HAS(k->attr))
			out_uint(OUT_ANY, k->name, k->name,
				 *(const uint16_t *)(base + k->off));
		else
			out_null(OUT_ANY, k->name, k->name, "off");
		break;
	case K_U32:
	case K_DURATION:
		out_uint(OUT_ANY, k->name, k->name,
			 *(const uint32_t *)(base + k->off));
		break;
	}
}

static int policy_show(void)
{
	struct sgnl_policy p;
	size_t i;

	if (sgnl_policy_get(ctl_nl(), &p))
		return nl_fail(ctl_nl(), "cannot read the policy");
	out_record(NULL);
	for (i = 0; i < ARRAY_SIZE(keys); i++)
		print_key(&p, &keys[i]);
	out_uint(OUT_ANY, "generation", "generation", p.generation);
	out_end();
	return EXIT_OK;
}

/* ---- set --------------------------------------------------------------- */

/* Splits a comma-separated list in place; "" is the empty list. */
static char *next_item(char **s)
{
	char *item = *s, *comma;

	if (!item || !*item)
		return NULL;
	comma = strchr(item, ',');
	if (comma) {
		*comma = '\0';
		*s = comma + 1;
	} else {
		*s = NULL;
	}
	return item;
}

static int set_prefixes(char *v, struct sgnl_prefix_list *l, char *err,
			size_t len)
{
	char *item;

	l->n = 0;
	while ((item = next_item(&v))) {
		if (l->n == SMTPGATE_MAX_PREFIXES) {
			snprintf(err, len, "more than %d prefixes",
				 SMTPGATE_MAX_PREFIXES);
			return -E2BIG;
		}
		if (sg_prefix_parse(item, &l->v[l->n++], err, len))
			return -EINVAL;
	}
	return 0;
}

static int set_submission(char *v, struct sgnl_policy *p, char *err,
			  size_t len)
{
	struct sg_prefix a;
	char *item;

	p->has &= ~(HAS(SUBMISSION4) | HAS(SUBMISSION6));
	while ((item = next_item(&v))) {
		if (sg_addr_parse(item, &a, err, len))
			return -EINVAL;
		if (p->has & (a.family == AF_INET ? HAS(SUBMISSION4) :
			      HAS(SUBMISSION6))) {
			snprintf(err, len, "one address per family");
			return -EINVAL;
		}
		if (a.family == AF_INET) {
			p->submission4 = a.addr.v4;
			p->has |= HAS(SUBMISSION4);
		} else {
			p->submission6 = a.addr.v6;
			p->has |= HAS(SUBMISSION6);
		}
	}
	return 0;
}

static int set_ports(char *v, struct sgnl_policy *p, char *err, size_t len)
{
	uint64_t port;
	char *item;

	p->nports = 0;
	while ((item = next_item(&v))) {
		if (p->nports == SMTPGATE_MAX_PORTS) {
			snprintf(err, len, "more than %d ports",
				 SMTPGATE_MAX_PORTS);
			return -E2BIG;
		}
		if (sg_parse_uint(item, 65535, &port)) {
			snprintf(err, len, "'%s' is not a port number", item);
			return -EINVAL;
		}
		p->ports[p->nports++] = port;
	}
	return 0;
}

static int set_number(const char *v, uint64_t max, uint64_t *n, char *err,
		      size_t len)
{
	if (sg_parse_uint(v, max, n)) {
		snprintf(err, len, "'%s' is not a number from 0 to %llu", v,
			 (unsigned long long)max);
		return -EINVAL;
	}
	return 0;
}

static int set_name(int value, const char *v, const char *what, char *err,
		    size_t len)
{
	if (value < 0)
		snprintf(err, len, "'%s' is not %s", v, what);
	return value;
}

static int set_key(struct sgnl_policy *p, const struct key *k, char *v,
		   char *err, size_t len)
{
	char *base = (char *)p;
	uint64_t n;
	int ret = 0;

	switch (k->type) {
	case K_PREFIXES:
		ret = set_prefixes(v, (struct sgnl_prefix_list *)(base + k->off),
				   err, len);
		break;
	case K_SUBMISSION:
		return set_submission(v, p, err, len);
	case K_PORTS:
		ret = set_ports(v, p, err, len);
		break;
	case K_ACTION:
		ret = set_name(sgnl_action_parse(v), v,
			       "drop, log, droplog, redirect or trap", err, len);
		if (ret >= 0)
			*(uint8_t *)(base + k->off) = ret;
		break;
	case K_SCOPE:
		ret = set_name(sgnl_scope_parse(v), v, "smtp or all", err, len);
		if (ret >= 0)
			*(uint8_t *)(base + k->off) = ret;
		break;
	case K_BOOL:
		ret = sg_bool_parse(v, err, len);
		if (ret >= 0)
			*(uint8_t *)(base + k->off) = ret;
		break;
	case K_DURATION:
		ret = sg_duration_parse(v, (uint32_t *)(base + k->off), err,
					len);
		break;
	case K_U8:
		ret = set_number(v, UINT8_MAX, &n, err, len);
		if (!ret)
			*(uint8_t *)(base + k->off) = n;
		break;
	case K_U16:
		ret = set_number(v, UINT16_MAX, &n, err, len);
		if (!ret)
			*(uint16_t *)(base + k->off) = n;
		break;
	case K_U32:
		ret = set_number(v, UINT32_MAX, &n, err, len);
		if (!ret)
			*(uint32_t *)(base + k->off) = n;
		break;
	case K_OPT_U16:
		if (!strcmp(v, "off")) {
			p->has &= ~SGNL_POLICY_HAS(k->attr);
			return 0;
		}
		ret = set_number(v, UINT16_MAX, &n, err, len);
		if (!ret)
			*(uint16_t *)(base + k->off) = n;
		break;
	}
	if (ret < 0)
		return ret;
	p->has |= SGNL_POLICY_HAS(k->attr);
	return 0;
}

static const struct key *find_key(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(keys); i++)
		if (strlen(keys[i].name) == len &&
		    !strncmp(keys[i].name, name, len))
			return &keys[i];
	return NULL;
}

/* "internal, exempt, ...": what a usage error offers. */
static const char *key_names(void)
{
	static char names[512];
	size_t i, n = 0;

	for (i = 0; i < ARRAY_SIZE(keys) && n < sizeof(names); i++)
		n += snprintf(names + n, sizeof(names) - n, "%s%s",
			      i ? ", " : "", keys[i].name);
	return names;
}

/* Applies argv[2..] to @p; a usage error says which argument is wrong. */
static int apply_keys(int argc, char **argv, struct sgnl_policy *p)
{
	char err[SG_PARSE_ERRLEN + 64];
	bool given[ARRAY_SIZE(keys)] = { false };
	const struct key *k;
	char *eq, *value;
	int i, ret;

	for (i = 2; i < argc; i++) {
		eq = strchr(argv[i], '=');
		k = eq ? find_key(argv[i], eq - argv[i]) : NULL;
		if (!k)
			return usage_error(argv[0],
					   "policy set: '%s' is not KEY=VALUE with a known KEY (%s)",
					   argv[i], key_names());
		if (given[k - keys])
			return usage_error(argv[0], "policy set: %s given twice",
					   k->name);
		given[k - keys] = true;
		/* The list parsers cut the value up: keep argv for messages. */
		value = strdup(eq + 1);
		if (!value)
			die_nomem();
		ret = set_key(p, k, value, err, sizeof(err));
		free(value);
		if (ret)
			return usage_error(argv[0], "policy set %s: %s",
					   argv[i], err);
	}
	return 0;
}

static int policy_set(int argc, char **argv)
{
	struct sgnl_policy p;
	int ret;

	if (argc < 3)
		return usage_error(argv[0], "policy set: KEY=VALUE is needed");
	/* Usage errors first, without asking the kernel anything. */
	sgnl_policy_init(&p);
	ret = apply_keys(argc, argv, &p);
	if (ret)
		return ret;
	if (sgnl_policy_get(ctl_nl(), &p))
		return nl_fail(ctl_nl(), "cannot read the policy");
	apply_keys(argc, argv, &p);
	if (sgnl_policy_set(ctl_nl(), &p))
		return nl_fail(ctl_nl(), "policy set");
	return EXIT_OK;
}

int cmd_policy(int argc, char **argv)
{
	if (argc == 1)
		return policy_show();
	if (!strcmp(argv[1], "set"))
		return policy_set(argc, argv);
	return usage_error(argv[0], "policy: unexpected '%s'", argv[1]);
}
