/* memcrypt — public-key wrappers (P-384 ECDSA/ECDH, RSA-PSS, deterministic key generation).
 * Everything here goes through OpenSSL libcrypto; no primitive is implemented locally. */
#include "crypto/pk.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

struct mc_pk {
    EVP_PKEY *pkey;
    enum mc_pk_kind kind;
    bool priv;
};

static mc_status pk_fail(struct mc_error *err, const char *what)
{
    char buf[200];
    mc_openssl_errstr(buf, sizeof buf);
    ERR_clear_error();
    return mc_seterr(err, MC_E_CRYPTO, "%s failed (OpenSSL: %s)", what, buf);
}

void mc_reverse(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n / 2; i++) {
        uint8_t t = p[i];
        p[i] = p[n - 1 - i];
        p[n - 1 - i] = t;
    }
}

void mc_pk_free(struct mc_pk *k)
{
    if (!k)
        return;
    EVP_PKEY_free(k->pkey);
    free(k);
}

mc_status mc_pk_dup(const struct mc_pk *k, struct mc_pk **out, struct mc_error *err)
{
    if (!k || !out)
        return mc_seterr(err, MC_E_INVAL, "key copy: NULL argument");
    struct mc_pk *c = calloc(1, sizeof *c);
    if (!c)
        return mc_seterr(err, MC_E_NOMEM, "out of memory for a key");
    *c = *k;
    if (!(c->pkey = EVP_PKEY_dup(k->pkey))) {
        free(c);
        return pk_fail(err, "key copy");
    }
    *out = c;
    return MC_OK;
}

enum mc_pk_kind mc_pk_kind(const struct mc_pk *k) { return k ? k->kind : MC_PK_NONE; }
bool mc_pk_has_private(const struct mc_pk *k) { return k && k->priv; }
unsigned mc_pk_rsa_bits(const struct mc_pk *k)
{
    return (k && k->kind == MC_PK_RSA) ? (unsigned)EVP_PKEY_get_bits(k->pkey) : 0;
}

static mc_status wrap(EVP_PKEY *pkey, enum mc_pk_kind kind, bool priv, struct mc_pk **out, struct mc_error *err)
{
    struct mc_pk *k = calloc(1, sizeof *k);
    if (!k) {
        EVP_PKEY_free(pkey);
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    }
    k->pkey = pkey;
    k->kind = kind;
    k->priv = priv;
    *out = k;
    return MC_OK;
}

static mc_status fromdata(const char *alg, OSSL_PARAM_BLD *bld, int selection, EVP_PKEY **pkey,
                          struct mc_error *err)
{
    mc_status rc = MC_OK;
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL);
    *pkey = NULL;
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0 || EVP_PKEY_fromdata(ctx, pkey, selection, params) <= 0)
        rc = pk_fail(err, "building a key");
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return rc;
}

/* ---- P-384 ------------------------------------------------------------------------------- */

static EC_GROUP *p384_group(void) { return EC_GROUP_new_by_curve_name(NID_secp384r1); }

static mc_status p384_from_bn(const BIGNUM *d, struct mc_pk **out, struct mc_error *err)
{
    mc_status rc = MC_OK;
    EC_GROUP *g = p384_group();
    BN_CTX *bn = BN_CTX_new();
    EC_POINT *pub = g ? EC_POINT_new(g) : NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    uint8_t oct[1 + 2 * MC_P384_LEN];
    EVP_PKEY *pkey = NULL;
    if (!g || !bn || !pub || !bld) {
        rc = pk_fail(err, "P-384 setup");
        goto out;
    }
    if (BN_is_zero(d) || BN_is_negative(d) || BN_cmp(d, EC_GROUP_get0_order(g)) >= 0) {
        rc = mc_seterr(err, MC_E_FORMAT, "P-384 private scalar is out of range");
        goto out;
    }
    if (!EC_POINT_mul(g, pub, d, NULL, NULL, bn) ||
        EC_POINT_point2oct(g, pub, POINT_CONVERSION_UNCOMPRESSED, oct, sizeof oct, bn) != sizeof oct) {
        rc = pk_fail(err, "P-384 public point");
        goto out;
    }
    if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "secp384r1", 0) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, oct, sizeof oct)) {
        rc = pk_fail(err, "P-384 parameters");
        goto out;
    }
    rc = fromdata("EC", bld, EVP_PKEY_KEYPAIR, &pkey, err);
    if (rc == MC_OK)
        rc = wrap(pkey, MC_PK_P384, true, out, err);
out:
    OSSL_PARAM_BLD_free(bld);
    EC_POINT_free(pub);
    BN_CTX_free(bn);
    EC_GROUP_free(g);
    return rc;
}

mc_status mc_p384_from_bits(const uint8_t *c, size_t clen, struct mc_pk **out, struct mc_error *err)
{
    if (!c || !out)
        return mc_seterr(err, MC_E_INVAL, "P-384 key: NULL argument");
    if (clen < MC_P384_LEN + 8)
        return mc_seterr(err, MC_E_INVAL, "P-384 key: need at least 56 random bytes, got %zu", clen);
    mc_status rc = MC_OK;
    EC_GROUP *g = p384_group();
    BN_CTX *bn = BN_CTX_new();
    BIGNUM *ci = BN_secure_new(), *nm1 = BN_new(), *d = BN_secure_new();
    if (!g || !bn || !ci || !nm1 || !d || !BN_bin2bn(c, (int)clen, ci) || !BN_copy(nm1, EC_GROUP_get0_order(g)) ||
        !BN_sub_word(nm1, 1) || !BN_mod(d, ci, nm1, bn) || !BN_add_word(d, 1))
        rc = pk_fail(err, "P-384 scalar reduction");
    else
        rc = p384_from_bn(d, out, err);
    BN_clear_free(ci);
    BN_clear_free(d);
    BN_free(nm1);
    BN_CTX_free(bn);
    EC_GROUP_free(g);
    return rc;
}

mc_status mc_p384_generate(struct mc_rng *rng, struct mc_pk **out, struct mc_error *err)
{
    uint8_t c[MC_P384_LEN + 8];
    mc_status rc = mc_rng_bytes(rng, c, sizeof c, err);
    if (rc == MC_OK)
        rc = mc_p384_from_bits(c, sizeof c, out, err);
    mc_wipe(c, sizeof c);
    return rc;
}

mc_status mc_p384_from_private(const uint8_t d[MC_P384_LEN], struct mc_pk **out, struct mc_error *err)
{
    if (!d || !out)
        return mc_seterr(err, MC_E_INVAL, "P-384 key: NULL argument");
    BIGNUM *bd = BN_secure_new();
    mc_status rc;
    if (!bd || !BN_bin2bn(d, MC_P384_LEN, bd))
        rc = pk_fail(err, "P-384 scalar");
    else
        rc = p384_from_bn(bd, out, err);
    BN_clear_free(bd);
    return rc;
}

mc_status mc_p384_from_public(const uint8_t x[MC_P384_LEN], const uint8_t y[MC_P384_LEN], struct mc_pk **out,
                              struct mc_error *err)
{
    if (!x || !y || !out)
        return mc_seterr(err, MC_E_INVAL, "P-384 key: NULL argument");
    mc_status rc = MC_OK;
    uint8_t oct[1 + 2 * MC_P384_LEN];
    oct[0] = POINT_CONVERSION_UNCOMPRESSED;
    memcpy(oct + 1, x, MC_P384_LEN);
    memcpy(oct + 1 + MC_P384_LEN, y, MC_P384_LEN);
    EC_GROUP *g = p384_group();
    EC_POINT *pt = g ? EC_POINT_new(g) : NULL;
    BN_CTX *bn = BN_CTX_new();
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    EVP_PKEY *pkey = NULL;
    if (!g || !pt || !bn || !bld) {
        rc = pk_fail(err, "P-384 setup");
        goto out;
    }
    /* oct2point rejects coordinates >= p and points off the curve; check both explicitly too. */
    if (!EC_POINT_oct2point(g, pt, oct, sizeof oct, bn) || EC_POINT_is_at_infinity(g, pt) ||
        EC_POINT_is_on_curve(g, pt, bn) != 1) {
        ERR_clear_error();
        rc = mc_seterr(err, MC_E_FORMAT, "public key is not a point on curve P-384");
        goto out;
    }
    if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "secp384r1", 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, oct, sizeof oct)) {
        rc = pk_fail(err, "P-384 parameters");
        goto out;
    }
    rc = fromdata("EC", bld, EVP_PKEY_PUBLIC_KEY, &pkey, err);
    if (rc == MC_OK)
        rc = wrap(pkey, MC_PK_P384, false, out, err);
out:
    OSSL_PARAM_BLD_free(bld);
    BN_CTX_free(bn);
    EC_POINT_free(pt);
    EC_GROUP_free(g);
    return rc;
}

static mc_status get_bn_fixed(const EVP_PKEY *pkey, const char *name, uint8_t *out, size_t n, struct mc_error *err)
{
    BIGNUM *b = NULL;
    if (!EVP_PKEY_get_bn_param(pkey, name, &b) || BN_bn2binpad(b, out, (int)n) != (int)n) {
        BN_clear_free(b);
        return pk_fail(err, "reading a key parameter");
    }
    BN_clear_free(b);
    return MC_OK;
}

mc_status mc_p384_get_public(const struct mc_pk *k, uint8_t x[MC_P384_LEN], uint8_t y[MC_P384_LEN],
                             struct mc_error *err)
{
    if (!k || k->kind != MC_PK_P384 || !x || !y)
        return mc_seterr(err, MC_E_INVAL, "not a P-384 key");
    mc_status rc = get_bn_fixed(k->pkey, OSSL_PKEY_PARAM_EC_PUB_X, x, MC_P384_LEN, err);
    if (rc == MC_OK)
        rc = get_bn_fixed(k->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, y, MC_P384_LEN, err);
    return rc;
}

mc_status mc_p384_get_private(const struct mc_pk *k, uint8_t d[MC_P384_LEN], struct mc_error *err)
{
    if (!k || k->kind != MC_PK_P384 || !d)
        return mc_seterr(err, MC_E_INVAL, "not a P-384 key");
    if (!k->priv)
        return mc_seterr(err, MC_E_STATE, "P-384 key has no private part");
    return get_bn_fixed(k->pkey, OSSL_PKEY_PARAM_PRIV_KEY, d, MC_P384_LEN, err);
}

static bool hash_ok(const char *hash) { return hash && (!strcmp(hash, "SHA256") || !strcmp(hash, "SHA384")); }

mc_status mc_ecdsa_sign(const struct mc_pk *k, const char *hash, const void *msg, size_t len,
                        uint8_t r[MC_P384_LEN], uint8_t s[MC_P384_LEN], struct mc_error *err)
{
    if (!k || k->kind != MC_PK_P384 || !hash_ok(hash) || (!msg && len) || !r || !s)
        return mc_seterr(err, MC_E_INVAL, "ECDSA sign: bad argument");
    if (!k->priv)
        return mc_seterr(err, MC_E_STATE, "ECDSA sign: key has no private part");
    mc_status rc = MC_OK;
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    uint8_t der[160];
    size_t dlen = sizeof der;
    ECDSA_SIG *sig = NULL;
    if (!m || EVP_DigestSignInit_ex(m, NULL, hash, NULL, NULL, k->pkey, NULL) <= 0 ||
        EVP_DigestSign(m, der, &dlen, msg, len) <= 0) {
        rc = pk_fail(err, "ECDSA signing");
        goto out;
    }
    const unsigned char *p = der;
    sig = d2i_ECDSA_SIG(NULL, &p, (long)dlen);
    if (!sig || BN_bn2binpad(ECDSA_SIG_get0_r(sig), r, MC_P384_LEN) != MC_P384_LEN ||
        BN_bn2binpad(ECDSA_SIG_get0_s(sig), s, MC_P384_LEN) != MC_P384_LEN)
        rc = pk_fail(err, "ECDSA signature decoding");
out:
    ECDSA_SIG_free(sig);
    EVP_MD_CTX_free(m);
    return rc;
}

/* A key set up once for ECDSA verification: the EVP_PKEY_CTX is initialised once; each check
 * hashes the message (libcrypto SHA-2, crypto/hashctx.c) and verifies the digest, which is the
 * work `openssl speed ecdsap384` times plus the hash. mc_ecdsa_verify is this on a temporary
 * context, so there is one verification path. */
struct mc_ecdsa_prepared {
    EVP_PKEY_CTX *pctx;
    size_t hlen; /* 32 = SHA-256, 48 = SHA-384 */
};

mc_status mc_ecdsa_prepare(const struct mc_pk *k, const char *hash, struct mc_ecdsa_prepared **out,
                           struct mc_error *err)
{
    if (!k || k->kind != MC_PK_P384 || !hash_ok(hash) || !out)
        return mc_seterr(err, MC_E_INVAL, "ECDSA verify: bad argument");
    struct mc_ecdsa_prepared *p = calloc(1, sizeof *p);
    if (!p)
        return mc_seterr(err, MC_E_NOMEM, "out of memory for an ECDSA verification context");
    p->hlen = strcmp(hash, "SHA256") ? 48 : 32;
    p->pctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
    if (!p->pctx || EVP_PKEY_verify_init(p->pctx) <= 0) {
        mc_ecdsa_prepared_free(p);
        return pk_fail(err, "ECDSA verify setup");
    }
    *out = p;
    return MC_OK;
}

void mc_ecdsa_prepared_free(struct mc_ecdsa_prepared *p)
{
    if (!p)
        return;
    EVP_PKEY_CTX_free(p->pctx);
    free(p);
}

mc_status mc_ecdsa_prepared_verify(struct mc_ecdsa_prepared *p, const void *msg, size_t len,
                                   const uint8_t r[MC_P384_LEN], const uint8_t s[MC_P384_LEN], struct mc_error *err)
{
    if (!p || (!msg && len) || !r || !s)
        return mc_seterr(err, MC_E_INVAL, "ECDSA verify: bad argument");
    uint8_t dg[MC_SHA384_LEN];
    mc_status rc = p->hlen == 32 ? mc_sha256(msg, len, dg, err) : mc_sha384(msg, len, dg, err);
    if (rc != MC_OK)
        return rc;
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *br = BN_bin2bn(r, MC_P384_LEN, NULL), *bs = BN_bin2bn(s, MC_P384_LEN, NULL);
    unsigned char *der = NULL;
    if (!sig || !br || !bs) {
        BN_free(br);
        BN_free(bs);
        rc = pk_fail(err, "ECDSA verify setup");
        goto out;
    }
    if (BN_is_zero(br) || BN_is_zero(bs)) {
        BN_free(br);
        BN_free(bs);
        rc = mc_seterr(err, MC_E_VERIFY, "ECDSA signature has r or s equal to zero");
        goto out;
    }
    ECDSA_SIG_set0(sig, br, bs);
    int dlen = i2d_ECDSA_SIG(sig, &der);
    if (dlen <= 0) {
        rc = pk_fail(err, "ECDSA verify setup");
        goto out;
    }
    int v = EVP_PKEY_verify(p->pctx, der, (size_t)dlen, dg, p->hlen);
    if (v != 1) {
        ERR_clear_error();
        rc = mc_seterr(err, MC_E_VERIFY, "ECDSA P-384/%s signature does not verify",
                       p->hlen == 32 ? "SHA256" : "SHA384");
    }
out:
    OPENSSL_free(der);
    ECDSA_SIG_free(sig);
    return rc;
}

mc_status mc_ecdsa_verify(const struct mc_pk *k, const char *hash, const void *msg, size_t len,
                          const uint8_t r[MC_P384_LEN], const uint8_t s[MC_P384_LEN], struct mc_error *err)
{
    if (!k || k->kind != MC_PK_P384 || !hash_ok(hash) || (!msg && len) || !r || !s)
        return mc_seterr(err, MC_E_INVAL, "ECDSA verify: bad argument");
    struct mc_ecdsa_prepared *p = NULL;
    mc_status rc = mc_ecdsa_prepare(k, hash, &p, err);
    if (rc == MC_OK)
        rc = mc_ecdsa_prepared_verify(p, msg, len, r, s, err);
    mc_ecdsa_prepared_free(p);
    return rc;
}

mc_status mc_ecdh_p384(const struct mc_pk *priv, const struct mc_pk *peer, uint8_t z[MC_P384_LEN],
                       struct mc_error *err)
{
    if (!priv || !peer || priv->kind != MC_PK_P384 || peer->kind != MC_PK_P384 || !z)
        return mc_seterr(err, MC_E_INVAL, "ECDH: both keys must be P-384");
    if (!priv->priv)
        return mc_seterr(err, MC_E_STATE, "ECDH: own key has no private part");
    mc_status rc = MC_OK;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv->pkey, NULL);
    size_t zl = MC_P384_LEN;
    if (!ctx || EVP_PKEY_derive_init(ctx) <= 0 || EVP_PKEY_derive_set_peer(ctx, peer->pkey) <= 0 ||
        EVP_PKEY_derive(ctx, z, &zl) <= 0 || zl != MC_P384_LEN)
        rc = pk_fail(err, "ECDH P-384");
    EVP_PKEY_CTX_free(ctx);
    return rc;
}

mc_status mc_secp256k1_public_from_bits(const uint8_t *c, size_t clen, uint8_t x[32], uint8_t y[32],
                                        struct mc_error *err)
{
    if (!c || clen < 40 || clen > 512 || !x || !y)
        return mc_seterr(err, MC_E_INVAL, "secp256k1: need 40..512 random bytes");
    mc_status rc = MC_OK;
    EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_secp256k1);
    BN_CTX *bn = BN_CTX_new();
    BIGNUM *ci = BN_secure_new(), *nm1 = BN_new(), *d = BN_secure_new(), *bx = BN_new(), *by = BN_new();
    EC_POINT *pt = g ? EC_POINT_new(g) : NULL;
    if (!g || !bn || !ci || !nm1 || !d || !bx || !by || !pt || !BN_bin2bn(c, (int)clen, ci) ||
        !BN_copy(nm1, EC_GROUP_get0_order(g)) || !BN_sub_word(nm1, 1) || !BN_mod(d, ci, nm1, bn) ||
        !BN_add_word(d, 1) || !EC_POINT_mul(g, pt, d, NULL, NULL, bn) ||
        !EC_POINT_get_affine_coordinates(g, pt, bx, by, bn) || BN_bn2binpad(bx, x, 32) != 32 ||
        BN_bn2binpad(by, y, 32) != 32)
        rc = pk_fail(err, "secp256k1 point");
    EC_POINT_free(pt);
    BN_clear_free(ci);
    BN_clear_free(d);
    BN_free(nm1);
    BN_free(bx);
    BN_free(by);
    BN_CTX_free(bn);
    EC_GROUP_free(g);
    return rc;
}

/* ---- RSA --------------------------------------------------------------------------------- */

static mc_status rsa_check_pub(const BIGNUM *n, const BIGNUM *e, struct mc_error *err)
{
    int bits = BN_num_bits(n);
    if (bits < MC_RSA_MIN_BITS || bits > MC_RSA_MAX_BITS)
        return mc_seterr(err, MC_E_FORMAT, "RSA modulus of %d bits is outside %d..%d", bits, MC_RSA_MIN_BITS,
                         MC_RSA_MAX_BITS);
    if (!BN_is_odd(n))
        return mc_seterr(err, MC_E_FORMAT, "RSA modulus is even");
    if (!BN_is_odd(e) || BN_is_one(e) || BN_num_bits(e) > bits || BN_cmp(e, n) >= 0)
        return mc_seterr(err, MC_E_FORMAT, "RSA public exponent is invalid");
    return MC_OK;
}

mc_status mc_rsa_from_public(const uint8_t *n, size_t nlen, const uint8_t *e, size_t elen, struct mc_pk **out,
                             struct mc_error *err)
{
    if (!n || !e || !out || !nlen || !elen || nlen > 4096 || elen > 4096)
        return mc_seterr(err, MC_E_INVAL, "RSA key: bad argument");
    mc_status rc;
    BIGNUM *bn_n = BN_bin2bn(n, (int)nlen, NULL), *bn_e = BN_bin2bn(e, (int)elen, NULL);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    EVP_PKEY *pkey = NULL;
    if (!bn_n || !bn_e || !bld) {
        rc = pk_fail(err, "RSA key setup");
        goto out;
    }
    rc = rsa_check_pub(bn_n, bn_e, err);
    if (rc != MC_OK)
        goto out;
    if (!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e)) {
        rc = pk_fail(err, "RSA parameters");
        goto out;
    }
    rc = fromdata("RSA", bld, EVP_PKEY_PUBLIC_KEY, &pkey, err);
    if (rc == MC_OK)
        rc = wrap(pkey, MC_PK_RSA, false, out, err);
out:
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn_n);
    BN_free(bn_e);
    return rc;
}

/* The candidates' sieve: the first SIEVE_PRIMES odd primes (3 .. 17881). */
#define SIEVE_PRIMES 2048
#define SIEVE_LIMIT 17882

static void small_odd_primes(uint16_t q[SIEVE_PRIMES])
{
    static const int limit = SIEVE_LIMIT;
    uint8_t comp[SIEVE_LIMIT] = {0};
    int n = 0;
    for (int i = 3; i < limit && n < SIEVE_PRIMES; i += 2) {
        if (comp[i])
            continue;
        q[n++] = (uint16_t)i;
        for (int j = i * i; j < limit; j += 2 * i)
            comp[j] = 1;
    }
}

/* One prime of `bits` bits from DRBG bytes: top two bits set (so p*q has exactly 2*bits bits),
 * odd; step by 2 from the candidate until BN_check_prime accepts and gcd(p-1, e) = 1.
 * Candidates with a factor among the first 2048 odd primes are passed over without a call
 * (their residues are kept per step): they are composite, BN_check_prime would refuse them, so
 * the prime found is the same, for the cost of the Miller-Rabin rounds on the others only. */
static mc_status rsa_prime(struct mc_rng *rng, int bits, const BIGNUM *e, BIGNUM *p, BN_CTX *bn, struct mc_error *err)
{
    size_t nbytes = (size_t)bits / 8;
    uint8_t buf[MC_RSA_MAX_BITS / 16];
    uint16_t q[SIEVE_PRIMES], res[SIEVE_PRIMES];
    small_odd_primes(q);
    BIGNUM *pm1 = BN_new(), *g = BN_new();
    mc_status rc = MC_OK;
    if (!pm1 || !g) {
        rc = pk_fail(err, "RSA prime setup");
        goto out;
    }
    for (int attempt = 0;; attempt++) {
        if (attempt > 64) {
            rc = mc_seterr(err, MC_E_CRYPTO, "RSA key generation found no prime");
            goto out;
        }
        rc = mc_rng_bytes(rng, buf, nbytes, err);
        if (rc != MC_OK)
            goto out;
        buf[0] |= 0xC0;
        buf[nbytes - 1] |= 1;
        if (!BN_bin2bn(buf, (int)nbytes, p)) {
            rc = pk_fail(err, "RSA prime candidate");
            goto out;
        }
        for (int i = 0; i < SIEVE_PRIMES; i++) {
            BN_ULONG m = BN_mod_word(p, q[i]);
            if (m == (BN_ULONG)-1) {
                rc = pk_fail(err, "RSA prime sieve");
                goto out;
            }
            res[i] = (uint16_t)m;
        }
        /* Search at most 8192 odd numbers upward, staying within `bits` bits. */
        for (int step = 0; step < 8192 && BN_num_bits(p) == bits; step++) {
            bool small_factor = false;
            for (int i = 0; i < SIEVE_PRIMES; i++) {
                small_factor |= res[i] == 0;
                res[i] = (uint16_t)(res[i] + 2 >= q[i] ? res[i] + 2 - q[i] : res[i] + 2);
            }
            if (small_factor) {
                if (!BN_add_word(p, 2)) {
                    rc = pk_fail(err, "RSA prime step");
                    goto out;
                }
                continue;
            }
            int r = BN_check_prime(p, bn, NULL);
            if (r < 0) {
                rc = pk_fail(err, "RSA primality test");
                goto out;
            }
            if (r == 1) {
                if (!BN_copy(pm1, p) || !BN_sub_word(pm1, 1) || !BN_gcd(g, pm1, e, bn)) {
                    rc = pk_fail(err, "RSA gcd");
                    goto out;
                }
                if (BN_is_one(g))
                    goto out;
            }
            if (!BN_add_word(p, 2)) {
                rc = pk_fail(err, "RSA prime step");
                goto out;
            }
        }
    }
out:
    mc_wipe(buf, sizeof buf);
    BN_free(pm1);
    BN_free(g);
    return rc;
}

mc_status mc_rsa_generate(struct mc_rng *rng, unsigned bits, uint32_t e, struct mc_pk **out, struct mc_error *err)
{
    if (!rng || !out || bits < MC_RSA_MIN_BITS || bits > MC_RSA_MAX_BITS || bits % 16 || e < 3 || !(e & 1))
        return mc_seterr(err, MC_E_INVAL, "RSA key generation: bits must be 2048..4096 (multiple of 16), e odd >= 3");
    mc_status rc = MC_OK;
    BN_CTX *bn = BN_CTX_secure_new();
    BIGNUM *p = BN_secure_new(), *q = BN_secure_new(), *n = BN_new(), *be = BN_new(), *d = BN_secure_new();
    BIGNUM *p1 = BN_secure_new(), *q1 = BN_secure_new(), *lcm = BN_secure_new(), *gg = BN_secure_new();
    BIGNUM *dp = BN_secure_new(), *dq = BN_secure_new(), *qinv = BN_secure_new();
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    EVP_PKEY *pkey = NULL;
    if (!bn || !p || !q || !n || !be || !d || !p1 || !q1 || !lcm || !gg || !dp || !dq || !qinv || !bld ||
        !BN_set_word(be, e)) {
        rc = pk_fail(err, "RSA key generation setup");
        goto out;
    }
    for (;;) {
        if ((rc = rsa_prime(rng, (int)bits / 2, be, p, bn, err)) != MC_OK ||
            (rc = rsa_prime(rng, (int)bits / 2, be, q, bn, err)) != MC_OK)
            goto out;
        if (BN_cmp(p, q) != 0)
            break;
    }
    if (BN_cmp(p, q) < 0)
        BN_swap(p, q); /* p > q so that qinv = q^-1 mod p is the usual CRT coefficient */
    if (!BN_mul(n, p, q, bn) || !BN_copy(p1, p) || !BN_sub_word(p1, 1) || !BN_copy(q1, q) || !BN_sub_word(q1, 1) ||
        !BN_gcd(gg, p1, q1, bn) || !BN_mul(lcm, p1, q1, bn) || !BN_div(lcm, NULL, lcm, gg, bn) ||
        !BN_mod_inverse(d, be, lcm, bn) || !BN_mod(dp, d, p1, bn) || !BN_mod(dq, d, q1, bn) ||
        !BN_mod_inverse(qinv, q, p, bn)) {
        rc = pk_fail(err, "RSA key arithmetic");
        goto out;
    }
    if ((unsigned)BN_num_bits(n) != bits) {
        rc = mc_seterr(err, MC_E_CRYPTO, "RSA modulus has the wrong size");
        goto out;
    }
    if (!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_D, d) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR1, p) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR2, q) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT1, dp) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT2, dq) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, qinv)) {
        rc = pk_fail(err, "RSA parameters");
        goto out;
    }
    rc = fromdata("RSA", bld, EVP_PKEY_KEYPAIR, &pkey, err);
    if (rc == MC_OK)
        rc = wrap(pkey, MC_PK_RSA, true, out, err);
out:
    OSSL_PARAM_BLD_free(bld);
    BN_clear_free(p); BN_clear_free(q); BN_free(n); BN_free(be); BN_clear_free(d);
    BN_clear_free(p1); BN_clear_free(q1); BN_clear_free(lcm); BN_clear_free(gg);
    BN_clear_free(dp); BN_clear_free(dq); BN_clear_free(qinv);
    BN_CTX_free(bn);
    return rc;
}

mc_status mc_rsa_get_public(const struct mc_pk *k, uint8_t *n, size_t n_cap, size_t *nlen, uint8_t *e,
                            size_t e_cap, size_t *elen, struct mc_error *err)
{
    if (!k || k->kind != MC_PK_RSA)
        return mc_seterr(err, MC_E_INVAL, "not an RSA key");
    mc_status rc = MC_OK;
    BIGNUM *bn_n = NULL, *bn_e = NULL;
    if (!EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_RSA_N, &bn_n) ||
        !EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_RSA_E, &bn_e)) {
        rc = pk_fail(err, "reading the RSA public key");
        goto out;
    }
    size_t mod = ((size_t)BN_num_bits(bn_n) + 7) / 8, el = (size_t)BN_num_bytes(bn_e);
    if (n) {
        if (n_cap < mod) {
            rc = mc_seterr(err, MC_E_RANGE, "RSA modulus buffer too small");
            goto out;
        }
        BN_bn2binpad(bn_n, n, (int)mod);
    }
    if (e) {
        if (e_cap < el) {
            rc = mc_seterr(err, MC_E_RANGE, "RSA exponent buffer too small");
            goto out;
        }
        BN_bn2bin(bn_e, e);
    }
    if (nlen)
        *nlen = mod;
    if (elen)
        *elen = el;
out:
    BN_free(bn_n);
    BN_free(bn_e);
    return rc;
}

static mc_status pss_ctx(EVP_MD_CTX *m, bool sign, const struct mc_pk *k, const char *hash, int saltlen,
                         struct mc_error *err)
{
    EVP_PKEY_CTX *pctx = NULL;
    int ok = sign ? EVP_DigestSignInit_ex(m, &pctx, hash, NULL, NULL, k->pkey, NULL)
                  : EVP_DigestVerifyInit_ex(m, &pctx, hash, NULL, NULL, k->pkey, NULL);
    if (ok <= 0 || EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, saltlen) <= 0 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, hash, NULL) <= 0)
        return pk_fail(err, "RSA-PSS setup");
    return MC_OK;
}

mc_status mc_rsa_pss_sign(const struct mc_pk *k, const char *hash, int saltlen, const void *msg, size_t len,
                          uint8_t *sig, size_t sig_cap, size_t *siglen, struct mc_error *err)
{
    if (!k || k->kind != MC_PK_RSA || !hash_ok(hash) || (!msg && len) || !sig || !siglen ||
        saltlen == MC_PSS_SALT_AUTO || saltlen < MC_PSS_SALT_DIGEST)
        return mc_seterr(err, MC_E_INVAL, "RSA-PSS sign: bad argument");
    if (!k->priv)
        return mc_seterr(err, MC_E_STATE, "RSA-PSS sign: key has no private part");
    size_t need = (size_t)EVP_PKEY_get_size(k->pkey);
    if (sig_cap < need)
        return mc_seterr(err, MC_E_RANGE, "RSA-PSS sign: signature buffer too small");
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    mc_status rc = m ? pss_ctx(m, true, k, hash, saltlen, err) : pk_fail(err, "RSA-PSS setup");
    size_t sl = sig_cap;
    if (rc == MC_OK && (EVP_DigestSign(m, sig, &sl, msg, len) <= 0 || sl != need))
        rc = pk_fail(err, "RSA-PSS signing");
    if (rc == MC_OK)
        *siglen = sl;
    EVP_MD_CTX_free(m);
    return rc;
}

mc_status mc_rsa_pss_verify(const struct mc_pk *k, const char *hash, int saltlen, const void *msg, size_t len,
                            const uint8_t *sig, size_t siglen, struct mc_error *err)
{
    if (!k || k->kind != MC_PK_RSA || !hash_ok(hash) || (!msg && len) || !sig || saltlen < MC_PSS_SALT_AUTO)
        return mc_seterr(err, MC_E_INVAL, "RSA-PSS verify: bad argument");
    if (siglen != (size_t)EVP_PKEY_get_size(k->pkey))
        return mc_seterr(err, MC_E_VERIFY, "RSA-PSS signature of %zu bytes does not match the %d-byte modulus", siglen,
                         EVP_PKEY_get_size(k->pkey));
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    mc_status rc = m ? pss_ctx(m, false, k, hash, saltlen, err) : pk_fail(err, "RSA-PSS setup");
    if (rc == MC_OK && EVP_DigestVerify(m, sig, siglen, msg, len) != 1) {
        ERR_clear_error();
        rc = mc_seterr(err, MC_E_VERIFY, "RSA-PSS/%s signature does not verify", hash);
    }
    EVP_MD_CTX_free(m);
    return rc;
}

/* ---- P-384 in AMD's little-endian wire formats -------------------------------------------- */

static bool le72_high_zero(const uint8_t v[MC_P384_LE72])
{
    uint8_t acc = 0;
    for (size_t i = MC_P384_LEN; i < MC_P384_LE72; i++)
        acc |= v[i];
    return acc == 0;
}

static void le72_to_be48(const uint8_t in[MC_P384_LE72], uint8_t out[MC_P384_LEN])
{
    memcpy(out, in, MC_P384_LEN);
    mc_reverse(out, MC_P384_LEN);
}

static void be48_to_le72(const uint8_t in[MC_P384_LEN], uint8_t out[MC_P384_LE72])
{
    memset(out, 0, MC_P384_LE72);
    memcpy(out, in, MC_P384_LEN);
    mc_reverse(out, MC_P384_LEN);
}

mc_status mc_p384_from_public_le72(const uint8_t x[MC_P384_LE72], const uint8_t y[MC_P384_LE72],
                                   struct mc_pk **out, struct mc_error *err)
{
    if (!x || !y || !out)
        return mc_seterr(err, MC_E_INVAL, "P-384 public key: NULL argument");
    if (!le72_high_zero(x) || !le72_high_zero(y))
        return mc_seterr(err, MC_E_FORMAT, "the P-384 public key has non-zero bytes above bit 383");
    uint8_t bx[MC_P384_LEN], by[MC_P384_LEN];
    le72_to_be48(x, bx);
    le72_to_be48(y, by);
    return mc_p384_from_public(bx, by, out, err);
}

mc_status mc_p384_get_public_le72(const struct mc_pk *k, uint8_t x[MC_P384_LE72], uint8_t y[MC_P384_LE72],
                                  struct mc_error *err)
{
    uint8_t bx[MC_P384_LEN], by[MC_P384_LEN];
    mc_status st = mc_p384_get_public(k, bx, by, err);
    if (st != MC_OK)
        return st;
    be48_to_le72(bx, x);
    be48_to_le72(by, y);
    return MC_OK;
}

mc_status mc_ecdsa_sign_le72(const struct mc_pk *k, const char *hash, const void *msg, size_t len,
                             uint8_t r[MC_P384_LE72], uint8_t s[MC_P384_LE72], struct mc_error *err)
{
    uint8_t br[MC_P384_LEN], bs[MC_P384_LEN];
    mc_status st = mc_ecdsa_sign(k, hash, msg, len, br, bs, err);
    if (st != MC_OK)
        return st;
    be48_to_le72(br, r);
    be48_to_le72(bs, s);
    return MC_OK;
}

/* r, s as LE72 -> big-endian 48 bytes; MC_E_VERIFY when bytes above bit 383 are set. */
static mc_status le72_pair(const uint8_t *r, const uint8_t *s, uint8_t br[MC_P384_LEN], uint8_t bs[MC_P384_LEN],
                           struct mc_error *err)
{
    if (!r || !s)
        return mc_seterr(err, MC_E_INVAL, "ECDSA verify: NULL argument");
    if (!le72_high_zero(r) || !le72_high_zero(s))
        return mc_seterr(err, MC_E_VERIFY, "the signature has non-zero bytes above bit 383");
    le72_to_be48(r, br);
    le72_to_be48(s, bs);
    return MC_OK;
}

mc_status mc_ecdsa_verify_le72(const struct mc_pk *k, const char *hash, const void *msg, size_t len,
                               const uint8_t r[MC_P384_LE72], const uint8_t s[MC_P384_LE72], struct mc_error *err)
{
    uint8_t br[MC_P384_LEN], bs[MC_P384_LEN];
    mc_status st = le72_pair(r, s, br, bs, err);
    return st != MC_OK ? st : mc_ecdsa_verify(k, hash, msg, len, br, bs, err);
}

mc_status mc_ecdsa_prepared_verify_le72(struct mc_ecdsa_prepared *p, const void *msg, size_t len,
                                        const uint8_t r[MC_P384_LE72], const uint8_t s[MC_P384_LE72],
                                        struct mc_error *err)
{
    uint8_t br[MC_P384_LEN], bs[MC_P384_LEN];
    mc_status st = le72_pair(r, s, br, bs, err);
    return st != MC_OK ? st : mc_ecdsa_prepared_verify(p, msg, len, br, bs, err);
}

static bool evp_is_p384(EVP_PKEY *p)
{
    char name[64];
    size_t n = 0;
    if (EVP_PKEY_get_base_id(p) != EVP_PKEY_EC ||
        !EVP_PKEY_get_utf8_string_param(p, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name, &n))
        return false;
    return !strcmp(name, "secp384r1") || !strcmp(name, "P-384");
}

mc_status mc_p384_load_pem(const uint8_t *pem, size_t len, bool need_private, struct mc_pk **out,
                           struct mc_error *err)
{
    if (!pem || !out || len > (1u << 20))
        return mc_seterr(err, MC_E_INVAL, "no PEM key given, or it is too large");
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    if (!b)
        return pk_fail(err, "BIO_new_mem_buf");
    bool priv = true;
    EVP_PKEY *p = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    if (!p && !need_private) {
        BIO_free(b);
        b = BIO_new_mem_buf(pem, (int)len);
        p = b ? PEM_read_bio_PUBKEY(b, NULL, NULL, NULL) : NULL;
        priv = false;
    }
    BIO_free(b);
    ERR_clear_error();
    if (!p)
        return mc_seterr(err, MC_E_FORMAT, "not a PEM %s key (unencrypted PKCS#8 or SEC1 expected)",
                         need_private ? "private" : "EC");
    if (!evp_is_p384(p)) {
        EVP_PKEY_free(p);
        return mc_seterr(err, MC_E_FORMAT, "the key is not an ECDSA P-384 (secp384r1) key");
    }
    return wrap(p, MC_PK_P384, priv, out, err);
}

/* ---- sharing, DER, and the EVP_PKEY for X.509 modules ------------------------------------- */

struct evp_pkey_st *mc_pk_evp(const struct mc_pk *k) { return k ? k->pkey : NULL; }

mc_status mc_pk_private_der(const struct mc_pk *k, uint8_t **der, size_t *len, struct mc_error *err)
{
    if (!k || !der || !len)
        return mc_seterr(err, MC_E_INVAL, "private key DER: NULL argument");
    if (!k->priv)
        return mc_seterr(err, MC_E_STATE, "private key DER: the key has no private part");
    unsigned char *p = NULL;
    int n = i2d_PrivateKey(k->pkey, &p);
    if (n <= 0)
        return pk_fail(err, "encoding a private key");
    uint8_t *b = malloc((size_t)n);
    if (b)
        memcpy(b, p, (size_t)n);
    OPENSSL_clear_free(p, (size_t)n);
    if (!b)
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    *der = b;
    *len = (size_t)n;
    return MC_OK;
}

mc_status mc_p384_from_evp_public(EVP_PKEY *pkey, struct mc_pk **out, struct mc_error *err)
{
    if (!pkey || !out)
        return mc_seterr(err, MC_E_INVAL, "P-384 key: NULL argument");
    if (!evp_is_p384(pkey)) {
        ERR_clear_error();
        return mc_seterr(err, MC_E_FORMAT, "the key is not an ECDSA P-384 (secp384r1) key");
    }
    if (!EVP_PKEY_up_ref(pkey))
        return pk_fail(err, "EVP_PKEY_up_ref");
    return wrap(pkey, MC_PK_P384, false, out, err);
}

mc_status mc_pk_from_private_der(const uint8_t *der, size_t len, enum mc_pk_kind kind, struct mc_pk **out,
                                 struct mc_error *err)
{
    if (!der || !out || (kind != MC_PK_RSA && kind != MC_PK_P384))
        return mc_seterr(err, MC_E_INVAL, "private key DER: bad argument");
    if (len == 0 || len > 16384)
        return mc_seterr(err, MC_E_FORMAT, "a private key of %zu bytes is not plausible", len);
    const unsigned char *p = der;
    EVP_PKEY *k = d2i_PrivateKey(kind == MC_PK_RSA ? EVP_PKEY_RSA : EVP_PKEY_EC, NULL, &p, (long)len);
    ERR_clear_error();
    if (!k || p != der + len) {
        EVP_PKEY_free(k);
        return mc_seterr(err, MC_E_FORMAT, "not a DER %s private key (or trailing bytes)", kind == MC_PK_RSA ? "RSA" : "EC");
    }
    if (kind == MC_PK_P384 && !evp_is_p384(k)) {
        EVP_PKEY_free(k);
        return mc_seterr(err, MC_E_FORMAT, "the key is not an ECDSA P-384 (secp384r1) key");
    }
    if (kind == MC_PK_RSA) {
        BIGNUM *n = NULL, *e = NULL;
        mc_status rc = (EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n) &&
                        EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &e))
                           ? rsa_check_pub(n, e, err)
                           : mc_seterr(err, MC_E_FORMAT, "the RSA key has no modulus or exponent");
        BN_free(n);
        BN_free(e);
        ERR_clear_error();
        if (rc != MC_OK) {
            EVP_PKEY_free(k);
            return rc;
        }
    }
    return wrap(k, kind, true, out, err);
}
