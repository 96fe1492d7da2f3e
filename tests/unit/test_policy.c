/* tests/unit/test_policy.c - the decision order of SPEC section 3, steps
 * 1-3 and 5 (policy/policy.c), on policies built by hand. */
#include "config.h"
#include "tests/unit/test.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "policy/config.h"
#include "policy/policy.h"

/* policy_unref() hands the last reference to config.c; here the test
 * stands in for it, so the hand-built snapshot is counted, not freed. */
static unsigned test_policy_frees;

void
config_policy_free(struct policy *p)
{
    (void)p;
    test_policy_frees++;
}

enum {
    TIER_CORE,
    TIER_FETCH,
    TIER_SSH,
    TIER_COUNT,
};

/* Listeners, by index into fixture->listeners. */
enum {
    L_AGENT,  /* core */
    L_FETCH,  /* core, fetch */
    L_SSH,    /* ssh, core */
    L_REPORT, /* core, report mode */
    L_EMPTY,  /* no tiers, report mode */
    L_COUNT,
};

struct fixture {
    struct policy p;
    struct tier tiers[TIER_COUNT];
    struct listener_conf listeners[L_COUNT];
};

static const uint16_t test_web_ports[] = { 80, 443 };
static const uint16_t test_fetch_ports[] = { 80, 443, 8080 };
static const uint16_t test_ssh_ports[] = { 22 };
static const size_t test_l_agent[] = { TIER_CORE };
static const size_t test_l_fetch[] = { TIER_CORE, TIER_FETCH };
static const size_t test_l_ssh[] = { TIER_SSH, TIER_CORE };
static const size_t test_l_report[] = { TIER_CORE };

static void
test_tier_init(struct tier *t, const char *name, const char *const *domains,
               size_t n_domains, const char *const *literals, size_t n_literals,
               const uint16_t *ports, size_t n_ports)
{
    t->name = (char *)name;
    t->domains = domain_set_new();
    t->literals = cidr_set_new();
    assert_non_null(t->domains);
    assert_non_null(t->literals);
    for (size_t i = 0; i < n_domains; i++)
        assert_int_equal(
            domain_set_add(t->domains, domains[i], strlen(domains[i])), 0);
    for (size_t i = 0; i < n_literals; i++)
        assert_int_equal(cidr_set_add(t->literals, literals[i]), 0);
    t->ports = (uint16_t *)ports;
    t->n_ports = n_ports;
}

static void
test_listener_init(struct listener_conf *l, const char *name,
                   const size_t *tiers, size_t n_tiers, enum listener_mode mode)
{
    l->name = (char *)name;
    l->tiers = (size_t *)tiers;
    l->n_tiers = n_tiers;
    l->mode = mode;
}

static int
test_setup(void **state)
{
    static const char *const core_domains[] = { "github.com", "*.github.com",
                                                ".githubusercontent.com" };
    static const char *const core_literals[] = {
        "140.82.112.0/20", "10.1.0.0/16", "2606:50c0::/32", "127.0.0.0/8"
    };
    static const char *const fetch_domains[] = { "*" };
    static const char *const ssh_domains[] = { "github.com" };
    struct fixture *f = calloc(1, sizeof(*f));

    if (f == NULL)
        return -1;
    test_tier_init(&f->tiers[TIER_CORE], "core", core_domains,
                   ARRAY_LEN(core_domains), core_literals,
                   ARRAY_LEN(core_literals), test_web_ports,
                   ARRAY_LEN(test_web_ports));
    test_tier_init(&f->tiers[TIER_FETCH], "fetch", fetch_domains,
                   ARRAY_LEN(fetch_domains), NULL, 0, test_fetch_ports,
                   ARRAY_LEN(test_fetch_ports));
    test_tier_init(&f->tiers[TIER_SSH], "ssh", ssh_domains,
                   ARRAY_LEN(ssh_domains), NULL, 0, test_ssh_ports,
                   ARRAY_LEN(test_ssh_ports));
    test_listener_init(&f->listeners[L_AGENT], "agent", test_l_agent,
                       ARRAY_LEN(test_l_agent), LISTENER_ENFORCE);
    test_listener_init(&f->listeners[L_FETCH], "fetch", test_l_fetch,
                       ARRAY_LEN(test_l_fetch), LISTENER_ENFORCE);
    test_listener_init(&f->listeners[L_SSH], "ssh", test_l_ssh,
                       ARRAY_LEN(test_l_ssh), LISTENER_ENFORCE);
    test_listener_init(&f->listeners[L_REPORT], "report", test_l_report,
                       ARRAY_LEN(test_l_report), LISTENER_REPORT);
    test_listener_init(&f->listeners[L_EMPTY], "empty", NULL, 0,
                       LISTENER_REPORT);

    f->p.refs = 1;
    f->p.tiers = f->tiers;
    f->p.n_tiers = TIER_COUNT;
    f->p.listeners = f->listeners;
    f->p.n_listeners = L_COUNT;
    f->p.allow_ranges = cidr_set_new();
    f->p.deny_ranges = cidr_set_new();
    assert_non_null(f->p.allow_ranges);
    assert_non_null(f->p.deny_ranges);
    /* a private mirror; and a try at exempting the metadata endpoint */
    assert_int_equal(cidr_set_add(f->p.allow_ranges, "10.1.2.0/24"), 0);
    assert_int_equal(cidr_set_add(f->p.allow_ranges, "169.254.169.254"), 0);
    assert_int_equal(cidr_set_add(f->p.deny_ranges, "140.82.113.0/24"), 0);
    *state = f;
    return 0;
}

static int
test_teardown(void **state)
{
    struct fixture *f = *state;

    for (size_t i = 0; i < TIER_COUNT; i++) {
        domain_set_free(f->tiers[i].domains);
        cidr_set_free(f->tiers[i].literals);
    }
    cidr_set_free(f->p.allow_ranges);
    cidr_set_free(f->p.deny_ranges);
    free(f);
    return 0;
}

/* One row of a decision table. <tier> is the expected tier's name or NULL;
 * <host> the expected d->host. */
struct test_case {
    int listener;
    const char *host;
    uint16_t port;
    enum reason reason;
    enum reason would_deny;
    const char *tier;
    const char *out;
};

static void
test_run_cases(const struct fixture *f, const struct test_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct test_case *c = &cases[i];
        const struct listener_conf *l = &f->listeners[c->listener];
        struct decision d;
        enum reason r;
        const char *tier;

        /* d must be filled completely, whatever it held before */
        memset(&d, 0xa5, sizeof(d));
        r = policy_check_host(&f->p, l, c->host, strlen(c->host), c->port, &d);
        tier = d.tier != NULL ? d.tier->name : NULL;
        if (r != d.reason)
            fail_msg("case %zu: %s %s:%u: returned %s, d.reason %s", i, l->name,
                     c->host, c->port, reason_name(r), reason_name(d.reason));
        if (r != c->reason || d.would_deny != c->would_deny)
            fail_msg("case %zu: %s %s:%u: got %s/%s, want %s/%s", i, l->name,
                     c->host, c->port, reason_name(r),
                     reason_name(d.would_deny), reason_name(c->reason),
                     reason_name(c->would_deny));
        if ((tier == NULL) != (c->tier == NULL) ||
            (tier != NULL && strcmp(tier, c->tier) != 0))
            fail_msg("case %zu: %s %s:%u: tier %s, want %s", i, l->name,
                     c->host, c->port, tier ? tier : "(null)",
                     c->tier ? c->tier : "(null)");
        if (strcmp(d.host, c->out) != 0)
            fail_msg("case %zu: %s %s:%u: host \"%s\", want \"%s\"", i, l->name,
                     c->host, c->port, d.host, c->out);
    }
}

#define OK REASON_ALLOWED

/* Step 1 comes first, on every listener and whatever ip_literals says. */
static void
test_policy_check_host_bad_request(void **state)
{
    static const struct test_case cases[] = {
        { L_AGENT, "", 443, REASON_BAD_REQUEST, OK, NULL, "" },
        { L_AGENT, "exa mple.com", 443, REASON_BAD_REQUEST, OK, NULL, "" },
        { L_AGENT, "a..github.com", 443, REASON_BAD_REQUEST, OK, NULL, "" },
        { L_AGENT, "github.com..", 443, REASON_BAD_REQUEST, OK, NULL, "" },
        { L_AGENT, "-github.com", 443, REASON_BAD_REQUEST, OK, NULL, "" },
        { L_AGENT, "*.github.com", 443, REASON_BAD_REQUEST, OK, NULL, "" },
        { L_AGENT,
          "gith\xc3\xbc"
          "b.com",
          443, REASON_BAD_REQUEST, OK, NULL, "" },
        { L_AGENT, "1.2.3.4.5", 443, REASON_BAD_REQUEST, OK, NULL, "" },
        { L_AGENT, "256.1.1.1", 443, REASON_BAD_REQUEST, OK, NULL, "" },
        { L_AGENT, "0x", 443, REASON_BAD_REQUEST, OK, NULL, "" },
        { L_AGENT, "08", 443, REASON_BAD_REQUEST, OK, NULL, "" },
        { L_AGENT, "github.123", 443, REASON_BAD_REQUEST, OK, NULL, "" },
        { L_AGENT, "[::1", 443, REASON_BAD_REQUEST, OK, NULL, "" },
        { L_AGENT, "[github.com]", 443, REASON_BAD_REQUEST, OK, NULL, "" },
        { L_AGENT, "github.com:443", 443, REASON_BAD_REQUEST, OK, NULL, "" },
        { L_FETCH, "exa mple.com", 443, REASON_BAD_REQUEST, OK, NULL, "" },
        { L_REPORT, "exa mple.com", 443, REASON_BAD_REQUEST, OK, NULL, "" },
        { L_EMPTY, "", 443, REASON_BAD_REQUEST, OK, NULL, "" },
    };
    struct fixture *f = *state;

    test_run_cases(f, cases, ARRAY_LEN(cases));
    f->p.ip_literals_allow = true;
    test_run_cases(f, cases, ARRAY_LEN(cases));
}

/* Step 2 with ip_literals: deny - every literal form, even one a tier
 * lists, on every listener (report mode does not lift it). */
static void
test_policy_check_host_ip_literal_denied(void **state)
{
    static const struct test_case cases[] = {
        { L_AGENT, "140.82.112.3", 443, REASON_IP_LITERAL, OK, NULL,
          "140.82.112.3" },
        { L_AGENT, "8.8.8.8", 443, REASON_IP_LITERAL, OK, NULL, "8.8.8.8" },
        { L_AGENT, "2130706433", 443, REASON_IP_LITERAL, OK, NULL,
          "127.0.0.1" },
        { L_AGENT, "0177.0.0.1", 443, REASON_IP_LITERAL, OK, NULL,
          "127.0.0.1" },
        { L_AGENT, "0x7f.1", 443, REASON_IP_LITERAL, OK, NULL, "127.0.0.1" },
        { L_AGENT, "0x7f000001", 443, REASON_IP_LITERAL, OK, NULL,
          "127.0.0.1" },
        { L_AGENT, "127.1", 443, REASON_IP_LITERAL, OK, NULL, "127.0.0.1" },
        { L_AGENT, "127.0.1", 443, REASON_IP_LITERAL, OK, NULL, "127.0.0.1" },
        { L_AGENT, "127.0.0.1.", 443, REASON_IP_LITERAL, OK, NULL,
          "127.0.0.1" },
        { L_AGENT, "::1", 443, REASON_IP_LITERAL, OK, NULL, "::1" },
        { L_AGENT, "[::1]", 443, REASON_IP_LITERAL, OK, NULL, "::1" },
        { L_AGENT, "[::ffff:127.0.0.1]", 443, REASON_IP_LITERAL, OK, NULL,
          "::ffff:127.0.0.1" },
        { L_AGENT, "fe80::1%eth0", 443, REASON_IP_LITERAL, OK, NULL,
          "fe80::1" },
        { L_AGENT, "[fe80::1%25eth0]", 443, REASON_IP_LITERAL, OK, NULL,
          "fe80::1" },
        { L_AGENT, "[2606:50c0::1]", 443, REASON_IP_LITERAL, OK, NULL,
          "2606:50c0::1" },
        { L_FETCH, "8.8.8.8", 443, REASON_IP_LITERAL, OK, NULL, "8.8.8.8" },
        { L_REPORT, "8.8.8.8", 443, REASON_IP_LITERAL, OK, NULL, "8.8.8.8" },
        { L_EMPTY, "8.8.8.8", 443, REASON_IP_LITERAL, OK, NULL, "8.8.8.8" },
    };
    struct fixture *f = *state;
    struct decision d;

    test_run_cases(f, cases, ARRAY_LEN(cases));
    policy_check_host(&f->p, &f->listeners[L_AGENT], "0x7f.1", 6, 443, &d);
    assert_true(d.is_literal);
    assert_int_equal(addr_classify(&d.literal), ADDR_LOOPBACK);
}

/* ip_literals: allow - the range checks still apply, then only a tier's
 * IP/CIDR patterns match, and "*" never does. */
static void
test_policy_check_host_ip_literal_allowed(void **state)
{
    static const struct test_case cases[] = {
        { L_AGENT, "140.82.112.3", 443, OK, OK, "core", "140.82.112.3" },
        { L_AGENT, "0x8c.0x52.0x70.3", 443, OK, OK, "core", "140.82.112.3" },
        { L_AGENT, "2354212867", 443, OK, OK, "core", "140.82.112.3" },
        { L_AGENT, "[::ffff:140.82.112.3]", 443, OK, OK, "core",
          "::ffff:140.82.112.3" },
        { L_AGENT, "[2606:50c0::1]", 80, OK, OK, "core", "2606:50c0::1" },
        { L_AGENT, "140.82.112.3", 22, REASON_PORT_NOT_ALLOWED, OK, NULL,
          "140.82.112.3" },
        { L_AGENT, "8.8.8.8", 443, REASON_NOT_ALLOWLISTED, OK, NULL,
          "8.8.8.8" },
        /* "*" in tier fetch is for names only */
        { L_FETCH, "8.8.8.8", 443, REASON_NOT_ALLOWLISTED, OK, NULL,
          "8.8.8.8" },
        { L_FETCH, "[2001:4860:4860::8888]", 443, REASON_NOT_ALLOWLISTED, OK,
          NULL, "2001:4860:4860::8888" },
        /* a tier's CIDR does not lift the deny ranges */
        { L_AGENT, "140.82.113.5", 443, REASON_DENIED_ADDRESS, OK, NULL,
          "140.82.113.5" },
        { L_AGENT, "10.1.3.3", 443, REASON_DENIED_ADDRESS, OK, NULL,
          "10.1.3.3" },
        { L_AGENT, "127.0.0.1", 443, REASON_DENIED_ADDRESS, OK, NULL,
          "127.0.0.1" },
        { L_AGENT, "0x7f.1", 443, REASON_DENIED_ADDRESS, OK, NULL,
          "127.0.0.1" },
        /* allow_ranges does */
        { L_AGENT, "10.1.2.3", 443, OK, OK, "core", "10.1.2.3" },
        { L_AGENT, "10.1.2.3", 8080, REASON_PORT_NOT_ALLOWED, OK, NULL,
          "10.1.2.3" },
        /* denied_address comes before tier matching, and not_allowlisted
         * is all an allowed but unlisted address gets */
        { L_AGENT, "192.168.1.1", 443, REASON_DENIED_ADDRESS, OK, NULL,
          "192.168.1.1" },
        { L_AGENT, "169.254.169.254", 443, REASON_DENIED_ADDRESS, OK, NULL,
          "169.254.169.254" },
        { L_AGENT, "[::ffff:169.254.169.254]", 443, REASON_DENIED_ADDRESS, OK,
          NULL, "::ffff:169.254.169.254" },
        { L_AGENT, "[fd00:ec2::254]", 80, REASON_DENIED_ADDRESS, OK, NULL,
          "fd00:ec2::254" },
        /* report mode lifts the tier steps, not the address checks */
        { L_REPORT, "8.8.8.8", 443, REASON_REPORT_ONLY, REASON_NOT_ALLOWLISTED,
          "core", "8.8.8.8" },
        { L_REPORT, "127.0.0.1", 443, REASON_DENIED_ADDRESS, OK, NULL,
          "127.0.0.1" },
        { L_REPORT, "140.82.112.3", 443, OK, OK, "core", "140.82.112.3" },
        /* names are unaffected */
        { L_AGENT, "github.com", 443, OK, OK, "core", "github.com" },
    };
    struct fixture *f = *state;

    f->p.ip_literals_allow = true;
    test_run_cases(f, cases, ARRAY_LEN(cases));
}

/* Step 3 for names: first matching tier in listener order, port checks,
 * report mode. */
static void
test_policy_check_host_tiers(void **state)
{
    static const struct test_case cases[] = {
        { L_AGENT, "github.com", 443, OK, OK, "core", "github.com" },
        { L_AGENT, "GitHub.COM.", 443, OK, OK, "core", "github.com" },
        { L_AGENT, "api.github.com", 80, OK, OK, "core", "api.github.com" },
        { L_AGENT, "a.b.github.com", 443, OK, OK, "core", "a.b.github.com" },
        { L_AGENT, "githubusercontent.com", 443, OK, OK, "core",
          "githubusercontent.com" },
        { L_AGENT, "raw.githubusercontent.com", 443, OK, OK, "core",
          "raw.githubusercontent.com" },
        { L_AGENT, "badgithub.com", 443, REASON_NOT_ALLOWLISTED, OK, NULL,
          "badgithub.com" },
        { L_AGENT, "github.com.evil.test", 443, REASON_NOT_ALLOWLISTED, OK,
          NULL, "github.com.evil.test" },
        { L_AGENT, "localhost", 443, REASON_NOT_ALLOWLISTED, OK, NULL,
          "localhost" },
        { L_AGENT, "github.com", 22, REASON_PORT_NOT_ALLOWED, OK, NULL,
          "github.com" },
        { L_AGENT, "github.com", 0, REASON_PORT_NOT_ALLOWED, OK, NULL,
          "github.com" },
        { L_AGENT, "example.org", 22, REASON_NOT_ALLOWLISTED, OK, NULL,
          "example.org" },
        /* first tier wins; a later tier may hold the port */
        { L_FETCH, "github.com", 443, OK, OK, "core", "github.com" },
        { L_FETCH, "github.com", 8080, OK, OK, "fetch", "github.com" },
        { L_FETCH, "example.org", 443, OK, OK, "fetch", "example.org" },
        { L_FETCH, "example.org", 22, REASON_PORT_NOT_ALLOWED, OK, NULL,
          "example.org" },
        { L_SSH, "github.com", 22, OK, OK, "ssh", "github.com" },
        { L_SSH, "github.com", 443, OK, OK, "core", "github.com" },
        { L_SSH, "api.github.com", 22, REASON_PORT_NOT_ALLOWED, OK, NULL,
          "api.github.com" },
        { L_SSH, "gitlab.com", 22, REASON_NOT_ALLOWLISTED, OK, NULL,
          "gitlab.com" },
        /* report mode: misses are let through, with what enforce says */
        { L_REPORT, "github.com", 443, OK, OK, "core", "github.com" },
        { L_REPORT, "example.org", 443, REASON_REPORT_ONLY,
          REASON_NOT_ALLOWLISTED, "core", "example.org" },
        { L_REPORT, "github.com", 22, REASON_REPORT_ONLY,
          REASON_PORT_NOT_ALLOWED, "core", "github.com" },
        { L_EMPTY, "example.org", 443, REASON_REPORT_ONLY,
          REASON_NOT_ALLOWLISTED, NULL, "example.org" },
    };
    struct fixture *f = *state;
    struct decision d;

    test_run_cases(f, cases, ARRAY_LEN(cases));
    policy_check_host(&f->p, &f->listeners[L_AGENT], "github.com", 10, 443, &d);
    assert_false(d.is_literal);
    assert_ptr_equal(d.tier, &f->tiers[TIER_CORE]);
}

/* The host is a slice of the request: only hostlen bytes count. */
static void
test_policy_check_host_uses_len(void **state)
{
    static const char target[] = "github.com:443";
    struct fixture *f = *state;
    struct decision d;

    assert_int_equal(
        policy_check_host(&f->p, &f->listeners[L_AGENT], target, 10, 443, &d),
        REASON_ALLOWED);
    assert_string_equal(d.host, "github.com");
    assert_int_equal(policy_check_host(&f->p, &f->listeners[L_AGENT], target,
                                       sizeof(target) - 1, 443, &d),
                     REASON_BAD_REQUEST);
}

/* Step 5: allow_ranges exempt what they hold, except metadata. */
static void
test_policy_check_addr_table(void **state)
{
    static const struct {
        const char *addr;
        enum reason want;
    } cases[] = {
        { "8.8.8.8", REASON_ALLOWED },
        { "140.82.112.3", REASON_ALLOWED },
        { "2606:4700::1111", REASON_ALLOWED },
        { "10.1.2.3", REASON_ALLOWED },
        { "::ffff:10.1.2.3", REASON_ALLOWED },
        { "10.1.3.3", REASON_DENIED_ADDRESS },
        { "127.0.0.1", REASON_DENIED_ADDRESS },
        { "::1", REASON_DENIED_ADDRESS },
        { "140.82.113.1", REASON_DENIED_ADDRESS },
        { "64:ff9b::140.82.113.1", REASON_DENIED_ADDRESS },
        { "169.254.169.254", REASON_DENIED_ADDRESS },
        { "::ffff:169.254.169.254", REASON_DENIED_ADDRESS },
        { "100.100.100.200", REASON_DENIED_ADDRESS },
        { "168.63.129.16", REASON_DENIED_ADDRESS },
        { "fd00:ec2::254", REASON_DENIED_ADDRESS },
    };
    struct fixture *f = *state;

    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct addr a;
        enum reason r;

        assert_int_equal(addr_parse_strict(cases[i].addr, &a), 0);
        r = policy_check_addr(&f->p, &a);
        if (r != cases[i].want)
            fail_msg("case %zu: %s: got %s, want %s", i, cases[i].addr,
                     reason_name(r), reason_name(cases[i].want));
    }
}

/* Without any lists only the built-in ranges count. */
static void
test_policy_check_addr_no_lists(void **state)
{
    struct policy p;
    struct addr a;

    (void)state;
    memset(&p, 0, sizeof(p));
    assert_int_equal(addr_parse_strict("10.1.2.3", &a), 0);
    assert_int_equal(policy_check_addr(&p, &a), REASON_DENIED_ADDRESS);
    assert_int_equal(addr_parse_strict("140.82.113.1", &a), 0);
    assert_int_equal(policy_check_addr(&p, &a), REASON_ALLOWED);
}

static void
test_policy_tier_has_port_table(void **state)
{
    static const uint16_t ports[] = { 22, 80, 443, 8080, 65535 };
    static const struct {
        uint16_t port;
        bool want;
    } cases[] = {
        { 22, true },    { 80, true },   { 443, true },   { 8080, true },
        { 65535, true }, { 0, false },   { 21, false },   { 23, false },
        { 79, false },   { 444, false }, { 8081, false }, { 65534, false },
    };
    struct tier t;

    (void)state;
    memset(&t, 0, sizeof(t));
    t.ports = (uint16_t *)ports;
    t.n_ports = ARRAY_LEN(ports);
    for (size_t i = 0; i < ARRAY_LEN(cases); i++)
        if (policy_tier_has_port(&t, cases[i].port) != cases[i].want)
            fail_msg("case %zu: port %u: want %d", i, cases[i].port,
                     cases[i].want);
    /* every prefix of the list, so each search shape is walked */
    for (size_t n = 0; n <= ARRAY_LEN(ports); n++) {
        t.n_ports = n;
        for (size_t i = 0; i < ARRAY_LEN(ports); i++)
            if (policy_tier_has_port(&t, ports[i]) != (i < n))
                fail_msg("n_ports %zu: port %u: want %d", n, ports[i], i < n);
    }
    assert_false(policy_tier_has_port(NULL, 443));
}

static void
test_policy_find_listener_names(void **state)
{
    struct fixture *f = *state;

    assert_ptr_equal(policy_find_listener(&f->p, "agent"),
                     &f->listeners[L_AGENT]);
    assert_ptr_equal(policy_find_listener(&f->p, "report"),
                     &f->listeners[L_REPORT]);
    assert_null(policy_find_listener(&f->p, "Agent"));
    assert_null(policy_find_listener(&f->p, "nope"));
    assert_null(policy_find_listener(&f->p, NULL));
    assert_null(policy_find_listener(NULL, "agent"));
}

static void
test_policy_ref_unref_frees_last(void **state)
{
    struct fixture *f = *state;

    test_policy_frees = 0;
    assert_ptr_equal(policy_ref(&f->p), &f->p);
    assert_int_equal(f->p.refs, 2);
    policy_unref(&f->p);
    assert_int_equal(f->p.refs, 1);
    assert_int_equal(test_policy_frees, 0);
    policy_unref(&f->p);
    assert_int_equal(test_policy_frees, 1);
    policy_unref(NULL);
    assert_null(policy_ref(NULL));
    assert_int_equal(test_policy_frees, 1);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, test_setup, test_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_policy_check_host_bad_request),
        T(test_policy_check_host_ip_literal_denied),
        T(test_policy_check_host_ip_literal_allowed),
        T(test_policy_check_host_tiers),
        T(test_policy_check_host_uses_len),
        T(test_policy_check_addr_table),
        cmocka_unit_test(test_policy_check_addr_no_lists),
        cmocka_unit_test(test_policy_tier_has_port_table),
        T(test_policy_find_listener_names),
        T(test_policy_ref_unref_frees_last),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
