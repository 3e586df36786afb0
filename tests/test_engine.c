/* Tests of the memory encryption engine: published XTS vectors on every implementation,
 * per-line agreement with OpenSSL EVP (IV = LE128(pa)), key slots and bad input. */
#include <memcrypt/bytes.h>
#include <memcrypt/engine.h>
#include <memcrypt/fileio.h>

#include "check.h"
#include "crypto/crypto.h"
#include "crypto/xts.h"
#include "engine/engine_internal.h"

static const enum mc_engine_impl IMPLS[] = {MC_IMPL_PORTABLE, MC_IMPL_AESNI, MC_IMPL_VAES};
#define N_IMPLS (sizeof IMPLS / sizeof IMPLS[0])

static struct mc_rng *g_rng; /* deterministic test data */

static void rnd(void *p, size_t n) { CHECK(mc_rng_bytes(g_rng, p, n, NULL) == MC_OK); }
static uint64_t rnd64(void)
{
    uint8_t b[8];
    rnd(b, 8);
    return mc_le64(b);
}

/* ------------------------------------------------------------ vector files -- */

struct vec {
    char name[128];
    unsigned key_bits;
    uint8_t key[64], tweak[16], pt[1024], ct[1024];
    size_t keylen, tweaklen, ptlen, ctlen;
};

/* Parse the next "field = value" block from *pos; returns 1 when a block was read. */
static int next_vec(char **pos, struct vec *v)
{
    memset(v, 0, sizeof *v);
    int have = 0;
    char *p = *pos;
    while (*p) {
        char *eol = strchr(p, '\n');
        size_t n = eol ? (size_t)(eol - p) : strlen(p);
        char line[4096];
        if (n >= sizeof line)
            n = sizeof line - 1;
        memcpy(line, p, n);
        line[n] = 0;
        p = eol ? eol + 1 : p + n;
        if (line[0] == '#')
            continue;
        if (line[0] == 0) {
            if (have)
                break;
            continue;
        }
        char *eq = strstr(line, " = ");
        char *val = eq ? eq + 3 : NULL;
        if (!eq) {
            eq = strstr(line, " =");
            val = eq ? eq + 2 : NULL;
        }
        if (!eq)
            continue;
        *eq = 0;
        have = 1;
        if (!strcmp(line, "name"))
            snprintf(v->name, sizeof v->name, "%s", val);
        else if (!strcmp(line, "key_bits"))
            v->key_bits = (unsigned)atoi(val);
        else if (!strcmp(line, "key"))
            CHECK(mc_hex_decode(val, v->key, sizeof v->key, &v->keylen, NULL) == MC_OK);
        else if (!strcmp(line, "tweak"))
            CHECK(mc_hex_decode(val, v->tweak, sizeof v->tweak, &v->tweaklen, NULL) == MC_OK);
        else if (!strcmp(line, "plaintext"))
            CHECK(mc_hex_decode(val, v->pt, sizeof v->pt, &v->ptlen, NULL) == MC_OK);
        else if (!strcmp(line, "ciphertext"))
            CHECK(mc_hex_decode(val, v->ct, sizeof v->ct, &v->ctlen, NULL) == MC_OK);
    }
    *pos = p;
    return have;
}

struct vec_counts {
    unsigned vectors, evp, cts, impl_runs, equal_halves;
};

static void run_vector_file(const char *file, unsigned expect, unsigned expect_cts)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", MC_TEST_DATA, file);
    uint8_t *buf;
    size_t len;
    struct mc_error e;
    CHECK_MSG(mc_file_read(path, 1 << 24, &buf, &len, &e) == MC_OK, "%s", e.msg);
    if (!buf)
        return;
    char *pos = (char *)buf;
    struct vec *v = malloc(sizeof *v);
    struct vec_counts c = {0};
    uint8_t out[1024];
    while (next_vec(&pos, v)) {
        c.vectors++;
        CHECK_MSG(v->tweaklen == 16 && v->ptlen == v->ctlen && v->ptlen >= 16 && v->keylen == v->key_bits / 4,
                  "malformed vector %s", v->name);
        enum mc_cipher ci = v->key_bits == 128 ? MC_CIPHER_AES128_XTS : MC_CIPHER_AES256_XTS;
        size_t h = v->keylen / 2;
        int equal = !memcmp(v->key, v->key + h, h);
        /* 1. OpenSSL EVP through src/crypto/xts (any length, ciphertext stealing included). */
        if (!equal) {
            c.evp++;
            if (v->ptlen % 16)
                c.cts++;
            CHECK_MSG(mc_xts_evp(v->key_bits, v->key, 0, v->tweak, v->pt, out, v->ptlen, &e) == MC_OK, "%s", e.msg);
            CHECK_MSG(!memcmp(out, v->ct, v->ctlen), "EVP encrypt %s", v->name);
            CHECK(mc_xts_evp(v->key_bits, v->key, 1, v->tweak, v->ct, out, v->ctlen, NULL) == MC_OK);
            CHECK_MSG(!memcmp(out, v->pt, v->ptlen), "EVP decrypt %s", v->name);
        } else {
            c.equal_halves++;
            CHECK(mc_xts_evp(v->key_bits, v->key, 0, v->tweak, v->pt, out, v->ptlen, NULL) == MC_E_CRYPTO);
        }
        /* 2. Every engine implementation through the raw-tweak entry point. */
        if (v->ptlen % 16)
            continue;
        for (size_t i = 0; i < N_IMPLS; i++) {
            if (!mc_engine_impl_available(IMPLS[i]))
                continue;
            if (IMPLS[i] == MC_IMPL_PORTABLE && equal) {
                /* OpenSSL refuses key1 == key2: only the intrinsic paths take vector 1. */
                CHECK(mc_xts_unit_impl(IMPLS[i], ci, v->key, v->keylen, v->tweak, 0, v->pt, out, v->ptlen, NULL) ==
                      MC_E_CRYPTO);
                continue;
            }
            c.impl_runs++;
            memset(out, 0, sizeof out);
            CHECK_MSG(mc_xts_unit_impl(IMPLS[i], ci, v->key, v->keylen, v->tweak, 0, v->pt, out, v->ptlen, &e) ==
                          MC_OK, "%s", e.msg);
            CHECK_MSG(!memcmp(out, v->ct, v->ctlen), "%s encrypt %s", mc_engine_impl_name(IMPLS[i]), v->name);
            memset(out, 0, sizeof out);
            CHECK(mc_xts_unit_impl(IMPLS[i], ci, v->key, v->keylen, v->tweak, 1, v->ct, out, v->ctlen, NULL) == MC_OK);
            CHECK_MSG(!memcmp(out, v->pt, v->ptlen), "%s decrypt %s", mc_engine_impl_name(IMPLS[i]), v->name);
        }
    }
    printf("  %s: %u vectors, %u via EVP (%u with ciphertext stealing), %u key1==key2, %u implementation runs\n",
           file, c.vectors, c.evp, c.cts, c.equal_halves, c.impl_runs);
    CHECK_EQ_U64(c.vectors, expect);
    CHECK_EQ_U64(c.cts, expect_cts);
    CHECK(c.impl_runs > 0);
    free(v);
    free(buf);
}

static void test_vectors_ieee1619(void) { run_vector_file("xts-aes-ieee1619.txt", 19, 4); }
static void test_vectors_nist128(void) { run_vector_file("xts-aes128-nist-cavp.txt", 300, 0); }
static void test_vectors_nist256(void) { run_vector_file("xts-aes256-nist-cavp.txt", 300, 0); }

static void test_impls_available(void)
{
    CHECK(mc_engine_impl_available(MC_IMPL_PORTABLE));
    CHECK(mc_engine_impl_available(MC_IMPL_AUTO));
    for (size_t i = 0; i < N_IMPLS; i++)
        printf("  %-8s %s\n", mc_engine_impl_name(IMPLS[i]),
               mc_engine_impl_available(IMPLS[i]) ? "available" : "not on this CPU");
}

/* ------------------------------------------------------ lines against EVP -- */

/* Reference: one EVP call per line, IV = LE128(pa). */
static void ref_lines(unsigned bits, const uint8_t *key, int dec, uint64_t pa, const uint8_t *in, uint8_t *out,
                      size_t len)
{
    for (size_t off = 0; off < len; off += 64) {
        uint8_t iv[16] = {0};
        mc_put_le64(iv, pa + off);
        CHECK(mc_xts_evp(bits, key, dec, iv, in + off, out + off, 64, NULL) == MC_OK);
    }
}

static void random_key(enum mc_cipher c, uint8_t *key, size_t *keylen)
{
    size_t h = c == MC_CIPHER_AES128_XTS ? 16 : 32;
    do
        rnd(key, 2 * h);
    while (!memcmp(key, key + h, h));
    *keylen = 2 * h;
}

static void test_single_lines_vs_evp(void)
{
    unsigned mism = 0, runs = 0;
    for (int it = 0; it < 3000; it++) {
        enum mc_cipher c = (it & 1) ? MC_CIPHER_AES256_XTS : MC_CIPHER_AES128_XTS;
        uint8_t key[64], in[64], ref[64], out[64], back[64];
        size_t kl;
        random_key(c, key, &kl);
        rnd(in, 64);
        uint64_t pa = rnd64() & ~63ull;
        if (it % 7 == 0)
            pa &= 0xfffffffffffull; /* realistic 52-bit addresses too */
        ref_lines((unsigned)kl * 4, key, 0, pa, in, ref, 64);
        for (size_t i = 0; i < N_IMPLS; i++) {
            if (!mc_engine_impl_available(IMPLS[i]))
                continue;
            runs++;
            if (mc_xts_lines_impl(IMPLS[i], c, key, kl, pa, 0, in, out, 64, NULL) != MC_OK || memcmp(out, ref, 64))
                mism++;
            if (mc_xts_lines_impl(IMPLS[i], c, key, kl, pa, 1, out, back, 64, NULL) != MC_OK || memcmp(back, in, 64))
                mism++;
        }
    }
    CHECK_EQ_U64(mism, 0);
    CHECK(runs >= 3000);
}

static void test_runs_vs_evp(void)
{
    const size_t maxl = 130;
    uint8_t *in = malloc(maxl * 64), *ref = malloc(maxl * 64), *out = malloc(maxl * 64), *back = malloc(maxl * 64);
    unsigned mism = 0;
    for (size_t nl = 1; nl <= maxl; nl++) {
        for (int rep = 0; rep < 2; rep++) {
            enum mc_cipher c = rep ? MC_CIPHER_AES256_XTS : MC_CIPHER_AES128_XTS;
            uint8_t key[64];
            size_t kl;
            random_key(c, key, &kl);
            rnd(in, nl * 64);
            uint64_t pa = (rnd64() & 0xffffffffffc0ull);
            if (nl % 13 == 0) /* the very top of the address space */
                pa = 0 - (uint64_t)nl * 64;
            ref_lines((unsigned)kl * 4, key, 0, pa, in, ref, nl * 64);
            for (size_t i = 0; i < N_IMPLS; i++) {
                if (!mc_engine_impl_available(IMPLS[i]))
                    continue;
                if (mc_xts_lines_impl(IMPLS[i], c, key, kl, pa, 0, in, out, nl * 64, NULL) != MC_OK ||
                    memcmp(out, ref, nl * 64)) {
                    mism++;
                    fprintf(stderr, "  %s encrypt mismatch, %zu lines at 0x%llx\n", mc_engine_impl_name(IMPLS[i]),
                            nl, (unsigned long long)pa);
                }
                if (mc_xts_lines_impl(IMPLS[i], c, key, kl, pa, 1, ref, back, nl * 64, NULL) != MC_OK ||
                    memcmp(back, in, nl * 64))
                    mism++;
                /* in place */
                memcpy(back, in, nl * 64);
                if (mc_xts_lines_impl(IMPLS[i], c, key, kl, pa, 0, back, back, nl * 64, NULL) != MC_OK ||
                    memcmp(back, ref, nl * 64))
                    mism++;
            }
        }
    }
    CHECK_EQ_U64(mism, 0);
    free(in);
    free(ref);
    free(out);
    free(back);
}

/* ------------------------------------------------------------- key slots -- */

static struct mc_engine *new_engine(struct mc_rng *rng, unsigned slots)
{
    struct mc_engine *e = NULL;
    struct mc_error er;
    CHECK_MSG(mc_engine_create(rng, slots, &e, &er) == MC_OK, "%s", er.msg);
    return e;
}

static void test_engine_slots_vs_evp(void)
{
    struct mc_engine *e = new_engine(g_rng, 8);
    if (!e)
        return;
    CHECK(mc_engine_get_impl(e) != MC_IMPL_AUTO);
    uint8_t in[4096], ref[4096], out[4096], back[4096];
    unsigned mism = 0;
    for (int it = 0; it < 200; it++) {
        enum mc_cipher c = (it & 1) ? MC_CIPHER_AES256_XTS : MC_CIPHER_AES128_XTS;
        uint8_t key[64];
        size_t kl;
        random_key(c, key, &kl);
        mc_slot s;
        CHECK(mc_engine_slot_import(e, c, key, kl, &s, NULL) == MC_OK);
        enum mc_cipher got;
        CHECK(mc_engine_slot_cipher(e, s, &got, NULL) == MC_OK && got == c);
        size_t len = 64 * (1 + (size_t)(rnd64() % 64));
        uint64_t pa = rnd64() & 0xfffffffff000ull;
        rnd(in, len);
        ref_lines((unsigned)kl * 4, key, 0, pa, in, ref, len);
        for (size_t i = 0; i < N_IMPLS; i++) {
            if (!mc_engine_impl_available(IMPLS[i]))
                continue;
            CHECK(mc_engine_set_impl(e, IMPLS[i], NULL) == MC_OK && mc_engine_get_impl(e) == IMPLS[i]);
            if (mc_engine_encrypt(e, s, pa, in, out, len, NULL) != MC_OK || memcmp(out, ref, len))
                mism++;
            if (mc_engine_decrypt(e, s, pa, out, back, len, NULL) != MC_OK || memcmp(back, in, len))
                mism++;
        }
        CHECK(mc_engine_slot_destroy(e, s, NULL) == MC_OK);
    }
    CHECK_EQ_U64(mism, 0);
    CHECK_EQ_U64(mc_engine_slots_used(e), 0);
    mc_engine_destroy(e);
}

/* MEMCRYPT_ENGINE_IMPL: "aesni" makes this CPU a CPU without VAES (auto picks aesni, vaes is
 * unavailable) with bytes equal to libcrypto's, "portable" one without AES-NI; another value is
 * refused by name; unset, everything as CPUID says. */
static void test_env_cap(void)
{
    const bool has_aesni = mc_engine_impl_available(MC_IMPL_AESNI);
    setenv("MEMCRYPT_ENGINE_IMPL", "aesni", 1);
    CHECK(!mc_engine_impl_available(MC_IMPL_VAES));
    CHECK(mc_engine_impl_available(MC_IMPL_AESNI) == has_aesni);
    struct mc_engine *e = new_engine(g_rng, 2);
    if (e) {
        CHECK(mc_engine_get_impl(e) == (has_aesni ? MC_IMPL_AESNI : MC_IMPL_PORTABLE));
        CHECK(mc_engine_set_impl(e, MC_IMPL_VAES, NULL) == MC_E_UNSUPPORTED);
        /* the forced path against libcrypto: pages and odd runs, both ciphers and directions */
        unsigned mism = 0;
        for (int it = 0; it < 40; it++) {
            enum mc_cipher c = (it & 1) ? MC_CIPHER_AES256_XTS : MC_CIPHER_AES128_XTS;
            uint8_t key[64], in[4096 + 64], ref[sizeof in], out[sizeof in], back[sizeof in];
            size_t kl, len = it < 20 ? 4096 : 64 * (1 + (size_t)(rnd64() % 65));
            random_key(c, key, &kl);
            mc_slot sl;
            CHECK(mc_engine_slot_import(e, c, key, kl, &sl, NULL) == MC_OK);
            uint64_t pa = rnd64() & ~63ull & 0xffffffffffffull;
            rnd(in, len);
            ref_lines((unsigned)kl * 4, key, 0, pa, in, ref, len);
            if (mc_engine_encrypt(e, sl, pa, in, out, len, NULL) != MC_OK || memcmp(out, ref, len))
                mism++;
            if (mc_engine_decrypt(e, sl, pa, out, back, len, NULL) != MC_OK || memcmp(back, in, len))
                mism++;
            CHECK(mc_engine_slot_destroy(e, sl, NULL) == MC_OK);
        }
        CHECK_EQ_U64(mism, 0);
        mc_engine_destroy(e);
    }
    setenv("MEMCRYPT_ENGINE_IMPL", "portable", 1);
    CHECK(!mc_engine_impl_available(MC_IMPL_AESNI) && mc_engine_impl_available(MC_IMPL_PORTABLE));
    e = new_engine(g_rng, 2);
    if (e) {
        CHECK(mc_engine_get_impl(e) == MC_IMPL_PORTABLE);
        mc_engine_destroy(e);
    }
    setenv("MEMCRYPT_ENGINE_IMPL", "sse9", 1);
    struct mc_engine *bad = NULL;
    struct mc_error err;
    CHECK(mc_engine_create(g_rng, 2, &bad, &err) == MC_E_INVAL && !bad && strstr(err.msg, "sse9"));
    unsetenv("MEMCRYPT_ENGINE_IMPL");
    CHECK(mc_engine_impl_available(MC_IMPL_AESNI) == has_aesni);
}

static void test_properties(void)
{
    struct mc_engine *e = new_engine(g_rng, 4);
    if (!e)
        return;
    mc_slot a, b;
    CHECK(mc_engine_slot_generate(e, MC_CIPHER_AES128_XTS, &a, NULL) == MC_OK);
    CHECK(mc_engine_slot_generate(e, MC_CIPHER_AES128_XTS, &b, NULL) == MC_OK);
    CHECK(a != 0 && b != 0 && a != b);
    CHECK_EQ_U64(mc_engine_slots_used(e), 2);
    uint8_t pt[128], c1[128], c2[128], c3[128];
    memset(pt, 0x5a, sizeof pt); /* two identical lines */
    for (size_t i = 0; i < N_IMPLS; i++) {
        if (!mc_engine_impl_available(IMPLS[i]))
            continue;
        CHECK(mc_engine_set_impl(e, IMPLS[i], NULL) == MC_OK);
        CHECK(mc_engine_encrypt(e, a, 0x1000, pt, c1, 128, NULL) == MC_OK);
        /* same plaintext at two addresses (the two lines, and a different page) differ */
        CHECK(memcmp(c1, c1 + 64, 64) != 0);
        CHECK(mc_engine_encrypt(e, a, 0x2000, pt, c2, 128, NULL) == MC_OK);
        CHECK(memcmp(c1, c2, 128) != 0);
        /* same plaintext + address + key -> same ciphertext */
        CHECK(mc_engine_encrypt(e, a, 0x1000, pt, c3, 128, NULL) == MC_OK);
        CHECK_MEM(c1, c3, 128);
        /* different keys differ */
        CHECK(mc_engine_encrypt(e, b, 0x1000, pt, c3, 128, NULL) == MC_OK);
        CHECK(memcmp(c1, c3, 64) != 0 && memcmp(c1 + 64, c3 + 64, 64) != 0);
        /* round trip in place */
        memcpy(c3, pt, 128);
        CHECK(mc_engine_encrypt(e, a, 0x1000, c3, c3, 128, NULL) == MC_OK);
        CHECK_MEM(c3, c1, 128);
        CHECK(mc_engine_decrypt(e, a, 0x1000, c3, c3, 128, NULL) == MC_OK);
        CHECK_MEM(c3, pt, 128);
        /* len 0 is a no-op */
        CHECK(mc_engine_encrypt(e, a, 0x1000, pt, c3, 0, NULL) == MC_OK);
    }
    mc_engine_destroy(e);
}

static void test_deterministic_seed(void)
{
    struct mc_rng *r1, *r2, *r3;
    CHECK(mc_rng_create((const uint8_t *)"engine-seed", 11, &r1, NULL) == MC_OK);
    CHECK(mc_rng_create((const uint8_t *)"engine-seed", 11, &r2, NULL) == MC_OK);
    CHECK(mc_rng_create((const uint8_t *)"engine-seee", 11, &r3, NULL) == MC_OK);
    struct mc_engine *e1 = new_engine(r1, 4), *e2 = new_engine(r2, 4), *e3 = new_engine(r3, 4);
    if (e1 && e2 && e3) {
        uint8_t pt[256] = {1, 2, 3}, c1[256], c2[256], c3[256];
        for (int k = 0; k < 2; k++) {
            enum mc_cipher c = k ? MC_CIPHER_AES256_XTS : MC_CIPHER_AES128_XTS;
            mc_slot s1, s2, s3;
            CHECK(mc_engine_slot_generate(e1, c, &s1, NULL) == MC_OK);
            CHECK(mc_engine_slot_generate(e2, c, &s2, NULL) == MC_OK);
            CHECK(mc_engine_slot_generate(e3, c, &s3, NULL) == MC_OK);
            CHECK(mc_engine_encrypt(e1, s1, 0x40000, pt, c1, sizeof pt, NULL) == MC_OK);
            CHECK(mc_engine_encrypt(e2, s2, 0x40000, pt, c2, sizeof pt, NULL) == MC_OK);
            CHECK(mc_engine_encrypt(e3, s3, 0x40000, pt, c3, sizeof pt, NULL) == MC_OK);
            CHECK_MEM(c1, c2, sizeof c1);
            CHECK(memcmp(c1, c3, sizeof c1) != 0);
        }
    }
    mc_engine_destroy(e1);
    mc_engine_destroy(e2);
    mc_engine_destroy(e3);
    mc_rng_destroy(r1);
    mc_rng_destroy(r2);
    mc_rng_destroy(r3);
}

static void test_slot_lifecycle(void)
{
    struct mc_engine *e = new_engine(g_rng, 3);
    if (!e)
        return;
    struct mc_error er;
    mc_slot s[3], x = 0xdead;
    for (int i = 0; i < 3; i++)
        CHECK(mc_engine_slot_generate(e, MC_CIPHER_AES256_XTS, &s[i], NULL) == MC_OK);
    CHECK(mc_engine_slot_generate(e, MC_CIPHER_AES128_XTS, &x, &er) == MC_E_FULL && er.code == MC_E_FULL);
    CHECK(x == 0xdead); /* untouched on failure */
    uint8_t key[32];
    size_t kl;
    random_key(MC_CIPHER_AES128_XTS, key, &kl);
    CHECK(mc_engine_slot_import(e, MC_CIPHER_AES128_XTS, key, kl, &x, NULL) == MC_E_FULL);
    CHECK_EQ_U64(mc_engine_slots_used(e), 3);
    /* destroy, then the stale handle is MC_E_STATE everywhere */
    CHECK(mc_engine_slot_destroy(e, s[1], NULL) == MC_OK);
    uint8_t buf[64] = {0}, out[64];
    CHECK(mc_engine_encrypt(e, s[1], 0, buf, out, 64, &er) == MC_E_STATE);
    CHECK(mc_engine_decrypt(e, s[1], 0, buf, out, 64, NULL) == MC_E_STATE);
    CHECK(mc_engine_slot_destroy(e, s[1], NULL) == MC_E_STATE);
    enum mc_cipher c;
    CHECK(mc_engine_slot_cipher(e, s[1], &c, NULL) == MC_E_STATE);
    /* the freed slot is reused with a new handle; the old handle stays stale */
    mc_slot n;
    CHECK(mc_engine_slot_generate(e, MC_CIPHER_AES128_XTS, &n, NULL) == MC_OK);
    CHECK(n != s[1]);
    CHECK(mc_engine_encrypt(e, s[1], 0, buf, out, 64, NULL) == MC_E_STATE);
    CHECK(mc_engine_encrypt(e, n, 0, buf, out, 64, NULL) == MC_OK);
    /* handles that were never issued */
    CHECK(mc_engine_encrypt(e, 0, 0, buf, out, 64, NULL) == MC_E_NOTFOUND);
    CHECK(mc_engine_encrypt(e, 0x10004, 0, buf, out, 64, NULL) == MC_E_NOTFOUND);
    /* many create/destroy cycles never hand out a handle that is still remembered as stale */
    mc_slot prev = n;
    for (int i = 0; i < 1000; i++) {
        CHECK(mc_engine_slot_destroy(e, prev, NULL) == MC_OK);
        mc_slot m;
        CHECK(mc_engine_slot_generate(e, MC_CIPHER_AES128_XTS, &m, NULL) == MC_OK);
        CHECK(m != prev);
        CHECK(mc_engine_encrypt(e, prev, 0, buf, out, 64, NULL) == MC_E_STATE);
        prev = m;
    }
    mc_engine_destroy(e);
    mc_engine_destroy(NULL);
}

static void test_bad_input(void)
{
    struct mc_engine *e = new_engine(g_rng, 2);
    if (!e)
        return;
    struct mc_error er;
    mc_slot s;
    CHECK(mc_engine_slot_generate(e, MC_CIPHER_AES128_XTS, &s, NULL) == MC_OK);
    uint8_t in[256] = {0}, out[256];
    for (size_t i = 0; i < N_IMPLS; i++) {
        if (!mc_engine_impl_available(IMPLS[i]))
            continue;
        CHECK(mc_engine_set_impl(e, IMPLS[i], NULL) == MC_OK);
        memset(out, 0xee, sizeof out);
        CHECK(mc_engine_encrypt(e, s, 0x1010, in, out, 64, &er) == MC_E_ALIGN);
        CHECK(mc_engine_encrypt(e, s, 0x1000, in, out, 65, NULL) == MC_E_ALIGN);
        CHECK(mc_engine_encrypt(e, s, 0x1000, in, out, 32, NULL) == MC_E_ALIGN);
        CHECK(mc_engine_encrypt(e, s, 0xffffffffffffffc0ull, in, out, 128, &er) == MC_E_RANGE);
        CHECK(mc_engine_decrypt(e, s, 0xffffffffffffff80ull, in, out, 192, NULL) == MC_E_RANGE);
        CHECK(mc_engine_encrypt(e, s, 0xffffffffffffffc0ull, in, out, 64, NULL) == MC_OK); /* last line fits */
        memset(out, 0xee, sizeof out);
        CHECK(mc_engine_encrypt(e, s, 0, NULL, out, 64, NULL) == MC_E_INVAL);
        CHECK(mc_engine_encrypt(e, s, 0, in, NULL, 64, NULL) == MC_E_INVAL);
        CHECK(mc_engine_encrypt(NULL, s, 0, in, out, 64, NULL) == MC_E_INVAL);
        uint8_t ee[256];
        memset(ee, 0xee, sizeof ee);
        CHECK_MEM(out, ee, sizeof out); /* nothing written on failure */
    }
    CHECK(mc_engine_set_impl(e, (enum mc_engine_impl)42, NULL) == MC_E_INVAL);
    CHECK(mc_engine_set_impl(NULL, MC_IMPL_AUTO, NULL) == MC_E_INVAL);
    /* key import */
    uint8_t key[64];
    for (int i = 0; i < 64; i++)
        key[i] = (uint8_t)i;
    mc_slot x;
    CHECK(mc_engine_slot_import(e, MC_CIPHER_AES128_XTS, key, 64, &x, &er) == MC_E_INVAL);
    CHECK(mc_engine_slot_import(e, MC_CIPHER_AES256_XTS, key, 32, &x, NULL) == MC_E_INVAL);
    CHECK(mc_engine_slot_import(e, MC_CIPHER_AES128_XTS, key, 0, &x, NULL) == MC_E_INVAL);
    CHECK(mc_engine_slot_import(e, MC_CIPHER_NONE, key, 32, &x, NULL) == MC_E_INVAL);
    CHECK(mc_engine_slot_import(e, (enum mc_cipher)7, key, 32, &x, NULL) == MC_E_INVAL);
    CHECK(mc_engine_slot_import(e, MC_CIPHER_AES128_XTS, NULL, 32, &x, NULL) == MC_E_INVAL);
    CHECK(mc_engine_slot_import(e, MC_CIPHER_AES128_XTS, key, 32, NULL, NULL) == MC_E_INVAL);
    CHECK(mc_engine_slot_generate(e, MC_CIPHER_NONE, &x, NULL) == MC_E_INVAL);
    CHECK(mc_engine_slot_generate(NULL, MC_CIPHER_AES128_XTS, &x, NULL) == MC_E_INVAL);
    uint8_t eq[64];
    memset(eq, 0x11, sizeof eq);
    CHECK(mc_engine_slot_import(e, MC_CIPHER_AES128_XTS, eq, 32, &x, &er) == MC_E_INVAL);
    CHECK(mc_engine_slot_import(e, MC_CIPHER_AES256_XTS, eq, 64, &x, NULL) == MC_E_INVAL);
    CHECK_EQ_U64(mc_engine_slots_used(e), 1);
    CHECK(mc_engine_slot_cipher(e, s, NULL, NULL) == MC_E_INVAL);
    /* stateless transform */
    CHECK(mc_xts_lines(MC_CIPHER_AES128_XTS, eq, 32, 0, 0, in, out, 64, NULL) == MC_E_INVAL);
    CHECK(mc_xts_lines(MC_CIPHER_AES128_XTS, key, 31, 0, 0, in, out, 64, NULL) == MC_E_INVAL);
    CHECK(mc_xts_lines(MC_CIPHER_AES128_XTS, key, 32, 8, 0, in, out, 64, NULL) == MC_E_ALIGN);
    CHECK(mc_xts_lines(MC_CIPHER_AES128_XTS, key, 32, 0, 0, in, out, 100, NULL) == MC_E_ALIGN);
    CHECK(mc_xts_lines(MC_CIPHER_AES128_XTS, key, 32, 0xffffffffffffffc0ull, 0, in, out, 128, NULL) == MC_E_RANGE);
    CHECK(mc_xts_lines(MC_CIPHER_AES128_XTS, NULL, 32, 0, 0, in, out, 64, NULL) == MC_E_INVAL);
    /* creation */
    struct mc_engine *bad = NULL;
    CHECK(mc_engine_create(NULL, 4, &bad, NULL) == MC_E_INVAL);
    CHECK(mc_engine_create(g_rng, 0, &bad, NULL) == MC_E_RANGE);
    CHECK(mc_engine_create(g_rng, 1u << 20, &bad, NULL) == MC_E_RANGE);
    CHECK(bad == NULL);
    /* raw unit entry point */
    uint8_t tw[16] = {0};
    CHECK(mc_xts_unit_impl(MC_IMPL_AUTO, MC_CIPHER_AES128_XTS, key, 32, tw, 0, in, out, 17, NULL) == MC_E_ALIGN);
    CHECK(mc_xts_unit_impl(MC_IMPL_AUTO, MC_CIPHER_AES128_XTS, key, 32, tw, 0, in, out, 0, NULL) == MC_E_ALIGN);
    CHECK(mc_xts_unit_impl(MC_IMPL_AUTO, MC_CIPHER_AES128_XTS, key, 32, NULL, 0, in, out, 16, NULL) == MC_E_INVAL);
    CHECK(mc_xts_unit_impl(MC_IMPL_AUTO, MC_CIPHER_AES128_XTS, key, 32, tw, 0, in, out, (16u << 20) + 16, NULL) ==
          MC_E_RANGE);
    CHECK(mc_xts_unit_impl((enum mc_engine_impl)9, MC_CIPHER_AES128_XTS, key, 32, tw, 0, in, out, 16, NULL) ==
          MC_E_INVAL);
    mc_engine_destroy(e);
}

int main(void)
{
    if (mc_rng_create((const uint8_t *)"test_engine", 11, &g_rng, NULL) != MC_OK)
        return 1;
    RUN(test_impls_available);
    RUN(test_vectors_ieee1619);
    RUN(test_vectors_nist128);
    RUN(test_vectors_nist256);
    RUN(test_single_lines_vs_evp);
    RUN(test_runs_vs_evp);
    RUN(test_engine_slots_vs_evp);
    RUN(test_properties);
    RUN(test_deterministic_seed);
    RUN(test_slot_lifecycle);
    RUN(test_bad_input);
    RUN(test_env_cap);
    mc_rng_destroy(g_rng);
    return check_summary();
}
