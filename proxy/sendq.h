/* proxy/sendq.h - replies and relayed bytes written at the end of the loop
 * pass, straight to the socket.
 *
 * A socket bufferevent left to itself asks epoll for EPOLLOUT each time
 * bytes are added and drops it once they are written: two epoll_ctl and
 * one extra loop pass per message and side. Here a watched bufferevent
 * keeps EV_WRITE disabled; adding to its output queues the conn, and the
 * end of the pass writes every queued output with one writev each, after
 * the access lines of the pass are written (a reply never leaves before
 * its log line). Only what the socket does not take is handed back to the
 * bufferevent (EV_WRITE enabled), which then writes and calls the write
 * callback as usual. Shaped bufferevents (bandwidth) are always left to
 * libevent, which applies the rate limit. */
#ifndef PROXY_SENDQ_H
#define PROXY_SENDQ_H

#include <stdbool.h>

struct bufferevent;
struct conn;
struct proxy;

/* Watches <bev>, one side of <c>: its output is written by sendq_run(). */
int sendq_watch(struct conn *c, struct bufferevent *bev);

/* Called first thing by the write callbacks of watched bufferevents: once
 * libevent has written everything, the next output goes through the queue
 * again. */
void sendq_drained(struct conn *c, struct bufferevent *bev);

/* Writes the output of every queued conn (the end-of-pass callback). */
void sendq_run(struct proxy *px);

/* Takes <c> off the queue (it is being closed). */
void sendq_forget(struct conn *c);

#endif /* PROXY_SENDQ_H */
