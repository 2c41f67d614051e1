/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The policy's keys: the one table behind smtpgate.conf's policy keys
 * (smtpgated), `smtpgatectl policy` and `policy set`, and sgnl's encoding
 * of struct sgnl_policy as SMTPGATE_A_POLICY attributes.  Each key has its
 * name, the kind of value it takes, its range (the kernel's, from
 * <linux/smtpgate.h>), its attribute and its field.
 *
 * One value grammar, whoever reads it:
 *   lists      items separated by commas and/or blanks; empty items are
 *              skipped; an empty value is the empty list (ports: refused)
 *   numbers    decimal, from the key's minimum to its maximum
 *   durations  sg_duration_parse(): 90, 90s, 10m, 1h30m, 2d
 *   booleans   yes, no, 1, 0 (sg_bool_parse())
 *   optional   a number, or "off": the attribute is left out
 *   names      actions and scopes as sgnl_action_parse() and
 *              sgnl_scope_parse() take them
 */
#ifndef _SG_POLKEY_H
#define _SG_POLKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sgnl.h"

enum sg_polkey_kind {
	SG_PK_PREFIXES,		/* struct sgnl_prefix_list, ADDR[/LEN] items */
	SG_PK_ACTION,		/* u8 enum smtpgate_action */
	SG_PK_TUNNEL_ACTION,	/* the same; redirect and trap refused */
	SG_PK_SUBMISSION,	/* one address per family: SUBMISSION4 and 6 */
	SG_PK_PORTS,		/* 1 to SMTPGATE_MAX_PORTS ports */
	SG_PK_UINT,		/* u8, u16 or u32 (the field's width) */
	SG_PK_OPT_UINT,		/* the same, or "off": attribute absent */
	SG_PK_BOOL,		/* u8, 0 or 1 */
	SG_PK_SCOPE,		/* u8 enum smtpgate_scope */
	SG_PK_DURATION,		/* u32 seconds */
};

/* Not a key operators set: the generation, sent only as a compare value. */
#define SG_PK_READONLY	0x1

struct sg_polkey {
	const char *name;
	enum sg_polkey_kind kind;
	unsigned int attr;	/* SMTPGATE_A_POLICY_*; submission: ..._4 */
	unsigned int flags;	/* SG_PK_READONLY */
	size_t off;		/* the field in struct sgnl_policy */
	size_t width;		/* its size in bytes (1, 2 or 4 for numbers) */
	uint32_t min, max;	/* numbers and durations; list: most items */
};

/* Every policy attribute, in the order `smtpgatectl policy` shows them. */
extern const struct sg_polkey sg_polkeys[];
extern const size_t sg_npolkeys;

/* A key operators set, by its exact name (@len bytes); NULL: none. */
const struct sg_polkey *sg_polkey_find(const char *name, size_t len);
/* The key an SMTPGATE_A_POLICY_* attribute belongs to; NULL: none. */
const struct sg_polkey *sg_polkey_of_attr(unsigned int attr);
/* "internal, exempt, ...": the keys operators set, for messages. */
const char *sg_polkey_names(void);

/* A number's value in @p (UINT, OPT_UINT, BOOL, DURATION, names). */
uint32_t sg_polkey_get(const struct sg_polkey *k, const struct sgnl_policy *p);
void sg_polkey_put(const struct sg_polkey *k, struct sgnl_policy *p,
		   uint32_t v);
bool sg_polkey_present(const struct sg_polkey *k, const struct sgnl_policy *p);

/*
 * What is wrong with @value: @off is the byte offset of the offending
 * item in it (0 for scalars), so a multi-line reader can name the line.
 */
typedef void (*sg_polkey_err_fn)(void *arg, size_t off, const char *msg);

/*
 * Sets key @k of @p from @value (cut up in place).  Every error goes to
 * @err; the return is how many there were.  Marks the attribute present
 * (or absent: "off").
 */
int sg_polkey_parse(const struct sg_polkey *k, char *value,
		    struct sgnl_policy *p, sg_polkey_err_fn err, void *arg);

#endif /* _SG_POLKEY_H */
