/* policy/reason.h - the closed set of decision reasons (SPEC section 3).
 * Each value has one stable name, used by the log record, the denial body,
 * the Sluice-Reason header and the tests alike. Pure data, no I/O. */
#ifndef POLICY_REASON_H
#define POLICY_REASON_H

#include <stdbool.h>

enum reason {
    REASON_ALLOWED = 0,
    REASON_NOT_ALLOWLISTED,
    REASON_PORT_NOT_ALLOWED,
    REASON_IP_LITERAL,
    REASON_DENIED_ADDRESS,
    REASON_DNS_FAILURE,
    REASON_AUTH_REQUIRED,
    REASON_SESSION_PAUSED,
    REASON_SESSION_KILLED,
    REASON_BYTE_CAP,
    REASON_RATE_LIMITED,
    REASON_CONNECTION_CAP,
    REASON_BAD_REQUEST,
    REASON_HEADER_TOO_LARGE,
    REASON_UPSTREAM_FAILED,
    REASON_UPSTREAM_TIMEOUT,
    REASON_LOG_UNAVAILABLE,
    REASON_SHUTTING_DOWN,
    REASON_REPORT_ONLY,
    REASON_COUNT
};

/* Returns the stable snake_case name of <r> ("not_allowlisted"). */
const char *reason_name(enum reason r);

/* True for the reasons that let traffic through (allowed, report_only):
 * the access line's "decision" is "allow" exactly for these. */
static inline bool
reason_is_allow(enum reason r)
{
    return r == REASON_ALLOWED || r == REASON_REPORT_ONLY;
}

/* Returns the HTTP status a denial for <r> answers with (403, 407, 429,
 * 502, 503, 504, 400, 431); 200 for REASON_ALLOWED and REASON_REPORT_ONLY. */
int reason_status(enum reason r);

#endif /* POLICY_REASON_H */
