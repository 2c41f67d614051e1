// SPDX-License-Identifier: GPL-2.0
/*
 * The trap (seed 001's "armadilha", OpenBSD spamd's idea): with policy
 * action "trap", the module DNATs the port-25 connections of flagged hosts
 * and of hosts banned with scope "smtp" to this listener on the gateway.
 * It speaks SMTP slowly, never relays and never reads a message body:
 *
 *   220 banner, every reply     TRAP_PIECE bytes at a time, trap_delay
 *                               apart (0: at once)
 *   HELO, EHLO                  250, the name recorded
 *   MAIL                        250, the sender recorded
 *   RCPT, DATA, BDAT, AUTH,     trap_message (4xx or 5xx, wrapped into a
 *   HELP                        multi-line reply): what happened and what
 *                               to do; recipients recorded
 *   RSET, NOOP                  250
 *   QUIT                        221, then close
 *   a line over 512 bytes       500, the line dropped (RFC 5321 4.5.3.1.4)
 *
 * A session reads nothing while a reply is going out (pipelined commands
 * wait in the socket: backpressure, not memory) and ends after
 * trap_session_timeout whatever it does, with a 421.  It ends with one
 * key=value line, the evidence:
 *
 *   action=trap host=192.0.2.66 dst=203.0.113.25 dport=25 helo=bot
 *     mail="<a@example.net>" rcpt="<b@example.org>" rcpts=1 commands=5
 *     pregreet=no overlong=0 end=quit duration=14.2s
 *
 * dst is the address the host meant to reach (SO_ORIGINAL_DST): the DNAT
 * hides it from the socket.  pregreet: the client spoke before the banner
 * was out, as bots that do not wait do.
 *
 * Bounds: a session is a fixed struct trap_sess (no growth with input);
 * at most trap_max_sessions of them.  Connections beyond the limit are
 * accepted and closed at once with a 421 ("too many connections"), so a
 * client learns at once instead of waiting on a full backlog; they are
 * counted.  Connections from outside the policy's internal prefixes are
 * closed without a word: the listener is bound to every address of the
 * gateway, the trap is for internal hosts only.
 *
 * Everything runs in the daemon's poll loop: trap_pollfds() says what to
 * poll, trap_run() does what is due, trap_next_deadline() says when the
 * next tarpit step or time limit is.  A reload (trap_set, trap_listen)
 * leaves the sessions in progress alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6/ip6_tables.h>

#include "smtpgated.h"
#include "vec.h"

/* Timers due this close together are served in one wake-up. */
#define TRAP_SLACK_MS		10
/* Connections accepted per listener and wake-up: the others wait. */
#define TRAP_ACCEPT_BURST	64
/* Out of descriptors: the listeners rest this long. */
#define TRAP_ACCEPT_PAUSE_MS	200
/* A client that closed: what is left of its commands is read for the
 * evidence, this much at most. */
#define TRAP_DRAIN_MAX		8192
/* Reads of one session per wake-up, at most (TRAP_LINE_MAX bytes each). */
#define TRAP_READS_PER_WAKE	16
/* The width of trap_message's lines. */
#define TRAP_WRAP		72

enum trap_end {
	END_QUIT,
	END_CLOSED,
	END_TIMEOUT,
	END_ERROR,
	END_SHUTDOWN,
};

static const char *const end_names[] = {
	[END_QUIT] = "quit",
	[END_CLOSED] = "closed",
	[END_TIMEOUT] = "timeout",
	[END_ERROR] = "error",
	[END_SHUTDOWN] = "shutdown",
};

struct trap_sess {
	int fd;
	struct sg_prefix client, dst;
	uint16_t dport;
	int64_t start, deadline;	/* monotonic ms */
	int64_t next_send;		/* the next piece of out */
	bool banner;			/* out is the banner */
	bool quit;			/* close once out is sent */
	bool overlong;			/* dropping a line until its LF */
	bool pregreet;
	uint32_t commands, rcpts, overlongs;
	size_t inlen, outlen, outoff;
	char in[TRAP_LINE_MAX];
	char out[TRAP_REPLY_MAX];
	char helo[TRAP_EVIDENCE_HELO];
	char mail[TRAP_EVIDENCE_MAIL];
	char rcpt[TRAP_EVIDENCE_RCPT];
};

/* ---- settings ------------------------------------------------------------ */

void trap_init(struct trap *t)
{
	memset(t, 0, sizeof(*t));
	t->lfd[0] = t->lfd[1] = -1;
	t->delay_ms = TRAP_DEFAULT_DELAY_MS;
	t->max_sessions = TRAP_DEFAULT_MAX_SESSIONS;
	t->timeout = TRAP_DEFAULT_TIMEOUT;
	if (gethostname(t->hostname, sizeof(t->hostname) - 1) ||
	    !t->hostname[0])
		snprintf(t->hostname, sizeof(t->hostname), "localhost");
	trap_set_message(t, NULL);
}

/* Appends to the reply being built; what does not fit is left out. */
static void put(char *r, size_t *used, const char *s, size_t n)
{
	if (*used + n >= TRAP_REPLY_MAX)
		n = *used + 1 < TRAP_REPLY_MAX ? TRAP_REPLY_MAX - 1 - *used : 0;
	memcpy(r + *used, s, n);
	*used += n;
	r[*used] = '\0';
}

/*
 * "550 5.7.1 Some long text" as a multi-line reply of TRAP_WRAP columns,
 * "550-5.7.1 Some\r\n550 5.7.1 long text\r\n", the enhanced status code
 * (RFC 3463) repeated on every line when there is one.  The config checked
 * the text: a 4xx or 5xx code, printable ASCII, at most TRAP_MESSAGE_MAX
 * characters.
 */
void trap_set_message(struct trap *t, const char *msg)
{
	char head[24], *r = t->reply;
	const char *text, *w;
	size_t used = 0, last = 0, linelen = 0, hl, el, wl;

	if (!msg)
		msg = TRAP_DEFAULT_MESSAGE;
	text = msg + 3;
	while (*text == ' ')
		text++;
	el = strspn(text, "0123456789.");
	if (!(el && el < 12 && (text[el] == ' ' || !text[el]) &&
	      text[0] == msg[0] && text[1] == '.'))
		el = 0;
	/* "550-5.7.1 " (the '-' becomes ' ' on the last line) */
	hl = snprintf(head, sizeof(head), "%.3s-%.*s%s", msg, (int)el, text,
		      el ? " " : "");
	text += el;
	r[0] = '\0';
	for (w = text;; w += wl) {
		while (*w == ' ')
			w++;
		wl = strcspn(w, " ");
		if (!wl)
			break;
		if (linelen && linelen + 1 + wl > TRAP_WRAP) {
			put(r, &used, "\r\n", 2);
			linelen = 0;
		}
		if (!linelen) {
			last = used;
			put(r, &used, head, hl);
			linelen = hl;
		} else {
			put(r, &used, " ", 1);
			linelen++;
		}
		put(r, &used, w, wl);
		linelen += wl;
	}
	if (!linelen) {		/* no text: the code alone */
		last = used;
		put(r, &used, head, el ? hl - 1 : 3);
	}
	put(r, &used, "\r\n", 2);
	r[last + 3] = r[last + 3] == '-' ? ' ' : r[last + 3];
	/* A reply cut short must still end its line. */
	if (used < 2 || memcmp(r + used - 2, "\r\n", 2))
		memcpy(r + used - 2, "\r\n", 2);
	t->reply_len = used;
}

/*
 * A session needs a descriptor: raise the soft limit for the most the
 * trap may hold, with room for the rest of the daemon.
 */
static void trap_rlimit(uint32_t max)
{
	rlim_t need = (rlim_t)max + 2 + 128;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= need)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need ?
		      need : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur < need)
		log_msg(LOG_WARNING, "trap: %u sessions need %llu descriptors; "
			"the limit is %llu", max, (unsigned long long)need,
			(unsigned long long)rl.rlim_cur);
}

void trap_set(struct trap *t, const struct sgd_config *c)
{
	t->delay_ms = c->trap_delay;
	t->max_sessions = c->trap_max_sessions;
	t->timeout = c->trap_session_timeout;
	t->internal = c->pol.internal;
	trap_set_message(t, c->trap_message);
	trap_rlimit(t->max_sessions);
}

/* ---- listeners ----------------------------------------------------------- */

static int listen_on(int family, const char *addr, uint16_t port,
		     char *err, size_t len)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	const char *fam = family == AF_INET ? "IPv4" : "IPv6";
	int fd, one = 1, ret;

	ss.ss_family = family;
	if (family == AF_INET) {
		s4->sin_port = htons(port);
		s4->sin_addr.s_addr = htonl(INADDR_ANY);
		ret = addr ? inet_pton(AF_INET, addr, &s4->sin_addr) : 1;
	} else {
		s6->sin6_port = htons(port);
		s6->sin6_addr = in6addr_any;
		ret = addr ? inet_pton(AF_INET6, addr, &s6->sin6_addr) : 1;
	}
	if (ret != 1) {
		snprintf(err, len, "'%s' is not an %s address", addr, fam);
		return -EINVAL;
	}
	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    (family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one))) ||
	    bind(fd, (struct sockaddr *)&ss, family == AF_INET ?
		 sizeof(*s4) : sizeof(*s6)) ||
	    listen(fd, 511))
		goto fail;
	return fd;
fail:
	ret = -errno;
	snprintf(err, len, "cannot listen on %s port %u: %s", fam, port,
		 strerror(errno));
	if (fd >= 0)
		close(fd);
	return ret;
}

static uint16_t bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &sl))
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

void trap_unlisten(struct trap *t)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (t->lfd[i] >= 0)
			close(t->lfd[i]);
		t->lfd[i] = -1;
	}
	t->port = 0;
}

/*
 * New listeners replace the old ones only once both are open, so a port
 * that cannot be had leaves the running trap as it was.  Without IPv6 on
 * the host (any address asked for), the trap listens on IPv4 alone.
 */
int trap_listen(struct trap *t, uint16_t port, const char *addr4,
		const char *addr6, char *err, size_t len)
{
	int fd4, fd6, tries = 0;
	char err6[256];

	for (;;) {
		fd4 = listen_on(AF_INET, addr4, port, err, len);
		if (fd4 < 0)
			return fd4;
		fd6 = listen_on(AF_INET6, addr6, bound_port(fd4), err6,
				sizeof(err6));
		if (fd6 >= 0)
			break;
		/* An ephemeral port free for IPv4 may be taken for IPv6. */
		if (fd6 == -EADDRINUSE && !port && ++tries < 16) {
			close(fd4);
			continue;
		}
		if (!addr6 && (fd6 == -EAFNOSUPPORT || fd6 == -EADDRNOTAVAIL)) {
			log_msg(LOG_WARNING, "trap: %s; IPv4 only", err6);
			break;
		}
		close(fd4);
		snprintf(err, len, "%s", err6);
		return fd6;
	}
	trap_unlisten(t);
	t->lfd[0] = fd4;
	t->lfd[1] = fd6;
	t->port = bound_port(fd4);
	return t->port;
}

/* ---- sessions: output ---------------------------------------------------- */

static void sess_reply(struct trap_sess *s, const char *text, size_t len,
		       int64_t now)
{
	if (len > sizeof(s->out))
		len = sizeof(s->out);
	memcpy(s->out, text, len);
	s->outlen = len;
	s->outoff = 0;
	s->next_send = now;
}

static void __attribute__((format(printf, 3, 4)))
sess_replyf(struct trap_sess *s, int64_t now, const char *fmt, ...)
{
	char buf[TRAP_REPLY_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		sess_reply(s, buf, (size_t)n < sizeof(buf) ? (size_t)n :
			   sizeof(buf) - 1, now);
}

/* A last word (421) that must not wait: whatever the socket takes now. */
static void say_now(int fd, const char *text)
{
	ssize_t w = send(fd, text, strlen(text), MSG_DONTWAIT | MSG_NOSIGNAL);

	(void)w;
}

static bool sess_sending(const struct trap_sess *s)
{
	return s->outoff < s->outlen;
}

/* ---- sessions: evidence and end ------------------------------------------ */

/* Printable ASCII only, cut to fit: the log line stays one line. */
static void record(char *dst, size_t size, const char *src)
{
	size_t i;

	for (i = 0; src[i] && i + 1 < size; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?';
	dst[i] = '\0';
}

static void record_rcpt(struct trap_sess *s, const char *rcpt)
{
	size_t used = strlen(s->rcpt);

	if (used && used + 2 < sizeof(s->rcpt))
		s->rcpt[used++] = ',';
	if (used + 1 < sizeof(s->rcpt))
		record(s->rcpt + used, sizeof(s->rcpt) - used, rcpt);
}

static void sess_log(const struct trap_sess *s, enum trap_end why, int64_t now)
{
	int64_t ms = now - s->start;
	char buf[32];
	struct kv kv;

	kv_init(&kv);
	kv_str(&kv, "action", "trap");
	kv_prefix(&kv, "host", &s->client);
	kv_prefix(&kv, "dst", &s->dst);
	kv_uint(&kv, "dport", s->dport);
	kv_str(&kv, "helo", s->helo);
	kv_str(&kv, "mail", s->mail);
	kv_str(&kv, "rcpt", s->rcpt);
	kv_uint(&kv, "rcpts", s->rcpts);
	kv_uint(&kv, "commands", s->commands);
	kv_str(&kv, "pregreet", s->pregreet ? "yes" : "no");
	kv_uint(&kv, "overlong", s->overlongs);
	kv_str(&kv, "end", end_names[why]);
	snprintf(buf, sizeof(buf), "%lld.%llds", (long long)(ms / 1000),
		 (long long)(ms % 1000 / 100));
	kv_str(&kv, "duration", buf);
	log_kv(LOG_NOTICE, &kv);
}

/* Marks the session ended (fd -1); trap_run() compacts the table. */
static void sess_end(struct trap *t, struct trap_sess *s, enum trap_end why,
		     int64_t now)
{
	if (s->fd < 0)
		return;
	if (why == END_TIMEOUT) {
		char msg[128];

		snprintf(msg, sizeof(msg), "421 4.4.2 %s Error: timeout "
			 "exceeded\r\n", t->hostname);
		say_now(s->fd, msg);
		t->timeouts++;
	}
	sess_log(s, why, now);
	close(s->fd);
	s->fd = -1;
}

/* ---- sessions: commands -------------------------------------------------- */

/* The argument after "FROM:" / "TO:", blanks skipped; the whole rest when
 * the client wrote something else. */
static const char *path_arg(const char *arg, const char *kw)
{
	size_t n = strlen(kw);

	if (!strncasecmp(arg, kw, n))
		arg += n;
	while (*arg == ' ' || *arg == '\t')
		arg++;
	return arg;
}

static bool verb_is(const char *verb, const char *name)
{
	return !strcasecmp(verb, name);
}

/*
 * One command line (no CRLF).  @talk: reply; otherwise the client is gone
 * and the line is read for the evidence only.
 */
static void sess_command(struct trap *t, struct trap_sess *s, char *line,
			 bool talk, int64_t now)
{
	char verb[12];
	const char *arg;
	size_t vl;

	s->commands++;
	vl = strcspn(line, " \t");
	arg = line + vl;
	while (*arg == ' ' || *arg == '\t')
		arg++;
	if (vl >= sizeof(verb))
		vl = sizeof(verb) - 1;
	memcpy(verb, line, vl);
	verb[vl] = '\0';

	if (verb_is(verb, "HELO") || verb_is(verb, "EHLO")) {
		if (!s->helo[0])
			record(s->helo, sizeof(s->helo), arg);
		if (talk)
			sess_replyf(s, now, "250 %s\r\n", t->hostname);
	} else if (verb_is(verb, "MAIL")) {
		if (!s->mail[0])
			record(s->mail, sizeof(s->mail), path_arg(arg, "FROM:"));
		if (talk)
			sess_replyf(s, now, "250 2.1.0 Ok\r\n");
	} else if (verb_is(verb, "RCPT")) {
		s->rcpts++;
		record_rcpt(s, path_arg(arg, "TO:"));
		if (talk)
			sess_reply(s, t->reply, t->reply_len, now);
	} else if (verb_is(verb, "DATA") || verb_is(verb, "BDAT") ||
		   verb_is(verb, "AUTH") || verb_is(verb, "HELP")) {
		if (talk)
			sess_reply(s, t->reply, t->reply_len, now);
	} else if (verb_is(verb, "RSET") || verb_is(verb, "NOOP")) {
		if (talk)
			sess_replyf(s, now, "250 2.0.0 Ok\r\n");
	} else if (verb_is(verb, "QUIT")) {
		s->quit = true;
		if (talk)
			sess_replyf(s, now, "221 2.0.0 Bye\r\n");
	} else if (verb_is(verb, "STARTTLS")) {
		if (talk)
			sess_replyf(s, now, "454 4.7.0 TLS not available\r\n");
	} else if (verb_is(verb, "VRFY") || verb_is(verb, "EXPN")) {
		if (talk)
			sess_replyf(s, now, "502 5.5.1 %s command is disabled\r\n",
				    verb);
	} else if (talk) {
		sess_replyf(s, now, "500 5.5.2 Error: command not recognized\r\n");
	}
}

/*
 * Takes the next complete line out of the input and handles it; false
 * when there is none.  A full buffer without a line end is an over-long
 * line: dropped up to its LF, then answered with a 500.
 */
static bool sess_next_line(struct trap *t, struct trap_sess *s, bool talk,
			   int64_t now)
{
	char *lf = memchr(s->in, '\n', s->inlen);
	size_t n;

	if (!lf) {
		if (s->inlen == sizeof(s->in)) {
			s->overlong = true;
			s->inlen = 0;
		}
		return false;
	}
	n = lf - s->in + 1;
	if (s->overlong) {
		s->overlong = false;
		s->overlongs++;
		s->commands++;
		if (talk)
			sess_replyf(s, now, "500 5.5.2 Error: line too long\r\n");
	} else if (memchr(s->in, '\0', n - 1)) {
		/* NUL bytes in a command: a garbled line. */
		s->commands++;
		if (talk)
			sess_replyf(s, now, "500 5.5.2 Error: bad syntax\r\n");
	} else {
		*lf = '\0';
		if (lf > s->in && lf[-1] == '\r')
			lf[-1] = '\0';
		sess_command(t, s, s->in, talk, now);
	}
	memmove(s->in, s->in + n, s->inlen - n);
	s->inlen -= n;
	return true;
}

/* Reads what the socket has; 0 at EOF, <0 on error, or bytes read. */
static ssize_t sess_read(struct trap_sess *s)
{
	ssize_t r;

	do
		r = recv(s->fd, s->in + s->inlen, sizeof(s->in) - s->inlen,
			 MSG_DONTWAIT);
	while (r < 0 && errno == EINTR);
	if (r > 0) {
		/* Only a client gone mid-banner gets here that early. */
		if (s->banner)
			s->pregreet = true;
		if (s->overlong) {
			/* Still inside the long line: keep from its LF on. */
			char *lf = memchr(s->in + s->inlen, '\n', r);

			if (!lf)
				return r;
			memmove(s->in, lf, s->in + s->inlen + r - lf);
			s->inlen = s->in + s->inlen + r - lf;
			/* The LF ends the long line: sess_next_line()
			 * sees it as one (empty) line and answers 500. */
			return r;
		}
		s->inlen += r;
	}
	return r;
}

/* The client is gone: what it sent is read, for the evidence, then the end. */
static void sess_drain(struct trap *t, struct trap_sess *s, int64_t now)
{
	size_t total = 0;
	ssize_t r;

	for (;;) {
		while (sess_next_line(t, s, false, now))
			;
		if (total >= TRAP_DRAIN_MAX)
			break;
		r = sess_read(s);
		if (r <= 0)
			break;
		total += r;
	}
	sess_end(t, s, END_CLOSED, now);
}

/*
 * No reply going out: answer the next line, or wait for one.  A client
 * streaming a line without end is read TRAP_READS_PER_WAKE times, then
 * the others get their turn.
 */
static void sess_input(struct trap *t, struct trap_sess *s, int64_t now)
{
	unsigned int reads = 0;
	ssize_t r;

	while (!sess_sending(s) && s->fd >= 0 && !s->quit) {
		if (sess_next_line(t, s, true, now))
			continue;
		if (reads++ == TRAP_READS_PER_WAKE)
			return;
		r = sess_read(s);
		if (r == 0) {
			sess_drain(t, s, now);
			return;
		}
		if (r < 0) {
			if (errno == ECONNRESET || errno == EPIPE)
				sess_end(t, s, END_CLOSED, now);
			else if (errno != EAGAIN && errno != EWOULDBLOCK)
				sess_end(t, s, END_ERROR, now);
			return;
		}
	}
}

/* ---- sessions: the tarpit ------------------------------------------------ */

/* Did the client speak before the whole banner was out? */
static void check_pregreet(struct trap_sess *s)
{
	char c;

	if (recv(s->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 1)
		s->pregreet = true;
}

static void sess_send(struct trap *t, struct trap_sess *s, int64_t now)
{
	size_t k = s->outlen - s->outoff;
	ssize_t w;

	if (t->delay_ms && k > TRAP_PIECE)
		k = TRAP_PIECE;
	if (s->banner && s->outoff + k == s->outlen)
		check_pregreet(s);
	w = send(s->fd, s->out + s->outoff, k, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (w < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
			/* The client does not read: it waits too. */
			s->next_send = now + (t->delay_ms ? t->delay_ms : 100);
			return;
		}
		sess_end(t, s, errno == EPIPE || errno == ECONNRESET ?
			 END_CLOSED : END_ERROR, now);
		return;
	}
	s->outoff += w;
	if (sess_sending(s)) {
		s->next_send = now + t->delay_ms;
		return;
	}
	s->outoff = s->outlen = 0;
	s->banner = false;
	if (s->quit) {
		sess_end(t, s, END_QUIT, now);
		return;
	}
	sess_input(t, s, now);
}

/* ---- accepting ----------------------------------------------------------- */

static void sockaddr_prefix(const struct sockaddr_storage *ss,
			    struct sg_prefix *p, uint16_t *port)
{
	memset(p, 0, sizeof(*p));
	p->family = ss->ss_family;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)ss;

		p->addr.v4 = s4->sin_addr;
		p->len = 32;
		if (port)
			*port = ntohs(s4->sin_port);
	} else {
		const struct sockaddr_in6 *s6 = (const void *)ss;

		p->addr.v6 = s6->sin6_addr;
		p->len = 128;
		if (port)
			*port = ntohs(s6->sin6_port);
	}
}

/* Where the client meant to go, before the DNAT; the socket's own address
 * when the connection was not NATed (or conntrack does not know it). */
static void original_dst(int fd, int family, struct sg_prefix *dst,
			 uint16_t *port)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl = sizeof(ss);
	int ret;

	if (family == AF_INET)
		ret = getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &ss, &sl);
	else
		ret = getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &ss, &sl);
	if (ret || ss.ss_family != family) {
		sl = sizeof(ss);
		if (getsockname(fd, (struct sockaddr *)&ss, &sl))
			ss.ss_family = family;
	}
	sockaddr_prefix(&ss, dst, port);
}

static bool internal_host(const struct trap *t, const struct sg_prefix *p)
{
	unsigned int i;

	if (!t->internal.n)
		return true;
	for (i = 0; i < t->internal.n; i++)
		if (sg_prefix_contains(&t->internal.v[i], p))
			return true;
	return false;
}

static int sess_add(struct trap *t, struct trap_sess *s)
{
	struct trap_sess **slot = vec_push(&t->s, &t->n, &t->cap,
					   sizeof(*slot));

	if (!slot)
		return -ENOMEM;
	*slot = s;
	return 0;
}

static void trap_accept(struct trap *t, int lfd, int64_t now)
{
	struct sockaddr_storage ss;
	struct trap_sess *s;
	struct sg_prefix peer;
	socklen_t sl;
	int fd, i;
	char msg[128];

	for (i = 0; i < TRAP_ACCEPT_BURST; i++) {
		sl = sizeof(ss);
		fd = accept4(lfd, (struct sockaddr *)&ss, &sl,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				if (!t->accept_pause)
					log_msg(LOG_ERR, "trap: cannot accept: %s",
						strerror(errno));
				t->accept_pause = now + TRAP_ACCEPT_PAUSE_MS;
			}
			return;
		}
		sockaddr_prefix(&ss, &peer, NULL);
		if (!internal_host(t, &peer)) {
			t->foreign++;
			close(fd);
			continue;
		}
		if (t->n >= t->max_sessions) {
			t->refused++;
			snprintf(msg, sizeof(msg), "421 4.7.0 %s Error: too many "
				 "connections; try again later\r\n", t->hostname);
			say_now(fd, msg);
			close(fd);
			continue;
		}
		s = calloc(1, sizeof(*s));
		if (!s || sess_add(t, s)) {
			free(s);
			close(fd);
			t->refused++;
			continue;
		}
		s->fd = fd;
		s->client = peer;
		original_dst(fd, ss.ss_family, &s->dst, &s->dport);
		s->start = now;
		s->deadline = now + (int64_t)t->timeout * 1000;
		s->banner = true;
		sess_replyf(s, now, "220 %s ESMTP\r\n", t->hostname);
		t->sessions++;
		sess_send(t, s, now);
	}
}

/* ---- the loop's side ----------------------------------------------------- */

size_t trap_nfds(const struct trap *t)
{
	return 2 + t->n;
}

size_t trap_pollfds(const struct trap *t, struct pollfd *pfd, size_t max,
		    int64_t now)
{
	size_t i, n = 0;
	bool paused = t->accept_pause && now < t->accept_pause;

	if (max < trap_nfds(t))
		return 0;
	for (i = 0; i < 2; i++)
		pfd[n++] = (struct pollfd){
			.fd = paused ? -1 : t->lfd[i], .events = POLLIN };
	for (i = 0; i < t->n; i++) {
		const struct trap_sess *s = t->s[i];

		/* Sending: the tarpit's clock, not the socket, says when;
		 * a client that goes away meanwhile frees its place. */
		pfd[n++] = (struct pollfd){ .fd = s->fd,
			.events = sess_sending(s) ? POLLRDHUP : POLLIN };
	}
	return n;
}

int64_t trap_next_deadline(const struct trap *t)
{
	int64_t next = -1, d;
	size_t i;

	if (t->accept_pause)
		next = t->accept_pause;
	for (i = 0; i < t->n; i++) {
		const struct trap_sess *s = t->s[i];

		d = s->deadline;
		if (sess_sending(s) && s->next_send < d)
			d = s->next_send;
		if (next < 0 || d < next)
			next = d;
	}
	return next;
}

/* Ended sessions out of the table, the order of the others kept. */
static void trap_compact(struct trap *t)
{
	size_t i, j = 0;

	for (i = 0; i < t->n; i++) {
		if (t->s[i]->fd < 0)
			free(t->s[i]);
		else
			t->s[j++] = t->s[i];
	}
	t->n = j;
	/* The table shrinks with a burst's end: memory follows the load. */
	if (t->cap > 64 && t->n < t->cap / 4) {
		struct trap_sess **v = realloc(t->s, t->cap / 2 * sizeof(*v));

		if (v) {
			t->s = v;
			t->cap /= 2;
		}
	}
}

void trap_run(struct trap *t, const struct pollfd *pfd, size_t n,
	      int64_t now)
{
	size_t i, nsess = t->n;
	int64_t due = now + TRAP_SLACK_MS;

	if (t->accept_pause && now >= t->accept_pause)
		t->accept_pause = 0;
	/* The sessions polled: pfd[2 + i] is t->s[i] (same order). */
	for (i = 0; i < nsess; i++) {
		struct trap_sess *s = t->s[i];
		short ev = 2 + i < n && pfd[2 + i].fd == s->fd ?
			   pfd[2 + i].revents : 0;

		if (s->fd < 0)
			continue;
		if (now >= s->deadline) {
			sess_end(t, s, END_TIMEOUT, now);
			continue;
		}
		if (ev & POLLNVAL) {
			sess_end(t, s, END_ERROR, now);
			continue;
		}
		if (sess_sending(s)) {
			/* A reset (POLLERR) still leaves what came before
			 * it readable. */
			if (ev & (POLLRDHUP | POLLHUP | POLLERR)) {
				sess_drain(t, s, now);
				continue;
			}
			if (s->next_send <= due)
				sess_send(t, s, now);
		} else if (ev & (POLLIN | POLLHUP | POLLRDHUP | POLLERR)) {
			sess_input(t, s, now);
		}
	}
	for (i = 0; i < 2 && i < n; i++)
		if (t->lfd[i] >= 0 && pfd[i].fd == t->lfd[i] &&
		    (pfd[i].revents & POLLIN) && !t->accept_pause)
			trap_accept(t, t->lfd[i], now);
	trap_compact(t);
}

void trap_close(struct trap *t)
{
	size_t i;
	int64_t now = now_ms();

	for (i = 0; i < t->n; i++)
		sess_end(t, t->s[i], END_SHUTDOWN, now);
	trap_compact(t);
	free(t->s);
	t->s = NULL;
	t->n = t->cap = 0;
	trap_unlisten(t);
}

/*
 * Follows @c: the settings, and listeners on pol.trap_port (none when it
 * is not set).  -1 when the port cannot be had (logged): the listeners
 * stay as they were, the settings are not applied.
 */
int trap_configure(struct trap *t, const struct sgd_config *c)
{
	uint16_t port = c->pol.has & SGNL_POLICY_HAS(SMTPGATE_A_POLICY_TRAP_PORT) ?
			c->pol.trap_port : 0;
	char err[256];

	if (port != t->port) {
		if (!port) {
			trap_unlisten(t);
			log_msg(LOG_INFO, "trap: not listening any more");
		} else if (trap_listen(t, port, NULL, NULL, err,
				       sizeof(err)) < 0) {
			log_msg(LOG_ERR, "trap: %s", err);
			return -1;
		} else {
			log_msg(LOG_INFO, "trap: listening on port %u%s", port,
				t->lfd[1] < 0 ? " (IPv4 only)" : "");
		}
	}
	trap_set(t, c);
	return 0;
}
