// SPDX-License-Identifier: GPL-2.0
/*
 * "redirect": send users' port-25 connections to the submission server.
 * "trap": send flagged hosts' port-25 connections to smtpgated's trap.
 *
 * Done the way nft NAT chains do it: a lookup function registered with the
 * nf_nat core per family.  The core calls it once per new connection that
 * has no binding yet, so the DNAT binding is made exactly once and every
 * later packet, both directions, is translated by conntrack.
 */
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <linux/inetdevice.h>
#include <net/addrconf.h>
#include <net/netfilter/nf_conntrack.h>
#include <net/netfilter/nf_nat.h>
#include <net/route.h>

#include "smtpgate.h"

#define SG_SMTPS_PORT	465

/* 465 speaks TLS from the first byte: only a TLS port may receive it. */
static u16 sg_redirect_port(const struct sg_policy *pol, u16 dport)
{
	if (dport == SG_SMTPS_PORT)
		return pol->submission_tls_port;
	return pol->submission_port;
}

/* SMTP to the gateway itself is not forwarded and not ours to redirect. */
static bool sg_to_gateway(struct net *net, const struct sg_flow *flow)
{
	if (flow->family == NFPROTO_IPV4)
		return inet_addr_type(net, flow->daddr.ip) == RTN_LOCAL;
	return ipv6_chk_addr(net, &flow->daddr.in6, NULL, 0);
}

/* DNAT of the connection @ct to @addr port @port. */
unsigned int sg_dnat(struct nf_conn *ct, const union nf_inet_addr *addr,
		     u16 port)
{
	struct nf_nat_range2 range = {};

	range.flags = NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED;
	range.min_addr = *addr;
	range.max_addr = *addr;
	range.min_proto.tcp.port = htons(port);
	range.max_proto.tcp.port = htons(port);
	return nf_nat_setup_info(ct, &range, NF_NAT_MANIP_DST);
}

/*
 * The gateway's own address on the interface the connection came in on,
 * as the REDIRECT target picks it: the host can reach it, whatever else
 * the gateway has.
 */
static bool sg_local_addr(const struct net_device *in, u8 family,
			  union nf_inet_addr *addr)
{
	const struct inet6_ifaddr *ifa6;
	const struct in_ifaddr *ifa;
	struct inet6_dev *idev;
	struct in_device *indev;
	bool found = false;

	if (!in)
		return false;
	if (family == NFPROTO_IPV4) {
		indev = __in_dev_get_rcu(in);
		ifa = indev ? rcu_dereference(indev->ifa_list) : NULL;
		if (ifa)
			addr->ip = ifa->ifa_local;
		return !!ifa;
	}
	idev = __in6_dev_get(in);
	if (!idev)
		return false;
	read_lock_bh(&idev->lock);
	list_for_each_entry(ifa6, &idev->addr_list, if_list) {
		if (ifa6->flags & IFA_F_TENTATIVE)
			continue;
		addr->in6 = ifa6->addr;
		found = true;
		break;
	}
	read_unlock_bh(&idev->lock);
	return found;
}

/*
 * Port-25 connections of a host flagged, or banned with scope "smtp", go
 * to the trap.  A host banned with scope "all" is the FORWARD hook's to
 * drop: trapping it would let it reach the gateway.
 */
static unsigned int sg_nat_trap(struct sg_net *sn, const struct sg_policy *pol,
				const struct nf_hook_state *state,
				struct nf_conn *ct, const struct sg_flow *flow)
{
	union nf_inet_addr local = {};

	if (flow->dport != htons(SMTPGATE_SMTP_PORT) ||
	    sg_to_gateway(state->net, flow) ||
	    sg_ban_match(sn, flow->family, &flow->saddr, false))
		return NF_ACCEPT;
	if (!sg_ban_match(sn, flow->family, &flow->saddr, true) &&
	    !sg_host_flagged(sn, flow->family, &flow->saddr))
		return NF_ACCEPT;
	if (!sg_local_addr(state->in, flow->family, &local))
		return NF_ACCEPT;

	sg_stats_inc(sn, flow->class, SMTPGATE_VERDICT_TRAP);
	sg_host_account(sn, pol, flow, SMTPGATE_VERDICT_TRAP, false);
	return sg_dnat(ct, &local, pol->trap_port);
}

static unsigned int sg_nat_lookup(void *priv, struct sk_buff *skb,
				  const struct nf_hook_state *state)
{
	struct sg_net *sn = sg_pernet(state->net);
	enum ip_conntrack_info ctinfo;
	const struct sg_policy *pol;
	struct sg_flow flow;
	struct nf_conn *ct;
	unsigned int f;
	u8 action, class;
	u16 port;

	pol = rcu_dereference(sn->policy);
	ct = nf_ct_get(skb, &ctinfo);
	if (!pol || !ct)
		return NF_ACCEPT;

	class = sg_classify(skb, skb_network_offset(skb), state->pf,
			    &pol->ports, &flow);
	if (class != SMTPGATE_CLASS_SMTP4 && class != SMTPGATE_CLASS_SMTP6)
		return NF_ACCEPT;
	action = sg_policy_action(pol, &flow);
	if (action == SMTPGATE_ACTION_TRAP)
		return sg_nat_trap(sn, pol, state, ct, &flow);
	if (action != SMTPGATE_ACTION_REDIRECT)
		return NF_ACCEPT;

	/* What we cannot redirect, or is banned, the FORWARD hook drops. */
	f = sg_fam(flow.family);
	port = sg_redirect_port(pol, ntohs(flow.dport));
	if (!pol->has_submission[f] || !port || sg_to_gateway(state->net, &flow) ||
	    sg_ban_match(sn, flow.family, &flow.saddr, true))
		return NF_ACCEPT;

	/* Counted here, once per connection: FORWARD sees it as port 587. */
	sg_stats_inc(sn, class, SMTPGATE_VERDICT_REDIRECT);
	sg_host_account(sn, pol, &flow, SMTPGATE_VERDICT_REDIRECT, false);

	return sg_dnat(ct, &pol->submission[f], port);
}

static const struct nf_hook_ops sg_nat_ops[] = {
	{
		.hook = sg_nat_lookup,
		.pf = NFPROTO_IPV4,
		.hooknum = NF_INET_PRE_ROUTING,
		.priority = NF_IP_PRI_NAT_DST,
	},
	{
		.hook = sg_nat_lookup,
		.pf = NFPROTO_IPV6,
		.hooknum = NF_INET_PRE_ROUTING,
		.priority = NF_IP6_PRI_NAT_DST,
	},
};

/* Takes conntrack for the namespace, then hooks into NAT lookups. */
int sg_nat_register(struct net *net)
{
	int err;

	err = nf_ct_netns_get(net, NFPROTO_INET);
	if (err)
		return err;
	err = nf_nat_ipv4_register_fn(net, &sg_nat_ops[0]);
	if (err)
		goto put_ct;
	err = nf_nat_ipv6_register_fn(net, &sg_nat_ops[1]);
	if (err)
		goto unreg4;
	return 0;

unreg4:
	nf_nat_ipv4_unregister_fn(net, &sg_nat_ops[0]);
put_ct:
	nf_ct_netns_put(net, NFPROTO_INET);
	return err;
}

void sg_nat_unregister(struct net *net)
{
	nf_nat_ipv6_unregister_fn(net, &sg_nat_ops[1]);
	nf_nat_ipv4_unregister_fn(net, &sg_nat_ops[0]);
	nf_ct_netns_put(net, NFPROTO_INET);
}
