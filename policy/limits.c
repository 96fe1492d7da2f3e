/* policy/limits.c - cap arithmetic: rate bucket, admission, allowances. */
#include <config.h>
#include "policy/limits.h"

#define LIMITS_MILLI 1000
#define LIMITS_MINUTE_MS 60000

static const char *const limits_cap_names[LIMITS_CAP_COUNT] = {
    [LIMITS_CAP_BYTES_UP] = "bytes_up",
    [LIMITS_CAP_BYTES_DOWN] = "bytes_down",
    [LIMITS_CAP_REQUESTS] = "requests_per_minute",
    [LIMITS_CAP_CONNECTIONS] = "connections",
};

const char *
limits_cap_name(enum limits_cap cap)
{
    if ((unsigned)cap >= LIMITS_CAP_COUNT)
        return "unknown";
    return limits_cap_names[cap];
}

/* Brings the bucket up to <now_ms>: N tokens per minute, never above N.
 * A clock that goes back refills nothing. */
static void
limits_refill(struct limits_bucket *b, uint32_t per_minute, int64_t now_ms)
{
    int64_t full = (int64_t)per_minute * LIMITS_MILLI;

    if (!b->primed) {
        b->primed = true;
        b->millitokens = full;
        b->last_ms = now_ms;
        return;
    }
    if (now_ms > b->last_ms) {
        /* per_minute tokens per 60000 ms = per_minute millitokens per
         * 60 ms; computed from the elapsed time to stay exact. */
        int64_t elapsed = now_ms - b->last_ms;
        int64_t add =
            elapsed * (int64_t)per_minute * LIMITS_MILLI / LIMITS_MINUTE_MS;

        if (add > 0) {
            b->millitokens += add;
            /* Keep the remainder of the division for the next refill. */
            b->last_ms +=
                add * LIMITS_MINUTE_MS / ((int64_t)per_minute * LIMITS_MILLI);
        }
    } else if (now_ms < b->last_ms) {
        b->last_ms = now_ms;
    }
    if (b->millitokens >= full) {
        b->millitokens = full;
        b->last_ms = now_ms;
    }
}

enum reason
limits_admit(const struct tier_limits *l, struct limits_usage *u,
             int64_t now_ms, uint32_t *retry_after_s)
{
    if ((l->bytes_up != 0 && u->bytes_up >= l->bytes_up) ||
        (l->bytes_down != 0 && u->bytes_down >= l->bytes_down))
        return REASON_BYTE_CAP;
    if (l->connections != 0 && u->open >= l->connections)
        return REASON_CONNECTION_CAP;
    if (l->requests_per_minute != 0) {
        uint32_t n = l->requests_per_minute;

        limits_refill(&u->rate, n, now_ms);
        if (u->rate.millitokens < LIMITS_MILLI) {
            int64_t missing = LIMITS_MILLI - u->rate.millitokens;
            int64_t wait_ms =
                (missing * LIMITS_MINUTE_MS + (int64_t)n * LIMITS_MILLI - 1) /
                ((int64_t)n * LIMITS_MILLI);

            if (retry_after_s != NULL)
                *retry_after_s = (uint32_t)((wait_ms + 999) / 1000);
            return REASON_RATE_LIMITED;
        }
        u->rate.millitokens -= LIMITS_MILLI;
    }
    return REASON_ALLOWED;
}

uint64_t
limits_allowance(uint64_t cap, uint64_t used)
{
    if (cap == 0)
        return UINT64_MAX;
    return used >= cap ? 0 : cap - used;
}

uint32_t
limits_rate_used(const struct tier_limits *l, const struct limits_usage *u,
                 int64_t now_ms)
{
    struct limits_bucket b = u->rate;
    uint32_t n = l->requests_per_minute;

    if (n == 0 || !b.primed)
        return 0;
    limits_refill(&b, n, now_ms);
    return (uint32_t)(((int64_t)n * LIMITS_MILLI - b.millitokens) /
                      LIMITS_MILLI);
}

bool
limits_alert_due(uint64_t used, uint64_t limit, uint32_t pct,
                 enum limits_cap cap, unsigned *fired)
{
    unsigned bit = 1u << cap;

    if (limit == 0 || pct == 0 || (*fired & bit) != 0)
        return false;
    /* used/limit >= pct/100, in integers without overflow for sane caps. */
    if ((__uint128_t)used * 100 < (__uint128_t)limit * pct)
        return false;
    *fired |= bit;
    return true;
}
