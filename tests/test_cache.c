/* Memory controller + cache: write-back, alias hazards across key domains, CLFLUSH / WBINVD /
 * VM_PAGE_FLUSH, TSME ignoring the C-bit, MKTME no-encrypt and exclusion range, and DRAM
 * contents checked against OpenSSL's AES-XTS directly (not through the engine). */
#include <memcrypt/dram.h>
#include <memcrypt/engine.h>
#include <memcrypt/mc.h>
#include <openssl/evp.h>

#include "check.h"
#include "crypto/crypto.h"

#define CB (1ull << 47)

struct rig {
    struct mc_rng *rng;
    struct mc_engine *e;
    struct mc_dram *d;
    struct memctl *mc;
};

static const uint8_t host_key[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                     0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0};

static void rig_up(struct rig *r, struct memctl_platform p, uint64_t cache, unsigned ways)
{
    memset(r, 0, sizeof *r);
    CHECK(mc_rng_create((const uint8_t *)"cache", 5, &r->rng, NULL) == MC_OK);
    CHECK(mc_engine_create(r->rng, 64, &r->e, NULL) == MC_OK);
    struct mc_dram_config dc = {1 << 20, NULL};
    CHECK(mc_dram_create(&dc, &r->d, NULL) == MC_OK);
    struct memctl_cache_geom g = {cache, ways};
    struct mc_error err;
    CHECK_MSG(memctl_create(&p, &g, 15, r->e, r->d, &r->mc, &err) == MC_OK, "%s", err.msg);
}

static void rig_down(struct rig *r)
{
    memctl_destroy(r->mc);
    mc_engine_destroy(r->e);
    mc_dram_destroy(r->d);
    mc_rng_destroy(r->rng);
}

static mc_status rd(struct rig *r, uint64_t addr, void *buf, size_t n, enum memctl_requester req, uint32_t asid, bool gc)
{
    struct memctl_access a = {.addr = addr, .size = n, .kind = MEMCTL_ACC_READ, .req = req, .asid = asid, .guest_c = gc};
    return memctl_read(r->mc, &a, buf, NULL, NULL);
}

static mc_status wr(struct rig *r, uint64_t addr, const void *buf, size_t n, enum memctl_requester req, uint32_t asid,
                    bool gc)
{
    struct memctl_access a = {.addr = addr, .size = n, .kind = MEMCTL_ACC_WRITE, .req = req, .asid = asid, .guest_c = gc};
    return memctl_write(r->mc, &a, buf, NULL, NULL);
}

/* Reference: AES-128-XTS over 64-byte lines, IV = LE128(pa), straight from OpenSSL. */
static void ref_xts(const uint8_t key[32], uint64_t pa, const uint8_t *in, uint8_t *out, size_t len)
{
    for (size_t o = 0; o < len; o += 64) {
        uint8_t iv[16] = {0};
        for (int i = 0; i < 8; i++)
            iv[i] = (uint8_t)((pa + o) >> (8 * i));
        EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
        int n1 = 0, n2 = 0;
        EVP_EncryptInit_ex(c, EVP_aes_128_xts(), NULL, key, iv);
        EVP_EncryptUpdate(c, out + o, &n1, in + o, 64);
        EVP_EncryptFinal_ex(c, out + o + n1, &n2);
        EVP_CIPHER_CTX_free(c);
    }
}

static struct memctl_platform sme(void) { return (struct memctl_platform){.mode = MEMCTL_MODE_SME, .phys_bits = 48, .cbit = 47, .reduction = 5}; }

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + i * 7);
}

static void test_writeback_and_dram_bytes(void)
{
    struct rig r;
    rig_up(&r, sme(), 0, 0);
    mc_slot hs;
    CHECK(mc_engine_slot_import(r.e, MC_CIPHER_AES128_XTS, host_key, 32, &hs, NULL) == MC_OK);
    CHECK(memctl_bind_host(r.mc, hs, NULL) == MC_OK);
    uint8_t data[4096], back[4096], raw[4096], ref[4096];
    fill(data, sizeof data, 3);
    CHECK(wr(&r, CB | 0x10000, data, sizeof data, MEMCTL_REQ_HOST, 0, false) == MC_OK);
    /* Still in the cache: DRAM untouched. */
    CHECK(mc_dram_read(r.d, 0x10000, raw, sizeof raw, NULL) == MC_OK);
    uint8_t zero[4096] = {0};
    CHECK_MEM(raw, zero, sizeof raw);
    struct memctl_cache_stats s0, s1;
    memctl_cache_get_stats(r.mc, &s0);
    CHECK(rd(&r, CB | 0x10000, back, sizeof back, MEMCTL_REQ_HOST, 0, false) == MC_OK);
    CHECK_MEM(back, data, sizeof data);
    memctl_cache_get_stats(r.mc, &s1);
    CHECK_EQ_U64(s1.hits - s0.hits, 64);
    CHECK_EQ_U64(s1.fills, s0.fills); /* hits never touch the engine */
    CHECK(memctl_wbinvd(r.mc, NULL) == MC_OK);
    CHECK(mc_dram_read(r.d, 0x10000, raw, sizeof raw, NULL) == MC_OK);
    ref_xts(host_key, 0x10000, data, ref, sizeof ref);
    CHECK_MEM(raw, ref, sizeof raw);
    /* Unaligned read across lines after the flush: filled through the engine. */
    CHECK(rd(&r, CB | 0x10031, back, 100, MEMCTL_REQ_HOST, 0, false) == MC_OK);
    CHECK_MEM(back, data + 0x31, 100);
    rig_down(&r);
}

static void test_alias_hazard(void)
{
    struct rig r;
    rig_up(&r, sme(), 0, 0);
    mc_slot hs, a1, a2;
    CHECK(mc_engine_slot_generate(r.e, MC_CIPHER_AES128_XTS, &hs, NULL) == MC_OK);
    CHECK(mc_engine_slot_generate(r.e, MC_CIPHER_AES128_XTS, &a1, NULL) == MC_OK);
    CHECK(mc_engine_slot_generate(r.e, MC_CIPHER_AES128_XTS, &a2, NULL) == MC_OK);
    CHECK(memctl_bind_host(r.mc, hs, NULL) == MC_OK);
    CHECK(memctl_bind_asid(r.mc, 1, a1, NULL) == MC_OK);
    CHECK(memctl_bind_asid(r.mc, 2, a2, NULL) == MC_OK);
    uint8_t data[4096], back[4096], old[4096];
    fill(data, sizeof data, 9);

    /* C=0 view cached first (zeros), then written through C=1: C=0 keeps its stale line. */
    CHECK(rd(&r, 0x20000, old, sizeof old, MEMCTL_REQ_HOST, 0, false) == MC_OK);
    CHECK(wr(&r, CB | 0x20000, data, sizeof data, MEMCTL_REQ_HOST, 0, false) == MC_OK);
    CHECK(rd(&r, 0x20000, back, sizeof back, MEMCTL_REQ_HOST, 0, false) == MC_OK);
    CHECK_MEM(back, old, sizeof back);                   /* stale line from the other tag */
    CHECK(memcmp(back, data, sizeof back) != 0);
    /* CLFLUSH of the C=0 view does not write the C=1 line back. */
    for (uint64_t o = 0; o < 4096; o += 64) {
        struct memctl_access f = {.addr = 0x20000 + o, .size = 1, .kind = MEMCTL_ACC_READ, .req = MEMCTL_REQ_HOST};
        CHECK(memctl_clflush(r.mc, &f, NULL, NULL) == MC_OK);
    }
    CHECK(rd(&r, 0x20000, back, sizeof back, MEMCTL_REQ_HOST, 0, false) == MC_OK);
    CHECK_MEM(back, old, sizeof back);
    /* CLFLUSH through C=1 writes it back; then C=0 sees ciphertext, never the data. */
    for (uint64_t o = 0; o < 4096; o += 64) {
        struct memctl_access f = {.addr = CB | (0x20000 + o), .size = 1, .kind = MEMCTL_ACC_READ, .req = MEMCTL_REQ_HOST};
        CHECK(memctl_clflush(r.mc, &f, NULL, NULL) == MC_OK);
        f.addr = 0x20000 + o;
        CHECK(memctl_clflush(r.mc, &f, NULL, NULL) == MC_OK);
    }
    CHECK(rd(&r, 0x20000, back, sizeof back, MEMCTL_REQ_HOST, 0, false) == MC_OK);
    CHECK(memcmp(back, data, sizeof back) != 0 && memcmp(back, old, sizeof back) != 0);
    uint8_t raw[4096];
    CHECK(mc_dram_read(r.d, 0x20000, raw, sizeof raw, NULL) == MC_OK);
    CHECK_MEM(back, raw, sizeof raw); /* the C=0 view is DRAM as it is */

    /* Guest ASID 1 private data read by ASID 2 after a flush: garbage, not the data. */
    CHECK(wr(&r, 0x30000, data, sizeof data, MEMCTL_REQ_GUEST, 1, true) == MC_OK);
    CHECK(rd(&r, 0x30000, back, sizeof back, MEMCTL_REQ_GUEST, 1, true) == MC_OK);
    CHECK_MEM(back, data, sizeof back);
    CHECK(rd(&r, 0x30000, back, sizeof back, MEMCTL_REQ_GUEST, 2, true) == MC_OK);
    CHECK(memcmp(back, data, sizeof back) != 0); /* before any flush: ASID 2 reads DRAM (zeros decrypted) */
    /* Host C=1 CLFLUSH does not evict the guest's lines; VM_PAGE_FLUSH does. */
    for (uint64_t o = 0; o < 4096; o += 64) {
        struct memctl_access f = {.addr = CB | (0x30000 + o), .size = 1, .kind = MEMCTL_ACC_READ, .req = MEMCTL_REQ_HOST};
        CHECK(memctl_clflush(r.mc, &f, NULL, NULL) == MC_OK);
    }
    CHECK(mc_dram_read(r.d, 0x30000, raw, sizeof raw, NULL) == MC_OK);
    uint8_t zero[4096] = {0};
    CHECK_MEM(raw, zero, sizeof raw);
    CHECK(memctl_vm_page_flush(r.mc, 0x30000, 1, NULL) == MC_OK);
    CHECK(mc_dram_read(r.d, 0x30000, raw, sizeof raw, NULL) == MC_OK);
    CHECK(memcmp(raw, zero, sizeof raw) != 0 && memcmp(raw, data, sizeof raw) != 0);
    CHECK(memctl_flush_domain(r.mc, (struct memctl_domain){MEMCTL_DOM_ASID, 2}, NULL) == MC_OK);
    CHECK(rd(&r, 0x30000, back, sizeof back, MEMCTL_REQ_GUEST, 2, true) == MC_OK);
    CHECK(memcmp(back, data, sizeof back) != 0);
    CHECK(rd(&r, 0x30000, back, sizeof back, MEMCTL_REQ_GUEST, 1, true) == MC_OK);
    CHECK_MEM(back, data, sizeof back);
    /* Host through C=1 (host key) sees garbage too; guest shared (C=0) read sees ciphertext. */
    CHECK(rd(&r, CB | 0x30000, back, sizeof back, MEMCTL_REQ_HOST, 0, false) == MC_OK);
    CHECK(memcmp(back, data, sizeof back) != 0);
    CHECK(memctl_vm_page_flush(r.mc, 0x30000, 0, NULL) == MC_E_INVAL);
    rig_down(&r);
}

static void test_coherent_platform(void)
{
    /* 8000_001F EAX[10] = 1: no stale alias; the other domain's copy is written back first. */
    struct memctl_platform p = sme();
    p.coherent = true;
    struct rig r;
    rig_up(&r, p, 0, 0);
    mc_slot hs;
    CHECK(mc_engine_slot_import(r.e, MC_CIPHER_AES128_XTS, host_key, 32, &hs, NULL) == MC_OK);
    CHECK(memctl_bind_host(r.mc, hs, NULL) == MC_OK);
    uint8_t data[256], back[256], raw[256], ref[256];
    fill(data, sizeof data, 6);
    CHECK(rd(&r, 0x8000, back, sizeof back, MEMCTL_REQ_HOST, 0, false) == MC_OK);
    CHECK(wr(&r, CB | 0x8000, data, sizeof data, MEMCTL_REQ_HOST, 0, false) == MC_OK);
    CHECK(rd(&r, 0x8000, back, sizeof back, MEMCTL_REQ_HOST, 0, false) == MC_OK);
    ref_xts(host_key, 0x8000, data, ref, sizeof ref);
    CHECK_MEM(back, ref, sizeof ref); /* ciphertext, not the stale zeros */
    CHECK(mc_dram_read(r.d, 0x8000, raw, sizeof raw, NULL) == MC_OK);
    CHECK_MEM(raw, ref, sizeof raw);
    CHECK(rd(&r, CB | 0x8000, back, sizeof back, MEMCTL_REQ_HOST, 0, false) == MC_OK);
    CHECK_MEM(back, data, sizeof data);
    rig_down(&r);
}

static void test_lru_eviction(void)
{
    struct rig r;
    rig_up(&r, sme(), 4096, 2); /* 32 sets x 2 ways */
    mc_slot hs;
    CHECK(mc_engine_slot_generate(r.e, MC_CIPHER_AES128_XTS, &hs, NULL) == MC_OK);
    CHECK(memctl_bind_host(r.mc, hs, NULL) == MC_OK);
    static uint8_t data[65536], back[65536];
    fill(data, sizeof data, 1);
    for (size_t o = 0; o < sizeof data; o += 8)
        CHECK(wr(&r, CB | (0x40000 + o), data + o, 8, MEMCTL_REQ_HOST, 0, false) == MC_OK);
    struct memctl_cache_stats s;
    memctl_cache_get_stats(r.mc, &s);
    CHECK(s.evictions > 0 && s.writebacks > 0);
    CHECK(rd(&r, CB | 0x40000, back, sizeof back, MEMCTL_REQ_HOST, 0, false) == MC_OK);
    CHECK_MEM(back, data, sizeof data);
    /* LRU: touch A, load B and C into the same set; A's set-mate B is evicted, not A. */
    memctl_cache_drop_all(r.mc);
    uint8_t x[8];
    uint64_t a = CB | 0x80000, b = a + 32 * 64, c = a + 64 * 64; /* same set */
    CHECK(rd(&r, a, x, 8, MEMCTL_REQ_HOST, 0, false) == MC_OK);
    CHECK(rd(&r, b, x, 8, MEMCTL_REQ_HOST, 0, false) == MC_OK);
    CHECK(rd(&r, a, x, 8, MEMCTL_REQ_HOST, 0, false) == MC_OK);
    CHECK(rd(&r, c, x, 8, MEMCTL_REQ_HOST, 0, false) == MC_OK);
    struct memctl_cache_stats s0, s1;
    memctl_cache_get_stats(r.mc, &s0);
    CHECK(rd(&r, a, x, 8, MEMCTL_REQ_HOST, 0, false) == MC_OK);
    memctl_cache_get_stats(r.mc, &s1);
    CHECK_EQ_U64(s1.hits - s0.hits, 1);
    CHECK(rd(&r, b, x, 8, MEMCTL_REQ_HOST, 0, false) == MC_OK);
    memctl_cache_get_stats(r.mc, &s0);
    CHECK_EQ_U64(s0.misses - s1.misses, 1);
    rig_down(&r);
}

static void test_stream_path(void)
{
    struct rig r;
    rig_up(&r, sme(), 0, 0);
    mc_slot hs;
    CHECK(mc_engine_slot_import(r.e, MC_CIPHER_AES128_XTS, host_key, 32, &hs, NULL) == MC_OK);
    CHECK(memctl_bind_host(r.mc, hs, NULL) == MC_OK);
    static uint8_t data[3 * 4096], back[3 * 4096], raw[3 * 4096], ref[3 * 4096];
    fill(data, sizeof data, 5);
    /* One line cached and dirty beforehand: the stream must keep it coherent. */
    uint8_t eight[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    CHECK(wr(&r, CB | 0x50040, eight, 8, MEMCTL_REQ_HOST, 0, false) == MC_OK);
    struct memctl_access a = {.addr = CB | 0x50000, .size = sizeof data, .kind = MEMCTL_ACC_WRITE, .req = MEMCTL_REQ_HOST,
                          .flags = MEMCTL_ACC_F_STREAM};
    CHECK(memctl_write(r.mc, &a, data, NULL, NULL) == MC_OK);
    a.kind = MEMCTL_ACC_READ;
    CHECK(memctl_read(r.mc, &a, back, NULL, NULL) == MC_OK);
    CHECK_MEM(back, data, sizeof data);
    CHECK(memctl_wbinvd(r.mc, NULL) == MC_OK);
    CHECK(mc_dram_read(r.d, 0x50000, raw, sizeof raw, NULL) == MC_OK);
    ref_xts(host_key, 0x50000, data, ref, sizeof ref);
    CHECK_MEM(raw, ref, sizeof raw);
    struct memctl_cache_stats s;
    memctl_cache_get_stats(r.mc, &s);
    CHECK(s.stream_lines >= 2 * 3 * 64 - 2);
    rig_down(&r);
}

static void test_tsme_ignores_cbit(void)
{
    struct memctl_platform p = sme();
    p.mode = MEMCTL_MODE_TSME;
    struct rig r;
    rig_up(&r, p, 0, 0);
    mc_slot ts;
    CHECK(mc_engine_slot_import(r.e, MC_CIPHER_AES128_XTS, host_key, 32, &ts, NULL) == MC_OK);
    CHECK(memctl_bind_tsme(r.mc, ts, NULL) == MC_OK);
    CHECK(memctl_bind_host(r.mc, ts, NULL) == MC_E_UNSUPPORTED);
    CHECK(memctl_bind_asid(r.mc, 1, ts, NULL) == MC_E_UNSUPPORTED);
    uint8_t data[256], back[256], raw[256], ref[256];
    fill(data, sizeof data, 4);
    CHECK(wr(&r, CB | 0x1000, data, sizeof data, MEMCTL_REQ_HOST, 0, false) == MC_OK);
    CHECK(rd(&r, 0x1000, back, sizeof back, MEMCTL_REQ_HOST, 0, false) == MC_OK); /* same line, same domain */
    CHECK_MEM(back, data, sizeof data);
    CHECK(rd(&r, 0x1000, back, sizeof back, MEMCTL_REQ_DEVICE, 0, false) == MC_OK);
    CHECK_MEM(back, data, sizeof data);
    CHECK(memctl_wbinvd(r.mc, NULL) == MC_OK);
    CHECK(mc_dram_read(r.d, 0x1000, raw, sizeof raw, NULL) == MC_OK);
    ref_xts(host_key, 0x1000, data, ref, sizeof ref);
    CHECK_MEM(raw, ref, sizeof raw);
    rig_down(&r);
}

static void test_mktme(void)
{
    struct memctl_platform p = {.mode = MEMCTL_MODE_TME, .phys_bits = 46, .keyid_bits = 6};
    struct rig r;
    rig_up(&r, p, 0, 0);
    const uint64_t k = 1ull << 40;
    mc_slot k0, k1;
    CHECK(mc_engine_slot_import(r.e, MC_CIPHER_AES128_XTS, host_key, 32, &k0, NULL) == MC_OK);
    CHECK(mc_engine_slot_generate(r.e, MC_CIPHER_AES128_XTS, &k1, NULL) == MC_OK);
    CHECK(memctl_set_keyid(r.mc, 0, k0, NULL) == MC_OK);
    CHECK(memctl_set_keyid(r.mc, 1, k1, NULL) == MC_OK);
    CHECK(memctl_set_keyid(r.mc, 2, MEMCTL_KEYID_NOENCRYPT, NULL) == MC_OK);
    CHECK(memctl_set_keyid(r.mc, 64, k1, NULL) == MC_E_RANGE);
    uint8_t data[128], back[128], raw[128], ref[128];
    fill(data, sizeof data, 8);
    /* KeyID 2 = no-encrypt: DRAM holds plaintext. */
    CHECK(wr(&r, 2 * k | 0x3000, data, sizeof data, MEMCTL_REQ_HOST, 0, false) == MC_OK);
    CHECK(memctl_wbinvd(r.mc, NULL) == MC_OK);
    CHECK(mc_dram_read(r.d, 0x3000, raw, sizeof raw, NULL) == MC_OK);
    CHECK_MEM(raw, data, sizeof data);
    /* KeyID 0 is the TME key. */
    CHECK(wr(&r, 0x4000, data, sizeof data, MEMCTL_REQ_HOST, 0, false) == MC_OK);
    CHECK(memctl_wbinvd(r.mc, NULL) == MC_OK);
    CHECK(mc_dram_read(r.d, 0x4000, raw, sizeof raw, NULL) == MC_OK);
    ref_xts(host_key, 0x4000, data, ref, sizeof ref);
    CHECK_MEM(raw, ref, sizeof raw);
    /* Reading KeyID 0 data through KeyID 1: garbage. Unprogrammed KeyID 3: refused. */
    CHECK(rd(&r, k | 0x4000, back, sizeof back, MEMCTL_REQ_HOST, 0, false) == MC_OK);
    CHECK(memcmp(back, data, sizeof back) != 0);
    CHECK(rd(&r, 3 * k | 0x4000, back, sizeof back, MEMCTL_REQ_HOST, 0, false) == MC_E_STATE);
    /* Exclusion range (KeyID 0 only): 64 KiB at 0x8000. */
    CHECK(memctl_set_tme_exclusion(r.mc, true, 0x0, ((1ull << 46) - 1) & ~0xFFFFull, NULL) == MC_OK);
    CHECK(wr(&r, 0x5000, data, sizeof data, MEMCTL_REQ_HOST, 0, false) == MC_OK);
    CHECK(wr(&r, k | 0x6000, data, sizeof data, MEMCTL_REQ_HOST, 0, false) == MC_OK);
    CHECK(memctl_wbinvd(r.mc, NULL) == MC_OK);
    CHECK(mc_dram_read(r.d, 0x5000, raw, sizeof raw, NULL) == MC_OK);
    CHECK_MEM(raw, data, sizeof data);
    CHECK(mc_dram_read(r.d, 0x6000, raw, sizeof raw, NULL) == MC_OK);
    CHECK(memcmp(raw, data, sizeof raw) != 0);
    CHECK(memctl_set_tme_exclusion(r.mc, true, 0x0, 0x5000, NULL) == MC_E_INVAL);
    rig_down(&r);
}

static void test_bad_input(void)
{
    struct rig r;
    rig_up(&r, sme(), 0, 0);
    mc_slot hs, gone;
    CHECK(mc_engine_slot_generate(r.e, MC_CIPHER_AES128_XTS, &hs, NULL) == MC_OK);
    CHECK(mc_engine_slot_generate(r.e, MC_CIPHER_AES128_XTS, &gone, NULL) == MC_OK);
    CHECK(mc_engine_slot_destroy(r.e, gone, NULL) == MC_OK);
    struct mc_error e;
    CHECK(memctl_bind_host(r.mc, gone, &e) == MC_E_STATE);
    CHECK(memctl_bind_host(r.mc, 0, &e) == MC_E_STATE);
    CHECK(memctl_bind_asid(r.mc, 16, hs, &e) == MC_E_RANGE);
    CHECK(memctl_bind_asid(r.mc, 0, hs, &e) == MC_E_RANGE);
    CHECK(memctl_unbind_asid(r.mc, 3, &e) == MC_E_STATE);
    CHECK(memctl_set_keyid(r.mc, 1, hs, &e) == MC_E_UNSUPPORTED);
    uint8_t b[64] = {0};
    /* Host key unbound: C=1 access refused, nothing cached. */
    CHECK(wr(&r, CB | 0x100, b, 8, MEMCTL_REQ_HOST, 0, false) == MC_E_STATE);
    CHECK(memctl_bind_host(r.mc, hs, NULL) == MC_OK);
    /* Outside DRAM (1 MiB). */
    CHECK(wr(&r, CB | 0xFFFFC, b, 8, MEMCTL_REQ_HOST, 0, false) == MC_E_RANGE);
    CHECK(rd(&r, 0x100000, b, 1, MEMCTL_REQ_HOST, 0, false) == MC_E_RANGE);
    /* Unbound ASID. */
    CHECK(rd(&r, 0x100, b, 8, MEMCTL_REQ_GUEST, 4, true) == MC_E_STATE);
    struct memctl_cache_stats s;
    memctl_cache_get_stats(r.mc, &s);
    CHECK_EQ_U64(s.hits + s.misses, 0);
    struct memctl_access a = {.addr = 0, .size = 8, .kind = MEMCTL_ACC_READ, .req = MEMCTL_REQ_HOST};
    CHECK(memctl_read(r.mc, &a, NULL, NULL, &e) == MC_E_INVAL);
    CHECK(memctl_read(NULL, &a, b, NULL, &e) == MC_E_INVAL);
    /* Geometry. */
    struct memctl *bad;
    struct memctl_platform p = sme();
    struct memctl_cache_geom g = {3000, 8};
    CHECK(memctl_create(&p, &g, 15, r.e, r.d, &bad, &e) == MC_E_INVAL);
    g = (struct memctl_cache_geom){64 * 3 * 8, 8};
    CHECK(memctl_create(&p, &g, 15, r.e, r.d, &bad, &e) == MC_E_INVAL);
    CHECK(memctl_create(&p, NULL, 15, NULL, r.d, &bad, &e) == MC_E_INVAL);
    /* Unbinding an ASID writes its lines back first. */
    mc_slot as;
    CHECK(mc_engine_slot_generate(r.e, MC_CIPHER_AES128_XTS, &as, NULL) == MC_OK);
    CHECK(memctl_bind_asid(r.mc, 5, as, NULL) == MC_OK);
    uint8_t d[64];
    fill(d, 64, 2);
    CHECK(wr(&r, 0x2000, d, 64, MEMCTL_REQ_GUEST, 5, true) == MC_OK);
    CHECK(memctl_unbind_asid(r.mc, 5, NULL) == MC_OK);
    uint8_t raw[64];
    CHECK(mc_dram_read(r.d, 0x2000, raw, 64, NULL) == MC_OK);
    uint8_t z[64] = {0};
    CHECK(memcmp(raw, z, 64) != 0);
    CHECK(memctl_asid_slot(r.mc, 5) == 0);
    /* A bound slot destroyed behind the controller's back: accesses fail cleanly. */
    mc_slot s6;
    CHECK(mc_engine_slot_generate(r.e, MC_CIPHER_AES128_XTS, &s6, NULL) == MC_OK);
    CHECK(memctl_bind_asid(r.mc, 6, s6, NULL) == MC_OK);
    CHECK(mc_engine_slot_destroy(r.e, s6, NULL) == MC_OK);
    CHECK(rd(&r, 0x3000, d, 64, MEMCTL_REQ_GUEST, 6, true) == MC_E_STATE);
    CHECK(wr(&r, 0x3010, d, 8, MEMCTL_REQ_GUEST, 6, true) == MC_E_STATE);
    CHECK(memctl_wbinvd(r.mc, NULL) == MC_OK);
    rig_down(&r);
}

int main(void)
{
    RUN(test_writeback_and_dram_bytes);
    RUN(test_alias_hazard);
    RUN(test_coherent_platform);
    RUN(test_lru_eviction);
    RUN(test_stream_path);
    RUN(test_tsme_ignores_cbit);
    RUN(test_mktme);
    RUN(test_bad_input);
    return check_summary();
}
