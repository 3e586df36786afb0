/* Fuzz target: PCONFIG MKTME_KEY_PROGRAM over hostile structure bytes and CPU state.
 * Input: byte 0 = CPU-state selector (CPL, prefixes, VMX bits, leaf), byte 1 = activation
 * choice, byte 2 = RNG failures to inject, then up to 256 bytes placed at RBX (the rest of the
 * 256-byte block is zero). The instruction must end in a fault or a status, never crash, and
 * a fault or a failure status must leave the key table unchanged. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <memcrypt/pconfig.h>
#include <memcrypt/tme.h>

#include "crypto/crypto.h"

struct mem {
    uint8_t b[512];
};

static mc_status rd(void *ctx, uint64_t la, void *buf, size_t len, struct mc_tme_event *ev, struct mc_error *err)
{
    struct mem *m = ctx;
    if (la > sizeof m->b || len > sizeof m->b - la) {
        ev->kind = MC_TME_EV_PF;
        ev->addr = la;
        return mc_seterr(err, MC_E_FAULT, "#PF");
    }
    memcpy(buf, m->b + la, len);
    return MC_OK;
}

static const uint64_t CAP = MC_TME_CAP_AES_XTS_128 | MC_TME_CAP_AES_XTS_256 | MC_TME_CAP_BYPASS | (4ull << 32) |
                            (12ull << 36);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    static const uint8_t seed[] = "fuzz";
    struct mc_rng *rng = NULL;
    struct mc_tme *t = NULL;
    if (mc_rng_create(seed, sizeof seed, &rng, NULL) != MC_OK)
        return 0;
    struct mc_tme_config cfg = {.tme = true, .pconfig = (data[0] & 0x80) == 0, .maxphyaddr = 46, .capability = CAP};
    if (mc_tme_create(&cfg, rng, NULL, &t, NULL) != MC_OK) {
        mc_rng_destroy(rng);
        return 0;
    }
    uint64_t act = MC_TME_ACT_ENABLE | ((uint64_t)(data[1] & 7) << 32) | ((uint64_t)(data[1] >> 3 & 0xF) << 48) |
                   ((uint64_t)(data[1] >> 7) << 5);
    mc_tme_wrmsr(t, MC_MSR_IA32_TME_ACTIVATE, act, NULL, NULL);
    mc_tme_inject_rng_failures(t, data[2] & 3);
    mc_tme_hold_key_table_lock(t, (data[2] & 4) != 0);

    struct mem m;
    memset(&m, 0, sizeof m);
    size_t n = size - 3 > 256 ? 256 : size - 3;
    memcpy(m.b + 256, data + 3, n);
    struct mc_pconfig_cpu cpu;
    memset(&cpu, 0, sizeof cpu);
    cpu.cpl = (data[0] & 0x40) ? 3 : 0;
    cpu.prefixes = data[0] & 0x0F;
    cpu.vmx_nonroot = (data[0] & 0x10) != 0;
    cpu.vmcs_pconfig_enable = true;
    cpu.vmcs_pconfig_exiting = (data[0] & 0x20) ? 1 : 0;
    cpu.rax = (data[2] >> 3) & 1;
    cpu.rbx = (data[2] & 0x40) ? 256 + (data[2] & 0x30) : ((data[2] & 0x80) ? 4096 : 256);

    enum mc_keyid_mode before[16], after[16];
    for (uint32_t k = 1; k < 16; k++)
        if (mc_tme_keyid_entry(t, k, &before[k], NULL, NULL) != MC_OK)
            before[k] = (enum mc_keyid_mode)99;
    struct mc_tme_event ev;
    mc_status s = mc_pconfig(t, &cpu, rd, &m, &ev, NULL);
    bool failed = s != MC_OK || cpu.rax != 0;
    for (uint32_t k = 1; k < 16; k++) {
        if (mc_tme_keyid_entry(t, k, &after[k], NULL, NULL) != MC_OK)
            after[k] = (enum mc_keyid_mode)99;
        if (failed && after[k] != before[k])
            abort();
    }
    if (s == MC_OK && (cpu.rax > 5 || ((cpu.rflags & MC_RFLAGS_ZF) != 0) != (cpu.rax != 0)))
        abort();
    mc_tme_destroy(t);
    mc_rng_destroy(rng);
    return 0;
}
