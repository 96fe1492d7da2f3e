/* proxy/auth.h - `auth.mode: basic`: the tokens file ("SESSION:TOKEN"
 * lines) and the check of a Proxy-Authorization header against it. The
 * token comparison takes the same time whatever the token's content. */
#ifndef PROXY_AUTH_H
#define PROXY_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "proxy/http_head.h"

/* Tokens files larger than this are refused (one line per session). */
#define AUTH_FILE_MAX_BYTES (4 * 1024 * 1024)
#define AUTH_ID_MAX 128

struct auth_tokens;

/* Reads <path>. Returns a new table (free with auth_tokens_free()), or
 * NULL with <err> naming the file and line. Blank lines and '#' comments
 * are skipped; a line without ':' or with an empty id or token is an
 * error. */
struct auth_tokens *auth_tokens_load(const char *path, char *err,
                                     size_t errlen);
void auth_tokens_free(struct auth_tokens *t);

/* Checks the value of a Proxy-Authorization field ("Basic base64"). On a
 * match copies the session id into <session> and returns true. */
bool auth_check(const struct auth_tokens *t, struct slice value,
                char session[AUTH_ID_MAX]);

/* True if the tokens file names session <id>. */
bool auth_has_session(const struct auth_tokens *t, const char *id);

#endif /* PROXY_AUTH_H */
