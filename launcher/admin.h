/* launcher/admin.h - the one admin call the launcher makes: ask a running
 * sluice to reload (POST /reload on its admin socket, SPEC section 6), so
 * that a session's new token is accepted by a shared gateway.
 * Blocking, with a timeout; called by launcher/run.c only. */
#ifndef LAUNCHER_ADMIN_H
#define LAUNCHER_ADMIN_H

#include <stddef.h>

/* Seconds to wait for the proxy's answer. */
#define ADMIN_TIMEOUT_S 5

/* Sends POST /reload to the admin socket at <path>. Returns 0 on a 2xx
 * answer, or -1 with a one-line reason in <err>. */
int admin_reload(const char *path, char *err, size_t errlen);

#endif /* LAUNCHER_ADMIN_H */
