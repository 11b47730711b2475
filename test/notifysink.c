/*
 * notifysink.c - a stand-in for systemd's end of sd_notify(3), for
 * test/notify.bats: bind a datagram socket at NAME (a path, or an
 * abstract name when it starts with '@') and print each message as one
 * line, its assignments separated by '|', led by "at=USEC", the
 * CLOCK_MONOTONIC time of its arrival in microseconds.  The first line,
 * "bound", says the socket is there.  Ends after STOPPING=1, or when
 * SECONDS pass.
 *
 *	notifysink NAME SECONDS PORT
 *
 * A message with READY=1 and MAINPID=PID is checked the moment it
 * arrives, with PID stopped (SIGSTOP) so that it cannot go on forking
 * or binding while it is looked at: whether a connection to
 * 127.0.0.1:PORT is taken, and how many children PID has.  The line
 * that follows says "checked connect=ok|refused children=N".  A daemon
 * that said READY=1 before its pool was forked shows fewer children
 * than workers.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long	 usec(void);
static int		 bind_name(const char *);
static int		 connects(int);
static int		 children(long);
static void		 check(const char *, int);

static long long
usec(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static int
bind_name(const char *name)
{
	struct sockaddr_un	 sun;
	socklen_t		 len;
	size_t			 n = strlen(name);
	int			 fd;

	if (n < 2 || n >= sizeof(sun.sun_path))
		return -1;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, name, n);
	len = offsetof(struct sockaddr_un, sun_path) + n;
	if (name[0] == '@')
		sun.sun_path[0] = '\0';
	else
		len++;
	if ((fd = socket(AF_UNIX, SOCK_DGRAM, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sun, len) == -1)
		return -1;
	/* smtpd's master may have become nobody by the time it sends. */
	if (name[0] != '@' && chmod(name, 0666) == -1)
		return -1;
	return fd;
}

/* connects - does 127.0.0.1:port take a connection? */
static int
connects(int port)
{
	struct sockaddr_in	 sin;
	int			 fd, ok;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return 0;
	ok = connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
	close(fd);
	return ok;
}

/* children - how many processes have ppid as their parent (/proc). */
static int
children(long ppid)
{
	DIR		*dir;
	struct dirent	*de;
	FILE		*f;
	char		 path[sizeof(de->d_name) + 16], line[512], *p;
	long		 pp;
	int		 n = 0;

	if ((dir = opendir("/proc")) == NULL)
		return -1;
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		/* pid (comm) state ppid: comm may hold spaces and ')'. */
		if (fgets(line, sizeof(line), f) != NULL &&
		    (p = strrchr(line, ')')) != NULL &&
		    sscanf(p + 1, " %*c %ld", &pp) == 1 && pp == ppid)
			n++;
		fclose(f);
	}
	closedir(dir);
	return n;
}

/* check - a READY=1 from MAINPID: stop it, look, let it go on. */
static void
check(const char *msg, int port)
{
	const char	*p = strstr(msg, "MAINPID=");
	long		 pid;
	int		 ok, n;

	if (p == NULL || (pid = strtol(p + 8, NULL, 10)) <= 1)
		return;
	kill(pid, SIGSTOP);
	ok = connects(port);
	n = children(pid);
	kill(pid, SIGCONT);
	printf("checked connect=%s children=%d\n", ok ? "ok" : "refused", n);
}

int
main(int argc, char *argv[])
{
	struct pollfd	 pfd;
	long long	 end, left, at;
	char		 buf[2048], *p;
	ssize_t		 n;
	int		 fd, port, stop = 0;

	if (argc != 4) {
		fprintf(stderr, "usage: notifysink NAME SECONDS PORT\n");
		return 2;
	}
	end = usec() + atoll(argv[2]) * 1000000LL;
	port = atoi(argv[3]);
	if ((fd = bind_name(argv[1])) == -1) {
		perror(argv[1]);
		return 1;
	}
	printf("bound\n");
	fflush(stdout);
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (!stop && (left = (end - usec()) / 1000) > 0 &&
	    poll(&pfd, 1, (int)left) == 1) {
		if ((n = recv(fd, buf, sizeof(buf) - 1, 0)) <= 0)
			break;
		at = usec();
		buf[n] = '\0';
		if (strstr(buf, "READY=1") != NULL)
			check(buf, port);
		stop = strstr(buf, "STOPPING=1") != NULL;
		for (p = buf; (p = strchr(p, '\n')) != NULL; )
			*p = '|';
		printf("at=%lld %s\n", at, buf);
		fflush(stdout);
	}
	if (argv[1][0] != '@')
		unlink(argv[1]);
	return 0;
}
