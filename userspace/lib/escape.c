// SPDX-License-Identifier: GPL-2.0
/* Untrusted text made safe for terminals, logs and JSON; see escape.h. */
#include <stdlib.h>
#include <string.h>

#include "escape.h"

size_t sg_utf8_decode(const char *str, uint32_t *cp)
{
	const unsigned char *s = (const unsigned char *)str;
	uint32_t c, min;
	size_t n, i;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2, c = s[0] & 0x1f, min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3, c = s[0] & 0x0f, min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4, c = s[0] & 0x07, min = 0x10000;
	} else {
		return 0;	/* a continuation, 0xc0/0xc1 (overlong), > 0xf4 */
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;	/* also the NUL at the end */
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

bool sg_printable(uint32_t c)
{
	return !(c < 0x20 || (c >= 0x7f && c <= 0x9f) ||
		 c == 0x200e || c == 0x200f || c == 0x2028 || c == 0x2029 ||
		 (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069));
}

struct sink {
	char *buf;
	size_t len, pos;
};

static void put(struct sink *k, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++, k->pos++)
		if (k->pos + 1 < k->len)
			k->buf[k->pos] = s[i];
}

size_t sg_text_escape(char *buf, size_t len, const char *s, unsigned int flags)
{
	struct sink k = { buf, len, 0 };
	char esc[16];
	uint32_t cp;
	size_t n;

	while (*s) {
		n = sg_utf8_decode(s, &cp);
		if (!n) {
			snprintf(esc, sizeof(esc), "\\x%02x", (unsigned char)*s);
			put(&k, esc, 4);
			s++;
			continue;
		}
		if (cp == '\\' && (flags & SG_ESC_BACKSLASH))
			put(&k, "\\\\", 2);
		else if (cp == '\t' || cp == '\n' || cp == '\r')
			put(&k, cp == '\t' ? "\\t" : cp == '\n' ? "\\n" : "\\r", 2);
		else if (cp < 0x20 || cp == 0x7f)
			put(&k, esc, snprintf(esc, sizeof(esc), "\\x%02x", cp));
		else if (!sg_printable(cp))
			put(&k, esc, snprintf(esc, sizeof(esc), "\\u%04x", cp));
		else
			put(&k, s, n);
		s += n;
	}
	if (len)
		buf[k.pos < len ? k.pos : len - 1] = '\0';
	return k.pos;
}

char *sg_text_escape_dup(const char *s, unsigned int flags)
{
	size_t n = sg_text_escape(NULL, 0, s, flags);
	char *d = malloc(n + 1);

	if (d)
		sg_text_escape(d, n + 1, s, flags);
	return d;
}

void sg_json_string(FILE *f, const char *s)
{
	uint32_t cp;
	size_t n;

	putc('"', f);
	while (*s) {
		n = sg_utf8_decode(s, &cp);
		if (!n) {
			fputs("\\ufffd", f);
			s++;
			continue;
		}
		switch (cp) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\b':
			fputs("\\b", f);
			break;
		case '\f':
			fputs("\\f", f);
			break;
		default:
			if (sg_printable(cp))
				fwrite(s, 1, n, f);
			else
				fprintf(f, "\\u%04x", cp);
		}
		s += n;
	}
	putc('"', f);
}
