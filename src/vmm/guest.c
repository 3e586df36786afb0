/* The guest program API: guest accesses go down each vCPU's one access path (paging/lcpu.c:
 * TLB, guest walk with private table reads, NPT walk, check hook, memory controller with the
 * VM's ASID); guest page-table building with the guest kernel's TLB shootdowns; C-bit flips with
 * the flush rules; SWIOTLB bounce buffers for guest DMA. */
#include <string.h>

#include <memcrypt/bytes.h>
#include <memcrypt/rmp.h>

#include "crypto/crypto.h"

#include "vmm/vm_int.h"

#define PTE_ADDR 0x000FFFFFFFFFF000ull

uint64_t mc_guest_cbit(const struct mc_vcpu *v) { return v && v->vm->vmm->cbit ? 1ull << v->vm->vmm->cbit : 0; }
void mc_guest_get_regs(const struct mc_vcpu *v, struct mc_paging_regs *r) { mc_lcpu_get_regs(v->cpu, r); }
void mc_guest_set_regs(struct mc_vcpu *v, const struct mc_paging_regs *r) { mc_lcpu_set_regs(v->cpu, r); }
void mc_guest_invlpg(struct mc_vcpu *v, uint64_t va)
{
    if (v)
        mc_lcpu_invlpg(v->cpu, va);
}

struct mc_paging_mode vm_guest_mode(const struct mc_vmm *vmm)
{
    struct mc_cpu_features f;
    mc_cpu_decode(mc_machine_profile(vmm->m), &f);
    /* Guest physical addresses are not reduced; the C-bit is an attribute at the host position,
     * and when it lies inside the address bits it costs the guest that bit (digest 1.6). */
    unsigned cbit = vmm->cbit, bits = f.phys_bits;
    if (cbit && cbit < bits)
        bits = cbit;
    struct mc_paging_mode m = {bits, cbit ? (int)cbit : -1, MC_PT_X86};
    return m;
}

/* Every guest access: VMRUN's ASID check, then the one access path of the vCPU. */
static mc_status enter(struct mc_vcpu *v, const void *buf, size_t len, struct mc_fault *fault, struct mc_error *err)
{
    if (!v || (!buf && len) || !fault)
        return mc_seterr(err, MC_E_INVAL, "guest access needs a vCPU, a buffer and a fault output");
    fault->kind = MC_FAULT_NONE;
    uint32_t asid;
    mc_status s = vm_run_asid(v->vm, &asid, err);
    return s || !v->vm->snp || v->vmsa_loaded ? s : vm_snp_vmrun(v, err);
}

static mc_status gvirt(struct mc_vcpu *v, uint64_t va, unsigned acc, void *rbuf, const void *wbuf, size_t len,
                       struct mc_fault *fault, struct mc_error *err)
{
    mc_status s = enter(v, rbuf ? (const void *)rbuf : wbuf, len, fault, err);
    if (s || !len)
        return s;
    return mc_lcpu_access(v->cpu, va, rbuf, wbuf, len, acc, 0, fault, err);
}

mc_status mc_guest_load(struct mc_vcpu *v, uint64_t va, void *buf, size_t len, bool user, struct mc_fault *fault,
                        struct mc_error *err)
{
    return gvirt(v, va, user ? MC_PG_USER : 0, buf, NULL, len, fault, err);
}

mc_status mc_guest_store(struct mc_vcpu *v, uint64_t va, const void *buf, size_t len, bool user,
                         struct mc_fault *fault, struct mc_error *err)
{
    return gvirt(v, va, user ? MC_PG_USER : 0, NULL, buf, len, fault, err);
}

mc_status mc_guest_fetch(struct mc_vcpu *v, uint64_t va, void *buf, size_t len, bool user, struct mc_fault *fault,
                         struct mc_error *err)
{
    return gvirt(v, va, MC_PG_FETCH | (user ? MC_PG_USER : 0), buf, NULL, len, fault, err);
}

mc_status mc_guest_copy(struct mc_vcpu *v, uint64_t dst_va, uint64_t src_va, size_t len, struct mc_fault *fault,
                        struct mc_error *err)
{
    mc_status s = enter(v, "", len, fault, err);
    return s ? s : mc_lcpu_copy(v->cpu, dst_va, src_va, len, fault, err);
}

static mc_status gphys_range(struct mc_vcpu *v, uint64_t gpa, bool priv, void *rbuf, const void *wbuf, size_t len,
                             struct mc_fault *fault, struct mc_error *err)
{
    mc_status s = enter(v, rbuf ? (const void *)rbuf : wbuf, len, fault, err);
    if (s || !len)
        return s;
    return mc_lcpu_phys_access(v->cpu, gpa & ~mc_guest_cbit(v), priv, rbuf, wbuf, len, fault, err);
}

mc_status mc_guest_phys_read(struct mc_vcpu *v, uint64_t gpa, bool priv, void *buf, size_t len, struct mc_fault *fault,
                             struct mc_error *err)
{
    return gphys_range(v, gpa, priv, buf, NULL, len, fault, err);
}

mc_status mc_guest_phys_write(struct mc_vcpu *v, uint64_t gpa, bool priv, const void *buf, size_t len,
                              struct mc_fault *fault, struct mc_error *err)
{
    return gphys_range(v, gpa, priv, NULL, buf, len, fault, err);
}

/* The guest kernel's TLB shootdown after it changed a PTE: INVLPG on every vCPU. */
static void shootdown(struct mc_vm *vm, uint64_t va)
{
    for (unsigned i = 0; i < vm->nvcpu; i++)
        mc_lcpu_invlpg(vm->vcpu[i].cpu, va);
}

/* ---- page-table building ------------------------------------------------------------------- */

static mc_status pt_alloc(struct mc_vm *vm, uint64_t *gpa, struct mc_error *err)
{
    if (vm->pt_next + 4096 > vm->pt_pool_len)
        return mc_seterr(err, MC_E_FULL, "the guest page-table pool is exhausted");
    *gpa = vm->pt_pool_gpa + vm->pt_next;
    vm->pt_next += 4096;
    static const uint8_t zero[4096];
    struct mc_fault f;
    return mc_guest_phys_write(&vm->vcpu[0], *gpa, true, zero, sizeof zero, &f, err);
}

static mc_status pte_rw(struct mc_vm *vm, uint64_t table_gpa, unsigned idx, uint64_t *val, bool write,
                        struct mc_error *err)
{
    uint8_t b[8];
    struct mc_fault f;
    if (write) {
        mc_put_le64(b, *val);
        return mc_guest_phys_write(&vm->vcpu[0], table_gpa + 8ull * idx, true, b, 8, &f, err);
    }
    mc_status s = mc_guest_phys_read(&vm->vcpu[0], table_gpa + 8ull * idx, true, b, 8, &f, err);
    if (!s)
        *val = mc_le64(b);
    return s;
}

/* The leaf PTE's table and index for va, creating intermediate tables when create is set. */
static mc_status pte_find(struct mc_vm *vm, uint64_t va, bool create, uint64_t *table, unsigned *idx,
                          struct mc_error *err)
{
    uint64_t c = mc_guest_cbit(&vm->vcpu[0]);
    struct mc_paging_regs r;
    mc_lcpu_get_regs(vm->vcpu[0].cpu, &r);
    uint64_t t = r.cr3 & PTE_ADDR & ~c;
    for (int level = 3; level >= 1; level--) {
        unsigned i = (va >> (12 + 9 * level)) & 511;
        uint64_t e;
        mc_status s = pte_rw(vm, t, i, &e, false, err);
        if (s)
            return s;
        if (!(e & MC_PTE_P)) {
            if (!create)
                return mc_seterr(err, MC_E_NOTFOUND, "va 0x%llx is not mapped", (unsigned long long)va);
            uint64_t n = 0;
            s = pt_alloc(vm, &n, err);
            if (s)
                return s;
            e = n | c | MC_PTE_P | MC_PTE_W | MC_PTE_U; /* tables are private */
            s = pte_rw(vm, t, i, &e, true, err);
            if (s)
                return s;
        } else if (e & MC_PTE_PS) {
            return mc_seterr(err, MC_E_STATE, "va 0x%llx is inside a large page", (unsigned long long)va);
        }
        t = e & PTE_ADDR & ~c;
    }
    *table = t;
    *idx = (va >> 12) & 511;
    return MC_OK;
}

mc_status mc_guest_paging_init(struct mc_vm *vm, uint64_t pool_gpa, uint64_t pool_len, struct mc_error *err)
{
    if (!vm || (pool_gpa | pool_len) & 4095 || pool_len < 4096 || pool_gpa >= vm->mem_size ||
        pool_len > vm->mem_size - pool_gpa)
        return mc_seterr(err, MC_E_INVAL, "the page-table pool must be 4 KiB aligned inside guest RAM");
    vm->pt_pool_gpa = pool_gpa;
    vm->pt_pool_len = pool_len;
    vm->pt_next = 0;
    uint64_t pml4 = 0;
    /* Paging off while the tables are built: every access private. */
    static const struct mc_paging_regs off = {0, 0, 0, 0};
    for (unsigned i = 0; i < vm->nvcpu; i++)
        mc_lcpu_set_regs(vm->vcpu[i].cpu, &off);
    mc_status s = pt_alloc(vm, &pml4, err);
    if (s)
        return s;
    struct mc_paging_regs r = {.cr0 = MC_CR0_PG | MC_CR0_WP | 1, .cr3 = pml4 | mc_guest_cbit(&vm->vcpu[0]),
                               .cr4 = MC_CR4_PAE, .efer = MC_EFER_LME | (1ull << 10) | MC_EFER_NXE};
    for (unsigned i = 0; i < vm->nvcpu; i++)
        mc_lcpu_set_regs(vm->vcpu[i].cpu, &r);
    return MC_OK;
}

mc_status mc_guest_map(struct mc_vm *vm, uint64_t va, uint64_t gpa, uint64_t len, unsigned flags, struct mc_error *err)
{
    struct mc_paging_regs r0 = {0, 0, 0, 0};
    if (vm)
        mc_lcpu_get_regs(vm->vcpu[0].cpu, &r0);
    if (!vm || (va | gpa | len) & 4095 || !(r0.cr0 & MC_CR0_PG))
        return mc_seterr(err, MC_E_INVAL, "mc_guest_map needs 4 KiB aligned ranges and mc_guest_paging_init first");
    if (gpa >= vm->mem_size || len > vm->mem_size - gpa)
        return mc_seterr(err, MC_E_RANGE, "GPA range outside guest RAM");
    uint64_t c = mc_guest_cbit(&vm->vcpu[0]);
    const uint64_t attr = MC_PTE_P | ((flags & MC_GUEST_MAP_WRITE) ? MC_PTE_W : 0) |
                          ((flags & MC_GUEST_MAP_USER) ? MC_PTE_U : 0) | ((flags & MC_GUEST_MAP_NX) ? MC_PTE_NX : 0) |
                          ((flags & MC_GUEST_MAP_SHARED) ? 0 : c);
    /* Each leaf table's share of the range: found (and its tables created) once, its PTEs written
     * as one run through the guest's private view, then the shootdown of each page. */
    uint8_t run[4096];
    for (uint64_t off = 0; off < len;) {
        uint64_t t;
        unsigned i;
        mc_status s = pte_find(vm, va + off, true, &t, &i, err);
        if (s)
            return s;
        uint64_t n = 512 - i;
        if (n > (len - off) / 4096)
            n = (len - off) / 4096;
        for (uint64_t k = 0; k < n; k++)
            mc_put_le64(run + 8 * k, (gpa + off + 4096 * k) | attr);
        struct mc_fault f;
        s = mc_guest_phys_write(&vm->vcpu[0], t + 8ull * i, true, run, (size_t)(8 * n), &f, err);
        if (s)
            return s;
        for (uint64_t k = 0; k < n; k++)
            shootdown(vm, va + off + 4096 * k);
        off += 4096 * n;
    }
    return MC_OK;
}

mc_status mc_guest_set_shared(struct mc_vcpu *v, uint64_t va, uint64_t len, bool shared, struct mc_error *err)
{
    if (!v || (va | len) & 4095)
        return mc_seterr(err, MC_E_INVAL, "mc_guest_set_shared needs 4 KiB aligned ranges");
    struct mc_vm *vm = v->vm;
    uint64_t c = mc_guest_cbit(v);
    uint32_t asid;
    mc_status s = vm_run_asid(vm, &asid, err);
    /* Each leaf table's share of the range: its PTEs read in one run, every page whose C-bit
     * changes flushed in its old key domain (digest 2.3), then the changed PTEs written back in one
     * run and those pages shot down. A failure on a page leaves the pages before it changed, as
     * page-by-page conversion would. */
    uint8_t run[4096];
    for (uint64_t off = 0; !s && off < len;) {
        uint64_t t = 0, changed[8] = {0};
        unsigned i = 0;
        s = pte_find(vm, va + off, false, &t, &i, err);
        uint64_t n = 512 - (uint64_t)i;
        if (n > (len - off) / 4096)
            n = (len - off) / 4096;
        struct mc_fault f;
        if (!s)
            s = mc_guest_phys_read(&vm->vcpu[0], t + 8ull * i, true, run, (size_t)(8 * n), &f, err);
        uint64_t first = n, last = 0, k = 0;
        for (; !s && k < n; k++) {
            uint64_t e = mc_le64(run + 8 * k), spa;
            s = mc_vm_npt_translate(vm, e & PTE_ADDR & ~c, 0, &spa, &f, err);
            if (s)
                break;
            bool was_private = (e & c) != 0;
            if (was_private == !shared)
                continue;
            if (was_private) {
                s = memctl_vm_page_flush(vm->vmm->mc, spa & ~(1ull << vm->vmm->cbit) & ~4095ull, asid, err);
            } else {
                for (unsigned l = 0; !s && l < 64; l++) {
                    struct memctl_access a = {.addr = (spa & ~4095ull) + 64ull * l, .size = 1, .kind = MEMCTL_ACC_READ,
                                          .req = MEMCTL_REQ_GUEST, .asid = asid, .guest_c = false};
                    s = memctl_clflush(vm->vmm->mc, &a, &f, err);
                }
            }
            if (s)
                break;
            mc_put_le64(run + 8 * k, shared ? (e & ~c) : (e | c));
            changed[k >> 6] |= 1ull << (k & 63);
            first = first < k ? first : k;
            last = k;
        }
        if (first < n) { /* the changed PTEs [first, last], written even when a later page failed */
            mc_status w = mc_guest_phys_write(&vm->vcpu[0], t + 8ull * (i + first), true, run + 8 * first,
                                              (size_t)(8 * (last - first + 1)), &f, err);
            for (uint64_t p = first; !w && p <= last; p++)
                if ((changed[p >> 6] >> (p & 63)) & 1)
                    shootdown(vm, va + off + 4096 * p);
            s = s ? s : w;
        }
        off += 4096 * n;
    }
    return s;
}

/* ---- SWIOTLB ---------------------------------------------------------------------------- */

mc_status mc_swiotlb_init(struct mc_swiotlb *sw, struct mc_vcpu *v, uint64_t va, uint64_t gpa, uint64_t len,
                          struct mc_error *err)
{
    if (!sw || !v)
        return mc_seterr(err, MC_E_INVAL, "mc_swiotlb_init needs a pool and a vCPU");
    mc_status s = mc_guest_map(v->vm, va, gpa, len, MC_GUEST_MAP_WRITE | MC_GUEST_MAP_NX | MC_GUEST_MAP_SHARED, err);
    if (s)
        return s;
    *sw = (struct mc_swiotlb){v, va, gpa, len, 0};
    return MC_OK;
}

void mc_swiotlb_reset(struct mc_swiotlb *sw)
{
    if (sw)
        sw->next = 0;
}

mc_status mc_swiotlb_map(struct mc_swiotlb *sw, uint64_t va, size_t len, bool to_device, uint64_t *bus,
                         uint64_t *slot_va, struct mc_error *err)
{
    if (!sw || !bus || !slot_va || len == 0)
        return mc_seterr(err, MC_E_INVAL, "mc_swiotlb_map needs a pool, a length and outputs");
    uint64_t need = (len + 63) & ~63ull;
    if (need > sw->len - sw->next)
        return mc_seterr(err, MC_E_FULL, "the bounce-buffer pool is full");
    uint64_t off = sw->next;
    if ((off & 4095) + len > 4096 && len <= 4096)
        off = (off + 4095) & ~4095ull; /* keep a slot inside one page: one bus address range */
    if (off + need > sw->len)
        return mc_seterr(err, MC_E_FULL, "the bounce-buffer pool is full");
    if (len > 4096)
        return mc_seterr(err, MC_E_RANGE, "one bounce slot holds at most 4 KiB");
    uint8_t tmp[4096];
    struct mc_fault f;
    mc_status s = MC_OK;
    if (to_device) {
        s = mc_guest_load(sw->v, va, tmp, len, false, &f, err);
        if (!s)
            s = mc_guest_store(sw->v, sw->va + off, tmp, len, false, &f, err);
    }
    uint64_t spa = 0;
    if (!s)
        s = mc_vm_npt_translate(sw->v->vm, sw->gpa + off, 0, &spa, &f, err);
    /* The guest's shared writes must reach memory before the device (its own tag) reads them. */
    uint32_t asid;
    for (uint64_t l = 0; !s && l < need; l += 64) {
        s = vm_run_asid(sw->v->vm, &asid, err);
        if (s)
            break;
        struct memctl_access a = {.addr = spa + l, .size = 1, .kind = MEMCTL_ACC_READ, .req = MEMCTL_REQ_GUEST, .asid = asid};
        s = memctl_clflush(sw->v->vm->vmm->mc, &a, &f, err);
    }
    mc_wipe(tmp, sizeof tmp);
    if (s)
        return s;
    sw->next = off + need;
    *bus = spa;
    *slot_va = sw->va + off;
    return MC_OK;
}

mc_status mc_swiotlb_unmap_from_device(struct mc_swiotlb *sw, uint64_t slot_va, uint64_t va, size_t len,
                                       struct mc_error *err)
{
    if (!sw || len == 0 || len > 4096)
        return mc_seterr(err, MC_E_INVAL, "mc_swiotlb_unmap_from_device needs a pool and 1..4096 bytes");
    uint8_t tmp[4096];
    struct mc_fault f;
    mc_status s = mc_guest_load(sw->v, slot_va, tmp, len, false, &f, err);
    if (!s)
        s = mc_guest_store(sw->v, va, tmp, len, false, &f, err);
    mc_wipe(tmp, sizeof tmp);
    return s;
}

/* ---- SEV-SNP guest instructions ---------------------------------------------------------- */

mc_status mc_guest_pvalidate(struct mc_vcpu *v, uint64_t va, bool size_2m, bool validate, uint32_t *eax, bool *cf,
                             struct mc_fault *fault, struct mc_error *err)
{
    if (!v)
        return mc_seterr(err, MC_E_INVAL, "PVALIDATE needs a vCPU");
    if (!v->vm->vmm->rmp) {
        if (fault)
            *fault = (struct mc_fault){MC_FAULT_UD, 6, 0, 0};
        return mc_seterr(err, MC_E_FAULT, "#UD: PVALIDATE on a platform without SEV-SNP");
    }
    mc_status s = v->vm->snp && !v->vmsa_loaded ? vm_snp_vmrun(v, err) : MC_OK;
    if (s)
        return s;
    return mc_rmp_pvalidate(v->vm->vmm->rmp, v->cpu, va, size_2m, validate, eax, cf, fault, err);
}

mc_status mc_guest_rmpadjust(struct mc_vcpu *v, uint64_t va, bool size_2m, uint64_t rdx, uint32_t *eax,
                             struct mc_fault *fault, struct mc_error *err)
{
    if (!v)
        return mc_seterr(err, MC_E_INVAL, "RMPADJUST needs a vCPU");
    if (!v->vm->vmm->rmp) {
        if (fault)
            *fault = (struct mc_fault){MC_FAULT_UD, 6, 0, 0};
        return mc_seterr(err, MC_E_FAULT, "#UD: RMPADJUST on a platform without SEV-SNP");
    }
    mc_status s = v->vm->snp && !v->vmsa_loaded ? vm_snp_vmrun(v, err) : MC_OK;
    if (s)
        return s;
    return mc_rmp_rmpadjust(v->vm->vmm->rmp, v->cpu, va, size_2m, rdx, eax, fault, err);
}

void mc_guest_set_vmpl(struct mc_vcpu *v, unsigned vmpl)
{
    if (v && vmpl < 4)
        mc_lcpu_set_vmpl(v->cpu, vmpl);
}
