/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nlraw: a raw generic netlink socket and message builder for the tools
 * that must control every byte and every syscall of a request: sgfault
 * (one request per fail-nth setting, no allocation in between that the
 * test did not plan) and sgnlfuzz (attributes of the wrong type, length
 * or nesting, which libnl would refuse to build).
 *
 * Header-only, no libnl: each tool is one file plus this.
 */
#ifndef _NLRAW_H
#define _NLRAW_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#define NLR_BUF		(1 << 17)

struct nlr {
	int fd;
	uint16_t family;	/* smtpgate's id, 0 until resolved */
	uint32_t seq;
	int rflags;		/* recv() flags: MSG_DONTWAIT to poll */
};

/* A request being built: one netlink message in a fixed buffer. */
struct nlr_msg {
	size_t len;
	size_t cap;
	bool overflow;
	unsigned char *buf;
};

static inline struct nlmsghdr *nlr_hdr(struct nlr_msg *m)
{
	return (struct nlmsghdr *)m->buf;
}

static inline void nlr_msg_init(struct nlr_msg *m, unsigned char *buf,
				size_t cap, uint16_t type, uint16_t flags,
				uint8_t cmd, uint8_t version)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	struct genlmsghdr *g = NLMSG_DATA(nlh);

	m->buf = buf;
	m->cap = cap;
	m->overflow = false;
	memset(buf, 0, NLMSG_HDRLEN + GENL_HDRLEN);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	g->cmd = cmd;
	g->version = version;
	m->len = NLMSG_HDRLEN + GENL_HDRLEN;
}

/* Appends an attribute of any length (@len may lie: @real bytes follow). */
static inline struct nlattr *nlr_put_raw(struct nlr_msg *m, uint16_t type,
					 uint16_t len, const void *data,
					 size_t real)
{
	struct nlattr *a;
	size_t need = NLA_ALIGN(NLA_HDRLEN + real);

	if (m->len + need > m->cap) {
		m->overflow = true;
		return NULL;
	}
	a = (struct nlattr *)(m->buf + m->len);
	a->nla_type = type;
	a->nla_len = len;
	memset((unsigned char *)a + NLA_HDRLEN, 0, need - NLA_HDRLEN);
	if (real && data)
		memcpy((unsigned char *)a + NLA_HDRLEN, data, real);
	m->len += need;
	return a;
}

static inline struct nlattr *nlr_put(struct nlr_msg *m, uint16_t type,
				     const void *data, size_t len)
{
	return nlr_put_raw(m, type, NLA_HDRLEN + len, data, len);
}

static inline void nlr_put_u8(struct nlr_msg *m, uint16_t t, uint8_t v)
{
	nlr_put(m, t, &v, 1);
}

static inline void nlr_put_u16(struct nlr_msg *m, uint16_t t, uint16_t v)
{
	nlr_put(m, t, &v, 2);
}

static inline void nlr_put_u32(struct nlr_msg *m, uint16_t t, uint32_t v)
{
	nlr_put(m, t, &v, 4);
}

/* Nests: start returns the offset, end fixes the length. */
static inline size_t nlr_nest_start(struct nlr_msg *m, uint16_t type)
{
	size_t off = m->len;

	if (!nlr_put_raw(m, type | NLA_F_NESTED, NLA_HDRLEN, NULL, 0))
		return (size_t)-1;
	return off;
}

static inline void nlr_nest_end(struct nlr_msg *m, size_t off)
{
	struct nlattr *a;

	if (off == (size_t)-1)
		return;
	a = (struct nlattr *)(m->buf + off);
	a->nla_len = m->len - off > 0xffff ? 0xffff : m->len - off;
}

static inline int nlr_open(struct nlr *s)
{
	int one = 1, buf = 4 << 20;

	s->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (s->fd < 0)
		return -errno;
	s->family = 0;
	s->seq = 1;
	s->rflags = 0;
	setsockopt(s->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(s->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	setsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	return 0;
}

static inline void nlr_close(struct nlr *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

/* Sends @m with a fresh sequence number; returns it, or -errno. */
static inline int64_t nlr_send(struct nlr *s, struct nlr_msg *m)
{
	struct nlmsghdr *nlh = nlr_hdr(m);
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	ssize_t n;

	nlh->nlmsg_len = m->len;
	nlh->nlmsg_seq = ++s->seq;
	n = sendto(s->fd, m->buf, m->len, 0, (struct sockaddr *)&sa,
		   sizeof(sa));
	if (n < 0)
		return -errno;
	return nlh->nlmsg_seq;
}

/*
 * Reads replies to @seq.  @fn sees every message of the family (and may
 * return nonzero to stop: then the caller owns the rest of the dump).
 * Returns 0 on the ACK / NLMSG_DONE, the request's -errno, -EBADMSG on a
 * reply that is not well-formed netlink, or what @fn returned.
 */
typedef int (*nlr_fn)(const struct nlmsghdr *nlh, void *arg);

static inline int nlr_recv(struct nlr *s, uint32_t seq, nlr_fn fn, void *arg,
			   unsigned char *buf, size_t cap)
{
	for (;;) {
		ssize_t n = recv(s->fd, buf, cap, s->rflags);
		struct nlmsghdr *nlh;
		size_t left;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		left = (size_t)n;
		for (nlh = (struct nlmsghdr *)buf; left;
		     nlh = NLMSG_NEXT(nlh, left)) {
			int ret;

			if (!NLMSG_OK(nlh, left))
				return -EBADMSG;
			if (nlh->nlmsg_seq != seq)
				continue;
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(nlh);

				if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
					return -EBADMSG;
				return e->error;
			}
			if (nlh->nlmsg_type == NLMSG_DONE) {
				if (nlh->nlmsg_len >= NLMSG_LENGTH(sizeof(int))) {
					int err = *(int *)NLMSG_DATA(nlh);

					if (err < 0)
						return err;
				}
				return 0;
			}
			if (fn) {
				ret = fn(nlh, arg);
				if (ret)
					return ret;
			}
			if (!(nlh->nlmsg_flags & NLM_F_MULTI) && !fn)
				continue;
		}
	}
}

static inline int nlr_on_family(const struct nlmsghdr *nlh, void *arg)
{
	const struct genlmsghdr *g = NLMSG_DATA(nlh);
	const struct nlattr *a = (const void *)((const char *)g + GENL_HDRLEN);
	int left = (int)nlh->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN;
	uint16_t *family = arg;

	for (; left >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN &&
	       a->nla_len <= left;
	     left -= NLA_ALIGN(a->nla_len),
	     a = (const void *)((const char *)a + NLA_ALIGN(a->nla_len)))
		if ((a->nla_type & NLA_TYPE_MASK) == CTRL_ATTR_FAMILY_ID &&
		    a->nla_len == NLA_HDRLEN + 2)
			memcpy(family, (const char *)a + NLA_HDRLEN, 2);
	return 0;
}

/* Resolves smtpgate's family id: 0, -ENOENT (module not loaded), -errno. */
static inline int nlr_resolve(struct nlr *s, const char *name)
{
	unsigned char req[256], buf[8192];
	struct nlr_msg m;
	int64_t seq;
	int err;

	nlr_msg_init(&m, req, sizeof(req), GENL_ID_CTRL, NLM_F_ACK,
		     CTRL_CMD_GETFAMILY, 1);
	nlr_put(&m, CTRL_ATTR_FAMILY_NAME, name, strlen(name) + 1);
	seq = nlr_send(s, &m);
	if (seq < 0)
		return (int)seq;
	s->family = 0;
	err = nlr_recv(s, (uint32_t)seq, nlr_on_family, &s->family, buf,
		       sizeof(buf));
	if (!err && !s->family)
		err = -ENOENT;
	return err;
}

#endif /* _NLRAW_H */
