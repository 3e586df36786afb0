/* The one CPU-side access path (memcrypt/lcpu.h) for the host CPU and an SEV-style guest on AMD
 * nested paging (the Intel guest on EPT: test_ept.c): one fault contract (a multi-page store that faults
 * on page 2 leaves page 1 unchanged, with the right #PF / #NPF / EPT-violation value), the TLB
 * flush rules of MOV CR3, INVLPG, INVLPGA, global pages, ASID/VPID tags, nested-table changes
 * with and without the VMM's invalidation, A/D bits and rights on TLB hits, the check hook, and
 * the controller cost of a guest store that hits the TLB. */
#include <memcrypt/bytes.h>
#include <memcrypt/lcpu.h>
#include <memcrypt/machine.h>

#include "check.h"

#define ADDR 0x000FFFFFFFFFF000ull

static uint64_t rd64(struct mc_machine *m, uint64_t pa)
{
    uint8_t b[8] = {0};
    CHECK(mc_machine_phys_read(m, pa, b, 8, NULL, NULL) == MC_OK);
    return mc_le64(b);
}

static void wr64(struct mc_machine *m, uint64_t pa, uint64_t v)
{
    uint8_t b[8];
    mc_put_le64(b, v);
    CHECK(mc_machine_phys_write(m, pa, b, 8, NULL, NULL) == MC_OK);
}

/* Address (as issued) of the x86 entry mapping va at level `level` (1 = PTE) under root. */
static uint64_t entry_addr(struct mc_machine *m, uint64_t root, uint64_t va, int level)
{
    uint64_t t = root & ADDR;
    for (int l = 4; l > level; l--)
        t = rd64(m, t + ((va >> (12 + 9 * (l - 1))) & 511) * 8) & ADDR;
    return t + ((va >> (12 + 9 * (level - 1))) & 511) * 8;
}

static struct mc_machine *machine(const char *platform)
{
    struct mc_machine_config cfg;
    mc_machine_config_init(&cfg);
    cfg.platform = platform;
    cfg.dram_size = 32u << 20;
    cfg.seed = (const uint8_t *)"lcpu";
    cfg.seed_len = 4;
    struct mc_machine *m = NULL;
    CHECK(mc_machine_create(&cfg, &m, NULL) == MC_OK);
    return m;
}

/* ------------------------------------------------------------------ host -- */

/* VA 0x400000.. -> PA 0x800000..: pages 0, 1, 3 writable, 2 read-only, 4 not mapped. */
#define HVA 0x400000ull
static struct mc_machine *host_open(uint64_t *cb)
{
    struct mc_machine *m = machine("milan");
    *cb = mc_machine_enc_bit(m);
    struct mc_ptb b;
    CHECK(mc_ptb_init(&b, m, 0x100000, 0x100000, *cb != 0, NULL) == MC_OK);
    CHECK(mc_ptb_map(&b, HVA, 0x800000 | *cb, 0x2000, 4096, MC_PTE_W, NULL) == MC_OK);
    CHECK(mc_ptb_map(&b, HVA + 0x2000, 0x802000 | *cb, 0x1000, 4096, 0, NULL) == MC_OK);
    CHECK(mc_ptb_map(&b, HVA + 0x3000, 0x803000 | *cb, 0x1000, 4096, MC_PTE_W, NULL) == MC_OK);
    CHECK(mc_machine_set_reg(m, MC_CREG_EFER, MC_EFER_LME | MC_EFER_NXE, NULL, NULL) == MC_OK);
    CHECK(mc_machine_set_reg(m, MC_CREG_CR4, MC_CR4_PAE, NULL, NULL) == MC_OK);
    CHECK(mc_machine_set_reg(m, MC_CREG_CR3, mc_ptb_cr3(&b), NULL, NULL) == MC_OK);
    CHECK(mc_machine_set_reg(m, MC_CREG_CR0, 1 | MC_CR0_PG | MC_CR0_WP, NULL, NULL) == MC_OK);
    uint8_t page[4096];
    for (unsigned p = 0; p < 4; p++) {
        memset(page, 0xA0 + p, sizeof page);
        CHECK(mc_machine_phys_write(m, (0x800000 + 0x1000ull * p) | *cb, page, sizeof page, NULL, NULL) == MC_OK);
    }
    return m;
}

static void test_host_fault_contract(void)
{
    uint64_t cb;
    struct mc_machine *m = host_open(&cb);
    struct mc_fault f;
    uint8_t data[16], back[16], before[16];
    memset(data, 0x5C, sizeof data);
    /* Page 2 read-only: #PF P|W at its first byte; page 1's tail unchanged. */
    CHECK(mc_machine_load(m, HVA + 0x1FF8, before, 16, false, &f, NULL) == MC_OK);
    CHECK(mc_machine_store(m, HVA + 0x1FF8, data, 16, false, &f, NULL) == MC_E_FAULT);
    CHECK(f.kind == MC_FAULT_PF && f.addr == HVA + 0x2000 && f.error_code == (MC_PF_P | MC_PF_W));
    CHECK(mc_machine_load(m, HVA + 0x1FF8, back, 16, false, &f, NULL) == MC_OK);
    CHECK_MEM(back, before, 16);
    /* Page 2 not mapped: #PF W (not present). */
    CHECK(mc_machine_load(m, HVA + 0x3FF8, before, 8, false, &f, NULL) == MC_OK);
    CHECK(mc_machine_store(m, HVA + 0x3FF8, data, 16, false, &f, NULL) == MC_E_FAULT);
    CHECK(f.kind == MC_FAULT_PF && f.addr == HVA + 0x4000 && f.error_code == MC_PF_W);
    CHECK(mc_machine_load(m, HVA + 0x3FF8, back, 8, false, &f, NULL) == MC_OK);
    CHECK_MEM(back, before, 8);
    /* Both pages writable: the store lands on both. */
    CHECK(mc_machine_store(m, HVA + 0xFF8, data, 16, false, &f, NULL) == MC_OK);
    CHECK(mc_machine_load(m, HVA + 0xFF8, back, 16, false, &f, NULL) == MC_OK);
    CHECK_MEM(back, data, 16);
    mc_machine_destroy(m);
}

static uint64_t load8(struct mc_machine *m, uint64_t va)
{
    uint64_t v = 0;
    struct mc_fault f;
    CHECK(mc_machine_load(m, va, &v, 8, false, &f, NULL) == MC_OK);
    return v;
}

static void test_host_flush_rules(void)
{
    uint64_t cb;
    struct mc_machine *m = host_open(&cb);
    struct mc_paging_regs r;
    mc_machine_get_regs(m, &r);
    const uint64_t A = 0xA0A0A0A0A0A0A0A0ull, D = 0xA3A3A3A3A3A3A3A3ull;
    uint64_t pte = entry_addr(m, r.cr3, HVA, 1) | cb, orig = rd64(m, pte);
    CHECK_EQ_U64(load8(m, HVA), A);
    /* The OS rewrites the PTE: the TLB keeps the old translation until INVLPG. */
    wr64(m, pte, (orig & ~ADDR) | 0x803000 | cb);
    CHECK_EQ_U64(load8(m, HVA), A);
    mc_machine_invlpg(m, HVA + 0x123);
    CHECK_EQ_U64(load8(m, HVA), D);
    /* MOV CR3, even with the same value, drops non-global entries. */
    wr64(m, pte, orig);
    CHECK_EQ_U64(load8(m, HVA), D);
    CHECK(mc_machine_set_reg(m, MC_CREG_CR3, r.cr3, NULL, NULL) == MC_OK);
    CHECK_EQ_U64(load8(m, HVA), A);
    /* Global pages survive MOV CR3 while CR4.PGE is set; INVLPG drops them. */
    wr64(m, pte, orig | MC_PTE_G);
    CHECK(mc_machine_set_reg(m, MC_CREG_CR4, MC_CR4_PAE | MC_CR4_PGE, NULL, NULL) == MC_OK);
    CHECK_EQ_U64(load8(m, HVA), A);
    wr64(m, pte, ((orig & ~ADDR) | 0x803000 | cb) | MC_PTE_G);
    CHECK(mc_machine_set_reg(m, MC_CREG_CR3, r.cr3, NULL, NULL) == MC_OK);
    CHECK_EQ_U64(load8(m, HVA), A);
    mc_machine_invlpg(m, HVA);
    CHECK_EQ_U64(load8(m, HVA), D);
    /* Clearing CR4.PGE flushes everything. */
    wr64(m, pte, orig);
    CHECK(mc_machine_set_reg(m, MC_CREG_CR4, MC_CR4_PAE, NULL, NULL) == MC_OK);
    CHECK_EQ_U64(load8(m, HVA), A);

    /* A/D on a hit: a read caches the page with D clear; the store that follows walks and sets D. */
    uint64_t pte3 = entry_addr(m, r.cr3, HVA + 0x3000, 1) | cb, e3 = rd64(m, pte3);
    wr64(m, pte3, e3 & ~(MC_PTE_A | MC_PTE_D));
    mc_machine_invlpg(m, HVA + 0x3000);
    CHECK_EQ_U64(load8(m, HVA + 0x3000), D);
    e3 = rd64(m, pte3);
    CHECK((e3 & MC_PTE_A) && !(e3 & MC_PTE_D));
    struct mc_fault f;
    CHECK(mc_machine_store(m, HVA + 0x3000, &A, 8, false, &f, NULL) == MC_OK);
    CHECK(rd64(m, pte3) & MC_PTE_D);
    /* Rights on a hit: a cached read-only page refuses a write, a supervisor page a user read. */
    (void)load8(m, HVA + 0x2000);
    CHECK(mc_machine_store(m, HVA + 0x2000, &A, 8, false, &f, NULL) == MC_E_FAULT &&
          f.error_code == (MC_PF_P | MC_PF_W));
    uint64_t v;
    CHECK(mc_machine_load(m, HVA, &v, 8, true, &f, NULL) == MC_E_FAULT && f.error_code == (MC_PF_P | MC_PF_U));
    mc_machine_destroy(m);
}

/* ------------------------------------------------------ guest on NPT ------ */

#define GVA 0x200000ull
#define NPT_SPA 0x1000000ull /* GPA 0..4 MiB -> SPA 16..20 MiB (2 MiB pages) */

struct npt_fx {
    struct mc_machine *m;
    struct mc_lcpu *c;
    uint64_t nroot, c_bit, pt; /* guest PT page (GPA) */
};

static void gw64(struct npt_fx *x, uint64_t gpa, uint64_t v)
{
    uint8_t b[8];
    mc_put_le64(b, v);
    struct mc_fault f;
    CHECK(mc_lcpu_phys_access(x->c, gpa, true, NULL, b, 8, &f, NULL) == MC_OK);
}

static uint64_t gload8(struct mc_lcpu *c, uint64_t va, mc_status want)
{
    uint64_t v = 0;
    struct mc_fault f;
    CHECK(mc_lcpu_access(c, va, &v, NULL, 8, 0, 0, &f, NULL) == want);
    return v;
}

/* Guest VA page i -> GPA 0x300000 + i*4K (private, writable), except: page 2 read-only,
 * page 4 -> GPA 0x600000 (outside the NPT), page 5 shared. */
static void npt_open(struct npt_fx *x)
{
    memset(x, 0, sizeof *x);
    x->m = machine("milan");
    struct memctl *mc = mc_machine_memctl(x->m);
    struct mc_engine *eng = mc_machine_engine(x->m);
    mc_slot s1, s2;
    CHECK(mc_engine_slot_generate(eng, MC_CIPHER_AES128_XTS, &s1, NULL) == MC_OK);
    CHECK(mc_engine_slot_generate(eng, MC_CIPHER_AES128_XTS, &s2, NULL) == MC_OK);
    CHECK(memctl_bind_asid(mc, 1, s1, NULL) == MC_OK);
    CHECK(memctl_bind_asid(mc, 2, s2, NULL) == MC_OK);
    struct mc_ptb n;
    CHECK(mc_ptb_init(&n, x->m, 0x200000, 0x100000, false, NULL) == MC_OK);
    CHECK(mc_ptb_map(&n, 0, NPT_SPA, 4u << 20, 2u << 20, MC_PTE_W | MC_PTE_U, NULL) == MC_OK);
    x->nroot = mc_ptb_cr3(&n);
    struct mc_paging_mode hm = mc_machine_paging_mode(x->m);
    unsigned bits = memctl_get_platform(mc)->phys_bits;
    if ((unsigned)hm.enc_bit < bits)
        bits = (unsigned)hm.enc_bit;
    struct mc_lcpu_config cc = {.nest = MC_NEST_NPT, .req = MEMCTL_REQ_GUEST, .asid = 1, .nroot = x->nroot,
                                .mode = {bits, hm.enc_bit, MC_PT_X86}, .sev = true};
    CHECK(mc_lcpu_create(mc, &cc, &x->c, NULL) == MC_OK);
    x->c_bit = 1ull << hm.enc_bit;
    /* Guest tables (paging off: every access private): PML4 0x100000, PDPT 0x101000, PD 0x102000,
     * PT 0x103000, all zeroed first. */
    static const uint8_t zero[4096];
    struct mc_fault f;
    for (unsigned i = 0; i < 4; i++)
        CHECK(mc_lcpu_phys_access(x->c, 0x100000 + 0x1000ull * i, true, NULL, zero, 4096, &f, NULL) == MC_OK);
    const uint64_t tf = MC_PTE_P | MC_PTE_W | MC_PTE_U | x->c_bit;
    gw64(x, 0x100000 + ((GVA >> 39) & 511) * 8, 0x101000 | tf);
    gw64(x, 0x101000 + ((GVA >> 30) & 511) * 8, 0x102000 | tf);
    gw64(x, 0x102000 + ((GVA >> 21) & 511) * 8, 0x103000 | tf);
    x->pt = 0x103000;
    uint8_t page[4096];
    for (unsigned i = 0; i < 6; i++) {
        uint64_t gpa = i == 4 ? 0x600000 : 0x300000 + 0x1000ull * i;
        uint64_t e = gpa | MC_PTE_P | (i == 2 ? 0 : MC_PTE_W) | (i == 5 ? 0 : x->c_bit);
        gw64(x, x->pt + (((GVA >> 12) + i) & 511) * 8, e);
        if (i != 4) {
            memset(page, 0xB0 + i, sizeof page);
            CHECK(mc_lcpu_phys_access(x->c, gpa, i != 5, NULL, page, sizeof page, &f, NULL) == MC_OK);
        }
    }
    struct mc_paging_regs r = {MC_CR0_PG | MC_CR0_WP | 1, 0x100000 | x->c_bit, MC_CR4_PAE, MC_EFER_LME | MC_EFER_NXE};
    mc_lcpu_set_regs(x->c, &r);
}

static void npt_close(struct npt_fx *x)
{
    mc_lcpu_destroy(x->c);
    mc_machine_destroy(x->m);
}

static void test_npt_fault_contract(void)
{
    struct npt_fx x;
    npt_open(&x);
    struct mc_fault f;
    uint8_t data[16], back[16], before[16];
    memset(data, 0x6D, sizeof data);
    /* Guest #PF on page 2 (read-only in the guest's tables). */
    CHECK(mc_lcpu_access(x.c, GVA + 0x1FF8, before, NULL, 16, 0, 0, &f, NULL) == MC_OK);
    CHECK(mc_lcpu_access(x.c, GVA + 0x1FF8, NULL, data, 16, 0, 0, &f, NULL) == MC_E_FAULT);
    CHECK(f.kind == MC_FAULT_PF && f.addr == GVA + 0x2000 && f.error_code == (MC_PF_P | MC_PF_W));
    CHECK(mc_lcpu_access(x.c, GVA + 0x1FF8, back, NULL, 16, 0, 0, &f, NULL) == MC_OK);
    CHECK_MEM(back, before, 16);
    /* #NPF on page 2 (its GPA is not in the NPT): final-GPA fault at the GPA; page 1 unchanged. */
    CHECK(mc_lcpu_access(x.c, GVA + 0x3FF8, before, NULL, 8, 0, 0, &f, NULL) == MC_OK);
    CHECK(mc_lcpu_access(x.c, GVA + 0x3FF8, NULL, data, 16, 0, 0, &f, NULL) == MC_E_FAULT);
    CHECK(f.kind == MC_FAULT_NPF && f.addr == 0x600000);
    CHECK_EQ_U64(f.error_code, MC_PF_W | MC_PF_U | MC_NPF_FINAL);
    CHECK(mc_lcpu_access(x.c, GVA + 0x3FF8, back, NULL, 8, 0, 0, &f, NULL) == MC_OK);
    CHECK_MEM(back, before, 8);
    /* A guest table page outside the NPT: #NPF during the guest walk (MC_NPF_TABLE). */
    mc_lcpu_invlpg(x.c, GVA);
    gw64(&x, 0x102000 + ((GVA >> 21) & 511) * 8, 0x700000 | MC_PTE_P | MC_PTE_W | MC_PTE_U | x.c_bit);
    CHECK(mc_lcpu_access(x.c, GVA, back, NULL, 8, 0, 0, &f, NULL) == MC_E_FAULT);
    CHECK(f.kind == MC_FAULT_NPF && f.addr == 0x700000 && (f.error_code & MC_NPF_TABLE) &&
          !(f.error_code & MC_NPF_FINAL));
    npt_close(&x);
}

static void test_npt_tlb(void)
{
    struct npt_fx x;
    npt_open(&x);
    struct mc_tlb_stats t0, t1;
    struct memctl_cache_stats c0, c1;
    struct mc_fault f;
    const uint64_t P0 = 0xB0B0B0B0B0B0B0B0ull, P1 = 0xB1B1B1B1B1B1B1B1ull;
    /* A store that hits the TLB costs the controller one line access, nothing for walks. */
    uint64_t v = 42;
    CHECK(mc_lcpu_access(x.c, GVA + 0x10, NULL, &v, 8, 0, 0, &f, NULL) == MC_OK);
    memctl_cache_get_stats(mc_machine_memctl(x.m), &c0);
    mc_tlb_get_stats(mc_lcpu_tlb(x.c), &t0);
    CHECK(mc_lcpu_access(x.c, GVA + 0x18, NULL, &v, 8, 0, 0, &f, NULL) == MC_OK);
    memctl_cache_get_stats(mc_machine_memctl(x.m), &c1);
    mc_tlb_get_stats(mc_lcpu_tlb(x.c), &t1);
    CHECK_EQ_U64(c1.line_accesses - c0.line_accesses, 1);
    CHECK_EQ_U64(t1.hits - t0.hits, 1);
    CHECK_EQ_U64(t1.misses - t0.misses, 0);

    /* Guest INVLPG / host INVLPGA: after the guest rewrites a PTE, only an invalidation of this
     * ASID's entry makes the new mapping visible. */
    CHECK_EQ_U64(gload8(x.c, GVA + 0x100, MC_OK), P0);
    uint64_t pte0 = x.pt + ((GVA >> 12) & 511) * 8;
    gw64(&x, pte0, 0x301000 | MC_PTE_P | MC_PTE_W | x.c_bit);
    CHECK_EQ_U64(gload8(x.c, GVA + 0x100, MC_OK), P0);
    mc_lcpu_invlpga(x.c, GVA, 2);
    CHECK_EQ_U64(gload8(x.c, GVA + 0x100, MC_OK), P0);
    mc_lcpu_invlpga(x.c, GVA, 1);
    CHECK_EQ_U64(gload8(x.c, GVA + 0x100, MC_OK), P1);
    gw64(&x, pte0, 0x300000 | MC_PTE_P | MC_PTE_W | x.c_bit);
    mc_lcpu_invlpg(x.c, GVA);
    CHECK_EQ_U64(gload8(x.c, GVA + 0x100, MC_OK), P0);

    /* ASID tags: under ASID 2 the cached entries of ASID 1 never match (the walk then reads the
     * guest's tables with ASID 2's key: garbage); back on ASID 1 they hit again. */
    mc_tlb_get_stats(mc_lcpu_tlb(x.c), &t0);
    mc_lcpu_set_asid(x.c, 2);
    uint64_t w = 0;
    mc_status st = mc_lcpu_access(x.c, GVA + 0x100, &w, NULL, 8, 0, 0, &f, NULL);
    CHECK(st == MC_E_FAULT || w != P0);
    mc_tlb_get_stats(mc_lcpu_tlb(x.c), &t1);
    CHECK(t1.misses > t0.misses);
    mc_lcpu_set_asid(x.c, 1);
    mc_tlb_get_stats(mc_lcpu_tlb(x.c), &t0);
    CHECK_EQ_U64(gload8(x.c, GVA + 0x100, MC_OK), P0);
    mc_tlb_get_stats(mc_lcpu_tlb(x.c), &t1);
    CHECK(t1.hits == t0.hits + 1 && t1.misses == t0.misses);

    /* The hypervisor remaps GPA 0..2 MiB to other memory by editing its NPT. Forgetting the
     * invalidation leaves the vCPU on the stale translation, even across a guest MOV CR3 (which
     * never drops guest-physical entries); TLB_CONTROL (flush this ASID) or a flush of the nCR3
     * makes the new mapping visible, and nothing stale is used after it. */
    uint64_t pde = entry_addr(x.m, x.nroot, 2u << 20, 2), orig = rd64(x.m, pde);
    wr64(x.m, pde, (orig & ~ADDR) | NPT_SPA); /* GPA 2..4 MiB -> the SPA of GPA 0..2 MiB */
    CHECK_EQ_U64(gload8(x.c, GVA + 0x100, MC_OK), P0);
    struct mc_paging_regs r;
    mc_lcpu_get_regs(x.c, &r);
    mc_lcpu_set_reg(x.c, MC_CREG_CR3, r.cr3);
    CHECK_EQ_U64(gload8(x.c, GVA + 0x100, MC_OK), P0); /* the tables are read through the stale GPA mapping too */
    mc_lcpu_flush_asid(x.c, 1);
    /* Now GPA 0x300000 is the frame of GPA 0x100000, the guest's PML4: its first entry. */
    CHECK_EQ_U64(gload8(x.c, GVA, MC_OK), 0x101000 | MC_PTE_P | MC_PTE_W | MC_PTE_U | MC_PTE_A | x.c_bit);
    wr64(x.m, pde, orig);
    CHECK(gload8(x.c, GVA, MC_OK) != P0); /* stale the other way until the flush */
    mc_lcpu_invept(x.c, x.nroot);
    CHECK_EQ_U64(gload8(x.c, GVA + 0x100, MC_OK), P0);
    npt_close(&x);
}

/* The check hook: sees every access with its context, and a refusal stops a multi-page store
 * before any byte moves. */
struct hook_log {
    unsigned data, guest_tables, nested_tables, priv_data;
    uint64_t refuse_spa; /* page refused for writes */
};

static mc_status hook(void *ctx, const struct mc_access_check *k, struct mc_fault *f, struct mc_error *err)
{
    struct hook_log *h = ctx;
    if (!k->table) {
        h->data++;
        h->priv_data += k->priv;
    } else if (k->nested) {
        h->nested_tables++;
        CHECK(k->a->req == MEMCTL_REQ_HOST);
    } else {
        h->guest_tables++;
        CHECK(k->a->req == MEMCTL_REQ_GUEST && k->a->asid == 1 && k->priv);
    }
    if (k->a->kind == MEMCTL_ACC_WRITE && !k->table && (k->a->addr & ~0xFFFull) == h->refuse_spa) {
        *f = (struct mc_fault){MC_FAULT_NPF, 0, MC_PF_P | MC_PF_W | (1ull << 31) | MC_NPF_FINAL, k->gpa};
        return mc_seterr(err, MC_E_FAULT, "refused by the check hook");
    }
    return MC_OK;
}

static void test_check_hook(void)
{
    struct npt_fx x;
    npt_open(&x);
    struct hook_log h = {0};
    h.refuse_spa = NPT_SPA + 0x301000; /* GPA 0x301000 */
    mc_lcpu_flush_all(x.c);
    mc_lcpu_set_check(x.c, hook, &h);
    struct mc_fault f;
    uint8_t data[16], back[16], before[16];
    memset(data, 0x11, sizeof data);
    CHECK(mc_lcpu_access(x.c, GVA + 0xFF8, before, NULL, 16, 0, 0, &f, NULL) == MC_OK);
    CHECK(h.data == 2 && h.priv_data == 2 && h.guest_tables >= 4 && h.nested_tables >= 3);
    CHECK(mc_lcpu_access(x.c, GVA + 0xFF8, NULL, data, 16, 0, 0, &f, NULL) == MC_E_FAULT);
    CHECK(f.kind == MC_FAULT_NPF && f.addr == 0x301000 && (f.error_code & (1ull << 31)));
    CHECK(mc_lcpu_access(x.c, GVA + 0xFF8, back, NULL, 16, 0, 0, &f, NULL) == MC_OK);
    CHECK_MEM(back, before, 16);
    /* A shared page is a shared (C=0) access. */
    unsigned pd = h.priv_data, d = h.data;
    (void)gload8(x.c, GVA + 0x5000, MC_OK);
    CHECK(h.data == d + 1 && h.priv_data == pd);
    mc_lcpu_set_check(x.c, NULL, NULL);
    npt_close(&x);
}

static void test_bad_input(void)
{
    struct mc_machine *m = machine("milan");
    struct mc_lcpu *c = NULL;
    struct mc_lcpu_config cc = {.nest = MC_NEST_NPT, .req = MEMCTL_REQ_GUEST, .asid = 0};
    CHECK(mc_lcpu_create(mc_machine_memctl(m), &cc, &c, NULL) == MC_E_INVAL && !c);
    cc.asid = 1;
    cc.req = MEMCTL_REQ_HOST;
    CHECK(mc_lcpu_create(mc_machine_memctl(m), &cc, &c, NULL) == MC_E_INVAL);
    cc = (struct mc_lcpu_config){.nest = MC_NEST_NPT, .req = MEMCTL_REQ_GUEST, .asid = 1, .sev = true};
    CHECK(mc_lcpu_create(mc_machine_memctl(m), &cc, &c, NULL) == MC_E_INVAL); /* SEV without a C-bit */
    cc.mode = (struct mc_paging_mode){48, 70, MC_PT_X86};
    CHECK(mc_lcpu_create(mc_machine_memctl(m), &cc, &c, NULL) == MC_E_INVAL);
    cc = (struct mc_lcpu_config){.nest = MC_NEST_NONE, .req = MEMCTL_REQ_HOST, .tlb_entries = 100};
    CHECK(mc_lcpu_create(mc_machine_memctl(m), &cc, &c, NULL) == MC_E_INVAL);
    struct mc_lcpu *h = mc_machine_cpu(m);
    uint8_t b[8];
    struct mc_fault f;
    CHECK(mc_lcpu_access(h, 0, b, NULL, 0, 0, 0, &f, NULL) == MC_E_INVAL);
    CHECK(mc_lcpu_access(h, 0, b, b, 8, 0, 0, &f, NULL) == MC_E_INVAL);
    CHECK(mc_lcpu_access(h, 0, NULL, b, 8, MC_PG_FETCH, 0, &f, NULL) == MC_E_INVAL);
    CHECK(mc_lcpu_access(h, UINT64_MAX - 3, b, NULL, 8, 0, 0, &f, NULL) == MC_E_RANGE);
    CHECK(mc_lcpu_access(NULL, 0, b, NULL, 8, 0, 0, &f, NULL) == MC_E_INVAL);
    struct mc_xlat x;
    CHECK(mc_nested_walk(NULL, MC_NEST_NPT, 0, 0, 0, false, &x, &f, NULL) == MC_E_INVAL);
    CHECK(mc_nested_walk(mc_machine_memctl(m), MC_NEST_NONE, 0, 0, 0, false, &x, &f, NULL) == MC_E_INVAL);
    mc_lcpu_destroy(NULL);
    mc_lcpu_invlpg(NULL, 0);
    mc_lcpu_set_check(NULL, NULL, NULL);
    CHECK(mc_lcpu_tlb(NULL) == NULL);
    mc_machine_destroy(m);
}

int main(void)
{
    RUN(test_host_fault_contract);
    RUN(test_host_flush_rules);
    RUN(test_npt_fault_contract);
    RUN(test_npt_tlb);
    RUN(test_check_hook);
    RUN(test_bad_input);
    return check_summary();
}
