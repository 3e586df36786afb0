/* Tests of src/crypto/kdf (SP 800-108 counter mode, HMAC-SHA256) and src/crypto/aes (AES-128-CTR):
 * all 480 NIST CAVP KBKDF HMAC-SHA256 vectors (big-endian counters, before/after/middle), the SEV
 * KDF known answers of vectors/sev-launch-kat.md (little-endian counter), NIST SP 800-38A CTR. */
#include <memcrypt/bytes.h>
#include <memcrypt/fileio.h>

#include "check.h"
#include "crypto/aes.h"
#include "crypto/crypto.h"
#include "crypto/kdf.h"

struct kv {
    char key_in[600], before[600], after[600], fixed[600], loc[600], key_out[600];
    unsigned bits, out_bits;
};

static size_t hex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    if (mc_hex_decode(s, out, cap, &n, NULL) != MC_OK)
        return (size_t)-1;
    return n;
}

static void run_vector(const struct kv *v, unsigned *count)
{
    uint8_t key[128], b[256], a[256], want[64], got[64];
    size_t kl = hex(v->key_in, key, sizeof key), bl = 0, al = 0, wl = hex(v->key_out, want, sizeof want);
    if (!strcmp(v->loc, "before_fixed")) {
        al = hex(v->fixed, a, sizeof a);
    } else if (!strcmp(v->loc, "after_fixed")) {
        bl = hex(v->fixed, b, sizeof b);
    } else {
        bl = hex(v->before, b, sizeof b);
        al = hex(v->after, a, sizeof a);
    }
    CHECK(kl != (size_t)-1 && bl != (size_t)-1 && al != (size_t)-1 && wl * 8 == v->out_bits);
    CHECK(mc_kdf_ctr_hmac_sha256(key, kl, b, bl, a, al, v->bits, MC_KDF_BE, got, wl, NULL) == MC_OK);
    CHECK_MEM(got, want, wl);
    (*count)++;
}

static void test_nist_kbkdf(void)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    CHECK(mc_file_read(MC_TEST_DATA "/kdf-sp800-108-ctr-hmac-sha256.txt", 1 << 22, &buf, &len, NULL) == MC_OK);
    if (!buf)
        return;
    struct kv v;
    memset(&v, 0, sizeof v);
    unsigned count = 0;
    int have = 0;
    char *save = NULL;
    for (char *line = strtok_r((char *)buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char k[64], val[600];
        if (line[0] == '#')
            continue;
        val[0] = 0;
        if (sscanf(line, "%63s = %599s", k, val) < 1)
            continue;
        if (!strcmp(k, "name")) {
            if (have)
                run_vector(&v, &count);
            memset(&v, 0, sizeof v);
            have = 1;
        } else if (!strcmp(k, "key_in")) snprintf(v.key_in, sizeof v.key_in, "%s", val);
        else if (!strcmp(k, "fixed_input")) snprintf(v.fixed, sizeof v.fixed, "%s", val);
        else if (!strcmp(k, "fixed_before_counter")) snprintf(v.before, sizeof v.before, "%s", val);
        else if (!strcmp(k, "fixed_after_counter")) snprintf(v.after, sizeof v.after, "%s", val);
        else if (!strcmp(k, "counter_location")) snprintf(v.loc, sizeof v.loc, "%s", val);
        else if (!strcmp(k, "key_out")) snprintf(v.key_out, sizeof v.key_out, "%s", val);
        else if (!strcmp(k, "counter_bits")) v.bits = (unsigned)atoi(val);
        else if (!strcmp(k, "out_bits")) v.out_bits = (unsigned)atoi(val);
        else if (!strcmp(k, "counter_encoding")) CHECK(!strcmp(val, "big-endian"));
    }
    if (have)
        run_vector(&v, &count);
    CHECK_EQ_U64(count, 480);
    free(buf);
}

static void test_sev_kdf_kat(void)
{
    uint8_t z[16] = {0}, nonce[16] = {0}, ms[16], kek[16], kik[16], want[16];
    size_t n;
    CHECK(mc_kdf_sev(z, 16, "sev-master-secret", nonce, 16, ms, 16, NULL) == MC_OK);
    mc_hex_decode("ab4d269fcc62bedb4511d56c386ce706", want, 16, &n, NULL);
    CHECK_MEM(ms, want, 16);
    CHECK(mc_kdf_sev(ms, 16, "sev-kek", NULL, 0, kek, 16, NULL) == MC_OK);
    mc_hex_decode("b6abfbfb75ea1ea74ed8750b8afdb973", want, 16, &n, NULL);
    CHECK_MEM(kek, want, 16);
    CHECK(mc_kdf_sev(ms, 16, "sev-kik", NULL, 0, kik, 16, NULL) == MC_OK);
    mc_hex_decode("53b524bf5669a363f365c864acba8572", want, 16, &n, NULL);
    CHECK_MEM(kik, want, 16);
    /* Bad arguments. */
    uint8_t out[8];
    CHECK(mc_kdf_sev(z, 16, NULL, NULL, 0, out, 8, NULL) == MC_E_INVAL);
    CHECK(mc_kdf_sev(z, 16, "x", NULL, 0, out, 0, NULL) == MC_E_INVAL);
    CHECK(mc_kdf_ctr_hmac_sha256(z, 16, NULL, 0, NULL, 0, 12, MC_KDF_BE, out, 8, NULL) == MC_E_INVAL);
}

static void test_aes_ctr(void)
{
    /* NIST SP 800-38A F.5.1 CTR-AES128.Encrypt, blocks 1-2. */
    uint8_t key[16], iv[16], pt[32], want[32], out[32];
    size_t n;
    mc_hex_decode("2b7e151628aed2a6abf7158809cf4f3c", key, 16, &n, NULL);
    mc_hex_decode("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff", iv, 16, &n, NULL);
    mc_hex_decode("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51", pt, 32, &n, NULL);
    mc_hex_decode("874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff", want, 32, &n, NULL);
    CHECK(mc_aes128_ctr(key, iv, pt, out, 32, NULL) == MC_OK);
    CHECK_MEM(out, want, 32);
    CHECK(mc_aes128_ctr(key, iv, out, out, 32, NULL) == MC_OK);
    CHECK_MEM(out, pt, 32);
}

int main(void)
{
    RUN(test_nist_kbkdf);
    RUN(test_sev_kdf_kat);
    RUN(test_aes_ctr);
    return check_summary();
}
