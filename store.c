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
 * host, process and message, so there is none to replace.
 *
 * A crash before the message reaches a new/ leaves a file in tmp/ only,
 * which no mail reader looks at and which a later delivery through that
 * maildir (to any of its recipients) removes after 36 hours, as Dovecot
 * does.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "store.h"

#define STORE_BUFSZ	65536
#define STALE_SECONDS	(36 * 60 * 60)
#define DIR_FLAGS	(O_RDONLY | O_DIRECTORY | O_CLOEXEC)

struct store {
	int		 fd;			/* the spool directory */
	char		 host[256];		/* escaped for file names */
	unsigned	 count;			/* Q in the Maildir name */
	struct store_msg *msg;			/* allocated once, reused */
};

struct store_msg {
	struct store	*st;
	int		 busy;			/* st->msg is in use */
	int		 tmpfd;			/* the tmp/ directory */
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

static int	 maildir_sub(struct store *, const struct store_rcpt *,
		    const char *);
static int	 maildir_make(struct store *, const struct store_rcpt *);
static int	 mkdir_sync(int, const char *);
static void	 clean_tmp(int);
static void	 clean_box(struct store *, const struct store_rcpt *);
static struct store_msg *msg_get(struct store *);
static void	 msg_put(struct store_msg *);
static void	 put(struct store_msg *, const char *, size_t);
static int	 flush_buf(struct store_msg *);
static int	 link_all(struct store_msg *, const struct store_rcpt *,
		    size_t);
static void	 unlink_all(struct store_msg *, const struct store_rcpt *,
		    size_t, const char *);
static int	 first_of(const struct store_rcpt *, size_t);

/*
 * store_open - open (creating if need be) the spool directory.
 */
struct store *
store_open(const char *spool, const char *hostname)
{
	struct store	*st;
	char		*p;
	size_t		 i;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NULL;
	if (mkdir(spool, 0700) == -1 && errno != EEXIST) {
		log_warn("mkdir %s", spool);
		free(st);
		return NULL;
	}
	if ((st->fd = open(spool, DIR_FLAGS)) == -1) {
		log_warn("open %s", spool);
		free(st);
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
	return st;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	close(st->fd);
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
 * store_create - start a message in the first recipient's tmp/.
 */
struct store_msg *
store_create(struct store *st, const struct store_rcpt *first)
{
	struct store_msg	*m;
	struct timeval		 tv;
	int			 n;

	if ((m = msg_get(st)) == NULL)
		return NULL;
	if ((m->tmpfd = maildir_sub(st, first, "tmp")) == -1)
		goto fail;
	clean_tmp(m->tmpfd);
	gettimeofday(&tv, NULL);
	n = snprintf(m->id, sizeof(m->id), "%lld.M%06ldP%ldQ%u",
	    (long long)tv.tv_sec, (long)tv.tv_usec, (long)getpid(),
	    ++st->count);
	if (n < 0 || (size_t)snprintf(m->name, sizeof(m->name), "%s.%s",
	    m->id, st->host) >= sizeof(m->name) - 32) {
		errno = ENAMETOOLONG;
		goto fail;
	}
	m->fd = openat(m->tmpfd, m->name,
	    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (m->fd == -1)
		goto fail;
	return m;
fail:
	log_warn("store: cannot create message in %s/%s/tmp", first->domain,
	    first->local);
	n = errno;
	if (m->tmpfd != -1)
		close(m->tmpfd);
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
	m->busy = 1;
	m->tmpfd = -1;
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
	if (flush_buf(m) == 0 && fsync(m->fd) == -1)
		m->err = errno;
	if (close(m->fd) == -1 && m->err == 0)
		m->err = errno;
	m->fd = -1;
	if (m->err == 0 && link_all(m, rcpt, n) == -1)
		m->err = errno;
	if (m->err != 0)
		log_warn("store: %s: commit failed", m->id);
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
	if (m->fd != -1)
		close(m->fd);
	if (!m->moved && unlinkat(m->tmpfd, m->name, 0) == -1)
		log_warn("store: unlink tmp/%s", m->name);
	close(m->tmpfd);
	msg_put(m);
}

/*
 * link_all - put tmp/NAME as new/NAME,S=SIZE into each distinct maildir,
 * linked into all but the last, renamed into the last, each new/ fsynced;
 * on failure remove the names made and return -1.
 */
static int
link_all(struct store_msg *m, const struct store_rcpt *rcpt, size_t n)
{
	char	 final[NAME_MAX + 1 + 32];	/* store_create left room */
	size_t	 i, last;
	int	 fd, rc;

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
		if (i > 0)
			clean_box(m->st, &rcpt[i]);
		if ((fd = maildir_sub(m->st, &rcpt[i], "new")) == -1)
			break;
		if (i == last)
			rc = renameat(m->tmpfd, m->name, fd, final);
		else
			rc = linkat(m->tmpfd, m->name, fd, final, 0);
		if (rc == 0 && i == last)
			m->moved = 1;
		if (rc == 0 && fsync(fd) == -1) {
			rc = -1;
			unlinkat(fd, final, 0);
		}
		close(fd);
		if (rc == -1)
			break;
	}
	if (i == n)
		return 0;
	log_warn("store: %s: deliver to %s@%s", m->id, rcpt[i].local,
	    rcpt[i].domain);
	unlink_all(m, rcpt, i, final);
	return -1;
}

/*
 * unlink_all - remove final from the first n recipients' new/.
 */
static void
unlink_all(struct store_msg *m, const struct store_rcpt *rcpt, size_t n,
    const char *final)
{
	size_t	 i;
	int	 fd, saved = errno;

	for (i = 0; i < n; i++) {
		if ((fd = maildir_sub(m->st, &rcpt[i], "new")) == -1)
			continue;
		if (unlinkat(fd, final, 0) == 0)
			fsync(fd);
		close(fd);
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
		    strcmp(rcpt[i].local, rcpt[j].local) == 0)
			return 0;
	return 1;
}

/*
 * maildir_sub - open DOMAIN/LOCAL/sub, creating the maildir if missing.
 */
static int
maildir_sub(struct store *st, const struct store_rcpt *r, const char *sub)
{
	char	 path[PATH_MAX];
	int	 fd, box;

	if (!store_name_ok(r->domain) || !store_name_ok(r->local)) {
		errno = EINVAL;
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s/%s", r->domain, r->local, sub);
	if ((fd = openat(st->fd, path, DIR_FLAGS)) != -1 || errno != ENOENT)
		return fd;
	if ((box = maildir_make(st, r)) == -1)
		return -1;
	fd = openat(box, sub, DIR_FLAGS);
	close(box);
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

	if (mkdir_sync(st->fd, r->domain) == -1)
		return -1;
	if ((dom = openat(st->fd, r->domain, DIR_FLAGS)) == -1)
		return -1;
	if (mkdir_sync(dom, r->local) == -1) {
		close(dom);
		return -1;
	}
	box = openat(dom, r->local, DIR_FLAGS);
	close(dom);
	if (box == -1)
		return -1;
	if (mkdir_sync(box, "tmp") == -1 || mkdir_sync(box, "new") == -1 ||
	    mkdir_sync(box, "cur") == -1) {
		close(box);
		return -1;
	}
	return box;
}

/*
 * mkdir_sync - mkdir, and fsync the parent if the directory is new.
 */
static int
mkdir_sync(int parent, const char *name)
{
	if (mkdirat(parent, name, 0700) == -1)
		return errno == EEXIST ? 0 : -1;
	return fsync(parent);
}

/*
 * clean_tmp - remove files left in tmp/ for more than 36 hours by a
 * delivery that crashed.  Best effort: failures change nothing for the
 * message being delivered now.
 */
static void
clean_tmp(int tmpfd)
{
	struct dirent	*de;
	struct stat	 sb;
	DIR		*dir;
	time_t		 now = time(NULL);
	int		 fd;

	if ((fd = dup(tmpfd)) == -1)
		return;
	if ((dir = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (fstatat(tmpfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(sb.st_mode) && sb.st_mtime + STALE_SECONDS < now &&
		    unlinkat(tmpfd, de->d_name, 0) == 0)
			log_info("store: removed stale tmp/%s", de->d_name);
	}
	closedir(dir);
}

/*
 * clean_box - clean_tmp() for a recipient's maildir other than the one
 * the message was written in: the crashed delivery that left a file
 * behind may have had that recipient first, so every maildir a message
 * goes through tidies its own tmp/.
 */
static void
clean_box(struct store *st, const struct store_rcpt *r)
{
	int	 fd;

	if ((fd = maildir_sub(st, r, "tmp")) == -1)
		return;
	clean_tmp(fd);
	close(fd);
}
