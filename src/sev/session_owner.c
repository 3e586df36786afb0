/* memcrypt — the guest owner's launch tools (GODH + session blob, measurement check). */
#include <string.h>

#include <memcrypt/sev_owner.h>

#include "crypto/crypto.h"
#include "crypto/pk.h"
#include "sev/cert_key.h"

mc_status mc_sev_owner_session(struct mc_rng *rng, const uint8_t *pdh_cert, size_t pdh_len, uint32_t policy,
                               uint8_t godh[MC_SEV_CERT_LEN], uint8_t session[MC_SEV_SESSION_LEN],
                               struct mc_sev_tks *tks, struct mc_error *err)
{
    if (!rng || !pdh_cert || !godh || !session || !tks)
        return mc_seterr(err, MC_E_INVAL, "owner session: NULL argument");
    struct mc_sev_cert pdh;
    mc_status rc = mc_sev_cert_parse(pdh_cert, pdh_len, &pdh, err);
    if (rc != MC_OK)
        return rc;
    if (pdh.usage != MC_SEV_USAGE_PDH)
        return mc_seterr(err, MC_E_FORMAT, "the platform certificate is a %s, not a PDH", mc_sev_usage_name(pdh.usage));
    struct mc_pk *peer = NULL, *mine = NULL;
    struct mc_sev_cert g;
    uint8_t z[MC_P384_LEN];
    rc = mc_sev_cert_get_pubkey(&pdh, &peer, err);
    if (rc == MC_OK)
        rc = mc_p384_generate(rng, &mine, err);
    if (rc == MC_OK)
        rc = mc_ecdh_p384(mine, peer, z, err);
    if (rc == MC_OK)
        rc = mc_sev_cert_init(&g, MC_SEV_USAGE_PDH, MC_SEV_ALGO_ECDH_SHA256, 0, 0, mine, err);
    if (rc == MC_OK)
        rc = mc_sev_session_generate(rng, z, sizeof z, policy, session, tks, err);
    if (rc == MC_OK)
        mc_sev_cert_serialize(&g, godh);
    mc_wipe(z, sizeof z);
    mc_pk_free(peer);
    mc_pk_free(mine); /* the owner's DH private key is not needed after the blob is made */
    return rc;
}

mc_status mc_sev_owner_verify_measurement(const uint8_t tik[16], const uint8_t measurement[MC_SEV_MEASURE_LEN],
                                          uint8_t api_major, uint8_t api_minor, uint8_t build, uint32_t policy,
                                          const uint8_t ld[32], uint8_t expected[32], struct mc_error *err)
{
    if (!tik || !measurement || !ld)
        return mc_seterr(err, MC_E_INVAL, "verify measurement: NULL argument");
    uint8_t m[32];
    mc_status rc = mc_sev_launch_measure(tik, api_major, api_minor, build, policy, ld, measurement + 32, m, err);
    if (rc != MC_OK)
        return rc;
    if (expected)
        memcpy(expected, m, 32);
    if (!mc_ct_equal(m, measurement, 32))
        return mc_seterr(err, MC_E_VERIFY, "launch measurement does not match the expected launch digest");
    return MC_OK;
}

mc_status mc_sev_owner_sign_pek_csr(const uint8_t *csr, size_t csr_len, const uint8_t *oca_pem, size_t pem_len,
                                    uint8_t pek_out[MC_SEV_CERT_LEN], uint8_t oca_out[MC_SEV_CERT_LEN],
                                    struct mc_error *err)
{
    if (!csr || !oca_pem || !pek_out || !oca_out)
        return mc_seterr(err, MC_E_INVAL, "sign PEK CSR: NULL argument");
    struct mc_sev_cert pek, oca;
    mc_status rc = mc_sev_cert_parse(csr, csr_len, &pek, err);
    if (rc != MC_OK)
        return rc;
    if (pek.usage != MC_SEV_USAGE_PEK)
        return mc_seterr(err, MC_E_FORMAT, "the CSR holds a %s key, not a PEK", mc_sev_usage_name(pek.usage));
    if (mc_sev_cert_slot_used(&pek, 0) || mc_sev_cert_slot_used(&pek, 1))
        return mc_seterr(err, MC_E_FORMAT, "the CSR is already signed (PEK_CSR returns a PEK with empty slots)");
    struct mc_pk *k = NULL;
    rc = mc_p384_load_pem(oca_pem, pem_len, true, &k, err);
    /* The OCA: ECDSA-SHA256, self-signed, with the CSR's API version (as sev-tool's
     * sign_pek_csr); the PEK gets the OCA signature in slot 1, the firmware adds its CEK one. */
    if (rc == MC_OK)
        rc = mc_sev_cert_init(&oca, MC_SEV_USAGE_OCA, MC_SEV_ALGO_ECDSA_SHA256, pek.api_major, pek.api_minor, k, err);
    if (rc == MC_OK)
        rc = mc_sev_cert_sign(&oca, 0, k, MC_SEV_USAGE_OCA, MC_SEV_ALGO_ECDSA_SHA256, err);
    if (rc == MC_OK)
        rc = mc_sev_cert_sign(&pek, 0, k, MC_SEV_USAGE_OCA, MC_SEV_ALGO_ECDSA_SHA256, err);
    mc_pk_free(k);
    if (rc != MC_OK)
        return rc;
    mc_sev_cert_serialize(&pek, pek_out);
    mc_sev_cert_serialize(&oca, oca_out);
    return MC_OK;
}
