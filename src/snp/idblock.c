/* SEV-SNP ID block and ID authentication information (see include/memcrypt/idblock.h). */
#include <memcrypt/bytes.h>
#include <memcrypt/idblock.h>

#include <stddef.h>
#include <string.h>

#include "crypto/crypto.h"
#include "crypto/pk.h"

/* Spec layouts, pinned; bytes are written and read with the LE helpers. */
struct id_block_layout {
    uint8_t ld[48];
    uint8_t family_id[16];
    uint8_t image_id[16];
    uint32_t version;
    uint32_t guest_svn;
    uint64_t policy;
};
_Static_assert(sizeof(struct id_block_layout) == MC_ID_BLOCK_LEN, "ID block is 0x60 bytes");
_Static_assert(offsetof(struct id_block_layout, family_id) == 0x30 && offsetof(struct id_block_layout, image_id) == 0x40,
               "ID block IDs");
_Static_assert(offsetof(struct id_block_layout, version) == 0x50 && offsetof(struct id_block_layout, guest_svn) == 0x54 &&
                   offsetof(struct id_block_layout, policy) == 0x58,
               "ID block version/svn/policy");

struct ecdsa_pubkey_layout {
    uint32_t curve;
    uint8_t qx[72];
    uint8_t qy[72];
    uint8_t reserved[0x370];
};
_Static_assert(sizeof(struct ecdsa_pubkey_layout) == MC_SNP_ECDSA_PUBKEY_LEN, "public key is 0x404 bytes");
_Static_assert(offsetof(struct ecdsa_pubkey_layout, qx) == 0x04 && offsetof(struct ecdsa_pubkey_layout, qy) == 0x4c &&
                   offsetof(struct ecdsa_pubkey_layout, reserved) == 0x94,
               "public key fields");

struct ecdsa_sig_layout {
    uint8_t r[72];
    uint8_t s[72];
    uint8_t reserved[0x200 - 0x90];
};
_Static_assert(sizeof(struct ecdsa_sig_layout) == MC_SNP_ECDSA_SIG_LEN, "signature is 0x200 bytes");
_Static_assert(offsetof(struct ecdsa_sig_layout, s) == 0x48, "S at 0x48");

struct id_auth_layout {
    uint32_t id_key_algo;
    uint32_t auth_key_algo;
    uint8_t reserved1[56];
    uint8_t id_block_sig[MC_SNP_ECDSA_SIG_LEN];
    uint8_t id_key[MC_SNP_ECDSA_PUBKEY_LEN];
    uint8_t reserved2[60];
    uint8_t id_key_sig[MC_SNP_ECDSA_SIG_LEN];
    uint8_t author_key[MC_SNP_ECDSA_PUBKEY_LEN];
    uint8_t reserved3[0x37c];
};
_Static_assert(sizeof(struct id_auth_layout) == MC_ID_AUTH_LEN, "ID auth is 0x1000 bytes");
_Static_assert(offsetof(struct id_auth_layout, id_block_sig) == 0x40 && offsetof(struct id_auth_layout, id_key) == 0x240 &&
                   offsetof(struct id_auth_layout, reserved2) == 0x644,
               "ID auth: ID key fields");
_Static_assert(offsetof(struct id_auth_layout, id_key_sig) == 0x680 &&
                   offsetof(struct id_auth_layout, author_key) == 0x880 &&
                   offsetof(struct id_auth_layout, reserved3) == 0xc84,
               "ID auth: author key fields");

#define A(f) offsetof(struct id_auth_layout, f)
#define PK(f) offsetof(struct ecdsa_pubkey_layout, f)
#define SG(f) offsetof(struct ecdsa_sig_layout, f)

void mc_id_block_encode(const struct mc_id_block *b, uint8_t out[MC_ID_BLOCK_LEN])
{
    memset(out, 0, MC_ID_BLOCK_LEN);
    memcpy(out + offsetof(struct id_block_layout, ld), b->ld, 48);
    memcpy(out + offsetof(struct id_block_layout, family_id), b->family_id, 16);
    memcpy(out + offsetof(struct id_block_layout, image_id), b->image_id, 16);
    mc_put_le32(out + offsetof(struct id_block_layout, version), b->version);
    mc_put_le32(out + offsetof(struct id_block_layout, guest_svn), b->guest_svn);
    mc_put_le64(out + offsetof(struct id_block_layout, policy), b->policy);
}

void mc_id_block_decode(const uint8_t in[MC_ID_BLOCK_LEN], struct mc_id_block *b)
{
    memcpy(b->ld, in + offsetof(struct id_block_layout, ld), 48);
    memcpy(b->family_id, in + offsetof(struct id_block_layout, family_id), 16);
    memcpy(b->image_id, in + offsetof(struct id_block_layout, image_id), 16);
    b->version = mc_le32(in + offsetof(struct id_block_layout, version));
    b->guest_svn = mc_le32(in + offsetof(struct id_block_layout, guest_svn));
    b->policy = mc_le64(in + offsetof(struct id_block_layout, policy));
}

static mc_status put_pubkey(const struct mc_pk *k, uint8_t out[MC_SNP_ECDSA_PUBKEY_LEN], struct mc_error *err)
{
    memset(out, 0, MC_SNP_ECDSA_PUBKEY_LEN);
    mc_put_le32(out + PK(curve), MC_SNP_CURVE_P384);
    return mc_p384_get_public_le72(k, out + PK(qx), out + PK(qy), err);
}

static mc_status sign(const struct mc_pk *k, const uint8_t *msg, size_t len, uint8_t out[MC_SNP_ECDSA_SIG_LEN],
                      struct mc_error *err)
{
    memset(out, 0, MC_SNP_ECDSA_SIG_LEN);
    return mc_ecdsa_sign_le72(k, "SHA384", msg, len, out + SG(r), out + SG(s), err);
}

mc_status mc_id_auth_sign(const uint8_t block[MC_ID_BLOCK_LEN], const uint8_t *id_pem, size_t id_pem_len,
                          const uint8_t *author_pem, size_t author_pem_len, uint8_t auth[MC_ID_AUTH_LEN],
                          struct mc_error *err)
{
    struct mc_pk *idk = NULL, *auk = NULL;
    uint8_t a[MC_ID_AUTH_LEN];
    memset(a, 0, sizeof a);
    struct mc_error e;
    mc_status st = mc_p384_load_pem(id_pem, id_pem_len, true, &idk, &e);
    if (st != MC_OK)
        return mc_seterr(err, st, "ID key: %s", e.msg);
    if (author_pem) {
        st = mc_p384_load_pem(author_pem, author_pem_len, true, &auk, &e);
        if (st != MC_OK) {
            mc_pk_free(idk);
            return mc_seterr(err, st, "author key: %s", e.msg);
        }
    }
    mc_put_le32(a + A(id_key_algo), MC_SNP_ALGO_ECDSA_P384_SHA384);
    st = put_pubkey(idk, a + A(id_key), err);
    if (st == MC_OK)
        st = sign(idk, block, MC_ID_BLOCK_LEN, a + A(id_block_sig), err);
    if (st == MC_OK && auk) {
        mc_put_le32(a + A(auth_key_algo), MC_SNP_ALGO_ECDSA_P384_SHA384);
        st = put_pubkey(auk, a + A(author_key), err);
        if (st == MC_OK)
            st = sign(auk, a + A(id_key), MC_SNP_ECDSA_PUBKEY_LEN, a + A(id_key_sig), err);
    }
    mc_pk_free(idk);
    mc_pk_free(auk);
    if (st == MC_OK)
        memcpy(auth, a, sizeof a);
    return st;
}

static mc_status key_from_struct(const uint8_t *pk, const char *which, struct mc_pk **out, struct mc_error *err)
{
    uint32_t curve = mc_le32(pk + PK(curve));
    if (curve != MC_SNP_CURVE_P384)
        return mc_seterr(err, MC_E_VERIFY, "the %s has curve %u, not P-384 (2)", which, curve);
    struct mc_error e;
    mc_status st = mc_p384_from_public_le72(pk + PK(qx), pk + PK(qy), out, &e);
    if (st != MC_OK) /* any unusable key makes the ID auth fail verification */
        return mc_seterr(err, MC_E_VERIFY, "the %s: %s", which, e.msg);
    return MC_OK;
}

uint32_t mc_id_auth_author_algo(const uint8_t auth[MC_ID_AUTH_LEN])
{
    return mc_le32(auth + A(auth_key_algo));
}

mc_status mc_id_auth_verify(const uint8_t block[MC_ID_BLOCK_LEN], const uint8_t auth[MC_ID_AUTH_LEN],
                            bool author_key_en, struct mc_id_auth_result *res, struct mc_error *err)
{
    struct mc_id_auth_result r;
    memset(&r, 0, sizeof r);
    uint32_t id_algo = mc_le32(auth + A(id_key_algo)), au_algo = mc_le32(auth + A(auth_key_algo));
    if (id_algo != MC_SNP_ALGO_ECDSA_P384_SHA384)
        return mc_seterr(err, MC_E_VERIFY, "ID_KEY_ALGO is %u; only 1 (ECDSA P-384 with SHA-384) is defined", id_algo);
    if (author_key_en && au_algo != MC_SNP_ALGO_ECDSA_P384_SHA384)
        return mc_seterr(err, MC_E_VERIFY, "AUTH_KEY_ALGO is %u; only 1 (ECDSA P-384 with SHA-384) is defined",
                         au_algo);
    struct mc_pk *k = NULL;
    struct mc_error e;
    mc_status st = key_from_struct(auth + A(id_key), "ID key", &k, err);
    if (st != MC_OK)
        return st;
    st = mc_ecdsa_verify_le72(k, "SHA384", block, MC_ID_BLOCK_LEN, auth + A(id_block_sig) + SG(r), auth + A(id_block_sig) + SG(s),
                           &e);
    mc_pk_free(k);
    k = NULL;
    if (st != MC_OK)
        return mc_seterr(err, st, "the ID block signature (by the ID key) does not verify: %s", e.msg);
    st = mc_sha384(auth + A(id_key), MC_SNP_ECDSA_PUBKEY_LEN, r.id_key_digest, err);
    if (st != MC_OK)
        return st;
    if (author_key_en) {
        st = key_from_struct(auth + A(author_key), "author key", &k, err);
        if (st != MC_OK)
            return st;
        st = mc_ecdsa_verify_le72(k, "SHA384", auth + A(id_key), MC_SNP_ECDSA_PUBKEY_LEN, auth + A(id_key_sig) + SG(r),
                               auth + A(id_key_sig) + SG(s), &e);
        mc_pk_free(k);
        if (st != MC_OK)
            return mc_seterr(err, st, "the ID key signature (by the author key) does not verify: %s", e.msg);
        st = mc_sha384(auth + A(author_key), MC_SNP_ECDSA_PUBKEY_LEN, r.author_key_digest, err);
        if (st != MC_OK)
            return st;
        r.author_key = true;
    }
    if (res)
        *res = r;
    return MC_OK;
}

mc_status mc_snp_key_digest_pem(const uint8_t *pem, size_t len, uint8_t digest[48], struct mc_error *err)
{
    struct mc_pk *k;
    mc_status st = mc_p384_load_pem(pem, len, false, &k, err);
    if (st != MC_OK)
        return st;
    uint8_t pk[MC_SNP_ECDSA_PUBKEY_LEN];
    st = put_pubkey(k, pk, err);
    mc_pk_free(k);
    return st != MC_OK ? st : mc_sha384(pk, sizeof pk, digest, err);
}
