/* The SEV VM model: a hypervisor launches an encrypted VM through the firmware, the guest (this
 * test acting as its OS) builds page tables that choose per page between private (C=1) and
 * shared (C=0), and every view is checked: the guest's, the hypervisor's (C=0 host mapping),
 * the DRAM chips', another ASID's. Nested page faults, guest page faults, C-bit flips with
 * flushes, bounce-buffered DMA, ASID reuse, SEV-ES ASID ranges. */
#include <memcrypt/dma.h>
#include <memcrypt/fw_status.h>
#include <memcrypt/guest.h>
#include <memcrypt/sev_session.h>

#include "check.h"
#include "crypto/crypto.h"
#include "crypto/hashctx.h"
#include "test_vm_env.h"

#define G_CODE 0x100000ull /* launched image */
#define G_PT 0x200000ull   /* guest page tables */
#define G_DATA 0x400000ull /* private data */
#define G_SHARED 0x401000ull
#define G_BOUNCE 0x600000ull
#define VA_CODE 0x40000000ull
#define VA_DATA 0x40200000ull
#define VA_SHARED 0x40201000ull
#define VA_BOUNCE 0x40400000ull

static struct mc_vm *launch(struct env *e, uint32_t policy, const uint8_t *img, size_t n)
{
    struct mc_vm_config cfg = {.vcpus = 2, .mem_size = 8ull << 20, .policy = policy, .encrypt_npt = true};
    struct mc_vm *vm = NULL;
    struct mc_error err;
    uint32_t fws;
    if (mc_vm_create(e->vmm, &cfg, &vm, &fws, &err)) {
        fprintf(stderr, "vm_create: %s\n", err.msg);
        return NULL;
    }
    if (img && mc_vm_launch_update(vm, G_CODE, img, n, 4096, NULL, NULL, &err)) {
        fprintf(stderr, "launch_update: %s\n", err.msg);
        mc_vm_destroy(vm);
        return NULL;
    }
    return vm;
}

static void test_launch_and_views(void)
{
    struct env e;
    CHECK(env_open(&e, "rome", 0) == 0);
    static uint8_t img[8192];
    for (size_t i = 0; i < sizeof img; i++)
        img[i] = (uint8_t)(0x90 ^ i);
    struct mc_vm *vm = launch(&e, 0, img, sizeof img);
    CHECK(vm != NULL);
    if (!vm) {
        env_close(&e);
        return;
    }
    CHECK(mc_vm_asid(vm) >= 1 && mc_vm_handle(vm) == 1 && mc_vm_vcpus(vm) == 2);

    /* Measurement without a session: TIK = 0; the owner recomputes it from SHA-256(image). */
    uint8_t meas[0x30], ld[32], want[32], tik[16] = {0};
    struct mc_error err;
    CHECK(mc_vm_launch_measure(vm, meas, &err) == MC_OK);
    CHECK(mc_sha256(img, sizeof img, ld, NULL) == MC_OK);
    CHECK(mc_sev_launch_measure(tik, 0, 24, 3, 0, ld, meas + 32, want, NULL) == MC_OK);
    CHECK_MEM(meas, want, 32);
    CHECK(mc_vm_launch_finish(vm, &err) == MC_OK);

    /* The guest OS: page tables in private memory, code private, data private, one page shared. */
    CHECK(mc_guest_paging_init(vm, G_PT, 0x10000, &err) == MC_OK);
    CHECK(mc_guest_map(vm, VA_CODE, G_CODE, sizeof img, 0, &err) == MC_OK);
    CHECK(mc_guest_map(vm, VA_DATA, G_DATA, 4096, MC_GUEST_MAP_WRITE | MC_GUEST_MAP_NX, &err) == MC_OK);
    CHECK(mc_guest_map(vm, VA_SHARED, G_SHARED, 4096, MC_GUEST_MAP_WRITE | MC_GUEST_MAP_NX | MC_GUEST_MAP_SHARED,
                       &err) == MC_OK);
    struct mc_vcpu *v0 = mc_vm_vcpu(vm, 0), *v1 = mc_vm_vcpu(vm, 1);
    struct mc_fault f;
    uint8_t buf[8192], host[64], chips[64];
    CHECK_MSG(mc_guest_fetch(v1, VA_CODE, buf, sizeof img, false, &f, &err) == MC_OK, "%s", err.msg);
    CHECK_MEM(buf, img, sizeof img); /* vCPU 1 shares the ASID and the tables */

    static const char secret[64] = "private: only the guest can read this line......................";
    static const char open[64] = "shared: the hypervisor and devices can read this line..........";
    CHECK(mc_guest_store(v0, VA_DATA, secret, 64, false, &f, &err) == MC_OK);
    CHECK(mc_guest_store(v0, VA_SHARED, open, 64, false, &f, &err) == MC_OK);
    CHECK(mc_guest_load(v1, VA_DATA, buf, 64, false, &f, &err) == MC_OK);
    CHECK_MEM(buf, secret, 64);
    CHECK(mc_vm_dram_read(vm, G_DATA, chips, 64, &err) == MC_OK);
    CHECK(memcmp(chips, secret, 64) != 0); /* the chips hold ciphertext */
    CHECK(mc_vm_host_read(vm, G_DATA, host, 64, &err) == MC_OK);
    CHECK(memcmp(host, secret, 64) != 0 && !memcmp(host, chips, 64)); /* the hypervisor sees the same ciphertext */
    CHECK(mc_vm_host_read(vm, G_SHARED, host, 64, &err) == MC_OK);
    CHECK_MEM(host, open, 64);
    CHECK(mc_vm_dram_read(vm, G_SHARED, chips, 64, &err) == MC_OK);
    CHECK_MEM(chips, open, 64);
    CHECK(mc_vm_dram_read(vm, G_CODE, chips, 64, &err) == MC_OK);
    CHECK(memcmp(chips, img, 64) != 0);
    /* Fetch from the shared page: instruction fetches are always private, so it is not the text. */
    CHECK(mc_guest_map(vm, VA_SHARED + 0x10000, G_SHARED, 4096, MC_GUEST_MAP_SHARED, &err) == MC_OK);
    CHECK(mc_guest_fetch(v0, VA_SHARED + 0x10000, buf, 64, false, &f, &err) == MC_OK);
    CHECK(memcmp(buf, open, 64) != 0);
    /* NX page: fetch faults with #PF (ID). */
    CHECK(mc_guest_fetch(v0, VA_DATA, buf, 16, false, &f, &err) == MC_E_FAULT && f.kind == MC_FAULT_PF &&
          (f.error_code & MC_PF_ID));
    /* Not mapped: #PF. */
    CHECK(mc_guest_load(v0, 0x7000000000ull, buf, 8, false, &f, &err) == MC_E_FAULT && f.kind == MC_FAULT_PF &&
          f.addr == 0x7000000000ull);

    /* Running the VM under another ASID (a second VM's) gives garbage; an invalid one cannot run. */
    struct mc_vm *vm2 = launch(&e, 0, NULL, 0);
    CHECK(vm2 != NULL && mc_vm_asid(vm2) != mc_vm_asid(vm));
    if (vm2) {
        mc_vm_set_vmcb_asid(vm, mc_vm_asid(vm2));
        mc_status s = mc_guest_load(v0, VA_DATA, buf, 64, false, &f, &err);
        CHECK(s == MC_E_FAULT || (s == MC_OK && memcmp(buf, secret, 64) != 0)); /* even the walk decrypts wrong */
        struct mc_paging_regs off = {0};
        struct mc_paging_regs keep;
        mc_guest_get_regs(v0, &keep);
        mc_guest_set_regs(v0, &off); /* paging off: straight private reads */
        CHECK(mc_guest_phys_read(v0, G_DATA, true, buf, 64, &f, &err) == MC_OK);
        CHECK(memcmp(buf, secret, 64) != 0);
        mc_vm_set_vmcb_asid(vm, 0);
        CHECK(mc_guest_phys_read(v0, G_DATA, true, buf, 64, &f, &err) == MC_E_STATE);
        mc_vm_set_vmcb_asid(vm, mc_vm_asid(vm));
        CHECK(mc_guest_phys_read(v0, G_DATA, true, buf, 64, &f, &err) == MC_OK);
        CHECK_MEM(buf, secret, 64);
        mc_guest_set_regs(v0, &keep);
        mc_vm_destroy(vm2);
    }

    /* set_memory_decrypted on the private page: flushed, C-bit cleared; the guest now sees what
     * the host sees (ciphertext of the old contents), then data the host writes. */
    CHECK(mc_guest_set_shared(v0, VA_DATA, 4096, true, &err) == MC_OK);
    CHECK(mc_guest_load(v0, VA_DATA, buf, 64, false, &f, &err) == MC_OK);
    CHECK(memcmp(buf, secret, 64) != 0);
    CHECK(mc_vm_host_read(vm, G_DATA, host, 64, &err) == MC_OK);
    CHECK_MEM(buf, host, 64);
    CHECK(mc_vm_host_write(vm, G_DATA, open, 64, &err) == MC_OK);
    CHECK(mc_guest_load(v0, VA_DATA, buf, 64, false, &f, &err) == MC_OK);
    CHECK_MEM(buf, open, 64);
    CHECK(mc_guest_set_shared(v0, VA_DATA, 4096, false, &err) == MC_OK); /* and back */
    CHECK(mc_guest_store(v0, VA_DATA, secret, 64, false, &f, &err) == MC_OK);
    CHECK(mc_vm_host_read(vm, G_DATA, host, 64, &err) == MC_OK);
    CHECK(memcmp(host, secret, 64) != 0);

    /* Guest DMA: a 32-bit device cannot reach private memory; the guest bounces through shared pages. */
    struct mc_swiotlb sw;
    struct mc_dma_port dev;
    CHECK(mc_dma_init(&dev, mc_machine_memctl(e.t.m), 32, &err) == MC_OK);
    CHECK(mc_swiotlb_init(&sw, v0, VA_BOUNCE, G_BOUNCE, 0x4000, &err) == MC_OK);
    uint64_t bus, slot;
    CHECK(mc_swiotlb_map(&sw, VA_DATA, 64, true, &bus, &slot, &err) == MC_OK);
    CHECK(mc_dma_reachable(&dev, bus, 64));
    CHECK(mc_dma_read(&dev, bus, buf, 64, &f, &err) == MC_OK);
    CHECK_MEM(buf, secret, 64); /* the device got the plaintext the guest chose to share */
    static const char reply[64] = "device reply: written by DMA into the bounce buffer...........";
    CHECK(mc_dma_write(&dev, bus, reply, 64, &f, &err) == MC_OK);
    CHECK(mc_swiotlb_unmap_from_device(&sw, slot, VA_DATA, 64, &err) == MC_OK);
    CHECK(mc_guest_load(v0, VA_DATA, buf, 64, false, &f, &err) == MC_OK);
    CHECK_MEM(buf, reply, 64);
    CHECK(mc_vm_host_read(vm, G_DATA, host, 64, &err) == MC_OK);
    CHECK(memcmp(host, reply, 64) != 0); /* back in private memory: ciphertext to the host */

    /* Nested page faults: the hypervisor unmaps the data region, then the page-table region. */
    CHECK(mc_vm_npt_unmap(vm, G_DATA, &err) == MC_OK);
    CHECK(mc_guest_load(v0, VA_DATA, buf, 8, false, &f, &err) == MC_E_FAULT && f.kind == MC_FAULT_NPF &&
          f.addr == G_DATA && (f.error_code & MC_NPF_FINAL));
    CHECK(mc_vm_npt_unmap(vm, G_PT, &err) == MC_OK);
    CHECK(mc_guest_load(v0, VA_CODE, buf, 8, false, &f, &err) == MC_E_FAULT && f.kind == MC_FAULT_NPF &&
          (f.error_code & MC_NPF_TABLE));

    mc_vm_destroy(vm);
    /* ASID reuse: the freed ASID is dirty; the hypervisor flushes when the firmware asks. */
    struct mc_vm *vm3 = launch(&e, 0, NULL, 0);
    CHECK(vm3 != NULL);
    mc_vm_destroy(vm3);
    env_close(&e);
}

static void test_es_vm(void)
{
    struct env e;
    CHECK(env_open(&e, "milan", MC_SEV_INIT_FLAG_ES) == 0);
    struct mc_vm_config cfg = {.vcpus = 2, .mem_size = 2ull << 20, .policy = MC_SEV_POLICY_ES | MC_SEV_POLICY_NODBG};
    struct mc_vm *vm;
    struct mc_error err;
    uint32_t fws;
    CHECK(mc_vm_create(e.vmm, &cfg, &vm, &fws, &err) == MC_OK);
    CHECK(mc_vm_asid(vm) >= 1 && mc_vm_asid(vm) < 128); /* Milan: ES ASIDs below 128 */
    static uint8_t vmsa[4096];
    uint8_t img[4096] = {1, 2, 3}, ld[32], meas[0x30], want[32], tik[16] = {0};
    CHECK(mc_vm_launch_update(vm, 0, img, sizeof img, 0, NULL, NULL, &err) == MC_OK);
    for (unsigned i = 0; i < 2; i++) {
        vmsa[0] = (uint8_t)i;
        CHECK(mc_vm_launch_update_vmsa(vm, i, vmsa, &err) == MC_OK);
    }
    CHECK(mc_vm_launch_measure(vm, meas, &err) == MC_OK);
    struct mc_hashctx *d;
    CHECK(mc_hashctx_create("SHA256", &d, NULL) == MC_OK);
    mc_hashctx_update(d, img, sizeof img, NULL);
    vmsa[0] = 0;
    mc_hashctx_update(d, vmsa, sizeof vmsa, NULL);
    vmsa[0] = 1;
    mc_hashctx_update(d, vmsa, sizeof vmsa, NULL);
    mc_hashctx_final(d, ld, NULL);
    mc_hashctx_destroy(d);
    CHECK(mc_sev_launch_measure(tik, 1, 55, 3, cfg.policy, ld, meas + 32, want, NULL) == MC_OK);
    CHECK_MEM(meas, want, 32); /* SEV-ES digest: image then one VMSA per vCPU in order */
    mc_vm_destroy(vm);
    /* A plain SEV VM on the same platform gets an ASID from 128 up. */
    cfg.policy = 0;
    CHECK(mc_vm_create(e.vmm, &cfg, &vm, &fws, &err) == MC_OK && mc_vm_asid(vm) >= 128);
    mc_vm_destroy(vm);
    /* Bad configurations. */
    cfg.mem_size = 4096;
    CHECK(mc_vm_create(e.vmm, &cfg, &vm, &fws, &err) == MC_E_INVAL);
    cfg.mem_size = 2ull << 20;
    cfg.policy = 1u << 7;
    CHECK(mc_vm_create(e.vmm, &cfg, &vm, &fws, &err) == MC_E_FIRMWARE && fws == MC_FW_POLICY_FAILURE &&
          err.fw_status == MC_FW_POLICY_FAILURE);
    CHECK(strstr(err.msg, "LAUNCH_START") && strstr(err.msg, "POLICY_FAILURE"));
    env_close(&e);
}

/* The hypervisor's side of the one access path: a guest store across two pages whose second GPA
 * the hypervisor unmapped faults (#NPF, final GPA) and leaves the first page unchanged; a
 * hypervisor that rewrites an NPT entry itself keeps the vCPUs on the old translation until it
 * flushes (mc_vm_tlb_flush), after which the old one is never used; vCPUs' TLBs are their own;
 * a guest copy (REP MOVS) moves whole pages. */
static void test_vcpu_tlb(void)
{
    struct env e;
    CHECK(env_open(&e, "milan", 0) == 0);
    struct mc_vm *vm = launch(&e, 0, NULL, 0);
    CHECK(vm != NULL);
    if (!vm) {
        env_close(&e);
        return;
    }
    struct mc_error err;
    const uint64_t va = 0x50000000ull;
    CHECK(mc_guest_paging_init(vm, G_PT, 0x10000, &err) == MC_OK);
    /* page 1 -> GPA 0x1FF000 (NPT region 0..2 MiB), page 2 -> GPA 0x400000 (4..6 MiB), page 3 ->
     * GPA 0x600000 (6..8 MiB); the guest's tables are at 2..4 MiB */
    CHECK(mc_guest_map(vm, va, 0x1FF000, 0x1000, MC_GUEST_MAP_WRITE | MC_GUEST_MAP_NX, &err) == MC_OK);
    CHECK(mc_guest_map(vm, va + 0x1000, 0x400000, 0x1000, MC_GUEST_MAP_WRITE | MC_GUEST_MAP_NX, &err) == MC_OK);
    CHECK(mc_guest_map(vm, va + 0x2000, 0x600000, 0x1000, MC_GUEST_MAP_WRITE | MC_GUEST_MAP_NX, &err) == MC_OK);
    struct mc_vcpu *v0 = mc_vm_vcpu(vm, 0), *v1 = mc_vm_vcpu(vm, 1);
    struct mc_fault f;
    uint8_t a[4096], b[4096], back[16];
    memset(a, 0xA5, sizeof a);
    memset(b, 0x5B, sizeof b);
    CHECK(mc_guest_store(v0, va, a, 4096, false, &f, &err) == MC_OK);
    CHECK(mc_guest_store(v0, va + 0x1000, b, 4096, false, &f, &err) == MC_OK);
    CHECK(mc_guest_store(v0, va + 0x2000, b, 4096, false, &f, &err) == MC_OK);
    CHECK(mc_vm_npt_unmap(vm, 0x400000, &err) == MC_OK);
    static const uint8_t st[16] = "cross-page store";
    CHECK(mc_guest_store(v0, va + 0xFF8, st, 16, false, &f, &err) == MC_E_FAULT);
    CHECK(f.kind == MC_FAULT_NPF && f.addr == 0x400000 && (f.error_code & MC_NPF_FINAL) && (f.error_code & MC_PF_W));
    CHECK(mc_guest_load(v0, va + 0xFF8, back, 8, false, &f, &err) == MC_OK);
    CHECK_MEM(back, a, 8);
    /* The hypervisor points GPA 4..6 MiB at the frames of GPA 6..8 MiB by writing its PD entry. */
    uint64_t root = mc_vm_npt_root(vm), c = mc_guest_cbit(v0), t = root;
    uint8_t ent[8];
    for (int l = 4; l > 2; l--) {
        CHECK(mc_machine_phys_read(e.t.m, (t & 0x000FFFFFFFFFF000ull) | c, ent, 8, NULL, NULL) == MC_OK);
        t = mc_le64(ent);
        (void)l;
    }
    uint64_t pd = (t & 0x000FFFFFFFFFF000ull & ~c) | c, e2 = pd + 2 * 8, e3 = pd + 3 * 8;
    CHECK(mc_machine_phys_read(e.t.m, e3, ent, 8, NULL, NULL) == MC_OK);
    CHECK(mc_machine_phys_write(e.t.m, e2, ent, 8, NULL, NULL) == MC_OK);
    /* vCPU 0 cached GPA 0x600000 (page 3), vCPU 1 nothing: */
    CHECK(mc_guest_load(v0, va + 0x2000, back, 8, false, &f, &err) == MC_OK);
    CHECK_MEM(back, b, 8);
    CHECK(mc_guest_load(v1, va + 0x2000, back, 8, false, &f, &err) == MC_OK);
    CHECK_MEM(back, b, 8);
    /* GPA 4..6 MiB was unmapped (and flushed, so nothing cached it): with the new PD entry (the
     * frames of 6..8 MiB) any walk sees it without a flush. */
    CHECK(mc_guest_load(v0, va + 0x1000, back, 8, false, &f, &err) == MC_OK);
    CHECK_MEM(back, b, 8);
    /* Now move GPA 0..2 MiB without flushing: vCPU 0 keeps the old frame (it cached it). */
    uint64_t e1 = pd;
    uint8_t old1[8];
    CHECK(mc_machine_phys_read(e.t.m, e1, old1, 8, NULL, NULL) == MC_OK);
    CHECK(mc_machine_phys_write(e.t.m, e1, ent, 8, NULL, NULL) == MC_OK);
    CHECK(mc_guest_load(v0, va, back, 8, false, &f, &err) == MC_OK);
    CHECK_MEM(back, a, 8); /* stale, as on hardware */
    mc_vm_tlb_flush(vm);
    CHECK(mc_guest_load(v0, va + 0xFF8, back, 8, false, &f, &err) == MC_OK);
    CHECK(memcmp(back, a, 8) != 0); /* the frame of GPA 0x7FFFF8 now: never the old one */
    CHECK(mc_machine_phys_write(e.t.m, e1, old1, 8, NULL, NULL) == MC_OK);
    mc_vm_tlb_flush(vm);
    CHECK(mc_guest_load(v0, va, back, 8, false, &f, &err) == MC_OK);
    CHECK_MEM(back, a, 8);
    /* REP MOVS: page 1 onto page 2, then page 1 reads back on both. */
    CHECK(mc_guest_copy(v1, va + 0x1000, va, 4096, &f, &err) == MC_OK);
    CHECK(mc_guest_load(v0, va + 0x1000, b, 4096, false, &f, &err) == MC_OK);
    CHECK_MEM(b, a, 4096);
    mc_vm_destroy(vm);
    env_close(&e);
}

/* mc_guest_map and mc_guest_set_shared write each leaf table's share of a range as one run: two
 * platforms built alike, one guest mapping and converting page by page, the other in one call
 * each (ranges crossing a leaf table and a 1 GiB boundary, a conversion over pages of which some
 * are already shared), end with the same DRAM bytes (page tables and data) and the same views. */
static void test_ranges_match_pages(void)
{
    struct env ea, eb;
    CHECK(env_open(&ea, "milan", 0) == 0);
    CHECK(env_open(&eb, "milan", 0) == 0);
    struct mc_vm *va = launch(&ea, 1, NULL, 0), *vb = launch(&eb, 1, NULL, 0);
    CHECK(va && vb);
    struct mc_error err;
    struct mc_fault f;
    const uint64_t base = VA_CODE - 0x8000, len = 0x10000; /* 16 pages over the 1 GiB boundary */
    CHECK(mc_guest_paging_init(va, G_PT, 0x100000, &err) == MC_OK);
    CHECK(mc_guest_paging_init(vb, G_PT, 0x100000, &err) == MC_OK);
    for (uint64_t o = 0; o < len; o += 4096)
        CHECK(mc_guest_map(va, base + o, G_DATA + o, 4096, MC_GUEST_MAP_WRITE | MC_GUEST_MAP_NX, &err) == MC_OK);
    CHECK(mc_guest_map(vb, base, G_DATA, len, MC_GUEST_MAP_WRITE | MC_GUEST_MAP_NX, &err) == MC_OK);
    struct mc_vcpu *a0 = mc_vm_vcpu(va, 0), *b0 = mc_vm_vcpu(vb, 0);
    uint8_t page[4096];
    for (unsigned i = 0; i < sizeof page; i++)
        page[i] = (uint8_t)(i * 7 + 1);
    for (uint64_t o = 0; o < len; o += 4096) {
        CHECK(mc_guest_store(a0, base + o, page, sizeof page, false, &f, &err) == MC_OK);
        CHECK(mc_guest_store(b0, base + o, page, sizeof page, false, &f, &err) == MC_OK);
    }
    /* Pages 5 and 9 shared first, then pages 3..12 converted (some already shared). */
    const uint64_t pre[] = {5, 9};
    for (unsigned k = 0; k < 2; k++) {
        CHECK(mc_guest_set_shared(a0, base + 4096 * pre[k], 4096, true, &err) == MC_OK);
        CHECK(mc_guest_set_shared(b0, base + 4096 * pre[k], 4096, true, &err) == MC_OK);
    }
    for (uint64_t p = 3; p < 13; p++)
        CHECK(mc_guest_set_shared(a0, base + 4096 * p, 4096, true, &err) == MC_OK);
    CHECK(mc_guest_set_shared(b0, base + 4096 * 3, 4096 * 10, true, &err) == MC_OK);
    /* ... and pages 2..6 back to private. */
    for (uint64_t p = 2; p < 7; p++)
        CHECK(mc_guest_set_shared(a0, base + 4096 * p, 4096, false, &err) == MC_OK);
    CHECK(mc_guest_set_shared(b0, base + 4096 * 2, 4096 * 5, false, &err) == MC_OK);
    uint8_t x[4096], y[4096];
    for (uint64_t o = 0; o < len; o += 4096) {
        CHECK(mc_guest_load(a0, base + o, x, sizeof x, false, &f, &err) == MC_OK);
        CHECK(mc_guest_load(b0, base + o, y, sizeof y, false, &f, &err) == MC_OK);
        CHECK_MEM(x, y, sizeof x);
    }
    CHECK(mc_board_wbinvd(ea.t.b, &err) == MC_OK && mc_board_wbinvd(eb.t.b, &err) == MC_OK);
    uint64_t sa = 0, sb = 1;
    CHECK(mc_vm_npt_translate(va, 0, 0, &sa, &f, &err) == MC_OK && mc_vm_npt_translate(vb, 0, 0, &sb, &f, &err) == MC_OK);
    CHECK(sa == sb);
    static uint8_t da[8ull << 20], db[8ull << 20]; /* all guest RAM: tables and data */
    CHECK(mc_dram_read(mc_machine_dram(mc_board_machine(ea.t.b)), sa, da, sizeof da, &err) == MC_OK);
    CHECK(mc_dram_read(mc_machine_dram(mc_board_machine(eb.t.b)), sb, db, sizeof db, &err) == MC_OK);
    CHECK(memcmp(da, db, sizeof da) == 0);
    /* A range running into a table that does not exist: the conversion stops there with
     * NOTFOUND, the page before it converted (as page by page). */
    const uint64_t last = VA_CODE + 0x1FF000;
    CHECK(mc_guest_map(vb, last, G_DATA + 0x20000, 4096, MC_GUEST_MAP_WRITE | MC_GUEST_MAP_NX, &err) == MC_OK);
    CHECK(mc_guest_store(b0, last, page, 64, false, &f, &err) == MC_OK);
    CHECK(mc_guest_set_shared(b0, last, 0x2000, true, &err) == MC_E_NOTFOUND);
    uint8_t host[64];
    CHECK(mc_guest_load(b0, last, x, 64, false, &f, &err) == MC_OK);
    CHECK(mc_vm_host_read(vb, G_DATA + 0x20000, host, 64, &err) == MC_OK);
    CHECK(memcmp(x, page, 64) != 0 && memcmp(x, host, 64) == 0); /* shared: the host's view */
    mc_vm_destroy(va);
    mc_vm_destroy(vb);
    env_close(&ea);
    env_close(&eb);
}

int main(void)
{
    RUN(test_launch_and_views);
    RUN(test_es_vm);
    RUN(test_vcpu_tlb);
    RUN(test_ranges_match_pages);
    return check_summary();
}
