/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A deliberately naive reference classifier: straight-line byte-offset
 * parsing of a flat buffer, written from RFC 791, 8200, 4380 and the uapi
 * class descriptions, not from classify.c.  The tests and the fuzzer
 * compare sg_classify() against it (WireGuard's allowedips selftest idea).
 */
#ifndef _SG_REF_CLASSIFY_H
#define _SG_REF_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REF_MAX_EXTHDRS	16	/* the documented bound of classify.h */

#define REF_TEREDO_AUTH		0x1
#define REF_TEREDO_ORIGIN	0x2

struct ref_flow {
	uint8_t family;		/* NFPROTO_*: UNSPEC until the header is read */
	uint8_t class;		/* enum smtpgate_class */
	uint8_t teredo;		/* REF_TEREDO_*, for the teredo class */
	uint8_t saddr[16], daddr[16];	/* IPv4 in the first 4 bytes */
	uint8_t inner_saddr[16], inner_daddr[16];
	uint16_t sport, dport;	/* host order */
	uint8_t tcp_flags;	/* byte 13 of TCP, if the packet holds it */
};

/* @watched(port) says whether TCP destination @port is SMTP. */
uint8_t ref_classify(const uint8_t *pkt, size_t len, int ipv6,
		     bool (*watched)(uint16_t port, void *arg), void *arg,
		     struct ref_flow *flow);

#endif /* _SG_REF_CLASSIFY_H */
