// SPDX-License-Identifier: GPL-2.0
/*
 * "redirect": send users' port-25 connections to the submission server.
 *
 * Done the way nft NAT chains do it: a lookup function registered with the
 * nf_nat core per family.  The core calls it once per new connection that
 * has no binding yet, so the DNAT binding is made exactly once and every
 * later packet, both directions, is translated by conntrack.
 */
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
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

static unsigned int sg_nat_lookup(void *priv, struct sk_buff *skb,
				  const struct nf_hook_state *state)
{
	struct sg_net *sn = sg_pernet(state->net);
	struct nf_nat_range2 range = {};
	enum ip_conntrack_info ctinfo;
	const struct sg_policy *pol;
	struct sg_flow flow;
	struct nf_conn *ct;
	unsigned int f;
	u8 class;
	u16 port;

	pol = rcu_dereference(sn->policy);
	ct = nf_ct_get(skb, &ctinfo);
	if (!pol || !ct)
		return NF_ACCEPT;

	class = sg_classify(skb, skb_network_offset(skb), state->pf,
			    &pol->ports, &flow);
	if (class != SMTPGATE_CLASS_SMTP4 && class != SMTPGATE_CLASS_SMTP6)
		return NF_ACCEPT;
	if (sg_policy_action(pol, &flow) != SMTPGATE_ACTION_REDIRECT)
		return NF_ACCEPT;

	/* What we cannot redirect, or is banned, the FORWARD hook drops. */
	f = sg_fam(flow.family);
	port = sg_redirect_port(pol, ntohs(flow.dport));
	if (!pol->has_submission[f] || !port || sg_to_gateway(state->net, &flow) ||
	    sg_ban_match(sn, flow.family, &flow.saddr, true))
		return NF_ACCEPT;

	/* Counted here, once per connection: FORWARD sees it as port 587. */
	sg_stats_inc(sn, class, SMTPGATE_VERDICT_REDIRECT);
	sg_host_account(sn, pol, &flow, SMTPGATE_VERDICT_REDIRECT);

	range.flags = NF_NAT_RANGE_MAP_IPS | NF_NAT_RANGE_PROTO_SPECIFIED;
	range.min_addr = pol->submission[f];
	range.max_addr = pol->submission[f];
	range.min_proto.tcp.port = htons(port);
	range.max_proto.tcp.port = htons(port);
	return nf_nat_setup_info(ct, &range, NF_NAT_MANIP_DST);
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
