/* memcrypt CLI — `memcrypt exec --fuse`: /dev/sev and /dev/sev-guest as FUSE files in a private
 * mount namespace (tools/memcrypt/fuse_dev.c). */
#ifndef MC_CLI_FUSE_DEV_H
#define MC_CLI_FUSE_DEV_H

/* Run prog (NULL-terminated) in a private mount namespace whose /dev/sev (the chip of state, of
 * platform; absent when the platform has no SEV) and /dev/sev-guest (guest, when not NULL) are FUSE
 * files served by this process until prog exits. Returns prog's exit status, or the CLI's exit
 * status after printing why it could not (a refused namespace or mount says "refused"). */
int mc_cli_fuse_exec(const char *cmd, const char *state, const char *platform, const char *guest, char **prog);

#endif
