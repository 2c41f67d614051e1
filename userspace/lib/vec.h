/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Growable arrays, for whole dump listings (struct sgnl_bans) and the
 * tables the daemon builds: one growth rule (doubling) and one place that
 * gets the overflow and the out-of-memory cases right.
 *
 * A vector is any struct with T *v and size_t n, cap, zeroed to start:
 *
 *	struct sgnl_bans bans = { 0 };
 *	struct sgnl_ban *b = VEC_PUSH(&bans);
 *
 *	if (!b)
 *		return -ENOMEM;
 *	*b = *ban;
 *
 * and free(bans.v) when done.  Elements may move: keep indexes, not
 * pointers, across a push.
 */
#ifndef _SG_VEC_H
#define _SG_VEC_H

#include <stddef.h>

void *vec_push(void *vp, size_t *n, size_t *cap, size_t size);

/*
 * The new last element of @vec (uninitialised), or NULL: see vec_push().
 * @vec is evaluated more than once: name a vector, not an expression
 * with side effects.
 */
#define VEC_PUSH(vec) \
	vec_push(&(vec)->v, &(vec)->n, &(vec)->cap, sizeof(*(vec)->v))

#endif /* _SG_VEC_H */
