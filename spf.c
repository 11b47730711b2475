/*
 * spf.c - RFC 7208's check_host(): the record looked up and selected
 * (4.4, 4.5), parsed whole before anything is evaluated (4.6, the ABNF
 * of section 12), its mechanisms evaluated left to right (section 5),
 * include and redirect recursing with the same counters of DNS-querying
 * terms and void lookups (4.6.4), and the domain-specs macro-expanded
 * (section 7).
 *
 * Choices where the RFC leaves one:
 * - A TXT answer of more than DNS_MAXRR records is a permerror: the
 *   records lost might have held the SPF record, and asking again would
 *   lose them again (a temperror would defer the mail for ever).  An
 *   A/AAAA answer of more than DNS_MAXRR: a match among those kept is a
 *   match, no match is a permerror, for the same reason.
 * - A reply that breaks the protocol (DNS_MALFORMED) is a temperror, as
 *   a server failure is.
 * - A record over SPF_RECSZ octets or of more than SPF_MAXTERMS terms is
 *   a permerror.
 * - A domain-spec that cannot be asked once expanded (DNS_BADNAME) is a
 *   permerror.
 * - %{p} expands to "unknown" (7.3 lets it; the RFC asks publishers not
 *   to use it).
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "now.h"
#include "spf.h"

/* macro_string()'s flags */
#define MS_CRT		1	/* the letters c, r, t (explanations only) */
#define MS_SPACE	2	/* SP (an explain-string, 6.2) */

enum mech {
	M_ALL, M_INCLUDE, M_A, M_MX, M_PTR, M_IP4, M_IP6, M_EXISTS
};

struct term {
	unsigned char	 mech;		/* enum mech */
	unsigned char	 qual;		/* enum spf_result */
	unsigned char	 cidr4, cidr6;
	unsigned char	 ip[16];	/* ip4, ip6 */
	unsigned short	 off, len;	/* the domain-spec; len 0: none */
};

struct record {
	char		 text[SPF_RECSZ];
	size_t		 len;
	struct term	 t[SPF_MAXTERMS];
	size_t		 nt;
	unsigned short	 rdoff, rdlen;	/* redirect=; rdlen 0: none */
	unsigned short	 expoff, explen;/* exp= */
};

static const struct {
	const char	*name;
	enum mech	 mech;
	int		 arg;	/* 0 none, 1 optional, 2 required */
	int		 cidr;	/* 0 none, 4, 6, or 46 (dual) */
} mechs[] = {
	{ "all", M_ALL, 0, 0 },
	{ "include", M_INCLUDE, 2, 0 },
	{ "a", M_A, 1, 46 },
	{ "mx", M_MX, 1, 46 },
	{ "ptr", M_PTR, 1, 0 },
	{ "ip4", M_IP4, 2, 4 },
	{ "ip6", M_IP6, 2, 6 },
	{ "exists", M_EXISTS, 2, 0 },
};

static enum spf_result	 check(struct spf *, const char *, int);
static enum spf_result	 fetch(struct spf *, const char *, struct record *);
static int	 parse(struct spf *, struct record *);
static int	 parse_term(struct spf *, struct record *, size_t, size_t);
static int	 parse_mech(struct spf *, struct record *, size_t, size_t);
static int	 parse_cidr(const char *, size_t, int, struct term *);
static int	 macro_string(const char *, size_t, int, size_t *);
static void	 explain(struct spf *, struct record *, const char *);
static void	 explain_text(struct spf *, const char *, size_t,
		    const char *);
static int	 domain_spec(const char *, size_t);
static enum spf_result	 eval(struct spf *, struct record *, const char *,
		    int);
static int	 eval_term(struct spf *, struct record *, struct term *,
		    const char *, int);
static int	 target(struct spf *, struct record *, struct term *,
		    const char *, char *);
static int	 ask(struct spf *, const char *, int);
static int	 void_over(struct spf *);
static int	 in_answer(const struct spf *, int, int);
static int	 match_addrs(struct spf *, const char *, int, int);
static int	 match_mx(struct spf *, const char *, int, int);
static int	 match_ptr(struct spf *, const char *);
static int	 in_net(const struct spf *, const unsigned char *, int, int);
static int	 expand(struct spf *, const char *, size_t, const char *,
		    char *, size_t);
static size_t	 expand_raw(struct spf *, const char *, size_t, const char *,
		    char *, size_t);
static size_t	 letter(struct spf *, int, const char *, char *, size_t);
static size_t	 transform(const char *, size_t, unsigned, int, const char *,
		    size_t, int, char *, size_t);
static int	 valid_domain(const char *);
static int	 is_spf1(const char *, size_t);
static int	 permerror(struct spf *, const char *);

/*
 * spf_init - the client address (IPv4, IPv6, IPv4-mapped IPv6 as IPv4),
 * the sender's local-part and domain ("postmaster" when the sender has
 * no local-part, 4.3), the HELO name, the receiver's name for %{r}
 * ("unknown" when NULL or empty); -1 when the address or a name does
 * not fit.
 */
int
spf_init(struct spf *s, const struct dns_server *srv, long long deadline,
    const char *ip, const char *sender, const char *helo,
    const char *receiver)
{
	const char	*at;

	memset(s, 0, offsetof(struct spf, ans));
	s->srv = srv;
	s->deadline = deadline;
	if (spf_address(ip, &s->af, s->ip) == -1)
		return -1;
	if ((at = strrchr(sender, '@')) == NULL || at == sender) {
		memcpy(s->local, "postmaster", sizeof("postmaster"));
		at = at ? at + 1 : sender;
	} else {
		if ((size_t)(at - sender) >= sizeof(s->local))
			return -1;
		memcpy(s->local, sender, at - sender);
		s->local[at - sender] = '\0';
		at++;
	}
	if (receiver == NULL || *receiver == '\0')
		receiver = "unknown";
	if (strlen(at) >= sizeof(s->sender_domain) ||
	    strlen(helo) >= sizeof(s->helo) ||
	    strlen(receiver) >= sizeof(s->receiver))
		return -1;
	memcpy(s->sender_domain, at, strlen(at) + 1);
	memcpy(s->helo, helo, strlen(helo) + 1);
	memcpy(s->receiver, receiver, strlen(receiver) + 1);
	return 0;
}

/*
 * spf_address - an address in text as the check takes it: AF_INET and 4
 * octets, or AF_INET6 and 16; an IPv4-mapped IPv6 address is the IPv4
 * address it carries.  -1 for anything else.
 */
int
spf_address(const char *text, int *af, unsigned char *ip)
{
	static const unsigned char mapped[12] =
	    { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (inet_pton(AF_INET, text, ip) == 1) {
		*af = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, text, ip) != 1)
		return -1;
	*af = AF_INET6;
	if (memcmp(ip, mapped, sizeof(mapped)) == 0) {
		memmove(ip, ip + 12, 4);
		*af = AF_INET;
	}
	return 0;
}

/*
 * spf_check_host - check_host(<ip>, <domain>, <sender>), section 4; on
 * fail, the explanation (6.2) in s->exp.  Each call starts its counters
 * afresh.
 */
enum spf_result
spf_check_host(struct spf *s, const char *domain)
{
	s->nterms = s->nvoid = s->inc = 0;
	s->why = NULL;
	s->exp[0] = '\0';
	return check(s, domain, 0);
}

const char *
spf_result_text(enum spf_result r)
{
	static const char *const text[] = { "none", "neutral", "pass",
	    "fail", "softfail", "temperror", "permerror" };

	return (unsigned)r < sizeof(text) / sizeof(text[0]) ? text[r] : "?";
}

/* check - one check_host(), at a depth of include/redirect. */
static enum spf_result
check(struct spf *s, const char *domain, int depth)
{
	struct record	 rec;
	enum spf_result	 r;

	if (!valid_domain(domain)) {
		s->why = "not a multi-label domain name";
		return SPF_NONE;
	}
	if ((r = fetch(s, domain, &rec)) != SPF_PASS)
		return r;
	if (parse(s, &rec) == -1)
		return SPF_PERMERROR;
	return eval(s, &rec, domain, depth);
}

/*
 * valid_domain - 4.3: labels of 1 to 63 octets, at least two, 253
 * octets in all (a final dot allowed).
 */
static int
valid_domain(const char *d)
{
	size_t	 n = strlen(d), label = 0, labels = 0, i;

	if (n > 0 && d[n - 1] == '.')
		n--;
	if (n == 0 || n > 253)
		return 0;
	for (i = 0; i <= n; i++) {
		if (i == n || d[i] == '.') {
			if (label == 0 || label > 63)
				return 0;
			labels++;
			label = 0;
		} else
			label++;
	}
	return labels >= 2;
}

/* is_spf1 - 4.5: is the TXT record text (len octets) an SPF record? */
static int
is_spf1(const char *text, size_t len)
{
	return len >= 6 && strncasecmp(text, "v=spf1", 6) == 0 &&
	    (len == 6 || text[6] == ' ');
}

/* permerror - s->why says why; -1. */
static int
permerror(struct spf *s, const char *why)
{
	s->why = why;
	return -1;
}

/*
 * fetch - 4.4 and 4.5: the domain's one "v=spf1" TXT record into rec;
 * SPF_PASS when there is one, else the result to return.
 */
static enum spf_result
fetch(struct spf *s, const char *domain, struct record *rec)
{
	struct dns_rr	*rr;
	size_t		 i, found = 0;
	int		 rc;

	if ((rc = ask(s, domain, DNS_TXT)) == -1)
		return SPF_TEMPERROR;
	if (rc == -2)
		return SPF_NONE;	/* 4.3: a name that cannot be */
	for (i = 0; i < s->ans.nrr; i++) {
		rr = &s->ans.rr[i];
		if (!is_spf1((const char *)s->ans.text + rr->txtoff,
		    rr->txtlen))
			continue;
		if (found++ > 0) {
			s->why = "more than one v=spf1 record";
			return SPF_PERMERROR;
		}
		if (rr->txtlen >= sizeof(rec->text)) {
			s->why = "record too long";
			return SPF_PERMERROR;
		}
		memcpy(rec->text, s->ans.text + rr->txtoff, rr->txtlen);
		rec->len = rr->txtlen;
		rec->text[rec->len] = '\0';
	}
	if (s->ans.more) {
		s->why = "more TXT records than kept";
		return SPF_PERMERROR;
	}
	if (found == 0) {
		s->why = "no v=spf1 record";
		return SPF_NONE;
	}
	return SPF_PASS;
}

/*
 * ask - one question before the deadline: 1 with records in s->ans, 0
 * for none (NXDOMAIN or NODATA), -1 for a temperror (s->why says), -2
 * for a name that cannot be asked.
 */
static int
ask(struct spf *s, const char *name, int type)
{
	long long	 left = s->deadline - now_ms();
	enum dns_status	 st;

	if (left <= 0) {
		s->why = "deadline passed";
		return -1;
	}
	st = dns_query(s->srv, name, type, left > 0x7fffffff ? 0x7fffffff :
	    (int)left, &s->ans);
	switch (st) {
	case DNS_OK:
		return s->ans.nrr > 0;
	case DNS_NODATA:
	case DNS_NXDOMAIN:
		return 0;
	case DNS_BADNAME:
		s->why = "a name that cannot be asked";
		return -2;
	default:
		/* dns.c's reason, a string literal, says more than "error". */
		s->why = (st == DNS_ERROR || st == DNS_MALFORMED) &&
		    s->ans.why != NULL ? s->ans.why : dns_status_text(st);
		return -1;
	}
}

/*
 * void_over - one more void lookup (a question with no records, 4.6.4):
 * has the check now had more than SPF_MAXVOID?  Then s->why says so.
 */
static int
void_over(struct spf *s)
{
	if (++s->nvoid <= SPF_MAXVOID)
		return 0;
	s->why = "more than 2 void lookups";
	return 1;
}

/*
 * in_answer - is one of the addresses in s->ans, as A or AAAA records
 * for the client's family, in the client's network of cidr4 or cidr6?
 */
static int
in_answer(const struct spf *s, int cidr4, int cidr6)
{
	int	 six = s->af == AF_INET6;
	size_t	 i;

	for (i = 0; i < s->ans.nrr; i++)
		if (in_net(s, s->ans.rr[i].addr, six ? cidr6 : cidr4,
		    six ? 16 : 4))
			return 1;
	return 0;
}

/* parse - the whole record, 4.6: any syntax error is a permerror. */
static int
parse(struct spf *s, struct record *rec)
{
	size_t	 i = 6, start;

	rec->nt = 0;
	rec->rdlen = rec->explen = 0;
	for (;;) {
		while (i < rec->len && rec->text[i] == ' ')
			i++;
		if (i >= rec->len)
			return 0;
		if (rec->text[i - 1] != ' ')
			return permerror(s, "terms not separated by a space");
		start = i;
		while (i < rec->len && rec->text[i] != ' ')
			i++;
		if (parse_term(s, rec, start, i - start) == -1)
			return -1;
	}
}

/* parse_term - a modifier (name "=" ...) or a directive. */
static int
parse_term(struct spf *s, struct record *rec, size_t off, size_t len)
{
	const char	*p = rec->text + off;
	size_t		 n = 0, end;

	if (isalpha((unsigned char)p[0]))
		for (n = 1; n < len && (isalnum((unsigned char)p[n]) ||
		    p[n] == '-' || p[n] == '_' || p[n] == '.'); n++)
			;
	if (n == 0 || n == len || p[n] != '=')
		return parse_mech(s, rec, off, len);
	if (!macro_string(p + n + 1, len - n - 1, MS_CRT, &end))
		return permerror(s, "a modifier's value is not a macro-string");
	if (n == 8 && strncasecmp(p, "redirect", 8) == 0) {
		if (rec->rdlen != 0 || !domain_spec(p + 9, len - 9))
			return permerror(s, "a bad or second redirect=");
		rec->rdoff = off + 9;
		rec->rdlen = len - 9;
	} else if (n == 3 && strncasecmp(p, "exp", 3) == 0) {
		if (rec->explen != 0 || !domain_spec(p + 4, len - 4))
			return permerror(s, "a bad or second exp=");
		rec->expoff = off + 4;
		rec->explen = len - 4;
	}
	return 0;	/* 6: an unknown modifier is ignored */
}

/* parse_mech - [qualifier] mechanism [":" domain-spec] [cidr]. */
static int
parse_mech(struct spf *s, struct record *rec, size_t off, size_t len)
{
	const char	*p = rec->text + off, *q = strchr("+-~?", p[0]);
	static const unsigned char quals[] = { SPF_PASS, SPF_FAIL,
	    SPF_SOFTFAIL, SPF_NEUTRAL };
	struct term	*t;
	size_t		 i, n, arg, slash;
	int		 depth = 0, colon = 0;

	if (rec->nt == SPF_MAXTERMS)
		return permerror(s, "too many terms");
	t = &rec->t[rec->nt];
	memset(t, 0, sizeof(*t));
	t->qual = SPF_PASS;
	if (p[0] != '\0' && q != NULL) {
		t->qual = quals[q - "+-~?"];
		p++, off++, len--;
	}
	for (n = 0; n < len && isalnum((unsigned char)p[n]); n++)
		;
	for (i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++)
		if (strlen(mechs[i].name) == n &&
		    strncasecmp(p, mechs[i].name, n) == 0)
			break;
	if (i == sizeof(mechs) / sizeof(mechs[0]))
		return permerror(s, "an unknown mechanism");
	t->mech = mechs[i].mech;
	t->cidr4 = 32;
	t->cidr6 = 128;
	arg = n;
	if (n < len && p[n] == ':') {
		if (mechs[i].arg == 0)
			return permerror(s, "an argument where none is taken");
		arg = ++n;
		colon = 1;
	} else if (mechs[i].arg == 2)
		return permerror(s, "a mechanism without its argument");
	/* the first "/" outside a macro ends the domain-spec */
	for (slash = arg; slash < len; slash++) {
		if (p[slash] == '{')
			depth = 1;
		else if (p[slash] == '}')
			depth = 0;
		else if (p[slash] == '/' && !depth)
			break;
	}
	if (slash < len && mechs[i].cidr == 0)
		return permerror(s, "a CIDR length where none is taken");
	if (slash < len && parse_cidr(p + slash, len - slash, mechs[i].cidr,
	    t) == -1)
		return permerror(s, "a bad CIDR length");
	if (t->mech == M_IP4 || t->mech == M_IP6) {
		char	 a[64];

		if (slash - arg >= sizeof(a))
			return permerror(s, "a bad address");
		memcpy(a, p + arg, slash - arg);
		a[slash - arg] = '\0';
		if (inet_pton(t->mech == M_IP4 ? AF_INET : AF_INET6, a,
		    t->ip) != 1)
			return permerror(s, "a bad address");
	} else if (colon) {
		if (!domain_spec(p + arg, slash - arg))
			return permerror(s, "a bad domain-spec");
		t->off = off + arg;
		t->len = slash - arg;
	} else if (slash != n)
		return permerror(s, "a bad mechanism");
	rec->nt++;
	return 0;
}

/*
 * parse_cidr - "/N" (ip4, ip6) or dual-cidr-length "/N", "//M",
 * "/N//M" (a, mx): no leading zero, in range.
 */
static int
parse_cidr(const char *p, size_t len, int kind, struct term *t)
{
	size_t		 i = 0, d;
	unsigned	 v, max;
	int		 six;

	while (i < len) {
		if (p[i] != '/')
			return -1;
		i++;
		six = kind == 6;
		if (kind == 46 && i < len && p[i] == '/') {
			six = 1;
			i++;
		} else if (kind == 46 && i > 1)
			return -1;	/* "/N/M" */
		max = six ? 128 : 32;
		for (d = 0, v = 0; i < len && isdigit((unsigned char)p[i]);
		    i++, d++)
			v = v * 10 + (p[i] - '0');
		if (d == 0 || d > 3 || (d > 1 && p[i - d] == '0') || v > max)
			return -1;
		if (six)
			t->cidr6 = v;
		else
			t->cidr4 = v;
		if ((six || kind != 46) && i < len)
			return -1;	/* nothing after the last length */
	}
	return 0;
}

/*
 * macro_string - section 7.1's macro-string: literals %x21-24 / %x26-7E,
 * and macro-expands; c, r and t only with MS_CRT, SP only with MS_SPACE
 * (an explain-string).  *end is where the last macro-expand ends (0 for
 * none).
 */
static int
macro_string(const char *p, size_t len, int flags, size_t *end)
{
	size_t	 i, d;
	int	 v;

	*end = 0;
	for (i = 0; i < len; i++) {
		if (p[i] == ' ' && (flags & MS_SPACE))
			continue;
		if (p[i] < 0x21 || p[i] > 0x7e)
			return 0;
		if (p[i] != '%')
			continue;
		if (++i == len)
			return 0;
		if (p[i] == '%' || p[i] == '_' || p[i] == '-') {
			*end = i + 1;
			continue;
		}
		if (p[i] != '{' || ++i == len ||
		    strchr((flags & MS_CRT) ? "slodiphcrtv" : "slodiphv",
		    tolower((unsigned char)p[i])) == NULL || p[i] == '\0')
			return 0;
		/* 7.3: a digit transformer, if given, is not zero */
		for (i++, v = 0, d = 0; i < len &&
		    isdigit((unsigned char)p[i]); i++, d++)
			v |= p[i] - '0';
		if (d > 0 && v == 0)
			return 0;
		if (i < len && (p[i] == 'r' || p[i] == 'R'))
			i++;
		for (; i < len && p[i] != '\0' && strchr(".-+,/_=", p[i]) &&
		    p[i] != '}'; i++)
			;
		if (i == len || p[i] != '}')
			return 0;
		*end = i + 1;
	}
	return 1;
}

/*
 * domain_spec - a macro-string ending in a macro-expand or in "."
 * toplabel ["."] (section 12).
 */
static int
domain_spec(const char *p, size_t len)
{
	size_t	 end, start, i;
	int	 alpha = 0;

	if (len == 0 || !macro_string(p, len, 0, &end))
		return 0;
	if (end == len)
		return 1;	/* ends in a macro-expand */
	end = p[len - 1] == '.' ? len - 1 : len;
	for (start = end; start > 0 && p[start - 1] != '.'; start--)
		;
	if (start == 0 || start == end)
		return 0;
	for (i = start; i < end; i++) {
		if (isalpha((unsigned char)p[i]))
			alpha = 1;
		else if (!isdigit((unsigned char)p[i]) && p[i] != '-')
			return 0;
	}
	if (p[start] == '-' || p[end - 1] == '-')
		return 0;
	/* all digits is not a toplabel; digits with a hyphen are */
	return alpha || memchr(p + start, '-', end - start) != NULL;
}

/*
 * eval - 4.6.2: the first mechanism that matches gives its qualifier;
 * then redirect=, wherever it stood; else neutral.  (6.1 ignores a
 * redirect= beside "all": "all" always matches, so it is never reached.)
 */
static enum spf_result
eval(struct spf *s, struct record *rec, const char *domain, int depth)
{
	char		 name[DNS_NAMESZ];
	size_t		 i;
	int		 m;

	for (i = 0; i < rec->nt; i++) {
		m = eval_term(s, rec, &rec->t[i], domain, depth);
		if (m < 0)
			return -m;
		if (m == 1) {
			/*
			 * 6.2: a fail explained by this record's exp=, but
			 * not within an include: (its result is only a
			 * match of the includer's mechanism).
			 */
			if (rec->t[i].qual == SPF_FAIL && s->inc == 0 &&
			    rec->explen != 0)
				explain(s, rec, domain);
			return rec->t[i].qual;
		}
	}
	if (rec->rdlen == 0)
		return SPF_NEUTRAL;
	if (++s->nterms > SPF_MAXDNS) {
		s->why = "more than 10 DNS-querying terms";
		return SPF_PERMERROR;
	}
	if (expand(s, rec->text + rec->rdoff, rec->rdlen, domain, name,
	    sizeof(name)) == -1)
		return SPF_PERMERROR;
	m = check(s, name, depth + 1);
	if (m == SPF_NONE) {
		s->why = "redirect= to a domain without a record";
		return SPF_PERMERROR;
	}
	return m;
}

/*
 * eval_term - one mechanism: 1 on a match, 0 on none, or minus the
 * result that ends check_host() (temperror, permerror).
 */
static int
eval_term(struct spf *s, struct record *rec, struct term *t,
    const char *domain, int depth)
{
	char		 name[DNS_NAMESZ];
	enum spf_result	 r;
	int		 m;

	switch (t->mech) {
	case M_ALL:
		return 1;
	case M_IP4:
		return s->af == AF_INET && in_net(s, t->ip, t->cidr4, 4);
	case M_IP6:
		return s->af == AF_INET6 && in_net(s, t->ip, t->cidr6, 16);
	default:
		break;
	}
	if (++s->nterms > SPF_MAXDNS) {
		s->why = "more than 10 DNS-querying terms";
		return -SPF_PERMERROR;
	}
	if (target(s, rec, t, domain, name) == -1)
		return -SPF_PERMERROR;
	switch (t->mech) {
	case M_INCLUDE:
		/* 5.2's table */
		s->inc++;
		r = check(s, name, depth + 1);
		s->inc--;
		if (r == SPF_PASS)
			return 1;
		if (r == SPF_TEMPERROR)
			return -SPF_TEMPERROR;
		if (r == SPF_PERMERROR || r == SPF_NONE) {
			if (r == SPF_NONE)
				s->why = "include: of a domain without a record";
			return -SPF_PERMERROR;
		}
		return 0;
	case M_A:
		return match_addrs(s, name, t->cidr4, t->cidr6);
	case M_MX:
		return match_mx(s, name, t->cidr4, t->cidr6);
	case M_PTR:
		return match_ptr(s, name);
	case M_EXISTS:
		m = ask(s, name, DNS_A);
		if (m == 0 && void_over(s))
			return -SPF_PERMERROR;
		return m == -1 ? -SPF_TEMPERROR : m == -2 ? -SPF_PERMERROR : m;
	default:
		return -SPF_PERMERROR;
	}
}

/* target - the mechanism's domain-spec expanded, or the current domain. */
static int
target(struct spf *s, struct record *rec, struct term *t,
    const char *domain, char *name)
{
	if (t->len == 0) {
		if (strlen(domain) >= DNS_NAMESZ)
			return -1;
		memcpy(name, domain, strlen(domain) + 1);
		return 0;
	}
	return expand(s, rec->text + t->off, t->len, domain, name,
	    DNS_NAMESZ);
}

/* in_net - whether the client is in addr/bits (n octets of address). */
static int
in_net(const struct spf *s, const unsigned char *addr, int bits, int n)
{
	int	 i;

	for (i = 0; i < n && bits > 0; i++, bits -= 8) {
		unsigned mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;

		if ((s->ip[i] & mask) != (addr[i] & mask))
			return 0;
	}
	return 1;
}

/*
 * match_addrs - 5.3: an A (AAAA for an IPv6 client) of name in the
 * client's network; a void answer counts.  1, 0, or minus a result.
 */
static int
match_addrs(struct spf *s, const char *name, int cidr4, int cidr6)
{
	int	 m;

	m = ask(s, name, s->af == AF_INET6 ? DNS_AAAA : DNS_A);
	if (m == -1)
		return -SPF_TEMPERROR;
	if (m == -2)
		return -SPF_PERMERROR;
	if (m == 0)
		return void_over(s) ? -SPF_PERMERROR : 0;
	if (in_answer(s, cidr4, cidr6))
		return 1;
	if (s->ans.more) {
		s->why = "more addresses than kept";
		return -SPF_PERMERROR;
	}
	return 0;
}

/*
 * match_mx - 5.4: the addresses of each MX host; more than 10 MX names
 * is a permerror (4.6.4).
 */
static int
match_mx(struct spf *s, const char *name, int cidr4, int cidr6)
{
	char	 hosts[SPF_MAXNAMES][DNS_NAMESZ];
	size_t	 i, n;
	int	 m;

	m = ask(s, name, DNS_MX);
	if (m == -1)
		return -SPF_TEMPERROR;
	if (m == -2)
		return -SPF_PERMERROR;
	if (m == 0)
		return void_over(s) ? -SPF_PERMERROR : 0;
	if (s->ans.nrr > SPF_MAXNAMES || s->ans.more) {
		s->why = "more than 10 MX names";
		return -SPF_PERMERROR;
	}
	n = s->ans.nrr;
	for (i = 0; i < n; i++)
		memcpy(hosts[i], s->ans.rr[i].name, DNS_NAMESZ);
	for (i = 0; i < n; i++) {
		/* a void lookup of an MX host is not counted (4.6.4) */
		m = ask(s, hosts[i], s->af == AF_INET6 ? DNS_AAAA : DNS_A);
		if (m == -1)
			return -SPF_TEMPERROR;
		if (m == 1 && in_answer(s, cidr4, cidr6))
			return 1;
	}
	return 0;
}

/*
 * match_ptr - 5.5: the client's PTR names (the first 10), each kept
 * when one of its addresses is the client's, and a match when a kept
 * name is the target or ends in "." target.  DNS errors are no match.
 */
static int
match_ptr(struct spf *s, const char *target)
{
	char	 names[SPF_MAXNAMES][DNS_NAMESZ], rev[DNS_NAMESZ];
	size_t	 i, j, n, tl = strlen(target), nl;
	int	 m;

	if (dns_reverse_name(s->af, s->ip, rev, sizeof(rev)) == -1)
		return 0;
	m = ask(s, rev, DNS_PTR);
	if (m == 0 && void_over(s))
		return -SPF_PERMERROR;
	if (m != 1)
		return 0;
	n = s->ans.nrr < SPF_MAXNAMES ? s->ans.nrr : SPF_MAXNAMES;
	for (i = 0; i < n; i++)
		memcpy(names[i], s->ans.rr[i].name, DNS_NAMESZ);
	for (i = 0; i < n; i++) {
		nl = strlen(names[i]);
		if (!(nl == tl || (nl > tl && names[i][nl - tl - 1] == '.')) ||
		    !dns_name_equal(names[i] + nl - tl, target))
			continue;
		if (ask(s, names[i], s->af == AF_INET6 ? DNS_AAAA :
		    DNS_A) != 1)
			continue;
		for (j = 0; j < s->ans.nrr; j++)
			if (in_net(s, s->ans.rr[j].addr, s->af == AF_INET6 ?
			    128 : 32, s->af == AF_INET6 ? 16 : 4))
				return 1;
	}
	return 0;
}

/*
 * expand - section 7: the domain-spec p (len octets, checked by
 * domain_spec()) expanded for domain into out, over 253 octets cut from
 * the left at label boundaries (7.3), with "\\" escaped for dns_query().
 * An expansion over 2047 octets before the cut is refused (a permerror).
 */
static int
expand(struct spf *s, const char *p, size_t len, const char *domain,
    char *out, size_t outsz)
{
	char		 buf[2048];
	const char	*r;
	size_t		 i, o, n, k;

	if ((o = expand_raw(s, p, len, domain, buf, sizeof(buf))) ==
	    (size_t)-1)
		goto toolong;
	/* 7.3: cut whole labels from the left to 253 octets */
	for (k = 0; o - k > 253; ) {
		r = memchr(buf + k, '.', o - k);
		if (r == NULL || r == buf + o - 1)
			goto toolong;
		k = r - buf + 1;
	}
	for (i = k, n = 0; i < o; i++) {
		if (n + 3 >= outsz)
			goto toolong;
		if (buf[i] == '\\')
			out[n++] = '\\';
		out[n++] = buf[i];
	}
	out[n] = '\0';
	return 0;
toolong:
	return permerror(s, "a macro expansion too long");
}

/*
 * expand_raw - the macro-string p (len octets, checked by
 * macro_string()) expanded for domain into buf, not NUL-terminated: its
 * length, or -1 when it does not fit in bufsz.
 */
static size_t
expand_raw(struct spf *s, const char *p, size_t len, const char *domain,
    char *buf, size_t bufsz)
{
	char		 val[1024];
	const char	*delim, *r;
	size_t		 i, o = 0, n, vl, dl;
	unsigned	 digits;
	int		 rev, upper;

	for (i = 0; i < len; i++) {
		if (p[i] != '%') {
			if (o + 1 >= bufsz)
				return (size_t)-1;
			buf[o++] = p[i];
			continue;
		}
		i++;
		if (p[i] != '{') {
			r = p[i] == '%' ? "%" : p[i] == '_' ? " " : "%20";
			if (o + strlen(r) >= bufsz)
				return (size_t)-1;
			memcpy(buf + o, r, strlen(r));
			o += strlen(r);
			continue;
		}
		upper = isupper((unsigned char)p[++i]);
		vl = letter(s, tolower((unsigned char)p[i]), domain, val,
		    sizeof(val));
		for (i++, digits = 0; isdigit((unsigned char)p[i]); i++)
			digits = digits > 1000 ? digits : digits * 10 +
			    (p[i] - '0');
		if ((rev = (p[i] == 'r' || p[i] == 'R')))
			i++;
		delim = p + i;
		for (dl = 0; p[i] != '}'; i++)
			dl++;
		n = transform(val, vl, digits, rev, dl ? delim : ".", dl ?
		    dl : 1, upper, buf + o, bufsz - o);
		if (n == (size_t)-1)
			return (size_t)-1;
		o += n;
	}
	return o;
}

/*
 * explain - 6.2: the explanation of a fail from rec (checked at domain)
 * into s->exp, from the one TXT record at its exp= domain-spec.  Nothing
 * on any error (a DNS error, no or several records, and explain_text()'s
 * own): the result stays fail, s->why as it was, and the question is not
 * one of the 10 DNS-querying terms.
 */
static void
explain(struct spf *s, struct record *rec, const char *domain)
{
	char		 name[DNS_NAMESZ];
	const char	*why = s->why;
	struct dns_rr	*rr;

	if (expand(s, rec->text + rec->expoff, rec->explen, domain, name,
	    sizeof(name)) == 0 && ask(s, name, DNS_TXT) == 1 &&
	    s->ans.nrr == 1 && !s->ans.more) {
		rr = &s->ans.rr[0];
		explain_text(s, (const char *)s->ans.text + rr->txtoff,
		    rr->txtlen, domain);
	}
	s->why = why;
}

/*
 * explain_text - text (len octets) as an explain-string (6.2)
 * macro-expanded into s->exp; nothing when its syntax is bad, when the
 * expansion does not fit whole, or holds an octet that is not printable
 * ASCII (the values of l, s, h are the client's).
 */
static void
explain_text(struct spf *s, const char *text, size_t len,
    const char *domain)
{
	char	 buf[SPF_EXPSZ];
	size_t	 n, i, end;

	if (!macro_string(text, len, MS_CRT | MS_SPACE, &end) ||
	    (n = expand_raw(s, text, len, domain, buf, sizeof(buf))) ==
	    (size_t)-1)
		return;
	for (i = 0; i < n; i++)
		if (buf[i] < 0x20 || buf[i] > 0x7e)
			return;
	memcpy(s->exp, buf, n);
	s->exp[n] = '\0';
}

/* letter - the value of a macro letter (7.2) into val; its length. */
static size_t
letter(struct spf *s, int c, const char *domain, char *val, size_t valsz)
{
	static const char hex[] = "0123456789abcdef";
	size_t		 o = 0;
	int		 i, n;

	switch (c) {
	case 's':
		n = snprintf(val, valsz, "%s@%s", s->local, s->sender_domain);
		break;
	case 'l':
		n = snprintf(val, valsz, "%s", s->local);
		break;
	case 'o':
		n = snprintf(val, valsz, "%s", s->sender_domain);
		break;
	case 'd':
		n = snprintf(val, valsz, "%s", domain);
		break;
	case 'h':
		n = snprintf(val, valsz, "%s", s->helo);
		break;
	case 'v':
		n = snprintf(val, valsz, "%s", s->af == AF_INET ? "in-addr" :
		    "ip6");
		break;
	case 'c':	/* 7.3: the address as people write it */
		if (inet_ntop(s->af, s->ip, val, valsz) == NULL)
			return 0;
		return strlen(val);
	case 'r':
		n = snprintf(val, valsz, "%s", s->receiver);
		break;
	case 't':
		n = snprintf(val, valsz, "%lld", (long long)time(NULL));
		break;
	case 'i':
		if (s->af == AF_INET) {
			n = snprintf(val, valsz, "%u.%u.%u.%u", s->ip[0],
			    s->ip[1], s->ip[2], s->ip[3]);
			break;
		}
		/* 7.3: IPv6 as dot-separated nibbles */
		for (i = 0; i < 16 && o + 4 < valsz; i++) {
			val[o++] = hex[s->ip[i] >> 4];
			val[o++] = '.';
			val[o++] = hex[s->ip[i] & 0xf];
			val[o++] = i < 15 ? '.' : '\0';
		}
		return o > 0 ? o - 1 : 0;
	default:	/* p: 7.3 allows "unknown" */
		n = snprintf(val, valsz, "unknown");
		break;
	}
	return n < 0 ? 0 : (size_t)n >= valsz ? valsz - 1 : (size_t)n;
}

/*
 * transform - 7.3: val split at any of the delimiters, reversed if rev,
 * the rightmost digits parts (all when 0) joined with "."; URL-escaped
 * when upper.  Its length in out, or -1 when it does not fit.
 */
static size_t
transform(const char *val, size_t vl, unsigned digits, int rev,
    const char *delim, size_t dl, int upper, char *out, size_t outsz)
{
	size_t		 start[1024], end[1024], np = 0, i, first, o = 0, k;
	static const char hex[] = "0123456789ABCDEF";

	start[0] = 0;
	for (i = 0; i <= vl && np < 1024; i++)
		if (i == vl || memchr(delim, val[i], dl) != NULL) {
			end[np++] = i;
			if (np < 1024)
				start[np] = i + 1;
		}
	if (rev)
		for (i = 0; i < np / 2; i++) {
			size_t ts = start[i], te = end[i];

			start[i] = start[np - 1 - i];
			end[i] = end[np - 1 - i];
			start[np - 1 - i] = ts;
			end[np - 1 - i] = te;
		}
	first = digits != 0 && digits < np ? np - digits : 0;
	for (i = first; i < np; i++) {
		if (i > first) {
			if (o + 1 >= outsz)
				return (size_t)-1;
			out[o++] = '.';
		}
		for (k = start[i]; k < end[i]; k++) {
			unsigned char c = val[k];

			if (upper && !isalnum(c) && !strchr("-._~", c)) {
				if (o + 3 >= outsz)
					return (size_t)-1;
				out[o++] = '%';
				out[o++] = hex[c >> 4];
				out[o++] = hex[c & 0xf];
			} else {
				if (o + 1 >= outsz)
					return (size_t)-1;
				out[o++] = c;
			}
		}
	}
	return o;
}

/*
 * spf_parse_record - for fuzz/spf.c: text (len octets) taken as the one
 * TXT record of domain, with no DNS question asked: selected (4.5),
 * parsed (4.6), every domain-spec in it expanded (section 7) and given
 * to each(); then text taken as an explanation (6.2) into s->exp.  1
 * for a record, 0 for none, -1 for a permerror (s->why says).
 */
int
spf_parse_record(struct spf *s, const char *text, size_t len,
    const char *domain, void (*each)(const char *, void *), void *arg)
{
	static struct record	 rec;
	char			 name[DNS_NAMESZ];
	size_t			 i;
	int			 rc = 1;

	s->why = NULL;
	s->exp[0] = '\0';
	if (len >= sizeof(rec.text))
		return permerror(s, "record too long");
	explain_text(s, text, len, domain);
	if (!is_spf1(text, len))
		return 0;
	memcpy(rec.text, text, len);
	rec.text[len] = '\0';
	rec.len = len;
	if (parse(s, &rec) == -1)
		return -1;
	for (i = 0; i < rec.nt; i++) {
		if (rec.t[i].len == 0)
			continue;
		if (target(s, &rec, &rec.t[i], domain, name) == -1)
			rc = -1;
		else
			each(name, arg);
	}
	if (rec.rdlen != 0 && expand(s, rec.text + rec.rdoff, rec.rdlen,
	    domain, name, sizeof(name)) == 0)
		each(name, arg);
	if (rec.explen != 0 && expand(s, rec.text + rec.expoff, rec.explen,
	    domain, name, sizeof(name)) == 0)
		each(name, arg);
	return rc;
}
