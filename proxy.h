/*
 * proxy.h - the PROXY protocol header (HAProxy, versions 1 and 2) that a
 * TCP load balancer sends before the client's first byte.
 */
#ifndef PROXY_H
#define PROXY_H

#include <stddef.h>

#define PROXY_ADDRESS	0	/* the header named the client: see peer */
#define PROXY_LOCAL	1	/* LOCAL or UNKNOWN: use the socket's peer */

int	proxy_read(int fd, int timeout, char *peer, size_t peersz,
	    const char **why);

#endif
