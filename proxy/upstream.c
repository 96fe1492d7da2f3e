/* proxy/upstream.c - outgoing connections to checked addresses. */
#include "config.h"
#include "proxy/upstream.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

socklen_t
upstream_sockaddr(const struct addr *a, uint16_t port,
                  struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (a->family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;

        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        memcpy(&sin->sin_addr, a->bytes, 4);
        return sizeof(*sin);
    }
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    memcpy(&sin6->sin6_addr, a->bytes, 16);
    return sizeof(*sin6);
}

struct bufferevent *
upstream_connect(struct event_base *base, const struct addr *a, uint16_t port)
{
    struct sockaddr_storage ss;
    socklen_t len = upstream_sockaddr(a, port, &ss);
    struct bufferevent *bev;
    int fd, one = 1;

    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1)
        return NULL;
    /* Requests and small tunnel writes must not wait for Nagle. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    bev = bufferevent_socket_new(
        base, fd, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if (bev == NULL) {
        close(fd);
        errno = ENOMEM;
        return NULL;
    }
    if (bufferevent_socket_connect(bev, (struct sockaddr *)&ss, (int)len) ==
        -1) {
        int e = errno;

        bufferevent_free(bev);
        errno = e != 0 ? e : ECONNREFUSED;
        return NULL;
    }
    return bev;
}
