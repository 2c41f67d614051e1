// SPDX-License-Identifier: GPL-2.0
/*
 * The store before the journal, for bench-store's comparison: built
 * against daemon/store.c and smtpgated.h as they were at STORE_OLD_REV
 * (the Makefile takes them out of git), it saves the same state as
 * bench/store_bench (N bans, each with its offence record) the old way,
 * the whole file each time, and loads it:
 *
 *   store_old [-n BANS] DIR
 *
 * prints one markdown paragraph.  Only the old API is used: store_init,
 * store_ban_put, ptab_get on the offences, store_save, store_load.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/stat.h>

#include "clock.h"
#include "smtpgated.h"

#define ROUNDS	5

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	uint64_t now = time(NULL);
	double t[ROUNDS], t0, tl;
	uint32_t n = 1000000, i;
	struct sgd_store s;
	char err[4608], cmd[4200];
	struct stat st;
	int c, r;

	while ((c = getopt(argc, argv, "n:")) != -1) {
		if (c != 'n')
			return 2;
		n = strtoul(optarg, NULL, 10);
	}
	if (optind + 1 != argc) {
		fputs("usage: store_old [-n BANS] DIR\n", stderr);
		return 2;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir -p '%s'",
		 argv[optind], argv[optind]);
	if (system(cmd) || store_init(&s, argv[optind]))
		return 1;
	for (i = 0; i < n; i++) {
		struct sg_prefix p = { .family = AF_INET, .len = 32 };
		struct sgd_offence *o;
		struct sgd_ban *b;

		p.addr.v4.s_addr = htonl(0x0a000000 + i);
		o = ptab_get(&s.offences, &p, NULL);
		b = store_ban_put(&s, &p);
		if (!o || !b)
			return 1;
		o->count = 1;
		o->last = now;
		o->clean_from = now + 3600;
		b->scope = SMTPGATE_SCOPE_SMTP;
		b->expires = now + 3600;
		b->created = now;
		snprintf(b->reason, sizeof(b->reason),
			 "rate,destinations offence %u", o->count);
	}
	for (r = 0; r < ROUNDS; r++) {
		t0 = mono_seconds();
		if (store_save(&s, now, err, sizeof(err))) {
			fprintf(stderr, "store_old: %s\n", err);
			return 1;
		}
		t[r] = mono_seconds() - t0;
	}
	if (stat(s.path, &st))
		return 1;
	t0 = mono_seconds();
	if (store_load(&s, err, sizeof(err)) || s.bans.n != n) {
		fprintf(stderr, "store_old: load: %s\n", err);
		return 1;
	}
	tl = mono_seconds() - t0;
	qsort(t, ROUNDS, sizeof(*t), cmp_double);
	printf("The old store itself (daemon/store.c before the journal, "
	       "bench/store_old -n %u): a save, any batch, %.0f ms median "
	       "(%.0f–%.0f, %d saves), %lld bytes written; a load %.0f ms.\n",
	       n, t[ROUNDS / 2] * 1e3, t[0] * 1e3, t[ROUNDS - 1] * 1e3,
	       ROUNDS, (long long)st.st_size, tl * 1e3);
	store_free(&s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", argv[optind]);
	return system(cmd) ? 1 : 0;
}
