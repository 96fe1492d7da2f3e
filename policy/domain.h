/* policy/domain.h - host name normalisation and allow-list matching
 * (SPEC section 3). Pure string code, no I/O. A domain_set answers "does
 * any pattern match this host" in time proportional to the number of labels
 * of the host, not the number of patterns. */
#ifndef POLICY_DOMAIN_H
#define POLICY_DOMAIN_H

#include <stdbool.h>
#include <stddef.h>

/* RFC 1035 2.3.4: 253 octets of text, plus our NUL. */
#define DOMAIN_NAME_MAX 254

/* Copies <host> (len bytes, not NUL-terminated) into <out> lower-cased and
 * without one trailing dot. Returns 0, or -1 if the result is not a valid
 * DNS host name: empty, over 253 bytes, an empty label, a label over 63
 * bytes, a byte outside [a-z0-9-_], or a label starting or ending with '-'.
 * Non-ASCII (IDN U-labels) is rejected: clients send A-labels ("xn--"). */
int domain_normalize(const char *host, size_t len, char out[DOMAIN_NAME_MAX]);

/* True if normalised <host> matches one <pattern>:
 *   "example.com"    that host only;
 *   "*.example.com"  any subdomain, not the apex;
 *   ".example.com"   the apex and every subdomain;
 *   "*"              any host.
 * Matching is on whole labels and case-insensitive in <pattern>. */
bool domain_match(const char *pattern, const char *host);

/* A compiled set of patterns. Opaque. */
struct domain_set;

/* Returns a new empty set; free with domain_set_free(). NULL on OOM. */
struct domain_set *domain_set_new(void);
void domain_set_free(struct domain_set *set);

/* Adds <pattern> (len bytes) in one of the four forms above. Returns 0, or
 * -1 if it is not a valid pattern (bad name, '*' not alone as the first
 * label, ...) or memory ran out. Adding a pattern twice is harmless. */
int domain_set_add(struct domain_set *set, const char *pattern, size_t len);

/* True if normalised <host> matches any pattern of <set>. */
bool domain_set_match(const struct domain_set *set, const char *host);

/* Number of distinct patterns in <set>. */
size_t domain_set_count(const struct domain_set *set);

#endif /* POLICY_DOMAIN_H */
