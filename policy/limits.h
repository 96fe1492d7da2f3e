/* policy/limits.h - the arithmetic of per-session, per-tier caps (SPEC
 * section 2 `limits`, section 3 step 4): the request-rate bucket, the
 * admission check for a new request, how many bytes may still pass before
 * a byte cap, and when an alert is due. Pure: callers pass `now`; no
 * clock, no I/O. Used by proxy/session.c. */
#ifndef POLICY_LIMITS_H
#define POLICY_LIMITS_H

#include <stdbool.h>
#include <stdint.h>

#include "policy/policy-t.h"
#include "policy/reason.h"

/* requests_per_minute as a token bucket: it holds up to N tokens (a burst
 * of N), refills N per minute, and each new request or tunnel takes one.
 * Tokens are kept in millitokens so the refill stays exact in integers. */
struct limits_bucket {
    int64_t millitokens;
    int64_t last_ms;
    bool primed;
};

/* What one session has used on one tier. */
struct limits_usage {
    uint64_t bytes_up;
    uint64_t bytes_down;
    uint32_t open; /* requests and tunnels in progress */
    struct limits_bucket rate;
};

/* The caps an alert can be raised for, as bits of a fired mask. */
enum limits_cap {
    LIMITS_CAP_BYTES_UP = 0,
    LIMITS_CAP_BYTES_DOWN,
    LIMITS_CAP_REQUESTS,
    LIMITS_CAP_CONNECTIONS,
    LIMITS_CAP_COUNT
};

/* "bytes_up", "bytes_down", "requests_per_minute", "connections". */
const char *limits_cap_name(enum limits_cap cap);

/* Admission of one new request under <l> with usage <u> at <now_ms>:
 * REASON_BYTE_CAP if either byte cap is already reached, REASON_CONNECTION_CAP
 * if <open> is at the cap, REASON_RATE_LIMITED if the bucket is empty (then
 * *retry_after_s says when a token will be there), else REASON_ALLOWED and
 * one token is taken. A cap of 0 is no cap. */
enum reason limits_admit(const struct tier_limits *l, struct limits_usage *u,
                         int64_t now_ms, uint32_t *retry_after_s);

/* How many more bytes may pass under a cap of <cap> with <used> so far:
 * UINT64_MAX when cap is 0 (none), 0 when reached. */
uint64_t limits_allowance(uint64_t cap, uint64_t used);

/* Requests counted in the bucket's current minute, for alerts and
 * /sessions: N minus the tokens left, at <now_ms>. */
uint32_t limits_rate_used(const struct tier_limits *l,
                          const struct limits_usage *u, int64_t now_ms);

/* True when <used> has reached <pct> percent of <limit> and the alert for
 * <cap> has not fired yet (bit <cap> of *fired); sets the bit. No alert
 * without both a limit and a percentage. */
bool limits_alert_due(uint64_t used, uint64_t limit, uint32_t pct,
                      enum limits_cap cap, unsigned *fired);

#endif /* POLICY_LIMITS_H */
