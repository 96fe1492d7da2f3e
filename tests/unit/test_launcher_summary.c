/* tests/unit/test_launcher_summary.c - the session summary rendered from a
 * sample access and event log (launcher/summary.c), and the JSON field
 * scanner under it. */
#include "config.h"
#include "tests/unit/test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "launcher/summary.h"

/* Lines as the proxy writes them (SPEC section 5), two sessions mixed, an
 * event with nested arrays, a report-mode line, caps and an alert. */
static const char *const test_log[] = {
    "{\"v\":1,\"ts\":\"2026-11-30T10:43:32.486Z\",\"event\":\"start\","
    "\"version\":\"0.1.0\",\"pid\":1,\"policy\":\"/etc/sluice/policy.yaml\","
    "\"listeners\":[{\"name\":\"agent\",\"addr\":\"0.0.0.0:3128\"}]}\n",
    "{\"v\":1,\"event\":\"access\",\"session\":\"s-1\",\"listener\":\"agent\","
    "\"method\":\"CONNECT\",\"host\":\"github.com\",\"port\":443,"
    "\"path\":null,\"tier\":\"core\",\"decision\":\"allow\",\"reason\":"
    "\"allowed\",\"addr\":\"140.82.112.3\",\"status\":200,\"bytes_up\":1234,"
    "\"bytes_down\":56789,\"duration_ms\":812}\n",
    "{\"v\":1,\"event\":\"access\",\"session\":\"s-1\",\"listener\":\"agent\","
    "\"method\":\"GET\",\"host\":\"pypi.org\",\"port\":80,\"path\":\"/a?b=\\\""
    "c\\\"\",\"tier\":\"core\",\"decision\":\"allow\",\"reason\":\"allowed\","
    "\"bytes_up\":100,\"bytes_down\":2048}\n",
    "{\"v\":1,\"event\":\"access\",\"session\":\"s-1\",\"method\":\"GET\","
    "\"host\":\"evil.example\",\"port\":80,\"tier\":null,\"decision\":"
    "\"deny\",\"reason\":\"not_allowlisted\",\"bytes_up\":0,"
    "\"bytes_down\":0}\n",
    "{\"v\":1,\"event\":\"access\",\"session\":\"s-1\",\"method\":\"CONNECT\","
    "\"host\":\"evil.example\",\"port\":443,\"tier\":null,\"decision\":"
    "\"deny\",\"reason\":\"not_allowlisted\",\"bytes_up\":0,"
    "\"bytes_down\":0}\n",
    "{\"v\":1,\"event\":\"access\",\"session\":\"s-1\",\"method\":\"GET\","
    "\"host\":\"169.254.169.254\",\"port\":80,\"tier\":null,\"decision\":"
    "\"deny\",\"reason\":\"ip_literal\",\"bytes_up\":0,\"bytes_down\":0}\n",
    "{\"v\":1,\"event\":\"access\",\"session\":\"s-1\",\"method\":\"GET\","
    "\"host\":\"example.org\",\"port\":443,\"tier\":\"fetch\",\"decision\":"
    "\"deny\",\"reason\":\"byte_cap\",\"bytes_up\":10,\"bytes_down\":"
    "5242880}\n",
    "{\"v\":1,\"event\":\"alert\",\"session\":\"s-1\",\"tier\":\"fetch\","
    "\"cap\":\"bytes_down\",\"used\":4194304,\"limit\":5242880}\n",
    "{\"v\":1,\"event\":\"access\",\"session\":\"s-1\",\"method\":\"GET\","
    "\"host\":\"new.example\",\"port\":443,\"tier\":\"core\",\"decision\":"
    "\"allow\",\"reason\":\"report_only\",\"would_deny\":\"not_allowlisted\","
    "\"bytes_up\":5,\"bytes_down\":6}\n",
    /* Another session's traffic on a shared gateway: not ours. */
    "{\"v\":1,\"event\":\"access\",\"session\":\"s-2\",\"method\":\"GET\","
    "\"host\":\"other.example\",\"port\":80,\"tier\":null,\"decision\":"
    "\"deny\",\"reason\":\"not_allowlisted\",\"bytes_up\":0,"
    "\"bytes_down\":0}\n",
    "not json at all\n",
    "{\"v\":1,\"event\":\"shutdown\",\"open_connections\":0}\n",
};

static const char test_want[] =
    "sluice: session s-1: 3 allowed, 4 denied\n"
    "  1 allowed only because the listener is in report mode\n"
    "  tier              allowed   denied     bytes up   bytes down\n"
    "  core                    3        0      1.3 KiB     57.5 KiB\n"
    "  (no tier)               0        3          0 B          0 B\n"
    "  fetch                   0        1         10 B      5.0 MiB\n"
    "  denied hosts:\n"
    "    evil.example                                  2  not_allowlisted\n"
    "    169.254.169.254                               1  ip_literal\n"
    "    example.org                                   1  byte_cap\n"
    "  caps hit: fetch byte_cap x1; fetch alert bytes_down x1\n"
    "  1 log lines could not be read\n"
    "  access log: /state/run/access.jsonl\n";

static void
test_render_sample(void **state)
{
    struct summary s;
    char *text;

    (void)state;
    summary_init(&s, "s-1", true);
    for (size_t i = 0; i < ARRAY_LEN(test_log); i++)
        summary_add_line(&s, test_log[i], strlen(test_log[i]));
    text = summary_render(&s, "/state/run/access.jsonl");
    assert_non_null(text);
    if (strcmp(text, test_want) != 0)
        fail_msg("got:\n%s\nwant:\n%s", text, test_want);
    free(text);
    summary_fini(&s);
}

/* The same log read from a file, with a last line cut short by a crash. */
static void
test_add_file(void **state)
{
    char path[] = "/tmp/sluice-test-summary.XXXXXX";
    struct summary s;
    FILE *f;
    int fd;

    (void)state;
    fd = mkstemp(path);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    for (size_t i = 0; i < ARRAY_LEN(test_log); i++)
        fputs(test_log[i], f);
    fputs("{\"v\":1,\"event\":\"access\",\"session\":\"s-1\",\"decis", f);
    fclose(f);
    summary_init(&s, "s-1", true);
    assert_int_equal(summary_add_file(&s, path), 0);
    assert_int_equal(s.allowed, 3);
    assert_int_equal(s.denied, 4);
    assert_int_equal(s.unreadable, 2);
    summary_fini(&s);
    /* Every session: a sidecar's log is all one agent's. */
    summary_init(&s, "s-1", false);
    assert_int_equal(summary_add_file(&s, path), 0);
    assert_int_equal(s.denied, 5);
    summary_fini(&s);
    unlink(path);
    summary_init(&s, "s-1", true);
    assert_int_equal(summary_add_file(&s, path), -1);
    summary_fini(&s);
}

static void
test_empty(void **state)
{
    struct summary s;
    char *text;

    (void)state;
    summary_init(&s, "s-9", true);
    text = summary_render(&s, NULL);
    assert_string_equal(text, "sluice: session s-9: 0 allowed, 0 denied\n"
                              "  caps hit: none\n");
    free(text);
    summary_fini(&s);
}

/* One screen: ten denied hosts at most, most denied first. */
static void
test_many_hosts(void **state)
{
    char line[256];
    struct summary s;
    char *text, *p;
    int rows = 0;

    (void)state;
    summary_init(&s, "s-1", true);
    for (int i = 0; i < 30; i++) {
        for (int j = 0; j <= i % 3; j++) {
            snprintf(line, sizeof(line),
                     "{\"event\":\"access\",\"session\":\"s-1\",\"host\":"
                     "\"h%02d.example\",\"tier\":null,\"decision\":\"deny\","
                     "\"reason\":\"not_allowlisted\"}",
                     i);
            summary_add_line(&s, line, strlen(line));
        }
    }
    text = summary_render(&s, NULL);
    assert_non_null(text);
    for (p = strstr(text, ".example"); p != NULL; p = strstr(p + 1, ".example"))
        rows++;
    assert_int_equal(rows, SUMMARY_HOSTS_SHOWN);
    assert_non_null(strstr(text, "    h02.example "));
    assert_null(strstr(text, "    h00.example "));
    assert_non_null(strstr(text, "... and 20 more hosts"));
    free(text);
    summary_fini(&s);
}

static void
test_json_field(void **state)
{
    static const char line[] =
        "{\"a\":\"x\\u0041\\n\",\"n\":12,\"z\":null,\"o\":{\"a\":[1,{\"b\":"
        "\"}\"}]},\"t\":true,\"last\":\"\\\"q\\\"\"}";
    char out[64];

    (void)state;
    assert_int_equal(
        summary_json_field(line, strlen(line), "a", out, sizeof(out)), 0);
    assert_string_equal(out, "xA\n");
    assert_int_equal(
        summary_json_field(line, strlen(line), "n", out, sizeof(out)), 0);
    assert_string_equal(out, "12");
    assert_int_equal(
        summary_json_field(line, strlen(line), "z", out, sizeof(out)), 0);
    assert_string_equal(out, "null");
    assert_int_equal(
        summary_json_field(line, strlen(line), "o", out, sizeof(out)), -1);
    assert_int_equal(
        summary_json_field(line, strlen(line), "t", out, sizeof(out)), 0);
    assert_string_equal(out, "true");
    assert_int_equal(
        summary_json_field(line, strlen(line), "last", out, sizeof(out)), 0);
    assert_string_equal(out, "\"q\"");
    assert_int_equal(
        summary_json_field(line, strlen(line), "b", out, sizeof(out)), -1);
    assert_int_equal(summary_json_field("[1]", 3, "a", out, sizeof(out)), -1);
    assert_int_equal(
        summary_json_field("{\"a\":\"unterminated", 18, "a", out, sizeof(out)),
        -1);
    /* Truncated to the buffer, never overrun. */
    assert_int_equal(summary_json_field(line, strlen(line), "last", out, 3), 0);
    assert_string_equal(out, "\"q");
}

static void
test_format_bytes(void **state)
{
    static const struct {
        uint64_t n;
        const char *want;
    } cases[] = {
        { 0, "0 B" },
        { 1023, "1023 B" },
        { 1024, "1.0 KiB" },
        { 1536, "1.5 KiB" },
        { 5242880, "5.0 MiB" },
        { UINT64_C(3) << 30, "3.0 GiB" },
        { UINT64_C(1) << 62, "4096.0 PiB" },
    };
    char out[32];

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        summary_format_bytes(cases[i].n, out, sizeof(out));
        if (strcmp(out, cases[i].want) != 0)
            fail_msg("case %zu: got %s want %s", i, out, cases[i].want);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_sample),
        cmocka_unit_test(test_add_file),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_many_hosts),
        cmocka_unit_test(test_json_field),
        cmocka_unit_test(test_format_bytes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
