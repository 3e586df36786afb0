/* Machine: encrypted page tables walked through the memory controller, two machines in one
 * process, reset and cold boot (file-backed DRAM), TSME through mappings, address-width
 * faults, MSRs, bulk copy, TLB invalidation. */
#include <memcrypt/machine.h>
#include <unistd.h>

#include "check.h"

static struct mc_machine *mk(const char *plat, const char *seed, const char *file, int tsme)
{
    struct mc_machine_config c;
    mc_machine_config_init(&c);
    c.platform = plat;
    c.dram_size = 16u << 20;
    c.dram_file = file;
    if (seed) {
        c.seed = (const uint8_t *)seed;
        c.seed_len = strlen(seed);
    }
    c.bios.tsme = tsme;
    struct mc_machine *m = NULL;
    struct mc_error e;
    CHECK_MSG(mc_machine_create(&c, &m, &e) == MC_OK, "%s", e.msg);
    return m;
}

#define VA0 0x400000ull
#define DATA_PA 0x200000ull

/* Encrypted tables at 0x100000, 16 pages at VA0 -> DATA_PA (C=1), a 2 MiB page at 0x40000000
 * -> 0x600000 (C=1), a plaintext page at 0x800000 -> 0x500000, long mode on. */
static void setup_paging(struct mc_machine *m, bool enc_tables)
{
    struct mc_ptb b;
    uint64_t c = mc_machine_enc_bit(m);
    struct mc_error e;
    CHECK_MSG(mc_ptb_init(&b, m, 0x100000, 0x20000, enc_tables, &e) == MC_OK, "%s", e.msg);
    CHECK(mc_ptb_map(&b, VA0, DATA_PA | c, 16 * 4096, 4096, MC_PTE_W | MC_PTE_NX, &e) == MC_OK);
    CHECK(mc_ptb_map(&b, 0x40000000, 0x600000 | c, 2u << 20, 2u << 20, MC_PTE_W, &e) == MC_OK);
    CHECK(mc_ptb_map(&b, 0x800000, 0x500000, 4096, 4096, MC_PTE_W, &e) == MC_OK);
    CHECK(mc_machine_set_reg(m, MC_CREG_EFER, MC_EFER_LME | MC_EFER_NXE, NULL, &e) == MC_OK);
    CHECK(mc_machine_set_reg(m, MC_CREG_CR4, MC_CR4_PAE, NULL, &e) == MC_OK);
    CHECK(mc_machine_set_reg(m, MC_CREG_CR3, mc_ptb_cr3(&b), NULL, &e) == MC_OK);
    CHECK(mc_machine_set_reg(m, MC_CREG_CR0, 1 | MC_CR0_PG | MC_CR0_WP, NULL, &e) == MC_OK);
}

static void test_virtual_access_encrypted_tables(void)
{
    struct mc_machine *m = mk("rome", "m1", NULL, -1);
    setup_paging(m, true);
    const char msg[] = "encrypted page tables, encrypted data";
    struct mc_fault f;
    struct mc_error e;
    CHECK_MSG(mc_machine_store(m, VA0 + 4090, msg, sizeof msg, false, &f, &e) == MC_OK, "%s", e.msg);
    char back[sizeof msg];
    CHECK(mc_machine_load(m, VA0 + 4090, back, sizeof back, false, &f, &e) == MC_OK);
    CHECK(!memcmp(back, msg, sizeof msg));
    CHECK(mc_machine_wbinvd(m, NULL) == MC_OK);
    /* DRAM raw: the data and the PML4 are ciphertext. */
    uint8_t raw[64];
    CHECK(mc_dram_read(mc_machine_dram(m), DATA_PA + 4090, raw, sizeof msg, NULL) == MC_OK);
    CHECK(memcmp(raw, msg, sizeof msg) != 0);
    uint8_t pml4[8], plain[8];
    CHECK(mc_dram_read(mc_machine_dram(m), 0x100000, pml4, 8, NULL) == MC_OK);
    CHECK(mc_machine_phys_read(m, 0x100000 | (1ull << 47), plain, 8, NULL, NULL) == MC_OK);
    CHECK((plain[0] & 1) && memcmp(pml4, plain, 8) != 0);
    /* The 2 MiB page. */
    CHECK(mc_machine_store(m, 0x40000000 + 0x1FFFF0, msg, 8, false, &f, &e) == MC_OK);
    CHECK(mc_machine_phys_read(m, (1ull << 47) | (0x600000 + 0x1FFFF0), back, 8, NULL, NULL) == MC_OK);
    CHECK(!memcmp(back, msg, 8));
    /* Fetch from the NX mapping: #PF with P|ID. */
    CHECK(mc_machine_fetch(m, VA0, back, 4, false, &f, &e) == MC_E_FAULT);
    CHECK(f.kind == MC_FAULT_PF && f.error_code == (MC_PF_P | MC_PF_ID) && f.addr == VA0);
    /* User access to a supervisor mapping. */
    CHECK(mc_machine_load(m, VA0, back, 4, true, &f, &e) == MC_E_FAULT && f.error_code == (MC_PF_P | MC_PF_U));
    /* Unmapped. */
    CHECK(mc_machine_load(m, 0x7000000, back, 4, false, &f, &e) == MC_E_FAULT && f.error_code == 0);
    /* The plaintext mapping (C=0) shows the ciphertext of an encrypted page's frame only if it maps it. */
    CHECK(mc_machine_store(m, 0x800000, msg, 8, false, &f, &e) == MC_OK);
    CHECK(mc_machine_wbinvd(m, NULL) == MC_OK);
    CHECK(mc_dram_read(mc_machine_dram(m), 0x500000, raw, 8, NULL) == MC_OK);
    CHECK(!memcmp(raw, msg, 8));
    mc_machine_destroy(m);
}

static void test_tables_without_cbit_read_ciphertext(void)
{
    /* CR3 without the C-bit while the tables are stored encrypted: the walker reads ciphertext
     * and faults (or translates to garbage) — never silently works. */
    struct mc_machine *m = mk("rome", "m2", NULL, -1);
    setup_paging(m, true);
    struct mc_error e;
    struct mc_fault f;
    CHECK(mc_machine_set_reg(m, MC_CREG_CR3, 0x100000, &f, &e) == MC_OK);
    char b[8];
    mc_status st = mc_machine_load(m, VA0, b, 8, false, &f, &e);
    CHECK(st == MC_E_FAULT || st == MC_E_RANGE);
    mc_machine_destroy(m);
}

static void test_address_width_faults(void)
{
    struct mc_machine *m = mk("rome", "m3", NULL, -1);
    setup_paging(m, false);
    struct mc_fault f;
    struct mc_error e;
    struct mc_ptb b = {m, 0x140000, 0x10000, 0x140000, 0, false};
    CHECK(mc_ptb_init(&b, m, 0x140000, 0x10000, false, &e) == MC_OK);
    /* A PTE pointing at reduced bit 43: #PF with RSVD. */
    CHECK(mc_ptb_map(&b, 0x10000000, 1ull << 43, 4096, 4096, MC_PTE_W, &e) == MC_OK);
    CHECK(mc_machine_set_reg(m, MC_CREG_CR3, mc_ptb_cr3(&b), &f, &e) == MC_OK);
    char x[4];
    CHECK(mc_machine_load(m, 0x10000000, x, 4, false, &f, &e) == MC_E_FAULT);
    CHECK(f.kind == MC_FAULT_PF && f.error_code == (MC_PF_P | MC_PF_RSVD));
    /* CR3 beyond the width: #GP. Physical accesses too. */
    CHECK(mc_machine_set_reg(m, MC_CREG_CR3, 1ull << 44, &f, &e) == MC_E_FAULT && f.kind == MC_FAULT_GP);
    CHECK(mc_machine_phys_read(m, 1ull << 45, x, 4, &f, &e) == MC_E_FAULT && f.kind == MC_FAULT_GP);
    /* Inside the width but beyond DRAM: a range error, not a fault. */
    CHECK(mc_machine_phys_read(m, 1ull << 40, x, 4, &f, &e) == MC_E_RANGE);
    mc_machine_destroy(m);
    /* Same PTE bit on a machine with SME off: bit 43 is a normal address bit (beyond DRAM). */
    struct mc_machine_config c;
    mc_machine_config_init(&c);
    c.platform = "rome";
    c.dram_size = 16u << 20;
    c.bios.sme = 0;
    CHECK(mc_machine_create(&c, &m, &e) == MC_OK);
    CHECK(mc_machine_enc_bit(m) == 0);
    CHECK(mc_machine_phys_read(m, 1ull << 43, x, 4, &f, &e) == MC_E_RANGE);
    mc_machine_destroy(m);
}

static void test_two_machines(void)
{
    struct mc_machine *a = mk("milan", "alpha", NULL, -1), *b = mk("milan", "beta", NULL, -1),
                      *a2 = mk("milan", "alpha", NULL, -1);
    const uint64_t c = 1ull << 51;
    const char msg[64] = "same plaintext, same address, different machines";
    uint8_t ra[64], rb[64], ra2[64], back[64];
    struct mc_machine *ms[3] = {a, b, a2};
    uint8_t *raws[3] = {ra, rb, ra2};
    for (int i = 0; i < 3; i++) {
        CHECK(mc_machine_phys_write(ms[i], c | 0x3000, msg, 64, NULL, NULL) == MC_OK);
        CHECK(mc_machine_wbinvd(ms[i], NULL) == MC_OK);
        CHECK(mc_dram_read(mc_machine_dram(ms[i]), 0x3000, raws[i], 64, NULL) == MC_OK);
        CHECK(mc_machine_phys_read(ms[i], c | 0x3000, back, 64, NULL, NULL) == MC_OK);
        CHECK(!memcmp(back, msg, 64));
    }
    CHECK(memcmp(ra, rb, 64) != 0);  /* different keys */
    CHECK(!memcmp(ra, ra2, 64));     /* same seed: deterministic */
    mc_machine_destroy(a);
    mc_machine_destroy(b);
    mc_machine_destroy(a2);
}

static void test_reset_and_cold_boot(void)
{
    char path[] = "/tmp/mc_coldboot_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    unlink(path);
    const uint64_t c = 1ull << 47;
    const char secret[64] = "the disk-encryption key lives in RAM";
    uint8_t raw1[64], raw2[64], back[64];

    struct mc_machine *m = mk("rome", "boot-1", path, -1);
    CHECK(mc_machine_phys_write(m, c | 0x9000, secret, 64, NULL, NULL) == MC_OK);
    CHECK(mc_machine_wbinvd(m, NULL) == MC_OK);
    CHECK(mc_dram_read(mc_machine_dram(m), 0x9000, raw1, 64, NULL) == MC_OK);
    /* Reset: same DRAM, new key -> garbage through C=1, unchanged ciphertext through C=0. */
    CHECK(mc_machine_reset(m, NULL) == MC_OK);
    CHECK(mc_machine_phys_read(m, c | 0x9000, back, 64, NULL, NULL) == MC_OK);
    CHECK(memcmp(back, secret, 64) != 0);
    CHECK(mc_machine_phys_read(m, 0x9000, back, 64, NULL, NULL) == MC_OK);
    CHECK(!memcmp(back, raw1, 64));
    mc_machine_destroy(m);

    /* Cold boot: a second machine on the same DRAM file sees the ciphertext, not the secret. */
    m = mk("rome", "boot-2", path, -1);
    CHECK(mc_dram_read(mc_machine_dram(m), 0x9000, raw2, 64, NULL) == MC_OK);
    CHECK(!memcmp(raw1, raw2, 64));
    CHECK(memcmp(raw2, secret, 64) != 0);
    CHECK(mc_machine_phys_read(m, c | 0x9000, back, 64, NULL, NULL) == MC_OK);
    CHECK(memcmp(back, secret, 64) != 0);
    mc_machine_destroy(m);
    unlink(path);
}

static void test_tsme(void)
{
    struct mc_machine *m = mk("milan", "tsme", NULL, 1);
    CHECK(memctl_get_platform(mc_machine_memctl(m))->mode == MEMCTL_MODE_TSME);
    const uint64_t c = 1ull << 51;
    const char msg[32] = "TSME: the C-bit does not matter";
    char back[32];
    CHECK(mc_machine_phys_write(m, 0x7000, msg, 32, NULL, NULL) == MC_OK);
    CHECK(mc_machine_phys_read(m, c | 0x7000, back, 32, NULL, NULL) == MC_OK);
    CHECK(!memcmp(back, msg, 32));
    CHECK(mc_machine_wbinvd(m, NULL) == MC_OK);
    uint8_t raw[32];
    CHECK(mc_dram_read(mc_machine_dram(m), 0x7000, raw, 32, NULL) == MC_OK);
    CHECK(memcmp(raw, msg, 32) != 0);
    uint64_t v;
    CHECK(mc_machine_rdmsr(m, MC_MSR_SYSCFG, &v, NULL, NULL) == MC_OK && (v & MC_SYSCFG_MEM_ENCRYPT_MOD_EN));
    /* SEV keys are unavailable under TSME. */
    mc_slot s;
    CHECK(mc_engine_slot_generate(mc_machine_engine(m), MC_CIPHER_AES128_XTS, &s, NULL) == MC_OK);
    CHECK(memctl_bind_asid(mc_machine_memctl(m), 1, s, NULL) == MC_E_UNSUPPORTED);
    mc_machine_destroy(m);
}

static mc_status my_rd(void *ctx, struct mc_machine *m, uint32_t msr, uint64_t *val, struct mc_fault *f,
                       struct mc_error *err)
{
    (void)m; (void)f; (void)err;
    if (msr != 0x1234)
        return MC_E_NOTFOUND;
    *val = *(uint64_t *)ctx;
    return MC_OK;
}

static void test_msrs(void)
{
    struct mc_machine *m = mk("milan", "msr", NULL, -1);
    uint64_t v;
    struct mc_fault f;
    struct mc_error e;
    CHECK(mc_machine_rdmsr(m, MC_MSR_SYSCFG, &v, &f, &e) == MC_OK && v == (0x740000 | MC_SYSCFG_MEM_ENCRYPT_MOD_EN));
    CHECK(mc_machine_rdmsr(m, MC_MSR_HWCR, &v, &f, &e) == MC_OK && (v & MC_HWCR_SMMLOCK));
    CHECK(mc_machine_wrmsr(m, MC_MSR_HWCR, 0, &f, &e) == MC_E_FAULT && f.kind == MC_FAULT_GP);
    CHECK(mc_machine_rdmsr(m, MC_MSR_SEV_STATUS, &v, &f, &e) == MC_OK && v == 0);
    CHECK(mc_machine_rdmsr(m, MC_MSR_VM_PAGE_FLUSH, &v, &f, &e) == MC_E_FAULT && f.vector == 13);
    CHECK(mc_machine_rdmsr(m, MC_MSR_TME_ACTIVATE, &v, &f, &e) == MC_E_FAULT);
    CHECK(mc_machine_rdmsr(m, 0xDEAD, &v, &f, &e) == MC_E_FAULT);
    CHECK(mc_machine_wrmsr(m, MC_MSR_SYSCFG, 0, &f, &e) == MC_E_FAULT);
    /* VM_PAGE_FLUSH: ASID 0 -> #GP; unmapped VA -> #GP; a mapped VA flushes that guest's lines. */
    setup_paging(m, true);
    CHECK(mc_machine_wrmsr(m, MC_MSR_VM_PAGE_FLUSH, VA0 | 0, &f, &e) == MC_E_FAULT);
    CHECK(mc_machine_wrmsr(m, MC_MSR_VM_PAGE_FLUSH, 0x7000000 | 1, &f, &e) == MC_E_FAULT);
    mc_slot s;
    CHECK(mc_engine_slot_generate(mc_machine_engine(m), MC_CIPHER_AES128_XTS, &s, NULL) == MC_OK);
    CHECK(memctl_bind_asid(mc_machine_memctl(m), 3, s, NULL) == MC_OK);
    uint8_t d[64], raw[64], z[64] = {0};
    memset(d, 0x5A, 64);
    struct memctl_access a = {.addr = DATA_PA, .size = 64, .kind = MEMCTL_ACC_WRITE, .req = MEMCTL_REQ_GUEST, .asid = 3,
                          .guest_c = true};
    CHECK(memctl_write(mc_machine_memctl(m), &a, d, NULL, NULL) == MC_OK);
    CHECK(mc_dram_read(mc_machine_dram(m), DATA_PA, raw, 64, NULL) == MC_OK && !memcmp(raw, z, 64));
    CHECK(mc_machine_wrmsr(m, MC_MSR_VM_PAGE_FLUSH, VA0 | 3, &f, &e) == MC_OK);
    CHECK(mc_dram_read(mc_machine_dram(m), DATA_PA, raw, 64, NULL) == MC_OK && memcmp(raw, z, 64) != 0);
    /* A store that would fault on its second page changes nothing. */
    uint8_t before[16], after[16], junk[8192];
    memset(junk, 0xEE, sizeof junk);
    CHECK(mc_machine_load(m, VA0 + 15 * 4096, before, 16, false, &f, &e) == MC_OK);
    CHECK(mc_machine_store(m, VA0 + 15 * 4096, junk, 8192, false, &f, &e) == MC_E_FAULT && f.addr == VA0 + 16 * 4096);
    CHECK(mc_machine_load(m, VA0 + 15 * 4096, after, 16, false, &f, &e) == MC_OK && !memcmp(before, after, 16));
    CHECK(mc_machine_load(m, UINT64_MAX - 3, after, 8, false, &f, &e) == MC_E_RANGE);
    /* Extra handler, chained. */
    uint64_t val = 77;
    struct mc_msr_handler h = {0x1000, 0x2000, my_rd, NULL, &val};
    CHECK(mc_machine_msr_register(m, &h, &e) == MC_OK);
    CHECK(mc_machine_rdmsr(m, 0x1234, &v, &f, &e) == MC_OK && v == 77);
    CHECK(mc_machine_rdmsr(m, 0x1235, &v, &f, &e) == MC_E_FAULT);
    CHECK(mc_machine_wrmsr(m, 0x1234, 1, &f, &e) == MC_E_FAULT);
    for (int i = 1; i < MC_MACHINE_MAX_MSR_HANDLERS; i++)
        CHECK(mc_machine_msr_register(m, &h, &e) == MC_OK);
    CHECK(mc_machine_msr_register(m, &h, &e) == MC_E_FULL); /* a full handler table */
    struct mc_msr_handler bad = {0x10, 0x5, my_rd, NULL, NULL};
    CHECK(mc_machine_msr_register(m, &bad, &e) == MC_E_INVAL);
    mc_machine_destroy(m);

    m = mk("icelake-sp", "intel", NULL, -1);
    CHECK(mc_machine_rdmsr(m, MC_MSR_TME_CAPABILITY, &v, &f, &e) == MC_OK && ((v >> 32) & 0xF) == 6);
    CHECK(mc_machine_rdmsr(m, MC_MSR_TME_ACTIVATE, &v, &f, &e) == MC_OK && (v & 3) == 3);
    CHECK(mc_machine_rdmsr(m, MC_MSR_TME_EXCLUDE_MASK, &v, &f, &e) == MC_OK && v == 0);
    CHECK(mc_machine_wrmsr(m, MC_MSR_TME_CAPABILITY, 0, &f, &e) == MC_E_FAULT);
    CHECK(mc_machine_rdmsr(m, MC_MSR_SYSCFG, &v, &f, &e) == MC_E_FAULT);
    struct mc_cpuid_regs r;
    mc_machine_cpuid(m, 7, 0, &r);
    CHECK((r.ecx >> 13) & 1);
    /* KeyID 0 data encrypted, KeyID 1 not programmed. */
    const char msg[16] = "mktme keyid 0";
    char back[16];
    CHECK(mc_machine_phys_write(m, 0x1000, msg, 16, NULL, NULL) == MC_OK);
    CHECK(mc_machine_phys_read(m, (1ull << 40) | 0x1000, back, 16, NULL, &e) == MC_E_STATE);
    mc_machine_destroy(m);
}

static void test_copy_and_invlpg(void)
{
    struct mc_machine *m = mk("genoa", "copy", NULL, -1);
    setup_paging(m, true);
    static uint8_t src[8 * 4096], back[8 * 4096];
    for (size_t i = 0; i < sizeof src; i++)
        src[i] = (uint8_t)(i * 13 + 1);
    struct mc_fault f;
    struct mc_error e;
    CHECK(mc_machine_store(m, VA0, src, sizeof src, false, &f, &e) == MC_OK);
    CHECK_MSG(mc_machine_copy(m, VA0 + 8 * 4096 + 100, VA0 + 0, 7 * 4096, &f, &e) == MC_OK, "%s", e.msg);
    CHECK(mc_machine_load(m, VA0 + 8 * 4096 + 100, back, 7 * 4096, false, &f, &e) == MC_OK);
    CHECK_MEM(back, src, 7 * 4096);
    CHECK(mc_machine_copy(m, 0x7000000, VA0, 4096, &f, &e) == MC_E_FAULT && f.addr == 0x7000000);
    /* TLB: remap VA0 to another frame; stale until INVLPG. */
    struct mc_xlat x;
    CHECK(mc_machine_translate(m, VA0, 0, &x, &f, &e) == MC_OK);
    uint64_t old = x.pa;
    struct mc_ptb b;
    CHECK(mc_ptb_init(&b, m, 0x180000, 0x10000, true, &e) == MC_OK);
    /* Patch the existing PTE through the walker-visible path: rewrite via a fresh mapping set. */
    uint64_t cr3;
    struct mc_paging_regs r;
    mc_machine_get_regs(m, &r);
    cr3 = r.cr3;
    CHECK(mc_ptb_map(&b, VA0, 0x300000 | mc_machine_enc_bit(m), 4096, 4096, MC_PTE_W, &e) == MC_OK);
    /* Point the live PML4 entry 0 at the new hierarchy's PDPT. */
    uint8_t ent[8];
    CHECK(mc_machine_phys_read(m, mc_ptb_cr3(&b), ent, 8, NULL, NULL) == MC_OK);
    CHECK(mc_machine_phys_write(m, cr3, ent, 8, NULL, NULL) == MC_OK);
    CHECK(mc_machine_translate(m, VA0, 0, &x, &f, &e) == MC_OK && x.pa == old);
    mc_machine_invlpg(m, VA0);
    CHECK(mc_machine_translate(m, VA0, 0, &x, &f, &e) == MC_OK && x.pa == (0x300000 | mc_machine_enc_bit(m)));
    /* CR3 reload flushes the rest. */
    CHECK(mc_machine_translate(m, VA0 + 4096, 0, &x, &f, &e) == MC_OK);
    CHECK(mc_machine_set_reg(m, MC_CREG_CR3, cr3, &f, &e) == MC_OK);
    CHECK(mc_machine_translate(m, VA0 + 4096, 0, &x, &f, &e) == MC_E_FAULT);
    mc_machine_destroy(m);
}

static void test_bad_config(void)
{
    struct mc_machine_config c;
    mc_machine_config_init(&c);
    struct mc_machine *m = (struct mc_machine *)&c;
    struct mc_error e;
    CHECK(mc_machine_create(&c, &m, &e) == MC_E_INVAL && m == NULL);
    c.platform = "pentium";
    CHECK(mc_machine_create(&c, &m, &e) == MC_E_NOTFOUND && strstr(e.msg, "pentium"));
    c.platform = "rome";
    c.dram_size = 12345;
    CHECK(mc_machine_create(&c, &m, &e) != MC_OK && m == NULL);
    c.dram_size = 1ull << 44; /* beyond 43 usable bits */
    CHECK(mc_machine_create(&c, &m, &e) == MC_E_RANGE);
    c.dram_size = 1 << 20;
    c.bios.tme = 1;
    CHECK(mc_machine_create(&c, &m, &e) == MC_E_UNSUPPORTED);
    CHECK(mc_machine_create(NULL, &m, &e) == MC_E_INVAL);
    mc_machine_destroy(NULL);
    struct mc_ptb b;
    c.bios.tme = -1;
    c.platform = "icelake-sp";
    CHECK(mc_machine_create(&c, &m, &e) == MC_OK);
    CHECK(mc_ptb_init(&b, m, 0x1000, 0x4000, true, &e) == MC_E_UNSUPPORTED);
    CHECK(mc_ptb_init(&b, m, 0x1001, 0x4000, false, &e) == MC_E_ALIGN);
    CHECK(mc_ptb_init(&b, m, 0x1000, 0x2000, false, &e) == MC_OK);
    CHECK(mc_ptb_map(&b, 0x1000, 0x2000, 4096, 4096, 0, &e) == MC_E_FULL); /* needs 3 more tables */
    CHECK(mc_ptb_map(&b, 0x1000, 0x2000, 4096, 8192, 0, &e) == MC_E_INVAL);
    /* Areas outside DRAM (1 MiB here) or wrapping are refused and leave the builder unchanged. */
    struct mc_ptb keep = b;
    CHECK(mc_ptb_init(&b, m, 0xFE000, 0x4000, false, &e) == MC_E_RANGE);
    CHECK(mc_ptb_init(&b, m, ~0ull - 0xFFF, 0x2000, false, &e) == MC_E_RANGE);
    CHECK(!memcmp(&b, &keep, sizeof b));
    CHECK(mc_machine_set_reg(m, MC_CREG_CR0, MC_CR0_PG, NULL, &e) == MC_E_FAULT);
    mc_machine_destroy(m);
}

/* A two-page store whose second page maps beyond DRAM fails without touching the first page,
 * as one whose second page is not present does. */
static void test_no_partial_store(void)
{
    struct mc_machine *m = mk("milan", "m9", NULL, -1);
    struct mc_error e;
    struct mc_fault f;
    struct mc_ptb b;
    CHECK(mc_ptb_init(&b, m, 0x100000, 0x10000, false, &e) == MC_OK);
    const uint64_t last = (16u << 20) - 4096; /* last DRAM page */
    CHECK(mc_ptb_map(&b, 0x10000000, last, 4096, 4096, MC_PTE_W, &e) == MC_OK);
    CHECK(mc_ptb_map(&b, 0x10001000, 16u << 20, 4096, 4096, MC_PTE_W, &e) == MC_OK); /* beyond DRAM */
    CHECK(mc_machine_set_reg(m, MC_CREG_CR4, MC_CR4_PAE, NULL, &e) == MC_OK);
    CHECK(mc_machine_set_reg(m, MC_CREG_EFER, MC_EFER_LME, NULL, &e) == MC_OK);
    CHECK(mc_machine_set_reg(m, MC_CREG_CR3, mc_ptb_cr3(&b), NULL, &e) == MC_OK);
    CHECK(mc_machine_set_reg(m, MC_CREG_CR0, 1 | MC_CR0_PG, NULL, &e) == MC_OK);
    uint8_t buf[8192], back[4096], before[4096];
    memset(buf, 0xAB, sizeof buf);
    CHECK(mc_machine_load(m, 0x10000000, before, 4096, false, &f, &e) == MC_OK);
    CHECK(mc_machine_store(m, 0x10000800, buf, 4096, false, &f, &e) == MC_E_RANGE);
    CHECK(mc_machine_load(m, 0x10000000, back, 4096, false, &f, &e) == MC_OK);
    CHECK(!memcmp(back, before, 4096));
    CHECK(mc_machine_load(m, 0x10000800, buf, 4096, false, &f, &e) == MC_E_RANGE);
    CHECK(mc_machine_store(m, 0x10000000, buf, 4096, false, &f, &e) == MC_OK); /* the first page alone is fine */
    mc_machine_destroy(m);
}

int main(void)
{
    RUN(test_virtual_access_encrypted_tables);
    RUN(test_tables_without_cbit_read_ciphertext);
    RUN(test_address_width_faults);
    RUN(test_two_machines);
    RUN(test_reset_and_cold_boot);
    RUN(test_tsme);
    RUN(test_msrs);
    RUN(test_copy_and_invlpg);
    RUN(test_bad_config);
    RUN(test_no_partial_store);
    return check_summary();
}
