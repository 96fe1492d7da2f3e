/* launcher/summary.c - the session summary from JSONL logs.
 * The log lines are flat JSON objects written by logging/jsonl.c; a small
 * scanner that skips nested values is all the parsing they need. */
#include "config.h"
#include "launcher/summary.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launcher/buf.h"

/* Longest log line read whole; longer lines are skipped as unreadable. */
#define SUMMARY_LINE_MAX 65536
/* Nesting the scanner follows inside a skipped value. */
#define SUMMARY_DEPTH_MAX 32

/* Denial reasons that mean a cap of the session was reached. */
static const char *const summary_cap_reasons[] = {
    "byte_cap",
    "rate_limited",
    "connection_cap",
};

static const char *
summary_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    return p;
}

/* Scans the string starting at the '"' at <p>. Writes the unescaped text
 * into <out> (may be NULL) and returns the position after the closing
 * quote, or NULL if the string is malformed. */
static const char *
summary_string(const char *p, const char *end, char *out, size_t outlen)
{
    size_t n = 0;

    p++;
    while (p < end && *p != '"') {
        char c = *p++;

        if (c == '\\') {
            if (p >= end)
                return NULL;
            c = *p++;
            switch (c) {
            case 'n':
                c = '\n';
                break;
            case 't':
                c = '\t';
                break;
            case 'r':
                c = '\r';
                break;
            case 'b':
                c = '\b';
                break;
            case 'f':
                c = '\f';
                break;
            case 'u': {
                unsigned v = 0;

                if (end - p < 4)
                    return NULL;
                for (int i = 0; i < 4; i++) {
                    char h = *p++;

                    v <<= 4;
                    if (h >= '0' && h <= '9')
                        v |= (unsigned)(h - '0');
                    else if (h >= 'a' && h <= 'f')
                        v |= (unsigned)(h - 'a' + 10);
                    else if (h >= 'A' && h <= 'F')
                        v |= (unsigned)(h - 'A' + 10);
                    else
                        return NULL;
                }
                c = v >= 0x20 && v < 0x7f ? (char)v : '?';
                break;
            }
            default:
                break; /* \" \\ \/ stand for themselves */
            }
        }
        if (out != NULL && n + 1 < outlen)
            out[n++] = c;
    }
    if (p >= end)
        return NULL;
    if (out != NULL && outlen > 0)
        out[n] = '\0';
    return p + 1;
}

/* Skips one value at <p>; returns the position after it, or NULL. */
static const char *
summary_skip(const char *p, const char *end)
{
    int depth = 0;

    do {
        p = summary_ws(p, end);
        if (p >= end)
            return NULL;
        if (*p == '"') {
            p = summary_string(p, end, NULL, 0);
            if (p == NULL)
                return NULL;
        } else if (*p == '{' || *p == '[') {
            if (++depth > SUMMARY_DEPTH_MAX)
                return NULL;
            p++;
        } else if (*p == '}' || *p == ']') {
            if (depth == 0)
                return NULL;
            depth--;
            p++;
        } else if (*p == ',' || *p == ':') {
            if (depth == 0)
                return NULL;
            p++;
        } else {
            while (p < end && strchr(",:}] \t\r\n", *p) == NULL)
                p++;
        }
    } while (depth > 0);
    return p;
}

int
summary_json_field(const char *line, size_t len, const char *key, char *out,
                   size_t outlen)
{
    const char *p = line, *end = line + len, *start;
    char name[SUMMARY_NAME_MAX];

    p = summary_ws(p, end);
    if (p >= end || *p != '{')
        return -1;
    p = summary_ws(p + 1, end);
    while (p < end && *p == '"') {
        p = summary_string(p, end, name, sizeof(name));
        if (p == NULL)
            return -1;
        p = summary_ws(p, end);
        if (p >= end || *p != ':')
            return -1;
        p = summary_ws(p + 1, end);
        if (strcmp(name, key) == 0) {
            if (p >= end || *p == '{' || *p == '[')
                return -1;
            if (*p == '"')
                return summary_string(p, end, out, outlen) == NULL ? -1 : 0;
            start = p;
            while (p < end && strchr(",} \t\r\n", *p) == NULL)
                p++;
            if (p == start)
                return -1;
            snprintf(out, outlen, "%.*s", (int)(p - start), start);
            return 0;
        }
        p = summary_skip(p, end);
        if (p == NULL)
            return -1;
        p = summary_ws(p, end);
        if (p < end && *p == ',')
            p = summary_ws(p + 1, end);
    }
    return -1;
}

void
summary_init(struct summary *s, const char *session, bool only_session)
{
    memset(s, 0, sizeof(*s));
    if (session != NULL)
        snprintf(s->session, sizeof(s->session), "%s", session);
    s->only_session = only_session && session != NULL;
}

void
summary_fini(struct summary *s)
{
    free(s->tiers);
    free(s->hosts);
    free(s->caps);
    memset(s, 0, sizeof(*s));
}

static uint64_t
summary_u64(const char *text)
{
    char *end;
    unsigned long long v;

    if (text[0] < '0' || text[0] > '9')
        return 0;
    errno = 0;
    v = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0')
        return 0;
    return (uint64_t)v;
}

/* Grows <*arr> (of <size>-byte items, <*n> used) by one zeroed item.
 * Returns it, or NULL if memory ran out. Arrays grow by doubling from 8;
 * a power of two count means the array is full. */
static void *
summary_grow(void *arr, size_t size, size_t *n, void **out_arr)
{
    char *a = arr;

    if (*n == 0 || (*n >= 8 && (*n & (*n - 1)) == 0)) {
        size_t cap = *n == 0 ? 8 : *n * 2;

        a = realloc(arr, cap * size);
        if (a == NULL)
            return NULL;
    }
    *out_arr = a;
    memset(a + *n * size, 0, size);
    return a + (*n)++ * size;
}

static struct summary_tier *
summary_tier_get(struct summary *s, const char *name)
{
    void *arr;
    struct summary_tier *t;

    for (size_t i = 0; i < s->n_tiers; i++) {
        if (strcmp(s->tiers[i].name, name) == 0)
            return &s->tiers[i];
    }
    if (s->n_tiers >= SUMMARY_TIERS_MAX)
        return NULL; /* counted nowhere, like hosts past their cap */
    t = summary_grow(s->tiers, sizeof(*t), &s->n_tiers, &arr);
    if (t == NULL) {
        s->failed = 1;
        return NULL;
    }
    s->tiers = arr;
    snprintf(t->name, sizeof(t->name), "%s", name);
    return t;
}

static void
summary_host_add(struct summary *s, const char *host, const char *reason)
{
    void *arr;
    struct summary_host *h;

    for (size_t i = 0; i < s->n_hosts; i++) {
        if (strcmp(s->hosts[i].host, host) == 0) {
            s->hosts[i].count++;
            return;
        }
    }
    if (s->n_hosts >= SUMMARY_HOSTS_MAX) {
        s->hosts_dropped++;
        return;
    }
    h = summary_grow(s->hosts, sizeof(*h), &s->n_hosts, &arr);
    if (h == NULL) {
        s->failed = 1;
        return;
    }
    s->hosts = arr;
    snprintf(h->host, sizeof(h->host), "%s", host);
    snprintf(h->reason, sizeof(h->reason), "%s", reason);
    h->count = 1;
}

static void
summary_cap_add(struct summary *s, const char *tier, const char *what)
{
    void *arr;
    struct summary_cap *c;

    for (size_t i = 0; i < s->n_caps; i++) {
        if (strcmp(s->caps[i].tier, tier) == 0 &&
            strcmp(s->caps[i].what, what) == 0) {
            s->caps[i].count++;
            return;
        }
    }
    if (s->n_caps >= SUMMARY_CAPS_MAX)
        return;
    c = summary_grow(s->caps, sizeof(*c), &s->n_caps, &arr);
    if (c == NULL) {
        s->failed = 1;
        return;
    }
    s->caps = arr;
    snprintf(c->tier, sizeof(c->tier), "%s", tier);
    snprintf(c->what, sizeof(c->what), "%s", what);
    c->count = 1;
}

static bool
summary_is_cap_reason(const char *reason)
{
    for (size_t i = 0;
         i < sizeof(summary_cap_reasons) / sizeof(summary_cap_reasons[0]);
         i++) {
        if (strcmp(reason, summary_cap_reasons[i]) == 0)
            return true;
    }
    return false;
}

static void
summary_access(struct summary *s, const char *line, size_t len)
{
    char decision[16], reason[SUMMARY_NAME_MAX], tier[SUMMARY_NAME_MAX];
    char host[SUMMARY_NAME_MAX], num[32];
    struct summary_tier *t;
    bool allowed;

    if (summary_json_field(line, len, "decision", decision, sizeof(decision)) ==
        -1)
        return;
    if (summary_json_field(line, len, "reason", reason, sizeof(reason)) == -1)
        reason[0] = '\0';
    if (summary_json_field(line, len, "tier", tier, sizeof(tier)) == -1 ||
        strcmp(tier, "null") == 0)
        snprintf(tier, sizeof(tier), "%s", SUMMARY_NO_TIER);
    if (summary_json_field(line, len, "host", host, sizeof(host)) == -1 ||
        strcmp(host, "null") == 0)
        snprintf(host, sizeof(host), "?");
    allowed = strcmp(decision, "allow") == 0;
    t = summary_tier_get(s, tier);
    if (allowed) {
        s->allowed++;
        if (strcmp(reason, "report_only") == 0)
            s->would_deny++;
    } else {
        s->denied++;
        summary_host_add(s, host, reason);
        if (summary_is_cap_reason(reason))
            summary_cap_add(s, tier, reason);
    }
    if (t == NULL)
        return;
    if (allowed)
        t->allowed++;
    else
        t->denied++;
    if (summary_json_field(line, len, "bytes_up", num, sizeof(num)) == 0)
        t->bytes_up += summary_u64(num);
    if (summary_json_field(line, len, "bytes_down", num, sizeof(num)) == 0)
        t->bytes_down += summary_u64(num);
}

void
summary_add_line(struct summary *s, const char *line, size_t len)
{
    char event[32], session[LAUNCH_SESSION_MAX], tier[SUMMARY_NAME_MAX];
    char cap[SUMMARY_NAME_MAX], what[SUMMARY_NAME_MAX + 8];

    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    if (len == 0)
        return;
    if (summary_json_field(line, len, "event", event, sizeof(event)) == -1) {
        s->unreadable++;
        return;
    }
    if (s->only_session && (summary_json_field(line, len, "session", session,
                                               sizeof(session)) == -1 ||
                            strcmp(session, s->session) != 0))
        return;
    if (strcmp(event, "access") == 0) {
        summary_access(s, line, len);
    } else if (strcmp(event, "alert") == 0) {
        if (summary_json_field(line, len, "tier", tier, sizeof(tier)) == -1)
            snprintf(tier, sizeof(tier), "%s", SUMMARY_NO_TIER);
        if (summary_json_field(line, len, "cap", cap, sizeof(cap)) == -1)
            snprintf(cap, sizeof(cap), "?");
        snprintf(what, sizeof(what), "alert %s", cap);
        summary_cap_add(s, tier, what);
    }
}

int
summary_add_file(struct summary *s, const char *path)
{
    FILE *f;
    char *line;
    size_t len;
    bool skipping = false;
    int rc = 0;

    f = fopen(path, "re");
    if (f == NULL)
        return -1;
    line = malloc(SUMMARY_LINE_MAX);
    if (line == NULL) {
        fclose(f);
        return -1;
    }
    while (fgets(line, SUMMARY_LINE_MAX, f) != NULL) {
        len = strlen(line);
        if (len == 0 || line[len - 1] != '\n') {
            /* Over-long, or the last line cut by a crash: not a record. */
            if (!skipping)
                s->unreadable++;
            skipping = len > 0 && !feof(f);
            continue;
        }
        if (skipping) {
            skipping = false;
            continue;
        }
        summary_add_line(s, line, len);
    }
    if (ferror(f))
        rc = -1;
    free(line);
    fclose(f);
    return rc;
}

void
summary_format_bytes(uint64_t n, char *out, size_t outlen)
{
    static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
    double v = (double)n;
    size_t u = 0;

    if (n < 1024) {
        snprintf(out, outlen, "%u B", (unsigned)n);
        return;
    }
    v /= 1024.0;
    while (v >= 1024.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
        v /= 1024.0;
        u++;
    }
    snprintf(out, outlen, "%.1f %s", v, units[u]);
}

/* Most denied first, then by name, so the output is stable. */
static int
summary_host_cmp(const void *a, const void *b)
{
    const struct summary_host *x = a, *y = b;

    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return strcmp(x->host, y->host);
}

static void
summary_render_hosts(const struct summary *s, struct buf *b)
{
    struct summary_host *sorted;
    size_t shown;

    if (s->n_hosts == 0)
        return;
    sorted = malloc(s->n_hosts * sizeof(*sorted));
    if (sorted == NULL) {
        b->failed = true;
        return;
    }
    memcpy(sorted, s->hosts, s->n_hosts * sizeof(*sorted));
    qsort(sorted, s->n_hosts, sizeof(*sorted), summary_host_cmp);
    shown = s->n_hosts < SUMMARY_HOSTS_SHOWN ? s->n_hosts : SUMMARY_HOSTS_SHOWN;
    buf_puts(b, "  denied hosts:\n");
    for (size_t i = 0; i < shown; i++)
        buf_printf(b, "    %-40.200s %6llu  %s\n", sorted[i].host,
                   (unsigned long long)sorted[i].count, sorted[i].reason);
    if (s->n_hosts > shown || s->hosts_dropped > 0)
        buf_printf(b, "    ... and %zu more hosts%s\n", s->n_hosts - shown,
                   s->hosts_dropped > 0 ? " (and more not counted by name)"
                                        : "");
    free(sorted);
}

char *
summary_render(const struct summary *s, const char *log_path)
{
    char up[32], down[32];
    struct buf b;

    buf_init(&b);
    buf_printf(&b, "sluice: session %s: %llu allowed, %llu denied\n",
               s->session[0] != '\0' ? s->session : "(all)",
               (unsigned long long)s->allowed, (unsigned long long)s->denied);
    if (s->would_deny > 0)
        buf_printf(&b,
                   "  %llu allowed only because the listener is in report "
                   "mode\n",
                   (unsigned long long)s->would_deny);
    if (s->n_tiers > 0) {
        buf_printf(&b, "  %-16s %8s %8s %12s %12s\n", "tier", "allowed",
                   "denied", "bytes up", "bytes down");
        for (size_t i = 0; i < s->n_tiers; i++) {
            const struct summary_tier *t = &s->tiers[i];

            summary_format_bytes(t->bytes_up, up, sizeof(up));
            summary_format_bytes(t->bytes_down, down, sizeof(down));
            buf_printf(&b, "  %-16.64s %8llu %8llu %12s %12s\n", t->name,
                       (unsigned long long)t->allowed,
                       (unsigned long long)t->denied, up, down);
        }
    }
    summary_render_hosts(s, &b);
    if (s->n_caps == 0) {
        buf_puts(&b, "  caps hit: none\n");
    } else {
        buf_puts(&b, "  caps hit:");
        for (size_t i = 0; i < s->n_caps; i++)
            buf_printf(&b, "%s %s %s x%llu", i > 0 ? ";" : "", s->caps[i].tier,
                       s->caps[i].what, (unsigned long long)s->caps[i].count);
        buf_puts(&b, "\n");
    }
    if (s->unreadable > 0)
        buf_printf(&b, "  %llu log lines could not be read\n",
                   (unsigned long long)s->unreadable);
    if (s->failed)
        buf_puts(&b, "  (out of memory: counts may be short)\n");
    if (log_path != NULL)
        buf_printf(&b, "  access log: %s\n", log_path);
    return buf_take(&b);
}
