// SPDX-License-Identifier: GPL-2.0
/*
 * The generic netlink family "smtpgate": policy, hosts, bans, statistics
 * and events.  The contract, attribute by attribute, is the prose at the
 * top of include/uapi/linux/smtpgate.h.
 *
 * Each command has its own attribute policy, so the netlink core rejects
 * anything of the wrong type, length or range, and anything the command
 * does not take, before a handler runs; handlers check what a policy cannot
 * express (address length against family, host bits, cross-field rules),
 * each time with an extack message and the offending attribute.
 */
#include <net/genetlink.h>
#include <net/sock.h>

#include "smtpgate.h"

static struct genl_family sg_genl_family;

static const struct nla_policy sg_addr_policy[SMTPGATE_A_PREFIX_MAX + 1] = {
	[SMTPGATE_A_PREFIX_FAMILY] = { .type = NLA_U16 },
	[SMTPGATE_A_PREFIX_ADDR] = { .type = NLA_BINARY, .len = 16 },
	[SMTPGATE_A_PREFIX_LEN] = NLA_POLICY_MAX(NLA_U8, 128),
};

static const struct nla_policy sg_ports_policy[SMTPGATE_A_PORT + 1] = {
	[SMTPGATE_A_PORT] = NLA_POLICY_MIN(NLA_U16, 1),
};

static struct netlink_range_validation sg_window_range = {
	.min = 1, .max = 86400,
};

static struct netlink_range_validation sg_table_range = {
	.min = 16, .max = SG_MAX_TABLE,
};

static struct netlink_range_validation sg_inspect_bytes_range = {
	.min = 64, .max = 1048576,
};

static struct netlink_range_validation sg_timeout_range = {
	.min = 1, .max = SMTPGATE_MAX_BAN_TIMEOUT,
};

static const struct nla_policy sg_policy_policy[SMTPGATE_A_POLICY_MAX + 1] = {
	[SMTPGATE_A_POLICY_INTERNAL] = NLA_POLICY_NESTED_ARRAY(sg_addr_policy),
	[SMTPGATE_A_POLICY_EXEMPT] = NLA_POLICY_NESTED_ARRAY(sg_addr_policy),
	[SMTPGATE_A_POLICY_WALLED_GARDEN] = NLA_POLICY_NESTED_ARRAY(sg_addr_policy),
	[SMTPGATE_A_POLICY_ACTION] = NLA_POLICY_RANGE(NLA_U8, SMTPGATE_ACTION_DROP,
						      SMTPGATE_ACTION_MAX),
	[SMTPGATE_A_POLICY_TUNNEL_ACTION] = NLA_POLICY_RANGE(NLA_U8,
							     SMTPGATE_ACTION_DROP,
							     SMTPGATE_ACTION_MAX),
	[SMTPGATE_A_POLICY_SUBMISSION4] = NLA_POLICY_EXACT_LEN(4),
	[SMTPGATE_A_POLICY_SUBMISSION6] = NLA_POLICY_EXACT_LEN(16),
	[SMTPGATE_A_POLICY_SUBMISSION_PORT] = NLA_POLICY_MIN(NLA_U16, 1),
	[SMTPGATE_A_POLICY_SUBMISSION_TLS_PORT] = { .type = NLA_U16 },
	[SMTPGATE_A_POLICY_PORTS] = NLA_POLICY_NESTED(sg_ports_policy),
	[SMTPGATE_A_POLICY_WINDOW] = NLA_POLICY_FULL_RANGE(NLA_U32, &sg_window_range),
	[SMTPGATE_A_POLICY_RATE_LIMIT] = { .type = NLA_U32 },
	[SMTPGATE_A_POLICY_BLOCKED_LIMIT] = { .type = NLA_U32 },
	[SMTPGATE_A_POLICY_DEST_LIMIT] = { .type = NLA_U32 },
	[SMTPGATE_A_POLICY_FLAG_TUNNEL] = NLA_POLICY_MAX(NLA_U8, 1),
	[SMTPGATE_A_POLICY_BAN_SCOPE] = NLA_POLICY_RANGE(NLA_U8, SMTPGATE_SCOPE_SMTP,
							 SMTPGATE_SCOPE_MAX),
	[SMTPGATE_A_POLICY_HOST_PREFIX4] = NLA_POLICY_RANGE(NLA_U8, 8, 32),
	[SMTPGATE_A_POLICY_HOST_PREFIX6] = NLA_POLICY_RANGE(NLA_U8, 16, 128),
	[SMTPGATE_A_POLICY_MAX_HOSTS] = NLA_POLICY_FULL_RANGE(NLA_U32, &sg_table_range),
	[SMTPGATE_A_POLICY_MAX_BANS] = NLA_POLICY_FULL_RANGE(NLA_U32, &sg_table_range),
	[SMTPGATE_A_POLICY_GENERATION] = { .type = NLA_U32 },
	[SMTPGATE_A_POLICY_INSPECT_QUEUE] = { .type = NLA_U16 },
	[SMTPGATE_A_POLICY_INSPECT_BYTES] = NLA_POLICY_FULL_RANGE(NLA_U32,
								  &sg_inspect_bytes_range),
	[SMTPGATE_A_POLICY_TRAP_PORT] = NLA_POLICY_MIN(NLA_U16, 1),
};

static const struct nla_policy sg_host_policy[SMTPGATE_A_HOST_MAX + 1] = {
	[SMTPGATE_A_HOST_FAMILY] = { .type = NLA_U16 },
	[SMTPGATE_A_HOST_ADDR] = { .type = NLA_BINARY, .len = 16 },
};

static const struct nla_policy sg_host_flag_policy[SMTPGATE_A_HOST_MAX + 1] = {
	[SMTPGATE_A_HOST_FAMILY] = { .type = NLA_U16 },
	[SMTPGATE_A_HOST_ADDR] = { .type = NLA_BINARY, .len = 16 },
	[SMTPGATE_A_HOST_REASONS] = NLA_POLICY_MASK(NLA_U32, SMTPGATE_REASON_ALL),
};

static const struct nla_policy sg_ban_policy[SMTPGATE_A_BAN_MAX + 1] = {
	[SMTPGATE_A_BAN_FAMILY] = { .type = NLA_U16 },
	[SMTPGATE_A_BAN_ADDR] = { .type = NLA_BINARY, .len = 16 },
	[SMTPGATE_A_BAN_PREFIX_LEN] = NLA_POLICY_MAX(NLA_U8, 128),
	[SMTPGATE_A_BAN_SCOPE] = NLA_POLICY_RANGE(NLA_U8, SMTPGATE_SCOPE_SMTP,
						  SMTPGATE_SCOPE_MAX),
	[SMTPGATE_A_BAN_TIMEOUT] = NLA_POLICY_FULL_RANGE(NLA_U32,
							 &sg_timeout_range),
	[SMTPGATE_A_BAN_REASON] = { .type = NLA_NUL_STRING,
				    .len = SMTPGATE_BAN_REASON_LEN - 1 },
};

/* Per command: only the attributes it takes; anything else is rejected. */
static const struct nla_policy sg_none_policy[SMTPGATE_A_MAX + 1] = {};

static const struct nla_policy sg_policy_set_policy[SMTPGATE_A_MAX + 1] = {
	[SMTPGATE_A_POLICY] = NLA_POLICY_NESTED(sg_policy_policy),
};

static const struct nla_policy sg_host_get_policy[SMTPGATE_A_MAX + 1] = {
	[SMTPGATE_A_HOST] = NLA_POLICY_NESTED(sg_host_policy),
	[SMTPGATE_A_FLAGS] = NLA_POLICY_MASK(NLA_U32, SMTPGATE_F_FLAGGED_ONLY),
};

static const struct nla_policy sg_host_forget_policy[SMTPGATE_A_MAX + 1] = {
	[SMTPGATE_A_HOST] = NLA_POLICY_NESTED(sg_host_policy),
};

static const struct nla_policy sg_host_flag_top_policy[SMTPGATE_A_MAX + 1] = {
	[SMTPGATE_A_HOST] = NLA_POLICY_NESTED(sg_host_flag_policy),
};

static const struct nla_policy sg_ban_add_policy[SMTPGATE_A_MAX + 1] = {
	[SMTPGATE_A_BAN] = NLA_POLICY_NESTED(sg_ban_policy),
	[SMTPGATE_A_BANS] = NLA_POLICY_NESTED_ARRAY(sg_ban_policy),
	[SMTPGATE_A_FLAGS] = NLA_POLICY_MASK(NLA_U32, SMTPGATE_F_QUIET),
};

static const struct nla_policy sg_ban_one_policy[SMTPGATE_A_MAX + 1] = {
	[SMTPGATE_A_BAN] = NLA_POLICY_NESTED(sg_ban_policy),
};

/*
 * A request is a use of smtpgate: from now on the namespace has a state.
 * Return: it, or ERR_PTR(-ENOMEM) with the request's extack set.
 */
static struct sg_net *sg_info_net(struct genl_info *info)
{
	struct sg_net *sn = sg_net_use(genl_info_net(info));

	if (IS_ERR(sn))
		NL_SET_ERR_MSG(info->extack,
			       "no memory for this namespace's smtpgate state");
	return sn;
}

/*
 * Reads FAMILY, ADDR and (unless @full) LEN, which have the same numbers in
 * prefix, host and ban nests, into @key.  Host bits past the length are an
 * error, not something to clear silently.
 */
static int sg_nl_key(struct nlattr **tb, const struct nlattr *nest, bool full,
		     struct sg_key *key, struct netlink_ext_ack *extack)
{
	const struct nlattr *fa = tb[SMTPGATE_A_PREFIX_FAMILY];
	const struct nlattr *aa = tb[SMTPGATE_A_PREFIX_ADDR];
	const struct nlattr *la = tb[SMTPGATE_A_PREFIX_LEN];
	union nf_inet_addr addr = {};
	unsigned int alen, len;
	struct sg_prefix p;
	u8 family;

	if (!fa || !aa) {
		NL_SET_ERR_MSG_ATTR(extack, nest, "address family and address are required");
		return -EINVAL;
	}
	switch (nla_get_u16(fa)) {
	case AF_INET:
		family = NFPROTO_IPV4;
		alen = 4;
		break;
	case AF_INET6:
		family = NFPROTO_IPV6;
		alen = 16;
		break;
	default:
		NL_SET_ERR_MSG_ATTR(extack, fa, "address family must be AF_INET or AF_INET6");
		return -EINVAL;
	}
	if (nla_len(aa) != alen) {
		NL_SET_ERR_MSG_ATTR(extack, aa,
				    "address length does not match the address family (4 or 16 bytes)");
		return -EINVAL;
	}
	len = alen * 8;
	if (la && full && nla_get_u8(la) != len) {
		NL_SET_ERR_MSG_ATTR(extack, la,
				    "a single address is asked for here: no prefix length, or the full one");
		return -EINVAL;
	}
	if (la && !full) {
		len = nla_get_u8(la);
		if (len > alen * 8) {
			NL_SET_ERR_MSG_ATTR(extack, la,
					    "prefix length longer than the address (32 for IPv4, 128 for IPv6)");
			return -EINVAL;
		}
	}
	memcpy(&addr, nla_data(aa), alen);
	if (sg_prefix_init(&p, family, &addr, len)) {
		NL_SET_ERR_MSG_ATTR(extack, aa, "address has host bits set past the prefix length");
		return -EINVAL;
	}
	sg_key_make(key, family, &addr, len);
	return 0;
}

/* Host and ban nests share the address attributes; @tb fits either. */
#define SG_ADDR_NEST_MAX	SMTPGATE_A_HOST_MAX
static_assert(SMTPGATE_A_HOST_MAX >= SMTPGATE_A_BAN_MAX);

static int sg_nl_nested_key(const struct nlattr *nest, int maxtype,
			    const struct nla_policy *policy, bool full,
			    struct sg_key *key, struct netlink_ext_ack *extack)
{
	struct nlattr *tb[SG_ADDR_NEST_MAX + 1];
	int err;

	if (WARN_ON_ONCE(maxtype > SG_ADDR_NEST_MAX))
		return -EINVAL;
	err = nla_parse_nested(tb, maxtype, nest, policy, extack);
	if (err)
		return err;
	return sg_nl_key(tb, nest, full, key, extack);
}

/* NL_SET_ERR_MSG_ATTR() for a message chosen at run time (still static). */
static void sg_extack(struct netlink_ext_ack *extack, const struct nlattr *attr,
		      const char *msg)
{
	if (extack) {
		extack->_msg = msg;
		extack->bad_attr = attr;
	}
}

/* Static texts per list: extack messages must outlive the request. */
struct sg_list_msgs {
	const char *too_many;
	const char *entry;
};

static const struct sg_list_msgs sg_internal_msgs = {
	"internal: more than 32 prefixes", "internal: entries must be SMTPGATE_A_PREFIX_ENTRY",
};

static const struct sg_list_msgs sg_exempt_msgs = {
	"exempt: more than 32 prefixes", "exempt: entries must be SMTPGATE_A_PREFIX_ENTRY",
};

static const struct sg_list_msgs sg_garden_msgs = {
	"walled_garden: more than 32 prefixes",
	"walled_garden: entries must be SMTPGATE_A_PREFIX_ENTRY",
};

static int sg_nl_prefix_list(const struct nlattr *list,
			     const struct sg_list_msgs *msgs,
			     struct sg_prefix_set *set,
			     struct netlink_ext_ack *extack)
{
	struct nlattr *tb[SMTPGATE_A_PREFIX_MAX + 1];
	const struct nlattr *e;
	struct sg_key key;
	int rem, err;

	nla_for_each_nested(e, list, rem) {
		if (nla_type(e) != SMTPGATE_A_PREFIX_ENTRY) {
			sg_extack(extack, e, msgs->entry);
			return -EINVAL;
		}
		if (set->n == SG_MAX_PREFIXES) {
			sg_extack(extack, e, msgs->too_many);
			return -E2BIG;
		}
		err = nla_parse_nested(tb, SMTPGATE_A_PREFIX_MAX, e,
				       sg_addr_policy, extack);
		if (!err)
			err = sg_nl_key(tb, e, false, &key, extack);
		if (err)
			return err;
		sg_prefix_init(&set->v[set->n++], key.family, &key.addr, key.len);
	}
	return 0;
}

static int sg_nl_ports(const struct nlattr *list, struct sg_policy *pol,
		       struct netlink_ext_ack *extack)
{
	const struct nlattr *e;
	int rem;

	pol->n_ports = 0;
	memset(&pol->ports, 0, sizeof(pol->ports));
	nla_for_each_nested(e, list, rem) {
		if (nla_type(e) != SMTPGATE_A_PORT) {
			NL_SET_ERR_MSG_ATTR(extack, e, "ports: entries must be SMTPGATE_A_PORT");
			return -EINVAL;
		}
		if (pol->n_ports == SG_MAX_PORTS) {
			NL_SET_ERR_MSG_ATTR(extack, e, "ports: more than 32 ports");
			return -E2BIG;
		}
		sg_policy_add_port(pol, nla_get_u16(e));
	}
	if (!pol->n_ports) {
		NL_SET_ERR_MSG_ATTR(extack, list, "ports: the list is empty");
		return -EINVAL;
	}
	return 0;
}

static int sg_nl_policy_lists(struct nlattr **tb, struct sg_policy *pol,
			      struct netlink_ext_ack *extack)
{
	int err = 0;

	if (tb[SMTPGATE_A_POLICY_INTERNAL])
		err = sg_nl_prefix_list(tb[SMTPGATE_A_POLICY_INTERNAL],
					&sg_internal_msgs, &pol->internal, extack);
	if (!err && tb[SMTPGATE_A_POLICY_EXEMPT])
		err = sg_nl_prefix_list(tb[SMTPGATE_A_POLICY_EXEMPT],
					&sg_exempt_msgs, &pol->exempt, extack);
	if (!err && tb[SMTPGATE_A_POLICY_WALLED_GARDEN])
		err = sg_nl_prefix_list(tb[SMTPGATE_A_POLICY_WALLED_GARDEN],
					&sg_garden_msgs, &pol->walled_garden,
					extack);
	if (!err && tb[SMTPGATE_A_POLICY_PORTS])
		err = sg_nl_ports(tb[SMTPGATE_A_POLICY_PORTS], pol, extack);
	return err;
}

static void sg_get_u8(const struct nlattr *a, u8 *dst)
{
	if (a)
		*dst = nla_get_u8(a);
}

static void sg_get_u16(const struct nlattr *a, u16 *dst)
{
	if (a)
		*dst = nla_get_u16(a);
}

static void sg_get_u32(const struct nlattr *a, u32 *dst)
{
	if (a)
		*dst = nla_get_u32(a);
}

static void sg_nl_policy_scalars(struct nlattr **tb, struct sg_policy *pol)
{
	sg_get_u8(tb[SMTPGATE_A_POLICY_ACTION], &pol->action);
	sg_get_u8(tb[SMTPGATE_A_POLICY_TUNNEL_ACTION], &pol->tunnel_action);
	sg_get_u16(tb[SMTPGATE_A_POLICY_SUBMISSION_PORT], &pol->submission_port);
	sg_get_u16(tb[SMTPGATE_A_POLICY_SUBMISSION_TLS_PORT], &pol->submission_tls_port);
	sg_get_u32(tb[SMTPGATE_A_POLICY_WINDOW], &pol->window);
	sg_get_u32(tb[SMTPGATE_A_POLICY_RATE_LIMIT], &pol->rate_limit);
	sg_get_u32(tb[SMTPGATE_A_POLICY_BLOCKED_LIMIT], &pol->blocked_limit);
	sg_get_u32(tb[SMTPGATE_A_POLICY_DEST_LIMIT], &pol->dest_limit);
	sg_get_u8(tb[SMTPGATE_A_POLICY_FLAG_TUNNEL], &pol->flag_tunnel);
	sg_get_u8(tb[SMTPGATE_A_POLICY_BAN_SCOPE], &pol->ban_scope);
	sg_get_u8(tb[SMTPGATE_A_POLICY_HOST_PREFIX4], &pol->host_prefix[0]);
	sg_get_u8(tb[SMTPGATE_A_POLICY_HOST_PREFIX6], &pol->host_prefix[1]);
	sg_get_u32(tb[SMTPGATE_A_POLICY_MAX_HOSTS], &pol->max_hosts);
	sg_get_u32(tb[SMTPGATE_A_POLICY_MAX_BANS], &pol->max_bans);
	sg_get_u32(tb[SMTPGATE_A_POLICY_INSPECT_BYTES], &pol->inspect_bytes);
	sg_get_u16(tb[SMTPGATE_A_POLICY_TRAP_PORT], &pol->trap_port);
	if (tb[SMTPGATE_A_POLICY_INSPECT_QUEUE]) {
		pol->inspect_queue = nla_get_u16(tb[SMTPGATE_A_POLICY_INSPECT_QUEUE]);
		pol->inspect = true;
	}
	if (tb[SMTPGATE_A_POLICY_SUBMISSION4]) {
		nla_memcpy(&pol->submission[0], tb[SMTPGATE_A_POLICY_SUBMISSION4], 4);
		pol->has_submission[0] = true;
	}
	if (tb[SMTPGATE_A_POLICY_SUBMISSION6]) {
		nla_memcpy(&pol->submission[1], tb[SMTPGATE_A_POLICY_SUBMISSION6], 16);
		pol->has_submission[1] = true;
	}
}

/* Cross-field rules, with the attribute to blame. */
static int sg_nl_policy_check(struct nlattr **tb, const struct nlattr *nest,
			      const struct sg_policy *pol,
			      struct netlink_ext_ack *extack)
{
	const char *msg;
	int attr;

	msg = sg_policy_check(pol, &attr);
	if (!msg)
		return 0;
	sg_extack(extack, tb[attr] ?: nest, msg);
	return -EINVAL;
}

static int sg_nl_policy_set_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *tb[SMTPGATE_A_POLICY_MAX + 1] = {};
	const struct nlattr *nest = info->attrs[SMTPGATE_A_POLICY];
	struct sg_policy *pol;
	u32 gen, *expect = NULL;
	struct sg_net *sn;
	int err;

	if (nest) {
		err = nla_parse_nested(tb, SMTPGATE_A_POLICY_MAX, nest,
				       sg_policy_policy, info->extack);
		if (err)
			return err;
	}
	pol = sg_policy_alloc();
	if (!pol)
		return -ENOMEM;
	err = sg_nl_policy_lists(tb, pol, info->extack);
	if (!err) {
		sg_nl_policy_scalars(tb, pol);
		err = sg_nl_policy_check(tb, nest, pol, info->extack);
	}
	if (err) {
		kvfree(pol);
		return err;
	}
	sn = sg_info_net(info);
	if (IS_ERR(sn)) {
		kvfree(pol);
		return PTR_ERR(sn);
	}
	if (tb[SMTPGATE_A_POLICY_GENERATION]) {
		gen = nla_get_u32(tb[SMTPGATE_A_POLICY_GENERATION]);
		expect = &gen;
	}
	err = sg_policy_install(sn, pol, expect);
	if (err == -ESTALE) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "generation: the policy changed since it was read; read it again");
		NL_SET_BAD_ATTR(info->extack, tb[SMTPGATE_A_POLICY_GENERATION]);
	} else if (err) {
		NL_SET_ERR_MSG(info->extack,
			       "cannot put the policy in force (hooks, conntrack NAT or logger); the old one stays");
	}
	return err;
}

static int sg_fill_addr(struct sk_buff *skb, int type, u8 family,
			const union nf_inet_addr *addr, u8 len)
{
	struct nlattr *nest = nla_nest_start(skb, type);

	if (!nest ||
	    nla_put_u16(skb, SMTPGATE_A_PREFIX_FAMILY,
			family == NFPROTO_IPV4 ? AF_INET : AF_INET6) ||
	    nla_put(skb, SMTPGATE_A_PREFIX_ADDR,
		    family == NFPROTO_IPV4 ? 4 : 16, addr) ||
	    nla_put_u8(skb, SMTPGATE_A_PREFIX_LEN, len))
		return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

static int sg_fill_prefix_list(struct sk_buff *skb, int type,
			       const struct sg_prefix_set *set)
{
	struct nlattr *nest = nla_nest_start(skb, type);
	unsigned int i;

	if (!nest)
		return -EMSGSIZE;
	for (i = 0; i < set->n; i++)
		if (sg_fill_addr(skb, SMTPGATE_A_PREFIX_ENTRY, set->v[i].family,
				 &set->v[i].addr, set->v[i].len))
			return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

static int sg_fill_ports(struct sk_buff *skb, const struct sg_policy *pol)
{
	struct nlattr *nest = nla_nest_start(skb, SMTPGATE_A_POLICY_PORTS);
	unsigned int i;

	if (!nest)
		return -EMSGSIZE;
	for (i = 0; i < pol->n_ports; i++)
		if (nla_put_u16(skb, SMTPGATE_A_PORT, pol->port_list[i]))
			return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

/* The policy as an SMTPGATE_A_POLICY nest: exactly what was set. */
int sg_policy_fill(struct sk_buff *skb, const struct sg_policy *pol)
{
	struct nlattr *nest = nla_nest_start(skb, SMTPGATE_A_POLICY);

	if (!nest ||
	    sg_fill_prefix_list(skb, SMTPGATE_A_POLICY_INTERNAL, &pol->internal) ||
	    sg_fill_prefix_list(skb, SMTPGATE_A_POLICY_EXEMPT, &pol->exempt) ||
	    sg_fill_prefix_list(skb, SMTPGATE_A_POLICY_WALLED_GARDEN,
				&pol->walled_garden) ||
	    sg_fill_ports(skb, pol) ||
	    nla_put_u8(skb, SMTPGATE_A_POLICY_ACTION, pol->action) ||
	    nla_put_u8(skb, SMTPGATE_A_POLICY_TUNNEL_ACTION, pol->tunnel_action) ||
	    (pol->has_submission[0] &&
	     nla_put(skb, SMTPGATE_A_POLICY_SUBMISSION4, 4, &pol->submission[0])) ||
	    (pol->has_submission[1] &&
	     nla_put(skb, SMTPGATE_A_POLICY_SUBMISSION6, 16, &pol->submission[1])) ||
	    nla_put_u16(skb, SMTPGATE_A_POLICY_SUBMISSION_PORT, pol->submission_port) ||
	    nla_put_u16(skb, SMTPGATE_A_POLICY_SUBMISSION_TLS_PORT,
			pol->submission_tls_port) ||
	    nla_put_u32(skb, SMTPGATE_A_POLICY_WINDOW, pol->window) ||
	    nla_put_u32(skb, SMTPGATE_A_POLICY_RATE_LIMIT, pol->rate_limit) ||
	    nla_put_u32(skb, SMTPGATE_A_POLICY_BLOCKED_LIMIT, pol->blocked_limit) ||
	    nla_put_u32(skb, SMTPGATE_A_POLICY_DEST_LIMIT, pol->dest_limit) ||
	    nla_put_u8(skb, SMTPGATE_A_POLICY_FLAG_TUNNEL, pol->flag_tunnel) ||
	    nla_put_u8(skb, SMTPGATE_A_POLICY_BAN_SCOPE, pol->ban_scope) ||
	    nla_put_u8(skb, SMTPGATE_A_POLICY_HOST_PREFIX4, pol->host_prefix[0]) ||
	    nla_put_u8(skb, SMTPGATE_A_POLICY_HOST_PREFIX6, pol->host_prefix[1]) ||
	    nla_put_u32(skb, SMTPGATE_A_POLICY_MAX_HOSTS, pol->max_hosts) ||
	    nla_put_u32(skb, SMTPGATE_A_POLICY_MAX_BANS, pol->max_bans) ||
	    nla_put_u32(skb, SMTPGATE_A_POLICY_INSPECT_BYTES, pol->inspect_bytes) ||
	    (pol->inspect &&
	     nla_put_u16(skb, SMTPGATE_A_POLICY_INSPECT_QUEUE, pol->inspect_queue)) ||
	    (pol->trap_port &&
	     nla_put_u16(skb, SMTPGATE_A_POLICY_TRAP_PORT, pol->trap_port)) ||
	    nla_put_u32(skb, SMTPGATE_A_POLICY_GENERATION, pol->generation))
		return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

/* A reply to @info with command @cmd, filled by @fill; -ENOENT passes up. */
static int sg_nl_reply(struct genl_info *info, u8 cmd, size_t size,
		       int (*fill)(struct sk_buff *skb, void *arg), void *arg)
{
	struct sk_buff *msg;
	void *hdr;
	int err;

	msg = genlmsg_new(size, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &sg_genl_family, 0, cmd);
	if (!hdr) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	err = fill(msg, arg);
	if (err) {
		nlmsg_free(msg);
		return err;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

static int sg_fill_policy_of(struct sk_buff *skb, void *arg)
{
	struct sg_net *sn = arg;
	const struct sg_policy *pol;
	int err;

	mutex_lock(&sn->lock);
	pol = rcu_dereference_protected(sn->policy, lockdep_is_held(&sn->lock));
	if (pol) {
		err = sg_policy_fill(skb, pol);
	} else {
		/* No policy yet: the defaults a set without attributes stores. */
		struct sg_policy *def = sg_policy_alloc();

		err = def ? sg_policy_fill(skb, def) : -ENOMEM;
		kvfree(def);
	}
	mutex_unlock(&sn->lock);
	return err;
}

static int sg_nl_policy_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct sg_net *sn = sg_info_net(info);

	if (IS_ERR(sn))
		return PTR_ERR(sn);
	return sg_nl_reply(info, SMTPGATE_CMD_POLICY_GET, NLMSG_GOODSIZE,
			   sg_fill_policy_of, sn);
}

struct sg_lookup {
	struct sg_net *sn;
	struct sg_key key;
};

static int sg_fill_host_of(struct sk_buff *skb, void *arg)
{
	struct sg_lookup *l = arg;

	return sg_host_get_reply(l->sn, l->key.family, &l->key.addr, skb);
}

static int sg_nl_host_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct sg_lookup l = { .sn = sg_info_net(info) };
	int err;

	if (IS_ERR(l.sn))
		return PTR_ERR(l.sn);
	if (!info->attrs[SMTPGATE_A_HOST]) {
		NL_SET_ERR_MSG(info->extack,
			       "SMTPGATE_A_HOST with the host's address is required (or ask for a dump)");
		return -EINVAL;
	}
	err = sg_nl_nested_key(info->attrs[SMTPGATE_A_HOST], SMTPGATE_A_HOST_MAX,
			       sg_host_policy, true, &l.key, info->extack);
	if (err)
		return err;
	err = sg_nl_reply(info, SMTPGATE_CMD_HOST_GET, NLMSG_GOODSIZE,
			  sg_fill_host_of, &l);
	if (err == -ENOENT)
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[SMTPGATE_A_HOST],
				    "host not tracked");
	return err;
}

/*
 * The dump's request flags, read once at its start into cb->args[3]: the
 * netlink core validated them already against the command's policy.
 */
static int sg_nl_host_dump_start(struct netlink_callback *cb)
{
	struct nlattr *tb[SMTPGATE_A_MAX + 1];
	int err;

	err = nlmsg_parse(cb->nlh, GENL_HDRLEN, tb, SMTPGATE_A_MAX,
			  sg_host_get_policy, cb->extack);
	if (err)
		return err;
	cb->args[3] = tb[SMTPGATE_A_FLAGS] ? nla_get_u32(tb[SMTPGATE_A_FLAGS]) : 0;
	/* The dump parts find the state with sg_pernet(). */
	return PTR_ERR_OR_ZERO(sg_net_use(sock_net(cb->skb->sk)));
}

void *sg_dump_put(struct sk_buff *skb, struct netlink_callback *cb, u8 cmd)
{
	void *hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid,
				cb->nlh->nlmsg_seq, &sg_genl_family,
				NLM_F_MULTI, cmd);

	if (hdr)
		genl_dump_check_consistent(cb, hdr);
	return hdr;
}

static int sg_nl_host_get_dumpit(struct sk_buff *skb,
				 struct netlink_callback *cb)
{
	bool flagged = cb->args[3] & SMTPGATE_F_FLAGGED_ONLY;

	return sg_hosts_dump(sg_pernet(sock_net(skb->sk)), skb, cb, flagged);
}

static int sg_nl_host_forget_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct sg_net *sn = sg_info_net(info);
	struct sg_key key;
	int err;

	if (IS_ERR(sn))
		return PTR_ERR(sn);
	if (!info->attrs[SMTPGATE_A_HOST])
		return sg_hosts_forget_all(sn);
	err = sg_nl_nested_key(info->attrs[SMTPGATE_A_HOST], SMTPGATE_A_HOST_MAX,
			       sg_host_policy, true, &key, info->extack);
	if (err)
		return err;
	err = sg_host_forget(sn, key.family, &key.addr);
	if (err == -ENOENT)
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[SMTPGATE_A_HOST],
				    "host not tracked");
	return err;
}

/*
 * A host userspace found (smtpgated's SMTP inspection): flagged like the
 * kernel flags hosts, so the same event turns it into a ban.
 */
static int sg_nl_host_flag_doit(struct sk_buff *skb, struct genl_info *info)
{
	const struct nlattr *nest = info->attrs[SMTPGATE_A_HOST];
	struct nlattr *tb[SMTPGATE_A_HOST_MAX + 1];
	struct sg_net *sn = sg_info_net(info);
	const struct sg_policy *pol;
	struct sg_key key;
	u32 reasons;
	int err;

	if (IS_ERR(sn))
		return PTR_ERR(sn);
	if (!nest) {
		NL_SET_ERR_MSG(info->extack, "SMTPGATE_A_HOST is needed");
		return -EINVAL;
	}
	err = nla_parse_nested(tb, SMTPGATE_A_HOST_MAX, nest,
			       sg_host_flag_policy, info->extack);
	if (err)
		return err;
	err = sg_nl_key(tb, nest, true, &key, info->extack);
	if (err)
		return err;
	reasons = tb[SMTPGATE_A_HOST_REASONS] ?
		  nla_get_u32(tb[SMTPGATE_A_HOST_REASONS]) : 0;
	if (!reasons) {
		NL_SET_ERR_MSG_ATTR(info->extack, nest,
				    "SMTPGATE_A_HOST_REASONS: at least one reason is needed");
		return -EINVAL;
	}

	rcu_read_lock();
	pol = rcu_dereference(sn->policy);
	if (!pol || !sg_prefix_set_match(&pol->internal, key.family, &key.addr)) {
		NL_SET_ERR_MSG_ATTR(info->extack, nest,
				    "host is not internal: only the policy's internal hosts are flagged");
		err = -EINVAL;
	} else if (sg_prefix_set_match(&pol->exempt, key.family, &key.addr)) {
		NL_SET_ERR_MSG_ATTR(info->extack, nest,
				    "host is exempt (a mail server): it is not flagged");
		err = -EINVAL;
	} else {
		err = sg_host_flag_user(sn, pol, key.family, &key.addr, reasons);
		if (err == -ENOSPC)
			NL_SET_ERR_MSG_ATTR(info->extack, nest,
					    "host table full (the policy's max_hosts)");
	}
	rcu_read_unlock();
	return err;
}

static int sg_nl_ban_spec(const struct nlattr *nest, struct sg_ban_spec *spec,
			  struct netlink_ext_ack *extack)
{
	struct nlattr *tb[SMTPGATE_A_BAN_MAX + 1];
	int err;

	err = nla_parse_nested(tb, SMTPGATE_A_BAN_MAX, nest, sg_ban_policy, extack);
	if (err)
		return err;
	err = sg_nl_key(tb, nest, false, &spec->key, extack);
	if (err)
		return err;
	spec->scope = tb[SMTPGATE_A_BAN_SCOPE] ?
		      nla_get_u8(tb[SMTPGATE_A_BAN_SCOPE]) : SMTPGATE_SCOPE_SMTP;
	spec->timeout = tb[SMTPGATE_A_BAN_TIMEOUT] ?
			nla_get_u32(tb[SMTPGATE_A_BAN_TIMEOUT]) : 0;
	spec->reason[0] = '\0';
	if (tb[SMTPGATE_A_BAN_REASON])
		nla_strscpy(spec->reason, tb[SMTPGATE_A_BAN_REASON],
			    sizeof(spec->reason));
	return 0;
}

/* The specs of a SMTPGATE_A_BANS batch, or of the one SMTPGATE_A_BAN. */
static struct sg_ban_spec *sg_nl_ban_specs(struct genl_info *info,
					   unsigned int *n)
{
	const struct nlattr *one = info->attrs[SMTPGATE_A_BAN];
	const struct nlattr *many = info->attrs[SMTPGATE_A_BANS];
	const struct nlattr *e;
	struct sg_ban_spec *specs;
	unsigned int i = 0;
	int rem, err;

	if (!one == !many) {
		NL_SET_ERR_MSG(info->extack,
			       "exactly one of SMTPGATE_A_BAN and SMTPGATE_A_BANS is required");
		return ERR_PTR(-EINVAL);
	}
	*n = 1;
	if (many) {
		*n = 0;
		nla_for_each_nested(e, many, rem)
			(*n)++;
		if (!*n) {
			NL_SET_ERR_MSG_ATTR(info->extack, many, "bans: the batch is empty");
			return ERR_PTR(-EINVAL);
		}
	}
	specs = kvmalloc_array(*n, sizeof(*specs), GFP_KERNEL);
	if (!specs)
		return ERR_PTR(-ENOMEM);
	if (one) {
		err = sg_nl_ban_spec(one, specs, info->extack);
	} else {
		err = 0;
		nla_for_each_nested(e, many, rem) {
			if (nla_type(e) != SMTPGATE_A_BAN) {
				NL_SET_ERR_MSG_ATTR(info->extack, e,
						    "bans: entries must be SMTPGATE_A_BAN");
				err = -EINVAL;
			}
			if (!err)
				err = sg_nl_ban_spec(e, &specs[i++], info->extack);
			if (err)
				break;
		}
	}
	if (err) {
		kvfree(specs);
		return ERR_PTR(err);
	}
	return specs;
}

static int sg_nl_ban_add_doit(struct sk_buff *skb, struct genl_info *info)
{
	bool quiet = info->attrs[SMTPGATE_A_FLAGS] &&
		     (nla_get_u32(info->attrs[SMTPGATE_A_FLAGS]) & SMTPGATE_F_QUIET);
	struct sg_net *sn = sg_info_net(info);
	struct sg_ban_spec *specs;
	unsigned int n;
	int err;

	if (IS_ERR(sn))
		return PTR_ERR(sn);
	specs = sg_nl_ban_specs(info, &n);
	if (IS_ERR(specs))
		return PTR_ERR(specs);
	err = sg_bans_add_enforced(sn, specs, n, quiet);
	kvfree(specs);
	if (err == -ENOSPC)
		NL_SET_ERR_MSG(info->extack,
			       "ban table full (the policy's max_bans); nothing was added");
	else if (err == -EEXIST)
		NL_SET_ERR_MSG(info->extack,
			       "bans: the batch names the same prefix twice; nothing was added");
	else if (err == -EMLINK)
		NL_SET_ERR_MSG(info->extack,
			       "bans: more than 32767 distinct reason texts; nothing was added");
	return err;
}

static int sg_nl_ban_del_doit(struct sk_buff *skb, struct genl_info *info)
{
	const struct nlattr *nest = info->attrs[SMTPGATE_A_BAN];
	struct sg_net *sn = sg_info_net(info);
	struct sg_key key;
	int err;

	if (IS_ERR(sn))
		return PTR_ERR(sn);
	if (!nest) {
		NL_SET_ERR_MSG(info->extack, "SMTPGATE_A_BAN with the banned prefix is required");
		return -EINVAL;
	}
	err = sg_nl_nested_key(nest, SMTPGATE_A_BAN_MAX, sg_ban_policy, false,
			       &key, info->extack);
	if (err)
		return err;
	err = sg_ban_del(sn, &key);
	if (err == -ENOENT)
		NL_SET_ERR_MSG_ATTR(info->extack, nest, "no such ban");
	return err;
}

static int sg_fill_ban_of(struct sk_buff *skb, void *arg)
{
	struct sg_lookup *l = arg;

	return sg_ban_get_reply(l->sn, l->key.family, &l->key.addr, skb);
}

static int sg_nl_ban_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct sg_lookup l = { .sn = sg_info_net(info) };
	const struct nlattr *nest = info->attrs[SMTPGATE_A_BAN];
	int err;

	if (IS_ERR(l.sn))
		return PTR_ERR(l.sn);
	if (!nest) {
		NL_SET_ERR_MSG(info->extack,
			       "SMTPGATE_A_BAN with an address is required (or ask for a dump)");
		return -EINVAL;
	}
	err = sg_nl_nested_key(nest, SMTPGATE_A_BAN_MAX, sg_ban_policy, true,
			       &l.key, info->extack);
	if (err)
		return err;
	err = sg_nl_reply(info, SMTPGATE_CMD_BAN_GET, NLMSG_GOODSIZE,
			  sg_fill_ban_of, &l);
	if (err == -ENOENT)
		NL_SET_ERR_MSG_ATTR(info->extack, nest, "not banned");
	return err;
}

static int sg_nl_ban_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	return sg_bans_dump(sg_pernet(sock_net(skb->sk)), skb, cb);
}

static int sg_nl_ban_flush_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct sg_net *sn = sg_info_net(info);

	return IS_ERR(sn) ? PTR_ERR(sn) : sg_bans_flush(sn);
}

static int sg_fill_stats_entry(struct sk_buff *skb, u8 class, u8 verdict,
			       u64 count)
{
	struct nlattr *e = nla_nest_start(skb, SMTPGATE_A_STATS_ENTRY);

	if (!e || nla_put_u8(skb, SMTPGATE_A_STATS_CLASS, class) ||
	    nla_put_u8(skb, SMTPGATE_A_STATS_VERDICT, verdict) ||
	    nla_put_u64_64bit(skb, SMTPGATE_A_STATS_COUNT, count,
			      SMTPGATE_A_STATS_ENTRY_PAD))
		return -EMSGSIZE;
	nla_nest_end(skb, e);
	return 0;
}

static int sg_fill_stats(struct sk_buff *skb, void *arg)
{
	struct sg_net *sn = arg;
	struct nlattr *stats, *packets;
	struct sg_stats sum;
	unsigned int c, v;
	u32 hosts, flagged;

	sg_stats_sum(sn, &sum);
	sg_hosts_counts(sn, &hosts, &flagged);
	stats = nla_nest_start(skb, SMTPGATE_A_STATS);
	if (!stats)
		return -EMSGSIZE;
	packets = nla_nest_start(skb, SMTPGATE_A_STATS_PACKETS);
	if (!packets)
		return -EMSGSIZE;
	for (c = 0; c < __SMTPGATE_CLASS_MAX; c++)
		for (v = 0; v < __SMTPGATE_VERDICT_MAX; v++)
			if (sg_fill_stats_entry(skb, c, v,
						u64_stats_read(&sum.packets[c][v])))
				return -EMSGSIZE;
	nla_nest_end(skb, packets);
	if (nla_put_u32(skb, SMTPGATE_A_STATS_HOSTS, hosts) ||
	    nla_put_u32(skb, SMTPGATE_A_STATS_FLAGGED, flagged) ||
	    nla_put_u32(skb, SMTPGATE_A_STATS_BANS, sg_bans_count(sn)) ||
	    nla_put_u64_64bit(skb, SMTPGATE_A_STATS_HOST_EVICTIONS,
			      u64_stats_read(&sum.host_evictions),
			      SMTPGATE_A_STATS_PAD) ||
	    nla_put_u64_64bit(skb, SMTPGATE_A_STATS_HOST_CAP_MISSES,
			      u64_stats_read(&sum.host_cap_misses),
			      SMTPGATE_A_STATS_PAD) ||
	    nla_put_u64_64bit(skb, SMTPGATE_A_STATS_BAN_CAP_REJECTS,
			      u64_stats_read(&sum.ban_cap_rejects),
			      SMTPGATE_A_STATS_PAD) ||
	    nla_put_u64_64bit(skb, SMTPGATE_A_STATS_EVENT_LOSSES,
			      u64_stats_read(&sum.event_losses),
			      SMTPGATE_A_STATS_PAD) ||
	    nla_put_u32(skb, SMTPGATE_A_STATS_HOST_BYTES, sg_host_bytes()) ||
	    nla_put_u32(skb, SMTPGATE_A_STATS_BAN_BYTES, sg_ban_bytes()) ||
	    nla_put_u64_64bit(skb, SMTPGATE_A_STATS_INSTANCE, sn->instance,
			      SMTPGATE_A_STATS_PAD) ||
	    nla_put_u32(skb, SMTPGATE_A_STATS_FLUSHES,
			READ_ONCE(sn->bans.flushes)) ||
	    nla_put_u64_64bit(skb, SMTPGATE_A_STATS_HOST_AGGREGATES,
			      u64_stats_read(&sum.host_aggregates),
			      SMTPGATE_A_STATS_PAD))
		return -EMSGSIZE;
	nla_nest_end(skb, stats);
	return 0;
}

static int sg_nl_stats_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct sg_net *sn = sg_info_net(info);

	if (IS_ERR(sn))
		return PTR_ERR(sn);
	return sg_nl_reply(info, SMTPGATE_CMD_STATS_GET, 2 * NLMSG_GOODSIZE,
			   sg_fill_stats, sn);
}

/*
 * Events: sent only when someone listens; a message that cannot be built
 * or delivered (a listener's buffer full) is counted as lost.
 */
static void sg_event_send(struct sg_net *sn, struct sk_buff *msg, void *hdr,
			  gfp_t gfp)
{
	int err;

	genlmsg_end(msg, hdr);
	err = genlmsg_multicast_netns(&sg_genl_family, sn->net, msg, 0, 0, gfp);
	if (err && err != -ESRCH)
		sg_stats_bump(sn, event_losses);
}

static struct sk_buff *sg_event_new(struct sg_net *sn, u8 cmd, gfp_t gfp,
				    void **hdr)
{
	struct sk_buff *msg;

	if (!genl_has_listeners(&sg_genl_family, sn->net, 0))
		return NULL;
	msg = genlmsg_new(NLMSG_GOODSIZE, gfp);
	if (msg) {
		*hdr = genlmsg_put(msg, 0, 0, &sg_genl_family, 0, cmd);
		if (*hdr)
			return msg;
		nlmsg_free(msg);
	}
	sg_stats_bump(sn, event_losses);
	return NULL;
}

void sg_event_host_flagged(struct sg_net *sn, const struct sg_host *h,
			   u32 window)
{
	struct sk_buff *msg;
	void *hdr;

	msg = sg_event_new(sn, SMTPGATE_CMD_HOST_FLAGGED, GFP_ATOMIC, &hdr);
	if (!msg)
		return;
	if (sg_host_fill(msg, h, window)) {
		nlmsg_free(msg);
		sg_stats_bump(sn, event_losses);
		return;
	}
	sg_event_send(sn, msg, hdr, GFP_ATOMIC);
}

/* Under bans->lock, which keeps @ban's reason alive. */
void sg_event_ban(struct sg_net *sn, u8 cmd, const struct sg_ban *ban)
{
	const struct sg_key *key = sg_ban_key(ban);
	struct sk_buff *msg;
	void *hdr;
	int err;

	msg = sg_event_new(sn, cmd, GFP_KERNEL, &hdr);
	if (!msg)
		return;
	err = sg_ban_fill(msg, &sn->bans, ban);
	if (!err) {
		err = sg_host_get_reply(sn, key->family, &key->addr, msg);
		if (err == -ENOENT)
			err = 0;
	}
	if (err) {
		nlmsg_free(msg);
		sg_stats_bump(sn, event_losses);
		return;
	}
	sg_event_send(sn, msg, hdr, GFP_KERNEL);
}

/* Under bans->lock: one event for a whole flush, after its last change. */
void sg_event_flush(struct sg_net *sn, u32 removed)
{
	struct nlattr *stats;
	struct sk_buff *msg;
	void *hdr;

	msg = sg_event_new(sn, SMTPGATE_CMD_BANS_FLUSHED, GFP_KERNEL, &hdr);
	if (!msg)
		return;
	stats = nla_nest_start(msg, SMTPGATE_A_STATS);
	if (!stats ||
	    nla_put_u64_64bit(msg, SMTPGATE_A_STATS_INSTANCE, sn->instance,
			      SMTPGATE_A_STATS_PAD) ||
	    nla_put_u32(msg, SMTPGATE_A_STATS_FLUSHES, sn->bans.flushes) ||
	    nla_put_u32(msg, SMTPGATE_A_STATS_BANS, removed)) {
		nlmsg_free(msg);
		sg_stats_bump(sn, event_losses);
		return;
	}
	nla_nest_end(msg, stats);
	sg_event_send(sn, msg, hdr, GFP_KERNEL);
}

static const struct genl_ops sg_genl_ops[] = {
	{
		.cmd = SMTPGATE_CMD_POLICY_SET,
		.doit = sg_nl_policy_set_doit,
		.policy = sg_policy_set_policy,
		.maxattr = SMTPGATE_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = SMTPGATE_CMD_POLICY_GET,
		.doit = sg_nl_policy_get_doit,
		.policy = sg_none_policy,
		.maxattr = SMTPGATE_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = SMTPGATE_CMD_HOST_GET,
		.doit = sg_nl_host_get_doit,
		.start = sg_nl_host_dump_start,
		.dumpit = sg_nl_host_get_dumpit,
		.policy = sg_host_get_policy,
		.maxattr = SMTPGATE_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = SMTPGATE_CMD_HOST_FORGET,
		.doit = sg_nl_host_forget_doit,
		.policy = sg_host_forget_policy,
		.maxattr = SMTPGATE_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = SMTPGATE_CMD_HOST_FLAG,
		.doit = sg_nl_host_flag_doit,
		.policy = sg_host_flag_top_policy,
		.maxattr = SMTPGATE_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = SMTPGATE_CMD_BAN_ADD,
		.doit = sg_nl_ban_add_doit,
		.policy = sg_ban_add_policy,
		.maxattr = SMTPGATE_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = SMTPGATE_CMD_BAN_DEL,
		.doit = sg_nl_ban_del_doit,
		.policy = sg_ban_one_policy,
		.maxattr = SMTPGATE_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = SMTPGATE_CMD_BAN_GET,
		.doit = sg_nl_ban_get_doit,
		.start = sg_bans_dump_start,
		.dumpit = sg_nl_ban_get_dumpit,
		.done = sg_bans_dump_done,
		.policy = sg_ban_one_policy,
		.maxattr = SMTPGATE_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = SMTPGATE_CMD_BAN_FLUSH,
		.doit = sg_nl_ban_flush_doit,
		.policy = sg_none_policy,
		.maxattr = SMTPGATE_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = SMTPGATE_CMD_STATS_GET,
		.doit = sg_nl_stats_get_doit,
		.policy = sg_none_policy,
		.maxattr = SMTPGATE_A_MAX,
	},
};

static const struct genl_multicast_group sg_genl_mcgrps[] = {
	{ .name = SMTPGATE_GENL_MCGRP_EVENTS, .flags = GENL_MCAST_CAP_NET_ADMIN },
};

static struct genl_family sg_genl_family __ro_after_init = {
	.name = SMTPGATE_GENL_NAME,
	.version = SMTPGATE_GENL_VERSION,
	.maxattr = SMTPGATE_A_MAX,
	.policy = sg_none_policy,
	.netnsok = true,
	.parallel_ops = true,
	.module = THIS_MODULE,
	.ops = sg_genl_ops,
	.n_ops = ARRAY_SIZE(sg_genl_ops),
	.resv_start_op = SMTPGATE_CMD_MAX + 1,
	.mcgrps = sg_genl_mcgrps,
	.n_mcgrps = ARRAY_SIZE(sg_genl_mcgrps),
};

int __init sg_genl_init(void)
{
	return genl_register_family(&sg_genl_family);
}

void sg_genl_exit(void)
{
	genl_unregister_family(&sg_genl_family);
}

MODULE_ALIAS_GENL_FAMILY(SMTPGATE_GENL_NAME);
