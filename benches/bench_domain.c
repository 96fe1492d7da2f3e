/* benches/bench_domain.c - load time and lookup latency of a domain_set
 * (policy/domain.c) at 1,000, 10,000 and 100,000 patterns, to show that a
 * lookup costs the same whatever the size of the allow-list.
 *
 * Usage: bench_domain [LOOKUPS]   (default 10,000,000 per size)
 * Prints a Markdown table. Patterns and hosts come from a fixed-seed PRNG,
 * so runs are comparable. Exits 1 if any lookup gives a wrong answer. */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy/domain.h"

#define BENCH_LOOKUPS_DEFAULT 10000000UL
/* Distinct hosts per kind, cycled through: large enough to defeat branch
 * prediction on one name, small enough to stay in cache like a hot set. */
#define BENCH_HOSTS 1024
#define BENCH_NAME_MAX 128
/* A base name or a run of random labels: at most 5 labels of 11 bytes,
 * so hosts built from one stay within BENCH_NAME_MAX. */
#define BENCH_BASE_MAX 64
#define BENCH_SEED UINT64_C(0x5eed5eed1234abcd)

static const char *const bench_tlds[] = { "com", "org", "net", "io", "dev" };
#define BENCH_TLDS (sizeof(bench_tlds) / sizeof(bench_tlds[0]))

struct bench_rng {
    uint64_t s;
};

/* xorshift64*: fast, and good enough to pick letters. */
static uint64_t
bench_rand(struct bench_rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * UINT64_C(0x2545f4914f6cdd1d);
}

static unsigned
bench_between(struct bench_rng *r, unsigned lo, unsigned hi)
{
    return lo + (unsigned)(bench_rand(r) % (hi - lo + 1));
}

/* Appends a random label of 3..10 letters and a dot. */
static size_t
bench_label(struct bench_rng *r, char *out)
{
    unsigned n = bench_between(r, 3, 10);

    for (unsigned i = 0; i < n; i++)
        out[i] = (char)('a' + bench_rand(r) % 26);
    out[n] = '.';
    return n + 1;
}

/* Base name number <i>: 2..4 labels, unique through a decimal tag on the
 * first label (random labels are letters only, so they never collide). */
static void
bench_base(struct bench_rng *r, unsigned i, char *out, size_t outlen)
{
    size_t len = bench_label(r, out) - 1;
    unsigned extra = bench_between(r, 0, 2);
    const char *tld = bench_tlds[bench_rand(r) % BENCH_TLDS];

    len += (size_t)snprintf(out + len, outlen - len, "%u.", i);
    for (unsigned k = 0; k < extra; k++)
        len += bench_label(r, out + len);
    snprintf(out + len, outlen - len, "%s", tld);
}

struct bench_result {
    size_t patterns;
    double load_ms;
    double ns_hit;
    double ns_miss;
};

static double
bench_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Times <lookups> lookups cycling through <hosts>; returns ns per lookup,
 * or a negative value if an answer differs from <want>. */
static double
bench_lookups(const struct domain_set *set, char (*hosts)[BENCH_NAME_MAX],
              unsigned long lookups, bool want)
{
    unsigned long matched = 0;
    double t0, t1;

    t0 = bench_now_ns();
    for (unsigned long i = 0; i < lookups; i++)
        matched += domain_set_match(set, hosts[i % BENCH_HOSTS]);
    t1 = bench_now_ns();
    if (matched != (want ? lookups : 0))
        return -1;
    return (t1 - t0) / (double)lookups;
}

static int
bench_run(size_t n, unsigned long lookups, struct bench_result *res)
{
    char(*patterns)[BENCH_NAME_MAX];
    static char hits[BENCH_HOSTS][BENCH_NAME_MAX];
    static char misses[BENCH_HOSTS][BENCH_NAME_MAX];
    struct bench_rng rng = { BENCH_SEED ^ n };
    struct domain_set *set;
    char base[BENCH_BASE_MAX];
    double t0, t1;
    int rc = -1;

    patterns = calloc(n, sizeof(*patterns));
    if (patterns == NULL)
        return -1;
    /* Three forms in turn: exact, "*." and ".". */
    for (size_t i = 0; i < n; i++) {
        static const char *const forms[] = { "", "*.", "." };

        bench_base(&rng, (unsigned)i, base, sizeof(base));
        snprintf(patterns[i], BENCH_NAME_MAX, "%s%s", forms[i % 3], base);
    }
    /* Hits: 2-6 labels; exact patterns are hit as is, the others through
     * one or two more labels. Misses share the TLDs, so every suffix is
     * probed; a third are subdomains of exact-only patterns. */
    for (size_t h = 0; h < BENCH_HOSTS; h++) {
        size_t i = (size_t)(bench_rand(&rng) % n);
        const char *p = patterns[i];
        size_t len = 0;

        if (i % 3 == 0) {
            snprintf(hits[h], BENCH_NAME_MAX, "%s", p);
        } else {
            len = bench_label(&rng, base);
            base[len] = '\0';
            snprintf(hits[h], BENCH_NAME_MAX, "%s%s", base,
                     p + (i % 3 == 1 ? 2 : 1));
        }
        if (h % 3 == 0) {
            i -= i % 3; /* an exact pattern */
            len = bench_label(&rng, base);
            base[len] = '\0';
            snprintf(misses[h], BENCH_NAME_MAX, "%s%s", base, patterns[i]);
        } else {
            unsigned labels = bench_between(&rng, 0, 4);

            len = 0;
            for (unsigned k = 0; k < labels; k++)
                len += bench_label(&rng, base + len);
            base[len] = '\0';
            /* "q" + digits is no pattern's first label (3+ letters) */
            snprintf(misses[h], BENCH_NAME_MAX, "q%zu.%s%s", h, base,
                     bench_tlds[bench_rand(&rng) % BENCH_TLDS]);
        }
    }

    t0 = bench_now_ns();
    set = domain_set_new();
    if (set == NULL)
        goto out;
    for (size_t i = 0; i < n; i++)
        if (domain_set_add(set, patterns[i], strlen(patterns[i])) != 0) {
            fprintf(stderr, "bench_domain: bad pattern %s\n", patterns[i]);
            goto out_set;
        }
    t1 = bench_now_ns();
    if (domain_set_count(set) != n) {
        fprintf(stderr, "bench_domain: %zu distinct patterns, want %zu\n",
                domain_set_count(set), n);
        goto out_set;
    }
    res->patterns = n;
    res->load_ms = (t1 - t0) / 1e6;
    res->ns_hit = bench_lookups(set, hits, lookups / 2, true);
    res->ns_miss = bench_lookups(set, misses, lookups / 2, false);
    if (res->ns_hit < 0 || res->ns_miss < 0) {
        fprintf(stderr, "bench_domain: wrong answer at %zu patterns\n", n);
        goto out_set;
    }
    rc = 0;
out_set:
    domain_set_free(set);
out:
    free(patterns);
    return rc;
}

int
main(int argc, char **argv)
{
    static const size_t sizes[] = { 1000, 10000, 100000 };
    unsigned long lookups = BENCH_LOOKUPS_DEFAULT;

    if (argc > 1) {
        char *end;

        lookups = strtoul(argv[1], &end, 10);
        if (*end != '\0' || lookups < 2) {
            fprintf(stderr, "usage: %s [LOOKUPS]\n", argv[0]);
            return 2;
        }
    }
    printf("| patterns | load ms | ns/lookup hit | ns/lookup miss |\n");
    printf("|---:|---:|---:|---:|\n");
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        struct bench_result r;

        if (bench_run(sizes[i], lookups, &r) != 0)
            return 1;
        printf("| %zu | %.2f | %.1f | %.1f |\n", r.patterns, r.load_ms,
               r.ns_hit, r.ns_miss);
    }
    return 0;
}
