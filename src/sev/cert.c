/* memcrypt — the SEV certificate (0x824 bytes): strict parse, serialize, sign, verify.
 * Layout and rules: SEV API 55766 appendix (see shared/spec/sev-api.md §8.1). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <memcrypt/bytes.h>
#include <memcrypt/sev_cert.h>

#include "crypto/crypto.h"
#include "sev/cert_key.h"

/* Wire layouts (byte arrays only: no padding, no casting of untrusted bytes; the structs exist
 * to pin the offsets the codec uses). */
struct sev_cert_wire {
    uint8_t version[4];
    uint8_t api_major;
    uint8_t api_minor;
    uint8_t reserved[2];
    uint8_t pubkey_usage[4];
    uint8_t pubkey_algo[4];
    uint8_t pubkey[MC_SEV_PUBKEY_LEN];
    uint8_t sig1_usage[4];
    uint8_t sig1_algo[4];
    uint8_t sig1[MC_SEV_SIG_LEN];
    uint8_t sig2_usage[4];
    uint8_t sig2_algo[4];
    uint8_t sig2[MC_SEV_SIG_LEN];
};
_Static_assert(sizeof(struct sev_cert_wire) == MC_SEV_CERT_LEN, "SEV cert size");
_Static_assert(offsetof(struct sev_cert_wire, api_major) == 0x004, "api_major");
_Static_assert(offsetof(struct sev_cert_wire, api_minor) == 0x005, "api_minor");
_Static_assert(offsetof(struct sev_cert_wire, pubkey_usage) == 0x008, "pubkey_usage");
_Static_assert(offsetof(struct sev_cert_wire, pubkey_algo) == 0x00C, "pubkey_algo");
_Static_assert(offsetof(struct sev_cert_wire, pubkey) == 0x010, "pubkey");
_Static_assert(offsetof(struct sev_cert_wire, sig1_usage) == 0x414, "sig1_usage");
_Static_assert(offsetof(struct sev_cert_wire, sig1_algo) == 0x418, "sig1_algo");
_Static_assert(offsetof(struct sev_cert_wire, sig1) == 0x41C, "sig1");
_Static_assert(offsetof(struct sev_cert_wire, sig2_usage) == 0x61C, "sig2_usage");
_Static_assert(offsetof(struct sev_cert_wire, sig2_algo) == 0x620, "sig2_algo");
_Static_assert(offsetof(struct sev_cert_wire, sig2) == 0x624, "sig2");
_Static_assert(offsetof(struct sev_cert_wire, sig1_usage) == MC_SEV_CERT_SIGNED_LEN, "signed area");

struct sev_ecc_pub_wire {
    uint8_t curve[4];
    uint8_t qx[72];
    uint8_t qy[72];
    uint8_t reserved[0x370];
};
_Static_assert(sizeof(struct sev_ecc_pub_wire) == MC_SEV_PUBKEY_LEN, "ECC pubkey size");
_Static_assert(offsetof(struct sev_ecc_pub_wire, qx) == 0x004, "qx");
_Static_assert(offsetof(struct sev_ecc_pub_wire, qy) == 0x04C, "qy");
_Static_assert(offsetof(struct sev_ecc_pub_wire, reserved) == 0x094, "ecc reserved");

struct sev_rsa_pub_wire {
    uint8_t modulus_size[4];
    uint8_t pub_exp[512];
    uint8_t modulus[512];
};
_Static_assert(sizeof(struct sev_rsa_pub_wire) == MC_SEV_PUBKEY_LEN, "RSA pubkey size");
_Static_assert(offsetof(struct sev_rsa_pub_wire, pub_exp) == 0x004, "pub_exp");
_Static_assert(offsetof(struct sev_rsa_pub_wire, modulus) == 0x204, "modulus");

struct sev_ecdsa_sig_wire {
    uint8_t r[72];
    uint8_t s[72];
    uint8_t reserved[368];
};
_Static_assert(sizeof(struct sev_ecdsa_sig_wire) == MC_SEV_SIG_LEN, "ECDSA sig size");
_Static_assert(offsetof(struct sev_ecdsa_sig_wire, s) == 72, "s");

#define ECC_QX offsetof(struct sev_ecc_pub_wire, qx)
#define ECC_QY offsetof(struct sev_ecc_pub_wire, qy)
#define ECC_RES offsetof(struct sev_ecc_pub_wire, reserved)
#define RSA_EXP offsetof(struct sev_rsa_pub_wire, pub_exp)
#define RSA_MOD offsetof(struct sev_rsa_pub_wire, modulus)
#define SIG_S offsetof(struct sev_ecdsa_sig_wire, s)
#define SIG_RES offsetof(struct sev_ecdsa_sig_wire, reserved)

const char *mc_sev_usage_name(uint32_t usage)
{
    switch (usage) {
    case MC_SEV_USAGE_ARK: return "ARK";
    case MC_SEV_USAGE_ASK: return "ASK";
    case MC_SEV_USAGE_INVALID: return "none";
    case MC_SEV_USAGE_OCA: return "OCA";
    case MC_SEV_USAGE_PEK: return "PEK";
    case MC_SEV_USAGE_PDH: return "PDH";
    case MC_SEV_USAGE_CEK: return "CEK";
    default: return "unknown";
    }
}

const char *mc_sev_algo_name(uint32_t algo)
{
    switch (algo) {
    case MC_SEV_ALGO_INVALID: return "none";
    case MC_SEV_ALGO_RSA_SHA256: return "RSA-SHA256";
    case MC_SEV_ALGO_ECDSA_SHA256: return "ECDSA-SHA256";
    case MC_SEV_ALGO_ECDH_SHA256: return "ECDH-SHA256";
    case MC_SEV_ALGO_RSA_SHA384: return "RSA-SHA384";
    case MC_SEV_ALGO_ECDSA_SHA384: return "ECDSA-SHA384";
    case MC_SEV_ALGO_ECDH_SHA384: return "ECDH-SHA384";
    default: return "unknown";
    }
}

static bool algo_is_rsa(uint32_t a) { return a == MC_SEV_ALGO_RSA_SHA256 || a == MC_SEV_ALGO_RSA_SHA384; }
static bool algo_is_ecdsa(uint32_t a) { return a == MC_SEV_ALGO_ECDSA_SHA256 || a == MC_SEV_ALGO_ECDSA_SHA384; }
static bool algo_is_ecdh(uint32_t a) { return a == MC_SEV_ALGO_ECDH_SHA256 || a == MC_SEV_ALGO_ECDH_SHA384; }
static const char *algo_hash(uint32_t a) { return (a & 0x100) ? "SHA384" : "SHA256"; }

static bool all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

/* Which public-key algorithms a certificate of this usage may carry. */
static bool usage_algo_ok(uint32_t usage, uint32_t algo)
{
    switch (usage) {
    case MC_SEV_USAGE_PDH: return algo_is_ecdh(algo);
    case MC_SEV_USAGE_OCA:
    case MC_SEV_USAGE_PEK:
    case MC_SEV_USAGE_CEK: return algo_is_ecdsa(algo) || algo_is_rsa(algo);
    default: return false;
    }
}

static mc_status pubkey_from_area(uint32_t algo, const uint8_t *pk, struct mc_pk **out, struct mc_error *err)
{
    if (algo_is_ecdsa(algo) || algo_is_ecdh(algo)) {
        uint32_t curve = mc_le32(pk);
        if (curve != MC_SEV_CURVE_P384)
            return mc_seterr(err, MC_E_FORMAT, "public key curve %u is not P-384 (2)", curve);
        if (!all_zero(pk + ECC_RES, MC_SEV_PUBKEY_LEN - ECC_RES))
            return mc_seterr(err, MC_E_FORMAT, "public key area has non-zero padding");
        /* qx/qy: LE72, bytes 48..71 zero (checked by the helper, MC_E_FORMAT) */
        mc_status rc = mc_p384_from_public_le72(pk + ECC_QX, pk + ECC_QY, out, err);
        return rc == MC_OK || rc == MC_E_FORMAT || rc == MC_E_NOMEM ? rc
                                                                    : mc_seterr(err, MC_E_FORMAT, "public key is not a point on P-384");
    }
    if (algo_is_rsa(algo)) {
        uint32_t bits = mc_le32(pk);
        if (bits < MC_RSA_MIN_BITS || bits > MC_RSA_MAX_BITS || bits % 8)
            return mc_seterr(err, MC_E_FORMAT, "RSA modulus size %u bits is out of range (2048..4096)", bits);
        size_t nb = bits / 8;
        if (!all_zero(pk + RSA_EXP + nb, 512 - nb) || !all_zero(pk + RSA_MOD + nb, 512 - nb))
            return mc_seterr(err, MC_E_FORMAT, "RSA key bytes beyond the modulus size are not zero");
        uint8_t e[512], n[512];
        memcpy(e, pk + RSA_EXP, nb);
        memcpy(n, pk + RSA_MOD, nb);
        mc_reverse(e, nb);
        mc_reverse(n, nb);
        if (!(n[0] & 0x80))
            return mc_seterr(err, MC_E_FORMAT, "RSA modulus is shorter than its declared %u bits", bits);
        mc_status rc = mc_rsa_from_public(n, nb, e, nb, out, err);
        return rc == MC_OK || rc == MC_E_NOMEM ? rc : mc_seterr(err, MC_E_FORMAT, "RSA public key is invalid");
    }
    return mc_seterr(err, MC_E_FORMAT, "unknown public key algorithm 0x%x", algo);
}

mc_status mc_sev_cert_parse(const uint8_t *buf, size_t len, struct mc_sev_cert *out, struct mc_error *err)
{
    if (!buf || !out)
        return mc_seterr(err, MC_E_INVAL, "SEV certificate: NULL argument");
    if (len != MC_SEV_CERT_LEN)
        return mc_seterr(err, MC_E_FORMAT, "SEV certificate must be %u bytes, got %zu", MC_SEV_CERT_LEN, len);
    struct mc_sev_cert c;
    memset(&c, 0, sizeof c);
    c.version = mc_le32(buf + offsetof(struct sev_cert_wire, version));
    c.api_major = buf[offsetof(struct sev_cert_wire, api_major)];
    c.api_minor = buf[offsetof(struct sev_cert_wire, api_minor)];
    c.usage = mc_le32(buf + offsetof(struct sev_cert_wire, pubkey_usage));
    c.algo = mc_le32(buf + offsetof(struct sev_cert_wire, pubkey_algo));
    memcpy(c.pubkey, buf + offsetof(struct sev_cert_wire, pubkey), MC_SEV_PUBKEY_LEN);
    static const size_t so[2][3] = {
        {offsetof(struct sev_cert_wire, sig1_usage), offsetof(struct sev_cert_wire, sig1_algo),
         offsetof(struct sev_cert_wire, sig1)},
        {offsetof(struct sev_cert_wire, sig2_usage), offsetof(struct sev_cert_wire, sig2_algo),
         offsetof(struct sev_cert_wire, sig2)}};
    for (int i = 0; i < 2; i++) {
        c.sig[i].usage = mc_le32(buf + so[i][0]);
        c.sig[i].algo = mc_le32(buf + so[i][1]);
        memcpy(c.sig[i].data, buf + so[i][2], MC_SEV_SIG_LEN);
    }
    if (c.version != 1)
        return mc_seterr(err, MC_E_FORMAT, "SEV certificate version %u is not 1", c.version);
    if (!all_zero(buf + offsetof(struct sev_cert_wire, reserved), 2))
        return mc_seterr(err, MC_E_FORMAT, "SEV certificate reserved bytes 0x006-0x007 are not zero");
    if (c.usage != MC_SEV_USAGE_OCA && c.usage != MC_SEV_USAGE_PEK && c.usage != MC_SEV_USAGE_PDH &&
        c.usage != MC_SEV_USAGE_CEK)
        return mc_seterr(err, MC_E_FORMAT, "SEV certificate key usage 0x%x is not OCA, PEK, PDH or CEK", c.usage);
    if (!usage_algo_ok(c.usage, c.algo))
        return mc_seterr(err, MC_E_FORMAT, "SEV certificate: algorithm 0x%x (%s) is not allowed for a %s key", c.algo,
                         mc_sev_algo_name(c.algo), mc_sev_usage_name(c.usage));
    struct mc_pk *k = NULL;
    mc_status rc = pubkey_from_area(c.algo, c.pubkey, &k, err);
    mc_pk_free(k);
    if (rc != MC_OK)
        return rc;
    for (int i = 0; i < 2; i++) {
        const struct mc_sev_cert_sig *s = &c.sig[i];
        /* Empty slot: usage 0x1000 (the spec's "invalid"), or usage 0 with algorithm 0 as
         * hand-made and some tool-made certificates leave it (algorithm 0 signs nothing, so usage
         * 0 cannot mean an ARK signature there). */
        if (s->usage == MC_SEV_USAGE_INVALID || (s->usage == 0 && s->algo == MC_SEV_ALGO_INVALID)) {
            if (s->algo != MC_SEV_ALGO_INVALID || !all_zero(s->data, MC_SEV_SIG_LEN))
                return mc_seterr(err, MC_E_FORMAT, "empty signature slot %d has a non-zero algorithm or data", i + 1);
            continue;
        }
        if (s->usage != MC_SEV_USAGE_ASK && s->usage != MC_SEV_USAGE_OCA && s->usage != MC_SEV_USAGE_PEK &&
            s->usage != MC_SEV_USAGE_CEK && s->usage != MC_SEV_USAGE_ARK)
            return mc_seterr(err, MC_E_FORMAT, "signature slot %d: signer usage 0x%x is not a signing key", i + 1,
                             s->usage);
        if (!algo_is_rsa(s->algo) && !algo_is_ecdsa(s->algo))
            return mc_seterr(err, MC_E_FORMAT, "signature slot %d: algorithm 0x%x is not a signature algorithm", i + 1,
                             s->algo);
        if (algo_is_ecdsa(s->algo) &&
            (!all_zero(s->data + 48, 24) || !all_zero(s->data + SIG_S + 48, 24) ||
             !all_zero(s->data + SIG_RES, MC_SEV_SIG_LEN - SIG_RES)))
            return mc_seterr(err, MC_E_FORMAT, "signature slot %d: ECDSA signature padding is not zero", i + 1);
    }
    *out = c;
    return MC_OK;
}

void mc_sev_cert_serialize(const struct mc_sev_cert *c, uint8_t out[MC_SEV_CERT_LEN])
{
    memset(out, 0, MC_SEV_CERT_LEN);
    mc_put_le32(out + offsetof(struct sev_cert_wire, version), c->version);
    out[offsetof(struct sev_cert_wire, api_major)] = c->api_major;
    out[offsetof(struct sev_cert_wire, api_minor)] = c->api_minor;
    mc_put_le32(out + offsetof(struct sev_cert_wire, pubkey_usage), c->usage);
    mc_put_le32(out + offsetof(struct sev_cert_wire, pubkey_algo), c->algo);
    memcpy(out + offsetof(struct sev_cert_wire, pubkey), c->pubkey, MC_SEV_PUBKEY_LEN);
    mc_put_le32(out + offsetof(struct sev_cert_wire, sig1_usage), c->sig[0].usage);
    mc_put_le32(out + offsetof(struct sev_cert_wire, sig1_algo), c->sig[0].algo);
    memcpy(out + offsetof(struct sev_cert_wire, sig1), c->sig[0].data, MC_SEV_SIG_LEN);
    mc_put_le32(out + offsetof(struct sev_cert_wire, sig2_usage), c->sig[1].usage);
    mc_put_le32(out + offsetof(struct sev_cert_wire, sig2_algo), c->sig[1].algo);
    memcpy(out + offsetof(struct sev_cert_wire, sig2), c->sig[1].data, MC_SEV_SIG_LEN);
}

void mc_sev_cert_clear_sigs(struct mc_sev_cert *c)
{
    for (int i = 0; i < 2; i++) {
        c->sig[i].usage = MC_SEV_USAGE_INVALID;
        c->sig[i].algo = MC_SEV_ALGO_INVALID;
        memset(c->sig[i].data, 0, MC_SEV_SIG_LEN);
    }
}

bool mc_sev_cert_slot_used(const struct mc_sev_cert *c, int i)
{
    return c && i >= 0 && i < 2 && c->sig[i].usage != MC_SEV_USAGE_INVALID &&
           !(c->sig[i].usage == 0 && c->sig[i].algo == MC_SEV_ALGO_INVALID);
}

mc_status mc_sev_cert_get_pubkey(const struct mc_sev_cert *c, struct mc_pk **out, struct mc_error *err)
{
    if (!c || !out)
        return mc_seterr(err, MC_E_INVAL, "SEV certificate: NULL argument");
    return pubkey_from_area(c->algo, c->pubkey, out, err);
}

/* Verify the signature in slot s over c's signed bytes with key k. */
static mc_status verify_slot(const struct mc_sev_cert *c, const struct mc_sev_cert_sig *s, const struct mc_pk *k,
                             struct mc_error *err)
{
    uint8_t body[MC_SEV_CERT_LEN];
    mc_sev_cert_serialize(c, body);
    if (algo_is_ecdsa(s->algo)) {
        if (mc_pk_kind(k) != MC_PK_P384)
            return mc_seterr(err, MC_E_VERIFY, "signer key is not an ECDSA P-384 key");
        return mc_ecdsa_verify_le72(k, algo_hash(s->algo), body, MC_SEV_CERT_SIGNED_LEN, s->data, s->data + SIG_S,
                                    err);
    }
    if (algo_is_rsa(s->algo)) {
        if (mc_pk_kind(k) != MC_PK_RSA)
            return mc_seterr(err, MC_E_VERIFY, "signer key is not an RSA key");
        size_t nb = mc_pk_rsa_bits(k) / 8;
        if (nb > MC_SEV_SIG_LEN || !all_zero(s->data + nb, MC_SEV_SIG_LEN - nb))
            return mc_seterr(err, MC_E_VERIFY, "RSA signature is longer than the signer's modulus");
        uint8_t sig[MC_SEV_SIG_LEN];
        memcpy(sig, s->data, nb);
        mc_reverse(sig, nb);
        /* Salt length: accept any (sev-tool recovers it); see docs/sev-owner.md. */
        return mc_rsa_pss_verify(k, algo_hash(s->algo), MC_PSS_SALT_AUTO, body, MC_SEV_CERT_SIGNED_LEN, sig, nb, err);
    }
    return mc_seterr(err, MC_E_VERIFY, "signature algorithm 0x%x cannot be verified", s->algo);
}

/* Try both slots whose (usage, algo) match the signer; success if any verifies. */
static mc_status verify_by(const struct mc_sev_cert *c, uint32_t signer_usage, const uint32_t *algos, int nalgos,
                           const struct mc_pk *k, struct mc_error *err)
{
    mc_status last = MC_E_VERIFY;
    bool found = false, usage_only = false;
    uint32_t other_algo = 0;
    struct mc_error e2;
    mc_clearerr(&e2);
    for (int i = 0; i < 2; i++) {
        const struct mc_sev_cert_sig *s = &c->sig[i];
        bool algo_match = false;
        for (int a = 0; a < nalgos; a++)
            algo_match |= s->algo == algos[a];
        if (s->usage == signer_usage && !algo_match) {
            usage_only = true;
            other_algo = s->algo;
        }
        if (s->usage != signer_usage || !algo_match)
            continue;
        found = true;
        last = verify_slot(c, s, k, &e2);
        if (last == MC_OK)
            return MC_OK;
        if (last == MC_E_NOMEM)
            return mc_seterr(err, last, "%s", e2.msg);
    }
    if (!found && usage_only)
        return mc_seterr(err, MC_E_VERIFY, "the %s signature on the %s certificate uses %s, which this %s (%s) does not sign with",
                         mc_sev_usage_name(signer_usage), mc_sev_usage_name(c->usage), mc_sev_algo_name(other_algo),
                         mc_sev_usage_name(signer_usage), mc_sev_algo_name(algos[0]));
    if (!found)
        return mc_seterr(err, MC_E_VERIFY, "%s certificate has no signature slot by the %s key", mc_sev_usage_name(c->usage),
                         mc_sev_usage_name(signer_usage));
    return mc_seterr(err, last == MC_E_VERIFY ? MC_E_VERIFY : last, "%s signature on the %s certificate is invalid (%s)",
                     mc_sev_usage_name(signer_usage), mc_sev_usage_name(c->usage), e2.msg);
}

mc_status mc_sev_cert_verify(const struct mc_sev_cert *c, const struct mc_sev_cert *signer, struct mc_error *err)
{
    if (!c || !signer)
        return mc_seterr(err, MC_E_INVAL, "SEV certificate verify: NULL argument");
    bool allowed = (c->usage == MC_SEV_USAGE_PDH && signer->usage == MC_SEV_USAGE_PEK) ||
                   (c->usage == MC_SEV_USAGE_PEK &&
                    (signer->usage == MC_SEV_USAGE_OCA || signer->usage == MC_SEV_USAGE_CEK)) ||
                   (c->usage == MC_SEV_USAGE_OCA && signer->usage == MC_SEV_USAGE_OCA);
    if (!allowed)
        return mc_seterr(err, MC_E_VERIFY, "a %s key may not sign a %s certificate", mc_sev_usage_name(signer->usage),
                         mc_sev_usage_name(c->usage));
    if (c->usage == MC_SEV_USAGE_OCA && memcmp(c->pubkey, signer->pubkey, MC_SEV_PUBKEY_LEN) != 0)
        return mc_seterr(err, MC_E_VERIFY, "OCA certificate must be self-signed");
    if (!algo_is_ecdsa(signer->algo) && !algo_is_rsa(signer->algo))
        return mc_seterr(err, MC_E_VERIFY, "signer algorithm %s cannot sign", mc_sev_algo_name(signer->algo));
    struct mc_pk *k = NULL;
    mc_status rc = mc_sev_cert_get_pubkey(signer, &k, err);
    if (rc != MC_OK)
        return rc;
    rc = verify_by(c, signer->usage, &signer->algo, 1, k, err);
    mc_pk_free(k);
    return rc;
}

mc_status mc_sev_cert_verify_by_ask(const struct mc_sev_cert *cek, const struct mc_amd_cert *ask, struct mc_error *err)
{
    if (!cek || !ask)
        return mc_seterr(err, MC_E_INVAL, "CEK verify: NULL argument");
    if (cek->usage != MC_SEV_USAGE_CEK)
        return mc_seterr(err, MC_E_VERIFY, "an ASK may only sign a CEK, not a %s", mc_sev_usage_name(cek->usage));
    if (ask->key_usage != MC_SEV_USAGE_ASK)
        return mc_seterr(err, MC_E_VERIFY, "the CEK signer is not an ASK (usage 0x%x)", ask->key_usage);
    struct mc_pk *k = NULL;
    mc_status rc = mc_amd_cert_get_pubkey(ask, &k, err);
    if (rc != MC_OK)
        return rc;
    /* A 2048-bit (Naples) ASK signs with RSA-SHA256, a 4096-bit one with RSA-SHA384. */
    uint32_t algo = ask->modulus_bits == 2048 ? MC_SEV_ALGO_RSA_SHA256 : MC_SEV_ALGO_RSA_SHA384;
    rc = verify_by(cek, MC_SEV_USAGE_ASK, &algo, 1, k, err);
    mc_pk_free(k);
    return rc;
}

mc_status mc_sev_cert_init(struct mc_sev_cert *c, uint32_t usage, uint32_t algo, uint8_t api_major,
                           uint8_t api_minor, const struct mc_pk *k, struct mc_error *err)
{
    if (!c || !k)
        return mc_seterr(err, MC_E_INVAL, "SEV certificate init: NULL argument");
    if (!usage_algo_ok(usage, algo))
        return mc_seterr(err, MC_E_INVAL, "algorithm %s is not allowed for a %s key", mc_sev_algo_name(algo),
                         mc_sev_usage_name(usage));
    struct mc_sev_cert n;
    memset(&n, 0, sizeof n);
    n.version = 1;
    n.api_major = api_major;
    n.api_minor = api_minor;
    n.usage = usage;
    n.algo = algo;
    if (algo_is_ecdsa(algo) || algo_is_ecdh(algo)) {
        mc_put_le32(n.pubkey, MC_SEV_CURVE_P384);
        mc_status rc = mc_p384_get_public_le72(k, n.pubkey + ECC_QX, n.pubkey + ECC_QY, err);
        if (rc != MC_OK)
            return rc;
    } else {
        uint8_t nn[512], e[512];
        size_t nl, el;
        mc_status rc = mc_rsa_get_public(k, nn, sizeof nn, &nl, e, sizeof e, &el, err);
        if (rc != MC_OK)
            return rc;
        mc_reverse(nn, nl);
        mc_reverse(e, el);
        mc_put_le32(n.pubkey, (uint32_t)(nl * 8));
        memcpy(n.pubkey + RSA_EXP, e, el);
        memcpy(n.pubkey + RSA_MOD, nn, nl);
    }
    mc_sev_cert_clear_sigs(&n);
    *c = n;
    return MC_OK;
}

mc_status mc_sev_cert_sign(struct mc_sev_cert *c, int slot, const struct mc_pk *signer_key, uint32_t signer_usage,
                           uint32_t signer_algo, struct mc_error *err)
{
    if (!c || !signer_key || slot < 0 || slot > 1)
        return mc_seterr(err, MC_E_INVAL, "SEV certificate sign: bad argument");
    uint8_t body[MC_SEV_CERT_LEN];
    mc_sev_cert_serialize(c, body);
    struct mc_sev_cert_sig s;
    memset(&s, 0, sizeof s);
    s.usage = signer_usage;
    s.algo = signer_algo;
    mc_status rc;
    if (algo_is_ecdsa(signer_algo)) {
        rc = mc_ecdsa_sign_le72(signer_key, algo_hash(signer_algo), body, MC_SEV_CERT_SIGNED_LEN, s.data,
                                s.data + SIG_S, err);
        if (rc != MC_OK)
            return rc;
    } else if (algo_is_rsa(signer_algo)) {
        uint8_t sig[512];
        size_t sl;
        rc = mc_rsa_pss_sign(signer_key, algo_hash(signer_algo), MC_PSS_SALT_DIGEST, body, MC_SEV_CERT_SIGNED_LEN, sig,
                             sizeof sig, &sl, err);
        if (rc != MC_OK)
            return rc;
        mc_reverse(sig, sl);
        memcpy(s.data, sig, sl);
    } else {
        return mc_seterr(err, MC_E_INVAL, "algorithm %s cannot sign", mc_sev_algo_name(signer_algo));
    }
    c->sig[slot] = s;
    return MC_OK;
}
