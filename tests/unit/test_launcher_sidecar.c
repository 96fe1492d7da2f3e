/* tests/unit/test_launcher_sidecar.c - the sidecar's generated policy
 * (launcher/sidecar.c): it loads, it keeps everything the user's policy
 * says about what may be reached, and it replaces only the listeners,
 * auth file, logs and admin socket. */
#include "config.h"
#include "tests/unit/test.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launcher/argv.h"
#include "launcher/sidecar.h"
#include "policy/config.h"
#include "policy/policy.h"

static const char test_policy[] =
    "version: 1\n"
    "listeners:\n"
    "  - name: main\n"
    "    listen: 127.0.0.1:3128\n"
    "    tiers: [core, docs]\n"
    "  - name: other\n"
    "    listen: 127.0.0.1:3130\n"
    "    tiers: [docs]\n"
    "resolver:\n"
    "  servers: [\"10.0.0.53\", \"[fd00::53]:5353\"]\n"
    "  timeout_ms: 1500\n"
    "network:\n"
    "  allow_ranges: [10.89.0.0/16, \"fd00:1::/64\"]\n"
    "  deny_ranges: [203.0.114.0/24]\n"
    "  ip_literals: allow\n"
    "tiers:\n"
    "  core:\n"
    "    domains: [github.com, \"*.github.com\", .githubusercontent.com, "
    "\"192.0.2.0/24\"]\n"
    "    ports: [443]\n"
    "  docs:\n"
    "    domains: [docs.python.org]\n"
    "  fetch:\n"
    "    domains: [\"*\"]\n"
    "    ports: [80, 443]\n"
    "    limits: {bytes_up: 5MiB, bytes_down: 200MiB, requests_per_minute: "
    "60,\n"
    "             bandwidth: 2MiB/s, connections: 8, alert_at: 80%}\n"
    "log:\n"
    "  access: /var/log/sluice/access.jsonl\n"
    "timeouts: {connect_ms: 5000, header_ms: 6000, idle_ms: 7000, "
    "shutdown_grace_ms: 0}\n"
    "limits: {max_connections: 77, max_header_bytes: 16KiB}\n";

static struct policy *
test_load(const char *yaml, const char *dir)
{
    struct config_error err;
    char msg[CONFIG_ERROR_MAX + 300];
    struct policy *p;

    p = config_load_buffer(yaml, strlen(yaml), "p.yaml", dir, &err);
    if (p == NULL) {
        config_error_format(&err, msg, sizeof(msg));
        fail_msg("does not load: %s\n%s", msg, yaml);
    }
    return p;
}

/* The dump of <p> as a string. */
static char *
test_dump(const struct policy *p)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    assert_non_null(f);
    assert_int_equal(config_dump_json(p, f), 0);
    fclose(f);
    return text;
}

/* The part of a dump from key <from> up to key <to>. */
static char *
test_section(const char *dump, const char *from, const char *to)
{
    const char *a = strstr(dump, from), *b;

    if (a == NULL)
        fail_msg("no %s in dump", from);
    b = strstr(a, to);
    if (b == NULL)
        fail_msg("no %s in dump", to);
    return strndup(a, (size_t)(b - a));
}

static char *
test_generate(const struct policy *p, char *const *tiers, size_t n,
              struct argv *copies)
{
    struct sidecar_conf c = {
        .session = "s-1", .tiers = tiers, .n_tiers = n, .policy_dir = "/tmp"
    };
    char err[256];
    char *yaml = sidecar_policy_yaml(p, &c, copies, err, sizeof(err));

    if (yaml == NULL)
        fail_msg("generation failed: %s", err);
    return yaml;
}

/* Everything about what may be reached survives, to the byte. */
static void
test_round_trip_keeps_rules(void **state)
{
    static const char *const sections[][2] = {
        { "\"resolver\"", "\"log\"" },
        { "\"timeouts\"", "\n}" },
    };
    struct policy *p, *g;
    struct argv copies;
    char *yaml, *d1, *d2;

    (void)state;
    p = test_load(test_policy, "/tmp");
    argv_init(&copies);
    yaml = test_generate(p, NULL, 0, &copies);
    assert_int_equal(copies.n, 0);
    g = test_load(yaml, "/tmp");
    d1 = test_dump(p);
    d2 = test_dump(g);
    for (size_t i = 0; i < ARRAY_LEN(sections); i++) {
        char *s1 = test_section(d1, sections[i][0], sections[i][1]);
        char *s2 = test_section(d2, sections[i][0], sections[i][1]);

        if (strcmp(s1, s2) != 0)
            fail_msg("%s differs:\n%s\n---\n%s", sections[i][0], s1, s2);
        free(s1);
        free(s2);
    }
    free(d1);
    free(d2);
    free(yaml);
    policy_unref(g);
    policy_unref(p);
    argv_fini(&copies);
}

/* Listeners, auth, logs and the admin socket are the sidecar's. */
static void
test_replaced_parts(void **state)
{
    struct policy *p, *g;
    struct argv copies;
    const struct listener_conf *agent, *fetch;
    char *yaml;

    (void)state;
    p = test_load(test_policy, "/tmp");
    argv_init(&copies);
    yaml = test_generate(p, NULL, 0, &copies);
    g = test_load(yaml, "/tmp");
    assert_int_equal(g->n_listeners, 2);
    agent = policy_find_listener(g, "agent");
    fetch = policy_find_listener(g, SIDECAR_FETCH_TIER);
    assert_non_null(agent);
    assert_non_null(fetch);
    assert_string_equal(agent->listen, "0.0.0.0:3128");
    assert_string_equal(agent->session, "s-1");
    /* The first listener's tiers, in order. */
    assert_int_equal(agent->n_tiers, 2);
    assert_string_equal(g->tiers[agent->tiers[0]].name, "core");
    assert_string_equal(g->tiers[agent->tiers[1]].name, "docs");
    assert_string_equal(fetch->listen, "0.0.0.0:3129");
    assert_int_equal(fetch->n_tiers, 3);
    assert_string_equal(g->tiers[fetch->tiers[2]].name, "fetch");
    assert_int_equal(g->auth_mode, AUTH_NONE);
    assert_string_equal(g->tokens_file, SIDECAR_TOKENS_FILE);
    assert_string_equal(g->log_access, SIDECAR_ACCESS_LOG);
    assert_string_equal(g->log_events, SIDECAR_EVENTS_LOG);
    assert_string_equal(g->admin_socket, SIDECAR_ADMIN_SOCKET);
    free(yaml);
    policy_unref(g);
    policy_unref(p);
    argv_fini(&copies);
}

static void
test_tier_option(void **state)
{
    char *docs[] = { "docs" };
    char *with_fetch[] = { "core", "fetch" };
    char *unknown[] = { "nope" };
    char *twice[] = { "docs", "docs" };
    struct sidecar_conf c = { .session = "s-1", .policy_dir = NULL };
    struct policy *p, *g;
    struct argv copies;
    char err[256], *yaml;
    bool fetch;

    (void)state;
    p = test_load(test_policy, "/tmp");
    argv_init(&copies);
    yaml = test_generate(p, docs, 1, &copies);
    g = test_load(yaml, "/tmp");
    assert_int_equal(policy_find_listener(g, "agent")->n_tiers, 1);
    assert_int_equal(policy_find_listener(g, "fetch")->n_tiers, 2);
    free(yaml);
    policy_unref(g);
    /* fetch granted on the main channel: no second channel. */
    yaml = test_generate(p, with_fetch, 2, &copies);
    g = test_load(yaml, "/tmp");
    assert_int_equal(g->n_listeners, 1);
    free(yaml);
    policy_unref(g);
    c.tiers = with_fetch;
    c.n_tiers = 2;
    assert_int_equal(sidecar_check(p, &c, &fetch, err, sizeof(err)), 0);
    assert_false(fetch);
    c.tiers = unknown;
    c.n_tiers = 1;
    assert_int_equal(sidecar_check(p, &c, &fetch, err, sizeof(err)), -1);
    assert_string_equal(err, "--tier nope: the policy has no such tier");
    c.tiers = twice;
    c.n_tiers = 2;
    assert_int_equal(sidecar_check(p, &c, &fetch, err, sizeof(err)), -1);
    policy_unref(p);
    argv_fini(&copies);
}

static void
test_modes_carried(void **state)
{
    static const char yaml_in[] =
        "version: 1\n"
        "listeners:\n"
        "  - {name: a, listen: \"127.0.0.1:1\", tiers: [t], mode: report}\n"
        "auth: {mode: basic, tokens_file: /etc/gw/tokens}\n"
        "tiers:\n"
        "  t: {domains: [a.example]}\n";
    struct policy *p, *g;
    struct argv copies;
    char *yaml;

    (void)state;
    p = test_load(yaml_in, "/tmp");
    argv_init(&copies);
    yaml = test_generate(p, NULL, 0, &copies);
    g = test_load(yaml, "/tmp");
    assert_int_equal(g->listeners[0].mode, LISTENER_REPORT);
    assert_int_equal(g->auth_mode, AUTH_BASIC);
    assert_string_equal(g->tokens_file, SIDECAR_TOKENS_FILE);
    assert_int_equal(g->n_listeners, 1);
    free(yaml);
    policy_unref(g);
    policy_unref(p);
    argv_fini(&copies);
}

/* domains_files are copied next to the generated policy and named
 * relative to it. */
static void
test_domains_files(void **state)
{
    char dir[] = "/tmp/sluice-test-sidecar.XXXXXX";
    char path[512], cfg[512], *yaml;
    struct sidecar_conf c = { .session = "s-1" };
    struct policy *p, *g;
    struct argv copies;
    FILE *f;
    char err[256];

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/extra.txt", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("# mirrors\nmirror.example\n*.cdn.example\n", f);
    fclose(f);
    p = test_load("version: 1\n"
                  "listeners: [{name: a, listen: \"127.0.0.1:1\", tiers: "
                  "[t]}]\n"
                  "tiers:\n"
                  "  t: {domains: [a.example], domains_files: [extra.txt]}\n",
                  dir);
    c.policy_dir = dir;
    argv_init(&copies);
    yaml = sidecar_policy_yaml(p, &c, &copies, err, sizeof(err));
    assert_non_null(yaml);
    assert_int_equal(copies.n, 2);
    assert_string_equal(copies.v[0], path);
    assert_string_equal(copies.v[1], "domains/0-0.txt");
    /* As launcher/run.c lays it out: config/policy.yaml, config/domains/. */
    snprintf(cfg, sizeof(cfg), "%s/config", dir);
    assert_int_equal(mkdir(cfg, 0755), 0);
    snprintf(cfg, sizeof(cfg), "%s/config/domains", dir);
    assert_int_equal(mkdir(cfg, 0755), 0);
    snprintf(cfg, sizeof(cfg), "%s/config/domains/0-0.txt", dir);
    assert_int_equal(link(path, cfg), 0);
    snprintf(cfg, sizeof(cfg), "%s/config", dir);
    g = test_load(yaml, cfg);
    assert_int_equal(g->tiers[0].n_domains_files, 1);
    assert_true(policy_check_host(g, &g->listeners[0], "x.cdn.example", 13, 443,
                                  &(struct decision){ 0 }) == REASON_ALLOWED);
    policy_unref(g);
    free(yaml);
    policy_unref(p);
    argv_fini(&copies);
    snprintf(cfg, sizeof(cfg), "%s/config/domains/0-0.txt", dir);
    unlink(cfg);
    snprintf(cfg, sizeof(cfg), "%s/config/domains", dir);
    rmdir(cfg);
    snprintf(cfg, sizeof(cfg), "%s/config", dir);
    rmdir(cfg);
    unlink(path);
    rmdir(dir);
}

/* No -c: the embedded default, generated and loaded again. */
static void
test_default_policy(void **state)
{
    struct config_error err;
    struct policy *p, *g;
    struct argv copies;
    char *yaml, *d1, *d2, *s1, *s2;

    (void)state;
    p = config_load_default(&err);
    assert_non_null(p);
    argv_init(&copies);
    yaml = test_generate(p, NULL, 0, &copies);
    g = test_load(yaml, NULL);
    assert_string_equal(g->listeners[0].listen, "0.0.0.0:3128");
    d1 = test_dump(p);
    d2 = test_dump(g);
    s1 = test_section(d1, "\n  \"tiers\": {", "\n  \"log\"");
    s2 = test_section(d2, "\n  \"tiers\": {", "\n  \"log\"");
    assert_string_equal(s1, s2);
    free(s1);
    free(s2);
    free(d1);
    free(d2);
    free(yaml);
    policy_unref(g);
    policy_unref(p);
    argv_fini(&copies);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_keeps_rules),
        cmocka_unit_test(test_replaced_parts),
        cmocka_unit_test(test_tier_option),
        cmocka_unit_test(test_modes_carried),
        cmocka_unit_test(test_domains_files),
        cmocka_unit_test(test_default_policy),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
