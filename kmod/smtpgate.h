/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SMTPGATE_H
#define _SMTPGATE_H

#include <linux/mutex.h>
#include <linux/netfilter.h>
#include <linux/rhashtable-types.h>
#include <linux/siphash.h>
#include <linux/u64_stats_sync.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include <net/net_namespace.h>

#include "classify.h"

#define SG_MAX_PREFIXES		SMTPGATE_MAX_PREFIXES
#define SG_MAX_PORTS		SMTPGATE_MAX_PORTS
/*
 * Before the filter table, after conntrack, mangle and DNAT: a FORWARD
 * filter rule that drops first only saves us work, and ACCEPT there cannot
 * bypass us.
 */
#define SG_HOOK_PRIORITY	(NF_IP_PRI_FILTER - 5)

/* Policy defaults: seed 000's Postfix limits (15 connections a minute). */
#define SG_DEFAULT_WINDOW	60
#define SG_DEFAULT_RATE_LIMIT	15
#define SG_DEFAULT_BLOCKED_LIMIT 10
#define SG_DEFAULT_DEST_LIMIT	10
#define SG_DEFAULT_MAX_HOSTS	65536
#define SG_DEFAULT_MAX_BANS	1048576
#define SG_MAX_TABLE		16777216

struct sg_prefix {
	union nf_inet_addr addr;	/* host bits zero */
	union nf_inet_addr mask;
	u8 family;
	u8 len;
};

struct sg_prefix_set {
	unsigned int n;
	struct sg_prefix v[SG_MAX_PREFIXES];
};

/*
 * The largest limits a host's counters can reach (hosts.c): a limit above
 * them would never flag anyone, so it is refused.  Attempts and blocked
 * attempts are counted in 16 bits (the rate must exceed its limit, the
 * blocked count reach it); distinct destinations past the exact few are
 * a 64-bit linear-counting sketch, whose estimate saturates at 267.
 */
#define SG_MAX_RATE_LIMIT	(U16_MAX - 1)
#define SG_MAX_BLOCKED_LIMIT	U16_MAX
#define SG_MAX_DEST_LIMIT	267

/**
 * struct sg_policy - what a gateway does with SMTP, replaced as a whole
 * @rcu:	freed after readers are done
 * @ports:	watched TCP destination ports
 * @internal:	sources that are ours to police
 * @exempt:	internal sources that may send SMTP (the real mail servers)
 * @walled_garden: destinations a host banned with scope "all" still reaches
 * @port_list:	@ports in the order given, for get
 * @n_ports:	entries in @port_list
 * @submission:	the submission server, per family (index sg_fam())
 * @has_submission: whether @submission is set, per family
 * @submission_port: where redirected port-25 (and other plain) SMTP goes
 * @submission_tls_port: where redirected 465 goes; 0: 465 is dropped
 * @action:	enum smtpgate_action for smtp4/smtp6
 * @tunnel_action: enum smtpgate_action for teredo/sixin4
 * @flag_tunnel: flag hosts on any tunnelled SMTP
 * @ban_scope:	enum smtpgate_scope for the daemon's bans
 * @host_prefix: host aggregation length, per family
 * @window:	seconds the limits count over
 * @rate_limit:	attempts per window that flag a host (0: off); at most
 *		SG_MAX_RATE_LIMIT
 * @blocked_limit: blocked attempts per window that flag a host (0: off);
 *		at most SG_MAX_BLOCKED_LIMIT
 * @dest_limit:	distinct destinations per window that flag a host (0: off);
 *		at most SG_MAX_DEST_LIMIT
 * @max_hosts:	host table cap
 * @max_bans:	ban table cap
 * @inspect:	queue plaintext port-25 sessions to @inspect_queue
 * @inspect_queue: NFQUEUE number for smtpgated's inspection
 * @inspect_bytes: bytes queued per session and direction
 * @trap_port:	smtpgated's trap listener on the gateway; 0: none
 * @generation:	bumped by every install
 *
 * Readers (the packet path) see one generation or the next, never a mix.
 */
struct sg_policy {
	struct rcu_head rcu;	/* first: kvfree_rcu() wants a small offset */
	struct sg_ports ports;
	struct sg_prefix_set internal;
	struct sg_prefix_set exempt;
	struct sg_prefix_set walled_garden;
	u16 port_list[SG_MAX_PORTS];
	u8 n_ports;
	union nf_inet_addr submission[2];
	bool has_submission[2];
	u16 submission_port;
	u16 submission_tls_port;
	u8 action;
	u8 tunnel_action;
	u8 flag_tunnel;
	u8 ban_scope;
	u8 host_prefix[2];
	u32 window;
	u32 rate_limit;
	u32 blocked_limit;
	u32 dest_limit;
	u32 max_hosts;
	u32 max_bans;
	bool inspect;
	u16 inspect_queue;
	u32 inspect_bytes;
	u16 trap_port;
	u32 generation;
};

/* The part of an address that names a host or a ban: hashed and compared. */
struct sg_key {
	union nf_inet_addr addr;
	u8 family;
	u8 len;
} __packed;

#define SG_KEY_LEN	sizeof(struct sg_key)

struct sg_stats {
	u64_stats_t packets[__SMTPGATE_CLASS_MAX][__SMTPGATE_VERDICT_MAX];
	u64_stats_t host_evictions;
	u64_stats_t host_cap_misses;
	u64_stats_t host_aggregates;
	u64_stats_t ban_cap_rejects;
	u64_stats_t event_losses;
	struct u64_stats_sync syncp;
};

struct sg_host_table;
struct sg_ban_lens;

/* Per network namespace ban state; see bans.c. */
struct sg_bans {
	struct rhashtable table;
	struct mutex lock;		/* writers, dumps, expiry */
	u32 count;
	u32 generation;			/* bumped by every change, for dumps */
	u32 flushes;
	u32 next_expiry;		/* earliest expiry, 0: none */
	u32 expiry_due;			/* when the expiry work runs, 0: idle */
	u32 expiry_walked;		/* when it last walked the table */
	u32 lens_count[2][129];		/* bans per prefix length */
	u32 lens_count_all[2][129];	/* scope "all" bans per prefix length */
	struct sg_ban_lens __rcu *lens;	/* lengths in use, for the packet path */
	struct rhashtable reasons;	/* interned reason texts */
	struct xarray reason_ids;	/* their ids, which bans keep */
	struct delayed_work expiry;
};

/* Per network namespace state. */
struct sg_net {
	struct net *net;
	struct sg_policy __rcu *policy;
	struct sg_host_table __rcu *hosts;
	struct mutex lock;		/* serialises policy and table swaps */
	bool hooks_on;
	bool nat_on;
	bool log_on;
	bool defrag_on;			/* nf_defrag_ipv4, for fragmented tunnels */
	u32 xt_rules;			/* SMTPGATE rules: they need a host table */
	u32 generation;
	u64 instance;			/* random: who this state is */
	struct sg_stats __percpu *stats;
	struct sg_host_table *hosts_dying;	/* between pre_exit and exit */
	struct sg_bans bans;
	struct work_struct evict;	/* host table eviction */
};

static inline unsigned int sg_fam(u8 family)
{
	return family == NFPROTO_IPV6;
}

/*
 * Seconds are all we keep, so the tick's coarse clock does: no clocksource
 * read in the packet path (an HPET read takes a microsecond).
 */
static inline u32 sg_now(void)
{
	return (u32)div_u64(ktime_get_coarse_boottime(), NSEC_PER_SEC);
}

struct sg_net *sg_pernet(const struct net *net);
struct sg_net *sg_net_use(struct net *net);
void sg_stats_inc(struct sg_net *sn, u8 class, u8 verdict);
void sg_stats_count(struct sg_net *sn, size_t offset);
void sg_stats_sum(struct sg_net *sn, struct sg_stats *sum);
#define sg_stats_bump(sn, field) \
	sg_stats_count(sn, offsetof(struct sg_stats, field))
u64 sg_unix_time(u32 boottime);

/* policy.c */
struct sg_policy *sg_policy_alloc(void);
void sg_mask_make(union nf_inet_addr *mask, u8 family, unsigned int len);
void sg_policy_add_port(struct sg_policy *pol, u16 port);
void sg_policy_clear_ports(struct sg_policy *pol);
void sg_key_make(struct sg_key *key, u8 family, const union nf_inet_addr *a,
		 unsigned int len);
int sg_prefix_parse(const char *s, size_t len, struct sg_prefix *p);
int sg_prefix_init(struct sg_prefix *p, u8 family,
		   const union nf_inet_addr *addr, unsigned int len);
bool sg_prefix_set_match(const struct sg_prefix_set *set, u8 family,
			 const union nf_inet_addr *addr);
u8 sg_policy_action(const struct sg_policy *pol, const struct sg_flow *flow);

/* The policy's action for a policed (internal, not exempt) source. */
static inline u8 sg_class_action(const struct sg_policy *pol,
				 const struct sg_flow *flow)
{
	if (flow->class == SMTPGATE_CLASS_TEREDO ||
	    flow->class == SMTPGATE_CLASS_SIXIN4)
		return pol->tunnel_action;
	return pol->action;
}

static inline bool sg_exempt(const struct sg_policy *pol,
			     const struct sg_flow *flow)
{
	return sg_prefix_set_match(&pol->exempt, flow->family, &flow->saddr);
}

const char *sg_policy_check(const struct sg_policy *pol, int *attr);
int sg_policy_install(struct sg_net *sn, struct sg_policy *pol,
		      const u32 *expect);
struct sg_ban_spec;
int sg_bans_add_enforced(struct sg_net *sn, const struct sg_ban_spec *specs,
			 unsigned int n, bool quiet);
int sg_hosts_for_rules(struct sg_net *sn, bool get);
struct sg_host_table *sg_policy_release(struct sg_net *sn);
const char *sg_action_name(u8 action);
int sg_action_parse(const char *s);

/* hooks.c */
int sg_hooks_register(struct net *net);
void sg_hooks_unregister(struct net *net);
struct nf_conn;
const struct sg_ban *sg_banned(struct sg_net *sn, const struct sg_policy *pol,
			       const struct sg_flow *flow);
void sg_log(struct sk_buff *skb, const struct nf_hook_state *state,
	    const struct sg_flow *flow);

/* nat.c */
int sg_nat_register(struct net *net);
unsigned int sg_dnat(struct nf_conn *ct, const union nf_inet_addr *addr,
		     u16 port);
void sg_nat_unregister(struct net *net);

/* hosts.c */
struct sg_host;
struct sg_host_table *sg_host_table_new(const struct sg_policy *pol,
					u32 generation);
bool sg_host_table_fits(const struct sg_host_table *t,
			const struct sg_policy *pol);
void sg_host_table_free(struct sg_host_table *t);
void sg_host_account(struct sg_net *sn, const struct sg_policy *pol,
		     const struct sg_flow *flow, u8 verdict, bool exempt);
void sg_hosts_evict_work(struct work_struct *work);
void sg_host_end_episode(struct sg_net *sn, const struct sg_key *ban);
void sg_hosts_end_all_episodes(struct sg_net *sn);
bool sg_host_flagged(struct sg_net *sn, u8 family,
		     const union nf_inet_addr *addr);
int sg_host_flag_user(struct sg_net *sn, const struct sg_policy *pol,
		      u8 family, const union nf_inet_addr *addr, u8 reasons);
int sg_host_fill(struct sk_buff *skb, const struct sg_host *h, u32 window);
int sg_host_get_reply(struct sg_net *sn, u8 family,
		      const union nf_inet_addr *addr, struct sk_buff *skb);
int sg_host_forget(struct sg_net *sn, u8 family,
		   const union nf_inet_addr *addr);
int sg_hosts_forget_all(struct sg_net *sn);
int sg_hosts_dump(struct sg_net *sn, struct sk_buff *skb,
		  struct netlink_callback *cb, bool flagged_only);
void sg_hosts_counts(struct sg_net *sn, u32 *hosts, u32 *flagged);
size_t sg_host_bytes(void);
int sg_hosts_cache_init(void);
void sg_hosts_cache_exit(void);

/* bans.c */
struct sg_ban;
struct sg_ban_spec {
	struct sg_key key;
	u8 scope;
	u32 timeout;			/* 0: permanent */
	char reason[SMTPGATE_BAN_REASON_LEN];
};

int sg_bans_init(struct sg_net *sn);
void sg_bans_exit(struct sg_net *sn);
const struct sg_ban *sg_ban_match(struct sg_net *sn, u8 family,
				  const union nf_inet_addr *addr, bool smtp);
void sg_ban_hit(const struct sg_ban *ban);
const struct sg_key *sg_ban_key(const struct sg_ban *ban);
int sg_ban_fill(struct sk_buff *skb, struct sg_bans *b,
		const struct sg_ban *ban);
int sg_bans_add(struct sg_net *sn, const struct sg_ban_spec *specs,
		unsigned int n, bool quiet);
int sg_ban_del(struct sg_net *sn, const struct sg_key *key);
int sg_ban_get_reply(struct sg_net *sn, u8 family,
		     const union nf_inet_addr *addr, struct sk_buff *skb);
int sg_bans_flush(struct sg_net *sn);
int sg_bans_dump_start(struct netlink_callback *cb);
int sg_bans_dump(struct sg_net *sn, struct sk_buff *skb,
		 struct netlink_callback *cb);
int sg_bans_dump_done(struct netlink_callback *cb);
u32 sg_bans_count(struct sg_net *sn);
size_t sg_ban_bytes(void);
int sg_bans_cache_init(void);
void sg_bans_cache_exit(void);

/* xt.c */
int sg_xt_init(void);
void sg_xt_exit(void);

/* netlink.c */
int sg_genl_init(void);
void sg_genl_exit(void);
void sg_event_host_flagged(struct sg_net *sn, const struct sg_host *h,
			   u32 window);
void *sg_dump_put(struct sk_buff *skb, struct netlink_callback *cb, u8 cmd);
void sg_event_ban(struct sg_net *sn, u8 cmd, const struct sg_ban *ban);
void sg_event_flush(struct sg_net *sn, u32 removed);
int sg_policy_fill(struct sk_buff *skb, const struct sg_policy *pol);

#endif /* _SMTPGATE_H */
