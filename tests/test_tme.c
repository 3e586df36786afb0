/* Tests of the TME/MKTME MSR model against shared/spec/cpu-and-config.md §3.2-3.4:
 * every WRMSR outcome of the digest's table, every reserved bit one by one, lock rules,
 * the exclusion range, KeyID address bits and access routing. */
#include <memcrypt/tme.h>

#include "check.h"
#include "crypto/crypto.h"

/* A recording stand-in for the memory controller. */
struct rec {
    unsigned platform_calls, keyid_calls;
    enum mc_cipher pc;
    bool bypass;
    uint64_t activate;
    uint8_t pkey[64];
    size_t pkeylen;
    mc_status fail_with;
};

static mc_status rec_platform(void *ctx, enum mc_cipher c, const uint8_t *key, size_t keylen, uint64_t activate,
                              struct mc_error *err)
{
    struct rec *r = ctx;
    if (r->fail_with)
        return mc_seterr(err, r->fail_with, "injected backend failure");
    r->platform_calls++;
    r->pc = c;
    r->bypass = (activate & MC_TME_ACT_BYPASS) != 0;
    r->activate = activate;
    r->pkeylen = keylen;
    memset(r->pkey, 0, sizeof r->pkey);
    if (key)
        memcpy(r->pkey, key, keylen);
    return MC_OK;
}

static mc_status rec_keyid(void *ctx, uint32_t keyid, enum mc_keyid_mode mode, enum mc_cipher c, const uint8_t *key,
                           size_t keylen, struct mc_error *err)
{
    (void)keyid; (void)mode; (void)c; (void)key; (void)keylen; (void)err;
    ((struct rec *)ctx)->keyid_calls++;
    return MC_OK;
}

#define M 46u
/* An Intel server part: XTS-128 and -256, bypass, 6 KeyID bits, 63 keys. */
static const uint64_t CAP = MC_TME_CAP_AES_XTS_128 | MC_TME_CAP_AES_XTS_256 | MC_TME_CAP_BYPASS |
                            (6ull << MC_TME_CAP_MAX_KEYID_BITS_SHIFT) | (63ull << MC_TME_CAP_MAX_KEYS_SHIFT);
static const uint8_t SEED[] = "tme-test-seed";

struct fx {
    struct rec rec;
    struct mc_rng *rng;
    struct mc_tme *t;
};

static void fx_open(struct fx *f, uint64_t cap, bool save_ok)
{
    memset(f, 0, sizeof *f);
    struct mc_tme_config cfg = {.tme = true, .pconfig = true, .maxphyaddr = M, .capability = cap,
                                .save_key_supported = save_ok};
    struct mc_tme_backend be = {&f->rec, rec_platform, rec_keyid};
    CHECK(mc_rng_create(SEED, sizeof SEED, &f->rng, NULL) == MC_OK);
    CHECK(mc_tme_create(&cfg, f->rng, &be, &f->t, NULL) == MC_OK);
}

static void fx_close(struct fx *f)
{
    mc_tme_destroy(f->t);
    mc_rng_destroy(f->rng);
}

static uint64_t rd(struct mc_tme *t, uint32_t msr)
{
    uint64_t v = 0xDEAD;
    CHECK(mc_tme_rdmsr(t, msr, &v, NULL, NULL) == MC_OK);
    return v;
}

static bool wr_gp(struct mc_tme *t, uint32_t msr, uint64_t v)
{
    struct mc_tme_event ev = {.kind = MC_TME_EV_NONE};
    struct mc_error e;
    mc_status s = mc_tme_wrmsr(t, msr, v, &ev, &e);
    return s == MC_E_FAULT && ev.kind == MC_TME_EV_GP;
}

static bool wr_ok(struct mc_tme *t, uint32_t msr, uint64_t v)
{
    struct mc_tme_event ev;
    return mc_tme_wrmsr(t, msr, v, &ev, NULL) == MC_OK && ev.kind == MC_TME_EV_NONE;
}

/* Firmware's usual value: enable, new key, AES-XTS-128, 6 KeyID bits, MKTME algs 128+256. */
static const uint64_t ACT = MC_TME_ACT_ENABLE | (6ull << 32) | (1ull << 48) | (1ull << 50);

static void test_create_validation(void)
{
    struct mc_tme *t = NULL;
    struct mc_error e;
    struct mc_tme_config c = {.tme = true, .maxphyaddr = 46, .capability = CAP};
    c.maxphyaddr = 35;
    CHECK(mc_tme_create(&c, NULL, NULL, &t, &e) == MC_E_INVAL && !t);
    c.maxphyaddr = 53;
    CHECK(mc_tme_create(&c, NULL, NULL, &t, &e) == MC_E_INVAL);
    c.maxphyaddr = 46;
    c.capability = CAP | (1ull << 4);
    CHECK(mc_tme_create(&c, NULL, NULL, &t, &e) == MC_E_INVAL);
    c.capability = CAP | (1ull << 52);
    CHECK(mc_tme_create(&c, NULL, NULL, &t, &e) == MC_E_INVAL);
    c.capability = CAP | MC_TME_CAP_AES_XTS_128_INTEGRITY;
    CHECK(mc_tme_create(&c, NULL, NULL, &t, &e) == MC_E_UNSUPPORTED);
    c.capability = MC_TME_CAP_AES_XTS_128 | (6ull << 32); /* MAX_KEYS 0 with KeyID bits */
    CHECK(mc_tme_create(&c, NULL, NULL, &t, &e) == MC_E_INVAL);
    c.capability = 0;
    CHECK(mc_tme_create(&c, NULL, NULL, &t, &e) == MC_E_INVAL); /* TME but no algorithm */
    c.tme = false;
    c.capability = CAP;
    CHECK(mc_tme_create(&c, NULL, NULL, &t, &e) == MC_E_INVAL);
    CHECK(mc_tme_create(NULL, NULL, NULL, &t, &e) == MC_E_INVAL);
}

static void test_not_enumerated(void)
{
    struct mc_tme *t;
    struct mc_tme_config c = {.tme = false, .maxphyaddr = 46};
    CHECK(mc_tme_create(&c, NULL, NULL, &t, NULL) == MC_OK);
    static const uint32_t msrs[] = {0x87, 0x981, 0x982, 0x983, 0x984, 0x9FF};
    for (size_t i = 0; i < 6; i++) {
        uint64_t v;
        struct mc_tme_event ev;
        CHECK(mc_tme_rdmsr(t, msrs[i], &v, &ev, NULL) == MC_E_FAULT && ev.kind == MC_TME_EV_GP);
        CHECK(wr_gp(t, msrs[i], 0));
    }
    uint64_t v;
    CHECK(mc_tme_rdmsr(t, 0x10, &v, NULL, NULL) == MC_E_NOTFOUND);
    CHECK(mc_tme_wrmsr(t, 0x985, 0, NULL, NULL) == MC_E_NOTFOUND);
    mc_tme_destroy(t);
}

static void test_capability_ro(void)
{
    struct fx f;
    fx_open(&f, CAP, true);
    CHECK_EQ_U64(rd(f.t, 0x981), CAP);
    CHECK(wr_gp(f.t, 0x981, 0));
    CHECK(wr_gp(f.t, 0x981, CAP));
    CHECK_EQ_U64(rd(f.t, 0x981), CAP);
    CHECK_EQ_U64(rd(f.t, 0x982), 0);
    fx_close(&f);
}

/* Every bit of IA32_TME_ACTIVATE, one at a time, on top of a valid activation value. The
 * reserved set is spelled out from the digest's table, not computed by the model. */
static void test_activate_reserved_bits(void)
{
    for (int save_ok = 0; save_ok < 2; save_ok++)
        for (int bypass_cap = 0; bypass_cap < 2; bypass_cap++) {
            uint64_t cap = bypass_cap ? CAP : (CAP & ~MC_TME_CAP_BYPASS);
            for (unsigned b = 0; b < 64; b++) {
                bool reserved = (b >= 9 && b <= 30) || (b >= 40 && b <= 47) || b >= 52 || b == 8 ||
                                (b >= 36 && b <= 39) || (b == 3 && !save_ok) || (b == 31 && !bypass_cap);
                if (!reserved)
                    continue;
                struct fx f;
                fx_open(&f, cap, save_ok);
                CHECK_MSG(wr_gp(f.t, 0x982, ACT | (1ull << b)), "bit %u save=%d bypass=%d", b, save_ok, bypass_cap);
                CHECK_EQ_U64(rd(f.t, 0x982), 0);
                CHECK(f.rec.platform_calls == 0);
                CHECK(!mc_tme_locked(f.t));
                /* and the unit still accepts a valid write afterwards */
                CHECK(wr_ok(f.t, 0x982, ACT));
                fx_close(&f);
            }
            /* The non-reserved optional bits are accepted. */
            struct fx f;
            fx_open(&f, cap, save_ok);
            uint64_t v = ACT | (save_ok ? MC_TME_ACT_SAVE_KEY : 0) | (bypass_cap ? MC_TME_ACT_BYPASS : 0);
            CHECK(wr_ok(f.t, 0x982, v));
            CHECK_EQ_U64(rd(f.t, 0x982), v | MC_TME_ACT_LOCK);
            fx_close(&f);
        }
}

static void test_activate_policy_and_keyid_bits(void)
{
    struct fx f;
    for (unsigned pol = 0; pol < 16; pol++) {
        fx_open(&f, CAP, true);
        uint64_t v = ACT | ((uint64_t)pol << 4);
        if (pol == 0 || pol == 2)
            CHECK_MSG(wr_ok(f.t, 0x982, v), "policy %u", pol);
        else
            CHECK_MSG(wr_gp(f.t, 0x982, v), "policy %u", pol); /* 1: integrity not enumerated */
        fx_close(&f);
    }
    /* AES-XTS-256 policy on a part that only enumerates 128. */
    uint64_t cap128 = MC_TME_CAP_AES_XTS_128 | (6ull << 32) | (63ull << 36);
    fx_open(&f, cap128, true);
    CHECK(wr_gp(f.t, 0x982, MC_TME_ACT_ENABLE | (2u << 4)));
    CHECK(wr_gp(f.t, 0x982, MC_TME_ACT_ENABLE | (6ull << 32) | (1ull << 50))); /* alg 256 not enumerated */
    CHECK(wr_ok(f.t, 0x982, MC_TME_ACT_ENABLE | (6ull << 32) | (1ull << 48)));
    fx_close(&f);
    /* Integrity algorithm bits are never enumerated by the modelled parts. */
    for (unsigned b = 49; b <= 51; b += 2) {
        fx_open(&f, CAP, true);
        CHECK_MSG(wr_gp(f.t, 0x982, ACT | (1ull << b)), "alg bit %u", b);
        fx_close(&f);
    }
    /* KEYID_BITS 0..15 against MAX 6. */
    for (unsigned k = 0; k < 16; k++) {
        fx_open(&f, CAP, true);
        uint64_t v = MC_TME_ACT_ENABLE | ((uint64_t)k << 32) | (1ull << 48);
        if (k <= 6) {
            CHECK_MSG(wr_ok(f.t, 0x982, v), "k=%u", k);
            CHECK(mc_tme_keyid_bits(f.t) == k);
            uint32_t expect = k ? ((1u << k) - 1) : 0;
            CHECK(mc_tme_num_keyids(f.t) == expect);
        } else {
            CHECK_MSG(wr_gp(f.t, 0x982, v), "k=%u", k);
        }
        fx_close(&f);
    }
    /* KEYID_BITS > 0 with enable = 0. */
    fx_open(&f, CAP, true);
    CHECK(wr_gp(f.t, 0x982, (1ull << 32)));
    CHECK(!mc_tme_locked(f.t));
    fx_close(&f);
    /* MAX_KEYS smaller than 2^K - 1. */
    fx_open(&f, MC_TME_CAP_AES_XTS_128 | (6ull << 32) | (50ull << 36), true);
    CHECK(wr_ok(f.t, 0x982, MC_TME_ACT_ENABLE | (6ull << 32) | (1ull << 48)));
    CHECK(mc_tme_num_keyids(f.t) == 50);
    CHECK_EQ_U64(rd(f.t, 0x87), 50);
    fx_close(&f);
}

static void test_activate_outcomes(void)
{
    struct fx f;
    /* enable = 0: off, locked, reads ...01b. */
    fx_open(&f, CAP, true);
    CHECK(wr_ok(f.t, 0x982, 0));
    CHECK_EQ_U64(rd(f.t, 0x982) & 7, 1);
    CHECK(mc_tme_locked(f.t) && !mc_tme_enabled(f.t));
    CHECK(f.rec.platform_calls == 0);
    CHECK(mc_tme_platform_cipher(f.t) == MC_CIPHER_NONE);
    CHECK(wr_gp(f.t, 0x982, ACT)); /* locked */
    fx_close(&f);

    /* enable = 1, new key, RNG ok: reads ...011b; the key is the RNG's two draws. */
    fx_open(&f, CAP, true);
    CHECK(wr_ok(f.t, 0x982, ACT));
    CHECK_EQ_U64(rd(f.t, 0x982), ACT | 1);
    CHECK_EQ_U64(rd(f.t, 0x982) & 7, 3);
    CHECK(f.rec.platform_calls == 1 && f.rec.pc == MC_CIPHER_AES128_XTS && f.rec.pkeylen == 32 && !f.rec.bypass);
    CHECK_EQ_U64(f.rec.activate, ACT | 1);
    {
        struct mc_rng *ref;
        uint8_t k[32];
        CHECK(mc_rng_create(SEED, sizeof SEED, &ref, NULL) == MC_OK);
        CHECK(mc_rng_bytes(ref, k, 16, NULL) == MC_OK && mc_rng_bytes(ref, k + 16, 16, NULL) == MC_OK);
        CHECK_MEM(f.rec.pkey, k, 32);
        mc_rng_destroy(ref);
    }
    CHECK(mc_tme_enabled(f.t) && mc_tme_keyid_bits(f.t) == 6 && mc_tme_num_keyids(f.t) == 63);
    CHECK(mc_tme_allowed_algs(f.t) == (MC_MKTME_ALG_AES_XTS_128 | MC_MKTME_ALG_AES_XTS_256));
    /* Every write after lock faults, whatever the value, and changes nothing. */
    CHECK(wr_gp(f.t, 0x982, ACT));
    CHECK(wr_gp(f.t, 0x982, 0));
    CHECK(wr_gp(f.t, 0x982, MC_TME_ACT_LOCK));
    CHECK(wr_gp(f.t, 0x983, 0));
    CHECK(wr_gp(f.t, 0x984, 0));
    CHECK_EQ_U64(rd(f.t, 0x982), ACT | 1);
    CHECK(f.rec.platform_calls == 1);
    fx_close(&f);

    /* AES-XTS-256 policy: 64-byte key. */
    fx_open(&f, CAP, true);
    CHECK(wr_ok(f.t, 0x982, ACT | (2u << 4)));
    CHECK(f.rec.pc == MC_CIPHER_AES256_XTS && f.rec.pkeylen == 64);
    CHECK(mc_tme_platform_cipher(f.t) == MC_CIPHER_AES256_XTS);
    fx_close(&f);

    /* RNG failure (either draw): not enabled, not locked, reads ...000b, KeyID bits not
     * committed; a retry succeeds. */
    for (unsigned fails = 1; fails <= 2; fails++) {
        fx_open(&f, CAP, true);
        mc_tme_inject_rng_failures(f.t, fails);
        CHECK(wr_ok(f.t, 0x982, ACT));
        uint64_t v = rd(f.t, 0x982);
        CHECK_EQ_U64(v & 7, 0);
        CHECK_EQ_U64((v >> 32) & 0xF, 0);
        CHECK_EQ_U64(v >> 48, 0);
        CHECK(!mc_tme_locked(f.t) && mc_tme_keyid_bits(f.t) == 0 && f.rec.platform_calls == 0);
        if (fails == 2) {
            CHECK(wr_ok(f.t, 0x982, ACT)); /* one injected failure left */
            CHECK_EQ_U64(rd(f.t, 0x982) & 7, 0);
        }
        CHECK(wr_ok(f.t, 0x982, ACT));
        CHECK_EQ_U64(rd(f.t, 0x982), ACT | 1);
        fx_close(&f);
    }

    /* Key select = 1 with no saved key: restored key is zero, reads ...100b, unlocked. */
    fx_open(&f, CAP, true);
    CHECK(wr_ok(f.t, 0x982, ACT | MC_TME_ACT_KEY_SELECT));
    CHECK_EQ_U64(rd(f.t, 0x982) & 7, 4);
    CHECK(!mc_tme_locked(f.t) && f.rec.platform_calls == 0);
    fx_close(&f);

    /* Save on cold boot, standby, restore: reads ...111b and the same key comes back. */
    fx_open(&f, CAP, true);
    CHECK(wr_ok(f.t, 0x982, ACT | MC_TME_ACT_SAVE_KEY));
    uint8_t first[64];
    memcpy(first, f.rec.pkey, 64);
    CHECK(mc_tme_standby_resume(f.t, NULL) == MC_OK);
    CHECK(!mc_tme_locked(f.t) && rd(f.t, 0x982) == 0);
    CHECK(wr_ok(f.t, 0x982, ACT | MC_TME_ACT_KEY_SELECT));
    CHECK_EQ_U64(rd(f.t, 0x982) & 7, 7);
    CHECK_MEM(f.rec.pkey, first, 32);
    /* A restore with a different key size (policy 256) finds no usable key. */
    CHECK(mc_tme_standby_resume(f.t, NULL) == MC_OK);
    CHECK(wr_ok(f.t, 0x982, ACT | MC_TME_ACT_KEY_SELECT | (2u << 4)));
    CHECK_EQ_U64(rd(f.t, 0x982) & 7, 4);
    /* A cold reset wipes the saved key. */
    CHECK(mc_tme_reset(f.t, NULL) == MC_OK);
    CHECK(wr_ok(f.t, 0x982, ACT | MC_TME_ACT_KEY_SELECT));
    CHECK_EQ_U64(rd(f.t, 0x982) & 7, 4);
    fx_close(&f);

    /* Without save: a standby resume has nothing to restore. */
    fx_open(&f, CAP, true);
    CHECK(wr_ok(f.t, 0x982, ACT));
    CHECK(mc_tme_standby_resume(f.t, NULL) == MC_OK);
    CHECK(wr_ok(f.t, 0x982, ACT | MC_TME_ACT_KEY_SELECT));
    CHECK_EQ_U64(rd(f.t, 0x982) & 7, 4);
    fx_close(&f);

    /* A backend failure is passed through and nothing changes. */
    fx_open(&f, CAP, true);
    f.rec.fail_with = MC_E_FULL;
    struct mc_error e;
    CHECK(mc_tme_wrmsr(f.t, 0x982, ACT, NULL, &e) == MC_E_FULL);
    CHECK_EQ_U64(rd(f.t, 0x982), 0);
    f.rec.fail_with = MC_OK;
    CHECK(wr_ok(f.t, 0x982, ACT));
    fx_close(&f);

    /* Writing the lock bit itself is ignored (not a fault): the write still activates. */
    fx_open(&f, CAP, true);
    CHECK(wr_ok(f.t, 0x982, ACT | MC_TME_ACT_LOCK));
    CHECK_EQ_U64(rd(f.t, 0x982), ACT | 1);
    fx_close(&f);
}

static void test_exclusion_msrs(void)
{
    struct fx f;
    fx_open(&f, CAP, true);
    /* Reserved bits of the mask: 10:0 and >= MAXPHYADDR, one by one. */
    for (unsigned b = 0; b < 64; b++) {
        if (b == 11 || (b >= 12 && b < M))
            continue;
        CHECK_MSG(wr_gp(f.t, 0x983, MC_TME_EXCL_ENABLE | (1ull << b) | (((1ull << M) - 1) & ~0xFFFull)), "mask bit %u",
                  b);
    }
    for (unsigned b = 0; b < 64; b++) {
        if (b >= 12 && b < M)
            continue;
        CHECK_MSG(wr_gp(f.t, 0x984, (1ull << b)), "base bit %u", b);
    }
    CHECK_EQ_U64(rd(f.t, 0x983), 0);
    CHECK_EQ_U64(rd(f.t, 0x984), 0);
    /* Contiguity: a hole in the mask faults; every contiguous mask is accepted. */
    uint64_t field = ((1ull << M) - 1) & ~0xFFFull;
    CHECK(wr_gp(f.t, 0x983, MC_TME_EXCL_ENABLE | (field & ~(1ull << 30))));
    CHECK(wr_gp(f.t, 0x983, MC_TME_EXCL_ENABLE | (1ull << 20)));
    for (unsigned lo = 12; lo <= M; lo++) {
        uint64_t m = field & ~((1ull << lo) - 1);
        CHECK_MSG(wr_ok(f.t, 0x983, MC_TME_EXCL_ENABLE | m), "mask from bit %u", lo);
    }
    /* 64 MiB at 1 GiB excluded. */
    uint64_t mask = field & ~((64ull << 20) - 1);
    CHECK(wr_ok(f.t, 0x983, MC_TME_EXCL_ENABLE | mask));
    CHECK(wr_ok(f.t, 0x984, 1ull << 30));
    CHECK_EQ_U64(rd(f.t, 0x983), MC_TME_EXCL_ENABLE | mask);
    CHECK_EQ_U64(rd(f.t, 0x984), 1ull << 30);
    CHECK(!mc_tme_excluded(f.t, 1ull << 30)); /* TME not on yet */
    CHECK(wr_ok(f.t, 0x982, ACT));
    CHECK(mc_tme_excluded(f.t, 1ull << 30));
    CHECK(mc_tme_excluded(f.t, (1ull << 30) + (64ull << 20) - 1));
    CHECK(!mc_tme_excluded(f.t, (1ull << 30) + (64ull << 20)));
    CHECK(!mc_tme_excluded(f.t, (1ull << 30) - 1));
    struct mc_tme_route r;
    mc_tme_route(f.t, (1ull << 30) + 4096, &r);
    CHECK(r.kind == MC_TME_ROUTE_PLAIN && r.keyid == 0);
    mc_tme_route(f.t, 4096, &r);
    CHECK(r.kind == MC_TME_ROUTE_PLATFORM);
    /* The range applies to KeyID 0 only: KeyID 5 (TME mode) still gets the platform key. */
    uint64_t pa;
    CHECK(mc_tme_pa_compose(f.t, (1ull << 30) + 4096, 5, &pa, NULL) == MC_OK);
    mc_tme_route(f.t, pa, &r);
    CHECK(r.kind == MC_TME_ROUTE_PLATFORM && r.keyid == 5 && r.pa == (1ull << 30) + 4096);
    fx_close(&f);
}

static void test_core_activate_and_partitioning(void)
{
    struct fx f;
    /* TME without MKTME: 0x9FF and 0x87 do not exist. */
    fx_open(&f, MC_TME_CAP_AES_XTS_128, true);
    uint64_t v;
    struct mc_tme_event ev;
    CHECK(mc_tme_rdmsr(f.t, 0x9FF, &v, &ev, NULL) == MC_E_FAULT && ev.kind == MC_TME_EV_GP);
    CHECK(wr_gp(f.t, 0x9FF, 0));
    CHECK(mc_tme_rdmsr(f.t, 0x87, &v, &ev, NULL) == MC_E_FAULT);
    CHECK(wr_ok(f.t, 0x982, MC_TME_ACT_ENABLE));
    CHECK(wr_gp(f.t, 0x982 + 0, MC_TME_ACT_ENABLE)); /* locked */
    fx_close(&f);

    fx_open(&f, CAP, true);
    CHECK_EQ_U64(rd(f.t, 0x9FF), 0);
    CHECK(wr_ok(f.t, 0x982, ACT));
    CHECK(wr_ok(f.t, 0x9FF, 0));
    CHECK_EQ_U64(rd(f.t, 0x9FF), 6ull << 32);
    CHECK(wr_ok(f.t, 0x9FF, 0xFull << 32)); /* read-only field: ignored */
    CHECK_EQ_U64(rd(f.t, 0x9FF), 6ull << 32);
    for (unsigned b = 0; b < 64; b++)
        if (b < 32 || b > 35)
            CHECK_MSG(wr_gp(f.t, 0x9FF, 1ull << b), "core activate bit %u", b);
    CHECK_EQ_U64(rd(f.t, 0x87), 63);
    CHECK(wr_gp(f.t, 0x87, 63));
    fx_close(&f);
}

static void test_keyid_addresses(void)
{
    struct fx f;
    fx_open(&f, CAP, true);
    /* Before activation there are no KeyID bits. */
    CHECK(mc_tme_keyid_shift(f.t) == M);
    CHECK(mc_tme_pa_keyid(f.t, 1ull << 45) == 0);
    CHECK(wr_ok(f.t, 0x982, ACT));
    /* M = 46, K = 6: KeyID in bits 45:40. */
    CHECK(mc_tme_keyid_shift(f.t) == 40);
    uint64_t pa;
    CHECK(mc_tme_pa_compose(f.t, 0x1234000, 0x2A, &pa, NULL) == MC_OK);
    CHECK_EQ_U64(pa, 0x1234000ull | (0x2Aull << 40));
    CHECK(mc_tme_pa_keyid(f.t, pa) == 0x2A);
    CHECK_EQ_U64(mc_tme_pa_strip(f.t, pa), 0x1234000);
    CHECK(mc_tme_pa_keyid(f.t, 1ull << 45) == 32);
    CHECK(mc_tme_pa_keyid(f.t, 1ull << 39) == 0);
    CHECK(mc_tme_pa_compose(f.t, 1ull << 40, 1, &pa, NULL) == MC_E_RANGE);
    CHECK(mc_tme_pa_compose(f.t, 0, 64, &pa, NULL) == MC_E_RANGE);
    /* Routing: KeyIDs start in TME mode. */
    struct mc_tme_route r;
    CHECK(mc_tme_pa_compose(f.t, 0x5000, 3, &pa, NULL) == MC_OK);
    mc_tme_route(f.t, pa, &r);
    CHECK(r.kind == MC_TME_ROUTE_PLATFORM && r.keyid == 3 && r.pa == 0x5000);
    enum mc_keyid_mode mode;
    enum mc_cipher c;
    CHECK(mc_tme_keyid_entry(f.t, 3, &mode, &c, NULL) == MC_OK && mode == MC_KEYID_MODE_TME && c == MC_CIPHER_NONE);
    CHECK(mc_tme_keyid_entry(f.t, 0, &mode, &c, NULL) == MC_E_RANGE);
    CHECK(mc_tme_keyid_entry(f.t, 64, &mode, &c, NULL) == MC_E_RANGE);
    fx_close(&f);

    /* Bypass: KeyID 0 (and TME-mode KeyIDs) are not encrypted. */
    fx_open(&f, CAP, true);
    CHECK(wr_ok(f.t, 0x982, ACT | MC_TME_ACT_BYPASS));
    CHECK(f.rec.bypass && mc_tme_bypass(f.t));
    mc_tme_route(f.t, 0x5000, &r);
    CHECK(r.kind == MC_TME_ROUTE_PLAIN);
    fx_close(&f);

    /* TME off: everything plain. */
    fx_open(&f, CAP, true);
    mc_tme_route(f.t, 0x5000, &r);
    CHECK(r.kind == MC_TME_ROUTE_PLAIN);
    fx_close(&f);
}

/* NULL units and output pointers: queries answer "no TME", nothing crashes, errors are MC_E_INVAL. */
static void test_null_arguments(void)
{
    struct mc_error e;
    uint64_t v = 7;
    CHECK(!mc_tme_locked(NULL) && !mc_tme_enabled(NULL) && !mc_tme_bypass(NULL));
    CHECK(mc_tme_keyid_bits(NULL) == 0 && mc_tme_num_keyids(NULL) == 0 && mc_tme_allowed_algs(NULL) == 0);
    CHECK(mc_tme_platform_cipher(NULL) == MC_CIPHER_NONE && mc_tme_get_config(NULL) == NULL);
    CHECK(mc_tme_pa_keyid(NULL, ~0ull) == 0 && mc_tme_pa_strip(NULL, 0x1234000) == 0x1234000);
    CHECK(mc_tme_pa_compose(NULL, 0x1000, 0, &v, &e) == MC_E_INVAL && v == 7);
    CHECK(!mc_tme_excluded(NULL, 0));
    bool en = true;
    uint64_t base = 1, mask = 1;
    mc_tme_exclusion(NULL, &en, &base, &mask);
    CHECK(!en && base == 0 && mask == 0);
    struct mc_tme_route r;
    mc_tme_route(NULL, 0x5000, &r);
    CHECK(r.kind == MC_TME_ROUTE_PLAIN && r.keyid == 0 && r.pa == 0x5000);
    mc_tme_route(NULL, 0x5000, NULL);
    CHECK(mc_tme_rdmsr(NULL, 0x982, &v, NULL, &e) == MC_E_INVAL && mc_tme_wrmsr(NULL, 0x982, 0, NULL, &e) == MC_E_INVAL);
    CHECK(mc_tme_keyid_entry(NULL, 1, NULL, NULL, &e) == MC_E_INVAL);
    CHECK(mc_tme_reset(NULL, &e) == MC_E_INVAL && mc_tme_standby_resume(NULL, &e) == MC_E_INVAL);
    mc_tme_inject_rng_failures(NULL, 1);
    mc_tme_hold_key_table_lock(NULL, true);
    mc_tme_destroy(NULL);
    struct fx f;
    fx_open(&f, CAP, false);
    CHECK(mc_tme_pa_compose(f.t, 0x1000, 0, NULL, &e) == MC_E_INVAL);
    CHECK(mc_tme_rdmsr(f.t, 0x982, NULL, NULL, &e) == MC_E_INVAL);
    mc_tme_exclusion(f.t, NULL, NULL, NULL);
    fx_close(&f);
}

int main(void)
{
    RUN(test_create_validation);
    RUN(test_not_enumerated);
    RUN(test_capability_ro);
    RUN(test_activate_reserved_bits);
    RUN(test_activate_policy_and_keyid_bits);
    RUN(test_activate_outcomes);
    RUN(test_exclusion_msrs);
    RUN(test_core_activate_and_partitioning);
    RUN(test_keyid_addresses);
    RUN(test_null_arguments);
    return check_summary();
}
