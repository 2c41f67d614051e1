/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Whole small files (smtpgate.conf, helo tables), read at once so that
 * their parsers see the text as the fuzzers give it: a buffer and a length.
 */
#ifndef _SG_FILE_H
#define _SG_FILE_H

#include <stddef.h>

char *sg_read_file(const char *path, size_t max, size_t *len, char *err,
		   size_t errlen);

#endif /* _SG_FILE_H */
