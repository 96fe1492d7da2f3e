/* proxy/listener.c - bound listening sockets and accept back-off. */
#include "config.h"
#include "proxy/listener.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/listener.h>
#include <event2/util.h>

#include "policy/addr.h"
#include "proxy/conn.h"
#include "proxy/proxy.h"

/* After an accept error such as EMFILE, stop accepting this long instead of
 * spinning on a readable listener we cannot serve. */
#define LISTENER_BACKOFF_MS 100
#define LISTENER_BACKLOG 1024

struct listener {
    struct proxy *px;
    struct evconnlistener *evl;
    struct event *backoff;
    char *name;
    char *listen_text;
    struct sockaddr_storage bound;
    char bound_text[ADDR_ENDPOINT_MAX];
    bool paused;
};

static void
listener_accept_cb(struct evconnlistener *evl, evutil_socket_t fd,
                   struct sockaddr *sa, int salen, void *arg)
{
    struct listener *l = arg;

    (void)evl;
    conn_new(l->px, l->name, fd, sa, (socklen_t)salen);
}

static void
listener_backoff_cb(evutil_socket_t fd, short what, void *arg)
{
    struct listener *l = arg;

    (void)fd;
    (void)what;
    if (!l->paused)
        evconnlistener_enable(l->evl);
}

static void
listener_error_cb(struct evconnlistener *evl, void *arg)
{
    struct listener *l = arg;
    struct timeval tv = { 0, LISTENER_BACKOFF_MS * 1000 };
    int e = EVUTIL_SOCKET_ERROR();

    /* Transient: retry. Descriptor or memory exhaustion: back off so the
     * loop does not spin, and try again when some may have been freed. */
    if (e == EINTR || e == EAGAIN || e == ECONNABORTED)
        return;
    evconnlistener_disable(evl);
    evtimer_add(l->backoff, &tv);
}

static void
listener_format(const struct sockaddr_storage *ss, char *out, size_t outlen)
{
    struct addr a;
    uint16_t port;

    if (addr_from_sockaddr_port(ss, &a, &port) == -1)
        snprintf(out, outlen, "?");
    else
        addr_format_endpoint(&a, port, out, outlen);
}

struct listener *
listener_new(struct proxy *px, const struct listener_conf *conf, char *err,
             size_t errlen)
{
    struct listener *l;
    evutil_socket_t fd;
    socklen_t len;
    int one = 1;

    l = calloc(1, sizeof(*l));
    if (l == NULL)
        goto fail_oom;
    l->px = px;
    l->name = strdup(conf->name);
    l->listen_text = strdup(conf->listen);
    if (l->name == NULL || l->listen_text == NULL)
        goto fail_oom;

    fd = socket(conf->addr.ss_family,
                SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        snprintf(err, errlen, "listener %s: socket: %s", conf->name,
                 strerror(errno));
        goto fail_free;
    }
    /* An IPv6 listener serves IPv6 only: what the policy names is what
     * listens, never a silent dual-stack socket. */
    if (conf->addr.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    /* Accepted sockets inherit it (Linux): replies and tunnel bytes must
     * not wait for Nagle, and this saves a syscall per connection. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (bind(fd, (const struct sockaddr *)&conf->addr, conf->addrlen) == -1 ||
        listen(fd, LISTENER_BACKLOG) == -1) {
        snprintf(err, errlen, "listener %s: cannot listen on %s: %s",
                 conf->name, conf->listen, strerror(errno));
        close(fd);
        goto fail_free;
    }
    len = sizeof(l->bound);
    if (getsockname(fd, (struct sockaddr *)&l->bound, &len) == -1) {
        snprintf(err, errlen, "listener %s: getsockname: %s", conf->name,
                 strerror(errno));
        close(fd);
        goto fail_free;
    }
    listener_format(&l->bound, l->bound_text, sizeof(l->bound_text));

    l->evl = evconnlistener_new(px->base, listener_accept_cb, l,
                                LEV_OPT_CLOSE_ON_FREE, -1, fd);
    if (l->evl == NULL) {
        close(fd);
        goto fail_oom;
    }
    evconnlistener_set_error_cb(l->evl, listener_error_cb);
    l->backoff = evtimer_new(px->base, listener_backoff_cb, l);
    if (l->backoff == NULL)
        goto fail_oom;
    return l;

fail_oom:
    snprintf(err, errlen, "listener %s: out of memory", conf->name);
fail_free:
    listener_free(l);
    return NULL;
}

void
listener_free(struct listener *l)
{
    if (l == NULL)
        return;
    if (l->evl != NULL)
        evconnlistener_free(l->evl);
    if (l->backoff != NULL)
        event_free(l->backoff);
    free(l->name);
    free(l->listen_text);
    free(l);
}

const char *
listener_name(const struct listener *l)
{
    return l->name;
}

const char *
listener_listen_text(const struct listener *l)
{
    return l->listen_text;
}

const struct sockaddr_storage *
listener_bound(const struct listener *l)
{
    return &l->bound;
}

const char *
listener_bound_text(const struct listener *l)
{
    return l->bound_text;
}

void
listener_pause(struct listener *l)
{
    l->paused = true;
    evconnlistener_disable(l->evl);
}

void
listener_resume(struct listener *l)
{
    l->paused = false;
    evconnlistener_enable(l->evl);
}
