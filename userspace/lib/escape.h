/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Text that others control (ban reasons from load files, HELO names, log
 * lines) made safe to print: on a terminal no control sequence gets
 * through, and JSON is always valid UTF-8.
 *
 * A code point is printable unless it is a C0 or C1 control, DEL, a line
 * or paragraph separator (U+2028, U+2029) or a bidirectional control
 * (U+200E, U+200F, U+202A to U+202E, U+2066 to U+2069), which reorder
 * what a terminal shows.  UTF-8 is decoded strictly: overlong forms,
 * surrogates and code points past U+10FFFF are invalid bytes.
 */
#ifndef _SG_ESCAPE_H
#define _SG_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The length of the valid UTF-8 sequence at @s (1 to 4) with *@cp; 0 if
 * the byte at @s starts none.  Reads up to the terminating NUL. */
size_t sg_utf8_decode(const char *s, uint32_t *cp);
bool sg_printable(uint32_t cp);

/* Escape backslashes too, so that the text reads back unambiguously. */
#define SG_ESC_BACKSLASH	1

/*
 * @s for a terminal or a log line: printable UTF-8 as is, \t \n \r, other
 * controls and printable-looking dangers as \u2028, invalid bytes as
 * \xff.  snprintf()'s contract: the length it needs, @buf always ended.
 */
size_t sg_text_escape(char *buf, size_t len, const char *s, unsigned int flags);
/* The same, allocated; NULL when out of memory. */
char *sg_text_escape_dup(const char *s, unsigned int flags);

/*
 * @s as a JSON string, quotes included: \" \\ \n \t \r \b \f, other
 * unprintable code points as \u0000, invalid bytes as \ufffd.
 */
void sg_json_string(FILE *f, const char *s);

#endif /* _SG_ESCAPE_H */
