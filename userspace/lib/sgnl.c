// SPDX-License-Identifier: GPL-2.0
/*
 * sgnl: the smtpgate generic netlink client.  See sgnl.h.
 *
 * libnl-3 is the control plane's library (libmnl is the NFQUEUE path's):
 * it builds and parses the messages, resolves the family and the events
 * group (genl_ctrl_resolve, genl_ctrl_resolve_grp), and runs the receive
 * loop, with sequence checks and NLM_F_DUMP_INTR.  Our callbacks are there
 * for what its defaults lose (libnl 3.7, Debian 12's; 3.11 is no
 * different): the kernel's errno, which nl_syserr2nlerr() folds into its
 * own codes, and the extended ACK that says why and which attribute.
 *
 * Each request (and each wait for events) gets its own nl_cb, a clone of
 * the socket's: the handle keeps no callbacks, so none can outlive the
 * stack frame its argument lives in, and libnl's own requests on the
 * socket (genl_ctrl_resolve) run with the socket's untouched ones.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <linux/netlink.h>

#include <netlink/netlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>

#include "polkey.h"
#include "sgnl.h"
#include "vec.h"

/* libnl's callback signatures carry what some callbacks do not need. */
#define __always_unused	__attribute__((__unused__))

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

#ifndef SOL_NETLINK
#define SOL_NETLINK	270
#endif

/* Room for the biggest policy: three full v6 prefix lists and the rest. */
#define POLICY_MSG_BYTES	16384
/*
 * libnl's default buffers are 32 KiB, which a 64 KiB batch cannot pass
 * (EMSGSIZE on send).  Dumps and events want a deep receive queue too:
 * events come in bursts (a batch without F_QUIET).
 */
#define SOCK_SNDBUF		(4 * SGNL_BATCH_BYTES)
#define SOCK_RCVBUF		(1 << 20)
#define EVENT_RCVBUF		(4 << 20)

struct sgnl {
	struct nl_sock *sk;
	int family;
	bool events;			/* subscribed: an events-only handle */
	struct sgnl_error error;
	/* The request in flight, to name the attribute an error blames. */
	struct nlmsghdr *req;
	size_t req_size;
};

/* One request in flight: what the callbacks learn. */
struct req {
	struct sgnl *h;
	sgnl_msg_fn fn;
	void *arg;
	unsigned int seq;
	int kerr;			/* the kernel's errno, negative */
	int fn_ret;			/* first non-zero return of fn */
	bool done;			/* ACK, error or end of dump seen */
};

/* ---- errors ----------------------------------------------------------- */

static void error_clear(struct sgnl *h)
{
	h->error.err = 0;
	h->error.msg[0] = '\0';
	h->error.offset = -1;
	h->error.miss_type = -1;
	h->error.attr[0] = '\0';
	h->error.kernel_msg = false;
}

static int __attribute__((format(printf, 3, 4)))
fail(struct sgnl *h, int err, const char *fmt, ...)
{
	va_list ap;

	h->error.err = err;
	h->error.kernel_msg = false;
	va_start(ap, fmt);
	vsnprintf(h->error.msg, sizeof(h->error.msg), fmt, ap);
	va_end(ap);
	return err;
}

/*
 * Callers get a negative errno, but libnl 3.7 returns its own codes (NLE_*)
 * and offers no way back (there is nl_syserr2nlerr(), no inverse).  Where
 * its failure was a system call's, libnl made the code from errno with
 * nl_syserr2nlerr(), which folds several into one (ENOBUFS and ENOMEM are
 * both NLE_NOMEM, most are NLE_FAILURE) but leaves errno as the call set
 * it: @sys is that errno (the caller cleared it before the call, or passes
 * 0 where no system call was made), believed when nl_syserr2nlerr() turns
 * it into the very code libnl returned.  The rest are codes libnl makes up
 * itself in the calls we make, and what genl_ctrl_resolve() passed of the
 * kernel's errno (ENOENT, EINVAL, ENOMEM: its others read -EIO).  Our own
 * requests' kernel errors never come here: on_error keeps the errno.
 */
static int lib_errno(int nlerr, int sys)
{
	nlerr = nlerr < 0 ? -nlerr : nlerr;
	if (sys > 0 && nl_syserr2nlerr(sys) == nlerr)
		return -sys;
	switch (nlerr) {
	case NLE_NOMEM:		return -ENOMEM;
	case NLE_INVAL:		return -EINVAL;
	case NLE_OBJ_NOTFOUND:	return -ENOENT;
	case NLE_MSGSIZE:
	case NLE_MSG_TOOSHORT:
	case NLE_MSG_TRUNC:	return -EMSGSIZE;
	case NLE_DUMP_INTR:	return -EINTR;
	case NLE_BAD_SOCK:	return -EBADF;
	case NLE_SEQ_MISMATCH:
	case NLE_MSGTYPE_NOSUPPORT:
	case NLE_PARSE_ERR:	return -EPROTO;
	default:		return -EIO;
	}
}

const char *sgnl_error_msg(const struct sgnl *h)
{
	return h->error.msg;
}

const struct sgnl_error *sgnl_error(const struct sgnl *h)
{
	return &h->error;
}

int sgnl_fd(const struct sgnl *h)
{
	return nl_socket_get_fd(h->sk);
}

/*
 * The extended ACK.  libnl (3.7 here, and none up to 3.11) has no support
 * for it: no call that sets NETLINK_EXT_ACK, no accessor for the TLVs.
 * Its error callback gets the struct nlmsgerr alone, and it reads neither
 * the errno nor the TLVs of an NLMSG_DONE.  So open_socket() sets the
 * option on libnl's fd, and the TLVs, which follow @hdrlen bytes of the
 * message's payload, are read here with libnl's parser.
 */
static struct nla_policy ext_ack_nla[NLMSGERR_ATTR_MAX + 1] = {
	[NLMSGERR_ATTR_MSG]		= { .type = NLA_STRING },
	[NLMSGERR_ATTR_OFFS]		= { .type = NLA_U32 },
	[NLMSGERR_ATTR_MISS_TYPE]	= { .type = NLA_U32 },
};

static void parse_tlvs(struct sgnl *h, struct nlmsghdr *nlh, size_t hdrlen)
{
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS) ||
	    nlmsg_parse(nlh, hdrlen, tb, NLMSGERR_ATTR_MAX, ext_ack_nla))
		return;
	if (tb[NLMSGERR_ATTR_MSG]) {
		snprintf(h->error.msg, sizeof(h->error.msg), "%s",
			 nla_get_string(tb[NLMSGERR_ATTR_MSG]));
		h->error.kernel_msg = true;
	}
	if (tb[NLMSGERR_ATTR_OFFS]) {
		h->error.offset = nla_get_u32(tb[NLMSGERR_ATTR_OFFS]);
		if (h->req)
			sgnl_attr_path(h->req, h->error.offset, h->error.attr,
				       sizeof(h->error.attr));
	}
	if (tb[NLMSGERR_ATTR_MISS_TYPE])
		h->error.miss_type = nla_get_u32(tb[NLMSGERR_ATTR_MISS_TYPE]);
}

/*
 * An NLMSG_ERROR (or ACK) carries our request back, whole or, when
 * NLM_F_CAPPED, only its header; the TLVs follow.
 */
static void parse_ext_ack(struct sgnl *h, struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = nlmsg_data(nlh);
	size_t echoed;

	if (!nlmsg_valid_hdr(nlh, sizeof(*e)))
		return;
	if (nlh->nlmsg_flags & NLM_F_CAPPED)
		echoed = sizeof(struct nlmsghdr);
	else
		echoed = e->msg.nlmsg_len;
	if (echoed >= sizeof(struct nlmsghdr))
		parse_tlvs(h, nlh, sizeof(e->error) + echoed);
}

/* ---- the receive callbacks -------------------------------------------- */

/* Replies to an earlier, abandoned request are not ours: skip them. */
static int on_seq_check(struct nl_msg *msg, void *arg)
{
	struct req *r = arg;

	return nlmsg_hdr(msg)->nlmsg_seq == r->seq ? NL_OK : NL_SKIP;
}

static int on_valid(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct req *r = arg;
	int ret;

	if (nlh->nlmsg_type != r->h->family || !r->fn || r->fn_ret)
		return NL_OK;
	ret = r->fn(nlh, r->arg);
	if (ret)
		r->fn_ret = ret;
	/* A dump is drained even when the caller is done with it. */
	return NL_OK;
}

/* A successful ACK may still carry a warning. */
static int on_ack(struct nl_msg *msg, void *arg)
{
	struct req *r = arg;

	parse_ext_ack(r->h, nlmsg_hdr(msg));
	r->done = true;
	return NL_STOP;
}

/* NLMSG_DONE ends a dump; its payload is the dump's errno. */
static int on_finish(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct req *r = arg;
	int err;

	r->done = true;
	if (!nlmsg_valid_hdr(nlh, sizeof(err)))
		return NL_STOP;
	memcpy(&err, nlmsg_data(nlh), sizeof(err));
	if (err < 0) {
		r->kerr = err;
		parse_tlvs(r->h, nlh, sizeof(err));
	}
	return NL_STOP;
}

/*
 * libnl turns the kernel's errno into one of its codes (nl_syserr2nlerr,
 * which folds many into NLE_FAILURE) and returns that: r->kerr keeps the
 * errno itself.  Other requests' errors never get here (on_seq_check).
 */
static int on_error(struct sockaddr_nl *nla __always_unused,
		    struct nlmsgerr *e, void *arg)
{
	/* libnl passes nlmsg_data() of the message: its header is before. */
	struct nlmsghdr *nlh = (struct nlmsghdr *)((char *)e - NLMSG_HDRLEN);
	struct req *r = arg;

	r->kerr = e->error < 0 ? e->error : -EPROTO;
	parse_ext_ack(r->h, nlh);
	r->done = true;
	return NL_STOP;
}

/*
 * A clone of the socket's callbacks, so that what NLCB=debug (libnl's
 * environment switch) set there still prints; NULL without memory.
 */
static struct nl_cb *clone_cb(struct sgnl *h)
{
	struct nl_cb *sock_cb = nl_socket_get_cb(h->sk), *cb;

	cb = nl_cb_clone(sock_cb);
	nl_cb_put(sock_cb);
	return cb;
}

/*
 * NLM_F_DUMP_INTR is left to libnl: it reads the dump to its end and then
 * returns -NLE_DUMP_INTR.
 */
static struct nl_cb *req_cb(struct sgnl *h, struct req *r)
{
	struct nl_cb *cb = clone_cb(h);

	if (!cb)
		return NULL;
	nl_cb_set(cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, on_seq_check, r);
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_valid, r);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, on_ack, r);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, on_finish, r);
	nl_cb_err(cb, NL_CB_CUSTOM, on_error, r);
	return cb;
}

/* ---- requests --------------------------------------------------------- */

struct nl_msg *sgnl_msg(struct sgnl *h, uint8_t cmd, int nlflags,
			size_t size)
{
	struct nl_msg *msg;

	msg = size ? nlmsg_alloc_size(size) : nlmsg_alloc();
	if (!msg)
		return NULL;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, h->family, 0,
			 nlflags, cmd, SMTPGATE_GENL_VERSION)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

static int kernel_error(struct sgnl *h, int err)
{
	h->error.err = err;
	/* No extack: at least the errno's words. */
	if (!h->error.msg[0])
		snprintf(h->error.msg, sizeof(h->error.msg), "%s",
			 strerror(-err));
	return err;
}

/*
 * Copies the request so an error's attribute offset can be named after
 * the message is gone; without memory, errors are just not named.
 */
static void keep_request(struct sgnl *h, const struct nlmsghdr *nlh)
{
	struct nlmsghdr *copy;

	if (h->req_size < nlh->nlmsg_len) {
		copy = realloc(h->req, nlh->nlmsg_len);
		if (!copy) {
			free(h->req);
			h->req = NULL;
			h->req_size = 0;
			return;
		}
		h->req = copy;
		h->req_size = nlh->nlmsg_len;
	}
	memcpy(h->req, nlh, nlh->nlmsg_len);
}

/* Receives until the ACK, the error or the end of the dump. */
static int receive(struct sgnl *h, struct req *r, struct nl_cb *cb)
{
	bool intr = false;
	int ret;

	while (!r->done) {
		errno = 0;
		ret = nl_recvmsgs(h->sk, cb);
		if (ret == -NLE_DUMP_INTR)
			intr = true;
		else if (ret < 0 && !r->done)
			return fail(h, lib_errno(ret, errno),
				    "cannot receive: %s", nl_geterror(ret));
	}
	if (r->kerr)
		return kernel_error(h, r->kerr);
	if (intr)
		return fail(h, -EINTR,
			    "the table changed during the dump; try again");
	return 0;
}

int sgnl_request(struct sgnl *h, struct nl_msg *msg,
		 sgnl_msg_fn fn, void *arg)
{
	struct req r = { .h = h, .fn = fn, .arg = arg };
	struct nl_cb *cb;
	int ret;

	error_clear(h);
	if (!msg)
		return fail(h, -ENOMEM, "cannot build the netlink request");
	if (h->events) {
		nlmsg_free(msg);
		return fail(h, -EINVAL, "an events handle sends no requests");
	}
	nl_complete_msg(h->sk, msg);
	r.seq = nlmsg_hdr(msg)->nlmsg_seq;
	keep_request(h, nlmsg_hdr(msg));
	cb = req_cb(h, &r);
	if (!cb) {
		nlmsg_free(msg);
		return fail(h, -ENOMEM, "cannot allocate netlink callbacks");
	}
	errno = 0;
	ret = nl_send(h->sk, msg);
	if (ret < 0)
		ret = lib_errno(ret, errno);
	nlmsg_free(msg);
	if (ret < 0)
		fail(h, ret, "cannot send: %s", strerror(-ret));
	else
		ret = receive(h, &r, cb);
	nl_cb_put(cb);
	if (ret)
		return ret;
	if (r.fn_ret < 0 && !h->error.err)
		fail(h, r.fn_ret, "%s", r.fn_ret == -EPROTO ?
		     "malformed reply from the kernel" : strerror(-r.fn_ret));
	return r.fn_ret;
}

/*
 * Whether to redo a dump that returned @ret (*@tries: 0 before the first
 * redo).  An interrupted one is redone up to SGNL_DUMP_TRIES times in
 * all, after a pause that doubles each time, 10 to 160 ms: a table resize
 * the kernel left pending (its GFP_ATOMIC bucket table failed, the worker
 * makes it) interrupts every dump until it is done, and five dumps in a
 * row outran it on a slow machine (faults.sh, the debug kernel).
 */
#define SGNL_DUMP_TRIES	6

bool sgnl_dump_again(int ret, unsigned int *tries)
{
	struct timespec pause = { 0, 10000000L };

	if (ret != -EINTR || *tries + 1 >= SGNL_DUMP_TRIES)
		return false;
	pause.tv_nsec <<= (*tries)++;
	nanosleep(&pause, NULL);
	return true;
}

/* A request without a reply of its own: only the ACK. */
static int request_ack(struct sgnl *h, struct nl_msg *msg)
{
	return sgnl_request(h, msg, NULL, NULL);
}

/* ---- opening ---------------------------------------------------------- */

/* For the options libnl has no call for: NETLINK_EXT_ACK, NETLINK_CAP_ACK. */
static int set_sockopt(struct sgnl *h, int opt, const char *name)
{
	int one = 1;

	if (setsockopt(nl_socket_get_fd(h->sk), SOL_NETLINK, opt,
		       &one, sizeof(one)))
		return fail(h, -errno, "cannot set %s: %s", name,
			    strerror(errno));
	return 0;
}

static int open_socket(struct sgnl *h)
{
	int ret;

	h->sk = nl_socket_alloc();
	if (!h->sk)
		return fail(h, -ENOMEM, "cannot allocate a netlink socket");
	errno = 0;
	ret = genl_connect(h->sk);
	if (ret < 0)
		return fail(h, lib_errno(ret, errno),
			    "cannot open a generic netlink socket: %s",
			    nl_geterror(ret));
	errno = 0;
	ret = nl_socket_set_buffer_size(h->sk, SOCK_RCVBUF, SOCK_SNDBUF);
	if (ret < 0)
		return fail(h, lib_errno(ret, errno),
			    "cannot size the netlink socket's buffers: %s",
			    nl_geterror(ret));
	/* The kernel's messages are why we are here. */
	ret = set_sockopt(h, NETLINK_EXT_ACK, "NETLINK_EXT_ACK");
	if (ret)
		return ret;
	/* A refused 64 KiB batch need not come back whole. */
	return set_sockopt(h, NETLINK_CAP_ACK, "NETLINK_CAP_ACK");
}

/* Resolving the family is also what autoloads the module. */
static int resolve_family(struct sgnl *h)
{
	int id;

	errno = 0;
	id = genl_ctrl_resolve(h->sk, SMTPGATE_GENL_NAME);
	if (id == -NLE_OBJ_NOTFOUND)
		return fail(h, -ENOENT, "no generic netlink family '%s': "
			    "is the smtpgate module loaded? (try 'modprobe smtpgate')",
			    SMTPGATE_GENL_NAME);
	if (id < 0)
		return fail(h, lib_errno(id, errno),
			    "cannot resolve generic netlink family '%s': %s",
			    SMTPGATE_GENL_NAME, nl_geterror(id));
	h->family = id;
	return 0;
}

/*
 * On failure *hp still gets a handle, holding only the error, so that the
 * caller can print sgnl_error_msg() before sgnl_close(); NULL on -ENOMEM.
 */
int sgnl_open(struct sgnl **hp)
{
	struct sgnl *h;
	int ret;

	*hp = h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	error_clear(h);
	ret = open_socket(h);
	if (!ret)
		ret = resolve_family(h);
	if (ret && h->sk) {
		nl_socket_free(h->sk);
		h->sk = NULL;
	}
	return ret;
}

void sgnl_close(struct sgnl *h)
{
	if (!h)
		return;
	if (h->sk)
		nl_socket_free(h->sk);
	free(h->req);
	free(h);
}

/* ---- building attributes ---------------------------------------------- */

/* Empty nests are meaningful (an empty list); libnl would drop them. */
static struct nlattr *nest_start(struct nl_msg *msg, int type)
{
	return nla_nest_start(msg, type | NLA_F_NESTED);
}

static int nest_end(struct nl_msg *msg, struct nlattr *nest, int ret)
{
	if (ret < 0) {
		nla_nest_cancel(msg, nest);
		return ret;
	}
	return nla_nest_end_keep_empty(msg, nest);
}

/* FAMILY u16, ADDR 4 or 16 bytes, and the length unless @len_type is 0. */
static int put_prefix(struct nl_msg *msg, int fam_type, int addr_type,
		      int len_type, const struct sg_prefix *p)
{
	size_t alen = sg_family_addr_len(p->family);
	int ret;

	if (!alen)
		return -NLE_INVAL;
	ret = nla_put_u16(msg, fam_type, p->family);
	if (!ret)
		ret = nla_put(msg, addr_type, alen, p->addr.bytes);
	if (!ret && len_type)
		ret = nla_put_u8(msg, len_type, p->len);
	return ret;
}

static int put_prefix_list(struct nl_msg *msg, int type,
			   const struct sgnl_prefix_list *l)
{
	struct nlattr *list, *e;
	unsigned int i;
	int ret = 0;

	list = nest_start(msg, type);
	if (!list)
		return -NLE_NOMEM;
	for (i = 0; i < l->n && !ret; i++) {
		e = nest_start(msg, SMTPGATE_A_PREFIX_ENTRY);
		if (!e) {
			ret = -NLE_NOMEM;
			break;
		}
		ret = nest_end(msg, e, put_prefix(msg, SMTPGATE_A_PREFIX_FAMILY,
						  SMTPGATE_A_PREFIX_ADDR,
						  SMTPGATE_A_PREFIX_LEN,
						  &l->v[i]));
	}
	return nest_end(msg, list, ret);
}

static int put_ports(struct nl_msg *msg, const struct sgnl_policy *pol)
{
	struct nlattr *nest;
	unsigned int i;
	int ret = 0;

	nest = nest_start(msg, SMTPGATE_A_POLICY_PORTS);
	if (!nest)
		return -NLE_NOMEM;
	for (i = 0; i < pol->nports && !ret; i++)
		ret = nla_put_u16(msg, SMTPGATE_A_PORT, pol->ports[i]);
	return nest_end(msg, nest, ret);
}

/* One key of the shared table (polkey.c), when present in @p. */
static int put_policy_key(struct nl_msg *msg, const struct sgnl_policy *p,
			  const struct sg_polkey *k)
{
	uint32_t v = sg_polkey_get(k, p);
	int ret = 0;

	if (!sg_polkey_present(k, p))
		return 0;
	switch (k->kind) {
	case SG_PK_PREFIXES:
		return put_prefix_list(msg, k->attr,
				       (const void *)((const char *)p + k->off));
	case SG_PK_PORTS:
		return put_ports(msg, p);
	case SG_PK_SUBMISSION:
		if (p->has & SGNL_POLICY_HAS(SMTPGATE_A_POLICY_SUBMISSION4))
			ret = nla_put(msg, SMTPGATE_A_POLICY_SUBMISSION4,
				      sizeof(p->submission4), &p->submission4);
		if (!ret && p->has & SGNL_POLICY_HAS(SMTPGATE_A_POLICY_SUBMISSION6))
			ret = nla_put(msg, SMTPGATE_A_POLICY_SUBMISSION6,
				      sizeof(p->submission6), &p->submission6);
		return ret;
	default:
		break;
	}
	switch (k->width) {
	case 1:
		return nla_put_u8(msg, k->attr, v);
	case 2:
		return nla_put_u16(msg, k->attr, v);
	default:
		return nla_put_u32(msg, k->attr, v);
	}
}

/*
 * Every attribute @p has, the generation included: present (as a get
 * leaves it), it makes the set conditional on the policy being unchanged.
 */
static int put_policy(struct nl_msg *msg, const struct sgnl_policy *p)
{
	struct nlattr *nest;
	size_t i;
	int ret = 0;

	nest = nest_start(msg, SMTPGATE_A_POLICY);
	if (!nest)
		return -NLE_NOMEM;
	for (i = 0; i < sg_npolkeys && !ret; i++)
		ret = put_policy_key(msg, p, &sg_polkeys[i]);
	return nest_end(msg, nest, ret);
}

static int put_ban(struct nl_msg *msg, const struct sgnl_ban *b)
{
	struct nlattr *nest;
	int ret;

	nest = nest_start(msg, SMTPGATE_A_BAN);
	if (!nest)
		return -NLE_NOMEM;
	ret = put_prefix(msg, SMTPGATE_A_BAN_FAMILY, SMTPGATE_A_BAN_ADDR,
			 SMTPGATE_A_BAN_PREFIX_LEN, &b->prefix);
	if (!ret && b->scope)
		ret = nla_put_u8(msg, SMTPGATE_A_BAN_SCOPE, b->scope);
	if (!ret && b->timeout)
		ret = nla_put_u32(msg, SMTPGATE_A_BAN_TIMEOUT, b->timeout);
	if (!ret && b->reason[0])
		ret = nla_put_string(msg, SMTPGATE_A_BAN_REASON, b->reason);
	return nest_end(msg, nest, ret);
}

/* A host or ban given by its address only (gets, deletes, forgets). */
static int put_addr_nest(struct nl_msg *msg, int type, int fam_type,
			 int addr_type, int len_type,
			 const struct sg_prefix *p)
{
	struct nlattr *nest;

	nest = nest_start(msg, type);
	if (!nest)
		return -NLE_NOMEM;
	return nest_end(msg, nest, put_prefix(msg, fam_type, addr_type,
					      len_type, p));
}

/* A message we could not build: bad input (a family) or no room. */
static int build_error(struct sgnl *h, struct nl_msg *msg, int nlerr,
		       const char *what)
{
	nlmsg_free(msg);
	if (nlerr == -NLE_INVAL)
		return fail(h, -EINVAL, "%s: address family %s", what,
			    "is neither AF_INET nor AF_INET6");
	return fail(h, lib_errno(nlerr, 0), "%s: %s", what,
		    nl_geterror(nlerr));
}

/* ---- parsing replies -------------------------------------------------- */

static struct nla_policy prefix_nla[SMTPGATE_A_PREFIX_MAX + 1] = {
	[SMTPGATE_A_PREFIX_FAMILY]	= { .type = NLA_U16 },
	[SMTPGATE_A_PREFIX_ADDR]	= { .minlen = 4 },
	[SMTPGATE_A_PREFIX_LEN]		= { .type = NLA_U8 },
};

static struct nla_policy ban_nla[SMTPGATE_A_BAN_MAX + 1] = {
	[SMTPGATE_A_BAN_FAMILY]		= { .type = NLA_U16 },
	[SMTPGATE_A_BAN_ADDR]		= { .minlen = 4 },
	[SMTPGATE_A_BAN_PREFIX_LEN]	= { .type = NLA_U8 },
	[SMTPGATE_A_BAN_SCOPE]		= { .type = NLA_U8 },
	[SMTPGATE_A_BAN_TIMEOUT]	= { .type = NLA_U32 },
	[SMTPGATE_A_BAN_REASON]		= { .type = NLA_STRING,
					    .maxlen = SMTPGATE_BAN_REASON_LEN },
	[SMTPGATE_A_BAN_CREATED]	= { .type = NLA_U64 },
	[SMTPGATE_A_BAN_DROPS]		= { .type = NLA_U64 },
};

static struct nla_policy host_nla[SMTPGATE_A_HOST_MAX + 1] = {
	[SMTPGATE_A_HOST_FAMILY]	= { .type = NLA_U16 },
	[SMTPGATE_A_HOST_ADDR]		= { .minlen = 4 },
	[SMTPGATE_A_HOST_PREFIX_LEN]	= { .type = NLA_U8 },
	[SMTPGATE_A_HOST_FIRST_SEEN]	= { .type = NLA_U64 },
	[SMTPGATE_A_HOST_LAST_SEEN]	= { .type = NLA_U64 },
	[SMTPGATE_A_HOST_ATTEMPTS]	= { .type = NLA_NESTED },
	[SMTPGATE_A_HOST_BLOCKED]	= { .type = NLA_U32 },
	[SMTPGATE_A_HOST_REDIRECTED]	= { .type = NLA_U32 },
	[SMTPGATE_A_HOST_LOGGED]	= { .type = NLA_U32 },
	[SMTPGATE_A_HOST_RATE]		= { .type = NLA_U32 },
	[SMTPGATE_A_HOST_BLOCKED_RATE]	= { .type = NLA_U32 },
	[SMTPGATE_A_HOST_DESTINATIONS]	= { .type = NLA_U32 },
	[SMTPGATE_A_HOST_FLAGS]		= { .type = NLA_U32 },
	[SMTPGATE_A_HOST_REASONS]	= { .type = NLA_U32 },
	[SMTPGATE_A_HOST_FLAGGED_AT]	= { .type = NLA_U64 },
};

/* Built from the key table on first use (policy_nla_init()). */
static struct nla_policy policy_nla[SMTPGATE_A_POLICY_MAX + 1];

static void policy_nla_init(void)
{
	static const int by_width[] = { [1] = NLA_U8, [2] = NLA_U16,
					[4] = NLA_U32 };
	const struct sg_polkey *k;
	size_t i;

	if (policy_nla[SMTPGATE_A_POLICY_WINDOW].type)
		return;
	for (i = 0; i < sg_npolkeys; i++) {
		k = &sg_polkeys[i];
		if (k->attr > SMTPGATE_A_POLICY_MAX)
			continue;
		switch (k->kind) {
		case SG_PK_PREFIXES:
		case SG_PK_PORTS:
			policy_nla[k->attr].type = NLA_NESTED;
			break;
		case SG_PK_SUBMISSION:
			policy_nla[SMTPGATE_A_POLICY_SUBMISSION4].minlen = 4;
			policy_nla[SMTPGATE_A_POLICY_SUBMISSION6].minlen = 16;
			break;
		default:
			policy_nla[k->attr].type = by_width[k->width];
			break;
		}
	}
}

static struct nla_policy stats_nla[SMTPGATE_A_STATS_MAX + 1] = {
	[SMTPGATE_A_STATS_PACKETS]	= { .type = NLA_NESTED },
	[SMTPGATE_A_STATS_HOSTS]	= { .type = NLA_U32 },
	[SMTPGATE_A_STATS_FLAGGED]	= { .type = NLA_U32 },
	[SMTPGATE_A_STATS_BANS]		= { .type = NLA_U32 },
	[SMTPGATE_A_STATS_HOST_EVICTIONS] = { .type = NLA_U64 },
	[SMTPGATE_A_STATS_HOST_CAP_MISSES] = { .type = NLA_U64 },
	[SMTPGATE_A_STATS_BAN_CAP_REJECTS] = { .type = NLA_U64 },
	[SMTPGATE_A_STATS_EVENT_LOSSES]	= { .type = NLA_U64 },
	[SMTPGATE_A_STATS_HOST_BYTES]	= { .type = NLA_U32 },
	[SMTPGATE_A_STATS_BAN_BYTES]	= { .type = NLA_U32 },
	[SMTPGATE_A_STATS_INSTANCE]	= { .type = NLA_U64 },
	[SMTPGATE_A_STATS_FLUSHES]	= { .type = NLA_U32 },
	[SMTPGATE_A_STATS_HOST_AGGREGATES] = { .type = NLA_U64 },
};

static struct nla_policy entry_nla[SMTPGATE_A_STATS_ENTRY_MAX + 1] = {
	[SMTPGATE_A_STATS_CLASS]	= { .type = NLA_U8 },
	[SMTPGATE_A_STATS_VERDICT]	= { .type = NLA_U8 },
	[SMTPGATE_A_STATS_COUNT]	= { .type = NLA_U64 },
};

/* Family, address and (optional: full) length, checked for consistency. */
static int get_prefix(struct nlattr *fam, struct nlattr *addr,
		      struct nlattr *len, struct sg_prefix *p)
{
	size_t alen;

	memset(p, 0, sizeof(*p));
	if (!fam || !addr)
		return -EPROTO;
	p->family = nla_get_u16(fam);
	alen = sg_family_addr_len(p->family);
	if (!alen || (size_t)nla_len(addr) != alen)
		return -EPROTO;
	memcpy(p->addr.bytes, nla_data(addr), alen);
	p->len = len ? nla_get_u8(len) : sg_family_bits(p->family);
	if (p->len > sg_family_bits(p->family))
		return -EPROTO;
	return 0;
}

static uint32_t get_u32(struct nlattr *a)
{
	return a ? nla_get_u32(a) : 0;
}

static uint64_t get_u64(struct nlattr *a)
{
	return a ? nla_get_u64(a) : 0;
}

int sgnl_parse_ban(const struct nlattr *nest, struct sgnl_ban *b)
{
	struct nlattr *tb[SMTPGATE_A_BAN_MAX + 1];
	int ret;

	memset(b, 0, sizeof(*b));
	if (nla_parse_nested(tb, SMTPGATE_A_BAN_MAX, (struct nlattr *)nest,
			     ban_nla))
		return -EPROTO;
	ret = get_prefix(tb[SMTPGATE_A_BAN_FAMILY], tb[SMTPGATE_A_BAN_ADDR],
			 tb[SMTPGATE_A_BAN_PREFIX_LEN], &b->prefix);
	if (ret)
		return ret;
	if (tb[SMTPGATE_A_BAN_SCOPE])
		b->scope = nla_get_u8(tb[SMTPGATE_A_BAN_SCOPE]);
	b->timeout = get_u32(tb[SMTPGATE_A_BAN_TIMEOUT]);
	if (tb[SMTPGATE_A_BAN_REASON])
		nla_strlcpy(b->reason, tb[SMTPGATE_A_BAN_REASON],
			    sizeof(b->reason));
	b->created = get_u64(tb[SMTPGATE_A_BAN_CREATED]);
	b->drops = get_u64(tb[SMTPGATE_A_BAN_DROPS]);
	return 0;
}

/* One u32 per class, the attribute type being the class. */
static int get_attempts(struct nlattr *nest, uint32_t *attempts)
{
	struct nlattr *a;
	int rem;

	if (!nest)
		return 0;
	nla_for_each_nested(a, nest, rem) {
		if (nla_type(a) > SMTPGATE_CLASS_MAX || nla_len(a) != 4)
			return -EPROTO;
		attempts[nla_type(a)] = nla_get_u32(a);
	}
	return 0;
}

int sgnl_parse_host(const struct nlattr *nest, struct sgnl_host *host)
{
	struct nlattr *tb[SMTPGATE_A_HOST_MAX + 1];
	int ret;

	memset(host, 0, sizeof(*host));
	if (nla_parse_nested(tb, SMTPGATE_A_HOST_MAX, (struct nlattr *)nest,
			     host_nla))
		return -EPROTO;
	ret = get_prefix(tb[SMTPGATE_A_HOST_FAMILY], tb[SMTPGATE_A_HOST_ADDR],
			 tb[SMTPGATE_A_HOST_PREFIX_LEN], &host->prefix);
	if (!ret)
		ret = get_attempts(tb[SMTPGATE_A_HOST_ATTEMPTS],
				   host->attempts);
	if (ret)
		return ret;
	host->first_seen = get_u64(tb[SMTPGATE_A_HOST_FIRST_SEEN]);
	host->last_seen = get_u64(tb[SMTPGATE_A_HOST_LAST_SEEN]);
	host->blocked = get_u32(tb[SMTPGATE_A_HOST_BLOCKED]);
	host->redirected = get_u32(tb[SMTPGATE_A_HOST_REDIRECTED]);
	host->logged = get_u32(tb[SMTPGATE_A_HOST_LOGGED]);
	host->rate = get_u32(tb[SMTPGATE_A_HOST_RATE]);
	host->blocked_rate = get_u32(tb[SMTPGATE_A_HOST_BLOCKED_RATE]);
	host->destinations = get_u32(tb[SMTPGATE_A_HOST_DESTINATIONS]);
	host->flags = get_u32(tb[SMTPGATE_A_HOST_FLAGS]);
	host->reasons = get_u32(tb[SMTPGATE_A_HOST_REASONS]);
	host->flagged_at = get_u64(tb[SMTPGATE_A_HOST_FLAGGED_AT]);
	return 0;
}

static int get_prefix_list(struct nlattr *nest, struct sgnl_prefix_list *l)
{
	struct nlattr *tb[SMTPGATE_A_PREFIX_MAX + 1];
	struct nlattr *e;
	int rem, ret;

	l->n = 0;
	nla_for_each_nested(e, nest, rem) {
		if (nla_type(e) != SMTPGATE_A_PREFIX_ENTRY ||
		    l->n == SMTPGATE_MAX_PREFIXES)
			return -EPROTO;
		if (nla_parse_nested(tb, SMTPGATE_A_PREFIX_MAX, e, prefix_nla))
			return -EPROTO;
		ret = get_prefix(tb[SMTPGATE_A_PREFIX_FAMILY],
				 tb[SMTPGATE_A_PREFIX_ADDR],
				 tb[SMTPGATE_A_PREFIX_LEN], &l->v[l->n++]);
		if (ret)
			return ret;
	}
	return 0;
}

static int get_ports(struct nlattr *nest, struct sgnl_policy *pol)
{
	struct nlattr *a;
	int rem;

	pol->nports = 0;
	nla_for_each_nested(a, nest, rem) {
		if (nla_type(a) != SMTPGATE_A_PORT || nla_len(a) != 2 ||
		    pol->nports == SMTPGATE_MAX_PORTS)
			return -EPROTO;
		pol->ports[pol->nports++] = nla_get_u16(a);
	}
	return 0;
}

static int get_policy_key(struct nlattr **tb, struct sgnl_policy *p,
			  const struct sg_polkey *k)
{
	struct nlattr *a = tb[k->attr];

	switch (k->kind) {
	case SG_PK_PREFIXES:
		return a ? get_prefix_list(a, (void *)((char *)p + k->off)) : 0;
	case SG_PK_PORTS:
		return a ? get_ports(a, p) : 0;
	case SG_PK_SUBMISSION:
		if (tb[SMTPGATE_A_POLICY_SUBMISSION4])
			memcpy(&p->submission4,
			       nla_data(tb[SMTPGATE_A_POLICY_SUBMISSION4]), 4);
		if (tb[SMTPGATE_A_POLICY_SUBMISSION6])
			memcpy(&p->submission6,
			       nla_data(tb[SMTPGATE_A_POLICY_SUBMISSION6]), 16);
		return 0;
	default:
		break;
	}
	if (a)
		sg_polkey_put(k, p, k->width == 1 ? nla_get_u8(a) :
			      k->width == 2 ? nla_get_u16(a) : nla_get_u32(a));
	return 0;
}

static int parse_policy(struct nlattr *nest, struct sgnl_policy *p)
{
	struct nlattr *tb[SMTPGATE_A_POLICY_MAX + 1];
	size_t i;
	int ret = 0;

	sgnl_policy_init(p);
	policy_nla_init();
	if (nla_parse_nested(tb, SMTPGATE_A_POLICY_MAX, nest, policy_nla))
		return -EPROTO;
	for (i = 1; i <= SMTPGATE_A_POLICY_MAX; i++)
		if (tb[i])
			p->has |= SGNL_POLICY_HAS(i);
	for (i = 0; i < sg_npolkeys && !ret; i++)
		ret = get_policy_key(tb, p, &sg_polkeys[i]);
	return ret;
}

static int parse_packets(struct nlattr *nest, struct sgnl_stats *st)
{
	struct nlattr *tb[SMTPGATE_A_STATS_ENTRY_MAX + 1];
	struct nlattr *e;
	unsigned int class, verdict;
	int rem;

	nla_for_each_nested(e, nest, rem) {
		if (nla_type(e) != SMTPGATE_A_STATS_ENTRY ||
		    nla_parse_nested(tb, SMTPGATE_A_STATS_ENTRY_MAX, e,
				     entry_nla) ||
		    !tb[SMTPGATE_A_STATS_CLASS] ||
		    !tb[SMTPGATE_A_STATS_VERDICT] ||
		    !tb[SMTPGATE_A_STATS_COUNT])
			return -EPROTO;
		class = nla_get_u8(tb[SMTPGATE_A_STATS_CLASS]);
		verdict = nla_get_u8(tb[SMTPGATE_A_STATS_VERDICT]);
		/* Classes or verdicts newer than us are not ours to show. */
		if (class > SMTPGATE_CLASS_MAX ||
		    verdict > SMTPGATE_VERDICT_MAX)
			continue;
		st->packets[class][verdict] =
			nla_get_u64(tb[SMTPGATE_A_STATS_COUNT]);
	}
	return 0;
}

static int parse_stats(struct nlattr *nest, struct sgnl_stats *st)
{
	struct nlattr *tb[SMTPGATE_A_STATS_MAX + 1];

	memset(st, 0, sizeof(*st));
	if (nla_parse_nested(tb, SMTPGATE_A_STATS_MAX, nest, stats_nla))
		return -EPROTO;
	st->hosts = get_u32(tb[SMTPGATE_A_STATS_HOSTS]);
	st->flagged = get_u32(tb[SMTPGATE_A_STATS_FLAGGED]);
	st->bans = get_u32(tb[SMTPGATE_A_STATS_BANS]);
	st->host_evictions = get_u64(tb[SMTPGATE_A_STATS_HOST_EVICTIONS]);
	st->host_cap_misses = get_u64(tb[SMTPGATE_A_STATS_HOST_CAP_MISSES]);
	st->host_aggregates = get_u64(tb[SMTPGATE_A_STATS_HOST_AGGREGATES]);
	st->ban_cap_rejects = get_u64(tb[SMTPGATE_A_STATS_BAN_CAP_REJECTS]);
	st->event_losses = get_u64(tb[SMTPGATE_A_STATS_EVENT_LOSSES]);
	st->host_bytes = get_u32(tb[SMTPGATE_A_STATS_HOST_BYTES]);
	st->ban_bytes = get_u32(tb[SMTPGATE_A_STATS_BAN_BYTES]);
	st->instance = get_u64(tb[SMTPGATE_A_STATS_INSTANCE]);
	st->flushes = get_u32(tb[SMTPGATE_A_STATS_FLUSHES]);
	if (tb[SMTPGATE_A_STATS_PACKETS])
		return parse_packets(tb[SMTPGATE_A_STATS_PACKETS], st);
	return 0;
}

/*
 * The top-level attributes of a reply of our family; NULL policy: the
 * nested parsers check what they read.
 */
static int parse_top(const struct nlmsghdr *nlh,
		     struct nlattr *tb[SMTPGATE_A_MAX + 1])
{
	return genlmsg_parse((struct nlmsghdr *)nlh, 0, tb, SMTPGATE_A_MAX,
			     NULL) ? -EPROTO : 0;
}

/* ---- policy ----------------------------------------------------------- */

void sgnl_policy_init(struct sgnl_policy *pol)
{
	memset(pol, 0, sizeof(*pol));
}

/* The defaults <linux/smtpgate.h> documents, every scalar present. */
void sgnl_policy_defaults(struct sgnl_policy *p)
{
	sgnl_policy_init(p);
	p->action = SMTPGATE_ACTION_DROP;
	p->tunnel_action = SMTPGATE_ACTION_DROP;
	p->submission_port = SMTPGATE_DEFAULT_SUBMISSION_PORT;
	p->submission_tls_port = 0;
	p->nports = 2;
	p->ports[0] = 25;
	p->ports[1] = 465;
	p->window = 60;
	p->rate_limit = 15;
	p->blocked_limit = 10;
	p->dest_limit = 10;
	p->flag_tunnel = 1;
	p->ban_scope = SMTPGATE_SCOPE_SMTP;
	p->host_prefix4 = 32;
	p->host_prefix6 = 64;
	p->max_hosts = 65536;
	p->max_bans = 1048576;
	p->inspect_bytes = SMTPGATE_DEFAULT_INSPECT_BYTES;
#define H(a) SGNL_POLICY_HAS(SMTPGATE_A_POLICY_##a)
	p->has = H(ACTION) | H(TUNNEL_ACTION) | H(SUBMISSION_PORT) |
		 H(SUBMISSION_TLS_PORT) | H(PORTS) | H(WINDOW) |
		 H(RATE_LIMIT) | H(BLOCKED_LIMIT) | H(DEST_LIMIT) |
		 H(FLAG_TUNNEL) | H(BAN_SCOPE) | H(HOST_PREFIX4) |
		 H(HOST_PREFIX6) | H(MAX_HOSTS) | H(MAX_BANS) |
		 H(INSPECT_BYTES);
#undef H
}

int sgnl_policy_set(struct sgnl *h, const struct sgnl_policy *pol)
{
	struct nl_msg *msg;
	int ret;

	msg = sgnl_msg(h, SMTPGATE_CMD_POLICY_SET, 0, POLICY_MSG_BYTES);
	if (!msg)
		return fail(h, -ENOMEM, "cannot build the policy");
	ret = put_policy(msg, pol);
	if (ret < 0)
		return build_error(h, msg, ret, "cannot build the policy");
	return request_ack(h, msg);
}

static int policy_reply(const struct nlmsghdr *nlh, void *arg)
{
	struct nlattr *tb[SMTPGATE_A_MAX + 1];

	if (parse_top(nlh, tb) || !tb[SMTPGATE_A_POLICY])
		return -EPROTO;
	return parse_policy(tb[SMTPGATE_A_POLICY], arg) ?: 1;
}

/*
 * A doit's reply callback returns 1 once it has its object, so "no reply
 * at all" (0) and "a reply we cannot read" (-EPROTO) are told apart.
 */
static int doit_result(struct sgnl *h, int ret, const char *what)
{
	if (ret == 1)
		return 0;
	if (ret == 0)
		return fail(h, -EPROTO, "the kernel sent no %s", what);
	if (ret == -EPROTO && !h->error.msg[0])
		return fail(h, -EPROTO, "cannot parse the kernel's %s", what);
	return ret;
}

int sgnl_policy_get(struct sgnl *h, struct sgnl_policy *pol)
{
	struct nl_msg *msg = sgnl_msg(h, SMTPGATE_CMD_POLICY_GET, 0, 0);

	return doit_result(h, sgnl_request(h, msg, policy_reply, pol),
			   "policy");
}

/* ---- hosts ------------------------------------------------------------ */

static int host_reply(const struct nlmsghdr *nlh, void *arg)
{
	struct nlattr *tb[SMTPGATE_A_MAX + 1];

	if (parse_top(nlh, tb) || !tb[SMTPGATE_A_HOST])
		return -EPROTO;
	return sgnl_parse_host(tb[SMTPGATE_A_HOST], arg) ?: 1;
}

static int put_host_addr(struct nl_msg *msg, const struct sg_prefix *addr)
{
	return put_addr_nest(msg, SMTPGATE_A_HOST, SMTPGATE_A_HOST_FAMILY,
			     SMTPGATE_A_HOST_ADDR, 0, addr);
}

int sgnl_host_get(struct sgnl *h, const struct sg_prefix *addr,
		  struct sgnl_host *host)
{
	struct nl_msg *msg = sgnl_msg(h, SMTPGATE_CMD_HOST_GET, 0, 0);
	int ret;

	if (!msg)
		return fail(h, -ENOMEM, "cannot build the request");
	ret = put_host_addr(msg, addr);
	if (ret < 0)
		return build_error(h, msg, ret, "cannot look up the host");
	return doit_result(h, sgnl_request(h, msg, host_reply, host), "host");
}

struct walk {
	sgnl_host_fn host_fn;
	sgnl_ban_fn ban_fn;
	void *arg;
};

static int host_entry(const struct nlmsghdr *nlh, void *arg)
{
	struct nlattr *tb[SMTPGATE_A_MAX + 1];
	struct walk *w = arg;
	struct sgnl_host host;

	if (parse_top(nlh, tb) || !tb[SMTPGATE_A_HOST] ||
	    sgnl_parse_host(tb[SMTPGATE_A_HOST], &host))
		return -EPROTO;
	return w->host_fn(&host, w->arg);
}

int sgnl_host_list(struct sgnl *h, bool flagged_only,
		   sgnl_host_fn fn, void *arg)
{
	struct nl_msg *msg = sgnl_msg(h, SMTPGATE_CMD_HOST_GET, NLM_F_DUMP, 0);
	struct walk w = { .host_fn = fn, .arg = arg };

	if (msg && flagged_only &&
	    nla_put_u32(msg, SMTPGATE_A_FLAGS, SMTPGATE_F_FLAGGED_ONLY) < 0)
		return build_error(h, msg, -NLE_NOMEM, "cannot list hosts");
	return sgnl_request(h, msg, host_entry, &w);
}

/* With @addr NULL, forgets every host. */
int sgnl_host_forget(struct sgnl *h, const struct sg_prefix *addr)
{
	struct nl_msg *msg = sgnl_msg(h, SMTPGATE_CMD_HOST_FORGET, 0, 0);
	int ret;

	if (msg && addr) {
		ret = put_host_addr(msg, addr);
		if (ret < 0)
			return build_error(h, msg, ret, "cannot forget the host");
	}
	return request_ack(h, msg);
}

/* Flags a host from userspace: @reasons are SMTPGATE_REASON_* bits. */
int sgnl_host_flag(struct sgnl *h, const struct sg_prefix *addr,
		   uint32_t reasons)
{
	struct nl_msg *msg = sgnl_msg(h, SMTPGATE_CMD_HOST_FLAG, 0, 0);
	struct nlattr *nest;
	int ret;

	if (!msg)
		return fail(h, -ENOMEM, "cannot build the request");
	nest = nest_start(msg, SMTPGATE_A_HOST);
	if (!nest)
		return build_error(h, msg, -NLE_NOMEM, "cannot flag the host");
	ret = put_prefix(msg, SMTPGATE_A_HOST_FAMILY, SMTPGATE_A_HOST_ADDR, 0,
			 addr);
	if (!ret)
		ret = nla_put_u32(msg, SMTPGATE_A_HOST_REASONS, reasons);
	ret = nest_end(msg, nest, ret);
	if (ret < 0)
		return build_error(h, msg, ret, "cannot flag the host");
	return request_ack(h, msg);
}

/* ---- bans ------------------------------------------------------------- */

int sgnl_ban_add(struct sgnl *h, const struct sgnl_ban *ban)
{
	struct nl_msg *msg = sgnl_msg(h, SMTPGATE_CMD_BAN_ADD, 0, 0);
	int ret;

	if (!msg)
		return fail(h, -ENOMEM, "cannot build the ban");
	ret = put_ban(msg, ban);
	if (ret < 0)
		return build_error(h, msg, ret, "cannot build the ban");
	return request_ack(h, msg);
}

/*
 * Fills one batch message from bans[*i] on, as many as fit; returns the
 * message or NULL (h's error set).
 */
static struct nl_msg *batch_msg(struct sgnl *h, const struct sgnl_ban *bans,
				size_t n, size_t *i, bool quiet)
{
	struct nl_msg *msg;
	struct nlattr *list;
	size_t first = *i;
	int ret = 0;

	msg = sgnl_msg(h, SMTPGATE_CMD_BAN_ADD, 0, SGNL_BATCH_BYTES);
	if (!msg) {
		fail(h, -ENOMEM, "cannot build a ban batch");
		return NULL;
	}
	if (quiet)
		ret = nla_put_u32(msg, SMTPGATE_A_FLAGS, SMTPGATE_F_QUIET);
	list = nest_start(msg, SMTPGATE_A_BANS);
	if (!list)
		ret = -NLE_NOMEM;
	if (ret < 0)
		goto full;
	for (; *i < n; (*i)++) {
		ret = put_ban(msg, &bans[*i]);
		if (ret < 0)
			break;
	}
	if (ret == -NLE_NOMEM && *i > first)
		ret = 0;		/* full: the rest goes in the next one */
	if (ret == -NLE_INVAL) {
		nlmsg_free(msg);
		fail(h, -EINVAL, "ban %zu: address family %u is neither "
		     "AF_INET nor AF_INET6", *i, bans[*i].prefix.family);
		return NULL;
	}
	if (ret < 0)
		goto full;
	nla_nest_end_keep_empty(msg, list);
	return msg;
full:
	build_error(h, msg, ret, "cannot build a ban batch");
	return NULL;
}

/*
 * Loads @n bans in messages of up to SGNL_BATCH_BYTES, each all or nothing
 * in the kernel, one at a time (each ACK awaited, so a refusal stops the
 * load where it happened).  *@added, if given, counts the bans of the
 * messages the kernel accepted.
 */
int sgnl_ban_add_batch(struct sgnl *h, const struct sgnl_ban *bans, size_t n,
		       bool quiet, size_t *added)
{
	struct nl_msg *msg;
	size_t i = 0, first;
	int ret;

	if (added)
		*added = 0;
	error_clear(h);
	while (i < n) {
		first = i;
		msg = batch_msg(h, bans, n, &i, quiet);
		if (!msg)
			return h->error.err;
		ret = request_ack(h, msg);
		if (ret < 0)
			return ret;
		if (added)
			*added += i - first;
	}
	return 0;
}

static int put_ban_prefix(struct nl_msg *msg, const struct sg_prefix *p)
{
	return put_addr_nest(msg, SMTPGATE_A_BAN, SMTPGATE_A_BAN_FAMILY,
			     SMTPGATE_A_BAN_ADDR, SMTPGATE_A_BAN_PREFIX_LEN, p);
}

int sgnl_ban_del(struct sgnl *h, const struct sg_prefix *prefix)
{
	struct nl_msg *msg = sgnl_msg(h, SMTPGATE_CMD_BAN_DEL, 0, 0);
	int ret;

	if (!msg)
		return fail(h, -ENOMEM, "cannot build the request");
	ret = put_ban_prefix(msg, prefix);
	if (ret < 0)
		return build_error(h, msg, ret, "cannot delete the ban");
	return request_ack(h, msg);
}

static int ban_reply(const struct nlmsghdr *nlh, void *arg)
{
	struct nlattr *tb[SMTPGATE_A_MAX + 1];

	if (parse_top(nlh, tb) || !tb[SMTPGATE_A_BAN])
		return -EPROTO;
	return sgnl_parse_ban(tb[SMTPGATE_A_BAN], arg) ?: 1;
}

/* "Is @addr banned?": 0 and the covering ban, or -ENOENT. */
int sgnl_ban_test(struct sgnl *h, const struct sg_prefix *addr,
		  struct sgnl_ban *ban)
{
	struct nl_msg *msg = sgnl_msg(h, SMTPGATE_CMD_BAN_GET, 0, 0);
	struct sgnl_ban unused;
	int ret;

	if (!msg)
		return fail(h, -ENOMEM, "cannot build the request");
	/* An address, not a prefix: the kernel refuses a shorter length. */
	ret = put_addr_nest(msg, SMTPGATE_A_BAN, SMTPGATE_A_BAN_FAMILY,
			    SMTPGATE_A_BAN_ADDR, 0, addr);
	if (ret < 0)
		return build_error(h, msg, ret, "cannot test the address");
	return doit_result(h, sgnl_request(h, msg, ban_reply,
					   ban ? ban : &unused), "ban");
}

static int ban_entry(const struct nlmsghdr *nlh, void *arg)
{
	struct nlattr *tb[SMTPGATE_A_MAX + 1];
	struct walk *w = arg;
	struct sgnl_ban ban;

	if (parse_top(nlh, tb) || !tb[SMTPGATE_A_BAN] ||
	    sgnl_parse_ban(tb[SMTPGATE_A_BAN], &ban))
		return -EPROTO;
	return w->ban_fn(&ban, w->arg);
}

int sgnl_ban_list(struct sgnl *h, sgnl_ban_fn fn, void *arg)
{
	struct nl_msg *msg = sgnl_msg(h, SMTPGATE_CMD_BAN_GET, NLM_F_DUMP, 0);
	struct walk w = { .ban_fn = fn, .arg = arg };

	return sgnl_request(h, msg, ban_entry, &w);
}

int sgnl_ban_flush(struct sgnl *h)
{
	return request_ack(h, sgnl_msg(h, SMTPGATE_CMD_BAN_FLUSH, 0, 0));
}

/* ---- stats ------------------------------------------------------------ */

static int stats_reply(const struct nlmsghdr *nlh, void *arg)
{
	struct nlattr *tb[SMTPGATE_A_MAX + 1];

	if (parse_top(nlh, tb) || !tb[SMTPGATE_A_STATS])
		return -EPROTO;
	return parse_stats(tb[SMTPGATE_A_STATS], arg) ?: 1;
}

int sgnl_stats_get(struct sgnl *h, struct sgnl_stats *st)
{
	struct nl_msg *msg = sgnl_msg(h, SMTPGATE_CMD_STATS_GET, 0, 0);

	return doit_result(h, sgnl_request(h, msg, stats_reply, st),
			   "statistics");
}

/* ---- events ----------------------------------------------------------- */

/*
 * Joins the events group.  A caller without CAP_NET_ADMIN gets -EPERM:
 * the errno of libnl's setsockopt(), which lib_errno() recovers.
 */
int sgnl_events_subscribe(struct sgnl *h)
{
	int grp, ret, fd = nl_socket_get_fd(h->sk), size = EVENT_RCVBUF;

	error_clear(h);
	errno = 0;
	grp = genl_ctrl_resolve_grp(h->sk, SMTPGATE_GENL_NAME,
				    SMTPGATE_GENL_MCGRP_EVENTS);
	if (grp < 0)
		return fail(h, lib_errno(grp, errno),
			    "no multicast group '%s' in family '%s': %s",
			    SMTPGATE_GENL_MCGRP_EVENTS, SMTPGATE_GENL_NAME,
			    nl_geterror(grp));
	errno = 0;
	ret = nl_socket_add_membership(h->sk, grp);
	if (ret < 0) {
		ret = lib_errno(ret, errno);
		return fail(h, ret, "cannot join the events group: %s",
			    strerror(-ret));
	}
	/* Bigger than rmem_max needs CAP_NET_ADMIN: best effort. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	nl_socket_set_nonblocking(h->sk);
	/* Multicasts carry no sequence number of ours. */
	nl_socket_disable_seq_check(h->sk);
	h->events = true;
	return 0;
}

struct event_ctx {
	struct sgnl *h;
	sgnl_event_fn fn;
	void *arg;
	int count;
	int ret;
};

static int parse_event(const struct nlmsghdr *nlh, struct sgnl_event *ev)
{
	struct nlattr *tb[SMTPGATE_A_MAX + 1];
	const struct genlmsghdr *g = nlmsg_data(nlh);
	int ret = 0;

	memset(ev, 0, sizeof(*ev));
	if (parse_top(nlh, tb))
		return -EPROTO;
	ev->cmd = g->cmd;
	if (tb[SMTPGATE_A_HOST]) {
		ev->has_host = true;
		ret = sgnl_parse_host(tb[SMTPGATE_A_HOST], &ev->host);
	}
	if (!ret && tb[SMTPGATE_A_BAN]) {
		ev->has_ban = true;
		ret = sgnl_parse_ban(tb[SMTPGATE_A_BAN], &ev->ban);
	}
	if (!ret && tb[SMTPGATE_A_STATS]) {
		ev->has_stats = true;
		ret = parse_stats(tb[SMTPGATE_A_STATS], &ev->stats);
	}
	return ret;
}

static int on_event(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct event_ctx *c = arg;
	struct sgnl_event ev;
	int ret;

	if (nlh->nlmsg_type != c->h->family || c->ret)
		return NL_OK;
	ret = parse_event(nlh, &ev);
	if (!ret)
		ret = c->fn(&ev, c->arg);
	if (ret)
		c->ret = ret;
	else
		c->count++;
	return NL_OK;
}

/*
 * Waits up to @timeout_ms (-1: forever) for events and delivers every one
 * queued.  Returns how many, 0 on timeout, -ENOBUFS when the socket
 * overran and events were lost (the caller resynchronises with dumps), or
 * what a callback returned.
 */
int sgnl_event_recv(struct sgnl *h, int timeout_ms, sgnl_event_fn fn,
		    void *arg)
{
	struct event_ctx c = { .h = h, .fn = fn, .arg = arg };
	struct pollfd pfd = { .fd = nl_socket_get_fd(h->sk), .events = POLLIN };
	struct nl_cb *cb;
	int ret, err = 0;

	error_clear(h);
	if (!h->events)
		return fail(h, -EINVAL, "not subscribed to events");
	ret = poll(&pfd, 1, timeout_ms);
	if (ret < 0)
		return fail(h, -errno, "poll: %s", strerror(errno));
	if (!ret)
		return 0;
	cb = clone_cb(h);
	if (!cb)
		return fail(h, -ENOMEM, "cannot allocate netlink callbacks");
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_event, &c);
	do {
		/* Non-blocking: 0 (libnl's EAGAIN) once the queue is drained. */
		errno = 0;
		ret = nl_recvmsgs_report(h->sk, cb);
	} while (ret > 0 && !c.ret);
	if (ret < 0)
		err = lib_errno(ret, errno);
	nl_cb_put(cb);
	/* The socket overran: NLE_NOMEM to libnl, ENOBUFS in errno. */
	if (err == -ENOBUFS)
		return fail(h, err, "events lost: the socket overran");
	if (err && err != -EAGAIN)
		return fail(h, err, "cannot receive events: %s",
			    nl_geterror(ret));
	return c.ret ? c.ret : c.count;
}

/* ---- addresses and prefixes ------------------------------------------- */

unsigned int sg_family_bits(int family)
{
	return family == AF_INET ? 32 : family == AF_INET6 ? 128 : 0;
}

size_t sg_family_addr_len(int family)
{
	return sg_family_bits(family) / 8;
}

static int __attribute__((format(printf, 4, 5)))
parse_error(char *err, size_t errlen, const char *text, const char *fmt, ...)
{
	char why[SG_PARSE_ERRLEN];
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(why, sizeof(why), fmt, ap);
		va_end(ap);
		snprintf(err, errlen, "cannot parse '%s': %s", text, why);
	}
	return -EINVAL;
}

/* The address part of @text, @alen bytes of it. */
static int parse_address(const char *text, size_t alen, struct sg_prefix *p,
			 char *err, size_t errlen)
{
	char buf[INET6_ADDRSTRLEN + 1];

	memset(p, 0, sizeof(*p));
	if (!alen)
		return parse_error(err, errlen, text, "no address");
	if (alen >= sizeof(buf))
		return parse_error(err, errlen, text,
				   "not an IPv4 or IPv6 address");
	memcpy(buf, text, alen);
	buf[alen] = '\0';
	if (inet_pton(AF_INET, buf, &p->addr.v4) == 1)
		p->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, &p->addr.v6) == 1)
		p->family = AF_INET6;
	else
		return parse_error(err, errlen, text,
				   "not an IPv4 or IPv6 address");
	p->len = sg_family_bits(p->family);
	return 0;
}

static int parse_length(const char *text, const char *s, struct sg_prefix *p,
			char *err, size_t errlen)
{
	unsigned int bits = sg_family_bits(p->family), len = 0;
	const char *c;

	if (!*s)
		return parse_error(err, errlen, text,
				   "no prefix length after '/'");
	for (c = s; *c; c++) {
		if (*c < '0' || *c > '9')
			return parse_error(err, errlen, text,
					   "prefix length '%s' is not a number",
					   s);
		/* Saturate: "/99999999999" is too long, not a wrap. */
		if (len <= bits)
			len = len * 10 + (*c - '0');
	}
	if (len > bits)
		return parse_error(err, errlen, text, "prefix longer than %u",
				   bits);
	p->len = len;
	return 0;
}

/*
 * "192.0.2.0/24", "2001:db8::/64" or a bare address (the full length).
 * Host bits past the length are an error, as in the kernel: a typo in a
 * ban must not silently ban a different network.
 */
int sg_prefix_parse(const char *text, struct sg_prefix *p,
		    char *err, size_t errlen)
{
	const char *slash = strchr(text, '/');
	char want[SG_PREFIX_STRLEN];
	struct sg_prefix masked;
	int ret;

	ret = parse_address(text, slash ? (size_t)(slash - text) :
			    strlen(text), p, err, errlen);
	if (!ret && slash)
		ret = parse_length(text, slash + 1, p, err, errlen);
	if (ret)
		return ret;
	if (sg_prefix_host_bits(p)) {
		masked = *p;
		sg_prefix_mask(&masked);
		return parse_error(err, errlen, text,
				   "host bits set past /%u (the prefix is %s)",
				   p->len, sg_prefix_str(&masked, want,
							 sizeof(want)));
	}
	return 0;
}

/* A bare address: hosts and "is this address banned?". */
int sg_addr_parse(const char *text, struct sg_prefix *p,
		  char *err, size_t errlen)
{
	if (strchr(text, '/'))
		return parse_error(err, errlen, text,
				   "an address is needed here, not a prefix");
	return parse_address(text, strlen(text), p, err, errlen);
}

const char *sg_addr_str(const struct sg_prefix *p, char *buf, size_t len)
{
	if (!sg_family_bits(p->family) ||
	    !inet_ntop(p->family, p->addr.bytes, buf, len))
		snprintf(buf, len, "?");
	return buf;
}

const char *sg_prefix_str(const struct sg_prefix *p, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN];

	sg_addr_str(p, addr, sizeof(addr));
	snprintf(buf, len, "%s/%u", addr, p->len);
	return buf;
}

/* The mask byte for byte @i of a /@len prefix. */
static uint8_t mask_byte(unsigned int len, unsigned int i)
{
	if (len >= (i + 1) * 8)
		return 0xff;
	if (len <= i * 8)
		return 0;
	return (uint8_t)(0xff << (8 - (len - i * 8)));
}

bool sg_prefix_host_bits(const struct sg_prefix *p)
{
	size_t i, n = sg_family_addr_len(p->family);

	for (i = 0; i < n; i++)
		if (p->addr.bytes[i] & ~mask_byte(p->len, i))
			return true;
	return false;
}

void sg_prefix_mask(struct sg_prefix *p)
{
	size_t i, n = sg_family_addr_len(p->family);

	for (i = 0; i < n; i++)
		p->addr.bytes[i] &= mask_byte(p->len, i);
	for (; i < sizeof(p->addr.bytes); i++)
		p->addr.bytes[i] = 0;
}

/* Whether address (or prefix) @a lies inside prefix @p. */
bool sg_prefix_contains(const struct sg_prefix *p, const struct sg_prefix *a)
{
	size_t i, n = sg_family_addr_len(p->family);

	if (p->family != a->family || a->len < p->len)
		return false;
	for (i = 0; i < n; i++)
		if ((p->addr.bytes[i] ^ a->addr.bytes[i]) &
		    mask_byte(p->len, i))
			return false;
	return true;
}

int sg_prefix_cmp(const struct sg_prefix *a, const struct sg_prefix *b)
{
	int c;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	c = memcmp(a->addr.bytes, b->addr.bytes,
		   sg_family_addr_len(a->family));
	if (c)
		return c;
	return a->len == b->len ? 0 : a->len < b->len ? -1 : 1;
}

bool sg_prefix_equal(const struct sg_prefix *a, const struct sg_prefix *b)
{
	return !sg_prefix_cmp(a, b);
}

/* ---- naming the attribute an error blames ----------------------------- */

/* The attribute tree of <linux/smtpgate.h>, for error messages. */
struct attr_level {
	const char *const *names;
	unsigned int n;
	/* A nest's level by attribute type; NULL: not a nest. */
	const struct attr_level *(*child)(unsigned int type);
	bool array;		/* entries are numbered, not named */
	/* Names by a function instead of @names. */
	const char *(*name_of)(unsigned int type);
};

static const char *const prefix_attr_names[] = {
	[SMTPGATE_A_PREFIX_FAMILY] = "family",
	[SMTPGATE_A_PREFIX_ADDR] = "addr",
	[SMTPGATE_A_PREFIX_LEN] = "len",
};

static const char *const ban_attr_names[] = {
	[SMTPGATE_A_BAN_FAMILY] = "family",
	[SMTPGATE_A_BAN_ADDR] = "addr",
	[SMTPGATE_A_BAN_PREFIX_LEN] = "prefix_len",
	[SMTPGATE_A_BAN_SCOPE] = "scope",
	[SMTPGATE_A_BAN_TIMEOUT] = "timeout",
	[SMTPGATE_A_BAN_REASON] = "reason",
	[SMTPGATE_A_BAN_CREATED] = "created",
	[SMTPGATE_A_BAN_DROPS] = "drops",
};

static const char *const host_attr_names[] = {
	[SMTPGATE_A_HOST_FAMILY] = "family",
	[SMTPGATE_A_HOST_ADDR] = "addr",
	[SMTPGATE_A_HOST_PREFIX_LEN] = "prefix_len",
};

static const char *const top_attr_names[] = {
	[SMTPGATE_A_POLICY] = "policy",
	[SMTPGATE_A_HOST] = "host",
	[SMTPGATE_A_BAN] = "ban",
	[SMTPGATE_A_BANS] = "bans",
	[SMTPGATE_A_STATS] = "stats",
	[SMTPGATE_A_FLAGS] = "flags",
};

#define LEVEL(names, child, array) \
	{ names, ARRAY_SIZE(names), child, array, NULL }

static const struct attr_level prefix_level =
	LEVEL(prefix_attr_names, NULL, false);
static const struct attr_level ban_level = LEVEL(ban_attr_names, NULL, false);
static const struct attr_level host_level =
	LEVEL(host_attr_names, NULL, false);

static const struct attr_level *
prefix_list_child(unsigned int type __always_unused)
{
	return &prefix_level;
}

static const struct attr_level *
bans_child(unsigned int type __always_unused)
{
	return &ban_level;
}

static const struct attr_level prefix_list_level = {
	.child = prefix_list_child, .array = true,
};

static const struct attr_level ports_level = { .array = true };

static const struct attr_level bans_level = {
	.child = bans_child, .array = true,
};

static const struct attr_level *policy_child(unsigned int type)
{
	switch (type) {
	case SMTPGATE_A_POLICY_INTERNAL:
	case SMTPGATE_A_POLICY_EXEMPT:
	case SMTPGATE_A_POLICY_WALLED_GARDEN:
		return &prefix_list_level;
	case SMTPGATE_A_POLICY_PORTS:
		return &ports_level;
	}
	return NULL;
}

/* The policy's attributes by the keys operators write (polkey.c). */
static const char *policy_attr_name(unsigned int type)
{
	const struct sg_polkey *k = sg_polkey_of_attr(type);

	return k ? k->name : NULL;
}

static const struct attr_level policy_level = {
	.child = policy_child, .name_of = policy_attr_name,
};

static const struct attr_level *top_child(unsigned int type)
{
	switch (type) {
	case SMTPGATE_A_POLICY:
		return &policy_level;
	case SMTPGATE_A_HOST:
		return &host_level;
	case SMTPGATE_A_BAN:
		return &ban_level;
	case SMTPGATE_A_BANS:
		return &bans_level;
	}
	return NULL;
}

static const struct attr_level top_level =
	LEVEL(top_attr_names, top_child, false);

/* Appends one step of the path: a name, "[index]" or "#type". */
static void path_step(char *buf, size_t len, const struct attr_level *lv,
		      unsigned int type, unsigned int index)
{
	size_t used = strlen(buf);
	const char *name = lv->names && type < lv->n ? lv->names[type] : NULL;

	if (lv->name_of)
		name = lv->name_of(type);

	if (lv->array)
		snprintf(buf + used, len - used, "[%u]", index);
	else if (name)
		snprintf(buf + used, len - used, "%s%s", used ? "." : "", name);
	else
		snprintf(buf + used, len - used, "%s#%u", used ? "." : "", type);
}

/*
 * Names the attribute at byte @offset of request @req (a generic netlink
 * message of our family) by its path, into @buf.  Returns 0, or -ENOENT
 * when no attribute starts there.
 */
int sgnl_attr_path(const struct nlmsghdr *req, uint32_t offset,
		   char *buf, size_t len)
{
	const struct attr_level *lv = &top_level;
	const char *target = (const char *)req + offset;
	struct nlattr *head, *a, *found;
	unsigned int index;
	int rem, left;

	buf[0] = '\0';
	if (offset < NLMSG_HDRLEN + GENL_HDRLEN || offset >= req->nlmsg_len)
		return -ENOENT;
	head = (struct nlattr *)((char *)req + NLMSG_HDRLEN + GENL_HDRLEN);
	rem = req->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN;
	while (lv) {
		found = NULL;
		index = 0;
		nla_for_each_attr(a, head, rem, left) {
			if (target < (const char *)a + NLA_ALIGN(a->nla_len)) {
				found = a;
				break;
			}
			index++;
		}
		if (!found || target < (const char *)found)
			break;
		path_step(buf, len, lv, nla_type(found), index);
		if (target == (const char *)found)
			return 0;
		/* Inside it: only a nest of ours has attributes to name. */
		lv = lv->child ? lv->child(nla_type(found)) : NULL;
		if (target < (const char *)nla_data(found))
			break;
		head = nla_data(found);
		rem = nla_len(found);
	}
	buf[0] = '\0';
	return -ENOENT;
}

/* ---- names ------------------------------------------------------------ */

static const char *const action_names[] = {
	[SMTPGATE_ACTION_DROP]		= "drop",
	[SMTPGATE_ACTION_LOG]		= "log",
	[SMTPGATE_ACTION_DROPLOG]	= "droplog",
	[SMTPGATE_ACTION_REDIRECT]	= "redirect",
	[SMTPGATE_ACTION_TRAP]		= "trap",
};

static const char *const scope_names[] = {
	[SMTPGATE_SCOPE_SMTP]		= "smtp",
	[SMTPGATE_SCOPE_ALL]		= "all",
};

static const char *const class_names[] = {
	[SMTPGATE_CLASS_OTHER]		= "other",
	[SMTPGATE_CLASS_SMTP4]		= "smtp4",
	[SMTPGATE_CLASS_SMTP6]		= "smtp6",
	[SMTPGATE_CLASS_TEREDO]		= "teredo",
	[SMTPGATE_CLASS_SIXIN4]		= "sixin4",
};

static const char *const verdict_names[] = {
	[SMTPGATE_VERDICT_PASS]		= "pass",
	[SMTPGATE_VERDICT_DROP]		= "drop",
	[SMTPGATE_VERDICT_LOG]		= "log",
	[SMTPGATE_VERDICT_DROPLOG]	= "droplog",
	[SMTPGATE_VERDICT_REDIRECT]	= "redirect",
	[SMTPGATE_VERDICT_BANNED]	= "banned",
	[SMTPGATE_VERDICT_TRAP]		= "trap",
	[SMTPGATE_VERDICT_QUEUE]	= "queue",
};

static const char *const cmd_names[] = {
	[SMTPGATE_CMD_POLICY_SET]	= "policy-set",
	[SMTPGATE_CMD_POLICY_GET]	= "policy-get",
	[SMTPGATE_CMD_HOST_GET]		= "host-get",
	[SMTPGATE_CMD_HOST_FORGET]	= "host-forget",
	[SMTPGATE_CMD_BAN_ADD]		= "ban-add",
	[SMTPGATE_CMD_BAN_DEL]		= "ban-del",
	[SMTPGATE_CMD_BAN_GET]		= "ban-get",
	[SMTPGATE_CMD_BAN_FLUSH]	= "ban-flush",
	[SMTPGATE_CMD_STATS_GET]	= "stats-get",
	[SMTPGATE_CMD_HOST_FLAGGED]	= "host-flagged",
	[SMTPGATE_CMD_BAN_ADDED]	= "ban-added",
	[SMTPGATE_CMD_BAN_EXPIRED]	= "ban-expired",
	[SMTPGATE_CMD_BAN_REMOVED]	= "ban-removed",
	[SMTPGATE_CMD_HOST_FLAG]	= "host-flag",
	[SMTPGATE_CMD_BANS_FLUSHED]	= "bans-flushed",
};

const struct sgnl_reason sgnl_reasons[SGNL_NREASONS] = {
	{ SMTPGATE_REASON_RATE,		"rate" },
	{ SMTPGATE_REASON_BLOCKED,	"blocked" },
	{ SMTPGATE_REASON_DESTINATIONS,	"destinations" },
	{ SMTPGATE_REASON_TUNNEL,	"tunnel" },
	{ SMTPGATE_REASON_DIALOGUE,	"dialogue" },
};


static const char *name_of(const char *const *names, size_t n, unsigned int v)
{
	return v < n ? names[v] : NULL;
}

/* Exact match only: no abbreviations a later keyword could make ambiguous. */
static int name_parse(const char *const *names, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (names[i] && !strcmp(names[i], name))
			return i;
	return -1;
}

const char *sgnl_action_name(unsigned int action)
{
	return name_of(action_names, ARRAY_SIZE(action_names), action);
}

int sgnl_action_parse(const char *name)
{
	return name_parse(action_names, ARRAY_SIZE(action_names), name);
}

const char *sgnl_scope_name(unsigned int scope)
{
	return name_of(scope_names, ARRAY_SIZE(scope_names), scope);
}

int sgnl_scope_parse(const char *name)
{
	return name_parse(scope_names, ARRAY_SIZE(scope_names), name);
}

const char *sgnl_class_name(unsigned int class)
{
	return name_of(class_names, ARRAY_SIZE(class_names), class);
}

const char *sgnl_verdict_name(unsigned int verdict)
{
	return name_of(verdict_names, ARRAY_SIZE(verdict_names), verdict);
}

const char *sgnl_cmd_name(unsigned int cmd)
{
	return name_of(cmd_names, ARRAY_SIZE(cmd_names), cmd);
}

const char *sgnl_reason_name(uint32_t bit)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(sgnl_reasons); i++)
		if (sgnl_reasons[i].bit == bit)
			return sgnl_reasons[i].name;
	return NULL;
}

uint32_t sgnl_reason_parse(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(sgnl_reasons); i++)
		if (!strcmp(sgnl_reasons[i].name, name))
			return sgnl_reasons[i].bit;
	return 0;
}

int sgnl_hosts_add(const struct sgnl_host *host, void *hosts)
{
	struct sgnl_host *slot = VEC_PUSH((struct sgnl_hosts *)hosts);

	if (!slot)
		return -ENOMEM;
	*slot = *host;
	return 0;
}

int sgnl_bans_add(const struct sgnl_ban *ban, void *bans)
{
	struct sgnl_ban *slot = VEC_PUSH((struct sgnl_bans *)bans);

	if (!slot)
		return -ENOMEM;
	*slot = *ban;
	return 0;
}

/* 64 bits: five u32 counters may add up to more than one holds. */
uint64_t sgnl_host_attempts(const struct sgnl_host *h)
{
	uint64_t n = 0;
	size_t c;

	for (c = 0; c < ARRAY_SIZE(h->attempts); c++)
		n += h->attempts[c];
	return n;
}
