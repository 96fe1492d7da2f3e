/* tests/unit/test_resolver.c - the c-ares resolver against a tiny UDP DNS
 * server that runs on the same event_base, on 127.0.0.1 and an ephemeral
 * port. Nothing leaves loopback. */
#include "config.h"
#include "tests/unit/test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "proxy/resolver.h"

#define TEST_TIMEOUT_MS 300
#define TEST_SLACK_MS 250 /* loaded CI machines and valgrind */
#define TEST_GUARD_MS 5000
#define TEST_DNS_MAX 512
#define TEST_NAME_MAX 256
#define TEST_RR_MAX 20
#define TEST_SEARCH_DOMAIN "search.invalid"

enum { TEST_T_A = 1, TEST_T_CNAME = 5, TEST_T_AAAA = 28 };

enum test_behaviour {
    TEST_ANSWER = 0, /* the records below; NOERROR */
    TEST_NXDOMAIN,
    TEST_SERVFAIL,
    TEST_REFUSED,
    TEST_SILENT /* never answer */
};

/* The zone the fake server knows. Unknown names are NXDOMAIN. */
struct test_zone {
    const char *name;
    enum test_behaviour how;
    int a_delay_ms;    /* hold the A answer back so AAAA arrives first */
    const char *cname; /* answer with a CNAME to this name, then its A */
    const char *a[TEST_RR_MAX];
    const char *aaaa[TEST_RR_MAX];
};

static const struct test_zone test_zone[] = {
    { "dual.test",
      TEST_ANSWER,
      50,
      NULL,
      { "93.184.216.34", "93.184.216.35" },
      { "2606:2800:220:1::1" } },
    { "v4.test", TEST_ANSWER, 0, NULL, { "1.2.3.4" }, { NULL } },
    { "v6.test", TEST_ANSWER, 0, NULL, { NULL }, { "2001:db8::1" } },
    { "dup.test",
      TEST_ANSWER,
      0,
      NULL,
      { "1.2.3.4", "5.6.7.8", "1.2.3.4" },
      { "2001:db8::1", "2001:db8::1" } },
    { "many.test",
      TEST_ANSWER,
      0,
      NULL,
      { "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6",
        "10.0.0.7", "10.0.0.8", "10.0.0.9", "10.0.0.10", "10.0.0.11",
        "10.0.0.12", "10.0.0.13", "10.0.0.14", "10.0.0.15", "10.0.0.16",
        "10.0.0.17" },
      { "fd00::1", "fd00::2", "fd00::3", "fd00::4", "fd00::5", "fd00::6",
        "fd00::7", "fd00::8", "fd00::9", "fd00::10", "fd00::11", "fd00::12",
        "fd00::13", "fd00::14", "fd00::15", "fd00::16", "fd00::17" } },
    { "alias.test", TEST_ANSWER, 0, "v4.test", { "1.2.3.4" }, { NULL } },
    { "nodata.test", TEST_ANSWER, 0, NULL, { NULL }, { NULL } },
    { "servfail.test", TEST_SERVFAIL, 0, NULL, { NULL }, { NULL } },
    { "refused.test", TEST_REFUSED, 0, NULL, { NULL }, { NULL } },
    { "timeout.test", TEST_SILENT, 0, NULL, { NULL }, { NULL } },
};

/* An answer the server holds back (a_delay_ms). */
struct test_delayed {
    struct test_env *env;
    struct test_delayed *next;
    struct event *ev;
    struct sockaddr_storage to;
    socklen_t tolen;
    size_t len;
    unsigned char buf[TEST_DNS_MAX];
};

struct test_env {
    struct event_base *base;
    struct resolver *r;
    evutil_socket_t dns_fd;
    struct event *dns_ev;
    struct event *guard;
    struct test_delayed *delayed;
    unsigned queries;    /* questions the server received */
    bool saw_search;     /* a question carried the search domain */
    int pending;         /* results still expected before loopbreak */
    bool in_lookup;      /* inside resolver_lookup() */
    bool done_in_lookup; /* a callback ran from inside resolver_lookup() */
    char server[64];
};

struct test_result {
    struct test_env *env;
    int calls;
    enum resolver_status status;
    size_t n;
    struct addr addrs[RESOLVER_ADDRS_MAX];
    double at_ms; /* when the callback ran */
    /* Optional actions run from inside the callback. */
    struct resolver_query *cancel_other;
    bool free_resolver;
    const char *lookup_again;
    struct test_result *again;
};

static double
test_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static const struct test_zone *
test_zone_find(const char *name)
{
    for (size_t i = 0; i < ARRAY_LEN(test_zone); i++) {
        if (strcmp(test_zone[i].name, name) == 0)
            return &test_zone[i];
    }
    return NULL;
}

static void
test_put16(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)(v >> 8);
    p[1] = (unsigned char)v;
}

/* Appends one answer record (owner = the name at offset <owner>). */
static size_t
test_put_rr(unsigned char *out, size_t len, unsigned owner, unsigned type,
            const unsigned char *rdata, size_t rdlen)
{
    assert_true(len + 12 + rdlen <= TEST_DNS_MAX);
    test_put16(out + len, 0xc000 | owner); /* compression pointer */
    test_put16(out + len + 2, type);
    test_put16(out + len + 4, 1);  /* IN */
    test_put16(out + len + 6, 0);  /* TTL high */
    test_put16(out + len + 8, 60); /* TTL low */
    test_put16(out + len + 10, (unsigned)rdlen);
    memcpy(out + len + 12, rdata, rdlen);
    return len + 12 + rdlen;
}

/* Encodes dotted <name> as DNS labels. Returns the length. */
static size_t
test_encode_name(const char *name, unsigned char *out)
{
    size_t o = 0;
    const char *p = name, *dot;

    while (*p != '\0') {
        dot = strchr(p, '.');
        size_t l = dot != NULL ? (size_t)(dot - p) : strlen(p);
        out[o++] = (unsigned char)l;
        memcpy(out + o, p, l);
        o += l;
        p += l;
        if (*p == '.')
            p++;
    }
    out[o++] = 0;
    return o;
}

/* Builds the answer to query q[0..qlen) into <out>. Returns its length, or
 * 0 for no answer at all. *delay_ms gets how long to hold it back. */
static size_t
test_dns_answer(struct test_env *env, const unsigned char *q, size_t qlen,
                unsigned char *out, int *delay_ms)
{
    char name[TEST_NAME_MAX];
    size_t off = 12, n = 0, len;
    unsigned qtype, rcode = 0, ancount = 0, owner = 12;
    const struct test_zone *z;
    const char *const *list;
    unsigned char rdata[16];

    *delay_ms = 0;
    if (qlen < 12 + 5)
        return 0;
    while (off < qlen && q[off] != 0) {
        size_t l = q[off++];

        if (l > 63 || off + l > qlen || n + l + 2 > sizeof(name))
            return 0;
        if (n > 0)
            name[n++] = '.';
        for (size_t k = 0; k < l; k++) {
            char c = (char)q[off + k];
            name[n++] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
        }
        off += l;
    }
    name[n] = '\0';
    if (off + 5 > qlen)
        return 0;
    qtype = (unsigned)q[off + 1] << 8 | q[off + 2];
    off += 5; /* root label, type, class */
    env->queries++;
    if (strstr(name, TEST_SEARCH_DOMAIN) != NULL)
        env->saw_search = true;

    z = test_zone_find(name);
    if (z != NULL && z->how == TEST_SILENT)
        return 0;
    memcpy(out, q, off); /* id, flags, counts, question */
    len = off;
    if (z == NULL || z->how == TEST_NXDOMAIN)
        rcode = 3;
    else if (z->how == TEST_SERVFAIL)
        rcode = 2;
    else if (z->how == TEST_REFUSED)
        rcode = 5;
    if (rcode == 0 && z->cname != NULL) {
        unsigned char target[TEST_NAME_MAX];
        size_t tlen = test_encode_name(z->cname, target);

        len = test_put_rr(out, len, owner, TEST_T_CNAME, target, tlen);
        owner = (unsigned)(len - tlen); /* the target's labels */
        ancount++;
    }
    if (rcode == 0 && (qtype == TEST_T_A || qtype == TEST_T_AAAA)) {
        list = qtype == TEST_T_A ? z->a : z->aaaa;
        for (size_t i = 0; i < TEST_RR_MAX && list[i] != NULL; i++) {
            int af = qtype == TEST_T_A ? AF_INET : AF_INET6;

            assert_int_equal(inet_pton(af, list[i], rdata), 1);
            len = test_put_rr(out, len, owner, qtype, rdata,
                              af == AF_INET ? 4 : 16);
            ancount++;
        }
        if (qtype == TEST_T_A)
            *delay_ms = z->a_delay_ms;
    }
    out[2] = (unsigned char)(0x80 | (q[2] & 0x01)); /* QR, keep RD */
    out[3] = (unsigned char)(0x80 | rcode);         /* RA */
    test_put16(out + 6, ancount);
    test_put16(out + 8, 0);
    test_put16(out + 10, 0);
    return len;
}

static void
test_delayed_cb(evutil_socket_t fd, short what, void *arg)
{
    struct test_delayed *d = arg, **pp;

    (void)fd;
    (void)what;
    sendto(d->env->dns_fd, d->buf, d->len, 0, (struct sockaddr *)&d->to,
           d->tolen);
    for (pp = &d->env->delayed; *pp != d; pp = &(*pp)->next)
        ;
    *pp = d->next;
    event_free(d->ev);
    free(d);
}

static void
test_dns_read_cb(evutil_socket_t fd, short what, void *arg)
{
    struct test_env *env = arg;
    unsigned char q[TEST_DNS_MAX], out[TEST_DNS_MAX];
    struct sockaddr_storage from;
    socklen_t fromlen;
    ssize_t got;
    size_t len;
    int delay_ms;

    (void)what;
    for (;;) {
        fromlen = sizeof(from);
        got = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fromlen);
        if (got == -1)
            return; /* EAGAIN: drained */
        len = test_dns_answer(env, q, (size_t)got, out, &delay_ms);
        if (len == 0)
            continue;
        if (delay_ms == 0) {
            sendto(fd, out, len, 0, (struct sockaddr *)&from, fromlen);
            continue;
        }
        struct test_delayed *d = calloc(1, sizeof(*d));
        struct timeval tv = { 0, delay_ms * 1000 };

        assert_non_null(d);
        d->env = env;
        d->to = from;
        d->tolen = fromlen;
        d->len = len;
        memcpy(d->buf, out, len);
        d->ev = evtimer_new(env->base, test_delayed_cb, d);
        assert_non_null(d->ev);
        evtimer_add(d->ev, &tv);
        d->next = env->delayed;
        env->delayed = d;
    }
}

static void
test_guard_cb(evutil_socket_t fd, short what, void *arg)
{
    struct test_env *env = arg;

    (void)fd;
    (void)what;
    event_base_loopbreak(env->base);
}

/* Starts the server and a resolver pointed at it with <timeout_ms>. */
static struct test_env *
test_env_new(uint32_t timeout_ms)
{
    struct test_env *env = calloc(1, sizeof(*env));
    struct sockaddr_in sin;
    socklen_t sl = sizeof(sin);
    char err[256] = "";
    char *servers[1];

    assert_non_null(env);
    env->base = event_base_new();
    assert_non_null(env->base);
    env->dns_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    assert_true(env->dns_fd != -1);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(env->dns_fd, (struct sockaddr *)&sin, sizeof(sin)),
                     0);
    assert_int_equal(getsockname(env->dns_fd, (struct sockaddr *)&sin, &sl), 0);
    env->dns_ev = event_new(env->base, env->dns_fd, EV_READ | EV_PERSIST,
                            test_dns_read_cb, env);
    assert_non_null(env->dns_ev);
    event_add(env->dns_ev, NULL);
    env->guard = evtimer_new(env->base, test_guard_cb, env);
    assert_non_null(env->guard);

    /* A search domain in the environment: the resolver must not use it. */
    setenv("LOCALDOMAIN", TEST_SEARCH_DOMAIN, 1);
    snprintf(env->server, sizeof(env->server), "127.0.0.1:%u",
             (unsigned)ntohs(sin.sin_port));
    servers[0] = env->server;
    env->r = resolver_new(env->base, servers, 1, timeout_ms, err, sizeof(err));
    unsetenv("LOCALDOMAIN");
    if (env->r == NULL)
        fail_msg("resolver_new: %s", err);
    return env;
}

static void
test_env_free(struct test_env *env)
{
    resolver_free(env->r);
    while (env->delayed != NULL) {
        struct test_delayed *d = env->delayed;

        env->delayed = d->next;
        event_free(d->ev);
        free(d);
    }
    event_free(env->guard);
    event_free(env->dns_ev);
    close(env->dns_fd);
    event_base_free(env->base);
    free(env);
}

static void
test_done(enum resolver_status status, const struct addr *addrs, size_t n,
          void *arg)
{
    struct test_result *res = arg;
    struct test_env *env = res->env;

    if (env->in_lookup)
        env->done_in_lookup = true;
    res->calls++;
    res->status = status;
    res->n = n;
    assert_true(n <= RESOLVER_ADDRS_MAX);
    if (n > 0)
        memcpy(res->addrs, addrs, n * sizeof(addrs[0]));
    res->at_ms = test_now_ms();
    if (res->cancel_other != NULL)
        resolver_cancel(res->cancel_other);
    if (res->lookup_again != NULL) {
        res->again->env = env;
        env->pending++;
        assert_non_null(
            resolver_lookup(env->r, res->lookup_again, test_done, res->again));
    }
    if (res->free_resolver) {
        resolver_free(env->r);
        env->r = NULL;
    }
    if (--env->pending == 0)
        event_base_loopbreak(env->base);
}

static struct resolver_query *
test_lookup(struct test_env *env, const char *name, struct test_result *res)
{
    struct resolver_query *q;

    res->env = env;
    env->pending++;
    env->in_lookup = true;
    q = resolver_lookup(env->r, name, test_done, res);
    env->in_lookup = false;
    assert_non_null(q);
    return q;
}

static void
test_dispatch(struct test_env *env, int max_ms)
{
    struct timeval tv = { max_ms / 1000, (max_ms % 1000) * 1000 };

    evtimer_add(env->guard, &tv);
    event_base_dispatch(env->base);
    evtimer_del(env->guard);
}

/* Runs the loop until every expected result is in, or <max_ms>. */
static void
test_run(struct test_env *env, int max_ms)
{
    if (env->pending > 0)
        test_dispatch(env, max_ms);
}

/* Runs the loop for <ms>, whatever the callbacks do. */
static void
test_run_for(struct test_env *env, int ms)
{
    int saved = env->pending;

    env->pending = -1000; /* never reaches zero */
    test_dispatch(env, ms);
    env->pending = saved;
}

static struct addr
test_addr(const char *text)
{
    struct addr a;

    memset(&a, 0, sizeof(a));
    a.family = strchr(text, ':') != NULL ? AF_INET6 : AF_INET;
    assert_int_equal(inet_pton(a.family, text, a.bytes), 1);
    return a;
}

static void
test_expect_addrs(const struct test_result *res, const char *const *want,
                  size_t n)
{
    if (res->n != n)
        fail_msg("got %zu addresses, want %zu", res->n, n);
    for (size_t i = 0; i < n; i++) {
        struct addr a = test_addr(want[i]);

        if (memcmp(&a, &res->addrs[i], sizeof(a)) != 0)
            fail_msg("address %zu: want %s", i, want[i]);
    }
}

static void
test_resolver_a_and_aaaa(void **state)
{
    static const char *const want[] = { "93.184.216.34", "93.184.216.35",
                                        "2606:2800:220:1::1" };
    struct test_env *env = test_env_new(TEST_TIMEOUT_MS);
    struct test_result res = { 0 };

    (void)state;
    test_lookup(env, "dual.test", &res);
    assert_int_equal(res.calls, 0);
    test_run(env, TEST_GUARD_MS);
    assert_int_equal(res.calls, 1);
    assert_int_equal(res.status, RESOLVER_OK);
    /* The AAAA answer arrived first: IPv4 is still listed first. */
    test_expect_addrs(&res, want, ARRAY_LEN(want));
    assert_int_equal(resolver_lookups(env->r), 1);
    test_env_free(env);
}

/* An answer with a TTL (60 s here) is served from the cache the second
 * time: the server sees no new question, and the callback still comes
 * from the loop, never from inside resolver_lookup(). */
static void
test_resolver_cache_serves_within_ttl(void **state)
{
    static const char *const want[] = { "1.2.3.4" };
    struct test_env *env = test_env_new(TEST_TIMEOUT_MS);
    struct test_result first = { 0 }, second = { 0 };
    unsigned asked;

    (void)state;
    test_lookup(env, "v4.test", &first);
    test_run(env, TEST_GUARD_MS);
    assert_int_equal(first.status, RESOLVER_OK);
    asked = env->queries;
    assert_true(asked >= 1);
    test_lookup(env, "v4.test", &second);
    assert_int_equal(second.calls, 0);
    test_run(env, TEST_GUARD_MS);
    assert_int_equal(second.calls, 1);
    assert_int_equal(second.status, RESOLVER_OK);
    test_expect_addrs(&second, want, ARRAY_LEN(want));
    assert_int_equal(env->queries, asked);
    /* Failures are never cached. */
    test_lookup(env, "nosuch.test", &first);
    test_run(env, TEST_GUARD_MS);
    asked = env->queries;
    test_lookup(env, "nosuch.test", &second);
    test_run(env, TEST_GUARD_MS);
    assert_true(env->queries > asked);
    test_env_free(env);
}

static void
test_resolver_single_family_and_cname(void **state)
{
    static const char *const v4[] = { "1.2.3.4" };
    static const char *const v6[] = { "2001:db8::1" };
    struct test_env *env = test_env_new(TEST_TIMEOUT_MS);
    struct test_result r4 = { 0 }, r6 = { 0 }, ra = { 0 };

    (void)state;
    test_lookup(env, "v4.test", &r4);
    test_lookup(env, "V6.test.", &r6); /* case and root dot pass through */
    test_lookup(env, "alias.test", &ra);
    test_run(env, TEST_GUARD_MS);
    assert_int_equal(r4.status, RESOLVER_OK);
    test_expect_addrs(&r4, v4, 1);
    assert_int_equal(r6.status, RESOLVER_OK);
    test_expect_addrs(&r6, v6, 1);
    assert_int_equal(ra.status, RESOLVER_OK);
    test_expect_addrs(&ra, v4, 1);
    test_env_free(env);
}

static void
test_resolver_dedup_and_cap(void **state)
{
    static const char *const dup[] = { "1.2.3.4", "5.6.7.8", "2001:db8::1" };
    struct test_env *env = test_env_new(TEST_TIMEOUT_MS);
    struct test_result rd = { 0 }, rm = { 0 };
    char text[64];

    (void)state;
    test_lookup(env, "dup.test", &rd);
    test_lookup(env, "many.test", &rm);
    test_run(env, TEST_GUARD_MS);
    assert_int_equal(rd.status, RESOLVER_OK);
    test_expect_addrs(&rd, dup, ARRAY_LEN(dup));
    assert_int_equal(rm.status, RESOLVER_OK);
    assert_int_equal(rm.n, RESOLVER_ADDRS_MAX);
    /* All 17 IPv4 answers, then IPv6 until the cap. */
    for (size_t i = 0; i < rm.n; i++) {
        struct addr a;

        if (i < 17)
            snprintf(text, sizeof(text), "10.0.0.%zu", i + 1);
        else
            snprintf(text, sizeof(text), "fd00::%zu", i - 17 + 1);
        a = test_addr(text);
        if (memcmp(&a, &rm.addrs[i], sizeof(a)) != 0)
            fail_msg("many.test address %zu: want %s", i, text);
    }
    test_env_free(env);
}

static void
test_resolver_failures(void **state)
{
    struct test_env *env = test_env_new(TEST_TIMEOUT_MS);
    struct test_result nx = { 0 }, nd = { 0 }, sf = { 0 }, rf = { 0 },
                       lh = { 0 };

    (void)state;
    test_lookup(env, "nosuch.test", &nx);
    test_lookup(env, "nodata.test", &nd);
    test_lookup(env, "servfail.test", &sf);
    test_lookup(env, "refused.test", &rf);
    /* Configured servers: /etc/hosts is not consulted. */
    test_lookup(env, "localhost", &lh);
    test_run(env, TEST_GUARD_MS);
    assert_int_equal(nx.calls, 1);
    assert_int_equal(nx.status, RESOLVER_NXDOMAIN);
    assert_int_equal(nx.n, 0);
    assert_int_equal(nd.status, RESOLVER_NXDOMAIN);
    assert_int_equal(sf.status, RESOLVER_SERVFAIL);
    assert_int_equal(rf.status, RESOLVER_SERVFAIL);
    /* c-ares never sends "localhost" to DNS (RFC 6761 6.3) and fails it
     * without the hosts file; all that matters is no loopback answer. */
    assert_int_equal(lh.calls, 1);
    assert_true(lh.status != RESOLVER_OK);
    assert_int_equal(lh.n, 0);
    /* The name was asked as given, never with a search domain. */
    assert_false(env->saw_search);
    test_env_free(env);
}

static void
test_resolver_timeout(void **state)
{
    struct test_env *env = test_env_new(TEST_TIMEOUT_MS);
    struct test_result res = { 0 };
    double start, took;

    (void)state;
    start = test_now_ms();
    test_lookup(env, "timeout.test", &res);
    test_run(env, TEST_GUARD_MS);
    took = res.at_ms - start;
    assert_int_equal(res.calls, 1);
    assert_int_equal(res.status, RESOLVER_TIMEOUT);
    assert_int_equal(res.n, 0);
    if (took < TEST_TIMEOUT_MS - 20 || took > TEST_TIMEOUT_MS + TEST_SLACK_MS)
        fail_msg("timed out after %.0f ms, want about %d", took,
                 TEST_TIMEOUT_MS);
    /* c-ares' own retries end in the background: nothing more arrives. */
    test_run_for(env, TEST_TIMEOUT_MS);
    assert_int_equal(res.calls, 1);
    test_env_free(env);
}

/* Every result arrives from the event loop, even one c-ares has at once
 * (an IP literal), so callers never see done() before lookup returns. */
static void
test_resolver_never_calls_back_inside_lookup(void **state)
{
    static const char *const want[] = { "192.0.2.7" };
    struct test_env *env = test_env_new(TEST_TIMEOUT_MS);
    struct test_result lit = { 0 }, bad = { 0 };

    (void)state;
    test_lookup(env, "192.0.2.7", &lit);
    test_lookup(env, "bad..name", &bad);
    assert_int_equal(lit.calls, 0);
    assert_int_equal(bad.calls, 0);
    test_run(env, TEST_GUARD_MS);
    assert_false(env->done_in_lookup);
    assert_int_equal(lit.calls, 1);
    assert_int_equal(lit.status, RESOLVER_OK);
    test_expect_addrs(&lit, want, 1);
    assert_int_equal(bad.calls, 1);
    assert_true(bad.status != RESOLVER_OK);
    test_env_free(env);
}

static void
test_resolver_cancel(void **state)
{
    struct test_env *env = test_env_new(TEST_TIMEOUT_MS);
    struct test_result c1 = { 0 }, c2 = { 0 }, c3 = { 0 }, keep = { 0 };
    struct resolver_query *q;

    (void)state;
    /* Pending in c-ares. */
    q = test_lookup(env, "dual.test", &c1);
    resolver_cancel(q);
    env->pending--;
    /* Finished at once (literal), delivery pending. */
    q = test_lookup(env, "192.0.2.1", &c2);
    resolver_cancel(q);
    env->pending--;
    /* Never answered: the timeout must not fire for it either. */
    q = test_lookup(env, "timeout.test", &c3);
    resolver_cancel(q);
    env->pending--;
    resolver_cancel(NULL);
    test_lookup(env, "v4.test", &keep);
    test_run(env, TEST_GUARD_MS);
    assert_int_equal(keep.calls, 1);
    /* Long enough for every answer and every timeout. */
    test_run_for(env, TEST_TIMEOUT_MS + 100);
    assert_int_equal(c1.calls, 0);
    assert_int_equal(c2.calls, 0);
    assert_int_equal(c3.calls, 0);
    test_env_free(env);
}

/* A callback may cancel another query, start a new lookup, or free the
 * whole resolver. */
static void
test_resolver_reentrant_callbacks(void **state)
{
    struct test_env *env = test_env_new(TEST_TIMEOUT_MS);
    struct test_result first = { 0 }, victim = { 0 }, again = { 0 },
                       last = { 0 }, pending = { 0 };

    (void)state;
    first.cancel_other = test_lookup(env, "timeout.test", &victim);
    env->pending--; /* cancelled below, from first's callback */
    first.lookup_again = "v6.test";
    first.again = &again;
    test_lookup(env, "v4.test", &first);
    test_run(env, TEST_GUARD_MS);
    assert_int_equal(first.calls, 1);
    assert_int_equal(again.calls, 1);
    assert_int_equal(again.status, RESOLVER_OK);
    assert_int_equal(victim.calls, 0);

    last.free_resolver = true;
    test_lookup(env, "timeout.test", &pending);
    test_lookup(env, "v4.test", &last);
    test_run(env, TEST_GUARD_MS);
    assert_null(env->r);
    assert_int_equal(last.calls, 1);
    assert_int_equal(pending.calls, 1);
    assert_int_equal(pending.status, RESOLVER_CANCELLED);
    test_run_for(env, TEST_TIMEOUT_MS + 100);
    assert_int_equal(victim.calls, 0);
    assert_int_equal(pending.calls, 1);
    test_env_free(env);
}

static void
test_resolver_free_cancels_pending(void **state)
{
    static const char *const names[] = { "timeout.test", "dual.test", "v4.test",
                                         "192.0.2.9" };
    struct test_env *env = test_env_new(TEST_TIMEOUT_MS);
    struct test_result res[ARRAY_LEN(names)] = { { 0 } }, canceller = { 0 };
    struct resolver_query *oldest = NULL, *q;

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(names); i++) {
        q = test_lookup(env, names[i], &res[i]);
        if (i == 0)
            oldest = q;
    }
    /* The queries are out and the literal has its result, but the loop
     * has not run: nothing has been delivered yet. */
    /* The newest lookup's CANCELLED callback cancels the oldest one, which
     * resolver_free() has not reached yet. */
    canceller.cancel_other = oldest;
    test_lookup(env, "timeout.test", &canceller);
    resolver_free(env->r);
    env->r = NULL;
    assert_int_equal(canceller.calls, 1);
    assert_int_equal(canceller.status, RESOLVER_CANCELLED);
    assert_int_equal(res[0].calls, 0);
    for (size_t i = 1; i < ARRAY_LEN(names); i++) {
        if (res[i].calls != 1 || res[i].status != RESOLVER_CANCELLED)
            fail_msg("%s: %d calls, status %d", names[i], res[i].calls,
                     (int)res[i].status);
    }
    test_run_for(env, 100);
    for (size_t i = 1; i < ARRAY_LEN(names); i++)
        assert_int_equal(res[i].calls, 1);
    test_env_free(env);
}

static void
test_resolver_new_servers(void **state)
{
    static const struct {
        const char *server;
        bool ok;
    } cases[] = {
        { "127.0.0.1", true },
        { "127.0.0.1:5353", true },
        { "::1", true },
        { "[::1]", true },
        { "[::1]:53", true },
        { "[2001:db8::53]:5353", true },
        { "", false },
        { "127.0.0.1:", false },
        { "127.0.0.1:0", false },
        { "127.0.0.1:65536", false },
        { "127.0.0.1:53x", false },
        { "127.1", false },
        { "dns.example", false },
        { "[::1", false },
        { "[::1]53", false },
        { "[127.0.0.1]:53", false },
        { "::1:53:", false },
        { "1.2.3.4:-1", false },
    };
    struct event_base *base = event_base_new();
    char err[256];

    (void)state;
    assert_non_null(base);
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char *servers[2] = { (char *)"127.0.0.1", (char *)cases[i].server };
        struct resolver *r;

        err[0] = '\0';
        r = resolver_new(base, servers, 2, 1000, err, sizeof(err));
        if ((r != NULL) != cases[i].ok)
            fail_msg("case %zu \"%s\": got %s (%s)", i, cases[i].server,
                     r != NULL ? "ok" : "error", err);
        if (r == NULL &&
            (err[0] == '\0' || strstr(err, cases[i].server) == NULL))
            fail_msg("case %zu: error does not name the server: %s", i, err);
        resolver_free(r);
    }
    /* No servers: the system configuration. */
    {
        struct resolver *r =
            resolver_new(base, NULL, 0, 1000, err, sizeof(err));

        if (r == NULL)
            fail_msg("system config: %s", err);
        assert_int_equal(resolver_lookups(r), 0);
        resolver_free(r);
    }
    resolver_free(NULL);
    event_base_free(base);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resolver_a_and_aaaa),
        cmocka_unit_test(test_resolver_cache_serves_within_ttl),
        cmocka_unit_test(test_resolver_single_family_and_cname),
        cmocka_unit_test(test_resolver_dedup_and_cap),
        cmocka_unit_test(test_resolver_failures),
        cmocka_unit_test(test_resolver_timeout),
        cmocka_unit_test(test_resolver_never_calls_back_inside_lookup),
        cmocka_unit_test(test_resolver_cancel),
        cmocka_unit_test(test_resolver_reentrant_callbacks),
        cmocka_unit_test(test_resolver_free_cancels_pending),
        cmocka_unit_test(test_resolver_new_servers),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
