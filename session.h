/*
 * session.h - one SMTP dialogue, receiver side (RFC 5321).
 *
 * session_run() greets, reads commands from in, writes replies to out
 * and hands accepted messages to the store; it returns when the client
 * quits, hangs up, times out or is thrown out.  It knows nothing about
 * processes: inetd mode passes 0 and 1, a daemon worker passes the
 * accepted socket twice, the tests pass pipes.  peer is the client's
 * address as text ("192.0.2.1", "2001:db8::1"), or NULL when unknown.
 */
#ifndef SESSION_H
#define SESSION_H

struct conf;
struct store;

void	session_run(int in, int out, const char *peer, const struct conf *,
	    struct store *);

#endif
