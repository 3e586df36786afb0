/* EPT with MKTME KeyIDs: the four-KeyID layout (VM1 KeyID 1, VM2 KeyID 2, shared KeyID 3,
 * hypervisor KeyID 0), a guest that cannot pick a KeyID, guest paging through EPT, EPT
 * violations and misconfigurations, pool exhaustion without state change, EPT vCPUs on the one
 * access path (fault contract, INVEPT, VPID tags). */
#include <memcrypt/board.h>
#include <memcrypt/bytes.h>
#include <memcrypt/dram.h>
#include <memcrypt/ept.h>
#include <memcrypt/lcpu.h>
#include <memcrypt/machine.h>
#include <memcrypt/pconfig.h>
#include <memcrypt/tme.h>

#include "check.h"
#include "crypto/crypto.h"

static const uint8_t SEED[] = "ept-test";

#define ADDR 0x000FFFFFFFFFF000ull

struct fx {
    struct mc_board *b;
    struct mc_machine *m; /* the board's */
    struct mc_tme *t;     /* the board's */
    struct mc_ept *vm1, *vm2;
};

static uint64_t program(struct fx *f, uint16_t keyid, uint8_t cmd, uint8_t salt)
{
    struct mc_mktme_key_program kp;
    memset(&kp, 0, sizeof kp);
    kp.keyid = keyid;
    kp.command = cmd;
    kp.alg = MC_MKTME_ALG_AES_XTS_128;
    for (int i = 0; i < 16; i++) {
        kp.key_field_1[i] = (uint8_t)(salt + i);
        kp.key_field_2[i] = (uint8_t)(salt * 3 + 101 + i);
    }
    uint8_t raw[MC_MKTME_KP_SIZE];
    mc_mktme_kp_encode(&kp, raw);
    CHECK(mc_machine_phys_write(f->m, 0xF000, raw, sizeof raw, NULL, NULL) == MC_OK);
    struct mc_pconfig_cpu cpu;
    memset(&cpu, 0, sizeof cpu);
    cpu.rbx = 0xF000;
    struct mc_tme_event ev;
    CHECK(mc_board_pconfig(f->b, &cpu, &ev, NULL) == MC_OK);
    return cpu.rax;
}

static void fx_open(struct fx *f)
{
    memset(f, 0, sizeof *f);
    struct mc_board_config cfg;
    CHECK(mc_board_config_init(&cfg, "icelake-sp", NULL) == MC_OK);
    cfg.machine.dram_size = 32u << 20;
    cfg.machine.seed = SEED;
    cfg.machine.seed_len = sizeof SEED;
    CHECK(mc_board_create(&cfg, &f->b, NULL) == MC_OK);
    f->m = mc_board_machine(f->b);
    f->t = mc_board_tme(f->b);
    CHECK(program(f, 1, MC_PCONFIG_KEYID_SET_KEY_DIRECT, 1) == 0);
    CHECK(program(f, 2, MC_PCONFIG_KEYID_SET_KEY_RANDOM, 2) == 0);
    CHECK(program(f, 3, MC_PCONFIG_KEYID_SET_KEY_DIRECT, 3) == 0);
    CHECK(mc_ept_create(f->m, f->t, 0x100000, 64, &f->vm1, NULL) == MC_OK);
    CHECK(mc_ept_create(f->m, f->t, 0x140000, 64, &f->vm2, NULL) == MC_OK);
    /* VM1: GPA 0..64K private (KeyID 1) at 4 MiB; VM2 the same at 8 MiB (KeyID 2);
     * both: GPA 0x100000 shared (KeyID 3) at 12 MiB. */
    for (uint64_t g = 0; g < 0x10000; g += 4096) {
        CHECK(mc_ept_map(f->vm1, g, 0x400000 + g, 1, MC_EPT_R | MC_EPT_W | MC_EPT_X, NULL) == MC_OK);
        CHECK(mc_ept_map(f->vm2, g, 0x800000 + g, 2, MC_EPT_R | MC_EPT_W | MC_EPT_X, NULL) == MC_OK);
    }
    CHECK(mc_ept_map(f->vm1, 0x100000, 0xC00000, 3, MC_EPT_R | MC_EPT_W, NULL) == MC_OK);
    CHECK(mc_ept_map(f->vm2, 0x100000, 0xC00000, 3, MC_EPT_R, NULL) == MC_OK);
}

static void fx_close(struct fx *f)
{
    mc_ept_destroy(f->vm1);
    mc_ept_destroy(f->vm2);
    mc_board_destroy(f->b);
}

static void test_four_keyids(void)
{
    struct fx f;
    fx_open(&f);
    struct mc_fault flt;
    const char secret[64] = "VM1 private: the quick brown fox";
    char back[64];
    CHECK(mc_ept_write(f.vm1, 0x3000, secret, 64, &flt, NULL) == MC_OK);
    CHECK(mc_ept_read(f.vm1, 0x3000, back, 64, &flt, NULL) == MC_OK);
    CHECK_MEM(back, secret, 64);
    uint64_t hpa;
    CHECK(mc_ept_translate(f.vm1, 0x3010, 0, &hpa, &flt, NULL) == MC_OK);
    CHECK_EQ_U64(hpa, 0x403010ull | (1ull << 40));
    CHECK(mc_machine_wbinvd(f.m, NULL) == MC_OK);
    /* The hypervisor through KeyID 0, VM2 through KeyID 2, DRAM: no plaintext anywhere. */
    CHECK(mc_machine_phys_read(f.m, 0x403000, back, 64, &flt, NULL) == MC_OK);
    CHECK(memcmp(back, secret, 64) != 0);
    uint64_t a2;
    CHECK(mc_tme_pa_compose(f.t, 0x403000, 2, &a2, NULL) == MC_OK);
    CHECK(mc_machine_phys_read(f.m, a2, back, 64, &flt, NULL) == MC_OK);
    CHECK(memcmp(back, secret, 64) != 0);
    CHECK(mc_dram_read(mc_machine_dram(f.m), 0x403000, back, 64, NULL) == MC_OK);
    CHECK(memcmp(back, secret, 64) != 0);
    /* The same GPA in VM2 is VM2's own memory. */
    CHECK(mc_ept_read(f.vm2, 0x3000, back, 64, &flt, NULL) == MC_OK);
    CHECK(memcmp(back, secret, 64) != 0);
    /* Shared KeyID 3: VM1 writes, VM2 reads the plaintext. */
    const char msg[32] = "hello VM2, from VM1 via KeyID 3";
    CHECK(mc_ept_write(f.vm1, 0x100000, msg, 32, &flt, NULL) == MC_OK);
    CHECK(mc_ept_read(f.vm2, 0x100000, back, 32, &flt, NULL) == MC_OK);
    CHECK_MEM(back, msg, 32);
    /* VM2's mapping is read-only: a write is an EPT violation with qualification W and R. */
    CHECK(mc_ept_write(f.vm2, 0x100000, msg, 8, &flt, NULL) == MC_E_FAULT);
    CHECK(flt.kind == MC_FAULT_NPF && flt.addr == 0x100000);
    CHECK_EQ_U64(flt.error_code, 2u | (1u << 3) | MC_NPF_FINAL);
    /* A GPA spelling "KeyID 1" in its high bits is just an unmapped GPA. */
    CHECK(mc_ept_read(f.vm2, 0x403000 | (1ull << 40), back, 8, &flt, NULL) == MC_E_FAULT);
    CHECK(flt.kind == MC_FAULT_NPF && (flt.error_code & 7) == 1 && (flt.error_code & MC_NPF_FINAL));
    /* Fetch from a non-executable mapping. */
    CHECK(mc_ept_translate(f.vm1, 0x100000, MC_PG_FETCH, &hpa, &flt, NULL) == MC_E_FAULT);
    CHECK_EQ_U64(flt.error_code, 4u | (3u << 3) | MC_NPF_FINAL);
    fx_close(&f);
}

/* Guest page tables live in guest memory (GPAs); the guest maps VA 0x40000000 -> GPA 0x5000.
 * A guest PTE that sets KeyID bits just names a GPA that EPT does not map. */
static void test_guest_paging(void)
{
    struct fx f;
    fx_open(&f);
    struct mc_fault flt;
    const uint64_t va = 0x40000000ull;
    uint8_t e[8];
    /* PML4 at GPA 0x1000, PDPT 0x2000, PD 0x6000, PT 0x7000. */
    mc_put_le64(e, 0x2000 | 3);
    CHECK(mc_ept_write(f.vm1, 0x1000 + ((va >> 39) & 511) * 8, e, 8, &flt, NULL) == MC_OK);
    mc_put_le64(e, 0x6000 | 3);
    CHECK(mc_ept_write(f.vm1, 0x2000 + ((va >> 30) & 511) * 8, e, 8, &flt, NULL) == MC_OK);
    mc_put_le64(e, 0x7000 | 3);
    CHECK(mc_ept_write(f.vm1, 0x6000 + ((va >> 21) & 511) * 8, e, 8, &flt, NULL) == MC_OK);
    mc_put_le64(e, 0x5000 | 3);
    CHECK(mc_ept_write(f.vm1, 0x7000 + ((va >> 12) & 511) * 8, e, 8, &flt, NULL) == MC_OK);
    mc_put_le64(e, (0x5000 | (2ull << 40)) | 3); /* "KeyID 2" in the guest PTE */
    CHECK(mc_ept_write(f.vm1, 0x7000 + (((va >> 12) + 1) & 511) * 8, e, 8, &flt, NULL) == MC_OK);
    struct mc_paging_regs g = {MC_CR0_PG | 1, 0x1000, MC_CR4_PAE, MC_EFER_LME};
    uint64_t gpa;
    CHECK(mc_ept_guest_translate(f.vm1, &g, va + 0x123, 0, &gpa, &flt, NULL) == MC_OK);
    CHECK_EQ_U64(gpa, 0x5123);
    uint64_t hpa;
    CHECK(mc_ept_translate(f.vm1, gpa, 0, &hpa, &flt, NULL) == MC_OK);
    CHECK_EQ_U64(hpa, 0x405123ull | (1ull << 40)); /* the KeyID comes from EPT */
    CHECK(mc_ept_guest_translate(f.vm1, &g, va + 0x1000, 0, &gpa, &flt, NULL) == MC_OK);
    CHECK_EQ_U64(gpa, 0x5000 | (2ull << 40));
    CHECK(mc_ept_translate(f.vm1, gpa, 0, &hpa, &flt, NULL) == MC_E_FAULT && flt.kind == MC_FAULT_NPF);
    /* A guest table page EPT does not map: the fault is tagged as a table-walk fault. */
    g.cr3 = 0x200000;
    CHECK(mc_ept_guest_translate(f.vm1, &g, va, 0, &gpa, &flt, NULL) == MC_E_FAULT);
    CHECK(flt.kind == MC_FAULT_NPF && (flt.error_code & MC_NPF_TABLE) && !(flt.error_code & MC_NPF_FINAL));
    fx_close(&f);
}

static void test_bad_input(void)
{
    struct fx f;
    fx_open(&f);
    struct mc_error e;
    struct mc_ept *x = NULL;
    CHECK(mc_ept_create(f.m, f.t, 0x100001, 4, &x, &e) == MC_E_ALIGN && !x);
    CHECK(mc_ept_create(f.m, f.t, 0x100000, 0, &x, &e) == MC_E_ALIGN);
    CHECK(mc_ept_create(f.m, f.t, 31u << 20, 4096, &x, &e) == MC_E_RANGE);
    CHECK(mc_ept_map(f.vm1, 0x1001, 0x400000, 1, MC_EPT_R, &e) == MC_E_RANGE);
    CHECK(mc_ept_map(f.vm1, 1ull << 48, 0x400000, 1, MC_EPT_R, &e) == MC_E_RANGE);
    CHECK(mc_ept_map(f.vm1, 0x1000, 0x400800, 1, MC_EPT_R, &e) == MC_E_ALIGN);
    CHECK(mc_ept_map(f.vm1, 0x1000, 0x400000, 64, MC_EPT_R, &e) == MC_E_RANGE); /* KeyID beyond 6 bits */
    CHECK(mc_ept_map(f.vm1, 0x1000, 1ull << 40, 1, MC_EPT_R, &e) == MC_E_RANGE);  /* in the KeyID bits */
    CHECK(mc_ept_map(f.vm1, 0x1000, 64u << 20, 1, MC_EPT_R, &e) == MC_E_RANGE);   /* outside DRAM */
    CHECK(mc_ept_map(f.vm1, 0x1000, 0x400000, 1, MC_EPT_W, &e) == MC_E_INVAL);    /* W without R */
    CHECK(mc_ept_map(f.vm1, 0x1000, 0x400000, 1, 0, &e) == MC_E_INVAL);
    CHECK(mc_ept_map(f.vm1, 0x1000, 0x400000, 1, 8, &e) == MC_E_INVAL);
    /* Misconfiguration: a PML4 entry with a bit at/above MAXPHYADDR (46). */
    uint64_t pml4 = mc_ept_eptp(f.vm2) & ~0xFFFull;
    uint8_t ent[8];
    CHECK(mc_machine_phys_read(f.m, pml4, ent, 8, NULL, NULL) == MC_OK);
    mc_put_le64(ent, mc_le64(ent) | (1ull << 47));
    CHECK(mc_machine_phys_write(f.m, pml4, ent, 8, NULL, NULL) == MC_OK);
    uint64_t hpa;
    struct mc_fault flt;
    CHECK(mc_ept_translate(f.vm2, 0x1000, 0, &hpa, &flt, NULL) == MC_E_FAULT);
    CHECK(flt.kind == MC_FAULT_NPF && (flt.error_code & MC_EPT_MISCONFIG));
    /* Pool exhaustion: a one-page pool holds only the PML4; mapping fails and changes nothing. */
    CHECK(mc_ept_create(f.m, f.t, 0x180000, 1, &x, NULL) == MC_OK);
    uint8_t before[4096], after[4096];
    CHECK(mc_machine_phys_read(f.m, 0x180000, before, 4096, NULL, NULL) == MC_OK);
    CHECK(mc_ept_map(x, 0x1000, 0x400000, 1, MC_EPT_R, &e) == MC_E_FULL);
    CHECK(mc_machine_phys_read(f.m, 0x180000, after, 4096, NULL, NULL) == MC_OK);
    CHECK_MEM(before, after, 4096);
    CHECK(mc_ept_translate(x, 0x1000, 0, &hpa, &flt, NULL) == MC_E_FAULT);
    /* Unmap: the page becomes a violation; unmapping nothing is fine. */
    CHECK(mc_ept_unmap(f.vm1, 0x3000, NULL) == MC_OK);
    CHECK(mc_ept_translate(f.vm1, 0x3000, 0, &hpa, &flt, NULL) == MC_E_FAULT && flt.kind == MC_FAULT_NPF);
    CHECK(mc_ept_unmap(f.vm1, 0x7000000, NULL) == MC_OK);
    mc_ept_destroy(x);
    fx_close(&f);
}

static uint64_t ld64(struct mc_machine *m, uint64_t pa)
{
    uint8_t b[8] = {0};
    CHECK(mc_machine_phys_read(m, pa, b, 8, NULL, NULL) == MC_OK);
    return mc_le64(b);
}

static void st64(struct mc_machine *m, uint64_t pa, uint64_t v)
{
    uint8_t b[8];
    mc_put_le64(b, v);
    CHECK(mc_machine_phys_write(m, pa, b, 8, NULL, NULL) == MC_OK);
}

/* Host address of the EPT leaf entry for gpa (tables under KeyID 0). */
static uint64_t ept_leaf(struct mc_machine *m, uint64_t eptp, uint64_t gpa)
{
    uint64_t t = eptp & ADDR;
    for (int l = 4; l > 1; l--)
        t = ld64(m, t + ((gpa >> (12 + 9 * (l - 1))) & 511) * 8) & ADDR;
    return t + ((gpa >> 12) & 511) * 8;
}

/* EPT vCPUs on the one access path (memcrypt/lcpu.h): a store across two pages whose second is
 * read-only in EPT is an EPT violation at the second GPA and leaves the first page unchanged; a
 * write hit on a page EPT made read-only faults; mc_ept_map remaps are never stale; a VMM's own
 * entry edit is stale until mc_ept_invept; entries are tagged with the VPID. */
static void test_vcpu_access_path(void)
{
    struct fx fxt;
    fx_open(&fxt);
    struct mc_machine *m = fxt.m;
    struct mc_ept *e = fxt.vm1;
    const uint64_t rwx = MC_EPT_R | MC_EPT_W | MC_EPT_X;
    /* The fixture maps GPA 0..64K -> HPA 0x400000.. (KeyID 1, RWX); GPA 0x9000 (data page 2)
     * becomes read-only. */
    CHECK(mc_ept_map(e, 0x9000, 0x409000, 1, MC_EPT_R, NULL) == MC_OK);
    /* Guest tables: PML4 0x1000, PDPT 0x2000, PD 0x3000, PT 0x4000; VA 0x40000000 -> GPA 0x8000,
     * VA +0x1000 -> GPA 0x9000. */
    const uint64_t va = 0x40000000ull;
    struct mc_fault f;
    uint8_t b[8];
    static const uint8_t zero[4096];
    for (uint64_t g = 0x1000; g <= 0x4000; g += 0x1000)
        CHECK(mc_ept_write(e, g, zero, sizeof zero, &f, NULL) == MC_OK);
    const uint64_t ents[][2] = {{0x1000 + ((va >> 39) & 511) * 8, 0x2000 | 3}, {0x2000 + ((va >> 30) & 511) * 8, 0x3000 | 3},
                                {0x3000 + ((va >> 21) & 511) * 8, 0x4000 | 3}, {0x4000 + ((va >> 12) & 511) * 8, 0x8000 | 3},
                                {0x4000 + (((va >> 12) + 1) & 511) * 8, 0x9000 | 3}};
    for (unsigned i = 0; i < 5; i++) {
        mc_put_le64(b, ents[i][1]);
        CHECK(mc_ept_write(e, ents[i][0], b, 8, &f, NULL) == MC_OK);
    }
    struct mc_lcpu *c = NULL;
    CHECK(mc_ept_add_vcpu(e, 5, &c, NULL) == MC_OK);
    struct mc_paging_regs r = {MC_CR0_PG | MC_CR0_WP | 1, 0x1000, MC_CR4_PAE, MC_EFER_LME};
    mc_lcpu_set_regs(c, &r);
    uint8_t data[16], back[16], before[16];
    memset(data, 0x77, sizeof data);
    CHECK(mc_lcpu_access(c, va + 0xFF8, before, NULL, 16, 0, 0, &f, NULL) == MC_OK);
    /* EPT violation on page 2 (read-only in EPT): qualification W with effective R, final GPA. */
    CHECK(mc_lcpu_access(c, va + 0xFF8, NULL, data, 16, 0, 0, &f, NULL) == MC_E_FAULT);
    CHECK(f.kind == MC_FAULT_NPF && f.addr == 0x9000);
    CHECK_EQ_U64(f.error_code, 2u | (MC_EPT_R << 3) | MC_NPF_FINAL);
    CHECK(mc_lcpu_access(c, va + 0xFF8, back, NULL, 16, 0, 0, &f, NULL) == MC_OK);
    CHECK_MEM(back, before, 16);
    /* A write after a read hit on a page EPT later made read-only (mc_ept_map does INVEPT). */
    CHECK(mc_lcpu_access(c, va, back, NULL, 8, 0, 0, &f, NULL) == MC_OK);
    CHECK(mc_ept_map(e, 0x8000, 0x408000, 1, MC_EPT_R, NULL) == MC_OK);
    CHECK(mc_lcpu_access(c, va, NULL, data, 8, 0, 0, &f, NULL) == MC_E_FAULT && f.addr == 0x8000);
    CHECK(mc_ept_map(e, 0x8000, 0x408000, 1, rwx, NULL) == MC_OK);
    /* Remap through mc_ept_map: never stale. */
    uint64_t v0 = 0x0123456789ABCDEFull, v1 = 0xFEDCBA9876543210ull, v;
    CHECK(mc_ept_write(e, 0x8000, &v0, 8, &f, NULL) == MC_OK);
    CHECK(mc_ept_write(e, 0x7000, &v1, 8, &f, NULL) == MC_OK);
    CHECK(mc_lcpu_access(c, va, &v, NULL, 8, 0, 0, &f, NULL) == MC_OK && v == v0);
    CHECK(mc_ept_map(e, 0x8000, 0x407000, 1, rwx, NULL) == MC_OK);
    CHECK(mc_lcpu_access(c, va, &v, NULL, 8, 0, 0, &f, NULL) == MC_OK && v == v1);
    /* A VMM writing the EPT leaf itself: stale until INVEPT. */
    uint64_t leaf = ept_leaf(m, mc_ept_eptp(e), 0x8000), le = ld64(m, leaf);
    st64(m, leaf, (le & ~ADDR) | (0x408000 | (le & ADDR & ~0xFFFFFFFull)));
    CHECK(mc_lcpu_access(c, va, &v, NULL, 8, 0, 0, &f, NULL) == MC_OK && v == v1);
    mc_ept_invept(e);
    CHECK(mc_lcpu_access(c, va, &v, NULL, 8, 0, 0, &f, NULL) == MC_OK && v == v0);
    /* VPID tags: under another VPID the entries do not match; back, they hit. */
    struct mc_tlb_stats t0, t1;
    mc_lcpu_set_asid(c, 9);
    mc_tlb_get_stats(mc_lcpu_tlb(c), &t0);
    CHECK(mc_lcpu_access(c, va, &v, NULL, 8, 0, 0, &f, NULL) == MC_OK && v == v0);
    mc_tlb_get_stats(mc_lcpu_tlb(c), &t1);
    CHECK(t1.misses > t0.misses);
    mc_lcpu_set_asid(c, 5);
    mc_tlb_get_stats(mc_lcpu_tlb(c), &t0);
    CHECK(mc_lcpu_access(c, va, &v, NULL, 8, 0, 0, &f, NULL) == MC_OK && v == v0);
    mc_tlb_get_stats(mc_lcpu_tlb(c), &t1);
    CHECK_MSG(t1.hits == t0.hits + 1 && t1.misses == t0.misses, "hits +%llu misses +%llu",
              (unsigned long long)(t1.hits - t0.hits), (unsigned long long)(t1.misses - t0.misses));
    fx_close(&fxt);
}

/* mc_ept_map_range writes each leaf table's share of a range in one run: the tables come out byte
 * for byte (plaintext and the ciphertext in DRAM) as the same pages mapped one mc_ept_map call
 * at a time, on two boards built alike; its checks change nothing (pool too small for the range,
 * a large mapping in the way, bad arguments); replacing present entries does INVEPT. */
static void test_map_range(void)
{
    struct fx a, b;
    fx_open(&a);
    fx_open(&b);
    const uint64_t pool = 0x180000, gpa = (2ull << 20) - 0x4000, len = (2ull << 20) + 0x9000, rwx = 7;
    struct mc_ept *ea = NULL, *eb = NULL;
    CHECK(mc_ept_create(a.m, a.t, pool, 16, &ea, NULL) == MC_OK);
    CHECK(mc_ept_create(b.m, b.t, pool, 16, &eb, NULL) == MC_OK);
    for (uint64_t o = 0; o < len; o += 4096)
        CHECK(mc_ept_map(ea, gpa + o, 0xC00000 + o, 3, rwx, NULL) == MC_OK);
    struct memctl_cache_stats c0, c1;
    memctl_cache_get_stats(mc_machine_memctl(b.m), &c0);
    CHECK(mc_ept_map_range(eb, gpa, 0xC00000, len, 3, rwx, NULL) == MC_OK);
    memctl_cache_get_stats(mc_machine_memctl(b.m), &c1);
    /* 3 leaf tables, each read and written once, plus the walks and two new tables: far fewer
     * controller requests than the 523 pages' worth of entry writes. */
    CHECK(c1.accesses - c0.accesses < 40);
    static uint8_t pa_[16 * 4096], pb[16 * 4096];
    CHECK(mc_machine_phys_read(a.m, pool, pa_, sizeof pa_, NULL, NULL) == MC_OK);
    CHECK(mc_machine_phys_read(b.m, pool, pb, sizeof pb, NULL, NULL) == MC_OK);
    CHECK_MEM(pa_, pb, sizeof pa_);
    CHECK(mc_board_wbinvd(a.b, NULL) == MC_OK && mc_board_wbinvd(b.b, NULL) == MC_OK);
    CHECK(mc_dram_read(mc_machine_dram(a.m), pool, pa_, sizeof pa_, NULL) == MC_OK);
    CHECK(mc_dram_read(mc_machine_dram(b.m), pool, pb, sizeof pb, NULL) == MC_OK);
    CHECK_MEM(pa_, pb, sizeof pa_);
    uint64_t hpa = 0;
    struct mc_fault flt;
    CHECK(mc_ept_translate(eb, gpa + len - 4096, 0, &hpa, &flt, NULL) == MC_OK);
    uint64_t want;
    CHECK(mc_tme_pa_compose(b.t, 0xC00000 + len - 4096, 3, &want, NULL) == MC_OK && hpa == want);
    /* A vCPU that cached a translation sees the range's replacement (INVEPT). */
    struct mc_lcpu *cpu;
    CHECK(mc_ept_add_vcpu(eb, 7, &cpu, NULL) == MC_OK);
    uint8_t x[8];
    CHECK(mc_lcpu_phys_access(cpu, gpa, true, x, NULL, 8, &flt, NULL) == MC_OK);
    CHECK(mc_ept_map_range(eb, gpa, 0xC00000, 0x2000, 3, MC_EPT_R, NULL) == MC_OK);
    CHECK(mc_lcpu_phys_access(cpu, gpa, true, NULL, x, 8, &flt, NULL) == MC_E_FAULT && flt.kind == MC_FAULT_NPF);
    /* Refusals change nothing: a range needing more tables than the pool has left (6 of 16 pages
     * used: PML4, PDPT, PD, 3 PTs; a new 1 GiB region of 24 MiB needs a PD and 12 PTs), W without R,
     * misaligned length, a host range leaving DRAM, a KeyID out of range, a GPA range past 2^48. */
    CHECK(mc_machine_phys_read(b.m, pool, pa_, sizeof pa_, NULL, NULL) == MC_OK);
    struct mc_error e;
    CHECK(mc_ept_map_range(eb, 1ull << 30, 0x400000, 24ull << 20, 1, rwx, &e) == MC_E_FULL);
    CHECK(mc_ept_map_range(eb, 0, 0x400000, 0x2000, 1, MC_EPT_W, &e) == MC_E_INVAL);
    CHECK(mc_ept_map_range(eb, 0, 0x400000, 0x1800, 1, rwx, &e) == MC_E_ALIGN);
    CHECK(mc_ept_map_range(eb, 0, 0x400000, 0, 1, rwx, &e) == MC_E_ALIGN);
    CHECK(mc_ept_map_range(eb, 0, (32u << 20) - 0x1000, 0x2000, 1, rwx, &e) == MC_E_RANGE);
    CHECK(mc_ept_map_range(eb, 0, 0x400000, 0x2000, 64, rwx, &e) == MC_E_RANGE);
    CHECK(mc_ept_map_range(eb, (1ull << 48) - 0x1000, 0x400000, 0x2000, 1, rwx, &e) == MC_E_RANGE);
    CHECK(mc_machine_phys_read(b.m, pool, pb, sizeof pb, NULL, NULL) == MC_OK);
    CHECK_MEM(pa_, pb, sizeof pa_);
    /* A 2 MiB leaf in the way (written by the VMM itself at GPA 6 MiB) refuses the whole range
     * up front: the pages before it stay unmapped. */
    uint64_t pdpt = ld64(b.m, (mc_ept_eptp(eb) & ADDR)) & ADDR, pd = ld64(b.m, pdpt) & ADDR;
    st64(b.m, pd + 3 * 8, 0x600000 | rwx | MC_EPT_PS | (6u << 3));
    CHECK(mc_machine_phys_read(b.m, pool, pa_, sizeof pa_, NULL, NULL) == MC_OK);
    CHECK(mc_ept_map_range(eb, 5ull << 20, 0x400000, 2ull << 20, 1, rwx, &e) == MC_E_STATE);
    CHECK(mc_machine_phys_read(b.m, pool, pb, sizeof pb, NULL, NULL) == MC_OK);
    CHECK_MEM(pa_, pb, sizeof pa_);
    CHECK(mc_ept_translate(eb, 5ull << 20, 0, &hpa, &flt, NULL) == MC_E_FAULT);
    mc_ept_destroy(ea);
    mc_ept_destroy(eb);
    fx_close(&a);
    fx_close(&b);
}

static void test_null_handles(void)
{
    CHECK(mc_ept_eptp(NULL) == 0);
    mc_ept_destroy(NULL);
    uint8_t raw[MC_MKTME_KP_SIZE];
    memset(raw, 0xEE, sizeof raw);
    mc_mktme_kp_encode(NULL, raw); /* no structure: all zero */
    uint8_t zero[MC_MKTME_KP_SIZE] = {0};
    CHECK(!memcmp(raw, zero, sizeof raw));
    struct mc_mktme_key_program kp = {0};
    mc_mktme_kp_encode(&kp, NULL);
}

int main(void)
{
    RUN(test_four_keyids);
    RUN(test_guest_paging);
    RUN(test_bad_input);
    RUN(test_vcpu_access_path);
    RUN(test_map_range);
    RUN(test_null_handles);
    return check_summary();
}
