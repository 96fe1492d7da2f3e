/* tests/unit/test_domain.c - host normalisation and pattern matching
 * (policy/domain.c). */
#include "config.h"
#include "tests/unit/test.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "policy/domain.h"

/* A name of <n> bytes: labels of 63 'a's joined by dots, then a tail. */
static void
test_domain_long_name(char *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (i % 64 == 63) ? '.' : 'a';
    if (n > 0 && out[n - 1] == '.')
        out[n - 1] = 'b'; /* never end on the separator */
    out[n] = '\0';
}

static void
test_domain_normalize_table(void **state)
{
    static const struct {
        const char *host;
        int want;
        const char *out;
    } cases[] = {
        { "example.com", 0, "example.com" },
        { "Example.COM", 0, "example.com" },
        { "example.com.", 0, "example.com" },
        { "EXAMPLE.COM.", 0, "example.com" },
        { "a", 0, "a" },
        { "a-b.c-d.com", 0, "a-b.c-d.com" },
        { "a--b.com", 0, "a--b.com" },
        { "_dmarc.example.com", 0, "_dmarc.example.com" },
        { "xn--bcher-kva.example", 0, "xn--bcher-kva.example" },
        { "123.example", 0, "123.example" },
        { "1.2.3.4", 0, "1.2.3.4" }, /* literals are addr.c's business */
        { "example.com..", -1, NULL },
        { "", -1, NULL },
        { ".", -1, NULL },
        { "..", -1, NULL },
        { ".example.com", -1, NULL },
        { "a..b", -1, NULL },
        { "-a.com", -1, NULL },
        { "a-.com", -1, NULL },
        { "a.-b", -1, NULL },
        { "a.b-", -1, NULL },
        { "a.b-.", -1, NULL },
        { "b\xc3\xbc"
          "cher.example",
          -1, NULL }, /* U-label: clients send A-labels */
        { "exa mple.com", -1, NULL },
        { "example.com:443", -1, NULL },
        { "*.example.com", -1, NULL },
        { "[::1]", -1, NULL },
        { "exa%2ample.com", -1, NULL },
        { "example.com/", -1, NULL },
        { "exa\tmple.com", -1, NULL },
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char out[DOMAIN_NAME_MAX];
        int rc = domain_normalize(cases[i].host, strlen(cases[i].host), out);

        if (rc != cases[i].want)
            fail_msg("case %zu: \"%s\": got %d, want %d", i, cases[i].host, rc,
                     cases[i].want);
        if (rc == 0 && strcmp(out, cases[i].out) != 0)
            fail_msg("case %zu: \"%s\": got \"%s\", want \"%s\"", i,
                     cases[i].host, out, cases[i].out);
    }
}

/* RFC 1035 limits: 63-byte labels, 253-byte names (254 with the dot). */
static void
test_domain_normalize_limits(void **state)
{
    char name[DOMAIN_NAME_MAX + 8];
    char out[DOMAIN_NAME_MAX];
    char label[70];

    (void)state;
    memset(label, 'a', 63);
    memcpy(label + 63, ".com", sizeof(".com"));
    assert_int_equal(domain_normalize(label, strlen(label), out), 0);
    memset(label, 'a', 64);
    memcpy(label + 64, ".com", sizeof(".com"));
    assert_int_equal(domain_normalize(label, strlen(label), out), -1);

    test_domain_long_name(name, 253);
    assert_int_equal(domain_normalize(name, 253, out), 0);
    assert_string_equal(out, name);
    name[253] = '.';
    name[254] = '\0';
    assert_int_equal(domain_normalize(name, 254, out), 0); /* trailing dot */
    assert_int_equal(strlen(out), 253);
    test_domain_long_name(name, 254);
    assert_int_equal(domain_normalize(name, 254, out), -1);

    /* <len> bounds the host: the rest of the request line is not read. */
    assert_int_equal(domain_normalize("example.com:443", 11, out), 0);
    assert_string_equal(out, "example.com");
    assert_int_equal(domain_normalize("a\0b", 3, out), -1);
    assert_int_equal(domain_normalize(NULL, 0, out), -1);
}

static void
test_domain_match_table(void **state)
{
    static const struct {
        const char *pattern, *host;
        bool want;
    } cases[] = {
        { "example.com", "example.com", true },
        { "example.com", "www.example.com", false }, /* exact means exact */
        { "example.com", "badexample.com", false },
        { "example.com", "example.co", false },
        { "Example.COM", "example.com", true },
        { "example.com.", "example.com", true },
        { "*.example.com", "www.example.com", true },
        { "*.example.com", "a.b.example.com", true },
        { "*.example.com", "example.com", false },    /* not the apex */
        { "*.example.com", "badexample.com", false }, /* label boundary */
        { "*.example.com", "example.com.evil", false },
        { "*.EXAMPLE.com.", "x.example.com", true },
        { ".example.com", "example.com", true },
        { ".example.com", "www.example.com", true },
        { ".example.com", "a.b.example.com", true },
        { ".example.com", "badexample.com", false },
        { ".example.com", "xample.com", false },
        { "*", "example.com", true },
        { "*", "localhost", true },
        { "*", "", false },
        { "*.*.example.com", "a.b.example.com", false }, /* invalid */
        { "a*.example.com", "ab.example.com", false },
        { "*example.com", "badexample.com", false },
        { "", "example.com", false },
        { ".", "example.com", false },
        { "*.", "example.com", false },
        { "example.com", "", false },
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++)
        if (domain_match(cases[i].pattern, cases[i].host) != cases[i].want)
            fail_msg("case %zu: %s vs %s: want %d", i, cases[i].pattern,
                     cases[i].host, cases[i].want);
    assert_false(domain_match(NULL, "example.com"));
    assert_false(domain_match("example.com", NULL));
}

static struct domain_set *
test_domain_set_of(const char *const *patterns, size_t n)
{
    struct domain_set *set = domain_set_new();

    assert_non_null(set);
    for (size_t i = 0; i < n; i++)
        if (domain_set_add(set, patterns[i], strlen(patterns[i])) != 0)
            fail_msg("test setup: domain_set_add(\"%s\") failed", patterns[i]);
    return set;
}

static void
test_domain_set_match_table(void **state)
{
    static const char *const patterns[] = {
        "example.com",       "*.wild.test", ".dot.test",    "*.x.y.z.deep.test",
        "_srv.Example.ORG.", "github.com",  "*.github.com",
    };
    static const struct {
        const char *host;
        bool want;
    } cases[] = {
        { "example.com", true },
        { "www.example.com", false },
        { "badexample.com", false },
        { "example.com.evil", false },
        { "com", false },
        { "wild.test", false },
        { "a.wild.test", true },
        { "a.b.wild.test", true },
        { "badwild.test", false },
        { "wild.test.evil", false },
        { "test", false },
        { "dot.test", true },
        { "a.dot.test", true },
        { "a.b.dot.test", true },
        { "xdot.test", false },
        { "dot.testx", false },
        { "x.y.z.deep.test", false },
        { "q.x.y.z.deep.test", true },
        { "y.z.deep.test", false },
        { "_srv.example.org", true },
        { "srv.example.org", false },
        { "github.com", true },
        { "api.github.com", true },
        { "github.com.evil.example", false },
        { "notgithub.com", false },
        { "", false },
    };
    struct domain_set *set = test_domain_set_of(patterns, ARRAY_LEN(patterns));

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        if (domain_set_match(set, cases[i].host) != cases[i].want) {
            domain_set_free(set);
            fail_msg("case %zu: %s: want %d", i, cases[i].host, cases[i].want);
        }
    }
    domain_set_free(set);
}

static void
test_domain_set_star(void **state)
{
    static const char *const patterns[] = { "example.com", "*" };
    struct domain_set *set = test_domain_set_of(patterns, ARRAY_LEN(patterns));

    (void)state;
    assert_true(domain_set_match(set, "anything.example"));
    assert_true(domain_set_match(set, "localhost"));
    assert_false(domain_set_match(set, ""));
    domain_set_free(set);
}

static void
test_domain_set_add_table(void **state)
{
    static const struct {
        const char *pattern;
        int want;
    } cases[] = {
        { "example.com", 0 },
        { "example.com.", 0 },
        { "EXAMPLE.com", 0 },
        { "*.example.com", 0 },
        { ".example.com", 0 },
        { "*", 0 },
        { "*.com", 0 },
        { "_acme.example.com", 0 },
        { "*.*.example.com", -1 },
        { "a*.example.com", -1 },
        { "*a.example.com", -1 },
        { "*example.com", -1 },
        { "example.*", -1 },
        { "www.*.example.com", -1 },
        { "**", -1 },
        { "*.", -1 },
        { ".*", -1 },
        { ".", -1 },
        { "..example.com", -1 },
        { "*..example.com", -1 },
        { ".example.com..", -1 },
        { "", -1 },
        { "exa mple.com", -1 },
        { "-example.com", -1 },
        { "example-.com", -1 },
        { "ex/ample.com", -1 },
        { "b\xc3\xbc"
          "cher.example",
          -1 },
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct domain_set *set = domain_set_new();
        int rc;

        assert_non_null(set);
        rc = domain_set_add(set, cases[i].pattern, strlen(cases[i].pattern));
        if (rc != cases[i].want || domain_set_count(set) != (rc == 0)) {
            domain_set_free(set);
            fail_msg("case %zu: \"%s\": got %d, want %d", i, cases[i].pattern,
                     rc, cases[i].want);
        }
        domain_set_free(set);
    }
    assert_int_equal(domain_set_add(NULL, "x", 1), -1);
    /* <len> bounds the pattern */
    {
        struct domain_set *set = domain_set_new();

        assert_non_null(set);
        assert_int_equal(domain_set_add(set, "example.com,junk", 11), 0);
        assert_true(domain_set_match(set, "example.com"));
        domain_set_free(set);
    }
}

/* Each form of one base name counts once; repeats and spellings do not. */
static void
test_domain_set_count_distinct(void **state)
{
    static const struct {
        const char *pattern;
        size_t count; /* after adding it */
    } steps[] = {
        { "example.com", 1 },
        { "EXAMPLE.COM.", 1 },
        { "*.example.com", 2 },
        { ".example.com", 3 },
        { ".Example.com", 3 },
        { "*", 4 },
        { "*", 4 },
        { "other.test", 5 },
        { "*.sub.other.test", 6 },
    };
    struct domain_set *set = domain_set_new();

    (void)state;
    assert_non_null(set);
    assert_int_equal(domain_set_count(set), 0);
    for (size_t i = 0; i < ARRAY_LEN(steps); i++) {
        assert_int_equal(
            domain_set_add(set, steps[i].pattern, strlen(steps[i].pattern)), 0);
        if (domain_set_count(set) != steps[i].count) {
            domain_set_free(set);
            fail_msg("step %zu: after \"%s\": count %zu, want %zu", i,
                     steps[i].pattern, domain_set_count(set), steps[i].count);
        }
    }
    domain_set_free(set);
}

/* Only the forms added for a base name match: "x" and "*.x" together act
 * like ".x", each alone does not. */
static void
test_domain_set_forms_combine(void **state)
{
    static const char *const exact[] = { "example.com" };
    static const char *const both[] = { "example.com", "*.example.com" };
    struct domain_set *set = test_domain_set_of(exact, ARRAY_LEN(exact));

    (void)state;
    assert_true(domain_set_match(set, "example.com"));
    assert_false(domain_set_match(set, "www.example.com"));
    domain_set_free(set);
    set = test_domain_set_of(both, ARRAY_LEN(both));
    assert_true(domain_set_match(set, "example.com"));
    assert_true(domain_set_match(set, "www.example.com"));
    domain_set_free(set);
}

static void
test_domain_set_empty_and_null(void **state)
{
    struct domain_set *set = domain_set_new();

    (void)state;
    assert_non_null(set);
    assert_false(domain_set_match(set, "example.com"));
    assert_false(domain_set_match(NULL, "example.com"));
    assert_false(domain_set_match(set, NULL));
    assert_int_equal(domain_set_count(NULL), 0);
    domain_set_free(set);
    domain_set_free(NULL);
}

#define TEST_DOMAIN_MANY 30000

/* A set far past its first allocation still answers every pattern, and
 * only those: the hash table and arena grow without losing entries. */
static void
test_domain_set_many(void **state)
{
    struct domain_set *set = domain_set_new();
    char pat[64], host[80];

    (void)state;
    assert_non_null(set);
    for (unsigned i = 0; i < TEST_DOMAIN_MANY; i++) {
        static const char *const forms[] = { "", "*.", "." };

        snprintf(pat, sizeof(pat), "%sh%u.example%u.test", forms[i % 3], i,
                 i % 97);
        assert_int_equal(domain_set_add(set, pat, strlen(pat)), 0);
    }
    assert_int_equal(domain_set_count(set), TEST_DOMAIN_MANY);
    for (unsigned i = 0; i < TEST_DOMAIN_MANY; i++) {
        bool apex = i % 3 != 1, subs = i % 3 != 0;

        snprintf(host, sizeof(host), "h%u.example%u.test", i, i % 97);
        if (domain_set_match(set, host) != apex)
            fail_msg("%s: want %d", host, apex);
        snprintf(host, sizeof(host), "www.h%u.example%u.test", i, i % 97);
        if (domain_set_match(set, host) != subs)
            fail_msg("%s: want %d", host, subs);
        snprintf(host, sizeof(host), "h%u.example%u.test", i, (i + 1) % 97);
        if (domain_set_match(set, host))
            fail_msg("%s: want 0", host);
    }
    assert_false(domain_set_match(set, "example1.test"));
    assert_false(domain_set_match(set, "test"));
    domain_set_free(set);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_domain_normalize_table),
        cmocka_unit_test(test_domain_normalize_limits),
        cmocka_unit_test(test_domain_match_table),
        cmocka_unit_test(test_domain_set_match_table),
        cmocka_unit_test(test_domain_set_star),
        cmocka_unit_test(test_domain_set_add_table),
        cmocka_unit_test(test_domain_set_count_distinct),
        cmocka_unit_test(test_domain_set_forms_combine),
        cmocka_unit_test(test_domain_set_empty_and_null),
        cmocka_unit_test(test_domain_set_many),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
