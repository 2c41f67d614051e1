// SPDX-License-Identifier: GPL-2.0
/*
 * Duration text: see duration.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "duration.h"

int sg_parse_uint(const char *s, uint64_t max, uint64_t *v)
{
	uint64_t n = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (n > (max - (*s - '0')) / 10)
			return -ERANGE;
		n = n * 10 + (*s - '0');
	}
	*v = n;
	return 0;
}

/* The unit at *@p in milliseconds, *@p moved past it; 0: no unit. */
static uint64_t unit_ms(const char **p)
{
	const char *u = *p;

	if (u[0] == 'm' && u[1] == 's') {
		*p += 2;
		return 1;
	}
	*p += 1;
	switch (u[0]) {
	case 's': return 1000;
	case 'm': return 60 * 1000;
	case 'h': return 3600 * 1000;
	case 'd': return 86400 * 1000;
	case 'w': return 604800ULL * 1000;
	default: return 0;
	}
}

int sg_duration_parse_ms(const char *s, uint64_t *ms, char *err, size_t len)
{
	const uint64_t max = (uint64_t)UINT32_MAX * 1000;
	uint64_t total = 0, n, mult;
	const char *p = s;
	int ret;

	ret = sg_parse_uint(s, UINT32_MAX, &total);
	if (ret == -ERANGE)
		goto too_long;
	if (!ret) {
		*ms = total * 1000;	/* a bare number: seconds */
		return 0;
	}
	if (!*p)
		goto bad;
	while (*p) {
		if (*p < '0' || *p > '9')
			goto bad;
		for (n = 0; *p >= '0' && *p <= '9'; p++) {
			n = n * 10 + (*p - '0');
			if (n > max)
				goto too_long;
		}
		mult = unit_ms(&p);
		if (!mult)
			goto bad;
		if (n > max / mult || total + n * mult > max)
			goto too_long;
		total += n * mult;
	}
	*ms = total;
	return 0;
bad:
	snprintf(err, len, "'%s' is not a duration (like 90, 10m, 3h12m, 2d)",
		 s);
	return -EINVAL;
too_long:
	snprintf(err, len, "'%s': duration too long", s);
	return -ERANGE;
}

int sg_duration_parse(const char *s, uint32_t *secs, char *err, size_t len)
{
	uint64_t ms;
	int ret;

	ret = sg_duration_parse_ms(s, &ms, err, len);
	if (ret)
		return ret;
	if (ms % 1000) {
		snprintf(err, len, "'%s' is not a whole number of seconds", s);
		return -EINVAL;
	}
	if (!ms) {
		snprintf(err, len, "'%s': a duration must be at least 1s", s);
		return -EINVAL;
	}
	*secs = ms / 1000;
	return 0;
}

int sg_bool_parse(const char *s, char *err, size_t len)
{
	if (!strcmp(s, "yes") || !strcmp(s, "1"))
		return 1;
	if (!strcmp(s, "no") || !strcmp(s, "0"))
		return 0;
	snprintf(err, len, "'%s' is not yes or no (or 1 or 0)", s);
	return -EINVAL;
}

const char *sg_duration_fmt(uint64_t s, char *buf, size_t len)
{
	static const struct { uint64_t secs; char unit; } u[] = {
		{ 86400, 'd' }, { 3600, 'h' }, { 60, 'm' }, { 1, 's' },
	};
	size_t i;

	for (i = 0; i < 3 && s < u[i].secs; i++)
		;
	if (i == 3 || s % u[i].secs / u[i + 1].secs == 0)
		snprintf(buf, len, "%" PRIu64 "%c", s / u[i].secs, u[i].unit);
	else
		snprintf(buf, len, "%" PRIu64 "%c%" PRIu64 "%c",
			 s / u[i].secs, u[i].unit,
			 s % u[i].secs / u[i + 1].secs, u[i + 1].unit);
	return buf;
}
