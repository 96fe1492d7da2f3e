/* proxy/access.c - access lines (SPEC section 5). */
#include "config.h"
#include "proxy/access.h"

#include "logging/jsonl.h"
#include "policy/addr.h"
#include "proxy/conn.h"
#include "proxy/proxy.h"

int
access_log(struct conn *c)
{
    struct proxy *px = c->px;
    struct conn_req *r = &c->r;
    struct jsonl *j = &px->line;
    char text[ADDR_TEXT_MAX];
    int64_t now = proxy_now_ms(px);

    proxy_event_begin(px, "access");
    jsonl_str(j, "id", r->id);
    jsonl_str(j, "session", c->session[0] != '\0' ? c->session : NULL);
    jsonl_str(j, "listener", c->listener);
    jsonl_str(j, "client", c->client_text);
    jsonl_str(j, "method", r->method[0] != '\0' ? r->method : NULL);
    jsonl_str(j, "host", r->host[0] != '\0' ? r->host : NULL);
    if (r->port != 0)
        jsonl_uint(j, "port", r->port);
    else
        jsonl_null(j, "port");
    jsonl_str(j, "path", r->path);
    jsonl_str(j, "tier", r->tier != NULL ? r->tier->name : NULL);
    jsonl_str(j, "decision", reason_is_allow(r->reason) ? "allow" : "deny");
    jsonl_str(j, "reason", reason_name(r->reason));
    if (r->would_deny != REASON_ALLOWED)
        jsonl_str(j, "would_deny", reason_name(r->would_deny));
    if (r->connected) {
        addr_format(&r->addr, text);
        jsonl_str(j, "addr", text);
    } else {
        jsonl_null(j, "addr");
    }
    /* 0: no response reached the client (it left first). */
    jsonl_int(j, "status", r->status);
    jsonl_uint(j, "bytes_up", r->bytes_up);
    jsonl_uint(j, "bytes_down", r->bytes_down);
    jsonl_int(j, "duration_ms", now > r->start_ms ? now - r->start_ms : 0);
    metrics_request(&px->metrics, r->tier != NULL ? r->tier->name : NULL,
                    r->reason, r->bytes_up, r->bytes_down);
    return proxy_write_access(px);
}
