/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One TCP segment of an SMTP session, as the inspection queue hands it to
 * smtpgated: the IPv4 or IPv6 header, a 20-byte TCP header and the data.
 * For the SMTP inspector's tests, fuzzer and benchmark.
 */
#ifndef _SG_SEGMENT_H
#define _SG_SEGMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SEG_SMTP_PORT	25
#define SEG_MAX_HDR	60	/* IPv6 + TCP */

static inline void seg_put16(uint8_t *b, uint16_t v)
{
	b[0] = v >> 8;
	b[1] = v;
}

static inline void seg_put32(uint8_t *b, uint32_t v)
{
	seg_put16(b, v >> 16);
	seg_put16(b + 2, v);
}

/*
 * Client @client:@cport talking to @server:25 (addresses of 4 or 16
 * bytes, as @v6 says), in the direction @from_server says; ACK always set,
 * @flags added.  @b has room for SEG_MAX_HDR + @dlen bytes.  Returns the
 * segment's length.
 */
static inline size_t seg_smtp(uint8_t *b, bool v6, const uint8_t *client,
			      uint16_t cport, const uint8_t *server,
			      bool from_server, uint32_t seq, uint32_t ack,
			      const void *data, size_t dlen, uint8_t flags)
{
	size_t ip = v6 ? 40 : 20, alen = v6 ? 16 : 4;
	const uint8_t *src = from_server ? server : client;
	const uint8_t *dst = from_server ? client : server;
	uint8_t *t = b + ip;

	memset(b, 0, ip + 20);
	if (v6) {
		b[0] = 0x60;
		seg_put16(b + 4, 20 + dlen);
		b[6] = 6;	/* TCP */
		b[7] = 64;
		memcpy(b + 8, src, alen);
		memcpy(b + 24, dst, alen);
	} else {
		b[0] = 0x45;
		seg_put16(b + 2, 40 + dlen);
		b[8] = 64;
		b[9] = 6;	/* TCP */
		memcpy(b + 12, src, alen);
		memcpy(b + 16, dst, alen);
	}
	seg_put16(t, from_server ? SEG_SMTP_PORT : cport);
	seg_put16(t + 2, from_server ? cport : SEG_SMTP_PORT);
	seg_put32(t + 4, seq);
	seg_put32(t + 8, ack);
	t[12] = 5 << 4;
	t[13] = 0x10 | flags;
	memcpy(t + 20, data, dlen);
	return ip + 20 + dlen;
}

#endif /* _SG_SEGMENT_H */
