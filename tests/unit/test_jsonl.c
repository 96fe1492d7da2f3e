/* tests/unit/test_jsonl.c - JSON string escaping, line structure, the line
 * cap and timestamps. A small JSON string decoder below checks that what
 * jsonl_quote() writes reads back as the bytes that went in. */
#include "config.h"
#include "tests/unit/test.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logging/jsonl.h"

/* Decodes the JSON string literal at s[0..n) (quotes included) into <out>
 * (at least n bytes). Returns the decoded length, or -1 if the literal is
 * not valid JSON: a raw control byte, a bad escape, a lone surrogate,
 * invalid UTF-8, or bytes after the closing quote. */
static long
test_json_decode(const char *s, size_t n, char *out)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 1, o = 0;

    if (n < 2 || p[0] != '"')
        return -1;
    while (i < n && p[i] != '"') {
        unsigned long cp;

        if (p[i] < 0x20)
            return -1;
        if (p[i] != '\\') {
            /* Raw bytes must be valid UTF-8 themselves. */
            size_t len = p[i] < 0x80   ? 1
                         : p[i] < 0xc2 ? 0
                         : p[i] < 0xe0 ? 2
                         : p[i] < 0xf0 ? 3
                         : p[i] < 0xf5 ? 4
                                       : 0;
            if (len == 0 || i + len > n)
                return -1;
            cp = len == 1 ? p[i] : p[i] & (0x7f >> len);
            for (size_t k = 1; k < len; k++) {
                if ((p[i + k] & 0xc0) != 0x80)
                    return -1;
                cp = cp << 6 | (p[i + k] & 0x3f);
            }
            if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
                (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
                return -1;
            memcpy(out + o, p + i, len);
            o += len;
            i += len;
            continue;
        }
        if (++i >= n)
            return -1;
        switch (p[i++]) {
        case '"':
            out[o++] = '"';
            continue;
        case '\\':
            out[o++] = '\\';
            continue;
        case '/':
            out[o++] = '/';
            continue;
        case 'b':
            out[o++] = '\b';
            continue;
        case 'f':
            out[o++] = '\f';
            continue;
        case 'n':
            out[o++] = '\n';
            continue;
        case 'r':
            out[o++] = '\r';
            continue;
        case 't':
            out[o++] = '\t';
            continue;
        case 'u':
            break;
        default:
            return -1;
        }
        cp = 0;
        for (int k = 0; k < 4; k++, i++) {
            int c = i < n ? p[i] : 0;
            int d = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
            if (d < 0)
                return -1;
            cp = cp << 4 | (unsigned long)d;
        }
        if (cp >= 0xdc00 && cp <= 0xdfff)
            return -1;
        if (cp >= 0xd800 && cp <= 0xdbff) {
            unsigned long lo = 0;

            if (i + 6 > n || p[i] != '\\' || p[i + 1] != 'u')
                return -1;
            i += 2;
            for (int k = 0; k < 4; k++, i++) {
                int c = p[i];
                int d = c >= '0' && c <= '9'   ? c - '0'
                        : c >= 'a' && c <= 'f' ? c - 'a' + 10
                        : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                               : -1;
                if (d < 0)
                    return -1;
                lo = lo << 4 | (unsigned long)d;
            }
            if (lo < 0xdc00 || lo > 0xdfff)
                return -1;
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        }
        /* Encode as UTF-8. */
        if (cp < 0x80) {
            out[o++] = (char)cp;
        } else if (cp < 0x800) {
            out[o++] = (char)(0xc0 | cp >> 6);
            out[o++] = (char)(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            out[o++] = (char)(0xe0 | cp >> 12);
            out[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
            out[o++] = (char)(0x80 | (cp & 0x3f));
        } else {
            out[o++] = (char)(0xf0 | cp >> 18);
            out[o++] = (char)(0x80 | ((cp >> 12) & 0x3f));
            out[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
            out[o++] = (char)(0x80 | (cp & 0x3f));
        }
    }
    if (i + 1 != n)
        return -1; /* no closing quote, or bytes after it */
    return (long)o;
}

/* Quotes <s> into a fresh buffer and returns it NUL-terminated (the
 * output never holds a raw NUL); *len gets its length. */
static char *
test_quote(const char *s, size_t n, size_t *len)
{
    struct jsonl j;
    char *out;

    jsonl_init(&j);
    jsonl_quote(&j, s, n);
    assert_false(j.oom);
    out = malloc(j.len + 1);
    assert_non_null(out);
    memcpy(out, j.buf, j.len);
    out[j.len] = '\0';
    *len = j.len;
    jsonl_fini(&j);
    return out;
}

/* jsonl_str() finds a C string's end while it scans for bytes to escape:
 * it must write exactly what jsonl_strn() writes, for every byte at the
 * start, the middle and the end of a string, and for long plain runs. */
static void
test_jsonl_str_same_as_strn(void **state)
{
    char s[64];

    (void)state;
    for (int c = 1; c < 256; c++) {
        for (int at = 0; at < 3; at++) {
            struct jsonl a, b;

            memset(s, 'x', 40);
            s[40] = '\0';
            s[at == 0 ? 0 : at == 1 ? 20 : 39] = (char)c;
            jsonl_init(&a);
            jsonl_init(&b);
            jsonl_begin(&a);
            jsonl_begin(&b);
            jsonl_str(&a, "k", s);
            jsonl_strn(&b, "k", s, strlen(s));
            assert_int_equal(a.len, b.len);
            assert_memory_equal(a.buf, b.buf, a.len);
            jsonl_fini(&a);
            jsonl_fini(&b);
        }
    }
}

/* Encodes code point <cp> as UTF-8 into <out>; returns the length. */
static size_t
test_utf8_encode(unsigned long cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | cp >> 12);
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | cp >> 18);
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

#define S(lit) lit, sizeof(lit) - 1

static void
test_jsonl_quote_table(void **state)
{
    static const struct {
        const char *in;
        size_t n;
        const char *want;
    } cases[] = {
        { S(""), "\"\"" },
        { S("github.com"), "\"github.com\"" },
        { S("a\"b"), "\"a\\\"b\"" },
        { S("a\\b"), "\"a\\\\b\"" },
        { S("/path?q=1"), "\"/path?q=1\"" }, /* '/' is left alone */
        { S("\n\r\t\b\f"), "\"\\n\\r\\t\\b\\f\"" },
        { S("\x01\x1f"), "\"\\u0001\\u001f\"" },
        { S("\x7f"), "\"\\u007f\"" },
        { S("\x1b[31m"), "\"\\u001b[31m\"" }, /* terminal escapes */
        { "a\0b", 3, "\"a\\u0000b\"" },       /* NUL is data */
        { S("caf\xc3\xa9"), "\"caf\xc3\xa9\"" },
        { S("\xe2\x82\xac"), "\"\xe2\x82\xac\"" },         /* U+20AC */
        { S("\xf0\x9f\x98\x80"), "\"\xf0\x9f\x98\x80\"" }, /* U+1F600 */
        { S("\xf4\x8f\xbf\xbf"), "\"\xf4\x8f\xbf\xbf\"" }, /* U+10FFFF */
        { S("\xed\x9f\xbf"), "\"\xed\x9f\xbf\"" },         /* U+D7FF */
        { S("\xee\x80\x80"), "\"\xee\x80\x80\"" },         /* U+E000 */
        { S("\xe2\x80\xa8"), "\"\\u2028\"" },              /* JS safety */
        { S("\xe2\x80\xa9"), "\"\\u2029\"" },
        { S("\xe2\x80\xaa"), "\"\xe2\x80\xaa\"" }, /* U+202A */
        /* Invalid UTF-8: one replacement per byte. */
        { S("\x80"), "\"\\ufffd\"" },
        { S("\xff"), "\"\\ufffd\"" },
        { S("\xf5\x80\x80\x80"), "\"\\ufffd\\ufffd\\ufffd\\ufffd\"" },
        { S("\xc0\xaf"), "\"\\ufffd\\ufffd\"" }, /* overlong '/' */
        { S("\xc1\xbf"), "\"\\ufffd\\ufffd\"" },
        { S("\xe0\x80\xaf"), "\"\\ufffd\\ufffd\\ufffd\"" }, /* overlong */
        { S("\xf0\x80\x80\xaf"),
          "\"\\ufffd\\ufffd\\ufffd\\ufffd\"" },             /* overlong */
        { S("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"" }, /* U+D800 */
        { S("\xed\xbf\xbf"), "\"\\ufffd\\ufffd\\ufffd\"" }, /* U+DFFF */
        { S("\xf4\x90\x80\x80"),
          "\"\\ufffd\\ufffd\\ufffd\\ufffd\"" },  /* > U+10FFFF */
        { S("\xe2\x82"), "\"\\ufffd\\ufffd\"" }, /* truncated */
        { S("\xe2\x82"
            "A"),
          "\"\\ufffd\\ufffdA\"" },
        { S("x\xc3"), "\"x\\ufffd\"" },
        { S("\xc3\xa9\xa9"), "\"\xc3\xa9\\ufffd\"" }, /* stray cont. */
        { S("\xc3\x22"), "\"\\ufffd\\\"\"" },         /* quote stays */
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        size_t len;
        char *got = test_quote(cases[i].in, cases[i].n, &len);

        if (len != strlen(cases[i].want) ||
            memcmp(got, cases[i].want, len) != 0)
            fail_msg("case %zu: got %s want %s", i, got, cases[i].want);
        free(got);
    }
}

/* decode(quote(s)) == s for <s> valid UTF-8. */
static void
test_roundtrip_one(const char *s, size_t n, const char *what)
{
    size_t len;
    char *q = test_quote(s, n, &len);
    char *back = malloc(len + 1);
    long got;

    assert_non_null(back);
    got = test_json_decode(q, len, back);
    if (got < 0)
        fail_msg("%s: quoted form is not a valid JSON string", what);
    if ((size_t)got != n || memcmp(back, s, n) != 0)
        fail_msg("%s: round trip changed the bytes", what);
    free(back);
    free(q);
}

static void
test_jsonl_quote_roundtrip(void **state)
{
    static const struct {
        const char *s;
        size_t n;
    } cases[] = {
        { S("") },
        { S("plain ascii / with \"quotes\" and \\backslashes\\") },
        { S("GET /a%20b?x=\xc3\xa9&y=\xe2\x80\xa8 HTTP/1.1\r\n") },
        { S("\xf0\x9d\x84\x9e \xe2\x82\xac \xef\xbf\xbf \xef\xbf\xbd") },
        { "nul\0inside", 10 },
    };
    char buf[128];
    size_t n = 0;

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        snprintf(buf, sizeof(buf), "case %zu", i);
        test_roundtrip_one(cases[i].s, cases[i].n, buf);
    }
    /* Every ASCII byte, control bytes and DEL included. */
    for (int c = 0; c < 0x80; c++)
        buf[n++] = (char)c;
    test_roundtrip_one(buf, n, "all ascii");
}

/* Every Unicode scalar value, in blocks, survives the round trip. */
static void
test_jsonl_quote_roundtrip_all_code_points(void **state)
{
    enum { BLOCK = 4096 };
    char *buf = malloc(BLOCK * 4);
    char what[64];

    (void)state;
    assert_non_null(buf);
    for (unsigned long base = 0; base <= 0x10ffff; base += BLOCK) {
        size_t n = 0;

        for (unsigned long cp = base; cp < base + BLOCK && cp <= 0x10ffff;
             cp++) {
            if (cp >= 0xd800 && cp <= 0xdfff)
                continue;
            n += test_utf8_encode(cp, buf + n);
        }
        snprintf(what, sizeof(what), "block U+%04lX", base);
        test_roundtrip_one(buf, n, what);
    }
    free(buf);
}

/* Arbitrary bytes always give a valid JSON string that is pure ASCII
 * plus valid UTF-8, and invalid bytes decode to U+FFFD. */
static void
test_jsonl_quote_invalid_utf8(void **state)
{
    static const char in[] = "ok\xc3(\xa0\xa1\xe2\x28\xa1\xf0\x28\x8c\xbc";
    static const char want[] = "ok\xef\xbf\xbd(\xef\xbf\xbd\xef\xbf\xbd"
                               "\xef\xbf\xbd(\xef\xbf\xbd\xef\xbf\xbd("
                               "\xef\xbf\xbd\xef\xbf\xbd";
    char all[256], back[256 * 6 + 2];
    size_t len;
    char *q;
    long got;

    (void)state;
    q = test_quote(in, sizeof(in) - 1, &len);
    got = test_json_decode(q, len, back);
    assert_int_equal(got, sizeof(want) - 1);
    assert_memory_equal(back, want, sizeof(want) - 1);
    free(q);

    for (int c = 0; c < 256; c++)
        all[c] = (char)c;
    q = test_quote(all, sizeof(all), &len);
    assert_true(test_json_decode(q, len, back) > 0);
    free(q);
}

static void
test_jsonl_line_structure(void **state)
{
    static const char want[] =
        "{\"v\":1,\"event\":\"access\",\"path\":null,\"session\":null,"
        "\"port\":443,\"neg\":-9223372036854775808,"
        "\"big\":18446744073709551615,\"ok\":true,\"no\":false,"
        "\"addrs\":[\"1.2.3.4\"],\"host\":\"ex\\\"\"}\n";
    struct jsonl j;

    (void)state;
    jsonl_init(&j);
    /* A line left half-built must not leak into the next one. */
    jsonl_begin(&j);
    jsonl_str(&j, "junk", "junk");
    jsonl_begin(&j);
    jsonl_int(&j, "v", 1);
    jsonl_str(&j, "event", "access");
    jsonl_null(&j, "path");
    jsonl_str(&j, "session", NULL);
    jsonl_uint(&j, "port", 443);
    jsonl_int(&j, "neg", INT64_MIN);
    jsonl_uint(&j, "big", UINT64_MAX);
    jsonl_bool(&j, "ok", true);
    jsonl_bool(&j, "no", false);
    jsonl_raw(&j, "addrs", "[\"1.2.3.4\"]");
    jsonl_strn(&j, "host", "ex\"ample", 3);
    assert_int_equal(jsonl_end(&j), 0);
    assert_int_equal(j.len, sizeof(want) - 1);
    assert_memory_equal(j.buf, want, sizeof(want) - 1);

    jsonl_begin(&j);
    assert_int_equal(jsonl_end(&j), 0);
    assert_int_equal(j.len, 3);
    assert_memory_equal(j.buf, "{}\n", 3);
    jsonl_fini(&j);
    jsonl_fini(&j); /* fini twice is harmless */
}

/* Finds member <key>'s string value in line <line> and decodes it into
 * <out>. Returns its decoded length or -1. */
static long
test_member(const struct jsonl *j, const char *key, char *out)
{
    char pat[64];
    const char *p, *end = j->buf + j->len;
    size_t k;

    snprintf(pat, sizeof(pat), "\"%s\":\"", key);
    for (p = j->buf; p + strlen(pat) <= end; p++) {
        if (memcmp(p, pat, strlen(pat)) == 0)
            break;
    }
    if (p + strlen(pat) > end)
        return -1;
    p += strlen(pat) - 1;
    /* The closing quote is the first '"' not preceded by a backslash
     * escape; walk escapes pairwise. */
    for (k = 1; p + k < end && p[k] != '"'; k++) {
        if (p[k] == '\\')
            k++;
    }
    return test_json_decode(p, k + 1, out);
}

static void
test_jsonl_cap_ascii(void **state)
{
    size_t big = JSONL_LINE_MAX * 2;
    char *s = malloc(big), *back = malloc(big);
    struct jsonl j;
    long n;

    (void)state;
    assert_non_null(s);
    assert_non_null(back);
    memset(s, 'a', big);
    jsonl_init(&j);
    jsonl_begin(&j);
    jsonl_str(&j, "event", "access");
    jsonl_strn(&j, "path", s, big);
    jsonl_strn(&j, "path2", s, big); /* nothing left: just "..." */
    jsonl_uint(&j, "status", 200);
    assert_int_equal(jsonl_end(&j), 0);
    assert_true(j.len <= JSONL_LINE_MAX);
    assert_true(j.len > JSONL_LINE_MAX / 2);
    assert_memory_equal(j.buf + j.len - 15, ",\"status\":200}\n", 15);

    n = test_member(&j, "path", back);
    assert_true(n > 3);
    assert_memory_equal(back + n - 3, "...", 3);
    assert_memory_equal(back, s, (size_t)n - 3);
    n = test_member(&j, "path2", back);
    assert_int_equal(n, 3);
    assert_memory_equal(back, "...", 3);

    /* Just under the limit is not cut. */
    jsonl_begin(&j);
    jsonl_strn(&j, "p", s, 1000);
    assert_int_equal(jsonl_end(&j), 0);
    assert_int_equal(test_member(&j, "p", back), 1000);

    jsonl_fini(&j);
    free(s);
    free(back);
}

/* A cut lands between whole units: never inside a UTF-8 sequence or an
 * escape, whatever the alignment. */
static void
test_jsonl_cap_boundaries(void **state)
{
    static const struct {
        const char *unit;
        size_t n;
    } units[] = {
        { S("\xc3\xa9") },         /* 2-byte UTF-8 */
        { S("\xf0\x9f\x98\x80") }, /* 4-byte UTF-8 */
        { S("\n") },               /* 2-byte escape */
        { S("\x01") },             /* 6-byte escape */
        { S("\xff") },             /* 6-byte replacement */
    };
    size_t big = JSONL_LINE_MAX;
    char *s = malloc(big * 4), *back = malloc(big * 8);
    struct jsonl j;

    (void)state;
    assert_non_null(s);
    assert_non_null(back);
    jsonl_init(&j);
    for (size_t u = 0; u < ARRAY_LEN(units); u++) {
        /* Shift the alignment with a prefix of 0..5 ASCII bytes. */
        for (size_t shift = 0; shift < 6; shift++) {
            size_t n = 0;
            long got;

            for (size_t k = 0; k < shift; k++)
                s[n++] = 'x';
            while (n + units[u].n <= big * 4) {
                memcpy(s + n, units[u].unit, units[u].n);
                n += units[u].n;
            }
            jsonl_begin(&j);
            jsonl_strn(&j, "v", s, n);
            assert_int_equal(jsonl_end(&j), 0);
            assert_true(j.len <= JSONL_LINE_MAX);
            got = test_member(&j, "v", back);
            if (got < 3)
                fail_msg("unit %zu shift %zu: cut line is invalid", u, shift);
            assert_memory_equal(back + got - 3, "...", 3);
            if (units[u].unit[0] != '\xff')
                assert_memory_equal(back, s, (size_t)got - 3);
            if (units[u].unit[0] == '\xc3' || units[u].unit[0] == '\xf0')
                assert_int_equal(((size_t)got - 3 - shift) % units[u].n, 0);
        }
    }
    jsonl_fini(&j);
    free(s);
    free(back);
}

/* Raw JSON that does not fit is written as null, keeping the line valid;
 * scalars that do not fit at all make the line incomplete. */
static void
test_jsonl_cap_raw_and_overflow(void **state)
{
    size_t big = JSONL_LINE_MAX;
    char *raw = malloc(big + 3);
    struct jsonl j;

    (void)state;
    assert_non_null(raw);
    raw[0] = '"';
    memset(raw + 1, 'r', big);
    raw[big + 1] = '"';
    raw[big + 2] = '\0';
    jsonl_init(&j);
    jsonl_begin(&j);
    jsonl_raw(&j, "addrs", raw);
    assert_int_equal(jsonl_end(&j), 0);
    assert_int_equal(j.len, sizeof("{\"addrs\":null}\n") - 1);
    assert_memory_equal(j.buf, "{\"addrs\":null}\n", j.len);

    /* Keys are trusted and never cut: enough of them exhaust the line. */
    jsonl_begin(&j);
    for (int i = 0; i < JSONL_LINE_MAX / 8; i++)
        jsonl_int(&j, "k", i);
    assert_int_equal(jsonl_end(&j), -1);
    assert_true(j.oom);
    /* The next line starts clean. */
    jsonl_begin(&j);
    jsonl_int(&j, "k", 1);
    assert_int_equal(jsonl_end(&j), 0);
    assert_memory_equal(j.buf, "{\"k\":1}\n", j.len);
    jsonl_fini(&j);
    free(raw);
}

static void
test_jsonl_timestamp_format(void **state)
{
    static const struct {
        int64_t ms;
        const char *want;
    } cases[] = {
        { 0, "1970-01-01T00:00:00.000Z" },
        { 1, "1970-01-01T00:00:00.001Z" },
        { 1795347000123LL, "2026-11-22T11:30:00.123Z" }, /* SPEC example */
        { 1709251199999LL, "2024-02-29T23:59:59.999Z" }, /* leap day */
        { 946684800000LL, "2000-01-01T00:00:00.000Z" },
        { -1, "1969-12-31T23:59:59.999Z" }, /* floor, not trunc */
        { -1000, "1969-12-31T23:59:59.000Z" },
        { INT64_MAX, "9999-12-31T23:59:59.999Z" }, /* clamped */
        { INT64_MIN, "0000-01-01T00:00:00.000Z" },
    };
    char out[JSONL_TS_MAX];

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        memset(out, 'X', sizeof(out));
        jsonl_timestamp(cases[i].ms, out);
        if (strcmp(out, cases[i].want) != 0)
            fail_msg("case %zu: got %s want %s", i, out, cases[i].want);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jsonl_quote_table),
        cmocka_unit_test(test_jsonl_quote_roundtrip),
        cmocka_unit_test(test_jsonl_quote_roundtrip_all_code_points),
        cmocka_unit_test(test_jsonl_quote_invalid_utf8),
        cmocka_unit_test(test_jsonl_str_same_as_strn),
        cmocka_unit_test(test_jsonl_line_structure),
        cmocka_unit_test(test_jsonl_cap_ascii),
        cmocka_unit_test(test_jsonl_cap_boundaries),
        cmocka_unit_test(test_jsonl_cap_raw_and_overflow),
        cmocka_unit_test(test_jsonl_timestamp_format),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
