/* A small SNP world for the RMP property test and its fuzz target: an SNP host (milan board, RMP at
 * the top of 64 MiB), one SNP guest (ASID 1) whose 16 pages sit behind 4 KiB nested mappings the
 * hypervisor can remap, a second guest's ASID, a DMA device behind the RMP's IOMMU check, and a
 * sequence of operations by the hypervisor, the guest, the firmware and the device. After every
 * step the world checks the RMP's promises:
 *   - the host never writes a page that was assigned (CPU store or DMA);
 *   - the host never reads a guest page's plaintext;
 *   - the guest never reads anything but what it last wrote to a page it validated: a page the
 *     hypervisor took, remapped or swapped under it faults (#NPF, #VC) instead.
 * The guest behaves as Linux does: it validates only pages it believes unvalidated (CF=1 is a
 * detected double validation: it keeps its belief) and writes a fresh value right after
 * validating. Header-only (static functions): tests/test_rmp_property.c and fuzz/fuzz_rmp.c. */
#ifndef MC_TESTS_RMP_WORLD_H
#define MC_TESTS_RMP_WORLD_H

#include <stdio.h>
#include <string.h>

#include <memcrypt/board.h>
#include <memcrypt/bytes.h>
#include <memcrypt/dma.h>
#include <memcrypt/rmp.h>

#define W_NP 16u                    /* guest pages */
#define W_NSPA 32u                  /* SPA pool: GPA 0x800000 + i*4K maps SPA 0x1800000 + i*4K at first */
#define W_GVA 0x40000000ull
#define W_GPA0 0x800000ull
#define W_SPA0 0x1800000ull
#define W_TABLES 0x100000ull        /* guest tables, GPA 0x100000.. in a 2 MiB nested page at SPA 0x1000000 */

/* Operation codes (op % 32 selects; these are one value of each). */
enum { W_OP_WRITE = 0, W_OP_READ = 6, W_OP_READ_VMPL1 = 13, W_OP_VALIDATE = 14, W_OP_RESCIND = 16,
       W_OP_RMPUPDATE = 17, W_OP_NPT_SWAP = 18, W_OP_HOST_STORE = 19, W_OP_HOST_READ = 21, W_OP_DMA = 22,
       W_OP_2M = 23, W_OP_FIRMWARE = 24, W_OP_RMPADJUST = 25, W_OP_PSC = 26 };

struct rmp_world {
    struct mc_board *b;
    struct mc_machine *m;
    struct mc_rmp *r;
    struct mc_lcpu *v;
    struct mc_dma_port dma;
    uint64_t cbit, nroot;
    uint64_t expected[W_NP];
    bool known[W_NP], believes_valid[W_NP];
    uint64_t steps, faults, refusals, reads_checked, host_stores;
    char why[256];
};

static mc_status w_pte_addr(struct rmp_world *w, uint64_t gpa, uint64_t *out)
{
    uint64_t t = w->nroot & 0x000FFFFFFFFFF000ull;
    for (int l = 4; l >= 1; l--) {
        uint64_t a = t + ((gpa >> (12 + 9 * (l - 1))) & 511) * 8;
        if (l == 1) {
            *out = a;
            return MC_OK;
        }
        uint8_t b[8];
        mc_status st = mc_machine_phys_read(w->m, a, b, 8, NULL, NULL);
        if (st)
            return st;
        t = mc_le64(b) & 0x000FFFFFFFFFF000ull;
    }
    return MC_E_STATE;
}

static mc_status w_gwrite(struct rmp_world *w, uint64_t gpa, uint64_t val)
{
    uint8_t b[8];
    mc_put_le64(b, val);
    return mc_lcpu_phys_access(w->v, gpa, true, NULL, b, 8, NULL, NULL);
}

static mc_status w_assign(struct rmp_world *w, uint64_t spa, uint64_t gpa, uint32_t asid, bool valid)
{
    uint32_t eax = 0;
    const struct mc_rmp_state s = {.gpa = gpa, .assigned = 1, .asid = asid};
    mc_status st = mc_rmp_rmpupdate(w->r, spa, &s, &eax, NULL, NULL);
    if (st || eax)
        return st ? st : MC_E_STATE;
    struct mc_rmp_entry e;
    if (valid && !(st = mc_rmp_fw_read(w->r, spa, &e, NULL, NULL))) {
        e.validated = true;
        st = mc_rmp_fw_write(w->r, spa, &e, NULL);
    }
    return st;
}

static void rmp_world_close(struct rmp_world *w)
{
    mc_lcpu_destroy(w->v);
    mc_board_destroy(w->b);
    memset(w, 0, sizeof *w);
}

static mc_status rmp_world_open(struct rmp_world *w)
{
    memset(w, 0, sizeof *w);
    struct mc_board_config c;
    mc_status st = mc_board_config_init(&c, "milan", NULL);
    if (st)
        return st;
    c.machine.dram_size = 64ull << 20;
    c.machine.seed = (const uint8_t *)"rmp-world";
    c.machine.seed_len = 9;
    c.firmware = c.hypervisor = false;
    c.rmp_size = MC_BOARD_RMP_AUTO;
    if ((st = mc_board_create(&c, &w->b, NULL)))
        return st;
    w->m = mc_board_machine(w->b);
    w->r = mc_board_rmp(w->b);
    struct memctl *mc = mc_machine_memctl(w->m);
    for (uint32_t asid = 1; !st && asid <= 2; asid++) {
        mc_slot s;
        st = mc_engine_slot_generate(mc_machine_engine(w->m), MC_CIPHER_AES128_XTS, &s, NULL);
        if (!st)
            st = memctl_bind_asid(mc, asid, s, NULL);
    }
    struct mc_ptb n;
    if (!st)
        st = mc_ptb_init(&n, w->m, 0x200000, 0x100000, false, NULL);
    if (!st)
        st = mc_ptb_map(&n, 0, 0x1000000, 2ull << 20, 2ull << 20, MC_PTE_W | MC_PTE_U, NULL);
    if (!st)
        st = mc_ptb_map(&n, W_GPA0, W_SPA0, 2ull << 20, 4096, MC_PTE_W | MC_PTE_U, NULL);
    struct mc_paging_mode hm = mc_machine_paging_mode(w->m);
    w->cbit = 1ull << hm.enc_bit;
    w->nroot = mc_ptb_cr3(&n);
    struct mc_lcpu_config cc = {.nest = MC_NEST_NPT, .req = MEMCTL_REQ_GUEST, .asid = 1, .nroot = w->nroot,
                                .mode = {(unsigned)hm.enc_bit, hm.enc_bit, MC_PT_X86}, .sev = true};
    if (!st)
        st = mc_lcpu_create(mc, &cc, &w->v, NULL);
    /* Guest tables: PML4, PDPT, PD, PT at GPA 0x100000.. (written with paging off: private). */
    static const uint8_t zero[4096];
    for (unsigned i = 0; !st && i < 4; i++)
        st = mc_lcpu_phys_access(w->v, W_TABLES + 0x1000ull * i, true, NULL, zero, 4096, NULL, NULL);
    const uint64_t tf = MC_PTE_P | MC_PTE_W | MC_PTE_U | w->cbit;
    if (!st)
        st = w_gwrite(w, W_TABLES + ((W_GVA >> 39) & 511) * 8, (W_TABLES + 0x1000) | tf);
    if (!st)
        st = w_gwrite(w, W_TABLES + 0x1000 + ((W_GVA >> 30) & 511) * 8, (W_TABLES + 0x2000) | tf);
    if (!st)
        st = w_gwrite(w, W_TABLES + 0x2000 + ((W_GVA >> 21) & 511) * 8, (W_TABLES + 0x3000) | tf);
    for (unsigned i = 0; !st && i < W_NP; i++) {
        st = w_gwrite(w, W_TABLES + 0x3000 + (((W_GVA >> 12) + i) & 511) * 8, (W_GPA0 + 0x1000ull * i) | tf);
        w->expected[i] = 0x5EC2E7000000ull | i; /* the guest's secret in page i */
        if (!st)
            st = w_gwrite(w, W_GPA0 + 0x1000ull * i, w->expected[i]);
        w->known[i] = w->believes_valid[i] = true;
    }
    struct mc_paging_regs regs = {MC_CR0_PG | MC_CR0_WP | 1, W_TABLES | w->cbit, MC_CR4_PAE,
                                  MC_EFER_LME | MC_EFER_NXE};
    if (!st) {
        mc_lcpu_set_regs(w->v, &regs);
        st = mc_board_snp_enable(w->b, NULL);
    }
    if (!st && mc_rmp_fw_init_table(w->r) != MC_RMP_FW_OK)
        st = MC_E_STATE;
    if (!st) {
        mc_rmp_install(w->r, w->v);
        mc_lcpu_set_snp(w->v, true);
    }
    /* What SNP_LAUNCH_UPDATE leaves: the tables and the 16 pages assigned and validated. */
    for (unsigned i = 0; !st && i < 4; i++) {
        const uint64_t t = 0x1000000 + W_TABLES + 0x1000ull * i;
        struct mc_rmp_entry e;
        st = w_assign(w, t, W_TABLES + 0x1000ull * i, 1, true);
        if (!st) /* VMPL1 may walk the tables (and set A/D), as LAUNCH_UPDATE's VMPL permissions allow */
            st = mc_rmp_fw_read(w->r, t, &e, NULL, NULL);
        if (!st) {
            e.perm[1] = MC_VMPL_READ | MC_VMPL_WRITE;
            st = mc_rmp_fw_write(w->r, t, &e, NULL);
        }
    }
    for (unsigned i = 0; !st && i < W_NP; i++)
        st = w_assign(w, W_SPA0 + 0x1000ull * i, W_GPA0 + 0x1000ull * i, 1, true);
    if (!st)
        st = mc_dma_init(&w->dma, mc, 64, NULL);
    mc_dma_set_check(&w->dma, mc_rmp_check_dma, w->r);
    if (st)
        rmp_world_close(w);
    return st;
}

static int w_fail(struct rmp_world *w, const char *fmt, unsigned long long a, unsigned long long b)
{
    snprintf(w->why, sizeof w->why, fmt, a, b);
    return -1;
}

static bool w_assigned(struct rmp_world *w, uint64_t spa)
{
    struct mc_rmp_entry e;
    enum mc_rmp_page_state ps;
    if (mc_rmp_fw_read(w->r, spa, &e, &ps, NULL))
        return false;
    /* The governing entry: a 2 MiB assigned entry covers the whole region. */
    struct mc_rmp_entry h;
    if (!mc_rmp_fw_read(w->r, spa & ~0x1FFFFFull, &h, NULL, NULL) && h.large && h.assigned)
        return true;
    return e.assigned;
}

/* After a guest access to page k succeeded: the page behind it must be the guest's own validated
 * page at that GPA. */
static int w_owned(struct rmp_world *w, unsigned k)
{
    struct mc_xlat x;
    if (mc_lcpu_translate(w->v, W_GVA + 0x1000ull * k, 0, &x, NULL, NULL))
        return w_fail(w, "translation of page %llu failed after an access (step %llu)", k, w->steps);
    const uint64_t spa = x.pa & ~w->cbit;
    struct mc_rmp_entry e, h;
    if (mc_rmp_fw_read(w->r, spa, &e, NULL, NULL) || mc_rmp_fw_read(w->r, spa & ~0x1FFFFFull, &h, NULL, NULL))
        return w_fail(w, "RMP read of 0x%llx failed (step %llu)", spa, w->steps);
    if (h.large && h.assigned)
        return w_fail(w, "guest page %llu reached through a 4 KiB mapping of a 2 MiB entry (step %llu)", k, w->steps);
    if (!e.assigned || e.asid != 1 || e.gpa != W_GPA0 + 0x1000ull * k || !e.validated || e.immutable)
        return w_fail(w, "the guest accessed page %llu that is not its validated page (step %llu)", k, w->steps);
    return 0;
}

/* One step: op selects the action, a and b its operands. 0: fine, -1: a promise was broken. */
static int rmp_world_step(struct rmp_world *w, uint8_t op, uint8_t a, uint8_t b)
{
    w->steps++;
    const unsigned k = a % W_NP, s = b % W_NSPA;
    const uint64_t va = W_GVA + 0x1000ull * k, spa = W_SPA0 + 0x1000ull * s, gpa_s = W_GPA0 + 0x1000ull * s;
    struct mc_fault f;
    uint32_t eax = 0;
    bool cf = false;
    uint64_t v = 0;
    /* Weights: the guest works most of the time, the hypervisor, firmware and devices meddle. */
    static const uint8_t kind[32] = {0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 2, 3, 3, 4,
                                     5, 6, 7, 7, 8, 9, 10, 11, 12, 13, 13, 13, 13, 13, 5};
    switch (kind[op % 32]) {
    case 0: { /* guest writes a fresh value */
        uint64_t nv = 0xF00D000000000000ull | (w->steps << 8) | k;
        if (mc_lcpu_access(w->v, va, NULL, &nv, 8, 0, 0, &f, NULL) == MC_OK) {
            w->expected[k] = nv;
            w->known[k] = true;
            return w_owned(w, k);
        }
        w->faults++;
        w->known[k] = w->believes_valid[k] = false; /* the guest gives the page up (re-accepts it later) */
        return 0;
    }
    case 1:
    case 2: { /* guest reads, at VMPL0 or VMPL1 */
        mc_lcpu_set_vmpl(w->v, kind[op % 32] == 2 ? 1 : 0);
        mc_status st = mc_lcpu_access(w->v, va, &v, NULL, 8, 0, 0, &f, NULL);
        mc_lcpu_set_vmpl(w->v, 0);
        if (st) {
            w->faults++;
            if (f.kind == MC_FAULT_NPF && (f.error_code & MC_NPF_VMPL))
                return 0; /* VMPL1 lacks the right: the page itself is fine */
            w->known[k] = w->believes_valid[k] = false;
            return 0;
        }
        if (w->known[k] && v != w->expected[k])
            return w_fail(w, "guest read 0x%llx from page %llu: not what it wrote", v, k);
        w->reads_checked += w->known[k];
        return w_owned(w, k);
    }
    case 3: /* guest validates a page it believes unvalidated, then clears it */
        if (w->believes_valid[k])
            return 0;
        if (mc_rmp_pvalidate(w->r, w->v, va, false, true, &eax, &cf, &f, NULL) == MC_OK && eax == 0) {
            /* CF=1: already validated — a double validation the guest detects; it still uses the
             * page only after writing it. */
            w->believes_valid[k] = true;
            w->known[k] = false;
            return rmp_world_step(w, W_OP_WRITE, a, b);
        }
        w->refusals++;
        return 0;
    case 4: /* guest rescinds (page-state change to shared, first half) */
        if (mc_rmp_pvalidate(w->r, w->v, va, false, false, &eax, &cf, &f, NULL) == MC_OK && eax == 0)
            w->known[k] = w->believes_valid[k] = false;
        return 0;
    case 5: { /* hypervisor RMPUPDATE of a pool page: shared / this guest at some GPA / another guest / pre-guest */
        struct mc_rmp_state st = {0};
        switch (a % 4) {
        case 1: st = (struct mc_rmp_state){.gpa = W_GPA0 + 0x1000ull * (a / 4 % W_NSPA), .assigned = 1, .asid = 1}; break;
        case 2: st = (struct mc_rmp_state){.gpa = gpa_s, .assigned = 1, .asid = 2}; break;
        case 3: st = (struct mc_rmp_state){.gpa = gpa_s, .assigned = 1, .asid = 1, .immutable = 1}; break;
        default: break;
        }
        if (mc_rmp_rmpupdate(w->r, spa, &st, &eax, &f, NULL) != MC_OK)
            return w_fail(w, "RMPUPDATE did not complete (spa 0x%llx, step %llu)", spa, w->steps);
        w->refusals += eax != 0;
        return 0;
    }
    case 6: { /* hypervisor swaps the nested mappings of two GPAs and flushes */
        const unsigned s2 = a % W_NSPA;
        uint64_t p1, p2;
        uint8_t e1[8], e2[8];
        if (w_pte_addr(w, gpa_s, &p1) || w_pte_addr(w, W_GPA0 + 0x1000ull * s2, &p2) ||
            mc_machine_phys_read(w->m, p1, e1, 8, NULL, NULL) || mc_machine_phys_read(w->m, p2, e2, 8, NULL, NULL) ||
            mc_machine_phys_write(w->m, p1, e2, 8, NULL, NULL) || mc_machine_phys_write(w->m, p2, e1, 8, NULL, NULL))
            return w_fail(w, "NPT edit failed (%llu, %llu)", s, s2);
        mc_lcpu_invept(w->v, w->nroot);
        return 0;
    }
    case 7: { /* host CPU store to a pool page */
        bool was = w_assigned(w, spa);
        uint64_t junk = 0xBADBADBADBADull;
        if (mc_machine_phys_write(w->m, spa + 8 * (a % 512), &junk, 8, &f, NULL) == MC_OK) {
            if (was)
                return w_fail(w, "the host wrote assigned page 0x%llx (step %llu)", spa, w->steps);
            w->host_stores++;
        } else if (!was || f.kind != MC_FAULT_PF || !(f.error_code & MC_PF_RMP)) {
            return w_fail(w, "host store to 0x%llx failed without an RMP #PF (step %llu)", spa, w->steps);
        }
        return 0;
    }
    case 8: { /* host reads a guest page (C=0 and C=1): never the plaintext */
        uint64_t c0 = 0, c1 = 0;
        uint64_t where;
        uint8_t pte[8];
        if (w_pte_addr(w, W_GPA0 + 0x1000ull * k, &where) || mc_machine_phys_read(w->m, where, pte, 8, NULL, NULL))
            return w_fail(w, "NPT read failed (%llu, %llu)", k, 0);
        uint64_t page = mc_le64(pte) & 0x000FFFFFFFFFF000ull;
        if (mc_machine_phys_read(w->m, page, &c0, 8, &f, NULL) || mc_machine_phys_read(w->m, page | w->cbit, &c1, 8, &f, NULL))
            return w_fail(w, "host read of 0x%llx failed (step %llu)", page, w->steps);
        if (w->known[k] && (c0 == w->expected[k] || c1 == w->expected[k]))
            return w_fail(w, "the host read guest page %llu's plaintext (step %llu)", k, w->steps);
        return 0;
    }
    case 9: { /* a device writes a pool page */
        bool was = w_assigned(w, spa);
        uint64_t junk = 0xD3ADD3ADull;
        if (mc_dma_write(&w->dma, spa, &junk, 8, &f, NULL) == MC_OK && was)
            return w_fail(w, "a device wrote assigned page 0x%llx (step %llu)", spa, w->steps);
        return 0;
    }
    case 10: /* the 2 MiB region of the pool: PSMASH, or a 2 MiB RMPUPDATE (mostly FAIL_OVERLAP) */
        if (a & 1) {
            if (mc_rmp_psmash(w->r, W_SPA0, &eax, &f, NULL))
                return w_fail(w, "PSMASH did not complete (%llu, %llu)", 0, 0);
        } else {
            const struct mc_rmp_state st = {.gpa = (b & 1) ? W_GPA0 : 0, .assigned = b & 1, .pagesize = 1,
                                            .asid = b & 1};
            if (mc_rmp_rmpupdate(w->r, W_SPA0, &st, &eax, &f, NULL))
                return w_fail(w, "2 MiB RMPUPDATE did not complete (%llu, %llu)", 0, 0);
        }
        return 0;
    case 11: /* firmware takes, releases or fixes a pool page */
        switch (a % 4) {
        case 0: mc_rmp_fw_make_firmware(w->r, spa, NULL); break;
        case 1: mc_rmp_fw_reclaim(w->r, spa, false, NULL); break;
        case 2: mc_rmp_fw_make_hv_fixed(w->r, spa, true, NULL); break;
        default: mc_rmp_fw_make_hv_fixed(w->r, spa, false, NULL); break;
        }
        return 0;
    case 12: /* guest grants VMPL1 some permissions */
        mc_rmp_rmpadjust(w->r, w->v, va, false, 1 | ((uint64_t)(b & MC_VMPL_ALL) << 8), &eax, &f, NULL);
        return 0;
    default: /* page-state change to private over the GHCB: the hypervisor assigns the page its
                nested table maps at GPA s to the guest (RMPUPDATE), the guest accepts it (PVALIDATE) */
        if (s < W_NP && !w->believes_valid[s]) {
            uint64_t where, page;
            uint8_t pte[8];
            if (w_pte_addr(w, gpa_s, &where) || mc_machine_phys_read(w->m, where, pte, 8, NULL, NULL))
                return w_fail(w, "NPT read failed (%llu, %llu)", s, 0);
            page = mc_le64(pte) & 0x000FFFFFFFFFF000ull;
            const struct mc_rmp_state st = {.gpa = gpa_s, .assigned = 1, .asid = 1};
            if (mc_rmp_rmpupdate(w->r, page, &st, &eax, &f, NULL))
                return w_fail(w, "RMPUPDATE did not complete (%llu, %llu)", s, 0);
            return rmp_world_step(w, W_OP_VALIDATE, (uint8_t)s, b);
        }
        return 0;
    }
}

#endif
