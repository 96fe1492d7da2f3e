/* launcher/session.h - one agent session: its id and token, its state
 * folder on the host, the agent's environment and the tokens file.
 * Tokens come from getrandom(2), the kernel CSPRNG (not OpenSSL's
 * RAND_bytes: linking libcrypto costs the proxy 3 MiB of RSS). The environment
 * is built only from what sluice sets and what --env names: never from the
 * host's environment. Called by launcher/main.c and launcher/run.c. */
#ifndef LAUNCHER_SESSION_H
#define LAUNCHER_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "launcher/argv.h"
#include "launcher/launch-t.h"

/* Random session ids: "s-" and 12 hex digits (48 bits: unique among the
 * sessions of one machine, short enough to type). */
#define SESSION_ID_RANDOM_BYTES 6

/* Fills <out> with a new random session id. Returns 0, or -1 if the
 * random generator failed. */
int session_id_new(char out[LAUNCH_SESSION_MAX]);

/* True if <id> is 1 to 64 characters of [A-Za-z0-9_.-] (the policy's name
 * rule, so it can be a listener's session and an engine object name). */
bool session_id_is_valid(const char *id);

/* Fills <out> with LAUNCH_TOKEN_BYTES random bytes as lower-case hex.
 * Returns 0, or -1 if getrandom failed (nothing usable is left in out). */
int session_token_new(char out[LAUNCH_TOKEN_HEX]);

/* Checks one --env argument: "KEY=VALUE" with KEY of [A-Za-z_][A-Za-z0-9_]*
 * and no newline in VALUE; the proxy variables (any case), SLUICE_* and
 * keys without '=' are refused (a bare KEY would make the engine copy the
 * host's value). Returns 0, or -1 with a reason in <err>. */
int session_env_check(const char *kv, char *err, size_t errlen);

/* Appends the agent's whole environment to <env> as "KEY=VALUE" strings:
 * HTTP(S)_PROXY, ALL_PROXY and FTP_PROXY in both cases pointing at
 * <proxy_addr>:l->proxy_port with the session's credentials, NO_PROXY and
 * no_proxy empty, SLUICE_FETCH_PROXY when l->fetch_port is set,
 * SLUICE_SESSION, HOME, then l->user_env. <token> is the secret to put in
 * the URLs (the real one, or a mask for display). Reads nothing else. */
void session_env_build(const struct launch *l, const char *proxy_addr,
                       const char *token, struct argv *env);

/* The default state folder of <session>: $XDG_STATE_HOME/sluice/SESSION,
 * else $HOME/.local/state/sluice/SESSION. Returns 0, or -1 if neither
 * variable is set or the path is too long. */
int session_state_dir(const char *session, char *out, size_t outlen);

/* Creates the parents of <dir> (0700) as needed, then <dir> itself, which
 * must not exist yet. Returns 0, or -1 with errno set (EEXIST: a session
 * by that name already left its state there). */
int session_mkdir_new(const char *dir);

/* Writes <len> bytes to a new file <path> (it must not exist) with <mode>.
 * Returns 0, or -1 with errno set; a partly written file is removed. */
int session_write_file(const char *path, const void *data, size_t len,
                       mode_t mode);

/* Adds the line "SESSION:TOKEN" to the tokens file <path>, creating it
 * with mode 0600 if needed, under an exclusive lock. Returns 0 or -1. */
int session_tokens_add(const char *path, const char *session,
                       const char *token);

/* Removes every line of <session> from the tokens file <path>, keeping
 * the others, its mode and its owner (a locked rewrite and a rename).
 * Returns 0 (also if the file is gone), or -1. */
int session_tokens_remove(const char *path, const char *session);

#endif /* LAUNCHER_SESSION_H */
