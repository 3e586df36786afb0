/* Benchmark: the guest-message core of MSG_REPORT_REQ, one round trip = the guest seals a
 * request, the firmware unwraps it, builds and signs the report (VCEK, ECDSA P-384), wraps the
 * response, and the guest opens it. Baseline in the same run: bare ECDSA P-384 signatures
 * through the same OpenSSL path (the floor of a signed report). Also MSG_KEY_REQ round trips.
 * Then the whole firmware path: a guest launched through the emulated firmware (with its secrets
 * page) seals MSG_REPORT_REQ with VMPCK0 into a shared page, the host issues SNP_GUEST_REQUEST
 * through the board's mailbox (context, page and RMP checks, the message core, the report signed
 * by the VCEK at the reported TCB, the response written to a Firmware page), the guest opens the
 * response; against `openssl speed ecdsap384` signs/s run in the same run (target >= 0.8x). And the
 * same request as an SNP guest makes it (memcrypt/snp_guest.h on an SNP VM of the board's
 * hypervisor: VMPCK and sequence numbers in its secrets page, the GHCB exit, the hypervisor's
 * copies, the response checked as Linux checks it).
 * Run: build/bench_snp_msg [seconds]   (default 2; under 1 s without `openssl speed`). Rates from CPU time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <memcrypt/board.h>
#include <memcrypt/bytes.h>
#include <memcrypt/guest.h>
#include <memcrypt/machine.h>
#include <memcrypt/rmp.h>
#include <memcrypt/snp_api.h>
#include <memcrypt/snp_guest.h>
#include <memcrypt/vm.h>
#include <memcrypt/vmsa.h>
#include <memcrypt/snp_guest_msg.h>

#include "crypto/crypto.h"
#include "crypto/pk.h"
#include "snp/identity.h"

#include "bench_target.h"

static double cpu(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static struct mc_snp_identity *id;
static struct mc_snp_vmpck keys[4];
static struct mc_snp_msg_ctx ctx;
static uint64_t seq = 1;

static int round_trip(uint8_t type, const uint8_t *payload, size_t n)
{
    static uint8_t req[4096], rsp[4096], pl[4096], out[4096];
    struct mc_snp_msg_hdr h = {.seqno = seq, .msg_type = type, .msg_version = 1, .msg_vmpck = 0}, rh;
    size_t len = 0, rn = 0, on = 0;
    mc_fw_status fw;
    if (mc_snp_msg_seal(keys[0].key, &h, payload, n, req, sizeof req, &len, NULL) ||
        mc_snp_msg_fw_unwrap(keys, req, sizeof req, &h, pl, sizeof pl, &fw, NULL) || fw)
        return -1;
    if (type == MC_SNP_MSG_REPORT_REQ) {
        if (mc_snp_handle_report_req(id, &ctx, 0, pl, h.msg_size, out, NULL) || mc_le32(out))
            return -1;
        on = MC_SNP_REPORT_RSP_SIZE;
    } else {
        if (mc_snp_handle_key_req(id, &ctx, 0, pl, h.msg_size, out, NULL) || mc_le32(out))
            return -1;
        on = MC_SNP_KEY_RSP_SIZE;
    }
    if (mc_snp_msg_fw_wrap(keys, &h, out, on, rsp, sizeof rsp, &rn, &fw, NULL) || fw ||
        mc_snp_msg_open(keys[0].key, rsp, rn, &rh, pl, sizeof pl, NULL) || rh.seqno != seq + 1)
        return -1;
    seq += 2;
    return 0;
}

static uint8_t report_req[MC_SNP_REPORT_REQ_SIZE], key_req[MC_SNP_KEY_REQ_SIZE];

/* ---- The firmware path: SNP_GUEST_REQUEST through the board's mailbox ---- */

#define F(S, f) offsetof(struct S, f)
#define B_GCTX 0x200000ull
#define B_PAGE 0x400000ull    /* the guest's launch page */
#define B_SECRETS 0x401000ull /* its secrets page */
#define B_REQ 0x500000ull     /* the guest's request page (shared) */
#define B_RSP 0x501000ull     /* the response page the host gives the firmware (Firmware) */
static struct mc_board *board;
static uint8_t vmpck0[32];
static uint64_t bseq = 1;

static int fw(uint32_t cmd, void *buf, size_t len)
{
    struct mc_error e;
    uint32_t st = 0;
    if (mc_board_fw(board, cmd, buf, len, &st, &e)) {
        fprintf(stderr, "firmware: %s\n", e.msg);
        return -1;
    }
    return 0;
}

static int rmpupdate(uint64_t spa, const struct mc_rmp_state *s)
{
    uint32_t eax = 0;
    struct mc_fault f;
    return mc_rmp_rmpupdate(mc_board_rmp(board), spa, s, &eax, &f, NULL) || eax ? -1 : 0;
}

static int lu(uint64_t spa, unsigned type)
{
    uint8_t b[sizeof(struct mc_snp_launch_update)] = {0};
    mc_put_le64(b + F(mc_snp_launch_update, gctx_paddr), B_GCTX);
    mc_put_le32(b + F(mc_snp_launch_update, flags), type << 1);
    mc_put_le64(b + F(mc_snp_launch_update, page_paddr), spa);
    return fw(MC_SEV_CMD_SNP_LAUNCH_UPDATE, b, sizeof b);
}

/* A running SNP guest (a NORMAL page and the secrets page) on a Milan board; the guest's VMPCK0
 * read from its secrets page (a private read with its ASID's key). */
static int board_up(void)
{
    struct mc_board_config bc;
    struct mc_error e;
    if (mc_board_config_init(&bc, "milan", &e))
        return -1;
    bc.machine.seed = (const uint8_t *)"bench snp guest request";
    bc.machine.seed_len = 23;
    bc.fw.root_bits = 2048;
    bc.hypervisor = false;
    bc.rmp_size = MC_BOARD_RMP_AUTO;
    if (mc_board_create(&bc, &board, &e))
        return -1;
    struct mc_machine *m = mc_board_machine(board);
    struct mc_fault f;
    uint64_t v = 0;
    uint32_t st = 0;
    if (mc_board_snp_enable(board, &e) || mc_machine_rdmsr(m, MC_MSR_HWCR, &v, &f, &e) ||
        mc_machine_wrmsr(m, MC_MSR_HWCR, v | MC_HWCR_SMMLOCK, &f, &e) || fw(MC_SEV_CMD_SNP_INIT, NULL, 0) ||
        mc_board_df_flush(board, &st, &e))
        return -1;
    const struct mc_rmp_state fwpage = {.assigned = 1, .immutable = 1};
    uint8_t p[8], ls[sizeof(struct mc_snp_launch_start)] = {0}, ac[sizeof(struct mc_snp_activate)] = {0},
                  lf[sizeof(struct mc_snp_launch_finish)] = {0};
    mc_put_le64(p, B_GCTX);
    mc_put_le64(ls + F(mc_snp_launch_start, gctx_paddr), B_GCTX);
    mc_put_le64(ls + F(mc_snp_launch_start, policy), 0x30000);
    mc_put_le64(ac + F(mc_snp_activate, gctx_paddr), B_GCTX);
    mc_put_le32(ac + F(mc_snp_activate, asid), 1);
    mc_put_le64(lf + F(mc_snp_launch_finish, gctx_paddr), B_GCTX);
    const struct mc_rmp_state pg = {.gpa = 0, .assigned = 1, .immutable = 1, .asid = 1},
                              sp = {.gpa = 0x1000, .assigned = 1, .immutable = 1, .asid = 1};
    static const uint8_t page[4096] = {0x42};
    if (rmpupdate(B_GCTX, &fwpage) || fw(MC_SEV_CMD_SNP_GCTX_CREATE, p, sizeof p) ||
        fw(MC_SEV_CMD_SNP_LAUNCH_START, ls, sizeof ls) || fw(MC_SEV_CMD_SNP_ACTIVATE, ac, sizeof ac) ||
        mc_machine_phys_write(m, B_PAGE, page, sizeof page, &f, &e) || rmpupdate(B_PAGE, &pg) ||
        rmpupdate(B_SECRETS, &sp) || lu(B_PAGE, MC_SNP_PT_NORMAL) || lu(B_SECRETS, MC_SNP_PT_SECRETS) ||
        fw(MC_SEV_CMD_SNP_LAUNCH_FINISH, lf, sizeof lf) || rmpupdate(B_RSP, &fwpage))
        return -1;
    uint8_t s[4096];
    struct memctl_access a = {.addr = B_SECRETS, .size = sizeof s, .kind = MEMCTL_ACC_READ, .req = MEMCTL_REQ_GUEST,
                              .asid = 1, .guest_c = true};
    if (memctl_read(mc_machine_memctl(m), &a, s, &f, &e))
        return -1;
    memcpy(vmpck0, s + F(mc_snp_secrets_page, vmpck), 32); /* VMPCK0 */
    mc_wipe(s, sizeof s);
    return 0;
}

/* One MSG_REPORT_REQ: the guest seals it into the shared page, the host issues SNP_GUEST_REQUEST,
 * the guest reads the response page and opens it. */
static int op_fw_report(void)
{
    static uint8_t msg[4096], pl[4096];
    struct mc_snp_msg_hdr h = {.seqno = bseq, .msg_type = MC_SNP_MSG_REPORT_REQ, .msg_version = 1}, rh;
    size_t len = 0;
    struct mc_fault f;
    struct mc_machine *m = mc_board_machine(board);
    if (mc_snp_msg_seal(vmpck0, &h, report_req, sizeof report_req, msg, sizeof msg, &len, NULL) ||
        mc_machine_phys_write(m, B_REQ, msg, len, &f, NULL))
        return -1;
    uint8_t b[sizeof(struct mc_snp_guest_request)] = {0};
    mc_put_le64(b + F(mc_snp_guest_request, gctx_paddr), B_GCTX);
    mc_put_le64(b + F(mc_snp_guest_request, req_paddr), B_REQ);
    mc_put_le64(b + F(mc_snp_guest_request, rsp_paddr), B_RSP);
    if (fw(MC_SEV_CMD_SNP_GUEST_REQUEST, b, sizeof b) || mc_machine_phys_read(m, B_RSP, msg, sizeof msg, &f, NULL) ||
        mc_snp_msg_open(vmpck0, msg, sizeof msg, &rh, pl, sizeof pl, NULL) || rh.seqno != bseq + 1 ||
        rh.msg_type != MC_SNP_MSG_REPORT_RSP || mc_le32(pl))
        return -1;
    bseq += 2;
    return 0;
}

/* ---- The guest's driver: an SNP VM on the board's hypervisor ---- */

static struct mc_board *board2;
static struct mc_vm *vm2;
static struct mc_snp_guest *drv;

static int driver_up(void)
{
    struct mc_board_config bc;
    struct mc_error e;
    if (mc_board_config_init(&bc, "milan", &e))
        return -1;
    bc.machine.seed = (const uint8_t *)"bench snp guest driver";
    bc.machine.seed_len = 22;
    bc.fw.root_bits = 2048;
    bc.rmp_size = MC_BOARD_RMP_AUTO;
    if (mc_board_create(&bc, &board2, &e))
        return -1;
    struct mc_machine *m = mc_board_machine(board2);
    struct mc_fault f;
    uint64_t v = 0;
    uint32_t st = 0;
    if (mc_board_snp_enable(board2, &e) || mc_machine_rdmsr(m, MC_MSR_HWCR, &v, &f, &e) ||
        mc_machine_wrmsr(m, MC_MSR_HWCR, v | MC_HWCR_SMMLOCK, &f, &e) ||
        mc_board_fw(board2, MC_SEV_CMD_SNP_INIT, NULL, 0, &st, &e) || mc_board_df_flush(board2, &st, &e))
        return -1;
    struct mc_vm_config c = {.vcpus = 1, .mem_size = 4u << 20, .snp = true, .snp_policy = 0x30000};
    static const uint8_t page[4096] = {0x42};
    uint8_t vmsa[MC_VMSA_SIZE];
    mc_vmsa_build(&(struct mc_vmsa_params){.eip = MC_VMSA_BSP_EIP, .sev_features = 1, .vcpu_sig = 0xA00F11}, vmsa);
    struct mc_snp_guest_config gc = {.secrets_gpa = 0x1000, .ghcb_gpa = 0x10000, .req_gpa = 0x11000,
                                     .rsp_gpa = 0x12000, .vmpck = 0};
    if (mc_vm_create(mc_board_vmm(board2), &c, &vm2, NULL, &e) ||
        mc_vm_snp_launch_update(vm2, 0, page, sizeof page, MC_SNP_PT_NORMAL, 0, &e) ||
        mc_vm_snp_launch_update(vm2, 0x1000, NULL, 4096, MC_SNP_PT_SECRETS, 0, &e) ||
        mc_vm_snp_launch_vmsa(vm2, 0, vmsa, &e) || mc_vm_snp_launch_finish(vm2, NULL, NULL, 0, NULL, &e) ||
        mc_snp_guest_create(mc_vm_vcpu(vm2, 0), &gc, &drv, &e)) {
        fprintf(stderr, "guest driver: %s\n", e.msg);
        return -1;
    }
    return 0;
}

static int op_driver_report(void)
{
    static const uint8_t rd[64] = {1};
    static uint8_t rep[MC_SNP_REPORT_SIZE];
    uint32_t status = 1;
    return mc_snp_guest_report(drv, rd, 0, 0, rep, &status, NULL) || status ? -1 : 0;
}

/* `openssl speed -seconds N ecdsap384`: its sign/s (CPU time), or 0 when it cannot be run. Its
 * shortest run is -seconds 1 for signing and 1 more for verifying (whole seconds only): a run
 * asked for less than a second (a test's smoke run) does not start it, so it stays that short;
 * the targets against it then say "not measured". */
static double openssl_speed(double secs)
{
    if (secs < 1)
        return 0;
    char cmd[128], line[512];
    snprintf(cmd, sizeof cmd, "openssl speed -seconds %d ecdsap384 2>/dev/null", secs < 1 ? 1 : (int)(secs + 0.5));
    FILE *p = popen(cmd, "r");
    double rate = 0;
    while (p && fgets(line, sizeof line, p)) {
        const char *k = strstr(line, "ecdsa (nistp384)");
        double st, vt, sr;
        if (k && sscanf(k + strlen("ecdsa (nistp384)"), " %lfs %lfs %lf", &st, &vt, &sr) == 3)
            rate = sr;
    }
    if (p)
        pclose(p);
    return rate;
}

/* "R vs OSSL /s", or R alone when openssl speed did not run. */
static const char *versus(char *buf, size_t n, double r, double ossl)
{
    if (ossl > 0)
        snprintf(buf, n, "%.0f vs %.0f /s", r, ossl);
    else
        snprintf(buf, n, "%.0f /s; openssl speed not run", r);
    return buf;
}

typedef int (*op_fn)(void);
static const struct mc_pk *vcek;
static int op_report(void) { return round_trip(MC_SNP_MSG_REPORT_REQ, report_req, sizeof report_req); }
static int op_key(void) { return round_trip(MC_SNP_MSG_KEY_REQ, key_req, sizeof key_req); }
static int op_sign(void)
{
    static uint8_t msg[0x2A0], r[72], s[72];
    msg[0]++;
    return mc_ecdsa_sign_le72(vcek, "SHA384", msg, sizeof msg, r, s, NULL) ? -1 : 0;
}

static double rate(op_fn f, double secs)
{
    unsigned long n = 0;
    double t0 = cpu(), t;
    do {
        for (int i = 0; i < 16; i++, n++)
            if (f()) {
                fprintf(stderr, "operation failed\n");
                exit(1);
            }
        t = cpu() - t0;
    } while (t < secs);
    return (double)n / t;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 2.0;
    if (secs <= 0)
        secs = 2.0;
    mc_crypto_init();
    static const uint8_t seed[] = "bench snp guest message root";
    struct mc_snp_identity_params p = {.gen = MC_SNP_GEN_GENOA, .chip_secret = (const uint8_t *)"bench snp guest message secret..",
                                       .root_seed = seed, .root_seed_len = sizeof seed - 1, .root_bits = 2048};
    struct mc_error e;
    if (mc_snp_identity_create(&p, &id, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    memset(&ctx, 0, sizeof ctx);
    ctx.report.policy = 0x30000;
    ctx.report.current_tcb = ctx.report.committed_tcb = ctx.report.reported_tcb = 0x5400000000000A0Aull;
    ctx.report.current_major = ctx.report.committed_major = 1;
    ctx.report.current_minor = ctx.report.committed_minor = 55;
    ctx.report.current_build = ctx.report.committed_build = 37;
    ctx.report.cpuid_fam_id = 0x19;
    ctx.report.cpuid_mod_id = 0x11;
    for (int i = 0; i < 4; i++)
        memset(keys[i].key, 0x5A + i, sizeof keys[i].key);
    struct mc_snp_report_req rq = {.vmpl = 0};
    mc_snp_report_req_encode(&rq, report_req);
    struct mc_snp_key_req kq = {.guest_field_select = MC_SNP_GFS_MEASUREMENT | MC_SNP_GFS_POLICY};
    uint8_t kb[MC_SNP_KEY_REQ_SIZE_MIT];
    mc_snp_key_req_encode(&kq, kb);
    memcpy(key_req, kb, sizeof key_req);
    if (mc_snp_identity_vcek_key(id, ctx.report.reported_tcb, &vcek, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    double sign = rate(op_sign, secs), rep = rate(op_report, secs), key = rate(op_key, secs);
    printf("ECDSA P-384 sign (baseline, same OpenSSL path)   %9.0f /s\n", sign);
    printf("MSG_REPORT_REQ round trip (seal, unwrap, build+sign, wrap, open) %9.0f /s  = %.2fx the baseline (target >= 0.8x)\n",
           rep, rep / sign);
    bench_target("bench_snp_msg", "MSG_REPORT_REQ round trips / ECDSA P-384 signs", rep / sign, ">=", 0.8,
                 "%.0f vs %.0f /s", rep, sign);
    printf("MSG_KEY_REQ round trip (VCEK seed cached)       %9.0f /s\n", key);
    if (board_up() || op_fw_report()) { /* the first report creates the chip's SNP identity */
        fprintf(stderr, "the firmware path could not be set up\n");
        return 1;
    }
    double ossl = openssl_speed(secs), fwr = rate(op_fw_report, secs);
    char fig[96];
    if (secs < 1)
        printf("openssl speed ecdsap384 sign (same run)          not run: %.2g s is shorter than its 2 s minimum\n", secs);
    else
        printf("openssl speed ecdsap384 sign (same run)          %9.0f /s\n", ossl);
    printf("MSG_REPORT_REQ through SNP_GUEST_REQUEST (board mailbox, firmware checks, guest seal/open) %9.0f /s"
           "  = %.2fx openssl speed (target >= 0.8x)\n", fwr, ossl > 0 ? fwr / ossl : 0);
    bench_target("bench_snp_msg", "MSG_REPORT_REQ through SNP_GUEST_REQUEST / `openssl speed ecdsap384` signs",
                 ossl > 0 ? fwr / ossl : NAN, ">=", 0.8, "%s", versus(fig, sizeof fig, fwr, ossl));
    if (driver_up() || op_driver_report()) {
        fprintf(stderr, "the guest driver path could not be set up\n");
        return 1;
    }
    double drr = rate(op_driver_report, secs);
    printf("MSG_REPORT_REQ from the guest's driver (GHCB exit, hypervisor copies, SNP_GUEST_REQUEST, Linux's checks)"
           " %9.0f /s  = %.2fx openssl speed\n", drr, ossl > 0 ? drr / ossl : 0);
    bench_target("bench_snp_msg", "MSG_REPORT_REQ from an SNP guest's driver / `openssl speed ecdsap384` signs",
                 ossl > 0 ? drr / ossl : NAN, ">=", 0.8, "%s", versus(fig, sizeof fig, drr, ossl));
    mc_snp_guest_destroy(drv);
    mc_vm_destroy(vm2);
    mc_board_destroy(board2);
    mc_board_destroy(board);
    mc_snp_identity_destroy(id);
    return 0;
}
