/* proxy/cmd_serve.c - `sluice serve`: run the proxy in the foreground. */
#include "config.h"
#include "proxy/cmd.h"

#include <getopt.h>
#include <stdio.h>

#include "policy/policy.h"
#include "proxy/proxy.h"

int
cmd_serve(int argc, char **argv)
{
    const char *path = NULL;
    struct policy *p;
    struct proxy *px;
    char err[512];
    int opt, rc;

    optind = 1;
    while ((opt = getopt(argc, argv, "c:")) != -1) {
        if (opt == 'c') {
            path = optarg;
            continue;
        }
        fprintf(stderr, "usage: sluice serve [-c FILE]\n");
        return 2;
    }
    if (optind != argc) {
        fprintf(stderr, "usage: sluice serve [-c FILE]\n");
        return 2;
    }
    p = cmd_load_policy(path);
    if (p == NULL)
        return 2;
    px = proxy_new(p, path, err, sizeof(err));
    if (px == NULL) {
        fprintf(stderr, "sluice: %s\n", err);
        return 1;
    }
    rc = proxy_run(px);
    proxy_free(px);
    return rc;
}
