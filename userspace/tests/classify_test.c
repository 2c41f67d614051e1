// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the packet classifier (kmod/classify.c, compiled unchanged),
 * RELIABILITY.md cases 1-6.
 *
 * The corpus is a table of packet specs (lib/spec.h, the grammar sgcraft
 * sends) with the class each must get.  Every entry is classified whole,
 * at every head/paged split, after every raw truncation, and after every
 * truncation with its length fields refitted, and compared with a naive
 * reference classifier (ref_classify.c).  Tests outside the table cover
 * what a spec cannot say, exhaustive sweeps and a randomised differential
 * run against the reference.
 *
 * `classify_test --dump-corpus DIR` writes the corpus as fuzzer seeds.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "kselftest_harness.h"
#include "classify.h"
#include "pkt.h"
#include "spec.h"
#include "ref_classify.h"
#include "flowcmp.h"
#include "../fuzz/fuzz_input.h"

#define DEFAULT_PORTS	"25,465"

/* ---- helpers ----------------------------------------------------------- */

static void set_ports(struct sg_ports *ports, const char *list)
{
	char buf[128], *tok, *save;

	memset(ports, 0, sizeof(*ports));
	snprintf(buf, sizeof(buf), "%s", list ? list : DEFAULT_PORTS);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save))
		sg_port_set(ports, atoi(tok));
}

static bool ref_watched(uint16_t port, void *arg)
{
	return sg_port_watched(arg, port);
}

static uint8_t classify(const uint8_t *buf, unsigned int len,
			unsigned int head_len, unsigned int nhoff, u8 family,
			const struct sg_ports *ports, struct sg_flow *flow)
{
	struct sk_buff skb = { .data = buf, .len = len, .head_len = head_len };

	memset(flow, 0xa5, sizeof(*flow));	/* stale fields must not pass */
	return sg_classify(&skb, nhoff, family, ports, flow);
}

static uint8_t ref(const uint8_t *buf, unsigned int len, u8 family,
		   const struct sg_ports *ports, struct ref_flow *rf)
{
	return ref_classify(buf, len, family == NFPROTO_IPV6, ref_watched,
			    (void *)ports, rf);
}

static void hexdump(const uint8_t *buf, unsigned int len)
{
	unsigned int i;

	for (i = 0; i < len; i++)
		fprintf(stderr, "%02x%s", buf[i], i % 32 == 31 ? "\n" : " ");
	fprintf(stderr, "\n");
}

static u8 spec_nfproto(const struct spec *s)
{
	return spec_family(s) == AF_INET ? NFPROTO_IPV4 : NFPROTO_IPV6;
}

/*
 * The flow a spec describes, for the class it is expected to get.  The
 * family is the outer one if the spec's outer header is readable.
 */
static void expected_flow(const struct spec *s, u8 class, u8 teredo,
			  u8 family, struct sg_flow *f)
{
	memset(f, 0, sizeof(*f));
	f->family = family;
	f->class = class;
	f->teredo = teredo;
	if (f->family == NFPROTO_IPV4) {
		f->saddr.in = s->ip4.saddr;
		f->daddr.in = s->ip4.daddr;
	} else {
		f->saddr.in6 = s->ip6.saddr;
		f->daddr.in6 = s->ip6.daddr;
	}
	f->inner_saddr.in6 = s->ip6.saddr;
	f->inner_daddr.in6 = s->ip6.daddr;
	f->sport = htons(s->tcp.sport);
	f->dport = htons(s->tcp.dport);
	f->tcp_flags = s->tcp.flags;
}

/* Copies only what is in use: a struct pkt is 64 KiB. */
static void pkt_copy(struct pkt *dst, const struct pkt *src)
{
	memcpy(dst, src, offsetof(struct pkt, buf));
	memcpy(dst->buf, src->buf, src->len);
}

/* Whether the builder was told to write a length it would not have. */
static bool has_fixed_lengths(const struct pkt *p)
{
	unsigned int i;

	for (i = 0; i < p->nlayers; i++)
		if (p->layer[i].fix & (PKT_FIX_LEN | PKT_FIX_IHL))
			return true;
	return false;
}

/* ---- the corpus -------------------------------------------------------- */

FIXTURE(corpus) {
	struct pkt p;
	struct spec s;
	struct sg_ports ports;
	u8 family;
};

FIXTURE_VARIANT(corpus) {
	const char *spec;
	u8 class;
	u8 teredo;		/* SG_TEREDO_* expected for the teredo class */
	const char *ports;	/* watched; DEFAULT_PORTS if NULL */
	bool unreadable;	/* the outer header is not even IPv4/IPv6 */
	bool no_flags;		/* a length ends the TCP header before them */
};

FIXTURE_SETUP(corpus)
{
	char err[256];

	ASSERT_LT(0, spec_build_str(variant->spec, &self->p, &self->s, err,
				    sizeof(err))) {
		TH_LOG("spec '%s': %s", variant->spec, err);
	}
	set_ports(&self->ports, variant->ports);
	self->family = spec_nfproto(&self->s);
}

FIXTURE_TEARDOWN(corpus)
{
}

#define AUTH	SG_TEREDO_AUTH
#define ORIGIN	SG_TEREDO_ORIGIN
#define CASE(name, class_, spec_, ...)					\
	FIXTURE_VARIANT_ADD(corpus, name) {				\
		.spec = spec_, .class = SMTPGATE_CLASS_##class_,	\
		__VA_ARGS__						\
	}

/* SMTP over IPv4; data offset is never read: the ports decide (case 4). */
CASE(smtp4_syn, SMTP4, "tcp4");
CASE(smtp4_465, SMTP4, "tcp4 dport=465");
CASE(smtp4_data, SMTP4, "tcp4 flags=PA seq=1000 ack=77 len=120");
CASE(smtp4_ipopt4, SMTP4, "tcp4 ipopt=4");
CASE(smtp4_ipopt40, SMTP4, "tcp4 ipopt=40");
CASE(smtp4_df, SMTP4, "tcp4 df");
CASE(smtp4_doff0, SMTP4, "tcp4 doff=0");
CASE(smtp4_doff4, SMTP4, "tcp4 doff=4");
CASE(smtp4_doff15, SMTP4, "tcp4 doff=15");
CASE(smtp4_totlen_ports, SMTP4, "tcp4 totlen=24", .no_flags = true);
CASE(smtp4_padded_by_totlen, SMTP4, "tcp4 len=10 totlen=40");
CASE(other_tcp_80, OTHER, "tcp4 dport=80");
CASE(other_tcp_587, OTHER, "tcp4 dport=587");
CASE(other_tcp_reply, OTHER, "tcp4 sport=25 dport=40000 flags=SA");
CASE(other_udp_53, OTHER, "udp4");
CASE(other_udp_25, OTHER, "udp4 dport=25");
CASE(other_totlen_short_of_ports, OTHER, "tcp4 totlen=23");
CASE(other_ihl0, OTHER, "tcp4 ihl=0", .unreadable = true);
CASE(other_ihl4, OTHER, "tcp4 ihl=4", .unreadable = true);
CASE(other_ihl15, OTHER, "tcp4 ihl=15");
CASE(other_totlen_past_skb, OTHER, "tcp4 totlen=41");
CASE(other_totlen_max, OTHER, "tcp4 totlen=65535");
CASE(other_totlen_below_ihl, OTHER, "tcp4 totlen=19");
CASE(other_totlen0, OTHER, "tcp4 totlen=0");
CASE(other_tcp_as_udp, OTHER, "tcp4 proto=17");
CASE(other_tcp_as_6in4, OTHER, "tcp4 proto=41");
CASE(other_ipip, OTHER, "tcp4 proto=4");

/* IPv4 fragments (case 2): the first one has the ports, later ones not. */
CASE(frag4_first, SMTP4, "tcp4 mf len=100");
CASE(frag4_first_df_mf, SMTP4, "tcp4 mf df");
CASE(frag4_offset1, OTHER, "tcp4 fragoff=1");
CASE(frag4_offset1_mf, OTHER, "tcp4 fragoff=1 mf");
CASE(frag4_offset_max, OTHER, "tcp4 fragoff=8191");
CASE(frag4_last_of_teredo, OTHER, "teredo fragoff=3");
CASE(frag4_last_of_sixin4, OTHER, "sixin4 fragoff=185");

/* SMTP over IPv6 and its extension headers (case 3). */
CASE(smtp6_syn, SMTP6, "tcp6");
CASE(smtp6_465, SMTP6, "tcp6 dport=465");
CASE(smtp6_data, SMTP6, "tcp6 flags=PA len=200");
CASE(smtp6_hop, SMTP6, "tcp6 ext=hop");
CASE(smtp6_dst, SMTP6, "tcp6 ext=dst");
CASE(smtp6_rt, SMTP6, "tcp6 ext=rt");
CASE(smtp6_ah, SMTP6, "tcp6 ext=ah");
CASE(smtp6_ah_min, SMTP6, "tcp6 ext=ah:12");
CASE(smtp6_ah_max, SMTP6, "tcp6 ext=ah:1028");
CASE(smtp6_hop_max, SMTP6, "tcp6 ext=hop:2048");
CASE(smtp6_atomic_frag, SMTP6, "tcp6 ext=frag");
CASE(smtp6_first_frag, SMTP6, "tcp6 ext=frag:0:m");
CASE(smtp6_frag_more_only, SMTP6, "tcp6 ext=frag:m");
CASE(smtp6_chain, SMTP6, "tcp6 ext=hop,rt,dst,ah,frag,dst:24");
CASE(smtp6_chain_repeat, SMTP6, "tcp6 ext=hop,hop,frag,frag,ah,ah");
CASE(smtp6_chain_15, SMTP6, "tcp6 ext=dst*15");
CASE(smtp6_chain_16, SMTP6, "tcp6 ext=dst*16");
CASE(other6_chain_17, OTHER, "tcp6 ext=dst*17");
CASE(other6_chain_40, OTHER, "tcp6 ext=hop,dst*39");
CASE(other6_frag_offset1, OTHER, "tcp6 ext=frag:1");
CASE(other6_frag_offset1_m, OTHER, "tcp6 ext=frag:1:m");
CASE(other6_frag_offset_late, OTHER, "tcp6 ext=dst,frag:8191,dst");
CASE(other6_no_next, OTHER, "tcp6 nh=59");
CASE(other6_no_next_after_ext, OTHER, "tcp6 ext=hop,dst nh=59");
CASE(other6_unknown_nh, OTHER, "tcp6 nh=253");
CASE(other6_unknown_after_ext, OTHER, "tcp6 ext=dst nh=143");
CASE(other6_tcp_as_udp, OTHER, "tcp6 ext=rt nh=17");
CASE(other6_plen0, OTHER, "tcp6 plen=0");
CASE(other6_plen_past_skb, OTHER, "tcp6 plen=21");
CASE(other6_plen_short_of_ports, OTHER, "tcp6 plen=3");
CASE(smtp6_plen_ports_only, SMTP6, "tcp6 plen=4", .no_flags = true);
CASE(other6_plen_ends_in_ext, OTHER, "tcp6 ext=dst:16 plen=12");
CASE(other6_port_80, OTHER, "tcp6 dport=80");
CASE(other6_udp_25, OTHER, "udp6 dport=25");
CASE(other6_udp_teredo_lookalike, OTHER, "udp6 dport=3544 len=60");

/* Teredo (case 5). */
CASE(teredo_plain, TEREDO, "teredo");
CASE(teredo_origin, TEREDO, "teredo origin", .teredo = ORIGIN);
CASE(teredo_auth_0_0, TEREDO, "teredo auth=0,0", .teredo = AUTH);
CASE(teredo_auth_4_8, TEREDO, "teredo auth=4,8 nonce=0102030405060708",
     .teredo = AUTH);
CASE(teredo_auth_255_0, TEREDO, "teredo auth=255,0", .teredo = AUTH);
CASE(teredo_auth_0_255, TEREDO, "teredo auth=0,255", .teredo = AUTH);
CASE(teredo_auth_255_255, TEREDO, "teredo auth=255,255 confirm=255",
     .teredo = AUTH);
CASE(teredo_auth_origin, TEREDO, "teredo auth=4,8 origin",
     .teredo = AUTH | ORIGIN);
CASE(teredo_auth_origin_max, TEREDO,
     "teredo auth=255,255 origin=203.0.113.9:65535",
     .teredo = AUTH | ORIGIN);
CASE(teredo_two_origins, OTHER, "teredo thdr=origin,origin");
CASE(teredo_origin_then_auth, OTHER, "teredo auth=4,8 thdr=origin,auth");
CASE(teredo_two_auths, OTHER, "teredo thdr=auth,auth");
CASE(teredo_auth_origin_origin, OTHER, "teredo thdr=auth,origin,origin");
CASE(teredo_inner_v4, OTHER, "teredo inner-ver=4");
CASE(teredo_inner_v0_origin, OTHER, "teredo origin inner-ver=0");
CASE(teredo_bubble, OTHER, "teredo bubble");
CASE(teredo_bubble_origin, OTHER, "teredo bubble origin");
CASE(teredo_bubble_auth_origin, OTHER, "teredo bubble auth=0,0 origin");
CASE(teredo_inner_no_next, OTHER, "teredo nh=59 origin");
CASE(teredo_inner_ext, TEREDO, "teredo ext=hop,dst,rt");
CASE(teredo_inner_ah, TEREDO, "teredo ext=ah origin", .teredo = ORIGIN);
CASE(teredo_inner_atomic_frag, TEREDO, "teredo ext=frag");
CASE(teredo_inner_first_frag, TEREDO, "teredo ext=dst,frag:0:m len=100");
CASE(teredo_inner_later_frag, OTHER, "teredo ext=frag:3:m");
CASE(teredo_inner_chain_16, TEREDO, "teredo ext=dst*16");
CASE(teredo_inner_chain_17, OTHER, "teredo ext=dst*17");
CASE(teredo_inner_plen0, OTHER, "teredo plen=0");
CASE(teredo_inner_plen_long, OTHER, "teredo plen=21");
CASE(teredo_inner_plen_short, OTHER, "teredo plen=19");
CASE(teredo_ulen_long, OTHER, "teredo ulen=89");
CASE(teredo_ulen_short, OTHER, "teredo ulen=87");
CASE(teredo_ulen_7, OTHER, "teredo ulen=7");
CASE(teredo_ulen_8, OTHER, "teredo ulen=8");
CASE(teredo_ulen_max, OTHER, "teredo ulen=65535");
CASE(teredo_nocsum, TEREDO, "teredo nocsum origin", .teredo = ORIGIN);
CASE(teredo_sport_3544, TEREDO, "teredo sport=3544 dport=51000");
CASE(teredo_both_3544, TEREDO, "teredo sport=3544 dport=3544");
CASE(teredo_3544_any_inner, TEREDO,
     "teredo inner-src=2001:db8:1::1 inner-dst=2001:db8:2::25");
CASE(teredo_other_port_src_prefix, TEREDO,
     "teredo sport=51000 dport=40001 inner-src=2001:0:c000:20a::1");
CASE(teredo_other_port_dst_prefix, TEREDO,
     "teredo sport=51000 dport=40001 inner-src=2001:db8::1 "
     "inner-dst=2001:0:5ef5:79fd::25");
CASE(teredo_other_port_no_prefix, OTHER,
     "teredo sport=51000 dport=40001 inner-src=2001:db8::1");
CASE(teredo_other_port_near_prefix, OTHER,
     "teredo sport=51000 dport=40001 inner-src=2001:1::1 "
     "inner-dst=2002::25");
CASE(teredo_other_port_auth_origin, TEREDO,
     "teredo sport=51000 dport=443 auth=1,1 origin",
     .teredo = AUTH | ORIGIN);
CASE(teredo_port_80, OTHER, "teredo tport=80");
CASE(teredo_port_587, OTHER, "teredo auth=0,0 origin tport=587");
CASE(teredo_ipopt, TEREDO, "teredo ipopt=8 auth=4,8 origin",
     .teredo = AUTH | ORIGIN);
CASE(teredo_first_fragment, TEREDO, "teredo mf origin", .teredo = ORIGIN);
CASE(teredo_data, TEREDO, "teredo origin flags=PA len=300",
     .teredo = ORIGIN);

/* 6in4 (case 6). */
CASE(sixin4_plain, SIXIN4, "sixin4");
CASE(sixin4_ipopt, SIXIN4, "sixin4 ipopt=12");
CASE(sixin4_ipopt40_chain, SIXIN4, "sixin4 ipopt=40 ext=hop,dst,rt,ah");
CASE(sixin4_any_inner, SIXIN4,
     "sixin4 inner-src=2001:db8:77::1 inner-dst=2a00:1450::1b");
CASE(sixin4_inner_frag, SIXIN4, "sixin4 ext=frag:0:m");
CASE(sixin4_inner_later_frag, OTHER, "sixin4 ext=frag:2");
CASE(sixin4_inner_chain_17, OTHER, "sixin4 ext=rt*17");
CASE(sixin4_no_next, OTHER, "sixin4 nh=59");
CASE(sixin4_inner_v4, OTHER, "sixin4 inner-ver=4");
CASE(sixin4_inner_plen0, OTHER, "sixin4 plen=0");
CASE(sixin4_port_80, OTHER, "sixin4 dport=80");
CASE(sixin4_first_fragment, SIXIN4, "sixin4 mf");
CASE(sixin4_as_ipip, OTHER, "sixin4 proto=4");

/* Watched ports are configuration: 2525 on, 465 off. */
CASE(ports_2525_smtp4, SMTP4, "tcp4 dport=2525", .ports = "25,2525");
CASE(ports_465_off_smtp4, OTHER, "tcp4 dport=465", .ports = "25,2525");
CASE(ports_2525_smtp6, SMTP6, "tcp6 ext=dst dport=2525", .ports = "2525");
CASE(ports_465_off_smtp6, OTHER, "tcp6 dport=465", .ports = "25,2525");
CASE(ports_2525_teredo, TEREDO, "teredo origin tport=2525",
     .ports = "25,2525", .teredo = ORIGIN);
CASE(ports_465_off_teredo, OTHER, "teredo tport=465", .ports = "25,2525");
CASE(ports_2525_sixin4, SIXIN4, "sixin4 tport=2525", .ports = "2525");
CASE(ports_25_off, OTHER, "tcp4", .ports = "2525");
CASE(ports_none, OTHER, "tcp4", .ports = "");
CASE(ports_0, SMTP4, "tcp4 dport=0", .ports = "0");
CASE(ports_65535, SMTP6, "tcp6 dport=65535", .ports = "65535,1");

/*
 * Whole: the expected class and flow, the same at every head/paged split,
 * behind a link-layer header, with padding after it, and from the
 * reference classifier.
 */
TEST_F(corpus, whole)
{
	const struct pkt *p = &self->p;
	struct sg_flow want, flow, moved;
	static uint8_t shifted[PKT_MAX + 128];
	struct ref_flow rf;
	unsigned int split;

	classify(p->buf, p->len, p->len, 0, self->family, &self->ports, &flow);
	expected_flow(&self->s, variant->class, variant->teredo,
		      variant->unreadable ? NFPROTO_UNSPEC : self->family,
		      &want);
	if (variant->no_flags)
		want.tcp_flags = 0;
	ASSERT_STREQ(sg_class_name(variant->class), sg_class_name(flow.class));
	ASSERT_TRUE(flow_eq(&want, &flow)) {
		hexdump(p->buf, p->len);
	}

	for (split = 0; split <= p->len; split++) {
		classify(p->buf, p->len, split, 0, self->family, &self->ports,
			 &moved);
		ASSERT_TRUE(flow_eq(&flow, &moved)) {
			TH_LOG("head_len %u: %s", split,
			       sg_class_name(moved.class));
		}
	}

	memset(shifted, 0xee, sizeof(shifted));
	memcpy(shifted + 14, p->buf, p->len);
	classify(shifted, p->len + 14, 14, 14, self->family, &self->ports,
		 &moved);
	ASSERT_TRUE(flow_eq(&flow, &moved)) TH_LOG("behind a link header");
	/* Padding is no part of the packet, unless a length says it is. */
	if (!has_fixed_lengths(p)) {
		classify(shifted + 14, p->len + 64, 20, 0, self->family,
			 &self->ports, &moved);
		ASSERT_TRUE(flow_eq(&flow, &moved)) {
			TH_LOG("with 64 bytes padding");
		}
	}

	ref(p->buf, p->len, self->family, &self->ports, &rf);
	ASSERT_TRUE(ref_agrees(&flow, &rf)) {
		TH_LOG("reference says %s", sg_class_name(rf.class));
	}
}

/*
 * Every byte of the flow is the classifier's: classified over two different
 * poisons, the results are identical, and an IPv4 address fills its whole
 * union (the hooks compare and hash all 16 bytes).  A field the class does
 * not use is zero.
 */
TEST_F(corpus, fully_initialised)
{
	const struct pkt *p = &self->p;
	struct { struct sg_flow f; } a, b;
	struct sk_buff skb = { .data = p->buf, .len = p->len,
			       .head_len = p->len };
	static const uint8_t zero[12];

	memset(&a, 0xa5, sizeof(a));
	sg_classify(&skb, 0, self->family, &self->ports, &a.f);
	memset(&b, 0x5a, sizeof(b));
	sg_classify(&skb, 0, self->family, &self->ports, &b.f);
	ASSERT_EQ(0, memcmp(&a, &b, sizeof(a))) {
		hexdump((const uint8_t *)&a, sizeof(a));
		hexdump((const uint8_t *)&b, sizeof(b));
	}
	if (a.f.family == NFPROTO_IPV4) {
		ASSERT_EQ(0, memcmp(&a.f.saddr.all[1], zero, sizeof(zero)));
		ASSERT_EQ(0, memcmp(&a.f.daddr.all[1], zero, sizeof(zero)));
	}
	if (a.f.class == SMTPGATE_CLASS_OTHER)
		ASSERT_EQ(0, a.f.sport | a.f.dport | a.f.tcp_flags | a.f.teredo);
}

/*
 * Case 1: cut short without touching a length: never SMTP (unless the spec
 * fixed a length that ends early), never a crash, same as the reference.
 */
TEST_F(corpus, truncated)
{
	const struct pkt *p = &self->p;
	struct sg_flow flow;
	unsigned int len, split;

	bool fixed = has_fixed_lengths(p);
	struct ref_flow rf;

	for (len = 0; len < p->len; len++) {
		ref(p->buf, len, self->family, &self->ports, &rf);
		/* A length the spec fixed may say the packet ends here. */
		if (!fixed)
			ASSERT_EQ(SMTPGATE_CLASS_OTHER, rf.class);
		for (split = 0; split <= len; split++) {
			classify(p->buf, len, split, 0, self->family,
				 &self->ports, &flow);
			ASSERT_TRUE(ref_agrees(&flow, &rf)) {
				TH_LOG("len %u head_len %u: %s, reference %s",
				       len, split, sg_class_name(flow.class),
				       sg_class_name(rf.class));
			}
		}
	}
}

/*
 * Case 1 the hard way: cut short with every enclosing length refitted to
 * what is left (what a tunnel endpoint would send, and the Zeek Teredo
 * length-wrap bug).  SMTP exactly while the TCP ports are in.  With
 * lengths the spec fixed, the reference classifier is the oracle.
 */
TEST_F(corpus, refitted)
{
	static struct pkt cut;
	int tcp = pkt_find(&self->p, PKT_TCP, 0);
	unsigned int need = tcp < 0 ? ~0U : self->p.layer[tcp].off + 4;
	bool fixed = has_fixed_lengths(&self->p);
	struct sg_flow full, flow, moved;
	struct ref_flow rf;
	unsigned int len, split;
	u8 want;

	classify(self->p.buf, self->p.len, self->p.len, 0, self->family,
		 &self->ports, &full);
	for (len = 0; len <= self->p.len; len++) {
		pkt_copy(&cut, &self->p);
		ASSERT_LE(0, pkt_truncate(&cut, len));
		classify(cut.buf, len, len, 0, self->family, &self->ports,
			 &flow);
		ref(cut.buf, len, self->family, &self->ports, &rf);
		ASSERT_TRUE(ref_agrees(&flow, &rf)) {
			TH_LOG("len %u: %s, reference %s", len,
			       sg_class_name(flow.class),
			       sg_class_name(rf.class));
			hexdump(cut.buf, len);
		}
		want = len >= need ? full.class : SMTPGATE_CLASS_OTHER;
		if (!fixed)
			ASSERT_EQ(want, flow.class) {
				TH_LOG("len %u (ports end at %u): %s", len,
				       need, sg_class_name(flow.class));
			}
		for (split = 0; split <= len; split++) {
			classify(cut.buf, len, split, 0, self->family,
				 &self->ports, &moved);
			ASSERT_TRUE(flow_eq(&flow, &moved)) {
				TH_LOG("len %u head_len %u", len, split);
			}
		}
	}
}

/* ---- what a spec cannot say ---------------------------------------------- */

static int build(struct pkt *p, struct spec *s, const char *text)
{
	char err[256];
	int ret = spec_build_str(text, p, s, err, sizeof(err));

	if (ret < 0)
		fprintf(stderr, "# spec '%s': %s\n", text, err);
	return ret;
}

static u8 classify_pkt(const struct pkt *p, u8 family, const char *ports,
		       struct sg_flow *flow)
{
	struct sg_ports sp;
	struct ref_flow rf;
	u8 class;

	set_ports(&sp, ports);
	class = classify(p->buf, p->len, p->len, 0, family, &sp, flow);
	/* The reference must agree on every packet any test makes. */
	ref(p->buf, p->len, family, &sp, &rf);
	if (!ref_agrees(flow, &rf)) {
		fprintf(stderr, "# reference says %s\n",
			sg_class_name(rf.class));
		return 0xff;
	}
	return class;
}

/* Only the two families the hooks register for are parsed. */
TEST(wrong_family)
{
	static struct pkt p;
	static struct spec s;
	struct sg_flow flow;

	ASSERT_LT(0, build(&p, &s, "tcp4"));
	ASSERT_EQ(SMTPGATE_CLASS_OTHER,
		  classify_pkt(&p, NFPROTO_IPV6, NULL, &flow));
	ASSERT_EQ(NFPROTO_UNSPEC, flow.family);
	ASSERT_EQ(SMTPGATE_CLASS_OTHER, classify(p.buf, p.len, p.len, 0,
						 NFPROTO_ARP, NULL, &flow));
	ASSERT_EQ(NFPROTO_UNSPEC, flow.family);
	ASSERT_LT(0, build(&p, &s, "tcp6"));
	ASSERT_EQ(SMTPGATE_CLASS_OTHER,
		  classify_pkt(&p, NFPROTO_IPV4, NULL, &flow));
	ASSERT_EQ(SMTPGATE_CLASS_OTHER, classify(p.buf, p.len, p.len, 0,
						 NFPROTO_UNSPEC, NULL, &flow));
}

/* Case 4: the version nibble decides, whatever the family says. */
TEST(bad_version)
{
	static struct pkt p;
	static struct spec s;
	struct sg_flow flow;
	unsigned int v;

	for (v = 0; v < 16; v++) {
		ASSERT_LT(0, build(&p, &s, "tcp4"));
		p.buf[0] = v << 4 | (p.buf[0] & 0xf);
		ASSERT_EQ(v == 4 ? SMTPGATE_CLASS_SMTP4 : SMTPGATE_CLASS_OTHER,
			  classify_pkt(&p, NFPROTO_IPV4, NULL, &flow));
		ASSERT_LT(0, build(&p, &s, "tcp6"));
		p.buf[0] = v << 4 | (p.buf[0] & 0xf);
		ASSERT_EQ(v == 6 ? SMTPGATE_CLASS_SMTP6 : SMTPGATE_CLASS_OTHER,
			  classify_pkt(&p, NFPROTO_IPV6, NULL, &flow));
	}
}

/*
 * Case 4: an IHL past the real header moves the "TCP header" into the
 * real one.  Only the ports there count: seq 25 reads as port 0 -> 25.
 */
TEST(ihl_past_header)
{
	static struct pkt p;
	static struct spec s;
	struct sg_flow flow;

	ASSERT_LT(0, build(&p, &s, "tcp4 ihl=6 seq=25 dport=80"));
	ASSERT_EQ(SMTPGATE_CLASS_SMTP4,
		  classify_pkt(&p, NFPROTO_IPV4, NULL, &flow));
	ASSERT_EQ(0, ntohs(flow.sport));
	ASSERT_EQ(25, ntohs(flow.dport));
	ASSERT_LT(0, build(&p, &s, "tcp4 ihl=6 seq=26"));
	ASSERT_EQ(SMTPGATE_CLASS_OTHER,
		  classify_pkt(&p, NFPROTO_IPV4, NULL, &flow));
}

/*
 * Case 2: a SYN cut into real fragments of 8 bytes.  The first carries the
 * ports (and half the TCP header): SMTP.  The others: not.
 */
static void check_fragments(struct __test_metadata *_metadata,
			    const char *text, u8 first_class)
{
	static struct pkt whole, frag;
	static struct spec s;
	struct sg_flow flow;
	unsigned int off, start, total;

	ASSERT_LT(0, build(&whole, &s, text));
	start = whole.layer[0].hlen;
	total = whole.len - start;
	for (off = 0; off < total; off += 8) {
		unsigned int len = total - off < 8 ? total - off : 8;

		ASSERT_LT(0, pkt_fragment(&whole, 0, off, len,
					  off + len < total, &frag));
		ASSERT_EQ(off ? SMTPGATE_CLASS_OTHER : first_class,
			  classify_pkt(&frag, NFPROTO_IPV4, NULL, &flow)) {
			TH_LOG("%s: fragment at %u", text, off);
		}
	}
}

TEST(fragments4_of_8_bytes)
{
	check_fragments(_metadata, "tcp4 len=40", SMTPGATE_CLASS_SMTP4);
	check_fragments(_metadata, "tcp4 ipopt=20 dport=465",
			SMTPGATE_CLASS_SMTP4);
	/* The first 8 bytes of a tunnel are no tunnel. */
	check_fragments(_metadata, "teredo origin", SMTPGATE_CLASS_OTHER);
	check_fragments(_metadata, "sixin4", SMTPGATE_CLASS_OTHER);
}

TEST(fragments6_of_8_bytes)
{
	/* The fragment header is the only extension: layer index 1. */
	static struct pkt whole, frag;
	static struct spec s;
	struct sg_flow flow;
	unsigned int off, total;

	ASSERT_LT(0, build(&whole, &s, "tcp6 ext=dst,frag len=30"));
	ASSERT_EQ(IPPROTO_FRAGMENT, whole.layer[2].proto);
	total = whole.len - whole.layer[3].off;
	for (off = 0; off < total; off += 8) {
		unsigned int len = total - off < 8 ? total - off : 8;

		ASSERT_LT(0, pkt_fragment(&whole, 2, off, len,
					  off + len < total, &frag));
		ASSERT_EQ(off ? SMTPGATE_CLASS_OTHER : SMTPGATE_CLASS_SMTP6,
			  classify_pkt(&frag, NFPROTO_IPV6, NULL, &flow)) {
			TH_LOG("fragment at %u", off);
		}
	}
}

/* Case 5: the inner IPv6 packet of a Teredo packet, fragmented. */
TEST(fragments_inside_teredo)
{
	static struct pkt whole, frag;
	static struct spec s;
	struct sg_flow flow;
	int layer;

	ASSERT_LT(0, build(&whole, &s, "teredo auth=2,2 origin ext=frag "
			   "len=64"));
	layer = pkt_find(&whole, PKT_EXT6, 0);
	ASSERT_LE(0, layer);
	ASSERT_LT(0, pkt_fragment(&whole, layer, 0, 24, true, &frag));
	ASSERT_EQ(SMTPGATE_CLASS_TEREDO,
		  classify_pkt(&frag, NFPROTO_IPV4, NULL, &flow));
	ASSERT_EQ(AUTH | ORIGIN, flow.teredo);
	ASSERT_LT(0, pkt_fragment(&whole, layer, 24, 48, true, &frag));
	ASSERT_EQ(SMTPGATE_CLASS_OTHER,
		  classify_pkt(&frag, NFPROTO_IPV4, NULL, &flow));
}

/* A first fragment too short for the ports can decide nothing. */
TEST(first_fragment_without_ports)
{
	static struct pkt p;
	static struct spec s;
	struct sg_flow flow;
	unsigned int len;

	for (len = 0; len <= 20; len++) {
		ASSERT_LT(0, build(&p, &s, "tcp4 mf"));
		ASSERT_LE(0, pkt_truncate(&p, 20 + len));
		ASSERT_EQ(len >= 4 ? SMTPGATE_CLASS_SMTP4 :
				     SMTPGATE_CLASS_OTHER,
			  classify_pkt(&p, NFPROTO_IPV4, NULL, &flow)) {
			TH_LOG("%u bytes of TCP header", len);
		}
	}
}

/* Case 3: every extension type, chains of 0 to 40: the walk is bounded. */
TEST(ext_chain_lengths)
{
	static const char *const types[] = { "hop", "dst", "rt", "ah", "frag" };
	static struct pkt p;
	static struct spec s;
	struct sg_flow flow;
	char text[64];
	unsigned int t, n;

	for (t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		for (n = 0; n <= 40; n++) {
			snprintf(text, sizeof(text), "tcp6 ext=%s*%u", types[t],
				 n);
			ASSERT_LT(0, build(&p, &s, n ? text : "tcp6"));
			ASSERT_EQ(n <= SG_MAX_EXTHDRS ? SMTPGATE_CLASS_SMTP6 :
							SMTPGATE_CLASS_OTHER,
				  classify_pkt(&p, NFPROTO_IPV6, NULL, &flow)) {
				TH_LOG("%s", text);
			}
		}
	}
}

/* Case 3: an AH length field running past the packet. */
TEST(ext_length_past_end)
{
	static struct pkt p;
	static struct spec s;
	struct sg_flow flow;
	unsigned int hdrlen;

	for (hdrlen = 0; hdrlen < 256; hdrlen++) {
		ASSERT_LT(0, build(&p, &s, "tcp6 ext=ah:12"));
		p.buf[40 + 1] = hdrlen;
		/* 12 bytes of AH: hdrlen 1; then TCP's ports at 52. */
		ASSERT_EQ(hdrlen == 1 ? SMTPGATE_CLASS_SMTP6 :
					SMTPGATE_CLASS_OTHER,
			  classify_pkt(&p, NFPROTO_IPV6, NULL, &flow)) {
			TH_LOG("AH hdrlen %u", hdrlen);
		}
	}
}

/* Case 5: every ID and AU length, alone and followed by an origin. */
TEST(teredo_auth_lengths)
{
	static struct pkt p;
	static struct spec s;
	struct sg_flow flow;
	char text[64];
	unsigned int id, au, origin;

	for (origin = 0; origin < 2; origin++) {
		for (id = 0; id < 256; id++) {
			for (au = 0; au < 256; au++) {
				snprintf(text, sizeof(text),
					 "teredo auth=%u,%u%s", id, au,
					 origin ? " origin" : "");
				ASSERT_LT(0, build(&p, &s, text));
				ASSERT_EQ(SMTPGATE_CLASS_TEREDO,
					  classify_pkt(&p, NFPROTO_IPV4, NULL,
						       &flow)) TH_LOG("%s", text);
				ASSERT_EQ(origin ? AUTH | ORIGIN : AUTH,
					  flow.teredo);
			}
		}
	}
}

/*
 * Case 5: an auth header whose lengths lie (the Zeek length-wrap): every
 * ID/AU pair over a packet built with auth 4,8 and an origin indication.
 */
TEST(teredo_auth_lengths_lie)
{
	static struct pkt p;
	static struct spec s;
	struct sg_flow flow;
	unsigned int id, au, off;

	ASSERT_LT(0, build(&p, &s, "teredo auth=4,8 origin"));
	off = p.layer[pkt_find(&p, PKT_TEREDO_AUTH, 0)].off;
	for (id = 0; id < 256; id++) {
		for (au = 0; au < 256; au++) {
			p.buf[off + 2] = id;
			p.buf[off + 3] = au;
			/* 12: as built; 20: the origin read as auth data */
			bool inner = id + au == 12 || id + au == 20;

			ASSERT_EQ(inner ? SMTPGATE_CLASS_TEREDO :
					  SMTPGATE_CLASS_OTHER,
				  classify_pkt(&p, NFPROTO_IPV4, NULL, &flow)) {
				TH_LOG("ID %u AU %u", id, au);
			}
			if (inner)
				ASSERT_EQ(id + au == 12 ? AUTH | ORIGIN : AUTH,
					  flow.teredo);
		}
	}
}

/*
 * Case 5: UDP shorter than the IP payload.  The Teredo packet is what
 * the UDP length says; what follows it in the IP packet is not part of it.
 */
TEST(teredo_udp_shorter_than_ip)
{
	static struct pkt p;
	static struct spec s;
	struct sg_flow flow;
	unsigned int ulen;

	ASSERT_LT(0, build(&p, &s, "teredo origin"));
	ulen = p.len - 20;
	/* Grow the IP packet by 6 bytes of trailer, not the UDP datagram. */
	memset(p.buf + p.len, 0x5a, 6);
	p.len += 6;
	p.layer[0].fix |= PKT_FIX_PROTO;
	p.nlayers = 1;		/* refit the IPv4 header alone */
	ASSERT_LT(0, pkt_finish(&p));
	ASSERT_EQ(ulen, (unsigned int)(p.buf[24] << 8 | p.buf[25]));
	ASSERT_EQ(SMTPGATE_CLASS_TEREDO,
		  classify_pkt(&p, NFPROTO_IPV4, NULL, &flow));
	/* Now the inner IPv6 claims the trailer too: a mismatch. */
	p.buf[20 + 8 + 8 + 5] += 6;
	ASSERT_EQ(SMTPGATE_CLASS_OTHER,
		  classify_pkt(&p, NFPROTO_IPV4, NULL, &flow));
}

/* Teredo is an IPv4 thing: the same bytes inside IPv6 UDP are not it. */
TEST(teredo_not_over_ipv6)
{
	static struct pkt t, p;
	static struct spec s;
	static const struct pkt_udp udp = { .sport = 40000, .dport = 3544 };
	static struct pkt_ip6 ip6;
	struct sg_flow flow;

	ASSERT_LT(0, build(&t, &s, "teredo origin"));
	ip6.saddr = s.ip6.saddr;
	ip6.daddr = s.ip6.daddr;
	pkt_init(&p);
	pkt_ip6(&p, &ip6);
	pkt_udp(&p, &udp);
	pkt_data(&p, t.buf + 28, t.len - 28);
	ASSERT_LT(0, pkt_finish(&p));
	ASSERT_EQ(SMTPGATE_CLASS_OTHER,
		  classify_pkt(&p, NFPROTO_IPV6, NULL, &flow));
}

/* The builder: checksums a real peer accepts (RFC 1071 verification). */
TEST(builder_checksums)
{
	static struct pkt p;
	static struct spec s;
	uint32_t pseudo;
	unsigned int tl;

	ASSERT_LT(0, build(&p, &s, "tcp4 ipopt=4 len=13"));
	ASSERT_EQ(0, pkt_csum(p.buf, 24, 0));
	tl = p.len - 24;
	pseudo = (p.buf[12] << 8 | p.buf[13]) + (p.buf[14] << 8 | p.buf[15]) +
		 (p.buf[16] << 8 | p.buf[17]) + (p.buf[18] << 8 | p.buf[19]) +
		 IPPROTO_TCP + tl;
	ASSERT_EQ(0, pkt_csum(p.buf + 24, tl, pseudo));

	ASSERT_LT(0, build(&p, &s, "teredo auth=3,5 origin len=7"));
	ASSERT_EQ(0, pkt_csum(p.buf, 20, 0));
	tl = p.len - 20;
	pseudo = (p.buf[12] << 8 | p.buf[13]) + (p.buf[14] << 8 | p.buf[15]) +
		 (p.buf[16] << 8 | p.buf[17]) + (p.buf[18] << 8 | p.buf[19]) +
		 IPPROTO_UDP + tl;
	ASSERT_EQ(0, pkt_csum(p.buf + 20, tl, pseudo));
}

/* sgcraft's grammar: errors name the token. */
TEST(spec_errors)
{
	static const struct {
		const char *text, *msg;
	} bad[] = {
		{ "tcp4 dport=x", "bad value 'x' for dport" },
		{ "tcp4 dport=65536", "bad value '65536' for dport" },
		{ "tcp4 src=2001:db8::1", "bad value '2001:db8::1' for src" },
		{ "tcp4 ext=hop", "unknown key 'ext' for tcp4" },
		{ "tcp6 ext=hop,bogus", "bad value 'hop,bogus' for ext" },
		{ "tcp6 ext=dst*41", "bad value 'dst*41' for ext" },
		{ "teredo auth=256,0", "bad value '256,0' for auth" },
		{ "teredo thdr=auth,nope", "bad value 'auth,nope' for thdr" },
		{ "tcp4 df=1", "'df' takes no value" },
		{ "tcp4 dport", "missing value for dport" },
		{ "tcp4 fragsize=12", "bad value '12' for fragsize" },
		{ "udp4 flags=S", "unknown key 'flags' for udp4" },
		{ "tcp5", "unknown packet kind 'tcp5'" },
	};
	static struct pkt p;
	static struct spec s;
	char err[256];
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		ASSERT_GT(0, spec_build_str(bad[i].text, &p, &s, err,
					    sizeof(err)));
		ASSERT_STREQ(bad[i].msg, err);
	}
}

/* ---- differential: sg_classify() against the reference ------------------- */

static uint64_t rng_state;

static uint32_t rnd(void)
{
	/* xorshift64*: the same sequence on every libc */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (rng_state * 2685821657736338717ULL) >> 32;
}

static unsigned int below(unsigned int n)
{
	return n ? rnd() % n : 0;
}

static const uint16_t interesting_ports[] = {
	25, 465, 2525, 587, 80, 53, 3544, 0, 65535,
};

static uint16_t some_port(void)
{
	if (below(4))
		return interesting_ports[below(sizeof(interesting_ports) /
					       sizeof(interesting_ports[0]))];
	return rnd();
}

/* Half the time a watched port, so the deep paths are reached. */
static uint16_t some_dport(void)
{
	return below(2) ? interesting_ports[below(3)] : some_port();
}

static void random_addr6(struct in6_addr *a)
{
	unsigned int i;

	for (i = 0; i < 16; i++)
		a->s6_addr[i] = rnd();
	if (below(2)) {		/* 2001::/32 half the time */
		a->s6_addr[0] = 0x20;
		a->s6_addr[1] = 0x01;
		a->s6_addr[2] = 0;
		a->s6_addr[3] = 0;
	}
}

static void random_ext(struct spec *s)
{
	static const uint8_t types[] = {
		IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPPROTO_DSTOPTS, IPPROTO_AH,
		IPPROTO_FRAGMENT,
	};
	unsigned int n = below(4) ? below(4) : below(SPEC_MAX_EXT + 1);
	unsigned int i;

	s->next = n;
	for (i = 0; i < n; i++) {
		struct spec_ext *e = &s->ext[i];

		e->type = types[below(sizeof(types))];
		e->len = e->type == IPPROTO_AH ? 12 + 4 * below(8) :
						 8 * (1 + below(4));
		e->fragoff = below(8) ? 0 : below(8192);
		e->more = below(2);
	}
}

/* A random spec of any kind; most are SMTP-shaped, to reach deep code. */
static void random_spec(struct spec *s)
{
	static const char *const kinds[] = {
		"tcp4", "udp4", "tcp6", "udp6", "sixin4", "teredo", "teredo",
	};
	char err[128];
	char *argv[] = { (char *)kinds[below(7)] };
	unsigned int i;

	spec_parse(1, argv, s, err, sizeof(err));
	s->tcp.sport = some_port();
	s->tcp.dport = some_dport();
	s->udp.sport = below(3) ? 40000 + below(100) : some_port();
	s->udp.dport = below(2) ? 3544 : some_port();
	if (below(8) == 0)
		s->ip4.frag = rnd() & (below(2) ? PKT_IP4_MF : 0xffff);
	if (below(3) == 0)
		s->ip4.optlen = 4 * below(11);
	memset(s->ipopt, 1, sizeof(s->ipopt));
	random_addr6(&s->ip6.saddr);
	random_addr6(&s->ip6.daddr);
	if (s->kind != SPEC_UDP4)
		random_ext(s);
	s->nthdr = below(4);
	for (i = 0; i < s->nthdr; i++)		/* mostly auth, origin */
		s->thdr[i] = below(4) ? SPEC_THDR_AUTH + i % 2 :
					SPEC_THDR_AUTH + below(2);
	s->id_len = below(2) ? below(8) : rnd();
	s->au_len = below(2) ? below(8) : rnd();
	s->bubble = below(16) == 0;
	if (below(8) == 0) {
		s->nh_set = true;
		s->nh = below(2) ? 59 : rnd();
	}
	s->len = below(2) ? 0 : below(64);
}

/* Mutations that reach the length checks and the header chain logic. */
static void mutate(struct pkt *p, unsigned int *len, unsigned int *head)
{
	unsigned int n, i, at;

	switch (below(8)) {
	case 0:		/* flip bytes */
		for (n = 1 + below(4), i = 0; i < n && p->len; i++)
			p->buf[below(p->len)] ^= 1U << below(8);
		break;
	case 1:		/* overwrite a byte in some header */
		if (p->nlayers) {
			i = below(p->nlayers);
			at = p->layer[i].off + below(p->layer[i].hlen + 1);
			if (at < p->len)
				p->buf[at] = rnd();
		}
		break;
	case 2:		/* cut short, lengths refitted */
		pkt_truncate(p, below(p->len + 1));
		break;
	case 3:		/* cut short, lengths as they were */
		p->len = below(p->len + 1);
		break;
	case 4:		/* padding after the packet */
		n = below(32);
		for (i = 0; i < n && p->len < PKT_MAX; i++)
			p->buf[p->len++] = rnd();
		break;
	default:	/* as built */
		break;
	}
	*len = p->len;
	*head = below(3) ? *len : below(*len + 1);
}

TEST(differential)
{
	static struct pkt p;
	static struct spec s;
	struct sg_ports ports;
	struct sg_flow flow;
	struct ref_flow rf;
	unsigned long iter, smtp = 0, failures = 0;
	unsigned int len, head;
	u8 family;

	set_ports(&ports, "25,465,2525");
	rng_state = 0x736d7470676174eULL;	/* fixed: reproducible */
	for (iter = 0; iter < 200000; iter++) {
		random_spec(&s);
		spec_build(&s, &p);
		if (p.err)
			continue;
		mutate(&p, &len, &head);
		family = spec_nfproto(&s);
		classify(p.buf, len, head, 0, family, &ports, &flow);
		ref(p.buf, len, family, &ports, &rf);
		smtp += flow.class != SMTPGATE_CLASS_OTHER;
		if (ref_agrees(&flow, &rf))
			continue;
		TH_LOG("iteration %lu: sg_classify %s (teredo %u), "
		       "reference %s (teredo %u), head_len %u",
		       iter, sg_class_name(flow.class), flow.teredo,
		       sg_class_name(rf.class), rf.teredo, head);
		hexdump(p.buf, len);
		if (++failures == 5)
			break;
	}
	TH_LOG("%lu packets, %lu of them SMTP", iter, smtp);
	ASSERT_EQ(0UL, failures);
	/* A generator that never reached the deep paths tests nothing. */
	ASSERT_LT(iter / 10, smtp);
}

/* ---- seeds for the fuzzer ------------------------------------------------ */

static int write_seed(const char *dir, const char *name, const char *suffix,
		      const struct pkt *p, int ipv6, unsigned int head_len)
{
	unsigned char hdr[FUZZ_HDR_LEN];
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s%s", dir, name, suffix);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fuzz_input_header(hdr, ipv6, head_len);
	fwrite(hdr, 1, sizeof(hdr), f);
	fwrite(p->buf, 1, p->len, f);
	return fclose(f) ? -errno : 0;
}

/* Every corpus packet, linear and split in the middle. */
static int dump_corpus(const char *dir)
{
	static struct pkt p;
	static struct spec s;
	struct __fixture_metadata *f;
	struct __fixture_variant_metadata *v;
	char err[256];
	int n = 0;

	mkdir(dir, 0755);
	for (f = __fixture_list; f; f = f->next) {
		if (strcmp(f->name, "corpus"))
			continue;
		for (v = f->variant; v; v = v->next) {
			const FIXTURE_VARIANT(corpus) *c = v->data;
			int ipv6;

			if (spec_build_str(c->spec, &p, &s, err,
					   sizeof(err)) < 0) {
				fprintf(stderr, "%s: %s\n", c->spec, err);
				return 1;
			}
			ipv6 = spec_family(&s) == AF_INET6;
			if (write_seed(dir, v->name, "", &p, ipv6, p.len) ||
			    write_seed(dir, v->name, ".split", &p, ipv6,
				       p.len / 2)) {
				perror(dir);
				return 1;
			}
			n += 2;
		}
	}
	fprintf(stderr, "%d seeds in %s\n", n, dir);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--dump-corpus"))
		return dump_corpus(argv[2]);
	return test_harness_run(argc, argv);
}
