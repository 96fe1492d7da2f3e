/* proxy/cmd_check.c - `sluice check`: validate a policy and print the
 * effective policy as JSON. */
#include "config.h"
#include "proxy/cmd.h"

#include <getopt.h>
#include <stdio.h>

#include "policy/config.h"
#include "policy/policy.h"

struct policy *
cmd_load_policy(const char *path)
{
    struct config_error err;
    char msg[CONFIG_ERROR_MAX + 300];
    struct policy *p;

    p = path != NULL ? config_load_file(path, &err) : config_load_default(&err);
    if (p == NULL) {
        config_error_format(&err, msg, sizeof(msg));
        fprintf(stderr, "%s\n", msg);
    }
    return p;
}

int
cmd_check(int argc, char **argv)
{
    const char *path = NULL;
    struct policy *p;
    int opt, rc;

    optind = 1;
    while ((opt = getopt(argc, argv, "c:")) != -1) {
        if (opt == 'c') {
            path = optarg;
            continue;
        }
        fprintf(stderr, "usage: sluice check [-c FILE]\n");
        return 2;
    }
    if (optind != argc) {
        fprintf(stderr, "usage: sluice check [-c FILE]\n");
        return 2;
    }
    p = cmd_load_policy(path);
    if (p == NULL)
        return 2;
    rc = config_dump_json(p, stdout) == 0 && fflush(stdout) == 0 ? 0 : 1;
    policy_unref(p);
    return rc;
}
