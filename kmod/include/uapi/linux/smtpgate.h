/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * smtpgate: outbound SMTP enforcement for Linux gateways.
 *
 * This header is the one contract between the kernel module, the daemon
 * (smtpgated) and the CLI (smtpgatectl).
 *
 * Packet classes
 * --------------
 * Every forwarded packet is put in one class:
 *
 *   SMTPGATE_CLASS_OTHER   not SMTP; never touched (unless its source is
 *                          banned with scope "all").
 *   SMTPGATE_CLASS_SMTP4   TCP to a watched port over IPv4.
 *   SMTPGATE_CLASS_SMTP6   TCP to a watched port over IPv6, after walking
 *                          hop-by-hop, routing, destination-options, AH
 *                          and (first) fragment headers.
 *   SMTPGATE_CLASS_TEREDO  IPv6 SMTP inside UDP (RFC 4380), on any UDP
 *                          port, after optional authentication and origin
 *                          indication headers.
 *   SMTPGATE_CLASS_SIXIN4  IPv6 SMTP inside IPv4 protocol 41 (6in4, 6to4).
 *
 * Actions
 * -------
 * SMTP from an internal, non-exempt source gets the policy's action
 * (smtp4, smtp6) or tunnel action (teredo, sixin4):
 *
 *   SMTPGATE_ACTION_DROP      drop silently.
 *   SMTPGATE_ACTION_LOG       log through nf_log and let it pass.
 *   SMTPGATE_ACTION_DROPLOG   log through nf_log, then drop.
 *   SMTPGATE_ACTION_REDIRECT  rewrite the destination to the submission
 *                             server (conntrack NAT) when the connection is
 *                             new; what cannot be redirected is dropped.
 *                             Not valid as tunnel action.
 *   SMTPGATE_ACTION_TRAP      let the SMTP through (inspected when a queue
 *                             is set) until the host is flagged or banned
 *                             with scope "smtp"; from then on its new
 *                             port-25 connections go to smtpgated's trap
 *                             listener on the gateway (conntrack NAT to the
 *                             address of the interface they came in on,
 *                             port SMTPGATE_A_POLICY_TRAP_PORT).  Not valid
 *                             as tunnel action.
 *
 * Inspection
 * ----------
 * With SMTPGATE_A_POLICY_INSPECT_QUEUE set, plaintext port-25 sessions of
 * internal hosts that the policy lets exist (exempt hosts, action "log" or
 * "trap") are queued to that NFQUEUE, both directions, for their first
 * SMTPGATE_A_POLICY_INSPECT_BYTES bytes each way (conntrack's count of IP
 * bytes).  Only segments carrying data are queued.  The queue verdict has
 * the bypass flag: with nobody listening, packets flow unqueued.
 *
 * Log lines carry the prefix "smtpgate: " followed by the class name.
 *
 * Generic netlink API
 * -------------------
 * Family SMTPGATE_GENL_NAME, version SMTPGATE_GENL_VERSION, multicast group
 * SMTPGATE_GENL_MCGRP_EVENTS.  Every command acts on the caller's network
 * namespace.  Every command but SMTPGATE_CMD_STATS_GET needs CAP_NET_ADMIN
 * in the initial user namespace (they change state or reveal hosts and
 * servers).  Joining the event group needs CAP_NET_ADMIN over the
 * namespace (a namespace's events only ever come from its own state).
 * Attributes a command does not take are rejected.  Every rejection comes
 * with an extack: the netlink core's own (wrong type or length: -EINVAL,
 * out of range: -ERANGE, "Unsupported attribute") point at the attribute by
 * its offset (NLMSGERR_ATTR_OFFS); the module's say in words what is wrong
 * and point at it too.  A list longer than allowed is -E2BIG.  Addresses
 * are in network byte order; times are seconds.
 *
 * A prefix is a nest of
 *     SMTPGATE_A_PREFIX_FAMILY: u16, AF_INET or AF_INET6
 *     SMTPGATE_A_PREFIX_ADDR: binary, 4 bytes (AF_INET) or 16 (AF_INET6)
 *     SMTPGATE_A_PREFIX_LEN: u8, 0-32 or 0-128; absent: the full length.
 *                            Host bits past it must be zero.
 * and a prefix list is a nest of SMTPGATE_A_PREFIX_ENTRY prefix nests.
 *
 * SMTPGATE_CMD_POLICY_SET: replaces the whole policy as one generation.
 *     With SMTPGATE_A_POLICY_GENERATION, only if that is still the current
 *     generation (compare and swap for a read-modify-write): else -ESTALE,
 *     the attribute named, and nothing changes.  Without it the set is
 *     unconditional (smtpgated loading its configuration).
 * SMTPGATE_CMD_POLICY_GET: returns exactly what the last set stored.
 *     SMTPGATE_A_POLICY: nest, all optional on set (absent: default)
 *         SMTPGATE_A_POLICY_INTERNAL: prefix list (max 32)
 *         SMTPGATE_A_POLICY_EXEMPT: prefix list (max 32)
 *         SMTPGATE_A_POLICY_WALLED_GARDEN: prefix list (max 32), the
 *             destinations a host banned with scope "all" may still reach
 *         SMTPGATE_A_POLICY_ACTION: u8, enum smtpgate_action (drop)
 *         SMTPGATE_A_POLICY_TUNNEL_ACTION: u8, not redirect (drop)
 *         SMTPGATE_A_POLICY_SUBMISSION4: binary 4 bytes, IPv4 address
 *         SMTPGATE_A_POLICY_SUBMISSION6: binary 16 bytes, IPv6 address
 *             (redirect needs at least one of the two)
 *         SMTPGATE_A_POLICY_SUBMISSION_PORT: u16, 1-65535 (587)
 *         SMTPGATE_A_POLICY_SUBMISSION_TLS_PORT: u16, 0-65535 (0: 465 is
 *             dropped under redirect)
 *         SMTPGATE_A_POLICY_PORTS: nest of SMTPGATE_A_PORT u16 (1-65535),
 *             1-32 of them (25, 465)
 *         SMTPGATE_A_POLICY_WINDOW: u32, 1-86400, the window the limits
 *             below count over (60)
 *         SMTPGATE_A_POLICY_RATE_LIMIT: u32, 0-65534, connection attempts
 *             per window that flag a host; 0 disables (15)
 *         SMTPGATE_A_POLICY_BLOCKED_LIMIT: u32, 0-65535, blocked attempts
 *             per window that flag a host; 0 disables (10)
 *         SMTPGATE_A_POLICY_DEST_LIMIT: u32, 0-267, distinct destinations
 *             per window that flag a host; 0 disables (10).  A host's
 *             counters go no higher: a larger limit, which would never
 *             flag anyone, is refused with EINVAL, the attribute named
 *         SMTPGATE_A_POLICY_FLAG_TUNNEL: u8, 0 or 1: flag on any tunnelled
 *             SMTP attempt (1)
 *         SMTPGATE_A_POLICY_BAN_SCOPE: u8, enum smtpgate_scope, the scope
 *             the daemon gives the bans it decides (smtp)
 *         SMTPGATE_A_POLICY_HOST_PREFIX4: u8, 8-32: IPv4 sources are
 *             tracked per prefix of this length (32)
 *         SMTPGATE_A_POLICY_HOST_PREFIX6: u8, 16-128 (64), so address
 *             rotation inside a /64 is one host
 *         SMTPGATE_A_POLICY_MAX_HOSTS: u32, 16-16777216 (65536)
 *         SMTPGATE_A_POLICY_MAX_BANS: u32, 16-16777216 (1048576)
 *         SMTPGATE_A_POLICY_INSPECT_QUEUE: u16, NFQUEUE number for SMTP
 *             inspection; absent: no inspection
 *         SMTPGATE_A_POLICY_INSPECT_BYTES: u32, 64-1048576 (4096): bytes
 *             queued per session and direction
 *         SMTPGATE_A_POLICY_TRAP_PORT: u16, 1-65535: port of the trap
 *             listener on the gateway; action "trap" needs it (absent)
 *         SMTPGATE_A_POLICY_GENERATION: u32, bumped by every set (0
 *             before the first, 1 after the namespace's initial policy).
 *             On set: the generation the change was based on, as read by
 *             a get; absent: no check
 *     Changing the host prefix lengths forgets every tracked host.
 *
 * SMTPGATE_CMD_HOST_GET
 *     doit: SMTPGATE_A_HOST nest with SMTPGATE_A_HOST_FAMILY and _ADDR, any
 *           address of the host (it is aggregated by the policy's host
 *           prefix lengths).  Replies with the host, else with the
 *           aggregate (SMTPGATE_HOST_F_AGGREGATE) counting the address,
 *           else -ENOENT.
 *     dump: every tracked host; SMTPGATE_A_FLAGS with
 *           SMTPGATE_F_FLAGGED_ONLY lists only flagged ones.
 *     SMTPGATE_A_HOST: nest
 *         SMTPGATE_A_HOST_FAMILY, _ADDR, _PREFIX_LEN: the host's prefix
 *         SMTPGATE_A_HOST_FIRST_SEEN, _LAST_SEEN: u64, Unix time
 *         SMTPGATE_A_HOST_ATTEMPTS: nest, one u32 per class, the attribute
 *             type being the enum smtpgate_class: connection attempts (TCP
 *             SYNs, inner ones for tunnels)
 *         SMTPGATE_A_HOST_BLOCKED, _REDIRECTED, _LOGGED: u32, packets
 *         SMTPGATE_A_HOST_RATE: u32, attempts in the current window
 *         SMTPGATE_A_HOST_BLOCKED_RATE: u32, blocked attempts in the window
 *         SMTPGATE_A_HOST_DESTINATIONS: u32, distinct destinations in the
 *             window (exact up to 4, estimated beyond)
 *         SMTPGATE_A_HOST_FLAGS: u32, SMTPGATE_HOST_F_*:
 *             _FLAGGED: flagged in this episode (until a ban covering it
 *             ends); _EXEMPT: seen from an exempt source; _AGGREGATE: not
 *             one host but every untracked address of a shorter prefix
 *             (_PREFIX_LEN: the host prefix length less 8 for IPv4, less
 *             16 for IPv6, no shorter than /8 and /16; none when the
 *             host prefix is that short already), made while the table
 *             was full; counted, flagged and evicted as one host
 *         SMTPGATE_A_HOST_REASONS: u32, SMTPGATE_REASON_* why it was flagged
 *         SMTPGATE_A_HOST_FLAGGED_AT: u64, Unix time (flagged hosts only)
 *         SMTPGATE_A_HOST_REASONS is also what SMTPGATE_CMD_HOST_FLAG takes
 *
 * SMTPGATE_CMD_HOST_FORGET: SMTPGATE_A_HOST with the address (the host,
 *     else the aggregate counting it, as for get); -ENOENT if not
 *     tracked.  Without SMTPGATE_A_HOST: forgets every host.
 *
 * SMTPGATE_CMD_HOST_FLAG: flags a host found by userspace (smtpgated's
 *     SMTP inspection).  SMTPGATE_A_HOST with _FAMILY, _ADDR and _REASONS
 *     (SMTPGATE_REASON_DIALOGUE).  The address must be internal and not
 *     exempt (-EINVAL).  The host is tracked if it was not; a host not yet
 *     flagged is flagged and SMTPGATE_CMD_HOST_FLAGGED goes out as for the
 *     kernel's own flags; an already flagged host only gains the reasons.
 *     -ENOSPC if the host table has no room.
 *
 * SMTPGATE_CMD_BAN_ADD: one SMTPGATE_A_BAN, or SMTPGATE_A_BANS, a nest of
 *     SMTPGATE_A_BAN nests (batched; all or nothing).  Adding an existing
 *     ban (same prefix) replaces its scope, timeout and reason.  A full
 *     table fails with -ENOSPC.  SMTPGATE_A_FLAGS with SMTPGATE_F_QUIET
 *     sends no SMTPGATE_CMD_BAN_ADDED events (for restoring saved bans).
 * SMTPGATE_CMD_BAN_DEL: one SMTPGATE_A_BAN (address and length); -ENOENT if
 *     no such ban.
 * SMTPGATE_CMD_BAN_GET
 *     doit: SMTPGATE_A_BAN with an address (full length): replies with a
 *           ban covering it, or -ENOENT: "is this address banned?".
 *     dump: every ban, exact across many recvmsg calls; a change during
 *           the dump sets NLM_F_DUMP_INTR.
 * SMTPGATE_CMD_BAN_FLUSH: removes every ban, all or nothing (-ENOMEM:
 *     none removed); one SMTPGATE_CMD_BANS_FLUSHED event, no per-ban ones.
 *     SMTPGATE_A_BAN: nest
 *         SMTPGATE_A_BAN_FAMILY, _ADDR, _PREFIX_LEN: as in a prefix
 *         SMTPGATE_A_BAN_SCOPE: u8, enum smtpgate_scope (smtp)
 *         SMTPGATE_A_BAN_TIMEOUT: u32, 1-315360000 seconds on add; absent:
 *             permanent.  On get: seconds left (absent: permanent).
 *         SMTPGATE_A_BAN_REASON: string, at most 63 bytes
 *         SMTPGATE_A_BAN_CREATED: u64, Unix time (get only)
 *         SMTPGATE_A_BAN_DROPS: u64, packets dropped (get only)
 *
 * SMTPGATE_CMD_STATS_GET: SMTPGATE_A_STATS nest
 *     SMTPGATE_A_STATS_PACKETS: nest of SMTPGATE_A_STATS_ENTRY nests, each
 *         SMTPGATE_A_STATS_CLASS: u8, SMTPGATE_A_STATS_VERDICT: u8 (enum
 *         smtpgate_verdict), SMTPGATE_A_STATS_COUNT: u64
 *     SMTPGATE_A_STATS_HOSTS, _FLAGGED, _BANS: u32, table sizes now
 *     SMTPGATE_A_STATS_HOST_EVICTIONS: u64, hosts evicted by the cap
 *     SMTPGATE_A_STATS_HOST_CAP_MISSES: u64, packets from hosts that could
 *         not be tracked (table full, all flagged)
 *     SMTPGATE_A_STATS_BAN_CAP_REJECTS: u64, bans refused by the cap
 *     SMTPGATE_A_STATS_EVENT_LOSSES: u64, events not delivered
 *     SMTPGATE_A_STATS_HOST_BYTES, _BAN_BYTES: u32, memory per entry
 *     SMTPGATE_A_STATS_INSTANCE: u64, random, chosen when the namespace's
 *         smtpgate state is created (module load, namespace creation): a
 *         new value means every ban and host the kernel held is gone
 *     SMTPGATE_A_STATS_FLUSHES: u32, SMTPGATE_CMD_BAN_FLUSH calls in this
 *         instance
 *     SMTPGATE_A_STATS_HOST_AGGREGATES: u64, aggregates made because the
 *         host table was full (SMTPGATE_HOST_F_AGGREGATE)
 *
 * Events (group SMTPGATE_GENL_MCGRP_EVENTS), in the namespace concerned:
 *     SMTPGATE_CMD_HOST_FLAGGED: SMTPGATE_A_HOST with the evidence.
 *     SMTPGATE_CMD_BAN_ADDED, _BAN_EXPIRED, _BAN_REMOVED: SMTPGATE_A_BAN,
 *         and SMTPGATE_A_HOST when the host is tracked.
 *     SMTPGATE_CMD_BANS_FLUSHED: SMTPGATE_A_STATS with _INSTANCE, _FLUSHES
 *         (this flush included) and _BANS (how many it removed).
 */
#ifndef _UAPI_LINUX_SMTPGATE_H
#define _UAPI_LINUX_SMTPGATE_H

#include <linux/const.h>

#define SMTPGATE_GENL_NAME		"smtpgate"
#define SMTPGATE_GENL_VERSION		1
#define SMTPGATE_GENL_MCGRP_EVENTS	"events"

#define SMTPGATE_DEFAULT_SUBMISSION_PORT	587
#define SMTPGATE_MAX_PREFIXES		32
#define SMTPGATE_MAX_PORTS		32
#define SMTPGATE_MAX_BAN_TIMEOUT	315360000	/* ten years */
#define SMTPGATE_BAN_REASON_LEN		64		/* with the NUL */
#define SMTPGATE_DEFAULT_INSPECT_BYTES	4096
#define SMTPGATE_SMTP_PORT		25

enum smtpgate_class {
	SMTPGATE_CLASS_OTHER,
	SMTPGATE_CLASS_SMTP4,
	SMTPGATE_CLASS_SMTP6,
	SMTPGATE_CLASS_TEREDO,
	SMTPGATE_CLASS_SIXIN4,
	__SMTPGATE_CLASS_MAX
};

#define SMTPGATE_CLASS_MAX (__SMTPGATE_CLASS_MAX - 1)

enum smtpgate_action {
	SMTPGATE_ACTION_UNSPEC,
	SMTPGATE_ACTION_DROP,
	SMTPGATE_ACTION_LOG,
	SMTPGATE_ACTION_DROPLOG,
	SMTPGATE_ACTION_REDIRECT,
	SMTPGATE_ACTION_TRAP,
	__SMTPGATE_ACTION_MAX
};

#define SMTPGATE_ACTION_MAX (__SMTPGATE_ACTION_MAX - 1)

/* What happened to a packet, for the statistics. */
enum smtpgate_verdict {
	SMTPGATE_VERDICT_PASS,		/* not ours, or exempt */
	SMTPGATE_VERDICT_DROP,
	SMTPGATE_VERDICT_LOG,
	SMTPGATE_VERDICT_DROPLOG,
	SMTPGATE_VERDICT_REDIRECT,
	SMTPGATE_VERDICT_BANNED,	/* dropped by a ban */
	SMTPGATE_VERDICT_TRAP,		/* connection sent to the trap */
	SMTPGATE_VERDICT_QUEUE,		/* queued for inspection, then passed */
	__SMTPGATE_VERDICT_MAX
};

#define SMTPGATE_VERDICT_MAX (__SMTPGATE_VERDICT_MAX - 1)

enum smtpgate_scope {
	SMTPGATE_SCOPE_UNSPEC,
	SMTPGATE_SCOPE_SMTP,		/* SMTP of every class is dropped */
	SMTPGATE_SCOPE_ALL,		/* all forwarded traffic but the walled garden */
	__SMTPGATE_SCOPE_MAX
};

#define SMTPGATE_SCOPE_MAX (__SMTPGATE_SCOPE_MAX - 1)

/* SMTPGATE_A_FLAGS */
#define SMTPGATE_F_FLAGGED_ONLY		_BITUL(0)
#define SMTPGATE_F_QUIET		_BITUL(1)
#define SMTPGATE_F_ALL			(SMTPGATE_F_FLAGGED_ONLY | SMTPGATE_F_QUIET)

/* SMTPGATE_A_HOST_FLAGS */
#define SMTPGATE_HOST_F_FLAGGED		_BITUL(0)
#define SMTPGATE_HOST_F_EXEMPT		_BITUL(1)
#define SMTPGATE_HOST_F_AGGREGATE	_BITUL(2)
#define SMTPGATE_HOST_F_ALL		(SMTPGATE_HOST_F_FLAGGED | \
					 SMTPGATE_HOST_F_EXEMPT | \
					 SMTPGATE_HOST_F_AGGREGATE)

/* SMTPGATE_A_HOST_REASONS: why a host was flagged */
#define SMTPGATE_REASON_RATE		_BITUL(0)	/* attempts per window */
#define SMTPGATE_REASON_BLOCKED		_BITUL(1)	/* blocked attempts */
#define SMTPGATE_REASON_DESTINATIONS	_BITUL(2)	/* distinct servers */
#define SMTPGATE_REASON_TUNNEL		_BITUL(3)	/* tunnelled SMTP */
#define SMTPGATE_REASON_DIALOGUE	_BITUL(4)	/* smtpgated's inspection */
#define SMTPGATE_REASON_ALL		(SMTPGATE_REASON_RATE | \
					 SMTPGATE_REASON_BLOCKED | \
					 SMTPGATE_REASON_DESTINATIONS | \
					 SMTPGATE_REASON_TUNNEL | \
					 SMTPGATE_REASON_DIALOGUE)

enum smtpgate_cmd {
	SMTPGATE_CMD_UNSPEC,
	SMTPGATE_CMD_POLICY_SET,
	SMTPGATE_CMD_POLICY_GET,
	SMTPGATE_CMD_HOST_GET,
	SMTPGATE_CMD_HOST_FORGET,
	SMTPGATE_CMD_BAN_ADD,
	SMTPGATE_CMD_BAN_DEL,
	SMTPGATE_CMD_BAN_GET,
	SMTPGATE_CMD_BAN_FLUSH,
	SMTPGATE_CMD_STATS_GET,
	SMTPGATE_CMD_HOST_FLAGGED,	/* event */
	SMTPGATE_CMD_BAN_ADDED,		/* event */
	SMTPGATE_CMD_BAN_EXPIRED,	/* event */
	SMTPGATE_CMD_BAN_REMOVED,	/* event */
	SMTPGATE_CMD_HOST_FLAG,
	SMTPGATE_CMD_BANS_FLUSHED,	/* event */
	__SMTPGATE_CMD_MAX
};

#define SMTPGATE_CMD_MAX (__SMTPGATE_CMD_MAX - 1)

enum smtpgate_attr {
	SMTPGATE_A_UNSPEC,
	SMTPGATE_A_POLICY,
	SMTPGATE_A_HOST,
	SMTPGATE_A_BAN,
	SMTPGATE_A_BANS,
	SMTPGATE_A_STATS,
	SMTPGATE_A_FLAGS,
	SMTPGATE_A_PAD,
	__SMTPGATE_A_MAX
};

#define SMTPGATE_A_MAX (__SMTPGATE_A_MAX - 1)

enum smtpgate_prefix_attr {
	SMTPGATE_A_PREFIX_UNSPEC,
	SMTPGATE_A_PREFIX_FAMILY,
	SMTPGATE_A_PREFIX_ADDR,
	SMTPGATE_A_PREFIX_LEN,
	__SMTPGATE_A_PREFIX_MAX
};

#define SMTPGATE_A_PREFIX_MAX (__SMTPGATE_A_PREFIX_MAX - 1)

/* The one attribute type inside a prefix list. */
#define SMTPGATE_A_PREFIX_ENTRY		1
/* The one attribute type inside SMTPGATE_A_POLICY_PORTS. */
#define SMTPGATE_A_PORT			1

enum smtpgate_policy_attr {
	SMTPGATE_A_POLICY_UNSPEC,
	SMTPGATE_A_POLICY_INTERNAL,
	SMTPGATE_A_POLICY_EXEMPT,
	SMTPGATE_A_POLICY_WALLED_GARDEN,
	SMTPGATE_A_POLICY_ACTION,
	SMTPGATE_A_POLICY_TUNNEL_ACTION,
	SMTPGATE_A_POLICY_SUBMISSION4,
	SMTPGATE_A_POLICY_SUBMISSION6,
	SMTPGATE_A_POLICY_SUBMISSION_PORT,
	SMTPGATE_A_POLICY_SUBMISSION_TLS_PORT,
	SMTPGATE_A_POLICY_PORTS,
	SMTPGATE_A_POLICY_WINDOW,
	SMTPGATE_A_POLICY_RATE_LIMIT,
	SMTPGATE_A_POLICY_BLOCKED_LIMIT,
	SMTPGATE_A_POLICY_DEST_LIMIT,
	SMTPGATE_A_POLICY_FLAG_TUNNEL,
	SMTPGATE_A_POLICY_BAN_SCOPE,
	SMTPGATE_A_POLICY_HOST_PREFIX4,
	SMTPGATE_A_POLICY_HOST_PREFIX6,
	SMTPGATE_A_POLICY_MAX_HOSTS,
	SMTPGATE_A_POLICY_MAX_BANS,
	SMTPGATE_A_POLICY_GENERATION,
	SMTPGATE_A_POLICY_INSPECT_QUEUE,
	SMTPGATE_A_POLICY_INSPECT_BYTES,
	SMTPGATE_A_POLICY_TRAP_PORT,
	__SMTPGATE_A_POLICY_MAX
};

#define SMTPGATE_A_POLICY_MAX (__SMTPGATE_A_POLICY_MAX - 1)

enum smtpgate_host_attr {
	SMTPGATE_A_HOST_UNSPEC,
	SMTPGATE_A_HOST_FAMILY,
	SMTPGATE_A_HOST_ADDR,
	SMTPGATE_A_HOST_PREFIX_LEN,
	SMTPGATE_A_HOST_FIRST_SEEN,
	SMTPGATE_A_HOST_LAST_SEEN,
	SMTPGATE_A_HOST_ATTEMPTS,
	SMTPGATE_A_HOST_BLOCKED,
	SMTPGATE_A_HOST_REDIRECTED,
	SMTPGATE_A_HOST_LOGGED,
	SMTPGATE_A_HOST_RATE,
	SMTPGATE_A_HOST_BLOCKED_RATE,
	SMTPGATE_A_HOST_DESTINATIONS,
	SMTPGATE_A_HOST_FLAGS,
	SMTPGATE_A_HOST_REASONS,
	SMTPGATE_A_HOST_FLAGGED_AT,
	SMTPGATE_A_HOST_PAD,
	__SMTPGATE_A_HOST_MAX
};

#define SMTPGATE_A_HOST_MAX (__SMTPGATE_A_HOST_MAX - 1)

enum smtpgate_ban_attr {
	SMTPGATE_A_BAN_UNSPEC,
	SMTPGATE_A_BAN_FAMILY,
	SMTPGATE_A_BAN_ADDR,
	SMTPGATE_A_BAN_PREFIX_LEN,
	SMTPGATE_A_BAN_SCOPE,
	SMTPGATE_A_BAN_TIMEOUT,
	SMTPGATE_A_BAN_REASON,
	SMTPGATE_A_BAN_CREATED,
	SMTPGATE_A_BAN_DROPS,
	SMTPGATE_A_BAN_PAD,
	__SMTPGATE_A_BAN_MAX
};

#define SMTPGATE_A_BAN_MAX (__SMTPGATE_A_BAN_MAX - 1)

enum smtpgate_stats_attr {
	SMTPGATE_A_STATS_UNSPEC,
	SMTPGATE_A_STATS_PACKETS,
	SMTPGATE_A_STATS_HOSTS,
	SMTPGATE_A_STATS_FLAGGED,
	SMTPGATE_A_STATS_BANS,
	SMTPGATE_A_STATS_HOST_EVICTIONS,
	SMTPGATE_A_STATS_HOST_CAP_MISSES,
	SMTPGATE_A_STATS_BAN_CAP_REJECTS,
	SMTPGATE_A_STATS_EVENT_LOSSES,
	SMTPGATE_A_STATS_HOST_BYTES,
	SMTPGATE_A_STATS_BAN_BYTES,
	SMTPGATE_A_STATS_PAD,
	SMTPGATE_A_STATS_INSTANCE,
	SMTPGATE_A_STATS_FLUSHES,
	SMTPGATE_A_STATS_HOST_AGGREGATES,
	__SMTPGATE_A_STATS_MAX
};

#define SMTPGATE_A_STATS_MAX (__SMTPGATE_A_STATS_MAX - 1)

/* Inside SMTPGATE_A_STATS_PACKETS. */
#define SMTPGATE_A_STATS_ENTRY		1

enum smtpgate_stats_entry_attr {
	SMTPGATE_A_STATS_ENTRY_UNSPEC,
	SMTPGATE_A_STATS_CLASS,
	SMTPGATE_A_STATS_VERDICT,
	SMTPGATE_A_STATS_COUNT,
	SMTPGATE_A_STATS_ENTRY_PAD,
	__SMTPGATE_A_STATS_ENTRY_MAX
};

#define SMTPGATE_A_STATS_ENTRY_MAX (__SMTPGATE_A_STATS_ENTRY_MAX - 1)

#endif /* _UAPI_LINUX_SMTPGATE_H */
