/* tests/fuzz/fuzz_jsonl.c - libFuzzer target for JSON string escaping
 * (logging/jsonl.c). Quotes arbitrary bytes, then reads the result back
 * with the small decoder below: the literal must always be valid JSON made
 * of printable ASCII and valid UTF-8, and for valid UTF-8 input it must
 * decode to exactly the input. Any violation aborts. */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "logging/jsonl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CUT_MARK "..."
#define FUZZ_CUT_MARK_LEN (sizeof(FUZZ_CUT_MARK) - 1)

/* Length of the valid UTF-8 sequence at s[0..n), 0 if there is none. */
static size_t
fuzz_utf8_len(const uint8_t *s, size_t n)
{
    uint32_t cp;
    size_t len;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        len = 2;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        len = 3;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        len = 4;
    else
        return 0;
    if (n < len)
        return 0;
    cp = s[0] & (0x7f >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
        return 0;
    return len;
}

static bool
fuzz_utf8_valid(const uint8_t *s, size_t n)
{
    size_t len;

    for (size_t i = 0; i < n; i += len) {
        len = fuzz_utf8_len(s + i, n - i);
        if (len == 0)
            return false;
    }
    return true;
}

static int
fuzz_hex4(const uint8_t *p, uint32_t *out)
{
    *out = 0;
    for (int i = 0; i < 4; i++) {
        int c = p[i], d;

        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        *out = *out << 4 | (uint32_t)d;
    }
    return 0;
}

static size_t
fuzz_utf8_put(uint32_t cp, uint8_t *out)
{
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xc0 | cp >> 6);
        out[1] = (uint8_t)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xe0 | cp >> 12);
        out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (uint8_t)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (uint8_t)(0xf0 | cp >> 18);
    out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (uint8_t)(0x80 | (cp & 0x3f));
    return 4;
}

/* Decodes the JSON string literal s[0..n) (quotes included) into <out>
 * (at least n bytes). Returns the decoded length, or -1 if it is not
 * exactly one valid literal. Stricter than JSON where jsonl promises more:
 * raw DEL and raw U+2028/U+2029 are rejected too. */
static long
fuzz_json_decode(const uint8_t *s, size_t n, uint8_t *out)
{
    size_t i = 1, o = 0, len;
    uint32_t cp, lo;

    if (n < 2 || s[0] != '"')
        return -1;
    while (i < n && s[i] != '"') {
        if (s[i] < 0x20 || s[i] == 0x7f)
            return -1;
        if (s[i] != '\\') {
            len = fuzz_utf8_len(s + i, n - i);
            if (len == 0)
                return -1;
            if (len == 3 && s[i] == 0xe2 && s[i + 1] == 0x80 &&
                (s[i + 2] == 0xa8 || s[i + 2] == 0xa9))
                return -1;
            memcpy(out + o, s + i, len);
            o += len;
            i += len;
            continue;
        }
        if (i + 1 >= n)
            return -1;
        i += 2;
        switch (s[i - 1]) {
        case '"':
        case '\\':
        case '/':
            out[o++] = s[i - 1];
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
        if (i + 4 > n || fuzz_hex4(s + i, &cp) == -1)
            return -1;
        i += 4;
        if (cp >= 0xdc00 && cp <= 0xdfff)
            return -1;
        if (cp >= 0xd800 && cp <= 0xdbff) {
            if (i + 6 > n || s[i] != '\\' || s[i + 1] != 'u' ||
                fuzz_hex4(s + i + 2, &lo) == -1 || lo < 0xdc00 || lo > 0xdfff)
                return -1;
            i += 6;
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        }
        o += fuzz_utf8_put(cp, out + o);
    }
    if (i + 1 != n)
        return -1;
    return (long)o;
}

/* Checks one quoted literal against its input. */
static void
fuzz_check(const uint8_t *in, size_t n, const uint8_t *q, size_t qlen)
{
    uint8_t *back = malloc(qlen);
    long got;

    if (back == NULL)
        return;
    got = fuzz_json_decode(q, qlen, back);
    if (got < 0)
        abort(); /* not a valid JSON string */
    if (fuzz_utf8_valid(in, n)) {
        size_t g = (size_t)got;

        if (g == n && memcmp(back, in, n) == 0) {
            free(back);
            return;
        }
        /* Otherwise only a cut is allowed: a prefix of whole characters,
         * then "...". */
        if (g < FUZZ_CUT_MARK_LEN ||
            memcmp(back + g - FUZZ_CUT_MARK_LEN, FUZZ_CUT_MARK,
                   FUZZ_CUT_MARK_LEN) != 0 ||
            g - FUZZ_CUT_MARK_LEN >= n ||
            memcmp(back, in, g - FUZZ_CUT_MARK_LEN) != 0)
            abort();
    }
    free(back);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char head[] = "{\"k\":";
    struct jsonl j;

    jsonl_init(&j);
    jsonl_quote(&j, (const char *)data, size);
    if (!j.oom)
        fuzz_check(data, size, (const uint8_t *)j.buf, j.len);

    /* The same bytes as a member of a whole line: one line, closed. */
    jsonl_begin(&j);
    jsonl_strn(&j, "k", (const char *)data, size);
    if (jsonl_end(&j) == 0) {
        if (j.len > JSONL_LINE_MAX || j.len < sizeof(head) - 1 + 2 + 2 ||
            memcmp(j.buf, head, sizeof(head) - 1) != 0 ||
            memcmp(j.buf + j.len - 2, "}\n", 2) != 0 ||
            memchr(j.buf, '\n', j.len - 1) != NULL)
            abort();
        fuzz_check(data, size, (const uint8_t *)j.buf + sizeof(head) - 1,
                   j.len - (sizeof(head) - 1) - 2);
    }
    jsonl_fini(&j);
    return 0;
}
