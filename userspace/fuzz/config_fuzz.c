// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for smtpgate.conf's parser (daemon/config.c), built
 * with ASan and UBSan.  Whatever the input:
 *
 *   - every error message is "fuzz.conf:LINE: ..." with LINE a line of the
 *     input (or "fuzz.conf: ..." for the whole file), so an operator can
 *     always find what is meant;
 *   - the count returned is the count of messages;
 *   - a config accepted without error is one the kernel and the daemon
 *     accept: every value within its range, no prefix with host bits,
 *     redirect only with a submission server, ban_first <= ban_max;
 *   - nothing leaks (config_free frees all).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtpgated.h"

struct seen {
	unsigned int lines;
	int messages;
};

#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "violated: %s\n", #cond); \
		abort(); \
	} \
} while (0)

static void on_error(void *arg, const char *msg)
{
	struct seen *s = arg;
	unsigned long line;
	char *end;

	s->messages++;
	CHECK(!strncmp(msg, "fuzz.conf:", 10));
	if (msg[10] == ' ')
		return;
	line = strtoul(msg + 10, &end, 10);
	CHECK(end != msg + 10 && *end == ':');
	CHECK(line >= 1 && line <= s->lines);
}

static void check_prefixes(const struct sg_prefix *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		CHECK(v[i].family == AF_INET || v[i].family == AF_INET6);
		CHECK(v[i].len <= sg_family_bits(v[i].family));
		CHECK(!sg_prefix_host_bits(&v[i]));
	}
}

static void check_valid(const struct sgd_config *c)
{
	const struct sgnl_policy *p = &c->pol;
	unsigned int i;

	check_prefixes(p->internal.v, p->internal.n);
	check_prefixes(p->exempt.v, p->exempt.n);
	check_prefixes(p->walled_garden.v, p->walled_garden.n);
	check_prefixes(c->allowlist.v, c->allowlist.n);
	CHECK(p->internal.n <= SMTPGATE_MAX_PREFIXES);
	CHECK(p->action >= SMTPGATE_ACTION_DROP &&
	      p->action <= SMTPGATE_ACTION_TRAP);
	CHECK(p->tunnel_action >= SMTPGATE_ACTION_DROP &&
	      p->tunnel_action <= SMTPGATE_ACTION_DROPLOG);
	if (p->action == SMTPGATE_ACTION_REDIRECT)
		CHECK(p->has & (SGNL_POLICY_HAS(SMTPGATE_A_POLICY_SUBMISSION4) |
				SGNL_POLICY_HAS(SMTPGATE_A_POLICY_SUBMISSION6)));
	if (p->action == SMTPGATE_ACTION_TRAP)
		CHECK((p->has & SGNL_POLICY_HAS(SMTPGATE_A_POLICY_TRAP_PORT)) &&
		      p->trap_port >= 1);
	CHECK(p->submission_port >= 1);
	CHECK(p->nports >= 1 && p->nports <= SMTPGATE_MAX_PORTS);
	for (i = 0; i < p->nports; i++)
		CHECK(p->ports[i] >= 1);
	CHECK(p->window >= 1 && p->window <= 86400);
	CHECK(p->flag_tunnel <= 1);
	CHECK(p->ban_scope == SMTPGATE_SCOPE_SMTP || p->ban_scope == SMTPGATE_SCOPE_ALL);
	CHECK(c->sasl_scope == SMTPGATE_SCOPE_SMTP || c->sasl_scope == SMTPGATE_SCOPE_ALL);
	CHECK(p->host_prefix4 >= 8 && p->host_prefix4 <= 32);
	CHECK(p->host_prefix6 >= 16 && p->host_prefix6 <= 128);
	CHECK(p->max_hosts >= 16 && p->max_hosts <= 16777216);
	CHECK(p->max_bans >= 16 && p->max_bans <= 16777216);
	CHECK(c->ban_first >= 1 && c->ban_first <= c->ban_max);
	CHECK(c->ban_max <= SMTPGATE_MAX_BAN_TIMEOUT);
	CHECK(c->ban_decay >= 1);
	CHECK(c->ban_factor >= 1 && c->ban_factor <= 1000);
	CHECK(c->hook_timeout >= 1 && c->hook_timeout <= 3600);
	CHECK(c->state_dir && c->state_dir[0] == '/');
	CHECK(!c->metrics_file || c->metrics_file[0] == '/');
	CHECK(!c->sasl_log || c->sasl_log[0] == '/' || !strcmp(c->sasl_log, "journal"));
	CHECK(c->sasl_threshold >= 1 && c->sasl_threshold <= SGD_SASL_MAX_THRESHOLD);
	/* The escalation a valid config gives stays in the kernel's range. */
	CHECK(decide_duration(c, 1) == c->ban_first);
	CHECK(decide_duration(c, UINT32_MAX) <= c->ban_max);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen s = { .lines = 1 };
	struct sgd_config c;
	size_t i;
	int n;

	for (i = 0; i < size; i++)
		s.lines += data[i] == '\n';
	config_init(&c);
	n = config_parse(&c, "fuzz.conf", (const char *)data, size, on_error, &s);
	CHECK(n == s.messages);
	if (!n)
		check_valid(&c);
	config_free(&c);
	return 0;
}
