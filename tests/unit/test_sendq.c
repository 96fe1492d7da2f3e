/* tests/unit/test_sendq.c - end-of-pass writes (proxy/sendq.c) over real
 * socket pairs and a real event loop: what is written when, when EV_WRITE
 * is handed to libevent, and when the write callback runs. */
#include "config.h"
#include "tests/unit/test.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "proxy/conn-t.h"
#include "proxy/proxy.h"
#include "proxy/sendq.h"

#define PEERS 2

struct fixture {
    struct proxy px;
    struct conn c[PEERS];
    int peer[PEERS]; /* the far end of each conn's client socket */
    int writecbs[PEERS];
    bool close_in_writecb[PEERS];
};

static void
pass_end_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    sendq_run(arg);
}

static void
writecb(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    struct fixture *f = (struct fixture *)c->px;
    size_t i = (size_t)(c - f->c);

    f->writecbs[i]++;
    sendq_drained(c, bev);
    if (f->close_in_writecb[i]) {
        /* What conn_close() does first. */
        sendq_forget(c);
    }
}

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    f->px.base = event_base_new();
    assert_non_null(f->px.base);
    f->px.pass_end = event_new(f->px.base, -1, 0, pass_end_cb, &f->px);
    assert_non_null(f->px.pass_end);
    for (int i = 0; i < PEERS; i++) {
        int sv[2];

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
        assert_int_equal(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
        assert_int_equal(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
        f->c[i].px = &f->px;
        f->c[i].client =
            bufferevent_socket_new(f->px.base, sv[0], BEV_OPT_CLOSE_ON_FREE);
        assert_non_null(f->c[i].client);
        bufferevent_setcb(f->c[i].client, NULL, writecb, NULL, &f->c[i]);
        assert_int_equal(sendq_watch(&f->c[i], f->c[i].client), 0);
        f->peer[i] = sv[1];
    }
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    for (int i = 0; i < PEERS; i++) {
        sendq_forget(&f->c[i]);
        bufferevent_free(f->c[i].client);
        close(f->peer[i]);
    }
    event_free(f->px.pass_end);
    event_base_free(f->px.base);
    free(f);
    return 0;
}

static void
one_pass(struct fixture *f)
{
    event_base_loop(f->px.base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
}

/* Everything the peer has, up to <max>. */
static size_t
drain_peer(int fd, char *buf, size_t max)
{
    size_t got = 0;
    ssize_t n;

    while (got < max && (n = read(fd, buf + got, max - got)) > 0)
        got += (size_t)n;
    return got;
}

static bool
write_enabled(struct bufferevent *bev)
{
    return (bufferevent_get_enabled(bev) & EV_WRITE) != 0;
}

/* Bytes added are written by the end of the pass, not before; the write
 * callback runs (the output reached its low mark, 0) and EV_WRITE never
 * goes to libevent. */
static void
test_sendq_writes_at_end_of_pass(void **state)
{
    struct fixture *f = *state;
    struct conn *c = &f->c[0];
    char buf[64];

    assert_false(write_enabled(c->client));
    evbuffer_add(bufferevent_get_output(c->client), "hello ", 6);
    evbuffer_add(bufferevent_get_output(c->client), "world", 5);
    assert_true(c->sq_queued);
    assert_ptr_equal(f->px.sendq, c);
    assert_int_equal(drain_peer(f->peer[0], buf, sizeof(buf)), 0);

    one_pass(f);
    assert_int_equal(drain_peer(f->peer[0], buf, sizeof(buf)), 11);
    assert_memory_equal(buf, "hello world", 11);
    assert_int_equal(f->writecbs[0], 1);
    assert_false(c->sq_queued);
    assert_null(f->px.sendq);
    assert_false(write_enabled(c->client));
}

/* What the socket refuses goes to libevent (EV_WRITE on), the callback
 * waits for the low mark, and once libevent has written the rest the
 * bufferevent is back with the queue (EV_WRITE off). */
static void
test_sendq_hands_the_rest_to_libevent(void **state)
{
    struct fixture *f = *state;
    struct conn *c = &f->c[0];
    struct evbuffer *out = bufferevent_get_output(c->client);
    size_t total = 8 << 20, got = 0;
    char *data = malloc(total), *back = malloc(total);

    assert_non_null(data);
    assert_non_null(back);
    for (size_t i = 0; i < total; i++)
        data[i] = (char)(i * 7 + 3);
    evbuffer_add(out, data, total);
    one_pass(f);
    assert_true(evbuffer_get_length(out) > 0);
    assert_true(write_enabled(c->client));
    assert_int_equal(f->writecbs[0], 0);

    for (int spins = 0; got < total && spins < 100000; spins++) {
        got += drain_peer(f->peer[0], back + got, total - got);
        one_pass(f);
    }
    assert_int_equal(got, total);
    assert_memory_equal(back, data, total);
    assert_int_equal(evbuffer_get_length(out), 0);
    assert_true(f->writecbs[0] >= 1);
    assert_false(write_enabled(c->client));
    free(data);
    free(back);
}

/* A forgotten conn (closed before the end of the pass) is not written. */
static void
test_sendq_forget(void **state)
{
    struct fixture *f = *state;
    char buf[16];

    evbuffer_add(bufferevent_get_output(f->c[0].client), "x", 1);
    evbuffer_add(bufferevent_get_output(f->c[1].client), "y", 1);
    sendq_forget(&f->c[0]);
    assert_false(f->c[0].sq_queued);
    assert_ptr_equal(f->px.sendq, &f->c[1]);
    one_pass(f);
    assert_int_equal(drain_peer(f->peer[0], buf, sizeof(buf)), 0);
    assert_int_equal(drain_peer(f->peer[1], buf, sizeof(buf)), 1);
    assert_int_equal(buf[0], 'y');
}

/* A write callback that closes its conn must not stop the others. */
static void
test_sendq_callback_closing_its_conn(void **state)
{
    struct fixture *f = *state;
    char buf[16];

    f->close_in_writecb[0] = f->close_in_writecb[1] = true;
    evbuffer_add(bufferevent_get_output(f->c[0].client), "a", 1);
    evbuffer_add(bufferevent_get_output(f->c[1].client), "b", 1);
    one_pass(f);
    assert_int_equal(f->writecbs[0], 1);
    assert_int_equal(f->writecbs[1], 1);
    assert_int_equal(drain_peer(f->peer[0], buf, sizeof(buf)), 1);
    assert_int_equal(drain_peer(f->peer[1], buf, sizeof(buf)), 1);
    assert_null(f->px.sendq);
    assert_null(f->px.sendq_current);
}

/* A shaped conn keeps EV_WRITE: libevent writes it, under its rate
 * limit; the queue leaves it alone. */
static void
test_sendq_leaves_shaped_to_libevent(void **state)
{
    struct fixture *f = *state;
    struct conn *c = &f->c[0];
    char buf[16];

    c->r.shaped = true;
    bufferevent_enable(c->client, EV_WRITE);
    evbuffer_add(bufferevent_get_output(c->client), "zz", 2);
    one_pass(f); /* the queue's pass: skipped, libevent's turn */
    one_pass(f); /* libevent's write */
    assert_int_equal(drain_peer(f->peer[0], buf, sizeof(buf)), 2);
    assert_true(write_enabled(c->client)); /* sendq_drained left it on */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sendq_writes_at_end_of_pass, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_sendq_hands_the_rest_to_libevent,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_sendq_forget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sendq_callback_closing_its_conn,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_sendq_leaves_shaped_to_libevent,
                                        setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
