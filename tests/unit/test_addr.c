/* tests/unit/test_addr.c - IP literal forms, built-in ranges and CIDR sets
 * (policy/addr.c). */
#include "config.h"
#include "tests/unit/test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#include "policy/addr.h"

/* Parses <text> the way a request host would be, failing the test if it is
 * not an address: the tables below hold addresses only. */
static struct addr
test_addr_of(const char *text)
{
    struct addr a;

    if (addr_parse_literal(text, strlen(text), &a) != 1)
        fail_msg("test setup: \"%s\" is not an address", text);
    return a;
}

static void
test_addr_parse_literal_table(void **state)
{
    static const struct {
        const char *host;
        int want;
        const char *text; /* canonical form when want == 1 */
    } cases[] = {
        /* dotted quad and the inet_aton forms */
        { "127.0.0.1", 1, "127.0.0.1" },
        { "2130706433", 1, "127.0.0.1" },
        { "0177.0.0.1", 1, "127.0.0.1" },
        { "0177.0.0.01", 1, "127.0.0.1" },
        { "00000000000000000000177.0.0.1", 1, "127.0.0.1" },
        { "0x7f.0.0.1", 1, "127.0.0.1" },
        { "0X7F.0.0.1", 1, "127.0.0.1" },
        { "0x7f000001", 1, "127.0.0.1" },
        { "0x7F000001", 1, "127.0.0.1" },
        { "017700000001", 1, "127.0.0.1" },
        { "127.1", 1, "127.0.0.1" },
        { "127.0.1", 1, "127.0.0.1" },
        { "0x7f.1", 1, "127.0.0.1" },
        { "0x7f.0.0x0.01", 1, "127.0.0.1" },
        { "0177.0x0.1", 1, "127.0.0.1" },
        { "10.0.258", 1, "10.0.1.2" },
        { "127.65535", 1, "127.0.255.255" },
        { "127.16777215", 1, "127.255.255.255" },
        { "127.0.65535", 1, "127.0.255.255" },
        { "127.0.0.1.", 1, "127.0.0.1" },
        { "2130706433.", 1, "127.0.0.1" },
        { "0", 1, "0.0.0.0" },
        { "0x0", 1, "0.0.0.0" },
        { "00", 1, "0.0.0.0" },
        { "4294967295", 1, "255.255.255.255" },
        { "0xffffffff", 1, "255.255.255.255" },
        { "037777777777", 1, "255.255.255.255" },
        { "0xa9fea9fe", 1, "169.254.169.254" },
        { "169.254.43518", 1, "169.254.169.254" },
        { "0251.0376.0251.0376", 1, "169.254.169.254" },
        /* IPv6 in every spelling */
        { "::1", 1, "::1" },
        { "[::1]", 1, "::1" },
        { "::", 1, "::" },
        { "[::]", 1, "::" },
        { "0:0:0:0:0:0:0:1", 1, "::1" },
        { "FE80::1", 1, "fe80::1" },
        { "2001:0db8:0000:0000:0000:0000:0000:0001", 1, "2001:db8::1" },
        { "1:2:3:4:5:6:7:8", 1, "1:2:3:4:5:6:7:8" },
        { "::ffff:127.0.0.1", 1, "::ffff:127.0.0.1" },
        { "[::ffff:127.0.0.1]", 1, "::ffff:127.0.0.1" },
        { "::ffff:7f00:1", 1, "::ffff:127.0.0.1" },
        { "64:ff9b::1.2.3.4", 1, "64:ff9b::102:304" },
        { "fe80::1%eth0", 1, "fe80::1" },
        { "fe80::1%25eth0", 1, "fe80::1" },
        { "[fe80::1%eth0]", 1, "fe80::1" },
        { "[fe80::1%25eth0]", 1, "fe80::1" },
        { "fe80::1%2", 1, "fe80::1" },
        { "fe80::1%25", 1, "fe80::1" },
        { "[fd00:ec2::254]", 1, "fd00:ec2::254" },
        /* names */
        { "example.com", 0, NULL },
        { "1.2.3.example", 0, NULL },
        { "127.0.0.1.example.com", 0, NULL },
        { "localhost", 0, NULL },
        { "0xg", 0, NULL },
        { "0x7f.example", 0, NULL },
        { "1e3", 0, NULL },
        { "a", 0, NULL },
        { "xn--bcher-kva.example", 0, NULL },
        { "1.2.3.4..", 0, NULL }, /* empty last label: a bad name */
        { ".", 0, NULL },
        { "", 0, NULL },
        /* number-shaped but not an address: never resolve these */
        { "1.2.3.4.5", -1, NULL },
        { "256.0.0.1", -1, NULL },
        { "1.2.3.256", -1, NULL },
        { "1.256.3", -1, NULL },
        { "127.16777216", -1, NULL },
        { "127.0.65536", -1, NULL },
        { "4294967296", -1, NULL },
        { "0x100000000", -1, NULL },
        { "99999999999999999999999999", -1, NULL },
        { "0x", -1, NULL },
        { "0x.0.0.1", -1, NULL },
        { "1.2.3.0x", -1, NULL },
        { "08", -1, NULL },
        { "09.1.1.1", -1, NULL },
        { "0128.0.0.1", -1, NULL },
        { "1a.2.3.4", -1, NULL },
        { "example.123", -1, NULL },
        { "example.0x1f", -1, NULL },
        { "1..2", -1, NULL },
        { ".1.2.3", -1, NULL },
        { "[127.0.0.1]", -1, NULL },
        { "[example.com]", -1, NULL },
        { "[::1", -1, NULL },
        { "::1]", -1, NULL },
        { "[]", -1, NULL },
        { "[", -1, NULL },
        { "::g", -1, NULL },
        { ":::", -1, NULL },
        { "1:2:3:4:5:6:7:8:9", -1, NULL },
        { "::ffff:127.1", -1, NULL },
        { "fe80::1%", -1, NULL },
        { "[fe80::1%]", -1, NULL },
        { "fe80::1%eth 0", -1, NULL },
        { "1.2.3.4:80", -1, NULL },
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct addr a;
        char text[ADDR_TEXT_MAX];
        int rc;

        memset(&a, 0, sizeof(a));
        rc = addr_parse_literal(cases[i].host, strlen(cases[i].host), &a);
        if (rc != cases[i].want)
            fail_msg("case %zu: \"%s\": got %d, want %d", i, cases[i].host, rc,
                     cases[i].want);
        if (rc != 1)
            continue;
        addr_format(&a, text);
        if (strcmp(text, cases[i].text) != 0)
            fail_msg("case %zu: \"%s\": got %s, want %s", i, cases[i].host,
                     text, cases[i].text);
    }
}

/* IPv4 is formatted by hand: it must say what inet_ntop says, for every
 * octet value in every position. */
static void
test_addr_format_ipv4_like_inet_ntop(void **state)
{
    struct addr a;
    char text[ADDR_TEXT_MAX], want[INET_ADDRSTRLEN];

    (void)state;
    for (unsigned v = 0; v < 256; v++) {
        for (int pos = 0; pos < 4; pos++) {
            memset(&a, 0, sizeof(a));
            a.family = AF_INET;
            memset(a.bytes, (int)(255 - v), 4);
            a.bytes[pos] = (uint8_t)v;
            addr_format(&a, text);
            assert_non_null(inet_ntop(AF_INET, a.bytes, want, sizeof(want)));
            assert_string_equal(text, want);
        }
    }
}

/* The host is a slice of the request line: bytes past len must not count. */
static void
test_addr_parse_literal_uses_len(void **state)
{
    static const char line[] = "127.0.0.1:443 HTTP/1.1";
    static const char v6[] = "[::1]:443";
    struct addr a;
    char text[ADDR_TEXT_MAX];

    (void)state;
    assert_int_equal(addr_parse_literal(line, 9, &a), 1);
    addr_format(&a, text);
    assert_string_equal(text, "127.0.0.1");
    assert_int_equal(addr_parse_literal(line, 5, &a), 1); /* "127.0" */
    addr_format(&a, text);
    assert_string_equal(text, "127.0.0.0");
    assert_int_equal(addr_parse_literal(v6, 5, &a), 1);
    assert_int_equal(addr_parse_literal(v6, 4, &a), -1);
    assert_int_equal(addr_parse_literal("1.2\0.3", 6, &a), -1);
}

static void
test_addr_parse_strict_table(void **state)
{
    static const struct {
        const char *text;
        int want;
    } cases[] = {
        { "10.0.0.1", 0 },
        { "0.0.0.0", 0 },
        { "255.255.255.255", 0 },
        { "::1", 0 },
        { "::", 0 },
        { "2001:db8::1", 0 },
        { "::ffff:10.0.0.1", 0 },
        { "127.1", -1 },
        { "2130706433", -1 },
        { "0x7f.0.0.1", -1 },
        { "010.0.0.1", -1 },
        { "256.0.0.1", -1 },
        { "1.2.3.4.", -1 },
        { "1.2.3.4.5", -1 },
        { "1.2.3", -1 },
        { "1.2.3.4 ", -1 },
        { "1234.1.1.1", -1 },
        { "[::1]", -1 },
        { "fe80::1%eth0", -1 },
        { "example.com", -1 },
        { "", -1 },
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct addr a;
        int rc = addr_parse_strict(cases[i].text, &a);

        if (rc != cases[i].want)
            fail_msg("case %zu: \"%s\": got %d, want %d", i, cases[i].text, rc,
                     cases[i].want);
    }
}

/* Every built-in range: its first and last address, and the neighbours
 * just outside. */
static void
test_addr_classify_table(void **state)
{
    static const struct {
        const char *addr;
        enum addr_class want;
    } cases[] = {
        { "0.0.0.0", ADDR_SPECIAL },
        { "0.255.255.255", ADDR_SPECIAL },
        { "1.0.0.0", ADDR_PUBLIC },
        { "9.255.255.255", ADDR_PUBLIC },
        { "10.0.0.0", ADDR_PRIVATE },
        { "10.255.255.255", ADDR_PRIVATE },
        { "11.0.0.0", ADDR_PUBLIC },
        { "100.63.255.255", ADDR_PUBLIC },
        { "100.64.0.0", ADDR_PRIVATE },
        { "100.127.255.255", ADDR_PRIVATE },
        { "100.128.0.0", ADDR_PUBLIC },
        { "126.255.255.255", ADDR_PUBLIC },
        { "127.0.0.0", ADDR_LOOPBACK },
        { "127.255.255.255", ADDR_LOOPBACK },
        { "128.0.0.0", ADDR_PUBLIC },
        { "169.253.255.255", ADDR_PUBLIC },
        { "169.254.0.0", ADDR_LINK_LOCAL },
        { "169.254.255.255", ADDR_LINK_LOCAL },
        { "169.255.0.0", ADDR_PUBLIC },
        { "172.15.255.255", ADDR_PUBLIC },
        { "172.16.0.0", ADDR_PRIVATE },
        { "172.31.255.255", ADDR_PRIVATE },
        { "172.32.0.0", ADDR_PUBLIC },
        { "191.255.255.255", ADDR_PUBLIC },
        { "192.0.0.0", ADDR_SPECIAL },
        { "192.0.0.255", ADDR_SPECIAL },
        { "192.0.1.0", ADDR_PUBLIC },
        { "192.0.1.255", ADDR_PUBLIC },
        { "192.0.2.0", ADDR_SPECIAL },
        { "192.0.2.255", ADDR_SPECIAL },
        { "192.0.3.0", ADDR_PUBLIC },
        { "192.167.255.255", ADDR_PUBLIC },
        { "192.168.0.0", ADDR_PRIVATE },
        { "192.168.255.255", ADDR_PRIVATE },
        { "192.169.0.0", ADDR_PUBLIC },
        { "198.17.255.255", ADDR_PUBLIC },
        { "198.18.0.0", ADDR_SPECIAL },
        { "198.19.255.255", ADDR_SPECIAL },
        { "198.20.0.0", ADDR_PUBLIC },
        { "198.51.99.255", ADDR_PUBLIC },
        { "198.51.100.0", ADDR_SPECIAL },
        { "198.51.100.255", ADDR_SPECIAL },
        { "198.51.101.0", ADDR_PUBLIC },
        { "203.0.112.255", ADDR_PUBLIC },
        { "203.0.113.0", ADDR_SPECIAL },
        { "203.0.113.255", ADDR_SPECIAL },
        { "203.0.114.0", ADDR_PUBLIC },
        { "223.255.255.255", ADDR_PUBLIC },
        { "224.0.0.0", ADDR_MULTICAST },
        { "239.255.255.255", ADDR_MULTICAST },
        { "240.0.0.0", ADDR_SPECIAL },
        { "255.255.255.255", ADDR_SPECIAL },
        { "8.8.8.8", ADDR_PUBLIC },
        { "140.82.112.3", ADDR_PUBLIC },
        /* metadata endpoints, and their neighbours */
        { "169.254.169.254", ADDR_METADATA },
        { "169.254.169.253", ADDR_LINK_LOCAL },
        { "169.254.169.255", ADDR_LINK_LOCAL },
        { "169.254.170.2", ADDR_METADATA },
        { "169.254.170.23", ADDR_METADATA },
        { "100.100.100.200", ADDR_METADATA },
        { "100.100.100.199", ADDR_PRIVATE },
        { "168.63.129.16", ADDR_METADATA },
        { "168.63.129.15", ADDR_PUBLIC },
        { "168.63.129.17", ADDR_PUBLIC },
        { "fd00:ec2::254", ADDR_METADATA },
        { "fd00:ec2::23", ADDR_METADATA },
        { "fd00:ec2::253", ADDR_PRIVATE },
        /* IPv6 blocks */
        { "::", ADDR_SPECIAL },
        { "::1", ADDR_LOOPBACK },
        { "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ADDR_PUBLIC },
        { "fc00::", ADDR_PRIVATE },
        { "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ADDR_PRIVATE },
        { "fe00::", ADDR_PUBLIC },
        { "fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ADDR_PUBLIC },
        { "fe80::", ADDR_LINK_LOCAL },
        { "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ADDR_LINK_LOCAL },
        { "fec0::", ADDR_PUBLIC },
        { "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ADDR_PUBLIC },
        { "ff00::", ADDR_MULTICAST },
        { "ff02::1", ADDR_MULTICAST },
        { "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ADDR_MULTICAST },
        { "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", ADDR_PUBLIC },
        { "2001:db8::", ADDR_SPECIAL },
        { "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", ADDR_SPECIAL },
        { "2001:db9::", ADDR_PUBLIC },
        { "ff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ADDR_PUBLIC },
        { "100::", ADDR_SPECIAL },
        { "100::ffff:ffff:ffff:ffff", ADDR_SPECIAL },
        { "100:0:0:1::", ADDR_PUBLIC },
        { "2606:4700::1111", ADDR_PUBLIC },
        { "2a00:1450:4001::200e", ADDR_PUBLIC },
        /* IPv6 forms judged by the IPv4 address they embed */
        { "::ffff:127.0.0.1", ADDR_LOOPBACK },
        { "::ffff:10.1.2.3", ADDR_PRIVATE },
        { "::ffff:8.8.8.8", ADDR_PUBLIC },
        { "::ffff:169.254.169.254", ADDR_METADATA },
        { "::ffff:168.63.129.16", ADDR_METADATA },
        { "::ffff:0.0.0.0", ADDR_SPECIAL },
        { "::fffe:7f00:1", ADDR_PUBLIC }, /* just below ::ffff:0:0/96 */
        { "::1:0:0:0", ADDR_PUBLIC },     /* just above it */
        { "::ffff:0:127.0.0.1", ADDR_LOOPBACK },
        { "::ffff:0:8.8.8.8", ADDR_PUBLIC },
        { "::ffff:0:100.100.100.200", ADDR_METADATA },
        { "64:ff9b::10.0.0.1", ADDR_PRIVATE },
        { "64:ff9b::127.0.0.1", ADDR_LOOPBACK },
        { "64:ff9b::8.8.8.8", ADDR_PUBLIC },
        { "64:ff9b::169.254.169.254", ADDR_METADATA },
        { "64:ff9b::168.63.129.16", ADDR_METADATA },
        { "64:ff9b::1:0:0", ADDR_PUBLIC }, /* outside the /96 */
        { "64:ff9b:1::10.0.0.1", ADDR_PRIVATE },
        { "64:ff9b:1::8.8.8.8", ADDR_PUBLIC },
        { "64:ff9b:1::169.254.169.254", ADDR_METADATA },
        { "64:ff9b:1:7f00:0:100::", ADDR_SPECIAL }, /* /48 layout */
        { "64:ff9b:1:ffff:ffff:ffff:ffff:ffff", ADDR_SPECIAL },
        { "64:ff9b:2::", ADDR_PUBLIC },
        { "2002:7f00:1::", ADDR_LOOPBACK },
        { "2002:a9fe:a9fe::1", ADDR_METADATA },
        { "2002:c0a8:101::", ADDR_PRIVATE },
        { "2002:808:808::1", ADDR_PUBLIC },
        { "2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ADDR_PUBLIC },
        { "2003::", ADDR_PUBLIC },
        { "::127.0.0.1", ADDR_LOOPBACK },
        { "::10.0.0.1", ADDR_PRIVATE },
        { "::8.8.8.8", ADDR_PUBLIC },
        { "::169.254.169.254", ADDR_METADATA },
        { "::2", ADDR_SPECIAL }, /* compat 0.0.0.2 */
        /* every literal form reaches the same verdict */
        { "0x7f.1", ADDR_LOOPBACK },
        { "2852039166", ADDR_METADATA },
        { "0xa9.0xfe.0xa9.0xfe", ADDR_METADATA },
        { "[::ffff:a9fe:a9fe]", ADDR_METADATA },
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct addr a = test_addr_of(cases[i].addr);
        enum addr_class got = addr_classify(&a);

        if (got != cases[i].want)
            fail_msg("case %zu: %s: got %s, want %s", i, cases[i].addr,
                     addr_class_name(got), addr_class_name(cases[i].want));
    }
}

static void
test_addr_class_name_table(void **state)
{
    static const struct {
        enum addr_class cls;
        const char *name;
    } cases[] = {
        { ADDR_PUBLIC, "public" },         { ADDR_SPECIAL, "special" },
        { ADDR_PRIVATE, "private" },       { ADDR_LOOPBACK, "loopback" },
        { ADDR_LINK_LOCAL, "link_local" }, { ADDR_MULTICAST, "multicast" },
        { ADDR_METADATA, "metadata" },     { (enum addr_class)99, "unknown" },
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++)
        if (strcmp(addr_class_name(cases[i].cls), cases[i].name) != 0)
            fail_msg("case %zu: got %s, want %s", i,
                     addr_class_name(cases[i].cls), cases[i].name);
}

static struct cidr_set *
test_cidr_set_of(const char *const *blocks, size_t n)
{
    struct cidr_set *set = cidr_set_new();

    assert_non_null(set);
    for (size_t i = 0; i < n; i++)
        if (cidr_set_add(set, blocks[i]) != 0)
            fail_msg("test setup: cidr_set_add(\"%s\") failed", blocks[i]);
    return set;
}

/* allow_ranges lifts everything but the metadata endpoints. */
static void
test_addr_is_denied_allow_never_lifts_metadata(void **state)
{
    static const char *const allow_all[] = { "0.0.0.0/0", "::/0" };
    static const struct {
        const char *addr;
        bool denied;
        enum addr_class why;
    } cases[] = {
        { "169.254.169.254", true, ADDR_METADATA },
        { "0xa9fea9fe", true, ADDR_METADATA },
        { "169.254.170.2", true, ADDR_METADATA },
        { "100.100.100.200", true, ADDR_METADATA },
        { "168.63.129.16", true, ADDR_METADATA },
        { "fd00:ec2::254", true, ADDR_METADATA },
        { "::ffff:169.254.169.254", true, ADDR_METADATA },
        { "64:ff9b::169.254.169.254", true, ADDR_METADATA },
        { "2002:a9fe:a9fe::", true, ADDR_METADATA },
        { "169.254.1.1", false, ADDR_PUBLIC },
        { "10.0.0.1", false, ADDR_PUBLIC },
        { "127.0.0.1", false, ADDR_PUBLIC },
        { "::1", false, ADDR_PUBLIC },
        { "fd00:ec2::253", false, ADDR_PUBLIC },
    };
    struct cidr_set *allow = test_cidr_set_of(allow_all, ARRAY_LEN(allow_all));

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct addr a = test_addr_of(cases[i].addr);
        enum addr_class why = (enum addr_class)99;
        bool got = addr_is_denied(&a, NULL, allow, &why);

        if (got != cases[i].denied || why != cases[i].why) {
            cidr_set_free(allow);
            fail_msg("case %zu: %s: got %d/%s, want %d/%s", i, cases[i].addr,
                     got, addr_class_name(why), cases[i].denied,
                     addr_class_name(cases[i].why));
        }
    }
    cidr_set_free(allow);
}

static void
test_addr_is_denied_ranges(void **state)
{
    static const char *const deny_blocks[] = { "8.8.8.0/24", "2606:4700::/32" };
    static const char *const allow_blocks[] = { "10.1.0.0/16", "8.8.8.8",
                                                "fd12::/16" };
    static const struct {
        const char *addr;
        bool use_allow;
        bool denied;
        enum addr_class why;
    } cases[] = {
        /* built-in list, no sets */
        { "1.1.1.1", false, false, ADDR_PUBLIC },
        { "10.1.2.3", false, true, ADDR_PRIVATE },
        { "127.0.0.1", false, true, ADDR_LOOPBACK },
        /* deny_ranges report ADDR_SPECIAL */
        { "8.8.8.1", false, true, ADDR_SPECIAL },
        { "8.8.8.255", false, true, ADDR_SPECIAL },
        { "8.8.9.0", false, false, ADDR_PUBLIC },
        { "8.8.7.255", false, false, ADDR_PUBLIC },
        { "::ffff:8.8.8.1", false, true, ADDR_SPECIAL },
        { "64:ff9b::8.8.8.1", false, true, ADDR_SPECIAL },
        { "2002:808:801::", false, true, ADDR_SPECIAL },
        { "2606:4700::1111", false, true, ADDR_SPECIAL },
        { "2606:4701::", false, false, ADDR_PUBLIC },
        /* allow_ranges lift built-in and deny_ranges hits */
        { "10.1.2.3", true, false, ADDR_PUBLIC },
        { "::ffff:10.1.2.3", true, false, ADDR_PUBLIC },
        { "10.2.0.0", true, true, ADDR_PRIVATE },
        { "8.8.8.8", true, false, ADDR_PUBLIC },
        { "8.8.8.7", true, true, ADDR_SPECIAL },
        { "fd12::1", true, false, ADDR_PUBLIC },
        { "fd13::1", true, true, ADDR_PRIVATE },
    };
    struct cidr_set *deny =
        test_cidr_set_of(deny_blocks, ARRAY_LEN(deny_blocks));
    struct cidr_set *allow =
        test_cidr_set_of(allow_blocks, ARRAY_LEN(allow_blocks));

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct addr a = test_addr_of(cases[i].addr);
        enum addr_class why = (enum addr_class)99;
        bool got =
            addr_is_denied(&a, deny, cases[i].use_allow ? allow : NULL, &why);

        if (got != cases[i].denied || why != cases[i].why) {
            cidr_set_free(deny);
            cidr_set_free(allow);
            fail_msg("case %zu: %s: got %d/%s, want %d/%s", i, cases[i].addr,
                     got, addr_class_name(why), cases[i].denied,
                     addr_class_name(cases[i].why));
        }
    }
    /* <why> may be NULL */
    {
        struct addr a = test_addr_of("10.0.0.1");

        assert_true(addr_is_denied(&a, NULL, NULL, NULL));
    }
    cidr_set_free(deny);
    cidr_set_free(allow);
}

static void
test_cidr_set_add_table(void **state)
{
    static const struct {
        const char *text;
        int want;
        const char *canon; /* cidr_set_format() when want == 0 */
    } cases[] = {
        { "10.0.0.0/8", 0, "10.0.0.0/8" },
        { "0.0.0.0/0", 0, "0.0.0.0/0" },
        { "1.2.3.4", 0, "1.2.3.4/32" },
        { "1.2.3.4/32", 0, "1.2.3.4/32" },
        { "255.255.255.255/32", 0, "255.255.255.255/32" },
        { "::/0", 0, "::/0" },
        { "::1", 0, "::1/128" },
        { "2001:DB8::/32", 0, "2001:db8::/32" },
        { "fe80::/10", 0, "fe80::/10" },
        { "::ffff:10.0.0.0/104", 0, "10.0.0.0/8" },
        { "::ffff:0:0/96", 0, "0.0.0.0/0" },
        { "10.0.0.1/8", -1, NULL }, /* host bits set */
        { "10.128.0.0/8", -1, NULL },
        { "11.0.0.0/7", -1, NULL },
        { "fe80::/8", -1, NULL },
        { "2001:db8::1/64", -1, NULL },
        { "10.0.0.0/33", -1, NULL },
        { "::/129", -1, NULL },
        { "10.0.0.0/1000", -1, NULL },
        { "10.0.0.0/08", -1, NULL },
        { "10.0.0.0/-1", -1, NULL },
        { "10.0.0.0/", -1, NULL },
        { "10.0.0.0/8x", -1, NULL },
        { "10.0.0.0/ 8", -1, NULL },
        { "10.0.0.0/8/8", -1, NULL },
        { "/8", -1, NULL },
        { "", -1, NULL },
        { "garbage", -1, NULL },
        { "example.com/8", -1, NULL },
        { "10.1/16", -1, NULL }, /* short forms are for hosts, not config */
        { "010.0.0.0/8", -1, NULL },
        { "0x0a.0.0.0/8", -1, NULL },
        { "[::1]/128", -1, NULL },
        { "fe80::1%eth0", -1, NULL },
        { " 10.0.0.0/8", -1, NULL },
        { "1.2.3.4.5/32", -1, NULL },
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct cidr_set *set = cidr_set_new();
        char out[64];
        int rc;

        assert_non_null(set);
        rc = cidr_set_add(set, cases[i].text);
        if (rc != cases[i].want) {
            cidr_set_free(set);
            fail_msg("case %zu: \"%s\": got %d, want %d", i, cases[i].text, rc,
                     cases[i].want);
        }
        if (cidr_set_count(set) != (rc == 0 ? 1u : 0u)) {
            cidr_set_free(set);
            fail_msg("case %zu: \"%s\": count %zu", i, cases[i].text,
                     cidr_set_count(set));
        }
        if (rc == 0) {
            cidr_set_format(set, 0, out, sizeof(out));
            if (strcmp(out, cases[i].canon) != 0) {
                cidr_set_free(set);
                fail_msg("case %zu: \"%s\": formats as %s, want %s", i,
                         cases[i].text, out, cases[i].canon);
            }
        }
        cidr_set_free(set);
    }
    assert_int_equal(cidr_set_add(NULL, "10.0.0.0/8"), -1);
}

static void
test_cidr_set_contains_table(void **state)
{
    static const char *const blocks[] = { "10.0.0.0/8", "192.168.1.0/24",
                                          "2001:db8:1::/48", "1.2.3.4",
                                          "::ffff:172.16.0.0/108" };
    static const struct {
        const char *addr;
        bool want;
    } cases[] = {
        { "10.0.0.0", true },
        { "10.255.255.255", true },
        { "9.255.255.255", false },
        { "11.0.0.0", false },
        { "192.168.1.77", true },
        { "192.168.2.0", false },
        { "1.2.3.4", true },
        { "1.2.3.5", false },
        { "::ffff:10.1.1.1", true }, /* mapped matches IPv4 blocks */
        { "::ffff:11.1.1.1", false },
        { "172.16.0.1", true }, /* block written mapped, address plain */
        { "172.31.255.255", true },
        { "172.32.0.0", false },
        { "2001:db8:1::1", true },
        { "2001:db8:1:ffff:ffff:ffff:ffff:ffff", true },
        { "2001:db8:2::", false },
        { "::a00:1", false }, /* compat is not mapped */
    };
    struct cidr_set *set = test_cidr_set_of(blocks, ARRAY_LEN(blocks));
    char out[64];

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct addr a = test_addr_of(cases[i].addr);

        if (cidr_set_contains(set, &a) != cases[i].want) {
            cidr_set_free(set);
            fail_msg("case %zu: %s: want %d", i, cases[i].addr, cases[i].want);
        }
    }
    assert_int_equal(cidr_set_count(set), ARRAY_LEN(blocks));
    cidr_set_format(set, 4, out, sizeof(out));
    assert_string_equal(out, "172.16.0.0/12");
    cidr_set_format(set, 5, out, sizeof(out)); /* out of range */
    assert_string_equal(out, "");
    cidr_set_format(set, 0, out, 4); /* truncated, still terminated */
    assert_string_equal(out, "10.");
    cidr_set_free(set);

    {
        struct addr a = test_addr_of("10.0.0.1");

        assert_false(cidr_set_contains(NULL, &a));
        assert_int_equal(cidr_set_count(NULL), 0);
        cidr_set_free(NULL);
    }
}

/* A set grows past its first allocation without losing blocks. */
static void
test_cidr_set_many(void **state)
{
    struct cidr_set *set = cidr_set_new();
    char text[32];

    (void)state;
    assert_non_null(set);
    for (unsigned i = 0; i < 200; i++) {
        snprintf(text, sizeof(text), "11.0.%u.0/24", i);
        assert_int_equal(cidr_set_add(set, text), 0);
    }
    assert_int_equal(cidr_set_count(set), 200);
    for (unsigned i = 0; i < 256; i++) {
        struct addr a;

        snprintf(text, sizeof(text), "11.0.%u.9", i);
        assert_int_equal(addr_parse_strict(text, &a), 0);
        if (cidr_set_contains(set, &a) != (i < 200)) {
            cidr_set_free(set);
            fail_msg("%s: want %d", text, i < 200);
        }
    }
    cidr_set_free(set);
}

static void
test_addr_equal_table(void **state)
{
    static const struct {
        const char *a, *b;
        bool want;
    } cases[] = {
        { "127.0.0.1", "0x7f.1", true },
        { "127.0.0.1", "::ffff:127.0.0.1", true },
        { "::ffff:7f00:1", "2130706433", true },
        { "127.0.0.1", "127.0.0.2", false },
        { "127.0.0.1", "::127.0.0.1", false }, /* compat is not mapped */
        { "::1", "0:0::1", true },
        { "::1", "::2", false },
        { "fe80::1%eth0", "fe80::1", true },
    };

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct addr a = test_addr_of(cases[i].a);
        struct addr b = test_addr_of(cases[i].b);

        if (addr_equal(&a, &b) != cases[i].want ||
            addr_equal(&b, &a) != cases[i].want)
            fail_msg("case %zu: %s vs %s: want %d", i, cases[i].a, cases[i].b,
                     cases[i].want);
    }
}

static void
test_addr_from_sockaddr_families(void **state)
{
    struct sockaddr_storage ss;
    struct sockaddr_in sin;
    struct sockaddr_in6 sin6;
    struct addr a;
    char text[ADDR_TEXT_MAX];

    (void)state;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons(443);
    assert_int_equal(inet_pton(AF_INET, "192.0.2.7", &sin.sin_addr), 1);
    memset(&ss, 0, sizeof(ss));
    memcpy(&ss, &sin, sizeof(sin));
    assert_int_equal(addr_from_sockaddr(&ss, &a), 0);
    assert_int_equal(a.family, AF_INET);
    addr_format(&a, text);
    assert_string_equal(text, "192.0.2.7");

    memset(&sin6, 0, sizeof(sin6));
    sin6.sin6_family = AF_INET6;
    assert_int_equal(inet_pton(AF_INET6, "2001:db8::5", &sin6.sin6_addr), 1);
    memset(&ss, 0, sizeof(ss));
    memcpy(&ss, &sin6, sizeof(sin6));
    assert_int_equal(addr_from_sockaddr(&ss, &a), 0);
    assert_int_equal(a.family, AF_INET6);
    addr_format(&a, text);
    assert_string_equal(text, "2001:db8::5");

    memset(&ss, 0, sizeof(ss));
    ss.ss_family = AF_UNIX;
    assert_int_equal(addr_from_sockaddr(&ss, &a), -1);
}

static void
test_addr_format_unset_family(void **state)
{
    struct addr a;
    char text[ADDR_TEXT_MAX];

    (void)state;
    memset(&a, 0, sizeof(a));
    memset(text, 'x', sizeof(text));
    addr_format(&a, text);
    assert_string_equal(text, "");
    assert_int_equal(addr_classify(&a), ADDR_SPECIAL);
}

/* Endpoints read from sockaddrs and written as "ip:port" / "[v6]:port":
 * what the log's "client" field and the start event's "addr" show. */
static void
test_addr_endpoint_round_trip(void **state)
{
    struct sockaddr_in sin;
    struct sockaddr_in6 sin6;
    struct sockaddr_storage ss;
    char out[ADDR_ENDPOINT_MAX];
    struct addr a;
    uint16_t port = 0;

    (void)state;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons(3128);
    inet_pton(AF_INET, "127.0.0.2", &sin.sin_addr);
    assert_int_equal(addr_from_sockaddr_port(&sin, &a, &port), 0);
    assert_int_equal(port, 3128);
    addr_format_endpoint(&a, port, out, sizeof(out));
    assert_string_equal(out, "127.0.0.2:3128");

    memset(&sin6, 0, sizeof(sin6));
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(65535);
    inet_pton(AF_INET6, "fd00::1", &sin6.sin6_addr);
    assert_int_equal(addr_from_sockaddr_port(&sin6, &a, &port), 0);
    addr_format_endpoint(&a, port, out, sizeof(out));
    assert_string_equal(out, "[fd00::1]:65535");

    memset(&ss, 0, sizeof(ss));
    ss.ss_family = AF_UNIX;
    assert_int_equal(addr_from_sockaddr_port(&ss, &a, &port), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addr_endpoint_round_trip),
        cmocka_unit_test(test_addr_parse_literal_table),
        cmocka_unit_test(test_addr_format_ipv4_like_inet_ntop),
        cmocka_unit_test(test_addr_parse_literal_uses_len),
        cmocka_unit_test(test_addr_parse_strict_table),
        cmocka_unit_test(test_addr_classify_table),
        cmocka_unit_test(test_addr_class_name_table),
        cmocka_unit_test(test_addr_is_denied_allow_never_lifts_metadata),
        cmocka_unit_test(test_addr_is_denied_ranges),
        cmocka_unit_test(test_cidr_set_add_table),
        cmocka_unit_test(test_cidr_set_contains_table),
        cmocka_unit_test(test_cidr_set_many),
        cmocka_unit_test(test_addr_equal_table),
        cmocka_unit_test(test_addr_from_sockaddr_families),
        cmocka_unit_test(test_addr_format_unset_family),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
