/*
 * dns.c - a stub resolver: one question to one recursive resolver,
 * within a deadline, and a parser that believes no length in the reply.
 *
 * A query is built by hand (RFC 1035 4.1: a header, one question, RD
 * set, no EDNS, so a UDP reply is at most 512 octets) and sent over a
 * connected UDP socket, so that the kernel drops datagrams from anyone
 * but the server.  Within the deadline it is sent up to three times,
 * each try given an equal share of the time left.  A datagram that is
 * not a reply to this question (wrong id, not QR, another question) is
 * dropped and waiting goes on, as a resolver must against spoofing; if
 * nothing else came by the deadline, it is a timeout whose why says
 * what did come.  A reply with TC set is asked again over TCP
 * within what is left of the same deadline: TXT records (SPF) outgrow
 * 512 octets.
 *
 * The parser refuses, rather than reads past: a message shorter than
 * its header and section counts claim, an RDLENGTH past the end, a name
 * over 255 octets, a label type other than 0 and the pointer, and any
 * compression pointer that does not point strictly before where the
 * name (or the last jump) started, which makes a loop impossible, and a
 * name of more jumps than it could have labels.
 * Every record's RDATA must be exactly as long as its type says.  CNAMEs
 * are followed as far as the answer section carries them (8 at most);
 * nothing is asked again for them.  Only records of class IN owned by
 * the end of that chain are the answer; others are checked and left.
 */
#define _DEFAULT_SOURCE		/* getentropy(): POSIX only since 2024 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "dns.h"
#include "now.h"

#define HDRSZ		12
#define CLASS_IN	1
#define MAXWIRE		255	/* octets in a name on the wire */
#define MAXCNAME	8	/* CNAMEs followed in one answer */
#define UDP_TRIES	3
#define QUERYSZ		(HDRSZ + MAXWIRE + 4)

/* A record's fixed part, where it is in the message. */
struct rrhead {
	char		 owner[DNS_NAMESZ];
	uint16_t	 type, class;
	uint32_t	 ttl;
	size_t		 rdoff, rdlen;
};

static int	 name_pack(unsigned char *, size_t, const char *);
static int	 name_unpack(const unsigned char *, size_t, size_t, size_t *,
		    char *, size_t);
static int	 name_out(char *, size_t, size_t *, unsigned char, int);
static int	 unescape(const char **);
static int	 canonical(const char *, char *, size_t);
static int	 rr_head(const unsigned char *, size_t, size_t *,
		    struct rrhead *);
static int	 question_ok(const unsigned char *, size_t, size_t *,
		    const char *, int, const char **);
static int	 sections_ok(const unsigned char *, size_t, size_t,
		    unsigned, struct dns_answer *);
static int	 follow_cnames(const unsigned char *, size_t, size_t,
		    unsigned, struct dns_answer *);
static int	 collect(const unsigned char *, size_t, size_t, unsigned,
		    int, struct dns_answer *);
static int	 rdata(const unsigned char *, const struct rrhead *,
		    struct dns_rr *, struct dns_answer *);
static int	 malformed(struct dns_answer *, const char *);
static void	 answer_reset(struct dns_answer *, const char *);
static int	 ask_udp(const struct dns_server *, const unsigned char *,
		    size_t, uint16_t, const char *, int, long long,
		    unsigned char *, struct dns_answer *);
static int	 ask_tcp(const struct dns_server *, const unsigned char *,
		    size_t, uint16_t, const char *, int, long long,
		    unsigned char *, struct dns_answer *);
static int	 tcp_connect(const struct dns_server *, long long);
static int	 tcp_io(int, unsigned char *, size_t, int, long long);
static int	 wait_fd(int, short, long long);
static int	 fail(struct dns_answer *, enum dns_status, const char *);

/*
 * dns_server - the resolver at a numeric host and port.
 */
int
dns_server(struct dns_server *s, const char *host, const char *port,
    const char **why)
{
	struct addrinfo	 hints, *ai;
	int		 err, n;

	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	hints.ai_socktype = SOCK_DGRAM;
	if ((err = getaddrinfo(host, port, &hints, &ai)) != 0) {
		*why = "not a numeric address and port";
		return -1;
	}
	memset(s, 0, sizeof(*s));
	memcpy(&s->ss, ai->ai_addr, ai->ai_addrlen);
	s->sslen = ai->ai_addrlen;
	freeaddrinfo(ai);
	/* The name is for people; a numeric host and port always fit. */
	n = snprintf(s->name, sizeof(s->name), "%s port %s", host, port);
	if (n < 0 || (size_t)n >= sizeof(s->name)) {
		*why = "a numeric address and port too long to name";
		return -1;
	}
	return 0;
}

/*
 * dns_server_default - the first "nameserver" of resolv.conf, as the C
 * library would use it; without one, 127.0.0.1, the library's default
 * too.  Read here rather than through res_ninit(), so that the resolver
 * state is ours alone and a worker can be handed the result.
 */
int
dns_server_default(struct dns_server *s, const char *path, const char **why)
{
	FILE	*fp;
	char	 line[512], addr[128];

	if ((fp = fopen(path, "r")) != NULL) {
		while (fgets(line, sizeof(line), fp) != NULL)
			if (sscanf(line, " nameserver %127s", addr) == 1) {
				fclose(fp);
				return dns_server(s, addr, DNS_PORT, why);
			}
		fclose(fp);
	}
	return dns_server(s, "127.0.0.1", DNS_PORT, why);
}

/*
 * dns_server_pick - the resolver the configuration names (host, port),
 * or with host NULL the first nameserver of DNS_RESOLV_CONF: the one
 * choice smtpd -D and the SPF check make alike.
 */
int
dns_server_pick(struct dns_server *s, const char *host, const char *port,
    const char **why)
{
	if (host != NULL)
		return dns_server(s, host, port, why);
	return dns_server_default(s, DNS_RESOLV_CONF, why);
}

/*
 * dns_query - ask srv for the records of type at name, waiting at most
 * timeout_ms in all.  The status is also in a->status.
 */
enum dns_status
dns_query(const struct dns_server *srv, const char *name, int type,
    int timeout_ms, struct dns_answer *a)
{
	unsigned char	 q[QUERYSZ], r[DNS_MSGSZ];
	long long	 deadline = now_ms() + timeout_ms;
	uint16_t	 id;
	size_t		 qlen;

	answer_reset(a, name);
	if (getentropy(&id, sizeof(id)) == -1)
		return fail(a, DNS_ERROR, "no random id (getentropy)");
	if ((qlen = dns_make_query(q, sizeof(q), id, name, type)) == 0)
		return fail(a, DNS_BADNAME, "an empty label, one over 63 "
		    "octets, a bad escape, or over 255 octets in all");
	if (ask_udp(srv, q, qlen, id, name, type, deadline, r, a) == 1)
		ask_tcp(srv, q, qlen, id, name, type, deadline, r, a);
	return a->status;
}

/*
 * dns_make_query - a standard query with RD set into buf; its length,
 * or 0 when name cannot be put on the wire.
 */
size_t
dns_make_query(unsigned char *buf, size_t bufsz, uint16_t id,
    const char *name, int type)
{
	int	 n;

	if (bufsz < QUERYSZ)
		return 0;
	memset(buf, 0, HDRSZ);
	buf[0] = id >> 8;
	buf[1] = id & 0xff;
	buf[2] = 0x01;				/* RD */
	buf[5] = 1;				/* QDCOUNT */
	if ((n = name_pack(buf + HDRSZ, MAXWIRE, name)) == -1)
		return 0;
	buf[HDRSZ + n] = type >> 8;
	buf[HDRSZ + n + 1] = type & 0xff;
	buf[HDRSZ + n + 2] = 0;
	buf[HDRSZ + n + 3] = CLASS_IN;
	return HDRSZ + n + 4;
}

/*
 * name_pack - a name in presentation form ("a.b", "a.b." or "."), where
 * "\X" is the octet X and "\DDD" the octet of that decimal value (RFC
 * 1035 5.1), as labels: the form dns_parse() gives names back in, so a
 * PTR's or an MX's target can be asked in turn.  The length, or -1 for
 * an empty name or label, a label over 63 octets, a bad escape, or a
 * name over 255 octets in all (the final zero included).
 */
static int
name_pack(unsigned char *out, size_t outsz, const char *name)
{
	size_t	 o = 0, lab, n;
	int	 c;

	if (*name == '\0' || outsz < 1)
		return -1;
	if (strcmp(name, ".") == 0) {
		out[0] = 0;
		return 1;
	}
	while (*name != '\0') {
		lab = o++;
		for (n = 0; *name != '\0' && *name != '.'; n++) {
			/* Room for this octet and the final zero. */
			if ((c = unescape(&name)) == -1 || n == 63 ||
			    o + 2 > outsz)
				return -1;
			out[o++] = c;
		}
		if (n == 0)
			return -1;
		out[lab] = n;
		if (*name == '.')
			name++;
	}
	out[o++] = 0;
	return o;
}

/*
 * unescape - the octet at *s ("X", "\X" or "\DDD", DDD at most 255),
 * *s moved past it; -1 for a backslash that ends the name or a bad DDD.
 */
static int
unescape(const char **s)
{
	const char	*p = *s;
	int		 v;

	if (p[0] != '\\') {
		*s = p + 1;
		return (unsigned char)p[0];
	}
	if (p[1] >= '0' && p[1] <= '9') {
		if (p[2] < '0' || p[2] > '9' || p[3] < '0' || p[3] > '9' ||
		    (v = (p[1] - '0') * 100 + (p[2] - '0') * 10 + p[3] - '0') >
		    255)
			return -1;
		*s = p + 4;
		return v;
	}
	if (p[1] == '\0')
		return -1;
	*s = p + 2;
	return (unsigned char)p[1];
}

/*
 * canonical - name in the one presentation form name_unpack() writes
 * (escapes as it makes them, no final dot but for the root), into out;
 * -1 when it cannot be put on the wire.  Names compare in this form.
 */
static int
canonical(const char *name, char *out, size_t outsz)
{
	unsigned char	 wire[MAXWIRE];
	size_t		 next;
	int		 n;

	if ((n = name_pack(wire, sizeof(wire), name)) == -1)
		return -1;
	return name_unpack(wire, n, 0, &next, out, outsz);
}

/*
 * dns_parse - is msg a reply to the question (id, name, type)?  -1 if
 * not (a->why says how), 1 if it is but truncated (TC: ask over TCP),
 * 0 if it is, with what it says in *a: a malformed reply to our question
 * is an answer too (DNS_MALFORMED), the server's.
 */
int
dns_parse(const unsigned char *msg, size_t len, uint16_t id,
    const char *name, int type, struct dns_answer *a)
{
	size_t		 off = HDRSZ;
	unsigned	 an, rest;

	answer_reset(a, name);
	/* Owners compare with a->name in the form they are unpacked in. */
	if (canonical(name, a->name, sizeof(a->name)) == -1)
		return malformed(a, "a question that cannot be asked");
	if (len < HDRSZ)
		return malformed(a, "a reply shorter than its header");
	if ((msg[0] << 8 | msg[1]) != id)
		return malformed(a, "a reply with another id");
	if ((msg[2] & 0x80) == 0 || (msg[2] & 0x78) != 0)
		return malformed(a, "not a reply to a standard query");
	if (!question_ok(msg, len, &off, a->name, type, &a->why))
		return malformed(a, a->why);
	if (msg[2] & 0x02)
		return 1;				/* TC */
	a->rcode = msg[3] & 0x0f;
	if (a->rcode != 0 && a->rcode != 3) {
		a->status = DNS_SERVFAIL;
		return 0;
	}
	an = msg[6] << 8 | msg[7];
	rest = (msg[8] << 8 | msg[9]) + (msg[10] << 8 | msg[11]);
	if (!sections_ok(msg, len, off, an + rest, a))
		return 0;
	if ((type != DNS_CNAME && follow_cnames(msg, len, off, an, a) == -1) ||
	    collect(msg, len, off, an, type, a) == -1)
		return 0;
	if (a->rcode == 3) {
		a->nrr = 0;
		a->status = DNS_NXDOMAIN;
	} else
		a->status = a->nrr > 0 ? DNS_OK : DNS_NODATA;
	return 0;
}

/*
 * question_ok - exactly one question, and it is ours: the name (in
 * canonical form) without regard to ASCII case (RFC 4343: a resolver
 * may echo 0x20-mixed case), the type, and class IN.
 */
static int
question_ok(const unsigned char *msg, size_t len, size_t *off,
    const char *name, int type, const char **why)
{
	char	 qname[DNS_NAMESZ];

	if ((msg[4] << 8 | msg[5]) != 1) {
		*why = "a reply without our question";
		return 0;
	}
	if (name_unpack(msg, len, *off, off, qname, sizeof(qname)) == -1 ||
	    *off + 4 > len) {
		*why = "a reply whose question is malformed";
		return 0;
	}
	if (strcasecmp(qname, name) != 0 ||
	    (msg[*off] << 8 | msg[*off + 1]) != type ||
	    (msg[*off + 2] << 8 | msg[*off + 3]) != CLASS_IN) {
		*why = "a reply to another question";
		return 0;
	}
	*off += 4;
	return 1;
}

/*
 * sections_ok - every record the counts announce is within the message.
 */
static int
sections_ok(const unsigned char *msg, size_t len, size_t off, unsigned n,
    struct dns_answer *a)
{
	struct rrhead	 h;
	int		 rc;

	while (n-- > 0)
		if ((rc = rr_head(msg, len, &off, &h)) != 0) {
			malformed(a, rc == -2 ? "a malformed name (past the "
			    "end, a pointer loop or chain, over 255 octets)" :
			    "a record runs past the end of the reply");
			return 0;
		}
	return 1;
}

/*
 * follow_cnames - move a->name along the CNAMEs of the answer section.
 */
static int
follow_cnames(const unsigned char *msg, size_t len, size_t start,
    unsigned an, struct dns_answer *a)
{
	struct rrhead	 h;
	struct dns_rr	 rr;
	size_t		 off;
	unsigned	 i, hops;
	int		 moved = 1;

	for (hops = 0; moved; hops++) {
		moved = 0;
		for (off = start, i = 0; i < an; i++) {
			rr_head(msg, len, &off, &h);	/* sections_ok() */
			if (h.type != DNS_CNAME || h.class != CLASS_IN ||
			    strcasecmp(h.owner, a->name) != 0)
				continue;
			if (hops == MAXCNAME)
				return malformed(a, "more than 8 CNAMEs");
			if (rdata(msg, &h, &rr, a) == -1)
				return -1;
			memcpy(a->name, rr.name, sizeof(a->name));
			moved = 1;
			break;
		}
	}
	return 0;
}

/*
 * collect - the records of type owned by a->name, the first DNS_MAXRR.
 */
static int
collect(const unsigned char *msg, size_t len, size_t off, unsigned an,
    int type, struct dns_answer *a)
{
	struct rrhead	 h;
	struct dns_rr	 spare;
	unsigned	 i;

	for (i = 0; i < an; i++) {
		rr_head(msg, len, &off, &h);		/* sections_ok() */
		if (h.type != type || h.class != CLASS_IN ||
		    strcasecmp(h.owner, a->name) != 0)
			continue;
		/* One past the table is still checked, then dropped. */
		if (rdata(msg, &h, a->nrr < DNS_MAXRR ? &a->rr[a->nrr] :
		    &spare, a) == -1)
			return -1;
		if (a->nrr < DNS_MAXRR)
			a->nrr++;
		else
			a->more = 1;
	}
	return 0;
}

/*
 * rr_head - the record at *off; *off moves past its RDATA.  -2 for a
 * malformed owner name, -1 for a record past the end.
 */
static int
rr_head(const unsigned char *msg, size_t len, size_t *off,
    struct rrhead *h)
{
	const unsigned char	*p;

	if (name_unpack(msg, len, *off, off, h->owner, sizeof(h->owner)) ==
	    -1)
		return -2;
	if (len - *off < 10)
		return -1;
	p = msg + *off;
	h->type = p[0] << 8 | p[1];
	h->class = p[2] << 8 | p[3];
	h->ttl = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 |
	    (uint32_t)p[6] << 8 | p[7];
	/* RFC 2181 8: a TTL with its top bit set is taken as zero. */
	if (h->ttl > 0x7fffffffU)
		h->ttl = 0;
	h->rdlen = p[8] << 8 | p[9];
	h->rdoff = *off + 10;
	if (h->rdlen > len - h->rdoff)
		return -1;
	*off = h->rdoff + h->rdlen;
	return 0;
}

/*
 * rdata - the RDATA of one record into rr; its length must be exactly
 * what its type holds, a name must end where the RDATA ends, and a TXT
 * string must end within it.
 */
static int
rdata(const unsigned char *msg, const struct rrhead *h, struct dns_rr *rr,
    struct dns_answer *a)
{
	const unsigned char	*p = msg + h->rdoff;
	size_t			 end = h->rdoff + h->rdlen, pos, n;
	size_t			 len = end;	/* names may point back */

	memset(rr, 0, sizeof(*rr));
	rr->ttl = h->ttl;
	switch (h->type) {
	case DNS_A:
	case DNS_AAAA:
		if (h->rdlen != (h->type == DNS_A ? 4U : 16U))
			return malformed(a, "an address record of the wrong "
			    "length");
		memcpy(rr->addr, p, h->rdlen);
		return 0;
	case DNS_MX:
		if (h->rdlen < 3)
			return malformed(a, "an MX record too short");
		rr->pref = p[0] << 8 | p[1];
		pos = h->rdoff + 2;
		break;
	case DNS_CNAME:
	case DNS_PTR:
		pos = h->rdoff;
		break;
	case DNS_TXT:
		if (h->rdlen == 0)
			return malformed(a, "a TXT record without a string");
		rr->txtoff = a->textlen;
		for (pos = h->rdoff; pos < end; pos += 1 + n) {
			n = msg[pos];
			if (n > end - pos - 1)
				return malformed(a, "a TXT string runs past "
				    "its record");
			if (n > sizeof(a->text) - a->textlen)
				return malformed(a, "TXT records too long");
			memcpy(a->text + a->textlen, msg + pos + 1, n);
			a->textlen += n;
		}
		rr->txtlen = a->textlen - rr->txtoff;
		return 0;
	default:
		return 0;
	}
	if (name_unpack(msg, len, pos, &pos, rr->name, sizeof(rr->name)) ==
	    -1 || pos != end)
		return malformed(a, "a name in a record is malformed or "
		    "does not end with it");
	return 0;
}

/*
 * name_unpack - the name at off, in presentation form, into out; *next
 * is where the message goes on after it (past its first pointer, if
 * any).  -1 for a label past len, a label type other than 0 and the
 * pointer, a name over 255 octets, a pointer into the header or not
 * strictly before the start of the labels it ends (every jump goes
 * back, so no loop can form), more jumps than a name of 255 octets has
 * labels (a chain of pointers to pointers would otherwise cost a walk
 * of half the message for each name that ends in it: RFC 9267), or an
 * out too small.
 */
static int
name_unpack(const unsigned char *msg, size_t len, size_t off, size_t *next,
    char *out, size_t outsz)
{
	size_t		 pos = off, start = off, wire = 0, o = 0, i, ptr;
	int		 jumped = 0, jumps = 0;
	unsigned	 n;

	for (;;) {
		if (pos >= len)
			return -1;
		n = msg[pos];
		if ((n & 0xc0) == 0xc0) {
			if (pos + 1 >= len)
				return -1;
			ptr = (n & 0x3f) << 8 | msg[pos + 1];
			if (ptr < HDRSZ || ptr >= start ||
			    ++jumps > MAXWIRE / 2)
				return -1;
			if (!jumped)
				*next = pos + 2;
			jumped = 1;
			pos = start = ptr;
			continue;
		}
		if ((n & 0xc0) != 0 || (wire += n + 1) > MAXWIRE ||
		    n >= len - pos)
			return -1;
		pos++;
		if (n == 0)
			break;
		if (o > 0 && name_out(out, outsz, &o, '.', 0) == -1)
			return -1;
		for (i = 0; i < n; i++)
			if (name_out(out, outsz, &o, msg[pos + i], 1) == -1)
				return -1;
		pos += n;
	}
	if (!jumped)
		*next = pos;
	if (o == 0 && name_out(out, outsz, &o, '.', 0) == -1)
		return -1;
	if (o >= outsz)
		return -1;
	out[o] = '\0';
	return 0;
}

/*
 * name_out - one character of a name: an octet of a label (inlabel),
 * escaped as a zone file needs it (RFC 1035 5.1, as ns_name_ntop()
 * does), or the dot between labels.
 */
static int
name_out(char *out, size_t outsz, size_t *o, unsigned char c, int inlabel)
{
	int	 n;

	if (!inlabel || (c > 0x20 && c < 0x7f && strchr(".;\\()@$\"", c) ==
	    NULL))
		n = snprintf(out + *o, outsz - *o, "%c", c);
	else if (c > 0x20 && c < 0x7f)
		n = snprintf(out + *o, outsz - *o, "\\%c", c);
	else
		n = snprintf(out + *o, outsz - *o, "\\%03u", c);
	if (n < 0 || (size_t)n >= outsz - *o)
		return -1;
	*o += n;
	return 0;
}

/*
 * dns_name_equal - two names in presentation form, the same in the DNS:
 * escapes and a final dot aside, without regard to ASCII case (RFC
 * 4343).  Names that cannot be put on the wire compare as strings.
 */
int
dns_name_equal(const char *x, const char *y)
{
	char	 cx[DNS_NAMESZ], cy[DNS_NAMESZ];

	if (canonical(x, cx, sizeof(cx)) == -1 ||
	    canonical(y, cy, sizeof(cy)) == -1)
		return strcasecmp(x, y) == 0;
	return strcasecmp(cx, cy) == 0;
}

static void
answer_reset(struct dns_answer *a, const char *name)
{
	a->status = DNS_ERROR;
	a->rcode = 0;
	a->why = NULL;
	snprintf(a->name, sizeof(a->name), "%s", name);
	a->nrr = 0;
	a->more = 0;
	a->textlen = 0;
}

/*
 * malformed - the reply broke the protocol (or, from dns_parse() before
 * the question matched, is not ours): -1.
 */
static int
malformed(struct dns_answer *a, const char *why)
{
	a->nrr = 0;
	a->status = DNS_MALFORMED;
	a->why = why;
	return -1;
}

static int
fail(struct dns_answer *a, enum dns_status st, const char *why)
{
	a->nrr = 0;
	a->status = st;
	a->why = why;
	return st;
}

/*
 * ask_udp - the question over UDP until a reply to it comes or the
 * deadline passes; 1 when the reply was truncated, else 0 with *a set.
 */
static int
ask_udp(const struct dns_server *srv, const unsigned char *q, size_t qlen,
    uint16_t id, const char *name, int type, long long deadline,
    unsigned char *r, struct dns_answer *a)
{
	const char	*stray = NULL;
	long long	 slice;
	ssize_t		 n;
	int		 fd, try, rc, err = 0;

	if ((fd = socket(srv->ss.ss_family, SOCK_DGRAM, 0)) == -1 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1 ||
	    connect(fd, (const struct sockaddr *)&srv->ss, srv->sslen) == -1) {
		if (fd != -1)
			close(fd);
		fail(a, DNS_ERROR, "cannot make a UDP socket to the resolver");
		return 0;
	}
	for (try = 0; try < UDP_TRIES && err == 0; try++) {
		slice = now_ms();
		slice += (deadline - slice) / (UDP_TRIES - try);
		while ((n = send(fd, q, qlen, 0)) == -1 && errno == EINTR)
			;
		if (n != (ssize_t)qlen) {
			err = n == -1 ? errno : EMSGSIZE;
			break;
		}
		/*
		 * MSG_DONTWAIT: poll() may say readable for a datagram the
		 * kernel then drops (a bad UDP checksum), and a blocking
		 * recv() would wait past the deadline.
		 */
		while ((rc = wait_fd(fd, POLLIN, slice)) == 1) {
			if ((n = recv(fd, r, DNS_MSGSZ, MSG_DONTWAIT)) == -1) {
				if (errno == EINTR || errno == EAGAIN)
					continue;
				err = errno;
				break;
			}
			if ((rc = dns_parse(r, n, id, name, type, a)) != -1) {
				close(fd);
				return rc;
			}
			stray = a->why;
		}
		if (rc == -1)
			err = errno;
	}
	close(fd);
	/* ECONNREFUSED: an ICMP port unreachable, nobody listens there. */
	if (err == ECONNREFUSED)
		fail(a, DNS_ERROR, "refused: no DNS server at that address");
	else if (err != 0)
		fail(a, DNS_ERROR, "cannot talk UDP to the resolver");
	else if (stray != NULL)
		fail(a, DNS_TIMEOUT, stray);
	else
		fail(a, DNS_TIMEOUT, "no reply within the deadline");
	return 0;
}

/*
 * ask_tcp - the question again over TCP (RFC 7766: a two-octet length
 * before each message), within the same deadline.
 */
static int
ask_tcp(const struct dns_server *srv, const unsigned char *q, size_t qlen,
    uint16_t id, const char *name, int type, long long deadline,
    unsigned char *r, struct dns_answer *a)
{
	unsigned char	 out[2 + QUERYSZ], lenbuf[2];
	size_t		 rlen = 0;
	int		 fd, rc;

	if ((fd = tcp_connect(srv, deadline)) < 0)
		return fail(a, fd == -2 ? DNS_TIMEOUT : DNS_ERROR, fd == -2 ?
		    "no TCP connection within the deadline" :
		    "cannot connect to the resolver over TCP");
	out[0] = qlen >> 8;
	out[1] = qlen & 0xff;
	memcpy(out + 2, q, qlen);
	if ((rc = tcp_io(fd, out, 2 + qlen, POLLOUT, deadline)) == 0 &&
	    (rc = tcp_io(fd, lenbuf, 2, POLLIN, deadline)) == 0) {
		rlen = lenbuf[0] << 8 | lenbuf[1];
		if ((rc = tcp_io(fd, r, rlen, POLLIN, deadline)) == -3)
			rc = -4;
	}
	close(fd);
	if (rc == -2)
		return fail(a, DNS_TIMEOUT, "no reply over TCP within the "
		    "deadline");
	if (rc == -3)
		return fail(a, DNS_ERROR, "the resolver closed the TCP "
		    "connection without a reply");
	if (rc == -4)
		return fail(a, DNS_MALFORMED, "a TCP reply shorter than its "
		    "length prefix");
	if (rc == -1)
		return fail(a, DNS_ERROR, "the TCP connection to the "
		    "resolver failed");
	/* A connection is the server's own: anything odd on it is final. */
	if ((rc = dns_parse(r, rlen, id, name, type, a)) == 1)
		malformed(a, "a reply truncated over TCP");
	else if (rc == -1)
		a->status = DNS_MALFORMED;
	return 0;
}

/*
 * tcp_connect - a connected stream socket, or -1 (error), -2 (deadline).
 */
static int
tcp_connect(const struct dns_server *srv, long long deadline)
{
	socklen_t	 len = sizeof(int);
	int		 fd, err = 0, rc;

	if ((fd = socket(srv->ss.ss_family, SOCK_STREAM, 0)) == -1)
		return -1;
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) == -1 ||
	    fcntl(fd, F_SETFL, O_NONBLOCK) == -1)
		goto bad;
	if (connect(fd, (const struct sockaddr *)&srv->ss, srv->sslen) == 0)
		return fd;
	if (errno != EINPROGRESS)
		goto bad;
	if ((rc = wait_fd(fd, POLLOUT, deadline)) != 1) {
		close(fd);
		return rc == 0 ? -2 : -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 || err)
		goto bad;
	return fd;
bad:
	close(fd);
	return -1;
}

/*
 * tcp_io - all of buf written (POLLOUT) or read (POLLIN) by the
 * deadline, in as many segments as it comes in: 0, -1 on error, -2 at
 * the deadline, -3 at the end of the stream.
 */
static int
tcp_io(int fd, unsigned char *buf, size_t len, int dir, long long deadline)
{
	size_t	 done = 0;
	ssize_t	 n;
	int	 rc;

	while (done < len) {
		if ((rc = wait_fd(fd, dir, deadline)) != 1)
			return rc == 0 ? -2 : -1;
		n = dir == POLLOUT ? send(fd, buf + done, len - done,
		    MSG_NOSIGNAL) : recv(fd, buf + done, len - done, 0);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n == 0 && dir == POLLIN)
			return -3;
		if (n <= 0)
			return -1;
		done += n;
	}
	return 0;
}

/*
 * wait_fd - 1 when fd is ready for events, 0 at the deadline, -1 on
 * error.  The deadline, not a timeout: a signal does not reset it.
 */
static int
wait_fd(int fd, short events, long long deadline)
{
	struct pollfd	 p;
	long long	 left;
	int		 rc;

	for (;;) {
		if ((left = deadline - now_ms()) <= 0)
			return 0;
		p.fd = fd;
		p.events = events;
		p.revents = 0;
		rc = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (rc == -1 && errno == EINTR)
			continue;
		if (rc == -1)
			return -1;
		if (rc == 1)
			return 1;
	}
}

/*
 * dns_reverse_name - the in-addr.arpa or ip6.arpa name of an address.
 */
int
dns_reverse_name(int af, const unsigned char *addr, char *out, size_t outsz)
{
	static const char	 hex[] = "0123456789abcdef";
	size_t			 o = 0;
	int			 i, n;

	if (af == AF_INET) {
		n = snprintf(out, outsz, "%u.%u.%u.%u.in-addr.arpa", addr[3],
		    addr[2], addr[1], addr[0]);
		return n < 0 || (size_t)n >= outsz ? -1 : 0;
	}
	if (af != AF_INET6 || outsz < 16 * 4 + sizeof("ip6.arpa"))
		return -1;
	for (i = 15; i >= 0; i--) {
		out[o++] = hex[addr[i] & 0x0f];
		out[o++] = '.';
		out[o++] = hex[addr[i] >> 4];
		out[o++] = '.';
	}
	memcpy(out + o, "ip6.arpa", sizeof("ip6.arpa"));
	return 0;
}

const char *
dns_status_text(enum dns_status st)
{
	switch (st) {
	case DNS_OK:		return "found";
	case DNS_NODATA:	return "no such record";
	case DNS_NXDOMAIN:	return "no such name (NXDOMAIN)";
	case DNS_SERVFAIL:	return "the resolver failed (SERVFAIL)";
	case DNS_TIMEOUT:	return "no reply within the deadline";
	case DNS_MALFORMED:	return "malformed reply";
	case DNS_BADNAME:	return "not a name that can be asked";
	case DNS_ERROR:		return "error";
	}
	return "?";
}

const char *
dns_type_text(int type)
{
	switch (type) {
	case DNS_A:	return "A";
	case DNS_CNAME:	return "CNAME";
	case DNS_PTR:	return "PTR";
	case DNS_MX:	return "MX";
	case DNS_TXT:	return "TXT";
	case DNS_AAAA:	return "AAAA";
	}
	return "?";
}
