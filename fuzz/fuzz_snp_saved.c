/* Fuzz target: the loader of saved SEV-SNP guests (memcrypt/migrate.h kind 3: mc_guest_file_info,
 * mc_guest_restore and the firmware's hibernation import). Prepared once: a Milan board with SNP up
 * (SNP_INIT, DF_FLUSH), a small SNP guest launched in KVM's order (a data page, the secrets page, a
 * VMSA), a private page written by the guest and a shared page by the hypervisor, saved with
 * mc_guest_save (the guest leaves the board); then the board is snapshotted. Every input runs from
 * the snapshot:
 *     ctl u8 · then, ctl bit0 clear: the rest of the input is the whole file;
 *     ctl bit0 set: edits to the saved file, each u32 offset (modulo the file length) · u8 XOR;
 *     ctl bit1: the file is cut to (u16 from the input's last two bytes) bytes fewer.
 * Invariants: no crash or sanitizer report; the saved file without edits is accepted; a refused file leaves no guest, no page assigned and
 * the firmware's guest count as they were; an accepted file is a guest whose private page reads
 * back exactly what the guest wrote (edits may only have touched what the hypervisor owns). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <memcrypt/board.h>
#include <memcrypt/bytes.h>
#include <memcrypt/crypto.h>
#include <memcrypt/guest.h>
#include <memcrypt/machine.h>
#include <memcrypt/migrate.h>
#include <memcrypt/psp.h>
#include <memcrypt/rmp.h>
#include <memcrypt/snp_api.h>
#include <memcrypt/vm.h>
#include <memcrypt/vmsa.h>

#include "fuzz_snp_board.h"

#define DRAM (64ull << 20)
#define RMP_SIZE (1ull << 20)
#define MEM (2ull << 20)
#define DATA 0x3000ull
#define SHARED 0x20000ull

static struct mc_board *g_board;
static struct mc_board_snapshot *g_snap;
static uint8_t *g_file, g_secret[4096];
static size_t g_len;

static void must(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_snp_saved: %s\n", what);
        abort();
    }
}

static void prepare(void)
{
    if (g_board)
        return;
    mc_crypto_init();
    struct mc_board_config c;
    must(mc_board_config_init(&c, "milan", NULL) == MC_OK, "config");
    c.machine.dram_size = DRAM;
    c.machine.seed = (const uint8_t *)"fuzz-snp-saved";
    c.machine.seed_len = 14;
    c.fw.num_cores = 1;
    c.fw.root_bits = 2048;
    c.mbox_pa = 0x10000;
    c.pool_base = 2ull << 20;
    c.pool_size = DRAM - 2 * RMP_SIZE - c.pool_base;
    c.rmp_size = RMP_SIZE;
    must(mc_board_create(&c, &g_board, NULL) == MC_OK, "board");
    uint32_t st = 0xFFFF;
    must(mc_board_snp_init(g_board, &st, NULL) == MC_OK && st == 0, "SNP bring-up");
    static const struct fuzz_snp_page pages[] = {
        {0, MC_SNP_PT_NORMAL}, {0x1000, MC_SNP_PT_SECRETS}, {DATA, MC_SNP_PT_ZERO}};
    struct mc_vm *vm = NULL;
    must(fuzz_snp_launch(g_board, MEM, pages, 3, &vm, NULL) == MC_OK, "launch");
    struct mc_fault f;
    uint8_t page[4096];
    for (size_t i = 0; i < sizeof g_secret; i++)
        g_secret[i] = (uint8_t)(i * 7 + 1);
    must(mc_guest_phys_write(mc_vm_vcpu(vm, 0), DATA, true, g_secret, sizeof g_secret, &f, NULL) == MC_OK, "guest write");
    memset(page, 0x3C, sizeof page);
    must(mc_vm_host_write(vm, SHARED, page, sizeof page, NULL) == MC_OK, "shared page");
    must(mc_guest_save(g_board, &vm, NULL, &g_file, &g_len, NULL) == MC_OK, "save");
    must(mc_board_snapshot(g_board, &g_snap, NULL) == MC_OK, "snapshot");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    prepare();
    if (size == 0)
        return 0;
    uint8_t ctl = data[0];
    const uint8_t *in = data + 1;
    size_t n = size - 1;
    uint8_t *file;
    size_t len;
    if (ctl & 1) {
        file = malloc(g_len);
        must(file != NULL, "memory");
        memcpy(file, g_file, g_len);
        len = g_len;
        for (size_t i = 0; i + 5 <= n; i += 5)
            file[mc_le32(in + i) % g_len] ^= in[i + 4];
        if ((ctl & 2) && n >= 2) {
            size_t cut = mc_le16(in + n - 2);
            len = cut < len ? len - cut : 0;
        }
    } else {
        file = malloc(n ? n : 1);
        must(file != NULL, "memory");
        memcpy(file, in, n);
        len = n;
    }
    struct mc_psp *psp = mc_board_psp(g_board);
    struct mc_rmp *rmp = mc_board_rmp(g_board);
    uint32_t guests = mc_psp_snp_guest_count(psp);
    uint64_t pages = mc_rmp_asid_pages(rmp, 1);
    struct mc_guest_file_info gi;
    (void)mc_guest_file_info(file, len, &gi, NULL);
    struct mc_vm *vm = NULL;
    mc_status s = mc_guest_restore(g_board, file, len, &vm, NULL, NULL);
    must(s == MC_OK || !(ctl & 1) || n >= 2, "the saved file itself was refused");
    if (s) {
        must(vm == NULL, "a refused file left a guest");
        must(mc_psp_snp_guest_count(psp) == guests, "a refused file changed the guest count");
        must(mc_rmp_asid_pages(rmp, 1) == pages, "a refused file left pages assigned");
    } else {
        uint8_t back[4096];
        struct mc_fault f;
        must(mc_vm_is_snp(vm), "an accepted file is not an SNP guest");
        must(mc_guest_phys_read(mc_vm_vcpu(vm, 0), DATA, true, back, sizeof back, &f, NULL) == MC_OK &&
                 memcmp(back, g_secret, sizeof back) == 0,
             "an accepted file gave the guest other private memory");
        mc_vm_destroy(vm);
    }
    free(file);
    must(mc_board_restore(g_board, g_snap, NULL) == MC_OK, "restore");
    return 0;
}
