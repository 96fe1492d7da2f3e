/* tests/fuzz/fuzz_http_head.c - libFuzzer target for proxy/http_head.c.
 *
 * Runs the request and response parsers, both framing functions and the
 * chunked validator over the input and checks properties rather than
 * outputs:
 *   - a prefix of the input parses as AGAIN or exactly as the whole input
 *     does (the parsers look at a window and never change their mind);
 *   - a DONE head's slices lie inside the head and hold only legal bytes;
 *   - the chunked validator gives the same outcome whether the body comes
 *     in one piece, byte by byte or in odd-sized pieces.
 * A failed property prints what broke and aborts, which libFuzzer and the
 * corpus replayer both report as a crash. */
#include "config.h"
#include "proxy/http_head.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Inputs up to this size get every prefix checked; longer ones a sample,
 * so that one run stays linear enough for the fuzzer to make progress. */
#define FUZZ_HTTP_HEAD_ALL_PREFIXES_MAX 512

static void
fuzz_http_head_require(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_http_head: property failed: %s\n", what);
        abort();
    }
}

static bool
fuzz_http_head_slice_in(struct slice s, const char *buf, size_t len)
{
    return s.p != NULL && s.p >= buf && s.len <= len &&
           (size_t)(s.p - buf) <= len - s.len;
}

static bool
fuzz_http_head_is_ows(unsigned char c)
{
    return c == ' ' || c == '\t';
}

/* Deliberately not the parser's own tchar test: an independent check. */
static bool
fuzz_http_head_name_ok(struct slice s)
{
    static const char seps[] = "\"(),/:;<=>?@[\\]{}";

    if (s.len == 0)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];

        if (c <= 0x20 || c >= 0x7f || memchr(seps, c, sizeof(seps) - 1))
            return false;
    }
    return true;
}

static bool
fuzz_http_head_value_ok(struct slice s)
{
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];

        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return false;
    }
    return s.len == 0 ||
           (!fuzz_http_head_is_ows((unsigned char)s.p[0]) &&
            !fuzz_http_head_is_ows((unsigned char)s.p[s.len - 1]));
}

static void
fuzz_http_head_check_fields(const char *buf, size_t head_len,
                            const struct http_field *fields, size_t n)
{
    static const char *const always[] = { "Connection", "transfer-encoding",
                                          "PROXY-AUTHORIZATION" };

    fuzz_http_head_require(n <= HTTP_FIELDS_MAX, "n_fields");
    for (size_t i = 0; i < n; i++) {
        fuzz_http_head_require(
            fuzz_http_head_slice_in(fields[i].name, buf, head_len),
            "field name outside the head");
        fuzz_http_head_require(
            fuzz_http_head_slice_in(fields[i].value, buf, head_len),
            "field value outside the head");
        fuzz_http_head_require(fuzz_http_head_name_ok(fields[i].name),
                               "field name not a token");
        fuzz_http_head_require(fuzz_http_head_value_ok(fields[i].value),
                               "field value bytes");
        /* a name listed in Connection is hop-by-hop only if listed; just
         * make sure every name can be asked about */
        (void)http_field_is_hop_by_hop(fields, n, fields[i].name);
        fuzz_http_head_require(http_name_is(fields[i].name, "") == false,
                               "empty name matched");
    }
    for (size_t i = 0; i < sizeof(always) / sizeof(always[0]); i++) {
        struct slice s = { always[i], strlen(always[i]) };

        fuzz_http_head_require(http_field_is_hop_by_hop(fields, n, s),
                               "fixed hop-by-hop field missed");
    }
    /* the forwarder's one-pass mask must agree with the per-field rule */
    {
        bool drop[HTTP_FIELDS_MAX];

        http_fields_hop_by_hop(fields, n, drop);
        for (size_t i = 0; i < n; i++)
            fuzz_http_head_require(
                drop[i] == http_field_is_hop_by_hop(fields, n, fields[i].name),
                "hop-by-hop mask differs from the per-field rule");
    }
}

static void
fuzz_http_head_check_framing(enum http_head_result r,
                             const struct http_framing *f, const char *why,
                             bool response)
{
    fuzz_http_head_require(r == HTTP_HEAD_DONE || r == HTTP_HEAD_BAD,
                           "framing result");
    if (r == HTTP_HEAD_BAD) {
        fuzz_http_head_require(why != NULL, "framing BAD without reason");
        return;
    }
    fuzz_http_head_require(f->kind == HTTP_BODY_NONE ||
                               f->kind == HTTP_BODY_LENGTH ||
                               f->kind == HTTP_BODY_CHUNKED ||
                               (response && f->kind == HTTP_BODY_CLOSE),
                           "framing kind");
    fuzz_http_head_require(f->kind != HTTP_BODY_CLOSE || f->close,
                           "read-until-close without close");
    fuzz_http_head_require(f->kind == HTTP_BODY_LENGTH
                               ? f->length <= (uint64_t)1 << 62
                               : f->length == 0,
                           "framing length");
}

/* The split points to try for an input of <len> bytes. */
static size_t
fuzz_http_head_splits(size_t len, size_t extra, size_t out[16])
{
    size_t n = 0;

    out[n++] = 0;
    out[n++] = len / 4;
    out[n++] = len / 3;
    out[n++] = len / 2;
    out[n++] = len - len / 4;
    if (len >= 1)
        out[n++] = len - 1;
    if (len >= 2)
        out[n++] = len - 2;
    if (extra <= len)
        out[n++] = extra;
    if (extra >= 1 && extra - 1 <= len)
        out[n++] = extra - 1;
    return n;
}

static void
fuzz_http_head_request(const char *buf, size_t len, size_t max_bytes)
{
    static struct http_request whole, part;
    enum http_head_result r, r2;
    const char *why = NULL;
    struct http_framing f;
    size_t splits[16], n_splits, n_k;

    r = http_request_parse(buf, len, max_bytes, &whole, &why);
    fuzz_http_head_require(r == HTTP_HEAD_DONE || r == HTTP_HEAD_AGAIN ||
                               r == HTTP_HEAD_BAD || r == HTTP_HEAD_TOO_BIG,
                           "request result");
    fuzz_http_head_require(r != HTTP_HEAD_BAD || why != NULL,
                           "request BAD without reason");
    fuzz_http_head_require(r != HTTP_HEAD_AGAIN || len < max_bytes,
                           "AGAIN although max_bytes is reached");
    if (r == HTTP_HEAD_DONE) {
        fuzz_http_head_require(whole.head_len <= len &&
                                   whole.head_len <= max_bytes,
                               "head_len beyond the window");
        fuzz_http_head_require(
            fuzz_http_head_slice_in(whole.method, buf, whole.head_len) &&
                fuzz_http_head_name_ok(whole.method),
            "method");
        fuzz_http_head_require(
            fuzz_http_head_slice_in(whole.target, buf, whole.head_len) &&
                whole.target.len > 0,
            "target");
        for (size_t i = 0; i < whole.target.len; i++)
            fuzz_http_head_require(whole.target.p[i] > 0x20 &&
                                       whole.target.p[i] < 0x7f,
                                   "target byte");
        fuzz_http_head_require(whole.version_minor == 0 ||
                                   whole.version_minor == 1,
                               "request version");
        fuzz_http_head_require(buf[whole.head_len - 1] == '\n',
                               "head does not end in LF");
        fuzz_http_head_check_fields(buf, whole.head_len, whole.fields,
                                    whole.n_fields);
        why = NULL;
        r2 = http_request_framing(&whole, &f, &why);
        fuzz_http_head_check_framing(r2, &f, why, false);
    }

    n_splits = fuzz_http_head_splits(
        len, r == HTTP_HEAD_DONE ? whole.head_len : len, splits);
    n_k = len <= FUZZ_HTTP_HEAD_ALL_PREFIXES_MAX ? len + 1 : n_splits;
    for (size_t i = 0; i < n_k; i++) {
        size_t k = len <= FUZZ_HTTP_HEAD_ALL_PREFIXES_MAX ? i : splits[i];

        r2 = http_request_parse(buf, k, max_bytes, &part, NULL);
        fuzz_http_head_require(r2 == HTTP_HEAD_AGAIN || r2 == r,
                               "request prefix disagrees with the whole");
        if (r == HTTP_HEAD_DONE && k >= whole.head_len)
            fuzz_http_head_require(r2 == HTTP_HEAD_DONE, "complete prefix");
        if (r2 == HTTP_HEAD_DONE)
            fuzz_http_head_require(part.head_len == whole.head_len &&
                                       part.n_fields == whole.n_fields,
                                   "prefix head differs");
    }
}

static void
fuzz_http_head_response(const char *buf, size_t len, size_t max_bytes)
{
    static struct http_response whole, part;
    static const char *const methods[] = { "GET", "POST", "CONNECT" };
    struct slice head_method = { "HEAD", 4 };
    enum http_head_result r, r2, r_head;
    const char *why = NULL;
    struct http_framing f;
    size_t splits[16], n_splits, n_k;

    r = http_response_parse(buf, len, max_bytes, &whole, &why);
    fuzz_http_head_require(r == HTTP_HEAD_DONE || r == HTTP_HEAD_AGAIN ||
                               r == HTTP_HEAD_BAD || r == HTTP_HEAD_TOO_BIG,
                           "response result");
    fuzz_http_head_require(r != HTTP_HEAD_BAD || why != NULL,
                           "response BAD without reason");
    if (r == HTTP_HEAD_DONE) {
        fuzz_http_head_require(whole.head_len <= len &&
                                   whole.head_len <= max_bytes,
                               "response head_len beyond the window");
        fuzz_http_head_require(whole.status >= 100 && whole.status <= 999,
                               "status range");
        fuzz_http_head_require(whole.version_minor == 0 ||
                                   whole.version_minor == 1,
                               "response version");
        fuzz_http_head_require(
            fuzz_http_head_slice_in(whole.reason, buf, whole.head_len),
            "reason outside the head");
        fuzz_http_head_check_fields(buf, whole.head_len, whole.fields,
                                    whole.n_fields);

        why = NULL;
        r_head = http_response_framing(&whole, head_method, &f, &why);
        fuzz_http_head_check_framing(r_head, &f, why, true);
        fuzz_http_head_require(r_head == HTTP_HEAD_BAD ||
                                   f.kind == HTTP_BODY_NONE,
                               "response to HEAD with a body");
        for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
            struct slice m = { methods[i], strlen(methods[i]) };

            why = NULL;
            r2 = http_response_framing(&whole, m, &f, &why);
            fuzz_http_head_check_framing(r2, &f, why, true);
            /* validation does not depend on the method */
            fuzz_http_head_require(r2 == r_head, "framing depends on method");
        }
    }

    n_splits = fuzz_http_head_splits(
        len, r == HTTP_HEAD_DONE ? whole.head_len : len, splits);
    n_k = len <= FUZZ_HTTP_HEAD_ALL_PREFIXES_MAX ? len + 1 : n_splits;
    for (size_t i = 0; i < n_k; i++) {
        size_t k = len <= FUZZ_HTTP_HEAD_ALL_PREFIXES_MAX ? i : splits[i];

        r2 = http_response_parse(buf, k, max_bytes, &part, NULL);
        fuzz_http_head_require(r2 == HTTP_HEAD_AGAIN || r2 == r,
                               "response prefix disagrees with the whole");
        if (r2 == HTTP_HEAD_DONE)
            fuzz_http_head_require(part.head_len == whole.head_len &&
                                       part.status == whole.status,
                                   "response prefix head differs");
    }
}

struct fuzz_http_head_outcome {
    enum chunked_result r;
    size_t at; /* END: body bytes; BAD: offset of the bad byte; MORE: len */
    struct chunked ck;
};

/* Feeds <buf> in pieces: sizes come from <steps> in turn, cycling. */
static struct fuzz_http_head_outcome
fuzz_http_head_chunked_run(const char *buf, size_t len, const size_t *steps,
                           size_t n_steps)
{
    struct fuzz_http_head_outcome o;
    size_t off = 0, s = 0;

    chunked_init(&o.ck);
    o.r = CHUNKED_MORE;
    for (;;) {
        size_t n = steps[s++ % n_steps];
        size_t used = (size_t)-1;
        const char *why = NULL;

        if (n > len - off)
            n = len - off;
        o.r = chunked_feed(&o.ck, buf + off, n, &used, &why);
        fuzz_http_head_require(used <= n, "chunked used beyond the piece");
        if (o.r == CHUNKED_MORE)
            fuzz_http_head_require(used == n, "MORE without using all");
        if (o.r == CHUNKED_BAD)
            fuzz_http_head_require(why != NULL, "chunked BAD without reason");
        if (o.r != CHUNKED_MORE) {
            o.at = off + used;
            return o;
        }
        off += n;
        if (off == len)
            break;
    }
    o.at = len;
    return o;
}

static void
fuzz_http_head_chunked(const char *buf, size_t len)
{
    static const size_t one_piece[] = { SIZE_MAX };
    static const size_t byte_by_byte[] = { 1 };
    static const size_t odd[] = { 2, 3, 7, 1, 64 };
    size_t halves[2] = { len / 2, SIZE_MAX };
    struct fuzz_http_head_outcome whole, o;

    whole = fuzz_http_head_chunked_run(buf, len, one_piece, 1);
    fuzz_http_head_require(whole.ck.meta_bytes <= CHUNKED_META_MAX,
                           "meta bytes over the bound");
    fuzz_http_head_require(whole.r != CHUNKED_END || whole.ck.last,
                           "END without the last chunk");

    o = fuzz_http_head_chunked_run(buf, len, byte_by_byte, 1);
    fuzz_http_head_require(o.r == whole.r && o.at == whole.at,
                           "byte by byte differs from one piece");
    fuzz_http_head_require(o.ck.state == whole.ck.state &&
                               o.ck.remaining == whole.ck.remaining &&
                               o.ck.meta_bytes == whole.ck.meta_bytes,
                           "byte by byte leaves a different state");
    o = fuzz_http_head_chunked_run(buf, len, odd, 5);
    fuzz_http_head_require(o.r == whole.r && o.at == whole.at,
                           "odd pieces differ from one piece");
    if (len > 0) {
        o = fuzz_http_head_chunked_run(buf, len, halves, 2);
        fuzz_http_head_require(o.r == whole.r && o.at == whole.at,
                               "halves differ from one piece");
    }

    /* Everything before the outcome's offset was acceptable on its own. */
    if (whole.r != CHUNKED_MORE) {
        size_t k = whole.r == CHUNKED_END ? whole.at - 1 : whole.at;

        o = fuzz_http_head_chunked_run(buf, k, one_piece, 1);
        fuzz_http_head_require(o.r == CHUNKED_MORE, "prefix not MORE");
    }
    if (whole.r == CHUNKED_END) {
        o = fuzz_http_head_chunked_run(buf, whole.at, one_piece, 1);
        fuzz_http_head_require(o.r == CHUNKED_END && o.at == whole.at,
                               "body alone does not END");
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    static struct http_request req;
    /* The whole input as window, a window cut inside it, and a typical
     * configured limit. */
    const size_t maxes[] = { size + 1, size, size / 2 + 1, 1024 };

    for (size_t i = 0; i < sizeof(maxes) / sizeof(maxes[0]); i++) {
        fuzz_http_head_request(buf, size, maxes[i]);
        fuzz_http_head_response(buf, size, maxes[i]);
    }
    fuzz_http_head_chunked(buf, size);
    /* A body right after a head is where smuggling lives. */
    if (http_request_parse(buf, size, size + 1, &req, NULL) == HTTP_HEAD_DONE)
        fuzz_http_head_chunked(buf + req.head_len, size - req.head_len);
    return 0;
}
