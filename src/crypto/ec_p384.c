/* ECDSA P-384 / SHA-384 in SNP little-endian formats over OpenSSL (see ec_p384.h). */
#include "crypto/ec_p384.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "crypto/crypto.h"

struct mc_p384_key {
    EVP_PKEY *pkey;
};

static mc_status ossl(struct mc_error *err, mc_status code, const char *what)
{
    char buf[200];
    return mc_seterr(err, code, "%s: %s", what, mc_openssl_errstr(buf, sizeof buf));
}

static bool is_p384(EVP_PKEY *p)
{
    char name[64];
    size_t n = 0;
    if (EVP_PKEY_get_base_id(p) != EVP_PKEY_EC)
        return false;
    if (!EVP_PKEY_get_utf8_string_param(p, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name, &n))
        return false;
    return !strcmp(name, "secp384r1") || !strcmp(name, "P-384");
}

mc_status mc_p384_load_pem(const uint8_t *pem, size_t len, bool need_private, struct mc_p384_key **out,
                           struct mc_error *err)
{
    if (!pem || len > (1u << 20))
        return mc_seterr(err, MC_E_INVAL, "no PEM key given, or it is too large");
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    if (!b)
        return ossl(err, MC_E_NOMEM, "BIO_new_mem_buf");
    EVP_PKEY *p = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    if (!p && !need_private) {
        BIO_free(b);
        b = BIO_new_mem_buf(pem, (int)len);
        p = b ? PEM_read_bio_PUBKEY(b, NULL, NULL, NULL) : NULL;
    }
    BIO_free(b);
    if (!p)
        return mc_seterr(err, MC_E_FORMAT, "not a PEM %s key (unencrypted PKCS#8 or SEC1 expected)",
                         need_private ? "private" : "EC");
    if (!is_p384(p)) {
        EVP_PKEY_free(p);
        return mc_seterr(err, MC_E_FORMAT, "the key is not an ECDSA P-384 (secp384r1) key");
    }
    struct mc_p384_key *k = malloc(sizeof *k);
    if (!k) {
        EVP_PKEY_free(p);
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    }
    k->pkey = p;
    *out = k;
    return MC_OK;
}

static void reverse(uint8_t *dst, const uint8_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = src[n - 1 - i];
}

mc_status mc_p384_pub_le(const struct mc_p384_key *k, uint8_t qx[MC_P384_LE_LEN], uint8_t qy[MC_P384_LE_LEN],
                         struct mc_error *err)
{
    BIGNUM *x = NULL, *y = NULL;
    mc_status st = MC_OK;
    if (!EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) ||
        !EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y) ||
        BN_bn2lebinpad(x, qx, MC_P384_LE_LEN) != MC_P384_LE_LEN ||
        BN_bn2lebinpad(y, qy, MC_P384_LE_LEN) != MC_P384_LE_LEN)
        st = ossl(err, MC_E_CRYPTO, "reading the public point");
    BN_free(x);
    BN_free(y);
    return st;
}

static bool high_zero(const uint8_t v[MC_P384_LE_LEN])
{
    for (size_t i = 48; i < MC_P384_LE_LEN; i++)
        if (v[i])
            return false;
    return true;
}

mc_status mc_p384_from_le(const uint8_t qx[MC_P384_LE_LEN], const uint8_t qy[MC_P384_LE_LEN],
                          struct mc_p384_key **out, struct mc_error *err)
{
    if (!high_zero(qx) || !high_zero(qy))
        return mc_seterr(err, MC_E_VERIFY, "the P-384 public key has non-zero bytes above bit 383");
    uint8_t pt[97];
    pt[0] = 0x04; /* uncompressed point: 04 ‖ X ‖ Y, big-endian */
    reverse(pt + 1, qx, 48);
    reverse(pt + 49, qy, 48);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL, *chk = NULL;
    EVP_PKEY *p = NULL;
    mc_status st = MC_OK;
    if (!bld || !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "P-384", 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof pt) ||
        !(params = OSSL_PARAM_BLD_to_param(bld)) || !(ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) ||
        EVP_PKEY_fromdata_init(ctx) <= 0) {
        st = ossl(err, MC_E_CRYPTO, "building a P-384 key");
    } else if (EVP_PKEY_fromdata(ctx, &p, EVP_PKEY_PUBLIC_KEY, params) <= 0 ||
               !(chk = EVP_PKEY_CTX_new_from_pkey(NULL, p, NULL)) || EVP_PKEY_public_check(chk) <= 0) {
        st = mc_seterr(err, MC_E_VERIFY, "the P-384 public key is not a valid point on the curve");
    }
    EVP_PKEY_CTX_free(chk);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    if (st == MC_OK) {
        struct mc_p384_key *k = malloc(sizeof *k);
        if (!k)
            st = mc_seterr(err, MC_E_NOMEM, "out of memory");
        else {
            k->pkey = p;
            *out = k;
            return MC_OK;
        }
    }
    EVP_PKEY_free(p);
    return st;
}

mc_status mc_p384_sign_le(const struct mc_p384_key *k, const uint8_t *msg, size_t len, uint8_t r[MC_P384_LE_LEN],
                          uint8_t s[MC_P384_LE_LEN], struct mc_error *err)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    uint8_t der[128];
    size_t dlen = sizeof der;
    mc_status st = MC_OK;
    if (!c || EVP_DigestSignInit_ex(c, NULL, "SHA384", NULL, NULL, k->pkey, NULL) <= 0 ||
        EVP_DigestSign(c, der, &dlen, msg, len) <= 0) {
        st = ossl(err, MC_E_CRYPTO, "ECDSA signing");
    } else {
        const uint8_t *pp = der;
        ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &pp, (long)dlen);
        if (!sig || BN_bn2lebinpad(ECDSA_SIG_get0_r(sig), r, MC_P384_LE_LEN) != MC_P384_LE_LEN ||
            BN_bn2lebinpad(ECDSA_SIG_get0_s(sig), s, MC_P384_LE_LEN) != MC_P384_LE_LEN)
            st = ossl(err, MC_E_CRYPTO, "decoding the ECDSA signature");
        ECDSA_SIG_free(sig);
    }
    EVP_MD_CTX_free(c);
    return st;
}

mc_status mc_p384_verify_le(const struct mc_p384_key *k, const uint8_t *msg, size_t len,
                            const uint8_t r[MC_P384_LE_LEN], const uint8_t s[MC_P384_LE_LEN], struct mc_error *err)
{
    if (!high_zero(r) || !high_zero(s))
        return mc_seterr(err, MC_E_VERIFY, "the signature has non-zero bytes above bit 383");
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *br = BN_lebin2bn(r, MC_P384_LE_LEN, NULL), *bs = BN_lebin2bn(s, MC_P384_LE_LEN, NULL);
    uint8_t *der = NULL;
    int dlen = 0;
    mc_status st = MC_OK;
    if (!sig || !br || !bs || !ECDSA_SIG_set0(sig, br, bs)) {
        BN_free(br);
        BN_free(bs);
        st = ossl(err, MC_E_CRYPTO, "building the ECDSA signature");
    } else if ((dlen = i2d_ECDSA_SIG(sig, &der)) <= 0) {
        st = ossl(err, MC_E_CRYPTO, "encoding the ECDSA signature");
    } else {
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        int ok = c && EVP_DigestVerifyInit_ex(c, NULL, "SHA384", NULL, NULL, k->pkey, NULL) > 0
                     ? EVP_DigestVerify(c, der, (size_t)dlen, msg, len)
                     : -1;
        if (ok < 0 && !c)
            st = mc_seterr(err, MC_E_NOMEM, "out of memory");
        else if (ok != 1)
            st = mc_seterr(err, MC_E_VERIFY, "the ECDSA P-384 signature does not verify");
        EVP_MD_CTX_free(c);
    }
    OPENSSL_free(der);
    ECDSA_SIG_free(sig);
    return st;
}

void mc_p384_free(struct mc_p384_key *k)
{
    if (!k)
        return;
    EVP_PKEY_free(k->pkey);
    free(k);
}
