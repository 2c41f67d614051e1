// SPDX-License-Identifier: GPL-2.0
/*
 * Password fishers (seed 001): bots that learned to use the submission
 * port try passwords there.  Postfix logs each failure as
 *
 *   postfix/submission/smtpd[4711]: warning: unknown[192.0.2.66]: SASL
 *     LOGIN authentication failed: UGFzc3dvcmQ6
 *
 * (the name is "unknown" or the client's verified hostname; any mechanism).
 * A source with sasl_threshold failures within sasl_window is banned
 * through the same machinery as a flagged host, reason=sasl, its address
 * aggregated with the policy's host prefix lengths so a bot rotating
 * inside its IPv6 /64 counts as one.
 *
 * The source is a file (Postfix's maillog) followed like `tail -F`: read
 * from its end at start; a rename or a new file under the name is a
 * rotation (what is left of the old file is read first, then the new one
 * from its start); a shorter file is a truncation (copytruncate).  inotify
 * on the directory wakes us; a once-a-second check catches what inotify
 * cannot see (NFS, a directory replaced).  Or "journal": journalctl
 * --follow for the mail facility, restarted with a delay if it exits.
 *
 * Only smtpd's own lines count (see sasl_parse_line()): the tag and the
 * start of the message, never text found in the middle of a line.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "smtpgated.h"

#define SASL_MAX_SOURCES	16384
#define JOURNAL_RESTART_MS	5000

/* ---- lines ------------------------------------------------------------------ */

/*
 * Only whole lines that Postfix's smtpd wrote count, parsed from their
 * start as fail2ban's postfix filter does: a syslog prefix, the tag
 * NAME[/SERVICE]/smtpd[PID] with NAME one of sasl_syslog_name, then a
 * message that begins with the warning.  A HELO that quotes the warning
 * lands in the middle of a reject line, another program's line has
 * another tag: neither counts.
 */

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

static bool mech_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* @n digits at @s: what follows them, or NULL. */
static const char *digits(const char *s, int n)
{
	for (; n > 0; n--, s++)
		if (!is_digit(*s))
			return NULL;
	return s;
}

static const char *expect(const char *s, char c)
{
	return s && *s == c ? s + 1 : NULL;
}

/* ".123456", optional. */
static const char *fraction(const char *s)
{
	if (!s || *s != '.')
		return s;
	if (!is_digit(*++s))
		return NULL;
	while (is_digit(*s))
		s++;
	return s;
}

/* "hh:mm:ss" and an optional fraction. */
static const char *clock(const char *s)
{
	s = expect(digits(s, 2), ':');
	s = s ? expect(digits(s, 2), ':') : NULL;
	return s ? fraction(digits(s, 2)) : NULL;
}

/* RFC 3164 "Dec  5 14:09:01" (Postfix's maillog_file adds a fraction). */
static const char *bsd_time(const char *s)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	int i;

	for (i = 0; i < 12; i++)
		if (!strncmp(s, months + 3 * i, 3))
			break;
	if (i == 12 || s[3] != ' ')
		return NULL;
	s += 4;
	s = *s == ' ' ? digits(s + 1, 1) : digits(s, 2);
	s = expect(s, ' ');
	return s ? clock(s) : NULL;
}

/*
 * RFC 3339 "2026-12-05T14:09:01.123456+01:00" (rsyslog's high-precision
 * format, RFC 5424), and journalctl --output=short-iso's "+0100".
 */
static const char *iso_time(const char *s)
{
	s = expect(digits(s, 4), '-');
	s = s ? expect(digits(s, 2), '-') : NULL;
	s = s ? expect(digits(s, 2), 'T') : NULL;
	s = s ? clock(s) : NULL;
	if (!s)
		return NULL;
	if (*s == 'Z')
		return s + 1;
	if (*s != '+' && *s != '-')
		return NULL;
	s = digits(s + 1, 2);
	if (s && *s == ':')
		s++;
	return s ? digits(s, 2) : NULL;
}

/* A field up to the next space, and the space. */
static const char *field(const char *s, const char **end)
{
	const char *f = s;

	while (*s > ' ' && *s != 0x7f)
		s++;
	if (s == f || *s != ' ')
		return NULL;
	*end = s;
	return s + 1;
}

/* NAME[/SERVICE]/smtpd, NAME one of the space-separated @names. */
static bool smtpd_ident(const char *id, size_t len, const char *names)
{
	const char *n, *e, *rest, *p;
	size_t nl, rl;

	for (n = names; *n; n = *e ? e + 1 : e) {
		for (e = n; *e && *e != ' '; e++)
			;
		nl = e - n;
		if (!nl || nl >= len || memcmp(id, n, nl) || id[nl] != '/')
			continue;
		rest = id + nl + 1;
		rl = len - nl - 1;
		for (p = rest; p < rest + rl && name_char(*p); p++)
			;
		if (p > rest && p < rest + rl && *p == '/')
			p++;
		else
			p = rest;
		if (rest + rl - p == 5 && !memcmp(p, "smtpd", 5))
			return true;
	}
	return false;
}

/* "IDENT[PID]: " after an RFC 3164 header: the message, or NULL. */
static const char *tag(const char *s, const char *names)
{
	const char *id = s, *lb;

	while (name_char(*s) || *s == '/')
		s++;
	if (*s != '[' || !smtpd_ident(id, s - id, names))
		return NULL;
	lb = s + 1;
	for (s = lb; is_digit(*s); s++)
		;
	if (s == lb || strncmp(s, "]: ", 3))
		return NULL;
	return s + 3;
}

/* RFC 5424 after "<PRI>1 ": TIME HOST APP PROCID MSGID SD [BOM]MSG. */
static const char *rfc5424(const char *s, const char *names)
{
	const char *app, *end;

	if (*s == '-' && s[1] == ' ')
		s += 2;
	else
		s = expect(iso_time(s), ' ');
	s = s ? field(s, &end) : NULL;			/* HOST */
	app = s;
	s = s ? field(s, &end) : NULL;			/* APP-NAME */
	if (!s || !smtpd_ident(app, end - app, names))
		return NULL;
	app = s;
	s = field(s, &end);				/* PROCID */
	if (!s || digits(app, end - app) != end)
		return NULL;
	s = field(s, &end);				/* MSGID */
	if (s && *s == '-')				/* STRUCTURED-DATA */
		s++;
	else
		while (s && *s == '[') {
			for (s++; *s && *s != ']'; s++)
				if (*s == '\\' && s[1])
					s++;
			s = expect(s, ']');
		}
	s = expect(s, ' ');
	if (s && !strncmp(s, "\xef\xbb\xbf", 3))
		s += 3;
	return s;
}

/* The message of a line that Postfix's smtpd wrote, or NULL. */
static const char *smtpd_message(const char *s, const char *names)
{
	const char *t, *end;

	if (*s == '<') {
		for (t = ++s; is_digit(*s) && s - t < 3; s++)
			;
		if (s == t || *s++ != '>')
			return NULL;
		if (s[0] == '1' && s[1] == ' ')
			return rfc5424(s + 2, names);
	}
	t = is_digit(*s) ? iso_time(s) : bsd_time(s);
	s = expect(t, ' ');
	s = s ? field(s, &end) : NULL;			/* HOST */
	return s ? tag(s, names) : NULL;
}

/* "warning: NAME[ADDR]: SASL MECH authentication failed[: ...]" */
static int parse_failure(const char *s, struct sg_prefix *addr)
{
	char text[INET6_ADDRSTRLEN + 1];
	const char *lb, *rb, *m;

	if (strncmp(s, "warning: ", 9))
		return 0;
	s += 9;
	for (lb = s; name_char(*lb); lb++)
		;
	if (lb == s || *lb != '[')
		return 0;
	rb = strchr(lb, ']');
	if (!rb || rb - lb - 1 <= 0 || (size_t)(rb - lb - 1) >= sizeof(text))
		return 0;
	if (strncmp(rb, "]: SASL ", 8))
		return 0;
	for (m = rb + 8; mech_char(*m); m++)
		;
	if (m == rb + 8 || strncmp(m, " authentication failed", 22) ||
	    (m[22] && m[22] != ':'))
		return 0;
	memcpy(text, lb + 1, rb - lb - 1);
	text[rb - lb - 1] = '\0';
	return sg_addr_parse(text, addr, NULL, 0) ? 0 : 1;
}

int sasl_parse_line(const char *line, const char *names, struct sg_prefix *addr)
{
	const char *msg = smtpd_message(line, names ? names : SASL_SYSLOG_NAME);

	return msg ? parse_failure(msg, addr) : 0;
}

/* ---- counting ------------------------------------------------------------------ */

/* Room for a new source: forget those quiet for a window, else the
 * quietest.  Runs only when the table is full. */
static void make_room(struct sasl *s, uint64_t now)
{
	struct sasl_src *src, *oldest = NULL;
	size_t i;

	for (i = s->srcs.n; i-- > 0;) {
		src = ptab_at(&s->srcs, i);
		if (!src->n || src->t[src->n - 1] + s->window <= now)
			ptab_del(&s->srcs, src);
	}
	if (s->srcs.n < SASL_MAX_SOURCES)
		return;
	for (i = 0; i < s->srcs.n; i++) {
		src = ptab_at(&s->srcs, i);
		if (!oldest || src->t[src->n - 1] < oldest->t[oldest->n - 1])
			oldest = src;
	}
	ptab_del(&s->srcs, oldest);
}

bool sasl_count(struct sasl *s, const struct sg_prefix *addr, uint64_t now,
		struct sg_prefix *prefix)
{
	struct sasl_src *src;
	uint32_t drop = 0;

	*prefix = *addr;
	prefix->len = addr->family == AF_INET ? s->prefix4 : s->prefix6;
	sg_prefix_mask(prefix);
	s->failures++;
	src = ptab_find(&s->srcs, prefix);
	if (!src) {
		if (s->srcs.n >= SASL_MAX_SOURCES)
			make_room(s, now);
		src = ptab_get(&s->srcs, prefix, NULL);
		if (!src)
			return false;
	}
	/*
	 * Chronological, so the expired ones are at the front; fewer than
	 * threshold are kept (reaching it ends the source's record).
	 */
	while (drop < src->n && src->t[drop] + s->window <= now)
		drop++;
	memmove(src->t, src->t + drop, (src->n - drop) * sizeof(src->t[0]));
	src->n -= drop;
	src->t[src->n++] = now;
	if (src->n < s->threshold)
		return false;
	s->hits++;
	ptab_del(&s->srcs, src);
	return true;
}

/* ---- following the file ---------------------------------------------------------- */

void sasl_init(struct sasl *s)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->ino_fd = -1;
	s->child = -1;
	s->threshold = 5;
	s->window = 600;
	s->prefix4 = 32;
	s->prefix6 = 64;
	ptab_init(&s->srcs, sizeof(struct sasl_src));
}

static bool is_journal(const struct sasl *s)
{
	return s->spec && !strcmp(s->spec, "journal");
}

static int open_file(struct sasl *s, bool from_start)
{
	struct stat st;

	s->fd = open(s->spec, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (s->fd < 0)
		return -errno;
	if (fstat(s->fd, &st)) {
		close(s->fd);
		s->fd = -1;
		return -errno;
	}
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->off = from_start ? 0 : st.st_size;
	lseek(s->fd, s->off, SEEK_SET);
	s->blen = 0;
	return 0;
}

static void watch_dir(struct sasl *s)
{
	char *copy = strdup(s->spec);

	s->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (copy && s->ino_fd >= 0 &&
	    inotify_add_watch(s->ino_fd, dirname(copy),
			      IN_MODIFY | IN_CREATE | IN_MOVED_TO |
			      IN_CLOSE_WRITE | IN_ATTRIB) < 0) {
		close(s->ino_fd);
		s->ino_fd = -1;
	}
	free(copy);
}

/*
 * A root daemon runs journalctl by its absolute path, never through PATH:
 * /usr/bin on a merged /usr (Debian 12 and later), /bin on older systems.
 */
static const char *const journalctl_paths[] = {
	"/usr/bin/journalctl", "/bin/journalctl",
};

static const char *find_journalctl(const struct sasl *s)
{
	size_t i;

	if (s->journalctl)
		return access(s->journalctl, X_OK) ? NULL : s->journalctl;
	for (i = 0; i < ARRAY_SIZE(journalctl_paths); i++)
		if (!access(journalctl_paths[i], X_OK))
			return journalctl_paths[i];
	return NULL;
}

/*
 * short-iso: each entry with its SYSLOG_IDENTIFIER and PID, so that the
 * same parser as for files keeps only smtpd's lines.
 */
static int start_journal(struct sasl *s)
{
	const char *path = find_journalctl(s);
	int p[2];
	pid_t pid;

	if (!path)
		return -ENOENT;
	if (pipe2(p, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (pid == 0) {
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		dup2(p[1], 1);
		execl(path, "journalctl", "--follow", "--lines=0", "--quiet",
		      "--output=short-iso", "SYSLOG_FACILITY=2", NULL);
		_exit(127);
	}
	close(p[1]);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	s->fd = p[0];
	s->child = pid;
	s->blen = 0;
	return 0;
}

int sasl_open(struct sasl *s, const char *spec, bool from_start)
{
	int ret;

	s->spec = strdup(spec);
	if (!s->spec)
		return -ENOMEM;
	if (is_journal(s)) {
		ret = start_journal(s);
		if (ret == -ENOENT)
			log_msg(LOG_ERR, "sasl_log: journal: no journalctl at %s; "
				"install systemd's journalctl or give sasl_log "
				"a file", s->journalctl ? s->journalctl :
				"/usr/bin/journalctl or /bin/journalctl");
		else if (ret)
			log_msg(LOG_ERR, "sasl_log: cannot start journalctl: %s",
				strerror(-ret));
		return ret;
	}
	watch_dir(s);
	ret = open_file(s, from_start);
	if (ret)
		log_msg(LOG_WARNING, "sasl_log: cannot open %s (%s); will retry",
			s->spec, strerror(-ret));
	return 0;
}

void sasl_close(struct sasl *s)
{
	if (s->fd >= 0)
		close(s->fd);
	if (s->ino_fd >= 0)
		close(s->ino_fd);
	if (s->child > 0) {
		kill(s->child, SIGTERM);
		waitpid(s->child, NULL, 0);
	}
	free(s->spec);
	ptab_free(&s->srcs);
	s->spec = NULL;
	s->fd = s->ino_fd = -1;
	s->child = -1;
}

static void one_line(struct sasl *s, char *line, uint64_t now,
		     sasl_hit_fn fn, void *arg)
{
	struct sg_prefix addr, prefix;

	s->lines++;
	if (!sasl_parse_line(line, s->names, &addr))
		return;
	if (sasl_count(s, &addr, now, &prefix))
		fn(&prefix, s->threshold, arg);
}

/* Splits the buffer into lines; a line longer than it is dropped. */
static void split(struct sasl *s, uint64_t now, sasl_hit_fn fn, void *arg)
{
	char *start = s->buf, *nl;
	size_t left = s->blen;

	while ((nl = memchr(start, '\n', left))) {
		*nl = '\0';
		one_line(s, start, now, fn, arg);
		left -= nl + 1 - start;
		start = nl + 1;
	}
	if (left == sizeof(s->buf))
		left = 0;
	memmove(s->buf, start, left);
	s->blen = left;
}

/* Reads what the descriptor has now; 0 at EOF, 1 if more may come. */
static int drain(struct sasl *s, uint64_t now, sasl_hit_fn fn, void *arg)
{
	ssize_t r;

	for (;;) {
		r = read(s->fd, s->buf + s->blen, sizeof(s->buf) - s->blen);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return errno == EAGAIN ? 1 : -errno;
		if (r == 0)
			return 0;
		s->off += r;
		s->blen += r;
		split(s, now, fn, arg);
	}
}

/* sasl_tick() reaps the child and starts another one later. */
static void journal_died(struct sasl *s, int64_t now_ms)
{
	close(s->fd);
	s->fd = -1;
	if (s->child > 0)
		kill(s->child, SIGTERM);
	s->restart_at = now_ms + JOURNAL_RESTART_MS;
	log_msg(LOG_WARNING, "sasl_log: journalctl exited; restarting in %ds",
		JOURNAL_RESTART_MS / 1000);
}

void sasl_read(struct sasl *s, uint64_t now, sasl_hit_fn fn, void *arg)
{
	char ev[4096];

	if (s->ino_fd >= 0)
		while (read(s->ino_fd, ev, sizeof(ev)) > 0)
			;
	if (s->fd < 0)
		return;
	if (drain(s, now, fn, arg) <= 0 && is_journal(s))
		journal_died(s, now_ms());
}

/* tail -F: a new file under the name, or a shorter one. */
static void check_rotation(struct sasl *s, uint64_t now, sasl_hit_fn fn,
			   void *arg)
{
	struct stat st;

	if (stat(s->spec, &st))
		return;		/* gone for now: keep what we have */
	if (s->fd >= 0 && (st.st_dev != s->dev || st.st_ino != s->ino)) {
		drain(s, now, fn, arg);
		close(s->fd);
		s->fd = -1;
	}
	if (s->fd < 0) {
		if (!open_file(s, true))
			log_msg(LOG_INFO, "sasl_log: following %s", s->spec);
		return;
	}
	if (st.st_size < s->off) {
		lseek(s->fd, 0, SEEK_SET);
		s->off = 0;
		s->blen = 0;
	}
}

void sasl_tick(struct sasl *s, int64_t now_ms, uint64_t now,
	       sasl_hit_fn fn, void *arg)
{
	if (!s->spec)
		return;
	if (is_journal(s)) {
		if (s->child > 0 && waitpid(s->child, NULL, WNOHANG) == s->child)
			s->child = -1;	/* the pipe's EOF does the rest */
		if (s->fd < 0 && s->child < 0 && now_ms >= s->restart_at &&
		    start_journal(s))
			s->restart_at = now_ms + JOURNAL_RESTART_MS;
		return;
	}
	check_rotation(s, now, fn, arg);
	sasl_read(s, now, fn, arg);
}

int sasl_pollfds(const struct sasl *s, int *fds)
{
	int n = 0;

	/* A regular file always polls readable: inotify says when to read. */
	if (is_journal(s) && s->fd >= 0)
		fds[n++] = s->fd;
	if (s->ino_fd >= 0)
		fds[n++] = s->ino_fd;
	return n;
}
