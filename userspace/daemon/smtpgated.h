/* SPDX-License-Identifier: GPL-2.0 */
/*
 * smtpgated: turns the kernel's detections into bans, and keeps them.
 *
 * One file per concern:
 *   config.c     smtpgate.conf (Postfix main.cf syntax), every error with
 *                file:line and the key
 *   store.c      the state under state_dir: bans and offence history,
 *                a snapshot and a journal of changes; prefix-keyed tables
 *   decide.c     flag -> ban with escalation and decay; the kernel's ban
 *                events; reconciling store and kernel
 *   hooks.c      on_flag/on_ban/on_unban commands, with a timeout
 *   log.c        one key=value line per decision, syslog and stderr
 *   saslwatch.c  Postfix's log: SASL password fishers
 *   metrics.c    Prometheus text for node_exporter's textfile collector
 *   trap.c       the SMTP tarpit trapped hosts' port-25 connections reach
 *   smtp.c       the SMTP dialogue parser and scorer (smtp.h), pure
 *   helo.c       Postfix check_helo_access regexp tables (smtp.h)
 *   inspect.c    NFQUEUE: flows, reassembly, flags from the dialogue
 *   main.c       start, the event loop, signals, sd_notify
 */
#ifndef _SMTPGATED_H
#define _SMTPGATED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/types.h>

#include "sgnl.h"
#include "smtp.h"

#define SGD_CONFIG_PATH		"/etc/smtpgate/smtpgate.conf"
#define SGD_STATE_DIR		"/var/lib/smtpgate"
#define SGD_STATE_FILE		"smtpgated.state"
#define SGD_JOURNAL_FILE	"smtpgated.journal"
#define SGD_MAX_ALLOWLIST	4096
#define SGD_SASL_MAX_THRESHOLD	100
/* Postfix's syslog_name: the tag of smtpd's lines is NAME[/SERVICE]/smtpd. */
#define SASL_SYSLOG_NAME	"postfix"
#define SASL_MAX_SYSLOG_NAMES	16

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

/* ---- config.c ---------------------------------------------------------- */

struct sgd_prefixes {
	struct sg_prefix *v;
	size_t n, cap;
};

/* Lower-case names (inspect_protected_names). */
struct sgd_names {
	char **v;
	size_t n;
};

struct sgd_config {
	/* The kernel's part, every scalar present (defaults filled in). */
	struct sgnl_policy pol;
	/* Ban policy; pol.ban_scope is the scope of flag bans. */
	uint32_t ban_first, ban_max, ban_decay;	/* seconds */
	double ban_factor;
	struct sgd_prefixes allowlist;
	/* Hooks: shell commands, NULL when not set. */
	char *on_flag, *on_ban, *on_unban;
	uint32_t hook_timeout;
	uint32_t module_wait;			/* s without the module */
	char *state_dir;
	char *metrics_file;			/* NULL: no metrics */
	uint32_t metrics_interval;
	char *sasl_log;				/* NULL: off; "journal" */
	uint32_t sasl_threshold, sasl_window;
	uint8_t sasl_scope;
	char *sasl_syslog_name;			/* names, one space apart; NULL: postfix */
	/* Inspection; pol.inspect_queue and pol.inspect_bytes are the kernel's. */
	uint32_t inspect_threshold, inspect_max_flows;
	uint32_t inspect_max_recipients, inspect_max_messages;
	char *inspect_helo_access;		/* NULL: none */
	unsigned int inspect_helo_access_line;	/* where the file set it */
	struct sgd_names inspect_protected_names;
	struct helo_table helo;			/* config_load() reads it */
	struct smtp_conf smtp;			/* points into the above */
	/* The trap; its port is pol.trap_port (with its has-bit). */
	uint32_t trap_delay;			/* ms between pieces */
	char *trap_message;			/* NULL: TRAP_DEFAULT_MESSAGE */
	uint32_t trap_max_sessions;
	uint32_t trap_session_timeout;		/* seconds */
};

/* Receives each error message, "FILE:LINE: KEY: what is wrong". */
typedef void (*sgd_report_fn)(void *arg, const char *msg);

void config_init(struct sgd_config *c);
void config_free(struct sgd_config *c);
/* Both return the number of errors: 0 means @c is complete and valid. */
int config_parse(struct sgd_config *c, const char *name, const char *text,
		 size_t len, sgd_report_fn report, void *arg);
int config_load(struct sgd_config *c, const char *path,
		sgd_report_fn report, void *arg);
/* "FILE: warning: ..." for what a valid file may get wrong; the count. */
int config_warnings(const struct sgd_config *c, const char *path,
		    sgd_report_fn report, void *arg);
/* One line: "2 internal prefixes, 1 exempt, ..., action drop, ...". */
void config_summary(const struct sgd_config *c, char *buf, size_t len);
/* The allowlist entry overlapping @p (either containing the other). */
const struct sg_prefix *config_allowlisted(const struct sgd_config *c,
					   const struct sg_prefix *p);

/* ---- log.c ------------------------------------------------------------- */

/* A key=value line being built; values are quoted when they need it. */
struct kv {
	char buf[1024];
	size_t len;
};

typedef void (*log_sink_fn)(int prio, const char *line, void *arg);

void log_open(bool to_stderr);
void log_close(void);
/* Tests: every line goes to @fn as well (NULL: stop). */
void log_set_sink(log_sink_fn fn, void *arg);
void __attribute__((format(printf, 2, 3))) log_msg(int prio, const char *fmt, ...);

void kv_init(struct kv *kv);
void kv_str(struct kv *kv, const char *key, const char *val);
void kv_uint(struct kv *kv, const char *key, uint64_t v);
void kv_prefix(struct kv *kv, const char *key, const struct sg_prefix *p);
void kv_duration(struct kv *kv, const char *key, uint64_t secs);
void kv_time(struct kv *kv, const char *key, uint64_t when);
void log_kv(int prio, const struct kv *kv);

/* "192.0.2.66" for a full-length prefix, "2001:db8:1::/64" otherwise. */
const char *host_str(const struct sg_prefix *p, char *buf, size_t len);
/* "rate,destinations"; "none" for 0. */
const char *reasons_str(uint32_t reasons, char *buf, size_t len);

/* ---- store.c ----------------------------------------------------------- */

/*
 * A table of fixed-size records whose first member is their struct
 * sg_prefix key: an array (stable only until the next add or delete) with
 * hash chains over it.
 */
struct ptab {
	char *v;
	size_t n, cap, size;
	uint32_t *head, *next;
	uint32_t nbuckets;
	/* Prefix lengths in use, per family (IPv4: [0], IPv6: [1]). */
	uint32_t lens[2][129];
};

void ptab_init(struct ptab *t, size_t size);
void ptab_free(struct ptab *t);
void *ptab_at(const struct ptab *t, size_t i);
void *ptab_find(const struct ptab *t, const struct sg_prefix *p);
/* The record for @p, a zeroed new one (key set) if there was none. */
void *ptab_get(struct ptab *t, const struct sg_prefix *p, bool *created);
void ptab_del(struct ptab *t, void *rec);
void ptab_clear(struct ptab *t);
/* The record whose prefix contains @p, longest first. */
void *ptab_covering(const struct ptab *t, const struct sg_prefix *p);

struct sgd_ban {
	struct sg_prefix prefix;
	uint8_t scope;
	bool pending;		/* we added it; its BAN_ADDED not seen yet */
	uint64_t expires;	/* Unix time; 0: permanent */
	uint64_t created;
	char reason[SMTPGATE_BAN_REASON_LEN];
};

struct sgd_offence {
	struct sg_prefix prefix;
	uint32_t count;
	uint64_t last;		/* the last offence */
	uint64_t clean_from;	/* when its last ban ended, or will end */
};

/* What a save must write for one prefix (struct sgd_change.what). */
#define STORE_CH_BAN		0x1
#define STORE_CH_OFFENCE	0x2

struct sgd_change {
	struct sg_prefix prefix;
	uint8_t what;
};

struct sgd_store {
	char *dir, *path, *tmp, *jpath, *jtmp;
	int lock_fd;
	struct ptab bans;	/* struct sgd_ban */
	struct ptab offences;	/* struct sgd_offence */
	bool dirty;
	uint64_t saves, save_errors;
	/*
	 * The kernel state the store was last reconciled with: its
	 * STATS_INSTANCE and STATS_FLUSHES (instance 0: never, or a kernel
	 * without instances).  Saved, so a restart knows whether the kernel
	 * it finds is the one it left.
	 */
	uint64_t kinstance;
	uint32_t kflushes;

	/*
	 * The journal (store.c's top comment): the prefixes changed since
	 * the last save, what is on disk, and why the next save must rewrite
	 * everything instead of appending.
	 */
	struct ptab changes;	/* struct sgd_change */
	uint64_t saved_kinstance;
	uint32_t saved_kflushes;
	int jfd;		/* open for appends; -1: none yet */
	uint64_t jsize;		/* its bytes, whole records only */
	uint64_t gen;		/* the snapshot's generation */
	uint64_t snap_size;	/* the snapshot's bytes; 0: no snapshot */
	uint64_t compact_at;	/* journal size that triggers a compaction */
	bool have_snapshot;
	bool need_compact;
	bool readonly;		/* load only: never truncate, move or delete */
	/* For metrics and the benchmark. */
	uint64_t appends, compactions, bytes_written;
	uint64_t jrecords;	/* records replayed by the last load */
	uint64_t torn_bytes;	/* torn tail dropped by the last load */
};

int store_init(struct sgd_store *s, const char *dir);
void store_free(struct sgd_store *s);
int store_lock(struct sgd_store *s, char *err, size_t len);
/* Releases the lock and unlinks its file (a start that was refused). */
void store_unlock(struct sgd_store *s);
/*
 * 0: loaded (or nothing yet; @msg may say what was repaired, a torn
 * journal tail); 1: corrupt, moved aside, @msg says what; <0: error.
 */
int store_load(struct sgd_store *s, char *msg, size_t len);
/* Appends what changed to the journal, or compacts (below). */
int store_save(struct sgd_store *s, uint64_t now, char *err, size_t len);
/* Rewrites the snapshot whole and starts an empty journal. */
int store_compact(struct sgd_store *s, uint64_t now, char *err, size_t len);
/* The state (snapshot and journal, as loaded) as one snapshot's text. */
int store_dump(struct sgd_store *s, FILE *f);
struct sgd_ban *store_ban_put(struct sgd_store *s, const struct sg_prefix *p);
void store_ban_del(struct sgd_store *s, struct sgd_ban *b);
/* @b or @o, already in the store, was changed in place. */
void store_ban_changed(struct sgd_store *s, const struct sgd_ban *b);
void store_offence_changed(struct sgd_store *s, const struct sgd_offence *o);
/* ptab_get() on the offences, the change noted. */
struct sgd_offence *store_offence_get(struct sgd_store *s,
				      const struct sg_prefix *p, bool *created);

/* ---- hooks.c ----------------------------------------------------------- */

#define HOOKS_MAX	32

/* "KEY=VALUE" strings for a hook's environment. */
struct hook_env {
	char *v[40];
	size_t n;
};

struct hook_proc {
	pid_t pid;
	int64_t deadline;	/* monotonic ms */
	bool killed;
	char name[16];
	char host[SG_PREFIX_STRLEN];
};

struct hooks {
	struct hook_proc procs[HOOKS_MAX];
	size_t n;
	uint64_t runs, failures;
	uint64_t skipped;	/* since the table was last full */
};

void hook_env_init(struct hook_env *e);
void __attribute__((format(printf, 3, 4)))
hook_env_add(struct hook_env *e, const char *key, const char *fmt, ...);
void hook_env_free(struct hook_env *e);
/* Starts @cmd with /bin/sh and returns at once; 0 or -errno. */
int hooks_run(struct hooks *h, const char *name, const char *cmd,
	      const char *host, const struct hook_env *env,
	      uint32_t timeout, int64_t now_ms);
/* Reaps finished hooks, kills overdue ones; logs failures. */
void hooks_tick(struct hooks *h, int64_t now_ms);
/* The next deadline (monotonic ms), -1 when none runs. */
int64_t hooks_next_deadline(const struct hooks *h);

/* ---- saslwatch.c ------------------------------------------------------- */

struct sasl_src {
	struct sg_prefix prefix;
	uint32_t n, head;
	uint32_t t[SGD_SASL_MAX_THRESHOLD];	/* Unix times, a ring */
};

/* Called when a source reaches the threshold within the window. */
typedef void (*sasl_hit_fn)(const struct sg_prefix *prefix, uint32_t failures,
			    void *arg);

struct sasl {
	char *spec;		/* a path, or "journal" */
	int fd;			/* the file, or journalctl's pipe */
	dev_t dev;
	ino_t ino;
	off_t off;
	int ino_fd;		/* inotify on the file's directory */
	pid_t child;		/* journalctl */
	int64_t restart_at;	/* monotonic ms: journalctl again */
	char buf[8192];
	size_t blen;
	struct ptab srcs;	/* struct sasl_src */
	uint32_t threshold, window;
	uint8_t prefix4, prefix6;
	const char *names;	/* syslog_names, space-separated; NULL: postfix */
	const char *journalctl;	/* the absolute path run for "journal" */
	uint64_t lines, failures, hits;
};

/*
 * Parses one log line; 1 with @addr set for a SASL failure that Postfix's
 * smtpd logged under one of @names (space-separated syslog_names; NULL:
 * SASL_SYSLOG_NAME), else 0.
 */
int sasl_parse_line(const char *line, const char *names, struct sg_prefix *addr);
/* Counts one failure of @addr at @now; true when it reached the threshold. */
bool sasl_count(struct sasl *s, const struct sg_prefix *addr, uint64_t now,
		struct sg_prefix *prefix);
void sasl_init(struct sasl *s);
int sasl_open(struct sasl *s, const char *spec, bool from_start);
void sasl_close(struct sasl *s);
/* Reads what is new; calls @fn for each source over the threshold. */
void sasl_read(struct sasl *s, uint64_t now, sasl_hit_fn fn, void *arg);
/* Rotation, truncation, journalctl restarts; call about once a second. */
void sasl_tick(struct sasl *s, int64_t now_ms, uint64_t now,
	       sasl_hit_fn fn, void *arg);
/* The descriptors to poll for reading (up to 2); returns how many. */
int sasl_pollfds(const struct sasl *s, int *fds);

/* ---- metrics.c --------------------------------------------------------- */

/* The daemon's own counters, for the metrics. */
struct sgd_counters {
	uint64_t flags;			/* HOST_FLAGGED events */
	uint64_t bans_flag, bans_sasl;	/* bans decided */
	uint64_t allowlisted;		/* flagged, allowlisted: logged only */
	uint64_t manual_bans;		/* noticed BAN_ADDED not ours */
	uint64_t unbans;		/* BAN_EXPIRED and _REMOVED */
	uint64_t ban_errors;		/* the kernel refused a ban */
	uint64_t resyncs;		/* after lost events */
	uint64_t sasl_failures;		/* SASL failure lines */
	uint64_t reloads, reload_errors;
	/* trap.c's, copied before each render */
	uint64_t trap_sessions, trap_active, trap_refused, trap_foreign;
	uint64_t trap_timeouts;
	/* inspect.c's, copied before each render (zero: inspection off) */
	uint64_t insp_packets, insp_flows, insp_evictions, insp_hits;
	uint64_t insp_flags, insp_flag_errors, insp_active;
};

int metrics_render(char *buf, size_t len, const struct sgnl_stats *st,
		   const struct sgd_counters *c, const struct hooks *h,
		   const struct sgd_store *s);
int metrics_write(const char *path, const char *text, char *err, size_t len);

/* ---- inspect.c ---------------------------------------------------------- */

struct inspect;

/* A session whose dialogue reached the threshold. */
struct inspect_hit {
	struct sg_prefix client, server;
	uint16_t client_port;
	const struct smtp_flow *smtp;
};

typedef void (*inspect_hit_fn)(const struct inspect_hit *hit, void *arg);

struct inspect_stats {
	uint64_t packets, bytes;	/* queued; payload bytes */
	uint64_t malformed;		/* not IPv4/IPv6 TCP to or from 25 */
	uint64_t flows, evictions, expired;
	uint64_t retransmits, holes;
	uint64_t hits;			/* sessions over the threshold */
	uint64_t flags, flag_errors;	/* HOST_FLAG sent; refused */
	uint64_t verdict_errors;
	size_t active;
};

/* The flow tracker alone (tests, bench): no socket, no kernel. */
struct inspect *inspect_new(uint32_t max_flows, const struct smtp_conf *conf,
			    inspect_hit_fn fn, void *arg);
void inspect_free(struct inspect *in);
/* One IP packet, from its network header; @now in monotonic ms. */
void inspect_packet(struct inspect *in, const uint8_t *pkt, size_t len,
		    int64_t now);
/* Forgets flows idle for INSPECT_IDLE_MS. */
void inspect_expire(struct inspect *in, int64_t now);
const struct inspect_stats *inspect_stats(const struct inspect *in);
/* Bytes one tracked flow costs, its hash bucket included. */
size_t inspect_flow_bytes(void);

struct sgd;
/* The daemon: binds, rebinds or closes the queue as d->cfg says. */
int inspect_apply(struct sgd *d);
void inspect_close(struct sgd *d);
int inspect_fd(const struct sgd *d);	/* -1: inspection off */
void inspect_read(struct sgd *d);
void inspect_tick(struct sgd *d, int64_t now);

/* ---- trap.c ------------------------------------------------------------ */

#define TRAP_LINE_MAX		512	/* a command line with its CRLF
					 * (RFC 5321 4.5.3.1.4) */
#define TRAP_REPLY_MAX		1024	/* a reply, trap_message's wrapped */
#define TRAP_MESSAGE_MAX	400	/* trap_message, characters */
#define TRAP_PIECE		8	/* bytes per tarpit step */
#define TRAP_MAX_DELAY_MS	10000
#define TRAP_MAX_SESSIONS	10000	/* trap_max_sessions at most */
#define TRAP_MAX_TIMEOUT	3600
#define TRAP_DEFAULT_DELAY_MS	500
#define TRAP_DEFAULT_MAX_SESSIONS 500
#define TRAP_DEFAULT_TIMEOUT	60
#define TRAP_DEFAULT_MESSAGE \
	"550 5.7.1 This host has been blocked for sending spam. Send mail " \
	"through port 587 with authentication; contact the helpdesk."
/* The evidence kept per session (each cut to fit). */
#define TRAP_EVIDENCE_HELO	64
#define TRAP_EVIDENCE_MAIL	128
#define TRAP_EVIDENCE_RCPT	256

struct pollfd;
struct trap_sess;

struct trap {
	int lfd[2];			/* IPv4, IPv6 listeners; -1: none */
	uint16_t port;			/* 0: not listening */
	int64_t accept_pause;		/* out of descriptors: until then */
	struct trap_sess **s;		/* the sessions */
	size_t n, cap;
	/* Settings (trap_set); a reload keeps the sessions. */
	uint32_t delay_ms, max_sessions, timeout;
	struct sgnl_prefix_list internal;	/* who may be trapped */
	char hostname[64];
	char reply[TRAP_REPLY_MAX];	/* trap_message as a reply */
	size_t reply_len;
	/* Counters */
	uint64_t sessions;		/* served */
	uint64_t refused;		/* over trap_max_sessions */
	uint64_t foreign;		/* not from an internal prefix */
	uint64_t timeouts;		/* ended by trap_session_timeout */
};

void trap_init(struct trap *t);
void trap_set(struct trap *t, const struct sgd_config *c);
void trap_set_message(struct trap *t, const char *msg);
/*
 * Listens on @port (0: an ephemeral one) on @addr4 and @addr6 (NULL: any
 * address), replacing the listeners only once the new ones are open.
 * Returns the port, or -errno with @err saying why.
 */
int trap_listen(struct trap *t, uint16_t port, const char *addr4,
		const char *addr6, char *err, size_t len);
void trap_unlisten(struct trap *t);
/* trap_set(), and the listeners on pol.trap_port; -1: the port cannot be
 * had (logged), nothing changed. */
int trap_configure(struct trap *t, const struct sgd_config *c);
/* The poll loop: trap_pollfds() fills trap_nfds() entries, trap_run()
 * takes them back after poll() (same order; nothing may change between). */
size_t trap_nfds(const struct trap *t);
size_t trap_pollfds(const struct trap *t, struct pollfd *pfd, size_t max,
		    int64_t now);
void trap_run(struct trap *t, const struct pollfd *pfd, size_t n,
	      int64_t now);
/* The next tarpit step or time limit (monotonic ms), -1 when none. */
int64_t trap_next_deadline(const struct trap *t);
/* Ends every session (logged, end=shutdown) and closes the listeners. */
void trap_close(struct trap *t);

/* ---- decide.c ---------------------------------------------------------- */

enum decision_what {
	DECIDE_BAN,
	DECIDE_ALLOW,		/* allowlisted: logged only */
	DECIDE_BANNED,		/* already under a ban */
};

struct decision {
	enum decision_what what;
	struct sg_prefix prefix;
	char reason[40];			/* "rate,destinations", "sasl" */
	uint8_t scope;
	uint32_t duration, offence;
	struct sg_prefix match;			/* allowlist entry, or ban */
	uint64_t until;				/* DECIDE_BANNED: its end */
	/* evidence */
	bool has_host;
	struct sgnl_host host;
	uint32_t failures;			/* sasl */
};

/* The whole daemon. */
struct sgd {
	struct sgd_config *cfg;
	const char *config_path;
	struct sgd_store store;
	struct sgnl *nl;		/* requests */
	struct sgnl *ev;		/* events only */
	struct hooks hooks;
	struct sasl sasl;
	struct trap trap;
	struct sgd_counters cnt;
	struct decision *queue;		/* decided, not yet committed */
	size_t nqueue, capqueue;
	uint64_t event_losses;		/* the kernel's count we last saw */
	bool need_resync;
	int64_t lost_since;		/* monotonic ms; 0: the module answers */
	int exit_code;			/* the loop ended for this */
	int64_t save_retry_at;		/* monotonic ms; after a failed save */
	struct inspect *insp;		/* NULL: no inspection */
};

uint64_t now_unix(void);
int64_t now_ms(void);

uint32_t decide_duration(const struct sgd_config *c, uint32_t offence);
struct sgd_offence *offence_record(const struct sgd_config *c,
				   struct sgd_store *s,
				   const struct sg_prefix *p, uint64_t now);
bool offence_decayed(const struct sgd_config *c,
		     const struct sgd_offence *o, uint64_t now);
void decide(const struct sgd_config *c, struct sgd_store *s,
	    struct decision *d, uint64_t now);

int decide_flagged(struct sgd *d, const struct sgnl_host *h);
void decide_sasl(const struct sg_prefix *prefix, uint32_t failures, void *arg);
int decide_commit(struct sgd *d);
int decide_event(const struct sgnl_event *ev, void *arg);
int decide_reconcile(struct sgd *d, bool start);

/* What a reconcile does with the store's bans the kernel lacks. */
enum sync_why {
	SYNC_UNKNOWN_LOST,	/* no instance known; the kernel holds none */
	SYNC_UNKNOWN_KEPT,	/* no instance known; the kernel holds some */
	SYNC_NEW_INSTANCE,	/* module reloaded, reboot: the kernel lost them */
	SYNC_FLUSHED,		/* same instance, flushed since: lifted */
	SYNC_SAME_INSTANCE,	/* same instance: lifted or expired */
};

enum sync_why sync_decide(uint64_t rec_instance, uint32_t rec_flushes,
			  uint64_t instance, uint32_t flushes, size_t kept,
			  bool start);
bool sync_restores(enum sync_why why);
void decide_save(struct sgd *d);

#endif /* _SMTPGATED_H */
