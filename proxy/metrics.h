/* proxy/metrics.h - counters behind GET /metrics (Prometheus text
 * format): requests by decision, reason and tier; bytes by tier; DNS
 * lookups and their latency; reloads. Gauges (open connections,
 * sessions, log failures) are read from their owners when rendering. */
#ifndef PROXY_METRICS_H
#define PROXY_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "policy/reason.h"

struct evbuffer;

/* DNS latency histogram bounds, milliseconds (+Inf implied). */
#define METRICS_DNS_BUCKETS 12

struct metrics_tier {
    char *tier; /* "" for requests decided before any tier */
    uint64_t requests[REASON_COUNT];
    uint64_t bytes_up, bytes_down;
};

struct metrics {
    struct metrics_tier *tiers;
    size_t n_tiers;
    uint64_t dns_lookups;
    uint64_t dns_failures;
    uint64_t dns_le[METRICS_DNS_BUCKETS + 1];
    double dns_sum_s;
    uint64_t reloads, reload_failures;
    uint64_t connections_total;
};

void metrics_init(struct metrics *m);
void metrics_fini(struct metrics *m);

/* Counts one finished request (its access line). <tier> may be NULL. */
void metrics_request(struct metrics *m, const char *tier, enum reason reason,
                     uint64_t bytes_up, uint64_t bytes_down);

/* Counts one DNS lookup that took <ms>; <failed> if it gave no address. */
void metrics_dns(struct metrics *m, int64_t ms, int failed);

/* Gauges passed in by the caller when rendering. */
struct metrics_gauges {
    uint64_t open_connections;
    uint64_t sessions;
    uint64_t log_write_failures;
    double uptime_s;
};

/* Appends the Prometheus text exposition of <m> and <g> to <out>. */
void metrics_render(const struct metrics *m, const struct metrics_gauges *g,
                    struct evbuffer *out);

#endif /* PROXY_METRICS_H */
