/* proxy/splice.c - zero-copy tunnel relay with splice(2). */
#define _GNU_SOURCE /* splice, F_SETPIPE_SZ */
#include "config.h"
#include "proxy/splice.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "proxy/conn.h"
#include "proxy/proxy.h"

/* Most bytes moved by one splice call. */
#define SPLICE_CHUNK (256 * 1024)

struct splice_pool {
    int (*free_pipes)[2];
    size_t n;
};

/* One direction: src -> pipe -> dst. */
struct splice_dir {
    struct splice_tunnel *t;
    int src, dst;
    int pipe[2]; /* -1 when none is held */
    size_t in_pipe;
    bool eof;         /* src has ended */
    bool shut;        /* dst write side shut */
    struct event *rd; /* src readable */
    struct event *wr; /* dst writable, armed only while the pipe is full */
    uint64_t *count;
};

struct splice_tunnel {
    struct conn *c; /* borrowed: the conn owns us */
    struct splice_dir dir[2];
};

struct splice_pool *
splice_pool_new(void)
{
    struct splice_pool *pool = calloc(1, sizeof(*pool));

    if (pool == NULL)
        return NULL;
    pool->free_pipes = calloc(SPLICE_POOL_MAX, sizeof(*pool->free_pipes));
    if (pool->free_pipes == NULL) {
        free(pool);
        return NULL;
    }
    return pool;
}

void
splice_pool_free(struct splice_pool *pool)
{
    if (pool == NULL)
        return;
    for (size_t i = 0; i < pool->n; i++) {
        close(pool->free_pipes[i][0]);
        close(pool->free_pipes[i][1]);
    }
    free(pool->free_pipes);
    free(pool);
}

static int
splice_pipe_get(struct splice_pool *pool, int p[2])
{
    if (pool->n > 0) {
        pool->n--;
        p[0] = pool->free_pipes[pool->n][0];
        p[1] = pool->free_pipes[pool->n][1];
        return 0;
    }
    if (pipe2(p, O_NONBLOCK | O_CLOEXEC) == -1)
        return -1;
    /* A larger pipe means fewer splices; the default is fine if refused. */
    (void)fcntl(p[1], F_SETPIPE_SZ, SPLICE_PIPE_BYTES);
    return 0;
}

/* Gives an empty pipe back (or closes it when the pool is full or the pipe
 * still holds bytes nobody will read). */
static void
splice_pipe_put(struct splice_pool *pool, int p[2], bool empty)
{
    if (p[0] == -1)
        return;
    if (empty && pool->n < SPLICE_POOL_MAX) {
        pool->free_pipes[pool->n][0] = p[0];
        pool->free_pipes[pool->n][1] = p[1];
        pool->n++;
    } else {
        close(p[0]);
        close(p[1]);
    }
    p[0] = p[1] = -1;
}

static bool
splice_finished(const struct splice_tunnel *t)
{
    return t->dir[0].shut && t->dir[1].shut;
}

/* Moves what the pipe holds to dst. Returns -1 on a hard error. */
static int
splice_flush(struct splice_dir *d)
{
    while (d->in_pipe > 0) {
        ssize_t n = splice(d->pipe[0], NULL, d->dst, NULL, d->in_pipe,
                           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);

        if (n > 0) {
            d->in_pipe -= (size_t)n;
            continue;
        }
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1 && errno == EAGAIN)
            return 0;
        return -1;
    }
    return 0;
}

/* After a flush: hold the pipe and wait for dst, or give the pipe back and
 * read again; pass an EOF on once everything before it is out. */
static void
splice_settle(struct splice_dir *d)
{
    struct proxy *px = d->t->c->px;

    if (d->in_pipe > 0) {
        event_del(d->rd);
        event_add(d->wr, NULL);
        return;
    }
    splice_pipe_put(px->splice_pool, d->pipe, true);
    event_del(d->wr);
    if (d->eof) {
        if (!d->shut) {
            shutdown(d->dst, SHUT_WR);
            d->shut = true;
        }
        event_del(d->rd);
        return;
    }
    event_add(d->rd, NULL);
}

static void
splice_fail(struct splice_tunnel *t)
{
    conn_close(t->c); /* frees t */
}

static void
splice_read_cb(evutil_socket_t fd, short what, void *arg)
{
    struct splice_dir *d = arg;
    struct splice_tunnel *t = d->t;
    ssize_t n;

    (void)fd;
    (void)what;
    if (d->pipe[0] == -1 &&
        splice_pipe_get(t->c->px->splice_pool, d->pipe) == -1) {
        splice_fail(t);
        return;
    }
    n = splice(d->src, NULL, d->pipe[1], NULL, SPLICE_CHUNK,
               SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n == 0) {
        d->eof = true;
    } else if (n > 0) {
        d->in_pipe += (size_t)n;
        *d->count += (uint64_t)n;
        /* Uncapped, but still counted in the session's usage. */
        conn_account(t->c, d == &t->dir[0], (uint64_t)n);
        conn_touch(t->c);
    } else if (errno != EAGAIN && errno != EINTR) {
        splice_fail(t);
        return;
    }
    if (splice_flush(d) == -1) {
        splice_fail(t);
        return;
    }
    splice_settle(d);
    if (splice_finished(t))
        conn_close(t->c);
}

static void
splice_write_cb(evutil_socket_t fd, short what, void *arg)
{
    struct splice_dir *d = arg;
    struct splice_tunnel *t = d->t;

    (void)fd;
    (void)what;
    if (splice_flush(d) == -1) {
        splice_fail(t);
        return;
    }
    conn_touch(t->c);
    splice_settle(d);
    if (splice_finished(t))
        conn_close(t->c);
}

void
splice_free(struct splice_tunnel *t)
{
    if (t == NULL)
        return;
    for (int i = 0; i < 2; i++) {
        struct splice_dir *d = &t->dir[i];

        if (d->rd != NULL)
            event_free(d->rd);
        if (d->wr != NULL)
            event_free(d->wr);
        splice_pipe_put(t->c->px->splice_pool, d->pipe, d->in_pipe == 0);
    }
    free(t);
}

int
splice_start(struct conn *c)
{
    struct event_base *base = c->px->base;
    struct splice_tunnel *t;
    int fds[2];

    fds[0] = bufferevent_getfd(c->client);
    fds[1] = bufferevent_getfd(c->upstream);
    if (fds[0] == -1 || fds[1] == -1 || c->px->splice_pool == NULL)
        return -1;
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        return -1;
    t->c = c;
    for (int i = 0; i < 2; i++) {
        struct splice_dir *d = &t->dir[i];

        d->t = t;
        d->src = fds[i];
        d->dst = fds[!i];
        d->pipe[0] = d->pipe[1] = -1;
        d->count = i == 0 ? &c->r.bytes_up : &c->r.bytes_down;
        d->rd =
            event_new(base, d->src, EV_READ | EV_PERSIST, splice_read_cb, d);
        d->wr =
            event_new(base, d->dst, EV_WRITE | EV_PERSIST, splice_write_cb, d);
        if (d->rd == NULL || d->wr == NULL) {
            splice_free(t);
            return -1;
        }
    }
    /* The bufferevents keep owning the sockets (and close them when the
     * conn is freed) but no longer touch them. */
    bufferevent_disable(c->client, EV_READ | EV_WRITE);
    bufferevent_disable(c->upstream, EV_READ | EV_WRITE);
    c->splice = t;
    event_add(t->dir[0].rd, NULL);
    event_add(t->dir[1].rd, NULL);
    return 0;
}
