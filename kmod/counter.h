/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A ban's packet counter: 32 bits, so that a ban stays within its 64-byte
 * budget.  It stops at 2^32 - 1 instead of wrapping to 0 (a ban that has
 * dropped four billion packets must not read as one that dropped none),
 * and reads as the u64 of SMTPGATE_A_BAN_DROPS without sign extension.
 * A header of its own, with nothing but atomics, so that the userspace
 * tests run it unchanged (userspace/tests/counter_test.c).
 */
#ifndef _SMTPGATE_COUNTER_H
#define _SMTPGATE_COUNTER_H

static inline void sg_counter_hit(atomic_t *c)
{
	atomic_add_unless(c, 1, -1);
}

static inline u64 sg_counter_read(const atomic_t *c)
{
	return (u32)atomic_read(c);
}

#endif /* _SMTPGATE_COUNTER_H */
