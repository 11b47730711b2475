/*
 * test/spf_test.c - spf.c's check_host() against test/dnsd:
 *
 *	spf_test PORT [-t MS] [-r RECEIVER] IP SENDER HELO DOMAIN...
 *
 * for each DOMAIN, one spf_check_host() after the one spf_init(), prints "RESULT" and, when spf.c gave one, " (why)", on a line, the
 * DNS-querying terms and void lookups counted ("terms=N void=N"), and
 * after a fail with an explanation, "exp: TEXT".  The deadline is MS
 * (2000); RECEIVER is %{r} (none: spf.c's "unknown").  make test builds
 * it under the sanitizers; test/spf.bats runs it.
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
	const char		*receiver = NULL;
	long			 ms = 2000;
	int			 a = 2, i;

	while (argc > a + 1 && (strcmp(argv[a], "-t") == 0 ||
	    strcmp(argv[a], "-r") == 0)) {
		if (argv[a][1] == 't')
			ms = strtol(argv[a + 1], NULL, 10);
		else
			receiver = argv[a + 1];
		a += 2;
	}
	if (argc - a < 4) {
		fprintf(stderr, "usage: spf_test port [-t ms] [-r receiver] "
		    "ip sender helo domain...\n");
		return 2;
	}
	if (dns_server(&srv, "127.0.0.1", argv[1], &why) == -1) {
		fprintf(stderr, "dns_server: %s\n", why);
		return 2;
	}
	if (spf_init(&s, &srv, now_ms() + ms, argv[a], argv[a + 1],
	    argv[a + 2], receiver) == -1) {
		fprintf(stderr, "spf_init: bad address or name\n");
		return 2;
	}
	for (i = a + 3; i < argc; i++) {
		r = spf_check_host(&s, argv[i]);
		printf("%s", spf_result_text(r));
		if (s.why != NULL && (r == SPF_PERMERROR ||
		    r == SPF_TEMPERROR || r == SPF_NONE))
			printf(" (%s)", s.why);
		printf("\nterms=%d void=%d\n", s.nterms, s.nvoid);
		if (r == SPF_FAIL && s.exp[0] != '\0')
			printf("exp: %s\n", s.exp);
	}
	return 0;
}
