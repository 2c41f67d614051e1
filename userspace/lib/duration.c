// SPDX-License-Identifier: GPL-2.0
/*
 * Duration text: see duration.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

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

static unsigned int unit_secs(char unit)
{
	switch (unit) {
	case 's': return 1;
	case 'm': return 60;
	case 'h': return 3600;
	case 'd': return 86400;
	case 'w': return 604800;
	default: return 0;
	}
}

int sg_duration_parse(const char *s, uint32_t *secs, char *err, size_t len)
{
	uint64_t total = 0, n;
	const char *p = s;
	unsigned int mult;
	int ret;

	ret = sg_parse_uint(s, UINT32_MAX, &total);
	if (ret == -ERANGE)
		goto too_long;
	while (ret && *p) {
		if (*p < '0' || *p > '9')
			goto bad;
		for (n = 0; *p >= '0' && *p <= '9'; p++) {
			n = n * 10 + (*p - '0');
			if (n > UINT32_MAX)
				goto too_long;
		}
		mult = unit_secs(*p++);
		if (!mult)
			goto bad;
		total += n * mult;
		if (total > UINT32_MAX)
			goto too_long;
	}
	if (ret && p == s)
		goto bad;
	if (!total) {
		snprintf(err, len, "'%s': a duration must be at least 1s", s);
		return -EINVAL;
	}
	*secs = total;
	return 0;
bad:
	snprintf(err, len, "'%s' is not a duration (like 90, 10m, 3h12m, 2d)",
		 s);
	return -EINVAL;
too_long:
	snprintf(err, len, "'%s': duration too long", s);
	return -ERANGE;
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
