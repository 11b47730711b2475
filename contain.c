/*
 * contain.c - what a process that reads anyone's octets may do.
 *
 * A worker parses bytes from anyone on the internet.  The session code
 * is written to be correct; this file is the second line, for the day
 * it is not: whatever such a bug lets a client run runs in a process
 * that sees only the spool, cannot start a process, open many files or
 * write a file larger than a message, and cannot make a system call
 * that a session does not make.  Three steps, in this order, after the
 * sockets and the spool are open (contain.h):
 *
 * contain_fs():  started as root, the worker's root directory becomes
 * the spool (chroot(2)), as Postfix's chrooted smtpd does.  The master
 * drops root before it forks, so it keeps CAP_SYS_CHROOT, and nothing
 * else, across its change of user; each worker chroots and drops it.
 * Started as an ordinary user there is no chroot to be had, and on
 * Linux 5.19 and later (Landlock ABI 2) Landlock does the same job: the
 * worker may list, create, write, link, rename and remove under the
 * spool, read no file, and touch nothing anywhere else.  Where the kernel lacks Landlock the worker goes on
 * without it (the master says so once, at start).
 *
 * contain_limits(): resource limits, see the function.
 *
 * contain_syscalls(): a seccomp filter (Linux 3.17 and later; no
 * libseccomp, only the kernel's headers) that lets through exactly the
 * calls in the table below and kills the whole process on any other.
 * The master logs that death (event=worker-exit signal=SIGSYS) and forks
 * a replacement, as for any crash; the kernel's log names the call.
 * Elsewhere it compiles to nothing.
 */
#define _DEFAULT_SOURCE		/* syscall(), chroot(): not POSIX */

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#ifdef __linux__
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#ifdef SYS_landlock_create_ruleset
#include <linux/landlock.h>
#endif
#endif

#include "contain.h"
#include "log.h"

#define WORKER_FILES		96	/* descriptors a worker may have open */
#define FSIZE_ROOM		(1024 * 1024)	/* a message file over its body */

static void	 lower_limit(int, const char *, rlim_t);
static int	 enter_chroot(int);
static int	 enter_landlock(int);

#ifdef __linux__
static int	 set_caps(uint32_t);
#endif

/*
 * contain_name - a word for the log: how a process sees the file system.
 */
const char *
contain_name(int how)
{
	switch (how) {
	case CONTAIN_CHROOT:	return "chroot";
	case CONTAIN_LANDLOCK:	return "landlock";
	default:		return "unconfined";
	}
}

/*
 * contain_keep_chroot - in the master, before it gives up root: keep the
 * capabilities over the change of user, so contain_hold_chroot() can
 * keep one of them.
 */
void
contain_keep_chroot(void)
{
#ifdef __linux__
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) == -1)
		log_warn("event=contain-error call=prctl-keepcaps");
#endif
}

/*
 * contain_hold_chroot - after the change of user: of every capability
 * root had, keep CAP_SYS_CHROOT alone, for the workers to chroot with.
 * No set-user-id program can be run to use it: the master sets
 * no_new_privs, which its workers inherit.  -1 where that cannot be
 * done (not Linux): workers then use Landlock, or nothing.  A failure
 * on Linux is fatal.
 */
int
contain_hold_chroot(void)
{
#ifdef __linux__
	/*
	 * Fatal if it fails: the process would be left an ordinary user
	 * with all of root's capabilities.
	 */
	if (set_caps(1U << CAP_SYS_CHROOT) == -1)
		fatal("capset CAP_SYS_CHROOT");
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) == -1 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("prctl");
	return 0;
#else
	return -1;
#endif
}

/*
 * contain_fs - leave the process only the spool, open on the descriptor
 * spool: CONTAIN_CHROOT as root, or holding CAP_SYS_CHROOT;
 * CONTAIN_LANDLOCK otherwise; 0: the whole file system.  Then, but as
 * root, no capability at all.  -1, logged, if it could not be done; 0
 * also when the kernel has no Landlock, which contain_landlock_abi()
 * tells the master once.
 */
int
contain_fs(int spool, int how)
{
	int	 rc = 0;

	if (how == CONTAIN_CHROOT)
		rc = enter_chroot(spool);
	else if (how == CONTAIN_LANDLOCK)
		rc = enter_landlock(spool);
#ifdef __linux__
	/*
	 * However it went, and with "chroot no" too: no capability left,
	 * the master's CAP_SYS_CHROOT included.  As root, the change of
	 * user that follows drops them all.
	 */
	if (geteuid() != 0 && set_caps(0) == -1)
		fatal("capset: dropping CAP_SYS_CHROOT");
#endif
	return rc;
}

/*
 * enter_chroot - the spool becomes "/", and the working directory.
 */
static int
enter_chroot(int spool)
{
	if (fchdir(spool) == -1 || chroot(".") == -1 || chdir("/") == -1) {
		log_warn("event=contain-error call=chroot");
		return -1;
	}
	return 0;
}

/*
 * contain_limits - what a process that reads anyone's octets may take,
 * set after the privileges are dropped, so that a bug in the session
 * code has less to work with (smtpd(8), "Privileges"):
 *
 *	RLIMIT_NPROC 0		no new process: a fork() fails
 *	RLIMIT_NOFILE		WORKER_FILES and the listeners (those
 *				inherited from systemd too): the store
 *				keeps two descriptors for each of 32
 *				maildirs, and a session needs a handful
 *	RLIMIT_CORE 0		no core file full of client data, unless
 *				core (-d: someone at a terminal may want
 *				one)
 *	RLIMIT_FSIZE		max-message-size and FSIZE_ROOM for the
 *				trace headers: a longer write fails with
 *				EFBIG (SIGXFSZ is ignored), which the store
 *				reports as any failed write.  Not when the
 *				log (fd 2) is a file, which may be larger.
 *
 * A limit is only ever lowered.  A failure is logged, not fatal: the
 * limits are a second line, behind the code's own checks.
 */
void
contain_limits(size_t listeners, uint64_t max_message_size, int core)
{
	struct stat	 sb;
	rlim_t		 fsize;

	/*
	 * RLIMIT_NPROC is not POSIX, but Linux and the BSDs have it.  The
	 * sanitizer build goes without: LeakSanitizer's check at exit runs
	 * in a process of its own.
	 */
#if defined(RLIMIT_NPROC) && !defined(__SANITIZE_ADDRESS__)
	lower_limit(RLIMIT_NPROC, "RLIMIT_NPROC", 0);
#endif
	lower_limit(RLIMIT_NOFILE, "RLIMIT_NOFILE", WORKER_FILES + listeners);
	if (!core)
		lower_limit(RLIMIT_CORE, "RLIMIT_CORE", 0);
	if (fstat(2, &sb) == 0 && S_ISREG(sb.st_mode))
		return;
	signal(SIGXFSZ, SIG_IGN);
	fsize = max_message_size > RLIM_INFINITY - FSIZE_ROOM ?
	    RLIM_INFINITY : (rlim_t)max_message_size + FSIZE_ROOM;
	lower_limit(RLIMIT_FSIZE, "RLIMIT_FSIZE", fsize);
}

/*
 * lower_limit - set a resource's soft and hard limits to v, unless they
 * are lower already.
 */
static void
lower_limit(int resource, const char *name, rlim_t v)
{
	struct rlimit	 rl;

	if (getrlimit(resource, &rl) == -1) {
		log_warn("event=contain-error call=getrlimit limit=%s", name);
		return;
	}
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < v)
		v = rl.rlim_max;
	rl.rlim_cur = rl.rlim_max = v;
	if (setrlimit(resource, &rl) == -1)
		log_warn("event=contain-error call=setrlimit limit=%s", name);
}

#ifdef __linux__
/*
 * set_caps - the process's effective and permitted capabilities become
 * mask (of the first 32), and nothing is inherited.  glibc has no
 * wrapper: this is libcap's cap_set_proc() without libcap.
 */
static int
set_caps(uint32_t mask)
{
	struct __user_cap_header_struct	 h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct	 c[_LINUX_CAPABILITY_U32S_3];
	size_t				 i;

	for (i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
		c[i].effective = c[i].permitted = c[i].inheritable = 0;
	c[0].effective = c[0].permitted = mask;
	return (int)syscall(SYS_capset, &h, c);
}
#endif

/*
 * Landlock: the calls and constants of linux/landlock.h, which glibc
 * does not wrap.  Rights a kernel newer than our headers knows are
 * named here by their values, which are ABI and cannot change.
 */
#ifdef SYS_landlock_create_ruleset
#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER	(1ULL << 13)	/* ABI 2 */
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE	(1ULL << 14)	/* ABI 3 */
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV	(1ULL << 15)	/* ABI 5 */
#endif

/*
 * What a worker does under the spool: write files, list directories,
 * make files and maildirs, link and rename between tmp/ and new/
 * (REFER), remove files.  Never: read a file (the mail it stored, or
 * anyone's), execute, truncate, remove a directory, make a device,
 * socket, FIFO or symbolic link.
 */
#define SPOOL_RIGHTS	(LANDLOCK_ACCESS_FS_WRITE_FILE | \
			 LANDLOCK_ACCESS_FS_READ_DIR | \
			 LANDLOCK_ACCESS_FS_REMOVE_FILE | \
			 LANDLOCK_ACCESS_FS_MAKE_REG | \
			 LANDLOCK_ACCESS_FS_MAKE_DIR | \
			 LANDLOCK_ACCESS_FS_REFER)

/*
 * contain_landlock_abi - the kernel's Landlock version; 0 when it has
 * none (older than 5.13, or not enabled at boot).
 */
int
contain_landlock_abi(void)
{
	long	 abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
		    LANDLOCK_CREATE_RULESET_VERSION);

	return abi < 0 ? 0 : (int)abi;
}

/*
 * handled - every file system right the kernel's version knows: each
 * one not granted under the spool is denied everywhere.
 */
static uint64_t
handled(int abi)
{
	uint64_t	 h = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;	/* ABI 1 */

	if (abi >= 2)
		h |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		h |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		h |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return h;
}

/*
 * enter_landlock - the spool tree alone, with SPOOL_RIGHTS.  A kernel of
 * ABI 1 cannot grant REFER, so there a link or rename from tmp/ to new/
 * would fail: the worker goes without rather than fail every message.
 */
static int
enter_landlock(int spool)
{
	struct landlock_ruleset_attr	 ra;
	struct landlock_path_beneath_attr pb;
	int				 abi = contain_landlock_abi(), rs;

	if (abi < 2)
		return 0;
	ra.handled_access_fs = handled(abi);
	if ((rs = (int)syscall(SYS_landlock_create_ruleset, &ra, sizeof(ra),
	    0)) == -1) {
		log_warn("event=contain-error call=landlock_create_ruleset");
		return -1;
	}
	pb.allowed_access = SPOOL_RIGHTS;
	pb.parent_fd = spool;
	if (syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH,
	    &pb, 0) == -1 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
	    syscall(SYS_landlock_restrict_self, rs, 0) == -1) {
		log_warn("event=contain-error call=landlock");
		close(rs);
		return -1;
	}
	close(rs);
	return 0;
}
#else
int
contain_landlock_abi(void)
{
	return 0;
}

static int
enter_landlock(int spool)
{
	(void)spool;
	return 0;
}
#endif

/*
 * The seccomp filter.  The architecture is checked first: a process
 * could otherwise make a call by its number under another ABI (i386 on
 * x86_64, x32) where the number means something else.
 */
#if defined(__linux__) && defined(SECCOMP_RET_KILL_PROCESS)
#if defined(__x86_64__) && !defined(__ILP32__)
#define SECCOMP_ARCH	AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SECCOMP_ARCH	AUDIT_ARCH_AARCH64
#endif
#endif

#ifdef SECCOMP_ARCH
/*
 * The system calls a worker makes once it is contained, and no more.
 * Found by running make test with the filter set to log, not kill, all
 * but the commonest calls (make CFLAGS=-DSECCOMP_LEARN allows and logs
 * what the table lacks; the kernel's log, type=1326, names each call),
 * then checked by running it with the filter on.  A few are there for a
 * path the suite seldom takes, or for another C library or architecture:
 * each says so.  An entry may name what arguments 0, 1 and 2 must be
 * (the low 32 bits: an int, flags), or ANY; a call is let through by
 * the first entry it matches.  FAIL makes the call fail with an errno
 * instead of killing: for a call libc makes on its own where failing is
 * harmless.
 */
#define ANY	(-1L)
#define ALLOW(nr)		{ nr, { ANY, ANY, ANY }, SECCOMP_RET_ALLOW, 0 }
#define ALLOW_IF(nr, a0, a1, a2) { nr, { a0, a1, a2 }, SECCOMP_RET_ALLOW, 0 }
#define FAIL(nr, e)		{ nr, { ANY, ANY, ANY }, \
				  SECCOMP_RET_ERRNO | (e), 0 }
/* Only in the filter of a worker that asks the DNS (SPF). */
#define DNS_IF(nr, a0, a1, a2)	{ nr, { a0, a1, a2 }, SECCOMP_RET_ALLOW, 1 }

/* openat()'s flags: the store's directories, new files, the stamp. */
#define OPEN_DIR	(O_RDONLY | O_DIRECTORY | O_CLOEXEC)
#define OPEN_NEW	(O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC)
#define OPEN_STAMP	(O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC)

static const struct allowed {
	long		 nr;
	long		 arg[3];
	uint32_t	 ret;
	int		 dns;		/* DNS_IF */
} allowed[] = {
	/* the connection, the spool, the log, the master's pipe */
	ALLOW(SYS_read),
	ALLOW(SYS_write),
	ALLOW(SYS_recvfrom),		/* recv() */
	ALLOW(SYS_sendto),		/* send(), syslog() */
	ALLOW(SYS_close),
	ALLOW_IF(SYS_shutdown, ANY, SHUT_WR, ANY),	/* linger_close() */
	/*
	 * fdopendir() in store_tidy(); nothing that could make a shared
	 * listener blocking, or have a signal sent (F_SETOWN, F_SETSIG).
	 */
	ALLOW_IF(SYS_fcntl, ANY, F_GETFL, ANY),
	ALLOW_IF(SYS_fcntl, ANY, F_SETFD, ANY),
	/* waiting, each wait within a deadline */
	ALLOW(SYS_epoll_pwait),		/* wait_epoll() */
	ALLOW(SYS_pselect6),		/* wait_select(), if no epoll */
	ALLOW(SYS_accept4),
#ifdef SYS_poll
	ALLOW(SYS_poll),		/* wire.c, proxy.c */
#endif
	ALLOW(SYS_ppoll),		/* poll() where SYS_poll is not */
	/* the clock, where the vDSO cannot serve it (some hypervisors) */
	ALLOW(SYS_clock_gettime),
#ifdef SYS_time
	ALLOW(SYS_time),
#endif
	/* the store, relative to the spool's descriptor (store.c) */
	/* Never open a message to read it: only directories are read. */
	ALLOW_IF(SYS_openat, ANY, ANY, OPEN_DIR),
	ALLOW_IF(SYS_openat, ANY, ANY, OPEN_NEW),
	ALLOW_IF(SYS_openat, ANY, ANY, OPEN_STAMP),
	ALLOW(SYS_newfstatat),		/* fstatat(), fstat() */
#ifdef SYS_fstat
	ALLOW(SYS_fstat),		/* fstat(), in older glibc */
#endif
	ALLOW(SYS_fsync),
	ALLOW(SYS_linkat),
#ifdef SYS_renameat
	ALLOW(SYS_renameat),
#endif
	ALLOW(SYS_renameat2),		/* where SYS_renameat is not */
	ALLOW(SYS_unlinkat),
	ALLOW(SYS_mkdirat),
	ALLOW(SYS_getdents64),		/* store_tidy() */
	ALLOW(SYS_utimensat),		/* futimens() */
	/* malloc(): memory to read and write, never to execute */
	ALLOW(SYS_brk),
	ALLOW_IF(SYS_mmap, ANY, ANY, PROT_READ | PROT_WRITE),
	ALLOW(SYS_munmap),
	ALLOW(SYS_mremap),
	/* signals (SIGTERM, SIGHUP), the process id, the end */
	ALLOW(SYS_rt_sigprocmask),
	ALLOW(SYS_rt_sigreturn),
	ALLOW(SYS_getpid),
	ALLOW(SYS_exit_group),
	/*
	 * SPF's questions to the resolver (dns.c): a UDP socket, a TCP one
	 * for a truncated reply, the query id from getentropy().  The
	 * address a socket connects to is behind a pointer, out of a
	 * filter's reach: a worker that asks the DNS could connect anywhere
	 * (smtpd(8), "Privileges").  With spf off, none of these.
	 */
	DNS_IF(SYS_socket, AF_INET, SOCK_DGRAM, 0),
	DNS_IF(SYS_socket, AF_INET6, SOCK_DGRAM, 0),
	DNS_IF(SYS_socket, AF_INET, SOCK_STREAM, 0),
	DNS_IF(SYS_socket, AF_INET6, SOCK_STREAM, 0),
	DNS_IF(SYS_connect, ANY, ANY, ANY),
	DNS_IF(SYS_fcntl, ANY, F_SETFL, O_NONBLOCK),
	DNS_IF(SYS_getsockopt, ANY, SOL_SOCKET, SO_ERROR),
	DNS_IF(SYS_getrandom, ANY, ANY, 0),
	/*
	 * syslog() makes a new socket when syslogd went away: it fails,
	 * and the line is lost, until the worker is replaced (after
	 * max-sessions).  No socket at all is better than one that could
	 * talk to whatever the worker can see.
	 */
	FAIL(SYS_socket, EACCES),
#ifdef __SANITIZE_ADDRESS__
	/*
	 * The sanitizer build of make test: ASan's and UBSan's run-time,
	 * and LeakSanitizer's check at exit, which stops the process from a
	 * thread of its own that reads /proc and ptraces it.
	 */
	ALLOW(SYS_mprotect),
	ALLOW(SYS_mmap),
	ALLOW(SYS_openat),
	ALLOW(SYS_fcntl),
	ALLOW(SYS_rt_sigaction),
	ALLOW(SYS_sigaltstack),
	ALLOW(SYS_lseek),
	ALLOW(SYS_prctl),
	ALLOW(SYS_gettid),
	ALLOW(SYS_getppid),
	ALLOW(SYS_futex),
	ALLOW(SYS_sched_yield),
	ALLOW(SYS_dup),
#ifdef SYS_open
	ALLOW(SYS_open),
#endif
#ifdef SYS_getdents
	ALLOW(SYS_getdents),
#endif
	ALLOW(SYS_clone),
	ALLOW(SYS_wait4),
	ALLOW(SYS_ptrace),
	ALLOW(SYS_exit),		/* its thread */
#endif
};

#define NALLOWED	(sizeof(allowed) / sizeof(allowed[0]))
/* Six instructions at most to start, two to nine an entry, one to end. */
#define FILTER_MAX	(7 + 9 * NALLOWED)
#define NR		offsetof(struct seccomp_data, nr)

/* The low 32 bits of argument k: the whole of an int argument. */
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define ARG_LOW(k)	(offsetof(struct seccomp_data, args) + 8 * (k) + 4)
#else
#define ARG_LOW(k)	(offsetof(struct seccomp_data, args) + 8 * (k))
#endif

#ifdef SECCOMP_LEARN	/* make CFLAGS=-DSECCOMP_LEARN: allow and log */
#define DENY	SECCOMP_RET_LOG
#else
#define DENY	SECCOMP_RET_KILL_PROCESS
#endif

#define STMT(code, k)		(struct sock_filter)BPF_STMT(code, k)
#define JUMP(code, k, t, f)	(struct sock_filter)BPF_JUMP(code, k, t, f)

/*
 * build_filter - the program: the architecture, then each entry in turn
 * (the call, then its arguments, where the entry names them), else DENY.
 */
static size_t
build_filter(struct sock_filter *f, int dns)
{
	const struct allowed	*a;
	size_t			 n = 0, i;
	unsigned		 checks, left, k;

	f[n++] = STMT(BPF_LD | BPF_W | BPF_ABS,
	    offsetof(struct seccomp_data, arch));
	f[n++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, SECCOMP_ARCH, 1, 0);
	f[n++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	f[n++] = STMT(BPF_LD | BPF_W | BPF_ABS, NR);
#ifdef __X32_SYSCALL_BIT
	/* x32 calls are x86_64 ones with this bit: never ours. */
	f[n++] = JUMP(BPF_JMP | BPF_JGE | BPF_K, __X32_SYSCALL_BIT, 0, 1);
	f[n++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
#endif
	for (i = 0; i < NALLOWED; i++) {
		a = &allowed[i];
		if (a->dns && !dns)
			continue;
		for (checks = k = 0; k < 3; k++)
			checks += a->arg[k] != ANY;
		/*
		 * Not this call: on to the next entry, past the checks,
		 * the return and the reload of the number.
		 */
		f[n++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)a->nr, 0,
		    checks ? 2 * checks + 2 : 1);
		/* A check that fails jumps to the reload: the next entry. */
		for (left = checks, k = 0; k < 3; k++) {
			if (a->arg[k] == ANY)
				continue;
			left--;
			f[n++] = STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LOW(k));
			f[n++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K,
			    (uint32_t)a->arg[k], 0, 2 * left + 1);
		}
		f[n++] = STMT(BPF_RET | BPF_K, a->ret);
		if (checks)
			f[n++] = STMT(BPF_LD | BPF_W | BPF_ABS, NR);
	}
	f[n++] = STMT(BPF_RET | BPF_K, DENY);
	return n;
}

/*
 * contain_syscalls - from now on, a call not in the table kills the
 * process; the DNS's calls are in it when dns is set.  no_new_privs
 * first: the kernel requires it of a process without CAP_SYS_ADMIN, and
 * it is right in any case.
 */
int
contain_syscalls(int dns)
{
	struct sock_filter	 f[FILTER_MAX];
	struct sock_fprog	 prog;

	prog.len = (unsigned short)build_filter(f, dns);
	prog.filter = f;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) == -1) {
		log_warn("event=contain-error call=seccomp");
		return -1;
	}
	return 0;
}

/*
 * contain_syscalls_count - how many calls the filter lets through.
 */
size_t
contain_syscalls_count(void)
{
	return NALLOWED;
}
#else
int
contain_syscalls(int dns)
{
	(void)dns;
	return 0;
}

size_t
contain_syscalls_count(void)
{
	return 0;
}
#endif
