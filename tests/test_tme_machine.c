/* TME/MKTME wired into a machine: MSRs through the machine's dispatch, PCONFIG reading its
 * structure from emulated memory, KeyIDs in physical addresses choosing the key, what DRAM
 * holds checked against OpenSSL's AES-XTS (not the engine), aliases through two KeyIDs, the
 * exclusion range, bypass and the MKTME-off profile. */
#include <memcrypt/bytes.h>
#include <memcrypt/dram.h>
#include <memcrypt/machine.h>
#include <memcrypt/pconfig.h>
#include <memcrypt/tme.h>

#include "check.h"
#include "crypto/crypto.h"
#include "crypto/xts.h"

static const uint8_t SEED[] = "tme-machine";

static struct mc_machine *machine(const char *platform, int tme, int keyid_bits, int bypass)
{
    struct mc_machine_config cfg;
    mc_machine_config_init(&cfg);
    cfg.platform = platform;
    cfg.dram_size = 16u << 20;
    cfg.seed = SEED;
    cfg.seed_len = sizeof SEED;
    cfg.bios.tme = tme;
    cfg.bios.keyid_bits = keyid_bits;
    cfg.bios.tme_bypass = bypass;
    struct mc_machine *m = NULL;
    struct mc_error e;
    mc_status s = mc_machine_create(&cfg, &m, &e);
    CHECK_MSG(s == MC_OK, "%s", e.msg);
    return m;
}

#define KP_ADDR 0x100000ull /* the MKTME_KEY_PROGRAM_STRUCT (identity-mapped, paging off) */

static uint64_t pconfig(struct mc_machine *m, struct mc_tme *t, uint16_t keyid, uint8_t cmd, const uint8_t *k1,
                        const uint8_t *k2, struct mc_tme_event *ev)
{
    struct mc_mktme_key_program kp;
    memset(&kp, 0, sizeof kp);
    kp.keyid = keyid;
    kp.command = cmd;
    kp.alg = MC_MKTME_ALG_AES_XTS_128;
    if (k1)
        memcpy(kp.key_field_1, k1, 16);
    if (k2)
        memcpy(kp.key_field_2, k2, 16);
    uint8_t raw[MC_MKTME_KP_SIZE];
    mc_mktme_kp_encode(&kp, raw);
    CHECK(mc_machine_phys_write(m, KP_ADDR, raw, sizeof raw, NULL, NULL) == MC_OK);
    mc_wipe(raw, sizeof raw);
    struct mc_pconfig_cpu cpu;
    memset(&cpu, 0, sizeof cpu);
    cpu.rbx = KP_ADDR;
    struct mc_error e;
    mc_status s = mc_pconfig_machine(t, m, &cpu, ev, &e);
    if (s != MC_OK)
        return ~0ull;
    return cpu.rax;
}

static uint64_t ka(struct mc_tme *t, uint64_t pa, uint32_t keyid)
{
    uint64_t a = 0;
    CHECK(mc_tme_pa_compose(t, pa, keyid, &a, NULL) == MC_OK);
    return a;
}

static void fill(uint8_t *p, size_t n, uint8_t v)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(v + i * 7);
}

static void test_bios_adopted_and_msrs(void)
{
    struct mc_machine *m = machine("icelake-sp", -1, -1, -1);
    struct mc_tme *t = NULL;
    CHECK(mc_tme_attach(m, &t, NULL) == MC_OK);
    uint64_t v;
    struct mc_fault f;
    CHECK(mc_machine_rdmsr(m, 0x982, &v, &f, NULL) == MC_OK);
    CHECK_EQ_U64(v, 0x3ull | (6ull << 32) | (1ull << 48));
    CHECK(mc_tme_enabled(t) && mc_tme_keyid_bits(t) == 6 && mc_tme_num_keyids(t) == 63);
    CHECK(mc_machine_wrmsr(m, 0x982, v, &f, NULL) == MC_E_FAULT && f.kind == MC_FAULT_GP && f.vector == 13);
    CHECK(mc_machine_wrmsr(m, 0x983, 0, &f, NULL) == MC_E_FAULT && f.kind == MC_FAULT_GP);
    CHECK(mc_machine_rdmsr(m, 0x9FF, &v, &f, NULL) == MC_OK && v == 6ull << 32);
    CHECK(mc_machine_wrmsr(m, 0x9FF, 0, &f, NULL) == MC_OK);
    CHECK(mc_machine_rdmsr(m, 0x87, &v, &f, NULL) == MC_OK && v == 63);
    CHECK(mc_machine_rdmsr(m, 0x981, &v, &f, NULL) == MC_OK);
    CHECK(mc_machine_wrmsr(m, 0x981, v, &f, NULL) == MC_E_FAULT);
    CHECK(mc_machine_rdmsr(m, 0x985, &v, &f, NULL) == MC_E_FAULT); /* not a TME MSR: passed on, #GP */

    /* Before PCONFIG, KeyID 5 behaves like KeyID 0 (same key, separate cache lines). */
    uint8_t p[64], a[64], b[64];
    fill(p, 64, 1);
    CHECK(mc_machine_phys_write(m, ka(t, 0x200000, 5), p, 64, &f, NULL) == MC_OK);
    CHECK(mc_machine_wbinvd(m, NULL) == MC_OK);
    CHECK(mc_machine_phys_read(m, 0x200000, a, 64, &f, NULL) == MC_OK);
    CHECK_MEM(a, p, 64);
    CHECK(mc_dram_read(mc_machine_dram(m), 0x200000, b, 64, NULL) == MC_OK);
    CHECK(memcmp(b, p, 64) != 0);
    mc_machine_destroy(m);
    mc_tme_destroy(t);
}

static void test_pconfig_keys_in_dram(void)
{
    struct mc_machine *m = machine("icelake-sp", -1, -1, -1);
    struct mc_tme *t = NULL;
    CHECK(mc_tme_attach(m, &t, NULL) == MC_OK);
    uint8_t k1[16], k2[16], key[32];
    fill(k1, 16, 0x11);
    fill(k2, 16, 0x77);
    memcpy(key, k1, 16);
    memcpy(key + 16, k2, 16);
    struct mc_tme_event ev;
    CHECK_EQ_U64(pconfig(m, t, 1, MC_PCONFIG_KEYID_SET_KEY_DIRECT, k1, k2, &ev), 0);
    CHECK_EQ_U64(pconfig(m, t, 3, MC_PCONFIG_KEYID_NO_ENCRYPT, NULL, NULL, &ev), 0);
    CHECK_EQ_U64(pconfig(m, t, 0, MC_PCONFIG_KEYID_SET_KEY_DIRECT, k1, k2, &ev), MC_PCONFIG_INVALID_KEYID);

    /* A line written through KeyID 1 sits in DRAM as AES-XTS-128(data key || tweak key),
     * tweak = LE128(physical address without KeyID bits) — recomputed with OpenSSL. */
    const uint64_t pa = 0x300040;
    uint8_t p[64], c[64], want[64], iv[16] = {0}, back[64];
    fill(p, 64, 0x30);
    struct mc_fault f;
    CHECK(mc_machine_phys_write(m, ka(t, pa, 1), p, 64, &f, NULL) == MC_OK);
    CHECK(mc_machine_wbinvd(m, NULL) == MC_OK);
    CHECK(mc_dram_read(mc_machine_dram(m), pa, c, 64, NULL) == MC_OK);
    mc_put_le64(iv, pa);
    CHECK(mc_xts_evp(128, key, 0, iv, p, want, 64, NULL) == MC_OK);
    CHECK_MEM(c, want, 64);
    CHECK(mc_machine_phys_read(m, ka(t, pa, 1), back, 64, &f, NULL) == MC_OK);
    CHECK_MEM(back, p, 64);
    /* The hypervisor through KeyID 0 sees neither the plaintext nor the DRAM bytes. */
    CHECK(mc_machine_phys_read(m, pa, back, 64, &f, NULL) == MC_OK);
    CHECK(memcmp(back, p, 64) != 0 && memcmp(back, c, 64) != 0);

    /* NO_ENCRYPT KeyID 3: DRAM holds the plaintext. */
    CHECK(mc_machine_phys_write(m, ka(t, 0x310000, 3), p, 64, &f, NULL) == MC_OK);
    CHECK(mc_machine_wbinvd(m, NULL) == MC_OK);
    CHECK(mc_dram_read(mc_machine_dram(m), 0x310000, c, 64, NULL) == MC_OK);
    CHECK_MEM(c, p, 64);

    /* Alias hazard: write through KeyID 1 (line stays dirty in the cache), read the same line
     * through KeyID 2 without flushing: KeyID 2 gets DRAM's old bytes decrypted with its key,
     * not the new data. After the flush it is still not the plaintext (different key). */
    const uint64_t pb = 0x320000;
    uint8_t p2[64];
    fill(p2, 64, 0x90);
    CHECK(mc_machine_phys_write(m, ka(t, pb, 1), p2, 64, &f, NULL) == MC_OK);
    CHECK(mc_machine_phys_read(m, ka(t, pb, 2), back, 64, &f, NULL) == MC_OK);
    CHECK(memcmp(back, p2, 64) != 0);
    CHECK(mc_dram_read(mc_machine_dram(m), pb, c, 64, NULL) == MC_OK);
    uint8_t zero[64] = {0};
    CHECK_MEM(c, zero, 64); /* the write is still only in the cache */

    /* CLEAR_KEY: KeyID 1 falls back to the TME key, i.e. what KeyID 0 sees. */
    CHECK_EQ_U64(pconfig(m, t, 1, MC_PCONFIG_KEYID_CLEAR_KEY, NULL, NULL, &ev), 0);
    CHECK(mc_machine_wbinvd(m, NULL) == MC_OK);
    uint8_t via0[64], via1[64];
    CHECK(mc_machine_phys_read(m, pa, via0, 64, &f, NULL) == MC_OK);
    CHECK(mc_machine_phys_read(m, ka(t, pa, 1), via1, 64, &f, NULL) == MC_OK);
    CHECK_MEM(via0, via1, 64);

    /* RANDOM programs a working key (round trip), not readable from outside. */
    CHECK_EQ_U64(pconfig(m, t, 4, MC_PCONFIG_KEYID_SET_KEY_RANDOM, k1, k2, &ev), 0);
    CHECK(mc_machine_phys_write(m, ka(t, 0x330000, 4), p, 64, &f, NULL) == MC_OK);
    CHECK(mc_machine_wbinvd(m, NULL) == MC_OK);
    CHECK(mc_machine_phys_read(m, ka(t, 0x330000, 4), back, 64, &f, NULL) == MC_OK);
    CHECK_MEM(back, p, 64);
    CHECK(mc_dram_read(mc_machine_dram(m), 0x330000, c, 64, NULL) == MC_OK);
    CHECK(memcmp(c, p, 64) != 0);

    /* Structure address with no backing DRAM behind it: the machine's fault comes back. */
    struct mc_pconfig_cpu cpu;
    memset(&cpu, 0, sizeof cpu);
    cpu.rbx = 1ull << 39; /* beyond the 16 MiB of DRAM */
    mc_status s = mc_pconfig_machine(t, m, &cpu, &ev, NULL);
    CHECK(s != MC_OK);
    mc_machine_destroy(m);
    mc_tme_destroy(t);
}

static void test_firmware_activation(void)
{
    /* BIOS leaves TME unprogrammed; firmware code programs the exclusion range, then activates. */
    struct mc_machine *m = machine("icelake-sp", 0, 0, 0);
    struct mc_tme *t = NULL;
    CHECK(mc_tme_attach(m, &t, NULL) == MC_OK);
    CHECK(!mc_tme_locked(t));
    struct mc_fault f;
    const uint64_t field = ((1ull << 46) - 1) & ~0xFFFull;
    CHECK(mc_machine_wrmsr(m, 0x983, MC_TME_EXCL_ENABLE | (field & ~((1ull << 20) - 1)), &f, NULL) == MC_OK);
    CHECK(mc_machine_wrmsr(m, 0x984, 0x400000, &f, NULL) == MC_OK);
    CHECK(mc_machine_wrmsr(m, 0x983, MC_TME_EXCL_ENABLE | (1ull << 20), &f, NULL) == MC_E_FAULT); /* hole */
    uint64_t act = MC_TME_ACT_ENABLE | (4ull << 32) | (1ull << 48);
    CHECK(mc_machine_wrmsr(m, 0x982, act, &f, NULL) == MC_OK);
    uint64_t v;
    CHECK(mc_machine_rdmsr(m, 0x982, &v, &f, NULL) == MC_OK && v == (act | 1));
    CHECK(mc_get_platform(mc_machine_mc(m))->mode == MC_MODE_TME);
    CHECK(mc_get_platform(mc_machine_mc(m))->keyid_bits == 4);
    uint8_t p[64], c[64];
    fill(p, 64, 5);
    /* Inside the 1 MiB exclusion range at 4 MiB: KeyID 0 is plaintext in DRAM. */
    CHECK(mc_machine_phys_write(m, 0x400000, p, 64, &f, NULL) == MC_OK);
    CHECK(mc_machine_phys_write(m, 0x500000, p, 64, &f, NULL) == MC_OK);
    CHECK(mc_machine_phys_write(m, ka(t, 0x400040, 2), p, 64, &f, NULL) == MC_OK);
    CHECK(mc_machine_wbinvd(m, NULL) == MC_OK);
    CHECK(mc_dram_read(mc_machine_dram(m), 0x400000, c, 64, NULL) == MC_OK);
    CHECK_MEM(c, p, 64);
    CHECK(mc_dram_read(mc_machine_dram(m), 0x500000, c, 64, NULL) == MC_OK);
    CHECK(memcmp(c, p, 64) != 0);
    /* KeyID 2 (TME behaviour) is encrypted even inside the range: it applies to KeyID 0 only. */
    CHECK(mc_dram_read(mc_machine_dram(m), 0x400040, c, 64, NULL) == MC_OK);
    CHECK(memcmp(c, p, 64) != 0);
    CHECK(mc_machine_wrmsr(m, 0x982, act, &f, NULL) == MC_E_FAULT);
    mc_machine_destroy(m);
    mc_tme_destroy(t);
}

static void test_bypass_and_nomktme(void)
{
    struct mc_machine *m = machine("icelake-sp-nomktme", -1, -1, -1);
    struct mc_tme *t = NULL;
    CHECK(mc_tme_attach(m, &t, NULL) == MC_OK);
    CHECK(mc_tme_enabled(t) && mc_tme_keyid_bits(t) == 0);
    struct mc_tme_event ev;
    CHECK_EQ_U64(pconfig(m, t, 1, MC_PCONFIG_KEYID_SET_KEY_DIRECT, NULL, NULL, &ev), ~0ull);
    CHECK(ev.kind == MC_TME_EV_GP);
    mc_machine_destroy(m);
    mc_tme_destroy(t);

    /* AMD parts have no TME unit. */
    m = machine("milan", -1, -1, -1);
    if (m) {
        struct mc_error e;
        CHECK(mc_tme_attach(m, &t, &e) == MC_E_UNSUPPORTED);
        mc_machine_destroy(m);
    }
}

int main(void)
{
    RUN(test_bios_adopted_and_msrs);
    RUN(test_pconfig_keys_in_dram);
    RUN(test_firmware_activation);
    RUN(test_bypass_and_nomktme);
    return check_summary();
}
