/* proxy/tunnel.c - CONNECT relay with backpressure and half-close, for
 * tunnels splice.c cannot take (a byte cap counts every byte; shaping).
 *
 * Side 0 is the client, side 1 the upstream. Bytes read from one side go
 * to the other's output; when that output holds TUNNEL_OUT_MAX bytes the
 * reading side is paused until it drains to half. An EOF from one side is
 * passed on as shutdown(SHUT_WR) once everything before it is written;
 * the tunnel ends when both directions are done.
 *
 * Unshaped tunnels read each socket with their own event, CONN_DIRECT_READ
 * at a time, never past the byte cap (conn_relay_read); shaped ones read
 * through the bufferevent, where libevent applies the rate limit. */
#include "config.h"
#include "proxy/tunnel.h"

#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "proxy/conn.h"
#include "proxy/proxy.h"
#include "proxy/reply.h"
#include "proxy/sendq.h"
#include "proxy/splice.h"

enum tunnel_side { TUNNEL_CLIENT = 0, TUNNEL_UPSTREAM = 1 };

static bool tunnel_finished(struct conn *c);
static void tunnel_pass_eof(struct conn *c, enum tunnel_side s);
static void tunnel_read_cb(struct bufferevent *from, void *arg);
static void tunnel_direct_cb(evutil_socket_t fd, short what, void *arg);
static void tunnel_write_cb(struct bufferevent *to, void *arg);
static void tunnel_event_cb(struct bufferevent *bev, short what, void *arg);

static struct bufferevent *
tunnel_bev(struct conn *c, enum tunnel_side s)
{
    return s == TUNNEL_CLIENT ? c->client : c->upstream;
}

static enum tunnel_side
tunnel_side_of(struct conn *c, struct bufferevent *bev)
{
    return bev == c->client ? TUNNEL_CLIENT : TUNNEL_UPSTREAM;
}

/* The direct reader of side <s>: the conn's two direct events, which a
 * tunnel uses the way forward.c does (client socket, upstream socket). */
static struct event **
tunnel_reader(struct conn *c, enum tunnel_side s)
{
    return s == TUNNEL_CLIENT ? &c->direct_up_ev : &c->direct_ev;
}

/* Lets side <s> be read again (after EOF: never). */
static void
tunnel_resume(struct conn *c, enum tunnel_side s)
{
    struct event *rd = *tunnel_reader(c, s);

    if (c->eof[s])
        return;
    if (rd != NULL)
        event_add(rd, NULL);
    else
        bufferevent_enable(tunnel_bev(c, s), EV_READ);
}

/* Stops reading side <s> until tunnel_resume(). */
static void
tunnel_pause(struct conn *c, enum tunnel_side s)
{
    struct event *rd = *tunnel_reader(c, s);

    if (rd != NULL)
        event_del(rd);
    else
        bufferevent_disable(tunnel_bev(c, s), EV_READ);
}

/* Moves what side <s> has read to the other side, counting it. Returns
 * false if the move crossed a byte cap and the conn is gone. */
static bool
tunnel_move(struct conn *c, enum tunnel_side s)
{
    struct bufferevent *from = tunnel_bev(c, s);
    struct bufferevent *to = tunnel_bev(c, !s);
    struct evbuffer *in = bufferevent_get_input(from);
    struct evbuffer *out = bufferevent_get_output(to);
    size_t n = evbuffer_get_length(in);
    uint64_t allow = conn_allowance(c, s == TUNNEL_CLIENT);
    bool cut = false;

    if (n == 0)
        return true;
    /* Exactly up to the cap, then cut: not one byte over. */
    if (n > allow) {
        n = (size_t)allow;
        cut = true;
    }
    if (s == TUNNEL_CLIENT)
        c->r.bytes_up += n;
    else
        c->r.bytes_down += n;
    evbuffer_remove_buffer(in, out, n);
    conn_account(c, s == TUNNEL_CLIENT, n);
    if (cut) {
        conn_cut_byte_cap(c);
        return false;
    }
    conn_touch(c);
    if (evbuffer_get_length(out) >= TUNNEL_OUT_MAX) {
        bufferevent_disable(from, EV_READ);
        bufferevent_setwatermark(to, EV_WRITE, TUNNEL_OUT_MAX / 2, 0);
    }
    return true;
}

/* Side <s> ended: pass the EOF on once its bytes are out. Returns false if
 * the conn is gone. */
static bool
tunnel_side_eof(struct conn *c, enum tunnel_side s)
{
    c->eof[s] = true;
    tunnel_pause(c, s);
    tunnel_pass_eof(c, s);
    if (tunnel_finished(c)) {
        conn_close(c);
        return false;
    }
    return true;
}

/* Both directions finished and flushed: the tunnel is over. */
static bool
tunnel_finished(struct conn *c)
{
    return c->eof[TUNNEL_CLIENT] && c->eof[TUNNEL_UPSTREAM] &&
           evbuffer_get_length(bufferevent_get_output(c->client)) == 0 &&
           evbuffer_get_length(bufferevent_get_output(c->upstream)) == 0;
}

/* Passes on side <s>'s EOF to the other side once its output is empty. */
static void
tunnel_pass_eof(struct conn *c, enum tunnel_side s)
{
    struct bufferevent *to = tunnel_bev(c, !s);

    if (evbuffer_get_length(bufferevent_get_output(to)) == 0) {
        evutil_socket_t fd = bufferevent_getfd(to);

        if (fd != -1)
            shutdown(fd, SHUT_WR);
    } else {
        /* tunnel_write_cb finishes the job when the output drains. */
        bufferevent_setwatermark(to, EV_WRITE, 0, 0);
    }
}

static void
tunnel_read_cb(struct bufferevent *from, void *arg)
{
    struct conn *c = arg;

    (void)tunnel_move(c, tunnel_side_of(c, from));
}

static void
tunnel_write_cb(struct bufferevent *to, void *arg)
{
    struct conn *c = arg;
    enum tunnel_side s = tunnel_side_of(c, to);
    struct bufferevent *from = tunnel_bev(c, !s);

    sendq_drained(c, to);
    if (c->eof[!s]) {
        if (evbuffer_get_length(bufferevent_get_output(to)) == 0) {
            evutil_socket_t fd = bufferevent_getfd(to);

            if (fd != -1)
                shutdown(fd, SHUT_WR);
            if (tunnel_finished(c))
                conn_close(c);
        }
        return;
    }
    /* Drained below the watermark: the feeding side may read again. */
    bufferevent_setwatermark(to, EV_WRITE, 0, 0);
    (void)from;
    tunnel_resume(c, !s);
}

/* A direct read on side <s>'s socket, into the other side's output. */
static void
tunnel_direct_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    enum tunnel_side s =
        fd == bufferevent_getfd(c->client) ? TUNNEL_CLIENT : TUNNEL_UPSTREAM;
    struct bufferevent *to = tunnel_bev(c, !s);
    struct evbuffer *out = bufferevent_get_output(to);
    ssize_t got;

    (void)what;
    got = conn_relay_read(c, fd, out, s == TUNNEL_CLIENT, UINT64_MAX);
    if (got == CONN_RELAY_AGAIN || got == CONN_RELAY_CUT)
        return;
    if (got == CONN_RELAY_ERROR) {
        conn_close(c);
        return;
    }
    if (got == 0) {
        (void)tunnel_side_eof(c, s);
        return;
    }
    if (evbuffer_get_length(out) >= TUNNEL_OUT_MAX) {
        tunnel_pause(c, s);
        bufferevent_setwatermark(to, EV_WRITE, TUNNEL_OUT_MAX / 2, 0);
    }
}

/* Unshaped: each side is read by its own event (see the top). Returns
 * false if an event could not be made (the bufferevents read instead). */
static bool
tunnel_direct_start(struct conn *c)
{
    for (int s = TUNNEL_CLIENT; s <= TUNNEL_UPSTREAM; s++) {
        struct event **rd = tunnel_reader(c, (enum tunnel_side)s);

        *rd = event_new(c->px->base,
                        bufferevent_getfd(tunnel_bev(c, (enum tunnel_side)s)),
                        EV_READ | EV_PERSIST, tunnel_direct_cb, c);
        if (*rd == NULL) {
            if (s == TUNNEL_UPSTREAM) {
                event_free(c->direct_up_ev);
                c->direct_up_ev = NULL;
            }
            return false;
        }
    }
    bufferevent_disable(c->client, EV_READ);
    bufferevent_disable(c->upstream, EV_READ);
    /* Early client bytes may already fill the upstream's output. */
    if (evbuffer_get_length(bufferevent_get_output(c->upstream)) <
        TUNNEL_OUT_MAX)
        event_add(c->direct_up_ev, NULL);
    else
        bufferevent_setwatermark(c->upstream, EV_WRITE, TUNNEL_OUT_MAX / 2, 0);
    event_add(c->direct_ev, NULL);
    return true;
}

static void
tunnel_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;
    enum tunnel_side s = tunnel_side_of(c, bev);

    if (what & BEV_EVENT_ERROR) {
        conn_close(c);
        return;
    }
    if (what & BEV_EVENT_EOF) {
        if (!tunnel_move(c, s))
            return;
        (void)tunnel_side_eof(c, s);
    }
}

/* A tunnel nothing needs to look into (no byte cap, no shaping) is handed
 * to splice.c once the 200 and any early client bytes are out. Returns
 * true if it was; false leaves the 200 sent or queued on the bufferevent,
 * which then relays. */
static bool
tunnel_try_splice(struct conn *c)
{
    static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
    struct evbuffer *pre = bufferevent_get_input(c->client);
    ssize_t n;

    if (c->px->splice_pool == NULL || c->r.shaped ||
        conn_allowance(c, true) != UINT64_MAX ||
        conn_allowance(c, false) != UINT64_MAX) {
        reply_tunnel_ok(c, bufferevent_get_output(c->client));
        return false;
    }
    /* Written directly: a socket bufferevent's output buffer is frozen
     * outside its own write callback. A fresh socket has room for these
     * few bytes; if not, the bufferevent sends what is left. */
    n = write(bufferevent_getfd(c->client), ok, sizeof(ok) - 1);
    c->r.status = 200;
    if (n != (ssize_t)sizeof(ok) - 1) {
        if (n < 0)
            n = 0;
        evbuffer_add(bufferevent_get_output(c->client), ok + n,
                     sizeof(ok) - 1 - (size_t)n);
        return false;
    }
    if (evbuffer_get_length(pre) > 0) {
        int w = evbuffer_write(pre, bufferevent_getfd(c->upstream));

        if (w > 0) {
            c->r.bytes_up += (uint64_t)w;
            conn_account(c, true, (uint64_t)w);
        }
        if (evbuffer_get_length(pre) != 0)
            return false;
    }
    return splice_start(c) == 0;
}

void
tunnel_start(struct conn *c)
{
    struct evbuffer *pre = bufferevent_get_input(c->client);

    conn_touch(c);
    c->state = CONN_TUNNEL;
    c->eof[0] = c->eof[1] = false;
    bufferevent_setcb(c->client, tunnel_read_cb, tunnel_write_cb,
                      tunnel_event_cb, c);
    bufferevent_setcb(c->upstream, tunnel_read_cb, tunnel_write_cb,
                      tunnel_event_cb, c);
    /* A client may send its first bytes (a TLS ClientHello) right behind
     * the CONNECT head. */
    conn_shape(c, c->client);
    conn_shape(c, c->upstream);
    conn_set_timer(c, c->policy->idle_timeout_ms);
    if (tunnel_try_splice(c))
        return;
    if (evbuffer_get_length(pre) > 0 && !tunnel_move(c, TUNNEL_CLIENT))
        return;
    if (c->r.shaped || !tunnel_direct_start(c)) {
        bufferevent_enable(c->client, EV_READ);
        bufferevent_enable(c->upstream, EV_READ);
    }
}
