/* The platform identity inside the firmware: CEK (derived from the chip secret), OCA, PEK and
 * PDH key pairs and their SEV certificates, and the launch-channel key agreement.
 * Certificates are built and checked with the SEV certificate module (src/sev); keys and
 * signatures come from src/crypto/pk (OpenSSL).
 *
 * Identity blob (inside the sealed NV image; version 1):
 *   00 version u32 · 04 flags u32 (bit0 OCA, bit1 PEK, bit2 PDH present; bit3 OCA private key
 *   held = self-owned) · 08 OCA d[48] · 38 PEK d[48] · 68 PDH d[48] (big-endian scalars) ·
 *   98 OCA cert · 98+0x824 PEK cert · 98+2*0x824 PDH cert.
 */
#include <stdlib.h>
#include <string.h>

#include <memcrypt/bytes.h>
#include <memcrypt/sev_cert.h>

#include "crypto/aes.h"
#include "crypto/kdf.h"
#include "crypto/pk.h"
#include "fw/psp_int.h"
#include "sev/cert_key.h"

enum { K_OCA = 0, K_PEK = 1, K_PDH = 2 };
#define ID_F_OCA_PRIV (1u << 3)
#define ID_OFF_D 8
#define ID_OFF_CERT (ID_OFF_D + 3 * MC_P384_LEN)
#define ID_LEN (ID_OFF_CERT + 3 * MC_SEV_CERT_LEN)
_Static_assert(ID_LEN <= PSP_IDENT_MAX, "identity blob must fit the NV image");

struct ident {
    uint32_t flags;
    uint8_t d[3][MC_P384_LEN];
    uint8_t cert[3][MC_SEV_CERT_LEN];
};

static void id_load(const struct psp_nv *nv, struct ident *id)
{
    memset(id, 0, sizeof *id);
    if (nv->ident_len != ID_LEN || mc_le32(nv->ident) != 1)
        return; /* nothing (fresh or reset) */
    id->flags = mc_le32(nv->ident + 4);
    memcpy(id->d, nv->ident + ID_OFF_D, sizeof id->d);
    memcpy(id->cert, nv->ident + ID_OFF_CERT, sizeof id->cert);
}

static void id_store(struct psp_nv *nv, const struct ident *id)
{
    memset(nv->ident, 0, ID_LEN);
    mc_put_le32(nv->ident, 1);
    mc_put_le32(nv->ident + 4, id->flags);
    memcpy(nv->ident + ID_OFF_D, id->d, sizeof id->d);
    memcpy(nv->ident + ID_OFF_CERT, id->cert, sizeof id->cert);
    nv->ident_len = ID_LEN;
}

static void id_wipe(struct ident *id) { mc_wipe(id, sizeof *id); }

static uint32_t hw(struct mc_error *err, const char *what)
{
    return psp_fail(err, MC_FW_HWERROR_PLATFORM, "firmware identity: %s failed", what);
}

/* CEK: seed = SHA-256(chip secret); 56 bytes = KDF(seed, "sev-chip-endorsement-key"); P-384
 * key pair from those extra random bits (FIPS 186-4 B.4.1), as AMD's firmware does. */
static mc_status cek_key(const struct mc_psp *psp, struct mc_pk **out, struct mc_error *err)
{
    uint8_t seed[32], bits[56];
    mc_status s = mc_sha256(psp->nv.chip_secret, PSP_CHIP_SECRET_LEN, seed, err);
    if (!s)
        s = mc_kdf_sev(seed, sizeof seed, "sev-chip-endorsement-key", NULL, 0, bits, sizeof bits, err);
    if (!s)
        s = mc_p384_from_bits(bits, sizeof bits, out, err);
    mc_wipe(seed, sizeof seed);
    mc_wipe(bits, sizeof bits);
    return s;
}

static mc_status cek_cert(const struct mc_psp *psp, uint8_t out[MC_SEV_CERT_LEN], struct mc_error *err)
{
    struct mc_pk *k;
    struct mc_sev_cert c;
    mc_status s = cek_key(psp, &k, err);
    if (s)
        return s;
    s = mc_sev_cert_init(&c, MC_SEV_USAGE_CEK, MC_SEV_ALGO_ECDSA_SHA256, psp->cfg.api_major, psp->cfg.api_minor, k, err);
    mc_pk_free(k);
    if (!s)
        mc_sev_cert_serialize(&c, out);
    return s;
}

static mc_status key_of(const struct ident *id, int which, struct mc_pk **out, struct mc_error *err)
{
    return mc_p384_from_private(id->d[which], out, err);
}

/* New key pair + certificate for `which`, signed as the firmware signs it. */
static uint32_t make_key(struct mc_psp *psp, struct ident *id, int which, struct mc_error *err)
{
    static const uint32_t usage[3] = {MC_SEV_USAGE_OCA, MC_SEV_USAGE_PEK, MC_SEV_USAGE_PDH};
    static const uint32_t algo[3] = {MC_SEV_ALGO_ECDSA_SHA256, MC_SEV_ALGO_ECDSA_SHA256, MC_SEV_ALGO_ECDH_SHA256};
    struct mc_pk *k = NULL, *signer = NULL, *cek = NULL;
    struct mc_sev_cert c;
    uint32_t st = MC_FW_SUCCESS;
    if (mc_p384_generate(psp->rng, &k, err) || mc_p384_get_private(k, id->d[which], err) ||
        mc_sev_cert_init(&c, usage[which], algo[which], psp->cfg.api_major, psp->cfg.api_minor, k, err)) {
        st = hw(err, "key generation");
        goto out;
    }
    if (which == K_OCA) { /* self-signed */
        if (mc_sev_cert_sign(&c, 0, k, MC_SEV_USAGE_OCA, MC_SEV_ALGO_ECDSA_SHA256, err))
            st = hw(err, "OCA signing");
        id->flags |= ID_F_OCA_PRIV;
    } else if (which == K_PEK) { /* SIG1 = OCA, SIG2 = CEK */
        if (key_of(id, K_OCA, &signer, err) || cek_key(psp, &cek, err) ||
            mc_sev_cert_sign(&c, 0, signer, MC_SEV_USAGE_OCA, MC_SEV_ALGO_ECDSA_SHA256, err) ||
            mc_sev_cert_sign(&c, 1, cek, MC_SEV_USAGE_CEK, MC_SEV_ALGO_ECDSA_SHA256, err))
            st = hw(err, "PEK signing");
    } else { /* PDH: SIG1 = PEK */
        if (key_of(id, K_PEK, &signer, err) ||
            mc_sev_cert_sign(&c, 0, signer, MC_SEV_USAGE_PEK, MC_SEV_ALGO_ECDSA_SHA256, err))
            st = hw(err, "PDH signing");
    }
    if (!st) {
        mc_sev_cert_serialize(&c, id->cert[which]);
        id->flags |= 1u << which;
    }
out:
    mc_pk_free(k);
    mc_pk_free(signer);
    mc_pk_free(cek);
    return st;
}

/* INIT rule: no OCA -> new self-signed OCA (and drop the PEK); no PEK -> new PEK (and drop the
 * PDH); no PDH -> new PDH. */
static uint32_t ensure(struct mc_psp *psp, struct ident *id, struct mc_error *err)
{
    uint32_t st = MC_FW_SUCCESS;
    if (!(id->flags & (1u << K_OCA))) {
        id->flags &= ~((1u << K_PEK) | (1u << K_PDH));
        st = make_key(psp, id, K_OCA, err);
    }
    if (!st && !(id->flags & (1u << K_PEK))) {
        id->flags &= ~(1u << K_PDH);
        st = make_key(psp, id, K_PEK, err);
    }
    if (!st && !(id->flags & (1u << K_PDH)))
        st = make_key(psp, id, K_PDH, err);
    return st;
}

uint32_t psp_id_ensure(struct mc_psp *psp, struct psp_nv *nv, struct mc_error *err)
{
    struct ident id;
    id_load(nv, &id);
    uint32_t before = id.flags;
    uint32_t st = ensure(psp, &id, err);
    if (!st && id.flags != before)
        id_store(nv, &id);
    id_wipe(&id);
    return st;
}

uint32_t psp_id_pek_gen(struct mc_psp *psp, struct psp_nv *nv, struct mc_error *err)
{
    struct ident id;
    memset(&id, 0, sizeof id);
    uint32_t st = ensure(psp, &id, err);
    if (!st) {
        id_store(nv, &id);
        nv->owned = 0;
    }
    id_wipe(&id);
    return st;
}

uint32_t psp_id_pdh_gen(struct mc_psp *psp, struct psp_nv *nv, struct mc_error *err)
{
    struct ident id;
    id_load(nv, &id);
    id.flags &= ~(1u << K_PDH);
    uint32_t st = ensure(psp, &id, err);
    if (!st)
        id_store(nv, &id);
    id_wipe(&id);
    return st;
}

uint32_t psp_id_pek_csr(struct mc_psp *psp, uint8_t out[MC_SEV_CERT_LEN], struct mc_error *err)
{
    struct ident id;
    struct mc_sev_cert c;
    id_load(&psp->nv, &id);
    uint32_t st = MC_FW_SUCCESS;
    if (!(id.flags & (1u << K_PEK)) || mc_sev_cert_parse(id.cert[K_PEK], MC_SEV_CERT_LEN, &c, err))
        st = hw(err, "reading the PEK");
    else {
        mc_sev_cert_clear_sigs(&c);
        mc_sev_cert_serialize(&c, out);
    }
    id_wipe(&id);
    return st;
}

uint32_t psp_id_pek_import(struct mc_psp *psp, struct psp_nv *nv, const uint8_t pek_raw[MC_SEV_CERT_LEN],
                           const uint8_t oca_raw[MC_SEV_CERT_LEN], struct mc_error *err)
{
    struct mc_sev_cert oca, pek, cur;
    struct ident id;
    id_load(nv, &id);
    uint32_t st = MC_FW_SUCCESS;
    if (mc_sev_cert_parse(oca_raw, MC_SEV_CERT_LEN, &oca, err) || oca.usage != MC_SEV_USAGE_OCA)
        st = psp_fail(err, MC_FW_INVALID_CERTIFICATE, "the OCA certificate is malformed or not an OCA");
    else if (mc_sev_cert_parse(pek_raw, MC_SEV_CERT_LEN, &pek, err) || pek.usage != MC_SEV_USAGE_PEK)
        st = psp_fail(err, MC_FW_INVALID_CERTIFICATE, "the PEK certificate is malformed or not a PEK");
    else if (!(id.flags & (1u << K_PEK)) || mc_sev_cert_parse(id.cert[K_PEK], MC_SEV_CERT_LEN, &cur, NULL))
        st = hw(err, "reading the current PEK");
    else if (memcmp(pek_raw, id.cert[K_PEK], MC_SEV_CERT_SIGNED_LEN) != 0)
        st = psp_fail(err, MC_FW_INVALID_CERTIFICATE, "the PEK certificate does not certify this platform's PEK");
    else if (mc_sev_cert_verify(&oca, &oca, err))
        st = psp_fail(err, MC_FW_BAD_SIGNATURE, "the OCA certificate is not validly self-signed");
    else if (mc_sev_cert_verify(&pek, &oca, err))
        st = psp_fail(err, MC_FW_BAD_SIGNATURE, "the PEK certificate is not validly signed by the OCA");
    if (!st) {
        /* Keep the OCA signature and put the CEK signature of the current PEK in the other slot. */
        int oca_slot = -1, cek_slot = -1;
        for (int i = 0; i < 2; i++) {
            if (pek.sig[i].usage == MC_SEV_USAGE_OCA && oca_slot < 0)
                oca_slot = i;
            if (cur.sig[i].usage == MC_SEV_USAGE_CEK)
                cek_slot = i;
        }
        if (oca_slot < 0 || cek_slot < 0) {
            st = psp_fail(err, MC_FW_INVALID_CERTIFICATE, "the PEK certificate carries no OCA signature");
        } else {
            struct mc_sev_cert merged = pek;
            merged.sig[0] = pek.sig[oca_slot];
            merged.sig[1] = cur.sig[cek_slot];
            mc_sev_cert_serialize(&merged, id.cert[K_PEK]);
            memcpy(id.cert[K_OCA], oca_raw, MC_SEV_CERT_LEN);
            mc_wipe(id.d[K_OCA], MC_P384_LEN);
            id.flags &= ~ID_F_OCA_PRIV;
            st = make_key(psp, &id, K_PDH, err); /* a new PDH, signed by the PEK */
            if (!st)
                id_store(nv, &id);
        }
    }
    id_wipe(&id);
    return st;
}

uint32_t psp_id_pdh_export(struct mc_psp *psp, uint8_t pdh[MC_SEV_CERT_LEN], uint8_t chain[MC_SEV_CHAIN_LEN],
                           struct mc_error *err)
{
    struct ident id;
    id_load(&psp->nv, &id);
    uint32_t st = MC_FW_SUCCESS;
    if ((id.flags & 7u) != 7u)
        st = hw(err, "reading the certificates");
    else {
        memcpy(pdh, id.cert[K_PDH], MC_SEV_CERT_LEN);
        memcpy(chain, id.cert[K_PEK], MC_SEV_CERT_LEN);
        memcpy(chain + MC_SEV_CERT_LEN, id.cert[K_OCA], MC_SEV_CERT_LEN);
        if (cek_cert(psp, chain + 2 * MC_SEV_CERT_LEN, err)) /* unsigned, as the firmware exports it */
            st = hw(err, "building the CEK certificate");
    }
    id_wipe(&id);
    return st;
}

/* GET_ID: AMD's Genoa firmware returns a secp256k1 point derived from the chip key; the curve
 * for older parts is unconfirmed and the value is only an identifier for KDS look-ups. The
 * emulated chip returns 64 stable bytes derived from its secret (KDF label "memcrypt-get-id");
 * a real KDS would not know them anyway. */
uint32_t psp_id_get_id(struct mc_psp *psp, uint8_t out[MC_SEV_ID_LEN], struct mc_error *err)
{
    if (mc_kdf_sev(psp->nv.chip_secret, PSP_CHIP_SECRET_LEN, "memcrypt-get-id", NULL, 0, out, MC_SEV_ID_LEN, err))
        return hw(err, "GET_ID derivation");
    return MC_FW_SUCCESS;
}

uint32_t psp_id_unwrap_session(struct mc_psp *psp, const uint8_t godh_raw[MC_SEV_CERT_LEN],
                               const uint8_t ses[MC_SEV_SESSION_LEN], uint32_t policy, uint8_t tek[16], uint8_t tik[16],
                               struct mc_error *err)
{
    struct mc_sev_cert godh;
    if (mc_sev_cert_parse(godh_raw, MC_SEV_CERT_LEN, &godh, err) || godh.usage != MC_SEV_USAGE_PDH ||
        godh.algo != MC_SEV_ALGO_ECDH_SHA256)
        return psp_fail(err, MC_FW_INVALID_CERTIFICATE,
                        "the guest owner's DH certificate is malformed or not a PDH/ECDH-SHA256 key");
    struct ident id;
    id_load(&psp->nv, &id);
    struct mc_pk *peer = NULL, *pdh = NULL;
    uint8_t z[MC_P384_LEN], ms[16], kek[16], kik[16], mac[32], tk[32], pm[4];
    uint32_t st = MC_FW_SUCCESS;
    if (mc_sev_cert_get_pubkey(&godh, &peer, err))
        st = psp_fail(err, MC_FW_INVALID_CERTIFICATE, "the guest owner's DH key is not a valid P-384 point");
    else if (!(id.flags & (1u << K_PDH)) || key_of(&id, K_PDH, &pdh, err) || mc_ecdh_p384(pdh, peer, z, err) ||
             mc_kdf_sev(z, sizeof z, "sev-master-secret", ses + offsetof(struct mc_sev_session, nonce), 16, ms, 16,
                        err) ||
             mc_kdf_sev(ms, 16, "sev-kek", NULL, 0, kek, 16, err) || mc_kdf_sev(ms, 16, "sev-kik", NULL, 0, kik, 16, err) ||
             mc_hmac_sha256(kik, 16, ses + offsetof(struct mc_sev_session, wrap_tk), 32, mac, err))
        st = hw(err, "the session key agreement");
    else if (!mc_ct_equal(mac, ses + offsetof(struct mc_sev_session, wrap_mac), 32))
        st = psp_fail(err, MC_FW_BAD_MEASUREMENT, "the session's WRAP_MAC does not verify");
    else if (mc_aes128_ctr(kek, ses + offsetof(struct mc_sev_session, wrap_iv),
                           ses + offsetof(struct mc_sev_session, wrap_tk), tk, 32, err))
        st = hw(err, "unwrapping TEK/TIK");
    else {
        mc_put_le32(pm, policy);
        if (mc_hmac_sha256(tk + 16, 16, pm, 4, mac, err))
            st = hw(err, "the policy MAC");
        else if (!mc_ct_equal(mac, ses + offsetof(struct mc_sev_session, policy_mac), 32))
            st = psp_fail(err, MC_FW_BAD_MEASUREMENT, "the session's POLICY_MAC does not match policy 0x%x", policy);
        else {
            memcpy(tek, tk, 16);
            memcpy(tik, tk + 16, 16);
        }
    }
    mc_pk_free(peer);
    mc_pk_free(pdh);
    mc_wipe(z, sizeof z);
    mc_wipe(ms, sizeof ms);
    mc_wipe(kek, sizeof kek);
    mc_wipe(kik, sizeof kik);
    mc_wipe(tk, sizeof tk);
    id_wipe(&id);
    return st;
}

uint32_t psp_id_sign_report(struct mc_psp *psp, uint8_t rep[MC_SEV_REPORT_LEN], struct mc_error *err)
{
    struct ident id;
    id_load(&psp->nv, &id);
    struct mc_pk *pek = NULL;
    uint8_t r[MC_P384_LEN], s[MC_P384_LEN];
    uint32_t st = MC_FW_SUCCESS;
    mc_put_le32(rep + offsetof(struct mc_sev_attestation_report, sig_usage), MC_SEV_USAGE_PEK);
    mc_put_le32(rep + offsetof(struct mc_sev_attestation_report, sig_algo), MC_SEV_ALGO_ECDSA_SHA256);
    if (!(id.flags & (1u << K_PEK)) || key_of(&id, K_PEK, &pek, err) ||
        mc_ecdsa_sign(pek, "SHA256", rep, offsetof(struct mc_sev_attestation_report, sig_usage), r, s, err))
        st = hw(err, "signing the attestation report");
    else {
        /* R and S little-endian, zero-padded to 72 bytes each. */
        mc_reverse(r, sizeof r);
        mc_reverse(s, sizeof s);
        memset(rep + offsetof(struct mc_sev_attestation_report, sig_r), 0, 144);
        memcpy(rep + offsetof(struct mc_sev_attestation_report, sig_r), r, sizeof r);
        memcpy(rep + offsetof(struct mc_sev_attestation_report, sig_s), s, sizeof s);
    }
    mc_pk_free(pek);
    id_wipe(&id);
    return st;
}
