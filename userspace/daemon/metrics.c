// SPDX-License-Identifier: GPL-2.0
/*
 * Metrics in the Prometheus text format, for node_exporter's textfile
 * collector: the kernel's counters (per class and verdict, tables, losses)
 * and the daemon's own.  The file is replaced by rename, so the collector
 * never reads half of it; the temporary name ends in .tmp, which the
 * collector ignores (it reads *.prom only).
 *
 * Every class x verdict series is written, zeros included, so rate() and
 * alerts see a series from the start instead of one appearing later.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smtpgated.h"

struct out {
	char *buf;
	size_t len, used;
	bool full;
};

static void __attribute__((format(printf, 2, 3)))
put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->used, o->len - o->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->len - o->used)
		o->full = true;
	else
		o->used += n;
}

static void head(struct out *o, const char *name, const char *type,
		 const char *help)
{
	put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/*
 * One row a series; rows of one name follow each other and share its HELP
 * and TYPE, printed before the first.  @labels: NULL, or "key=\"value\""
 * pairs without the braces.
 */
struct metric {
	const char *name, *type, *help, *labels;
	uint64_t v;
};

#define SERIES(name, type, help, labels, v)	{ name, type, help, labels, v }
#define COUNTER(name, help, v)	SERIES(name, "counter", help, NULL, v)
#define GAUGE(name, help, v)	SERIES(name, "gauge", help, NULL, v)

static void put_metrics(struct out *o, const struct metric *m, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!i || strcmp(m[i].name, m[i - 1].name))
			head(o, m[i].name, m[i].type, m[i].help);
		if (m[i].labels)
			put(o, "%s{%s} %" PRIu64 "\n", m[i].name, m[i].labels,
			    m[i].v);
		else
			put(o, "%s %" PRIu64 "\n", m[i].name, m[i].v);
	}
}

static void packets(struct out *o, const struct sgnl_stats *st)
{
	unsigned int c, v;

	head(o, "smtpgate_packets_total", "counter",
	     "Forwarded packets smtpgate classified, by class and verdict.");
	for (c = 0; c <= SMTPGATE_CLASS_MAX; c++)
		for (v = 0; v <= SMTPGATE_VERDICT_MAX; v++)
			put(o, "smtpgate_packets_total{class=\"%s\",verdict=\"%s\"} %" PRIu64 "\n",
			    sgnl_class_name(c), sgnl_verdict_name(v),
			    st->packets[c][v]);
}

static void kernel(struct out *o, const struct sgnl_stats *st)
{
	const struct metric m[] = {
		GAUGE("smtpgate_hosts",
		      "Internal hosts tracked now.", st->hosts),
		GAUGE("smtpgate_flagged_hosts",
		      "Hosts flagged as spambots now.", st->flagged),
		GAUGE("smtpgate_bans",
		      "Bans in force in the kernel now.", st->bans),
		COUNTER("smtpgate_host_evictions_total",
			"Hosts evicted from the full host table.",
			st->host_evictions),
		COUNTER("smtpgate_host_cap_misses_total",
			"Packets from hosts the full table could not track.",
			st->host_cap_misses),
		COUNTER("smtpgate_host_aggregates_total",
			"Aggregates (a /24, a /48) the full host table made.",
			st->host_aggregates),
		COUNTER("smtpgate_ban_cap_rejects_total",
			"Bans refused because the ban table was full.",
			st->ban_cap_rejects),
		COUNTER("smtpgate_event_losses_total",
			"Events the kernel could not deliver.",
			st->event_losses),
	};

	packets(o, st);
	put_metrics(o, m, ARRAY_SIZE(m));
}

static void daemon_counters(struct out *o, const struct sgd_counters *c,
			    const struct hooks *h, const struct sgd_store *s)
{
	const struct metric m[] = {
		COUNTER("smtpgated_flags_total",
			"Host-flagged events received.", c->flags),
		SERIES("smtpgated_bans_total", "counter",
		       "Bans the daemon decided, by what triggered them.",
		       "trigger=\"flag\"", c->bans_flag),
		SERIES("smtpgated_bans_total", "counter", NULL,
		       "trigger=\"sasl\"", c->bans_sasl),
		COUNTER("smtpgated_allowlisted_total",
			"Flagged hosts not banned because they are allowlisted.",
			c->allowlisted),
		COUNTER("smtpgated_manual_bans_total",
			"Bans added by someone else (smtpgatectl) and persisted.",
			c->manual_bans),
		COUNTER("smtpgated_unbans_total",
			"Bans that expired or were removed.", c->unbans),
		COUNTER("smtpgated_ban_errors_total",
			"Bans the kernel refused.", c->ban_errors),
		COUNTER("smtpgated_resyncs_total",
			"Resynchronisations with the kernel after lost events.",
			c->resyncs),
		COUNTER("smtpgated_sasl_failures_total",
			"SASL authentication failures read from the mail log.",
			c->sasl_failures),
		COUNTER("smtpgated_hook_runs_total",
			"Hook commands started.", h->runs),
		COUNTER("smtpgated_hook_failures_total",
			"Hook commands that failed, timed out or could not start.",
			h->failures),
		GAUGE("smtpgated_stored_bans",
		      "Bans in the state file.", s->bans.n),
		GAUGE("smtpgated_stored_offences",
		      "Hosts with an offence history.", s->offences.n),
		COUNTER("smtpgated_state_save_errors_total",
			"Failed writes of the state file.", s->save_errors),
		GAUGE("smtpgated_state_journal_bytes",
		      "Bytes of the state journal (compacted past the snapshot's).",
		      s->jsize),
		COUNTER("smtpgated_state_compactions_total",
			"Snapshots of the whole state written.", s->compactions),
		COUNTER("smtpgated_state_written_bytes_total",
			"Bytes written to the state files.", s->bytes_written),
		COUNTER("smtpgated_reloads_total",
			"Configuration reloads (SIGHUP) applied.", c->reloads),
		COUNTER("smtpgated_reload_errors_total",
			"Configuration reloads refused.", c->reload_errors),
		COUNTER("smtpgated_trap_sessions_total",
			"Trapped SMTP sessions served.", c->trap_sessions),
		GAUGE("smtpgated_trap_sessions",
		      "Trapped SMTP sessions in progress.", c->trap_active),
		COUNTER("smtpgated_trap_refused_total",
			"Trap connections refused: trap_max_sessions reached.",
			c->trap_refused),
		COUNTER("smtpgated_trap_foreign_total",
			"Trap connections closed: not from an internal prefix.",
			c->trap_foreign),
		COUNTER("smtpgated_trap_timeouts_total",
			"Trapped sessions ended by trap_session_timeout.",
			c->trap_timeouts),
		COUNTER("smtpgated_inspect_packets_total",
			"Packets read from the inspection queue.",
			c->insp_packets),
		COUNTER("smtpgated_inspect_flows_total",
			"SMTP sessions followed by the inspection.",
			c->insp_flows),
		GAUGE("smtpgated_inspect_flows",
		      "SMTP sessions being followed now.", c->insp_active),
		COUNTER("smtpgated_inspect_evictions_total",
			"Sessions dropped from the table to make room (inspect_max_flows).",
			c->insp_evictions),
		COUNTER("smtpgated_inspect_hits_total",
			"Sessions whose dialogue scored over inspect_threshold.",
			c->insp_hits),
		COUNTER("smtpgated_inspect_flags_total",
			"Hosts flagged in the kernel for their dialogue.",
			c->insp_flags),
		COUNTER("smtpgated_inspect_flag_errors_total",
			"Flags the kernel refused.", c->insp_flag_errors),
	};

	put_metrics(o, m, ARRAY_SIZE(m));
}

int metrics_render(char *buf, size_t len, const struct sgnl_stats *st,
		   const struct sgd_counters *c, const struct hooks *h,
		   const struct sgd_store *s)
{
	struct out o = { .buf = buf, .len = len };

	if (st)
		kernel(&o, st);
	daemon_counters(&o, c, h, s);
	return o.full ? -ENOSPC : (int)o.used;
}

int metrics_write(const char *path, const char *text, char *err, size_t len)
{
	size_t n = strlen(path) + 5, left = strlen(text);
	char *tmp = malloc(n);
	ssize_t w;
	int fd, ret = 0;

	if (!tmp)
		return -ENOMEM;
	snprintf(tmp, n, "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	while (left) {
		w = write(fd, text, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			ret = -errno;
			break;
		}
		text += w;
		left -= w;
	}
	if (close(fd) && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret)
		unlink(tmp);
out:
	if (ret)
		snprintf(err, len, "cannot write %s: %s", path, strerror(-ret));
	free(tmp);
	return ret;
}
