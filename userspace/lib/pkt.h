/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Packet builder: composable writers for the headers smtpgate classifies.
 *
 * A packet is built outside in: each pkt_*() call appends one header (a
 * "layer") after the previous one, and pkt_finish() then fills in what
 * depends on the layers that follow: next-header fields, lengths and
 * checksums, innermost first so an outer UDP checksum covers a finished
 * inner TCP segment.  Any of those fields can be fixed by the caller
 * instead (the PKT_FIX_* bits), which is how bogus packets are made.
 *
 * Errors are sticky: a call that does not fit sets p->err and every later
 * call is a no-op, so a sequence of calls is checked once, at pkt_finish().
 */
#ifndef _SG_PKT_H
#define _SG_PKT_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>

#define PKT_MAX		65535	/* an IPv4 total length can say no more */
#define PKT_MAX_LAYERS	64

enum pkt_kind {
	PKT_IP4,
	PKT_IP6,
	PKT_EXT6,		/* any IPv6 extension header */
	PKT_TCP,
	PKT_UDP,
	PKT_TEREDO_AUTH,
	PKT_TEREDO_ORIGIN,
	PKT_DATA,
};

/* Fields the caller sets instead of pkt_finish(). */
#define PKT_FIX_PROTO	0x01	/* IPv4 protocol, IPv6 next header */
#define PKT_FIX_LEN	0x02	/* IPv4 total, IPv6 payload, UDP length */
#define PKT_FIX_CSUM	0x04
#define PKT_FIX_IHL	0x08	/* IPv4 header length */
#define PKT_FIX_DOFF	0x10	/* TCP data offset */
#define PKT_FIX_VER	0x20	/* IP version */

struct pkt_layer {
	uint8_t kind;		/* enum pkt_kind */
	uint8_t proto;		/* the protocol number announcing it */
	uint8_t fix;		/* PKT_FIX_* */
	unsigned int off;
	unsigned int hlen;
};

struct pkt {
	unsigned int len;
	int err;		/* 0 or a negative errno, sticky */
	unsigned int nlayers;
	struct pkt_layer layer[PKT_MAX_LAYERS];
	uint8_t buf[PKT_MAX];
};

/* IPv4 flags in struct pkt_ip4.frag, above the offset in 8-byte units. */
#define PKT_IP4_DF	0x4000
#define PKT_IP4_MF	0x2000
#define PKT_IP4_OFFSET	0x1fff

struct pkt_ip4 {
	struct in_addr saddr, daddr;
	uint8_t tos;
	uint8_t ttl;		/* 0: 64 */
	uint16_t id;
	uint16_t frag;		/* PKT_IP4_DF | PKT_IP4_MF | offset */
	const void *opts;	/* options, padded with EOL to 4 bytes */
	unsigned int optlen;	/* at most 40 */
	unsigned int fix;	/* the PKT_FIX_* fields below are used */
	uint8_t version;
	uint8_t proto;
	uint8_t ihl;
	uint16_t tot_len;
	uint16_t csum;
};

struct pkt_ip6 {
	struct in6_addr saddr, daddr;
	uint8_t tclass;
	uint32_t flowlabel;
	uint8_t hlim;		/* 0: 64 */
	unsigned int fix;
	uint8_t version;
	uint8_t nexthdr;
	uint16_t plen;
};

/* The IPv6 fragment header's more-fragments bit, as on the wire. */
#define PKT_IP6_MF	0x0001

struct pkt_tcp {
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;		/* TH_SYN etc. from <netinet/tcp.h> */
	uint16_t win;		/* 0: 64240 */
	const void *opts;	/* options, padded with EOL to 4 bytes */
	unsigned int optlen;	/* at most 40 */
	unsigned int fix;
	uint8_t doff;		/* in 32-bit words */
	uint16_t csum;
};

struct pkt_udp {
	uint16_t sport, dport;
	unsigned int fix;
	uint16_t len;
	uint16_t csum;		/* PKT_FIX_CSUM with 0: no checksum (IPv4) */
};

void pkt_init(struct pkt *p);
int pkt_ip4(struct pkt *p, const struct pkt_ip4 *h);
int pkt_ip6(struct pkt *p, const struct pkt_ip6 *h);
int pkt_ext6(struct pkt *p, uint8_t type, unsigned int len);
int pkt_frag6(struct pkt *p, uint16_t offset, bool more, uint32_t id);
int pkt_tcp(struct pkt *p, const struct pkt_tcp *h);
int pkt_udp(struct pkt *p, const struct pkt_udp *h);
int pkt_teredo_auth(struct pkt *p, uint8_t id_len, uint8_t au_len,
		    const uint8_t nonce[8], uint8_t confirm);
int pkt_teredo_origin(struct pkt *p, uint16_t port, struct in_addr addr);
int pkt_data(struct pkt *p, const void *data, unsigned int len);
int pkt_fill(struct pkt *p, unsigned int len);
int pkt_finish(struct pkt *p);

int pkt_fragment(const struct pkt *whole, unsigned int layer,
		 unsigned int off, unsigned int len, bool more,
		 struct pkt *frag);
int pkt_truncate(struct pkt *p, unsigned int len);
int pkt_find(const struct pkt *p, enum pkt_kind kind, unsigned int nth);

uint16_t pkt_csum(const void *data, unsigned int len, uint32_t sum);

#endif /* _SG_PKT_H */
