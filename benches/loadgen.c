/* benches/loadgen.c - the load client for what wrk cannot do: CONNECT
 * tunnels. Talks to benches/origin's raw port, through a proxy or straight.
 *
 *   loadgen tunnel [--proxy A:P] [--target A:P] --bytes N [--up]
 *       one tunnel; downloads (or, with --up, uploads) N bytes; prints MB/s
 *   loadgen setup [--proxy A:P] [--target A:P] --conns C --duration S
 *       C loops of: connect, CONNECT, 200, "P\n", "PONG\n", close
 *   loadgen idle [--proxy A:P] [--target A:P] --count N [--pid PID] [--sync]
 *       opens N tunnels (each pinged once, so it reaches the origin), reads
 *       the VmRSS of PID before and after, closes them; with --sync it
 *       prints "WARM n" before and "OPEN n" after opening them and waits
 *       for a line on stdin each time, so the caller can measure
 *
 * Without --proxy the client connects to the target itself ("no proxy").
 * Prints one line "RESULT key=value ..." on stdout; diagnostics on stderr.
 * Exits 0 if the run completed (errors are counted, not fatal), 1 if it
 * could not run at all, 2 on bad usage. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LOADGEN_BUF_BYTES (1024 * 1024)
#define LOADGEN_HEAD_MAX 4096
#define LOADGEN_EVENTS_MAX 256
/* Status codes counted one by one; others land in the last slot. */
#define LOADGEN_STATUS_MAX 600
/* Tunnels being opened at once by "idle": a burst, not a flood. */
#define LOADGEN_IDLE_PARALLEL 64
/* Tunnels opened and closed before the "idle" baseline, so that the
 * proxy's one-time allocations are not charged to the tunnels. */
#define LOADGEN_IDLE_WARMUP 32
#define LOADGEN_IDLE_SETTLE_MS 500
#define LOADGEN_IDLE_TIMEOUT_S 120
#define LOADGEN_PING "P\n"
#define LOADGEN_PONG "PONG\n"

enum loadgen_state {
    LOADGEN_ST_CONNECTING = 0,
    LOADGEN_ST_HEAD, /* CONNECT sent, reading the proxy's answer */
    LOADGEN_ST_PONG, /* ping sent, reading the origin's answer */
    LOADGEN_ST_OPEN, /* established and idle */
};

struct loadgen_slot {
    int fd;
    enum loadgen_state state;
    size_t len;
    char buf[LOADGEN_HEAD_MAX];
};

struct loadgen_opts {
    const char *mode;
    bool via_proxy;
    struct sockaddr_in proxy, target;
    char target_text[64];
    uint64_t bytes;
    bool up;
    bool sync;
    long conns;
    double duration_s;
    long count;
    long pid;
};

struct loadgen_stats {
    uint64_t ok;
    uint64_t connect_err, io_err, eof_err, bad_reply;
    uint64_t status[LOADGEN_STATUS_MAX + 1];
};

static double
loadgen_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
loadgen_parse_addr(const char *s, struct sockaddr_in *sa)
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
    return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static int
loadgen_parse_num(const char *s, double *out)
{
    char *end;

    errno = 0;
    *out = strtod(s, &end);
    return errno != 0 || end == s || *end != '\0' || *out < 0 ? -1 : 0;
}

/* VmRSS of <pid> in KiB, or -1. */
static long
loadgen_rss_kib(long pid)
{
    char path[64], line[256];
    long kib = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%ld/status", pid);
    f = fopen(path, "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kib = strtol(line + 6, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kib;
}

static void
loadgen_sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

/* The first bytes a client sends on a new connection. */
static int
loadgen_request(const struct loadgen_opts *o, char *out, size_t outlen)
{
    int n;

    if (!o->via_proxy)
        n = snprintf(out, outlen, "%s", LOADGEN_PING);
    else
        n = snprintf(out, outlen, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n",
                     o->target_text, o->target_text);
    return n < 0 || (size_t)n >= outlen ? -1 : n;
}

/* Status code of a complete response head, or -1. */
static int
loadgen_status(const char *head, size_t len)
{
    char code[4];

    if (len < 12 || memcmp(head, "HTTP/1.", 7) != 0 || head[8] != ' ')
        return -1;
    memcpy(code, head + 9, 3);
    code[3] = '\0';
    for (int i = 0; i < 3; i++) {
        if (code[i] < '0' || code[i] > '9')
            return -1;
    }
    return (int)strtol(code, NULL, 10);
}

static size_t
loadgen_head_end(const char *buf, size_t len)
{
    for (size_t i = 0; i + 4 <= len; i++) {
        if (memcmp(buf + i, "\r\n\r\n", 4) == 0)
            return i + 4;
    }
    return 0;
}

static int
loadgen_send_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

        if (n == -1) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* ---- tunnel: one blocking connection, bulk bytes ---------------------- */

static int
loadgen_tunnel(const struct loadgen_opts *o)
{
    static char buf[LOADGEN_BUF_BYTES];
    char req[256], cmd[64];
    size_t len = 0, head = 0;
    uint64_t moved = 0;
    double t0, t1;
    int status = 200;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const struct sockaddr_in *to = o->via_proxy ? &o->proxy : &o->target;

    if (fd == -1 ||
        connect(fd, (const struct sockaddr *)to, sizeof(*to)) == -1) {
        perror("loadgen: connect");
        return 1;
    }
    if (o->via_proxy) {
        int n = loadgen_request(o, req, sizeof(req));

        if (n == -1 || loadgen_send_all(fd, req, (size_t)n) == -1)
            goto io_fail;
        while ((head = loadgen_head_end(buf, len)) == 0) {
            ssize_t r = recv(fd, buf + len, LOADGEN_HEAD_MAX - len, 0);

            if (r <= 0 || len + (size_t)r >= LOADGEN_HEAD_MAX)
                goto io_fail;
            len += (size_t)r;
        }
        status = loadgen_status(buf, head);
        if (status != 200) {
            printf("RESULT ok=0 status=%d\n", status);
            close(fd);
            return 0;
        }
    }
    snprintf(cmd, sizeof(cmd), "%c %llu\n", o->up ? 'R' : 'S',
             (unsigned long long)o->bytes);
    t0 = loadgen_now();
    if (loadgen_send_all(fd, cmd, strlen(cmd)) == -1)
        goto io_fail;
    if (o->up) {
        memset(buf, 'u', sizeof(buf));
        while (moved < o->bytes) {
            size_t k = o->bytes - moved < sizeof(buf)
                           ? (size_t)(o->bytes - moved)
                           : sizeof(buf);

            if (loadgen_send_all(fd, buf, k) == -1)
                goto io_fail;
            moved += k;
        }
        /* Wait for the origin's "OK\n": every byte has arrived. */
        len = 0;
        while (len < 3) {
            ssize_t r = recv(fd, buf + len, 3 - len, 0);

            if (r <= 0)
                goto io_fail;
            len += (size_t)r;
        }
    } else {
        moved = len - head; /* tunnel bytes that came with the head */
        while (moved < o->bytes) {
            ssize_t r = recv(fd, buf, sizeof(buf), 0);

            if (r == -1 && errno == EINTR)
                continue;
            if (r <= 0)
                break;
            moved += (uint64_t)r;
        }
    }
    t1 = loadgen_now();
    close(fd);
    printf("RESULT ok=%d status=%d bytes=%llu seconds=%.6f mbps=%.1f\n",
           moved == o->bytes, status, (unsigned long long)moved, t1 - t0,
           (double)moved / (t1 - t0) / 1e6);
    return 0;

io_fail:
    fprintf(stderr, "loadgen: tunnel: %s after %llu bytes\n",
            errno != 0 ? strerror(errno) : "unexpected EOF",
            (unsigned long long)moved);
    close(fd);
    printf("RESULT ok=0 status=%d bytes=%llu\n", status,
           (unsigned long long)moved);
    return 0;
}

/* ---- setup and idle: many non-blocking connections --------------------- */

struct loadgen_run {
    const struct loadgen_opts *o;
    int ep;
    char req[256];
    size_t req_len;
    struct loadgen_stats st;
    long open;      /* idle: established tunnels */
    long started;   /* idle: connections started */
    long in_flight; /* idle: connections being set up */
    bool keep;      /* idle: keep tunnels open once pinged */
};

static int
loadgen_slot_start(struct loadgen_run *run, struct loadgen_slot *s)
{
    struct epoll_event ev;
    const struct loadgen_opts *o = run->o;
    const struct sockaddr_in *to = o->via_proxy ? &o->proxy : &o->target;
    int one = 1;

    s->len = 0;
    s->state = LOADGEN_ST_CONNECTING;
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd == -1) {
        perror("loadgen: socket");
        return -1;
    }
    setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(s->fd, (const struct sockaddr *)to, sizeof(*to)) == -1 &&
        errno != EINPROGRESS) {
        run->st.connect_err++;
        close(s->fd);
        s->fd = -1;
        return 0;
    }
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLOUT;
    ev.data.ptr = s;
    if (epoll_ctl(run->ep, EPOLL_CTL_ADD, s->fd, &ev) == -1) {
        perror("loadgen: epoll_ctl");
        close(s->fd);
        s->fd = -1;
        return -1;
    }
    return 0;
}

static void
loadgen_slot_close(struct loadgen_run *run, struct loadgen_slot *s)
{
    if (s->fd == -1)
        return;
    epoll_ctl(run->ep, EPOLL_CTL_DEL, s->fd, NULL);
    close(s->fd);
    s->fd = -1;
}

/* Advances one slot. Returns 1 when its cycle is done (ok or failed) and
 * the slot is closed, 0 while it goes on. */
static int
loadgen_slot_step(struct loadgen_run *run, struct loadgen_slot *s)
{
    struct epoll_event ev;
    ssize_t n;

    switch (s->state) {
    case LOADGEN_ST_CONNECTING: {
        int err = 0;
        socklen_t elen = sizeof(err);

        if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &elen) == -1 ||
            err != 0) {
            run->st.connect_err++;
            goto done;
        }
        if (loadgen_send_all(s->fd, run->req, run->req_len) == -1) {
            run->st.io_err++;
            goto done;
        }
        s->state = run->o->via_proxy ? LOADGEN_ST_HEAD : LOADGEN_ST_PONG;
        memset(&ev, 0, sizeof(ev));
        ev.events = EPOLLIN;
        ev.data.ptr = s;
        epoll_ctl(run->ep, EPOLL_CTL_MOD, s->fd, &ev);
        return 0;
    }
    case LOADGEN_ST_HEAD:
    case LOADGEN_ST_PONG:
        break;
    case LOADGEN_ST_OPEN:
        /* An idle tunnel should say nothing; the proxy closed it. */
        run->st.eof_err++;
        run->open--;
        goto done;
    }
    n = recv(s->fd, s->buf + s->len, sizeof(s->buf) - s->len, 0);
    if (n == -1 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (n <= 0) {
        if (n == 0)
            run->st.eof_err++;
        else
            run->st.io_err++;
        goto done;
    }
    s->len += (size_t)n;
    if (s->state == LOADGEN_ST_HEAD) {
        size_t head = loadgen_head_end(s->buf, s->len);
        int status;

        if (head == 0) {
            if (s->len == sizeof(s->buf)) {
                run->st.bad_reply++;
                goto done;
            }
            return 0;
        }
        status = loadgen_status(s->buf, head);
        if (status < 0) {
            run->st.bad_reply++;
            goto done;
        }
        run->st.status[status > LOADGEN_STATUS_MAX ? LOADGEN_STATUS_MAX
                                                   : status]++;
        if (status != 200)
            goto done;
        memmove(s->buf, s->buf + head, s->len - head);
        s->len -= head;
        s->state = LOADGEN_ST_PONG;
        if (loadgen_send_all(s->fd, LOADGEN_PING, sizeof(LOADGEN_PING) - 1) ==
            -1) {
            run->st.io_err++;
            goto done;
        }
    }
    if (s->len < sizeof(LOADGEN_PONG) - 1)
        return 0;
    if (memcmp(s->buf, LOADGEN_PONG, sizeof(LOADGEN_PONG) - 1) != 0) {
        run->st.bad_reply++;
        goto done;
    }
    run->st.ok++;
    if (run->keep) {
        s->state = LOADGEN_ST_OPEN;
        s->len = 0;
        run->open++;
        return 1;
    }
done:
    loadgen_slot_close(run, s);
    return 1;
}

static void
loadgen_print_stats(const struct loadgen_stats *st)
{
    uint64_t non200 = 0;

    for (int i = 0; i <= LOADGEN_STATUS_MAX; i++) {
        if (i != 200)
            non200 += st->status[i];
    }
    printf(" ok=%llu non200=%llu connect_err=%llu io_err=%llu eof=%llu "
           "bad_reply=%llu",
           (unsigned long long)st->ok, (unsigned long long)non200,
           (unsigned long long)st->connect_err, (unsigned long long)st->io_err,
           (unsigned long long)st->eof_err, (unsigned long long)st->bad_reply);
    for (int i = 0; i <= LOADGEN_STATUS_MAX; i++) {
        if (i != 200 && st->status[i] > 0)
            printf(" status_%d=%llu", i, (unsigned long long)st->status[i]);
    }
}

static int
loadgen_run_init(struct loadgen_run *run, const struct loadgen_opts *o)
{
    int n;

    memset(run, 0, sizeof(*run));
    run->o = o;
    n = loadgen_request(o, run->req, sizeof(run->req));
    if (n == -1)
        return -1;
    run->req_len = (size_t)n;
    run->ep = epoll_create1(EPOLL_CLOEXEC);
    if (run->ep == -1) {
        perror("loadgen: epoll_create1");
        return -1;
    }
    return 0;
}

static int
loadgen_setup(const struct loadgen_opts *o)
{
    struct loadgen_run run;
    struct loadgen_slot *slots;
    double t0, t_end, t1;

    if (loadgen_run_init(&run, o) == -1)
        return 1;
    slots = calloc((size_t)o->conns, sizeof(*slots));
    if (slots == NULL)
        return 1;
    t0 = loadgen_now();
    t_end = t0 + o->duration_s;
    for (long i = 0; i < o->conns; i++) {
        if (loadgen_slot_start(&run, &slots[i]) == -1)
            return 1;
    }
    for (;;) {
        struct epoll_event evs[LOADGEN_EVENTS_MAX];
        double now = loadgen_now();
        int n;

        if (now >= t_end)
            break;
        n = epoll_wait(run.ep, evs, LOADGEN_EVENTS_MAX,
                       (int)((t_end - now) * 1000) + 1);
        if (n == -1 && errno != EINTR) {
            perror("loadgen: epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            struct loadgen_slot *s = evs[i].data.ptr;

            if (loadgen_slot_step(&run, s) == 1 &&
                loadgen_slot_start(&run, s) == -1)
                return 1;
        }
        /* Slots whose connect() failed at once start again here. */
        for (long i = 0; i < o->conns; i++) {
            if (slots[i].fd == -1 && loadgen_slot_start(&run, &slots[i]) == -1)
                return 1;
        }
    }
    t1 = loadgen_now();
    printf("RESULT seconds=%.3f rate=%.1f", t1 - t0,
           (double)run.st.ok / (t1 - t0));
    loadgen_print_stats(&run.st);
    printf("\n");
    for (long i = 0; i < o->conns; i++)
        loadgen_slot_close(&run, &slots[i]);
    free(slots);
    return 0;
}

/* Opens <count> tunnels, at most LOADGEN_IDLE_PARALLEL at a time. Returns
 * the number established, or -1 on a local failure. */
static long
loadgen_idle_open(struct loadgen_run *run, struct loadgen_slot *slots,
                  long count)
{
    double deadline = loadgen_now() + LOADGEN_IDLE_TIMEOUT_S;
    long next = 0;

    run->keep = true;
    run->in_flight = 0;
    while ((next < count || run->in_flight > 0) && loadgen_now() < deadline) {
        struct epoll_event evs[LOADGEN_EVENTS_MAX];
        int n;

        while (next < count && run->in_flight < LOADGEN_IDLE_PARALLEL) {
            if (loadgen_slot_start(run, &slots[next]) == -1)
                return -1;
            if (slots[next].fd != -1)
                run->in_flight++;
            next++;
        }
        n = epoll_wait(run->ep, evs, LOADGEN_EVENTS_MAX, 1000);
        if (n == -1 && errno != EINTR) {
            perror("loadgen: epoll_wait");
            return -1;
        }
        for (int i = 0; i < n; i++) {
            struct loadgen_slot *s = evs[i].data.ptr;
            bool was_open = s->state == LOADGEN_ST_OPEN;

            if (loadgen_slot_step(run, s) == 1 && !was_open)
                run->in_flight--;
        }
    }
    return run->open;
}

/* With --sync: says <what> on stdout, then waits for a line on stdin, so
 * that the caller can measure the proxy at this point. */
static void
loadgen_sync(const struct loadgen_opts *o, const char *what, long n)
{
    char line[64];

    if (!o->sync)
        return;
    printf("%s %ld\n", what, n);
    fflush(stdout);
    if (fgets(line, sizeof(line), stdin) == NULL)
        return;
}

/* Counts the established tunnels that the proxy closed meanwhile. */
static void
loadgen_idle_check(struct loadgen_run *run)
{
    for (;;) {
        struct epoll_event evs[LOADGEN_EVENTS_MAX];
        int n = epoll_wait(run->ep, evs, LOADGEN_EVENTS_MAX, 0);

        if (n <= 0)
            return;
        for (int i = 0; i < n; i++)
            loadgen_slot_step(run, evs[i].data.ptr);
    }
}

static int
loadgen_idle(const struct loadgen_opts *o)
{
    struct loadgen_run run;
    struct loadgen_slot *slots;
    long before = -1, after = -1, open;
    long total =
        o->count > LOADGEN_IDLE_WARMUP ? o->count : LOADGEN_IDLE_WARMUP;

    if (loadgen_run_init(&run, o) == -1)
        return 1;
    slots = calloc((size_t)total, sizeof(*slots));
    if (slots == NULL)
        return 1;
    for (long i = 0; i < total; i++)
        slots[i].fd = -1;
    /* Warm-up: open and close a few, then let the proxy settle. */
    if (loadgen_idle_open(&run, slots, LOADGEN_IDLE_WARMUP) == -1)
        return 1;
    for (long i = 0; i < LOADGEN_IDLE_WARMUP; i++)
        loadgen_slot_close(&run, &slots[i]);
    loadgen_sleep_ms(LOADGEN_IDLE_SETTLE_MS);
    memset(&run.st, 0, sizeof(run.st));
    run.open = 0;
    if (o->pid > 0)
        before = loadgen_rss_kib(o->pid);
    loadgen_sync(o, "WARM", LOADGEN_IDLE_WARMUP);
    open = loadgen_idle_open(&run, slots, o->count);
    if (open == -1)
        return 1;
    loadgen_sleep_ms(LOADGEN_IDLE_SETTLE_MS);
    if (o->pid > 0)
        after = loadgen_rss_kib(o->pid);
    loadgen_sync(o, "OPEN", open);
    loadgen_idle_check(&run);
    printf("RESULT tunnels=%ld still_open=%ld rss_before_kib=%ld "
           "rss_after_kib=%ld per_tunnel_kib=%.2f",
           open, run.open, before, after,
           open > 0 && o->pid > 0 ? (double)(after - before) / (double)open
                                  : 0.0);
    loadgen_print_stats(&run.st);
    printf("\n");
    for (long i = 0; i < total; i++)
        loadgen_slot_close(&run, &slots[i]);
    free(slots);
    return o->pid > 0 && (before == -1 || after == -1) ? 1 : 0;
}

static void
loadgen_usage(void)
{
    fprintf(stderr,
            "usage: loadgen tunnel|setup|idle [--proxy A:P] [--target A:P]\n"
            "         [--bytes N] [--up] [--conns C] [--duration S]\n"
            "         [--count N] [--pid PID] [--sync]\n");
}

int
main(int argc, char **argv)
{
    struct loadgen_opts o;
    const char *target = "127.0.0.2:9000";

    memset(&o, 0, sizeof(o));
    o.conns = 50;
    o.duration_s = 10;
    o.count = 1000;
    o.bytes = UINT64_C(1) << 30;
    if (argc < 2) {
        loadgen_usage();
        return 2;
    }
    o.mode = argv[1];
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        double d = 0;

        if (strcmp(a, "--up") == 0) {
            o.up = true;
            continue;
        }
        if (strcmp(a, "--sync") == 0) {
            o.sync = true;
            continue;
        }
        if (v == NULL)
            goto usage;
        i++;
        if (strcmp(a, "--proxy") == 0) {
            if (loadgen_parse_addr(v, &o.proxy) == -1)
                goto usage;
            o.via_proxy = true;
            continue;
        }
        if (strcmp(a, "--target") == 0) {
            target = v;
            continue;
        }
        if (loadgen_parse_num(v, &d) == -1)
            goto usage;
        if (strcmp(a, "--bytes") == 0)
            o.bytes = (uint64_t)d;
        else if (strcmp(a, "--conns") == 0)
            o.conns = (long)d;
        else if (strcmp(a, "--duration") == 0)
            o.duration_s = d;
        else if (strcmp(a, "--count") == 0)
            o.count = (long)d;
        else if (strcmp(a, "--pid") == 0)
            o.pid = (long)d;
        else
            goto usage;
    }
    if (loadgen_parse_addr(target, &o.target) == -1 ||
        strlen(target) >= sizeof(o.target_text) || o.conns < 1 || o.count < 1)
        goto usage;
    memcpy(o.target_text, target, strlen(target) + 1);
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (strcmp(o.mode, "tunnel") == 0)
        return loadgen_tunnel(&o);
    if (strcmp(o.mode, "setup") == 0)
        return loadgen_setup(&o);
    if (strcmp(o.mode, "idle") == 0 && (o.pid > 0 || o.sync))
        return loadgen_idle(&o);
usage:
    loadgen_usage();
    return 2;
}
