/*
 * dns.h - a stub resolver of smtpd's own: one question to one recursive
 * resolver, within a deadline, and a strict parser of its reply.
 *
 * dns_query() asks over UDP, again over TCP when the reply is truncated,
 * and never waits past its deadline.  The answer comes back in a
 * struct dns_answer the caller provides (it is large: keep it static or
 * on the heap); nothing is allocated and nothing is kept between calls,
 * so a worker process may use it as it is.  smtpd -D (dnscheck.c) uses
 * it today, a receive-side SPF check tomorrow: the statuses keep apart
 * what RFC 7208 keeps apart (a name that does not exist, a name without
 * the record, a server that failed, no answer at all).
 */
#ifndef DNS_H
#define DNS_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#define DNS_NAMESZ	1025	/* a name in presentation form, and its NUL */
#define DNS_MSGSZ	65535	/* the largest message (TCP's length prefix) */
#define DNS_MAXRR	32	/* records of the asked type kept from a reply */
#define DNS_PORT	"53"
#define DNS_RESOLV_CONF	"/etc/resolv.conf"

/* The types smtpd asks for. */
#define DNS_A		1
#define DNS_CNAME	5
#define DNS_PTR		12
#define DNS_MX		15
#define DNS_TXT		16
#define DNS_AAAA	28

enum dns_status {
	DNS_OK,		/* nrr records of the type asked for */
	DNS_NODATA,	/* the name exists, without a record of the type */
	DNS_NXDOMAIN,	/* the name does not exist (RCODE 3) */
	DNS_SERVFAIL,	/* any other RCODE (SERVFAIL, REFUSED...): rcode */
	DNS_TIMEOUT,	/* no reply within the deadline */
	DNS_MALFORMED,	/* the reply broke the protocol: why */
	DNS_BADNAME,	/* the name cannot be asked (a label over 63...) */
	DNS_ERROR	/* ours: a socket call failed: why */
};

struct dns_server {
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	char			 name[64];	/* "192.0.2.1 port 53" */
};

/*
 * One record.  Names are in presentation form without the final dot
 * ("." is the root), with any octet a zone file could misread escaped
 * as RFC 1035 says ("\." "\\" "\032"): safe to print.  dns_query()
 * and dns_name_equal() read names in the same form (escapes taken, a
 * final dot allowed), so a name given back can be asked as it is; a
 * name from elsewhere (an SPF macro expansion) must escape its "\" and
 * any "." that is not between labels.
 */
struct dns_rr {
	uint32_t	 ttl;
	uint16_t	 pref;		/* MX */
	unsigned char	 addr[16];	/* A: 4 octets, AAAA: 16 */
	char		 name[DNS_NAMESZ];	/* MX, PTR, CNAME: the target */
	size_t		 txtoff, txtlen;	/* TXT: its strings, joined,
						   in text[] (may hold NUL) */
};

struct dns_answer {
	enum dns_status	 status;
	int		 rcode;			/* as the server said it */
	const char	*why;			/* DNS_MALFORMED, DNS_ERROR */
	char		 name[DNS_NAMESZ];	/* the owner, after CNAMEs */
	struct dns_rr	 rr[DNS_MAXRR];
	size_t		 nrr;
	int		 more;		/* more than DNS_MAXRR: the rest lost */
	unsigned char	 text[DNS_MSGSZ];	/* never more than the reply */
	size_t		 textlen;
};

int	 dns_server(struct dns_server *, const char *host, const char *port,
	    const char **why);
int	 dns_server_default(struct dns_server *, const char *resolvconf,
	    const char **why);
int	 dns_server_pick(struct dns_server *, const char *host,
	    const char *port, const char **why);
enum dns_status dns_query(const struct dns_server *, const char *name,
	    int type, int timeout_ms, struct dns_answer *);
size_t	 dns_make_query(unsigned char *, size_t, uint16_t id,
	    const char *name, int type);
int	 dns_parse(const unsigned char *, size_t, uint16_t id,
	    const char *name, int type, struct dns_answer *);
int	 dns_reverse_name(int af, const unsigned char *addr, char *,
	    size_t);
int	 dns_name_equal(const char *, const char *);
const char *dns_status_text(enum dns_status);
const char *dns_type_text(int);

#endif
