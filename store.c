/*
 * store.c - the Maildir spool.
 *
 * Writing one message (store_create, store_write..., store_commit) for
 * one recipient:
 *
 *	openat D/L/tmp/NAME		O_CREAT|O_EXCL, 0600
 *	write ...			buffered; the first error is kept
 *	fsync, close			the bytes are on disk
 *	renameat D/L/new/NAME,S=SIZE	out of tmp/ and into new/ in one step
 *	fsync D/L/new			the directory entry is on disk
 *
 * For several maildirs the file is hard-linked into each new/ but the
 * last, which gets it by renameat, and each new/ is fsynced in turn.  Only
 * then may the caller say 250.  If any step fails, the names already made
 * in a new/ are removed again: SMTP cannot report a partial success after
 * DATA, so it is all recipients or none.  renameat() would replace a name
 * already in new/, where link() would fail; the name is unique to this
 * host, process and message, so there is none to replace.  (O_TMPFILE
 * and linkat() would leave nothing in tmp/ after a crash, but are Linux
 * only, need /proc or a capability to link, and measured no faster.)
 *
 * A crash before the message reaches a new/ leaves a file in tmp/, which
 * no mail reader looks at.  Such files are removed once they are more
 * than 36 hours old, as Dovecot does, by store_tidy(), which the caller
 * runs after a session, never between a message and its 250.  It scans
 * the tmp/ of each maildir this process delivered to, once in the hour
 * of its first delivery and once in each later hour that brings it mail,
 * at most TIDY_BUDGET entries a call, unless the mtime of the file
 * smtpd-tidied in the maildir says another process did in the last hour;
 * a tmp/ full of young files costs deliveries nothing.
 *
 * Per message the store makes no other system call than those above:
 * a struct store keeps its process id for the names (it delivers in
 * one process only, see store_open()), one message buffer, and, for
 * the BOXES maildirs it used last, descriptors on their tmp/ and new/.
 * A kept descriptor is trusted for RECHECK_MS; the
 * next use after that compares it with its path (st_dev, st_ino), so
 * that a maildir moved aside is not written to for longer.  An openat(),
 * link or rename through a kept descriptor that fails as if its
 * directory were gone (ENOENT, ESTALE) drops it and tries once more with
 * the path, creating the maildir if need be, as a first delivery does.
 *
 * A daemon's master watches the spool's path and tells its workers,
 * through store_watch(), when the directory they hold is no longer the
 * one there (a file system mounted over it, the directory moved aside):
 * store_create() and store_commit() then refuse with ESTALE rather than
 * store mail where no reader looks.  store_probe() is the check at start
 * and reload that this process can deliver at all.
 *
 * On NFS a link or rename can fail when it took place: the server did
 * it, its reply was lost, and the retransmitted call failed (link(2),
 * BUGS).  A failed link or rename is therefore looked at (landed())
 * before it is called a failure, or the 451 that followed would have a
 * copy already in new/, and the client's retry would deliver it twice.
 *
 * With "sync no" (store_sync()) every fsync above is left out, for a
 * spool whose loss does not matter (a test suite's): the same calls in
 * the same order, minus the fsyncs, so that the files, their names and
 * what a reader sees are the same, only not on disk when 250 is said.
 *
 * Names follow the Maildir spec: time.MusecPpidQcount.host, with '/' and
 * ':' in the host written as \057 and \072; the name in new/ adds the
 * Maildir++ ",S=" size so readers need not stat the file.  All paths are
 * relative to a descriptor on the spool opened once by store_open(), so
 * the daemon can open it before it drops privileges or chroots.
 */
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "now.h"
#include "store.h"

#define STORE_BUFSZ	65536
#define STALE_SECONDS	(36 * 60 * 60)	/* Dovecot's age for a tmp/ file */
#define BOXES		32		/* maildirs whose descriptors are kept */
#define RECHECK_MS	5000		/* a kept descriptor is trusted this long */
#define TIDY_MS		(60 * 60 * 1000LL)	/* a tmp/ is scanned once per */
#define TIDY_BUDGET	1024		/* tmp/ entries read per store_tidy() */
#define TIDY_STAMP	"../smtpd-tidied"	/* from tmp/: its last scan */
#define DIR_FLAGS	(O_RDONLY | O_DIRECTORY | O_CLOEXEC)
#define BOX_NAMESZ	(3 * NAME_MAX + 4)	/* DOMAIN/LOCAL/.FOLDER */
#define PROBE_NAME	".smtpd-probe"	/* a leading dot: never a domain */

/* A recipient's Maildir++ folder; "" for the inbox. */
#define FOLDER(r)	((r)->folder != NULL ? (r)->folder : "")

/* One maildir's kept descriptors. */
struct box {
	char		*name;		/* "DOMAIN/LOCAL"; NULL: a free slot */
	uint64_t	 hash;		/* of name */
	int		 tmp, new;	/* on DOMAIN/LOCAL/tmp and .../new */
	dev_t		 tmp_dev, new_dev;
	ino_t		 tmp_ino, new_ino;
	long long	 checked;	/* now_ms() it last matched its path */
	long long	 hour;		/* the tidy hour it was last due in */
	unsigned long long used;	/* st->tick at its last use */
	unsigned	 pins;		/* open messages in its tmp/ */
	int		 dead;		/* replaced: freed once unpinned */
	int		 untidy;	/* its tmp/ is due for a scan */
};

struct store {
	int		 fd;			/* the spool directory */
	char		 host[256];		/* escaped for file names */
	unsigned	 count;			/* Q in the Maildir name */
	pid_t		 pid;			/* P: 0 until the first message */
	struct store_msg *msg;			/* allocated once, reused */
	struct box	 box[BOXES];
	unsigned long long tick;		/* for the least recently used */
	long long	 start;			/* now_ms() at store_open() */
	DIR		*scan;			/* the tmp/ being tidied */
	char		 scan_name[BOX_NAMESZ];
	const atomic_uint *current;		/* store_watch(); or NULL */
	unsigned	 serial;		/* ours, to compare with it */
	int		 nosync;		/* store_sync(st, 0): no fsync */
};

struct store_msg {
	struct store	*st;
	struct box	*box;			/* where tmp/NAME is; pinned */
	int		 busy;			/* st->msg is in use */
	int		 fd;			/* the message file */
	int		 err;			/* first errno, sticky */
	int		 cr;			/* a CR is pending */
	int		 moved;			/* tmp/NAME was renamed away */
	uint64_t	 size;			/* octets written */
	size_t		 len;			/* octets in buf */
	char		 name[NAME_MAX + 1];	/* name in tmp/ */
	char		 id[64];
	char		 buf[STORE_BUFSZ];
};

static struct store_msg *msg_get(struct store *);
static void	 msg_put(struct store_msg *);
static void	 put(struct store_msg *, const char *, size_t);
static int	 flush_buf(struct store_msg *);
static int	 deliver(struct store_msg *, const struct store_rcpt *,
		    size_t);
static int	 deliver_one(struct store_msg *, const struct store_rcpt *,
		    const char *, int);
static void	 undeliver(struct store_msg *, const struct store_rcpt *,
		    size_t, const char *);
static int	 first_of(const struct store_rcpt *, size_t);
static int	 gone(int);
static int	 stale(const struct store *);
static int	 landed(const struct store_msg *, const struct box *,
		    const char *, int);
static int	 box_name(const struct store_rcpt *, char *, uint64_t *);
static int	 box_path(const struct store_rcpt *, char *, size_t);
static struct box *box_find(struct store *, const char *, uint64_t);
static struct box *box_get(struct store *, const struct store_rcpt *);
static struct box *box_open(struct store *, const struct store_rcpt *,
		    const char *, uint64_t);
static int	 box_current(struct store *, const struct box *);
static void	 box_drop(struct box *);
static void	 box_unpin(struct box *);
static void	 box_free(struct box *);
static void	 box_due(struct store *, struct box *, long long);
static int	 maildir_sub(struct store *, const struct store_rcpt *,
		    const char *, dev_t *, ino_t *);
static int	 maildir_make(struct store *, const struct store_rcpt *);
static int	 mkdir_sync(const struct store *, int, const char *);
static int	 sync_fd(const struct store *, int);
static void	 close_quiet(int);
static int	 tidy_start(struct store *);
static int	 tidy_claim(const struct box *);
static void	 tidy_some(struct store *, unsigned *);
static void	 stale_removed(const char *, const char *);
static void	 warn_file(const char *, const char *, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/*
 * store_open - open (creating if need be) the spool directory.  The
 * struct store belongs to the process that delivers through it: a
 * daemon opens it before it forks and delivers only in the children.
 */
struct store *
store_open(const char *spool, const char *hostname)
{
	struct store	*st;
	char		*p;
	size_t		 i;
	int		 saved;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NULL;
	if (mkdir(spool, 0700) == -1 && errno != EEXIST) {
		saved = errno;
		warn_file(NULL, "mkdir", "%s", spool);
		free(st);
		errno = saved;
		return NULL;
	}
	if ((st->fd = open(spool, DIR_FLAGS)) == -1) {
		saved = errno;
		warn_file(NULL, "open", "%s", spool);
		free(st);
		errno = saved;
		return NULL;
	}
	p = st->host;
	for (i = 0; hostname[i] != '\0' && p < st->host + sizeof(st->host) - 5;
	    i++) {
		if (hostname[i] == '/')
			p += sprintf(p, "\\057");
		else if (hostname[i] == ':')
			p += sprintf(p, "\\072");
		else
			*p++ = hostname[i];
	}
	*p = '\0';
	st->start = now_ms();
	return st;
}

/*
 * store_root - the spool directory's descriptor, for a process that is
 * to see nothing else (contain.c).
 */
int
store_root(const struct store *st)
{
	return st->fd;
}

/*
 * store_watch - from now on, start and commit a message only while
 * *current is serial.  A daemon's master keeps in *current the number
 * of the spool that is at the configured path (0 when the one it holds
 * is not), in memory its workers share: a load per message, no system
 * call.
 */
void
store_watch(struct store *st, const atomic_uint *current, unsigned serial)
{
	st->current = current;
	st->serial = serial;
}

/*
 * store_sync - whether the store fsyncs (1, the default) or not (0:
 * "sync no", a spool whose loss does not matter).  Leaving the fsyncs
 * out changes no file, name or step, only when the data reach the disk.
 */
void
store_sync(struct store *st, int on)
{
	st->nosync = !on;
}

/*
 * store_probe - can this process deliver into the spool?  What a
 * delivery does, without a maildir: create PROBE_NAME, write to it,
 * fsync it, remove it, fsync the spool.  0, or -1 with errno set and
 * *step naming the call that failed.  Run at start and on reload, as
 * the user that delivers: a read-only mount or a spool of mode 000 is
 * then an error at start, not a 451 for every message.  The name
 * carries the process id, so that two daemons on one spool cannot trip
 * over each other; O_TRUNC takes over one a crash left behind.
 */
int
store_probe(struct store *st, const char **step)
{
	char	 name[64];
	ssize_t	 n;
	int	 fd, rc = 0, saved;

	snprintf(name, sizeof(name), "%s.%ld", PROBE_NAME, (long)getpid());
	*step = "create";
	if ((fd = openat(st->fd, name, O_WRONLY | O_CREAT | O_TRUNC |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) == -1)
		return -1;
	if ((n = write(fd, "probe\n", 6)) != 6) {
		*step = "write";
		if (n >= 0)
			errno = EIO;	/* a short write to an empty file */
		rc = -1;
	} else if (sync_fd(st, fd) == -1) {
		*step = "fsync";
		rc = -1;
	}
	saved = errno;
	if (close(fd) == -1 && rc == 0) {
		*step = "close";
		rc = -1;
		saved = errno;
	}
	if (unlinkat(st->fd, name, 0) == -1) {
		if (rc == -1)		/* the first failure is the news */
			warn_file(NULL, "unlink", "%s", name);
		else {
			*step = "unlink";
			rc = -1;
			saved = errno;
		}
	}
	if (rc == 0 && sync_fd(st, st->fd) == -1) {
		*step = "fsync-directory";
		rc = -1;
		saved = errno;
	}
	errno = saved;
	return rc;
}

/*
 * store_close - close the spool, the kept descriptors and any scan.
 * No message may be open.
 */
void
store_close(struct store *st)
{
	size_t	 i;

	if (st == NULL)
		return;
	for (i = 0; i < BOXES; i++)
		if (st->box[i].name != NULL)
			box_free(&st->box[i]);
	if (st->scan != NULL && closedir(st->scan) == -1)
		warn_file(NULL, "closedir", "%s/tmp", st->scan_name);
	if (close(st->fd) == -1)
		warn_file(NULL, "close", ".");
	free(st->msg);
	free(st);
}

/*
 * store_name_ok - may this domain or local part name a directory in the
 * spool?  Nothing that could climb out of it or hide in it: no '/', no
 * leading dot (so no "." or ".."), no control characters, not empty.
 */
int
store_name_ok(const char *s)
{
	size_t	 n;

	if (s[0] == '\0' || s[0] == '.')
		return 0;
	for (n = 0; s[n] != '\0'; n++)
		if (s[n] == '/' || (unsigned char)s[n] < 0x20 || s[n] == 0x7f)
			return 0;
	return n <= NAME_MAX - 4;	/* room for the maildir below it */
}

/*
 * store_folder_exists - has the recipient's mailbox the Maildir++ folder
 * r->folder, with its tmp/, new/ and cur/?  A mail reader makes one
 * (Dovecot for each folder the user creates); the store never does.
 */
int
store_folder_exists(const struct store *st, const struct store_rcpt *r)
{
	static const char *const sub[] = { "tmp", "new", "cur" };
	struct stat	 sb;
	char		 path[PATH_MAX], box_dir[BOX_NAMESZ];
	size_t		 i;

	if (*FOLDER(r) == '\0' || box_path(r, box_dir, sizeof(box_dir)) == -1)
		return 0;
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", box_dir, sub[i]);
		if (fstatat(st->fd, path, &sb, 0) == -1 || !S_ISDIR(sb.st_mode))
			return 0;
	}
	return 1;
}

/*
 * store_create - start a message in the first recipient's tmp/.  A tmp/
 * kept from an earlier message that has gone away since is opened again
 * by its path, once.
 */
struct store_msg *
store_create(struct store *st, const struct store_rcpt *first)
{
	struct store_msg	*m;
	struct timeval		 tv;
	int			 n, tries;

	if (stale(st)) {
		log_warnx("event=store-refused reason=spool-moved");
		errno = ESTALE;
		return NULL;
	}
	if ((m = msg_get(st)) == NULL)
		return NULL;
	if (st->pid == 0)
		st->pid = getpid();
	if (gettimeofday(&tv, NULL) == -1)
		goto fail;
	n = snprintf(m->id, sizeof(m->id), "%lld.M%06ldP%ldQ%u",
	    (long long)tv.tv_sec, (long)tv.tv_usec, (long)st->pid,
	    ++st->count);
	if (n < 0 || (size_t)snprintf(m->name, sizeof(m->name), "%s.%s",
	    m->id, st->host) >= sizeof(m->name) - 32) {
		errno = ENAMETOOLONG;
		goto fail;
	}
	for (tries = 0; ; tries++) {
		if ((m->box = box_get(st, first)) == NULL)
			goto fail;
		m->fd = openat(m->box->tmp, m->name,
		    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (m->fd != -1)
			break;
		if (tries > 0 || !gone(errno))
			goto fail;
		box_drop(m->box);
	}
	m->box->pins++;
	return m;
fail:
	n = errno;
	warn_file(NULL, "create", "%s/%s/tmp", first->domain, first->local);
	msg_put(m);
	errno = n;
	return NULL;
}

const char *
store_id(const struct store_msg *m)
{
	return m->id;
}

/*
 * msg_get - the store's one message buffer, or, should a second message
 * be open at once, a buffer of its own.  A daemon writes one message at
 * a time; allocating 64 kB per message cost a brk() to grow the heap
 * and one to trim it again, each time.
 */
static struct store_msg *
msg_get(struct store *st)
{
	struct store_msg	*m;

	if (st->msg == NULL && (st->msg = malloc(sizeof(*st->msg))) != NULL)
		st->msg->busy = 0;
	if (st->msg != NULL && !st->msg->busy)
		m = st->msg;
	else if ((m = malloc(sizeof(*m))) == NULL)
		return NULL;
	m->st = st;
	m->box = NULL;
	m->busy = 1;
	m->fd = -1;
	m->err = m->cr = m->moved = 0;
	m->size = m->len = 0;
	return m;
}

static void
msg_put(struct store_msg *m)
{
	if (m == m->st->msg)
		m->busy = 0;
	else
		free(m);
}

/*
 * store_write - append to the message, given as the client meant it:
 * lines end in CRLF, and Maildir's end in LF, so CRLF is written as LF
 * (a CR at the end of one call waits for the next).  Any other CR is
 * kept.  Errors are remembered, not returned: the caller keeps reading
 * its client and store_commit() reports.
 */
void
store_write(struct store_msg *m, const void *buf, size_t len)
{
	const char	*p = buf, *cr;
	size_t		 n;

	if (len > 0 && m->cr) {
		m->cr = 0;
		if (*p != '\n')
			put(m, "\r", 1);
	}
	while (len > 0) {
		if ((cr = memchr(p, '\r', len)) == NULL) {
			put(m, p, len);
			return;
		}
		n = cr - p;
		put(m, p, n);
		p += n + 1;
		len -= n + 1;
		if (len == 0)
			m->cr = 1;
		else if (*p != '\n')
			put(m, "\r", 1);
	}
}

/*
 * put - append octets to the buffer, writing it out when it is full.
 */
static void
put(struct store_msg *m, const char *p, size_t len)
{
	size_t	 n;

	while (len > 0 && m->err == 0) {
		if (m->len == sizeof(m->buf) && flush_buf(m) == -1)
			return;
		n = sizeof(m->buf) - m->len;
		if (n > len)
			n = len;
		memcpy(m->buf + m->len, p, n);
		m->len += n;
		m->size += n;
		p += n;
		len -= n;
	}
}

/*
 * flush_buf - write out the buffer, keeping the first error.
 */
static int
flush_buf(struct store_msg *m)
{
	size_t	 off = 0;
	ssize_t	 n;

	while (off < m->len && m->err == 0) {
		n = write(m->fd, m->buf + off, m->len - off);
		if (n == -1 && errno != EINTR)
			m->err = errno;
		else if (n > 0)
			off += n;
	}
	m->len = 0;
	return m->err ? -1 : 0;
}

/*
 * store_commit - make the message durable in every recipient's new/ and
 * release it.  0 on success; -1 with errno set, and nothing in any new/.
 */
int
store_commit(struct store_msg *m, const struct store_rcpt *rcpt, size_t n)
{
	int	 saved;

	if (m->cr)
		put(m, "\r", 1);	/* the last octet was a CR */
	if (flush_buf(m) == 0 && sync_fd(m->st, m->fd) == -1)
		m->err = errno;
	if (close(m->fd) == -1 && m->err == 0)
		m->err = errno;
	m->fd = -1;
	/* Looked at again after the fsync, the slow part: the window left. */
	if (m->err == 0 && stale(m->st)) {
		log_warnx("event=store-refused id=%s reason=spool-moved", m->id);
		m->err = ESTALE;
	}
	if (m->err == 0 && deliver(m, rcpt, n) == -1)
		m->err = errno;
	if (m->err != 0)
		log_warn("event=store-error id=%s call=commit", m->id);
	saved = m->err;
	store_abort(m);
	errno = saved;
	return saved ? -1 : 0;
}

/*
 * store_abort - drop the message: remove its tmp/ file, if it still has
 * one, and release it.
 */
void
store_abort(struct store_msg *m)
{
	if (m == NULL)
		return;
	if (m->fd != -1 && close(m->fd) == -1)
		warn_file(m->id, "close", "tmp/%s", m->name);
	if (!m->moved && unlinkat(m->box->tmp, m->name, 0) == -1)
		warn_file(m->id, "unlink", "tmp/%s", m->name);
	box_unpin(m->box);
	msg_put(m);
}

/*
 * deliver - put tmp/NAME as new/NAME,S=SIZE into each distinct maildir,
 * linked into all but the last, renamed into the last, each new/ fsynced;
 * on failure remove the names made and return -1.
 */
static int
deliver(struct store_msg *m, const struct store_rcpt *rcpt, size_t n)
{
	char	 final[NAME_MAX + 1 + 32];	/* store_create left room */
	size_t	 i, last;

	if (n == 0) {
		errno = EINVAL;
		return -1;
	}
	snprintf(final, sizeof(final), "%s,S=%" PRIu64, m->name, m->size);
	for (last = n - 1; last > 0 && !first_of(rcpt, last); last--)
		;
	for (i = 0; i < n; i++) {
		if (!first_of(rcpt, i))
			continue;	/* one file per mailbox */
		if (deliver_one(m, &rcpt[i], final, i == last) == -1)
			break;
	}
	if (i == n)
		return 0;
	warn_file(m->id, "deliver", "%s/%s/new", rcpt[i].domain,
	    rcpt[i].local);
	undeliver(m, rcpt, i, final);
	return -1;
}

/*
 * deliver_one - link (or, for the last maildir, rename) tmp/NAME to
 * final in one maildir's new/ and fsync the new/; a kept new/ that has
 * gone away is opened again by its path, once.  On failure nothing of
 * this message is left in that new/.
 */
static int
deliver_one(struct store_msg *m, const struct store_rcpt *r,
    const char *final, int last)
{
	struct box	*b;
	int		 rc, tries, saved;

	for (tries = 0; ; tries++) {
		if ((b = box_get(m->st, r)) == NULL)
			return -1;
		if (last)
			rc = renameat(m->box->tmp, m->name, b->new, final);
		else
			rc = linkat(m->box->tmp, m->name, b->new, final, 0);
		if (rc == 0 || landed(m, b, final, last))
			break;
		if (tries > 0 || !gone(errno))
			return -1;
		box_drop(b);
	}
	if (last)
		m->moved = 1;
	if (sync_fd(m->st, b->new) == 0)
		return 0;
	saved = errno;
	if (unlinkat(b->new, final, 0) == -1)
		warn_file(m->id, "unlink", "%s/new/%s", b->name, final);
	else if (sync_fd(m->st, b->new) == -1)
		warn_file(m->id, "fsync", "%s/new", b->name);
	errno = saved;
	return -1;
}

/*
 * undeliver - remove final from the new/ of the first n recipients.  A
 * maildir still kept is reached through the descriptor the link was
 * made with, not its path, which may name another directory by now.
 */
static void
undeliver(struct store_msg *m, const struct store_rcpt *rcpt, size_t n,
    const char *final)
{
	struct box	*b;
	char		 name[BOX_NAMESZ];
	uint64_t	 h;
	size_t		 i;
	int		 saved = errno;

	for (i = 0; i < n; i++) {
		if (!first_of(rcpt, i) || box_name(&rcpt[i], name, &h) == -1)
			continue;
		if ((b = box_find(m->st, name, h)) == NULL &&
		    (b = box_get(m->st, &rcpt[i])) == NULL)
			continue;
		if (unlinkat(b->new, final, 0) == -1)
			warn_file(m->id, "unlink", "%s/new/%s", b->name,
			    final);
		else if (sync_fd(m->st, b->new) == -1)
			warn_file(m->id, "fsync", "%s/new", b->name);
	}
	errno = saved;
}

/*
 * first_of - is rcpt[i] the first of the recipients with its maildir?
 */
static int
first_of(const struct store_rcpt *rcpt, size_t i)
{
	size_t	 j;

	for (j = 0; j < i; j++)
		if (strcmp(rcpt[i].domain, rcpt[j].domain) == 0 &&
		    strcmp(rcpt[i].local, rcpt[j].local) == 0 &&
		    strcmp(FOLDER(&rcpt[i]), FOLDER(&rcpt[j])) == 0)
			return 0;
	return 1;
}

/*
 * gone - does this errno, from an operation through a kept directory
 * descriptor, say the directory is no longer there?
 */
static int
gone(int e)
{
	return e == ENOENT || e == ESTALE;
}

/*
 * stale - has the daemon's master said that the spool this store holds
 * is no longer the one at its path?
 */
static int
stale(const struct store *st)
{
	return st->current != NULL && atomic_load(st->current) != st->serial;
}

/*
 * landed - did the link (or, if renamed, the rename) of tmp/NAME to
 * new/final that just failed take place all the same, as it can on NFS
 * when a reply is lost and the retransmitted call fails (EEXIST for a
 * link, ENOENT for a rename)?  A link did if new/final is the same file
 * as tmp/NAME; a rename if tmp/NAME is gone and new/final is a file:
 * nothing else makes this process's unique name.  Costs nothing unless
 * the call failed.  errno is kept for the caller when it did not.
 */
static int
landed(const struct store_msg *m, const struct box *b, const char *final,
    int renamed)
{
	struct stat	 src, dst;
	int		 saved = errno, ok = 0;
	char		 box[LOG_VALUE_MAX];

	if (fstatat(b->new, final, &dst, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(dst.st_mode)) {
		if (fstatat(m->box->tmp, m->name, &src, AT_SYMLINK_NOFOLLOW)
		    == -1)
			ok = renamed && errno == ENOENT;
		else
			ok = !renamed && src.st_dev == dst.st_dev &&
			    src.st_ino == dst.st_ino;
	}
	if (ok)
		log_warnx("event=store-false-failure id=%s maildir=%s op=%s "
		    "error=\"%s\" action=delivered", m->id,
		    log_value(b->name, box, sizeof(box)),
		    renamed ? "rename" : "link", strerror(saved));
	errno = saved;
	return ok;
}

/*
 * box_path - "DOMAIN/LOCAL", or "DOMAIN/LOCAL/.FOLDER" for a Maildir++
 * folder, for a recipient whose names the store takes; else -1 (EINVAL).
 */
static int
box_path(const struct store_rcpt *r, char *path, size_t pathsz)
{
	const char	*f = FOLDER(r);
	int		 n;

	if (!store_name_ok(r->domain) || !store_name_ok(r->local) ||
	    (*f != '\0' && (!store_name_ok(f) || strchr(f, '.') != NULL))) {
		errno = EINVAL;
		return -1;
	}
	n = snprintf(path, pathsz, "%s/%s%s%s", r->domain, r->local,
	    *f != '\0' ? "/." : "", f);
	if (n < 0 || (size_t)n >= pathsz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/*
 * store_box_path - DOMAIN/LOCAL or DOMAIN/LOCAL/.FOLDER, the maildir a
 * recipient is delivered to, relative to the spool: for smtpd -w
 * (wait.c), which must watch the directory the store writes.
 */
int
store_box_path(const struct store_rcpt *r, char *path, size_t pathsz)
{
	return box_path(r, path, pathsz);
}

/*
 * box_name - box_path() and its hash (FNV-1a) for a recipient.
 */
static int
box_name(const struct store_rcpt *r, char *name, uint64_t *hash)
{
	uint64_t	 h = 14695981039346656037ULL;
	const char	*p;

	if (box_path(r, name, BOX_NAMESZ) == -1)
		return -1;
	for (p = name; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	*hash = h;
	return 0;
}

/*
 * box_find - the kept descriptors of a maildir, or NULL.
 */
static struct box *
box_find(struct store *st, const char *name, uint64_t h)
{
	struct box	*b;

	for (b = st->box; b < st->box + BOXES; b++)
		if (b->name != NULL && !b->dead && b->hash == h &&
		    strcmp(b->name, name) == 0)
			return b;
	return NULL;
}

/*
 * box_get - a recipient's maildir, from the kept descriptors if they are
 * still trusted or still match their paths, else opened (and created if
 * need be) by its path.
 */
static struct box *
box_get(struct store *st, const struct store_rcpt *r)
{
	struct box	*b;
	char		 name[BOX_NAMESZ];
	uint64_t	 h;
	long long	 now = now_ms();

	if (box_name(r, name, &h) == -1)
		return NULL;
	if ((b = box_find(st, name, h)) != NULL &&
	    now - b->checked >= RECHECK_MS) {
		if (box_current(st, b))
			b->checked = now;
		else {
			box_drop(b);
			b = NULL;
		}
	}
	if (b == NULL && (b = box_open(st, r, name, h)) == NULL)
		return NULL;
	b->used = ++st->tick;
	box_due(st, b, now);
	return b;
}

/*
 * box_open - open a maildir's tmp/ and new/ into a free slot or, if
 * none, the least recently used one no message is open in.
 */
static struct box *
box_open(struct store *st, const struct store_rcpt *r, const char *name,
    uint64_t h)
{
	struct box	*b, *victim = NULL;

	for (b = st->box; b < st->box + BOXES; b++) {
		if (b->name == NULL) {
			victim = b;
			break;
		}
		if (b->pins == 0 && (victim == NULL || b->used < victim->used))
			victim = b;
	}
	if (victim == NULL) {
		errno = EMFILE;		/* BOXES messages open at once */
		return NULL;
	}
	if (victim->name != NULL)
		box_free(victim);
	b = victim;
	b->tmp = maildir_sub(st, r, "tmp", &b->tmp_dev, &b->tmp_ino);
	if (b->tmp == -1)
		return NULL;
	b->new = maildir_sub(st, r, "new", &b->new_dev, &b->new_ino);
	if (b->new == -1 || (b->name = strdup(name)) == NULL) {
		if (b->new != -1)
			close_quiet(b->new);
		close_quiet(b->tmp);
		return NULL;
	}
	b->hash = h;
	b->checked = now_ms();
	b->hour = -1;
	return b;
}

/*
 * box_current - do the maildir's paths still name the directories kept?
 */
static int
box_current(struct store *st, const struct box *b)
{
	struct stat	 sb;
	char		 path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/tmp", b->name);
	if (fstatat(st->fd, path, &sb, 0) == -1 || sb.st_dev != b->tmp_dev ||
	    sb.st_ino != b->tmp_ino)
		return 0;
	snprintf(path, sizeof(path), "%s/new", b->name);
	if (fstatat(st->fd, path, &sb, 0) == -1 || sb.st_dev != b->new_dev ||
	    sb.st_ino != b->new_ino)
		return 0;
	return 1;
}

/*
 * box_drop - forget kept descriptors that no longer name the maildir;
 * a message still open in its tmp/ keeps them until it is done.
 */
static void
box_drop(struct box *b)
{
	if (b->pins > 0)
		b->dead = 1;
	else
		box_free(b);
}

static void
box_unpin(struct box *b)
{
	if (--b->pins == 0 && b->dead)
		box_free(b);
}

static void
box_free(struct box *b)
{
	if (close(b->tmp) == -1)
		warn_file(NULL, "close", "%s/tmp", b->name);
	if (close(b->new) == -1)
		warn_file(NULL, "close", "%s/new", b->name);
	free(b->name);
	memset(b, 0, sizeof(*b));
}

/*
 * box_due - on a maildir's first use in an hour (counted from
 * store_open), mark its tmp/ for store_tidy(), which looks at its stamp
 * first.  A maildir whose descriptors were let go and opened again is
 * marked again: that costs one look at the stamp.
 */
static void
box_due(struct store *st, struct box *b, long long now)
{
	long long	 hour = (now - st->start) / TIDY_MS;

	if (b->hour == hour)
		return;
	b->hour = hour;
	b->untidy = 1;
}

/*
 * maildir_sub - open DOMAIN/LOCAL/sub, creating the maildir if missing;
 * *dev and *ino identify the directory opened.  A folder is never
 * created: the mailbox's owner makes it (store_folder_exists()).
 */
static int
maildir_sub(struct store *st, const struct store_rcpt *r, const char *sub,
    dev_t *dev, ino_t *ino)
{
	struct stat	 sb;
	char		 path[PATH_MAX], box_dir[BOX_NAMESZ];
	int		 fd, box;

	if (box_path(r, box_dir, sizeof(box_dir)) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/%s", box_dir, sub);
	if ((fd = openat(st->fd, path, DIR_FLAGS)) == -1) {
		if (errno != ENOENT || *FOLDER(r) != '\0' ||
		    (box = maildir_make(st, r)) == -1)
			return -1;
		fd = openat(box, sub, DIR_FLAGS);
		close_quiet(box);
		if (fd == -1)
			return -1;
	}
	if (fstat(fd, &sb) == -1) {
		close_quiet(fd);
		return -1;
	}
	*dev = sb.st_dev;
	*ino = sb.st_ino;
	return fd;
}

/*
 * maildir_make - create DOMAIN/LOCAL/{tmp,new,cur}; return a descriptor
 * on DOMAIN/LOCAL.  Each directory created is made durable in its parent,
 * so that a 250 never rests on a maildir that a crash could take away.
 */
static int
maildir_make(struct store *st, const struct store_rcpt *r)
{
	int	 dom, box;

	if (mkdir_sync(st, st->fd, r->domain) == -1)
		return -1;
	if ((dom = openat(st->fd, r->domain, DIR_FLAGS)) == -1)
		return -1;
	if (mkdir_sync(st, dom, r->local) == -1) {
		close_quiet(dom);
		return -1;
	}
	box = openat(dom, r->local, DIR_FLAGS);
	close_quiet(dom);
	if (box == -1)
		return -1;
	if (mkdir_sync(st, box, "tmp") == -1 ||
	    mkdir_sync(st, box, "new") == -1 ||
	    mkdir_sync(st, box, "cur") == -1) {
		close_quiet(box);
		return -1;
	}
	return box;
}

/*
 * mkdir_sync - mkdir, and fsync the parent if the directory is new.
 */
static int
mkdir_sync(const struct store *st, int parent, const char *name)
{
	if (mkdirat(parent, name, 0700) == -1)
		return errno == EEXIST ? 0 : -1;
	return sync_fd(st, parent);
}

/*
 * sync_fd - fsync(fd), unless the store was told not to (store_sync()).
 * The store's one way to fsync, so that "sync no" leaves none out.
 */
static int
sync_fd(const struct store *st, int fd)
{
	return st->nosync ? 0 : fsync(fd);
}

/*
 * close_quiet - close a directory on the way out of a failure, keeping
 * the errno that is being reported; its own failure is logged.
 */
static void
close_quiet(int fd)
{
	int	 saved = errno;

	if (close(fd) == -1)
		log_warn("event=store-error call=close");
	errno = saved;
}

/*
 * store_tidy - remove files left in the tmp/ of maildirs delivered to
 * for more than 36 hours by a delivery that crashed; see the top of this
 * file for when.  Reads at most TIDY_BUDGET directory entries, then
 * returns 1 if there may be more to do (call again, after the next
 * session), 0 if not.  Best effort: a failure is logged and changes
 * nothing for any delivery.
 */
int
store_tidy(struct store *st)
{
	unsigned	 budget = TIDY_BUDGET;

	if (st == NULL)
		return 0;
	while (budget > 0) {
		if (st->scan == NULL && tidy_start(st) == -1)
			return 0;
		tidy_some(st, &budget);
	}
	return 1;
}

/*
 * tidy_start - begin the scan of the next tmp/ that is due and not
 * read by any process in the last hour; -1 if none.  The stamp is set
 * before the scan, so that a tmp/ that cannot be read is not tried again
 * after every session.
 */
static int
tidy_start(struct store *st)
{
	struct box	*b;
	int		 fd;

	for (b = st->box; b < st->box + BOXES; b++) {
		if (b->name == NULL || b->dead || !b->untidy)
			continue;
		b->untidy = 0;
		if (tidy_claim(b) == 0)
			continue;	/* another process has it this hour */
		if ((fd = openat(b->tmp, ".", DIR_FLAGS)) == -1) {
			warn_file(NULL, "open", "%s/tmp", b->name);
			continue;
		}
		if ((st->scan = fdopendir(fd)) == NULL) {
			warn_file(NULL, "fdopendir", "%s/tmp", b->name);
			close_quiet(fd);
			continue;
		}
		snprintf(st->scan_name, sizeof(st->scan_name), "%s", b->name);
		return 0;
	}
	return -1;
}

/*
 * tidy_claim - 1 if this process is to scan the maildir's tmp/ now, 0
 * if another did in the last hour.  Each worker would otherwise read the
 * same tmp/ once an hour, a pool of 16 sixteen times (and under inetd,
 * every connection): the first to come stamps the file smtpd-tidied in
 * the maildir, beside tmp/ (mail readers keep their own files there,
 * such as dovecot-uidlist, and take only names that start with a dot
 * for folders), and the others see its time.  Two that come at once
 * both scan, which is harmless.  When the stamp cannot be read or made,
 * scan anyway.
 */
static int
tidy_claim(const struct box *b)
{
	struct stat	 sb;
	int		 fd;

	if (fstatat(b->tmp, TIDY_STAMP, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(sb.st_mode) &&
	    (long long)(time(NULL) - sb.st_mtime) * 1000 < TIDY_MS)
		return 0;
	fd = openat(b->tmp, TIDY_STAMP,
	    O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1 || futimens(fd, NULL) == -1)
		warn_file(NULL, "stamp", "%s/smtpd-tidied", b->name);
	if (fd != -1)
		close_quiet(fd);
	return 1;
}

/*
 * tidy_some - go on with the scan for at most *budget entries, and end
 * it at the end of the directory.
 */
static void
tidy_some(struct store *st, unsigned *budget)
{
	struct dirent	*de = NULL;
	struct stat	 sb;
	time_t		 now = time(NULL);
	int		 fd = dirfd(st->scan);

	while (*budget > 0) {
		(*budget)--;
		errno = 0;
		if ((de = readdir(st->scan)) == NULL)
			break;
		if (de->d_name[0] == '.')
			continue;
		if (fstatat(fd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == -1) {
			if (errno != ENOENT)	/* delivered meanwhile */
				warn_file(NULL, "stat", "%s/tmp/%s",
				    st->scan_name, de->d_name);
			continue;
		}
		if (!S_ISREG(sb.st_mode) || sb.st_mtime + STALE_SECONDS >= now)
			continue;
		if (unlinkat(fd, de->d_name, 0) == 0)
			stale_removed(st->scan_name, de->d_name);
		else if (errno != ENOENT)
			warn_file(NULL, "unlink", "%s/tmp/%s", st->scan_name,
			    de->d_name);
	}
	if (de != NULL)
		return;
	if (errno != 0)
		warn_file(NULL, "readdir", "%s/tmp", st->scan_name);
	if (closedir(st->scan) == -1)
		warn_file(NULL, "closedir", "%s/tmp", st->scan_name);
	st->scan = NULL;
}

/*
 * stale_removed - event=tidy for a file of box's tmp/ that tidy_some()
 * removed.  Anyone who can write the spool names files there: the name
 * is escaped.
 */
static void
stale_removed(const char *box, const char *name)
{
	char	 path[PATH_MAX], file[LOG_VALUE_MAX];

	snprintf(path, sizeof(path), "%s/tmp/%s", box, name);
	log_info("event=tidy removed=%s", log_value(path, file, sizeof(file)));
}

/*
 * warn_file - event=store-error: the call that failed on the file the
 * format names (relative to the spool), with errno's text, and the
 * message's id when there is one.  Mailbox names come from addresses:
 * the path is escaped.
 */
static void
warn_file(const char *id, const char *call, const char *fmt, ...)
{
	char	 path[PATH_MAX], file[LOG_VALUE_MAX];
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	log_value(path, file, sizeof(file));
	errno = saved;
	if (id != NULL)
		log_warn("event=store-error id=%s call=%s file=%s", id, call,
		    file);
	else
		log_warn("event=store-error call=%s file=%s", call, file);
}
