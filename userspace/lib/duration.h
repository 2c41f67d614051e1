/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Durations as operators write and read them, shared by smtpgatectl and
 * smtpgated so that `ban --for 1h30m`, smtpgate.conf and the logs speak
 * the same language.
 *
 *   parse: "90", "90s", "500ms", "10m", "1h30m", "7d", "2w": one bare
 *          NUMBER of seconds, or NUMBER UNIT pairs (ms, s, m, h, d, w).
 *          One grammar everywhere: where a value counts in seconds, a
 *          part of a second is refused ("1500ms"); zero is refused by
 *          sg_duration_parse(): a ban (or a window) of no time is a
 *          mistake.
 *   print: the two largest units: "45s", "5m30s", "3h12m", "2d4h".
 */
#ifndef _SG_DURATION_H
#define _SG_DURATION_H

#include <stddef.h>
#include <stdint.h>

/* Decimal digits only: no sign, no hex, no spaces; at most @max. */
int sg_parse_uint(const char *s, uint64_t max, uint64_t *v);
/* 0, or -EINVAL / -ERANGE with "'S' is not a duration (...)" in @err. */
int sg_duration_parse(const char *s, uint32_t *secs, char *err, size_t len);
/* The same grammar in milliseconds, zero allowed; at most 2^32-1 s. */
int sg_duration_parse_ms(const char *s, uint64_t *ms, char *err, size_t len);
/* yes, no, 1, 0 (as the module parameters take them): 1, 0, or -EINVAL
 * with "'S' is not yes or no (or 1 or 0)" in @err. */
int sg_bool_parse(const char *s, char *err, size_t len);
const char *sg_duration_fmt(uint64_t secs, char *buf, size_t len);

#endif /* _SG_DURATION_H */
