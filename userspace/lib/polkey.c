// SPDX-License-Identifier: GPL-2.0
/*
 * The policy's keys and their value grammar: see polkey.h.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>

#include "duration.h"
#include "polkey.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

#define FIELD(f)	offsetof(struct sgnl_policy, f), \
			sizeof(((struct sgnl_policy *)0)->f)
#define KEY(n, kind, a, lo, hi) \
	{ #n, kind, SMTPGATE_A_POLICY_##a, 0, FIELD(n), lo, hi }

/*
 * The ranges are the kernel's (its netlink policy and sg_policy_check()):
 * a value refused here would be refused there, only later and with less
 * context.
 */
const struct sg_polkey sg_polkeys[] = {
	KEY(internal, SG_PK_PREFIXES, INTERNAL, 0, SMTPGATE_MAX_PREFIXES),
	KEY(exempt, SG_PK_PREFIXES, EXEMPT, 0, SMTPGATE_MAX_PREFIXES),
	KEY(walled_garden, SG_PK_PREFIXES, WALLED_GARDEN, 0,
	    SMTPGATE_MAX_PREFIXES),
	KEY(action, SG_PK_ACTION, ACTION, 0, 0),
	KEY(tunnel_action, SG_PK_TUNNEL_ACTION, TUNNEL_ACTION, 0, 0),
	{ "submission", SG_PK_SUBMISSION, SMTPGATE_A_POLICY_SUBMISSION4, 0,
	  FIELD(submission4), 0, 0 },
	KEY(submission_port, SG_PK_UINT, SUBMISSION_PORT, 1, 65535),
	KEY(submission_tls_port, SG_PK_UINT, SUBMISSION_TLS_PORT, 0, 65535),
	KEY(ports, SG_PK_PORTS, PORTS, 1, SMTPGATE_MAX_PORTS),
	KEY(window, SG_PK_DURATION, WINDOW, 1, 86400),
	KEY(rate_limit, SG_PK_UINT, RATE_LIMIT, 0, 65534),
	KEY(blocked_limit, SG_PK_UINT, BLOCKED_LIMIT, 0, 65535),
	KEY(dest_limit, SG_PK_UINT, DEST_LIMIT, 0, 267),
	KEY(flag_tunnel, SG_PK_BOOL, FLAG_TUNNEL, 0, 1),
	KEY(ban_scope, SG_PK_SCOPE, BAN_SCOPE, 0, 0),
	KEY(host_prefix4, SG_PK_UINT, HOST_PREFIX4, 8, 32),
	KEY(host_prefix6, SG_PK_UINT, HOST_PREFIX6, 16, 128),
	KEY(max_hosts, SG_PK_UINT, MAX_HOSTS, 16, 16777216),
	KEY(max_bans, SG_PK_UINT, MAX_BANS, 16, 16777216),
	KEY(inspect_queue, SG_PK_OPT_UINT, INSPECT_QUEUE, 0, 65535),
	KEY(inspect_bytes, SG_PK_UINT, INSPECT_BYTES, 64, 1048576),
	KEY(trap_port, SG_PK_OPT_UINT, TRAP_PORT, 1, 65535),
	{ "generation", SG_PK_UINT, SMTPGATE_A_POLICY_GENERATION,
	  SG_PK_READONLY, FIELD(generation), 0, UINT32_MAX },
};

const size_t sg_npolkeys = ARRAY_SIZE(sg_polkeys);

const struct sg_polkey *sg_polkey_find(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < sg_npolkeys; i++)
		if (!(sg_polkeys[i].flags & SG_PK_READONLY) &&
		    strlen(sg_polkeys[i].name) == len &&
		    !strncmp(sg_polkeys[i].name, name, len))
			return &sg_polkeys[i];
	return NULL;
}

const struct sg_polkey *sg_polkey_of_attr(unsigned int attr)
{
	size_t i;

	if (attr == SMTPGATE_A_POLICY_SUBMISSION6)
		attr = SMTPGATE_A_POLICY_SUBMISSION4;
	for (i = 0; i < sg_npolkeys; i++)
		if (sg_polkeys[i].attr == attr)
			return &sg_polkeys[i];
	return NULL;
}

const char *sg_polkey_names(void)
{
	static char names[512];
	size_t i, n = 0;

	if (names[0])
		return names;
	for (i = 0; i < sg_npolkeys && n < sizeof(names); i++)
		if (!(sg_polkeys[i].flags & SG_PK_READONLY))
			n += snprintf(names + n, sizeof(names) - n, "%s%s",
				      n ? ", " : "", sg_polkeys[i].name);
	return names;
}

uint32_t sg_polkey_get(const struct sg_polkey *k, const struct sgnl_policy *p)
{
	const char *f = (const char *)p + k->off;
	uint16_t v16;
	uint32_t v32;

	switch (k->width) {
	case 1:
		return *(const uint8_t *)f;
	case 2:
		memcpy(&v16, f, 2);
		return v16;
	case 4:
		memcpy(&v32, f, 4);
		return v32;
	}
	return 0;
}

void sg_polkey_put(const struct sg_polkey *k, struct sgnl_policy *p,
		   uint32_t v)
{
	char *f = (char *)p + k->off;
	uint16_t v16 = v;

	switch (k->width) {
	case 1:
		*(uint8_t *)f = v;
		break;
	case 2:
		memcpy(f, &v16, 2);
		break;
	case 4:
		memcpy(f, &v, 4);
		break;
	}
}

bool sg_polkey_present(const struct sg_polkey *k, const struct sgnl_policy *p)
{
	if (k->kind == SG_PK_SUBMISSION)
		return p->has & (SGNL_POLICY_HAS(SMTPGATE_A_POLICY_SUBMISSION4) |
				 SGNL_POLICY_HAS(SMTPGATE_A_POLICY_SUBMISSION6));
	return p->has & SGNL_POLICY_HAS(k->attr);
}

/* ---- parsing ------------------------------------------------------------ */

struct parse {
	const struct sg_polkey *k;
	struct sgnl_policy *p;
	char *value;
	sg_polkey_err_fn fn;
	void *arg;
	int errors;
};

static void __attribute__((format(printf, 3, 4)))
perr(struct parse *x, const char *at, const char *fmt, ...)
{
	char msg[SG_PARSE_ERRLEN + 64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	x->errors++;
	if (x->fn)
		x->fn(x->arg, at ? (size_t)(at - x->value) : 0, msg);
}

static bool is_sep(char c)
{
	return c == ',' || isspace((unsigned char)c);
}

/* The next item from *@pos, NUL-ended in place; NULL at the end. */
static char *next_item(char *s, size_t *pos)
{
	char *item;

	while (s[*pos] && is_sep(s[*pos]))
		(*pos)++;
	if (!s[*pos])
		return NULL;
	item = s + *pos;
	while (s[*pos] && !is_sep(s[*pos]))
		(*pos)++;
	if (s[*pos])
		s[(*pos)++] = '\0';
	return item;
}

static void parse_prefixes(struct parse *x)
{
	struct sgnl_prefix_list *l = (void *)((char *)x->p + x->k->off);
	char err[SG_PARSE_ERRLEN];
	size_t pos = 0;
	char *item;

	l->n = 0;
	while ((item = next_item(x->value, &pos))) {
		if (l->n == x->k->max) {
			perr(x, item, "more than %u prefixes (the kernel's maximum)",
			     x->k->max);
			return;
		}
		if (sg_prefix_parse(item, &l->v[l->n], err, sizeof(err)))
			perr(x, item, "%s", err);
		else
			l->n++;
	}
}

static void parse_submission(struct parse *x)
{
	struct sgnl_policy *p = x->p;
	char err[SG_PARSE_ERRLEN];
	struct sg_prefix a;
	size_t pos = 0;
	uint32_t bit;
	char *item;

	p->has &= ~(SGNL_POLICY_HAS(SMTPGATE_A_POLICY_SUBMISSION4) |
		    SGNL_POLICY_HAS(SMTPGATE_A_POLICY_SUBMISSION6));
	while ((item = next_item(x->value, &pos))) {
		if (sg_addr_parse(item, &a, err, sizeof(err))) {
			perr(x, item, "%s", err);
			continue;
		}
		bit = SGNL_POLICY_HAS(a.family == AF_INET ?
				      SMTPGATE_A_POLICY_SUBMISSION4 :
				      SMTPGATE_A_POLICY_SUBMISSION6);
		if (p->has & bit) {
			perr(x, item, "'%s': a second %s address (one per family)",
			     item, a.family == AF_INET ? "IPv4" : "IPv6");
			continue;
		}
		p->has |= bit;
		if (a.family == AF_INET)
			p->submission4 = a.addr.v4;
		else
			p->submission6 = a.addr.v6;
	}
}

static void parse_ports(struct parse *x)
{
	struct sgnl_policy *p = x->p;
	unsigned int items = 0;
	size_t pos = 0;
	uint64_t port;
	char *item;

	p->nports = 0;
	while ((item = next_item(x->value, &pos))) {
		items++;
		if (sg_parse_uint(item, 65535, &port) || !port) {
			perr(x, item, "'%s' is not a port from 1 to 65535", item);
			continue;
		}
		if (p->nports == x->k->max) {
			perr(x, item, "more than %u ports", x->k->max);
			return;
		}
		p->ports[p->nports++] = port;
	}
	if (!items)
		perr(x, NULL, "the list is empty");
}

static void parse_uint(struct parse *x, const char *v)
{
	const struct sg_polkey *k = x->k;
	uint64_t n;

	if (sg_parse_uint(v, k->max, &n) || n < k->min) {
		perr(x, NULL, "'%s' is not a number from %u to %u", v, k->min,
		     k->max);
		return;
	}
	sg_polkey_put(k, x->p, n);
}

static void parse_duration(struct parse *x, const char *v)
{
	char err[SG_PARSE_ERRLEN], max[32];
	uint32_t secs;

	if (sg_duration_parse(v, &secs, err, sizeof(err))) {
		perr(x, NULL, "%s", err);
		return;
	}
	if (secs > x->k->max || secs < x->k->min) {
		perr(x, NULL, "'%s' is longer than %s", v,
		     sg_duration_fmt(x->k->max, max, sizeof(max)));
		return;
	}
	sg_polkey_put(x->k, x->p, secs);
}

static void parse_action(struct parse *x, const char *v)
{
	bool tunnel = x->k->kind == SG_PK_TUNNEL_ACTION;
	int a = sgnl_action_parse(v);

	if (a <= 0)
		perr(x, NULL, tunnel ? "'%s' is not drop, log or droplog" :
		     "'%s' is not drop, log, droplog, redirect or trap", v);
	else if (tunnel && a == SMTPGATE_ACTION_REDIRECT)
		perr(x, NULL, "tunnelled SMTP cannot be redirected; use drop, log or droplog");
	else if (tunnel && a == SMTPGATE_ACTION_TRAP)
		perr(x, NULL, "tunnelled SMTP cannot be trapped; use drop, log or droplog");
	else
		sg_polkey_put(x->k, x->p, a);
}

static void parse_scalar(struct parse *x, const char *v)
{
	char err[SG_PARSE_ERRLEN];
	int n;

	switch (x->k->kind) {
	case SG_PK_ACTION:
	case SG_PK_TUNNEL_ACTION:
		parse_action(x, v);
		break;
	case SG_PK_SCOPE:
		n = sgnl_scope_parse(v);
		if (n <= 0)
			perr(x, NULL, "'%s' is not smtp or all", v);
		else
			sg_polkey_put(x->k, x->p, n);
		break;
	case SG_PK_BOOL:
		n = sg_bool_parse(v, err, sizeof(err));
		if (n < 0)
			perr(x, NULL, "%s", err);
		else
			sg_polkey_put(x->k, x->p, n);
		break;
	case SG_PK_DURATION:
		parse_duration(x, v);
		break;
	case SG_PK_OPT_UINT:
		if (!strcmp(v, "off")) {
			x->p->has &= ~SGNL_POLICY_HAS(x->k->attr);
			break;
		}
		/* fall through */
	default:
		parse_uint(x, v);
		break;
	}
}

int sg_polkey_parse(const struct sg_polkey *k, char *value,
		    struct sgnl_policy *p, sg_polkey_err_fn fn, void *arg)
{
	struct parse x = {
		.k = k, .p = p, .value = value, .fn = fn, .arg = arg,
	};

	if (k->kind != SG_PK_SUBMISSION)
		p->has |= SGNL_POLICY_HAS(k->attr);
	switch (k->kind) {
	case SG_PK_PREFIXES:
		parse_prefixes(&x);
		break;
	case SG_PK_SUBMISSION:
		parse_submission(&x);
		break;
	case SG_PK_PORTS:
		parse_ports(&x);
		break;
	default:
		if (!*value)
			perr(&x, NULL, "no value");
		else if (strpbrk(value, " \t\n"))
			perr(&x, NULL, "'%s': one value expected", value);
		else
			parse_scalar(&x, value);
		break;
	}
	return x.errors;
}
