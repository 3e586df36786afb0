/* The hypervisor tests' platform: a Milan-like board (2048-bit emulated roots, one firmware core)
 * whose hypervisor pool is [16 MiB, 64 MiB), INIT with the given flags and DF_FLUSH done. Header
 * only, for tests/test_vm*.c. */
#ifndef MC_TEST_VM_ENV_H
#define MC_TEST_VM_ENV_H

#include "test_fw_harness.h"

#define VM_ENV_POOL_BASE (16ull << 20)
#define VM_ENV_POOL_SIZE (48ull << 20)

static void vm_env_tweak(struct mc_psp_config *c)
{
    c->root_bits = 2048;
    c->num_cores = 1;
}

struct env {
    struct fwt t;
    struct mc_vmm *vmm;
};

static int env_open(struct env *e, const char *platform, uint32_t init_flags)
{
    fwt_pool_base = VM_ENV_POOL_BASE;
    fwt_pool_size = VM_ENV_POOL_SIZE;
    if (fwt_open(&e->t, platform, NULL, vm_env_tweak))
        return -1;
    e->vmm = mc_board_vmm(e->t.b);
    return e->vmm && fwt_init(&e->t, init_flags) == 0 ? 0 : -1;
}

static void env_close(struct env *e) { fwt_close(&e->t); }

#endif
