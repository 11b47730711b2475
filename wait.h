/*
 * wait.h - smtpd -w: wait, without a daemon, until a mailbox's new/
 * holds a number of messages, and print their paths.  For the test
 * scripts of people who test their own software's mail.
 *
 * smtpd.c collects the options as given into a struct wait_args,
 * wait_usage() checks and converts them (or says what is wrong), and
 * wait_mail() does the rest with the loaded configuration.
 */
#ifndef WAIT_H
#define WAIT_H

struct conf;

#define WAIT_TIMEOUT	10	/* seconds, without -t */
#define WAIT_COUNT_MAX	10000	/* -c */
#define WAIT_TIMEOUT_MAX 86400	/* -t */

/* What smtpd -w exits with; 2 is smtpd's usage error. */
#define WAIT_FOUND	0
#define WAIT_TIMEDOUT	1	/* or a configuration or spool error */
#define WAIT_NOT_OURS	3	/* ADDRESS is not delivered into the spool */

struct wait_args {
	const char	*addr;		/* -w, as given */
	const char	*count;		/* -c, -t, -s as given; NULL: unset */
	const char	*timeout;
	const char	*since;
	/* set by wait_usage() */
	unsigned	 want;
	int		 seconds;
	long long	 since_us;	/* -1: every message counts */
};

int	wait_usage(struct wait_args *, int other_mode);
int	wait_mail(const struct conf *, const struct wait_args *);

#endif
