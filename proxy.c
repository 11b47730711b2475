/*
 * proxy.c - read the PROXY protocol header (v1 text or v2 binary) that
 * a load balancer sends before anything else on the connection.
 *
 * proxy_read() consumes the header and not one octet more: whatever
 * follows belongs to the SMTP session.  The v2 header has its length in
 * it and is read by count; the v1 line is peeked at (MSG_PEEK) to find
 * its LF before it is read.  The whole header must arrive within the
 * timeout and within the sizes the specification sets (107 octets for
 * v1; for v2 we accept at most 536, the smallest TCP segment every
 * host takes, which holds any address block and the usual TLVs).
 * Anything else - wrong signature, bad syntax, too long, too slow - is
 * refused and the connection is closed without a greeting.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "now.h"
#include "proxy.h"

#define V1_MAX		107
#define V2_MAX		536
#define V2_FIXED	16
static const char v2_sig[12] = "\r\n\r\n\0\r\nQUIT\n";

static int	 wait_input(int, long long);
static int	 read_exact(int, char *, size_t, long long);
static int	 read_v1(int, char *, long long);
static int	 parse_v1(char *, char *, size_t);
static int	 read_v2(int, unsigned char *, long long, char *, size_t);
static int	 port_ok(const char *);

/*
 * proxy_read - the header on fd: PROXY_ADDRESS with the client's address
 * in peer, PROXY_LOCAL when the header carries none, or -1 with *why
 * set to a word for the log.
 */
int
proxy_read(int fd, int timeout, char *peer, size_t peersz, const char **why)
{
	unsigned char	 buf[V2_MAX];
	long long	 deadline;

	deadline = now_ms() + timeout * 1000LL;
	/* Six octets tell the versions apart: "PROXY " or "\r\n\r\n\0\r". */
	*why = "slow-or-truncated";
	if (read_exact(fd, (char *)buf, 6, deadline) == -1)
		return -1;
	if (memcmp(buf, "PROXY ", 6) == 0) {
		*why = "v1-slow-truncated-or-too-long";
		if (read_v1(fd, (char *)buf, deadline) == -1)
			return -1;
		*why = "v1-malformed";
		return parse_v1((char *)buf, peer, peersz);
	}
	if (memcmp(buf, v2_sig, 6) == 0) {
		*why = "v2-invalid-slow-or-too-long";
		return read_v2(fd, buf, deadline, peer, peersz);
	}
	*why = "no-proxy-header";
	return -1;
}

/*
 * wait_input - poll until fd is readable or the deadline (now_ms())
 * passes.
 */
static int
wait_input(int fd, long long deadline)
{
	struct pollfd	 pfd = { fd, POLLIN, 0 };
	long long	 now;
	int		 r;

	for (;;) {
		if ((now = now_ms()) >= deadline)
			return -1;
		r = poll(&pfd, 1, (int)(deadline - now));
		if (r > 0)
			return 0;
		if (r == 0 || errno != EINTR)
			return -1;
	}
}

/*
 * read_exact - n octets, no more.
 */
static int
read_exact(int fd, char *buf, size_t n, long long deadline)
{
	size_t	 have = 0;
	ssize_t	 r;

	while (have < n) {
		if (wait_input(fd, deadline) == -1)
			return -1;
		r = read(fd, buf + have, n - have);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		have += r;
	}
	return 0;
}

/*
 * read_v1 - the rest of "PROXY ...\r\n" into buf (which holds the first
 * six octets and has room for V1_MAX + 1), NUL-terminated; a line with a
 * NUL of its own is refused.  What is peeked up to the LF is header; so
 * is everything peeked when no LF has come yet.
 */
static int
read_v1(int fd, char *buf, long long deadline)
{
	size_t	 have = 6, take;
	ssize_t	 r;
	char	*lf;

	while (have < V1_MAX) {
		if (wait_input(fd, deadline) == -1)
			return -1;
		r = recv(fd, buf + have, V1_MAX - have, MSG_PEEK);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		lf = memchr(buf + have, '\n', r);
		take = lf ? (size_t)(lf - (buf + have)) + 1 : (size_t)r;
		if (read_exact(fd, buf + have, take, deadline) == -1)
			return -1;
		have += take;
		if (lf != NULL) {
			/* A NUL would hide what follows it from parse_v1(). */
			if (memchr(buf, '\0', have) != NULL)
				return -1;
			buf[have] = '\0';
			return 0;
		}
	}
	return -1;
}

/*
 * parse_v1 - "PROXY TCP4|TCP6 src dst sport dport\r\n" or
 * "PROXY UNKNOWN ...\r\n".
 */
static int
parse_v1(char *line, char *peer, size_t peersz)
{
	unsigned char	 bin[sizeof(struct in6_addr)];
	char		*f[7], *p = line;
	int		 n, af;

	n = strlen(line);
	if (n < 8 || line[n - 2] != '\r')
		return -1;
	line[n - 2] = '\0';
	for (n = 0; n < 7 && (f[n] = p) != NULL; n++)
		if ((p = strchr(p, ' ')) != NULL)
			*p++ = '\0';
	if (n >= 2 && strcmp(f[1], "UNKNOWN") == 0)
		return PROXY_LOCAL;
	if (n != 6 || p != NULL)
		return -1;
	if (strcmp(f[1], "TCP4") == 0)
		af = AF_INET;
	else if (strcmp(f[1], "TCP6") == 0)
		af = AF_INET6;
	else
		return -1;
	if (inet_pton(af, f[3], bin) != 1 || !port_ok(f[4]) ||
	    !port_ok(f[5]) || inet_pton(af, f[2], bin) != 1 ||
	    inet_ntop(af, bin, peer, peersz) == NULL)
		return -1;
	return PROXY_ADDRESS;
}

static int
port_ok(const char *s)
{
	size_t	 n = strspn(s, "0123456789");

	/* No leading zeros, 0 to 65535 (spec, section 2.1). */
	return n > 0 && n <= 5 && s[n] == '\0' && (n == 1 || s[0] != '0') &&
	    atoi(s) <= 65535;
}

/*
 * read_v2 - the rest of the binary header; buf holds its first six
 * octets.  Families other than TCP over IPv4/IPv6 carry no address we
 * can use, and are taken as LOCAL.
 */
static int
read_v2(int fd, unsigned char *buf, long long deadline, char *peer,
    size_t peersz)
{
	size_t	 len;
	int	 af;

	if (read_exact(fd, (char *)buf + 6, V2_FIXED - 6, deadline) == -1 ||
	    memcmp(buf, v2_sig, sizeof(v2_sig)) != 0 ||
	    (buf[12] & 0xf0) != 0x20 || (buf[12] & 0x0f) > 1)
		return -1;
	len = (size_t)buf[14] << 8 | buf[15];
	if (V2_FIXED + len > V2_MAX ||
	    read_exact(fd, (char *)buf + V2_FIXED, len, deadline) == -1)
		return -1;
	if ((buf[12] & 0x0f) == 0)		/* LOCAL: a health check */
		return PROXY_LOCAL;
	if (buf[13] == 0x11 && len >= 12)
		af = AF_INET;
	else if (buf[13] == 0x21 && len >= 36)
		af = AF_INET6;
	else if (buf[13] == 0x11 || buf[13] == 0x21)
		return -1;			/* too short for its family */
	else
		return PROXY_LOCAL;
	if (inet_ntop(af, buf + V2_FIXED, peer, peersz) == NULL)
		return -1;
	return PROXY_ADDRESS;
}
