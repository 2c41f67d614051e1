/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The SMTP dialogue of one session, as the gateway sees it: a pure parser
 * and scorer, no I/O, bounded memory (struct smtp_flow is all of it).
 *
 * The caller feeds the client's bytes and the server's bytes, each stream
 * in order and without holes, in the order they crossed the gateway: a
 * reply the client had seen before it wrote its next command crossed the
 * gateway first, so "the client did not wait" is decidable here.
 *
 * Each zombie sign counts once per session, with its weight, and keeps the
 * offending line as evidence:
 *
 *   sign                  weight  what
 *   helo-not-fqdn             50  HELO/EHLO argument without a dot (or none)
 *   helo-address-literal     100  [192.0.2.66], [IPv6:...]
 *   helo-bare-ip             100  192.0.2.66 without brackets
 *   helo-localhost           100  localhost, localhost.localdomain
 *   helo-protected-name      100  one of inspect_protected_names
 *   helo-access              100  a REJECT-like rule of inspect_helo_access
 *   no-helo                   50  MAIL before any HELO/EHLO
 *   pregreet                 100  client bytes before the server's greeting
 *   pipelining               100  a command before the reply to the last
 *                                 one, without PIPELINING, or after a
 *                                 command that ends a group (RFC 2920)
 *   after-5xx                 50  RCPT/DATA after a 5xx to MAIL; DATA once
 *                                 every RCPT got a 5xx; a RCPT repeated
 *                                 after its 5xx; commands after a 554
 *                                 greeting
 *   restart-after-4xx         50  RSET or HELO/EHLO right after a 4xx to
 *                                 MAIL, RCPT or DATA (the "reboot")
 *   recipients                50  more RCPTs in a transaction than allowed
 *   messages                  50  more transactions (MAIL) than allowed
 *   error-share               50  half or more of the replies 4xx/5xx,
 *                                 once there were SMTP_ERROR_MIN_REPLIES
 *
 * The default threshold, 100, flags on one strong sign alone and on two
 * mild ones together, never on one mild sign.
 *
 * Inspection of the session ends (smtp_*() return false) at STARTTLS
 * (once the server said 220), BDAT, QUIT, binary bytes from the client,
 * a server that does not speak SMTP, or a stream that does not start at
 * the greeting (a session already under way when the daemon started: its
 * first server reply is not a greeting, and then nothing counts).  Message
 * content after DATA is skipped up to the final dot, and the dialogue goes
 * on after it.
 */
#ifndef _SG_SMTP_H
#define _SG_SMTP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SMTP_LINE_MAX		512	/* RFC 5321 4.5.3.1.4, with CRLF */
#define SMTP_REPLY_KEEP		64	/* of each reply line: code, keyword */
#define SMTP_PENDING_MAX	64	/* commands awaiting their reply */
#define SMTP_EVIDENCE_MAX	6
#define SMTP_EVIDENCE_LEN	120
#define SMTP_REJECTED_MAX	8	/* RCPT addresses refused with 5xx */
#define SMTP_ERROR_MIN_REPLIES	5
#define SMTP_ERROR_SHARE_PCT	50
#define SMTP_DEFAULT_THRESHOLD	100
#define SMTP_DEFAULT_MAX_RCPT	50
#define SMTP_DEFAULT_MAX_MSGS	10

enum smtp_sign {
	SMTP_S_HELO_NOT_FQDN,
	SMTP_S_HELO_LITERAL,
	SMTP_S_HELO_BARE_IP,
	SMTP_S_HELO_LOCALHOST,
	SMTP_S_HELO_PROTECTED,
	SMTP_S_HELO_ACCESS,
	SMTP_S_NO_HELO,
	SMTP_S_PREGREET,
	SMTP_S_PIPELINING,
	SMTP_S_AFTER_5XX,
	SMTP_S_RESTART_4XX,
	SMTP_S_RECIPIENTS,
	SMTP_S_MESSAGES,
	SMTP_S_ERROR_SHARE,
	__SMTP_S_MAX
};

enum smtp_end {
	SMTP_GOING,
	SMTP_END_STARTTLS,
	SMTP_END_BDAT,
	SMTP_END_QUIT,
	SMTP_END_BINARY,	/* control bytes in a command: TLS, garbage */
	SMTP_END_NOT_SMTP,	/* a server line that is no reply */
	SMTP_END_DESYNC,	/* not the start of a session */
	SMTP_END_DEPTH,		/* more than SMTP_PENDING_MAX in flight */
	SMTP_END_PIPELINED_DATA,	/* content sent before the 354 */
	__SMTP_END_MAX
};

struct helo_table;

struct smtp_conf {
	uint32_t threshold;
	uint32_t max_recipients;	/* per transaction; 0: no limit */
	uint32_t max_messages;		/* per session; 0: no limit */
	char *const *protected_names;	/* lower case, no trailing dot */
	size_t nprotected;
	const struct helo_table *helo;	/* NULL: none */
};

struct smtp_evidence {
	uint8_t sign;
	char text[SMTP_EVIDENCE_LEN];
};

struct smtp_pending {
	uint8_t cmd;
	uint32_t arg;			/* RCPT: hash of the address */
};

struct smtp_flow {
	const struct smtp_conf *conf;
	uint32_t signs;			/* 1 << enum smtp_sign */
	uint32_t score;
	uint8_t end;			/* enum smtp_end */
	uint8_t nevidence;
	struct smtp_evidence ev[SMTP_EVIDENCE_MAX];

	/* the client's line being read */
	uint16_t clen;
	bool clong;			/* past SMTP_LINE_MAX: dropping */
	char cline[SMTP_LINE_MAX + 1];
	/* the server's line being read (its start only) */
	uint16_t slen;
	char sline[SMTP_REPLY_KEEP + 1];
	bool reply_pipelining;		/* this EHLO reply offers it */

	/* the dialogue */
	bool greeted, greet_refused, pregreet;
	bool helo_seen, pipelining_ok;
	bool in_data, auth_cont, mail_rejected, last_4xx;
	uint8_t dot;			/* end-of-data scanner state */
	uint8_t phead, npending, enders;
	struct smtp_pending pending[SMTP_PENDING_MAX];
	uint8_t nrejected;
	uint32_t rejected[SMTP_REJECTED_MAX];
	uint32_t rcpts, rcpt_ok, rcpt_5xx;	/* this transaction */
	uint32_t messages, replies, errors, commands;
	uint64_t client_bytes, server_bytes;
};

void smtp_init(struct smtp_flow *f, const struct smtp_conf *conf);
/* Both return true while the session is still inspected. */
bool smtp_client(struct smtp_flow *f, const uint8_t *data, size_t len);
bool smtp_server(struct smtp_flow *f, const uint8_t *data, size_t len);
/* A session seen from its greeting whose score reached the threshold. */
bool smtp_flagged(const struct smtp_flow *f);

const char *smtp_sign_name(unsigned int sign);
unsigned int smtp_sign_weight(unsigned int sign);
const char *smtp_end_name(unsigned int end);
/* "pregreet,helo-address-literal"; "none". */
const char *smtp_signs_str(uint32_t signs, char *buf, size_t len);
/* "pregreet: EHLO x | helo-...: EHLO x", cut to fit @len. */
const char *smtp_evidence_str(const struct smtp_flow *f, char *buf,
			      size_t len);

/* ---- helo.c: Postfix check_helo_access regexp tables ------------------- */

typedef void (*helo_report_fn)(void *arg, const char *msg);

/*
 * "NAME:LINE: what is wrong" ("NAME: ..." for line 0) to @report, if any:
 * the form of every file error, helo tables' and smtpgate.conf's alike.
 */
void file_vreport(helo_report_fn report, void *arg, const char *name,
		  unsigned int line, const char *fmt, va_list ap);

struct helo_rule;

struct helo_table {
	char *name;			/* the file, for the evidence */
	struct helo_rule *v;
	size_t n, cap;
};

void helo_init(struct helo_table *t);
void helo_free(struct helo_table *t);
/* Both return the number of errors ("FILE:LINE: what is wrong"). */
int helo_parse(struct helo_table *t, const char *name, const char *text,
	       size_t len, helo_report_fn report, void *arg);
int helo_load(struct helo_table *t, const char *path, helo_report_fn report,
	      void *arg);
/*
 * Postfix's lookup: the first rule that matches @helo decides.  Returns
 * true when its action refuses (REJECT, DEFER, 4NN, 5NN, ...), with
 * "FILE:LINE ACTION" in @why; OK, DUNNO and the rest are not a match.
 */
bool helo_match(const struct helo_table *t, const char *helo, char *why,
		size_t len);

#endif /* _SG_SMTP_H */
