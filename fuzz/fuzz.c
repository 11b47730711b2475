/*
 * fuzz/fuzz.c - what the libFuzzer targets share: the report of a broken
 * invariant, the decoding of read edges from an input (fuzz.h), a
 * scratch directory, the thread that plays the client, and a growing
 * buffer.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../log.h"
#include "fuzz.h"

#define EDGE	0xff

static FILE	*report;	/* stderr as it was at the start */
static void	(*cleanup)(void);	/* the target's scratch files go */

/* The client's thread and the job it is given. */
static pthread_t	 helper;
static int		 helper_up;
static pthread_mutex_t	 job_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 job_cond = PTHREAD_COND_INITIALIZER;
static void		(*job)(void *);	/* NULL: none, or done */
static void		*job_arg;

static void	*helper_main(void *);

/*
 * fuzz_init - keep a stream on what is stderr now, for the reports:
 * libFuzzer's -close_fd_mask=2 (fuzz/run passes it) later points fd 2
 * at /dev/null, so that smtpd's log lines, which go there, cost little.
 * Run by hand without it, the target shows them.
 */
void
fuzz_init(void)
{
	int	 fd;

	if (report != NULL)
		return;
	if ((fd = dup(2)) == -1 || (report = fdopen(fd, "w")) == NULL)
		report = stderr;
	signal(SIGPIPE, SIG_IGN);
	log_init("smtpd-fuzz", 1, 0);
}

/*
 * fuzz_cleanup - fn removes the target's scratch files: at exit, and
 * before fuzz_fail() aborts (fuzz/run removes its scratch directory
 * either way, but a finding run again by hand should leave nothing).
 */
void
fuzz_cleanup(void (*fn)(void))
{
	cleanup = fn;
	atexit(fn);
}

/*
 * fuzz_note - a line of context for the report of a failure to come.
 */
void
fuzz_note(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vfprintf(report, fmt, ap);
	va_end(ap);
	fputc('\n', report);
	fflush(report);
}

/*
 * fuzz_note_octets - octets as a C string literal would write them, at
 * most 4 KB of them.
 */
void
fuzz_note_octets(const char *what, const void *p, size_t n)
{
	const unsigned char	*u = p;
	size_t			 i, max = n > 4096 ? 4096 : n;

	fprintf(report, "%s (%zu octets): \"", what, n);
	for (i = 0; i < max; i++) {
		if (u[i] == '\n')
			fputs("\\n\"\n  \"", report);
		else if (u[i] == '\r')
			fputs("\\r", report);
		else if (u[i] == '"' || u[i] == '\\')
			fprintf(report, "\\%c", u[i]);
		else if (u[i] < 0x20 || u[i] >= 0x7f)
			fprintf(report, "\\x%02x", u[i]);
		else
			fputc(u[i], report);
	}
	fprintf(report, "\"%s\n", max < n ? " ..." : "");
	fflush(report);
}

/*
 * fuzz_fail - an invariant does not hold: say which, and abort.
 */
void
fuzz_fail(const char *fmt, ...)
{
	va_list	 ap;

	fputs("INVARIANT BROKEN: ", report);
	va_start(ap, fmt);
	vfprintf(report, fmt, ap);
	va_end(ap);
	fputc('\n', report);
	fflush(report);
	if (cleanup != NULL)
		cleanup();
	abort();
}

/*
 * fuzz_tmpdir - where scratch files go: $FUZZ_TMPDIR, else /dev/shm
 * when it is there (the store fsyncs every message, which costs nothing
 * on tmpfs), else $TMPDIR, else /tmp.
 */
const char *
fuzz_tmpdir(void)
{
	struct stat	 sb;
	const char	*d;

	if ((d = getenv("FUZZ_TMPDIR")) != NULL && *d != '\0')
		return d;
	if (stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) &&
	    access("/dev/shm", W_OK | X_OK) == 0)
		return "/dev/shm";
	if ((d = getenv("TMPDIR")) != NULL && *d != '\0')
		return d;
	return "/tmp";
}

/*
 * fuzz_pieces - decode an input into the client's octets and the
 * pieces they arrive in (see fuzz.h): no piece is empty, none is longer
 * than max.
 */
void
fuzz_pieces(struct pieces *pc, const uint8_t *in, size_t n, size_t max)
{
	size_t	 i, start = 0;

	pc->len = pc->n = 0;
	/* n + 1 octets: malloc(0) may be NULL. */
	if ((pc->data = malloc(n + 1)) == NULL ||
	    (pc->end = malloc((n + 1) * sizeof(*pc->end))) == NULL)
		fuzz_fail("out of memory");
	for (i = 0; i < n; i++) {
		if (in[i] == EDGE && i + 1 < n && in[i + 1] == EDGE)
			i++;			/* an 0xff of the client's */
		else if (in[i] == EDGE) {
			if (pc->len > start)
				pc->end[pc->n++] = start = pc->len;
			continue;
		}
		pc->data[pc->len++] = in[i];
		if (pc->len - start == max)
			pc->end[pc->n++] = start = pc->len;
	}
	if (pc->len > start)
		pc->end[pc->n++] = pc->len;
}

void
fuzz_pieces_free(struct pieces *pc)
{
	free(pc->data);
	free(pc->end);
	pc->data = NULL;
	pc->end = NULL;
}

/*
 * fuzz_thread_start - run fn(arg) on the helper thread, which is made
 * once: under ASan every thread made leaves about a kilobyte that is
 * never given back, and a thread a run grew a target by 25 MB a minute.
 */
void
fuzz_thread_start(void (*fn)(void *), void *arg)
{
	int	 rc;

	pthread_mutex_lock(&job_lock);
	if (!helper_up) {
		if ((rc = pthread_create(&helper, NULL, helper_main, NULL)) != 0)
			fuzz_fail("pthread_create: %s", strerror(rc));
		helper_up = 1;
	}
	job_arg = arg;
	job = fn;
	pthread_cond_broadcast(&job_cond);
	pthread_mutex_unlock(&job_lock);
}

/*
 * fuzz_thread_join - wait until the job given to the helper is done.
 */
void
fuzz_thread_join(void)
{
	pthread_mutex_lock(&job_lock);
	while (job != NULL)
		pthread_cond_wait(&job_cond, &job_lock);
	pthread_mutex_unlock(&job_lock);
}

static void *
helper_main(void *unused)
{
	void	(*fn)(void *);

	(void)unused;
	pthread_mutex_lock(&job_lock);
	for (;;) {
		while (job == NULL)
			pthread_cond_wait(&job_cond, &job_lock);
		fn = job;
		pthread_mutex_unlock(&job_lock);
		fn(job_arg);
		pthread_mutex_lock(&job_lock);
		job = NULL;
		pthread_cond_broadcast(&job_cond);
	}
	return NULL;
}

void
buf_add(struct buf *b, const void *p, size_t n)
{
	size_t	 size;

	if (b->len + n > b->size) {
		for (size = b->size ? b->size : 256; size < b->len + n;)
			size *= 2;
		if ((b->p = realloc(b->p, size)) == NULL)
			fuzz_fail("out of memory");
		b->size = size;
	}
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

void
buf_free(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->size = 0;
}

/*
 * fuzz_empty_dir - remove everything below the directory dfd (which it
 * leaves open and empty); -1 on the first failure.
 */
int
fuzz_empty_dir(int dfd)
{
	DIR		*d;
	struct dirent	*de;
	int		 fd, rc = 0;

	if ((fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(dfd, de->d_name, 0) == 0)
			continue;
		if (errno != EISDIR && errno != EPERM) {
			rc = -1;
			break;
		}
		if ((fd = openat(dfd, de->d_name,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
			rc = -1;
			break;
		}
		rc = fuzz_empty_dir(fd);
		close(fd);
		if (rc == 0 && unlinkat(dfd, de->d_name, AT_REMOVEDIR) == -1)
			rc = -1;
	}
	closedir(d);
	return rc;
}
