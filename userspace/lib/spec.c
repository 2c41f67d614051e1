// SPDX-License-Identifier: GPL-2.0
/*
 * Packet specs: parsing the grammar and building the packets; see spec.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/tcp.h>
#include "spec.h"

const char spec_grammar[] =
"SPEC := KIND [KEY=VALUE | FLAG]...    (a new KIND starts the next packet)\n"
"KIND:\n"
"  tcp4    IPv4 / TCP                  udp4    IPv4 / UDP\n"
"  tcp6    IPv6 [/ EXT...] / TCP       udp6    IPv6 [/ EXT...] / UDP\n"
"  sixin4  IPv4 / IPv6 [/ EXT...] / TCP                (protocol 41)\n"
"  teredo  IPv4 / UDP [/ auth] [/ origin] / IPv6 [/ EXT...] / TCP\n"
"  frag4   tcp4 fragsize=8             frag6   tcp6 ext=...,frag fragsize=24\n"
"Every kind:\n"
"  src=ADDR dst=ADDR    outer addresses (192.0.2.1 > 198.51.100.25,\n"
"                       IPv6: 2001:db8:1::1 > 2001:db8:2::25)\n"
"  ttl=N tos=N          outer TTL/hop limit and TOS/traffic class\n"
"  len=N | data=TEXT    payload of N pattern bytes, or TEXT\n"
"  fragsize=N           send as fragments carrying N bytes (multiple of 8)\n"
"                       each: of the outer IPv4 payload, or for tcp6/udp6\n"
"                       after the IPv6 fragment header (appended to ext=)\n"
"  pick=I,J,...         send only these fragments, in this order (from 0)\n"
"  id=N                 IPv4 ID or IPv6 fragment ID (sgcraft: random)\n"
"Outer IPv4 (tcp4 udp4 sixin4 teredo frag4):\n"
"  df mf fragoff=N (8-byte units) ipopt=N (N bytes of NOP options)\n"
"  ihl=N totlen=N proto=N     override the computed field\n"
"IPv6 header (outer in tcp6/udp6, inner in sixin4/teredo):\n"
"  inner-src=ADDR inner-dst=ADDR   of a tunnel: 2001:db8:1::1 >\n"
"                       2001:db8:2::25; teredo from 2001:0:c000:20a::1\n"
"  ext=EXT,...          extension headers in order; EXT is hop[:LEN]\n"
"                       dst[:LEN] rt[:LEN] ah[:LEN] frag[:OFFSET][:m],\n"
"                       LEN in bytes, OFFSET in 8-byte units, m = more\n"
"                       fragments, EXT*N repeats EXT N times\n"
"  nh=N plen=N hlim=N inner-ver=N   upper-layer next header, payload\n"
"                       length, hop limit, version (tunnels)\n"
"Ports: sport=N dport=N of the outermost TCP or UDP header (40000 > 25;\n"
"  udp: > 53; teredo: UDP 40000 > 3544); tsport=N tport=N of the TCP one\n"
"TCP:  flags=LETTERS|N (FSRPAUEC, default S) seq=N ack=N win=N doff=N\n"
"UDP:  ulen=N (length) nocsum\n"
"Teredo: auth=IDLEN,AULEN nonce=HEX16 confirm=N   authentication header\n"
"  origin | origin=ADDR:PORT   origin indication (default: outer src:sport)\n"
"  thdr=auth|origin,...  these Teredo headers in this order (repeats ok)\n"
"  bubble               no TCP: inner next header 59, no payload\n";

/* Which kinds a key applies to. */
#define K(kind)		(1U << (kind))
#define K_OUTER4	(K(SPEC_TCP4) | K(SPEC_UDP4) | K(SPEC_SIXIN4) | \
			 K(SPEC_TEREDO))
#define K_IP6		(K(SPEC_TCP6) | K(SPEC_UDP6) | K(SPEC_SIXIN4) | \
			 K(SPEC_TEREDO))
#define K_TUNNEL	(K(SPEC_SIXIN4) | K(SPEC_TEREDO))
#define K_TCP		(K(SPEC_TCP4) | K(SPEC_TCP6) | K(SPEC_SIXIN4) | \
			 K(SPEC_TEREDO))
#define K_UDP		(K(SPEC_UDP4) | K(SPEC_UDP6) | K(SPEC_TEREDO))
#define K_ALL		(K_OUTER4 | K_IP6)

static const struct {
	const char *name;
	enum spec_kind kind;
	unsigned int fragsize;
} spec_kinds[] = {
	{ "tcp4", SPEC_TCP4, 0 },
	{ "udp4", SPEC_UDP4, 0 },
	{ "tcp6", SPEC_TCP6, 0 },
	{ "udp6", SPEC_UDP6, 0 },
	{ "sixin4", SPEC_SIXIN4, 0 },
	{ "teredo", SPEC_TEREDO, 0 },
	{ "frag4", SPEC_TCP4, 8 },
	/* Linux drops a first fragment without the whole TCP header. */
	{ "frag6", SPEC_TCP6, 24 },
};

static bool outer4(const struct spec *s)
{
	return K(s->kind) & K_OUTER4;
}

int spec_family(const struct spec *s)
{
	return outer4(s) ? AF_INET : AF_INET6;
}

static bool parse_uint(const char *v, unsigned long max, unsigned long *out)
{
	char *end;

	if (*v < '0' || *v > '9')
		return false;
	errno = 0;
	*out = strtoul(v, &end, 0);
	return !errno && !*end && *out <= max;
}

#define PARSE_NUM(v, max, lvalue) ({					\
	unsigned long __n;						\
	bool __ok = parse_uint(v, max, &__n);				\
	if (__ok)							\
		lvalue = __n;						\
	__ok;								\
})

static bool set_src(struct spec *s, const char *v)
{
	if (outer4(s))
		return inet_pton(AF_INET, v, &s->ip4.saddr) == 1;
	return inet_pton(AF_INET6, v, &s->ip6.saddr) == 1;
}

static bool set_dst(struct spec *s, const char *v)
{
	if (outer4(s))
		return inet_pton(AF_INET, v, &s->ip4.daddr) == 1;
	return inet_pton(AF_INET6, v, &s->ip6.daddr) == 1;
}

static bool set_inner_src(struct spec *s, const char *v)
{
	return inet_pton(AF_INET6, v, &s->ip6.saddr) == 1;
}

static bool set_inner_dst(struct spec *s, const char *v)
{
	return inet_pton(AF_INET6, v, &s->ip6.daddr) == 1;
}

static bool set_ttl(struct spec *s, const char *v)
{
	if (outer4(s))
		return PARSE_NUM(v, 255, s->ip4.ttl);
	return PARSE_NUM(v, 255, s->ip6.hlim);
}

static bool set_tos(struct spec *s, const char *v)
{
	if (outer4(s))
		return PARSE_NUM(v, 255, s->ip4.tos);
	return PARSE_NUM(v, 255, s->ip6.tclass);
}

static bool set_len(struct spec *s, const char *v)
{
	s->data = NULL;
	return PARSE_NUM(v, PKT_MAX, s->len);
}

static bool set_data(struct spec *s, const char *v)
{
	s->data = v;
	s->len = strlen(v);
	return s->len <= PKT_MAX;
}

static bool set_fragsize(struct spec *s, const char *v)
{
	return PARSE_NUM(v, PKT_MAX, s->fragsize) && s->fragsize &&
	       !(s->fragsize % 8);
}

static bool set_pick(struct spec *s, const char *v)
{
	char *end;

	s->npick = 0;
	do {
		unsigned long i;

		if (*v < '0' || *v > '9' || s->npick == SPEC_MAX_PICK)
			return false;
		i = strtoul(v, &end, 10);
		if (i >= 256 || (*end && *end != ','))
			return false;
		s->pick[s->npick++] = i;
		v = end + 1;
	} while (*end);
	return true;
}

static bool set_id(struct spec *s, const char *v)
{
	s->id_set = true;
	if (outer4(s))
		return PARSE_NUM(v, 0xffff, s->ip4.id);
	return PARSE_NUM(v, UINT32_MAX, s->frag_id);
}

static bool set_df(struct spec *s, const char *v)
{
	s->ip4.frag |= PKT_IP4_DF;
	return true;
}

static bool set_mf(struct spec *s, const char *v)
{
	s->ip4.frag |= PKT_IP4_MF;
	return true;
}

static bool set_fragoff(struct spec *s, const char *v)
{
	unsigned long off;

	if (!parse_uint(v, PKT_IP4_OFFSET, &off))
		return false;
	s->ip4.frag = (s->ip4.frag & ~PKT_IP4_OFFSET) | off;
	return true;
}

static bool set_ipopt(struct spec *s, const char *v)
{
	unsigned long n;

	if (!parse_uint(v, sizeof(s->ipopt), &n))
		return false;
	memset(s->ipopt, 1, n);		/* NOP */
	s->ip4.optlen = n;
	return true;
}

static bool set_ihl(struct spec *s, const char *v)
{
	s->ip4.fix |= PKT_FIX_IHL;
	return PARSE_NUM(v, 15, s->ip4.ihl);
}

static bool set_totlen(struct spec *s, const char *v)
{
	s->ip4.fix |= PKT_FIX_LEN;
	return PARSE_NUM(v, 0xffff, s->ip4.tot_len);
}

static bool set_proto(struct spec *s, const char *v)
{
	s->ip4.fix |= PKT_FIX_PROTO;
	return PARSE_NUM(v, 255, s->ip4.proto);
}

/* One EXT of ext=, without its *N: hop[:LEN] ... frag[:OFFSET][:m]. */
static bool parse_ext(const char *item, size_t n, struct spec_ext *e)
{
	static const struct {
		const char *name;
		uint8_t type;
		uint16_t len;
	} exts[] = {
		{ "hop", IPPROTO_HOPOPTS, 8 },
		{ "dst", IPPROTO_DSTOPTS, 8 },
		{ "rt", IPPROTO_ROUTING, 8 },
		{ "ah", IPPROTO_AH, 24 },
		{ "frag", IPPROTO_FRAGMENT, 8 },
	};
	char buf[32], *arg, *arg2;
	unsigned long num;
	unsigned int i;

	if (n >= sizeof(buf))
		return false;
	memcpy(buf, item, n);
	buf[n] = '\0';
	arg = strchr(buf, ':');
	if (arg)
		*arg++ = '\0';
	for (i = 0; i < sizeof(exts) / sizeof(exts[0]); i++)
		if (!strcmp(buf, exts[i].name))
			break;
	if (i == sizeof(exts) / sizeof(exts[0]))
		return false;
	memset(e, 0, sizeof(*e));
	e->type = exts[i].type;
	e->len = exts[i].len;
	if (!arg)
		return true;
	if (e->type != IPPROTO_FRAGMENT) {
		if (!parse_uint(arg, 2048, &num))
			return false;
		e->len = num;
		return true;
	}
	arg2 = strchr(arg, ':');
	if (arg2)
		*arg2++ = '\0';
	if (!strcmp(arg, "m") && !arg2) {
		e->more = true;
		return true;
	}
	if (!parse_uint(arg, 0x1fff, &num))
		return false;
	e->fragoff = num;
	if (!arg2)
		return true;
	e->more = !strcmp(arg2, "m");
	return e->more;
}

static bool set_ext(struct spec *s, const char *v)
{
	s->next = 0;
	while (*v) {
		size_t n = strcspn(v, ",");
		const char *star = memchr(v, '*', n);
		unsigned long repeat = 1;
		struct spec_ext e;
		char count[8];

		if (star) {
			size_t cn = n - (star - v) - 1;

			if (!cn || cn >= sizeof(count))
				return false;
			memcpy(count, star + 1, cn);
			count[cn] = '\0';
			if (!parse_uint(count, SPEC_MAX_EXT, &repeat))
				return false;
		}
		if (!parse_ext(v, star ? (size_t)(star - v) : n, &e))
			return false;
		while (repeat--) {
			if (s->next == SPEC_MAX_EXT)
				return false;
			s->ext[s->next++] = e;
		}
		v += n;
		if (*v == ',' && !*++v)
			return false;
	}
	return true;
}

static bool set_nh(struct spec *s, const char *v)
{
	s->nh_set = true;
	return PARSE_NUM(v, 255, s->nh);
}

static bool set_plen(struct spec *s, const char *v)
{
	s->ip6.fix |= PKT_FIX_LEN;
	return PARSE_NUM(v, 0xffff, s->ip6.plen);
}

static bool set_hlim(struct spec *s, const char *v)
{
	return PARSE_NUM(v, 255, s->ip6.hlim);
}

static bool set_inner_ver(struct spec *s, const char *v)
{
	s->ip6.fix |= PKT_FIX_VER;
	return PARSE_NUM(v, 15, s->ip6.version);
}

static bool set_sport(struct spec *s, const char *v)
{
	if (K(s->kind) & K_UDP)
		return PARSE_NUM(v, 0xffff, s->udp.sport);
	return PARSE_NUM(v, 0xffff, s->tcp.sport);
}

static bool set_dport(struct spec *s, const char *v)
{
	if (K(s->kind) & K_UDP)
		return PARSE_NUM(v, 0xffff, s->udp.dport);
	return PARSE_NUM(v, 0xffff, s->tcp.dport);
}

static bool set_tsport(struct spec *s, const char *v)
{
	return PARSE_NUM(v, 0xffff, s->tcp.sport);
}

static bool set_tport(struct spec *s, const char *v)
{
	return PARSE_NUM(v, 0xffff, s->tcp.dport);
}

static bool set_flags(struct spec *s, const char *v)
{
	static const char letters[] = "FSRPAUEC";	/* bit order */
	const char *c;

	if (*v >= '0' && *v <= '9')
		return PARSE_NUM(v, 255, s->tcp.flags);
	s->tcp.flags = 0;
	for (; *v; v++) {
		c = strchr(letters, *v);
		if (!c)
			return false;
		s->tcp.flags |= 1U << (c - letters);
	}
	return true;
}

static bool set_seq(struct spec *s, const char *v)
{
	return PARSE_NUM(v, UINT32_MAX, s->tcp.seq);
}

static bool set_ack(struct spec *s, const char *v)
{
	return PARSE_NUM(v, UINT32_MAX, s->tcp.ack);
}

static bool set_win(struct spec *s, const char *v)
{
	return PARSE_NUM(v, 0xffff, s->tcp.win);
}

static bool set_doff(struct spec *s, const char *v)
{
	s->tcp.fix |= PKT_FIX_DOFF;
	return PARSE_NUM(v, 15, s->tcp.doff);
}

static bool set_ulen(struct spec *s, const char *v)
{
	s->udp.fix |= PKT_FIX_LEN;
	return PARSE_NUM(v, 0xffff, s->udp.len);
}

static bool set_nocsum(struct spec *s, const char *v)
{
	s->udp.fix |= PKT_FIX_CSUM;
	s->udp.csum = 0;
	return true;
}

static bool add_thdr(struct spec *s, uint8_t thdr)
{
	unsigned int i;

	for (i = 0; i < s->nthdr; i++)
		if (s->thdr[i] == thdr)
			return true;
	if (s->nthdr == SPEC_MAX_THDR)
		return false;
	s->thdr[s->nthdr++] = thdr;
	return true;
}

/* auth then origin, whatever order the keys came in: RFC 4380 5.1.1. */
static void order_thdr(struct spec *s)
{
	if (s->nthdr == 2 && s->thdr[0] == SPEC_THDR_ORIGIN) {
		s->thdr[0] = SPEC_THDR_AUTH;
		s->thdr[1] = SPEC_THDR_ORIGIN;
	}
}

static bool set_auth(struct spec *s, const char *v)
{
	char id[8];
	size_t n = strcspn(v, ",");

	if (!v[n] || n >= sizeof(id))
		return false;
	memcpy(id, v, n);
	id[n] = '\0';
	if (!PARSE_NUM(id, 255, s->id_len) ||
	    !PARSE_NUM(v + n + 1, 255, s->au_len))
		return false;
	if (!add_thdr(s, SPEC_THDR_AUTH))
		return false;
	order_thdr(s);
	return true;
}

static bool set_nonce(struct spec *s, const char *v)
{
	char byte[3] = "";
	unsigned int i;

	if (strlen(v) != 16 || strspn(v, "0123456789abcdefABCDEF") != 16)
		return false;
	for (i = 0; i < 8; i++) {
		memcpy(byte, v + 2 * i, 2);
		s->nonce[i] = strtoul(byte, NULL, 16);
	}
	return true;
}

static bool set_confirm(struct spec *s, const char *v)
{
	return PARSE_NUM(v, 255, s->confirm);
}

/* origin, or origin=ADDR:PORT */
static bool set_origin(struct spec *s, const char *v)
{
	char addr[INET_ADDRSTRLEN];
	const char *colon;

	if (v) {
		colon = strchr(v, ':');
		if (!colon || (size_t)(colon - v) >= sizeof(addr))
			return false;
		memcpy(addr, v, colon - v);
		addr[colon - v] = '\0';
		if (inet_pton(AF_INET, addr, &s->origin_addr) != 1 ||
		    !PARSE_NUM(colon + 1, 0xffff, s->origin_port))
			return false;
	}
	if (!add_thdr(s, SPEC_THDR_ORIGIN))
		return false;
	order_thdr(s);
	return true;
}

static bool set_thdr(struct spec *s, const char *v)
{
	s->nthdr = 0;
	while (*v) {
		size_t n = strcspn(v, ",");

		if (s->nthdr == SPEC_MAX_THDR)
			return false;
		if (n == 4 && !strncmp(v, "auth", 4))
			s->thdr[s->nthdr++] = SPEC_THDR_AUTH;
		else if (n == 6 && !strncmp(v, "origin", 6))
			s->thdr[s->nthdr++] = SPEC_THDR_ORIGIN;
		else
			return false;
		v += n;
		if (*v == ',' && !*++v)
			return false;
	}
	return true;
}

static bool set_bubble(struct spec *s, const char *v)
{
	s->bubble = true;
	return true;
}

enum { VALUE, FLAG, EITHER };

static const struct spec_key {
	const char *name;
	unsigned int kinds;
	int arg;
	bool (*set)(struct spec *s, const char *v);
} spec_keys[] = {
	{ "src", K_ALL, VALUE, set_src },
	{ "dst", K_ALL, VALUE, set_dst },
	{ "ttl", K_ALL, VALUE, set_ttl },
	{ "tos", K_ALL, VALUE, set_tos },
	{ "len", K_ALL, VALUE, set_len },
	{ "data", K_ALL, VALUE, set_data },
	{ "fragsize", K_ALL, VALUE, set_fragsize },
	{ "pick", K_ALL, VALUE, set_pick },
	{ "id", K_ALL, VALUE, set_id },
	{ "df", K_OUTER4, FLAG, set_df },
	{ "mf", K_OUTER4, FLAG, set_mf },
	{ "fragoff", K_OUTER4, VALUE, set_fragoff },
	{ "ipopt", K_OUTER4, VALUE, set_ipopt },
	{ "ihl", K_OUTER4, VALUE, set_ihl },
	{ "totlen", K_OUTER4, VALUE, set_totlen },
	{ "proto", K_OUTER4, VALUE, set_proto },
	{ "inner-src", K_TUNNEL, VALUE, set_inner_src },
	{ "inner-dst", K_TUNNEL, VALUE, set_inner_dst },
	{ "inner-ver", K_TUNNEL, VALUE, set_inner_ver },
	{ "ext", K_IP6, VALUE, set_ext },
	{ "nh", K_IP6, VALUE, set_nh },
	{ "plen", K_IP6, VALUE, set_plen },
	{ "hlim", K_IP6, VALUE, set_hlim },
	{ "sport", K_ALL, VALUE, set_sport },
	{ "dport", K_ALL, VALUE, set_dport },
	{ "tsport", K_TCP, VALUE, set_tsport },
	{ "tport", K_TCP, VALUE, set_tport },
	{ "flags", K_TCP, VALUE, set_flags },
	{ "seq", K_TCP, VALUE, set_seq },
	{ "ack", K_TCP, VALUE, set_ack },
	{ "win", K_TCP, VALUE, set_win },
	{ "doff", K_TCP, VALUE, set_doff },
	{ "ulen", K_UDP, VALUE, set_ulen },
	{ "nocsum", K_UDP, FLAG, set_nocsum },
	{ "auth", K(SPEC_TEREDO), VALUE, set_auth },
	{ "nonce", K(SPEC_TEREDO), VALUE, set_nonce },
	{ "confirm", K(SPEC_TEREDO), VALUE, set_confirm },
	{ "origin", K(SPEC_TEREDO), EITHER, set_origin },
	{ "thdr", K(SPEC_TEREDO), VALUE, set_thdr },
	{ "bubble", K(SPEC_TEREDO), FLAG, set_bubble },
};

static void defaults(struct spec *s, enum spec_kind kind, unsigned int fragsize)
{
	const char *src6 = "2001:db8:1::1";

	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->fragsize = fragsize;
	inet_pton(AF_INET, "192.0.2.1", &s->ip4.saddr);
	inet_pton(AF_INET, "198.51.100.25", &s->ip4.daddr);
	s->ip4.id = 1;
	s->frag_id = 0x5347;
	if (kind == SPEC_TEREDO)
		src6 = "2001:0:c000:20a::1";
	inet_pton(AF_INET6, src6, &s->ip6.saddr);
	inet_pton(AF_INET6, "2001:db8:2::25", &s->ip6.daddr);
	s->tcp.sport = 40000;
	s->tcp.dport = 25;
	s->tcp.flags = TH_SYN;
	s->tcp.seq = 1;
	s->udp.sport = 40000;
	s->udp.dport = kind == SPEC_TEREDO ? 3544 : 53;
}

static bool has_frag_ext(const struct spec *s)
{
	unsigned int i;

	for (i = 0; i < s->next; i++)
		if (s->ext[i].type == IPPROTO_FRAGMENT)
			return true;
	return false;
}

static int kind_index(const char *word)
{
	unsigned int i;

	for (i = 0; i < sizeof(spec_kinds) / sizeof(spec_kinds[0]); i++)
		if (!strcmp(word, spec_kinds[i].name))
			return i;
	return -1;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int parse_token(struct spec *s, const char *kind, const char *tok,
		       char *err, size_t errlen)
{
	const char *eq = strchr(tok, '=');
	size_t n = eq ? (size_t)(eq - tok) : strlen(tok);
	const struct spec_key *k;
	unsigned int i;

	for (i = 0; i < sizeof(spec_keys) / sizeof(spec_keys[0]); i++) {
		k = &spec_keys[i];
		if (strlen(k->name) == n && !strncmp(k->name, tok, n))
			break;
	}
	if (i == sizeof(spec_keys) / sizeof(spec_keys[0]) ||
	    !(k->kinds & K(s->kind)))
		return fail(err, errlen, "unknown key '%.*s' for %s",
			    (int)n, tok, kind);
	if (eq && k->arg == FLAG)
		return fail(err, errlen, "'%s' takes no value", k->name);
	if (!eq && k->arg == VALUE)
		return fail(err, errlen, "missing value for %s", k->name);
	if (!k->set(s, eq ? eq + 1 : NULL))
		return fail(err, errlen, "bad value '%s' for %s", eq + 1,
			    k->name);
	return 0;
}

/**
 * spec_parse() - parse one SPEC from the start of @argv
 * @argc:	tokens left
 * @argv:	tokens, the first one a KIND
 * @s:		receives the spec
 * @err:	receives the error message, naming the bad token
 * @errlen:	size of @err
 *
 * The spec ends before the next KIND word or at the end.
 * Return: tokens consumed (>= 1) or -EINVAL.
 */
int spec_parse(int argc, char *const argv[], struct spec *s,
	       char *err, size_t errlen)
{
	int i, k;

	if (argc < 1)
		return fail(err, errlen, "missing packet spec");
	k = kind_index(argv[0]);
	if (k < 0)
		return fail(err, errlen, "unknown packet kind '%s'", argv[0]);
	defaults(s, spec_kinds[k].kind, spec_kinds[k].fragsize);
	for (i = 1; i < argc && kind_index(argv[i]) < 0; i++)
		if (parse_token(s, argv[0], argv[i], err, errlen))
			return -EINVAL;
	if (s->bubble && s->nh_set)
		return fail(err, errlen, "bubble and nh= exclude each other");
	if (s->fragsize && !outer4(s) && !has_frag_ext(s)) {
		if (s->next == SPEC_MAX_EXT)
			return fail(err, errlen, "no room for a fragment header");
		s->ext[s->next++] = (struct spec_ext){
			.type = IPPROTO_FRAGMENT, .len = 8,
		};
	}
	if (s->kind == SPEC_TEREDO && s->origin_addr.s_addr == 0) {
		s->origin_addr = s->ip4.saddr;
		if (!s->origin_port)
			s->origin_port = s->udp.sport;
	}
	return i;
}

static void build_teredo(const struct spec *s, struct pkt *p)
{
	unsigned int i;

	pkt_udp(p, &s->udp);
	for (i = 0; i < s->nthdr; i++) {
		if (s->thdr[i] == SPEC_THDR_AUTH)
			pkt_teredo_auth(p, s->id_len, s->au_len, s->nonce,
					s->confirm);
		else
			pkt_teredo_origin(p, s->origin_port, s->origin_addr);
	}
}

static void build_ip6(const struct spec *s, struct pkt *p)
{
	unsigned int i;

	pkt_ip6(p, &s->ip6);
	for (i = 0; i < s->next; i++) {
		const struct spec_ext *e = &s->ext[i];

		if (e->type == IPPROTO_FRAGMENT)
			pkt_frag6(p, e->fragoff, e->more, s->frag_id);
		else
			pkt_ext6(p, e->type, e->len);
	}
}

/* The next-header field of the layer before the upper-layer header. */
static void fix_nh(struct pkt *p, unsigned int i, uint8_t nh)
{
	struct pkt_layer *l = &p->layer[i];

	l->fix |= PKT_FIX_PROTO;
	if (l->kind == PKT_IP6)
		p->buf[l->off + 6] = nh;
	else if (l->kind == PKT_EXT6)
		p->buf[l->off] = nh;
}

/**
 * spec_build() - build the whole (unfragmented) packet of a spec
 * @s:	the spec
 * @p:	receives the packet
 *
 * Return: the packet length or a negative errno.
 */
int spec_build(const struct spec *s, struct pkt *p)
{
	struct pkt_ip4 ip4 = s->ip4;
	unsigned int nhl;

	pkt_init(p);
	if (outer4(s)) {
		ip4.opts = s->ipopt;
		pkt_ip4(p, &ip4);
	}
	if (s->kind == SPEC_TEREDO)
		build_teredo(s, p);
	if (K(s->kind) & K_IP6)
		build_ip6(s, p);
	if (s->bubble)
		return pkt_finish(p);

	nhl = p->nlayers - 1;
	if (s->kind == SPEC_UDP4 || s->kind == SPEC_UDP6)
		pkt_udp(p, &s->udp);
	else
		pkt_tcp(p, &s->tcp);
	if (s->nh_set && !p->err)
		fix_nh(p, nhl, s->nh);
	if (s->data)
		pkt_data(p, s->data, s->len);
	else if (s->len)
		pkt_fill(p, s->len);
	return pkt_finish(p);
}

/* The layer fragments are cut at: the outer IPv4 or the fragment header. */
static int frag_layer(const struct spec *s, const struct pkt *p)
{
	unsigned int i;

	if (outer4(s))
		return 0;
	for (i = 0; i < p->nlayers; i++)
		if (p->layer[i].kind == PKT_EXT6 &&
		    p->layer[i].proto == IPPROTO_FRAGMENT)
			return i;
	return -1;
}

/**
 * spec_emit() - build the packets of a spec and hand each to @emit
 * @s:		the spec
 * @emit:	called once per packet; a nonzero return stops and is returned
 * @arg:	passed to @emit
 * @err:	receives an error message
 * @errlen:	size of @err
 *
 * One packet, or with fragsize= its fragments (those of pick=, in order).
 * Return: 0, @emit's nonzero return, or a negative errno.
 */
int spec_emit(const struct spec *s,
	      int (*emit)(const struct pkt *p, void *arg), void *arg,
	      char *err, size_t errlen)
{
	struct pkt *whole, *frag = NULL;
	unsigned int start, total, nfrags, i;
	int ret, layer;

	whole = malloc(sizeof(*whole));
	if (!whole)
		return fail(err, errlen, "out of memory");
	ret = spec_build(s, whole);
	if (ret < 0) {
		fail(err, errlen, "packet does not fit: %s", strerror(-ret));
		goto out;
	}
	if (!s->fragsize) {
		ret = emit(whole, arg);
		goto out;
	}

	layer = frag_layer(s, whole);
	frag = malloc(sizeof(*frag));
	if (layer < 0 || !frag) {
		ret = fail(err, errlen, "cannot fragment this packet");
		goto out;
	}
	start = whole->layer[layer].off + whole->layer[layer].hlen;
	total = whole->len - start;
	nfrags = (total + s->fragsize - 1) / s->fragsize;
	for (i = 0; i < (s->npick ? s->npick : nfrags); i++) {
		unsigned int k = s->npick ? s->pick[i] : i;
		unsigned int off = k * s->fragsize;
		unsigned int len = total - off;

		if (k >= nfrags) {
			ret = fail(err, errlen, "bad value '%u' for pick: "
				   "fragments are 0 to %u", k, nfrags - 1);
			goto out;
		}
		if (len > s->fragsize)
			len = s->fragsize;
		ret = pkt_fragment(whole, layer, off, len, off + len < total,
				   frag);
		if (ret < 0) {
			fail(err, errlen, "cannot fragment: %s", strerror(-ret));
			goto out;
		}
		ret = emit(frag, arg);
		if (ret)
			goto out;
	}
	ret = 0;
out:
	free(frag);
	free(whole);
	return ret;
}

/**
 * spec_build_str() - parse one spec from a string and build its packet
 * @text:	the spec, tokens separated by spaces
 * @p:		receives the whole packet (fragsize= and pick= are ignored)
 * @s:		receives the spec
 * @err:	receives an error message
 * @errlen:	size of @err
 *
 * Return: the packet length or a negative errno.
 */
int spec_build_str(const char *text, struct pkt *p, struct spec *s,
		   char *err, size_t errlen)
{
	char copy[1024], *argv[64], *save = NULL, *tok;
	int argc = 0, ret;

	if (strlen(text) >= sizeof(copy))
		return fail(err, errlen, "spec too long");
	strcpy(copy, text);
	for (tok = strtok_r(copy, " ", &save); tok && argc < 64;
	     tok = strtok_r(NULL, " ", &save))
		argv[argc++] = tok;
	ret = spec_parse(argc, argv, s, err, errlen);
	if (ret < 0)
		return ret;
	if (ret != argc)
		return fail(err, errlen, "more than one packet in '%s'", text);
	ret = spec_build(s, p);
	/* data= pointed into the copy, which dies here. */
	s->data = NULL;
	return ret;
}
