// SPDX-License-Identifier: GPL-2.0
/*
 * Packet classification: which packets are SMTP, over what.
 *
 * Every read goes through skb_header_pointer() and is checked against the
 * end of the enclosing header's payload, so truncated, padded, non-linear
 * and malicious packets are all read the same way.  Anything that cannot be
 * parsed with certainty is SMTPGATE_CLASS_OTHER: the gateway forwards it as
 * it would without smtpgate, exactly like the kernel's own parsers do.
 */
#include "classify.h"

#ifdef __KERNEL__
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#else
#include <arpa/inet.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#endif

#define SG_IP_OFFSET		0x1FFF	/* IPv4 fragment offset mask */
#define SG_IP6_OFFSET		0xFFF8	/* IPv6 fragment offset mask */
#define SG_TCP_FLAGS_OFF	13	/* CWR ECE URG ACK PSH RST SYN FIN */

/* RFC 4380 5.1.1: the two headers that may precede the inner IPv6 packet. */
#define SG_TEREDO_IND_ORIGIN	0x0000
#define SG_TEREDO_IND_AUTH	0x0001
#define SG_TEREDO_ORIGIN_LEN	8
/* Indicator, ID-len, AU-len; then ID, AU, nonce (8), confirmation (1). */
#define SG_TEREDO_AUTH_FIXED	(4 + 8 + 1)

struct sg_frag_hdr {
	u8 nexthdr;
	u8 reserved;
	__be16 frag_off;
	__be32 identification;
};

/* Bytes, not a __be16: after an odd-length auth header nothing is aligned. */
struct sg_teredo_auth {
	u8 indicator[2];
	u8 id_len;
	u8 au_len;
};

static const char *const sg_class_names[__SMTPGATE_CLASS_MAX] = {
	[SMTPGATE_CLASS_OTHER] = "other",
	[SMTPGATE_CLASS_SMTP4] = "smtp4",
	[SMTPGATE_CLASS_SMTP6] = "smtp6",
	[SMTPGATE_CLASS_TEREDO] = "teredo",
	[SMTPGATE_CLASS_SIXIN4] = "sixin4",
};

const char *sg_class_name(u8 class)
{
	return class < __SMTPGATE_CLASS_MAX ? sg_class_names[class] : "?";
}

/*
 * Headers inside a tunnel may sit at any offset (a Teredo authentication
 * header has any length): where the packet's own bytes are misaligned for
 * the header's 16- and 32-bit fields, read a copy instead.
 */
static __always_inline const void *sg_header(const struct sk_buff *skb,
					     unsigned int off, unsigned int len,
					     void *buf)
{
	const void *p = skb_header_pointer(skb, off, len, buf);

	if (p && ((unsigned long)p & 3) && p != buf) {
		memcpy(buf, p, len);
		return buf;
	}
	return p;
}

/*
 * Reads the TCP ports at @off.  The ports are what decides, and they are
 * all a first IPv4 fragment is guaranteed to hold (8 bytes of payload), so
 * a first fragment that splits the TCP header is still recognised; the
 * flags (which tell connection attempts apart) are read when present.
 */
static __always_inline bool sg_tcp_watched(const struct sk_buff *skb,
					   unsigned int off, unsigned int end,
					   const struct sg_ports *ports,
					   struct sg_flow *flow)
{
	__be16 _pp[2];
	const __be16 *pp;

	if (end < off + sizeof(_pp))
		return false;
	pp = sg_header(skb, off, sizeof(_pp), _pp);
	if (!pp || !sg_port_watched(ports, ntohs(pp[1])))
		return false;
	flow->sport = pp[0];
	flow->dport = pp[1];
	if (end >= off + SG_TCP_FLAGS_OFF + 1) {
		u8 _fl;
		const u8 *fl = skb_header_pointer(skb, off + SG_TCP_FLAGS_OFF,
						  1, &_fl);

		if (fl)
			flow->tcp_flags = *fl;
	}
	return true;
}

/*
 * Walks IPv6 extension headers from @off (the first one is @nexthdr) up to
 * @end.  Returns the offset of the upper-layer header and sets @proto, or
 * returns 0 when there is none we may look at: a non-first fragment (its
 * bytes are not a transport header), No Next Header, a header running past
 * @end, or a chain longer than SG_MAX_EXTHDRS (the walk is bounded).
 */
static unsigned int sg_ipv6_transport(const struct sk_buff *skb,
				      unsigned int off, unsigned int end,
				      u8 nexthdr, u8 *proto)
{
	unsigned int i, hlen;

	for (i = 0; i <= SG_MAX_EXTHDRS; i++) {
		struct ipv6_opt_hdr _oh;
		const struct ipv6_opt_hdr *oh;
		struct sg_frag_hdr _fh;
		const struct sg_frag_hdr *fh;

		switch (nexthdr) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
		case IPPROTO_AH:
			if (end < off + sizeof(_oh))
				return 0;
			oh = skb_header_pointer(skb, off, sizeof(_oh), &_oh);
			if (!oh)
				return 0;
			if (nexthdr == IPPROTO_AH)
				hlen = (oh->hdrlen + 2) << 2;
			else
				hlen = (oh->hdrlen + 1) << 3;
			nexthdr = oh->nexthdr;
			break;
		case IPPROTO_FRAGMENT:
			if (end < off + sizeof(_fh))
				return 0;
			fh = sg_header(skb, off, sizeof(_fh), &_fh);
			if (!fh || (fh->frag_off & htons(SG_IP6_OFFSET)))
				return 0;
			hlen = sizeof(_fh);
			nexthdr = fh->nexthdr;
			break;
		case IPPROTO_NONE:
			return 0;
		default:
			*proto = nexthdr;
			return off;
		}
		off += hlen;
		/* Only an upper-layer header may follow the last one. */
		if (off > end || i == SG_MAX_EXTHDRS)
			return 0;
	}
	return 0;
}

static bool sg_in_teredo_prefix(const struct in6_addr *a)
{
	/* 2001::/32, the Teredo service prefix */
	return a->s6_addr[0] == 0x20 && a->s6_addr[1] == 0x01 &&
	       a->s6_addr[2] == 0x00 && a->s6_addr[3] == 0x00;
}

/*
 * An IPv6 packet carried as the whole of [@off, @end) inside a tunnel: is it
 * SMTP?  The payload length must fill the carrier exactly; a mismatch means
 * this is not a tunnelled IPv6 packet at all.
 */
static bool sg_inner_ipv6_smtp(const struct sk_buff *skb, unsigned int off,
			       unsigned int end, const struct sg_ports *ports,
			       bool need_teredo_prefix, struct sg_flow *flow)
{
	struct ipv6hdr _ip6h;
	const struct ipv6hdr *ip6h;
	unsigned int thoff;
	u8 proto;

	if (end < off + sizeof(_ip6h))
		return false;
	ip6h = sg_header(skb, off, sizeof(_ip6h), &_ip6h);
	if (!ip6h || ip6h->version != 6 ||
	    ntohs(ip6h->payload_len) != end - off - sizeof(_ip6h))
		return false;
	if (need_teredo_prefix && !sg_in_teredo_prefix(&ip6h->saddr) &&
	    !sg_in_teredo_prefix(&ip6h->daddr))
		return false;

	thoff = sg_ipv6_transport(skb, off + sizeof(_ip6h), end,
				  ip6h->nexthdr, &proto);
	if (!thoff || proto != IPPROTO_TCP ||
	    !sg_tcp_watched(skb, thoff, end, ports, flow))
		return false;

	flow->inner_saddr.in6 = ip6h->saddr;
	flow->inner_daddr.in6 = ip6h->daddr;
	return true;
}

/*
 * Teredo (RFC 4380 5.1.1) on any UDP port: an optional authentication
 * header, then an optional origin indication, then IPv6.  Any other order
 * or a repeated header is not Teredo.  Without port 3544 on either side,
 * one of the inner addresses must be in 2001::/32, or any UDP payload that
 * happens to look like IPv6 would count.
 */
static bool sg_teredo_smtp(const struct sk_buff *skb, unsigned int off,
			   unsigned int end, const struct sg_ports *ports,
			   struct sg_flow *flow)
{
	struct udphdr _uh;
	const struct udphdr *uh;
	struct sg_teredo_auth _ah;
	const struct sg_teredo_auth *ah;
	unsigned int ulen;
	bool port3544;

	if (end < off + sizeof(_uh))
		return false;
	uh = skb_header_pointer(skb, off, sizeof(_uh), &_uh);
	if (!uh)
		return false;
	ulen = ntohs(uh->len);
	if (ulen < sizeof(_uh) || ulen > end - off)
		return false;
	port3544 = uh->source == htons(SG_TEREDO_PORT) ||
		   uh->dest == htons(SG_TEREDO_PORT);
	end = off + ulen;
	off += sizeof(_uh);

	/* The indicator and the auth lengths share the first four bytes. */
	if (end < off + sizeof(_ah))
		return false;
	ah = skb_header_pointer(skb, off, sizeof(_ah), &_ah);
	if (!ah)
		return false;
	/* Most UDP is not Teredo: it starts with neither header nor IPv6. */
	if (ah->indicator[0] && (ah->indicator[0] >> 4) != 6)
		return false;
	if (ah->indicator[0] == 0 && ah->indicator[1] == SG_TEREDO_IND_AUTH) {
		flow->teredo |= SG_TEREDO_AUTH;
		off += SG_TEREDO_AUTH_FIXED + ah->id_len + ah->au_len;
		if (end < off + sizeof(_ah))
			return false;
		ah = skb_header_pointer(skb, off, sizeof(_ah), &_ah);
		if (!ah)
			return false;
	}
	if (ah->indicator[0] == 0 && ah->indicator[1] == SG_TEREDO_IND_ORIGIN) {
		flow->teredo |= SG_TEREDO_ORIGIN;
		off += SG_TEREDO_ORIGIN_LEN;
	}
	return sg_inner_ipv6_smtp(skb, off, end, ports, !port3544, flow);
}

/* Everything over IPv4 that is not plain TCP: out of the fast path. */
static noinline u8 sg_classify_ipv4_other(const struct sk_buff *skb,
					  u8 protocol, unsigned int thoff,
					  unsigned int end,
					  const struct sg_ports *ports,
					  struct sg_flow *flow)
{
	if (protocol == IPPROTO_UDP) {
		if (sg_teredo_smtp(skb, thoff, end, ports, flow))
			return SMTPGATE_CLASS_TEREDO;
		flow->teredo = 0;
	}
	if (protocol == IPPROTO_IPV6 &&
	    sg_inner_ipv6_smtp(skb, thoff, end, ports, false, flow))
		return SMTPGATE_CLASS_SIXIN4;
	return SMTPGATE_CLASS_OTHER;
}

/* A watched port over IPv4: the rest of the TCP facts, out of line. */
static noinline u8 sg_classify_smtp4(const struct sk_buff *skb,
				     unsigned int thoff, unsigned int end,
				     const struct sg_ports *ports,
				     struct sg_flow *flow)
{
	return sg_tcp_watched(skb, thoff, end, ports, flow) ?
	       SMTPGATE_CLASS_SMTP4 : SMTPGATE_CLASS_OTHER;
}

/*
 * The common case, every forwarded IPv4 packet, is kept to a few dozen
 * instructions: one header read, the port read, one bitmap test.
 */
static __always_inline u8 sg_classify_ipv4(const struct sk_buff *skb,
					   unsigned int nhoff,
					   const struct sg_ports *ports,
					   struct sg_flow *flow)
{
	struct iphdr _iph;
	const struct iphdr *iph;
	unsigned int thoff, end;
	__be16 _pp[2];
	const __be16 *pp;

	iph = skb_header_pointer(skb, nhoff, sizeof(_iph), &_iph);
	if (!iph || iph->version != 4 || iph->ihl < 5)
		return SMTPGATE_CLASS_OTHER;
	flow->family = NFPROTO_IPV4;
	flow->saddr.ip = iph->saddr;
	flow->daddr.ip = iph->daddr;

	/* A later fragment's first bytes are not a transport header. */
	if (iph->frag_off & htons(SG_IP_OFFSET))
		return SMTPGATE_CLASS_OTHER;
	thoff = nhoff + iph->ihl * 4;
	end = nhoff + ntohs(iph->tot_len);
	if (end < thoff || end > skb->len)
		return SMTPGATE_CLASS_OTHER;
	if (iph->protocol != IPPROTO_TCP)
		return sg_classify_ipv4_other(skb, iph->protocol, thoff, end,
					      ports, flow);

	if (end < thoff + sizeof(_pp))
		return SMTPGATE_CLASS_OTHER;
	pp = skb_header_pointer(skb, thoff, sizeof(_pp), _pp);
	if (!pp || !sg_port_watched(ports, ntohs(pp[1])))
		return SMTPGATE_CLASS_OTHER;
	return sg_classify_smtp4(skb, thoff, end, ports, flow);
}

static noinline u8 sg_classify_ipv6(const struct sk_buff *skb,
				    unsigned int nhoff,
				    const struct sg_ports *ports,
				    struct sg_flow *flow)
{
	struct ipv6hdr _ip6h;
	const struct ipv6hdr *ip6h;
	unsigned int thoff, end, plen;
	u8 proto;

	ip6h = skb_header_pointer(skb, nhoff, sizeof(_ip6h), &_ip6h);
	if (!ip6h || ip6h->version != 6)
		return SMTPGATE_CLASS_OTHER;
	flow->family = NFPROTO_IPV6;
	flow->saddr.in6 = ip6h->saddr;
	flow->daddr.in6 = ip6h->daddr;

	/* Payload length 0 is a jumbogram or garbage; neither is SMTP. */
	plen = ntohs(ip6h->payload_len);
	end = nhoff + sizeof(_ip6h) + plen;
	if (!plen || end > skb->len)
		return SMTPGATE_CLASS_OTHER;

	thoff = sg_ipv6_transport(skb, nhoff + sizeof(_ip6h), end,
				  ip6h->nexthdr, &proto);
	if (thoff && proto == IPPROTO_TCP &&
	    sg_tcp_watched(skb, thoff, end, ports, flow))
		return SMTPGATE_CLASS_SMTP6;
	return SMTPGATE_CLASS_OTHER;
}

/**
 * sg_classify() - find out whether a packet is SMTP, and over what
 * @skb:	the packet; @nhoff is the offset of its network header
 * @nhoff:	offset of the IPv4 or IPv6 header in @skb
 * @family:	NFPROTO_IPV4 or NFPROTO_IPV6
 * @ports:	watched TCP destination ports
 * @flow:	filled in as described in struct sg_flow; @flow->family is
 *		@family once the outer header was read
 *
 * Return: the enum smtpgate_class, also stored in @flow->class.
 */
u8 sg_classify(const struct sk_buff *skb, unsigned int nhoff, u8 family,
	       const struct sg_ports *ports, struct sg_flow *flow)
{
	u8 class = SMTPGATE_CLASS_OTHER;

	/*
	 * Every byte, once: the hooks compare and hash whole address unions,
	 * of which an IPv4 address fills 4 bytes.  A few stores, cheaper than
	 * remembering which field each class leaves unset.
	 */
	memset(flow, 0, sizeof(*flow));
	if (family == NFPROTO_IPV4)
		class = sg_classify_ipv4(skb, nhoff, ports, flow);
	else if (family == NFPROTO_IPV6)
		class = sg_classify_ipv6(skb, nhoff, ports, flow);
	flow->class = class;
	return class;
}
