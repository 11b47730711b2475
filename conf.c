/*
 * conf.c - read smtpd.conf and answer policy questions from it.
 *
 * The file is line-oriented: "keyword value", '#' starts a comment at the
 * start of a line or after white space.  Every error is reported as
 * "file:line: message" and parsing goes on, so that one run of smtpd -n
 * lists every mistake; conf_load() then fails as a whole.  A keyword that
 * takes one value and appears twice keeps the last value, as in Postfix.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conf.h"
#include "fail.h"
#include "idna.h"
#include "log.h"

#define MAXWORDS	(1 + FAIL_WORDS_MAX)	/* the longest line: a fail rule */
#define ADDRESS_MAX	(64 + 1 + IDNA_DOMAIN_MAX)	/* local@domain */

struct parser {
	const char	*path;
	size_t		 line;
	int		 errors;
};

/* A setter gets the values, NULL-terminated, and explains a refusal. */
struct keyword {
	const char	*name;
	int		 minargs, maxargs;
	int		(*set)(struct conf *, char **, const char **);
};

static int	 kw_hostname(struct conf *, char **, const char **);
static int	 kw_spool(struct conf *, char **, const char **);
static int	 kw_domain(struct conf *, char **, const char **);
static int	 kw_mailbox(struct conf *, char **, const char **);
static int	 kw_alias(struct conf *, char **, const char **);
static int	 kw_max_message_size(struct conf *, char **, const char **);
static int	 kw_max_recipients(struct conf *, char **, const char **);
static int	 kw_max_errors(struct conf *, char **, const char **);
static int	 kw_timeout(struct conf *, char **, const char **);
static int	 kw_data_timeout(struct conf *, char **, const char **);
static int	 kw_listen(struct conf *, char **, const char **);
static int	 kw_user(struct conf *, char **, const char **);
static int	 kw_workers(struct conf *, char **, const char **);
static int	 kw_max_sessions(struct conf *, char **, const char **);
static int	 kw_proxy_timeout(struct conf *, char **, const char **);
static int	 kw_session_timeout(struct conf *, char **, const char **);
static int	 kw_stress_timeout(struct conf *, char **, const char **);
static int	 kw_greet_pause(struct conf *, char **, const char **);
static int	 kw_min_data_rate(struct conf *, char **, const char **);
static int	 kw_max_junk_commands(struct conf *, char **, const char **);
static int	 kw_max_per_address(struct conf *, char **, const char **);
static int	 kw_chroot(struct conf *, char **, const char **);
static int	 kw_seccomp(struct conf *, char **, const char **);
static int	 kw_sync(struct conf *, char **, const char **);
static int	 kw_resolver(struct conf *, char **, const char **);
static int	 kw_fail(struct conf *, char **, const char **);
static int	 kw_spf(struct conf *, char **, const char **);
static int	 kw_spf_timeout(struct conf *, char **, const char **);
static int	 kw_spf_trusted(struct conf *, char **, const char **);
static int	 net_parse(const char *, struct net *);
static int	 host_port(const char *, char *, size_t, char *, size_t,
		    const char *);
static int	 kw_recipient_delimiter(struct conf *, char **, const char **);
static int	 set_count(unsigned *, const char *, unsigned, unsigned,
		    const char **);
static int	 set_flag(int *, const char *, const char **);
static int	 set_seconds(int *, const char *, const char **);
static int	 set_minute(int *, const char *, unsigned, const char **);
static int	 listen_add(struct conf *, const char *, const char *, int);
static void	 conf_error(struct parser *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	 conf_defaults(struct conf *);
static void	 conf_line(struct conf *, struct parser *, char *);
static int	 split(char *, char **, int);
static int	 strlist_add(struct strlist *, const char *);
static int	 replace(char **, const char *);
static int	 address_canon(const char *, char *, int);
static int	 alias_target(const struct alias *, const char *, char *,
		    size_t, char *, size_t);
static void	*grow(void *, size_t, size_t);

static const struct keyword keywords[] = {
	{ "hostname",		1, 1, kw_hostname },
	{ "spool",		1, 1, kw_spool },
	{ "domain",		1, 1, kw_domain },
	{ "mailbox",		1, 1, kw_mailbox },
	{ "alias",		2, 2, kw_alias },
	{ "max-message-size",	1, 1, kw_max_message_size },
	{ "max-recipients",	1, 1, kw_max_recipients },
	{ "max-errors",		1, 1, kw_max_errors },
	{ "timeout",		1, 1, kw_timeout },
	{ "data-timeout",	1, 1, kw_data_timeout },
	{ "listen",		1, 2, kw_listen },
	{ "user",		1, 1, kw_user },
	{ "workers",		1, 1, kw_workers },
	{ "max-sessions",	1, 1, kw_max_sessions },
	{ "proxy-timeout",	1, 1, kw_proxy_timeout },
	{ "session-timeout",	1, 1, kw_session_timeout },
	{ "stress-timeout",	1, 1, kw_stress_timeout },
	{ "greet-pause",	1, 1, kw_greet_pause },
	{ "min-data-rate",	1, 1, kw_min_data_rate },
	{ "max-junk-commands",	1, 1, kw_max_junk_commands },
	{ "max-per-address",	1, 1, kw_max_per_address },
	{ "chroot",		1, 1, kw_chroot },
	{ "seccomp",		1, 1, kw_seccomp },
	{ "sync",		1, 1, kw_sync },
	{ "resolver",		1, 1, kw_resolver },
	{ "recipient-delimiter", 1, 1, kw_recipient_delimiter },
	{ "spf",		1, 1, kw_spf },
	{ "spf-timeout",	1, 1, kw_spf_timeout },
	{ "spf-trusted",	1, 64, kw_spf_trusted },
	/* 0: fail.c says what a short rule lacks. */
	{ "fail",		0, FAIL_WORDS_MAX, kw_fail },
};

/*
 * conf_load - fill *c from the file at path; 0, or -1 with errors logged.
 */
int
conf_load(struct conf *c, const char *path)
{
	struct parser	 p = { path, 0, 0 };
	FILE		*fp;
	char		*buf = NULL, file[LOG_VALUE_MAX];
	size_t		 bufsz = 0;

	conf_defaults(c);
	if ((fp = fopen(path, "r")) == NULL) {
		log_warn("event=conf-error file=%s", log_value(path, file,
		    sizeof(file)));
		conf_free(c);
		return -1;
	}
	while (getline(&buf, &bufsz, fp) != -1) {
		p.line++;
		conf_line(c, &p, buf);
	}
	if (ferror(fp))
		conf_error(&p, "read error");
	free(buf);
	fclose(fp);
	/* Like Postfix's mydestination, the host's own name is the default. */
	if (p.errors == 0 && c->domains.n == 0)
		strlist_add(&c->domains, c->hostname);
	/* Every address, both families, on the SMTP port. */
	if (p.errors == 0 && c->nlistens == 0) {
		listen_add(c, "0.0.0.0", "25", 0);
		listen_add(c, "::", "25", 0);
	}
	/* Before any fork: the pool's workers share the counts. */
	if (p.errors == 0)
		fail_share(c->fail);
	/* A quarter of the pool, so that three addresses cannot fill it. */
	if (c->max_per_address == CONF_UNSET)
		c->max_per_address = c->workers / 4 ? c->workers / 4 : 1;
	if (p.errors) {
		conf_free(c);
		return -1;
	}
	return 0;
}

/*
 * conf_defaults - the values smtpd uses for what the file leaves out.
 */
static void
conf_defaults(struct conf *c)
{
	char	 host[HOST_NAME_MAX + 1], name[IDNA_DOMAIN_MAX + 1];

	memset(c, 0, sizeof(*c));
	/* POSIX leaves a truncated name unterminated: end it before use. */
	if (gethostname(host, sizeof(host)) == -1)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	if (idna_domain(host, name, sizeof(name)) == -1)
		strcpy(name, "localhost");
	c->hostname = strdup(name);
	c->spool = strdup("/var/spool/smtpd");
	c->user = strdup(CONF_USER);
	if (c->hostname == NULL || c->spool == NULL || c->user == NULL)
		fatal("strdup");
	c->max_message_size = CONF_MAX_MESSAGE_SIZE;
	c->max_recipients = CONF_MAX_RECIPIENTS;
	c->max_errors = CONF_MAX_ERRORS;
	c->timeout = CONF_TIMEOUT;
	c->data_timeout = CONF_DATA_TIMEOUT;
	c->workers = CONF_WORKERS;
	c->max_sessions = CONF_MAX_SESSIONS;
	c->proxy_timeout = CONF_PROXY_TIMEOUT;
	c->session_timeout = CONF_SESSION_TIMEOUT;
	c->stress_timeout = CONF_STRESS_TIMEOUT;
	c->min_data_rate = CONF_MIN_DATA_RATE;
	c->max_junk_commands = CONF_MAX_JUNK_COMMANDS;
	c->max_per_address = CONF_UNSET;
	c->chroot = 1;
	c->seccomp = 1;
	c->sync = 1;
	c->spf = CONF_SPF_RECORD;
	c->spf_timeout = CONF_SPF_TIMEOUT;
}

/*
 * conf_line - parse one line of the file.
 */
static void
conf_line(struct conf *c, struct parser *p, char *line)
{
	char		*word[MAXWORDS + 1], none[] = "", *rest = none;
	const char	*why = NULL;
	size_t		 i;
	int		 n, max = 2;

	if ((n = split(line, word, 1)) == 0)
		return;
	if (n > 1)	/* split() ended the keyword in place of a space */
		rest = word[0] + strlen(word[0]) + 1;
	for (i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
		if (strcmp(word[0], keywords[i].name) == 0)
			break;
	/* Three words is the most a line has, but for a fail rule's. */
	if (i < sizeof(keywords) / sizeof(keywords[0]) &&
	    keywords[i].maxargs > max)
		max = keywords[i].maxargs;
	n = 1 + split(rest, word + 1, max);
	if (n - 1 > max) {
		conf_error(p, "too many words");
		return;
	}
	word[n] = NULL;
	if (i == sizeof(keywords) / sizeof(keywords[0])) {
		conf_error(p, "unknown keyword: %s", word[0]);
		return;
	}
	if (n - 1 < keywords[i].minargs || n - 1 > keywords[i].maxargs) {
		if (keywords[i].minargs == keywords[i].maxargs)
			conf_error(p, "%s takes %d value%s", word[0],
			    keywords[i].minargs,
			    keywords[i].minargs == 1 ? "" : "s");
		else
			conf_error(p, "%s takes %d to %d values", word[0],
			    keywords[i].minargs, keywords[i].maxargs);
		return;
	}
	if (keywords[i].set(c, word + 1, &why) == -1)
		conf_error(p, "%s: %s", word[0], why);
}

/*
 * split - cut line into at most max words; a '#' at the start of a word
 * begins a comment.  Returns the count, or max + 1 when there are more
 * (word[] is never written past max).
 */
static int
split(char *line, char **word, int max)
{
	int	 n = 0;

	for (;;) {
		while (isspace((unsigned char)*line))
			line++;
		if (*line == '\0' || *line == '#')
			return n;
		if (n == max)
			return n + 1;	/* the caller reports it */
		word[n++] = line;
		while (*line != '\0' && !isspace((unsigned char)*line))
			line++;
		if (*line != '\0')
			*line++ = '\0';
	}
}

static void
conf_error(struct parser *p, const char *fmt, ...)
{
	char	 msg[512], esc[LOG_VALUE_MAX], file[LOG_VALUE_MAX];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* msg repeats the file's words, which may hold anything. */
	log_warnx("event=conf-error file=%s line=%zu reason=\"%s\"",
	    log_value(p->path, file, sizeof(file)), p->line,
	    log_escape(msg, strlen(msg), esc, sizeof(esc)));
	p->errors++;
}

/*
 * kw_hostname - a U-label name is kept as A-labels, the form the
 * greeting and Received: can carry to any client.
 */
static int
kw_hostname(struct conf *c, char **v, const char **why)
{
	char	 name[IDNA_DOMAIN_MAX + 1];

	if (idna_domain(v[0], name, sizeof(name)) == -1) {
		*why = "not a valid host name";
		return -1;
	}
	return replace(&c->hostname, name);
}

static int
kw_spool(struct conf *c, char **v, const char **why)
{
	(void)why;
	return replace(&c->spool, v[0]);
}

/*
 * kw_domain - stored in idna.c's canonical form (A-labels, lowercase),
 * the form addr.c gives every address's domain in.
 */
static int
kw_domain(struct conf *c, char **v, const char **why)
{
	char	 name[IDNA_DOMAIN_MAX + 1];

	if (strcmp(v[0], "*") == 0)
		return strlist_add(&c->domains, v[0]);
	if (idna_domain(v[0], name, sizeof(name)) == -1) {
		*why = "not a valid domain name";
		return -1;
	}
	return strlist_add(&c->domains, name);
}

static int
kw_mailbox(struct conf *c, char **v, const char **why)
{
	char	 addr[ADDRESS_MAX + 1];

	if (address_canon(v[0], addr, 0) == -1) {
		*why = "expected a local part or local@domain";
		return -1;
	}
	return strlist_add(&c->mailboxes, addr);
}

/*
 * kw_alias - "alias from to"; a from of "@domain" is that domain's
 * catch-all (conf_catchall()).
 */
static int
kw_alias(struct conf *c, char **v, const char **why)
{
	struct alias	*a;
	char		 from[ADDRESS_MAX + 1], to[ADDRESS_MAX + 1];

	if (address_canon(v[0], from, 1) == -1 ||
	    address_canon(v[1], to, 0) == -1) {
		*why = "expected: alias local[@domain]|@domain local[@domain]";
		return -1;
	}
	a = grow(c->aliases, c->naliases + 1, sizeof(*a));
	c->aliases = a;
	a += c->naliases;
	if ((a->from = strdup(from)) == NULL || (a->to = strdup(to)) == NULL)
		fatal("strdup");
	c->naliases++;
	return 0;
}

/*
 * kw_recipient_delimiter - Postfix's recipient_delimiter: each character
 * of the value separates a local part from its extension.  Only
 * punctuation an unquoted local part may hold (RFC 5322 atext) and that
 * a maildir name can carry: no letter or digit, no '.', no '/'.
 */
static int
kw_recipient_delimiter(struct conf *c, char **v, const char **why)
{
	size_t	 i;

	for (i = 0; v[0][i] != '\0'; i++)
		if (strchr("!#$%&'*+-=?^_`{|}~", v[0][i]) == NULL ||
		    strchr(v[0] + i + 1, v[0][i]) != NULL) {
			*why = "expected characters from !#$%&'*+-=?^_`{|}~, "
			    "each once";
			return -1;
		}
	return replace(&c->recipient_delimiter, v[0]);
}

static int
kw_max_message_size(struct conf *c, char **v, const char **why)
{
	if (conf_number(v[0], 1, "KMG", &c->max_message_size) == -1) {
		*why = "expected a size such as 10485760, 10240K or 10M";
		return -1;
	}
	return 0;
}

static int
kw_max_recipients(struct conf *c, char **v, const char **why)
{
	/*
	 * RFC 5321 4.5.3.1.8 asks a server to take at least 100 (the
	 * default); a lower limit is the administrator's choice.
	 */
	return set_count(&c->max_recipients, v[0], 1, 100000, why);
}

static int
kw_max_errors(struct conf *c, char **v, const char **why)
{
	return set_count(&c->max_errors, v[0], 1, 10000, why);
}

static int
kw_timeout(struct conf *c, char **v, const char **why)
{
	return set_seconds(&c->timeout, v[0], why);
}

static int
kw_data_timeout(struct conf *c, char **v, const char **why)
{
	return set_seconds(&c->data_timeout, v[0], why);
}

static int
kw_proxy_timeout(struct conf *c, char **v, const char **why)
{
	return set_seconds(&c->proxy_timeout, v[0], why);
}

static int
kw_session_timeout(struct conf *c, char **v, const char **why)
{
	return set_seconds(&c->session_timeout, v[0], why);
}

static int
kw_stress_timeout(struct conf *c, char **v, const char **why)
{
	return set_seconds(&c->stress_timeout, v[0], why);
}

/*
 * kw_greet_pause - 0 turns the early-talker check off; at most a minute,
 * since the pause holds a worker.
 */
static int
kw_greet_pause(struct conf *c, char **v, const char **why)
{
	return set_minute(&c->greet_pause, v[0], 0, why);
}

static int
kw_min_data_rate(struct conf *c, char **v, const char **why)
{
	uint64_t	 n;

	if (conf_number(v[0], 1, "KMG", &n) == -1 || n > 1024 * 1024 * 1024) {
		*why = "expected octets per second such as 1024 or 1K";
		return -1;
	}
	c->min_data_rate = n;
	return 0;
}

static int
kw_max_junk_commands(struct conf *c, char **v, const char **why)
{
	return set_count(&c->max_junk_commands, v[0], 0, 1000000000, why);
}

static int
kw_max_per_address(struct conf *c, char **v, const char **why)
{
	return set_count(&c->max_per_address, v[0], 0, CONF_WORKERS_MAX, why);
}

static int
kw_workers(struct conf *c, char **v, const char **why)
{
	return set_count(&c->workers, v[0], 1, CONF_WORKERS_MAX, why);
}

static int
kw_max_sessions(struct conf *c, char **v, const char **why)
{
	return set_count(&c->max_sessions, v[0], 0, 1000000000, why);
}

static int
kw_chroot(struct conf *c, char **v, const char **why)
{
	return set_flag(&c->chroot, v[0], why);
}

static int
kw_seccomp(struct conf *c, char **v, const char **why)
{
	return set_flag(&c->seccomp, v[0], why);
}

static int
kw_sync(struct conf *c, char **v, const char **why)
{
	return set_flag(&c->sync, v[0], why);
}

static int
kw_user(struct conf *c, char **v, const char **why)
{
	(void)why;
	return replace(&c->user, v[0]);
}

/*
 * kw_listen - "listen ADDRESS[:PORT] [proxy]": a numeric IPv4 address or
 * an IPv6 address in brackets; the port defaults to 25, and 0 lets the
 * kernel choose (the tests use that).
 */
static int
kw_listen(struct conf *c, char **v, const char **why)
{
	char	 host[INET6_ADDRSTRLEN + 1], port[6];

	*why = "expected: listen ADDRESS[:PORT] [proxy]";
	if (v[1] != NULL && strcmp(v[1], "proxy") != 0)
		return -1;
	if (host_port(v[0], host, sizeof(host), port, sizeof(port), "25") ==
	    -1) {
		*why = "expected a numeric address (IPv6 in brackets) and port";
		return -1;
	}
	return listen_add(c, host, port, v[1] != NULL);
}

/*
 * kw_resolver - "resolver ADDRESS[:PORT]": the recursive resolver smtpd
 * -D asks, written as for listen; the port defaults to 53.
 */
static int
kw_resolver(struct conf *c, char **v, const char **why)
{
	char	 host[INET6_ADDRSTRLEN + 1], port[6];

	if (host_port(v[0], host, sizeof(host), port, sizeof(port), "53") ==
	    -1 || atoi(port) == 0) {		/* "0", "00": no port */
		*why = "expected a numeric address (IPv6 in brackets) and port";
		return -1;
	}
	replace(&c->resolver, host);
	return replace(&c->resolver_port, port);
}

/*
 * kw_fail - "fail STAGE PATTERN ACTION [times N]": a failure injection
 * rule (fail.c); a reply's text is words of their own.
 */
static int
kw_fail(struct conf *c, char **v, const char **why)
{
	return fail_parse(&c->fail, v, why);
}

/*
 * kw_spf - "spf off|record|reject": what the SPF verdict on a sender
 * does (auth.c).
 */
static int
kw_spf(struct conf *c, char **v, const char **why)
{
	static const char *const names[] = {
		[CONF_SPF_OFF] = "off",
		[CONF_SPF_RECORD] = "record",
		[CONF_SPF_REJECT] = "reject"
	};
	size_t	 i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(v[0], names[i]) == 0) {
			c->spf = (enum conf_spf)i;
			return 0;
		}
	*why = "expected off, record or reject";
	return -1;
}

/*
 * kw_spf_timeout - at most a minute: a check holds a worker, and RFC
 * 7208 4.6.4 asks for at least 20 seconds, which the manual repeats.
 */
static int
kw_spf_timeout(struct conf *c, char **v, const char **why)
{
	return set_minute(&c->spf_timeout, v[0], 1, why);
}

/*
 * kw_spf_trusted - "spf-trusted NETWORK...": addresses (192.0.2.1,
 * 2001:db8::1) or networks (192.0.2.0/24, 2001:db8::/32) whose mail is
 * not checked; the line may be repeated.
 */
static int
kw_spf_trusted(struct conf *c, char **v, const char **why)
{
	struct net	 n;

	for (; *v != NULL; v++) {
		if (net_parse(*v, &n) == -1) {
			*why = "expected addresses or networks such as "
			    "192.0.2.0/24 or 2001:db8::/32";
			return -1;
		}
		c->spf_trusted = grow(c->spf_trusted, c->nspf_trusted + 1,
		    sizeof(n));
		c->spf_trusted[c->nspf_trusted++] = n;
	}
	return 0;
}

/*
 * net_parse - "ADDRESS" or "ADDRESS/BITS", numeric, IPv6 without
 * brackets.  Bits past the prefix must be zero, as in a route: a typo
 * such as 192.0.2.1/16 is refused rather than read as 192.0.0.0/16.
 */
static int
net_parse(const char *s, struct net *n)
{
	char		 host[INET6_ADDRSTRLEN + 1];
	const char	*slash = strchr(s, '/');
	size_t		 len = slash ? (size_t)(slash - s) : strlen(s), i;
	unsigned	 max;

	memset(n, 0, sizeof(*n));
	if (len == 0 || len >= sizeof(host))
		return -1;
	memcpy(host, s, len);
	host[len] = '\0';
	n->af = strchr(host, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(n->af, host, n->addr) != 1)
		return -1;
	max = n->af == AF_INET ? 32 : 128;
	n->bits = max;
	if (slash != NULL) {
		if (slash[1] == '\0' || strlen(slash + 1) > 3 ||
		    strspn(slash + 1, "0123456789") != strlen(slash + 1) ||
		    (n->bits = atoi(slash + 1)) > max)
			return -1;
	}
	for (i = n->bits; i < max; i++)
		if (n->addr[i / 8] & (0x80 >> (i % 8)))
			return -1;
	return 0;
}

/*
 * host_port - split "192.0.2.1", "192.0.2.1:25", "[::1]" or "[::1]:25"
 * into a numeric address and a port (defport when there is none).
 */
static int
host_port(const char *s, char *host, size_t hostsz, char *port,
    size_t portsz, const char *defport)
{
	const char	*p = defport, *end;
	unsigned char	 bin[sizeof(struct in6_addr)];
	size_t		 n;
	int		 v6 = s[0] == '[';

	end = v6 ? strchr(s, ']') : strchr(s, ':');
	if (end == NULL && v6)
		return -1;
	if (end == NULL)
		end = s + strlen(s);
	n = end - s - v6;
	if (n == 0 || n >= hostsz)
		return -1;
	memcpy(host, s + v6, n);
	host[n] = '\0';
	end += v6;
	if (*end == ':')
		p = end + 1;
	else if (*end != '\0')
		return -1;
	if (inet_pton(v6 ? AF_INET6 : AF_INET, host, bin) != 1 ||
	    strspn(p, "0123456789") != strlen(p) || *p == '\0' ||
	    strlen(p) >= portsz || atoi(p) > 65535)
		return -1;
	memcpy(port, p, strlen(p) + 1);
	return 0;
}

static int
listen_add(struct conf *c, const char *host, const char *port, int proxy)
{
	struct listen	*l;

	c->listens = grow(c->listens, c->nlistens + 1, sizeof(*l));
	l = &c->listens[c->nlistens++];
	if ((l->host = strdup(host)) == NULL ||
	    (l->port = strdup(port)) == NULL)
		fatal("strdup");
	l->proxy = proxy;
	return 0;
}

/*
 * set_count - a whole number from min to max.
 */
static int
set_count(unsigned *dst, const char *v, unsigned min, unsigned max,
    const char **why)
{
	static char	 msg[64];
	uint64_t	 n;

	if (conf_number(v, min, "", &n) == -1 || n > max) {
		snprintf(msg, sizeof(msg), "expected a number from %u to %u",
		    min, max);
		*why = msg;
		return -1;
	}
	*dst = n;
	return 0;
}

/*
 * set_flag - "yes" or "no".
 */
static int
set_flag(int *dst, const char *v, const char **why)
{
	if (strcmp(v, "yes") == 0)
		*dst = 1;
	else if (strcmp(v, "no") == 0)
		*dst = 0;
	else {
		*why = "expected yes or no";
		return -1;
	}
	return 0;
}

/*
 * set_seconds - a time of at most a day: 300, 300s, 5m or 1h.
 */
static int
set_seconds(int *dst, const char *v, const char **why)
{
	uint64_t	 n;

	if (conf_number(v, 1, "smh", &n) == -1 || n > 86400) {
		*why = "expected a time such as 300, 300s or 5m, at most 1 day";
		return -1;
	}
	*dst = n;
	return 0;
}

/*
 * set_minute - a time from min (0 or 1) seconds to a minute, for what
 * holds a worker while it lasts.
 */
static int
set_minute(int *dst, const char *v, unsigned min, const char **why)
{
	uint64_t	 n;

	if (conf_number(v, min, "smh", &n) == -1 || n > 60) {
		*why = min ? "expected a time from 1 to 60s" :
		    "expected a time from 0 to 60s";
		return -1;
	}
	*dst = n;
	return 0;
}

/*
 * conf_number - a decimal of at least min with one optional suffix from
 * units: K, M, G multiply by powers of 1024; s, m, h give seconds.  For
 * every number in the file, fail.c's too.
 */
int
conf_number(const char *s, uint64_t min, const char *units, uint64_t *out)
{
	unsigned long long	 n;
	uint64_t		 mul = 1;
	char			*end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	if (*end != '\0') {
		if (end[1] != '\0' || strchr(units, *end) == NULL)
			return -1;
		switch (*end) {
		case 'K': mul = 1024; break;
		case 'M': mul = 1024 * 1024; break;
		case 'G': mul = 1024 * 1024 * 1024; break;
		case 'm': mul = 60; break;
		case 'h': mul = 3600; break;
		default: break;
		}
	}
	if (n < min || n > UINT64_MAX / mul)
		return -1;
	*out = n * mul;
	return 0;
}

/*
 * address_canon - "local" or "local@domain" (and, with catchall,
 * "@domain") as written in the file, into out (ADDRESS_MAX + 1) in the
 * form a parsed address has: the local part printable, no '/', no
 * leading dot, ASCII lowercased and otherwise kept octet for octet; the
 * domain in A-labels.  0, or -1 if it is none of those.
 */
static int
address_canon(const char *s, char *out, int catchall)
{
	const char	*at = strrchr(s, '@');
	size_t		 locallen = at ? (size_t)(at - s) : strlen(s);
	size_t		 i;

	if ((locallen == 0 && !(catchall && at != NULL)) || locallen > 64 ||
	    s[0] == '.')
		return -1;
	for (i = 0; i < locallen; i++) {
		if ((unsigned char)s[i] < 0x21 || s[i] == 0x7f || s[i] == '/' ||
		    s[i] == '@')
			return -1;
		out[i] = tolower((unsigned char)s[i]);
	}
	out[locallen] = '\0';
	if (at == NULL)
		return 0;
	out[locallen] = '@';
	return idna_domain(at + 1, out + locallen + 1,
	    ADDRESS_MAX + 1 - locallen - 1);
}

/*
 * grow - realloc to n elements of size sz, or die: the configuration is
 * read before any session starts, so running out of memory here is fatal.
 */
static void *
grow(void *p, size_t n, size_t sz)
{
	if (sz != 0 && n > SIZE_MAX / sz)
		fatalx("configuration too large");
	if ((p = realloc(p, n * sz)) == NULL)
		fatal("realloc");
	return p;
}

static int
strlist_add(struct strlist *l, const char *s)
{
	char	**v;

	v = grow(l->v, l->n + 1, sizeof(*v));
	l->v = v;
	if ((l->v[l->n] = strdup(s)) == NULL)
		fatal("strdup");
	l->n++;
	return 0;
}

static int
replace(char **field, const char *s)
{
	char	*copy;

	if ((copy = strdup(s)) == NULL)
		fatal("strdup");
	free(*field);
	*field = copy;
	return 0;
}

static void
strlist_free(struct strlist *l)
{
	size_t	 i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/*
 * conf_free - release what conf_load() allocated.
 */
void
conf_free(struct conf *c)
{
	size_t	 i;

	free(c->hostname);
	free(c->spool);
	free(c->user);
	free(c->resolver);
	free(c->resolver_port);
	free(c->recipient_delimiter);
	free(c->spf_trusted);
	for (i = 0; i < c->nlistens; i++) {
		free(c->listens[i].host);
		free(c->listens[i].port);
	}
	free(c->listens);
	strlist_free(&c->domains);
	strlist_free(&c->mailboxes);
	for (i = 0; i < c->naliases; i++) {
		free(c->aliases[i].from);
		free(c->aliases[i].to);
	}
	free(c->aliases);
	fail_free(c->fail);
	memset(c, 0, sizeof(*c));
}

/*
 * conf_spf_trusted - is this client address (4 or 16 octets) in a
 * network of spf-trusted?
 */
int
conf_spf_trusted(const struct conf *c, int af, const unsigned char *addr)
{
	const struct net	*n;
	size_t			 i;
	unsigned		 b;

	for (i = 0; i < c->nspf_trusted; i++) {
		n = &c->spf_trusted[i];
		if (n->af != af)
			continue;
		for (b = 0; b < n->bits; b++)
			if ((addr[b / 8] ^ n->addr[b / 8]) & (0x80 >> (b % 8)))
				break;
		if (b == n->bits)
			return 1;
	}
	return 0;
}

/*
 * conf_domain_ok - is mail for this (lowercase) domain ours?
 */
int
conf_domain_ok(const struct conf *c, const char *domain)
{
	size_t	 i;

	for (i = 0; i < c->domains.n; i++)
		if (strcmp(c->domains.v[i], "*") == 0 ||
		    strcmp(c->domains.v[i], domain) == 0)
			return 1;
	return 0;
}

/*
 * entry_matches - does a file entry ("local" or "local@domain") name
 * this mailbox?  The entry's local part must equal local as a whole: a
 * quoted local part may hold an '@', and <"bob@a.example"@b.example> is
 * not the entry "bob@a.example".
 */
static int
entry_matches(const char *entry, const char *local, const char *domain)
{
	const char	*at = strchr(entry, '@');
	size_t		 n = at ? (size_t)(at - entry) : strlen(entry);

	if (strlen(local) != n || strncmp(entry, local, n) != 0)
		return 0;
	return at == NULL || strcmp(at + 1, domain) == 0;
}

/*
 * conf_mailbox_known - with no mailbox lines every local part is known.
 */
int
conf_mailbox_known(const struct conf *c, const char *local,
    const char *domain)
{
	size_t	 i;

	if (c->mailboxes.n == 0)
		return 1;
	for (i = 0; i < c->mailboxes.n; i++)
		if (entry_matches(c->mailboxes.v[i], local, domain))
			return 1;
	return 0;
}

/*
 * conf_postmaster_domain - where a bare <postmaster> goes: the first
 * configured domain, or the host name when that is "*".
 */
const char *
conf_postmaster_domain(const struct conf *c)
{
	if (c->domains.n == 0 || strcmp(c->domains.v[0], "*") == 0)
		return c->hostname;
	return c->domains.v[0];
}

/*
 * conf_alias - if local@domain is an alias, write its target into
 * nlocal/ndomain and return 1; otherwise 0.  An address entry wins over
 * a bare local part; between two lines of the same kind the last wins, as
 * for every other keyword.  One level only: a target is not looked up
 * again.  A catch-all ("@domain") is not an alias of any one local part:
 * conf_catchall() answers for it.
 */
int
conf_alias(const struct conf *c, const char *local, const char *domain,
    char *nlocal, size_t nlocalsz, char *ndomain, size_t ndomainsz)
{
	const struct alias	*hit, *byaddr = NULL, *bylocal = NULL;
	size_t			 i;

	for (i = 0; i < c->naliases; i++) {
		if (!entry_matches(c->aliases[i].from, local, domain))
			continue;
		if (strchr(c->aliases[i].from, '@') != NULL)
			byaddr = &c->aliases[i];
		else
			bylocal = &c->aliases[i];
	}
	if ((hit = byaddr ? byaddr : bylocal) == NULL)
		return 0;
	return alias_target(hit, domain, nlocal, nlocalsz, ndomain, ndomainsz);
}

/*
 * conf_catchall - if domain has a catch-all ("alias @domain to"), write
 * its target into nlocal/ndomain and return 1; otherwise 0.  The last
 * line for the domain wins.  nlocal may be NULL: is there one?
 */
int
conf_catchall(const struct conf *c, const char *domain, char *nlocal,
    size_t nlocalsz, char *ndomain, size_t ndomainsz)
{
	const struct alias	*hit = NULL;
	size_t			 i;

	for (i = 0; i < c->naliases; i++)
		if (c->aliases[i].from[0] == '@' &&
		    strcmp(c->aliases[i].from + 1, domain) == 0)
			hit = &c->aliases[i];
	if (hit == NULL)
		return 0;
	if (nlocal == NULL)
		return 1;
	return alias_target(hit, domain, nlocal, nlocalsz, ndomain, ndomainsz);
}

/*
 * alias_target - an alias's target into nlocal/ndomain: a bare local
 * part keeps the domain the mail was sent to.  1, or 0 if it does not
 * fit.
 */
static int
alias_target(const struct alias *a, const char *domain, char *nlocal,
    size_t nlocalsz, char *ndomain, size_t ndomainsz)
{
	const char	*at = strchr(a->to, '@');
	size_t		 n = at ? (size_t)(at - a->to) : strlen(a->to);

	if (n >= nlocalsz)
		return 0;
	memcpy(nlocal, a->to, n);
	nlocal[n] = '\0';
	if (at != NULL)
		domain = at + 1;
	if ((size_t)snprintf(ndomain, ndomainsz, "%s", domain) >= ndomainsz)
		return 0;
	return 1;
}
