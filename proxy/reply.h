/* proxy/reply.h - the answers sluice itself writes to clients: denials
 * with status, Sluice-Reason header and a one-line body an agent can act
 * on (SPEC section 3), and the 200 that opens a tunnel. */
#ifndef PROXY_REPLY_H
#define PROXY_REPLY_H

struct conn;
struct evbuffer;

/* Appends the denial for c->r.reason (with c->r.host, port, tier list and
 * c->r.why) to <out>, and sets c->r.status. The reply always carries
 * "Connection: close". */
void reply_deny(struct conn *c, struct evbuffer *out);

/* Appends "HTTP/1.1 200 Connection established" and sets c->r.status. */
void reply_tunnel_ok(struct conn *c, struct evbuffer *out);

#endif /* PROXY_REPLY_H */
