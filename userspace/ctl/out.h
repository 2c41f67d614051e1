/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One output path for text and JSON, after iproute2's print_*(PRINT_ANY)
 * idea: commands describe each value once, with its JSON key and its text
 * label, and this module renders it either way.
 *
 *   containers          JSON                      text
 *   out_table()         array (object if rows     aligned columns, labels
 *                       have keys)                upper-cased as the header
 *   out_record()        object                    "label: value" lines
 *   out_line()          object and a newline      one line, "label value"
 *   out_object()        nested object             transparent: its members
 *                                                 go to the enclosing one
 *   out_group()         nested object             one cell, "key=value ..."
 *   out_list()          array of scalars          one cell, comma-separated
 *
 * Values with kind OUT_JSON appear only in JSON, OUT_TEXT only in text; a
 * NULL label leaves a value unlabelled in text (a line's leading fields).
 */
#ifndef _SGCTL_OUT_H
#define _SGCTL_OUT_H

#include <stdbool.h>
#include <stdint.h>

enum out_kind {
	OUT_TEXT = 1,
	OUT_JSON = 2,
	OUT_ANY = OUT_TEXT | OUT_JSON,
};

enum out_color {
	COLOR_NONE,
	COLOR_RED,
	COLOR_GREEN,
	COLOR_YELLOW,
	COLOR_BLUE,
	COLOR_MAGENTA,
};

void out_setup(bool json, bool color);
bool out_is_json(void);

void out_table(const char *key);
void out_record(const char *key);
void out_line(void);
void out_object(enum out_kind kind, const char *key);
void out_group(enum out_kind kind, const char *key, const char *label);
void out_list(enum out_kind kind, const char *key, const char *label);
void out_row(const char *key);
void out_end(void);

/* The color of the next text value (only when colors are on). */
void out_color(enum out_color color);

void out_str(enum out_kind kind, const char *key, const char *label,
	     const char *value);
void out_uint(enum out_kind kind, const char *key, const char *label,
	      uint64_t value);
void out_double(enum out_kind kind, const char *key, const char *label,
		const char *fmt, double value);
void out_bool(enum out_kind kind, const char *key, const char *label,
	      bool value);
/* JSON null; in text, @text ("-", "never"). */
void out_null(enum out_kind kind, const char *key, const char *label,
	      const char *text);
/* Unix time: a number in JSON, "2026-11-24 10:02" (local) in text. */
void out_time(enum out_kind kind, const char *key, const char *label,
	      uint64_t when);
/* Seconds: a number in JSON, "3h12m" in text. */
void out_duration(enum out_kind kind, const char *key, const char *label,
		  uint64_t secs);

/* Local time for people; "-" for none. */
const char *fmt_time(uint64_t when, const char *fmt, char *buf, size_t len);

#endif /* _SGCTL_OUT_H */
