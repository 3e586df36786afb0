/* memcrypt domcaps — libvirt-style domain capabilities of an emulated platform. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include <memcrypt/json.h>
#include <memcrypt/libvirt.h>

#include "cli.h"

static int run_domcaps(int argc, char **argv)
{
    int json = 0;
    const char *platform = "milan";
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"platform", required_argument, NULL, 'p'},
                                         {0}};
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'j')
            json = 1;
        else if (c == 'p')
            platform = optarg;
        else
            return mc_cli_usage_error(argv[0], "unknown option or missing value '%s'", argv[optind - 1]);
    }
    if (optind < argc)
        return mc_cli_usage_error(argv[0], "unexpected argument '%s'", argv[optind]);
    struct mc_error err = {0};
    struct mc_lv_platform p;
    if (mc_libvirt_platform(platform, &p, &err))
        return mc_cli_usage_error(argv[0], "%s", err.msg);
    if (json) {
        struct mc_json j;
        mc_json_begin(&j, stdout);
        mc_json_obj(&j, NULL);
        mc_json_str(&j, "platform", p.name);
        mc_json_str(&j, "domain", "kvm");
        mc_json_str(&j, "arch", "x86_64");
        mc_json_obj(&j, "sev");
        mc_json_bool(&j, "supported", p.sev);
        if (p.sev) {
            mc_json_u64(&j, "cbitpos", p.cbitpos);
            mc_json_u64(&j, "reducedPhysBits", p.guest_reduced_phys_bits);
            mc_json_u64(&j, "hostPhysAddrReduction", p.phys_addr_reduction);
            mc_json_u64(&j, "maxGuests", mc_libvirt_max_guests(&p));
            mc_json_u64(&j, "maxESGuests", mc_libvirt_max_es_guests(&p));
        }
        mc_json_end(&j);
        mc_json_bool(&j, "sevSnp", p.sev_snp);
        char v[16];
        snprintf(v, sizeof v, "%u.%u", p.api_major, p.api_minor);
        mc_json_str(&j, "firmwareApi", v);
        mc_json_u64(&j, "firmwareBuild", p.build);
        mc_json_finish(&j);
        return MC_EXIT_OK;
    }
    char *xml;
    if (mc_libvirt_domcaps_xml(&p, &xml, &err))
        return mc_cli_fail(argv[0], &err);
    fputs(xml, stdout);
    free(xml);
    return MC_EXIT_OK;
}

const struct mc_cli_cmd mc_cli_domcaps[] = {
    {"domcaps", "libvirt-style domain capabilities (the <sev> element) of an emulated platform",
     "usage: memcrypt domcaps [--platform NAME] [--json]\n"
     "\n"
     "Prints <domainCapabilities> as `virsh domcapabilities` does, with\n"
     "<features><sev supported='yes'> holding cbitpos, reducedPhysBits, maxGuests and\n"
     "maxESGuests of the platform. reducedPhysBits is the guest-facing value (1), as libvirt\n"
     "reports it; --json also shows the host's own physical-address reduction.\n"
     "\n"
     "options:\n"
     "  --platform NAME   naples, rome, milan (default) or genoa\n"
     "  --json            machine-readable output\n"
     "\n"
     "example:\n"
     "  memcrypt domcaps --platform genoa\n",
     run_domcaps},
    {0},
};
