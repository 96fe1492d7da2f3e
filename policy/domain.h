/* policy/domain.h - host name normalisation and allow-list matching
 * (SPEC section 3). Pure string code, no I/O. A domain_set answers "does
 * any pattern match this host" in time proportional to the number of labels
 * of the host, not the number of patterns.
 *
 * IDN (SPEC 3: "IDN compared in its A-label form"): hosts arrive as
 * A-labels ("xn--bcher-kva.test"), because clients convert and the request
 * parser refuses non-ASCII bytes, so domain_normalize() stays ASCII-only.
 * Patterns may be written with U-labels ("bücher.test", "*.münchen.test");
 * domain_normalize_idn() turns each into its A-label (RFC 3492 Punycode
 * behind "xn--") before matching, so both spellings of a pattern are one.
 *
 * Out of scope: the IDNA2008 / UTS 46 mapping and validity rules (NFC
 * normalisation, full case folding, width and dot mapping, CONTEXTJ, bidi,
 * disallowed code points) need Unicode tables. The only mapping done is
 * lower-casing of ASCII and of the Latin-1 and Latin Extended-A capitals
 * ("Ä" -> "ä"). Write every other U-label the way clients look it up: in
 * lower case and NFC ("ü" as U+00FC, not "u" + U+0308), with "ß" and "ς"
 * as IDNA2008 keeps them. A pattern spelled otherwise is accepted but
 * yields an A-label no client sends, so it matches nothing: a host it was
 * meant to allow is denied, one it was meant to block is not blocked. */
#ifndef POLICY_DOMAIN_H
#define POLICY_DOMAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RFC 1035 2.3.4: 253 octets of text, plus our NUL. */
#define DOMAIN_NAME_MAX 254

/* Copies <host> (len bytes, not NUL-terminated) into <out> lower-cased and
 * without one trailing dot. Returns 0, or -1 if the result is not a valid
 * DNS host name: empty, over 253 bytes, an empty label, a label over 63
 * bytes, a byte outside [a-z0-9-_], or a label starting or ending with '-'.
 * Non-ASCII (IDN U-labels) is rejected: clients send A-labels ("xn--"). */
int domain_normalize(const char *host, size_t len, char out[DOMAIN_NAME_MAX]);

/* Like domain_normalize(), for names written in a policy: <name> (len
 * bytes of UTF-8, not NUL-terminated) may also hold U-labels, and each
 * label with a non-ASCII code point is written to <out> as "xn--" + its
 * Punycode, after the lower-casing described at the top of this file.
 * The 63-byte label and 253-byte name limits apply to the result. Returns
 * 0, or -1 if <name> is not valid UTF-8 (overlong forms, surrogates and
 * code points past U+10FFFF included), a U-label starts or ends with '-'
 * or has "--" in its third and fourth places (RFC 5891 4.2.3.1), or the
 * result fails domain_normalize(). */
int domain_normalize_idn(const char *name, size_t len,
                         char out[DOMAIN_NAME_MAX]);

/* RFC 3492 Punycode (section 6.3) of the <n> code points <cp>, without
 * the "xn--" prefix: basic code points (below U+0080) are copied as they
 * are, case included, and the rest are encoded as lower-case digits.
 * Writes a NUL-terminated string of at most <cap> - 1 bytes to <out>.
 * Returns 0, or -1 if the result does not fit or the arithmetic would
 * overflow (RFC 3492 6.4). The caller vets the code points. */
int domain_punycode_encode(const uint32_t *cp, size_t n, char *out, size_t cap);

/* True if normalised <host> matches one <pattern>:
 *   "example.com"    that host only;
 *   "*.example.com"  any subdomain, not the apex;
 *   ".example.com"   the apex and every subdomain;
 *   "*"              any host.
 * Matching is on whole labels and case-insensitive in <pattern>, whose
 * name may hold U-labels (see domain_normalize_idn()). */
bool domain_match(const char *pattern, const char *host);

/* A compiled set of patterns. Opaque. */
struct domain_set;

/* Returns a new empty set; free with domain_set_free(). NULL on OOM. */
struct domain_set *domain_set_new(void);
void domain_set_free(struct domain_set *set);

/* Adds <pattern> (len bytes) in one of the four forms above; its name may
 * hold U-labels, stored as A-labels (see domain_normalize_idn()). Returns
 * 0, or -1 if it is not a valid pattern (bad name, '*' not alone as the
 * first label, ...) or memory ran out. Adding a pattern twice, or in both
 * its U-label and A-label spellings, is harmless. */
int domain_set_add(struct domain_set *set, const char *pattern, size_t len);

/* True if normalised <host> matches any pattern of <set>. */
bool domain_set_match(const struct domain_set *set, const char *host);

/* Number of distinct patterns in <set>. */
size_t domain_set_count(const struct domain_set *set);

#endif /* POLICY_DOMAIN_H */
