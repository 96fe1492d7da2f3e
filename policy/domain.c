/* policy/domain.c - host name normalisation and allow-list matching.
 *
 * A domain_set is one open-addressing hash table keyed by a pattern's base
 * name ("example.com" for all of "example.com", "*.example.com" and
 * ".example.com"), whose value says which forms were added. A lookup
 * probes the host itself and each of its label suffixes once, so its cost
 * depends on the host's length, never on the number of patterns: a
 * 100,000-line blocklist costs what a 10-line one does.
 * Names live in one arena per set, so loading N patterns does O(log N)
 * allocations, not N. */
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
        domain_normalize(pattern, len, p->base) != 0)
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
