// SPDX-License-Identifier: GPL-2.0
/*
 * sgflood: the packet generator of the forwarding benchmark
 * (tests/bench/forward.sh).  pktgen makes only UDP; the benchmark also
 * needs TCP SYNs to port 25, so every configuration uses this one sender
 * and their costs compare.
 *
 * A flow is a packet built from an sgcraft spec (userspace/lib/spec.c),
 * optionally spread over many sources, sent through an AF_PACKET socket on
 * an interface to a MAC address in sendmmsg() batches that bypass the
 * qdisc.  On a veth the receiving side (the gateway's forwarding, the next
 * veth, the far side) runs in the sender's softirq on the same CPU, so the
 * rate is the rate of the whole path, gateway included.
 *
 *   sgflood [-n COUNT] [-b BATCH] [-H HOSTS | -A ADDRS] -i IFACE -m MAC SPEC...
 *	sends COUNT packets of one flow and prints "sent=N seconds=S pps=R"
 *   sgflood -f FILE [-n COUNT] [-r ROUNDS] [-b BATCH] [-o RAW]
 *	the benchmark: FILE has one flow a line,
 *	    NAME BASE NETNS IFACE MAC SPREAD SPEC...
 *	(BASE: the flow whose rate NAME's is divided by, or "-"; SPREAD:
 *	"-", hN or aN as -H N or -A N).  After one unrecorded warm-up burst
 *	of every flow, each round sends a burst of COUNT packets of each flow
 *	that has a base right next to a burst of its base (see bench()), or,
 *	when no flow has one, of each flow in turn.  Prints one line a flow:
 *	    NAME n=BURSTS pps=MEDIAN p25=P p75=P min=P max=P \
 *	    [ratio=MEDIAN rp25=R rp75=R]
 *	the ratio being that of the flow's rate over its base's in the same
 *	pair, its median and quartiles over the rounds; RAW gets every burst
 *	as "ROUND NAME PPS".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "clock.h"
#include "spec.h"

#define MAX_BATCH	1024
#define MAX_SPREAD	1048576
#define MAX_FLOWS	64
#define MAX_ROUNDS	10000
#define FRAME_MAX	256

struct flow {
	char name[32];
	char base_name[32];
	int base;		/* index of the base flow, -1: none */
	int fd;
	unsigned char *frames;	/* one per source, FRAME_MAX apart */
	unsigned int flen;
	unsigned long n_src;
	unsigned long next;	/* the next source to send */
	double *pps;		/* every burst's rate */
	unsigned int n, cap;
	double *ratio;		/* per round: over the paired base burst */
	unsigned int rounds;
	char *key;		/* what the frames are made of */
};

static struct flow flows[MAX_FLOWS];
static unsigned int n_flows;
static unsigned int batch = 64;

static void usage(void)
{
	fprintf(stderr,
		"Usage: sgflood [-n COUNT] [-b BATCH] [-H HOSTS | -A ADDRS] -i IFACE -m MAC SPEC...\n"
		"       sgflood -f FILE [-n COUNT] [-r ROUNDS] [-b BATCH] [-o RAW]\n"
		"  -n COUNT  packets to send, per flow and round with -f (100000)\n"
		"  -b BATCH  packets per sendmmsg() (default 64, at most %d)\n"
		"  -H HOSTS  spread the source over HOSTS hosts: IPv6 sources\n"
		"            get host number i in their 4th group (one /64\n"
		"            each), IPv4 ones i added to the address\n"
		"  -A ADDRS  spread the source over ADDRS consecutive addresses\n"
		"  -f FILE   flows, one a line: NAME BASE NETNS IFACE MAC SPREAD SPEC...\n"
		"  -r ROUNDS rounds over every flow (default 20)\n"
		"  -o RAW    every sample as \"round flow pps\" lines\n"
		"  SPEC      an sgcraft packet spec, e.g. tcp6 src=2001:db8:1::25\n"
		"            dst=2001:db8:2::2 dport=25 (see sgcraft --help)\n",
		MAX_BATCH);
	exit(2);
}

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "sgflood: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	exit(1);
}

static int parse_mac(const char *s, unsigned char mac[ETH_ALEN])
{
	unsigned int b[ETH_ALEN];
	int i;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4],
		   &b[5]) != ETH_ALEN)
		return -1;
	for (i = 0; i < ETH_ALEN; i++)
		mac[i] = b[i];
	return 0;
}

/* Source number @i: in the 4th group (@hosts) or the low 32 bits. */
static void spread_source(struct spec *s, const struct spec *base,
			  unsigned long i, int hosts)
{
	uint32_t low;

	if (spec_family(base) == AF_INET6 && hosts) {
		s->ip6.saddr.s6_addr[6] = i >> 8;
		s->ip6.saddr.s6_addr[7] = i;
	} else if (spec_family(base) == AF_INET6) {
		memcpy(&low, &base->ip6.saddr.s6_addr[12], 4);
		low = htonl(ntohl(low) + i);
		memcpy(&s->ip6.saddr.s6_addr[12], &low, 4);
	} else {
		s->ip4.saddr.s_addr = htonl(ntohl(base->ip4.saddr.s_addr) + i);
	}
}

/*
 * Opens the flow's socket on @ifname in network namespace @netns ("-":
 * ours) and builds its frames to @mac from @spec.
 */
static void flow_open(struct flow *f, const char *netns, const char *ifname,
		      const char *mac_text, const char *spread,
		      const char *spec)
{
	static struct pkt p;
	static struct spec base, s;
	struct sockaddr_ll sll = { .sll_family = AF_PACKET };
	unsigned char mac[ETH_ALEN], src[ETH_ALEN];
	int one = 1, self = -1, ns, hosts = 0;
	uint16_t proto;
	struct ifreq ifr;
	char err[256];
	unsigned long i;

	if (parse_mac(mac_text, mac))
		die("bad MAC address %s", mac_text);
	f->n_src = 1;
	if (strcmp(spread, "-")) {
		hosts = spread[0] == 'h';
		if (!hosts && spread[0] != 'a')
			die("bad spread %s", spread);
		f->n_src = strtoul(spread + 1, NULL, 10);
		if (!f->n_src || f->n_src > MAX_SPREAD)
			die("bad spread %s", spread);
	}
	if (spec_build_str(spec, &p, &base, err, sizeof(err)) < 0)
		die("%s", err);
	if (p.len + ETH_HLEN > FRAME_MAX)
		die("%s: packet too long", spec);

	if (strcmp(netns, "-")) {
		char path[256];

		snprintf(path, sizeof(path), "/run/netns/%s", netns);
		self = open("/proc/self/ns/net", O_RDONLY);
		ns = open(path, O_RDONLY);
		if (self < 0 || ns < 0 || setns(ns, CLONE_NEWNET))
			die("cannot enter network namespace %s", netns);
		close(ns);
	}
	f->fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (f->fd < 0)
		die("AF_PACKET socket: %s", strerror(errno));
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(f->fd, SIOCGIFHWADDR, &ifr) < 0)
		die("no interface %s", ifname);
	memcpy(src, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	sll.sll_ifindex = if_nametoindex(ifname);
	/* Protocol 0: send only, no copies of what the interface receives. */
	if (bind(f->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		die("bind: %s", strerror(errno));
	/* Best effort: a veth has no queue to bypass anyway. */
	setsockopt(f->fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
	if (self >= 0) {
		if (setns(self, CLONE_NEWNET))
			die("cannot return to our namespace%s", "");
		close(self);
	}

	/*
	 * Flows that send the same frames share them (the benchmark gives
	 * every path the same MAC addresses): one copy in the cache for all.
	 */
	if (asprintf(&f->key, "%02x%02x%02x%02x%02x%02x %s %s %s", src[0],
		     src[1], src[2], src[3], src[4], src[5], mac_text, spread,
		     spec) < 0)
		die("%s", strerror(errno));
	f->flen = ETH_HLEN + p.len;
	for (i = 0; i < (unsigned long)(f - flows); i++) {
		if (!strcmp(flows[i].key, f->key)) {
			f->frames = flows[i].frames;
			return;
		}
	}
	f->frames = calloc(f->n_src, FRAME_MAX);
	if (!f->frames)
		die("%s", strerror(errno));
	proto = htons(spec_family(&base) == AF_INET6 ? ETH_P_IPV6 : ETH_P_IP);
	for (i = 0; i < f->n_src; i++) {
		unsigned char *fr = f->frames + i * FRAME_MAX;

		s = base;
		if (f->n_src > 1) {
			spread_source(&s, &base, i, hosts);
			if (spec_build(&s, &p) < 0)
				die("cannot build source %s", "");
		}
		memcpy(fr, mac, ETH_ALEN);
		memcpy(fr + ETH_ALEN, src, ETH_ALEN);
		memcpy(fr + 2 * ETH_ALEN, &proto, 2);
		memcpy(fr + ETH_HLEN, p.buf, p.len);
	}
}

/* Sends @count packets of @f; returns the seconds it took. */
static double flow_send(struct flow *f, unsigned long count)
{
	static struct mmsghdr msgs[MAX_BATCH];
	static struct iovec iov[MAX_BATCH];
	unsigned long sent = 0, i;
	unsigned int n;
	double t0 = mono_seconds();
	int r;

	while (sent < count) {
		n = count - sent < batch ? count - sent : batch;
		for (i = 0; i < n; i++) {
			iov[i].iov_base = f->frames + f->next * FRAME_MAX;
			iov[i].iov_len = f->flen;
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			f->next = f->next + 1 == f->n_src ? 0 : f->next + 1;
		}
		r = sendmmsg(f->fd, msgs, n, 0);
		if (r < 0) {
			if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR)
				r = 0;
			else
				die("sendmmsg: %s", strerror(errno));
		}
		sent += r;
		/* What was not sent goes again, from the same sources. */
		f->next = (f->next + f->n_src - (n - r) % f->n_src) % f->n_src;
	}
	return mono_seconds() - t0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The @q quantile of @n sorted values, interpolated. */
static double quantile(const double *v, unsigned int n, double q)
{
	double pos = q * (n - 1);
	unsigned int i = pos;

	if (i + 1 >= n)
		return v[n - 1];
	return v[i] + (pos - i) * (v[i + 1] - v[i]);
}

static void read_flows(const char *file, unsigned int rounds)
{
	char line[1024], name[32], base[32], netns[64], ifname[IFNAMSIZ];
	char mac[32], spread[32];
	unsigned int i, j;
	FILE *fp;
	int off;

	fp = fopen(file, "r");
	if (!fp)
		die("%s: cannot open", file);
	while (fgets(line, sizeof(line), fp)) {
		struct flow *f = &flows[n_flows];

		line[strcspn(line, "\n")] = 0;
		if (!line[0] || line[0] == '#')
			continue;
		if (n_flows == MAX_FLOWS)
			die("more than 64 flows in %s", file);
		if (sscanf(line, "%31s %31s %63s %15s %31s %31s %n", name, base,
			   netns, ifname, mac, spread, &off) != 6 || !line[off])
			die("bad line: %s", line);
		snprintf(f->name, sizeof(f->name), "%s", name);
		snprintf(f->base_name, sizeof(f->base_name), "%s", base);
		flow_open(f, netns, ifname, mac, spread, line + off);
		f->ratio = calloc(rounds, sizeof(*f->ratio));
		if (!f->ratio)
			die("%s", strerror(errno));
		n_flows++;
	}
	fclose(fp);
	for (i = 0; i < n_flows; i++) {
		flows[i].base = -1;
		for (j = 0; j < n_flows; j++)
			if (!strcmp(flows[i].base_name, flows[j].name))
				flows[i].base = j;
		if (flows[i].base < 0 && strcmp(flows[i].base_name, "-"))
			die("no base flow %s", flows[i].base_name);
	}
}

static void add_sample(struct flow *f, double pps)
{
	if (f->n == f->cap) {
		f->cap = f->cap ? 2 * f->cap : 64;
		f->pps = realloc(f->pps, f->cap * sizeof(*f->pps));
		if (!f->pps)
			die("%s", strerror(errno));
	}
	f->pps[f->n++] = pps;
}

/* Median and quartiles of @n values (sorted in place). */
static void quartiles(double *v, unsigned int n, double q[3])
{
	qsort(v, n, sizeof(*v), cmp_double);
	q[0] = quantile(v, n, 0.25);
	q[1] = quantile(v, n, 0.5);
	q[2] = quantile(v, n, 0.75);
}

static void report(void)
{
	double q[3], *v;
	unsigned int i;

	for (i = 0; i < n_flows; i++) {
		struct flow *f = &flows[i];

		if (!f->n)
			continue;
		v = malloc(f->n * sizeof(*v));
		if (!v)
			die("%s", strerror(errno));
		memcpy(v, f->pps, f->n * sizeof(*v));
		quartiles(v, f->n, q);
		printf("%s n=%u pps=%.0f p25=%.0f p75=%.0f min=%.0f max=%.0f",
		       f->name, f->n, q[1], q[0], q[2], v[0], v[f->n - 1]);
		free(v);
		if (f->base >= 0) {
			quartiles(f->ratio, f->rounds, q);
			printf(" ratio=%.4f rp25=%.4f rp75=%.4f", q[1], q[0], q[2]);
		}
		printf("\n");
	}
}

/* One burst of @f, recorded; returns its rate. */
static double burst(struct flow *f, unsigned long count, FILE *out,
		    unsigned int round)
{
	double pps = count / flow_send(f, count);

	add_sample(f, pps);
	if (out)
		fprintf(out, "%u %s %.0f\n", round, f->name, pps);
	return pps;
}

/*
 * Every round visits the flows that have a base, starting one later each
 * round, and measures each right next to its base (base first in even
 * rounds, last in odd ones): the ratio of the pair is what the host's
 * other load disturbs least.
 */
static int bench(const char *file, unsigned long count, unsigned int rounds,
		 const char *raw)
{
	unsigned int r, j, i, n_dep = 0, dep[MAX_FLOWS];
	FILE *out = NULL;
	double x, b;

	read_flows(file, rounds);
	for (i = 0; i < n_flows; i++)
		if (flows[i].base >= 0)
			dep[n_dep++] = i;
	if (raw) {
		out = fopen(raw, "w");
		if (!out)
			die("%s: cannot create", raw);
	}
	for (i = 0; i < n_flows; i++)
		flow_send(&flows[i], count);
	for (r = 0; r < rounds && !n_dep; r++)	/* no pairs: each in turn */
		for (j = 0; j < n_flows; j++)
			burst(&flows[(j + r) % n_flows], count, out, r);
	for (r = 0; r < rounds && n_dep; r++) {
		for (j = 0; j < n_dep; j++) {
			struct flow *f = &flows[dep[(j + r) % n_dep]];
			struct flow *fb = &flows[f->base];

			if (r % 2) {
				x = burst(f, count, out, r);
				b = burst(fb, count, out, r);
			} else {
				b = burst(fb, count, out, r);
				x = burst(f, count, out, r);
			}
			f->ratio[f->rounds++] = x / b;
		}
	}
	if (out)
		fclose(out);
	report();
	return 0;
}

int main(int argc, char **argv)
{
	const char *ifname = NULL, *mac = NULL, *file = NULL, *raw = NULL;
	unsigned long count = 100000, spread = 0;
	unsigned int rounds = 20;
	char spec[1024] = "", spread_text[32] = "-", kind = 'h';
	double t;
	int opt;

	while ((opt = getopt(argc, argv, "i:m:n:b:H:A:f:r:o:h")) != -1) {
		switch (opt) {
		case 'i': ifname = optarg; break;
		case 'm': mac = optarg; break;
		case 'n': count = strtoul(optarg, NULL, 10); break;
		case 'b': batch = strtoul(optarg, NULL, 10); break;
		case 'H': spread = strtoul(optarg, NULL, 10); kind = 'h'; break;
		case 'A': spread = strtoul(optarg, NULL, 10); kind = 'a'; break;
		case 'f': file = optarg; break;
		case 'r': rounds = strtoul(optarg, NULL, 10); break;
		case 'o': raw = optarg; break;
		default: usage();
		}
	}
	if (!batch || batch > MAX_BATCH || !count || !rounds ||
	    rounds > MAX_ROUNDS)
		usage();
	if (file) {
		if (optind != argc || ifname)
			usage();
		return bench(file, count, rounds, raw);
	}
	if (!ifname || !mac || optind == argc)
		usage();
	for (; optind < argc; optind++) {
		if (strlen(spec) + strlen(argv[optind]) + 2 > sizeof(spec))
			usage();
		strcat(spec, argv[optind]);
		strcat(spec, " ");
	}
	if (spread)
		snprintf(spread_text, sizeof(spread_text), "%c%lu", kind, spread);
	flow_open(&flows[0], "-", ifname, mac, spread_text, spec);
	t = flow_send(&flows[0], count);
	printf("sent=%lu seconds=%.6f pps=%.0f\n", count, t, count / t);
	return 0;
}
