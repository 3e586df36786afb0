/* Report decoder, TCB layouts, VCEK extension parser and certificate table, against AMD's real
 * reports and certificates in vectors/amd (facts from vectors/amd/README.md). */
#include <memcrypt/bytes.h>
#include <memcrypt/fileio.h>
#include <memcrypt/snp_report.h>
#include <memcrypt/snp_verify.h>

#include "check.h"
#include "crypto/x509.h"
#include "snp/vcek.h"

#define AMD MC_TEST_DATA "/amd/"

static uint8_t *slurp(const char *path, size_t *n)
{
    uint8_t *b = NULL;
    struct mc_error e;
    if (mc_file_read(path, 1 << 20, &b, n, &e) != MC_OK) {
        fprintf(stderr, "cannot read %s: %s\n", path, e.msg);
        *n = 0;
    }
    return b;
}

static int load(const char *c, struct mc_snp_report *r)
{
    char p[512];
    size_t n;
    snprintf(p, sizeof p, AMD "snp-reports/%s/report.bin", c);
    uint8_t *b = slurp(p, &n);
    struct mc_error e;
    int rc = b ? (int)mc_snp_report_decode(b, n, r, &e) : -1;
    free(b);
    return rc;
}

/* The README table: case, version, signer, policy, vmpl, bl, tee, snp, ucode (fmc for Turin). */
static const struct {
    const char *c;
    unsigned ver, signer;
    uint64_t policy;
    unsigned vmpl, bl, tee, snp, ucode;
    enum mc_snp_gen gen; /* from CPUID, v3+ */
} cases[] = {
    {"gosev-milan", 2, 0, 0xb0000, 0, 2, 0, 5, 68, MC_SNP_GEN_UNKNOWN},
    {"virtee-milan", 2, 0, 0x30000, 0, 3, 0, 8, 115, MC_SNP_GEN_UNKNOWN},
    {"trustee-milan-vcek", 2, 0, 0x3001f, 0, 3, 0, 8, 115, MC_SNP_GEN_UNKNOWN},
    {"trustee-milan-vlek", 3, 1, 0x30000, 1, 4, 0, 24, 217, MC_SNP_GEN_MILAN},
    {"azure-milan-hcl", 2, 0, 0x3001f, 0, 3, 0, 8, 115, MC_SNP_GEN_UNKNOWN},
    {"azure-genoa-hcl", 3, 0, 0x3001f, 0, 10, 0, 23, 84, MC_SNP_GEN_GENOA},
    {"trustee-genoa-e2e", 3, 0, 0x30000, 0, 10, 0, 23, 25, MC_SNP_GEN_GENOA},
    {"oak-milan-cb", 3, 0, 0x30000, 0, 4, 0, 24, 219, MC_SNP_GEN_MILAN},
    {"oak-milan-oc-release", 3, 0, 0x30000, 0, 4, 0, 24, 219, MC_SNP_GEN_MILAN},
    {"oak-milan-oc-staging", 3, 0, 0x30000, 0, 4, 0, 24, 219, MC_SNP_GEN_MILAN},
    {"oak-milan-rk-release", 3, 0, 0x30000, 0, 4, 0, 24, 219, MC_SNP_GEN_MILAN},
    {"oak-milan-rk-staging", 3, 0, 0x30000, 0, 4, 0, 24, 219, MC_SNP_GEN_MILAN},
    {"oak-genoa-oc", 5, 0, 0x30000, 0, 10, 0, 25, 84, MC_SNP_GEN_GENOA},
    {"oak-turin-oc", 5, 0, 0x30000, 0, 1, 0, 2, 71, MC_SNP_GEN_TURIN},
};

/* SNP_LAUNCH_START policy checks per firmware ABI: bits 21..25 are reserved at 1.55 (AMD's 1.55
 * firmware refuses them), accepted by newer firmware; 63:26 always reserved. */
static void test_snp_policy_per_abi(void)
{
    struct mc_error e;
    CHECK(mc_snp_policy_valid_mask(1, 55) == 0x1FFFFF && mc_snp_policy_valid_mask(1, 56) == 0x3FFFFFF);
    CHECK(mc_snp_policy_check(0x30000, 1, 55, true, &e) == MC_OK);
    CHECK(mc_snp_policy_check(0x1F0000 | 0x37 | 0x100, 1, 55, true, &e) == MC_OK); /* bits 16..20, ABI 1.55 */
    static const unsigned new_bits[] = {21, 22, 23, 24, 25};
    for (size_t i = 0; i < 5; i++) {
        uint64_t pol = 0x30000 | 1ull << new_bits[i];
        CHECK(mc_snp_policy_check(pol, 1, 55, true, &e) == MC_E_UNSUPPORTED && strstr(e.msg, "POLICY_FAILURE") &&
              strstr(e.msg, mc_snp_policy_bit_name(new_bits[i])));
        CHECK_MSG(mc_snp_policy_check(pol, 1, 56, true, &e) == MC_OK, "%s", e.msg);
    }
    CHECK(mc_snp_policy_check(0x30000 | 1ull << 26, 1, 60, true, &e) == MC_E_UNSUPPORTED && strstr(e.msg, "63:26"));
    CHECK(mc_snp_policy_check(0x10000, 1, 55, true, &e) == MC_E_UNSUPPORTED && strstr(e.msg, "bit 17"));
    CHECK(mc_snp_policy_check(0x20000, 1, 55, true, &e) == MC_E_UNSUPPORTED && strstr(e.msg, "SMT"));
    CHECK(mc_snp_policy_check(0x20000, 1, 55, false, &e) == MC_OK);
    CHECK(mc_snp_policy_check(0x30138, 1, 55, true, &e) == MC_E_UNSUPPORTED && strstr(e.msg, "requires ABI 1.56"));
}

static void test_real_reports_decode(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct mc_snp_report r;
        CHECK_MSG(load(cases[i].c, &r) == MC_OK, "%s", cases[i].c);
        CHECK_EQ_U64(r.version, cases[i].ver);
        CHECK_EQ_U64(mc_snp_report_signer(&r), cases[i].signer);
        CHECK_EQ_U64(r.policy, cases[i].policy);
        CHECK_EQ_U64(r.vmpl, cases[i].vmpl);
        CHECK_EQ_U64(r.signature_algo, 1);
        CHECK_EQ_U64(mc_snp_report_gen(&r), cases[i].gen);
        struct mc_snp_tcb t;
        mc_snp_tcb_decode(r.reported_tcb, cases[i].gen, &t);
        CHECK_MSG(t.bootloader == cases[i].bl && t.tee == cases[i].tee && t.snp == cases[i].snp &&
                      t.microcode == cases[i].ucode,
                  "%s: bl=%u tee=%u snp=%u ucode=%u", cases[i].c, t.bootloader, t.tee, t.snp, t.microcode);
        CHECK(t.has_fmc == (cases[i].gen == MC_SNP_GEN_TURIN));
        /* encode(decode(x)) == x for every real report */
        uint8_t back[MC_SNP_REPORT_SIZE];
        mc_snp_report_encode(&r, back);
        CHECK_MSG(!memcmp(back, r.raw, sizeof back), "%s: re-encode differs", cases[i].c);
    }
    struct mc_snp_report r;
    CHECK(load("trustee-genoa-e2e", &r) == MC_OK && r.cpuid_fam_id == 0x19 && r.cpuid_mod_id == 0xA0 && r.cpuid_step == 2);
    CHECK(load("oak-turin-oc", &r) == MC_OK && r.cpuid_fam_id == 0x1A && r.chip_id[8] == 0);
    /* Real Milan example from the digest: version bytes at 0x1E8 = 04 34 01 (1.52 build 4) */
    CHECK(load("virtee-milan", &r) == MC_OK);
    CHECK(r.current_build == r.raw[0x1E8] && r.current_minor == r.raw[0x1E9] && r.current_major == r.raw[0x1EA]);
}

static void test_bad_reports(void)
{
    size_t n;
    uint8_t *b = slurp(AMD "snp-reports/virtee-milan/report.bin", &n);
    CHECK(b && n == MC_SNP_REPORT_SIZE);
    if (!b)
        return;
    struct mc_snp_report r;
    memset(&r, 0xAA, sizeof r);
    struct mc_error e;
    CHECK(mc_snp_report_decode(b, n - 1, &r, &e) == MC_E_RANGE && strstr(e.msg, "truncated"));
    CHECK(r.version == 0xAAAAAAAA); /* untouched on failure */
    uint8_t big[MC_SNP_REPORT_SIZE + 1];
    memcpy(big, b, n);
    big[n] = 0;
    CHECK(mc_snp_report_decode(big, sizeof big, &r, &e) == MC_E_RANGE && strstr(e.msg, "oversized"));
    CHECK(mc_snp_report_decode(b, 0, &r, &e) == MC_E_RANGE);
    CHECK(mc_snp_report_decode(NULL, n, &r, &e) == MC_E_INVAL);
    static const uint32_t bad_versions[] = {0, 1, 6, 0xffffffffu};
    for (size_t i = 0; i < 4; i++) {
        uint8_t c[MC_SNP_REPORT_SIZE];
        memcpy(c, b, n);
        mc_put_le32(c, bad_versions[i]);
        CHECK(mc_snp_report_decode(c, n, &r, &e) == MC_E_UNSUPPORTED && strstr(e.msg, "version"));
    }
    free(b);
}

static void test_tcb(void)
{
    struct mc_snp_tcb t;
    /* digest example: 03 00 00 00 00 00 08 73 = BL 3, TEE 0, SNP 8, ucode 0x73 */
    uint8_t ex[8] = {3, 0, 0, 0, 0, 0, 8, 0x73};
    mc_snp_tcb_decode(mc_le64(ex), MC_SNP_GEN_MILAN, &t);
    CHECK(t.bootloader == 3 && t.tee == 0 && t.snp == 8 && t.microcode == 0x73 && !t.has_fmc);
    uint8_t tu[8] = {5, 1, 2, 3, 0, 0, 0, 71};
    mc_snp_tcb_decode(mc_le64(tu), MC_SNP_GEN_TURIN, &t);
    CHECK(t.fmc == 5 && t.bootloader == 1 && t.tee == 2 && t.snp == 3 && t.microcode == 71 && t.has_fmc);
    CHECK(mc_snp_tcb_encode(MC_SNP_GEN_TURIN, 5, 1, 2, 3, 71) == mc_le64(tu));
    CHECK(mc_snp_tcb_encode(MC_SNP_GEN_MILAN, 0, 3, 0, 8, 0x73) == mc_le64(ex));
    uint64_t v;
    struct mc_error e;
    CHECK(mc_snp_tcb_parse("bl=3,tee=0,snp=8,ucode=115", MC_SNP_GEN_MILAN, &v, &e) == MC_OK && v == mc_le64(ex));
    CHECK(mc_snp_tcb_parse("0x7308000000000003", MC_SNP_GEN_MILAN, &v, &e) == MC_OK && v == mc_le64(ex));
    CHECK(mc_snp_tcb_parse("fmc=1", MC_SNP_GEN_MILAN, &v, &e) == MC_E_FORMAT);
    CHECK(mc_snp_tcb_parse("bl=256", MC_SNP_GEN_MILAN, &v, &e) == MC_E_RANGE);
    CHECK(mc_snp_tcb_parse("xx=1", MC_SNP_GEN_MILAN, &v, &e) == MC_E_FORMAT);
    CHECK(mc_snp_tcb_parse("bl", MC_SNP_GEN_MILAN, &v, &e) != MC_OK);
    CHECK(mc_snp_tcb_ge(mc_le64(ex), mc_le64(ex), MC_SNP_GEN_MILAN));
    uint8_t lower[8] = {3, 0, 0, 0, 0, 0, 7, 0x73}, higher_bl[8] = {4, 0, 0, 0, 0, 0, 7, 0x73};
    CHECK(mc_snp_tcb_ge(mc_le64(ex), mc_le64(lower), MC_SNP_GEN_MILAN));
    CHECK(!mc_snp_tcb_ge(mc_le64(ex), mc_le64(higher_bl), MC_SNP_GEN_MILAN)); /* bl lower though snp higher */
    CHECK(mc_snp_gen_from_cpuid(0x19, 0x01) == MC_SNP_GEN_MILAN && mc_snp_gen_from_cpuid(0x19, 0x11) == MC_SNP_GEN_GENOA &&
          mc_snp_gen_from_cpuid(0x19, 0xA0) == MC_SNP_GEN_GENOA && mc_snp_gen_from_cpuid(0x1A, 0x02) == MC_SNP_GEN_TURIN &&
          mc_snp_gen_from_cpuid(0x17, 0x31) == MC_SNP_GEN_UNKNOWN && mc_snp_gen_from_cpuid(0x1A, 0x12) == MC_SNP_GEN_UNKNOWN);
    CHECK(mc_snp_gen_parse("Milan-B0") == MC_SNP_GEN_MILAN && mc_snp_gen_parse("genoa") == MC_SNP_GEN_GENOA &&
          mc_snp_gen_parse("Turin") == MC_SNP_GEN_TURIN && mc_snp_gen_parse("Milano") == MC_SNP_GEN_UNKNOWN);
}

static mc_status vcek_info(const char *rel, struct mc_snp_vcek_info *info, struct mc_error *e)
{
    X509 *x;
    mc_status st = mc_x509_load_file(rel, "VCEK", &x, e);
    if (st)
        return st;
    st = mc_snp_vcek_parse(x, info, e);
    X509_free(x);
    return st;
}

static void test_vcek_extensions(void)
{
    struct mc_snp_vcek_info i;
    struct mc_error e;
    struct mc_snp_report r;
    CHECK(vcek_info(AMD "snp-reports/virtee-milan/vcek.der", &i, &e) == MC_OK);
    CHECK(i.gen == MC_SNP_GEN_MILAN && !strcmp(i.product, "Milan-B0") && i.hwid_len == 64);
    CHECK(load("virtee-milan", &r) == MC_OK && !memcmp(i.hwid, r.chip_id, 64));
    CHECK(i.has_spl[1] && i.spl[1] == 3 && i.spl[3] == 8 && i.spl[8] == 115 && !i.has_spl[9]);
    CHECK(vcek_info(AMD "snp-reports/oak-turin-oc/vcek.der", &i, &e) == MC_OK);
    CHECK(i.gen == MC_SNP_GEN_TURIN && i.hwid_len == 8 && i.has_spl[9] && !i.has_spl[4] && i.struct_version == 1);
    CHECK(load("oak-turin-oc", &r) == MC_OK && !memcmp(i.hwid, r.chip_id, 8));
    CHECK(vcek_info(AMD "snp-extra/vcek-turin.der", &i, &e) == MC_OK && i.gen == MC_SNP_GEN_TURIN && i.hwid_len == 8);
    CHECK(vcek_info(AMD "snp-reports/trustee-milan-vlek/vlek.der", &i, &e) == MC_OK);
    CHECK(i.hwid_len == 0 && i.has_csp_id && !strcmp(i.product, "Milan"));
    /* hwID wrapped in an OCTET STRING (seen in the wild; trustee reads both): decoded, and the
     * encoding is recorded. This certificate is still refused by verification: its signature is
     * not AMD's (test_verify). */
    CHECK_MSG(vcek_info(AMD "snp-negative/test-vcek-invalid-new.der", &i, &e) == MC_OK, "%s", e.msg);
    CHECK(i.hwid_len == 64 && i.hwid_wrapped && i.gen == MC_SNP_GEN_MILAN);
    /* the legacy negative cert decodes (its hwID is raw), the chain check refuses it (test_verify) */
    CHECK(vcek_info(AMD "snp-negative/test-vcek-invalid-legacy.der", &i, &e) == MC_OK && i.hwid[0] == 0 && i.hwid[1] == 1);
    CHECK(!i.hwid_wrapped);
    /* an ARK is not a VCEK */
    CHECK(vcek_info(AMD "snp-ca/ark-milan.pem", &i, &e) == MC_E_FORMAT && strstr(e.msg, "productName"));
    /* not certificates */
    X509 *x;
    CHECK(mc_x509_load_file(AMD "snp-reports/virtee-milan/report.bin", "VCEK", &x, &e) == MC_E_FORMAT);
    CHECK(mc_x509_load((const uint8_t *)"-----BEGIN CERTIFICATE-----\nAAAA\n", 33, "VCEK", &x, &e) == MC_E_FORMAT);
    CHECK(mc_x509_load((const uint8_t *)"", 0, "VCEK", &x, &e) == MC_E_FORMAT);
    size_t n;
    uint8_t *der = slurp(AMD "snp-reports/virtee-milan/vcek.der", &n);
    if (der) {
        uint8_t *more = malloc(n + 3);
        memcpy(more, der, n);
        memset(more + n, 0, 3);
        CHECK(mc_x509_load(more, n + 3, "VCEK", &x, &e) == MC_E_FORMAT && strstr(e.msg, "trailing"));
        CHECK(mc_x509_load(der, n - 1, "VCEK", &x, &e) == MC_E_FORMAT);
        free(more);
        free(der);
    }
}

/* Report containers: hex text and Azure's HCL blob give the same report as the raw file; the
 * HCL runtime claims are bound into REPORT_DATA (and a changed claim is seen). */
static void test_containers(void)
{
    size_t nr, nh, nx;
    uint8_t *raw = slurp(AMD "snp-reports/azure-milan-hcl/report.bin", &nr);
    uint8_t *hcl = slurp(AMD "snp-reports/azure-milan-hcl/hcl-report.bin", &nh);
    uint8_t *hex = slurp(AMD "snp-reports/virtee-milan/report_milan.hex", &nx);
    uint8_t *vraw = slurp(AMD "snp-reports/virtee-milan/report.bin", &nr);
    CHECK(raw && hcl && hex && vraw);
    if (!raw || !hcl || !hex || !vraw)
        goto out;
    uint8_t r[MC_SNP_REPORT_SIZE];
    struct mc_snp_container_info ci;
    struct mc_error e;
    CHECK(mc_snp_report_unwrap(hcl, nh, r, &ci, &e) == MC_OK && ci.kind == MC_SNP_CONTAINER_AZURE_HCL);
    CHECK(ci.report_offset == 0x20 && ci.runtime_len == 1110 && ci.has_runtime_hash && ci.runtime_hash_len == 32);
    CHECK(ci.runtime_bound && !memcmp(r, raw, MC_SNP_REPORT_SIZE));
    hcl[0x4c0 + 20 + 100] ^= 1; /* one byte of the runtime claims (JSON) */
    CHECK(mc_snp_report_unwrap(hcl, nh, r, &ci, &e) == MC_OK && !ci.runtime_bound);
    hcl[0x4c0 + 20 + 100] ^= 1;
    hcl[12] = 4; /* request type: not SNP */
    CHECK(mc_snp_report_unwrap(hcl, nh, r, &ci, &e) == MC_E_UNSUPPORTED);
    hcl[12] = 2;
    hcl[8] ^= 1; /* report size no longer adds up */
    CHECK(mc_snp_report_unwrap(hcl, nh, r, &ci, &e) == MC_E_FORMAT);
    hcl[8] ^= 1;
    CHECK(mc_snp_report_unwrap(hcl, 0x4c0 + 10, r, &ci, &e) == MC_E_FORMAT);
    CHECK(mc_snp_report_unwrap(hex, nx, r, &ci, &e) == MC_OK && ci.kind == MC_SNP_CONTAINER_HEX);
    CHECK(!memcmp(r, vraw, MC_SNP_REPORT_SIZE));
    CHECK(mc_snp_report_unwrap(hex, nx - 4, r, &ci, &e) == MC_E_RANGE && strstr(e.msg, "hex text"));
    CHECK(mc_snp_report_unwrap(vraw, MC_SNP_REPORT_SIZE, r, &ci, &e) == MC_OK && ci.kind == MC_SNP_CONTAINER_RAW);
    CHECK(mc_snp_report_unwrap(vraw, 100, r, &ci, &e) == MC_E_RANGE);
out:
    free(raw);
    free(hcl);
    free(hex);
    free(vraw);
}

/* The AMD key-server URL for a report's VCEK; the go-sev-guest test fetches exactly this one. */
static void test_kds_url(void)
{
    size_t n;
    uint8_t *b = slurp(MC_TEST_DATA "/peers/cases/go-sev-guest/TestRealAttestationVerification_happy/attestation.bin", &n);
    struct mc_snp_report r;
    CHECK(b && mc_snp_report_decode(b, n, &r, NULL) == MC_OK);
    free(b);
    char u[512];
    CHECK(mc_snp_kds_url(&r, MC_SNP_GEN_MILAN, u, sizeof u) == MC_OK);
    CHECK_MSG(!strcmp(u, "https://kdsintf.amd.com/vcek/v1/Milan/3ac3fe21e13fb0990eb28a802e3fb6a29483a6b0753590c951bdd3b8e53786184ca39e359669a2b76a1936776b564ea464cdce40c05f63c9b610c5068b006b5d?blSPL=2&teeSPL=0&snpSPL=5&ucodeSPL=68"), "%s", u);
    CHECK(load("oak-turin-oc", &r) == MC_OK && mc_snp_kds_url(&r, MC_SNP_GEN_UNKNOWN, u, sizeof u) == MC_OK);
    CHECK_MSG(strstr(u, "/vcek/v1/Turin/") && strstr(u, "?fmcSPL=") && strlen(strstr(u, "Turin/") + 6) > 16 &&
                  strstr(u, "Turin/")[6 + 16] == '?', "%s", u); /* Turin: an 8-byte hwID */
    memset(r.chip_id, 0, sizeof r.chip_id);
    CHECK(mc_snp_kds_url(&r, MC_SNP_GEN_UNKNOWN, u, sizeof u) == MC_E_NOTFOUND && strstr(u, "masked"));
}

static void test_certtable(void)
{
    size_t n1, n2;
    uint8_t *v = slurp(AMD "snp-reports/virtee-milan/vcek.der", &n1);
    uint8_t *a = slurp(AMD "snp-ca/ask-milan.pem", &n2);
    struct mc_snp_certs c = {v, n1, a, n2, NULL, 0};
    uint8_t *t;
    size_t tn;
    struct mc_error e;
    CHECK(mc_snp_certtable_build(&c, false, &t, &tn, &e) == MC_OK);
    struct mc_snp_certtable tab;
    CHECK(mc_snp_certtable_parse(t, tn, &tab, &e) == MC_OK && tab.n == 2);
    CHECK(tab.e[0].kind == MC_SNP_CERT_VCEK && tab.e[1].kind == MC_SNP_CERT_ASK);
    /* GUID bytes of the VCEK entry: 63da758d-e664-4564-adc5-f4b93be8accd in RFC 4122 order */
    static const uint8_t vguid[16] = {0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64,
                                      0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd};
    CHECK_MEM(t, vguid, 16);
    CHECK_EQ_U64(mc_le32(t + 16), 72); /* 3 entries of 24 bytes incl. terminator */
    struct mc_snp_certs back;
    mc_snp_certtable_certs(&tab, t, false, &back);
    CHECK(back.vcek_len == n1 && !memcmp(back.vcek, v, n1) && back.ask_len == n2 && !back.ark);
    /* malformed tables */
    CHECK(mc_snp_certtable_parse(t, 47, &tab, &e) == MC_E_FORMAT);       /* no terminator within */
    uint8_t *m = malloc(tn);
    memcpy(m, t, tn);
    mc_put_le32(m + 16, (uint32_t)tn);                                    /* out of bounds */
    CHECK(mc_snp_certtable_parse(m, tn, &tab, &e) == MC_E_FORMAT && strstr(e.msg, "outside"));
    memcpy(m, t, tn);
    mc_put_le32(m + 16, 24);                                              /* overlaps the table */
    CHECK(mc_snp_certtable_parse(m, tn, &tab, &e) == MC_E_FORMAT && strstr(e.msg, "overlaps"));
    memcpy(m, t, tn);
    memcpy(m + 24, m, 16);                                                /* VCEK twice */
    CHECK(mc_snp_certtable_parse(m, tn, &tab, &e) == MC_E_FORMAT && strstr(e.msg, "twice"));
    memcpy(m, t, tn);
    mc_put_le32(m + 16, 0xfffffff0u);                                     /* offset + length overflows 32 bits */
    mc_put_le32(m + 20, 0x20);
    CHECK(mc_snp_certtable_parse(m, tn, &tab, &e) == MC_E_FORMAT);
    CHECK(mc_snp_certtable_parse(t, 0, &tab, &e) == MC_E_FORMAT);
    free(m);
    free(t);
    free(v);
    free(a);
}

int main(void)
{
    RUN(test_snp_policy_per_abi);
    RUN(test_real_reports_decode);
    RUN(test_bad_reports);
    RUN(test_tcb);
    RUN(test_vcek_extensions);
    RUN(test_certtable);
    RUN(test_containers);
    RUN(test_kds_url);
    return check_summary();
}
