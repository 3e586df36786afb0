/* memcrypt — AMD signing-key certificates (ARK / ASK, RSA-PSS), SEV API appendix.
 * Layout: shared/spec/sev-api.md §8.2. */
#include <stddef.h>
#include <string.h>

#include <memcrypt/bytes.h>
#include <memcrypt/sev_cert.h>

#include "crypto/crypto.h"
#include "sev/cert_key.h"

struct amd_cert_hdr_wire {
    uint8_t version[4];
    uint8_t key_id[16];
    uint8_t certifying_id[16];
    uint8_t key_usage[4];
    uint8_t reserved[16];
    uint8_t pubexp_size[4];
    uint8_t modulus_size[4];
};
_Static_assert(sizeof(struct amd_cert_hdr_wire) == MC_AMD_CERT_HDR_LEN, "AMD cert header size");
_Static_assert(offsetof(struct amd_cert_hdr_wire, key_id) == 0x04, "key_id");
_Static_assert(offsetof(struct amd_cert_hdr_wire, certifying_id) == 0x14, "certifying_id");
_Static_assert(offsetof(struct amd_cert_hdr_wire, key_usage) == 0x24, "key_usage");
_Static_assert(offsetof(struct amd_cert_hdr_wire, reserved) == 0x28, "reserved");
_Static_assert(offsetof(struct amd_cert_hdr_wire, pubexp_size) == 0x38, "pubexp_size");
_Static_assert(offsetof(struct amd_cert_hdr_wire, modulus_size) == 0x3C, "modulus_size");

#define H(f) offsetof(struct amd_cert_hdr_wire, f)

static bool size_ok(uint32_t bits) { return bits == 2048 || bits == 4096; }

static bool all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

/* sig_len 0: the signature is whatever follows the modulus. allow_unsigned: nothing may follow
 * it (AMD distributes the Naples ARK as a 576-byte body without signature; sev-tool and the Rust
 * `sev` crate read it). */
static mc_status parse_sized(const uint8_t *buf, size_t len, size_t sig_len, bool allow_unsigned,
                             struct mc_amd_cert *out, struct mc_error *err)
{
    if (len < MC_AMD_CERT_HDR_LEN)
        return mc_seterr(err, MC_E_FORMAT, "AMD certificate is truncated (%zu bytes, header needs 64)", len);
    struct mc_amd_cert c;
    memset(&c, 0, sizeof c);
    c.version = mc_le32(buf + H(version));
    memcpy(c.key_id, buf + H(key_id), 16);
    memcpy(c.certifying_id, buf + H(certifying_id), 16);
    c.key_usage = mc_le32(buf + H(key_usage));
    c.pubexp_bits = mc_le32(buf + H(pubexp_size));
    c.modulus_bits = mc_le32(buf + H(modulus_size));
    if (c.version != 1)
        return mc_seterr(err, MC_E_FORMAT, "AMD certificate version %u is not 1", c.version);
    if (c.key_usage != MC_SEV_USAGE_ARK && c.key_usage != MC_SEV_USAGE_ASK)
        return mc_seterr(err, MC_E_FORMAT, "AMD certificate key usage 0x%x is neither ARK (0x0) nor ASK (0x13)",
                         c.key_usage);
    if (!all_zero(buf + H(reserved), 16))
        return mc_seterr(err, MC_E_FORMAT, "AMD certificate reserved bytes 0x28-0x37 are not zero");
    if (!size_ok(c.pubexp_bits) || !size_ok(c.modulus_bits))
        return mc_seterr(err, MC_E_FORMAT, "AMD certificate key sizes (exponent %u, modulus %u bits) must be 2048 or 4096",
                         c.pubexp_bits, c.modulus_bits);
    size_t eb = c.pubexp_bits / 8, nb = c.modulus_bits / 8;
    if (sig_len == 0) {
        if (len < MC_AMD_CERT_HDR_LEN + eb + nb)
            return mc_seterr(err, MC_E_FORMAT, "AMD certificate is truncated (%zu bytes)", len);
        sig_len = len - MC_AMD_CERT_HDR_LEN - eb - nb;
    }
    if (sig_len != 256 && sig_len != 512 && !(sig_len == 0 && allow_unsigned))
        return mc_seterr(err, MC_E_FORMAT, "AMD certificate signature of %zu bytes is neither 256 nor 512", sig_len);
    if (len != MC_AMD_CERT_HDR_LEN + eb + nb + sig_len)
        return mc_seterr(err, MC_E_FORMAT, "AMD certificate is %zu bytes, its sizes say %zu", len,
                         (size_t)MC_AMD_CERT_HDR_LEN + eb + nb + sig_len);
    memcpy(c.pubexp, buf + MC_AMD_CERT_HDR_LEN, eb);
    memcpy(c.modulus, buf + MC_AMD_CERT_HDR_LEN + eb, nb);
    memcpy(c.sig, buf + MC_AMD_CERT_HDR_LEN + eb + nb, sig_len);
    c.sig_len = (uint32_t)sig_len;
    struct mc_pk *k = NULL;
    mc_status rc = mc_amd_cert_get_pubkey(&c, &k, err);
    mc_pk_free(k);
    if (rc == MC_E_NOMEM)
        return rc;
    if (rc != MC_OK)
        return mc_seterr(err, MC_E_FORMAT, "AMD certificate public key is invalid");
    *out = c;
    return MC_OK;
}

mc_status mc_amd_cert_parse(const uint8_t *buf, size_t len, struct mc_amd_cert *out, struct mc_error *err)
{
    if (!buf || !out)
        return mc_seterr(err, MC_E_INVAL, "AMD certificate: NULL argument");
    return parse_sized(buf, len, 0, true, out, err);
}

mc_status mc_amd_chain_parse(const uint8_t *buf, size_t len, struct mc_amd_cert *ask, struct mc_amd_cert *ark,
                             struct mc_error *err)
{
    if (!buf || !ask || !ark)
        return mc_seterr(err, MC_E_INVAL, "AMD chain: NULL argument");
    if (len < MC_AMD_CERT_HDR_LEN)
        return mc_seterr(err, MC_E_FORMAT, "AMD chain is truncated");
    uint32_t eb = mc_le32(buf + H(pubexp_size)), nb = mc_le32(buf + H(modulus_size));
    if (!size_ok(eb) || !size_ok(nb))
        return mc_seterr(err, MC_E_FORMAT, "ASK key sizes must be 2048 or 4096 bits");
    size_t ask_len = MC_AMD_CERT_HDR_LEN + eb / 8 + 2 * (size_t)(nb / 8);
    if (len <= ask_len)
        return mc_seterr(err, MC_E_FORMAT, "AMD chain is too short for ASK || ARK");
    struct mc_amd_cert a, r;
    mc_status rc = parse_sized(buf, ask_len, nb / 8, false, &a, err);
    if (rc == MC_OK)
        rc = parse_sized(buf + ask_len, len - ask_len, 0, false, &r, err);
    if (rc != MC_OK)
        return rc;
    if (a.key_usage != MC_SEV_USAGE_ASK || r.key_usage != MC_SEV_USAGE_ARK)
        return mc_seterr(err, MC_E_FORMAT, "AMD chain must be ASK followed by ARK");
    *ask = a;
    *ark = r;
    return MC_OK;
}

size_t mc_amd_cert_size(const struct mc_amd_cert *c)
{
    return MC_AMD_CERT_HDR_LEN + c->pubexp_bits / 8 + c->modulus_bits / 8 + c->sig_len;
}

mc_status mc_amd_cert_serialize(const struct mc_amd_cert *c, uint8_t *out, size_t cap, size_t *outlen,
                                struct mc_error *err)
{
    if (!c || !out || !size_ok(c->pubexp_bits) || !size_ok(c->modulus_bits) || c->sig_len > 512)
        return mc_seterr(err, MC_E_INVAL, "AMD certificate serialize: bad argument");
    size_t n = mc_amd_cert_size(c);
    if (cap < n)
        return mc_seterr(err, MC_E_RANGE, "AMD certificate needs %zu bytes", n);
    memset(out, 0, n);
    mc_put_le32(out + H(version), c->version);
    memcpy(out + H(key_id), c->key_id, 16);
    memcpy(out + H(certifying_id), c->certifying_id, 16);
    mc_put_le32(out + H(key_usage), c->key_usage);
    mc_put_le32(out + H(pubexp_size), c->pubexp_bits);
    mc_put_le32(out + H(modulus_size), c->modulus_bits);
    size_t eb = c->pubexp_bits / 8, nb = c->modulus_bits / 8;
    memcpy(out + MC_AMD_CERT_HDR_LEN, c->pubexp, eb);
    memcpy(out + MC_AMD_CERT_HDR_LEN + eb, c->modulus, nb);
    memcpy(out + MC_AMD_CERT_HDR_LEN + eb + nb, c->sig, c->sig_len);
    if (outlen)
        *outlen = n;
    return MC_OK;
}

mc_status mc_amd_cert_get_pubkey(const struct mc_amd_cert *c, struct mc_pk **out, struct mc_error *err)
{
    if (!c || !out || !size_ok(c->pubexp_bits) || !size_ok(c->modulus_bits))
        return mc_seterr(err, MC_E_INVAL, "AMD certificate: bad key sizes");
    size_t eb = c->pubexp_bits / 8, nb = c->modulus_bits / 8;
    uint8_t e[512], n[512];
    memcpy(e, c->pubexp, eb);
    memcpy(n, c->modulus, nb);
    mc_reverse(e, eb);
    mc_reverse(n, nb);
    if (!(n[0] & 0x80))
        return mc_seterr(err, MC_E_FORMAT, "RSA modulus is shorter than its declared %u bits", c->modulus_bits);
    return mc_rsa_from_public(n, nb, e, eb, out, err);
}

static mc_status signed_bytes(const struct mc_amd_cert *c, uint8_t *buf, size_t *n, struct mc_error *err)
{
    struct mc_amd_cert t = *c;
    t.sig_len = 0;
    return mc_amd_cert_serialize(&t, buf, MC_AMD_CERT_MAX_LEN, n, err);
}

mc_status mc_amd_cert_verify(const struct mc_amd_cert *c, const struct mc_amd_cert *signer, struct mc_error *err)
{
    if (!c || !signer)
        return mc_seterr(err, MC_E_INVAL, "AMD certificate verify: NULL argument");
    if (signer->key_usage != MC_SEV_USAGE_ARK)
        return mc_seterr(err, MC_E_VERIFY, "only an ARK signs AMD certificates (signer usage 0x%x)", signer->key_usage);
    if (memcmp(c->certifying_id, signer->key_id, 16) != 0)
        return mc_seterr(err, MC_E_VERIFY, "%s CERTIFYING_ID does not match the ARK's KEY_ID",
                         c->key_usage == MC_SEV_USAGE_ARK ? "ARK" : "ASK");
    if (c->key_usage == MC_SEV_USAGE_ARK &&
        (memcmp(c->key_id, signer->key_id, 16) != 0 || memcmp(c->modulus, signer->modulus, 512) != 0))
        return mc_seterr(err, MC_E_VERIFY, "an ARK must be self-signed");
    if (c->sig_len == 0)
        return mc_seterr(err, MC_E_VERIFY, "the %s carries no signature (an unsigned copy of its body)",
                         c->key_usage == MC_SEV_USAGE_ARK ? "ARK" : "ASK");
    if (c->sig_len != signer->modulus_bits / 8)
        return mc_seterr(err, MC_E_VERIFY, "signature size %u does not match the %u-bit ARK", c->sig_len,
                         signer->modulus_bits);
    struct mc_pk *k = NULL;
    mc_status rc = mc_amd_cert_get_pubkey(signer, &k, err);
    if (rc != MC_OK)
        return rc;
    uint8_t body[MC_AMD_CERT_MAX_LEN], sig[512];
    size_t n = 0;
    rc = signed_bytes(c, body, &n, err);
    if (rc == MC_OK) {
        memcpy(sig, c->sig, c->sig_len);
        mc_reverse(sig, c->sig_len);
        /* Hash follows the key size (SHA-256 for AMD's 2048-bit Naples keys, SHA-384 otherwise).
         * Salt length: AMD's real certs use salt = digest length (checked on all five
         * generations in tests); verification accepts any salt, as sev-tool does. */
        const char *hash = signer->modulus_bits == 2048 ? "SHA256" : "SHA384";
        rc = mc_rsa_pss_verify(k, hash, MC_PSS_SALT_AUTO, body, n, sig, c->sig_len, err);
    }
    mc_pk_free(k);
    return rc;
}

bool mc_amd_cert_is_emulated(const struct mc_amd_cert *c)
{
    return c && memcmp(c->key_id, MC_AMD_EMULATED_TAG, strlen(MC_AMD_EMULATED_TAG)) == 0;
}

mc_status mc_amd_cert_init(struct mc_amd_cert *c, const uint8_t key_id[16], const uint8_t certifying_id[16],
                           uint32_t key_usage, const struct mc_pk *k, struct mc_error *err)
{
    if (!c || !key_id || !certifying_id || !k)
        return mc_seterr(err, MC_E_INVAL, "AMD certificate init: NULL argument");
    uint8_t n[512], e[512];
    size_t nl = 0, el = 0;
    mc_status rc = mc_rsa_get_public(k, n, sizeof n, &nl, e, sizeof e, &el, err);
    if (rc != MC_OK)
        return rc;
    if (nl != 256 && nl != 512)
        return mc_seterr(err, MC_E_INVAL, "AMD certificates hold 2048- or 4096-bit keys");
    struct mc_amd_cert t;
    memset(&t, 0, sizeof t);
    t.version = 1;
    memcpy(t.key_id, key_id, 16);
    memcpy(t.certifying_id, certifying_id, 16);
    t.key_usage = key_usage;
    t.modulus_bits = t.pubexp_bits = (uint32_t)(nl * 8);
    mc_reverse(n, nl);
    mc_reverse(e, el);
    memcpy(t.modulus, n, nl);
    memcpy(t.pubexp, e, el);
    *c = t;
    return MC_OK;
}

mc_status mc_amd_cert_sign(struct mc_amd_cert *c, const struct mc_pk *signer_key, struct mc_error *err)
{
    if (!c || !signer_key)
        return mc_seterr(err, MC_E_INVAL, "AMD certificate sign: NULL argument");
    uint8_t body[MC_AMD_CERT_MAX_LEN], sig[512];
    size_t n = 0, sl = 0;
    mc_status rc = signed_bytes(c, body, &n, err);
    if (rc != MC_OK)
        return rc;
    const char *hash = mc_pk_rsa_bits(signer_key) == 2048 ? "SHA256" : "SHA384";
    rc = mc_rsa_pss_sign(signer_key, hash, MC_PSS_SALT_DIGEST, body, n, sig, sizeof sig, &sl, err);
    if (rc != MC_OK)
        return rc;
    mc_reverse(sig, sl);
    memset(c->sig, 0, sizeof c->sig);
    memcpy(c->sig, sig, sl);
    c->sig_len = (uint32_t)sl;
    return MC_OK;
}
