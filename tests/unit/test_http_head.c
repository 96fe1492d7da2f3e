/* tests/unit/test_http_head.c - request/response head parsing, framing,
 * hop-by-hop fields and the chunked validator (proxy/http_head.c). */
#include "config.h"
#include "tests/unit/test.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "proxy/http_head.h"

/* Byte strings that may hold NUL: pointer and length without the
 * literal's terminator. */
#define RAW(s) s, sizeof(s) - 1

#define BIG_MAX 65536

static const char *
result_name(enum http_head_result r)
{
    switch (r) {
    case HTTP_HEAD_DONE:
        return "DONE";
    case HTTP_HEAD_AGAIN:
        return "AGAIN";
    case HTTP_HEAD_BAD:
        return "BAD";
    case HTTP_HEAD_TOO_BIG:
        return "TOO_BIG";
    }
    return "?";
}

static bool
slice_is(struct slice s, const char *want)
{
    return s.len == strlen(want) && memcmp(s.p, want, s.len) == 0;
}

static struct slice
slice_of(const char *s)
{
    struct slice sl = { s, strlen(s) };

    return sl;
}

/* ---- requests ---- */

static void
test_http_request_parse_valid(void **state)
{
    static const struct {
        const char *head, *rest;
        const char *method, *target;
        int minor;
        size_t n_fields;
        const char *name0, *value0; /* first field, if any */
    } cases[] = {
        { "GET http://example.com/a?b=c HTTP/1.1\r\n"
          "Host: example.com\r\n\r\n",
          "", "GET", "http://example.com/a?b=c", 1, 1, "Host", "example.com" },
        { "CONNECT example.com:443 HTTP/1.1\r\n"
          "Host: example.com:443\r\n"
          "Proxy-Authorization: Basic eDp5\r\n\r\n",
          "\x16\x03\x01", "CONNECT", "example.com:443", 1, 2, "Host",
          "example.com:443" },
        { "GET http://a/ HTTP/1.0\r\n\r\n", "", "GET", "http://a/", 0, 0, NULL,
          NULL },
        /* lone LF line endings (RFC 9112 2.2) */
        { "GET http://a/ HTTP/1.1\nHost: a\nX-A: b\n\n", "body", "GET",
          "http://a/", 1, 2, "Host", "a" },
        /* mixed endings */
        { "GET http://a/ HTTP/1.1\r\nHost: a\n\r\n", "", "GET", "http://a/", 1,
          1, "Host", "a" },
        /* leading empty lines are skipped but part of the head */
        { "\r\n\r\n\nPOST http://a/p HTTP/1.1\r\nContent-Length: 3\r\n\r\n",
          "abc", "POST", "http://a/p", 1, 1, "Content-Length", "3" },
        /* OWS trimmed both sides, inner spaces and tabs kept */
        { "GET http://a/ HTTP/1.1\r\nX-Y: \t a \t b \t\r\n\r\n", "", "GET",
          "http://a/", 1, 1, "X-Y", "a \t b" },
        /* empty value, no OWS after colon */
        { "GET http://a/ HTTP/1.1\r\nX:\r\nY:z\r\n\r\n", "", "GET", "http://a/",
          1, 2, "X", "" },
        /* obs-text in a value and every tchar in name and method */
        { "M!#$%&'*+-.^_`|~z9 * HTTP/1.1\r\n"
          "!#$%&'*+-.^_`|~aZ09: caf\xc3\xa9 \x7e\x21\r\n\r\n",
          "", "M!#$%&'*+-.^_`|~z9", "*", 1, 1, "!#$%&'*+-.^_`|~aZ09",
          "caf\xc3\xa9 \x7e\x21" },
        /* a body that looks like a head stays out of head_len */
        { "GET http://a/ HTTP/1.1\r\n\r\n", "GET http://b/ HTTP/1.1\r\n\r\n",
          "GET", "http://a/", 1, 0, NULL, NULL },
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        static struct http_request req;
        char buf[1024];
        size_t hl = strlen(cases[i].head), rl = strlen(cases[i].rest);
        const char *why = NULL;
        enum http_head_result r;

        memcpy(buf, cases[i].head, hl);
        memcpy(buf + hl, cases[i].rest, rl);
        r = http_request_parse(buf, hl + rl, BIG_MAX, &req, &why);
        if (r != HTTP_HEAD_DONE)
            fail_msg("case %zu: %s (%s)", i, result_name(r), why ? why : "-");
        if (req.head_len != hl)
            fail_msg("case %zu: head_len %zu, want %zu", i, req.head_len, hl);
        if (!slice_is(req.method, cases[i].method) ||
            !slice_is(req.target, cases[i].target))
            fail_msg("case %zu: method/target '%.*s' '%.*s'", i,
                     (int)req.method.len, req.method.p, (int)req.target.len,
                     req.target.p);
        if (req.version_minor != cases[i].minor)
            fail_msg("case %zu: minor %d", i, req.version_minor);
        if (req.n_fields != cases[i].n_fields)
            fail_msg("case %zu: %zu fields, want %zu", i, req.n_fields,
                     cases[i].n_fields);
        if (cases[i].name0 != NULL &&
            (!slice_is(req.fields[0].name, cases[i].name0) ||
             !slice_is(req.fields[0].value, cases[i].value0)))
            fail_msg("case %zu: field 0 '%.*s' = '%.*s'", i,
                     (int)req.fields[0].name.len, req.fields[0].name.p,
                     (int)req.fields[0].value.len, req.fields[0].value.p);
    }
}

/* Every proper prefix of a valid head is AGAIN; the whole head is DONE, and
 * a max_bytes of exactly the head's size is enough. */
static void
test_http_request_parse_again_every_prefix(void **state)
{
    static const char *const heads[] = {
        "GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n"
        "Accept: */*\r\n\r\n",
        "\r\n\nCONNECT h:443 HTTP/1.0\nA:\n\n",
        "PUT http://a/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\nX:  y  \r\n"
        "\r\n",
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(heads); i++) {
        static struct http_request req;
        size_t hl = strlen(heads[i]);
        enum http_head_result r;

        for (size_t n = 0; n < hl; n++) {
            r = http_request_parse(heads[i], n, BIG_MAX, &req, NULL);
            if (r != HTTP_HEAD_AGAIN)
                fail_msg("head %zu prefix %zu: %s", i, n, result_name(r));
            r = http_request_parse(heads[i], n, hl, &req, NULL);
            if (r != HTTP_HEAD_AGAIN)
                fail_msg("head %zu prefix %zu max %zu: %s", i, n, hl,
                         result_name(r));
        }
        r = http_request_parse(heads[i], hl, hl, &req, NULL);
        if (r != HTTP_HEAD_DONE || req.head_len != hl)
            fail_msg("head %zu whole: %s", i, result_name(r));
        r = http_request_parse(heads[i], hl, hl - 1, &req, NULL);
        if (r != HTTP_HEAD_TOO_BIG)
            fail_msg("head %zu max one short: %s", i, result_name(r));
    }
}

static void
test_http_request_parse_bad(void **state)
{
    static const struct {
        const char *raw;
        size_t len;
        const char *what;
    } cases[] = {
        { RAW("GET http://a/ HTTP/1.1\r\nX: a\rb\r\n\r\n"), "bare CR value" },
        { RAW("GET http://a/ HTTP/1.1\rX: a\r\n\r\n"), "bare CR line" },
        { RAW("GET http://a/ HTTP/1.1\r\nX: a\r\n\r\r\n"), "bare CR end" },
        { RAW("\r\r\nGET http://a/ HTTP/1.1\r\n\r\n"), "bare CR lead" },
        { RAW("GET http://a/ HTTP/1.1\r\nX: a\0b\r\n\r\n"), "NUL in value" },
        { RAW("GET http://a/ HTTP/1.1\r\nX\0: a\r\n\r\n"), "NUL in name" },
        { RAW("GET\0http://a/ HTTP/1.1\r\n\r\n"), "NUL in line" },
        { RAW("GET http://a/ HTTP/1.1\r\nX: a\x01\r\n\r\n"), "CTL in value" },
        { RAW("GET http://a/ HTTP/1.1\r\nX: a\x7f\r\n\r\n"), "DEL in value" },
        { RAW("GET http://a/ HTTP/1.1\r\nX: a\r\n b\r\n\r\n"), "obs-fold" },
        { RAW("GET http://a/ HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n"),
          "obs-fold tab" },
        { RAW("GET http://a/ HTTP/1.1\r\n X: a\r\n\r\n"),
          "space before first field" },
        { RAW("GET http://a/ HTTP/1.1\r\nTransfer-Encoding : chunked\r\n"
              "\r\n"),
          "space before colon" },
        { RAW("GET http://a/ HTTP/1.1\r\nX\t: a\r\n\r\n"), "tab before colon" },
        { RAW("GET http://a/ HTTP/1.1\r\n: a\r\n\r\n"), "empty name" },
        { RAW("GET http://a/ HTTP/1.1\r\nX-A\r\n\r\n"), "no colon" },
        { RAW("GET http://a/ HTTP/1.1\r\nX(A): b\r\n\r\n"), "name not token" },
        { RAW("GET http://a/ HTTP/1.1\r\nX\xc3\xa9: b\r\n\r\n"), "8-bit name" },
        { RAW("G(T http://a/ HTTP/1.1\r\n\r\n"), "method not token" },
        { RAW(" GET http://a/ HTTP/1.1\r\n\r\n"), "leading space" },
        { RAW("GET  http://a/ HTTP/1.1\r\n\r\n"), "two spaces" },
        { RAW("GET\thttp://a/ HTTP/1.1\r\n\r\n"), "tab separator" },
        { RAW("GET http://a/b c HTTP/1.1\r\n\r\n"), "space in target" },
        { RAW("GET http://a/\xc3\xa9 HTTP/1.1\r\n\r\n"), "8-bit target" },
        { RAW("GET http://a/\x7f HTTP/1.1\r\n\r\n"), "DEL in target" },
        { RAW("GET http://a/ HTTP/1.1 \r\n\r\n"), "space after version" },
        { RAW("GET http://a/ HTTP/1.2\r\n\r\n"), "HTTP/1.2" },
        { RAW("GET http://a/ HTTP/2.0\r\n\r\n"), "HTTP/2.0" },
        { RAW("GET http://a/ HTTP/0.9\r\n\r\n"), "HTTP/0.9" },
        { RAW("GET http://a/ http/1.1\r\n\r\n"), "lower-case version" },
        { RAW("GET http://a/ HTTP/1.10\r\n\r\n"), "HTTP/1.10" },
        { RAW("GET http://a/ HTTP/1.1x\r\n\r\n"), "junk after version" },
        { RAW("GET http://a/\r\n\r\n"), "no version" },
        { RAW("GET\r\n\r\n"), "method only" },
        /* found before the head is complete: BAD, not AGAIN */
        { RAW("GET http://a/ HTTP/1.1\r\nX: \0"), "NUL while incomplete" },
        { RAW("GET http://a/ HTTP/3"), "version while incomplete" },
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        static struct http_request req;
        const char *why = NULL;
        enum http_head_result r;

        r = http_request_parse(cases[i].raw, cases[i].len, BIG_MAX, &req, &why);
        if (r != HTTP_HEAD_BAD)
            fail_msg("case %zu (%s): %s", i, cases[i].what, result_name(r));
        if (why == NULL || why[0] == '\0')
            fail_msg("case %zu (%s): no reason", i, cases[i].what);
    }
}

static void
test_http_request_parse_too_big(void **state)
{
    static char buf[16384];
    static struct http_request req;
    static const char line[] = "GET http://a/ HTTP/1.1\r\n";
    const char *why = NULL;
    size_t n;

    (void)state;
    /* head complete only after max_bytes */
    n = (size_t)snprintf(buf, sizeof(buf), "%sX: 123456789\r\n\r\n", line);
    assert_int_equal(http_request_parse(buf, n, n - 1, &req, &why),
                     HTTP_HEAD_TOO_BIG);
    assert_non_null(why);
    /* incomplete and exactly max_bytes long: more bytes cannot help */
    assert_int_equal(http_request_parse(buf, 20, 20, &req, NULL),
                     HTTP_HEAD_TOO_BIG);
    assert_int_equal(http_request_parse(buf, 19, 20, &req, NULL),
                     HTTP_HEAD_AGAIN);
    /* a malformed byte inside the window wins over the size */
    n = (size_t)snprintf(buf, sizeof(buf), "%sX: a\1bcdefgh\r\n\r\n", line);
    assert_int_equal(http_request_parse(buf, n, n - 2, &req, NULL),
                     HTTP_HEAD_BAD);
    /* ...but bytes beyond the window are never looked at */
    assert_int_equal(
        http_request_parse(buf, n, sizeof(line) - 1 + 4, &req, NULL),
        HTTP_HEAD_TOO_BIG);
    /* leading empty lines count against max_bytes */
    memset(buf, '\n', 100);
    assert_int_equal(http_request_parse(buf, 100, 64, &req, NULL),
                     HTTP_HEAD_TOO_BIG);
    assert_int_equal(http_request_parse(buf, 63, 64, &req, NULL),
                     HTTP_HEAD_AGAIN);
    assert_int_equal(http_request_parse(buf, 0, 0, &req, NULL),
                     HTTP_HEAD_TOO_BIG);
}

/* HTTP_FIELDS_MAX fields are fine, one more is TOO_BIG. */
static void
test_http_request_parse_field_count(void **state)
{
    static char buf[16384];
    static struct http_request req;
    const char *why = NULL;
    char last[32];

    (void)state;
    snprintf(last, sizeof(last), "%d", HTTP_FIELDS_MAX - 1);
    for (size_t extra = 0; extra <= 1; extra++) {
        size_t n = 0;
        enum http_head_result r;

        n += (size_t)snprintf(buf + n, sizeof(buf) - n,
                              "GET http://a/ HTTP/1.1\r\n");
        for (size_t f = 0; f < HTTP_FIELDS_MAX + extra; f++)
            n += (size_t)snprintf(buf + n, sizeof(buf) - n, "F%zu: %zu\r\n", f,
                                  f);
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\r\n");
        r = http_request_parse(buf, n, BIG_MAX, &req, &why);
        if (extra == 0 &&
            (r != HTTP_HEAD_DONE || req.n_fields != HTTP_FIELDS_MAX ||
             !slice_is(req.fields[HTTP_FIELDS_MAX - 1].value, last)))
            fail_msg("%d fields: %s", HTTP_FIELDS_MAX, result_name(r));
        if (extra == 1 && r != HTTP_HEAD_TOO_BIG)
            fail_msg("%d fields: %s", HTTP_FIELDS_MAX + 1, result_name(r));
    }
    assert_non_null(why);
}

/* ---- request framing ---- */

struct framing_case {
    const char *raw;
    enum http_head_result want;
    enum http_body_kind kind;
    uint64_t length;
    bool close;
};

#define REQ11 "POST http://a/ HTTP/1.1\r\n"
#define REQ10 "POST http://a/ HTTP/1.0\r\n"

static void
test_http_request_framing_table(void **state)
{
    static const struct framing_case cases[] = {
        { REQ11 "\r\n", HTTP_HEAD_DONE, HTTP_BODY_NONE, 0, false },
        { REQ11 "Content-Length: 5\r\n\r\n", HTTP_HEAD_DONE, HTTP_BODY_LENGTH,
          5, false },
        { REQ11 "Content-Length: 0\r\n\r\n", HTTP_HEAD_DONE, HTTP_BODY_LENGTH,
          0, false },
        { REQ11 "content-length: 007\r\n\r\n", HTTP_HEAD_DONE, HTTP_BODY_LENGTH,
          7, false },
        { REQ11 "Content-Length: 5\r\nContent-Length: 5\r\n\r\n",
          HTTP_HEAD_DONE, HTTP_BODY_LENGTH, 5, false },
        { REQ11 "Content-Length: 5, 5\r\n\r\n", HTTP_HEAD_DONE,
          HTTP_BODY_LENGTH, 5, false },
        { REQ11 "Content-Length: 5,5 ,\t5\r\nContent-Length: 5\r\n\r\n",
          HTTP_HEAD_DONE, HTTP_BODY_LENGTH, 5, false },
        { REQ11 "Content-Length: 4611686018427387904\r\n\r\n", HTTP_HEAD_DONE,
          HTTP_BODY_LENGTH, (uint64_t)1 << 62, false },
        { REQ11 "Transfer-Encoding: chunked\r\n\r\n", HTTP_HEAD_DONE,
          HTTP_BODY_CHUNKED, 0, false },
        { REQ11 "Transfer-Encoding: ChUnKeD  \r\n\r\n", HTTP_HEAD_DONE,
          HTTP_BODY_CHUNKED, 0, false },
        { REQ11 "Connection: close\r\n\r\n", HTTP_HEAD_DONE, HTTP_BODY_NONE, 0,
          true },
        { REQ11 "Connection: foo, CLOSE\r\n\r\n", HTTP_HEAD_DONE,
          HTTP_BODY_NONE, 0, true },
        { REQ11 "Connection: foo\r\nConnection: x,close\r\n\r\n",
          HTTP_HEAD_DONE, HTTP_BODY_NONE, 0, true },
        { REQ11 "Connection: closed\r\n\r\n", HTTP_HEAD_DONE, HTTP_BODY_NONE, 0,
          false },
        { REQ11 "X-Connection: close\r\n\r\n", HTTP_HEAD_DONE, HTTP_BODY_NONE,
          0, false },
        { REQ10 "\r\n", HTTP_HEAD_DONE, HTTP_BODY_NONE, 0, true },
        { REQ10 "Connection: Keep-Alive\r\n\r\n", HTTP_HEAD_DONE,
          HTTP_BODY_NONE, 0, false },
        { REQ10 "Connection: keep-alive, close\r\n\r\n", HTTP_HEAD_DONE,
          HTTP_BODY_NONE, 0, true },
        { REQ10 "Content-Length: 3\r\n\r\n", HTTP_HEAD_DONE, HTTP_BODY_LENGTH,
          3, true },
        /* smuggling shapes */
        { REQ11 "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
          HTTP_HEAD_BAD, 0, 0, false },
        { REQ11 "Transfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n",
          HTTP_HEAD_BAD, 0, 0, false },
        { REQ11 "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", HTTP_HEAD_BAD,
          0, 0, false },
        { REQ11 "Content-Length: 5, 6\r\n\r\n", HTTP_HEAD_BAD, 0, 0, false },
        { REQ11 "Content-Length: 5,\r\n\r\n", HTTP_HEAD_BAD, 0, 0, false },
        { REQ11 "Content-Length: ,5\r\n\r\n", HTTP_HEAD_BAD, 0, 0, false },
        { REQ11 "Content-Length: +5\r\n\r\n", HTTP_HEAD_BAD, 0, 0, false },
        { REQ11 "Content-Length: -1\r\n\r\n", HTTP_HEAD_BAD, 0, 0, false },
        { REQ11 "Content-Length: 5a\r\n\r\n", HTTP_HEAD_BAD, 0, 0, false },
        { REQ11 "Content-Length: 0x5\r\n\r\n", HTTP_HEAD_BAD, 0, 0, false },
        { REQ11 "Content-Length: 5 5\r\n\r\n", HTTP_HEAD_BAD, 0, 0, false },
        { REQ11 "Content-Length: 5.0\r\n\r\n", HTTP_HEAD_BAD, 0, 0, false },
        { REQ11 "Content-Length:\r\n\r\n", HTTP_HEAD_BAD, 0, 0, false },
        { REQ11 "Content-Length: 4611686018427387905\r\n\r\n", HTTP_HEAD_BAD, 0,
          0, false },
        { REQ11 "Content-Length: 18446744073709551621\r\n\r\n", HTTP_HEAD_BAD,
          0, 0, false },
        { REQ11 "Content-Length: 99999999999999999999999999\r\n\r\n",
          HTTP_HEAD_BAD, 0, 0, false },
        { REQ11 "Transfer-Encoding: gzip\r\n\r\n", HTTP_HEAD_BAD, 0, 0, false },
        { REQ11 "Transfer-Encoding: identity\r\n\r\n", HTTP_HEAD_BAD, 0, 0,
          false },
        { REQ11 "Transfer-Encoding: gzip, chunked\r\n\r\n", HTTP_HEAD_BAD, 0, 0,
          false },
        { REQ11 "Transfer-Encoding: chunked, chunked\r\n\r\n", HTTP_HEAD_BAD, 0,
          0, false },
        { REQ11 "Transfer-Encoding: chunked\r\n"
                "Transfer-Encoding: chunked\r\n\r\n",
          HTTP_HEAD_BAD, 0, 0, false },
        { REQ11 "Transfer-Encoding: chunked\r\n"
                "transfer-encoding: gzip\r\n\r\n",
          HTTP_HEAD_BAD, 0, 0, false },
        { REQ11 "Transfer-Encoding: chunke\r\n\r\n", HTTP_HEAD_BAD, 0, 0,
          false },
        { REQ11 "Transfer-Encoding: \"chunked\"\r\n\r\n", HTTP_HEAD_BAD, 0, 0,
          false },
        { REQ11 "Transfer-Encoding:\r\n\r\n", HTTP_HEAD_BAD, 0, 0, false },
        { REQ10 "Transfer-Encoding: chunked\r\n\r\n", HTTP_HEAD_BAD, 0, 0,
          false },
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        static struct http_request req;
        struct http_framing f;
        const char *why = NULL;
        enum http_head_result r;

        r = http_request_parse(cases[i].raw, strlen(cases[i].raw), BIG_MAX,
                               &req, NULL);
        if (r != HTTP_HEAD_DONE)
            fail_msg("case %zu: parse %s", i, result_name(r));
        memset(&f, 0xa5, sizeof(f));
        r = http_request_framing(&req, &f, &why);
        if (r != cases[i].want)
            fail_msg("case %zu: %s, want %s (%s)", i, result_name(r),
                     result_name(cases[i].want), why ? why : "-");
        if (r == HTTP_HEAD_BAD) {
            if (why == NULL)
                fail_msg("case %zu: no reason", i);
            continue;
        }
        if (f.kind != cases[i].kind || f.close != cases[i].close)
            fail_msg("case %zu: kind %d close %d, want %d %d", i, f.kind,
                     f.close, cases[i].kind, cases[i].close);
        if (f.kind == HTTP_BODY_LENGTH && f.length != cases[i].length)
            fail_msg("case %zu: length %llu", i, (unsigned long long)f.length);
    }
}

/* ---- responses ---- */

static void
test_http_response_parse_table(void **state)
{
    static const struct {
        const char *raw;
        size_t len;
        enum http_head_result want;
        int status, minor;
        const char *reason;
    } cases[] = {
        { RAW("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), HTTP_HEAD_DONE,
          200, 1, "OK" },
        { RAW("HTTP/1.0 404 Not  Found\t!\nA: b\n\n"), HTTP_HEAD_DONE, 404, 0,
          "Not  Found\t!" },
        { RAW("HTTP/1.1 204 \r\n\r\n"), HTTP_HEAD_DONE, 204, 1, "" },
        { RAW("HTTP/1.1 204\r\n\r\n"), HTTP_HEAD_DONE, 204, 1, "" },
        { RAW("HTTP/1.1 999 x\xff\r\n\r\n"), HTTP_HEAD_DONE, 999, 1, "x\xff" },
        { RAW("HTTP/1.1 100 Continue\r\n\r\n"), HTTP_HEAD_DONE, 100, 1,
          "Continue" },
        { RAW("HTTP/1.1 200 OK\r\nX: y\r\n"), HTTP_HEAD_AGAIN, 0, 0, NULL },
        { RAW("HTTP/1.1 20"), HTTP_HEAD_AGAIN, 0, 0, NULL },
        { RAW("HTTP/1.1 099 x\r\n\r\n"), HTTP_HEAD_BAD, 0, 0, NULL },
        { RAW("HTTP/1.1 20 x\r\n\r\n"), HTTP_HEAD_BAD, 0, 0, NULL },
        { RAW("HTTP/1.1 2000 x\r\n\r\n"), HTTP_HEAD_BAD, 0, 0, NULL },
        { RAW("HTTP/1.1 20a x\r\n\r\n"), HTTP_HEAD_BAD, 0, 0, NULL },
        { RAW("HTTP/1.1  200 x\r\n\r\n"), HTTP_HEAD_BAD, 0, 0, NULL },
        { RAW("HTTP/1.1 200 O\rK\r\n\r\n"), HTTP_HEAD_BAD, 0, 0, NULL },
        { RAW("HTTP/1.1 200 O\0K\r\n\r\n"), HTTP_HEAD_BAD, 0, 0, NULL },
        { RAW("HTTP/2.0 200 OK\r\n\r\n"), HTTP_HEAD_BAD, 0, 0, NULL },
        { RAW("HTTP/1.1\r\n\r\n"), HTTP_HEAD_BAD, 0, 0, NULL },
        { RAW("ICY 200 OK\r\n\r\n"), HTTP_HEAD_BAD, 0, 0, NULL },
        { RAW("\r\nHTTP/1.1 200 OK\r\n\r\n"), HTTP_HEAD_BAD, 0, 0, NULL },
        { RAW("HTTP/1.1 200 OK\r\nX : y\r\n\r\n"), HTTP_HEAD_BAD, 0, 0, NULL },
        { RAW("HTTP/1.1 200 OK\r\nX: y\r\n z\r\n\r\n"), HTTP_HEAD_BAD, 0, 0,
          NULL },
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        static struct http_response resp;
        const char *why = NULL;
        enum http_head_result r;

        r = http_response_parse(cases[i].raw, cases[i].len, BIG_MAX, &resp,
                                &why);
        if (r != cases[i].want)
            fail_msg("case %zu: %s, want %s (%s)", i, result_name(r),
                     result_name(cases[i].want), why ? why : "-");
        if (r == HTTP_HEAD_BAD && why == NULL)
            fail_msg("case %zu: no reason", i);
        if (r != HTTP_HEAD_DONE)
            continue;
        if (resp.status != cases[i].status ||
            resp.version_minor != cases[i].minor ||
            !slice_is(resp.reason, cases[i].reason))
            fail_msg("case %zu: %d 1.%d '%.*s'", i, resp.status,
                     resp.version_minor, (int)resp.reason.len, resp.reason.p);
    }
}

static void
test_http_response_parse_limits(void **state)
{
    static const char head[] = "HTTP/1.1 200 OK\r\nServer: x\r\n\r\n";
    static struct http_response resp;
    size_t hl = sizeof(head) - 1;

    (void)state;
    for (size_t n = 0; n < hl; n++) {
        if (http_response_parse(head, n, BIG_MAX, &resp, NULL) !=
            HTTP_HEAD_AGAIN)
            fail_msg("prefix %zu not AGAIN", n);
    }
    assert_int_equal(http_response_parse(head, hl, hl, &resp, NULL),
                     HTTP_HEAD_DONE);
    assert_int_equal(resp.head_len, hl);
    assert_int_equal(resp.n_fields, 1);
    assert_int_equal(http_response_parse(head, hl, hl - 1, &resp, NULL),
                     HTTP_HEAD_TOO_BIG);
}

#define RESP11 "HTTP/1.1 200 OK\r\n"

static void
test_http_response_framing_table(void **state)
{
    static const struct {
        const char *method;
        struct framing_case c;
    } cases[] = {
        { "GET",
          { RESP11 "Content-Length: 10\r\n\r\n", HTTP_HEAD_DONE,
            HTTP_BODY_LENGTH, 10, false } },
        { "GET",
          { RESP11 "Transfer-Encoding: chunked\r\n\r\n", HTTP_HEAD_DONE,
            HTTP_BODY_CHUNKED, 0, false } },
        { "GET", { RESP11 "\r\n", HTTP_HEAD_DONE, HTTP_BODY_CLOSE, 0, true } },
        { "GET",
          { RESP11 "Connection: close\r\nContent-Length: 1\r\n\r\n",
            HTTP_HEAD_DONE, HTTP_BODY_LENGTH, 1, true } },
        { "GET",
          { "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", HTTP_HEAD_DONE,
            HTTP_BODY_LENGTH, 1, true } },
        { "GET",
          { "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n"
            "Content-Length: 1\r\n\r\n",
            HTTP_HEAD_DONE, HTTP_BODY_LENGTH, 1, false } },
        /* bodiless whatever the fields say */
        { "HEAD",
          { RESP11 "Content-Length: 10\r\n\r\n", HTTP_HEAD_DONE, HTTP_BODY_NONE,
            0, false } },
        { "HEAD",
          { RESP11 "Transfer-Encoding: chunked\r\n\r\n", HTTP_HEAD_DONE,
            HTTP_BODY_NONE, 0, false } },
        { "HEAD", { RESP11 "\r\n", HTTP_HEAD_DONE, HTTP_BODY_NONE, 0, false } },
        { "GET",
          { "HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n",
            HTTP_HEAD_DONE, HTTP_BODY_NONE, 0, false } },
        { "GET",
          { "HTTP/1.1 304 Not Modified\r\nContent-Length: 3\r\n\r\n",
            HTTP_HEAD_DONE, HTTP_BODY_NONE, 0, false } },
        { "GET",
          { "HTTP/1.1 100 Continue\r\n\r\n", HTTP_HEAD_DONE, HTTP_BODY_NONE, 0,
            false } },
        { "GET",
          { "HTTP/1.1 199 x\r\n\r\n", HTTP_HEAD_DONE, HTTP_BODY_NONE, 0,
            false } },
        /* methods are case-sensitive: "head" is not HEAD */
        { "head",
          { RESP11 "Content-Length: 10\r\n\r\n", HTTP_HEAD_DONE,
            HTTP_BODY_LENGTH, 10, false } },
        { "HEADX",
          { RESP11 "\r\n", HTTP_HEAD_DONE, HTTP_BODY_CLOSE, 0, true } },
        /* smuggling shapes, refused even where no body follows */
        { "GET",
          { RESP11 "Content-Length: 1\r\nTransfer-Encoding: "
                   "chunked\r\n\r\n",
            HTTP_HEAD_BAD, 0, 0, false } },
        { "GET",
          { RESP11 "Content-Length: 1\r\nContent-Length: 2\r\n\r\n",
            HTTP_HEAD_BAD, 0, 0, false } },
        { "GET",
          { RESP11 "Transfer-Encoding: gzip\r\n\r\n", HTTP_HEAD_BAD, 0, 0,
            false } },
        { "GET",
          { RESP11 "Transfer-Encoding: gzip, chunked\r\n\r\n", HTTP_HEAD_BAD, 0,
            0, false } },
        { "GET",
          { "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            HTTP_HEAD_BAD, 0, 0, false } },
        { "HEAD",
          { RESP11 "Content-Length: x\r\n\r\n", HTTP_HEAD_BAD, 0, 0, false } },
        { "GET",
          { "HTTP/1.1 304 x\r\nContent-Length: 1, 2\r\n\r\n", HTTP_HEAD_BAD, 0,
            0, false } },
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        static struct http_response resp;
        const struct framing_case *c = &cases[i].c;
        struct http_framing f;
        const char *why = NULL;
        enum http_head_result r;

        r = http_response_parse(c->raw, strlen(c->raw), BIG_MAX, &resp, NULL);
        if (r != HTTP_HEAD_DONE)
            fail_msg("case %zu: parse %s", i, result_name(r));
        memset(&f, 0xa5, sizeof(f));
        r = http_response_framing(&resp, slice_of(cases[i].method), &f, &why);
        if (r != c->want)
            fail_msg("case %zu: %s, want %s (%s)", i, result_name(r),
                     result_name(c->want), why ? why : "-");
        if (r == HTTP_HEAD_BAD) {
            if (why == NULL)
                fail_msg("case %zu: no reason", i);
            continue;
        }
        if (f.kind != c->kind || f.close != c->close)
            fail_msg("case %zu: kind %d close %d, want %d %d", i, f.kind,
                     f.close, c->kind, c->close);
        if (f.kind == HTTP_BODY_LENGTH && f.length != c->length)
            fail_msg("case %zu: length %llu", i, (unsigned long long)f.length);
    }
}

/* ---- field helpers ---- */

static void
test_http_name_is(void **state)
{
    static const struct {
        const char *name, *lit;
        bool want;
    } cases[] = {
        { "Content-Length", "content-length", true },
        { "CONTENT-LENGTH", "Content-Length", true },
        { "Content-Lengt", "Content-Length", false },
        { "Content-Lengthx", "Content-Length", false },
        { "", "", true },
        { "", "X", false },
        { "@", "`", false }, /* 0x40 vs 0x60: not letters, no folding */
        { "[", "{", false },
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        if (http_name_is(slice_of(cases[i].name), cases[i].lit) !=
            cases[i].want)
            fail_msg("case %zu: '%s' vs '%s'", i, cases[i].name, cases[i].lit);
    }
}

static void
test_http_field_is_hop_by_hop(void **state)
{
    static const char head[] =
        "GET http://a/ HTTP/1.1\r\n"
        "Connection: X-Secret ,\t keep-alive,,x-other\r\n"
        "Host: a\r\n"
        "connection: X-Third\r\n"
        "X-Secret: 1\r\n\r\n";
    static const struct {
        const char *name;
        bool want;
    } cases[] = {
        { "Connection", true },
        { "keep-alive", true },
        { "Proxy-Connection", true },
        { "TE", true },
        { "trailer", true },
        { "Transfer-Encoding", true },
        { "Upgrade", true },
        { "Proxy-Authorization", true },
        { "Proxy-Authenticate", true },
        { "x-secret", true },
        { "X-OTHER", true },
        { "X-Third", true },
        { "Host", false },
        { "X-Secre", false },
        { "X-Secret2", false },
        { "Trailers", false },
        { "Content-Length", false },
        { "", false }, /* the empty list element names nothing */
    };
    static struct http_request req;

    (void)state;
    assert_int_equal(
        http_request_parse(head, sizeof(head) - 1, BIG_MAX, &req, NULL),
        HTTP_HEAD_DONE);
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        if (http_field_is_hop_by_hop(req.fields, req.n_fields,
                                     slice_of(cases[i].name)) != cases[i].want)
            fail_msg("case %zu: %s want %d", i, cases[i].name, cases[i].want);
    }
    /* without the Connection fields, only the fixed list */
    assert_false(http_field_is_hop_by_hop(NULL, 0, slice_of("X-Secret")));
    assert_true(http_field_is_hop_by_hop(NULL, 0, slice_of("upgrade")));
}

/* A field name is made of tchar (RFC 9110 5.6.2) and nothing else: every
 * byte value, checked against the RFC's own list. */
static void
test_http_field_name_bytes(void **state)
{
    static const char punct[] = "!#$%&'*+-.^_`|~";
    static struct http_request req;
    char head[64];

    (void)state;
    for (int b = 1; b < 256; b++) {
        bool tchar = (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') ||
                     (b >= '0' && b <= '9') || strchr(punct, b) != NULL;
        int n = snprintf(head, sizeof(head),
                         "GET http://a/ HTTP/1.1\r\nX%cY: 1\r\n\r\n", b);
        enum http_head_result r =
            http_request_parse(head, (size_t)n, BIG_MAX, &req, NULL);

        if (b == ':') { /* "X:Y: 1" is the field X with the value "Y: 1" */
            assert_int_equal(r, HTTP_HEAD_DONE);
            assert_int_equal(req.fields[0].name.len, 1);
            continue;
        }
        if ((r == HTTP_HEAD_DONE) != tchar)
            fail_msg("byte 0x%02x in a field name: result %d", b, r);
    }
}

/* The forwarder's one-pass mask: Connection x2, X-Secret dropped; Host
 * kept. */
static void
test_http_fields_hop_by_hop_mask(void **state)
{
    static const char head[] =
        "GET http://a/ HTTP/1.1\r\n"
        "Connection: X-Secret ,\t keep-alive,,x-other\r\n"
        "Host: a\r\n"
        "connection: X-Third\r\n"
        "X-Secret: 1\r\n"
        "X-Kept: 2\r\n"
        "X-third: 3\r\n\r\n";
    static const bool want[] = { true, false, true, true, false, true };
    static struct http_request req;
    bool drop[HTTP_FIELDS_MAX];

    (void)state;
    assert_int_equal(
        http_request_parse(head, sizeof(head) - 1, BIG_MAX, &req, NULL),
        HTTP_HEAD_DONE);
    assert_int_equal(req.n_fields, ARRAY_LEN(want));
    http_fields_hop_by_hop(req.fields, req.n_fields, drop);
    for (size_t i = 0; i < ARRAY_LEN(want); i++) {
        if (drop[i] != want[i])
            fail_msg("field %zu: drop %d, want %d", i, drop[i], want[i]);
    }
}

/* ---- chunked ---- */

struct chunked_outcome {
    enum chunked_result r;
    size_t at; /* END: bytes of the body; BAD: offset of the bad byte */
};

/* Feeds <body> in pieces of <step> bytes (the last may be shorter), and
 * sums *used across calls. */
static struct chunked_outcome
chunked_run(const char *body, size_t len, size_t step)
{
    struct chunked_outcome out = { CHUNKED_MORE, 0 };
    struct chunked ck;
    size_t off = 0;

    chunked_init(&ck);
    while (off < len) {
        size_t n = len - off < step ? len - off : step;
        size_t used = (size_t)-1;
        const char *why = NULL;

        out.r = chunked_feed(&ck, body + off, n, &used, &why);
        if (used > n)
            fail_msg("used %zu > %zu", used, n);
        if (out.r == CHUNKED_BAD && why == NULL)
            fail_msg("BAD without reason at %zu", off + used);
        if (out.r != CHUNKED_MORE) {
            out.at = off + used;
            return out;
        }
        off += n;
    }
    out.at = off;
    return out;
}

static void
test_chunked_feed_valid(void **state)
{
    static const struct {
        const char *body, *after;
    } cases[] = {
        { "0\r\n\r\n", "" },
        { "5\r\nhello\r\n0\r\n\r\n", "GET http://a/ HTTP/1.1\r\n\r\n" },
        { "5\r\nhe\r\nl\r\n6\r\n world\r\n0\r\n\r\n", "" },
        { "A\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n", "x" },
        { "000000000000000a\r\n0123456789\r\n0000000000000000\r\n\r\n", "" },
        { "3;name=value;q=\"a b\"\r\nabc\r\n0;last\r\n\r\n", "" },
        { "3;\t\xff\r\nabc\r\n0\r\n\r\n", "" },
        { "1\r\n\r\r\n0\r\nExpires: never\r\nX-Sum:\tab \t\r\n\r\n", "\r\n" },
        { "0\r\nA:\r\n\r\n", "" },
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char buf[512];
        size_t bl = strlen(cases[i].body), al = strlen(cases[i].after);

        memcpy(buf, cases[i].body, bl);
        memcpy(buf + bl, cases[i].after, al);
        for (size_t step = 1; step <= bl + al; step++) {
            struct chunked_outcome o = chunked_run(buf, bl + al, step);

            if (o.r != CHUNKED_END || o.at != bl)
                fail_msg("case %zu step %zu: result %d at %zu, want END at "
                         "%zu",
                         i, step, o.r, o.at, bl);
        }
        /* every proper prefix is MORE */
        for (size_t n = 0; n < bl; n++) {
            struct chunked_outcome o = chunked_run(buf, n, BIG_MAX);

            if (o.r != CHUNKED_MORE || o.at != n)
                fail_msg("case %zu prefix %zu: result %d", i, n, o.r);
        }
    }
}

static void
test_chunked_feed_bad(void **state)
{
    static const struct {
        const char *body;
        size_t len;
        size_t at; /* offset of the byte that is refused */
        const char *what;
    } cases[] = {
        { RAW("\r\n"), 0, "empty size" },
        { RAW(";x\r\n"), 0, "empty size with ext" },
        { RAW("-1\r\n"), 0, "negative" },
        { RAW("+5\r\n"), 0, "plus" },
        { RAW(" 5\r\n"), 0, "leading space" },
        { RAW("5 \r\n"), 1, "trailing space" },
        { RAW("5 ;x\r\n"), 1, "BWS before ext" },
        { RAW("5\t;x\r\n"), 1, "tab before ext" },
        { RAW("0x10\r\n"), 1, "0x prefix" },
        { RAW("g\r\n"), 0, "not hex" },
        { RAW("5g\r\n"), 1, "hex then junk" },
        { RAW("00000000000000001\r\n"), 16, "17 digits" },
        { RAW("FFFFFFFFFFFFFFFF\r\n"), 10, "over 2^64 digits" },
        { RAW("10000000001\r\n"), 10, "2^40 + 1" },
        { RAW("5\n"), 1, "LF after size" },
        { RAW("5\rx"), 2, "bare CR after size" },
        { RAW("5;a\n"), 3, "LF after ext" },
        { RAW("5;a\0\r\n"), 3, "NUL in ext" },
        { RAW("5;a\x7f\r\n"), 3, "DEL in ext" },
        { RAW("5;a\rb\r\n"), 4, "bare CR in ext" },
        { RAW("5\r\nhelloX\r\n"), 8, "data overrun" },
        { RAW("5\r\nhello\n0\r\n\r\n"), 8, "LF after data" },
        { RAW("5\r\nhello\r0\r\n\r\n"), 9, "bare CR after data" },
        { RAW("5\r\nhello0\r\n\r\n"), 8, "nothing after data" },
        { RAW("5\r\nhello\r\n\r\n"), 10, "empty size after data" },
        { RAW("0\r\n\n"), 3, "LF ends trailers" },
        { RAW("0\r\n\rx"), 4, "bare CR ends trailers" },
        { RAW("0\r\nA: b\n\r\n"), 7, "LF ends trailer line" },
        { RAW("0\r\nA: b\rc\r\n\r\n"), 8, "bare CR in trailer" },
        { RAW("0\r\n b\r\n\r\n"), 3, "obs-fold trailer" },
        { RAW("0\r\n: b\r\n\r\n"), 3, "empty trailer name" },
        { RAW("0\r\nA b\r\n\r\n"), 4, "space in trailer name" },
        { RAW("0\r\nA\r\n\r\n"), 4, "trailer without colon" },
        { RAW("0\r\nA: \0\r\n\r\n"), 6, "NUL in trailer" },
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        for (size_t step = 1; step <= cases[i].len; step++) {
            struct chunked_outcome o =
                chunked_run(cases[i].body, cases[i].len, step);

            if (o.r != CHUNKED_BAD || o.at != cases[i].at)
                fail_msg("case %zu (%s) step %zu: result %d at %zu, want BAD "
                         "at %zu",
                         i, cases[i].what, step, o.r, o.at, cases[i].at);
        }
    }
}

static void
test_chunked_feed_size_limits(void **state)
{
    static const struct {
        const char *line;
        uint64_t remaining;
    } cases[] = {
        { "5F5E100\r\n", 100000000 }, /* 100 MB */
        { "10000000000\r\n", CHUNKED_SIZE_MAX },
        { "000000FFFFFFFFFF\r\n", CHUNKED_SIZE_MAX - 1 },
        { "aBcDeF\r\n", 0xabcdef },
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct chunked ck;
        size_t used = 0;

        chunked_init(&ck);
        if (chunked_feed(&ck, cases[i].line, strlen(cases[i].line), &used,
                         NULL) != CHUNKED_MORE ||
            ck.state != CHUNKED_DATA || ck.remaining != cases[i].remaining)
            fail_msg("case %zu: %s: state %d remaining %llu", i, cases[i].line,
                     ck.state, (unsigned long long)ck.remaining);
    }
}

static void
test_chunked_feed_meta_limit(void **state)
{
    static char buf[CHUNKED_META_MAX + 64];
    struct chunked_outcome o;
    size_t n;

    (void)state;
    /* ';' plus extension bytes: exactly CHUNKED_META_MAX is fine */
    n = 0;
    buf[n++] = '1';
    buf[n++] = ';';
    memset(buf + n, 'e', CHUNKED_META_MAX - 1);
    n += CHUNKED_META_MAX - 1;
    memcpy(buf + n, "\r\nx\r\n0\r\n", 8);
    n += 8;
    /* the final CRLF is trailer bytes: this one is one over */
    memcpy(buf + n, "\r\n", 2);
    o = chunked_run(buf, n + 2, BIG_MAX);
    assert_int_equal(o.r, CHUNKED_BAD);
    assert_int_equal(o.at, n);
    o = chunked_run(buf, n, 1);
    assert_int_equal(o.r, CHUNKED_MORE);
    /* one more extension byte */
    n = 0;
    buf[n++] = '1';
    memset(buf + n, ';', CHUNKED_META_MAX + 1);
    n += CHUNKED_META_MAX + 1;
    o = chunked_run(buf, n, 7);
    assert_int_equal(o.r, CHUNKED_BAD);
    assert_int_equal(o.at, n - 1);
    /* the bound is per body, not per chunk: the next ';' is one over */
    n = 0;
    buf[n++] = '1';
    memset(buf + n, ';', CHUNKED_META_MAX);
    n += CHUNKED_META_MAX;
    memcpy(buf + n, "\r\nx\r\n1;", 7);
    n += 7;
    o = chunked_run(buf, n, BIG_MAX);
    assert_int_equal(o.r, CHUNKED_BAD);
    assert_int_equal(o.at, n - 1);

    /* trailers: CHUNKED_META_MAX bytes including the final CRLF */
    n = 0;
    memcpy(buf, "0\r\nX:", 5);
    n = 5;
    memset(buf + n, 'v', CHUNKED_META_MAX - 2 - 2 - 2);
    n += CHUNKED_META_MAX - 6;
    memcpy(buf + n, "\r\n\r\n", 4);
    n += 4;
    o = chunked_run(buf, n, 3);
    assert_int_equal(o.r, CHUNKED_END);
    assert_int_equal(o.at, n);
    buf[n - 4] = 'v';
    memcpy(buf + n - 3, "\r\n\r\n", 4);
    o = chunked_run(buf, n + 1, 3);
    assert_int_equal(o.r, CHUNKED_BAD);
    assert_int_equal(o.at, n);
}

/* After END the body is over; after BAD it stays bad. */
static void
test_chunked_feed_sticky_states(void **state)
{
    struct chunked ck;
    size_t used = 99;
    const char *why = NULL;

    (void)state;
    chunked_init(&ck);
    assert_int_equal(chunked_feed(&ck, "0\r\n\r\nxyz", 8, &used, &why),
                     CHUNKED_END);
    assert_int_equal(used, 5);
    assert_int_equal(ck.last, true);
    assert_int_equal(chunked_feed(&ck, "xyz", 3, &used, &why), CHUNKED_END);
    assert_int_equal(used, 0);

    chunked_init(&ck);
    assert_int_equal(chunked_feed(&ck, "z", 1, &used, &why), CHUNKED_BAD);
    why = NULL;
    assert_int_equal(chunked_feed(&ck, "0\r\n\r\n", 5, &used, &why),
                     CHUNKED_BAD);
    assert_int_equal(used, 0);
    assert_non_null(why);

    /* zero-length feeds change nothing */
    chunked_init(&ck);
    assert_int_equal(chunked_feed(&ck, "", 0, &used, NULL), CHUNKED_MORE);
    assert_int_equal(used, 0);
    assert_int_equal(ck.state, CHUNKED_SIZE);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_request_parse_valid),
        cmocka_unit_test(test_http_request_parse_again_every_prefix),
        cmocka_unit_test(test_http_request_parse_bad),
        cmocka_unit_test(test_http_request_parse_too_big),
        cmocka_unit_test(test_http_request_parse_field_count),
        cmocka_unit_test(test_http_request_framing_table),
        cmocka_unit_test(test_http_response_parse_table),
        cmocka_unit_test(test_http_response_parse_limits),
        cmocka_unit_test(test_http_response_framing_table),
        cmocka_unit_test(test_http_name_is),
        cmocka_unit_test(test_http_field_is_hop_by_hop),
        cmocka_unit_test(test_http_fields_hop_by_hop_mask),
        cmocka_unit_test(test_http_field_name_bytes),
        cmocka_unit_test(test_chunked_feed_valid),
        cmocka_unit_test(test_chunked_feed_bad),
        cmocka_unit_test(test_chunked_feed_size_limits),
        cmocka_unit_test(test_chunked_feed_meta_limit),
        cmocka_unit_test(test_chunked_feed_sticky_states),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
