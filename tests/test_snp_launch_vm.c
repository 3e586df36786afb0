/* An SNP guest launched by the hypervisor from a real OVMF image, in QEMU/KVM's order (the plan
 * `memcrypt measure` measures: OVMF pages, the SNP metadata sections — secrets, CPUID, zero,
 * unmeasured — and one VMSA per vCPU), through memcrypt/vm.h (RMPUPDATE + SNP_LAUNCH_UPDATE per
 * page), then attesting from inside with memcrypt/snp_guest.h: the MEASUREMENT of the emulated
 * chip's report equals `memcrypt measure` for the same OVMF, vCPUs, vCPU type and guest features
 * (Debian's OVMF, the AmdSev fixture with kernel hashes); the firmware's page-by-page log equals the
 * owner's transcript; REPORT_DATA carries the owner's nonce, HOST_DATA the host's; the report
 * verifies through the emulated roots. Guest RAM is 4 GiB (sparse DRAM) so OVMF sits below 4 GiB
 * where QEMU maps it. */
#include <stdlib.h>

#include <memcrypt/board.h>
#include <memcrypt/bytes.h>
#include <memcrypt/fileio.h>
#include <memcrypt/guest.h>
#include <memcrypt/measure.h>
#include <memcrypt/snp_api.h>
#include <memcrypt/snp_guest.h>
#include <memcrypt/snp_identity.h>
#include <memcrypt/snp_report.h>
#include <memcrypt/vm.h>

#include "check.h"
#include "snp_testlib.h"

#define GIB (1ull << 30)
#define POLICY 0x30000ull
#define GHCB 0x40000000ull /* guest pages nobody launched: shared */
#define REQ (GHCB + 0x1000)
#define RSP (GHCB + 0x2000)


static struct mc_board *board_up(const char *platform)
{
    struct mc_board_config bc;
    struct mc_board *b = NULL;
    struct mc_error e = {0};
    if (mc_board_config_init(&bc, platform, &e) != MC_OK)
        return NULL;
    bc.machine.dram_size = 5 * GIB;
    bc.machine.seed = (const uint8_t *)"snp-launch-vm";
    bc.machine.seed_len = 13;
    bc.fw.root_bits = 2048;
    bc.rmp_size = MC_BOARD_RMP_AUTO;
    uint64_t v = 0;
    uint32_t st = 0;
    struct mc_fault f;
    if (mc_board_create(&bc, &b, &e) || mc_board_snp_enable(b, &e) ||
        mc_machine_rdmsr(mc_board_machine(b), MC_MSR_HWCR, &v, &f, &e) ||
        mc_machine_wrmsr(mc_board_machine(b), MC_MSR_HWCR, v | MC_HWCR_SMMLOCK, &f, &e) ||
        mc_board_fw(b, MC_SEV_CMD_SNP_INIT, NULL, 0, &st, &e) || mc_board_df_flush(b, &st, &e)) {
        fprintf(stderr, "board: %s\n", e.msg);
        mc_board_destroy(b);
        return NULL;
    }
    return b;
}

static void launch_and_attest(const char *platform, struct mc_measure_input *in)
{
    struct mc_snp_plan p;
    struct mc_error e = {0};
    CHECK_MSG(mc_snp_plan_build(in, &p, &e) == MC_OK, "%s", e.msg);
    uint8_t measured[48];
    size_t dl = 0;
    struct mc_measure_transcript owner = {0}, fwlog = {0};
    struct mc_measure_input m = *in;
    m.on_step = mc_measure_transcript_step;
    m.cb_ctx = &owner;
    CHECK(mc_measure(&m, measured, &dl, NULL) == MC_OK && dl == 48);
    struct mc_board *b = board_up(platform);
    CHECK(b != NULL);
    if (!b) {
        mc_snp_plan_free(&p);
        return;
    }
    struct mc_vm_config c = {.vcpus = in->vcpus, .mem_size = 4 * GIB, .snp = true, .snp_policy = POLICY};
    struct mc_vm *vm = NULL;
    CHECK_MSG(mc_vm_create(mc_board_vmm(b), &c, &vm, NULL, &e) == MC_OK, "%s", e.msg);
    mc_psp_set_snp_log(mc_board_psp(b), snp_fwlog_step, &fwlog);
    uint64_t secrets = 0;
    for (size_t i = 0; vm && i < p.n; i++) {
        const struct mc_snp_launch_page *pg = &p.pages[i];
        mc_status s;
        if (pg->page_type == MC_SNP_PAGE_VMSA) {
            s = mc_vm_snp_launch_vmsa(vm, (unsigned)pg->vcpu, pg->data, &e);
        } else {
            if (pg->page_type == MC_SNP_PAGE_SECRETS)
                secrets = pg->gpa;
            /* pages without bytes: ZERO and SECRETS take none, the CPUID and unmeasured pages QEMU gives
             * zeroed (an empty CPUID table) */
            static const uint8_t zero[MC_SNP_PAGE];
            bool none = pg->page_type == MC_SNP_PAGE_ZERO || pg->page_type == MC_SNP_PAGE_SECRETS;
            s = mc_vm_snp_launch_update(vm, pg->gpa, pg->has_data ? pg->data : none ? NULL : zero, MC_SNP_PAGE,
                                        pg->page_type, 0, &e);
        }
        CHECK_MSG(s == MC_OK, "page %zu (GPA 0x%llx, type %u): %s", i, (unsigned long long)pg->gpa, pg->page_type,
                  e.msg);
        if (s)
            break;
    }
    mc_psp_set_snp_log(mc_board_psp(b), NULL, NULL);
    uint8_t host_data[32];
    memset(host_data, 0x4D, sizeof host_data);
    CHECK_MSG(mc_vm_snp_launch_finish(vm, NULL, NULL, 0, host_data, &e) == MC_OK, "%s", e.msg);
    /* the firmware's log and `measure --transcript`, step by step */
    CHECK_EQ_U64(fwlog.n, owner.n);
    struct mc_measure_diff df;
    mc_measure_transcript_diff(&owner, &fwlog, &df);
    CHECK_MSG(df.identical, "step %zu: %s", df.index, df.reason);
    /* the guest attests with the owner's nonce */
    CHECK(secrets != 0);
    struct mc_snp_guest_config gc = {.secrets_gpa = secrets, .ghcb_gpa = GHCB, .req_gpa = REQ, .rsp_gpa = RSP};
    struct mc_snp_guest *g = NULL;
    CHECK_MSG(mc_snp_guest_create(mc_vm_vcpu(vm, 0), &gc, &g, &e) == MC_OK, "%s", e.msg);
    uint8_t nonce[64], rep[MC_SNP_REPORT_SIZE];
    for (int i = 0; i < 64; i++)
        nonce[i] = (uint8_t)(0xE0 ^ i);
    uint32_t status = 99;
    CHECK_MSG(g && mc_snp_guest_report(g, nonce, 0, 0, rep, &status, &e) == MC_OK, "%s", e.msg);
    CHECK_EQ_U64(status, 0);
    struct mc_snp_report r;
    CHECK(mc_snp_report_decode(rep, sizeof rep, &r, NULL) == MC_OK);
    CHECK_MEM(r.measurement, measured, 48); /* the emulated chip == memcrypt measure */
    CHECK_MEM(r.measurement, p.expected_ld, 48);
    CHECK_MEM(r.report_data, nonce, 64);
    CHECK_MEM(r.host_data, host_data, 32);
    CHECK_EQ_U64(r.policy, POLICY);
    char dir[256];
    CHECK(snp_tmpdir(dir, sizeof dir, "snp-launch-vm") == 0);
    CHECK_MSG(snp_verify_exported(mc_psp_snp_identity(mc_board_psp(b), NULL), rep, dir, &e) == MC_OK, "%s", e.msg);
    snp_tmpdir_remove(dir);
    mc_snp_guest_destroy(g);
    mc_vm_destroy(vm);
    mc_board_destroy(b);
    mc_measure_transcript_free(&fwlog);
    mc_measure_transcript_free(&owner);
    mc_snp_plan_free(&p);
}


static void test_debian_ovmf(void)
{
    size_t n;
    uint8_t *ovmf = snp_load(MC_OVMF_DIR "/OVMF.fd", &n);
    if (!check_dep(ovmf != NULL, "%s/OVMF.fd (apt-get install ovmf)", MC_OVMF_DIR))
        return;
    struct mc_measure_input in = {.mode = MC_MEASURE_SNP, .ovmf = ovmf, .ovmf_len = n, .vcpus = 2,
                                  .guest_features = 0x21, .threads = 1};
    CHECK(mc_vcpu_type_sig("EPYC-Milan", &in.vcpu_sig, NULL) == MC_OK);
    launch_and_attest("milan", &in);
    in.vcpus = 1;
    in.guest_features = 0x1;
    CHECK(mc_vcpu_type_sig("EPYC-Genoa", &in.vcpu_sig, NULL) == MC_OK);
    launch_and_attest("genoa", &in);
    free(ovmf);
}

static void test_amdsev_fixture(void)
{
    size_t n, kn, rn;
    uint8_t *ovmf = snp_load(MC_TEST_DATA "/snp-measure/ovmf_AmdSev_suffix.bin", &n);
    uint8_t *k = snp_load(MC_TEST_DATA "/snp-measure/fake-kernel.bin", &kn);
    uint8_t *r = snp_load(MC_TEST_DATA "/snp-measure/fake-initrd.bin", &rn);
    CHECK(ovmf && k && r);
    if (ovmf && k && r) {
        struct mc_measure_input in = {.mode = MC_MEASURE_SNP, .ovmf = ovmf, .ovmf_len = n, .vcpus = 1,
                                      .guest_features = 0x1, .has_kernel = true, .kernel = k, .kernel_len = kn,
                                      .initrd = r, .initrd_len = rn, .append = "console=ttyS0 loglevel=7",
                                      .threads = 1};
        CHECK(mc_vcpu_type_sig("EPYC-Milan", &in.vcpu_sig, NULL) == MC_OK);
        launch_and_attest("milan", &in);
    }
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
