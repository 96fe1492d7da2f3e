/* proxy/conn.c - client connections: head, decision, resolution, connect.
 *
 * A request goes READ_HEAD -> (decide) -> RESOLVING -> CONNECTING ->
 * TUNNEL or FORWARD. A denial at any step goes to CLOSING: the reply is
 * flushed, the write side shut, and the conn closed once the client has
 * gone or a short linger has passed (closing with unread input would
 * reset the connection and destroy the reply). */
#include "config.h"
#include "proxy/conn.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "logging/sink.h"
#include "policy/limits.h"
#include "proxy/access.h"
#include "proxy/auth.h"
#include "proxy/session.h"
#include "proxy/splice.h"
#include "proxy/forward.h"
#include "proxy/proxy.h"
#include "proxy/reply.h"
#include "proxy/sendq.h"
#include "proxy/tunnel.h"
#include "proxy/upstream.h"

/* Most bytes moved by one read or write on a relayed socket. */
#define CONN_IO_MAX (256 * 1024)
/* Most bytes a client may have read ahead of what is being served. */
#define CONN_INPUT_MAX (256 * 1024)
/* How long a denied client gets to read its reply before we close. */
#define CONN_LINGER_MS 2000

static void conn_client_read_cb(struct bufferevent *bev, void *arg);
static void conn_client_write_cb(struct bufferevent *bev, void *arg);
static void conn_client_event_cb(struct bufferevent *bev, short what,
                                 void *arg);
static void conn_read_head(struct conn *c);
static void conn_connect_next(struct conn *c);
static void conn_set_why(struct conn *c, const char *why);

/* Copies NUL-terminated <src> into <dst> of <size> bytes, cut to fit. */
static void
conn_copy(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);

    if (n >= size)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void
conn_set_state(struct conn *c, enum conn_state s)
{
    c->state = s;
}

void
conn_touch(struct conn *c)
{
    c->last_io_ms = proxy_now_ms(c->px);
}

static void conn_timer_cb(evutil_socket_t fd, short what, void *arg);

static void
conn_arm_timer(struct conn *c, int64_t now, int64_t due)
{
    int64_t ms = due > now ? due - now : 0;
    struct timeval tv = { (time_t)(ms / 1000),
                          (suseconds_t)(ms % 1000) * 1000 };

    evtimer_add(c->timer, &tv);
    c->timer_due_ms = due;
}

/* Timers are moved lazily: a keep-alive request sets three deadlines, and
 * moving libevent's timer each time cost more than the rest of the
 * bookkeeping. A timer already due no later than the new deadline stays;
 * when it fires early, conn_timer_cb() sets it again for what is left. */
void
conn_set_timer(struct conn *c, uint32_t ms)
{
    int64_t now = proxy_now_ms(c->px);

    c->deadline_ms = now + ms;
    if (c->timer_due_ms != 0 && c->timer_due_ms <= c->deadline_ms)
        return;
    conn_arm_timer(c, now, c->deadline_ms);
}

/* No deadline until the next conn_set_timer(); an armed timer that fires
 * meanwhile finds none and does nothing. */
static void
conn_clear_timer(struct conn *c)
{
    c->deadline_ms = 0;
}

void
conn_tune_bev(struct bufferevent *bev)
{
    /* libevent reads and writes 16 KiB per call by default: bulk bodies
     * then cost one syscall per 16 KiB each way. */
    bufferevent_set_max_single_read(bev, CONN_IO_MAX);
    bufferevent_set_max_single_write(bev, CONN_IO_MAX);
}

static void
conn_format_peer(const struct sockaddr *sa, char *out, size_t outlen, char *ip,
                 size_t iplen)
{
    struct addr a;
    uint16_t port;
    char text[ADDR_TEXT_MAX];

    if (addr_from_sockaddr_port(sa, &a, &port) == -1) {
        snprintf(out, outlen, "unix");
        snprintf(ip, iplen, "unix");
        return;
    }
    addr_format_endpoint(&a, port, out, outlen);
    addr_format(&a, text);
    snprintf(ip, iplen, "%s", text);
}

struct conn *
conn_new(struct proxy *px, const char *listener, evutil_socket_t fd,
         const struct sockaddr *sa, socklen_t salen)
{
    struct conn *c;

    (void)salen;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        goto fail_close;
    c->px = px;
    c->listener = strdup(listener);
    if (c->listener == NULL)
        goto fail_free;
    c->timer = evtimer_new(px->base, conn_timer_cb, c);
    if (c->timer == NULL)
        goto fail_free;
    /* TCP_NODELAY comes from the listening socket (listener.c). */
    c->client = bufferevent_socket_new(
        px->base, fd, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if (c->client == NULL)
        goto fail_free;
    /* From here on the bufferevent owns fd. */
    conn_format_peer(sa, c->client_text, sizeof(c->client_text), c->client_ip,
                     sizeof(c->client_ip));
    bufferevent_setcb(c->client, conn_client_read_cb, conn_client_write_cb,
                      conn_client_event_cb, c);
    conn_tune_bev(c->client);
    if (sendq_watch(c, c->client) == -1) {
        bufferevent_free(c->client);
        c->client = NULL;
        fd = -1;
        goto fail_free;
    }
    /* Input waiting for its turn (pipelined requests, early tunnel bytes)
     * stops being read past this much. */
    bufferevent_setwatermark(c->client, EV_READ, 0, CONN_INPUT_MAX);
    bufferevent_enable(c->client, EV_READ);
    conn_set_state(c, CONN_READ_HEAD);
    proxy_conn_opened(px, c);
    conn_touch(c);
    conn_set_timer(c, px->policy->header_timeout_ms);
    return c;

fail_free:
    if (c->timer != NULL)
        event_free(c->timer);
    free(c->listener);
    free(c);
fail_close:
    if (fd != -1)
        evutil_closesocket(fd);
    return NULL;
}

/* Reads up to <want> bytes from <fd> straight into the end of <out>:
 * libevent 2.1's bufferevents read 4 KiB per call, which makes bulk
 * relaying syscall-bound. Returns the bytes read, 0 at end of stream,
 * CONN_RELAY_AGAIN when nothing is there yet, CONN_RELAY_ERROR on an
 * error. */
static ssize_t
conn_read_into(evutil_socket_t fd, struct evbuffer *out, size_t want)
{
    struct evbuffer_iovec v[2];
    size_t left = want;
    ssize_t got;
    int n;

    n = evbuffer_reserve_space(out, (ev_ssize_t)want, v, 2);
    if (n <= 0)
        return CONN_RELAY_ERROR;
    /* Reserve may offer more than asked: read no further than <want>. */
    for (int i = 0; i < n; i++) {
        if (v[i].iov_len > left)
            v[i].iov_len = left;
        left -= v[i].iov_len;
    }
    got = readv(fd, (struct iovec *)v, n);
    if (got <= 0) {
        evbuffer_commit_space(out, v, 0);
        if (got == 0)
            return 0;
        return errno == EAGAIN || errno == EINTR ? CONN_RELAY_AGAIN
                                                 : CONN_RELAY_ERROR;
    }
    left = (size_t)got;
    for (int i = 0; i < n; i++) {
        if (v[i].iov_len > left)
            v[i].iov_len = left;
        left -= v[i].iov_len;
    }
    evbuffer_commit_space(out, v, n);
    return got;
}

ssize_t
conn_relay_read(struct conn *c, evutil_socket_t fd, struct evbuffer *out,
                bool up, uint64_t left)
{
    uint64_t want = CONN_DIRECT_READ, allow = conn_allowance(c, up);
    ssize_t got;

    if (allow == 0) {
        /* At the cap: one more byte crosses it, an end of stream does
         * not. */
        char probe;

        got = recv(fd, &probe, 1, MSG_PEEK);
        if (got == 1) {
            conn_cut_byte_cap(c);
            return CONN_RELAY_CUT;
        }
        if (got == 0)
            return 0;
        return errno == EAGAIN || errno == EINTR ? CONN_RELAY_AGAIN
                                                 : CONN_RELAY_ERROR;
    }
    if (want > left)
        want = left;
    if (want > allow)
        want = allow;
    got = conn_read_into(fd, out, (size_t)want);
    if (got <= 0)
        return got;
    if (up)
        c->r.bytes_up += (uint64_t)got;
    else
        c->r.bytes_down += (uint64_t)got;
    conn_account(c, up, (uint64_t)got);
    conn_touch(c);
    return got;
}

/* Frees per-request state and drops the policy reference. */
static void
conn_req_reset(struct conn *c)
{
    free(c->r.path);
    memset(&c->r, 0, sizeof(c->r));
    if (c->pending != NULL) {
        evbuffer_free(c->pending);
        c->pending = NULL;
    }
    policy_unref(c->policy);
    c->policy = NULL;
    c->lconf = NULL;
}

/* Gives back what admission took: the open slot, and the shaping. */
static void
conn_release(struct conn *c)
{
    struct conn_req *r = &c->r;

    if (r->shaped) {
        bufferevent_remove_from_rate_limit_group(c->client);
        if (c->upstream != NULL)
            bufferevent_remove_from_rate_limit_group(c->upstream);
        r->shaped = false;
    }
    if (r->admitted) {
        r->st->usage.open--;
        r->sess->open--;
        r->admitted = false;
    }
}

void
conn_log_request(struct conn *c)
{
    if (c->r.start_ms == 0 || c->r.logged)
        return;
    c->r.logged = true;
    conn_release(c);
    access_log(c);
}

/* One alert event per cap and session, when usage first reaches
 * alert_at percent of the cap. */
static void
conn_alert(struct conn *c, enum limits_cap cap, uint64_t used, uint64_t limit)
{
    struct proxy *px = c->px;
    struct conn_req *r = &c->r;

    if (!limits_alert_due(used, limit, r->tier->limits.alert_at_pct, cap,
                          &r->st->alerts_fired))
        return;
    proxy_event_begin(px, "alert");
    jsonl_str(&px->line, "session", r->sess->id);
    jsonl_str(&px->line, "tier", r->tier->name);
    jsonl_str(&px->line, "cap", limits_cap_name(cap));
    jsonl_uint(&px->line, "used", used);
    jsonl_uint(&px->line, "limit", limit);
    proxy_write_event(px);
}

static void
conn_alerts(struct conn *c)
{
    struct conn_req *r = &c->r;
    const struct tier_limits *l = &r->tier->limits;
    const struct limits_usage *u = &r->st->usage;

    if (l->alert_at_pct == 0)
        return;
    conn_alert(c, LIMITS_CAP_BYTES_UP, u->bytes_up, l->bytes_up);
    conn_alert(c, LIMITS_CAP_BYTES_DOWN, u->bytes_down, l->bytes_down);
    conn_alert(c, LIMITS_CAP_REQUESTS,
               limits_rate_used(l, u, proxy_now_ms(c->px)),
               l->requests_per_minute);
    conn_alert(c, LIMITS_CAP_CONNECTIONS, u->open, l->connections);
}

uint64_t
conn_allowance(struct conn *c, bool up)
{
    const struct conn_req *r = &c->r;

    if (!r->admitted || r->st == NULL)
        return UINT64_MAX;
    return up ? limits_allowance(r->tier->limits.bytes_up,
                                 r->st->usage.bytes_up)
              : limits_allowance(r->tier->limits.bytes_down,
                                 r->st->usage.bytes_down);
}

void
conn_account(struct conn *c, bool up, uint64_t n)
{
    struct conn_req *r = &c->r;

    if (!r->admitted || r->st == NULL || n == 0)
        return;
    if (up)
        r->st->usage.bytes_up += n;
    else
        r->st->usage.bytes_down += n;
    conn_alerts(c);
}

void
conn_cut_byte_cap(struct conn *c)
{
    c->r.reason = REASON_BYTE_CAP;
    conn_close(c);
}

void
conn_shape(struct conn *c, struct bufferevent *bev)
{
    struct conn_req *r = &c->r;

    if (!r->admitted || r->st == NULL || r->tier->limits.bandwidth_bps == 0)
        return;
    if (session_tier_shape(r->st, c->px->base, r->tier->limits.bandwidth_bps,
                           bev) == 0) {
        r->shaped = true;
        /* The rate limit lives in libevent's own writes (sendq.h). */
        bufferevent_enable(bev, EV_WRITE);
    }
}

/* Step 4 of SPEC section 3: the session's state, then the tier's caps.
 * Returns 0 when admitted (counted open until the request is logged), -1
 * when denied (already answered). */
static int
conn_admit(struct conn *c)
{
    struct proxy *px = c->px;
    struct conn_req *r = &c->r;
    int64_t now = proxy_now_ms(px);
    enum reason why = REASON_ALLOWED;

    r->sess = session_get(px->sessions, c->session, now);
    if (r->sess == NULL) {
        conn_set_why(c, "too many sessions");
        conn_deny(c, REASON_CONNECTION_CAP);
        return -1;
    }
    if (r->sess->state == SESSION_PAUSED) {
        conn_deny(c, REASON_SESSION_PAUSED);
        return -1;
    }
    if (r->sess->state == SESSION_KILLED) {
        conn_deny(c, REASON_SESSION_KILLED);
        return -1;
    }
    if (r->tier == NULL) {
        /* Report mode without a tier: nothing to meter. */
        return 0;
    }
    r->st = session_tier_get(r->sess, r->tier->name);
    if (r->st == NULL) {
        conn_set_why(c, "out of memory");
        conn_deny(c, REASON_CONNECTION_CAP);
        return -1;
    }
    why = limits_admit(&r->tier->limits, &r->st->usage, now, &r->retry_after_s);
    if (why != REASON_ALLOWED) {
        conn_deny(c, why);
        return -1;
    }
    r->st->usage.open++;
    r->st->requests++;
    r->sess->open++;
    r->sess->requests++;
    r->admitted = true;
    conn_alerts(c);
    return 0;
}

/* auth.mode basic: the session is who the credentials say, or nobody. */
static bool
conn_authenticate(struct conn *c, const struct http_request *req)
{
    const struct slice *value = NULL;
    char id[AUTH_ID_MAX];

    for (size_t i = 0; i < req->n_fields; i++) {
        if (!http_name_is(req->fields[i].name, "proxy-authorization"))
            continue;
        if (value != NULL)
            return false; /* two credentials: refuse to pick one */
        value = &req->fields[i].value;
    }
    if (value == NULL || !auth_check(c->px->tokens, *value, id))
        return false;
    conn_copy(c->session, sizeof(c->session), id);
    return true;
}

void
conn_kill_session(struct proxy *px, const char *id)
{
    struct conn *c = px->conns, *next;

    for (; c != NULL; c = next) {
        next = c->next;
        if (strcmp(c->session, id) != 0)
            continue;
        if (c->r.start_ms != 0 && !c->r.logged)
            c->r.reason = REASON_SESSION_KILLED;
        conn_close(c);
    }
}

static void
conn_free_upstream(struct conn *c)
{
    /* Both direct readers write into or read from the upstream side. */
    if (c->direct_ev != NULL) {
        event_free(c->direct_ev);
        c->direct_ev = NULL;
    }
    if (c->direct_up_ev != NULL) {
        event_free(c->direct_up_ev);
        c->direct_up_ev = NULL;
    }
    if (c->upstream != NULL) {
        bufferevent_free(c->upstream);
        c->upstream = NULL;
    }
    c->upstream_reusable = false;
    c->up_host[0] = '\0';
}

void
conn_close(struct conn *c)
{
    conn_log_request(c);
    if (c->query != NULL) {
        resolver_cancel(c->query);
        c->query = NULL;
    }
    splice_free(c->splice);
    c->splice = NULL;
    sendq_forget(c);
    conn_free_upstream(c);
    if (c->client != NULL)
        bufferevent_free(c->client);
    event_free(c->timer);
    conn_req_reset(c);
    proxy_conn_closed(c->px, c);
    free(c->listener);
    free(c);
}

/* Starts the record of a new request on the current policy snapshot. */
static void
conn_begin_request(struct conn *c)
{
    struct proxy *px = c->px;

    conn_req_reset(c);
    c->policy = policy_ref(px->policy);
    c->lconf = policy_find_listener(c->policy, c->listener);
    c->r.start_ms = proxy_now_ms(px);
    if (c->r.start_ms == 0)
        c->r.start_ms = 1;
    proxy_next_id(px, c->r.start_ms, c->r.id);
    /* Each request names its session afresh: credentials may differ. */
    if (c->policy->auth_mode == AUTH_BASIC)
        c->session[0] = '\0';
    else if (c->lconf != NULL && c->lconf->session != NULL)
        conn_copy(c->session, sizeof(c->session), c->lconf->session);
    else
        conn_copy(c->session, sizeof(c->session), c->client_ip);
}

void
conn_deny(struct conn *c, enum reason reason)
{
    struct evbuffer *out = bufferevent_get_output(c->client);

    c->r.reason = reason;
    if (c->query != NULL) {
        resolver_cancel(c->query);
        c->query = NULL;
    }
    conn_free_upstream(c);
    reply_deny(c, out);
    conn_finish(c);
}

/* In CLOSING, once the output is empty: stop writing, and close when the
 * client does (closing with unread input would reset the connection and
 * could destroy the reply before the client read it). */
static void
conn_closing_flushed(struct conn *c)
{
    evutil_socket_t fd;

    if (evbuffer_get_length(bufferevent_get_output(c->client)) != 0)
        return;
    if (c->client_eof) {
        conn_close(c);
        return;
    }
    fd = bufferevent_getfd(c->client);
    if (fd != -1)
        shutdown(fd, SHUT_WR);
    conn_set_timer(c, CONN_LINGER_MS);
}

void
conn_finish(struct conn *c)
{
    conn_log_request(c);
    conn_set_state(c, CONN_CLOSING);
    /* The write callback must fire only when the output is empty, not at
     * a backpressure watermark left from relaying. */
    bufferevent_setwatermark(c->client, EV_WRITE, 0, 0);
    bufferevent_enable(c->client, EV_READ);
    /* Flushing a large reply to a slow client may take a while; the
     * idle timeout bounds it. */
    conn_set_timer(c, c->px->policy->idle_timeout_ms);
    if (evbuffer_get_length(bufferevent_get_output(c->client)) == 0)
        conn_closing_flushed(c);
}

void
conn_request_done(struct conn *c)
{
    conn_log_request(c);
    conn_req_reset(c);
    conn_set_state(c, CONN_READ_HEAD);
    conn_touch(c);
    conn_set_timer(c, c->px->policy->idle_timeout_ms);
    if (c->px->shutting_down &&
        evbuffer_get_length(bufferevent_get_input(c->client)) == 0) {
        conn_finish(c);
        return;
    }
    bufferevent_enable(c->client, EV_READ);
    /* A pipelined request may already be waiting. */
    if (evbuffer_get_length(bufferevent_get_input(c->client)) > 0)
        bufferevent_trigger(c->client, EV_READ, 0);
}

/* ---- target parsing ---------------------------------------------------- */

static bool
conn_parse_port(const char *p, size_t len, uint16_t *port)
{
    unsigned long v = 0;

    if (len == 0 || len > 5)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (unsigned long)(p[i] - '0');
    }
    if (v == 0 || v > 65535)
        return false;
    *port = (uint16_t)v;
    return true;
}

/* Splits "host:port", "[v6]:port" or (without <need_port>) "host" into a
 * host slice (brackets kept) and a port. */
static bool
conn_split_authority(const char *p, size_t len, bool need_port,
                     uint16_t default_port, struct slice *host, uint16_t *port)
{
    const char *colon = NULL;

    if (len == 0)
        return false;
    if (p[0] == '[') {
        const char *close = memchr(p, ']', len);

        if (close == NULL)
            return false;
        host->p = p;
        host->len = (size_t)(close - p) + 1;
        if (host->len == len) {
            if (need_port)
                return false;
            *port = default_port;
            return true;
        }
        if (p[host->len] != ':')
            return false;
        colon = p + host->len;
    } else {
        for (size_t i = len; i > 0; i--) {
            if (p[i - 1] == ':') {
                colon = p + i - 1;
                break;
            }
        }
        host->p = p;
        host->len = colon != NULL ? (size_t)(colon - p) : len;
        /* An unbracketed IPv6 address has more than one colon. */
        if (colon != NULL && memchr(p, ':', host->len) != NULL)
            return false;
        if (colon == NULL) {
            if (need_port)
                return false;
            *port = default_port;
            return true;
        }
    }
    if (host->len == 0)
        return false;
    return conn_parse_port(colon + 1, (size_t)(p + len - colon - 1), port);
}

static bool
conn_has_prefix_ci(struct slice s, const char *lit)
{
    size_t n = strlen(lit);

    if (s.len < n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s.p[i];

        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        if (ch != lit[i])
            return false;
    }
    return true;
}

static void
conn_set_why(struct conn *c, const char *why)
{
    snprintf(c->r.why, sizeof(c->r.why), "%s", why);
}

/* Fills host, port, authority and path from the request target; on a
 * malformed target sets why and returns false. <host> is left pointing at
 * the host text inside the head. */
static bool
conn_parse_target(struct conn *c, const struct http_request *req,
                  struct slice *host)
{
    struct slice t = req->target;
    struct conn_req *r = &c->r;
    static const char http[] = "http://";
    size_t alen = 0;

    if (r->is_connect) {
        if (!conn_split_authority(t.p, t.len, true, 0, host, &r->port)) {
            conn_set_why(c, "CONNECT needs a host:port target");
            return false;
        }
        if (t.len >= sizeof(r->authority)) {
            conn_set_why(c, "CONNECT target too long");
            return false;
        }
        memcpy(r->authority, t.p, t.len);
        r->authority[t.len] = '\0';
        return true;
    }
    if (t.len > 0 && t.p[0] == '/') {
        conn_set_why(c, "origin-form request; this is a proxy: send an "
                        "absolute URI (http://host/path) or use CONNECT");
        return false;
    }
    if (conn_has_prefix_ci(t, "https://")) {
        conn_set_why(c, "https:// URIs are not forwarded; use CONNECT");
        return false;
    }
    if (!conn_has_prefix_ci(t, http)) {
        if (memchr(t.p, ':', t.len) != NULL && memchr(t.p, '/', t.len) == NULL)
            conn_set_why(c, "authority-form target is only valid with "
                            "CONNECT");
        else
            conn_set_why(c, "request target is not an http:// URI");
        return false;
    }
    t.p += sizeof(http) - 1;
    t.len -= sizeof(http) - 1;
    if (memchr(t.p, '#', t.len) != NULL) {
        conn_set_why(c, "fragment in request target");
        return false;
    }
    while (alen < t.len && t.p[alen] != '/' && t.p[alen] != '?')
        alen++;
    if (memchr(t.p, '@', alen) != NULL) {
        conn_set_why(c, "credentials in the request URI");
        return false;
    }
    if (!conn_split_authority(t.p, alen, false, 80, host, &r->port) ||
        alen >= sizeof(r->authority)) {
        conn_set_why(c, "bad authority in request URI");
        return false;
    }
    memcpy(r->authority, t.p, alen);
    r->authority[alen] = '\0';
    /* The path as sent upstream: "/" when empty, "/?q" for a bare query. */
    size_t plen = t.len - alen;
    bool slash = plen == 0 || t.p[alen] == '?';

    r->path = malloc(plen + 2);
    if (r->path == NULL) {
        conn_set_why(c, "out of memory");
        return false;
    }
    if (slash)
        r->path[0] = '/';
    memcpy(r->path + slash, t.p + alen, plen);
    r->path[plen + slash] = '\0';
    return true;
}

/* ---- deciding ----------------------------------------------------------- */

static void conn_resolved_cb(enum resolver_status status,
                             const struct addr *addrs, size_t n, void *arg);

static const char *
conn_resolver_status_text(enum resolver_status s)
{
    switch (s) {
    case RESOLVER_OK:
        return "ok";
    case RESOLVER_NXDOMAIN:
        return "no such name (NXDOMAIN or no address)";
    case RESOLVER_SERVFAIL:
        return "the DNS server failed (SERVFAIL)";
    case RESOLVER_TIMEOUT:
        return "the DNS lookup timed out";
    case RESOLVER_CANCELLED:
        return "the lookup was cancelled";
    }
    return "lookup failed";
}

/* Step 5: every address must pass, and none may be one of our own
 * listeners; then connect to the first. */
static void
conn_addrs_ready(struct conn *c)
{
    struct conn_req *r = &c->r;
    char text[ADDR_TEXT_MAX];

    for (size_t i = 0; i < r->n_addrs; i++) {
        enum addr_class cls = ADDR_PUBLIC;
        bool own = proxy_is_own_listener(c->px, &r->addrs[i], r->port);

        if (policy_check_addr(c->policy, &r->addrs[i]) == REASON_ALLOWED &&
            !own)
            continue;
        addr_format(&r->addrs[i], text);
        addr_is_denied(&r->addrs[i], c->policy->deny_ranges,
                       c->policy->allow_ranges, &cls);
        snprintf(r->why, sizeof(r->why), "%s (%s)", text,
                 own ? "this proxy's own listener" : addr_class_name(cls));
        conn_deny(c, REASON_DENIED_ADDRESS);
        return;
    }
    r->next_addr = 0;
    conn_connect_next(c);
}

static void
conn_resolve(struct conn *c)
{
    conn_set_state(c, CONN_RESOLVING);
    /* The callback always comes later, from the loop. */
    c->r.dns_start_ms = proxy_now_ms(c->px);
    c->query = resolver_lookup(c->px->resolver, c->r.host, conn_resolved_cb, c);
    if (c->query == NULL) {
        conn_set_why(c, "out of memory");
        conn_deny(c, REASON_DNS_FAILURE);
    }
}

/* Step 5's input: an IP literal is its own answer, a name is resolved. */
static void
conn_find_addrs(struct conn *c)
{
    if (c->r.d.is_literal) {
        c->r.addrs[0] = c->r.d.literal;
        c->r.n_addrs = 1;
        conn_addrs_ready(c);
        return;
    }
    conn_resolve(c);
}

static void
conn_resolved_cb(enum resolver_status status, const struct addr *addrs,
                 size_t n, void *arg)
{
    struct conn *c = arg;

    c->query = NULL;
    metrics_dns(&c->px->metrics, proxy_now_ms(c->px) - c->r.dns_start_ms,
                status != RESOLVER_OK || n == 0);
    if (status != RESOLVER_OK || n == 0) {
        conn_set_why(c, conn_resolver_status_text(status == RESOLVER_OK
                                                      ? RESOLVER_NXDOMAIN
                                                      : status));
        conn_deny(c, REASON_DNS_FAILURE);
        return;
    }
    if (n > RESOLVER_ADDRS_MAX)
        n = RESOLVER_ADDRS_MAX;
    memcpy(c->r.addrs, addrs, n * sizeof(*addrs));
    c->r.n_addrs = n;
    conn_addrs_ready(c);
}

static void
conn_upstream_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;
    struct conn_req *r = &c->r;

    (void)bev;
    if (what & BEV_EVENT_CONNECTED) {
        conn_clear_timer(c);
        r->connected = true;
        r->addr = r->addrs[r->next_addr - 1];
        conn_copy(c->up_host, sizeof(c->up_host), r->host);
        c->up_port = r->port;
        c->up_addr = r->addr;
        if (r->is_connect)
            tunnel_start(c);
        else
            forward_start(c);
        return;
    }
    snprintf(r->why, sizeof(r->why), "%s",
             strerror(EVUTIL_SOCKET_ERROR() != 0 ? EVUTIL_SOCKET_ERROR()
                                                 : ECONNREFUSED));
    r->timed_out = false;
    conn_free_upstream(c);
    conn_connect_next(c);
}

/* Tries the checked addresses in order; the answer's own order decides. */
static void
conn_connect_next(struct conn *c)
{
    struct conn_req *r = &c->r;

    conn_set_state(c, CONN_CONNECTING);
    while (r->next_addr < r->n_addrs) {
        const struct addr *a = &r->addrs[r->next_addr++];

        c->upstream = upstream_connect(c->px->base, a, r->port);
        if (c->upstream == NULL) {
            snprintf(r->why, sizeof(r->why), "%s", strerror(errno));
            continue;
        }
        bufferevent_setcb(c->upstream, NULL, NULL, conn_upstream_event_cb, c);
        conn_tune_bev(c->upstream);
        if (sendq_watch(c, c->upstream) == -1) {
            snprintf(r->why, sizeof(r->why), "out of memory");
            bufferevent_free(c->upstream);
            c->upstream = NULL;
            continue;
        }
        conn_set_timer(c, c->policy->connect_timeout_ms);
        return;
    }
    conn_deny(c,
              r->timed_out ? REASON_UPSTREAM_TIMEOUT : REASON_UPSTREAM_FAILED);
}

/* Copies what the log should show of a host that failed normalisation. */
static void
conn_copy_raw_host(struct conn *c, struct slice host)
{
    size_t n = host.len < DOMAIN_NAME_MAX - 1 ? host.len : DOMAIN_NAME_MAX - 1;

    memcpy(c->r.host, host.p, n);
    c->r.host[n] = '\0';
}

/* A complete head: judge it and start the upstream side. */
static void
conn_handle_request(struct conn *c, const struct http_request *req)
{
    struct proxy *px = c->px;
    struct conn_req *r = &c->r;
    struct evbuffer *in = bufferevent_get_input(c->client);
    struct slice host = { NULL, 0 };
    const char *why = NULL;

    conn_clear_timer(c);
    if (req->method.len >= sizeof(r->method)) {
        conn_set_why(c, "method too long");
        conn_deny(c, REASON_BAD_REQUEST);
        return;
    }
    memcpy(r->method, req->method.p, req->method.len);
    r->method[req->method.len] = '\0';
    r->is_connect = strcmp(r->method, "CONNECT") == 0;
    r->is_head = strcmp(r->method, "HEAD") == 0;
    r->version_minor = req->version_minor;

    if (c->lconf == NULL || px->shutting_down) {
        conn_deny(c, REASON_SHUTTING_DOWN);
        return;
    }
    /* No egress without an audit line: while the access log fails, refuse;
     * the refusal's own line is the probe that ends the outage. */
    if (sink_is_failed(px->access) || !proxy_log_has_room(px)) {
        conn_deny(c, REASON_LOG_UNAVAILABLE);
        return;
    }
    if (!conn_parse_target(c, req, &host)) {
        if (host.p != NULL)
            conn_copy_raw_host(c, host);
        conn_deny(c, REASON_BAD_REQUEST);
        return;
    }
    if (c->policy->auth_mode == AUTH_BASIC && !conn_authenticate(c, req)) {
        if (host.p != NULL)
            conn_copy_raw_host(c, host);
        conn_deny(c, REASON_AUTH_REQUIRED);
        return;
    }
    if (http_request_framing(req, &c->req_framing, &why) != HTTP_HEAD_DONE) {
        conn_set_why(c, why != NULL ? why : "bad message framing");
        conn_deny(c, REASON_BAD_REQUEST);
        return;
    }
    if (r->is_connect && c->req_framing.kind != HTTP_BODY_NONE) {
        conn_set_why(c, "CONNECT with a request body");
        conn_deny(c, REASON_BAD_REQUEST);
        return;
    }

    policy_check_host(c->policy, c->lconf, host.p, host.len, r->port, &r->d);
    r->reason = r->d.reason;
    r->would_deny = r->d.would_deny;
    r->tier = r->d.tier;
    if (r->d.host[0] != '\0')
        conn_copy(r->host, sizeof(r->host), r->d.host);
    else
        conn_copy_raw_host(c, host);
    if (!reason_is_allow(r->reason)) {
        if (r->reason == REASON_BAD_REQUEST)
            conn_set_why(c, "the host is neither a DNS name nor an IP address");
        if (r->reason == REASON_DENIED_ADDRESS) {
            enum addr_class cls = ADDR_SPECIAL;

            addr_is_denied(&r->d.literal, c->policy->deny_ranges,
                           c->policy->allow_ranges, &cls);
            snprintf(r->why, sizeof(r->why), "%s (%s)", r->host,
                     addr_class_name(cls));
        }
        conn_deny(c, r->reason);
        return;
    }
    if (conn_admit(c) == -1)
        return;

    c->client_close = c->req_framing.close;
    if (!r->is_connect) {
        c->pending = evbuffer_new();
        if (c->pending == NULL ||
            forward_build_request_head(c, req, c->pending) == -1) {
            conn_set_why(c, "out of memory");
            conn_deny(c, REASON_BAD_REQUEST);
            return;
        }
    }
    evbuffer_drain(in, req->head_len);
    /* Bytes after the head wait in the input until the upstream side is
     * ready; the read watermark bounds them without epoll churn. */

    if (!r->is_connect && c->upstream != NULL) {
        if (c->upstream_reusable && c->up_port == r->port &&
            strcmp(c->up_host, r->host) == 0) {
            r->connected = true;
            r->reused = true;
            r->addr = c->up_addr;
            forward_start(c);
            return;
        }
    }
    conn_free_upstream(c);
    conn_find_addrs(c);
}

void
conn_retry_fresh(struct conn *c)
{
    conn_free_upstream(c);
    c->r.connected = false;
    c->r.reused = false;
    conn_find_addrs(c);
}

static void
conn_read_head(struct conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->client);
    size_t len = evbuffer_get_length(in);
    size_t max;
    struct http_request *req;
    const char *why = NULL;
    enum http_head_result res;
    const char *p;

    if (len == 0)
        return;
    /* The head timer starts with the first byte of a request. */
    if (c->r.start_ms == 0) {
        conn_begin_request(c);
        conn_set_timer(c, c->policy->header_timeout_ms);
    }
    /* The snapshot that judges this request, as the 431 reply says. */
    max = c->policy->max_header_bytes;
    if (len > max)
        len = max;
    req = c->px->scratch_req;
    /* Parse the first contiguous chunk in place; copy the head into one
     * piece only when it spans chunks. */
    size_t contig = evbuffer_get_contiguous_space(in);

    if (contig > len)
        contig = len;
    p = (const char *)evbuffer_pullup(in, (ssize_t)contig);
    res = p == NULL ? HTTP_HEAD_AGAIN
                    : http_request_parse(p, contig, max, req, &why);
    if (res == HTTP_HEAD_AGAIN && contig < len) {
        p = (const char *)evbuffer_pullup(in, (ssize_t)len);
        if (p == NULL) {
            conn_close(c);
            return;
        }
        res = http_request_parse(p, len, max, req, &why);
    }
    switch (res) {
    case HTTP_HEAD_AGAIN:
        break;
    case HTTP_HEAD_BAD:
        conn_set_why(c, why != NULL ? why : "malformed request head");
        conn_deny(c, REASON_BAD_REQUEST);
        break;
    case HTTP_HEAD_TOO_BIG:
        conn_deny(c, REASON_HEADER_TOO_LARGE);
        break;
    case HTTP_HEAD_DONE:
        conn_handle_request(c, req);
        break;
    }
}

/* ---- callbacks ------------------------------------------------------------
 */

static void
conn_client_read_cb(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;

    switch (c->state) {
    case CONN_READ_HEAD:
        conn_read_head(c);
        break;
    case CONN_FORWARD:
        forward_client_readable(c);
        break;
    case CONN_CLOSING:
        evbuffer_drain(bufferevent_get_input(bev),
                       evbuffer_get_length(bufferevent_get_input(bev)));
        break;
    case CONN_RESOLVING:
    case CONN_CONNECTING:
    case CONN_TUNNEL:
        /* Kept for later, up to the read watermark. */
        break;
    }
}

static void
conn_client_write_cb(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;

    sendq_drained(c, bev);
    switch (c->state) {
    case CONN_CLOSING:
        conn_closing_flushed(c);
        break;
    case CONN_FORWARD:
        forward_client_drained(c);
        break;
    case CONN_READ_HEAD:
    case CONN_RESOLVING:
    case CONN_CONNECTING:
    case CONN_TUNNEL:
        break;
    }
}

static void
conn_client_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;

    (void)bev;
    if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR)) {
        c->client_eof = true;
        if (c->state == CONN_FORWARD) {
            forward_client_eof(c);
            return;
        }
        if (c->state == CONN_CLOSING &&
            evbuffer_get_length(bufferevent_get_output(c->client)) != 0)
            return; /* the write callback closes once flushed */
    }
    /* EOF or error: the client is gone. A request still being decided
     * is logged as it stands. */
    conn_close(c);
}

static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    struct proxy *px = c->px;
    int64_t now = proxy_now_ms(px);
    uint32_t idle = px->policy->idle_timeout_ms;

    (void)fd;
    (void)what;
    c->timer_due_ms = 0;
    if (c->deadline_ms == 0)
        return;
    if (now < c->deadline_ms) {
        conn_arm_timer(c, now, c->deadline_ms);
        return;
    }
    switch (c->state) {
    case CONN_READ_HEAD:
        if (c->r.start_ms == 0) {
            /* Idle between requests, or never sent a byte. */
            conn_close(c);
            return;
        }
        conn_set_why(c, "request head not received in time");
        conn_deny(c, REASON_BAD_REQUEST);
        return;
    case CONN_CONNECTING:
        c->r.timed_out = true;
        snprintf(c->r.why, sizeof(c->r.why), "connect timed out");
        conn_free_upstream(c);
        conn_connect_next(c);
        return;
    case CONN_TUNNEL:
    case CONN_FORWARD:
        if (now - c->last_io_ms < (int64_t)idle) {
            conn_set_timer(c, (uint32_t)(idle - (now - c->last_io_ms)));
            return;
        }
        if (c->state == CONN_FORWARD && !c->resp_head_done) {
            conn_deny(c, REASON_UPSTREAM_TIMEOUT);
            return;
        }
        conn_close(c);
        return;
    case CONN_RESOLVING:
        /* The resolver enforces its own timeout; nothing to do. */
        return;
    case CONN_CLOSING:
        conn_close(c);
        return;
    }
}

void
conn_close_all(struct proxy *px)
{
    while (px->conns != NULL)
        conn_close(px->conns);
}

void
conn_close_idle(struct proxy *px)
{
    struct conn *c = px->conns, *next;

    for (; c != NULL; c = next) {
        next = c->next;
        if (c->state == CONN_READ_HEAD && c->r.start_ms == 0)
            conn_finish(c);
    }
}
