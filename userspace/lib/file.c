// SPDX-License-Identifier: GPL-2.0
/*
 * Whole small files: see file.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file.h"

/**
 * sg_read_file() - all of a file of at most @max bytes
 * @path: the file
 * @max: its largest size: a larger file is refused, not cut short
 * @len: the size read
 * @err: on failure, why, without the file's name (the caller knows how
 *	 its messages name it): "cannot open: ...", "out of memory",
 *	 "cannot read: ...", "larger than MAX bytes"
 * @errlen: @err's size
 *
 * Return: the text in a buffer of @max + 1 bytes (one more than a file
 * may have, to tell a file of @max bytes from a longer one), for the
 * caller to free; NULL on failure.
 */
char *sg_read_file(const char *path, size_t max, size_t *len, char *err,
		   size_t errlen)
{
	size_t used = 0;
	ssize_t r = 0;
	char *buf;
	int fd, saved;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open: %s", strerror(errno));
		return NULL;
	}
	buf = malloc(max + 1);
	if (!buf) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	while (used <= max) {
		r = read(fd, buf + used, max + 1 - used);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		used += r;
	}
	saved = errno;
	close(fd);
	if (r >= 0 && used <= max) {
		*len = used;
		return buf;
	}
	if (r < 0)
		snprintf(err, errlen, "cannot read: %s", strerror(saved));
	else
		snprintf(err, errlen, "larger than %zu bytes", max);
	free(buf);
	return NULL;
}
