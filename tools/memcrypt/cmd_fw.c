/* memcrypt fw — drive the emulated SEV firmware by hand: platform status, PEK CSR, PEK import,
 * PDH export, PEK/PDH generation, platform reset, GET_ID. Every command goes through the
 * firmware mailbox exactly as a host driver issues it. With --state FILE the emulated chip
 * (its secret, OCA/PEK/PDH, ownership) persists between invocations. */
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
#include "cli_progress.h"

#define DATA_PA 0x20000ull /* host data (certificates, CSR, ID); the board's mailbox page is below */

struct fwcli {
    const char *platform, *state, *seed;
    int json, init;
    struct mc_board *b;
    char **pos; /* positional arguments */
    const char *path;
    struct mc_cli_progress progress; /* a new chip makes its RSA-4096 keys: seconds */
    struct mc_machine *m;
    struct mc_psp *psp;
    struct mc_error err;
};

enum { O_INIT = 1 };

static const struct mc_opt status_opts[] = {
    {"init", 0, NULL, "INIT the platform first (INIT, WBINVD, DF_FLUSH as Linux does)", O_INIT, 0},
    {0},
};

/* The options (the table of cmd); returns 0, or the exit status of a usage error. */
static int parse(struct fwcli *c, const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    struct mc_args a;
    int ch;
    mc_args_init(&a, cmd, argc, argv);
    while ((ch = mc_args_next(&a)) > 0)
        if (ch == O_INIT)
            c->init = 1;
    if (ch < 0)
        return a.rc;
    c->platform = a.platform;
    c->state = a.state;
    c->seed = a.seed;
    c->json = a.json;
    c->pos = a.pos;
    c->path = argv[0];
    return 0;
}

/* The firmware's work is over: the progress line goes before anything is printed. */
static void quiet(struct fwcli *c) { mc_cli_progress_end(&c->progress); }

static int open_board(struct fwcli *c)
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

static int open_fw(struct fwcli *c)
{
    mc_cli_progress_begin(&c->progress, c->path, "working (a new chip makes its RSA-4096 keys)");
    int rc = open_board(c);
    if (rc)
        quiet(c);
    return rc;
}

static void close_fw(struct fwcli *c)
{
    quiet(c);
    mc_board_destroy(c->b);
}

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
    quiet(c);
    int rc = st ? mc_cli_fail(path, &c->err) : MC_EXIT_OK;
    close_fw(c);
    return rc;
}

static int report_ok(struct fwcli *c, const char *what)
{
    quiet(c);
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

static int run_status(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    struct fwcli c = {0};
    int rc = parse(&c, cmd, argc, argv);
    if (rc)
        return rc;
    if (open_fw(&c))
        return mc_cli_fail(argv[0], &c.err);
    if (c.init && init(&c))
        return finish(&c, argv[0], 1);
    uint8_t b[0x0C] = {0};
    if (run(&c, MC_SEV_CMD_PLATFORM_STATUS, b, sizeof b))
        return finish(&c, argv[0], 1);
    const char *owner = (b[3] & 1) ? "external" : "self";
    quiet(&c);
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
        printf("platform:         %s (emulated AMD Secure Processor)\n", c.platform);
        printf("api_version:      %u.%u (api_major, api_minor)\n", b[0], b[1]);
        printf("build:            %u\n", b[7]);
        printf("state:            %s\n", mc_sev_pstate_name(b[2]));
        printf("owner:            %s (%s-owned)\n", owner, owner);
        printf("es_initialized:   %s\n", (mc_le16(b + 4) & 1) ? "yes" : "no");
        printf("guest_count:      %u\n", mc_le32(b + 8));
        printf("identity_created: %s\n", mc_psp_has_identity(c.psp) ? "yes (OCA, PEK, PDH, CEK; emulated ARK/ASK)"
                                                                      : "no (made on first use)");
        printf("state_file:       %s\n", c.state ? c.state : "(none: nothing persists)");
    }
    return finish(&c, argv[0], 0);
}

static int write_file(struct fwcli *c, const char *path, const uint8_t *b, size_t n)
{
    return mc_file_write_atomic(path, b, n, &c->err) ? -1 : 0;
}

static int run_pek_csr(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    struct fwcli c = {0};
    int rc = parse(&c, cmd, argc, argv);
    if (rc)
        return rc;
    if (open_fw(&c))
        return mc_cli_fail(argv[0], &c.err);
    uint8_t b[0x0C] = {0}, csr[MC_SEV_CERT_LEN];
    mc_put_le64(b, DATA_PA);
    mc_put_le32(b + 8, sizeof csr);
    if (init(&c) || run(&c, MC_SEV_CMD_PEK_CSR, b, sizeof b) || hw(&c, DATA_PA, csr, sizeof csr, 0) ||
        write_file(&c, c.pos[0], csr, sizeof csr))
        return finish(&c, argv[0], 1);
    report_ok(&c, "PEK_CSR");
    return finish(&c, argv[0], 0);
}

static int run_pek_import(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    struct fwcli c = {0};
    int rc = parse(&c, cmd, argc, argv);
    if (rc)
        return rc;
    uint8_t *pek = NULL, *oca = NULL;
    size_t pl, ol;
    struct mc_error e;
    if (mc_file_read(c.pos[0], 1 << 16, &pek, &pl, &e) || mc_file_read(c.pos[1], 1 << 16, &oca, &ol, &e)) {
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

static int run_pdh_export(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    struct fwcli c = {0};
    int rc = parse(&c, cmd, argc, argv);
    if (rc)
        return rc;
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
    int bad = mc_outset_create(&os, &c.err) || mc_outset_dir(os, c.pos[0], MC_CLI_DIR_MODE, &c.err) ||
              mc_outset_add_in(os, c.pos[0], "pdh.cert", pdh, sizeof pdh, &c.err);
    for (int i = 0; i < 3 && !bad; i++)
        bad = mc_outset_add_in(os, c.pos[0], names[i], chain + i * MC_SEV_CERT_LEN, MC_SEV_CERT_LEN, &c.err);
    bad = bad || mc_outset_commit(os, &c.err);
    mc_outset_destroy(os);
    if (bad)
        return finish(&c, argv[0], 1);
    quiet(&c);
    if (!c.json)
        printf("wrote pdh.cert, pek.cert, oca.cert, cek.cert (unsigned, as PDH_CERT_EXPORT returns it) to %s\n",
               c.pos[0]);
    report_ok(&c, "PDH_CERT_EXPORT");
    return finish(&c, argv[0], 0);
}

static int simple(const struct mc_cli_cmd *cli, int argc, char **argv, uint32_t cmd, int needs_init)
{
    struct fwcli c = {0};
    int rc = parse(&c, cli, argc, argv);
    if (rc)
        return rc;
    if (open_fw(&c))
        return mc_cli_fail(argv[0], &c.err);
    if ((needs_init && init(&c)) || run(&c, cmd, NULL, 0))
        return finish(&c, argv[0], 1);
    report_ok(&c, mc_sev_cmd_name(cmd));
    return finish(&c, argv[0], 0);
}

static int run_pek_gen(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    return simple(cmd, argc, argv, MC_SEV_CMD_PEK_GEN, 1);
}
static int run_pdh_gen(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    return simple(cmd, argc, argv, MC_SEV_CMD_PDH_GEN, 1);
}
static int run_reset(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    return simple(cmd, argc, argv, MC_SEV_CMD_PLATFORM_RESET, 0);
}

static int run_get_id(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    struct fwcli c = {0};
    int rc = parse(&c, cmd, argc, argv);
    if (rc)
        return rc;
    if (open_fw(&c))
        return mc_cli_fail(argv[0], &c.err);
    uint8_t b[0x0C] = {0}, id[64];
    mc_put_le64(b, DATA_PA);
    mc_put_le32(b + 8, sizeof id);
    if (run(&c, MC_SEV_CMD_GET_ID, b, sizeof b) || hw(&c, DATA_PA, id, sizeof id, 0))
        return finish(&c, argv[0], 1);
    char hex[129];
    mc_hex_encode(id, sizeof id, hex);
    quiet(&c);
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

#define FW_COMMON MC_CO_PLATFORM_REQ | MC_CO_STATE | MC_CO_SEED | MC_CO_JSON

const struct mc_cli_cmd mc_cli_fw[] = {
    {.path = "fw status",
     .summary = "PLATFORM_STATUS of the emulated SEV firmware",
     .synopsis = "--platform NAME [--state FILE] [--init] [--json]",
     .about = "Issues PLATFORM_STATUS (after INIT + DF_FLUSH with --init) and prints the API version, build,\n"
              "platform state, owner, SEV-ES flag and guest count.\n",
     .opts = status_opts,
     .common = FW_COMMON,
     .examples = "memcrypt fw status --platform milan --init\n",
     .run = run_status},
    {.path = "fw pek-csr",
     .summary = "write the PEK certificate signing request (PEK_CSR)",
     .synopsis = "--platform NAME --state FILE OUT",
     .about = "INIT, then PEK_CSR: OUT receives the 0x824-byte PEK certificate with empty signature slots,\n"
              "for the platform owner to sign with an OCA key.\n",
     .common = FW_COMMON,
     .args = "OUT",
     .min_args = 1,
     .max_args = 1,
     .examples = "d=$(mktemp -d)\n"
                 "memcrypt fw pek-csr --platform milan --state $d/fw.state $d/pek.csr\n",
     .run = run_pek_csr},
    {.path = "fw pek-import",
     .summary = "take ownership: import an OCA-signed PEK (PEK_CERT_IMPORT)",
     .synopsis = "--platform NAME --state FILE PEK.cert OCA.cert",
     .about = "INIT, then PEK_CERT_IMPORT. The OCA must be self-signed and the PEK (the CSR) signed by it.\n"
              "Firmware refusals print the spec status (INVALID_CERTIFICATE, BAD_SIGNATURE, ALREADY_OWNED, ...).\n",
     .common = FW_COMMON,
     .args = "PEK.cert OCA.cert",
     .min_args = 2,
     .max_args = 2,
     .examples = "d=$(mktemp -d)\n"
                 "memcrypt fw pdh-export --platform milan --state $d/fw.state $d/chain\n"
                 "memcrypt fw pek-import --platform milan --state $d/fw.state $d/chain/pek.cert $d/chain/oca.cert\n"
                 "memcrypt fw status --platform milan --state $d/fw.state\n",
     .run = run_pek_import},
    {.path = "fw pdh-export",
     .summary = "export the PDH certificate and the PEK/OCA/CEK chain (PDH_CERT_EXPORT)",
     .synopsis = "--platform NAME [--state FILE] DIR",
     .about = "INIT, then PDH_CERT_EXPORT; writes DIR/pdh.cert, pek.cert, oca.cert, cek.cert (the CEK unsigned,\n"
              "as the firmware exports it).\n",
     .common = FW_COMMON,
     .args = "DIR",
     .min_args = 1,
     .max_args = 1,
     .examples = "d=$(mktemp -d)\n"
                 "memcrypt fw pdh-export --platform milan --state $d/fw.state $d/chain\n"
                 "memcrypt certs show $d/chain/pdh.cert\n",
     .run = run_pdh_export},
    {.path = "fw pek-gen",
     .summary = "regenerate OCA, PEK and PDH; self-owned again (PEK_GEN)",
     .synopsis = "--platform NAME --state FILE",
     .common = FW_COMMON,
     .examples = "d=$(mktemp -d)\n"
                 "memcrypt fw pek-gen --platform milan --state $d/fw.state\n",
     .run = run_pek_gen},
    {.path = "fw pdh-gen",
     .summary = "regenerate the PDH (PDH_GEN)",
     .synopsis = "--platform NAME --state FILE",
     .common = FW_COMMON,
     .examples = "d=$(mktemp -d)\n"
                 "memcrypt fw pdh-gen --platform milan --state $d/fw.state\n",
     .run = run_pdh_gen},
    {.path = "fw reset",
     .summary = "erase OCA, PEK, PDH and ownership (PLATFORM_RESET)",
     .synopsis = "--platform NAME --state FILE",
     .about = "PLATFORM_RESET in UNINIT state. The chip secret (and so the CEK) is fused and survives.\n",
     .common = FW_COMMON,
     .examples = "d=$(mktemp -d)\n"
                 "memcrypt fw reset --platform milan --state $d/fw.state\n",
     .run = run_reset},
    {.path = "fw get-id",
     .summary = "the chip's GET_ID value (hex)",
     .synopsis = "--platform NAME [--state FILE] [--json]",
     .common = FW_COMMON,
     .examples = "memcrypt fw get-id --platform milan --seed example\n",
     .run = run_get_id},
    {0},
};
