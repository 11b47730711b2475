/*
 * fuzz/conf.c - libFuzzer target: conf_load() and the policy questions,
 * the input being a whole smtpd.conf.
 *
 * The input is written to a scratch file and loaded; a configuration
 * that loads is asked its questions and freed.  Besides what the
 * sanitizers see (leaks too: a load that fails must free all it took),
 * what is checked is what smtpd.conf(5) promises of a configuration
 * that loads:
 *
 *   - every value is within its documented range (the timeouts, the
 *     limits, greet-pause, min-data-rate, which wire.c divides by);
 *   - the host name, domains, mailboxes and aliases are lowercase and
 *     of their documented syntax, every domain in idna.c's canonical
 *     form (converting it again changes nothing); there is a domain and
 *     a listener, and every listener is a numeric address and a port,
 *     and so is the resolver when there is one; a recipient-delimiter
 *     is punctuation, each character once;
 *   - every domain is ours; every mailbox entry is known; a bare
 *     <postmaster> goes to the first domain (the host name when that is
 *     "*"); every alias resolves to its target, an address entry over a
 *     bare local part and, between two of a kind, the last; every
 *     catch-all (alias @domain) to the last of its domain;
 *   - a domain that is not listed is not ours, unless "*" is; a mailbox
 *     that is not listed is unknown, unless none is listed; a name that
 *     is no alias does not resolve;
 *   - every fail rule has a stage and an action, a lowercase pattern, a
 *     reply code from 400 to 559 with an enhanced code of its class and
 *     a printable text of at most 400 octets, a delay from 1 second to a
 *     day, and its count, at zero.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../conf.h"
#include "../fail.h"
#include "../idna.h"
#include "fuzz.h"

static char	 path[PATH_MAX];

static void	 cleanup(void);
static void	 check(const struct conf *);
static void	 check_aliases(const struct conf *);
static void	 check_unlisted(const struct conf *);
static int	 domain_ok(const char *);
static int	 canonical(const char *);
static void	 check_catchall(const struct conf *, const struct alias *);
static int	 entry_ok(const char *);
static int	 lowercase(const char *);
static void	 check_fail(const struct conf *);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int	 fd;

	(void)argc;
	(void)argv;
	snprintf(path, sizeof(path), "%s/smtpd-fuzz-conf.XXXXXX",
	    fuzz_tmpdir());
	fuzz_init();
	if ((fd = mkstemp(path)) == -1)
		fuzz_fail("mkstemp %s: %s", path, strerror(errno));
	close(fd);
	fuzz_cleanup(cleanup);
	return 0;
}

static void
cleanup(void)
{
	unlink(path);
}

int
LLVMFuzzerTestOneInput(const uint8_t *input, size_t size)
{
	struct conf	 c;
	int		 fd;

	if ((fd = open(path, O_WRONLY | O_TRUNC)) == -1 ||
	    (size > 0 && write(fd, input, size) != (ssize_t)size) ||
	    close(fd) == -1)
		fuzz_fail("write %s: %s", path, strerror(errno));
	if (conf_load(&c, path) == -1)
		return 0;
	check(&c);
	check_aliases(&c);
	check_unlisted(&c);
	check_fail(&c);
	conf_free(&c);
	return 0;
}

/*
 * check - the values and the syntax smtpd.conf(5) promises.
 */
static void
check(const struct conf *c)
{
	unsigned char	 bin[sizeof(struct in6_addr)];
	size_t		 i;
	const char	*pm;

	if (c->hostname == NULL || !domain_ok(c->hostname) ||
	    !canonical(c->hostname))
		fuzz_fail("hostname \"%s\"", c->hostname ? c->hostname : "");
	if (c->recipient_delimiter != NULL)
		for (i = 0; c->recipient_delimiter[i] != '\0'; i++)
			if (strchr("!#$%&'*+-=?^_`{|}~",
			    c->recipient_delimiter[i]) == NULL ||
			    strchr(c->recipient_delimiter + i + 1,
			    c->recipient_delimiter[i]) != NULL)
				fuzz_fail("recipient-delimiter \"%s\"",
				    c->recipient_delimiter);
	if (c->spool == NULL || c->spool[0] == '\0' || c->user == NULL ||
	    c->user[0] == '\0')
		fuzz_fail("no spool or no user");
	if (c->max_message_size < 1 || c->max_recipients < 1 ||
	    c->max_recipients > 100000 || c->max_errors < 1 ||
	    c->max_errors > 10000 || c->max_junk_commands > 1000000000 ||
	    c->min_data_rate < 1 || c->min_data_rate > 1024 * 1024 * 1024 ||
	    c->greet_pause < 0 || c->greet_pause > 60 ||
	    c->workers < 1 || c->workers > CONF_WORKERS_MAX ||
	    c->max_sessions > 1000000000 ||
	    c->max_per_address > CONF_WORKERS_MAX)
		fuzz_fail("a limit out of its range");
	if (c->timeout < 1 || c->timeout > 86400 || c->data_timeout < 1 ||
	    c->data_timeout > 86400 || c->session_timeout < 1 ||
	    c->session_timeout > 86400 || c->stress_timeout < 1 ||
	    c->stress_timeout > 86400 || c->proxy_timeout < 1 ||
	    c->proxy_timeout > 86400)
		fuzz_fail("a timeout out of its range");
	if (c->domains.n == 0 || c->nlistens == 0)
		fuzz_fail("no domain or no listener");
	for (i = 0; i < c->domains.n; i++) {
		if (strcmp(c->domains.v[i], "*") != 0 &&
		    (!domain_ok(c->domains.v[i]) ||
		    !canonical(c->domains.v[i])))
			fuzz_fail("domain \"%s\"", c->domains.v[i]);
		if (!conf_domain_ok(c, c->domains.v[i]))
			fuzz_fail("domain %s is not ours", c->domains.v[i]);
	}
	for (i = 0; i < c->mailboxes.n; i++) {
		const char	*m = c->mailboxes.v[i], *at = strchr(m, '@');
		char		 local[128];
		size_t		 n = at ? (size_t)(at - m) : strlen(m);

		if (!entry_ok(m))
			fuzz_fail("mailbox \"%s\"", m);
		memcpy(local, m, n);
		local[n] = '\0';
		if (!conf_mailbox_known(c, local, at ? at + 1 : "any.example"))
			fuzz_fail("mailbox %s is not known", m);
	}
	for (i = 0; i < c->nlistens; i++)
		if (inet_pton(strchr(c->listens[i].host, ':') ? AF_INET6 :
		    AF_INET, c->listens[i].host, bin) != 1 ||
		    c->listens[i].port[0] == '\0' ||
		    strspn(c->listens[i].port, "0123456789") !=
		    strlen(c->listens[i].port) ||
		    strlen(c->listens[i].port) > 5 ||
		    atoi(c->listens[i].port) > 65535)
			fuzz_fail("listen %s port %s", c->listens[i].host,
			    c->listens[i].port);
	/* The resolver: numeric, both or neither, and a port from 1. */
	if ((c->resolver == NULL) != (c->resolver_port == NULL) ||
	    (c->resolver != NULL && (inet_pton(strchr(c->resolver, ':') ?
	    AF_INET6 : AF_INET, c->resolver, bin) != 1 ||
	    strspn(c->resolver_port, "0123456789") !=
	    strlen(c->resolver_port) || strlen(c->resolver_port) > 5 ||
	    atoi(c->resolver_port) < 1 || atoi(c->resolver_port) > 65535)))
		fuzz_fail("resolver %s port %s", c->resolver ? c->resolver :
		    "(none)", c->resolver_port ? c->resolver_port : "(none)");
	pm = conf_postmaster_domain(c);
	if (pm == NULL || strcmp(pm, strcmp(c->domains.v[0], "*") == 0 ?
	    c->hostname : c->domains.v[0]) != 0)
		fuzz_fail("postmaster goes to %s", pm ? pm : "(null)");
}

/*
 * check_aliases - each alias FROM resolves: to the last address entry
 * for local@domain, else to the last bare one for local.
 */
static void
check_aliases(const struct conf *c)
{
	const struct alias	*a, *byaddr, *bylocal, *want;
	const char		*at, *domain, *f;
	char			 local[128], nl[65], nd[256], wl[128];
	size_t			 i, j, n;

	for (i = 0; i < c->naliases; i++) {
		a = &c->aliases[i];
		if (a->from[0] == '@') {
			check_catchall(c, a);
			continue;
		}
		if (!entry_ok(a->from) || !entry_ok(a->to))
			fuzz_fail("alias \"%s\" \"%s\"", a->from, a->to);
		at = strchr(a->from, '@');
		n = at ? (size_t)(at - a->from) : strlen(a->from);
		memcpy(local, a->from, n);
		local[n] = '\0';
		domain = at ? at + 1 : "any.example";
		byaddr = bylocal = NULL;
		for (j = 0; j < c->naliases; j++) {
			f = c->aliases[j].from;
			if (strncmp(f, local, n) == 0 && f[n] == '@' &&
			    strcmp(f + n + 1, domain) == 0)
				byaddr = &c->aliases[j];
			else if (strcmp(f, local) == 0)
				bylocal = &c->aliases[j];
		}
		want = byaddr ? byaddr : bylocal;
		if (!conf_alias(c, local, domain, nl, sizeof(nl), nd,
		    sizeof(nd)))
			fuzz_fail("alias %s does not resolve", a->from);
		at = strchr(want->to, '@');
		n = at ? (size_t)(at - want->to) : strlen(want->to);
		memcpy(wl, want->to, n);
		wl[n] = '\0';
		if (strcmp(nl, wl) != 0 ||
		    strcmp(nd, at ? at + 1 : domain) != 0)
			fuzz_fail("alias %s@%s resolves to %s@%s, not %s",
			    local, domain, nl, nd, want->to);
	}
}

/*
 * check_catchall - "alias @domain to": the domain is canonical, and the
 * domain's catch-all is the last such line's target.
 */
static void
check_catchall(const struct conf *c, const struct alias *a)
{
	const struct alias	*want = NULL;
	const char		*domain = a->from + 1, *at;
	char			 nl[65], nd[256];
	size_t			 j, n;

	if (!domain_ok(domain) || !canonical(domain) || !entry_ok(a->to))
		fuzz_fail("catch-all \"%s\" \"%s\"", a->from, a->to);
	for (j = 0; j < c->naliases; j++)
		if (strcmp(c->aliases[j].from, a->from) == 0)
			want = &c->aliases[j];
	if (!conf_catchall(c, domain, nl, sizeof(nl), nd, sizeof(nd)))
		fuzz_fail("catch-all %s does not resolve", a->from);
	at = strchr(want->to, '@');
	n = at ? (size_t)(at - want->to) : strlen(want->to);
	if (strlen(nl) != n || strncmp(nl, want->to, n) != 0 ||
	    strcmp(nd, at ? at + 1 : domain) != 0)
		fuzz_fail("catch-all %s resolves to %s@%s, not %s", a->from,
		    nl, nd, want->to);
}

/*
 * canonical - idna_domain() leaves the domain as it is.
 */
static int
canonical(const char *d)
{
	char	 again[IDNA_DOMAIN_MAX + 1];

	return idna_domain(d, again, sizeof(again)) == 0 &&
	    strcmp(again, d) == 0;
}

/*
 * check_unlisted - the answers for names the file does not list.
 */
static void
check_unlisted(const struct conf *c)
{
	static const char	 dom[] = "unlisted.example", box[] = "unlisted";
	char			 nl[65], nd[256];
	size_t			 i;
	int			 ours = 0, known = c->mailboxes.n == 0;
	int			 alias = 0;

	for (i = 0; i < c->domains.n; i++)
		ours |= strcmp(c->domains.v[i], "*") == 0 ||
		    strcmp(c->domains.v[i], dom) == 0;
	for (i = 0; i < c->mailboxes.n; i++)
		known |= strcmp(c->mailboxes.v[i], box) == 0 ||
		    strcmp(c->mailboxes.v[i], "unlisted@unlisted.example") == 0;
	for (i = 0; i < c->naliases; i++)
		alias |= strcmp(c->aliases[i].from, box) == 0 ||
		    strcmp(c->aliases[i].from, "unlisted@unlisted.example") == 0;
	if (conf_domain_ok(c, dom) != ours)
		fuzz_fail("%s is %sours", dom, ours ? "not " : "");
	if (conf_mailbox_known(c, box, dom) != known)
		fuzz_fail("%s@%s is %sknown", box, dom, known ? "not " : "");
	if (conf_alias(c, box, dom, nl, sizeof(nl), nd, sizeof(nd)) != alias)
		fuzz_fail("%s@%s is %san alias", box, dom, alias ? "not " : "");
}

/*
 * domain_ok - lowercase letters, digits, '-' and '.', no empty label,
 * 255 octets at most.
 */
static int
domain_ok(const char *s)
{
	size_t	 i, label = 0;

	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if ((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-')
			label++;
		else
			return 0;
	}
	return i > 0 && i <= 255 && label > 0;
}

/*
 * entry_ok - "local" or "local@domain", lowercase: a local part of 1 to
 * 64 printable octets, no '/' or '@', not starting with a dot.
 */
static int
entry_ok(const char *s)
{
	const char	*at = strchr(s, '@');
	size_t		 i, n = at ? (size_t)(at - s) : strlen(s);

	if (n == 0 || n > 64 || s[0] == '.' || !lowercase(s))
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x21 || s[i] == 0x7f || s[i] == '/')
			return 0;
	return at == NULL || domain_ok(at + 1);
}

static int
lowercase(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			return 0;
	return 1;
}

/*
 * check_fail - the rules of "fail", as smtpd.conf(5) gives them.
 */
static void
check_fail(const struct conf *c)
{
	const struct fail_rule	*r;
	size_t			 i, k;

	for (i = 0; c->fail != NULL && i < c->fail->n; i++) {
		r = &c->fail->v[i];
		if (r->stage > FAIL_BDAT || r->action > FAIL_DELAY ||
		    !lowercase(r->pattern) || r->times > 1000000000 ||
		    c->fail->count == NULL ||
		    atomic_load(&c->fail->count[i]) != 0)
			fuzz_fail("fail rule %zu", i);
		if (r->action == FAIL_DELAY &&
		    (r->seconds < 1 || r->seconds > 86400))
			fuzz_fail("fail rule %zu: delay %u", i, r->seconds);
		if (r->action != FAIL_REPLY)
			continue;
		if (r->code < 400 || r->code > 559 || r->code % 100 > 59 ||
		    (r->esc[0] != '\0' && r->esc[0] != '0' + r->code / 100) ||
		    r->text == NULL || r->text[0] == '\0' ||
		    strlen(r->text) > FAIL_TEXT_MAX)
			fuzz_fail("fail rule %zu: reply %d", i, r->code);
		for (k = 0; r->text[k] != '\0'; k++)
			if (r->text[k] < 0x20 || r->text[k] > 0x7e)
				fuzz_fail("fail rule %zu: text", i);
	}
}
