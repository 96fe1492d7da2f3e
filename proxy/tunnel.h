/* proxy/tunnel.h - the CONNECT relay: bytes both ways with backpressure,
 * half-close, byte counts and the idle timeout. */
#ifndef PROXY_TUNNEL_H
#define PROXY_TUNNEL_H

struct conn;

/* Most bytes queued towards one side before the other side stops being
 * read: bounds a tunnel's memory whatever the peers do. */
#define TUNNEL_OUT_MAX (256 * 1024)

/* c->upstream is connected: answers 200 and relays until both sides are
 * done, then closes <c> (which logs the tunnel). */
void tunnel_start(struct conn *c);

#endif /* PROXY_TUNNEL_H */
