/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * smtpgate: outbound SMTP enforcement for Linux gateways.
 *
 * This header is the one contract between the kernel module, the daemon
 * (smtpgated) and the CLI (smtpgatectl).
 *
 * Packet classes
 * --------------
 * Every forwarded packet whose source lies in an internal prefix is put in
 * one class:
 *
 *   SMTPGATE_CLASS_OTHER   not SMTP; never touched.
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
 * SMTPGATE_CLASS_SMTP4/SMTP6 get the policy's action, the tunnelled classes
 * get its tunnel action (which cannot be "redirect"):
 *
 *   SMTPGATE_ACTION_DROP      drop silently.
 *   SMTPGATE_ACTION_LOG       log through nf_log and let it pass.
 *   SMTPGATE_ACTION_DROPLOG   log through nf_log, then drop.
 *   SMTPGATE_ACTION_REDIRECT  rewrite the destination to the submission
 *                             server (conntrack NAT) when the connection is
 *                             new; what cannot be redirected is dropped.
 *
 * Log lines carry the prefix "smtpgate: " followed by the class name
 * ("smtp4", "smtp6", "teredo", "sixin4").
 */
#ifndef _UAPI_LINUX_SMTPGATE_H
#define _UAPI_LINUX_SMTPGATE_H

#define SMTPGATE_GENL_NAME		"smtpgate"
#define SMTPGATE_GENL_VERSION		1

#define SMTPGATE_DEFAULT_SUBMISSION_PORT	587

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
	__SMTPGATE_ACTION_MAX
};

#define SMTPGATE_ACTION_MAX (__SMTPGATE_ACTION_MAX - 1)

#endif /* _UAPI_LINUX_SMTPGATE_H */
