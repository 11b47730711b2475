/*
 * fuzz/proxy.c - libFuzzer target: proxy_read(), the PROXY protocol
 * header a load balancer sends before the client's first octet.
 *
 * The input is what the balancer sends, with the edges of its writes
 * marked by 0xff (fuzz.h).  proxy_read() peeks (MSG_PEEK) at a v1 line
 * and reads exactly as much as it means to, so the pieces go over a
 * SOCK_STREAM socketpair, where a read may take less than a piece: the
 * helper thread (fuzz.c) writes a piece only when the one before has been read
 * (FIONREAD on the reading end says 0), or proxy_read() has returned.
 * After the last piece it shuts its end down, so that a header that
 * never ends meets the end of the input, not the timeout.
 *
 * What is checked, against a model of the two header formats written
 * from the specification (haproxy's proxy-protocol.txt) and proxy.c's
 * documented choices (v1 at most 107 octets, v2 at most 536; TCP over
 * IPv4 or IPv6 gives an address, any other family or LOCAL or UNKNOWN
 * gives none):
 *
 *   - the result is the model's: an address, none, or a refusal;
 *   - an address is the header's source address, NUL-terminated within
 *     the buffer given, printable, and parses as an address of its
 *     family;
 *   - a refusal says why, in a word;
 *   - after an accepted header, what is left to read is exactly the
 *     input after it: not one octet of the session is taken; after a
 *     refused one, no more was taken than the header could have been.
 */
#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../proxy.h"
#include "fuzz.h"

#define V1_MAX		107
#define V2_MAX		536
#define V2_FIXED	16
#define PEERSZ		INET6_ADDRSTRLEN

static const unsigned char v2_sig[12] = "\r\n\r\n\0\r\nQUIT\n";

struct feed {
	const struct pieces	*pc;
	int			 rd, wr;
	atomic_int		 done;		/* proxy_read() returned */
	size_t			 written;	/* octets sent */
	int			 shut;		/* all sent, then shut down */
};

/* What the model says of a header. */
struct expect {
	int		 result;	/* PROXY_ADDRESS, PROXY_LOCAL, -1 */
	size_t		 max;		/* octets proxy_read() may take */
	int		 af;		/* with PROXY_ADDRESS: the source */
	unsigned char	 addr[16];
};

static void	 feeder(void *);
static void	 check(const struct pieces *, size_t, int, const char *,
		    const char *);
static void	 model(const unsigned char *, size_t, struct expect *);
static void	 model_v1(const unsigned char *, size_t, struct expect *);
static void	 model_v2(const unsigned char *, size_t, struct expect *);
static int	 port_ok(const char *, size_t);
static void	 fail(const struct pieces *, const char *, int,
		    const char *, const char *, ...)
		    __attribute__((format(printf, 5, 6), noreturn));

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_init();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *input, size_t size)
{
	struct pieces	 pc;
	struct feed	 f;
	struct buf	 rest = { NULL, 0, 0 };
	const char	*why = NULL;
	char		*peer, buf[4096];
	ssize_t		 r;
	int		 sv[2], result;

	fuzz_pieces(&pc, input, size, 65536);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		fuzz_fail("socketpair: %s", strerror(errno));
	memset(&f, 0, sizeof(f));
	f.pc = &pc;
	f.rd = sv[0];
	f.wr = sv[1];
	atomic_init(&f.done, 0);
	/* Exactly PEERSZ octets, so that ASan sees a write past them. */
	if ((peer = malloc(PEERSZ)) == NULL)
		fuzz_fail("out of memory");
	memset(peer, 'x', PEERSZ);
	fuzz_thread_start(feeder, &f);
	result = proxy_read(f.rd, 5, peer, PEERSZ, &why);
	atomic_store(&f.done, 1);
	fuzz_thread_join();

	/* The rest of the input, then all that is left to read. */
	if (!f.shut) {
		if (pc.len > f.written && send(f.wr, pc.data + f.written,
		    pc.len - f.written, MSG_NOSIGNAL) !=
		    (ssize_t)(pc.len - f.written))
			fuzz_fail("send: %s", strerror(errno));
		shutdown(f.wr, SHUT_WR);
	}
	while ((r = read(f.rd, buf, sizeof(buf))) > 0)
		buf_add(&rest, buf, r);
	close(sv[0]);
	close(sv[1]);
	if (rest.len > pc.len || (rest.len > 0 && memcmp(rest.p, pc.data +
	    pc.len - rest.len, rest.len) != 0))
		fail(&pc, peer, result, why, "what is left to read is not "
		    "the end of the input");
	check(&pc, pc.len - rest.len, result, peer, why);
	free(peer);
	buf_free(&rest);
	fuzz_pieces_free(&pc);
	return 0;
}

/*
 * check - what proxy_read() returned, said and took, against the model.
 */
static void
check(const struct pieces *pc, size_t taken, int result, const char *peer,
    const char *why)
{
	struct expect	 e;
	unsigned char	 bin[16];
	size_t		 i;

	model(pc->data, pc->len, &e);
	if (result != e.result)
		fail(pc, peer, result, why, "proxy_read() returned %d, the "
		    "model %d", result, e.result);
	if (taken > e.max || (result != -1 && taken != e.max))
		fail(pc, peer, result, why, "proxy_read() took %zu octets, "
		    "the header is %zu", taken, e.max);
	if (result == -1) {
		if (why == NULL || why[0] == '\0' ||
		    strspn(why, "abcdefghijklmnopqrstuvwxyz0123456789-") !=
		    strlen(why))
			fail(pc, peer, result, why, "a refusal without a "
			    "reason in a word");
		return;
	}
	if (result != PROXY_ADDRESS)
		return;
	if (memchr(peer, '\0', PEERSZ) == NULL)
		fail(pc, NULL, result, why, "the address is not "
		    "NUL-terminated within %d octets", PEERSZ);
	for (i = 0; peer[i] != '\0'; i++)
		if (strchr("0123456789abcdefABCDEF.:", peer[i]) == NULL)
			fail(pc, peer, result, why, "the address holds 0x%02x",
			    (unsigned char)peer[i]);
	if (inet_pton(e.af, peer, bin) != 1 ||
	    memcmp(bin, e.addr, e.af == AF_INET ? 4 : 16) != 0)
		fail(pc, peer, result, why, "the address is not the header's "
		    "source address");
}

/*
 * feeder - the balancer: each piece once the one before has been read,
 * until proxy_read() returns; after the last, shut down.
 */
static void
feeder(void *arg)
{
	struct feed		*f = arg;
	const struct pieces	*pc = f->pc;
	size_t			 i, start;
	int			 unread;

	for (i = 0; i < pc->n && !atomic_load(&f->done); i++) {
		start = i > 0 ? pc->end[i - 1] : 0;
		if (send(f->wr, pc->data + start, pc->end[i] - start,
		    MSG_NOSIGNAL) != (ssize_t)(pc->end[i] - start))
			fuzz_fail("send: %s", strerror(errno));
		f->written = pc->end[i];
		while (!atomic_load(&f->done)) {
			if (ioctl(f->rd, FIONREAD, &unread) == -1)
				fuzz_fail("FIONREAD: %s", strerror(errno));
			if (unread == 0)
				break;
			sched_yield();
		}
	}
	if (i == pc->n) {
		shutdown(f->wr, SHUT_WR);
		f->shut = 1;
	}
}

/*
 * model - which header this is, and what proxy_read() must make of it.
 */
static void
model(const unsigned char *p, size_t n, struct expect *e)
{
	memset(e, 0, sizeof(*e));
	e->result = -1;
	if (n >= 6 && memcmp(p, "PROXY ", 6) == 0)
		model_v1(p, n, e);
	else if (n >= 6 && memcmp(p, v2_sig, 6) == 0)
		model_v2(p, n, e);
	else
		e->max = n < 6 ? n : 6;		/* six tell the versions apart */
}

/*
 * model_v1 - "PROXY TCP4|TCP6 SRC DST SPORT DPORT\r\n", or "PROXY
 * UNKNOWN" and anything up to the CRLF, 107 octets at most; single
 * spaces; no NUL.
 */
static void
model_v1(const unsigned char *p, size_t n, struct expect *e)
{
	const unsigned char	*lf;
	const char		*f[8];
	size_t			 len[8], nf = 0, i, start, end;
	char			 word[64];

	lf = memchr(p, '\n', n < V1_MAX ? n : V1_MAX);
	if (lf == NULL) {
		e->max = n < V1_MAX ? n : V1_MAX;
		return;
	}
	e->max = lf + 1 - p;
	if (e->max < 8 || lf[-1] != '\r' || memchr(p, '\0', e->max) != NULL)
		return;
	end = e->max - 2;
	for (start = i = 0; i <= end && nf < 8; i++)
		if (i == end || p[i] == ' ') {
			f[nf] = (const char *)p + start;
			len[nf++] = i - start;
			start = i + 1;
		}
	if (nf >= 2 && len[1] == 7 && memcmp(f[1], "UNKNOWN", 7) == 0) {
		e->result = PROXY_LOCAL;
		return;
	}
	if (nf != 6 || len[1] != 4 || (memcmp(f[1], "TCP4", 4) != 0 &&
	    memcmp(f[1], "TCP6", 4) != 0))
		return;
	e->af = f[1][3] == '4' ? AF_INET : AF_INET6;
	if (len[3] >= sizeof(word))
		return;
	memcpy(word, f[3], len[3]);
	word[len[3]] = '\0';
	if (inet_pton(e->af, word, e->addr) != 1 || !port_ok(f[4], len[4]) ||
	    !port_ok(f[5], len[5]) || len[2] >= sizeof(word))
		return;
	memcpy(word, f[2], len[2]);
	word[len[2]] = '\0';
	if (inet_pton(e->af, word, e->addr) == 1)
		e->result = PROXY_ADDRESS;
}

/*
 * port_ok - 0 to 65535 in decimal, no leading zero.
 */
static int
port_ok(const char *s, size_t n)
{
	size_t		 i;
	unsigned long	 v = 0;

	if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	return v <= 65535;
}

/*
 * model_v2 - the 12-octet signature, version 2, command LOCAL or PROXY,
 * a family, a length, and that many octets, 536 in all at most.
 */
static void
model_v2(const unsigned char *p, size_t n, struct expect *e)
{
	size_t	 len;

	if (n < V2_FIXED || memcmp(p, v2_sig, sizeof(v2_sig)) != 0 ||
	    p[12] >> 4 != 2 || (p[12] & 0x0f) > 1) {
		e->max = n < V2_FIXED ? n : V2_FIXED;
		return;
	}
	len = (size_t)p[14] << 8 | p[15];
	if (V2_FIXED + len > V2_MAX) {
		e->max = V2_FIXED;
		return;
	}
	e->max = V2_FIXED + len;
	if (n < e->max) {
		e->max = n;
		return;
	}
	if ((p[12] & 0x0f) == 0) {		/* LOCAL */
		e->result = PROXY_LOCAL;
		return;
	}
	switch (p[13]) {
	case 0x11:				/* TCP over IPv4 */
		if (len < 12)
			return;
		e->af = AF_INET;
		memcpy(e->addr, p + V2_FIXED, 4);
		break;
	case 0x21:				/* TCP over IPv6 */
		if (len < 36)
			return;
		e->af = AF_INET6;
		memcpy(e->addr, p + V2_FIXED, 16);
		break;
	default:
		e->result = PROXY_LOCAL;
		return;
	}
	e->result = PROXY_ADDRESS;
}

/*
 * fail - report with the input and what proxy_read() said.
 */
static void
fail(const struct pieces *pc, const char *peer, int result, const char *why,
    const char *fmt, ...)
{
	char	 msg[512];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fuzz_note_octets("input", pc->data, pc->len);
	fuzz_note("pieces: %zu; result %d, why %s, peer %.*s", pc->n, result,
	    why ? why : "(null)", PEERSZ, peer ? peer : "(not terminated)");
	fuzz_fail("%s", msg);
}
