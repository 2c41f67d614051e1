// SPDX-License-Identifier: GPL-2.0
/*
 * The trap (daemon/trap.c) spoken to as a spambot would: a server thread
 * runs it as smtpgated's poll loop does, on 127.0.0.1 and ::1 on an
 * ephemeral port, and each test dials it.  The banner, the dialogue and
 * the configured text, the evidence line, over-long lines, pipelining,
 * pregreeting, the tarpit's pace, the session time limit, the session
 * limit, foreign clients, a reload under way, the config keys, and memory
 * that does not grow with input or sessions.
 */
#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "kselftest_harness.h"
#include "smtpgated.h"

#define MSG_TEXT	"550 5.7.1 Your computer sends spam and has been " \
			"blocked. Use port 587 with your password, and call " \
			"the helpdesk at 555-0100."
/* MSG_TEXT as the trap wraps it at 72 columns. */
#define MSG_REPLY	"550-5.7.1 Your computer sends spam and has been blocked. " \
			"Use port 587\r\n" \
			"550 5.7.1 with your password, and call the helpdesk at " \
			"555-0100.\r\n"

/* ---- the server: the trap in a thread, as in smtpgated's loop ------------ */

struct server {
	struct sgd_config c;
	struct trap t;
	uint16_t port;
	bool v6;
	pthread_t th;
	pthread_mutex_t mu;
	volatile bool stop;
	char log[262144];
	size_t loglen;
	int lines;
};

static void sink(int prio, const char *line, void *arg)
{
	struct server *s = arg;

	/* Called from trap_run(), with s->mu held. */
	s->loglen += snprintf(s->log + s->loglen, sizeof(s->log) - s->loglen,
			      "%s\n", line);
	if (s->loglen >= sizeof(s->log))
		s->loglen = sizeof(s->log) - 1;
	s->lines++;
}

static void *serve(void *arg)
{
	struct server *s = arg;
	struct pollfd *pfd = NULL;
	size_t cap = 0, n;
	int64_t next, now;
	int timeout;

	while (!s->stop) {
		pthread_mutex_lock(&s->mu);
		if (trap_nfds(&s->t) > cap) {
			cap = trap_nfds(&s->t) * 2;
			pfd = realloc(pfd, cap * sizeof(*pfd));
		}
		now = now_ms();
		n = trap_pollfds(&s->t, pfd, cap, now);
		next = trap_next_deadline(&s->t);
		pthread_mutex_unlock(&s->mu);
		timeout = 20;
		if (next >= 0 && next - now < timeout)
			timeout = next > now ? (int)(next - now) : 0;
		poll(pfd, n, timeout);
		pthread_mutex_lock(&s->mu);
		trap_run(&s->t, pfd, n, now_ms());
		pthread_mutex_unlock(&s->mu);
	}
	free(pfd);
	return NULL;
}

static int server_start(struct server *s, const char *conf)
{
	char err[256];
	int ret;

	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	config_init(&s->c);
	if (config_parse(&s->c, "trap.conf", conf, strlen(conf), NULL, NULL))
		return -1;
	log_set_sink(sink, s);
	trap_init(&s->t);
	trap_set(&s->t, &s->c);
	ret = trap_listen(&s->t, 0, "127.0.0.1", "::1", err, sizeof(err));
	s->v6 = ret > 0;
	if (ret < 0)	/* no IPv6 here */
		ret = trap_listen(&s->t, 0, "127.0.0.1", NULL, err, sizeof(err));
	if (ret <= 0) {
		fprintf(stderr, "trap_listen: %s\n", err);
		return -1;
	}
	s->v6 = s->v6 && s->t.lfd[1] >= 0;
	s->port = ret;
	return pthread_create(&s->th, NULL, serve, s);
}

static void server_stop(struct server *s)
{
	s->stop = true;
	pthread_join(s->th, NULL);
	trap_close(&s->t);
	log_set_sink(NULL, NULL);
	config_free(&s->c);
}

/* The log so far (a copy: the server goes on). */
static const char *server_log(struct server *s)
{
	static char copy[262144];

	pthread_mutex_lock(&s->mu);
	memcpy(copy, s->log, s->loglen + 1);
	pthread_mutex_unlock(&s->mu);
	return copy;
}

/* The first log line that holds @text, polled for up to @ms; "" if none. */
static const char *logged(struct server *s, const char *text, int ms)
{
	static char line[4096];
	int64_t end = now_ms() + ms;
	const char *log, *p;
	size_t len;

	do {
		log = server_log(s);
		for (p = log; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
			len = strcspn(p, "\n");
			if (memmem(p, len, text, strlen(text))) {
				snprintf(line, sizeof(line), "%.*s",
					 (int)strcspn(p, "\n"), p);
				return line;
			}
		}
		usleep(10000);
	} while (now_ms() < end);
	return "";
}

static uint64_t counter(struct server *s, const uint64_t *c)
{
	uint64_t v;

	pthread_mutex_lock(&s->mu);
	v = *c;
	pthread_mutex_unlock(&s->mu);
	return v;
}

static size_t sessions(struct server *s)
{
	size_t n;

	pthread_mutex_lock(&s->mu);
	n = s->t.n;
	pthread_mutex_unlock(&s->mu);
	return n;
}

static bool wait_sessions(struct server *s, size_t n, int ms)
{
	int64_t end = now_ms() + ms;

	while (sessions(s) != n && now_ms() < end)
		usleep(5000);
	return sessions(s) == n;
}

/* ---- the client ---------------------------------------------------------- */

static int dial(int family, uint16_t port)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *s4 = (void *)&ss;
	struct sockaddr_in6 *s6 = (void *)&ss;
	struct timeval tv = { .tv_sec = 10 };
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	ss.ss_family = family;
	if (family == AF_INET) {
		s4->sin_port = htons(port);
		inet_pton(AF_INET, "127.0.0.1", &s4->sin_addr);
	} else {
		s6->sin6_port = htons(port);
		s6->sin6_addr = in6addr_loopback;
	}
	if (connect(fd, (struct sockaddr *)&ss, family == AF_INET ?
		    sizeof(*s4) : sizeof(*s6))) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * One whole reply (every line up to the one whose 4th character is a
 * space), or what came before EOF; "" at once on EOF.
 */
static const char *reply(int fd)
{
	static char buf[4096];
	size_t n = 0, bol = 0;
	char c;

	buf[0] = '\0';
	while (n + 1 < sizeof(buf) && recv(fd, &c, 1, 0) == 1) {
		buf[n++] = c;
		buf[n] = '\0';
		if (c != '\n')
			continue;
		if (n - bol >= 4 && buf[bol + 3] == ' ')
			break;
		if (n - bol < 4)
			break;
		bol = n;
	}
	return buf;
}

static void say(int fd, const char *text)
{
	ssize_t w = send(fd, text, strlen(text), MSG_NOSIGNAL);

	(void)w;
}

static bool at_eof(int fd)
{
	char c;

	return recv(fd, &c, 1, 0) == 0;
}

#define EXPECT_PREFIX(pfx, s) EXPECT_EQ(0, strncmp(pfx, s, strlen(pfx))) \
	TH_LOG("expected '%s...', got '%s'", pfx, s)

static const char *const fast_conf =
	"internal = 127.0.0.0/8, ::1/128\n"
	"action = trap\n"
	"trap_port = 2525\n"
	"trap_delay = 0\n"
	"trap_message = " MSG_TEXT "\n";

/* ---- the dialogue -------------------------------------------------------- */

static void dialogue(struct __test_metadata *_metadata, struct server *s,
		     int family, const char *host)
{
	char want[1024], banner[128];
	int fd = dial(family, s->port);

	ASSERT_LE(0, fd);
	snprintf(banner, sizeof(banner), "220 %s ESMTP\r\n", s->t.hostname);
	EXPECT_STREQ(banner, reply(fd));
	say(fd, "EHLO bot.example\r\n");
	EXPECT_PREFIX("250 ", reply(fd));
	say(fd, "MAIL FROM:<spam@example.net>\r\n");
	EXPECT_STREQ("250 2.1.0 Ok\r\n", reply(fd));
	say(fd, "RCPT TO:<a@example.org>\r\n");
	EXPECT_STREQ(MSG_REPLY, reply(fd));
	say(fd, "rcpt to: <b@example.org>\r\n");
	EXPECT_STREQ(MSG_REPLY, reply(fd));
	say(fd, "DATA\r\n");
	EXPECT_STREQ(MSG_REPLY, reply(fd));
	say(fd, "NOOP\r\n");
	EXPECT_STREQ("250 2.0.0 Ok\r\n", reply(fd));
	say(fd, "VRFY root\r\n");
	EXPECT_PREFIX("502 5.5.1 ", reply(fd));
	say(fd, "FROB\r\n");
	EXPECT_STREQ("500 5.5.2 Error: command not recognized\r\n", reply(fd));
	say(fd, "QUIT\r\n");
	EXPECT_STREQ("221 2.0.0 Bye\r\n", reply(fd));
	EXPECT_TRUE(at_eof(fd));
	close(fd);
	snprintf(want, sizeof(want), "action=trap host=%s dst=%s dport=%u "
		 "helo=bot.example mail=\"<spam@example.net>\" "
		 "rcpt=\"<a@example.org>,<b@example.org>\" rcpts=2 commands=9 "
		 "pregreet=no overlong=0 end=quit duration=", host, host,
		 s->port);
	EXPECT_PREFIX(want, logged(s, "action=trap", 2000));
}

TEST(dialogue_ipv4)
{
	struct server s;

	ASSERT_EQ(0, server_start(&s, fast_conf));
	dialogue(_metadata, &s, AF_INET, "127.0.0.1");
	EXPECT_EQ(1U, counter(&s, &s.t.sessions));
	EXPECT_TRUE(wait_sessions(&s, 0, 1000));
	server_stop(&s);
}

TEST(dialogue_ipv6)
{
	struct server s;

	ASSERT_EQ(0, server_start(&s, fast_conf));
	if (!s.v6) {
		server_stop(&s);
		SKIP(return, "no IPv6 loopback");
	}
	dialogue(_metadata, &s, AF_INET6, "::1");
	server_stop(&s);
}

/* Every command of a pipelined batch gets its reply, in order. */
TEST(pipelining)
{
	struct server s;
	int fd;

	ASSERT_EQ(0, server_start(&s, fast_conf));
	fd = dial(AF_INET, s.port);
	ASSERT_LE(0, fd);
	EXPECT_PREFIX("220 ", reply(fd));
	say(fd, "HELO a\r\nMAIL FROM:<x@y>\r\nRCPT TO:<z@w>\r\nQUIT\r\n");
	EXPECT_PREFIX("250 ", reply(fd));
	EXPECT_STREQ("250 2.1.0 Ok\r\n", reply(fd));
	EXPECT_STREQ(MSG_REPLY, reply(fd));
	EXPECT_STREQ("221 2.0.0 Bye\r\n", reply(fd));
	EXPECT_TRUE(at_eof(fd));
	close(fd);
	EXPECT_PREFIX("action=trap host=127.0.0.1 ", logged(&s, "action=trap", 2000));
	EXPECT_NE(NULL, strstr(logged(&s, "action=trap", 0),
			       " helo=a mail=\"<x@y>\" rcpt=\"<z@w>\" rcpts=1 commands=4 "));
	server_stop(&s);
}

/* RFC 5321 4.5.3.1.4: 512 bytes with the CRLF; longer lines get a 500 and
 * are dropped whole, however long; the session goes on. */
TEST(overlong_lines)
{
	char line[8192];
	struct server s;
	int fd;

	ASSERT_EQ(0, server_start(&s, fast_conf));
	fd = dial(AF_INET, s.port);
	ASSERT_LE(0, fd);
	EXPECT_PREFIX("220 ", reply(fd));
	/* 510 + CRLF: the longest line there is. */
	memset(line, 'a', sizeof(line));
	memcpy(line, "HELO ", 5);
	memcpy(line + 510, "\r\n", 3);
	say(fd, line);
	EXPECT_PREFIX("250 ", reply(fd));
	/* 511 + CRLF */
	memcpy(line + 511, "\r\n", 3);
	say(fd, line);
	EXPECT_STREQ("500 5.5.2 Error: line too long\r\n", reply(fd));
	/* 8000 bytes, then a command in the same write */
	memset(line, 'b', sizeof(line));
	memcpy(line + 8000, "\r\nNOOP\r\n", 9);
	say(fd, line);
	EXPECT_STREQ("500 5.5.2 Error: line too long\r\n", reply(fd));
	EXPECT_STREQ("250 2.0.0 Ok\r\n", reply(fd));
	/* NUL bytes in a line */
	ASSERT_EQ(7, send(fd, "NO\0OP\r\n", 7, 0));
	EXPECT_STREQ("500 5.5.2 Error: bad syntax\r\n", reply(fd));
	say(fd, "QUIT\r\n");
	EXPECT_STREQ("221 2.0.0 Bye\r\n", reply(fd));
	close(fd);
	EXPECT_NE(NULL, strstr(logged(&s, "action=trap", 2000),
			       " commands=6 pregreet=no overlong=2 end=quit "));
	/* The HELO kept is cut to fit, and stays one line. */
	EXPECT_NE(NULL, strstr(logged(&s, "action=trap", 0), " helo=aaaa"));
	EXPECT_LT(strlen(logged(&s, "action=trap", 0)), 600U);
	server_stop(&s);
}

static char junk[65536];

/* 16 MB of one line, from a thread: the test goes on meanwhile. */
static void *stream_junk(void *arg)
{
	int fd = *(int *)arg, i;

	for (i = 0; i < 256; i++)
		if (send(fd, junk, sizeof(junk), MSG_NOSIGNAL) < 0)
			return (void *)1;
	return NULL;
}

/* A line without end, streamed as fast as loopback goes, is dropped as
 * it comes and starves no one. */
TEST(endless_line)
{
	struct server s;
	int fd, other;
	pthread_t th;
	void *ret;
	int64_t t0;

	ASSERT_EQ(0, server_start(&s, fast_conf));
	fd = dial(AF_INET, s.port);
	ASSERT_LE(0, fd);
	EXPECT_PREFIX("220 ", reply(fd));
	memset(junk, 'j', sizeof(junk));
	ASSERT_EQ(0, pthread_create(&th, NULL, stream_junk, &fd));
	other = dial(AF_INET, s.port);
	ASSERT_LE(0, other);
	t0 = now_ms();
	EXPECT_PREFIX("220 ", reply(other));
	say(other, "HELO other\r\n");
	EXPECT_PREFIX("250 ", reply(other));
	EXPECT_LT(now_ms() - t0, 1000);
	close(other);
	ASSERT_EQ(0, pthread_join(th, &ret));
	EXPECT_EQ(NULL, ret);
	say(fd, "\r\nQUIT\r\n");
	EXPECT_STREQ("500 5.5.2 Error: line too long\r\n", reply(fd));
	EXPECT_STREQ("221 2.0.0 Bye\r\n", reply(fd));
	close(fd);
	EXPECT_NE(NULL, strstr(logged(&s, "overlong=1 end=quit", 2000), " commands=2 "));
	server_stop(&s);
}

/* Replies go out TRAP_PIECE bytes every trap_delay (the loop serves
 * steps due within 10 ms together); a client that talks before the banner
 * is out is a pregreeter. */
TEST(tarpit_and_pregreet)
{
	struct server s;
	int64_t t0, took;
	size_t len;
	int fd;

	ASSERT_EQ(0, server_start(&s, "internal = 127.0.0.0/8\ntrap_delay = 40ms\n"));
	EXPECT_EQ(40U, s.t.delay_ms);
	t0 = now_ms();
	fd = dial(AF_INET, s.port);
	ASSERT_LE(0, fd);
	say(fd, "EHLO early.example\r\n");
	len = strlen(reply(fd));
	took = now_ms() - t0;
	/* The banner's pieces, the first one at once. */
	EXPECT_GE(took, (int64_t)((len + TRAP_PIECE - 1) / TRAP_PIECE - 1) * (40 - 10))
		TH_LOG("%zu bytes in %lld ms", len, (long long)took);
	EXPECT_PREFIX("250 ", reply(fd));
	t0 = now_ms();
	say(fd, "RCPT TO:<x@example.org>\r\n");
	len = strlen(reply(fd));
	took = now_ms() - t0;
	EXPECT_GE(took, (int64_t)((len + TRAP_PIECE - 1) / TRAP_PIECE - 1) * (40 - 10))
		TH_LOG("%zu bytes in %lld ms", len, (long long)took);
	close(fd);
	EXPECT_NE(NULL, strstr(logged(&s, "action=trap", 2000),
			       " helo=early.example mail=\"\" rcpt=\"<x@example.org>\" rcpts=1 commands=2 pregreet=yes "));
	server_stop(&s);
}

/* The default text, wrapped. */
TEST(default_message)
{
	struct trap t;

	trap_init(&t);
	EXPECT_STREQ("550-5.7.1 This host has been blocked for sending spam. Send mail through\r\n"
		     "550 5.7.1 port 587 with authentication; contact the helpdesk.\r\n",
		     t.reply);
	trap_set_message(&t, "450 4.7.1 Go away");
	EXPECT_STREQ("450 4.7.1 Go away\r\n", t.reply);
	trap_set_message(&t, "554 Blocked");
	EXPECT_STREQ("554 Blocked\r\n", t.reply);
	trap_set_message(&t, "554");
	EXPECT_STREQ("554\r\n", t.reply);
	trap_set_message(&t, "554 5.7.1");
	EXPECT_STREQ("554 5.7.1\r\n", t.reply);
	EXPECT_EQ(strlen(t.reply), t.reply_len);
}

/* A client that sends its whole dialogue and hangs up mid-reply still
 * leaves its evidence. */
TEST(client_gone_mid_reply)
{
	struct server s;
	int fd;

	ASSERT_EQ(0, server_start(&s, "internal = 127.0.0.0/8\ntrap_delay = 200ms\n"));
	fd = dial(AF_INET, s.port);
	ASSERT_LE(0, fd);
	say(fd, "HELO gone\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nRCPT TO:<e@f>\r\n");
	usleep(50000);
	close(fd);
	EXPECT_PREFIX("action=trap host=127.0.0.1 ", logged(&s, "action=trap", 3000));
	EXPECT_NE(NULL, strstr(logged(&s, "action=trap", 0),
			       " helo=gone mail=\"<a@b>\" rcpt=\"<c@d>,<e@f>\" rcpts=2 commands=4 pregreet=yes overlong=0 end=closed "));
	EXPECT_TRUE(wait_sessions(&s, 0, 1000));
	server_stop(&s);
}

/* trap_session_timeout bounds the whole session, busy or idle. */
TEST(session_timeout)
{
	struct server s;
	int64_t t0;
	int fd;

	ASSERT_EQ(0, server_start(&s, "internal = 127.0.0.0/8\ntrap_delay = 0\n"
				  "trap_session_timeout = 1\n"));
	t0 = now_ms();
	fd = dial(AF_INET, s.port);
	ASSERT_LE(0, fd);
	EXPECT_PREFIX("220 ", reply(fd));
	say(fd, "HELO idle\r\n");
	EXPECT_PREFIX("250 ", reply(fd));
	EXPECT_PREFIX("421 4.4.2 ", reply(fd));
	EXPECT_TRUE(at_eof(fd));
	EXPECT_GE(now_ms() - t0, 990);
	EXPECT_LT(now_ms() - t0, 1500);
	close(fd);
	EXPECT_NE(NULL, strstr(logged(&s, "action=trap", 1000), " end=timeout "));
	EXPECT_EQ(1U, counter(&s, &s.t.timeouts));
	server_stop(&s);
}

/* At trap_max_sessions, the next connection gets a 421 and is closed;
 * a place freed is taken again. */
TEST(max_sessions)
{
	struct server s;
	int fd[6], extra, i;

	ASSERT_EQ(0, server_start(&s, "internal = 127.0.0.0/8\ntrap_delay = 0\n"
				  "trap_max_sessions = 5\n"));
	for (i = 0; i < 5; i++) {
		fd[i] = dial(AF_INET, s.port);
		ASSERT_LE(0, fd[i]);
		EXPECT_PREFIX("220 ", reply(fd[i]));
	}
	fd[5] = dial(AF_INET, s.port);
	ASSERT_LE(0, fd[5]);
	EXPECT_PREFIX("421 4.7.0 ", reply(fd[5]));
	EXPECT_TRUE(at_eof(fd[5]));
	EXPECT_EQ(1U, counter(&s, &s.t.refused));
	EXPECT_EQ(5U, sessions(&s));
	say(fd[0], "QUIT\r\n");
	EXPECT_STREQ("221 2.0.0 Bye\r\n", reply(fd[0]));
	EXPECT_TRUE(wait_sessions(&s, 4, 1000));
	extra = dial(AF_INET, s.port);
	ASSERT_LE(0, extra);
	EXPECT_PREFIX("220 ", reply(extra));
	EXPECT_EQ(6U, counter(&s, &s.t.sessions));
	close(extra);
	for (i = 0; i < 6; i++)
		close(fd[i]);
	EXPECT_TRUE(wait_sessions(&s, 0, 1000));
	server_stop(&s);
}

/* Only internal hosts are trapped: others are closed without a word. */
TEST(foreign_clients)
{
	struct server s;
	int fd;

	ASSERT_EQ(0, server_start(&s, "internal = 10.0.0.0/8\n"));
	fd = dial(AF_INET, s.port);
	ASSERT_LE(0, fd);
	EXPECT_STREQ("", reply(fd));
	close(fd);
	EXPECT_EQ(1U, counter(&s, &s.t.foreign));
	EXPECT_EQ(0U, counter(&s, &s.t.sessions));
	server_stop(&s);
}

/* A reload: the session under way goes on with the new text; the new
 * port is served, the old one closed. */
TEST(reload_keeps_sessions)
{
	static const char reload_conf[] = "internal = 127.0.0.0/8\n"
		"trap_delay = 0\ntrap_message = 421 4.7.0 Come back never\n";
	struct sgd_config nc;
	struct server s;
	char err[256];
	uint16_t old;
	int fd, fd2, ret;

	ASSERT_EQ(0, server_start(&s, fast_conf));
	fd = dial(AF_INET, s.port);
	ASSERT_LE(0, fd);
	EXPECT_PREFIX("220 ", reply(fd));
	config_init(&nc);
	ASSERT_EQ(0, config_parse(&nc, "new.conf", reload_conf,
				  strlen(reload_conf), NULL, NULL));
	pthread_mutex_lock(&s.mu);
	trap_set(&s.t, &nc);
	old = s.port;
	ret = trap_listen(&s.t, 0, "127.0.0.1", NULL, err, sizeof(err));
	pthread_mutex_unlock(&s.mu);
	ASSERT_LT(0, ret) TH_LOG("%s", err);
	say(fd, "RCPT TO:<x@y>\r\n");
	EXPECT_STREQ("421 4.7.0 Come back never\r\n", reply(fd));
	fd2 = dial(AF_INET, ret);
	ASSERT_LE(0, fd2);
	EXPECT_PREFIX("220 ", reply(fd2));
	EXPECT_EQ(-1, dial(AF_INET, old));
	close(fd);
	close(fd2);
	config_free(&nc);
	server_stop(&s);
}

/* ---- bounds -------------------------------------------------------------- */

/* Bytes in use (tcache's chunks count as used: up to 7 per size). */
static size_t heap_used(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

/* Bytes the heaps took from the system. */
static size_t heap_system(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.arena + mi.hblkhd;
}

/* 100 sessions, each sent 50 recipients and 16 KB of garbage. */
static void load(struct __test_metadata *_metadata, struct server *s,
		 size_t *during)
{
	static char big[4096];
	int fd[100], i, j;

	memset(big, 'x', sizeof(big));
	memcpy(big + sizeof(big) - 3, "\r\n", 3);
	for (i = 0; i < 100; i++) {
		fd[i] = dial(AF_INET, s->port);
		ASSERT_LE(0, fd[i]);
		reply(fd[i]);
	}
	for (i = 0; i < 100; i++) {
		for (j = 0; j < 4; j++) {
			say(fd[i], big);
			reply(fd[i]);
		}
		for (j = 0; j < 50; j++) {
			say(fd[i], "RCPT TO:<someone-with-a-long-name@example.org>\r\n");
			reply(fd[i]);
		}
	}
	*during = heap_used();
	for (i = 0; i < 100; i++)
		close(fd[i]);
	EXPECT_TRUE(wait_sessions(s, 0, 3000));
}

FIXTURE(mem) {
	struct server s;
};

FIXTURE_SETUP(mem)
{
	ASSERT_EQ(0, server_start(&self->s,
				  "internal = 127.0.0.0/8\ntrap_delay = 0\n"));
}

FIXTURE_TEARDOWN(mem)
{
	server_stop(&self->s);
}

/*
 * A session's memory is fixed whatever it is sent, and what the sessions
 * took is given back: rounds of the same load after the first take
 * nothing more from the system.  (Slow under valgrind: 300 s.)
 */
TEST_F_TIMEOUT(mem, is_bounded, 300)
{
	size_t before, during, after, sys, sys2, d;
	struct server *s = &self->s;
	const char *line;
	int fd, round, j;

	fd = dial(AF_INET, s->port);	/* warm up: stdio, the first table */
	reply(fd);
	close(fd);
	EXPECT_TRUE(wait_sessions(s, 0, 1000));
	before = heap_used();
	load(_metadata, s, &during);
	after = heap_used();
	sys = heap_system();
	/* A session is about 2 KB, a table slot 8 bytes; the test's own poll
	 * array follows the number of sessions too. */
	EXPECT_LT(during - before, 100U * 2600);
	for (round = 0; round < 2; round++)
		load(_metadata, s, &d);
	sys2 = heap_system();
	TH_LOG("heap in use: %zu before, %zu with 100 sessions, %zu after; "
	       "from the system: %zu after 1 round, %zu after 3",
	       before, during, after, sys, sys2);
	/* glibc's tcache keeps up to 7 freed chunks of a size (the table's
	 * 1 KB as it grows and shrinks): two pages of slack. */
	EXPECT_LE(sys2, sys + 8192);
	EXPECT_LE(heap_used(), before + 16384);
	/* 200 recipients: the evidence is one line, cut to fit. */
	fd = dial(AF_INET, s->port);
	ASSERT_LE(0, fd);
	reply(fd);
	for (j = 0; j < 200; j++) {
		say(fd, "RCPT TO:<someone-with-a-long-name@example.org>\r\n");
		reply(fd);
	}
	close(fd);
	line = logged(s, " rcpts=200 ", 2000);
	EXPECT_NE(0U, strlen(line));
	EXPECT_LT(strlen(line), sizeof(((struct kv *)0)->buf) - 1);
	EXPECT_NE(NULL, strstr(logged(s, " overlong=4 ", 0), " rcpts=50 "));
}

/* ---- the config keys ----------------------------------------------------- */

static char msgs[2048];
static size_t msgs_len;

static void collect(void *arg, const char *msg)
{
	msgs_len += snprintf(msgs + msgs_len, sizeof(msgs) - msgs_len, "%s%s",
			     msgs_len ? "\n" : "", msg);
}

/* Every error @text gives, one a line; "" when it parses. */
static const char *error_of(const char *text)
{
	struct sgd_config c;

	msgs[0] = '\0';
	msgs_len = 0;
	config_init(&c);
	config_parse(&c, "smtpgate.conf", text, strlen(text), collect, NULL);
	config_free(&c);
	return msgs;
}

TEST(config_keys)
{
	static const char keys[] =
		"action = trap\n"
		"trap_port = 2525\n"
		"trap_delay = 2s\n"
		"trap_max_sessions = 1000\n"
		"trap_session_timeout = 2m\n"
		"trap_message = 450 4.7.1 Blocked for spam.\n"
		"\tCall the helpdesk.\n";
	struct sgd_config c;

	config_init(&c);
	EXPECT_EQ(500U, c.trap_delay);
	EXPECT_EQ(500U, c.trap_max_sessions);
	EXPECT_EQ(60U, c.trap_session_timeout);
	EXPECT_EQ(NULL, c.trap_message);
	EXPECT_FALSE(!!(c.pol.has & SGNL_POLICY_HAS(SMTPGATE_A_POLICY_TRAP_PORT)));
	ASSERT_EQ(0, config_parse(&c, "x", keys, strlen(keys), NULL, NULL));
	EXPECT_EQ(SMTPGATE_ACTION_TRAP, c.pol.action);
	EXPECT_TRUE(!!(c.pol.has & SGNL_POLICY_HAS(SMTPGATE_A_POLICY_TRAP_PORT)));
	EXPECT_EQ(2525, c.pol.trap_port);
	EXPECT_EQ(2000U, c.trap_delay);
	EXPECT_EQ(1000U, c.trap_max_sessions);
	EXPECT_EQ(120U, c.trap_session_timeout);
	EXPECT_STREQ("450 4.7.1 Blocked for spam. Call the helpdesk.", c.trap_message);
	config_free(&c);

	EXPECT_STREQ("", error_of("trap_delay = 250ms\n"));
	EXPECT_STREQ("", error_of("trap_delay = 0\n"));
	EXPECT_STREQ("", error_of("trap_delay = 0s\n"));
	EXPECT_STREQ("", error_of("trap_delay = 1s500ms\n"));
	/* A bare number meant milliseconds here, seconds elsewhere: no guess. */
	EXPECT_STREQ("smtpgate.conf:1: trap_delay: '2' needs a unit: 2ms or 2s (a bare number here meant milliseconds; elsewhere it means seconds)",
		     error_of("trap_delay = 2\n"));
	EXPECT_STREQ("smtpgate.conf:1: action: trap needs the trap's listening port (the trap_port key)",
		     error_of("action = trap\n"));
	EXPECT_STREQ("smtpgate.conf:1: tunnel_action: tunnelled SMTP cannot be trapped; use drop, log or droplog",
		     error_of("tunnel_action = trap\ntrap_port = 2525\n"));
	EXPECT_STREQ("smtpgate.conf:1: trap_port: '0' is not a number from 1 to 65535",
		     error_of("trap_port = 0\n"));
	EXPECT_STREQ("smtpgate.conf:1: trap_delay: 'soon' is not a time from 0ms to 10000ms (500ms, 2s)",
		     error_of("trap_delay = soon\n"));
	EXPECT_STREQ("smtpgate.conf:1: trap_delay: '11s' is not a time from 0ms to 10000ms (500ms, 2s)",
		     error_of("trap_delay = 11s\n"));
	EXPECT_STREQ("smtpgate.conf:1: trap_max_sessions: '0' is not a number from 1 to 10000",
		     error_of("trap_max_sessions = 0\n"));
	EXPECT_STREQ("smtpgate.conf:1: trap_session_timeout: '2h' is longer than 1h",
		     error_of("trap_session_timeout = 2h\n"));
	EXPECT_STREQ("smtpgate.conf:1: trap_message: '250 All is w...' does not start with a 4xx or 5xx reply code",
		     error_of("trap_message = 250 All is well here\n"));
	EXPECT_STREQ("smtpgate.conf:1: trap_message: '5501 x' does not start with a 4xx or 5xx reply code",
		     error_of("trap_message = 5501 x\n"));
	EXPECT_STREQ("smtpgate.conf:1: trap_message: the enhanced status code 4.7.1 does not match the reply code 550",
		     error_of("trap_message = 550 4.7.1 Go away\n"));
	EXPECT_STREQ("smtpgate.conf:1: trap_message: character 8 is not printable ASCII",
		     error_of("trap_message = 550 Go \xc3\xa9\n"));
	EXPECT_STREQ("smtpgate.conf:1: trap_message: no value",
		     error_of("trap_message =\n"));
}

TEST(config_message_too_long)
{
	char text[600];

	snprintf(text, sizeof(text), "trap_message = 550 %0*d\n", 400, 0);
	EXPECT_STREQ("smtpgate.conf:1: trap_message: longer than 400 characters",
		     error_of(text));
}

TEST_HARNESS_MAIN
