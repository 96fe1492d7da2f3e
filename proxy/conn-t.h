/* proxy/conn-t.h - the client connection and its current request. Shared
 * by conn.c (head, decision, resolution, connect), tunnel.c (CONNECT
 * relay), forward.c (HTTP exchange), reply.c and access.c. */
#ifndef PROXY_CONN_T_H
#define PROXY_CONN_T_H

#include <stdbool.h>
#include <stdint.h>

#include "policy/policy.h"
#include "proxy/http_head.h"
#include "proxy/resolver.h"

struct bufferevent;
struct evbuffer;
struct event;
struct proxy;
struct resolver_query;
struct splice_tunnel;

enum conn_state {
    CONN_READ_HEAD = 0, /* waiting for a request head */
    CONN_RESOLVING,     /* DNS lookup in flight */
    CONN_CONNECTING,    /* TCP connect to a checked address */
    CONN_TUNNEL,        /* CONNECT relay */
    CONN_FORWARD,       /* HTTP request/response relay */
    CONN_CLOSING        /* flushing a final reply, then close */
};

/* Longest session id we keep (listener session, client address). */
#define CONN_SESSION_MAX 128
#define CONN_METHOD_MAX 24
#define CONN_AUTHORITY_MAX (DOMAIN_NAME_MAX + 8)
#define CONN_WHY_MAX 384

/* One request or tunnel: everything its access line reports. */
struct conn_req {
    char id[27];
    int64_t start_ms;
    char method[CONN_METHOD_MAX];
    bool is_connect;
    bool is_head;
    int version_minor;
    char host[DOMAIN_NAME_MAX]; /* as judged (normalised), "" if unparsed */
    uint16_t port;
    char authority[CONN_AUTHORITY_MAX]; /* for the Host header */
    char *path; /* forwarded HTTP: request target path */
    struct decision d;
    enum reason reason;
    enum reason would_deny;
    const struct tier *tier; /* borrowed from policy */
    char why[CONN_WHY_MAX];  /* detail for the denial body */
    int status;
    struct addr addrs[RESOLVER_ADDRS_MAX];
    size_t n_addrs;
    size_t next_addr;
    bool connected;
    struct addr addr; /* the address connected to */
    bool timed_out;   /* last connect attempt timed out */
    bool reused;      /* sent on a kept-alive upstream connection */
    uint64_t bytes_up, bytes_down;
    bool logged;
    /* Session accounting (step 4): set once the request is admitted. */
    struct session *sess;
    struct session_tier *st;
    bool admitted;
    bool shaped;
    uint32_t retry_after_s;
    int64_t dns_start_ms;
};

struct conn {
    struct proxy *px;
    struct conn *prev, *next;       /* px->conns */
    struct conn *sq_prev, *sq_next; /* px->sendq, while sq_queued */
    bool sq_queued;
    enum conn_state state;
    struct bufferevent *client;
    struct bufferevent *upstream;
    struct event *timer;
    int64_t deadline_ms;  /* what the timer enforces; 0: nothing */
    int64_t timer_due_ms; /* when the timer fires; 0: not armed */
    int64_t last_io_ms;   /* idle timeout bookkeeping */
    char *listener;       /* listener name */
    char client_text[ADDR_TEXT_MAX + 8];
    char client_ip[ADDR_TEXT_MAX]; /* the default session id */
    char session[CONN_SESSION_MAX];
    struct policy *policy; /* snapshot deciding the current request */
    const struct listener_conf *lconf; /* borrowed from policy */
    struct resolver_query *query;
    struct conn_req r;
    bool client_eof; /* the client has closed its sending side */

    /* Forwarding state (forward.c). */
    struct evbuffer *pending; /* rewritten request head until connected */
    struct http_framing req_framing;
    struct http_framing resp_framing;
    struct chunked req_ck, resp_ck;
    uint64_t req_left, resp_left;
    bool req_done, resp_done, resp_head_done;
    bool client_close; /* client asked for close (or HTTP/1.0) */
    bool upstream_reusable;
    char up_host[DOMAIN_NAME_MAX]; /* keep-alive upstream identity */
    uint16_t up_port;
    struct addr up_addr; /* where the kept upstream is connected */
    /* Response bodies read straight from the upstream socket into the
     * client's output (forward.c): libevent 2.1 reads 4 KiB per call. */
    struct event *direct_ev;
    struct event *direct_up_ev; /* same for request bodies */

    /* Tunnel state (tunnel.c, splice.c). */
    bool eof[2];
    struct splice_tunnel *splice; /* zero-copy relay, when in use */
};

#endif /* PROXY_CONN_T_H */
