/*
 * fuzz/dns.c - libFuzzer target: dns_parse(), the parser of a resolver's
 * reply (dns.c), for each type smtpd asks.
 *
 * The first octet of the input picks a question from the table below
 * (a name and a type); the rest is the reply, as it came off the wire,
 * for a query with id 0x1234.  The seeds are replies test/dnsd gave to
 * those questions, well-formed and not.
 *
 * Besides what the sanitizers see (the reply is in a buffer of exactly
 * its size, so one octet read past it is a report), what is checked is
 * what dns.h promises:
 *
 *   - "not ours" (-1) only for a reply that is not to this question (too
 *     short, another id, not QR, another opcode, not one question, not
 *     this one); a reply whose header and question are exactly ours is
 *     never refused as not ours;
 *   - "truncated" (1) only with TC set;
 *   - an answer's status agrees with its RCODE and its records: DNS_OK
 *     with one record or more, none otherwise, never more than
 *     DNS_MAXRR; a refusal says why;
 *   - every name is NUL-terminated within DNS_NAMESZ and printable
 *     ASCII without spaces (escaped), and can be asked in turn (the
 *     escapes read back); no TTL over 2^31 - 1; every TXT lies within
 *     the text taken, which is never more than the reply; an address
 *     is found in the reply as it is;
 *   - the same reply parsed again gives the same answer.
 */
#define _GNU_SOURCE		/* memmem() */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../dns.h"
#include "fuzz.h"

#define ID	0x1234

static const struct {
	const char	*name;
	int		 type;
} questions[] = {
	{ "example.org", DNS_MX },
	{ "example.org", DNS_TXT },
	{ "mx.example.org", DNS_A },
	{ "mx.example.org", DNS_AAAA },
	{ "1.0.0.127.in-addr.arpa", DNS_PTR },
	{ "www.example.org", DNS_A },
	{ "www.example.org", DNS_CNAME },
	{ "a\\.B\\000.example.org", DNS_PTR },	/* escapes, a case */
};
#define NQUESTIONS	(sizeof(questions) / sizeof(questions[0]))

static struct dns_answer	 one, two;

static int	 ours(const unsigned char *, size_t, const char *, int);
static void	 check(const unsigned char *, size_t, int, int);
static void	 check_name(const unsigned char *, size_t, const char *);
static void	 check_same(const unsigned char *, size_t);
static void	 fail(const unsigned char *, size_t, const char *)
		    __attribute__((noreturn));

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_init();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *input, size_t size)
{
	unsigned char	*msg;
	size_t		 q, len;
	int		 rc, rc2;

	if (size < 1)
		return 0;
	q = input[0] % NQUESTIONS;
	len = size - 1;
	/* Exactly len octets, so that ASan sees a read past them. */
	if ((msg = malloc(len ? len : 1)) == NULL)
		fuzz_fail("out of memory");
	memcpy(msg, input + 1, len);
	rc = dns_parse(msg, len, ID, questions[q].name, questions[q].type,
	    &one);
	rc2 = dns_parse(msg, len, ID, questions[q].name, questions[q].type,
	    &two);
	if (rc != rc2)
		fail(msg, len, "parsed twice, two results");
	check(msg, len, (int)q, rc);
	check_same(msg, len);
	free(msg);
	return 0;
}

/*
 * ours - is the header and question exactly what a reply to our query
 * carries (QR set, opcode 0, one question, our question's octets)?
 */
static int
ours(const unsigned char *msg, size_t len, const char *name, int type)
{
	unsigned char	 query[512];
	size_t		 qlen;

	qlen = dns_make_query(query, sizeof(query), ID, name, type);
	if (qlen == 0 || len < qlen)
		return 0;
	return msg[0] == query[0] && msg[1] == query[1] &&
	    (msg[2] & 0x80) && (msg[2] & 0x78) == 0 &&
	    msg[4] == 0 && msg[5] == 1 &&
	    memcmp(msg + 12, query + 12, qlen - 12) == 0;
}

static void
check(const unsigned char *msg, size_t len, int q, int rc)
{
	const struct dns_rr	*rr;
	size_t			 i, n;
	int			 rcode, type = questions[q].type;

	if (rc != -1 && rc != 0 && rc != 1)
		fail(msg, len, "dns_parse() returned neither -1, 0 nor 1");
	if (rc == -1) {
		if (ours(msg, len, questions[q].name, type))
			fail(msg, len, "a reply to our question taken for "
			    "another's");
		if (one.why == NULL || one.nrr != 0)
			fail(msg, len, "not ours, without a reason, or with "
			    "records");
		return;
	}
	if (len < 12)
		fail(msg, len, "a reply shorter than a header taken");
	if (rc == 1) {
		if (!(msg[2] & 0x02))
			fail(msg, len, "truncated without TC");
		return;
	}
	if (msg[2] & 0x02)
		fail(msg, len, "TC set, yet parsed");
	rcode = msg[3] & 0x0f;
	if (one.rcode != rcode)
		fail(msg, len, "the RCODE is not the reply's");
	if (one.nrr > DNS_MAXRR || (one.more && one.nrr != DNS_MAXRR))
		fail(msg, len, "more records than the table");
	if ((one.status == DNS_OK) != (one.nrr > 0))
		fail(msg, len, "DNS_OK without records, or records without "
		    "DNS_OK");
	switch (one.status) {
	case DNS_OK:
	case DNS_NODATA:
		if (rcode != 0)
			fail(msg, len, "an answer from an error RCODE");
		break;
	case DNS_NXDOMAIN:
		if (rcode != 3)
			fail(msg, len, "NXDOMAIN without RCODE 3");
		break;
	case DNS_SERVFAIL:
		if (rcode == 0 || rcode == 3)
			fail(msg, len, "SERVFAIL from RCODE 0 or 3");
		break;
	case DNS_MALFORMED:
		if (one.why == NULL)
			fail(msg, len, "malformed, without a reason");
		break;
	default:
		fail(msg, len, "a status dns_parse() never gives");
	}
	if (one.textlen > len || one.textlen > sizeof(one.text))
		fail(msg, len, "more TXT text than the reply holds");
	check_name(msg, len, one.name);
	for (i = 0; i < one.nrr; i++) {
		rr = &one.rr[i];
		if (rr->ttl > 0x7fffffffU)
			fail(msg, len, "a TTL over 2^31 - 1 (RFC 2181 8)");
		switch (type) {
		case DNS_A:
		case DNS_AAAA:
			n = type == DNS_A ? 4 : 16;
			if (memmem(msg, len, rr->addr, n) == NULL)
				fail(msg, len, "an address not in the reply");
			break;
		case DNS_TXT:
			if (rr->txtoff > one.textlen ||
			    rr->txtlen > one.textlen - rr->txtoff)
				fail(msg, len, "a TXT record past the text");
			break;
		default:
			check_name(msg, len, rr->name);
		}
	}
}

/*
 * check_name - NUL-terminated within DNS_NAMESZ, printable, no space:
 * what the parser's escaping promises.
 */
static void
check_name(const unsigned char *msg, size_t len, const char *name)
{
	const char	*end = memchr(name, '\0', DNS_NAMESZ);
	const char	*p;
	unsigned char	 q[512];

	if (end == NULL || end == name)
		fail(msg, len, "a name not terminated, or empty");
	for (p = name; p < end; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			fail(msg, len, "a name with an octet unescaped");
	if (dns_make_query(q, sizeof(q), ID, name, DNS_A) == 0)
		fail(msg, len, "a name given back that cannot be asked");
}

/*
 * check_same - the second parse gave what the first did.
 */
static void
check_same(const unsigned char *msg, size_t len)
{
	size_t	 i;

	if (one.status != two.status || one.nrr != two.nrr ||
	    one.more != two.more || one.textlen != two.textlen ||
	    strcmp(one.name, two.name) != 0 ||
	    memcmp(one.text, two.text, one.textlen) != 0)
		fail(msg, len, "parsed twice, two answers");
	for (i = 0; i < one.nrr; i++)
		if (one.rr[i].ttl != two.rr[i].ttl ||
		    one.rr[i].pref != two.rr[i].pref ||
		    memcmp(one.rr[i].addr, two.rr[i].addr, 16) != 0 ||
		    strcmp(one.rr[i].name, two.rr[i].name) != 0 ||
		    one.rr[i].txtoff != two.rr[i].txtoff ||
		    one.rr[i].txtlen != two.rr[i].txtlen)
			fail(msg, len, "parsed twice, two records");
}

static void
fail(const unsigned char *msg, size_t len, const char *why)
{
	fuzz_note_octets("reply", msg, len);
	fuzz_note("status %s, rcode %d, nrr %zu, why %s",
	    dns_status_text(one.status), one.rcode, one.nrr,
	    one.why ? one.why : "(null)");
	fuzz_fail("%s", why);
}
