// SPDX-License-Identifier: GPL-2.0
/*
 * Postfix check_helo_access regexp tables, read as Postfix reads them
 * (regexp_table(5)), so the file a mail server already has works here:
 *
 *   # comment            a line whose first non-blank character is '#'
 *   /pattern/flags result
 *   !/pattern/flags result          matches when the pattern does not
 *   /pattern/flags!/pattern2/ result   the first and not the second
 *   if /pattern/flags ... endif     the rules inside apply when it matches
 *       more result      a line starting with blanks continues the last
 *
 * Any non-blank character other than '!' may delimit the pattern; a
 * backslash keeps the next character in it.  The flags toggle Postfix's
 * defaults: i (case-insensitive, on), x (extended syntax, on), m (multi-line,
 * off).  POSIX regcomp(3), as Postfix's regexp: tables.
 *
 * The first rule that matches decides.  Its action counts as a zombie sign
 * when it refuses: REJECT, DEFER, DEFER_IF_REJECT, DEFER_IF_PERMIT, a 4NN or
 * 5NN code, DISCARD, HOLD, or a reject_ or defer_ restriction.  OK, DUNNO,
 * PERMIT, WARN, PREPEND and the rest do not.
 *
 * Every error is "FILE:LINE: what is wrong", and the whole table is
 * reported, not just its first error.
 */
#include <ctype.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"
#include "smtp.h"

#define HELO_MAX_BYTES	(4 << 20)
#define HELO_MAX_DEPTH	32

enum { R_RULE, R_IF, R_ENDIF };

struct helo_rule {
	uint8_t type;
	bool negate, has2;
	regex_t re, re2;		/* re2: "and not" */
	char *result;
	unsigned int line;
	size_t endif;			/* R_IF: index of its endif */
};

struct hctx {
	struct helo_table *t;
	const char *name;
	helo_report_fn report;
	void *arg;
	int errors;
	size_t stack[HELO_MAX_DEPTH];
	unsigned int depth;
};

void file_vreport(helo_report_fn report, void *arg, const char *name,
		  unsigned int line, const char *fmt, va_list ap)
{
	char why[400], msg[512];

	if (!report)
		return;
	vsnprintf(why, sizeof(why), fmt, ap);
	if (line)
		snprintf(msg, sizeof(msg), "%s:%u: %s", name, line, why);
	else
		snprintf(msg, sizeof(msg), "%s: %s", name, why);
	report(arg, msg);
}

static void __attribute__((format(printf, 3, 4)))
herr(struct hctx *x, unsigned int line, const char *fmt, ...)
{
	va_list ap;

	x->errors++;
	va_start(ap, fmt);
	file_vreport(x->report, x->arg, x->name, line, fmt, ap);
	va_end(ap);
}

void helo_init(struct helo_table *t)
{
	memset(t, 0, sizeof(*t));
}

void helo_free(struct helo_table *t)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		if (t->v[i].type != R_ENDIF)
			regfree(&t->v[i].re);
		if (t->v[i].has2)
			regfree(&t->v[i].re2);
		free(t->v[i].result);
	}
	free(t->v);
	free(t->name);
	memset(t, 0, sizeof(*t));
}

static struct helo_rule *add_rule(struct hctx *x, unsigned int line)
{
	struct helo_table *t = x->t;
	struct helo_rule *v;

	if (t->n == t->cap) {
		v = realloc(t->v, (t->cap ? t->cap * 2 : 16) * sizeof(*v));
		if (!v) {
			herr(x, line, "out of memory");
			return NULL;
		}
		t->v = v;
		t->cap = t->cap ? t->cap * 2 : 16;
	}
	v = &t->v[t->n];
	memset(v, 0, sizeof(*v));
	v->line = line;
	return v;
}

/*
 * "/pattern/flags" at *@s: compiled into @re, *@s moved past it.
 * Returns 0, or -1 after reporting.
 */
static int pattern(struct hctx *x, unsigned int line, char **s, regex_t *re)
{
	char *p = *s, delim = *p, *start, *end, err[200];
	int cflags = REG_EXTENDED | REG_ICASE | REG_NOSUB, ret;

	if (!delim || isspace((unsigned char)delim) ||
	    isalnum((unsigned char)delim) || delim == '!') {
		herr(x, line, "'%.40s': a rule starts with /pattern/", p);
		return -1;
	}
	start = ++p;
	for (; *p && *p != delim; p++)
		if (*p == '\\' && p[1])
			p++;
	if (!*p) {
		herr(x, line, "the pattern has no closing %c", delim);
		return -1;
	}
	end = p++;
	for (; *p && !isspace((unsigned char)*p) && *p != '!'; p++) {
		switch (*p) {
		case 'i':
			cflags ^= REG_ICASE;
			break;
		case 'x':
			cflags ^= REG_EXTENDED;
			break;
		case 'm':
			cflags ^= REG_NEWLINE;
			break;
		default:
			herr(x, line, "unknown flag '%c' (i, x or m)", *p);
			return -1;
		}
	}
	*end = '\0';
	ret = regcomp(re, start, cflags);
	if (ret) {
		regerror(ret, re, err, sizeof(err));
		herr(x, line, "/%.60s/: %s", start, err);
		return -1;
	}
	*s = p;
	return 0;
}

static char *skip_blank(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

static void logical_line(struct hctx *x, char *s, unsigned int line)
{
	struct helo_rule *r;
	bool is_if = false;

	if (!strncasecmp(s, "endif", 5) && (!s[5] || isspace((unsigned char)s[5]))) {
		if (*skip_blank(s + 5)) {
			herr(x, line, "endif takes nothing after it");
			return;
		}
		if (!x->depth) {
			herr(x, line, "endif without if");
			return;
		}
		r = add_rule(x, line);
		if (!r)
			return;
		r->type = R_ENDIF;
		x->t->v[x->stack[--x->depth]].endif = x->t->n;
		x->t->n++;
		return;
	}
	if (!strncasecmp(s, "if", 2) && isspace((unsigned char)s[2])) {
		is_if = true;
		s = skip_blank(s + 2);
	}
	r = add_rule(x, line);
	if (!r)
		return;
	r->type = is_if ? R_IF : R_RULE;
	if (*s == '!') {
		r->negate = true;
		s++;
	}
	if (pattern(x, line, &s, &r->re))
		return;
	if (*s == '!') {
		s++;
		if (r->negate) {
			herr(x, line, "!/a/!/b/ is not a rule");
			regfree(&r->re);
			return;
		}
		if (pattern(x, line, &s, &r->re2)) {
			regfree(&r->re);
			return;
		}
		r->has2 = true;
	}
	s = skip_blank(s);
	if (is_if) {
		if (*s) {
			herr(x, line, "if /pattern/ takes no result");
			goto bad;
		}
		if (x->depth == HELO_MAX_DEPTH) {
			herr(x, line, "if nested deeper than %d", HELO_MAX_DEPTH);
			goto bad;
		}
		x->stack[x->depth++] = x->t->n;
	} else {
		if (!*s) {
			herr(x, line, "the rule has no result (an action: REJECT, OK...)");
			goto bad;
		}
		r->result = strdup(s);
		if (!r->result) {
			herr(x, line, "out of memory");
			goto bad;
		}
	}
	x->t->n++;
	return;
bad:
	regfree(&r->re);
	if (r->has2)
		regfree(&r->re2);
}

int helo_parse(struct helo_table *t, const char *name, const char *text,
	       size_t len, helo_report_fn report, void *arg)
{
	struct hctx x = { .t = t, .name = name, .report = report, .arg = arg };
	const char *s = text, *end = text + len, *nl;
	char *ll = NULL, *tmp;
	size_t lllen = 0;
	unsigned int line = 0, llline = 0;

	free(t->name);
	t->name = strdup(name);
	while (s < end) {
		size_t n, i = 0;

		nl = memchr(s, '\n', end - s);
		if (!nl)
			nl = end;
		n = nl - s;
		line++;
		if (memchr(s, '\0', n)) {
			herr(&x, line, "a NUL byte in the line");
			goto next;
		}
		while (n && isspace((unsigned char)s[n - 1]))
			n--;
		while (i < n && isspace((unsigned char)s[i]))
			i++;
		if (i == n || s[i] == '#')
			goto next;
		if (i && !ll) {
			herr(&x, line, "a continuation line (it starts with a blank) with no rule before it");
			goto next;
		}
		if (!i && ll) {
			logical_line(&x, ll, llline);
			free(ll);
			ll = NULL;
			lllen = 0;
		}
		tmp = realloc(ll, lllen + (n - i) + 2);
		if (!tmp) {
			herr(&x, line, "out of memory");
			goto next;
		}
		ll = tmp;
		if (lllen)
			ll[lllen++] = ' ';
		else
			llline = line;
		memcpy(ll + lllen, s + i, n - i);
		lllen += n - i;
		ll[lllen] = '\0';
next:
		s = nl + 1;
	}
	if (ll)
		logical_line(&x, ll, llline);
	free(ll);
	while (x.depth) {
		struct helo_rule *r = &t->v[x.stack[--x.depth]];

		r->endif = t->n;	/* never used: the table has errors */
		herr(&x, r->line, "if without endif");
	}
	return x.errors;
}

int helo_load(struct helo_table *t, const char *path, helo_report_fn report,
	      void *arg)
{
	struct hctx x = { .name = path, .report = report, .arg = arg };
	char *buf, err[128];
	size_t len;
	int errors;

	buf = sg_read_file(path, HELO_MAX_BYTES, &len, err, sizeof(err));
	if (!buf) {
		herr(&x, 0, "%s", err);
		return 1;
	}
	errors = helo_parse(t, path, buf, len, report, arg);
	free(buf);
	return errors;
}

/* Does the action refuse?  Its first word decides. */
static bool refuses(const char *result)
{
	static const char *const words[] = {
		"REJECT", "DEFER", "DEFER_IF_REJECT", "DEFER_IF_PERMIT",
		"DISCARD", "HOLD",
	};
	char w[40];
	size_t n = 0, i;

	while (result[n] && !isspace((unsigned char)result[n]) &&
	       result[n] != ',' && n < sizeof(w) - 1) {
		w[n] = toupper((unsigned char)result[n]);
		n++;
	}
	w[n] = '\0';
	if (n == 3 && (w[0] == '4' || w[0] == '5') && isdigit((unsigned char)w[1]) &&
	    isdigit((unsigned char)w[2]))
		return true;
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcmp(w, words[i]))
			return true;
	return !strncmp(w, "REJECT_", 7) || !strncmp(w, "DEFER_", 6);
}

static bool rule_matches(const struct helo_rule *r, const char *helo)
{
	bool m = !regexec(&r->re, helo, 0, NULL, 0);

	if (r->has2 && m)
		m = regexec(&r->re2, helo, 0, NULL, 0) != 0;
	return m != r->negate;
}

bool helo_match(const struct helo_table *t, const char *helo, char *why,
		size_t len)
{
	const struct helo_rule *r;
	const char *name;
	size_t i = 0;

	while (i < t->n) {
		r = &t->v[i];
		if (r->type == R_ENDIF) {
			i++;
			continue;
		}
		if (r->type == R_IF) {
			i = rule_matches(r, helo) ? i + 1 : r->endif + 1;
			continue;
		}
		if (rule_matches(r, helo)) {
			if (!refuses(r->result))
				return false;
			/* The file's name, not its path: evidence is short. */
			name = t->name ? strrchr(t->name, '/') : NULL;
			name = name ? name + 1 : t->name ? t->name : "";
			if (why && len)
				snprintf(why, len, "%s:%u %s", name, r->line,
					 r->result);
			return true;
		}
		i++;
	}
	return false;
}
