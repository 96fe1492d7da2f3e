/* launcher/sidecar.h - the sidecar's effective policy: the user's policy
 * (or the embedded default) with the listeners, auth, logs and admin
 * socket replaced for life in a container (docs/launcher.md says why).
 * Pure: reads the loaded policy, writes YAML text; the caller copies the
 * domains files and writes the result. Called by launcher/run.c. */
#ifndef LAUNCHER_SIDECAR_H
#define LAUNCHER_SIDECAR_H

#include <stdbool.h>
#include <stddef.h>

#include "launcher/argv.h"
#include "policy/policy-t.h"

/* The tier that, if the policy has it, gets its own channel on
 * LAUNCH_FETCH_PORT (SPEC section 2: the 'fetch' MCP tool). */
#define SIDECAR_FETCH_TIER "fetch"

/* Where the generated policy points, inside the sidecar. */
#define SIDECAR_TOKENS_FILE "/etc/sluice/tokens"
#define SIDECAR_ACCESS_LOG "/run/sluice/access.jsonl"
#define SIDECAR_EVENTS_LOG "/run/sluice/events.jsonl"
#define SIDECAR_ADMIN_SOCKET "/run/sluice/admin.sock"
#define SIDECAR_DOMAINS_DIR "domains"

struct sidecar_conf {
    const char *session;
    char *const *tiers; /* --tier, borrowed; n_tiers 0: the policy's first
                           listener's tiers */
    size_t n_tiers;
    const char *policy_dir; /* relative domains_files resolve here; NULL:
                               they stay as written (cwd) */
};

/* Checks the --tier names against <p> and decides the channels.
 * Returns 0 and sets <*fetch> (a fetch channel will exist), or -1 with a
 * one-line reason in <err> (an unknown tier). */
int sidecar_check(const struct policy *p, const struct sidecar_conf *c,
                  bool *fetch, char *err, size_t errlen);

/* Returns the sidecar policy as new YAML text (free with free()), or NULL
 * with <err> filled. Appends to <copies> two strings per domains file: the
 * host path to copy from and the path relative to the policy's directory
 * to copy to. The result loads with config_load_buffer() given that
 * directory (the tests check it round-trips). */
char *sidecar_policy_yaml(const struct policy *p, const struct sidecar_conf *c,
                          struct argv *copies, char *err, size_t errlen);

#endif /* LAUNCHER_SIDECAR_H */
