/* proxy/access.h - the access line of one request or tunnel (SPEC
 * section 5), built from a conn's current request. */
#ifndef PROXY_ACCESS_H
#define PROXY_ACCESS_H

struct conn;

/* Builds the access line for <c>'s current request in c->px->line and
 * writes it to the access sink. Returns 0, or -1 if it could not be
 * written (the sink is then marked failed and new requests are refused). */
int access_log(struct conn *c);

#endif /* PROXY_ACCESS_H */
