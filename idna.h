/*
 * idna.h - internationalised domain names: Punycode (RFC 3492) and the
 * one canonical form smtpd compares and stores every domain under.
 *
 * A domain may arrive as U-labels (UTF-8, RFC 6531) or as A-labels
 * ("xn--" and Punycode, RFC 5890); both name the same domain.
 * idna_domain() turns either into A-labels, ASCII lowercased, so that
 * conf.c and addr.c compare like with like and every spool path is
 * ASCII.  Pure functions of their arguments: no I/O, no locale, no
 * Unicode tables (so no case mapping or normalisation beyond ASCII).
 * utf8_decode() is the one UTF-8 decoder, which addr.c uses too.
 * test/addr_test.c runs RFC 3492's samples through them.
 */
#ifndef IDNA_H
#define IDNA_H

#include <stddef.h>
#include <stdint.h>

#define IDNA_LABEL_MAX	63	/* RFC 1035 2.3.4, octets of an A-label */
#define IDNA_DOMAIN_MAX	253	/* RFC 1035's 255 on the wire, as text */

int	punycode_encode(const uint32_t *, size_t, char *, size_t *);
int	punycode_decode(const char *, size_t, uint32_t *, size_t *);
int	idna_domain(const char *, char *, size_t);
size_t	utf8_decode(const unsigned char *, size_t, uint32_t *);

#endif
