// SPDX-License-Identifier: GPL-2.0
/*
 * smtpgate: stop outbound SMTP from internal hosts at the gateway.
 *
 * Module parameters give the initial network namespace its policy, so a
 * plain `modprobe smtpgate internal=...` is a working gateway.  Other
 * namespaces start with no policy and enforce nothing.
 */
#include <linux/debugfs.h>
#include <linux/inet.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <net/netns/generic.h>

#include "smtpgate.h"

static char *internal;
module_param(internal, charp, 0444);
MODULE_PARM_DESC(internal, "Internal prefixes, comma-separated (v4/v6); none: enforce nothing");
static char *exempt;
module_param(exempt, charp, 0444);
MODULE_PARM_DESC(exempt, "Prefixes of the real mail servers, which may send SMTP");
static char *action = "drop";
module_param(action, charp, 0444);
MODULE_PARM_DESC(action, "drop, log, droplog or redirect, for smtp4/smtp6 (default drop)");
static char *tunnel_action = "drop";
module_param(tunnel_action, charp, 0444);
MODULE_PARM_DESC(tunnel_action, "drop, log or droplog, for teredo/sixin4 (default drop)");
static char *submission;
module_param(submission, charp, 0444);
MODULE_PARM_DESC(submission, "Submission server for redirect: an IPv4 and/or an IPv6 address");
static unsigned int submission_port = SMTPGATE_DEFAULT_SUBMISSION_PORT;
module_param(submission_port, uint, 0444);
MODULE_PARM_DESC(submission_port, "Port redirected SMTP goes to (default 587)");
static unsigned int submission_tls_port;
module_param(submission_tls_port, uint, 0444);
MODULE_PARM_DESC(submission_tls_port, "Port redirected 465 goes to (default unset: 465 is dropped)");
static char *ports = "25,465";
module_param(ports, charp, 0444);
MODULE_PARM_DESC(ports, "Watched TCP destination ports (default 25,465)");

static unsigned int sg_net_id __read_mostly;
/* Serialises the making of a namespace's state (sg_net_use()). */
static DEFINE_MUTEX(sg_net_make_lock);
/* Namespaces with a state, in debugfs: the test of their laziness. */
static atomic_t sg_nets = ATOMIC_INIT(0);
static struct dentry *sg_debugfs;

/*
 * A namespace's slot holds a pointer, set on its first use: the thousands
 * of namespaces a container host makes and that never use smtpgate pay
 * for that pointer, not for a state, tables and per-CPU counters.
 */
static struct sg_net **sg_slot(const struct net *net)
{
	return net_generic(net, sg_net_id);
}

/**
 * sg_pernet() - the namespace's state, or NULL where smtpgate is unused
 * @net:	the namespace
 *
 * For paths that only exist once the state does: hooks and rules (their
 * setup made it), dumps (their start made it) and the namespace's exit.
 */
struct sg_net *sg_pernet(const struct net *net)
{
	/* Pairs with the release in sg_net_use(): a state seen is whole. */
	return smp_load_acquire(sg_slot(net));
}

/*
 * The stats are bumped from any context: the packet path (softirq, or an
 * nft OUTPUT chain in process context) and mutex holders (ban cap rejects,
 * event losses, HOST_FLAG, eviction work).  Preemption stays off so the
 * CPU's counters stay ours; on 32-bit, interrupts too, so a softirq's
 * update cannot nest inside a process's and tear the sequence count.
 */
static void sg_stats_one(struct sg_stats *st, u64_stats_t *counter)
{
	unsigned long flags;

	flags = u64_stats_update_begin_irqsave(&st->syncp);
	u64_stats_inc(counter);
	u64_stats_update_end_irqrestore(&st->syncp, flags);
}

void sg_stats_inc(struct sg_net *sn, u8 class, u8 verdict)
{
	struct sg_stats *st = get_cpu_ptr(sn->stats);

	sg_stats_one(st, &st->packets[class][verdict]);
	put_cpu_ptr(sn->stats);
}

/* Bumps the u64_stats_t at @offset in this CPU's counters. */
void sg_stats_count(struct sg_net *sn, size_t offset)
{
	struct sg_stats *st = get_cpu_ptr(sn->stats);

	sg_stats_one(st, (u64_stats_t *)((char *)st + offset));
	put_cpu_ptr(sn->stats);
}

/* Sums every CPU's counters, each read consistently (no torn 64-bit). */
void sg_stats_sum(struct sg_net *sn, struct sg_stats *sum)
{
	const size_t n = offsetof(struct sg_stats, syncp) / sizeof(u64_stats_t);
	u64_stats_t *out = (u64_stats_t *)sum;
	unsigned int start;
	int cpu;
	size_t i;

	memset(sum, 0, sizeof(*sum));
	for_each_possible_cpu(cpu) {
		const struct sg_stats *st = per_cpu_ptr(sn->stats, cpu);
		const u64_stats_t *in = (const u64_stats_t *)st;
		u64 v[sizeof(*st) / sizeof(u64_stats_t)];

		do {
			start = u64_stats_fetch_begin(&st->syncp);
			for (i = 0; i < n; i++)
				v[i] = u64_stats_read(&in[i]);
		} while (u64_stats_fetch_retry(&st->syncp, start));
		for (i = 0; i < n; i++)
			u64_stats_add(&out[i], v[i]);
	}
}

/* A boot-time second as Unix time, for people and their tools. */
u64 sg_unix_time(u32 boottime)
{
	return ktime_get_real_seconds() - (sg_now() - boottime);
}

typedef int (*sg_item_fn)(const char *name, const char *item, size_t len,
			  struct sg_policy *pol);

/*
 * Calls @fn on each comma-separated item of @value.  Every error message
 * names the parameter and the whole value, then what is wrong with it.
 */
static int sg_param_list(const char *name, const char *value,
			 struct sg_policy *pol, sg_item_fn fn)
{
	const char *p = value;

	for (;;) {
		const char *comma = strchrnul(p, ',');
		int err;

		if (comma == p) {
			pr_err("%s=%s: empty list item\n", name, value);
			return -EINVAL;
		}
		err = fn(name, p, comma - p, pol);
		if (err)
			return err;
		if (!*comma)
			return 0;
		p = comma + 1;
	}
}

static int sg_prefix_item(const char *name, const char *item, size_t len,
			  struct sg_prefix_set *set)
{
	struct sg_prefix *p = &set->v[set->n];
	const char *why;

	if (set->n == SG_MAX_PREFIXES) {
		pr_err("%s=: more than %d prefixes\n", name, SG_MAX_PREFIXES);
		return -E2BIG;
	}
	switch (sg_prefix_parse(item, len, p)) {
	case 0:
		set->n++;
		return 0;
	case -ERANGE:
		why = "prefix length out of range (0-32 for IPv4, 0-128 for IPv6)";
		break;
	case -EDOM:
		why = "has host bits set after the prefix length";
		break;
	default:
		why = "is not an IPv4 or IPv6 address or prefix";
	}
	pr_err("%s=: '%.*s' %s\n", name, (int)len, item, why);
	return -EINVAL;
}

static int sg_internal_item(const char *name, const char *item, size_t len,
			    struct sg_policy *pol)
{
	return sg_prefix_item(name, item, len, &pol->internal);
}

static int sg_exempt_item(const char *name, const char *item, size_t len,
			  struct sg_policy *pol)
{
	return sg_prefix_item(name, item, len, &pol->exempt);
}

static int sg_submission_item(const char *name, const char *item, size_t len,
			      struct sg_policy *pol)
{
	struct sg_prefix p;
	unsigned int f;

	if (sg_prefix_parse(item, len, &p) || strnchr(item, len, '/')) {
		pr_err("%s=: '%.*s' is not an IPv4 or IPv6 address\n",
		       name, (int)len, item);
		return -EINVAL;
	}
	f = sg_fam(p.family);
	if (pol->has_submission[f]) {
		pr_err("%s=: '%.*s': one address per family\n",
		       name, (int)len, item);
		return -EINVAL;
	}
	pol->submission[f] = p.addr;
	pol->has_submission[f] = true;
	return 0;
}

static int sg_port_item(const char *name, const char *item, size_t len,
			struct sg_policy *pol)
{
	char num[8];
	u16 port;

	if (pol->n_ports == SG_MAX_PORTS) {
		pr_err("%s=: more than %d ports\n", name, SG_MAX_PORTS);
		return -E2BIG;
	}
	if (len < sizeof(num)) {
		memcpy(num, item, len);
		num[len] = '\0';
		if (!kstrtou16(num, 10, &port) && port) {
			sg_policy_add_port(pol, port);
			return 0;
		}
	}
	pr_err("%s=: '%.*s' is not a port (1-65535)\n", name, (int)len, item);
	return -EINVAL;
}

static int sg_action_param(const char *name, const char *value, u8 *out)
{
	int a = sg_action_parse(value);

	if (a < 0) {
		pr_err("%s=%s: not one of drop, log, droplog, redirect\n",
		       name, value);
		return -EINVAL;
	}
	*out = a;
	return 0;
}

static int sg_port_param(const char *name, unsigned int value, bool zero_ok,
			 u16 *out)
{
	if (value > 65535 || (!value && !zero_ok)) {
		pr_err("%s=%u: not a port (1-65535)\n", name, value);
		return -EINVAL;
	}
	*out = value;
	return 0;
}

static bool sg_given(const char *s)
{
	return s && *s;
}

static int sg_params_parse(struct sg_policy *pol)
{
	const char *msg;
	int err = 0, attr;

	if (sg_given(internal))
		err = sg_param_list("internal", internal, pol, sg_internal_item);
	if (!err && sg_given(exempt))
		err = sg_param_list("exempt", exempt, pol, sg_exempt_item);
	if (!err && sg_given(submission))
		err = sg_param_list("submission", submission, pol,
				    sg_submission_item);
	sg_policy_clear_ports(pol);
	if (!err)
		err = sg_param_list("ports", ports ? ports : "", pol,
				    sg_port_item);
	if (!err)
		err = sg_action_param("action", action ? action : "", &pol->action);
	if (!err)
		err = sg_action_param("tunnel_action",
				      tunnel_action ? tunnel_action : "",
				      &pol->tunnel_action);
	if (!err)
		err = sg_port_param("submission_port", submission_port, false,
				    &pol->submission_port);
	if (!err)
		err = sg_port_param("submission_tls_port", submission_tls_port,
				    true, &pol->submission_tls_port);
	if (err)
		return err;

	msg = sg_policy_check(pol, &attr);
	if (msg) {
		pr_err("bad parameters: %s\n", msg);
		return -EINVAL;
	}
	return 0;
}

static void sg_policy_announce(const struct sg_policy *pol)
{
	if (!pol->internal.n) {
		pr_info("no internal= prefixes: enforcing nothing\n");
		return;
	}
	pr_info("policing %u internal prefixes (%u exempt): action %s, tunnel_action %s\n",
		pol->internal.n, pol->exempt.n, sg_action_name(pol->action),
		sg_action_name(pol->tunnel_action));
}

/*
 * Charged, like everything a namespace makes smtpgate allocate, to the
 * memory cgroup of whoever first used smtpgate there.
 */
static struct sg_net *sg_net_make(struct net *net)
{
	struct sg_policy *pol;
	struct sg_net *sn;
	int err = -ENOMEM;

	sn = kzalloc(sizeof(*sn), GFP_KERNEL_ACCOUNT);
	if (!sn)
		return ERR_PTR(-ENOMEM);
	sn->net = net;
	sn->instance = get_random_u64();
	mutex_init(&sn->lock);
	INIT_WORK(&sn->evict, sg_hosts_evict_work);
	sn->stats = __netdev_alloc_pcpu_stats(struct sg_stats,
					      GFP_KERNEL_ACCOUNT);
	if (!sn->stats)
		goto free;
	err = sg_bans_init(sn);
	if (err)
		goto free_stats;
	/* A policy that polices nobody: bans still work without one. */
	pol = sg_policy_alloc();
	if (!pol) {
		err = -ENOMEM;
		goto bans;
	}
	err = sg_policy_install(sn, pol, NULL);
	if (!err)
		return sn;
bans:
	sg_bans_exit(sn);
free_stats:
	free_percpu(sn->stats);
free:
	kfree(sn);
	return ERR_PTR(err);
}

/**
 * sg_net_use() - the namespace's state, made on its first use
 * @net:	a live namespace (a request's, a rule's: it cannot be exiting)
 *
 * Return: the state, or ERR_PTR(-ENOMEM).
 */
struct sg_net *sg_net_use(struct net *net)
{
	struct sg_net *sn = sg_pernet(net);

	if (sn)
		return sn;
	mutex_lock(&sg_net_make_lock);
	sn = sg_pernet(net);
	if (!sn) {
		sn = sg_net_make(net);
		if (!IS_ERR(sn)) {
			atomic_inc(&sg_nets);
			/* Lockless readers (sg_pernet()) see it whole. */
			smp_store_release(sg_slot(net), sn);
		}
	}
	mutex_unlock(&sg_net_make_lock);
	return sn;
}

/*
 * Hooks go first (with the policy and the host table), so no packet sees
 * what is freed next; the core waits one grace period after every
 * namespace's pre_exit, before the batch exit.
 */
static void __net_exit sg_net_pre_exit(struct net *net)
{
	struct sg_net *sn = sg_pernet(net);

	if (sn)
		sn->hosts_dying = sg_policy_release(sn);
}

static void __net_exit sg_net_exit_batch(struct list_head *net_exit_list)
{
	struct sg_net *sn;
	struct net *net;

	list_for_each_entry(net, net_exit_list, exit_list) {
		sn = sg_pernet(net);
		if (!sn)
			continue;
		/*
		 * Other subsystems' exits may still come after ours: the
		 * iptables tables', destroying SMTPGATE rules, find no state.
		 */
		WRITE_ONCE(*sg_slot(net), NULL);
		cancel_work_sync(&sn->evict);
		sg_host_table_free(sn->hosts_dying);
		sg_bans_exit(sn);
		free_percpu(sn->stats);
		kfree(sn);
		atomic_dec(&sg_nets);
	}
}

static struct pernet_operations sg_net_ops = {
	.pre_exit = sg_net_pre_exit,
	.exit_batch = sg_net_exit_batch,
	.id = &sg_net_id,
	.size = sizeof(struct sg_net *),
};

static int __init sg_init(void)
{
	struct sg_policy *pol;
	struct sg_net *sn;
	int err;

	pol = sg_policy_alloc();
	if (!pol)
		return -ENOMEM;
	err = sg_params_parse(pol);
	if (err) {
		kvfree(pol);
		return err;
	}

	err = sg_hosts_cache_init();
	if (err)
		goto free_pol;
	err = sg_bans_cache_init();
	if (err)
		goto hosts_cache;
	err = register_pernet_subsys(&sg_net_ops);
	if (err)
		goto bans_cache;
	/* The parameters are the initial namespace's use: its state now. */
	sn = sg_net_use(&init_net);
	if (IS_ERR(sn)) {
		err = PTR_ERR(sn);
		goto pernet;
	}
	sg_policy_announce(pol);
	err = sg_policy_install(sn, pol, NULL);
	pol = NULL;
	if (err)
		goto pernet;
	sg_debugfs = debugfs_create_dir("smtpgate", NULL);
	debugfs_create_atomic_t("namespaces", 0444, sg_debugfs, &sg_nets);
	err = sg_genl_init();
	if (err)
		goto pernet;
	err = sg_xt_init();
	if (err)
		goto genl;
	return 0;

genl:
	sg_genl_exit();
pernet:
	debugfs_remove(sg_debugfs);
	unregister_pernet_subsys(&sg_net_ops);
bans_cache:
	sg_bans_cache_exit();
hosts_cache:
	sg_hosts_cache_exit();
free_pol:
	kvfree(pol);
	return err;
}

static void __exit sg_exit(void)
{
	sg_xt_exit();
	sg_genl_exit();
	debugfs_remove(sg_debugfs);
	unregister_pernet_subsys(&sg_net_ops);
	/*
	 * Evicted and forgotten hosts are freed by call_rcu() callbacks into
	 * this module's host cache: wait for them before it goes.  (Policies
	 * and ban lengths go through kvfree_rcu(), which needs nothing of
	 * this module and which rcu_barrier() does not wait for.)
	 */
	rcu_barrier();
	sg_bans_cache_exit();
	sg_hosts_cache_exit();
}

module_init(sg_init);
module_exit(sg_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Outbound SMTP enforcement for gateways: block, log or redirect spambots' mail");
MODULE_AUTHOR("The smtpgate authors");
