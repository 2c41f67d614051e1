// SPDX-License-Identifier: GPL-2.0
/*
 * smtpgatectl's renderer (ctl/out.c) with text that others control: ban
 * reasons from load files, HELO names, evidence.  Text output carries no
 * control character and no invalid UTF-8; JSON output is always valid
 * UTF-8 that a strict parser (Python's json, strict=True) accepts, and
 * reads back as the printable part of what went in.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "kselftest_harness.h"

#include "../ctl/ctl.h"
#include "../ctl/out.h"
#include "escape.h"

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	exit(1);
}

void die_nomem(void)
{
	die("out of memory");
}

void errmsg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

static const char *const hostile[] = {
	"\x1b[31mred\x1b[0m",			/* SGR */
	"\x1b]0;owned\x07title",		/* OSC: window title */
	"\x1b[2J\x1b[H",			/* clear screen */
	"raw\x9b" "31m csi",			/* a C1 CSI byte alone: invalid */
	"utf8\xc2\x9b" "31m csi",		/* U+009B, valid UTF-8 */
	"over\xc0\xaflong",			/* overlong '/' */
	"over\xe0\x80\xaflong3",		/* overlong '/', 3 bytes */
	"over\xf0\x80\x80\xaflong4",		/* overlong '/', 4 bytes */
	"surr\xed\xa0\x80ogate",		/* U+D800 */
	"big\xf4\x90\x80\x80",			/* past U+10FFFF */
	"\xff\xfe\xfd",				/* never UTF-8 */
	"cut\xe2\x82",				/* truncated at the end */
	"line\xe2\x80\xa8sep",			/* U+2028 */
	"para\xe2\x80\xa9sep",			/* U+2029 */
	"rlo\xe2\x80\xae" "txet",		/* U+202E, bidi override */
	"bin\x01\x02\x03\x7f\x08\x0c",
	"tab\tnl\ncr\r",
	"quote\" back\\slash",
	"",
};

struct cap {
	char *text;
	size_t len;
};

/* What @fn prints on stdout. */
static void capture(struct cap *c, void (*fn)(const void *), const void *arg)
{
	FILE *f = tmpfile();
	int saved;
	long n;

	fflush(stdout);
	saved = dup(1);
	dup2(fileno(f), 1);
	fn(arg);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	n = ftell(f) >= 0 ? lseek(fileno(f), 0, SEEK_END) : 0;
	c->text = calloc(1, n + 1);
	c->len = pread(fileno(f), c->text, n, 0);
	fclose(f);
}

/*
 * Python's strict view: @mode "json" parses it (invalid UTF-8, raw
 * controls in strings: refused); "text" decodes it and refuses any
 * control but \n, U+2028/2029 and bidirectional controls.  Exit status.
 */
static int python_check(const struct cap *c, const char *mode)
{
	static const char prog[] =
		"import json, sys, unicodedata\n"
		"s = sys.stdin.buffer.read().decode('utf-8')\n"
		"if sys.argv[1] == 'json':\n"
		"    for l in s.splitlines():\n"
		"        json.loads(l)\n"
		"else:\n"
		"    bad = [c for c in s if c != '\\n' and (unicodedata.category(c)"
		" in ('Cc', 'Zl', 'Zp') or c in '\\u200e\\u200f\\u202a\\u202b"
		"\\u202c\\u202d\\u202e\\u2066\\u2067\\u2068\\u2069')]\n"
		"    assert not bad, bad\n";
	int p[2], status;
	pid_t pid;

	if (pipe(p))
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(p[0], 0);
		close(p[1]);
		execlp("python3", "python3", "-c", prog, mode, NULL);
		_exit(127);
	}
	close(p[0]);
	if (write(p[1], c->text, c->len) != (ssize_t)c->len)
		return -1;
	close(p[1]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Every hostile string in every container that takes a string. */
static void render_all(const void *arg)
{
	size_t i;

	out_setup(*(const bool *)arg, false);
	out_record(NULL);
	for (i = 0; i < ARRAY_SIZE(hostile); i++)
		out_str(OUT_ANY, "reason", "reason", hostile[i]);
	out_end();
	out_table("bans");
	for (i = 0; i < ARRAY_SIZE(hostile); i++) {
		out_row(hostile[i]);
		out_str(OUT_ANY, "host", "host", "192.0.2.66");
		out_str(OUT_ANY, "reason", "reason", hostile[i]);
		out_group(OUT_ANY, "evidence", NULL);
		out_str(OUT_ANY, "helo", "helo", hostile[i]);
		out_end();
		out_list(OUT_ANY, "names", NULL);
		out_str(OUT_ANY, NULL, NULL, hostile[i]);
		out_end();
		out_end();
	}
	out_end();
	for (i = 0; i < ARRAY_SIZE(hostile); i++) {
		out_line();
		out_str(OUT_ANY, "event", NULL, "ban");
		out_str(OUT_ANY, "reason", "reason", hostile[i]);
		out_null(OUT_ANY, "trap_port", "trap_port", "off");
		out_end();
	}
}

static bool has_python(void)
{
	return !system("python3 -c 'import json, unicodedata' 2>/dev/null");
}

TEST(text_has_no_control_and_is_utf8)
{
	bool json = false;
	struct cap c;

	if (!has_python())
		SKIP(return, "no python3");
	capture(&c, render_all, &json);
	EXPECT_EQ(0, python_check(&c, "text")) TH_LOG("%s", c.text);
	EXPECT_EQ(NULL, memchr(c.text, 0x1b, c.len));
	free(c.text);
}

TEST(json_is_valid_utf8_for_a_strict_parser)
{
	bool json = true;
	struct cap c;

	if (!has_python())
		SKIP(return, "no python3");
	capture(&c, render_all, &json);
	/* A record, a table, then one object per line: one per line. */
	EXPECT_EQ(0, python_check(&c, "json")) TH_LOG("%s", c.text);
	free(c.text);
}

static void one(const void *arg)
{
	const char *const *v = arg;

	out_setup(!strcmp(v[0], "json"), false);
	out_line();
	out_str(OUT_ANY, "reason", "reason", v[1]);
	out_end();
}

/* The exact forms: what the man page promises. */
TEST(escapes)
{
	static const struct { const char *in, *text, *json; } cases[] = {
		{ "\x1b[31mred", "reason \\x1b[31mred\n",
		  "{\"reason\":\"\\u001b[31mred\"}\n" },
		{ "a\x9b" "b", "reason a\\x9bb\n", "{\"reason\":\"a\\ufffdb\"}\n" },
		{ "a\xc2\x9b" "b", "reason a\\u009bb\n", "{\"reason\":\"a\\u009bb\"}\n" },
		{ "\xc0\xaf", "reason \\xc0\\xaf\n", "{\"reason\":\"\\ufffd\\ufffd\"}\n" },
		{ "a\xe2\x80\xa8" "b", "reason a\\u2028b\n", "{\"reason\":\"a\\u2028b\"}\n" },
		{ "t\tn\nq\"b\\", "reason t\\tn\\nq\"b\\\\\n",
		  "{\"reason\":\"t\\tn\\nq\\\"b\\\\\"}\n" },
		{ "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80",
		  "reason h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80\n",
		  "{\"reason\":\"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80\"}\n" },
	};
	const char *v[2];
	struct cap c;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		v[0] = "text";
		v[1] = cases[i].in;
		capture(&c, one, v);
		EXPECT_STREQ(cases[i].text, c.text) TH_LOG("case %zu", i);
		free(c.text);
		v[0] = "json";
		capture(&c, one, v);
		EXPECT_STREQ(cases[i].json, c.text) TH_LOG("case %zu", i);
		free(c.text);
	}
}

/* A table's columns count code points, not bytes. */
static void table(const void *arg)
{
	out_setup(false, false);
	out_table(NULL);
	out_row(NULL);
	out_str(OUT_ANY, "reason", "reason", "\xc3\xa9t\xc3\xa9");
	out_str(OUT_ANY, "host", "host", "a");
	out_end();
	out_row(NULL);
	out_str(OUT_ANY, "reason", "reason", "abcdefg");
	out_str(OUT_ANY, "host", "host", "b");
	out_end();
	out_end();
}

TEST(table_width_in_characters)
{
	struct cap c;

	capture(&c, table, NULL);
	EXPECT_STREQ("REASON   HOST\n\xc3\xa9t\xc3\xa9      a\nabcdefg  b\n", c.text);
	free(c.text);
}

/* Unset numbers are null in JSON, never a string. */
static void unset(const void *arg)
{
	out_setup(*(const bool *)arg, false);
	out_record(NULL);
	out_null(OUT_ANY, "trap_port", "trap_port", "off");
	out_end();
}

TEST(unset_is_null)
{
	bool json = true;
	struct cap c;

	capture(&c, unset, &json);
	EXPECT_STREQ("{\"trap_port\":null}\n", c.text);
	free(c.text);
	json = false;
	capture(&c, unset, &json);
	EXPECT_STREQ("trap_port: off\n", c.text);
	free(c.text);
}

TEST_HARNESS_MAIN
