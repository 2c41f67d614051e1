// SPDX-License-Identifier: GPL-2.0
/*
 * Outbound SMTP inspection: the module queues the first inspect_bytes of
 * each direction of the port-25 sessions the policy lets exist to NFQUEUE
 * inspect_queue; here they are put back in order per flow and handed to
 * the dialogue scorer (smtp.c).  A session over inspect_threshold flags
 * its client through SMTPGATE_CMD_HOST_FLAG, reason dialogue: the kernel
 * then sends HOST_FLAGGED, and decide.c bans the host as for the kernel's
 * own flags.  One key=value line carries the evidence:
 *
 *   action=dialogue host=192.0.2.66 server=203.0.113.25 score=150
 *     signs=pregreet,helo-address-literal evidence="pregreet: EHLO [...]..."
 *
 * Every verdict is NF_ACCEPT: inspection never breaks mail by itself.  The
 * queue is bound with NFQA_CFG_F_FAIL_OPEN (a full queue lets packets
 * through) and the module queues with the bypass flag (no listener: no
 * queueing), so a dead or slow daemon costs inspection, never traffic.
 * Verdicts go out in one batch per read.
 *
 * Flows are keyed on the 5-tuple, client (the side that is not port 25)
 * first, in a hash table with a random seed and at most inspect_max_flows
 * entries; a new flow evicts the least recently active one.  Each
 * direction is followed by sequence number: the first segment seen sets
 * it (and its ack sets the other direction's, which the module has not
 * queued yet); retransmitted bytes are skipped; a hole (a segment lost, or
 * let through unqueued when the queue was full) ends the flow's inspection,
 * since a dialogue with a gap cannot be judged.  A FIN or RST, or
 * INSPECT_IDLE_MS without a packet, ends the flow.
 *
 * A host is flagged (or, exempt, logged) at most once per episode: not
 * again within the policy's window.  Exempt hosts are judged too (the
 * good-citizen checks) and logged, never flagged (the kernel refuses).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#include "smtpgated.h"

#define INSPECT_IDLE_MS		(5 * 60 * 1000)
#define INSPECT_QUEUE_MAXLEN	1024
#define INSPECT_RCVBUF		(4 << 20)
#define INSPECT_MAX_HOSTS	65536
#define INSPECT_EXT_HDRS	8
/* A GSO packet and its attributes. */
#define INSPECT_BUF		(0xffff + MNL_SOCKET_BUFFER_SIZE)

enum { DIR_CLIENT, DIR_SERVER };

struct fkey {
	uint8_t family;
	uint8_t client[16], server[16];
	uint16_t client_port;		/* host order */
};

struct iflow {
	struct iflow *hnext;
	struct iflow *older, *newer;	/* activity order */
	struct fkey key;
	uint32_t next_seq[2];
	bool have_seq[2];
	bool done;			/* inspection over; packets just pass */
	bool hit;
	int64_t last;
	struct smtp_flow smtp;
};

/* A host flagged recently, for episodes. */
struct ihost {
	struct sg_prefix prefix;
	uint64_t at;
};

struct inspect {
	/* the tracker */
	const struct smtp_conf *conf;
	inspect_hit_fn fn;
	void *arg;
	struct iflow **buckets;
	uint32_t nbuckets, seed;
	struct iflow *oldest, *newest;
	size_t nflows, max_flows;
	struct inspect_stats st;
	/* the daemon's part */
	struct mnl_socket *nl;
	uint16_t queue;
	char *buf;
	uint32_t max_id;		/* the verdict to send */
	bool have_id;
	int64_t now;
	struct ptab hosts;		/* struct ihost */
};

/* ---- the flow table -------------------------------------------------------- */

static uint32_t key_hash(const struct inspect *in, const struct fkey *k)
{
	const uint8_t *p = (const uint8_t *)k;
	uint32_t h = in->seed ^ 2166136261u;
	size_t i;

	for (i = 0; i < sizeof(*k); i++)
		h = (h ^ p[i]) * 16777619u;
	h ^= h >> 15;
	h *= 0x2c1b3c6dU;
	h ^= h >> 12;
	return h & (in->nbuckets - 1);
}

static void unlink_lru(struct inspect *in, struct iflow *f)
{
	if (f->older)
		f->older->newer = f->newer;
	else
		in->oldest = f->newer;
	if (f->newer)
		f->newer->older = f->older;
	else
		in->newest = f->older;
	f->older = f->newer = NULL;
}

static void push_newest(struct inspect *in, struct iflow *f)
{
	f->older = in->newest;
	f->newer = NULL;
	if (in->newest)
		in->newest->newer = f;
	else
		in->oldest = f;
	in->newest = f;
}

static void flow_del(struct inspect *in, struct iflow *f)
{
	struct iflow **pp = &in->buckets[key_hash(in, &f->key)];

	while (*pp && *pp != f)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = f->hnext;
	unlink_lru(in, f);
	in->nflows--;
	free(f);
}

static struct iflow *flow_find(struct inspect *in, const struct fkey *k)
{
	struct iflow *f;

	for (f = in->buckets[key_hash(in, k)]; f; f = f->hnext)
		if (!memcmp(&f->key, k, sizeof(*k)))
			return f;
	return NULL;
}

static struct iflow *flow_new(struct inspect *in, const struct fkey *k)
{
	struct iflow *f;
	uint32_t b;

	if (in->nflows >= in->max_flows && in->oldest) {
		flow_del(in, in->oldest);
		in->st.evictions++;
	}
	f = malloc(sizeof(*f));
	if (!f)
		return NULL;
	memset(f, 0, offsetof(struct iflow, smtp));
	f->key = *k;
	smtp_init(&f->smtp, in->conf);
	b = key_hash(in, k);
	f->hnext = in->buckets[b];
	in->buckets[b] = f;
	push_newest(in, f);
	in->nflows++;
	in->st.flows++;
	return f;
}

size_t inspect_flow_bytes(void)
{
	/* malloc's header, and about one bucket pointer per flow */
	return sizeof(struct iflow) + 2 * sizeof(void *);
}

struct inspect *inspect_new(uint32_t max_flows, const struct smtp_conf *conf,
			    inspect_hit_fn fn, void *arg)
{
	struct inspect *in = calloc(1, sizeof(*in));
	uint32_t n = 16;

	if (!in)
		return NULL;
	while (n < max_flows && n < (1U << 24))
		n <<= 1;
	in->buckets = calloc(n, sizeof(*in->buckets));
	if (!in->buckets) {
		free(in);
		return NULL;
	}
	in->nbuckets = n;
	if (getrandom(&in->seed, sizeof(in->seed), GRND_NONBLOCK) !=
	    sizeof(in->seed))
		in->seed = (uint32_t)now_ms() * 2654435761u;
	in->max_flows = max_flows ? max_flows : 1;
	in->conf = conf;
	in->fn = fn;
	in->arg = arg;
	ptab_init(&in->hosts, sizeof(struct ihost));
	return in;
}

static void flows_clear(struct inspect *in)
{
	while (in->oldest)
		flow_del(in, in->oldest);
}

void inspect_free(struct inspect *in)
{
	if (!in)
		return;
	flows_clear(in);
	free(in->buckets);
	ptab_free(&in->hosts);
	free(in->buf);
	if (in->nl)
		mnl_socket_close(in->nl);
	free(in);
}

const struct inspect_stats *inspect_stats(const struct inspect *in)
{
	((struct inspect *)in)->st.active = in->nflows;
	return &in->st;
}

void inspect_expire(struct inspect *in, int64_t now)
{
	while (in->oldest && in->oldest->last + INSPECT_IDLE_MS <= now) {
		flow_del(in, in->oldest);
		in->st.expired++;
	}
}

/* ---- packets ---------------------------------------------------------------- */

struct seg {
	struct fkey key;
	int dir;
	uint32_t seq, ack;
	bool ack_valid, fin_rst;
	const uint8_t *data;
	size_t len;
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* The TCP header at @p (@len bytes to the end of the IP packet). */
static int parse_tcp(const uint8_t *p, size_t len, int family,
		     const uint8_t *src, const uint8_t *dst, size_t alen,
		     struct seg *s)
{
	uint16_t sport, dport;
	size_t doff;

	if (len < 20)
		return -1;
	doff = (p[12] >> 4) * 4;
	if (doff < 20 || doff > len)
		return -1;
	sport = get16(p);
	dport = get16(p + 2);
	memset(&s->key, 0, sizeof(s->key));
	s->key.family = family;
	if (dport == SMTPGATE_SMTP_PORT) {
		s->dir = DIR_CLIENT;
		memcpy(s->key.client, src, alen);
		memcpy(s->key.server, dst, alen);
		s->key.client_port = sport;
	} else if (sport == SMTPGATE_SMTP_PORT) {
		s->dir = DIR_SERVER;
		memcpy(s->key.client, dst, alen);
		memcpy(s->key.server, src, alen);
		s->key.client_port = dport;
	} else {
		return -1;
	}
	s->seq = get32(p + 4);
	s->ack = get32(p + 8);
	s->ack_valid = p[13] & 0x10;
	s->fin_rst = p[13] & 0x05;
	s->data = p + doff;
	s->len = len - doff;
	return 0;
}

static int parse_ipv4(const uint8_t *p, size_t len, struct seg *s)
{
	size_t ihl, tot;

	if (len < 20 || (p[0] >> 4) != 4)
		return -1;
	ihl = (p[0] & 15) * 4;
	tot = get16(p + 2);
	if (ihl < 20 || tot < ihl || tot > len)
		return -1;
	/* Fragments: conntrack reassembled them before FORWARD. */
	if ((get16(p + 6) & 0x3fff) || p[9] != IPPROTO_TCP)
		return -1;
	return parse_tcp(p + ihl, tot - ihl, AF_INET, p + 12, p + 16, 4, s);
}

static int parse_ipv6(const uint8_t *p, size_t len, struct seg *s)
{
	size_t off = 40, end;
	uint8_t nh;
	int i;

	if (len < 40 || (p[0] >> 4) != 6)
		return -1;
	end = 40 + get16(p + 4);
	if (end > len)
		return -1;
	nh = p[6];
	for (i = 0; i < INSPECT_EXT_HDRS && nh != IPPROTO_TCP; i++) {
		switch (nh) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
			if (off + 8 > end)
				return -1;
			nh = p[off];
			off += (p[off + 1] + 1) * 8;
			break;
		case IPPROTO_AH:
			if (off + 8 > end)
				return -1;
			nh = p[off];
			off += (p[off + 1] + 2) * 4;
			break;
		case IPPROTO_FRAGMENT:
			if (off + 8 > end || (get16(p + off + 2) & 0xfff9))
				return -1;
			nh = p[off];
			off += 8;
			break;
		default:
			return -1;
		}
		if (off > end)
			return -1;
	}
	if (nh != IPPROTO_TCP)
		return -1;
	return parse_tcp(p + off, end - off, AF_INET6, p + 8, p + 24, 16, s);
}

static void to_prefix(struct sg_prefix *p, int family, const uint8_t *a)
{
	memset(p, 0, sizeof(*p));
	p->family = family == AF_INET ? AF_INET : AF_INET6;
	p->len = sg_family_bits(p->family);
	memcpy(p->addr.bytes, a, sg_family_addr_len(p->family));
}

static void hit(struct inspect *in, struct iflow *f)
{
	struct inspect_hit h;

	f->hit = true;
	in->st.hits++;
	if (!in->fn)
		return;
	to_prefix(&h.client, f->key.family, f->key.client);
	to_prefix(&h.server, f->key.family, f->key.server);
	h.client_port = f->key.client_port;
	h.smtp = &f->smtp;
	in->fn(&h, in->arg);
}

/* The in-order new bytes of @s to the scorer. */
static void feed(struct inspect *in, struct iflow *f, const struct seg *s)
{
	int d = s->dir;
	int32_t off;
	size_t skip;
	bool going;

	if (!f->have_seq[d]) {
		f->have_seq[d] = true;
		f->next_seq[d] = s->seq;
	}
	/* The peer has sent nothing we saw: its stream starts at our ack. */
	if (!f->have_seq[!d] && s->ack_valid) {
		f->have_seq[!d] = true;
		f->next_seq[!d] = s->ack;
	}
	if (!s->len)
		return;
	off = (int32_t)(s->seq - f->next_seq[d]);
	if (off > 0) {
		in->st.holes++;
		f->done = true;
		return;
	}
	if ((int32_t)(s->seq + (uint32_t)s->len - f->next_seq[d]) <= 0) {
		in->st.retransmits++;
		return;
	}
	skip = (size_t)-(int64_t)off;
	f->next_seq[d] += (uint32_t)(s->len - skip);
	if (d == DIR_CLIENT)
		going = smtp_client(&f->smtp, s->data + skip, s->len - skip);
	else
		going = smtp_server(&f->smtp, s->data + skip, s->len - skip);
	if (!f->hit && smtp_flagged(&f->smtp))
		hit(in, f);
	if (!going)
		f->done = true;
}

void inspect_packet(struct inspect *in, const uint8_t *pkt, size_t len,
		    int64_t now)
{
	struct iflow *f;
	struct seg s;
	int ret = -1;

	in->st.packets++;
	if (len && (pkt[0] >> 4) == 4)
		ret = parse_ipv4(pkt, len, &s);
	else if (len && (pkt[0] >> 4) == 6)
		ret = parse_ipv6(pkt, len, &s);
	if (ret) {
		in->st.malformed++;
		return;
	}
	in->st.bytes += s.len;
	f = flow_find(in, &s.key);
	if (!f) {
		if (!s.len)
			return;
		f = flow_new(in, &s.key);
		if (!f)
			return;
	} else {
		unlink_lru(in, f);
		push_newest(in, f);
	}
	f->last = now;
	if (!f->done)
		feed(in, f, &s);
	if (s.fin_rst)
		flow_del(in, f);
}

/* ---- the daemon: flags and the log ------------------------------------------- */

static bool listed(const struct sgnl_prefix_list *l, const struct sg_prefix *a)
{
	unsigned int i;

	for (i = 0; i < l->n; i++)
		if (sg_prefix_contains(&l->v[i], a))
			return true;
	return false;
}

/* True when @a was flagged within the window (and counts it now if not). */
static bool same_episode(struct sgd *d, const struct sg_prefix *a, uint64_t now)
{
	struct inspect *in = d->insp;
	const struct sgnl_policy *pol = &d->cfg->pol;
	struct sg_prefix p = *a;
	struct ihost *h;

	p.len = p.family == AF_INET ? pol->host_prefix4 : pol->host_prefix6;
	sg_prefix_mask(&p);
	h = ptab_find(&in->hosts, &p);
	if (h && h->at + pol->window > now)
		return true;
	if (!h && in->hosts.n >= INSPECT_MAX_HOSTS)
		ptab_clear(&in->hosts);
	h = ptab_get(&in->hosts, &p, NULL);
	if (h)
		h->at = now;
	return false;
}

static void on_hit(const struct inspect_hit *h, void *arg)
{
	struct sgd *d = arg;
	const struct sgnl_policy *pol = &d->cfg->pol;
	/* Room in the 1 kB line even when every character is escaped. */
	char signs[300], ev[400], err[200] = "";
	const char *what = "flag";
	struct kv kv;

	if (!listed(&pol->internal, &h->client))
		return;		/* not ours to judge */
	if (same_episode(d, &h->client, now_unix()))
		return;
	if (listed(&pol->exempt, &h->client)) {
		what = "exempt";
	} else if (sgnl_host_flag(d->nl, &h->client, SMTPGATE_REASON_DIALOGUE)) {
		snprintf(err, sizeof(err), "%s", sgnl_error_msg(d->nl));
		d->insp->st.flag_errors++;
	} else {
		d->insp->st.flags++;
	}
	kv_init(&kv);
	kv_str(&kv, "action", "dialogue");
	kv_prefix(&kv, "host", &h->client);
	kv_prefix(&kv, "server", &h->server);
	kv_uint(&kv, "port", h->client_port);
	kv_uint(&kv, "score", h->smtp->score);
	kv_str(&kv, "signs", smtp_signs_str(h->smtp->signs, signs, sizeof(signs)));
	kv_str(&kv, "flag", *err ? "failed" : !strcmp(what, "exempt") ? "no-exempt" : "yes");
	kv_str(&kv, "evidence", smtp_evidence_str(h->smtp, ev, sizeof(ev)));
	if (*err)
		kv_str(&kv, "error", err);
	log_kv(*err ? LOG_ERR : LOG_NOTICE, &kv);
}

/* ---- the daemon: the queue ---------------------------------------------------- */

static int send_cfg(struct inspect *in, uint16_t queue, int what)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, queue);

	switch (what) {
	case NFQNL_CFG_CMD_BIND:
	case NFQNL_CFG_CMD_UNBIND:
		nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, what);
		break;
	default:
		/* The whole packet: the headers are the point. */
		nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, 0xffff);
		nfq_nlmsg_cfg_put_qmaxlen(nlh, INSPECT_QUEUE_MAXLEN);
		mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS,
				 htonl(NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_GSO));
		mnl_attr_put_u32(nlh, NFQA_CFG_MASK,
				 htonl(NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_GSO));
		break;
	}
	nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(in->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	/* The ACK, or the error. */
	for (;;) {
		ssize_t r = mnl_socket_recvfrom(in->nl, buf, sizeof(buf));
		int ret;

		if (r < 0)
			return -errno;
		ret = mnl_cb_run(buf, r, nlh->nlmsg_seq,
				 mnl_socket_get_portid(in->nl), NULL, NULL);
		if (ret <= 0)
			return ret < 0 ? -errno : 0;
	}
}

static int queue_open(struct inspect *in, uint16_t queue)
{
	int one = 1, size = INSPECT_RCVBUF, ret;

	in->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!in->nl)
		return -errno;
	if (mnl_socket_bind(in->nl, 0, MNL_SOCKET_AUTOPID) < 0)
		return -errno;
	in->buf = malloc(INSPECT_BUF);
	if (!in->buf)
		return -ENOMEM;
	ret = send_cfg(in, queue, NFQNL_CFG_CMD_BIND);
	if (!ret)
		ret = send_cfg(in, queue, 0);
	if (ret)
		return ret;
	/* A burst overruns the socket: we read on, the kernel fails open. */
	setsockopt(mnl_socket_get_fd(in->nl), SOL_NETLINK, NETLINK_NO_ENOBUFS,
		   &one, sizeof(one));
	setsockopt(mnl_socket_get_fd(in->nl), SOL_SOCKET, SO_RCVBUFFORCE,
		   &size, sizeof(size));
	in->queue = queue;
	return 0;
}

static void queue_close(struct inspect *in)
{
	if (!in->nl)
		return;
	send_cfg(in, in->queue, NFQNL_CFG_CMD_UNBIND);
	mnl_socket_close(in->nl);
	in->nl = NULL;
	free(in->buf);
	in->buf = NULL;
}

void inspect_close(struct sgd *d)
{
	if (!d->insp)
		return;
	queue_close(d->insp);
	inspect_free(d->insp);
	d->insp = NULL;
}

int inspect_apply(struct sgd *d)
{
	const struct sgd_config *c = d->cfg;
	struct iflow *f;
	int ret;

	if (!(c->pol.has & SGNL_POLICY_HAS(SMTPGATE_A_POLICY_INSPECT_QUEUE))) {
		if (d->insp)
			log_msg(LOG_INFO, "inspection: off");
		inspect_close(d);
		return 0;
	}
	if (d->insp && d->insp->nl && d->insp->queue == c->pol.inspect_queue) {
		/* The flows follow the new configuration. */
		d->insp->conf = &c->smtp;
		d->insp->max_flows = c->inspect_max_flows;
		for (f = d->insp->oldest; f; f = f->newer)
			f->smtp.conf = &c->smtp;
		while (d->insp->nflows > d->insp->max_flows) {
			flow_del(d->insp, d->insp->oldest);
			d->insp->st.evictions++;
		}
		return 0;
	}
	inspect_close(d);
	d->insp = inspect_new(c->inspect_max_flows, &c->smtp, on_hit, d);
	if (!d->insp) {
		log_msg(LOG_ERR, "inspection: out of memory");
		return -ENOMEM;
	}
	ret = queue_open(d->insp, c->pol.inspect_queue);
	if (ret) {
		log_msg(LOG_ERR, "inspection: cannot bind NFQUEUE %u: %s; "
			"SMTP passes uninspected", c->pol.inspect_queue,
			strerror(-ret));
		inspect_close(d);
		return ret;
	}
	log_msg(LOG_INFO, "inspection: NFQUEUE %u, %u bytes per direction, "
		"threshold %u, at most %u flows", c->pol.inspect_queue,
		c->pol.inspect_bytes, c->inspect_threshold, c->inspect_max_flows);
	return 0;
}

int inspect_fd(const struct sgd *d)
{
	return d->insp && d->insp->nl ? mnl_socket_get_fd(d->insp->nl) : -1;
}

static int on_packet(const struct nlmsghdr *nlh, void *arg)
{
	struct nlattr *attr[NFQA_MAX + 1] = { NULL };
	struct inspect *in = arg;
	struct nfqnl_msg_packet_hdr *ph;
	uint32_t id;

	if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR])
		return MNL_CB_OK;
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	id = ntohl(ph->packet_id);
	if (attr[NFQA_PAYLOAD])
		inspect_packet(in, mnl_attr_get_payload(attr[NFQA_PAYLOAD]),
			       mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]),
			       in->now);
	/* One batch verdict covers every id up to the highest. */
	if (!in->have_id || (int32_t)(id - in->max_id) > 0)
		in->max_id = id;
	in->have_id = true;
	return MNL_CB_OK;
}

static void verdict(struct inspect *in)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;

	if (!in->have_id)
		return;
	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_VERDICT_BATCH, in->queue);
	nfq_nlmsg_verdict_put(nlh, in->max_id, NF_ACCEPT);
	if (mnl_socket_sendto(in->nl, nlh, nlh->nlmsg_len) < 0) {
		/* The packets wait in the queue until we manage, or die. */
		if (!in->st.verdict_errors++)
			log_msg(LOG_ERR, "inspection: verdict: %s",
				strerror(errno));
		return;
	}
	in->have_id = false;
}

/* What the socket holds now, a bounded number of reads per call. */
void inspect_read(struct sgd *d)
{
	struct inspect *in = d->insp;
	unsigned int reads;
	ssize_t r;

	if (!in || !in->nl)
		return;
	in->now = now_ms();
	for (reads = 0; reads < 64; reads++) {
		r = recv(mnl_socket_get_fd(in->nl), in->buf, INSPECT_BUF,
			 MSG_DONTWAIT);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		mnl_cb_run(in->buf, r, 0, 0, on_packet, in);
		if (reads % 16 == 15)
			verdict(in);
	}
	verdict(in);
}

void inspect_tick(struct sgd *d, int64_t now)
{
	if (!d->insp)
		return;
	inspect_expire(d->insp, now);
	verdict(d->insp);
}
