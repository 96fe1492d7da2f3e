/* benches/origin.c - the origin server that benches/run puts behind every
 * proxy: one thread, one epoll loop, fixed answers, so that its cost is the
 * same whichever proxy sits in front of it.
 *
 * HTTP/1.1 (default 127.0.0.2:8080), keep-alive unless the request says
 * "Connection: close" or is HTTP/1.0 without "keep-alive":
 *   GET /small  200 with a 100 B body
 *   GET /big    200 with a 1 MiB body
 *   anything else 404 with an empty body
 * One request is served at a time per connection: the next one is parsed
 * only once the previous answer is fully written (backpressure).
 *
 * Raw TCP (default 127.0.0.2:9000), reached through CONNECT; commands are
 * lines:
 *   "P"      answer "PONG\n"; repeatable (connection set-ups, idle tunnels)
 *   "S N"    send N bytes, then shut down the write side (bulk download)
 *   "R N"    read N bytes, then answer "OK\n" (bulk upload)
 *
 * Usage: origin [--http ADDR:PORT] [--raw ADDR:PORT]
 * Prints "READY" on stdout once both sockets listen; runs until killed.
 * Not a real HTTP server: no request bodies, no chunked input. */
#define _GNU_SOURCE /* accept4 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define ORIGIN_IN_MAX 8192
#define ORIGIN_SMALL_BYTES 100
#define ORIGIN_BIG_BYTES (1024 * 1024)
/* Unit of one send() of a bulk body: large enough to keep loopback busy. */
#define ORIGIN_SEND_MAX (256 * 1024)
#define ORIGIN_EVENTS_MAX 256
#define ORIGIN_BACKLOG 4096
#define ORIGIN_HEAD_MAX 160

enum origin_kind {
    ORIGIN_LISTEN_HTTP = 0,
    ORIGIN_LISTEN_RAW,
    ORIGIN_HTTP,
    ORIGIN_RAW,
};

struct origin_conn {
    int fd;
    enum origin_kind kind;
    bool close_after; /* close once the output is written */
    bool eof_wait;    /* write side shut; read until the peer closes */
    size_t in_len;
    size_t recv_left; /* raw "R N": bytes still to swallow */
    bool recv_cmd;    /* an "R N" is in progress */
    /* Output: a head (copied) then a body from origin_payload. */
    char head[ORIGIN_HEAD_MAX];
    size_t head_len, head_off;
    uint64_t body_left;
    uint64_t body_off;
    bool shut_after; /* raw "S N": shutdown(SHUT_WR) after the body */
    char in[ORIGIN_IN_MAX];
};

static char origin_payload[ORIGIN_BIG_BYTES];

static int
origin_parse_addr(const char *s, struct sockaddr_in *sa)
{
    char host[64];
    const char *colon = strrchr(s, ':');
    char *end;
    long port;
    size_t n;

    if (colon == NULL)
        return -1;
    n = (size_t)(colon - s);
    if (n == 0 || n >= sizeof(host))
        return -1;
    memcpy(host, s, n);
    host[n] = '\0';
    errno = 0;
    port = strtol(colon + 1, &end, 10);
    if (errno != 0 || *end != '\0' || port <= 0 || port > 65535)
        return -1;
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
        return -1;
    return 0;
}

static int
origin_listen(const struct sockaddr_in *sa)
{
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd == -1)
        return -1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
        bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) == -1 ||
        listen(fd, ORIGIN_BACKLOG) == -1) {
        close(fd);
        return -1;
    }
    return fd;
}

static void
origin_close(struct origin_conn *c)
{
    close(c->fd);
    free(c);
}

static int
origin_arm(int ep, struct origin_conn *c)
{
    struct epoll_event ev;
    bool out = c->head_off < c->head_len || c->body_left > 0;

    memset(&ev, 0, sizeof(ev));
    ev.events = out ? EPOLLOUT : EPOLLIN;
    ev.data.ptr = c;
    return epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Writes what it can. Returns 1 when all is written, 0 on EAGAIN, -1 on
 * error. */
static int
origin_flush(struct origin_conn *c)
{
    while (c->head_off < c->head_len || c->body_left > 0) {
        ssize_t n;

        if (c->head_off < c->head_len && c->body_left > 0 &&
            c->body_left <= ORIGIN_SEND_MAX) {
            /* Small answer: head and body in one segment pair. */
            struct iovec iov[2];
            struct msghdr msg;

            iov[0].iov_base = c->head + c->head_off;
            iov[0].iov_len = c->head_len - c->head_off;
            iov[1].iov_base = origin_payload;
            iov[1].iov_len = (size_t)c->body_left;
            memset(&msg, 0, sizeof(msg));
            msg.msg_iov = iov;
            msg.msg_iovlen = 2;
            n = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
            if (n == -1)
                goto fail;
            if ((size_t)n >= iov[0].iov_len) {
                n -= (ssize_t)iov[0].iov_len;
                c->head_off = c->head_len;
                c->body_left -= (uint64_t)n;
                c->body_off += (uint64_t)n;
            } else {
                c->head_off += (size_t)n;
            }
            continue;
        }
        if (c->head_off < c->head_len) {
            n = send(c->fd, c->head + c->head_off, c->head_len - c->head_off,
                     MSG_NOSIGNAL);
            if (n == -1)
                goto fail;
            c->head_off += (size_t)n;
            continue;
        }
        {
            size_t at = (size_t)(c->body_off % ORIGIN_BIG_BYTES);
            size_t len = ORIGIN_BIG_BYTES - at;

            if (len > ORIGIN_SEND_MAX)
                len = ORIGIN_SEND_MAX;
            if (len > c->body_left)
                len = (size_t)c->body_left;
            n = send(c->fd, origin_payload + at, len, MSG_NOSIGNAL);
            if (n == -1)
                goto fail;
            c->body_left -= (uint64_t)n;
            c->body_off += (uint64_t)n;
        }
    }
    c->head_len = c->head_off = 0;
    c->body_off = 0;
    if (c->shut_after) {
        c->shut_after = false;
        c->eof_wait = true;
        shutdown(c->fd, SHUT_WR);
    }
    return 1;

fail:
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
        return 0;
    return -1;
}

static void
origin_answer(struct origin_conn *c, const char *status, size_t body, bool keep)
{
    int n = snprintf(c->head, sizeof(c->head),
                     "HTTP/1.1 %s\r\nContent-Type: text/plain\r\n"
                     "Content-Length: %zu\r\n%s\r\n",
                     status, body, keep ? "" : "Connection: close\r\n");

    c->head_len = (size_t)n;
    c->head_off = 0;
    c->body_left = body;
    c->body_off = 0;
    c->close_after = !keep;
}

/* Case-insensitive search of <needle> in the <len> bytes at <hay>. */
static bool
origin_has(const char *hay, size_t len, const char *needle)
{
    size_t n = strlen(needle);

    for (size_t i = 0; i + n <= len; i++) {
        if (strncasecmp(hay + i, needle, n) == 0)
            return true;
    }
    return false;
}

/* Serves the first complete request in c->in, if any. Returns 1 if one was
 * taken, 0 if the head is incomplete, -1 if it is unusable. */
static int
origin_http_request(struct origin_conn *c)
{
    static const char end_mark[] = "\r\n\r\n";
    char *end = NULL;
    size_t head_len, line_len;
    const char *sp1, *sp2, *path;
    size_t path_len;
    bool http10, keep;

    for (size_t i = 0; i + sizeof(end_mark) - 1 <= c->in_len; i++) {
        if (memcmp(c->in + i, end_mark, sizeof(end_mark) - 1) == 0) {
            end = c->in + i;
            break;
        }
    }
    if (end == NULL)
        return c->in_len == sizeof(c->in) ? -1 : 0;
    head_len = (size_t)(end - c->in) + sizeof(end_mark) - 1;
    line_len = (size_t)((char *)memchr(c->in, '\r', head_len) - c->in);
    sp1 = memchr(c->in, ' ', line_len);
    if (sp1 == NULL)
        return -1;
    sp2 = memchr(sp1 + 1, ' ', line_len - (size_t)(sp1 + 1 - c->in));
    if (sp2 == NULL)
        return -1;
    path = sp1 + 1;
    path_len = (size_t)(sp2 - path);
    /* Absolute form (a proxy may pass it on): skip scheme and authority. */
    if (path_len > 7 && strncasecmp(path, "http://", 7) == 0) {
        const char *slash = memchr(path + 7, '/', path_len - 7);

        if (slash == NULL)
            return -1;
        path_len -= (size_t)(slash - path);
        path = slash;
    }
    http10 = (size_t)(c->in + line_len - sp2) >= 9 &&
             memcmp(sp2 + 1, "HTTP/1.0", 8) == 0;
    if (http10)
        keep = origin_has(c->in, head_len, "\nconnection: keep-alive");
    else
        keep = !origin_has(c->in, head_len, "\nconnection: close");

    if (path_len == 6 && memcmp(path, "/small", 6) == 0)
        origin_answer(c, "200 OK", ORIGIN_SMALL_BYTES, keep);
    else if (path_len == 4 && memcmp(path, "/big", 4) == 0)
        origin_answer(c, "200 OK", ORIGIN_BIG_BYTES, keep);
    else
        origin_answer(c, "404 Not Found", 0, keep);
    memmove(c->in, c->in + head_len, c->in_len - head_len);
    c->in_len -= head_len;
    return 1;
}

/* Queues the answer to a finished "R N". */
static void
origin_raw_ok(struct origin_conn *c)
{
    memcpy(c->head, "OK\n", 3);
    c->head_len = 3;
    c->head_off = 0;
    c->recv_cmd = false;
}

/* Serves the first complete raw command line, if any (see the header). */
static int
origin_raw_command(struct origin_conn *c)
{
    char *nl = memchr(c->in, '\n', c->in_len);
    size_t line;
    unsigned long long n = 0;

    if (nl == NULL)
        return c->in_len == sizeof(c->in) ? -1 : 0;
    *nl = '\0';
    line = (size_t)(nl - c->in) + 1;
    switch (c->in[0]) {
    case 'P':
        memcpy(c->head, "PONG\n", 5);
        c->head_len = 5;
        c->head_off = 0;
        break;
    case 'S':
    case 'R': {
        char *end;

        errno = 0;
        n = strtoull(c->in + 1, &end, 10);
        if (errno != 0 || end == c->in + 1)
            return -1;
        if (c->in[0] == 'S') {
            c->body_left = n;
            c->body_off = 0;
            c->shut_after = true;
        } else {
            c->recv_left = (size_t)n;
            c->recv_cmd = true;
        }
        break;
    }
    default:
        return -1;
    }
    memmove(c->in, c->in + line, c->in_len - line);
    c->in_len -= line;
    if (c->recv_left > 0) {
        size_t take = c->in_len < c->recv_left ? c->in_len : c->recv_left;

        c->recv_left -= take;
        memmove(c->in, c->in + take, c->in_len - take);
        c->in_len -= take;
    }
    if (c->recv_cmd && c->recv_left == 0)
        origin_raw_ok(c);
    return 1;
}

/* Handles readability or writability; frees c when done with it. */
static void
origin_serve(int ep, struct origin_conn *c)
{
    for (;;) {
        int r = origin_flush(c);
        ssize_t n;

        if (r == -1 || (r == 1 && c->close_after))
            goto drop;
        if (r == 0)
            goto rearm;
        if (c->kind == ORIGIN_RAW && c->recv_left > 0) {
            char sink[65536];
            size_t want =
                c->recv_left < sizeof(sink) ? c->recv_left : sizeof(sink);

            n = recv(c->fd, sink, want, 0);
            if (n > 0) {
                c->recv_left -= (size_t)n;
                if (c->recv_left == 0)
                    origin_raw_ok(c);
                continue;
            }
        } else {
            /* Serve what is buffered before reading more. */
            int got = c->kind == ORIGIN_HTTP ? origin_http_request(c)
                                             : origin_raw_command(c);

            if (got == -1)
                goto drop;
            if (got == 1)
                continue;
            n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, 0);
            if (n > 0) {
                if (!c->eof_wait) /* else discard: we only wait for EOF */
                    c->in_len += (size_t)n;
                continue;
            }
        }
        if (n == 0)
            goto drop;
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            goto rearm;
        goto drop;
    }
rearm:
    if (origin_arm(ep, c) == -1)
        goto drop;
    return;
drop:
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    origin_close(c);
}

static void
origin_accept(int ep, struct origin_conn *l)
{
    for (;;) {
        int one = 1;
        struct epoll_event ev;
        struct origin_conn *c;
        int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd == -1)
            return; /* EAGAIN, or EMFILE and friends: try again later */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        c = calloc(1, sizeof(*c));
        if (c == NULL) {
            close(fd);
            continue;
        }
        c->fd = fd;
        c->kind = l->kind == ORIGIN_LISTEN_HTTP ? ORIGIN_HTTP : ORIGIN_RAW;
        memset(&ev, 0, sizeof(ev));
        ev.events = EPOLLIN;
        ev.data.ptr = c;
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == -1)
            origin_close(c);
    }
}

static void
origin_usage(const char *argv0)
{
    fprintf(stderr, "usage: %s [--http ADDR:PORT] [--raw ADDR:PORT]\n", argv0);
}

int
main(int argc, char **argv)
{
    struct sockaddr_in addr[2];
    struct origin_conn listener[2];
    const char *spec[2] = { "127.0.0.2:8080", "127.0.0.2:9000" };
    int ep;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--http") == 0 && i + 1 < argc) {
            spec[0] = argv[++i];
        } else if (strcmp(argv[i], "--raw") == 0 && i + 1 < argc) {
            spec[1] = argv[++i];
        } else {
            origin_usage(argv[0]);
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    for (size_t i = 0; i < sizeof(origin_payload); i++)
        origin_payload[i] = (char)('a' + i % 26);
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep == -1) {
        perror("origin: epoll_create1");
        return 1;
    }
    for (int i = 0; i < 2; i++) {
        struct epoll_event ev;

        if (origin_parse_addr(spec[i], &addr[i]) == -1) {
            fprintf(stderr, "origin: bad address %s\n", spec[i]);
            return 2;
        }
        memset(&listener[i], 0, sizeof(listener[i]));
        listener[i].kind = i == 0 ? ORIGIN_LISTEN_HTTP : ORIGIN_LISTEN_RAW;
        listener[i].fd = origin_listen(&addr[i]);
        if (listener[i].fd == -1) {
            fprintf(stderr, "origin: cannot listen on %s: %s\n", spec[i],
                    strerror(errno));
            return 1;
        }
        memset(&ev, 0, sizeof(ev));
        ev.events = EPOLLIN;
        ev.data.ptr = &listener[i];
        if (epoll_ctl(ep, EPOLL_CTL_ADD, listener[i].fd, &ev) == -1) {
            perror("origin: epoll_ctl");
            return 1;
        }
    }
    printf("READY\n");
    fflush(stdout);
    for (;;) {
        struct epoll_event evs[ORIGIN_EVENTS_MAX];
        int n = epoll_wait(ep, evs, ORIGIN_EVENTS_MAX, -1);

        if (n == -1) {
            if (errno == EINTR)
                continue;
            perror("origin: epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            struct origin_conn *c = evs[i].data.ptr;

            if (c->kind == ORIGIN_LISTEN_HTTP || c->kind == ORIGIN_LISTEN_RAW)
                origin_accept(ep, c);
            else
                origin_serve(ep, c);
        }
    }
}
