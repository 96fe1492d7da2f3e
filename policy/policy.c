/* policy/policy.c - decisions over an immutable policy snapshot: SPEC
 * section 3 steps 1-3 on the requested host, and step 5 on each address.
 * Pure: the caller resolves names and owns the session state. */
#include "config.h"
#include "policy/policy.h"

#include <assert.h>
#include <string.h>

#include "policy/config.h"

/* Workers may each run their own event loop over one shared snapshot, so
 * the count is updated atomically even though nothing else in it changes. */
struct policy *
policy_ref(struct policy *p)
{
    if (p != NULL)
        __atomic_add_fetch(&p->refs, 1, __ATOMIC_RELAXED);
    return p;
}

void
policy_unref(struct policy *p)
{
    if (p == NULL)
        return;
    assert(p->refs > 0);
    if (__atomic_sub_fetch(&p->refs, 1, __ATOMIC_ACQ_REL) == 0)
        config_policy_free(p);
}

const struct listener_conf *
policy_find_listener(const struct policy *p, const char *name)
{
    if (p == NULL || name == NULL)
        return NULL;
    for (size_t i = 0; i < p->n_listeners; i++)
        if (p->listeners[i].name != NULL &&
            strcmp(p->listeners[i].name, name) == 0)
            return &p->listeners[i];
    return NULL;
}

bool
policy_tier_has_port(const struct tier *t, uint16_t port)
{
    size_t lo = 0, hi;

    if (t == NULL)
        return false;
    hi = t->n_ports;
    /* ports are sorted and unique (config.c guarantees it). */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (t->ports[mid] == port)
            return true;
        if (t->ports[mid] < port)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

enum reason
policy_check_addr(const struct policy *p, const struct addr *a)
{
    if (addr_is_denied(a, p->deny_ranges, p->allow_ranges, NULL))
        return REASON_DENIED_ADDRESS;
    return REASON_ALLOWED;
}

/* Step 1: fills d->host, d->is_literal and d->literal. Literals are tried
 * first: "example.123" looks like a name but a URL parser refuses it, and
 * "0x7f.1" is a valid label sequence that every client sends to 127.0.0.1. */
static int
policy_normalize_host(const char *host, size_t hostlen, struct decision *d)
{
    switch (addr_parse_literal(host, hostlen, &d->literal)) {
    case 1:
        d->is_literal = true;
        addr_format(&d->literal, d->host);
        return 0;
    case 0:
        return domain_normalize(host, hostlen, d->host);
    default:
        return -1;
    }
}

static bool
policy_tier_has_host(const struct tier *t, const struct decision *d)
{
    /* IP literals match only IP/CIDR patterns: "*" is for names. */
    if (d->is_literal)
        return cidr_set_contains(t->literals, &d->literal);
    return domain_set_match(t->domains, d->host);
}

static enum reason
policy_decide(struct decision *d, enum reason r)
{
    d->reason = r;
    return r;
}

enum reason
policy_check_host(const struct policy *p, const struct listener_conf *l,
                  const char *host, size_t hostlen, uint16_t port,
                  struct decision *d)
{
    const struct tier *host_tier = NULL;
    enum reason miss;

    assert(p != NULL && l != NULL && d != NULL);
    memset(d, 0, sizeof(*d));
    d->reason = REASON_ALLOWED;
    d->would_deny = REASON_ALLOWED;

    if (host == NULL || policy_normalize_host(host, hostlen, d) != 0) {
        d->host[0] = '\0';
        return policy_decide(d, REASON_BAD_REQUEST);
    }
    if (d->is_literal) {
        if (!p->ip_literals_allow)
            return policy_decide(d, REASON_IP_LITERAL);
        if (policy_check_addr(p, &d->literal) != REASON_ALLOWED)
            return policy_decide(d, REASON_DENIED_ADDRESS);
    }

    for (size_t i = 0; i < l->n_tiers; i++) {
        const struct tier *t;

        if (l->tiers[i] >= p->n_tiers)
            continue; /* config.c rejects unknown tiers; be safe anyway */
        t = &p->tiers[l->tiers[i]];
        if (!policy_tier_has_host(t, d))
            continue;
        if (policy_tier_has_port(t, port)) {
            d->tier = t;
            return policy_decide(d, REASON_ALLOWED);
        }
        if (host_tier == NULL)
            host_tier = t;
    }

    miss = host_tier != NULL ? REASON_PORT_NOT_ALLOWED : REASON_NOT_ALLOWLISTED;
    switch (l->mode) {
    case LISTENER_ENFORCE:
        return policy_decide(d, miss);
    case LISTENER_REPORT:
        /* Let it through, but charge it somewhere: caps of the tier that
         * knew the host, else of the listener's first tier, still apply. */
        d->would_deny = miss;
        if (host_tier != NULL)
            d->tier = host_tier;
        else if (l->n_tiers > 0 && l->tiers[0] < p->n_tiers)
            d->tier = &p->tiers[l->tiers[0]];
        return policy_decide(d, REASON_REPORT_ONLY);
    }
    return policy_decide(d, miss); /* unreachable: mode is an enum value */
}
