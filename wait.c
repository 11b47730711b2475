/*
 * wait.c - smtpd -w: wait until a mailbox's new/ holds N messages, and
 * print their paths.
 *
 * A test script that has its software send mail must then know when the
 * mail is there; a loop of sleep and ls is either slow or flaky.  smtpd
 * -w ADDRESS resolves the address as delivery does (txn_resolve():
 * alias, recipient-delimiter and Maildir++ folder, catch-all, the domain
 * in idna.c's canonical form), so it looks at the very new/ the store
 * renames or links each message into, and returns as soon as that holds
 * enough messages that count.  It needs the configuration only, no
 * daemon, and creates nothing in the spool.
 *
 * The store puts only a whole, fsynced file into new/, in one rename or
 * link, so a name seen there is a complete message.  Which names count:
 * all, or with -s only those whose delivery began at or after a given
 * time, read from the head of the name, where store.c writes it to the
 * microsecond (time.MusecPpidQcount.host); a name that does not start
 * so (another program's) is judged by the file's mtime.
 *
 * Without a race: on Linux one inotify watch sits on new/ (IN_CREATE for
 * a link, IN_MOVED_TO for a rename) or, while new/ does not exist yet
 * (the first delivery makes SPOOL/DOMAIN/LOCAL/{tmp,new,cur}), on its
 * nearest existing ancestor, and moves down as directories appear.  new/
 * is scanned after the watch is set, so a message that arrived before
 * it is seen by the scan and one that arrives after wakes poll().  Each
 * wake-up rescans the whole new/: simple, and cheap at a test's sizes.
 * Without inotify (another system, or no watch to be had) it rescans
 * every RESCAN_MS.  Either way the wait ends at a deadline on the
 * monotonic clock.
 */
#include <sys/stat.h>
#include <sys/types.h>
#ifdef __linux__
#include <sys/inotify.h>
#define WAIT_INOTIFY
#endif

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "conf.h"
#include "now.h"
#include "store.h"
#include "txn.h"
#include "wait.h"

#define RESCAN_MS	100		/* without inotify */
#define SINCE_MAX	100000000000LL	/* seconds; keeps microseconds in range */

/* A message in new/ that counts. */
struct msg {
	long long	 us;		/* when its delivery began */
	char		*name;
};

struct waiter {
	const struct wait_args	*args;
	char			 dir[PATH_MAX];	/* SPOOL/D/L[/.F]/new */
	struct msg		*msgs;
	size_t			 n, cap;
	int			 ifd;		/* inotify; -1: rescan */
	int			 wd;		/* its one watch; -1: none */
};

static int	 number(const char *, long long, long long *);
static int	 parse_since(const char *, long long *);
static int	 bad(const char *, const char *, const char *);
static int	 mailbox(const struct conf *, const char *, char *, size_t);
static int	 wait_loop(struct waiter *);
static void	 watch(struct waiter *);
static void	 pause_for(struct waiter *, long long);
static int	 scan(struct waiter *);
static int	 arrival(DIR *, const char *, long long *);
static int	 add(struct waiter *, const char *, long long);
static void	 clear(struct waiter *);
static int	 older(const void *, const void *);
static int	 print(struct waiter *);

/*
 * wait_usage - check the options of -w and convert -c, -t and -s into a.
 * 1 (after a line saying which, for a bad value) if smtpd is to print
 * its usage: -c, -s or -t without -w, -w with another mode, or a value
 * that is not one.
 */
int
wait_usage(struct wait_args *a, int other_mode)
{
	long long	 v;

	if (a->addr == NULL)
		return a->count != NULL || a->timeout != NULL ||
		    a->since != NULL;
	if (other_mode)
		return 1;
	a->want = 1;
	a->seconds = WAIT_TIMEOUT;
	a->since_us = -1;
	if (a->count != NULL) {
		if (number(a->count, WAIT_COUNT_MAX, &v) == -1 || v == 0)
			return bad("-c", a->count, "a count from 1 to 10000");
		a->want = (unsigned)v;
	}
	if (a->timeout != NULL) {
		if (number(a->timeout, WAIT_TIMEOUT_MAX, &v) == -1)
			return bad("-t", a->timeout,
			    "seconds from 0 to 86400");
		a->seconds = (int)v;
	}
	if (a->since != NULL && parse_since(a->since, &a->since_us) == -1)
		return bad("-s", a->since,
		    "a Unix time in seconds, such as date +%s prints");
	return 0;
}

/*
 * number - s as a decimal number from 0 to max, digits only (strtoll()
 * would take a sign and leading blanks); -1 if it is not one.
 */
static int
number(const char *s, long long max, long long *v)
{
	long long	 n = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		n = n * 10 + (*s - '0');
		if (n > max)
			return -1;
	}
	*v = n;
	return 0;
}

/*
 * parse_since - SECONDS or SECONDS.FRACTION (date +%s.%N) into
 * microseconds; digits past the sixth of the fraction are dropped.
 */
static int
parse_since(const char *s, long long *us)
{
	const char	*dot = strchr(s, '.');
	char		 sec[24];
	size_t		 len = dot != NULL ? (size_t)(dot - s) : strlen(s);
	long long	 v, frac = 0, scale = 100000;

	if (len == 0 || len >= sizeof(sec))
		return -1;
	memcpy(sec, s, len);
	sec[len] = '\0';
	if (number(sec, SINCE_MAX, &v) == -1)
		return -1;
	if (dot != NULL) {
		if (dot[1] == '\0')
			return -1;
		for (s = dot + 1; *s != '\0'; s++) {
			if (*s < '0' || *s > '9')
				return -1;
			frac += (*s - '0') * scale;
			scale /= 10;
		}
	}
	*us = v * 1000000 + frac;
	return 0;
}

/*
 * bad - say which option's value is wrong and what it should be; 1, for
 * wait_usage() to return.
 */
static int
bad(const char *opt, const char *value, const char *want)
{
	fprintf(stderr, "smtpd: %s %s: not %s\n", opt, value, want);
	return 1;
}

/*
 * wait_mail - wait until the new/ of the mailbox that mail to a->addr is
 * delivered into holds a->want messages that count, then print their
 * paths.  Returns the exit status smtpd(8) gives.
 */
int
wait_mail(const struct conf *c, const struct wait_args *a)
{
	struct waiter	 w;
	int		 rc;

	memset(&w, 0, sizeof(w));
	w.args = a;
	w.ifd = -1;
	w.wd = -1;
	if ((rc = mailbox(c, a->addr, w.dir, sizeof(w.dir))) != WAIT_FOUND)
		return rc;
#ifdef WAIT_INOTIFY
	/* Without an instance (the per-user limit), rescan instead. */
	w.ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
#endif
	rc = wait_loop(&w);
	if (w.ifd != -1)
		close(w.ifd);
	clear(&w);
	free(w.msgs);
	return rc;
}

/*
 * mailbox - the new/ that mail to the given address is delivered into,
 * as a path under the configured spool; WAIT_FOUND, 2 for a string that
 * is no address, WAIT_NOT_OURS for an address no mail is stored for.
 */
static int
mailbox(const struct conf *c, const char *given, char *dir, size_t dirsz)
{
	struct addr_path	 p;
	struct rcpt		 r;
	struct store_rcpt	 sr;
	struct store		*st = NULL;
	struct stat		 sb;
	char			 path[ADDR_PATH_MAX + 3], box[PATH_MAX];
	const char		*end;
	enum txn_outcome	 o;
	int			 n;

	/* As in RCPT TO:, with or without the angle brackets. */
	if (given[0] == '<')
		n = snprintf(path, sizeof(path), "%s", given);
	else
		n = snprintf(path, sizeof(path), "<%s>", given);
	memset(&p, 0, sizeof(p));
	if (n < 0 || (size_t)n >= sizeof(path) ||
	    addr_parse_path(path, &p, ADDR_POSTMASTER, &end) == -1 ||
	    *end != '\0') {
		fprintf(stderr, "smtpd: -w %s: not an address (%s)\n", given,
		    p.why != NULL ? p.why : "too long");
		return 2;
	}
	/* The store only looks for a Maildir++ folder; it is never made. */
	if (stat(c->spool, &sb) == 0 && S_ISDIR(sb.st_mode))
		st = store_open(c->spool, c->hostname);
	o = txn_resolve(c, st, &p, &r);
	store_close(st);
	if (o != TXN_OK) {
		fprintf(stderr, "smtpd: -w %s: %s\n", given,
		    o == TXN_RELAY ? "not a domain of ours: no mail to it "
		    "is stored here" : o == TXN_NO_USER ? "no such mailbox" :
		    "a mailbox name the spool refuses");
		return WAIT_NOT_OURS;
	}
	sr.domain = r.domain;
	sr.local = r.local;
	sr.folder = r.folder;
	if (store_box_path(&sr, box, sizeof(box)) == -1 ||
	    (n = snprintf(dir, dirsz, "%s/%s/new", c->spool, box)) < 0 ||
	    (size_t)n >= dirsz) {
		fprintf(stderr, "smtpd: -w %s: path too long\n", given);
		return WAIT_TIMEDOUT;
	}
	return WAIT_FOUND;
}

/*
 * wait_loop - watch, scan, and sleep until a wake-up or the deadline,
 * until enough messages count.  -t 0 is one scan.
 */
static int
wait_loop(struct waiter *w)
{
	const struct wait_args	*a = w->args;
	long long		 deadline, left;

	deadline = now_ms() + a->seconds * 1000LL;
	for (;;) {
		watch(w);		/* first, or the scan could race */
		if (scan(w) == -1)
			return WAIT_TIMEDOUT;
		if (w->n >= a->want)
			return print(w);
		if ((left = deadline - now_ms()) <= 0)
			break;
		pause_for(w, left);
	}
	fprintf(stderr, "smtpd: -w %s: %zu of %u messages in %s after %d s\n",
	    a->addr, w->n, a->want, w->dir, a->seconds);
	return WAIT_TIMEDOUT;
}

/*
 * watch - keep the one inotify watch on new/ or, while new/ does not
 * exist, on its nearest existing ancestor (for the directory that is
 * made next).  A watch that cannot be set (no permission, the limit on
 * watches) turns the wait into rescans.
 */
static void
watch(struct waiter *w)
{
#ifdef WAIT_INOTIFY
	const uint32_t	 mask = IN_CREATE | IN_MOVED_TO | IN_DELETE_SELF |
			    IN_MOVE_SELF | IN_ONLYDIR;
	char		 path[PATH_MAX], *slash;
	int		 wd;

	if (w->ifd == -1)
		return;
	snprintf(path, sizeof(path), "%s", w->dir);
	while ((wd = inotify_add_watch(w->ifd, path, mask)) == -1) {
		if (errno != ENOENT || strcmp(path, ".") == 0 ||
		    strcmp(path, "/") == 0) {
			close(w->ifd);
			w->ifd = -1;
			return;
		}
		if ((slash = strrchr(path, '/')) == NULL)
			snprintf(path, sizeof(path), ".");
		else if (slash == path)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
	/* The old one may have gone with its directory: EINVAL then. */
	if (w->wd != -1 && w->wd != wd)
		(void)inotify_rm_watch(w->ifd, w->wd);
	w->wd = wd;
#else
	(void)w;
#endif
}

/*
 * pause_for - sleep until the watch reports something or left ms have
 * passed; without a watch, RESCAN_MS at most.  What the events say does
 * not matter, only that there were some: they are drained, and the next
 * scan looks.
 */
static void
pause_for(struct waiter *w, long long left)
{
	struct pollfd	 pfd;
	char		 buf[4096];

	if (w->ifd == -1) {
		(void)poll(NULL, 0, (int)(left < RESCAN_MS ? left : RESCAN_MS));
		return;
	}
	pfd.fd = w->ifd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, (int)(left < INT_MAX ? left : INT_MAX)) < 1)
		return;		/* the deadline, or EINTR: the loop looks */
	/* The descriptor is non-blocking: this ends at EAGAIN. */
	while (read(w->ifd, buf, sizeof(buf)) > 0)
		;
}

/*
 * scan - the messages in new/ that count, into w->msgs; -1 after saying
 * why new/ could not be read.  A new/ that does not exist yet holds
 * none.
 */
static int
scan(struct waiter *w)
{
	DIR		*d;
	struct dirent	*e;
	long long	 us;

	clear(w);
	if ((d = opendir(w->dir)) == NULL) {
		if (errno == ENOENT)
			return 0;
		goto fail;
	}
	for (;;) {
		errno = 0;
		if ((e = readdir(d)) == NULL)
			break;
		if (e->d_name[0] == '.')
			continue;
		/* Gone since readdir(): a mail reader took it to cur/. */
		if (arrival(d, e->d_name, &us) == -1)
			continue;
		if (w->args->since_us >= 0 && us < w->args->since_us)
			continue;
		if (add(w, e->d_name, us) == -1)
			break;
	}
	if (errno != 0) {
		closedir(d);
		goto fail;
	}
	closedir(d);
	return 0;
fail:
	fprintf(stderr, "smtpd: -w %s: %s: %s\n", w->args->addr, w->dir,
	    strerror(errno));
	return -1;
}

/*
 * arrival - when the delivery of new/NAME began, in microseconds: from
 * the name store.c gives it (SECONDS.MUSEC...), else from its mtime.  -1
 * if it is gone.
 */
static int
arrival(DIR *d, const char *name, long long *us)
{
	struct stat	 sb;
	const char	*p = name;
	long long	 sec = 0, usec = 0;
	int		 digits;

	for (digits = 0; *p >= '0' && *p <= '9' && digits < 12; p++, digits++)
		sec = sec * 10 + (*p - '0');
	if (digits > 0 && *p == '.') {
		if (p[1] == 'M')
			for (p += 2, digits = 0; *p >= '0' && *p <= '9' &&
			    digits < 6; p++, digits++)
				usec = usec * 10 + (*p - '0');
		*us = sec * 1000000 + usec;
		return 0;
	}
	if (fstatat(dirfd(d), name, &sb, 0) == -1)
		return -1;
	*us = (long long)sb.st_mtim.tv_sec * 1000000 +
	    sb.st_mtim.tv_nsec / 1000;
	return 0;
}

/*
 * add - one counted message; -1 with errno ENOMEM.
 */
static int
add(struct waiter *w, const char *name, long long us)
{
	struct msg	*m;
	size_t		 cap;

	if (w->n == w->cap) {
		cap = w->cap == 0 ? 16 : w->cap * 2;
		if ((m = realloc(w->msgs, cap * sizeof(*m))) == NULL)
			return -1;
		w->msgs = m;
		w->cap = cap;
	}
	if ((w->msgs[w->n].name = strdup(name)) == NULL)
		return -1;
	w->msgs[w->n++].us = us;
	return 0;
}

/*
 * clear - forget the last scan's messages.
 */
static void
clear(struct waiter *w)
{
	while (w->n > 0)
		free(w->msgs[--w->n].name);
}

/*
 * older - qsort() order: by when delivery began, then by name.
 */
static int
older(const void *va, const void *vb)
{
	const struct msg	*a = va, *b = vb;

	if (a->us != b->us)
		return a->us < b->us ? -1 : 1;
	return strcmp(a->name, b->name);
}

/*
 * print - the path of every counted message, oldest first, one a line;
 * the exit status.  A write that fails (a closed pipe) is an error.
 */
static int
print(struct waiter *w)
{
	size_t	 i;

	qsort(w->msgs, w->n, sizeof(*w->msgs), older);
	for (i = 0; i < w->n; i++)
		printf("%s/%s\n", w->dir, w->msgs[i].name);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "smtpd: -w %s: stdout: %s\n", w->args->addr,
		    strerror(errno));
		return WAIT_TIMEDOUT;
	}
	return WAIT_FOUND;
}
