/* Tests of the launch-measurement library: the SNP PAGE_INFO chain re-derived step by step with
 * OpenSSL from the transcript, the kernel-hashes table against its spec layout, vCPU signatures,
 * VMSA pages against the reference calculator's dumps, SEV digests against the image's SHA-256,
 * refusals with the missing section named, and transcript diffs. */
#include <memcrypt/bytes.h>
#include <memcrypt/fileio.h>
#include <memcrypt/measure.h>
#include <memcrypt/ovmf.h>
#include <memcrypt/vmsa.h>

#include <openssl/evp.h>

#include "check.h"
#include "crypto/hashctx.h"

static uint8_t *load(const char *path, size_t *n)
{
    uint8_t *b = NULL;
    struct mc_error e;
    if (mc_file_read(path, 1u << 28, &b, n, &e) != MC_OK) {
        fprintf(stderr, "cannot read %s: %s\n", path, e.msg);
        return NULL;
    }
    return b;
}

static void sha(const char *alg, const void *p, size_t n, uint8_t *out)
{
    unsigned len;
    EVP_Digest(p, n, out, &len, EVP_get_digestbyname(alg), NULL);
}

static void test_vcpu_sigs(void)
{
    /* CPUID(1).EAX values of QEMU's EPYC models (AMD CPUID spec encoding). */
    static const struct {
        const char *name;
        uint32_t sig;
    } want[] = {{"EPYC", 0x00800F12},       {"EPYC-v4", 0x00800F12},    {"EPYC-Rome", 0x00830F10},
                {"EPYC-Milan", 0x00A00F11}, {"EPYC-Milan-v2", 0x00A00F11}, {"EPYC-Genoa", 0x00A10F10},
                {"EPYC-Turin", 0x00B00F00}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        uint32_t s = 0;
        CHECK(mc_vcpu_type_sig(want[i].name, &s, NULL) == MC_OK);
        CHECK_EQ_U64(s, want[i].sig);
    }
    uint32_t s;
    struct mc_error e;
    CHECK(mc_vcpu_type_sig("EPYC-Naples-v9", &s, &e) == MC_E_NOTFOUND && strstr(e.msg, "EPYC-Milan"));
    CHECK(mc_cpu_sig(25, 17, 0, &s, NULL) == MC_OK && s == 0x00A10F10);
    CHECK(mc_cpu_sig(6, 0x55, 7, &s, NULL) == MC_OK && s == 0x00050657); /* family <= 0xf: no extended family */
    CHECK(mc_cpu_sig(300, 1, 1, &s, &e) == MC_E_RANGE);
    /* every known name resolves; the names are sorted (strcmp), and an unknown name's message
     * lists all of them in that order */
    char list[512] = "";
    size_t used = 0;
    for (size_t i = 0; mc_vcpu_type_name_at(i); i++) {
        CHECK(mc_vcpu_type_sig(mc_vcpu_type_name_at(i), &s, NULL) == MC_OK);
        if (i)
            CHECK(strcmp(mc_vcpu_type_name_at(i - 1), mc_vcpu_type_name_at(i)) < 0);
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", mc_vcpu_type_name_at(i));
    }
    CHECK(used > 100 && used < sizeof list);
    CHECK(mc_vcpu_type_sig("nope", &s, &e) == MC_E_NOTFOUND && strstr(e.msg, list) && strstr(e.msg, "(known: EPYC, "));
}

static void test_vmsa_vs_reference_dump(void)
{
    size_t n0, n1;
    uint8_t *r0 = load(MC_TEST_DATA "/snp-measure/vmsa/snp_OVMF.fd_EPYC-Milan_2vcpu_gf0x21_vmsa0.bin", &n0);
    uint8_t *r1 = load(MC_TEST_DATA "/snp-measure/vmsa/snp_OVMF.fd_EPYC-Milan_2vcpu_gf0x21_vmsa1.bin", &n1);
    size_t on;
    uint8_t *ovmf = load(MC_OVMF_DIR "/OVMF.fd", &on);
    CHECK(r0 && r1 && ovmf && n0 == MC_VMSA_SIZE && n1 == MC_VMSA_SIZE);
    if (r0 && r1 && ovmf) {
        struct mc_ovmf o;
        CHECK(mc_ovmf_parse(ovmf, on, MC_OVMF_FOUR_GB, &o, NULL) == MC_OK);
        uint32_t sig;
        mc_vcpu_type_sig("EPYC-Milan", &sig, NULL);
        uint8_t p[MC_VMSA_SIZE];
        struct mc_vmsa_params prm = {.eip = MC_VMSA_BSP_EIP, .sev_features = 0x21, .vcpu_sig = sig};
        mc_vmsa_build(&prm, p);
        CHECK_MEM(p, r0, MC_VMSA_SIZE);
        prm.eip = o.reset_eip;
        mc_vmsa_build(&prm, p);
        CHECK_MEM(p, r1, MC_VMSA_SIZE);
        CHECK_EQ_U64(mc_vmsa_get(p, mc_vmsa_field_by_name("RIP")), o.reset_eip & 0xffff);
        CHECK_EQ_U64(mc_vmsa_get(p, mc_vmsa_field_by_name("CS.base")), o.reset_eip & 0xffff0000);
        CHECK_EQ_U64(mc_vmsa_get(p, mc_vmsa_field_by_name("RDX")), sig);
        /* EC2: BSP CS attribute 0x9a, RDX 0x600; GCE: its own PAT. */
        prm.vmm = MC_VMM_EC2;
        prm.eip = MC_VMSA_BSP_EIP;
        mc_vmsa_build(&prm, p);
        CHECK_EQ_U64(mc_vmsa_get(p, mc_vmsa_field_by_name("CS.attrib")), 0x9a);
        CHECK_EQ_U64(mc_vmsa_get(p, mc_vmsa_field_by_name("RDX")), 0x600);
        prm.vmm = MC_VMM_GCE;
        mc_vmsa_build(&prm, p);
        CHECK_EQ_U64(mc_vmsa_get(p, mc_vmsa_field_by_name("G_PAT")), 0x70106);
        CHECK_EQ_U64(mc_vmsa_get(p, mc_vmsa_field_by_name("MXCSR")), 0);
    }
    free(r0);
    free(r1);
    free(ovmf);
}

static void test_hashes_table(void)
{
    uint8_t t[MC_SEV_HASHES_TABLE_LEN];
    const uint8_t kernel[] = "kernel bytes", initrd[] = "initrd";
    CHECK(mc_sev_hashes_table(kernel, sizeof kernel - 1, initrd, sizeof initrd - 1, "console=ttyS0", t, NULL) == MC_OK);
    uint8_t g[16], h[32];
    mc_guid_parse("9438d606-4f22-4cc9-b479-a793d411fd21", g, NULL);
    CHECK_MEM(t, g, 16);
    CHECK_EQ_U64(mc_le16(t + 0x10), 168);
    mc_guid_parse("97d02dd8-bd20-4c94-aa78-e7714d36ab2a", g, NULL);
    CHECK_MEM(t + 0x12, g, 16);
    CHECK_EQ_U64(mc_le16(t + 0x22), 50);
    sha("SHA256", "console=ttyS0", 14, h); /* with its NUL */
    CHECK_MEM(t + 0x24, h, 32);
    mc_guid_parse("44baf731-3a2f-4bd7-9af1-41e29169781d", g, NULL);
    CHECK_MEM(t + 0x44, g, 16);
    sha("SHA256", initrd, 6, h);
    CHECK_MEM(t + 0x56, h, 32);
    mc_guid_parse("4de79437-abd2-427f-b835-d5b172d2045b", g, NULL);
    CHECK_MEM(t + 0x76, g, 16);
    sha("SHA256", kernel, 12, h);
    CHECK_MEM(t + 0x88, h, 32);
    static const uint8_t zero[8];
    CHECK_MEM(t + 0xa8, zero, 8);
    /* No cmdline: hash of a lone NUL; no initrd: hash of nothing. */
    CHECK(mc_sev_hashes_table(kernel, 12, NULL, 0, NULL, t, NULL) == MC_OK);
    sha("SHA256", "", 1, h);
    CHECK_MEM(t + 0x24, h, 32);
    sha("SHA256", "", 0, h);
    CHECK_MEM(t + 0x56, h, 32);
}

/* Re-derive every SNP chain step from the transcript with OpenSSL. */
static void check_chain(const struct mc_measure_transcript *t, const uint8_t *final)
{
    uint8_t ld[48] = {0};
    for (size_t i = 0; i < t->n; i++) {
        const struct mc_measure_step *s = &t->rec[i].step;
        uint8_t pi[0x70] = {0};
        memcpy(pi, ld, 48);
        memcpy(pi + 0x30, s->contents, 48);
        pi[0x60] = 0x70;
        pi[0x62] = (uint8_t)s->page_type;
        mc_put_le64(pi + 0x68, s->gpa);
        sha("SHA384", pi, sizeof pi, ld);
        CHECK_MSG(!memcmp(ld, s->digest, 48), "step %zu", i);
        if (memcmp(ld, s->digest, 48))
            return;
        if (t->rec[i].vmsa) {
            uint8_t c[48];
            sha("SHA384", t->rec[i].vmsa, MC_VMSA_SIZE, c);
            CHECK_MEM(c, s->contents, 48);
        }
    }
    CHECK_MEM(ld, final, 48);
}

/* The page hashes of SNP NORMAL pages: each page's own SHA-384 whatever the runs of equal pages
 * (hashed once, then compared) and however many threads share the work. */
static void test_page_hashes(void)
{
    enum { N = 300 };
    uint8_t *d = malloc((size_t)N * 4096);
    uint8_t(*got)[48] = malloc(N * sizeof *got);
    uint8_t(*want)[48] = malloc(N * sizeof *want);
    CHECK(d && got && want);
    if (!d || !got || !want)
        goto out;
    for (size_t i = 0; i < N; i++) {
        uint8_t *p = d + i * 4096;
        if (i < 90) /* a run of erased pages, like a variable store */
            memset(p, 0xff, 4096);
        else if (i < 150) /* distinct pages */
            for (size_t k = 0; k < 4096; k++)
                p[k] = (uint8_t)(i * 31 + k * 7);
        else if (i < 200) /* zero pages, some differing only in their last or first byte */
            memset(p, 0, 4096), p[4095] = (uint8_t)(i % 3 == 0), p[0] = (uint8_t)(i % 7 == 0);
        else /* pairs of equal pages */
            memset(p, (int)(i / 2), 4096);
        sha("SHA384", p, 4096, want[i]);
    }
    for (unsigned t = 1; t <= 5; t++) {
        memset(got, 0, N * sizeof *got);
        CHECK(mc_sha384_pages(d, N, got, t, NULL) == MC_OK);
        CHECK_MSG(!memcmp(got, want, N * sizeof *got), "%u threads", t);
        memset(got, 0, N * sizeof *got);
        CHECK(mc_sha384_pages(d + 17 * 4096, 3, got, t, NULL) == MC_OK);
        CHECK_MEM(got, want + 17, 3 * sizeof *got);
    }
    CHECK(mc_sha384_pages(d, 0, got, 2, NULL) == MC_OK);
out:
    free(d);
    free(got);
    free(want);
}

static void test_snp_chain(void)
{
    size_t on, kn, in_;
    uint8_t *ovmf = load(MC_TEST_DATA "/snp-measure/ovmf_AmdSev_suffix.bin", &on);
    uint8_t *k = load(MC_TEST_DATA "/snp-measure/fake-kernel.bin", &kn);
    uint8_t *ird = load(MC_TEST_DATA "/snp-measure/fake-initrd.bin", &in_);
    CHECK(ovmf && k && ird);
    if (!ovmf || !k || !ird)
        goto out;
    struct mc_measure_transcript t = {0};
    struct mc_measure_input in = {.mode = MC_MEASURE_SNP, .ovmf = ovmf, .ovmf_len = on, .vcpus = 3,
                                  .guest_features = 0x21, .has_kernel = true, .kernel = k, .kernel_len = kn,
                                  .initrd = ird, .initrd_len = in_, .append = "console=ttyS0",
                                  .on_step = mc_measure_transcript_step, .cb_ctx = &t};
    mc_vcpu_type_sig("EPYC-Genoa", &in.vcpu_sig, NULL);
    uint8_t d[48];
    size_t dn;
    CHECK(mc_measure(&in, d, &dn, NULL) == MC_OK && dn == 48);
    CHECK(!t.failed && t.n > 4);
    check_chain(&t, d);
    /* The kernel-hashes page is NORMAL, the VMSAs come last at KVM's VMSA GPA. */
    int normal_hashes = 0, vmsas = 0;
    for (size_t i = 0; i < t.n; i++) {
        if (!strcmp(t.rec[i].step.what, "SNP_KERNEL_HASHES") && t.rec[i].step.page_type == MC_SNP_PAGE_NORMAL)
            normal_hashes++;
        if (t.rec[i].step.page_type == MC_SNP_PAGE_VMSA) {
            vmsas++;
            CHECK_EQ_U64(t.rec[i].step.gpa, 0xFFFFFFFFF000ull);
        }
    }
    CHECK(normal_hashes == 1 && vmsas == 3);
    CHECK(t.rec[t.n - 3].step.vcpu == 0 && t.rec[t.n - 1].step.vcpu == 2);

    /* EC2 moves the CPUID page after all other sections; GCE measures SEC memory as UNMEASURED. */
    struct mc_measure_transcript t2 = {0};
    in.cb_ctx = &t2;
    in.vmm = MC_VMM_EC2;
    CHECK(mc_measure(&in, d, &dn, NULL) == MC_OK);
    check_chain(&t2, d);
    CHECK(t2.rec[t2.n - 4].step.page_type == MC_SNP_PAGE_CPUID);
    struct mc_measure_diff df;
    mc_measure_transcript_diff(&t, &t2, &df);
    CHECK(!df.identical && strstr(df.reason, "differ"));
    mc_measure_transcript_free(&t2);
    in.vmm = MC_VMM_GCE;
    in.cb_ctx = &t2;
    CHECK(mc_measure(&in, d, &dn, NULL) == MC_OK);
    size_t unmeasured = 0;
    for (size_t i = 0; i < t2.n; i++)
        unmeasured += t2.rec[i].step.page_type == MC_SNP_PAGE_UNMEASURED;
    CHECK(unmeasured > 0);
    mc_measure_transcript_free(&t2);

    /* Diff: same input → identical; another vCPU type → the VMSA's RDX. */
    in.vmm = MC_VMM_QEMU;
    in.cb_ctx = &t2;
    CHECK(mc_measure(&in, d, &dn, NULL) == MC_OK);
    mc_measure_transcript_diff(&t, &t2, &df);
    CHECK(df.identical);
    mc_measure_transcript_free(&t2);
    mc_vcpu_type_sig("EPYC-Milan", &in.vcpu_sig, NULL);
    CHECK(mc_measure(&in, d, &dn, NULL) == MC_OK);
    mc_measure_transcript_diff(&t, &t2, &df);
    CHECK(!df.identical && df.index == t.n - 3 && strstr(df.reason, "RDX"));
    mc_measure_transcript_free(&t2);
    in.vcpus = 2;
    CHECK(mc_measure(&in, d, &dn, NULL) == MC_OK);
    mc_measure_transcript_diff(&t, &t2, &df);
    CHECK(!df.identical && strstr(df.reason, "RDX")); /* first difference wins */
    mc_measure_transcript_free(&t2);
    mc_measure_transcript_free(&t);
out:
    free(ovmf);
    free(k);
    free(ird);
}

static void test_sev_and_refusals(void)
{
    size_t on;
    uint8_t *ovmf = load(MC_OVMF_DIR "/OVMF.fd", &on);
    CHECK(ovmf != NULL);
    if (!ovmf)
        return;
    uint8_t d[48], h[32];
    size_t dn;
    struct mc_error e;
    struct mc_measure_input in = {.mode = MC_MEASURE_SEV, .ovmf = ovmf, .ovmf_len = on, .guest_features = 0x1};
    CHECK(mc_measure(&in, d, &dn, &e) == MC_OK && dn == 32);
    sha("SHA256", ovmf, on, h);
    CHECK_MEM(d, h, 32);
    CHECK(mc_sev_launch_digest(ovmf, on, NULL, 0, h, NULL) == MC_OK && !memcmp(d, h, 32));

    /* Kernel with an image whose metadata has no SNP_KERNEL_HASHES section. */
    const uint8_t kernel[] = "k";
    in.mode = MC_MEASURE_SNP;
    in.vcpus = 1;
    in.has_kernel = true;
    in.kernel = kernel;
    in.kernel_len = 1;
    CHECK(mc_measure(&in, d, &dn, &e) == MC_E_UNSUPPORTED && strstr(e.msg, "SNP_KERNEL_HASHES"));
    in.mode = MC_MEASURE_SEV;
    CHECK(mc_measure(&in, d, &dn, &e) == MC_E_UNSUPPORTED && strstr(e.msg, "hashes-table"));
    in.has_kernel = false;

    /* No GUID table in the first half of the image: no reset block. */
    in.ovmf_len = on / 2;
    in.mode = MC_MEASURE_SNP;
    CHECK(mc_measure(&in, d, &dn, &e) == MC_E_UNSUPPORTED && strstr(e.msg, "SEV-ES reset block"));
    in.mode = MC_MEASURE_SEV_ES;
    CHECK(mc_measure(&in, d, &dn, &e) == MC_E_UNSUPPORTED && strstr(e.msg, "SEV-ES reset block"));
    in.ovmf_len = on;

    /* vCPU counts. */
    in.vcpus = 0;
    CHECK(mc_measure(&in, d, &dn, &e) == MC_E_RANGE);
    in.vcpus = MC_MEASURE_MAX_VCPUS + 1;
    CHECK(mc_measure(&in, d, &dn, &e) == MC_E_RANGE);
    in.vcpus = 1;
    in.vmm = (enum mc_vmm_type)7;
    CHECK(mc_measure(&in, d, &dn, &e) == MC_E_INVAL);
    in.vmm = MC_VMM_QEMU;
    in.mode = (enum mc_measure_mode)9;
    CHECK(mc_measure(&in, d, &dn, &e) == MC_E_INVAL);
    CHECK(mc_measure(NULL, d, &dn, &e) == MC_E_INVAL);

    /* SEV-ES digest = SHA-256(image ‖ VMSAs) with SEV_FEATURES zero. */
    in.mode = MC_MEASURE_SEV_ES;
    in.vcpus = 2;
    in.guest_features = 0x21;
    mc_vcpu_type_sig("EPYC-Milan", &in.vcpu_sig, NULL);
    CHECK(mc_measure(&in, d, &dn, &e) == MC_OK && dn == 32);
    struct mc_ovmf o;
    mc_ovmf_parse(ovmf, on, MC_OVMF_FOUR_GB, &o, NULL);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    EVP_DigestInit_ex(c, EVP_sha256(), NULL);
    EVP_DigestUpdate(c, ovmf, on);
    uint8_t p[MC_VMSA_SIZE];
    struct mc_vmsa_params prm = {.eip = MC_VMSA_BSP_EIP, .vcpu_sig = in.vcpu_sig};
    mc_vmsa_build(&prm, p);
    EVP_DigestUpdate(c, p, sizeof p);
    prm.eip = o.reset_eip;
    mc_vmsa_build(&prm, p);
    EVP_DigestUpdate(c, p, sizeof p);
    EVP_DigestFinal_ex(c, h, NULL);
    EVP_MD_CTX_free(c);
    CHECK_MEM(d, h, 32);
    free(ovmf);
}

/* snp:svsm: OVMF pages, then the SVSM image's pages right below OVMF minus the vars flash, its
 * metadata sections, and SVSM-style VMSAs entering at the SVSM entry point for every vCPU. */
static void test_svsm_layout(void)
{
    enum { SVSM_SIZE = 0x4000, VARS = 0x20000 };
    static uint8_t svsm[SVSM_SIZE], ovmf[0x2000];
    memset(svsm, 0x5a, sizeof svsm);
    memset(ovmf, 0xa5, sizeof ovmf);
    /* Footer table: SVSM info (entry offset 0x1000) and the metadata pointer. */
    size_t footer = SVSM_SIZE - 32 - 18, at = footer;
    uint8_t tmp[4];
    struct {
        const char *guid;
        uint32_t v;
    } ent[2] = {{MC_OVMF_GUID_SVSM_INFO, 0x1000}, {MC_OVMF_GUID_SEV_METADATA, SVSM_SIZE - 0x2000}};
    for (int i = 0; i < 2; i++) {
        at -= 4 + 18;
        mc_put_le32(tmp, ent[i].v);
        memcpy(svsm + at, tmp, 4);
        mc_put_le16(svsm + at + 4, 22);
        mc_guid_parse(ent[i].guid, svsm + at + 6, NULL);
    }
    mc_put_le16(svsm + footer, (uint16_t)(footer - at + 18));
    mc_guid_parse(MC_OVMF_GUID_TABLE_FOOTER, svsm + footer + 2, NULL);
    uint8_t *h = svsm + 0x2000;
    memcpy(h, "ASEV", 4);
    mc_put_le32(h + 4, 16 + 24);
    mc_put_le32(h + 8, 1);
    mc_put_le32(h + 12, 2);
    mc_put_le32(h + 16, 0x800000), mc_put_le32(h + 20, 0x2000), mc_put_le32(h + 24, MC_OVMF_SNP_SEC_MEM);
    mc_put_le32(h + 28, 0x802000), mc_put_le32(h + 32, 0x1000), mc_put_le32(h + 36, MC_OVMF_SVSM_CAA);

    struct mc_measure_transcript t = {0};
    struct mc_measure_input in = {.mode = MC_MEASURE_SNP_SVSM, .ovmf = ovmf, .ovmf_len = sizeof ovmf, .vcpus = 2,
                                  .vcpu_sig = 0x800f12, .guest_features = 0x21, .svsm = svsm,
                                  .svsm_len = sizeof svsm, .vars_size = VARS,
                                  .on_step = mc_measure_transcript_step, .cb_ctx = &t};
    uint8_t d[48];
    size_t dn;
    struct mc_error e;
    CHECK(mc_measure(&in, d, &dn, &e) == MC_OK);
    check_chain(&t, d);
    const uint64_t ovmf_gpa = MC_OVMF_FOUR_GB - sizeof ovmf, svsm_gpa = ovmf_gpa - VARS - SVSM_SIZE;
    CHECK_EQ_U64(t.n, 2 + 4 + 2 + 1 + 2);
    if (t.n == 11) {
        CHECK_EQ_U64(t.rec[0].step.gpa, ovmf_gpa);
        CHECK_EQ_U64(t.rec[2].step.gpa, svsm_gpa);
        CHECK(!strcmp(t.rec[2].step.what, "svsm"));
        CHECK(t.rec[6].step.page_type == MC_SNP_PAGE_ZERO && t.rec[6].step.gpa == 0x800000);
        CHECK(t.rec[8].step.page_type == MC_SNP_PAGE_ZERO && !strcmp(t.rec[8].step.what, "SVSM_CAA"));
        for (int v = 9; v < 11; v++) {
            const uint8_t *p = t.rec[v].vmsa;
            CHECK(p != NULL);
            if (!p)
                continue;
            CHECK_EQ_U64(mc_vmsa_get(p, mc_vmsa_field_by_name("RIP")), svsm_gpa + 0x1000);
            CHECK_EQ_U64(mc_vmsa_get(p, mc_vmsa_field_by_name("CS.base")), 0);
            CHECK_EQ_U64(mc_vmsa_get(p, mc_vmsa_field_by_name("CS.attrib")), 0xc9b);
            CHECK_EQ_U64(mc_vmsa_get(p, mc_vmsa_field_by_name("CR0")), 0x11);
            CHECK_EQ_U64(mc_vmsa_get(p, mc_vmsa_field_by_name("SEV_FEATURES")), 1);
        }
        CHECK_MEM(t.rec[9].vmsa, t.rec[10].vmsa, MC_VMSA_SIZE);
    }
    mc_measure_transcript_free(&t);
    /* Refusals: another VMM, no SVSM info entry, vars that do not fit. */
    in.on_step = NULL;
    in.vmm = MC_VMM_EC2;
    CHECK(mc_measure(&in, d, &dn, &e) == MC_E_UNSUPPORTED && strstr(e.msg, "QEMU"));
    in.vmm = MC_VMM_QEMU;
    in.vars_size = MC_OVMF_FOUR_GB;
    CHECK(mc_measure(&in, d, &dn, &e) == MC_E_RANGE);
    in.vars_size = VARS;
    in.svsm = ovmf;
    in.svsm_len = sizeof ovmf;
    CHECK(mc_measure(&in, d, &dn, &e) == MC_E_UNSUPPORTED && strstr(e.msg, "SVSM info"));
}

/* SEV_FEATURES an SNP guest can start with (the APM's defined bits, SNPActive required). */
static void test_guest_features(void)
{
    struct mc_error e;
    CHECK(mc_vmsa_snp_features_check(0x1, &e) == MC_OK);
    CHECK(mc_vmsa_snp_features_check(0x21, &e) == MC_OK);
    CHECK(mc_vmsa_snp_features_check(MC_SEV_FEATURES_DEFINED, &e) == MC_OK);
    CHECK(mc_vmsa_snp_features_check(0, &e) == MC_E_INVAL && strstr(e.msg, "SNPActive"));
    CHECK(mc_vmsa_snp_features_check(0x20, &e) == MC_E_INVAL && strstr(e.msg, "SNPActive"));
    CHECK(mc_vmsa_snp_features_check(UINT64_MAX, &e) == MC_E_INVAL && strstr(e.msg, "0xffffffffffde2800"));
    static const unsigned reserved[] = {11, 13, 17, 18, 19, 20, 22, 40, 63};
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
        CHECK_MSG(mc_vmsa_snp_features_check(1 | (1ull << reserved[i]), &e) == MC_E_INVAL, "bit %u", reserved[i]);
    static const unsigned defined[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14, 15, 16, 21};
    for (size_t i = 0; i < sizeof defined / sizeof defined[0]; i++)
        CHECK_MSG(mc_vmsa_snp_features_check(1 | (1ull << defined[i]), &e) == MC_OK, "bit %u", defined[i]);
}

/* Host-stack VMSA variants against other tools' pages: sevctl's vmsa0/vmsa1.bin (older KVM: the FPU
 * fields zero) are our zero-fpu pages for family 25 model 1 stepping 1, byte for byte. */
static void test_vmsa_variants(void)
{
    size_t n0, n1;
    uint8_t *v0 = load(MC_TEST_DATA "/peers/cases/virtee-sevctl/measurement_build_seves_vmsa_files_hmac/vmsa0.bin", &n0);
    uint8_t *v1 = load(MC_TEST_DATA "/peers/cases/virtee-sevctl/measurement_build_seves_vmsa_files_hmac/vmsa1.bin", &n1);
    CHECK(v0 && v1 && n0 == MC_VMSA_SIZE && n1 == MC_VMSA_SIZE);
    uint32_t sig = 0;
    CHECK(mc_cpu_sig(25, 1, 1, &sig, NULL) == MC_OK);
    unsigned var = 0;
    CHECK(mc_vmsa_variant_parse("sevctl", &var, NULL) == MC_OK && var == MC_VMSA_VARIANT_ZERO_FPU);
    uint8_t page[MC_VMSA_SIZE];
    /* The AP's reset address comes from the OVMF in the same sevctl case. */
    struct mc_vmsa_params bsp = {.eip = MC_VMSA_BSP_EIP, .vcpu_sig = sig, .vmm = MC_VMM_QEMU, .variant = var};
    mc_vmsa_build(&bsp, page);
    if (v0)
        CHECK_MEM(page, v0, MC_VMSA_SIZE);
    if (v1) {
        struct mc_vmsa_params ap = bsp;
        ap.eip = mc_le64(v1 + 0x178) | (mc_le64(v1 + 0x18) & 0xffff0000u); /* RIP + CS.base of sevctl's AP page */
        mc_vmsa_build(&ap, page);
        CHECK_MEM(page, v1, MC_VMSA_SIZE);
    }
    /* The default (today's KVM) differs exactly in MXCSR and FCW; debug-swap sets SEV_FEATURES[5];
     * ec2-rdx0 zeroes RDX of the EC2 layout. */
    struct mc_vmsa_params q = bsp;
    q.variant = 0;
    mc_vmsa_build(&q, page);
    const struct mc_vmsa_field *mx = mc_vmsa_field_by_name("MXCSR"), *fcw = mc_vmsa_field_by_name("X87_FCW"),
                               *sf = mc_vmsa_field_by_name("SEV_FEATURES"), *rdx = mc_vmsa_field_by_name("RDX");
    CHECK(mc_vmsa_get(page, mx) == 0x1f80 && mc_vmsa_get(page, fcw) == 0x37f && mc_vmsa_get(page, sf) == 0);
    if (v0) {
        size_t diff = 0;
        for (size_t i = 0; i < MC_VMSA_SIZE; i++)
            diff += page[i] != v0[i];
        CHECK_MSG(diff == 4, "%zu bytes differ", diff); /* 80 1f of MXCSR, 7f 03 of FCW */
    }
    CHECK(mc_vmsa_variant_parse("debug-swap,zero-fpu", &var, NULL) == MC_OK);
    q.variant = var;
    mc_vmsa_build(&q, page);
    CHECK(mc_vmsa_get(page, sf) == 0x20 && mc_vmsa_get(page, mx) == 0);
    q.vmm = MC_VMM_EC2;
    q.variant = 0;
    mc_vmsa_build(&q, page);
    CHECK(mc_vmsa_get(page, rdx) == 0x600);
    q.variant = MC_VMSA_VARIANT_EC2_RDX0;
    mc_vmsa_build(&q, page);
    CHECK(mc_vmsa_get(page, rdx) == 0);
    char nm[48];
    mc_vmsa_variant_name(MC_VMSA_VARIANT_ZERO_FPU | MC_VMSA_VARIANT_EC2_RDX0, nm, sizeof nm);
    CHECK(!strcmp(nm, "zero-fpu,ec2-rdx0"));
    mc_vmsa_variant_name(0, nm, sizeof nm);
    CHECK(!strcmp(nm, "qemu"));
    struct mc_error e;
    CHECK(mc_vmsa_variant_parse("zero-fpu,bogus", &var, &e) == MC_E_NOTFOUND && strstr(e.msg, "bogus"));
    free(v0);
    free(v1);
}

/* The memo: every mode gives the same digest with and without it; a second measurement of the
 * same bytes hits, the same buffer with one byte changed misses (bytes, not pointers, are the
 * key), a fifth image replaces the least recently used, a transcript never uses it. */
static void test_memo(void)
{
    size_t on, kn;
    uint8_t *ovmf = load(MC_TEST_DATA "/snp-measure/ovmf_AmdSev_suffix.bin", &on);
    uint8_t *k = load(MC_TEST_DATA "/snp-measure/fake-kernel.bin", &kn);
    CHECK(ovmf && k);
    if (!ovmf || !k)
        goto out;
    struct mc_measure_memo *memo = NULL;
    CHECK(mc_measure_memo_create(&memo, NULL) == MC_OK);
    static const enum mc_measure_mode modes[] = {MC_MEASURE_SEV, MC_MEASURE_SEV_ES, MC_MEASURE_SNP,
                                                 MC_MEASURE_SNP_OVMF_HASH};
    unsigned long hits = 0;
    for (int round = 0; round < 2; round++) {
        for (size_t mi = 0; mi < sizeof modes / sizeof modes[0]; mi++) {
            for (unsigned vcpus = 1; vcpus <= 4; vcpus += 3) {
                struct mc_measure_input in = {.mode = modes[mi], .ovmf = ovmf, .ovmf_len = on, .vcpus = vcpus,
                                              .guest_features = 0x1, .has_kernel = round == 1, .kernel = k,
                                              .kernel_len = kn, .append = "console=ttyS0"};
                mc_vcpu_type_sig("EPYC-Milan", &in.vcpu_sig, NULL);
                uint8_t a[48], b[48];
                size_t an = 0, bn = 0;
                struct mc_error e;
                CHECK(mc_measure(&in, a, &an, &e) == MC_OK);
                in.memo = memo;
                CHECK(mc_measure(&in, b, &bn, &e) == MC_OK);
                CHECK(an == bn && !memcmp(a, b, an));
                CHECK(mc_measure(&in, b, &bn, &e) == MC_OK);
                CHECK(an == bn && !memcmp(a, b, an));
            }
        }
    }
    hits = mc_measure_memo_hits(memo);
    /* 32 memo measurements: only the first SEV-family and the first SNP-family one miss */
    CHECK_EQ_U64(hits, 30);
    /* One byte of the image changed in place: a miss, and the digest of the new bytes. */
    struct mc_measure_input in = {.mode = MC_MEASURE_SNP, .ovmf = ovmf, .ovmf_len = on, .vcpus = 2,
                                  .guest_features = 0x1, .memo = memo};
    uint8_t a[48], b[48], c[48];
    size_t n;
    CHECK(mc_measure(&in, a, &n, NULL) == MC_OK);
    ovmf[0] ^= 1;
    hits = mc_measure_memo_hits(memo);
    CHECK(mc_measure(&in, b, &n, NULL) == MC_OK);
    CHECK(mc_measure_memo_hits(memo) == hits && memcmp(a, b, 48));
    in.memo = NULL;
    CHECK(mc_measure(&in, c, &n, NULL) == MC_OK && !memcmp(b, c, 48));
    /* Five images: the least recently used (the original) is replaced; all stay correct. */
    in.memo = memo;
    for (int i = 1; i <= 4; i++) {
        ovmf[0] ^= (uint8_t)(i << 1);
        CHECK(mc_measure(&in, b, &n, NULL) == MC_OK);
        in.memo = NULL;
        CHECK(mc_measure(&in, c, &n, NULL) == MC_OK && !memcmp(b, c, 48));
        in.memo = memo;
    }
    ovmf[0] ^= 1 << 1 ^ 2 << 1 ^ 3 << 1 ^ 4 << 1;
    ovmf[0] ^= 1; /* the original bytes again: evicted, so a miss with the right digest */
    hits = mc_measure_memo_hits(memo);
    CHECK(mc_measure(&in, b, &n, NULL) == MC_OK && !memcmp(a, b, 48) && mc_measure_memo_hits(memo) == hits);
    /* A transcript needs every page: no hit, every step reported. */
    struct mc_measure_transcript t = {0};
    in.on_step = mc_measure_transcript_step;
    in.cb_ctx = &t;
    CHECK(mc_measure(&in, b, &n, NULL) == MC_OK && !memcmp(a, b, 48) && mc_measure_memo_hits(memo) == hits);
    CHECK(t.n > on / 4096);
    check_chain(&t, b);
    mc_measure_transcript_free(&t);
    mc_measure_memo_destroy(memo);
    mc_measure_memo_destroy(NULL);
out:
    free(ovmf);
    free(k);
}

static void test_modes(void)
{
    enum mc_measure_mode m;
    CHECK(mc_measure_mode_parse("snp:ovmf-hash", &m, NULL) == MC_OK && m == MC_MEASURE_SNP_OVMF_HASH);
    CHECK(mc_measure_mode_parse("seves", &m, NULL) == MC_OK && m == MC_MEASURE_SEV_ES);
    CHECK(mc_measure_mode_parse("tdx", &m, NULL) == MC_E_NOTFOUND);
    CHECK(!strcmp(mc_measure_mode_name(MC_MEASURE_SNP_SVSM), "snp:svsm"));
    enum mc_vmm_type v;
    CHECK(mc_vmm_type_parse("ec2", &v, NULL) == MC_OK && v == MC_VMM_EC2);
    CHECK(mc_vmm_type_parse("qemu", &v, NULL) == MC_OK && v == MC_VMM_QEMU);
    CHECK(mc_vmm_type_parse("xen", &v, NULL) == MC_E_NOTFOUND);
}

int main(void)
{
    RUN(test_vcpu_sigs);
    RUN(test_vmsa_vs_reference_dump);
    RUN(test_hashes_table);
    RUN(test_page_hashes);
    RUN(test_snp_chain);
    RUN(test_sev_and_refusals);
    RUN(test_svsm_layout);
    RUN(test_modes);
    RUN(test_memo);
    RUN(test_guest_features);
    RUN(test_vmsa_variants);
    return check_summary();
}
