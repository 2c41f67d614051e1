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

static void metric(struct out *o, const char *name, const char *type,
		   const char *help, uint64_t v)
{
	head(o, name, type, help);
	put(o, "%s %" PRIu64 "\n", name, v);
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
	packets(o, st);
	metric(o, "smtpgate_hosts", "gauge",
	       "Internal hosts tracked now.", st->hosts);
	metric(o, "smtpgate_flagged_hosts", "gauge",
	       "Hosts flagged as spambots now.", st->flagged);
	metric(o, "smtpgate_bans", "gauge",
	       "Bans in force in the kernel now.", st->bans);
	metric(o, "smtpgate_host_evictions_total", "counter",
	       "Hosts evicted from the full host table.", st->host_evictions);
	metric(o, "smtpgate_host_cap_misses_total", "counter",
	       "Packets from hosts the full table could not track.",
	       st->host_cap_misses);
	metric(o, "smtpgate_host_aggregates_total", "counter",
	       "Aggregates (a /24, a /48) the full host table made.",
	       st->host_aggregates);
	metric(o, "smtpgate_ban_cap_rejects_total", "counter",
	       "Bans refused because the ban table was full.",
	       st->ban_cap_rejects);
	metric(o, "smtpgate_event_losses_total", "counter",
	       "Events the kernel could not deliver.", st->event_losses);
}

static void daemon_counters(struct out *o, const struct sgd_counters *c,
			    const struct hooks *h, const struct sgd_store *s)
{
	metric(o, "smtpgated_flags_total", "counter",
	       "Host-flagged events received.", c->flags);
	head(o, "smtpgated_bans_total", "counter",
	     "Bans the daemon decided, by what triggered them.");
	put(o, "smtpgated_bans_total{trigger=\"flag\"} %" PRIu64 "\n",
	    c->bans_flag);
	put(o, "smtpgated_bans_total{trigger=\"sasl\"} %" PRIu64 "\n",
	    c->bans_sasl);
	metric(o, "smtpgated_allowlisted_total", "counter",
	       "Flagged hosts not banned because they are allowlisted.",
	       c->allowlisted);
	metric(o, "smtpgated_manual_bans_total", "counter",
	       "Bans added by someone else (smtpgatectl) and persisted.",
	       c->manual_bans);
	metric(o, "smtpgated_unbans_total", "counter",
	       "Bans that expired or were removed.", c->unbans);
	metric(o, "smtpgated_ban_errors_total", "counter",
	       "Bans the kernel refused.", c->ban_errors);
	metric(o, "smtpgated_resyncs_total", "counter",
	       "Resynchronisations with the kernel after lost events.",
	       c->resyncs);
	metric(o, "smtpgated_sasl_failures_total", "counter",
	       "SASL authentication failures read from the mail log.",
	       c->sasl_failures);
	metric(o, "smtpgated_hook_runs_total", "counter",
	       "Hook commands started.", h->runs);
	metric(o, "smtpgated_hook_failures_total", "counter",
	       "Hook commands that failed, timed out or could not start.",
	       h->failures);
	metric(o, "smtpgated_stored_bans", "gauge",
	       "Bans in the state file.", s->bans.n);
	metric(o, "smtpgated_stored_offences", "gauge",
	       "Hosts with an offence history.", s->offences.n);
	metric(o, "smtpgated_state_save_errors_total", "counter",
	       "Failed writes of the state file.", s->save_errors);
	metric(o, "smtpgated_state_journal_bytes", "gauge",
	       "Bytes of the state journal (compacted past the snapshot's).",
	       s->jsize);
	metric(o, "smtpgated_state_compactions_total", "counter",
	       "Snapshots of the whole state written.", s->compactions);
	metric(o, "smtpgated_state_written_bytes_total", "counter",
	       "Bytes written to the state files.", s->bytes_written);
	metric(o, "smtpgated_reloads_total", "counter",
	       "Configuration reloads (SIGHUP) applied.", c->reloads);
	metric(o, "smtpgated_reload_errors_total", "counter",
	       "Configuration reloads refused.", c->reload_errors);
	metric(o, "smtpgated_trap_sessions_total", "counter",
	       "Trapped SMTP sessions served.", c->trap_sessions);
	metric(o, "smtpgated_trap_sessions", "gauge",
	       "Trapped SMTP sessions in progress.", c->trap_active);
	metric(o, "smtpgated_trap_refused_total", "counter",
	       "Trap connections refused: trap_max_sessions reached.",
	       c->trap_refused);
	metric(o, "smtpgated_trap_foreign_total", "counter",
	       "Trap connections closed: not from an internal prefix.",
	       c->trap_foreign);
	metric(o, "smtpgated_trap_timeouts_total", "counter",
	       "Trapped sessions ended by trap_session_timeout.",
	       c->trap_timeouts);
	metric(o, "smtpgated_inspect_packets_total", "counter",
	       "Packets read from the inspection queue.", c->insp_packets);
	metric(o, "smtpgated_inspect_flows_total", "counter",
	       "SMTP sessions followed by the inspection.", c->insp_flows);
	metric(o, "smtpgated_inspect_flows", "gauge",
	       "SMTP sessions being followed now.", c->insp_active);
	metric(o, "smtpgated_inspect_evictions_total", "counter",
	       "Sessions dropped from the table to make room (inspect_max_flows).",
	       c->insp_evictions);
	metric(o, "smtpgated_inspect_hits_total", "counter",
	       "Sessions whose dialogue scored over inspect_threshold.",
	       c->insp_hits);
	metric(o, "smtpgated_inspect_flags_total", "counter",
	       "Hosts flagged in the kernel for their dialogue.", c->insp_flags);
	metric(o, "smtpgated_inspect_flag_errors_total", "counter",
	       "Flags the kernel refused.", c->insp_flag_errors);
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
