// SPDX-License-Identifier: GPL-2.0
/*
 * Host tracking: what each internal host has been doing with SMTP.
 *
 * A host is a source address aggregated to the policy's host prefix length
 * (/32 and /64 by default), so rotating addresses inside a /64 is one host.
 * The table has a fixed number of buckets, sized from the policy's cap, and
 * a SipHash key drawn at random: lookups are RCU reads with no lock; only
 * the first packet of a new host takes the table's spinlock.  Chains are
 * bounded (SG_MAX_CHAIN), so even a known seed cannot make a lookup long.
 *
 * When the table fills up, a work item (at most one pass a second) evicts
 * down to three quarters of the cap: first the unflagged hosts that have been
 * quiet longest; then, only when those are not enough, the flagged hosts a
 * ban covers (the ban remembers them), longest flagged first; and last the
 * other flagged hosts, longest flagged first.  So a customer who makes
 * hosts flag themselves (a /48, spoofing inside a subnet) cannot fill the
 * table for good and leave new hosts untracked.
 *
 * Nor can addresses rotating faster than eviction frees room pass
 * uncounted: while the table is full, an address no host tracks is counted
 * in an aggregate, a host whose key is a shorter prefix (the host prefix
 * less 8 bits for IPv4, 16 for IPv6: a /24 of /32s, a /48 of /64s, a
 * customer's usual assignment).  Aggregates have a reserve of their own
 * above the cap, so one can always be made, and are counted, flagged,
 * banned and evicted like any host.
 *
 * Lock order: sn->lock, then the bans' mutex, then the table's spinlock.
 * Episodes end after the bans' mutex is dropped (bans.c).
 */
#include <linux/log2.h>
#include <linux/memcontrol.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <net/genetlink.h>

#include "smtpgate.h"

#define SG_MAX_CHAIN		16
#define SG_EXACT_DESTS		4
#define SG_DEST_SKETCH		0xff	/* dest_n: counting in dest_bits */
#define SG_HOST_F_UNLINKED	0x80	/* internal: off the table, dying */
#define SG_AGG_STEP4		8	/* aggregate: host prefix less these */
#define SG_AGG_STEP6		16
#define SG_AGG_MIN4		8	/* and no shorter (the policy's minimum) */
#define SG_AGG_MIN6		16
#define SG_AGG_RESERVE_MIN	16
#define SG_WALK_BATCH		256	/* buckets between two cond_resched() */

/* Test-only: a fixed hash seed, so colliding keys can be computed. */
static ulong test_hash_seed;
module_param(test_hash_seed, ulong, 0400);
MODULE_PARM_DESC(test_hash_seed, "Tests only: fixed host table hash seed (0: random)");

/*
 * 88 bytes: the whole per-host cost with the bucket array's 4 bytes a host
 * at a full table is within the 96-byte budget.
 */
struct sg_host {
	struct sg_host __rcu *next;
	struct sg_key key;
	u8 flags;
	u8 reasons;
	u32 first_seen;
	u32 last_seen;
	u32 attempts[__SMTPGATE_CLASS_MAX - 1];
	u32 blocked;
	u32 redirected;
	u32 logged;
	u16 win_idx;		/* low bits of now / window */
	u16 rate_cur;		/* attempts in this window */
	u16 rate_prev;		/* attempts in the previous one */
	u16 blk_cur;		/* blocked attempts in this window */
	union {
		u16 dest_fp[SG_EXACT_DESTS];	/* destination fingerprints */
		u64 dest_bits;		/* linear-counting sketch beyond */
	};
	u32 flagged_at;
	u8 dest_n;
};

struct sg_host_table {
	spinlock_t lock;	/* writers: inserts, flags, removal */
	u32 generation;		/* tells dumps that the table was replaced */
	atomic_t count;		/* hosts and aggregates */
	atomic_t flagged;
	atomic_t aggregates;	/* nonzero: readers look for them too */
	unsigned long evict_next;	/* jiffies: no eviction pass before */
	struct mem_cgroup *memcg;	/* hosts are charged to the creator's */
	u32 max;
	u32 reserve;		/* room above max for aggregates only */
	u32 mask;
	u8 prefix[2];
	u8 agg_len[2];		/* aggregate prefix; = prefix: none */
	siphash_key_t seed;
	struct sg_host __rcu *buckets[];
};

static struct kmem_cache *sg_host_cache;

size_t sg_host_bytes(void)
{
	return sizeof(struct sg_host);
}

/*
 * -64 ln(z/64) for z zero bits of 64: the linear-counting estimate of
 * distinct destinations once there are more than SG_EXACT_DESTS.
 */
static const u16 sg_lc_estimate[65] = {
	267, 266, 222, 196, 177, 163, 151, 142, 133, 126, 119, 113, 107, 102,
	97, 93, 89, 85, 81, 78, 74, 71, 68, 65, 63, 60, 58, 55, 53, 51, 48, 46,
	44, 42, 40, 39, 37, 35, 33, 32, 30, 28, 27, 25, 24, 23, 21, 20, 18, 17,
	16, 15, 13, 12, 11, 10, 9, 7, 6, 5, 4, 3, 2, 1, 0,
};

/*
 * A /24 of /32 hosts, a /48 of /64 hosts: what one customer is usually
 * given, so the addresses it rotates through fall into one aggregate.
 * Relative to the host prefix, so hosts of /56s aggregate to /40s.
 */
static u8 sg_agg_len(u8 host_len, u8 step, u8 min)
{
	return max_t(int, host_len - step, min);
}

struct sg_host_table *sg_host_table_new(const struct sg_policy *pol, u32 gen)
{
	u32 buckets = roundup_pow_of_two(max(pol->max_hosts / 2, 16U));
	struct sg_host_table *t;

	/* Charged to the caller's memory cgroup: ENOMEM there, no OOM kill. */
	t = kvzalloc(struct_size(t, buckets, buckets),
		     GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL | __GFP_NOWARN);
	if (!t)
		return NULL;
	spin_lock_init(&t->lock);
	t->evict_next = jiffies;
	/*
	 * Hosts are allocated in softirq, where no task is to charge: they
	 * go to the memory cgroup of whoever made the table (the namespace's
	 * administrator, maybe root in a user namespace).
	 */
	t->memcg = get_mem_cgroup_from_mm(current->mm);
	t->generation = gen;
	t->max = pol->max_hosts;
	t->reserve = max(t->max / 8, SG_AGG_RESERVE_MIN);
	t->mask = buckets - 1;
	t->prefix[0] = pol->host_prefix[0];
	t->prefix[1] = pol->host_prefix[1];
	t->agg_len[0] = sg_agg_len(t->prefix[0], SG_AGG_STEP4, SG_AGG_MIN4);
	t->agg_len[1] = sg_agg_len(t->prefix[1], SG_AGG_STEP6, SG_AGG_MIN6);
	if (test_hash_seed) {
		t->seed.key[0] = test_hash_seed;
		t->seed.key[1] = ~(u64)test_hash_seed;
	} else {
		get_random_bytes(&t->seed, sizeof(t->seed));
	}
	return t;
}

/* Whether @t can go on serving @pol, keeping what it knows. */
bool sg_host_table_fits(const struct sg_host_table *t,
			const struct sg_policy *pol)
{
	return t && t->max == pol->max_hosts &&
	       t->prefix[0] == pol->host_prefix[0] &&
	       t->prefix[1] == pol->host_prefix[1];
}

/* Frees @t and its hosts; no reader may see it any more. */
void sg_host_table_free(struct sg_host_table *t)
{
	struct sg_host *h, *next;
	u32 i;

	if (!t)
		return;
	for (i = 0; i <= t->mask; i++) {
		for (h = rcu_dereference_raw(t->buckets[i]); h; h = next) {
			next = rcu_dereference_raw(h->next);
			kmem_cache_free(sg_host_cache, h);
		}
		if (!(i % SG_WALK_BATCH))
			cond_resched();
	}
	mem_cgroup_put(t->memcg);
	kvfree(t);
}

/* A zeroed host, charged to the table's memory cgroup. */
static struct sg_host *sg_host_alloc(struct sg_host_table *t)
{
	struct mem_cgroup *old = set_active_memcg(t->memcg);
	struct sg_host *h;

	h = kmem_cache_zalloc(sg_host_cache, GFP_ATOMIC | __GFP_ACCOUNT);
	set_active_memcg(old);
	return h;
}

static struct sg_host *sg_head_locked(struct sg_host_table *t, u32 bucket)
{
	return rcu_dereference_protected(t->buckets[bucket],
					 lockdep_is_held(&t->lock));
}

static struct sg_host *sg_next_locked(struct sg_host_table *t,
				      struct sg_host *h)
{
	return rcu_dereference_protected(h->next, lockdep_is_held(&t->lock));
}

static u32 sg_host_bucket(const struct sg_host_table *t,
			  const struct sg_key *key)
{
	return siphash(key, SG_KEY_LEN, &t->seed) & t->mask;
}

static struct sg_host *sg_host_find(const struct sg_host_table *t,
				    const struct sg_key *key, u32 bucket)
{
	struct sg_host *h;

	for (h = rcu_dereference(t->buckets[bucket]); h;
	     h = rcu_dereference(h->next))
		if (!memcmp(&h->key, key, SG_KEY_LEN))
			return h;
	return NULL;
}

static void sg_host_key(const struct sg_host_table *t, struct sg_key *key,
			u8 family, const union nf_inet_addr *addr)
{
	sg_key_make(key, family, addr, t->prefix[sg_fam(family)]);
}

/*
 * Wakes the eviction work, at most once a second: an untracked host's
 * every packet must not schedule a pass over the whole table.
 */
static void sg_evict_kick(struct sg_net *sn, struct sg_host_table *t)
{
	unsigned long next = READ_ONCE(t->evict_next);

	if (time_before(jiffies, next) ||
	    cmpxchg(&t->evict_next, next, jiffies + HZ) != next)
		return;
	schedule_work(&sn->evict);
}

/*
 * The first packet of a new host (or aggregate: @flags): insert it, unless
 * the table holds @cap entries or the chain is at its bound.  A full table
 * wakes the eviction work; the packet is still judged, only not tracked.
 */
static struct sg_host *sg_host_insert(struct sg_net *sn,
				      struct sg_host_table *t,
				      const struct sg_key *key, u32 bucket,
				      u32 now, u32 cap, u8 flags)
{
	struct sg_host *h, *head;
	unsigned int chain = 0;

	/* A full table: no lock, and at most one eviction pass a second. */
	if (atomic_read(&t->count) >= cap) {
		sg_stats_bump(sn, host_cap_misses);
		sg_evict_kick(sn, t);
		return NULL;
	}
	spin_lock_bh(&t->lock);
	head = sg_head_locked(t, bucket);
	for (h = head; h; h = sg_next_locked(t, h), chain++)
		if (!memcmp(&h->key, key, SG_KEY_LEN))
			goto out;

	if (atomic_read(&t->count) >= cap || chain >= SG_MAX_CHAIN)
		goto miss;
	h = sg_host_alloc(t);
	if (!h)
		goto miss;
	h->key = *key;
	h->flags = flags;
	if (flags & SMTPGATE_HOST_F_AGGREGATE) {
		atomic_inc(&t->aggregates);
		sg_stats_bump(sn, host_aggregates);
	}
	h->first_seen = now;
	h->last_seen = now;
	RCU_INIT_POINTER(h->next, head);
	rcu_assign_pointer(t->buckets[bucket], h);
	if (atomic_inc_return(&t->count) >= t->max - t->max / 8)
		sg_evict_kick(sn, t);
out:
	spin_unlock_bh(&t->lock);
	return h;
miss:
	spin_unlock_bh(&t->lock);
	sg_stats_bump(sn, host_cap_misses);
	if (chain < SG_MAX_CHAIN)
		sg_evict_kick(sn, t);
	return NULL;
}

/*
 * Whether an address no host tracks is counted in its aggregate: while the
 * table is full, and for as long as aggregates live, so that a range that
 * filled the table stays one aggregate rather than refilling the room each
 * eviction pass makes (and a flagged aggregate keeps trapping its range).
 */
static bool sg_host_pressure(const struct sg_host_table *t)
{
	return atomic_read(&t->aggregates) ||
	       atomic_read(&t->count) >= t->max;
}

/* The aggregate key for @addr; false if the family has no aggregates. */
static bool sg_agg_key(const struct sg_host_table *t, struct sg_key *key,
		       u8 family, const union nf_inet_addr *addr)
{
	unsigned int f = sg_fam(family);

	if (t->agg_len[f] >= t->prefix[f])
		return false;
	sg_key_make(key, family, addr, t->agg_len[f]);
	return true;
}

/*
 * Under RCU: the host @addr belongs to, else the aggregate counting it.
 * The second lookup only for an untracked address under pressure.
 */
static struct sg_host *sg_host_lookup(const struct sg_host_table *t,
				      u8 family,
				      const union nf_inet_addr *addr)
{
	struct sg_host *h;
	struct sg_key key;

	sg_host_key(t, &key, family, addr);
	h = sg_host_find(t, &key, sg_host_bucket(t, &key));
	if (h || !sg_host_pressure(t) || !sg_agg_key(t, &key, family, addr))
		return h;
	return sg_host_find(t, &key, sg_host_bucket(t, &key));
}

/*
 * @key (in @bucket) is not tracked and the table is under pressure: its
 * aggregate @agg counts it, made in the reserve if the table is full.
 */
static struct sg_host *sg_host_get_agg(struct sg_net *sn,
				       struct sg_host_table *t,
				       const struct sg_key *key, u32 bucket,
				       const struct sg_key *agg, u32 now)
{
	u32 abucket = sg_host_bucket(t, agg);
	struct sg_host *h;

	h = sg_host_find(t, agg, abucket);
	if (h) {
		/* Room for new hosts elsewhere while the flood goes on. */
		if (atomic_read(&t->count) >= t->max)
			sg_evict_kick(sn, t);
		return h;
	}
	if (atomic_read(&t->count) < t->max)
		return sg_host_insert(sn, t, key, bucket, now, t->max, 0);
	return sg_host_insert(sn, t, agg, abucket, now, t->max + t->reserve,
			      SMTPGATE_HOST_F_AGGREGATE);
}

/* The host @addr belongs to, tracked from now on if it was not. */
static struct sg_host *sg_host_get(struct sg_net *sn, struct sg_host_table *t,
				   u8 family, const union nf_inet_addr *addr,
				   u32 now)
{
	struct sg_key key, agg;
	struct sg_host *h;
	u32 bucket;

	sg_host_key(t, &key, family, addr);
	bucket = sg_host_bucket(t, &key);
	h = sg_host_find(t, &key, bucket);
	if (h)
		return h;
	if (sg_host_pressure(t) && sg_agg_key(t, &agg, family, addr))
		return sg_host_get_agg(sn, t, &key, bucket, &agg, now);
	return sg_host_insert(sn, t, &key, bucket, now, t->max, 0);
}

/*
 * Slides the host's window forward to @idx.  Racing CPUs may lose a count
 * here or there; the limits are thresholds, not accounting.
 */
static void sg_host_roll(struct sg_host *h, u32 idx, u32 now, u32 window)
{
	u16 cur = idx;

	if (READ_ONCE(h->win_idx) == cur && now - h->last_seen < window)
		return;
	if ((u16)(READ_ONCE(h->win_idx) + 1) == cur &&
	    now - h->last_seen < 2 * window)
		WRITE_ONCE(h->rate_prev, READ_ONCE(h->rate_cur));
	else
		WRITE_ONCE(h->rate_prev, 0);
	WRITE_ONCE(h->rate_cur, 0);
	WRITE_ONCE(h->blk_cur, 0);
	WRITE_ONCE(h->dest_n, 0);
	WRITE_ONCE(h->dest_bits, 0);
	WRITE_ONCE(h->win_idx, cur);
}

static u16 sg_dest_fp(const struct sg_host_table *t, const struct sg_flow *flow)
{
	const union nf_inet_addr *d = &flow->daddr;

	if (flow->class == SMTPGATE_CLASS_TEREDO ||
	    flow->class == SMTPGATE_CLASS_SIXIN4)
		d = &flow->inner_daddr;
	return siphash(d, sizeof(*d), &t->seed);
}

static void sg_host_add_dest(struct sg_host *h, u16 fp)
{
	u8 n = READ_ONCE(h->dest_n);
	u64 bits = 0;
	unsigned int i;

	if (n == SG_DEST_SKETCH) {
		WRITE_ONCE(h->dest_bits, h->dest_bits | BIT_ULL(fp & 63));
		return;
	}
	for (i = 0; i < n && i < SG_EXACT_DESTS; i++)
		if (h->dest_fp[i] == fp)
			return;
	if (n < SG_EXACT_DESTS) {
		WRITE_ONCE(h->dest_fp[n], fp);
		WRITE_ONCE(h->dest_n, n + 1);
		return;
	}
	/* One more than we count exactly: fold all into the sketch. */
	for (i = 0; i < SG_EXACT_DESTS; i++)
		bits |= BIT_ULL(h->dest_fp[i] & 63);
	WRITE_ONCE(h->dest_bits, bits | BIT_ULL(fp & 63));
	WRITE_ONCE(h->dest_n, SG_DEST_SKETCH);
}

static u32 sg_host_dests(const struct sg_host *h)
{
	u8 n = READ_ONCE(h->dest_n);

	if (n != SG_DEST_SKETCH)
		return n;
	return max_t(u32, sg_lc_estimate[64 - hweight64(READ_ONCE(h->dest_bits))],
		     SG_EXACT_DESTS + 1);
}

/* Attempts over the last window, the previous one weighted by overlap. */
static u32 sg_host_rate(const struct sg_host *h, u32 now, u32 window)
{
	u32 into = now % window;

	return READ_ONCE(h->rate_cur) +
	       READ_ONCE(h->rate_prev) * (window - into) / window;
}

static u8 sg_host_reasons(const struct sg_policy *pol, const struct sg_host *h,
			  const struct sg_flow *flow, u32 now, bool exempt)
{
	bool tunnel = flow->class == SMTPGATE_CLASS_TEREDO ||
		      flow->class == SMTPGATE_CLASS_SIXIN4;
	u8 reasons = 0;

	if (tunnel && pol->flag_tunnel)
		reasons |= SMTPGATE_REASON_TUNNEL;
	/* The real mail servers send a lot of SMTP: that is their job. */
	if (exempt)
		return reasons;
	if (pol->rate_limit && sg_host_rate(h, now, pol->window) > pol->rate_limit)
		reasons |= SMTPGATE_REASON_RATE;
	if (pol->blocked_limit && READ_ONCE(h->blk_cur) >= pol->blocked_limit)
		reasons |= SMTPGATE_REASON_BLOCKED;
	if (pol->dest_limit && sg_host_dests(h) >= pol->dest_limit)
		reasons |= SMTPGATE_REASON_DESTINATIONS;
	return reasons;
}

/* Flags @h once per episode and tells the event group. */
static void sg_host_flag(struct sg_net *sn, const struct sg_policy *pol,
			 struct sg_host_table *t, struct sg_host *h, u8 reasons,
			 u32 now)
{
	bool first = false;

	spin_lock_bh(&t->lock);
	/* Not on a host forgotten or evicted since it was looked up. */
	if (!(h->flags & (SMTPGATE_HOST_F_FLAGGED | SG_HOST_F_UNLINKED))) {
		WRITE_ONCE(h->reasons, reasons);
		WRITE_ONCE(h->flagged_at, now);
		WRITE_ONCE(h->flags, h->flags | SMTPGATE_HOST_F_FLAGGED);
		atomic_inc(&t->flagged);
		first = true;
	}
	spin_unlock_bh(&t->lock);
	if (first)
		sg_event_host_flagged(sn, h, pol->window);
}

static bool sg_verdict_blocks(u8 verdict)
{
	return verdict == SMTPGATE_VERDICT_DROP ||
	       verdict == SMTPGATE_VERDICT_DROPLOG ||
	       verdict == SMTPGATE_VERDICT_BANNED ||
	       verdict == SMTPGATE_VERDICT_TRAP;
}

/**
 * sg_host_account() - record an SMTP packet from an internal host
 * @sn:		the namespace
 * @pol:	the policy in force
 * @flow:	the classified packet (an SMTP class)
 * @verdict:	what is being done with it, enum smtpgate_verdict
 * @exempt:	whether the source is in the policy's exempt list (the
 *		caller matched it already: the lists are read once a packet)
 *
 * Runs in the packet path under RCU.  Connection attempts are SYNs (inner
 * SYNs for tunnels); the blocked/redirected/logged counters count packets.
 */
void sg_host_account(struct sg_net *sn, const struct sg_policy *pol,
		     const struct sg_flow *flow, u8 verdict, bool exempt)
{
	struct sg_host_table *t = rcu_dereference(sn->hosts);
	bool syn = (flow->tcp_flags & (SG_TCP_SYN | SG_TCP_ACK)) == SG_TCP_SYN;
	struct sg_host *h;
	u8 reasons;
	u32 now;

	if (!t)
		return;
	now = sg_now();
	h = sg_host_get(sn, t, flow->family, &flow->saddr, now);
	/* A mail server's volume is no evidence against its neighbours. */
	if (!h || (exempt && (READ_ONCE(h->flags) & SMTPGATE_HOST_F_AGGREGATE)))
		return;

	if (exempt && !(READ_ONCE(h->flags) & SMTPGATE_HOST_F_EXEMPT)) {
		spin_lock_bh(&t->lock);
		WRITE_ONCE(h->flags, h->flags | SMTPGATE_HOST_F_EXEMPT);
		spin_unlock_bh(&t->lock);
	}

	sg_host_roll(h, now / pol->window, now, pol->window);
	WRITE_ONCE(h->last_seen, now);
	if (syn) {
		WRITE_ONCE(h->attempts[flow->class - 1],
			   h->attempts[flow->class - 1] + 1);
		WRITE_ONCE(h->rate_cur, h->rate_cur + 1);
		if (sg_verdict_blocks(verdict))
			WRITE_ONCE(h->blk_cur, h->blk_cur + 1);
		sg_host_add_dest(h, sg_dest_fp(t, flow));
	}
	if (sg_verdict_blocks(verdict))
		WRITE_ONCE(h->blocked, h->blocked + 1);
	if (verdict == SMTPGATE_VERDICT_REDIRECT)
		WRITE_ONCE(h->redirected, h->redirected + 1);
	if (verdict == SMTPGATE_VERDICT_LOG || verdict == SMTPGATE_VERDICT_DROPLOG)
		WRITE_ONCE(h->logged, h->logged + 1);

	if (READ_ONCE(h->flags) & SMTPGATE_HOST_F_FLAGGED)
		return;
	reasons = sg_host_reasons(pol, h, flow, now, exempt);
	if (reasons)
		sg_host_flag(sn, pol, t, h, reasons, now);
}

/*
 * Whether the host @addr belongs to (or the aggregate counting it) is
 * flagged; packet path, under RCU.
 */
bool sg_host_flagged(struct sg_net *sn, u8 family,
		     const union nf_inet_addr *addr)
{
	struct sg_host_table *t = rcu_dereference(sn->hosts);
	struct sg_host *h;

	if (!t)
		return false;
	h = sg_host_lookup(t, family, addr);
	return h && (READ_ONCE(h->flags) & SMTPGATE_HOST_F_FLAGGED);
}

/**
 * sg_host_flag_user() - flag a host on userspace's evidence
 * @sn:		the namespace
 * @pol:	the policy in force (the caller checked the host is ours)
 * @family:	NFPROTO_IPV4 or NFPROTO_IPV6
 * @addr:	any address of the host
 * @reasons:	SMTPGATE_REASON_* bits
 *
 * Under RCU.  A host flagged already only gains @reasons: one event per
 * episode, as for the kernel's own flags.
 *
 * Return: 0, or -ENOSPC when the host cannot be tracked.
 */
int sg_host_flag_user(struct sg_net *sn, const struct sg_policy *pol,
		      u8 family, const union nf_inet_addr *addr, u8 reasons)
{
	struct sg_host_table *t = rcu_dereference(sn->hosts);
	u32 now = sg_now();
	struct sg_host *h;

	if (!t)
		return -ENOSPC;
	h = sg_host_get(sn, t, family, addr, now);
	if (!h)
		return -ENOSPC;
	WRITE_ONCE(h->last_seen, now);
	if (READ_ONCE(h->flags) & SMTPGATE_HOST_F_FLAGGED) {
		spin_lock_bh(&t->lock);
		WRITE_ONCE(h->reasons, h->reasons | reasons);
		spin_unlock_bh(&t->lock);
		return 0;
	}
	sg_host_flag(sn, pol, t, h, reasons, now);
	return 0;
}

static void sg_host_unflag(struct sg_host_table *t, struct sg_host *h)
{
	lockdep_assert_held(&t->lock);
	if (h->flags & SMTPGATE_HOST_F_FLAGGED) {
		WRITE_ONCE(h->flags, h->flags & ~SMTPGATE_HOST_F_FLAGGED);
		WRITE_ONCE(h->reasons, 0);
		atomic_dec(&t->flagged);
	}
}

/* A new episode for @h: unflagged, its window's evidence cleared. */
static void sg_host_new_episode(struct sg_host_table *t, struct sg_host *h)
{
	lockdep_assert_held(&t->lock);
	if (h->flags & SG_HOST_F_UNLINKED)
		return;
	sg_host_unflag(t, h);
	WRITE_ONCE(h->rate_cur, 0);
	WRITE_ONCE(h->rate_prev, 0);
	WRITE_ONCE(h->blk_cur, 0);
	WRITE_ONCE(h->dest_n, 0);
	WRITE_ONCE(h->dest_bits, 0);
}

/* Whether the host @h is inside @ban (NULL: every host is). */
static bool sg_host_within(const struct sg_host *h, const struct sg_key *ban)
{
	struct sg_key k;

	if (!ban)
		return true;
	if (h->key.family != ban->family || h->key.len < ban->len)
		return false;
	sg_key_make(&k, ban->family, &h->key.addr, ban->len);
	return !memcmp(&k.addr, &ban->addr, sizeof(k.addr));
}

/*
 * Ends the episode of every flagged host inside @ban (NULL: all of them):
 * a walk over the whole table, so under sn->lock (the table stays), one
 * bucket at a time, rescheduling between batches.
 */
static void sg_hosts_end_episodes(struct sg_net *sn, const struct sg_key *ban)
{
	struct sg_host_table *t;
	struct sg_host *h;
	u32 i;

	mutex_lock(&sn->lock);
	t = rcu_dereference_protected(sn->hosts, lockdep_is_held(&sn->lock));
	for (i = 0; t && atomic_read(&t->flagged) && i <= t->mask; i++) {
		spin_lock_bh(&t->lock);
		for (h = sg_head_locked(t, i); h; h = sg_next_locked(t, h))
			if ((h->flags & SMTPGATE_HOST_F_FLAGGED) &&
			    sg_host_within(h, ban))
				sg_host_new_episode(t, h);
		spin_unlock_bh(&t->lock);
		if (!(i % SG_WALK_BATCH))
			cond_resched();
	}
	mutex_unlock(&sn->lock);
}

/**
 * sg_host_end_episode() - a ban ended: the hosts it covered start afresh
 * @sn:		the namespace
 * @ban:	the ban's key
 *
 * Whatever the hosts do next is a new episode, and a relapse must be
 * flagged (and so banned) again.  A ban as long as the host key or longer
 * names one host; a shorter one (a /48 when hosts are /64s) covers every
 * host inside it.  Process context: it may sleep.
 */
void sg_host_end_episode(struct sg_net *sn, const struct sg_key *ban)
{
	struct sg_host_table *t;
	struct sg_host *h;
	struct sg_key key;
	bool wide = false;

	rcu_read_lock();
	t = rcu_dereference(sn->hosts);
	if (t && ban->len < t->prefix[sg_fam(ban->family)]) {
		wide = true;
	} else if (t) {
		sg_host_key(t, &key, ban->family, &ban->addr);
		h = sg_host_find(t, &key, sg_host_bucket(t, &key));
		if (h) {
			spin_lock_bh(&t->lock);
			sg_host_new_episode(t, h);
			spin_unlock_bh(&t->lock);
		}
	}
	rcu_read_unlock();
	if (wide)
		sg_hosts_end_episodes(sn, ban);
}

/**
 * sg_hosts_end_all_episodes() - every ban is gone (a flush)
 * @sn:		the namespace
 *
 * Every flagged host starts a new episode.  Process context.
 */
void sg_hosts_end_all_episodes(struct sg_net *sn)
{
	sg_hosts_end_episodes(sn, NULL);
}

static int sg_host_fill_attempts(struct sk_buff *skb, const struct sg_host *h)
{
	struct nlattr *nest;
	unsigned int c;

	nest = nla_nest_start(skb, SMTPGATE_A_HOST_ATTEMPTS);
	if (!nest)
		return -EMSGSIZE;
	for (c = SMTPGATE_CLASS_SMTP4; c <= SMTPGATE_CLASS_MAX; c++)
		if (nla_put_u32(skb, c, READ_ONCE(h->attempts[c - 1])))
			return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

/* The host's evidence as an SMTPGATE_A_HOST nest; @window from the policy. */
int sg_host_fill(struct sk_buff *skb, const struct sg_host *h, u32 window)
{
	u8 flags = READ_ONCE(h->flags) & SMTPGATE_HOST_F_ALL;
	struct nlattr *nest;
	u32 now = sg_now();

	nest = nla_nest_start(skb, SMTPGATE_A_HOST);
	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u16(skb, SMTPGATE_A_HOST_FAMILY,
			h->key.family == NFPROTO_IPV4 ? AF_INET : AF_INET6) ||
	    nla_put(skb, SMTPGATE_A_HOST_ADDR,
		    h->key.family == NFPROTO_IPV4 ? 4 : 16, &h->key.addr) ||
	    nla_put_u8(skb, SMTPGATE_A_HOST_PREFIX_LEN, h->key.len) ||
	    nla_put_u64_64bit(skb, SMTPGATE_A_HOST_FIRST_SEEN,
			      sg_unix_time(h->first_seen), SMTPGATE_A_HOST_PAD) ||
	    nla_put_u64_64bit(skb, SMTPGATE_A_HOST_LAST_SEEN,
			      sg_unix_time(READ_ONCE(h->last_seen)),
			      SMTPGATE_A_HOST_PAD) ||
	    sg_host_fill_attempts(skb, h) ||
	    nla_put_u32(skb, SMTPGATE_A_HOST_BLOCKED, READ_ONCE(h->blocked)) ||
	    nla_put_u32(skb, SMTPGATE_A_HOST_REDIRECTED,
			READ_ONCE(h->redirected)) ||
	    nla_put_u32(skb, SMTPGATE_A_HOST_LOGGED, READ_ONCE(h->logged)) ||
	    nla_put_u32(skb, SMTPGATE_A_HOST_RATE, sg_host_rate(h, now, window)) ||
	    nla_put_u32(skb, SMTPGATE_A_HOST_BLOCKED_RATE,
			READ_ONCE(h->blk_cur)) ||
	    nla_put_u32(skb, SMTPGATE_A_HOST_DESTINATIONS, sg_host_dests(h)) ||
	    nla_put_u32(skb, SMTPGATE_A_HOST_FLAGS, flags) ||
	    nla_put_u32(skb, SMTPGATE_A_HOST_REASONS, READ_ONCE(h->reasons)))
		goto cancel;
	if ((flags & SMTPGATE_HOST_F_FLAGGED) &&
	    nla_put_u64_64bit(skb, SMTPGATE_A_HOST_FLAGGED_AT,
			      sg_unix_time(READ_ONCE(h->flagged_at)),
			      SMTPGATE_A_HOST_PAD))
		goto cancel;
	nla_nest_end(skb, nest);
	return 0;
cancel:
	nla_nest_cancel(skb, nest);
	return -EMSGSIZE;
}

/* The window the evidence of @sn's hosts is counted over. */
static u32 sg_window(struct sg_net *sn)
{
	const struct sg_policy *pol = rcu_dereference(sn->policy);

	return pol ? pol->window : SG_DEFAULT_WINDOW;
}

int sg_host_get_reply(struct sg_net *sn, u8 family,
		      const union nf_inet_addr *addr, struct sk_buff *skb)
{
	struct sg_host_table *t;
	struct sg_host *h;
	int err = -ENOENT;

	rcu_read_lock();
	t = rcu_dereference(sn->hosts);
	h = t ? sg_host_lookup(t, family, addr) : NULL;
	if (h)
		err = sg_host_fill(skb, h, sg_window(sn));
	rcu_read_unlock();
	return err;
}

struct sg_host_corpses {
	struct rcu_head rcu;
	u32 n;
	struct sg_host *v[];
};

static void sg_host_corpses_free(struct rcu_head *rcu)
{
	struct sg_host_corpses *c = container_of(rcu, struct sg_host_corpses,
						 rcu);
	u32 i;

	for (i = 0; i < c->n; i++)
		kmem_cache_free(sg_host_cache, c->v[i]);
	kvfree(c);
}

/* Unlinks @h, found in @bucket; the caller frees it after a grace period. */
static void sg_host_unlink(struct sg_host_table *t, u32 bucket,
			   struct sg_host *h)
{
	struct sg_host __rcu **pp = &t->buckets[bucket];
	struct sg_host *p;

	lockdep_assert_held(&t->lock);
	while ((p = rcu_dereference_protected(*pp, lockdep_is_held(&t->lock)))) {
		if (p == h) {
			rcu_assign_pointer(*pp, sg_next_locked(t, h));
			if (h->flags & SMTPGATE_HOST_F_FLAGGED)
				atomic_dec(&t->flagged);
			if (h->flags & SMTPGATE_HOST_F_AGGREGATE)
				atomic_dec(&t->aggregates);
			/* No flag or episode end counts it again. */
			WRITE_ONCE(h->flags, SG_HOST_F_UNLINKED);
			atomic_dec(&t->count);
			return;
		}
		pp = &p->next;
	}
}

int sg_host_forget(struct sg_net *sn, u8 family,
		   const union nf_inet_addr *addr)
{
	struct sg_host_corpses *dead;
	struct sg_host_table *t;
	struct sg_host *h = NULL;

	dead = kmalloc(struct_size(dead, v, 1), GFP_KERNEL);
	if (!dead)
		return -ENOMEM;
	mutex_lock(&sn->lock);
	t = rcu_dereference_protected(sn->hosts, lockdep_is_held(&sn->lock));
	if (t) {
		spin_lock_bh(&t->lock);
		rcu_read_lock();
		h = sg_host_lookup(t, family, addr);
		rcu_read_unlock();
		if (h)
			sg_host_unlink(t, sg_host_bucket(t, &h->key), h);
		spin_unlock_bh(&t->lock);
	}
	mutex_unlock(&sn->lock);
	if (!h) {
		kfree(dead);
		return -ENOENT;
	}
	dead->n = 1;
	dead->v[0] = h;
	call_rcu(&dead->rcu, sg_host_corpses_free);
	return 0;
}

/**
 * sg_hosts_forget_all() - replace the table with an empty one of its shape
 * @sn:		the namespace
 *
 * Return: 0, or -ENOMEM with every host still tracked.
 */
int sg_hosts_forget_all(struct sg_net *sn)
{
	struct sg_host_table *t, *old;
	const struct sg_policy *pol;

	mutex_lock(&sn->lock);
	old = rcu_dereference_protected(sn->hosts, lockdep_is_held(&sn->lock));
	pol = rcu_dereference_protected(sn->policy, lockdep_is_held(&sn->lock));
	t = old && pol ? sg_host_table_new(pol, ++sn->generation) : NULL;
	if (old && !t) {
		mutex_unlock(&sn->lock);
		return -ENOMEM;
	}
	rcu_assign_pointer(sn->hosts, t);
	mutex_unlock(&sn->lock);
	synchronize_rcu();
	sg_host_table_free(old);
	return 0;
}

void sg_hosts_counts(struct sg_net *sn, u32 *hosts, u32 *flagged)
{
	struct sg_host_table *t;

	rcu_read_lock();
	t = rcu_dereference(sn->hosts);
	*hosts = t ? atomic_read(&t->count) : 0;
	*flagged = t ? atomic_read(&t->flagged) : 0;
	rcu_read_unlock();
}

/*
 * Eviction classes, the highest evicted first: unflagged hosts by log2 of
 * their quiet seconds (SG_EVICT_QUIET + 0..33), then flagged hosts a ban
 * covers by log2 of their flagged seconds (SG_EVICT_BANNED + 0..33), then
 * the other flagged hosts, likewise (0..33).  An aggregate stands for many
 * addresses: it ranks one class below the hosts of its age, so it goes
 * after them.
 */
#define SG_EVICT_BANNED		34
#define SG_EVICT_QUIET		68
#define SG_EVICT_CLASSES	102

/*
 * Under RCU: whether a ban covers the host @h (any scope), all of it: a
 * /32 ban inside an aggregate /24 does not remember the aggregate.
 */
static bool sg_host_banned(struct sg_net *sn, const struct sg_host *h)
{
	const struct sg_ban *ban;

	ban = sg_ban_match(sn, h->key.family, &h->key.addr, true);
	return ban && sg_ban_key(ban)->len <= h->key.len;
}

static int sg_host_evict_class(struct sg_net *sn, const struct sg_host *h,
			       u32 now)
{
	u8 flags = READ_ONCE(h->flags);
	int c = !(flags & SMTPGATE_HOST_F_AGGREGATE);

	if (!(flags & SMTPGATE_HOST_F_FLAGGED))
		return SG_EVICT_QUIET + c + fls(now - READ_ONCE(h->last_seen));
	return c + fls(now - READ_ONCE(h->flagged_at)) +
	       (sg_host_banned(sn, h) ? SG_EVICT_BANNED : 0);
}

/*
 * Picks the class to evict down to: every host in a higher class goes, and
 * *quota of the hosts in this class, in bucket order.  Under sn->lock, so
 * the table stays; RCU is left between batches of buckets.
 */
static int sg_evict_threshold(struct sg_net *sn, struct sg_host_table *t,
			      u32 now, u32 want, u32 *quota)
{
	u32 hist[SG_EVICT_CLASSES] = {};
	struct sg_host *h;
	u32 i, sum = 0;
	int c;

	rcu_read_lock();
	for (i = 0; i <= t->mask; i++) {
		for (h = rcu_dereference(t->buckets[i]); h;
		     h = rcu_dereference(h->next))
			hist[sg_host_evict_class(sn, h, now)]++;
		if (!((i + 1) % SG_WALK_BATCH)) {
			rcu_read_unlock();
			cond_resched();
			rcu_read_lock();
		}
	}
	rcu_read_unlock();

	for (c = SG_EVICT_CLASSES - 1; c >= 0; c--) {
		if (sum + hist[c] >= want) {
			*quota = want - sum;
			return c;
		}
		sum += hist[c];
	}
	*quota = 0;
	return 0;
}

/* Evicts down to three quarters of the cap; see the comment at the top. */
static void sg_host_table_evict(struct sg_net *sn, struct sg_host_table *t)
{
	u32 count = atomic_read(&t->count), low = t->max - t->max / 4;
	struct sg_host_corpses *dead;
	struct sg_host *h, *next;
	u32 want, quota, n = 0, i;
	u32 now = sg_now();
	int threshold, c;

	if (count <= low)
		return;
	want = count - low;
	dead = kvmalloc(struct_size(dead, v, want), GFP_KERNEL);
	if (!dead)
		return;
	threshold = sg_evict_threshold(sn, t, now, want, &quota);

	for (i = 0; i <= t->mask && n < want; i++) {
		rcu_read_lock();	/* the ban lookups */
		spin_lock_bh(&t->lock);
		for (h = sg_head_locked(t, i); h && n < want; h = next) {
			next = sg_next_locked(t, h);
			c = sg_host_evict_class(sn, h, now);
			if (c < threshold || (c == threshold && !quota))
				continue;
			if (c == threshold)
				quota--;
			sg_host_unlink(t, i, h);
			dead->v[n++] = h;
		}
		spin_unlock_bh(&t->lock);
		rcu_read_unlock();
		if (!((i + 1) % SG_WALK_BATCH))
			cond_resched();
	}

	for (i = 0; i < n; i++)
		sg_stats_bump(sn, host_evictions);
	dead->n = n;
	/* No wait here: the hosts go once readers are done (rcu_barrier()). */
	call_rcu(&dead->rcu, sg_host_corpses_free);
}

void sg_hosts_evict_work(struct work_struct *work)
{
	struct sg_net *sn = container_of(work, struct sg_net, evict);
	struct sg_host_table *t;

	mutex_lock(&sn->lock);
	t = rcu_dereference_protected(sn->hosts, lockdep_is_held(&sn->lock));
	if (t)
		sg_host_table_evict(sn, t);
	mutex_unlock(&sn->lock);
}

/*
 * Dumps resume from cb->args[0] (bucket) and cb->args[1] (position in the
 * chain).  Hosts come and go with traffic, so a listing is exact only as a
 * walk over one table; a table replaced between two parts of a dump (a
 * policy change, forget all) ends it with NLM_F_DUMP_INTR.
 */
int sg_hosts_dump(struct sg_net *sn, struct sk_buff *skb,
		  struct netlink_callback *cb, bool flagged_only)
{
	u32 bucket = cb->args[0], skip = cb->args[1], pos, window;
	struct sg_host_table *t;
	struct sg_host *h;
	void *hdr;

	rcu_read_lock();
	t = rcu_dereference(sn->hosts);
	cb->seq = t ? t->generation : 1;
	window = sg_window(sn);
	for (; t && bucket <= t->mask; bucket++, skip = 0) {
		if (!((bucket + 1) % SG_WALK_BATCH)) {
			/* A table replaced meanwhile: the dump says INTR. */
			rcu_read_unlock();
			cond_resched();
			rcu_read_lock();
			t = rcu_dereference(sn->hosts);
			cb->seq = t ? t->generation : 1;
			if (!t || bucket > t->mask)
				break;
		}
		pos = 0;
		for (h = rcu_dereference(t->buckets[bucket]); h;
		     h = rcu_dereference(h->next), pos++) {
			if (pos < skip)
				continue;
			if (flagged_only &&
			    !(READ_ONCE(h->flags) & SMTPGATE_HOST_F_FLAGGED))
				continue;
			hdr = sg_dump_put(skb, cb, SMTPGATE_CMD_HOST_GET);
			if (!hdr || sg_host_fill(skb, h, window)) {
				if (hdr)
					genlmsg_cancel(skb, hdr);
				cb->args[0] = bucket;
				cb->args[1] = pos;
				rcu_read_unlock();
				return skb->len;
			}
			genlmsg_end(skb, hdr);
		}
	}
	cb->args[0] = bucket;
	cb->args[1] = 0;
	rcu_read_unlock();
	return skb->len;
}

int sg_hosts_cache_init(void)
{
	sg_host_cache = kmem_cache_create("smtpgate_host",
					  sizeof(struct sg_host), 0,
					  SLAB_ACCOUNT, NULL);
	return sg_host_cache ? 0 : -ENOMEM;
}

void sg_hosts_cache_exit(void)
{
	kmem_cache_destroy(sg_host_cache);
}
