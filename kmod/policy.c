// SPDX-License-Identifier: GPL-2.0
/*
 * The policy: which sources are ours, which may send SMTP, what to do with
 * the rest.  A policy is immutable once published; changing it means
 * building a new one and swapping the pointer, so the packet path reads it
 * under RCU without a lock and never sees half of an update.
 */
#include <linux/inet.h>
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <net/netfilter/ipv4/nf_defrag_ipv4.h>
#include <net/netfilter/nf_log.h>

#include "smtpgate.h"

static const char *const sg_action_names[__SMTPGATE_ACTION_MAX] = {
	[SMTPGATE_ACTION_DROP] = "drop",
	[SMTPGATE_ACTION_LOG] = "log",
	[SMTPGATE_ACTION_DROPLOG] = "droplog",
	[SMTPGATE_ACTION_REDIRECT] = "redirect",
	[SMTPGATE_ACTION_TRAP] = "trap",
};

const char *sg_action_name(u8 action)
{
	if (action >= __SMTPGATE_ACTION_MAX || !sg_action_names[action])
		return "?";
	return sg_action_names[action];
}

/* Returns the enum smtpgate_action named by @s, or -EINVAL. */
int sg_action_parse(const char *s)
{
	int i;

	for (i = 0; i < __SMTPGATE_ACTION_MAX; i++)
		if (sg_action_names[i] && !strcmp(s, sg_action_names[i]))
			return i;
	return -EINVAL;
}

struct sg_policy *sg_policy_alloc(void)
{
	struct sg_policy *pol = kvzalloc(sizeof(*pol), GFP_KERNEL);

	if (!pol)
		return NULL;
	pol->action = SMTPGATE_ACTION_DROP;
	pol->tunnel_action = SMTPGATE_ACTION_DROP;
	pol->submission_port = SMTPGATE_DEFAULT_SUBMISSION_PORT;
	sg_policy_add_port(pol, 25);
	sg_policy_add_port(pol, 465);
	pol->window = SG_DEFAULT_WINDOW;
	pol->rate_limit = SG_DEFAULT_RATE_LIMIT;
	pol->blocked_limit = SG_DEFAULT_BLOCKED_LIMIT;
	pol->dest_limit = SG_DEFAULT_DEST_LIMIT;
	pol->flag_tunnel = 1;
	pol->ban_scope = SMTPGATE_SCOPE_SMTP;
	pol->host_prefix[0] = 32;
	pol->host_prefix[1] = 64;
	pol->max_hosts = SG_DEFAULT_MAX_HOSTS;
	pol->max_bans = SG_DEFAULT_MAX_BANS;
	pol->inspect_bytes = SMTPGATE_DEFAULT_INSPECT_BYTES;
	return pol;
}

/* Watches @port, once; the list keeps the order ports were given in. */
void sg_policy_add_port(struct sg_policy *pol, u16 port)
{
	if (sg_port_watched(&pol->ports, port) || pol->n_ports == SG_MAX_PORTS)
		return;
	sg_port_set(&pol->ports, port);
	pol->port_list[pol->n_ports++] = port;
}

/* Starts a list from scratch (the first port an operator gives). */
void sg_policy_clear_ports(struct sg_policy *pol)
{
	memset(&pol->ports, 0, sizeof(pol->ports));
	pol->n_ports = 0;
}

void sg_mask_make(union nf_inet_addr *mask, u8 family, unsigned int len)
{
	unsigned int i, words = family == NFPROTO_IPV4 ? 1 : 4;

	memset(mask, 0, sizeof(*mask));
	for (i = 0; i < words && len; i++) {
		unsigned int bits = min(len, 32U);

		mask->all[i] = htonl(~0U << (32 - bits));
		len -= bits;
	}
}

/* The hash key of @a masked to @len bits. */
void sg_key_make(struct sg_key *key, u8 family, const union nf_inet_addr *a,
		 unsigned int len)
{
	union nf_inet_addr mask;
	unsigned int i;

	sg_mask_make(&mask, family, len);
	for (i = 0; i < 4; i++)
		key->addr.all[i] = a->all[i] & mask.all[i];
	key->family = family;
	key->len = len;
}

/* Return: 0, or -EDOM when @addr has bits set past @len. */
int sg_prefix_init(struct sg_prefix *p, u8 family,
		   const union nf_inet_addr *addr, unsigned int len)
{
	unsigned int i;

	p->family = family;
	p->len = len;
	p->addr = *addr;
	sg_mask_make(&p->mask, family, len);
	for (i = 0; i < 4; i++)
		if (p->addr.all[i] & ~p->mask.all[i])
			return -EDOM;
	return 0;
}

/**
 * sg_prefix_parse() - parse "ADDR" or "ADDR/LEN", IPv4 or IPv6
 * @s:		the text, not necessarily NUL-terminated
 * @len:	its length
 * @p:		the result
 *
 * Host bits set after the prefix length are an error, not silently
 * cleared: "192.0.2.5/24" is more likely a typo than a wish.
 *
 * Return: 0; -EINVAL when the address is not one, -ERANGE when the length
 * is out of range for the family, -EDOM when host bits are set.  The
 * caller names the input in its message.
 */
int sg_prefix_parse(const char *s, size_t len, struct sg_prefix *p)
{
	const char *slash = strnchr(s, len, '/');
	size_t alen = slash ? slash - s : len;
	union nf_inet_addr addr = {};
	unsigned int max, plen;
	const char *end;
	u8 family;
	char num[4];

	if (in4_pton(s, alen, (u8 *)&addr.ip, -1, &end) && end == s + alen) {
		family = NFPROTO_IPV4;
		max = 32;
	} else if (in6_pton(s, alen, (u8 *)&addr.in6, -1, &end) &&
		   end == s + alen) {
		family = NFPROTO_IPV6;
		max = 128;
	} else {
		return -EINVAL;
	}

	plen = max;
	if (slash) {
		size_t nlen = len - alen - 1;

		if (!nlen || nlen >= sizeof(num))
			return -ERANGE;
		memcpy(num, slash + 1, nlen);
		num[nlen] = '\0';
		if (kstrtouint(num, 10, &plen) || plen > max)
			return -ERANGE;
	}
	return sg_prefix_init(p, family, &addr, plen);
}

static bool sg_prefix_match(const struct sg_prefix *p,
			    const union nf_inet_addr *a)
{
	if (p->family == NFPROTO_IPV4)
		return !((a->ip ^ p->addr.ip) & p->mask.ip);
	return !(((a->all[0] ^ p->addr.all[0]) & p->mask.all[0]) |
		 ((a->all[1] ^ p->addr.all[1]) & p->mask.all[1]) |
		 ((a->all[2] ^ p->addr.all[2]) & p->mask.all[2]) |
		 ((a->all[3] ^ p->addr.all[3]) & p->mask.all[3]));
}

bool sg_prefix_set_match(const struct sg_prefix_set *set, u8 family,
			 const union nf_inet_addr *addr)
{
	unsigned int i;

	for (i = 0; i < set->n; i++)
		if (set->v[i].family == family &&
		    sg_prefix_match(&set->v[i], addr))
			return true;
	return false;
}

/**
 * sg_policy_action() - the action for a classified SMTP packet
 * @pol:	the policy in force
 * @flow:	a packet of an SMTP class
 *
 * Return: the enum smtpgate_action to apply, or SMTPGATE_ACTION_UNSPEC
 * when the packet is none of our business (not from an internal host, or
 * from an exempt one).
 */
u8 sg_policy_action(const struct sg_policy *pol, const struct sg_flow *flow)
{
	if (!sg_prefix_set_match(&pol->internal, flow->family, &flow->saddr) ||
	    sg_prefix_set_match(&pol->exempt, flow->family, &flow->saddr))
		return SMTPGATE_ACTION_UNSPEC;
	return sg_class_action(pol, flow);
}

static const char sg_msg_tunnel_redirect[] =
	"tunnel_action: tunnelled SMTP cannot be redirected; use drop, log or droplog";
static const char sg_msg_tunnel_trap[] =
	"tunnel_action: tunnelled SMTP cannot be trapped; use drop, log or droplog";
static const char sg_msg_redirect[] =
	"action: redirect needs a submission server (SMTPGATE_A_POLICY_SUBMISSION4 or 6)";
static const char sg_msg_trap[] =
	"action: trap needs trap_port, the port of smtpgated's trap listener";
static const char sg_msg_rate_limit[] =
	"rate_limit: at most 65534 attempts per window (a host's counter is 16-bit)";
static const char sg_msg_blocked_limit[] =
	"blocked_limit: at most 65535 blocked attempts per window (a host's counter is 16-bit)";
static const char sg_msg_dest_limit[] =
	"dest_limit: at most 267 destinations per window (a host's estimate goes no higher)";

/**
 * sg_policy_check() - the rules that tie policy fields together
 * @pol:	a policy about to be installed
 * @attr:	set to the SMTPGATE_A_POLICY_* attribute to blame
 *
 * One place for module parameters and netlink alike.
 *
 * Return: NULL when @pol holds together, else a static message.
 */
const char *sg_policy_check(const struct sg_policy *pol, int *attr)
{
	*attr = SMTPGATE_A_POLICY_TUNNEL_ACTION;
	if (pol->tunnel_action == SMTPGATE_ACTION_REDIRECT)
		return sg_msg_tunnel_redirect;
	if (pol->tunnel_action == SMTPGATE_ACTION_TRAP)
		return sg_msg_tunnel_trap;
	*attr = SMTPGATE_A_POLICY_ACTION;
	if (pol->action == SMTPGATE_ACTION_REDIRECT &&
	    !pol->has_submission[0] && !pol->has_submission[1])
		return sg_msg_redirect;
	if (pol->action == SMTPGATE_ACTION_TRAP && !pol->trap_port)
		return sg_msg_trap;
	*attr = SMTPGATE_A_POLICY_RATE_LIMIT;
	if (pol->rate_limit > SG_MAX_RATE_LIMIT)
		return sg_msg_rate_limit;
	*attr = SMTPGATE_A_POLICY_BLOCKED_LIMIT;
	if (pol->blocked_limit > SG_MAX_BLOCKED_LIMIT)
		return sg_msg_blocked_limit;
	*attr = SMTPGATE_A_POLICY_DEST_LIMIT;
	if (pol->dest_limit > SG_MAX_DEST_LIMIT)
		return sg_msg_dest_limit;
	return NULL;
}

static bool sg_action_logs(u8 action)
{
	return action == SMTPGATE_ACTION_LOG ||
	       action == SMTPGATE_ACTION_DROPLOG;
}

static bool sg_polices(const struct sg_policy *pol)
{
	return pol && pol->internal.n;
}

/* Bans are enforced with or without internal prefixes: never a no-op. */
static bool sg_needs_hooks(struct sg_net *sn, const struct sg_policy *pol)
{
	return pol && (pol->internal.n || READ_ONCE(sn->bans.count));
}

/*
 * Conntrack costs every packet of the namespace once taken, so only a
 * policy that rewrites connections (redirect, trap) or follows sessions
 * (inspection) asks for it.
 */
static bool sg_needs_nat(const struct sg_policy *pol)
{
	return sg_polices(pol) && (pol->action == SMTPGATE_ACTION_REDIRECT ||
				   pol->action == SMTPGATE_ACTION_TRAP ||
				   pol->inspect);
}

/*
 * Tunnelled SMTP split into IPv4 fragments is only visible reassembled:
 * the first fragment of a tunnel holds the outer UDP or 6in4 header, not
 * the inner TCP ports.  Conntrack's users turn defragmentation on; a
 * namespace without any would let fragmented Teredo and 6in4 through, so
 * a policy that polices anyone (and tunnel_action always drops or logs)
 * takes it.  IPv6 needs none: no tunnel we watch is carried over IPv6,
 * and the first IPv6 fragment of SMTP holds its ports.
 */
static bool sg_needs_defrag(const struct sg_policy *pol)
{
	return sg_polices(pol);
}

static bool sg_needs_log(const struct sg_policy *pol)
{
	return sg_polices(pol) &&
	       (sg_action_logs(pol->action) || sg_action_logs(pol->tunnel_action));
}

static int sg_log_get(void)
{
	int err = nf_logger_find_get(NFPROTO_IPV4, NF_LOG_TYPE_LOG);

	if (err)
		return err;
	err = nf_logger_find_get(NFPROTO_IPV6, NF_LOG_TYPE_LOG);
	if (err)
		nf_logger_put(NFPROTO_IPV4, NF_LOG_TYPE_LOG);
	return err;
}

static void sg_log_put(void)
{
	nf_logger_put(NFPROTO_IPV6, NF_LOG_TYPE_LOG);
	nf_logger_put(NFPROTO_IPV4, NF_LOG_TYPE_LOG);
}

/* Drops what the namespace holds and @pol does not need. */
static void sg_features_put(struct sg_net *sn, const struct sg_policy *pol)
{
	lockdep_assert_held(&sn->lock);
	if (sn->hooks_on && !sg_needs_hooks(sn, pol)) {
		sg_hooks_unregister(sn->net);
		sn->hooks_on = false;
	}
	if (sn->nat_on && !sg_needs_nat(pol)) {
		sg_nat_unregister(sn->net);
		sn->nat_on = false;
	}
	if (sn->log_on && !sg_needs_log(pol)) {
		sg_log_put();
		sn->log_on = false;
	}
	if (sn->defrag_on && !sg_needs_defrag(pol)) {
		nf_defrag_ipv4_disable(sn->net);
		sn->defrag_on = false;
	}
}

/*
 * Takes what @pol needs and the namespace lacks.  The logger, NAT and
 * defragmentation come before the hooks, so the first packet the hooks
 * see finds them ready.
 */
static int sg_features_get(struct sg_net *sn, const struct sg_policy *pol)
{
	int err;

	lockdep_assert_held(&sn->lock);
	if (!sn->log_on && sg_needs_log(pol)) {
		err = sg_log_get();
		if (err) {
			pr_err("cannot load the nf_log logger (nf_log_syslog): %d\n",
			       err);
			return err;
		}
		sn->log_on = true;
	}
	if (!sn->nat_on && sg_needs_nat(pol)) {
		err = sg_nat_register(sn->net);
		if (err) {
			pr_err("cannot set up conntrack NAT for redirect: %d\n",
			       err);
			return err;
		}
		sn->nat_on = true;
	}
	if (!sn->defrag_on && sg_needs_defrag(pol)) {
		err = nf_defrag_ipv4_enable(sn->net);
		if (err) {
			pr_err("cannot turn IPv4 defragmentation on: %d\n", err);
			return err;
		}
		sn->defrag_on = true;
	}
	if (!sn->hooks_on && sg_needs_hooks(sn, pol)) {
		err = sg_hooks_register(sn->net);
		if (err) {
			pr_err("cannot register netfilter hooks: %d\n", err);
			return err;
		}
		sn->hooks_on = true;
	}
	return 0;
}

/*
 * The host table @pol needs: the current one if its shape still fits (the
 * hosts' evidence survives a policy change), else a new one.  NULL with
 * *@err set when memory runs out.
 */
static struct sg_host_table *sg_hosts_for(struct sg_net *sn,
					  const struct sg_policy *pol,
					  struct sg_host_table *cur, int *err)
{
	struct sg_host_table *t;

	*err = 0;
	if (!sg_polices(pol) && !sn->xt_rules)
		return NULL;
	if (sg_host_table_fits(cur, pol))
		return cur;
	t = sg_host_table_new(pol, ++sn->generation);
	if (!t)
		*err = -ENOMEM;
	return t;
}

/**
 * sg_policy_install() - make @pol the policy of a namespace
 * @sn:		the namespace
 * @pol:	the new policy; owned by this function from now on
 * @expect:	NULL, or the generation the caller's change is based on
 *
 * Either the new policy is in force on return, with the hooks, NAT, logger
 * and host table it needs, or the old one still is, unchanged.  Changing
 * the host prefix lengths or the host cap starts a new, empty host table.
 *
 * A read-modify-write (smtpgatectl policy set) passes the generation it
 * read: checked under the lock that orders installs, so of two concurrent
 * changes the second fails instead of silently undoing the first.
 *
 * Return: 0; -ESTALE when @expect is not the current generation; or
 * another negative errno.
 */
int sg_policy_install(struct sg_net *sn, struct sg_policy *pol,
		      const u32 *expect)
{
	struct sg_host_table *cur, *t;
	struct sg_policy *old;
	int err;

	mutex_lock(&sn->lock);
	old = rcu_dereference_protected(sn->policy, lockdep_is_held(&sn->lock));
	if (expect && *expect != (old ? old->generation : 0)) {
		mutex_unlock(&sn->lock);
		kvfree(pol);
		return -ESTALE;
	}
	cur = rcu_dereference_protected(sn->hosts, lockdep_is_held(&sn->lock));
	t = sg_hosts_for(sn, pol, cur, &err);
	if (!err)
		err = sg_features_get(sn, pol);
	if (err) {
		sg_features_put(sn, old);
		mutex_unlock(&sn->lock);
		if (t != cur)
			sg_host_table_free(t);
		kvfree(pol);
		return err;
	}
	pol->generation = old ? old->generation + 1 : 1;
	rcu_assign_pointer(sn->hosts, t);
	rcu_assign_pointer(sn->policy, pol);
	sg_features_put(sn, pol);
	mutex_unlock(&sn->lock);
	if (t != cur) {
		synchronize_rcu();
		sg_host_table_free(cur);
	}
	if (old)
		kvfree_rcu(old, rcu);
	return 0;
}

/**
 * sg_bans_add_enforced() - add bans, with the hooks that enforce them
 * @sn:		the namespace
 * @specs:	the bans, as for sg_bans_add()
 * @n:		how many
 * @quiet:	as for sg_bans_add()
 *
 * Bans are enforced whatever the policy (it may police no internal prefix
 * at all).  The hooks are taken and the bans counted under the namespace
 * lock, the lock every hook decision is made under: a policy installed
 * meanwhile sees the bans and keeps the hooks.  A batch that fails leaves
 * the hooks as the namespace needs them without it.
 *
 * Return: 0 or a negative errno from sg_bans_add() or hook registration.
 */
int sg_bans_add_enforced(struct sg_net *sn, const struct sg_ban_spec *specs,
			 unsigned int n, bool quiet)
{
	const struct sg_policy *pol;
	int err = 0;

	mutex_lock(&sn->lock);
	if (!sn->hooks_on) {
		err = sg_hooks_register(sn->net);
		sn->hooks_on = !err;
	}
	if (!err)
		err = sg_bans_add(sn, specs, n, quiet);
	pol = rcu_dereference_protected(sn->policy, lockdep_is_held(&sn->lock));
	if (err && pol && sn->hooks_on && !sg_needs_hooks(sn, pol)) {
		sg_hooks_unregister(sn->net);
		sn->hooks_on = false;
	}
	mutex_unlock(&sn->lock);
	return err;
}

/**
 * sg_hosts_for_rules() - count the namespace's SMTPGATE rules
 * @sn:		the namespace
 * @get:	a rule is being added (true) or removed (false)
 *
 * A ruleset that uses the target tracks hosts even when the policy polices
 * no internal prefix (the rules choose the hosts).  The table stays until
 * a policy without rules replaces it, or the namespace goes: never freed
 * under a rule's feet.
 *
 * Return: 0, or -ENOMEM when the first rule cannot have its table.
 */
int sg_hosts_for_rules(struct sg_net *sn, bool get)
{
	const struct sg_policy *pol;
	struct sg_host_table *t;
	int err = 0;

	mutex_lock(&sn->lock);
	if (!get) {
		sn->xt_rules--;
		goto out;
	}
	pol = rcu_dereference_protected(sn->policy, lockdep_is_held(&sn->lock));
	if (pol && !rcu_access_pointer(sn->hosts)) {
		t = sg_host_table_new(pol, ++sn->generation);
		if (!t) {
			err = -ENOMEM;
			goto out;
		}
		rcu_assign_pointer(sn->hosts, t);
	}
	sn->xt_rules++;
out:
	mutex_unlock(&sn->lock);
	return err;
}

/*
 * Leaves the namespace with no policy, hooks, NAT, logger or hosts.  The
 * host table is returned: the caller frees it after a grace period (the
 * namespace's exit waits one for every namespace going at once).
 */
struct sg_host_table *sg_policy_release(struct sg_net *sn)
{
	struct sg_host_table *t;
	struct sg_policy *old;

	mutex_lock(&sn->lock);
	old = rcu_replace_pointer(sn->policy, NULL, lockdep_is_held(&sn->lock));
	t = rcu_replace_pointer(sn->hosts, NULL, lockdep_is_held(&sn->lock));
	sg_features_put(sn, NULL);
	mutex_unlock(&sn->lock);
	if (old)
		kvfree_rcu(old, rcu);
	return t;
}
