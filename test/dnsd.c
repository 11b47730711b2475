/*
 * dnsd.c - a tiny DNS server for the tests of smtpd -D: UDP and TCP on
 * one port of 127.0.0.1, answering from a zone file, with modes that
 * misbehave on purpose.
 *
 *	dnsd [-m MODE] [-p PORT] [-t SECONDS] ZONE PORTFILE
 *
 * ZONE has a record a line, "NAME TYPE VALUE" ('#' starts a comment):
 *
 *	example.org MX 10 mx.example.org
 *	mx.example.org A 127.0.0.1
 *	mx.example.org AAAA ::1
 *	1.0.0.127.in-addr.arpa PTR mx.example.org
 *	www.example.org CNAME mx.example.org
 *	example.org TXT v=spf1 -all
 *
 * a TXT value being the rest of the line, cut into strings of 255.  In
 * names and values "\DDD" is the octet of that decimal value and "\X"
 * the octet X, as in a zone file (a dot within a label cannot be had: a
 * name's dots all separate labels).  A
 * name with no record at all is NXDOMAIN; with records of other types
 * only, NODATA; a CNAME is followed within the zone.  The port (-p, or
 * one the kernel picks for UDP and that TCP can also bind) is written to
 * PORTFILE once both are bound.  Each question is logged on stderr as
 * "udp NAME TYPE" or "tcp NAME TYPE".  dnsd exits after SECONDS (60).
 *
 * MODE: normal; silent (never answers); truncate (UDP replies carry TC
 * and no records, TCP the whole answer); badlen (the last record's
 * RDLENGTH runs 10 past the end); loop (the first record's owner is a
 * pointer to itself); badid (the id is not the query's); servfail;
 * spoof (each UDP reply is preceded by a forged one, NXDOMAIN with the
 * right id, sent from another port: "spoof" on stderr).  In the
 * modes tcpslow, tcpshort and tcpsilent UDP replies carry TC, as in
 * truncate, and over TCP the reply is written an octet at a time
 * (tcpslow), with a length prefix 10 more than what follows before the
 * connection is closed (tcpshort), or not at all, the connection held
 * open (tcpsilent).
 * A UDP reply over 512 octets is truncated in every mode, as RFC 1035
 * says.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define MAXREC		256
#define MSGSZ		65535

struct rec {
	char	 name[256];
	int	 type;
	char	 value[2048];
	size_t	 vlen;		/* TXT: may hold NUL */
};

static struct rec	 zone[MAXREC];
static size_t		 nzone;
static const char	*mode = "normal";
static int		 held = -1;	/* tcpsilent: the connection */

static const struct { const char *name; int type; } types[] = {
	{ "A", 1 }, { "CNAME", 5 }, { "PTR", 12 }, { "MX", 15 },
	{ "TXT", 16 }, { "AAAA", 28 },
};

static void	 load(const char *);
static int	 type_of(const char *);
static size_t	 decode(const char *, char *, size_t);
static void	 spoof(const unsigned char *, size_t,
		    const struct sockaddr_storage *, socklen_t);
static void	 tcp_write(int, const unsigned char *, size_t);
static size_t	 answer(const unsigned char *, size_t, unsigned char *, int);
static size_t	 misbehave(unsigned char *, size_t, size_t, int, size_t,
		    size_t);
static size_t	 put_name(unsigned char *, size_t, const char *);
static size_t	 put_rr(unsigned char *, size_t, const struct rec *,
		    const char *, const char *, size_t *);
static int	 bind_both(int *, int *, int);
static void	 serve_tcp(int);

int
main(int argc, char *argv[])
{
	struct pollfd	 p[2];
	unsigned char	 q[512], r[MSGSZ];
	struct sockaddr_storage	 from;
	socklen_t	 fromlen;
	ssize_t		 n;
	size_t		 len;
	FILE		*fp;
	char		 tmp[4096];
	time_t		 end;
	int		 ch, port = 0, secs = 60, u, t;

	while ((ch = getopt(argc, argv, "m:p:t:")) != -1)
		switch (ch) {
		case 'm': mode = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 't': secs = atoi(optarg); break;
		default: goto usage;
		}
	if (argc - optind != 2)
		goto usage;
	load(argv[optind]);
	if ((port = bind_both(&u, &t, port)) == -1)
		return 1;
	snprintf(tmp, sizeof(tmp), "%s.tmp", argv[optind + 1]);
	if ((fp = fopen(tmp, "w")) == NULL || fprintf(fp, "%d\n", port) < 0 ||
	    fclose(fp) != 0 || rename(tmp, argv[optind + 1]) == -1) {
		perror(argv[optind + 1]);
		return 1;
	}
	end = time(NULL) + secs;
	p[0].fd = u;
	p[1].fd = t;
	p[0].events = p[1].events = POLLIN;
	while (time(NULL) < end) {
		if (poll(p, 2, 1000) <= 0)
			continue;
		if (p[1].revents & POLLIN)
			serve_tcp(t);
		if (!(p[0].revents & POLLIN))
			continue;
		fromlen = sizeof(from);
		if ((n = recvfrom(u, q, sizeof(q), 0,
		    (struct sockaddr *)&from, &fromlen)) <= 0)
			continue;
		if ((len = answer(q, n, r, 0)) == 0)
			continue;
		if (strcmp(mode, "spoof") == 0)
			spoof(r, len, &from, fromlen);
		sendto(u, r, len, 0, (struct sockaddr *)&from, fromlen);
	}
	return 0;
usage:
	fprintf(stderr, "usage: dnsd [-m mode] [-p port] [-t seconds] zone "
	    "portfile\n");
	return 2;
}

/*
 * bind_both - UDP and TCP on the same port of 127.0.0.1.
 */
static int
bind_both(int *u, int *t, int port)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 try, on = 1;

	for (try = 0; try < 50; try++) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sin.sin_port = htons(port);
		if ((*u = socket(AF_INET, SOCK_DGRAM, 0)) == -1 ||
		    bind(*u, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
		    getsockname(*u, (struct sockaddr *)&sin, &len) == -1) {
			perror("dnsd: udp");
			return -1;
		}
		if ((*t = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
		    setsockopt(*t, SOL_SOCKET, SO_REUSEADDR, &on,
		    sizeof(on)) == -1)
			return -1;
		if (bind(*t, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
		    listen(*t, 16) == 0)
			return ntohs(sin.sin_port);
		close(*u);
		close(*t);
		if (port != 0)
			break;
	}
	perror("dnsd: tcp");
	return -1;
}

/*
 * serve_tcp - one connection, one question, one answer, within 2 s.
 */
static void
serve_tcp(int t)
{
	struct pollfd	 p;
	unsigned char	 q[2 + 512], r[2 + MSGSZ];
	size_t		 got = 0, want = 2, len;
	ssize_t		 n;
	int		 fd;

	if ((fd = accept(t, NULL, NULL)) == -1)
		return;
	p.fd = fd;
	p.events = POLLIN;
	while (got < want && poll(&p, 1, 2000) == 1) {
		if ((n = read(fd, q + got, want - got)) <= 0)
			break;
		got += n;
		if (got == 2)
			want = 2 + (q[0] << 8 | q[1]);
		if (want > sizeof(q))
			break;
	}
	if (got == want && want > 2 &&
	    (len = answer(q + 2, want - 2, r + 2, 1)) > 0) {
		if (strcmp(mode, "tcpsilent") == 0) {
			/* Held open, unanswered, until the next one. */
			if (held != -1)
				close(held);
			held = fd;
			return;
		}
		r[0] = (len + (strcmp(mode, "tcpshort") == 0 ? 10 : 0)) >> 8;
		r[1] = (len + (strcmp(mode, "tcpshort") == 0 ? 10 : 0)) & 0xff;
		tcp_write(fd, r, len + 2);
	}
	close(fd);
}

/*
 * tcp_write - the reply, at once or (tcpslow) an octet a segment.
 */
static void
tcp_write(int fd, const unsigned char *r, size_t len)
{
	struct timespec	 ms2 = { 0, 2000000 };
	size_t		 i;
	int		 on = 1;

	if (strcmp(mode, "tcpslow") != 0) {
		if (write(fd, r, len) == -1)
			perror("dnsd: write");
		return;
	}
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) == -1)
		perror("dnsd: TCP_NODELAY");
	for (i = 0; i < len; i++) {
		if (write(fd, r + i, 1) != 1) {
			perror("dnsd: write");
			return;
		}
		nanosleep(&ms2, NULL);
	}
}

/*
 * spoof - a forged NXDOMAIN for the reply r, with its id, sent to the
 * client from another port than the server's.
 */
static void
spoof(const unsigned char *r, size_t len,
    const struct sockaddr_storage *to, socklen_t tolen)
{
	struct sockaddr_in	 sin;
	unsigned char		 f[MSGSZ];
	int			 s;

	memcpy(f, r, len);
	f[3] = (f[3] & 0xf0) | 3;
	f[6] = f[7] = 0;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((s = socket(AF_INET, SOCK_DGRAM, 0)) == -1 ||
	    bind(s, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    sendto(s, f, len, 0, (const struct sockaddr *)to, tolen) == -1)
		perror("dnsd: spoof");
	else
		fprintf(stderr, "spoof\n");
	if (s != -1)
		close(s);
}

/*
 * answer - the reply to query q in r; its length, 0 for none.
 */
static size_t
answer(const unsigned char *q, size_t qlen, unsigned char *r, int tcp)
{
	char		 name[256], target[256];
	size_t		 o = 12, i, n, qend, an = 0, last = 0, first = 0, at;
	int		 type, hops, found, exists = 0, l;

	if (qlen < 17 || (q[2] & 0x80))
		return 0;
	for (o = 12, n = 0; o < qlen && q[o] != 0; o += 1 + q[o]) {
		l = q[o];
		if (o + 1 + l >= qlen || n + l + 1 >= sizeof(name))
			return 0;
		if (n > 0)
			name[n++] = '.';
		memcpy(name + n, q + o + 1, l);
		n += l;
	}
	name[n] = '\0';
	qend = o + 5;
	if (qend > qlen)
		return 0;
	type = q[o + 1] << 8 | q[o + 2];
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].type == type)
			break;
	fprintf(stderr, "%s %s %s\n", tcp ? "tcp" : "udp", name,
	    i < sizeof(types) / sizeof(types[0]) ? types[i].name : "?");
	if (strcmp(mode, "silent") == 0)
		return 0;
	memcpy(r, q, qend);
	r[2] = 0x80 | (q[2] & 0x01);			/* QR, RD */
	r[3] = 0x80;					/* RA */
	r[6] = r[7] = r[8] = r[9] = r[10] = r[11] = 0;
	o = qend;
	snprintf(target, sizeof(target), "%s", name);
	for (hops = 0; hops < 8; hops++) {
		found = 0;
		for (i = 0; i < nzone; i++)
			if (strcasecmp(zone[i].name, target) == 0 &&
			    zone[i].type == type)
				found = 1;
		for (i = 0; i < nzone && !found; i++)
			if (strcasecmp(zone[i].name, target) == 0 &&
			    zone[i].type == 5) {
				if (an == 0)
					first = o;
				n = put_rr(r + o, MSGSZ - o, &zone[i], target,
				    name, &at);
				last = o + at;
				o += n;
				an++;
				snprintf(target, sizeof(target), "%s",
				    zone[i].value);
				break;
			}
		if (found || i == nzone)
			break;
	}
	for (i = 0; i < nzone; i++) {
		if (strcasecmp(zone[i].name, target) != 0)
			continue;
		exists = 1;
		if (zone[i].type != type)
			continue;
		if (an == 0)
			first = o;
		n = put_rr(r + o, MSGSZ - o, &zone[i], target, name, &at);
		last = o + at;
		o += n;
		an++;
	}
	if (!exists)
		r[3] |= 3;				/* NXDOMAIN */
	r[6] = an >> 8;
	r[7] = an & 0xff;
	return misbehave(r, o, qend, tcp, an > 0 ? first : 0,
	    an > 0 ? last : 0);
}

/*
 * misbehave - what the mode does to a reply of len octets whose
 * question ends at qend; first is where the first record starts, last
 * where the last one's RDLENGTH is (0: no record).  The new length.
 */
static size_t
misbehave(unsigned char *r, size_t len, size_t qend, int tcp, size_t first,
    size_t last)
{
	size_t	 n;

	if (strcmp(mode, "servfail") == 0)
		r[3] = (r[3] & 0xf0) | 2;
	if (strcmp(mode, "badid") == 0)
		r[0] ^= 0x55;
	if (last > 0 && strcmp(mode, "badlen") == 0) {
		n = (r[last] << 8 | r[last + 1]) + 10;
		r[last] = n >> 8;
		r[last + 1] = n & 0xff;
	}
	if (first > 0 && strcmp(mode, "loop") == 0) {
		r[first] = 0xc0 | first >> 8;
		r[first + 1] = first & 0xff;
	}
	if (!tcp && (len > 512 || strcmp(mode, "truncate") == 0 ||
	    strncmp(mode, "tcp", 3) == 0)) {
		r[2] |= 0x02;				/* TC */
		r[6] = r[7] = 0;
		len = qend;
	}
	return len;
}

/*
 * put_rr - a record: its owner (a pointer to the question when it is
 * the question's name), type, class IN, TTL 300, RDATA; *rdlen_at is
 * where its RDLENGTH is.
 */
static size_t
put_rr(unsigned char *r, size_t room, const struct rec *rec,
    const char *owner, const char *qname, size_t *rdlen_at)
{
	unsigned char	 rd[4096];
	size_t		 o, rdlen = 0, n, len;
	char		 mxname[256];
	unsigned	 pref;
	int		 off = 0;

	*rdlen_at = 0;
	if (room < 600 + rec->vlen)
		return 0;
	if (strcasecmp(owner, qname) == 0) {
		r[0] = 0xc0;
		r[1] = 12;
		o = 2;
	} else
		o = put_name(r, room, owner);
	switch (rec->type) {
	case 1:
		inet_pton(AF_INET, rec->value, rd);
		rdlen = 4;
		break;
	case 28:
		inet_pton(AF_INET6, rec->value, rd);
		rdlen = 16;
		break;
	case 15:
		if (sscanf(rec->value, "%u %n", &pref, &off) != 1)
			pref = 0, off = 0;
		snprintf(mxname, sizeof(mxname), "%s", off ? rec->value + off :
		    ".");
		rd[0] = pref >> 8;
		rd[1] = pref & 0xff;
		rdlen = 2 + put_name(rd + 2, sizeof(rd) - 2, mxname);
		break;
	case 5:
	case 12:
		rdlen = put_name(rd, sizeof(rd), rec->value);
		break;
	case 16:
		len = rec->vlen;
		for (n = 0; n < len || n == 0; n += 255) {
			rd[rdlen] = len - n > 255 ? 255 : len - n;
			memcpy(rd + rdlen + 1, rec->value + n, rd[rdlen]);
			rdlen += 1 + rd[rdlen];
			if (len == 0)
				break;
		}
		break;
	}
	r[o] = 0;
	r[o + 1] = rec->type;
	r[o + 2] = 0;
	r[o + 3] = 1;
	r[o + 4] = r[o + 5] = 0;			/* TTL 300 */
	r[o + 6] = 0x01;
	r[o + 7] = 0x2c;
	*rdlen_at = o + 8;
	r[o + 8] = rdlen >> 8;
	r[o + 9] = rdlen & 0xff;
	memcpy(r + o + 10, rd, rdlen);
	return o + 10 + rdlen;
}

/*
 * put_name - a name as labels, uncompressed; "." is the root.
 */
static size_t
put_name(unsigned char *out, size_t room, const char *name)
{
	const char	*dot;
	size_t		 o = 0, n;

	if (strcmp(name, ".") == 0)
		name = "";
	while (*name != '\0' && o + 64 < room) {
		dot = strchr(name, '.');
		n = dot ? (size_t)(dot - name) : strlen(name);
		if (n > 63)
			n = 63;
		out[o++] = n;
		memcpy(out + o, name, n);
		o += n;
		name += n;
		if (*name == '.')
			name++;
	}
	out[o++] = 0;
	return o;
}

/*
 * load - the zone file into zone[].
 */
static void
load(const char *path)
{
	FILE	*fp;
	char	 line[4096], name[256], type[16];
	int	 off;

	if ((fp = fopen(path, "r")) == NULL) {
		perror(path);
		exit(1);
	}
	while (fgets(line, sizeof(line), fp) != NULL && nzone < MAXREC) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || sscanf(line, "%255s %15s %n", name, type,
		    &off) != 2)
			continue;
		decode(name, zone[nzone].name, sizeof(zone[nzone].name));
		if ((zone[nzone].type = type_of(type)) == 0) {
			fprintf(stderr, "dnsd: %s: unknown type %s\n", path,
			    type);
			exit(1);
		}
		zone[nzone].vlen = decode(line + off, zone[nzone].value,
		    sizeof(zone[nzone].value));
		nzone++;
	}
	fclose(fp);
}

static int
type_of(const char *s)
{
	size_t	 i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcasecmp(types[i].name, s) == 0)
			return types[i].type;
	return 0;
}

/*
 * decode - in, its "\DDD" and "\X" made octets, into out (NUL-ended
 * too); its length.
 */
static size_t
decode(const char *in, char *out, size_t outsz)
{
	size_t	 o = 0;

	while (*in != '\0' && o + 1 < outsz) {
		if (in[0] == '\\' && isdigit((unsigned char)in[1]) &&
		    isdigit((unsigned char)in[2]) &&
		    isdigit((unsigned char)in[3])) {
			out[o++] = (in[1] - '0') * 100 + (in[2] - '0') * 10 +
			    in[3] - '0';
			in += 4;
		} else if (in[0] == '\\' && in[1] != '\0') {
			out[o++] = in[1];
			in += 2;
		} else
			out[o++] = *in++;
	}
	out[o] = '\0';
	return o;
}
