/*
 * session.h - one SMTP dialogue, receiver side (RFC 5321).
 *
 * session_run() greets, reads commands from in, writes replies to out
 * and hands accepted messages to the store; it returns when the client
 * quits, hangs up, runs out of time or is thrown out: -1 when the client
 * stopped taking replies (there is no last reply to linger for), else 0.  It knows nothing
 * about processes: inetd mode passes 0 and 1, a daemon worker passes the
 * accepted socket twice, the tests pass pipes.
 *
 * Every wait has a deadline: a command line must be complete within
 * "timeout" of the moment the session starts waiting for it, DATA and
 * BDAT within "data-timeout" plus one second per "min-data-rate" octets
 * received, a write within "timeout", and the whole session within
 * "session-timeout".  While *stress is set (the pool is nearly full)
 * "stress-timeout" replaces timeout and data-timeout, a session may last
 * three of them in all, max-errors drops to a tenth and
 * max-junk-commands to one per message.
 */
#ifndef SESSION_H
#define SESSION_H

#include <signal.h>
#include <stdatomic.h>

struct conf;
struct dns_server;
struct store;

struct session_env {
	const char		*peer;	/* "192.0.2.1", "2001:db8::1"; or NULL */
	const struct conf	*conf;
	const struct dns_server	*dns;	/* the resolver for SPF; NULL: none */
	struct store		*store;	/* NULL: answer 421 4.3.0 and end */
	/*
	 * A signal handler's flag: once set, the session ends at the next
	 * command boundary with 421 4.3.2, after the message in progress
	 * is stored and acknowledged.  The signal must interrupt system
	 * calls (no SA_RESTART).  NULL: never.
	 */
	volatile sig_atomic_t	*stop;
	const atomic_int	*stress;	/* NULL: never under stress */
	int			 crowded;	/* the client's address holds
						   max-per-address sessions:
						   answer 421 4.7.0 and end */
};

int	session_run(int in, int out, const struct session_env *);

#endif
