// SPDX-License-Identifier: GPL-2.0
/*
 * kmod/counter.h, the ban's packet counter, in userspace: it counts, it
 * crosses 2^31 without turning negative in the u64 the uapi carries, and it
 * stops at 2^32 - 1 instead of wrapping to 0 (which atomic_inc() did:
 * SMTPGATE_A_BAN_DROPS then read 0 for a ban that had dropped 2^32 packets).
 */
#include <limits.h>
#include <stdint.h>

#include "kselftest_harness.h"
#include "kshim.h"
#include "counter.h"

static atomic_t at(unsigned int v)
{
	atomic_t c = { .counter = (int)v };

	return c;
}

TEST(counts)
{
	atomic_t c = at(0);
	int i;

	for (i = 0; i < 1000; i++)
		sg_counter_hit(&c);
	EXPECT_EQ(1000ULL, sg_counter_read(&c));
}

TEST(crosses_2_31_unsigned)
{
	atomic_t c = at(INT_MAX);

	sg_counter_hit(&c);
	EXPECT_EQ(1ULL << 31, sg_counter_read(&c));
}

TEST(stops_at_2_32_minus_1)
{
	atomic_t c = at(UINT_MAX - 1);

	sg_counter_hit(&c);
	EXPECT_EQ((uint64_t)UINT_MAX, sg_counter_read(&c));
	sg_counter_hit(&c);
	sg_counter_hit(&c);
	EXPECT_EQ((uint64_t)UINT_MAX, sg_counter_read(&c));
}

TEST_HARNESS_MAIN
