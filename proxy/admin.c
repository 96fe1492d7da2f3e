/* proxy/admin.c - the admin socket, served with libevent's evhttp. */
#include "config.h"
#include "proxy/admin.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "logging/jsonl.h"
#include "logging/sink.h"
#include "proxy/listener.h"
#include "proxy/proxy.h"
#include "proxy/session.h"

/* Admin requests are tiny; anything bigger is not ours. */
#define ADMIN_MAX_HEADERS_BYTES 8192
#define ADMIN_MAX_BODY_BYTES 4096
#define ADMIN_TIMEOUT_S 10
#define ADMIN_BACKLOG 16

struct admin {
    struct proxy *px;
    struct evhttp *http;
    char *path;
};

/* Appends <s> as a JSON string literal. */
static void
admin_json_str(struct evbuffer *out, const char *s)
{
    struct jsonl q;

    if (s == NULL) {
        evbuffer_add(out, "null", 4);
        return;
    }
    jsonl_init(&q);
    jsonl_quote(&q, s, strlen(s));
    if (!q.oom && q.buf != NULL)
        evbuffer_add(out, q.buf, q.len);
    else
        evbuffer_add(out, "null", 4);
    jsonl_fini(&q);
}

static void
admin_json_limit(struct evbuffer *out, const char *key, uint64_t v, bool last)
{
    if (v == 0)
        evbuffer_add_printf(out, "\"%s\":null%s", key, last ? "" : ",");
    else
        evbuffer_add_printf(out, "\"%s\":%llu%s", key, (unsigned long long)v,
                            last ? "" : ",");
}

static void
admin_reply(struct evhttp_request *req, int code, const char *type,
            struct evbuffer *body)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);

    evhttp_add_header(h, "Content-Type", type);
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_send_reply(req, code, code < 300 ? "OK" : "Error", body);
}

static void
admin_error(struct evhttp_request *req, int code, const char *msg)
{
    struct evbuffer *b = evbuffer_new();

    if (b == NULL) {
        evhttp_send_error(req, 500, NULL);
        return;
    }
    evbuffer_add_printf(b, "{\"error\":");
    admin_json_str(b, msg);
    evbuffer_add_printf(b, "}\n");
    admin_reply(req, code, "application/json", b);
    evbuffer_free(b);
}

static bool
admin_wants_text(struct evhttp_request *req)
{
    const char *accept =
        evhttp_find_header(evhttp_request_get_input_headers(req), "Accept");

    return accept != NULL && strstr(accept, "text/plain") != NULL;
}

static void
admin_status(struct admin *a, struct evhttp_request *req, struct evbuffer *b)
{
    struct proxy *px = a->px;
    double uptime = (double)(proxy_now_ms(px) - px->started_ms) / 1000.0;

    evbuffer_add_printf(b,
                        "{\"version\":\"%s\",\"pid\":%ld,\"uptime_s\":%.3f,"
                        "\"policy\":",
                        PACKAGE_VERSION, (long)getpid(), uptime);
    admin_json_str(b, px->policy_path);
    evbuffer_add_printf(b, ",\"policy_sha256\":\"%s\",\"listeners\":[",
                        px->policy->sha256);
    for (size_t i = 0; i < px->n_listeners; i++) {
        evbuffer_add_printf(b, "%s{\"name\":", i > 0 ? "," : "");
        admin_json_str(b, listener_name(px->listeners[i]));
        evbuffer_add_printf(b, ",\"addr\":\"%s\"}",
                            listener_bound_text(px->listeners[i]));
    }
    evbuffer_add_printf(
        b,
        "],\"connections\":{\"open\":%llu,\"total\":%llu,\"max\":%u},"
        "\"sessions\":%zu,\"reloads\":%llu,\"log_write_failures\":%lu,"
        "\"log_ok\":%s,\"shutting_down\":%s}\n",
        (unsigned long long)px->n_conns,
        (unsigned long long)px->metrics.connections_total,
        px->policy->max_connections, session_count(px->sessions),
        (unsigned long long)px->metrics.reloads, sink_failures(px->access),
        sink_is_failed(px->access) ? "false" : "true",
        px->shutting_down ? "true" : "false");
    (void)req;
}

/* The limits of tier <name> in the current policy, or NULL. */
static const struct tier_limits *
admin_tier_limits(const struct proxy *px, const char *name)
{
    for (size_t i = 0; i < px->policy->n_tiers; i++)
        if (strcmp(px->policy->tiers[i].name, name) == 0)
            return &px->policy->tiers[i].limits;
    return NULL;
}

struct admin_each {
    struct admin *a;
    struct evbuffer *b;
    bool text;
    size_t n;
};

static void
admin_session_json(struct session *s, void *arg)
{
    struct admin_each *e = arg;
    struct proxy *px = e->a->px;
    struct evbuffer *b = e->b;
    char first[JSONL_TS_MAX], last[JSONL_TS_MAX];
    int64_t now = proxy_now_ms(px);
    static const struct tier_limits none;

    jsonl_timestamp(s->first_ms, first);
    jsonl_timestamp(s->last_ms, last);
    evbuffer_add_printf(b, "%s{\"id\":", e->n++ > 0 ? "," : "");
    admin_json_str(b, s->id);
    evbuffer_add_printf(b,
                        ",\"state\":\"%s\",\"requests\":%llu,\"open\":%u,"
                        "\"first_seen\":\"%s\",\"last_seen\":\"%s\","
                        "\"tiers\":[",
                        session_state_name(s->state),
                        (unsigned long long)s->requests, s->open, first, last);
    for (size_t i = 0; i < s->n_tiers; i++) {
        const struct session_tier *st = s->tiers[i];
        const struct tier_limits *l = admin_tier_limits(px, st->name);

        if (l == NULL)
            l = &none;
        evbuffer_add_printf(b, "%s{\"tier\":", i > 0 ? "," : "");
        admin_json_str(b, st->name);
        evbuffer_add_printf(
            b,
            ",\"bytes_up\":%llu,\"bytes_down\":%llu,\"requests\":%llu,"
            "\"requests_last_minute\":%u,\"connections\":%u,\"limits\":{",
            (unsigned long long)st->usage.bytes_up,
            (unsigned long long)st->usage.bytes_down,
            (unsigned long long)st->requests,
            limits_rate_used(l, &st->usage, now), st->usage.open);
        admin_json_limit(b, "bytes_up", l->bytes_up, false);
        admin_json_limit(b, "bytes_down", l->bytes_down, false);
        admin_json_limit(b, "requests_per_minute", l->requests_per_minute,
                         false);
        admin_json_limit(b, "bandwidth", l->bandwidth_bps, false);
        admin_json_limit(b, "connections", l->connections, true);
        evbuffer_add_printf(
            b, "},\"caps_reached\":{\"bytes_up\":%s,\"bytes_down\":%s}}",
            l->bytes_up != 0 && st->usage.bytes_up >= l->bytes_up ? "true"
                                                                  : "false",
            l->bytes_down != 0 && st->usage.bytes_down >= l->bytes_down
                ? "true"
                : "false");
    }
    evbuffer_add_printf(b, "]}");
}

static void
admin_size(char *out, size_t outlen, uint64_t v)
{
    static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    double d = (double)v;
    size_t u = 0;

    while (d >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
        d /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(out, outlen, "%llu B", (unsigned long long)v);
    else
        snprintf(out, outlen, "%.1f %s", d, units[u]);
}

static void
admin_session_text(struct session *s, void *arg)
{
    struct admin_each *e = arg;
    char up[32], down[32];

    if (s->n_tiers == 0) {
        evbuffer_add_printf(e->b, "%-24s %-7s %-10s %8llu %5u %12s %12s\n",
                            s->id, session_state_name(s->state), "-",
                            (unsigned long long)s->requests, s->open, "-", "-");
    }
    for (size_t i = 0; i < s->n_tiers; i++) {
        const struct session_tier *st = s->tiers[i];

        admin_size(up, sizeof(up), st->usage.bytes_up);
        admin_size(down, sizeof(down), st->usage.bytes_down);
        evbuffer_add_printf(e->b, "%-24s %-7s %-10s %8llu %5u %12s %12s\n",
                            s->id, session_state_name(s->state), st->name,
                            (unsigned long long)st->requests, st->usage.open,
                            up, down);
    }
    e->n++;
}

static void
admin_sessions(struct admin *a, struct evhttp_request *req, struct evbuffer *b)
{
    struct admin_each e = { a, b, admin_wants_text(req), 0 };

    if (e.text) {
        evbuffer_add_printf(b, "%-24s %-7s %-10s %8s %5s %12s %12s\n",
                            "SESSION", "STATE", "TIER", "REQUESTS", "OPEN",
                            "BYTES_UP", "BYTES_DOWN");
        session_each(a->px->sessions, admin_session_text, &e);
        return;
    }
    evbuffer_add_printf(b, "{\"sessions\":[");
    session_each(a->px->sessions, admin_session_json, &e);
    evbuffer_add_printf(b, "]}\n");
}

static void
admin_metrics(struct admin *a, struct evbuffer *b)
{
    struct proxy *px = a->px;
    struct metrics_gauges g;

    g.open_connections = px->n_conns;
    g.sessions = session_count(px->sessions);
    g.log_write_failures = sink_failures(px->access);
    if (px->events != px->access)
        g.log_write_failures += sink_failures(px->events);
    g.uptime_s = (double)(proxy_now_ms(px) - px->started_ms) / 1000.0;
    metrics_render(&px->metrics, &g, b);
}

/* POST /sessions/ID/ACTION */
static void
admin_session_action(struct admin *a, struct evhttp_request *req,
                     const char *rest, struct evbuffer *b)
{
    const char *slash = strrchr(rest, '/');
    char *id;
    int rc;

    if (slash == NULL || slash == rest) {
        admin_error(req, 404, "want /sessions/ID/pause|resume|kill");
        return;
    }
    /* Decode the id alone: an encoded '/' must not move the action. */
    {
        char raw[SESSION_ID_MAX * 3 + 1];
        size_t rawlen = (size_t)(slash - rest);

        if (rawlen >= sizeof(raw)) {
            admin_error(req, 404, "session id too long");
            return;
        }
        memcpy(raw, rest, rawlen);
        raw[rawlen] = '\0';
        id = evhttp_uridecode(raw, 0, NULL);
    }
    if (id == NULL) {
        admin_error(req, 500, "out of memory");
        return;
    }
    if (strcmp(slash + 1, "pause") == 0) {
        rc = proxy_session_pause(a->px, id);
    } else if (strcmp(slash + 1, "resume") == 0) {
        struct session *s = session_find(a->px->sessions, id);

        if (s != NULL && s->state == SESSION_KILLED) {
            admin_error(req, 409, "session was killed; a kill is final");
            free(id);
            return;
        }
        rc = proxy_session_resume(a->px, id);
    } else if (strcmp(slash + 1, "kill") == 0) {
        rc = proxy_session_kill(a->px, id);
    } else {
        admin_error(req, 404, "unknown action: want pause, resume or kill");
        free(id);
        return;
    }
    if (rc == -1) {
        char msg[SESSION_ID_MAX + 32];

        snprintf(msg, sizeof(msg), "no session '%.*s'", SESSION_ID_MAX, id);
        admin_error(req, 404, msg);
        free(id);
        return;
    }
    evbuffer_add_printf(b, "{\"session\":");
    admin_json_str(b, id);
    evbuffer_add_printf(
        b, ",\"state\":\"%s\"}\n",
        session_state_name(session_find(a->px->sessions, id)->state));
    free(id);
    admin_reply(req, 200, "application/json", b);
}

static void
admin_request_cb(struct evhttp_request *req, void *arg)
{
    struct admin *a = arg;
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    const char *uri = evhttp_request_get_uri(req);
    char path[512];
    size_t plen = strcspn(uri, "?#");
    struct evbuffer *b;
    bool get = cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD;
    bool post = cmd == EVHTTP_REQ_POST;

    if (plen >= sizeof(path)) {
        admin_error(req, 414, "path too long");
        return;
    }
    memcpy(path, uri, plen);
    path[plen] = '\0';
    b = evbuffer_new();
    if (b == NULL) {
        evhttp_send_error(req, 500, NULL);
        return;
    }
    if (strcmp(path, "/status") == 0 && get) {
        admin_status(a, req, b);
        admin_reply(req, 200, "application/json", b);
    } else if (strcmp(path, "/sessions") == 0 && get) {
        admin_sessions(a, req, b);
        admin_reply(req, 200,
                    admin_wants_text(req) ? "text/plain; charset=utf-8"
                                          : "application/json",
                    b);
    } else if (strcmp(path, "/metrics") == 0 && get) {
        admin_metrics(a, b);
        admin_reply(req, 200, "text/plain; version=0.0.4; charset=utf-8", b);
    } else if (strcmp(path, "/reload") == 0 && post) {
        char err[PROXY_ERR_MAX];

        if (proxy_reload(a->px, err, sizeof(err)) == -1) {
            admin_error(req, 422, err);
        } else {
            evbuffer_add_printf(b,
                                "{\"reloaded\":true,\"reloads\":%llu,"
                                "\"policy_sha256\":\"%s\"}\n",
                                (unsigned long long)a->px->metrics.reloads,
                                a->px->policy->sha256);
            admin_reply(req, 200, "application/json", b);
        }
    } else if (strncmp(path, "/sessions/", 10) == 0 && post) {
        admin_session_action(a, req, path + 10, b);
    } else if (strcmp(path, "/status") == 0 || strcmp(path, "/sessions") == 0 ||
               strcmp(path, "/metrics") == 0 || strcmp(path, "/reload") == 0 ||
               strncmp(path, "/sessions/", 10) == 0) {
        admin_error(req, 405, "method not allowed here");
    } else {
        admin_error(req, 404,
                    "unknown path: want /status, /sessions, /metrics, "
                    "/reload or /sessions/ID/pause|resume|kill");
    }
    evbuffer_free(b);
}

/* A socket file nobody answers on is left from a crash: replace it. One
 * that answers belongs to a live proxy; anything else is not ours. */
static int
admin_clear_stale(const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sun;
    struct stat st;
    int fd, rc;

    if (lstat(path, &st) == -1)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISSOCK(st.st_mode)) {
        snprintf(err, errlen, "admin socket %s exists and is not a socket",
                 path);
        return -1;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd == -1)
        return -1;
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path, path, strlen(path) + 1);
    rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
    close(fd);
    if (rc == 0) {
        snprintf(err, errlen, "admin socket %s is in use by a running proxy",
                 path);
        return -1;
    }
    unlink(path);
    return 0;
}

struct admin *
admin_new(struct proxy *px, const char *path, char *err, size_t errlen)
{
    struct sockaddr_un sun;
    struct admin *a;
    mode_t old;
    int fd;

    err[0] = '\0'; /* admin_clear_stale() leaves it empty on some errors */
    if (strlen(path) >= sizeof(sun.sun_path)) {
        snprintf(err, errlen, "admin socket path too long: %s", path);
        return NULL;
    }
    if (admin_clear_stale(path, err, errlen) == -1) {
        if (err[0] == '\0')
            snprintf(err, errlen, "admin socket %s: %s", path, strerror(errno));
        return NULL;
    }
    a = calloc(1, sizeof(*a));
    if (a == NULL || (a->path = strdup(path)) == NULL) {
        free(a);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    a->px = px;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1)
        goto fail_errno;
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path, path, strlen(path) + 1);
    /* Created 0600 from the start: no window in which others may
     * connect. */
    old = umask(0177);
    if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
        umask(old);
        close(fd);
        goto fail_errno;
    }
    umask(old);
    if (chmod(path, 0600) == -1 || listen(fd, ADMIN_BACKLOG) == -1) {
        close(fd);
        unlink(path);
        goto fail_errno;
    }
    a->http = evhttp_new(px->base);
    if (a->http == NULL ||
        evhttp_accept_socket_with_handle(a->http, fd) == NULL) {
        close(fd);
        unlink(path);
        snprintf(err, errlen, "admin socket %s: cannot serve", path);
        goto fail;
    }
    evhttp_set_max_headers_size(a->http, ADMIN_MAX_HEADERS_BYTES);
    evhttp_set_max_body_size(a->http, ADMIN_MAX_BODY_BYTES);
    evhttp_set_timeout(a->http, ADMIN_TIMEOUT_S);
    /* Every method reaches our callback, so a wrong one gets our JSON 405
     * rather than evhttp's HTML page. */
    evhttp_set_allowed_methods(
        a->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                     EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                     EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
    evhttp_set_gencb(a->http, admin_request_cb, a);
    return a;

fail_errno:
    snprintf(err, errlen, "admin socket %s: %s", path, strerror(errno));
fail:
    if (a->http != NULL)
        evhttp_free(a->http);
    free(a->path);
    free(a);
    return NULL;
}

void
admin_free(struct admin *a)
{
    if (a == NULL)
        return;
    evhttp_free(a->http);
    unlink(a->path);
    free(a->path);
    free(a);
}
