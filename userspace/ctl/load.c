// SPDX-License-Identifier: GPL-2.0
/*
 * smtpgatectl load FILE [--quiet]
 *
 * Bulk bans, one per line, as banline.c reads them (and `save` writes
 * them):
 *
 *	PREFIX [for DURATION] [scope smtp|all] [reason "TEXT"]	# comment
 *
 * The whole file is checked first, every error naming FILE:LINE, and
 * nothing is sent unless all of it is good; then the bans go to the kernel
 * in batches (sgnl_ban_add_batch), each all or nothing.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "banline.h"
#include "ctl.h"
#include "out.h"

#define MAX_ERRORS	10

struct load {
	const char *file;
	struct sgnl_ban *bans;
	unsigned int *lines;		/* line of each ban */
	size_t n, cap;
	unsigned int errors;
};

static void __attribute__((format(printf, 3, 4)))
line_error(struct load *l, unsigned int line, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (++l->errors > MAX_ERRORS)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	errmsg("%s:%u: %s", l->file, line, msg);
}

static struct sgnl_ban *new_ban(struct load *l, unsigned int line)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 1024;
		l->bans = realloc(l->bans, l->cap * sizeof(*l->bans));
		l->lines = realloc(l->lines, l->cap * sizeof(*l->lines));
		if (!l->bans || !l->lines)
			die_nomem();
	}
	l->lines[l->n] = line;
	memset(&l->bans[l->n], 0, sizeof(l->bans[0]));
	return &l->bans[l->n];
}

/* One line: 0 and one more ban (or none, for a comment), or an error. */
static int parse_line(struct load *l, unsigned int line, char *s)
{
	char err[SG_PARSE_ERRLEN + 64];
	int ret = ban_line_parse(s, new_ban(l, line), err, sizeof(err));

	if (ret < 0) {
		line_error(l, line, "%s", err);
		return ret;
	}
	l->n += ret;
	return 0;
}

static int read_file(struct load *l, FILE *f)
{
	unsigned int line = 0;
	size_t cap = 0;
	char *buf = NULL;
	ssize_t len;

	while ((len = getline(&buf, &cap, f)) >= 0) {
		line++;
		if (strlen(buf) != (size_t)len) {
			line_error(l, line, "NUL byte in the line");
			continue;
		}
		parse_line(l, line, buf);
	}
	free(buf);
	if (ferror(f)) {
		errmsg("cannot read %s: %s", l->file, strerror(errno));
		return -EIO;
	}
	return 0;
}

static const struct load *sort_load;

static int cmp_index(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = sg_prefix_cmp(&sort_load->bans[x].prefix,
			      &sort_load->bans[y].prefix);

	return c ? c : (x > y) - (x < y);
}

/* The kernel refuses a batch naming a prefix twice: say where, first. */
static void find_duplicates(struct load *l)
{
	char buf[SG_PREFIX_STRLEN];
	size_t *idx, i;

	idx = malloc((l->n ? l->n : 1) * sizeof(*idx));
	if (!idx)
		die_nomem();
	for (i = 0; i < l->n; i++)
		idx[i] = i;
	sort_load = l;
	qsort(idx, l->n, sizeof(*idx), cmp_index);
	for (i = 1; i < l->n; i++)
		if (sg_prefix_equal(&l->bans[idx[i]].prefix,
				    &l->bans[idx[i - 1]].prefix))
			line_error(l, l->lines[idx[i]], "%s is already on line %u",
				   sg_prefix_str(&l->bans[idx[i]].prefix, buf,
						 sizeof(buf)),
				   l->lines[idx[i - 1]]);
	free(idx);
}

static double since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) + (t1.tv_nsec - t0->tv_nsec) / 1e9;
}

int cmd_load(int argc, char **argv)
{
	struct load l = { 0 };
	struct timespec t0;
	bool quiet = false;
	size_t added;
	FILE *f;
	int i, ret = EXIT_FAIL;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quiet"))
			quiet = true;
		else if (!l.file)
			l.file = argv[i];
		else
			return usage_error(argv[0], "load: unexpected '%s'",
					   argv[i]);
	}
	if (!l.file)
		return usage_error(argv[0], "load: FILE is needed");
	f = strcmp(l.file, "-") ? fopen(l.file, "r") : stdin;
	if (!f) {
		errmsg("cannot open %s: %s", l.file, strerror(errno));
		return EXIT_FAIL;
	}
	if (read_file(&l, f))
		goto out;
	find_duplicates(&l);
	if (l.errors) {
		if (l.errors > MAX_ERRORS)
			errmsg("%s: %u more errors", l.file,
			       l.errors - MAX_ERRORS);
		errmsg("%s: nothing loaded", l.file);
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (l.n && sgnl_ban_add_batch(ctl_nl(), l.bans, l.n, quiet, &added)) {
		nl_fail(ctl_nl(), "load %s: %zu of %zu bans added, then",
			l.file, added, l.n);
		goto out;
	}
	out_line();
	out_str(OUT_TEXT, NULL, NULL, "loaded");
	out_uint(OUT_ANY, "bans", NULL, l.n);
	out_str(OUT_TEXT, NULL, NULL, "bans from");
	out_str(OUT_ANY, "file", NULL, l.file);
	out_str(OUT_TEXT, NULL, NULL, "in");
	out_double(OUT_ANY, "seconds", NULL, "%.3f", since(&t0));
	out_str(OUT_TEXT, NULL, NULL, "s");
	out_end();
	ret = EXIT_OK;
out:
	if (f != stdin)
		fclose(f);
	free(l.bans);
	free(l.lines);
	return ret;
}
