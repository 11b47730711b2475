/*
 * fuzz/spf.c - libFuzzer target: spf.c's record parser and macro
 * expander, with no DNS: the input is a TXT record's text, taken as the
 * SPF record of example.com (selected, parsed, each domain-spec
 * expanded) and as an explanation (6.2), through spf_parse_record(),
 * for an IPv4 and an IPv6 client.
 *
 * Besides what the sanitizers see (the text is in a buffer of exactly
 * its size), what is checked is what spf.c promises: every name given
 * is NUL-terminated, at most 253 octets before dns_query()'s escapes,
 * printable ASCII or space (the identity is fixed, and the record's
 * literals are printable); the explanation is printable ASCII (space allowed)
 * and shorter than SPF_EXPSZ; a permerror says why; the same text gives
 * the same result twice.
 */
#include <stdlib.h>
#include <string.h>

#include "../dns.h"
#include "../spf.h"
#include "fuzz.h"

static struct spf	 s;
static const char	*text;
static size_t		 textlen;

static void	 each(const char *, void *);
static void	 fail(const char *) __attribute__((noreturn));

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
	static const char *const ips[] = { "192.0.2.3", "2001:db8::cb01" };
	char	*t;
	size_t	 i, k;
	int	 rc, rc2, n = 0;

	/* Exactly size octets, so that ASan sees a read past them. */
	if ((t = malloc(size ? size : 1)) == NULL)
		fuzz_fail("out of memory");
	memcpy(t, input, size);
	text = t;
	textlen = size;
	for (i = 0; i < 2; i++) {
		if (spf_init(&s, NULL, 0, ips[i], "strong-bad@email.example.com",
		    "mx.example.org", "mx.example.net") == -1)
			fuzz_fail("spf_init refused a fixed identity");
		rc = spf_parse_record(&s, t, size, "email.example.com", each,
		    &n);
		if (rc != -1 && rc != 0 && rc != 1)
			fail("neither -1, 0 nor 1");
		if (rc == -1 && s.why == NULL)
			fail("a permerror without a reason");
		k = strnlen(s.exp, SPF_EXPSZ);
		if (k == SPF_EXPSZ)
			fail("an explanation not terminated");
		while (k-- > 0)
			if (s.exp[k] < 0x20 || s.exp[k] > 0x7e)
				fail("an explanation not printable");
		rc2 = spf_parse_record(&s, t, size, "email.example.com", each,
		    &n);
		if (rc != rc2)
			fail("parsed twice, two results");
	}
	free(t);
	return 0;
}

/* each - a name expanded for a question: what dns_query() may be given. */
static void
each(const char *name, void *arg)
{
	const char	*end = memchr(name, '\0', DNS_NAMESZ), *p;
	size_t		 n = 0;

	(*(int *)arg)++;
	if (end == NULL)
		fail("a name not terminated");
	for (p = name; p < end; p++, n++) {
		/* %_ is a space, which a domain-spec may hold (7.1) */
		if (*p < 0x20 || *p >= 0x7f)
			fail("a name with an octet not printable");
		if (*p == '\\')
			p++;	/* escaped by expand() */
	}
	if (n > 253)
		fail("a name over 253 octets");
}

static void
fail(const char *why)
{
	fuzz_note_octets("record", text, textlen);
	fuzz_note("why %s, exp \"%s\"", s.why ? s.why : "(null)", s.exp);
	fuzz_fail("%s", why);
}
