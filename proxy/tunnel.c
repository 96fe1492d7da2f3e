/* proxy/tunnel.c - CONNECT relay with backpressure and half-close.
 *
 * Side 0 is the client, side 1 the upstream. Bytes read from one side go
 * to the other's output; when that output holds TUNNEL_OUT_MAX bytes the
 * reading side is paused until it drains to half. An EOF from one side is
 * passed on as shutdown(SHUT_WR) once everything before it is written;
 * the tunnel ends when both directions are done. */
#include "config.h"
#include "proxy/tunnel.h"

#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "proxy/conn.h"
#include "proxy/proxy.h"
#include "proxy/reply.h"
#include "proxy/sendq.h"
#include "proxy/splice.h"

enum tunnel_side { TUNNEL_CLIENT = 0, TUNNEL_UPSTREAM = 1 };

static void tunnel_read_cb(struct bufferevent *from, void *arg);
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
    bufferevent_enable(from, EV_READ);
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
        c->eof[s] = true;
        bufferevent_disable(bev, EV_READ);
        tunnel_pass_eof(c, s);
        if (tunnel_finished(c))
            conn_close(c);
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
    bufferevent_enable(c->client, EV_READ);
    bufferevent_enable(c->upstream, EV_READ);
    conn_set_timer(c, c->policy->idle_timeout_ms);
}
