/* proxy/sendq.c - end-of-pass writes (see sendq.h). */
#include "config.h"
#include "proxy/sendq.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "proxy/conn.h"
#include "proxy/proxy.h"

static void
sendq_added_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
               void *arg)
{
    struct conn *c = arg;
    struct proxy *px = c->px;

    (void)buf;
    if (info->n_added == 0 || c->sq_queued)
        return;
    c->sq_queued = true;
    c->sq_prev = NULL;
    c->sq_next = px->sendq;
    if (px->sendq != NULL)
        px->sendq->sq_prev = c;
    px->sendq = c;
    event_active(px->pass_end, EV_TIMEOUT, 0);
}

int
sendq_watch(struct conn *c, struct bufferevent *bev)
{
    if (evbuffer_add_cb(bufferevent_get_output(bev), sendq_added_cb, c) == NULL)
        return -1;
    /* Also while connecting: libevent keeps watching for the connect
     * itself and stops once it is done. */
    bufferevent_disable(bev, EV_WRITE);
    return 0;
}

void
sendq_drained(struct conn *c, struct bufferevent *bev)
{
    if (!c->r.shaped && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
        bufferevent_disable(bev, EV_WRITE);
}

void
sendq_forget(struct conn *c)
{
    struct proxy *px = c->px;

    if (px->sendq_current == c)
        px->sendq_current = NULL;
    if (!c->sq_queued)
        return;
    if (c->sq_prev != NULL)
        c->sq_prev->sq_next = c->sq_next;
    else
        px->sendq = c->sq_next;
    if (c->sq_next != NULL)
        c->sq_next->sq_prev = c->sq_prev;
    c->sq_prev = c->sq_next = NULL;
    c->sq_queued = false;
}

/* One writev of what <bev> holds, unless libevent is writing it (EV_WRITE
 * enabled). Returns what evbuffer_write() returned, 0 for nothing done;
 * whatever is left is handed to libevent. */
static int
sendq_flush(struct bufferevent *bev)
{
    struct evbuffer *out = bufferevent_get_output(bev);
    evutil_socket_t fd = bufferevent_getfd(bev);
    int n;

    if (evbuffer_get_length(out) == 0 || fd == -1 ||
        (bufferevent_get_enabled(bev) & EV_WRITE))
        return 0;
    /* The bufferevent keeps its output's front frozen outside its own
     * write callback; this is one, in effect. */
    evbuffer_unfreeze(out, 1);
    n = evbuffer_write(out, fd);
    evbuffer_freeze(out, 1);
    /* The socket is full (or failed: libevent's own write then meets the
     * error and reports it to the event callback). */
    if (evbuffer_get_length(out) > 0 || n < 0)
        bufferevent_enable(bev, EV_WRITE);
    return n;
}

/* Writes <bev>'s output. Returns false if a callback closed the conn. */
static bool
sendq_write(struct conn *c, struct bufferevent *bev)
{
    struct proxy *px = c->px;
    struct evbuffer *out = bufferevent_get_output(bev);
    bufferevent_data_cb writecb = NULL;
    void *cbarg = NULL;
    size_t low = 0;

    if (sendq_flush(bev) <= 0)
        return true; /* nothing written: nothing to call back about */
    /* What libevent does after a write: call back at the low mark. */
    bufferevent_getwatermark(bev, EV_WRITE, &low, NULL);
    if (evbuffer_get_length(out) > low)
        return true;
    bufferevent_getcb(bev, NULL, &writecb, NULL, &cbarg);
    if (writecb == NULL)
        return true;
    px->sendq_current = c;
    writecb(bev, cbarg);
    if (px->sendq_current != c)
        return false;
    px->sendq_current = NULL;
    return true;
}

void
sendq_run(struct proxy *px)
{
    struct conn *c;

    while ((c = px->sendq) != NULL) {
        sendq_forget(c);
        if (c->client != NULL && !sendq_write(c, c->client))
            continue;
        if (c->upstream != NULL)
            (void)sendq_write(c, c->upstream);
    }
}
