/* launcher/sidecar.c - the sidecar's generated policy.
 * Everything the user wrote about what may be reached (tiers, ports,
 * caps, ranges, resolver, timeouts, limits) is kept as loaded; only where
 * the proxy listens, who it thinks the client is, and where it writes are
 * replaced. Scalars are written double-quoted, so no name or path can
 * change the YAML's shape. */
#include "config.h"
#include "launcher/sidecar.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "launcher/buf.h"
#include "launcher/launch-t.h"
#include "policy/addr.h"

/* A CIDR in canonical text: an address and "/128". */
#define SIDECAR_CIDR_TEXT_MAX (ADDR_TEXT_MAX + 8)

static void
sidecar_str(struct buf *b, const char *s)
{
    buf_puts(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\')
            buf_printf(b, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            buf_printf(b, "\\x%02x", *p);
        else
            buf_add(b, (const char *)p, 1);
    }
    buf_puts(b, "\"");
}

static const struct tier *
sidecar_find_tier(const struct policy *p, const char *name)
{
    for (size_t i = 0; i < p->n_tiers; i++) {
        if (strcmp(p->tiers[i].name, name) == 0)
            return &p->tiers[i];
    }
    return NULL;
}

/* The core channel's tiers, as names, in order. */
static size_t
sidecar_core_tiers(const struct policy *p, const struct sidecar_conf *c,
                   const char **out, size_t max)
{
    const struct listener_conf *first = &p->listeners[0];
    size_t n = 0;

    if (c->n_tiers > 0) {
        for (size_t i = 0; i < c->n_tiers && n < max; i++)
            out[n++] = c->tiers[i];
        return n;
    }
    for (size_t i = 0; i < first->n_tiers && n < max; i++)
        out[n++] = p->tiers[first->tiers[i]].name;
    return n;
}

static bool
sidecar_names_have(const char **names, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(names[i], name) == 0)
            return true;
    }
    return false;
}

int
sidecar_check(const struct policy *p, const struct sidecar_conf *c, bool *fetch,
              char *err, size_t errlen)
{
    const char *names[64];
    size_t n;

    if (p->n_listeners == 0) {
        snprintf(err, errlen, "the policy has no listener");
        return -1;
    }
    if (c->n_tiers > sizeof(names) / sizeof(names[0]) ||
        p->listeners[0].n_tiers > sizeof(names) / sizeof(names[0])) {
        snprintf(err, errlen, "more than %zu tiers on one channel",
                 sizeof(names) / sizeof(names[0]));
        return -1;
    }
    for (size_t i = 0; i < c->n_tiers; i++) {
        if (sidecar_find_tier(p, c->tiers[i]) == NULL) {
            snprintf(err, errlen, "--tier %s: the policy has no such tier",
                     c->tiers[i]);
            return -1;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(c->tiers[i], c->tiers[j]) == 0) {
                snprintf(err, errlen, "--tier %s: given twice", c->tiers[i]);
                return -1;
            }
        }
    }
    n = sidecar_core_tiers(p, c, names, sizeof(names) / sizeof(names[0]));
    *fetch = sidecar_find_tier(p, SIDECAR_FETCH_TIER) != NULL &&
             !sidecar_names_have(names, n, SIDECAR_FETCH_TIER);
    return 0;
}

static void
sidecar_listener(struct buf *b, const struct policy *p, const char *name,
                 unsigned port, const char **tiers, size_t n,
                 const char *session)
{
    buf_puts(b, "  - name: ");
    sidecar_str(b, name);
    buf_printf(b, "\n    listen: \"0.0.0.0:%u\"\n    tiers: [", port);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            buf_puts(b, ", ");
        sidecar_str(b, tiers[i]);
    }
    buf_puts(b, "]\n    session: ");
    sidecar_str(b, session);
    buf_printf(b, "\n    mode: %s\n",
               p->listeners[0].mode == LISTENER_REPORT ? "report" : "enforce");
}

static void
sidecar_cidrs(struct buf *b, const char *key, const struct cidr_set *set)
{
    char text[SIDECAR_CIDR_TEXT_MAX];
    size_t n = set != NULL ? cidr_set_count(set) : 0;

    buf_printf(b, "  %s: [", key);
    for (size_t i = 0; i < n; i++) {
        cidr_set_format(set, i, text, sizeof(text));
        if (i > 0)
            buf_puts(b, ", ");
        sidecar_str(b, text);
    }
    buf_puts(b, "]\n");
}

static void
sidecar_limits(struct buf *b, const struct tier_limits *lim)
{
    if (lim->bytes_up == 0 && lim->bytes_down == 0 &&
        lim->requests_per_minute == 0 && lim->bandwidth_bps == 0 &&
        lim->connections == 0 && lim->alert_at_pct == 0)
        return;
    buf_puts(b, "    limits:\n");
    if (lim->bytes_up != 0)
        buf_printf(b, "      bytes_up: %" PRIu64 "\n", lim->bytes_up);
    if (lim->bytes_down != 0)
        buf_printf(b, "      bytes_down: %" PRIu64 "\n", lim->bytes_down);
    if (lim->requests_per_minute != 0)
        buf_printf(b, "      requests_per_minute: %" PRIu32 "\n",
                   lim->requests_per_minute);
    if (lim->bandwidth_bps != 0)
        buf_printf(b, "      bandwidth: %" PRIu64 "/s\n", lim->bandwidth_bps);
    if (lim->connections != 0)
        buf_printf(b, "      connections: %" PRIu32 "\n", lim->connections);
    if (lim->alert_at_pct != 0)
        buf_printf(b, "      alert_at: %" PRIu32 "%%\n", lim->alert_at_pct);
}

static int
sidecar_tier(struct buf *b, const struct tier *t, size_t index,
             const struct sidecar_conf *c, struct argv *copies, char *err,
             size_t errlen)
{
    char src[LAUNCH_PATH_MAX];
    int w;

    buf_puts(b, "  ");
    sidecar_str(b, t->name);
    buf_puts(b, ":\n    domains: [");
    for (size_t i = 0; i < t->n_patterns; i++) {
        if (i > 0)
            buf_puts(b, ", ");
        sidecar_str(b, t->patterns[i]);
    }
    buf_puts(b, "]\n    domains_files: [");
    for (size_t i = 0; i < t->n_domains_files; i++) {
        const char *f = t->domains_files[i];

        if (f[0] == '/' || c->policy_dir == NULL)
            w = snprintf(src, sizeof(src), "%s", f);
        else
            w = snprintf(src, sizeof(src), "%s/%s", c->policy_dir, f);
        if (w < 0 || (size_t)w >= sizeof(src)) {
            snprintf(err, errlen, "tiers.%s: domains file path too long",
                     t->name);
            return -1;
        }
        argv_push(copies, src);
        argv_pushf(copies, "%s/%zu-%zu.txt", SIDECAR_DOMAINS_DIR, index, i);
        if (i > 0)
            buf_puts(b, ", ");
        buf_printf(b, "\"%s/%zu-%zu.txt\"", SIDECAR_DOMAINS_DIR, index, i);
    }
    buf_puts(b, "]\n    ports: [");
    for (size_t i = 0; i < t->n_ports; i++)
        buf_printf(b, "%s%u", i > 0 ? ", " : "", (unsigned)t->ports[i]);
    buf_puts(b, "]\n");
    sidecar_limits(b, &t->limits);
    return 0;
}

char *
sidecar_policy_yaml(const struct policy *p, const struct sidecar_conf *c,
                    struct argv *copies, char *err, size_t errlen)
{
    const char *core[64], *fetch[65];
    size_t n_core;
    bool has_fetch;
    struct buf b;

    if (sidecar_check(p, c, &has_fetch, err, errlen) == -1)
        return NULL;
    n_core = sidecar_core_tiers(p, c, core, sizeof(core) / sizeof(core[0]));
    buf_init(&b);
    buf_puts(&b, "# Generated by `sluice run` for session ");
    buf_puts(&b, c->session);
    buf_puts(&b, " from ");
    buf_puts(&b, p->path != NULL ? "the user's policy"
                                 : "the embedded default policy");
    buf_puts(&b, ".\nversion: 1\nlisteners:\n");
    sidecar_listener(&b, p, "agent", LAUNCH_PROXY_PORT, core, n_core,
                     c->session);
    if (has_fetch) {
        memcpy(fetch, core, n_core * sizeof(core[0]));
        fetch[n_core] = SIDECAR_FETCH_TIER;
        sidecar_listener(&b, p, SIDECAR_FETCH_TIER, LAUNCH_FETCH_PORT, fetch,
                         n_core + 1, c->session);
    }
    /* The tokens file is always there; whether it is checked is the
     * user's policy's choice (auth.mode). */
    buf_printf(&b, "auth:\n  mode: %s\n  tokens_file: \"%s\"\n",
               p->auth_mode == AUTH_BASIC ? "basic" : "none",
               SIDECAR_TOKENS_FILE);
    buf_puts(&b, "resolver:\n  servers: [");
    for (size_t i = 0; i < p->n_resolver_servers; i++) {
        if (i > 0)
            buf_puts(&b, ", ");
        sidecar_str(&b, p->resolver_servers[i]);
    }
    buf_printf(&b, "]\n  timeout_ms: %" PRIu32 "\n", p->resolver_timeout_ms);
    buf_puts(&b, "network:\n");
    sidecar_cidrs(&b, "allow_ranges", p->allow_ranges);
    sidecar_cidrs(&b, "deny_ranges", p->deny_ranges);
    buf_printf(&b, "  ip_literals: %s\n",
               p->ip_literals_allow ? "allow" : "deny");
    buf_puts(&b, "tiers:\n");
    for (size_t i = 0; i < p->n_tiers; i++) {
        if (sidecar_tier(&b, &p->tiers[i], i, c, copies, err, errlen) == -1) {
            buf_fini(&b);
            return NULL;
        }
    }
    buf_printf(&b, "log:\n  access: \"%s\"\n  events: \"%s\"\n",
               SIDECAR_ACCESS_LOG, SIDECAR_EVENTS_LOG);
    buf_printf(&b, "admin:\n  socket: \"%s\"\n", SIDECAR_ADMIN_SOCKET);
    buf_printf(&b,
               "timeouts:\n  connect_ms: %" PRIu32 "\n  header_ms: %" PRIu32
               "\n  idle_ms: %" PRIu32 "\n  shutdown_grace_ms: %" PRIu32 "\n",
               p->connect_timeout_ms, p->header_timeout_ms, p->idle_timeout_ms,
               p->shutdown_grace_ms);
    buf_printf(&b,
               "limits:\n  max_connections: %" PRIu32
               "\n  max_header_bytes: %" PRIu32 "\n",
               p->max_connections, p->max_header_bytes);
    if (b.failed || argv_ok(copies) == -1) {
        snprintf(err, errlen, "out of memory");
        buf_fini(&b);
        return NULL;
    }
    return buf_take(&b);
}
