/* proxy/reply.c - denial and tunnel replies. */
#include "config.h"
#include "proxy/reply.h"

#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

#include "proxy/conn.h"
#include "proxy/proxy.h"

#define REPLY_BODY_MAX 1024
/* What a rate-limited client should wait before retrying, in seconds. */
#define REPLY_RETRY_AFTER_S 60

static const char *
reply_status_text(int status)
{
    switch (status) {
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 407:
        return "Proxy Authentication Required";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    }
    return "Error";
}

/* The tiers of the request's listener, "core, fetch", for the body. */
static void
reply_tier_list(const struct conn *c, char *out, size_t outlen)
{
    size_t used = 0;

    out[0] = '\0';
    if (c->lconf == NULL || c->policy == NULL)
        return;
    for (size_t i = 0; i < c->lconf->n_tiers && used < outlen; i++) {
        int n = snprintf(out + used, outlen - used, "%s%s", i > 0 ? ", " : "",
                         c->policy->tiers[c->lconf->tiers[i]].name);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

/* One line that says what was refused and what to ask for. */
static void
reply_body(const struct conn *c, char *out, size_t outlen)
{
    const struct conn_req *r = &c->r;
    const char *host = r->host[0] != '\0' ? r->host : "the target";
    const char *name = reason_name(r->reason);
    char tiers[256];

    reply_tier_list(c, tiers, sizeof(tiers));
    switch (r->reason) {
    case REASON_NOT_ALLOWLISTED:
        snprintf(out, outlen,
                 "sluice: %s is not on the allowlist for tiers %s (reason "
                 "%s); ask the operator to allow it",
                 host, tiers, name);
        break;
    case REASON_PORT_NOT_ALLOWED:
        snprintf(out, outlen,
                 "sluice: port %u of %s is not allowed for tiers %s (reason "
                 "%s)",
                 r->port, host, tiers, name);
        break;
    case REASON_IP_LITERAL:
        snprintf(out, outlen,
                 "sluice: %s is an IP address; connect by host name (reason "
                 "%s)",
                 host, name);
        break;
    case REASON_DENIED_ADDRESS:
        if (r->d.is_literal) {
            snprintf(out, outlen,
                     "sluice: %s is a private or reserved address sluice "
                     "never connects to (reason %s)",
                     r->why[0] != '\0' ? r->why : host, name);
            break;
        }
        snprintf(out, outlen,
                 "sluice: %s resolves to %s, a private or reserved address "
                 "sluice never connects to (reason %s)",
                 host, r->why[0] != '\0' ? r->why : "a denied address", name);
        break;
    case REASON_DNS_FAILURE:
        snprintf(out, outlen,
                 "sluice: %s could not be resolved: %s (reason %s)", host,
                 r->why[0] != '\0' ? r->why : "lookup failed", name);
        break;
    case REASON_UPSTREAM_FAILED:
        snprintf(out, outlen,
                 "sluice: could not connect to %s port %u: %s (reason %s)",
                 host, r->port, r->why[0] != '\0' ? r->why : "failed", name);
        break;
    case REASON_UPSTREAM_TIMEOUT:
        snprintf(out, outlen,
                 "sluice: %s port %u did not answer in time (reason %s)", host,
                 r->port, name);
        break;
    case REASON_BAD_REQUEST:
        snprintf(out, outlen, "sluice: malformed request: %s (reason %s)",
                 r->why[0] != '\0' ? r->why : "cannot parse", name);
        break;
    case REASON_HEADER_TOO_LARGE:
        snprintf(out, outlen,
                 "sluice: request headers exceed %u bytes (reason %s)",
                 c->policy != NULL ? c->policy->max_header_bytes : 0, name);
        break;
    case REASON_LOG_UNAVAILABLE:
        snprintf(out, outlen,
                 "sluice: the audit log cannot be written, so no traffic is "
                 "allowed until it can (reason %s)",
                 name);
        break;
    case REASON_SHUTTING_DOWN:
        snprintf(out, outlen, "sluice: the proxy is shutting down (reason %s)",
                 name);
        break;
    case REASON_AUTH_REQUIRED:
        snprintf(out, outlen,
                 "sluice: proxy credentials are missing or wrong (reason %s)",
                 name);
        break;
    case REASON_SESSION_PAUSED:
    case REASON_SESSION_KILLED:
        snprintf(out, outlen,
                 "sluice: %s refused: session %s is %s by the operator "
                 "(reason %s)",
                 host, c->session,
                 r->reason == REASON_SESSION_PAUSED ? "paused" : "killed",
                 name);
        break;
    case REASON_BYTE_CAP:
        snprintf(out, outlen,
                 "sluice: %s refused: session %s has used its byte cap on "
                 "tier %s (reason %s)",
                 host, c->session, r->tier != NULL ? r->tier->name : "?", name);
        break;
    case REASON_RATE_LIMITED:
        snprintf(out, outlen,
                 "sluice: %s refused: session %s is over the request rate of "
                 "tier %s; retry in %u s (reason %s)",
                 host, c->session, r->tier != NULL ? r->tier->name : "?",
                 r->retry_after_s, name);
        break;
    case REASON_CONNECTION_CAP:
        snprintf(out, outlen,
                 "sluice: %s refused: session %s has too many open "
                 "connections on tier %s (reason %s)",
                 host, c->session, r->tier != NULL ? r->tier->name : "?", name);
        break;
    case REASON_ALLOWED:
    case REASON_REPORT_ONLY:
    case REASON_COUNT:
        snprintf(out, outlen, "sluice: refused (reason %s)", name);
        break;
    }
}

void
reply_deny(struct conn *c, struct evbuffer *out)
{
    char body[REPLY_BODY_MAX];
    int status = reason_status(c->r.reason);
    size_t len;

    reply_body(c, body, sizeof(body) - 1);
    len = strlen(body);
    body[len++] = '\n';
    body[len] = '\0';
    c->r.status = status;
    evbuffer_add_printf(out,
                        "HTTP/1.1 %d %s\r\n"
                        "Sluice-Reason: %s\r\n"
                        "Content-Type: text/plain; charset=utf-8\r\n"
                        "Content-Length: %zu\r\n"
                        "Cache-Control: no-store\r\n"
                        "Connection: close\r\n",
                        status, reply_status_text(status),
                        reason_name(c->r.reason), len);
    if (c->r.reason == REASON_AUTH_REQUIRED)
        evbuffer_add_printf(out,
                            "Proxy-Authenticate: Basic realm=\"sluice\"\r\n");
    if (status == 429)
        evbuffer_add_printf(out, "Retry-After: %u\r\n",
                            c->r.retry_after_s != 0 ? c->r.retry_after_s
                                                    : REPLY_RETRY_AFTER_S);
    evbuffer_add(out, "\r\n", 2);
    if (!c->r.is_head)
        evbuffer_add(out, body, len);
}

void
reply_tunnel_ok(struct conn *c, struct evbuffer *out)
{
    static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";

    c->r.status = 200;
    evbuffer_add(out, ok, sizeof(ok) - 1);
}
