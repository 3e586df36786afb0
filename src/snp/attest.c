/* The SNP firmware's attestation report builder: lays out the report with the shared codec
 * (src/snp/report.c, offsets pinned there) and signs it with the emulated chip's VCEK or VLEK
 * through the LE72 P-384 helpers (crypto/pk). */
#include <string.h>

#include <memcrypt/snp_attest.h>

#include "crypto/crypto.h"
#include "crypto/pk.h"
#include "snp/identity.h"

uint32_t mc_snp_report_version_for(enum mc_snp_gen gen, uint8_t api_major, uint8_t api_minor, uint8_t build)
{
    /* Seen in real reports (tests/data/amd/snp-reports): 1.49.3 and 1.52.4 Milan -> 2; 1.55.29 Milan
     * -> 3; 1.55.40 Genoa -> 3; 1.55.43 Genoa -> 5; 1.55.61 Turin -> 5. */
    if (api_major < 1 || (api_major == 1 && api_minor < 55))
        return 2;
    if (gen == MC_SNP_GEN_TURIN)
        return 5;
    if (gen == MC_SNP_GEN_GENOA && (api_major > 1 || api_minor > 55 || build >= 43))
        return 5;
    return 3;
}

uint64_t mc_snp_platform_info_mask(uint32_t version)
{
    return version >= 5 ? 0xFFu : version >= 3 ? 0x7Fu : 0x1Fu;
}

static bool zero(const uint8_t *p, size_t n)
{
    uint8_t a = 0;
    for (size_t i = 0; i < n; i++)
        a |= p[i];
    return a == 0;
}

mc_status mc_snp_report_build(struct mc_snp_identity *id, const struct mc_snp_report_ctx *c,
                              uint8_t out[MC_SNP_REPORT_SIZE], struct mc_error *err)
{
    if (!id || !c || !out)
        return mc_seterr(err, MC_E_INVAL, "report build: NULL argument");
    enum mc_snp_gen g = mc_snp_identity_gen(id);
    uint32_t v = c->version ? c->version
                            : mc_snp_report_version_for(g, c->current_major, c->current_minor, c->current_build);
    if (v < 2 || v > 5)
        return mc_seterr(err, MC_E_INVAL, "report build: version %u is not 2..5", v);
    if (c->signer != MC_SNP_SIGNER_VCEK && c->signer != MC_SNP_SIGNER_VLEK && c->signer != MC_SNP_SIGNER_NONE)
        return mc_seterr(err, MC_E_INVAL, "report build: signer %u is not VCEK (0), VLEK (1) or none (7)", c->signer);
    if (c->signer == MC_SNP_SIGNER_VCEK && c->mask_chip_key)
        return mc_seterr(err, MC_E_INVAL, "report build: MASK_CHIP_KEY is set, the VCEK may not sign");
    if (c->platform_info & ~mc_snp_platform_info_mask(v))
        return mc_seterr(err, MC_E_INVAL, "report build: PLATFORM_INFO 0x%llx has bits a version %u report does not define",
                         (unsigned long long)c->platform_info, v);
    if (v < 5 && (c->launch_mit_vector || c->current_mit_vector))
        return mc_seterr(err, MC_E_INVAL, "report build: mitigation vectors exist from version 5 on, not in %u", v);
    if (v < 3 && (c->cpuid_fam_id || c->cpuid_mod_id || c->cpuid_step))
        return mc_seterr(err, MC_E_INVAL, "report build: the CPUID fields exist from version 3 on, not in 2");
    if (!c->author_key_en && !zero(c->author_key_digest, sizeof c->author_key_digest))
        return mc_seterr(err, MC_E_INVAL, "report build: an author key digest without AUTHOR_KEY_EN");
    const struct mc_pk *key = NULL;
    mc_status st = MC_OK;
    if (c->signer == MC_SNP_SIGNER_VLEK && !(key = mc_snp_identity_vlek_key(id)))
        return mc_seterr(err, MC_E_STATE, "report build: the VLEK is to sign, but none is loaded");
    if (c->signer == MC_SNP_SIGNER_VCEK && (st = mc_snp_identity_vcek_key(id, c->reported_tcb, &key, err)))
        return st;

    struct mc_snp_report r;
    memset(&r, 0, sizeof r);
    r.version = v;
    r.guest_svn = c->guest_svn;
    r.policy = c->policy;
    memcpy(r.family_id, c->family_id, 16);
    memcpy(r.image_id, c->image_id, 16);
    r.vmpl = c->vmpl;
    r.signature_algo = 1; /* ECDSA P-384 with SHA-384 */
    r.current_tcb = c->current_tcb;
    r.platform_info = c->platform_info;
    r.key_info = (c->author_key_en ? 1u : 0u) | (c->mask_chip_key ? 2u : 0u) | (c->signer << 2);
    memcpy(r.report_data, c->report_data, 64);
    memcpy(r.measurement, c->measurement, 48);
    memcpy(r.host_data, c->host_data, 32);
    memcpy(r.id_key_digest, c->id_key_digest, 48);
    memcpy(r.author_key_digest, c->author_key_digest, 48);
    memcpy(r.report_id, c->report_id, 32);
    memcpy(r.report_id_ma, c->report_id_ma, 32);
    r.reported_tcb = c->reported_tcb;
    r.cpuid_fam_id = c->cpuid_fam_id;
    r.cpuid_mod_id = c->cpuid_mod_id;
    r.cpuid_step = c->cpuid_step;
    if (!c->mask_chip_id)
        mc_snp_identity_chip_id(id, r.chip_id);
    r.committed_tcb = c->committed_tcb;
    r.current_build = c->current_build;
    r.current_minor = c->current_minor;
    r.current_major = c->current_major;
    r.committed_build = c->committed_build;
    r.committed_minor = c->committed_minor;
    r.committed_major = c->committed_major;
    r.launch_tcb = c->launch_tcb;
    r.launch_mit_vector = c->launch_mit_vector;
    r.current_mit_vector = c->current_mit_vector;
    uint8_t b[MC_SNP_REPORT_SIZE];
    mc_snp_report_encode(&r, b); /* signature zero */
    if (key) {
        if ((st = mc_ecdsa_sign_le72(key, "SHA384", b, MC_SNP_REPORT_SIGNED_LEN, r.sig_r, r.sig_s, err)))
            return st;
        mc_snp_report_encode(&r, b);
    }
    memcpy(out, b, sizeof b);
    return MC_OK;
}
