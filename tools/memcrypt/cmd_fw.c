/* memcrypt fw — drive the emulated SEV firmware by hand: platform status, PEK CSR, PEK import,
 * PDH export, PEK/PDH generation, platform reset, GET_ID. Every command goes through the
 * firmware mailbox exactly as a host driver issues it. With --state FILE the emulated chip
 * (its secret, OCA/PEK/PDH, ownership) persists between invocations. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <memcrypt/board.h>
#include <memcrypt/bytes.h>
#include <memcrypt/fileio.h>
#include <memcrypt/fw_status.h>
#include <memcrypt/json.h>
#include <memcrypt/machine.h>
#include <memcrypt/psp.h>
#include <memcrypt/sev_api.h>

#include "cli.h"
#include "cli_util.h"

#define DATA_PA 0x20000ull /* host data (certificates, CSR, ID); the board's mailbox page is below */

struct fwcli {
    const char *platform, *state, *seed;
    int json, init;
    struct mc_board *b;
    struct mc_machine *m;
    struct mc_psp *psp;
    struct mc_error err;
};

/* Common options; returns the index of the first positional argument or -1 (usage printed). */
static int parse(struct fwcli *c, int argc, char **argv, const char *extra_short, int want_pos)
{
    static const struct option opts[] = {{"platform", required_argument, NULL, 'p'},
                                         {"state", required_argument, NULL, 's'},
                                         {"seed", required_argument, NULL, 'S'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"init", no_argument, NULL, 'i'},
                                         {0}};
    (void)extra_short;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 'p': c->platform = optarg; break;
        case 's': c->state = optarg; break;
        case 'S': c->seed = optarg; break;
        case 'j': c->json = 1; break;
        case 'i': c->init = 1; break;
        default: mc_cli_usage_error(argv[0], "unknown option"); return -1;
        }
    }
    if (!c->platform) {
        mc_cli_usage_error(argv[0], "--platform NAME is required (e.g. rome, milan)");
        return -1;
    }
    if (argc - optind != want_pos) {
        mc_cli_usage_error(argv[0], "expected %d argument%s", want_pos, want_pos == 1 ? "" : "s");
        return -1;
    }
    return optind;
}

static int open_fw(struct fwcli *c)
{
    struct mc_board_config bc;
    if (mc_board_config_init(&bc, c->platform, &c->err))
        return -1;
    bc.machine.dram_size = 16ull << 20;
    if (c->seed) {
        bc.machine.seed = (const uint8_t *)c->seed;
        bc.machine.seed_len = strlen(c->seed);
    }
    bc.fw.state_path = c->state;
    bc.fw.state_wait_ms = mc_cli_state_wait_ms();
    if (!bc.firmware) {
        mc_seterr(&c->err, MC_E_UNSUPPORTED, "platform '%s' has no AMD SEV", bc.machine.platform);
        return -1;
    }
    if (mc_board_create(&bc, &c->b, &c->err))
        return -1;
    c->m = mc_board_machine(c->b);
    c->psp = mc_board_psp(c->b);
    return 0;
}

static void close_fw(struct fwcli *c) { mc_board_destroy(c->b); }

static mc_status hw(struct fwcli *c, uint64_t pa, void *buf, size_t len, int write)
{
    struct mc_fault f;
    return write ? mc_machine_phys_write(c->m, pa, buf, len, &f, &c->err)
                 : mc_machine_phys_read(c->m, pa, buf, len, &f, &c->err);
}

/* One mailbox command; fills c->err with "COMMAND: STATUS: why" on a firmware failure. */
static uint32_t run(struct fwcli *c, uint32_t cmd, uint8_t *buf, size_t len)
{
    uint32_t st;
    mc_board_fw(c->b, cmd, buf, len, &st, &c->err);
    return st;
}

/* INIT as Linux does at boot: INIT, WBINVD everywhere, DF_FLUSH. */
static uint32_t init(struct fwcli *c)
{
    uint8_t b[0x14] = {0};
    uint32_t st = run(c, MC_SEV_CMD_INIT, b, sizeof b);
    if (!st)
        mc_board_df_flush(c->b, &st, &c->err);
    return st;
}

static int finish(struct fwcli *c, const char *path, uint32_t st)
{
    int rc = st ? mc_cli_fail(path, &c->err) : MC_EXIT_OK;
    close_fw(c);
    return rc;
}

static int report_ok(struct fwcli *c, const char *what)
{
    if (c->json) {
        struct mc_json j;
        mc_json_begin(&j, stdout);
        mc_json_obj(&j, NULL);
        mc_json_str(&j, "command", what);
        mc_json_str(&j, "status", "SUCCESS");
        mc_json_str(&j, "state_file", c->state);
        mc_json_end(&j);
        mc_json_finish(&j);
    } else {
        printf("%s: SUCCESS%s\n", what, c->state ? "" : " (no --state: the emulated chip is forgotten on exit)");
    }
    return MC_EXIT_OK;
}

static int run_status(int argc, char **argv)
{
    struct fwcli c = {0};
    if (parse(&c, argc, argv, "", 0) < 0)
        return MC_EXIT_USAGE;
    if (open_fw(&c))
        return mc_cli_fail(argv[0], &c.err);
    if (c.init && init(&c))
        return finish(&c, argv[0], 1);
    uint8_t b[0x0C] = {0};
    if (run(&c, MC_SEV_CMD_PLATFORM_STATUS, b, sizeof b))
        return finish(&c, argv[0], 1);
    const char *owner = (b[3] & 1) ? "external" : "self";
    if (c.json) {
        struct mc_json j;
        mc_json_begin(&j, stdout);
        mc_json_obj(&j, NULL);
        mc_json_str(&j, "platform", c.platform);
        mc_json_u64(&j, "api_major", b[0]);
        mc_json_u64(&j, "api_minor", b[1]);
        mc_json_u64(&j, "build", b[7]);
        mc_json_str(&j, "state", mc_sev_pstate_name(b[2]));
        mc_json_str(&j, "owner", owner);
        mc_json_bool(&j, "es_initialized", mc_le16(b + 4) & 1);
        mc_json_u64(&j, "guest_count", mc_le32(b + 8));
        mc_json_bool(&j, "identity_created", mc_psp_has_identity(c.psp));
        mc_json_str(&j, "state_file", c.state);
        mc_json_end(&j);
        mc_json_finish(&j);
    } else {
        printf("platform:      %s (emulated AMD Secure Processor)\n", c.platform);
        printf("API version:   %u.%u, build %u\n", b[0], b[1], b[7]);
        printf("state:         %s\n", mc_sev_pstate_name(b[2]));
        printf("owner:         %s-owned\n", owner);
        printf("SEV-ES:        %s\n", (mc_le16(b + 4) & 1) ? "initialised" : "not initialised");
        printf("guests:        %u\n", mc_le32(b + 8));
        printf("identity:      %s\n", mc_psp_has_identity(c.psp) ? "present (OCA, PEK, PDH, CEK; emulated ARK/ASK)"
                                                                  : "not created yet (made on first use)");
        printf("state file:    %s\n", c.state ? c.state : "(none: nothing persists)");
    }
    return finish(&c, argv[0], 0);
}

static int write_file(struct fwcli *c, const char *path, const uint8_t *b, size_t n)
{
    return mc_file_write_atomic(path, b, n, &c->err) ? -1 : 0;
}

static int run_pek_csr(int argc, char **argv)
{
    struct fwcli c = {0};
    int pos = parse(&c, argc, argv, "", 1);
    if (pos < 0)
        return MC_EXIT_USAGE;
    if (open_fw(&c))
        return mc_cli_fail(argv[0], &c.err);
    uint8_t b[0x0C] = {0}, csr[MC_SEV_CERT_LEN];
    mc_put_le64(b, DATA_PA);
    mc_put_le32(b + 8, sizeof csr);
    if (init(&c) || run(&c, MC_SEV_CMD_PEK_CSR, b, sizeof b) || hw(&c, DATA_PA, csr, sizeof csr, 0) ||
        write_file(&c, argv[pos], csr, sizeof csr))
        return finish(&c, argv[0], 1);
    report_ok(&c, "PEK_CSR");
    return finish(&c, argv[0], 0);
}

static int run_pek_import(int argc, char **argv)
{
    struct fwcli c = {0};
    int pos = parse(&c, argc, argv, "", 2);
    if (pos < 0)
        return MC_EXIT_USAGE;
    uint8_t *pek = NULL, *oca = NULL;
    size_t pl, ol;
    struct mc_error e;
    if (mc_file_read(argv[pos], 1 << 16, &pek, &pl, &e) || mc_file_read(argv[pos + 1], 1 << 16, &oca, &ol, &e)) {
        free(pek);
        return mc_cli_fail(argv[0], &e);
    }
    if (open_fw(&c)) {
        free(pek);
        free(oca);
        return mc_cli_fail(argv[0], &c.err);
    }
    uint8_t b[0x1C] = {0};
    mc_put_le64(b, DATA_PA);
    mc_put_le32(b + 0x08, (uint32_t)pl);
    mc_put_le64(b + 0x10, DATA_PA + 0x2000);
    mc_put_le32(b + 0x18, (uint32_t)ol);
    uint32_t st = init(&c);
    if (!st && (pl > 0x2000 || ol > 0x2000))
        st = 1, mc_seterr(&c.err, MC_E_RANGE, "certificates larger than 8 KiB are not SEV certificates");
    if (!st && (hw(&c, DATA_PA, pek, pl, 1) || hw(&c, DATA_PA + 0x2000, oca, ol, 1)))
        st = 1;
    if (!st)
        st = run(&c, MC_SEV_CMD_PEK_CERT_IMPORT, b, sizeof b);
    free(pek);
    free(oca);
    if (!st)
        report_ok(&c, "PEK_CERT_IMPORT");
    return finish(&c, argv[0], st);
}

static int run_pdh_export(int argc, char **argv)
{
    struct fwcli c = {0};
    int pos = parse(&c, argc, argv, "", 1);
    if (pos < 0)
        return MC_EXIT_USAGE;
    if (open_fw(&c))
        return mc_cli_fail(argv[0], &c.err);
    static uint8_t pdh[MC_SEV_CERT_LEN], chain[MC_SEV_CHAIN_LEN];
    uint8_t b[0x1C] = {0};
    mc_put_le64(b, DATA_PA);
    mc_put_le32(b + 0x08, MC_SEV_CERT_LEN);
    mc_put_le64(b + 0x10, DATA_PA + 0x1000);
    mc_put_le32(b + 0x18, MC_SEV_CHAIN_LEN);
    if (init(&c) || run(&c, MC_SEV_CMD_PDH_CERT_EXPORT, b, sizeof b) || hw(&c, DATA_PA, pdh, sizeof pdh, 0) ||
        hw(&c, DATA_PA + 0x1000, chain, sizeof chain, 0))
        return finish(&c, argv[0], 1);
    static const char *const names[] = {"pek.cert", "oca.cert", "cek.cert"};
    struct mc_outset *os = NULL; /* all four or none */
    int bad = mc_outset_new(&os, &c.err) || mc_outset_dir(os, argv[pos], 0755, &c.err) ||
              mc_outset_add_in(os, argv[pos], "pdh.cert", pdh, sizeof pdh, &c.err);
    for (int i = 0; i < 3 && !bad; i++)
        bad = mc_outset_add_in(os, argv[pos], names[i], chain + i * MC_SEV_CERT_LEN, MC_SEV_CERT_LEN, &c.err);
    bad = bad || mc_outset_commit(os, &c.err);
    mc_outset_free(os);
    if (bad)
        return finish(&c, argv[0], 1);
    if (!c.json)
        printf("wrote pdh.cert, pek.cert, oca.cert, cek.cert (unsigned, as PDH_CERT_EXPORT returns it) to %s\n",
               argv[pos]);
    report_ok(&c, "PDH_CERT_EXPORT");
    return finish(&c, argv[0], 0);
}

static int simple(int argc, char **argv, uint32_t cmd, int needs_init)
{
    struct fwcli c = {0};
    if (parse(&c, argc, argv, "", 0) < 0)
        return MC_EXIT_USAGE;
    if (open_fw(&c))
        return mc_cli_fail(argv[0], &c.err);
    if ((needs_init && init(&c)) || run(&c, cmd, NULL, 0))
        return finish(&c, argv[0], 1);
    report_ok(&c, mc_sev_cmd_name(cmd));
    return finish(&c, argv[0], 0);
}

static int run_pek_gen(int argc, char **argv) { return simple(argc, argv, MC_SEV_CMD_PEK_GEN, 1); }
static int run_pdh_gen(int argc, char **argv) { return simple(argc, argv, MC_SEV_CMD_PDH_GEN, 1); }
static int run_reset(int argc, char **argv) { return simple(argc, argv, MC_SEV_CMD_PLATFORM_RESET, 0); }

static int run_get_id(int argc, char **argv)
{
    struct fwcli c = {0};
    if (parse(&c, argc, argv, "", 0) < 0)
        return MC_EXIT_USAGE;
    if (open_fw(&c))
        return mc_cli_fail(argv[0], &c.err);
    uint8_t b[0x0C] = {0}, id[64];
    mc_put_le64(b, DATA_PA);
    mc_put_le32(b + 8, sizeof id);
    if (run(&c, MC_SEV_CMD_GET_ID, b, sizeof b) || hw(&c, DATA_PA, id, sizeof id, 0))
        return finish(&c, argv[0], 1);
    char hex[129];
    mc_hex_encode(id, sizeof id, hex);
    if (c.json) {
        struct mc_json j;
        mc_json_begin(&j, stdout);
        mc_json_obj(&j, NULL);
        mc_json_str(&j, "id", hex);
        mc_json_end(&j);
        mc_json_finish(&j);
    } else {
        printf("%s\n", hex);
    }
    return finish(&c, argv[0], 0);
}

#define COMMON "  --platform NAME   emulated platform (rome, milan, genoa, naples)\n" \
               "  --state FILE      the emulated chip's persistent state (created if missing)\n" \
               "  --seed TEXT       deterministic keys (tests and demos)\n" \
               "  --json            machine-readable output\n"

const struct mc_cli_cmd mc_cli_fw[] = {
    {"fw status", "PLATFORM_STATUS of the emulated SEV firmware",
     "usage: memcrypt fw status --platform NAME [--state FILE] [--init] [--json]\n\n"
     "Issues PLATFORM_STATUS (after INIT + DF_FLUSH with --init) and prints the API version, build,\n"
     "platform state, owner, SEV-ES flag and guest count.\n\n" COMMON
     "  --init            INIT the platform first\n",
     run_status},
    {"fw pek-csr", "write the PEK certificate signing request (PEK_CSR)",
     "usage: memcrypt fw pek-csr --platform NAME --state FILE OUT\n\n"
     "INIT, then PEK_CSR: OUT receives the 0x824-byte PEK certificate with empty signature slots,\n"
     "for the platform owner to sign with an OCA key.\n\n" COMMON,
     run_pek_csr},
    {"fw pek-import", "take ownership: import an OCA-signed PEK (PEK_CERT_IMPORT)",
     "usage: memcrypt fw pek-import --platform NAME --state FILE PEK.cert OCA.cert\n\n"
     "INIT, then PEK_CERT_IMPORT. The OCA must be self-signed and the PEK (the CSR) signed by it.\n"
     "Firmware refusals print the spec status (INVALID_CERTIFICATE, BAD_SIGNATURE, ALREADY_OWNED, ...).\n\n" COMMON,
     run_pek_import},
    {"fw pdh-export", "export the PDH certificate and the PEK/OCA/CEK chain (PDH_CERT_EXPORT)",
     "usage: memcrypt fw pdh-export --platform NAME [--state FILE] DIR\n\n"
     "INIT, then PDH_CERT_EXPORT; writes DIR/pdh.cert, pek.cert, oca.cert, cek.cert (the CEK unsigned,\n"
     "as the firmware exports it).\n\n" COMMON,
     run_pdh_export},
    {"fw pek-gen", "regenerate OCA, PEK and PDH; self-owned again (PEK_GEN)",
     "usage: memcrypt fw pek-gen --platform NAME --state FILE\n\n" COMMON, run_pek_gen},
    {"fw pdh-gen", "regenerate the PDH (PDH_GEN)", "usage: memcrypt fw pdh-gen --platform NAME --state FILE\n\n" COMMON,
     run_pdh_gen},
    {"fw reset", "erase OCA, PEK, PDH and ownership (PLATFORM_RESET)",
     "usage: memcrypt fw reset --platform NAME --state FILE\n\n"
     "PLATFORM_RESET in UNINIT state. The chip secret (and so the CEK) is fused and survives.\n\n" COMMON,
     run_reset},
    {"fw get-id", "the chip's GET_ID value (hex)", "usage: memcrypt fw get-id --platform NAME [--state FILE] [--json]\n\n" COMMON,
     run_get_id},
    {0},
};
