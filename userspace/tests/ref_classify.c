// SPDX-License-Identifier: GPL-2.0
/*
 * The reference classifier; see ref_classify.h.  Clarity over speed: every
 * step names the byte offsets it reads and checks them against the bytes
 * that remain, a plain (pointer, length) pair narrowed as it goes.
 */
#include <string.h>
#include <netinet/in.h>		/* before linux/netfilter.h: libc-compat */
#include <linux/netfilter.h>
#include <linux/smtpgate.h>
#include "ref_classify.h"

struct region {
	const uint8_t *p;
	size_t len;
};

static uint16_t be16(const uint8_t *p)
{
	return p[0] << 8 | p[1];
}

/* [off, len) of @r, or an empty region flagged bad if it does not fit. */
static bool sub(struct region r, size_t off, struct region *out)
{
	if (off > r.len)
		return false;
	out->p = r.p + off;
	out->len = r.len - off;
	return true;
}

static bool is_ext(uint8_t nh)
{
	/* hop-by-hop 0, routing 43, fragment 44, AH 51, dst opts 60 */
	return nh == 0 || nh == 43 || nh == 44 || nh == 51 || nh == 60;
}

/*
 * RFC 8200: skip at most REF_MAX_EXTHDRS extension headers.  A fragment
 * header with a nonzero offset, No Next Header (59), or a header running
 * past @r ends the walk without an upper-layer header.
 */
static bool upper_layer(struct region r, uint8_t nh, struct region *up,
			uint8_t *proto)
{
	unsigned int walked = 0;
	size_t hl;

	while (is_ext(nh)) {
		if (walked++ == REF_MAX_EXTHDRS || r.len < 8)
			return false;
		if (nh == 44) {
			if (be16(r.p + 2) >> 3)
				return false;
			hl = 8;
		} else if (nh == 51) {
			hl = 4 * (r.p[1] + 2);
		} else {
			hl = 8 * (r.p[1] + 1);
		}
		nh = r.p[0];
		if (!sub(r, hl, &r))
			return false;
	}
	if (nh == 59)
		return false;
	*up = r;
	*proto = nh;
	return true;
}

/* The first four bytes of a TCP header are all the decision needs. */
static bool tcp_smtp(struct region r, bool (*watched)(uint16_t, void *),
		     void *arg, struct ref_flow *f)
{
	if (r.len < 4 || !watched(be16(r.p + 2), arg))
		return false;
	f->sport = be16(r.p);
	f->dport = be16(r.p + 2);
	f->tcp_flags = r.len >= 14 ? r.p[13] : 0;
	return true;
}

static bool teredo_prefix(const uint8_t *a)
{
	return a[0] == 0x20 && a[1] == 0x01 && a[2] == 0 && a[3] == 0;
}

/* An IPv6 packet that is exactly the whole of @r. */
static bool inner_smtp(struct region r, bool need_prefix,
		       bool (*watched)(uint16_t, void *), void *arg,
		       struct ref_flow *f)
{
	struct region up;
	uint8_t proto;

	if (r.len < 40 || r.p[0] >> 4 != 6 || be16(r.p + 4) != r.len - 40)
		return false;
	if (need_prefix && !teredo_prefix(r.p + 8) && !teredo_prefix(r.p + 24))
		return false;
	if (!upper_layer((struct region){ r.p + 40, r.len - 40 }, r.p[6],
			 &up, &proto) || proto != 6 ||
	    !tcp_smtp(up, watched, arg, f))
		return false;
	memcpy(f->inner_saddr, r.p + 8, 16);
	memcpy(f->inner_daddr, r.p + 24, 16);
	return true;
}

/*
 * RFC 4380 5.1.1: UDP, then optionally the authentication header
 * (0x0001, ID-len, AU-len, ID, AU, nonce[8], confirmation), then optionally
 * the origin indication (0x0000, port, address), then IPv6.
 */
static bool teredo_smtp(struct region udp, bool (*watched)(uint16_t, void *),
			void *arg, struct ref_flow *f)
{
	struct region r;
	size_t ulen;
	bool port3544;

	if (udp.len < 8)
		return false;
	ulen = be16(udp.p + 4);
	if (ulen < 8 || ulen > udp.len)
		return false;
	port3544 = be16(udp.p) == 3544 || be16(udp.p + 2) == 3544;
	r.p = udp.p + 8;
	r.len = ulen - 8;

	if (r.len >= 4 && be16(r.p) == 1) {
		f->teredo |= REF_TEREDO_AUTH;
		if (!sub(r, 13 + r.p[2] + r.p[3], &r))
			return false;
	}
	if (r.len >= 8 && be16(r.p) == 0) {
		f->teredo |= REF_TEREDO_ORIGIN;
		r.p += 8;
		r.len -= 8;
	}
	return inner_smtp(r, !port3544, watched, arg, f);
}

static uint8_t classify4(struct region r, bool (*watched)(uint16_t, void *),
			 void *arg, struct ref_flow *f)
{
	size_t ihl, tot;
	struct region pl;

	if (r.len < 20 || r.p[0] >> 4 != 4)
		return SMTPGATE_CLASS_OTHER;
	ihl = 4 * (r.p[0] & 0xf);
	if (ihl < 20)
		return SMTPGATE_CLASS_OTHER;
	f->family = NFPROTO_IPV4;
	memcpy(f->saddr, r.p + 12, 4);
	memcpy(f->daddr, r.p + 16, 4);
	tot = be16(r.p + 2);
	/* Later fragments (offset != 0) carry no transport header. */
	if ((be16(r.p + 6) & 0x1fff) || tot < ihl || tot > r.len)
		return SMTPGATE_CLASS_OTHER;
	pl.p = r.p + ihl;
	pl.len = tot - ihl;

	switch (r.p[9]) {
	case 6:
		if (tcp_smtp(pl, watched, arg, f))
			return SMTPGATE_CLASS_SMTP4;
		break;
	case 17:
		if (teredo_smtp(pl, watched, arg, f))
			return SMTPGATE_CLASS_TEREDO;
		break;
	case 41:
		if (inner_smtp(pl, false, watched, arg, f))
			return SMTPGATE_CLASS_SIXIN4;
		break;
	}
	return SMTPGATE_CLASS_OTHER;
}

static uint8_t classify6(struct region r, bool (*watched)(uint16_t, void *),
			 void *arg, struct ref_flow *f)
{
	struct region up;
	size_t plen;
	uint8_t proto;

	if (r.len < 40 || r.p[0] >> 4 != 6)
		return SMTPGATE_CLASS_OTHER;
	f->family = NFPROTO_IPV6;
	memcpy(f->saddr, r.p + 8, 16);
	memcpy(f->daddr, r.p + 24, 16);
	plen = be16(r.p + 4);
	/* 0 would be a jumbogram (RFC 2675): never SMTP here. */
	if (!plen || 40 + plen > r.len)
		return SMTPGATE_CLASS_OTHER;
	if (upper_layer((struct region){ r.p + 40, plen }, r.p[6], &up,
			&proto) && proto == 6 && tcp_smtp(up, watched, arg, f))
		return SMTPGATE_CLASS_SMTP6;
	return SMTPGATE_CLASS_OTHER;
}

uint8_t ref_classify(const uint8_t *pkt, size_t len, int ipv6,
		     bool (*watched)(uint16_t port, void *arg), void *arg,
		     struct ref_flow *flow)
{
	struct region r = { pkt, len };

	memset(flow, 0, sizeof(*flow));
	if (ipv6)
		flow->class = classify6(r, watched, arg, flow);
	else
		flow->class = classify4(r, watched, arg, flow);
	if (flow->class != SMTPGATE_CLASS_TEREDO)
		flow->teredo = 0;
	return flow->class;
}
