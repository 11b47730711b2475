/*
 * wire.h - the client's connection: buffered reads and writes, each
 * within a deadline.
 *
 * Replies are buffered and written only when the input runs dry or the
 * buffer is full, which is what makes PIPELINING (RFC 2920) correct.
 * Every wait has a deadline counted from when the wait began, never from
 * the last octet, so a client that drips does not reset the clock:
 *
 *	WAIT_GREET	greet-pause
 *	WAIT_COMMAND	a whole command line within timeout
 *	WAIT_DATA	DATA or a BDAT chunk within data-timeout plus one
 *			second per min-data-rate octets received
 *	WAIT_WRITE	a reply within timeout
 *
 * and none outlasts the session's deadline, session-timeout, which also
 * bounds wire_delay(), a wait of the session's own (failure injection).  While the
 * stress flag is up, stress-timeout replaces timeout and data-timeout
 * and a session may last STRESS_SESSION of them; waits wake once a
 * second to look at the flag, so that a session already waiting is cut
 * as soon as the pool fills up.  The wire knows nothing about SMTP.
 */
#ifndef WIRE_H
#define WIRE_H

#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define WIRE_IBUFSZ	65536
#define WIRE_OBUFSZ	8192

struct conf;

enum wait { WAIT_GREET, WAIT_COMMAND, WAIT_DATA, WAIT_WRITE };

enum io {
	IO_OK,
	IO_LONG,		/* line over the limit, read and dropped */
	IO_EOF,			/* client closed, or a read/write error */
	IO_TIMEOUT,
	IO_STOP			/* the process is asked to stop */
};

/* The session reads broken; only wire.c writes any field. */
struct wire {
	int			 in, out;
	const struct conf	*conf;
	volatile sig_atomic_t	*stop;		/* NULL: never */
	const atomic_int	*stress;	/* NULL: never */
	const char		*id;		/* for log lines */
	int			 broken;	/* a write failed: say no more */
	int			 in_pipe;	/* in is no socket: poll, read */
	int			 out_pipe;	/* out is no socket: poll, write */
	long long		 start_ms;	/* when the session began */
	long long		 end_ms;	/* its deadline */
	long long		 wait_ms;	/* when this command's wait began */
	long long		 data_ms;	/* when this DATA or chunk began */
	uint64_t		 data_octets;	/* read since then */
	size_t			 ipos, ilen, olen;
	/* Last: wire_init() clears every field before them, not them. */
	char			 ibuf[WIRE_IBUFSZ];
	char			 obuf[WIRE_OBUFSZ];
};

void		 wire_init(struct wire *, int in, int out, const struct conf *,
		    volatile sig_atomic_t *stop, const atomic_int *stress,
		    const char *id);
int		 wire_stressed(const struct wire *);
int		 wire_over(const struct wire *);
int		 wire_pause(struct wire *);
enum io		 wire_delay(struct wire *, unsigned);
enum io		 wire_line(struct wire *, char *, size_t, size_t *);
void		 wire_data_begin(struct wire *);
enum io		 wire_data(struct wire *, const char **, size_t *);
void		 wire_consume(struct wire *, size_t);
void		 wire_put(struct wire *, const char *, size_t);
int		 wire_flush(struct wire *);

#endif
