/* AES-256-GCM (src/crypto/gcm), the AEAD under SNP guest messages and the wrapped VLEK, against
 * published vectors: GCM spec test cases 13-18 (those with a 96-bit IV) and the NIST CAVP GCMVS 96-bit-IV/128-bit-tag
 * sets (encrypt: ciphertext and tag must match; decrypt: pass vectors open to the plaintext,
 * fail vectors are refused with MC_E_VERIFY and a wiped output). */
#include <stdbool.h>

#include <memcrypt/bytes.h>
#include <memcrypt/fileio.h>

#include "check.h"
#include "crypto/gcm.h"

struct vec {
    char key[1200], iv[1200], aad[1200], pt[1200], ct[1200], tag[1200], result[1200];
};

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    CHECK(mc_hex_decode(s, out, cap, &n, NULL) == MC_OK);
    return n;
}

static unsigned pass_n, fail_n;

/* false when the vector's IV is not 96 bits (GCM spec cases 17 and 18: 64 and 480 bits), a shape
 * SNP never uses and the wrapper does not take. */
static bool run(const struct vec *v)
{
    if (strlen(v->iv) != 24)
        return false;
    uint8_t key[32], iv[12], aad[600], pt[600], ct[600], tag[16], out[600], t2[16];
    CHECK(unhex(v->key, key, sizeof key) == 32 && unhex(v->iv, iv, sizeof iv) == 12 && unhex(v->tag, tag, 16) == 16);
    size_t al = unhex(v->aad, aad, sizeof aad), cl = unhex(v->ct, ct, sizeof ct), pl = unhex(v->pt, pt, sizeof pt);
    if (!strcmp(v->result, "pass")) {
        pass_n++;
        CHECK(pl == cl);
        CHECK(mc_aes256_gcm_seal(key, iv, aad, al, pt, pl, out, t2, NULL) == MC_OK);
        CHECK_MEM(out, ct, cl);
        CHECK_MEM(t2, tag, 16);
        memset(out, 0xAA, sizeof out);
        CHECK(mc_aes256_gcm_open(key, iv, aad, al, ct, cl, tag, out, NULL) == MC_OK);
        CHECK_MEM(out, pt, pl);
        /* in place */
        memcpy(out, ct, cl);
        CHECK(mc_aes256_gcm_open(key, iv, aad, al, out, cl, tag, out, NULL) == MC_OK);
        CHECK_MEM(out, pt, pl);
        /* one flipped tag bit is refused */
        tag[15] ^= 0x80;
        CHECK(mc_aes256_gcm_open(key, iv, aad, al, ct, cl, tag, out, NULL) == MC_E_VERIFY);
    } else {
        fail_n++;
        memset(out, 0xAA, sizeof out);
        struct mc_error e;
        CHECK(mc_aes256_gcm_open(key, iv, aad, al, ct, cl, tag, out, &e) == MC_E_VERIFY);
        uint8_t zero[600] = {0};
        CHECK_MEM(out, zero, cl); /* no unauthenticated plaintext leaves */
    }
    return true;
}

static unsigned run_file(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, MC_TEST_DATA "/%s", name);
    uint8_t *buf = NULL;
    size_t len = 0;
    CHECK(mc_file_read(path, 1 << 22, &buf, &len, NULL) == MC_OK);
    if (!buf)
        return 0;
    struct vec v;
    unsigned count = 0;
    int have = 0;
    char *save = NULL;
    for (char *line = strtok_r((char *)buf, "\n", &save);; line = strtok_r(NULL, "\n", &save)) {
        char k[32] = "", val[1200] = "";
        if (line && (line[0] == '#' || sscanf(line, "%31s = %1199s", k, val) < 1))
            continue;
        if (!line || !strcmp(k, "name")) {
            if (have && run(&v))
                count++;
            if (!line)
                break;
            memset(&v, 0, sizeof v);
            have = 1;
            continue;
        }
        if (!strcmp(k, "key")) snprintf(v.key, sizeof v.key, "%s", val);
        else if (!strcmp(k, "iv")) snprintf(v.iv, sizeof v.iv, "%s", val);
        else if (!strcmp(k, "aad")) snprintf(v.aad, sizeof v.aad, "%s", val);
        else if (!strcmp(k, "plaintext")) snprintf(v.pt, sizeof v.pt, "%s", val);
        else if (!strcmp(k, "ciphertext")) snprintf(v.ct, sizeof v.ct, "%s", val);
        else if (!strcmp(k, "tag")) snprintf(v.tag, sizeof v.tag, "%s", val);
        else if (!strcmp(k, "result")) snprintf(v.result, sizeof v.result, "%s", val);
    }
    free(buf);
    return count;
}

static void test_vectors(void)
{
    CHECK_EQ_U64(run_file("gcm-aes256-spec.txt"), 4); /* 6 cases, 4 with a 96-bit IV */
    CHECK_EQ_U64(run_file("gcm-aes256-nist-cavp-encrypt.txt"), 375);
    CHECK_EQ_U64(run_file("gcm-aes256-nist-cavp-decrypt.txt"), 375);
    CHECK_EQ_U64(fail_n, 191);
    CHECK_EQ_U64(pass_n, 4 + 375 + 375 - 191);
}

static void test_args(void)
{
    uint8_t k[32] = {0}, iv[12] = {0}, tag[16], b[16] = {0};
    CHECK(mc_aes256_gcm_seal(NULL, iv, NULL, 0, b, 16, b, tag, NULL) == MC_E_INVAL);
    CHECK(mc_aes256_gcm_seal(k, iv, NULL, 1, b, 16, b, tag, NULL) == MC_E_INVAL);
    CHECK(mc_aes256_gcm_open(k, iv, NULL, 0, NULL, 16, tag, b, NULL) == MC_E_INVAL);
    /* empty message, AAD only */
    CHECK(mc_aes256_gcm_seal(k, iv, b, 16, NULL, 0, NULL, tag, NULL) == MC_OK);
    CHECK(mc_aes256_gcm_open(k, iv, b, 16, NULL, 0, tag, NULL, NULL) == MC_OK);
    b[0] = 1;
    CHECK(mc_aes256_gcm_open(k, iv, b, 16, NULL, 0, tag, NULL, NULL) == MC_E_VERIFY);
}

int main(void)
{
    RUN(test_vectors);
    RUN(test_args);
    return check_summary();
}
