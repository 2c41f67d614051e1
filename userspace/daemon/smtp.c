// SPDX-License-Identifier: GPL-2.0
/*
 * The SMTP dialogue parser and scorer (smtp.h says what it scores).
 *
 * Commands are matched with replies through a ring of the commands in
 * flight, the way RFC 2920 has the client do it: the first complete reply
 * after the greeting answers the oldest command.  A command written while
 * others are in flight is pipelined; it is legal only after an EHLO reply
 * that offered PIPELINING, and never after a command that ends a group
 * (EHLO, HELO, DATA, VRFY, EXPN, TURN, QUIT, NOOP, STARTTLS, AUTH).
 *
 * Nothing is decided about a session until its greeting is seen: a stream
 * picked up in the middle (the daemon restarted, the flow was evicted)
 * would otherwise look like a client that pregreets and skips HELO.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "smtp.h"

enum cmd {
	C_OTHER,
	C_HELO,
	C_EHLO,
	C_MAIL,
	C_RCPT,
	C_DATA,
	C_DATA_END,	/* the final dot */
	C_BDAT,
	C_RSET,
	C_QUIT,
	C_NOOP,
	C_VRFY,
	C_EXPN,
	C_TURN,
	C_STARTTLS,
	C_AUTH,
	C_AUTH_DATA,	/* a line answering a 334 */
};

static const struct {
	const char *verb;
	uint8_t cmd;
	bool ender;	/* must be the last of a pipelined group */
} verbs[] = {
	{ "HELO", C_HELO, true },
	{ "EHLO", C_EHLO, true },
	{ "MAIL", C_MAIL, false },
	{ "RCPT", C_RCPT, false },
	{ "DATA", C_DATA, true },
	{ "BDAT", C_BDAT, false },
	{ "RSET", C_RSET, false },
	{ "QUIT", C_QUIT, true },
	{ "NOOP", C_NOOP, true },
	{ "VRFY", C_VRFY, true },
	{ "EXPN", C_EXPN, true },
	{ "TURN", C_TURN, true },
	{ "STARTTLS", C_STARTTLS, true },
	{ "AUTH", C_AUTH, true },
};

static const struct {
	const char *name;
	uint8_t weight;
} signs[__SMTP_S_MAX] = {
	[SMTP_S_HELO_NOT_FQDN]	= { "helo-not-fqdn", 50 },
	[SMTP_S_HELO_LITERAL]	= { "helo-address-literal", 100 },
	[SMTP_S_HELO_BARE_IP]	= { "helo-bare-ip", 100 },
	[SMTP_S_HELO_LOCALHOST]	= { "helo-localhost", 100 },
	[SMTP_S_HELO_PROTECTED]	= { "helo-protected-name", 100 },
	[SMTP_S_HELO_ACCESS]	= { "helo-access", 100 },
	[SMTP_S_NO_HELO]	= { "no-helo", 50 },
	[SMTP_S_PREGREET]	= { "pregreet", 100 },
	[SMTP_S_PIPELINING]	= { "pipelining", 100 },
	[SMTP_S_AFTER_5XX]	= { "after-5xx", 50 },
	[SMTP_S_RESTART_4XX]	= { "restart-after-4xx", 50 },
	[SMTP_S_RECIPIENTS]	= { "recipients", 50 },
	[SMTP_S_MESSAGES]	= { "messages", 50 },
	[SMTP_S_ERROR_SHARE]	= { "error-share", 50 },
};

static const char *const end_names[__SMTP_END_MAX] = {
	[SMTP_GOING]		= "going",
	[SMTP_END_STARTTLS]	= "starttls",
	[SMTP_END_BDAT]		= "bdat",
	[SMTP_END_QUIT]		= "quit",
	[SMTP_END_BINARY]	= "binary",
	[SMTP_END_NOT_SMTP]	= "not-smtp",
	[SMTP_END_DESYNC]	= "desync",
	[SMTP_END_DEPTH]	= "depth",
	[SMTP_END_PIPELINED_DATA] = "pipelined-data",
};

const char *smtp_sign_name(unsigned int sign)
{
	return sign < __SMTP_S_MAX ? signs[sign].name : NULL;
}

unsigned int smtp_sign_weight(unsigned int sign)
{
	return sign < __SMTP_S_MAX ? signs[sign].weight : 0;
}

const char *smtp_end_name(unsigned int end)
{
	return end < __SMTP_END_MAX ? end_names[end] : NULL;
}

void smtp_init(struct smtp_flow *f, const struct smtp_conf *conf)
{
	memset(f, 0, sizeof(*f));
	f->conf = conf;
}

bool smtp_flagged(const struct smtp_flow *f)
{
	return f->greeted && f->score >= f->conf->threshold;
}

/* ---- evidence ------------------------------------------------------------- */

/* Printable, so that a log line never carries what the client chose. */
static void clean_copy(char *dst, size_t len, const char *src)
{
	size_t i;

	for (i = 0; i + 1 < len && src[i]; i++)
		dst[i] = (unsigned char)src[i] < 0x20 ||
			 (unsigned char)src[i] >= 0x7f ? '?' : src[i];
	dst[i] = '\0';
}

static void __attribute__((format(printf, 3, 4)))
sign(struct smtp_flow *f, enum smtp_sign s, const char *fmt, ...)
{
	char text[SMTP_EVIDENCE_LEN];
	va_list ap;

	if (f->signs & (1U << s))
		return;
	f->signs |= 1U << s;
	f->score += signs[s].weight;
	if (f->nevidence == SMTP_EVIDENCE_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	f->ev[f->nevidence].sign = s;
	clean_copy(f->ev[f->nevidence].text, SMTP_EVIDENCE_LEN, text);
	f->nevidence++;
}

const char *smtp_signs_str(uint32_t set, char *buf, size_t len)
{
	size_t used = 0;
	unsigned int i;

	if (!len)
		return buf;
	buf[0] = '\0';
	for (i = 0; i < __SMTP_S_MAX; i++)
		if (set & (1U << i))
			used += snprintf(buf + used, used < len ? len - used : 0,
					 "%s%s", used ? "," : "", signs[i].name);
	if (!used)
		snprintf(buf, len, "none");
	return buf;
}

const char *smtp_evidence_str(const struct smtp_flow *f, char *buf, size_t len)
{
	size_t used = 0;
	unsigned int i;
	int n;

	if (!len)
		return buf;
	buf[0] = '\0';
	for (i = 0; i < f->nevidence; i++) {
		n = snprintf(buf + used, len - used, "%s%s: %s",
			     i ? " | " : "", signs[f->ev[i].sign].name,
			     f->ev[i].text);
		if (n < 0 || (size_t)n >= len - used) {
			buf[used] = '\0';	/* whole items only */
			break;
		}
		used += n;
	}
	return buf;
}

/* ---- HELO ------------------------------------------------------------------ */

static bool is_ip(const char *s)
{
	unsigned char a[16];

	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

static void check_helo(struct smtp_flow *f, const char *line, const char *arg)
{
	const struct smtp_conf *c = f->conf;
	char name[SMTP_LINE_MAX + 1], why[160];
	size_t n, i;

	for (n = 0; arg[n] && arg[n] != ' ' && arg[n] != '\t'; n++)
		name[n] = tolower((unsigned char)arg[n]);
	name[n] = '\0';
	if (c->helo && helo_match(c->helo, name, why, sizeof(why)))
		sign(f, SMTP_S_HELO_ACCESS, "%.60s (%s)", line, why);
	if (n && name[n - 1] == '.')
		name[--n] = '\0';
	if (name[0] == '[') {
		sign(f, SMTP_S_HELO_LITERAL, "%s", line);
		return;
	}
	if (is_ip(name)) {
		sign(f, SMTP_S_HELO_BARE_IP, "%s", line);
		return;
	}
	if (!strcmp(name, "localhost") || !strcmp(name, "localhost.localdomain")) {
		sign(f, SMTP_S_HELO_LOCALHOST, "%s", line);
		return;
	}
	for (i = 0; i < c->nprotected; i++)
		if (!strcmp(name, c->protected_names[i])) {
			sign(f, SMTP_S_HELO_PROTECTED, "%s", line);
			return;
		}
	if (!strchr(name, '.'))
		sign(f, SMTP_S_HELO_NOT_FQDN, "%s", line);
}

/* ---- commands ---------------------------------------------------------------- */

/* FNV-1a of the address, case folded: RCPT TO:<Bob@x> is RCPT TO:<bob@x>. */
static uint32_t addr_hash(const char *arg)
{
	const char *lt = strchr(arg, '<'), *s = lt ? lt + 1 : arg;
	uint32_t h = 2166136261u;

	for (; *s && *s != '>' && *s != ' '; s++)
		h = (h ^ (unsigned char)tolower((unsigned char)*s)) * 16777619u;
	return h;
}

static bool was_rejected(const struct smtp_flow *f, uint32_t h)
{
	unsigned int i;

	for (i = 0; i < f->nrejected; i++)
		if (f->rejected[i] == h)
			return true;
	return false;
}

static void new_transaction(struct smtp_flow *f)
{
	f->rcpts = f->rcpt_ok = f->rcpt_5xx = 0;
	f->mail_rejected = false;
	f->nrejected = 0;
}

static bool is_ender(uint8_t cmd)
{
	size_t i;

	if (cmd == C_AUTH_DATA)
		return true;
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (verbs[i].cmd == cmd)
			return verbs[i].ender;
	return false;
}

static void push(struct smtp_flow *f, uint8_t cmd, uint32_t arg)
{
	struct smtp_pending *p;

	if (f->npending == SMTP_PENDING_MAX) {
		f->end = SMTP_END_DEPTH;
		return;
	}
	p = &f->pending[(f->phead + f->npending++) % SMTP_PENDING_MAX];
	p->cmd = cmd;
	p->arg = arg;
	if (is_ender(cmd))
		f->enders++;
}

static bool pop(struct smtp_flow *f, struct smtp_pending *out)
{
	if (!f->npending)
		return false;
	*out = f->pending[f->phead];
	f->phead = (f->phead + 1) % SMTP_PENDING_MAX;
	f->npending--;
	if (is_ender(out->cmd))
		f->enders--;
	return true;
}

static uint8_t parse_verb(const char *line, const char **arg)
{
	char verb[12];
	size_t n = 0, i;

	while (line[n] && line[n] != ' ' && n < sizeof(verb) - 1) {
		verb[n] = toupper((unsigned char)line[n]);
		n++;
	}
	verb[n] = '\0';
	*arg = line + n;
	while (**arg == ' ')
		(*arg)++;
	if (line[n] && line[n] != ' ')
		return C_OTHER;
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(verb, verbs[i].verb))
			return verbs[i].cmd;
	return C_OTHER;
}

/* One command line, without its line end. */
static void command(struct smtp_flow *f, const char *line)
{
	const struct smtp_conf *c = f->conf;
	const char *arg;
	uint8_t cmd;
	uint32_t h = 0;
	size_t i;

	for (i = 0; line[i]; i++)
		if ((unsigned char)line[i] < 0x20 && line[i] != '\t') {
			f->end = SMTP_END_BINARY;
			return;
		}
	f->commands++;
	if (f->auth_cont) {
		f->auth_cont = false;
		push(f, C_AUTH_DATA, 0);
		return;
	}
	cmd = parse_verb(line, &arg);
	if (!f->greeted) {
		/* STARTTLS before any greeting is a stream picked up late. */
		if (cmd == C_STARTTLS) {
			f->end = SMTP_END_DESYNC;
			return;
		}
		sign(f, SMTP_S_PREGREET, "%s", line);
	}
	if (f->npending && (!f->pipelining_ok || f->enders))
		sign(f, SMTP_S_PIPELINING, "%s", line);
	if (f->greet_refused && cmd != C_QUIT)
		sign(f, SMTP_S_AFTER_5XX, "%s (after a 554 greeting)", line);
	if (f->last_4xx && (cmd == C_RSET || cmd == C_EHLO || cmd == C_HELO))
		sign(f, SMTP_S_RESTART_4XX, "%s", line);
	f->last_4xx = false;

	switch (cmd) {
	case C_HELO:
	case C_EHLO:
		f->helo_seen = true;
		f->pipelining_ok = false;
		new_transaction(f);
		check_helo(f, line, arg);
		break;
	case C_MAIL:
		if (!f->helo_seen)
			sign(f, SMTP_S_NO_HELO, "%s", line);
		new_transaction(f);
		f->messages++;
		if (c->max_messages && f->messages > c->max_messages)
			sign(f, SMTP_S_MESSAGES, "%s (transaction %u, limit %u)",
			     line, f->messages, c->max_messages);
		break;
	case C_RCPT:
		h = addr_hash(arg);
		f->rcpts++;
		if (f->mail_rejected)
			sign(f, SMTP_S_AFTER_5XX, "%s (MAIL got 5xx)", line);
		else if (was_rejected(f, h))
			sign(f, SMTP_S_AFTER_5XX, "%s (again after 5xx)", line);
		if (c->max_recipients && f->rcpts > c->max_recipients)
			sign(f, SMTP_S_RECIPIENTS, "%s (recipient %u, limit %u)",
			     line, f->rcpts, c->max_recipients);
		break;
	case C_DATA:
		if (f->mail_rejected)
			sign(f, SMTP_S_AFTER_5XX, "%s (MAIL got 5xx)", line);
		else if (f->rcpt_5xx && !f->rcpt_ok && !f->npending)
			sign(f, SMTP_S_AFTER_5XX, "%s (every RCPT got 5xx)",
			     line);
		break;
	case C_RSET:
		new_transaction(f);
		break;
	case C_BDAT:
		f->end = SMTP_END_BDAT;
		return;
	case C_QUIT:
		f->end = SMTP_END_QUIT;
		return;
	}
	push(f, cmd, h);
}

/* Message content: looks for the final "." line, CRLF or bare LF. */
enum { DOT_BOL, DOT_DOT, DOT_DOTCR, DOT_MID };

static size_t skip_content(struct smtp_flow *f, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		uint8_t ch = p[i];

		switch (f->dot) {
		case DOT_BOL:
			f->dot = ch == '.' ? DOT_DOT : ch == '\n' ? DOT_BOL : DOT_MID;
			break;
		case DOT_DOT:
			if (ch == '\n')
				goto end;
			f->dot = ch == '\r' ? DOT_DOTCR : DOT_MID;
			break;
		case DOT_DOTCR:
			if (ch == '\n')
				goto end;
			f->dot = DOT_MID;
			break;
		default:
			if (ch == '\n')
				f->dot = DOT_BOL;
			break;
		}
	}
	return n;
end:
	f->in_data = false;
	push(f, C_DATA_END, 0);
	return i + 1;
}

bool smtp_client(struct smtp_flow *f, const uint8_t *p, size_t n)
{
	size_t i = 0;

	f->client_bytes += n;
	while (i < n && !f->end) {
		if (f->in_data) {
			i += skip_content(f, p + i, n - i);
			continue;
		}
		if (p[i] == '\n') {
			if (f->clen && f->cline[f->clen - 1] == '\r')
				f->clen--;
			f->cline[f->clen] = '\0';
			command(f, f->cline);
			f->clen = 0;
			f->clong = false;
		} else if (f->clen < SMTP_LINE_MAX) {
			/* A NUL would hide the rest of the line: binary. */
			f->cline[f->clen++] = p[i] ? p[i] : 0x01;
		} else {
			f->clong = true;
		}
		i++;
	}
	return !f->end;
}

/* ---- replies ----------------------------------------------------------------- */

static void errors_share(struct smtp_flow *f)
{
	if (f->replies >= SMTP_ERROR_MIN_REPLIES &&
	    f->errors * 100 >= f->replies * SMTP_ERROR_SHARE_PCT)
		sign(f, SMTP_S_ERROR_SHARE, "%u of %u replies 4xx/5xx",
		     f->errors, f->replies);
}

static void greeting(struct smtp_flow *f, unsigned int code, const char *text)
{
	/* "220 2.0.0 Ready to start TLS" answers a STARTTLS we never saw. */
	if ((code != 220 && code != 554 && code != 421) ||
	    !strncmp(text, "2.0.0", 5)) {
		f->end = SMTP_END_DESYNC;
		return;
	}
	f->greeted = true;
	f->greet_refused = code != 220;
}

/* A complete reply: its code and the text of its last line. */
static void reply(struct smtp_flow *f, unsigned int code, const char *text)
{
	struct smtp_pending p;
	unsigned int class = code / 100;

	if (!f->greeted) {
		greeting(f, code, text);
		return;
	}
	if (!pop(f, &p))
		return;		/* unsolicited: 421 on a timeout */
	f->replies++;
	if (class == 4 || class == 5)
		f->errors++;
	f->last_4xx = class == 4 &&
		(p.cmd == C_MAIL || p.cmd == C_RCPT || p.cmd == C_DATA ||
		 p.cmd == C_DATA_END);
	switch (p.cmd) {
	case C_EHLO:
		f->pipelining_ok = class == 2 && f->reply_pipelining;
		break;
	case C_MAIL:
		f->mail_rejected = class == 5;
		break;
	case C_RCPT:
		if (class == 2) {
			f->rcpt_ok++;
		} else if (class == 5) {
			f->rcpt_5xx++;
			if (f->nrejected < SMTP_REJECTED_MAX)
				f->rejected[f->nrejected++] = p.arg;
		}
		break;
	case C_DATA:
		if (code == 354) {
			if (f->npending) {
				/* content already went out as "commands" */
				f->end = SMTP_END_PIPELINED_DATA;
				break;
			}
			f->in_data = true;
			f->dot = DOT_BOL;
		}
		break;
	case C_DATA_END:
		new_transaction(f);
		break;
	case C_STARTTLS:
		if (code == 220)
			f->end = SMTP_END_STARTTLS;
		break;
	case C_AUTH:
	case C_AUTH_DATA:
		f->auth_cont = code == 334;
		break;
	}
	errors_share(f);
}

static bool upper_eq(const char *s, const char *word)
{
	for (; *word; s++, word++)
		if (toupper((unsigned char)*s) != *word)
			return false;
	return !*s || *s == ' ';
}

/* One reply line, without its line end (and cut to SMTP_REPLY_KEEP). */
static void reply_line(struct smtp_flow *f, const char *line)
{
	unsigned int code;

	if (!isdigit((unsigned char)line[0]) || !isdigit((unsigned char)line[1]) ||
	    !isdigit((unsigned char)line[2]) ||
	    (line[3] && line[3] != ' ' && line[3] != '-') || line[0] < '2' ||
	    line[0] > '5') {
		f->end = SMTP_END_NOT_SMTP;
		return;
	}
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (line[3] && upper_eq(line + 4, "PIPELINING"))
		f->reply_pipelining = true;
	if (line[3] == '-')
		return;
	reply(f, code, line[3] ? line + 4 : "");
	f->reply_pipelining = false;
}

bool smtp_server(struct smtp_flow *f, const uint8_t *p, size_t n)
{
	size_t i;

	f->server_bytes += n;
	for (i = 0; i < n && !f->end; i++) {
		if (p[i] == '\n') {
			if (f->slen && f->sline[f->slen - 1] == '\r')
				f->slen--;
			f->sline[f->slen] = '\0';
			reply_line(f, f->sline);
			f->slen = 0;
		} else if (f->slen < SMTP_REPLY_KEEP) {
			f->sline[f->slen++] = p[i] ? p[i] : ' ';
		}
	}
	return !f->end;
}
