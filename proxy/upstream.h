/* proxy/upstream.h - outgoing connections, only ever to an address the
 * policy has checked. */
#ifndef PROXY_UPSTREAM_H
#define PROXY_UPSTREAM_H

#include <stdint.h>
#include <sys/socket.h>

#include "policy/addr.h"

struct bufferevent;
struct event_base;

/* Fills <ss> for <a>:<port>; returns its length. */
socklen_t upstream_sockaddr(const struct addr *a, uint16_t port,
                            struct sockaddr_storage *ss);

/* Starts a non-blocking connect to <a>:<port>. Returns a new bufferevent
 * (close-on-free, deferred callbacks) whose event callback will see
 * BEV_EVENT_CONNECTED or an error, or NULL if the connect failed at once
 * (errno set). */
struct bufferevent *upstream_connect(struct event_base *base,
                                     const struct addr *a, uint16_t port);

#endif /* PROXY_UPSTREAM_H */
