/* logging/jsonl.c - one JSON object per line, with string escaping that
 * keeps every line valid UTF-8 and valid JSON whatever bytes a client sent.
 * No I/O: the caller hands j->buf to a sink. */
#include "config.h"

#include "logging/jsonl.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Room kept free at the end of a line once a long string has been cut, so
 * the fields that follow it (numbers, short names) and the closing "}\n"
 * still fit under JSONL_LINE_MAX. */
#define JSONL_TAIL_RESERVE 1024

/* What a cut string ends with, inside its quotes. */
#define JSONL_CUT_MARK "..."
#define JSONL_CUT_MARK_LEN (sizeof(JSONL_CUT_MARK) - 1)

/* The longest escape one input unit can produce: "\u2028" or "\ufffd". */
#define JSONL_ESC_MAX (sizeof("\\u0000") - 1)

/* The line buffer starts small: most access lines are a few hundred
 * bytes. */
#define JSONL_INITIAL_CAP 512

#define JSONL_CLOSE "}\n"
#define JSONL_CLOSE_LEN (sizeof(JSONL_CLOSE) - 1)

void
jsonl_init(struct jsonl *j)
{
    memset(j, 0, sizeof(*j));
}

void
jsonl_fini(struct jsonl *j)
{
    free(j->buf);
    memset(j, 0, sizeof(*j));
}

/* Makes room for <extra> more bytes. The buffer never grows past
 * JSONL_LINE_MAX: anything that would need more marks the line incomplete,
 * which is what callers check in jsonl_end(). */
static int
jsonl_grow(struct jsonl *j, size_t extra)
{
    size_t want, cap;
    char *nbuf;

    if (j->oom)
        return -1;
    if (extra > JSONL_LINE_MAX || j->len > JSONL_LINE_MAX - extra) {
        j->oom = true;
        return -1;
    }
    want = j->len + extra;
    if (want <= j->cap)
        return 0;
    cap = j->cap != 0 ? j->cap : JSONL_INITIAL_CAP;
    while (cap < want)
        cap *= 2;
    if (cap > JSONL_LINE_MAX)
        cap = JSONL_LINE_MAX;
    nbuf = realloc(j->buf, cap);
    if (nbuf == NULL) {
        j->oom = true;
        return -1;
    }
    j->buf = nbuf;
    j->cap = cap;
    return 0;
}

/* The common case inline: the buffer already has room (cap never exceeds
 * JSONL_LINE_MAX, so fitting in it is within the limit). */
static inline int
jsonl_reserve(struct jsonl *j, size_t extra)
{
    if (!j->oom && extra <= j->cap - j->len)
        return 0;
    return jsonl_grow(j, extra);
}

static void
jsonl_put(struct jsonl *j, const char *s, size_t n)
{
    if (jsonl_reserve(j, n) == -1)
        return;
    memcpy(j->buf + j->len, s, n);
    j->len += n;
}

static void
jsonl_puts(struct jsonl *j, const char *s)
{
    jsonl_put(j, s, strlen(s));
}

void
jsonl_begin(struct jsonl *j)
{
    j->len = 0;
    j->need_comma = false;
    j->oom = false;
    jsonl_put(j, "{", 1);
}

/* Writes the separator and "key": for the next member. */
static void
jsonl_key(struct jsonl *j, const char *key)
{
    size_t n = strlen(key);
    char *p;

    /* Keys are the program's own names: nothing to escape. */
    if (jsonl_reserve(j, n + 4) == -1)
        return;
    p = j->buf + j->len;
    if (j->need_comma)
        *p++ = ',';
    j->need_comma = true;
    *p++ = '"';
    memcpy(p, key, n);
    p += n;
    *p++ = '"';
    *p++ = ':';
    j->len = (size_t)(p - j->buf);
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0 if the bytes there
 * do not start one. Overlong forms, UTF-16 surrogates and code points past
 * U+10FFFF are invalid (RFC 3629 section 4). */
static size_t
jsonl_utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    unsigned char lo = 0x80, hi = 0xbf;
    size_t len;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0; /* overlong below U+0800 */
        else if (c == 0xed)
            hi = 0x9f; /* U+D800..U+DFFF */
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90; /* overlong below U+10000 */
        else if (c == 0xf4)
            hi = 0x8f; /* past U+10FFFF */
    } else {
        return 0; /* continuation byte, 0xc0/0xc1 overlong, or 0xf5.. */
    }
    if (n < len)
        return 0;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++) {
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    }
    return len;
}

/* Escapes the unit at s[0..n) into <out> (at least JSONL_ESC_MAX bytes
 * when the unit needs escaping). Sets *used to the input bytes consumed and
 * returns the output length. When the unit passes through unchanged, <out>
 * is left alone and *copy is set: the caller copies the input bytes. */
static size_t
jsonl_escape_unit(const unsigned char *s, size_t n, char *out, size_t *used,
                  bool *copy)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char c = s[0];
    size_t len;

    *copy = false;
    *used = 1;
    switch (c) {
    case '"':
        memcpy(out, "\\\"", 2);
        return 2;
    case '\\':
        memcpy(out, "\\\\", 2);
        return 2;
    case '\n':
        memcpy(out, "\\n", 2);
        return 2;
    case '\r':
        memcpy(out, "\\r", 2);
        return 2;
    case '\t':
        memcpy(out, "\\t", 2);
        return 2;
    case '\b':
        memcpy(out, "\\b", 2);
        return 2;
    case '\f':
        memcpy(out, "\\f", 2);
        return 2;
    }
    if (c < 0x20 || c == 0x7f) {
        memcpy(out, "\\u00", 4);
        out[4] = hex[c >> 4];
        out[5] = hex[c & 0xf];
        return JSONL_ESC_MAX;
    }
    len = jsonl_utf8_len(s, n);
    if (len == 0) {
        /* One replacement per bad byte: resynchronise on the next one. */
        memcpy(out, "\\ufffd", JSONL_ESC_MAX);
        return JSONL_ESC_MAX;
    }
    *used = len;
    /* U+2028 and U+2029 are valid JSON but end a line in JavaScript. */
    if (len == 3 && c == 0xe2 && s[1] == 0x80 && (s[2] & 0xfe) == 0xa8) {
        memcpy(out, s[2] == 0xa8 ? "\\u2028" : "\\u2029", JSONL_ESC_MAX);
        return JSONL_ESC_MAX;
    }
    *copy = true;
    return len;
}

/* Output length of the whole escaped string, quotes excluded. */
static size_t
jsonl_escaped_len(const unsigned char *s, size_t n)
{
    char tmp[JSONL_ESC_MAX];
    size_t total = 0, used;
    bool copy;

    for (size_t i = 0; i < n; i += used)
        total += jsonl_escape_unit(s + i, n - i, tmp, &used, &copy);
    return total;
}

/* Bytes that go into a JSON string as they are: printable ASCII but the
 * quote and the backslash. NUL is not one, which ends a C string scan. */
#define JSONL_PLAIN_ROW(b)                                                     \
    (b) >= 0x20 && (b) < 0x7f && (b) != '"' && (b) != '\\'
#define JSONL_PLAIN_4(b)                                                       \
    JSONL_PLAIN_ROW(b), JSONL_PLAIN_ROW((b) + 1), JSONL_PLAIN_ROW((b) + 2),    \
        JSONL_PLAIN_ROW((b) + 3)
#define JSONL_PLAIN_16(b)                                                      \
    JSONL_PLAIN_4(b), JSONL_PLAIN_4((b) + 4), JSONL_PLAIN_4((b) + 8),          \
        JSONL_PLAIN_4((b) + 12)
#define JSONL_PLAIN_64(b)                                                      \
    JSONL_PLAIN_16(b), JSONL_PLAIN_16((b) + 16), JSONL_PLAIN_16((b) + 32),     \
        JSONL_PLAIN_16((b) + 48)
static const bool jsonl_plain[256] = { JSONL_PLAIN_64(0), JSONL_PLAIN_64(64),
                                       JSONL_PLAIN_64(128),
                                       JSONL_PLAIN_64(192) };

/* Length of the run of plain bytes at the start of s[0..n). */
static size_t
jsonl_plain_run(const unsigned char *s, size_t n)
{
    size_t i = 0;

    while (i < n && jsonl_plain[s[i]])
        i++;
    return i;
}

static void jsonl_quote_from(struct jsonl *j, const char *str, size_t n,
                             size_t plain);

void
jsonl_quote(struct jsonl *j, const char *str, size_t n)
{
    jsonl_quote_from(j, str, n, jsonl_plain_run((const unsigned char *)str, n));
}

/* Quotes a C string: the plain-run scan also finds the end of the common
 * plain string, so it is read once, not twice (strlen, then scan). */
static void
jsonl_quote_cstr(struct jsonl *j, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t plain = 0;

    while (jsonl_plain[s[plain]])
        plain++;
    jsonl_quote_from(
        j, str, s[plain] == '\0' ? plain : plain + strlen(str + plain), plain);
}

/* Quotes s[0..n), of which the first <plain> bytes are known plain. */
static void
jsonl_quote_from(struct jsonl *j, const char *str, size_t n, size_t plain)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t room, need, used, olen;
    bool copy, cut;
    char esc[JSONL_ESC_MAX];

    /* Fast path: hosts, ids and most paths are printable ASCII with
     * nothing to escape, and fit: copy them whole. */
    if (plain == n && j->len + n + 2 + JSONL_TAIL_RESERVE < JSONL_LINE_MAX) {
        if (jsonl_reserve(j, n + 2) == -1)
            return;
        j->buf[j->len++] = '"';
        memcpy(j->buf + j->len, s, n);
        j->len += n;
        j->buf[j->len++] = '"';
        return;
    }

    /* Room for the body, leaving the quotes and the tail reserve out. A
     * line that is already past the reserve still gets its "..." so the
     * member stays well-formed while there is any room at all. */
    if (j->len + 2 + JSONL_TAIL_RESERVE < JSONL_LINE_MAX)
        room = JSONL_LINE_MAX - JSONL_TAIL_RESERVE - j->len - 2;
    else
        room = JSONL_CUT_MARK_LEN;
    need = jsonl_escaped_len(s, n);
    cut = need > room;
    if (cut)
        room -= JSONL_CUT_MARK_LEN;
    else
        room = need;
    if (jsonl_reserve(j, room + 2 + (cut ? JSONL_CUT_MARK_LEN : 0)) == -1)
        return;

    j->buf[j->len++] = '"';
    /* Whole units only, so a cut never splits a UTF-8 sequence or an
     * escape. */
    for (size_t i = 0; i < n; i += used) {
        olen = jsonl_escape_unit(s + i, n - i, esc, &used, &copy);
        if (olen > room)
            break;
        memcpy(j->buf + j->len, copy ? (const char *)s + i : esc, olen);
        j->len += olen;
        room -= olen;
    }
    if (cut) {
        memcpy(j->buf + j->len, JSONL_CUT_MARK, JSONL_CUT_MARK_LEN);
        j->len += JSONL_CUT_MARK_LEN;
    }
    j->buf[j->len++] = '"';
}

void
jsonl_str(struct jsonl *j, const char *key, const char *s)
{
    if (s == NULL) {
        jsonl_null(j, key);
        return;
    }
    jsonl_key(j, key);
    jsonl_quote_cstr(j, s);
}

void
jsonl_strn(struct jsonl *j, const char *key, const char *s, size_t n)
{
    if (s == NULL) {
        jsonl_null(j, key);
        return;
    }
    jsonl_key(j, key);
    jsonl_quote(j, s, n);
}

/* Writes the decimal digits of <v> ending at <end>; returns where they
 * start. Several numbers go into every access line: no printf. */
static char *
jsonl_u64_digits(char *end, uint64_t v)
{
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    return end;
}

void
jsonl_int(struct jsonl *j, const char *key, int64_t v)
{
    char num[sizeof("-9223372036854775808")];
    char *end = num + sizeof(num), *p;

    /* The magnitude of INT64_MIN does not fit an int64_t: go unsigned. */
    p = jsonl_u64_digits(end, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v);
    if (v < 0)
        *--p = '-';
    jsonl_key(j, key);
    jsonl_put(j, p, (size_t)(end - p));
}

void
jsonl_uint(struct jsonl *j, const char *key, uint64_t v)
{
    char num[sizeof("18446744073709551615")];
    char *end = num + sizeof(num), *p = jsonl_u64_digits(end, v);

    jsonl_key(j, key);
    jsonl_put(j, p, (size_t)(end - p));
}

void
jsonl_bool(struct jsonl *j, const char *key, bool v)
{
    jsonl_key(j, key);
    jsonl_puts(j, v ? "true" : "false");
}

void
jsonl_null(struct jsonl *j, const char *key)
{
    jsonl_key(j, key);
    jsonl_puts(j, "null");
}

void
jsonl_raw(struct jsonl *j, const char *key, const char *raw)
{
    size_t n = strlen(raw);

    jsonl_key(j, key);
    /* Raw JSON cannot be cut and stay valid: a value too big for the line
     * is logged as null rather than making the whole line incomplete. */
    if (j->len + n + JSONL_TAIL_RESERVE > JSONL_LINE_MAX)
        jsonl_puts(j, "null");
    else
        jsonl_put(j, raw, n);
}

int
jsonl_end(struct jsonl *j)
{
    jsonl_put(j, JSONL_CLOSE, JSONL_CLOSE_LEN);
    return j->oom ? -1 : 0;
}

/* RFC 3339 wants four-digit years; out-of-range clocks are clamped rather
 * than printed in a form log readers would reject. */
#define JSONL_YEAR_MIN 0
#define JSONL_YEAR_MAX 9999
#define JSONL_TM_YEAR_BASE 1900
#define JSONL_MS_PER_S 1000
#define JSONL_TS_EARLIEST "0000-01-01T00:00:00.000Z"
#define JSONL_TS_LATEST "9999-12-31T23:59:59.999Z"

/* Writes <v> as exactly <width> decimal digits at <p>; returns the end. */
static char *
jsonl_digits(char *p, unsigned v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + width;
}

void
jsonl_timestamp(int64_t ms_since_epoch, char out[JSONL_TS_MAX])
{
    int64_t secs = ms_since_epoch / JSONL_MS_PER_S;
    int64_t ms = ms_since_epoch % JSONL_MS_PER_S;
    struct tm tm;
    time_t t;
    char *p = out;

    /* Floor division: -1 ms is 23:59:59.999 of the day before. */
    if (ms < 0) {
        ms += JSONL_MS_PER_S;
        secs--;
    }
    t = (time_t)secs;
    if (gmtime_r(&t, &tm) == NULL ||
        tm.tm_year > JSONL_YEAR_MAX - JSONL_TM_YEAR_BASE ||
        tm.tm_year < JSONL_YEAR_MIN - JSONL_TM_YEAR_BASE) {
        memcpy(out, secs < 0 ? JSONL_TS_EARLIEST : JSONL_TS_LATEST,
               sizeof(JSONL_TS_LATEST));
        return;
    }
    /* Digits by hand: every field is in range here, and snprintf's
     * int-sized worst case would not fit JSONL_TS_MAX. */
    p = jsonl_digits(p, (unsigned)(tm.tm_year + JSONL_TM_YEAR_BASE), 4);
    *p++ = '-';
    p = jsonl_digits(p, (unsigned)tm.tm_mon + 1, 2);
    *p++ = '-';
    p = jsonl_digits(p, (unsigned)tm.tm_mday, 2);
    *p++ = 'T';
    p = jsonl_digits(p, (unsigned)tm.tm_hour, 2);
    *p++ = ':';
    p = jsonl_digits(p, (unsigned)tm.tm_min, 2);
    *p++ = ':';
    p = jsonl_digits(p, (unsigned)tm.tm_sec, 2);
    *p++ = '.';
    p = jsonl_digits(p, (unsigned)ms, 3);
    *p++ = 'Z';
    *p = '\0';
}
