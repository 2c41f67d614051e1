// SPDX-License-Identifier: GPL-2.0
/*
 * Text and JSON output from one set of calls; see out.h.
 *
 * JSON is streamed as the calls come.  Text is collected per container and
 * printed when it ends, because a table's column widths are known only
 * once every row is in.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "duration.h"
#include "escape.h"
#include "out.h"

#define MAX_DEPTH	8

enum frame_type { F_TABLE, F_RECORD, F_LINE, F_OBJECT, F_GROUP, F_LIST, F_ROW };

struct cell {
	char *label;
	char *text;
	enum out_color color;
	bool right;		/* numbers: right-aligned in tables */
};

struct row {
	struct cell *cells;
	size_t n, cap;
};

struct frame {
	enum frame_type type;
	bool json, text;	/* emitted in JSON, in text */
	bool first;		/* JSON: no member yet */
	bool opened;		/* JSON table: bracket written */
	bool keyed;		/* JSON table: rows have keys (an object) */
	struct row cells;	/* text: record, line, row */
	struct row *rows;	/* text: table */
	size_t nrows, caprows;
	char *buf;		/* text: group, list */
	size_t blen;
	char *label;		/* text: group, list */
};

static struct {
	bool json;
	bool color;
	enum out_color next_color;
	int depth;
	struct frame f[MAX_DEPTH];
} out;

static const char *const ansi[] = {
	[COLOR_RED] = "\033[31m",
	[COLOR_GREEN] = "\033[32m",
	[COLOR_YELLOW] = "\033[33m",
	[COLOR_BLUE] = "\033[34m",
	[COLOR_MAGENTA] = "\033[35m",
};

void out_setup(bool json, bool color)
{
	out.json = json;
	out.color = color && !json;
}

bool out_is_json(void)
{
	return out.json;
}

static struct frame *top(void)
{
	return out.depth ? &out.f[out.depth - 1] : NULL;
}

/* ---- JSON ---------------------------------------------------------------- */

static void json_string(const char *s)
{
	sg_json_string(stdout, s);
}

static bool json_in_array(const struct frame *f)
{
	return f && (f->type == F_LIST || (f->type == F_TABLE && !f->keyed));
}

/* Opens a deferred table bracket: an object when its rows have keys. */
static void json_open_table(struct frame *f, bool keyed)
{
	if (f->opened)
		return;
	f->keyed = keyed;
	putchar(keyed ? '{' : '[');
	f->opened = true;
}

/* The comma and the member name, as the enclosing container needs. */
static void json_member(const char *key)
{
	struct frame *f = top();

	if (!f)
		return;
	if (f->type == F_TABLE)
		json_open_table(f, key != NULL);
	if (!f->first)
		putchar(',');
	f->first = false;
	if (!json_in_array(f) && key) {
		json_string(key);
		putchar(':');
	}
}

/* ---- text ---------------------------------------------------------------- */

static char *xstrdup(const char *s)
{
	char *d = strdup(s ? s : "");

	if (!d)
		die_nomem();
	return d;
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p)
		die_nomem();
	return p;
}

static void row_add(struct row *r, const char *label, const char *text,
		    enum out_color color, bool right)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 8;
		r->cells = xrealloc(r->cells, r->cap * sizeof(*r->cells));
	}
	r->cells[r->n++] = (struct cell) {
		.label = label ? xstrdup(label) : NULL,
		.text = xstrdup(text),
		.color = color,
		.right = right,
	};
}

static void row_free(struct row *r)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		free(r->cells[i].label);
		free(r->cells[i].text);
	}
	free(r->cells);
	memset(r, 0, sizeof(*r));
}

static void buf_append(struct frame *f, const char *sep, const char *s)
{
	size_t sl = strlen(sep), l = strlen(s);

	f->buf = xrealloc(f->buf, f->blen + sl + l + 1);
	if (f->blen) {
		memcpy(f->buf + f->blen, sep, sl);
		f->blen += sl;
	}
	memcpy(f->buf + f->blen, s, l + 1);
	f->blen += l;
}

/* Where a text value goes: the nearest frame that collects values. */
static void text_value(const char *key, const char *label, const char *text,
		       bool right)
{
	enum out_color color = out.next_color;
	char pair[512];
	int i;

	out.next_color = COLOR_NONE;
	for (i = out.depth - 1; i >= 0; i--) {
		struct frame *f = &out.f[i];

		switch (f->type) {
		case F_OBJECT:
			continue;
		case F_GROUP:
			snprintf(pair, sizeof(pair), "%s=", label ? label : key);
			buf_append(f, " ", pair);
			buf_append(f, "", text);
			return;
		case F_LIST:
			buf_append(f, ",", text);
			return;
		case F_TABLE:
			return;		/* a value outside any row */
		default:
			row_add(&f->cells, label, text,
				out.color ? color : COLOR_NONE, right);
			return;
		}
	}
}

static void print_colored(const char *s, enum out_color c)
{
	if (c != COLOR_NONE)
		printf("%s%s\033[0m", ansi[c], s);
	else
		fputs(s, stdout);
}

/* Columns on a terminal: one per code point (text is escaped UTF-8). */
static int width_of(const char *s)
{
	int w = 0;

	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

static void print_padded(const struct cell *c, const char *text, int width,
			 bool last)
{
	int pad = width - width_of(text);

	if (c && c->right)
		printf("%*s", pad > 0 ? pad : 0, "");
	print_colored(text, c ? c->color : COLOR_NONE);
	if (!last && !(c && c->right))
		printf("%*s", pad > 0 ? pad : 0, "");
}

static struct cell *row_find(struct row *r, const char *label)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (r->cells[i].label && !strcmp(r->cells[i].label, label))
			return &r->cells[i];
	return NULL;
}

/* Columns: the labels in the order the rows first show them. */
static size_t table_columns(struct frame *f, const char ***cols)
{
	const char **c = NULL;
	size_t n = 0, i, j, k;

	for (i = 0; i < f->nrows; i++) {
		for (j = 0; j < f->rows[i].n; j++) {
			const char *l = f->rows[i].cells[j].label;

			for (k = 0; l && k < n && strcmp(c[k], l); k++)
				;
			if (!l || k < n)
				continue;
			c = xrealloc(c, (n + 1) * sizeof(*c));
			c[n++] = l;
		}
	}
	*cols = c;
	return n;
}

static void table_print(struct frame *f)
{
	const char **cols;
	size_t n = table_columns(f, &cols), i, j;
	int *w = calloc(n ? n : 1, sizeof(*w));
	char head[128];

	if (!w)
		die_nomem();
	for (j = 0; j < n; j++) {
		w[j] = width_of(cols[j]);
		for (i = 0; i < f->nrows; i++) {
			struct cell *c = row_find(&f->rows[i], cols[j]);

			if (c && width_of(c->text) > w[j])
				w[j] = width_of(c->text);
		}
	}
	for (j = 0; j < n; j++) {
		struct cell *c = row_find(&f->rows[0], cols[j]);
		struct cell hc = { .right = c && c->right };
		size_t k;

		for (k = 0; cols[j][k] && k < sizeof(head) - 1; k++)
			head[k] = toupper((unsigned char)cols[j][k]);
		head[k] = '\0';
		print_padded(&hc, head, w[j], j == n - 1);
		fputs(j == n - 1 ? "\n" : "  ", stdout);
	}
	for (i = 0; i < f->nrows; i++) {
		for (j = 0; j < n; j++) {
			struct cell *c = row_find(&f->rows[i], cols[j]);

			print_padded(c, c ? c->text : "", w[j], j == n - 1);
			fputs(j == n - 1 ? "\n" : "  ", stdout);
		}
	}
	/* Only now: cols[] points at the rows' labels. */
	for (i = 0; i < f->nrows; i++)
		row_free(&f->rows[i]);
	free(f->rows);
	free(cols);
	free(w);
}

static void record_print(struct row *r)
{
	int w = 0;
	size_t i;

	for (i = 0; i < r->n; i++)
		if (r->cells[i].label && (int)strlen(r->cells[i].label) + 1 > w)
			w = strlen(r->cells[i].label) + 1;
	for (i = 0; i < r->n; i++) {
		if (r->cells[i].label)
			printf("%s:%*s ", r->cells[i].label,
			       w - (int)strlen(r->cells[i].label) - 1, "");
		print_colored(r->cells[i].text, r->cells[i].color);
		putchar('\n');
	}
}

static void line_print(struct row *r)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		if (i)
			putchar(' ');
		if (r->cells[i].label)
			printf("%s ", r->cells[i].label);
		print_colored(r->cells[i].text, r->cells[i].color);
	}
	putchar('\n');
}

/* ---- containers ---------------------------------------------------------- */

static struct frame *push(enum frame_type type, enum out_kind kind,
			  const char *key, const char *label)
{
	struct frame *parent = top(), *f;

	if (out.depth == MAX_DEPTH)
		die("output nested too deep");
	f = &out.f[out.depth];
	memset(f, 0, sizeof(*f));
	f->type = type;
	f->first = true;
	f->json = out.json && (kind & OUT_JSON) && (!parent || parent->json);
	f->text = !out.json && (kind & OUT_TEXT) && (!parent || parent->text);
	if (f->text && label)
		f->label = xstrdup(label);
	if (f->json) {
		json_member(key);
		if (type != F_TABLE)
			putchar(type == F_LIST ? '[' : '{');
	}
	out.depth++;
	return f;
}

void out_table(const char *key)
{
	push(F_TABLE, OUT_ANY, key, NULL);
}

void out_record(const char *key)
{
	push(F_RECORD, OUT_ANY, key, NULL);
}

void out_line(void)
{
	push(F_LINE, OUT_ANY, NULL, NULL);
}

void out_object(enum out_kind kind, const char *key)
{
	push(F_OBJECT, kind, key, NULL);
}

void out_group(enum out_kind kind, const char *key, const char *label)
{
	push(F_GROUP, kind, key, label ? label : key);
}

void out_list(enum out_kind kind, const char *key, const char *label)
{
	push(F_LIST, kind, key, label ? label : key);
}

void out_row(const char *key)
{
	push(F_ROW, OUT_ANY, key, NULL);
}

static void end_json(struct frame *f)
{
	if (f->type == F_TABLE) {
		if (!f->opened)
			putchar('[');
		putchar(f->opened && f->keyed ? '}' : ']');
	} else {
		putchar(f->type == F_LIST ? ']' : '}');
	}
	if (out.depth == 0 || f->type == F_LINE) {
		putchar('\n');
		fflush(stdout);
	}
}

static void end_text(struct frame *f)
{
	struct frame *parent = top();

	switch (f->type) {
	case F_TABLE:
		if (f->nrows)
			table_print(f);
		if (f->nrows && parent)
			putchar('\n');
		break;
	case F_RECORD:
		record_print(&f->cells);
		break;
	case F_LINE:
		line_print(&f->cells);
		fflush(stdout);
		break;
	case F_ROW:
		if (parent && parent->type == F_TABLE) {
			if (parent->nrows == parent->caprows) {
				parent->caprows = parent->caprows ?
						  2 * parent->caprows : 64;
				parent->rows = xrealloc(parent->rows,
					parent->caprows * sizeof(*parent->rows));
			}
			parent->rows[parent->nrows++] = f->cells;
			memset(&f->cells, 0, sizeof(f->cells));
		}
		break;
	case F_GROUP:
	case F_LIST:
		text_value(NULL, f->label, f->blen ? f->buf : "-", false);
		break;
	case F_OBJECT:
		break;
	}
	row_free(&f->cells);
	free(f->buf);
	free(f->label);
}

void out_end(void)
{
	struct frame f;

	if (!out.depth)
		die("output: out_end() without a container");
	f = out.f[--out.depth];
	if (f.json)
		end_json(&f);
	else if (f.text)
		end_text(&f);
	else
		free(f.label);
}

/* ---- values -------------------------------------------------------------- */

static bool want_json(enum out_kind kind)
{
	struct frame *f = top();

	return out.json && (kind & OUT_JSON) && (!f || f->json);
}

static bool want_text(enum out_kind kind)
{
	struct frame *f = top();

	if (out.json || !(kind & OUT_TEXT) || (f && !f->text)) {
		out.next_color = COLOR_NONE;
		return false;
	}
	return true;
}

void out_color(enum out_color color)
{
	out.next_color = color;
}

void out_str(enum out_kind kind, const char *key, const char *label,
	     const char *value)
{
	if (want_json(kind)) {
		json_member(key);
		json_string(value);
	}
	if (want_text(kind)) {
		char *safe = sg_text_escape_dup(value, SG_ESC_BACKSLASH);

		if (!safe)
			die_nomem();
		text_value(key, label, safe, false);
		free(safe);
	}
}

void out_uint(enum out_kind kind, const char *key, const char *label,
	      uint64_t value)
{
	char buf[24];

	if (want_json(kind)) {
		json_member(key);
		printf("%" PRIu64, value);
	}
	if (want_text(kind)) {
		snprintf(buf, sizeof(buf), "%" PRIu64, value);
		text_value(key, label, buf, true);
	}
}

void out_double(enum out_kind kind, const char *key, const char *label,
		const char *fmt, double value)
{
	char buf[64];

	snprintf(buf, sizeof(buf), fmt, value);
	if (want_json(kind)) {
		json_member(key);
		fputs(buf, stdout);
	}
	if (want_text(kind))
		text_value(key, label, buf, true);
}

void out_bool(enum out_kind kind, const char *key, const char *label,
	      bool value)
{
	if (want_json(kind)) {
		json_member(key);
		fputs(value ? "true" : "false", stdout);
	}
	if (want_text(kind))
		text_value(key, label, value ? "yes" : "no", false);
}

void out_null(enum out_kind kind, const char *key, const char *label,
	      const char *text)
{
	if (want_json(kind)) {
		json_member(key);
		fputs("null", stdout);
	}
	if (want_text(kind))
		text_value(key, label, text, false);
}

void out_time(enum out_kind kind, const char *key, const char *label,
	      uint64_t when)
{
	char buf[32];

	if (want_json(kind)) {
		json_member(key);
		printf("%" PRIu64, when);
	}
	if (want_text(kind))
		text_value(key, label,
			   fmt_time(when, "%Y-%m-%d %H:%M", buf, sizeof(buf)),
			   false);
}

void out_duration(enum out_kind kind, const char *key, const char *label,
		  uint64_t secs)
{
	char buf[32];

	if (want_json(kind)) {
		json_member(key);
		printf("%" PRIu64, secs);
	}
	if (want_text(kind))
		text_value(key, label, sg_duration_fmt(secs, buf, sizeof(buf)),
			   true);
}

/* ---- formatting ---------------------------------------------------------- */

/* Local time, as the operator's other tools show it; "-" for none. */
const char *fmt_time(uint64_t when, const char *fmt, char *buf, size_t len)
{
	time_t t = when;
	struct tm tm;

	if (!when || !localtime_r(&t, &tm) || !strftime(buf, len, fmt, &tm))
		snprintf(buf, len, "-");
	return buf;
}
