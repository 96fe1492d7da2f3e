/* proxy/proxy.h - the root object of a running proxy: event loop,
 * current policy snapshot, resolver, log sinks, listeners and the list of
 * open connections. Passed explicitly to everything in proxy/. Owns the
 * lifecycle: start, reload (SIGHUP), log reopen (SIGUSR1), graceful stop
 * (SIGTERM/SIGINT). */
#ifndef PROXY_PROXY_H
#define PROXY_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "logging/jsonl.h"
#include "policy/policy.h"
#include "proxy/metrics.h"

struct admin;
struct auth_tokens;
struct http_request;
struct http_response;
struct conn;
struct session;
struct session_table;
struct splice_pool;
struct listener;
struct resolver;
struct sink;

struct proxy {
    struct event_base *base;
    struct policy *policy; /* current snapshot; one reference held */
    char *policy_path;     /* NULL: the embedded default */
    struct resolver *resolver;
    struct sink *access;
    struct sink *events; /* may be the same object as access */

    struct listener **listeners;
    size_t n_listeners;

    struct conn *conns; /* every open client connection */
    uint64_t n_conns;
    bool accept_paused; /* max_connections reached */

    struct event *sig_hup, *sig_term, *sig_int, *sig_usr1;
    struct event *grace_timer;
    /* End of the loop pass: writes the queued access lines, then the
     * queued outputs (sendq.h). */
    struct event *pass_end;
    struct conn *sendq;         /* conns with output to write */
    struct conn *sendq_current; /* whose write callback runs; NULL if
                                   it closed */
    bool shutting_down;

    uint8_t id_rand[10]; /* ULID-style ids: random part, counted up */
    int64_t id_last_ms;

    struct jsonl line; /* scratch for one log line */
    int64_t ts_ms;     /* the millisecond ts_text shows */
    /* proxy_log_has_room()'s answer, for the pass named by the loop's
     * cached time (microseconds; 0: none) and for that sink. */
    int64_t room_pass_us;
    const struct sink *room_sink;
    bool room_ok;
    char ts_text[JSONL_TS_MAX];
    int64_t started_ms;

    struct session_table *sessions; /* outlive connections and reloads */
    struct auth_tokens *tokens;     /* auth.mode basic; NULL otherwise */
    struct admin *admin;            /* admin socket; NULL when off */
    struct metrics metrics;

    /* Parse scratch: heads are parsed and used within one callback, so one
     * of each serves every connection (no allocation per request). */
    struct http_request *scratch_req;
    struct http_response *scratch_resp;
    struct splice_pool *splice_pool; /* NULL: tunnels copy instead */
};

#define PROXY_ERR_MAX 512

/* Reloads the policy from its file (SIGHUP, POST /reload): builds the new
 * snapshot, listeners, sinks, resolver and tokens first and swaps only if
 * all worked. Logs reload or reload_failed. Returns 0, or -1 with <err>. */
int proxy_reload(struct proxy *px, char *err, size_t errlen);

/* Session control for the admin socket: sets the state of session <id>
 * and logs the event; kill also closes the session's connections at once.
 * Returns 0, or -1 if no such session. */
int proxy_session_pause(struct proxy *px, const char *id);
int proxy_session_resume(struct proxy *px, const char *id);
int proxy_session_kill(struct proxy *px, const char *id);

/* Milliseconds since the epoch, from the loop's cached clock. */
int64_t proxy_now_ms(struct proxy *px);

/* Creates a proxy for <policy> (takes ownership of the reference) read from
 * <path> (NULL: embedded). Binds every listener, opens the sinks, starts
 * the resolver and installs signal handlers. Returns NULL with <err> filled
 * on failure (the reference is released). */
struct proxy *proxy_new(struct policy *policy, const char *path, char *err,
                        size_t errlen);

/* Logs the start event and runs the loop until shutdown. Returns the exit
 * code. */
int proxy_run(struct proxy *px);

void proxy_free(struct proxy *px);

/* Called by conn.c when a connection opens and closes, to keep the count
 * and pause/resume accepting at max_connections. */
void proxy_conn_opened(struct proxy *px, struct conn *c);
void proxy_conn_closed(struct proxy *px, struct conn *c);

/* Writes the 26-character request id for <now_ms> into <out> (27 bytes). */
void proxy_next_id(struct proxy *px, int64_t now_ms, char out[27]);

/* True if <a>:<port> is the bound address of one of our listeners. */
bool proxy_is_own_listener(const struct proxy *px, const struct addr *a,
                           uint16_t port);

/* sink_has_room() for the access log, asked once per loop pass: every
 * request admitted in a pass has its line written at the end of that pass
 * or later, so a second statfs in the same pass could only see the same
 * disk. */
bool proxy_log_has_room(struct proxy *px);

/* Writes the finished line in px->line to the access (or events) sink.
 * Returns 0, or -1 if it could not be written. */
int proxy_write_access(struct proxy *px);
int proxy_write_event(struct proxy *px);

/* Starts an event line: {"v":1,"ts":...,"event":<name>. */
void proxy_event_begin(struct proxy *px, const char *name);

#endif /* PROXY_PROXY_H */
