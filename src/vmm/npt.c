/* Nested page tables: built by the hypervisor in its own memory (GPA -> SPA with 2 MiB pages).
 * vCPUs walk them on the one access path (paging/lcpu.c); mc_vm_npt_translate is the
 * hypervisor's own software walk of them (the same nested walk, without TLB). */
#include <stdlib.h>
#include <string.h>

#include <memcrypt/bytes.h>

#include "vmm/vm_int.h"

#define PTE_ADDR 0x000FFFFFFFFFF000ull

mc_status vm_host_pt_read(void *ctx, uint64_t addr, uint64_t *val, struct mc_fault *fault, struct mc_error *err)
{
    struct mc_vm *vm = ctx;
    uint8_t b[8];
    struct memctl_access a = {.addr = addr, .size = 8, .kind = MEMCTL_ACC_WALK, .req = MEMCTL_REQ_HOST};
    mc_status s = memctl_read(vm->vmm->mc, &a, b, fault, err);
    if (!s) {
        uint64_t v = 0;
        for (int i = 7; i >= 0; i--)
            v = (v << 8) | b[i];
        *val = v;
    }
    return s;
}

mc_status vm_host_pt_write(void *ctx, uint64_t addr, uint64_t val, struct mc_fault *fault, struct mc_error *err)
{
    struct mc_vm *vm = ctx;
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(val >> (8 * i));
    struct memctl_access a = {.addr = addr, .size = 8, .kind = MEMCTL_ACC_WRITE, .req = MEMCTL_REQ_HOST};
    return memctl_write(vm->vmm->mc, &a, b, fault, err);
}

static uint64_t enc(const struct mc_vm *vm) { return vm->npt_enc ? 1ull << vm->vmm->cbit : 0; }

static mc_status entry_write(struct mc_vm *vm, uint64_t table_spa, unsigned idx, uint64_t val, struct mc_error *err)
{
    struct mc_fault f;
    return vm_host_pt_write(vm, (table_spa | enc(vm)) + 8ull * idx, val, &f, err);
}

static mc_status entry_read(struct mc_vm *vm, uint64_t table_spa, unsigned idx, uint64_t *val, struct mc_error *err)
{
    struct mc_fault f;
    return vm_host_pt_read(vm, (table_spa | enc(vm)) + 8ull * idx, val, &f, err);
}

/* One whole table page written through the controller in one run (streamed: whole lines that
 * are not cached go through the engine in one call; cached copies are honoured). */
static mc_status table_write(struct mc_vm *vm, uint64_t table_spa, const uint8_t page[4096], struct mc_error *err)
{
    struct memctl_access a = {.addr = table_spa | enc(vm), .size = 4096, .kind = MEMCTL_ACC_WRITE, .req = MEMCTL_REQ_HOST,
                          .flags = MEMCTL_ACC_F_STREAM};
    struct mc_fault f;
    return memctl_write(vm->vmm->mc, &a, page, &f, err);
}

/* Tables: one PML4, one PDPT per 512 GiB, one PD per 1 GiB; leaves are 2 MiB pages with C=0
 * (the guest's own C-bit decides privacy). Table pointers carry the C-bit when the NPT is kept
 * encrypted with the host key. Each table is composed in a buffer and written as one 4 KiB run
 * (a 1 TiB guest: 1,027 page writes, not 524,288 entry writes), its unused entries zero. */
mc_status vm_npt_build(struct mc_vm *vm, struct mc_error *err)
{
    const uint64_t rw = MC_PTE_P | MC_PTE_W | MC_PTE_U;
    uint64_t pml4, pdpt = 0, pd = 0;
    uint8_t *t4 = calloc(3, 4096);
    if (!t4)
        return mc_seterr(err, MC_E_NOMEM, "out of memory for the nested page tables");
    uint8_t *t3 = t4 + 4096, *t2 = t4 + 8192;
    mc_status s = mc_vmm_alloc(vm->vmm, 4096, &pml4, err);
    for (uint64_t gpa = 0; !s && gpa < vm->mem_size; gpa += 2ull << 20) {
        unsigned i4 = (gpa >> 39) & 511, i3 = (gpa >> 30) & 511, i2 = (gpa >> 21) & 511;
        if ((gpa & ((1ull << 39) - 1)) == 0) {
            s = mc_vmm_alloc(vm->vmm, 4096, &pdpt, err);
            memset(t3, 0, 4096);
            mc_put_le64(t4 + 8u * i4, pdpt | enc(vm) | rw);
        }
        if (!s && (gpa & ((1ull << 30) - 1)) == 0) {
            s = mc_vmm_alloc(vm->vmm, 4096, &pd, err);
            memset(t2, 0, 4096);
            mc_put_le64(t3 + 8u * i3, pd | enc(vm) | rw);
        }
        mc_put_le64(t2 + 8u * i2, (vm->mem_spa + gpa) | rw | MC_PTE_PS);
        const uint64_t next = gpa + (2ull << 20);
        if (!s && (next >= vm->mem_size || (next & ((1ull << 30) - 1)) == 0))
            s = table_write(vm, pd, t2, err);
        if (!s && (next >= vm->mem_size || (next & ((1ull << 39) - 1)) == 0))
            s = table_write(vm, pdpt, t3, err);
    }
    if (!s)
        s = table_write(vm, pml4, t4, err);
    free(t4);
    if (!s)
        vm->hcr3 = pml4 | enc(vm);
    return s;
}

mc_status mc_vm_npt_translate(struct mc_vm *vm, uint64_t gpa, unsigned acc, uint64_t *spa, struct mc_fault *fault,
                              struct mc_error *err)
{
    if (!vm || !spa || !fault)
        return mc_seterr(err, MC_E_INVAL, "mc_vm_npt_translate needs a VM and outputs");
    struct mc_xlat x;
    mc_status s = mc_nested_walk(vm->vmm->mc, MC_NEST_NPT, vm->hcr3, gpa, acc, false, &x, fault, err);
    if (!s)
        *spa = x.pa;
    return s;
}

mc_status mc_vm_npt_unmap(struct mc_vm *vm, uint64_t gpa, struct mc_error *err)
{
    if (!vm || gpa >= vm->mem_size)
        return mc_seterr(err, MC_E_RANGE, "GPA outside guest memory");
    uint64_t e4, e3;
    uint64_t pml4 = vm->hcr3 & PTE_ADDR & ~(1ull << vm->vmm->cbit);
    mc_status s = entry_read(vm, pml4, (gpa >> 39) & 511, &e4, err);
    if (!s)
        s = entry_read(vm, e4 & PTE_ADDR & ~(1ull << vm->vmm->cbit), (gpa >> 30) & 511, &e3, err);
    if (!s)
        s = entry_write(vm, e3 & PTE_ADDR & ~(1ull << vm->vmm->cbit), (gpa >> 21) & 511, 0, err);
    if (!s)
        mc_vm_tlb_flush(vm); /* the hypervisor's invalidation after editing the NPT */
    return s;
}

mc_status mc_vm_npt_remap(struct mc_vm *vm, uint64_t gpa, uint64_t spa, struct mc_error *err)
{
    if (!vm || gpa >= vm->mem_size || ((gpa | spa) & 0xFFF))
        return mc_seterr(err, MC_E_RANGE, "a 4 KiB remap needs a page-aligned GPA inside guest memory and SPA");
    const uint64_t rw = MC_PTE_P | MC_PTE_W | MC_PTE_U, strip = ~(1ull << vm->vmm->cbit);
    uint64_t e4 = 0, e3 = 0, e2 = 0;
    uint64_t pml4 = vm->hcr3 & PTE_ADDR & strip;
    mc_status s = entry_read(vm, pml4, (gpa >> 39) & 511, &e4, err);
    if (!s)
        s = entry_read(vm, e4 & PTE_ADDR & strip, (gpa >> 30) & 511, &e3, err);
    uint64_t pd = e3 & PTE_ADDR & strip, pt = 0;
    if (!s)
        s = entry_read(vm, pd, (gpa >> 21) & 511, &e2, err);
    if (!s && !(e2 & MC_PTE_P))
        s = mc_seterr(err, MC_E_STATE, "GPA 0x%llx is not mapped", (unsigned long long)gpa);
    if (!s && (e2 & MC_PTE_PS)) { /* split the 2 MiB page into 512 4 KiB pages first */
        uint8_t *t = calloc(1, 4096);
        if (!t)
            return mc_seterr(err, MC_E_NOMEM, "out of memory");
        s = mc_vmm_alloc(vm->vmm, 4096, &pt, err);
        for (unsigned i = 0; i < 512; i++)
            mc_put_le64(t + 8u * i, ((e2 & PTE_ADDR & ~0x1FFFFFull) + 4096ull * i) | rw);
        if (!s)
            s = table_write(vm, pt, t, err);
        free(t);
        if (!s)
            s = entry_write(vm, pd, (gpa >> 21) & 511, pt | enc(vm) | rw, err);
    } else if (!s) {
        pt = e2 & PTE_ADDR & strip;
    }
    if (!s)
        s = entry_write(vm, pt, (gpa >> 12) & 511, spa | rw, err);
    if (!s)
        mc_vm_tlb_flush(vm);
    return s;
}
