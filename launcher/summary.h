/* launcher/summary.h - the one-screen session summary `sluice run` prints
 * on exit, from the proxy's JSONL access and event logs (SPEC section 5):
 * requests allowed and denied, bytes up and down per tier, denied hosts
 * with counts, caps hit.
 * Reads log files (summary_add_file) or lines handed to it; renders text
 * into a string: no other I/O. Called by launcher/run.c; the tests feed it
 * sample lines. */
#ifndef LAUNCHER_SUMMARY_H
#define LAUNCHER_SUMMARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "launcher/launch-t.h"

/* A tier, host or cap name longer than this is cut (a DNS name is 253). */
#define SUMMARY_NAME_MAX 256
/* Distinct denied hosts and caps remembered; more are only counted. */
#define SUMMARY_HOSTS_MAX 4096
#define SUMMARY_CAPS_MAX 256
/* Tiers summed per session; a policy has far fewer. */
#define SUMMARY_TIERS_MAX 256
/* Rows of denied hosts shown: one screen. */
#define SUMMARY_HOSTS_SHOWN 10

/* The row of requests no tier matched (denied before tier matching). */
#define SUMMARY_NO_TIER "(no tier)"

struct summary_tier {
    char name[SUMMARY_NAME_MAX]; /* SUMMARY_NO_TIER for lines without one */
    uint64_t allowed, denied, bytes_up, bytes_down;
};

struct summary_host {
    char host[SUMMARY_NAME_MAX];
    char reason[SUMMARY_NAME_MAX]; /* of its first denial */
    uint64_t count;
};

struct summary_cap {
    char tier[SUMMARY_NAME_MAX];
    char what[SUMMARY_NAME_MAX]; /* a denial reason, or "alert CAP" */
    uint64_t count;
};

struct summary {
    char session[LAUNCH_SESSION_MAX]; /* named in the title */
    bool only_session; /* count only <session>'s lines (shared gateway) */
    uint64_t allowed, denied;
    uint64_t would_deny; /* allowed with reason report_only */
    uint64_t unreadable; /* lines that were not JSON objects */
    struct summary_tier *tiers;
    size_t n_tiers;
    struct summary_host *hosts;
    size_t n_hosts;
    uint64_t hosts_dropped; /* denials of hosts past SUMMARY_HOSTS_MAX */
    struct summary_cap *caps;
    size_t n_caps;
    int failed; /* allocation failed: counts may be short */
};

/* Starts an empty summary titled <session> (NULL: "(all)"). With
 * <only_session>, lines of other sessions are not counted: on a shared
 * gateway. A sidecar serves one agent, and counts everything it logged,
 * refusals before authentication included. */
void summary_init(struct summary *s, const char *session, bool only_session);
void summary_fini(struct summary *s);

/* Counts one JSONL line (len bytes, without or with its '\n'): access
 * lines and alert events (of the summary's session, with only_session);
 * anything else is ignored. */
void summary_add_line(struct summary *s, const char *line, size_t len);

/* Counts every line of the file at <path>. Returns 0, or -1 if it cannot
 * be opened or read (errno set). */
int summary_add_file(struct summary *s, const char *path);

/* Writes <n> bytes as "812 B", "1.2 KiB", "56.0 MiB" into <out>. */
void summary_format_bytes(uint64_t n, char *out, size_t outlen);

/* Copies the value of top-level key <key> of the JSON object <line>
 * (len bytes) into <out>: strings unescaped (\uXXXX outside ASCII as
 * '?'), numbers, true, false and null as written. Returns 0, or -1 if the
 * key is absent, the value is an object or array, or the line is not a
 * JSON object. */
int summary_json_field(const char *line, size_t len, const char *key, char *out,
                       size_t outlen);

/* Returns the summary as new text (free with free()), at most about 24
 * lines; <log_path> is named at the end (NULL: not named). NULL if out of
 * memory. */
char *summary_render(const struct summary *s, const char *log_path);

#endif /* LAUNCHER_SUMMARY_H */
