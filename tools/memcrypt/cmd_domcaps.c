/* memcrypt domcaps — libvirt-style domain capabilities of an emulated platform. */
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <memcrypt/bytes.h>
#include <memcrypt/json.h>
#include <memcrypt/libvirt.h>
#include <memcrypt/board.h>
#include <memcrypt/machine.h>
#include <memcrypt/sev_api.h>

#include "cli.h"
#include "cli_progress.h"
#include <memcrypt/crypto.h>

/* The chip's ID as libvirt reads <cpu0Id>: QEMU's query-sev-capabilities issues GET_ID and
 * reports the first socket's 64 bytes in base64. Asked here of the emulated chip through its
 * mailbox (the chip of --state, or a fresh one: --seed makes it repeatable). */
static mc_status cpu0_id(const char *platform, const char *state, const char *seed, uint8_t id[MC_SEV_ID_LEN],
                         struct mc_error *err)
{
    struct mc_board_config cfg;
    mc_status st = mc_board_config_init(&cfg, platform, err);
    if (st)
        return st;
    cfg.machine.dram_size = 16ull << 20;
    if (seed) {
        cfg.machine.seed = (const uint8_t *)seed;
        cfg.machine.seed_len = strlen(seed);
    }
    cfg.fw.state_path = state;
    cfg.hypervisor = false;
    struct mc_board *b = NULL;
    if ((st = mc_board_create(&cfg, &b, err)))
        return st;
    uint8_t buf[sizeof(struct mc_sev_addr_len)] = {0};
    uint64_t data = mc_board_fw_data(b);
    mc_put_le64(buf + offsetof(struct mc_sev_addr_len, paddr), data);
    mc_put_le32(buf + offsetof(struct mc_sev_addr_len, len), MC_SEV_ID_LEN);
    struct mc_fault f;
    st = mc_board_fw(b, MC_SEV_CMD_GET_ID, buf, sizeof buf, NULL, err);
    if (!st)
        st = mc_machine_phys_read(mc_board_machine(b), data, id, MC_SEV_ID_LEN, &f, err);
    mc_board_destroy(b);
    return st;
}

static int run_domcaps(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    struct mc_args a;
    int rc = mc_args_all(&a, cmd, argc, argv);
    if (rc)
        return rc;
    const bool json = a.json;
    const char *platform = a.platform;
    const char *state = a.state, *seed = a.seed;
    struct mc_error err = {0};
    struct mc_lv_platform p;
    if (mc_libvirt_platform(platform, &p, &err))
        return mc_cli_usage_error(argv[0], "%s", err.msg);
    if (p.sev) {
        struct mc_cli_progress pr; /* a fresh chip first makes its RSA-4096 root: seconds */
        mc_cli_progress_begin(&pr, argv[0], "asking the chip for its ID (a new chip makes its RSA-4096 keys)");
        mc_status st = cpu0_id(p.name, state, seed, p.cpu0_id, &err);
        mc_cli_progress_end(&pr);
        if (st)
            return mc_cli_fail(argv[0], &err);
        p.cpu0_id_len = MC_SEV_ID_LEN;
    }
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
            mc_json_u64(&j, "reduced_phys_bits", p.guest_reduced_phys_bits);
            mc_json_u64(&j, "host_phys_addr_reduction", p.phys_addr_reduction);
            mc_json_u64(&j, "max_guests", mc_libvirt_max_guests(&p));
            mc_json_u64(&j, "max_es_guests", mc_libvirt_max_es_guests(&p));
            char b64[4 * ((MC_SEV_ID_LEN + 2) / 3) + 1];
            mc_base64_encode(p.cpu0_id, p.cpu0_id_len, b64);
            mc_json_str(&j, "cpu0_id", b64);
        }
        mc_json_end(&j);
        mc_json_bool(&j, "sev_snp", p.sev_snp);
        char v[16];
        snprintf(v, sizeof v, "%u.%u", p.api_major, p.api_minor);
        mc_json_str(&j, "firmware_api", v);
        mc_json_u64(&j, "firmware_build", p.build);
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
    {.path = "domcaps",
     .summary = "libvirt-style domain capabilities (the <sev> element) of an emulated platform",
     .synopsis = "[--platform NAME] [--state FILE | --seed S] [--json]",
     .about = "Prints <domainCapabilities> as `virsh domcapabilities` does, with\n"
              "<features><sev supported='yes'> holding cbitpos, reducedPhysBits, maxGuests,\n"
              "maxESGuests and cpu0Id of the platform. reducedPhysBits is the guest-facing value (1), as\n"
              "libvirt reports it; --json also shows the host's own physical-address reduction.\n"
              "cpu0Id is the emulated chip's GET_ID (64 bytes, base64), asked through its mailbox as QEMU\n"
              "does: the chip of --state FILE, else a fresh chip (--seed makes it repeatable). A fresh\n"
              "chip first makes its 4096-bit RSA root, which takes a few seconds.\n",
     .common = MC_CO_JSON | MC_CO_PLATFORM | MC_CO_STATE | MC_CO_SEED,
     .platform_default = "milan",
     .examples = "memcrypt domcaps --platform genoa\n",
     .run = run_domcaps},
    {0},
};
