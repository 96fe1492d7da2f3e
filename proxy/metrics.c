/* proxy/metrics.c - Prometheus counters. */
#include "config.h"
#include "proxy/metrics.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

static const unsigned metrics_dns_bounds_ms[METRICS_DNS_BUCKETS] = {
    1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000,
};

void
metrics_init(struct metrics *m)
{
    memset(m, 0, sizeof(*m));
}

void
metrics_fini(struct metrics *m)
{
    for (size_t i = 0; i < m->n_tiers; i++)
        free(m->tiers[i].tier);
    free(m->tiers);
    memset(m, 0, sizeof(*m));
}

/* Tiers are few and named by the policy; a linear search is the cheap
 * one. A name that cannot be added is counted under "" instead. */
static struct metrics_tier *
metrics_tier(struct metrics *m, const char *tier)
{
    struct metrics_tier *t;

    if (tier == NULL)
        tier = "";
    for (size_t i = 0; i < m->n_tiers; i++)
        if (strcmp(m->tiers[i].tier, tier) == 0)
            return &m->tiers[i];
    t = realloc(m->tiers, (m->n_tiers + 1) * sizeof(*t));
    if (t == NULL)
        return m->n_tiers > 0 ? &m->tiers[0] : NULL;
    m->tiers = t;
    t = &m->tiers[m->n_tiers];
    memset(t, 0, sizeof(*t));
    t->tier = strdup(tier);
    if (t->tier == NULL)
        return m->n_tiers > 0 ? &m->tiers[0] : NULL;
    m->n_tiers++;
    return t;
}

void
metrics_request(struct metrics *m, const char *tier, enum reason reason,
                uint64_t bytes_up, uint64_t bytes_down)
{
    struct metrics_tier *t = metrics_tier(m, tier);

    if (t == NULL || (unsigned)reason >= REASON_COUNT)
        return;
    t->requests[reason]++;
    t->bytes_up += bytes_up;
    t->bytes_down += bytes_down;
}

void
metrics_dns(struct metrics *m, int64_t ms, int failed)
{
    size_t b = 0;

    m->dns_lookups++;
    if (failed)
        m->dns_failures++;
    if (ms < 0)
        ms = 0;
    while (b < METRICS_DNS_BUCKETS && (uint64_t)ms > metrics_dns_bounds_ms[b])
        b++;
    m->dns_le[b]++;
    m->dns_sum_s += (double)ms / 1000.0;
}

static const char *
metrics_decision(enum reason r)
{
    return reason_is_allow(r) ? "allow" : "deny";
}

void
metrics_render(const struct metrics *m, const struct metrics_gauges *g,
               struct evbuffer *out)
{
    uint64_t cum = 0;

    evbuffer_add_printf(out,
                        "# HELP sluice_requests_total Requests and tunnels "
                        "by decision, reason and tier.\n"
                        "# TYPE sluice_requests_total counter\n");
    for (size_t i = 0; i < m->n_tiers; i++)
        for (int r = 0; r < REASON_COUNT; r++)
            if (m->tiers[i].requests[r] != 0)
                evbuffer_add_printf(
                    out,
                    "sluice_requests_total{decision=\"%s\",reason=\"%s\","
                    "tier=\"%s\"} %llu\n",
                    metrics_decision((enum reason)r),
                    reason_name((enum reason)r), m->tiers[i].tier,
                    (unsigned long long)m->tiers[i].requests[r]);
    evbuffer_add_printf(out, "# HELP sluice_bytes_total Bytes relayed by "
                             "direction and tier.\n"
                             "# TYPE sluice_bytes_total counter\n");
    for (size_t i = 0; i < m->n_tiers; i++) {
        if (m->tiers[i].tier[0] == '\0')
            continue;
        evbuffer_add_printf(
            out,
            "sluice_bytes_total{direction=\"up\",tier=\"%s\"} %llu\n"
            "sluice_bytes_total{direction=\"down\",tier=\"%s\"} %llu\n",
            m->tiers[i].tier, (unsigned long long)m->tiers[i].bytes_up,
            m->tiers[i].tier, (unsigned long long)m->tiers[i].bytes_down);
    }
    evbuffer_add_printf(
        out,
        "# HELP sluice_open_connections Client connections open now.\n"
        "# TYPE sluice_open_connections gauge\n"
        "sluice_open_connections %llu\n"
        "# HELP sluice_connections_total Client connections accepted.\n"
        "# TYPE sluice_connections_total counter\n"
        "sluice_connections_total %llu\n"
        "# HELP sluice_sessions Sessions known.\n"
        "# TYPE sluice_sessions gauge\n"
        "sluice_sessions %llu\n"
        "# HELP sluice_dns_lookups_total DNS lookups.\n"
        "# TYPE sluice_dns_lookups_total counter\n"
        "sluice_dns_lookups_total %llu\n"
        "# HELP sluice_dns_failures_total DNS lookups without an address.\n"
        "# TYPE sluice_dns_failures_total counter\n"
        "sluice_dns_failures_total %llu\n"
        "# HELP sluice_dns_lookup_seconds DNS lookup latency.\n"
        "# TYPE sluice_dns_lookup_seconds histogram\n",
        (unsigned long long)g->open_connections,
        (unsigned long long)m->connections_total,
        (unsigned long long)g->sessions, (unsigned long long)m->dns_lookups,
        (unsigned long long)m->dns_failures);
    for (size_t b = 0; b < METRICS_DNS_BUCKETS; b++) {
        cum += m->dns_le[b];
        evbuffer_add_printf(out,
                            "sluice_dns_lookup_seconds_bucket{le=\"%g\"} "
                            "%llu\n",
                            metrics_dns_bounds_ms[b] / 1000.0,
                            (unsigned long long)cum);
    }
    cum += m->dns_le[METRICS_DNS_BUCKETS];
    evbuffer_add_printf(
        out,
        "sluice_dns_lookup_seconds_bucket{le=\"+Inf\"} %llu\n"
        "sluice_dns_lookup_seconds_sum %.6f\n"
        "sluice_dns_lookup_seconds_count %llu\n"
        "# HELP sluice_log_write_failures_total Log lines that could not be "
        "written.\n"
        "# TYPE sluice_log_write_failures_total counter\n"
        "sluice_log_write_failures_total %llu\n"
        "# HELP sluice_reloads_total Policy reloads.\n"
        "# TYPE sluice_reloads_total counter\n"
        "sluice_reloads_total{result=\"ok\"} %llu\n"
        "sluice_reloads_total{result=\"failed\"} %llu\n"
        "# HELP sluice_uptime_seconds Time since start.\n"
        "# TYPE sluice_uptime_seconds gauge\n"
        "sluice_uptime_seconds %.3f\n",
        (unsigned long long)cum, m->dns_sum_s, (unsigned long long)cum,
        (unsigned long long)g->log_write_failures,
        (unsigned long long)m->reloads, (unsigned long long)m->reload_failures,
        g->uptime_s);
}
