/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _SMTPGATE_H
#define _SMTPGATE_H

#include <linux/mutex.h>
#include <linux/netfilter.h>
#include <net/net_namespace.h>

#include "classify.h"

#define SG_MAX_PREFIXES		32
#define SG_MAX_PORTS		32
/*
 * Before the filter table, after conntrack, mangle and DNAT: a FORWARD
 * filter rule that drops first only saves us work, and ACCEPT there cannot
 * bypass us.
 */
#define SG_HOOK_PRIORITY	(NF_IP_PRI_FILTER - 5)

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

/**
 * struct sg_policy - what a gateway does with SMTP, replaced as a whole
 * @rcu:	freed after readers are done
 * @ports:	watched TCP destination ports
 * @internal:	sources that are ours to police
 * @exempt:	internal sources that may send SMTP (the real mail servers)
 * @submission:	the submission server, per family (index sg_fam())
 * @has_submission: whether @submission is set, per family
 * @submission_port: where redirected port-25 (and other plain) SMTP goes
 * @submission_tls_port: where redirected 465 goes; 0: 465 is dropped
 * @action:	enum smtpgate_action for smtp4/smtp6
 * @tunnel_action: enum smtpgate_action for teredo/sixin4
 *
 * Readers (the packet path) see one generation or the next, never a mix.
 */
struct sg_policy {
	struct rcu_head rcu;	/* first: kvfree_rcu() wants a small offset */
	struct sg_ports ports;
	struct sg_prefix_set internal;
	struct sg_prefix_set exempt;
	union nf_inet_addr submission[2];
	bool has_submission[2];
	u16 submission_port;
	u16 submission_tls_port;
	u8 action;
	u8 tunnel_action;
};

/* Per network namespace state. */
struct sg_net {
	struct net *net;
	struct sg_policy __rcu *policy;
	struct mutex lock;		/* serialises policy changes */
	bool hooks_on;
	bool nat_on;
	bool log_on;
};

static inline unsigned int sg_fam(u8 family)
{
	return family == NFPROTO_IPV6;
}

struct sg_net *sg_pernet(const struct net *net);

/* policy.c */
struct sg_policy *sg_policy_alloc(void);
int sg_prefix_parse(const char *s, size_t len, struct sg_prefix *p);
bool sg_prefix_set_match(const struct sg_prefix_set *set, u8 family,
			 const union nf_inet_addr *addr);
u8 sg_policy_action(const struct sg_policy *pol, const struct sg_flow *flow);
int sg_policy_install(struct sg_net *sn, struct sg_policy *pol);
void sg_policy_release(struct sg_net *sn);
const char *sg_action_name(u8 action);
int sg_action_parse(const char *s);

/* hooks.c */
int sg_hooks_register(struct net *net);
void sg_hooks_unregister(struct net *net);

/* nat.c */
int sg_nat_register(struct net *net);
void sg_nat_unregister(struct net *net);

#endif /* _SMTPGATE_H */
