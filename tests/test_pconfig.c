/* Tests of PCONFIG MKTME_KEY_PROGRAM against shared/spec/cpu-and-config.md §3.5:
 * #UD/#GP/#PF/VM-exit cases, every reserved byte and bit, key bytes beyond the key size,
 * every return code and their order, flags, and the key handed to the engine per command. */
#include <memcrypt/pconfig.h>
#include <memcrypt/tme.h>

#include "check.h"
#include "crypto/crypto.h"

struct rec {
    unsigned calls;
    uint32_t keyid;
    enum mc_keyid_mode mode;
    enum mc_cipher c;
    uint8_t key[64];
    size_t keylen;
};

static mc_status rec_keyid(void *ctx, uint32_t keyid, enum mc_keyid_mode mode, enum mc_cipher c, const uint8_t *key,
                           size_t keylen, struct mc_error *err)
{
    (void)err;
    struct rec *r = ctx;
    r->calls++;
    r->keyid = keyid;
    r->mode = mode;
    r->c = c;
    r->keylen = keylen;
    memset(r->key, 0, sizeof r->key);
    if (key)
        memcpy(r->key, key, keylen);
    return MC_OK;
}

/* Emulated memory: 16 KiB mapped at linear 0x10000; anything else is a not-present #PF. */
#define MEM_BASE 0x10000ull
#define MEM_SIZE 0x4000ull
struct mem {
    uint8_t b[MEM_SIZE];
};

static mc_status mem_read(void *ctx, uint64_t la, void *buf, size_t len, struct mc_tme_event *ev, struct mc_error *err)
{
    struct mem *m = ctx;
    if (la < MEM_BASE || la - MEM_BASE > MEM_SIZE - len) {
        ev->kind = MC_TME_EV_PF;
        ev->addr = la < MEM_BASE ? la : (la - MEM_BASE >= MEM_SIZE ? la : MEM_BASE + MEM_SIZE);
        ev->error_code = 0; /* not present, read, supervisor */
        return mc_seterr(err, MC_E_FAULT, "#PF at 0x%llx", (unsigned long long)ev->addr);
    }
    memcpy(buf, m->b + (la - MEM_BASE), len);
    return MC_OK;
}

static const uint8_t SEED[] = "pconfig-test-seed";
#define CAP                                                                                                            \
    (MC_TME_CAP_AES_XTS_128 | MC_TME_CAP_AES_XTS_256 | MC_TME_CAP_BYPASS | (6ull << 32) | (63ull << 36))
#define ACT (MC_TME_ACT_ENABLE | (6ull << 32) | (1ull << 48) | (1ull << 50))

struct fx {
    struct rec rec;
    struct mem mem;
    struct mc_rng *rng;
    struct mc_tme *t;
    struct mc_pconfig_cpu cpu;
};

static void fx_open_cfg(struct fx *f, uint64_t cap, uint64_t act, bool pconfig)
{
    memset(f, 0, sizeof *f);
    struct mc_tme_config cfg = {.tme = true, .pconfig = pconfig, .maxphyaddr = 46, .capability = cap};
    struct mc_tme_backend be = {.ctx = &f->rec, .program_keyid = rec_keyid};
    CHECK(mc_rng_create(SEED, sizeof SEED, &f->rng, NULL) == MC_OK);
    CHECK(mc_tme_create(&cfg, f->rng, &be, &f->t, NULL) == MC_OK);
    if (act != ~0ull)
        CHECK(mc_tme_wrmsr(f->t, MC_MSR_IA32_TME_ACTIVATE, act, NULL, NULL) == MC_OK);
    f->cpu.rax = 0;
    f->cpu.rbx = MEM_BASE + 0x100;
}

static void fx_open(struct fx *f) { fx_open_cfg(f, CAP, ACT, true); }

static void fx_close(struct fx *f)
{
    mc_tme_destroy(f->t);
    mc_rng_destroy(f->rng);
}

static void put_kp(struct fx *f, const struct mc_mktme_key_program *kp)
{
    mc_mktme_kp_encode(kp, f->mem.b + (f->cpu.rbx - MEM_BASE));
}

static struct mc_mktme_key_program kp_make(uint16_t keyid, uint8_t cmd, uint16_t alg)
{
    struct mc_mktme_key_program kp;
    memset(&kp, 0, sizeof kp);
    kp.keyid = keyid;
    kp.command = cmd;
    kp.alg = alg;
    size_t n = alg == MC_MKTME_ALG_AES_XTS_256 ? 32 : 16;
    for (size_t i = 0; i < n; i++) {
        kp.key_field_1[i] = (uint8_t)(0x10 + i);
        kp.key_field_2[i] = (uint8_t)(0xA0 + i);
    }
    return kp;
}

/* Run PCONFIG; returns the event kind (NONE when the instruction completed). */
static enum mc_tme_event_kind run(struct fx *f, struct mc_tme_event *evp)
{
    struct mc_tme_event ev;
    struct mc_error e;
    mc_status s = mc_pconfig(f->t, &f->cpu, mem_read, &f->mem, &ev, &e);
    if (evp)
        *evp = ev;
    if (s == MC_OK)
        return MC_TME_EV_NONE;
    CHECK(s == MC_E_FAULT);
    return ev.kind;
}

/* Expect completion with this RAX; checks the flags too. */
static bool run_rax(struct fx *f, uint64_t want)
{
    f->cpu.rflags = MC_RFLAGS_CF | MC_RFLAGS_PF | MC_RFLAGS_AF | MC_RFLAGS_OF | MC_RFLAGS_SF |
                    (want ? 0 : MC_RFLAGS_ZF) | (1ull << 9) | (1ull << 1);
    f->cpu.rax = 0;
    if (run(f, NULL) != MC_TME_EV_NONE)
        return false;
    uint64_t fl = f->cpu.rflags;
    bool zf_ok = want ? (fl & MC_RFLAGS_ZF) != 0 : (fl & MC_RFLAGS_ZF) == 0;
    bool cleared = !(fl & (MC_RFLAGS_CF | MC_RFLAGS_PF | MC_RFLAGS_AF | MC_RFLAGS_OF | MC_RFLAGS_SF));
    bool kept = (fl & (1ull << 9)) && (fl & (1ull << 1));
    CHECK_MSG(f->cpu.rax == want, "RAX %s, want %s", mc_pconfig_status_name(f->cpu.rax), mc_pconfig_status_name(want));
    CHECK(zf_ok && cleared && kept);
    return f->cpu.rax == want;
}

static void test_struct_layout(void)
{
    struct mc_mktme_key_program kp = kp_make(0x1234, 1, MC_MKTME_ALG_AES_XTS_256), back;
    kp.ctrl_rsvd = 0x5A;
    uint8_t raw[MC_MKTME_KP_SIZE];
    mc_mktme_kp_encode(&kp, raw);
    /* Byte layout by hand: KEYID LE at 0, KEYID_CTRL LE at 2 = cmd | alg<<8 | rsvd<<24. */
    CHECK(raw[0] == 0x34 && raw[1] == 0x12);
    CHECK(raw[2] == 0x01 && raw[3] == 0x04 && raw[4] == 0x00 && raw[5] == 0x5A);
    CHECK(raw[64] == 0x10 && raw[64 + 31] == 0x10 + 31 && raw[128] == 0xA0);
    CHECK(mc_mktme_kp_decode(raw, sizeof raw, &back, NULL) == MC_OK);
    CHECK(back.keyid == 0x1234 && back.command == 1 && back.alg == 4 && back.ctrl_rsvd == 0x5A && !back.rsvd_nonzero);
    CHECK_MEM(back.key_field_1, kp.key_field_1, 64);
    CHECK_MEM(back.key_field_2, kp.key_field_2, 64);
    for (size_t i = 6; i < 64; i++) {
        raw[i] = 0x80;
        CHECK(mc_mktme_kp_decode(raw, sizeof raw, &back, NULL) == MC_OK && back.rsvd_nonzero);
        raw[i] = 0;
    }
    CHECK(mc_mktme_kp_decode(raw, 191, &back, NULL) == MC_E_FORMAT);
    CHECK(sizeof(struct mc_mktme_key_program_raw) == 256);
}

static void test_cpuid_1b(void)
{
    struct fx f;
    uint32_t r[4];
    fx_open(&f);
    mc_pconfig_cpuid_1b(f.t, 0, r);
    CHECK(r[0] == 1 && r[1] == 1 && r[2] == 0 && r[3] == 0);
    for (uint32_t sub = 1; sub < 4; sub++) {
        mc_pconfig_cpuid_1b(f.t, sub, r);
        CHECK(r[0] == 0 && r[1] == 0 && r[2] == 0 && r[3] == 0);
    }
    fx_close(&f);
    fx_open_cfg(&f, CAP, ACT, false);
    mc_pconfig_cpuid_1b(f.t, 0, r);
    CHECK(r[0] == 0 && r[1] == 0);
    fx_close(&f);
}

static void test_ud_and_vmexit(void)
{
    struct fx f;
    fx_open_cfg(&f, CAP, ACT, false);
    struct mc_mktme_key_program kp = kp_make(1, 0, MC_MKTME_ALG_AES_XTS_128);
    put_kp(&f, &kp);
    CHECK(run(&f, NULL) == MC_TME_EV_UD); /* not enumerated */
    fx_close(&f);

    fx_open(&f);
    put_kp(&f, &kp);
    for (unsigned cpl = 1; cpl <= 3; cpl++) {
        f.cpu.cpl = cpl;
        CHECK(run(&f, NULL) == MC_TME_EV_UD);
    }
    f.cpu.cpl = 0;
    static const unsigned ud_pfx[] = {MC_PCONFIG_PFX_LOCK, MC_PCONFIG_PFX_REP, MC_PCONFIG_PFX_OPSIZE, MC_PCONFIG_PFX_VEX};
    for (size_t i = 0; i < 4; i++) {
        f.cpu.prefixes = ud_pfx[i];
        CHECK_MSG(run(&f, NULL) == MC_TME_EV_UD, "prefix %zu", i);
    }
    CHECK(f.rec.calls == 0);
    /* Segment override, address size and REX are ignored. */
    f.cpu.prefixes = MC_PCONFIG_PFX_SEG | MC_PCONFIG_PFX_ADDR | MC_PCONFIG_PFX_REX;
    CHECK(run_rax(&f, MC_PCONFIG_PROG_SUCCESS));
    f.cpu.prefixes = 0;

    /* VMX non-root. */
    f.cpu.vmx_nonroot = true;
    CHECK(run(&f, NULL) == MC_TME_EV_UD);
    f.cpu.vmcs_pconfig_enable = true;
    f.cpu.vmcs_pconfig_exiting = 1ull << 0;
    CHECK(run(&f, NULL) == MC_TME_EV_VMEXIT);
    f.cpu.vmcs_pconfig_exiting = 1ull << 63;
    CHECK(run(&f, NULL) == MC_TME_EV_NONE); /* leaf 0 not trapped */
    f.cpu.rax = 100;                          /* leaves > 62 use bit 63 */
    CHECK(run(&f, NULL) == MC_TME_EV_VMEXIT);
    f.cpu.vmcs_pconfig_exiting = 1ull << 5;
    f.cpu.rax = 5;
    CHECK(run(&f, NULL) == MC_TME_EV_VMEXIT);
    f.cpu.vmcs_pconfig_exiting = 0;
    f.cpu.rax = 5;
    CHECK(run(&f, NULL) == MC_TME_EV_GP); /* not trapped: unsupported leaf */
    fx_close(&f);
}

static void test_gp_cases(void)
{
    struct fx f;
    struct mc_mktme_key_program kp = kp_make(1, 0, MC_MKTME_ALG_AES_XTS_128);
    /* Unsupported leaves. */
    fx_open(&f);
    put_kp(&f, &kp);
    static const uint64_t leaves[] = {1, 2, 62, 63, 0xFFFFFFFFu};
    for (size_t i = 0; i < 5; i++) {
        f.cpu.rax = leaves[i];
        CHECK(run(&f, NULL) == MC_TME_EV_GP);
    }
    /* Every misaligned RBX inside one 256-byte block. */
    uint64_t base = f.cpu.rbx;
    for (unsigned off = 1; off < 256; off++) {
        f.cpu.rbx = base + off;
        f.cpu.rax = 0;
        CHECK_MSG(run(&f, NULL) == MC_TME_EV_GP, "offset %u", off);
    }
    f.cpu.rbx = base;
    CHECK(f.rec.calls == 0);
    fx_close(&f);

    /* TME not locked / not enabled / no KeyID bits. */
    fx_open_cfg(&f, CAP, ~0ull, true);
    put_kp(&f, &kp);
    CHECK(run(&f, NULL) == MC_TME_EV_GP);
    fx_close(&f);
    fx_open_cfg(&f, CAP, 0, true); /* locked, disabled */
    put_kp(&f, &kp);
    CHECK(run(&f, NULL) == MC_TME_EV_GP);
    fx_close(&f);
    fx_open_cfg(&f, CAP, MC_TME_ACT_ENABLE | (1ull << 48), true); /* TME on, K = 0 */
    put_kp(&f, &kp);
    CHECK(run(&f, NULL) == MC_TME_EV_GP);
    fx_close(&f);

    /* Unmapped structure: #PF with the address, before any field check. */
    fx_open(&f);
    struct mc_tme_event ev;
    f.cpu.rbx = 0x2000000;
    CHECK(run(&f, &ev) == MC_TME_EV_PF && ev.addr == 0x2000000);
    f.cpu.rbx = MEM_BASE + MEM_SIZE; /* the first unmapped 256-byte block */
    f.cpu.rax = 0;
    CHECK(run(&f, &ev) == MC_TME_EV_PF && ev.addr == MEM_BASE + MEM_SIZE);
    f.cpu.rbx = MEM_BASE + MEM_SIZE - 256; /* the last block: 192 bytes fit exactly */
    f.cpu.rax = 0;
    put_kp(&f, &kp);
    CHECK(run_rax(&f, MC_PCONFIG_PROG_SUCCESS));
    f.cpu.rbx = MEM_BASE + 0x100;

    /* Reserved bytes 6..63, one at a time; KEYID_CTRL bits 31:24 one at a time. */
    uint8_t *raw = f.mem.b + 0x100;
    for (unsigned i = 6; i < 64; i++) {
        put_kp(&f, &kp);
        raw[i] = 1;
        f.cpu.rax = 0;
        CHECK_MSG(run(&f, NULL) == MC_TME_EV_GP, "reserved byte %u", i);
    }
    for (unsigned b = 24; b < 32; b++) {
        put_kp(&f, &kp);
        raw[2 + b / 8] |= (uint8_t)(1u << (b % 8));
        f.cpu.rax = 0;
        CHECK_MSG(run(&f, NULL) == MC_TME_EV_GP, "KEYID_CTRL bit %u", b);
    }
    /* Bytes 192..255 are not part of the structure. */
    put_kp(&f, &kp);
    memset(raw + 192, 0xFF, 64);
    CHECK(run_rax(&f, MC_PCONFIG_PROG_SUCCESS));
    memset(raw + 192, 0, 64);
    /* Key bytes beyond the key size, each byte of each field, for both algorithms. */
    for (int a = 0; a < 2; a++) {
        uint16_t alg = a ? MC_MKTME_ALG_AES_XTS_256 : MC_MKTME_ALG_AES_XTS_128;
        unsigned first = a ? 32 : 16;
        struct mc_mktme_key_program k2 = kp_make(2, 0, alg);
        for (unsigned field = 0; field < 2; field++)
            for (unsigned i = first; i < 64; i++) {
                put_kp(&f, &k2);
                raw[(field ? 128 : 64) + i] = 0x01;
                f.cpu.rax = 0;
                CHECK_MSG(run(&f, NULL) == MC_TME_EV_GP, "alg %u field %u byte %u", alg, field + 1, i);
            }
        /* The same applies to CLEAR_KEY / NO_ENCRYPT / RANDOM, and before the command check. */
        for (uint8_t cmd = 1; cmd < 8; cmd++) {
            k2.command = cmd;
            put_kp(&f, &k2);
            raw[128 + 63] = 0x80;
            f.cpu.rax = 0;
            CHECK_MSG(run(&f, NULL) == MC_TME_EV_GP, "cmd %u", cmd);
        }
    }
    /* With both algorithm bits set, the XTS-128 bound applies (and then INVALID_ENC_ALG). */
    struct mc_mktme_key_program both = kp_make(2, 0, MC_MKTME_ALG_AES_XTS_256);
    both.alg = MC_MKTME_ALG_AES_XTS_128 | MC_MKTME_ALG_AES_XTS_256;
    put_kp(&f, &both);
    f.cpu.rax = 0;
    CHECK(run(&f, NULL) == MC_TME_EV_GP);
    both = kp_make(2, 0, MC_MKTME_ALG_AES_XTS_128);
    both.alg = MC_MKTME_ALG_AES_XTS_128 | MC_MKTME_ALG_AES_XTS_256;
    put_kp(&f, &both);
    CHECK(run_rax(&f, MC_PCONFIG_INVALID_ENC_ALG));
    /* Nothing reached the key table through any of the faults (two successes above). */
    CHECK(f.rec.calls == 2);
    fx_close(&f);
}

static void test_return_codes(void)
{
    struct fx f;
    fx_open(&f);
    struct mc_mktme_key_program kp;
    /* INVALID_PROG_CMD: every command 4..255. */
    for (unsigned cmd = 4; cmd < 256; cmd++) {
        kp = kp_make(1, (uint8_t)cmd, MC_MKTME_ALG_AES_XTS_128);
        put_kp(&f, &kp);
        CHECK_MSG(run_rax(&f, MC_PCONFIG_INVALID_PROG_CMD), "cmd %u", cmd);
    }
    /* INVALID_KEYID: 0 and 64..65535 (sampled every value up to 4096, then the top). */
    for (uint32_t id = 0; id < 65536; id = id == 0 ? 64 : (id < 4096 ? id + 1 : id + 997)) {
        kp = kp_make((uint16_t)id, 0, MC_MKTME_ALG_AES_XTS_128);
        put_kp(&f, &kp);
        CHECK_MSG(run_rax(&f, MC_PCONFIG_INVALID_KEYID), "keyid %u", id);
    }
    kp = kp_make(0xFFFF, 0, MC_MKTME_ALG_AES_XTS_128);
    put_kp(&f, &kp);
    CHECK(run_rax(&f, MC_PCONFIG_INVALID_KEYID));
    /* INVALID_ENC_ALG: no bit, every single bit other than 0 and 2, pairs. */
    kp = kp_make(1, 0, 0);
    put_kp(&f, &kp);
    CHECK(run_rax(&f, MC_PCONFIG_INVALID_ENC_ALG));
    for (unsigned b = 0; b < 16; b++) {
        if (b == 0 || b == 2)
            continue;
        kp = kp_make(1, 0, 0);
        kp.alg = (uint16_t)(1u << b);
        put_kp(&f, &kp);
        CHECK_MSG(run_rax(&f, MC_PCONFIG_INVALID_ENC_ALG), "alg bit %u", b);
    }
    kp = kp_make(1, 0, 0);
    kp.alg = MC_MKTME_ALG_AES_XTS_128 | (1u << 8);
    put_kp(&f, &kp);
    CHECK(run_rax(&f, MC_PCONFIG_INVALID_ENC_ALG));
    /* DEVICE_BUSY while another processor holds the key-table lock. */
    kp = kp_make(1, 0, MC_MKTME_ALG_AES_XTS_128);
    put_kp(&f, &kp);
    mc_tme_hold_key_table_lock(f.t, true);
    for (uint8_t cmd = 0; cmd < 4; cmd++) {
        kp.command = cmd;
        put_kp(&f, &kp);
        CHECK(run_rax(&f, MC_PCONFIG_DEVICE_BUSY));
    }
    mc_tme_hold_key_table_lock(f.t, false);
    /* ENTROPY_ERROR: data-key draw fails, then tweak-key draw fails; the lock is released. */
    kp = kp_make(1, MC_PCONFIG_KEYID_SET_KEY_RANDOM, MC_MKTME_ALG_AES_XTS_128);
    put_kp(&f, &kp);
    mc_tme_inject_rng_failures(f.t, 1);
    CHECK(run_rax(&f, MC_PCONFIG_ENTROPY_ERROR));
    CHECK(f.rec.calls == 0);
    CHECK(run_rax(&f, MC_PCONFIG_PROG_SUCCESS)); /* retry succeeds */
    CHECK(f.rec.calls == 1);
    /* DIRECT never needs entropy. */
    kp.command = MC_PCONFIG_KEYID_SET_KEY_DIRECT;
    put_kp(&f, &kp);
    mc_tme_inject_rng_failures(f.t, 5);
    CHECK(run_rax(&f, MC_PCONFIG_PROG_SUCCESS));
    mc_tme_inject_rng_failures(f.t, 0);
    fx_close(&f);

    /* MK_TME_MAX_KEYS smaller than 2^K - 1: KeyIDs above it are invalid. */
    fx_open_cfg(&f, MC_TME_CAP_AES_XTS_128 | (6ull << 32) | (50ull << 36), MC_TME_ACT_ENABLE | (6ull << 32) | (1ull << 48),
                true);
    kp = kp_make(50, 0, MC_MKTME_ALG_AES_XTS_128);
    put_kp(&f, &kp);
    CHECK(run_rax(&f, MC_PCONFIG_PROG_SUCCESS));
    kp.keyid = 51;
    put_kp(&f, &kp);
    CHECK(run_rax(&f, MC_PCONFIG_INVALID_KEYID));
    /* An algorithm the part has but TME_ACTIVATE did not allow. */
    fx_close(&f);
    fx_open_cfg(&f, CAP, MC_TME_ACT_ENABLE | (6ull << 32) | (1ull << 48), true);
    kp = kp_make(3, 0, MC_MKTME_ALG_AES_XTS_256);
    put_kp(&f, &kp);
    CHECK(run_rax(&f, MC_PCONFIG_INVALID_ENC_ALG));
    /* An activated algorithm must be named even for CLEAR_KEY and NO_ENCRYPT. */
    kp = kp_make(3, MC_PCONFIG_KEYID_CLEAR_KEY, 0);
    put_kp(&f, &kp);
    CHECK(run_rax(&f, MC_PCONFIG_INVALID_ENC_ALG));
    kp = kp_make(3, MC_PCONFIG_KEYID_NO_ENCRYPT, MC_MKTME_ALG_AES_XTS_256);
    put_kp(&f, &kp);
    CHECK(run_rax(&f, MC_PCONFIG_INVALID_ENC_ALG));
    CHECK(f.rec.calls == 0);
    fx_close(&f);
}

static void test_check_order(void)
{
    struct fx f;
    fx_open(&f);
    struct mc_mktme_key_program kp;
    /* command before KeyID before algorithm before lock before entropy */
    kp = kp_make(0, 9, 0);
    put_kp(&f, &kp);
    mc_tme_hold_key_table_lock(f.t, true);
    mc_tme_inject_rng_failures(f.t, 1);
    CHECK(run_rax(&f, MC_PCONFIG_INVALID_PROG_CMD));
    kp.command = MC_PCONFIG_KEYID_SET_KEY_RANDOM;
    put_kp(&f, &kp);
    CHECK(run_rax(&f, MC_PCONFIG_INVALID_KEYID));
    kp.keyid = 7;
    put_kp(&f, &kp);
    CHECK(run_rax(&f, MC_PCONFIG_INVALID_ENC_ALG));
    kp = kp_make(7, MC_PCONFIG_KEYID_SET_KEY_RANDOM, MC_MKTME_ALG_AES_XTS_128);
    put_kp(&f, &kp);
    CHECK(run_rax(&f, MC_PCONFIG_DEVICE_BUSY));
    mc_tme_hold_key_table_lock(f.t, false);
    CHECK(run_rax(&f, MC_PCONFIG_ENTROPY_ERROR)); /* the injected failure was not consumed before */
    CHECK(run_rax(&f, MC_PCONFIG_PROG_SUCCESS));
    /* Faults come before any return code. */
    kp = kp_make(0, 9, 0);
    put_kp(&f, &kp);
    f.mem.b[0x100 + 10] = 1;
    f.cpu.rax = 0;
    CHECK(run(&f, NULL) == MC_TME_EV_GP);
    fx_close(&f);
}

static void test_commands(void)
{
    struct fx f;
    fx_open(&f);
    enum mc_keyid_mode mode;
    enum mc_cipher c;
    /* DIRECT, AES-XTS-128: engine key = KEY_FIELD_1[15:0] || KEY_FIELD_2[15:0]. */
    struct mc_mktme_key_program kp = kp_make(1, MC_PCONFIG_KEYID_SET_KEY_DIRECT, MC_MKTME_ALG_AES_XTS_128);
    put_kp(&f, &kp);
    CHECK(run_rax(&f, 0));
    CHECK(f.rec.keyid == 1 && f.rec.mode == MC_KEYID_MODE_ENCRYPT && f.rec.c == MC_CIPHER_AES128_XTS &&
          f.rec.keylen == 32);
    CHECK_MEM(f.rec.key, kp.key_field_1, 16);
    CHECK_MEM(f.rec.key + 16, kp.key_field_2, 16);
    CHECK(mc_tme_keyid_entry(f.t, 1, &mode, &c, NULL) == MC_OK && mode == MC_KEYID_MODE_ENCRYPT &&
          c == MC_CIPHER_AES128_XTS);
    struct mc_tme_route r;
    uint64_t pa;
    CHECK(mc_tme_pa_compose(f.t, 0x3000, 1, &pa, NULL) == MC_OK);
    mc_tme_route(f.t, pa, &r);
    CHECK(r.kind == MC_TME_ROUTE_KEYID && r.keyid == 1 && r.pa == 0x3000);
    /* DIRECT, AES-XTS-256 on the top KeyID. */
    kp = kp_make(63, MC_PCONFIG_KEYID_SET_KEY_DIRECT, MC_MKTME_ALG_AES_XTS_256);
    put_kp(&f, &kp);
    CHECK(run_rax(&f, 0));
    CHECK(f.rec.keyid == 63 && f.rec.c == MC_CIPHER_AES256_XTS && f.rec.keylen == 64);
    CHECK_MEM(f.rec.key, kp.key_field_1, 32);
    CHECK_MEM(f.rec.key + 32, kp.key_field_2, 32);
    /* Reprogramming a KeyID replaces its key. */
    kp.key_field_1[0] ^= 0xFF;
    put_kp(&f, &kp);
    CHECK(run_rax(&f, 0));
    CHECK(f.rec.key[0] == (uint8_t)(0x10 ^ 0xFF));
    /* CLEAR_KEY: back to TME behaviour (platform key). */
    kp = kp_make(1, MC_PCONFIG_KEYID_CLEAR_KEY, MC_MKTME_ALG_AES_XTS_128);
    put_kp(&f, &kp);
    CHECK(run_rax(&f, 0));
    CHECK(f.rec.mode == MC_KEYID_MODE_TME && f.rec.keylen == 0 && f.rec.c == MC_CIPHER_NONE);
    CHECK(mc_tme_keyid_entry(f.t, 1, &mode, &c, NULL) == MC_OK && mode == MC_KEYID_MODE_TME && c == MC_CIPHER_NONE);
    mc_tme_route(f.t, pa, &r);
    CHECK(r.kind == MC_TME_ROUTE_PLATFORM);
    /* NO_ENCRYPT with the other algorithm bit (any activated algorithm is accepted). */
    kp = kp_make(1, MC_PCONFIG_KEYID_NO_ENCRYPT, MC_MKTME_ALG_AES_XTS_256);
    put_kp(&f, &kp);
    CHECK(run_rax(&f, 0));
    CHECK(f.rec.mode == MC_KEYID_MODE_NO_ENCRYPT);
    mc_tme_route(f.t, pa, &r);
    CHECK(r.kind == MC_TME_ROUTE_PLAIN);
    /* DIRECT with equal data and tweak keys: the engine cannot hold it; nothing changes. */
    kp = kp_make(2, MC_PCONFIG_KEYID_SET_KEY_DIRECT, MC_MKTME_ALG_AES_XTS_128);
    memcpy(kp.key_field_2, kp.key_field_1, 16);
    put_kp(&f, &kp);
    unsigned calls = f.rec.calls;
    struct mc_error e;
    f.cpu.rax = 0;
    CHECK(mc_pconfig(f.t, &f.cpu, mem_read, &f.mem, NULL, &e) == MC_E_UNSUPPORTED);
    CHECK(f.rec.calls == calls);
    CHECK(mc_tme_keyid_entry(f.t, 2, &mode, &c, NULL) == MC_OK && mode == MC_KEYID_MODE_TME);
    fx_close(&f);
}

/* RANDOM: key = hardware RNG draws XOR the software entropy; recomputed with an independent
 * DRBG from the same seed, replaying the same draws (activation: two halves, then two). */
static void test_random_mixing(void)
{
    for (int a = 0; a < 2; a++) {
        uint16_t alg = a ? MC_MKTME_ALG_AES_XTS_256 : MC_MKTME_ALG_AES_XTS_128;
        size_t half = a ? 32 : 16;
        struct fx f;
        fx_open(&f);
        struct mc_mktme_key_program kp = kp_make(9, MC_PCONFIG_KEYID_SET_KEY_RANDOM, alg);
        put_kp(&f, &kp);
        CHECK(run_rax(&f, 0));
        CHECK(f.rec.keylen == 2 * half && f.rec.mode == MC_KEYID_MODE_ENCRYPT);
        struct mc_rng *ref;
        uint8_t act[16], d[32], t[32];
        CHECK(mc_rng_create(SEED, sizeof SEED, &ref, NULL) == MC_OK);
        CHECK(mc_rng_bytes(ref, act, 16, NULL) == MC_OK && mc_rng_bytes(ref, act, 16, NULL) == MC_OK);
        CHECK(mc_rng_bytes(ref, d, half, NULL) == MC_OK && mc_rng_bytes(ref, t, half, NULL) == MC_OK);
        for (size_t i = 0; i < half; i++) {
            d[i] ^= kp.key_field_1[i];
            t[i] ^= kp.key_field_2[i];
        }
        CHECK_MEM(f.rec.key, d, half);
        CHECK_MEM(f.rec.key + half, t, half);
        /* A second RANDOM gives a new key. */
        uint8_t first[64];
        memcpy(first, f.rec.key, 64);
        CHECK(run_rax(&f, 0));
        CHECK(memcmp(first, f.rec.key, 2 * half) != 0);
        mc_rng_destroy(ref);
        fx_close(&f);
    }
}

int main(void)
{
    RUN(test_struct_layout);
    RUN(test_cpuid_1b);
    RUN(test_ud_and_vmexit);
    RUN(test_gp_cases);
    RUN(test_return_codes);
    RUN(test_check_order);
    RUN(test_commands);
    RUN(test_random_mixing);
    return check_summary();
}
