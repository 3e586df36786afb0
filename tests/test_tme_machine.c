/* TME/MKTME wired into a machine: MSRs through the machine's dispatch, PCONFIG reading its
 * structure from emulated memory, KeyIDs in physical addresses choosing the key, what DRAM
 * holds checked against OpenSSL's AES-XTS (not the engine), aliases through two KeyIDs, the
 * exclusion range, bypass and the MKTME-off profile. */
#include <memcrypt/board.h>
#include <memcrypt/bytes.h>
#include <memcrypt/dram.h>
#include <memcrypt/machine.h>
#include <memcrypt/pconfig.h>
#include <memcrypt/tme.h>

#include "board/board_int.h" /* mc_tme_attach: the glue under test */
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

/* A board on platform with these BIOS settings (its TME unit attached on Intel profiles). */
static struct mc_board *board(const char *platform, int tme, int keyid_bits, int bypass)
{
    struct mc_board_config cfg;
    CHECK(mc_board_config_init(&cfg, platform, NULL) == MC_OK);
    cfg.machine.dram_size = 16u << 20;
    cfg.machine.seed = SEED;
    cfg.machine.seed_len = sizeof SEED;
    cfg.machine.bios.tme = tme;
    cfg.machine.bios.keyid_bits = keyid_bits;
    cfg.machine.bios.tme_bypass = bypass;
    struct mc_board *b = NULL;
    struct mc_error e;
    mc_status s = mc_board_create(&cfg, &b, &e);
    CHECK_MSG(s == MC_OK, "%s", e.msg);
    return b;
}

#define KP_ADDR 0x100000ull /* the MKTME_KEY_PROGRAM_STRUCT (identity-mapped, paging off) */

/* PCONFIG MKTME_KEY_PROGRAM with algorithm alg; k1/k2 are the key fields (klen bytes each). */
static uint64_t pconfig_alg(struct mc_board *bd, uint16_t keyid, uint8_t cmd, uint16_t alg,
                            const uint8_t *k1, const uint8_t *k2, size_t klen, struct mc_tme_event *ev)
{
    struct mc_mktme_key_program kp;
    memset(&kp, 0, sizeof kp);
    kp.keyid = keyid;
    kp.command = cmd;
    kp.alg = alg;
    if (k1)
        memcpy(kp.key_field_1, k1, klen);
    if (k2)
        memcpy(kp.key_field_2, k2, klen);
    uint8_t raw[MC_MKTME_KP_SIZE];
    mc_mktme_kp_encode(&kp, raw);
    CHECK(mc_machine_phys_write(mc_board_machine(bd), KP_ADDR, raw, sizeof raw, NULL, NULL) == MC_OK);
    mc_wipe(raw, sizeof raw);
    struct mc_pconfig_cpu cpu;
    memset(&cpu, 0, sizeof cpu);
    cpu.rbx = KP_ADDR;
    struct mc_error e;
    mc_status s = mc_board_pconfig(bd, &cpu, ev, &e);
    if (s != MC_OK)
        return ~0ull;
    return cpu.rax;
}

static uint64_t pconfig(struct mc_board *bd, uint16_t keyid, uint8_t cmd, const uint8_t *k1,
                        const uint8_t *k2, struct mc_tme_event *ev)
{
    return pconfig_alg(bd, keyid, cmd, MC_MKTME_ALG_AES_XTS_128, k1, k2, 16, ev);
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
    struct mc_board *bd = board("icelake-sp", -1, -1, -1);
    struct mc_machine *m = mc_board_machine(bd);
    struct mc_tme *t = mc_board_tme(bd);
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
    struct mc_tme *t2 = (struct mc_tme *)&v;
    struct mc_error e2;
    CHECK(mc_tme_attach(m, &t2, &e2) == MC_E_STATE && t2 == NULL); /* one unit per machine */
    CHECK(mc_machine_msr_handled(m, 0x982) && mc_machine_msr_handled(m, 0x87) && !mc_machine_msr_handled(m, 0xC0010010u));
    CHECK(!mc_machine_msr_handled(NULL, 0x982));

    /* Before PCONFIG, KeyID 5 behaves like KeyID 0 (same key, separate cache lines). */
    uint8_t p[64], a[64], b[64];
    fill(p, 64, 1);
    CHECK(mc_machine_phys_write(m, ka(t, 0x200000, 5), p, 64, &f, NULL) == MC_OK);
    CHECK(mc_machine_wbinvd(m, NULL) == MC_OK);
    CHECK(mc_machine_phys_read(m, 0x200000, a, 64, &f, NULL) == MC_OK);
    CHECK_MEM(a, p, 64);
    CHECK(mc_dram_read(mc_machine_dram(m), 0x200000, b, 64, NULL) == MC_OK);
    CHECK(memcmp(b, p, 64) != 0);
    mc_board_destroy(bd);
}

static void test_pconfig_keys_in_dram(void)
{
    struct mc_board *bd = board("icelake-sp", -1, -1, -1);
    struct mc_machine *m = mc_board_machine(bd);
    struct mc_tme *t = mc_board_tme(bd);
    uint8_t k1[16], k2[16], key[32];
    fill(k1, 16, 0x11);
    fill(k2, 16, 0x77);
    memcpy(key, k1, 16);
    memcpy(key + 16, k2, 16);
    struct mc_tme_event ev;
    CHECK_EQ_U64(pconfig(bd, 1, MC_PCONFIG_KEYID_SET_KEY_DIRECT, k1, k2, &ev), 0);
    CHECK_EQ_U64(pconfig(bd, 3, MC_PCONFIG_KEYID_NO_ENCRYPT, NULL, NULL, &ev), 0);
    CHECK_EQ_U64(pconfig(bd, 0, MC_PCONFIG_KEYID_SET_KEY_DIRECT, k1, k2, &ev), MC_PCONFIG_INVALID_KEYID);

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
    CHECK_EQ_U64(pconfig(bd, 1, MC_PCONFIG_KEYID_CLEAR_KEY, NULL, NULL, &ev), 0);
    CHECK(mc_machine_wbinvd(m, NULL) == MC_OK);
    uint8_t via0[64], via1[64];
    CHECK(mc_machine_phys_read(m, pa, via0, 64, &f, NULL) == MC_OK);
    CHECK(mc_machine_phys_read(m, ka(t, pa, 1), via1, 64, &f, NULL) == MC_OK);
    CHECK_MEM(via0, via1, 64);

    /* RANDOM programs a working key (round trip), not readable from outside. */
    CHECK_EQ_U64(pconfig(bd, 4, MC_PCONFIG_KEYID_SET_KEY_RANDOM, k1, k2, &ev), 0);
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
    mc_status s = mc_board_pconfig(bd, &cpu, &ev, NULL);
    CHECK(s != MC_OK);
    mc_board_destroy(bd);
}

static void test_firmware_activation(void)
{
    /* BIOS leaves TME unprogrammed; firmware code programs the exclusion range, then activates. */
    struct mc_board *bd = board("icelake-sp", 0, 0, 0);
    struct mc_machine *m = mc_board_machine(bd);
    struct mc_tme *t = mc_board_tme(bd);
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
    CHECK(memctl_get_platform(mc_machine_memctl(m))->mode == MEMCTL_MODE_TME);
    CHECK(memctl_get_platform(mc_machine_memctl(m))->keyid_bits == 4);
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
    mc_board_destroy(bd);
}

static void test_bypass_and_nomktme(void)
{
    struct mc_board *bd = board("icelake-sp-nomktme", -1, -1, -1);
    struct mc_machine *m = mc_board_machine(bd);
    struct mc_tme *t = mc_board_tme(bd);
    CHECK(mc_tme_enabled(t) && mc_tme_keyid_bits(t) == 0);
    struct mc_tme_event ev;
    CHECK_EQ_U64(pconfig(bd, 1, MC_PCONFIG_KEYID_SET_KEY_DIRECT, NULL, NULL, &ev), ~0ull);
    CHECK(ev.kind == MC_TME_EV_GP);
    mc_board_destroy(bd);

    /* AMD parts have no TME unit. */
    m = machine("milan", -1, -1, -1);
    if (m) {
        struct mc_error e;
        CHECK(mc_tme_attach(m, &t, &e) == MC_E_UNSUPPORTED);
        mc_machine_destroy(m);
    }
    bd = board("milan", -1, -1, -1); /* ... so a board built from one has none, nor PCONFIG */
    struct mc_pconfig_cpu cpu = {0};
    struct mc_error e;
    CHECK(mc_board_tme(bd) == NULL && mc_board_pconfig(bd, &cpu, &ev, &e) == MC_E_UNSUPPORTED);
    mc_board_destroy(bd);
}

/* Sapphire Rapids profile as its BIOS leaves it: AES-XTS-128 and -256 allowed for MKTME, so a
 * KeyID programmed with AES-XTS-256 holds DRAM bytes equal to OpenSSL's aes-256-xts. */
static void test_spr_xts256(void)
{
    struct mc_board *bd = board("sapphire-rapids", -1, -1, -1);
    struct mc_machine *m = mc_board_machine(bd);
    struct mc_tme *t = mc_board_tme(bd);
    struct mc_fault f;
    uint64_t v;
    CHECK(mc_machine_rdmsr(m, 0x981, &v, &f, NULL) == MC_OK);
    CHECK_EQ_U64(v, 0x5ull | (1ull << 31) | (7ull << 32) | (127ull << 36));
    CHECK(mc_machine_rdmsr(m, 0x982, &v, &f, NULL) == MC_OK);
    CHECK_EQ_U64(v, 0x3ull | (6ull << 32) | (5ull << 48));
    CHECK(mc_tme_keyid_bits(t) == 6 && mc_tme_num_keyids(t) == 63 && mc_tme_keyid_shift(t) == 46);
    CHECK(mc_tme_allowed_algs(t) == (MC_MKTME_ALG_AES_XTS_128 | MC_MKTME_ALG_AES_XTS_256));

    uint8_t k1[32], k2[32], key[64];
    fill(k1, 32, 0x21);
    fill(k2, 32, 0xA5);
    memcpy(key, k1, 32);
    memcpy(key + 32, k2, 32);
    struct mc_tme_event ev;
    CHECK_EQ_U64(pconfig_alg(bd, 9, MC_PCONFIG_KEYID_SET_KEY_DIRECT, MC_MKTME_ALG_AES_XTS_256, k1, k2, 32, &ev), 0);
    enum mc_keyid_mode mode;
    enum mc_cipher c;
    CHECK(mc_tme_keyid_entry(t, 9, &mode, &c, NULL) == MC_OK && mode == MC_KEYID_MODE_ENCRYPT &&
          c == MC_CIPHER_AES256_XTS);
    const uint64_t pa = 0x2C0080;
    uint8_t p[64], dram[64], want[64], iv[16] = {0}, back[64];
    fill(p, 64, 0x42);
    CHECK(mc_machine_phys_write(m, ka(t, pa, 9), p, 64, &f, NULL) == MC_OK);
    CHECK(mc_machine_wbinvd(m, NULL) == MC_OK);
    CHECK(mc_dram_read(mc_machine_dram(m), pa, dram, 64, NULL) == MC_OK);
    mc_put_le64(iv, pa);
    CHECK(mc_xts_evp(256, key, 0, iv, p, want, 64, NULL) == MC_OK);
    CHECK_MEM(dram, want, 64);
    CHECK(mc_machine_phys_read(m, ka(t, pa, 9), back, 64, &f, NULL) == MC_OK);
    CHECK_MEM(back, p, 64);
    /* A 256-bit key with the XTS-128 algorithm is a #GP (key bytes beyond 16). */
    CHECK_EQ_U64(pconfig_alg(bd, 10, MC_PCONFIG_KEYID_SET_KEY_DIRECT, MC_MKTME_ALG_AES_XTS_128, k1, k2, 32, &ev),
                 ~0ull);
    CHECK(ev.kind == MC_TME_EV_GP);
    /* Ice Lake-SP enumerates only AES-XTS-128: the same request answers INVALID_ENC_ALG. */
    mc_board_destroy(bd);
    bd = board("icelake-sp", -1, -1, -1);
    m = mc_board_machine(bd);
    t = mc_board_tme(bd);
    CHECK_EQ_U64(pconfig_alg(bd, 9, MC_PCONFIG_KEYID_SET_KEY_DIRECT, MC_MKTME_ALG_AES_XTS_256, k1, k2, 32, &ev),
                 MC_PCONFIG_INVALID_ENC_ALG);
    mc_board_destroy(bd);
}

/* TME bypass set by the BIOS on a part that enumerates it: KeyID 0 and KeyIDs with TME
 * behaviour store plaintext; a programmed KeyID is still encrypted. Refused on Ice Lake-SP. */
static void test_spr_bypass(void)
{
    struct mc_board *bd = board("sapphire-rapids", -1, -1, 1);
    struct mc_machine *m = mc_board_machine(bd);
    struct mc_tme *t = mc_board_tme(bd);
    CHECK(mc_tme_bypass(t));
    struct mc_fault f;
    uint64_t v;
    CHECK(mc_machine_rdmsr(m, 0x982, &v, &f, NULL) == MC_OK && (v & MC_TME_ACT_BYPASS) && (v & 3) == 3);
    uint8_t p[64], d[64], back[64];
    fill(p, 64, 0x17);
    CHECK(mc_machine_phys_write(m, 0x200000, p, 64, &f, NULL) == MC_OK);
    CHECK(mc_machine_phys_write(m, ka(t, 0x200040, 7), p, 64, &f, NULL) == MC_OK);
    struct mc_tme_event ev;
    uint8_t e1[32], e2[32];
    fill(e1, 32, 3);
    fill(e2, 32, 9);
    CHECK_EQ_U64(pconfig_alg(bd, 2, MC_PCONFIG_KEYID_SET_KEY_RANDOM, MC_MKTME_ALG_AES_XTS_256, e1, e2, 32, &ev), 0);
    CHECK(mc_machine_phys_write(m, ka(t, 0x200080, 2), p, 64, &f, NULL) == MC_OK);
    CHECK(mc_machine_wbinvd(m, NULL) == MC_OK);
    CHECK(mc_dram_read(mc_machine_dram(m), 0x200000, d, 64, NULL) == MC_OK);
    CHECK_MEM(d, p, 64);
    CHECK(mc_dram_read(mc_machine_dram(m), 0x200040, d, 64, NULL) == MC_OK);
    CHECK_MEM(d, p, 64);
    CHECK(mc_dram_read(mc_machine_dram(m), 0x200080, d, 64, NULL) == MC_OK);
    CHECK(memcmp(d, p, 64) != 0);
    CHECK(mc_machine_phys_read(m, ka(t, 0x200080, 2), back, 64, &f, NULL) == MC_OK);
    CHECK_MEM(back, p, 64);
    /* CLEAR_KEY under bypass: back to TME behaviour, i.e. plaintext. */
    CHECK_EQ_U64(pconfig_alg(bd, 2, MC_PCONFIG_KEYID_CLEAR_KEY, MC_MKTME_ALG_AES_XTS_256, NULL, NULL, 32, &ev), 0);
    CHECK(mc_machine_phys_write(m, ka(t, 0x2000C0, 2), p, 64, &f, NULL) == MC_OK);
    CHECK(mc_machine_wbinvd(m, NULL) == MC_OK);
    CHECK(mc_dram_read(mc_machine_dram(m), 0x2000C0, d, 64, NULL) == MC_OK);
    CHECK_MEM(d, p, 64);
    mc_board_destroy(bd);

    struct mc_machine_config cfg;
    mc_machine_config_init(&cfg);
    cfg.platform = "icelake-sp";
    cfg.bios.tme_bypass = 1;
    struct mc_error e;
    m = NULL;
    CHECK(mc_machine_create(&cfg, &m, &e) == MC_E_UNSUPPORTED && m == NULL);
}

/* Firmware activation with AES-XTS-256 and the key saved for standby; after a standby resume
 * the firmware restores the key and DRAM written before is readable again. A cold reset wipes
 * the saved key: the restore then fails (...100b) and TME stays off. */
static void test_spr_save_restore(void)
{
    struct mc_board *bd = board("sapphire-rapids", 0, 0, 0);
    struct mc_machine *m = mc_board_machine(bd);
    struct mc_tme *t = mc_board_tme(bd);
    struct mc_fault f;
    uint64_t v;
    const uint64_t act = MC_TME_ACT_ENABLE | MC_TME_ACT_SAVE_KEY | (2ull << MC_TME_ACT_POLICY_SHIFT) | (4ull << 32) |
                         (5ull << 48);
    CHECK(mc_machine_wrmsr(m, 0x982, act, &f, NULL) == MC_OK);
    CHECK(mc_machine_rdmsr(m, 0x982, &v, &f, NULL) == MC_OK);
    CHECK_EQ_U64(v, act | MC_TME_ACT_LOCK);
    CHECK(mc_tme_platform_cipher(t) == MC_CIPHER_AES256_XTS);
    uint8_t p[64], d0[64], d[64], back[64];
    fill(p, 64, 0x66);
    CHECK(mc_machine_phys_write(m, 0x280000, p, 64, &f, NULL) == MC_OK);
    CHECK(mc_machine_wbinvd(m, NULL) == MC_OK);
    CHECK(mc_dram_read(mc_machine_dram(m), 0x280000, d0, 64, NULL) == MC_OK);
    CHECK(memcmp(d0, p, 64) != 0);

    CHECK(mc_machine_standby_resume(m, NULL) == MC_OK);
    CHECK(!mc_tme_locked(t) && !mc_tme_enabled(t));
    CHECK(mc_machine_rdmsr(m, 0x982, &v, &f, NULL) == MC_OK && v == 0);
    CHECK(memctl_get_platform(mc_machine_memctl(m))->mode == MEMCTL_MODE_OFF);
    CHECK(mc_dram_read(mc_machine_dram(m), 0x280000, d, 64, NULL) == MC_OK);
    CHECK_MEM(d, d0, 64); /* DRAM kept its contents */
    const uint64_t restore = (act & ~MC_TME_ACT_SAVE_KEY) | MC_TME_ACT_KEY_SELECT;
    CHECK(mc_machine_wrmsr(m, 0x982, restore, &f, NULL) == MC_OK);
    CHECK(mc_machine_rdmsr(m, 0x982, &v, &f, NULL) == MC_OK);
    CHECK_EQ_U64(v & 7, 7); /* ...111b */
    CHECK(mc_machine_phys_read(m, 0x280000, back, 64, &f, NULL) == MC_OK);
    CHECK_MEM(back, p, 64);

    /* Cold reset: the saved key is gone. */
    CHECK(mc_machine_reset(m, NULL) == MC_OK);
    CHECK(!mc_tme_locked(t));
    CHECK(mc_machine_wrmsr(m, 0x982, restore, &f, NULL) == MC_OK);
    CHECK(mc_machine_rdmsr(m, 0x982, &v, &f, NULL) == MC_OK);
    CHECK_EQ_U64(v & 7, 4); /* ...100b: not enabled */
    CHECK(!mc_tme_enabled(t) && memctl_get_platform(mc_machine_memctl(m))->mode == MEMCTL_MODE_OFF);
    /* Firmware retries with a new key: enabled, but the old image decrypts to garbage. */
    CHECK(mc_machine_wrmsr(m, 0x982, act & ~MC_TME_ACT_SAVE_KEY, &f, NULL) == MC_OK);
    CHECK(mc_tme_enabled(t));
    CHECK(mc_machine_phys_read(m, 0x280000, back, 64, &f, NULL) == MC_OK);
    CHECK(memcmp(back, p, 64) != 0);
    mc_board_destroy(bd);

    /* Ice Lake-SP cannot save the key: bit 3 is reserved there (#GP on the machine). */
    bd = board("icelake-sp", 0, 0, 0);
    m = mc_board_machine(bd);
    t = mc_board_tme(bd);
    CHECK(mc_machine_wrmsr(m, 0x982, MC_TME_ACT_ENABLE | MC_TME_ACT_SAVE_KEY, &f, NULL) == MC_E_FAULT &&
          f.kind == MC_FAULT_GP);
    CHECK(!mc_tme_locked(t));
    mc_board_destroy(bd);
}

/* mc_machine_reset resets an attached unit: BIOS-enabled TME comes back locked with a new key
 * (old DRAM image unreadable), programmed KeyIDs are back to TME behaviour; a firmware-driven
 * machine comes back unlocked with the controller in its BIOS mode. */
static void test_reset_hook(void)
{
    struct mc_board *bd = board("sapphire-rapids", -1, -1, -1);
    struct mc_machine *m = mc_board_machine(bd);
    struct mc_tme *t = mc_board_tme(bd);
    struct mc_fault f;
    struct mc_tme_event ev;
    uint8_t k1[16], k2[16], p[64], back[64];
    fill(k1, 16, 1);
    fill(k2, 16, 2);
    fill(p, 64, 0x5A);
    CHECK_EQ_U64(pconfig(bd, 3, MC_PCONFIG_KEYID_SET_KEY_DIRECT, k1, k2, &ev), 0);
    CHECK_EQ_U64(pconfig(bd, 4, MC_PCONFIG_KEYID_NO_ENCRYPT, NULL, NULL, &ev), 0);
    CHECK(mc_machine_phys_write(m, 0x240000, p, 64, &f, NULL) == MC_OK);
    CHECK(mc_machine_wbinvd(m, NULL) == MC_OK);
    uint64_t before, after;
    CHECK(mc_machine_rdmsr(m, 0x982, &before, &f, NULL) == MC_OK);

    CHECK(mc_machine_reset(m, NULL) == MC_OK);
    CHECK(mc_machine_rdmsr(m, 0x982, &after, &f, NULL) == MC_OK);
    CHECK_EQ_U64(after, before); /* the BIOS locked it again */
    CHECK(mc_tme_enabled(t) && mc_tme_keyid_bits(t) == 6);
    enum mc_keyid_mode mode;
    CHECK(mc_tme_keyid_entry(t, 3, &mode, NULL, NULL) == MC_OK && mode == MC_KEYID_MODE_TME);
    CHECK(mc_tme_keyid_entry(t, 4, &mode, NULL, NULL) == MC_OK && mode == MC_KEYID_MODE_TME);
    CHECK(memctl_keyid_slot(mc_machine_memctl(m), 3) == memctl_keyid_slot(mc_machine_memctl(m), 0));
    CHECK(memctl_keyid_slot(mc_machine_memctl(m), 0) != 0);
    /* New TME key: the image written before the reset is garbage now, through KeyID 0 and 3. */
    CHECK(mc_machine_phys_read(m, 0x240000, back, 64, &f, NULL) == MC_OK);
    CHECK(memcmp(back, p, 64) != 0);
    uint8_t via3[64];
    CHECK(mc_machine_phys_read(m, ka(t, 0x240000, 3), via3, 64, &f, NULL) == MC_OK);
    CHECK_MEM(via3, back, 64);
    /* The MSRs are still this unit's (handlers survive the reset); PCONFIG works again. */
    CHECK(mc_machine_wrmsr(m, 0x982, before, &f, NULL) == MC_E_FAULT);
    CHECK_EQ_U64(pconfig(bd, 3, MC_PCONFIG_KEYID_SET_KEY_DIRECT, k1, k2, &ev), 0);
    mc_board_destroy(bd);

    /* Firmware-driven: after the reset the lock is clear and firmware can activate again. */
    bd = board("icelake-sp", 0, 0, 0);
    m = mc_board_machine(bd);
    t = mc_board_tme(bd);
    const uint64_t act = MC_TME_ACT_ENABLE | (3ull << 32) | (1ull << 48);
    CHECK(mc_machine_wrmsr(m, 0x983, MC_TME_EXCL_ENABLE | (((1ull << 46) - 1) & ~0xFFFFFull), &f, NULL) == MC_OK);
    CHECK(mc_machine_wrmsr(m, 0x982, act, &f, NULL) == MC_OK);
    CHECK(memctl_get_platform(mc_machine_memctl(m))->mode == MEMCTL_MODE_TME);
    CHECK(mc_machine_reset(m, NULL) == MC_OK);
    uint64_t v = 1;
    CHECK(mc_machine_rdmsr(m, 0x982, &v, &f, NULL) == MC_OK && v == 0);
    CHECK(mc_machine_rdmsr(m, 0x983, &v, &f, NULL) == MC_OK && v == 0);
    CHECK(memctl_get_platform(mc_machine_memctl(m))->mode == MEMCTL_MODE_OFF);
    CHECK(!memctl_get_platform(mc_machine_memctl(m))->excl_enable);
    CHECK(mc_machine_wrmsr(m, 0x982, act, &f, NULL) == MC_OK && mc_tme_enabled(t));
    CHECK(mc_machine_phys_write(m, ka(t, 0x100000, 5), p, 64, &f, NULL) == MC_OK);
    CHECK(mc_machine_phys_read(m, ka(t, 0x100000, 5), back, 64, &f, NULL) == MC_OK);
    CHECK_MEM(back, p, 64);
    mc_board_destroy(bd);
}

/* Reset-hook registration: arguments, duplicates, capacity, unregister. */
static mc_status count_hook(void *ctx, struct mc_machine *m, enum mc_machine_reset_kind kind, struct mc_error *err)
{
    (void)m;
    (void)err;
    (void)kind;
    if (ctx)
        (*(int *)ctx)++;
    return MC_OK;
}

static mc_status failing_hook(void *ctx, struct mc_machine *m, enum mc_machine_reset_kind kind, struct mc_error *err)
{
    (void)ctx;
    (void)m;
    (void)kind;
    return mc_seterr(err, MC_E_STATE, "test hook refuses");
}

static void test_reset_hook_api(void)
{
    struct mc_machine *m = machine("milan", -1, -1, -1);
    struct mc_error e;
    int n[MC_MACHINE_MAX_RESET_HOOKS + 1] = {0};
    CHECK(mc_machine_reset_hook_register(NULL, count_hook, &n[0], &e) == MC_E_INVAL);
    CHECK(mc_machine_reset_hook_register(m, NULL, &n[0], &e) == MC_E_INVAL);
    for (int i = 0; i < MC_MACHINE_MAX_RESET_HOOKS; i++)
        CHECK(mc_machine_reset_hook_register(m, count_hook, &n[i], &e) == MC_OK);
    CHECK(mc_machine_reset_hook_register(m, count_hook, &n[0], &e) == MC_E_STATE);
    CHECK(mc_machine_reset_hook_register(m, count_hook, &n[MC_MACHINE_MAX_RESET_HOOKS], &e) == MC_E_FULL);
    CHECK(mc_machine_reset(m, &e) == MC_OK);
    CHECK(mc_machine_standby_resume(m, &e) == MC_OK);
    for (int i = 0; i < MC_MACHINE_MAX_RESET_HOOKS; i++)
        CHECK(n[i] == 2);
    CHECK(mc_machine_reset_hook_unregister(m, count_hook, &n[1], &e) == MC_OK);
    CHECK(mc_machine_reset_hook_unregister(m, count_hook, &n[1], &e) == MC_E_NOTFOUND);
    CHECK(mc_machine_reset_hook_register(m, failing_hook, NULL, &e) == MC_OK);
    CHECK(mc_machine_reset(m, &e) == MC_E_STATE);
    CHECK(n[0] == 3 && n[1] == 2 && n[2] == 3);
    CHECK(mc_machine_msr_unregister(m, &n[0], &e) == MC_E_NOTFOUND);
    CHECK(mc_machine_reset(NULL, &e) == MC_E_INVAL && mc_machine_standby_resume(NULL, &e) == MC_E_INVAL);
    mc_machine_destroy(m);
}

int main(void)
{
    RUN(test_bios_adopted_and_msrs);
    RUN(test_pconfig_keys_in_dram);
    RUN(test_firmware_activation);
    RUN(test_bypass_and_nomktme);
    RUN(test_spr_xts256);
    RUN(test_spr_bypass);
    RUN(test_spr_save_restore);
    RUN(test_reset_hook);
    RUN(test_reset_hook_api);
    return check_summary();
}
