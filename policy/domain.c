/* policy/domain.c - host name normalisation and allow-list matching.
 *
 * A domain_set is one open-addressing hash table keyed by a pattern's base
 * name ("example.com" for all of "example.com", "*.example.com" and
 * ".example.com"), whose value says which forms were added. A lookup
 * probes the host itself and each of its label suffixes once, so its cost
 * depends on the host's length, never on the number of patterns: a
 * 100,000-line blocklist costs what a 10-line one does.
 * Names live in one arena per set, so loading N patterns does O(log N)
 * allocations, not N.
 *
 * Patterns may hold U-labels; they are converted to A-labels once, when
 * added, so matching stays a byte comparison with the A-label hosts that
 * clients send. Hosts themselves are never converted: a client that sent
 * UTF-8 would be refused by the request parser before reaching us. */
#include "config.h"
#include "policy/domain.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* RFC 1035 2.3.4: labels of at most 63 octets. */
#define DOMAIN_LABEL_MAX 63
#define DOMAIN_TEXT_MAX (DOMAIN_NAME_MAX - 1)
/* Grow the table once it is half full: linear probing stays short. */
#define DOMAIN_TABLE_MIN 16
#define DOMAIN_ARENA_MIN 256

/* Which pattern forms were added for one base name. */
enum domain_form {
    DOMAIN_FORM_EXACT = 1 << 0, /* "example.com" */
    DOMAIN_FORM_SUBS = 1 << 1,  /* "*.example.com" */
    DOMAIN_FORM_DOT = 1 << 2,   /* ".example.com": apex and subdomains */
};

/* Forms that match when the host is the base name, and when the base
 * name is a proper suffix of the host. */
#define DOMAIN_MATCH_APEX (DOMAIN_FORM_EXACT | DOMAIN_FORM_DOT)
#define DOMAIN_MATCH_SUFFIX (DOMAIN_FORM_SUBS | DOMAIN_FORM_DOT)

struct domain_entry {
    uint32_t hash; /* 0 only in empty slots (forms == 0) */
    uint32_t off;  /* name = arena + off, len bytes, not NUL-terminated */
    uint8_t len;
    uint8_t forms; /* enum domain_form bits; 0 = empty slot */
};

struct domain_set {
    struct domain_entry *slots;
    size_t cap; /* power of two */
    size_t used;
    char *arena;
    size_t arena_len, arena_cap;
    size_t count; /* distinct patterns, for domain_set_count() */
    bool match_all;
};

/* Byte classes of a host name after lower-casing: '.' separates labels,
 * '-' may not start or end a label, '_' appears in real service names. */
static bool
domain_is_name_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

int
domain_normalize(const char *host, size_t len, char out[DOMAIN_NAME_MAX])
{
    size_t label = 0;

    if (host == NULL)
        return -1;
    if (len > 0 && host[len - 1] == '.')
        len--;
    if (len == 0 || len > DOMAIN_TEXT_MAX)
        return -1;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)host[i];

        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        if (c == '.') {
            if (label == 0 || out[i - 1] == '-')
                return -1;
            label = 0;
        } else {
            if (!domain_is_name_byte(c) || (label == 0 && c == '-') ||
                ++label > DOMAIN_LABEL_MAX)
                return -1;
        }
        out[i] = (char)c;
    }
    /* label == 0: a second trailing dot left an empty last label. */
    if (label == 0 || out[len - 1] == '-')
        return -1;
    out[len] = '\0';
    return 0;
}

/* ---------------------------------------------------------------------- */
/* IDN: U-labels written in patterns become A-labels (RFC 5890, 3492).     */

/* RFC 3492 section 5: the Punycode parameters IDNA uses. */
#define DOMAIN_PUNY_BASE 36
#define DOMAIN_PUNY_TMIN 1
#define DOMAIN_PUNY_TMAX 26
#define DOMAIN_PUNY_SKEW 38
#define DOMAIN_PUNY_DAMP 700
#define DOMAIN_PUNY_BIAS 72
#define DOMAIN_PUNY_N 0x80 /* the first non-basic code point */

#define DOMAIN_ACE_PREFIX "xn--"
#define DOMAIN_ACE_PREFIX_LEN (sizeof(DOMAIN_ACE_PREFIX) - 1)
/* Each code point costs at least one byte of Punycode, so a U-label of
 * more code points than this cannot fit in 63 bytes as an A-label. */
#define DOMAIN_ULABEL_MAX (DOMAIN_LABEL_MAX - DOMAIN_ACE_PREFIX_LEN)
#define DOMAIN_UNICODE_MAX 0x10FFFF
#define DOMAIN_SURROGATE_FIRST 0xD800
#define DOMAIN_SURROGATE_LAST 0xDFFF

/* Digit values 0..25 are "a".."z", 26..35 are "0".."9". RFC 3492 allows
 * either case; a host name is compared in lower case. */
static char
domain_puny_digit(uint32_t d)
{
    return (char)(d < 26 ? 'a' + d : '0' + (d - 26));
}

/* RFC 3492 6.1: the bias after each encoded code point. */
static uint32_t
domain_puny_adapt(uint32_t delta, uint32_t numpoints, bool first)
{
    uint32_t k = 0;

    /* The first delta is usually much larger than the rest. */
    delta = first ? delta / DOMAIN_PUNY_DAMP : delta / 2;
    delta += delta / numpoints;
    while (delta >
           ((DOMAIN_PUNY_BASE - DOMAIN_PUNY_TMIN) * DOMAIN_PUNY_TMAX) / 2) {
        delta /= DOMAIN_PUNY_BASE - DOMAIN_PUNY_TMIN;
        k += DOMAIN_PUNY_BASE;
    }
    return k + (DOMAIN_PUNY_BASE - DOMAIN_PUNY_TMIN + 1) * delta /
                   (delta + DOMAIN_PUNY_SKEW);
}

/* Appends one byte, keeping room for the NUL. */
static int
domain_puny_put(char *out, size_t cap, size_t *len, char c)
{
    if (*len + 1 >= cap)
        return -1;
    out[(*len)++] = c;
    return 0;
}

/* RFC 3492 6.3, with the overflow checks of 6.4 done in uint32_t. */
int
domain_punycode_encode(const uint32_t *cp, size_t n, char *out, size_t cap)
{
    uint32_t code = DOMAIN_PUNY_N, delta = 0, bias = DOMAIN_PUNY_BIAS;
    uint32_t h, b;
    size_t len = 0;

    /* h + 1 code points are counted in a uint32_t. */
    if ((cp == NULL && n > 0) || out == NULL || cap == 0 || n >= UINT32_MAX)
        return -1;
    for (size_t j = 0; j < n; j++)
        if (cp[j] < DOMAIN_PUNY_N &&
            domain_puny_put(out, cap, &len, (char)cp[j]) != 0)
            return -1;
    h = b = (uint32_t)len;
    if (b > 0 && domain_puny_put(out, cap, &len, '-') != 0)
        return -1;
    while (h < n) {
        uint32_t m = UINT32_MAX;

        /* Every code point below <code> is done, so one at least as large
         * is left while h < n. */
        for (size_t j = 0; j < n; j++)
            if (cp[j] >= code && cp[j] < m)
                m = cp[j];
        if (m - code > (UINT32_MAX - delta) / (h + 1))
            return -1;
        delta += (m - code) * (h + 1);
        code = m;
        for (size_t j = 0; j < n; j++) {
            uint32_t q;

            if (cp[j] < code && ++delta == 0)
                return -1;
            if (cp[j] != code)
                continue;
            q = delta;
            for (uint32_t k = DOMAIN_PUNY_BASE;; k += DOMAIN_PUNY_BASE) {
                uint32_t t = k <= bias                      ? DOMAIN_PUNY_TMIN
                             : k >= bias + DOMAIN_PUNY_TMAX ? DOMAIN_PUNY_TMAX
                                                            : k - bias;

                if (q < t)
                    break;
                if (domain_puny_put(
                        out, cap, &len,
                        domain_puny_digit(t + (q - t) %
                                                  (DOMAIN_PUNY_BASE - t))) != 0)
                    return -1;
                q = (q - t) / (DOMAIN_PUNY_BASE - t);
            }
            if (domain_puny_put(out, cap, &len, domain_puny_digit(q)) != 0)
                return -1;
            bias = domain_puny_adapt(delta, h + 1, h == b);
            delta = 0;
            h++;
        }
        if (++delta == 0)
            return -1;
        code++;
    }
    out[len] = '\0';
    return 0;
}

/* Decodes the UTF-8 sequence at <s> (<n> bytes left) into <cp>. Returns
 * its length, or 0 unless it is the shortest form of a Unicode scalar
 * value (RFC 3629): an overlong form or an encoded surrogate would give
 * one pattern several spellings, which a blocklist must not allow. */
static size_t
domain_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    /* The smallest code point that needs 2, 3 or 4 bytes. */
    static const uint32_t shortest[] = { 0, 0, 0x80, 0x800, 0x10000 };
    uint32_t c = s[0];
    size_t len;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if ((c & 0xE0) == 0xC0) {
        len = 2;
        c &= 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3;
        c &= 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4;
        c &= 0x07;
    } else {
        return 0; /* a stray continuation byte, or 0xF8..0xFF */
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < shortest[len] || c > DOMAIN_UNICODE_MAX ||
        (c >= DOMAIN_SURROGATE_FIRST && c <= DOMAIN_SURROGATE_LAST))
        return 0;
    *cp = c;
    return len;
}

/* Capitals whose lower case is a single code point at a fixed distance,
 * in Unicode's simple case mapping and in UTS 46 alike. <step> 2 marks
 * runs where capital and small letter alternate. Left out on purpose:
 * U+0130 (UTS 46 maps it to two code points) and every other block, which
 * would need Unicode's tables (see policy/domain.h). */
static const struct {
    uint32_t first, last, step;
    int32_t delta;
} domain_idn_lower_runs[] = {
    { 'A', 'Z', 1, 'a' - 'A' },   { 0x00C0, 0x00D6, 1, 0x20 }, /* À..Ö */
    { 0x00D8, 0x00DE, 1, 0x20 },  /* Ø..Þ: U+00D7 is the sign × */
    { 0x0100, 0x012E, 2, 1 },     /* Ā..Į */
    { 0x0132, 0x0136, 2, 1 },     /* Ĳ..Ķ */
    { 0x0139, 0x0147, 2, 1 },     /* Ĺ..Ň */
    { 0x014A, 0x0176, 2, 1 },     /* Ŋ..Ŷ */
    { 0x0178, 0x0178, 1, -0x79 }, /* Ÿ: its small letter ÿ is in Latin-1 */
    { 0x0179, 0x017D, 2, 1 },     /* Ź..Ž */
};

static uint32_t
domain_idn_lower(uint32_t c)
{
    for (size_t i = 0;
         i < sizeof(domain_idn_lower_runs) / sizeof(domain_idn_lower_runs[0]);
         i++) {
        uint32_t first = domain_idn_lower_runs[i].first;

        if (c >= first && c <= domain_idn_lower_runs[i].last &&
            (c - first) % domain_idn_lower_runs[i].step == 0)
            return (uint32_t)((int32_t)c + domain_idn_lower_runs[i].delta);
    }
    return c;
}

/* Writes the A-label of U-label <label> (len bytes of UTF-8 holding at
 * least one non-ASCII code point) to <out>, at most <cap> bytes, no NUL.
 * Returns its length, or 0 if the label is refused. */
static size_t
domain_ulabel_encode(const char *label, size_t len, char *out, size_t cap)
{
    uint32_t cp[DOMAIN_ULABEL_MAX];
    char puny[DOMAIN_ULABEL_MAX + 1];
    size_t n = 0, plen;

    for (size_t i = 0; i < len;) {
        uint32_t c;
        size_t k =
            domain_utf8_decode((const unsigned char *)label + i, len - i, &c);

        if (k == 0 || n == DOMAIN_ULABEL_MAX)
            return 0;
        c = domain_idn_lower(c);
        /* The ASCII part goes into the A-label as it is: same bytes as an
         * ASCII label may hold. */
        if (c < DOMAIN_PUNY_N && !domain_is_name_byte((unsigned char)c))
            return 0;
        cp[n++] = c;
        i += k;
    }
    /* RFC 5891 4.2.3.1: an A-label would hide these hyphens ("xn---x"). */
    if (n == 0 || cp[0] == '-' || cp[n - 1] == '-' ||
        (n >= 4 && cp[2] == '-' && cp[3] == '-'))
        return 0;
    if (domain_punycode_encode(cp, n, puny, sizeof(puny)) != 0)
        return 0;
    plen = strlen(puny);
    if (DOMAIN_ACE_PREFIX_LEN + plen > cap)
        return 0;
    memcpy(out, DOMAIN_ACE_PREFIX, DOMAIN_ACE_PREFIX_LEN);
    memcpy(out + DOMAIN_ACE_PREFIX_LEN, puny, plen);
    return DOMAIN_ACE_PREFIX_LEN + plen;
}

static bool
domain_has_non_ascii(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] >= DOMAIN_PUNY_N)
            return true;
    return false;
}

int
domain_normalize_idn(const char *name, size_t len, char out[DOMAIN_NAME_MAX])
{
    /* One byte over a name's text: domain_normalize() drops a trailing
     * dot. Anything longer is refused there, so stop filling at the end. */
    char ascii[DOMAIN_NAME_MAX + 1];
    size_t alen = 0, i = 0;

    if (name == NULL)
        return -1;
    if (!domain_has_non_ascii(name, len))
        return domain_normalize(name, len, out);
    for (;;) {
        const char *dot = memchr(name + i, '.', len - i);
        size_t end = dot != NULL ? (size_t)(dot - name) : len;
        size_t llen = end - i;

        if (domain_has_non_ascii(name + i, llen)) {
            size_t n = domain_ulabel_encode(name + i, llen, ascii + alen,
                                            sizeof(ascii) - alen);

            if (n == 0)
                return -1;
            alen += n;
        } else {
            /* domain_normalize() judges ASCII labels, empty ones too. */
            if (llen > sizeof(ascii) - alen)
                return -1;
            memcpy(ascii + alen, name + i, llen);
            alen += llen;
        }
        if (dot == NULL)
            break;
        if (alen == sizeof(ascii))
            return -1;
        ascii[alen++] = '.';
        i = end + 1;
    }
    return domain_normalize(ascii, alen, out);
}

/* A pattern split into its form and normalised base name. */
struct domain_pattern {
    bool match_all;
    enum domain_form form;
    char base[DOMAIN_NAME_MAX];
    size_t base_len;
};

static int
domain_pattern_parse(const char *pattern, size_t len, struct domain_pattern *p)
{
    p->match_all = false;
    p->form = DOMAIN_FORM_EXACT;
    if (len == 1 && pattern[0] == '*') {
        p->match_all = true;
        p->base[0] = '\0';
        p->base_len = 0;
        return 0;
    }
    if (len >= 2 && pattern[0] == '*' && pattern[1] == '.') {
        p->form = DOMAIN_FORM_SUBS;
        pattern += 2;
        len -= 2;
    } else if (len >= 1 && pattern[0] == '.') {
        p->form = DOMAIN_FORM_DOT;
        pattern++;
        len--;
    }
    /* A '*' anywhere else ("*.*.x", "a*.x") fails the name check. So does
     * a leftover leading dot ("..x", "*..x"), as an empty label. */
    if (len == 0 || pattern[0] == '.' ||
        domain_normalize_idn(pattern, len, p->base) != 0)
        return -1;
    p->base_len = strlen(p->base);
    return 0;
}

bool
domain_match(const char *pattern, const char *host)
{
    struct domain_pattern p;
    size_t hlen;

    if (pattern == NULL || host == NULL ||
        domain_pattern_parse(pattern, strlen(pattern), &p) != 0)
        return false;
    hlen = strlen(host);
    if (hlen == 0)
        return false;
    if (p.match_all)
        return true;
    if (hlen == p.base_len)
        return (p.form & DOMAIN_MATCH_APEX) && memcmp(host, p.base, hlen) == 0;
    /* A proper suffix must start right after a dot: whole labels only. */
    return (p.form & DOMAIN_MATCH_SUFFIX) && hlen > p.base_len &&
           host[hlen - p.base_len - 1] == '.' &&
           memcmp(host + hlen - p.base_len, p.base, p.base_len) == 0;
}

/* ---------------------------------------------------------------------- */
/* The hash table.                                                         */

/* FNV-1a over the name read from its last byte to its first: a lookup
 * then gets the hash of every label suffix of the host in one pass. */
#define DOMAIN_FNV_OFFSET UINT64_C(0xcbf29ce484222325)
#define DOMAIN_FNV_PRIME UINT64_C(0x100000001b3)

static uint64_t
domain_hash_step(uint64_t h, unsigned char c)
{
    return (h ^ c) * DOMAIN_FNV_PRIME;
}

/* FNV's low bits mix poorly; the murmur3 finaliser spreads them before
 * they pick a slot. Never 0, which marks empty slots. */
static uint32_t
domain_hash_final(uint64_t h)
{
    h ^= h >> 33;
    h *= UINT64_C(0xff51afd7ed558ccd);
    h ^= h >> 33;
    h *= UINT64_C(0xc4ceb9fe1a85ec53);
    h ^= h >> 33;
    return (uint32_t)h | 1;
}

static uint32_t
domain_hash(const char *name, size_t len)
{
    uint64_t h = DOMAIN_FNV_OFFSET;

    while (len > 0)
        h = domain_hash_step(h, (unsigned char)name[--len]);
    return domain_hash_final(h);
}

struct domain_set *
domain_set_new(void)
{
    return calloc(1, sizeof(struct domain_set));
}

void
domain_set_free(struct domain_set *set)
{
    if (set == NULL)
        return;
    free(set->slots);
    free(set->arena);
    free(set);
}

/* Slot holding <name>, or the empty slot where it would go. The table is
 * never full (load <= 1/2), so the probe ends. */
static struct domain_entry *
domain_slot(const struct domain_set *set, const char *name, size_t len,
            uint32_t hash)
{
    size_t mask = set->cap - 1;

    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        struct domain_entry *e = &set->slots[i];

        if (e->forms == 0)
            return e;
        if (e->hash == hash && e->len == len &&
            memcmp(set->arena + e->off, name, len) == 0)
            return e;
    }
}

static int
domain_set_grow(struct domain_set *set)
{
    size_t cap = set->cap ? set->cap * 2 : DOMAIN_TABLE_MIN;
    struct domain_entry *old = set->slots;
    size_t old_cap = set->cap;

    set->slots = calloc(cap, sizeof(*set->slots));
    if (set->slots == NULL) {
        set->slots = old; /* keep the current table */
        return -1;
    }
    set->cap = cap;
    for (size_t i = 0; i < old_cap; i++) {
        const struct domain_entry *e = &old[i];
        size_t mask = cap - 1, j;

        if (e->forms == 0)
            continue;
        for (j = e->hash & mask; set->slots[j].forms != 0; j = (j + 1) & mask)
            ;
        set->slots[j] = *e;
    }
    free(old);
    return 0;
}

/* Appends <len> bytes to the arena; returns their offset or -1. */
static int64_t
domain_arena_put(struct domain_set *set, const char *s, size_t len)
{
    size_t off = set->arena_len;

    if (off + len > UINT32_MAX)
        return -1;
    if (off + len > set->arena_cap) {
        size_t cap = set->arena_cap ? set->arena_cap : DOMAIN_ARENA_MIN;
        char *a;

        while (cap < off + len)
            cap *= 2;
        a = realloc(set->arena, cap);
        if (a == NULL)
            return -1;
        set->arena = a;
        set->arena_cap = cap;
    }
    memcpy(set->arena + off, s, len);
    set->arena_len = off + len;
    return (int64_t)off;
}

int
domain_set_add(struct domain_set *set, const char *pattern, size_t len)
{
    struct domain_pattern p;
    struct domain_entry *e;
    uint32_t hash;
    int64_t off;

    if (set == NULL || pattern == NULL ||
        domain_pattern_parse(pattern, len, &p) != 0)
        return -1;
    if (p.match_all) {
        set->count += !set->match_all;
        set->match_all = true;
        return 0;
    }
    if ((set->used + 1) * 2 > set->cap && domain_set_grow(set) != 0)
        return -1;
    hash = domain_hash(p.base, p.base_len);
    e = domain_slot(set, p.base, p.base_len, hash);
    if (e->forms == 0) {
        off = domain_arena_put(set, p.base, p.base_len);
        if (off < 0)
            return -1;
        e->hash = hash;
        e->off = (uint32_t)off;
        e->len = (uint8_t)p.base_len;
        set->used++;
    }
    if (!(e->forms & p.form))
        set->count++;
    e->forms |= (uint8_t)p.form;
    return 0;
}

/* A 253-byte name has at most 127 labels ("a.b.c..."). */
#define DOMAIN_LABELS_MAX ((DOMAIN_TEXT_MAX + 1) / 2)

bool
domain_set_match(const struct domain_set *set, const char *host)
{
    struct {
        size_t at;     /* the suffix is host + at */
        uint32_t hash; /* its hash */
    } probes[DOMAIN_LABELS_MAX];
    size_t len, n = 0, mask;
    uint64_t h = DOMAIN_FNV_OFFSET;

    if (set == NULL || host == NULL || host[0] == '\0')
        return false;
    if (set->match_all)
        return true;
    if (set->used == 0)
        return false;
    len = strlen(host);
    if (len > DOMAIN_TEXT_MAX)
        return false;
    mask = set->cap - 1;
    /* Walk from the end: at each dot the bytes hashed so far are a label
     * suffix ("example.com" of "www.example.com"), and the last one is the
     * host. In a large set each probe is a cache miss, so all slots are
     * fetched first and the misses overlap instead of queueing. */
    for (size_t i = len; i > 0; i--) {
        if (host[i - 1] == '.' && n < DOMAIN_LABELS_MAX) {
            probes[n].at = i;
            probes[n].hash = domain_hash_final(h);
            __builtin_prefetch(&set->slots[probes[n].hash & mask]);
            n++;
        }
        h = domain_hash_step(h, (unsigned char)host[i - 1]);
    }
    for (size_t k = 0; k < n; k++) {
        const struct domain_entry *e = domain_slot(
            set, host + probes[k].at, len - probes[k].at, probes[k].hash);

        if (e->forms & DOMAIN_MATCH_SUFFIX)
            return true;
    }
    return (domain_slot(set, host, len, domain_hash_final(h))->forms &
            DOMAIN_MATCH_APEX) != 0;
}

size_t
domain_set_count(const struct domain_set *set)
{
    return set == NULL ? 0 : set->count;
}
