/* memcrypt — Intel TME / MKTME activation MSRs, key table and KeyID address bits.
 *
 * Facts: shared/spec/cpu-and-config.md §3.2-3.4. Decisions on points the digest leaves open
 * are commented where they are made and listed in docs/mktme.md.
 */
#include <stdlib.h>
#include <string.h>

#include "cpu/tme_internal.h"
#include "crypto/crypto.h"

/* ------------------------------------------------------------------ helpers -- */

static uint64_t bits(unsigned hi, unsigned lo)
{
    uint64_t top = hi >= 63 ? ~0ull : ((1ull << (hi + 1)) - 1);
    return top & ~((1ull << lo) - 1);
}

static void ev_set(struct mc_tme_event *ev, enum mc_tme_event_kind k)
{
    if (ev) {
        memset(ev, 0, sizeof *ev);
        ev->kind = k;
    }
}

static mc_status gp(struct mc_tme_event *ev, struct mc_error *err, const char *why)
{
    ev_set(ev, MC_TME_EV_GP);
    return mc_seterr(err, MC_E_FAULT, "#GP(0): %s", why);
}

const char *mc_tme_event_name(enum mc_tme_event_kind k)
{
    switch (k) {
    case MC_TME_EV_NONE: return "none";
    case MC_TME_EV_UD: return "#UD";
    case MC_TME_EV_GP: return "#GP(0)";
    case MC_TME_EV_PF: return "#PF";
    case MC_TME_EV_VMEXIT: return "VM exit (PCONFIG)";
    }
    return "unknown";
}

const char *mc_tme_route_name(enum mc_tme_route_kind k)
{
    switch (k) {
    case MC_TME_ROUTE_PLAIN: return "plaintext";
    case MC_TME_ROUTE_PLATFORM: return "TME platform key";
    case MC_TME_ROUTE_KEYID: return "KeyID key";
    }
    return "unknown";
}

static unsigned cap_max_keyid_bits(uint64_t cap)
{
    return (unsigned)((cap >> MC_TME_CAP_MAX_KEYID_BITS_SHIFT) & MC_TME_CAP_MAX_KEYID_BITS_MASK);
}

static uint32_t cap_max_keys(uint64_t cap)
{
    return (uint32_t)((cap >> MC_TME_CAP_MAX_KEYS_SHIFT) & MC_TME_CAP_MAX_KEYS_MASK);
}

size_t mc_tme_alg_half_len(uint32_t alg_bit)
{
    if (alg_bit == MC_MKTME_ALG_AES_XTS_128)
        return 16;
    if (alg_bit == MC_MKTME_ALG_AES_XTS_256)
        return 32;
    return 0;
}

enum mc_cipher mc_tme_alg_cipher(uint32_t alg_bit)
{
    if (alg_bit == MC_MKTME_ALG_AES_XTS_128)
        return MC_CIPHER_AES128_XTS;
    if (alg_bit == MC_MKTME_ALG_AES_XTS_256)
        return MC_CIPHER_AES256_XTS;
    return MC_CIPHER_NONE;
}

bool mc_tme_rng_draw(struct mc_tme *t, uint8_t *out, size_t n)
{
    if (t->rng_fail) {
        t->rng_fail--;
        return false;
    }
    if (!t->rng || mc_rng_bytes(t->rng, out, n, NULL) != MC_OK)
        return false;
    return true;
}

/* ------------------------------------------------------------------ lifecycle -- */

mc_status mc_tme_create(const struct mc_tme_config *cfg, struct mc_rng *rng, const struct mc_tme_backend *backend,
                        struct mc_tme **out, struct mc_error *err)
{
    if (!cfg || !out)
        return mc_seterr(err, MC_E_INVAL, "mc_tme_create needs a configuration and an output pointer.");
    *out = NULL;
    if (cfg->maxphyaddr < 36 || cfg->maxphyaddr > 52)
        return mc_seterr(err, MC_E_INVAL, "MAXPHYADDR %u is outside 36..52.", cfg->maxphyaddr);
    uint64_t cap = cfg->capability;
    if (cap & (bits(30, 4) | bits(62, 52)))
        return mc_seterr(err, MC_E_INVAL, "IA32_TME_CAPABILITY 0x%llx sets reserved bits.", (unsigned long long)cap);
    if (cap & (MC_TME_CAP_AES_XTS_128_INTEGRITY | MC_TME_CAP_AES_XTS_256_INTEGRITY))
        return mc_seterr(err, MC_E_UNSUPPORTED,
                         "TME with integrity is not modelled; the capability must not enumerate it.");
    unsigned maxk = cap_max_keyid_bits(cap);
    if (maxk && maxk >= cfg->maxphyaddr - 12)
        return mc_seterr(err, MC_E_INVAL, "MK_TME_MAX_KEYID_BITS %u leaves no page-frame bits below MAXPHYADDR %u.",
                         maxk, cfg->maxphyaddr);
    if (maxk && !cap_max_keys(cap))
        return mc_seterr(err, MC_E_INVAL, "MK_TME_MAX_KEYID_BITS is %u but MK_TME_MAX_KEYS is 0.", maxk);
    if (cfg->tme && !(cap & (MC_TME_CAP_AES_XTS_128 | MC_TME_CAP_AES_XTS_256)))
        return mc_seterr(err, MC_E_INVAL, "TME is enumerated but IA32_TME_CAPABILITY names no algorithm.");
    if (!cfg->tme && cap)
        return mc_seterr(err, MC_E_INVAL, "IA32_TME_CAPABILITY is non-zero but CPUID does not enumerate TME.");

    struct mc_tme *t = calloc(1, sizeof *t);
    if (!t)
        return mc_seterr(err, MC_E_NOMEM, "Out of memory for the TME unit.");
    t->cfg = *cfg;
    t->rng = rng;
    if (backend)
        t->be = *backend;
    t->kt_len = 1u << maxk;
    t->kt = calloc(t->kt_len, sizeof *t->kt);
    if (!t->kt) {
        free(t);
        return mc_seterr(err, MC_E_NOMEM, "Out of memory for the MKTME key table.");
    }
    *out = t;
    return MC_OK;
}

void mc_tme_destroy(struct mc_tme *t)
{
    if (!t)
        return;
    mc_wipe(t->saved_key, sizeof t->saved_key);
    free(t->kt);
    free(t->owned);
    mc_wipe(t, sizeof *t);
    free(t);
}

const struct mc_tme_config *mc_tme_get_config(const struct mc_tme *t) { return t ? &t->cfg : NULL; }

/* Back to reset values. The backend is told TME is off first; if it refuses, nothing moves. */
static mc_status reset_common(struct mc_tme *t, bool keep_saved, struct mc_error *err)
{
    if (!t)
        return mc_seterr(err, MC_E_INVAL, "No TME unit.");
    if (t->be.platform_key && (t->activate & MC_TME_ACT_ENABLE)) {
        mc_status s = t->be.platform_key(t->be.ctx, MC_CIPHER_NONE, NULL, 0, 0, err);
        if (s != MC_OK)
            return s;
    }
    if (t->be.program_keyid) {
        for (uint32_t k = 1; k < t->kt_len; k++)
            if (t->kt[k].mode != MC_KEYID_MODE_TME) {
                mc_status s = t->be.program_keyid(t->be.ctx, k, MC_KEYID_MODE_TME, MC_CIPHER_NONE, NULL, 0, err);
                if (s != MC_OK)
                    return s;
                t->kt[k].mode = MC_KEYID_MODE_TME;
            }
    }
    memset(t->kt, 0, t->kt_len * sizeof *t->kt);
    t->activate = 0;
    t->exclude_mask = 0;
    t->exclude_base = 0;
    t->core_activated = false;
    t->kt_lock_mine = false;
    if (!keep_saved) {
        mc_wipe(t->saved_key, sizeof t->saved_key);
        t->saved_key_len = 0;
    }
    return MC_OK;
}

mc_status mc_tme_reset(struct mc_tme *t, struct mc_error *err) { return reset_common(t, false, err); }
mc_status mc_tme_standby_resume(struct mc_tme *t, struct mc_error *err) { return reset_common(t, true, err); }

void mc_tme_inject_rng_failures(struct mc_tme *t, unsigned n)
{
    if (t)
        t->rng_fail = n;
}

void mc_tme_hold_key_table_lock(struct mc_tme *t, bool held)
{
    if (t)
        t->kt_lock_other = held;
}

/* ------------------------------------------------------------------ queries -- */

bool mc_tme_locked(const struct mc_tme *t) { return t && (t->activate & MC_TME_ACT_LOCK); }

bool mc_tme_enabled(const struct mc_tme *t)
{
    return t && (t->activate & (MC_TME_ACT_LOCK | MC_TME_ACT_ENABLE)) == (MC_TME_ACT_LOCK | MC_TME_ACT_ENABLE);
}

bool mc_tme_bypass(const struct mc_tme *t) { return mc_tme_enabled(t) && (t->activate & MC_TME_ACT_BYPASS); }

enum mc_cipher mc_tme_platform_cipher(const struct mc_tme *t)
{
    if (!mc_tme_enabled(t))
        return MC_CIPHER_NONE;
    unsigned pol = (unsigned)((t->activate >> MC_TME_ACT_POLICY_SHIFT) & MC_TME_ACT_POLICY_MASK);
    return pol == MC_TME_POLICY_AES_XTS_256 ? MC_CIPHER_AES256_XTS : MC_CIPHER_AES128_XTS;
}

unsigned mc_tme_keyid_bits(const struct mc_tme *t)
{
    if (!mc_tme_enabled(t))
        return 0;
    return (unsigned)((t->activate >> MC_TME_ACT_KEYID_BITS_SHIFT) & MC_TME_ACT_KEYID_BITS_MASK);
}

uint32_t mc_tme_num_keyids(const struct mc_tme *t)
{
    unsigned k = mc_tme_keyid_bits(t);
    if (!k)
        return 0;
    uint32_t n = (1u << k) - 1, m = cap_max_keys(t->cfg.capability);
    return n < m ? n : m;
}

uint32_t mc_tme_allowed_algs(const struct mc_tme *t)
{
    if (!mc_tme_keyid_bits(t))
        return 0;
    return (uint32_t)((t->activate >> MC_TME_ACT_CRYPTO_ALGS_SHIFT) & MC_TME_ACT_CRYPTO_ALGS_MASK);
}

mc_status mc_tme_keyid_entry(const struct mc_tme *t, uint32_t keyid, enum mc_keyid_mode *mode, enum mc_cipher *c,
                             struct mc_error *err)
{
    if (!t)
        return mc_seterr(err, MC_E_INVAL, "No TME unit.");
    uint32_t n = mc_tme_num_keyids(t);
    if (keyid == 0 || keyid > n)
        return mc_seterr(err, MC_E_RANGE, "KeyID %u is not a programmable KeyID (1..%u).", keyid, n);
    if (mode)
        *mode = (enum mc_keyid_mode)t->kt[keyid].mode;
    if (c)
        *c = (enum mc_cipher)t->kt[keyid].cipher;
    return MC_OK;
}

/* ------------------------------------------------------------------ addresses -- */

/* A NULL unit has no KeyID bits: shift 52 (the widest MAXPHYADDR), nothing to strip below it. */
unsigned mc_tme_keyid_shift(const struct mc_tme *t) { return t ? t->cfg.maxphyaddr - mc_tme_keyid_bits(t) : 52; }

uint32_t mc_tme_pa_keyid(const struct mc_tme *t, uint64_t pa)
{
    unsigned k = mc_tme_keyid_bits(t);
    if (!k)
        return 0;
    return (uint32_t)((pa >> mc_tme_keyid_shift(t)) & ((1u << k) - 1));
}

uint64_t mc_tme_pa_strip(const struct mc_tme *t, uint64_t pa) { return pa & ((1ull << mc_tme_keyid_shift(t)) - 1); }

mc_status mc_tme_pa_compose(const struct mc_tme *t, uint64_t pa, uint32_t keyid, uint64_t *out, struct mc_error *err)
{
    if (!t || !out)
        return mc_seterr(err, MC_E_INVAL, "mc_tme_pa_compose needs a unit and an output pointer.");
    unsigned sh = mc_tme_keyid_shift(t), k = mc_tme_keyid_bits(t);
    if (pa >> sh)
        return mc_seterr(err, MC_E_RANGE, "Address 0x%llx does not fit below the KeyID bits (bit %u and up).",
                         (unsigned long long)pa, sh);
    if (keyid >> k)
        return mc_seterr(err, MC_E_RANGE, "KeyID %u needs more than the %u active KeyID bits.", keyid, k);
    *out = pa | ((uint64_t)keyid << sh);
    return MC_OK;
}

void mc_tme_exclusion(const struct mc_tme *t, bool *enable, uint64_t *base, uint64_t *mask)
{
    uint64_t field = t ? bits(t->cfg.maxphyaddr - 1, 12) : 0;
    if (enable)
        *enable = t && (t->exclude_mask & MC_TME_EXCL_ENABLE) != 0;
    if (base)
        *base = t ? t->exclude_base & field : 0;
    if (mask)
        *mask = t ? t->exclude_mask & field : 0;
}

bool mc_tme_excluded(const struct mc_tme *t, uint64_t pa)
{
    if (!mc_tme_enabled(t) || !(t->exclude_mask & MC_TME_EXCL_ENABLE))
        return false;
    uint64_t m = t->exclude_mask & bits(t->cfg.maxphyaddr - 1, 12);
    return (pa & m) == (t->exclude_base & m);
}

void mc_tme_route(const struct mc_tme *t, uint64_t pa, struct mc_tme_route *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    out->keyid = mc_tme_pa_keyid(t, pa);
    out->pa = mc_tme_pa_strip(t, pa);
    if (!mc_tme_enabled(t)) {
        out->kind = MC_TME_ROUTE_PLAIN;
        return;
    }
    enum mc_keyid_mode mode = MC_KEYID_MODE_TME;
    /* KeyIDs above MK_TME_MAX_KEYS (but below 2^K) cannot be programmed; they keep the
     * activation-time TME behaviour. */
    if (out->keyid && out->keyid < t->kt_len)
        mode = (enum mc_keyid_mode)t->kt[out->keyid].mode;
    switch (mode) {
    case MC_KEYID_MODE_ENCRYPT: out->kind = MC_TME_ROUTE_KEYID; return;
    case MC_KEYID_MODE_NO_ENCRYPT: out->kind = MC_TME_ROUTE_PLAIN; return;
    case MC_KEYID_MODE_TME: break;
    }
    if (t->activate & MC_TME_ACT_BYPASS)
        out->kind = MC_TME_ROUTE_PLAIN;
    else if (out->keyid == 0 && mc_tme_excluded(t, out->pa)) /* the range applies to KeyID 0 only */
        out->kind = MC_TME_ROUTE_PLAIN;
    else
        out->kind = MC_TME_ROUTE_PLATFORM;
}

/* ------------------------------------------------------------------ MSRs -- */

bool mc_tme_is_msr(uint32_t msr)
{
    switch (msr) {
    case MC_MSR_IA32_MKTME_KEYID_PARTITIONING:
    case MC_MSR_IA32_TME_CAPABILITY:
    case MC_MSR_IA32_TME_ACTIVATE:
    case MC_MSR_IA32_TME_EXCLUDE_MASK:
    case MC_MSR_IA32_TME_EXCLUDE_BASE:
    case MC_MSR_MK_TME_CORE_ACTIVATE:
        return true;
    }
    return false;
}

static bool mktme_supported(const struct mc_tme *t)
{
    return t->cfg.tme && cap_max_keyid_bits(t->cfg.capability) > 0;
}

mc_status mc_tme_rdmsr(struct mc_tme *t, uint32_t msr, uint64_t *val, struct mc_tme_event *ev, struct mc_error *err)
{
    ev_set(ev, MC_TME_EV_NONE);
    if (!t || !val)
        return mc_seterr(err, MC_E_INVAL, "mc_tme_rdmsr needs a unit and an output pointer.");
    if (!mc_tme_is_msr(msr))
        return mc_seterr(err, MC_E_NOTFOUND, "MSR 0x%x is not a TME MSR.", msr);
    if (!t->cfg.tme)
        return gp(ev, err, "CPUID.(7,0):ECX[13] (TME) is 0, so the TME MSRs do not exist");
    switch (msr) {
    case MC_MSR_IA32_TME_CAPABILITY: *val = t->cfg.capability; return MC_OK;
    case MC_MSR_IA32_TME_ACTIVATE: *val = t->activate; return MC_OK;
    case MC_MSR_IA32_TME_EXCLUDE_MASK: *val = t->exclude_mask; return MC_OK;
    case MC_MSR_IA32_TME_EXCLUDE_BASE: *val = t->exclude_base; return MC_OK;
    case MC_MSR_MK_TME_CORE_ACTIVATE:
        if (!mktme_supported(t))
            return gp(ev, err, "MK_TME_CORE_ACTIVATE exists only when MKTME is supported");
        *val = (uint64_t)mc_tme_keyid_bits(t) << 32;
        return MC_OK;
    case MC_MSR_IA32_MKTME_KEYID_PARTITIONING:
        /* Modelled without TDX: all KeyIDs are shared MKTME KeyIDs, none are TDX-private. */
        if (!mktme_supported(t))
            return gp(ev, err, "IA32_MKTME_KEYID_PARTITIONING exists only when MKTME is supported");
        *val = mc_tme_num_keyids(t);
        return MC_OK;
    }
    return mc_seterr(err, MC_E_NOTFOUND, "MSR 0x%x is not a TME MSR.", msr);
}

/* The TME key for the activation, from the RNG or from the standby store. Returns true when
 * a usable key was obtained. */
static bool obtain_platform_key(struct mc_tme *t, uint64_t val, size_t keylen, uint8_t *key)
{
    if (!(val & MC_TME_ACT_KEY_SELECT)) {
        /* Two draws: the data key and the tweak key. OpenSSL's XTS refuses equal halves; a
         * repeat of 128+ random bits is treated as an RNG failure (it cannot happen in practice). */
        if (!mc_tme_rng_draw(t, key, keylen / 2) || !mc_tme_rng_draw(t, key + keylen / 2, keylen / 2))
            return false;
        return memcmp(key, key + keylen / 2, keylen / 2) != 0;
    }
    /* Restore: a key saved for another key size is no key for this policy (zero key). */
    if (t->saved_key_len != keylen)
        return false;
    uint8_t acc = 0;
    for (size_t i = 0; i < keylen; i++)
        acc |= t->saved_key[i];
    if (!acc)
        return false;
    memcpy(key, t->saved_key, keylen);
    return true;
}

static mc_status wr_activate(struct mc_tme *t, uint64_t val, struct mc_tme_event *ev, struct mc_error *err)
{
    const uint64_t cap = t->cfg.capability;
    if (t->activate & MC_TME_ACT_LOCK)
        return gp(ev, err, "IA32_TME_ACTIVATE is locked");
    /* Reserved: 30:9, 47:40, 63:52; bit 8 (SGX TEM, semantics UNCONFIRMED, SGX not modelled);
     * 39:36 (TDX-private KeyID bits, TDX not modelled); bit 3 when the part cannot save the key;
     * bit 31 when bypass is not enumerated. */
    uint64_t rsvd = bits(30, 9) | bits(47, 40) | bits(63, 52) | MC_TME_ACT_SGX_TEM | bits(39, 36);
    if (!t->cfg.save_key_supported)
        rsvd |= MC_TME_ACT_SAVE_KEY;
    if (!(cap & MC_TME_CAP_BYPASS))
        rsvd |= MC_TME_ACT_BYPASS;
    if (val & rsvd)
        return gp(ev, err, "IA32_TME_ACTIVATE write sets reserved bits");
    unsigned pol = (unsigned)((val >> MC_TME_ACT_POLICY_SHIFT) & MC_TME_ACT_POLICY_MASK);
    size_t keylen;
    enum mc_cipher c;
    if (pol == MC_TME_POLICY_AES_XTS_128 && (cap & MC_TME_CAP_AES_XTS_128)) {
        keylen = 32;
        c = MC_CIPHER_AES128_XTS;
    } else if (pol == MC_TME_POLICY_AES_XTS_256 && (cap & MC_TME_CAP_AES_XTS_256)) {
        keylen = 64;
        c = MC_CIPHER_AES256_XTS;
    } else {
        return gp(ev, err, "the TME policy (bits 7:4) names an algorithm IA32_TME_CAPABILITY does not enumerate");
    }
    unsigned kbits = (unsigned)((val >> MC_TME_ACT_KEYID_BITS_SHIFT) & MC_TME_ACT_KEYID_BITS_MASK);
    if (kbits > cap_max_keyid_bits(cap))
        return gp(ev, err, "MK_TME_KEYID_BITS exceeds MK_TME_MAX_KEYID_BITS");
    bool enable = (val & MC_TME_ACT_ENABLE) != 0;
    if (kbits && !enable)
        return gp(ev, err, "MK_TME_KEYID_BITS is non-zero while hardware encryption is disabled");
    /* Decision: an algorithm bit in 51:48 that IA32_TME_CAPABILITY[3:0] does not enumerate is
     * treated like an unsupported policy (#GP); the digest names only 63:52 as reserved. */
    uint32_t algs = (uint32_t)((val >> MC_TME_ACT_CRYPTO_ALGS_SHIFT) & 0xF);
    if (algs & ~(uint32_t)(cap & 0xF))
        return gp(ev, err, "MK_TME_CRYPTO_ALGS enables an algorithm IA32_TME_CAPABILITY does not enumerate");

    if (!enable) {
        /* TME off, MSR locked; reads ...01b. */
        t->activate = (val & ~MC_TME_ACT_ENABLE) | MC_TME_ACT_LOCK;
        return MC_OK;
    }
    uint8_t key[MC_TME_KEY_MAX];
    bool ok = obtain_platform_key(t, val, keylen, key);
    /* On failure the write is not committed: unlocked, disabled, no MKTME fields (reads ...000b
     * for a new key, ...100b for a restore); firmware may retry. */
    const uint64_t failed = val & ~(MC_TME_ACT_LOCK | MC_TME_ACT_ENABLE) &
                            ~(MC_TME_ACT_KEYID_BITS_MASK << MC_TME_ACT_KEYID_BITS_SHIFT) &
                            ~(MC_TME_ACT_CRYPTO_ALGS_MASK << MC_TME_ACT_CRYPTO_ALGS_SHIFT);
    if (!ok) {
        mc_wipe(key, sizeof key);
        t->activate = failed;
        return MC_OK;
    }
    if (t->be.platform_key) {
        mc_status s = t->be.platform_key(t->be.ctx, c, key, keylen, val | MC_TME_ACT_LOCK, err);
        if (s != MC_OK) {
            mc_wipe(key, sizeof key);
            return s;
        }
    }
    if (val & MC_TME_ACT_SAVE_KEY) {
        memcpy(t->saved_key, key, keylen);
        t->saved_key_len = keylen;
    }
    mc_wipe(key, sizeof key);
    memset(t->kt, 0, t->kt_len * sizeof *t->kt); /* every KeyID starts with TME behaviour */
    t->activate = val | MC_TME_ACT_LOCK;
    return MC_OK;
}

mc_status mc_tme_wrmsr(struct mc_tme *t, uint32_t msr, uint64_t val, struct mc_tme_event *ev, struct mc_error *err)
{
    ev_set(ev, MC_TME_EV_NONE);
    if (!t)
        return mc_seterr(err, MC_E_INVAL, "mc_tme_wrmsr needs a unit.");
    if (!mc_tme_is_msr(msr))
        return mc_seterr(err, MC_E_NOTFOUND, "MSR 0x%x is not a TME MSR.", msr);
    if (!t->cfg.tme)
        return gp(ev, err, "CPUID.(7,0):ECX[13] (TME) is 0, so the TME MSRs do not exist");
    const unsigned m = t->cfg.maxphyaddr;
    switch (msr) {
    case MC_MSR_IA32_TME_CAPABILITY:
        return gp(ev, err, "IA32_TME_CAPABILITY is read-only");
    case MC_MSR_IA32_TME_ACTIVATE:
        return wr_activate(t, val, ev, err);
    case MC_MSR_IA32_TME_EXCLUDE_MASK: {
        if (t->activate & MC_TME_ACT_LOCK)
            return gp(ev, err, "IA32_TME_EXCLUDE_MASK is locked by IA32_TME_ACTIVATE");
        if (val & (bits(10, 0) | bits(63, m)))
            return gp(ev, err, "IA32_TME_EXCLUDE_MASK sets reserved bits (10:0 or at/above MAXPHYADDR)");
        /* One contiguous region: the mask field (M-1:12) is ones from bit M-1 down, then zeros. */
        uint64_t field = val & bits(m - 1, 12);
        uint64_t holes = ~field & bits(m - 1, 12);
        uint64_t run = holes + (1ull << 12);
        if (run & (run - 1))
            return gp(ev, err, "IA32_TME_EXCLUDE_MASK does not describe one contiguous region");
        t->exclude_mask = val;
        return MC_OK;
    }
    case MC_MSR_IA32_TME_EXCLUDE_BASE:
        if (t->activate & MC_TME_ACT_LOCK)
            return gp(ev, err, "IA32_TME_EXCLUDE_BASE is locked by IA32_TME_ACTIVATE");
        if (val & (bits(11, 0) | bits(63, m)))
            return gp(ev, err, "IA32_TME_EXCLUDE_BASE sets reserved bits (11:0 or at/above MAXPHYADDR)");
        t->exclude_base = val;
        return MC_OK;
    case MC_MSR_MK_TME_CORE_ACTIVATE:
        if (!mktme_supported(t))
            return gp(ev, err, "MK_TME_CORE_ACTIVATE exists only when MKTME is supported");
        /* Bits 35:32 are a read-only copy of KEYID_BITS (writes ignored); every other bit is
         * treated as reserved (firmware writes 0). */
        if (val & ~(MC_TME_ACT_KEYID_BITS_MASK << 32))
            return gp(ev, err, "MK_TME_CORE_ACTIVATE write sets reserved bits");
        t->core_activated = true;
        return MC_OK;
    case MC_MSR_IA32_MKTME_KEYID_PARTITIONING:
        if (!mktme_supported(t))
            return gp(ev, err, "IA32_MKTME_KEYID_PARTITIONING exists only when MKTME is supported");
        return gp(ev, err, "IA32_MKTME_KEYID_PARTITIONING is read-only in this model (no TDX)");
    }
    return mc_seterr(err, MC_E_NOTFOUND, "MSR 0x%x is not a TME MSR.", msr);
}

/* ---------------------------------------------------------------- snapshots -- */

struct mc_tme_snap {
    const struct mc_tme *owner;
    struct mc_tme t;             /* scalars; kt and owned are the owner's */
    struct mc_tme_kt_entry *kt;  /* [t.kt_len] */
};

void mc_tme_snap_free(struct mc_tme_snap *s)
{
    if (!s)
        return;
    free(s->kt);
    mc_wipe(s, sizeof *s);
    free(s);
}

mc_status mc_tme_snap_save(const struct mc_tme *t, struct mc_tme_snap **out, struct mc_error *err)
{
    if (!t || !out)
        return mc_seterr(err, MC_E_INVAL, "TME snapshot: NULL argument");
    struct mc_tme_snap *s = calloc(1, sizeof *s);
    if (!s || !(s->kt = malloc(t->kt_len * sizeof *s->kt))) {
        free(s);
        return mc_seterr(err, MC_E_NOMEM, "TME snapshot: out of memory");
    }
    memcpy(s->kt, t->kt, t->kt_len * sizeof *s->kt);
    s->t = *t;
    s->owner = t;
    *out = s;
    return MC_OK;
}

mc_status mc_tme_snap_restore(struct mc_tme *t, const struct mc_tme_snap *s, struct mc_error *err)
{
    if (!t || !s)
        return mc_seterr(err, MC_E_INVAL, "TME snapshot: NULL argument");
    if (s->owner != t)
        return mc_seterr(err, MC_E_INVAL, "TME snapshot: it belongs to another unit");
    struct mc_tme_kt_entry *kt = t->kt;
    *t = s->t;
    t->kt = kt;
    memcpy(t->kt, s->kt, t->kt_len * sizeof *t->kt);
    return MC_OK;
}
