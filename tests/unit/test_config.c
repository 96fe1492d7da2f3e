/* tests/unit/test_config.c - the YAML policy loader, its error positions,
 * domains_files, sizes, the embedded default and the JSON dump
 * (policy/config.c, policy/default_policy.c). */
#include "config.h"
#include "tests/unit/test.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "policy/addr.h"
#include "policy/config.h"
#include "policy/domain.h"
#include "policy/policy.h"

/* Relative paths in test policies resolve against this directory. */
#define TEST_BASE_DIR "/tmp"
#define TEST_NAME "test.yaml"

static struct policy *
test_load(const char *yaml, struct config_error *err)
{
    return config_load_buffer(yaml, strlen(yaml), TEST_NAME, TEST_BASE_DIR,
                              err);
}

/* Loads <yaml>, failing the test with the loader's message if it is
 * refused. */
static struct policy *
test_load_ok(const char *yaml)
{
    struct config_error err;
    char msg[CONFIG_ERROR_MAX + 300];
    struct policy *p = test_load(yaml, &err);

    if (p == NULL) {
        config_error_format(&err, msg, sizeof(msg));
        fail_msg("policy refused: %s", msg);
    }
    return p;
}

/* Writes <len> bytes to a new file in /tmp; <path> gets its name. */
static void
test_write_temp(const char *data, size_t len, char path[64])
{
    int fd;

    snprintf(path, 64, "/tmp/sluice-test-XXXXXX");
    fd = mkstemp(path);
    if (fd == -1)
        fail_msg("mkstemp failed");
    if (len > 0 && write(fd, data, len) != (ssize_t)len)
        fail_msg("short write to %s", path);
    close(fd);
}

static const struct tier *
test_tier(const struct policy *p, const char *name)
{
    for (size_t i = 0; i < p->n_tiers; i++) {
        if (strcmp(p->tiers[i].name, name) == 0)
            return &p->tiers[i];
    }
    fail_msg("no tier %s", name);
    return NULL;
}

static bool
test_cidr_has(const struct cidr_set *set, const char *text)
{
    struct addr a;

    if (addr_parse_strict(text, &a) == -1)
        fail_msg("test setup: %s is not an address", text);
    return cidr_set_contains(set, &a);
}

/* ---- a full policy ----------------------------------------------------- */

static void
test_config_load_full_policy(void **state)
{
    char list[64], yaml[4096];
    const struct tier *core, *fetch;
    const struct listener_conf *l;
    const struct sockaddr_in *sin;
    const struct sockaddr_in6 *sin6;
    struct policy *p;
    static const char list_text[] = "listed.example.org\n"
                                    ".squid-form.example.net\n";

    (void)state;
    test_write_temp(list_text, sizeof(list_text) - 1, list);
    /* domains_files are given relative to TEST_BASE_DIR. */
    snprintf(
        yaml, sizeof(yaml),
        "version: 1\n"
        "listeners:\n"
        "  - name: agent\n"
        "    listen: 127.0.0.1:3128\n"
        "    tiers: [core]\n"
        "    session: null\n"
        "    mode: enforce\n"
        "  - name: fetch\n"
        "    listen: \"[::1]:0\"\n"
        "    tiers: [core, fetch]\n"
        "    session: sidecar-1\n"
        "    mode: report\n"
        "auth:\n"
        "  mode: basic\n"
        "  tokens_file: tokens.txt\n"
        "resolver:\n"
        "  servers: [\"10.0.0.53\", \"10.0.0.54:5353\", \"[fd00::53]:53\"]\n"
        "  timeout_ms: 1500\n"
        "network:\n"
        "  allow_ranges: [127.0.0.2/32]\n"
        "  deny_ranges: [203.0.0.0/16, \"2001:db9::/32\"]\n"
        "  ip_literals: allow\n"
        "tiers:\n"
        "  core:\n"
        "    domains: [github.com, \"*.github.com\", .githubusercontent.com,"
        " 192.0.2.7, 198.51.100.0/24]\n"
        "    domains_files: [%s]\n"
        "    ports: [443, 80, 443]\n"
        "  fetch:\n"
        "    domains: [\"*\"]\n"
        "    limits:\n"
        "      bytes_up: 5MiB\n"
        "      bytes_down: 200MiB\n"
        "      requests_per_minute: 60\n"
        "      bandwidth: 2MiB/s\n"
        "      connections: 8\n"
        "      alert_at: 80%%\n"
        "log:\n"
        "  access: /var/log/sluice/access.jsonl\n"
        "  events: /var/log/sluice/events.jsonl\n"
        "admin:\n"
        "  socket: /run/sluice.sock\n"
        "timeouts: {connect_ms: 1, header_ms: 2, idle_ms: 3,"
        " shutdown_grace_ms: 0}\n"
        "limits: {max_connections: 5, max_header_bytes: 64KiB}\n",
        list + strlen(TEST_BASE_DIR "/"));
    p = test_load_ok(yaml);
    unlink(list);

    assert_string_equal(p->path, TEST_NAME);
    assert_string_equal(p->sha256, "");
    assert_int_equal(p->refs, 1);

    /* listeners */
    assert_int_equal(p->n_listeners, 2);
    l = &p->listeners[0];
    assert_string_equal(l->name, "agent");
    assert_string_equal(l->listen, "127.0.0.1:3128");
    sin = (const struct sockaddr_in *)&l->addr;
    assert_int_equal(sin->sin_family, AF_INET);
    assert_int_equal(ntohs(sin->sin_port), 3128);
    assert_int_equal(ntohl(sin->sin_addr.s_addr), 0x7f000001);
    assert_int_equal(l->addrlen, sizeof(struct sockaddr_in));
    assert_int_equal(l->n_tiers, 1);
    assert_string_equal(p->tiers[l->tiers[0]].name, "core");
    assert_null(l->session);
    assert_int_equal(l->mode, LISTENER_ENFORCE);
    l = &p->listeners[1];
    assert_string_equal(l->name, "fetch");
    sin6 = (const struct sockaddr_in6 *)&l->addr;
    assert_int_equal(sin6->sin6_family, AF_INET6);
    assert_int_equal(ntohs(sin6->sin6_port), 0);
    assert_true(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));
    assert_int_equal(l->addrlen, sizeof(struct sockaddr_in6));
    assert_int_equal(l->n_tiers, 2);
    assert_string_equal(p->tiers[l->tiers[0]].name, "core");
    assert_string_equal(p->tiers[l->tiers[1]].name, "fetch");
    assert_string_equal(l->session, "sidecar-1");
    assert_int_equal(l->mode, LISTENER_REPORT);

    /* auth: a relative tokens_file follows the policy's directory */
    assert_int_equal(p->auth_mode, AUTH_BASIC);
    assert_string_equal(p->tokens_file, TEST_BASE_DIR "/tokens.txt");

    /* resolver */
    assert_int_equal(p->n_resolver_servers, 3);
    assert_string_equal(p->resolver_servers[0], "10.0.0.53");
    assert_string_equal(p->resolver_servers[1], "10.0.0.54:5353");
    assert_string_equal(p->resolver_servers[2], "[fd00::53]:53");
    assert_int_equal(p->resolver_timeout_ms, 1500);

    /* network */
    assert_int_equal(cidr_set_count(p->allow_ranges), 1);
    assert_true(test_cidr_has(p->allow_ranges, "127.0.0.2"));
    assert_false(test_cidr_has(p->allow_ranges, "127.0.0.3"));
    assert_int_equal(cidr_set_count(p->deny_ranges), 2);
    assert_true(test_cidr_has(p->deny_ranges, "203.0.200.1"));
    assert_true(test_cidr_has(p->deny_ranges, "2001:db9::1"));
    assert_true(p->ip_literals_allow);

    /* tiers, in file order */
    assert_int_equal(p->n_tiers, 2);
    core = &p->tiers[0];
    assert_string_equal(core->name, "core");
    assert_int_equal(core->n_patterns, 5);
    assert_string_equal(core->patterns[1], "*.github.com");
    assert_string_equal(core->patterns[3], "192.0.2.7");
    assert_int_equal(core->n_domains_files, 1);
    assert_string_equal(core->domains_files[0],
                        list + strlen(TEST_BASE_DIR "/"));
    assert_true(domain_set_match(core->domains, "github.com"));
    assert_true(domain_set_match(core->domains, "api.github.com"));
    assert_true(domain_set_match(core->domains, "githubusercontent.com"));
    assert_true(domain_set_match(core->domains, "listed.example.org"));
    assert_true(domain_set_match(core->domains, "squid-form.example.net"));
    assert_true(domain_set_match(core->domains, "a.squid-form.example.net"));
    assert_false(domain_set_match(core->domains, "gist.example.org"));
    /* IP patterns are literals, not DNS names */
    assert_false(domain_set_match(core->domains, "192.0.2.7"));
    assert_int_equal(cidr_set_count(core->literals), 2);
    assert_true(test_cidr_has(core->literals, "192.0.2.7"));
    assert_true(test_cidr_has(core->literals, "198.51.100.9"));
    assert_int_equal(core->n_ports, 2); /* sorted, duplicate dropped */
    assert_int_equal(core->ports[0], 80);
    assert_int_equal(core->ports[1], 443);
    assert_int_equal(core->limits.bytes_up, 0);
    assert_int_equal(core->limits.alert_at_pct, 0);

    fetch = &p->tiers[1];
    assert_string_equal(fetch->name, "fetch");
    assert_true(domain_set_match(fetch->domains, "anything.example"));
    assert_int_equal(fetch->n_ports, 2); /* default: 80 and 443 */
    assert_int_equal(fetch->ports[0], 80);
    assert_int_equal(fetch->ports[1], 443);
    assert_int_equal(fetch->limits.bytes_up, 5 * 1024 * 1024);
    assert_int_equal(fetch->limits.bytes_down, 200 * 1024 * 1024);
    assert_int_equal(fetch->limits.requests_per_minute, 60);
    assert_int_equal(fetch->limits.bandwidth_bps, 2 * 1024 * 1024);
    assert_int_equal(fetch->limits.connections, 8);
    assert_int_equal(fetch->limits.alert_at_pct, 80);

    /* the rest */
    assert_string_equal(p->log_access, "/var/log/sluice/access.jsonl");
    assert_string_equal(p->log_events, "/var/log/sluice/events.jsonl");
    assert_string_equal(p->admin_socket, "/run/sluice.sock");
    assert_int_equal(p->connect_timeout_ms, 1);
    assert_int_equal(p->header_timeout_ms, 2);
    assert_int_equal(p->idle_timeout_ms, 3);
    assert_int_equal(p->shutdown_grace_ms, 0);
    assert_int_equal(p->max_connections, 5);
    assert_int_equal(p->max_header_bytes, 64 * 1024);
    policy_unref(p);
}

/* Everything optional left out: the defaults of policy-t.h. */
static void
test_config_load_minimal_defaults(void **state)
{
    struct policy *p;

    (void)state;
    p = test_load_ok("version: 1\n"
                     "tiers: {web: {domains: [example.com]}}\n"
                     "listeners: [{name: a, listen: '0.0.0.0:8080',"
                     " tiers: [web]}]\n"
                     "auth:\n"
                     "network:\n"
                     "  ip_literals: deny\n");
    assert_int_equal(p->auth_mode, AUTH_NONE);
    assert_null(p->tokens_file);
    assert_int_equal(p->n_resolver_servers, 0);
    assert_int_equal(p->resolver_timeout_ms,
                     POLICY_DEFAULT_RESOLVER_TIMEOUT_MS);
    assert_int_equal(cidr_set_count(p->allow_ranges), 0);
    assert_int_equal(cidr_set_count(p->deny_ranges), 0);
    assert_false(p->ip_literals_allow);
    assert_string_equal(p->log_access, "-");
    assert_string_equal(p->log_events, "-");
    assert_null(p->admin_socket);
    assert_int_equal(p->connect_timeout_ms, POLICY_DEFAULT_CONNECT_TIMEOUT_MS);
    assert_int_equal(p->header_timeout_ms, POLICY_DEFAULT_HEADER_TIMEOUT_MS);
    assert_int_equal(p->idle_timeout_ms, POLICY_DEFAULT_IDLE_TIMEOUT_MS);
    assert_int_equal(p->shutdown_grace_ms, POLICY_DEFAULT_SHUTDOWN_GRACE_MS);
    assert_int_equal(p->max_connections, POLICY_DEFAULT_MAX_CONNECTIONS);
    assert_int_equal(p->max_header_bytes, POLICY_DEFAULT_MAX_HEADER_BYTES);
    assert_int_equal(p->listeners[0].mode, LISTENER_ENFORCE);
    assert_null(p->listeners[0].session);
    assert_int_equal(p->tiers[0].n_ports, 2);
    policy_unref(p);
}

/* ---- the embedded default ---------------------------------------------- */

static void
test_config_load_default_policy(void **state)
{
    static const struct {
        const char *host;
        bool want;
    } hosts[] = {
        { "github.com", true },
        { "api.github.com", true },
        { "codeload.github.com", true },
        { "raw.githubusercontent.com", true },
        { "ghcr.io", true },
        { "registry.npmjs.org", true },
        { "registry.yarnpkg.com", true },
        { "pypi.org", true },
        { "files.pythonhosted.org", true },
        { "crates.io", true },
        { "index.crates.io", true },
        { "static.crates.io", true },
        { "proxy.golang.org", true },
        { "sum.golang.org", true },
        { "deb.debian.org", true },
        { "security.debian.org", true },
        { "archive.ubuntu.com", true },
        { "us.archive.ubuntu.com", true },
        { "security.ubuntu.com", true },
        { "ports.ubuntu.com", true },
        { "registry-1.docker.io", true },
        { "auth.docker.io", true },
        { "production.cloudflare.docker.com", true },
        /* broad shared hosting stays out */
        { "storage.googleapis.com", false },
        { "s3.amazonaws.com", false },
        { "example.com", false },
        { "evilgithub.com", false },
        { "github.com.evil.example", false },
        { "docker.io", false },
    };
    struct config_error err;
    const struct sockaddr_in *sin;
    const struct tier *core;
    struct policy *p;

    (void)state;
    p = config_load_default(&err);
    if (p == NULL)
        fail_msg("default refused: %u:%u: %s", err.line, err.col, err.msg);
    assert_null(p->path);
    assert_int_equal(p->n_listeners, 1);
    assert_string_equal(p->listeners[0].name, "default");
    assert_string_equal(p->listeners[0].listen, "127.0.0.1:3128");
    sin = (const struct sockaddr_in *)&p->listeners[0].addr;
    assert_int_equal(sin->sin_family, AF_INET);
    assert_int_equal(ntohs(sin->sin_port), 3128);
    assert_int_equal(ntohl(sin->sin_addr.s_addr), 0x7f000001);
    assert_int_equal(p->listeners[0].mode, LISTENER_ENFORCE);
    assert_int_equal(p->n_tiers, 1);
    core = test_tier(p, "core");
    assert_int_equal(core->n_ports, 2);
    assert_int_equal(core->ports[0], 80);
    assert_int_equal(core->ports[1], 443);
    assert_int_equal(cidr_set_count(core->literals), 0);
    assert_false(p->ip_literals_allow);
    assert_int_equal(p->auth_mode, AUTH_NONE);
    assert_string_equal(p->log_access, "-");
    assert_null(p->admin_socket);
    for (size_t i = 0; i < ARRAY_LEN(hosts); i++) {
        if (domain_set_match(core->domains, hosts[i].host) != hosts[i].want)
            fail_msg("default policy: %s: want %d", hosts[i].host,
                     hosts[i].want);
    }
    policy_unref(p);
}

/* ---- error positions --------------------------------------------------- */

/* A valid base, line by line; cases append to it or replace a part. */
#define V1 "version: 1\n"                                      /* line 1 */
#define T_CORE "tiers:\n  core:\n    domains: [example.com]\n" /* 2-4 */
#define L_A                                                                    \
    "listeners:\n  - name: a\n    listen: 127.0.0.1:3128\n"                    \
    "    tiers: [core]\n"                  /* 5-8 */
#define L_HEAD "listeners:\n  - name: a\n" /* 5-6 */

static void
test_config_error_positions(void **state)
{
    static const struct {
        const char *yaml;
        unsigned line, col;
        const char *msg;
    } cases[] = {
        /* unknown keys, at every level */
        { V1 T_CORE L_A "bogus: 1\n", 9, 1, "unknown key 'bogus'" },
        { V1 T_CORE L_A "network:\n  allow: []\n", 10, 3,
          "network: unknown key 'allow'" },
        { V1 T_CORE L_A "    port: 3128\n", 9, 5,
          "listeners[0]: unknown key 'port'" },
        { V1 "tiers:\n  core:\n    limits: {bytes: 5}\n" L_A, 4, 14,
          "tiers.core.limits: unknown key 'bytes'" },
        /* wrong types */
        { V1 T_CORE "listeners: {a: 1}\n", 5, 12, "must be a list" },
        { V1 "tiers: [core]\n" L_A, 2, 8, "must be a mapping" },
        { V1 T_CORE L_A "auth: none\n", 9, 7, "auth: must be a mapping" },
        { V1 "tiers:\n  core:\n    domains: {a: b}\n" L_A, 4, 14,
          "must be a list" },
        { V1 T_CORE L_A "log: {access: [a]}\n", 9, 15,
          "log.access: must be a string, not a list" },
        { V1 T_CORE L_A "log: {access: \"\"}\n", 9, 15, "must not be empty" },
        { V1 T_CORE L_A "log: {access: \"a\\0b\"}\n", 9, 15, "NUL byte" },
        { "version: \"1\"\n" T_CORE L_A, 1, 10, "not a quoted string" },
        { "version: 2\n" T_CORE L_A, 1, 10, "unsupported version 2" },
        { V1 T_CORE L_A "timeouts: {connect_ms: 0}\n", 9, 24,
          "timeouts.connect_ms: must be at least 1" },
        { V1 T_CORE L_A "timeouts: {idle_ms: -5}\n", 9, 21,
          "not a decimal integer" },
        { V1 T_CORE L_A "timeouts: {idle_ms: 010}\n", 9, 21,
          "not a decimal integer" },
        { V1 T_CORE L_A "timeouts: {idle_ms: 4294967296}\n", 9, 21,
          "at most 4294967295" },
        { V1 T_CORE L_A "limits: {max_header_bytes: 512}\n", 9, 28,
          "at least 1024" },
        /* sizes, rates, percentages */
        { V1 "tiers:\n  core:\n    limits: {bytes_up: 5XB}\n" L_A, 4, 24,
          "unknown unit" },
        { V1 "tiers:\n  core:\n    limits: {bandwidth: 5MiB}\n" L_A, 4, 25,
          "not a rate" },
        { V1 "tiers:\n  core:\n    limits: {alert_at: 101%}\n" L_A, 4, 24,
          "at most 100" },
        { V1 "tiers:\n  core:\n    limits: {alert_at: 80}\n" L_A, 4, 24,
          "not a percentage" },
        { V1 "tiers:\n  core:\n    limits: {connections: 0}\n" L_A, 4, 27,
          "at least 1" },
        /* CIDRs and patterns */
        { V1 T_CORE L_A "network:\n  deny_ranges: [10.0.0.1/8]\n", 10, 17,
          "not a valid CIDR" },
        { V1 T_CORE L_A "network:\n  allow_ranges: [\"10.0.0.0/33\"]\n", 10, 18,
          "not a valid CIDR" },
        { V1 T_CORE L_A "network:\n  ip_literals: maybe\n", 10, 16,
          "expected deny or allow" },
        { V1 "tiers:\n  core:\n    domains: [\"exa mple.com\"]\n" L_A, 4, 15,
          "not a valid domain pattern" },
        { V1 "tiers:\n  core:\n    domains: [ok.com, \"*foo.com\"]\n" L_A, 4,
          23, "domains[1]: '*foo.com' is not a valid domain pattern" },
        { V1 "tiers:\n  core:\n    domains: [\"127.1\"]\n" L_A, 4, 15,
          "short or numeric form" },
        { V1 "tiers:\n  core:\n    domains: [\"10.0.0.1/8\"]\n" L_A, 4, 15,
          "not a valid IP address or CIDR" },
        /* ports */
        { V1 "tiers:\n  core:\n    ports: []\n" L_A, 4, 12,
          "at least one port" },
        { V1 "tiers:\n  core:\n    ports: [443, 0]\n" L_A, 4, 18,
          "ports[1]: must be at least 1" },
        { V1 "tiers:\n  core:\n    ports: [65536]\n" L_A, 4, 13,
          "at most 65535, not 65536" },
        { V1 "tiers:\n  core:\n    ports: [\"80\"]\n" L_A, 4, 13,
          "not a quoted string" },
        /* listen addresses */
        { V1 T_CORE L_HEAD "    listen: localhost:3128\n    tiers: [core]\n", 7,
          13, "not a numeric IPv4 address" },
        { V1 T_CORE L_HEAD "    listen: 127.0.0.1\n    tiers: [core]\n", 7, 13,
          "has no port" },
        { V1 T_CORE L_HEAD "    listen: 127.0.0.1:70000\n    tiers: [core]\n",
          7, 13, "bad port" },
        { V1 T_CORE L_HEAD "    listen: \"[::1:3128\"\n    tiers: [core]\n", 7,
          13, "without ']'" },
        { V1 T_CORE L_HEAD "    listen: \"::1\"\n    tiers: [core]\n", 7, 13,
          "has no port" },
        { V1 T_CORE L_HEAD
          "    listen: \"[127.0.0.1]:80\"\n    tiers: [core]\n",
          7, 13, "not a numeric IPv6 address" },
        { V1 T_CORE L_A "resolver:\n  servers: [\"1.1.1.1:0\"]\n", 10, 13,
          "port 0" },
        { V1 T_CORE L_A "resolver:\n  servers: [dns.google]\n", 10, 13,
          "not a numeric IPv4" },
        /* duplicates */
        { V1 T_CORE L_A "  - name: a\n    listen: 127.0.0.1:3129\n"
                        "    tiers: [core]\n",
          9, 11, "duplicate listener name 'a'" },
        { V1 T_CORE L_A "  - name: b\n    listen: 127.0.0.1:3128\n"
                        "    tiers: [core]\n",
          10, 13, "already the address of listener 'a'" },
        { V1 T_CORE "  core:\n    domains: []\n" L_A, 5, 3,
          "duplicate tier 'core'" },
        { V1 T_CORE L_A "version: 1\n", 9, 1,
          "duplicate key 'version' (first at line 1)" },
        { V1 T_CORE L_A "    name: b\n", 9, 5, "duplicate key 'name'" },
        { V1 "tiers:\n  core:\n    ports: [80]\n    ports: [443]\n" L_A, 5, 5,
          "tiers.core: duplicate key 'ports'" },
        /* names and references */
        { V1 T_CORE L_HEAD "    listen: 127.0.0.1:1\n    tiers: [core, web]\n",
          8, 19, "listeners[0].tiers[1]: unknown tier 'web'" },
        { V1 T_CORE L_HEAD "    listen: 127.0.0.1:1\n    tiers: [core, core]\n",
          8, 19, "listed twice" },
        { V1 T_CORE L_HEAD "    listen: 127.0.0.1:1\n    tiers: []\n", 8, 12,
          "at least one tier" },
        { V1 "tiers:\n  \"co re\": {}\n" L_A, 3, 3, "not a valid name" },
        { V1 T_CORE L_A "    session: \"a/b\"\n", 9, 14, "not a valid name" },
        { V1 T_CORE L_A "    mode: enforcing\n", 9, 11,
          "expected enforce or report" },
        /* missing required keys: at the mapping that lacks them */
        { T_CORE L_A, 1, 1, "missing required key 'version'" },
        { V1 T_CORE, 1, 1, "missing required key 'listeners'" },
        { V1 T_CORE L_HEAD "    tiers: [core]\n", 6, 5,
          "listeners[0]: missing required key 'listen'" },
        { V1 T_CORE "listeners: []\n", 5, 12, "at least one listener" },
        { V1 T_CORE L_A "auth:\n  mode: basic\n", 10, 3,
          "mode basic needs a tokens_file" },
        { "", 1, 1, "the policy is empty" },
        { "- a\n", 1, 1, "the policy: must be a mapping, not a list" },
        /* YAML itself */
        { V1 "tiers: [core\n", 3, 1,
          "flow sequence that starts at line 2, column 8" },
        { V1 "  bad: indent\n", 2, 6, "YAML syntax error" },
        { V1 T_CORE L_A "log: &x {access: a}\n", 9, 6, "anchors" },
        { V1 T_CORE L_A "log: {access: &a x}\n", 9, 15, "anchors" },
        { V1 T_CORE L_A "log: *x\n", 9, 6, "aliases" },
        { V1 T_CORE L_A "---\nversion: 1\n", 9, 1, "one YAML document" },
        { V1 T_CORE L_A "# caf\xff\n", 9, 6, "not UTF-8" },
        { V1 T_CORE L_A "deep: [[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]\n", 9,
          22, "nested too deeply" },
    };
    struct config_error err;

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct policy *p = test_load(cases[i].yaml, &err);

        if (p != NULL) {
            policy_unref(p);
            fail_msg("case %zu (%s): loaded, want an error", i, cases[i].msg);
        }
        if (strcmp(err.file, TEST_NAME) != 0 || err.line != cases[i].line ||
            err.col != cases[i].col || strstr(err.msg, cases[i].msg) == NULL)
            fail_msg("case %zu: got %s:%u:%u: %s; want %u:%u: ...%s...", i,
                     err.file, err.line, err.col, err.msg, cases[i].line,
                     cases[i].col, cases[i].msg);
    }
}

static void
test_config_error_format(void **state)
{
    struct config_error err = { .file = "p.yaml", .line = 3, .col = 7 };
    char out[CONFIG_ERROR_MAX + 300];

    (void)state;
    snprintf(err.msg, sizeof(err.msg), "bad thing");
    config_error_format(&err, out, sizeof(out));
    assert_string_equal(out, "p.yaml:3:7: bad thing");
    err.line = 0;
    err.col = 0;
    config_error_format(&err, out, sizeof(out));
    assert_string_equal(out, "p.yaml: bad thing");
    config_error_format(&err, out, 4); /* truncates, stays terminated */
    assert_string_equal(out, "p.y");
}

/* ---- domains_files ----------------------------------------------------- */

static void
test_config_domains_files(void **state)
{
    static const char good[] = "# a Squid dstdomain list\n"
                               "\n"
                               "exact.example.com\n"
                               "  .dotted.example.org   # apex and below\n"
                               "\t*.star.example.net\r\n"
                               "10.9.0.0/16\n"
                               "# trailing comment, no newline at the end\n"
                               "last.example";
    static const char bad[] = "ok.example.com\n"
                              "# fine\n"
                              "   bad_pattern!.com\n";
    char good_path[64], bad_path[64], yaml[1024];
    struct config_error err;
    const struct tier *t;
    struct policy *p;

    (void)state;
    test_write_temp(good, sizeof(good) - 1, good_path);
    test_write_temp(bad, sizeof(bad) - 1, bad_path);

    /* an absolute path */
    snprintf(yaml, sizeof(yaml),
             V1 "tiers:\n  core:\n    domains_files: [%s]\n" L_A, good_path);
    p = test_load_ok(yaml);
    t = &p->tiers[0];
    assert_int_equal(t->n_patterns, 0);
    assert_int_equal(t->n_domains_files, 1);
    assert_string_equal(t->domains_files[0], good_path);
    assert_true(domain_set_match(t->domains, "exact.example.com"));
    assert_false(domain_set_match(t->domains, "a.exact.example.com"));
    assert_true(domain_set_match(t->domains, "dotted.example.org"));
    assert_true(domain_set_match(t->domains, "x.y.dotted.example.org"));
    assert_true(domain_set_match(t->domains, "a.star.example.net"));
    assert_false(domain_set_match(t->domains, "star.example.net"));
    assert_true(domain_set_match(t->domains, "last.example"));
    assert_false(domain_set_match(t->domains, "comment"));
    assert_int_equal(domain_set_count(t->domains), 4);
    assert_true(test_cidr_has(t->literals, "10.9.8.7"));
    policy_unref(p);

    /* a bad line: the list file's own name, line and column */
    snprintf(yaml, sizeof(yaml),
             V1 "tiers:\n  core:\n    domains_files: [%s, %s]\n" L_A, good_path,
             bad_path + strlen(TEST_BASE_DIR "/"));
    p = test_load(yaml, &err);
    assert_null(p);
    assert_string_equal(err.file, bad_path);
    assert_int_equal(err.line, 3);
    assert_int_equal(err.col, 4);
    assert_non_null(strstr(err.msg, "'bad_pattern!.com'"));

    /* a missing file: at the entry in the policy */
    snprintf(yaml, sizeof(yaml),
             V1 "tiers:\n  core:\n    domains_files: [%s, nope.txt]\n" L_A,
             good_path);
    p = test_load(yaml, &err);
    assert_null(p);
    assert_string_equal(err.file, TEST_NAME);
    assert_int_equal(err.line, 4);
    assert_int_equal(err.col, 21 + (unsigned)strlen(good_path) + 2);
    assert_non_null(strstr(err.msg, "'/tmp/nope.txt'"));

    unlink(good_path);
    unlink(bad_path);
}

/* ---- the 1 MiB cap ----------------------------------------------------- */

/* A valid policy padded with comments to exactly <size> bytes. */
static char *
test_padded_policy(size_t size)
{
    static const char head[] = V1 T_CORE L_A;
    char *buf = malloc(size + 1);

    if (buf == NULL)
        fail_msg("out of memory");
    memset(buf, '#', size);
    memcpy(buf, head, sizeof(head) - 1);
    for (size_t i = sizeof(head) - 1 + 80; i < size; i += 80)
        buf[i] = '\n';
    buf[size - 1] = '\n';
    buf[size] = '\0';
    return buf;
}

static void
test_config_size_cap(void **state)
{
    char path[64], list_path[64], yaml[512];
    struct config_error err;
    struct policy *p;
    char *text;

    (void)state;
    /* exactly 1 MiB is fine, one byte more is not */
    text = test_padded_policy(CONFIG_FILE_MAX_BYTES);
    test_write_temp(text, CONFIG_FILE_MAX_BYTES, path);
    p = config_load_file(path, &err);
    if (p == NULL)
        fail_msg("1 MiB policy refused: %s", err.msg);
    assert_string_equal(p->path, path);
    policy_unref(p);
    unlink(path);
    free(text);

    text = test_padded_policy(CONFIG_FILE_MAX_BYTES + 1);
    test_write_temp(text, CONFIG_FILE_MAX_BYTES + 1, path);
    p = config_load_file(path, &err);
    assert_null(p);
    assert_string_equal(err.file, path);
    assert_int_equal(err.line, 0);
    assert_non_null(strstr(err.msg, "larger than 1 MiB"));
    unlink(path);

    p = config_load_buffer(text, CONFIG_FILE_MAX_BYTES + 1, NULL, NULL, &err);
    assert_null(p);
    assert_string_equal(err.file, "<embedded>");
    assert_non_null(strstr(err.msg, "larger than 1 MiB"));

    /* a domains file over the cap, reported where the policy names it */
    test_write_temp(text, CONFIG_FILE_MAX_BYTES + 1, list_path);
    snprintf(yaml, sizeof(yaml),
             V1 "tiers:\n  core:\n    domains_files: [%s]\n" L_A, list_path);
    p = test_load(yaml, &err);
    assert_null(p);
    assert_string_equal(err.file, TEST_NAME);
    assert_int_equal(err.line, 4);
    assert_int_equal(err.col, 21);
    assert_non_null(strstr(err.msg, "larger than 1 MiB"));
    unlink(list_path);
    free(text);

    /* a file that cannot be read */
    p = config_load_file("/nonexistent/sluice.yaml", &err);
    assert_null(p);
    assert_string_equal(err.file, "/nonexistent/sluice.yaml");
    assert_non_null(strstr(err.msg, "cannot read"));
}

/* A policy file's relative domains_files follow the file, not the cwd. */
static void
test_config_load_file_base_dir(void **state)
{
    static const char list[] = "relative.example\n";
    char dir[] = "/tmp/sluice-test-dir-XXXXXX";
    char path[128], list_path[128], yaml[512];
    struct config_error err;
    struct policy *p;
    FILE *f;

    (void)state;
    if (mkdtemp(dir) == NULL)
        fail_msg("mkdtemp failed");
    snprintf(path, sizeof(path), "%s/policy.yaml", dir);
    snprintf(list_path, sizeof(list_path), "%s/list.txt", dir);
    snprintf(yaml, sizeof(yaml),
             V1 "tiers:\n  core:\n    domains_files: [list.txt]\n" L_A);
    f = fopen(list_path, "w");
    assert_non_null(f);
    fputs(list, f);
    fclose(f);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(yaml, f);
    fclose(f);
    p = config_load_file(path, &err);
    if (p == NULL)
        fail_msg("refused: %s:%u:%u: %s", err.file, err.line, err.col, err.msg);
    assert_true(domain_set_match(p->tiers[0].domains, "relative.example"));
    policy_unref(p);
    unlink(list_path);
    unlink(path);
    rmdir(dir);
}

/* ---- sizes ------------------------------------------------------------- */

static void
test_config_sizes(void **state)
{
    static const struct {
        const char *text;
        uint64_t want; /* 0: refused */
        const char *msg;
    } cases[] = {
        { "5MiB", UINT64_C(5) << 20, NULL },
        { "1KB", 1000, NULL },
        { "1kB", 1000, NULL },
        { "1KiB", 1024, NULL },
        { "512", 512, NULL },
        { "512B", 512, NULL },
        { "2 GiB", UINT64_C(2) << 30, NULL },
        { "3GB", UINT64_C(3000000000), NULL },
        { "1TiB", UINT64_C(1) << 40, NULL },
        { "7TB", UINT64_C(7000000000000), NULL },
        { "18446744073709551615", UINT64_MAX, NULL },
        { "16777215TiB", UINT64_C(16777215) << 40, NULL },
        { "0", 0, "at least 1" },
        { "0MiB", 0, "at least 1" },
        { "18446744073709551616", 0, "too large" },
        { "16777216TiB", 0, "too large" },
        { "5XB", 0, "unknown unit" },
        { "5mib", 0, "unknown unit" },
        { "1.5MiB", 0, "unknown unit" },
        { "5 MiB/s", 0, "unknown unit" },
        { "MiB", 0, "not a size" },
        { "-1", 0, "not a size" },
        { "\"\"", 0, "not a size" },
        { "[1]", 0, "must be a string, not a list" },
    };
    char yaml[512];
    struct config_error err;

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct policy *p;

        snprintf(yaml, sizeof(yaml),
                 V1 "tiers:\n  core:\n    limits: {bytes_down: %s}\n" L_A,
                 cases[i].text);
        p = test_load(yaml, &err);
        if (cases[i].msg == NULL) {
            if (p == NULL)
                fail_msg("size %zu (%s): refused: %s", i, cases[i].text,
                         err.msg);
            if (p->tiers[0].limits.bytes_down != cases[i].want)
                fail_msg("size %zu (%s): got %" PRIu64, i, cases[i].text,
                         p->tiers[0].limits.bytes_down);
            policy_unref(p);
            continue;
        }
        if (p != NULL) {
            policy_unref(p);
            fail_msg("size %zu (%s): accepted", i, cases[i].text);
        }
        if (err.line != 4 || err.col != 26 ||
            strstr(err.msg, cases[i].msg) == NULL)
            fail_msg("size %zu (%s): got %u:%u: %s", i, cases[i].text, err.line,
                     err.col, err.msg);
    }
}

static void
test_config_rates_and_percents(void **state)
{
    struct policy *p;

    (void)state;
    p = test_load_ok(V1 "tiers:\n  core:\n    limits: {bandwidth: 10KB/s,"
                        " alert_at: 100%, requests_per_minute: ~}\n" L_A);
    assert_int_equal(p->tiers[0].limits.bandwidth_bps, 10000);
    assert_int_equal(p->tiers[0].limits.alert_at_pct, 100);
    assert_int_equal(p->tiers[0].limits.requests_per_minute, 0);
    policy_unref(p);
    p = test_load_ok(V1 "tiers:\n  core:\n    limits: {alert_at: 1%}\n" L_A
                        "limits: {max_header_bytes: 1MiB}\n");
    assert_int_equal(p->tiers[0].limits.alert_at_pct, 1);
    assert_int_equal(p->max_header_bytes, 1024 * 1024);
    policy_unref(p);
}

/* ---- JSON dump --------------------------------------------------------- */

/* A strict recursive-descent JSON checker (RFC 8259), enough to know that
 * the dump parses. Returns the end of the value at <s>, or NULL. */
static const char *test_json_value(const char *s, int depth);

static const char *
test_json_ws(const char *s)
{
    while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')
        s++;
    return s;
}

static const char *
test_json_string(const char *s)
{
    if (*s++ != '"')
        return NULL;
    for (; *s != '"'; s++) {
        if ((unsigned char)*s < 0x20)
            return NULL;
        if (*s != '\\')
            continue;
        s++;
        if (*s == 'u') {
            for (int i = 1; i <= 4; i++) {
                if (strchr("0123456789abcdefABCDEF", s[i]) == NULL ||
                    s[i] == '\0')
                    return NULL;
            }
            s += 4;
        } else if (*s == '\0' || strchr("\"\\/bfnrt", *s) == NULL) {
            return NULL;
        }
    }
    return s + 1;
}

static const char *
test_json_value(const char *s, int depth)
{
    static const char *const words[] = { "true", "false", "null" };

    if (depth > 32)
        return NULL;
    s = test_json_ws(s);
    if (*s == '"')
        return test_json_string(s);
    if (*s == '{' || *s == '[') {
        char close = *s == '{' ? '}' : ']';

        s = test_json_ws(s + 1);
        if (*s == close)
            return s + 1;
        for (;;) {
            if (close == '}') {
                s = test_json_string(test_json_ws(s));
                if (s == NULL)
                    return NULL;
                s = test_json_ws(s);
                if (*s++ != ':')
                    return NULL;
            }
            s = test_json_value(s, depth + 1);
            if (s == NULL)
                return NULL;
            s = test_json_ws(s);
            if (*s == close)
                return s + 1;
            if (*s++ != ',')
                return NULL;
        }
    }
    if (*s == '-' || (*s >= '0' && *s <= '9')) {
        const char *start = s;

        s += *s == '-';
        if (*s == '0' && s[1] >= '0' && s[1] <= '9')
            return NULL;
        while (*s >= '0' && *s <= '9')
            s++;
        return s > start ? s : NULL;
    }
    for (size_t i = 0; i < ARRAY_LEN(words); i++) {
        if (strncmp(s, words[i], strlen(words[i])) == 0)
            return s + strlen(words[i]);
    }
    return NULL;
}

/* Dumps <p> into a new string, checking that it is one JSON value. */
static char *
test_dump(const struct policy *p)
{
    char *buf = NULL;
    size_t len = 0;
    const char *end;
    FILE *f = open_memstream(&buf, &len);

    assert_non_null(f);
    assert_int_equal(config_dump_json(p, f), 0);
    fclose(f);
    end = test_json_value(buf, 0);
    if (end == NULL || *test_json_ws(end) != '\0')
        fail_msg("dump is not one JSON value:\n%s", buf);
    return buf;
}

static void
test_config_dump_json(void **state)
{
    static const char *const default_keys[] = {
        "\"version\": 1",
        "\"path\": null",
        "\"name\": \"default\"",
        "\"listen\": \"127.0.0.1:3128\"",
        "\"tiers\": [\"core\"]",
        "\"session\": null",
        "\"mode\": \"enforce\"",
        "\"auth\": {\n    \"mode\": \"none\",\n    \"tokens_file\": null",
        "\"servers\": []",
        "\"timeout_ms\": 2000",
        "\"allow_ranges\": []",
        "\"builtin_deny_ranges\": [",
        "\"169.254.0.0/16\"",
        "\"fe80::/10\"",
        "\"metadata_endpoints\": [",
        "\"169.254.169.254\"",
        "\"ip_literals\": \"deny\"",
        "\"core\": {",
        "\".github.com\"",
        "\"ports\": [80, 443]",
        "\"bytes_up\": null",
        "\"access\": \"-\"",
        "\"socket\": null",
        "\"connect_ms\": 10000",
        "\"shutdown_grace_ms\": 10000",
        "\"max_header_bytes\": 32768",
    };
    static const char *const custom_keys[] = {
        "\"path\": \"we\\\"ird\\\\name\\n.yaml\"",
        "\"access\": \"/tmp/a\\tb\\u0001\"",
        "\"bytes_up\": 5242880",
        "\"bandwidth_bytes_per_second\": 2000",
        "\"alert_at_percent\": 80",
        "\"connections\": null",
        "\"ip_patterns\": [\n        \"192.0.2.0/24\"\n      ]",
        "\"deny_ranges\": [\n      \"203.0.0.0/16\"\n    ]",
        "\"tiers\": [\"core\", \"web\"]",
        "\"mode\": \"report\"",
        "\"session\": \"s-1\"",
        "\"tokens_file\": \"/etc/tokens\"",
        "\"dns_patterns\": 2",
        "\"sha256\": \"abc\"",
    };
    static const char custom[] =
        V1 "tiers:\n"
           "  core:\n"
           "    domains: [a.example, .b.example, 192.0.2.0/24]\n"
           "    limits: {bytes_up: 5MiB, bandwidth: 2KB/s, alert_at: 80%}\n"
           "  web: {domains: [\"*\"]}\n"
           "listeners:\n"
           "  - {name: a, listen: '127.0.0.1:0', tiers: [core, web],"
           " mode: report, session: s-1}\n"
           "auth: {mode: basic, tokens_file: /etc/tokens}\n"
           "network: {deny_ranges: [203.0.0.0/16]}\n"
           "log: {access: \"/tmp/a\\tb\\x01\"}\n";
    struct config_error err;
    struct policy *p;
    char *out;

    (void)state;
    p = config_load_default(&err);
    assert_non_null(p);
    out = test_dump(p);
    for (size_t i = 0; i < ARRAY_LEN(default_keys); i++) {
        if (strstr(out, default_keys[i]) == NULL)
            fail_msg("default dump lacks %s:\n%s", default_keys[i], out);
    }
    free(out);
    policy_unref(p);

    p = config_load_buffer(custom, sizeof(custom) - 1, "we\"ird\\name\n.yaml",
                           NULL, &err);
    if (p == NULL)
        fail_msg("custom refused: %u:%u: %s", err.line, err.col, err.msg);
    memcpy(p->sha256, "abc", 4); /* the proxy's job; shown when set */
    out = test_dump(p);
    for (size_t i = 0; i < ARRAY_LEN(custom_keys); i++) {
        if (strstr(out, custom_keys[i]) == NULL)
            fail_msg("custom dump lacks %s:\n%s", custom_keys[i], out);
    }
    free(out);
    policy_unref(p);
}

/* A write error must be reported, not swallowed. */
static void
test_config_dump_json_write_error(void **state)
{
    struct config_error err;
    struct policy *p;
    FILE *f;

    (void)state;
    f = fopen("/dev/full", "w");
    if (f == NULL)
        skip();
    p = config_load_default(&err);
    assert_non_null(p);
    assert_int_equal(config_dump_json(p, f), -1);
    fclose(f);
    policy_unref(p);
}

/* Where relative domains_files are found (and the launcher copies them
 * from): the policy path's own directory, "/" at the root. */
static void
test_config_base_dir(void **state)
{
    char buf[64];

    (void)state;
    assert_string_equal(config_base_dir("/etc/sluice/p.yaml", buf, sizeof(buf)),
                        "/etc/sluice");
    assert_string_equal(config_base_dir("/p.yaml", buf, sizeof(buf)), "/");
    assert_string_equal(config_base_dir("conf/p.yaml", buf, sizeof(buf)),
                        "conf");
    assert_null(config_base_dir("p.yaml", buf, sizeof(buf)));
    assert_null(config_base_dir("/a-very-long-directory/p.yaml", buf, 8));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_load_full_policy),
        cmocka_unit_test(test_config_load_minimal_defaults),
        cmocka_unit_test(test_config_load_default_policy),
        cmocka_unit_test(test_config_error_positions),
        cmocka_unit_test(test_config_error_format),
        cmocka_unit_test(test_config_domains_files),
        cmocka_unit_test(test_config_size_cap),
        cmocka_unit_test(test_config_load_file_base_dir),
        cmocka_unit_test(test_config_sizes),
        cmocka_unit_test(test_config_rates_and_percents),
        cmocka_unit_test(test_config_dump_json),
        cmocka_unit_test(test_config_dump_json_write_error),
        cmocka_unit_test(test_config_base_dir),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
