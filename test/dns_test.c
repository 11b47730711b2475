/*
 * test/dns_test.c - dns_parse() (dns.c) at every edge of a reply that
 * test/dnsd does not misbehave at: a record ending exactly at the end of
 * the reply and one octet past it, counts the reply does not hold,
 * compression pointers forward, to themselves and into the header,
 * label types 0x40 and 0x80, names of 255 and 256 octets, RDATA of the
 * wrong length, TXT strings ending at and past their record, names that
 * do not end with their RDATA, 32 and 33 records, 8 and 9 CNAMEs, and
 * the escaping of odd octets in names; queries with escapes, NUL
 * octets and labels of 63 and 64; records of other classes and names,
 * a CNAME loop, TXT records of empty and many strings, a chain of 127
 * and 128 pointers.  Replies are
 * built here, each in a buffer of exactly its size (the sanitizers see
 * a read past it).  One socket: a UDP server on loopback that never
 * answers, asked while signals interrupt poll().  Prints TAP; exits 1 on any failure.  make test builds it;
 * test/dns.bats runs it.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../dns.h"
#include "../now.h"

#define ID	0x1234

struct msg {
	unsigned char	 b[70000];
	size_t		 n;
};

static struct dns_answer	 ans;
static int			 tests, failed;

static void
put(struct msg *m, const void *p, size_t n)
{
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

static void
u8(struct msg *m, unsigned v)
{
	m->b[m->n++] = v;
}

static void
u16(struct msg *m, unsigned v)
{
	u8(m, v >> 8);
	u8(m, v & 0xff);
}

/* labels, uncompressed; "" is the root */
static void
name(struct msg *m, const char *s)
{
	const char	*dot;
	size_t		 n;

	while (*s != '\0') {
		dot = strchr(s, '.');
		n = dot ? (size_t)(dot - s) : strlen(s);
		u8(m, n);
		put(m, s, n);
		s += n + (dot != NULL);
	}
	u8(m, 0);
}

/* a reply's header and the question "example.org" type (offset 12) */
static void
head(struct msg *m, unsigned flags, unsigned an, int type)
{
	m->n = 0;
	u16(m, ID);
	u16(m, flags);
	u16(m, 1);
	u16(m, an);
	u16(m, 0);
	u16(m, 0);
	name(m, "example.org");
	u16(m, type);
	u16(m, 1);
}

/* a record's fixed part after its owner */
static void
rr(struct msg *m, int type, unsigned rdlen)
{
	u16(m, type);
	u16(m, 1);
	u16(m, 0);
	u16(m, 300);
	u16(m, rdlen);
}

/* an A record owned by the question's name (a pointer to it) */
static void
a_rr(struct msg *m, unsigned last)
{
	u16(m, 0xc00c);
	rr(m, DNS_A, 4);
	u8(m, 192);
	u8(m, 0);
	u8(m, 2);
	u8(m, last);
}

/*
 * parse - m, cut to len octets (0: all), in a buffer of exactly that
 * size.
 */
static int
parse(const struct msg *m, size_t len, const char *q, int type)
{
	unsigned char	*copy;
	int		 rc;

	if (len == 0)
		len = m->n;
	if ((copy = malloc(len)) == NULL)
		abort();
	memcpy(copy, m->b, len);
	rc = dns_parse(copy, len, ID, q, type, &ans);
	free(copy);
	return rc;
}

static void
ok(int cond, const char *what)
{
	tests++;
	if (!cond)
		failed++;
	printf("%s %d - %s", cond ? "ok" : "not ok", tests, what);
	if (!cond)
		printf(" (status %s, nrr %zu, why %s)",
		    dns_status_text(ans.status), ans.nrr,
		    ans.why ? ans.why : "-");
	printf("\n");
}

static int
malformed(const char *why)
{
	return ans.status == DNS_MALFORMED && ans.why != NULL &&
	    strstr(ans.why, why) != NULL;
}

static void
lengths(void)
{
	static struct msg	 m;

	head(&m, 0x8180, 1, DNS_A);
	a_rr(&m, 1);
	ok(parse(&m, 0, "example.org", DNS_A) == 0 && ans.status == DNS_OK &&
	    ans.nrr == 1 && memcmp(ans.rr[0].addr, "\xc0\x00\x02\x01", 4) ==
	    0 && ans.rr[0].ttl == 300, "an A record ending at the end");
	ok(parse(&m, m.n - 1, "example.org", DNS_A) == 0 &&
	    malformed("past the end"), "one octet short: past the end");
	ok(parse(&m, 11, "example.org", DNS_A) == -1 &&
	    malformed("shorter than its header"), "shorter than a header");
	head(&m, 0x8180, 2, DNS_A);
	a_rr(&m, 1);
	ok(parse(&m, 0, "example.org", DNS_A) == 0 && malformed("past the "
	    "end"), "ANCOUNT 2 with one record");
	head(&m, 0x8180, 1, DNS_A);
	u16(&m, 0xc00c);
	rr(&m, DNS_A, 5);
	put(&m, "\xc0\x00\x02\x01\x00", 5);
	ok(parse(&m, 0, "example.org", DNS_A) == 0 && malformed("address "
	    "record of the wrong length"), "an A record of 5 octets");
	head(&m, 0x8180, 1, DNS_AAAA);
	u16(&m, 0xc00c);
	rr(&m, DNS_AAAA, 4);
	put(&m, "\xc0\x00\x02\x01", 4);
	ok(parse(&m, 0, "example.org", DNS_AAAA) == 0 &&
	    malformed("wrong length"), "an AAAA record of 4 octets");
}

static void
pointers(void)
{
	static struct msg	 m;
	size_t			 at;

	head(&m, 0x8180, 1, DNS_A);
	at = m.n;
	u16(&m, 0xc000 | at);				/* to itself */
	rr(&m, DNS_A, 4);
	put(&m, "\1\2\3\4", 4);
	ok(parse(&m, 0, "example.org", DNS_A) == 0 &&
	    malformed("malformed name"), "a pointer to itself");
	head(&m, 0x8180, 1, DNS_A);
	at = m.n;
	u16(&m, 0xc000 | (at + 2));			/* forward */
	u16(&m, 0xc00c);
	rr(&m, DNS_A, 4);
	put(&m, "\1\2\3\4", 4);
	ok(parse(&m, 0, "example.org", DNS_A) == 0 &&
	    malformed("malformed name"), "a pointer forward");
	head(&m, 0x8180, 1, DNS_A);
	u16(&m, 0xc004);				/* into the header */
	rr(&m, DNS_A, 4);
	put(&m, "\1\2\3\4", 4);
	ok(parse(&m, 0, "example.org", DNS_A) == 0 &&
	    malformed("malformed name"), "a pointer into the header");
	/* "mx" then a pointer to the question: mx.example.org. */
	head(&m, 0x8180, 1, DNS_MX);
	u16(&m, 0xc00c);
	rr(&m, DNS_MX, 2 + 3 + 2);
	u16(&m, 10);
	put(&m, "\2mx\xc0\x0c", 5);
	ok(parse(&m, 0, "example.org", DNS_MX) == 0 && ans.status == DNS_OK &&
	    ans.rr[0].pref == 10 && strcmp(ans.rr[0].name,
	    "mx.example.org") == 0, "an MX name compressed to the question");
	/* The same, its RDLENGTH one longer: the name ends before it. */
	m.b[m.n - 8] = 8;
	u8(&m, 0);
	ok(parse(&m, 0, "example.org", DNS_MX) == 0 &&
	    malformed("does not end with it"), "an MX name short of its "
	    "RDATA");
	head(&m, 0x8180, 1, DNS_A);
	put(&m, "\x40", 1);				/* label type 01 */
	u8(&m, 0);
	rr(&m, DNS_A, 4);
	put(&m, "\1\2\3\4", 4);
	ok(parse(&m, 0, "example.org", DNS_A) == 0 &&
	    malformed("malformed name"), "a label type 0x40");
	m.b[m.n - 16] = 0x80;
	ok(parse(&m, 0, "example.org", DNS_A) == 0 &&
	    malformed("malformed name"), "a label type 0x80");
}

static void
long_names(void)
{
	static struct msg	 m;
	char			 q[300], l63[64];

	/* 63+1 + 63+1 + 63+1 + 61+1 + 1 = 255 octets on the wire. */
	memset(l63, 'a', 63);
	l63[63] = '\0';
	snprintf(q, sizeof(q), "%s.%s.%s.%.61s", l63, l63, l63, l63);
	m.n = 0;
	u16(&m, ID);
	u16(&m, 0x8180);
	u16(&m, 1);
	u16(&m, 0);
	u16(&m, 0);
	u16(&m, 0);
	name(&m, q);
	u16(&m, DNS_A);
	u16(&m, 1);
	ok(parse(&m, 0, q, DNS_A) == 0 && ans.status == DNS_NODATA,
	    "a name of 255 octets");
	snprintf(q, sizeof(q), "%s.%s.%s.%.62s", l63, l63, l63, l63);
	ok(dns_make_query(m.b, sizeof(m.b), ID, q, DNS_A) == 0,
	    "a name of 256 octets cannot be asked");
	m.n = 0;
	u16(&m, ID);
	u16(&m, 0x8180);
	u16(&m, 1);
	u16(&m, 0);
	u16(&m, 0);
	u16(&m, 0);
	name(&m, q);
	u16(&m, DNS_A);
	u16(&m, 1);
	ok(parse(&m, 0, q, DNS_A) == -1, "a question of 256 octets is "
	    "refused");
}

static void
txt(void)
{
	static struct msg	 m;

	head(&m, 0x8180, 1, DNS_TXT);
	u16(&m, 0xc00c);
	rr(&m, DNS_TXT, 6);
	put(&m, "\2ab\2c\0", 6);
	ok(parse(&m, 0, "example.org", DNS_TXT) == 0 &&
	    ans.status == DNS_OK && ans.rr[0].txtlen == 4 &&
	    memcmp(ans.text + ans.rr[0].txtoff, "abc\0", 4) == 0,
	    "TXT strings ending at the RDATA, joined, a NUL kept");
	m.b[m.n - 3] = 3;
	ok(parse(&m, 0, "example.org", DNS_TXT) == 0 &&
	    malformed("past its record"), "a TXT string one past its RDATA");
	head(&m, 0x8180, 1, DNS_TXT);
	u16(&m, 0xc00c);
	rr(&m, DNS_TXT, 0);
	ok(parse(&m, 0, "example.org", DNS_TXT) == 0 &&
	    malformed("without a string"), "a TXT record of no octet");
}

static void
counts(void)
{
	static struct msg	 m;
	int			 i;

	head(&m, 0x8180, 33, DNS_A);
	for (i = 0; i < 33; i++)
		a_rr(&m, i);
	ok(parse(&m, 0, "example.org", DNS_A) == 0 && ans.status == DNS_OK &&
	    ans.nrr == DNS_MAXRR && ans.more && ans.rr[31].addr[3] == 31,
	    "33 records: 32 kept, more said");
	head(&m, 0x8180, 32, DNS_A);
	for (i = 0; i < 32; i++)
		a_rr(&m, i);
	ok(parse(&m, 0, "example.org", DNS_A) == 0 && ans.nrr == 32 &&
	    !ans.more, "32 records: all kept");
}

/* a chain of n CNAMEs from example.org to c<n>.example.org, then an A */
static void
chain(struct msg *m, int n)
{
	char	 from[32], to[32];
	int	 i;

	head(m, 0x8180, n + 1, DNS_A);
	for (i = 0; i < n; i++) {
		snprintf(from, sizeof(from), i ? "c%d.example.org" :
		    "example.org", i);
		snprintf(to, sizeof(to), "c%d.example.org", i + 1);
		name(m, from);
		rr(m, DNS_CNAME, strlen(to) + 2);
		name(m, to);
	}
	name(m, to);
	rr(m, DNS_A, 4);
	put(m, "\1\2\3\4", 4);
}

static void
cnames(void)
{
	static struct msg	 m;

	chain(&m, 8);
	ok(parse(&m, 0, "example.org", DNS_A) == 0 && ans.status == DNS_OK &&
	    strcmp(ans.name, "c8.example.org") == 0, "8 CNAMEs followed");
	chain(&m, 9);
	ok(parse(&m, 0, "example.org", DNS_A) == 0 &&
	    malformed("more than 8 CNAMEs"), "9 CNAMEs refused");
}

static void
header(void)
{
	static struct msg	 m;

	head(&m, 0x8180, 0, DNS_A);
	m.b[13] = 'E';					/* Example */
	ok(parse(&m, 0, "example.org", DNS_A) == 0 &&
	    ans.status == DNS_NODATA, "the question echoed in another case");
	ok(parse(&m, 0, "example.org", DNS_MX) == -1 &&
	    strstr(ans.why, "another question") != NULL,
	    "a reply to another type");
	m.b[0] ^= 1;
	ok(parse(&m, 0, "example.org", DNS_A) == -1, "another id");
	head(&m, 0x0180, 0, DNS_A);
	ok(parse(&m, 0, "example.org", DNS_A) == -1, "not QR");
	head(&m, 0x8380, 0, DNS_A);
	ok(parse(&m, 0, "example.org", DNS_A) == 1, "TC");
	head(&m, 0x8183, 0, DNS_A);
	ok(parse(&m, 0, "example.org", DNS_A) == 0 &&
	    ans.status == DNS_NXDOMAIN, "RCODE 3: NXDOMAIN");
	head(&m, 0x8185, 0, DNS_A);
	ok(parse(&m, 0, "example.org", DNS_A) == 0 &&
	    ans.status == DNS_SERVFAIL && ans.rcode == 5,
	    "RCODE 5: a failure, with its RCODE");
}

static void
escapes(void)
{
	static struct msg	 m;

	head(&m, 0x8180, 1, DNS_PTR);
	u16(&m, 0xc00c);
	rr(&m, DNS_PTR, 8);
	put(&m, "\6a.b c\"\0", 8);
	ok(parse(&m, 0, "example.org", DNS_PTR) == 0 &&
	    ans.status == DNS_OK && strcmp(ans.rr[0].name,
	    "a\\.b\\032c\\\"") == 0, "a dot, a space and a quote in a "
	    "label, escaped");
}

/* the question's name on the wire of a query for name, or "" */
static int
query_is(const char *q, const void *wire, size_t n)
{
	unsigned char	 b[600];
	size_t		 len;

	len = dns_make_query(b, sizeof(b), ID, q, DNS_A);
	return len == 12 + n + 4 && memcmp(b + 12, wire, n) == 0;
}

static void
queries(void)
{
	unsigned char	 b[600];
	char		 q[300], l64[65];

	ok(query_is("example.org", "\7example\3org", 13) &&
	    query_is("example.org.", "\7example\3org", 13),
	    "a query with or without the final dot");
	ok(query_is("a\\.b.org", "\3a.b\3org", 9), "\\. is a dot in a label");
	ok(query_is("a\\000b.org", "\3a\0b\3org", 9) &&
	    query_is("a\\\"\\010\\;.org", "\4a\"\n;\3org", 10),
	    "\\DDD and \\X are the octets they name");
	ok(query_is(".", "", 1), "the root");
	memset(l64, 'a', 64);
	l64[64] = '\0';
	snprintf(q, sizeof(q), "%.63s.org", l64);
	ok(dns_make_query(b, sizeof(b), ID, q, DNS_A) == 12 + 1 + 63 + 5 + 4,
	    "a label of 63 octets");
	snprintf(q, sizeof(q), "%s.org", l64);
	ok(dns_make_query(b, sizeof(b), ID, q, DNS_A) == 0,
	    "a label of 64 octets cannot be asked");
	snprintf(q, sizeof(q), "%.62s\\097.org", l64);
	ok(dns_make_query(b, sizeof(b), ID, q, DNS_A) != 0 &&
	    (snprintf(q, sizeof(q), "%.63s\\097.org", l64),
	    dns_make_query(b, sizeof(b), ID, q, DNS_A) == 0),
	    "an escape counts as one octet of its label");
	ok(dns_make_query(b, sizeof(b), ID, "", DNS_A) == 0 &&
	    dns_make_query(b, sizeof(b), ID, "a..org", DNS_A) == 0 &&
	    dns_make_query(b, sizeof(b), ID, ".org", DNS_A) == 0 &&
	    dns_make_query(b, sizeof(b), ID, "org\\", DNS_A) == 0 &&
	    dns_make_query(b, sizeof(b), ID, "a\\256.org", DNS_A) == 0 &&
	    dns_make_query(b, sizeof(b), ID, "a\\25.org", DNS_A) == 0,
	    "an empty name or label, a lone backslash, a bad \\DDD");
	ok(dns_name_equal("A\\.b.Example.ORG.", "a\\046B.example.org") &&
	    !dns_name_equal("a\\.b.example.org", "a.b.example.org") &&
	    !dns_name_equal("\\197.org", "\\229.org"),
	    "names compare by their octets, ASCII case aside only");
}

/* a reply to "a\.b.example.org" PTR, as labels, with a PTR of target */
static void
escaped(void)
{
	static struct msg	 m;
	unsigned char		 b[600];
	size_t			 len;

	m.n = 0;
	u16(&m, ID);
	u16(&m, 0x8180);
	u16(&m, 1);
	u16(&m, 1);
	u16(&m, 0);
	u16(&m, 0);
	put(&m, "\3A.B\7example\3org", 16);
	u8(&m, 0);
	u16(&m, DNS_PTR);
	u16(&m, 1);
	u16(&m, 0xc00c);
	rr(&m, DNS_PTR, 15);
	put(&m, "\11we\"ird\n\0;\3org", 14);
	u8(&m, 0);
	ok(parse(&m, 0, "a\\.b.example.org", DNS_PTR) == 0 &&
	    ans.status == DNS_OK && strcmp(ans.name,
	    "a\\.b.example.org") == 0 && strcmp(ans.rr[0].name,
	    "we\\\"ird\\010\\000\\;.org") == 0,
	    "a question and a target with odd octets, escaped");
	len = dns_make_query(b, sizeof(b), ID, ans.rr[0].name, DNS_A);
	ok(len == 12 + 15 + 4 && memcmp(b + 12, "\11we\"ird\n\0;\3org", 15) ==
	    0, "a target asked again is the same octets");
	ok(parse(&m, 0, "a.b.example.org", DNS_PTR) == -1,
	    "a\\.b is not a.b");
}

/* records the answer does not take: other classes, other owners */
static void
others(void)
{
	static struct msg	 m;

	head(&m, 0x8180, 3, DNS_A);
	u16(&m, 0xc00c);
	u16(&m, DNS_A);
	u16(&m, 3);					/* CH */
	u16(&m, 0);
	u16(&m, 300);
	u16(&m, 4);
	put(&m, "\1\2\3\4", 4);
	name(&m, "other.example.org");
	rr(&m, DNS_A, 4);
	put(&m, "\1\2\3\5", 4);
	name(&m, "ORG");
	rr(&m, DNS_A, 4);
	put(&m, "\1\2\3\6", 4);
	ok(parse(&m, 0, "example.org", DNS_A) == 0 &&
	    ans.status == DNS_NODATA, "records of class CH and of other "
	    "names are not the answer");
	head(&m, 0x8180, 0, DNS_A);
	m.b[m.n - 1] = 3;				/* QCLASS CH */
	ok(parse(&m, 0, "example.org", DNS_A) == -1 &&
	    strstr(ans.why, "another question") != NULL,
	    "a reply to a question of class CH");
	head(&m, 0x8180, 1, DNS_A);
	u16(&m, 0xc00c);
	u16(&m, DNS_A);
	u16(&m, 1);
	u16(&m, 0x8000);				/* TTL 2^31 */
	u16(&m, 0);
	u16(&m, 4);
	put(&m, "\1\2\3\4", 4);
	ok(parse(&m, 0, "example.org", DNS_A) == 0 && ans.status == DNS_OK &&
	    ans.rr[0].ttl == 0, "a TTL with its top bit set is zero "
	    "(RFC 2181 8)");
}

/* an A record of a name off the CNAME chain, and a CNAME loop */
static void
chains(void)
{
	static struct msg	 m;

	head(&m, 0x8180, 3, DNS_A);
	u16(&m, 0xc00c);
	rr(&m, DNS_CNAME, 5);
	put(&m, "\2c1\xc0\x0c", 5);			/* c1.example.org */
	name(&m, "c2.example.org");
	rr(&m, DNS_A, 4);
	put(&m, "\1\2\3\4", 4);
	name(&m, "C1.example.org");
	rr(&m, DNS_A, 4);
	put(&m, "\1\2\3\5", 4);
	ok(parse(&m, 0, "example.org", DNS_A) == 0 && ans.status == DNS_OK &&
	    ans.nrr == 1 && ans.rr[0].addr[3] == 5 &&
	    strcmp(ans.name, "c1.example.org") == 0,
	    "only the records of the end of the CNAME chain");
	head(&m, 0x8180, 2, DNS_A);
	u16(&m, 0xc00c);
	rr(&m, DNS_CNAME, 5);
	put(&m, "\2c1\xc0\x0c", 5);
	u16(&m, 0xc000 | 41);				/* c1.example.org */
	rr(&m, DNS_CNAME, 2);
	u16(&m, 0xc00c);				/* example.org */
	ok(parse(&m, 0, "example.org", DNS_A) == 0 &&
	    malformed("more than 8 CNAMEs"), "a CNAME loop ends");
}

/* a name over 255 octets made with a pointer; TXT of odd shapes */
static void
shapes(void)
{
	static struct msg	 m;
	char			 l63[64];
	int			 i;

	memset(l63, 'a', 63);
	l63[63] = '\0';
	head(&m, 0x8180, 1, DNS_PTR);
	u16(&m, 0xc00c);
	rr(&m, DNS_PTR, 4 * 64 + 2);
	for (i = 0; i < 4; i++) {			/* 256 + 13 octets */
		u8(&m, 63);
		put(&m, l63, 63);
	}
	u16(&m, 0xc00c);
	ok(parse(&m, 0, "example.org", DNS_PTR) == 0 &&
	    malformed("malformed"), "a name over 255 octets through a "
	    "pointer");
	head(&m, 0x8180, 1, DNS_TXT);
	u16(&m, 0xc00c);
	rr(&m, DNS_TXT, 1);
	u8(&m, 0);
	ok(parse(&m, 0, "example.org", DNS_TXT) == 0 && ans.status == DNS_OK &&
	    ans.nrr == 1 && ans.rr[0].txtlen == 0, "a TXT of one empty string");
	head(&m, 0x8180, 1, DNS_TXT);
	u16(&m, 0xc00c);
	rr(&m, DNS_TXT, 300);
	for (i = 0; i < 100; i++)
		put(&m, "\0\1x", 3);
	ok(parse(&m, 0, "example.org", DNS_TXT) == 0 && ans.status == DNS_OK &&
	    ans.rr[0].txtlen == 100, "a TXT of 200 strings, half of them "
	    "empty");
}

static volatile sig_atomic_t	 ticks;

static void
tick(int sig)
{
	(void)sig;
	ticks++;
}

/*
 * silent - a UDP server on loopback that never answers, while a signal
 * comes every 20 ms (no SA_RESTART: poll() fails with EINTR): the
 * query ends at its deadline, not later, not sooner, having been sent
 * three times.
 */
static void
silent(void)
{
	struct sockaddr_in	 sin;
	struct sigaction	 sa;
	struct itimerval	 it;
	struct dns_server	 srv;
	socklen_t		 len = sizeof(sin);
	unsigned char		 b[600];
	const char		*why;
	char			 port[8];
	long long		 t0, ms;
	int			 fd, n = 0;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1) {
		perror("dns_test: socket");
		exit(1);
	}
	snprintf(port, sizeof(port), "%u", ntohs(sin.sin_port));
	if (dns_server(&srv, "127.0.0.1", port, &why) == -1)
		abort();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = tick;
	sigemptyset(&sa.sa_mask);
	memset(&it, 0, sizeof(it));
	it.it_interval.tv_usec = it.it_value.tv_usec = 20000;
	if (sigaction(SIGALRM, &sa, NULL) == -1 ||
	    setitimer(ITIMER_REAL, &it, NULL) == -1)
		abort();
	t0 = now_ms();
	dns_query(&srv, "example.org", DNS_A, 600, &ans);
	ms = now_ms() - t0;
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	while (recv(fd, b, sizeof(b), MSG_DONTWAIT) > 0)
		n++;
	close(fd);
	printf("# silent: %lld ms, %d signals, %d datagrams\n", ms,
	    (int)ticks, n);
	ok(ans.status == DNS_TIMEOUT && ms >= 600 && ms < 900 && ticks > 10,
	    "signals while a server is silent: the deadline holds");
	ok(n == 3, "sent three times within the deadline");
}

/*
 * jumps - an A record whose owner is the end of a chain of n pointers,
 * each to the one before, the first to the question: the chain sits in
 * the RDATA of a record of type 99 before it.
 */
static void
jumps(struct msg *m, int n)
{
	size_t	 at;
	int	 i;

	head(m, 0x8180, 2, DNS_A);
	u16(m, 0xc00c);
	rr(m, 99, 2 * n);
	for (i = 0, at = 12; i < n; i++) {
		u16(m, 0xc000 | at);
		at = m->n - 2;
	}
	u16(m, 0xc000 | at);
	rr(m, DNS_A, 4);
	put(m, "\1\2\3\4", 4);
}

static void
chained(void)
{
	static struct msg	 m;

	jumps(&m, 126);				/* the owner's is the 127th */
	ok(parse(&m, 0, "example.org", DNS_A) == 0 && ans.status == DNS_OK,
	    "a name reached through 127 pointers");
	jumps(&m, 127);
	ok(parse(&m, 0, "example.org", DNS_A) == 0 &&
	    malformed("pointer loop or chain"), "through 128: refused");
}

int
main(void)
{
	lengths();
	pointers();
	long_names();
	txt();
	counts();
	cnames();
	header();
	escapes();
	queries();
	escaped();
	others();
	chains();
	shapes();
	chained();
	silent();
	printf("1..%d\n", tests);
	return failed ? 1 : 0;
}
