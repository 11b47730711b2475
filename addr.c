/*
 * addr.c - the address grammar: RFC 5321 4.1.2 paths and domains, with
 * RFC 6531's UTF-8, as pure functions of a string.
 *
 * A path is "<" [source route ":"] local-part "@" domain ">".  The local
 * part is a Dot-string or a Quoted-string; the domain letter-digit-hyphen
 * labels (or UTF-8 U-labels, which the session allows only with
 * SMTPUTF8) or an address literal in brackets.  The limits of 4.5.3.1
 * are enforced here: 64 octets of local part, 255 of domain, 256 of path
 * with its brackets; a domain name is then put in idna.c's canonical
 * form, which refuses an "xn--" label that is not an A-label and a
 * domain whose A-labels pass 253 octets.  Nothing here knows about
 * replies or the spool.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "idna.h"

static int	 fail(struct addr_path *, const char *);
static int	 atext(int);
static const char *parse_local(const char *, struct addr_path *);
static const char *parse_domain(const char *, char *, size_t, int *);
static const char *skip_route(const char *);
static int	 canonical(const char *, struct addr_path *);

/*
 * addr_parse_path - RFC 5321 4.1.2 Path, or "<>" with ADDR_EMPTY_OK, or
 * "<postmaster>" with ADDR_POSTMASTER.  A source route is skipped
 * (4.1.1.3 says to ignore it).  0 with *endp past the '>', or -1 with
 * pa->why set.
 */
int
addr_parse_path(const char *p, struct addr_path *pa, int flags,
    const char **endp)
{
	char		 written[ADDR_DOMAIN_MAX + 1];
	const char	*start;
	size_t		 len;

	memset(pa, 0, sizeof(*pa));
	if (*p++ != '<')
		return fail(pa, "no <");
	if (*p == '>' && (flags & ADDR_EMPTY_OK)) {
		*endp = p + 1;
		return 0;
	}
	if (*p == '@' && (p = skip_route(p)) == NULL)
		return fail(pa, "bad source route");
	start = p;
	if ((p = parse_local(p, pa)) == NULL)
		return fail(pa, "bad local part");
	if (*p == '>' && (flags & ADDR_POSTMASTER) &&
	    strcmp(pa->local, "postmaster") == 0)
		;	/* no domain */
	else if (*p++ != '@')
		return fail(pa, "no @domain");
	else if ((p = parse_domain(p, written, sizeof(written),
	    &pa->nonascii)) == NULL || canonical(written, pa) == -1)
		return fail(pa, "bad domain");
	else if (*p != '>')
		return fail(pa, "no >");
	if ((len = p - start) > ADDR_PATH_MAX - 2)	/* 256 with <> */
		return fail(pa, "path too long");
	memcpy(pa->addr, start, len);
	*endp = p + 1;
	return 0;
}

/*
 * canonical - the domain as smtpd compares and stores it: an address
 * literal as written (lowercased), a name in A-labels (idna.c), so that
 * <u@b\xc3\xbccher.example> and <u@xn--bcher-kva.example> are one.
 */
static int
canonical(const char *written, struct addr_path *pa)
{
	if (written[0] == '[') {
		memcpy(pa->domain, written, strlen(written) + 1);
		return 0;
	}
	return idna_domain(written, pa->domain, sizeof(pa->domain));
}

/*
 * fail - a failed parse leaves no half-filled address behind, only why.
 */
static int
fail(struct addr_path *pa, const char *why)
{
	memset(pa, 0, sizeof(*pa));
	pa->why = why;
	return -1;
}

/*
 * atext - RFC 5322 atext, the characters of an unquoted local part.
 */
static int
atext(int c)
{
	return isalnum(c) || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/*
 * parse_local - a Dot-string or Quoted-string into pa->local, unquoted
 * and lowercased.  With SMTPUTF8 any valid UTF-8 may appear (RFC 6531).
 */
static const char *
parse_local(const char *p, struct addr_path *pa)
{
	const unsigned char	*u = (const unsigned char *)p;
	const unsigned char	*start = u;
	size_t			 n = 0, k;
	int			 quoted = *u == '"', prev_dot = 1;

	for (u += quoted; *u != '\0'; u += k) {
		k = 1;
		if (quoted && *u == '"')
			break;
		if (quoted && *u == '\\')	/* quoted-pairSMTP */
			u++;
		if (*u >= 0x80) {
			if ((k = utf8_decode(u, strnlen((const char *)u, 4),
			    NULL)) == 0)
				return NULL;
			pa->nonascii = 1;
		} else if (quoted) {
			if (*u < 0x20 || *u > 0x7e)
				return NULL;
		} else if (*u == '.') {
			if (prev_dot)
				return NULL;	/* empty atom */
		} else if (!atext(*u))
			break;
		prev_dot = *u == '.';
		if (n + k > ADDR_LOCAL_MAX)
			return NULL;
		while (k-- > 0)
			pa->local[n++] = tolower(*u++);
		k = 0;
	}
	if (quoted ? *u++ != '"' : (prev_dot || n == 0))
		return NULL;
	if (u - start > ADDR_LOCAL_MAX)
		return NULL;
	pa->local[n] = '\0';
	return (const char *)u;
}

/*
 * parse_domain - a Domain (letters, digits, hyphens, or UTF-8 U-labels)
 * or an address literal in brackets, lowercased into buf.
 */
static const char *
parse_domain(const char *p, char *buf, size_t bufsz, int *nonascii)
{
	const unsigned char	*u = (const unsigned char *)p;
	size_t			 n = 0, k, label = 0;
	int			 literal = *u == '[', last = 0;

	for (; *u != '\0'; u += k) {
		k = 1;
		if (literal) {
			if (n > 0 && last == ']')
				break;
			if (n > 0 && (*u < 33 || *u > 126 || *u == '['))
				return NULL;
		} else if (*u >= 0x80) {
			if ((k = utf8_decode(u, strnlen((const char *)u, 4),
			    NULL)) == 0)
				return NULL;
			*nonascii = 1;
		} else if (*u == '.') {
			if (label == 0 || last == '-')
				return NULL;
			label = 0;
		} else if (*u == '-') {
			if (label == 0)
				return NULL;
		} else if (!isalnum(*u))
			break;
		label = *u == '.' ? 0 : label + 1;
		last = *u;
		if (n + k >= bufsz || n + k > ADDR_DOMAIN_MAX)
			return NULL;
		while (k-- > 0)
			buf[n++] = tolower(*u++);
		k = 0;
	}
	if (n == 0 || (literal ? last != ']' || n < 3 :
	    label == 0 || last == '-'))
		return NULL;
	buf[n] = '\0';
	return (const char *)u;
}

/*
 * skip_route - past "@one,@two:" (RFC 5321 4.1.2 A-d-l), or NULL.
 */
static const char *
skip_route(const char *p)
{
	char	 scratch[ADDR_DOMAIN_MAX + 1];
	int	 nonascii = 0;

	for (;;) {
		if (*p++ != '@')
			return NULL;
		if ((p = parse_domain(p, scratch, sizeof(scratch),
		    &nonascii)) == NULL)
			return NULL;
		if (*p == ':')
			return p + 1;
		if (*p++ != ',')
			return NULL;
	}
}

/*
 * addr_helo_is_domain - RFC 5321 4.1.2: a Domain (letter-digit-hyphen labels)
 * or an IPv4 or IPv6 address literal, the forms Received: may carry
 * bare.
 */
int
addr_helo_is_domain(const char *h)
{
	unsigned char	 bin[sizeof(struct in6_addr)];
	char		 lit[INET6_ADDRSTRLEN + 8];
	size_t		 n = strlen(h), label = 0, i;

	if (h[0] == '[') {
		if (n < 3 || n - 2 >= sizeof(lit) || h[n - 1] != ']')
			return 0;
		memcpy(lit, h + 1, n - 2);
		lit[n - 2] = '\0';
		if (strncasecmp(lit, "IPv6:", 5) == 0)
			return inet_pton(AF_INET6, lit + 5, bin) == 1;
		return inet_pton(AF_INET, lit, bin) == 1;
	}
	for (i = 0; i < n; i++) {
		if (h[i] == '.') {
			if (label == 0 || h[i - 1] == '-')
				return 0;
			label = 0;
		} else if (isalnum((unsigned char)h[i]) ||
		    (h[i] == '-' && label > 0))
			label++;
		else
			return 0;
	}
	return n > 0 && n <= ADDR_DOMAIN_MAX && label > 0 && h[n - 1] != '-';
}

/*
 * addr_comment - text (printable ASCII or UTF-8) made safe inside an
 * RFC 5322 comment: '(', ')' and '\\' become quoted-pairs.  Twice the
 * length of in and one always fits; a smaller outsz cuts it.
 */
const char *
addr_comment(const char *in, char *out, size_t outsz)
{
	size_t	 o = 0;

	for (; *in != '\0' && o + 3 < outsz; in++) {
		if (*in == '(' || *in == ')' || *in == '\\')
			out[o++] = '\\';
		out[o++] = *in;
	}
	out[o] = '\0';
	return out;
}

/*
 * addr_value - a header parameter's value (RFC 5322): a dot-atom as it
 * is, anything else as a quoted-string, with '"' and '\\' quoted-pairs.
 * NULL when it does not fit in outsz.
 */
const char *
addr_value(const char *in, char *out, size_t outsz)
{
	const char	*p;
	size_t		 o = 0;
	int		 atom = in[0] != '.' && in[0] != '\0';

	for (p = in; *p != '\0' && atom; p++)
		atom = atext((unsigned char)*p) ||
		    (*p == '.' && p[1] != '.' && p[1] != '\0');
	if (atom) {
		if ((size_t)(p - in) >= outsz)
			return NULL;
		memcpy(out, in, p - in + 1);
		return out;
	}
	if (outsz < 3)
		return NULL;
	out[o++] = '"';
	for (p = in; *p != '\0'; p++) {
		if (o + 4 > outsz)
			return NULL;
		if (*p == '"' || *p == '\\')
			out[o++] = '\\';
		out[o++] = *p;
	}
	out[o++] = '"';
	out[o] = '\0';
	return out;
}
