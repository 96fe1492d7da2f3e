/* proxy/listener.h - one bound listening socket per policy listener.
 * Accepts clients and hands them to conn_new(); backs off on accept errors
 * (EMFILE) instead of spinning. Called by proxy/proxy.c. */
#ifndef PROXY_LISTENER_H
#define PROXY_LISTENER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "policy/policy-t.h"

struct proxy;
struct listener;

/* Binds the listener <conf> (borrowed only during the call). Returns a
 * new listener; free with listener_free(). NULL with <err> filled. */
struct listener *listener_new(struct proxy *px,
                              const struct listener_conf *conf, char *err,
                              size_t errlen);
void listener_free(struct listener *l);

/* The listener's name and the address it is bound to. */
const char *listener_name(const struct listener *l);
const char *listener_listen_text(const struct listener *l);
const struct sockaddr_storage *listener_bound(const struct listener *l);
/* "127.0.0.1:3128" or "[::1]:3128". */
const char *listener_bound_text(const struct listener *l);

/* Stops or resumes accepting (max_connections, shutdown). */
void listener_pause(struct listener *l);
void listener_resume(struct listener *l);

#endif /* PROXY_LISTENER_H */
