/* memcrypt — PCONFIG leaf 0 (MKTME_KEY_PROGRAM).
 *
 * Facts: shared/spec/cpu-and-config.md §3.5; check order as in the pseudo-code of the Intel
 * memory encryption spec 336907 rev 1.3 (seen through a public translation, see docs/mktme.md).
 */
#include <stddef.h>
#include <string.h>

#include <memcrypt/bytes.h>
#include <memcrypt/pconfig.h>

#include "cpu/tme_internal.h"
#include "crypto/crypto.h"

_Static_assert(offsetof(struct mc_mktme_key_program_raw, keyid) == 0, "KEYID at 0");
_Static_assert(offsetof(struct mc_mktme_key_program_raw, keyid_ctrl) == 2, "KEYID_CTRL at 2");
_Static_assert(offsetof(struct mc_mktme_key_program_raw, reserved) == 6, "reserved at 6");
_Static_assert(offsetof(struct mc_mktme_key_program_raw, key_field_1) == 64, "KEY_FIELD_1 at 64");
_Static_assert(offsetof(struct mc_mktme_key_program_raw, key_field_2) == 128, "KEY_FIELD_2 at 128");
_Static_assert(offsetof(struct mc_mktme_key_program_raw, padding) == MC_MKTME_KP_SIZE, "192 bytes defined");
_Static_assert(sizeof(struct mc_mktme_key_program_raw) == MC_MKTME_KP_ALIGN, "256-byte type");

const char *mc_pconfig_status_name(uint64_t rax)
{
    static const char *const names[] = {"PROG_SUCCESS",  "INVALID_PROG_CMD", "ENTROPY_ERROR",
                                        "INVALID_KEYID", "INVALID_ENC_ALG",  "DEVICE_BUSY"};
    return rax < sizeof names / sizeof names[0] ? names[rax] : "UNKNOWN";
}

mc_status mc_mktme_kp_decode(const uint8_t *buf, size_t len, struct mc_mktme_key_program *out, struct mc_error *err)
{
    if (!buf || !out)
        return mc_seterr(err, MC_E_INVAL, "mc_mktme_kp_decode needs a buffer and an output.");
    if (len < MC_MKTME_KP_SIZE)
        return mc_seterr(err, MC_E_FORMAT, "MKTME_KEY_PROGRAM_STRUCT needs %u bytes, got %zu.", MC_MKTME_KP_SIZE, len);
    memset(out, 0, sizeof *out);
    out->keyid = mc_le16(buf + offsetof(struct mc_mktme_key_program_raw, keyid));
    uint32_t ctrl = mc_le32(buf + offsetof(struct mc_mktme_key_program_raw, keyid_ctrl));
    out->command = (uint8_t)(ctrl & 0xFF);
    out->alg = (uint16_t)((ctrl >> 8) & 0xFFFF);
    out->ctrl_rsvd = (uint8_t)(ctrl >> 24);
    uint8_t acc = 0;
    for (size_t i = offsetof(struct mc_mktme_key_program_raw, reserved); i < 64; i++)
        acc |= buf[i];
    out->rsvd_nonzero = acc != 0;
    memcpy(out->key_field_1, buf + offsetof(struct mc_mktme_key_program_raw, key_field_1), MC_MKTME_KEY_FIELD_SIZE);
    memcpy(out->key_field_2, buf + offsetof(struct mc_mktme_key_program_raw, key_field_2), MC_MKTME_KEY_FIELD_SIZE);
    return MC_OK;
}

void mc_mktme_kp_encode(const struct mc_mktme_key_program *kp, uint8_t out[MC_MKTME_KP_SIZE])
{
    if (!out)
        return;
    memset(out, 0, MC_MKTME_KP_SIZE);
    if (!kp)
        return;
    mc_put_le16(out + offsetof(struct mc_mktme_key_program_raw, keyid), kp->keyid);
    mc_put_le32(out + offsetof(struct mc_mktme_key_program_raw, keyid_ctrl),
                (uint32_t)kp->command | ((uint32_t)kp->alg << 8) | ((uint32_t)kp->ctrl_rsvd << 24));
    if (kp->rsvd_nonzero)
        out[offsetof(struct mc_mktme_key_program_raw, reserved)] = 1;
    memcpy(out + offsetof(struct mc_mktme_key_program_raw, key_field_1), kp->key_field_1, MC_MKTME_KEY_FIELD_SIZE);
    memcpy(out + offsetof(struct mc_mktme_key_program_raw, key_field_2), kp->key_field_2, MC_MKTME_KEY_FIELD_SIZE);
}

void mc_pconfig_cpuid_1b(const struct mc_tme *t, uint32_t subleaf, uint32_t out[4])
{
    out[0] = out[1] = out[2] = out[3] = 0;
    if (t && t->cfg.pconfig && subleaf == 0) {
        out[0] = 1; /* EAX[11:0] = 1: target-identifier subleaf */
        out[1] = MC_PCONFIG_TARGET_MKTME;
    }
}

static mc_status event(struct mc_tme_event *ev, enum mc_tme_event_kind k, struct mc_error *err, const char *why)
{
    if (ev) {
        memset(ev, 0, sizeof *ev);
        ev->kind = k;
    }
    return mc_seterr(err, MC_E_FAULT, "%s: %s", mc_tme_event_name(k), why);
}

static bool all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

static unsigned popcount16(uint16_t v)
{
    unsigned n = 0;
    for (; v; v &= (uint16_t)(v - 1))
        n++;
    return n;
}

#define FLAGS_CLEARED (MC_RFLAGS_CF | MC_RFLAGS_PF | MC_RFLAGS_AF | MC_RFLAGS_OF | MC_RFLAGS_SF)

static mc_status complete(struct mc_pconfig_cpu *cpu, uint64_t status)
{
    cpu->rax = status;
    cpu->rflags &= ~FLAGS_CLEARED;
    if (status == MC_PCONFIG_PROG_SUCCESS)
        cpu->rflags &= ~MC_RFLAGS_ZF;
    else
        cpu->rflags |= MC_RFLAGS_ZF;
    return MC_OK;
}

mc_status mc_pconfig(struct mc_tme *t, struct mc_pconfig_cpu *cpu, mc_pconfig_read_fn read, void *read_ctx,
                     struct mc_tme_event *ev, struct mc_error *err)
{
    if (ev)
        memset(ev, 0, sizeof *ev);
    if (!t || !cpu || !read)
        return mc_seterr(err, MC_E_INVAL, "mc_pconfig needs a TME unit, a CPU state and a read function.");

    /* #UD: not enumerated, CPL > 0, or a LOCK/REP/66h/VEX prefix. */
    if (!t->cfg.pconfig)
        return event(ev, MC_TME_EV_UD, err, "CPUID.(7,0):EDX[18] (PCONFIG) is 0");
    if (cpu->prefixes & (MC_PCONFIG_PFX_LOCK | MC_PCONFIG_PFX_REP | MC_PCONFIG_PFX_OPSIZE | MC_PCONFIG_PFX_VEX))
        return event(ev, MC_TME_EV_UD, err, "PCONFIG with a LOCK, REP, operand-size or VEX prefix");
    if (cpu->cpl > 0)
        return event(ev, MC_TME_EV_UD, err, "PCONFIG at CPL > 0");
    const uint32_t leaf = (uint32_t)cpu->rax;
    if (cpu->vmx_nonroot) {
        if (!cpu->vmcs_pconfig_enable)
            return event(ev, MC_TME_EV_UD, err, "PCONFIG in VMX non-root operation without PCONFIG_ENABLE");
        unsigned bit = leaf > 62 ? 63 : leaf;
        if (cpu->vmcs_pconfig_exiting & (1ull << bit))
            return event(ev, MC_TME_EV_VMEXIT, err, "the PCONFIG-exiting bitmap asks for a VM exit for this leaf");
    }
    if (leaf != MC_PCONFIG_LEAF_MKTME_KEY_PROGRAM)
        return event(ev, MC_TME_EV_GP, err, "PCONFIG leaf in EAX is not supported");
    if (!mc_tme_enabled(t) || mc_tme_keyid_bits(t) == 0)
        return event(ev, MC_TME_EV_GP, err,
                     "IA32_TME_ACTIVATE is not locked, not enabled, or has MK_TME_KEYID_BITS = 0");
    if (cpu->rbx % MC_MKTME_KP_ALIGN)
        return event(ev, MC_TME_EV_GP, err, "MKTME_KEY_PROGRAM_STRUCT is not 256-byte aligned");

    uint8_t raw[MC_MKTME_KP_SIZE];
    struct mc_tme_event rev = {0};
    mc_status s = read(read_ctx, cpu->rbx, raw, sizeof raw, &rev, err);
    if (s == MC_E_FAULT) {
        if (ev)
            *ev = rev;
        mc_wipe(raw, sizeof raw);
        return s;
    }
    if (s != MC_OK) {
        mc_wipe(raw, sizeof raw);
        return s;
    }
    struct mc_mktme_key_program kp;
    mc_mktme_kp_decode(raw, sizeof raw, &kp, NULL);
    mc_wipe(raw, sizeof raw);

    uint8_t key[MC_TME_KEY_MAX];
    memset(key, 0, sizeof key);
    if (kp.rsvd_nonzero || kp.ctrl_rsvd) {
        s = event(ev, MC_TME_EV_GP, err, "a reserved field of MKTME_KEY_PROGRAM_STRUCT is non-zero");
        goto out;
    }
    /* Key bytes beyond the key size, checked per algorithm bit as the pseudo-code does (before
     * the algorithm itself is validated). */
    if ((kp.alg & MC_MKTME_ALG_AES_XTS_128) && (!all_zero(kp.key_field_1 + 16, 48) || !all_zero(kp.key_field_2 + 16, 48))) {
        s = event(ev, MC_TME_EV_GP, err, "AES-XTS-128 key fields have non-zero bytes beyond byte 15");
        goto out;
    }
    if ((kp.alg & MC_MKTME_ALG_AES_XTS_256) && (!all_zero(kp.key_field_1 + 32, 32) || !all_zero(kp.key_field_2 + 32, 32))) {
        s = event(ev, MC_TME_EV_GP, err, "AES-XTS-256 key fields have non-zero bytes beyond byte 31");
        goto out;
    }

    if (kp.command > MC_PCONFIG_KEYID_NO_ENCRYPT) {
        s = complete(cpu, MC_PCONFIG_INVALID_PROG_CMD);
        goto out;
    }
    const uint32_t kmax = (1u << mc_tme_keyid_bits(t)) - 1;
    const uint32_t maxkeys = (uint32_t)((t->cfg.capability >> MC_TME_CAP_MAX_KEYS_SHIFT) & MC_TME_CAP_MAX_KEYS_MASK);
    if (kp.keyid == 0 || kp.keyid > kmax || kp.keyid > maxkeys) {
        s = complete(cpu, MC_PCONFIG_INVALID_KEYID);
        goto out;
    }
    if (popcount16(kp.alg) != 1 || !(kp.alg & mc_tme_allowed_algs(t))) {
        s = complete(cpu, MC_PCONFIG_INVALID_ENC_ALG);
        goto out;
    }
    if (t->kt_lock_other || t->kt_lock_mine) {
        s = complete(cpu, MC_PCONFIG_DEVICE_BUSY);
        goto out;
    }
    t->kt_lock_mine = true; /* nothing is written to the key table before this point */

    const size_t half = mc_tme_alg_half_len(kp.alg);
    const enum mc_cipher c = mc_tme_alg_cipher(kp.alg);
    enum mc_keyid_mode mode = MC_KEYID_MODE_ENCRYPT;
    switch (kp.command) {
    case MC_PCONFIG_KEYID_SET_KEY_DIRECT:
        memcpy(key, kp.key_field_1, half);
        memcpy(key + half, kp.key_field_2, half);
        break;
    case MC_PCONFIG_KEYID_SET_KEY_RANDOM:
        /* Data key, then tweak key, each from the hardware RNG; either draw can fail.
         * UNCONFIRMED mixing width: the rev 1.3 pseudo-code (AES-XTS-128 only, UINT128
         * temporaries) XORs KEY_FIELD_n bytes 15:0. For AES-XTS-256 we XOR the whole key size
         * (bytes 31:0), the same bytes the #GP rule allows to be non-zero, so all supplied
         * entropy is used and none is silently dropped. See docs/mktme.md. */
        if (!mc_tme_rng_draw(t, key, half) || !mc_tme_rng_draw(t, key + half, half)) {
            t->kt_lock_mine = false; /* the pseudo-code exits here; the lock is released */
            s = complete(cpu, MC_PCONFIG_ENTROPY_ERROR);
            goto out;
        }
        for (size_t i = 0; i < half; i++) {
            key[i] ^= kp.key_field_1[i];
            key[half + i] ^= kp.key_field_2[i];
        }
        break;
    case MC_PCONFIG_KEYID_CLEAR_KEY: mode = MC_KEYID_MODE_TME; break;
    case MC_PCONFIG_KEYID_NO_ENCRYPT: mode = MC_KEYID_MODE_NO_ENCRYPT; break;
    }
    if (mode == MC_KEYID_MODE_ENCRYPT && mc_ct_equal(key, key + half, half)) {
        /* Hardware does no weak-key check; OpenSSL's XTS refuses equal data and tweak keys,
         * so the engine cannot hold this key. Reported as a C-level error, nothing changes. */
        t->kt_lock_mine = false;
        s = mc_seterr(err, MC_E_UNSUPPORTED,
                      "KeyID %u: equal data and tweak keys cannot be loaded into the engine (OpenSSL XTS refuses them).",
                      kp.keyid);
        goto out;
    }
    if (t->be.program_keyid) {
        s = t->be.program_keyid(t->be.ctx, kp.keyid, mode, mode == MC_KEYID_MODE_ENCRYPT ? c : MC_CIPHER_NONE,
                                mode == MC_KEYID_MODE_ENCRYPT ? key : NULL,
                                mode == MC_KEYID_MODE_ENCRYPT ? 2 * half : 0, err);
        if (s != MC_OK) {
            t->kt_lock_mine = false;
            goto out;
        }
    }
    t->kt[kp.keyid].mode = (uint8_t)mode;
    t->kt[kp.keyid].cipher = (uint8_t)(mode == MC_KEYID_MODE_ENCRYPT ? c : MC_CIPHER_NONE);
    t->kt_lock_mine = false;
    s = complete(cpu, MC_PCONFIG_PROG_SUCCESS);
out:
    mc_wipe(key, sizeof key);
    mc_wipe(&kp, sizeof kp);
    return s;
}
