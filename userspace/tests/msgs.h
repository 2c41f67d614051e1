/* SPDX-License-Identifier: GPL-2.0 */
/* Error messages a parser reported, one a line, for the tests to compare. */
#ifndef _SG_TEST_MSGS_H
#define _SG_TEST_MSGS_H

#include <stdio.h>

struct msgs {
	char text[8192];
	size_t len;
	int n;
};

/* An sgd_report_fn / helo_report_fn: @arg is a struct msgs. */
static inline void collect(void *arg, const char *msg)
{
	struct msgs *m = arg;

	m->len += snprintf(m->text + m->len, sizeof(m->text) - m->len, "%s\n",
			   msg);
	m->n++;
}

#endif /* _SG_TEST_MSGS_H */
