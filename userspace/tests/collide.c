// SPDX-License-Identifier: GPL-2.0
/*
 * collide: IPv6 /64 prefixes that fall in one bucket of the module's host
 * table, for the hash-flooding test (RELIABILITY case 8).  With the module
 * loaded with test_hash_seed=SEED, the table's SipHash key is (SEED,
 * ~SEED) and a host's bucket is siphash(struct sg_key) & (buckets - 1),
 * buckets being the power of two >= max_hosts / 2 (at least 16).
 *
 *	collide SEED MAX_HOSTS COUNT [BUCKET]
 *
 * prints COUNT addresses ::66 in distinct /64s of 2001:db8:1::/48 whose
 * /64 lands in BUCKET (default 0), one per line.  Exit 1 when the /48 does
 * not hold that many.  `collide --selftest` checks the SipHash-2-4 code
 * against the reference test vector.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND do {							\
	v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);	\
	v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;				\
	v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;				\
	v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);	\
} while (0)

/* SipHash-2-4, as the kernel's siphash() on a little-endian machine. */
static uint64_t siphash24(const uint8_t *in, size_t len, uint64_t k0,
			  uint64_t k1)
{
	uint64_t v0 = 0x736f6d6570736575ULL ^ k0;
	uint64_t v1 = 0x646f72616e646f6dULL ^ k1;
	uint64_t v2 = 0x6c7967656e657261ULL ^ k0;
	uint64_t v3 = 0x7465646279746573ULL ^ k1;
	uint64_t b = (uint64_t)len << 56, m;
	size_t i, left = len & 7;

	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&m, in + i, 8);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (m = 0; left; left--)
		m |= (uint64_t)in[i + left - 1] << (8 * (left - 1));
	b |= m;
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* The reference vector: key 00..0f, message 00..0e. */
static int selftest(void)
{
	uint8_t key[16], msg[15];
	uint64_t k0, k1, h;
	unsigned int i;

	for (i = 0; i < 16; i++)
		key[i] = i;
	for (i = 0; i < 15; i++)
		msg[i] = i;
	memcpy(&k0, key, 8);
	memcpy(&k1, key + 8, 8);
	h = siphash24(msg, sizeof(msg), k0, k1);
	if (h != 0xa129ca6149be45e5ULL) {
		fprintf(stderr, "collide: siphash24 gives %016llx\n",
			(unsigned long long)h);
		return 1;
	}
	printf("siphash24 ok\n");
	return 0;
}

static uint32_t roundup_pow2(uint32_t n)
{
	uint32_t p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

int main(int argc, char **argv)
{
	uint32_t max_hosts, count, want = 0, mask, n = 0, sub;
	uint8_t key[18];	/* struct sg_key: addr[16], family, len */
	uint64_t seed;
	char text[INET6_ADDRSTRLEN];

	if (argc == 2 && !strcmp(argv[1], "--selftest"))
		return selftest();
	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: collide SEED MAX_HOSTS COUNT [BUCKET]\n");
		return 2;
	}
	seed = strtoull(argv[1], NULL, 0);
	max_hosts = strtoul(argv[2], NULL, 0);
	count = strtoul(argv[3], NULL, 0);
	if (argc == 5)
		want = strtoul(argv[4], NULL, 0);
	mask = roundup_pow2(max_hosts / 2 > 16 ? max_hosts / 2 : 16) - 1;

	for (sub = 0; sub < 65536 && n < count; sub++) {
		uint8_t addr[16] = { 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01 };

		addr[6] = sub >> 8;
		addr[7] = sub & 0xff;
		memcpy(key, addr, 16);	/* the /64 itself: low half zero */
		key[16] = 10;		/* NFPROTO_IPV6 */
		key[17] = 64;
		if ((siphash24(key, sizeof(key), seed, ~seed) & mask) != want)
			continue;
		addr[15] = 0x66;
		inet_ntop(AF_INET6, addr, text, sizeof(text));
		printf("%s\n", text);
		n++;
	}
	if (n < count) {
		fprintf(stderr, "collide: only %u of %u in 2001:db8:1::/48\n",
			n, count);
		return 1;
	}
	return 0;
}
