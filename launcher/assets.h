/* launcher/assets.h - files of container/ compiled into the binary, so an
 * installed sluice needs nothing next to it: the probe script and the two
 * seccomp profiles. launcher/assets.c is generated from them at build time
 * by launcher/embed.awk. */
#ifndef LAUNCHER_ASSETS_H
#define LAUNCHER_ASSETS_H

/* container/probe.sh */
extern const char assets_probe_sh[];
/* container/seccomp/agent.json */
extern const char assets_seccomp_agent[];
/* container/seccomp/sluice.json */
extern const char assets_seccomp_sluice[];

#endif /* LAUNCHER_ASSETS_H */
