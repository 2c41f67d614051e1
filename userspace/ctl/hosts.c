// SPDX-License-Identifier: GPL-2.0
/*
 * smtpgatectl hosts [--flagged] | host ADDR | forget { ADDR | all }
 *
 * What the kernel knows about each internal host: its SMTP attempts per
 * class, what was blocked, the rates over the policy's window and, for a
 * flagged host, why.  `host ADDR` shows all of it, the base of an abuse
 * report; any address of the host will do (IPv6 hosts are /64s), and
 * one the full table counts in an aggregate (a /24, a /48) shows that.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "out.h"

static void print_reasons(const struct sgnl_host *h, enum out_kind kind)
{
	size_t i;

	out_list(kind, "reasons", "reasons");
	for (i = 0; i < ARRAY_SIZE(sgnl_reasons); i++)
		if (h->reasons & sgnl_reasons[i].bit)
			out_str(OUT_ANY, NULL, NULL, sgnl_reasons[i].name);
	out_end();
}

static void print_state(const struct sgnl_host *h)
{
	const char *state = "-";

	if (h->flags & SMTPGATE_HOST_F_FLAGGED) {
		state = "flagged";
		out_color(COLOR_RED);
	} else if (h->flags & SMTPGATE_HOST_F_EXEMPT) {
		state = "exempt";
		out_color(COLOR_GREEN);
	}
	out_str(OUT_TEXT, NULL, "state", state);
	out_bool(OUT_JSON, "flagged", NULL,
		 h->flags & SMTPGATE_HOST_F_FLAGGED);
	out_bool(OUT_JSON, "exempt", NULL, h->flags & SMTPGATE_HOST_F_EXEMPT);
}

/*
 * One host.  In a table (@detail false) the text shows a summary; JSON has
 * every key either way, so scripts see one shape.
 */
void host_print(const struct sgnl_host *h, bool detail)
{
	enum out_kind more = detail ? OUT_ANY : OUT_JSON;
	char buf[SG_PREFIX_STRLEN];
	unsigned int c;

	out_str(OUT_ANY, "host", "host", sg_prefix_str(&h->prefix, buf,
						      sizeof(buf)));
	/* Its prefix says how wide: every untracked address inside it. */
	out_bool(more, "aggregate", "aggregate",
		 h->flags & SMTPGATE_HOST_F_AGGREGATE);
	print_state(h);
	print_reasons(h, OUT_ANY);
	if (h->flagged_at)
		out_time(more, "flagged_at", "flagged at", h->flagged_at);
	else
		out_null(more, "flagged_at", "flagged at", "-");
	out_uint(OUT_TEXT, NULL, detail ? "attempts (all classes)" :
		 "attempts", sgnl_host_attempts(h));
	out_group(more, "attempts", "attempts");
	for (c = SMTPGATE_CLASS_SMTP4; c <= SMTPGATE_CLASS_MAX; c++)
		out_uint(OUT_ANY, sgnl_class_name(c), NULL, h->attempts[c]);
	out_end();
	out_uint(OUT_ANY, "blocked", "blocked", h->blocked);
	out_uint(more, "redirected", "redirected", h->redirected);
	out_uint(more, "logged", "logged", h->logged);
	out_uint(OUT_ANY, "rate", "rate", h->rate);
	out_uint(more, "blocked_rate", "blocked rate", h->blocked_rate);
	out_uint(OUT_ANY, "destinations", detail ? "destinations" : "dests",
		 h->destinations);
	out_time(more, "first_seen", "first seen", h->first_seen);
	out_time(OUT_ANY, "last_seen", "last seen", h->last_seen);
}

/* As smtpgatectl does everywhere: no memory, no answer, exit 1. */
static int collect_host(const struct sgnl_host *h, void *hosts)
{
	if (sgnl_hosts_add(h, hosts))
		die_nomem();
	return 0;
}

static int cmp_host(const void *a, const void *b)
{
	const struct sgnl_host *x = a, *y = b;

	return sg_prefix_cmp(&x->prefix, &y->prefix);
}

int cmd_hosts(int argc, char **argv)
{
	struct sgnl_hosts hv = { 0 };
	bool flagged = false;
	unsigned int tries = 0;
	int i, ret;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--flagged"))
			flagged = true;
		else
			return usage_error(argv[0], "hosts: unexpected '%s'",
					   argv[i]);
	}
	/* The table replaced under the dump (a policy change): ask again. */
	do {
		hv.n = 0;
		ret = sgnl_host_list(ctl_nl(), flagged, collect_host, &hv);
	} while (sgnl_dump_again(ret, &tries));
	if (ret < 0)
		return nl_fail(ctl_nl(), "cannot list hosts");
	qsort(hv.v, hv.n, sizeof(*hv.v), cmp_host);
	out_table(NULL);
	for (i = 0; i < (int)hv.n; i++) {
		out_row(NULL);
		host_print(&hv.v[i], false);
		out_end();
	}
	out_end();
	free(hv.v);
	return EXIT_OK;
}

static int parse_addr_arg(const char *cmd, const char *arg,
			  struct sg_prefix *p)
{
	char err[SG_PARSE_ERRLEN];

	if (sg_addr_parse(arg, p, err, sizeof(err)))
		return usage_error(cmd, "%s: %s", cmd, err);
	return 0;
}

int cmd_host(int argc, char **argv)
{
	struct sgnl_host h;
	struct sg_prefix a;
	int ret;

	if (argc != 2)
		return usage_error(argv[0], "host: one ADDR is needed");
	ret = parse_addr_arg(argv[0], argv[1], &a);
	if (ret)
		return ret;
	if (sgnl_host_get(ctl_nl(), &a, &h))
		return nl_fail(ctl_nl(), "host %s", argv[1]);
	out_record(NULL);
	host_print(&h, true);
	out_end();
	return EXIT_OK;
}

int cmd_forget(int argc, char **argv)
{
	struct sg_prefix a;
	int ret;

	if (argc != 2)
		return usage_error(argv[0], "forget: ADDR or 'all' is needed");
	if (!strcmp(argv[1], "all")) {
		if (sgnl_host_forget(ctl_nl(), NULL))
			return nl_fail(ctl_nl(), "cannot forget all hosts");
		return EXIT_OK;
	}
	ret = parse_addr_arg(argv[0], argv[1], &a);
	if (ret)
		return ret;
	if (sgnl_host_forget(ctl_nl(), &a))
		return nl_fail(ctl_nl(), "cannot forget %s", argv[1]);
	return EXIT_OK;
}
