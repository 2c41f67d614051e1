/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Packet classification: pure header parsing, no state.
 *
 * This file and classify.c are compiled into the module and, unchanged,
 * into userspace (tests, fuzzer, benchmarks).  In userspace, kshim.h (in
 * userspace/lib) stands in for struct sk_buff and skb_header_pointer(),
 * with the kernel's semantics, including the copy for data that is not in
 * the linear head.
 */
#ifndef _SMTPGATE_CLASSIFY_H
#define _SMTPGATE_CLASSIFY_H

#ifdef __KERNEL__
#include <linux/skbuff.h>
#include <linux/netfilter.h>
#else
#include "kshim.h"	/* userspace/lib: struct sk_buff and the like */
#endif

#include <linux/smtpgate.h>

#define SG_TEREDO_PORT		3544
/* Extension headers walked before giving up; see sg_ipv6_transport(). */
#define SG_MAX_EXTHDRS		16

/* Watched TCP destination ports, one bit each. */
struct sg_ports {
	u8 map[65536 / 8];
};

static inline bool sg_port_watched(const struct sg_ports *ports, u16 port)
{
	return ports->map[port >> 3] & (1U << (port & 7));
}

static inline void sg_port_set(struct sg_ports *ports, u16 port)
{
	ports->map[port >> 3] |= 1U << (port & 7);
}

/* TCP flags in struct sg_flow, as on the wire. */
#define SG_TCP_SYN		0x02
#define SG_TCP_ACK		0x10

/* What the Teredo parser found before the inner IPv6 header. */
#define SG_TEREDO_AUTH		0x1
#define SG_TEREDO_ORIGIN	0x2

/**
 * struct sg_flow - the result of classifying one packet
 * @family:	NFPROTO_IPV4 or NFPROTO_IPV6, of the outer header; NFPROTO_UNSPEC
 *		when not even the outer header could be read
 * @class:	enum smtpgate_class
 * @teredo:	SG_TEREDO_* flags, for SMTPGATE_CLASS_TEREDO
 * @tcp_flags:	the SMTP segment's TCP flags (SG_TCP_*), 0 when the packet
 *		is too short to hold them (a tiny first fragment)
 * @saddr:	outer source (the host behind the gateway)
 * @daddr:	outer destination
 * @inner_saddr: IPv6 source inside the tunnel, for TEREDO and SIXIN4
 * @inner_daddr: IPv6 destination inside the tunnel
 * @sport:	TCP source port of the SMTP segment (inner for tunnels)
 * @dport:	TCP destination port (inner for tunnels)
 *
 * Only @family and @class are always meaningful; the outer addresses once
 * @family is set, the rest only for the SMTP classes.  Every byte is set
 * all the same: what a class does not use is zero, and an IPv4 address
 * fills the first 4 bytes of its union, the other 12 zero, so whole unions
 * compare and hash alike for one address.
 */
struct sg_flow {
	u8 family;
	u8 class;
	u8 teredo;
	u8 tcp_flags;
	union nf_inet_addr saddr;
	union nf_inet_addr daddr;
	union nf_inet_addr inner_saddr;
	union nf_inet_addr inner_daddr;
	__be16 sport;
	__be16 dport;
};

u8 sg_classify(const struct sk_buff *skb, unsigned int nhoff, u8 family,
	       const struct sg_ports *ports, struct sg_flow *flow);

const char *sg_class_name(u8 class);

#endif /* _SMTPGATE_CLASSIFY_H */
