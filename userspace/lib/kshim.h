/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What kmod/classify.c needs of the kernel, in userspace: the types, and a
 * struct sk_buff whose skb_header_pointer() behaves like the kernel's, the
 * fast path to the instruction, so tests and benchmarks run the module's
 * classifier unchanged.  And the atomics of kmod/counter.h.
 */
#ifndef _SMTPGATE_KSHIM_H
#define _SMTPGATE_KSHIM_H

#include <netinet/in.h>	/* before the uapi headers: see libc-compat.h */
#include <stdbool.h>
#include <string.h>
#include <linux/types.h>
#include <linux/netfilter.h>

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;

#ifndef __always_inline		/* glibc's sys/cdefs.h has one */
#define __always_inline inline __attribute__((__always_inline__))
#endif
#define noinline __attribute__((__noinline__))

/*
 * The userspace skb: bytes [0, head_len) are "linear" and returned in place;
 * a read that reaches past head_len is copied, like a paged kernel skb.
 */
struct sk_buff {
	const unsigned char *data;
	unsigned int len;
	unsigned int head_len;
};

static inline const void *skb_header_pointer(const struct sk_buff *skb,
					     int offset, int len, void *buffer)
{
	/* The kernel's fast path, to the instruction: see __skb_header_pointer */
	if (__builtin_expect((int)skb->head_len - offset >= len, 1))
		return skb->data + offset;
	if (offset < 0 || len < 0 || (unsigned int)offset > skb->len ||
	    (unsigned int)len > skb->len - (unsigned int)offset)
		return NULL;
	memcpy(buffer, skb->data + offset, len);
	return buffer;
}

typedef struct {
	int counter;
} atomic_t;

static inline int atomic_read(const atomic_t *v)
{
	return __atomic_load_n(&v->counter, __ATOMIC_RELAXED);
}

/* Adds @a unless the value is @u; true if it added (the kernel's). */
static inline bool atomic_add_unless(atomic_t *v, int a, int u)
{
	int c = atomic_read(v);

	do {
		if (c == u)
			return false;
	} while (!__atomic_compare_exchange_n(&v->counter, &c, c + a, false,
					      __ATOMIC_SEQ_CST,
					      __ATOMIC_RELAXED));
	return true;
}

#endif /* _SMTPGATE_KSHIM_H */
