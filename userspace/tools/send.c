// SPDX-License-Identifier: GPL-2.0
/*
 * sgcraft send: build packets from specs and put them on the wire.
 *
 * Raw IPPROTO_RAW sockets by default: the kernel routes the packet and
 * resolves the next hop, which is what a test in a namespace wants, and
 * sends IPv6 extension headers and IPv4 options untouched.  -e switches to
 * AF_PACKET for the few packets the raw path would fix up (IPv4 lengths).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "sgcraft.h"
#include "../lib/spec.h"

struct sender {
	const char *ifname;
	int ifindex;
	unsigned char mac[ETH_ALEN];
	bool link;		/* AF_PACKET to mac */
	int fd4, fd6;		/* raw sockets, opened on first use */
	unsigned long sent;
};

static int open_raw(const struct sender *sd, int family)
{
	int fd = socket(family, SOCK_RAW, IPPROTO_RAW);

	if (fd < 0) {
		fprintf(stderr, "%s: cannot open raw %s socket: %s\n",
			PROG_NAME, family == AF_INET ? "IPv4" : "IPv6",
			strerror(errno));
		return -1;
	}
	if (sd->ifname && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE,
				     sd->ifname, strlen(sd->ifname) + 1)) {
		fprintf(stderr, "%s: cannot bind to %s: %s\n", PROG_NAME,
			sd->ifname, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int send_link(struct sender *sd, const struct pkt *p, int family)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(family == AF_INET ? ETH_P_IP : ETH_P_IPV6),
		.sll_ifindex = sd->ifindex,
		.sll_halen = ETH_ALEN,
	};

	if (sd->fd4 < 0) {
		sd->fd4 = socket(AF_PACKET, SOCK_DGRAM, 0);
		if (sd->fd4 < 0) {
			fprintf(stderr, "%s: cannot open packet socket: %s\n",
				PROG_NAME, strerror(errno));
			return -2;
		}
	}
	memcpy(sll.sll_addr, sd->mac, ETH_ALEN);
	return sendto(sd->fd4, p->buf, p->len, 0, (struct sockaddr *)&sll,
		      sizeof(sll));
}

/* Routed by the outer destination, read back from the built header. */
static int send_raw(struct sender *sd, const struct pkt *p, int family)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	int *fd = family == AF_INET ? &sd->fd4 : &sd->fd6;

	if (*fd < 0) {
		*fd = open_raw(sd, family);
		if (*fd < 0)
			return -2;	/* open_raw() said why */
	}
	if (family == AF_INET) {
		memcpy(&sin.sin_addr, p->buf + 16, 4);
		return sendto(*fd, p->buf, p->len, 0, (struct sockaddr *)&sin,
			      sizeof(sin));
	}
	memcpy(&sin6.sin6_addr, p->buf + 24, 16);
	return sendto(*fd, p->buf, p->len, 0, (struct sockaddr *)&sin6,
		      sizeof(sin6));
}

struct emit_ctx {
	struct sender *sd;
	int family;
};

static int emit(const struct pkt *p, void *arg)
{
	struct emit_ctx *ctx = arg;
	int ret;

	if (ctx->sd->link)
		ret = send_link(ctx->sd, p, ctx->family);
	else
		ret = send_raw(ctx->sd, p, ctx->family);
	if (ret == -1)
		fprintf(stderr, "%s: cannot send %u-byte packet: %s\n",
			PROG_NAME, p->len, strerror(errno));
	if (ret < 0)
		return 1;	/* said why; spec_emit() passes it on */
	ctx->sd->sent++;
	return 0;
}

static bool parse_mac(const char *s, unsigned char mac[ETH_ALEN])
{
	unsigned int b[ETH_ALEN];
	char tail;
	int i;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3],
		   &b[4], &b[5], &tail) != ETH_ALEN)
		return false;
	for (i = 0; i < ETH_ALEN; i++) {
		if (b[i] > 0xff)
			return false;
		mac[i] = b[i];
	}
	return true;
}

static int count_only(const struct pkt *p, void *arg)
{
	return 0;
}

static int parse_specs(int argc, char *argv[], struct spec **specs,
		       unsigned int *nspecs)
{
	char err[256];
	int i = 0, n;

	*specs = calloc(argc, sizeof(**specs));
	if (!*specs)
		return -1;
	*nspecs = 0;
	while (i < argc) {
		n = spec_parse(argc - i, argv + i, &(*specs)[*nspecs], err,
			       sizeof(err));
		if (n < 0) {
			fprintf(stderr, "%s: %s\n", PROG_NAME, err);
			return -1;
		}
		/* Build once now: pick= and sizes fail before anything is sent. */
		if (spec_emit(&(*specs)[*nspecs], count_only, NULL, err,
			      sizeof(err))) {
			fprintf(stderr, "%s: %s\n", PROG_NAME, err);
			return -1;
		}
		(*nspecs)++;
		i += n;
	}
	return 0;
}

int send_main(int argc, char *argv[])
{
	struct sender sd = { .fd4 = -1, .fd6 = -1 };
	unsigned long count = 1, round;
	struct spec *specs = NULL;
	unsigned int nspecs, i;
	int opt, ret = EXIT_USAGE;
	const char *mac = NULL;
	char err[256], *end;

	while ((opt = getopt(argc, argv, "+i:n:e:h")) != -1) {
		switch (opt) {
		case 'i':
			sd.ifname = optarg;
			break;
		case 'n':
			count = strtoul(optarg, &end, 0);
			if (*optarg < '0' || *optarg > '9' || *end) {
				fprintf(stderr, "%s: bad value '%s' for -n\n",
					PROG_NAME, optarg);
				return EXIT_USAGE;
			}
			break;
		case 'e':
			mac = optarg;
			if (!parse_mac(optarg, sd.mac)) {
				fprintf(stderr, "%s: bad value '%s' for -e\n",
					PROG_NAME, optarg);
				return EXIT_USAGE;
			}
			sd.link = true;
			break;
		case 'h':
			usage(stdout, "send");
			return EXIT_OK;
		default:
			usage(stderr, "send");
			return EXIT_USAGE;
		}
	}
	if (mac && !sd.ifname) {
		fprintf(stderr, "%s: -e needs -i\n", PROG_NAME);
		return EXIT_USAGE;
	}
	if (optind == argc) {
		fprintf(stderr, "%s: missing packet spec\n", PROG_NAME);
		usage(stderr, "send");
		return EXIT_USAGE;
	}
	if (sd.ifname) {
		sd.ifindex = if_nametoindex(sd.ifname);
		if (!sd.ifindex) {
			fprintf(stderr, "%s: no interface '%s'\n", PROG_NAME,
				sd.ifname);
			return EXIT_FAIL;
		}
	}
	srandom(time(NULL) ^ getpid());
	if (parse_specs(argc - optind, argv + optind, &specs, &nspecs))
		goto out;

	ret = EXIT_FAIL;
	for (round = 0; round < count; round++) {
		for (i = 0; i < nspecs; i++) {
			struct emit_ctx ctx = {
				.sd = &sd, .family = spec_family(&specs[i]),
			};

			/* Fragments of different rounds must not overlap in
			 * the receiver's reassembly queue.
			 */
			if (!specs[i].id_set) {
				specs[i].ip4.id = random();
				specs[i].frag_id = random();
			}

			int e = spec_emit(&specs[i], emit, &ctx, err,
					  sizeof(err));

			if (e < 0)
				fprintf(stderr, "%s: %s\n", PROG_NAME, err);
			if (e)
				goto out;
		}
	}
	ret = EXIT_OK;
out:
	if (sd.fd4 >= 0)
		close(sd.fd4);
	if (sd.fd6 >= 0)
		close(sd.fd6);
	free(specs);
	return ret;
}
