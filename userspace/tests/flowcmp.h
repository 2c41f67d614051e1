/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Comparing classifier results: two struct sg_flow, or one against the
 * reference classifier's struct ref_flow.  Only the fields the class makes
 * valid (struct sg_flow's kernel-doc) are compared.  For the unit tests and
 * the fuzzer.
 */
#ifndef _SG_FLOWCMP_H
#define _SG_FLOWCMP_H

#include <arpa/inet.h>
#include "classify.h"
#include "ref_classify.h"

static inline bool tunnel_class(u8 class)
{
	return class == SMTPGATE_CLASS_TEREDO || class == SMTPGATE_CLASS_SIXIN4;
}

/* What must agree between two results: the fields the class makes valid. */
static inline bool flow_eq(const struct sg_flow *a, const struct sg_flow *b)
{
	size_t alen = a->family == NFPROTO_IPV4 ? 4 : 16;

	if (a->class != b->class || a->family != b->family)
		return false;
	if (a->class == SMTPGATE_CLASS_OTHER)
		return true;
	if (memcmp(&a->saddr, &b->saddr, alen) ||
	    memcmp(&a->daddr, &b->daddr, alen) ||
	    a->sport != b->sport || a->dport != b->dport ||
	    a->tcp_flags != b->tcp_flags)
		return false;
	if (tunnel_class(a->class) &&
	    (memcmp(&a->inner_saddr, &b->inner_saddr, 16) ||
	     memcmp(&a->inner_daddr, &b->inner_daddr, 16)))
		return false;
	return a->class != SMTPGATE_CLASS_TEREDO || a->teredo == b->teredo;
}

static inline bool ref_agrees(const struct sg_flow *f, const struct ref_flow *r)
{
	size_t alen = f->family == NFPROTO_IPV4 ? 4 : 16;

	if (f->class != r->class || f->family != r->family)
		return false;
	if (f->class == SMTPGATE_CLASS_OTHER)
		return true;
	if (memcmp(&f->saddr, r->saddr, alen) ||
	    memcmp(&f->daddr, r->daddr, alen) ||
	    ntohs(f->sport) != r->sport || ntohs(f->dport) != r->dport ||
	    f->tcp_flags != r->tcp_flags)
		return false;
	if (tunnel_class(f->class) &&
	    (memcmp(&f->inner_saddr, r->inner_saddr, 16) ||
	     memcmp(&f->inner_daddr, r->inner_daddr, 16)))
		return false;
	return f->class != SMTPGATE_CLASS_TEREDO || f->teredo == r->teredo;
}

#endif /* _SG_FLOWCMP_H */
