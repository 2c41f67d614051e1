// SPDX-License-Identifier: GPL-2.0
/*
 * The standalone enforcement path: netfilter FORWARD hooks for IPv4 and
 * IPv6, registered in a namespace only while its policy polices someone.
 * Runs under the RCU read lock netfilter holds for hooks; takes no lock.
 */
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/netfilter/nf_conntrack.h>
#include <net/netfilter/nf_conntrack_acct.h>
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
void sg_log(struct sk_buff *skb, const struct nf_hook_state *state,
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
const struct sg_ban *sg_banned(struct sg_net *sn, const struct sg_policy *pol,
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

/* Under "trap", SMTP passes here: the trapped connections never get here. */
static const u8 sg_action_verdict[__SMTPGATE_ACTION_MAX] = {
	[SMTPGATE_ACTION_UNSPEC] = SMTPGATE_VERDICT_PASS,
	[SMTPGATE_ACTION_DROP] = SMTPGATE_VERDICT_DROP,
	[SMTPGATE_ACTION_LOG] = SMTPGATE_VERDICT_LOG,
	[SMTPGATE_ACTION_DROPLOG] = SMTPGATE_VERDICT_DROPLOG,
	[SMTPGATE_ACTION_REDIRECT] = SMTPGATE_VERDICT_REDIRECT,
	[SMTPGATE_ACTION_TRAP] = SMTPGATE_VERDICT_PASS,
};

/*
 * Whether @skb is a TCP segment that carries data; fragments do not count,
 * nor do ICMP errors, which conntrack relates to the session they quote.
 */
static bool sg_tcp_has_data(struct sk_buff *skb, u8 family)
{
	struct tcphdr _th;
	const struct tcphdr *th;
	unsigned int thoff;
	__be16 frag_off;
	u8 nexthdr;
	int off;

	if (family == NFPROTO_IPV4) {
		if (ip_hdr(skb)->protocol != IPPROTO_TCP ||
		    ip_is_fragment(ip_hdr(skb)))
			return false;
		thoff = skb_network_offset(skb) + ip_hdrlen(skb);
	} else {
		nexthdr = ipv6_hdr(skb)->nexthdr;
		off = ipv6_skip_exthdr(skb, skb_network_offset(skb) +
				       sizeof(struct ipv6hdr), &nexthdr, &frag_off);
		if (off < 0 || nexthdr != IPPROTO_TCP || frag_off)
			return false;
		thoff = off;
	}
	th = skb_header_pointer(skb, thoff, sizeof(_th), &_th);
	return th && skb->len > thoff + th->doff * 4;
}

/*
 * Whether this data segment of a session is within the inspection budget.
 * Conntrack counts the bytes, once a session has the accounting extension:
 * we add it to port-25 sessions on their first packet (an extension can
 * only be added before the entry is confirmed); sessions older than the
 * policy are left alone.
 */
static bool sg_inspect_budget(const struct sg_policy *pol,
			      struct sk_buff *skb, u8 family)
{
	enum ip_conntrack_info ctinfo;
	struct nf_conn_acct *acct;
	struct nf_conn *ct;
	u64 bytes;

	ct = nf_ct_get(skb, &ctinfo);
	if (!ct)
		return false;
	acct = nf_conn_acct_find(ct);
	if (!acct) {
		if (!nf_ct_is_confirmed(ct))
			nf_ct_ext_add(ct, NF_CT_EXT_ACCT, GFP_ATOMIC);
		return false;
	}
	if (!sg_tcp_has_data(skb, family))
		return false;
	/* Conntrack counted this packet already: judge what came before. */
	bytes = atomic64_read(&acct->counter[CTINFO2DIR(ctinfo)].bytes);
	return bytes - min_t(u64, bytes, skb->len) < pol->inspect_bytes;
}

/**
 * sg_inspect_wanted() - whether to queue a client's SMTP segment
 * @pol:	the policy in force
 * @skb:	the packet
 * @flow:	its classification: SMTP that passes
 * @internal:	whether its source is internal
 *
 * Plaintext port 25 of internal hosts only: 465 and STARTTLS'd sessions
 * are ciphertext, tunnels are dropped or logged whole.
 */
static bool sg_inspect_wanted(const struct sg_policy *pol, struct sk_buff *skb,
			      const struct sg_flow *flow, bool internal)
{
	if (likely(!pol->inspect) || !internal)
		return false;
	if ((flow->class != SMTPGATE_CLASS_SMTP4 &&
	     flow->class != SMTPGATE_CLASS_SMTP6) ||
	    flow->dport != htons(SMTPGATE_SMTP_PORT))
		return false;
	return sg_inspect_budget(pol, skb, flow->family);
}

/* With nobody on the queue, the packet passes as if never queued. */
static unsigned int sg_queue(const struct sg_policy *pol)
{
	return NF_QUEUE_NR(pol->inspect_queue) | NF_VERDICT_FLAG_QUEUE_BYPASS;
}

/**
 * sg_inspect_reply() - queue the server's side of an inspected session
 * @sn:		the namespace
 * @pol:	the policy in force, with inspection on
 * @skb:	a packet the classifier found not to be SMTP
 * @family:	its family
 *
 * The server's replies (from port 25, to an internal host) are what tell
 * smtpgated whether a client talks before its turn or ignores errors.
 * Conntrack's original tuple says which session a reply belongs to.
 */
static unsigned int sg_inspect_reply(struct sg_net *sn,
				     const struct sg_policy *pol,
				     struct sk_buff *skb, u8 family)
{
	const struct nf_conntrack_tuple *orig;
	enum ip_conntrack_info ctinfo;
	struct nf_conn *ct;

	/* A redirected session's replies come from the submission server. */
	ct = nf_ct_get(skb, &ctinfo);
	if (!ct || CTINFO2DIR(ctinfo) != IP_CT_DIR_REPLY ||
	    (ct->status & IPS_DST_NAT))
		return NF_ACCEPT;
	orig = &ct->tuplehash[IP_CT_DIR_ORIGINAL].tuple;
	if (orig->dst.protonum != IPPROTO_TCP ||
	    orig->dst.u.tcp.port != htons(SMTPGATE_SMTP_PORT) ||
	    !sg_prefix_set_match(&pol->internal, family, &orig->src.u3) ||
	    !sg_inspect_budget(pol, skb, family))
		return NF_ACCEPT;
	sg_stats_inc(sn, SMTPGATE_CLASS_OTHER, SMTPGATE_VERDICT_QUEUE);
	return sg_queue(pol);
}

static unsigned int sg_drop_banned(struct sg_net *sn,
				   const struct sg_policy *pol,
				   const struct sg_flow *flow,
				   const struct sg_ban *ban)
{
	sg_ban_hit(ban);
	sg_stats_inc(sn, flow->class, SMTPGATE_VERDICT_BANNED);
	if (flow->class != SMTPGATE_CLASS_OTHER &&
	    sg_prefix_set_match(&pol->internal, flow->family, &flow->saddr))
		sg_host_account(sn, pol, flow, SMTPGATE_VERDICT_BANNED,
				sg_exempt(pol, flow));
	return NF_DROP;
}

static unsigned int sg_forward(void *priv, struct sk_buff *skb,
			       const struct nf_hook_state *state)
{
	struct sg_net *sn = sg_pernet(state->net);
	const struct sg_policy *pol;
	const struct sg_ban *ban;
	struct sg_flow flow;
	bool internal, exempt;
	u8 action;

	pol = rcu_dereference(sn->policy);
	if (unlikely(!pol))
		return NF_ACCEPT;
	sg_classify(skb, skb_network_offset(skb), state->pf, &pol->ports, &flow);
	ban = sg_banned(sn, pol, &flow);
	if (unlikely(ban))
		return sg_drop_banned(sn, pol, &flow, ban);
	if (likely(flow.class == SMTPGATE_CLASS_OTHER)) {
		if (unlikely(pol->inspect) && flow.family != NFPROTO_UNSPEC)
			return sg_inspect_reply(sn, pol, skb, flow.family);
		return NF_ACCEPT;
	}

	/* Each prefix list is read once per packet. */
	internal = sg_prefix_set_match(&pol->internal, flow.family, &flow.saddr);
	exempt = internal && sg_exempt(pol, &flow);
	action = internal && !exempt ? sg_class_action(pol, &flow) :
				       SMTPGATE_ACTION_UNSPEC;
	if (action == SMTPGATE_ACTION_REDIRECT) {
		action = sg_redirect_leftover(pol, &flow);
		if (action == SMTPGATE_ACTION_UNSPEC)
			internal = false;
	}
	if (internal)
		sg_host_account(sn, pol, &flow, sg_action_verdict[action],
				exempt);

	switch (action) {
	case SMTPGATE_ACTION_LOG:
		sg_stats_inc(sn, flow.class, SMTPGATE_VERDICT_LOG);
		/*
		 * One line per connection attempt (and per SYN retry): the
		 * session's every segment passes, and would flood the log.
		 */
		if (!(flow.tcp_flags & SG_TCP_ACK))
			sg_log(skb, state, &flow);
		if (sg_inspect_wanted(pol, skb, &flow, internal))
			return sg_queue(pol);
		return NF_ACCEPT;
	case SMTPGATE_ACTION_DROPLOG:
		sg_stats_inc(sn, flow.class, SMTPGATE_VERDICT_DROPLOG);
		sg_log(skb, state, &flow);
		return NF_DROP;
	case SMTPGATE_ACTION_DROP:
		sg_stats_inc(sn, flow.class, SMTPGATE_VERDICT_DROP);
		return NF_DROP;
	default:
		/* Queued packets count as queued: each packet once. */
		if (sg_inspect_wanted(pol, skb, &flow, internal)) {
			sg_stats_inc(sn, flow.class, SMTPGATE_VERDICT_QUEUE);
			return sg_queue(pol);
		}
		sg_stats_inc(sn, flow.class, sg_action_verdict[action]);
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
