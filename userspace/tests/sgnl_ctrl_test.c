// SPDX-License-Identifier: GPL-2.0
/*
 * sgnl's request and event paths on the build host (make check), aimed at
 * nlctrl, the generic netlink controller every kernel has, instead of the
 * smtpgate family: ACKs, dumps, a callback that stops one, the kernel's
 * errno, the extended ACK and the offset it blames, replies to an
 * abandoned request, an overrun socket.  netlink_test does the same
 * against the module, in the VM.
 *
 * It includes lib/sgnl.c to reach what the API keeps to itself (the
 * handle, open_socket(), lib_errno()); libsgnl.a's sgnl.o is then not
 * linked in.  Skips where the host has no generic netlink.
 */
#include "../lib/sgnl.c"

#include "kselftest_harness.h"

/* nlctrl's own attributes start after the netlink and genl headers. */
#define FIRST_ATTR	((int64_t)(NLMSG_HDRLEN + GENL_HDRLEN))

static int count(const struct nlmsghdr *nlh, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

static int stop(const struct nlmsghdr *nlh, void *arg)
{
	(*(int *)arg)++;
	return -ECANCELED;
}

static struct nl_msg *get_family(struct sgnl *h, const char *name)
{
	struct nl_msg *m = sgnl_msg(h, CTRL_CMD_GETFAMILY, 0, 0);

	if (m && name)
		nla_put_string(m, CTRL_ATTR_FAMILY_NAME, name);
	return m;
}

FIXTURE(ctrl) {
	struct sgnl *h;
};

FIXTURE_SETUP(ctrl)
{
	self->h = calloc(1, sizeof(*self->h));
	ASSERT_NE(NULL, self->h);
	error_clear(self->h);
	if (open_socket(self->h))
		SKIP(return, "no generic netlink: %s",
		     sgnl_error_msg(self->h));
	self->h->family = GENL_ID_CTRL;
}

FIXTURE_TEARDOWN(ctrl)
{
	sgnl_close(self->h);
}

/* Without the module the family is not there: its own errno and words. */
TEST(open_without_module)
{
	struct sgnl *h;
	int ret = sgnl_open(&h);

	if (!ret) {
		sgnl_close(h);
		SKIP(return, "the smtpgate family is there");
	}
	ASSERT_NE(NULL, h);
	if (ret != -ENOENT)
		SKIP(goto out, "no generic netlink: %s", sgnl_error_msg(h));
	EXPECT_NE(NULL, strstr(sgnl_error_msg(h), "modprobe smtpgate"));
	EXPECT_FALSE(sgnl_error(h)->kernel_msg);
out:
	sgnl_close(h);
}

/*
 * libnl's codes come back as the errno of the system call that failed,
 * when its nl_syserr2nlerr() agrees; its own codes have theirs.
 */
TEST(errno_from_libnl)
{
	EXPECT_EQ(-ENOBUFS, lib_errno(-NLE_NOMEM, ENOBUFS));
	EXPECT_EQ(-ENOMEM, lib_errno(-NLE_NOMEM, ENOMEM));
	EXPECT_EQ(-ENOMEM, lib_errno(-NLE_NOMEM, 0));
	/* A stale errno that libnl would not have made this code of */
	EXPECT_EQ(-ENOMEM, lib_errno(-NLE_NOMEM, EINTR));
	EXPECT_EQ(-EADDRINUSE, lib_errno(-NLE_EXIST, EADDRINUSE));
	EXPECT_EQ(-EMSGSIZE, lib_errno(-NLE_FAILURE, EMSGSIZE));
	EXPECT_EQ(-EPERM, lib_errno(-NLE_PERM, EPERM));
	EXPECT_EQ(-ENOENT, lib_errno(-NLE_OBJ_NOTFOUND, 0));
	EXPECT_EQ(-EINTR, lib_errno(-NLE_DUMP_INTR, 0));
	EXPECT_EQ(-EMSGSIZE, lib_errno(-NLE_MSG_TRUNC, 0));
	EXPECT_EQ(-EPROTO, lib_errno(-NLE_SEQ_MISMATCH, 0));
	EXPECT_EQ(-EIO, lib_errno(-NLE_FAILURE, 0));
}

TEST_F(ctrl, doit)
{
	int n = 0;

	EXPECT_EQ(0, sgnl_request(self->h, get_family(self->h, "nlctrl"),
				  count, &n));
	EXPECT_EQ(1, n);
	EXPECT_EQ(0, sgnl_error(self->h)->err);
	EXPECT_STREQ("", sgnl_error_msg(self->h));
}

/* A dump is read to its end, also when the callback is done early. */
TEST_F(ctrl, dump)
{
	int n = 0, all;

	EXPECT_EQ(0, sgnl_request(self->h, sgnl_msg(self->h,
			CTRL_CMD_GETFAMILY, NLM_F_DUMP, 0), count, &n));
	EXPECT_LE(1, n);
	all = n;
	n = 0;
	EXPECT_EQ(-ECANCELED, sgnl_request(self->h, sgnl_msg(self->h,
			CTRL_CMD_GETFAMILY, NLM_F_DUMP, 0), stop, &n));
	EXPECT_EQ(1, n);
	EXPECT_EQ(-ECANCELED, sgnl_error(self->h)->err);
	n = 0;
	EXPECT_EQ(0, sgnl_request(self->h, sgnl_msg(self->h,
			CTRL_CMD_GETFAMILY, NLM_F_DUMP, 0), count, &n));
	EXPECT_EQ(all, n);
}

/* The kernel's errno as it sent it; no extack: the errno's words. */
TEST_F(ctrl, kernel_errno)
{
	const struct sgnl_error *e = sgnl_error(self->h);
	int n = 0;

	EXPECT_EQ(-ENOENT, sgnl_request(self->h,
			get_family(self->h, "no-such-family"), count, &n));
	EXPECT_EQ(0, n);
	EXPECT_EQ(-ENOENT, e->err);
	EXPECT_STREQ(strerror(ENOENT), e->msg);
	EXPECT_FALSE(e->kernel_msg);
	EXPECT_EQ(-1, e->offset);
	/* An unknown command: libnl would call it NLE_OPNOTSUPP. */
	EXPECT_EQ(-EOPNOTSUPP, sgnl_request(self->h,
			sgnl_msg(self->h, 200, 0, 0), count, &n));
	/* The next request starts clean. */
	EXPECT_EQ(0, sgnl_request(self->h, get_family(self->h, "nlctrl"),
				  count, &n));
	EXPECT_EQ(0, e->err);
	EXPECT_EQ(-1, e->offset);
}

/*
 * A u8 where nlctrl wants a u16: the kernel's message, and the offset of
 * the attribute in our request, from a capped ACK and from a whole one.
 */
TEST_F(ctrl, ext_ack)
{
	const struct sgnl_error *e = sgnl_error(self->h);
	struct nl_msg *m;
	int zero = 0, n = 0, ret;

	m = sgnl_msg(self->h, CTRL_CMD_GETFAMILY, 0, 0);
	nla_put_u8(m, CTRL_ATTR_FAMILY_ID, 3);
	ret = sgnl_request(self->h, m, count, &n);
	EXPECT_TRUE(ret == -ERANGE || ret == -EINVAL) {
		TH_LOG("got %d (%s)", ret, sgnl_error_msg(self->h));
	}
	EXPECT_EQ(ret, e->err);
	EXPECT_TRUE(e->kernel_msg);
	EXPECT_STRNE("", e->msg);
	EXPECT_EQ(FIRST_ATTR, e->offset);

	/* Uncapped, the TLVs follow the whole request. */
	ASSERT_EQ(0, setsockopt(nl_socket_get_fd(self->h->sk), SOL_NETLINK,
				NETLINK_CAP_ACK, &zero, sizeof(zero)));
	m = sgnl_msg(self->h, CTRL_CMD_GETFAMILY, 0, 0);
	nla_put_u32(m, CTRL_ATTR_OP, 3);
	nla_put_u8(m, CTRL_ATTR_FAMILY_ID, 3);
	EXPECT_EQ(ret, sgnl_request(self->h, m, count, &n));
	EXPECT_TRUE(e->kernel_msg);
	EXPECT_EQ(FIRST_ATTR + NLA_HDRLEN + 4, e->offset);
	EXPECT_EQ(0, n);
}

/* What comes for a request given up on is not taken for the next one's. */
TEST_F(ctrl, abandoned_request)
{
	struct nl_msg *m;
	int i, n = 0;

	for (i = 0; i < 3; i++) {
		m = get_family(self->h, i == 1 ? "no-such-family" : "nlctrl");
		ASSERT_LE(0, nl_send_auto(self->h->sk, m));
		nlmsg_free(m);
	}
	EXPECT_EQ(-ENOENT, sgnl_request(self->h,
			get_family(self->h, "no-such-family"), count, &n));
	EXPECT_EQ(0, n);
	EXPECT_EQ(0, sgnl_request(self->h, get_family(self->h, "nlctrl"),
				  count, &n));
	EXPECT_EQ(1, n);
}

static int any_event(const struct sgnl_event *ev, void *arg)
{
	return 0;
}

/*
 * An overrun socket is -ENOBUFS, which libnl calls NLE_NOMEM, like a
 * failed malloc().  Replies nobody reads overrun it as well as events.
 */
TEST_F(ctrl, overrun)
{
	int i, small = 1024;
	struct nl_msg *m;

	ASSERT_EQ(0, setsockopt(nl_socket_get_fd(self->h->sk), SOL_SOCKET,
				SO_RCVBUF, &small, sizeof(small)));
	for (i = 0; i < 64; i++) {
		m = get_family(self->h, "nlctrl");
		ASSERT_LE(0, nl_send_auto(self->h->sk, m));
		nlmsg_free(m);
	}
	/* As sgnl_events_subscribe() leaves a handle. */
	nl_socket_set_nonblocking(self->h->sk);
	nl_socket_disable_seq_check(self->h->sk);
	self->h->events = true;
	EXPECT_EQ(-ENOBUFS, sgnl_event_recv(self->h, 1000, any_event, NULL));
	EXPECT_STREQ("events lost: the socket overran",
		     sgnl_error_msg(self->h));
	/* Nothing more queued: a timeout. */
	while (sgnl_event_recv(self->h, 0, any_event, NULL) != 0)
		;
	EXPECT_EQ(0, sgnl_event_recv(self->h, 10, any_event, NULL));
	/* An events handle sends no requests. */
	EXPECT_EQ(-EINVAL, sgnl_request(self->h,
			get_family(self->h, "nlctrl"), count, NULL));
}

TEST_HARNESS_MAIN
