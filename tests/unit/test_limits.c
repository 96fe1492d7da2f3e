/* tests/unit/test_limits.c - cap arithmetic: the request-rate bucket,
 * admission order, byte allowances and alert thresholds. */
#include "config.h"

#include <string.h>

#include "tests/unit/test.h"

#include "policy/limits.h"

static void
test_limits_admit_rate_burst_then_refill(void **state)
{
    struct tier_limits l = { .requests_per_minute = 60 };
    struct limits_usage u;
    uint32_t retry = 0;

    (void)state;
    memset(&u, 0, sizeof(u));
    /* A burst of N passes at once, the N+1st is refused. */
    for (int i = 0; i < 60; i++)
        if (limits_admit(&l, &u, 1000, &retry) != REASON_ALLOWED)
            fail_msg("request %d of the burst refused", i);
    assert_int_equal(limits_admit(&l, &u, 1000, &retry), REASON_RATE_LIMITED);
    assert_int_equal(retry, 1); /* one token per second at 60/min */
    /* 999 ms later still nothing; at 1000 ms one token. */
    assert_int_equal(limits_admit(&l, &u, 1999, &retry), REASON_RATE_LIMITED);
    assert_int_equal(limits_admit(&l, &u, 2000, &retry), REASON_ALLOWED);
    assert_int_equal(limits_admit(&l, &u, 2000, &retry), REASON_RATE_LIMITED);
    /* After a long pause the bucket is full again, never fuller. */
    for (int i = 0; i < 60; i++)
        if (limits_admit(&l, &u, 10 * 60000, &retry) != REASON_ALLOWED)
            fail_msg("request %d after refill refused", i);
    assert_int_equal(limits_admit(&l, &u, 10 * 60000, &retry),
                     REASON_RATE_LIMITED);
}

static void
test_limits_admit_slow_rate_retry_after(void **state)
{
    struct tier_limits l = { .requests_per_minute = 2 };
    struct limits_usage u;
    uint32_t retry = 0;

    (void)state;
    memset(&u, 0, sizeof(u));
    assert_int_equal(limits_admit(&l, &u, 0, &retry), REASON_ALLOWED);
    assert_int_equal(limits_admit(&l, &u, 0, &retry), REASON_ALLOWED);
    assert_int_equal(limits_admit(&l, &u, 0, &retry), REASON_RATE_LIMITED);
    assert_int_equal(retry, 30);
    assert_int_equal(limits_rate_used(&l, &u, 0), 2);
    assert_int_equal(limits_rate_used(&l, &u, 30000), 1);
    /* Refill accumulates across many short steps without losing time. */
    for (int64_t t = 0; t <= 30000; t += 7)
        (void)limits_rate_used(&l, &u, t);
    assert_int_equal(limits_admit(&l, &u, 30000, &retry), REASON_ALLOWED);
}

static void
test_limits_admit_order_and_caps(void **state)
{
    static const struct {
        struct tier_limits l;
        uint64_t up, down;
        uint32_t open;
        enum reason want;
    } cases[] = {
        { { 0 }, 1u << 30, 1u << 30, 1000, REASON_ALLOWED }, /* no caps */
        { { .bytes_up = 100 }, 99, 0, 0, REASON_ALLOWED },
        { { .bytes_up = 100 }, 100, 0, 0, REASON_BYTE_CAP },
        { { .bytes_down = 100 }, 0, 101, 0, REASON_BYTE_CAP },
        { { .connections = 2 }, 0, 0, 1, REASON_ALLOWED },
        { { .connections = 2 }, 0, 0, 2, REASON_CONNECTION_CAP },
        /* byte cap wins over the connection cap */
        { { .bytes_up = 1, .connections = 1 }, 5, 0, 3, REASON_BYTE_CAP },
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct limits_usage u;
        enum reason got;

        memset(&u, 0, sizeof(u));
        u.bytes_up = cases[i].up;
        u.bytes_down = cases[i].down;
        u.open = cases[i].open;
        got = limits_admit(&cases[i].l, &u, 0, NULL);
        if (got != cases[i].want)
            fail_msg("row %zu: got %s, want %s", i, reason_name(got),
                     reason_name(cases[i].want));
    }
}

static void
test_limits_allowance(void **state)
{
    (void)state;
    assert_true(limits_allowance(0, 12345) == UINT64_MAX);
    assert_int_equal(limits_allowance(100, 40), 60);
    assert_int_equal(limits_allowance(100, 100), 0);
    assert_int_equal(limits_allowance(100, 150), 0);
}

static void
test_limits_alert_due_once(void **state)
{
    unsigned fired = 0;

    (void)state;
    assert_false(limits_alert_due(79, 100, 80, LIMITS_CAP_BYTES_UP, &fired));
    assert_true(limits_alert_due(80, 100, 80, LIMITS_CAP_BYTES_UP, &fired));
    assert_false(limits_alert_due(95, 100, 80, LIMITS_CAP_BYTES_UP, &fired));
    /* Another cap has its own bit. */
    assert_true(limits_alert_due(90, 100, 80, LIMITS_CAP_BYTES_DOWN, &fired));
    /* No limit or no share: never. */
    fired = 0;
    assert_false(limits_alert_due(1000, 0, 80, LIMITS_CAP_BYTES_UP, &fired));
    assert_false(limits_alert_due(1000, 100, 0, LIMITS_CAP_BYTES_UP, &fired));
    /* Huge caps do not overflow. */
    assert_true(limits_alert_due(UINT64_MAX, UINT64_MAX, 100,
                                 LIMITS_CAP_REQUESTS, &fired));
    assert_string_equal(limits_cap_name(LIMITS_CAP_CONNECTIONS), "connections");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limits_admit_rate_burst_then_refill),
        cmocka_unit_test(test_limits_admit_slow_rate_retry_after),
        cmocka_unit_test(test_limits_admit_order_and_caps),
        cmocka_unit_test(test_limits_allowance),
        cmocka_unit_test(test_limits_alert_due_once),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
