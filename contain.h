/*
 * contain.h - what a process that reads anyone's octets may do, set
 * before the first of them arrives (smtpd(8), "Privileges").
 *
 * A worker, and the process of smtpd -i, call them in this order, after
 * the spool and every socket are open:
 *
 *	contain_fs()		see only the spool: chroot(2) when started
 *				as root, Landlock otherwise (Linux)
 *	contain_limits()	no fork, few descriptors, no core dump, no
 *				file longer than a message
 *	contain_syscalls()	a seccomp filter of the system calls a
 *				session makes, and no other (Linux); with
 *				dns, those of SPF's DNS questions too
 *
 * A master started as root keeps one capability, CAP_SYS_CHROOT, across
 * its change of user (contain_keep_chroot() before, contain_hold_chroot()
 * after), so that each worker it forks can chroot; a worker gives it up
 * in contain_fs().  Nothing here reads the configuration: the caller
 * passes what it needs.
 */
#ifndef CONTAIN_H
#define CONTAIN_H

#include <stddef.h>
#include <stdint.h>

#define CONTAIN_CHROOT		1	/* chroot(2) into the spool */
#define CONTAIN_LANDLOCK	2	/* Landlock: the spool tree only */

void	contain_keep_chroot(void);
int	contain_hold_chroot(void);
int	contain_fs(int spool, int how);
int	contain_landlock_abi(void);
const char *contain_name(int how);
void	contain_limits(size_t listeners, uint64_t max_message_size,
	    int core);
int	contain_syscalls(int dns);
size_t	contain_syscalls_count(void);

#endif
