/* tests/fuzz/fuzz_domain.c - libFuzzer target for policy/domain.c: host
 * normalisation, IDN patterns, Punycode and allow-list matching.
 *
 * The input is lines: every line but the last is a pattern, the last is
 * the host. Properties:
 *   - domain_normalize() is idempotent, its output is a valid name, and it
 *     ignores case and one trailing dot; domain_normalize_idn() agrees with
 *     it on ASCII and its output is already normalised;
 *   - for each pattern, domain_match() agrees with a one-pattern
 *     domain_set and with the reference matcher below; a pattern the set
 *     refuses matches nothing;
 *   - the set of all patterns matches a host iff one of them does, and
 *     counts each distinct pattern once;
 *   - Punycode: the code points of the host line, encoded, decode back to
 *     themselves with the RFC 3492 decoder below.
 * Hosts tried: the normalised host line, each of its label suffixes, and
 * each pattern's base with and without a label in front.
 * A failed property prints what broke and aborts. */
#include "config.h"
#include "policy/domain.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_DOMAIN_PATTERNS_MAX 16
#define FUZZ_DOMAIN_LINE_MAX 512
#define FUZZ_DOMAIN_HOSTS_MAX 160
#define FUZZ_DOMAIN_CP_MAX 128

enum fuzz_domain_form { FORM_ALL, FORM_EXACT, FORM_SUBS, FORM_DOT };

struct fuzz_domain_pattern {
    char text[FUZZ_DOMAIN_LINE_MAX + 1]; /* NUL-terminated line */
    size_t len;
    bool valid; /* the reference parsed it */
    enum fuzz_domain_form form;
    char base[DOMAIN_NAME_MAX];
};

static void
fuzz_domain_fail(const char *what, const char *a, const char *b)
{
    fprintf(stderr, "fuzz_domain: property failed: %s (\"%s\", \"%s\")\n", what,
            a, b);
    abort();
}

/* ---- reference pattern reading and matching ---- */

static void
fuzz_domain_ref_parse(struct fuzz_domain_pattern *p)
{
    const char *name = p->text;
    size_t len = p->len;

    p->valid = false;
    if (len == 1 && name[0] == '*') {
        p->form = FORM_ALL;
        p->base[0] = '\0';
        p->valid = true;
        return;
    }
    p->form = FORM_EXACT;
    if (len >= 2 && name[0] == '*' && name[1] == '.') {
        p->form = FORM_SUBS;
        name += 2;
        len -= 2;
    } else if (len >= 1 && name[0] == '.') {
        p->form = FORM_DOT;
        name++;
        len--;
    }
    if (len == 0 || name[0] == '.')
        return;
    p->valid = domain_normalize_idn(name, len, p->base) == 0;
}

static bool
fuzz_domain_ends_in_label(const char *host, const char *base)
{
    size_t h = strlen(host), b = strlen(base);

    return h > b + 1 && host[h - b - 1] == '.' &&
           strcmp(host + h - b, base) == 0;
}

static bool
fuzz_domain_ref_match(const struct fuzz_domain_pattern *p, const char *host)
{
    if (!p->valid || host[0] == '\0')
        return false;
    switch (p->form) {
    case FORM_ALL:
        return true;
    case FORM_EXACT:
        return strcmp(host, p->base) == 0;
    case FORM_SUBS:
        return fuzz_domain_ends_in_label(host, p->base);
    case FORM_DOT:
        return strcmp(host, p->base) == 0 ||
               fuzz_domain_ends_in_label(host, p->base);
    }
    return false;
}

/* ---- normalisation ---- */

static bool
fuzz_domain_name_ok(const char *s)
{
    size_t len = strlen(s), label = 0;

    if (len == 0 || len > DOMAIN_NAME_MAX - 1)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];

        if (c == '.') {
            if (label == 0 || s[i - 1] == '-')
                return false;
            label = 0;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '_') ||
            (label == 0 && c == '-') || ++label > 63)
            return false;
    }
    return label > 0 && s[len - 1] != '-';
}

static bool
fuzz_domain_is_ascii(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] >= 0x80)
            return false;
    return true;
}

/* Checks the normalisers on <s>; returns true with the name in <out>. */
static bool
fuzz_domain_normalize(const char *s, size_t len, char out[DOMAIN_NAME_MAX])
{
    char again[DOMAIN_NAME_MAX], idn[DOMAIN_NAME_MAX];
    char *variant;
    int r, ri;

    r = domain_normalize(s, len, out);
    ri = domain_normalize_idn(s, len, idn);
    if (fuzz_domain_is_ascii(s, len) &&
        (r != ri || (r == 0 && strcmp(out, idn) != 0)))
        fuzz_domain_fail("normalize and normalize_idn differ on ASCII", out,
                         idn);
    if (ri == 0) {
        if (!fuzz_domain_name_ok(idn) ||
            domain_normalize(idn, strlen(idn), again) != 0 ||
            strcmp(idn, again) != 0)
            fuzz_domain_fail("normalize_idn output not normalised", idn, again);
    }
    if (r != 0)
        return false;
    if (!fuzz_domain_name_ok(out))
        fuzz_domain_fail("normalized name invalid", out, "");
    if (domain_normalize(out, strlen(out), again) != 0 ||
        strcmp(out, again) != 0)
        fuzz_domain_fail("normalize not idempotent", out, again);

    /* Upper case and one trailing dot change nothing. */
    variant = malloc(len + 1);
    if (variant == NULL)
        return true;
    for (size_t i = 0; i < len; i++)
        variant[i] = (char)(s[i] >= 'a' && s[i] <= 'z' ? s[i] - 32 : s[i]);
    if (domain_normalize(variant, len, again) != 0 || strcmp(out, again) != 0)
        fuzz_domain_fail("case changed the name", out, again);
    if (len > 0 && s[len - 1] != '.') {
        variant[len] = '.';
        if (domain_normalize(variant, len + 1, again) != 0 ||
            strcmp(out, again) != 0)
            fuzz_domain_fail("trailing dot changed the name", out, again);
    }
    free(variant);
    return true;
}

/* ---- Punycode round trip ---- */

/* Decodes UTF-8 into code points; returns the count or -1. */
static long
fuzz_domain_utf8(const unsigned char *s, size_t len, uint32_t *cp, size_t cap)
{
    size_t n = 0;

    for (size_t i = 0; i < len; n++) {
        uint32_t c = s[i];
        size_t k = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;

        if (n == cap || (c >= 0x80 && c < 0xc2) || c > 0xf4 || i + k > len)
            return -1;
        if (k > 1)
            c &= 0x3fu >> (k - 1);
        for (size_t j = 1; j < k; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return -1;
            c = c << 6 | (s[i + j] & 0x3f);
        }
        if ((k == 3 && c < 0x800) || (k == 4 && c < 0x10000) ||
            (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
            return -1;
        cp[n] = c;
        i += k;
    }
    return (long)n;
}

static uint32_t
fuzz_domain_adapt(uint32_t delta, uint32_t numpoints, bool first)
{
    uint32_t k = 0;

    delta = first ? delta / 700 : delta / 2;
    delta += delta / numpoints;
    while (delta > ((36 - 1) * 26) / 2) {
        delta /= 36 - 1;
        k += 36;
    }
    return k + (36 - 1 + 1) * delta / (delta + 38);
}

/* RFC 3492 6.2. Returns the number of code points, or -1. */
static long
fuzz_domain_puny_decode(const char *in, uint32_t *out, size_t cap)
{
    size_t len = strlen(in), b = 0, o = 0, pos;
    uint32_t n = 0x80, i = 0, bias = 72;
    const char *dash = strrchr(in, '-');

    if (dash != NULL) {
        b = (size_t)(dash - in);
        for (size_t j = 0; j < b; j++) {
            if ((unsigned char)in[j] >= 0x80 || o == cap)
                return -1;
            out[o++] = (unsigned char)in[j];
        }
    }
    for (pos = dash != NULL ? b + 1 : 0; pos < len;) {
        uint32_t oldi = i, w = 1;

        for (uint32_t k = 36;; k += 36) {
            char c;
            uint32_t digit, t;

            if (pos >= len)
                return -1;
            c = in[pos++];
            if (c >= '0' && c <= '9')
                digit = (uint32_t)(c - '0') + 26;
            else if (c >= 'a' && c <= 'z')
                digit = (uint32_t)(c - 'a');
            else if (c >= 'A' && c <= 'Z')
                digit = (uint32_t)(c - 'A');
            else
                return -1;
            if (digit > (UINT32_MAX - i) / w)
                return -1;
            i += digit * w;
            t = k <= bias ? 1 : k >= bias + 26 ? 26 : k - bias;
            if (digit < t)
                break;
            if (w > UINT32_MAX / (36 - t))
                return -1;
            w *= 36 - t;
        }
        bias = fuzz_domain_adapt(i - oldi, (uint32_t)o + 1, oldi == 0);
        if (i / ((uint32_t)o + 1) > UINT32_MAX - n || o == cap)
            return -1;
        n += i / ((uint32_t)o + 1);
        i %= (uint32_t)o + 1;
        memmove(out + i + 1, out + i, (o - i) * sizeof(*out));
        out[i++] = n;
        o++;
    }
    return (long)o;
}

static void
fuzz_domain_punycode(const char *s, size_t len)
{
    uint32_t cp[FUZZ_DOMAIN_CP_MAX], back[FUZZ_DOMAIN_CP_MAX];
    char puny[4 * FUZZ_DOMAIN_CP_MAX + 8];
    long n, m;

    n = fuzz_domain_utf8((const unsigned char *)s, len, cp, FUZZ_DOMAIN_CP_MAX);
    if (n < 0)
        return;
    /* U+0000 would be copied as a basic code point and end the string:
     * the caller vets code points (domain.h), and no label holds it. */
    for (long i = 0; i < n; i++)
        if (cp[i] == 0)
            return;
    if (domain_punycode_encode(cp, (size_t)n, puny, sizeof(puny)) != 0)
        return; /* too long or overflow: allowed to refuse */
    if (memchr(puny, '\0', sizeof(puny)) == NULL)
        fuzz_domain_fail("punycode output not terminated", "", "");
    for (const char *p = puny; *p != '\0'; p++)
        if ((unsigned char)*p >= 0x80)
            fuzz_domain_fail("punycode output not ASCII", puny, "");
    m = fuzz_domain_puny_decode(puny, back, FUZZ_DOMAIN_CP_MAX);
    if (m != n || memcmp(cp, back, (size_t)n * sizeof(*cp)) != 0)
        fuzz_domain_fail("punycode does not decode to its input", puny, "");
    /* a one-byte buffer can only hold the empty string */
    if (n > 0 && domain_punycode_encode(cp, (size_t)n, puny, 1) == 0)
        fuzz_domain_fail("punycode fit in one byte", "", "");
}

/* ---- matching ---- */

static size_t
fuzz_domain_add_host(char (*hosts)[DOMAIN_NAME_MAX], size_t n,
                     const char *prefix, const char *name)
{
    size_t pl = strlen(prefix), nl = strlen(name);

    if (n == FUZZ_DOMAIN_HOSTS_MAX || pl + nl >= DOMAIN_NAME_MAX)
        return n;
    memcpy(hosts[n], prefix, pl);
    memcpy(hosts[n] + pl, name, nl + 1);
    return n + 1;
}

static void
fuzz_domain_matching(struct fuzz_domain_pattern *pats, size_t n_pats,
                     const char *host)
{
    static char hosts[FUZZ_DOMAIN_HOSTS_MAX][DOMAIN_NAME_MAX];
    struct domain_set *one[FUZZ_DOMAIN_PATTERNS_MAX] = { NULL };
    struct domain_set *all = domain_set_new();
    size_t n_hosts = 0, distinct = 0;
    bool added[FUZZ_DOMAIN_PATTERNS_MAX];

    if (all == NULL)
        return;
    if (host != NULL) {
        n_hosts = fuzz_domain_add_host(hosts, n_hosts, "", host);
        for (const char *d = strchr(host, '.'); d != NULL;
             d = strchr(d + 1, '.'))
            n_hosts = fuzz_domain_add_host(hosts, n_hosts, "", d + 1);
    }
    for (size_t i = 0; i < n_pats; i++) {
        struct fuzz_domain_pattern *p = &pats[i];
        int r;

        fuzz_domain_ref_parse(p);
        r = domain_set_add(all, p->text, p->len);
        if ((r == 0) != p->valid)
            fuzz_domain_fail("domain_set_add disagrees with the reference",
                             p->text, p->base);
        added[i] = r == 0;
        if (!p->valid)
            continue;
        one[i] = domain_set_new();
        if (one[i] != NULL && domain_set_add(one[i], p->text, p->len) != 0)
            fuzz_domain_fail("a pattern added once is refused alone", p->text,
                             p->base);
        /* count distinct (form, base) pairs, as the set should */
        distinct++;
        for (size_t j = 0; j < i; j++) {
            if (added[j] && pats[j].form == p->form &&
                strcmp(pats[j].base, p->base) == 0) {
                distinct--;
                break;
            }
        }
        if (p->form != FORM_ALL) {
            n_hosts = fuzz_domain_add_host(hosts, n_hosts, "", p->base);
            n_hosts = fuzz_domain_add_host(hosts, n_hosts, "x.", p->base);
            n_hosts = fuzz_domain_add_host(hosts, n_hosts, "a-b.c.", p->base);
        }
    }
    if (domain_set_count(all) != distinct)
        fuzz_domain_fail("domain_set_count", "", "");

    for (size_t h = 0; h < n_hosts; h++) {
        char norm[DOMAIN_NAME_MAX];
        bool any = false;

        if (domain_normalize(hosts[h], strlen(hosts[h]), norm) != 0 ||
            strcmp(norm, hosts[h]) != 0)
            continue; /* only normalised hosts may be asked about */
        for (size_t i = 0; i < n_pats; i++) {
            bool m = domain_match(pats[i].text, norm);

            if (m != fuzz_domain_ref_match(&pats[i], norm))
                fuzz_domain_fail("domain_match differs from the reference",
                                 pats[i].text, norm);
            any = any || m;
            /* a refused pattern has no set; the reference says it
             * matches nothing */
            if (one[i] != NULL && domain_set_match(one[i], norm) != m)
                fuzz_domain_fail("one-pattern set differs from domain_match",
                                 pats[i].text, norm);
        }
        if (domain_set_match(all, norm) != any)
            fuzz_domain_fail("set differs from its patterns", "", norm);
    }
    for (size_t i = 0; i < n_pats; i++)
        domain_set_free(one[i]);
    domain_set_free(all);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fuzz_domain_pattern pats[FUZZ_DOMAIN_PATTERNS_MAX];
    const char *s = (const char *)data, *line = s, *end = s + size;
    char host[DOMAIN_NAME_MAX];
    size_t n_pats = 0, hlen;
    bool host_ok;

    for (;;) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        size_t len;

        if (nl == NULL)
            break;
        len = (size_t)(nl - line);
        /* domain_match() reads a C string: skip lines with a NUL */
        if (n_pats < FUZZ_DOMAIN_PATTERNS_MAX && len <= FUZZ_DOMAIN_LINE_MAX &&
            memchr(line, '\0', len) == NULL) {
            memcpy(pats[n_pats].text, line, len);
            pats[n_pats].text[len] = '\0';
            pats[n_pats].len = len;
            n_pats++;
        }
        line = nl + 1;
    }
    /* the host line, read where it lies: ASan sees any overread */
    hlen = (size_t)(end - line);
    host_ok = fuzz_domain_normalize(line, hlen, host);
    fuzz_domain_punycode(line, hlen);
    fuzz_domain_matching(pats, n_pats, host_ok ? host : NULL);
    return 0;
}
