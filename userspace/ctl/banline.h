/* SPDX-License-Identifier: GPL-2.0 */
/* One ban as a line of text, for load and save: see banline.c. */
#ifndef _SGCTL_BANLINE_H
#define _SGCTL_BANLINE_H

#include <stddef.h>

#include "sgnl.h"

/*
 * Parses @s (changed in place): 1 and *@b, 0 for a blank or comment line,
 * -EINVAL with the reason in @err.
 */
int ban_line_parse(char *s, struct sgnl_ban *b, char *err, size_t elen);
/* *@b as ban_line_parse() reads it back; snprintf()'s contract. */
size_t ban_line_format(const struct sgnl_ban *b, char *buf, size_t len);

#endif /* _SGCTL_BANLINE_H */
