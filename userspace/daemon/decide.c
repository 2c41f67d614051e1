// SPDX-License-Identifier: GPL-2.0
/*
 * Decisions: what a flagged host (or a SASL brute-forcer) gets, and how
 * the store follows the kernel's bans.
 *
 * A host's n-th offence is banned for ban_first * ban_factor^(n-1), capped
 * at ban_max.  Offences are forgotten once the host has stayed clean for
 * ban_decay after its last ban ended (or was lifted), so a machine cleaned
 * up last year starts again from ban_first.  Allowlisted hosts are never
 * banned (logged only, no offence counted); a host already under a ban of
 * the same or wider scope is left alone.
 *
 * Decisions queue up while events are drained and are committed together:
 * the state file is written first, then the kernel gets the bans in one
 * batch.  A crash between the two leaves bans in the file that the next
 * start restores; the reverse order could leave an enforced ban that no
 * file remembers, and an offence forgotten.
 *
 * The store follows the kernel through its events: a BAN_ADDED we did not
 * cause (smtpgatectl ban) is persisted, BAN_EXPIRED and BAN_REMOVED drop
 * the ban and start the host's clean period; BANS_FLUSHED (smtpgatectl
 * flush) drops every ban the store knew the kernel to hold.  When events
 * were lost, a dump of the kernel's bans sets the store right
 * (decide_reconcile).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "smtpgated.h"
#include "duration.h"
#include "vec.h"

#define SAVE_RETRY_MS	5000

uint64_t now_unix(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec;
}

int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the policy, pure ------------------------------------------------------- */

/* pow(), not a loop: the count can be large and the factor exactly 1. */
uint32_t decide_duration(const struct sgd_config *c, uint32_t offence)
{
	double d = c->ban_first * pow(c->ban_factor, offence ? offence - 1 : 0);

	return !(d < c->ban_max) ? c->ban_max : (uint32_t)d;
}

bool offence_decayed(const struct sgd_config *c, const struct sgd_offence *o,
		     uint64_t now)
{
	return now >= o->clean_from && now - o->clean_from >= c->ban_decay;
}

struct sgd_offence *offence_record(const struct sgd_config *c,
				   struct sgd_store *s,
				   const struct sg_prefix *p, uint64_t now)
{
	struct sgd_offence *o;
	bool created;

	o = store_offence_get(s, p, &created);
	if (!o)
		return NULL;
	if (!created && offence_decayed(c, o, now))
		o->count = 0;
	if (o->count < UINT32_MAX)
		o->count++;
	o->last = now;
	return o;
}

/* A ban in force on @p that already does what @scope would. */
static const struct sgd_ban *banned(struct sgd_store *s,
				    const struct sg_prefix *p, uint8_t scope,
				    uint64_t now)
{
	const struct sgd_ban *b = ptab_covering(&s->bans, p);

	if (!b || (b->expires && b->expires <= now))
		return NULL;
	if (scope == SMTPGATE_SCOPE_ALL && b->scope != SMTPGATE_SCOPE_ALL)
		return NULL;	/* widen it */
	return b;
}

/*
 * The decision for d->prefix (d->scope and d->reason set by the caller).
 * A ban is recorded in @s (offence and ban, the ban pending until the
 * kernel confirms it), ready to be saved and sent.
 */
void decide(const struct sgd_config *c, struct sgd_store *s,
	    struct decision *d, uint64_t now)
{
	const struct sg_prefix *allow = config_allowlisted(c, &d->prefix);
	const struct sgd_ban *b;
	struct sgd_offence *o;
	struct sgd_ban *nb;

	if (allow) {
		d->what = DECIDE_ALLOW;
		d->match = *allow;
		return;
	}
	b = banned(s, &d->prefix, d->scope, now);
	if (b) {
		d->what = DECIDE_BANNED;
		d->match = b->prefix;
		d->until = b->expires;
		return;
	}
	o = offence_record(c, s, &d->prefix, now);
	d->offence = o ? o->count : 1;
	d->duration = decide_duration(c, d->offence);
	if (o)
		o->clean_from = now + d->duration;
	d->what = DECIDE_BAN;
	nb = store_ban_put(s, &d->prefix);
	if (!nb)
		return;		/* no memory: the kernel still gets the ban */
	nb->scope = d->scope;
	nb->expires = now + d->duration;
	nb->created = now;
	nb->pending = true;
	snprintf(nb->reason, sizeof(nb->reason), "%s offence %u", d->reason,
		 d->offence);
}

/* ---- logs and hooks ---------------------------------------------------------- */

static void kv_evidence(struct kv *kv, const struct decision *d)
{
	if (d->has_host) {
		kv_uint(kv, "attempts", sgnl_host_attempts(&d->host));
		kv_uint(kv, "rate", d->host.rate);
		kv_uint(kv, "blocked", d->host.blocked_rate);
		kv_uint(kv, "destinations", d->host.destinations);
	}
	if (d->failures)
		kv_uint(kv, "failures", d->failures);
}

static const char *what_name(enum decision_what w)
{
	return w == DECIDE_BAN ? "ban" : w == DECIDE_ALLOW ? "allow" :
	       "already-banned";
}

static void log_decision(const struct decision *d, const char *error)
{
	struct kv kv;

	kv_init(&kv);
	kv_str(&kv, "action", error ? "ban-failed" : what_name(d->what));
	kv_prefix(&kv, "host", &d->prefix);
	kv_str(&kv, "reason", d->reason);
	switch (d->what) {
	case DECIDE_BAN:
		kv_duration(&kv, "duration", d->duration);
		kv_str(&kv, "scope", sgnl_scope_name(d->scope));
		kv_uint(&kv, "offence", d->offence);
		break;
	case DECIDE_ALLOW:
		kv_prefix(&kv, "allowlist", &d->match);
		break;
	case DECIDE_BANNED:
		kv_prefix(&kv, "ban", &d->match);
		kv_time(&kv, "until", d->until);
		break;
	}
	kv_evidence(&kv, d);
	if (error)
		kv_str(&kv, "error", error);
	log_kv(error ? LOG_ERR : d->what == DECIDE_BAN ? LOG_NOTICE : LOG_INFO,
	       &kv);
}

static void env_host(struct hook_env *e, const struct sg_prefix *p)
{
	char buf[SG_PREFIX_STRLEN];

	hook_env_add(e, "SMTPGATE_HOST", "%s", host_str(p, buf, sizeof(buf)));
	hook_env_add(e, "SMTPGATE_PREFIX", "%s",
		     sg_prefix_str(p, buf, sizeof(buf)));
}

static void env_decision(struct hook_env *e, const struct decision *d,
			 uint64_t now)
{
	const struct sgnl_host *h = &d->host;

	env_host(e, &d->prefix);
	hook_env_add(e, "SMTPGATE_REASON", "%s", d->reason);
	hook_env_add(e, "SMTPGATE_DECISION", "%s", what_name(d->what));
	hook_env_add(e, "SMTPGATE_ORIGIN", "%s", d->failures ? "sasl" : "flag");
	if (d->what == DECIDE_BAN) {
		hook_env_add(e, "SMTPGATE_SCOPE", "%s", sgnl_scope_name(d->scope));
		hook_env_add(e, "SMTPGATE_DURATION", "%u", d->duration);
		hook_env_add(e, "SMTPGATE_EXPIRES", "%" PRIu64, now + d->duration);
		hook_env_add(e, "SMTPGATE_OFFENCE", "%u", d->offence);
	}
	if (d->has_host) {
		hook_env_add(e, "SMTPGATE_ATTEMPTS", "%" PRIu64,
			     sgnl_host_attempts(h));
		hook_env_add(e, "SMTPGATE_RATE", "%u", h->rate);
		hook_env_add(e, "SMTPGATE_BLOCKED", "%u", h->blocked_rate);
		hook_env_add(e, "SMTPGATE_DESTINATIONS", "%u", h->destinations);
		hook_env_add(e, "SMTPGATE_FIRST_SEEN", "%" PRIu64, h->first_seen);
		hook_env_add(e, "SMTPGATE_FLAGGED_AT", "%" PRIu64, h->flagged_at);
	}
	if (d->failures)
		hook_env_add(e, "SMTPGATE_FAILURES", "%u", d->failures);
}

static void run_hook(struct sgd *d, const char *name, const char *cmd,
		     const struct sg_prefix *p, struct hook_env *e)
{
	char host[SG_PREFIX_STRLEN];

	if (cmd) {
		hook_env_add(e, "SMTPGATE_EVENT", "%s", name + 3);
		hooks_run(&d->hooks, name, cmd, host_str(p, host, sizeof(host)),
			  e, d->cfg->hook_timeout, now_ms());
	}
	hook_env_free(e);
}

static void decision_hook(struct sgd *d, const char *name, const char *cmd,
			  const struct decision *dec)
{
	struct hook_env e;

	if (!cmd)
		return;
	hook_env_init(&e);
	env_decision(&e, dec, now_unix());
	run_hook(d, name, cmd, &dec->prefix, &e);
}

/* ---- deciding ---------------------------------------------------------------- */

static int queue_push(struct sgd *d, const struct decision *dec)
{
	struct decision *q = vec_push(&d->queue, &d->nqueue, &d->capqueue,
				      sizeof(*q));

	if (!q)
		return -ENOMEM;
	*q = *dec;
	return 0;
}

/* Decides now; a ban waits in the queue for decide_commit(). */
static void decide_one(struct sgd *d, struct decision *dec)
{
	decide(d->cfg, &d->store, dec, now_unix());
	if (dec->what == DECIDE_ALLOW)
		d->cnt.allowlisted++;
	if (dec->what != DECIDE_BAN)
		log_decision(dec, NULL);
	if (dec->has_host)
		decision_hook(d, "on_flag", d->cfg->on_flag, dec);
	if (dec->what == DECIDE_BAN && queue_push(d, dec))
		log_decision(dec, "out of memory");
}

int decide_flagged(struct sgd *d, const struct sgnl_host *h)
{
	struct decision dec = { 0 };

	d->cnt.flags++;
	dec.prefix = h->prefix;
	dec.scope = d->cfg->pol.ban_scope;
	reasons_str(h->reasons, dec.reason, sizeof(dec.reason));
	dec.has_host = true;
	dec.host = *h;
	decide_one(d, &dec);
	return 0;
}

void decide_sasl(const struct sg_prefix *prefix, uint32_t failures, void *arg)
{
	struct decision dec = { 0 };
	struct sgd *d = arg;

	dec.prefix = *prefix;
	dec.scope = d->cfg->sasl_scope;
	snprintf(dec.reason, sizeof(dec.reason), "sasl");
	dec.failures = failures;
	decide_one(d, &dec);
}

static void save_now(struct sgd *d)
{
	char err[512];

	if (!store_save(&d->store, now_unix(), err, sizeof(err))) {
		d->save_retry_at = 0;
		return;
	}
	log_msg(LOG_ERR, "state: %s (bans stay enforced; will retry)", err);
	d->save_retry_at = now_ms() + SAVE_RETRY_MS;
}

/* Saves what changed; after a failure, not before SAVE_RETRY_MS. */
void decide_save(struct sgd *d)
{
	if (d->store.dirty && now_ms() >= d->save_retry_at)
		save_now(d);
}

static void to_kernel(const struct sgd_store *s, const struct decision *dec,
		      struct sgnl_ban *kb)
{
	const struct sgd_ban *b = ptab_find(&s->bans, &dec->prefix);

	memset(kb, 0, sizeof(*kb));
	kb->prefix = dec->prefix;
	kb->scope = dec->scope;
	kb->timeout = dec->duration;
	if (b)
		memcpy(kb->reason, b->reason, sizeof(kb->reason));
}

static void committed(struct sgd *d, const struct decision *dec)
{
	if (dec->failures)
		d->cnt.bans_sasl++;
	else
		d->cnt.bans_flag++;
	log_decision(dec, NULL);
	decision_hook(d, "on_ban", d->cfg->on_ban, dec);
}

/* The kernel refused it: the store must not claim it is enforced. */
static void refused(struct sgd *d, const struct decision *dec, const char *why)
{
	struct sgd_ban *b = ptab_find(&d->store.bans, &dec->prefix);

	if (b && b->pending)
		store_ban_del(&d->store, b);
	d->cnt.ban_errors++;
	log_decision(dec, why);
}

/*
 * Saves, then sends the queued bans in one batch.  A batch message is all
 * or nothing, so after a refusal the rest go one by one: one bad ban (a
 * full table, say) must not cost the others.
 */
int decide_commit(struct sgd *d)
{
	struct sgnl_ban *bans;
	size_t i, added = 0;
	int ret;

	if (!d->nqueue)
		return 0;
	/* Whatever the last failure: the file first, if at all possible. */
	save_now(d);
	bans = calloc(d->nqueue, sizeof(*bans));
	if (!bans) {
		for (i = 0; i < d->nqueue; i++)
			refused(d, &d->queue[i], "out of memory");
		d->nqueue = 0;
		return -ENOMEM;
	}
	for (i = 0; i < d->nqueue; i++)
		to_kernel(&d->store, &d->queue[i], &bans[i]);
	ret = sgnl_ban_add_batch(d->nl, bans, d->nqueue, false, &added);
	for (i = 0; i < d->nqueue; i++) {
		if (i >= added && ret && sgnl_ban_add(d->nl, &bans[i])) {
			refused(d, &d->queue[i], sgnl_error_msg(d->nl));
			continue;
		}
		committed(d, &d->queue[i]);
	}
	free(bans);
	d->nqueue = 0;
	decide_save(d);
	return 0;
}

/* ---- the kernel's ban events ----------------------------------------------------- */

static void ban_hook(struct sgd *d, const char *name, const char *cmd,
		     const struct sgnl_ban *kb, const char *why)
{
	struct hook_env e;

	if (!cmd)
		return;
	hook_env_init(&e);
	env_host(&e, &kb->prefix);
	hook_env_add(&e, "SMTPGATE_REASON", "%s", kb->reason);
	hook_env_add(&e, "SMTPGATE_SCOPE", "%s",
		     sgnl_scope_name(kb->scope) ?: "smtp");
	if (why) {
		hook_env_add(&e, "SMTPGATE_WHY", "%s", why);
	} else {
		hook_env_add(&e, "SMTPGATE_ORIGIN", "manual");
		hook_env_add(&e, "SMTPGATE_DURATION", "%u", kb->timeout);
	}
	run_hook(d, name, cmd, &kb->prefix, &e);
}

/*
 * kb->timeout is what was left when the kernel wrote the message; counted
 * from when we read it, a late read errs on the long side, never on the
 * short one.  (Not from kb->created: a replaced ban keeps its first one.)
 */
static void copy_ban(struct sgd_ban *b, const struct sgnl_ban *kb,
		     uint64_t now)
{
	b->scope = kb->scope ?: SMTPGATE_SCOPE_SMTP;
	b->expires = kb->timeout ? now + kb->timeout : 0;
	if (kb->created)
		b->created = kb->created;
	else if (!b->created)
		b->created = now;
	memcpy(b->reason, kb->reason, sizeof(b->reason));
	b->reason[sizeof(b->reason) - 1] = '\0';
}

static void ban_added(struct sgd *d, const struct sgnl_ban *kb)
{
	struct sgd_ban *b = ptab_find(&d->store.bans, &kb->prefix);
	struct kv kv;

	if (b && b->pending) {
		b->pending = false;	/* ours, already saved */
		return;
	}
	b = store_ban_put(&d->store, &kb->prefix);
	if (b)
		copy_ban(b, kb, now_unix());
	d->cnt.manual_bans++;
	kv_init(&kv);
	kv_str(&kv, "action", "manual-ban");
	kv_prefix(&kv, "host", &kb->prefix);
	kv_str(&kv, "reason", kb->reason);
	kv_duration(&kv, "duration", kb->timeout);
	kv_str(&kv, "scope", sgnl_scope_name(kb->scope) ?: "smtp");
	log_kv(LOG_NOTICE, &kv);
	ban_hook(d, "on_ban", d->cfg->on_ban, kb, NULL);
}

static void ban_ended(struct sgd *d, const struct sgnl_ban *kb, bool expired)
{
	struct sgd_ban *b = ptab_find(&d->store.bans, &kb->prefix);
	struct sgd_offence *o = ptab_find(&d->store.offences, &kb->prefix);
	uint64_t now = now_unix();
	struct kv kv;

	if (b)
		store_ban_del(&d->store, b);
	/* Lifted early: the clean period starts now. */
	if (o && o->clean_from > now) {
		o->clean_from = now;
		store_offence_changed(&d->store, o);
	}
	d->cnt.unbans++;
	kv_init(&kv);
	kv_str(&kv, "action", "unban");
	kv_prefix(&kv, "host", &kb->prefix);
	kv_str(&kv, "why", expired ? "expired" : "removed");
	kv_str(&kv, "reason", kb->reason);
	log_kv(LOG_NOTICE, &kv);
	ban_hook(d, "on_unban", d->cfg->on_unban, kb,
		 expired ? "expired" : "removed");
}

/*
 * A flush removed every ban the kernel held, so every ban whose BAN_ADDED
 * we saw before this event (events come in order): the operator's
 * decision, which the store keeps, so that the next offence is banned
 * again and the next start restores none of them.  A ban still pending was
 * added after the flush.  Another instance's flush means we missed a
 * reload: the resync sorts it out.
 */
static void bans_flushed(struct sgd *d, const struct sgnl_stats *st)
{
	struct sgd_store *s = &d->store;
	uint64_t now = now_unix();
	size_t i, dropped = 0;

	if (s->kinstance && st->instance != s->kinstance) {
		log_msg(LOG_WARNING, "flush of kernel instance %016" PRIx64
			", not ours (%016" PRIx64 "): resynchronising",
			st->instance, s->kinstance);
		d->need_resync = true;
		return;
	}
	for (i = s->bans.n; i-- > 0;) {
		struct sgd_ban *b = ptab_at(&s->bans, i);

		if (b->pending)
			continue;
		store_ban_del(s, b);
		dropped++;
	}
	/* Lifted early: the clean periods start now. */
	for (i = 0; i < s->offences.n; i++) {
		struct sgd_offence *o = ptab_at(&s->offences, i);

		if (o->clean_from > now) {
			o->clean_from = now;
			store_offence_changed(s, o);
		}
	}
	s->kinstance = st->instance;
	s->kflushes = st->flushes;
	s->dirty = true;
	d->cnt.unbans += dropped;
	log_msg(LOG_NOTICE, "action=flush kernel_bans=%u dropped=%zu: the "
		"kernel's bans were flushed; the store forgets them",
		st->bans, dropped);
}

int decide_event(const struct sgnl_event *ev, void *arg)
{
	struct sgd *d = arg;

	switch (ev->cmd) {
	case SMTPGATE_CMD_HOST_FLAGGED:
		if (ev->has_host)
			decide_flagged(d, &ev->host);
		break;
	case SMTPGATE_CMD_BAN_ADDED:
		if (ev->has_ban)
			ban_added(d, &ev->ban);
		break;
	case SMTPGATE_CMD_BAN_EXPIRED:
	case SMTPGATE_CMD_BAN_REMOVED:
		if (ev->has_ban)
			ban_ended(d, &ev->ban,
				  ev->cmd == SMTPGATE_CMD_BAN_EXPIRED);
		break;
	case SMTPGATE_CMD_BANS_FLUSHED:
		if (ev->has_stats)
			bans_flushed(d, &ev->stats);
		break;
	}
	return 0;
}

/* ---- reconciling with the kernel ---------------------------------------------------- */

/* The kernel's bans, exactly: a dump interrupted by a change is redone. */
static int dump_bans(struct sgd *d, struct sgnl_bans *k)
{
	unsigned int tries = 0;
	int ret;

	do {
		k->n = 0;
		ret = sgnl_ban_list(d->nl, sgnl_bans_add, k);
	} while (sgnl_dump_again(ret, &tries));
	return ret;
}

/*
 * Flagged hosts whose event we never saw (down, or lost): decide now.  A
 * flagged host under a ban is the ban's doing, not news.
 */
static void flagged_missed(struct sgd *d)
{
	struct sgnl_hosts l = { 0 };
	size_t i;
	int ret;

	ret = sgnl_host_list(d->nl, true, sgnl_hosts_add, &l);
	if (ret && ret != -EINTR)
		log_msg(LOG_ERR, "cannot list the flagged hosts: %s",
			sgnl_error_msg(d->nl));
	for (i = 0; i < l.n; i++)
		if (!banned(&d->store, &l.v[i].prefix, SMTPGATE_SCOPE_SMTP,
			    now_unix()))
			decide_flagged(d, &l.v[i]);
	free(l.v);
}

struct restore {
	struct sgnl_ban *v;
	size_t n;
	size_t expired;
};

/* Store bans the kernel lacks: restored (at start) or forgotten. */
static void store_only(struct sgd *d, struct ptab *seen, bool restore,
		       struct restore *r, uint64_t now)
{
	size_t i;

	for (i = d->store.bans.n; i-- > 0;) {
		struct sgd_ban *b = ptab_at(&d->store.bans, i);
		struct sgnl_ban *kb;

		if (ptab_find(seen, &b->prefix))
			continue;
		if (!restore || (b->expires && b->expires <= now)) {
			r->expired += restore;
			store_ban_del(&d->store, b);
			continue;
		}
		kb = &r->v[r->n++];
		memset(kb, 0, sizeof(*kb));
		kb->prefix = b->prefix;
		kb->scope = b->scope;
		kb->timeout = b->expires ? b->expires - now : 0;
		if (kb->timeout > SMTPGATE_MAX_BAN_TIMEOUT)
			kb->timeout = SMTPGATE_MAX_BAN_TIMEOUT;
		memcpy(kb->reason, b->reason, sizeof(kb->reason));
		b->pending = false;
	}
}

/*
 * Kernel bans: the truth for what they cover.  *@kept counts the store's
 * unexpired bans the kernel still has.
 */
static int kernel_into_store(struct sgd *d, const struct sgnl_bans *k,
			     struct ptab *seen, uint64_t now, size_t *added,
			     size_t *kept)
{
	size_t i;

	for (i = 0; i < k->n; i++) {
		struct sgd_ban *b = ptab_find(&d->store.bans, &k->v[i].prefix);
		struct sgd_ban was;

		if (!ptab_get(seen, &k->v[i].prefix, NULL))
			return -ENOMEM;
		if (b && (!b->expires || b->expires > now))
			(*kept)++;
		if (!b) {
			b = store_ban_put(&d->store, &k->v[i].prefix);
			if (!b)
				return -ENOMEM;
			(*added)++;
		}
		was = *b;
		copy_ban(b, &k->v[i], now);
		b->pending = false;
		/* Only what differs goes to the journal: a restart with a
		 * million bans the kernel kept writes next to nothing. */
		if (was.scope != b->scope || was.expires != b->expires ||
		    was.created != b->created || strcmp(was.reason, b->reason))
			store_ban_changed(&d->store, b);
	}
	return 0;
}

static void restore_bans(struct sgd *d, struct restore *r, int64_t t0)
{
	size_t added = 0;
	int ret = 0;

	if (r->n)
		ret = sgnl_ban_add_batch(d->nl, r->v, r->n, true, &added);
	if (ret)
		log_msg(LOG_ERR, "restored %zu of %zu bans from %s: %s",
			added, r->n, d->store.path, sgnl_error_msg(d->nl));
	else
		log_msg(LOG_INFO, "restored %zu bans from %s in %lld ms "
			"(%zu expired ones skipped)", added, d->store.path,
			(long long)(now_ms() - t0), r->expired);
}

/*
 * The rule for the store's bans the kernel lacks, from facts: the
 * kernel's instance (STATS_INSTANCE, new at every module load and
 * namespace creation) against the one the store last reconciled with.  A
 * new instance lost every ban: they are restored with the time they have
 * left.  The same instance lost none: a ban it lacks was lifted (unban,
 * flush: the flush count tells) or expired while we did not see it, and
 * restoring it would undo an operator's decision.  Without both instances
 * (a state file from an older smtpgated, a kernel without instances) the
 * old guess stays, at start only: none of our bans left means lost.
 */
enum sync_why sync_decide(uint64_t rec_instance, uint32_t rec_flushes,
			  uint64_t instance, uint32_t flushes, size_t kept,
			  bool start)
{
	if (!rec_instance || !instance)
		return start && !kept ? SYNC_UNKNOWN_LOST : SYNC_UNKNOWN_KEPT;
	if (instance != rec_instance)
		return SYNC_NEW_INSTANCE;
	if (flushes != rec_flushes)
		return SYNC_FLUSHED;
	return SYNC_SAME_INSTANCE;
}

bool sync_restores(enum sync_why why)
{
	return why == SYNC_UNKNOWN_LOST || why == SYNC_NEW_INSTANCE;
}

static void log_sync(struct sgd *d, enum sync_why why,
		     const struct sgnl_stats *st, size_t missing)
{
	const struct sgd_store *s = &d->store;

	switch (why) {
	case SYNC_UNKNOWN_LOST:
		log_msg(LOG_INFO, "sync: kernel instance not known; it holds "
			"none of our %zu bans: taken as lost, restoring them",
			missing);
		break;
	case SYNC_UNKNOWN_KEPT:
		if (missing)
			log_msg(LOG_INFO, "sync: kernel instance not known; %zu "
				"bans it lacks were lifted or expired: "
				"forgotten", missing);
		break;
	case SYNC_NEW_INSTANCE:
		log_msg(LOG_NOTICE, "sync: kernel instance %016" PRIx64
			" is new (was %016" PRIx64 "): module reloaded or "
			"reboot, it lost our %zu bans: restoring them",
			st->instance, s->kinstance, missing);
		break;
	case SYNC_FLUSHED:
		log_msg(LOG_NOTICE, "sync: kernel instance %016" PRIx64
			" unchanged, flushed %u times since: %zu bans it "
			"lacks were lifted, not restored", st->instance,
			st->flushes - s->kflushes, missing);
		break;
	case SYNC_SAME_INSTANCE:
		if (missing)
			log_msg(LOG_INFO, "sync: kernel instance %016" PRIx64
				" unchanged: %zu bans it lacks were lifted or "
				"expired, not restored", st->instance, missing);
		break;
	}
}

/*
 * Store and kernel agree again.  The kernel's bans go into the store
 * (bans added while the daemon was down, or whose events were lost).  A
 * ban only in the store is restored or forgotten as sync_decide() says.
 * Then flagged hosts nobody decided on are decided.  Idempotent.
 */
int decide_reconcile(struct sgd *d, bool start)
{
	struct sgnl_bans k = { 0 };
	struct restore r = { 0 };
	struct sgnl_stats st = { 0 };
	uint64_t now = now_unix();
	size_t from_kernel = 0, kept = 0, missing = 0, before, i;
	int64_t t0 = now_ms();
	enum sync_why why;
	struct ptab seen;
	bool restore;
	int ret;

	ptab_init(&seen, sizeof(struct sg_prefix));
	/* Before the dump: a flush after it shows as an event. */
	if (sgnl_stats_get(d->nl, &st)) {
		log_msg(LOG_WARNING, "cannot read the kernel's instance: %s",
			sgnl_error_msg(d->nl));
		memset(&st, 0, sizeof(st));
	}
	ret = dump_bans(d, &k);
	if (ret) {
		log_msg(LOG_ERR, "cannot list the kernel's bans: %s",
			sgnl_error_msg(d->nl));
		goto out;
	}
	ret = kernel_into_store(d, &k, &seen, now, &from_kernel, &kept);
	if (ret) {
		log_msg(LOG_ERR, "out of memory reconciling bans");
		goto out;
	}
	r.v = calloc(d->store.bans.n + 1, sizeof(*r.v));
	if (!r.v) {
		ret = -ENOMEM;
		goto out;
	}
	before = d->store.bans.n;
	why = sync_decide(d->store.kinstance, d->store.kflushes, st.instance,
			  st.flushes, kept, start);
	restore = sync_restores(why);
	for (i = 0; i < d->store.bans.n; i++)
		if (!ptab_find(&seen, ptab_at(&d->store.bans, i)))
			missing++;
	log_sync(d, why, &st, missing);
	store_only(d, &seen, restore, &r, now);
	if (restore)
		restore_bans(d, &r, t0);
	else if (before > d->store.bans.n)
		log_msg(LOG_INFO, "%zu bans ended while unseen (lifted, or "
			"expired): forgotten", before - d->store.bans.n);
	if (from_kernel)
		log_msg(LOG_INFO, "%zu bans found only in the kernel, now "
			"persisted", from_kernel);
	if (kept)
		log_msg(LOG_INFO, "the kernel kept its %zu bans", kept);
	if (st.instance && (st.instance != d->store.kinstance ||
			    st.flushes != d->store.kflushes)) {
		d->store.kinstance = st.instance;
		d->store.kflushes = st.flushes;
		d->store.dirty = true;
	}
	decide_save(d);
	flagged_missed(d);
	decide_commit(d);
out:
	free(k.v);
	free(r.v);
	ptab_free(&seen);
	return ret;
}
