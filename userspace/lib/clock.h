/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Seconds on the monotonic clock, for the benchmarks' and test tools'
 * timings (never a date: the wall clock can step).
 */
#ifndef SG_CLOCK_H
#define SG_CLOCK_H

#include <time.h>

static inline double mono_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

#endif
