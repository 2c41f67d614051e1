// SPDX-License-Identifier: GPL-2.0
/*
 * sgcraft sniff: count the packets arriving on an interface that smtpgate
 * would put in a class, through the classifier itself (kmod/classify.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "sgcraft.h"
#include "classify.h"

#define F_CLASS		0x01
#define F_SRC		0x02
#define F_DST		0x04
#define F_ISRC		0x08
#define F_IDST		0x10
#define F_SPORT		0x20
#define F_DPORT		0x40
#define F_TEREDO	0x80

struct filter {
	unsigned int set;	/* F_* */
	unsigned int classes;	/* 1 << SMTPGATE_CLASS_* */
	int src_family, dst_family;
	union nf_inet_addr src, dst, isrc, idst;
	uint16_t sport, dport;
	uint8_t teredo;
};

static bool parse_port(const char *v, uint16_t *port)
{
	char *end;
	unsigned long n;

	if (*v < '0' || *v > '9')
		return false;
	n = strtoul(v, &end, 10);
	if (*end || n > 0xffff)
		return false;
	*port = n;
	return true;
}

/* Either family; the one found is returned in @family. */
static bool parse_addr(const char *v, union nf_inet_addr *a, int *family)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, v, &a->in) == 1) {
		*family = NFPROTO_IPV4;
		return true;
	}
	*family = NFPROTO_IPV6;
	return inet_pton(AF_INET6, v, &a->in6) == 1;
}

static bool parse_classes(const char *v, unsigned int *classes)
{
	char buf[128], *tok, *save;
	unsigned int c;

	if (strlen(v) >= sizeof(buf))
		return false;
	strcpy(buf, v);
	*classes = 0;
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		for (c = 0; c < __SMTPGATE_CLASS_MAX; c++)
			if (!strcmp(tok, sg_class_name(c)))
				break;
		if (c == __SMTPGATE_CLASS_MAX)
			return false;
		*classes |= 1U << c;
	}
	return *classes;
}

static bool parse_teredo(const char *v, uint8_t *flags)
{
	if (!strcmp(v, "none"))
		*flags = 0;
	else if (!strcmp(v, "auth"))
		*flags = SG_TEREDO_AUTH;
	else if (!strcmp(v, "origin"))
		*flags = SG_TEREDO_ORIGIN;
	else if (!strcmp(v, "auth,origin"))
		*flags = SG_TEREDO_AUTH | SG_TEREDO_ORIGIN;
	else
		return false;
	return true;
}

static const char *const filter_keys[] = {
	"class", "src", "dst", "inner-src", "inner-dst", "sport", "dport",
	"teredo",
};

static bool filter_key(const char *key)
{
	unsigned int i;

	for (i = 0; i < sizeof(filter_keys) / sizeof(filter_keys[0]); i++)
		if (!strcmp(key, filter_keys[i]))
			return true;
	return false;
}

static bool parse_filter_token(struct filter *f, const char *key,
			       const char *v)
{
	int family;

	if (!strcmp(key, "class")) {
		f->set |= F_CLASS;
		return parse_classes(v, &f->classes);
	}
	if (!strcmp(key, "src")) {
		f->set |= F_SRC;
		return parse_addr(v, &f->src, &f->src_family);
	}
	if (!strcmp(key, "dst")) {
		f->set |= F_DST;
		return parse_addr(v, &f->dst, &f->dst_family);
	}
	if (!strcmp(key, "inner-src")) {
		f->set |= F_ISRC;
		return parse_addr(v, &f->isrc, &family) &&
		       family == NFPROTO_IPV6;
	}
	if (!strcmp(key, "inner-dst")) {
		f->set |= F_IDST;
		return parse_addr(v, &f->idst, &family) &&
		       family == NFPROTO_IPV6;
	}
	if (!strcmp(key, "sport")) {
		f->set |= F_SPORT;
		return parse_port(v, &f->sport);
	}
	if (!strcmp(key, "dport")) {
		f->set |= F_DPORT;
		return parse_port(v, &f->dport);
	}
	if (!strcmp(key, "teredo")) {
		f->set |= F_TEREDO;
		return parse_teredo(v, &f->teredo);
	}
	return false;
}

static bool addr_eq(const struct sg_flow *flow, const union nf_inet_addr *a,
		    const union nf_inet_addr *want, int family)
{
	if (family != flow->family)
		return false;
	if (family == NFPROTO_IPV4)
		return a->ip == want->ip;
	return !memcmp(&a->in6, &want->in6, sizeof(a->in6));
}

static bool tunnelled(const struct sg_flow *flow)
{
	return flow->class == SMTPGATE_CLASS_TEREDO ||
	       flow->class == SMTPGATE_CLASS_SIXIN4;
}

static bool smtp(const struct sg_flow *flow)
{
	return flow->class != SMTPGATE_CLASS_OTHER;
}

static bool match(const struct filter *f, const struct sg_flow *flow)
{
	if ((f->set & F_CLASS) && !(f->classes & (1U << flow->class)))
		return false;
	if ((f->set & F_SRC) &&
	    !addr_eq(flow, &flow->saddr, &f->src, f->src_family))
		return false;
	if ((f->set & F_DST) &&
	    !addr_eq(flow, &flow->daddr, &f->dst, f->dst_family))
		return false;
	if ((f->set & (F_ISRC | F_IDST)) && !tunnelled(flow))
		return false;
	if ((f->set & F_ISRC) &&
	    memcmp(&flow->inner_saddr.in6, &f->isrc.in6, 16))
		return false;
	if ((f->set & F_IDST) &&
	    memcmp(&flow->inner_daddr.in6, &f->idst.in6, 16))
		return false;
	if ((f->set & (F_SPORT | F_DPORT)) && !smtp(flow))
		return false;
	if ((f->set & F_SPORT) && ntohs(flow->sport) != f->sport)
		return false;
	if ((f->set & F_DPORT) && ntohs(flow->dport) != f->dport)
		return false;
	if ((f->set & F_TEREDO) && (flow->class != SMTPGATE_CLASS_TEREDO ||
				    flow->teredo != f->teredo))
		return false;
	return true;
}

static const char *ntop(int nfproto, const union nf_inet_addr *a,
			char *buf, size_t len)
{
	return inet_ntop(nfproto == NFPROTO_IPV4 ? AF_INET : AF_INET6, a,
			 buf, len);
}

/* One line per packet, in the shape the tests grep for. */
static void print_flow(const struct sg_flow *flow, const unsigned char *pkt,
		       unsigned int len)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	char is[INET6_ADDRSTRLEN], id[INET6_ADDRSTRLEN];
	bool v4 = flow->family == NFPROTO_IPV4;

	ntop(flow->family, &flow->saddr, s, sizeof(s));
	ntop(flow->family, &flow->daddr, d, sizeof(d));
	switch (flow->class) {
	case SMTPGATE_CLASS_SMTP4:
	case SMTPGATE_CLASS_SMTP6:
		printf(v4 ? "%s %s:%u > %s:%u\n" : "%s [%s]:%u > [%s]:%u\n",
		       sg_class_name(flow->class), s, ntohs(flow->sport), d,
		       ntohs(flow->dport));
		break;
	case SMTPGATE_CLASS_TEREDO:
	case SMTPGATE_CLASS_SIXIN4:
		ntop(NFPROTO_IPV6, &flow->inner_saddr, is, sizeof(is));
		ntop(NFPROTO_IPV6, &flow->inner_daddr, id, sizeof(id));
		printf("%s %s > %s [%s]:%u > [%s]:%u", sg_class_name(flow->class),
		       s, d, is, ntohs(flow->sport), id, ntohs(flow->dport));
		if (flow->class == SMTPGATE_CLASS_TEREDO)
			printf(" %s", (const char *[]){ "none", "auth", "origin",
				"auth,origin" }[flow->teredo & 3]);
		printf("\n");
		break;
	default:
		printf("other %s > %s proto %u len %u\n", s, d,
		       v4 ? pkt[9] : pkt[6], len);
	}
	fflush(stdout);
}

static bool parse_ports(const char *v, struct sg_ports *ports)
{
	char buf[256], *tok, *save;
	uint16_t port;

	if (strlen(v) >= sizeof(buf))
		return false;
	strcpy(buf, v);
	memset(ports, 0, sizeof(*ports));
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (!parse_port(tok, &port))
			return false;
		sg_port_set(ports, port);
	}
	return true;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int open_sniffer(const char *ifname)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
	};
	int fd;

	sll.sll_ifindex = if_nametoindex(ifname);
	if (!sll.sll_ifindex) {
		fprintf(stderr, "%s: no interface '%s'\n", PROG_NAME, ifname);
		return -1;
	}
	fd = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_ALL));
	if (fd < 0 || bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		fprintf(stderr, "%s: cannot capture on %s: %s\n", PROG_NAME,
			ifname, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

struct sniffer {
	int fd;
	bool outgoing;
	struct sg_ports ports;
	struct filter filter;
};

/* Reads one packet; 1 if it matched, 0 if not, -1 on error. */
static int sniff_one(struct sniffer *sn)
{
	static unsigned char buf[65536];
	struct sockaddr_ll from;
	socklen_t fromlen = sizeof(from);
	struct sk_buff skb = { .data = buf };
	struct sg_flow flow;
	uint8_t family;
	ssize_t n;

	n = recvfrom(sn->fd, buf, sizeof(buf), MSG_DONTWAIT,
		     (struct sockaddr *)&from, &fromlen);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (from.sll_pkttype == PACKET_OUTGOING && !sn->outgoing)
		return 0;
	if (from.sll_protocol == htons(ETH_P_IP))
		family = NFPROTO_IPV4;
	else if (from.sll_protocol == htons(ETH_P_IPV6))
		family = NFPROTO_IPV6;
	else
		return 0;
	skb.len = skb.head_len = n;
	sg_classify(&skb, 0, family, &sn->ports, &flow);
	if (!match(&sn->filter, &flow))
		return 0;
	print_flow(&flow, buf, n);
	return 1;
}

int sniff_main(int argc, char *argv[])
{
	struct sniffer sn = { .fd = -1 };
	const char *ifname = NULL;
	unsigned long count = 1, seen = 0;
	long timeout = -1, deadline;
	int opt, i, ret;
	char *end;

	sg_port_set(&sn.ports, 25);
	sg_port_set(&sn.ports, 465);
	while ((opt = getopt(argc, argv, "+i:t:c:p:oh")) != -1) {
		switch (opt) {
		case 'i':
			ifname = optarg;
			break;
		case 't':
		case 'c':
			errno = 0;
			if (opt == 't')
				timeout = strtol(optarg, &end, 10);
			else
				count = strtoul(optarg, &end, 10);
			if (*optarg < '0' || *optarg > '9' || *end || errno) {
				fprintf(stderr, "%s: bad value '%s' for -%c\n",
					PROG_NAME, optarg, opt);
				return EXIT_USAGE;
			}
			break;
		case 'p':
			if (!parse_ports(optarg, &sn.ports)) {
				fprintf(stderr, "%s: bad value '%s' for -p\n",
					PROG_NAME, optarg);
				return EXIT_USAGE;
			}
			break;
		case 'o':
			sn.outgoing = true;
			break;
		case 'h':
			usage(stdout, "sniff");
			return EXIT_OK;
		default:
			usage(stderr, "sniff");
			return EXIT_USAGE;
		}
	}
	if (!ifname || timeout < 0) {
		fprintf(stderr, "%s: sniff needs -i IFACE and -t TIMEOUT_MS\n",
			PROG_NAME);
		return EXIT_USAGE;
	}
	for (i = optind; i < argc; i++) {
		char *eq = strchr(argv[i], '=');

		if (eq)
			*eq = '\0';
		if (!eq || !filter_key(argv[i])) {
			fprintf(stderr, "%s: unknown filter key '%s'\n",
				PROG_NAME, argv[i]);
			return EXIT_USAGE;
		}
		if (!parse_filter_token(&sn.filter, argv[i], eq + 1)) {
			fprintf(stderr, "%s: bad value '%s' for %s\n",
				PROG_NAME, eq + 1, argv[i]);
			return EXIT_USAGE;
		}
	}

	sn.fd = open_sniffer(ifname);
	if (sn.fd < 0)
		return EXIT_FAIL;
	fprintf(stderr, "%s: listening on %s\n", PROG_NAME, ifname);
	deadline = now_ms() + timeout;
	ret = EXIT_FAIL;
	while (seen < count) {
		struct pollfd pfd = { .fd = sn.fd, .events = POLLIN };
		long left = deadline - now_ms();
		int r;

		if (left <= 0)
			break;
		if (poll(&pfd, 1, left) < 0 && errno != EINTR)
			break;
		while ((r = sniff_one(&sn)) > 0 && ++seen < count)
			;
		if (r < 0) {
			fprintf(stderr, "%s: capture failed: %s\n", PROG_NAME,
				strerror(errno));
			goto out;
		}
	}
	if (seen >= count)
		ret = EXIT_OK;
out:
	close(sn.fd);
	return ret;
}
