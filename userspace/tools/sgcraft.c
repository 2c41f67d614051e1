// SPDX-License-Identifier: GPL-2.0
/*
 * sgcraft: sends the packets smtpgate classifies and counts what arrives,
 * for the tests in network namespaces.  One file per subcommand.
 */
#include <stdio.h>
#include <string.h>
#include "sgcraft.h"
#include "../lib/spec.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char *argv[]);
	const char *synopsis;
} commands[] = {
	{ "send", send_main,
	  "send [-i IFACE [-e MAC]] [-n COUNT] SPEC..." },
	{ "sniff", sniff_main,
	  "sniff -i IFACE -t TIMEOUT_MS [-c COUNT] [-p PORTS] [-o] [FILTER...]" },
};

static const char send_help[] =
"Sends each SPEC, COUNT times over (default 1).  Without -e, through a raw\n"
"IPv4 or IPv6 socket (IPPROTO_RAW, header included), routed by the outer\n"
"destination, bound to IFACE if given; the kernel then fills in the IPv4\n"
"total length, and a zero IPv4 ID and source, and always the IPv4 header\n"
"checksum.  With -i IFACE -e MAC, through AF_PACKET to that link-layer\n"
"destination (the next hop's MAC: ip neigh), byte for byte as built.\n";

static const char sniff_help[] =
"Counts the IPv4 and IPv6 packets received on IFACE (AF_PACKET, so before\n"
"netfilter: sniff where the packets arrive, not where they are filtered)\n"
"that match every FILTER token, classified as smtpgate would with PORTS\n"
"watched (default 25,465); -o counts outgoing packets too.  Prints one line\n"
"per match; exits 0 once COUNT (default 1) matched, 1 at the timeout.\n"
"Says 'listening' on stderr once the socket is bound.\n"
"FILTER: class=NAME[,NAME...] (other smtp4 smtp6 teredo sixin4)\n"
"  src=ADDR dst=ADDR (outer) inner-src=ADDR inner-dst=ADDR sport=N dport=N\n"
"  (of the SMTP segment) teredo=none|auth|origin|auth,origin\n";

void usage(FILE *f, const char *cmd)
{
	unsigned int i;

	fprintf(f, "Usage:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!cmd || !strcmp(cmd, commands[i].name))
			fprintf(f, "  %s %s\n", PROG_NAME,
				commands[i].synopsis);
	fprintf(f, "  %s --help\n\n", PROG_NAME);
	if (!cmd || !strcmp(cmd, "send"))
		fprintf(f, "%s\n%s", send_help, spec_grammar);
	if (!cmd || !strcmp(cmd, "sniff"))
		fprintf(f, "%s%s", cmd ? "" : "\n", sniff_help);
	fprintf(f, "\nExit status: 0 ok, 1 failure or timeout, 2 usage.\n");
}

int main(int argc, char *argv[])
{
	unsigned int i;

	if (argc < 2) {
		usage(stderr, NULL);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout, argc > 2 ? argv[2] : NULL);
		return EXIT_OK;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "%s: unknown command '%s'\n", PROG_NAME, argv[1]);
	usage(stderr, NULL);
	return EXIT_USAGE;
}
