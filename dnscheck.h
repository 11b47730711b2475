/*
 * dnscheck.h - smtpd -D: is the DNS of each configured domain right for
 * a server that receives its mail?  See dnscheck.c.
 */
#ifndef DNSCHECK_H
#define DNSCHECK_H

#include <stdio.h>

#include "conf.h"

#define DNSCHECK_OK		0	/* every record is right */
#define DNSCHECK_WRONG		1	/* something to fix: the "wrong:" lines */
#define DNSCHECK_UNANSWERED	3	/* the resolver did not answer */

#define DNSCHECK_DEADLINE_MS	5000	/* for each question */

int	 dnscheck(const struct conf *, FILE *);

#endif
