// SPDX-License-Identifier: GPL-2.0
/*
 * smtpgated's state store (daemon/store.c) at a million bans, on the
 * host's disk, fsyncs and all:
 *
 *   store_bench [-n BANS] DIR
 *
 * prints a markdown table on stdout (`make -C userspace bench-store` runs
 * it): the time and the bytes written by a decision batch of 1 ban and of
 * 100 bans, both the old way (the whole state file rewritten: a temporary
 * file, fsync, rename, fsync of the directory; store_compact() is that
 * writer, unchanged but for the generation line) and the journal's way
 * (one record appended, one fdatasync); a compaction; a load of the
 * snapshot alone and with a journal near its bound.  Each ban comes with
 * its offence record, as the daemon's own bans do.  DIR must be on the
 * disk under test (a tmpfs makes every fsync free: warned).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "clock.h"
#include "smtpgated.h"

#define TMPFS_MAGIC	0x01021994

static void die(const char *what, const char *msg)
{
	fprintf(stderr, "store_bench: %s: %s\n", what, msg);
	exit(1);
}

/* 10.0.0.0/8 and on: ban @i, as decide() makes one, with its offence. */
static void ban(struct sgd_store *s, uint32_t i, uint64_t now, uint32_t dur)
{
	struct sg_prefix p = { .family = AF_INET, .len = 32 };
	struct sgd_offence *o;
	struct sgd_ban *b;

	p.addr.v4.s_addr = htonl(0x0a000000 + i);
	o = store_offence_get(s, &p, NULL);
	b = store_ban_put(s, &p);
	if (!o || !b)
		die("ban", "out of memory");
	o->count++;
	o->last = now;
	o->clean_from = now + dur;
	b->scope = SMTPGATE_SCOPE_SMTP;
	b->expires = now + dur;
	b->created = now;
	snprintf(b->reason, sizeof(b->reason), "rate,destinations offence %u",
		 o->count);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct sample {
	double *t;
	unsigned int n;
	uint64_t bytes;
};

static void sample_add(struct sample *s, double t, uint64_t bytes)
{
	s->t[s->n++] = t;
	s->bytes += bytes;
}

/* "median (p99)" in ms */
static const char *ms(struct sample *s, char *buf, size_t len)
{
	qsort(s->t, s->n, sizeof(*s->t), cmp_double);
	snprintf(buf, len, "%.3f (%.3f–%.3f)", s->t[s->n / 2] * 1e3,
		 s->t[0] * 1e3, s->t[s->n - 1 - s->n / 100] * 1e3);
	return buf;
}

static void save(struct sgd_store *s, uint64_t now, struct sample *smp,
		 bool whole)
{
	uint64_t w = s->bytes_written;
	char err[512];
	double t0 = mono_seconds();

	if (whole ? store_compact(s, now, err, sizeof(err)) :
		    store_save(s, now, err, sizeof(err)))
		die("save", err);
	sample_add(smp, mono_seconds() - t0, s->bytes_written - w);
}

/* The best of 3: the first one pays for growing the heap. */
static double load(const char *dir, size_t want, uint64_t *records)
{
	double t0, best = 1e9;
	struct sgd_store t;
	char msg[4608];
	int i;

	for (i = 0; i < 3; i++) {
		if (store_init(&t, dir))
			die("load", "out of memory");
		t0 = mono_seconds();
		if (store_load(&t, msg, sizeof(msg)))
			die("load", msg);
		t0 = mono_seconds() - t0;
		if (t.bans.n != want)
			die("load", "not every ban came back");
		*records = t.jrecords;
		store_free(&t);
		if (t0 < best)
			best = t0;
	}
	return best;
}

static char *mb(uint64_t bytes, char *buf, size_t len)
{
	if (bytes >= 1 << 20)
		snprintf(buf, len, "%.1f MiB", bytes / 1048576.0);
	else
		snprintf(buf, len, "%llu B", (unsigned long long)bytes);
	return buf;
}

int main(int argc, char **argv)
{
	struct sample old1 = { 0 }, old100 = { 0 }, new1 = { 0 },
		      new100 = { 0 }, compact = { 0 }, big = { 0 };
	uint32_t n = 1000000, next, i, r;
	unsigned int rounds_old = 3, rounds1 = 300, rounds100 = 100;
	uint64_t now = time(NULL), snap, recs_small, recs_small_n, recs_big;
	uint64_t jbig;
	char buf[6][64], cmd[4200];
	double t_small, t_big, t_snap;
	struct sgd_store s;
	struct statfs fs;
	const char *dir;
	int c;

	while ((c = getopt(argc, argv, "n:")) != -1) {
		if (c != 'n')
			return 2;
		n = strtoul(optarg, NULL, 10);
	}
	if (optind + 1 != argc || n < 1000 || n > 8000000) {
		fputs("usage: store_bench [-n BANS (1000-8000000)] DIR\n", stderr);
		return 2;
	}
	dir = argv[optind];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir -p '%s'", dir, dir);
	if (system(cmd))
		die(dir, "cannot empty it");
	if (!statfs(dir, &fs) && fs.f_type == TMPFS_MAGIC)
		fprintf(stderr, "store_bench: %s is a tmpfs: fsync costs nothing "
			"there\n", dir);
	old1.t = calloc(rounds_old, sizeof(double));
	old100.t = calloc(rounds_old, sizeof(double));
	compact.t = calloc(rounds_old, sizeof(double));
	new1.t = calloc(rounds1, sizeof(double));
	new100.t = calloc(rounds100, sizeof(double));
	big.t = calloc(10, sizeof(double));
	if (store_init(&s, dir) || !old1.t || !old100.t || !compact.t ||
	    !new1.t || !new100.t || !big.t)
		die("init", "out of memory");

	for (i = 0; i < n; i++)
		ban(&s, i, now, 3600);
	next = n;
	/* The first save writes the snapshot: there is none yet. */
	save(&s, now, &compact, true);
	compact.n = 0;
	compact.bytes = 0;
	snap = s.snap_size;

	/* The old way: every batch rewrote the whole file. */
	for (r = 0; r < rounds_old; r++) {
		ban(&s, next++, now, 3600);
		save(&s, now, &old1, true);
		for (i = 0; i < 100; i++)
			ban(&s, next++, now, 3600);
		save(&s, now, &old100, true);
	}
	/* The journal's. */
	for (r = 0; r < rounds1; r++) {
		ban(&s, next++, now, 3600);
		save(&s, now, &new1, false);
	}
	for (r = 0; r < rounds100; r++) {
		for (i = 0; i < 100; i++)
			ban(&s, next++, now, 3600);
		save(&s, now, &new100, false);
	}
	if (s.compactions != 1 + 2 * rounds_old)
		die("journal", "a batch compacted");
	t_small = load(dir, s.bans.n, &recs_small);
	recs_small_n = recs_small;

	/*
	 * Bans changed again, a tenth of them a batch, until the next batch
	 * would compact: a journal near its bound, the longest load.
	 */
	for (r = 0; r < 10; r++) {
		uint64_t j0 = s.jsize;

		for (i = r * (n / 10); i < (r + 1) * (n / 10); i++)
			ban(&s, i, now, 7200);
		save(&s, now, &big, false);
		if (s.jsize + (s.jsize - j0) > s.compact_at)
			break;
	}
	if (s.compactions != 1 + 2 * rounds_old)
		die("journal", "a big batch compacted");
	jbig = s.jsize;
	t_big = load(dir, s.bans.n, &recs_big);
	for (r = 0; r < rounds_old; r++)
		save(&s, now, &compact, true);
	t_snap = load(dir, s.bans.n, &recs_small);

	printf("| at %u bans, each with its offence record | time (ms): "
	       "median (min–p99) | bytes written |\n", n);
	printf("|---|---:|---:|\n");
	printf("| old: a batch of 1 ban (whole file rewritten) | %s | %s |\n",
	       ms(&old1, buf[0], 64), mb(old1.bytes / old1.n, buf[1], 64));
	printf("| old: a batch of 100 bans (whole file rewritten) | %s | %s |\n",
	       ms(&old100, buf[0], 64), mb(old100.bytes / old100.n, buf[1], 64));
	printf("| journal: a batch of 1 ban (%u batches) | %s | %s |\n",
	       rounds1, ms(&new1, buf[0], 64), mb(new1.bytes / new1.n, buf[1], 64));
	printf("| journal: a batch of 100 bans (%u batches) | %s | %s |\n",
	       rounds100, ms(&new100, buf[0], 64),
	       mb(new100.bytes / new100.n, buf[1], 64));
	printf("| compaction (when the journal outgrows the snapshot) | %s | %s |\n",
	       ms(&compact, buf[0], 64), mb(compact.bytes / compact.n, buf[1], 64));
	printf("| load: the snapshot alone | %.0f | |\n", t_snap * 1e3);
	printf("| load: the snapshot and %llu small records | %.0f | |\n",
	       (unsigned long long)recs_small_n, t_small * 1e3);
	printf("| load: the snapshot and a %s journal (%u records) | %.0f | |\n",
	       mb(jbig, buf[2], 64), (unsigned int)recs_big, t_big * 1e3);
	printf("\nSnapshot: %s (%s with the bans above).  "
	       "bench/store_bench -n %u: one core, gcc -O2; each time "
	       "includes its fsyncs.  The old rows are store_compact(), "
	       "main's whole-file writer with one more line.  A compaction "
	       "comes when the journal passes the snapshot's size (1 MiB at "
	       "least): after about %llu batches of 1 ban, so a batch "
	       "costs at most twice its record's bytes in the long run.\n",
	       mb(snap, buf[3], 64), mb(s.snap_size, buf[4], 64), n,
	       (unsigned long long)(s.snap_size / (new1.bytes / new1.n)));
	store_free(&s);
	free(old1.t);
	free(old100.t);
	free(new1.t);
	free(new100.t);
	free(compact.t);
	free(big.t);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		fprintf(stderr, "store_bench: cannot remove %s\n", dir);
	return 0;
}
