/* proxy/session.h - sessions and their per-tier usage (SPEC sections 2
 * `limits`, 3 step 4, 6). A session is named by its credentials, the
 * listener's fixed id or the client address; its counters outlive
 * connections and reloads (tiers are matched by name). The bandwidth cap
 * is a libevent rate-limit group shared by all of the session's
 * connections on that tier. */
#ifndef PROXY_SESSION_H
#define PROXY_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/limits.h"

struct bufferevent;
struct bufferevent_rate_limit_group;
struct event_base;

/* Sessions kept at most; idle ones (nothing open) are evicted first. */
#define SESSION_TABLE_MAX 65536
#define SESSION_ID_MAX 128

enum session_state { SESSION_ACTIVE = 0, SESSION_PAUSED, SESSION_KILLED };

struct session_tier {
    char *name;
    struct limits_usage usage;
    uint64_t requests;     /* admitted, ever */
    unsigned alerts_fired; /* bits of enum limits_cap */
    struct bufferevent_rate_limit_group *group;
    uint64_t group_bps;
};

struct session {
    char *id;
    enum session_state state;
    struct session_tier **tiers; /* each allocated alone: conns hold them */
    size_t n_tiers;
    uint64_t requests;
    uint32_t open;
    int64_t first_ms, last_ms;
    struct session *hnext;
};

struct session_table;

struct session_table *session_table_new(void);
void session_table_free(struct session_table *t);

/* Returns the session <id>, created if new, NULL if out of memory or the
 * table is full of sessions that all have open connections. */
struct session *session_get(struct session_table *t, const char *id,
                            int64_t now_ms);

/* Returns the session <id> or NULL; never creates. */
struct session *session_find(struct session_table *t, const char *id);

/* Returns <s>'s usage for tier <name>, created if new; NULL on OOM. */
struct session_tier *session_tier_get(struct session *s, const char *name);

size_t session_count(const struct session_table *t);

/* Calls <fn> for every session, in no particular order. */
typedef void session_each_fn(struct session *s, void *arg);
void session_each(struct session_table *t, session_each_fn *fn, void *arg);

/* Puts <bev> under <st>'s shared bandwidth of <bps> bytes per second (0:
 * none), creating or re-rating the group. Returns 0 or -1 on OOM. */
int session_tier_shape(struct session_tier *st, struct event_base *base,
                       uint64_t bps, struct bufferevent *bev);

const char *session_state_name(enum session_state s);

#endif /* PROXY_SESSION_H */
