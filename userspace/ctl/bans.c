// SPDX-License-Identifier: GPL-2.0
/*
 * smtpgatectl bans | ban PREFIX [...] | unban PREFIX | banned ADDR | flush
 *             | save
 *
 * Bans by hand.  The kernel enforces them whether or not smtpgated runs;
 * smtpgated hears of them through the events and keeps them across
 * restarts.  `banned` answers in its exit status, like `ipset test`.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "banline.h"
#include "ctl.h"
#include "out.h"

/*
 * One ban.  sgnl reads "no time left" and "permanent" both as timeout 0;
 * @expired says which: an expired ban has 0 s left, it was not permanent.
 */
void ban_print(const struct sgnl_ban *b, bool expired)
{
	const char *scope = sgnl_scope_name(b->scope);
	char buf[SG_PREFIX_STRLEN];

	out_str(OUT_ANY, "prefix", "prefix",
		sg_prefix_str(&b->prefix, buf, sizeof(buf)));
	if (b->scope == SMTPGATE_SCOPE_ALL)
		out_color(COLOR_RED);
	out_str(OUT_ANY, "scope", "scope", scope ? scope : "?");
	if (b->timeout || expired)
		out_duration(OUT_ANY, "timeout", "expires in", b->timeout);
	else
		out_null(OUT_ANY, "timeout", "expires in", "never");
	if (b->created)
		out_time(OUT_ANY, "created", "created", b->created);
	else
		out_null(OUT_ANY, "created", "created", "-");
	out_uint(OUT_ANY, "drops", "drops", b->drops);
	out_str(OUT_JSON, "reason", NULL, b->reason);
	out_str(OUT_TEXT, NULL, "reason", b->reason[0] ? b->reason : "-");
}

/* As smtpgatectl does everywhere: no memory, no answer, exit 1. */
static int collect_ban(const struct sgnl_ban *b, void *bans)
{
	if (sgnl_bans_add(b, bans))
		die_nomem();
	return 0;
}

static int cmp_ban(const void *a, const void *b)
{
	const struct sgnl_ban *x = a, *y = b;

	return sg_prefix_cmp(&x->prefix, &y->prefix);
}

/* Every ban, sorted by prefix; nonzero (and a message) on failure. */
static int list_bans(struct sgnl_bans *bv)
{
	unsigned int tries = 0;
	int ret;

	/* A ban added or expiring during the dump: the listing is redone. */
	do {
		bv->n = 0;
		ret = sgnl_ban_list(ctl_nl(), collect_ban, bv);
	} while (sgnl_dump_again(ret, &tries));
	if (ret < 0)
		return nl_fail(ctl_nl(), "cannot list bans");
	qsort(bv->v, bv->n, sizeof(*bv->v), cmp_ban);
	return 0;
}

int cmd_bans(int argc, char **argv)
{
	struct sgnl_bans bv = { 0 };
	size_t i;

	if (argc != 1)
		return usage_error(argv[0], "bans: unexpected '%s'", argv[1]);
	if (list_bans(&bv))
		return ctl_exit_fail;
	out_table(NULL);
	for (i = 0; i < bv.n; i++) {
		out_row(NULL);
		ban_print(&bv.v[i], false);
		out_end();
	}
	out_end();
	free(bv.v);
	return EXIT_OK;
}

/*
 * Every ban as a line `load` reads back: the time left, the scope and the
 * reason (escaped), so that `save | load` restores them.
 */
int cmd_save(int argc, char **argv)
{
	struct sgnl_bans bv = { 0 };
	char line[512];
	size_t i;

	if (argc != 1)
		return usage_error(argv[0], "save: unexpected '%s'", argv[1]);
	if (list_bans(&bv))
		return ctl_exit_fail;
	printf("# smtpgatectl save: %zu ban%s; smtpgatectl load FILE restores "
	       "them\n", bv.n, bv.n == 1 ? "" : "s");
	for (i = 0; i < bv.n; i++) {
		ban_line_format(&bv.v[i], line, sizeof(line));
		printf("%s\n", line);
	}
	free(bv.v);
	if (fflush(stdout) || ferror(stdout)) {
		errmsg("save: cannot write: %s", strerror(errno));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

/* The value after option argv[*i], or a usage error. */
static const char *opt_value(int argc, char **argv, int *i)
{
	if (*i + 1 >= argc) {
		usage_error(argv[0], "%s: %s needs a value", argv[0], argv[*i]);
		return NULL;
	}
	return argv[++*i];
}

static int ban_options(int argc, char **argv, struct sgnl_ban *b)
{
	char err[SG_PARSE_ERRLEN];
	const char *v;
	int i, scope;

	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--for")) {
			v = opt_value(argc, argv, &i);
			if (!v)
				return EXIT_USAGE;
			if (sg_duration_parse(v, &b->timeout, err, sizeof(err)))
				return usage_error(argv[0], "ban --for %s", err);
		} else if (!strcmp(argv[i], "--scope")) {
			v = opt_value(argc, argv, &i);
			if (!v)
				return EXIT_USAGE;
			scope = sgnl_scope_parse(v);
			if (scope < 0)
				return usage_error(argv[0],
						   "ban --scope '%s': smtp or all", v);
			b->scope = scope;
		} else if (!strcmp(argv[i], "--reason")) {
			v = opt_value(argc, argv, &i);
			if (!v)
				return EXIT_USAGE;
			if (strlen(v) >= sizeof(b->reason))
				return usage_error(argv[0],
						   "ban --reason: longer than %zu bytes",
						   sizeof(b->reason) - 1);
			strcpy(b->reason, v);
		} else {
			return usage_error(argv[0], "ban: unexpected '%s'",
					   argv[i]);
		}
	}
	return 0;
}

int cmd_ban(int argc, char **argv)
{
	char err[SG_PARSE_ERRLEN];
	struct sgnl_ban b = { 0 };
	int ret;

	if (argc < 2)
		return usage_error(argv[0], "ban: PREFIX is needed");
	if (sg_prefix_parse(argv[1], &b.prefix, err, sizeof(err)))
		return usage_error(argv[0], "ban: %s", err);
	ret = ban_options(argc, argv, &b);
	if (ret)
		return ret;
	if (sgnl_ban_add(ctl_nl(), &b))
		return nl_fail(ctl_nl(), "ban %s", argv[1]);
	return EXIT_OK;
}

int cmd_unban(int argc, char **argv)
{
	char err[SG_PARSE_ERRLEN];
	struct sg_prefix p;

	if (argc != 2)
		return usage_error(argv[0], "unban: one PREFIX is needed");
	if (sg_prefix_parse(argv[1], &p, err, sizeof(err)))
		return usage_error(argv[0], "unban: %s", err);
	if (sgnl_ban_del(ctl_nl(), &p))
		return nl_fail(ctl_nl(), "unban %s", argv[1]);
	return EXIT_OK;
}

/* 0 banned, 1 not banned, 2 no answer (usage, no module, no privilege). */
int cmd_banned(int argc, char **argv)
{
	char err[SG_PARSE_ERRLEN];
	struct sgnl_ban b;
	struct sg_prefix a;
	int ret;

	ctl_exit_fail = EXIT_USAGE;
	if (argc != 2)
		return usage_error(argv[0], "banned: one ADDR is needed");
	if (sg_addr_parse(argv[1], &a, err, sizeof(err)))
		return usage_error(argv[0], "banned: %s", err);
	ret = sgnl_ban_test(ctl_nl(), &a, &b);
	if (ret && ret != -ENOENT)
		return nl_fail(ctl_nl(), "banned %s", argv[1]);
	out_record(NULL);
	out_str(OUT_ANY, "address", "address",
		sg_addr_str(&a, err, sizeof(err)));
	if (!ret)
		out_color(COLOR_RED);
	out_bool(OUT_ANY, "banned", "banned", !ret);
	if (!ret) {
		out_object(OUT_ANY, "ban");
		ban_print(&b, false);
		out_end();
	}
	out_end();
	return ret ? 1 : 0;
}

int cmd_flush(int argc, char **argv)
{
	if (argc != 1)
		return usage_error(argv[0], "flush: unexpected '%s'", argv[1]);
	if (sgnl_ban_flush(ctl_nl()))
		return nl_fail(ctl_nl(), "cannot flush the bans");
	return EXIT_OK;
}
