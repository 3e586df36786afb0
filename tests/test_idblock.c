/* Tests of SNP ID blocks / ID auth info: sign + check round trip, the signatures verified
 * independently with OpenSSL (LE r/s turned into a DER ECDSA-Sig-Value, EVP_DigestVerify with
 * the key's own public point), ID_KEY_DIGEST recomputed from the key's coordinates, every
 * tampered region refused, wrong curves and invalid points refused. */
#include <memcrypt/bytes.h>
#include <memcrypt/idblock.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "check.h"
#include "snp_testlib.h"

/* Independent check: LE r/s -> DER, verify with EVP against key k. */
static int ossl_verify(EVP_PKEY *k, const uint8_t *msg, size_t len, const uint8_t *sig)
{
    BIGNUM *r = BN_lebin2bn(sig, 72, NULL), *s = BN_lebin2bn(sig + 0x48, 72, NULL);
    ECDSA_SIG *es = ECDSA_SIG_new();
    ECDSA_SIG_set0(es, r, s);
    unsigned char *der = NULL;
    int dl = i2d_ECDSA_SIG(es, &der);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = EVP_DigestVerifyInit(c, NULL, EVP_sha384(), NULL, k) == 1 &&
             EVP_DigestVerify(c, der, (size_t)dl, msg, len) == 1;
    EVP_MD_CTX_free(c);
    OPENSSL_free(der);
    ECDSA_SIG_free(es);
    return ok;
}

/* The SNP public key structure built here from the key's coordinates. */
static void snp_pub(EVP_PKEY *k, uint8_t out[0x404])
{
    BIGNUM *x = NULL, *y = NULL;
    EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, &x);
    EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, &y);
    memset(out, 0, 0x404);
    out[0] = 2;
    BN_bn2lebinpad(x, out + 4, 72);
    BN_bn2lebinpad(y, out + 0x4c, 72);
    BN_free(x);
    BN_free(y);
}

static EVP_PKEY *idk, *auk;
static char *idpem, *aupem;
static size_t idlen, aulen;

static void make_block(uint8_t block[MC_ID_BLOCK_LEN], uint64_t policy)
{
    struct mc_id_block b = {.version = 1, .guest_svn = 7, .policy = policy};
    for (int i = 0; i < 48; i++)
        b.ld[i] = (uint8_t)(i * 3 + 1);
    memset(b.family_id, 0xfa, 16);
    memset(b.image_id, 0x1d, 16);
    mc_id_block_encode(&b, block);
}

static void test_block_layout(void)
{
    uint8_t blk[MC_ID_BLOCK_LEN];
    make_block(blk, 0x30000);
    CHECK(blk[0] == 1 && blk[47] == (uint8_t)(47 * 3 + 1));
    CHECK(blk[0x30] == 0xfa && blk[0x3f] == 0xfa && blk[0x40] == 0x1d && blk[0x4f] == 0x1d);
    CHECK_EQ_U64(mc_le32(blk + 0x50), 1);
    CHECK_EQ_U64(mc_le32(blk + 0x54), 7);
    CHECK_EQ_U64(mc_le64(blk + 0x58), 0x30000);
    struct mc_id_block d;
    mc_id_block_decode(blk, &d);
    CHECK(d.guest_svn == 7 && d.policy == 0x30000 && d.version == 1 && d.family_id[5] == 0xfa);
}

static void test_round_trip_and_openssl(void)
{
    uint8_t blk[MC_ID_BLOCK_LEN], auth[MC_ID_AUTH_LEN];
    make_block(blk, 0x30000);
    struct mc_error e;
    CHECK(mc_id_auth_sign(blk, (const uint8_t *)idpem, idlen, (const uint8_t *)aupem, aulen, auth, &e) == MC_OK);
    struct mc_id_auth_result r;
    CHECK(mc_id_auth_verify(blk, auth, true, &r, &e) == MC_OK && r.author_key);
    CHECK_EQ_U64(mc_le32(auth + 0), 1);
    CHECK_EQ_U64(mc_le32(auth + 4), 1);
    /* Independent verification of both signatures. */
    CHECK(ossl_verify(idk, blk, sizeof blk, auth + 0x40));
    CHECK(ossl_verify(auk, auth + 0x240, 0x404, auth + 0x680));
    /* Key structures and digests recomputed from the keys. */
    uint8_t pub[0x404], dg[48];
    unsigned dl;
    snp_pub(idk, pub);
    CHECK_MEM(auth + 0x240, pub, 0x404);
    EVP_Digest(pub, sizeof pub, dg, &dl, EVP_sha384(), NULL);
    CHECK_MEM(r.id_key_digest, dg, 48);
    uint8_t d2[48];
    CHECK(mc_snp_key_digest_pem((const uint8_t *)idpem, idlen, d2, NULL) == MC_OK && !memcmp(d2, dg, 48));
    snp_pub(auk, pub);
    CHECK_MEM(auth + 0x880, pub, 0x404);
    EVP_Digest(pub, sizeof pub, dg, &dl, EVP_sha384(), NULL);
    CHECK_MEM(r.author_key_digest, dg, 48);
    /* Reserved areas stay zero. */
    int nz = 0;
    for (size_t i = 0x8; i < 0x40; i++)
        nz |= auth[i];
    for (size_t i = 0x40 + 0x90; i < 0x240; i++)
        nz |= auth[i];
    for (size_t i = 0x644; i < 0x680; i++)
        nz |= auth[i];
    for (size_t i = 0xc84; i < 0x1000; i++)
        nz |= auth[i];
    CHECK(nz == 0);
}

static void test_tamper(void)
{
    uint8_t blk[MC_ID_BLOCK_LEN], auth[MC_ID_AUTH_LEN];
    make_block(blk, 0x30000);
    CHECK(mc_id_auth_sign(blk, (const uint8_t *)idpem, idlen, (const uint8_t *)aupem, aulen, auth, NULL) == MC_OK);
    struct mc_error e;
    /* Any bit of the ID block. */
    for (size_t i = 0; i < sizeof blk; i += 5) {
        blk[i] ^= 0x10;
        CHECK_MSG(mc_id_auth_verify(blk, auth, true, NULL, &e) == MC_E_VERIFY, "block byte %zu", i);
        blk[i] ^= 0x10;
    }
    /* Signatures, keys, algorithms. */
    static const size_t spots[] = {0x0, 0x4, 0x40, 0x40 + 0x48, 0x241, 0x240 + 0x4c, 0x680, 0x680 + 0x50, 0x881,
                                   0x880 + 0x4c};
    for (size_t i = 0; i < sizeof spots / sizeof spots[0]; i++) {
        auth[spots[i]] ^= 0x01;
        mc_status st = mc_id_auth_verify(blk, auth, true, NULL, &e);
        CHECK_MSG(st == MC_E_VERIFY, "auth byte 0x%zx: %d %s", spots[i], st, e.msg);
        auth[spots[i]] ^= 0x01;
    }
    /* Curve value, and bytes above bit 383 in a coordinate. */
    auth[0x240] = 1;
    CHECK(mc_id_auth_verify(blk, auth, true, NULL, &e) == MC_E_VERIFY && strstr(e.msg, "curve"));
    auth[0x240] = 2;
    auth[0x244 + 60] = 1;
    CHECK(mc_id_auth_verify(blk, auth, true, NULL, &e) == MC_E_VERIFY);
    auth[0x244 + 60] = 0;
    CHECK(mc_id_auth_verify(blk, auth, true, NULL, &e) == MC_OK);
}

static void test_no_author_and_bad_keys(void)
{
    uint8_t blk[MC_ID_BLOCK_LEN], auth[MC_ID_AUTH_LEN];
    make_block(blk, 0x30000);
    struct mc_error e;
    CHECK(mc_id_auth_sign(blk, (const uint8_t *)idpem, idlen, NULL, 0, auth, &e) == MC_OK);
    struct mc_id_auth_result r;
    CHECK(mc_id_auth_verify(blk, auth, false, &r, &e) == MC_OK && !r.author_key);
    CHECK(mc_id_auth_verify(blk, auth, true, &r, &e) == MC_E_VERIFY && strstr(e.msg, "AUTH_KEY_ALGO"));
    CHECK_EQ_U64(mc_le32(auth + 4), 0);
    static const uint8_t zero[48];
    CHECK_MEM(r.author_key_digest, zero, 48);
    CHECK(ossl_verify(idk, blk, sizeof blk, auth + 0x40));

    /* A P-256 key and garbage are refused with a message. */
    EVP_PKEY *p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    size_t n;
    char *pem = pem_of(p256, &n);
    CHECK(mc_id_auth_sign(blk, (const uint8_t *)pem, n, NULL, 0, auth, &e) == MC_E_FORMAT && strstr(e.msg, "P-384"));
    free(pem);
    EVP_PKEY_free(p256);
    CHECK(mc_id_auth_sign(blk, (const uint8_t *)"not a key", 9, NULL, 0, auth, &e) == MC_E_FORMAT);
    CHECK(mc_id_auth_sign(blk, (const uint8_t *)idpem, idlen, (const uint8_t *)"x", 1, auth, &e) == MC_E_FORMAT &&
          strstr(e.msg, "author key"));

    /* A point that is not on the curve. */
    CHECK(mc_id_auth_sign(blk, (const uint8_t *)idpem, idlen, NULL, 0, auth, NULL) == MC_OK);
    auth[0x244] ^= 0x01; /* QX changed: (x, y) leaves the curve */
    CHECK(mc_id_auth_verify(blk, auth, true, NULL, &e) == MC_E_VERIFY);
    memset(auth, 0, sizeof auth);
    CHECK(mc_id_auth_verify(blk, auth, true, NULL, &e) == MC_E_VERIFY && strstr(e.msg, "ID_KEY_ALGO"));
}

int main(void)
{
    idk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    auk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    if (!idk || !auk)
        return 1;
    idpem = pem_of(idk, &idlen);
    aupem = pem_of(auk, &aulen);
    RUN(test_block_layout);
    RUN(test_round_trip_and_openssl);
    RUN(test_tamper);
    RUN(test_no_author_and_bad_keys);
    free(idpem);
    free(aupem);
    EVP_PKEY_free(idk);
    EVP_PKEY_free(auk);
    return check_summary();
}
