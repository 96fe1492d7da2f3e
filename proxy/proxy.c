/* proxy/proxy.c - the running proxy: start, reload, reopen, stop. */
#include "config.h"
#include "proxy/proxy.h"

#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/event.h>
#include <sys/random.h>

#include "logging/sink.h"
#include "policy/config.h"
#include "proxy/admin.h"
#include "proxy/auth.h"
#include "proxy/conn.h"
#include "proxy/http_head.h"
#include "proxy/listener.h"
#include "proxy/resolver.h"
#include "proxy/sendq.h"
#include "proxy/session.h"
#include "proxy/sha256.h"
#include "proxy/splice.h"

int64_t
proxy_now_ms(struct proxy *px)
{
    struct timeval tv;

    if (px == NULL || px->base == NULL ||
        event_base_gettimeofday_cached(px->base, &tv) == -1)
        gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

bool
proxy_log_has_room(struct proxy *px)
{
    struct timeval tv;
    int64_t pass;

    /* Outside a pass (start-up) libevent reads the clock afresh, so each
     * call names a pass of its own and asks again. */
    if (event_base_gettimeofday_cached(px->base, &tv) == -1)
        return sink_has_room(px->access);
    pass = (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
    if (pass != px->room_pass_us || px->room_sink != px->access) {
        px->room_ok = sink_has_room(px->access);
        px->room_pass_us = pass;
        px->room_sink = px->access;
    }
    return px->room_ok;
}

/* Crockford base32, as ULIDs use: sortable, no ambiguous letters. */
static const char proxy_b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

void
proxy_next_id(struct proxy *px, int64_t now_ms, char out[27])
{
    uint64_t t = (uint64_t)now_ms;
    uint8_t r[10];
    uint64_t hi, lo;

    /* Within one millisecond the random part counts up, so ids stay unique
     * and sorted without a random draw per request. */
    if (now_ms != px->id_last_ms) {
        px->id_last_ms = now_ms;
        /* Ids need to be unique, not secret: a failed draw keeps the
         * last random part and counts on from it. */
        (void)getrandom(px->id_rand, sizeof(px->id_rand), GRND_NONBLOCK);
        px->id_rand[0] &= 0x7f; /* room to count up without wrapping */
    } else {
        for (int i = 9; i >= 0; i--)
            if (++px->id_rand[i] != 0)
                break;
    }
    memcpy(r, px->id_rand, sizeof(r));
    for (int i = 9; i >= 0; i--)
        out[i] = proxy_b32[(t >> (5 * (9 - i))) & 31];
    hi = ((uint64_t)r[0] << 32) | ((uint64_t)r[1] << 24) |
         ((uint64_t)r[2] << 16) | ((uint64_t)r[3] << 8) | r[4];
    lo = ((uint64_t)r[5] << 32) | ((uint64_t)r[6] << 24) |
         ((uint64_t)r[7] << 16) | ((uint64_t)r[8] << 8) | r[9];
    for (int i = 0; i < 8; i++) {
        out[10 + 7 - i] = proxy_b32[(hi >> (5 * i)) & 31];
        out[18 + 7 - i] = proxy_b32[(lo >> (5 * i)) & 31];
    }
    out[26] = '\0';
}

void
proxy_event_begin(struct proxy *px, const char *name)
{
    int64_t now = proxy_now_ms(px);

    /* Many lines share a millisecond: format its time once. */
    if (now != px->ts_ms || px->ts_text[0] == '\0') {
        jsonl_timestamp(now, px->ts_text);
        px->ts_ms = now;
    }
    jsonl_begin(&px->line);
    jsonl_int(&px->line, "v", 1);
    jsonl_str(&px->line, "ts", px->ts_text);
    jsonl_str(&px->line, "event", name);
}

static int
proxy_write_line(struct sink *s, struct jsonl *j)
{
    if (jsonl_end(j) == -1)
        return -1;
    return sink_write(s, j->buf, j->len);
}

/* Access lines are queued and written together at the end of the loop
 * pass: one write(2) for all the requests that ended in it. */
int
proxy_write_access(struct proxy *px)
{
    if (jsonl_end(&px->line) == -1 ||
        sink_append(px->access, px->line.buf, px->line.len) == -1)
        return -1;
    if (px->pass_end == NULL)
        return sink_flush(px->access);
    if (!event_pending(px->pass_end, EV_TIMEOUT, NULL))
        event_active(px->pass_end, EV_TIMEOUT, 0);
    return 0;
}

static void
proxy_pass_end_cb(evutil_socket_t fd, short what, void *arg)
{
    struct proxy *px = arg;

    (void)fd;
    (void)what;
    /* Lines first: no reply leaves before the line of its request. */
    sink_flush(px->access);
    sendq_run(px);
}

int
proxy_write_event(struct proxy *px)
{
    return proxy_write_line(px->events, &px->line);
}

bool
proxy_is_own_listener(const struct proxy *px, const struct addr *a,
                      uint16_t port)
{
    for (size_t i = 0; i < px->n_listeners; i++) {
        const struct sockaddr_storage *ss = listener_bound(px->listeners[i]);
        struct addr la;
        uint16_t lport;

        if (addr_from_sockaddr_port(ss, &la, &lport) == -1 || lport != port)
            continue;
        /* A wildcard listener answers on every local address: refuse any
         * address on its port rather than guess which ones are ours. */
        static const uint8_t zero[16];
        bool wildcard =
            memcmp(la.bytes, zero, la.family == AF_INET ? 4 : 16) == 0;

        if (wildcard || addr_equal(&la, a))
            return true;
    }
    return false;
}

void
proxy_conn_opened(struct proxy *px, struct conn *c)
{
    c->next = px->conns;
    c->prev = NULL;
    if (px->conns != NULL)
        px->conns->prev = c;
    px->conns = c;
    px->n_conns++;
    px->metrics.connections_total++;
    if (px->n_conns >= px->policy->max_connections && !px->accept_paused) {
        px->accept_paused = true;
        for (size_t i = 0; i < px->n_listeners; i++)
            listener_pause(px->listeners[i]);
    }
}

static void
proxy_stop_loop_if_done(struct proxy *px)
{
    if (px->shutting_down && px->conns == NULL)
        event_base_loopexit(px->base, NULL);
}

void
proxy_conn_closed(struct proxy *px, struct conn *c)
{
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        px->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    c->next = c->prev = NULL;
    px->n_conns--;
    if (px->accept_paused && !px->shutting_down &&
        px->n_conns < px->policy->max_connections) {
        px->accept_paused = false;
        for (size_t i = 0; i < px->n_listeners; i++)
            listener_resume(px->listeners[i]);
    }
    proxy_stop_loop_if_done(px);
}

/* Opens the sinks <p> names; the events sink shares the access sink when
 * both name the same path. */
static int
proxy_open_sinks(struct policy *p, struct sink **access, struct sink **events,
                 char *err, size_t errlen)
{
    *access = sink_open(p->log_access, err, errlen);
    if (*access == NULL)
        return -1;
    if (strcmp(p->log_events, p->log_access) == 0) {
        *events = *access;
        return 0;
    }
    *events = sink_open(p->log_events, err, errlen);
    if (*events == NULL) {
        sink_free(*access);
        *access = NULL;
        return -1;
    }
    return 0;
}

static void
proxy_close_sinks(struct sink *access, struct sink *events)
{
    if (events != access)
        sink_free(events);
    sink_free(access);
}

static bool
proxy_same_strings(char *const *a, size_t na, char *const *b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i], b[i]) != 0)
            return false;
    return true;
}

/* Binds the listeners of <p>, reusing any of <old> (n_old) with the same
 * name and listen address so that a reload never drops a socket.
 * Returns the new array, or NULL with <err> filled (old ones untouched). */
static struct listener **
proxy_bind_listeners(struct proxy *px, const struct policy *p,
                     struct listener **old, size_t n_old, bool *kept, char *err,
                     size_t errlen)
{
    struct listener **ls = calloc(p->n_listeners, sizeof(*ls));

    if (ls == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < p->n_listeners; i++) {
        const struct listener_conf *lc = &p->listeners[i];

        for (size_t j = 0; j < n_old; j++) {
            if (!kept[j] && strcmp(listener_name(old[j]), lc->name) == 0 &&
                strcmp(listener_listen_text(old[j]), lc->listen) == 0) {
                ls[i] = old[j];
                kept[j] = true;
                break;
            }
        }
        if (ls[i] == NULL)
            ls[i] = listener_new(px, lc, err, errlen);
        if (ls[i] == NULL) {
            for (size_t k = 0; k < i; k++) {
                bool reused = false;

                for (size_t j = 0; j < n_old; j++)
                    if (old[j] == ls[k]) {
                        kept[j] = false;
                        reused = true;
                    }
                if (!reused)
                    listener_free(ls[k]);
            }
            free(ls);
            return NULL;
        }
    }
    return ls;
}

/* Fills p->sha256 with the hex SHA-256 of the policy's source text, for
 * /status: an operator can tell which file is in force. */
static void
proxy_hash_policy(struct policy *p, const char *path)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f;

    p->sha256[0] = '\0';
    if (path == NULL) {
        sha256_hex(config_default_yaml, strlen(config_default_yaml), p->sha256);
        return;
    }
    f = fopen(path, "re");
    if (f == NULL)
        return;
    text = malloc(CONFIG_FILE_MAX_BYTES + 1);
    if (text != NULL) {
        len = fread(text, 1, CONFIG_FILE_MAX_BYTES, f);
        sha256_hex(text, len, p->sha256);
        free(text);
    }
    fclose(f);
}

/* The tokens a policy asks for: NULL with auth none, or the loaded file. */
static int
proxy_load_tokens(const struct policy *p, struct auth_tokens **out, char *err,
                  size_t errlen)
{
    *out = NULL;
    if (p->auth_mode != AUTH_BASIC)
        return 0;
    *out = auth_tokens_load(p->tokens_file, err, errlen);
    return *out != NULL ? 0 : -1;
}

static void
proxy_log_reload_failed(struct proxy *px, const char *msg)
{
    proxy_event_begin(px, "reload_failed");
    jsonl_str(&px->line, "policy", px->policy_path);
    jsonl_str(&px->line, "error", msg);
    proxy_write_event(px);
}

/* Builds the new snapshot and everything it needs first; swaps only when
 * all of it worked, so a bad policy leaves the old one in force. */
int
proxy_reload(struct proxy *px, char *err, size_t errlen)
{
    struct config_error cerr;
    struct auth_tokens *tokens = NULL;
    struct policy *np;
    struct listener **nls;
    struct sink *access = NULL, *events = NULL;
    struct resolver *nres = NULL;
    bool *kept;

    /* The listeners are gone for good: a reload must not bind them again
     * while open requests finish. */
    if (px->shutting_down) {
        snprintf(err, errlen, "the proxy is shutting down");
        proxy_log_reload_failed(px, err);
        px->metrics.reload_failures++;
        return -1;
    }
    if (px->policy_path == NULL) {
        np = config_load_default(&cerr);
    } else {
        np = config_load_file(px->policy_path, &cerr);
    }
    if (np == NULL) {
        config_error_format(&cerr, err, errlen);
        proxy_log_reload_failed(px, err);
        px->metrics.reload_failures++;
        return -1;
    }
    proxy_hash_policy(np, px->policy_path);
    if (proxy_load_tokens(np, &tokens, err, errlen) == -1) {
        policy_unref(np);
        proxy_log_reload_failed(px, err);
        px->metrics.reload_failures++;
        return -1;
    }
    kept = calloc(px->n_listeners + 1, sizeof(*kept));
    if (kept == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    nls = proxy_bind_listeners(px, np, px->listeners, px->n_listeners, kept,
                               err, errlen);
    if (nls == NULL)
        goto fail;
    bool same_logs = strcmp(np->log_access, px->policy->log_access) == 0 &&
                     strcmp(np->log_events, px->policy->log_events) == 0;
    if (!same_logs && proxy_open_sinks(np, &access, &events, err, errlen) == -1)
        goto fail_listeners;
    if (!proxy_same_strings(np->resolver_servers, np->n_resolver_servers,
                            px->policy->resolver_servers,
                            px->policy->n_resolver_servers) ||
        np->resolver_timeout_ms != px->policy->resolver_timeout_ms) {
        nres =
            resolver_new(px->base, np->resolver_servers, np->n_resolver_servers,
                         np->resolver_timeout_ms, err, errlen);
        if (nres == NULL)
            goto fail_sinks;
    }

    /* Commit. */
    for (size_t j = 0; j < px->n_listeners; j++)
        if (!kept[j])
            listener_free(px->listeners[j]);
    free(px->listeners);
    px->listeners = nls;
    px->n_listeners = np->n_listeners;
    if (!same_logs) {
        proxy_close_sinks(px->access, px->events);
        px->access = access;
        px->events = events;
    }
    if (nres != NULL) {
        /* Lookups in flight on the old resolver end as cancelled and
         * their requests get dns_failure; rare, and never unsafe. */
        resolver_free(px->resolver);
        px->resolver = nres;
    }
    policy_unref(px->policy);
    px->policy = np;
    auth_tokens_free(px->tokens);
    px->tokens = tokens;
    px->metrics.reloads++;
    free(kept);
    if (px->accept_paused && px->n_conns < np->max_connections) {
        px->accept_paused = false;
    } else if (px->n_conns >= np->max_connections) {
        px->accept_paused = true;
    }
    for (size_t i = 0; i < px->n_listeners; i++) {
        if (px->accept_paused)
            listener_pause(px->listeners[i]);
        else
            listener_resume(px->listeners[i]);
    }
    proxy_event_begin(px, "reload");
    jsonl_str(&px->line, "policy", px->policy_path);
    jsonl_uint(&px->line, "reloads", px->metrics.reloads);
    jsonl_str(&px->line, "sha256", np->sha256);
    proxy_write_event(px);
    return 0;

fail_sinks:
    if (!same_logs)
        proxy_close_sinks(access, events);
fail_listeners:
    for (size_t i = 0; i < np->n_listeners; i++) {
        bool reused = false;

        for (size_t j = 0; j < px->n_listeners; j++)
            if (px->listeners[j] == nls[i])
                reused = true;
        if (!reused)
            listener_free(nls[i]);
    }
    free(nls);
fail:
    free(kept);
    auth_tokens_free(tokens);
    policy_unref(np);
    proxy_log_reload_failed(px, err);
    px->metrics.reload_failures++;
    return -1;
}

/* Logs a session event (session_paused, ...). */
static void
proxy_log_session_event(struct proxy *px, const char *event, const char *id)
{
    proxy_event_begin(px, event);
    jsonl_str(&px->line, "session", id);
    proxy_write_event(px);
}

/* A session the operator may act on before it has sent anything: one
 * named by a listener's fixed session or by the tokens file. */
static struct session *
proxy_session_lookup(struct proxy *px, const char *id)
{
    struct session *s = session_find(px->sessions, id);
    bool known = auth_has_session(px->tokens, id);

    for (size_t i = 0; s == NULL && !known && i < px->policy->n_listeners; i++)
        known = px->policy->listeners[i].session != NULL &&
                strcmp(px->policy->listeners[i].session, id) == 0;
    if (s == NULL && known)
        s = session_get(px->sessions, id, proxy_now_ms(px));
    return s;
}

int
proxy_session_pause(struct proxy *px, const char *id)
{
    struct session *s = proxy_session_lookup(px, id);

    if (s == NULL)
        return -1;
    if (s->state == SESSION_ACTIVE)
        s->state = SESSION_PAUSED;
    proxy_log_session_event(px, "session_paused", id);
    return 0;
}

int
proxy_session_resume(struct proxy *px, const char *id)
{
    struct session *s = session_find(px->sessions, id);

    if (s == NULL)
        return -1;
    /* Resume lifts a pause; a kill is final. */
    if (s->state == SESSION_PAUSED)
        s->state = SESSION_ACTIVE;
    proxy_log_session_event(px, "session_resumed", id);
    return s->state == SESSION_ACTIVE ? 0 : -1;
}

int
proxy_session_kill(struct proxy *px, const char *id)
{
    struct session *s = proxy_session_lookup(px, id);

    if (s == NULL)
        return -1;
    s->state = SESSION_KILLED;
    proxy_log_session_event(px, "session_killed", id);
    conn_kill_session(px, id);
    return 0;
}

static void
proxy_begin_shutdown(struct proxy *px)
{
    struct timeval tv;
    uint32_t grace = px->policy->shutdown_grace_ms;

    if (px->shutting_down)
        return;
    px->shutting_down = true;
    for (size_t i = 0; i < px->n_listeners; i++)
        listener_free(px->listeners[i]);
    free(px->listeners);
    px->listeners = NULL;
    px->n_listeners = 0;
    proxy_event_begin(px, "shutdown");
    jsonl_uint(&px->line, "open_connections", px->n_conns);
    jsonl_uint(&px->line, "grace_ms", grace);
    proxy_write_event(px);
    conn_close_idle(px);
    if (px->conns == NULL) {
        event_base_loopexit(px->base, NULL);
        return;
    }
    tv.tv_sec = grace / 1000;
    tv.tv_usec = (grace % 1000) * 1000;
    evtimer_add(px->grace_timer, &tv);
}

static void
proxy_grace_cb(evutil_socket_t fd, short what, void *arg)
{
    struct proxy *px = arg;

    (void)fd;
    (void)what;
    conn_close_all(px);
    event_base_loopexit(px->base, NULL);
}

static void
proxy_signal_cb(evutil_socket_t sig, short what, void *arg)
{
    struct proxy *px = arg;

    (void)what;
    switch (sig) {
    case SIGHUP: {
        char err[PROXY_ERR_MAX];

        proxy_reload(px, err, sizeof(err));
        break;
    }
    case SIGUSR1:
        px->room_pass_us = 0; /* the file may be on another disk now */
        if (sink_reopen(px->access) == -1 ||
            (px->events != px->access && sink_reopen(px->events) == -1)) {
            proxy_event_begin(px, "reopen_failed");
            proxy_write_event(px);
        }
        break;
    case SIGTERM:
    case SIGINT:
        proxy_begin_shutdown(px);
        break;
    }
}

struct proxy *
proxy_new(struct policy *policy, const char *path, char *err, size_t errlen)
{
    struct proxy *px;
    struct event_config *cfg;

    px = calloc(1, sizeof(*px));
    if (px == NULL) {
        policy_unref(policy);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    px->policy = policy;
    jsonl_init(&px->line);
    metrics_init(&px->metrics);
    if (path != NULL && (px->policy_path = strdup(path)) == NULL)
        goto fail_oom;
    proxy_hash_policy(policy, path);
    px->sessions = session_table_new();
    px->scratch_req = malloc(sizeof(*px->scratch_req));
    px->scratch_resp = malloc(sizeof(*px->scratch_resp));
    px->splice_pool = splice_pool_new(); /* NULL is fine: copy instead */
    if (px->sessions == NULL || px->scratch_req == NULL ||
        px->scratch_resp == NULL)
        goto fail_oom;
    if (proxy_load_tokens(policy, &px->tokens, err, errlen) == -1)
        goto fail;
    /* Relayed bytes are counted as they pass; no need for precise timers
     * beyond what the loop's cached clock gives. */
    cfg = event_config_new();
    if (cfg == NULL)
        goto fail_oom;
    /* Enabling and disabling reads within one loop pass then costs one
     * epoll_ctl at most, not one per change. */
    event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    px->base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    if (px->base == NULL)
        goto fail_oom;
    px->started_ms = proxy_now_ms(px);
    if (proxy_open_sinks(policy, &px->access, &px->events, err, errlen) == -1)
        goto fail;
    px->resolver = resolver_new(px->base, policy->resolver_servers,
                                policy->n_resolver_servers,
                                policy->resolver_timeout_ms, err, errlen);
    if (px->resolver == NULL)
        goto fail;
    {
        bool kept = false;

        px->listeners =
            proxy_bind_listeners(px, policy, NULL, 0, &kept, err, errlen);
    }
    if (px->listeners == NULL)
        goto fail;
    px->n_listeners = policy->n_listeners;
    if (policy->admin_socket != NULL) {
        px->admin = admin_new(px, policy->admin_socket, err, errlen);
        if (px->admin == NULL)
            goto fail;
    }
    px->sig_hup = evsignal_new(px->base, SIGHUP, proxy_signal_cb, px);
    px->sig_term = evsignal_new(px->base, SIGTERM, proxy_signal_cb, px);
    px->sig_int = evsignal_new(px->base, SIGINT, proxy_signal_cb, px);
    px->sig_usr1 = evsignal_new(px->base, SIGUSR1, proxy_signal_cb, px);
    px->grace_timer = evtimer_new(px->base, proxy_grace_cb, px);
    px->pass_end = event_new(px->base, -1, 0, proxy_pass_end_cb, px);
    if (px->sig_hup == NULL || px->sig_term == NULL || px->sig_int == NULL ||
        px->sig_usr1 == NULL || px->grace_timer == NULL || px->pass_end == NULL)
        goto fail_oom;
    evsignal_add(px->sig_hup, NULL);
    evsignal_add(px->sig_term, NULL);
    evsignal_add(px->sig_int, NULL);
    evsignal_add(px->sig_usr1, NULL);
    /* A client that vanishes must not kill the proxy with SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);
    return px;

fail_oom:
    snprintf(err, errlen, "out of memory");
fail:
    proxy_free(px);
    return NULL;
}

int
proxy_run(struct proxy *px)
{
    struct jsonl *j = &px->line;

    proxy_event_begin(px, "start");
    jsonl_str(j, "version", PACKAGE_VERSION);
    jsonl_int(j, "pid", (int64_t)getpid());
    jsonl_str(j, "policy", px->policy_path);
    /* The listener list is built by hand: the jsonl API writes flat
     * objects, and this is the one nested value. */
    {
        size_t cap = 64, used;
        char *raw;

        for (size_t i = 0; i < px->n_listeners; i++)
            cap += strlen(listener_name(px->listeners[i])) * 6 + 96;
        raw = malloc(cap);
        if (raw == NULL)
            return 1;
        used = (size_t)snprintf(raw, cap, "[");
        for (size_t i = 0; i < px->n_listeners; i++) {
            struct jsonl name;

            jsonl_init(&name);
            jsonl_quote(&name, listener_name(px->listeners[i]),
                        strlen(listener_name(px->listeners[i])));
            used += (size_t)snprintf(raw + used, cap - used,
                                     "%s{\"name\":%.*s,\"addr\":\"%s\"}",
                                     i > 0 ? "," : "", (int)name.len,
                                     name.buf != NULL ? name.buf : "\"\"",
                                     listener_bound_text(px->listeners[i]));
            jsonl_fini(&name);
        }
        snprintf(raw + used, cap - used, "]");
        jsonl_raw(j, "listeners", raw);
        free(raw);
    }
    if (proxy_write_event(px) == -1)
        return 1;
    event_base_dispatch(px->base);
    return 0;
}

void
proxy_free(struct proxy *px)
{
    if (px == NULL)
        return;
    if (px->base != NULL)
        conn_close_all(px);
    admin_free(px->admin);
    for (size_t i = 0; i < px->n_listeners; i++)
        listener_free(px->listeners[i]);
    free(px->listeners);
    resolver_free(px->resolver);
    if (px->sig_hup != NULL)
        event_free(px->sig_hup);
    if (px->sig_term != NULL)
        event_free(px->sig_term);
    if (px->sig_int != NULL)
        event_free(px->sig_int);
    if (px->sig_usr1 != NULL)
        event_free(px->sig_usr1);
    if (px->grace_timer != NULL)
        event_free(px->grace_timer);
    if (px->pass_end != NULL)
        event_free(px->pass_end);
    proxy_close_sinks(px->access, px->events);
    /* Before the base: a shaped session's rate-limit group deletes its
     * refill event from it. */
    session_table_free(px->sessions);
    if (px->base != NULL)
        event_base_free(px->base);
    splice_pool_free(px->splice_pool);
    free(px->scratch_req);
    free(px->scratch_resp);
    auth_tokens_free(px->tokens);
    metrics_fini(&px->metrics);
    policy_unref(px->policy);
    jsonl_fini(&px->line);
    free(px->policy_path);
    free(px);
}
