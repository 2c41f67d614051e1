// SPDX-License-Identifier: GPL-2.0
/*
 * smtpgatectl policy | policy set KEY=VALUE...
 *
 * The keys, their value grammar and ranges are the shared table's
 * (lib/polkey.h), the one smtpgate.conf is read with, so a value valid in
 * one is valid in the other, and `policy` prints values in the form
 * `policy set` takes.  The kernel replaces its policy as a whole; `policy
 * set` reads it, changes the keys given and writes it back with the
 * generation it read: if anyone set the policy in between, the kernel
 * refuses (ESTALE) and nothing changes.  An empty list value empties the
 * list.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "ctl.h"
#include "duration.h"
#include "out.h"
#include "polkey.h"

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

static void print_key(const struct sgnl_policy *p, const struct sg_polkey *k)
{
	const char *name;
	unsigned int i;

	switch (k->kind) {
	case SG_PK_PREFIXES:
		print_prefixes(k->name, (const struct sgnl_prefix_list *)
			       ((const char *)p + k->off));
		break;
	case SG_PK_SUBMISSION:
		print_submission(p);
		break;
	case SG_PK_PORTS:
		out_list(OUT_ANY, k->name, k->name);
		for (i = 0; i < p->nports; i++)
			out_uint(OUT_ANY, NULL, NULL, p->ports[i]);
		out_end();
		break;
	case SG_PK_ACTION:
	case SG_PK_TUNNEL_ACTION:
		name = sgnl_action_name(sg_polkey_get(k, p));
		out_str(OUT_ANY, k->name, k->name, name ? name : "?");
		break;
	case SG_PK_SCOPE:
		name = sgnl_scope_name(sg_polkey_get(k, p));
		out_str(OUT_ANY, k->name, k->name, name ? name : "?");
		break;
	case SG_PK_BOOL:
		out_bool(OUT_ANY, k->name, k->name, sg_polkey_get(k, p));
		break;
	case SG_PK_OPT_UINT:
		if (!sg_polkey_present(k, p)) {
			out_null(OUT_ANY, k->name, k->name, "off");
			break;
		}
		/* fall through */
	case SG_PK_UINT:
	case SG_PK_DURATION:
		out_uint(OUT_ANY, k->name, k->name, sg_polkey_get(k, p));
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
	for (i = 0; i < sg_npolkeys; i++)
		print_key(&p, &sg_polkeys[i]);
	out_end();
	return EXIT_OK;
}

/* ---- set --------------------------------------------------------------- */

/* The first error of a value: the one a usage error shows. */
static void first_error(void *arg, size_t off, const char *msg)
{
	char *err = arg;

	if (!err[0])
		snprintf(err, SG_PARSE_ERRLEN + 64, "%s", msg);
}

/* Applies argv[2..] to @p; a usage error says which argument is wrong. */
static int apply_keys(int argc, char **argv, struct sgnl_policy *p)
{
	char err[SG_PARSE_ERRLEN + 64];
	bool given[SMTPGATE_A_POLICY_MAX + 1] = { false };
	const struct sg_polkey *k;
	char *eq, *value;
	int i, ret;

	for (i = 2; i < argc; i++) {
		eq = strchr(argv[i], '=');
		k = eq ? sg_polkey_find(argv[i], eq - argv[i]) : NULL;
		if (!k)
			return usage_error(argv[0],
					   "policy set: '%s' is not KEY=VALUE with a known KEY (%s)",
					   argv[i], sg_polkey_names());
		if (given[k->attr])
			return usage_error(argv[0], "policy set: %s given twice",
					   k->name);
		given[k->attr] = true;
		/* The list parsers cut the value up: keep argv for messages. */
		value = strdup(eq + 1);
		if (!value)
			die_nomem();
		err[0] = '\0';
		ret = sg_polkey_parse(k, value, p, first_error, err);
		free(value);
		if (ret)
			return usage_error(argv[0], "policy set %s: %s",
					   argv[i], err);
	}
	return 0;
}

/*
 * The pid of a running smtpgated, from the lock on its state directory's
 * lock file (store_lock() in daemon/store.c): /proc/locks names the
 * holder of a lock on that inode without us touching the lock (taking it,
 * even for a moment, could make a starting smtpgated fail).  0: none, -1:
 * one whose pid is not ours to see (another pid namespace).  A daemon
 * with another state_dir is not seen (SMTPGATED_STATE_DIR names it).
 */
static long smtpgated_pid(void)
{
	const char *dir = getenv("SMTPGATED_STATE_DIR");
	char path[4096], line[256];
	unsigned long long ino;
	unsigned int maj, min;
	struct stat st;
	long pid = 0, p;
	FILE *f;

	snprintf(path, sizeof(path), "%s/lock",
		 dir && *dir ? dir : "/var/lib/smtpgate");
	if (stat(path, &st))
		return 0;
	f = fopen("/proc/locks", "re");
	if (!f)
		return 0;
	while (!pid && fgets(line, sizeof(line), f)) {
		/* "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF" */
		if (!strstr(line, "FLOCK") ||
		    sscanf(line, "%*s FLOCK %*s %*s %ld %x:%x:%llu", &p, &maj,
			   &min, &ino) != 4)
			continue;
		if (makedev(maj, min) == st.st_dev && ino == st.st_ino)
			pid = p > 0 ? p : -1;
	}
	fclose(f);
	return pid;
}

static int policy_set(int argc, char **argv)
{
	struct sgnl_policy p, now;
	uint32_t gen;
	long pid;
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
	gen = p.generation;
	apply_keys(argc, argv, &p);
	/* p has the generation it was read at: the set is conditional. */
	ret = sgnl_policy_set(ctl_nl(), &p);
	if (ret == -ESTALE) {
		char cur[24] = "";

		/* Not retried: the keys given were chosen against what was read. */
		if (!sgnl_policy_get(ctl_nl(), &now))
			snprintf(cur, sizeof(cur), ", now %u", now.generation);
		errmsg("policy set: the policy changed since it was read "
		       "(generation %u%s); nothing was changed: check "
		       "`smtpgatectl policy` and run the command again",
		       gen, cur);
		return EXIT_FAIL;
	}
	if (ret)
		return nl_fail(ctl_nl(), "policy set");
	pid = smtpgated_pid();
	if (pid) {
		char who[32] = "";

		if (pid > 0)
			snprintf(who, sizeof(who), " (pid %ld)", pid);
		errmsg("note: smtpgated%s is running: its next reload or "
		       "restart sets the policy of its smtpgate.conf again, "
		       "undoing this change; put it in smtpgate.conf to keep it",
		       who);
	}
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
