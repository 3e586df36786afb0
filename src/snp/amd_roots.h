/* AMD's built-in SEV-SNP trust anchors (internal). The PEM text is generated into
 * amd_roots_data.c by scripts/gen-amd-roots from data/amd/. */
#ifndef MC_SNP_AMD_ROOTS_H
#define MC_SNP_AMD_ROOTS_H

#include <memcrypt/snp_report.h>

struct mc_amd_root {
    enum mc_snp_gen gen;
    const char *ark_pem, *ask_pem, *asvk_pem;
};
/* Terminated by an entry with gen == MC_SNP_GEN_UNKNOWN. */
extern const struct mc_amd_root mc_amd_roots[];

#endif
