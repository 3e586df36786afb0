/* SEV-SNP's RMP checks on the one access path (memcrypt/rmp.h, §1.5 of the SNP digest): every
 * fault of the host (#PF bit 31: data writes, A/D updates, writes through large mappings), of an
 * SNP guest (#NPF RMP/ENC/SIZEM/VMPL, #VC 0x404), of a guest without SNP, and of DMA (refused by
 * the IOMMU); PVALIDATE (every code and CF) and RMPADJUST (every code) on a vCPU whose guest
 * virtual addresses go through guest walk + NPT; cached verdicts dropped when the RMP changes. */
#include <memcrypt/board.h>
#include <memcrypt/bytes.h>
#include <memcrypt/dma.h>
#include <memcrypt/dram.h>
#include <memcrypt/rmp.h>

#include "check.h"

#define MIB (1ull << 20)
#define GVA 0x40000000ull  /* guest pages: GVA + i*4K -> GPA 0x300000 + i*4K (i < 16, private) */
#define GSHARED (GVA + 16 * 4096ull) /* -> GPA 0x310000, shared (C=0) */
#define G4K (GVA + 17 * 4096ull)     /* -> GPA 0x800000: NPT maps it with a 4 KiB page */
#define G2M (GVA + 0x200000ull)      /* a 2 MiB guest page -> GPA 0x400000 */
#define SPA(gpa) (0x1000000ull + (gpa)) /* NPT: GPA 0..8 MiB (2 MiB pages), 8..10 MiB (4 KiB pages) */
#define ASID 1u

struct fx {
    struct mc_board *b;
    struct mc_machine *m;
    struct mc_rmp *r;
    struct mc_lcpu *v;
    uint64_t cbit;
};

static void gw64(struct fx *x, uint64_t gpa, uint64_t val)
{
    uint8_t b[8];
    mc_put_le64(b, val);
    CHECK(mc_lcpu_phys_access(x->v, gpa, true, NULL, b, 8, NULL, NULL) == MC_OK);
}

static void assign(struct fx *x, uint64_t gpa, bool valid)
{
    uint32_t eax = 1;
    const struct mc_rmp_state s = {.gpa = gpa, .assigned = 1, .asid = ASID}, shared = {0};
    /* Through the hypervisor's state first: a fresh assignment (Validated clear). */
    CHECK(mc_rmp_rmpupdate(x->r, SPA(gpa), &shared, &eax, NULL, NULL) == MC_OK && eax == 0);
    CHECK(mc_rmp_rmpupdate(x->r, SPA(gpa), &s, &eax, NULL, NULL) == MC_OK && eax == 0);
    if (valid) {
        struct mc_rmp_entry e;
        CHECK(mc_rmp_fw_read(x->r, SPA(gpa), &e, NULL, NULL) == MC_OK);
        e.validated = true;
        CHECK(mc_rmp_fw_write(x->r, SPA(gpa), &e, NULL) == MC_OK);
    }
}

/* SNP host and an SNP guest (ASID 1) whose tables and pages 0..15 are assigned and validated
 * (what SNP_LAUNCH_UPDATE leaves), the shared page hypervisor-owned. */
static void open_fx(struct fx *x, bool snp_guest)
{
    memset(x, 0, sizeof *x);
    struct mc_board_config c;
    CHECK(mc_board_config_init(&c, "milan", NULL) == MC_OK);
    c.machine.dram_size = 64 * MIB;
    c.machine.seed = (const uint8_t *)"rmpg";
    c.machine.seed_len = 4;
    c.firmware = c.hypervisor = false;
    c.rmp_size = MC_BOARD_RMP_AUTO;
    CHECK(mc_board_create(&c, &x->b, NULL) == MC_OK);
    x->m = mc_board_machine(x->b);
    x->r = mc_board_rmp(x->b);
    struct memctl *mc = mc_machine_memctl(x->m);
    mc_slot s;
    CHECK(mc_engine_slot_generate(mc_machine_engine(x->m), MC_CIPHER_AES128_XTS, &s, NULL) == MC_OK);
    CHECK(memctl_bind_asid(mc, ASID, s, NULL) == MC_OK);
    struct mc_ptb n;
    CHECK(mc_ptb_init(&n, x->m, 0x200000, 0x100000, false, NULL) == MC_OK);
    CHECK(mc_ptb_map(&n, 0, SPA(0), 8 * MIB, 2 * MIB, MC_PTE_W | MC_PTE_U, NULL) == MC_OK);
    CHECK(mc_ptb_map(&n, 8 * MIB, SPA(8 * MIB), 2 * MIB, 4096, MC_PTE_W | MC_PTE_U, NULL) == MC_OK);
    struct mc_paging_mode hm = mc_machine_paging_mode(x->m);
    x->cbit = 1ull << hm.enc_bit;
    struct mc_lcpu_config cc = {.nest = MC_NEST_NPT, .req = MEMCTL_REQ_GUEST, .asid = ASID, .nroot = mc_ptb_cr3(&n),
                                .mode = {(unsigned)hm.enc_bit, hm.enc_bit, MC_PT_X86}, .sev = true};
    CHECK(mc_lcpu_create(mc, &cc, &x->v, NULL) == MC_OK);
    /* Guest tables at GPA 0x100000.. (paging off: private). */
    static const uint8_t zero[4096];
    for (unsigned i = 0; i < 4; i++)
        CHECK(mc_lcpu_phys_access(x->v, 0x100000 + 0x1000ull * i, true, NULL, zero, 4096, NULL, NULL) == MC_OK);
    const uint64_t tf = MC_PTE_P | MC_PTE_W | MC_PTE_U | x->cbit;
    gw64(x, 0x100000 + ((GVA >> 39) & 511) * 8, 0x101000 | tf);
    gw64(x, 0x101000 + ((GVA >> 30) & 511) * 8, 0x102000 | tf);
    gw64(x, 0x102000 + ((GVA >> 21) & 511) * 8, 0x103000 | tf);
    gw64(x, 0x102000 + ((G2M >> 21) & 511) * 8, 0x400000 | tf | MC_PTE_PS);
    uint8_t page[4096];
    for (unsigned i = 0; i < 18; i++) {
        uint64_t gpa = i < 16 ? 0x300000 + 0x1000ull * i : i == 16 ? 0x310000 : 0x800000;
        gw64(x, 0x103000 + (((GVA >> 12) + i) & 511) * 8, gpa | (tf & ~(i == 16 ? x->cbit : 0)));
        memset(page, 0xC0 + i, sizeof page);
        CHECK(mc_lcpu_phys_access(x->v, gpa, i != 16, NULL, page, sizeof page, NULL, NULL) == MC_OK);
    }
    struct mc_paging_regs r = {MC_CR0_PG | MC_CR0_WP | 1, 0x100000 | x->cbit, MC_CR4_PAE, MC_EFER_LME | MC_EFER_NXE};
    mc_lcpu_set_regs(x->v, &r);
    CHECK(mc_board_snp_enable(x->b, NULL) == MC_OK);
    CHECK(mc_rmp_fw_init_table(x->r) == MC_RMP_FW_OK);
    mc_rmp_install(x->r, x->v);
    mc_lcpu_set_snp(x->v, snp_guest);
    if (snp_guest) {
        for (unsigned i = 0; i < 4; i++)
            assign(x, 0x100000 + 0x1000ull * i, true);
        for (unsigned i = 0; i < 16; i++)
            assign(x, 0x300000 + 0x1000ull * i, true);
        assign(x, 0x800000, true);
    }
}

static void close_fx(struct fx *x)
{
    mc_lcpu_destroy(x->v);
    mc_board_destroy(x->b);
}

static mc_status gload(struct fx *x, uint64_t va, uint64_t *v, struct mc_fault *f)
{
    return mc_lcpu_access(x->v, va, v, NULL, 8, 0, 0, f, NULL);
}

static mc_status gstore(struct fx *x, uint64_t va, uint64_t v, struct mc_fault *f)
{
    return mc_lcpu_access(x->v, va, NULL, &v, 8, 0, 0, f, NULL);
}

static bool is_npf(const struct mc_fault *f, uint64_t code, uint64_t gpa)
{
    if (f->kind != MC_FAULT_NPF || f->error_code != code || f->addr != gpa)
        fprintf(stderr, "  fault kind %d code 0x%llx addr 0x%llx (want 0x%llx at 0x%llx)\n", (int)f->kind,
                (unsigned long long)f->error_code, (unsigned long long)f->addr, (unsigned long long)code,
                (unsigned long long)gpa);
    return f->kind == MC_FAULT_NPF && f->error_code == code && f->addr == gpa;
}

static void test_guest_accesses(void)
{
    struct fx x;
    open_fx(&x, true);
    struct mc_fault f;
    uint64_t v = 0;
    /* Validated private pages: the guest reads what it wrote before SNP. */
    CHECK(gload(&x, GVA + 0x3000, &v, &f) == MC_OK && v == 0xC3C3C3C3C3C3C3C3ull);
    CHECK(gstore(&x, GVA + 0x3000, 0x1122, &f) == MC_OK);
    /* Shared page, hypervisor-owned: fine; once assigned: #NPF RMP (no ENC: a shared access). */
    CHECK(gload(&x, GSHARED, &v, &f) == MC_OK && v == 0xD0D0D0D0D0D0D0D0ull);
    assign(&x, 0x310000, false);
    CHECK(gload(&x, GSHARED, &v, &f) == MC_E_FAULT);
    CHECK(is_npf(&f, MC_PF_P | MC_NPF_RMP | MC_NPF_FINAL, 0x310000));
    CHECK(gstore(&x, GSHARED, 1, &f) == MC_E_FAULT);
    CHECK(is_npf(&f, MC_PF_P | MC_PF_W | MC_NPF_RMP | MC_NPF_FINAL, 0x310000));
    /* Private page taken back by the hypervisor (RMPUPDATE to shared): #NPF RMP|ENC — the verdict the
     * TLB held is not reused. */
    uint32_t eax;
    const struct mc_rmp_state shared = {0};
    CHECK(gload(&x, GVA + 0x5000, &v, &f) == MC_OK);
    CHECK(mc_rmp_rmpupdate(x.r, SPA(0x305000), &shared, &eax, NULL, NULL) == MC_OK && eax == 0);
    CHECK(gload(&x, GVA + 0x5000, &v, &f) == MC_E_FAULT);
    CHECK(is_npf(&f, MC_PF_P | MC_NPF_RMP | MC_NPF_ENC | MC_NPF_FINAL, 0x305000));
    /* Remapped under the guest: the page is assigned to this guest but for another GPA. */
    const struct mc_rmp_state other = {.gpa = 0x306000, .assigned = 1, .asid = ASID};
    CHECK(mc_rmp_rmpupdate(x.r, SPA(0x305000), &other, &eax, NULL, NULL) == MC_OK && eax == 0);
    CHECK(gload(&x, GVA + 0x5000, &v, &f) == MC_E_FAULT);
    CHECK(is_npf(&f, MC_PF_P | MC_NPF_RMP | MC_NPF_ENC | MC_NPF_FINAL, 0x305000));
    /* Another guest's page. */
    const struct mc_rmp_state theirs = {.gpa = 0x305000, .assigned = 1, .asid = 2};
    CHECK(mc_rmp_rmpupdate(x.r, SPA(0x305000), &theirs, &eax, NULL, NULL) == MC_OK && eax == 0);
    CHECK(gstore(&x, GVA + 0x5000, 1, &f) == MC_E_FAULT);
    CHECK(is_npf(&f, MC_PF_P | MC_PF_W | MC_NPF_RMP | MC_NPF_ENC | MC_NPF_FINAL, 0x305000));
    /* Back to this guest at the right GPA, not validated: #VC 0x404. */
    const struct mc_rmp_state mine = {.gpa = 0x305000, .assigned = 1, .asid = ASID};
    CHECK(mc_rmp_rmpupdate(x.r, SPA(0x305000), &mine, &eax, NULL, NULL) == MC_OK && eax == 0);
    CHECK(gload(&x, GVA + 0x5000, &v, &f) == MC_E_FAULT);
    CHECK(f.kind == MC_FAULT_VC && f.vector == 29 && f.error_code == MC_VC_NOT_VALIDATED && f.addr == 0x305000);
    /* A guest page-table page taken away: the walk faults (#NPF with the table bit). */
    mc_lcpu_flush_all(x.v);
    CHECK(mc_rmp_rmpupdate(x.r, SPA(0x103000), &shared, &eax, NULL, NULL) == MC_OK && eax == 0);
    CHECK(gload(&x, GVA, &v, &f) == MC_E_FAULT);
    CHECK(is_npf(&f, MC_PF_P | MC_NPF_RMP | MC_NPF_ENC | MC_NPF_TABLE, 0x103000));
    close_fx(&x);
}

static void test_pvalidate(void)
{
    struct fx x;
    open_fx(&x, true);
    uint32_t eax = 99;
    bool cf = true;
    struct mc_fault f;
    uint64_t v;
    /* Validate an assigned page: 0, CF=0; again: 0, CF=1; rescind: #VC on the next access. */
    assign(&x, 0x30A000, false);
    CHECK(gload(&x, GVA + 0xA000, &v, &f) == MC_E_FAULT && f.kind == MC_FAULT_VC);
    CHECK(mc_rmp_pvalidate(x.r, x.v, GVA + 0xA000, false, true, &eax, &cf, &f, NULL) == MC_OK && eax == 0 && !cf);
    CHECK(gload(&x, GVA + 0xA000, &v, &f) == MC_OK);
    CHECK(mc_rmp_pvalidate(x.r, x.v, GVA + 0xA000, false, true, &eax, &cf, &f, NULL) == MC_OK && eax == 0 && cf);
    CHECK(mc_rmp_pvalidate(x.r, x.v, GVA + 0xA000, false, false, &eax, &cf, &f, NULL) == MC_OK && eax == 0 && !cf);
    CHECK(gload(&x, GVA + 0xA000, &v, &f) == MC_E_FAULT && f.kind == MC_FAULT_VC);
    CHECK(mc_rmp_pvalidate(x.r, x.v, GVA + 0xA000, false, false, &eax, &cf, &f, NULL) == MC_OK && eax == 0 && cf);
    /* FAIL_INPUT: misaligned VA. */
    CHECK(mc_rmp_pvalidate(x.r, x.v, GVA + 0xA008, false, true, &eax, &cf, &f, NULL) == MC_OK && eax == MC_RMP_FAIL_INPUT);
    CHECK(mc_rmp_pvalidate(x.r, x.v, G2M + 0x1000, true, true, &eax, &cf, &f, NULL) == MC_OK && eax == MC_RMP_FAIL_INPUT);
    /* FAIL_SIZEMISMATCH: 2 MiB on 4 KiB entries. */
    for (unsigned i = 0; i < 512; i++)
        assign(&x, 0x400000 + 0x1000ull * i, false);
    CHECK(mc_rmp_pvalidate(x.r, x.v, G2M, true, true, &eax, &cf, &f, NULL) == MC_OK && eax == MC_RMP_FAIL_SIZEMISMATCH);
    /* A 2 MiB entry: 2 MiB validation works; a 4 KiB one is #NPF with SIZEM (the hypervisor PSMASHes). */
    const struct mc_rmp_state shared2m = {.pagesize = 1}, big = {.gpa = 0x400000, .assigned = 1, .pagesize = 1, .asid = ASID};
    CHECK(mc_rmp_rmpupdate(x.r, SPA(0x400000), &big, &eax, NULL, NULL) == MC_OK && eax == MC_RMP_FAIL_OVERLAP);
    for (unsigned i = 0; i < 512; i++) {
        const struct mc_rmp_state s = {0};
        CHECK(mc_rmp_rmpupdate(x.r, SPA(0x400000 + 0x1000ull * i), &s, &eax, NULL, NULL) == MC_OK && eax == 0);
    }
    CHECK(mc_rmp_rmpupdate(x.r, SPA(0x400000), &big, &eax, NULL, NULL) == MC_OK && eax == 0);
    CHECK(mc_rmp_pvalidate(x.r, x.v, G2M + 0x3000, false, true, &eax, &cf, &f, NULL) == MC_E_FAULT);
    CHECK(is_npf(&f, MC_PF_P | MC_NPF_RMP | MC_NPF_ENC | MC_NPF_SIZEM | MC_NPF_FINAL, 0x403000));
    CHECK(mc_rmp_pvalidate(x.r, x.v, G2M, true, true, &eax, &cf, &f, NULL) == MC_OK && eax == 0 && !cf);
    CHECK(gload(&x, G2M + 0x1F8000, &v, &f) == MC_OK);
    CHECK(mc_rmp_psmash(x.r, SPA(0x400000), &eax, NULL, NULL) == MC_OK && eax == 0);
    CHECK(mc_rmp_pvalidate(x.r, x.v, G2M + 0x3000, false, true, &eax, &cf, &f, NULL) == MC_OK && eax == 0 && cf);
    CHECK(mc_rmp_rmpupdate(x.r, SPA(0x400000), &shared2m, &eax, NULL, NULL) == MC_OK && eax == MC_RMP_FAIL_OVERLAP);
    /* #NPF RMP: a page that is not this guest's (shared), or assigned for another GPA. */
    CHECK(mc_rmp_pvalidate(x.r, x.v, GSHARED, false, true, &eax, &cf, &f, NULL) == MC_E_FAULT);
    CHECK(is_npf(&f, MC_PF_P | MC_NPF_RMP | MC_NPF_ENC | MC_NPF_FINAL, 0x310000));
    const struct mc_rmp_state wrong = {.gpa = 0x30B000, .assigned = 1, .asid = ASID};
    CHECK(mc_rmp_rmpupdate(x.r, SPA(0x30C000), &wrong, &eax, NULL, NULL) == MC_OK && eax == 0);
    CHECK(mc_rmp_pvalidate(x.r, x.v, GVA + 0xC000, false, true, &eax, &cf, &f, NULL) == MC_E_FAULT);
    CHECK(is_npf(&f, MC_PF_P | MC_NPF_RMP | MC_NPF_ENC | MC_NPF_FINAL, 0x30C000));
    /* A page behind a 4 KiB nested mapping validates as 4 KiB. */
    CHECK(mc_rmp_pvalidate(x.r, x.v, G4K, false, true, &eax, &cf, &f, NULL) == MC_OK && eax == 0 && cf);
    /* VMPL 1: #GP. Not an SNP guest, or the host: #UD. */
    mc_lcpu_set_vmpl(x.v, 1);
    CHECK(mc_rmp_pvalidate(x.r, x.v, GVA, false, true, &eax, &cf, &f, NULL) == MC_E_FAULT && f.kind == MC_FAULT_GP);
    mc_lcpu_set_vmpl(x.v, 0);
    CHECK(mc_rmp_pvalidate(x.r, mc_machine_cpu(x.m), GVA, false, true, &eax, &cf, &f, NULL) == MC_E_FAULT &&
          f.kind == MC_FAULT_UD);
    mc_lcpu_set_snp(x.v, false);
    CHECK(mc_rmp_pvalidate(x.r, x.v, GVA, false, true, &eax, &cf, &f, NULL) == MC_E_FAULT && f.kind == MC_FAULT_UD);
    close_fx(&x);
}

static void test_rmpadjust_vmpl(void)
{
    struct fx x;
    open_fx(&x, true);
    uint32_t eax = 99;
    struct mc_fault f;
    uint64_t v;
    const uint64_t va = GVA + 0x6000;
    /* The guest's page tables are VMPL1's too (read/write: the walk sets A/D), as the firmware's
     * LAUNCH_UPDATE VMPL permissions would give them. */
    for (unsigned i = 0; i < 4; i++) {
        struct mc_rmp_entry te;
        CHECK(mc_rmp_fw_read(x.r, SPA(0x100000 + 0x1000ull * i), &te, NULL, NULL) == MC_OK);
        te.perm[1] = MC_VMPL_READ | MC_VMPL_WRITE;
        CHECK(mc_rmp_fw_write(x.r, SPA(0x100000 + 0x1000ull * i), &te, NULL) == MC_OK);
    }
    /* VMPL0 grants VMPL1 read: VMPL1 reads, cannot write or execute. */
    CHECK(mc_rmp_rmpadjust(x.r, x.v, va, false, 1 | (MC_VMPL_READ << 8), &eax, &f, NULL) == MC_OK && eax == 0);
    mc_lcpu_set_vmpl(x.v, 1);
    CHECK(gload(&x, va, &v, &f) == MC_OK && v == 0xC6C6C6C6C6C6C6C6ull);
    CHECK(gstore(&x, va, 1, &f) == MC_E_FAULT);
    CHECK(is_npf(&f, MC_PF_P | MC_PF_W | MC_NPF_VMPL | MC_NPF_ENC | MC_NPF_FINAL, 0x306000));
    uint8_t code[16];
    CHECK(mc_lcpu_access(x.v, va, code, NULL, 16, MC_PG_FETCH, 0, &f, NULL) == MC_E_FAULT);
    CHECK(is_npf(&f, MC_PF_P | MC_PF_ID | MC_NPF_VMPL | MC_NPF_ENC | MC_NPF_FINAL, 0x306000));
    /* A page VMPL1 was given nothing. */
    CHECK(gload(&x, GVA + 0x7000, &v, &f) == MC_E_FAULT);
    CHECK(is_npf(&f, MC_PF_P | MC_NPF_VMPL | MC_NPF_ENC | MC_NPF_FINAL, 0x307000));
    /* VMPL1: the target must be higher, the permissions a subset of its own. */
    CHECK(mc_rmp_rmpadjust(x.r, x.v, va, false, 1 | (MC_VMPL_READ << 8), &eax, &f, NULL) == MC_OK &&
          eax == MC_RMP_FAIL_PERMISSION);
    CHECK(mc_rmp_rmpadjust(x.r, x.v, va, false, 0 | (MC_VMPL_READ << 8), &eax, &f, NULL) == MC_OK &&
          eax == MC_RMP_FAIL_PERMISSION);
    CHECK(mc_rmp_rmpadjust(x.r, x.v, va, false, 2 | ((MC_VMPL_READ | MC_VMPL_WRITE) << 8), &eax, &f, NULL) == MC_OK &&
          eax == MC_RMP_FAIL_PERMISSION);
    CHECK(mc_rmp_rmpadjust(x.r, x.v, va, false, 2 | (MC_VMPL_READ << 8), &eax, &f, NULL) == MC_OK && eax == 0);
    CHECK(mc_rmp_rmpadjust(x.r, x.v, va, false, 2 | (MC_VMPL_READ << 8) | (1u << 16), &eax, &f, NULL) == MC_OK &&
          eax == MC_RMP_FAIL_PERMISSION); /* the VMSA bit is VMPL0's */
    mc_lcpu_set_vmpl(x.v, 0);
    CHECK(mc_rmp_rmpadjust(x.r, x.v, va, false, 2 | ((MC_VMPL_READ | MC_VMPL_WRITE) << 8), &eax, &f, NULL) == MC_OK &&
          eax == 0);
    CHECK(mc_rmp_rmpadjust(x.r, x.v, va, false, 3 | (0x20 << 8), &eax, &f, NULL) == MC_OK && eax == MC_RMP_FAIL_INPUT);
    CHECK(mc_rmp_rmpadjust(x.r, x.v, va, false, 4 | (1 << 8), &eax, &f, NULL) == MC_OK && eax == MC_RMP_FAIL_INPUT);
    CHECK(mc_rmp_rmpadjust(x.r, x.v, va + 8, false, 1, &eax, &f, NULL) == MC_OK && eax == MC_RMP_FAIL_INPUT);
    CHECK(mc_rmp_rmpadjust(x.r, x.v, va, false, 1 | (1ull << 17), &eax, &f, NULL) == MC_OK && eax == MC_RMP_FAIL_INPUT);
    CHECK(mc_rmp_rmpadjust(x.r, x.v, va, false, 0, &eax, &f, NULL) == MC_OK && eax == MC_RMP_FAIL_PERMISSION);
    /* VMSA bit from VMPL0: the page becomes a VMSA page; guest data writes to it then fault. */
    CHECK(mc_rmp_rmpadjust(x.r, x.v, GVA + 0x8000, false, 1 | (1u << 16), &eax, &f, NULL) == MC_OK && eax == 0);
    struct mc_rmp_entry e;
    CHECK(mc_rmp_fw_read(x.r, SPA(0x308000), &e, NULL, NULL) == MC_OK && e.vmsa && e.perm[1] == 0);
    CHECK(gstore(&x, GVA + 0x8000, 1, &f) == MC_E_FAULT);
    CHECK(is_npf(&f, MC_PF_P | MC_PF_W | MC_NPF_RMP | MC_NPF_ENC | MC_NPF_FINAL, 0x308000));
    /* Not validated: FAIL_PERMISSION. 2 MiB on 4 KiB entries: FAIL_SIZEMISMATCH. */
    assign(&x, 0x30D000, false);
    CHECK(mc_rmp_rmpadjust(x.r, x.v, GVA + 0xD000, false, 1, &eax, &f, NULL) == MC_OK && eax == MC_RMP_FAIL_PERMISSION);
    for (unsigned i = 0; i < 512; i++)
        assign(&x, 0x400000 + 0x1000ull * i, true);
    CHECK(mc_rmp_rmpadjust(x.r, x.v, G2M, true, 1, &eax, &f, NULL) == MC_OK && eax == MC_RMP_FAIL_SIZEMISMATCH);
    /* #NPF: a page that is not the guest's. */
    CHECK(mc_rmp_rmpadjust(x.r, x.v, GSHARED, false, 1, &eax, &f, NULL) == MC_E_FAULT);
    CHECK(is_npf(&f, MC_PF_P | MC_NPF_RMP | MC_NPF_ENC | MC_NPF_FINAL, 0x310000));
    close_fx(&x);
}

static void test_host_and_dma(void)
{
    struct fx x;
    open_fx(&x, true);
    struct mc_machine *m = x.m;
    struct mc_fault f;
    uint8_t buf[64] = {1};
    /* Physical host accesses: reads of assigned pages work (ciphertext), writes fault with bit 31. */
    CHECK(mc_machine_phys_read(m, SPA(0x300000), buf, 64, &f, NULL) == MC_OK);
    CHECK(mc_machine_phys_write(m, SPA(0x300000), buf, 64, &f, NULL) == MC_E_FAULT);
    CHECK(f.kind == MC_FAULT_PF && f.vector == 14 && f.error_code == (MC_PF_P | MC_PF_W | MC_PF_RMP) &&
          f.addr == SPA(0x300000));
    CHECK(mc_machine_phys_write(m, SPA(0x310000), buf, 64, &f, NULL) == MC_OK); /* shared page */
    /* The RMP itself is Firmware-owned: a host write faults; the firmware's own writes do not. */
    CHECK(mc_machine_phys_write(m, 63 * MIB + 0x4000, buf, 16, &f, NULL) == MC_E_FAULT && f.kind == MC_FAULT_PF &&
          (f.error_code & MC_PF_RMP));
    /* Host paging: a 4 KiB mapping of a hypervisor page writes; a 2 MiB mapping whose range holds an
     * assigned page faults even on a hypervisor-owned 4 KiB; a host table page that becomes assigned
     * faults on the A/D update. */
    struct mc_ptb hb;
    CHECK(mc_ptb_init(&hb, m, 0x2000000, 0x100000, false, NULL) == MC_OK);
    CHECK(mc_ptb_map(&hb, 0x10000000, SPA(0x310000), 4096, 4096, MC_PTE_W, NULL) == MC_OK);
    CHECK(mc_ptb_map(&hb, 0x20000000, SPA(0x600000), 2 * MIB, 2 * MIB, MC_PTE_W, NULL) == MC_OK);
    CHECK(mc_machine_set_reg(m, MC_CREG_EFER, MC_EFER_LME | MC_EFER_NXE, NULL, NULL) == MC_OK);
    CHECK(mc_machine_set_reg(m, MC_CREG_CR4, MC_CR4_PAE, NULL, NULL) == MC_OK);
    CHECK(mc_machine_set_reg(m, MC_CREG_CR3, mc_ptb_cr3(&hb), NULL, NULL) == MC_OK);
    CHECK(mc_machine_set_reg(m, MC_CREG_CR0, 1 | MC_CR0_PG | MC_CR0_WP, NULL, NULL) == MC_OK);
    CHECK(mc_machine_store(m, 0x10000000, buf, 8, false, &f, NULL) == MC_OK);
    CHECK(mc_machine_store(m, 0x20000000, buf, 8, false, &f, NULL) == MC_OK); /* GPA 0x600000.. all hypervisor */
    CHECK(mc_machine_load(m, 0x20000000, buf, 8, false, &f, NULL) == MC_OK);
    assign(&x, 0x7FF000, false); /* inside the 2 MiB host mapping of SPA(0x600000) */
    CHECK(mc_machine_store(m, 0x20000000, buf, 8, false, &f, NULL) == MC_E_FAULT); /* verdict re-checked */
    CHECK(f.kind == MC_FAULT_PF && f.error_code == (MC_PF_P | MC_PF_W | MC_PF_RMP) && f.addr == 0x20000000);
    CHECK(mc_machine_load(m, 0x20000000, buf, 8, false, &f, NULL) == MC_OK);
    /* Host table page made Firmware: the next walk that sets A faults (host tables: 0x2000000..). */
    mc_machine_invlpg(m, 0x10000000);
    CHECK(mc_rmp_fw_make_firmware(x.r, 0x2003000, NULL) == MC_RMP_FW_OK); /* the PT of 0x10000000 */
    struct mc_paging_regs rg;
    mc_machine_get_regs(m, &rg);
    uint8_t pte[8];
    /* clear A in the PTE first, as the firmware would not: write through the raw port */
    CHECK(mc_machine_wbinvd(m, NULL) == MC_OK);
    CHECK(mc_dram_read(mc_machine_dram(m), 0x2003000 + ((0x10000000 >> 12) & 511) * 8, pte, 8, NULL) == MC_OK);
    uint64_t pv = mc_le64(pte) & ~MC_PTE_A;
    mc_put_le64(pte, pv);
    CHECK(mc_dram_write(mc_machine_dram(m), 0x2003000 + ((0x10000000 >> 12) & 511) * 8, pte, 8, NULL) == MC_OK);
    CHECK(mc_machine_load(m, 0x10000000, buf, 8, false, &f, NULL) == MC_E_FAULT);
    CHECK(f.kind == MC_FAULT_PF && (f.error_code & (MC_PF_RMP | MC_PF_W | MC_PF_P)) == (MC_PF_RMP | MC_PF_W | MC_PF_P));
    /* DMA through an IOMMU with the RMP check: refused for assigned pages, nothing transferred. */
    struct mc_dma_port port;
    CHECK(mc_dma_init(&port, mc_machine_memctl(m), 64, NULL) == MC_OK);
    mc_dma_set_check(&port, mc_rmp_check_dma, x.r);
    uint8_t before[64], after[64];
    CHECK(mc_machine_wbinvd(m, NULL) == MC_OK);
    CHECK(mc_dram_read(mc_machine_dram(m), SPA(0x300000), before, 64, NULL) == MC_OK);
    memset(buf, 0x77, sizeof buf);
    struct mc_error e;
    CHECK(mc_dma_write(&port, SPA(0x300000), buf, 64, &f, &e) == MC_E_VERIFY);
    CHECK(mc_dma_read(&port, SPA(0x300000) - 32, buf, 64, &f, NULL) == MC_E_VERIFY); /* spans into it */
    CHECK(mc_dram_read(mc_machine_dram(m), SPA(0x300000), after, 64, NULL) == MC_OK);
    CHECK_MEM(before, after, 64);
    CHECK(mc_dma_write(&port, SPA(0x310000), buf, 64, &f, NULL) == MC_OK);
    CHECK(mc_dma_read(&port, SPA(0x310000), after, 64, &f, NULL) == MC_OK);
    CHECK_MEM(buf, after, 64);
    close_fx(&x);
}

static void test_non_snp_guest(void)
{
    /* A guest without SNP on an SNP host is checked like the hypervisor: writes to assigned pages
     * are #NPF (RMP); its reads are not checked. */
    struct fx x;
    open_fx(&x, false);
    struct mc_fault f;
    uint64_t v;
    CHECK(gload(&x, GVA + 0x2000, &v, &f) == MC_OK && v == 0xC2C2C2C2C2C2C2C2ull);
    CHECK(gstore(&x, GVA + 0x2000, 5, &f) == MC_OK);
    assign(&x, 0x302000, true);
    CHECK(gload(&x, GVA + 0x2000, &v, &f) == MC_OK && v == 5);
    CHECK(gstore(&x, GVA + 0x2000, 6, &f) == MC_E_FAULT);
    CHECK(is_npf(&f, MC_PF_P | MC_PF_W | MC_NPF_RMP | MC_NPF_FINAL, 0x302000));
    uint32_t eax;
    bool cf;
    CHECK(mc_rmp_pvalidate(x.r, x.v, GVA, false, true, &eax, &cf, &f, NULL) == MC_E_FAULT && f.kind == MC_FAULT_UD);
    close_fx(&x);
}

int main(void)
{
    RUN(test_guest_accesses);
    RUN(test_pvalidate);
    RUN(test_rmpadjust_vmpl);
    RUN(test_host_and_dma);
    RUN(test_non_snp_guest);
    return check_summary();
}
