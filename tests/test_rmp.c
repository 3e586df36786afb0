/* SEV-SNP's RMP (memcrypt/rmp.h): RMP_BASE/RMP_END and SYSCFG rules, the raw table in DRAM and
 * its bookkeeping counters, the firmware's page states and transitions, every return code of
 * RMPUPDATE / PSMASH / RMPREAD / PVALIDATE (with CF) / RMPADJUST, and every RMP fault of the host,
 * an SNP guest, a guest without SNP and a DMA device, with exact error codes; cached verdicts
 * dropped when the RMP changes. */
#include <memcrypt/board.h>
#include <memcrypt/bytes.h>
#include <memcrypt/dma.h>
#include <memcrypt/dram.h>
#include <memcrypt/rmp.h>

#include "check.h"

#define MIB (1ull << 20)

static struct mc_board *board(const char *platform, uint64_t dram, uint64_t rmp_size)
{
    struct mc_board_config c;
    struct mc_error e;
    CHECK(mc_board_config_init(&c, platform, &e) == MC_OK);
    c.machine.dram_size = dram;
    c.machine.seed = (const uint8_t *)"rmp";
    c.machine.seed_len = 3;
    c.firmware = c.hypervisor = false;
    c.rmp_size = rmp_size;
    struct mc_board *b = NULL;
    if (mc_board_create(&c, &b, &e) != MC_OK)
        fprintf(stderr, "board: %s\n", e.msg);
    return b;
}

static mc_status wrmsr(struct mc_machine *m, uint32_t msr, uint64_t v, struct mc_fault *f)
{
    return mc_machine_wrmsr(m, msr, v, f, NULL);
}

static uint64_t rdmsr(struct mc_machine *m, uint32_t msr)
{
    uint64_t v = 0;
    CHECK(mc_machine_rdmsr(m, msr, &v, NULL, NULL) == MC_OK);
    return v;
}

/* ------------------------------------------------------------ MSRs, SYSCFG -- */

static void test_msr_rules(void)
{
    struct mc_board *b = board("milan", 64 * MIB, MC_BOARD_RMP_AUTO);
    struct mc_machine *m = mc_board_machine(b);
    struct mc_rmp *r = mc_board_rmp(b);
    CHECK(r != NULL);
    const uint64_t base = 63 * MIB, MFDM = MC_SYSCFG_MTRR_FIX_DRAM_MOD_EN;
    CHECK_EQ_U64(rdmsr(m, MC_MSR_RMP_BASE), base);
    CHECK_EQ_U64(rdmsr(m, MC_MSR_RMP_END), 64 * MIB - 1);
    CHECK_EQ_U64(mc_rmp_size_for(64 * MIB), MIB);
    struct mc_fault f;
    /* Reserved bits 63:52 -> #GP; bits 12:0 ignored (END reads them as 1). */
    CHECK(wrmsr(m, MC_MSR_RMP_BASE, 1ull << 52, &f) == MC_E_FAULT && f.kind == MC_FAULT_GP && f.vector == 13);
    CHECK(wrmsr(m, MC_MSR_RMP_END, (64 * MIB - 1) & ~0x1FFFull, &f) == MC_OK);
    CHECK_EQ_U64(rdmsr(m, MC_MSR_RMP_END), 64 * MIB - 1);
    uint64_t sys = rdmsr(m, MC_MSR_SYSCFG);
    CHECK(sys & MC_SYSCFG_MEM_ENCRYPT_MOD_EN);
    /* VMPL_EN alone, SNP_EN without MFDM, SNP_EN in the same write as MFDM: #GP, nothing changes. */
    CHECK(wrmsr(m, MC_MSR_SYSCFG, sys | MC_SYSCFG_VMPL_EN, &f) == MC_E_FAULT && f.kind == MC_FAULT_GP);
    CHECK(wrmsr(m, MC_MSR_SYSCFG, sys | MC_SYSCFG_SNP_EN, &f) == MC_E_FAULT && f.kind == MC_FAULT_GP);
    CHECK(wrmsr(m, MC_MSR_SYSCFG, sys | MFDM | MC_SYSCFG_SNP_EN, &f) == MC_E_FAULT && f.kind == MC_FAULT_GP);
    CHECK_EQ_U64(rdmsr(m, MC_MSR_SYSCFG), sys);
    CHECK(!mc_rmp_snp_enabled(r));
    CHECK(wrmsr(m, MC_MSR_SYSCFG, sys | MFDM, &f) == MC_OK);
    /* A bad RMP configuration is refused at SNP_EN. */
    CHECK(wrmsr(m, MC_MSR_RMP_BASE, base + 0x2000, &f) == MC_OK); /* not 1 MiB aligned */
    CHECK(wrmsr(m, MC_MSR_SYSCFG, sys | MFDM | MC_SYSCFG_SNP_EN, &f) == MC_E_FAULT && f.kind == MC_FAULT_GP);
    CHECK(wrmsr(m, MC_MSR_RMP_BASE, 62 * MIB, &f) == MC_OK);
    CHECK(wrmsr(m, MC_MSR_RMP_END, 63 * MIB + 0x7FFFF, &f) == MC_OK); /* size not a 1 MiB multiple */
    CHECK(wrmsr(m, MC_MSR_SYSCFG, sys | MFDM | MC_SYSCFG_SNP_EN, &f) == MC_E_FAULT);
    CHECK(wrmsr(m, MC_MSR_RMP_BASE, 0, &f) == MC_OK); /* none */
    CHECK(wrmsr(m, MC_MSR_RMP_END, 64 * MIB - 1, &f) == MC_OK);
    CHECK(wrmsr(m, MC_MSR_SYSCFG, sys | MFDM | MC_SYSCFG_SNP_EN, &f) == MC_E_FAULT);
    CHECK(wrmsr(m, MC_MSR_RMP_BASE, 64 * MIB, &f) == MC_OK); /* beyond DRAM */
    CHECK(wrmsr(m, MC_MSR_RMP_END, 65 * MIB - 1, &f) == MC_OK);
    CHECK(wrmsr(m, MC_MSR_SYSCFG, sys | MFDM | MC_SYSCFG_SNP_EN, &f) == MC_E_FAULT);
    CHECK(!mc_rmp_snp_enabled(r));
    /* The BIOS's values work. */
    CHECK(wrmsr(m, MC_MSR_RMP_BASE, base, &f) == MC_OK);
    CHECK(wrmsr(m, MC_MSR_RMP_END, 64 * MIB - 1, &f) == MC_OK);
    CHECK(wrmsr(m, MC_MSR_SYSCFG, sys | MFDM | MC_SYSCFG_SNP_EN | MC_SYSCFG_VMPL_EN, &f) == MC_OK);
    CHECK(mc_rmp_snp_enabled(r) && mc_rmp_vmpl_enabled(r));
    /* Locked until reset. */
    CHECK(wrmsr(m, MC_MSR_RMP_BASE, base, &f) == MC_E_FAULT && f.kind == MC_FAULT_GP);
    CHECK(wrmsr(m, MC_MSR_RMP_END, 64 * MIB - 1, &f) == MC_E_FAULT);
    uint64_t on = rdmsr(m, MC_MSR_SYSCFG);
    CHECK(wrmsr(m, MC_MSR_SYSCFG, on & ~MC_SYSCFG_SNP_EN, &f) == MC_E_FAULT);
    CHECK(wrmsr(m, MC_MSR_SYSCFG, on & ~MC_SYSCFG_VMPL_EN, &f) == MC_E_FAULT);
    CHECK(wrmsr(m, MC_MSR_SYSCFG, on & ~MFDM, &f) == MC_E_FAULT);
    CHECK(wrmsr(m, MC_MSR_SYSCFG, on, &f) == MC_OK);
    CHECK(mc_lcpu_vmpl(mc_machine_cpu(m)) == 0);
    /* Reset: SNP off, MSRs as the BIOS left them. */
    CHECK(mc_machine_reset(m, NULL) == MC_OK);
    CHECK(!mc_rmp_snp_enabled(r));
    CHECK_EQ_U64(rdmsr(m, MC_MSR_RMP_BASE), base);
    CHECK(!(rdmsr(m, MC_MSR_SYSCFG) & (MC_SYSCFG_SNP_EN | MC_SYSCFG_VMPL_EN)));
    /* The board's bring-up does it in Linux's order. */
    CHECK(mc_board_snp_enable(b, NULL) == MC_OK);
    CHECK(mc_rmp_snp_enabled(r));
    CHECK(mc_board_snp_enable(b, NULL) == MC_OK);
    mc_board_destroy(b);
    /* No RMP reserved: SNP cannot come up. No SNP in the CPU: no unit, the MSRs do not exist. */
    b = board("milan", 64 * MIB, 0);
    struct mc_error e;
    CHECK(mc_board_snp_enable(b, &e) == MC_E_STATE);
    mc_board_destroy(b);
    b = board("rome", 64 * MIB, 0);
    CHECK(mc_board_rmp(b) == NULL);
    CHECK(mc_board_snp_enable(b, NULL) == MC_E_UNSUPPORTED);
    CHECK(mc_machine_wrmsr(mc_board_machine(b), MC_MSR_RMP_BASE, 0, &f, NULL) == MC_E_FAULT && f.kind == MC_FAULT_GP);
    mc_board_destroy(b);
    CHECK(board("rome", 64 * MIB, MC_BOARD_RMP_AUTO) == NULL);
}

/* ------------------------------------------------------ raw table, firmware -- */

static struct mc_board *snp_board(void)
{
    struct mc_board *b = board("milan", 64 * MIB, MC_BOARD_RMP_AUTO);
    CHECK(mc_board_snp_enable(b, NULL) == MC_OK);
    CHECK(mc_rmp_fw_init_table(mc_board_rmp(b)) == MC_RMP_FW_OK);
    return b;
}

static void test_raw_layout(void)
{
    /* Codec: bit positions of the Milan/Genoa raw entry. */
    struct mc_rmp_entry e = {.assigned = true, .large = true, .immutable = true, .vmsa = true, .validated = true,
                             .gpa = 0x123456789000ull, .asid = 0x3A5, .perm = {0x1F, 0x03, 0x01, 0x0C}};
    uint8_t raw[16];
    mc_rmp_entry_encode(&e, raw);
    CHECK_EQ_U64(mc_le64(raw), 7ull | (0x123456789ull << 12) | (0x3A5ull << 51) | (1ull << 61) | (1ull << 62));
    CHECK_EQ_U64(mc_le64(raw + 8), 0x0C01031Full);
    struct mc_rmp_entry d;
    mc_rmp_entry_decode(raw, &d);
    CHECK(d.assigned && d.large && d.immutable && d.vmsa && d.validated && d.gpa == e.gpa && d.asid == 0x3A5);
    CHECK(memcmp(d.perm, e.perm, 4) == 0);
    struct mc_rmp_state s = {.gpa = 0x5000, .assigned = 1, .pagesize = 1, .immutable = 1, .asid = 7}, s2;
    mc_rmp_state_encode(&s, raw);
    CHECK(mc_le64(raw) == 0x5000 && raw[8] == 1 && raw[9] == 1 && raw[10] == 1 && raw[11] == 0 && mc_le32(raw + 12) == 7);
    mc_rmp_state_decode(raw, &s2);
    CHECK(memcmp(&s, &s2, sizeof s) == 0);

    /* The table lives in DRAM: the raw port (after a write-back) shows the entries and counters. */
    struct mc_board *b = snp_board();
    struct mc_rmp *r = mc_board_rmp(b);
    struct mc_machine *m = mc_board_machine(b);
    const uint64_t base = 63 * MIB, pa = 0x1234000;
    CHECK_EQ_U64(mc_rmp_entry_addr(r, pa), base + 0x4000 + (pa >> 12) * 16);
    CHECK_EQ_U64(mc_rmp_entry_addr(r, pa | (1ull << 51)), base + 0x4000 + (pa >> 12) * 16); /* C-bit stripped */
    CHECK_EQ_U64(mc_rmp_entry_addr(r, 64 * MIB), 0);
    const struct mc_rmp_state g = {.gpa = 0x7000, .assigned = 1, .asid = 5};
    uint32_t eax = 99;
    CHECK(mc_rmp_rmpupdate(r, pa, &g, &eax, NULL, NULL) == MC_OK && eax == 0);
    CHECK(mc_machine_wbinvd(m, NULL) == MC_OK);
    uint8_t dr[16];
    CHECK(mc_dram_read(mc_machine_dram(m), base + 0x4000 + (pa >> 12) * 16, dr, 16, NULL) == MC_OK);
    CHECK_EQ_U64(mc_le64(dr), 1ull | (7ull << 12) | (5ull << 51));
    CHECK_EQ_U64(mc_le64(dr + 8), MC_VMPL_ALL);
    CHECK(mc_dram_read(mc_machine_dram(m), base + 8 * 5, dr, 8, NULL) == MC_OK);
    CHECK_EQ_U64(mc_le64(dr), 1);
    CHECK_EQ_U64(mc_rmp_asid_pages(r, 5), 1);
    CHECK_EQ_U64(mc_rmp_asid_pages(r, 0), 256); /* the RMP's own 1 MiB: Firmware pages */
    /* The RMP's own pages are Firmware; the first entry of the table area says so in DRAM too. */
    CHECK(mc_dram_read(mc_machine_dram(m), base + 0x4000 + (base >> 12) * 16, dr, 16, NULL) == MC_OK);
    CHECK_EQ_U64(mc_le64(dr), 5);
    mc_board_destroy(b);
}

static void test_fw_states(void)
{
    struct mc_board *b = board("milan", 64 * MIB, MC_BOARD_RMP_AUTO);
    struct mc_rmp *r = mc_board_rmp(b);
    const uint64_t p = 0x800000;
    /* Before SNP / SNP_INIT: nothing to transition. */
    CHECK(mc_rmp_fw_make_firmware(r, p, NULL) == MC_RMP_FW_NOT_READY);
    CHECK(mc_rmp_fw_init_table(r) == MC_RMP_FW_NOT_READY);
    CHECK(mc_board_snp_enable(b, NULL) == MC_OK);
    CHECK(mc_rmp_fw_make_firmware(r, p, NULL) == MC_RMP_FW_NOT_READY);
    CHECK(mc_rmp_fw_init_table(r) == MC_RMP_FW_OK && mc_rmp_fw_table_ready(r));
    struct mc_rmp_entry e;
    enum mc_rmp_page_state st, prev;
    CHECK(mc_rmp_fw_read(r, p, &e, &st, NULL) == MC_OK && st == MC_RMP_PS_HYPERVISOR);
    CHECK(mc_rmp_fw_read(r, 63 * MIB + 0x5000, &e, &st, NULL) == MC_OK && st == MC_RMP_PS_FIRMWARE);
    CHECK(mc_rmp_fw_read(r, 64 * MIB, &e, &st, NULL) == MC_E_RANGE);
    /* Addresses: misaligned, the RMP itself, beyond DRAM. */
    CHECK(mc_rmp_fw_make_firmware(r, p + 8, NULL) == MC_RMP_FW_BAD_ADDRESS);
    CHECK(mc_rmp_fw_make_firmware(r, 63 * MIB, NULL) == MC_RMP_FW_BAD_ADDRESS);
    CHECK(mc_rmp_fw_make_firmware(r, 64 * MIB, NULL) == MC_RMP_FW_BAD_ADDRESS);
    /* Hypervisor -> Firmware -> Context -> Firmware -> Metadata -> Reclaim -> Firmware. */
    CHECK(mc_rmp_fw_make_context(r, p, &prev) == MC_RMP_FW_BAD_STATE && prev == MC_RMP_PS_HYPERVISOR);
    CHECK(mc_rmp_fw_make_firmware(r, p, &prev) == MC_RMP_FW_OK && prev == MC_RMP_PS_HYPERVISOR);
    CHECK(mc_rmp_fw_make_firmware(r, p, &prev) == MC_RMP_FW_BAD_STATE && prev == MC_RMP_PS_FIRMWARE);
    CHECK(mc_rmp_fw_make_context(r, p, NULL) == MC_RMP_FW_OK);
    CHECK(mc_rmp_fw_read(r, p, &e, &st, NULL) == MC_OK && st == MC_RMP_PS_CONTEXT && e.vmsa && e.immutable);
    CHECK(mc_rmp_fw_reclaim(r, p, false, &prev) == MC_RMP_FW_BAD_STATE && prev == MC_RMP_PS_CONTEXT);
    CHECK(mc_rmp_fw_context_to_firmware(r, p, NULL) == MC_RMP_FW_OK);
    CHECK(mc_rmp_fw_make_metadata(r, p, 0x40000, NULL) == MC_RMP_FW_OK);
    CHECK(mc_rmp_fw_read(r, p, &e, &st, NULL) == MC_OK && st == MC_RMP_PS_METADATA);
    CHECK_EQ_U64(mc_rmp_fw_metadata_owner(&e), 0x40000);
    /* PAGE_MOVE of a Metadata page onto a Firmware page: owner checked, owner kept, source Firmware. */
    const uint64_t p2 = p + 0x3000;
    CHECK(mc_rmp_fw_move(r, p, p2, false, 0, 0x40000, &prev, NULL) == MC_RMP_FW_BAD_STATE && prev == MC_RMP_PS_METADATA);
    CHECK(mc_rmp_fw_make_firmware(r, p2, NULL) == MC_RMP_FW_OK);
    CHECK(mc_rmp_fw_move(r, p, p2, false, 0, 0x41000, NULL, NULL) == MC_RMP_FW_BAD_OWNER);
    CHECK(mc_rmp_fw_move(r, p, p2, true, 0, 0x40000, NULL, NULL) == MC_RMP_FW_BAD_ADDRESS); /* 2 MiB alignment */
    CHECK(mc_rmp_fw_move(r, p, p2, false, 0, 0x40000, NULL, NULL) == MC_RMP_FW_OK);
    CHECK(mc_rmp_fw_read(r, p2, &e, &st, NULL) == MC_OK && st == MC_RMP_PS_METADATA &&
          mc_rmp_fw_metadata_owner(&e) == 0x40000);
    CHECK(mc_rmp_fw_read(r, p, &e, &st, NULL) == MC_OK && st == MC_RMP_PS_FIRMWARE);
    CHECK(mc_rmp_fw_move(r, p2, p, false, 0, 0x40000, NULL, NULL) == MC_RMP_FW_OK); /* and back */
    CHECK(mc_rmp_fw_reclaim(r, p2, false, NULL) == MC_RMP_FW_OK);
    bool lg = true;
    CHECK(mc_rmp_fw_lookup(r, p, 4096, &e, &st, &lg) == MC_RMP_FW_OK && st == MC_RMP_PS_METADATA && !lg);
    CHECK(mc_rmp_fw_lookup(r, p + 8, 4096, &e, &st, NULL) == MC_RMP_FW_BAD_ADDRESS);
    CHECK(mc_rmp_fw_lookup(r, 63 * MIB, 4096, &e, &st, NULL) == MC_RMP_FW_BAD_ADDRESS); /* the RMP itself */
    CHECK(mc_rmp_fw_reclaim(r, p, false, &prev) == MC_RMP_FW_OK && prev == MC_RMP_PS_METADATA);
    CHECK(mc_rmp_fw_read(r, p, &e, &st, NULL) == MC_OK && st == MC_RMP_PS_RECLAIM);
    CHECK(mc_rmp_fw_make_firmware(r, p, NULL) == MC_RMP_FW_OK);
    /* HV-Fixed and back. */
    const uint64_t q = p + 0x1000;
    CHECK(mc_rmp_fw_make_hv_fixed(r, q, false, NULL) == MC_RMP_FW_BAD_STATE);
    CHECK(mc_rmp_fw_make_hv_fixed(r, q, true, NULL) == MC_RMP_FW_OK);
    CHECK(mc_rmp_fw_read(r, q, &e, &st, NULL) == MC_OK && st == MC_RMP_PS_HV_FIXED);
    uint32_t eax;
    const struct mc_rmp_state guest = {.gpa = 0x1000, .assigned = 1, .asid = 3};
    CHECK(mc_rmp_rmpupdate(r, q, &guest, &eax, NULL, NULL) == MC_OK && eax == MC_RMP_FAIL_PERMISSION);
    CHECK(mc_rmp_fw_make_hv_fixed(r, q, false, NULL) == MC_RMP_FW_OK);
    /* Firmware -> HV-Fixed (SNP_PAGE_SET_STATE); Context cannot. */
    CHECK(mc_rmp_fw_make_firmware(r, q, NULL) == MC_RMP_FW_OK);
    CHECK(mc_rmp_fw_make_hv_fixed(r, q, true, &prev) == MC_RMP_FW_OK && prev == MC_RMP_PS_FIRMWARE);
    CHECK(mc_rmp_fw_make_hv_fixed(r, q, false, NULL) == MC_RMP_FW_OK);
    CHECK(mc_rmp_fw_make_firmware(r, q, NULL) == MC_RMP_FW_OK && mc_rmp_fw_make_context(r, q, NULL) == MC_RMP_FW_OK);
    CHECK(mc_rmp_fw_make_hv_fixed(r, q, true, &prev) == MC_RMP_FW_BAD_STATE && prev == MC_RMP_PS_CONTEXT);
    CHECK(mc_rmp_fw_context_to_firmware(r, q, NULL) == MC_RMP_FW_OK && mc_rmp_fw_reclaim(r, q, false, NULL) == MC_RMP_FW_OK);
    CHECK(mc_rmp_fw_make_firmware(r, q, NULL) == MC_RMP_FW_OK && mc_rmp_fw_make_hv_fixed(r, q, true, NULL) == MC_RMP_FW_OK);
    CHECK(mc_rmp_fw_make_hv_fixed(r, q, false, NULL) == MC_RMP_FW_OK);
    /* Pre-Guest (RMPUPDATE with Immutable, as KVM) -> Guest-Valid (LAUNCH_UPDATE), owner checked. */
    const uint64_t g = 0x900000;
    const struct mc_rmp_state pre = {.gpa = 0x4000, .assigned = 1, .immutable = 1, .asid = 3};
    CHECK(mc_rmp_rmpupdate(r, g, &pre, &eax, NULL, NULL) == MC_OK && eax == 0);
    CHECK(mc_rmp_fw_read(r, g, &e, &st, NULL) == MC_OK && st == MC_RMP_PS_PRE_GUEST);
    struct mc_rmp_guest_page gp = {.asid = 4, .gpa = 0x4000, .perm = {MC_VMPL_ALL, 0, 0, 0}};
    CHECK(mc_rmp_fw_launch_page(r, g, &gp, NULL) == MC_RMP_FW_BAD_OWNER);
    gp.asid = 3;
    gp.gpa = 0x5000;
    CHECK(mc_rmp_fw_launch_page(r, g, &gp, NULL) == MC_RMP_FW_BAD_OWNER);
    gp.gpa = 0x4000;
    gp.large = true;
    CHECK(mc_rmp_fw_launch_page(r, g, &gp, NULL) == MC_RMP_FW_BAD_ADDRESS); /* 2 MiB needs 2 MiB alignment */
    gp.large = false;
    gp.perm[1] = MC_VMPL_READ;
    CHECK(mc_rmp_fw_launch_page(r, g, &gp, &prev) == MC_RMP_FW_OK && prev == MC_RMP_PS_PRE_GUEST);
    CHECK(mc_rmp_fw_read(r, g, &e, &st, NULL) == MC_OK && st == MC_RMP_PS_GUEST_VALID && e.perm[1] == MC_VMPL_READ);
    CHECK(mc_rmp_fw_launch_page(r, g, &gp, NULL) == MC_RMP_FW_BAD_STATE);
    /* Pre-Guest -> Guest-Invalid by PAGE_RECLAIM. */
    CHECK(mc_rmp_rmpupdate(r, g + 0x1000, &pre, &eax, NULL, NULL) == MC_OK && eax == 0);
    CHECK(mc_rmp_fw_reclaim(r, g + 0x1000, false, &prev) == MC_RMP_FW_OK && prev == MC_RMP_PS_PRE_GUEST);
    CHECK(mc_rmp_fw_read(r, g + 0x1000, &e, &st, NULL) == MC_OK && st == MC_RMP_PS_GUEST_INVALID);
    /* UNSMASH: 512 Pre-Guest pages with consecutive GPAs -> one 2 MiB entry; PAGE_RECLAIM of it. */
    const uint64_t big = 0xA00000;
    for (unsigned i = 0; i < 512; i++) {
        const struct mc_rmp_state s = {.gpa = 0x200000 + 0x1000ull * i, .assigned = 1, .immutable = 1, .asid = 3};
        CHECK(mc_rmp_rmpupdate(r, big + 0x1000ull * i, &s, &eax, NULL, NULL) == MC_OK && eax == 0);
    }
    CHECK(mc_rmp_fw_unsmash(r, big + 0x1000, NULL) == MC_RMP_FW_BAD_ADDRESS);
    CHECK(mc_rmp_fw_reclaim(r, big, true, NULL) == MC_RMP_FW_BAD_SIZE);
    CHECK(mc_rmp_fw_unsmash(r, big, &prev) == MC_RMP_FW_OK && prev == MC_RMP_PS_PRE_GUEST);
    CHECK(mc_rmp_fw_read(r, big + 0x5000, &e, &st, NULL) == MC_OK && e.large && st == MC_RMP_PS_PRE_GUEST);
    CHECK(mc_rmp_fw_reclaim(r, big + 0x1000, false, NULL) == MC_RMP_FW_BAD_SIZE);
    CHECK(mc_rmp_fw_reclaim(r, big, true, NULL) == MC_RMP_FW_OK);
    CHECK(mc_rmp_fw_read(r, big + 0x1FF000, &e, &st, NULL) == MC_OK && st == MC_RMP_PS_GUEST_INVALID && e.large);
    CHECK_EQ_U64(mc_rmp_asid_pages(r, 3), 1 + 1 + 512);
    /* PAGE_MOVE of guest pages: Pre-Guest onto a Pre-Guest page of the same ASID. */
    const uint64_t ms = 0xC00000, md = 0xC01000;
    const struct mc_rmp_state pm = {.gpa = 0x8000, .assigned = 1, .immutable = 1, .asid = 3};
    const struct mc_rmp_state pd = {.gpa = 0x9000, .assigned = 1, .immutable = 1, .asid = 3};
    CHECK(mc_rmp_rmpupdate(r, ms, &pm, &eax, NULL, NULL) == MC_OK && eax == 0);
    CHECK(mc_rmp_rmpupdate(r, md, &pd, &eax, NULL, NULL) == MC_OK && eax == 0);
    CHECK(mc_rmp_fw_move(r, ms, md, false, 4, 0, NULL, NULL) == MC_RMP_FW_BAD_OWNER);
    CHECK(mc_rmp_fw_move(r, ms, g, false, 3, 0, NULL, NULL) == MC_RMP_FW_BAD_STATE); /* onto Guest-Valid */
    CHECK(mc_rmp_fw_move(r, ms, md, false, 3, 0, NULL, NULL) == MC_RMP_FW_OK);
    CHECK(mc_rmp_fw_read(r, md, &e, &st, NULL) == MC_OK && st == MC_RMP_PS_GUEST_INVALID && e.gpa == 0x8000);
    CHECK(mc_rmp_fw_read(r, ms, &e, &st, NULL) == MC_OK && st == MC_RMP_PS_GUEST_INVALID);
    CHECK_EQ_U64(mc_rmp_asid_pages(r, 3), 1 + 1 + 512 + 2);
    /* State names, every derivation. */
    CHECK(strcmp(mc_rmp_page_state_name(MC_RMP_PS_PRE_SWAP), "pre-swap") == 0);
    struct mc_rmp_entry x = {.assigned = true, .validated = true, .asid = 2, .immutable = true};
    CHECK(mc_rmp_page_state_of(&x) == MC_RMP_PS_PRE_SWAP);
    x = (struct mc_rmp_entry){.assigned = true, .immutable = true, .gpa = 0x1000ull | (2ull << 48)};
    CHECK(mc_rmp_page_state_of(&x) == MC_RMP_PS_FIRMWARE_IOMMU);
    x = (struct mc_rmp_entry){.validated = true};
    CHECK(mc_rmp_page_state_of(&x) == MC_RMP_PS_INVALID);
    mc_board_destroy(b);
}

/* ---------------------------------------------------------- host instructions -- */

static void test_host_instructions(void)
{
    struct mc_board *b = board("milan", 64 * MIB, MC_BOARD_RMP_AUTO);
    struct mc_rmp *r = mc_board_rmp(b);
    uint32_t eax = 0;
    struct mc_fault f;
    const struct mc_rmp_state priv = {.gpa = 0x3000, .assigned = 1, .asid = 9}, shared = {0};
    /* SNP off: #UD. */
    CHECK(mc_rmp_rmpupdate(r, 0x800000, &priv, &eax, &f, NULL) == MC_E_FAULT && f.kind == MC_FAULT_UD && f.vector == 6);
    CHECK(mc_rmp_psmash(r, 0x800000, &eax, &f, NULL) == MC_E_FAULT && f.kind == MC_FAULT_UD);
    CHECK(mc_board_snp_enable(b, NULL) == MC_OK);
    CHECK(mc_rmp_fw_init_table(r) == MC_RMP_FW_OK);
    /* RMPREAD is Zen 5's: #UD on Milan. */
    struct mc_rmp_state out;
    CHECK(mc_rmp_rmpread(r, 0x800000, &out, &eax, &f, NULL) == MC_E_FAULT && f.kind == MC_FAULT_UD);
    /* FAIL_INPUT: misaligned, beyond DRAM, reserved bits, ASID beyond the CPU's, an owner without
     * Assigned, a 2 MiB GPA not 2 MiB aligned. */
    struct mc_rmp_state bad = priv;
    CHECK(mc_rmp_rmpupdate(r, 0x800010, &priv, &eax, &f, NULL) == MC_OK && eax == MC_RMP_FAIL_INPUT);
    CHECK(mc_rmp_rmpupdate(r, 64 * MIB, &priv, &eax, &f, NULL) == MC_OK && eax == MC_RMP_FAIL_INPUT);
    bad.rsvd = 1;
    CHECK(mc_rmp_rmpupdate(r, 0x800000, &bad, &eax, &f, NULL) == MC_OK && eax == MC_RMP_FAIL_INPUT);
    bad = priv;
    bad.assigned = 2;
    CHECK(mc_rmp_rmpupdate(r, 0x800000, &bad, &eax, &f, NULL) == MC_OK && eax == MC_RMP_FAIL_INPUT);
    bad = priv;
    bad.asid = 510;
    CHECK(mc_rmp_rmpupdate(r, 0x800000, &bad, &eax, &f, NULL) == MC_OK && eax == MC_RMP_FAIL_INPUT);
    bad = (struct mc_rmp_state){.asid = 3};
    CHECK(mc_rmp_rmpupdate(r, 0x800000, &bad, &eax, &f, NULL) == MC_OK && eax == MC_RMP_FAIL_INPUT);
    bad = (struct mc_rmp_state){.immutable = 1};
    CHECK(mc_rmp_rmpupdate(r, 0x800000, &bad, &eax, &f, NULL) == MC_OK && eax == MC_RMP_FAIL_INPUT);
    bad = priv;
    bad.pagesize = 1;
    CHECK(mc_rmp_rmpupdate(r, 0x800000, &bad, &eax, &f, NULL) == MC_OK && eax == MC_RMP_FAIL_INPUT);
    /* FAIL_PERMISSION: an immutable entry (the RMP's own Firmware pages). */
    CHECK(mc_rmp_rmpupdate(r, 63 * MIB, &shared, &eax, &f, NULL) == MC_OK && eax == MC_RMP_FAIL_PERMISSION);
    /* Identity change clears Validated/VMSA and resets VMPL1-3; the same identity keeps them. */
    CHECK(mc_rmp_rmpupdate(r, 0x800000, &priv, &eax, &f, NULL) == MC_OK && eax == 0);
    struct mc_rmp_entry e;
    enum mc_rmp_page_state st;
    CHECK(mc_rmp_fw_read(r, 0x800000, &e, &st, NULL) == MC_OK && st == MC_RMP_PS_GUEST_INVALID);
    e.validated = true;
    e.perm[2] = MC_VMPL_READ;
    CHECK(mc_rmp_fw_write(r, 0x800000, &e, NULL) == MC_OK);
    CHECK(mc_rmp_rmpupdate(r, 0x800000, &priv, &eax, &f, NULL) == MC_OK && eax == 0);
    CHECK(mc_rmp_fw_read(r, 0x800000, &e, &st, NULL) == MC_OK && e.validated && e.perm[2] == MC_VMPL_READ);
    struct mc_rmp_state moved = priv;
    moved.gpa = 0x4000;
    CHECK(mc_rmp_rmpupdate(r, 0x800000, &moved, &eax, &f, NULL) == MC_OK && eax == 0);
    CHECK(mc_rmp_fw_read(r, 0x800000, &e, &st, NULL) == MC_OK && !e.validated && e.perm[2] == 0 &&
          e.perm[0] == MC_VMPL_ALL && st == MC_RMP_PS_GUEST_INVALID);
    CHECK(mc_rmp_rmpupdate(r, 0x800000, &shared, &eax, &f, NULL) == MC_OK && eax == 0);
    CHECK(mc_rmp_fw_read(r, 0x800000, &e, &st, NULL) == MC_OK && st == MC_RMP_PS_HYPERVISOR && e.perm[0] == 0);
    /* FAIL_OVERLAP: a 2 MiB assignment over a 4 KiB one, and a 4 KiB update inside a 2 MiB entry. */
    const struct mc_rmp_state big = {.gpa = 0x200000, .assigned = 1, .pagesize = 1, .asid = 9};
    CHECK(mc_rmp_rmpupdate(r, 0x805000, &priv, &eax, &f, NULL) == MC_OK && eax == 0);
    CHECK(mc_rmp_rmpupdate(r, 0x800000, &big, &eax, &f, NULL) == MC_OK && eax == MC_RMP_FAIL_OVERLAP);
    CHECK(mc_rmp_rmpupdate(r, 0x805000, &shared, &eax, &f, NULL) == MC_OK && eax == 0);
    CHECK(mc_rmp_rmpupdate(r, 0x800000, &big, &eax, &f, NULL) == MC_OK && eax == 0);
    CHECK(mc_rmp_fw_read(r, 0x9FF000, &e, &st, NULL) == MC_OK && e.large && e.asid == 9 && e.gpa == 0x3FF000);
    CHECK(mc_rmp_rmpupdate(r, 0x805000, &priv, &eax, &f, NULL) == MC_OK && eax == MC_RMP_FAIL_OVERLAP);
    CHECK_EQ_U64(mc_rmp_asid_pages(r, 9), 512);
    /* PSMASH: FAIL_INPUT misaligned, 7 for a 4 KiB region, then 512 4 KiB entries, Validated kept. */
    CHECK(mc_rmp_psmash(r, 0x801000, &eax, &f, NULL) == MC_OK && eax == MC_RMP_FAIL_INPUT);
    CHECK(mc_rmp_psmash(r, 0xA00000, &eax, &f, NULL) == MC_OK && eax == MC_RMP_FAIL_BADADDR);
    CHECK(mc_rmp_fw_read(r, 0x800000, &e, &st, NULL) == MC_OK);
    e.validated = true;
    CHECK(mc_rmp_fw_write(r, 0x800000, &e, NULL) == MC_OK);
    CHECK(mc_rmp_psmash(r, 0x800000, &eax, &f, NULL) == MC_OK && eax == 0);
    CHECK(mc_rmp_fw_read(r, 0x805000, &e, &st, NULL) == MC_OK && !e.large && e.asid == 9 && e.gpa == 0x205000 &&
          e.validated && st == MC_RMP_PS_GUEST_VALID);
    CHECK(mc_rmp_psmash(r, 0x800000, &eax, &f, NULL) == MC_OK && eax == MC_RMP_FAIL_BADADDR);
    CHECK(mc_rmp_rmpupdate(r, 0x805000, &shared, &eax, &f, NULL) == MC_OK && eax == 0);
    CHECK_EQ_U64(mc_rmp_asid_pages(r, 9), 511);
    CHECK(strcmp(mc_rmp_code_name(MC_RMP_FAIL_OVERLAP), "FAIL_OVERLAP") == 0);
    mc_board_destroy(b);
}

/* The entries the unit keeps at hand never outlive a change: a host store into the table (possible
 * before SNP_INIT) is seen by the next check. */
static void test_entry_coherence(void)
{
    struct mc_board *b = board("milan", 64 * MIB, MC_BOARD_RMP_AUTO);
    struct mc_machine *m = mc_board_machine(b);
    struct mc_rmp *r = mc_board_rmp(b);
    CHECK(mc_board_snp_enable(b, NULL) == MC_OK);
    const uint64_t pa = 0x900000, ent = mc_rmp_entry_addr(r, pa);
    uint8_t buf[16] = {0};
    struct mc_fault f;
    CHECK(mc_machine_phys_write(m, pa, buf, 8, &f, NULL) == MC_OK); /* its entry read: hypervisor */
    struct mc_rmp_entry e = {.assigned = true, .asid = 4, .gpa = 0x1000};
    mc_rmp_entry_encode(&e, buf);
    CHECK(mc_machine_phys_write(m, ent, buf, 16, &f, NULL) == MC_OK); /* the table is still the host's */
    CHECK(mc_machine_phys_write(m, pa, buf, 8, &f, NULL) == MC_E_FAULT && (f.error_code & MC_PF_RMP));
    /* After SNP_INIT the table is Firmware's: the same store faults. */
    CHECK(mc_rmp_fw_init_table(r) == MC_RMP_FW_OK);
    CHECK(mc_machine_phys_write(m, ent, buf, 16, &f, NULL) == MC_E_FAULT && (f.error_code & MC_PF_RMP));
    /* A firmware write is seen at once too. */
    e.assigned = false;
    e.asid = 0;
    e.gpa = 0;
    CHECK(mc_rmp_fw_write(r, pa, &e, NULL) == MC_OK);
    CHECK(mc_machine_phys_write(m, pa, buf, 8, &f, NULL) == MC_OK);
    mc_board_destroy(b);
}

/* An idle SNP guest address space of 1 TiB costs the host only the frames that were touched:
 * the RMP's own entries (SNP_INIT marks its pages Firmware), the bookkeeping page, the nested
 * tables, the guest pages written, and the RMP pages holding their entries. */
static void test_sparse_1tib(void)
{
    const uint64_t TIB = 1ull << 40, dram = TIB + 64 * MIB;
    struct mc_board *b = board("milan", dram, MC_BOARD_RMP_AUTO);
    CHECK(b != NULL);
    if (!b)
        return;
    struct mc_machine *m = mc_board_machine(b);
    struct mc_rmp *r = mc_board_rmp(b);
    struct mc_dram *d = mc_machine_dram(m);
    const uint64_t rmp = mc_rmp_size_for(dram), rmp_frames = rmp >> 12;
    CHECK_EQ_U64(rmp, (MC_RMP_BOOKKEEPING + (dram >> 12) * 16 + MIB - 1) & ~(MIB - 1));
    uint64_t t0 = mc_dram_frames_touched(d);
    CHECK(mc_board_snp_enable(b, NULL) == MC_OK);
    CHECK(mc_rmp_fw_init_table(r) == MC_RMP_FW_OK);
    CHECK(mc_machine_wbinvd(m, NULL) == MC_OK);
    uint64_t t1 = mc_dram_frames_touched(d);
    /* Firmware entries of the RMP's own pages (16 bytes each: rmp_frames/256 frames) + counters. */
    CHECK_EQ_U64(t1 - t0, (rmp_frames * 16 + 4095) / 4096 + 1);
    /* A guest whose 1 TiB of GPA space is mapped on demand: three pages touched, far apart. */
    mc_slot s;
    CHECK(mc_engine_slot_generate(mc_machine_engine(m), MC_CIPHER_AES128_XTS, &s, NULL) == MC_OK);
    CHECK(memctl_bind_asid(mc_machine_memctl(m), 1, s, NULL) == MC_OK);
    struct mc_ptb n;
    CHECK(mc_ptb_init(&n, m, 0x100000, 0x100000, false, NULL) == MC_OK);
    const uint64_t gpas[3] = {0, TIB / 2, TIB - 4096};
    for (unsigned i = 0; i < 3; i++)
        CHECK(mc_ptb_map(&n, gpas[i], 0x200000 + 0x1000ull * i, 4096, 4096, MC_PTE_W | MC_PTE_U, NULL) == MC_OK);
    struct mc_paging_mode hm = mc_machine_paging_mode(m);
    struct mc_lcpu_config cc = {.nest = MC_NEST_NPT, .req = MEMCTL_REQ_GUEST, .asid = 1, .nroot = mc_ptb_cr3(&n),
                                .mode = {(unsigned)hm.enc_bit, hm.enc_bit, MC_PT_X86}, .sev = true};
    struct mc_lcpu *v = NULL;
    CHECK(mc_lcpu_create(mc_machine_memctl(m), &cc, &v, NULL) == MC_OK);
    mc_rmp_install(r, v);
    mc_lcpu_set_snp(v, true);
    for (unsigned i = 0; i < 3; i++) {
        const struct mc_rmp_state st = {.gpa = gpas[i], .assigned = 1, .asid = 1};
        uint32_t eax = 1;
        CHECK(mc_rmp_rmpupdate(r, 0x200000 + 0x1000ull * i, &st, &eax, NULL, NULL) == MC_OK && eax == 0);
        struct mc_rmp_entry e;
        CHECK(mc_rmp_fw_read(r, 0x200000 + 0x1000ull * i, &e, NULL, NULL) == MC_OK);
        e.validated = true;
        CHECK(mc_rmp_fw_write(r, 0x200000 + 0x1000ull * i, &e, NULL) == MC_OK);
        uint64_t val = 0xABCD0000u + i, back = 0;
        CHECK(mc_lcpu_phys_access(v, gpas[i], true, NULL, &val, 8, NULL, NULL) == MC_OK);
        CHECK(mc_lcpu_phys_access(v, gpas[i], true, &back, NULL, 8, NULL, NULL) == MC_OK && back == val);
    }
    CHECK(mc_machine_wbinvd(m, NULL) == MC_OK);
    uint64_t t2 = mc_dram_frames_touched(d);
    /* Nested tables: 1 PML4 + 2 PDPT + 3 PD + 3 PT; 3 data frames; the RMP page of their entries. */
    printf("  1 TiB SNP guest: %llu frames touched in all (%llu KiB), %llu after the guest's three pages\n",
           (unsigned long long)t2, (unsigned long long)(t2 * 4), (unsigned long long)(t2 - t1));
    CHECK(t2 - t1 <= 9 + 3 + 1);
    CHECK(t2 * 4096 < 32 * MIB);
    mc_lcpu_destroy(v);
    mc_board_destroy(b);
}

int main(void)
{
    RUN(test_msr_rules);
    RUN(test_raw_layout);
    RUN(test_fw_states);
    RUN(test_host_instructions);
    RUN(test_entry_coherence);
    RUN(test_sparse_1tib);
    return check_summary();
}
