/*
 * bench.h - what the bench's helper programs share: the clock and their
 * numeric arguments.  Included by each program, once.
 */
#ifndef BENCH_H
#define BENCH_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* now_s - the monotonic clock in seconds. */
static double
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* number - prog's decimal argument within [min, max], or exit 2. */
static long
number(const char *prog, const char *s, long min, long max)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "%s: %s: not a number from %ld to %ld\n",
		    prog, s, min, max);
		exit(2);
	}
	return v;
}

#endif
