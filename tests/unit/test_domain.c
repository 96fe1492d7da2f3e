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
          0 }, /* U-label: stored as its A-label */
        { "*.m\xc3\xbcnchen.example", 0 },
        { ".\xe4\xbe\x8b\xe3\x81\x88.jp", 0 },
        { "b\xfc"
          "cher.example",
          -1 }, /* Latin-1, not UTF-8 */
        { "*.b\xc3\xbc-.example", -1 },
        { "*.\xc3\xbc", 0 },
        { "\xc3\xbc.*", -1 },
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

/* RFC 3492 section 7.1: every sample string, against the RFC's output. */
static void
test_domain_punycode_rfc3492(void **state)
{
    static const struct {
        const char *name;
        uint32_t cp[48]; /* ends at the first 0: no sample holds U+0000 */
        const char *want;
    } cases[] = {
        { "(A) Arabic (Egyptian)",
          { 0x0644, 0x064A, 0x0647, 0x0645, 0x0627, 0x0628, 0x062A, 0x0643,
            0x0644, 0x0645, 0x0648, 0x0634, 0x0639, 0x0631, 0x0628, 0x064A,
            0x061F },
          "egbpdaj6bu4bxfgehfvwxn" },
        { "(B) Chinese (simplified)",
          { 0x4ED6, 0x4EEC, 0x4E3A, 0x4EC0, 0x4E48, 0x4E0D, 0x8BF4, 0x4E2D,
            0x6587 },
          "ihqwcrb4cv8a8dqg056pqjye" },
        { "(C) Chinese (traditional)",
          { 0x4ED6, 0x5011, 0x7232, 0x4EC0, 0x9EBD, 0x4E0D, 0x8AAA, 0x4E2D,
            0x6587 },
          "ihqwctvzc91f659drss3x8bo0yb" },
        { "(D) Czech",
          { 0x0050, 0x0072, 0x006F, 0x010D, 0x0070, 0x0072, 0x006F, 0x0073,
            0x0074, 0x011B, 0x006E, 0x0065, 0x006D, 0x006C, 0x0075, 0x0076,
            0x00ED, 0x010D, 0x0065, 0x0073, 0x006B, 0x0079 },
          "Proprostnemluvesky-uyb24dma41a" },
        { "(E) Hebrew",
          { 0x05DC, 0x05DE, 0x05D4, 0x05D4, 0x05DD, 0x05E4, 0x05E9, 0x05D5,
            0x05D8, 0x05DC, 0x05D0, 0x05DE, 0x05D3, 0x05D1, 0x05E8, 0x05D9,
            0x05DD, 0x05E2, 0x05D1, 0x05E8, 0x05D9, 0x05EA },
          "4dbcagdahymbxekheh6e0a7fei0b" },
        { "(F) Hindi (Devanagari)",
          { 0x092F, 0x0939, 0x0932, 0x094B, 0x0917, 0x0939, 0x093F, 0x0928,
            0x094D, 0x0926, 0x0940, 0x0915, 0x094D, 0x092F, 0x094B, 0x0902,
            0x0928, 0x0939, 0x0940, 0x0902, 0x092C, 0x094B, 0x0932, 0x0938,
            0x0915, 0x0924, 0x0947, 0x0939, 0x0948, 0x0902 },
          "i1baa7eci9glrd9b2ae1bj0hfcgg6iyaf8o0a1dig0cd" },
        { "(G) Japanese (kanji and hiragana)",
          { 0x306A, 0x305C, 0x307F, 0x3093, 0x306A, 0x65E5, 0x672C, 0x8A9E,
            0x3092, 0x8A71, 0x3057, 0x3066, 0x304F, 0x308C, 0x306A, 0x3044,
            0x306E, 0x304B },
          "n8jok5ay5dzabd5bym9f0cm5685rrjetr6pdxa" },
        { "(H) Korean (Hangul syllables)",
          { 0xC138, 0xACC4, 0xC758, 0xBAA8, 0xB4E0, 0xC0AC, 0xB78C, 0xB4E4,
            0xC774, 0xD55C, 0xAD6D, 0xC5B4, 0xB97C, 0xC774, 0xD574, 0xD55C,
            0xB2E4, 0xBA74, 0xC5BC, 0xB9C8, 0xB098, 0xC88B, 0xC744, 0xAE4C },
          "989aomsvi5e83db1d2a355cv1e0vak1dwrv93d5xbh15a0dt30a5jpsd879ccm6fea98"
          "c" },
        { "(I) Russian (Cyrillic)" /* RFC: "baDot", from a case annotation */,
          { 0x043F, 0x043E, 0x0447, 0x0435, 0x043C, 0x0443, 0x0436,
            0x0435, 0x043E, 0x043D, 0x0438, 0x043D, 0x0435, 0x0433,
            0x043E, 0x0432, 0x043E, 0x0440, 0x044F, 0x0442, 0x043F,
            0x043E, 0x0440, 0x0443, 0x0441, 0x0441, 0x043A, 0x0438 },
          "b1abfaaepdrnnbgefbadotcwatmq2g4l" },
        { "(J) Spanish",
          { 0x0050, 0x006F, 0x0072, 0x0071, 0x0075, 0x00E9, 0x006E, 0x006F,
            0x0070, 0x0075, 0x0065, 0x0064, 0x0065, 0x006E, 0x0073, 0x0069,
            0x006D, 0x0070, 0x006C, 0x0065, 0x006D, 0x0065, 0x006E, 0x0074,
            0x0065, 0x0068, 0x0061, 0x0062, 0x006C, 0x0061, 0x0072, 0x0065,
            0x006E, 0x0045, 0x0073, 0x0070, 0x0061, 0x00F1, 0x006F, 0x006C },
          "PorqunopuedensimplementehablarenEspaol-fmd56a" },
        { "(K) Vietnamese",
          { 0x0054, 0x1EA1, 0x0069, 0x0073, 0x0061, 0x006F, 0x0068, 0x1ECD,
            0x006B, 0x0068, 0x00F4, 0x006E, 0x0067, 0x0074, 0x0068, 0x1EC3,
            0x0063, 0x0068, 0x1EC9, 0x006E, 0x00F3, 0x0069, 0x0074, 0x0069,
            0x1EBF, 0x006E, 0x0067, 0x0056, 0x0069, 0x1EC7, 0x0074 },
          "TisaohkhngthchnitingVit-kjcr8268qyxafd2f1b9g" },
        { "(L) 3<nen>B<gumi><kinpachi><sensei>",
          { 0x0033, 0x5E74, 0x0042, 0x7D44, 0x91D1, 0x516B, 0x5148, 0x751F },
          "3B-ww4c5e180e575a65lsy2b" },
        { "(M) <amuro><namie>-with-SUPER-MONKEYS",
          { 0x5B89, 0x5BA4, 0x5948, 0x7F8E, 0x6075, 0x002D, 0x0077, 0x0069,
            0x0074, 0x0068, 0x002D, 0x0053, 0x0055, 0x0050, 0x0045, 0x0052,
            0x002D, 0x004D, 0x004F, 0x004E, 0x004B, 0x0045, 0x0059, 0x0053 },
          "-with-SUPER-MONKEYS-pc58ag80a8qai00g7n9n" },
        { "(N) Hello-Another-Way-<sorezore><no><basho>",
          { 0x0048, 0x0065, 0x006C, 0x006C, 0x006F, 0x002D, 0x0041,
            0x006E, 0x006F, 0x0074, 0x0068, 0x0065, 0x0072, 0x002D,
            0x0057, 0x0061, 0x0079, 0x002D, 0x305D, 0x308C, 0x305E,
            0x308C, 0x306E, 0x5834, 0x6240 },
          "Hello-Another-Way--fc4qua05auwb3674vfr0b" },
        { "(O) <hitotsu><yane><no><shita>2",
          { 0x3072, 0x3068, 0x3064, 0x5C4B, 0x6839, 0x306E, 0x4E0B, 0x0032 },
          "2-u9tlzr9756bt3uc0v" },
        { "(P) Maji<de>Koi<suru>5<byou><mae>",
          { 0x004D, 0x0061, 0x006A, 0x0069, 0x3067, 0x004B, 0x006F, 0x0069,
            0x3059, 0x308B, 0x0035, 0x79D2, 0x524D },
          "MajiKoi5-783gue6qz075azm5e" },
        { "(Q) <pafii>de<runba>",
          { 0x30D1, 0x30D5, 0x30A3, 0x30FC, 0x0064, 0x0065, 0x30EB, 0x30F3,
            0x30D0 },
          "de-jg4avhby1noc0d" },
        { "(R) <sono><supiido><de>",
          { 0x305D, 0x306E, 0x30B9, 0x30D4, 0x30FC, 0x30C9, 0x3067 },
          "d9juau41awczczp" },
        { "(S) -> $1.00 <-",
          { 0x002D, 0x003E, 0x0020, 0x0024, 0x0031, 0x002E, 0x0030, 0x0030,
            0x0020, 0x003C, 0x002D },
          "-> $1.00 <--" },
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char out[DOMAIN_NAME_MAX];
        size_t n = 0;

        while (n < ARRAY_LEN(cases[i].cp) && cases[i].cp[n] != 0)
            n++;
        if (domain_punycode_encode(cases[i].cp, n, out, sizeof(out)) != 0)
            fail_msg("%s: encoding failed", cases[i].name);
        if (strcmp(out, cases[i].want) != 0)
            fail_msg("%s: got \"%s\", want \"%s\"", cases[i].name, out,
                     cases[i].want);
    }
}

/* The output buffer is a hard bound, and 6.4's overflow check holds. */
static void
test_domain_punycode_bounds(void **state)
{
    static const uint32_t buecher[] = { 'b', 0xFC, 'c', 'h', 'e', 'r' };
    static const uint32_t ascii[] = { 'a', 'b', 'c' };
    /* (0xFFFFFFFF - 0x80) * 2 code points' worth of delta: overflows. */
    static const uint32_t huge[] = { 0x80, UINT32_MAX };
    char out[16];

    (void)state;
    assert_int_equal(
        domain_punycode_encode(buecher, ARRAY_LEN(buecher), out, 10), 0);
    assert_string_equal(out, "bcher-kva");
    memset(out, 'x', sizeof(out));
    assert_int_equal(
        domain_punycode_encode(buecher, ARRAY_LEN(buecher), out, 9), -1);
    assert_int_equal(out[9], 'x'); /* nothing past <cap> written */
    assert_int_equal(domain_punycode_encode(buecher, 0, out, 1), 0);
    assert_string_equal(out, "");
    assert_int_equal(
        domain_punycode_encode(ascii, ARRAY_LEN(ascii), out, sizeof(out)), 0);
    assert_string_equal(out, "abc-"); /* all basic: just the delimiter */
    assert_int_equal(
        domain_punycode_encode(huge, ARRAY_LEN(huge), out, sizeof(out)), -1);
    assert_int_equal(domain_punycode_encode(NULL, 1, out, sizeof(out)), -1);
    assert_int_equal(domain_punycode_encode(buecher, 1, NULL, 1), -1);
    assert_int_equal(domain_punycode_encode(buecher, 1, out, 0), -1);
}

static void
test_domain_normalize_idn_table(void **state)
{
    static const struct {
        const char *name;
        int want;
        const char *out;
    } cases[] = {
        { "b\xc3\xbc"
          "cher",
          0, "xn--bcher-kva" },
        { "m\xc3\xbcnchen", 0, "xn--mnchen-3ya" },
        { "b\xc3\xbc"
          "cher.test",
          0, "xn--bcher-kva.test" },
        { "\xe4\xbe\x8b\xe3\x81\x88.jp", 0, "xn--r8jz45g.jp" }, /* 例え */
        /* mixed: ASCII labels stay, each U-label is converted alone */
        { "WWW.b\xc3\xbc"
          "cher.m\xc3\xbcnchen.Example.",
          0, "www.xn--bcher-kva.xn--mnchen-3ya.example" },
        { "xn--bcher-kva.test", 0, "xn--bcher-kva.test" },
        { "Example.COM.", 0, "example.com" },
        /* the lower-casing done: ASCII, Latin-1, Latin Extended-A */
        { "B\xc3\x9c"
          "CHER.test",
          0, "xn--bcher-kva.test" },                  /* BÜCHER */
        { "\xc5\xbdLU\xc5\xa4OU\xc4\x8cK\xc3\x9d", 0, /* ŽLUŤOUČKÝ */
          "xn--luouk-uva4it5a4g" },
        { "\xc5\xb8", 0, "xn--wda" }, /* Ÿ -> ÿ (U+00FF) */
        { "\xc3\xbf", 0, "xn--wda" }, /* ÿ */
        { "\xc4\xb0", 0, "xn--bfa" }, /* İ is left alone */
        { "\xc3\x97", 0, "xn--rca" }, /* × is no letter */
        { "b\xc3\xbc"
          "c--her",
          0, "xn--bc--her-n2a" },
        /* hyphens an A-label would hide (RFC 5891 4.2.3.1) */
        { "-b\xc3\xbc"
          "cher",
          -1, NULL },
        { "b\xc3\xbc"
          "cher-",
          -1, NULL },
        { "b\xc3\xbc--cher", -1, NULL },
        /* ASCII in a U-label obeys the ASCII rules */
        { "b\xc3\xbc cher", -1, NULL },
        { "b\xc3\xbc/cher", -1, NULL },
        { "b\xc3\xbc"
          "cher..test",
          -1, NULL },
        { ".b\xc3\xbc"
          "cher",
          -1, NULL },
        { "b\xc3\xbc"
          "cher..",
          -1, NULL },
        { "-a.b\xc3\xbc"
          "cher",
          -1, NULL },
        /* not UTF-8 */
        { "b\xfc"
          "cher",
          -1, NULL },               /* Latin-1 */
        { "b\xc3", -1, NULL },      /* cut short */
        { "b\xc3(cher", -1, NULL }, /* no continuation byte */
        { "\xbc"
          "cher",
          -1, NULL },                      /* stray continuation byte */
        { "b\xc1\xa1", -1, NULL },         /* overlong "a" */
        { "b\xe0\x80\xae", -1, NULL },     /* overlong "." */
        { "b\xf0\x80\x81\xa1", -1, NULL }, /* overlong "a" */
        { "b\xe0\x83\xbc", -1, NULL },     /* overlong "ü" */
        { "b\xed\xa0\x80", -1, NULL },     /* surrogate U+D800 */
        { "b\xed\xbf\xbf", -1, NULL },     /* surrogate U+DFFF */
        { "b\xf4\x90\x80\x80", -1, NULL }, /* U+110000 */
        { "b\xf8\x88\x80\x80\x80", -1, NULL },
        { "b\xff", -1, NULL },
        /* the edges of the valid ranges still pass */
        { "b\xed\x9f\xbf", 0, NULL },     /* U+D7FF */
        { "b\xee\x80\x80", 0, NULL },     /* U+E000 */
        { "b\xf4\x8f\xbf\xbf", 0, NULL }, /* U+10FFFF */
        { "b\xc2\x80", 0, NULL },         /* U+0080 */
    };

    char out[DOMAIN_NAME_MAX];

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        int rc =
            domain_normalize_idn(cases[i].name, strlen(cases[i].name), out);

        if (rc != cases[i].want)
            fail_msg("case %zu: \"%s\": got %d, want %d", i, cases[i].name, rc,
                     cases[i].want);
        if (rc == 0 && cases[i].out != NULL && strcmp(out, cases[i].out) != 0)
            fail_msg("case %zu: \"%s\": got \"%s\", want \"%s\"", i,
                     cases[i].name, out, cases[i].out);
    }
    assert_int_equal(domain_normalize_idn(NULL, 0, out), -1);
}

/* Appends <n> copies of the UTF-8 string <s> to <out> at <*len>. */
static void
test_domain_repeat(char *out, size_t *len, const char *s, size_t n)
{
    size_t slen = strlen(s);

    for (size_t i = 0; i < n; i++) {
        memcpy(out + *len, s, slen);
        *len += slen;
    }
    out[*len] = '\0';
}

/* The 63-byte label and 253-byte name limits apply to the A-labels, not
 * to the UTF-8 written in the policy. */
static void
test_domain_normalize_idn_limits(void **state)
{
    static const char uml[] = "\xc3\xbc"; /* ü */
    char name[1024], out[DOMAIN_NAME_MAX];
    size_t len;

    (void)state;
    /* "a" * 55 + "ü" is "xn--" + 55 a's + "-" + 3 digits: 63 bytes */
    len = 0;
    test_domain_repeat(name, &len, "a", 55);
    test_domain_repeat(name, &len, uml, 1);
    assert_int_equal(domain_normalize_idn(name, len, out), 0);
    assert_int_equal(strlen(out), 63);
    len = 0;
    test_domain_repeat(name, &len, "a", 56);
    test_domain_repeat(name, &len, uml, 1);
    assert_int_equal(domain_normalize_idn(name, len, out), -1); /* 64 */

    /* 57 "ü" encode to 63 bytes, 58 to 64 (fewer than 59 code points) */
    len = 0;
    test_domain_repeat(name, &len, uml, 57);
    assert_int_equal(domain_normalize_idn(name, len, out), 0);
    assert_int_equal(strlen(out), 63);
    len = 0;
    test_domain_repeat(name, &len, uml, 58);
    assert_int_equal(domain_normalize_idn(name, len, out), -1);
    len = 0;
    test_domain_repeat(name, &len, uml, 60);
    assert_int_equal(domain_normalize_idn(name, len, out), -1);
    /* 31 scattered code points: 62 bytes of UTF-8, a 75-byte A-label */
    len = 0;
    for (uint32_t i = 0; i < 31; i++) {
        uint32_t c = 0x7FF - i * 37;

        name[len++] = (char)(0xC0 | (c >> 6));
        name[len++] = (char)(0x80 | (c & 0x3F));
    }
    assert_true(len <= 63);
    assert_int_equal(domain_normalize_idn(name, len, out), -1);

    /* three labels of 63 "a" leave 61 bytes: "a" * 53 + "ü" takes 61 */
    len = 0;
    for (int i = 0; i < 3; i++) {
        test_domain_repeat(name, &len, "a", 63);
        test_domain_repeat(name, &len, ".", 1);
    }
    test_domain_repeat(name, &len, "a", 53);
    test_domain_repeat(name, &len, uml, 1);
    assert_int_equal(domain_normalize_idn(name, len, out), 0);
    assert_int_equal(strlen(out), 253);
    test_domain_repeat(name, &len, ".", 1); /* one trailing dot is fine */
    assert_int_equal(domain_normalize_idn(name, len, out), 0);
    assert_int_equal(strlen(out), 253);
    len = 0;
    for (int i = 0; i < 3; i++) {
        test_domain_repeat(name, &len, "a", 63);
        test_domain_repeat(name, &len, ".", 1);
    }
    test_domain_repeat(name, &len, "a", 54);
    test_domain_repeat(name, &len, uml, 1);
    assert_int_equal(domain_normalize_idn(name, len, out), -1); /* 254 */

    /* 344 bytes of UTF-8, 191 as A-labels */
    len = 0;
    for (int i = 0; i < 3; i++) {
        if (i > 0)
            test_domain_repeat(name, &len, ".", 1);
        test_domain_repeat(name, &len, uml, 57);
    }
    assert_true(len > DOMAIN_NAME_MAX);
    assert_int_equal(domain_normalize_idn(name, len, out), 0);
    assert_int_equal(strlen(out), 191);

    /* <len> bounds the name; a NUL inside it is no name byte */
    assert_int_equal(domain_normalize_idn("b\xc3\xbc"
                                          "cher.test,junk",
                                          12, out),
                     0);
    assert_string_equal(out, "xn--bcher-kva.test");
    assert_int_equal(domain_normalize_idn("b\xc3\xbc\0cher", 7, out), -1);
    /* a sequence cut short by <len> is not completed from past its end */
    assert_int_equal(domain_normalize_idn("b\xc3\xbc", 2, out), -1);
    assert_int_equal(domain_normalize_idn("b\xc3\xbc", 3, out), 0);

    /* 197 bytes leave 58, too few for the 63 of "ü" * 57 */
    len = 0;
    for (int i = 0; i < 3; i++) {
        test_domain_repeat(name, &len, "a", 63);
        test_domain_repeat(name, &len, ".", 1);
    }
    test_domain_repeat(name, &len, "aaaa.", 1);
    test_domain_repeat(name, &len, uml, 57);
    assert_int_equal(domain_normalize_idn(name, len, out), -1);
}

/* Each pattern form written with U-labels matches the A-label hosts. */
static void
test_domain_match_idn_table(void **state)
{
    static const struct {
        const char *pattern, *host;
        bool want;
    } cases[] = {
        { "b\xc3\xbc"
          "cher.test",
          "xn--bcher-kva.test", true },
        { "b\xc3\xbc"
          "cher.test",
          "www.xn--bcher-kva.test", false },
        { "b\xc3\xbc"
          "cher.test",
          "bcher.test", false },
        { "*.m\xc3\xbcnchen.example", "www.xn--mnchen-3ya.example", true },
        { "*.m\xc3\xbcnchen.example", "xn--mnchen-3ya.example", false },
        { ".\xe4\xbe\x8b\xe3\x81\x88.jp", "xn--r8jz45g.jp", true },
        { ".\xe4\xbe\x8b\xe3\x81\x88.jp", "a.b.xn--r8jz45g.jp", true },
        { ".\xe4\xbe\x8b\xe3\x81\x88.jp", "axn--r8jz45g.jp", false },
        { "B\xc3\x9c"
          "CHER.test",
          "xn--bcher-kva.test", true },
        { "b\xfc"
          "cher.test",
          "xn--bcher-kva.test", false }, /* invalid pattern */
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++)
        if (domain_match(cases[i].pattern, cases[i].host) != cases[i].want)
            fail_msg("case %zu: %s vs %s: want %d", i, cases[i].pattern,
                     cases[i].host, cases[i].want);
}

static void
test_domain_set_idn_patterns(void **state)
{
    static const char *const patterns[] = {
        "b\xc3\xbc"
        "cher.test",                    /* bücher.test */
        "*.m\xc3\xbcnchen.example",     /* *.münchen.example */
        ".\xe4\xbe\x8b\xe3\x81\x88.jp", /* .例え.jp */
        "shop.\xc3\xa9t\xc3\xa9.Test.", /* shop.été.test */
    };
    static const struct {
        const char *host;
        bool want;
    } cases[] = {
        { "xn--bcher-kva.test", true },
        { "www.xn--bcher-kva.test", false }, /* exact */
        { "www.xn--mnchen-3ya.example", true },
        { "a.b.xn--mnchen-3ya.example", true },
        { "xn--mnchen-3ya.example", false }, /* not the apex */
        { "xn--r8jz45g.jp", true },
        { "www.xn--r8jz45g.jp", true },
        { "jp", false },
        { "shop.xn--t-9fab.test", true },
        { "xn--t-9fab.test", false },
        /* hosts are never converted: raw UTF-8 matches nothing */
        { "b\xc3\xbc"
          "cher.test",
          false },
        { "www.m\xc3\xbcnchen.example", false },
    };
    struct domain_set *set = test_domain_set_of(patterns, ARRAY_LEN(patterns));

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        if (domain_set_match(set, cases[i].host) != cases[i].want) {
            domain_set_free(set);
            fail_msg("case %zu: %s: want %d", i, cases[i].host, cases[i].want);
        }
    }
    /* both spellings of one pattern are one pattern */
    assert_int_equal(domain_set_count(set), 4);
    assert_int_equal(
        domain_set_add(set, "xn--bcher-kva.test", strlen("xn--bcher-kva.test")),
        0);
    assert_int_equal(domain_set_count(set), 4);
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
        cmocka_unit_test(test_domain_punycode_rfc3492),
        cmocka_unit_test(test_domain_punycode_bounds),
        cmocka_unit_test(test_domain_normalize_idn_table),
        cmocka_unit_test(test_domain_normalize_idn_limits),
        cmocka_unit_test(test_domain_match_idn_table),
        cmocka_unit_test(test_domain_set_idn_patterns),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
