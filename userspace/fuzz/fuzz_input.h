/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The fuzzer's input format, shared with the seed corpus writer:
 *
 *   byte 0      bit 0: IPv6 (else IPv4); bit 1: an unknown family instead
 *   bytes 1-2   head_len, big endian, clamped to the packet length: the
 *               rest of the packet is "paged" (read through a copy)
 *   bytes 3-    the packet, from its network header
 */
#ifndef _SG_FUZZ_INPUT_H
#define _SG_FUZZ_INPUT_H

#define FUZZ_HDR_LEN	3
#define FUZZ_IPV6	0x1
#define FUZZ_BADFAMILY	0x2

static inline void fuzz_input_header(unsigned char hdr[FUZZ_HDR_LEN],
				     int ipv6, unsigned int head_len)
{
	hdr[0] = ipv6 ? FUZZ_IPV6 : 0;
	hdr[1] = head_len >> 8;
	hdr[2] = head_len;
}

#endif /* _SG_FUZZ_INPUT_H */
