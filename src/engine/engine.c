/* memcrypt — the memory encryption engine: key slots and the per-line AES-XTS transform.
 *
 * Slots: a fixed table sized at create. A handle is (generation << 16) | (index + 1); the
 * generation of a slot advances every time it is destroyed, and free slots are handed out in
 * round-robin order, so a stale handle is seen as MC_E_STATE rather than silently reaching a
 * new key. Key bytes live only in the slot's key schedules and OpenSSL contexts, and are wiped
 * on destroy.
 */
#include <memcrypt/engine.h>

#include <cpuid.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <memcrypt/bytes.h>

#include "crypto/crypto.h"
#include "crypto/xts.h"
#include "engine/engine_internal.h"
#include "engine/xts_impl.h"

#define MAX_SLOTS 0xffffu

struct slot {
    bool used;
    uint16_t gen; /* never 0 */
    enum mc_cipher cipher;
    struct mc_xts_ctx *evp_enc, *evp_dec;
    struct mc_xts_keys *ks; /* NULL when the CPU has no AES-NI */
};

struct mc_engine {
    struct mc_rng *rng;
    unsigned max_slots, used, next;
    unsigned feat; /* CPU features, read once at create */
    enum mc_engine_impl impl;
    struct slot *slots;
    /* Snapshots: the snapshot last taken or restored, and whether a slot changed since. */
    uint64_t snap_seq, baseline;
    bool changed;
};

/* ------------------------------------------------------------ implementations -- */

/* CPU features from CPUID (read directly: compilers disagree on __builtin_cpu_supports names).
 * YMM state must also be enabled by the OS (XCR0 bits 1 and 2) before VAES/AVX2 are usable. */
enum { FEAT_AESNI = 1, FEAT_VAES = 2 };

static unsigned cpuid_features(void);

/* MEMCRYPT_ENGINE_IMPL caps what the CPU is taken to have, so anyone can measure a path on a CPU
 * that has better: "aesni" = a CPU without VAES, "portable" = without AES-NI; "vaes", "auto" or
 * unset = as CPUID says. *known is false for any other value (mc_engine_create refuses it). */
static unsigned env_cap(unsigned f, bool *known)
{
    const char *v = getenv("MEMCRYPT_ENGINE_IMPL");
    *known = true;
    if (!v || !*v || !strcmp(v, "auto") || !strcmp(v, "vaes"))
        return f;
    if (!strcmp(v, "aesni"))
        return f & ~(unsigned)FEAT_VAES;
    if (!strcmp(v, "portable"))
        return 0;
    *known = false;
    return f;
}

static unsigned cpu_features(void)
{
    bool known;
    return env_cap(cpuid_features(), &known);
}

static unsigned cpuid_features(void)
{
    unsigned a, b, c, d, f = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    const bool aes = c & bit_AES, sse41 = c & bit_SSE4_1, osxsave = c & bit_OSXSAVE, avx = c & bit_AVX;
    if (aes && sse41)
        f |= FEAT_AESNI;
    if (!(f & FEAT_AESNI) || !osxsave || !avx)
        return f;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    (void)hi;
    if ((lo & 6u) != 6u)
        return f;
    if (__get_cpuid_max(0, NULL) < 7)
        return f;
    __cpuid_count(7, 0, a, b, c, d);
    if ((b & (1u << 5)) && (c & (1u << 9))) /* leaf 7: EBX[5] AVX2, ECX[9] VAES */
        f |= FEAT_VAES;
    return f;
}

static int impl_ok(unsigned feat, enum mc_engine_impl impl)
{
    switch (impl) {
    case MC_IMPL_AUTO:
    case MC_IMPL_PORTABLE:
        return 1;
    case MC_IMPL_AESNI:
        return (feat & FEAT_AESNI) != 0;
    case MC_IMPL_VAES:
        return (feat & FEAT_AESNI) && (feat & FEAT_VAES);
    }
    return 0;
}

int mc_engine_impl_available(enum mc_engine_impl impl) { return impl_ok(cpu_features(), impl); }

static enum mc_engine_impl best_impl(unsigned feat)
{
    if (impl_ok(feat, MC_IMPL_VAES))
        return MC_IMPL_VAES;
    if (impl_ok(feat, MC_IMPL_AESNI))
        return MC_IMPL_AESNI;
    return MC_IMPL_PORTABLE;
}

const char *mc_engine_impl_name(enum mc_engine_impl impl)
{
    switch (impl) {
    case MC_IMPL_AUTO: return "auto";
    case MC_IMPL_PORTABLE: return "portable";
    case MC_IMPL_AESNI: return "aesni";
    case MC_IMPL_VAES: return "vaes";
    }
    return "unknown";
}

static size_t half_len(enum mc_cipher c)
{
    return c == MC_CIPHER_AES128_XTS ? 16 : c == MC_CIPHER_AES256_XTS ? 32 : 0;
}

/* ------------------------------------------------------------------- engine -- */

mc_status mc_engine_create(struct mc_rng *rng, unsigned max_slots, struct mc_engine **out, struct mc_error *err)
{
    if (!rng || !out)
        return mc_seterr(err, MC_E_INVAL, "engine: NULL argument");
    if (max_slots == 0 || max_slots > MAX_SLOTS)
        return mc_seterr(err, MC_E_RANGE, "engine: key slot count %u out of range 1..%u", max_slots, MAX_SLOTS);
    struct mc_engine *e = calloc(1, sizeof *e);
    if (!e)
        return mc_seterr(err, MC_E_NOMEM, "engine: out of memory");
    e->slots = calloc(max_slots, sizeof *e->slots);
    if (!e->slots) {
        free(e);
        return mc_seterr(err, MC_E_NOMEM, "engine: out of memory for %u key slots", max_slots);
    }
    for (unsigned i = 0; i < max_slots; i++)
        e->slots[i].gen = 1;
    e->rng = rng;
    e->max_slots = max_slots;
    bool known;
    e->feat = env_cap(cpuid_features(), &known);
    if (!known) {
        free(e->slots);
        free(e);
        return mc_seterr(err, MC_E_INVAL, "MEMCRYPT_ENGINE_IMPL='%s': use auto, vaes, aesni or portable",
                         getenv("MEMCRYPT_ENGINE_IMPL"));
    }
    e->impl = best_impl(e->feat);
    *out = e;
    return MC_OK;
}

static void slot_clear(struct slot *s)
{
    mc_xts_ctx_destroy(s->evp_enc);
    mc_xts_ctx_destroy(s->evp_dec);
    if (s->ks) {
        mc_wipe(s->ks, sizeof *s->ks);
        free(s->ks);
    }
    s->evp_enc = s->evp_dec = NULL;
    s->ks = NULL;
    s->used = false;
    s->cipher = MC_CIPHER_NONE;
}

void mc_engine_destroy(struct mc_engine *e)
{
    if (!e)
        return;
    for (unsigned i = 0; i < e->max_slots; i++)
        if (e->slots[i].used)
            slot_clear(&e->slots[i]);
    free(e->slots);
    free(e);
}

unsigned mc_engine_slots_used(const struct mc_engine *e) { return e ? e->used : 0; }

mc_status mc_engine_set_impl(struct mc_engine *e, enum mc_engine_impl impl, struct mc_error *err)
{
    if (!e)
        return mc_seterr(err, MC_E_INVAL, "engine: NULL argument");
    if ((unsigned)impl > MC_IMPL_VAES)
        return mc_seterr(err, MC_E_INVAL, "engine: unknown implementation %d", (int)impl);
    if (!impl_ok(e->feat, impl))
        return mc_seterr(err, MC_E_UNSUPPORTED, "engine: this CPU cannot run the %s implementation",
                         mc_engine_impl_name(impl));
    e->impl = impl == MC_IMPL_AUTO ? best_impl(e->feat) : impl;
    e->changed = true;
    return MC_OK;
}

enum mc_engine_impl mc_engine_get_impl(const struct mc_engine *e) { return e ? e->impl : MC_IMPL_AUTO; }

/* Build the key material of a slot from key (both directions, every implementation). */
static mc_status slot_fill(const struct mc_engine *e, struct slot *s, enum mc_cipher c, const uint8_t *key,
                           struct mc_error *err)
{
    size_t h = half_len(c);
    mc_status st = mc_xts_ctx_create((unsigned)h * 8, key, 0, &s->evp_enc, err);
    if (st == MC_OK)
        st = mc_xts_ctx_create((unsigned)h * 8, key, 1, &s->evp_dec, err);
    if (st == MC_OK && impl_ok(e->feat, MC_IMPL_AESNI)) {
        s->ks = aligned_alloc(64, (sizeof *s->ks + 63) & ~(size_t)63);
        if (!s->ks)
            st = mc_seterr(err, MC_E_NOMEM, "engine: out of memory");
        else
            mc_aesni_xts_setkey(s->ks, key, (unsigned)h);
    }
    if (st != MC_OK) {
        slot_clear(s);
        return st;
    }
    s->cipher = c;
    s->used = true;
    return MC_OK;
}

static mc_status slot_install(struct mc_engine *e, enum mc_cipher c, const uint8_t *key, mc_slot *out,
                              struct mc_error *err)
{
    if (e->used >= e->max_slots)
        return mc_seterr(err, MC_E_FULL, "engine: all %u key slots are in use", e->max_slots);
    unsigned idx = e->next;
    while (e->slots[idx].used)
        idx = (idx + 1) % e->max_slots;
    struct slot *s = &e->slots[idx];
    mc_status st = slot_fill(e, s, c, key, err);
    if (st != MC_OK)
        return st;
    e->used++;
    e->next = (idx + 1) % e->max_slots;
    e->changed = true;
    *out = ((mc_slot)s->gen << 16) | (idx + 1);
    return MC_OK;
}

static mc_status check_cipher(enum mc_cipher c, struct mc_error *err)
{
    if (c != MC_CIPHER_AES128_XTS && c != MC_CIPHER_AES256_XTS)
        return mc_seterr(err, MC_E_INVAL, "engine: unknown cipher %d (AES-128-XTS or AES-256-XTS)", (int)c);
    return MC_OK;
}

mc_status mc_engine_slot_generate(struct mc_engine *e, enum mc_cipher c, mc_slot *out, struct mc_error *err)
{
    if (!e || !out)
        return mc_seterr(err, MC_E_INVAL, "engine: NULL argument");
    mc_status st = check_cipher(c, err);
    if (st != MC_OK)
        return st;
    if (e->used >= e->max_slots)
        return mc_seterr(err, MC_E_FULL, "engine: all %u key slots are in use", e->max_slots);
    size_t h = half_len(c);
    uint8_t key[64];
    /* Both halves must differ (IEEE 1619-2018 5.1); a DRBG repeat is astronomically unlikely
     * but costs nothing to handle. */
    for (int tries = 0;; tries++) {
        st = mc_rng_bytes(e->rng, key, 2 * h, err);
        if (st != MC_OK)
            break;
        if (!mc_ct_equal(key, key + h, h))
            break;
        if (tries == 16) {
            st = mc_seterr(err, MC_E_CRYPTO, "engine: the DRBG keeps returning equal key halves");
            break;
        }
    }
    if (st == MC_OK)
        st = slot_install(e, c, key, out, err);
    mc_wipe(key, sizeof key);
    return st;
}

mc_status mc_engine_slot_import(struct mc_engine *e, enum mc_cipher c, const uint8_t *key, size_t keylen,
                                mc_slot *out, struct mc_error *err)
{
    if (!e || !key || !out)
        return mc_seterr(err, MC_E_INVAL, "engine: NULL argument");
    mc_status st = check_cipher(c, err);
    if (st != MC_OK)
        return st;
    size_t h = half_len(c);
    if (keylen != 2 * h)
        return mc_seterr(err, MC_E_INVAL, "engine: %s needs a %zu-byte key (data key || tweak key), got %zu",
                         c == MC_CIPHER_AES128_XTS ? "AES-128-XTS" : "AES-256-XTS", 2 * h, keylen);
    if (mc_ct_equal(key, key + h, h))
        return mc_seterr(err, MC_E_INVAL, "engine: the data key and the tweak key must differ");
    return slot_install(e, c, key, out, err);
}

static mc_status lookup(const struct mc_engine *e, mc_slot h, struct slot **out, struct mc_error *err)
{
    unsigned idx = (h & 0xffffu);
    if (idx == 0 || idx > e->max_slots)
        return mc_seterr(err, MC_E_NOTFOUND, "engine: no key slot with handle 0x%x", (unsigned)h);
    struct slot *s = &e->slots[idx - 1];
    if (!s->used || s->gen != (h >> 16))
        return mc_seterr(err, MC_E_STATE, "engine: key slot handle 0x%x was destroyed", (unsigned)h);
    *out = s;
    return MC_OK;
}

mc_status mc_engine_slot_destroy(struct mc_engine *e, mc_slot h, struct mc_error *err)
{
    if (!e)
        return mc_seterr(err, MC_E_INVAL, "engine: NULL argument");
    struct slot *s = NULL;
    mc_status st = lookup(e, h, &s, err);
    if (st != MC_OK)
        return st;
    slot_clear(s);
    s->gen = (uint16_t)(s->gen == 0xffffu ? 1 : s->gen + 1);
    e->used--;
    e->changed = true;
    return MC_OK;
}

mc_status mc_engine_slot_cipher(const struct mc_engine *e, mc_slot h, enum mc_cipher *c, struct mc_error *err)
{
    if (!e || !c)
        return mc_seterr(err, MC_E_INVAL, "engine: NULL argument");
    struct slot *s = NULL;
    mc_status st = lookup(e, h, &s, err);
    if (st != MC_OK)
        return st;
    *c = s->cipher;
    return MC_OK;
}

static mc_status check_run(uint64_t pa, const uint8_t *in, const uint8_t *out, size_t len, struct mc_error *err)
{
    if (!in || !out)
        return mc_seterr(err, MC_E_INVAL, "engine: NULL buffer");
    if (pa % MC_LINE_SIZE)
        return mc_seterr(err, MC_E_ALIGN, "engine: physical address 0x%llx is not 64-byte aligned",
                         (unsigned long long)pa);
    if (len % MC_LINE_SIZE)
        return mc_seterr(err, MC_E_ALIGN, "engine: length %zu is not a multiple of 64 bytes", len);
    if (len && (uint64_t)len - 1 > UINT64_MAX - pa)
        return mc_seterr(err, MC_E_RANGE, "engine: 0x%llx + %zu runs past the end of the address space",
                         (unsigned long long)pa, len);
    return MC_OK;
}

/* Portable path: one EVP call per line with IV = LE128(pa). */
static mc_status evp_lines(struct mc_xts_ctx *c, uint64_t pa, const uint8_t *in, uint8_t *out, size_t len,
                           struct mc_error *err)
{
    uint8_t iv[16] = {0};
    for (size_t off = 0; off < len; off += MC_LINE_SIZE) {
        mc_put_le64(iv, pa + off);
        mc_status st = mc_xts_ctx_crypt(c, iv, in + off, out + off, MC_LINE_SIZE, err);
        if (st != MC_OK)
            return st;
    }
    return MC_OK;
}

static mc_status crypt_run(struct mc_engine *e, mc_slot h, int decrypt, uint64_t pa, const uint8_t *in,
                           uint8_t *out, size_t len, struct mc_error *err)
{
    if (!e)
        return mc_seterr(err, MC_E_INVAL, "engine: NULL argument");
    struct slot *s = NULL;
    mc_status st = lookup(e, h, &s, err);
    if (st == MC_OK)
        st = check_run(pa, in, out, len, err);
    if (st != MC_OK || len == 0)
        return st;
    switch (e->impl) {
    case MC_IMPL_VAES:
        mc_vaes_xts_lines(s->ks, decrypt, pa, in, out, len / MC_LINE_SIZE);
        return MC_OK;
    case MC_IMPL_AESNI:
        mc_aesni_xts_lines(s->ks, decrypt, pa, in, out, len / MC_LINE_SIZE);
        return MC_OK;
    default:
        return evp_lines(decrypt ? s->evp_dec : s->evp_enc, pa, in, out, len, err);
    }
}

mc_status mc_engine_encrypt(struct mc_engine *e, mc_slot s, uint64_t pa, const uint8_t *in, uint8_t *out,
                            size_t len, struct mc_error *err)
{
    return crypt_run(e, s, 0, pa, in, out, len, err);
}

mc_status mc_engine_decrypt(struct mc_engine *e, mc_slot s, uint64_t pa, const uint8_t *in, uint8_t *out,
                            size_t len, struct mc_error *err)
{
    return crypt_run(e, s, 1, pa, in, out, len, err);
}

/* ------------------------------------------------------- stateless transforms -- */

static mc_status check_key(enum mc_cipher c, const uint8_t *key, size_t keylen, bool allow_equal,
                           struct mc_error *err)
{
    mc_status st = check_cipher(c, err);
    if (st != MC_OK)
        return st;
    if (!key)
        return mc_seterr(err, MC_E_INVAL, "engine: NULL key");
    size_t h = half_len(c);
    if (keylen != 2 * h)
        return mc_seterr(err, MC_E_INVAL, "engine: %s needs a %zu-byte key (data key || tweak key), got %zu",
                         c == MC_CIPHER_AES128_XTS ? "AES-128-XTS" : "AES-256-XTS", 2 * h, keylen);
    if (!allow_equal && mc_ct_equal(key, key + h, h))
        return mc_seterr(err, MC_E_INVAL, "engine: the data key and the tweak key must differ");
    return MC_OK;
}

static mc_status resolve_impl(enum mc_engine_impl *impl, struct mc_error *err)
{
    if ((unsigned)*impl > MC_IMPL_VAES)
        return mc_seterr(err, MC_E_INVAL, "engine: unknown implementation %d", (int)*impl);
    unsigned feat = cpu_features();
    if (!impl_ok(feat, *impl))
        return mc_seterr(err, MC_E_UNSUPPORTED, "engine: this CPU cannot run the %s implementation",
                         mc_engine_impl_name(*impl));
    if (*impl == MC_IMPL_AUTO)
        *impl = best_impl(feat);
    return MC_OK;
}

mc_status mc_xts_lines_impl(enum mc_engine_impl impl, enum mc_cipher c, const uint8_t *key, size_t keylen,
                            uint64_t pa, int decrypt, const uint8_t *in, uint8_t *out, size_t len,
                            struct mc_error *err)
{
    mc_status st = check_key(c, key, keylen, false, err);
    if (st == MC_OK)
        st = resolve_impl(&impl, err);
    if (st == MC_OK)
        st = check_run(pa, in, out, len, err);
    if (st != MC_OK || len == 0)
        return st;
    size_t h = half_len(c);
    if (impl == MC_IMPL_PORTABLE) {
        struct mc_xts_ctx *x;
        st = mc_xts_ctx_create((unsigned)h * 8, key, decrypt, &x, err);
        if (st != MC_OK)
            return st;
        st = evp_lines(x, pa, in, out, len, err);
        mc_xts_ctx_destroy(x);
        return st;
    }
    struct mc_xts_keys *ks = aligned_alloc(64, (sizeof *ks + 63) & ~(size_t)63);
    if (!ks)
        return mc_seterr(err, MC_E_NOMEM, "engine: out of memory");
    mc_aesni_xts_setkey(ks, key, (unsigned)h);
    if (impl == MC_IMPL_VAES)
        mc_vaes_xts_lines(ks, decrypt != 0, pa, in, out, len / MC_LINE_SIZE);
    else
        mc_aesni_xts_lines(ks, decrypt != 0, pa, in, out, len / MC_LINE_SIZE);
    mc_wipe(ks, sizeof *ks);
    free(ks);
    return MC_OK;
}

mc_status mc_xts_lines(enum mc_cipher c, const uint8_t *key, size_t keylen, uint64_t pa, int decrypt,
                       const uint8_t *in, uint8_t *out, size_t len, struct mc_error *err)
{
    return mc_xts_lines_impl(MC_IMPL_AUTO, c, key, keylen, pa, decrypt, in, out, len, err);
}

mc_status mc_xts_unit_impl(enum mc_engine_impl impl, enum mc_cipher c, const uint8_t *key, size_t keylen,
                           const uint8_t tweak[16], int decrypt, const uint8_t *in, uint8_t *out, size_t len,
                           struct mc_error *err)
{
    mc_status st = check_key(c, key, keylen, true, err);
    if (st == MC_OK)
        st = resolve_impl(&impl, err);
    if (st != MC_OK)
        return st;
    if (!tweak || !in || !out)
        return mc_seterr(err, MC_E_INVAL, "engine: NULL argument");
    if (len == 0 || len % 16)
        return mc_seterr(err, MC_E_ALIGN, "engine: a data unit is whole 16-byte blocks, not %zu bytes", len);
    if (len > ((size_t)1 << 20) * 16) /* IEEE 1619: at most 2^20 blocks per data unit */
        return mc_seterr(err, MC_E_RANGE, "engine: a data unit is at most 2^20 blocks, not %zu bytes", len);
    size_t h = half_len(c);
    if (impl == MC_IMPL_PORTABLE)
        return mc_xts_evp((unsigned)h * 8, key, decrypt, tweak, in, out, len, err);
    struct mc_xts_keys *ks = aligned_alloc(64, (sizeof *ks + 63) & ~(size_t)63);
    if (!ks)
        return mc_seterr(err, MC_E_NOMEM, "engine: out of memory");
    mc_aesni_xts_setkey(ks, key, (unsigned)h);
    if (impl == MC_IMPL_VAES)
        mc_vaes_xts_unit(ks, decrypt != 0, tweak, in, out, len / 16);
    else
        mc_aesni_xts_unit(ks, decrypt != 0, tweak, in, out, len / 16);
    mc_wipe(ks, sizeof *ks);
    free(ks);
    return MC_OK;
}

/* ------------------------------------------------------------------ snapshots -- */

struct mc_engine_snap {
    const struct mc_engine *owner;
    uint64_t id;
    unsigned max_slots, used, next;
    enum mc_engine_impl impl;
    struct slot *slots; /* copies: the snapshot owns their key material */
};

/* Copy slot *from (in use) into *to, duplicating its key material. */
static mc_status slot_copy(struct slot *to, const struct slot *from, struct mc_error *err)
{
    *to = (struct slot){.used = true, .gen = from->gen, .cipher = from->cipher};
    mc_status st = mc_xts_ctx_dup(from->evp_enc, &to->evp_enc, err);
    if (st == MC_OK)
        st = mc_xts_ctx_dup(from->evp_dec, &to->evp_dec, err);
    if (st == MC_OK && from->ks) {
        to->ks = aligned_alloc(64, (sizeof *to->ks + 63) & ~(size_t)63);
        if (!to->ks)
            st = mc_seterr(err, MC_E_NOMEM, "engine: out of memory");
        else
            memcpy(to->ks, from->ks, sizeof *to->ks);
    }
    if (st != MC_OK) {
        slot_clear(to);
        to->gen = from->gen;
    }
    return st;
}

void mc_engine_snap_free(struct mc_engine_snap *s)
{
    if (!s)
        return;
    for (unsigned i = 0; s->slots && i < s->max_slots; i++)
        if (s->slots[i].used)
            slot_clear(&s->slots[i]);
    free(s->slots);
    free(s);
}

mc_status mc_engine_snap_save(struct mc_engine *e, struct mc_engine_snap **out, struct mc_error *err)
{
    if (!e || !out)
        return mc_seterr(err, MC_E_INVAL, "engine: NULL argument");
    struct mc_engine_snap *s = calloc(1, sizeof *s);
    if (!s || !(s->slots = calloc(e->max_slots, sizeof *s->slots))) {
        free(s);
        return mc_seterr(err, MC_E_NOMEM, "engine: out of memory for a snapshot");
    }
    s->owner = e;
    s->max_slots = e->max_slots;
    s->used = e->used;
    s->next = e->next;
    s->impl = e->impl;
    for (unsigned i = 0; i < e->max_slots; i++) {
        s->slots[i].gen = e->slots[i].gen;
        if (e->slots[i].used) {
            mc_status st = slot_copy(&s->slots[i], &e->slots[i], err);
            if (st != MC_OK) {
                mc_engine_snap_free(s);
                return st;
            }
        }
    }
    s->id = ++e->snap_seq;
    e->baseline = s->id;
    e->changed = false;
    *out = s;
    return MC_OK;
}

mc_status mc_engine_snap_restore(struct mc_engine *e, const struct mc_engine_snap *s, struct mc_error *err)
{
    if (!e || !s)
        return mc_seterr(err, MC_E_INVAL, "engine: NULL argument");
    if (s->owner != e)
        return mc_seterr(err, MC_E_INVAL, "engine: the snapshot belongs to another engine");
    if (e->baseline == s->id && !e->changed)
        return MC_OK; /* nothing changed since this snapshot was taken or restored */
    for (unsigned i = 0; i < e->max_slots; i++) {
        struct slot *cur = &e->slots[i];
        const struct slot *old = &s->slots[i];
        if (cur->used == old->used && cur->gen == old->gen)
            continue; /* the same installation: the same key */
        if (cur->used)
            slot_clear(cur);
        cur->gen = old->gen;
        if (old->used) {
            mc_status st = slot_copy(cur, old, err);
            if (st != MC_OK)
                return st;
        }
    }
    e->used = s->used;
    e->next = s->next;
    e->impl = s->impl;
    e->baseline = s->id;
    e->changed = false;
    return MC_OK;
}
