// SPDX-License-Identifier: GPL-2.0
/*
 * The SMTPGATE target: smtpgate as a rule in the operator's own iptables or
 * ip6tables ruleset (iptables-legacy, and iptables-nft through nft_compat).
 *
 * The rule chooses the hosts; the target classifies with the classifier
 * the hooks use, tracks SMTP per host (so flagging and bans work as in
 * standalone mode) and applies its action.  The namespace's policy still
 * supplies the exempt list, the walled garden, the limits and the bans.
 * The contract is in <linux/netfilter/xt_SMTPGATE.h>.
 */
#include <linux/module.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_SMTPGATE.h>
#include <net/ipv6.h>
#include <net/netfilter/nf_conntrack.h>
#include <net/netfilter/nf_log.h>

#include "smtpgate.h"

#define SG_SMTPS_PORT	465

static bool sg_xt_redirects(const struct xt_smtpgate_tginfo *info)
{
	return info->action == SMTPGATE_ACTION_REDIRECT;
}

static bool sg_xt_logs(const struct xt_smtpgate_tginfo *info)
{
	return info->action == SMTPGATE_ACTION_LOG ||
	       info->action == SMTPGATE_ACTION_DROPLOG;
}

/*
 * "redirect", in the nat table: the first packet of a connection only.
 * What cannot go to a plaintext submission port (465, tunnels) is dropped:
 * letting it through would defeat the rule.
 */
static unsigned int sg_xt_redirect(struct sg_net *sn,
				   const struct sg_policy *pol,
				   struct sk_buff *skb,
				   const struct xt_smtpgate_tginfo *info,
				   const struct sg_flow *flow)
{
	enum ip_conntrack_info ctinfo;
	struct nf_conn *ct = nf_ct_get(skb, &ctinfo);

	if ((flow->class != SMTPGATE_CLASS_SMTP4 &&
	     flow->class != SMTPGATE_CLASS_SMTP6) ||
	    flow->dport == htons(SG_SMTPS_PORT) || !ct ||
	    (ctinfo != IP_CT_NEW && ctinfo != IP_CT_RELATED)) {
		sg_stats_inc(sn, flow->class, SMTPGATE_VERDICT_DROP);
		sg_host_account(sn, pol, flow, SMTPGATE_VERDICT_DROP, false);
		return NF_DROP;
	}
	sg_stats_inc(sn, flow->class, SMTPGATE_VERDICT_REDIRECT);
	sg_host_account(sn, pol, flow, SMTPGATE_VERDICT_REDIRECT, false);
	return sg_dnat(ct, &info->submission, info->submission_port ?:
		       SMTPGATE_DEFAULT_SUBMISSION_PORT);
}

static const u8 sg_xt_verdict[] = {
	[SMTPGATE_ACTION_DROP] = SMTPGATE_VERDICT_DROP,
	[SMTPGATE_ACTION_LOG] = SMTPGATE_VERDICT_LOG,
	[SMTPGATE_ACTION_DROPLOG] = SMTPGATE_VERDICT_DROPLOG,
	[SMTPGATE_ACTION_REDIRECT] = SMTPGATE_VERDICT_REDIRECT,
	[XT_SMTPGATE_ACTION_CLASSIFY] = SMTPGATE_VERDICT_PASS,
};

static unsigned int sg_xt_target(struct sk_buff *skb,
				 const struct xt_action_param *par)
{
	const struct xt_smtpgate_tginfo *info = par->targinfo;
	struct sg_net *sn = sg_pernet(xt_net(par));
	const struct sg_policy *pol;
	const struct sg_ban *ban;
	struct sg_flow flow;
	u8 verdict;

	pol = rcu_dereference(sn->policy);
	if (unlikely(!pol))
		return XT_CONTINUE;
	sg_classify(skb, skb_network_offset(skb), xt_family(par),
		    info->priv ?: &pol->ports, &flow);
	ban = sg_banned(sn, pol, &flow);
	if (unlikely(ban)) {
		sg_ban_hit(ban);
		sg_stats_inc(sn, flow.class, SMTPGATE_VERDICT_BANNED);
		if (flow.class != SMTPGATE_CLASS_OTHER)
			sg_host_account(sn, pol, &flow, SMTPGATE_VERDICT_BANNED,
					sg_exempt(pol, &flow));
		return NF_DROP;
	}
	if (flow.class == SMTPGATE_CLASS_OTHER)
		return XT_CONTINUE;
	if (sg_exempt(pol, &flow)) {
		sg_stats_inc(sn, flow.class, SMTPGATE_VERDICT_PASS);
		sg_host_account(sn, pol, &flow, SMTPGATE_VERDICT_PASS, true);
		return XT_CONTINUE;
	}
	if (sg_xt_redirects(info))
		return sg_xt_redirect(sn, pol, skb, info, &flow);

	verdict = sg_xt_verdict[info->action];
	sg_stats_inc(sn, flow.class, verdict);
	sg_host_account(sn, pol, &flow, verdict, false);
	if (sg_xt_logs(info))
		sg_log(skb, par->state, &flow);
	if (info->action == SMTPGATE_ACTION_DROP ||
	    info->action == SMTPGATE_ACTION_DROPLOG)
		return NF_DROP;
	return XT_CONTINUE;
}

/* The submission address must be of the rule's family. */
static bool sg_xt_addr_fits(const union nf_inet_addr *a, u8 family)
{
	if (family == NFPROTO_IPV4)
		return a->ip && !a->all[1] && !a->all[2] && !a->all[3];
	return !ipv6_addr_any(&a->in6) && !ipv6_addr_v4mapped(&a->in6);
}

static int sg_xt_check_info(const struct xt_tgchk_param *par,
			    const struct xt_smtpgate_tginfo *info)
{
	unsigned int i;

	if (info->action < SMTPGATE_ACTION_DROP ||
	    (info->action > SMTPGATE_ACTION_REDIRECT &&
	     info->action != XT_SMTPGATE_ACTION_CLASSIFY)) {
		pr_info_ratelimited("target: unknown action %u\n", info->action);
		return -EINVAL;
	}
	if (info->flags & ~XT_SMTPGATE_F_ALL) {
		pr_info_ratelimited("target: unknown flags 0x%x\n", info->flags);
		return -EINVAL;
	}
	if ((info->flags & XT_SMTPGATE_F_PORTS) &&
	    (!info->n_ports || info->n_ports > XT_SMTPGATE_MAX_PORTS)) {
		pr_info_ratelimited("target: --ports takes 1 to %d ports\n",
				    XT_SMTPGATE_MAX_PORTS);
		return -EINVAL;
	}
	for (i = 0; (info->flags & XT_SMTPGATE_F_PORTS) && i < info->n_ports; i++) {
		if (!info->ports[i]) {
			pr_info_ratelimited("target: --ports: port 0\n");
			return -EINVAL;
		}
	}
	if (!sg_xt_redirects(info)) {
		if (info->flags & XT_SMTPGATE_F_SUBMISSION) {
			pr_info_ratelimited("target: --submission goes with --action redirect only\n");
			return -EINVAL;
		}
		return 0;
	}
	if (strcmp(par->table, "nat") ||
	    (par->hook_mask & ~BIT(NF_INET_PRE_ROUTING))) {
		pr_info_ratelimited("target: --action redirect is only valid in the nat table's PREROUTING chain\n");
		return -EINVAL;
	}
	if (!(info->flags & XT_SMTPGATE_F_SUBMISSION)) {
		pr_info_ratelimited("target: --action redirect needs --submission\n");
		return -EINVAL;
	}
	if (!sg_xt_addr_fits(&info->submission, par->family)) {
		pr_info_ratelimited("target: --submission is not an %s address\n",
				    par->family == NFPROTO_IPV4 ? "IPv4" : "IPv6");
		return -EINVAL;
	}
	return 0;
}

/* --ports as the bitmap the classifier reads. */
static struct sg_ports *sg_xt_ports(const struct xt_smtpgate_tginfo *info)
{
	struct sg_ports *ports = kvzalloc(sizeof(*ports), GFP_KERNEL);
	unsigned int i;

	if (ports)
		for (i = 0; i < info->n_ports; i++)
			sg_port_set(ports, info->ports[i]);
	return ports;
}

static int sg_xt_check(const struct xt_tgchk_param *par)
{
	struct xt_smtpgate_tginfo *info = par->targinfo;
	struct sg_net *sn;
	int err;

	err = sg_xt_check_info(par, info);
	if (err)
		return err;
	if (sg_xt_logs(info)) {
		err = nf_logger_find_get(par->family, NF_LOG_TYPE_LOG);
		if (err) {
			pr_info_ratelimited("target: no nf_log logger (nf_log_syslog): %d\n",
					    err);
			return err;
		}
	}
	if (sg_xt_redirects(info)) {
		err = nf_ct_netns_get(par->net, par->family);
		if (err)
			goto put_log;
	}
	/* A rule is a use of smtpgate: the namespace's state from now on. */
	sn = sg_net_use(par->net);
	err = PTR_ERR_OR_ZERO(sn);
	if (!err)
		err = sg_hosts_for_rules(sn, true);
	if (err)
		goto put_ct;
	info->priv = NULL;
	if (info->flags & XT_SMTPGATE_F_PORTS) {
		info->priv = sg_xt_ports(info);
		if (!info->priv) {
			err = -ENOMEM;
			goto put_hosts;
		}
	}
	return 0;

put_hosts:
	sg_hosts_for_rules(sn, false);
put_ct:
	if (sg_xt_redirects(info))
		nf_ct_netns_put(par->net, par->family);
put_log:
	if (sg_xt_logs(info))
		nf_logger_put(par->family, NF_LOG_TYPE_LOG);
	return err;
}

static void sg_xt_destroy(const struct xt_tgdtor_param *par)
{
	struct xt_smtpgate_tginfo *info = par->targinfo;
	struct sg_net *sn;

	kvfree(info->priv);
	sn = sg_pernet(par->net);
	/* None when the namespace's exit took it before its tables went. */
	if (sn)
		sg_hosts_for_rules(sn, false);
	if (sg_xt_redirects(info))
		nf_ct_netns_put(par->net, par->family);
	if (sg_xt_logs(info))
		nf_logger_put(par->family, NF_LOG_TYPE_LOG);
}

static struct xt_target sg_xt_targets[] __read_mostly = {
	{
		.name = "SMTPGATE",
		.revision = 0,
		.family = NFPROTO_IPV4,
		.target = sg_xt_target,
		.targetsize = sizeof(struct xt_smtpgate_tginfo),
		.usersize = offsetof(struct xt_smtpgate_tginfo, priv),
		.checkentry = sg_xt_check,
		.destroy = sg_xt_destroy,
		.me = THIS_MODULE,
	},
	{
		.name = "SMTPGATE",
		.revision = 0,
		.family = NFPROTO_IPV6,
		.target = sg_xt_target,
		.targetsize = sizeof(struct xt_smtpgate_tginfo),
		.usersize = offsetof(struct xt_smtpgate_tginfo, priv),
		.checkentry = sg_xt_check,
		.destroy = sg_xt_destroy,
		.me = THIS_MODULE,
	},
};

int sg_xt_init(void)
{
	return xt_register_targets(sg_xt_targets, ARRAY_SIZE(sg_xt_targets));
}

void sg_xt_exit(void)
{
	xt_unregister_targets(sg_xt_targets, ARRAY_SIZE(sg_xt_targets));
}

MODULE_ALIAS("ipt_SMTPGATE");
MODULE_ALIAS("ip6t_SMTPGATE");
