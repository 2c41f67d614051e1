// SPDX-License-Identifier: GPL-2.0
/*
 * The standalone enforcement path: netfilter FORWARD hooks for IPv4 and
 * IPv6, registered in a namespace only while its policy polices someone.
 * Runs under the RCU read lock netfilter holds for hooks; takes no lock.
 */
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <net/netfilter/nf_log.h>

#include "smtpgate.h"

static const struct nf_loginfo sg_loginfo = {
	.type = NF_LOG_TYPE_LOG,
	.u.log = {
		.level = LOGLEVEL_WARNING,
		.logflags = NF_LOG_DEFAULT_MASK,
	},
};

/*
 * One line per packet through nf_log, so LOG/NFLOG/ulogd consumers see it
 * like any iptables LOG line.  Tunnelled classes add the inner flow, which
 * the outer headers nf_log prints would hide.
 */
static void sg_log(struct sk_buff *skb, const struct nf_hook_state *state,
		   const struct sg_flow *flow)
{
	const char *class = sg_class_name(flow->class);

	if (flow->class == SMTPGATE_CLASS_TEREDO ||
	    flow->class == SMTPGATE_CLASS_SIXIN4)
		nf_log_packet(state->net, state->pf, state->hook, skb,
			      state->in, state->out, &sg_loginfo,
			      "smtpgate: %s INNER=[%pI6c]:%u>[%pI6c]:%u ",
			      class, &flow->inner_saddr.in6,
			      ntohs(flow->sport), &flow->inner_daddr.in6,
			      ntohs(flow->dport));
	else
		nf_log_packet(state->net, state->pf, state->hook, skb,
			      state->in, state->out, &sg_loginfo,
			      "smtpgate: %s ", class);
}

/*
 * Under "redirect", SMTP that still reaches FORWARD with its original
 * destination could not be redirected (no submission server for its
 * family, 465 without submission_tls_port, no conntrack entry): drop it.
 * What goes to the submission server itself is what we redirected (and
 * counted then), or a client already doing the right thing.
 */
static u8 sg_redirect_leftover(const struct sg_policy *pol,
			       const struct sg_flow *flow)
{
	unsigned int f = sg_fam(flow->family);

	if (pol->has_submission[f] &&
	    nf_inet_addr_cmp(&pol->submission[f], &flow->daddr))
		return SMTPGATE_ACTION_UNSPEC;
	return SMTPGATE_ACTION_DROP;
}

/*
 * A banned source: SMTP of any class for every ban; everything else for a
 * ban of scope "all", except what goes to the walled garden.
 */
static const struct sg_ban *sg_banned(struct sg_net *sn,
				      const struct sg_policy *pol,
				      const struct sg_flow *flow)
{
	bool smtp = flow->class != SMTPGATE_CLASS_OTHER;

	if (flow->family == NFPROTO_UNSPEC)
		return NULL;
	if (!smtp && pol->walled_garden.n &&
	    sg_prefix_set_match(&pol->walled_garden, flow->family, &flow->daddr))
		return NULL;
	return sg_ban_match(sn, flow->family, &flow->saddr, smtp);
}

static const u8 sg_action_verdict[__SMTPGATE_ACTION_MAX] = {
	[SMTPGATE_ACTION_UNSPEC] = SMTPGATE_VERDICT_PASS,
	[SMTPGATE_ACTION_DROP] = SMTPGATE_VERDICT_DROP,
	[SMTPGATE_ACTION_LOG] = SMTPGATE_VERDICT_LOG,
	[SMTPGATE_ACTION_DROPLOG] = SMTPGATE_VERDICT_DROPLOG,
	[SMTPGATE_ACTION_REDIRECT] = SMTPGATE_VERDICT_REDIRECT,
};

static unsigned int sg_drop_banned(struct sg_net *sn,
				   const struct sg_policy *pol,
				   const struct sg_flow *flow,
				   const struct sg_ban *ban)
{
	sg_ban_hit(ban);
	sg_stats_inc(sn, flow->class, SMTPGATE_VERDICT_BANNED);
	if (flow->class != SMTPGATE_CLASS_OTHER &&
	    sg_prefix_set_match(&pol->internal, flow->family, &flow->saddr))
		sg_host_account(sn, pol, flow, SMTPGATE_VERDICT_BANNED);
	return NF_DROP;
}

static unsigned int sg_forward(void *priv, struct sk_buff *skb,
			       const struct nf_hook_state *state)
{
	struct sg_net *sn = sg_pernet(state->net);
	const struct sg_policy *pol;
	const struct sg_ban *ban;
	struct sg_flow flow;
	bool internal;
	u8 action;

	pol = rcu_dereference(sn->policy);
	if (unlikely(!pol))
		return NF_ACCEPT;
	sg_classify(skb, skb_network_offset(skb), state->pf, &pol->ports, &flow);
	ban = sg_banned(sn, pol, &flow);
	if (unlikely(ban))
		return sg_drop_banned(sn, pol, &flow, ban);
	if (likely(flow.class == SMTPGATE_CLASS_OTHER))
		return NF_ACCEPT;

	internal = sg_prefix_set_match(&pol->internal, flow.family, &flow.saddr);
	action = sg_policy_action(pol, &flow);
	if (action == SMTPGATE_ACTION_REDIRECT) {
		action = sg_redirect_leftover(pol, &flow);
		if (action == SMTPGATE_ACTION_UNSPEC)
			internal = false;
	}
	sg_stats_inc(sn, flow.class, sg_action_verdict[action]);
	if (internal)
		sg_host_account(sn, pol, &flow, sg_action_verdict[action]);

	switch (action) {
	case SMTPGATE_ACTION_LOG:
		sg_log(skb, state, &flow);
		return NF_ACCEPT;
	case SMTPGATE_ACTION_DROPLOG:
		sg_log(skb, state, &flow);
		return NF_DROP;
	case SMTPGATE_ACTION_DROP:
		return NF_DROP;
	default:
		return NF_ACCEPT;
	}
}

static const struct nf_hook_ops sg_forward_ops[] = {
	{
		.hook = sg_forward,
		.pf = NFPROTO_IPV4,
		.hooknum = NF_INET_FORWARD,
		.priority = SG_HOOK_PRIORITY,
	},
	{
		.hook = sg_forward,
		.pf = NFPROTO_IPV6,
		.hooknum = NF_INET_FORWARD,
		.priority = SG_HOOK_PRIORITY,
	},
};

int sg_hooks_register(struct net *net)
{
	return nf_register_net_hooks(net, sg_forward_ops,
				     ARRAY_SIZE(sg_forward_ops));
}

void sg_hooks_unregister(struct net *net)
{
	nf_unregister_net_hooks(net, sg_forward_ops, ARRAY_SIZE(sg_forward_ops));
}
