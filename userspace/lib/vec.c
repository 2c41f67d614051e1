// SPDX-License-Identifier: GPL-2.0
/*
 * Growable arrays: see vec.h.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vec.h"

/* The first allocation: small tables stay small, dumps double from here. */
#define VEC_FIRST	16

/**
 * vec_push() - room for one more element at the end of an array
 * @vp: the address of the array's pointer (a T **), which is NULL until
 *	the first push
 * @n: its number of elements, one more on success
 * @cap: how many it has room for, doubled when full
 * @size: one element's size
 *
 * @vp is a void * so that any T ** converts to it without a cast; the
 * pointer is read and written with memcpy(), never through a void **,
 * which would be an object of another type.
 *
 * Return: the new last element, uninitialised; NULL when memory runs out
 * (or the size would overflow), the array then as it was.
 */
void *vec_push(void *vp, size_t *n, size_t *cap, size_t size)
{
	char *v;

	memcpy(&v, vp, sizeof(v));
	if (*n == *cap) {
		size_t want = *cap ? *cap * 2 : VEC_FIRST;

		if (want < *cap || want > SIZE_MAX / size)
			return NULL;
		v = realloc(v, want * size);
		if (!v)
			return NULL;
		memcpy(vp, &v, sizeof(v));
		*cap = want;
	}
	return v + (*n)++ * size;
}
