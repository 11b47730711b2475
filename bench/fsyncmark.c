/*
 * fsyncmark.c - the disk's ceiling for the store's sequence, without SMTP:
 * how many one-recipient messages a second the file system takes when
 * nothing but the store's system calls stand in the way.
 *
 *	fsyncmark [-p procs] [-n count] [-t seconds] [-l size] dir
 *
 * -p processes (10 by default, like 10 sessions) each open DIR/tmp and
 * DIR/new once, as a worker keeps its directory descriptors, and then
 * repeat store.c's sequence for one recipient:
 *
 *	openat(tmp, NAME, O_WRONLY|O_CREAT|O_EXCL|O_CLOEXEC, 0600)
 *	write SIZE octets (-l, 1024 by default), fsync, close
 *	renameat(tmp, NAME, new, NAME,S=SIZE)
 *	fsync(new)
 *
 * until -n messages in all (100000 by default) or -t seconds (5 by
 * default) have passed, whichever comes first.  DIR must exist; tmp/ and
 * new/ are created in it if missing, and the files stay (the caller
 * removes DIR).  It prints one line, "MSG_PER_S SECONDS MESSAGES", and
 * exits 0, or 1 with a message if any call failed.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define MAXPROCS	256

static long	worker(int, const char *, long, double, size_t);
static void	usage(void);

int
main(int argc, char *argv[])
{
	int	 fds[MAXPROCS], c, i, status, failed = 0;
	long	 procs = 10, count = 100000, seconds = 5, size = 1024, n;
	long	 total = 0;
	double	 t0, t1;
	pid_t	 pid;
	char	 path[PATH_MAX];
	FILE	*fp;

	while ((c = getopt(argc, argv, "l:n:p:t:")) != -1) {
		switch (c) {
		case 'l':
			size = number("fsyncmark", optarg, 1, 1L << 26);
			break;
		case 'n':
			count = number("fsyncmark", optarg, 1, 100000000);
			break;
		case 'p':
			procs = number("fsyncmark", optarg, 1, MAXPROCS);
			break;
		case 't':
			seconds = number("fsyncmark", optarg, 1, 3600);
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 1)
		usage();
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", argv[optind],
		    i ? "new" : "tmp");
		if (mkdir(path, 0700) == -1 && errno != EEXIST) {
			fprintf(stderr, "fsyncmark: mkdir %s: %s\n", path,
			    strerror(errno));
			return 1;
		}
	}
	t0 = now_s();
	for (i = 0; i < procs; i++) {
		int	p[2];

		if (pipe(p) == -1 || (pid = fork()) == -1) {
			perror("fsyncmark: pipe or fork");
			return 1;
		}
		if (pid == 0) {
			close(p[0]);
			/* The share of the count; the first ones take the rest. */
			n = worker(i, argv[optind], count / procs +
			    (i < count % procs), t0 + seconds, (size_t)size);
			if (n < 0)
				_exit(1);
			fp = fdopen(p[1], "w");
			if (fp == NULL || fprintf(fp, "%ld\n", n) < 0 ||
			    fclose(fp) == EOF)
				_exit(1);
			_exit(0);
		}
		close(p[1]);
		fds[i] = p[0];
	}
	for (i = 0; i < procs; i++) {
		if ((fp = fdopen(fds[i], "r")) == NULL ||
		    fscanf(fp, "%ld", &n) != 1)
			failed = 1;
		else
			total += n;
		if (fp != NULL)
			fclose(fp);
	}
	t1 = now_s();
	while ((pid = wait(&status)) != -1)
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed = 1;
	if (failed) {
		fprintf(stderr, "fsyncmark: a process failed\n");
		return 1;
	}
	printf("%.1f %.3f %ld\n", total / (t1 - t0), t1 - t0, total);
	return 0;
}

/*
 * worker - one process: at most max messages, none started after the
 * deadline.  Returns how many were done, or -1 after saying why.
 */
static long
worker(int id, const char *dir, long max, double deadline, size_t size)
{
	char	 path[PATH_MAX], name[128], final[160], *buf;
	int	 tmpfd, newfd, fd;
	long	 n;
	size_t	 off;
	ssize_t	 w;

	if ((buf = malloc(size)) == NULL)
		return -1;
	memset(buf, 'x', size);
	snprintf(path, sizeof(path), "%s/tmp", dir);
	if ((tmpfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		goto fail;
	snprintf(path, sizeof(path), "%s/new", dir);
	if ((newfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		goto fail;
	for (n = 0; n < max && now_s() < deadline; n++) {
		snprintf(name, sizeof(name), "%ld.P%ldQ%d_%ld.bench",
		    (long)time(NULL), (long)getpid(), id, n);
		snprintf(path, sizeof(path), "%s", name);
		fd = openat(tmpfd, name,
		    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd == -1)
			goto fail;
		for (off = 0; off < size; off += (size_t)w)
			if ((w = write(fd, buf + off, size - off)) == -1)
				goto fail;
		if (fsync(fd) == -1 || close(fd) == -1)
			goto fail;
		snprintf(final, sizeof(final), "%s,S=%zu", name, size);
		if (renameat(tmpfd, name, newfd, final) == -1 ||
		    fsync(newfd) == -1)
			goto fail;
	}
	free(buf);
	return n;
fail:
	fprintf(stderr, "fsyncmark: %s: %s\n", path, strerror(errno));
	free(buf);
	return -1;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: fsyncmark [-p procs] [-n count] [-t seconds] [-l size] dir\n");
	exit(2);
}
