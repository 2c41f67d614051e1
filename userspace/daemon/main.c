// SPDX-License-Identifier: GPL-2.0
/*
 * smtpgated [-f] [-c FILE]
 * smtpgated --check-config [-c FILE]
 * smtpgated --dump-state [-c FILE]
 *
 * Start: the configuration is read (any error ends the start), the state
 * directory locked and its file read, the policy pushed to the kernel, the
 * event group joined, then the store and the kernel reconciled: saved bans
 * restored with the time they have left, in one quiet batch, and bans made
 * while the daemon was down persisted.  Joining the events before reading
 * the kernel's bans means nothing that happens meanwhile is missed.  Then
 * systemd hears READY=1 (written by hand to $NOTIFY_SOCKET: no libsystemd).
 *
 * Without -f the daemon detaches, unless systemd supervises it
 * ($NOTIFY_SOCKET set, Type=notify), and the parent exits only once the
 * child is ready, with its status: `smtpgated && echo up` tells the truth.
 *
 * One thread, one poll loop: signals (signalfd), kernel events, the SASL
 * log, the trap's listeners and sessions, and timers.  SIGHUP reloads: a
 * file with errors, or a policy the kernel refuses, is logged with its
 * reasons and changes nothing.  SIGTERM ends the daemon; the bans stay in
 * the kernel, which enforces them alone.
 *
 * --dump-state prints what the state directory holds (the snapshot with
 * its journal replayed) as one snapshot's text, read-only and without the
 * lock, so beside a running daemon too: what a restart would load.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <linux/netlink.h>

#include "smtpgated.h"

/* The project's version, from ../VERSION by way of userspace/Makefile. */
#ifndef SG_VERSION
#error "SG_VERSION is not defined: build with userspace/Makefile"
#endif
#define TICK_MS			1000
#define LOSS_CHECK_MS		5000
#define SAVE_DELAY_MS		200
/* Without the kernel module for module_wait, the daemon exits for systemd. */
#define EXIT_LOST		69	/* EX_UNAVAILABLE */

static const char usage_text[] =
	"Usage: smtpgated [-f] [-c FILE]\n"
	"       smtpgated --check-config [-c FILE]\n"
	"       smtpgated --dump-state [-c FILE]\n"
	"\n"
	"  -c, --config FILE   configuration (default " SGD_CONFIG_PATH ")\n"
	"  -f, --foreground    do not detach; log to stderr too\n"
	"      --check-config  validate the configuration and exit (0: valid)\n"
	"      --dump-state    print the saved state (snapshot and journal)\n"
	"  -h, --help          this text\n"
	"  -V, --version       the version\n";

struct opts {
	const char *config;
	bool foreground;
	bool check;
	bool dump;
};

struct timers {
	int64_t tick, loss, metrics;
	int64_t save;			/* 0: nothing to save */
};

/* ---- systemd ------------------------------------------------------------------ */

/*
 * sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET, a path
 * or, with a leading '@', an abstract socket.
 */
static void notify(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len;
	int fd;

	if (!path || (path[0] != '/' && path[0] != '@') ||
	    strlen(path) >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, strlen(path));
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	len = offsetof(struct sockaddr_un, sun_path) + strlen(path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL,
		   (struct sockaddr *)&sa, len) < 0)
		log_msg(LOG_WARNING, "cannot notify systemd: %s",
			strerror(errno));
	close(fd);
}

/* ---- configuration ---------------------------------------------------------------- */

/* Every line on stderr says who speaks: stderr may be a shared log. */
static void report_stderr(void *arg, const char *msg)
{
	fprintf(stderr, "smtpgated: %s\n", msg);
}

static void report_log(void *arg, const char *msg)
{
	log_msg(LOG_ERR, "%s", msg);
}

static void report_warning(void *arg, const char *msg)
{
	log_msg(LOG_WARNING, "%s", msg);
}

/*
 * --check-config: errors and warnings on stderr, and on success one line
 * on stdout saying what the file amounts to.  Warnings do not fail it:
 * ExecStartPre runs it, and a gateway that enforces nothing yet (being
 * set up) must still start.
 */
static int check_config(const struct sgd_config *c, const char *path,
			int errors)
{
	char sum[1024];

	if (!c)
		return errors ? 1 : 0;
	config_warnings(c, path, report_stderr, NULL);
	config_summary(c, sum, sizeof(sum));
	printf("smtpgated: %s: ok: %s\n", path, sum);
	return 0;
}

static struct sgd_config *load_config(const char *path, sgd_report_fn rep,
				      int *errors)
{
	struct sgd_config *c = malloc(sizeof(*c));

	if (!c) {
		*errors = 1;
		rep(NULL, "out of memory");
		return NULL;
	}
	config_init(c);
	*errors = config_load(c, path, rep, NULL);
	if (*errors) {
		config_free(c);
		free(c);
		return NULL;
	}
	return c;
}

static void sasl_setup(struct sgd *d)
{
	d->sasl.threshold = d->cfg->sasl_threshold;
	d->sasl.window = d->cfg->sasl_window;
	d->sasl.prefix4 = d->cfg->pol.host_prefix4;
	d->sasl.prefix6 = d->cfg->pol.host_prefix6;
	d->sasl.names = d->cfg->sasl_syslog_name;
}

/*
 * A changed source is reopened; the same one keeps its place and counts.
 * Nonzero when it cannot be followed at all (no journalctl).
 */
static int sasl_apply(struct sgd *d, const char *old)
{
	const char *now = d->cfg->sasl_log;

	if (old && now && !strcmp(old, now)) {
		sasl_setup(d);
		return 0;
	}
	sasl_close(&d->sasl);
	sasl_init(&d->sasl);
	sasl_setup(d);
	if (!now)
		return 0;
	if (sasl_open(&d->sasl, now, false))
		return -1;
	log_msg(LOG_INFO, "sasl_log: following %s (%u failures in %us ban)",
		now, d->cfg->sasl_threshold, d->cfg->sasl_window);
	return 0;
}

static void reload(struct sgd *d)
{
	struct sgd_config *nc, *old = d->cfg;
	char *old_sasl;
	int errors;

	notify("RELOADING=1");
	nc = load_config(d->config_path, report_log, &errors);
	if (!nc) {
		log_msg(LOG_ERR, "reload: %s: %d error%s; the running "
			"configuration stays", d->config_path, errors,
			errors == 1 ? "" : "s");
		goto refused;
	}
	if (strcmp(nc->state_dir, old->state_dir)) {
		log_msg(LOG_ERR, "reload: state_dir cannot change while "
			"running (restart smtpgated); the running "
			"configuration stays");
		goto refused_free;
	}
	/* The trap's new port is open before the kernel sends to it. */
	if (trap_configure(&d->trap, nc)) {
		log_msg(LOG_ERR, "reload: the trap cannot listen on port %u; "
			"the running configuration stays", nc->pol.trap_port);
		goto refused_free;
	}
	if (sgnl_policy_set(d->nl, &nc->pol)) {
		log_msg(LOG_ERR, "reload: the kernel refused the policy: %s; "
			"the running configuration stays",
			sgnl_error_msg(d->nl));
		trap_configure(&d->trap, old);
		goto refused_free;
	}
	old_sasl = old->sasl_log ? strdup(old->sasl_log) : NULL;
	d->cfg = nc;
	inspect_apply(d);	/* the flows let go of the old config first */
	config_free(old);
	free(old);
	sasl_apply(d, old_sasl);
	free(old_sasl);
	d->cnt.reloads++;
	log_msg(LOG_INFO, "reloaded %s", d->config_path);
	config_warnings(d->cfg, d->config_path, report_warning, NULL);
	notify("READY=1\nSTATUS=running");
	return;
refused_free:
	config_free(nc);
	free(nc);
refused:
	d->cnt.reload_errors++;
	notify("READY=1\nSTATUS=running (last reload refused, see the log)");
}

/* ---- the kernel module ------------------------------------------------------------ */

/*
 * Fresh handles, the family and its events group resolved now; the old
 * ones are replaced only once the new are ready.  @quiet: the failures
 * are not logged (the daemon is waiting for the module to come back).
 */
static int open_netlink(struct sgd *d, bool quiet)
{
	struct sgnl *nl = NULL, *ev = NULL, *failed = NULL;
	int one = 1;

	/* A failed open still leaves a handle holding why (NULL: no memory). */
	if (sgnl_open(&nl))
		failed = nl;
	else if (sgnl_open(&ev))
		failed = ev;
	if (failed || !nl || !ev) {
		if (!quiet)
			log_msg(LOG_ERR, "cannot reach the smtpgate kernel "
				"module: %s", failed ? sgnl_error_msg(failed) :
				"out of memory");
		goto fail;
	}
	if (sgnl_policy_set(nl, &d->cfg->pol)) {
		log_msg(LOG_ERR, "the kernel refused the policy of %s: %s",
			d->config_path, sgnl_error_msg(nl));
		goto fail;
	}
	if (sgnl_events_subscribe(ev)) {
		log_msg(LOG_ERR, "cannot subscribe to the kernel's events: %s",
			sgnl_error_msg(ev));
		goto fail;
	}
	/*
	 * Without it the kernel never learns that our socket overran, and
	 * its EVENT_LOSSES (our metrics, our resync check) would miss it.
	 */
	if (setsockopt(sgnl_fd(ev), SOL_NETLINK, NETLINK_BROADCAST_ERROR,
		       &one, sizeof(one)))
		log_msg(LOG_WARNING, "NETLINK_BROADCAST_ERROR: %s",
			strerror(errno));
	if (d->nl)
		sgnl_close(d->nl);
	if (d->ev)
		sgnl_close(d->ev);
	d->nl = nl;
	d->ev = ev;
	return 0;
fail:
	if (nl)
		sgnl_close(nl);
	if (ev)
		sgnl_close(ev);
	return -1;
}

/* The module went away, or was replaced: see the top of this file. */
static void module_lost(struct sgd *d, const char *why)
{
	if (d->lost_since)
		return;
	d->lost_since = now_ms() ?: 1;
	log_msg(LOG_WARNING, "the smtpgate module is gone or was reloaded "
		"(%s): reopening netlink; giving up in %u s", why,
		d->cfg->module_wait);
}

static void module_find(struct sgd *d)
{
	struct sgnl_stats st = { 0 };
	int64_t lost = now_ms() - d->lost_since;

	if (open_netlink(d, true)) {
		if (lost < (int64_t)d->cfg->module_wait * 1000)
			return;
		log_msg(LOG_ERR, "the smtpgate module has been gone for %lld "
			"s: exiting (status %d) for a restart",
			(long long)lost / 1000, EXIT_LOST);
		d->exit_code = EXIT_LOST;
		return;
	}
	d->lost_since = 0;
	d->need_resync = false;
	if (!sgnl_stats_get(d->nl, &st))
		d->event_losses = st.event_losses;
	log_msg(LOG_NOTICE, "the smtpgate module is back (instance %016llx, "
		"after %lld ms): policy pushed, events joined",
		(unsigned long long)st.instance, (long long)lost);
	d->cnt.resyncs++;
	decide_reconcile(d, false);
}

/* ---- statistics and metrics -------------------------------------------------------- */

static void write_metrics(struct sgd *d, const struct sgnl_stats *st)
{
	static char buf[32768];
	char err[512];

	if (!d->cfg->metrics_file)
		return;
	d->cnt.sasl_failures = d->sasl.failures;
	d->cnt.trap_sessions = d->trap.sessions;
	d->cnt.trap_active = d->trap.n;
	d->cnt.trap_refused = d->trap.refused;
	d->cnt.trap_foreign = d->trap.foreign;
	d->cnt.trap_timeouts = d->trap.timeouts;
	if (d->insp) {
		const struct inspect_stats *is = inspect_stats(d->insp);

		d->cnt.insp_packets = is->packets;
		d->cnt.insp_flows = is->flows;
		d->cnt.insp_evictions = is->evictions;
		d->cnt.insp_hits = is->hits;
		d->cnt.insp_flags = is->flags;
		d->cnt.insp_flag_errors = is->flag_errors;
		d->cnt.insp_active = is->active;
	}
	if (metrics_render(buf, sizeof(buf), st, &d->cnt, &d->hooks,
			   &d->store) < 0)
		log_msg(LOG_ERR, "metrics: more than %zu bytes", sizeof(buf));
	else if (metrics_write(d->cfg->metrics_file, buf, err, sizeof(err)))
		log_msg(LOG_ERR, "metrics: %s", err);
}

/* Lost events show in the kernel's count even when our socket did not
 * overflow (another listener's did, or an allocation failed). */
static void check_losses(struct sgd *d, const struct sgnl_stats *st)
{
	if (st->event_losses > d->event_losses) {
		log_msg(LOG_WARNING, "the kernel lost %llu events; "
			"resynchronising with it",
			(unsigned long long)(st->event_losses - d->event_losses));
		d->need_resync = true;
	}
	d->event_losses = st->event_losses;
}

static void periodic(struct sgd *d, struct timers *t, int64_t now)
{
	struct sgnl_stats st;
	bool have = false;

	if (t->save && now >= t->save) {
		decide_save(d);
		t->save = 0;
	}
	if (d->lost_since && now >= t->tick)
		module_find(d);
	if (now >= t->tick) {
		sasl_tick(&d->sasl, now, now_unix(), decide_sasl, d);
		hooks_tick(&d->hooks, now);
		inspect_tick(d, now);
		decide_save(d);		/* a failed one, retried */
		t->tick = now + TICK_MS;
	}
	if (!d->lost_since &&
	    (now >= t->loss || (d->cfg->metrics_file && now >= t->metrics))) {
		have = !sgnl_stats_get(d->nl, &st);
		if (!have)
			module_lost(d, sgnl_error_msg(d->nl));
		else if (d->store.kinstance && st.instance &&
			 st.instance != d->store.kinstance)
			module_lost(d, "new kernel instance");
	}
	if (now >= t->loss) {
		if (have && !d->lost_since)
			check_losses(d, &st);
		t->loss = now + LOSS_CHECK_MS;
	}
	if (d->cfg->metrics_file && now >= t->metrics) {
		write_metrics(d, have ? &st : NULL);
		t->metrics = now + (int64_t)d->cfg->metrics_interval * 1000;
	}
}

/* ---- start ------------------------------------------------------------------------- */

static int open_store(struct sgd *d)
{
	char msg[4608];
	int ret;

	if (store_init(&d->store, d->cfg->state_dir)) {
		log_msg(LOG_ERR, "out of memory");
		return -1;
	}
	if (store_lock(&d->store, msg, sizeof(msg))) {
		log_msg(LOG_ERR, "%s", msg);
		return -1;
	}
	ret = store_load(&d->store, msg, sizeof(msg));
	if (ret < 0) {
		log_msg(LOG_ERR, "state: %s", msg);
		return -1;
	}
	if (ret > 0)
		log_msg(LOG_CRIT, "state: %s", msg);
	else if (msg[0])
		log_msg(LOG_WARNING, "state: %s", msg);
	log_msg(LOG_INFO, "state: %zu bans, %zu offences from %s (generation "
		"%" PRIu64 ") and %" PRIu64 " journal records",
		d->store.bans.n, d->store.offences.n, d->store.path,
		d->store.gen, d->store.jrecords);
	return 0;
}

static int start(struct sgd *d)
{
	struct sgnl_stats st;

	/* The trap listens before the policy sends connections to it. */
	if (open_store(d) || trap_configure(&d->trap, d->cfg) ||
	    open_netlink(d, false))
		return -1;
	if (decide_reconcile(d, true))
		return -1;
	if (!sgnl_stats_get(d->nl, &st))
		d->event_losses = st.event_losses;
	if (sasl_apply(d, NULL))
		return -1;
	inspect_apply(d);	/* failing, it logs: SMTP passes uninspected */
	log_msg(LOG_INFO, "started: %zu bans and %zu offence histories in %s",
		d->store.bans.n, d->store.offences.n, d->store.path);
	return 0;
}

/*
 * The parent waits for the child's word: one byte, its exit status, once
 * it is ready or has failed.  An exit without a word is a failure.
 */
static int detach(void)
{
	int p[2];
	char status;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0) {
		close(p[1]);
		if (read(p[0], &status, 1) != 1)
			status = 1;
		_exit(status);
	}
	close(p[0]);
	setsid();
	if (chdir("/"))
		return -1;
	return p[1];
}

static void detached_ready(int fd, char status)
{
	int null;

	if (fd < 0)
		return;
	if (write(fd, &status, 1) != 1)
		status = 1;
	close(fd);
	null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 2)
			close(null);
	}
}

/* ---- the loop ------------------------------------------------------------------------ */

static int signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGCHLD);
	signal(SIGPIPE, SIG_IGN);
	if (sigprocmask(SIG_BLOCK, set, NULL))
		return -1;
	return signalfd(-1, set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* Returns false when the daemon should end. */
static bool on_signal(struct sgd *d, int sfd)
{
	struct signalfd_siginfo si;
	bool run = true;

	while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			run = false;
			break;
		case SIGHUP:
			reload(d);
			break;
		case SIGCHLD:
			hooks_tick(&d->hooks, now_ms());
			sasl_tick(&d->sasl, now_ms(), now_unix(), decide_sasl, d);
			break;
		}
	}
	return run;
}

static void on_events(struct sgd *d)
{
	int ret;

	ret = sgnl_event_recv(d->ev, 0, decide_event, d);
	if (ret == -ENOBUFS) {
		log_msg(LOG_WARNING, "events lost (the socket overran); "
			"resynchronising with the kernel");
		d->need_resync = true;
	} else if (ret < 0) {
		log_msg(LOG_ERR, "events: %s", sgnl_error_msg(d->ev));
	}
}

static int next_timeout(struct sgd *d, const struct timers *t)
{
	int64_t now = now_ms(), next = t->tick, h;

	if (t->loss < next)
		next = t->loss;
	if (t->save && t->save < next)
		next = t->save;
	if (d->cfg->metrics_file && t->metrics < next)
		next = t->metrics;
	h = hooks_next_deadline(&d->hooks);
	if (h >= 0 && h < next)
		next = h;
	h = trap_next_deadline(&d->trap);
	if (h >= 0 && h < next)
		next = h;
	return next <= now ? 0 : (int)(next - now);
}

/*
 * What events changed is saved SAVE_DELAY_MS later, so a storm of them
 * (smtpgatectl load of 5000 bans) costs a few writes, not one per drain.
 * Until then a crash loses nothing the kernel does not still hold: the
 * restart reconciles.  The daemon's own bans do not wait: decide_commit()
 * writes them before the kernel sees them.
 */
static void schedule_save(struct sgd *d, struct timers *t)
{
	if (d->store.dirty && !t->save)
		t->save = now_ms() + SAVE_DELAY_MS;
}

static void resync(struct sgd *d)
{
	d->need_resync = false;
	d->cnt.resyncs++;
	decide_reconcile(d, false);
	log_msg(LOG_INFO, "resynchronised: %zu bans", d->store.bans.n);
}

/* Room for the fixed descriptors (signals, events, the SASL log's, ...);
 * the trap's come after them. */
#define LOOP_FIXED_FDS		8

static void loop(struct sgd *d, int sfd)
{
	struct timers t = { 0 };
	struct pollfd *pfd = NULL, *grown;
	size_t cap = 0, need, nt;
	int sfds[2], ns, n, i, nfixed, ni;

	for (;;) {
		/* The trap's sessions come and go: the array follows them. */
		need = LOOP_FIXED_FDS + trap_nfds(&d->trap);
		if (need > cap) {
			grown = realloc(pfd, need * sizeof(*pfd));
			if (grown) {
				pfd = grown;
				cap = need;
			} else if (!pfd) {
				log_msg(LOG_ERR, "poll: out of memory");
				return;
			}
		}
		n = 0;
		pfd[n++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = sgnl_fd(d->ev), .events = POLLIN };
		ns = sasl_pollfds(&d->sasl, sfds);
		for (i = 0; i < ns; i++)
			pfd[n++] = (struct pollfd){ .fd = sfds[i], .events = POLLIN };
		ni = n;		/* the inspection queue's, when it is on */
		if (inspect_fd(d) >= 0)
			pfd[n++] = (struct pollfd){ .fd = inspect_fd(d), .events = POLLIN };
		nfixed = n;
		/* 0 when the array could not grow: the trap waits a turn. */
		nt = trap_pollfds(&d->trap, pfd + n, cap - n, now_ms());
		n += nt;
		if (poll(pfd, n, next_timeout(d, &t)) < 0 && errno != EINTR) {
			log_msg(LOG_ERR, "poll: %s", strerror(errno));
			break;
		}
		if (pfd[1].revents)
			on_events(d);
		for (i = 2; i < ni; i++)
			if (pfd[i].revents)
				sasl_read(&d->sasl, now_unix(), decide_sasl, d);
		if (ni < nfixed && pfd[ni].revents)
			inspect_read(d);
		trap_run(&d->trap, pfd + nfixed, nt, now_ms());
		decide_commit(d);
		schedule_save(d, &t);
		if (pfd[0].revents && !on_signal(d, sfd))
			break;
		periodic(d, &t, now_ms());
		if (d->exit_code)
			break;
		if (d->need_resync && !d->lost_since)
			resync(d);
	}
	free(pfd);
}

static void stop(struct sgd *d, bool started)
{
	if (started) {
		notify("STOPPING=1");
		decide_commit(d);
		decide_save(d);
		log_msg(LOG_INFO, "stopping: %zu bans stay in force in the "
			"kernel", d->store.bans.n);
	}
	sasl_close(&d->sasl);
	trap_close(&d->trap);
	inspect_close(d);
	if (d->ev)
		sgnl_close(d->ev);
	if (d->nl)
		sgnl_close(d->nl);
	/* A daemon that never started leaves no lock naming its pid. */
	if (!started)
		store_unlock(&d->store);
	store_free(&d->store);
	free(d->queue);
}

/* ---- main -------------------------------------------------------------------------- */

/* getopt's own messages would name argv[0], a path perhaps. */
static int bad_option(char **argv, int c)
{
	const char *opt = argv[optind - 1];

	if (c == ':')
		fprintf(stderr, "smtpgated: %s needs a FILE", opt);
	else if (optopt)
		fprintf(stderr, "smtpgated: unknown option '-%c'", optopt);
	else
		fprintf(stderr, "smtpgated: unknown option '%s'", opt);
	fputs(" (see 'smtpgated --help')\n", stderr);
	return -1;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "dump-state", no_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	o->config = SGD_CONFIG_PATH;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:fhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config = optarg;
			break;
		case 'f':
			o->foreground = true;
			break;
		case 'C':
			o->check = true;
			break;
		case 'D':
			o->dump = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		case 'V':
			puts("smtpgated " SG_VERSION);
			exit(0);
		default:
			return bad_option(argv, c);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "smtpgated: unexpected '%s' (see 'smtpgated "
			"--help')\n", argv[optind]);
		return -1;
	}
	return 0;
}

/* --dump-state: read-only, so no lock; a save meanwhile is a torn tail. */
static int dump_state(const struct sgd_config *cfg)
{
	struct sgd_store s;
	char msg[4608];
	int ret;

	if (store_init(&s, cfg->state_dir)) {
		fputs("smtpgated: out of memory\n", stderr);
		return 1;
	}
	s.readonly = true;
	ret = store_load(&s, msg, sizeof(msg));
	if (ret < 0) {
		fprintf(stderr, "smtpgated: %s\n", msg);
	} else {
		if (msg[0])
			fprintf(stderr, "smtpgated: %s\n", msg);
		ret = store_dump(&s, stdout);
		if (ret)
			fprintf(stderr, "smtpgated: cannot write: %s\n",
				strerror(-ret));
	}
	store_free(&s);
	return ret ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct sgd d = { 0 };
	struct opts o = { 0 };
	int errors, ready = -1, sfd;
	sigset_t set;

	if (parse_args(argc, argv, &o))
		return 2;
	d.config_path = o.config;
	d.cfg = load_config(o.config, report_stderr, &errors);
	if (o.dump && d.cfg) {
		errors = dump_state(d.cfg);
		config_free(d.cfg);
		free(d.cfg);
		return errors;
	}
	if (o.check || !d.cfg) {
		errors = o.check ? check_config(d.cfg, o.config, errors) : 1;
		if (d.cfg)
			config_free(d.cfg);
		free(d.cfg);
		return errors;
	}
	if (!o.foreground && !getenv("NOTIFY_SOCKET")) {
		ready = detach();
		if (ready < 0) {
			perror("smtpgated: cannot detach");
			config_free(d.cfg);
			free(d.cfg);
			return 1;
		}
	}
	/*
	 * Until detached_ready(), stderr is still the operator's terminal;
	 * under systemd it is the journal, which syslog reaches already.
	 */
	log_open(o.foreground || ready >= 0);
	config_warnings(d.cfg, d.config_path, report_warning, NULL);
	d.store.lock_fd = -1;
	d.store.jfd = -1;
	sasl_init(&d.sasl);
	trap_init(&d.trap);
	sfd = signals(&set);
	if (sfd < 0 || start(&d)) {
		log_msg(LOG_ERR, "not started");
		stop(&d, false);
		return 1;
	}
	if (!o.foreground) {
		log_close();
		log_open(false);
	}
	detached_ready(ready, 0);
	notify("READY=1\nSTATUS=running");
	loop(&d, sfd);
	stop(&d, true);
	config_free(d.cfg);
	free(d.cfg);
	log_close();
	return d.exit_code;
}
