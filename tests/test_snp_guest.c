/* The guest side of SEV-SNP guest messages (memcrypt/snp_guest.h) on an SNP VM the hypervisor
 * launched in KVM's order (memcrypt/vm.h: GCTX_CREATE, LAUNCH_START, ACTIVATE, LAUNCH_UPDATE of a
 * normal page and the secrets page, LAUNCH_FINISH): reports and derived keys end to end through the
 * GHCB page and SNP_GUEST_REQUEST, the guest's sequence numbers in the secrets page, a hostile
 * hypervisor (tampered, replayed, dropped responses, requests it breaks) detected and the VMPCK
 * wiped, the extended report's certificate pages (too small: the page count and a plain retry). */
#include <stdlib.h>

#include <memcrypt/guest.h>
#include <memcrypt/migrate.h>
#include <memcrypt/rmp.h>
#include <memcrypt/snp_guest.h>
#include <memcrypt/snp_attest.h>
#include <memcrypt/snp_cpuid.h>
#include <memcrypt/snp_identity.h>
#include <memcrypt/snp_report.h>
#include <memcrypt/vm.h>
#include <memcrypt/vmsa.h>

#include "check.h"
#include "snp_fw_harness.h"
#include "snp_testlib.h"

#define POLICY 0x30000ull
#define MEM (4ull << 20)
#define SECRETS 0x1000ull
#define GHCB 0x10000ull
#define REQ 0x11000ull
#define RSP 0x12000ull
#define CERTS 0x13000ull /* 4 pages */
#define CPUID_PG 0x2000ull
#define FREE 0x200000ull /* guest RAM nobody launched: Hypervisor pages until the guest asks */

struct gx {
    struct sfw t;
    struct mc_vm *vm;
    struct mc_vcpu *v;
    uint8_t ld[48], host_data[32];
    uint8_t cpuid[4096], vmsa[4096];
};

static void log_ld(void *ctx, const struct mc_psp_snp_page *p) { memcpy(ctx, p->digest, 48); }

static void vmsa_image(uint8_t v[4096], uint64_t features, uint8_t vmpl)
{
    struct mc_vmsa_params p = {.eip = 0xfffffff0u, .sev_features = features, .vcpu_sig = 0x00A00F11};
    mc_vmsa_build(&p, v);
    v[0xCA] = vmpl;
}

/* The launch with the CPUID table QEMU would fill for vcpu_type (NULL: -cpu host) on this platform. */
static int gx_up_cpu(struct gx *x, const char *platform, uint32_t secrets_perms, const char *vcpu_type);
static int gx_up(struct gx *x, const char *platform, uint32_t secrets_perms)
{
    return gx_up_cpu(x, platform, secrets_perms, NULL);
}

static int gx_up_cpu(struct gx *x, const char *platform, uint32_t secrets_perms, const char *vcpu_type)
{
    memset(x, 0, sizeof *x);
    if (sfw_open(&x->t, platform, NULL, NULL) || sfw_up(&x->t))
        return -1;
    struct mc_vm_config c = {.vcpus = 1, .mem_size = MEM, .snp = true, .snp_policy = POLICY};
    if (mc_vm_create(mc_board_vmm(x->t.b), &c, &x->vm, NULL, &x->t.err) != MC_OK) {
        fprintf(stderr, "vm: %s\n", x->t.err.msg);
        return -1;
    }
    x->v = mc_vm_vcpu(x->vm, 0);
    mc_psp_set_snp_log(x->t.psp, log_ld, x->ld);
    uint8_t page[4096];
    memset(page, 0x5A, sizeof page);
    memset(x->host_data, 0xC3, 32);
    const struct mc_cpu_profile *prof = NULL;
    struct mc_snp_cpuid_params cp = {.vcpu_type = vcpu_type, .vcpus = 1, .reduced_phys_bits = 1};
    if (mc_cpu_profile_find(platform, &prof, &x->t.err) || (cp.host = prof, 0) ||
        mc_snp_cpuid_build(&cp, x->cpuid, &x->t.err)) {
        fprintf(stderr, "cpuid: %s\n", x->t.err.msg);
        return -1;
    }
    vmsa_image(x->vmsa, MC_SEV_FEATURES_SNP_ACTIVE, 0);
    if (mc_vm_snp_launch_update(x->vm, 0, page, sizeof page, MC_SNP_PT_NORMAL, 0, &x->t.err) ||
        mc_vm_snp_launch_update(x->vm, SECRETS, NULL, 4096, MC_SNP_PT_SECRETS, secrets_perms, &x->t.err) ||
        mc_vm_snp_launch_update(x->vm, CPUID_PG, x->cpuid, 4096, MC_SNP_PT_CPUID, 0, &x->t.err) ||
        mc_vm_snp_launch_vmsa(x->vm, 0, x->vmsa, &x->t.err) ||
        mc_vm_snp_launch_finish(x->vm, NULL, NULL, 0, x->host_data, &x->t.err)) {
        fprintf(stderr, "launch: %s\n", x->t.err.msg);
        return -1;
    }
    mc_psp_set_snp_log(x->t.psp, NULL, NULL);
    return 0;
}

static void gx_down(struct gx *x)
{
    mc_vm_destroy(x->vm);
    sfw_close(&x->t);
}

static struct mc_snp_guest *open_guest(struct gx *x, int vmpck)
{
    struct mc_snp_guest_config c = {.secrets_gpa = SECRETS, .ghcb_gpa = GHCB, .req_gpa = REQ, .rsp_gpa = RSP,
                                    .certs_gpa = CERTS, .certs_pages = 4, .vmpck = vmpck};
    struct mc_snp_guest *g = NULL;
    struct mc_error e = {0};
    CHECK_MSG(mc_snp_guest_create(x->v, &c, &g, &e) == MC_OK, "%s", e.msg);
    return g;
}

/* What the guest's secrets page holds at off (its private view). */
static uint32_t secrets_u32(struct gx *x, uint64_t off)
{
    uint8_t b[4] = {0};
    struct mc_fault f;
    CHECK(mc_guest_phys_read(x->v, SECRETS + off, true, b, 4, &f, NULL) == MC_OK);
    return mc_le32(b);
}

static void test_report(void)
{
    struct gx x;
    CHECK(gx_up(&x, "milan", 0) == 0);
    struct mc_snp_guest *g = open_guest(&x, 0);
    CHECK(g != NULL);
    uint8_t rd[64], rep[MC_SNP_REPORT_SIZE];
    for (int i = 0; i < 64; i++)
        rd[i] = (uint8_t)(0xA0 ^ i);
    uint32_t status = 99;
    struct mc_error e = {0};
    CHECK_MSG(mc_snp_guest_report(g, rd, 0, 0, rep, &status, &e) == MC_OK, "%s", e.msg);
    CHECK_EQ_U64(status, 0);
    CHECK_EQ_U64(secrets_u32(&x, MC_SNP_SECRETS_OS_SEQNO), 2); /* request 1, response 2 */
    struct mc_snp_report r;
    CHECK(mc_snp_report_decode(rep, sizeof rep, &r, NULL) == MC_OK);
    CHECK_MEM(r.report_data, rd, 64);
    CHECK_MEM(r.measurement, x.ld, 48);
    CHECK_MEM(r.host_data, x.host_data, 32);
    CHECK_EQ_U64(r.policy, POLICY);
    CHECK_EQ_U64(r.vmpl, 0);
    CHECK_EQ_U64(mc_snp_report_signer(&r), MC_SNP_SIGNER_VCEK);
    char dir[256];
    CHECK(snp_tmpdir(dir, sizeof dir, "snpguest-report") == 0);
    struct mc_snp_identity *id = mc_psp_snp_identity(x.t.psp, NULL);
    CHECK_MSG(snp_verify_exported(id, rep, dir, &e) == MC_OK, "%s", e.msg);
    snp_tmpdir_remove(dir);
    /* a second request at sequence number 3; the VMPL asked for is the report's */
    CHECK(mc_snp_guest_report(g, rd, 2, 0, rep, &status, NULL) == MC_OK);
    CHECK_EQ_U64(status, 0);
    CHECK(mc_snp_report_decode(rep, sizeof rep, &r, NULL) == MC_OK);
    CHECK_EQ_U64(r.vmpl, 2);
    CHECK_EQ_U64(secrets_u32(&x, MC_SNP_SECRETS_OS_SEQNO), 4);
    /* a per-message error is the response's STATUS: the VMPCK stays */
    CHECK(mc_snp_guest_report(g, rd, 0, 3, rep, &status, NULL) == MC_OK);
    CHECK_EQ_U64(status, MC_FW_INVALID_KEY);
    CHECK(!mc_snp_guest_vmpck_wiped(g));
    mc_snp_guest_destroy(g);
    /* VMPCK1 from VMPL 0 (as a VMPL-1 kernel would): its own counter; VMPL 0 below it is refused */
    g = open_guest(&x, 1);
    CHECK(mc_snp_guest_report(g, rd, 0, 0, rep, &status, NULL) == MC_OK);
    CHECK_EQ_U64(status, MC_FW_INVALID_PARAM);
    CHECK(mc_snp_guest_report(g, rd, 1, 0, rep, &status, NULL) == MC_OK);
    CHECK_EQ_U64(status, 0);
    CHECK_EQ_U64(secrets_u32(&x, MC_SNP_SECRETS_OS_SEQNO + 4), 4);
    CHECK_EQ_U64(secrets_u32(&x, MC_SNP_SECRETS_OS_SEQNO), 6);
    mc_snp_guest_destroy(g);
    gx_down(&x);
}

static void test_key(void)
{
    struct gx x;
    CHECK(gx_up(&x, "genoa", 0) == 0);
    struct mc_snp_guest *g = open_guest(&x, MC_SNP_GUEST_VMPCK_OF_VMPL);
    CHECK_EQ_U64(mc_snp_guest_vmpck(g), 0);
    struct mc_snp_key_req kr = {.guest_field_select = MC_SNP_GFS_MEASUREMENT | MC_SNP_GFS_POLICY};
    uint8_t k1[32], k2[32], k3[32];
    uint32_t status = 99;
    struct mc_error e = {0};
    CHECK_MSG(mc_snp_guest_key(g, &kr, k1, &status, &e) == MC_OK, "%s", e.msg);
    CHECK_EQ_U64(status, 0);
    CHECK(mc_snp_guest_key(g, &kr, k2, &status, NULL) == MC_OK && status == 0);
    CHECK_MEM(k1, k2, 32);
    kr.guest_field_select |= MC_SNP_GFS_IMAGE_ID;
    CHECK(mc_snp_guest_key(g, &kr, k3, &status, NULL) == MC_OK && status == 0);
    CHECK(memcmp(k1, k3, 32) != 0);
    kr.guest_field_select = MC_SNP_GFS_MEASUREMENT | MC_SNP_GFS_POLICY;
    kr.root_key_select = 1; /* VMRK */
    CHECK(mc_snp_guest_key(g, &kr, k3, &status, NULL) == MC_OK && status == 0);
    CHECK(memcmp(k1, k3, 32) != 0);
    kr.root_key_select = 0;
    kr.vmpl = 1;
    CHECK(mc_snp_guest_key(g, &kr, k3, &status, NULL) == MC_OK && status == 0);
    CHECK(memcmp(k1, k3, 32) != 0);
    kr.guest_field_select = 1u << 9; /* unknown field: the response's STATUS */
    CHECK(mc_snp_guest_key(g, &kr, k3, &status, NULL) == MC_OK);
    CHECK_EQ_U64(status, MC_FW_INVALID_PARAM);
    mc_snp_guest_destroy(g);
    gx_down(&x);
}

/* A hostile hypervisor, acting after it answered a guest request. */
struct hostile {
    int mode; /* 1 flip a response byte, 2 replay the first response, 3 drop (zero) the response */
    int calls;
    uint8_t first[4096];
};

static void hostile_hook(void *ctx, struct mc_vm *vm, struct mc_vcpu *v, uint64_t code)
{
    (void)v;
    struct hostile *h = ctx;
    if (code != MC_GHCB_EXIT_GUEST_REQUEST)
        return;
    uint8_t page[4096];
    if (mc_vm_host_read(vm, RSP, page, sizeof page, NULL) != MC_OK)
        return;
    if (h->calls++ == 0) {
        memcpy(h->first, page, sizeof page);
        return;
    }
    if (h->mode == 1)
        page[0x70] ^= 0x01;
    else if (h->mode == 2)
        memcpy(page, h->first, sizeof page);
    else
        memset(page, 0, sizeof page);
    mc_vm_host_write(vm, RSP, page, sizeof page, NULL);
}

static void test_hostile(void)
{
    for (int mode = 1; mode <= 3; mode++) {
        struct gx x;
        CHECK(gx_up(&x, "milan", 0) == 0);
        struct hostile h = {.mode = mode};
        mc_vm_set_exit_hook(x.vm, hostile_hook, &h);
        struct mc_snp_guest *g = open_guest(&x, 0);
        uint8_t rd[64] = {1}, rep[MC_SNP_REPORT_SIZE];
        uint32_t status;
        CHECK(mc_snp_guest_report(g, rd, 0, 0, rep, &status, NULL) == MC_OK && status == 0);
        struct mc_error e = {0};
        CHECK_EQ_U64(mc_snp_guest_report(g, rd, 0, 0, rep, &status, &e), MC_E_VERIFY);
        CHECK_MSG(strstr(e.msg, mode == 1 ? "authenticat" : mode == 2 ? "MSG_SEQNO" : "") != NULL, "mode %d: %s", mode,
                  e.msg);
        CHECK(mc_snp_guest_vmpck_wiped(g));
        CHECK_EQ_U64(mc_snp_guest_report(g, rd, 0, 0, rep, &status, &e), MC_E_STATE);
        /* the other VMPCKs are untouched */
        struct mc_snp_guest *g1 = open_guest(&x, 1);
        CHECK(g1 != NULL);
        mc_snp_guest_destroy(g1);
        mc_snp_guest_destroy(g);
        gx_down(&x);
    }
}

/* The guest's own counter out of step (the firmware refuses: AEAD_OFLOW), and requests the
 * hypervisor cannot serve: the VMPCK is wiped each time. */
static void test_refused(void)
{
    struct gx x;
    CHECK(gx_up(&x, "milan", 0) == 0);
    struct mc_snp_guest *g = open_guest(&x, 0);
    uint8_t rd[64] = {0}, rep[MC_SNP_REPORT_SIZE];
    uint32_t status;
    CHECK(mc_snp_guest_report(g, rd, 0, 0, rep, &status, NULL) == MC_OK);
    uint8_t zero[4] = {0};
    struct mc_fault f;
    CHECK(mc_guest_phys_write(x.v, SECRETS + MC_SNP_SECRETS_OS_SEQNO, true, zero, 4, &f, NULL) == MC_OK);
    struct mc_error e = {0};
    CHECK_EQ_U64(mc_snp_guest_report(g, rd, 0, 0, rep, &status, &e), MC_E_FIRMWARE);
    CHECK_EQ_U64(mc_snp_guest_last_exitinfo2(g), MC_FW_AEAD_OFLOW);
    CHECK_EQ_U64(e.fw_status, MC_FW_AEAD_OFLOW);
    CHECK(mc_snp_guest_vmpck_wiped(g));
    mc_snp_guest_destroy(g);
    /* a response page outside guest RAM: the hypervisor's generic error */
    struct mc_snp_guest_config c = {.secrets_gpa = SECRETS, .ghcb_gpa = GHCB, .req_gpa = REQ, .rsp_gpa = MEM,
                                    .vmpck = 2};
    CHECK(mc_snp_guest_create(x.v, &c, &g, NULL) == MC_OK);
    CHECK_EQ_U64(mc_snp_guest_report(g, rd, 2, 0, rep, &status, &e), MC_E_VERIFY);
    CHECK_EQ_U64(mc_snp_guest_last_exitinfo2(g), (uint64_t)MC_GHCB_VMM_ERR_GENERIC << 32);
    CHECK(mc_snp_guest_vmpck_wiped(g));
    mc_snp_guest_destroy(g);
    /* wrong arguments change nothing */
    c.vmpck = 4;
    CHECK_EQ_U64(mc_snp_guest_create(x.v, &c, &g, NULL), MC_E_INVAL);
    c.vmpck = 3;
    c.req_gpa = REQ + 8;
    CHECK_EQ_U64(mc_snp_guest_create(x.v, &c, &g, NULL), MC_E_INVAL);
    gx_down(&x);
}

/* The extended report: the host's certificate table in the guest's pages; too few pages give the
 * count and the request is re-sent plain (the sequence numbers stay in step, the VMPCK stays). */
static void test_ext_report(void)
{
    struct gx x;
    CHECK(gx_up(&x, "milan", 0) == 0);
    uint8_t blob[5000];
    for (size_t i = 0; i < sizeof blob; i++)
        blob[i] = (uint8_t)(i * 7);
    CHECK(mc_vm_snp_set_certs(x.vm, blob, sizeof blob, NULL) == MC_OK);
    struct mc_snp_guest_config c = {.secrets_gpa = SECRETS, .ghcb_gpa = GHCB, .req_gpa = REQ, .rsp_gpa = RSP,
                                    .certs_gpa = CERTS, .certs_pages = 1, .vmpck = 0};
    struct mc_snp_guest *g = NULL;
    CHECK(mc_snp_guest_create(x.v, &c, &g, NULL) == MC_OK);
    uint8_t rd[64] = {7}, rep[MC_SNP_REPORT_SIZE], *certs = malloc(4 * 4096);
    uint32_t status = 99;
    size_t clen = 1;
    unsigned pages = 0;
    struct mc_error e = {0};
    CHECK_EQ_U64(mc_snp_guest_ext_report(g, rd, 0, 0, rep, &status, certs, 4 * 4096, &clen, &pages, &e), MC_E_RANGE);
    CHECK_EQ_U64(pages, 2);
    CHECK_EQ_U64(clen, 0);
    CHECK_EQ_U64(status, 0); /* the plain retry's report */
    CHECK(!mc_snp_guest_vmpck_wiped(g));
    CHECK_EQ_U64(secrets_u32(&x, MC_SNP_SECRETS_OS_SEQNO), 2);
    mc_snp_guest_destroy(g);
    c.certs_pages = 4;
    CHECK(mc_snp_guest_create(x.v, &c, &g, NULL) == MC_OK);
    CHECK_MSG(mc_snp_guest_ext_report(g, rd, 0, 0, rep, &status, certs, 4 * 4096, &clen, &pages, &e) == MC_OK, "%s",
              e.msg);
    CHECK_EQ_U64(status, 0);
    CHECK_EQ_U64(pages, 2);
    CHECK_EQ_U64(clen, 2 * 4096);
    CHECK_MEM(certs, blob, sizeof blob);
    struct mc_snp_report r;
    CHECK(mc_snp_report_decode(rep, sizeof rep, &r, NULL) == MC_OK);
    CHECK_MEM(r.report_data, rd, 64);
    /* hostile pages: a certificate buffer that would run past guest RAM, a page count that wraps */
    uint64_t np = 1ull << 52, info2 = 0;
    CHECK(mc_vm_snp_guest_request(x.vm, REQ, RSP, true, MEM - 4096, &np, &info2, NULL) == MC_OK);
    CHECK_EQ_U64(info2, (uint64_t)MC_GHCB_VMM_ERR_GENERIC << 32);
    np = 2;
    CHECK(mc_vm_snp_guest_request(x.vm, REQ, RSP, true, MEM - 4096, &np, &info2, NULL) == MC_OK);
    CHECK_EQ_U64(info2, (uint64_t)MC_GHCB_VMM_ERR_GENERIC << 32);
    /* no table: nothing copied */
    CHECK(mc_vm_snp_set_certs(x.vm, NULL, 0, NULL) == MC_OK);
    CHECK(mc_snp_guest_ext_report(g, rd, 0, 0, rep, &status, certs, 4 * 4096, &clen, &pages, NULL) == MC_OK);
    CHECK_EQ_U64(clen, 0);
    free(certs);
    mc_snp_guest_destroy(g);
    gx_down(&x);
}

/* Two SNP VMs one after the other on the same ASID: the first gives its pages back. */
static void test_vm_lifecycle(void)
{
    struct gx x;
    CHECK(gx_up(&x, "milan", 0) == 0);
    uint32_t asid = mc_vm_asid(x.vm);
    mc_vm_destroy(x.vm);
    CHECK_EQ_U64(mc_rmp_asid_pages(x.t.rmp, asid), 0);
    struct mc_vm_config c = {.vcpus = 2, .mem_size = MEM, .snp = true, .snp_policy = POLICY};
    CHECK_MSG(mc_vm_create(mc_board_vmm(x.t.b), &c, &x.vm, NULL, &x.t.err) == MC_OK, "%s", x.t.err.msg);
    CHECK(mc_vm_is_snp(x.vm));
    /* a bad policy (SMT not allowed on an SMT platform): refused, nothing left behind */
    struct mc_vm *bad = NULL;
    c.snp_policy = 0x20000;
    uint32_t fw = 0;
    CHECK(mc_vm_create(mc_board_vmm(x.t.b), &c, &bad, &fw, NULL) != MC_OK);
    CHECK_EQ_U64(fw, MC_FW_POLICY_FAILURE);
    CHECK(bad == NULL);
    gx_down(&x);
}

/* ---- SNP vCPUs, the GHCB's page-state changes, VMPLs ---- */

static uint64_t ghcb_msr(struct gx *x, uint64_t req)
{
    mc_guest_wrmsr_ghcb(x->v, req);
    struct mc_error e = {0};
    CHECK_MSG(mc_guest_vmgexit(x->v, &e) == MC_OK, "%s", e.msg);
    return mc_guest_rdmsr_ghcb(x->v);
}

static mc_status gread(struct gx *x, uint64_t gpa, void *b, size_t n, struct mc_fault *f)
{
    memset(f, 0, sizeof *f);
    return mc_guest_phys_read(x->v, gpa, true, b, n, f, NULL);
}

/* The vCPU runs from its VMSA page: the host sees ciphertext and cannot write it; SEV_STATUS shows
 * SEV_FEATURES; VMGEXIT saves the registers into the page; no VMSA or SNPActive clear: no VMRUN. */
static void test_vmsa_vcpu(void)
{
    struct gx x;
    CHECK(gx_up(&x, "milan", 0) == 0);
    uint64_t vspa = mc_vm_snp_vmsa(x.vm, 0);
    CHECK(vspa != 0);
    uint8_t page[4096];
    struct mc_fault f;
    CHECK(mc_machine_phys_read(x.t.m, vspa, page, sizeof page, &f, NULL) == MC_OK);
    CHECK(memcmp(page, x.vmsa, sizeof page) != 0); /* ciphertext */
    CHECK(memcmp(page + 0x3B0, x.vmsa + 0x3B0, 8) != 0);
    memset(&f, 0, sizeof f);
    CHECK_EQ_U64(mc_machine_phys_write(x.t.m, vspa + 0x158, page, 8, &f, NULL), MC_E_FAULT);
    CHECK_EQ_U64(f.kind, MC_FAULT_PF);
    CHECK((f.error_code >> 31) & 1); /* the RMP refused the host's write */
    uint8_t b[16];
    CHECK(gread(&x, 0, b, sizeof b, &f) == MC_OK); /* VMRUN loads the VMSA */
    CHECK_EQ_U64(mc_guest_sev_status(x.v), 0x7);
    struct mc_paging_regs r;
    mc_guest_get_regs(x.v, &r);
    CHECK_EQ_U64(r.cr0, 0x10);
    CHECK_EQ_U64(r.efer, 0x1000);
    r.cr4 |= 0x20; /* PAE: saved into the VMSA at the next exit */
    mc_guest_set_regs(x.v, &r);
    CHECK_EQ_U64(ghcb_msr(&x, 0x002) & 0xFFF, 0x001);
    /* hypervisor features: SNP and AP creation (exit 0x80000013, test_ap_creation) */
    CHECK_EQ_U64(ghcb_msr(&x, 0x080), (3ull << 12) | 0x081);
    CHECK(sfw_guest_read(&x.t, mc_vm_asid(x.vm), vspa, page, sizeof page) == 0);
    CHECK_EQ_U64(mc_le64(page + 0x148), 0x60);
    CHECK_EQ_U64(mc_le64(page + 0x3B0), 1);
    gx_down(&x);

    /* vCPU 1 without a VMSA; a VMSA without SNPActive */
    CHECK(sfw_open(&x.t, "milan", NULL, NULL) == 0 && sfw_up(&x.t) == 0);
    struct mc_vm_config c = {.vcpus = 2, .mem_size = MEM, .snp = true, .snp_policy = POLICY};
    CHECK(mc_vm_create(mc_board_vmm(x.t.b), &c, &x.vm, NULL, NULL) == MC_OK);
    vmsa_image(x.vmsa, 0, 0);
    CHECK(mc_vm_snp_launch_vmsa(x.vm, 0, x.vmsa, NULL) == MC_OK);
    CHECK(mc_vm_snp_launch_finish(x.vm, NULL, NULL, 0, NULL, NULL) == MC_OK);
    struct mc_error e = {0};
    CHECK_EQ_U64(mc_guest_phys_read(mc_vm_vcpu(x.vm, 0), 0, true, b, 8, &f, &e), MC_E_STATE);
    CHECK(strstr(e.msg, "SNPActive") != NULL);
    CHECK_EQ_U64(mc_guest_phys_read(mc_vm_vcpu(x.vm, 1), 0, true, b, 8, &f, &e), MC_E_STATE);
    CHECK(strstr(e.msg, "no VMSA") != NULL);
    gx_down(&x);
}

/* Page-state changes: MSR protocol and GHCB page; #VC 0x404 before PVALIDATE; PVALIDATE's CF on a
 * second validation; a hypervisor that remaps a validated page makes the guest fault. */
static void test_psc_and_remap(void)
{
    struct gx x;
    CHECK(gx_up(&x, "milan", 0) == 0);
    uint8_t b[64], data[64];
    memset(data, 0x77, sizeof data);
    struct mc_fault f;
    /* not the guest's page yet: #NPF (RMP) */
    CHECK_EQ_U64(gread(&x, FREE, b, 8, &f), MC_E_FAULT);
    CHECK_EQ_U64(f.kind, MC_FAULT_NPF);
    CHECK(f.error_code & MC_NPF_RMP);
    /* MSR protocol: private */
    CHECK_EQ_U64(ghcb_msr(&x, FREE | 1ull << 52 | 0x014), 0x015);
    CHECK_EQ_U64(gread(&x, FREE, b, 8, &f), MC_E_FAULT);
    CHECK_EQ_U64(f.kind, MC_FAULT_VC);
    CHECK_EQ_U64(f.error_code, 0x404);
    CHECK_EQ_U64(f.addr, FREE);
    uint32_t eax = 99;
    bool cf = true;
    CHECK(mc_guest_pvalidate(x.v, FREE, false, true, &eax, &cf, &f, NULL) == MC_OK);
    CHECK_EQ_U64(eax, 0);
    CHECK(!cf);
    CHECK(mc_guest_phys_write(x.v, FREE, true, data, sizeof data, &f, NULL) == MC_OK);
    CHECK(gread(&x, FREE, b, sizeof b, &f) == MC_OK);
    CHECK_MEM(b, data, sizeof data);
    CHECK(mc_guest_pvalidate(x.v, FREE, false, true, &eax, &cf, &f, NULL) == MC_OK);
    CHECK(eax == 0 && cf); /* already validated: CF says so (a double-validation attack shows) */
    uint64_t spa = mc_vm_mem_spa(x.vm) + FREE;
    CHECK_EQ_U64(mc_machine_phys_write(x.t.m, spa, data, 8, &f, NULL), MC_E_FAULT); /* host: RMP #PF */

    /* GHCB page PSC: two pages private, one shared (the first page of it back), then bad buffers */
    uint8_t g[4096] = {0};
    uint64_t buf = GHCB + MC_GHCB_SHARED_BUF;
    mc_put_le64(g + MC_GHCB_SW_EXITCODE, MC_GHCB_EXIT_PSC);
    mc_put_le64(g + MC_GHCB_SW_SCRATCH, buf);
    g[MC_GHCB_VALID_BITMAP + MC_GHCB_SW_EXITCODE / 64] |= 0x7u << (MC_GHCB_SW_EXITCODE / 8 % 8);
    g[MC_GHCB_VALID_BITMAP + MC_GHCB_SW_SCRATCH / 64] |= 1u << (MC_GHCB_SW_SCRATCH / 8 % 8);
    mc_put_le16(g + MC_GHCB_PROTOCOL, 2);
    uint8_t *p = g + MC_GHCB_SHARED_BUF;
    mc_put_le16(p + 2, 2);
    mc_put_le64(p + 8, (FREE + 0x1000) | 1ull << 52);
    mc_put_le64(p + 16, (FREE + 0x2000) | 1ull << 52);
    mc_put_le64(p + 24, (FREE + 0x1000) | 2ull << 52);
    CHECK(mc_guest_phys_write(x.v, GHCB, false, g, sizeof g, &f, NULL) == MC_OK);
    CHECK(ghcb_msr(&x, 0x12 | GHCB) == (0x13 | GHCB));
    CHECK(ghcb_msr(&x, GHCB) == GHCB);
    uint8_t o[4096];
    CHECK(mc_guest_phys_read(x.v, GHCB, false, o, sizeof o, &f, NULL) == MC_OK);
    CHECK_EQ_U64(mc_le64(o + MC_GHCB_SW_EXITINFO2), 0);
    CHECK_EQ_U64(mc_le16(o + MC_GHCB_SHARED_BUF), 3); /* CUR_ENTRY past END_ENTRY */
    CHECK_EQ_U64(mc_le64(o + MC_GHCB_SHARED_BUF + 8) & 0xFFF, 1);
    CHECK_EQ_U64(gread(&x, FREE + 0x2000, b, 8, &f), MC_E_FAULT);
    CHECK_EQ_U64(f.error_code, 0x404);
    CHECK_EQ_U64(gread(&x, FREE + 0x1000, b, 8, &f), MC_E_FAULT); /* shared again */
    CHECK(f.kind == MC_FAULT_NPF);
    mc_put_le16(p, 0);
    mc_put_le16(p + 2, 300); /* END_ENTRY beyond 253 */
    CHECK(mc_guest_phys_write(x.v, GHCB, false, g, sizeof g, &f, NULL) == MC_OK);
    ghcb_msr(&x, GHCB);
    CHECK(mc_guest_phys_read(x.v, GHCB, false, o, sizeof o, &f, NULL) == MC_OK);
    CHECK_EQ_U64(mc_le64(o + MC_GHCB_SW_EXITINFO2), (1ull << 32) | 1);
    mc_put_le16(p + 2, 0);
    mc_put_le64(p + 8, (FREE + 0x3000) | 5ull << 52); /* no such operation */
    CHECK(mc_guest_phys_write(x.v, GHCB, false, g, sizeof g, &f, NULL) == MC_OK);
    ghcb_msr(&x, GHCB);
    CHECK(mc_guest_phys_read(x.v, GHCB, false, o, sizeof o, &f, NULL) == MC_OK);
    CHECK_EQ_U64(mc_le64(o + MC_GHCB_SW_EXITINFO2), (1ull << 32) | 2);
    const uint64_t bad_scratch[] = {FREE, ~0ull - 6, GHCB + 0xFF9}; /* outside, wrapping, past the buffer */
    for (unsigned i = 0; i < 3; i++) {
        mc_put_le64(g + MC_GHCB_SW_SCRATCH, bad_scratch[i]);
        CHECK(mc_guest_phys_write(x.v, GHCB, false, g, sizeof g, &f, NULL) == MC_OK);
        ghcb_msr(&x, GHCB);
        CHECK(mc_guest_phys_read(x.v, GHCB, false, o, sizeof o, &f, NULL) == MC_OK);
        CHECK_EQ_U64(mc_le64(o + MC_GHCB_SW_EXITINFO1), 2);
        CHECK_EQ_U64(mc_le64(o + MC_GHCB_SW_EXITINFO2), 3);
    }
    /* an unregistered GHCB: an SNP guest is terminated */
    mc_guest_wrmsr_ghcb(x.v, FREE + 0x5000);
    CHECK_EQ_U64(mc_guest_vmgexit(x.v, NULL), MC_E_STATE);
    uint64_t why = 0;
    CHECK(mc_vm_terminated(x.vm, &why));
    gx_down(&x);

    /* Remaps of the validated page FREE (data 0x77) */
    for (int attack = 0; attack < 3; attack++) {
        CHECK(gx_up(&x, "milan", 0) == 0);
        CHECK_EQ_U64(ghcb_msr(&x, FREE | 1ull << 52 | 0x014), 0x015);
        CHECK_EQ_U64(ghcb_msr(&x, (FREE + 0x1000) | 1ull << 52 | 0x014), 0x015);
        CHECK(mc_guest_pvalidate(x.v, FREE, false, true, &eax, &cf, &f, NULL) == MC_OK && eax == 0);
        CHECK(mc_guest_pvalidate(x.v, FREE + 0x1000, false, true, &eax, &cf, &f, NULL) == MC_OK && eax == 0);
        CHECK(mc_guest_phys_write(x.v, FREE, true, data, sizeof data, &f, NULL) == MC_OK);
        uint64_t base = mc_vm_mem_spa(x.vm), other = base + FREE + 0x10000;
        uint32_t asid = mc_vm_asid(x.vm);
        if (attack == 0) { /* to a hypervisor page */
            CHECK(mc_vm_npt_remap(x.vm, FREE, other, NULL) == MC_OK);
        } else if (attack == 1) { /* to a page the hypervisor assigns to the guest at this GPA */
            const struct mc_rmp_state st = {.gpa = FREE, .assigned = 1, .asid = asid};
            CHECK(mc_rmp_rmpupdate(x.t.rmp, other, &st, &eax, &f, NULL) == MC_OK && eax == 0);
            CHECK(mc_vm_npt_remap(x.vm, FREE, other, NULL) == MC_OK);
        } else { /* to the guest's other validated page */
            CHECK(mc_vm_npt_remap(x.vm, FREE, base + FREE + 0x1000, NULL) == MC_OK);
        }
        CHECK_EQ_U64(gread(&x, FREE, b, sizeof b, &f), MC_E_FAULT);
        if (attack == 1) {
            CHECK_EQ_U64(f.kind, MC_FAULT_VC);
            CHECK_EQ_U64(f.error_code, 0x404);
        } else {
            CHECK_EQ_U64(f.kind, MC_FAULT_NPF);
            CHECK(f.error_code & MC_NPF_RMP);
        }
        if (attack == 1) {
            const struct mc_rmp_state sh = {0};
            CHECK(mc_rmp_rmpupdate(x.t.rmp, other, &sh, &eax, &f, NULL) == MC_OK && eax == 0);
        }
        mc_vm_npt_remap(x.vm, FREE, base + FREE, NULL); /* back: the data is there */
        CHECK(gread(&x, FREE, b, sizeof b, &f) == MC_OK);
        CHECK_MEM(b, data, sizeof data);
        gx_down(&x);
    }
}

/* VMPLs: the secrets page and a page as VMPL 0 grants them (launch permissions, RMPADJUST); the
 * CPUID page as the launch put it. */
static void test_vmpl(void)
{
    struct gx x;
    CHECK(gx_up(&x, "genoa", 0x100u) == 0); /* VMPL1 (bits 15:8): read */
    uint8_t b[64];
    struct mc_fault f;
    CHECK(gread(&x, CPUID_PG, b, 0x40, &f) == MC_OK);
    CHECK_MEM(b, x.cpuid, 0x40);
    uint8_t k[4][32];
    CHECK(gread(&x, SECRETS + 0x20, k, sizeof k, &f) == MC_OK);
    for (int i = 0; i < 4; i++)
        for (int j = i + 1; j < 4; j++)
            CHECK(memcmp(k[i], k[j], 32) != 0);
    mc_guest_set_vmpl(x.v, 1);
    CHECK(gread(&x, SECRETS + 0x40, b, 32, &f) == MC_OK); /* read granted at launch */
    CHECK_EQ_U64(mc_guest_phys_write(x.v, SECRETS + 0x40, true, b, 8, &f, NULL), MC_E_FAULT);
    CHECK(f.error_code & MC_NPF_VMPL);
    CHECK_EQ_U64(gread(&x, 0, b, 8, &f), MC_E_FAULT); /* the code page: nothing for VMPL1 */
    CHECK(f.error_code & MC_NPF_VMPL);
    uint32_t eax = 99;
    CHECK(mc_guest_rmpadjust(x.v, 0, false, 1 | 1u << 8, &eax, &f, NULL) == MC_OK);
    CHECK_EQ_U64(eax, 2); /* VMPL1 cannot grant its own VMPL */
    mc_guest_set_vmpl(x.v, 0);
    CHECK(mc_guest_rmpadjust(x.v, 0, false, 1 | 1u << 8, &eax, &f, NULL) == MC_OK); /* VMPL1: read */
    CHECK_EQ_U64(eax, 0);
    mc_guest_set_vmpl(x.v, 1);
    CHECK(gread(&x, 0, b, 8, &f) == MC_OK);
    CHECK_EQ_U64(b[0], 0x5A);
    gx_down(&x);
}

/* ---- guest messages end to end per generation ---- */

/* Milan, Genoa, Turin: the report version and TCB layout of each firmware, reached from inside the
 * guest; signed by the VCEK, then by a loaded VLEK (KEY_SEL 0 and 2), verified through the emulated
 * roots each time. */
static void test_generations(void)
{
    static const char *gens[] = {"milan", "genoa", "turin"};
    for (int i = 0; i < 3; i++) {
        struct gx x;
        CHECK(gx_up(&x, gens[i], 0) == 0);
        struct mc_snp_guest *g = open_guest(&x, 0);
        uint8_t rd[64], rep[MC_SNP_REPORT_SIZE];
        memset(rd, 0x30 + i, sizeof rd);
        uint32_t status = 99;
        CHECK(mc_snp_guest_report(g, rd, 0, 0, rep, &status, NULL) == MC_OK && status == 0);
        struct mc_snp_report r;
        CHECK(mc_snp_report_decode(rep, sizeof rep, &r, NULL) == MC_OK);
        const struct mc_psp_config *fc = mc_board_fw_config(x.t.b);
        CHECK_EQ_U64(r.version, mc_snp_report_version_for((enum mc_snp_gen)fc->snp_gen, fc->api_major, fc->api_minor,
                                                          fc->build));
        CHECK_EQ_U64(r.version, i == 2 ? 5 : 3);
        struct mc_snp_tcb t;
        mc_snp_tcb_decode(r.reported_tcb, (enum mc_snp_gen)fc->snp_gen, &t);
        CHECK_EQ_U64(t.has_fmc, i == 2);
        struct mc_psp_snp_tcb k;
        mc_psp_snp_tcb(x.t.psp, &k);
        CHECK_EQ_U64(r.reported_tcb, k.reported);
        CHECK_MEM(r.report_data, rd, 64);
        struct mc_snp_identity *id = mc_psp_snp_identity(x.t.psp, NULL);
        char dir[256];
        CHECK(snp_tmpdir(dir, sizeof dir, "snpguest-gen") == 0);
        struct mc_error e = {0};
        CHECK_MSG(snp_verify_exported(id, rep, dir, &e) == MC_OK, "%s: %s", gens[i], e.msg);
        /* a VLEK: KEY_SEL 0 and 2 sign with it, 1 with the VCEK */
        uint8_t seed[48], w[MC_SNP_VLEK_WRAPPED_LEN];
        memset(seed, 3 + i, sizeof seed);
        CHECK(mc_snp_vlek_wrap(id, seed, k.reported, NULL, w, NULL) == MC_OK);
        sfw_write(&x.t, SFW_DATA, w, sizeof w);
        uint8_t vl[16] = {0x10};
        mc_put_le64(vl + 8, SFW_DATA);
        CHECK_EQ_U64(sfw_cmd(&x.t, MC_SEV_CMD_SNP_VLEK_LOAD, vl, sizeof vl), 0);
        for (uint32_t ks = 0; ks < 3; ks++) {
            CHECK(mc_snp_guest_report(g, rd, 0, ks, rep, &status, NULL) == MC_OK && status == 0);
            CHECK(mc_snp_report_decode(rep, sizeof rep, &r, NULL) == MC_OK);
            CHECK_EQ_U64(mc_snp_report_signer(&r), ks == 1 ? MC_SNP_SIGNER_VCEK : MC_SNP_SIGNER_VLEK);
            CHECK_MSG(snp_verify_exported(id, rep, dir, &e) == MC_OK, "%s key_sel %u: %s", gens[i], ks, e.msg);
        }
        snp_tmpdir_remove(dir);
        mc_snp_guest_destroy(g);
        gx_down(&x);
    }
}

/* The hypervisor replays an earlier request page to the firmware: refused (AEAD_OFLOW), nothing
 * answered; the guest's next request still works. */
struct replay {
    uint8_t first[4096];
    int calls;
    uint64_t replay_info2;
};

static void replay_hook(void *ctx, struct mc_vm *vm, struct mc_vcpu *v, uint64_t code)
{
    (void)v;
    struct replay *r = ctx;
    if (code != MC_GHCB_EXIT_GUEST_REQUEST)
        return;
    if (r->calls++ == 0) {
        mc_vm_host_read(vm, REQ, r->first, sizeof r->first, NULL);
        return;
    }
    uint8_t now[4096];
    mc_vm_host_read(vm, REQ, now, sizeof now, NULL);
    mc_vm_host_write(vm, REQ, r->first, sizeof r->first, NULL);
    uint64_t np = 0;
    mc_vm_set_exit_hook(vm, NULL, NULL);
    mc_vm_snp_guest_request(vm, REQ, 0x20000, false, 0, &np, &r->replay_info2, NULL);
    mc_vm_set_exit_hook(vm, replay_hook, r);
    mc_vm_host_write(vm, REQ, now, sizeof now, NULL);
}

static void test_replayed_request(void)
{
    struct gx x;
    CHECK(gx_up(&x, "milan", 0) == 0);
    struct replay rp = {0};
    mc_vm_set_exit_hook(x.vm, replay_hook, &rp);
    struct mc_snp_guest *g = open_guest(&x, 0);
    uint8_t rd[64] = {9}, rep[MC_SNP_REPORT_SIZE];
    uint32_t status;
    CHECK(mc_snp_guest_report(g, rd, 0, 0, rep, &status, NULL) == MC_OK && status == 0);
    CHECK(mc_snp_guest_report(g, rd, 0, 0, rep, &status, NULL) == MC_OK && status == 0);
    CHECK_EQ_U64(rp.replay_info2, MC_FW_AEAD_OFLOW);
    CHECK(mc_snp_guest_report(g, rd, 0, 0, rep, &status, NULL) == MC_OK && status == 0);
    mc_snp_guest_destroy(g);
    gx_down(&x);
}

/* The CPUID page QEMU fills (mc_snp_cpuid_build): the firmware's check (AMD's table) accepts it for
 * each SNP platform in host mode and for each generation's QEMU model; the guest reads the values
 * through its private mapping of the page, as Linux's snp_cpuid looks them up: the signature in the
 * VMSA, the platform's C-bit, QEMU's 0xD legacy entries. A model newer than the host is corrected
 * by the firmware (INVALID_PARAM, the corrected table in the page) and QEMU's report names it. */
static void test_cpuid_page(void)
{
    static const struct {
        const char *platform, *vcpu;
        uint32_t sig;
    } cases[] = {{"milan", NULL, 0}, {"genoa", NULL, 0}, {"turin", NULL, 0}, {"milan", "EPYC-Milan", 0x00A00F11},
                 {"milan", "EPYC-v4", 0x00800F12}, {"milan", "EPYC-Rome", 0x00830F10}, {"genoa", "EPYC-Genoa", 0x00A10F10}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct gx x;
        const struct mc_cpu_profile *prof;
        CHECK(mc_cpu_profile_find(cases[i].platform, &prof, NULL) == MC_OK);
        CHECK_MSG(gx_up_cpu(&x, cases[i].platform, 0, cases[i].vcpu) == 0, "%s %s", cases[i].platform,
                  cases[i].vcpu ? cases[i].vcpu : "host");
        uint8_t page[4096];
        struct mc_fault f;
        CHECK(mc_guest_phys_read(x.v, CPUID_PG, true, page, sizeof page, &f, NULL) == MC_OK);
        CHECK_MEM(page, x.cpuid, sizeof page); /* the firmware accepted it unchanged */
        CHECK(mc_le32(page) >= 40 && mc_le32(page) <= 64);
        struct mc_cpuid_regs r;
        uint32_t sig = cases[i].vcpu ? cases[i].sig : mc_cpu_fms(prof);
        CHECK(mc_snp_cpuid_find(page, 1, 0, &r));
        CHECK_EQ_U64(r.eax, sig);
        CHECK_EQ_U64(r.ecx >> 31, 1); /* the hypervisor bit */
        CHECK(mc_snp_cpuid_find(page, 0x80000001, 0, &r));
        CHECK_EQ_U64(r.eax, sig);
        CHECK(mc_snp_cpuid_find(page, 0x8000001F, 0, &r));
        CHECK_EQ_U64(r.ebx & 0x3F, 51); /* the platform's C-bit */
        CHECK_EQ_U64((r.ebx >> 6) & 0x3F, 1);
        CHECK_EQ_U64(r.eax & 0x1A, 0x1A); /* SEV, SEV-ES, SNP */
        CHECK(mc_snp_cpuid_find(page, 0xD, 0, &r)); /* QEMU: the legacy area for XCR0 = 1 */
        CHECK_EQ_U64(r.ebx, 0x240);
        CHECK_EQ_U64(r.eax & 7, 7);
        CHECK(mc_snp_cpuid_find(page, 0xD, 2, &r)); /* AVX: the firmware's exact values */
        CHECK_EQ_U64(r.eax, 0x100);
        CHECK_EQ_U64(r.ebx, 0x240);
        char brand[49] = {0};
        for (uint32_t k = 0; k < 3; k++) {
            CHECK(mc_snp_cpuid_find(page, 0x80000002 + k, 0, &r));
            uint32_t w[4] = {r.eax, r.ebx, r.ecx, r.edx};
            for (int j = 0; j < 4; j++)
                mc_put_le32((uint8_t *)brand + 16 * k + 4 * j, w[j]);
        }
        if (!cases[i].vcpu)
            CHECK(!strcmp(brand, prof->model));
        else if (!strcmp(cases[i].vcpu, "EPYC-Milan"))
            CHECK(!strcmp(brand, "AMD EPYC-Milan Processor"));
        /* AMD's own values for Milan's caches (the firmware table's reference values) */
        if (cases[i].vcpu && !strcmp(cases[i].vcpu, "EPYC-Milan")) {
            CHECK(mc_snp_cpuid_find(page, 0x80000005, 0, &r));
            CHECK_EQ_U64(r.ecx, 0x20080140);
            CHECK(mc_snp_cpuid_find(page, 0x80000006, 0, &r));
            CHECK_EQ_U64(r.ecx, 0x02006140);
            CHECK(!mc_snp_cpuid_find(page, 7, 1, &r)); /* Milan: sub-leaf 0 only */
        }
        if (cases[i].vcpu && !strcmp(cases[i].vcpu, "EPYC-Genoa")) {
            CHECK(mc_snp_cpuid_find(page, 7, 1, &r));
            CHECK_EQ_U64(r.eax, 0x20); /* AVX512_BF16 */
            CHECK(mc_snp_cpuid_find(page, 7, 0, &r));
            CHECK_EQ_U64(r.eax, 1);
            CHECK(r.ecx & (1u << 16)); /* LA57 */
            CHECK(mc_snp_cpuid_find(page, 0x80000008, 0, &r));
            CHECK_EQ_U64(r.eax, 0x3928); /* QEMU's 40 physical bits, 57 linear */
        }
        /* a leaf that is not indexed ignores the sub-leaf; an indexed one does not */
        CHECK(mc_snp_cpuid_find(page, 0x80000008, 5, &r));
        CHECK(!mc_snp_cpuid_find(page, 0xB, 7, &r));
        CHECK(!mc_snp_cpuid_find(page, 0x12345678, 0, &r) && r.eax == 0);
        gx_down(&x);
    }
    /* a page whose count is out of range finds nothing */
    uint8_t bad[4096] = {0};
    struct mc_cpuid_regs r;
    mc_put_le32(bad, 65);
    CHECK(!mc_snp_cpuid_find(bad, 0, 0, &r));
    /* refusals of the builder */
    const struct mc_cpu_profile *milan = NULL, *rome = NULL;
    CHECK(mc_cpu_profile_find("milan", &milan, NULL) == MC_OK);
    CHECK(mc_cpu_profile_find("rome", &rome, NULL) == MC_OK);
    struct mc_snp_cpuid_params cp = {.host = milan, .vcpu_type = "EPYC-Nope", .vcpus = 1};
    CHECK_EQ_U64(mc_snp_cpuid_build(&cp, bad, NULL), MC_E_NOTFOUND);
    cp.vcpu_type = NULL;
    cp.host = rome;
    CHECK_EQ_U64(mc_snp_cpuid_build(&cp, bad, NULL), MC_E_UNSUPPORTED);
    cp.host = milan;
    cp.vcpus = 0;
    CHECK_EQ_U64(mc_snp_cpuid_build(&cp, bad, NULL), MC_E_RANGE);

    /* EPYC-Genoa's table on a Milan host: the firmware corrects Fn0000_0001 / Fn8000_0001 (a newer
     * signature than the processor's), writes the corrected page back, measures nothing */
    struct gx x;
    memset(&x, 0, sizeof x);
    CHECK(sfw_open(&x.t, "milan", NULL, NULL) == 0 && sfw_up(&x.t) == 0);
    struct mc_vm_config c = {.vcpus = 1, .mem_size = MEM, .snp = true, .snp_policy = POLICY};
    CHECK(mc_vm_create(mc_board_vmm(x.t.b), &c, &x.vm, NULL, NULL) == MC_OK);
    cp = (struct mc_snp_cpuid_params){.host = milan, .vcpu_type = "EPYC-Genoa", .vcpus = 1, .reduced_phys_bits = 1};
    CHECK(mc_snp_cpuid_build(&cp, x.cpuid, NULL) == MC_OK);
    struct mc_error e = {0};
    CHECK_EQ_U64(mc_vm_snp_launch_update(x.vm, CPUID_PG, x.cpuid, 4096, MC_SNP_PT_CPUID, 0, &e), MC_E_FIRMWARE);
    CHECK_EQ_U64(mc_vm_last_fw_status(x.vm), MC_FW_INVALID_PARAM);
    uint8_t back[4096];
    CHECK(mc_vm_host_read(x.vm, CPUID_PG, back, sizeof back, NULL) == MC_OK);
    char why[2048];
    CHECK_EQ_U64(mc_snp_cpuid_mismatches(x.cpuid, back, why, sizeof why), 2);
    CHECK(strstr(why, "function 0x1, index 0x0: provided eax 0x00a10f10") != NULL);
    CHECK(strstr(why, "expected eax 0x00a00f11") != NULL);
    CHECK(strstr(why, "function 0x80000001") != NULL);
    char tiny[16];
    CHECK_EQ_U64(mc_snp_cpuid_mismatches(x.cpuid, back, tiny, sizeof tiny), 2);
    CHECK(strlen(tiny) == 15 && !strcmp(tiny + 12, "..."));
    mc_put_le32(back, 3);
    CHECK_EQ_U64(mc_snp_cpuid_mismatches(x.cpuid, back, why, sizeof why), 1);
    CHECK(strstr(why, "count") != NULL);
    gx_down(&x);
}

/* One AP Creation exit from vCPU v through the GHCB page at GHCB: SW_EXITINFO1/2 (and RAX when
 * rax_valid); returns what the hypervisor wrote back into SW_EXITINFO1 and *info2 SW_EXITINFO2. */
static uint64_t ap_exit(struct mc_vcpu *v, uint64_t info1, uint64_t gpa, uint64_t rax, bool rax_valid, uint64_t *info2)
{
    uint8_t g[4096] = {0};
    struct mc_fault f;
    mc_put_le64(g + MC_GHCB_SW_EXITCODE, MC_GHCB_EXIT_AP_CREATION);
    mc_put_le64(g + MC_GHCB_SW_EXITINFO1, info1);
    mc_put_le64(g + MC_GHCB_SW_EXITINFO2, gpa);
    g[MC_GHCB_VALID_BITMAP + MC_GHCB_SW_EXITCODE / 64] |= 0x7u << (MC_GHCB_SW_EXITCODE / 8 % 8);
    if (rax_valid) {
        mc_put_le64(g + MC_GHCB_RAX, rax);
        g[MC_GHCB_VALID_BITMAP + MC_GHCB_RAX / 64] |= 1u << (MC_GHCB_RAX / 8 % 8);
    }
    mc_put_le16(g + MC_GHCB_PROTOCOL, 2);
    CHECK(mc_guest_phys_write(v, GHCB, false, g, sizeof g, &f, NULL) == MC_OK);
    mc_guest_wrmsr_ghcb(v, GHCB);
    struct mc_error e = {0};
    CHECK_MSG(mc_guest_vmgexit(v, &e) == MC_OK, "%s", e.msg);
    CHECK(mc_guest_phys_read(v, GHCB, false, g, sizeof g, &f, NULL) == MC_OK);
    *info2 = mc_le64(g + MC_GHCB_SW_EXITINFO2);
    return mc_le64(g + MC_GHCB_SW_EXITINFO1);
}

/* The guest makes a private page a VMSA (PSC private, PVALIDATE, the state written through its own
 * mapping, RMPADJUST with the VMSA bit for VMPL1). */
static void make_vmsa(struct mc_vcpu *v, uint64_t gpa, uint64_t features, uint64_t cr4, bool vmsa_bit)
{
    mc_guest_wrmsr_ghcb(v, gpa | 1ull << 52 | 0x014);
    CHECK(mc_guest_vmgexit(v, NULL) == MC_OK);
    CHECK_EQ_U64(mc_guest_rdmsr_ghcb(v), 0x015);
    uint32_t eax = 99;
    bool cf = true;
    struct mc_fault f;
    CHECK(mc_guest_pvalidate(v, gpa, false, true, &eax, &cf, &f, NULL) == MC_OK && eax == 0);
    uint8_t page[4096];
    vmsa_image(page, features, 0);
    mc_put_le64(page + 0x148, cr4);
    CHECK(mc_guest_phys_write(v, gpa, true, page, sizeof page, &f, NULL) == MC_OK);
    if (vmsa_bit) {
        eax = 99;
        CHECK(mc_guest_rmpadjust(v, gpa, false, 1 | 1u << 16, &eax, &f, NULL) == MC_OK);
        CHECK_EQ_U64(eax, 0);
    }
}

static uint64_t ap_cr4(struct mc_vcpu *v, struct mc_error *e)
{
    uint8_t b[8];
    struct mc_fault f;
    if (mc_guest_phys_read(v, 0, true, b, sizeof b, &f, e) != MC_OK)
        return ~0ull;
    struct mc_paging_regs r;
    mc_guest_get_regs(v, &r);
    return r.cr4;
}

/* GHCB AP Creation (exit 0x80000013): the BSP makes a VMSA in its own memory and creates vCPU 1
 * from it; the AP runs from that page (its exits save into it); every request KVM refuses gets
 * SW_EXITINFO1 2 / SW_EXITINFO2 5 (4 without RAX) and changes nothing; a page that is not this
 * guest's VMSA page passes the hypervisor (as KVM) and the CPU refuses the AP's VMRUN; AP_DESTROY
 * stops the AP, CREATE_ON_INIT waits for INIT; a guest with a guest-made VMSA is not saved; the
 * teardown gives the page back as guest RAM. */
static void test_ap_creation(void)
{
    struct gx x;
    memset(&x, 0, sizeof x);
    CHECK(sfw_open(&x.t, "milan", NULL, NULL) == 0 && sfw_up(&x.t) == 0);
    struct mc_vm_config c = {.vcpus = 2, .mem_size = MEM, .snp = true, .snp_policy = POLICY};
    CHECK(mc_vm_create(mc_board_vmm(x.t.b), &c, &x.vm, NULL, NULL) == MC_OK);
    x.v = mc_vm_vcpu(x.vm, 0);
    struct mc_vcpu *ap = mc_vm_vcpu(x.vm, 1);
    uint8_t page[4096];
    memset(page, 0x5A, sizeof page);
    vmsa_image(x.vmsa, MC_SEV_FEATURES_SNP_ACTIVE, 0);
    CHECK(mc_vm_snp_launch_update(x.vm, 0, page, sizeof page, MC_SNP_PT_NORMAL, 0, NULL) == MC_OK);
    CHECK(mc_vm_snp_launch_vmsa(x.vm, 0, x.vmsa, NULL) == MC_OK);
    CHECK(mc_vm_snp_launch_vmsa(x.vm, 1, x.vmsa, NULL) == MC_OK);
    CHECK(mc_vm_snp_launch_finish(x.vm, NULL, NULL, 0, NULL, NULL) == MC_OK);
    CHECK_EQ_U64(ghcb_msr(&x, 0x080), (3ull << 12) | 0x081); /* AP creation offered */
    CHECK(ghcb_msr(&x, 0x12 | GHCB) == (0x13 | GHCB));
    const uint64_t AP = FREE + 0x1000, NOTVMSA = FREE + 0x2000, SHARED = FREE + 0x3000;
    make_vmsa(x.v, AP, MC_SEV_FEATURES_SNP_ACTIVE, 0x20, true);
    make_vmsa(x.v, NOTVMSA, MC_SEV_FEATURES_SNP_ACTIVE, 0x20, false);
    struct mc_error e = {0};
    CHECK_EQ_U64(ap_cr4(ap, &e), 0x40); /* the AP runs from its launched VMSA so far (MCE) */
    CHECK(!mc_vm_snp_guest_vmsa(x.vm, 1, NULL));

    uint64_t i2 = 99, gpa = 0;
    CHECK_EQ_U64(ap_exit(x.v, 1ull << 32 | MC_GHCB_AP_CREATE, AP, 1, true, &i2), 0);
    CHECK_EQ_U64(i2, 0);
    CHECK(mc_vm_snp_guest_vmsa(x.vm, 1, &gpa) && gpa == AP);
    CHECK_EQ_U64(ap_cr4(ap, &e), 0x20); /* VMRUN loaded the guest's page */
    CHECK_EQ_U64(mc_guest_sev_status(ap), 0x7);
    struct mc_paging_regs r;
    mc_guest_get_regs(ap, &r);
    r.cr4 = 0x60;
    mc_guest_set_regs(ap, &r);
    mc_guest_wrmsr_ghcb(ap, 0x002); /* the AP's exit saves its state into the guest's page */
    CHECK(mc_guest_vmgexit(ap, NULL) == MC_OK);
    uint64_t spa = mc_vm_mem_spa(x.vm) + AP;
    CHECK(sfw_guest_read(&x.t, mc_vm_asid(x.vm), spa, page, sizeof page) == 0);
    CHECK_EQ_U64(mc_le64(page + 0x148), 0x60);
    struct mc_fault f;
    CHECK_EQ_U64(mc_machine_phys_write(x.t.m, spa + 0x148, page, 8, &f, NULL), MC_E_FAULT); /* host: RMP */
    struct mc_rmp_entry re;
    enum mc_rmp_page_state ps;
    CHECK(mc_rmp_fw_read(mc_board_rmp(x.t.b), spa, &re, &ps, NULL) == MC_OK);
    CHECK(re.assigned && re.vmsa && re.validated && re.asid == mc_vm_asid(x.vm) && re.gpa == AP);

    /* refusals: KVM's GHCB error, nothing changed (the AP keeps running from the same page) */
    static const struct {
        uint64_t info1, gpa, rax;
        bool rax_valid;
        uint64_t err;
    } bad[] = {
        {2ull << 32 | MC_GHCB_AP_CREATE, NOTVMSA, 1, true, 5},      /* no vCPU 2 */
        {1ull << 32 | MC_GHCB_AP_CREATE, NOTVMSA, 0x21, true, 5},   /* SEV_FEATURES not the VM's */
        {1ull << 32 | MC_GHCB_AP_CREATE_ON_INIT, NOTVMSA, 3, true, 5},
        {1ull << 32 | 3, NOTVMSA, 1, true, 5},                      /* no such request */
        {1ull << 32 | 1u << 16 | MC_GHCB_AP_CREATE, AP, 1, true, 5}, /* a VMPL (Linux under an SVSM) */
        {1ull << 32 | MC_GHCB_AP_CREATE, NOTVMSA + 8, 1, true, 5},  /* not a page address */
        {1ull << 32 | MC_GHCB_AP_CREATE, FREE, 1, true, 5},         /* 2 MiB aligned */
        {1ull << 32 | MC_GHCB_AP_CREATE, MEM + 0x1000, 1, true, 5}, /* outside guest RAM */
        {1ull << 32 | MC_GHCB_AP_CREATE, NOTVMSA, 1, false, 4},     /* RAX not given */
        {~0ull << 32 | MC_GHCB_AP_DESTROY, 0, 0, false, 5},         /* AP_DESTROY of no vCPU */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_MSG(ap_exit(x.v, bad[i].info1, bad[i].gpa, bad[i].rax, bad[i].rax_valid, &i2) == 2, "case %zu", i);
        CHECK_MSG(i2 == bad[i].err, "case %zu: 0x%llx", i, (unsigned long long)i2);
        CHECK_MSG(mc_vm_snp_guest_vmsa(x.vm, 1, &gpa) && gpa == AP, "case %zu", i);
        CHECK_MSG(ap_cr4(ap, &e) == 0x60, "case %zu: %s", i, e.msg);
    }
    /* not a VMSA page (no RMPADJUST VMSA bit), a shared page: KVM takes the request, the CPU refuses
     * the AP's VMRUN (VMEXIT_INVALID); the guest's pages are untouched */
    const uint64_t notvmsa[] = {NOTVMSA, SHARED};
    for (int i = 0; i < 2; i++) {
        CHECK_EQ_U64(ap_exit(x.v, 1ull << 32 | MC_GHCB_AP_CREATE, notvmsa[i], 1, true, &i2), 0);
        CHECK_EQ_U64(ap_cr4(ap, &e), ~0ull);
        CHECK(strstr(e.msg, "VMEXIT_INVALID") && strstr(e.msg, "not this guest's validated VMSA page"));
    }
    CHECK(mc_rmp_fw_read(mc_board_rmp(x.t.b), mc_vm_mem_spa(x.vm) + NOTVMSA, &re, &ps, NULL) == MC_OK);
    CHECK(re.assigned && !re.vmsa && re.validated);
    CHECK(mc_rmp_fw_read(mc_board_rmp(x.t.b), mc_vm_mem_spa(x.vm) + SHARED, &re, &ps, NULL) == MC_OK);
    CHECK(!re.assigned);
    /* the hypervisor runs the AP with another ASID in the VMCB: the page is not that ASID's */
    CHECK_EQ_U64(ap_exit(x.v, 1ull << 32 | MC_GHCB_AP_CREATE, AP, 1, true, &i2), 0);
    uint32_t asid = mc_vm_asid(x.vm);
    mc_vm_set_vmcb_asid(x.vm, asid + 1);
    CHECK_EQ_U64(ap_cr4(ap, &e), ~0ull);
    CHECK(strstr(e.msg, "VMEXIT_INVALID") != NULL);
    mc_vm_set_vmcb_asid(x.vm, asid);
    CHECK_EQ_U64(ap_cr4(ap, &e), 0x60);

    /* a guest whose AP runs from a VMSA it made is not saved (the file holds the launched VMSAs) */
    struct mc_migrate_opts mo = {0};
    uint8_t *file = NULL;
    size_t flen = 0;
    CHECK_EQ_U64(mc_guest_save(x.t.b, &x.vm, &mo, &file, &flen, &e), MC_E_UNSUPPORTED);
    CHECK(strstr(e.msg, "AP Creation") != NULL && x.vm != NULL && file == NULL);
    CHECK_EQ_U64(ap_cr4(ap, &e), 0x60); /* still running */

    /* AP_DESTROY: the AP no longer runs; CREATE_ON_INIT waits for INIT */
    CHECK_EQ_U64(ap_exit(x.v, 1ull << 32 | MC_GHCB_AP_DESTROY, 0, 0, false, &i2), 0);
    CHECK(!mc_vm_snp_guest_vmsa(x.vm, 1, NULL));
    CHECK_EQ_U64(ap_cr4(ap, &e), ~0ull);
    CHECK(strstr(e.msg, "AP_DESTROY") != NULL);
    CHECK_EQ_U64(ap_exit(x.v, 1ull << 32 | MC_GHCB_AP_CREATE_ON_INIT, AP, 1, true, &i2), 0);
    CHECK_EQ_U64(ap_cr4(ap, &e), ~0ull);
    CHECK(mc_vm_vcpu_init(x.vm, 1, NULL) == MC_OK);
    CHECK(mc_vm_snp_guest_vmsa(x.vm, 1, &gpa) && gpa == AP);
    CHECK_EQ_U64(ap_cr4(ap, &e), 0x60);
    CHECK_EQ_U64(mc_vm_vcpu_init(x.vm, 5, NULL), MC_E_INVAL);
    /* a vCPU may recreate itself: the BSP moves onto a VMSA it made */
    make_vmsa(x.v, FREE + 0x4000, MC_SEV_FEATURES_SNP_ACTIVE, 0x20, true);
    CHECK_EQ_U64(ap_exit(x.v, 0ull << 32 | MC_GHCB_AP_CREATE, FREE + 0x4000, 1, true, &i2), 0);
    CHECK_EQ_U64(ap_cr4(x.v, &e), 0x20);

    /* teardown: the guest-made VMSA pages go back to the hypervisor as guest RAM (RMPUPDATE), not
     * as firmware pages; the ASID can be activated again */
    mc_vm_destroy(x.vm);
    CHECK(mc_rmp_fw_read(mc_board_rmp(x.t.b), spa, &re, &ps, NULL) == MC_OK);
    CHECK(!re.assigned && !re.vmsa);
    x.vm = NULL;
    CHECK(mc_vm_create(mc_board_vmm(x.t.b), &c, &x.vm, NULL, &e) == MC_OK);
    CHECK_EQ_U64(mc_vm_asid(x.vm), asid);
    gx_down(&x);
}

int main(void)
{
    RUN(test_report);
    RUN(test_key);
    RUN(test_hostile);
    RUN(test_refused);
    RUN(test_ext_report);
    RUN(test_vm_lifecycle);
    RUN(test_vmsa_vcpu);
    RUN(test_psc_and_remap);
    RUN(test_vmpl);
    RUN(test_generations);
    RUN(test_replayed_request);
    RUN(test_cpuid_page);
    RUN(test_ap_creation);
    return check_summary();
}
