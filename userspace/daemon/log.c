// SPDX-License-Identifier: GPL-2.0
/*
 * Logging: one line per decision, to syslog (LOG_DAEMON, so the journal
 * has it too) and, in the foreground, to stderr after "smtpgated: ".
 *
 * Decisions are key=value lines in a stable order with stable keys, so
 * fail2ban filters, SIEM parsers and grep keep working across versions:
 *
 *   action=ban host=192.0.2.66 reason=rate,destinations duration=1h
 *     scope=all offence=2 attempts=40 rate=40 blocked=38 destinations=12
 *
 * A value is quoted ("...", with \" \\ and \xNN escapes) only when it is
 * empty or holds anything but letters, digits and . _ : / , @ + -.
 * Inside quotes, printable UTF-8 stays; controls and invalid bytes are
 * \xNN, the separators and bidirectional controls of escape.h \uNNNN.
 * Other messages (errors, start, reload) are plain sentences.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "smtpgated.h"
#include "duration.h"
#include "escape.h"

static struct {
	bool syslog;
	bool to_stderr;
	log_sink_fn sink;
	void *arg;
} lg;

void log_open(bool to_stderr)
{
	openlog("smtpgated", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	lg.syslog = true;
	lg.to_stderr = to_stderr;
}

void log_close(void)
{
	if (lg.syslog)
		closelog();
	lg.syslog = false;
	lg.to_stderr = false;
}

void log_set_sink(log_sink_fn fn, void *arg)
{
	lg.sink = fn;
	lg.arg = arg;
}

/*
 * Sentences may quote others' text (a path, a command's output): no
 * control character or invalid UTF-8 reaches a terminal or syslog.
 * key=value lines are escaped already and pass unchanged.
 */
static void emit(int prio, const char *raw)
{
	char line[4096];

	sg_text_escape(line, sizeof(line), raw, 0);
	if (lg.syslog)
		syslog(prio, "%s", line);
	/* Debug lines (hooks that went fine) are for syslog's filters. */
	if (lg.to_stderr && prio != LOG_DEBUG) {
		/* As syslog's tag: stderr may be a log shared with others. */
		fprintf(stderr, "smtpgated: %s\n", line);
		fflush(stderr);
	}
	if (lg.sink)
		lg.sink(prio, line, lg.arg);
}

void log_msg(int prio, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	emit(prio, line);
}

/* ---- key=value ------------------------------------------------------------ */

void kv_init(struct kv *kv)
{
	kv->len = 0;
	kv->buf[0] = '\0';
}

static void kv_putc(struct kv *kv, char c)
{
	if (kv->len + 1 < sizeof(kv->buf)) {
		kv->buf[kv->len++] = c;
		kv->buf[kv->len] = '\0';
	}
}

static void kv_puts(struct kv *kv, const char *s)
{
	while (*s)
		kv_putc(kv, *s++);
}

static bool plain_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || strchr("._:/,@+-", c);
}

static bool needs_quotes(const char *s)
{
	if (!*s)
		return true;
	for (; *s; s++)
		if (!plain_char(*s))
			return true;
	return false;
}

/* Printable UTF-8 as is; controls, invalid bytes: \xNN; see escape.h. */
static void kv_quoted(struct kv *kv, const char *s)
{
	char esc[16];
	uint32_t cp;
	size_t n;

	kv_putc(kv, '"');
	while (*s) {
		n = sg_utf8_decode(s, &cp);
		if (n == 1 && (cp == '"' || cp == '\\')) {
			kv_putc(kv, '\\');
			kv_putc(kv, cp);
		} else if (n && (sg_printable(cp) || cp == ' ')) {
			while (n--)
				kv_putc(kv, *s++);
			continue;
		} else if (n) {
			snprintf(esc, sizeof(esc), cp < 0x100 ? "\\x%02x" :
				 "\\u%04x", cp);
			kv_puts(kv, esc);
		} else {
			snprintf(esc, sizeof(esc), "\\x%02x", (unsigned char)*s);
			kv_puts(kv, esc);
			n = 1;
		}
		s += n;
	}
	kv_putc(kv, '"');
}

void kv_str(struct kv *kv, const char *key, const char *val)
{
	if (kv->len)
		kv_putc(kv, ' ');
	kv_puts(kv, key);
	kv_putc(kv, '=');
	if (needs_quotes(val))
		kv_quoted(kv, val);
	else
		kv_puts(kv, val);
}

void kv_uint(struct kv *kv, const char *key, uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	kv_str(kv, key, buf);
}

void kv_prefix(struct kv *kv, const char *key, const struct sg_prefix *p)
{
	char buf[SG_PREFIX_STRLEN];

	kv_str(kv, key, host_str(p, buf, sizeof(buf)));
}

/* 0 is a permanent ban. */
void kv_duration(struct kv *kv, const char *key, uint64_t secs)
{
	char buf[32];

	kv_str(kv, key, secs ? sg_duration_fmt(secs, buf, sizeof(buf)) :
			"permanent");
}

/* UTC, ISO 8601: sortable, and the same whatever the host's zone. */
void kv_time(struct kv *kv, const char *key, uint64_t when)
{
	time_t t = when;
	struct tm tm;
	char buf[32];

	if (!when || !gmtime_r(&t, &tm) ||
	    !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, sizeof(buf), "never");
	kv_str(kv, key, buf);
}

void log_kv(int prio, const struct kv *kv)
{
	emit(prio, kv->buf);
}

const char *host_str(const struct sg_prefix *p, char *buf, size_t len)
{
	if (p->len == sg_family_bits(p->family))
		return sg_addr_str(p, buf, len);
	return sg_prefix_str(p, buf, len);
}

const char *reasons_str(uint32_t reasons, char *buf, size_t len)
{
	size_t i, used = 0;

	buf[0] = '\0';
	for (i = 0; i < ARRAY_SIZE(sgnl_reasons); i++)
		if (reasons & sgnl_reasons[i].bit)
			used += snprintf(buf + used, used < len ? len - used : 0,
					 "%s%s", used ? "," : "",
					 sgnl_reasons[i].name);
	if (!used)
		snprintf(buf, len, "none");
	return buf;
}
