// SPDX-License-Identifier: GPL-2.0
/*
 * Bans: addresses and prefixes whose traffic is dropped until they expire.
 *
 * One rhashtable per namespace holds every ban, keyed by (family, prefix
 * length, address).  The packet path masks the source to each prefix length
 * that has bans, longest first, and does one lookup per length: the cost
 * depends on how many lengths are in use, not on how many bans there are.
 * The list of lengths in use is a small RCU-published array, rebuilt when a
 * length gains its first ban or loses its last.
 *
 * Writers, dumps and expiry serialise on bans->lock.  Entries are 40 bytes,
 * with no room for an rcu_head: a writer that takes bans out of the table
 * puts them in a grave (struct sg_grave), and the grave frees them all after
 * one grace period, in process context.  Nothing is freed while a reader or
 * a table walker may still hold it.
 */
#include <linux/jhash.h>
#include <linux/rhashtable.h>
#include <linux/slab.h>
#include <net/genetlink.h>
#include <net/sock.h>

#include "counter.h"
#include "smtpgate.h"

/*
 * Reason texts are interned: a ban keeps a 15-bit id.  They are found by
 * text through a hash table (a load of 32,767 distinct texts must not cost
 * a strcmp against every one of them), and by id through bans->reason_ids.
 */
struct sg_reason {
	struct rhash_head node;	/* in bans->reasons, keyed by @text */
	struct rcu_head rcu;
	unsigned int refs;	/* under bans->lock */
	u32 id;			/* in bans->reason_ids; what a ban keeps */
	char text[];
};

static u32 sg_reason_hash(const void *data, u32 len, u32 seed)
{
	const char *text = data;

	return jhash(text, strlen(text), seed);
}

static u32 sg_reason_obj_hash(const void *data, u32 len, u32 seed)
{
	const struct sg_reason *r = data;

	return sg_reason_hash(r->text, 0, seed);
}

static int sg_reason_cmp(struct rhashtable_compare_arg *arg, const void *obj)
{
	const struct sg_reason *r = obj;

	return strcmp(r->text, arg->key);
}

static const struct rhashtable_params sg_reason_params = {
	.head_offset = offsetof(struct sg_reason, node),
	.hashfn = sg_reason_hash,
	.obj_hashfn = sg_reason_obj_hash,
	.obj_cmpfn = sg_reason_cmp,
	.automatic_shrinking = true,
};

/*
 * 40 bytes: with the rhashtable's buckets (2^21 at a million bans, 16.8 B
 * a ban) within the 64-byte budget.  For that the scope and the reason
 * (an id, not a pointer) share the two bytes after the key.
 */
struct sg_ban {
	struct rhash_head node;
	struct sg_key key;
	u16 meta;		/* SG_BAN_ALL | reason id */
	u32 expires;		/* boot-time seconds; 0: never */
	u32 created;		/* boot-time seconds */
	atomic_t drops;
};

#define SG_BAN_ALL		0x8000	/* scope "all"; else "smtp" */
#define SG_BAN_REASON		0x7fff	/* reason_ids index; 0: none */
#define SG_MAX_REASONS		SG_BAN_REASON

static u8 sg_ban_scope(const struct sg_ban *ban)
{
	return READ_ONCE(ban->meta) & SG_BAN_ALL ? SMTPGATE_SCOPE_ALL :
						   SMTPGATE_SCOPE_SMTP;
}

static u32 sg_ban_reason_id(const struct sg_ban *ban)
{
	return READ_ONCE(ban->meta) & SG_BAN_REASON;
}

static void sg_ban_set(struct sg_ban *ban, u8 scope, u32 reason_id)
{
	WRITE_ONCE(ban->meta, (scope == SMTPGATE_SCOPE_ALL ? SG_BAN_ALL : 0) |
			      reason_id);
}

/* Prefix lengths in use, longest first: all bans, and scope "all" only. */
struct sg_ban_lens {
	struct rcu_head rcu;
	u8 n_any[2];
	u8 n_all[2];
	u8 any[2][129];
	u8 all[2][129];
};

static const struct rhashtable_params sg_ban_params = {
	.head_offset = offsetof(struct sg_ban, node),
	.key_offset = offsetof(struct sg_ban, key),
	.key_len = SG_KEY_LEN,
	.automatic_shrinking = true,
};

static struct kmem_cache *sg_ban_cache;

size_t sg_ban_bytes(void)
{
	return sizeof(struct sg_ban);
}

/*
 * Bans taken out of the table, freed together once no reader can hold them:
 * one grace period for a whole batch (a flush, an expiry run), and the
 * freeing in process context, with cond_resched(), however many there are.
 */
struct sg_grave {
	struct rcu_work rwork;
	unsigned int n;
	unsigned int cap;
	struct sg_ban *ban[];
};

/* Entries handled between two cond_resched() in a long walk or free. */
#define SG_WALK_SLICE		1024

static struct workqueue_struct *sg_grave_wq;

static struct sg_grave *sg_grave_new(unsigned int cap)
{
	struct sg_grave *g;

	g = kvmalloc(struct_size(g, ban, cap), GFP_KERNEL);
	if (g) {
		g->n = 0;
		g->cap = cap;
	}
	return g;
}

static void sg_grave_work(struct work_struct *work)
{
	struct sg_grave *g = container_of(to_rcu_work(work), struct sg_grave,
					  rwork);
	unsigned int i;

	for (i = 0; i < g->n; i++) {
		kmem_cache_free(sg_ban_cache, g->ban[i]);
		if (!(i % SG_WALK_SLICE))
			cond_resched();
	}
	kvfree(g);
}

static void sg_grave_bury(struct sg_grave *g, struct sg_ban *ban)
{
	if (!WARN_ON_ONCE(g->n >= g->cap))
		g->ban[g->n++] = ban;
}

/*
 * The hosts @g's bans covered start new episodes.  Called after the bans'
 * mutex is dropped: ending an episode inside a wide ban takes sn->lock,
 * which sg_bans_add_enforced() holds while it takes the bans' mutex.  The
 * bans themselves are not freed before sg_grave_close().
 */
static void sg_grave_end_episodes(struct sg_net *sn, struct sg_grave *g)
{
	unsigned int i;

	for (i = 0; i < g->n; i++)
		sg_host_end_episode(sn, &g->ban[i]->key);
}

/* Hands @g's bans over to be freed after a grace period. */
static void sg_grave_close(struct sg_grave *g)
{
	if (!g->n) {
		kvfree(g);
		return;
	}
	INIT_RCU_WORK(&g->rwork, sg_grave_work);
	queue_rcu_work(sg_grave_wq, &g->rwork);
}

static bool sg_ban_expired(const struct sg_ban *ban, u32 now)
{
	u32 expires = READ_ONCE(ban->expires);

	return expires && (s32)(now - expires) >= 0;
}

/**
 * sg_ban_match() - the ban that covers a source, if any
 * @sn:		the namespace
 * @family:	NFPROTO_IPV4 or NFPROTO_IPV6
 * @addr:	the source address
 * @smtp:	whether the packet is SMTP (scope "smtp" bans apply)
 *
 * Called under RCU in the packet path.  An expired ban no longer matches,
 * even before the expiry work removes it.
 */
const struct sg_ban *sg_ban_match(struct sg_net *sn, u8 family,
				  const union nf_inet_addr *addr, bool smtp)
{
	const struct sg_ban_lens *lens = rcu_dereference(sn->bans.lens);
	unsigned int f = sg_fam(family), i, n;
	const struct sg_ban *ban;
	const u8 *len;
	struct sg_key key;

	if (!lens)
		return NULL;
	n = smtp ? lens->n_any[f] : lens->n_all[f];
	len = smtp ? lens->any[f] : lens->all[f];
	for (i = 0; i < n; i++) {
		sg_key_make(&key, family, addr, len[i]);
		ban = rhashtable_lookup(&sn->bans.table, &key, sg_ban_params);
		if (ban && (smtp || sg_ban_scope(ban) == SMTPGATE_SCOPE_ALL) &&
		    !sg_ban_expired(ban, sg_now()))
			return ban;
	}
	return NULL;
}

const struct sg_key *sg_ban_key(const struct sg_ban *ban)
{
	return &ban->key;
}

void sg_ban_hit(const struct sg_ban *ban)
{
	sg_counter_hit((atomic_t *)&ban->drops);
}

/* Publishes the lengths in use, rebuilt from the counts, in @lens. */
static void sg_lens_publish(struct sg_bans *b, struct sg_ban_lens *lens)
{
	struct sg_ban_lens *old;
	unsigned int f;
	int len;

	lockdep_assert_held(&b->lock);
	memset(lens, 0, sizeof(*lens));
	for (f = 0; f < 2; f++) {
		for (len = f ? 128 : 32; len >= 0; len--) {
			if (b->lens_count[f][len])
				lens->any[f][lens->n_any[f]++] = len;
			if (b->lens_count_all[f][len])
				lens->all[f][lens->n_all[f]++] = len;
		}
	}
	old = rcu_replace_pointer(b->lens, lens, lockdep_is_held(&b->lock));
	if (old)
		kfree_rcu(old, rcu);
}

/* Counts @ban in or out of its length; true when the lengths changed. */
static bool sg_lens_account(struct sg_bans *b, const struct sg_ban *ban,
			    int delta)
{
	unsigned int f = sg_fam(ban->key.family), len = ban->key.len;
	bool was_any = b->lens_count[f][len], was_all = b->lens_count_all[f][len];

	b->lens_count[f][len] += delta;
	if (sg_ban_scope(ban) == SMTPGATE_SCOPE_ALL)
		b->lens_count_all[f][len] += delta;
	return was_any != !!b->lens_count[f][len] ||
	       was_all != !!b->lens_count_all[f][len];
}

static struct sg_reason *sg_reason_get(struct sg_bans *b, const char *text)
{
	struct sg_reason *r;
	size_t len;

	int err;

	lockdep_assert_held(&b->lock);
	if (!*text)
		return NULL;
	r = rhashtable_lookup_fast(&b->reasons, text, sg_reason_params);
	if (r) {
		r->refs++;
		return r;
	}
	len = strlen(text) + 1;
	r = kmalloc(struct_size(r, text, len), GFP_KERNEL_ACCOUNT);
	if (!r)
		return ERR_PTR(-ENOMEM);
	memcpy(r->text, text, len);
	r->refs = 1;
	err = xa_alloc(&b->reason_ids, &r->id, r, XA_LIMIT(1, SG_MAX_REASONS),
		       GFP_KERNEL_ACCOUNT);
	if (err) {
		kfree(r);
		return ERR_PTR(err == -EBUSY ? -EMLINK : err);
	}
	err = rhashtable_insert_fast(&b->reasons, &r->node, sg_reason_params);
	if (err) {
		xa_erase(&b->reason_ids, r->id);
		kfree(r);
		return ERR_PTR(err);
	}
	return r;
}

static void sg_reason_put(struct sg_bans *b, struct sg_reason *r)
{
	lockdep_assert_held(&b->lock);
	if (r && !--r->refs) {
		xa_erase(&b->reason_ids, r->id);
		rhashtable_remove_fast(&b->reasons, &r->node, sg_reason_params);
		kfree_rcu(r, rcu);
	}
}

/* Under bans->lock, which keeps the reason alive. */
static struct sg_reason *sg_ban_reason(struct sg_bans *b,
				       const struct sg_ban *ban)
{
	lockdep_assert_held(&b->lock);
	u32 id = sg_ban_reason_id(ban);

	return id ? xa_load(&b->reason_ids, id) : NULL;
}

static u32 sg_expires(u32 now, u32 timeout)
{
	u32 expires = now + timeout;

	return timeout ? (expires ?: 1) : 0;
}

static void sg_next_expiry(struct sg_bans *b, u32 expires)
{
	if (expires && (!b->next_expiry || (s32)(expires - b->next_expiry) < 0))
		b->next_expiry = expires;
}

/*
 * A walk of the table costs its size: with many bans, walks are spaced a
 * second per 64k bans (at most a minute).  Matching stops at the exact
 * expiry regardless (sg_ban_match); only the event and the freeing wait.
 */
static u32 sg_expiry_spacing(const struct sg_bans *b)
{
	return min_t(u32, b->count >> 16, 60);
}

/*
 * Schedules the expiry work for the earliest expiry: earlier than it was
 * due if need be, never later.  A stream of adds cannot postpone it.
 */
static void sg_expiry_arm(struct sg_bans *b, u32 now)
{
	u32 due = b->next_expiry, earliest, wait;

	lockdep_assert_held(&b->lock);
	if (!due)
		return;
	earliest = b->expiry_walked + sg_expiry_spacing(b);
	if (b->expiry_walked && (s32)(earliest - due) > 0)
		due = earliest;
	/* At most an hour ahead: the work then arms itself again. */
	if ((s32)(due - now) > 3600)
		due = now + 3600;
	if (b->expiry_due && (s32)(due - b->expiry_due) >= 0)
		return;
	wait = (s32)(due - now) > 0 ? due - now : 0;
	b->expiry_due = due ?: 1;
	/* A tenth of a second late, so the coarse clock has passed it. */
	mod_delayed_work(system_wq, &b->expiry, wait * HZ + HZ / 10);
}

/* Applies @spec to an existing ban: scope, timeout, reason. */
static bool sg_ban_update(struct sg_bans *b, struct sg_ban *ban,
			  const struct sg_ban_spec *spec,
			  struct sg_reason *reason, u32 now)
{
	bool changed = false;

	sg_reason_put(b, sg_ban_reason(b, ban));
	if (sg_ban_scope(ban) != spec->scope) {
		changed |= sg_lens_account(b, ban, -1);
		sg_ban_set(ban, spec->scope, reason ? reason->id : 0);
		changed |= sg_lens_account(b, ban, 1);
	} else {
		sg_ban_set(ban, spec->scope, reason ? reason->id : 0);
	}
	WRITE_ONCE(ban->expires, sg_expires(now, spec->timeout));
	sg_next_expiry(b, ban->expires);
	return changed;
}

/*
 * Inserts @n fresh bans; on failure none of them stays in the table, but a
 * reader may have found one meanwhile: returns in @visible whether any was
 * in the table, so the caller frees them only after a grace period.
 */
static int sg_bans_insert(struct sg_bans *b, struct sg_ban **fresh,
			  unsigned int n, bool *visible)
{
	unsigned int i;
	int err;

	*visible = false;
	for (i = 0; i < n; i++) {
		/* Compares keys, unlike insert_fast(): a prefix named twice
		 * in one batch fails the batch instead of being stored twice.
		 */
		err = rhashtable_lookup_insert_fast(&b->table, &fresh[i]->node,
						    sg_ban_params);
		if (err)
			goto undo;
	}
	return 0;
undo:
	*visible = i > 0;
	while (i--)
		rhashtable_remove_fast(&b->table, &fresh[i]->node, sg_ban_params);
	return err;
}

struct sg_batch {
	struct sg_ban **slot;		/* the ban each spec lands in */
	struct sg_ban **fresh;		/* the new ones among them */
	struct sg_reason **reason;	/* interned, until committed */
	unsigned int n_fresh;
};

static void sg_batch_free(struct sg_batch *bt)
{
	kvfree(bt->slot);
	kvfree(bt->fresh);
	kvfree(bt->reason);
}

static int sg_batch_alloc(struct sg_batch *bt, unsigned int n)
{
	bt->n_fresh = 0;
	bt->slot = kvcalloc(n, sizeof(*bt->slot), GFP_KERNEL);
	bt->fresh = kvcalloc(n, sizeof(*bt->fresh), GFP_KERNEL);
	bt->reason = kvcalloc(n, sizeof(*bt->reason), GFP_KERNEL);
	if (bt->slot && bt->fresh && bt->reason)
		return 0;
	sg_batch_free(bt);
	return -ENOMEM;
}

/* Everything that can fail, before anything is visible. */
static int sg_batch_prepare(struct sg_bans *b, struct sg_batch *bt,
			    const struct sg_ban_spec *specs, unsigned int n,
			    u32 now)
{
	struct sg_ban *ban;
	unsigned int i;

	for (i = 0; i < n; i++) {
		bt->reason[i] = sg_reason_get(b, specs[i].reason);
		if (IS_ERR(bt->reason[i])) {
			int err = PTR_ERR(bt->reason[i]);

			bt->reason[i] = NULL;
			return err;
		}
		bt->slot[i] = rhashtable_lookup_fast(&b->table, &specs[i].key,
						     sg_ban_params);
		if (bt->slot[i])
			continue;
		ban = kmem_cache_zalloc(sg_ban_cache, GFP_KERNEL_ACCOUNT);
		if (!ban)
			return -ENOMEM;
		ban->key = specs[i].key;
		sg_ban_set(ban, specs[i].scope, 0);
		ban->created = now;
		/* Expired, so matching nothing, until the batch commits:
		 * a batch that fails leaves no trace in the packet path.
		 */
		ban->expires = now ?: U32_MAX;
		bt->slot[i] = ban;
		bt->fresh[bt->n_fresh++] = ban;
	}
	return 0;
}

/* Gives the interned reasons back; the fresh bans are the caller's. */
static void sg_batch_unprepare(struct sg_bans *b, struct sg_batch *bt,
			       unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		sg_reason_put(b, bt->reason[i]);
}

/* After the batch failed; @visible: a reader may have seen a fresh ban. */
static void sg_batch_discard(struct sg_batch *bt, bool visible)
{
	unsigned int i;

	if (visible)
		synchronize_rcu();	/* one grace period for the batch */
	for (i = 0; i < bt->n_fresh; i++)
		kmem_cache_free(sg_ban_cache, bt->fresh[i]);
}

static unsigned int sg_count_new(struct sg_bans *b,
				 const struct sg_ban_spec *specs,
				 unsigned int n)
{
	unsigned int i, n_new = 0;

	for (i = 0; i < n; i++)
		if (!rhashtable_lookup_fast(&b->table, &specs[i].key,
					    sg_ban_params))
			n_new++;
	return n_new;
}

/* Past the point of no failure: account, update, publish, tell. */
static void sg_batch_commit(struct sg_net *sn, struct sg_batch *bt,
			    const struct sg_ban_spec *specs, unsigned int n,
			    struct sg_ban_lens *lens, bool quiet, u32 now)
{
	struct sg_bans *b = &sn->bans;
	bool changed = false;
	unsigned int i;

	for (i = 0; i < bt->n_fresh; i++)
		changed |= sg_lens_account(b, bt->fresh[i], 1);
	for (i = 0; i < n; i++) {
		changed |= sg_ban_update(b, bt->slot[i], &specs[i],
					 bt->reason[i], now);
		bt->reason[i] = NULL;
	}
	b->count += bt->n_fresh;
	b->generation++;
	if (changed)
		sg_lens_publish(b, lens);
	else
		kfree(lens);
	sg_expiry_arm(b, now);
	if (!quiet)
		for (i = 0; i < n; i++)
			sg_event_ban(sn, SMTPGATE_CMD_BAN_ADDED, bt->slot[i]);
}

/**
 * sg_bans_add() - add or update bans, all or nothing
 * @sn:		the namespace
 * @specs:	the bans, already validated (no key twice)
 * @n:		how many
 * @quiet:	send no SMTPGATE_CMD_BAN_ADDED events
 *
 * An existing ban takes the spec's scope, timeout and reason: restoring
 * saved bans twice is harmless.
 *
 * Return: 0; -ENOSPC when the new ones would pass the policy's cap.
 */
int sg_bans_add(struct sg_net *sn, const struct sg_ban_spec *specs,
		unsigned int n, bool quiet)
{
	struct sg_bans *b = &sn->bans;
	const struct sg_policy *pol;
	struct sg_ban_lens *lens;
	struct sg_batch bt;
	u32 now = sg_now(), cap, n_new;
	bool visible = false;
	int err;

	err = sg_batch_alloc(&bt, n);
	if (err)
		return err;
	lens = kmalloc(sizeof(*lens), GFP_KERNEL);
	if (!lens) {
		sg_batch_free(&bt);
		return -ENOMEM;
	}

	mutex_lock(&b->lock);
	rcu_read_lock();
	pol = rcu_dereference(sn->policy);
	cap = pol ? pol->max_bans : SG_DEFAULT_MAX_BANS;
	rcu_read_unlock();

	n_new = sg_count_new(b, specs, n);
	if (b->count + n_new > cap) {
		while (n_new--)
			sg_stats_bump(sn, ban_cap_rejects);
		err = -ENOSPC;
		goto fail;
	}
	err = sg_batch_prepare(b, &bt, specs, n, now);
	if (!err)
		err = sg_bans_insert(b, bt.fresh, bt.n_fresh, &visible);
	if (err) {
		sg_batch_unprepare(b, &bt, n);
		goto fail;
	}
	sg_batch_commit(sn, &bt, specs, n, lens, quiet, now);
	mutex_unlock(&b->lock);
	sg_batch_free(&bt);
	return 0;
fail:
	mutex_unlock(&b->lock);
	sg_batch_discard(&bt, visible);
	kfree(lens);
	sg_batch_free(&bt);
	return err;
}

/* The ban as an SMTPGATE_A_BAN nest; under bans->lock (for the reason). */
int sg_ban_fill(struct sk_buff *skb, struct sg_bans *b,
		const struct sg_ban *ban)
{
	u32 now = sg_now(), expires = READ_ONCE(ban->expires);
	const struct sg_reason *reason = sg_ban_reason(b, ban);
	const struct sg_key *k = &ban->key;
	struct nlattr *nest;

	nest = nla_nest_start(skb, SMTPGATE_A_BAN);
	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u16(skb, SMTPGATE_A_BAN_FAMILY,
			k->family == NFPROTO_IPV4 ? AF_INET : AF_INET6) ||
	    nla_put(skb, SMTPGATE_A_BAN_ADDR,
		    k->family == NFPROTO_IPV4 ? 4 : 16, &k->addr) ||
	    nla_put_u8(skb, SMTPGATE_A_BAN_PREFIX_LEN, k->len) ||
	    nla_put_u8(skb, SMTPGATE_A_BAN_SCOPE, sg_ban_scope(ban)) ||
	    (expires && nla_put_u32(skb, SMTPGATE_A_BAN_TIMEOUT,
				    (s32)(expires - now) > 0 ? expires - now : 0)) ||
	    (reason && nla_put_string(skb, SMTPGATE_A_BAN_REASON,
				      reason->text)) ||
	    nla_put_u64_64bit(skb, SMTPGATE_A_BAN_CREATED,
			      sg_unix_time(ban->created), SMTPGATE_A_BAN_PAD) ||
	    nla_put_u64_64bit(skb, SMTPGATE_A_BAN_DROPS,
			      sg_counter_read(&ban->drops), SMTPGATE_A_BAN_PAD)) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

/* Takes @ban out of the table and the counts; freeing is the caller's. */
static bool sg_ban_unlink(struct sg_bans *b, struct sg_ban *ban)
{
	lockdep_assert_held(&b->lock);
	rhashtable_remove_fast(&b->table, &ban->node, sg_ban_params);
	b->count--;
	b->generation++;
	return sg_lens_account(b, ban, -1);
}

/* After the event went out: the ban keeps no reason any more. */
static void sg_ban_release(struct sg_bans *b, struct sg_ban *ban)
{
	lockdep_assert_held(&b->lock);
	sg_reason_put(b, sg_ban_reason(b, ban));
	sg_ban_set(ban, sg_ban_scope(ban), 0);
}

int sg_ban_del(struct sg_net *sn, const struct sg_key *key)
{
	struct sg_bans *b = &sn->bans;
	struct sg_ban_lens *lens;
	struct sg_grave *grave;
	struct sg_ban *ban;
	int err = -ENOENT;

	lens = kmalloc(sizeof(*lens), GFP_KERNEL);
	grave = sg_grave_new(1);
	if (!lens || !grave) {
		kfree(lens);
		kvfree(grave);
		return -ENOMEM;
	}
	mutex_lock(&b->lock);
	ban = rhashtable_lookup_fast(&b->table, key, sg_ban_params);
	if (ban) {
		if (sg_ban_unlink(b, ban)) {
			sg_lens_publish(b, lens);
			lens = NULL;
		}
		sg_event_ban(sn, SMTPGATE_CMD_BAN_REMOVED, ban);
		sg_ban_release(b, ban);
		sg_grave_bury(grave, ban);
		err = 0;
	}
	mutex_unlock(&b->lock);
	kfree(lens);
	sg_grave_end_episodes(sn, grave);
	sg_grave_close(grave);
	return err;
}

int sg_ban_get_reply(struct sg_net *sn, u8 family,
		     const union nf_inet_addr *addr, struct sk_buff *skb)
{
	const struct sg_ban *ban;
	int err = -ENOENT;

	mutex_lock(&sn->bans.lock);
	rcu_read_lock();
	ban = sg_ban_match(sn, family, addr, true);
	if (ban)
		err = sg_ban_fill(skb, &sn->bans, ban);
	rcu_read_unlock();
	mutex_unlock(&sn->bans.lock);
	return err;
}

u32 sg_bans_count(struct sg_net *sn)
{
	return READ_ONCE(sn->bans.count);
}

static void sg_ban_free_cb(void *ptr, void *arg)
{
	struct sg_bans *b = arg;
	struct sg_ban *ban = ptr;

	sg_ban_release(b, ban);
	kmem_cache_free(sg_ban_cache, ban);
}

/*
 * Takes away the lengths the packet path looks up, and zeroes the counts:
 * once a grace period has passed, no reader is in the table any more.
 */
static void sg_lens_withdraw(struct sg_bans *b)
{
	struct sg_ban_lens *old;

	lockdep_assert_held(&b->lock);
	old = rcu_replace_pointer(b->lens, NULL, lockdep_is_held(&b->lock));
	if (old)
		kfree_rcu(old, rcu);
	memset(b->lens_count, 0, sizeof(b->lens_count));
	memset(b->lens_count_all, 0, sizeof(b->lens_count_all));
	b->count = 0;
	b->next_expiry = 0;
	b->generation++;
}

/**
 * sg_bans_flush() - remove every ban, all or nothing
 * @sn:		the namespace
 *
 * In place: the table itself stays, because a dump in progress keeps a
 * walker registered with it.  The bans go to one grave sized up front, so
 * the walk never steps on a freed entry and an allocation failure leaves
 * every ban where it was.
 *
 * Return: 0, or -ENOMEM with nothing removed.
 */
int sg_bans_flush(struct sg_net *sn)
{
	struct sg_bans *b = &sn->bans;
	struct rhashtable_iter iter;
	struct sg_grave *grave;
	unsigned int seen = 0;
	struct sg_ban *ban;

	mutex_lock(&b->lock);
	grave = sg_grave_new(max(b->count, 1U));
	if (!grave) {
		mutex_unlock(&b->lock);
		return -ENOMEM;
	}
	sg_lens_withdraw(b);
	/*
	 * Removing under the walker makes it skip bans, and a resize moves
	 * them to the next table: walk again until none is left.  Between
	 * walks the CPU goes, so that a resize under way can finish (the
	 * walks saw its future table until it did, and spun).  Adds wait for
	 * the mutex, so the count only falls.
	 */
	while (atomic_read(&b->table.nelems)) {
		rhashtable_walk_enter(&b->table, &iter);
		rhashtable_walk_start(&iter);
		while ((ban = rhashtable_walk_next(&iter))) {
			if (IS_ERR(ban))
				continue;	/* resized: on to the next table */
			if (rhashtable_remove_fast(&b->table, &ban->node,
						   sg_ban_params))
				continue;	/* seen twice across a resize */
			sg_ban_release(b, ban);
			sg_grave_bury(grave, ban);
			if (!(++seen % SG_WALK_SLICE)) {
				rhashtable_walk_stop(&iter);
				cond_resched();
				rhashtable_walk_start(&iter);
			}
		}
		rhashtable_walk_stop(&iter);
		rhashtable_walk_exit(&iter);
		cond_resched();
	}
	WRITE_ONCE(b->flushes, b->flushes + 1);
	sg_event_flush(sn, grave->n);
	mutex_unlock(&b->lock);
	sg_hosts_end_all_episodes(sn);
	sg_grave_close(grave);
	return 0;
}

#define SG_EXPIRE_BATCH		4096

/*
 * Collects up to @cap expired bans in @v; returns the earliest expiry among
 * the others.  In slices: the walk lets the CPU go now and then.  A resize
 * restarts the walker from the first bucket, and the collection with it,
 * so no ban is collected twice.
 */
static u32 sg_bans_collect_expired(struct sg_bans *b, struct sg_ban **v,
				   unsigned int cap, unsigned int *n, u32 now)
{
	struct rhashtable_iter iter;
	unsigned int seen = 0;
	struct sg_ban *ban;
	u32 next = 0;

	*n = 0;
	rhashtable_walk_enter(&b->table, &iter);
	rhashtable_walk_start(&iter);
	while ((ban = rhashtable_walk_next(&iter))) {
		if (IS_ERR(ban)) {
			*n = 0;
			next = 0;
			continue;
		}
		if (sg_ban_expired(ban, now)) {
			if (*n < cap)
				v[(*n)++] = ban;
		} else if (ban->expires &&
			   (!next || (s32)(ban->expires - next) < 0)) {
			next = ban->expires;
		}
		if (!(++seen % SG_WALK_SLICE)) {
			rhashtable_walk_stop(&iter);
			cond_resched();
			if (rhashtable_walk_start_check(&iter) == -EAGAIN) {
				*n = 0;
				next = 0;
			}
		}
	}
	rhashtable_walk_stop(&iter);
	rhashtable_walk_exit(&iter);
	return next;
}

/*
 * Removes up to SG_EXPIRE_BATCH expired bans, tells the event group, and
 * recomputes the next expiry.  Returns the grave the caller closes once
 * the mutex is dropped.  Without memory for a grave it removes nothing and
 * tries again later: expired bans match nothing meanwhile.
 */
static struct sg_grave *sg_bans_expire_some(struct sg_net *sn, u32 now)
{
	struct sg_bans *b = &sn->bans;
	struct sg_ban_lens *lens;
	struct sg_grave *grave;
	bool changed = false;
	struct sg_ban *ban;
	unsigned int n, i;
	u32 next;

	grave = sg_grave_new(SG_EXPIRE_BATCH);
	if (!grave) {
		b->next_expiry = now + 1;
		return NULL;
	}
	lens = kmalloc(sizeof(*lens), GFP_KERNEL);
	next = sg_bans_collect_expired(b, grave->ban, grave->cap, &n, now);

	for (i = 0; i < n; i++)
		changed |= sg_ban_unlink(b, grave->ban[i]);
	if (changed && lens) {
		sg_lens_publish(b, lens);
		lens = NULL;
	}
	kfree(lens);
	for (i = 0; i < n; i++) {
		ban = grave->ban[i];
		sg_event_ban(sn, SMTPGATE_CMD_BAN_EXPIRED, ban);
		sg_ban_release(b, ban);
	}
	grave->n = n;
	b->next_expiry = n == grave->cap ? now : next;
	return grave;
}

static void sg_bans_expire_work(struct work_struct *work)
{
	struct sg_bans *b = container_of(to_delayed_work(work), struct sg_bans,
					 expiry);
	struct sg_net *sn = container_of(b, struct sg_net, bans);
	struct sg_grave *grave = NULL;
	u32 now = sg_now();

	mutex_lock(&b->lock);
	b->expiry_due = 0;
	if (b->next_expiry && (s32)(now - b->next_expiry) >= 0) {
		grave = sg_bans_expire_some(sn, now);
		b->expiry_walked = now ?: 1;
	}
	sg_expiry_arm(b, now);
	mutex_unlock(&b->lock);
	if (grave) {
		sg_grave_end_episodes(sn, grave);
		sg_grave_close(grave);
	}
}

/*
 * Dumps walk the table across recvmsg calls (the walker lives in
 * cb->args[0]); cb->args[1] says the last ban did not fit and is sent first
 * next time.  Any change between two parts, or a table resize under the
 * walker, ends the dump with NLM_F_DUMP_INTR.
 */
int sg_bans_dump_start(struct netlink_callback *cb)
{
	struct sg_net *sn = sg_net_use(sock_net(cb->skb->sk));
	struct rhashtable_iter *iter;

	if (IS_ERR(sn))
		return PTR_ERR(sn);
	iter = kmalloc(sizeof(*iter), GFP_KERNEL);
	if (!iter)
		return -ENOMEM;
	rhashtable_walk_enter(&sn->bans.table, iter);
	cb->args[0] = (unsigned long)iter;
	cb->args[1] = 0;
	return 0;
}

int sg_bans_dump(struct sg_net *sn, struct sk_buff *skb,
		 struct netlink_callback *cb)
{
	struct rhashtable_iter *iter = (void *)cb->args[0];
	struct sg_bans *b = &sn->bans;
	u32 now = sg_now();
	struct sg_ban *ban;
	void *hdr;

	mutex_lock(&b->lock);
	cb->seq = b->generation;
	/* A resize while the walker was stopped restarts it from the first
	 * bucket: what was sent comes again, so the dump is interrupted.
	 */
	if (rhashtable_walk_start_check(iter) == -EAGAIN)
		cb->seq = ++b->generation;
	ban = cb->args[1] ? rhashtable_walk_peek(iter) : rhashtable_walk_next(iter);
	cb->args[1] = 0;
	for (; ban; ban = rhashtable_walk_next(iter)) {
		if (IS_ERR(ban)) {
			/* Resized under us: what follows may repeat. */
			cb->seq = ++b->generation;
			continue;
		}
		if (sg_ban_expired(ban, now))
			continue;
		hdr = sg_dump_put(skb, cb, SMTPGATE_CMD_BAN_GET);
		if (!hdr || sg_ban_fill(skb, b, ban)) {
			if (hdr)
				genlmsg_cancel(skb, hdr);
			cb->args[1] = 1;
			break;
		}
		genlmsg_end(skb, hdr);
	}
	rhashtable_walk_stop(iter);
	mutex_unlock(&b->lock);
	return skb->len;
}

int sg_bans_dump_done(struct netlink_callback *cb)
{
	struct rhashtable_iter *iter = (void *)cb->args[0];

	if (iter) {
		rhashtable_walk_exit(iter);
		kfree(iter);
	}
	return 0;
}

int sg_bans_init(struct sg_net *sn)
{
	struct sg_bans *b = &sn->bans;
	int err;

	mutex_init(&b->lock);
	xa_init_flags(&b->reason_ids, XA_FLAGS_ALLOC1 | XA_FLAGS_ACCOUNT);
	INIT_DELAYED_WORK(&b->expiry, sg_bans_expire_work);
	err = rhashtable_init(&b->reasons, &sg_reason_params);
	if (err)
		return err;
	err = rhashtable_init(&b->table, &sg_ban_params);
	if (err)
		rhashtable_destroy(&b->reasons);
	return err;
}

/*
 * The namespace is going: its netlink sockets, and so any dump, are gone,
 * its devices too, and the hooks are unregistered (with a grace period):
 * no packet can reach a ban any more, and the table can go at once.
 */
void sg_bans_exit(struct sg_net *sn)
{
	struct sg_bans *b = &sn->bans;

	cancel_delayed_work_sync(&b->expiry);
	mutex_lock(&b->lock);
	sg_lens_withdraw(b);
	rhashtable_free_and_destroy(&b->table, sg_ban_free_cb, b);
	mutex_unlock(&b->lock);
	WARN_ON(atomic_read(&b->reasons.nelems));
	rhashtable_destroy(&b->reasons);
	xa_destroy(&b->reason_ids);
}

int sg_bans_cache_init(void)
{
	/* The memory budget: see struct sg_ban. */
	BUILD_BUG_ON(sizeof(struct sg_ban) > 40);
	sg_grave_wq = alloc_workqueue("smtpgate_grave", 0, 0);
	if (!sg_grave_wq)
		return -ENOMEM;
	/* Charged to the memory cgroup of whoever adds the ban. */
	sg_ban_cache = kmem_cache_create("smtpgate_ban", sizeof(struct sg_ban),
					 0, SLAB_ACCOUNT, NULL);
	if (!sg_ban_cache) {
		destroy_workqueue(sg_grave_wq);
		return -ENOMEM;
	}
	return 0;
}

/*
 * After every namespace is gone: graves still waiting for their grace
 * period are queued once rcu_barrier() returns, and the workqueue is
 * drained when it is destroyed; only then is the cache empty.
 */
void sg_bans_cache_exit(void)
{
	rcu_barrier();
	destroy_workqueue(sg_grave_wq);
	kmem_cache_destroy(sg_ban_cache);
}
