/* policy/reason.c - names and statuses of the decision reasons. */
#include "config.h"
#include "policy/reason.h"

static const struct {
    const char *name;
    int status;
} reason_table[REASON_COUNT] = {
    [REASON_ALLOWED] = { "allowed", 200 },
    [REASON_NOT_ALLOWLISTED] = { "not_allowlisted", 403 },
    [REASON_PORT_NOT_ALLOWED] = { "port_not_allowed", 403 },
    [REASON_IP_LITERAL] = { "ip_literal", 403 },
    [REASON_DENIED_ADDRESS] = { "denied_address", 403 },
    [REASON_DNS_FAILURE] = { "dns_failure", 502 },
    [REASON_AUTH_REQUIRED] = { "auth_required", 407 },
    [REASON_SESSION_PAUSED] = { "session_paused", 403 },
    [REASON_SESSION_KILLED] = { "session_killed", 403 },
    [REASON_BYTE_CAP] = { "byte_cap", 429 },
    [REASON_RATE_LIMITED] = { "rate_limited", 429 },
    [REASON_CONNECTION_CAP] = { "connection_cap", 429 },
    [REASON_BAD_REQUEST] = { "bad_request", 400 },
    [REASON_HEADER_TOO_LARGE] = { "header_too_large", 431 },
    [REASON_UPSTREAM_FAILED] = { "upstream_failed", 502 },
    [REASON_UPSTREAM_TIMEOUT] = { "upstream_timeout", 504 },
    [REASON_LOG_UNAVAILABLE] = { "log_unavailable", 503 },
    [REASON_SHUTTING_DOWN] = { "shutting_down", 503 },
    [REASON_REPORT_ONLY] = { "report_only", 200 },
};

const char *
reason_name(enum reason r)
{
    if ((unsigned)r >= REASON_COUNT)
        return "unknown";
    return reason_table[r].name;
}

int
reason_status(enum reason r)
{
    if ((unsigned)r >= REASON_COUNT)
        return 500;
    return reason_table[r].status;
}
