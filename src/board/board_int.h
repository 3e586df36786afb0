/* memcrypt — internals of the board (src/board; the tests of the TME glue include it too). */
#ifndef MC_BOARD_BOARD_INT_H
#define MC_BOARD_BOARD_INT_H

#include <memcrypt/board.h>
#include <memcrypt/mc.h>
#include <memcrypt/psp.h>
#include <memcrypt/tme.h>

/* ---- sev_port.c: the firmware's memory port on the memory controller ---- */
struct mc_sev_port {
    struct memctl *mc;      /* borrowed; must outlive the firmware that uses the port */
    struct mc_machine *m;   /* borrowed; the cores' MSRs SNP_INIT reads (NULL: no SNP) */
    struct mc_rmp *rmp;     /* borrowed; the RMP unit (NULL: no SNP) */
};
/* Fill *out so that the firmware reaches DRAM only through mc (MEMCTL_REQ_PSP accesses: C=0
 * plaintext, C=1 host key, or an ASID's key) and installs guest keys as engine slots bound to
 * ASIDs (AES-128-XTS). out->ctx points at p. */
void mc_sev_port_init(struct mc_sev_port *p, struct memctl *mc, struct mc_psp_mem *out);
/* Firmware configuration for a CPU profile: API version and build from the profile, ASID range
 * from CPUID 8000_001F (ECX = max ASID, EDX = minimum SEV ASID, at least 1), SEV-ES from EAX[3],
 * one core, no state file. MC_E_UNSUPPORTED for a profile without SEV. */
mc_status mc_psp_config_from_profile(const struct mc_cpu_profile *prof, struct mc_psp_config *out,
                                     struct mc_error *err);

/* ---- tme_machine.c: the TME/MKTME unit wired into a machine ----
 * Creates the package's unit from the machine's CPU profile (CPUID 7/0x80000008, the profile's
 * IA32_TME_CAPABILITY), adopts what the BIOS already programmed (a locked TME_ACTIVATE, the
 * exclusion range, the KeyID-0 key the machine generated) and registers MSR handlers for 0x87
 * and 0x981-0x9FF, so mc_machine_rdmsr/wrmsr reach the unit. Keys then flow into the memory
 * controller: activation binds KeyID 0 (and every KeyID with TME behaviour) to a fresh engine
 * slot; PCONFIG binds one KeyID to its own slot, to KeyID 0's slot (CLEAR_KEY) or to
 * no-encrypt. The unit also registers a machine reset hook: mc_machine_reset returns it to its
 * reset state and adopts what the BIOS programs again; mc_machine_standby_resume keeps a key
 * saved with TME_ACTIVATE[3]. The machine keeps pointers to the unit, so the unit is destroyed
 * after the machine. A second attach to the same machine is MC_E_STATE (one unit per package);
 * a non-Intel profile is MC_E_UNSUPPORTED. */
mc_status mc_tme_attach(struct mc_machine *m, struct mc_tme **out, struct mc_error *err);

/* ---- board.c ---- */
struct mc_board {
    const struct mc_cpu_profile *prof;
    struct mc_machine *m;
    struct mc_sev_port port;
    struct mc_psp_mem mem;
    struct mc_psp_config fw; /* as the firmware was created (state_path borrowed from the caller) */
    struct mc_psp *psp;
    struct mc_vmm *vmm;
    struct mc_tme *tme;
    struct mc_rmp *rmp;
    uint64_t mbox; /* the host driver's command-buffer page */
};

#endif
