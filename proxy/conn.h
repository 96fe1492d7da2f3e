/* proxy/conn.h - one client connection: reads request heads, decides them
 * (policy, then DNS, then the address check), connects only to checked
 * addresses and hands over to tunnel.c or forward.c. A conn dies in one
 * place, conn_close(). */
#ifndef PROXY_CONN_H
#define PROXY_CONN_H

#include <stdbool.h>
#include <sys/socket.h>

#include <event2/util.h>

#include "policy/reason.h"
#include "proxy/conn-t.h"

struct bufferevent;
struct evbuffer;
struct proxy;

/* Creates the connection for accepted socket <fd> on listener <listener>
 * (name, copied). Takes ownership of <fd> in every case. */
struct conn *conn_new(struct proxy *px, const char *listener,
                      evutil_socket_t fd, const struct sockaddr *sa,
                      socklen_t salen);

/* Ends the current request as denied with <reason> (status and body from
 * reply.c), logs it and closes the connection after the reply is sent. */
void conn_deny(struct conn *c, enum reason reason);

/* Writes the access line of the current request once (no-op after). */
void conn_log_request(struct conn *c);

/* Ends the connection gracefully: everything queued for the client is
 * written, then the write side is shut and the conn closed when the client
 * closes or after a short linger. Logs the current request first. */
void conn_finish(struct conn *c);

/* Logs the current request if any and frees everything. The caller
 * returns right after. */
void conn_close(struct conn *c);

/* The current request is finished and the connection stays open: log it,
 * reset per-request state and go back to reading a head. */
void conn_request_done(struct conn *c);

/* Re-arm the connection's single timer for <ms> from now. */
void conn_set_timer(struct conn *c, uint32_t ms);

/* Called by tunnel.c/forward.c on traffic, for the idle timeout. */
void conn_touch(struct conn *c);

/* The kept-alive upstream failed before answering a body-less request:
 * forget it and connect afresh (resolving again). */
void conn_retry_fresh(struct conn *c);

/* How many more bytes the current request may relay in direction <up>
 * before its session's byte cap for the tier (UINT64_MAX: no cap). */
uint64_t conn_allowance(struct conn *c, bool up);

/* Counts <n> relayed bytes against the session's tier usage and raises
 * alerts. The request's own bytes_up/bytes_down are counted by the
 * caller. */
void conn_account(struct conn *c, bool up, uint64_t n);

/* Cuts the connection because a byte cap was crossed (logs byte_cap). */
void conn_cut_byte_cap(struct conn *c);

/* Puts <bev> under the session's bandwidth shaping for the tier, if any. */
void conn_shape(struct conn *c, struct bufferevent *bev);

/* Closes at once every connection of session <id> (admin kill). */
void conn_kill_session(struct proxy *px, const char *id);

/* Most bytes one direct read takes. */
#define CONN_DIRECT_READ (256 * 1024)

/* What conn_relay_read() found besides bytes. */
#define CONN_RELAY_AGAIN (-1) /* nothing there yet */
#define CONN_RELAY_ERROR (-2) /* the socket failed */
#define CONN_RELAY_CUT (-3)   /* a byte past the cap: <c> is closed */

/* One direct read of relayed bytes in direction <up> from <fd> into
 * <out>: at most <left> bytes and never past the session's byte cap; what
 * is read is counted (request, session usage, idle clock). At the cap, a
 * waiting byte cuts the connection (byte_cap) while an end of stream is
 * reported as one. Returns the bytes read, 0 at end of stream, or a
 * CONN_RELAY_ value. */
ssize_t conn_relay_read(struct conn *c, evutil_socket_t fd,
                        struct evbuffer *out, bool up, uint64_t left);

/* Sets the read and write sizes of a relaying bufferevent. */
void conn_tune_bev(struct bufferevent *bev);

/* Closes every connection at once (shutdown grace expired). */
void conn_close_all(struct proxy *px);

/* Closes connections that are idle between requests (shutdown start). */
void conn_close_idle(struct proxy *px);

#endif /* PROXY_CONN_H */
