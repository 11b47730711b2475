/*
 * auth.c - the SPF verdict on a transaction's sender (auth.h).
 *
 * Both identities of RFC 7208 are checked: MAIL FROM (2.4), with
 * postmaster@HELO standing in for the null reverse-path, and HELO (2.3)
 * when it is a domain.  The MAIL FROM identity decides: its result is
 * the one Received-SPF: records and the policy acts on.  For <> that
 * identity is the HELO's, checked once.  Authentication-Results: gives
 * both.
 *
 * One deadline covers the checks of a transaction: spf-timeout (20 s,
 * RFC 7208 4.6.4's floor), under stress the shorter of it and
 * stress-timeout, never past the session's own deadline.  MAIL FROM is
 * asked first, so that a slow HELO domain cannot starve the identity
 * that decides; past the deadline a check is a temperror.
 *
 * Everything that reaches a header is either ours, a validated address
 * or HELO name (addr.c), or spf.c's explanation (printable ASCII), and
 * goes through addr_comment() or addr_value().
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "auth.h"
#include "conf.h"
#include "log.h"
#include "now.h"

/* Header text being put together; over: it did not fit. */
struct text {
	char	*p;
	size_t	 len, size;
	int	 over;
};

/* What one identity's check found. */
struct verdict {
	enum spf_result	 result;
	const char	*why;		/* of a temperror, permerror */
};

static int	 exempt(const struct auth_in *);
static long long deadline(const struct auth_in *);
static void	 check(const struct auth_in *, long long, const char *,
		    const char *, struct verdict *, struct auth *);
static void	 explain(const struct auth_in *, const char *,
		    struct auth *);
static void	 headers(const struct auth_in *, const struct verdict *,
		    const struct verdict *, struct auth *);
static void	 resinfo(struct text *, const struct verdict *);
static void	 received_spf(struct text *, const struct auth_in *,
		    const char *, const struct verdict *, const struct auth *);
static void	 comment(struct text *, const struct auth_in *, const char *,
		    const struct verdict *, const struct auth *);
static void	 log_verdict(const struct auth_in *, const struct verdict *,
		    const struct verdict *, long long);
static void	 put(struct text *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/*
 * A check's state, with its DNS answer (over 100 KB): one per process,
 * since a worker runs one session at a time.
 */
static struct spf	 the_spf;

/*
 * auth_check - check the sender of a transaction, fill *a, and say what
 * the policy makes of it.
 */
enum auth_action
auth_check(const struct auth_in *in, struct auth *a)
{
	struct verdict	 mfrom, helo = { SPF_NONE, NULL };
	char		 sender[ADDR_PATH_MAX + ADDR_DOMAIN_MAX + 16];
	const char	*at;
	long long	 start = now_ms(), end = deadline(in);
	/* Section 2.3: a domain, not an address literal. */
	int		 helo_domain = in->helo[0] != '[' &&
			    addr_helo_is_domain(in->helo);

	memset(a, 0, sizeof(*a));
	if (exempt(in))
		return AUTH_ACCEPT;
	/* Section 2.4: <> is checked as postmaster@ the HELO domain. */
	if (in->from[0] == '\0') {
		if (helo_domain) {
			snprintf(sender, sizeof(sender), "postmaster@%s",
			    in->helo);
			check(in, end, sender, in->helo, &helo, a);
		}
		mfrom = helo;
	} else {
		/* The local part as written, the domain as asked. */
		at = strrchr(in->from, '@');
		snprintf(sender, sizeof(sender), "%.*s@%s",
		    (int)(at ? at - in->from : 0), in->from, in->from_domain);
		check(in, end, sender, in->from_domain, &mfrom, a);
		if (helo_domain) {
			snprintf(sender, sizeof(sender), "postmaster@%s",
			    in->helo);
			check(in, end, sender, in->helo, &helo, NULL);
		}
	}
	if (mfrom.result == SPF_FAIL && a->exp[0] == '\0')
		explain(in, NULL, a);
	headers(in, &mfrom, helo_domain ? &helo : NULL, a);
	log_verdict(in, &mfrom, in->from[0] && helo_domain ? &helo : NULL,
	    now_ms() - start);
	if (in->conf->spf != CONF_SPF_REJECT)
		return AUTH_ACCEPT;
	if (mfrom.result == SPF_FAIL)
		return AUTH_REFUSE;
	if (mfrom.result == SPF_TEMPERROR)
		return AUTH_DEFER;
	return AUTH_ACCEPT;	/* softfail, neutral, none, permerror */
}

/*
 * exempt - is this client not to be checked: spf off, an address not
 * known (smtpd -i on a pipe), loopback, or an spf-trusted network?
 */
static int
exempt(const struct auth_in *in)
{
	unsigned char	 ip[16];
	int		 af;

	if (in->conf->spf == CONF_SPF_OFF || in->peer == NULL ||
	    spf_address(in->peer, &af, ip) == -1)
		return 1;
	if (af == AF_INET && ip[0] == 127)
		return 1;
	if (af == AF_INET6 && IN6_IS_ADDR_LOOPBACK((struct in6_addr *)ip))
		return 1;
	return conf_spf_trusted(in->conf, af, ip);
}

/*
 * deadline - when the checks of this transaction must end (see the
 * comment at the top of this file).
 */
static long long
deadline(const struct auth_in *in)
{
	int		 secs = in->conf->spf_timeout;
	long long	 end;

	if (in->stressed && in->conf->stress_timeout < secs)
		secs = in->conf->stress_timeout;
	end = now_ms() + secs * 1000LL;
	return in->end_ms != 0 && in->end_ms < end ? in->end_ms : end;
}

/*
 * check - check_host() for one identity; with a non-NULL a, the one that
 * decides, whose explanation is kept after a fail.
 */
static void
check(const struct auth_in *in, long long end, const char *sender,
    const char *domain, struct verdict *v, struct auth *a)
{
	struct spf	*s = &the_spf;

	v->why = NULL;
	if (in->dns == NULL) {
		v->result = SPF_TEMPERROR;
		v->why = "no resolver";
		return;
	}
	/* A sender or HELO name longer than RFC 5321 allows (4.3: none). */
	if (spf_init(s, in->dns, end, in->peer, sender, in->helo,
	    in->conf->hostname) == -1) {
		v->result = SPF_NONE;
		v->why = "too long to check";
		return;
	}
	v->result = spf_check_host(s, domain);
	v->why = s->why;
	if (a != NULL && v->result == SPF_FAIL && s->exp[0] != '\0')
		explain(in, s->exp, a);
}

/*
 * explain - the text of a fail, for the reply and Received-SPF: the
 * domain's explanation (6.2), said to be the domain's as RFC 7208 8.4
 * asks, or our own.
 */
static void
explain(const struct auth_in *in, const char *exp, struct auth *a)
{
	const char	*domain = in->from[0] ? in->from_domain : in->helo;
	int		 n;

	if (exp != NULL)
		n = snprintf(a->exp, sizeof(a->exp), "the domain %s explains: "
		    "%s", domain, exp);
	else
		n = snprintf(a->exp, sizeof(a->exp), "%s does not designate "
		    "%s as permitted sender", domain, in->peer);
	if (n < 0 || (size_t)n >= sizeof(a->exp))	/* cannot be */
		a->exp[0] = '\0';
}

/*
 * headers - Authentication-Results: (RFC 8601) with a result for each
 * identity checked, then Received-SPF: (RFC 7208 9.1) for the one that
 * decides.  Nothing when they do not fit (they always should).
 */
static void
headers(const struct auth_in *in, const struct verdict *mfrom,
    const struct verdict *helo, struct auth *a)
{
	struct text	 t = { a->headers, 0, sizeof(a->headers), 0 };
	char		 local[ADDR_PATH_MAX], v[2 * ADDR_PATH_MAX + 3];
	const char	*at = strrchr(in->from, '@');
	size_t		 locallen = at ? (size_t)(at - in->from) : 0;

	put(&t, "Authentication-Results: %s;", in->conf->hostname);
	if (in->from[0] != '\0') {
		/*
		 * RFC 8601 2.7.2: the address, or its domain alone when the
		 * local part is no dot-atom (a quoted string, UTF-8).
		 */
		snprintf(local, sizeof(local), "%.*s", (int)locallen, in->from);
		resinfo(&t, mfrom);
		if (addr_value(local, v, sizeof(v)) != NULL && v[0] != '"')
			put(&t, " smtp.mailfrom=%s@%s", v, in->from_domain);
		else
			put(&t, " smtp.mailfrom=%s", in->from_domain);
		if (helo != NULL)
			put(&t, ";");
	}
	if (helo != NULL) {
		resinfo(&t, helo);
		put(&t, " smtp.helo=%s", in->helo);
	} else if (in->from[0] == '\0')
		put(&t, "\r\n\tspf=none smtp.helo=%s", addr_value(in->helo, v,
		    sizeof(v)) ? v : "\"\"");
	put(&t, "\r\n");
	received_spf(&t, in, in->from[0] ? "mailfrom" : "helo", mfrom, a);
	if (t.over)
		a->headers[0] = '\0';
}

/*
 * resinfo - "spf=RESULT" on a line of its own, with the reason of a
 * temperror or permerror (RFC 8601 2.2's reasonspec).
 */
static void
resinfo(struct text *t, const struct verdict *v)
{
	char	 r[2 * 64 + 3];

	put(t, "\r\n\tspf=%s", spf_result_text(v->result));
	if (v->why != NULL && (v->result == SPF_TEMPERROR ||
	    v->result == SPF_PERMERROR))
		put(t, " reason=%s", addr_value(v->why, r, sizeof(r)) ? r :
		    "\"\"");
}

/*
 * received_spf - the header of RFC 7208 9.1: the result, a comment a
 * person can read, and the key-value pairs a program can.
 */
static void
received_spf(struct text *t, const struct auth_in *in, const char *identity,
    const struct verdict *v, const struct auth *a)
{
	char	 buf[2 * ADDR_PATH_MAX + 3];

	put(t, "Received-SPF: %s (", spf_result_text(v->result));
	comment(t, in, identity, v, a);
	put(t, ")\r\n\tclient-ip=%s;", addr_value(in->peer, buf, sizeof(buf)) ?
	    buf : "\"\"");
	put(t, "\r\n\tenvelope-from=%s;", addr_value(in->from, buf,
	    sizeof(buf)) ? buf : "\"\"");
	put(t, "\r\n\thelo=%s;", addr_value(in->helo, buf, sizeof(buf)) ?
	    buf : "\"\"");
	put(t, "\r\n\tidentity=%s; receiver=%s;\r\n", identity,
	    in->conf->hostname);
}

/*
 * comment - Received-SPF's comment, in the words of RFC 7208 9.1's
 * examples; it names the receiver, the identity and the client.
 */
static void
comment(struct text *t, const struct auth_in *in, const char *identity,
    const struct verdict *v, const struct auth *a)
{
	/*
	 * buf holds the explanation escaped on a line of its own: cut, if
	 * it must be, well inside RFC 5322's 998 octets a line.
	 */
	char		 who[2 * ADDR_PATH_MAX + 32], buf[960];
	const char	*ip = in->peer;

	if (strcmp(identity, "helo") == 0)
		snprintf(buf, sizeof(buf), "postmaster@%s", in->helo);
	else
		snprintf(buf, sizeof(buf), "%s", in->from);
	addr_comment(buf, who, sizeof(who));
	put(t, "%s: ", in->conf->hostname);
	switch (v->result) {
	case SPF_PASS:
		put(t, "domain of %s\r\n\tdesignates %s as permitted sender",
		    who, ip);
		break;
	case SPF_FAIL:
		put(t, "domain of %s\r\n\tdoes not designate %s as permitted "
		    "sender:\r\n\t%s", who, ip, addr_comment(a->exp, buf,
		    sizeof(buf)));
		break;
	case SPF_SOFTFAIL:
		put(t, "domain of transitioning %s\r\n\tdoes not designate %s "
		    "as permitted sender", who, ip);
		break;
	case SPF_NEUTRAL:
		put(t, "%s is neither permitted nor denied by\r\n\tdomain of "
		    "%s", ip, who);
		break;
	case SPF_NONE:
		put(t, "domain of %s\r\n\tdoes not designate permitted sender "
		    "hosts", who);
		break;
	case SPF_TEMPERROR:
	case SPF_PERMERROR:
		put(t, "%s error checking %s\r\n\tfor %s: %s",
		    v->result == SPF_TEMPERROR ? "temporary" : "permanent",
		    who, ip, addr_comment(v->why ? v->why : "unknown", buf,
		    sizeof(buf)));
		break;
	}
}

/*
 * log_verdict - event=spf: the result of the identity that decides and,
 * when it was asked apart, the HELO's; how long the checks took.
 */
static void
log_verdict(const struct auth_in *in, const struct verdict *v,
    const struct verdict *helo, long long ms)
{
	char	 peer[LOG_PEER_MAX], from[4 * ADDR_PATH_MAX], why[512];

	if (v->why != NULL)
		snprintf(why, sizeof(why), " reason=%s",
		    log_value(v->why, from, sizeof(from)));
	else
		why[0] = '\0';
	log_info("%s event=spf peer=%s from=\"<%s>\" identity=%s result=%s%s%s"
	    " ms=%lld%s", in->id, log_peer(in->peer, peer, sizeof(peer)),
	    log_escape(in->from, strlen(in->from), from, sizeof(from)),
	    in->from[0] ? "mailfrom" : "helo", spf_result_text(v->result),
	    helo ? " helo-result=" : "", helo ? spf_result_text(helo->result) :
	    "", ms, why);
}

/*
 * put - append to the header text; past its end nothing more is
 * written and the text is marked over.
 */
static void
put(struct text *t, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	if (t->over)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->p + t->len, t->size - t->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= t->size - t->len) {
		t->over = 1;
		t->p[t->len] = '\0';
		return;
	}
	t->len += n;
}
