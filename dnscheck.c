/*
 * dnscheck.c - smtpd -D: the DNS of each configured domain, as the
 * configured resolver sees it, checked for a server that receives the
 * domain's mail and sends none.
 *
 * For the host name: its A and AAAA records, whether each is an address
 * of this machine (getifaddrs(), all of a loopback network, or a listen
 * address), and the PTR of each, forward-confirmed.  For each domain
 * but "*": an MX that names the host name, exactly one SPF record, a
 * DMARC record.  Then the records to publish.
 *
 * The output is a zone file: every line that is not a record to publish
 * is a comment ("; found:", "; ok:", "; wrong:", "; unanswered:"), so
 * that the whole of it, or any record line, can be pasted into one.
 * The first question the resolver does not answer ends the check: every
 * other would wait out its deadline as well.
 */
#define _DEFAULT_SOURCE		/* getifaddrs(): not POSIX, but everywhere */

#include <sys/types.h>
#include <sys/socket.h>

#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ifaddrs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "dns.h"
#include "dnscheck.h"
#include "log.h"

#define TTL		3600
#define MAXADDR		(2 * DNS_MAXRR)

struct addr {
	int		 af;
	unsigned char	 b[16];
};

struct check {
	const struct conf	*c;
	FILE			*out;
	struct dns_server	 srv;
	struct dns_answer	*a;
	int			 wrong;
	int			 unanswered;
	int			 dead;		/* the resolver stopped answering */
	struct addr		 addrs[MAXADDR];	/* of the host name */
	size_t			 naddrs;
	int			 nlocal;
};

static int	 ask(struct check *, const char *, int);
static void	 check_host(struct check *);
static void	 check_ptr(struct check *, const struct addr *);
static void	 check_mx(struct check *, const char *);
static void	 check_txt(struct check *, const char *, const char *,
		    const char *, const char *);
static int	 txt_is(const unsigned char *, size_t, const char *);
static void	 publish(struct check *);
static void	 publish_host(struct check *);
static int	 is_local(const struct conf *, const struct addr *);
static int	 public_addr(const struct addr *);
static void	 print_txt(FILE *, const unsigned char *, size_t);
static const char *addr_text(const struct addr *, char *, size_t);
static const char *rcode_text(int);
static void	 wrong(struct check *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/*
 * dnscheck - check and print; DNSCHECK_OK, _WRONG or _UNANSWERED.
 */
int
dnscheck(const struct conf *c, FILE *out)
{
	struct check	 ck;
	const char	*why = NULL;
	size_t		 i;
	int		 rc;

	memset(&ck, 0, sizeof(ck));
	ck.c = c;
	ck.out = out;
	if (dns_server_pick(&ck.srv, c->resolver, c->resolver_port, &why) ==
	    -1) {
		fprintf(out, "; unanswered: no resolver to ask: the first "
		    "nameserver of %s is %s\n; result: incomplete\n",
		    DNS_RESOLV_CONF, why);
		return DNSCHECK_UNANSWERED;
	}
	if ((ck.a = malloc(sizeof(*ck.a))) == NULL)
		fatal("malloc");
	fprintf(out, "; smtpd -D: the DNS as the resolver %s (%s) sees it\n",
	    ck.srv.name, c->resolver ? "resolver in the configuration" :
	    "the first nameserver of " DNS_RESOLV_CONF);
	check_host(&ck);
	for (i = 0; i < c->domains.n && !ck.dead; i++)
		if (strcmp(c->domains.v[i], "*") != 0) {
			fprintf(out, "; domain %s\n", c->domains.v[i]);
			check_mx(&ck, c->domains.v[i]);
			check_txt(&ck, c->domains.v[i], "", "v=spf1", "SPF");
			check_txt(&ck, c->domains.v[i], "_dmarc.", "v=DMARC1",
			    "DMARC");
		}
	if (ck.dead)
		fprintf(out, "; the resolver %s did not answer: the check "
		    "stopped there\n", ck.srv.name);
	else
		publish(&ck);
	free(ck.a);
	if (ck.unanswered)
		rc = DNSCHECK_UNANSWERED;
	else
		rc = ck.wrong ? DNSCHECK_WRONG : DNSCHECK_OK;
	fprintf(out, "; result: %s\n", rc == DNSCHECK_OK ? "all right" :
	    rc == DNSCHECK_WRONG ? "something is wrong" :
	    "incomplete, a question got no usable answer");
	return rc;
}

/*
 * ask - one question; 1 with the records in ck->a, 0 when there are
 * none (the caller says what that means), -1 when there is no answer
 * to go by (said here).
 */
static int
ask(struct check *ck, const char *name, int type)
{
	enum dns_status	 st;

	if (ck->dead)
		return -1;
	st = dns_query(&ck->srv, name, type, DNSCHECK_DEADLINE_MS, ck->a);
	if (st == DNS_OK && ck->a->more) {
		/* What was not kept might have been the record looked for. */
		ck->unanswered = 1;
		fprintf(ck->out, "; unanswered: %s %s: more than %d records, "
		    "the first %d checked\n", name, dns_type_text(type),
		    DNS_MAXRR, DNS_MAXRR);
	}
	if (st == DNS_OK || st == DNS_NODATA || st == DNS_NXDOMAIN)
		return st == DNS_OK;
	if (st == DNS_BADNAME) {
		wrong(ck, "%s cannot be a name in the DNS: %s", name,
		    ck->a->why);
		return -1;
	}
	ck->unanswered = 1;
	if (st == DNS_TIMEOUT) {
		fprintf(ck->out, "; unanswered: %s %s: the resolver timed out "
		    "after %d ms: %s\n", name, dns_type_text(type),
		    DNSCHECK_DEADLINE_MS, ck->a->why);
		ck->dead = 1;
	} else if (st == DNS_SERVFAIL)
		fprintf(ck->out, "; unanswered: %s %s: the resolver answered "
		    "%s (RCODE %d)\n", name, dns_type_text(type),
		    rcode_text(ck->a->rcode), ck->a->rcode);
	else {
		fprintf(ck->out, "; unanswered: %s %s: %s: %s\n", name,
		    dns_type_text(type), dns_status_text(st), ck->a->why);
		ck->dead = st == DNS_ERROR;
	}
	return -1;
}

/*
 * check_host - the host name's addresses: each must be this machine's,
 * and have a PTR that leads back to it.
 */
static void
check_host(struct check *ck)
{
	static const int	 types[] = { DNS_A, DNS_AAAA };
	struct addr		*ad;
	char			 text[INET6_ADDRSTRLEN];
	size_t			 i, t;
	int			 rc, unanswered = 0;

	fprintf(ck->out, "; hostname %s\n", ck->c->hostname);
	for (t = 0; t < 2; t++) {
		if ((rc = ask(ck, ck->c->hostname, types[t])) == -1)
			unanswered = 1;
		if (rc != 1)
			continue;
		for (i = 0; i < ck->a->nrr && ck->naddrs < MAXADDR; i++) {
			ad = &ck->addrs[ck->naddrs++];
			ad->af = types[t] == DNS_A ? AF_INET : AF_INET6;
			memcpy(ad->b, ck->a->rr[i].addr, sizeof(ad->b));
			fprintf(ck->out, "; found: %s. %s %s\n",
			    ck->c->hostname, dns_type_text(types[t]),
			    addr_text(ad, text, sizeof(text)));
		}
	}
	if (ck->naddrs == 0 && !unanswered)
		wrong(ck, "%s has no A or AAAA record: senders cannot find "
		    "this server", ck->c->hostname);
	for (i = 0; i < ck->naddrs; i++) {
		addr_text(&ck->addrs[i], text, sizeof(text));
		if (is_local(ck->c, &ck->addrs[i])) {
			ck->nlocal++;
			fprintf(ck->out, "; ok: %s is an address of this "
			    "machine\n", text);
			check_ptr(ck, &ck->addrs[i]);
		} else
			wrong(ck, "%s is not an address of this machine "
			    "(nor a listen address): mail for %s goes "
			    "elsewhere", text, ck->c->hostname);
	}
}

/*
 * check_ptr - the PTR of an address, and the address among the records
 * of the name it gives (forward-confirmed reverse DNS).
 */
static void
check_ptr(struct check *ck, const struct addr *ad)
{
	char	 rev[DNS_NAMESZ], ptr[DNS_NAMESZ], text[INET6_ADDRSTRLEN];
	size_t	 i;
	int	 back = 0, rc;

	addr_text(ad, text, sizeof(text));
	if (dns_reverse_name(ad->af, ad->b, rev, sizeof(rev)) == -1)
		return;
	if ((rc = ask(ck, rev, DNS_PTR)) != 1) {
		if (rc == 0)
			wrong(ck, "%s has no PTR record (set it at the hosting "
			    "provider)", text);
		return;
	}
	snprintf(ptr, sizeof(ptr), "%s", ck->a->rr[0].name);
	fprintf(ck->out, "; found: %s. PTR %s%s\n", rev, ptr,
	    strcmp(ptr, ".") == 0 ? "" : ".");
	if ((rc = ask(ck, ptr, ad->af == AF_INET ? DNS_A : DNS_AAAA)) == -1)
		return;
	for (i = 0; rc == 1 && i < ck->a->nrr; i++)
		if (memcmp(ck->a->rr[i].addr, ad->b, ad->af == AF_INET ? 4 :
		    16) == 0)
			back = 1;
	if (!back)
		wrong(ck, "the PTR of %s is %s, whose addresses do not include "
		    "%s (not forward-confirmed)", text, ptr, text);
	else if (!dns_name_equal(ptr, ck->c->hostname))
		fprintf(ck->out, "; ok: %s leads back to %s (forward-confirmed;"
		    " it is not the hostname %s, which is allowed)\n", ptr,
		    text, ck->c->hostname);
	else
		fprintf(ck->out, "; ok: %s leads back to %s "
		    "(forward-confirmed)\n", ptr, text);
}

/*
 * check_mx - one MX of the domain must name the host name; a null MX
 * (RFC 7505) says the domain takes no mail at all.
 */
static void
check_mx(struct check *ck, const char *domain)
{
	const struct dns_rr	*rr;
	size_t			 i;
	int			 ours = 0, rc;

	if ((rc = ask(ck, domain, DNS_MX)) == -1)
		return;
	if (rc == 0) {
		wrong(ck, "%s has no MX record%s", domain,
		    ck->a->status == DNS_NXDOMAIN ? " (the name does not "
		    "exist: NXDOMAIN)" : "");
		return;
	}
	for (i = 0; i < ck->a->nrr; i++) {
		rr = &ck->a->rr[i];
		fprintf(ck->out, "; found: %s. MX %u %s%s\n", domain, rr->pref,
		    rr->name, strcmp(rr->name, ".") == 0 ? "" : ".");
		if (strcmp(rr->name, ".") == 0)
			wrong(ck, "%s has a null MX (RFC 7505): it says it "
			    "takes no mail", domain);
		if (dns_name_equal(rr->name, ck->c->hostname))
			ours = 1;
	}
	if (ours)
		fprintf(ck->out, "; ok: an MX of %s points at the hostname "
		    "%s\n", domain, ck->c->hostname);
	else
		wrong(ck, "no MX of %s points at the hostname %s: its mail "
		    "goes elsewhere", domain, ck->c->hostname);
}

/*
 * check_txt - exactly one TXT record starting with tag at prefix+domain:
 * an SPF record ("v=spf1") or a DMARC one ("v=DMARC1").  Two or more are
 * an error to receivers (RFC 7208 4.5, RFC 7489 6.6.3).
 */
static void
check_txt(struct check *ck, const char *domain, const char *prefix,
    const char *tag, const char *what)
{
	const struct dns_rr	*rr;
	char			 name[DNS_NAMESZ];
	size_t			 i, n = 0;
	int			 rc;

	snprintf(name, sizeof(name), "%s%s", prefix, domain);
	if ((rc = ask(ck, name, DNS_TXT)) == -1)
		return;
	for (i = 0; rc == 1 && i < ck->a->nrr; i++) {
		rr = &ck->a->rr[i];
		if (!txt_is(ck->a->text + rr->txtoff, rr->txtlen, tag))
			continue;
		n++;
		fprintf(ck->out, "; found: %s. TXT ", name);
		print_txt(ck->out, ck->a->text + rr->txtoff, rr->txtlen);
		fprintf(ck->out, "\n");
	}
	if (n == 0)
		wrong(ck, "no %s record (TXT \"%s ...\") at %s", what, tag,
		    name);
	else if (n > 1)
		wrong(ck, "%zu %s records at %s: receivers take that as an "
		    "error; publish one", n, what, name);
	else
		fprintf(ck->out, "; ok: one %s record at %s\n", what, name);
}

/*
 * txt_is - does the text start with the tag (any case), followed by its
 * end, a space or a ';'?
 */
static int
txt_is(const unsigned char *t, size_t len, const char *tag)
{
	size_t	 n = strlen(tag);

	return len >= n && strncasecmp((const char *)t, tag, n) == 0 &&
	    memchr(t, '\0', n) == NULL &&
	    (len == n || t[n] == ' ' || t[n] == ';');
}

/*
 * publish - the records a receive-only domain needs, as zone file lines.
 */
static void
publish(struct check *ck)
{
	size_t	 i;
	int	 any = 0;

	fprintf(ck->out, ";\n; The records to publish for a domain whose mail "
	    "smtpd receives and which sends none:\n");
	for (i = 0; i < ck->c->domains.n; i++) {
		if (strcmp(ck->c->domains.v[i], "*") == 0)
			continue;
		fprintf(ck->out, "%s. %d IN MX 10 %s.\n", ck->c->domains.v[i],
		    TTL, ck->c->hostname);
		fprintf(ck->out, "%s. %d IN TXT \"v=spf1 -all\"\n",
		    ck->c->domains.v[i], TTL);
		fprintf(ck->out, "_dmarc.%s. %d IN TXT \"v=DMARC1; "
		    "p=reject\"\n", ck->c->domains.v[i], TTL);
		any = 1;
	}
	if (!any)
		fprintf(ck->out, "; (no domain but \"*\": only the host name's "
		    "records)\n");
	publish_host(ck);
}

/*
 * publish_host - the host name's A/AAAA lines: its addresses that are
 * this machine's if it has any, else this machine's public ones.
 */
static void
publish_host(struct check *ck)
{
	struct ifaddrs	*ifa, *i;
	struct addr	 ad;
	char		 text[INET6_ADDRSTRLEN];
	size_t		 k;
	int		 n = 0;

	for (k = 0; k < ck->naddrs; k++)
		if (is_local(ck->c, &ck->addrs[k]))
			fprintf(ck->out, "%s. %d IN %s %s\n", ck->c->hostname,
			    TTL, ck->addrs[k].af == AF_INET ? "A" : "AAAA",
			    addr_text(&ck->addrs[k], text, sizeof(text)));
	if (ck->nlocal == 0 && getifaddrs(&ifa) == 0) {
		for (i = ifa; i != NULL; i = i->ifa_next) {
			if (i->ifa_addr == NULL || (i->ifa_addr->sa_family !=
			    AF_INET && i->ifa_addr->sa_family != AF_INET6))
				continue;
			memset(&ad, 0, sizeof(ad));
			ad.af = i->ifa_addr->sa_family;
			if (ad.af == AF_INET)
				memcpy(ad.b, &((struct sockaddr_in *)(void *)
				    i->ifa_addr)->sin_addr, 4);
			else
				memcpy(ad.b, &((struct sockaddr_in6 *)(void *)
				    i->ifa_addr)->sin6_addr, 16);
			if (!public_addr(&ad))
				continue;
			fprintf(ck->out, "%s. %d IN %s %s\n", ck->c->hostname,
			    TTL, ad.af == AF_INET ? "A" : "AAAA",
			    addr_text(&ad, text, sizeof(text)));
			n++;
		}
		freeifaddrs(ifa);
		if (n == 0)
			fprintf(ck->out, "; %s. %d IN A <the public address of "
			    "this machine: none is on its interfaces, behind "
			    "NAT?>\n", ck->c->hostname, TTL);
	}
	fprintf(ck->out, "; and, not in the zone: the PTR (reverse DNS) of "
	    "each address above is set at the hosting provider, to %s.\n",
	    ck->c->hostname);
}

/*
 * is_local - an address of an interface of this machine, any address
 * of a loopback interface's network (all of 127/8), or a listen address.
 */
static int
is_local(const struct conf *c, const struct addr *ad)
{
	struct ifaddrs		*ifa, *i;
	const unsigned char	*a, *m;
	unsigned char		 bin[16];
	size_t			 n = ad->af == AF_INET ? 4 : 16, k;
	int			 hit = 0, masked;

	for (k = 0; k < c->nlistens; k++)
		if (inet_pton(ad->af, c->listens[k].host, bin) == 1 &&
		    memcmp(bin, ad->b, n) == 0)
			return 1;
	if (getifaddrs(&ifa) == -1)
		return 0;
	for (i = ifa; i != NULL && !hit; i = i->ifa_next) {
		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != ad->af)
			continue;
		if (ad->af == AF_INET) {
			a = (const unsigned char *)&((struct sockaddr_in *)
			    (void *)i->ifa_addr)->sin_addr;
			m = i->ifa_netmask == NULL ? NULL : (const unsigned
			    char *)&((struct sockaddr_in *)(void *)
			    i->ifa_netmask)->sin_addr;
		} else {
			a = (const unsigned char *)&((struct sockaddr_in6 *)
			    (void *)i->ifa_addr)->sin6_addr;
			m = i->ifa_netmask == NULL ? NULL : (const unsigned
			    char *)&((struct sockaddr_in6 *)(void *)
			    i->ifa_netmask)->sin6_addr;
		}
		masked = (i->ifa_flags & IFF_LOOPBACK) && m != NULL;
		for (hit = 1, k = 0; k < n && hit; k++)
			hit = masked ? (a[k] & m[k]) == (ad->b[k] & m[k]) :
			    a[k] == ad->b[k];
	}
	freeifaddrs(ifa);
	return hit;
}

/*
 * public_addr - worth publishing: not loopback, link-local, private
 * (RFC 1918, ULA) or shared (RFC 6598).
 */
static int
public_addr(const struct addr *ad)
{
	const unsigned char	*b = ad->b;

	if (ad->af == AF_INET)
		return b[0] != 127 && b[0] != 10 && b[0] != 0 &&
		    !(b[0] == 169 && b[1] == 254) &&
		    !(b[0] == 172 && (b[1] & 0xf0) == 16) &&
		    !(b[0] == 192 && b[1] == 168) &&
		    !(b[0] == 100 && (b[1] & 0xc0) == 64);
	return (b[0] & 0xe0) == 0x20;		/* 2000::/3, global unicast */
}

/*
 * print_txt - TXT data as a zone file's quoted string.
 */
static void
print_txt(FILE *out, const unsigned char *t, size_t len)
{
	size_t	 i;

	fputc('"', out);
	for (i = 0; i < len; i++)
		if (t[i] == '"' || t[i] == '\\')
			fprintf(out, "\\%c", t[i]);
		else if (t[i] >= 0x20 && t[i] < 0x7f)
			fputc(t[i], out);
		else
			fprintf(out, "\\%03u", t[i]);
	fputc('"', out);
}

static const char *
addr_text(const struct addr *ad, char *buf, size_t bufsz)
{
	if (inet_ntop(ad->af, ad->b, buf, bufsz) == NULL)
		snprintf(buf, bufsz, "?");
	return buf;
}

static const char *
rcode_text(int rcode)
{
	switch (rcode) {
	case 1:		return "FORMERR";
	case 2:		return "SERVFAIL";
	case 4:		return "NOTIMP";
	case 5:		return "REFUSED";
	}
	return "an error";
}

static void
wrong(struct check *ck, const char *fmt, ...)
{
	va_list	 ap;

	ck->wrong = 1;
	fprintf(ck->out, "; wrong: ");
	va_start(ap, fmt);
	vfprintf(ck->out, fmt, ap);
	va_end(ap);
	fprintf(ck->out, "\n");
}
