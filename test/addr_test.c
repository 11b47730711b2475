/*
 * test/addr_test.c - the address grammar (addr.c), case by case: valid
 * and invalid paths, the limits of RFC 5321 4.5.3.1 at and past their
 * edges, quoted local parts, source routes, address literals and the
 * UTF-8 of RFC 6531; then HELO names for Received:.  No process, no
 * socket: a table through the functions.  Prints TAP; exits 1 on any
 * failure.  make test builds it; test/addr.bats runs it.
 */
#include <stdio.h>
#include <string.h>

#include "../addr.h"

/* 64 octets of local part; 63-octet labels making a 189-octet domain. */
#define L64	"llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllll"
#define D63	"ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
#define D61	"ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
#define D189	D63 "." D63 "." D61

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
	    "b\xc3\xbc" "cher.example", 1, "" },
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

static int	 check_path(const struct path_case *);

int
main(void)
{
	size_t	 i, n = 0, bad = 0;
	int	 r;

	printf("1..%zu\n", sizeof(paths) / sizeof(paths[0]) +
	    sizeof(helos) / sizeof(helos[0]));
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
