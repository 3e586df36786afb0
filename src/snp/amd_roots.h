/* AMD's built-in SEV-SNP trust anchors (internal). The PEM text is generated into
 * amd_roots_data.c by scripts/gen-amd-roots from data/amd/. */
#ifndef MC_SNP_AMD_ROOTS_H
#define MC_SNP_AMD_ROOTS_H

#include <openssl/x509.h>

#include <memcrypt/error.h>
#include <memcrypt/snp_report.h>

struct mc_amd_root {
    enum mc_snp_gen gen;
    const char *ark_pem, *ask_pem, *asvk_pem;
};
/* Terminated by an entry with gen == MC_SNP_GEN_UNKNOWN. */
extern const struct mc_amd_root mc_amd_roots[];

enum mc_amd_role { MC_AMD_ARK, MC_AMD_ASK, MC_AMD_ASVK };

/* AMD's built-in certificate of one generation and role, parsed on its first use and then kept
 * for the life of the process (read-only, shared by every verifier and thread; parsing the
 * twelve roots up front cost a new verifier more than its report's signature checks). Borrowed:
 * never free it. NULL with *err filled when the generation has no such certificate or it
 * cannot be parsed (a parse failure is retried on the next call). */
X509 *mc_amd_root_x509(enum mc_snp_gen gen, enum mc_amd_role role, struct mc_error *err);
/* How many built-in certificates this process has parsed so far (each at most once). */
unsigned mc_amd_roots_parsed(void);

#endif
