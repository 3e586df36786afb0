/* Every single-bit change to AMD's real reports must fail verification: each bit of the signed
 * area (0x000..0x29F) and of the signature (0x2A0..0x49F), for every report in vectors/amd.
 * The unmodified report must verify first, so a failure here is the flip's doing. */
#include <memcrypt/fileio.h>
#include <memcrypt/snp_report.h>
#include <memcrypt/snp_verify.h>

#include "check.h"

#define AMD MC_SHARED_DIR "/vectors/amd/"

/* The reports are split between two test programs (this one and test_verify_bitflip_b.c) so
 * each stays well inside the test timeout under sanitizers; together they cover every report. */
#ifndef BITFLIP_PART
#define BITFLIP_PART 0
#endif

static const char *const cases[] = {
    "gosev-milan", "virtee-milan", "trustee-milan-vcek", "trustee-milan-vlek", "azure-milan-hcl",
    "azure-genoa-hcl", "trustee-genoa-e2e", "oak-milan-cb", "oak-milan-oc-release", "oak-milan-oc-staging",
    "oak-milan-rk-release", "oak-milan-rk-staging", "oak-genoa-oc", "oak-turin-oc",
};

static void test_bitflips(void)
{
    struct mc_snp_verifier *v;
    struct mc_error e;
    CHECK(mc_snp_verifier_new(NULL, &v, &e) == MC_OK);
    unsigned long total = 0;
    for (size_t i = BITFLIP_PART; i < sizeof cases / sizeof cases[0]; i += 2) {
        char p[512];
        uint8_t *rep = NULL, *cert = NULL;
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
        struct mc_snp_policy pol = {.has_at = vlek, .at = 1748736000 /* 2025-06-01 */};
        struct mc_snp_certs c = {cert, cn, NULL, 0, NULL, 0};
        struct mc_snp_report r;
        struct mc_snp_result res;
        CHECK(mc_snp_report_decode(rep, rn, &r, &e) == MC_OK);
        CHECK_MSG(mc_snp_verify(v, &r, &c, &pol, &res, &e) == MC_OK, "%s: %s", cases[i], e.msg);
        unsigned passed_wrongly = 0;
        for (size_t bit = 0; bit < 8u * MC_SNP_REPORT_SIZE; bit++) {
            rep[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            mc_status st = mc_snp_report_decode(rep, rn, &r, &e);
            if (st == MC_OK)
                st = mc_snp_verify(v, &r, &c, &pol, &res, &e);
            if (st == MC_OK) {
                passed_wrongly++;
                fprintf(stderr, "%s: flipping bit %zu (byte 0x%zx) still verifies\n", cases[i], bit % 8, bit / 8);
            }
            rep[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            total++;
        }
        CHECK_MSG(passed_wrongly == 0, "%s: %u flips verified", cases[i], passed_wrongly);
        free(rep);
        free(cert);
    }
    printf("%lu single-bit flips checked\n", total);
    mc_snp_verifier_free(v);
}

int main(void)
{
    RUN(test_bitflips);
    return check_summary();
}
