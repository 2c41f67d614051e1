/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * The SMTPGATE iptables/ip6tables target, shared by the kernel (kmod/xt.c,
 * in smtpgate.ko) and the extension (libxt_SMTPGATE.so).
 *
 * The rule selects the hosts to police (-s, -i, ...); the target classifies
 * the packet with smtpgate's classifier, records SMTP in host tracking and
 * applies its action.  What the target takes from the namespace's smtpgate
 * policy: the exempt list, the walled garden, the limits that flag hosts,
 * and the bans.  Packets from banned hosts are dropped whatever the action
 * (SMTP for a ban of scope "smtp", everything else outside the walled
 * garden for scope "all").  Packets that are not SMTP, and SMTP from exempt
 * hosts, continue to the next rule.
 *
 *   --action drop       drop SMTP
 *   --action log        log it ("smtpgate: <class> ") and continue
 *   --action droplog    log it, then drop
 *   --action redirect   nat table, PREROUTING only: send new plaintext
 *                       SMTP connections (not 465) to --submission; SMTP
 *                       that cannot be redirected (465, tunnels) is dropped
 *   --action classify   only record it in host tracking and continue
 *   --submission ADDR[:PORT]   for redirect; PORT defaults to 587
 *   --ports P[,P...]    watched TCP ports instead of the policy's
 */
#ifndef _UAPI_XT_SMTPGATE_H
#define _UAPI_XT_SMTPGATE_H

#include <linux/types.h>
#include <linux/netfilter.h>

#define XT_SMTPGATE_MAX_PORTS		16

/* xt_smtpgate_tginfo.action: these, or enum smtpgate_action 1-4 */
#define XT_SMTPGATE_ACTION_CLASSIFY	16

/* xt_smtpgate_tginfo.flags */
#define XT_SMTPGATE_F_SUBMISSION	0x1	/* submission is set */
#define XT_SMTPGATE_F_PORTS		0x2	/* ports[] replace the policy's */
#define XT_SMTPGATE_F_ALL		(XT_SMTPGATE_F_SUBMISSION | \
					 XT_SMTPGATE_F_PORTS)

struct xt_smtpgate_tginfo {
	union nf_inet_addr submission;
	__u16 ports[XT_SMTPGATE_MAX_PORTS];	/* host byte order */
	__u16 submission_port;			/* host byte order; 0: 587 */
	__u8 action;
	__u8 flags;
	__u8 n_ports;
	__u8 pad[3];

	/* Kernel only: the watched ports as a bitmap, when F_PORTS. */
	void *priv __attribute__((aligned(8)));
};

#endif /* _UAPI_XT_SMTPGATE_H */
