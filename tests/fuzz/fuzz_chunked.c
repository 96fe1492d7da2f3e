/* tests/fuzz/fuzz_chunked.c - libFuzzer target for the chunked-body
 * validator alone (chunked_feed() in proxy/http_head.c).
 *
 * The first input byte seeds the split pattern; the rest is the body. The
 * body is fed in one piece, then in pseudo-random pieces, byte by byte and
 * in two pieces cut at each offset (short bodies), and every run must give
 * the one-shot outcome at the same offset with the same final state.
 * The one-shot outcome is also checked against the reference below, an
 * independent whole-buffer reading of the grammar in proxy/http_head.h
 * (RFC 9112 7.1 with sluice's limits: at most 16 hex digits and 2^40 per
 * chunk, CRLF only, CHUNKED_META_MAX bytes of extensions and trailers).
 * A failed property prints what broke and aborts. */
#include "config.h"
#include "proxy/http_head.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Bodies up to this size also get the two-piece split at every offset. */
#define FUZZ_CHUNKED_ALL_CUTS_MAX 256

struct fuzz_chunked_outcome {
    enum chunked_result r;
    size_t at; /* END: body bytes; BAD: offset of the bad byte; MORE: len */
    struct chunked ck;
};

static void
fuzz_chunked_require(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_chunked: property failed: %s\n", what);
        abort();
    }
}

/* ---- the reference: whole buffer, recursive-descent style ---- */

static int
fuzz_chunked_hex(unsigned char c)
{
    static const char digits[] = "0123456789abcdef";
    const char *d;

    if (c >= 'A' && c <= 'F')
        c = (unsigned char)(c - 'A' + 'a');
    d = c != '\0' ? strchr(digits, c) : NULL;
    return d != NULL ? (int)(d - digits) : -1;
}

static bool
fuzz_chunked_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

struct fuzz_chunked_ref {
    const unsigned char *b;
    size_t n, i;
    size_t meta;
};

/* Counts one extension or trailer byte; false once over the bound. */
static bool
fuzz_chunked_ref_meta(struct fuzz_chunked_ref *x)
{
    return ++x->meta <= CHUNKED_META_MAX;
}

/* Returns the outcome; <at> as in struct fuzz_chunked_outcome. */
static enum chunked_result
fuzz_chunked_reference(const unsigned char *b, size_t n, size_t *at)
{
    struct fuzz_chunked_ref x = { b, n, 0, 0 };
    uint64_t size;
    size_t digits;

#define REF_MORE()                                                             \
    do {                                                                       \
        *at = n;                                                               \
        return CHUNKED_MORE;                                                   \
    } while (0)
#define REF_BAD()                                                              \
    do {                                                                       \
        *at = x.i;                                                             \
        return CHUNKED_BAD;                                                    \
    } while (0)

    for (;;) {
        size = 0;
        for (digits = 0; x.i < n && fuzz_chunked_hex(b[x.i]) >= 0; x.i++) {
            if (digits == 16)
                REF_BAD();
            digits++;
            size = size * 16 + (uint64_t)fuzz_chunked_hex(b[x.i]);
            if (size > CHUNKED_SIZE_MAX)
                REF_BAD();
        }
        if (x.i == n)
            REF_MORE();
        if (digits == 0)
            REF_BAD();
        if (b[x.i] == ';') {
            if (!fuzz_chunked_ref_meta(&x))
                REF_BAD();
            for (x.i++; x.i < n && b[x.i] != '\r'; x.i++) {
                if ((b[x.i] < 0x20 && b[x.i] != '\t') || b[x.i] == 0x7f)
                    REF_BAD();
                if (!fuzz_chunked_ref_meta(&x))
                    REF_BAD();
            }
            if (x.i == n)
                REF_MORE();
        } else if (b[x.i] != '\r') {
            REF_BAD();
        }
        if (++x.i == n)
            REF_MORE();
        if (b[x.i] != '\n')
            REF_BAD();
        x.i++;
        if (size == 0)
            break;
        if (n - x.i <= size)
            REF_MORE();
        x.i += (size_t)size;
        if (b[x.i] != '\r')
            REF_BAD();
        if (++x.i == n)
            REF_MORE();
        if (b[x.i] != '\n')
            REF_BAD();
        x.i++;
    }

    /* Trailer section: field lines, then an empty line. */
    for (;;) {
        bool empty;

        if (x.i == n)
            REF_MORE();
        if (!fuzz_chunked_ref_meta(&x))
            REF_BAD();
        empty = b[x.i] == '\r';
        if (!empty) {
            if (!fuzz_chunked_tchar(b[x.i]))
                REF_BAD();
            /* name up to ':' */
            for (x.i++;; x.i++) {
                if (x.i == n)
                    REF_MORE();
                if (!fuzz_chunked_ref_meta(&x))
                    REF_BAD();
                if (b[x.i] == ':')
                    break;
                if (!fuzz_chunked_tchar(b[x.i]))
                    REF_BAD();
            }
            /* value up to CR */
            for (x.i++;; x.i++) {
                if (x.i == n)
                    REF_MORE();
                if (!fuzz_chunked_ref_meta(&x))
                    REF_BAD();
                if (b[x.i] == '\r')
                    break;
                if ((b[x.i] < 0x20 && b[x.i] != '\t') || b[x.i] == 0x7f)
                    REF_BAD();
            }
        }
        if (++x.i == n)
            REF_MORE();
        if (!fuzz_chunked_ref_meta(&x) || b[x.i] != '\n')
            REF_BAD();
        x.i++;
        if (empty) {
            *at = x.i;
            return CHUNKED_END;
        }
    }
#undef REF_MORE
#undef REF_BAD
}

/* ---- feeding the validator in pieces ---- */

/* xorshift32: the split pattern is a function of the input alone, so a
 * failure replays. */
static uint32_t
fuzz_chunked_rand(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

enum fuzz_chunked_split { SPLIT_ONE, SPLIT_BYTES, SPLIT_RANDOM, SPLIT_CUT };

/* Feeds <buf> in pieces chosen by <how> (<arg>: SPLIT_RANDOM's seed,
 * SPLIT_CUT's offset). <quiet> passes NULL for used and why, which the
 * contract allows, on the last call only. */
static struct fuzz_chunked_outcome
fuzz_chunked_run(const char *buf, size_t len, enum fuzz_chunked_split how,
                 uint32_t arg)
{
    struct fuzz_chunked_outcome o;
    uint32_t seed = arg | 1;
    size_t off = 0;

    chunked_init(&o.ck);
    o.r = CHUNKED_MORE;
    while (off < len) {
        size_t n = len - off, used = (size_t)-1;
        const char *why = NULL;

        switch (how) {
        case SPLIT_ONE:
            break;
        case SPLIT_BYTES:
            n = 1;
            break;
        case SPLIT_RANDOM: {
            uint32_t r = fuzz_chunked_rand(&seed);

            /* mostly small pieces, sometimes an empty or a large one */
            n = (r & 7) == 0 ? (r >> 3) % 4096 : 1 + (r >> 3) % 9;
            if (n > len - off)
                n = len - off;
            break;
        }
        case SPLIT_CUT:
            if (off < arg)
                n = arg - off;
            break;
        }
        o.r = chunked_feed(&o.ck, buf + off, n, &used, &why);
        fuzz_chunked_require(used <= n, "used beyond the piece");
        if (o.r == CHUNKED_MORE)
            fuzz_chunked_require(used == n, "MORE without using all");
        if (o.r == CHUNKED_BAD)
            fuzz_chunked_require(why != NULL, "BAD without reason");
        if (o.r != CHUNKED_MORE) {
            o.at = off + used;
            return o;
        }
        off += n;
    }
    o.at = len;
    return o;
}

static void
fuzz_chunked_same(const struct fuzz_chunked_outcome *a,
                  const struct fuzz_chunked_outcome *b, const char *what)
{
    if (a->r == b->r && a->at == b->at && a->ck.state == b->ck.state &&
        a->ck.remaining == b->ck.remaining &&
        a->ck.size_digits == b->ck.size_digits &&
        a->ck.meta_bytes == b->ck.meta_bytes && a->ck.last == b->ck.last)
        return;
    fprintf(stderr,
            "fuzz_chunked: %s: r %d/%d at %zu/%zu state %d/%d remaining "
            "%llu/%llu meta %zu/%zu\n",
            what, (int)a->r, (int)b->r, a->at, b->at, (int)a->ck.state,
            (int)b->ck.state, (unsigned long long)a->ck.remaining,
            (unsigned long long)b->ck.remaining, a->ck.meta_bytes,
            b->ck.meta_bytes);
    abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_chunked_outcome whole, o;
    const char *buf;
    enum chunked_result ref;
    size_t len, ref_at, used;
    uint32_t seed;

    if (size == 0)
        return 0;
    seed = (uint32_t)data[0] * 2654435761u + (uint32_t)size;
    buf = (const char *)data + 1;
    len = size - 1;

    whole = fuzz_chunked_run(buf, len, SPLIT_ONE, 0);
    ref = fuzz_chunked_reference((const unsigned char *)buf, len, &ref_at);
    if (whole.r != ref || whole.at != ref_at) {
        fprintf(stderr,
                "fuzz_chunked: validator says %d at %zu, reference %d at "
                "%zu\n",
                (int)whole.r, whole.at, (int)ref, ref_at);
        abort();
    }
    fuzz_chunked_require(whole.ck.meta_bytes <= CHUNKED_META_MAX + 1,
                         "meta bytes over the bound");
    fuzz_chunked_require(whole.r != CHUNKED_END || whole.ck.last,
                         "END without the last chunk");
    fuzz_chunked_require((whole.r == CHUNKED_END) ==
                             (whole.ck.state == CHUNKED_DONE),
                         "END and DONE disagree");
    fuzz_chunked_require((whole.r == CHUNKED_BAD) ==
                             (whole.ck.state == CHUNKED_ERROR),
                         "BAD and ERROR disagree");

    o = fuzz_chunked_run(buf, len, SPLIT_BYTES, 0);
    fuzz_chunked_same(&whole, &o, "byte by byte");
    for (uint32_t k = 0; k < 4; k++) {
        o = fuzz_chunked_run(buf, len, SPLIT_RANDOM, seed + k * 0x9e3779b9u);
        fuzz_chunked_same(&whole, &o, "random pieces");
    }
    if (len <= FUZZ_CHUNKED_ALL_CUTS_MAX) {
        for (size_t cut = 0; cut <= len; cut++) {
            o = fuzz_chunked_run(buf, len, SPLIT_CUT, (uint32_t)cut);
            fuzz_chunked_same(&whole, &o, "two pieces");
        }
    } else {
        o = fuzz_chunked_run(buf, len, SPLIT_CUT, seed % (uint32_t)len);
        fuzz_chunked_same(&whole, &o, "two pieces");
    }

    /* A finished validator stays finished, and NULL used/why are fine. */
    used = (size_t)-1;
    if (whole.r == CHUNKED_END) {
        fuzz_chunked_require(chunked_feed(&whole.ck, buf, len, &used, NULL) ==
                                     CHUNKED_END &&
                                 used == 0,
                             "END not sticky");
    } else if (whole.r == CHUNKED_BAD) {
        fuzz_chunked_require(chunked_feed(&whole.ck, buf, len, &used, NULL) ==
                                     CHUNKED_BAD &&
                                 used == 0,
                             "BAD not sticky");
    }
    chunked_init(&o.ck);
    fuzz_chunked_require(chunked_feed(&o.ck, buf, len, NULL, NULL) == whole.r,
                         "NULL used/why changes the outcome");
    return 0;
}
