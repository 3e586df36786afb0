/* Fuzz target: the guest side of SEV-SNP guest messages (memcrypt/snp_guest.h) against a hostile
 * hypervisor. One SNP guest is launched once (a Milan board, SNP_INIT, an SNP VM with a secrets page
 * and a VMSA); every input is what the hypervisor leaves in the guest's response page after the
 * firmware answered an MSG_REPORT_REQ: byte 0 bit 0 set — the input replaces the page; clear — it is
 * XORed onto the firmware's genuine response (so near-valid responses are explored). The guest must
 * either refuse the response (MC_E_VERIFY, VMPCK wiped) or accept one that carries its own
 * REPORT_DATA with STATUS 0; never crash. A wiped VMPCK is put back for the next input (the firmware's
 * and the guest's counters stay in step: both moved). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <memcrypt/board.h>
#include <memcrypt/bytes.h>
#include <memcrypt/guest.h>
#include <memcrypt/machine.h>
#include <memcrypt/sev_api.h>
#include <memcrypt/snp_api.h>
#include <memcrypt/snp_guest.h>
#include <memcrypt/snp_report.h>
#include <memcrypt/vm.h>

#include "fuzz_snp_board.h"

#define SECRETS 0x1000ull
#define GHCB 0x10000ull
#define REQ 0x11000ull
#define RSP 0x12000ull

static struct mc_board *board;
static struct mc_vm *vm;
static struct mc_snp_guest *guest;
static uint8_t vmpck0[32];
static const uint8_t *cur;
static size_t cur_len;

static void die(const char *what, const struct mc_error *e)
{
    fprintf(stderr, "fuzz_snp_guest set-up: %s: %s\n", what, e->msg);
    abort();
}

static void hostile(void *ctx, struct mc_vm *v, struct mc_vcpu *c, uint64_t code)
{
    (void)ctx;
    (void)c;
    if (code != MC_GHCB_EXIT_GUEST_REQUEST || !cur_len)
        return;
    uint8_t page[4096];
    if (mc_vm_host_read(v, RSP, page, sizeof page, NULL) != MC_OK)
        return;
    size_t n = cur_len < sizeof page ? cur_len : sizeof page;
    if (cur[0] & 1) {
        memcpy(page, cur, n);
    } else {
        for (size_t i = 1; i < n; i++)
            page[i - 1] ^= cur[i];
    }
    mc_vm_host_write(v, RSP, page, sizeof page, NULL);
}

static void setup(void)
{
    if (guest)
        return;
    struct mc_error e = {0};
    if (fuzz_snp_board("fuzz-snp-guest", &board, &e) != MC_OK)
        die("board with SNP up", &e);
    struct mc_fault f;
    struct mc_vm_config c = {.vcpus = 1, .mem_size = 4ull << 20, .snp = true, .snp_policy = 0x30000};
    static uint8_t page[4096], vmsa[4096];
    memset(page, 0x5A, sizeof page);
    mc_put_le64(vmsa + 0x3B0, 1); /* SEV_FEATURES.SNPActive */
    mc_put_le64(vmsa + 0x158, 0x10);
    if (mc_vm_create(mc_board_vmm(board), &c, &vm, NULL, &e) ||
        mc_vm_snp_launch_update(vm, 0, page, sizeof page, MC_SNP_PT_NORMAL, 0, &e) ||
        mc_vm_snp_launch_update(vm, SECRETS, NULL, 4096, MC_SNP_PT_SECRETS, 0, &e) ||
        mc_vm_snp_launch_vmsa(vm, 0, vmsa, &e) || mc_vm_snp_launch_finish(vm, NULL, NULL, 0, NULL, &e))
        die("launch", &e);
    struct mc_snp_guest_config gc = {.secrets_gpa = SECRETS, .ghcb_gpa = GHCB, .req_gpa = REQ, .rsp_gpa = RSP};
    if (mc_snp_guest_create(mc_vm_vcpu(vm, 0), &gc, &guest, &e) != MC_OK)
        die("guest", &e);
    if (mc_guest_phys_read(mc_vm_vcpu(vm, 0), SECRETS + MC_SNP_SECRETS_VMPCK0, true, vmpck0, 32, &f, &e) != MC_OK)
        die("secrets", &e);
    mc_vm_set_exit_hook(vm, hostile, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    cur = data;
    cur_len = size;
    uint8_t rd[64], rep[MC_SNP_REPORT_SIZE];
    for (int i = 0; i < 64; i++)
        rd[i] = (uint8_t)(i * 3 + size);
    uint32_t status = 0xFFFF;
    mc_status s = mc_snp_guest_report(guest, rd, 0, 0, rep, &status, NULL);
    if (s == MC_OK) {
        struct mc_snp_report r;
        if (status == 0 && (mc_snp_report_decode(rep, sizeof rep, &r, NULL) != MC_OK || memcmp(r.report_data, rd, 64)))
            abort(); /* an accepted response must be the firmware's answer to this request */
    } else if (s != MC_E_VERIFY && s != MC_E_FORMAT) {
        abort();
    }
    if (mc_snp_guest_vmpck_wiped(guest)) {
        struct mc_fault f;
        if (s == MC_OK || mc_guest_phys_write(mc_vm_vcpu(vm, 0), SECRETS + MC_SNP_SECRETS_VMPCK0, true, vmpck0, 32, &f,
                                              NULL) != MC_OK)
            abort();
    }
    cur_len = 0;
    return 0;
}
