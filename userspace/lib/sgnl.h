/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sgnl: the smtpgate generic netlink client (libnl-3, libnl-genl-3).
 *
 * Typed C mirrors of the attribute trees in <linux/smtpgate.h>, one call
 * per command, shared by the tests, smtpgatectl and smtpgated.
 *
 * Every call returns 0 (or a count) on success and a negative errno on
 * failure.  When the kernel refused a request, sgnl_error_msg() holds its
 * extack message (or one of ours for local failures), so the caller can
 * say why: "cannot ban 2001:db8::/129: prefix longer than 128".
 *
 * A handle is one netlink socket in the network namespace it was opened
 * in; it is not thread safe.  A handle that subscribed to events is for
 * events only (its sequence checking is off and it does not block).
 */
#ifndef _SGNL_H
#define _SGNL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <linux/smtpgate.h>

struct nl_msg;
struct nlattr;
struct nlmsghdr;

/* ---- addresses and prefixes (pure; no socket needed) ------------------ */

/* An IPv4 or IPv6 prefix; a plain address has the full length. */
struct sg_prefix {
	uint16_t family;		/* AF_INET or AF_INET6 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
		uint8_t bytes[16];
	} addr;				/* network byte order */
	uint8_t len;			/* 0-32 or 0-128 */
};

/* "2001:db8:ffff:ffff:ffff:ffff:255.255.255.255/128" and a NUL */
#define SG_PREFIX_STRLEN	(INET6_ADDRSTRLEN + 4)
/* Room for any message the parsers below write. */
#define SG_PARSE_ERRLEN		160

unsigned int sg_family_bits(int family);	/* 32, 128, or 0 */
size_t sg_family_addr_len(int family);		/* 4, 16, or 0 */

int sg_prefix_parse(const char *text, struct sg_prefix *p,
		    char *err, size_t errlen);
int sg_addr_parse(const char *text, struct sg_prefix *p,
		  char *err, size_t errlen);
const char *sg_prefix_str(const struct sg_prefix *p, char *buf, size_t len);
const char *sg_addr_str(const struct sg_prefix *p, char *buf, size_t len);
bool sg_prefix_host_bits(const struct sg_prefix *p);
void sg_prefix_mask(struct sg_prefix *p);
bool sg_prefix_contains(const struct sg_prefix *p, const struct sg_prefix *a);
bool sg_prefix_equal(const struct sg_prefix *a, const struct sg_prefix *b);
int sg_prefix_cmp(const struct sg_prefix *a, const struct sg_prefix *b);

/* Names as the CLI prints and parses them; NULL / -1 when unknown. */
const char *sgnl_action_name(unsigned int action);
int sgnl_action_parse(const char *name);
const char *sgnl_scope_name(unsigned int scope);
int sgnl_scope_parse(const char *name);
const char *sgnl_class_name(unsigned int class);
const char *sgnl_verdict_name(unsigned int verdict);
const char *sgnl_cmd_name(unsigned int cmd);

/*
 * Why a host was flagged: every SMTPGATE_REASON_* bit, in bit order (the
 * order smtpgatectl lists them and smtpgated's logs and hooks join them
 * in).  One entry a bit of SMTPGATE_REASON_ALL, so a reason the header
 * gains is a table too short for the tests until it is named here.
 */
struct sgnl_reason {
	uint32_t bit;			/* SMTPGATE_REASON_* */
	const char *name;
};

#define SGNL_NREASONS \
	((unsigned int)__builtin_popcountl(SMTPGATE_REASON_ALL))

extern const struct sgnl_reason sgnl_reasons[SGNL_NREASONS];

/* The name of one SMTPGATE_REASON_* bit; NULL unless @bit is one of them. */
const char *sgnl_reason_name(uint32_t bit);
/* The bit of a name, exactly as sgnl_reason_name() gives it; 0: none. */
uint32_t sgnl_reason_parse(const char *name);

/* ---- the objects ------------------------------------------------------- */

struct sgnl_prefix_list {
	unsigned int n;
	struct sg_prefix v[SMTPGATE_MAX_PREFIXES];
};

/*
 * The whole policy.  @has says which attributes are present: on set,
 * absent ones take the kernel's defaults; on get, what the kernel sent.
 * Its keys (names, value grammar, ranges, attributes) are polkey.h's.
 * sgnl_policy_defaults() gives the header's documented defaults with every
 * scalar present.
 */
#define SGNL_POLICY_HAS(attr)	(1U << (attr))

struct sgnl_policy {
	uint32_t has;			/* SGNL_POLICY_HAS(SMTPGATE_A_POLICY_*) */
	struct sgnl_prefix_list internal;
	struct sgnl_prefix_list exempt;
	struct sgnl_prefix_list walled_garden;
	uint8_t action;			/* enum smtpgate_action */
	uint8_t tunnel_action;
	struct in_addr submission4;
	struct in6_addr submission6;
	uint16_t submission_port;
	uint16_t submission_tls_port;
	unsigned int nports;
	uint16_t ports[SMTPGATE_MAX_PORTS];
	uint32_t window;
	uint32_t rate_limit;
	uint32_t blocked_limit;
	uint32_t dest_limit;
	uint8_t flag_tunnel;
	uint8_t ban_scope;		/* enum smtpgate_scope */
	uint8_t host_prefix4;
	uint8_t host_prefix6;
	uint32_t max_hosts;
	uint32_t max_bans;
	uint16_t inspect_queue;		/* with its has-bit only */
	uint32_t inspect_bytes;
	uint16_t trap_port;		/* with its has-bit only */
	/*
	 * From a get, with its has-bit.  A set sends it when the bit is set
	 * (a read-modify-write): the kernel then refuses the set with
	 * -ESTALE if another set came in between.  Clear the bit for an
	 * unconditional set.
	 */
	uint32_t generation;
};

struct sgnl_host {
	struct sg_prefix prefix;	/* the aggregated host */
	uint64_t first_seen, last_seen;	/* Unix time */
	uint32_t attempts[SMTPGATE_CLASS_MAX + 1];
	uint32_t blocked, redirected, logged;
	uint32_t rate, blocked_rate, destinations;
	uint32_t flags;			/* SMTPGATE_HOST_F_* */
	uint32_t reasons;		/* SMTPGATE_REASON_* */
	uint64_t flagged_at;		/* 0: not flagged */
};

/* The host's attempts of every class: what the CLI, logs and hooks show. */
uint64_t sgnl_host_attempts(const struct sgnl_host *h);

struct sgnl_ban {
	struct sg_prefix prefix;
	uint8_t scope;			/* 0 on add: the kernel's default */
	uint32_t timeout;		/* seconds (left, on get); 0: permanent */
	char reason[SMTPGATE_BAN_REASON_LEN];
	uint64_t created;		/* get only */
	uint64_t drops;			/* get only */
};

/*
 * Whole listings, as vectors (lib/vec.h) that the caller frees (.v):
 * sgnl_hosts_add() and sgnl_bans_add() are the sgnl_host_list() and
 * sgnl_ban_list() callbacks that keep every entry, or end the dump with
 * -ENOMEM.
 */
struct sgnl_hosts {
	struct sgnl_host *v;
	size_t n, cap;
};

struct sgnl_bans {
	struct sgnl_ban *v;
	size_t n, cap;
};

int sgnl_hosts_add(const struct sgnl_host *host, void *hosts);
int sgnl_bans_add(const struct sgnl_ban *ban, void *bans);

struct sgnl_stats {
	uint64_t packets[SMTPGATE_CLASS_MAX + 1][SMTPGATE_VERDICT_MAX + 1];
	uint32_t hosts, flagged, bans;
	uint64_t host_evictions;
	uint64_t host_cap_misses;
	uint64_t host_aggregates;	/* 0 from a kernel without them */
	uint64_t ban_cap_rejects;
	uint64_t event_losses;
	uint32_t host_bytes, ban_bytes;
	uint64_t instance;		/* who the kernel state is: see uapi */
	uint32_t flushes;
};

struct sgnl_event {
	uint8_t cmd;			/* SMTPGATE_CMD_HOST_FLAGGED ... */
	bool has_host, has_ban, has_stats;
	struct sgnl_host host;
	struct sgnl_ban ban;
	struct sgnl_stats stats;	/* BANS_FLUSHED: instance, flushes, bans */
};

/*
 * Callbacks return 0 to go on; anything else ends the walk (the rest of a
 * dump is drained, not delivered) and is returned by the call.
 */
typedef int (*sgnl_host_fn)(const struct sgnl_host *host, void *arg);
typedef int (*sgnl_ban_fn)(const struct sgnl_ban *ban, void *arg);
typedef int (*sgnl_event_fn)(const struct sgnl_event *ev, void *arg);

/* ---- the handle and its commands -------------------------------------- */

struct sgnl;

/* The last error: errno, the kernel's extack (if any) or our message. */
struct sgnl_error {
	int err;			/* negative errno, 0: none */
	char msg[256];			/* "" when there was none */
	int64_t offset;			/* NLMSGERR_ATTR_OFFS, -1: none */
	int miss_type;			/* NLMSGERR_ATTR_MISS_TYPE, -1: none */
	/* smtpgatectl: msg is the kernel's extack, shown as "kernel: ..." */
	bool kernel_msg;
	/*
	 * The attribute the kernel blamed (NLMSGERR_ATTR_OFFS) named by its
	 * path in our request: "ban.timeout", "policy.internal[3].len",
	 * "bans[17].addr"; "" when not known.  The netlink core's own
	 * messages ("integer out of range") name it only this way.
	 */
	char attr[96];
};

int sgnl_open(struct sgnl **hp);
void sgnl_close(struct sgnl *h);
int sgnl_fd(const struct sgnl *h);
const char *sgnl_error_msg(const struct sgnl *h);
const struct sgnl_error *sgnl_error(const struct sgnl *h);

void sgnl_policy_init(struct sgnl_policy *pol);
void sgnl_policy_defaults(struct sgnl_policy *pol);
int sgnl_policy_set(struct sgnl *h, const struct sgnl_policy *pol);
int sgnl_policy_get(struct sgnl *h, struct sgnl_policy *pol);

/*
 * Dumps (host_list, ban_list): one callback per entry.  A dump the kernel
 * flagged NLM_F_DUMP_INTR (the table changed while it was read) returns
 * -EINTR after delivering what came: the listing may miss or repeat
 * entries, so callers that need it exact retry, with sgnl_dump_again().
 * (Signals never surface as -EINTR: libnl restarts those reads.)
 */
bool sgnl_dump_again(int ret, unsigned int *tries);
int sgnl_host_get(struct sgnl *h, const struct sg_prefix *addr,
		  struct sgnl_host *host);
int sgnl_host_list(struct sgnl *h, bool flagged_only,
		   sgnl_host_fn fn, void *arg);
int sgnl_host_forget(struct sgnl *h, const struct sg_prefix *addr);
int sgnl_host_flag(struct sgnl *h, const struct sg_prefix *addr,
		   uint32_t reasons);

/* Bans per batch message: as many as fit in SGNL_BATCH_BYTES. */
#define SGNL_BATCH_BYTES	65536

int sgnl_ban_add(struct sgnl *h, const struct sgnl_ban *ban);
int sgnl_ban_add_batch(struct sgnl *h, const struct sgnl_ban *bans, size_t n,
		       bool quiet, size_t *added);
int sgnl_ban_del(struct sgnl *h, const struct sg_prefix *prefix);
int sgnl_ban_test(struct sgnl *h, const struct sg_prefix *addr,
		  struct sgnl_ban *ban);
int sgnl_ban_list(struct sgnl *h, sgnl_ban_fn fn, void *arg);
int sgnl_ban_flush(struct sgnl *h);

int sgnl_stats_get(struct sgnl *h, struct sgnl_stats *st);

int sgnl_events_subscribe(struct sgnl *h);
int sgnl_event_recv(struct sgnl *h, int timeout_ms,
		    sgnl_event_fn fn, void *arg);

/*
 * The raw path, for requests the typed calls cannot express (the tests'
 * malformed messages, future attributes): sgnl_msg() starts a request of
 * the family; sgnl_request() sends it (and frees it), calls @fn for every
 * reply message of the family, and waits for the ACK or the end of the
 * dump.  Same returns as the typed calls.
 */
typedef int (*sgnl_msg_fn)(const struct nlmsghdr *nlh, void *arg);

struct nl_msg *sgnl_msg(struct sgnl *h, uint8_t cmd, int nlflags,
			size_t size);
int sgnl_request(struct sgnl *h, struct nl_msg *msg,
		 sgnl_msg_fn fn, void *arg);
int sgnl_parse_ban(const struct nlattr *nest, struct sgnl_ban *ban);
int sgnl_parse_host(const struct nlattr *nest, struct sgnl_host *host);
int sgnl_attr_path(const struct nlmsghdr *req, uint32_t offset,
		   char *buf, size_t len);

#endif /* _SGNL_H */
