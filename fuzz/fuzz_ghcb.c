/* Fuzz target: the hypervisor's side of the GHCB (src/vmm/ghcb.c) against a hostile SNP guest. One
 * SNP VM with two vCPUs is launched (a Milan board, SNP_INIT, a code page, two VMSAs); every input is
 * one VMGEXIT: byte 0 bit 0 set — the MSR protocol with the GHCB MSR = bytes 1..8; clear — a GHCB
 * page exit with the page = bytes 1.. (zero-padded; the GHCB registered first). Byte 0 bit 1 picks
 * vCPU 1. The hypervisor must answer (MC_OK) or terminate the guest, never crash; an AP Creation it
 * refuses (SW_EXITINFO1 2) changes no vCPU; one it accepts points the target at the named page
 * (AP_CREATE) or at none (AP_DESTROY). The board with SNP up is snapshotted once (no VM alive);
 * every input launches the VM afresh and ends with mc_vm_destroy and a restore. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <memcrypt/board.h>
#include <memcrypt/bytes.h>
#include <memcrypt/guest.h>
#include <memcrypt/snp_api.h>
#include <memcrypt/vm.h>

#include "fuzz_snp_board.h"

#define MEM (4ull << 20)
static const uint64_t ghcb_gpa[2] = {0x10000, 0x20000};

static struct mc_board *board;
static struct mc_board_snapshot *snap;
static struct mc_vm *vm;

static void die(const char *what, const struct mc_error *e)
{
    fprintf(stderr, "fuzz_ghcb set-up: %s: %s\n", what, e->msg);
    abort();
}

static void launch(void)
{
    struct mc_error e = {0};
    struct mc_vm_config c = {.vcpus = 2, .mem_size = MEM, .snp = true, .snp_policy = 0x30000};
    static uint8_t page[4096], vmsa[4096];
    memset(page, 0x5A, sizeof page);
    mc_put_le64(vmsa + 0x3B0, 1); /* SEV_FEATURES.SNPActive */
    mc_put_le64(vmsa + 0x158, 0x10);
    if (mc_vm_create(mc_board_vmm(board), &c, &vm, NULL, &e) ||
        mc_vm_snp_launch_update(vm, 0, page, sizeof page, MC_SNP_PT_NORMAL, 0, &e) ||
        mc_vm_snp_launch_vmsa(vm, 0, vmsa, &e) || mc_vm_snp_launch_vmsa(vm, 1, vmsa, &e) ||
        mc_vm_snp_launch_finish(vm, NULL, NULL, 0, NULL, &e))
        die("launch", &e);
    for (unsigned i = 0; i < 2; i++) { /* each vCPU registers its GHCB (MSR protocol 0x012) */
        struct mc_vcpu *v = mc_vm_vcpu(vm, i);
        mc_guest_wrmsr_ghcb(v, ghcb_gpa[i] | 0x012);
        if (mc_guest_vmgexit(v, &e) || mc_guest_rdmsr_ghcb(v) != (ghcb_gpa[i] | 0x013))
            die("GHCB registration", &e);
    }
}

static void setup(void)
{
    if (board)
        return;
    struct mc_error e = {0};
    if (fuzz_snp_board("fuzz-ghcb", &board, &e) != MC_OK)
        die("board with SNP up", &e);
    if (mc_board_snapshot(board, &snap, &e) != MC_OK)
        die("snapshot", &e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    if (!size)
        return 0;
    launch();
    unsigned which = (data[0] >> 1) & 1;
    struct mc_vcpu *v = mc_vm_vcpu(vm, which);
    struct mc_fault f;
    uint64_t code = 0, info1 = 0, info2 = 0;
    if (data[0] & 1) {
        uint8_t msr[8] = {0};
        memcpy(msr, data + 1, size - 1 < 8 ? size - 1 : 8);
        mc_guest_wrmsr_ghcb(v, mc_le64(msr));
    } else {
        static uint8_t g[4096];
        memset(g, 0, sizeof g);
        memcpy(g, data + 1, size - 1 < sizeof g ? size - 1 : sizeof g);
        code = mc_le64(g + MC_GHCB_SW_EXITCODE);
        info1 = mc_le64(g + MC_GHCB_SW_EXITINFO1);
        info2 = mc_le64(g + MC_GHCB_SW_EXITINFO2);
        struct mc_error e = {0};
        if (mc_guest_phys_write(v, ghcb_gpa[which], false, g, sizeof g, &f, &e) != MC_OK) {
            fprintf(stderr, "fuzz_ghcb: the guest cannot write its GHCB: %s\n", e.msg);
            abort();
        }
        mc_guest_wrmsr_ghcb(v, ghcb_gpa[which]);
    }
    struct mc_error ee = {0};
    mc_status s = mc_guest_vmgexit(v, &ee);
    if (s != MC_OK && !(s == MC_E_STATE && mc_vm_terminated(vm, NULL))) {
        fprintf(stderr, "fuzz_ghcb: VMGEXIT failed: %s\n", ee.msg);
        abort(); /* the hypervisor answers or terminates the guest */
    }
    if (s == MC_OK && !(data[0] & 1) && code == MC_GHCB_EXIT_AP_CREATION) {
        uint8_t out[16];
        if (mc_guest_phys_read(v, ghcb_gpa[which] + MC_GHCB_SW_EXITINFO1, false, out, sizeof out, &f, NULL) != MC_OK)
            abort();
        uint64_t o1 = mc_le64(out), o2 = mc_le64(out + 8);
        unsigned req = (unsigned)(info1 & 0xFFFFFFFFu);
        uint64_t apic = info1 >> 32, gpa = ~0ull;
        if (o1 == 2) { /* refused (usage, missing input, invalid input): no vCPU changed */
            if ((o2 != 2 && o2 != 4 && o2 != 5) || mc_vm_snp_guest_vmsa(vm, 0, NULL) ||
                mc_vm_snp_guest_vmsa(vm, 1, NULL))
                abort();
        } else if (o1 != 0 || apic > 1 || req > MC_GHCB_AP_DESTROY) {
            abort();
        } else if (req == MC_GHCB_AP_CREATE && (!mc_vm_snp_guest_vmsa(vm, (unsigned)apic, &gpa) || gpa != info2)) {
            abort();
        } else if (req != MC_GHCB_AP_CREATE && mc_vm_snp_guest_vmsa(vm, (unsigned)apic, NULL)) {
            abort();
        }
    }
    mc_vm_destroy(vm);
    vm = NULL;
    if (mc_board_restore(board, snap, NULL) != MC_OK)
        abort();
    return 0;
}
