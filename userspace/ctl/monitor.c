// SPDX-License-Identifier: GPL-2.0
/*
 * smtpgatectl monitor
 *
 * Prints each event of the caller's network namespace as it comes, one
 * line each (with -j one JSON object per line), stamped with the time it
 * was received: the kernel's events carry the evidence, not a time.  A
 * socket that overran lost events: that is said on stderr and the monitor
 * goes on.  SIGINT and SIGTERM end it with status 0.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "out.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig __maybe_unused)
{
	stop = 1;
}

static enum out_color event_color(unsigned int cmd)
{
	switch (cmd) {
	case SMTPGATE_CMD_HOST_FLAGGED:
		return COLOR_RED;
	case SMTPGATE_CMD_BAN_ADDED:
		return COLOR_YELLOW;
	default:
		return COLOR_GREEN;
	}
}

static int print_event(const struct sgnl_event *ev, void *arg __maybe_unused)
{
	const char *name = sgnl_cmd_name(ev->cmd);
	char buf[32];

	out_line();
	out_uint(OUT_JSON, "time", NULL, time(NULL));
	out_str(OUT_TEXT, NULL, NULL, fmt_time(time(NULL), "%Y-%m-%d %H:%M:%S",
					       buf, sizeof(buf)));
	out_color(event_color(ev->cmd));
	out_str(OUT_ANY, "event", NULL, name ? name : "unknown");
	if (ev->has_ban) {
		out_object(OUT_ANY, "ban");
		ban_print(&ev->ban, ev->cmd == SMTPGATE_CMD_BAN_EXPIRED);
		out_end();
	}
	if (ev->has_stats) {
		instance_print(&ev->stats);
		out_uint(OUT_ANY, "removed", "bans removed", ev->stats.bans);
	}
	if (ev->has_host) {
		/* A ban's line names the host already: evidence in JSON. */
		out_object(ev->has_ban ? OUT_JSON : OUT_ANY, "host");
		host_print(&ev->host, false);
		out_end();
	}
	out_end();
	return 0;
}

int cmd_monitor(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct sgnl *h;
	int ret;

	if (argc != 1)
		return usage_error(argv[0], "monitor: unexpected '%s'", argv[1]);
	h = ctl_nl();
	if (sgnl_events_subscribe(h))
		return nl_fail(h, "cannot listen to the events");
	/* No SA_RESTART: the signal must end the wait in poll(). */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	while (!stop) {
		ret = sgnl_event_recv(h, -1, print_event, NULL);
		if (ret >= 0 || stop)
			continue;
		if (ret == -ENOBUFS) {
			errmsg("monitor: %s", sgnl_error_msg(h));
			continue;
		}
		if (ret == -EINTR)
			continue;
		return nl_fail(h, "monitor");
	}
	return EXIT_OK;
}
