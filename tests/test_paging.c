/* Page walker and TLB over an in-memory table store: every #PF error-code bit, reserved bits
 * (reduced MAXPHYADDR, NX without NXE, PS at PML4, large-page alignment bits), large pages,
 * A/D bits, C-bit carried per level, TLB invalidation, and a nested-style fetch fault. */
#include <memcrypt/paging.h>

#include "check.h"

#define MEM (4u << 20)
#define CB (1ull << 47)

struct fake {
    uint8_t mem[MEM];
    uint64_t last_addrs[8];
    unsigned nreads;
    int fail_at; /* -1: never; else the read index that reports a nested fault */
};

static mc_status f_read(void *ctx, uint64_t addr, uint64_t *val, struct mc_fault *f, struct mc_error *err)
{
    struct fake *k = ctx;
    if (k->fail_at >= 0 && (int)k->nreads == k->fail_at) {
        f->kind = MC_FAULT_NPF;
        f->error_code = MC_NPF_TABLE | 1;
        f->addr = addr;
        return mc_seterr(err, MC_E_FAULT, "nested fault");
    }
    k->last_addrs[k->nreads++ & 7] = addr;
    uint64_t a = addr & ~CB;
    if (a + 8 > MEM)
        return mc_seterr(err, MC_E_RANGE, "outside");
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | k->mem[a + (uint64_t)i];
    *val = v;
    return MC_OK;
}

static mc_status f_write(void *ctx, uint64_t addr, uint64_t val, struct mc_fault *f, struct mc_error *err)
{
    (void)f;
    struct fake *k = ctx;
    uint64_t a = addr & ~CB;
    if (a + 8 > MEM)
        return mc_seterr(err, MC_E_RANGE, "outside");
    for (int i = 0; i < 8; i++)
        k->mem[a + (uint64_t)i] = (uint8_t)(val >> (8 * i));
    return MC_OK;
}

static void put(struct fake *k, uint64_t a, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        k->mem[a + (uint64_t)i] = (uint8_t)(v >> (8 * i));
}
static uint64_t get(struct fake *k, uint64_t a)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | k->mem[a + (uint64_t)i];
    return v;
}

static struct fake *K;
static const struct mc_paging_mode MODE = {43, 47}; /* Rome: reduction 5, C-bit 47 */
#define PML4 0x1000ull
#define PDPT 0x2000ull
#define PD 0x3000ull
#define PT 0x4000ull
#define RWU (MC_PTE_P | MC_PTE_W | MC_PTE_U)

/* va 0x0000_0040_0020_3000: PML4[0] -> PDPT[1] -> PD[1] -> PT[3] -> page 0x100000 */
#define VA 0x40203000ull
static void build(void)
{
    memset(K->mem, 0, MEM);
    K->fail_at = -1;
    K->nreads = 0;
    put(K, PML4 + 0 * 8, PDPT | RWU | CB);
    put(K, PDPT + 1 * 8, PD | RWU);
    put(K, PD + 1 * 8, PT | RWU | CB);
    put(K, PT + 3 * 8, 0x100000 | RWU | CB);
}

static struct mc_paging_regs regs(void)
{
    return (struct mc_paging_regs){1 | MC_CR0_PG | MC_CR0_WP, PML4 | CB, MC_CR4_PAE, MC_EFER_LME | MC_EFER_NXE};
}

static mc_status walk(uint64_t va, unsigned acc, struct mc_xlat *x, struct mc_fault *f, struct mc_paging_regs r)
{
    struct mc_pt_io io = {f_read, f_write, K};
    return mc_walk(&MODE, &io, &r, va, acc, x, f, NULL);
}

static void test_basic_and_cbit_per_level(void)
{
    build();
    struct mc_xlat x;
    struct mc_fault f;
    CHECK(walk(VA + 0x123, 0, &x, &f, regs()) == MC_OK);
    CHECK_EQ_U64(x.pa, CB | 0x100123);
    CHECK_EQ_U64(x.page_size, 4096);
    /* Entry fetches carry the C-bit of the pointer they came from. */
    CHECK_EQ_U64(K->last_addrs[0], CB | (PML4 + 0));   /* CR3 C=1 */
    CHECK_EQ_U64(K->last_addrs[1], CB | (PDPT + 8));   /* PML4E C=1 */
    CHECK_EQ_U64(K->last_addrs[2], PD + 8);            /* PDPTE C=0 */
    CHECK_EQ_U64(K->last_addrs[3], CB | (PT + 24));    /* PDE C=1 */
    /* Accessed bits set on success, dirty only on writes. */
    CHECK(get(K, PT + 24) & MC_PTE_A);
    CHECK(!(get(K, PT + 24) & MC_PTE_D));
    CHECK(walk(VA, MC_PG_WRITE, &x, &f, regs()) == MC_OK);
    CHECK(get(K, PT + 24) & MC_PTE_D);
    CHECK(!(get(K, PD + 8) & MC_PTE_D));
}

static void expect_pf(uint64_t va, unsigned acc, struct mc_paging_regs r, uint64_t code, const char *what)
{
    struct mc_xlat x;
    struct mc_fault f = {0};
    mc_status st = walk(va, acc, &x, &f, r);
    CHECK_MSG(st == MC_E_FAULT && f.kind == MC_FAULT_PF && f.vector == 14 && f.addr == va && f.error_code == code,
              "%s: st %d kind %d code 0x%llx want 0x%llx", what, st, f.kind, (unsigned long long)f.error_code,
              (unsigned long long)code);
}

static void test_error_code_bits(void)
{
    build();
    struct mc_paging_regs r = regs();
    /* Not present: P=0, with W/U/ID describing the access. */
    expect_pf(0x7000000000ull, 0, r, 0, "not present read");
    expect_pf(0x7000000000ull, MC_PG_WRITE, r, MC_PF_W, "not present write");
    expect_pf(0x7000000000ull, MC_PG_USER, r, MC_PF_U, "not present user");
    expect_pf(0x7000000000ull, MC_PG_FETCH | MC_PG_USER, r, MC_PF_U | MC_PF_ID, "not present user fetch");
    /* Read-only page: supervisor write faults with CR0.WP=1 only. */
    put(K, PT + 24, 0x100000 | MC_PTE_P | MC_PTE_U | CB);
    expect_pf(VA, MC_PG_WRITE, r, MC_PF_P | MC_PF_W, "supervisor write to RO (WP=1)");
    expect_pf(VA, MC_PG_WRITE | MC_PG_USER, r, MC_PF_P | MC_PF_W | MC_PF_U, "user write to RO");
    struct mc_paging_regs nowp = r;
    nowp.cr0 &= ~MC_CR0_WP;
    struct mc_xlat x;
    struct mc_fault f;
    CHECK(walk(VA, MC_PG_WRITE, &x, &f, nowp) == MC_OK);
    /* Supervisor page: user access faults. */
    build();
    put(K, PD + 8, PT | MC_PTE_P | MC_PTE_W | CB);
    expect_pf(VA, MC_PG_USER, r, MC_PF_P | MC_PF_U, "user read of supervisor page");
    CHECK(walk(VA, 0, &x, &f, r) == MC_OK);
    /* NX with NXE: fetch faults with ID; without NXE the NX bit is reserved. */
    build();
    put(K, PDPT + 8, PD | RWU | MC_PTE_NX);
    expect_pf(VA, MC_PG_FETCH, r, MC_PF_P | MC_PF_ID, "fetch from NX");
    CHECK(walk(VA, 0, &x, &f, r) == MC_OK && x.nx);
    struct mc_paging_regs nonxe = r;
    nonxe.efer &= ~MC_EFER_NXE;
    expect_pf(VA, 0, nonxe, MC_PF_P | MC_PF_RSVD, "NX bit reserved without NXE");
    expect_pf(VA, MC_PG_FETCH, nonxe, MC_PF_P | MC_PF_RSVD, "fetch without NXE: no ID bit");
    /* SMEP: supervisor fetch from a user page. */
    build();
    struct mc_paging_regs smep = r;
    smep.cr4 |= MC_CR4_SMEP;
    expect_pf(VA, MC_PG_FETCH, smep, MC_PF_P | MC_PF_ID, "SMEP");
    CHECK(walk(VA, MC_PG_FETCH | MC_PG_USER, &x, &f, smep) == MC_OK);
}

static void test_reserved_bits(void)
{
    struct mc_paging_regs r = regs();
    const uint64_t rsvd = MC_PF_P | MC_PF_RSVD;
    /* Reduced MAXPHYADDR: bits 46:43 reserved at every level; bit 47 (C) is not. */
    for (unsigned bit = 43; bit <= 51; bit++) {
        if (bit == 47)
            continue;
        build();
        put(K, PT + 24, 0x100000 | RWU | (1ull << bit));
        expect_pf(VA, 0, r, rsvd, "reserved address bit in PTE");
        build();
        put(K, PML4, PDPT | RWU | (1ull << bit));
        expect_pf(VA, MC_PG_WRITE, r, rsvd | MC_PF_W, "reserved address bit in PML4E");
    }
    /* PS at PML4 is reserved. */
    build();
    put(K, PML4, PDPT | RWU | MC_PTE_PS);
    expect_pf(VA, 0, r, rsvd, "PS in PML4E");
    /* 2 MiB page with bits 20:13 set; 1 GiB page with bits 29:13 set. */
    build();
    put(K, PD + 8, 0x200000 | RWU | MC_PTE_PS | (1ull << 13));
    expect_pf(VA, 0, r, rsvd, "2M misaligned");
    build();
    put(K, PDPT + 8, 0x40000000 | RWU | MC_PTE_PS | (1ull << 21));
    expect_pf(VA, 0, r, rsvd, "1G misaligned");
    /* Not-present entries are not checked for reserved bits. */
    build();
    put(K, PT + 24, (1ull << 45));
    expect_pf(VA, 0, r, 0, "not present with junk");
}

static void test_large_pages(void)
{
    struct mc_paging_regs r = regs();
    struct mc_xlat x;
    struct mc_fault f;
    build();
    put(K, PD + 8, 0x600000 | RWU | MC_PTE_PS | CB | MC_PTE_G);
    CHECK(walk(VA + 0x45, 0, &x, &f, r) == MC_OK);
    CHECK_EQ_U64(x.page_size, 2u << 20);
    CHECK_EQ_U64(x.pa, CB | (0x600000 + (VA & 0x1FFFFF) + 0x45));
    CHECK(x.global);
    build();
    put(K, PDPT + 8, (3ull << 30) | RWU | MC_PTE_PS);
    CHECK(walk(VA, MC_PG_WRITE, &x, &f, r) == MC_OK);
    CHECK_EQ_U64(x.page_size, 1ull << 30);
    CHECK_EQ_U64(x.pa, (3ull << 30) + (VA & ((1u << 30) - 1)));
    CHECK(get(K, PDPT + 8) & MC_PTE_D);
}

static void test_noncanonical_and_nested(void)
{
    build();
    struct mc_xlat x;
    struct mc_fault f;
    CHECK(walk(0x0000800000000000ull, 0, &x, &f, regs()) == MC_E_FAULT && f.kind == MC_FAULT_GP);
    CHECK(walk(0xFFFF800000000000ull, 0, &x, &f, regs()) == MC_E_FAULT && f.kind == MC_FAULT_PF);
    K->fail_at = 2;
    K->nreads = 0;
    CHECK(walk(VA, 0, &x, &f, regs()) == MC_E_FAULT && f.kind == MC_FAULT_NPF && f.addr == PD + 8);
    K->fail_at = -1;
    struct mc_paging_regs off = {0, 0, 0, 0};
    CHECK(walk(0x1234, MC_PG_WRITE, &x, &f, off) == MC_OK && x.pa == 0x1234);
    struct mc_paging_mode bad = {43, 40};
    struct mc_pt_io io = {f_read, f_write, K};
    struct mc_paging_regs r = regs();
    CHECK(mc_walk(&bad, &io, &r, VA, 0, &x, &f, NULL) == MC_E_INVAL);
    CHECK(mc_walk(&MODE, &io, &r, VA, MC_PG_WRITE | MC_PG_FETCH, &x, &f, NULL) == MC_E_INVAL);
}

static void test_tlb(void)
{
    build();
    struct mc_tlb *t;
    CHECK(mc_tlb_create(1024, &t, NULL) == MC_OK);
    struct mc_pt_io io = {f_read, f_write, K};
    struct mc_paging_regs r = regs();
    r.cr4 |= MC_CR4_PGE;
    struct mc_xlat x;
    struct mc_fault f;
    CHECK(mc_translate(t, 0, &MODE, &io, &r, VA, 0, &x, &f, NULL) == MC_OK);
    unsigned reads = K->nreads;
    CHECK(mc_translate(t, 0, &MODE, &io, &r, VA + 8, 0, &x, &f, NULL) == MC_OK && x.pa == (CB | 0x100008));
    CHECK_EQ_U64(K->nreads, reads); /* hit: no table reads */
    /* Remap the page in memory: the TLB still has the old translation until INVLPG. */
    put(K, PT + 24, 0x180000 | RWU | MC_PTE_A);
    CHECK(mc_translate(t, 0, &MODE, &io, &r, VA, 0, &x, &f, NULL) == MC_OK && x.pa == (CB | 0x100000));
    mc_tlb_invlpg(t, 0, VA + 0x10);
    CHECK(mc_translate(t, 0, &MODE, &io, &r, VA, 0, &x, &f, NULL) == MC_OK && x.pa == 0x180000);
    /* Another tag does not see it. */
    CHECK(!mc_tlb_lookup(t, 7, VA, 0, &r, &x));
    /* Global 2 MiB mapping survives a CR3-style flush, a non-global one does not. */
    put(K, PD + 8, 0x600000 | RWU | MC_PTE_PS | MC_PTE_G | MC_PTE_A);
    mc_tlb_invlpg(t, 0, VA);
    CHECK(mc_translate(t, 0, &MODE, &io, &r, VA, 0, &x, &f, NULL) == MC_OK && x.page_size == (2u << 20));
    put(K, PD + 16, 0x800000 | RWU | MC_PTE_PS | MC_PTE_A);
    CHECK(mc_translate(t, 0, &MODE, &io, &r, VA + (2u << 20), 0, &x, &f, NULL) == MC_OK);
    mc_tlb_flush_nonglobal(t, 0, true);
    CHECK(mc_tlb_lookup(t, 0, VA, 0, &r, &x));
    CHECK(!mc_tlb_lookup(t, 0, VA + (2u << 20), 0, &r, &x));
    /* INVLPG anywhere inside the large page drops it. */
    mc_tlb_invlpg(t, 0, VA + 0x10000);
    CHECK(!mc_tlb_lookup(t, 0, VA, 0, &r, &x));
    /* A write through a clean cached entry re-walks to set D. */
    build();
    CHECK(mc_translate(t, 0, &MODE, &io, &r, VA, 0, &x, &f, NULL) == MC_OK);
    CHECK(!(get(K, PT + 24) & MC_PTE_D));
    CHECK(mc_translate(t, 0, &MODE, &io, &r, VA, MC_PG_WRITE, &x, &f, NULL) == MC_OK);
    CHECK(get(K, PT + 24) & MC_PTE_D);
    /* Permission failure on a hit re-walks and reports the real fault. */
    CHECK(mc_translate(t, 0, &MODE, &io, &r, VA, MC_PG_FETCH | MC_PG_USER, &x, &f, NULL) == MC_OK);
    put(K, PT + 24, 0x100000 | MC_PTE_P | MC_PTE_A | CB);
    mc_tlb_flush_all(t);
    CHECK(mc_translate(t, 0, &MODE, &io, &r, VA, MC_PG_USER, &x, &f, NULL) == MC_E_FAULT &&
          f.error_code == (MC_PF_P | MC_PF_U));
    /* Paging-structure (PDE) cache: after a walk, another page of the same 2 MiB region is
     * translated from the cached PDE (one table read) until INVLPG / CR3 invalidates it. */
    mc_tlb_flush_all(t);
    build();
    put(K, PT + 32, 0x110000 | RWU | CB);
    put(K, 0x5000 + 32, 0x190000 | RWU | CB);
    CHECK(mc_translate(t, 0, &MODE, &io, &r, VA, 0, &x, &f, NULL) == MC_OK);
    put(K, PD + 8, 0x5000 | RWU | MC_PTE_A | CB); /* repoint the PDE without invalidating */
    K->nreads = 0;
    CHECK(mc_translate(t, 0, &MODE, &io, &r, VA + 0x1000, 0, &x, &f, NULL) == MC_OK && x.pa == (CB | 0x110000));
    CHECK_EQ_U64(K->nreads, 1);
    mc_tlb_invlpg(t, 0, VA + 0x1000);
    K->nreads = 0;
    CHECK(mc_translate(t, 0, &MODE, &io, &r, VA + 0x1000, 0, &x, &f, NULL) == MC_OK && x.pa == (CB | 0x190000));
    CHECK_EQ_U64(K->nreads, 4);
    /* A not-present PTE still faults through the cached PDE. */
    put(K, 0x5000 + 40, 0);
    CHECK(mc_translate(t, 0, &MODE, &io, &r, VA + 0x2000, MC_PG_WRITE, &x, &f, NULL) == MC_E_FAULT &&
          f.error_code == MC_PF_W);
    struct mc_tlb *t2 = NULL;
    CHECK(mc_tlb_create(100, &t2, NULL) == MC_E_INVAL && t2 == NULL);
    mc_tlb_destroy(t);
}

int main(void)
{
    K = calloc(1, sizeof *K);
    if (!K)
        return 1;
    RUN(test_basic_and_cbit_per_level);
    RUN(test_error_code_bits);
    RUN(test_reserved_bits);
    RUN(test_large_pages);
    RUN(test_noncanonical_and_nested);
    RUN(test_tlb);
    free(K);
    return check_summary();
}
