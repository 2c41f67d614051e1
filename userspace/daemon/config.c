// SPDX-License-Identifier: GPL-2.0
/*
 * smtpgate.conf, in Postfix main.cf syntax, so that mail administrators
 * read it without a manual:
 *
 *   key = value          lists are comma- or space-separated
 *   # comment            a line whose first non-blank character is '#'
 *       more             a line starting with blanks continues the value
 *
 * As in main.cf, '#' after a value is part of the value (an error says so
 * when that is why a value is refused) and blank or comment lines inside a
 * continued value do not end it.  Unlike main.cf, a key given twice is an
 * error: on a gateway, the second of two window lines is more often a
 * mistake than an override.
 *
 * Every error is "FILE:LINE: KEY: what is wrong", LINE being the line of
 * the offending list item when a value spans lines.  All errors are
 * reported, not just the first, so one --check-config run shows them all.
 * Values are checked against the kernel's ranges here, so --check-config
 * needs no kernel and SIGHUP refuses a bad file before touching the policy.
 *
 * The policy's keys are not ours: their names, value grammar and ranges
 * are the shared table's (lib/polkey.h), the one smtpgatectl policy set
 * reads its KEY=VALUE with.  Only the daemon's own keys are below.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/stat.h>

#include "smtpgated.h"
#include "duration.h"
#include "file.h"
#include "polkey.h"
#include "vec.h"

#define CONFIG_MAX_BYTES	(1 << 20)
#define TEN_YEARS		SMTPGATE_MAX_BAN_TIMEOUT

enum ktype {
	K_ALLOWLIST,	/* struct sgd_prefixes */
	K_U32,
	K_SCOPE,	/* u8 enum smtpgate_scope */
	K_DURATION,	/* u32 seconds, from 1 to max */
	K_FACTOR,	/* double >= 1 */
	K_COMMAND,	/* char *, may be empty (unset) */
	K_PATH,		/* char *, absolute */
	K_OPT_PATH,	/* char *, absolute, or empty (unset) */
	K_SASL_LOG,	/* char *, absolute, "journal", or empty */
	K_MSEC,		/* u32 milliseconds: 500ms, 2s; min to max */
	K_REPLY,	/* char *, an SMTP reply: 4xx or 5xx, then text */
	K_NAMES,	/* struct sgd_names: host names, lower-cased */
	K_SYSLOG_NAMES,	/* char *, Postfix syslog_names, one space apart */
};

struct key {
	const char *name;
	enum ktype type;
	size_t off;
	uint64_t min, max;
};

#define CFG(f)		offsetof(struct sgd_config, f)
#define OWN(k, t, lo, hi)	{ #k, t, CFG(k), lo, hi }

/* smtpgated's own keys; the policy's are sg_polkeys[]. */
static const struct key keys[] = {
	OWN(ban_first, K_DURATION, 1, TEN_YEARS),
	OWN(ban_factor, K_FACTOR, 1, 1000),
	OWN(ban_max, K_DURATION, 1, TEN_YEARS),
	OWN(ban_decay, K_DURATION, 1, TEN_YEARS),
	OWN(allowlist, K_ALLOWLIST, 0, SGD_MAX_ALLOWLIST),
	OWN(on_flag, K_COMMAND, 0, 0),
	OWN(on_ban, K_COMMAND, 0, 0),
	OWN(on_unban, K_COMMAND, 0, 0),
	OWN(hook_timeout, K_DURATION, 1, 3600),
	OWN(module_wait, K_DURATION, 1, 86400),
	OWN(state_dir, K_PATH, 0, 0),
	OWN(metrics_file, K_OPT_PATH, 0, 0),
	OWN(metrics_interval, K_DURATION, 1, 86400),
	OWN(sasl_log, K_SASL_LOG, 0, 0),
	OWN(sasl_threshold, K_U32, 1, SGD_SASL_MAX_THRESHOLD),
	OWN(sasl_window, K_DURATION, 1, 86400),
	OWN(sasl_scope, K_SCOPE, 0, 0),
	OWN(sasl_syslog_name, K_SYSLOG_NAMES, 0, 0),
	OWN(inspect_threshold, K_U32, 1, 100000),
	OWN(inspect_helo_access, K_OPT_PATH, 0, 0),
	OWN(inspect_protected_names, K_NAMES, 0, 0),
	OWN(inspect_max_flows, K_U32, 16, 1048576),
	OWN(inspect_max_recipients, K_U32, 0, 1000000),
	OWN(inspect_max_messages, K_U32, 0, 1000000),
	OWN(trap_delay, K_MSEC, 0, TRAP_MAX_DELAY_MS),
	OWN(trap_message, K_REPLY, 0, TRAP_MESSAGE_MAX),
	OWN(trap_max_sessions, K_U32, 1, TRAP_MAX_SESSIONS),
	OWN(trap_session_timeout, K_DURATION, 1, TRAP_MAX_TIMEOUT),
};

#define NKEYS	ARRAY_SIZE(keys)

/* A logical line: its text, and where each physical line starts in it. */
struct lline {
	char *text;
	size_t len, cap;
	struct { size_t off; unsigned int line; } *seg;
	size_t nseg, capseg;
};

struct ctx {
	struct sgd_config *c;
	const char *name;
	sgd_report_fn report;
	void *arg;
	int errors;
	unsigned int set_at[NKEYS];	/* line of each key given, 0: none */
	/* The same for the policy's keys, by attribute. */
	unsigned int pol_set_at[SMTPGATE_A_POLICY_MAX + 1];
	struct lline l;
	const struct key *key;		/* the key being parsed, if ours */
	const char *keyname;		/* the key being parsed */
	bool comment;			/* its value has a '#' */
};

/* ---- errors ------------------------------------------------------------- */

static void __attribute__((format(printf, 3, 4)))
report(struct ctx *x, unsigned int line, const char *fmt, ...)
{
	va_list ap;

	x->errors++;
	va_start(ap, fmt);
	file_vreport(x->report, x->arg, x->name, line, fmt, ap);
	va_end(ap);
}

/* The physical line of offset @off in the current logical line. */
static unsigned int line_at(const struct ctx *x, size_t off)
{
	size_t i;

	for (i = x->l.nseg; i > 1; i--)
		if (off >= x->l.seg[i - 1].off)
			return x->l.seg[i - 1].line;
	return x->l.seg[0].line;
}

/* An error in the current key's value; @off locates it for the line. */
static void __attribute__((format(printf, 3, 4)))
verr(struct ctx *x, size_t off, const char *fmt, ...)
{
	const char *hint = "";
	char why[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (x->comment)
		hint = " (a '#' comment must be on a line of its own)";
	report(x, line_at(x, off), "%s: %s%s", x->keyname, why, hint);
}

/* ---- values ------------------------------------------------------------- */

static void *field(struct ctx *x)
{
	return (char *)x->c + x->key->off;
}

/* The next comma- or blank-separated item of @s from *@pos, NUL-ended in
 * place; NULL at the end.  Empty items (",,") are skipped, as in main.cf. */
static char *next_item(char *s, size_t *pos)
{
	char *item;

	while (s[*pos] && (s[*pos] == ',' || isspace((unsigned char)s[*pos])))
		(*pos)++;
	if (!s[*pos])
		return NULL;
	item = s + *pos;
	while (s[*pos] && s[*pos] != ',' && !isspace((unsigned char)s[*pos]))
		(*pos)++;
	if (s[*pos])
		s[(*pos)++] = '\0';
	return item;
}

/* Offset of @item within the logical line, for line_at(). */
static size_t item_off(const struct ctx *x, const char *base, const char *item,
		       size_t value_off)
{
	return value_off + (size_t)(item - base);
}

static int prefixes_add(struct sgd_prefixes *l, const struct sg_prefix *p)
{
	struct sg_prefix *slot = VEC_PUSH(l);

	if (!slot)
		return -ENOMEM;
	*slot = *p;
	return 0;
}

static void set_allowlist(struct ctx *x, char *v, size_t voff)
{
	struct sgd_prefixes *l = field(x);
	char err[SG_PARSE_ERRLEN];
	struct sg_prefix p;
	size_t pos = 0;
	char *item;

	l->n = 0;
	while ((item = next_item(v, &pos))) {
		size_t off = item_off(x, v, item, voff);

		if (l->n == x->key->max) {
			verr(x, off, "more than %llu prefixes",
			     (unsigned long long)x->key->max);
			return;
		}
		if (sg_prefix_parse(item, &p, err, sizeof(err))) {
			verr(x, off, "%s", err);
			continue;
		}
		if (prefixes_add(l, &p)) {
			verr(x, off, "out of memory");
			return;
		}
	}
}

/* Host names as in a HELO: letters, digits, '-', '.', '_'; any case. */
static void set_names(struct ctx *x, char *v, size_t voff)
{
	struct sgd_names *l = field(x);
	size_t pos = 0, i, n;
	char *item, *dup, **nv;

	while ((item = next_item(v, &pos))) {
		size_t off = item_off(x, v, item, voff);

		n = strlen(item);
		if (n && item[n - 1] == '.')
			item[--n] = '\0';
		for (i = 0; i < n; i++)
			if (!isalnum((unsigned char)item[i]) &&
			    !strchr("-._", item[i]))
				break;
		if (!n || i < n || n > 253) {
			verr(x, off, "'%s' is not a host name", item);
			continue;
		}
		dup = strdup(item);
		nv = dup ? realloc(l->v, (l->n + 1) * sizeof(*nv)) : NULL;
		if (!nv) {
			free(dup);
			verr(x, off, "out of memory");
			return;
		}
		for (i = 0; i < n; i++)
			dup[i] = tolower((unsigned char)dup[i]);
		l->v = nv;
		l->v[l->n++] = dup;
	}
}

/* Postfix syslog_names: "postfix", "postfix-out", "postfix/submission". */
static void set_syslog_names(struct ctx *x, char *v, size_t voff)
{
	char **s = field(x), *item, *out;
	size_t pos = 0, len = 0, n, count = 0;

	out = malloc(strlen(v) + 1);
	if (!out) {
		verr(x, 0, "out of memory");
		return;
	}
	while ((item = next_item(v, &pos))) {
		size_t off = item_off(x, v, item, voff);

		n = strspn(item, "abcdefghijklmnopqrstuvwxyz"
			   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/");
		if (!item[0] || item[n] || item[0] == '/' ||
		    item[strlen(item) - 1] == '/' || strlen(item) > 64) {
			verr(x, off, "'%s' is not a syslog_name", item);
			continue;
		}
		if (++count > SASL_MAX_SYSLOG_NAMES) {
			verr(x, off, "more than %d names", SASL_MAX_SYSLOG_NAMES);
			break;
		}
		if (len)
			out[len++] = ' ';
		memcpy(out + len, item, strlen(item));
		len += strlen(item);
	}
	out[len] = '\0';
	free(*s);
	*s = len ? out : NULL;
	if (!len)
		free(out);
}

static void names_free(struct sgd_names *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static void set_uint(struct ctx *x, const char *v)
{
	const struct key *k = x->key;
	uint64_t n;

	if (sg_parse_uint(v, k->max, &n) || n < k->min) {
		verr(x, 0, "'%s' is not a number from %llu to %llu", v,
		     (unsigned long long)k->min, (unsigned long long)k->max);
		return;
	}
	*(uint32_t *)field(x) = n;
}

static void set_scope(struct ctx *x, const char *v)
{
	int s = sgnl_scope_parse(v);

	if (s <= 0)
		verr(x, 0, "'%s' is not smtp or all", v);
	else
		*(uint8_t *)field(x) = s;
}

static void set_duration(struct ctx *x, const char *v)
{
	char err[SG_PARSE_ERRLEN], max[32];
	uint32_t secs;

	if (sg_duration_parse(v, &secs, err, sizeof(err))) {
		verr(x, 0, "%s", err);
		return;
	}
	if (secs > x->key->max) {
		verr(x, 0, "'%s' is longer than %s", v,
		     sg_duration_fmt(x->key->max, max, sizeof(max)));
		return;
	}
	*(uint32_t *)field(x) = secs;
}

static void set_factor(struct ctx *x, const char *v)
{
	char *end;
	double f;

	/* Plain decimals only: strtod() would take "0x10", "inf", "1e3". */
	errno = 0;
	f = strtod(v, &end);
	if (errno || end == v || *end || !isfinite(f) || f < x->key->min ||
	    !isdigit((unsigned char)v[0]) || strspn(v, "0123456789.") != strlen(v)) {
		verr(x, 0, "'%s' is not a number >= 1", v);
		return;
	}
	if (f > x->key->max) {
		verr(x, 0, "'%s' is more than %llu", v,
		     (unsigned long long)x->key->max);
		return;
	}
	*(double *)field(x) = f;
}

static void set_string(struct ctx *x, const char *v)
{
	char **s = field(x);
	const struct key *k = x->key;
	char *dup = NULL;

	if (!*v && k->type != K_PATH) {
		free(*s);
		*s = NULL;
		return;
	}
	if (k->type == K_SASL_LOG && strcmp(v, "journal") && v[0] != '/') {
		verr(x, 0, "'%s' is neither journal nor an absolute path", v);
		return;
	}
	if ((k->type == K_PATH || k->type == K_OPT_PATH) && v[0] != '/') {
		verr(x, 0, "'%s' is not an absolute path", v);
		return;
	}
	dup = strdup(v);
	if (!dup) {
		verr(x, 0, "out of memory");
		return;
	}
	free(*s);
	*s = dup;
}

/*
 * trap_delay: a duration in the one grammar (500ms, 2s, 1s500ms).  A bare
 * number other than 0 used to mean milliseconds here while it means
 * seconds everywhere else: refused with a word on what to write, rather
 * than read as 1000 times longer.
 */
static void set_msec(struct ctx *x, const char *v)
{
	char err[SG_PARSE_ERRLEN];
	uint64_t ms;

	if (strspn(v, "0123456789") == strlen(v) && strcmp(v, "0")) {
		verr(x, 0, "'%s' needs a unit: %sms or %ss (a bare number "
		     "here meant milliseconds; elsewhere it means seconds)",
		     v, v, v);
		return;
	}
	if (sg_duration_parse_ms(v, &ms, err, sizeof(err)) ||
	    ms > x->key->max || ms < x->key->min) {
		verr(x, 0, "'%s' is not a time from %llums to %llums (500ms, "
		     "2s)", v, (unsigned long long)x->key->min,
		     (unsigned long long)x->key->max);
		return;
	}
	*(uint32_t *)field(x) = ms;
}

/*
 * An SMTP reply the trap gives: a 4xx or 5xx code, optionally an enhanced
 * status code of the same class (RFC 3463), then the text; one line of
 * printable ASCII (continuation lines are joined), wrapped by the trap.
 */
static void set_reply(struct ctx *x, const char *v)
{
	char **s = field(x);
	size_t i, el;
	char *dup;

	if (strlen(v) > x->key->max) {
		verr(x, 0, "longer than %llu characters",
		     (unsigned long long)x->key->max);
		return;
	}
	if ((v[0] != '4' && v[0] != '5') || !isdigit((unsigned char)v[1]) ||
	    !isdigit((unsigned char)v[2]) || (v[3] && v[3] != ' ')) {
		verr(x, 0, "'%.12s%s' does not start with a 4xx or 5xx reply "
		     "code", v, strlen(v) > 12 ? "..." : "");
		return;
	}
	for (i = 0; v[i]; i++) {
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e) {
			verr(x, 0, "character %zu is not printable ASCII", i + 1);
			return;
		}
	}
	/* "550 4.7.1": a temporary status in a permanent reply. */
	el = v[3] ? strspn(v + 4, "0123456789.") : 0;
	if (el >= 5 && (!v[4 + el] || v[4 + el] == ' ') && v[5] == '.' &&
	    v[4] != v[0]) {
		verr(x, 0, "the enhanced status code %.*s does not match the "
		     "reply code %.3s", (int)el, v + 4, v);
		return;
	}
	dup = strdup(v);
	if (!dup) {
		verr(x, 0, "out of memory");
		return;
	}
	free(*s);
	*s = dup;
}

/* Scalars take one word; lists and commands take the rest of the line. */
static bool needs_value(enum ktype t)
{
	return t != K_ALLOWLIST && t != K_COMMAND && t != K_OPT_PATH &&
	       t != K_SASL_LOG && t != K_NAMES && t != K_SYSLOG_NAMES;
}

static bool one_word(enum ktype t)
{
	return needs_value(t) && t != K_PATH && t != K_REPLY;
}

static void set_value(struct ctx *x, char *v, size_t voff)
{
	enum ktype t = x->key->type;

	if (!*v && needs_value(t)) {
		verr(x, 0, "no value");
		return;
	}
	if (one_word(t) && strpbrk(v, " \t")) {
		verr(x, 0, "'%s': one value expected", v);
		return;
	}
	switch (t) {
	case K_ALLOWLIST:
		set_allowlist(x, v, voff);
		break;
	case K_U32:
		set_uint(x, v);
		break;
	case K_SCOPE:
		set_scope(x, v);
		break;
	case K_DURATION:
		set_duration(x, v);
		break;
	case K_FACTOR:
		set_factor(x, v);
		break;
	case K_COMMAND:
	case K_PATH:
	case K_OPT_PATH:
	case K_SASL_LOG:
		set_string(x, v);
		break;
	case K_MSEC:
		set_msec(x, v);
		break;
	case K_REPLY:
		set_reply(x, v);
		break;
	case K_NAMES:
		set_names(x, v, voff);
		break;
	case K_SYSLOG_NAMES:
		set_syslog_names(x, v, voff);
		break;
	}
}

/* An error of the shared parser: @off is into the value at @voff. */
struct pol_err {
	struct ctx *x;
	size_t voff;
};

static void pol_error(void *arg, size_t off, const char *msg)
{
	struct pol_err *e = arg;

	verr(e->x, e->voff + off, "%s", msg);
}

/* ---- lines -------------------------------------------------------------- */

static bool is_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static const struct key *find_key(const char *name)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (!strcmp(keys[i].name, name))
			return &keys[i];
	return NULL;
}

static bool key_chars(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) &&
		    *s != '_')
			return false;
	return true;
}

/* "key = value" in the logical line: set it, or say why not. */
static void logical_line(struct ctx *x)
{
	char *text = x->l.text, *eq, *k, *v, *end;
	unsigned int line = x->l.seg[0].line;
	const struct sg_polkey *pkey;
	const struct key *key;
	size_t i;

	eq = strchr(text, '=');
	if (!eq) {
		report(x, line, "'%.40s%s': not 'key = value'", text,
		       strlen(text) > 40 ? "..." : "");
		return;
	}
	for (end = eq; end > text && is_blank(end[-1]); end--)
		;
	*end = '\0';
	k = text;
	if (!key_chars(k)) {
		report(x, line, "'%.40s': not a key (keys are like rate_limit)",
		       k);
		return;
	}
	for (v = eq + 1; is_blank(*v); v++)
		;
	for (end = v + strlen(v); end > v && is_blank(end[-1]); end--)
		;
	*end = '\0';
	pkey = sg_polkey_find(k, strlen(k));
	if (pkey) {
		struct pol_err e = { x, (size_t)(v - text) };

		if (x->pol_set_at[pkey->attr]) {
			report(x, line, "%s: already set at line %u", k,
			       x->pol_set_at[pkey->attr]);
			return;
		}
		x->pol_set_at[pkey->attr] = line;
		x->keyname = pkey->name;
		x->comment = strchr(v, '#');
		sg_polkey_parse(pkey, v, &x->c->pol, pol_error, &e);
		x->keyname = NULL;
		return;
	}
	key = find_key(k);
	if (!key) {
		report(x, line, "%s: unknown key", k);
		return;
	}
	i = key - keys;
	if (x->set_at[i]) {
		report(x, line, "%s: already set at line %u", k, x->set_at[i]);
		return;
	}
	x->set_at[i] = line;
	x->key = key;
	x->keyname = key->name;
	x->comment = strchr(v, '#');
	set_value(x, v, (size_t)(v - text));
	x->key = NULL;
	x->keyname = NULL;
}

static int lline_append(struct lline *l, const char *s, size_t n,
			unsigned int line)
{
	size_t need = l->len + n + 2;
	char *t;

	if (need > l->cap) {
		t = realloc(l->text, need * 2);
		if (!t)
			return -ENOMEM;
		l->text = t;
		l->cap = need * 2;
	}
	if (l->nseg == l->capseg) {
		void *seg = realloc(l->seg, (l->capseg * 2 + 4) * sizeof(*l->seg));

		if (!seg)
			return -ENOMEM;
		l->seg = seg;
		l->capseg = l->capseg * 2 + 4;
	}
	if (l->len)
		l->text[l->len++] = ' ';
	l->seg[l->nseg].off = l->len;
	l->seg[l->nseg++].line = line;
	memcpy(l->text + l->len, s, n);
	l->len += n;
	l->text[l->len] = '\0';
	return 0;
}

static void flush(struct ctx *x)
{
	if (x->l.nseg)
		logical_line(x);
	x->l.len = 0;
	x->l.nseg = 0;
}

/* One physical line, without its newline. */
static void physical_line(struct ctx *x, const char *s, size_t n,
			  unsigned int line)
{
	size_t i = 0;

	if (memchr(s, '\0', n)) {
		report(x, line, "a NUL byte in the line");
		return;
	}
	while (n && is_blank(s[n - 1]))
		n--;
	while (i < n && is_blank(s[i]))
		i++;
	if (i == n || s[i] == '#')
		return;
	if (i == 0) {
		flush(x);
	} else if (!x->l.nseg) {
		report(x, line, "a continuation line (it starts with a blank) with no key before it");
		return;
	}
	if (lline_append(&x->l, s + i, n - i, line))
		report(x, line, "out of memory");
}

/* ---- checks across keys --------------------------------------------------- */

static void check_redirect(struct ctx *x)
{
	const struct sgnl_policy *p = &x->c->pol;
	unsigned int line = x->pol_set_at[SMTPGATE_A_POLICY_ACTION];

	if (p->action == SMTPGATE_ACTION_REDIRECT &&
	    !(p->has & (SGNL_POLICY_HAS(SMTPGATE_A_POLICY_SUBMISSION4) |
			SGNL_POLICY_HAS(SMTPGATE_A_POLICY_SUBMISSION6))))
		report(x, line, "action: redirect needs a submission server (the submission key)");
}

static void check_trap(struct ctx *x)
{
	const struct sgnl_policy *p = &x->c->pol;
	unsigned int line = x->pol_set_at[SMTPGATE_A_POLICY_ACTION];

	if (p->action == SMTPGATE_ACTION_TRAP &&
	    !(p->has & SGNL_POLICY_HAS(SMTPGATE_A_POLICY_TRAP_PORT)))
		report(x, line, "action: trap needs the trap's listening port (the trap_port key)");
}

static void check_ban_times(struct ctx *x)
{
	unsigned int first = x->set_at[find_key("ban_first") - keys];
	unsigned int max = x->set_at[find_key("ban_max") - keys];
	char a[32], b[32];

	if (x->c->ban_first <= x->c->ban_max)
		return;
	sg_duration_fmt(x->c->ban_first, a, sizeof(a));
	sg_duration_fmt(x->c->ban_max, b, sizeof(b));
	if (max)
		report(x, max, "ban_max: %s is shorter than ban_first (%s)",
		       b, a);
	else
		report(x, first, "ban_first: %s is longer than ban_max (%s)",
		       a, b);
}

/* ---- the file -------------------------------------------------------------- */

void config_init(struct sgd_config *c)
{
	memset(c, 0, sizeof(*c));
	sgnl_policy_defaults(&c->pol);
	c->ban_first = 3600;
	c->ban_factor = 2;
	c->ban_max = 7 * 86400;
	c->ban_decay = 30 * 86400;
	c->hook_timeout = 10;
	c->module_wait = 120;
	c->state_dir = strdup(SGD_STATE_DIR);
	c->metrics_interval = 15;
	c->sasl_threshold = 5;
	c->sasl_window = 600;
	c->sasl_scope = SMTPGATE_SCOPE_ALL;
	c->inspect_threshold = SMTP_DEFAULT_THRESHOLD;
	c->inspect_max_flows = 4096;
	c->inspect_max_recipients = SMTP_DEFAULT_MAX_RCPT;
	c->inspect_max_messages = SMTP_DEFAULT_MAX_MSGS;
	helo_init(&c->helo);
	c->smtp.threshold = c->inspect_threshold;
	c->trap_delay = TRAP_DEFAULT_DELAY_MS;
	c->trap_max_sessions = TRAP_DEFAULT_MAX_SESSIONS;
	c->trap_session_timeout = TRAP_DEFAULT_TIMEOUT;
}

/* The scorer's view of the configuration (it points into @c). */
static void smtp_conf_sync(struct sgd_config *c)
{
	c->smtp.threshold = c->inspect_threshold;
	c->smtp.max_recipients = c->inspect_max_recipients;
	c->smtp.max_messages = c->inspect_max_messages;
	c->smtp.protected_names = c->inspect_protected_names.v;
	c->smtp.nprotected = c->inspect_protected_names.n;
	c->smtp.helo = c->helo.n ? &c->helo : NULL;
}

void config_free(struct sgd_config *c)
{
	free(c->allowlist.v);
	free(c->on_flag);
	free(c->on_ban);
	free(c->on_unban);
	free(c->state_dir);
	free(c->metrics_file);
	free(c->sasl_log);
	free(c->sasl_syslog_name);
	free(c->inspect_helo_access);
	names_free(&c->inspect_protected_names);
	helo_free(&c->helo);
	free(c->trap_message);
	memset(c, 0, sizeof(*c));
}

int config_parse(struct sgd_config *c, const char *name, const char *text,
		 size_t len, sgd_report_fn rep, void *arg)
{
	struct ctx x = { .c = c, .name = name, .report = rep, .arg = arg };
	unsigned int line = 0;
	const char *s = text, *end = text + len, *nl;

	while (s < end) {
		nl = memchr(s, '\n', end - s);
		if (!nl)
			nl = end;
		physical_line(&x, s, nl - s, ++line);
		s = nl + 1;
	}
	flush(&x);
	free(x.l.text);
	free(x.l.seg);
	check_redirect(&x);
	check_trap(&x);
	check_ban_times(&x);
	c->inspect_helo_access_line = x.set_at[find_key("inspect_helo_access") - keys];
	smtp_conf_sync(c);
	if (!c->state_dir) {
		report(&x, 0, "state_dir: out of memory");
	}
	return x.errors;
}

static void report_plain(sgd_report_fn rep, void *arg, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (rep)
		rep(arg, msg);
}

/* The inspection runs when inspect_queue is given (inspect.c). */
static bool inspect_on(const struct sgd_config *c)
{
	return c->pol.has & SGNL_POLICY_HAS(SMTPGATE_A_POLICY_INSPECT_QUEUE);
}

/*
 * The helo table's errors, each after the key that names the table
 * ("smtpgate.conf:12: inspect_helo_access: /etc/postfix/helo:3: ..."):
 * a table is often Postfix's, and its errors alone would not say why
 * smtpgated read it.  A table of someone else's syntax would give one
 * error a line: the first HELO_MAX_SHOWN are shown, then how many more.
 */
#define HELO_MAX_SHOWN	10

struct helo_rep {
	const struct sgd_config *c;
	const char *path;
	sgd_report_fn rep;
	void *arg;
	int n;
};

static void helo_report(void *arg, const char *msg)
{
	struct helo_rep *h = arg;

	if (++h->n <= HELO_MAX_SHOWN)
		report_plain(h->rep, h->arg, "%s:%u: inspect_helo_access: %s",
			     h->path, h->c->inspect_helo_access_line, msg);
}

static int helo_load_reported(struct sgd_config *c, const char *path,
			      sgd_report_fn rep, void *arg)
{
	struct helo_rep h = { .c = c, .path = path, .rep = rep, .arg = arg };
	int errors;

	errors = helo_load(&c->helo, c->inspect_helo_access, helo_report, &h);
	if (h.n > HELO_MAX_SHOWN)
		report_plain(rep, arg, "%s:%u: inspect_helo_access: ... and %d "
			     "more %s in %s", path, c->inspect_helo_access_line,
			     h.n - HELO_MAX_SHOWN,
			     h.n - HELO_MAX_SHOWN == 1 ? "error" : "errors",
			     c->inspect_helo_access);
	return errors;
}

int config_load(struct sgd_config *c, const char *path,
		sgd_report_fn rep, void *arg)
{
	char *buf, err[128];
	size_t len;
	int errors;

	buf = sg_read_file(path, CONFIG_MAX_BYTES, &len, err, sizeof(err));
	if (!buf) {
		report_plain(rep, arg, "%s: %s", path, err);
		return 1;
	}
	errors = config_parse(c, path, buf, len, rep, arg);
	free(buf);
	/*
	 * The helo table is for the inspection alone: with inspection off
	 * it is not read (config_warnings() says so), so a table that is
	 * missing or broken cannot stop a gateway that does not use it.
	 */
	if (c->inspect_helo_access && inspect_on(c)) {
		errors += helo_load_reported(c, path, rep, arg);
		smtp_conf_sync(c);
	}
	return errors;
}

/*
 * What a valid configuration may still get wrong: each warning goes to
 * @rep as "FILE: warning: ...", and the count comes back.  None of them
 * stops the daemon.
 */
int config_warnings(const struct sgd_config *c, const char *path,
		    sgd_report_fn rep, void *arg)
{
	int n = 0;

	/* The kernel tracks and flags internal hosts only. */
	if (!c->pol.internal.n) {
		report_plain(rep, arg, "%s: warning: no internal prefixes "
			     "(the internal key): smtpgate enforces nothing",
			     path);
		n++;
	}
	if (c->inspect_helo_access && !inspect_on(c)) {
		report_plain(rep, arg, "%s:%u: warning: inspect_helo_access: "
			     "not read: the inspection is off (no inspect_queue)",
			     path, c->inspect_helo_access_line);
		n++;
	}
	return n;
}

static const char *plural(size_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/*
 * One line for --check-config: what the file amounts to, for the eye of
 * whoever just edited it ("2 internal prefixes, 1 exempt, action drop, ...").
 */
void config_summary(const struct sgd_config *c, char *buf, size_t len)
{
	const struct sgnl_policy *p = &c->pol;
	const char *action = sgnl_action_name(p->action);
	char first[32], max[32], insp[64] = "inspection off", trap[32] = "";

	sg_duration_fmt(c->ban_first, first, sizeof(first));
	sg_duration_fmt(c->ban_max, max, sizeof(max));
	if (inspect_on(c))
		snprintf(insp, sizeof(insp), "inspection on NFQUEUE %u (%zu helo rules)",
			 p->inspect_queue, c->helo.n);
	if (p->has & SGNL_POLICY_HAS(SMTPGATE_A_POLICY_TRAP_PORT))
		snprintf(trap, sizeof(trap), ", trap port %u", p->trap_port);
	snprintf(buf, len, "%u internal %s, %u exempt, %u walled garden, "
		 "action %s%s, bans %s to %s (scope %s), %zu allowlisted, "
		 "%s, sasl_log %s, state_dir %s",
		 p->internal.n, plural(p->internal.n, "prefix", "prefixes"),
		 p->exempt.n, p->walled_garden.n, action ? action : "?",
		 trap, first, max, sgnl_scope_name(p->ban_scope) ?: "?",
		 c->allowlist.n, insp, c->sasl_log ? c->sasl_log : "off",
		 c->state_dir);
}

const struct sg_prefix *config_allowlisted(const struct sgd_config *c,
					   const struct sg_prefix *p)
{
	size_t i;

	for (i = 0; i < c->allowlist.n; i++)
		if (sg_prefix_contains(&c->allowlist.v[i], p) ||
		    sg_prefix_contains(p, &c->allowlist.v[i]))
			return &c->allowlist.v[i];
	return NULL;
}
