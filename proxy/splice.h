/* proxy/splice.h - zero-copy relay for CONNECT tunnels that need no more
 * inspection (no byte cap, no shaping on their tier): splice(2) from one
 * socket into a pipe and from the pipe into the other socket, so payload
 * never enters user space. Pipes come from a per-proxy pool and are held
 * only while bytes are in them, so an idle tunnel holds none. */
#ifndef PROXY_SPLICE_H
#define PROXY_SPLICE_H

#include <stdbool.h>
#include <stddef.h>

struct conn;
struct proxy;
struct splice_pool;
struct splice_tunnel;

/* Free pipes kept for reuse; more are closed when returned. */
#define SPLICE_POOL_MAX 256
/* Pipe capacity asked for (F_SETPIPE_SZ): fewer, larger splices. */
#define SPLICE_PIPE_BYTES (256 * 1024)

struct splice_pool *splice_pool_new(void);
void splice_pool_free(struct splice_pool *pool);

/* Takes over <c>'s tunnel from its bufferevents (which must hold nothing:
 * the caller has flushed the 200 and forwarded early bytes) and relays
 * with splice until both directions end, then closes <c>. Returns 0, or
 * -1 if splicing could not start (the caller keeps relaying itself). */
int splice_start(struct conn *c);

/* Frees the relay state of a closing conn. NULL is a no-op. */
void splice_free(struct splice_tunnel *t);

#endif /* PROXY_SPLICE_H */
