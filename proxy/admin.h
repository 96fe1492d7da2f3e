/* proxy/admin.h - the admin socket (SPEC section 6): HTTP/1.1 over a Unix
 * socket of mode 0600, JSON bodies (or text tables for `Accept:
 * text/plain`, which `sluice ctl` asks for): status, sessions, pause,
 * resume, kill, reload, metrics. */
#ifndef PROXY_ADMIN_H
#define PROXY_ADMIN_H

#include <stddef.h>

struct admin;
struct proxy;

/* Creates the socket at <path> and serves it on px's loop. A stale socket
 * file (nobody answering) is replaced; a live one, or a path that is not a
 * socket, is an error. Returns NULL with <err> filled on failure. */
struct admin *admin_new(struct proxy *px, const char *path, char *err,
                        size_t errlen);

/* Stops serving and removes the socket file. NULL is a no-op. */
void admin_free(struct admin *a);

#endif /* PROXY_ADMIN_H */
