/* memcrypt — the emulated SEV platform identity: CUK, CEK, emulated ARK/ASK, OCA/PEK/PDH,
 * PEK_CSR / PEK_CERT_IMPORT rules, GET_ID, session open, attestation and the state blob.
 * Rules: shared/spec/sev-api.md §8 and §9. */
#include <stdlib.h>
#include <string.h>

#include <memcrypt/bytes.h>
#include <memcrypt/sev_identity.h>

#include "crypto/crypto.h"
#include "crypto/kdf.h"
#include "crypto/pk.h"
#include "sev/cert_key.h"
#include "snp/emu_roots.h"

#define CUK_LEN 32

struct mc_sev_identity {
    uint8_t cuk[CUK_LEN];
    uint8_t api_major, api_minor, build;
    struct mc_amd_cert ark, ask;
    struct mc_sev_cert cek; /* ASK-signed */
    struct mc_sev_cert oca, pek, pdh;
    struct mc_pk *cek_key, *oca_key /* NULL when externally owned */, *pek_key, *pdh_key;
    bool owned;
    uint8_t chip_id[64]; /* GET_ID's value: a function of the CUK, computed when the CUK is set */
};

static const uint8_t ark_id[16] = "MEMCRYPT-EMU-ARK";
static const uint8_t ask_id[16] = "MEMCRYPT-EMU-ASK";

const char *mc_sev_id_result_name(enum mc_sev_id_result r)
{
    switch (r) {
    case MC_SEV_ID_OK: return "ok";
    case MC_SEV_ID_ALREADY_OWNED: return "already owned";
    case MC_SEV_ID_BAD_LENGTH: return "bad length";
    case MC_SEV_ID_INVALID_CERT: return "invalid certificate";
    case MC_SEV_ID_BAD_SIGNATURE: return "bad signature";
    case MC_SEV_ID_ERROR: return "internal error";
    }
    return "unknown";
}

void mc_sev_identity_destroy(struct mc_sev_identity *id)
{
    if (!id)
        return;
    mc_pk_free(id->cek_key);
    mc_pk_free(id->oca_key);
    mc_pk_free(id->pek_key);
    mc_pk_free(id->pdh_key);
    mc_wipe(id, sizeof *id);
    free(id);
}

mc_status mc_sev_identity_dup(const struct mc_sev_identity *id, struct mc_sev_identity **out, struct mc_error *err)
{
    if (!id || !out)
        return mc_seterr(err, MC_E_INVAL, "identity copy: NULL argument");
    struct mc_sev_identity *c = calloc(1, sizeof *c);
    if (!c)
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    *c = *id;
    c->cek_key = c->oca_key = c->pek_key = c->pdh_key = NULL;
    const struct mc_pk *from[4] = {id->cek_key, id->oca_key, id->pek_key, id->pdh_key};
    struct mc_pk **to[4] = {&c->cek_key, &c->oca_key, &c->pek_key, &c->pdh_key};
    for (int i = 0; i < 4; i++)
        if (from[i] && mc_pk_dup(from[i], to[i], err) != MC_OK) {
            mc_sev_identity_destroy(c);
            return MC_E_CRYPTO;
        }
    *out = c;
    return MC_OK;
}

/* CEK per the SEV API: seed = SHA-256(CUK); c = KDF(seed, "sev-chip-endorsement-key", 56 bytes);
 * key from the extra random bits. */
static mc_status derive_cek(const uint8_t cuk[CUK_LEN], struct mc_pk **out, struct mc_error *err)
{
    uint8_t seed[32], c[56];
    mc_status rc = mc_sha256(cuk, CUK_LEN, seed, err);
    if (rc == MC_OK)
        rc = mc_kdf_sev(seed, sizeof seed, "sev-chip-endorsement-key", NULL, 0, c, sizeof c, err);
    if (rc == MC_OK)
        rc = mc_p384_from_bits(c, sizeof c, out, err);
    mc_wipe(seed, sizeof seed);
    mc_wipe(c, sizeof c);
    return rc;
}

/* AMD's derivation of the ID key from the CUK is not public; ours is a stable, documented one:
 * 40 bytes = KDF(SHA-256(CUK), "memcrypt-chip-id"), secp256k1 point of that scalar. Computed
 * once per identity (a scalar multiplication), when its CUK is set. */
static mc_status derive_chip_id(struct mc_sev_identity *id, struct mc_error *err)
{
    uint8_t seed[32], c[40];
    mc_status rc = mc_sha256(id->cuk, CUK_LEN, seed, err);
    if (rc == MC_OK)
        rc = mc_kdf_sev(seed, sizeof seed, "memcrypt-chip-id", NULL, 0, c, sizeof c, err);
    if (rc == MC_OK)
        rc = mc_secp256k1_public_from_bits(c, sizeof c, id->chip_id, id->chip_id + 32, err);
    mc_wipe(seed, sizeof seed);
    mc_wipe(c, sizeof c);
    return rc;
}

/* New PDH key + cert signed by pek_key. */
static mc_status make_pdh(const struct mc_sev_identity *id, struct mc_rng *rng, const struct mc_pk *pek_key,
                          struct mc_pk **key, struct mc_sev_cert *cert, struct mc_error *err)
{
    struct mc_pk *k = NULL;
    mc_status rc = mc_p384_generate(rng, &k, err);
    if (rc == MC_OK)
        rc = mc_sev_cert_init(cert, MC_SEV_USAGE_PDH, MC_SEV_ALGO_ECDH_SHA256, id->api_major, id->api_minor, k, err);
    if (rc == MC_OK)
        rc = mc_sev_cert_sign(cert, 0, pek_key, MC_SEV_USAGE_PEK, MC_SEV_ALGO_ECDSA_SHA256, err);
    if (rc != MC_OK) {
        mc_pk_free(k);
        return rc;
    }
    *key = k;
    return MC_OK;
}

mc_status mc_sev_identity_pek_gen(struct mc_sev_identity *id, struct mc_rng *rng, struct mc_error *err)
{
    if (!id || !rng)
        return mc_seterr(err, MC_E_INVAL, "PEK_GEN: NULL argument");
    struct mc_pk *oca_k = NULL, *pek_k = NULL, *pdh_k = NULL;
    struct mc_sev_cert oca, pek, pdh;
    mc_status rc = mc_p384_generate(rng, &oca_k, err);
    if (rc == MC_OK)
        rc = mc_p384_generate(rng, &pek_k, err);
    if (rc == MC_OK)
        rc = mc_sev_cert_init(&oca, MC_SEV_USAGE_OCA, MC_SEV_ALGO_ECDSA_SHA256, id->api_major, id->api_minor, oca_k, err);
    if (rc == MC_OK)
        rc = mc_sev_cert_sign(&oca, 0, oca_k, MC_SEV_USAGE_OCA, MC_SEV_ALGO_ECDSA_SHA256, err);
    if (rc == MC_OK)
        rc = mc_sev_cert_init(&pek, MC_SEV_USAGE_PEK, MC_SEV_ALGO_ECDSA_SHA256, id->api_major, id->api_minor, pek_k, err);
    if (rc == MC_OK)
        rc = mc_sev_cert_sign(&pek, 0, oca_k, MC_SEV_USAGE_OCA, MC_SEV_ALGO_ECDSA_SHA256, err);
    if (rc == MC_OK)
        rc = mc_sev_cert_sign(&pek, 1, id->cek_key, MC_SEV_USAGE_CEK, MC_SEV_ALGO_ECDSA_SHA256, err);
    if (rc == MC_OK)
        rc = make_pdh(id, rng, pek_k, &pdh_k, &pdh, err);
    if (rc != MC_OK) {
        mc_pk_free(oca_k);
        mc_pk_free(pek_k);
        return rc;
    }
    mc_pk_free(id->oca_key);
    mc_pk_free(id->pek_key);
    mc_pk_free(id->pdh_key);
    id->oca_key = oca_k;
    id->pek_key = pek_k;
    id->pdh_key = pdh_k;
    id->oca = oca;
    id->pek = pek;
    id->pdh = pdh;
    id->owned = false;
    return MC_OK;
}

mc_status mc_sev_identity_pdh_gen(struct mc_sev_identity *id, struct mc_rng *rng, struct mc_error *err)
{
    if (!id || !rng)
        return mc_seterr(err, MC_E_INVAL, "PDH_GEN: NULL argument");
    struct mc_pk *k = NULL;
    struct mc_sev_cert c;
    mc_status rc = make_pdh(id, rng, id->pek_key, &k, &c, err);
    if (rc != MC_OK)
        return rc;
    mc_pk_free(id->pdh_key);
    id->pdh_key = k;
    id->pdh = c;
    return MC_OK;
}

mc_status mc_sev_identity_create(struct mc_rng *rng, const struct mc_sev_identity_params *p,
                              struct mc_sev_identity **out, struct mc_error *err)
{
    if (!rng || !p || !out)
        return mc_seterr(err, MC_E_INVAL, "identity: NULL argument");
    unsigned bits = p->root_bits ? p->root_bits : 4096;
    if (bits != 2048 && bits != 4096)
        return mc_seterr(err, MC_E_INVAL, "emulated AMD root must be 2048 or 4096 bits");
    struct mc_sev_identity *id = calloc(1, sizeof *id);
    if (!id)
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    id->api_major = p->api_major;
    id->api_minor = p->api_minor;
    id->build = p->build;
    struct mc_pk *ark_k = NULL, *ask_k = NULL;
    mc_status rc = mc_rng_bytes(rng, id->cuk, CUK_LEN, err);
    if (rc == MC_OK)
        rc = derive_cek(id->cuk, &id->cek_key, err);
    if (rc == MC_OK)
        rc = derive_chip_id(id, err);
    if (rc == MC_OK && mc_emu_root_known(p->product)) { /* the generation's, as on a real chip */
        rc = mc_emu_root_key(p->product, MC_EMU_ARK, bits, &ark_k, err);
        if (rc == MC_OK)
            rc = mc_emu_root_key(p->product, MC_EMU_ASK, bits, &ask_k, err);
    } else if (rc == MC_OK) {
        rc = mc_rsa_generate(rng, bits, 65537, &ark_k, err);
        if (rc == MC_OK)
            rc = mc_rsa_generate(rng, bits, 65537, &ask_k, err);
    }
    if (rc == MC_OK)
        rc = mc_amd_cert_init(&id->ark, ark_id, ark_id, MC_SEV_USAGE_ARK, ark_k, err);
    if (rc == MC_OK)
        rc = mc_amd_cert_sign(&id->ark, ark_k, err);
    if (rc == MC_OK)
        rc = mc_amd_cert_init(&id->ask, ask_id, ark_id, MC_SEV_USAGE_ASK, ask_k, err);
    if (rc == MC_OK)
        rc = mc_amd_cert_sign(&id->ask, ark_k, err);
    if (rc == MC_OK)
        rc = mc_sev_cert_init(&id->cek, MC_SEV_USAGE_CEK, MC_SEV_ALGO_ECDSA_SHA256, p->api_major, p->api_minor,
                              id->cek_key, err);
    if (rc == MC_OK)
        rc = mc_sev_cert_sign(&id->cek, 0, ask_k, MC_SEV_USAGE_ASK,
                              bits == 2048 ? MC_SEV_ALGO_RSA_SHA256 : MC_SEV_ALGO_RSA_SHA384, err);
    mc_pk_free(ark_k); /* the emulated root's private keys are not kept */
    mc_pk_free(ask_k);
    if (rc == MC_OK)
        rc = mc_sev_identity_pek_gen(id, rng, err);
    if (rc != MC_OK) {
        mc_sev_identity_destroy(id);
        return rc;
    }
    *out = id;
    return MC_OK;
}

void mc_sev_identity_pek_csr(const struct mc_sev_identity *id, uint8_t out[MC_SEV_CERT_LEN])
{
    struct mc_sev_cert c = id->pek;
    mc_sev_cert_clear_sigs(&c);
    mc_sev_cert_serialize(&c, out);
}

static mc_status id_fail(enum mc_sev_id_result *res, enum mc_sev_id_result r, struct mc_error *err, mc_status code,
                         const char *msg, const char *detail)
{
    *res = r;
    return mc_seterr(err, code, "PEK_CERT_IMPORT: %s%s%s", msg, detail ? ": " : "", detail ? detail : "");
}

mc_status mc_sev_identity_pek_import(struct mc_sev_identity *id, struct mc_rng *rng, const uint8_t *pek,
                                     size_t pek_len, const uint8_t *oca, size_t oca_len,
                                     enum mc_sev_id_result *res, struct mc_error *err)
{
    enum mc_sev_id_result dummy;
    if (!res)
        res = &dummy;
    *res = MC_SEV_ID_ERROR;
    if (!id || !rng || !pek || !oca)
        return mc_seterr(err, MC_E_INVAL, "PEK_CERT_IMPORT: NULL argument");
    if (id->owned)
        return id_fail(res, MC_SEV_ID_ALREADY_OWNED, err, MC_E_STATE, "the platform is already externally owned", NULL);
    if (pek_len != MC_SEV_CERT_LEN || oca_len != MC_SEV_CERT_LEN)
        return id_fail(res, MC_SEV_ID_BAD_LENGTH, err, MC_E_RANGE, "both certificates must be 0x824 bytes", NULL);
    struct mc_error e2;
    mc_clearerr(&e2);
    struct mc_sev_cert o, p;
    if (mc_sev_cert_parse(oca, oca_len, &o, &e2) != MC_OK || o.usage != MC_SEV_USAGE_OCA)
        return id_fail(res, MC_SEV_ID_INVALID_CERT, err, MC_E_FORMAT, "OCA certificate is invalid",
                       e2.msg[0] ? e2.msg : "usage is not OCA");
    if (mc_sev_cert_parse(pek, pek_len, &p, &e2) != MC_OK || p.usage != MC_SEV_USAGE_PEK)
        return id_fail(res, MC_SEV_ID_INVALID_CERT, err, MC_E_FORMAT, "PEK certificate is invalid",
                       e2.msg[0] ? e2.msg : "usage is not PEK");
    if (mc_sev_cert_verify(&o, &o, &e2) != MC_OK)
        return id_fail(res, MC_SEV_ID_BAD_SIGNATURE, err, MC_E_VERIFY, "OCA is not validly self-signed", e2.msg);
    uint8_t mine[MC_SEV_CERT_LEN], theirs[MC_SEV_CERT_LEN];
    mc_sev_cert_serialize(&id->pek, mine);
    mc_sev_cert_serialize(&p, theirs);
    if (memcmp(mine, theirs, MC_SEV_CERT_SIGNED_LEN) != 0)
        return id_fail(res, MC_SEV_ID_INVALID_CERT, err, MC_E_VERIFY,
                       "PEK body differs from this platform's PEK (sign the PEK_CSR)", NULL);
    if (mc_sev_cert_verify(&p, &o, &e2) != MC_OK)
        return id_fail(res, MC_SEV_ID_BAD_SIGNATURE, err, MC_E_VERIFY, "PEK is not signed by the OCA", e2.msg);
    /* New PEK cert: the OCA signature in slot 1, our CEK signature in slot 2. */
    struct mc_sev_cert np = p;
    int oca_slot = -1;
    for (int i = 0; i < 2; i++)
        if (p.sig[i].usage == MC_SEV_USAGE_OCA && p.sig[i].algo == o.algo)
            oca_slot = oca_slot < 0 ? i : oca_slot;
    int cek_slot = -1;
    for (int i = 0; i < 2; i++)
        if (id->pek.sig[i].usage == MC_SEV_USAGE_CEK)
            cek_slot = i;
    if (oca_slot < 0 || cek_slot < 0)
        return id_fail(res, MC_SEV_ID_ERROR, err, MC_E_STATE, "signature slots not found", NULL);
    np.sig[0] = p.sig[oca_slot];
    np.sig[1] = id->pek.sig[cek_slot];
    struct mc_pk *pdh_k = NULL;
    struct mc_sev_cert pdh;
    mc_status rc = make_pdh(id, rng, id->pek_key, &pdh_k, &pdh, err);
    if (rc != MC_OK) {
        *res = MC_SEV_ID_ERROR;
        return rc;
    }
    id->pek = np;
    id->oca = o;
    mc_pk_free(id->oca_key);
    id->oca_key = NULL;
    mc_pk_free(id->pdh_key);
    id->pdh_key = pdh_k;
    id->pdh = pdh;
    id->owned = true;
    *res = MC_SEV_ID_OK;
    return MC_OK;
}

bool mc_sev_identity_is_owned(const struct mc_sev_identity *id) { return id && id->owned; }

void mc_sev_identity_version(const struct mc_sev_identity *id, uint8_t *api_major, uint8_t *api_minor, uint8_t *build)
{
    if (api_major)
        *api_major = id->api_major;
    if (api_minor)
        *api_minor = id->api_minor;
    if (build)
        *build = id->build;
}

mc_status mc_sev_identity_cert(const struct mc_sev_identity *id, enum mc_sev_id_cert which, uint8_t *out,
                               size_t cap, size_t *len, struct mc_error *err)
{
    if (!id || !out || !len)
        return mc_seterr(err, MC_E_INVAL, "identity cert: NULL argument");
    const struct mc_sev_cert *c = NULL;
    switch (which) {
    case MC_SEV_ID_ARK: return mc_amd_cert_serialize(&id->ark, out, cap, len, err);
    case MC_SEV_ID_ASK: return mc_amd_cert_serialize(&id->ask, out, cap, len, err);
    case MC_SEV_ID_CEK: c = &id->cek; break;
    case MC_SEV_ID_OCA: c = &id->oca; break;
    case MC_SEV_ID_PEK: c = &id->pek; break;
    case MC_SEV_ID_PDH: c = &id->pdh; break;
    default: return mc_seterr(err, MC_E_INVAL, "identity cert: unknown certificate %d", (int)which);
    }
    if (cap < MC_SEV_CERT_LEN)
        return mc_seterr(err, MC_E_RANGE, "identity cert: buffer too small");
    mc_sev_cert_serialize(c, out);
    *len = MC_SEV_CERT_LEN;
    return MC_OK;
}

void mc_sev_identity_pdh_export(const struct mc_sev_identity *id, uint8_t pdh[MC_SEV_CERT_LEN],
                                uint8_t chain[MC_SEV_CHAIN_LEN])
{
    mc_sev_cert_serialize(&id->pdh, pdh);
    mc_sev_cert_serialize(&id->pek, chain);
    mc_sev_cert_serialize(&id->oca, chain + MC_SEV_CERT_LEN);
    struct mc_sev_cert cek = id->cek;
    mc_sev_cert_clear_sigs(&cek); /* the firmware exports the CEK unsigned */
    mc_sev_cert_serialize(&cek, chain + 2 * MC_SEV_CERT_LEN);
}

mc_status mc_sev_identity_get_id(const struct mc_sev_identity *id, uint8_t out[64], struct mc_error *err)
{
    if (!id || !out)
        return mc_seterr(err, MC_E_INVAL, "GET_ID: NULL argument");
    memcpy(out, id->chip_id, sizeof id->chip_id);
    return MC_OK;
}

mc_status mc_sev_identity_open_session(const struct mc_sev_identity *id, const uint8_t *godh, size_t godh_len,
                                       const uint8_t *session, size_t session_len, uint32_t policy,
                                       struct mc_sev_tks *tks, enum mc_sev_chan_result *why, struct mc_error *err)
{
    enum mc_sev_chan_result dummy;
    if (!why)
        why = &dummy;
    *why = MC_SEV_CHAN_ERROR;
    if (!id || !godh || !session || !tks)
        return mc_seterr(err, MC_E_INVAL, "session open: NULL argument");
    struct mc_sev_cert g;
    mc_status rc = mc_sev_godh_check(godh, godh_len, &g, why, err);
    if (rc != MC_OK)
        return rc;
    if (session_len != MC_SEV_SESSION_LEN) {
        *why = MC_SEV_CHAN_BAD_LENGTH;
        return mc_seterr(err, MC_E_RANGE, "session blob must be 0x80 bytes, got %zu", session_len);
    }
    struct mc_pk *peer = NULL;
    uint8_t z[MC_P384_LEN];
    rc = mc_sev_cert_get_pubkey(&g, &peer, err);
    if (rc == MC_OK)
        rc = mc_ecdh_p384(id->pdh_key, peer, z, err);
    mc_pk_free(peer);
    if (rc != MC_OK) {
        *why = MC_SEV_CHAN_ERROR;
        return rc;
    }
    struct mc_sev_session s;
    mc_sev_session_decode(session, &s);
    rc = mc_sev_session_unwrap(z, sizeof z, &s, policy, tks, why, err);
    mc_wipe(z, sizeof z);
    return rc;
}

mc_status mc_sev_identity_make_session(const struct mc_sev_identity *id, struct mc_rng *rng, const uint8_t *peer_pdh,
                                       size_t peer_len, uint32_t policy, uint8_t session[MC_SEV_SESSION_LEN],
                                       struct mc_sev_tks *tks, enum mc_sev_chan_result *why, struct mc_error *err)
{
    enum mc_sev_chan_result dummy;
    if (!why)
        why = &dummy;
    *why = MC_SEV_CHAN_ERROR;
    if (!id || !rng || !peer_pdh || !session || !tks)
        return mc_seterr(err, MC_E_INVAL, "session make: NULL argument");
    if (peer_len != MC_SEV_CERT_LEN) {
        *why = MC_SEV_CHAN_BAD_LENGTH;
        return mc_seterr(err, MC_E_RANGE, "the peer PDH certificate must be 0x824 bytes, got %zu", peer_len);
    }
    struct mc_sev_cert c;
    mc_status rc = mc_sev_cert_parse(peer_pdh, peer_len, &c, err);
    if (rc == MC_OK && (c.usage != MC_SEV_USAGE_PDH ||
                        (c.algo != MC_SEV_ALGO_ECDH_SHA256 && c.algo != MC_SEV_ALGO_ECDH_SHA384)))
        rc = mc_seterr(err, MC_E_FORMAT, "the peer certificate is %s/%s, not a PDH with ECDH",
                       mc_sev_usage_name(c.usage), mc_sev_algo_name(c.algo));
    if (rc != MC_OK) {
        *why = MC_SEV_CHAN_BAD_CERT;
        return rc;
    }
    struct mc_pk *peer = NULL;
    uint8_t z[MC_P384_LEN];
    rc = mc_sev_cert_get_pubkey(&c, &peer, err);
    if (rc != MC_OK) {
        *why = MC_SEV_CHAN_BAD_CERT;
        return rc;
    }
    rc = mc_ecdh_p384(id->pdh_key, peer, z, err);
    mc_pk_free(peer);
    if (rc == MC_OK)
        rc = mc_sev_session_generate(rng, z, sizeof z, policy, session, tks, err);
    if (rc == MC_OK)
        *why = MC_SEV_CHAN_OK;
    mc_wipe(z, sizeof z);
    return rc;
}

mc_status mc_sev_identity_attest(const struct mc_sev_identity *id, const uint8_t mnonce[16], const uint8_t ld[32],
                                 uint32_t policy, uint8_t report[MC_SEV_REPORT_LEN], struct mc_error *err)
{
    if (!id || !mnonce || !ld || !report)
        return mc_seterr(err, MC_E_INVAL, "ATTESTATION: NULL argument");
    struct mc_sev_report r;
    memset(&r, 0, sizeof r);
    memcpy(r.mnonce, mnonce, 16);
    memcpy(r.launch_digest, ld, 32);
    r.policy = policy;
    r.sig_usage = MC_SEV_USAGE_PEK;
    r.sig_algo = id->pek.algo;
    uint8_t buf[MC_SEV_REPORT_LEN], rr[48], ss[48];
    mc_sev_report_encode(&r, buf);
    mc_status rc = mc_ecdsa_sign(id->pek_key, id->pek.algo == MC_SEV_ALGO_ECDSA_SHA384 ? "SHA384" : "SHA256", buf,
                                 0x34, rr, ss, err);
    if (rc != MC_OK)
        return rc;
    mc_reverse(rr, 48);
    mc_reverse(ss, 48);
    memcpy(r.sig_r, rr, 48);
    memcpy(r.sig_s, ss, 48);
    mc_sev_report_encode(&r, report);
    return MC_OK;
}

/* ---- state blob -------------------------------------------------------------------------------
 * 00 magic "MCSEVID\0" · 08 u32 format version (1) · 0C u32 total length · 10 api_major, api_minor,
 * build, flags (bit0 externally owned) · 14 CUK[32] · 34 u32 ark_len · ARK · u32 ask_len · ASK ·
 * CEK, OCA, PEK, PDH certs (0x824 each) · OCA, PEK, PDH private scalars (48 each; OCA zero when
 * externally owned) · SHA-256 of everything before it. All integers little-endian. */

static const uint8_t state_magic[8] = {'M', 'C', 'S', 'E', 'V', 'I', 'D', 0};
#define STATE_VERSION 1u
#define STATE_FIXED (8 + 4 + 4 + 4 + CUK_LEN)
#define STATE_MAX (STATE_FIXED + 2 * (4 + MC_AMD_CERT_MAX_LEN) + 4 * MC_SEV_CERT_LEN + 3 * 48 + 32)

mc_status mc_sev_identity_serialize(const struct mc_sev_identity *id, uint8_t **buf, size_t *len, struct mc_error *err)
{
    if (!id || !buf || !len)
        return mc_seterr(err, MC_E_INVAL, "identity serialize: NULL argument");
    uint8_t *b = calloc(1, STATE_MAX);
    if (!b)
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    size_t o = 0, n = 0;
    memcpy(b, state_magic, 8);
    mc_put_le32(b + 8, STATE_VERSION);
    b[16] = id->api_major;
    b[17] = id->api_minor;
    b[18] = id->build;
    b[19] = id->owned ? 1 : 0;
    memcpy(b + 20, id->cuk, CUK_LEN);
    o = STATE_FIXED;
    mc_status rc = mc_amd_cert_serialize(&id->ark, b + o + 4, MC_AMD_CERT_MAX_LEN, &n, err);
    if (rc == MC_OK) {
        mc_put_le32(b + o, (uint32_t)n);
        o += 4 + n;
        rc = mc_amd_cert_serialize(&id->ask, b + o + 4, MC_AMD_CERT_MAX_LEN, &n, err);
    }
    if (rc == MC_OK) {
        mc_put_le32(b + o, (uint32_t)n);
        o += 4 + n;
        const struct mc_sev_cert *cs[4] = {&id->cek, &id->oca, &id->pek, &id->pdh};
        for (int i = 0; i < 4; i++, o += MC_SEV_CERT_LEN)
            mc_sev_cert_serialize(cs[i], b + o);
        if (id->oca_key)
            rc = mc_p384_get_private(id->oca_key, b + o, err);
        o += 48;
    }
    if (rc == MC_OK) {
        rc = mc_p384_get_private(id->pek_key, b + o, err);
        o += 48;
    }
    if (rc == MC_OK) {
        rc = mc_p384_get_private(id->pdh_key, b + o, err);
        o += 48;
    }
    if (rc == MC_OK) {
        mc_put_le32(b + 12, (uint32_t)(o + 32));
        rc = mc_sha256(b, o, b + o, err);
        o += 32;
    }
    if (rc != MC_OK) {
        mc_wipe(b, STATE_MAX);
        free(b);
        return rc;
    }
    *buf = b;
    *len = o;
    return MC_OK;
}

static mc_status bad_state(struct mc_error *err, const char *why)
{
    return mc_seterr(err, MC_E_FORMAT, "SEV identity state is unusable: %s", why);
}

/* Private key for a cert: rebuild it from the scalar and require the same public key. */
static mc_status key_for_cert(const uint8_t d[48], const struct mc_sev_cert *c, struct mc_pk **out, struct mc_error *err)
{
    struct mc_pk *k = NULL;
    mc_status st = mc_p384_from_private(d, &k, NULL);
    if (st == MC_E_NOMEM)
        return mc_seterr(err, st, "out of memory");
    if (st != MC_OK)
        return bad_state(err, "a private key is out of range");
    struct mc_sev_cert t;
    st = mc_sev_cert_init(&t, c->usage, c->algo, c->api_major, c->api_minor, k, NULL);
    if (st != MC_OK || memcmp(t.pubkey, c->pubkey, MC_SEV_PUBKEY_LEN) != 0) {
        mc_pk_free(k);
        return st == MC_E_NOMEM ? mc_seterr(err, st, "out of memory")
                                : bad_state(err, "a private key does not match its certificate");
    }
    *out = k;
    return MC_OK;
}

/* A check's status: true when it failed; a failure for lack of memory is noted in *oom. */
static bool failed(mc_status st, bool *oom)
{
    if (st == MC_E_NOMEM)
        *oom = true;
    return st != MC_OK;
}

mc_status mc_sev_identity_deserialize(const uint8_t *buf, size_t len, struct mc_sev_identity **out,
                                      struct mc_error *err)
{
    if (!buf || !out)
        return mc_seterr(err, MC_E_INVAL, "identity deserialize: NULL argument");
    if (len < 8 || memcmp(buf, state_magic, 8) != 0)
        return bad_state(err, "not a memcrypt SEV identity file (bad magic)");
    if (len < STATE_FIXED + 32)
        return bad_state(err, "truncated");
    if (mc_le32(buf + 8) != STATE_VERSION)
        return bad_state(err, "unsupported format version");
    if (mc_le32(buf + 12) != len)
        return bad_state(err, "length field does not match the file size (truncated or padded)");
    uint8_t h[32];
    mc_status hs = mc_sha256(buf, len - 32, h, err);
    if (hs != MC_OK)
        return hs;
    if (!mc_ct_equal(h, buf + len - 32, 32))
        return bad_state(err, "checksum mismatch (corrupted)");
    if (buf[19] & ~1u)
        return bad_state(err, "unknown flag bits");
    struct mc_sev_identity *id = calloc(1, sizeof *id);
    if (!id)
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    mc_status rc = MC_OK;
    size_t o = STATE_FIXED, end = len - 32;
    id->api_major = buf[16];
    id->api_minor = buf[17];
    id->build = buf[18];
    id->owned = buf[19] & 1;
    memcpy(id->cuk, buf + 20, CUK_LEN);
    bool oom = false;
    struct mc_amd_cert *amd[2] = {&id->ark, &id->ask};
    for (int i = 0; i < 2 && rc == MC_OK; i++) {
        if (end - o < 4) {
            rc = bad_state(err, "truncated AMD certificate");
            break;
        }
        uint32_t n = mc_le32(buf + o);
        o += 4;
        if (n > end - o || failed(mc_amd_cert_parse(buf + o, n, amd[i], NULL), &oom))
            rc = bad_state(err, "malformed emulated ARK/ASK");
        o += n;
    }
    struct mc_sev_cert *cs[4] = {&id->cek, &id->oca, &id->pek, &id->pdh};
    static const uint32_t usage[4] = {MC_SEV_USAGE_CEK, MC_SEV_USAGE_OCA, MC_SEV_USAGE_PEK, MC_SEV_USAGE_PDH};
    if (rc == MC_OK && end - o != 4 * MC_SEV_CERT_LEN + 3 * 48)
        rc = bad_state(err, "wrong size for the certificates and keys");
    for (int i = 0; i < 4 && rc == MC_OK; i++, o += MC_SEV_CERT_LEN)
        if (failed(mc_sev_cert_parse(buf + o, MC_SEV_CERT_LEN, cs[i], NULL), &oom) || cs[i]->usage != usage[i])
            rc = bad_state(err, "malformed platform certificate");
    if (rc == MC_OK && (!mc_amd_cert_is_emulated(&id->ark) || failed(mc_amd_cert_verify(&id->ark, &id->ark, NULL), &oom) ||
                        failed(mc_amd_cert_verify(&id->ask, &id->ark, NULL), &oom) ||
                        failed(mc_sev_cert_verify_by_ask(&id->cek, &id->ask, NULL), &oom)))
        rc = bad_state(err, "emulated ARK/ASK/CEK chain does not verify");
    if (rc == MC_OK) {
        struct mc_sev_cert t;
        if (failed(derive_cek(id->cuk, &id->cek_key, err), &oom) ||
            failed(mc_sev_cert_init(&t, MC_SEV_USAGE_CEK, id->cek.algo, id->cek.api_major, id->cek.api_minor,
                                    id->cek_key, NULL), &oom) ||
            memcmp(t.pubkey, id->cek.pubkey, MC_SEV_PUBKEY_LEN) != 0)
            rc = bad_state(err, "the CEK does not match the chip secret");
    }
    if (rc == MC_OK)
        rc = derive_chip_id(id, err);
    if (rc == MC_OK && !id->owned)
        rc = key_for_cert(buf + o, &id->oca, &id->oca_key, err);
    if (rc == MC_OK && id->owned) {
        uint8_t zero[48] = {0};
        if (memcmp(buf + o, zero, 48) != 0)
            rc = bad_state(err, "externally owned platform must not hold an OCA key");
    }
    o += 48;
    if (rc == MC_OK)
        rc = key_for_cert(buf + o, &id->pek, &id->pek_key, err);
    o += 48;
    if (rc == MC_OK)
        rc = key_for_cert(buf + o, &id->pdh, &id->pdh_key, err);
    if (rc == MC_OK && (failed(mc_sev_cert_verify(&id->oca, &id->oca, NULL), &oom) ||
                        failed(mc_sev_cert_verify(&id->pek, &id->oca, NULL), &oom) ||
                        failed(mc_sev_cert_verify(&id->pek, &id->cek, NULL), &oom) ||
                        failed(mc_sev_cert_verify(&id->pdh, &id->pek, NULL), &oom)))
        rc = bad_state(err, "OCA/PEK/PDH signatures do not verify");
    if (rc != MC_OK && oom) /* a check that could not run for lack of memory: not bad data */
        rc = mc_seterr(err, MC_E_NOMEM, "out of memory reading the platform identity");
    if (rc != MC_OK) {
        mc_sev_identity_destroy(id);
        return rc;
    }
    *out = id;
    return MC_OK;
}
