/* Tests of the SEV certificate and AMD ARK/ASK codecs against AMD's real certificates:
 * every generation's ASK verifies under its ARK, the ARK is self-signed, the real Naples and
 * Rome platform chains verify, and tampered or cross-generation copies fail. */
#include <memcrypt/bytes.h>
#include <memcrypt/fileio.h>
#include <memcrypt/sev_cert.h>

#include "check.h"
#include "crypto/pk.h"
#include "sev/cert_key.h"

static const char *const gens[] = {"naples", "rome", "milan", "genoa", "turin"};

static uint8_t *load(const char *rel, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/amd/%s", MC_TEST_DATA, rel);
    uint8_t *buf = NULL;
    if (mc_file_read(path, 1 << 16, &buf, len, NULL) != MC_OK)
        return NULL;
    return buf;
}

static int load_amd(const char *gen, const char *which, struct mc_amd_cert *c)
{
    char rel[128];
    size_t len;
    snprintf(rel, sizeof rel, "sev-ca/%s/%s.cert", gen, which);
    uint8_t *b = load(rel, &len);
    int ok = b && mc_amd_cert_parse(b, len, c, NULL) == MC_OK;
    free(b);
    return ok;
}

static int load_sev(const char *gen, const char *which, struct mc_sev_cert *c)
{
    char rel[128];
    size_t len;
    snprintf(rel, sizeof rel, "sev-platform/%s/%s.cert", gen, which);
    uint8_t *b = load(rel, &len);
    int ok = b && mc_sev_cert_parse(b, len, c, NULL) == MC_OK;
    free(b);
    return ok;
}

static void test_amd_roots_real(void)
{
    for (int g = 0; g < 5; g++) {
        struct mc_amd_cert ark, ask;
        CHECK_MSG(load_amd(gens[g], "ark", &ark) && load_amd(gens[g], "ask", &ask), "%s", gens[g]);
        CHECK(ark.key_usage == MC_SEV_USAGE_ARK && ask.key_usage == MC_SEV_USAGE_ASK);
        CHECK_EQ_U64(ark.modulus_bits, g == 0 ? 2048 : 4096);
        CHECK_MSG(mc_amd_cert_verify(&ark, &ark, NULL) == MC_OK, "%s ARK self-signature", gens[g]);
        CHECK_MSG(mc_amd_cert_verify(&ask, &ark, NULL) == MC_OK, "%s ASK under ARK", gens[g]);
        CHECK(!mc_amd_cert_is_emulated(&ark));
        /* AMD's own signatures use salt = digest length. */
        struct mc_pk *k = NULL;
        CHECK(mc_amd_cert_get_pubkey(&ark, &k, NULL) == MC_OK);
        uint8_t body[MC_AMD_CERT_MAX_LEN], sig[512];
        size_t n = 0;
        struct mc_amd_cert t = ask;
        t.sig_len = 0;
        CHECK(mc_amd_cert_serialize(&t, body, sizeof body, &n, NULL) == MC_OK);
        memcpy(sig, ask.sig, ask.sig_len);
        mc_reverse(sig, ask.sig_len);
        CHECK(mc_rsa_pss_verify(k, g ? "SHA384" : "SHA256", MC_PSS_SALT_DIGEST, body, n, sig, ask.sig_len, NULL) == MC_OK);
        mc_pk_free(k);
        /* Serialize round trip is byte-exact. */
        char rel[64];
        size_t len;
        snprintf(rel, sizeof rel, "sev-ca/%s/ask.cert", gens[g]);
        uint8_t *raw = load(rel, &len);
        uint8_t out[MC_AMD_CERT_MAX_LEN];
        size_t ol = 0;
        CHECK(raw && mc_amd_cert_serialize(&ask, out, sizeof out, &ol, NULL) == MC_OK && ol == len &&
              !memcmp(out, raw, len));
        /* Every single-byte change in the signed area or the signature fails. */
        unsigned bad = 0, tried = 0;
        for (size_t off = 0; raw && off < len; off += 7) {
            raw[off] ^= 0x01;
            struct mc_amd_cert m;
            if (mc_amd_cert_parse(raw, len, &m, NULL) != MC_OK || mc_amd_cert_verify(&m, &ark, NULL) != MC_OK)
                bad++;
            tried++;
            raw[off] ^= 0x01;
        }
        CHECK_MSG(bad == tried, "%s: %u of %u tampered ASKs rejected", gens[g], bad, tried);
        free(raw);
        /* Cross generation: this ASK under the next generation's ARK fails. */
        struct mc_amd_cert other;
        CHECK(load_amd(gens[(g + 1) % 5], "ark", &other));
        CHECK(mc_amd_cert_verify(&ask, &other, NULL) == MC_E_VERIFY);
        /* Built-in table knows this ARK. */
        const char *name = mc_sev_root_match_ark(&ark);
        CHECK(name && !strcmp(name, gens[g]));
    }
    /* The Naples ARK as AMD ships it, without signature: read as an unsigned body that cannot
     * verify itself but equals the built-in Naples root. */
    size_t len;
    uint8_t *nosig = load("sev-ca/naples/ark.cert.nosig", &len);
    struct mc_amd_cert c;
    CHECK(nosig && len == 576 && mc_amd_cert_parse(nosig, len, &c, NULL) == MC_OK && c.sig_len == 0);
    CHECK(mc_amd_cert_verify(&c, &c, NULL) == MC_E_VERIFY);
    CHECK(mc_sev_root_match_body(&c) && !strcmp(mc_sev_root_match_body(&c), "naples"));
    free(nosig);
}

static void test_platform_chains_real(void)
{
    const char *pg[2] = {"naples", "rome"};
    for (int g = 0; g < 2; g++) {
        struct mc_sev_cert cek, oca, pek, pdh;
        CHECK_MSG(load_sev(pg[g], "cek", &cek) && load_sev(pg[g], "oca", &oca) && load_sev(pg[g], "pek", &pek) &&
                      load_sev(pg[g], "pdh", &pdh),
                  "%s parse", pg[g]);
        struct mc_amd_cert ask;
        CHECK(load_amd(pg[g], "ask", &ask));
        CHECK_MSG(mc_sev_cert_verify_by_ask(&cek, &ask, NULL) == MC_OK, "%s CEK", pg[g]);
        CHECK(mc_sev_cert_verify(&oca, &oca, NULL) == MC_OK);
        CHECK(mc_sev_cert_verify(&pek, &oca, NULL) == MC_OK);
        CHECK(mc_sev_cert_verify(&pek, &cek, NULL) == MC_OK);
        CHECK(mc_sev_cert_verify(&pdh, &pek, NULL) == MC_OK);
        /* Wrong signer roles. */
        CHECK(mc_sev_cert_verify(&pdh, &oca, NULL) == MC_E_VERIFY);
        CHECK(mc_sev_cert_verify(&pek, &pdh, NULL) == MC_E_VERIFY);
        CHECK(mc_sev_cert_verify(&cek, &pek, NULL) == MC_E_VERIFY);
        /* Cross generation: this CEK under every other generation's ASK fails. */
        for (int o = 0; o < 5; o++) {
            if (!strcmp(gens[o], pg[g]))
                continue;
            struct mc_amd_cert oask;
            CHECK(load_amd(gens[o], "ask", &oask));
            CHECK_MSG(mc_sev_cert_verify_by_ask(&cek, &oask, NULL) == MC_E_VERIFY, "%s CEK under %s ASK", pg[g], gens[o]);
        }
        /* Round trip and tampering of every 13th byte of the PEK's signed area. */
        uint8_t raw[MC_SEV_CERT_LEN];
        mc_sev_cert_serialize(&pek, raw);
        char rel[64];
        size_t len;
        snprintf(rel, sizeof rel, "sev-platform/%s/pek.cert", pg[g]);
        uint8_t *orig = load(rel, &len);
        CHECK(orig && len == MC_SEV_CERT_LEN && !memcmp(orig, raw, len));
        free(orig);
        unsigned rejected = 0, tried = 0;
        for (size_t off = 0; off < MC_SEV_CERT_SIGNED_LEN; off += 13) {
            raw[off] ^= 0x80;
            struct mc_sev_cert m;
            if (mc_sev_cert_parse(raw, sizeof raw, &m, NULL) != MC_OK || mc_sev_cert_verify(&m, &oca, NULL) != MC_OK)
                rejected++;
            tried++;
            raw[off] ^= 0x80;
        }
        CHECK_MSG(rejected == tried, "%u of %u", rejected, tried);
    }
}

static void test_parse_hostile(void)
{
    size_t len;
    uint8_t *raw = load("sev-platform/rome/pdh.cert", &len);
    if (!raw)
        return;
    struct mc_sev_cert c;
    CHECK(mc_sev_cert_parse(raw, len - 1, &c, NULL) == MC_E_FORMAT);
    uint8_t b[MC_SEV_CERT_LEN];
    memcpy(b, raw, sizeof b);
    mc_put_le32(b, 2);
    CHECK(mc_sev_cert_parse(b, sizeof b, &c, NULL) == MC_E_FORMAT); /* version */
    memcpy(b, raw, sizeof b);
    mc_put_le32(b + 8, 0x1005);
    CHECK(mc_sev_cert_parse(b, sizeof b, &c, NULL) == MC_E_FORMAT); /* usage */
    memcpy(b, raw, sizeof b);
    mc_put_le32(b + 0xC, MC_SEV_ALGO_ECDSA_SHA256);
    CHECK(mc_sev_cert_parse(b, sizeof b, &c, NULL) == MC_E_FORMAT); /* PDH must be ECDH */
    memcpy(b, raw, sizeof b);
    mc_put_le32(b + 0x10, 1);
    CHECK(mc_sev_cert_parse(b, sizeof b, &c, NULL) == MC_E_FORMAT); /* curve P-256 */
    memcpy(b, raw, sizeof b);
    b[0x14] ^= 1;
    CHECK(mc_sev_cert_parse(b, sizeof b, &c, NULL) == MC_E_FORMAT); /* off curve */
    memcpy(b, raw, sizeof b);
    b[0x14 + 60] = 1;
    CHECK(mc_sev_cert_parse(b, sizeof b, &c, NULL) == MC_E_FORMAT); /* padding */
    memcpy(b, raw, sizeof b);
    b[0x5C + 71] = 0x80;
    CHECK(mc_sev_cert_parse(b, sizeof b, &c, NULL) == MC_E_FORMAT); /* qy above bit 383 */
    memcpy(b, raw, sizeof b);
    b[0xA4] = 1;
    CHECK(mc_sev_cert_parse(b, sizeof b, &c, NULL) == MC_E_FORMAT); /* reserved after qy */
    memcpy(b, raw, sizeof b);
    mc_put_le32(b + 0x414, 0x1003);
    CHECK(mc_sev_cert_parse(b, sizeof b, &c, NULL) == MC_E_FORMAT); /* PDH cannot sign */
    memcpy(b, raw, sizeof b);
    b[0x700] = 1;
    CHECK(mc_sev_cert_parse(b, sizeof b, &c, NULL) == MC_E_FORMAT); /* empty slot with data */
    free(raw);
    /* AMD cert: truncated, bad usage, bad size. */
    raw = load("sev-ca/rome/ask.cert", &len);
    struct mc_amd_cert a;
    CHECK(mc_amd_cert_parse(raw, 10, &a, NULL) == MC_E_FORMAT);
    CHECK(mc_amd_cert_parse(raw, len - 1, &a, NULL) == MC_E_FORMAT);
    memcpy(b, raw, len);
    mc_put_le32(b + 0x24, 0x14);
    CHECK(mc_amd_cert_parse(b, len, &a, NULL) == MC_E_FORMAT);
    memcpy(b, raw, len);
    mc_put_le32(b + 0x3C, 3072);
    CHECK(mc_amd_cert_parse(b, len, &a, NULL) == MC_E_FORMAT);
    free(raw);
}

/* Peer formats: AMD's distributed Naples ARK is 576 bytes without signature (sev-tool and the
 * Rust `sev` crate read it); a signature slot with usage 0 and algorithm 0 is empty. */
static void test_peer_formats(void)
{
    size_t len;
    uint8_t *raw = load("sev-ca/naples/ark.cert", &len);
    if (!raw)
        return;
    struct mc_amd_cert full, bare;
    CHECK(len == 832 && mc_amd_cert_parse(raw, len, &full, NULL) == MC_OK && full.sig_len == 256);
    CHECK(mc_amd_cert_parse(raw, 576, &bare, NULL) == MC_OK && bare.sig_len == 0 && mc_amd_cert_size(&bare) == 576);
    struct mc_error e;
    CHECK(mc_amd_cert_verify(&bare, &full, &e) == MC_E_VERIFY && strstr(e.msg, "no signature"));
    CHECK(mc_sev_root_match_body(&bare) && !strcmp(mc_sev_root_match_body(&bare), "naples"));
    CHECK(mc_sev_root_match_body(&full) && !strcmp(mc_sev_root_match_body(&full), "naples"));
    raw[0x50] ^= 1; /* any change of the body: no longer AMD's */
    CHECK(mc_amd_cert_parse(raw, 576, &bare, NULL) != MC_OK || !mc_sev_root_match_body(&bare));
    free(raw);
    /* ASK || ARK chains (SEND_START) stay strict: no unsigned ARK there. */
    size_t la, lk;
    uint8_t *ask = load("sev-ca/rome/ask.cert", &la), *ark = load("sev-ca/rome/ark.cert", &lk);
    if (ask && ark) {
        uint8_t chain[2 * MC_AMD_CERT_MAX_LEN];
        memcpy(chain, ask, la);
        memcpy(chain + la, ark, lk - 512);
        struct mc_amd_cert a, r;
        CHECK(mc_amd_chain_parse(chain, la + lk - 512, &a, &r, NULL) == MC_E_FORMAT);
        CHECK(mc_amd_cert_parse(ark, lk - 512, &r, NULL) == MC_OK && !strcmp(mc_sev_root_match_body(&r), "rome"));
    }
    free(ask);
    free(ark);
    /* Empty slot written as usage 0, algorithm 0. */
    raw = load("sev-platform/rome/oca.cert", &len);
    if (!raw)
        return;
    struct mc_sev_cert c;
    CHECK(mc_sev_cert_parse(raw, len, &c, NULL) == MC_OK && !mc_sev_cert_slot_used(&c, 1));
    mc_put_le32(raw + 0x61C, 0);
    CHECK_MSG(mc_sev_cert_parse(raw, len, &c, &e) == MC_OK, "%s", e.msg);
    CHECK(!mc_sev_cert_slot_used(&c, 1) && mc_sev_cert_slot_used(&c, 0));
    CHECK(mc_sev_cert_verify(&c, &c, NULL) == MC_OK); /* the OCA still verifies by its own slot 1 */
    raw[0x700] = 1; /* an "empty" slot with data is refused */
    CHECK(mc_sev_cert_parse(raw, len, &c, NULL) == MC_E_FORMAT);
    raw[0x700] = 0;
    mc_put_le32(raw + 0x620, MC_SEV_ALGO_ECDSA_SHA256); /* usage 0 with an algorithm: an (ARK) signature */
    CHECK(mc_sev_cert_parse(raw, len, &c, NULL) == MC_OK && mc_sev_cert_slot_used(&c, 1));
    free(raw);
}

/* The whole chain as certs verify and owner session check it: the real Naples and Rome
 * platforms, the built-in roots tried when no ARK/ASK is given, an unsigned ARK, the wrong ASK. */
static void test_chain_verify(void)
{
    for (int g = 0; g < 2; g++) {
        struct mc_sev_cert pdh, pek, oca, cek;
        struct mc_amd_cert ark, ask;
        CHECK(load_sev(gens[g], "pdh", &pdh) && load_sev(gens[g], "pek", &pek) && load_sev(gens[g], "oca", &oca) &&
              load_sev(gens[g], "cek", &cek) && load_amd(gens[g], "ark", &ark) && load_amd(gens[g], "ask", &ask));
        struct mc_sev_chain_result r;
        mc_sev_chain_verify(&pdh, &pek, &oca, &cek, &ask, &ark, false, &r);
        CHECK_MSG(r.ok && r.root_ok && r.root_gen && !strcmp(r.root_gen, gens[g]), "%s: %s", gens[g], r.root_desc);
        mc_sev_chain_verify(&pdh, &pek, &oca, &cek, NULL, NULL, false, &r); /* built-in roots */
        CHECK(r.ok && !strcmp(r.root_gen, gens[g]));
        mc_sev_chain_verify(&pdh, &pek, &oca, NULL, NULL, NULL, false, &r); /* no CEK: not a whole chain */
        CHECK(!r.ok);
        struct mc_amd_cert other;
        CHECK(load_amd(gens[1 - g], "ask", &other));
        mc_sev_chain_verify(&pdh, &pek, &oca, &cek, &other, &ark, false, &r);
        CHECK(!r.ok);
        bool cek_link_failed = false;
        for (int i = 0; i < r.n; i++)
            cek_link_failed |= !strcmp(r.links[i].name, "CEK <- ASK") && !r.links[i].ok;
        CHECK(cek_link_failed);
    }
    /* AMD's unsigned Naples ARK stands for the built-in one. */
    size_t len;
    uint8_t *raw = load("sev-ca/naples/ark.cert", &len);
    struct mc_amd_cert bare, ask;
    struct mc_sev_cert pdh, pek, oca, cek;
    if (raw && mc_amd_cert_parse(raw, 576, &bare, NULL) == MC_OK && load_amd("naples", "ask", &ask) &&
        load_sev("naples", "pdh", &pdh) && load_sev("naples", "pek", &pek) && load_sev("naples", "oca", &oca) &&
        load_sev("naples", "cek", &cek)) {
        struct mc_sev_chain_result r;
        mc_sev_chain_verify(&pdh, &pek, &oca, &cek, &ask, &bare, false, &r);
        CHECK_MSG(r.ok && strstr(r.root_desc, "unsigned"), "%s", r.root_desc);
    } else {
        CHECK(0);
    }
    free(raw);
}

static void test_sign_roundtrip(void)
{
    struct mc_rng *r = NULL;
    mc_rng_create((const uint8_t *)"cert", 4, &r, NULL);
    struct mc_pk *oca_k = NULL, *pek_k = NULL;
    CHECK(mc_p384_generate(r, &oca_k, NULL) == MC_OK);
    CHECK(mc_p384_generate(r, &pek_k, NULL) == MC_OK);
    struct mc_sev_cert oca, pek;
    CHECK(mc_sev_cert_init(&oca, MC_SEV_USAGE_OCA, MC_SEV_ALGO_ECDSA_SHA256, 0, 24, oca_k, NULL) == MC_OK);
    CHECK(mc_sev_cert_sign(&oca, 0, oca_k, MC_SEV_USAGE_OCA, MC_SEV_ALGO_ECDSA_SHA256, NULL) == MC_OK);
    CHECK(mc_sev_cert_init(&pek, MC_SEV_USAGE_PEK, MC_SEV_ALGO_ECDSA_SHA256, 0, 24, pek_k, NULL) == MC_OK);
    CHECK(mc_sev_cert_sign(&pek, 1, oca_k, MC_SEV_USAGE_OCA, MC_SEV_ALGO_ECDSA_SHA256, NULL) == MC_OK);
    uint8_t b[MC_SEV_CERT_LEN];
    mc_sev_cert_serialize(&pek, b);
    struct mc_sev_cert back;
    CHECK(mc_sev_cert_parse(b, sizeof b, &back, NULL) == MC_OK);
    CHECK(mc_sev_cert_verify(&back, &oca, NULL) == MC_OK); /* slot 2 found */
    CHECK(mc_sev_cert_verify(&oca, &oca, NULL) == MC_OK);
    /* wire layout: qx/qy little-endian at 0x14/0x5C, r/s of slot 2 little-endian at 0x624/0x66C */
    uint8_t qx[72], qy[72];
    CHECK(mc_p384_get_public_le72(pek_k, qx, qy, NULL) == MC_OK);
    CHECK_MEM(b + 0x14, qx, 72);
    CHECK_MEM(b + 0x5C, qy, 72);
    CHECK(mc_ecdsa_verify_le72(oca_k, "SHA256", b, MC_SEV_CERT_SIGNED_LEN, b + 0x624, b + 0x66C, NULL) == MC_OK);
    b[0x624 + 48] = 1; /* r above bit 383: refused at parse and by verify */
    CHECK(mc_sev_cert_parse(b, sizeof b, &back, NULL) == MC_E_FORMAT);
    back.sig[1].data[48] = 1;
    CHECK(mc_sev_cert_verify(&back, &oca, NULL) == MC_E_VERIFY);
    CHECK(mc_sev_cert_init(&oca, MC_SEV_USAGE_PDH, MC_SEV_ALGO_ECDSA_SHA256, 0, 24, oca_k, NULL) == MC_E_INVAL);
    mc_pk_free(oca_k);
    mc_pk_free(pek_k);
    mc_rng_destroy(r);
}

int main(void)
{
    RUN(test_amd_roots_real);
    RUN(test_platform_chains_real);
    RUN(test_parse_hostile);
    RUN(test_sign_roundtrip);
    RUN(test_peer_formats);
    RUN(test_chain_verify);
    return check_summary();
}
