/* Every single-bit change to AMD's real reports must fail verification: each bit of the signed
 * area (0x000..0x29F) and of the signature (0x2A0..0x49F), for every report in vectors/amd.
 * The unmodified report must verify first, so a failure here is the flip's doing.
 *
 * Cost and what each part shows. A full verification of a flipped copy costs one ECDSA P-384
 * check (~1 ms; the verifier caches the chain, so no certificate is parsed again). Doing that
 * for all 9,472 bits of all 14 reports was ~132,000 ECDSA checks, minutes of CPU per run. So:
 *  - The signature field 0x2A0..0x49F (r, s, reserved bytes) is input to no digest: every one
 *    of its bits goes through mc_snp_verify, and the "signature" check itself must fail.
 *  - The signed area 0x000..0x29F: for every bit, the flipped copy must either be refused by the
 *    decoder or reach the bytes the verifier signs (the decoded report's raw copy, of which the
 *    verifier hashes bytes 0x000..0x29F) with a SHA-384 digest different from the original's.
 *    One bit of every signed byte (a different bit per report: byte b of report i flips bit
 *    (b + i) % 8, so the 14 reports together cover all 8 positions of every byte) goes through
 *    mc_snp_verify, which must refuse it, in the signature check whenever that check is reached.
 * The trade-off: what is not repeated for every signed bit is the ECDSA check itself, i.e.
 * that a signature valid for one SHA-384 digest fails for a different one. That is ECDSA's own
 * security property; the sample exercises it 9,408 times with AMD's real keys, and every byte
 * of the signed area is shown, for every report, to be part of what the verifier checks.
 */
#include <memcrypt/fileio.h>
#include <memcrypt/snp_report.h>
#include <memcrypt/snp_verify.h>

#include "check.h"
#include "crypto/crypto.h"

#define AMD MC_TEST_DATA "/amd/"

/* The reports are split between two test programs (this one and test_verify_bitflip_b.c) so
 * the two halves run in parallel; together they cover every report. */
#ifndef BITFLIP_PART
#define BITFLIP_PART 0
#endif

static const char *const cases[] = {
    "gosev-milan", "virtee-milan", "trustee-milan-vcek", "trustee-milan-vlek", "azure-milan-hcl",
    "azure-genoa-hcl", "trustee-genoa-e2e", "oak-milan-cb", "oak-milan-oc-release", "oak-milan-oc-staging",
    "oak-milan-rk-release", "oak-milan-rk-staging", "oak-genoa-oc", "oak-turin-oc",
};

static enum mc_check_state state_of(const struct mc_snp_result *res, const char *name)
{
    for (size_t i = 0; i < res->n; i++)
        if (!strcmp(res->checks[i].name, name))
            return res->checks[i].state;
    return MC_CHECK_SKIP;
}

struct counts {
    unsigned long flips, full, decode_refused;
    unsigned accepted, sig_not_failed, digest_same;
};

/* Flip one bit, run the real decoder and verifier, flip it back. Returns the verifier's
 * "signature" state (SKIP when the decoder refused the copy). */
static enum mc_check_state verify_flipped(struct mc_snp_verifier *v, uint8_t *rep, size_t bit,
                                          const struct mc_snp_certs *c, const struct mc_snp_policy *pol,
                                          const char *name, struct counts *k)
{
    struct mc_snp_report r;
    struct mc_snp_result res;
    struct mc_error e;
    enum mc_check_state sig = MC_CHECK_SKIP;
    rep[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    mc_status st = mc_snp_report_decode(rep, MC_SNP_REPORT_SIZE, &r, &e);
    if (st == MC_OK) {
        st = mc_snp_verify(v, &r, c, pol, &res, &e);
        sig = state_of(&res, "signature");
        k->full++;
    } else {
        k->decode_refused++;
    }
    if (st == MC_OK) {
        k->accepted++;
        fprintf(stderr, "%s: flipping bit %zu of byte 0x%zx still verifies\n", name, bit % 8, bit / 8);
    }
    rep[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    return sig;
}

static void bitflips_of(struct mc_snp_verifier *v, size_t idx, const uint8_t *orig, uint8_t *rep,
                        const struct mc_snp_certs *c, const struct mc_snp_policy *pol, struct counts *k)
{
    const char *name = cases[idx];
    uint8_t d0[MC_SHA384_LEN], d1[MC_SHA384_LEN];
    CHECK(mc_sha384(orig, MC_SNP_REPORT_SIGNED_LEN, d0, NULL) == MC_OK);
    for (size_t bit = 0; bit < 8u * MC_SNP_REPORT_SIZE; bit++) {
        size_t byte = bit / 8;
        k->flips++;
        if (byte >= MC_SNP_REPORT_SIGNED_LEN) {
            /* the signature field: every bit, in full; the signature check must be what fails */
            if (verify_flipped(v, rep, bit, c, pol, name, k) != MC_CHECK_FAIL) {
                k->sig_not_failed++;
                fprintf(stderr, "%s: bit %zu of byte 0x%zx: the signature check did not fail\n", name, bit % 8, byte);
            }
            continue;
        }
        /* the signed area, every bit: refused by the decoder, or a different signed digest */
        rep[byte] ^= (uint8_t)(1u << (bit % 8));
        struct mc_snp_report r;
        struct mc_error e;
        if (mc_snp_report_decode(rep, MC_SNP_REPORT_SIZE, &r, &e) == MC_OK) {
            bool kept = memcmp(r.raw, rep, MC_SNP_REPORT_SIZE) == 0;
            bool differs = mc_sha384(r.raw, MC_SNP_REPORT_SIGNED_LEN, d1, NULL) == MC_OK &&
                           !mc_ct_equal(d0, d1, sizeof d0);
            if (!kept || !differs) {
                k->digest_same++;
                fprintf(stderr, "%s: bit %zu of byte 0x%zx does not change the signed digest\n", name, bit % 8, byte);
            }
        }
        rep[byte] ^= (uint8_t)(1u << (bit % 8));
        /* the sample, in full: one bit of every signed byte */
        if (bit % 8 == (byte + idx) % 8) {
            enum mc_check_state sig = verify_flipped(v, rep, bit, c, pol, name, k);
            if (sig == MC_CHECK_PASS) {
                k->sig_not_failed++;
                fprintf(stderr, "%s: bit %zu of byte 0x%zx: the signature still verifies\n", name, bit % 8, byte);
            }
        }
    }
}

static void test_bitflips(void)
{
    struct mc_snp_verifier *v;
    struct mc_error e;
    CHECK(mc_snp_verifier_create(NULL, &v, &e) == MC_OK);
    struct counts k = {0};
    size_t reports = 0;
    for (size_t i = BITFLIP_PART; i < sizeof cases / sizeof cases[0]; i += 2) {
        char p[512];
        uint8_t *rep = NULL, *cert = NULL, orig[MC_SNP_REPORT_SIZE];
        size_t rn = 0, cn = 0;
        snprintf(p, sizeof p, AMD "snp-reports/%s/report.bin", cases[i]);
        CHECK(mc_file_read(p, 1 << 20, &rep, &rn, &e) == MC_OK && rn == MC_SNP_REPORT_SIZE);
        bool vlek = strstr(cases[i], "vlek") != NULL;
        snprintf(p, sizeof p, AMD "snp-reports/%s/%s.der", cases[i], vlek ? "vlek" : "vcek");
        CHECK(mc_file_read(p, 1 << 20, &cert, &cn, &e) == MC_OK);
        if (!rep || !cert || rn != MC_SNP_REPORT_SIZE) {
            free(rep);
            free(cert);
            continue;
        }
        memcpy(orig, rep, sizeof orig);
        struct mc_snp_policy pol = {.has_at = vlek, .at = 1748736000 /* 2025-06-01 */};
        struct mc_snp_certs c = {cert, cn, NULL, 0, NULL, 0};
        struct mc_snp_report r;
        struct mc_snp_result res;
        CHECK(mc_snp_report_decode(rep, rn, &r, &e) == MC_OK);
        CHECK_MSG(mc_snp_verify(v, &r, &c, &pol, &res, &e) == MC_OK, "%s: %s", cases[i], e.msg);
        struct counts before = k;
        bitflips_of(v, i, orig, rep, &c, &pol, &k);
        CHECK_MSG(k.accepted == before.accepted, "%s: %u flips verified", cases[i], k.accepted - before.accepted);
        CHECK_MSG(k.sig_not_failed == before.sig_not_failed, "%s: %u flips passed the signature check", cases[i],
                  k.sig_not_failed - before.sig_not_failed);
        CHECK_MSG(k.digest_same == before.digest_same, "%s: %u signed-area flips left the signed digest unchanged",
                  cases[i], k.digest_same - before.digest_same);
        /* the report is restored after every flip and still verifies (the flips really ran on it) */
        CHECK(memcmp(rep, orig, sizeof orig) == 0);
        CHECK(mc_snp_report_decode(rep, rn, &r, &e) == MC_OK && mc_snp_verify(v, &r, &c, &pol, &res, &e) == MC_OK &&
              res.cached);
        reports++;
        free(rep);
        free(cert);
    }
    CHECK(reports == (sizeof cases / sizeof cases[0] + 1 - BITFLIP_PART) / 2);
    /* per report: 8 * 0x200 signature-field bits + 0x2A0 sampled signed bytes, all but the
     * decoder's refusals verified in full */
    CHECK(k.full + k.decode_refused == reports * (8u * (MC_SNP_REPORT_SIZE - MC_SNP_REPORT_SIGNED_LEN) +
                                                  MC_SNP_REPORT_SIGNED_LEN));
    printf("%lu single-bit flips checked (%lu verified in full, %lu refused by the decoder)\n", k.flips, k.full,
           k.decode_refused);
    mc_snp_verifier_destroy(v);
}

int main(void)
{
    RUN(test_bitflips);
    return check_summary();
}
