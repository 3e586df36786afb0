/* memcrypt — the TME/MKTME unit wired into a machine (see board/board_int.h): MSR handlers, key
 * bindings in the memory controller (engine slots per KeyID), and PCONFIG reading its structure
 * through the host's paging. */
#include <stdlib.h>
#include <string.h>

#include <memcrypt/cpu.h>
#include <memcrypt/machine.h>
#include <memcrypt/mc.h>
#include <memcrypt/pconfig.h>

#include "board/board_int.h"
#include "cpu/tme_internal.h"

struct glue {
    struct mc_machine *m;
    struct mc_tme *t;
};

/* Bind keyid to slot; the slot it had before is destroyed unless it is KeyID 0's key (shared
 * by every KeyID with TME behaviour) or a pseudo-slot. */
static mc_status rebind(struct memctl *mc, uint32_t keyid, mc_slot slot, mc_slot keep, struct mc_error *err)
{
    mc_slot old = memctl_keyid_slot(mc, keyid);
    mc_status s = memctl_set_keyid(mc, keyid, slot, err);
    if (s != MC_OK)
        return s;
    if (old && old != MEMCTL_KEYID_NOENCRYPT && old != keep && old != slot)
        mc_engine_slot_destroy(memctl_get_engine(mc), old, NULL);
    return MC_OK;
}

/* KeyIDs 1..2^K-1 with TME behaviour follow KeyID 0: its key, or plaintext under bypass. */
static mc_status bind_tme_keyids(struct glue *g, mc_slot slot0, bool bypass, struct mc_error *err)
{
    struct memctl *mc = mc_machine_memctl(g->m);
    unsigned k = memctl_get_platform(mc)->keyid_bits;
    for (uint32_t id = 1; id < (1u << k); id++) {
        if (id < g->t->kt_len && g->t->kt[id].mode != MC_KEYID_MODE_TME)
            continue;
        mc_status s = rebind(mc, id, bypass ? MEMCTL_KEYID_NOENCRYPT : slot0, slot0, err);
        if (s != MC_OK)
            return s;
    }
    return MC_OK;
}

static mc_status be_platform_key(void *ctx, enum mc_cipher c, const uint8_t *key, size_t keylen, uint64_t activate,
                                 struct mc_error *err)
{
    struct glue *g = ctx;
    struct memctl *mc = mc_machine_memctl(g->m);
    if (c == MC_CIPHER_NONE)
        return MC_OK; /* TME switched off by a reset: the machine's own reset owns the controller */
    struct memctl_platform p = *memctl_get_platform(mc), old = p;
    p.mode = MEMCTL_MODE_TME;
    p.keyid_bits = (unsigned)((activate >> MC_TME_ACT_KEYID_BITS_SHIFT) & MC_TME_ACT_KEYID_BITS_MASK);
    p.tme_bypass = (activate & MC_TME_ACT_BYPASS) != 0;
    mc_tme_exclusion(g->t, &p.excl_enable, &p.excl_base, &p.excl_mask);
    if (!p.excl_enable)
        p.excl_base = p.excl_mask = 0;
    mc_slot slot;
    mc_status s = mc_engine_slot_import(memctl_get_engine(mc), c, key, keylen, &slot, err);
    if (s != MC_OK)
        return s;
    s = memctl_set_platform(mc, &p, err);
    if (s == MC_OK)
        s = rebind(mc, 0, slot, 0, err);
    if (s == MC_OK)
        s = bind_tme_keyids(g, slot, p.tme_bypass, err);
    if (s != MC_OK) {
        memctl_set_platform(mc, &old, NULL);
        if (memctl_keyid_slot(mc, 0) != slot)
            mc_engine_slot_destroy(memctl_get_engine(mc), slot, NULL);
    }
    return s;
}

static mc_status be_program_keyid(void *ctx, uint32_t keyid, enum mc_keyid_mode mode, enum mc_cipher c,
                                  const uint8_t *key, size_t keylen, struct mc_error *err)
{
    struct glue *g = ctx;
    struct memctl *mc = mc_machine_memctl(g->m);
    mc_slot slot0 = memctl_keyid_slot(mc, 0);
    switch (mode) {
    case MC_KEYID_MODE_ENCRYPT: {
        mc_slot slot;
        mc_status s = mc_engine_slot_import(memctl_get_engine(mc), c, key, keylen, &slot, err);
        if (s != MC_OK)
            return s;
        s = rebind(mc, keyid, slot, slot0, err);
        if (s != MC_OK)
            mc_engine_slot_destroy(memctl_get_engine(mc), slot, NULL);
        return s;
    }
    case MC_KEYID_MODE_TME:
        return rebind(mc, keyid, memctl_get_platform(mc)->tme_bypass ? MEMCTL_KEYID_NOENCRYPT : slot0, slot0, err);
    case MC_KEYID_MODE_NO_ENCRYPT:
        return rebind(mc, keyid, MEMCTL_KEYID_NOENCRYPT, slot0, err);
    }
    return mc_seterr(err, MC_E_INVAL, "unknown KeyID mode %d", (int)mode);
}

static mc_status ev_to_fault(mc_status s, const struct mc_tme_event *ev, struct mc_fault *fault)
{
    if (s == MC_E_FAULT && fault) {
        memset(fault, 0, sizeof *fault);
        fault->kind = MC_FAULT_GP;
        fault->vector = 13;
        (void)ev;
    }
    return s;
}

static mc_status h_rd(void *ctx, struct mc_machine *m, uint32_t msr, uint64_t *val, struct mc_fault *fault,
                      struct mc_error *err)
{
    (void)m;
    struct mc_tme_event ev;
    return ev_to_fault(mc_tme_rdmsr(ctx, msr, val, &ev, err), &ev, fault);
}

static mc_status h_wr(void *ctx, struct mc_machine *m, uint32_t msr, uint64_t val, struct mc_fault *fault,
                      struct mc_error *err)
{
    (void)m;
    struct mc_tme_event ev;
    return ev_to_fault(mc_tme_wrmsr(ctx, msr, val, &ev, err), &ev, fault);
}

/* Adopt what the BIOS left: the controller's platform is the truth for KeyID bits, bypass and
 * the exclusion range; the activation value is what the machine's BIOS settings program.
 * Used on attach and after every machine reset. */
static mc_status adopt_bios(struct glue *g, struct mc_error *err)
{
    struct mc_tme *t = g->t;
    struct memctl *mc = mc_machine_memctl(g->m);
    const struct memctl_platform *p = memctl_get_platform(mc);
    struct mc_bios bios;
    mc_machine_get_bios(g->m, &bios);
    uint64_t act = t->cfg.tme ? mc_cpu_tme_activate(mc_machine_profile(g->m), &bios) : 0;
    if ((act & (MC_TME_ACT_LOCK | MC_TME_ACT_ENABLE)) == (MC_TME_ACT_LOCK | MC_TME_ACT_ENABLE) &&
        p->mode == MEMCTL_MODE_TME) {
        t->activate = act;
        if (p->excl_enable) {
            t->exclude_mask = p->excl_mask | MC_TME_EXCL_ENABLE;
            t->exclude_base = p->excl_base;
        }
        if (p->keyid_bits)
            return bind_tme_keyids(g, memctl_keyid_slot(mc, 0), p->tme_bypass, err);
    } else if (act & MC_TME_ACT_LOCK) {
        t->activate = act; /* locked with TME off */
    }
    return MC_OK;
}

/* The machine was reset: it has already dropped every key binding and restored the BIOS
 * platform, so the unit returns to its reset state without calling its backend, keeps the
 * saved TME key only across standby, and adopts what the BIOS programs again. */
static mc_status h_reset(void *ctx, struct mc_machine *m, enum mc_machine_reset_kind kind, struct mc_error *err)
{
    struct mc_tme *t = ctx;
    (void)m;
    struct mc_tme_backend be = t->be;
    memset(&t->be, 0, sizeof t->be);
    mc_status s = kind == MC_MACHINE_RESET_STANDBY ? mc_tme_standby_resume(t, err) : mc_tme_reset(t, err);
    t->be = be;
    if (s == MC_OK)
        s = adopt_bios(t->owned, err);
    return s;
}

mc_status mc_tme_attach(struct mc_machine *m, struct mc_tme **out, struct mc_error *err)
{
    if (!m || !out)
        return mc_seterr(err, MC_E_INVAL, "mc_tme_attach needs a machine and an output pointer.");
    *out = NULL;
    const struct mc_cpu_profile *prof = mc_machine_profile(m);
    struct mc_cpu_features f;
    mc_cpu_decode(prof, &f);
    if (prof->vendor != MC_VENDOR_INTEL)
        return mc_seterr(err, MC_E_UNSUPPORTED, "platform '%s' is not an Intel part: it has no TME.", prof->name);
    if (mc_machine_msr_handled(m, MC_MSR_IA32_TME_ACTIVATE))
        return mc_seterr(err, MC_E_STATE, "This machine already has a TME unit attached (one per package).");
    struct mc_tme_config cfg = {.tme = f.tme, .pconfig = f.pconfig && f.pconfig_mktme_target,
                                .maxphyaddr = f.phys_bits, .capability = f.tme ? prof->tme_capability : 0,
                                .save_key_supported = f.tme && prof->tme_save_key};
    struct glue *g = calloc(1, sizeof *g);
    if (!g)
        return mc_seterr(err, MC_E_NOMEM, "Out of memory for the TME glue.");
    struct mc_tme_backend be = {g, be_platform_key, be_program_keyid};
    struct mc_tme *t;
    mc_status s = mc_tme_create(&cfg, mc_machine_rng(m), &be, &t, err);
    if (s != MC_OK) {
        free(g);
        return s;
    }
    t->owned = g;
    g->m = m;
    g->t = t;

    s = adopt_bios(g, err);
    if (s == MC_OK)
        s = mc_machine_reset_hook_register(m, h_reset, t, err);
    static const uint32_t ranges[2][2] = {{MC_MSR_IA32_MKTME_KEYID_PARTITIONING, MC_MSR_IA32_MKTME_KEYID_PARTITIONING},
                                          {MC_MSR_IA32_TME_CAPABILITY, MC_MSR_MK_TME_CORE_ACTIVATE}};
    for (int i = 0; i < 2 && s == MC_OK; i++) {
        struct mc_msr_handler h = {ranges[i][0], ranges[i][1], h_rd, h_wr, t};
        s = mc_machine_msr_register(m, &h, err);
    }
    if (s != MC_OK) {
        /* Leave the machine without pointers to the unit. */
        mc_machine_msr_unregister(m, t, NULL);
        mc_machine_reset_hook_unregister(m, h_reset, t, NULL);
        mc_tme_destroy(t);
        return s;
    }
    *out = t;
    return MC_OK;
}

/* ------------------------------------------------------------------ PCONFIG -- */

static mc_status machine_read(void *ctx, uint64_t la, void *buf, size_t len, struct mc_tme_event *ev,
                              struct mc_error *err)
{
    struct mc_fault fault;
    mc_status s = mc_machine_load(ctx, la, buf, len, false, &fault, err);
    if (s == MC_E_FAULT) {
        memset(ev, 0, sizeof *ev);
        ev->kind = fault.kind == MC_FAULT_PF ? MC_TME_EV_PF : MC_TME_EV_GP;
        ev->addr = fault.addr;
        ev->error_code = (uint32_t)fault.error_code;
    }
    return s;
}

mc_status mc_board_pconfig(struct mc_board *b, struct mc_pconfig_cpu *cpu, struct mc_tme_event *ev,
                           struct mc_error *err)
{
    if (!b)
        return mc_seterr(err, MC_E_INVAL, "mc_board_pconfig needs a board.");
    if (!b->tme)
        return mc_seterr(err, MC_E_UNSUPPORTED, "platform '%s' has no TME unit: PCONFIG does not exist.",
                         b->prof->name);
    return mc_pconfig(b->tme, cpu, machine_read, b->m, ev, err);
}
