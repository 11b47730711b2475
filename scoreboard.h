/*
 * scoreboard.h - what each worker of the pool is doing, in memory that
 * the master and its workers share.
 *
 * The master makes the scoreboard before it forks, gives each worker a
 * slot, and frees the slot when it reaps the worker.  A worker marks its
 * slot busy, with the client's address, for the length of a session.
 * From the slots come the two defences of a fixed pool against clients
 * that hold workers: the count of sessions one address holds (IPv4 by
 * address, IPv6 by /64), and the stress flag, up while nearly every
 * worker is in a session.  It also says which spool is at its path, so
 * that workers holding one mounted over refuse mail.  No locks: each slot is written by one process
 * and read by the others with C11 atomics.
 */
#ifndef SCOREBOARD_H
#define SCOREBOARD_H

#include <sys/types.h>

#include <stdatomic.h>

struct scoreboard;

struct scoreboard *scoreboard_new(unsigned workers);
void		 scoreboard_free(struct scoreboard *);
void		 scoreboard_resize(struct scoreboard *, unsigned workers);
int		 scoreboard_reserve(struct scoreboard *);
void		 scoreboard_assign(struct scoreboard *, int slot, pid_t);
void		 scoreboard_release(struct scoreboard *, int slot);
int		 scoreboard_enter(struct scoreboard *, int slot,
		    const char *peer, unsigned max);
void		 scoreboard_leave(struct scoreboard *, int slot);
const atomic_int *scoreboard_stress(const struct scoreboard *);
const atomic_uint *scoreboard_spool(const struct scoreboard *);
void		 scoreboard_set_spool(struct scoreboard *, unsigned serial);
int		 scoreboard_fd(const struct scoreboard *);
int		 scoreboard_changed(struct scoreboard *, unsigned *busy);
void		 scoreboard_log(const struct scoreboard *);

#endif
