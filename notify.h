/*
 * notify.h - readiness for systemd (Type=notify): the datagram protocol
 * of sd_notify(3), without libsystemd.  Only the master of the pool
 * calls it; workers and smtpd -i never do.
 *
 * notify_init() takes NOTIFY_SOCKET out of the environment, so that
 * nothing started after it inherits it; notify() then sends one message
 * (lines of VAR=value, as sd_notify(3) lists them) and never waits or
 * fails: when NOTIFY_SOCKET was not set it does nothing.  notify_usec()
 * is the clock MONOTONIC_USEC= is given in.
 */
#ifndef NOTIFY_H
#define NOTIFY_H

void	notify_init(void);
void	notify(const char *, ...) __attribute__((format(printf, 1, 2)));
long long notify_usec(void);

#endif
