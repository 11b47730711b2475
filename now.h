/*
 * now.h - the monotonic clock in milliseconds, which every deadline, the
 * linger and the respawn throttle are kept on: whole seconds of time()
 * made a 1-second timeout anything between 0 and 1 second, and the wall
 * clock can be set under a running daemon.
 */
#ifndef NOW_H
#define NOW_H

#include <time.h>

static inline long long
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

#endif
