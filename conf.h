/*
 * conf.h - smtpd.conf: its values and the policy questions asked of it.
 *
 * smtpd.c loads the file once (and, later, on reload); session.c asks it
 * which domains and mailboxes exist and where an alias points.  Nothing
 * here does I/O after conf_load() returns.
 */
#ifndef CONF_H
#define CONF_H

#include <stddef.h>
#include <stdint.h>

struct fail_rules;

struct strlist {
	char		**v;
	size_t		  n;
};

struct alias {
	char		 *from;		/* "local", "local@domain", "@domain" */
	char		 *to;		/* "local" or "local@domain" */
};

/* A network of spf-trusted: addresses whose first bits are these. */
struct net {
	int		  af;		/* AF_INET, AF_INET6 */
	unsigned char	  addr[16];	/* 4 octets for AF_INET */
	unsigned	  bits;
};

/* spf: what the SPF verdict does (auth.c). */
enum conf_spf { CONF_SPF_OFF, CONF_SPF_RECORD, CONF_SPF_REJECT };

struct listen {
	char		 *host;		/* numeric: "0.0.0.0", "::1" */
	char		 *port;
	int		  proxy;	/* expect a PROXY v1/v2 header */
};

struct conf {
	char		 *hostname;
	char		 *spool;
	/*
	 * Domains in idna.c's canonical form (A-labels, lowercase), local
	 * parts ASCII lowercased, as addr.c gives them.
	 */
	struct strlist	  domains;	/* "*" accepts any */
	struct strlist	  mailboxes;	/* empty: all are known */
	struct alias	 *aliases;
	size_t		  naliases;
	char		 *recipient_delimiter;	/* NULL: none */
	uint64_t	  max_message_size;	/* octets */
	unsigned	  max_recipients;
	unsigned	  max_errors;
	unsigned	  max_junk_commands;	/* 0: no limit */
	int		  timeout;		/* seconds for a command line */
	int		  data_timeout;		/* seconds for DATA/BDAT, plus... */
	uint64_t	  min_data_rate;	/* ...one per this many octets */
	int		  session_timeout;	/* seconds for the whole session */
	int		  stress_timeout;	/* replaces the two above in stress */
	int		  greet_pause;		/* seconds before 220; 0: none */
	int		  proxy_timeout;	/* seconds for the PROXY header */
	struct listen	 *listens;
	size_t		  nlistens;
	char		 *user;
	unsigned	  workers;
	unsigned	  max_sessions;		/* per worker; 0: no limit */
	unsigned	  max_per_address;	/* sessions; 0: no limit */
	int		  chroot;		/* workers see only the spool */
	int		  seccomp;		/* workers' system call filter */
	int		  sync;			/* 0: "sync no", the store skips fsync */
	char		 *resolver;	/* numeric; NULL: resolv.conf's */
	char		 *resolver_port;
	enum conf_spf	  spf;			/* default: record */
	int		  spf_timeout;		/* seconds for one check */
	struct net	 *spf_trusted;		/* not checked */
	size_t		  nspf_trusted;
	struct fail_rules *fail;	/* fail.h; NULL: none (the default) */
};

#define CONF_MAX_MESSAGE_SIZE	(35ULL * 1024 * 1024)
#define CONF_MAX_RECIPIENTS	100
#define CONF_MAX_ERRORS		20
#define CONF_TIMEOUT		300
#define CONF_DATA_TIMEOUT	300
#define CONF_PROXY_TIMEOUT	5
#define CONF_SESSION_TIMEOUT	1800
#define CONF_STRESS_TIMEOUT	10
#define CONF_SPF_TIMEOUT	20	/* RFC 7208 4.6.4: at least 20 s */
#define CONF_MIN_DATA_RATE	1024
#define CONF_MAX_JUNK_COMMANDS	100
#define CONF_UNSET		(~0U)
#define CONF_USER		"smtpd"
#define CONF_WORKERS		64
#define CONF_WORKERS_MAX	1024
#define CONF_MAX_SESSIONS	100

int	 conf_load(struct conf *, const char *path);
int	 conf_number(const char *, uint64_t min, const char *units,
	    uint64_t *);
void	 conf_free(struct conf *);
int	 conf_domain_ok(const struct conf *, const char *domain);
int	 conf_mailbox_known(const struct conf *, const char *local,
	    const char *domain);
int	 conf_spf_trusted(const struct conf *, int af,
	    const unsigned char *addr);
const char *conf_postmaster_domain(const struct conf *);
int	 conf_alias(const struct conf *, const char *local, const char *domain,
	    char *nlocal, size_t nlocalsz, char *ndomain, size_t ndomainsz);
int	 conf_catchall(const struct conf *, const char *domain, char *nlocal,
	    size_t nlocalsz, char *ndomain, size_t ndomainsz);

#endif
