/* Tests of src/crypto/pk: P-384 ECDSA/ECDH, deterministic keys, RSA-PSS, RSA key generation.
 * The RSA-PSS verifier is checked against AMD's real Naples ARK (self-signed, PSS/SHA-256). */
#include <memcrypt/bytes.h>
#include <memcrypt/fileio.h>

#include "check.h"
#include "crypto/crypto.h"
#include "crypto/pk.h"

static struct mc_rng *rng_seed(const char *s)
{
    struct mc_rng *r = NULL;
    mc_rng_create((const uint8_t *)s, strlen(s), &r, NULL);
    return r;
}

static void test_p384_deterministic(void)
{
    struct mc_rng *a = rng_seed("pk-a"), *b = rng_seed("pk-a"), *c = rng_seed("pk-c");
    struct mc_pk *ka = NULL, *kb = NULL, *kc = NULL;
    CHECK(mc_p384_generate(a, &ka, NULL) == MC_OK);
    CHECK(mc_p384_generate(b, &kb, NULL) == MC_OK);
    CHECK(mc_p384_generate(c, &kc, NULL) == MC_OK);
    uint8_t xa[48], ya[48], xb[48], yb[48], xc[48], yc[48], d[48];
    CHECK(mc_p384_get_public(ka, xa, ya, NULL) == MC_OK);
    CHECK(mc_p384_get_public(kb, xb, yb, NULL) == MC_OK);
    CHECK(mc_p384_get_public(kc, xc, yc, NULL) == MC_OK);
    CHECK_MEM(xa, xb, 48);
    CHECK(memcmp(xa, xc, 48) != 0);
    /* Private scalar round trip gives the same public key. */
    struct mc_pk *kd = NULL;
    CHECK(mc_p384_get_private(ka, d, NULL) == MC_OK);
    CHECK(mc_p384_from_private(d, &kd, NULL) == MC_OK);
    uint8_t xd[48], yd[48];
    CHECK(mc_p384_get_public(kd, xd, yd, NULL) == MC_OK);
    CHECK_MEM(xd, xa, 48);
    CHECK_MEM(yd, ya, 48);
    /* d = 1 gives the generator (SEC 2 / FIPS 186-4 P-384 base point Gx). */
    uint8_t one[48] = {0};
    one[47] = 1;
    struct mc_pk *kg = NULL;
    CHECK(mc_p384_from_private(one, &kg, NULL) == MC_OK);
    uint8_t gx[48], gy[48], want[48];
    size_t n;
    mc_hex_decode("aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab7",
                  want, 48, &n, NULL);
    CHECK(mc_p384_get_public(kg, gx, gy, NULL) == MC_OK);
    CHECK_MEM(gx, want, 48);
    /* Scalar 0 and scalar >= n are refused. */
    uint8_t zero[48] = {0}, big[48];
    memset(big, 0xff, 48);
    struct mc_pk *bad = NULL;
    CHECK(mc_p384_from_private(zero, &bad, NULL) == MC_E_FORMAT);
    CHECK(mc_p384_from_private(big, &bad, NULL) == MC_E_FORMAT);
    CHECK(mc_p384_from_bits(big, 10, &bad, NULL) == MC_E_INVAL);
    mc_pk_free(ka); mc_pk_free(kb); mc_pk_free(kc); mc_pk_free(kd); mc_pk_free(kg);
    mc_rng_destroy(a); mc_rng_destroy(b); mc_rng_destroy(c);
}

static void test_ecdsa_ecdh(void)
{
    struct mc_rng *r = rng_seed("pk-ecdsa");
    struct mc_pk *k = NULL, *k2 = NULL, *pub = NULL, *pub2 = NULL;
    CHECK(mc_p384_generate(r, &k, NULL) == MC_OK);
    CHECK(mc_p384_generate(r, &k2, NULL) == MC_OK);
    uint8_t x[48], y[48], x2[48], y2[48];
    CHECK(mc_p384_get_public(k, x, y, NULL) == MC_OK);
    CHECK(mc_p384_get_public(k2, x2, y2, NULL) == MC_OK);
    CHECK(mc_p384_from_public(x, y, &pub, NULL) == MC_OK);
    CHECK(mc_p384_from_public(x2, y2, &pub2, NULL) == MC_OK);
    CHECK(!mc_pk_has_private(pub));
    const char msg[] = "sign me";
    uint8_t rr[48], ss[48];
    for (int h = 0; h < 2; h++) {
        const char *hash = h ? "SHA384" : "SHA256";
        CHECK(mc_ecdsa_sign(k, hash, msg, sizeof msg, rr, ss, NULL) == MC_OK);
        CHECK(mc_ecdsa_verify(pub, hash, msg, sizeof msg, rr, ss, NULL) == MC_OK);
        CHECK(mc_ecdsa_verify(pub, h ? "SHA256" : "SHA384", msg, sizeof msg, rr, ss, NULL) == MC_E_VERIFY);
        CHECK(mc_ecdsa_verify(pub2, hash, msg, sizeof msg, rr, ss, NULL) == MC_E_VERIFY);
        rr[47] ^= 1;
        CHECK(mc_ecdsa_verify(pub, hash, msg, sizeof msg, rr, ss, NULL) == MC_E_VERIFY);
    }
    uint8_t zero[48] = {0};
    CHECK(mc_ecdsa_verify(pub, "SHA256", msg, sizeof msg, zero, ss, NULL) == MC_E_VERIFY);
    CHECK(mc_ecdsa_sign(pub, "SHA256", msg, sizeof msg, rr, ss, NULL) == MC_E_STATE);
    CHECK(mc_ecdsa_sign(k, "MD5", msg, sizeof msg, rr, ss, NULL) == MC_E_INVAL);
    /* ECDH agrees in both directions. */
    uint8_t z1[48], z2[48];
    CHECK(mc_ecdh_p384(k, pub2, z1, NULL) == MC_OK);
    CHECK(mc_ecdh_p384(k2, pub, z2, NULL) == MC_OK);
    CHECK_MEM(z1, z2, 48);
    CHECK(mc_ecdh_p384(pub, pub2, z1, NULL) == MC_E_STATE);
    /* Off-curve point, coordinate >= p. */
    struct mc_pk *bad = NULL;
    y[47] ^= 1;
    CHECK(mc_p384_from_public(x, y, &bad, NULL) == MC_E_FORMAT);
    uint8_t ff[48];
    memset(ff, 0xff, 48);
    CHECK(mc_p384_from_public(ff, y2, &bad, NULL) == MC_E_FORMAT);
    CHECK(mc_p384_from_public(zero, zero, &bad, NULL) == MC_E_FORMAT);
    mc_pk_free(k); mc_pk_free(k2); mc_pk_free(pub); mc_pk_free(pub2);
    mc_rng_destroy(r);
}

static void test_rsa_generate_and_pss(void)
{
    struct mc_rng *a = rng_seed("pk-rsa"), *b = rng_seed("pk-rsa");
    struct mc_pk *ka = NULL, *kb = NULL, *pub = NULL;
    CHECK(mc_rsa_generate(a, 2048, 65537, &ka, NULL) == MC_OK);
    CHECK(mc_rsa_generate(b, 2048, 65537, &kb, NULL) == MC_OK);
    uint8_t na[512], nb[512], e[8];
    size_t nla = 0, nlb = 0, el = 0;
    CHECK(mc_rsa_get_public(ka, na, sizeof na, &nla, e, sizeof e, &el, NULL) == MC_OK);
    CHECK(mc_rsa_get_public(kb, nb, sizeof nb, &nlb, NULL, 0, NULL, NULL) == MC_OK);
    CHECK(nla == 256 && nlb == 256 && el == 3 && (na[0] & 0x80));
    CHECK_MEM(na, nb, 256);
    CHECK(mc_pk_rsa_bits(ka) == 2048);
    CHECK(mc_rsa_from_public(na, nla, e, el, &pub, NULL) == MC_OK);
    const char msg[] = "amd signing key";
    uint8_t sig[512];
    size_t sl = 0;
    CHECK(mc_rsa_pss_sign(ka, "SHA384", MC_PSS_SALT_DIGEST, msg, sizeof msg, sig, sizeof sig, &sl, NULL) == MC_OK);
    CHECK(sl == 256);
    CHECK(mc_rsa_pss_verify(pub, "SHA384", MC_PSS_SALT_DIGEST, msg, sizeof msg, sig, sl, NULL) == MC_OK);
    CHECK(mc_rsa_pss_verify(pub, "SHA384", MC_PSS_SALT_AUTO, msg, sizeof msg, sig, sl, NULL) == MC_OK);
    CHECK(mc_rsa_pss_verify(pub, "SHA256", MC_PSS_SALT_AUTO, msg, sizeof msg, sig, sl, NULL) == MC_E_VERIFY);
    CHECK(mc_rsa_pss_verify(pub, "SHA384", MC_PSS_SALT_AUTO, msg, sizeof msg - 1, sig, sl, NULL) == MC_E_VERIFY);
    CHECK(mc_rsa_pss_verify(pub, "SHA384", MC_PSS_SALT_AUTO, msg, sizeof msg, sig, sl - 1, NULL) == MC_E_VERIFY);
    sig[10] ^= 0x40;
    CHECK(mc_rsa_pss_verify(pub, "SHA384", MC_PSS_SALT_AUTO, msg, sizeof msg, sig, sl, NULL) == MC_E_VERIFY);
    /* Bad public keys. */
    struct mc_pk *bad = NULL;
    CHECK(mc_rsa_from_public(na, 128, e, el, &bad, NULL) == MC_E_FORMAT); /* 1024-bit */
    na[255] &= 0xfe;
    CHECK(mc_rsa_from_public(na, nla, e, el, &bad, NULL) == MC_E_FORMAT); /* even */
    uint8_t one = 1;
    CHECK(mc_rsa_from_public(nb, nlb, &one, 1, &bad, NULL) == MC_E_FORMAT);
    CHECK(mc_rsa_generate(a, 1024, 65537, &bad, NULL) == MC_E_INVAL);
    mc_pk_free(ka); mc_pk_free(kb); mc_pk_free(pub);
    mc_rng_destroy(a); mc_rng_destroy(b);
}

/* AMD's Naples ARK: self-signed RSA-2048, PSS with SHA-256 over header||exp||modulus. */
static void test_rsa_pss_real_amd_ark(void)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    CHECK(mc_file_read(MC_TEST_DATA "/amd/sev-ca/naples/ark.cert", 4096, &buf, &len, NULL) == MC_OK);
    if (!buf || len != 0x340)
        return;
    CHECK(mc_le32(buf + 0x38) == 2048 && mc_le32(buf + 0x3c) == 2048);
    uint8_t e[256], n[256], sig[256];
    memcpy(e, buf + 0x40, 256);
    memcpy(n, buf + 0x140, 256);
    memcpy(sig, buf + 0x240, 256);
    mc_reverse(e, 256);
    mc_reverse(n, 256);
    mc_reverse(sig, 256);
    struct mc_pk *k = NULL;
    CHECK(mc_rsa_from_public(n, 256, e, 256, &k, NULL) == MC_OK);
    CHECK(mc_rsa_pss_verify(k, "SHA256", MC_PSS_SALT_AUTO, buf, 0x240, sig, 256, NULL) == MC_OK);
    CHECK(mc_rsa_pss_verify(k, "SHA256", 32, buf, 0x240, sig, 256, NULL) == MC_OK);
    buf[0x10] ^= 1;
    CHECK(mc_rsa_pss_verify(k, "SHA256", MC_PSS_SALT_AUTO, buf, 0x240, sig, 256, NULL) == MC_E_VERIFY);
    mc_pk_free(k);
    free(buf);
}

int main(void)
{
    RUN(test_p384_deterministic);
    RUN(test_ecdsa_ecdh);
    RUN(test_rsa_generate_and_pss);
    RUN(test_rsa_pss_real_amd_ark);
    return check_summary();
}
