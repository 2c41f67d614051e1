// SPDX-License-Identifier: GPL-2.0
/*
 * One ban as a line of text, for `load` and `save`:
 *
 *	PREFIX [for DURATION] [scope smtp|all] [reason "TEXT"]	# comment
 *
 * keywords as ipset restore has them, each at most once, in any order;
 * TEXT in double quotes with \" \\ and \xHH escapes (a single word may go
 * without quotes).  `save` writes every ban this way, so `save | load`
 * gives back the same bans (less the time that passed).
 *
 * The old positional form, ADDR [DURATION|-] [smtp|all|-] [REASON...], is
 * read where it is unambiguous: a reason needs the scope field before it,
 * else "10.0.0.1 1h al spam" would be scope smtp and reason "al spam".
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "banline.h"
#include "duration.h"
#include "escape.h"

static const char *const keywords[] = { "for", "scope", "reason" };

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
	       c == '\v' || c == '\f';
}

/* The next word of *@s, NUL-ended in place; NULL at the end or a comment. */
static char *word(char **s)
{
	char *p = *s, *t;

	while (is_blank(*p))
		p++;
	if (!*p || *p == '#')
		return NULL;
	t = p;
	while (*p && !is_blank(*p))
		p++;
	if (*p)
		*p++ = '\0';
	*s = p;
	return t;
}

static int hex(char c)
{
	return c >= '0' && c <= '9' ? c - '0' :
	       c >= 'a' && c <= 'f' ? c - 'a' + 10 :
	       c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* A quoted TEXT at *@s into @out (@len with the NUL); moves *@s past it. */
static int quoted(char **s, char *out, size_t len, char *err, size_t elen)
{
	char *p = *s + 1;
	size_t n = 0;
	int c;

	for (; *p && *p != '"'; p++) {
		c = (unsigned char)*p;
		if (c == '\\') {
			if (p[1] == '"' || p[1] == '\\') {
				c = *++p;
			} else if (p[1] == 'x' && hex(p[2]) >= 0 &&
				   hex(p[3]) >= 0 && (hex(p[2]) || hex(p[3]))) {
				c = hex(p[2]) << 4 | hex(p[3]);
				p += 3;
			} else {
				snprintf(err, elen, "reason: '\\%c' is not \\\", "
					 "\\\\ or \\xHH", p[1] ? p[1] : ' ');
				return -EINVAL;
			}
		}
		if (n + 1 >= len) {
			snprintf(err, elen, "reason longer than %zu bytes",
				 len - 1);
			return -EINVAL;
		}
		out[n++] = c;
	}
	if (*p != '"') {
		snprintf(err, elen, "reason: no closing '\"'");
		return -EINVAL;
	}
	out[n] = '\0';
	p++;
	if (*p && !is_blank(*p)) {
		snprintf(err, elen, "reason: text after the closing '\"'");
		return -EINVAL;
	}
	*s = p;
	return 0;
}

static int set_reason(struct sgnl_ban *b, const char *v, char *err,
		      size_t elen)
{
	if (strlen(v) >= sizeof(b->reason)) {
		snprintf(err, elen, "reason longer than %zu bytes",
			 sizeof(b->reason) - 1);
		return -EINVAL;
	}
	strcpy(b->reason, v);
	return 0;
}

static int set_scope(struct sgnl_ban *b, const char *v, char *err,
		     size_t elen)
{
	int scope = v ? sgnl_scope_parse(v) : -1;

	if (scope <= 0) {
		snprintf(err, elen, "scope: '%s' is not smtp or all",
			 v ? v : "");
		return -EINVAL;
	}
	b->scope = scope;
	return 0;
}

static int keyword_index(const char *w)
{
	size_t i;

	for (i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
		if (!strcmp(w, keywords[i]))
			return i;
	return -1;
}

static int keyword_form(char *s, struct sgnl_ban *b, char *err, size_t elen)
{
	bool seen[3] = { false };
	char *w, *v;
	int k;

	while ((w = word(&s))) {
		k = keyword_index(w);
		if (k < 0) {
			snprintf(err, elen, "'%s' is not for, scope or reason",
				 w);
			return -EINVAL;
		}
		if (seen[k]) {
			snprintf(err, elen, "%s given twice", w);
			return -EINVAL;
		}
		seen[k] = true;
		while (is_blank(*s))
			s++;
		if (k == 2 && *s == '"') {
			if (quoted(&s, b->reason, sizeof(b->reason), err, elen))
				return -EINVAL;
			continue;
		}
		v = word(&s);
		if (!v) {
			snprintf(err, elen, "%s needs a value", w);
			return -EINVAL;
		}
		if (k == 0 && sg_duration_parse(v, &b->timeout, err, elen))
			return -EINVAL;
		if (k == 1 && set_scope(b, v, err, elen))
			return -EINVAL;
		if (k == 2 && set_reason(b, v, err, elen))
			return -EINVAL;
	}
	return 0;
}

static char *trim(char *s)
{
	char *e;

	while (is_blank(*s))
		s++;
	e = s + strlen(s);
	while (e > s && is_blank(e[-1]))
		*--e = '\0';
	return s;
}

/* ADDR [DURATION|-] [smtp|all|-] [REASON...], cut at a '#'. */
static int old_form(char *s, struct sgnl_ban *b, char *err, size_t elen)
{
	char *hash = strchr(s, '#'), *rest = s, *w;
	int scope;

	if (hash)
		*hash = '\0';
	w = word(&s);
	if (w && isdigit((unsigned char)*w)) {
		if (sg_duration_parse(w, &b->timeout, err, elen))
			return -EINVAL;
		rest = s;
		w = word(&s);
	} else if (w && !strcmp(w, "-")) {
		rest = s;
		w = word(&s);
	}
	scope = w ? sgnl_scope_parse(w) : -1;
	if (scope > 0 || (w && !strcmp(w, "-"))) {
		b->scope = scope > 0 ? scope : 0;
		rest = s;
	} else if (w) {
		snprintf(err, elen, "is '%s' a scope or a reason? write it as "
			 "PREFIX [for DURATION] [scope smtp|all] "
			 "[reason \"TEXT\"]", w);
		return -EINVAL;
	}
	return set_reason(b, trim(rest), err, elen);
}

/* Whether the word at @s (after blanks) is a keyword; @s unchanged. */
static bool keyword_next(const char *s)
{
	char w[8];
	size_t n;

	while (is_blank(*s))
		s++;
	n = strcspn(s, " \t\r\n\v\f");
	if (!n || n >= sizeof(w))
		return false;
	memcpy(w, s, n);
	w[n] = '\0';
	return keyword_index(w) >= 0;
}

int ban_line_parse(char *s, struct sgnl_ban *b, char *err, size_t elen)
{
	char *w;

	memset(b, 0, sizeof(*b));
	w = word(&s);
	if (!w)
		return 0;
	if (sg_prefix_parse(w, &b->prefix, err, elen))
		return -EINVAL;
	if (keyword_next(s))
		return keyword_form(s, b, err, elen) ? -EINVAL : 1;
	return old_form(s, b, err, elen) ? -EINVAL : 1;
}

size_t ban_line_format(const struct sgnl_ban *b, char *buf, size_t len)
{
	const char *scope = sgnl_scope_name(b->scope);
	char prefix[SG_PREFIX_STRLEN];
	const char *r = b->reason;
	size_t n, want;
	uint32_t cp;

	n = snprintf(buf, len, "%s", sg_prefix_str(&b->prefix, prefix,
						    sizeof(prefix)));
	if (b->timeout)
		n += snprintf(buf + (n < len ? n : len), n < len ? len - n : 0,
			      " for %u", b->timeout);
	if (scope)
		n += snprintf(buf + (n < len ? n : len), n < len ? len - n : 0,
			      " scope %s", scope);
	if (!*r)
		return n;
	n += snprintf(buf + (n < len ? n : len), n < len ? len - n : 0,
		      " reason \"");
	while (*r) {
		want = sg_utf8_decode(r, &cp);
		if (want && sg_printable(cp) && cp != '"' && cp != '\\') {
			n += snprintf(buf + (n < len ? n : len),
				      n < len ? len - n : 0, "%.*s",
				      (int)want, r);
			r += want;
		} else if (*r == '"' || *r == '\\') {
			n += snprintf(buf + (n < len ? n : len),
				      n < len ? len - n : 0, "\\%c", *r++);
		} else {
			n += snprintf(buf + (n < len ? n : len),
				      n < len ? len - n : 0, "\\x%02x",
				      (unsigned char)*r++);
		}
	}
	n += snprintf(buf + (n < len ? n : len), n < len ? len - n : 0, "\"");
	return n;
}
