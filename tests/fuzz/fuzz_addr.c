/* tests/fuzz/fuzz_addr.c - libFuzzer target for policy/addr.c: IP-literal
 * recognition, canonical formatting, CIDR sets and classification.
 *
 * The input is read three ways:
 *   - as a host (addr_parse_literal): a literal it accepts formats to text
 *     that addr_parse_strict() and addr_parse_literal() read back as the
 *     same address, and that text is a fixed point of formatting;
 *   - as CIDR text (cidr_set_add): an accepted block formats canonically,
 *     the canonical text is accepted again and formats the same, and the
 *     block holds its own network address;
 *   - its first 17 bytes as a raw address (family bit + 16 bytes): any
 *     address survives format and strict parse, and every IPv6 form that
 *     embeds an IPv4 address is classified and denied as that address.
 * A failed property prints what broke and aborts. */
#include "config.h"
#include "policy/addr.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Longer hosts and CIDRs are never valid; keep runs cheap. */
#define FUZZ_ADDR_TEXT_MAX 256

static void
fuzz_addr_fail(const char *what, const char *text)
{
    fprintf(stderr, "fuzz_addr: property failed: %s (%s)\n", what, text);
    abort();
}

static bool
fuzz_addr_same(const struct addr *a, const struct addr *b)
{
    size_t n = a->family == AF_INET ? 4 : 16;

    return a->family == b->family && memcmp(a->bytes, b->bytes, n) == 0;
}

/* Builds the IPv6 address <prefix> with the IPv4 address of <v4> in bytes
 * at..at+3. */
static void
fuzz_addr_embed(const struct addr *v4, const uint8_t prefix[16], size_t at,
                struct addr *out)
{
    memset(out, 0, sizeof(*out));
    out->family = AF_INET6;
    memcpy(out->bytes, prefix, 16);
    memcpy(out->bytes + at, v4->bytes, 4);
}

/* Format, strict parse, literal parse and sockaddr round trips. */
static void
fuzz_addr_round_trip(const struct addr *a)
{
    char text[ADDR_TEXT_MAX], again[ADDR_TEXT_MAX];
    char bracketed[ADDR_TEXT_MAX + 2];
    struct sockaddr_storage ss;
    struct addr b;
    int n;

    addr_format(a, text);
    if (text[0] == '\0' || memchr(text, '\0', ADDR_TEXT_MAX) == NULL)
        fuzz_addr_fail("format gave no text", "");
    memset(&b, 0xa5, sizeof(b));
    if (addr_parse_strict(text, &b) != 0 || !fuzz_addr_same(a, &b))
        fuzz_addr_fail("strict parse of the canonical text", text);
    addr_format(&b, again);
    if (strcmp(text, again) != 0)
        fuzz_addr_fail("canonical text not a fixed point", text);
    if (addr_parse_literal(text, strlen(text), &b) != 1 ||
        !fuzz_addr_same(a, &b))
        fuzz_addr_fail("literal parse of the canonical text", text);
    if (!addr_equal(a, &b))
        fuzz_addr_fail("addr_equal of the same address", text);
    if (a->family == AF_INET6) {
        n = snprintf(bracketed, sizeof(bracketed), "[%s]", text);
        if (addr_parse_literal(bracketed, (size_t)n, &b) != 1 ||
            !fuzz_addr_same(a, &b))
            fuzz_addr_fail("bracketed literal", text);
    }

    memset(&ss, 0, sizeof(ss));
    if (a->family == AF_INET) {
        struct sockaddr_in sin = { .sin_family = AF_INET };

        memcpy(&sin.sin_addr, a->bytes, 4);
        memcpy(&ss, &sin, sizeof(sin));
    } else {
        struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };

        memcpy(&sin6.sin6_addr, a->bytes, 16);
        memcpy(&ss, &sin6, sizeof(sin6));
    }
    if (addr_from_sockaddr(&ss, &b) != 0 || !fuzz_addr_same(a, &b))
        fuzz_addr_fail("sockaddr round trip", text);
}

/* The address as a bare CIDR, as deny and allow lists. */
static void
fuzz_addr_lists(const struct addr *a, enum addr_class cls)
{
    char text[ADDR_TEXT_MAX];
    struct cidr_set *set = cidr_set_new();
    enum addr_class why;
    bool denied;

    if (set == NULL)
        return;
    addr_format(a, text);
    if (cidr_set_add(set, text) != 0 || cidr_set_count(set) != 1 ||
        !cidr_set_contains(set, a))
        fuzz_addr_fail("bare address as a CIDR", text);

    denied = addr_is_denied(a, NULL, NULL, &why);
    if (denied != (cls != ADDR_PUBLIC) || why != cls)
        fuzz_addr_fail("built-in verdict differs from the class", text);
    /* in deny_ranges: denied */
    if (!addr_is_denied(a, set, NULL, &why) ||
        why != (cls == ADDR_PUBLIC ? ADDR_SPECIAL : cls))
        fuzz_addr_fail("deny_ranges did not deny", text);
    /* in allow_ranges: lifted, except metadata */
    denied = addr_is_denied(a, NULL, set, &why);
    if (denied != (cls == ADDR_METADATA))
        fuzz_addr_fail("allow_ranges and metadata", text);
    denied = addr_is_denied(a, set, set, &why);
    if (denied != (cls == ADDR_METADATA))
        fuzz_addr_fail("allow_ranges over deny_ranges", text);
    cidr_set_free(set);
}

static void
fuzz_addr_classify(const struct addr *a)
{
    static const uint8_t mapped[16] = { [10] = 0xff, [11] = 0xff };
    static const uint8_t siit[16] = { [8] = 0xff, [9] = 0xff };
    static const uint8_t nat64[16] = { 0x00, 0x64, 0xff, 0x9b };
    static const uint8_t nat64_local[16] = {
        0x00, 0x64, 0xff, 0x9b, 0x00, 0x01
    };
    /* 2002:V4V4:V4V4:12::1, a 6to4 host behind site router V4 */
    static const uint8_t six_to_four[16] = { 0x20, 0x02, 0, 0, 0, 0, 0x00, 0x12,
                                             0,    0,    0, 0, 0, 0, 0,    1 };
    static const uint8_t compat[16] = { 0 };
    static const struct {
        const uint8_t *prefix;
        size_t at;
    } forms[] = {
        { mapped, 12 },      { siit, 12 },       { nat64, 12 },
        { nat64_local, 12 }, { six_to_four, 2 }, { compat, 12 },
    };
    enum addr_class cls = addr_classify(a);
    const char *name = addr_class_name(cls);

    if (cls < ADDR_PUBLIC || cls > ADDR_METADATA || name == NULL ||
        name[0] == '\0' || strcmp(name, "unknown") == 0)
        fuzz_addr_fail("class out of range", "");
    fuzz_addr_lists(a, cls);
    if (a->family != AF_INET)
        return;

    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        struct addr e;
        char text[ADDR_TEXT_MAX];
        struct cidr_set *deny;

        /* ::0.0.0.0 and ::0.0.0.1 are :: and ::1, judged as such */
        if (forms[i].prefix == compat && a->bytes[0] == 0 && a->bytes[1] == 0 &&
            a->bytes[2] == 0 && a->bytes[3] <= 1)
            continue;
        fuzz_addr_embed(a, forms[i].prefix, forms[i].at, &e);
        addr_format(&e, text);
        if (addr_classify(&e) != cls)
            fuzz_addr_fail("embedded IPv4 classified differently", text);
        if ((forms[i].prefix == mapped) != addr_equal(a, &e))
            fuzz_addr_fail("addr_equal and the mapped form", text);
        fuzz_addr_round_trip(&e);
        /* deny_ranges judge the embedded address too */
        deny = cidr_set_new();
        if (deny == NULL)
            continue;
        addr_format(a, text);
        if (cidr_set_add(deny, text) != 0)
            fuzz_addr_fail("bare IPv4 as a CIDR", text);
        if (!addr_is_denied(&e, deny, NULL, NULL))
            fuzz_addr_fail("deny_ranges missed an embedded address", text);
        cidr_set_free(deny);
    }
}

static void
fuzz_addr_host(const char *text, size_t len)
{
    struct addr a;
    int r;

    memset(&a, 0x5a, sizeof(a));
    r = addr_parse_literal(text, len, &a);
    if (r != 1 && r != 0 && r != -1)
        fuzz_addr_fail("addr_parse_literal result", "");
    if (r != 1)
        return;
    if (a.family != AF_INET && a.family != AF_INET6)
        fuzz_addr_fail("literal family", "");
    fuzz_addr_round_trip(&a);
    fuzz_addr_classify(&a);
}

static void
fuzz_addr_cidr(const char *text)
{
    struct cidr_set *set, *again;
    char canon[ADDR_TEXT_MAX + 8], canon2[ADDR_TEXT_MAX + 8];
    char net[ADDR_TEXT_MAX];
    const char *slash;
    struct addr a;

    set = cidr_set_new();
    again = cidr_set_new();
    if (set == NULL || again == NULL)
        goto out;
    if (cidr_set_add(set, text) != 0) {
        if (cidr_set_count(set) != 0)
            fuzz_addr_fail("failed add changed the set", text);
        goto out;
    }
    if (cidr_set_count(set) != 1)
        fuzz_addr_fail("count after one add", text);
    cidr_set_format(set, 0, canon, sizeof(canon));
    slash = strchr(canon, '/');
    if (slash == NULL || (size_t)(slash - canon) >= sizeof(net))
        fuzz_addr_fail("canonical CIDR has no prefix", canon);
    memcpy(net, canon, (size_t)(slash - canon));
    net[slash - canon] = '\0';
    if (addr_parse_strict(net, &a) != 0)
        fuzz_addr_fail("canonical network address", canon);
    if (!cidr_set_contains(set, &a))
        fuzz_addr_fail("block misses its network address", canon);
    if (cidr_set_add(again, canon) != 0)
        fuzz_addr_fail("canonical CIDR refused", canon);
    cidr_set_format(again, 0, canon2, sizeof(canon2));
    if (strcmp(canon, canon2) != 0)
        fuzz_addr_fail("canonical CIDR not a fixed point", canon);
    /* a truncated output buffer stays a terminated string */
    cidr_set_format(set, 0, canon2, 5);
    if (memchr(canon2, '\0', 5) == NULL)
        fuzz_addr_fail("short format buffer not terminated", canon);
    cidr_set_format(set, 1, canon2, sizeof(canon2));
    if (canon2[0] != '\0')
        fuzz_addr_fail("format past the end", canon);
out:
    cidr_set_free(set);
    cidr_set_free(again);
}

static void
fuzz_addr_raw(const uint8_t *data)
{
    struct addr a;

    memset(&a, 0, sizeof(a));
    a.family = (data[0] & 1) ? AF_INET6 : AF_INET;
    memcpy(a.bytes, data + 1, a.family == AF_INET ? 4 : 16);
    fuzz_addr_round_trip(&a);
    fuzz_addr_classify(&a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[FUZZ_ADDR_TEXT_MAX + 1];

    if (size > FUZZ_ADDR_TEXT_MAX)
        return 0;
    fuzz_addr_host((const char *)data, size);
    memcpy(text, data, size);
    text[size] = '\0';
    /* cidr_set_add() reads a C string: an inner NUL ends it. */
    fuzz_addr_cidr(text);
    if (size >= 17)
        fuzz_addr_raw(data);
    return 0;
}
