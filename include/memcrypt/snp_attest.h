/* memcrypt — the SNP firmware's attestation report builder (SNP ABI 56860 ATTESTATION_REPORT).
 *
 * The firmware fills struct mc_snp_report_ctx from the guest context, the request and the
 * platform, picks the signer with mc_snp_key_select (snp_guest_msg.h), and calls
 * mc_snp_report_build, which lays the 0x4A0 bytes out in the version's layout and signs bytes
 * 0x000..0x29F with ECDSA P-384/SHA-384: the VCEK at REPORTED_TCB (as the firmware re-derives its
 * VCEK on SNP_CONFIG), or the VLEK; with no signer the signature is zero and SIGNING_KEY = 7.
 *
 * Report versions (docs/snp-platform.md, from the real reports in tests/data/amd): firmware before
 * SNP ABI 1.55 emits version 2 (real Milan 1.49/1.52); 1.55 emits 3 on Milan (1.55.29) and on
 * Genoa before build 43 (1.55.40), 5 on Genoa from build 43 (1.55.43) and on Turin (1.55.61).
 */
#ifndef MEMCRYPT_SNP_ATTEST_H
#define MEMCRYPT_SNP_ATTEST_H

#include <memcrypt/api.h>

#include <stdbool.h>
#include <stdint.h>

#include <memcrypt/error.h>
#include <memcrypt/snp_identity.h>
#include <memcrypt/snp_report.h>

MC_BEGIN_DECLS

/* The version the emulated firmware of this generation and version emits (2, 3 or 5). */
MC_API uint32_t mc_snp_report_version_for(enum mc_snp_gen gen, uint8_t api_major, uint8_t api_minor, uint8_t build);

/* PLATFORM_INFO bits defined for a report version: 0-4 (v2), + 5 ALIAS_CHECK_COMPLETE and
 * 6 IOMMU_WRITE_SAFE (v3, v4), + 7 TIO_EN (v5). */
MC_API uint64_t mc_snp_platform_info_mask(uint32_t version);

struct mc_snp_report_ctx {
    uint32_t version;            /* 2, 3, 4 or 5 (0: mc_snp_report_version_for(the identity's
                                    generation, current_major, current_minor, current_build)) */
    /* the guest (GCTX) */
    uint64_t policy;
    uint32_t guest_svn;          /* from the ID block */
    uint8_t family_id[16], image_id[16];
    uint8_t measurement[48];
    uint8_t host_data[32];
    uint8_t id_key_digest[48];
    uint8_t author_key_digest[48];
    bool author_key_en;          /* KEY_INFO bit 0; author_key_digest must be zero without it */
    uint8_t report_id[32], report_id_ma[32];
    uint64_t launch_tcb;
    uint64_t launch_mit_vector;  /* v5 only (must be 0 before) */
    /* the request */
    uint32_t vmpl;
    uint8_t report_data[64];
    /* the platform */
    uint64_t current_tcb, committed_tcb, reported_tcb;
    uint8_t current_major, current_minor, current_build;
    uint8_t committed_major, committed_minor, committed_build;
    uint64_t platform_info;      /* bits outside mc_snp_platform_info_mask(version) are refused */
    uint64_t current_mit_vector; /* v5 only */
    uint8_t cpuid_fam_id, cpuid_mod_id, cpuid_step; /* v3+: combined family/model, stepping */
    bool mask_chip_id;           /* CHIP_ID all zero */
    bool mask_chip_key;          /* KEY_INFO bit 1 (the VCEK may then not sign) */
    unsigned signer;             /* MC_SNP_SIGNER_VCEK, _VLEK or _NONE */
};

/* Build and sign. MC_E_INVAL for an inconsistent context (unknown version or signer, VCEK signer
 * with mask_chip_key, fields the version does not have, author key digest without
 * author_key_en); MC_E_STATE for a VLEK signer with no VLEK loaded. out is written only on
 * success. */
MC_API mc_status mc_snp_report_build(struct mc_snp_identity *id, const struct mc_snp_report_ctx *c,
                              uint8_t out[MC_SNP_REPORT_SIZE], struct mc_error *err);

MC_END_DECLS

#endif
