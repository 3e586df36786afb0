/* memcrypt CLI — small helpers shared by the command files (not a command group itself). */
#ifndef MC_CLI_UTIL_H
#define MC_CLI_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decode the hex value s of option --opt into out[n] (zero-filled first). With allow_short,
 * fewer than n bytes are accepted (the rest stays zero); otherwise exactly n are required.
 * Returns 0, or MC_EXIT_USAGE after printing "memcrypt <path>: --<opt>: ..." to stderr. */
int mc_cli_hex_opt(const char *path, const char *opt, const char *s, uint8_t *out, size_t n, bool allow_short);

/* MEMCRYPT_STATE_WAIT=SECONDS: how long a command waits for another process's lock on its --state
 * file (default 30 s; up to 3 decimals, e.g. 0.25; 0 = give up at once). In milliseconds, for
 * mc_psp_config.state_wait_ms. */
unsigned mc_cli_state_wait_ms(void);

/* REPORT_DATA, the 64 bytes a guest puts in its attestation request, in the one set of forms
 * `fixtures report` and `report verify` both take: hex of 1..64 bytes (a shorter value is the
 * start of REPORT_DATA, the rest zero, as a guest passing fewer bytes leaves it), or @FILE with
 * 1..64 raw bytes (zero-padded the same way). Returns 0 or MC_EXIT_USAGE after a message. */
int mc_cli_report_data(const char *path, const char *s, uint8_t out[64]);

#endif
