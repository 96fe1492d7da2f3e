/* tests/unit/test_reason.c - the closed reason set: stable names (SPEC
 * section 3) and the status each denial answers with. */
#include "config.h"

#include <string.h>

#include "tests/unit/test.h"

#include "policy/reason.h"

static void
test_reason_name_matches_spec(void **state)
{
    static const struct {
        enum reason r;
        const char *name;
        int status;
    } cases[] = {
        { REASON_ALLOWED, "allowed", 200 },
        { REASON_NOT_ALLOWLISTED, "not_allowlisted", 403 },
        { REASON_PORT_NOT_ALLOWED, "port_not_allowed", 403 },
        { REASON_IP_LITERAL, "ip_literal", 403 },
        { REASON_DENIED_ADDRESS, "denied_address", 403 },
        { REASON_DNS_FAILURE, "dns_failure", 502 },
        { REASON_AUTH_REQUIRED, "auth_required", 407 },
        { REASON_SESSION_PAUSED, "session_paused", 403 },
        { REASON_SESSION_KILLED, "session_killed", 403 },
        { REASON_BYTE_CAP, "byte_cap", 429 },
        { REASON_RATE_LIMITED, "rate_limited", 429 },
        { REASON_CONNECTION_CAP, "connection_cap", 429 },
        { REASON_BAD_REQUEST, "bad_request", 400 },
        { REASON_HEADER_TOO_LARGE, "header_too_large", 431 },
        { REASON_UPSTREAM_FAILED, "upstream_failed", 502 },
        { REASON_UPSTREAM_TIMEOUT, "upstream_timeout", 504 },
        { REASON_LOG_UNAVAILABLE, "log_unavailable", 503 },
        { REASON_SHUTTING_DOWN, "shutting_down", 503 },
        { REASON_REPORT_ONLY, "report_only", 200 },
    };

    (void)state;
    assert_int_equal(ARRAY_LEN(cases), REASON_COUNT);
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        if (strcmp(reason_name(cases[i].r), cases[i].name) != 0)
            fail_msg("row %zu: name %s, want %s", i, reason_name(cases[i].r),
                     cases[i].name);
        if (reason_status(cases[i].r) != cases[i].status)
            fail_msg("row %zu: status %d, want %d", i,
                     reason_status(cases[i].r), cases[i].status);
    }
}

static void
test_reason_out_of_range_is_safe(void **state)
{
    (void)state;
    assert_string_equal(reason_name(REASON_COUNT), "unknown");
    assert_int_equal(reason_status(REASON_COUNT), 500);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reason_name_matches_spec),
        cmocka_unit_test(test_reason_out_of_range_is_safe),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
