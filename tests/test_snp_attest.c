/* The SNP firmware's report builder: the version each emulated firmware emits (checked against the
 * real reports' firmware versions), every field at its pinned offset for every version and
 * generation, signatures by the VCEK at REPORTED_TCB or the VLEK verified by the project's verifier
 * through the emulated roots, unsigned (masked) reports, and refused contexts. */
#include <unistd.h>

#include <memcrypt/bytes.h>
#include <memcrypt/fileio.h>
#include <memcrypt/snp_attest.h>
#include <memcrypt/snp_fixture.h>
#include <memcrypt/snp_identity.h>
#include <memcrypt/snp_verify.h>

#include "check.h"
#include "snp_testlib.h"
#include "crypto/crypto.h"

static const uint8_t SECRET[32] = "memcrypt attest test chip secret";
static struct mc_snp_identity *chips[4]; /* by enum mc_snp_gen */
static char tmpdir[256];
static struct mc_rng *rng;

static void test_versions(void)
{
    static const char *const cases[] = {
        "gosev-milan", "virtee-milan", "trustee-milan-vcek", "trustee-milan-vlek", "azure-milan-hcl",
        "azure-genoa-hcl", "trustee-genoa-e2e", "oak-milan-cb", "oak-milan-oc-release", "oak-genoa-oc", "oak-turin-oc",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char p[512];
        snprintf(p, sizeof p, MC_TEST_DATA "/amd/snp-reports/%s/report.bin", cases[i]);
        uint8_t *b = NULL;
        size_t n = 0;
        struct mc_snp_report r;
        CHECK(mc_file_read(p, 1 << 16, &b, &n, NULL) == MC_OK && mc_snp_report_decode(b, n, &r, NULL) == MC_OK);
        free(b);
        enum mc_snp_gen g = strstr(cases[i], "turin") ? MC_SNP_GEN_TURIN
                            : strstr(cases[i], "genoa") ? MC_SNP_GEN_GENOA : MC_SNP_GEN_MILAN;
        CHECK_MSG(mc_snp_report_version_for(g, r.current_major, r.current_minor, r.current_build) == r.version,
                  "%s: firmware %u.%u.%u emitted version %u", cases[i], r.current_major, r.current_minor,
                  r.current_build, r.version);
        /* and the real report's PLATFORM_INFO fits the mask of its version */
        CHECK((r.platform_info & ~mc_snp_platform_info_mask(r.version)) == 0);
    }
    /* the memcrypt CPU profiles' firmware (SNP ABI 1.55, builds 21 / 37) */
    CHECK_EQ_U64(mc_snp_report_version_for(MC_SNP_GEN_MILAN, 1, 55, 21), 3);
    CHECK_EQ_U64(mc_snp_report_version_for(MC_SNP_GEN_GENOA, 1, 55, 37), 3);
    CHECK_EQ_U64(mc_snp_report_version_for(MC_SNP_GEN_TURIN, 1, 55, 0), 5);
    CHECK_EQ_U64(mc_snp_report_version_for(MC_SNP_GEN_GENOA, 1, 54, 99), 2);
}

static void rnd(void *p, size_t n) { CHECK(mc_rng_bytes(rng, p, n, NULL) == MC_OK); }

static void random_ctx(struct mc_snp_report_ctx *c, enum mc_snp_gen g, uint32_t version)
{
    memset(c, 0, sizeof *c);
    c->version = version;
    rnd(&c->policy, 8);
    rnd(&c->guest_svn, 4);
    rnd(c->family_id, 16);
    rnd(c->image_id, 16);
    rnd(c->measurement, 48);
    rnd(c->host_data, 32);
    rnd(c->id_key_digest, 48);
    c->author_key_en = true;
    rnd(c->author_key_digest, 48);
    rnd(c->report_id, 32);
    rnd(c->report_id_ma, 32);
    rnd(&c->launch_tcb, 8);
    rnd(&c->vmpl, 4);
    rnd(c->report_data, 64);
    rnd(&c->current_tcb, 8);
    rnd(&c->committed_tcb, 8);
    rnd(&c->reported_tcb, 8);
    rnd(&c->current_major, 1);
    rnd(&c->current_minor, 1);
    rnd(&c->current_build, 1);
    rnd(&c->committed_major, 1);
    rnd(&c->committed_minor, 1);
    rnd(&c->committed_build, 1);
    rnd(&c->platform_info, 8);
    c->platform_info &= mc_snp_platform_info_mask(version);
    if (version >= 5) {
        rnd(&c->launch_mit_vector, 8);
        rnd(&c->current_mit_vector, 8);
    }
    if (version >= 3) {
        c->cpuid_fam_id = g == MC_SNP_GEN_TURIN ? 0x1A : 0x19;
        c->cpuid_mod_id = g == MC_SNP_GEN_TURIN ? 0x02 : g == MC_SNP_GEN_GENOA ? 0x11 : 0x01;
        rnd(&c->cpuid_step, 1);
    }
}

/* Every field straight from its offset (SNP ABI table; not through the codec under test). */
static void check_layout(const uint8_t *b, const struct mc_snp_report_ctx *c, uint32_t v, const uint8_t chip[64])
{
    CHECK_EQ_U64(mc_le32(b + 0x000), v);
    CHECK_EQ_U64(mc_le32(b + 0x004), c->guest_svn);
    CHECK_EQ_U64(mc_le64(b + 0x008), c->policy);
    CHECK_MEM(b + 0x010, c->family_id, 16);
    CHECK_MEM(b + 0x020, c->image_id, 16);
    CHECK_EQ_U64(mc_le32(b + 0x030), c->vmpl);
    CHECK_EQ_U64(mc_le32(b + 0x034), 1);
    CHECK_EQ_U64(mc_le64(b + 0x038), c->current_tcb);
    CHECK_EQ_U64(mc_le64(b + 0x040), c->platform_info);
    CHECK_EQ_U64(mc_le32(b + 0x048), (c->author_key_en ? 1u : 0u) | (c->mask_chip_key ? 2u : 0u) | (c->signer << 2));
    CHECK_EQ_U64(mc_le32(b + 0x04C), 0);
    CHECK_MEM(b + 0x050, c->report_data, 64);
    CHECK_MEM(b + 0x090, c->measurement, 48);
    CHECK_MEM(b + 0x0C0, c->host_data, 32);
    CHECK_MEM(b + 0x0E0, c->id_key_digest, 48);
    CHECK_MEM(b + 0x110, c->author_key_digest, 48);
    CHECK_MEM(b + 0x140, c->report_id, 32);
    CHECK_MEM(b + 0x160, c->report_id_ma, 32);
    CHECK_EQ_U64(mc_le64(b + 0x180), c->reported_tcb);
    CHECK_EQ_U64(b[0x188], v >= 3 ? c->cpuid_fam_id : 0);
    CHECK_EQ_U64(b[0x189], v >= 3 ? c->cpuid_mod_id : 0);
    CHECK_EQ_U64(b[0x18A], v >= 3 ? c->cpuid_step : 0);
    uint8_t z[0x200] = {0};
    CHECK_MEM(b + 0x18B, z, 0x1A0 - 0x18B);
    CHECK_MEM(b + 0x1A0, chip, 64);
    CHECK_EQ_U64(mc_le64(b + 0x1E0), c->committed_tcb);
    CHECK(b[0x1E8] == c->current_build && b[0x1E9] == c->current_minor && b[0x1EA] == c->current_major && !b[0x1EB]);
    CHECK(b[0x1EC] == c->committed_build && b[0x1ED] == c->committed_minor && b[0x1EE] == c->committed_major &&
          !b[0x1EF]);
    CHECK_EQ_U64(mc_le64(b + 0x1F0), c->launch_tcb);
    CHECK_EQ_U64(mc_le64(b + 0x1F8), v >= 5 ? c->launch_mit_vector : 0);
    CHECK_EQ_U64(mc_le64(b + 0x200), v >= 5 ? c->current_mit_vector : 0);
    CHECK_MEM(b + 0x208, z, 0x2A0 - 0x208);
    CHECK_MEM(b + 0x330, z, 0x4A0 - 0x330);
    if (c->signer == MC_SNP_SIGNER_NONE)
        CHECK_MEM(b + 0x2A0, z, 0x200);
    else
        CHECK(b[0x2A0] | b[0x2A1] | b[0x2E8] | b[0x2E9]);
}

static void verify(struct mc_snp_identity *id, const uint8_t *b, const char *sub)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", tmpdir, sub);
    struct mc_error e;
    CHECK_MSG(snp_verify_exported(id, b, dir, &e) == MC_OK, "%s: %s", sub, e.msg);
    /* one bit of the signed area: refused on the signature */
    uint8_t t[MC_SNP_REPORT_SIZE];
    memcpy(t, b, sizeof t);
    t[0x90] ^= 0x04;
    CHECK(snp_verify_exported(id, t, dir, &e) == MC_E_VERIFY && strstr(e.msg, "signature"));
}

static void test_layout_and_signature(void)
{
    static const struct { enum mc_snp_gen g; uint32_t v; } cases[] = {
        {MC_SNP_GEN_MILAN, 2}, {MC_SNP_GEN_MILAN, 3}, {MC_SNP_GEN_GENOA, 3}, {MC_SNP_GEN_GENOA, 5},
        {MC_SNP_GEN_TURIN, 5}, {MC_SNP_GEN_MILAN, 4},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct mc_snp_identity *id = chips[cases[i].g];
        for (int round = 0; round < 3; round++) {
            struct mc_snp_report_ctx c;
            random_ctx(&c, cases[i].g, cases[i].v);
            c.signer = MC_SNP_SIGNER_VCEK;
            uint8_t b[MC_SNP_REPORT_SIZE], chip[64];
            struct mc_error e;
            CHECK_MSG(mc_snp_report_build(id, &c, b, &e) == MC_OK, "%s", e.msg);
            mc_snp_identity_chip_id(id, chip);
            check_layout(b, &c, cases[i].v, chip);
            if (round == 0) {
                char sub[32];
                snprintf(sub, sizeof sub, "%s-v%u", mc_snp_gen_name(cases[i].g), cases[i].v);
                verify(id, b, sub);
            }
        }
    }
}

static void test_signers(void)
{
    struct mc_snp_identity *id = chips[MC_SNP_GEN_GENOA];
    struct mc_snp_report_ctx c;
    random_ctx(&c, MC_SNP_GEN_GENOA, 5);
    uint8_t b[MC_SNP_REPORT_SIZE], zero[64] = {0};
    struct mc_error e;
    /* masked: no signature, SIGNING_KEY 7, MASK_CHIP_KEY, CHIP_ID zero */
    c.signer = MC_SNP_SIGNER_NONE;
    c.mask_chip_key = c.mask_chip_id = true;
    CHECK_MSG(mc_snp_report_build(id, &c, b, &e) == MC_OK, "%s", e.msg);
    check_layout(b, &c, 5, zero);
    CHECK_EQ_U64(mc_le32(b + 0x48) >> 2 & 7, 7);
    /* the VCEK may not sign with MASK_CHIP_KEY; the VLEK may */
    c.signer = MC_SNP_SIGNER_VCEK;
    CHECK(mc_snp_report_build(id, &c, b, NULL) == MC_E_INVAL);
    c.signer = MC_SNP_SIGNER_VLEK;
    CHECK(mc_snp_report_build(id, &c, b, &e) == MC_E_STATE && strstr(e.msg, "VLEK"));
    static const uint8_t vseed[48] = "attest test VLEK seed ..........................";
    uint8_t w[MC_SNP_VLEK_WRAPPED_LEN];
    mc_fw_status fw;
    c.reported_tcb = mc_snp_tcb_encode(MC_SNP_GEN_GENOA, 0, 10, 0, 23, 84);
    CHECK(mc_snp_vlek_wrap(id, vseed, c.reported_tcb, NULL, w, NULL) == MC_OK);
    CHECK(mc_snp_identity_vlek_load(id, w, sizeof w, c.reported_tcb, &fw, NULL) == MC_OK && fw == MC_FW_SUCCESS);
    c.mask_chip_id = false;
    CHECK_MSG(mc_snp_report_build(id, &c, b, &e) == MC_OK, "%s", e.msg);
    uint8_t chip[64];
    mc_snp_identity_chip_id(id, chip);
    check_layout(b, &c, 5, chip);
    verify(id, b, "genoa-vlek");
    mc_snp_identity_vlek_clear(id);
}

static void test_refusals(void)
{
    struct mc_snp_identity *id = chips[MC_SNP_GEN_MILAN];
    struct mc_snp_report_ctx c;
    uint8_t b[MC_SNP_REPORT_SIZE], keep[MC_SNP_REPORT_SIZE];
    memset(b, 0x5A, sizeof b);
    memcpy(keep, b, sizeof b);
    struct { uint32_t v; unsigned signer; uint64_t pi; uint64_t mit; uint8_t fam; bool ak; const char *why; } bad[] = {
        {1, 0, 0, 0, 0, true, "version"},        {6, 0, 0, 0, 0, true, "version"},
        {3, 2, 0, 0, 0, true, "signer"},         {2, 0, 0x20, 0, 0, true, "PLATFORM_INFO"},
        {3, 0, 0x80, 0, 0, true, "PLATFORM_INFO"}, {5, 0, 0x100, 0, 0, true, "PLATFORM_INFO"},
        {3, 0, 0, 1, 0, true, "mitigation"},     {2, 0, 0, 0, 0x19, true, "CPUID"},
        {3, 0, 0, 0, 0x19, false, "author"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        random_ctx(&c, MC_SNP_GEN_MILAN, 3);
        c.version = bad[i].v;
        c.signer = bad[i].signer;
        c.platform_info = bad[i].pi;
        c.launch_mit_vector = bad[i].mit;
        c.cpuid_fam_id = bad[i].fam;
        c.cpuid_mod_id = c.cpuid_step = 0;
        c.author_key_en = bad[i].ak;
        struct mc_error e;
        CHECK_MSG(mc_snp_report_build(id, &c, b, &e) == MC_E_INVAL && strstr(e.msg, bad[i].why), "%zu: %s", i, e.msg);
        CHECK_MEM(b, keep, sizeof b);
    }
    /* version 0: the firmware's own (Milan 1.55 -> 3) */
    random_ctx(&c, MC_SNP_GEN_MILAN, 3);
    c.version = 0;
    c.current_major = 1;
    c.current_minor = 55;
    c.signer = MC_SNP_SIGNER_NONE;
    CHECK(mc_snp_report_build(id, &c, b, NULL) == MC_OK && mc_le32(b) == 3);
    CHECK(mc_snp_report_build(NULL, &c, b, NULL) == MC_E_INVAL);
}

/* The fixture factory's emulated chip: a --roots folder and a report signed through the builder;
 * the same seed gives the same chip. */
static void test_fixture_chip(void)
{
    char dir[512], dir2[512], rep[600], rep2[600];
    snprintf(dir, sizeof dir, "%s/chip", tmpdir);
    snprintf(dir2, sizeof dir2, "%s/chip2", tmpdir);
    snprintf(rep, sizeof rep, "%s/chip.bin", tmpdir);
    snprintf(rep2, sizeof rep2, "%s/chip2.bin", tmpdir);
    struct mc_snp_fixture_chip_opts o = {.gen = MC_SNP_GEN_GENOA, .seed = (const uint8_t *)"chip", .seed_len = 4,
                                         .vlek = true, .report_out = rep, .vmpl = 1};
    memset(o.report_data, 0x42, 64);
    struct mc_error e;
    CHECK_MSG(mc_snp_fixture_make_chip(dir, &o, &e) == MC_OK, "%s", e.msg);
    o.vlek = false;
    o.report_out = rep2;
    CHECK_MSG(mc_snp_fixture_make_chip(dir2, &o, &e) == MC_OK, "%s", e.msg);
    struct mc_snp_report r[2];
    const char *files[2] = {rep, rep2}, *dirs[2] = {dir, dir2};
    for (int i = 0; i < 2; i++) {
        uint8_t *b = NULL, *leaf = NULL;
        size_t n = 0, ln = 0;
        CHECK(mc_file_read(files[i], 1 << 16, &b, &n, NULL) == MC_OK && mc_snp_report_decode(b, n, &r[i], NULL) == MC_OK);
        free(b);
        char p[600];
        snprintf(p, sizeof p, "%s/%s.der", dirs[i], i == 0 ? "vlek" : "vcek");
        CHECK(mc_file_read(p, 1 << 16, &leaf, &ln, NULL) == MC_OK);
        struct mc_snp_certs c = {.vcek = leaf, .vcek_len = ln};
        struct mc_snp_verifier *v = NULL;
        struct mc_snp_result res;
        struct mc_snp_policy pol = {.has_vmpl = true, .vmpl = 1, .has_report_data = true};
        memset(pol.report_data, 0x42, 64);
        CHECK(mc_snp_verifier_create(dirs[i], &v, NULL) == MC_OK);
        CHECK_MSG(mc_snp_verify(v, &r[i], &c, &pol, &res, &e) == MC_OK, "%s", e.msg);
        mc_snp_verifier_destroy(v);
        free(leaf);
    }
    CHECK(r[0].version == 3 && mc_snp_report_signer(&r[0]) == MC_SNP_SIGNER_VLEK &&
          mc_snp_report_signer(&r[1]) == MC_SNP_SIGNER_VCEK);
    CHECK_MEM(r[0].chip_id, r[1].chip_id, 64); /* same seed, same chip */
    o.gen = MC_SNP_GEN_UNKNOWN + 7;
    CHECK(mc_snp_fixture_make_chip(dir, &o, NULL) == MC_E_INVAL);
}

int main(void)
{
    mc_crypto_init();
    if (snp_tmpdir(tmpdir, sizeof tmpdir, "test_snp_attest") || mc_rng_create((const uint8_t *)"attest", 6, &rng, NULL) != MC_OK)
        return 1;
    for (int g = MC_SNP_GEN_MILAN; g <= MC_SNP_GEN_TURIN; g++) {
        /* each generation's emulated roots (RSA-4096, fixed per generation) */
        struct mc_snp_identity_params p = {.gen = (enum mc_snp_gen)g, .chip_secret = SECRET};
        struct mc_error e;
        CHECK_MSG(mc_snp_identity_create(&p, &chips[g], &e) == MC_OK, "%s", e.msg);
        if (!chips[g])
            return check_summary();
    }
    RUN(test_versions);
    RUN(test_layout_and_signature);
    RUN(test_signers);
    RUN(test_refusals);
    RUN(test_fixture_chip);
    for (int g = 0; g < 4; g++)
        mc_snp_identity_destroy(chips[g]);
    mc_rng_destroy(rng);
    snp_tmpdir_remove(tmpdir);
    return check_summary();
}
