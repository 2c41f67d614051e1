// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the packet classifier (kmod/classify.c, unchanged),
 * built with ASan and UBSan: the input (fuzz_input.h) picks the family and
 * where the linear head ends, and every result must satisfy the invariants
 * below, equal the all-linear result, and equal the reference classifier.
 *
 * The packet sits in a heap buffer of exactly its length, so a read past
 * the end of a linear skb is an ASan report; a read past what
 * skb_header_pointer() copied for the paged part hits the caller's stack
 * buffer, also an ASan report.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "classify.h"
#include "../tests/ref_classify.h"
#include "../tests/flowcmp.h"
#include "fuzz_input.h"

static struct sg_ports ports;

static bool ref_watched(uint16_t port, void *arg)
{
	return sg_port_watched(&ports, port);
}

static void violated(const char *what, const struct sg_flow *f)
{
	fprintf(stderr, "invariant violated: %s (class %s family %u teredo %#x)\n",
		what, sg_class_name(f->class), f->family, f->teredo);
	abort();
}

#define CHECK(cond, flow) do { if (!(cond)) violated(#cond, flow); } while (0)

static u8 outer_family_of(u8 class)
{
	return class == SMTPGATE_CLASS_SMTP6 ? NFPROTO_IPV6 : NFPROTO_IPV4;
}

static void check_invariants(const struct sg_flow *f, u8 class, u8 family)
{
	CHECK(class < __SMTPGATE_CLASS_MAX, f);
	CHECK(f->class == class, f);
	CHECK(f->family == NFPROTO_UNSPEC || f->family == family, f);
	if (class == SMTPGATE_CLASS_OTHER)
		return;
	/* SMTP of any kind: a watched destination port, an outer header. */
	CHECK(sg_port_watched(&ports, ntohs(f->dport)), f);
	CHECK(f->family == family, f);
	/* Tunnels are only looked for inside IPv4; SMTP6 only in IPv6. */
	CHECK(outer_family_of(class) == family, f);
	if (class == SMTPGATE_CLASS_TEREDO)
		CHECK(!(f->teredo & ~(SG_TEREDO_AUTH | SG_TEREDO_ORIGIN)), f);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	sg_port_set(&ports, 25);
	sg_port_set(&ports, 465);
	sg_port_set(&ports, 2525);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sg_flow flow, linear;
	struct ref_flow rf;
	struct sk_buff skb;
	unsigned int len, head;
	unsigned char *pkt;
	u8 family, class;

	if (size < FUZZ_HDR_LEN || size - FUZZ_HDR_LEN > 0xffff)
		return -1;
	if (data[0] & FUZZ_BADFAMILY)
		family = data[0] & FUZZ_IPV6 ? NFPROTO_ARP : NFPROTO_BRIDGE;
	else
		family = data[0] & FUZZ_IPV6 ? NFPROTO_IPV6 : NFPROTO_IPV4;
	len = size - FUZZ_HDR_LEN;
	head = data[1] << 8 | data[2];
	if (head > len)
		head = len;

	pkt = malloc(len ? len : 1);
	memcpy(pkt, data + FUZZ_HDR_LEN, len);
	skb.data = pkt;
	skb.len = len;
	skb.head_len = head;
	memset(&flow, 0xa5, sizeof(flow));
	class = sg_classify(&skb, 0, family, &ports, &flow);
	check_invariants(&flow, class, family);

	skb.head_len = len;
	memset(&linear, 0x5a, sizeof(linear));
	sg_classify(&skb, 0, family, &ports, &linear);
	CHECK(flow_eq(&flow, &linear), &flow);

	if (family == NFPROTO_IPV4 || family == NFPROTO_IPV6) {
		ref_classify(pkt, len, family == NFPROTO_IPV6, ref_watched,
			     NULL, &rf);
		CHECK(ref_agrees(&flow, &rf), &flow);
	}
	free(pkt);
	return 0;
}
