/*
 * log.h - the logging interface shared by smtpd.c, session.c and store.c.
 *
 * Every event is one line.  Lines go to syslog (facility mail) unless
 * log_init() was told to use stderr (the -d flag).  Under inetd, fd 2 is
 * the client's socket, so nothing here writes to stderr unless asked to.
 * Client octets go into a line, or into a reply, only through
 * log_escape().
 */
#ifndef LOG_H
#define LOG_H

/*
 * The longest line, the session id included: a line that would be
 * longer is cut between two of its pairs and ends in truncated=yes.
 */
#define LOG_LINE_MAX	2048
#define LOG_PEER_MAX	48	/* "[" INET6_ADDRSTRLEN "]", or "unknown" */
#define LOG_VALUE_MAX	512	/* for log_value(): a path, a name */

void	log_init(const char *ident, int to_stderr, int verbose);
int	log_verbose(void);
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
const char *log_escape(const char *, size_t, char *, size_t);
const char *log_value(const char *, char *, size_t);
const char *log_peer(const char *, char *, size_t);
void	fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif
