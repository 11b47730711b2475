/*
 * test/addr_test.c - the address grammar (addr.c), case by case: valid
 * and invalid paths, the limits of RFC 5321 4.5.3.1 at and past their
 * edges, quoted local parts, source routes, address literals and the
 * UTF-8 of RFC 6531; then HELO names for Received:; then Punycode with
 * the samples of RFC 3492 7.1, and domains through idna_domain(), the
 * canonical form (A-labels, lowercase) every domain is compared in.  No
 * process, no socket: a table through the functions.  Prints TAP; exits 1 on any
 * failure.  make test builds it; test/addr.bats runs it.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../addr.h"
#include "../idna.h"

/* 64 octets of local part; 63-octet labels making a 189-octet domain. */
#define L64	"llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllll"
#define D63	"ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
#define D61	"ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
#define D55	"ddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
#define D56	D55 "d"
#define D189	D63 "." D63 "." D61
/* A 57-octet U-label whose A-label has 63 octets: "xn--" D55 "-oxf". */
#define U57	"\xc3\xbc" D55
#define A63	"xn--" D55 "-oxf"
/* 15 code points past U+FFFF, 60 octets of UTF-8, 64 as an A-label. */
#define U60	"\xf0\xba\x80\x80\xf0\xb7\x80\x80\xf0\xb4\x80\x80" \
		"\xf0\xb1\x80\x80\xf0\xae\x80\x80\xf0\xab\x80\x80" \
		"\xf0\xa8\x80\x80\xf0\xa5\x80\x80\xf0\xa2\x80\x80" \
		"\xf0\x9f\x80\x80\xf0\x9c\x80\x80\xf0\x99\x80\x80" \
		"\xf0\x96\x80\x80\xf0\x93\x80\x80\xf0\x90\x80\x80"

struct path_case {
	const char	*in;
	int		 flags;
	int		 ok;
	const char	*local, *domain;	/* when ok */
	int		 nonascii;
	const char	*rest_or_why;	/* after '>', or the reason */
};

struct helo_case {
	const char	*in;
	int		 ok;
};

/* RFC 3492 7.1: the code points and their Punycode (no case flags). */
struct puny_case {
	const char	*name;
	const char	*puny;
	size_t		 n;
	uint32_t	 cp[48];
};

struct idna_case {
	const char	*in;
	const char	*out;		/* NULL: refused */
};

static const struct path_case paths[] = {
	/* Plain, mixed case, parameters after the path. */
	{ "<a@example.org>", 0, 1, "a", "example.org", 0, "" },
	{ "<A.B@Example.ORG>", 0, 1, "a.b", "example.org", 0, "" },
	{ "<a@example.org> SIZE=10", 0, 1, "a", "example.org", 0, " SIZE=10" },
	/* The null path and bare postmaster, only where allowed. */
	{ "<>", ADDR_EMPTY_OK, 1, "", "", 0, "" },
	{ "<>", 0, 0, NULL, NULL, 0, "bad local part" },
	{ "<postmaster>", ADDR_POSTMASTER, 1, "postmaster", "", 0, "" },
	{ "<PostMaster>", ADDR_POSTMASTER, 1, "postmaster", "", 0, "" },
	{ "<postmaster>", 0, 0, NULL, NULL, 0, "no @domain" },
	/* Quoted local parts: unquoted, quoted-pairs undone. */
	{ "<\"john smith\"@example.org>", 0, 1, "john smith", "example.org", 0,
	    "" },
	{ "<\"a\\\"b\"@example.org>", 0, 1, "a\"b", "example.org", 0, "" },
	{ "<\"a@b\"@example.org>", 0, 1, "a@b", "example.org", 0, "" },
	{ "<\"a\x01\"@example.org>", 0, 0, NULL, NULL, 0, "bad local part" },
	/* Source routes are skipped (RFC 5321 4.1.1.3), if well formed. */
	{ "<@one.example,@two.example:u@example.org>", 0, 1, "u",
	    "example.org", 0, "" },
	{ "<@-bad.example:u@example.org>", 0, 0, NULL, NULL, 0,
	    "bad source route" },
	{ "<@one.example;u@example.org>", 0, 0, NULL, NULL, 0,
	    "bad source route" },
	/* Address literals. */
	{ "<u@[192.0.2.1]>", 0, 1, "u", "[192.0.2.1]", 0, "" },
	{ "<u@[IPv6:2001:db8::1]>", 0, 1, "u", "[ipv6:2001:db8::1]", 0, "" },
	{ "<u@[]>", 0, 0, NULL, NULL, 0, "bad domain" },
	/* UTF-8 (RFC 6531): well formed only. */
	{ "<\xc3\xbc@b\xc3\xbc" "cher.example>", 0, 1, "\xc3\xbc",
	    "xn--bcher-kva.example", 1, "" },
	/* IDN: one canonical form, A-labels; a bad A-label is no domain. */
	{ "<u@XN--Bcher-KVA.Example>", 0, 1, "u", "xn--bcher-kva.example", 0,
	    "" },
	{ "<u@B\xc3\xbc" "cher.example>", 0, 1, "u", "xn--bcher-kva.example",
	    1, "" },
	{ "<u@xn--bcher-kvb.example>", 0, 1, "u", "xn--bcher-kvb.example", 0,
	    "" },
	{ "<u@xn--99999a.example>", 0, 0, NULL, NULL, 0, "bad domain" },
	{ "<u@xn--abc-.example>", 0, 0, NULL, NULL, 0, "bad domain" },
	{ "<u@[IPv6:::1]>", 0, 1, "u", "[ipv6:::1]", 0, "" },
	/* RFC 5321 has no trailing dot; 253 octets counted as A-labels,
	 * so 231 octets of U-labels can be too long. */
	{ "<u@example.org.>", 0, 0, NULL, NULL, 0, "bad domain" },
	{ "<u@" U57 "." U57 "." U57 "." D61 ">", 0, 1, "u",
	    A63 "." A63 "." A63 "." D61, 1, "" },
	{ "<u@" U57 "." U57 "." U57 "." U57 ">", 0, 0, NULL, NULL, 0,
	    "bad domain" },
	{ "<u@" U60 ".example>", 0, 0, NULL, NULL, 0, "bad domain" },
	{ "<u@xn--a.example>", 0, 0, NULL, NULL, 0, "bad domain" },
	/* A tag in UTF-8 stays whole; the path may hold what no mailbox
	 * name may (txn.c and store.c refuse it there). */
	{ "<j\xc3\xbcrgen+t\xc3\xa4g@example.org>", 0, 1,
	    "j\xc3\xbcrgen+t\xc3\xa4g", "example.org", 1, "" },
	{ "<\"Bob+../X\"@example.org>", 0, 1, "bob+../x", "example.org", 0,
	    "" },
	{ "<\xc0\xaf@example.org>", 0, 0, NULL, NULL, 0, "bad local part" },
	{ "<\xed\xa0\x80@example.org>", 0, 0, NULL, NULL, 0,
	    "bad local part" },
	{ "<\xf4\x90\x80\x80@example.org>", 0, 0, NULL, NULL, 0,
	    "bad local part" },
	{ "<u@ex\xff" "ample.org>", 0, 0, NULL, NULL, 0, "bad domain" },
	/* The limits of 4.5.3.1, at and past their edges. */
	{ "<" L64 "@example.org>", 0, 1, L64, "example.org", 0, "" },
	{ "<" L64 "l@example.org>", 0, 0, NULL, NULL, 0, "bad local part" },
	{ "<" L64 "@" D189 ">", 0, 1, L64, D189, 0, "" },
	{ "<" L64 "@" D189 "d>", 0, 0, NULL, NULL, 0, "path too long" },
	/* Dots and hyphens where they may not be. */
	{ "<a..b@example.org>", 0, 0, NULL, NULL, 0, "bad local part" },
	{ "<.a@example.org>", 0, 0, NULL, NULL, 0, "bad local part" },
	{ "<a.@example.org>", 0, 0, NULL, NULL, 0, "bad local part" },
	{ "<a@example..org>", 0, 0, NULL, NULL, 0, "bad domain" },
	{ "<a@-example.org>", 0, 0, NULL, NULL, 0, "bad domain" },
	{ "<a@example-.org>", 0, 0, NULL, NULL, 0, "bad domain" },
	{ "<a@example.org.>", 0, 0, NULL, NULL, 0, "bad domain" },
	{ "<a@>", 0, 0, NULL, NULL, 0, "bad domain" },
	/* Brackets and the one '@'. */
	{ "<a@example.org", 0, 0, NULL, NULL, 0, "no >" },
	{ "<a@b@example.org>", 0, 0, NULL, NULL, 0, "no >" },
	{ "a@example.org", 0, 0, NULL, NULL, 0, "no <" },
	{ "<a example.org>", 0, 0, NULL, NULL, 0, "no @domain" },
};

static const struct helo_case helos[] = {
	{ "mail.example.net", 1 },
	{ "localhost", 1 },
	{ "mail_1.example.net", 0 },
	{ "[127.0.0.1]", 1 },
	{ "[IPv6:2001:db8::1]", 1 },
	{ "[127.0.0.256]", 0 },
	{ "[IPv6:zz]", 0 },
	{ "a-.example", 0 },
	{ "-a.example", 0 },
	{ "a.example-", 0 },
	{ "", 0 },
	{ "evil)(by;[1.2.3.4]", 0 },
	{ D189 "." D63, 1 },		/* 253 octets */
	{ D189 "." D63 ".dd", 0 },	/* 256 */
};

static const struct puny_case punys[] = {
	{ "(A)", "egbpdaj6bu4bxfgehfvwxn", 17,
	    { 0x0644, 0x064a, 0x0647, 0x0645, 0x0627, 0x0628, 0x062a, 0x0643,
	      0x0644, 0x0645, 0x0648, 0x0634, 0x0639, 0x0631, 0x0628, 0x064a,
	      0x061f } },
	{ "(B)", "ihqwcrb4cv8a8dqg056pqjye", 9,
	    { 0x4ed6, 0x4eec, 0x4e3a, 0x4ec0, 0x4e48, 0x4e0d, 0x8bf4, 0x4e2d,
	      0x6587 } },
	{ "(C)", "ihqwctvzc91f659drss3x8bo0yb", 9,
	    { 0x4ed6, 0x5011, 0x7232, 0x4ec0, 0x9ebd, 0x4e0d, 0x8aaa, 0x4e2d,
	      0x6587 } },
	{ "(D)", "Proprostnemluvesky-uyb24dma41a", 22,
	    { 0x0050, 0x0072, 0x006f, 0x010d, 0x0070, 0x0072, 0x006f, 0x0073,
	      0x0074, 0x011b, 0x006e, 0x0065, 0x006d, 0x006c, 0x0075, 0x0076,
	      0x00ed, 0x010d, 0x0065, 0x0073, 0x006b, 0x0079 } },
	{ "(E)", "4dbcagdahymbxekheh6e0a7fei0b", 22,
	    { 0x05dc, 0x05de, 0x05d4, 0x05d4, 0x05dd, 0x05e4, 0x05e9, 0x05d5,
	      0x05d8, 0x05dc, 0x05d0, 0x05de, 0x05d3, 0x05d1, 0x05e8, 0x05d9,
	      0x05dd, 0x05e2, 0x05d1, 0x05e8, 0x05d9, 0x05ea } },
	{ "(F)", "i1baa7eci9glrd9b2ae1bj0hfcgg6iyaf8o0a1dig0cd", 30,
	    { 0x092f, 0x0939, 0x0932, 0x094b, 0x0917, 0x0939, 0x093f, 0x0928,
	      0x094d, 0x0926, 0x0940, 0x0915, 0x094d, 0x092f, 0x094b, 0x0902,
	      0x0928, 0x0939, 0x0940, 0x0902, 0x092c, 0x094b, 0x0932, 0x0938,
	      0x0915, 0x0924, 0x0947, 0x0939, 0x0948, 0x0902 } },
	{ "(G)", "n8jok5ay5dzabd5bym9f0cm5685rrjetr6pdxa", 18,
	    { 0x306a, 0x305c, 0x307f, 0x3093, 0x306a, 0x65e5, 0x672c, 0x8a9e,
	      0x3092, 0x8a71, 0x3057, 0x3066, 0x304f, 0x308c, 0x306a, 0x3044,
	      0x306e, 0x304b } },
	{ "(H)", "989aomsvi5e83db1d2a355cv1e0vak1dwrv93d5xbh15a0dt30a5jpsd879ccm6fea98c", 24,
	    { 0xc138, 0xacc4, 0xc758, 0xbaa8, 0xb4e0, 0xc0ac, 0xb78c, 0xb4e4,
	      0xc774, 0xd55c, 0xad6d, 0xc5b4, 0xb97c, 0xc774, 0xd574, 0xd55c,
	      0xb2e4, 0xba74, 0xc5bc, 0xb9c8, 0xb098, 0xc88b, 0xc744, 0xae4c } },
	{ "(I)", "b1abfaaepdrnnbgefbadotcwatmq2g4l", 28,
	    { 0x043f, 0x043e, 0x0447, 0x0435, 0x043c, 0x0443, 0x0436, 0x0435,
	      0x043e, 0x043d, 0x0438, 0x043d, 0x0435, 0x0433, 0x043e, 0x0432,
	      0x043e, 0x0440, 0x044f, 0x0442, 0x043f, 0x043e, 0x0440, 0x0443,
	      0x0441, 0x0441, 0x043a, 0x0438 } },
	{ "(J)", "PorqunopuedensimplementehablarenEspaol-fmd56a", 40,
	    { 0x0050, 0x006f, 0x0072, 0x0071, 0x0075, 0x00e9, 0x006e, 0x006f,
	      0x0070, 0x0075, 0x0065, 0x0064, 0x0065, 0x006e, 0x0073, 0x0069,
	      0x006d, 0x0070, 0x006c, 0x0065, 0x006d, 0x0065, 0x006e, 0x0074,
	      0x0065, 0x0068, 0x0061, 0x0062, 0x006c, 0x0061, 0x0072, 0x0065,
	      0x006e, 0x0045, 0x0073, 0x0070, 0x0061, 0x00f1, 0x006f, 0x006c } },
	{ "(K)", "TisaohkhngthchnitingVit-kjcr8268qyxafd2f1b9g", 31,
	    { 0x0054, 0x1ea1, 0x0069, 0x0073, 0x0061, 0x006f, 0x0068, 0x1ecd,
	      0x006b, 0x0068, 0x00f4, 0x006e, 0x0067, 0x0074, 0x0068, 0x1ec3,
	      0x0063, 0x0068, 0x1ec9, 0x006e, 0x00f3, 0x0069, 0x0074, 0x0069,
	      0x1ebf, 0x006e, 0x0067, 0x0056, 0x0069, 0x1ec7, 0x0074 } },
	{ "(L)", "3B-ww4c5e180e575a65lsy2b", 8,
	    { 0x0033, 0x5e74, 0x0042, 0x7d44, 0x91d1, 0x516b, 0x5148, 0x751f } },
	{ "(M)", "-with-SUPER-MONKEYS-pc58ag80a8qai00g7n9n", 24,
	    { 0x5b89, 0x5ba4, 0x5948, 0x7f8e, 0x6075, 0x002d, 0x0077, 0x0069,
	      0x0074, 0x0068, 0x002d, 0x0053, 0x0055, 0x0050, 0x0045, 0x0052,
	      0x002d, 0x004d, 0x004f, 0x004e, 0x004b, 0x0045, 0x0059, 0x0053 } },
	{ "(N)", "Hello-Another-Way--fc4qua05auwb3674vfr0b", 25,
	    { 0x0048, 0x0065, 0x006c, 0x006c, 0x006f, 0x002d, 0x0041, 0x006e,
	      0x006f, 0x0074, 0x0068, 0x0065, 0x0072, 0x002d, 0x0057, 0x0061,
	      0x0079, 0x002d, 0x305d, 0x308c, 0x305e, 0x308c, 0x306e, 0x5834,
	      0x6240 } },
	{ "(O)", "2-u9tlzr9756bt3uc0v", 8,
	    { 0x3072, 0x3068, 0x3064, 0x5c4b, 0x6839, 0x306e, 0x4e0b, 0x0032 } },
	{ "(P)", "MajiKoi5-783gue6qz075azm5e", 13,
	    { 0x004d, 0x0061, 0x006a, 0x0069, 0x3067, 0x004b, 0x006f, 0x0069,
	      0x3059, 0x308b, 0x0035, 0x79d2, 0x524d } },
	{ "(Q)", "de-jg4avhby1noc0d", 9,
	    { 0x30d1, 0x30d5, 0x30a3, 0x30fc, 0x0064, 0x0065, 0x30eb, 0x30f3,
	      0x30d0 } },
	{ "(R)", "d9juau41awczczp", 7,
	    { 0x305d, 0x306e, 0x30b9, 0x30d4, 0x30fc, 0x30c9, 0x3067 } },
	{ "(S)", "-> $1.00 <--", 11,
	    { 0x002d, 0x003e, 0x0020, 0x0024, 0x0031, 0x002e, 0x0030, 0x0030,
	      0x0020, 0x003c, 0x002d } },
};

static const struct idna_case idnas[] = {
	{ "b\xc3\xbc" "cher.example", "xn--bcher-kva.example" },
	{ "xn--bcher-kva.example", "xn--bcher-kva.example" },
	{ "XN--BCHER-KVA.EXAMPLE", "xn--bcher-kva.example" },
	{ "B\xc3\xbc" "cher.Example", "xn--bcher-kva.example" },
	/* Non-ASCII letters are not case-mapped: \xc3\x9c is U+00DC. */
	{ "b\xc3\x9c" "cher.example", "xn--bcher-2pa.example" },
	{ "example.org", "example.org" },
	{ "\xe2\x98\x83.example", "xn--n3h.example" },
	/* An xn-- label must decode, to something not pure ASCII. */
	{ "xn--abc-.example", NULL },
	{ "xn--.example", NULL },
	{ "xn--99999a.example", NULL },		/* U+48A3C1 */
	{ "xn--9999999999a.example", NULL },	/* past 2^32: 6.4 */
	{ "xn--99999999999.example", NULL },	/* ends in mid-number */
	{ "xn--bcher-kva-.example", NULL },
	{ "xn--b\xc3\xbc" "cher.example", NULL },
	/* U-labels: UTF-8 well formed, ASCII only LDH, hyphens inside. */
	{ "b\xc3" "cher.example", NULL },
	{ "b\xc3\xbc_cher.example", NULL },
	{ "-b\xc3\xbc" "cher.example", NULL },
	{ "ab--\xc3\xbc.example", NULL },
	{ "\xed\xa0\x80.example", NULL },
	/* The same rules for what an A-label decodes to: "ab--\xc3\xbc",
	 * and U+0080, a C1 control, as A-label and as U-label. */
	{ "xn--ab---3ra.example", NULL },
	{ "xn--a.example", NULL },
	{ "\xc2\x80.example", NULL },
	{ "\xc2\x9f.example", NULL },
	{ "\xc2\xa1.example", "xn--7a.example" },
	/* No trailing dot, no root. */
	{ "example.org.", NULL },
	{ ".", NULL },
	/* Empty labels; 63 octets a label and 253 a domain, as A-labels. */
	{ "example..org", NULL },
	{ ".example", NULL },
	{ "", NULL },
	{ D63 ".example", D63 ".example" },
	{ D63 "d.example", NULL },
	{ D189 "." D63, D189 "." D63 },
	{ D189 "." D63 "d", NULL },
	/* "xn--" and 59 octets of Punycode is the longest U-label. */
	{ "\xc3\xbc" D56 ".example", NULL },
	{ "\xc3\xbc" D55 ".example", "xn--" D55 "-oxf.example" },
	/* 60 octets as written, 64 as an A-label. */
	{ U60 ".example", NULL },
	/* 231 octets as written: 253 or 255 as A-labels. */
	{ U57 "." U57 "." U57 "." D61, A63 "." A63 "." A63 "." D61 },
	{ U57 "." U57 "." U57 "." U57, NULL },
};

static int	 check_path(const struct path_case *);
static int	 check_puny(const struct puny_case *);
static int	 check_idna(const struct idna_case *);

int
main(void)
{
	size_t	 i, n = 0, bad = 0;
	int	 r;

	printf("1..%zu\n", sizeof(paths) / sizeof(paths[0]) +
	    sizeof(helos) / sizeof(helos[0]) + sizeof(punys) / sizeof(punys[0]) +
	    sizeof(idnas) / sizeof(idnas[0]));
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		n++;
		if ((r = check_path(&paths[i])) == -1)
			bad++;
		printf("%sok %zu - path %.60s\n", r == -1 ? "not " : "", n,
		    paths[i].in);
	}
	for (i = 0; i < sizeof(helos) / sizeof(helos[0]); i++) {
		n++;
		if (addr_helo_is_domain(helos[i].in) != helos[i].ok) {
			bad++;
			printf("not ");
		}
		printf("ok %zu - helo %.60s is%s a domain\n", n, helos[i].in,
		    helos[i].ok ? "" : " not");
	}
	for (i = 0; i < sizeof(punys) / sizeof(punys[0]); i++) {
		n++;
		if ((r = check_puny(&punys[i])) == -1)
			bad++;
		printf("%sok %zu - punycode RFC 3492 7.1 %s\n",
		    r == -1 ? "not " : "", n, punys[i].name);
	}
	for (i = 0; i < sizeof(idnas) / sizeof(idnas[0]); i++) {
		n++;
		if ((r = check_idna(&idnas[i])) == -1)
			bad++;
		printf("%sok %zu - idna %.60s\n", r == -1 ? "not " : "", n,
		    idnas[i].in);
	}
	return bad == 0 ? 0 : 1;
}

/*
 * check_path - one case: 0 when addr_parse_path() agrees with it, else
 * -1 with what it said on stderr.
 */
static int
check_path(const struct path_case *c)
{
	struct addr_path	 pa;
	const char		*end = NULL;
	int			 r;

	r = addr_parse_path(c->in, &pa, c->flags, &end);
	if (c->ok && r == 0 && strcmp(pa.local, c->local) == 0 &&
	    strcmp(pa.domain, c->domain) == 0 &&
	    pa.nonascii == c->nonascii && strcmp(end, c->rest_or_why) == 0)
		return 0;
	if (!c->ok && r == -1 && pa.why != NULL &&
	    strcmp(pa.why, c->rest_or_why) == 0 && pa.local[0] == '\0')
		return 0;
	fprintf(stderr, "# %s: r=%d local=\"%s\" domain=\"%s\" nonascii=%d "
	    "why=%s\n", c->in, r, pa.local, pa.domain, pa.nonascii,
	    pa.why ? pa.why : "-");
	return -1;
}

/*
 * check_puny - one RFC 3492 sample, both ways; and each buffer one
 * short of the need is refused, not overrun.
 */
static int
check_puny(const struct puny_case *c)
{
	char		 enc[128];
	uint32_t	 dec[48];
	size_t		 nenc = sizeof(enc), ndec = 48, len = strlen(c->puny);

	if (punycode_encode(c->cp, c->n, enc, &nenc) == -1 || nenc != len ||
	    memcmp(enc, c->puny, len) != 0) {
		fprintf(stderr, "# %s: encode gave %.*s\n", c->name,
		    (int)nenc, enc);
		return -1;
	}
	if (punycode_decode(c->puny, len, dec, &ndec) == -1 || ndec != c->n ||
	    memcmp(dec, c->cp, c->n * sizeof(dec[0])) != 0) {
		fprintf(stderr, "# %s: decode failed\n", c->name);
		return -1;
	}
	nenc = len - 1;
	ndec = c->n - 1;
	if (punycode_encode(c->cp, c->n, enc, &nenc) != -1 ||
	    punycode_decode(c->puny, len, dec, &ndec) != -1) {
		fprintf(stderr, "# %s: a short buffer was not refused\n",
		    c->name);
		return -1;
	}
	return 0;
}

/*
 * check_idna - one domain through idna_domain().
 */
static int
check_idna(const struct idna_case *c)
{
	char	 out[ADDR_DOMAIN_MAX + 1];
	int	 r;

	r = idna_domain(c->in, out, sizeof(out));
	if (c->out == NULL ? r == -1 : r == 0 && strcmp(out, c->out) == 0)
		return 0;
	fprintf(stderr, "# %s: r=%d out=\"%s\"\n", c->in, r,
	    r == 0 ? out : "");
	return -1;
}
