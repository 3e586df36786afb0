/* memcrypt tme status — Intel TME/MKTME enumeration and MSRs of a platform profile, decoded:
 * CPUID.(7,0):ECX[13] and EDX[18], CPUID leaf 0x1B, IA32_TME_CAPABILITY (0x981),
 * IA32_TME_ACTIVATE (0x982) as the profile's BIOS leaves it, the exclusion MSRs, 0x9FF, 0x87.
 * The decode is the library's (memcrypt/tme_status.h), shared with `memcrypt info`. */
#include <stdio.h>
#include <string.h>

#include <memcrypt/cpu.h>
#include <memcrypt/json.h>
#include <memcrypt/tme_status.h>

#include "cli.h"

static int run_tme_status(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    struct mc_args a;
    int rc = mc_args_all(&a, cmd, argc, argv);
    if (rc)
        return rc;
    const bool json = a.json;
    const char *plat = a.platform;
    struct mc_error e;
    const struct mc_cpu_profile *p;
    struct mc_tme_status s;
    if (mc_cpu_profile_find(plat, &p, &e) != MC_OK || mc_tme_status_get(p, NULL, &s, &e) != MC_OK)
        return mc_cli_fail(argv[0], &e);
    if (json) {
        struct mc_json j;
        mc_json_begin(&j, stdout);
        mc_json_obj(&j, NULL);
        mc_json_str(&j, "platform", p->name);
        mc_json_bool(&j, "tme", s.tme);
        mc_json_bool(&j, "pconfig", s.pconfig);
        mc_tme_status_json(&s, &j);
        mc_json_finish(&j);
    } else if (p->vendor != MC_VENDOR_INTEL || !s.tme) {
        printf("platform %s (%s): CPUID.(7,0):ECX[13] TME = %d, EDX[18] PCONFIG = %d — no TME MSRs.\n", p->name,
               p->model, s.tme, s.pconfig);
    } else {
        printf("platform %s (%s)\n", p->name, p->model);
        mc_tme_status_print(&s, stdout);
    }
    return MC_EXIT_OK;
}

const struct mc_cli_cmd mc_cli_tme[] = {
    {.path = "tme status",
     .summary = "Intel TME/MKTME enumeration and MSRs of a platform, decoded",
     .synopsis = "--platform NAME [--json]",
     .about = "Shows CPUID.(7,0):ECX[13] (TME) and EDX[18] (PCONFIG), CPUID leaf 0x1B, and the TME MSRs\n"
              "(0x981 capability, 0x982 activation as the profile's BIOS leaves it, 0x983/0x984 exclusion,\n"
              "0x9FF, 0x87), decoded.\n",
     .common = MC_CO_JSON | MC_CO_PLATFORM_REQ,
     .examples = "memcrypt tme status --platform icelake-sp\n",
     .run = run_tme_status},
    {0},
};
