/* memcrypt — the SEV hypervisor model: the firmware's memory port on the memory controller,
 * and encrypted VMs (vCPUs sharing one ASID, nested page tables, guest programs).
 */
#ifndef MEMCRYPT_VM_H
#define MEMCRYPT_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memcrypt/cpu.h>
#include <memcrypt/error.h>
#include <memcrypt/mc.h>
#include <memcrypt/psp.h>

/* ---- The PSP's memory port on a memory controller ---------------------------------------- */

/* Holds the borrowed controller; must outlive the firmware that uses the port. */
struct mc_sev_port {
    struct mc_ctl *mc;
};
/* Fill *out so that the firmware reaches DRAM only through mc (MC_REQ_PSP accesses: C=0
 * plaintext, C=1 host key, or an ASID's key) and installs guest keys as engine slots bound to
 * ASIDs (AES-128-XTS). */
void mc_sev_port_init(struct mc_sev_port *p, struct mc_ctl *mc, struct mc_psp_mem *out);

/* Firmware configuration for a CPU profile: API version from the profile, ASID range from
 * CPUID 8000_001F (ECX = max ASID, EDX = minimum SEV ASID, at least 1), SEV-ES from EAX[3].
 * build, num_cores and state_path are left for the caller (build 0, 1 core, no state file).
 * MC_E_UNSUPPORTED for a profile without SEV. */
mc_status mc_psp_config_from_profile(const struct mc_cpu_profile *prof, struct mc_psp_config *out,
                                     struct mc_error *err);

#endif
