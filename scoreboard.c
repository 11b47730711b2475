/*
 * scoreboard.c - the pool's shared table: one slot per worker.
 *
 * The table is an anonymous shared mapping made by the master before the
 * first fork, so every worker inherits it; nothing else can reach it.
 * A slot is written by its own worker (busy or idle, the client, since
 * when) or by the master (reserved, assigned, freed), and read by all.
 * Counting is a scan of the slots in use: at most a few hundred loads,
 * once per connection, which is nothing next to the fsyncs a message
 * costs.  The peer text in a slot is for the SIGUSR1 listing only; a
 * reader racing a writer may see it half written, never the counts.
 *
 * Stress has hysteresis, so that a pool hovering at its limit does not
 * flip the flag, and the log, on every connection: it begins when the
 * busy count reaches seven eighths of the pool (rounded up: all of a
 * pool of 4, 14 of 16, 56 of 64) and ends when it falls to half.  The
 * worker whose session crosses a threshold flips the flag and writes
 * one octet to a pipe the master watches, so that the master can log
 * it; the sessions read the flag directly.
 *
 * The board also carries the number of the spool that is at its
 * configured path, which the master sets and the workers' stores read
 * before they store (store_watch()): it is 0 while the spool the master
 * holds has been mounted over or moved, and the workers then refuse
 * mail rather than store it where no reader looks.
 */
#define _DEFAULT_SOURCE		/* MAP_ANONYMOUS: not POSIX, but everywhere */

#include <sys/types.h>
#include <sys/mman.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "scoreboard.h"

#if ATOMIC_INT_LOCK_FREE != 2 || ATOMIC_LLONG_LOCK_FREE != 2
#error "the scoreboard needs lock-free atomics to share them between processes"
#endif

/* Room for a full pool and one that is still finishing after a reload. */
#define NSLOTS		(2 * CONF_WORKERS_MAX)

/*
 * A worker that has just accepted a connection holds its slot as
 * SLOT_CLAIM while it counts its client's sessions: the claim counts
 * for the client's address, so two connections racing in cannot both
 * slip under the limit, but not toward stress, since a refusal takes
 * microseconds and must not flip the flag.
 */
enum slot_state { SLOT_FREE, SLOT_IDLE, SLOT_CLAIM, SLOT_BUSY };

struct slot {
	atomic_int		 state;		/* enum slot_state */
	atomic_int		 pid;
	atomic_ullong		 key;		/* addr_key() of the client */
	atomic_llong		 since;		/* wall clock, for the listing */
	char			 peer[INET6_ADDRSTRLEN];
};

struct scoreboard {
	atomic_int		 stress;
	atomic_uint		 spool;		/* scoreboard_spool() */
	atomic_uint		 high, low;	/* stress thresholds */
	atomic_uint		 used;		/* slots below this may be in use */
	int			 pipe[2];	/* workers -> master: look */
	struct slot		 slot[NSLOTS];
};

static uint64_t	 addr_key(const char *);
static unsigned	 used_slots(const struct scoreboard *);
static unsigned	 count(struct scoreboard *, uint64_t);
static void	 restress(struct scoreboard *);

/*
 * scoreboard_new - the table, for a pool of workers; NULL (logged) if
 * it cannot be had, and the pool then runs without the defences.
 */
struct scoreboard *
scoreboard_new(unsigned workers)
{
	struct scoreboard	*sb;
	int			 i;

	sb = mmap(NULL, sizeof(*sb), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sb == MAP_FAILED) {
		log_warn("event=scoreboard-error call=mmap");
		return NULL;
	}
	/* A fresh anonymous mapping is zero: every slot SLOT_FREE. */
	if (pipe(sb->pipe) == -1) {
		log_warn("event=scoreboard-error call=pipe");
		munmap(sb, sizeof(*sb));
		return NULL;
	}
	for (i = 0; i < 2; i++) {
		fcntl(sb->pipe[i], F_SETFD, FD_CLOEXEC);
		fcntl(sb->pipe[i], F_SETFL, O_NONBLOCK);
	}
	scoreboard_resize(sb, workers);
	return sb;
}

void
scoreboard_free(struct scoreboard *sb)
{
	if (sb == NULL)
		return;
	close(sb->pipe[0]);
	close(sb->pipe[1]);
	munmap(sb, sizeof(*sb));
}

/*
 * scoreboard_resize - the pool size changed (start, reload): new
 * stress thresholds.
 */
void
scoreboard_resize(struct scoreboard *sb, unsigned workers)
{
	if (sb == NULL)
		return;
	atomic_store(&sb->high, (7 * workers + 7) / 8);
	atomic_store(&sb->low, workers / 2);
	restress(sb);
}

/*
 * scoreboard_reserve - the master takes a free slot for a worker it is
 * about to fork; -1 when none is free (that worker then counts nothing).
 */
int
scoreboard_reserve(struct scoreboard *sb)
{
	int	 i, free_state;

	if (sb == NULL)
		return -1;
	for (i = 0; i < NSLOTS; i++) {
		free_state = SLOT_FREE;
		if (atomic_compare_exchange_strong(&sb->slot[i].state,
		    &free_state, SLOT_IDLE)) {
			atomic_store(&sb->slot[i].pid, 0);
			atomic_store(&sb->slot[i].key, 0);
			if ((unsigned)i >= atomic_load(&sb->used))
				atomic_store(&sb->used, i + 1);
			return i;
		}
	}
	return -1;
}

void
scoreboard_assign(struct scoreboard *sb, int slot, pid_t pid)
{
	if (sb != NULL && slot >= 0)
		atomic_store(&sb->slot[slot].pid, pid);
}

/*
 * scoreboard_release - the master reaped the slot's worker.  A worker
 * killed in a session leaves its slot busy: freeing it may end stress.
 */
void
scoreboard_release(struct scoreboard *sb, int slot)
{
	if (sb == NULL || slot < 0)
		return;
	atomic_store(&sb->slot[slot].state, SLOT_FREE);
	restress(sb);
}

/*
 * scoreboard_enter - the worker in slot would start a session with peer
 * (NULL: unknown).  0: it may, and its slot is busy until
 * scoreboard_leave(); -1: that address (or /64) holds max sessions
 * already (0: no limit), and the slot stays idle.
 */
int
scoreboard_enter(struct scoreboard *sb, int slot, const char *peer,
    unsigned max)
{
	struct slot	*s;
	uint64_t	 key = addr_key(peer);

	if (sb == NULL || slot < 0)
		return 0;
	s = &sb->slot[slot];
	atomic_store(&s->key, key);
	atomic_store(&s->since, (long long)time(NULL));
	snprintf(s->peer, sizeof(s->peer), "%s", peer ? peer : "unknown");
	atomic_store(&s->state, SLOT_CLAIM);
	if (max != 0 && key != 0 && count(sb, key) > max) {
		atomic_store(&s->state, SLOT_IDLE);
		return -1;
	}
	atomic_store(&s->state, SLOT_BUSY);
	restress(sb);
	return 0;
}

void
scoreboard_leave(struct scoreboard *sb, int slot)
{
	if (sb == NULL || slot < 0)
		return;
	atomic_store(&sb->slot[slot].state, SLOT_IDLE);
	restress(sb);
}

/*
 * scoreboard_stress - the flag sessions watch; NULL for no scoreboard.
 */
const atomic_int *
scoreboard_stress(const struct scoreboard *sb)
{
	return sb == NULL ? NULL : &sb->stress;
}

/*
 * scoreboard_spool - the number of the spool at its configured path, for
 * store_watch(); NULL for no scoreboard (then nothing is watched).
 */
const atomic_uint *
scoreboard_spool(const struct scoreboard *sb)
{
	return sb == NULL ? NULL : &sb->spool;
}

/*
 * scoreboard_set_spool - the master's word on the spool: the number of
 * the one at its path, 0 for none that it holds.
 */
void
scoreboard_set_spool(struct scoreboard *sb, unsigned serial)
{
	if (sb != NULL)
		atomic_store(&sb->spool, serial);
}

/*
 * scoreboard_fd - readable when the stress flag may have changed.
 */
int
scoreboard_fd(const struct scoreboard *sb)
{
	return sb == NULL ? -1 : sb->pipe[0];
}

/*
 * scoreboard_changed - for the master, once scoreboard_fd() is
 * readable: empty the pipe, return the stress flag and the busy count.
 */
int
scoreboard_changed(struct scoreboard *sb, unsigned *busy)
{
	char	 buf[64];

	while (read(sb->pipe[0], buf, sizeof(buf)) > 0)
		;
	*busy = count(sb, 0);
	return atomic_load(&sb->stress);
}

/*
 * scoreboard_log - one line per worker, then a summary: for an
 * administrator asking who holds the workers (SIGUSR1).
 */
void
scoreboard_log(const struct scoreboard *sb)
{
	const struct slot	*s;
	time_t			 now = time(NULL);
	unsigned		 i, used, busy = 0, idle = 0;
	int			 st;
	char			 peer[INET6_ADDRSTRLEN + 1], lp[LOG_PEER_MAX];

	if (sb == NULL)
		return;
	used = used_slots(sb);
	for (i = 0; i < used; i++) {
		s = &sb->slot[i];
		if ((st = atomic_load(&s->state)) == SLOT_FREE)
			continue;
		if (st != SLOT_BUSY) {
			idle++;
			log_info("event=scoreboard pid=%d state=idle",
			    atomic_load(&s->pid));
			continue;
		}
		busy++;
		/* A slot is another process's to write: end it ourselves. */
		snprintf(peer, sizeof(peer), "%.*s", (int)sizeof(s->peer),
		    s->peer);
		log_info("event=scoreboard pid=%d state=busy peer=%s "
		    "seconds=%lld", atomic_load(&s->pid),
		    log_peer(peer, lp, sizeof(lp)),
		    (long long)now - atomic_load(&s->since));
	}
	log_info("event=scoreboard busy=%u idle=%u stress=%s", busy, idle,
	    atomic_load(&sb->stress) ? "yes" : "no");
}

/*
 * addr_key - the group a client address counts in, as one number:
 * an IPv4 address as itself, an IPv6 address by its /64 (a site gets a
 * /64 at least, so one host can have any address in it).  0: unknown.
 * IPv4 keys have their top 32 bits set, a range of IPv6 (ffff:ffff::/32)
 * no client comes from.
 */
static uint64_t
addr_key(const char *peer)
{
	struct in_addr	 a4;
	struct in6_addr	 a6;
	uint64_t	 k = 0;
	int		 i;

	if (peer == NULL)
		return 0;
	if (inet_pton(AF_INET, peer, &a4) == 1)
		return 0xffffffff00000000ULL | ntohl(a4.s_addr);
	if (inet_pton(AF_INET6, peer, &a6) != 1)
		return 0;
	/* An IPv4 client in IPv6 clothes (a PROXY header may say so). */
	if (IN6_IS_ADDR_V4MAPPED(&a6))
		return 0xffffffff00000000ULL | (uint64_t)a6.s6_addr[12] << 24 |
		    (uint64_t)a6.s6_addr[13] << 16 |
		    (uint64_t)a6.s6_addr[14] << 8 | a6.s6_addr[15];
	for (i = 0; i < 8; i++)
		k = k << 8 | a6.s6_addr[i];
	return k != 0 ? k : 1;		/* ::1 and friends are one group */
}

/*
 * used_slots - how many slots to look at.  Every worker can write the
 * board, so the master never trusts it for a length: a worker that is
 * not what it was built to be must not make the master read past it.
 */
static unsigned
used_slots(const struct scoreboard *sb)
{
	unsigned	 used = atomic_load(&sb->used);

	return used < NSLOTS ? used : NSLOTS;
}

/*
 * count - with key 0, the slots in a session; else the slots in a
 * session or claiming one whose client is in the group key.
 */
static unsigned
count(struct scoreboard *sb, uint64_t key)
{
	unsigned	 i, n = 0, used = used_slots(sb);
	int		 st;

	for (i = 0; i < used; i++) {
		st = atomic_load(&sb->slot[i].state);
		if (key == 0 ? st == SLOT_BUSY : (st == SLOT_BUSY ||
		    st == SLOT_CLAIM) && atomic_load(&sb->slot[i].key) == key)
			n++;
	}
	return n;
}

/*
 * restress - raise or lower the stress flag after a slot changed; the
 * process that flips it tells the master.
 */
static void
restress(struct scoreboard *sb)
{
	unsigned	 busy = count(sb, 0);
	int		 flipped = 0;

	if (busy >= atomic_load(&sb->high) && busy > 0)
		flipped = atomic_exchange(&sb->stress, 1) == 0;
	else if (busy <= atomic_load(&sb->low))
		flipped = atomic_exchange(&sb->stress, 0) == 1;
	if (flipped && write(sb->pipe[1], "", 1) == -1 && errno != EAGAIN)
		log_warn("event=scoreboard-error call=pipe");
}
