/*
 * test/linkshim.c - an LD_PRELOAD shim that plays NFS's false failure
 * (link(2), BUGS): linkat() or renameat() does its work, then reports
 * that it failed, as a client does when the server's reply was lost and
 * the retransmitted call failed.  For test/spool_check.bats and
 * test/log.bats, which run the real smtpd with it.
 *
 *	LINKSHIM_LINK=ERR	every linkat() that succeeds returns -1 with
 *				errno ERR (EEXIST, ENOENT, EIO, or EILSEQ,
 *				whose text is the longest, for
 *				test/log.bats)
 *	LINKSHIM_RENAME=ERR	the same for renameat()
 *
 * The real call is made with syscall(2), not through the C library:
 * no dlsym(), so nothing more than the call itself happens in a worker
 * under its seccomp filter.
 */
#define _GNU_SOURCE		/* syscall() */

#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int	 false_failure(const char *, int);

/*
 * false_failure - the errno that the variable asks a successful call to
 * report, or 0: report the truth.
 */
static int
false_failure(const char *var, int rc)
{
	static const struct {
		const char	*name;
		int		 e;
	} names[] = { { "EEXIST", EEXIST }, { "ENOENT", ENOENT },
	    { "EIO", EIO }, { "EILSEQ", EILSEQ } };
	const char	*v = getenv(var);
	size_t		 i;

	if (rc != 0 || v == NULL)
		return 0;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(v, names[i].name) == 0)
			return names[i].e;
	return 0;
}

int
linkat(int olddir, const char *old, int newdir, const char *new, int flags)
{
	int	 rc, e;

	rc = (int)syscall(SYS_linkat, olddir, old, newdir, new, flags);
	if ((e = false_failure("LINKSHIM_LINK", rc)) == 0)
		return rc;
	errno = e;
	return -1;
}

int
renameat(int olddir, const char *old, int newdir, const char *new)
{
	int	 rc, e;

#ifdef SYS_renameat
	rc = (int)syscall(SYS_renameat, olddir, old, newdir, new);
#else
	rc = (int)syscall(SYS_renameat2, olddir, old, newdir, new, 0);
#endif
	if ((e = false_failure("LINKSHIM_RENAME", rc)) == 0)
		return rc;
	errno = e;
	return -1;
}
