/* proxy/forward.c - absolute-URI HTTP forwarding.
 *
 * Bodies are relayed as they arrive, never buffered whole: at most
 * FORWARD_OUT_MAX bytes wait towards either side before the feeding side
 * stops being read. Chunked bodies are passed through unchanged while
 * chunked_feed() checks their framing, so the message ends exactly where
 * the framing says and nothing after it is taken as part of it. */
#include "config.h"
#include "proxy/forward.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "proxy/conn.h"
#include "proxy/proxy.h"
#include "proxy/sendq.h"

#define FORWARD_VIA "sluice"

static void forward_upstream_read_cb(struct bufferevent *bev, void *arg);
static bool forward_direct_up_start(struct conn *c);
static void forward_direct_up_stop(struct conn *c);
static void forward_upstream_write_cb(struct bufferevent *bev, void *arg);
static void forward_upstream_event_cb(struct bufferevent *bev, short what,
                                      void *arg);

/* Heads are written in two passes over the same code: the first (<dst>
 * NULL) only counts, the second copies into space reserved in the output
 * at once, so a head costs one buffer operation, not one per piece. */
static size_t
forward_put(char *dst, size_t at, const char *p, size_t n)
{
    if (dst != NULL)
        memcpy(dst + at, p, n);
    return at + n;
}

#define FORWARD_PUT_LIT(dst, at, lit)                                          \
    forward_put((dst), (at), (lit), sizeof(lit) - 1)
#define FORWARD_PUT_STR(dst, at, str)                                          \
    forward_put((dst), (at), (str), strlen(str))
#define FORWARD_PUT_SLICE(dst, at, s) forward_put((dst), (at), (s).p, (s).len)

static size_t
forward_put_field(char *dst, size_t at, const struct http_field *f)
{
    at = FORWARD_PUT_SLICE(dst, at, f->name);
    at = FORWARD_PUT_LIT(dst, at, ": ");
    at = FORWARD_PUT_SLICE(dst, at, f->value);
    return FORWARD_PUT_LIT(dst, at, "\r\n");
}

/* What a head is written from: the message, and which of its fields are
 * hop-by-hop (worked out once for both passes). */
struct forward_head {
    struct conn *c;
    const void *msg;
    bool close; /* responses: add Connection: close */
    bool drop[HTTP_FIELDS_MAX];
};

typedef size_t (*forward_head_fn)(char *dst, const struct forward_head *h);

/* Appends the head <emit> writes for <msg> (whose fields are <fields>)
 * to <out> in one piece. Returns 0, or -1 (out of memory: nothing
 * added). */
static int
forward_add_head(struct evbuffer *out, forward_head_fn emit, struct conn *c,
                 const void *msg, const struct http_field *fields,
                 size_t n_fields, bool close)
{
    struct forward_head h;
    struct evbuffer_iovec v;
    size_t len;

    h.c = c;
    h.msg = msg;
    h.close = close;
    http_fields_hop_by_hop(fields, n_fields, h.drop);
    len = emit(NULL, &h);
    if (evbuffer_reserve_space(out, (ev_ssize_t)len, &v, 1) != 1 ||
        v.iov_len < len)
        return -1;
    v.iov_len = emit(v.iov_base, &h);
    return evbuffer_commit_space(out, &v, 1);
}

static size_t
forward_emit_request_head(char *dst, const struct forward_head *h)
{
    const struct http_request *req = h->msg;
    struct conn *c = h->c;
    size_t at = 0;

    at = FORWARD_PUT_STR(dst, at, c->r.method);
    at = FORWARD_PUT_LIT(dst, at, " ");
    at = FORWARD_PUT_STR(dst, at, c->r.path);
    at = req->version_minor == 0
             ? FORWARD_PUT_LIT(dst, at, " HTTP/1.0\r\nHost: ")
             : FORWARD_PUT_LIT(dst, at, " HTTP/1.1\r\nHost: ");
    at = FORWARD_PUT_STR(dst, at, c->r.authority);
    at = FORWARD_PUT_LIT(dst, at, "\r\n");
    for (size_t i = 0; i < req->n_fields; i++) {
        const struct http_field *f = &req->fields[i];

        /* Host is rewritten to the URI authority: the authority is what
         * was judged, so it is also what the origin sees. */
        if (h->drop[i] || http_name_is(f->name, "host"))
            continue;
        at = forward_put_field(dst, at, f);
    }
    if (c->req_framing.kind == HTTP_BODY_CHUNKED)
        at = FORWARD_PUT_LIT(dst, at, "Transfer-Encoding: chunked\r\n");
    return req->version_minor == 0
               ? FORWARD_PUT_LIT(dst, at, "Via: 1.0 " FORWARD_VIA "\r\n\r\n")
               : FORWARD_PUT_LIT(dst, at, "Via: 1.1 " FORWARD_VIA "\r\n\r\n");
}

int
forward_build_request_head(struct conn *c, const struct http_request *req,
                           struct evbuffer *out)
{
    return forward_add_head(out, forward_emit_request_head, c, req, req->fields,
                            req->n_fields, false);
}

/* Relays body bytes from <in> to <out> under <f>'s framing, at most <max>
 * of them (the byte cap's allowance). Returns -1 on a malformed chunked
 * body, 1 when the body is complete, 2 when <max> stopped it short, 0
 * when more is to come. */
static int
forward_relay_body(struct evbuffer *in, struct evbuffer *out,
                   const struct http_framing *f, struct chunked *ck,
                   uint64_t *left, uint64_t *count, uint64_t max,
                   const char **why)
{
    size_t avail = evbuffer_get_length(in);
    uint64_t moved = 0;

    switch (f->kind) {
    case HTTP_BODY_NONE:
        return 1;
    case HTTP_BODY_CLOSE: {
        size_t n = avail < max ? avail : (size_t)max;

        *count += n;
        evbuffer_remove_buffer(in, out, n);
        return n < avail ? 2 : 0;
    }
    case HTTP_BODY_LENGTH: {
        size_t n = avail < *left ? avail : (size_t)*left;
        bool capped = n > max;

        if (capped)
            n = (size_t)max;
        evbuffer_remove_buffer(in, out, n);
        *left -= n;
        *count += n;
        if (*left == 0)
            return 1;
        return capped ? 2 : 0;
    }
    case HTTP_BODY_CHUNKED:
        break;
    }
    while (avail > 0) {
        struct evbuffer_iovec vec;
        size_t used = 0, len;
        enum chunked_result res;

        if (moved == max)
            return 2;
        if (evbuffer_peek(in, -1, NULL, &vec, 1) < 1)
            break;
        len = vec.iov_len;
        if (len > max - moved)
            len = (size_t)(max - moved);
        res = chunked_feed(ck, vec.iov_base, len, &used, why);
        if (res == CHUNKED_BAD)
            return -1;
        if (res == CHUNKED_END) {
            evbuffer_remove_buffer(in, out, used);
            *count += used;
            return 1;
        }
        evbuffer_remove_buffer(in, out, len);
        *count += len;
        moved += len;
        avail -= len;
    }
    return 0;
}

static void
forward_direct_stop(struct conn *c)
{
    if (c->direct_ev != NULL) {
        event_free(c->direct_ev);
        c->direct_ev = NULL;
    }
}

/* A kept-alive upstream between requests: any byte or event from it means
 * it can no longer be used. */
static void
forward_idle_drop(struct conn *c)
{
    bufferevent_free(c->upstream);
    c->upstream = NULL;
    c->upstream_reusable = false;
}

static void
forward_idle_read_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    forward_idle_drop(arg);
}

static void
forward_idle_event_cb(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    (void)what;
    forward_idle_drop(arg);
}

/* The exchange is over in both directions: keep both sides alive when the
 * framing allows, else close. */
static void
forward_finish(struct conn *c)
{
    forward_direct_up_stop(c);
    bool keep_up = !c->resp_framing.close &&
                   c->resp_framing.kind != HTTP_BODY_CLOSE &&
                   evbuffer_get_length(bufferevent_get_input(c->upstream)) == 0;

    c->upstream_reusable = keep_up;
    if (keep_up) {
        /* An idle kept upstream only needs to notice its own close. */
        bufferevent_setcb(c->upstream, forward_idle_read_cb, NULL,
                          forward_idle_event_cb, c);
        bufferevent_enable(c->upstream, EV_READ);
    } else {
        bufferevent_free(c->upstream);
        c->upstream = NULL;
    }
    if (c->client_close || c->resp_framing.kind == HTTP_BODY_CLOSE) {
        conn_finish(c);
        return;
    }
    conn_request_done(c);
}

/* Ends the exchange in error after part of it has been relayed. */
static void
forward_abort(struct conn *c, enum reason reason, const char *why)
{
    forward_direct_up_stop(c);
    if (why != NULL)
        snprintf(c->r.why, sizeof(c->r.why), "%s", why);
    if (!c->resp_head_done) {
        conn_deny(c, reason);
        return;
    }
    /* The client has the head and part of the body: let it have what is
     * queued, then the end of the connection tells it the body is cut. */
    forward_direct_stop(c);
    forward_direct_up_stop(c);
    bufferevent_free(c->upstream);
    c->upstream = NULL;
    c->upstream_reusable = false;
    conn_finish(c);
}

/* Relays what the client has sent of the request body. Returns false when
 * the exchange ended here (cut, refused, or finished): <c> may be freed
 * and must not be touched. */
static bool
forward_pump_request(struct conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->client);
    struct evbuffer *out = bufferevent_get_output(c->upstream);
    const char *why = NULL;
    int rc;

    uint64_t before = c->r.bytes_up;

    if (c->req_done)
        return true;
    rc = forward_relay_body(in, out, &c->req_framing, &c->req_ck, &c->req_left,
                            &c->r.bytes_up, conn_allowance(c, true), &why);
    conn_account(c, true, c->r.bytes_up - before);
    if (rc == 2) {
        conn_cut_byte_cap(c);
        return false;
    }
    if (rc == -1) {
        forward_abort(c, REASON_BAD_REQUEST,
                      why != NULL ? why : "malformed chunked request body");
        return false;
    }
    conn_touch(c);
    if (rc == 1) {
        c->req_done = true;
        /* Pipelined requests wait in the input until this exchange is
         * over (bounded by the read watermark). */
        if (c->resp_done) {
            forward_finish(c);
            return false;
        }
        return true;
    }
    if (evbuffer_get_length(out) >= FORWARD_OUT_MAX) {
        bufferevent_disable(c->client, EV_READ);
        bufferevent_setwatermark(c->upstream, EV_WRITE, FORWARD_OUT_MAX / 2, 0);
        return true;
    }
    if (c->direct_up_ev == NULL)
        (void)forward_direct_up_start(c);
    return true;
}

static size_t
forward_emit_response_head(char *dst, const struct forward_head *h)
{
    const struct http_response *resp = h->msg;
    char status[4];
    size_t at = 0;

    /* The parser guarantees three digits. */
    status[0] = (char)('0' + resp->status / 100);
    status[1] = (char)('0' + resp->status / 10 % 10);
    status[2] = (char)('0' + resp->status % 10);
    status[3] = ' ';
    at = FORWARD_PUT_LIT(dst, at, "HTTP/1.1 ");
    at = forward_put(dst, at, status, sizeof(status));
    at = FORWARD_PUT_SLICE(dst, at, resp->reason);
    at = FORWARD_PUT_LIT(dst, at, "\r\n");
    for (size_t i = 0; i < resp->n_fields; i++) {
        const struct http_field *f = &resp->fields[i];

        if (h->drop[i])
            continue;
        at = forward_put_field(dst, at, f);
    }
    if (resp->status >= 200 && h->c->resp_framing.kind == HTTP_BODY_CHUNKED)
        at = FORWARD_PUT_LIT(dst, at, "Transfer-Encoding: chunked\r\n");
    if (h->close)
        at = FORWARD_PUT_LIT(dst, at, "Connection: close\r\n");
    return resp->version_minor == 0
               ? FORWARD_PUT_LIT(dst, at, "Via: 1.0 " FORWARD_VIA "\r\n\r\n")
               : FORWARD_PUT_LIT(dst, at, "Via: 1.1 " FORWARD_VIA "\r\n\r\n");
}

static int
forward_build_response_head(struct conn *c, const struct http_response *resp,
                            struct evbuffer *out, bool close)
{
    return forward_add_head(out, forward_emit_response_head, c, resp,
                            resp->fields, resp->n_fields, close);
}

/* Parses response heads until the final one. Returns 1 when it is in, 0
 * when more bytes are needed, -1 when the exchange ended here (<c> may be
 * freed and must not be touched). */
static int
forward_read_response_head(struct conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->upstream);
    struct evbuffer *out = bufferevent_get_output(c->client);
    struct slice method = { c->r.method, strlen(c->r.method) };

    while (!c->resp_head_done) {
        size_t len = evbuffer_get_length(in);
        struct http_response *resp;
        const char *why = NULL;
        enum http_head_result res;
        const char *p;

        if (len == 0)
            return 0;
        if (len > FORWARD_RESPONSE_HEAD_MAX)
            len = FORWARD_RESPONSE_HEAD_MAX;
        resp = c->px->scratch_resp;
        /* Parse the first contiguous chunk in place; copy the head into
         * one piece only when it spans chunks. */
        size_t contig = evbuffer_get_contiguous_space(in);

        if (contig > len)
            contig = len;
        p = (const char *)evbuffer_pullup(in, (ssize_t)contig);
        res = p == NULL ? HTTP_HEAD_AGAIN
                        : http_response_parse(
                              p, contig, FORWARD_RESPONSE_HEAD_MAX, resp, &why);
        if (res == HTTP_HEAD_AGAIN && contig < len) {
            p = (const char *)evbuffer_pullup(in, (ssize_t)len);
            if (p == NULL) {
                forward_abort(c, REASON_UPSTREAM_FAILED, "out of memory");
                return -1;
            }
            res = http_response_parse(p, len, FORWARD_RESPONSE_HEAD_MAX, resp,
                                      &why);
        }
        if (res == HTTP_HEAD_AGAIN)
            return 0;
        if (res != HTTP_HEAD_DONE) {
            forward_abort(c, REASON_UPSTREAM_FAILED,
                          res == HTTP_HEAD_TOO_BIG
                              ? "the origin sent an oversized response head"
                              : "the origin sent a malformed response");
            return -1;
        }
        if (resp->status == 101) {
            /* Upgrade is hop-by-hop and was never forwarded. */
            forward_abort(c, REASON_UPSTREAM_FAILED,
                          "the origin switched protocols unasked");
            return -1;
        }
        if (resp->status < 200) {
            /* 100 Continue and friends pass through; the final head
             * follows. */
            c->resp_framing.kind = HTTP_BODY_NONE;
            if (forward_build_response_head(c, resp, out, false) == -1) {
                forward_abort(c, REASON_UPSTREAM_FAILED, "out of memory");
                return -1;
            }
            evbuffer_drain(in, resp->head_len);
            continue;
        }
        if (http_response_framing(resp, method, &c->resp_framing, &why) !=
            HTTP_HEAD_DONE) {
            forward_abort(c, REASON_UPSTREAM_FAILED,
                          why != NULL ? why : "bad response framing");
            return -1;
        }
        if (c->resp_framing.kind == HTTP_BODY_CHUNKED &&
            c->r.version_minor == 0) {
            /* We asked in HTTP/1.0; a chunked answer is the origin's
             * mistake and an HTTP/1.0 client could not decode it. */
            forward_abort(c, REASON_UPSTREAM_FAILED,
                          "chunked response to an HTTP/1.0 request");
            return -1;
        }
        c->r.status = resp->status;
        c->resp_left = c->resp_framing.length;
        chunked_init(&c->resp_ck);
        c->resp_done = c->resp_framing.kind == HTTP_BODY_NONE;
        if (conn_allowance(c, false) < resp->head_len) {
            conn_cut_byte_cap(c);
            return -1;
        }
        c->r.bytes_down += resp->head_len;
        conn_account(c, false, resp->head_len);
        if (forward_build_response_head(
                c, resp, out,
                c->client_close || c->resp_framing.kind == HTTP_BODY_CLOSE) ==
            -1) {
            forward_abort(c, REASON_UPSTREAM_FAILED, "out of memory");
            return -1;
        }
        evbuffer_drain(in, resp->head_len);
        c->resp_head_done = true;
    }
    return 1;
}

static void forward_direct_cb(evutil_socket_t fd, short what, void *arg);

/* The rest of a Content-Length or close-delimited body is read from the
 * upstream socket straight into the client's output, up to
 * CONN_DIRECT_READ at a time: libevent 2.1's bufferevents read 4 KiB
 * per call, which made bulk downloads syscall-bound. Shaped sessions stay
 * on the bufferevent, which applies the rate limit. */
static bool
forward_direct_start(struct conn *c)
{
    evutil_socket_t fd = bufferevent_getfd(c->upstream);

    if (c->r.shaped || fd == -1 ||
        (c->resp_framing.kind != HTTP_BODY_LENGTH &&
         c->resp_framing.kind != HTTP_BODY_CLOSE) ||
        evbuffer_get_length(bufferevent_get_input(c->upstream)) != 0)
        return false;
    c->direct_ev =
        event_new(c->px->base, fd, EV_READ | EV_PERSIST, forward_direct_cb, c);
    if (c->direct_ev == NULL)
        return false;
    bufferevent_disable(c->upstream, EV_READ);
    return true;
}

/* The body ended in direct mode: back to the bufferevent for what
 * follows (keep-alive), and finish the exchange. */
static void
forward_direct_done(struct conn *c)
{
    forward_direct_stop(c);
    c->resp_done = true;
    if (!c->req_done) {
        c->client_close = true;
        c->req_done = true;
        c->resp_framing.close = true;
    }
    forward_finish(c);
}

static void
forward_direct_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    struct evbuffer *out = bufferevent_get_output(c->client);
    ssize_t got;

    (void)what;
    got = conn_relay_read(
        c, fd, out, false,
        c->resp_framing.kind == HTTP_BODY_LENGTH ? c->resp_left : UINT64_MAX);
    if (got == CONN_RELAY_AGAIN || got == CONN_RELAY_CUT)
        return;
    if (got == CONN_RELAY_ERROR) {
        forward_abort(c, REASON_UPSTREAM_FAILED,
                      "the origin connection failed mid-body");
        return;
    }
    if (got == 0) {
        if (c->resp_framing.kind == HTTP_BODY_CLOSE) {
            forward_direct_done(c);
            return;
        }
        forward_abort(c, REASON_UPSTREAM_FAILED,
                      "the origin closed the connection before a complete "
                      "response");
        return;
    }
    if (c->resp_framing.kind == HTTP_BODY_LENGTH) {
        c->resp_left -= (uint64_t)got;
        if (c->resp_left == 0) {
            forward_direct_done(c);
            return;
        }
    }
    if (evbuffer_get_length(out) >= FORWARD_OUT_MAX) {
        event_del(c->direct_ev);
        bufferevent_setwatermark(c->client, EV_WRITE, FORWARD_OUT_MAX / 2, 0);
    }
}

/* The request body's mirror image: a Content-Length body is read from the
 * client socket straight into the upstream's output. */
static void
forward_direct_up_stop(struct conn *c)
{
    if (c->direct_up_ev == NULL)
        return;
    event_free(c->direct_up_ev);
    c->direct_up_ev = NULL;
    bufferevent_enable(c->client, EV_READ);
}

static void
forward_direct_up_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    struct evbuffer *out = bufferevent_get_output(c->upstream);
    ssize_t got;

    (void)what;
    got = conn_relay_read(c, fd, out, true, c->req_left);
    if (got == CONN_RELAY_AGAIN || got == CONN_RELAY_CUT)
        return;
    if (got <= 0) {
        /* The client left mid-body (or its socket failed). */
        conn_close(c);
        return;
    }
    c->req_left -= (uint64_t)got;
    if (c->req_left == 0) {
        forward_direct_up_stop(c);
        c->req_done = true;
        if (c->resp_done)
            forward_finish(c);
        return;
    }
    if (evbuffer_get_length(out) >= FORWARD_OUT_MAX) {
        event_del(c->direct_up_ev);
        bufferevent_setwatermark(c->upstream, EV_WRITE, FORWARD_OUT_MAX / 2, 0);
    }
}

static bool
forward_direct_up_start(struct conn *c)
{
    evutil_socket_t fd = bufferevent_getfd(c->client);

    if (c->r.shaped || fd == -1 || c->req_done ||
        c->req_framing.kind != HTTP_BODY_LENGTH ||
        evbuffer_get_length(bufferevent_get_input(c->client)) != 0)
        return false;
    c->direct_up_ev = event_new(c->px->base, fd, EV_READ | EV_PERSIST,
                                forward_direct_up_cb, c);
    if (c->direct_up_ev == NULL)
        return false;
    bufferevent_disable(c->client, EV_READ);
    event_add(c->direct_up_ev, NULL);
    return true;
}

/* Relays what the origin has sent. Returns false when the exchange ended
 * here (cut, failed, or finished): <c> may be freed and must not be
 * touched. */
static bool
forward_pump_response(struct conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->upstream);
    struct evbuffer *out = bufferevent_get_output(c->client);
    const char *why = NULL;
    int rc;

    if (!c->resp_head_done) {
        int head = forward_read_response_head(c);

        if (head <= 0)
            return head == 0;
    }
    if (!c->resp_done) {
        uint64_t before = c->r.bytes_down;

        rc = forward_relay_body(in, out, &c->resp_framing, &c->resp_ck,
                                &c->resp_left, &c->r.bytes_down,
                                conn_allowance(c, false), &why);
        conn_account(c, false, c->r.bytes_down - before);
        if (rc == 2) {
            conn_cut_byte_cap(c);
            return false;
        }
        if (rc == -1) {
            forward_abort(c, REASON_UPSTREAM_FAILED,
                          "malformed chunked response body");
            return false;
        }
        conn_touch(c);
        if (rc == 1)
            c->resp_done = true;
    }
    if (c->resp_done) {
        if (c->req_done) {
            forward_finish(c);
            return false;
        }
        /* The origin answered before the request body ended (e.g. 413):
         * the rest of the body is not wanted; close after the answer. */
        c->client_close = true;
        c->req_done = true;
        c->resp_framing.close = true;
        forward_finish(c);
        return false;
    }
    if (c->direct_ev == NULL && !forward_direct_start(c)) {
        if (evbuffer_get_length(out) >= FORWARD_OUT_MAX) {
            bufferevent_disable(c->upstream, EV_READ);
            bufferevent_setwatermark(c->client, EV_WRITE, FORWARD_OUT_MAX / 2,
                                     0);
        }
        return true;
    }
    if (evbuffer_get_length(out) >= FORWARD_OUT_MAX)
        bufferevent_setwatermark(c->client, EV_WRITE, FORWARD_OUT_MAX / 2, 0);
    else
        event_add(c->direct_ev, NULL);
    return true;
}

static void
forward_upstream_read_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    (void)forward_pump_response(arg);
}

static void
forward_upstream_write_cb(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;

    sendq_drained(c, bev);
    bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
    if (c->req_done)
        return;
    if (c->direct_up_ev != NULL)
        event_add(c->direct_up_ev, NULL);
    else
        bufferevent_enable(c->client, EV_READ);
}

static void
forward_upstream_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;

    (void)bev;
    if ((what & BEV_EVENT_EOF) && c->resp_head_done && !c->resp_done &&
        c->resp_framing.kind == HTTP_BODY_CLOSE) {
        /* Close-delimited body: this EOF is its end. */
        if (!forward_pump_response(c))
            return;
        c->resp_done = true;
        if (!c->req_done) {
            c->req_done = true;
            c->client_close = true;
        }
        forward_finish(c);
        return;
    }
    if (!c->resp_head_done && !forward_pump_response(c))
        return;
    if (c->r.reused && !c->resp_head_done && c->r.bytes_down == 0 &&
        c->req_framing.kind == HTTP_BODY_NONE &&
        evbuffer_get_length(bufferevent_get_input(c->upstream)) == 0) {
        /* The origin closed the idle connection as we reused it: the
         * request never reached it, so it is safe to send it afresh. */
        conn_retry_fresh(c);
        return;
    }
    forward_abort(c, REASON_UPSTREAM_FAILED,
                  "the origin closed the connection before a complete "
                  "response");
}

void
forward_start(struct conn *c)
{
    struct evbuffer *up = bufferevent_get_output(c->upstream);

    c->state = CONN_FORWARD;
    conn_touch(c);
    c->req_done = c->req_framing.kind == HTTP_BODY_NONE;
    c->req_left = c->req_framing.length;
    chunked_init(&c->req_ck);
    c->resp_done = false;
    c->resp_head_done = false;
    c->upstream_reusable = false;
    memset(&c->resp_framing, 0, sizeof(c->resp_framing));
    /* Heads count as relayed bytes: a secret in a header is egress too. */
    if (conn_allowance(c, true) < evbuffer_get_length(c->pending)) {
        conn_cut_byte_cap(c);
        return;
    }
    c->r.bytes_up += evbuffer_get_length(c->pending);
    conn_account(c, true, evbuffer_get_length(c->pending));
    conn_shape(c, c->client);
    conn_shape(c, c->upstream);
    if (c->r.reused) {
        /* Keep the head: a stale kept-alive upstream means sending it
         * again on a fresh connection. */
        size_t n = evbuffer_get_length(c->pending);

        evbuffer_add(up, evbuffer_pullup(c->pending, (ssize_t)n), n);
    } else {
        evbuffer_add_buffer(up, c->pending);
    }
    bufferevent_setcb(c->upstream, forward_upstream_read_cb,
                      forward_upstream_write_cb, forward_upstream_event_cb, c);
    bufferevent_setwatermark(c->upstream, EV_WRITE, 0, 0);
    bufferevent_enable(c->upstream, EV_READ);
    conn_set_timer(c, c->policy->idle_timeout_ms);
    if (!c->req_done) {
        if (!forward_pump_request(c))
            return;
        /* Unless the body is now read directly from the client socket:
         * two readers on one socket would interleave its bytes. */
        if (!c->req_done && c->direct_up_ev == NULL)
            bufferevent_enable(c->client, EV_READ);
    }
}

void
forward_client_readable(struct conn *c)
{
    (void)forward_pump_request(c);
}

void
forward_client_drained(struct conn *c)
{
    bufferevent_setwatermark(c->client, EV_WRITE, 0, 0);
    if (c->resp_done)
        return;
    if (c->direct_ev != NULL)
        event_add(c->direct_ev, NULL);
    else
        bufferevent_enable(c->upstream, EV_READ);
}

void
forward_client_eof(struct conn *c)
{
    /* A client that half-closes after a complete request still gets its
     * answer; one that leaves mid-body ends the exchange. */
    if (c->req_done) {
        c->client_close = true;
        return;
    }
    if (!forward_pump_request(c))
        return;
    if (!c->req_done)
        conn_close(c);
    else
        c->client_close = true;
}
