// SPDX-License-Identifier: GPL-2.0
/*
 * Packet builder; see pkt.h.  Headers are written byte by byte in network
 * order rather than through struct iphdr and friends, so the packets the
 * tests feed the classifier do not share its view of the wire format.
 */
#include <errno.h>
#include <string.h>
#include "pkt.h"

#define IP6_HLEN	40
#define TCP_HLEN	20
#define UDP_HLEN	8
#define TEREDO_ORIGIN_LEN 8
#define NH_NONE		59

static void put16(uint8_t *b, uint16_t v)
{
	b[0] = v >> 8;
	b[1] = v;
}

static void put32(uint8_t *b, uint32_t v)
{
	put16(b, v >> 16);
	put16(b + 2, v);
}

static uint16_t get16(const uint8_t *b)
{
	return b[0] << 8 | b[1];
}

void pkt_init(struct pkt *p)
{
	p->len = 0;
	p->err = 0;
	p->nlayers = 0;
}

/* Reserves @hlen zeroed bytes for a new layer; NULL (and p->err) if full. */
static uint8_t *push(struct pkt *p, enum pkt_kind kind, uint8_t proto,
		     unsigned int fix, unsigned int hlen)
{
	struct pkt_layer *l;

	if (p->err)
		return NULL;
	if (p->nlayers == PKT_MAX_LAYERS || hlen > PKT_MAX - p->len) {
		p->err = -ENOSPC;
		return NULL;
	}
	l = &p->layer[p->nlayers++];
	l->kind = kind;
	l->proto = proto;
	l->fix = fix;
	l->off = p->len;
	l->hlen = hlen;
	memset(p->buf + p->len, 0, hlen);
	p->len += hlen;
	return p->buf + l->off;
}

static int invalid(struct pkt *p)
{
	if (!p->err)
		p->err = -EINVAL;
	return p->err;
}

/* Options padded with End of Option List (0) to a multiple of 4. */
static unsigned int padded(unsigned int optlen)
{
	return (optlen + 3) & ~3U;
}

int pkt_ip4(struct pkt *p, const struct pkt_ip4 *h)
{
	unsigned int hlen = 20 + padded(h->optlen);
	uint8_t *b;

	if (h->optlen > 40)
		return invalid(p);
	b = push(p, PKT_IP4, IPPROTO_IPIP, h->fix, hlen);
	if (!b)
		return p->err;
	b[0] = (h->fix & PKT_FIX_VER ? h->version : 4) << 4 |
	       ((h->fix & PKT_FIX_IHL ? h->ihl : hlen / 4) & 0xf);
	b[1] = h->tos;
	put16(b + 2, h->tot_len);
	put16(b + 4, h->id);
	put16(b + 6, h->frag);
	b[8] = h->ttl ? h->ttl : 64;
	b[9] = h->proto;
	put16(b + 10, h->csum);
	memcpy(b + 12, &h->saddr, 4);
	memcpy(b + 16, &h->daddr, 4);
	if (h->optlen)
		memcpy(b + 20, h->opts, h->optlen);
	return 0;
}

int pkt_ip6(struct pkt *p, const struct pkt_ip6 *h)
{
	uint8_t *b = push(p, PKT_IP6, IPPROTO_IPV6, h->fix, IP6_HLEN);
	uint8_t version = h->fix & PKT_FIX_VER ? h->version : 6;

	if (!b)
		return p->err;
	put32(b, (uint32_t)version << 28 | (uint32_t)h->tclass << 20 |
		 (h->flowlabel & 0xfffff));
	put16(b + 4, h->plen);
	b[6] = h->nexthdr;
	b[7] = h->hlim ? h->hlim : 64;
	memcpy(b + 8, &h->saddr, 16);
	memcpy(b + 24, &h->daddr, 16);
	return 0;
}

/*
 * Fills an options header's body with options a receiver skips: Linux
 * refuses more than 7 bytes of padding in a row (RFC 4942 2.1.9.5), so
 * long headers carry experimental options (RFC 4727, type 0x1e: skip if
 * unknown) of up to 257 bytes, and padding only for the rest.
 */
static void fill_options(uint8_t *b, unsigned int len)
{
	unsigned int t;

	while (len >= 8) {
		t = len < 257 ? len : 257;
		b[0] = 0x1e;
		b[1] = t - 2;
		b += t;
		len -= t;
	}
	if (len == 1) {
		b[0] = 0;		/* Pad1 */
	} else if (len) {
		b[0] = 1;		/* PadN */
		b[1] = len - 2;
	}
}

/*
 * Hop-by-hop, routing, destination options or AH, @len bytes long.  The
 * routing header is type 0 with no segments left, which RFC 8200 4.4 says
 * to skip; the AH carries a zero SPI and ICV (a receiver without an SA
 * drops it, the gateway must still classify it).
 */
int pkt_ext6(struct pkt *p, uint8_t type, unsigned int len)
{
	uint8_t *b;

	switch (type) {
	case IPPROTO_HOPOPTS:
	case IPPROTO_ROUTING:
	case IPPROTO_DSTOPTS:
		if (len < 8 || len > 2048 || len % 8)
			return invalid(p);
		break;
	case IPPROTO_AH:
		if (len < 12 || len > 1028 || len % 4)
			return invalid(p);
		break;
	default:
		return invalid(p);
	}
	b = push(p, PKT_EXT6, type, 0, len);
	if (!b)
		return p->err;
	if (type == IPPROTO_AH) {
		b[1] = len / 4 - 2;
		return 0;
	}
	b[1] = len / 8 - 1;
	if (type != IPPROTO_ROUTING)
		fill_options(b + 2, len - 2);
	return 0;
}

/* @offset in 8-byte units, as on the wire. */
int pkt_frag6(struct pkt *p, uint16_t offset, bool more, uint32_t id)
{
	uint8_t *b = push(p, PKT_EXT6, IPPROTO_FRAGMENT, 0, 8);

	if (!b)
		return p->err;
	put16(b + 2, (offset & 0x1fff) << 3 | (more ? PKT_IP6_MF : 0));
	put32(b + 4, id);
	return 0;
}

int pkt_tcp(struct pkt *p, const struct pkt_tcp *h)
{
	unsigned int hlen = TCP_HLEN + padded(h->optlen);
	uint8_t *b;

	if (h->optlen > 40)
		return invalid(p);
	b = push(p, PKT_TCP, IPPROTO_TCP, h->fix, hlen);
	if (!b)
		return p->err;
	put16(b, h->sport);
	put16(b + 2, h->dport);
	put32(b + 4, h->seq);
	put32(b + 8, h->ack);
	b[12] = (h->fix & PKT_FIX_DOFF ? h->doff : hlen / 4) << 4;
	b[13] = h->flags;
	put16(b + 14, h->win ? h->win : 64240);
	put16(b + 16, h->csum);
	if (h->optlen)
		memcpy(b + 20, h->opts, h->optlen);
	return 0;
}

int pkt_udp(struct pkt *p, const struct pkt_udp *h)
{
	uint8_t *b = push(p, PKT_UDP, IPPROTO_UDP, h->fix, UDP_HLEN);

	if (!b)
		return p->err;
	put16(b, h->sport);
	put16(b + 2, h->dport);
	put16(b + 4, h->len);
	put16(b + 6, h->csum);
	return 0;
}

/*
 * RFC 4380 5.1.1 authentication header: indicator 0x0001, ID and AU
 * lengths, the client identifier and authentication value (filled with a
 * recognisable pattern), an 8-byte nonce and the confirmation byte.
 */
int pkt_teredo_auth(struct pkt *p, uint8_t id_len, uint8_t au_len,
		    const uint8_t nonce[8], uint8_t confirm)
{
	unsigned int hlen = 4 + id_len + au_len + 8 + 1;
	uint8_t *b = push(p, PKT_TEREDO_AUTH, 0, 0, hlen);

	if (!b)
		return p->err;
	put16(b, 0x0001);
	b[2] = id_len;
	b[3] = au_len;
	memset(b + 4, 0x1d, id_len);
	memset(b + 4 + id_len, 0xa0, au_len);
	if (nonce)
		memcpy(b + 4 + id_len + au_len, nonce, 8);
	b[hlen - 1] = confirm;
	return 0;
}

/* Origin indication: indicator 0x0000, then the port and address, each
 * obfuscated by inverting every bit (RFC 4380 5.1.1).
 */
int pkt_teredo_origin(struct pkt *p, uint16_t port, struct in_addr addr)
{
	uint8_t *b = push(p, PKT_TEREDO_ORIGIN, 0, 0, TEREDO_ORIGIN_LEN);
	unsigned int i;

	if (!b)
		return p->err;
	put16(b + 2, ~port);
	memcpy(b + 4, &addr, 4);
	for (i = 4; i < 8; i++)
		b[i] = ~b[i];
	return 0;
}

int pkt_data(struct pkt *p, const void *data, unsigned int len)
{
	uint8_t *b = push(p, PKT_DATA, NH_NONE, 0, len);

	if (!b)
		return p->err;
	memcpy(b, data, len);
	return 0;
}

/* @len bytes of a pattern that reads as text in a hex dump. */
int pkt_fill(struct pkt *p, unsigned int len)
{
	uint8_t *b = push(p, PKT_DATA, NH_NONE, 0, len);
	unsigned int i;

	if (!b)
		return p->err;
	for (i = 0; i < len; i++)
		b[i] = 'a' + i % 26;
	return 0;
}

/* The Internet checksum of @data folded onto the partial sum @sum. */
uint16_t pkt_csum(const void *data, unsigned int len, uint32_t sum)
{
	const uint8_t *b = data;
	uint64_t acc = sum;
	unsigned int i;

	for (i = 0; i + 1 < len; i += 2)
		acc += get16(b + i);
	if (len & 1)
		acc += b[len - 1] << 8;
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return ~acc & 0xffff;
}

/* The layer a next-header field announces: the following one, if any. */
static uint8_t next_proto(const struct pkt *p, unsigned int i)
{
	return i + 1 < p->nlayers ? p->layer[i + 1].proto : NH_NONE;
}

/* End of the layer's extent: everything after it is its payload. */
static void fill_lengths(struct pkt *p, unsigned int i)
{
	struct pkt_layer *l = &p->layer[i];
	uint8_t *b = p->buf + l->off;
	unsigned int extent = p->len - l->off;

	switch (l->kind) {
	case PKT_IP4:
		if (!(l->fix & PKT_FIX_PROTO))
			b[9] = next_proto(p, i);
		if (!(l->fix & PKT_FIX_LEN))
			put16(b + 2, extent);
		break;
	case PKT_IP6:
		if (!(l->fix & PKT_FIX_PROTO))
			b[6] = next_proto(p, i);
		if (!(l->fix & PKT_FIX_LEN))
			put16(b + 4, extent - IP6_HLEN);
		break;
	case PKT_EXT6:
		if (!(l->fix & PKT_FIX_PROTO))
			b[0] = next_proto(p, i);
		break;
	case PKT_UDP:
		if (!(l->fix & PKT_FIX_LEN))
			put16(b + 4, extent);
		break;
	}
}

/* Partial checksum of the pseudo-header of the nearest enclosing IP layer. */
static uint32_t pseudo_sum(const struct pkt *p, unsigned int i,
			   uint8_t proto, unsigned int len)
{
	const uint8_t *b = NULL;
	uint32_t sum = 0;
	unsigned int k;
	int ip = -1;

	while (i-- > 0) {
		if (p->layer[i].kind == PKT_IP4 || p->layer[i].kind == PKT_IP6) {
			ip = i;
			break;
		}
	}
	if (ip < 0)
		return proto + len;
	b = p->buf + p->layer[ip].off;
	if (p->layer[ip].kind == PKT_IP4) {
		for (k = 12; k < 20; k += 2)
			sum += get16(b + k);
	} else {
		for (k = 8; k < 40; k += 2)
			sum += get16(b + k);
	}
	return sum + proto + (len >> 16) + (len & 0xffff);
}

static void fill_csum(struct pkt *p, unsigned int i)
{
	struct pkt_layer *l = &p->layer[i];
	uint8_t *b = p->buf + l->off;
	unsigned int extent = p->len - l->off;
	uint16_t sum;

	if (l->fix & PKT_FIX_CSUM)
		return;
	switch (l->kind) {
	case PKT_IP4:
		put16(b + 10, 0);
		put16(b + 10, pkt_csum(b, l->hlen, 0));
		break;
	case PKT_TCP:
		put16(b + 16, 0);
		put16(b + 16, pkt_csum(b, extent,
				       pseudo_sum(p, i, IPPROTO_TCP, extent)));
		break;
	case PKT_UDP:
		put16(b + 6, 0);
		sum = pkt_csum(b, extent, pseudo_sum(p, i, IPPROTO_UDP, extent));
		put16(b + 6, sum ? sum : 0xffff);
		break;
	}
}

/**
 * pkt_finish() - fill in the fields that depend on later layers
 * @p: the packet
 *
 * Lengths first (an outer length covers everything after its header),
 * then checksums from the innermost layer out.
 *
 * Return: the packet length, or the first error of the build.
 */
int pkt_finish(struct pkt *p)
{
	unsigned int i;

	if (p->err)
		return p->err;
	for (i = 0; i < p->nlayers; i++)
		fill_lengths(p, i);
	for (i = p->nlayers; i-- > 0;)
		fill_csum(p, i);
	return p->len;
}

/**
 * pkt_fragment() - cut one fragment out of a finished packet
 * @whole:	the finished packet
 * @layer:	index of the IPv4 layer or the IPv6 fragment header to split at
 * @off:	offset into the fragmentable part (after that header), a
 *		multiple of 8
 * @len:	bytes of the fragmentable part to carry
 * @more:	set the more-fragments flag
 * @frag:	receives the fragment
 *
 * The headers up to @layer are copied, and any enclosing length and
 * checksum (a tunnel around a fragmented inner packet) refitted; the
 * transport checksum inside stays the one of the whole packet, as it must.
 *
 * Return: the fragment's length or a negative errno.
 */
int pkt_fragment(const struct pkt *whole, unsigned int layer,
		 unsigned int off, unsigned int len, bool more,
		 struct pkt *frag)
{
	const struct pkt_layer *l = &whole->layer[layer];
	unsigned int start, i;
	uint8_t *b;
	uint16_t v;

	if (whole->err || layer >= whole->nlayers || off % 8)
		return -EINVAL;
	if (l->kind != PKT_IP4 &&
	    !(l->kind == PKT_EXT6 && l->proto == IPPROTO_FRAGMENT))
		return -EINVAL;
	start = l->off + l->hlen;
	if (off > whole->len - start || len > whole->len - start - off)
		return -EINVAL;

	pkt_init(frag);
	memcpy(frag->buf, whole->buf, start);
	memcpy(frag->buf + start, whole->buf + start + off, len);
	frag->len = start + len;
	frag->nlayers = layer + 1;
	for (i = 0; i <= layer; i++) {
		frag->layer[i] = whole->layer[i];
		frag->layer[i].fix |= PKT_FIX_PROTO;
	}

	b = frag->buf + l->off;
	if (l->kind == PKT_IP4) {
		v = get16(b + 6) & ~(PKT_IP4_MF | PKT_IP4_OFFSET);
		put16(b + 6, v | (more ? PKT_IP4_MF : 0) | off / 8);
	} else {
		v = (off / 8) << 3 | (more ? PKT_IP6_MF : 0);
		put16(b + 2, v);
	}
	return pkt_finish(frag);
}

/**
 * pkt_truncate() - cut a finished packet short, with consistent lengths
 * @p:		the packet
 * @len:	new length
 *
 * Layers that no longer fit whole are forgotten (their bytes stay as far
 * as they go); the ones that do get their lengths and checksums refitted,
 * so the packet claims to be exactly what is left of it: the kind of
 * packet a parser must stop reading in the middle of.
 *
 * Return: the new length or a negative errno.
 */
int pkt_truncate(struct pkt *p, unsigned int len)
{
	unsigned int i;

	if (p->err || len > p->len)
		return -EINVAL;
	for (i = 0; i < p->nlayers; i++) {
		struct pkt_layer *l = &p->layer[i];

		if (l->off >= len)
			break;
		if (l->off + l->hlen > len) {
			if (l->kind != PKT_DATA)
				break;
			l->hlen = len - l->off;
		}
		l->fix |= PKT_FIX_PROTO;
	}
	p->nlayers = i;
	p->len = len;
	return pkt_finish(p);
}

/* Index of the @nth (from 0) layer of @kind, or -1. */
int pkt_find(const struct pkt *p, enum pkt_kind kind, unsigned int nth)
{
	unsigned int i;

	for (i = 0; i < p->nlayers; i++)
		if (p->layer[i].kind == kind && !nth--)
			return i;
	return -1;
}
