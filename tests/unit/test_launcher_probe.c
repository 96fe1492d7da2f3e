/* tests/unit/test_launcher_probe.c - the containment probe's directives,
 * --probe-target parsing and the reading of its verdict
 * (launcher/probe.c). */
#include "config.h"
#include "tests/unit/test.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "launcher/argv.h"
#include "launcher/launch-t.h"
#include "launcher/probe.h"

static void
test_launch_init(struct launch *l)
{
    memset(l, 0, sizeof(*l));
    l->proxy_port = LAUNCH_PROXY_PORT;
    snprintf(l->sidecar_addr, sizeof(l->sidecar_addr), "10.89.0.2");
    snprintf(l->sidecar_egress_addr, sizeof(l->sidecar_egress_addr),
             "10.88.0.7");
    argv_init(&l->host_addrs);
    argv_init(&l->probe_targets);
    argv_init(&l->user_env);
}

static void
test_launch_fini(struct launch *l)
{
    argv_fini(&l->host_addrs);
    argv_fini(&l->probe_targets);
    argv_fini(&l->user_env);
}

static void
test_directives_sidecar(void **state)
{
    static const char *const want[] = {
        "reach|proxy|10.89.0.2|3128,3129",
        "dns|the sidecar|10.89.0.2|",
        "block|the sidecar's egress-side address|10.88.0.7|" PROBE_BLOCK_PORTS,
        "dns|the sidecar's egress-side address|10.88.0.7|",
        "block|host address|10.88.0.1|" PROBE_BLOCK_PORTS,
        "dns|host address|10.88.0.1|",
        "block|host address|fe80::1c2:3ff:fe04:506|" PROBE_BLOCK_PORTS,
        "dns|host address|fe80::1c2:3ff:fe04:506|",
        "dns|the engine's resolver|127.0.0.11|",
        "block|probe target 10.89.9.9:80|10.89.9.9|80",
    };
    struct launch l;
    struct argv a;
    char err[256];

    (void)state;
    test_launch_init(&l);
    l.fetch_port = LAUNCH_FETCH_PORT;
    argv_push(&l.host_addrs, "10.88.0.1");
    argv_push(&l.host_addrs, "fe80::1c2:3ff:fe04:506");
    assert_int_equal(
        probe_target_add("10.89.9.9:80", &l.probe_targets, err, sizeof(err)),
        0);
    argv_init(&a);
    probe_push_directives(&l, &a);
    assert_int_equal(a.n, ARRAY_LEN(want));
    for (size_t i = 0; i < ARRAY_LEN(want); i++)
        assert_string_equal(a.v[i], want[i]);
    argv_fini(&a);
    test_launch_fini(&l);
}

static void
test_directives_gateway(void **state)
{
    struct launch l;
    struct argv a;

    (void)state;
    test_launch_init(&l);
    l.external_proxy = true;
    snprintf(l.proxy_host, sizeof(l.proxy_host), "[fd00::5]");
    l.proxy_port = 8080;
    argv_init(&a);
    probe_push_directives(&l, &a);
    assert_string_equal(a.v[0], "reach|proxy|fd00::5|8080");
    assert_false(argv_contains(&a, "dns|the sidecar|fd00::5|"));
    assert_string_equal(a.v[a.n - 1], "dns|the engine's resolver|127.0.0.11|");
    argv_fini(&a);
    test_launch_fini(&l);
}

static void
test_target_parse(void **state)
{
    static const struct {
        const char *text;
        const char *want; /* first directive, or NULL for an error */
    } cases[] = {
        { "10.1.2.3:443", "block|probe target 10.1.2.3:443|10.1.2.3|443" },
        { "[fd00::1]:22", "block|probe target fd00::1:22|fd00::1|22" },
        { "localhost:80", NULL }, /* checked below: any loopback form */
        { "10.1.2.3", NULL },
        { "10.1.2.3:", NULL },
        { "10.1.2.3:0", NULL },
        { "10.1.2.3:65536", NULL },
        { "10.1.2.3:8x", NULL },
        { "[fd00::1]22", NULL },
        { ":80", NULL },
    };
    char err[256];

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct argv a;
        int rc;

        argv_init(&a);
        rc = probe_target_add(cases[i].text, &a, err, sizeof(err));
        if (strcmp(cases[i].text, "localhost:80") == 0) {
            if (rc != 0 || a.n == 0 ||
                strncmp(a.v[0], "block|probe target localhost:80|", 32) != 0)
                fail_msg("localhost: rc %d %s", rc, a.n ? a.v[0] : err);
        } else if (cases[i].want == NULL) {
            if (rc != -1)
                fail_msg("case %zu (%s) accepted", i, cases[i].text);
            if (strncmp(err, "--probe-target ", 15) != 0)
                fail_msg("case %zu message: %s", i, err);
        } else if (rc != 0 || a.n != 1 || strcmp(a.v[0], cases[i].want) != 0) {
            fail_msg("case %zu (%s): rc %d, %s", i, cases[i].text, rc,
                     a.n ? a.v[0] : err);
        }
        argv_fini(&a);
    }
}

static void
test_report(void **state)
{
    static const struct {
        const char *out;
        bool holds;
        unsigned passed;
        size_t failed;
    } cases[] = {
        { "ok a\nok b\ndone\n", true, 2, 0 },
        { "ok a\nFAIL host address 10.0.0.1 is reachable\ndone\n", false, 1,
          1 },
        { "ok a\nok b\n", false, 2, 0 }, /* killed before the end */
        { "done\n", false, 0, 0 },       /* nothing checked */
        { "", false, 0, 0 },
        { "ok a\ndone", true, 1, 0 },
        { "noise\nok a\nFAIL x\nFAIL y\ndone\n", false, 1, 2 },
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct probe_report r;

        probe_report_parse(cases[i].out, &r);
        if (probe_report_holds(&r) != cases[i].holds ||
            r.passed != cases[i].passed || r.failures.n != cases[i].failed)
            fail_msg("case %zu: holds %d passed %u failed %zu", i,
                     probe_report_holds(&r), r.passed, r.failures.n);
        probe_report_fini(&r);
    }
}

/* The embedded script is container/probe.sh, whole. */
static void
test_script_embedded(void **state)
{
    (void)state;
    assert_non_null(strstr(probe_script, "container/probe.sh"));
    assert_non_null(strstr(probe_script, "\necho done\n"));
    assert_non_null(strstr(probe_script, "check_block"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_directives_sidecar),
        cmocka_unit_test(test_directives_gateway),
        cmocka_unit_test(test_target_parse),
        cmocka_unit_test(test_report),
        cmocka_unit_test(test_script_embedded),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
