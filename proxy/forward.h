/* proxy/forward.h - one absolute-URI HTTP exchange: the rewritten request
 * head (built while deciding), the request body streamed with its framing
 * checked, the response head rewritten and its body streamed back, with
 * bounded buffers on both sides. Keep-alive on both sides. */
#ifndef PROXY_FORWARD_H
#define PROXY_FORWARD_H

#include <stdbool.h>

#include "proxy/http_head.h"

struct conn;
struct evbuffer;

/* Most bytes queued towards one side before its feeder stops being read. */
#define FORWARD_OUT_MAX (256 * 1024)
/* Response heads larger than this are refused (upstream_failed). */
#define FORWARD_RESPONSE_HEAD_MAX (64 * 1024)

/* Appends the request head to forward upstream for <req> to <out>: the
 * request line with the path, Host set to c->r.authority, hop-by-hop fields
 * dropped, Via added. Returns 0, or -1 (out of memory, nothing added). */
int forward_build_request_head(struct conn *c, const struct http_request *req,
                               struct evbuffer *out);

/* c->upstream is connected (or reused): sends the head and pumps both
 * directions until the exchange ends. */
void forward_start(struct conn *c);

/* Client-side callbacks while c->state == CONN_FORWARD. */
void forward_client_readable(struct conn *c);
void forward_client_drained(struct conn *c);
void forward_client_eof(struct conn *c);

#endif /* PROXY_FORWARD_H */
