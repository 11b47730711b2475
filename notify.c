/*
 * notify.c - tell the service manager how the daemon is doing: the
 * protocol of sd_notify(3), which is one datagram on the AF_UNIX socket
 * NOTIFY_SOCKET names (a path, or an abstract name when it starts with
 * '@'), holding newline-separated assignments such as READY=1.  It
 * needs no library: a socket, a sendto() and a close.  Its own room
 * because it is a wire format of its own, and the master should only
 * say when, not how.
 *
 * A message is sent at once or not at all (MSG_DONTWAIT): a service
 * manager that is slow to read must not stall the master.  A message
 * that cannot be sent is logged, the first time only, and the daemon
 * carries on: readiness is a courtesy to systemd, not a condition of
 * receiving mail.  The socket is made for each message, as sd_notify()
 * does, so that no descriptor of it is ever inherited by a worker.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "notify.h"

static struct sockaddr_un	 notify_sun;
static socklen_t		 notify_len;	/* 0: nothing to send to */
static int			 notify_said;	/* a failure was logged */

static void	 notify_failed(const char *, int);

/*
 * notify_init - read NOTIFY_SOCKET and remove it from the environment
 * (sd_notify()'s unset_environment), whether or not it is usable: a
 * worker, or anything a worker started, must not think it is the
 * service and speak for it.
 */
void
notify_init(void)
{
	const char	*e = getenv("NOTIFY_SOCKET");
	size_t		 n;

	if (e == NULL)
		return;
	n = strlen(e);
	/* A path needs its NUL; an abstract name has none (unix(7)). */
	if ((e[0] != '/' && e[0] != '@') || n < 2 ||
	    n + (e[0] == '/') > sizeof(notify_sun.sun_path))
		notify_failed(e, EINVAL);
	else {
		memset(&notify_sun, 0, sizeof(notify_sun));
		notify_sun.sun_family = AF_UNIX;
		memcpy(notify_sun.sun_path, e, n);
		if (e[0] == '@')
			notify_sun.sun_path[0] = '\0';
		notify_len = offsetof(struct sockaddr_un, sun_path) + n +
		    (e[0] == '/');
	}
	unsetenv("NOTIFY_SOCKET");
}

/*
 * notify - send one message, if NOTIFY_SOCKET was set: the assignments
 * of fmt, one a line.
 */
void
notify(const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[512];
	int	 fd, n;

	if (notify_len == 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(msg)) {
		notify_failed(NULL, EMSGSIZE);
		return;
	}
	if ((fd = socket(AF_UNIX, SOCK_DGRAM, 0)) == -1) {
		notify_failed(NULL, errno);
		return;
	}
	if (sendto(fd, msg, n, MSG_DONTWAIT | MSG_NOSIGNAL,
	    (struct sockaddr *)&notify_sun, notify_len) != n)
		notify_failed(NULL, errno);
	close(fd);
}

/*
 * notify_usec - CLOCK_MONOTONIC in microseconds, for MONOTONIC_USEC=:
 * systemd 253 on (Type=notify-reload) takes a RELOADING=1 only with the
 * time it was sent, to tell it from one sent before the reload it asked
 * for.
 */
long long
notify_usec(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/*
 * notify_failed - one line for the first failure; the rest would most
 * likely say the same thing again at every reload.  name is the socket as NOTIFY_SOCKET
 * gave it, or NULL for the one notify_init() took.
 */
static void
notify_failed(const char *name, int err)
{
	char	 esc[256], path[sizeof(notify_sun.sun_path) + 1];

	if (notify_said++)
		return;
	if (name == NULL) {
		memcpy(path, notify_sun.sun_path, sizeof(notify_sun.sun_path));
		path[sizeof(path) - 1] = '\0';
		if (path[0] == '\0')
			path[0] = '@';
		name = path;
	}
	log_warnx("event=notify-failed socket=\"%s\" error=\"%s\" "
	    "action=ignored", log_escape(name, strlen(name), esc,
	    sizeof(esc)), strerror(err));
}
