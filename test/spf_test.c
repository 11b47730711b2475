/*
 * test/spf_test.c - spf.c's check_host() against test/dnsd:
 *
 *	spf_test PORT [-t MS] IP SENDER HELO DOMAIN
 *
 * prints "RESULT" and, when spf.c gave one, " (why)", on a line, and the
 * DNS-querying terms and void lookups counted ("terms=N void=N").  The
 * deadline is MS (2000).  make test builds it under the sanitizers;
 * test/spf.bats runs it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../dns.h"
#include "../now.h"
#include "../spf.h"

static struct spf	 s;

int
main(int argc, char *argv[])
{
	struct dns_server	 srv;
	const char		*why;
	enum spf_result		 r;
	long			 ms = 2000;
	int			 a = 2;

	if (argc > 3 && strcmp(argv[2], "-t") == 0) {
		ms = strtol(argv[3], NULL, 10);
		a = 4;
	}
	if (argc - a != 4) {
		fprintf(stderr, "usage: spf_test port [-t ms] ip sender helo "
		    "domain\n");
		return 2;
	}
	if (dns_server(&srv, "127.0.0.1", argv[1], &why) == -1) {
		fprintf(stderr, "dns_server: %s\n", why);
		return 2;
	}
	if (spf_init(&s, &srv, now_ms() + ms, argv[a], argv[a + 1],
	    argv[a + 2]) == -1) {
		fprintf(stderr, "spf_init: bad address or name\n");
		return 2;
	}
	r = spf_check_host(&s, argv[a + 3]);
	printf("%s", spf_result_text(r));
	if (s.why != NULL && (r == SPF_PERMERROR || r == SPF_TEMPERROR ||
	    r == SPF_NONE))
		printf(" (%s)", s.why);
	printf("\nterms=%d void=%d\n", s.nterms, s.nvoid);
	return 0;
}
