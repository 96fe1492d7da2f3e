/* proxy/resolver.c - A + AAAA lookups with c-ares 1.18 on the proxy's
 * libevent loop. c-ares owns the DNS protocol; this file owns the glue:
 * one libevent event per c-ares socket, one timer for c-ares' retransmits,
 * one timer per lookup that enforces timeout_ms, and delivery of every
 * result from the event loop (never from inside resolver_lookup() or
 * ares_process_fd()), so callers can start, cancel or free anything from
 * their callback. */
#include "config.h"

#include "proxy/resolver.h"

#include <arpa/inet.h>
#include <assert.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <ares.h>
#include <event2/event.h>

#include "policy/domain.h"

#define RESOLVER_DNS_PORT 53
#define RESOLVER_PORT_MAX 65535
#define RESOLVER_MS_PER_S 1000
#define RESOLVER_US_PER_MS 1000

/* Two tries per server. c-ares doubles the per-try timeout on each round
 * over the servers, so n servers and two tries take n * t * (1 + 2): the
 * per-try timeout is sized so that the whole schedule fits timeout_ms. */
#define RESOLVER_TRIES 2
#define RESOLVER_TRY_ROUNDS_WEIGHT 3

/* Lookup order: "b" is DNS only, "f" /etc/hosts. Configured servers mean
 * the operator chose what names resolve to, so the local hosts file is not
 * consulted; with the system configuration it is, like libc. */
#define RESOLVER_LOOKUPS_DNS "b"
#define RESOLVER_LOOKUPS_SYSTEM "fb"

/* "[ffff:...:255.255.255.255]:65535" plus NUL, with room to spare. */
#define RESOLVER_SERVER_TEXT_MAX 64

/* Answers are kept for their TTL (at most RESOLVER_CACHE_TTL_MAX_S) in a
 * direct-mapped table: bounded memory, O(1), and a collision only costs a
 * lookup. Every cached address is judged again by the caller on use. */
#define RESOLVER_CACHE_SLOTS 1024
#define RESOLVER_CACHE_TTL_MAX_S 3600

struct resolver_cache_entry {
    int64_t expires_ms;
    size_t n;
    char name[DOMAIN_NAME_MAX];
    struct addr addrs[]; /* n of them */
};

/* c-ares socket -> the libevent event that watches it. */
struct resolver_fd {
    ares_socket_t fd;
    struct event *ev;
};

struct resolver {
    struct event_base *base; /* borrowed: outlives the resolver */
    ares_channel ch;
    struct event *timer; /* c-ares' next retransmit or timeout */
    struct resolver_fd *fds;
    size_t nfds, fds_cap;
    struct resolver_query *queries; /* every live query, for resolver_free */
    struct timeval timeout;         /* per lookup */
    unsigned long lookups;
    bool closing; /* inside resolver_free(): no new lookups */
    struct resolver_cache_entry *cache[RESOLVER_CACHE_SLOTS];
};

/* A query lives until both c-ares is done with it (in_ares false) and its
 * result has been delivered or dropped. c-ares 1.18 cannot cancel one
 * query, so after a timeout or resolver_cancel() the struct waits for the
 * c-ares callback with done == NULL and is then freed there. */
struct resolver_query {
    struct resolver *r; /* borrowed: the resolver frees every query */
    struct resolver_query *prev, *next;
    resolver_done_fn *done; /* NULL once cancelled or delivered */
    void *arg;
    struct event *ev; /* the timeout, then the deferred delivery */
    bool in_ares;     /* c-ares holds this struct as its callback arg */
    bool finished;    /* result below is final, delivery is pending */
    enum resolver_status status;
    size_t n;
    struct addr addrs[RESOLVER_ADDRS_MAX];
    int64_t ttl_s; /* smallest TTL of the answer; -1 unknown */
    char name[DOMAIN_NAME_MAX];
};

static void
resolver_query_free(struct resolver_query *q)
{
    struct resolver *r = q->r;

    if (q->prev != NULL)
        q->prev->next = q->next;
    else
        r->queries = q->next;
    if (q->next != NULL)
        q->next->prev = q->prev;
    event_free(q->ev);
    free(q);
}

/* c-ares 1.18 reports its next deadline in whole milliseconds, rounded
 * down: a deadline less than 1 ms away reads as 0, yet is not due when
 * processed, which would spin the loop until it is. Waking 1 ms late
 * instead costs nothing. */
#define RESOLVER_TIMER_SLACK_US 1000
#define RESOLVER_US_PER_S 1000000

/* Re-arms the single c-ares timer after anything that may have changed
 * c-ares' schedule (a new query, processed I/O, a fired timeout). */
static void
resolver_arm_timer(struct resolver *r)
{
    struct timeval tv;

    if (ares_timeout(r->ch, NULL, &tv) == NULL) {
        evtimer_del(r->timer);
        return;
    }
    tv.tv_usec += RESOLVER_TIMER_SLACK_US;
    if (tv.tv_usec >= RESOLVER_US_PER_S) {
        tv.tv_sec++;
        tv.tv_usec -= RESOLVER_US_PER_S;
    }
    evtimer_add(r->timer, &tv);
}

static void
resolver_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct resolver *r = arg;

    (void)fd;
    (void)what;
    ares_process_fd(r->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    resolver_arm_timer(r);
}

static void
resolver_io_cb(evutil_socket_t fd, short what, void *arg)
{
    struct resolver *r = arg;

    ares_process_fd(r->ch, (what & EV_READ) ? fd : ARES_SOCKET_BAD,
                    (what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
    resolver_arm_timer(r);
}

static void
resolver_fd_remove(struct resolver *r, size_t i)
{
    event_free(r->fds[i].ev);
    r->fds[i] = r->fds[--r->nfds];
}

/* c-ares opens, closes or changes interest in one of its sockets. This
 * may run from inside resolver_io_cb() for the very event it frees, which
 * libevent allows for a non-threaded base. */
static void
resolver_sock_state_cb(void *data, ares_socket_t fd, int readable, int writable)
{
    struct resolver *r = data;
    struct resolver_fd *grown;
    struct event *ev;
    size_t i, cap;
    short events;

    for (i = 0; i < r->nfds; i++) {
        if (r->fds[i].fd == fd)
            break;
    }
    if (!readable && !writable) {
        if (i < r->nfds)
            resolver_fd_remove(r, i);
        return;
    }
    events = (short)((readable ? EV_READ : 0) | (writable ? EV_WRITE : 0) |
                     EV_PERSIST);
    /* A new event rather than event_assign(): the old one may be the one
     * running right now. Without memory here the socket goes unwatched and
     * the lookups on it end by their own timeout. */
    ev = event_new(r->base, fd, events, resolver_io_cb, r);
    if (ev == NULL || event_add(ev, NULL) == -1) {
        if (ev != NULL)
            event_free(ev);
        if (i < r->nfds)
            resolver_fd_remove(r, i);
        return;
    }
    if (i < r->nfds) {
        event_free(r->fds[i].ev);
        r->fds[i].ev = ev;
        return;
    }
    if (r->nfds == r->fds_cap) {
        cap = r->fds_cap != 0 ? r->fds_cap * 2 : 4;
        grown = realloc(r->fds, cap * sizeof(*grown));
        if (grown == NULL) {
            event_free(ev);
            return;
        }
        r->fds = grown;
        r->fds_cap = cap;
    }
    r->fds[r->nfds].fd = fd;
    r->fds[r->nfds].ev = ev;
    r->nfds++;
}

static enum resolver_status
resolver_map_status(int status)
{
    switch (status) {
    case ARES_SUCCESS:
        return RESOLVER_OK;
    case ARES_ENOTFOUND:
    case ARES_ENODATA:
        return RESOLVER_NXDOMAIN;
    case ARES_ETIMEOUT:
        return RESOLVER_TIMEOUT;
    case ARES_ECANCELLED:
    case ARES_EDESTRUCTION:
        return RESOLVER_CANCELLED;
    default:
        /* SERVFAIL, REFUSED, a malformed answer, out of memory: none of
         * them says the name does not exist. */
        return RESOLVER_SERVFAIL;
    }
}

/* Linear, but bounded by RESOLVER_ADDRS_MAX. Both sides are zero-padded
 * past the family's length, so whole structs compare. */
static bool
resolver_has_addr(const struct resolver_query *q, const struct addr *a)
{
    for (size_t k = 0; k < q->n; k++) {
        if (memcmp(&q->addrs[k], a, sizeof(*a)) == 0)
            return true;
    }
    return false;
}

/* Fills q->addrs from the answer: IPv4 first, then IPv6, duplicates
 * dropped, at most RESOLVER_ADDRS_MAX. */
static void
resolver_collect(struct resolver_query *q, const struct ares_addrinfo *ai)
{
    static const int order[] = { AF_INET, AF_INET6 };
    const struct ares_addrinfo_node *node;
    struct addr a;

    q->n = 0;
    q->ttl_s = -1;
    for (size_t f = 0; f < sizeof(order) / sizeof(order[0]); f++) {
        for (node = ai->nodes; node != NULL; node = node->ai_next) {
            if (node->ai_family != order[f] || node->ai_addr == NULL)
                continue;
            memset(&a, 0, sizeof(a));
            a.family = node->ai_family;
            if (a.family == AF_INET) {
                const struct sockaddr_in *sin =
                    (const struct sockaddr_in *)(const void *)node->ai_addr;
                memcpy(a.bytes, &sin->sin_addr, sizeof(sin->sin_addr));
            } else {
                const struct sockaddr_in6 *sin6 =
                    (const struct sockaddr_in6 *)(const void *)node->ai_addr;
                memcpy(a.bytes, &sin6->sin6_addr, sizeof(sin6->sin6_addr));
            }
            if (q->ttl_s < 0 || node->ai_ttl < q->ttl_s)
                q->ttl_s = node->ai_ttl;
            if (resolver_has_addr(q, &a))
                continue;
            if (q->n == RESOLVER_ADDRS_MAX)
                return;
            q->addrs[q->n++] = a;
        }
    }
}

static int64_t
resolver_now_ms(struct resolver *r)
{
    struct timeval tv;

    event_base_gettimeofday_cached(r->base, &tv);
    return (int64_t)tv.tv_sec * RESOLVER_MS_PER_S + tv.tv_usec / 1000;
}

static size_t
resolver_cache_slot(const char *name)
{
    uint32_t h = 2166136261u;

    for (; *name != '\0'; name++)
        h = (h ^ (uint8_t)*name) * 16777619u;
    return h % RESOLVER_CACHE_SLOTS;
}

/* Keeps <q>'s answer for its TTL. No TTL, no caching. */
static void
resolver_cache_put(struct resolver *r, const struct resolver_query *q)
{
    struct resolver_cache_entry *e;
    size_t slot = resolver_cache_slot(q->name);
    int64_t ttl = q->ttl_s;

    if (ttl <= 0 || q->n == 0 || q->name[0] == '\0')
        return;
    if (ttl > RESOLVER_CACHE_TTL_MAX_S)
        ttl = RESOLVER_CACHE_TTL_MAX_S;
    e = malloc(sizeof(*e) + q->n * sizeof(e->addrs[0]));
    if (e == NULL)
        return;
    e->expires_ms = resolver_now_ms(r) + ttl * RESOLVER_MS_PER_S;
    e->n = q->n;
    memcpy(e->name, q->name, sizeof(e->name));
    memcpy(e->addrs, q->addrs, q->n * sizeof(e->addrs[0]));
    free(r->cache[slot]);
    r->cache[slot] = e;
}

/* Fills <q> from the cache; false on a miss or an expired entry. */
static bool
resolver_cache_get(struct resolver *r, struct resolver_query *q)
{
    size_t slot = resolver_cache_slot(q->name);
    struct resolver_cache_entry *e = r->cache[slot];

    if (e == NULL || strcmp(e->name, q->name) != 0)
        return false;
    if (e->expires_ms <= resolver_now_ms(r)) {
        free(e);
        r->cache[slot] = NULL;
        return false;
    }
    q->n = e->n;
    memcpy(q->addrs, e->addrs, e->n * sizeof(q->addrs[0]));
    q->status = RESOLVER_OK;
    return true;
}

/* c-ares is done with <q>. Only stores the result: the caller's callback
 * runs later from resolver_query_cb(), outside c-ares. */
static void
resolver_ares_cb(void *arg, int status, int timeouts, struct ares_addrinfo *ai)
{
    struct resolver_query *q = arg;

    (void)timeouts;
    q->in_ares = false;
    if (q->done == NULL) {
        /* Cancelled, timed out, or the resolver is being destroyed. */
        if (ai != NULL)
            ares_freeaddrinfo(ai);
        resolver_query_free(q);
        return;
    }
    q->status = resolver_map_status(status);
    q->n = 0;
    if (q->status == RESOLVER_OK && ai != NULL)
        resolver_collect(q, ai);
    if (q->status == RESOLVER_OK && q->n == 0)
        q->status = RESOLVER_NXDOMAIN;
    if (q->status == RESOLVER_OK)
        resolver_cache_put(q->r, q);
    if (ai != NULL)
        ares_freeaddrinfo(ai);
    q->finished = true;
    /* Drop the pending timeout and run the delivery on the next loop
     * pass. */
    event_del(q->ev);
    event_active(q->ev, EV_TIMEOUT, 1);
}

/* Either the lookup's timeout fired, or its finished result is due. */
static void
resolver_query_cb(evutil_socket_t fd, short what, void *arg)
{
    struct resolver_query *q = arg;
    struct addr addrs[RESOLVER_ADDRS_MAX];
    enum resolver_status status;
    resolver_done_fn *done;
    void *done_arg;
    size_t n;

    (void)fd;
    (void)what;
    done = q->done;
    done_arg = q->arg;
    q->done = NULL;
    if (!q->finished) {
        /* Timed out: c-ares still owns q and frees it in its callback. */
        if (done != NULL)
            done(RESOLVER_TIMEOUT, NULL, 0, done_arg);
        return;
    }
    /* Free first, so that whatever done() does to the resolver (even
     * resolver_free) cannot reach q. */
    status = q->status;
    n = q->n;
    memcpy(addrs, q->addrs, n * sizeof(addrs[0]));
    resolver_query_free(q);
    if (done != NULL)
        done(status, addrs, n, done_arg);
}

/* Parses one configured server: "ip", "ip:port", "[v6]" or "[v6]:port".
 * Returns 0, or -1 if <text> is none of these. */
static int
resolver_parse_server(const char *text, struct ares_addr_port_node *node)
{
    char host[RESOLVER_SERVER_TEXT_MAX];
    const char *port = NULL, *end;
    size_t len = strlen(text);
    unsigned long p = RESOLVER_DNS_PORT;

    if (len == 0 || len >= sizeof(host))
        return -1;
    if (text[0] == '[') {
        end = strchr(text, ']');
        if (end == NULL)
            return -1;
        len = (size_t)(end - text - 1);
        memcpy(host, text + 1, len);
        host[len] = '\0';
        if (end[1] == ':')
            port = end + 2;
        else if (end[1] != '\0')
            return -1;
        if (inet_pton(AF_INET6, host, &node->addr.addr6) != 1)
            return -1;
        node->family = AF_INET6;
    } else if (inet_pton(AF_INET6, text, &node->addr.addr6) == 1) {
        node->family = AF_INET6; /* bare IPv6: no port possible */
    } else {
        end = strchr(text, ':');
        len = end != NULL ? (size_t)(end - text) : len;
        memcpy(host, text, len);
        host[len] = '\0';
        if (end != NULL)
            port = end + 1;
        if (inet_pton(AF_INET, host, &node->addr.addr4) != 1)
            return -1;
        node->family = AF_INET;
    }
    if (port != NULL) {
        if (*port == '\0')
            return -1;
        p = 0;
        for (const char *c = port; *c != '\0'; c++) {
            if (*c < '0' || *c > '9')
                return -1;
            p = p * 10 + (unsigned long)(*c - '0');
            if (p > RESOLVER_PORT_MAX)
                return -1;
        }
        if (p == 0)
            return -1;
    }
    node->udp_port = (int)p;
    node->tcp_port = (int)p;
    return 0;
}

/* Opens the c-ares channel with per-try timeouts sized for <nservers>. */
static int
resolver_channel_init(struct resolver *r, uint32_t timeout_ms, size_t nservers,
                      bool system_config)
{
    struct ares_options opts;
    char lookups[sizeof(RESOLVER_LOOKUPS_SYSTEM)];
    char *no_domains[1] = { NULL };
    uint64_t per_try;

    if (nservers == 0)
        nservers = 1;
    per_try = timeout_ms / ((uint64_t)nservers * RESOLVER_TRY_ROUNDS_WEIGHT);
    if (per_try == 0)
        per_try = 1;
    memset(&opts, 0, sizeof(opts));
    opts.sock_state_cb = resolver_sock_state_cb;
    opts.sock_state_cb_data = r;
    opts.timeout = (int)per_try;
    opts.tries = RESOLVER_TRIES;
    /* Names are already normalised and fully qualified: appending the
     * host's search domains would resolve a name the policy never saw.
     * c-ares 1.18's getaddrinfo ignores ARES_FLAG_NOSEARCH, so the search
     * list (resolv.conf, LOCALDOMAIN) is also replaced by an empty one. */
    opts.flags = ARES_FLAG_NOSEARCH;
    opts.domains = no_domains;
    opts.ndomains = 0;
    snprintf(lookups, sizeof(lookups), "%s",
             system_config ? RESOLVER_LOOKUPS_SYSTEM : RESOLVER_LOOKUPS_DNS);
    opts.lookups = lookups;
    return ares_init_options(&r->ch, &opts,
                             ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS |
                                 ARES_OPT_TRIES | ARES_OPT_FLAGS |
                                 ARES_OPT_DOMAINS | ARES_OPT_LOOKUPS);
}

/* Number of servers the system configuration gave the channel. */
static size_t
resolver_count_servers(struct resolver *r)
{
    struct ares_addr_port_node *list = NULL, *node;
    size_t n = 0;

    if (ares_get_servers_ports(r->ch, &list) != ARES_SUCCESS)
        return 1;
    for (node = list; node != NULL; node = node->next)
        n++;
    ares_free_data(list);
    return n;
}

struct resolver *
resolver_new(struct event_base *base, char *const *servers, size_t n,
             uint32_t timeout_ms, char *err, size_t errlen)
{
    struct ares_addr_port_node *nodes = NULL;
    struct resolver *r;
    size_t counted;
    int rc;

    rc = ares_library_init(ARES_LIB_INIT_ALL);
    if (rc != ARES_SUCCESS) {
        snprintf(err, errlen, "c-ares: %s", ares_strerror(rc));
        return NULL;
    }
    r = calloc(1, sizeof(*r));
    if (r == NULL)
        goto fail_oom;
    r->base = base;
    r->timeout.tv_sec = timeout_ms / RESOLVER_MS_PER_S;
    r->timeout.tv_usec = (timeout_ms % RESOLVER_MS_PER_S) * RESOLVER_US_PER_MS;
    r->timer = evtimer_new(base, resolver_timer_cb, r);
    if (r->timer == NULL)
        goto fail_free;
    if (n > 0) {
        nodes = calloc(n, sizeof(*nodes));
        if (nodes == NULL)
            goto fail_timer;
        for (size_t i = 0; i < n; i++) {
            if (resolver_parse_server(servers[i], &nodes[i]) == -1) {
                snprintf(err, errlen,
                         "resolver server \"%s\": want ip, ip:port or "
                         "[ipv6]:port",
                         servers[i]);
                goto fail_nodes;
            }
            nodes[i].next = i + 1 < n ? &nodes[i + 1] : NULL;
        }
    }

    rc = resolver_channel_init(r, timeout_ms, n, n == 0);
    if (rc == ARES_SUCCESS && n == 0) {
        /* The per-try timeout depends on how many servers resolv.conf
         * lists, which is only known once c-ares has read it. */
        counted = resolver_count_servers(r);
        if (counted > 1) {
            ares_destroy(r->ch);
            rc = resolver_channel_init(r, timeout_ms, counted, true);
        }
    }
    if (rc != ARES_SUCCESS) {
        snprintf(err, errlen, "c-ares: %s", ares_strerror(rc));
        goto fail_nodes;
    }
    if (n > 0) {
        rc = ares_set_servers_ports(r->ch, nodes);
        if (rc != ARES_SUCCESS) {
            snprintf(err, errlen, "c-ares servers: %s", ares_strerror(rc));
            goto fail_channel;
        }
    }
    free(nodes);
    return r;

fail_channel:
    ares_destroy(r->ch);
fail_nodes:
    free(nodes);
fail_timer:
    event_free(r->timer);
fail_free:
    free(r->fds);
    free(r);
    ares_library_cleanup();
    return NULL;
fail_oom:
    snprintf(err, errlen, "resolver: out of memory");
    ares_library_cleanup();
    return NULL;
}

void
resolver_free(struct resolver *r)
{
    struct resolver_query *q;
    resolver_done_fn *done;

    if (r == NULL)
        return;
    /* While closing, resolver_cancel() only clears done, so no query is
     * freed under this loop whatever the callbacks do. */
    r->closing = true;
    for (q = r->queries; q != NULL; q = q->next) {
        done = q->done;
        if (done == NULL)
            continue;
        q->done = NULL;
        event_del(q->ev);
        done(RESOLVER_CANCELLED, NULL, 0, q->arg);
    }
    /* Runs resolver_ares_cb() with ARES_EDESTRUCTION for each query
     * c-ares still holds; with done == NULL that frees them. It also
     * reports every socket closed, which empties r->fds. */
    ares_destroy(r->ch);
    /* Left: finished queries whose delivery had not run yet. */
    while (r->queries != NULL) {
        assert(!r->queries->in_ares);
        resolver_query_free(r->queries);
    }
    while (r->nfds > 0)
        resolver_fd_remove(r, r->nfds - 1);
    free(r->fds);
    event_free(r->timer);
    for (size_t i = 0; i < RESOLVER_CACHE_SLOTS; i++)
        free(r->cache[i]);
    free(r);
    ares_library_cleanup();
}

struct resolver_query *
resolver_lookup(struct resolver *r, const char *name, resolver_done_fn *done,
                void *arg)
{
    struct ares_addrinfo_hints hints;
    struct resolver_query *q;

    assert(!r->closing); /* no lookups from a RESOLVER_CANCELLED callback */
    q = calloc(1, sizeof(*q));
    if (q == NULL)
        return NULL;
    q->ev = evtimer_new(r->base, resolver_query_cb, q);
    if (q->ev == NULL) {
        free(q);
        return NULL;
    }
    q->r = r;
    q->done = done;
    q->arg = arg;
    q->next = r->queries;
    if (r->queries != NULL)
        r->queries->prev = q;
    r->queries = q;
    r->lookups++;
    if (strlen(name) < sizeof(q->name))
        memcpy(q->name, name, strlen(name) + 1);
    if (resolver_cache_get(r, q)) {
        /* Delivered from the loop like any answer, never from here. */
        q->finished = true;
        event_active(q->ev, EV_TIMEOUT, 1);
        return q;
    }
    evtimer_add(q->ev, &r->timeout);

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    /* NOSORT: c-ares' RFC 6724 sort opens and connect()s a UDP socket
     * per answer to learn source addresses: syscalls on the loop for an
     * order we replace anyway (IPv4 first, see resolver_collect). */
    hints.ai_flags = ARES_AI_NOSORT;
    /* Set before the call: c-ares may call back before it returns (an
     * IP literal, a hosts file hit, a malformed name). */
    q->in_ares = true;
    ares_getaddrinfo(r->ch, name, NULL, &hints, resolver_ares_cb, q);
    resolver_arm_timer(r);
    return q;
}

void
resolver_cancel(struct resolver_query *q)
{
    if (q == NULL)
        return;
    q->done = NULL;
    if (q->r->closing)
        return;
    if (q->finished) {
        /* c-ares is done and only the delivery was pending. */
        resolver_query_free(q);
        return;
    }
    /* c-ares still holds q and frees it in resolver_ares_cb(); the timeout
     * no longer has anyone to tell. */
    event_del(q->ev);
}

unsigned long
resolver_lookups(const struct resolver *r)
{
    return r->lookups;
}
