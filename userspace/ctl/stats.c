// SPDX-License-Identifier: GPL-2.0
/*
 * smtpgatectl stats
 *
 * Packets per class and verdict (the kernel sums its per-CPU counters on
 * read), table sizes, and what was lost to the caps: evictions, untracked
 * packets, refused bans, undelivered events.  The only command an
 * unprivileged user may run: counters reveal no host.
 */
#include <stdio.h>

#include "ctl.h"
#include "out.h"

static void print_packets(const struct sgnl_stats *st)
{
	unsigned int c, v;

	out_table("packets");
	for (c = 0; c <= SMTPGATE_CLASS_MAX; c++) {
		out_row(sgnl_class_name(c));
		out_str(OUT_TEXT, NULL, "class", sgnl_class_name(c));
		for (v = 0; v <= SMTPGATE_VERDICT_MAX; v++)
			out_uint(OUT_ANY, sgnl_verdict_name(v),
				 sgnl_verdict_name(v), st->packets[c][v]);
		out_end();
	}
	out_end();
}

/*
 * The kernel state's identity: 64 random bits as hex (a JSON number would
 * lose bits in every double-based reader), and the flushes it has seen.
 */
void instance_print(const struct sgnl_stats *st)
{
	char hex[17];

	snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)st->instance);
	out_str(OUT_ANY, "instance", "instance", hex);
	out_uint(OUT_ANY, "flushes", "flushes", st->flushes);
}

int cmd_stats(int argc, char **argv)
{
	struct sgnl_stats st;

	if (argc != 1)
		return usage_error(argv[0], "stats: unexpected '%s'", argv[1]);
	if (sgnl_stats_get(ctl_nl(), &st))
		return nl_fail(ctl_nl(), "cannot read the statistics");
	out_record(NULL);
	print_packets(&st);
	out_uint(OUT_ANY, "hosts", "hosts", st.hosts);
	out_uint(OUT_ANY, "flagged", "flagged hosts", st.flagged);
	out_uint(OUT_ANY, "bans", "bans", st.bans);
	out_uint(OUT_ANY, "host_evictions", "host evictions",
		 st.host_evictions);
	out_uint(OUT_ANY, "host_cap_misses", "untracked packets (host cap)",
		 st.host_cap_misses);
	out_uint(OUT_ANY, "host_aggregates", "aggregates made (host cap)",
		 st.host_aggregates);
	out_uint(OUT_ANY, "ban_cap_rejects", "bans refused (ban cap)",
		 st.ban_cap_rejects);
	out_uint(OUT_ANY, "event_losses", "events lost", st.event_losses);
	out_uint(OUT_ANY, "host_bytes", "bytes per host", st.host_bytes);
	out_uint(OUT_ANY, "ban_bytes", "bytes per ban", st.ban_bytes);
	instance_print(&st);
	out_end();
	return EXIT_OK;
}
