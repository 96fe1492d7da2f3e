/* policy/addr.c - IP literal recognition, CIDR sets and the built-in deny
 * ranges of SPEC section 3.
 *
 * The IPv4 literal parser follows inet_aton(3) and the WHATWG URL host
 * parser rather than inet_pton(3): an agent that writes "http://0x7f.1/"
 * reaches 127.0.0.1 through curl or a browser, so the proxy must see the
 * same address. IPv6 text is handed to inet_pton() once brackets and zone
 * id are gone, since every client library agrees on that grammar.
 * Pure code: no sockets, no DNS, no I/O. */
#include "config.h"
#include "policy/addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define ADDR_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define ADDR_V4(a, b, c, d)                                                    \
    (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) |    \
     (uint32_t)(d))

/* inet_aton accepts at most four dot-separated parts. */
#define ADDR_V4_PARTS_MAX 4
#define ADDR_V4_BITS 32
#define ADDR_V6_BITS 128
#define ADDR_V4_LEN 4
#define ADDR_V6_LEN 16
/* Offset of the IPv4 address inside ::ffff:a.b.c.d. */
#define ADDR_MAPPED_OFFSET 12
/* A prefix length has at most three digits ("128"). */
#define ADDR_PREFIX_DIGITS_MAX 3

/* ---------------------------------------------------------------------- */
/* Small helpers over the byte representation.                             */

static uint32_t
addr_v4_load(const uint8_t *b)
{
    return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) |
           ((uint32_t)b[2] << 8) | (uint32_t)b[3];
}

static void
addr_v4_store(uint32_t v, uint8_t *b)
{
    b[0] = (uint8_t)(v >> 24);
    b[1] = (uint8_t)(v >> 16);
    b[2] = (uint8_t)(v >> 8);
    b[3] = (uint8_t)v;
}

static void
addr_set_v4(struct addr *out, uint32_t v)
{
    memset(out, 0, sizeof(*out));
    out->family = AF_INET;
    addr_v4_store(v, out->bytes);
}

/* True if the first <prefix> bits of <a> and <net> agree. */
static bool
addr_bits_equal(const uint8_t *a, const uint8_t *net, unsigned prefix)
{
    unsigned full = prefix / 8, rest = prefix % 8;

    if (memcmp(a, net, full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xffu << (8 - rest));
    return (a[full] & mask) == (net[full] & mask);
}

/* True if any bit of <a> beyond <prefix> (of <nbytes> bytes) is set. */
static bool
addr_has_host_bits(const uint8_t *a, size_t nbytes, unsigned prefix)
{
    for (size_t i = 0; i < nbytes; i++) {
        unsigned first = (unsigned)i * 8;
        uint8_t host_mask;

        if (first + 8 <= prefix)
            continue;
        host_mask =
            first >= prefix ? 0xff : (uint8_t)(0xffu >> (prefix - first));
        if (a[i] & host_mask)
            return true;
    }
    return false;
}

static const uint8_t addr_mapped_prefix[ADDR_MAPPED_OFFSET] = {
    [10] = 0xff, [11] = 0xff
};

static bool
addr_is_mapped(const struct addr *a)
{
    return a->family == AF_INET6 &&
           memcmp(a->bytes, addr_mapped_prefix, ADDR_MAPPED_OFFSET) == 0;
}

/* Copies <in> to <out>, turning ::ffff:a.b.c.d into plain IPv4: the kernel
 * connects to the IPv4 address either way, so every comparison must too. */
static void
addr_unmap(const struct addr *in, struct addr *out)
{
    if (addr_is_mapped(in))
        addr_set_v4(out, addr_v4_load(in->bytes + ADDR_MAPPED_OFFSET));
    else
        *out = *in;
}

/* ---------------------------------------------------------------------- */
/* Literal parsing.                                                        */

static int
addr_hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool
addr_has_hex_prefix(const char *s, size_t len)
{
    return len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
}

/* One inet_aton part: decimal, octal with a leading 0, or hex with 0x.
 * The value saturates just above UINT32_MAX so that a long run of digits
 * cannot wrap into a valid-looking address. Returns 0, or -1 for an empty
 * part, a bare "0x" (glibc refuses it) or a digit outside the base ("08"). */
static int
addr_v4_part(const char *s, size_t len, uint64_t *out)
{
    unsigned base = 10;
    uint64_t v = 0;

    if (len == 0)
        return -1;
    if (addr_has_hex_prefix(s, len)) {
        base = 16;
        s += 2;
        len -= 2;
        if (len == 0)
            return -1;
    } else if (len >= 2 && s[0] == '0') {
        base = 8;
        s++;
        len--;
    }
    for (size_t i = 0; i < len; i++) {
        int d = addr_hex_value(s[i]);

        if (d < 0 || (unsigned)d >= base)
            return -1;
        if (v <= UINT32_MAX)
            v = v * base + (unsigned)d;
    }
    *out = v;
    return 0;
}

/* The WHATWG "ends in a number" test: the last label is all digits or
 * 0x followed by hex digits. Such a host is never a DNS name, so if it is
 * not a valid address either it must be refused, not resolved. */
static bool
addr_ends_in_number(const char *s, size_t len)
{
    size_t i = 0;

    if (len == 0)
        return false;
    if (addr_has_hex_prefix(s, len)) {
        for (i = 2; i < len; i++)
            if (addr_hex_value(s[i]) < 0)
                return false;
        return true;
    }
    for (; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* inet_aton-style IPv4: 1 to 4 parts; all but the last are one byte each,
 * the last fills the remaining bytes ("127.1" is 127.0.0.1). */
static int
addr_parse_v4_loose(const char *host, size_t len, struct addr *out)
{
    const char *last;
    uint64_t parts[ADDR_V4_PARTS_MAX];
    size_t n = 0, start = 0;
    uint32_t v = 0;

    if (len > 1 && host[len - 1] == '.')
        len--; /* one trailing dot, as for names */
    last = host + len;
    while (last > host && last[-1] != '.')
        last--;
    if (!addr_ends_in_number(last, (size_t)(host + len - last)))
        return 0;

    for (size_t i = 0; i <= len; i++) {
        if (i < len && host[i] != '.')
            continue;
        if (n == ADDR_V4_PARTS_MAX)
            return -1;
        if (addr_v4_part(host + start, i - start, &parts[n]) != 0)
            return -1;
        n++;
        start = i + 1;
    }
    for (size_t i = 0; i + 1 < n; i++) {
        if (parts[i] > UINT8_MAX)
            return -1;
        v |= (uint32_t)parts[i] << (24 - 8 * i);
    }
    /* The last part fills the 32 - 8 * (n - 1) bits left. */
    if (parts[n - 1] >= ((uint64_t)1 << (ADDR_V4_BITS - 8 * (n - 1))))
        return -1;
    v |= (uint32_t)parts[n - 1];
    addr_set_v4(out, v);
    return 1;
}

/* RFC 6874 zone ids are interface names or numbers; in a URL the '%' is
 * itself encoded ("%25eth0"). The zone does not change which address is
 * reached for our checks, so it is validated and dropped. */
static bool
addr_zone_is_valid(const char *s, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];

        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
              (c >= 'A' && c <= 'Z') || c == '-' || c == '.' || c == '_' ||
              c == '~' || c == '%'))
            return false;
    }
    return true;
}

/* IPv6 text (no brackets), with a zone id if <allow_zone>. */
static int
addr_parse_v6(const char *s, size_t len, bool allow_zone, struct addr *out)
{
    char buf[ADDR_TEXT_MAX];
    const char *pct = memchr(s, '%', len);

    if (pct != NULL) {
        const char *zone = pct + 1;
        size_t zlen = (size_t)(s + len - zone);

        if (!allow_zone)
            return -1;
        if (zlen > 2 && zone[0] == '2' && zone[1] == '5') {
            zone += 2;
            zlen -= 2;
        }
        if (!addr_zone_is_valid(zone, zlen))
            return -1;
        len = (size_t)(pct - s);
    }
    if (len == 0 || len >= sizeof(buf) || memchr(s, '\0', len) != NULL)
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET6, buf, out->bytes) != 1)
        return -1;
    out->family = AF_INET6;
    return 0;
}

int
addr_parse_literal(const char *host, size_t len, struct addr *out)
{
    if (host == NULL || len == 0)
        return 0;
    if (host[0] == '[') {
        /* Brackets only ever hold IPv6: anything else is malformed. */
        if (len < 2 || host[len - 1] != ']')
            return -1;
        return addr_parse_v6(host + 1, len - 2, true, out) == 0 ? 1 : -1;
    }
    /* No DNS name holds a ':', so a failed IPv6 parse is malformed too. */
    if (memchr(host, ':', len) != NULL)
        return addr_parse_v6(host, len, true, out) == 0 ? 1 : -1;
    return addr_parse_v4_loose(host, len, out);
}

/* Strict dotted quad: four decimal parts, no leading zeros (which would
 * mean octal to inet_aton and decimal to a reader). */
static int
addr_parse_v4_strict(const char *s, struct addr *out)
{
    uint32_t v = 0;
    size_t n = 0;

    for (;;) {
        unsigned part = 0;
        size_t digits = 0;

        while (s[digits] >= '0' && s[digits] <= '9') {
            part = part * 10 + (unsigned)(s[digits] - '0');
            if (++digits > 3)
                return -1;
        }
        if (digits == 0 || part > UINT8_MAX || (digits > 1 && s[0] == '0'))
            return -1;
        v = (v << 8) | part;
        s += digits;
        if (++n == ADDR_V4_PARTS_MAX)
            break;
        if (*s++ != '.')
            return -1;
    }
    if (*s != '\0')
        return -1;
    addr_set_v4(out, v);
    return 0;
}

int
addr_parse_strict(const char *text, struct addr *out)
{
    if (text == NULL)
        return -1;
    if (strchr(text, ':') != NULL)
        return addr_parse_v6(text, strlen(text), false, out);
    return addr_parse_v4_strict(text, out);
}

void
addr_format(const struct addr *a, char out[ADDR_TEXT_MAX])
{
    if (a->family == AF_INET) {
        /* By hand: glibc's inet_ntop goes through sprintf, and an address
         * is formatted for every access line. */
        char *p = out;

        for (int i = 0; i < 4; i++) {
            unsigned v = a->bytes[i];

            if (v >= 100)
                *p++ = (char)('0' + v / 100);
            if (v >= 10)
                *p++ = (char)('0' + v / 10 % 10);
            *p++ = (char)('0' + v % 10);
            *p++ = i < 3 ? '.' : '\0';
        }
        return;
    }
    /* An unset family formats as "": callers print it, never parse it. */
    if (a->family != AF_INET6 ||
        inet_ntop(a->family, a->bytes, out, ADDR_TEXT_MAX) == NULL)
        out[0] = '\0';
}

int
addr_from_sockaddr(const void *sa, struct addr *out)
{
    return addr_from_sockaddr_port(sa, out, NULL);
}

int
addr_from_sockaddr_port(const void *sa, struct addr *out, uint16_t *port)
{
    struct sockaddr_in sin;
    struct sockaddr_in6 sin6;
    sa_family_t family;

    /* memcpy, not a cast: callers pass sockaddr_storage, c-ares buffers,
     * ..., and we make no assumption about their alignment. */
    memcpy(&family, (const char *)sa + offsetof(struct sockaddr, sa_family),
           sizeof(family));
    memset(out, 0, sizeof(*out));
    switch (family) {
    case AF_INET:
        memcpy(&sin, sa, sizeof(sin));
        out->family = AF_INET;
        memcpy(out->bytes, &sin.sin_addr, ADDR_V4_LEN);
        if (port != NULL)
            *port = ntohs(sin.sin_port);
        return 0;
    case AF_INET6:
        memcpy(&sin6, sa, sizeof(sin6));
        out->family = AF_INET6;
        memcpy(out->bytes, &sin6.sin6_addr, ADDR_V6_LEN);
        if (port != NULL)
            *port = ntohs(sin6.sin6_port);
        return 0;
    default:
        return -1;
    }
}

void
addr_format_endpoint(const struct addr *a, uint16_t port, char *out,
                     size_t outlen)
{
    char text[ADDR_TEXT_MAX];

    addr_format(a, text);
    snprintf(out, outlen, a->family == AF_INET6 ? "[%s]:%u" : "%s:%u", text,
             (unsigned)port);
}

bool
addr_equal(const struct addr *a, const struct addr *b)
{
    struct addr x, y;

    addr_unmap(a, &x);
    addr_unmap(b, &y);
    if (x.family != y.family)
        return false;
    return memcmp(x.bytes, y.bytes,
                  x.family == AF_INET ? ADDR_V4_LEN : ADDR_V6_LEN) == 0;
}

/* ---------------------------------------------------------------------- */
/* Classification.                                                         */

/* Cloud metadata and credential endpoints. They are checked before any
 * range, and allow_ranges never lifts them: a mirror in 169.254/16 must
 * not open the instance's credentials to the agent. */
static const uint32_t addr_v4_metadata[] = {
    ADDR_V4(169, 254, 169, 254), /* AWS, GCP, Azure, OCI, DO IMDS */
    ADDR_V4(169, 254, 170, 2),   /* AWS ECS task credentials */
    ADDR_V4(169, 254, 170, 23),  /* AWS EKS pod identity */
    ADDR_V4(100, 100, 100, 200), /* Alibaba Cloud */
    ADDR_V4(168, 63, 129, 16),   /* Azure WireServer (public range!) */
};

static const uint8_t addr_v6_metadata[][ADDR_V6_LEN] = {
    /* fd00:ec2::254, AWS IMDS over IPv6 */
    { 0xfd, 0x00, 0x0e, 0xc2, [14] = 0x02, [15] = 0x54 },
    /* fd00:ec2::23, AWS EKS pod identity over IPv6 */
    { 0xfd, 0x00, 0x0e, 0xc2, [15] = 0x23 },
};

/* IPv4 special-purpose blocks (RFC 6890 and friends) that egress must
 * never reach by accident. Blocks do not overlap; anything else is
 * ADDR_PUBLIC. */
static const struct {
    uint32_t net;
    unsigned prefix;
    enum addr_class cls;
} addr_v4_blocks[] = {
    { ADDR_V4(0, 0, 0, 0), 8, ADDR_SPECIAL },         /* "this network" */
    { ADDR_V4(10, 0, 0, 0), 8, ADDR_PRIVATE },        /* RFC 1918 */
    { ADDR_V4(100, 64, 0, 0), 10, ADDR_PRIVATE },     /* CGNAT, RFC 6598 */
    { ADDR_V4(127, 0, 0, 0), 8, ADDR_LOOPBACK },      /* RFC 1122 */
    { ADDR_V4(169, 254, 0, 0), 16, ADDR_LINK_LOCAL }, /* RFC 3927 */
    { ADDR_V4(172, 16, 0, 0), 12, ADDR_PRIVATE },     /* RFC 1918 */
    { ADDR_V4(192, 0, 0, 0), 24, ADDR_SPECIAL },      /* IETF protocol */
    { ADDR_V4(192, 0, 2, 0), 24, ADDR_SPECIAL },      /* TEST-NET-1 */
    { ADDR_V4(192, 168, 0, 0), 16, ADDR_PRIVATE },    /* RFC 1918 */
    { ADDR_V4(198, 18, 0, 0), 15, ADDR_SPECIAL },     /* benchmarking */
    { ADDR_V4(198, 51, 100, 0), 24, ADDR_SPECIAL },   /* TEST-NET-2 */
    { ADDR_V4(203, 0, 113, 0), 24, ADDR_SPECIAL },    /* TEST-NET-3 */
    { ADDR_V4(224, 0, 0, 0), 4, ADDR_MULTICAST },     /* RFC 5771 */
    { ADDR_V4(240, 0, 0, 0), 4, ADDR_SPECIAL },       /* reserved, broadcast */
};

/* IPv6 rules, first match wins. A rule either classifies its block or,
 * for forms that carry an IPv4 address (<v4_at> != 0, its byte offset),
 * judges that IPv4 address: it is where the packet ends up, through the
 * kernel, a NAT64 or a 6to4 relay. ::/128 and ::1/128 come before the
 * ::/96 compat form, since ::1 is loopback, not "0.0.0.1". */
static const struct {
    uint8_t net[ADDR_V6_LEN];
    unsigned prefix;
    enum addr_class cls;
    uint8_t v4_at;
} addr_v6_rules[] = {
    { { 0 }, 128, ADDR_SPECIAL, 0 },         /* unspecified */
    { { [15] = 1 }, 128, ADDR_LOOPBACK, 0 }, /* ::1 */
    /* ::ffff:0:0/96, IPv4-mapped (RFC 4291) */
    { { [10] = 0xff, [11] = 0xff }, 96, ADDR_PUBLIC, 12 },
    /* ::ffff:0:0:0/96, SIIT IPv4-translated (RFC 6145) */
    { { [8] = 0xff, [9] = 0xff }, 96, ADDR_PUBLIC, 12 },
    /* 64:ff9b::/96, well-known NAT64 prefix (RFC 6052) */
    { { 0x00, 0x64, 0xff, 0x9b }, 96, ADDR_PUBLIC, 12 },
    /* 64:ff9b:1::/48, local-use NAT64 (RFC 8215). Its /96 layout is judged
     * by the IPv4 address; in the others (/48../64) the IPv4 address sits
     * where an operator's prefix could, so they are refused outright. */
    { { 0x00, 0x64, 0xff, 0x9b, 0x00, 0x01 }, 96, ADDR_PUBLIC, 12 },
    { { 0x00, 0x64, 0xff, 0x9b, 0x00, 0x01 }, 48, ADDR_SPECIAL, 0 },
    /* 2002::/16, 6to4 (RFC 3056): the site router's IPv4 in bits 16..47 */
    { { 0x20, 0x02 }, 16, ADDR_PUBLIC, 2 },
    /* ::/96, IPv4-compatible (deprecated, RFC 4291) */
    { { 0 }, 96, ADDR_PUBLIC, 12 },
    { { 0xfc }, 7, ADDR_PRIVATE, 0 },                    /* ULA, RFC 4193 */
    { { 0xfe, 0x80 }, 10, ADDR_LINK_LOCAL, 0 },          /* RFC 4291 */
    { { 0xff }, 8, ADDR_MULTICAST, 0 },                  /* RFC 4291 */
    { { 0x20, 0x01, 0x0d, 0xb8 }, 32, ADDR_SPECIAL, 0 }, /* documentation */
    { { 0x01, 0x00 }, 64, ADDR_SPECIAL, 0 }, /* discard-only, RFC 6666 */
};

/* Index of the first rule matching IPv6 <b>, or -1. */
static int
addr_v6_rule(const uint8_t *b)
{
    for (size_t i = 0; i < ADDR_ARRAY_LEN(addr_v6_rules); i++)
        if (addr_bits_equal(b, addr_v6_rules[i].net, addr_v6_rules[i].prefix))
            return (int)i;
    return -1;
}

/* True and the IPv4 address in <v4> if <a> is an IPv6 form embedding one. */
static bool
addr_v6_embedded(const struct addr *a, uint32_t *v4)
{
    int r;

    if (a->family != AF_INET6)
        return false;
    r = addr_v6_rule(a->bytes);
    if (r < 0 || addr_v6_rules[r].v4_at == 0)
        return false;
    *v4 = addr_v4_load(a->bytes + addr_v6_rules[r].v4_at);
    return true;
}

static enum addr_class
addr_classify_v4(uint32_t ip)
{
    for (size_t i = 0; i < ADDR_ARRAY_LEN(addr_v4_metadata); i++)
        if (ip == addr_v4_metadata[i])
            return ADDR_METADATA;
    for (size_t i = 0; i < ADDR_ARRAY_LEN(addr_v4_blocks); i++) {
        unsigned prefix = addr_v4_blocks[i].prefix;
        uint32_t mask = prefix == 0 ? 0 : ~(uint32_t)0 << (32 - prefix);

        if ((ip & mask) == addr_v4_blocks[i].net)
            return addr_v4_blocks[i].cls;
    }
    return ADDR_PUBLIC;
}

static enum addr_class
addr_classify_v6(const uint8_t *b)
{
    int r;

    for (size_t i = 0; i < ADDR_ARRAY_LEN(addr_v6_metadata); i++)
        if (memcmp(b, addr_v6_metadata[i], ADDR_V6_LEN) == 0)
            return ADDR_METADATA;
    r = addr_v6_rule(b);
    if (r < 0)
        return ADDR_PUBLIC;
    if (addr_v6_rules[r].v4_at != 0)
        return addr_classify_v4(addr_v4_load(b + addr_v6_rules[r].v4_at));
    return addr_v6_rules[r].cls;
}

enum addr_class
addr_classify(const struct addr *a)
{
    if (a->family == AF_INET)
        return addr_classify_v4(addr_v4_load(a->bytes));
    if (a->family == AF_INET6)
        return addr_classify_v6(a->bytes);
    /* Not an address we could connect to: refuse rather than allow. */
    return ADDR_SPECIAL;
}

static const char *const addr_class_names[] = {
    [ADDR_PUBLIC] = "public",         [ADDR_SPECIAL] = "special",
    [ADDR_PRIVATE] = "private",       [ADDR_LOOPBACK] = "loopback",
    [ADDR_LINK_LOCAL] = "link_local", [ADDR_MULTICAST] = "multicast",
    [ADDR_METADATA] = "metadata",
};

const char *
addr_class_name(enum addr_class cls)
{
    if ((unsigned)cls >= ADDR_ARRAY_LEN(addr_class_names) ||
        addr_class_names[cls] == NULL)
        return "unknown";
    return addr_class_names[cls];
}

/* ---------------------------------------------------------------------- */
/* CIDR sets.                                                              */

struct cidr_block {
    struct addr net; /* host bits zero; IPv4-mapped blocks kept as IPv4 */
    unsigned prefix;
};

struct cidr_set {
    struct cidr_block *blocks;
    size_t n, cap;
};

struct cidr_set *
cidr_set_new(void)
{
    return calloc(1, sizeof(struct cidr_set));
}

void
cidr_set_free(struct cidr_set *set)
{
    if (set == NULL)
        return;
    free(set->blocks);
    free(set);
}

/* "0" or a decimal number without leading zeros, at most <max>. */
static int
addr_parse_prefix(const char *s, unsigned max, unsigned *out)
{
    unsigned v = 0;
    size_t i;

    for (i = 0; s[i] >= '0' && s[i] <= '9'; i++) {
        if (i == ADDR_PREFIX_DIGITS_MAX)
            return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (i == 0 || s[i] != '\0' || (i > 1 && s[0] == '0') || v > max)
        return -1;
    *out = v;
    return 0;
}

int
cidr_set_add(struct cidr_set *set, const char *text)
{
    char buf[ADDR_TEXT_MAX];
    struct cidr_block blk;
    const char *slash;
    size_t alen;
    unsigned max;

    if (set == NULL || text == NULL)
        return -1;
    slash = strchr(text, '/');
    alen = slash != NULL ? (size_t)(slash - text) : strlen(text);
    if (alen == 0 || alen >= sizeof(buf))
        return -1;
    memcpy(buf, text, alen);
    buf[alen] = '\0';
    if (addr_parse_strict(buf, &blk.net) != 0)
        return -1;
    max = blk.net.family == AF_INET ? ADDR_V4_BITS : ADDR_V6_BITS;
    blk.prefix = max;
    if (slash != NULL && addr_parse_prefix(slash + 1, max, &blk.prefix) != 0)
        return -1;
    if (addr_has_host_bits(blk.net.bytes, max / 8, blk.prefix))
        return -1;
    /* ::ffff:10.0.0.0/104 means 10.0.0.0/8: store it so, and one lookup
     * after addr_unmap() covers both spellings. */
    if (blk.prefix >= ADDR_V6_BITS - ADDR_V4_BITS && addr_is_mapped(&blk.net)) {
        addr_unmap(&blk.net, &blk.net);
        blk.prefix -= ADDR_V6_BITS - ADDR_V4_BITS;
    }
    if (set->n == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 4;
        struct cidr_block *v = realloc(set->blocks, cap * sizeof(*v));

        if (v == NULL)
            return -1; /* the set keeps its current blocks */
        set->blocks = v;
        set->cap = cap;
    }
    set->blocks[set->n++] = blk;
    return 0;
}

bool
cidr_set_contains(const struct cidr_set *set, const struct addr *a)
{
    struct addr x;

    if (set == NULL)
        return false;
    addr_unmap(a, &x);
    for (size_t i = 0; i < set->n; i++) {
        const struct cidr_block *blk = &set->blocks[i];

        if (blk->net.family == x.family &&
            addr_bits_equal(x.bytes, blk->net.bytes, blk->prefix))
            return true;
    }
    return false;
}

size_t
cidr_set_count(const struct cidr_set *set)
{
    return set == NULL ? 0 : set->n;
}

void
cidr_set_format(const struct cidr_set *set, size_t i, char *out, size_t outlen)
{
    char text[ADDR_TEXT_MAX];

    if (outlen == 0)
        return;
    out[0] = '\0';
    if (set == NULL || i >= set->n)
        return;
    addr_format(&set->blocks[i].net, text);
    snprintf(out, outlen, "%s/%u", text, set->blocks[i].prefix);
}

/* deny_ranges are judged like the built-in list: an address inside a
 * NAT64 or 6to4 form is denied when the IPv4 address it reaches is. */
static bool
addr_deny_set_holds(const struct cidr_set *deny, const struct addr *a)
{
    struct addr e;
    uint32_t v4;

    if (cidr_set_contains(deny, a))
        return true;
    if (!addr_v6_embedded(a, &v4))
        return false;
    addr_set_v4(&e, v4);
    return cidr_set_contains(deny, &e);
}

bool
addr_is_denied(const struct addr *a, const struct cidr_set *deny,
               const struct cidr_set *allow, enum addr_class *why)
{
    enum addr_class cls = addr_classify(a);
    bool denied;

    if (cls == ADDR_PUBLIC && addr_deny_set_holds(deny, a))
        cls = ADDR_SPECIAL;
    denied = cls != ADDR_PUBLIC;
    if (denied && cls != ADDR_METADATA && cidr_set_contains(allow, a)) {
        denied = false;
        cls = ADDR_PUBLIC;
    }
    if (why != NULL)
        *why = cls;
    return denied;
}
