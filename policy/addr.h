/* policy/addr.h - IP addresses: literal recognition in every form a
 * resolver or client library accepts, CIDR sets, and classification
 * against the built-in deny ranges (SPEC section 3).
 * Pure code: no sockets, no DNS, no I/O. Called by policy/config.c (CIDRs),
 * policy/policy.c (decisions) and proxy/ (resolved answers). */
#ifndef POLICY_ADDR_H
#define POLICY_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255" plus NUL. */
#define ADDR_TEXT_MAX 46

/* One IPv4 or IPv6 address. IPv4 lives in bytes[0..3], network order. */
struct addr {
    int family; /* AF_INET or AF_INET6 */
    uint8_t bytes[16];
};

/* Recognises <host> (len bytes, not NUL-terminated) as an IP literal in any
 * form inet_aton(3), getaddrinfo(3) or a URL library accepts:
 *   dotted quad "127.0.0.1", short forms "127.1" and "127.0.1", one 32-bit
 *   number "2130706433", octal "0177.0.0.01", hex "0x7f.1" and "0x7f000001",
 *   mixtures of these, one trailing dot "127.0.0.1.",
 *   IPv6 in any RFC 4291 text form, bracketed or not ("[::1]"), with a zone
 *   id ("fe80::1%eth0", "[fe80::1%25eth0]"), with embedded IPv4
 *   ("::ffff:127.0.0.1").
 * Returns:
 *   1 and fills <out> when <host> is an IP literal;
 *   0 when it is not an IP literal (it may be a DNS name);
 *  -1 when it looks like a number-shaped IPv4 host but is not a valid one
 *     ("1.2.3.4.5", "256.1.1.1", "0x"), which URL parsers also reject and
 *     which must never be sent to DNS. */
int addr_parse_literal(const char *host, size_t len, struct addr *out);

/* Parses one strict address ("10.0.0.1", "::1"; no short forms) into <out>.
 * Returns 0, or -1 if <text> is not one. */
int addr_parse_strict(const char *text, struct addr *out);

/* Writes the canonical text form of <a> (inet_ntop style) into <out>. */
void addr_format(const struct addr *a, char out[ADDR_TEXT_MAX]);

/* Fills <out> from a struct sockaddr (AF_INET or AF_INET6). Returns 0, or
 * -1 for another family. The port is not kept. */
int addr_from_sockaddr(const void *sa, struct addr *out);

/* Same, also returning the port (host order) in *port if not NULL. */
int addr_from_sockaddr_port(const void *sa, struct addr *out, uint16_t *port);

/* Writes "a.b.c.d:port" or "[v6]:port" into <out>. */
#define ADDR_ENDPOINT_MAX (ADDR_TEXT_MAX + 8)
void addr_format_endpoint(const struct addr *a, uint16_t port, char *out,
                          size_t outlen);

/* True if <a> and <b> are the same address, with IPv4-mapped IPv6
 * (::ffff:a.b.c.d) equal to the plain IPv4 address. */
bool addr_equal(const struct addr *a, const struct addr *b);

/* Why an address is denied by the built-in list. */
enum addr_class {
    ADDR_PUBLIC = 0, /* not in any built-in range */
    ADDR_SPECIAL,    /* RFC 6890 special purpose: this-net, docs, ... */
    ADDR_PRIVATE,    /* RFC 1918, ULA, CGNAT */
    ADDR_LOOPBACK,
    ADDR_LINK_LOCAL,
    ADDR_MULTICAST,
    ADDR_METADATA /* cloud metadata: never exempt */
};

/* Classifies <a> against the built-in deny ranges of SPEC section 3. IPv6
 * forms that embed an IPv4 address (::ffff:0:0/96, 64:ff9b::/96, 2002::/16,
 * ::/96 compat, and also ::ffff:0:0:0/96 SIIT and 64:ff9b:1::/96 local-use
 * NAT64) are judged by the embedded address; the rest of 64:ff9b:1::/48,
 * where the embedding cannot be told, is ADDR_SPECIAL. ADDR_METADATA:
 * SPEC's four endpoints plus the AWS container credential endpoints
 * 169.254.170.2, 169.254.170.23 and fd00:ec2::23, in any of these forms. */
enum addr_class addr_classify(const struct addr *a);

/* Short stable name of a class ("private", "metadata", ...). */
const char *addr_class_name(enum addr_class cls);

/* A set of CIDR blocks, linear but small (policy lists). Opaque. */
struct cidr_set;

/* Returns a new empty set; free with cidr_set_free(). NULL if out of
 * memory. */
struct cidr_set *cidr_set_new(void);
void cidr_set_free(struct cidr_set *set);

/* Adds "10.0.0.0/8", "fd00::/8" or a bare address (a /32 or /128) to <set>.
 * Host bits beyond the prefix are an error (a typo, not a wish).
 * Returns 0, or -1 if <text> is not a valid CIDR or memory ran out. */
int cidr_set_add(struct cidr_set *set, const char *text);

/* True if <a> lies in any block of <set> (NULL set: false). IPv4-mapped
 * IPv6 addresses also match IPv4 blocks. */
bool cidr_set_contains(const struct cidr_set *set, const struct addr *a);

/* Number of blocks, and the text of block <i> in canonical form. */
size_t cidr_set_count(const struct cidr_set *set);
void cidr_set_format(const struct cidr_set *set, size_t i, char *out,
                     size_t outlen);

/* The full verdict for a resolved or literal address:
 * denied if addr_classify() says anything but ADDR_PUBLIC or <deny> holds
 * it (or the IPv4 address it embeds), unless <allow> holds it - except
 * ADDR_METADATA, which <allow> never lifts. Writes the class that denied
 * it into <why> (may be NULL; ADDR_PUBLIC when not denied); deny_ranges
 * hits report ADDR_SPECIAL. */
bool addr_is_denied(const struct addr *a, const struct cidr_set *deny,
                    const struct cidr_set *allow, enum addr_class *why);

#endif /* POLICY_ADDR_H */
