/* policy/default_policy.c - the embedded default policy (SPEC section 7):
 * what `sluice serve` and `sluice check` use without -c.
 *
 * Pure data. It is YAML text, not a prebuilt struct, so that it goes
 * through the same loader and checks as a user's file, and so that
 * `sluice check` shows exactly what a user would write to reproduce it.
 * tests/unit/test_config.c loads it and checks a few hosts.
 *
 * The allowlist is deliberately tight: the hosts that package managers and
 * git actually talk to, each owned by the project it serves. Broad shared
 * CDNs (storage.googleapis.com, *.cloudfront.net, *.fastly.net,
 * *.amazonaws.com) are left out on purpose: anyone can host anything
 * there, so allowing them would allow exfiltration to any bucket. */
/* <config.h>: the quoted form would find policy/config.h first. */
#include <config.h>
#include "policy/config.h"

const char config_default_yaml[] =
    "# sluice embedded default policy (SPEC section 7).\n"
    "version: 1\n"
    "listeners:\n"
    "  - name: default\n"
    "    listen: 127.0.0.1:3128\n"
    "    tiers: [core]\n"
    "    mode: enforce\n"
    "auth:\n"
    "  mode: none\n"
    "network:\n"
    "  ip_literals: deny\n"
    "tiers:\n"
    "  core:\n"
    "    domains:\n"
    /* git over HTTPS, the API, release downloads and raw files
     * (objects., raw., codeload. live under these), and the container
     * registry. */
    "      - .github.com\n"
    "      - .githubusercontent.com\n"
    "      - .githubassets.com\n"
    "      - ghcr.io\n"
    /* npm and yarn registries; npm's own zones hold no user content. */
    "      - registry.npmjs.org\n"
    "      - .npmjs.org\n"
    "      - .npmjs.com\n"
    "      - registry.yarnpkg.com\n"
    /* PyPI: the index and the file host. */
    "      - .pypi.org\n"
    "      - .pythonhosted.org\n"
    /* crates.io: index.crates.io (sparse index) and static.crates.io. */
    "      - .crates.io\n"
    /* Go: the module proxy and checksum database. Module zips come from
     * the proxy itself, so no storage bucket is needed. */
    "      - proxy.golang.org\n"
    "      - sum.golang.org\n"
    "      - index.golang.org\n"
    /* Debian (deb., security. and the ftp.XX. mirrors) and Ubuntu
     * (archive., its country mirrors XX.archive., security., ports.). */
    "      - .debian.org\n"
    "      - .archive.ubuntu.com\n"
    "      - security.ubuntu.com\n"
    "      - ports.ubuntu.com\n"
    /* Docker Hub: registry, token service, and the blob CDN host that
     * serves Docker's own layers only. */
    "      - registry-1.docker.io\n"
    "      - auth.docker.io\n"
    "      - index.docker.io\n"
    "      - production.cloudflare.docker.com\n"
    "    ports: [80, 443]\n"
    "log:\n"
    "  access: \"-\"\n"
    "  events: \"-\"\n"
    "admin:\n"
    "  socket: null\n";
