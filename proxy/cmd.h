/* proxy/cmd.h - the subcommands of the sluice binary. Each takes the
 * arguments after its name and returns the process exit code: 0 success,
 * 1 runtime failure (explain: denied), 2 usage or policy error. */
#ifndef PROXY_CMD_H
#define PROXY_CMD_H

struct policy;

int cmd_serve(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_ctl(int argc, char **argv);

/* Loads the policy at <path> (NULL: the embedded default) and prints
 * "FILE:LINE:COL: message" to stderr on failure. */
struct policy *cmd_load_policy(const char *path);

#endif /* PROXY_CMD_H */
