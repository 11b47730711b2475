/*
 * idna.c - Punycode (RFC 3492) and the canonical form of a domain.
 *
 * punycode_encode() and punycode_decode() follow RFC 3492 section 6 with
 * its parameters (6.1, 5) and its overflow checks (6.4), on uint32_t:
 * every addition and multiplication that could wrap is tested first, so
 * a hostile "xn--" label fails instead of decoding to garbage.  Neither
 * keeps case flags (RFC 3492 appendix A): smtpd lowercases first.
 *
 * idna_domain() is what the rest of smtpd calls.  Label by label it
 * turns a domain into the form that RFC 5890 calls A-labels, ASCII
 * lowercased: an ASCII label stays itself; a label with UTF-8 is
 * decoded, its ASCII letters lowercased, and Punycode-encoded behind
 * "xn--"; an "xn--" label is checked by decoding it (it must decode, to
 * something that is not pure ASCII, and encode back to itself).  Letters
 * outside ASCII are left as written: without Unicode's tables (smtpd
 * uses libc only) there is no case mapping or normalisation to do, so
 * "B\xc3\x9c" and "b\xc3\xbc" are different labels.  The limits of RFC
 * 1035 apply to the result: 63 octets a label, 253 a domain.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "idna.h"

/* RFC 3492 5, the parameters for IDNA. */
#define BASE		36
#define TMIN		1
#define TMAX		26
#define SKEW		38
#define DAMP		700
#define INITIAL_BIAS	72
#define INITIAL_N	0x80
#define DELIM		'-'
#define MAXINT		UINT32_MAX

#define LABEL_CP_MAX	IDNA_LABEL_MAX	/* code points: each is an octet */

static uint32_t	 adapt(uint32_t, uint32_t, int);
static uint32_t	 threshold(uint32_t, uint32_t);
static int	 digit_value(int);
static int	 ldh(uint32_t);
static int	 label_ascii(const char *, size_t, char *, size_t *);
static int	 label_unicode(const char *, size_t, char *, size_t *);
static int	 alabel_ok(const char *, size_t);
static int	 ulabel_ok(const uint32_t *, size_t);

/*
 * adapt - RFC 3492 6.1, the bias after each delta.
 */
static uint32_t
adapt(uint32_t delta, uint32_t numpoints, int first)
{
	uint32_t	 k = 0;

	delta = first ? delta / DAMP : delta / 2;
	delta += delta / numpoints;
	while (delta > ((BASE - TMIN) * TMAX) / 2) {
		delta /= BASE - TMIN;
		k += BASE;
	}
	return k + (BASE - TMIN + 1) * delta / (delta + SKEW);
}

/*
 * threshold - t for the digit at k (RFC 3492 6.2 and 6.3).
 */
static uint32_t
threshold(uint32_t k, uint32_t bias)
{
	if (k <= bias)
		return TMIN;
	if (k >= bias + TMAX)
		return TMAX;
	return k - bias;
}

/*
 * digit_value - a..z are 0..25, 0..9 are 26..35 (either case, 5);
 * BASE for anything else.
 */
static int
digit_value(int c)
{
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= '0' && c <= '9')
		return c - '0' + 26;
	return BASE;
}

/*
 * punycode_encode - RFC 3492 6.3: n code points into out, whose size is
 * *outlen on entry and whose length (no NUL written) is *outlen on
 * return.  -1 on overflow or when out is too small.
 */
int
punycode_encode(const uint32_t *in, size_t n, char *out, size_t *outlen)
{
	uint32_t	 cp, m, delta = 0, bias = INITIAL_BIAS, q, k, t, h, b;
	size_t		 o = 0, max = *outlen, j;

	if (n > MAXINT - 1)
		return -1;
	for (j = 0; j < n; j++)
		if (in[j] < 0x80) {
			if (o >= max)
				return -1;
			out[o++] = (char)in[j];
		}
	h = b = (uint32_t)o;
	if (b > 0) {
		if (o >= max)
			return -1;
		out[o++] = DELIM;
	}
	for (cp = INITIAL_N; h < n; cp++, delta++) {
		for (m = MAXINT, j = 0; j < n; j++)
			if (in[j] >= cp && in[j] < m)
				m = in[j];
		if (m - cp > (MAXINT - delta) / (h + 1))
			return -1;		/* 6.4 */
		delta += (m - cp) * (h + 1);
		cp = m;
		for (j = 0; j < n; j++) {
			if (in[j] < cp && ++delta == 0)
				return -1;	/* 6.4 */
			if (in[j] != cp)
				continue;
			for (q = delta, k = BASE;; k += BASE) {
				t = threshold(k, bias);
				if (q < t)
					break;
				if (o >= max)
					return -1;
				out[o++] = "abcdefghijklmnopqrstuvwxyz0123456789"
				    [t + (q - t) % (BASE - t)];
				q = (q - t) / (BASE - t);
			}
			if (o >= max)
				return -1;
			out[o++] = "abcdefghijklmnopqrstuvwxyz0123456789"[q];
			bias = adapt(delta, h + 1, h == b);
			delta = 0;
			h++;
		}
	}
	*outlen = o;
	return 0;
}

/*
 * punycode_decode - RFC 3492 6.2: the n octets at in into code points
 * in out, room for *outlen on entry, the count on return.  -1 when the
 * input is not Punycode, on overflow, or when out is too small.
 */
int
punycode_decode(const char *in, size_t n, uint32_t *out, size_t *outlen)
{
	uint32_t	 cp = INITIAL_N, i = 0, bias = INITIAL_BIAS, oldi, w, k,
			 t, digit;
	size_t		 o, max = *outlen, b = 0, j, p;

	for (j = 0; j < n; j++)
		if (in[j] == DELIM)
			b = j;
	if (b > max || n > MAXINT)
		return -1;
	for (o = 0; o < b; o++) {
		if ((unsigned char)in[o] >= 0x80)
			return -1;
		out[o] = (unsigned char)in[o];
	}
	for (p = b > 0 ? b + 1 : 0; p < n; o++) {
		for (oldi = i, w = 1, k = BASE;; k += BASE) {
			if (p >= n || (digit = digit_value(in[p++])) >= BASE)
				return -1;
			if (digit > (MAXINT - i) / w)
				return -1;	/* 6.4 */
			i += digit * w;
			t = threshold(k, bias);
			if (digit < t)
				break;
			if (w > MAXINT / (BASE - t))
				return -1;	/* 6.4 */
			w *= BASE - t;
		}
		bias = adapt(i - oldi, (uint32_t)o + 1, oldi == 0);
		if (i / (o + 1) > MAXINT - cp)
			return -1;		/* 6.4 */
		cp += i / (o + 1);
		i %= o + 1;
		if (cp < 0x80 || o >= max)
			return -1;		/* 6.2: no basic code point */
		memmove(out + i + 1, out + i, (o - i) * sizeof(*out));
		out[i++] = cp;
	}
	*outlen = o;
	return 0;
}

/*
 * utf8_decode - the code point of the well-formed UTF-8 sequence of two
 * to four octets at u, of which n may be read (RFC 3629: no overlongs,
 * no surrogates, nothing past U+10FFFF), into *cpp if cpp is not NULL;
 * its length, or 0 if it is not one.  addr.c checks an address's UTF-8
 * with it, so that the grammar and idna.c agree on what UTF-8 is.
 */
size_t
utf8_decode(const unsigned char *u, size_t n, uint32_t *cpp)
{
	size_t		 len, i;
	uint32_t	 cp;

	if (n == 0)
		return 0;
	if (u[0] >= 0xc2 && u[0] <= 0xdf) {
		len = 2;
		cp = u[0] & 0x1f;
	} else if (u[0] >= 0xe0 && u[0] <= 0xef) {
		len = 3;
		cp = u[0] & 0x0f;
	} else if (u[0] >= 0xf0 && u[0] <= 0xf4) {
		len = 4;
		cp = u[0] & 0x07;
	} else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((u[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (u[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	if (cpp != NULL)
		*cpp = cp;
	return len;
}

/*
 * ldh - a lowercase letter, a digit or a hyphen: the ASCII a label may
 * hold (RFC 5890 2.3.1).
 */
static int
ldh(uint32_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/*
 * ulabel_ok - the label as code points: ASCII only where LDH, no hyphen
 * at either end nor in the third and fourth positions (RFC 5891
 * 4.2.3.1), nothing that is not a scalar value, and no C1 control
 * (U+0080 to U+009F), a part of IDNA2008's DISALLOWED that
 * needs no table and that "xn--a" would otherwise decode to.  The same
 * test for a U-label as written and for what an A-label decodes to, so
 * that a label refused in one form is refused in the other.
 */
static int
ulabel_ok(const uint32_t *cp, size_t n)
{
	size_t	 i;

	if (n == 0 || cp[0] == '-' || cp[n - 1] == '-' ||
	    (n >= 4 && cp[2] == '-' && cp[3] == '-'))
		return 0;
	for (i = 0; i < n; i++)
		if (cp[i] < 0x80 ? !ldh(cp[i]) : cp[i] <= 0x9f ||
		    cp[i] > 0x10ffff || (cp[i] >= 0xd800 && cp[i] <= 0xdfff))
			return 0;
	return 1;
}

/*
 * alabel_ok - an "xn--" label, lowercased, is an A-label only if it
 * decodes to a valid U-label with something beyond ASCII in it and
 * encodes back to the same octets (RFC 5891 5.4).
 */
static int
alabel_ok(const char *s, size_t n)
{
	uint32_t	 cp[LABEL_CP_MAX];
	char		 again[IDNA_LABEL_MAX];
	size_t		 ncp = LABEL_CP_MAX, nagain = sizeof(again), i;
	int		 wide = 0;

	if (punycode_decode(s + 4, n - 4, cp, &ncp) == -1 ||
	    !ulabel_ok(cp, ncp))
		return 0;
	for (i = 0; i < ncp; i++)
		wide |= cp[i] >= 0x80;
	if (!wide || punycode_encode(cp, ncp, again, &nagain) == -1)
		return 0;
	return nagain == n - 4 && memcmp(again, s + 4, nagain) == 0;
}

/*
 * label_ascii - an ASCII label into out, lowercased and checked; the
 * caller has room for IDNA_LABEL_MAX octets.
 */
static int
label_ascii(const char *s, size_t n, char *out, size_t *outlen)
{
	size_t	 i;

	if (n == 0 || n > IDNA_LABEL_MAX || s[0] == '-' || s[n - 1] == '-')
		return -1;
	for (i = 0; i < n; i++) {
		out[i] = s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i];
		if (!ldh((unsigned char)out[i]))
			return -1;
	}
	if (n >= 4 && memcmp(out, "xn--", 4) == 0 && !alabel_ok(out, n))
		return -1;
	*outlen = n;
	return 0;
}

/*
 * label_unicode - a label with UTF-8 into out as "xn--" and Punycode;
 * the caller has room for IDNA_LABEL_MAX octets.
 */
static int
label_unicode(const char *s, size_t n, char *out, size_t *outlen)
{
	const unsigned char	*u = (const unsigned char *)s;
	uint32_t		 cp[LABEL_CP_MAX];
	size_t			 ncp = 0, i, k, room;

	for (i = 0; i < n; i += k) {
		if (ncp == LABEL_CP_MAX)
			return -1;
		if (u[i] < 0x80) {
			k = 1;
			cp[ncp] = u[i] >= 'A' && u[i] <= 'Z' ?
			    u[i] - 'A' + 'a' : u[i];
		} else if ((k = utf8_decode(u + i, n - i, &cp[ncp])) == 0)
			return -1;
		ncp++;
	}
	if (!ulabel_ok(cp, ncp))
		return -1;
	memcpy(out, "xn--", 4);
	room = IDNA_LABEL_MAX - 4;
	if (punycode_encode(cp, ncp, out + 4, &room) == -1)
		return -1;
	*outlen = room + 4;
	return 0;
}

/*
 * idna_domain - the canonical form of a domain written with A-labels,
 * U-labels or both: A-labels, ASCII lowercased, NUL-terminated in out.
 * -1 if a label is empty, not LDH, an invalid A-label or U-label, or
 * too long, or the domain is, or out is too small.
 */
int
idna_domain(const char *in, char *out, size_t outsz)
{
	char		 label[IDNA_LABEL_MAX];
	const char	*dot;
	size_t		 n, len, o = 0, i;
	int		 wide;

	for (;;) {
		dot = strchr(in, '.');
		n = dot ? (size_t)(dot - in) : strlen(in);
		for (wide = 0, i = 0; i < n; i++)
			wide |= (unsigned char)in[i] >= 0x80;
		if ((wide ? label_unicode(in, n, label, &len) :
		    label_ascii(in, n, label, &len)) == -1)
			return -1;
		if (o + len + 1 > IDNA_DOMAIN_MAX + 1 || o + len + 1 > outsz)
			return -1;
		memcpy(out + o, label, len);
		o += len;
		if (dot == NULL)
			break;
		out[o++] = '.';
		in = dot + 1;
	}
	out[o] = '\0';
	return 0;
}
