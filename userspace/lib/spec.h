/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Packet specs: a terse text grammar for the packets smtpgate classifies,
 * shared by sgcraft (which sends them) and the tests (which classify them),
 * so a packet in a unit test can be sent as is in a VM test.  The grammar
 * is spec_grammar below; sgcraft --help prints it.
 */
#ifndef _SG_SPEC_H
#define _SG_SPEC_H

#include <stddef.h>
#include "pkt.h"

enum spec_kind {
	SPEC_TCP4,
	SPEC_UDP4,
	SPEC_TCP6,
	SPEC_UDP6,
	SPEC_SIXIN4,
	SPEC_TEREDO,
};

#define SPEC_MAX_EXT	40	/* well past the classifier's bound */
#define SPEC_MAX_THDR	8
#define SPEC_MAX_PICK	64

struct spec_ext {
	uint8_t type;
	uint16_t len;		/* bytes; for the fragment header always 8 */
	uint16_t fragoff;	/* fragment header: offset in 8-byte units */
	bool more;
};

#define SPEC_THDR_AUTH		1
#define SPEC_THDR_ORIGIN	2

struct spec {
	enum spec_kind kind;
	struct pkt_ip4 ip4;	/* the outer IPv4 header, if any */
	uint8_t ipopt[40];
	struct pkt_ip6 ip6;	/* the (inner, in a tunnel) IPv6 header */
	struct spec_ext ext[SPEC_MAX_EXT];
	unsigned int next;
	bool id_set;		/* id= given */
	uint32_t frag_id;	/* of the IPv6 fragment header */
	bool nh_set;		/* nh=: the upper-layer next header */
	uint8_t nh;
	struct pkt_udp udp;
	struct pkt_tcp tcp;
	uint8_t thdr[SPEC_MAX_THDR];	/* SPEC_THDR_*, in order */
	unsigned int nthdr;
	uint8_t id_len, au_len, confirm;
	uint8_t nonce[8];
	struct in_addr origin_addr;
	uint16_t origin_port;
	bool bubble;
	const char *data;
	unsigned int len;
	unsigned int fragsize;
	uint8_t pick[SPEC_MAX_PICK];
	unsigned int npick;
};

extern const char spec_grammar[];

int spec_parse(int argc, char *const argv[], struct spec *s,
	       char *err, size_t errlen);
int spec_family(const struct spec *s);
int spec_build(const struct spec *s, struct pkt *p);
int spec_emit(const struct spec *s,
	      int (*emit)(const struct pkt *p, void *arg), void *arg,
	      char *err, size_t errlen);
int spec_build_str(const char *text, struct pkt *p, struct spec *s,
		   char *err, size_t errlen);

#endif /* _SG_SPEC_H */
