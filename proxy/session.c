/* proxy/session.c - the session table and bandwidth groups. */
#include "config.h"
#include "proxy/session.h"

#include <stdlib.h>
#include <string.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#define SESSION_BUCKETS 4096
/* Shaping ticks: ten a second keeps bursts short enough for a 10 % rate
 * accuracy over seconds, and the per-tick cost negligible. */
#define SESSION_TICK_MS 100

struct session_table {
    struct session *buckets[SESSION_BUCKETS];
    size_t count;
};

static uint32_t
session_hash(const char *id)
{
    uint32_t h = 2166136261u;

    for (; *id != '\0'; id++)
        h = (h ^ (uint8_t)*id) * 16777619u;
    return h;
}

struct session_table *
session_table_new(void)
{
    return calloc(1, sizeof(struct session_table));
}

static void
session_free(struct session *s)
{
    for (size_t i = 0; i < s->n_tiers; i++) {
        if (s->tiers[i]->group != NULL)
            bufferevent_rate_limit_group_free(s->tiers[i]->group);
        free(s->tiers[i]->name);
        free(s->tiers[i]);
    }
    free(s->tiers);
    free(s->id);
    free(s);
}

void
session_table_free(struct session_table *t)
{
    if (t == NULL)
        return;
    for (size_t b = 0; b < SESSION_BUCKETS; b++) {
        struct session *s = t->buckets[b], *next;

        for (; s != NULL; s = next) {
            next = s->hnext;
            session_free(s);
        }
    }
    free(t);
}

struct session *
session_find(struct session_table *t, const char *id)
{
    struct session *s = t->buckets[session_hash(id) % SESSION_BUCKETS];

    for (; s != NULL; s = s->hnext)
        if (strcmp(s->id, id) == 0)
            return s;
    return NULL;
}

/* Drops the longest-idle session with nothing open, to make room. Paused
 * and killed sessions are kept: forgetting them would lift the state. */
static bool
session_evict_one(struct session_table *t)
{
    struct session **victim = NULL;

    for (size_t b = 0; b < SESSION_BUCKETS; b++) {
        for (struct session **pp = &t->buckets[b]; *pp != NULL;
             pp = &(*pp)->hnext) {
            struct session *s = *pp;

            if (s->open != 0 || s->state != SESSION_ACTIVE)
                continue;
            if (victim == NULL || s->last_ms < (*victim)->last_ms)
                victim = pp;
        }
    }
    if (victim == NULL)
        return false;
    struct session *s = *victim;

    *victim = s->hnext;
    session_free(s);
    t->count--;
    return true;
}

struct session *
session_get(struct session_table *t, const char *id, int64_t now_ms)
{
    struct session *s = session_find(t, id);
    size_t b;

    if (s != NULL) {
        s->last_ms = now_ms;
        return s;
    }
    if (t->count >= SESSION_TABLE_MAX && !session_evict_one(t))
        return NULL;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->id = strdup(id);
    if (s->id == NULL) {
        free(s);
        return NULL;
    }
    s->first_ms = s->last_ms = now_ms;
    b = session_hash(id) % SESSION_BUCKETS;
    s->hnext = t->buckets[b];
    t->buckets[b] = s;
    t->count++;
    return s;
}

struct session_tier *
session_tier_get(struct session *s, const char *name)
{
    struct session_tier **tiers, *st;

    for (size_t i = 0; i < s->n_tiers; i++)
        if (strcmp(s->tiers[i]->name, name) == 0)
            return s->tiers[i];
    /* Connections keep pointers to their session_tier: the array of
     * pointers may move, the tiers themselves never do. */
    tiers = realloc(s->tiers, (s->n_tiers + 1) * sizeof(*tiers));
    if (tiers == NULL)
        return NULL;
    s->tiers = tiers;
    st = calloc(1, sizeof(*st));
    if (st == NULL)
        return NULL;
    st->name = strdup(name);
    if (st->name == NULL) {
        free(st);
        return NULL;
    }
    tiers[s->n_tiers++] = st;
    return st;
}

size_t
session_count(const struct session_table *t)
{
    return t->count;
}

void
session_each(struct session_table *t, session_each_fn *fn, void *arg)
{
    for (size_t b = 0; b < SESSION_BUCKETS; b++) {
        struct session *s = t->buckets[b], *next;

        for (; s != NULL; s = next) {
            next = s->hnext;
            fn(s, arg);
        }
    }
}

int
session_tier_shape(struct session_tier *st, struct event_base *base,
                   uint64_t bps, struct bufferevent *bev)
{
    struct timeval tick = { 0, SESSION_TICK_MS * 1000 };
    struct ev_token_bucket_cfg *cfg;
    size_t per_tick;

    if (bps == 0)
        return 0;
    if (st->group == NULL || st->group_bps != bps) {
        per_tick = (size_t)(bps * SESSION_TICK_MS / 1000);
        if (per_tick == 0)
            per_tick = 1;
        /* Reads are what is shaped: the bytes read from either side are
         * the bytes relayed, so one read bucket caps both directions
         * together. Writes only follow reads. */
        cfg = ev_token_bucket_cfg_new(per_tick, per_tick, EV_RATE_LIMIT_MAX,
                                      EV_RATE_LIMIT_MAX, &tick);
        if (cfg == NULL)
            return -1;
        if (st->group == NULL) {
            st->group = bufferevent_rate_limit_group_new(base, cfg);
            if (st->group == NULL) {
                ev_token_bucket_cfg_free(cfg);
                return -1;
            }
        } else {
            bufferevent_rate_limit_group_set_cfg(st->group, cfg);
        }
        ev_token_bucket_cfg_free(cfg);
        st->group_bps = bps;
    }
    return bufferevent_add_to_rate_limit_group(bev, st->group);
}

const char *
session_state_name(enum session_state s)
{
    switch (s) {
    case SESSION_ACTIVE:
        return "active";
    case SESSION_PAUSED:
        return "paused";
    case SESSION_KILLED:
        return "killed";
    }
    return "unknown";
}
