/*
 * session.h - one SMTP dialogue, receiver side (RFC 5321).
 *
 * session_run() greets, reads commands from in, writes replies to out
 * and hands accepted messages to the store; it returns when the client
 * quits, hangs up, times out or is thrown out.  It knows nothing about
 * processes: inetd mode passes 0 and 1, a daemon worker passes the
 * accepted socket twice, the tests pass pipes.  peer is the client's
 * address as text ("192.0.2.1", "2001:db8::1"), or NULL when unknown.
 *
 * stop, when not NULL, is a signal handler's flag: once it is set, the
 * session ends at the next command boundary with 421 4.3.2.  A message
 * being received is received, stored and acknowledged first.  The signal
 * must interrupt system calls (no SA_RESTART) for a waiting session to
 * notice at once.
 */
#ifndef SESSION_H
#define SESSION_H

#include <signal.h>

struct conf;
struct store;

void	session_run(int in, int out, const char *peer, const struct conf *,
	    struct store *, volatile sig_atomic_t *stop);

#endif
