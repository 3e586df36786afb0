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
#include <memcrypt/crypto.h>
#include <memcrypt/rmp.h>
#include <memcrypt/sev_api.h>
#include <memcrypt/snp_api.h>
#include <memcrypt/snp_identity.h>
#include <memcrypt/snp_report.h>

#include "cli.h"
#include "cli_util.h"
#include "cli_progress.h"
#include "snp_out.h"

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
    /* SNP subcommands */
    bool snp;                 /* the board gets the RMP the BIOS reserves */
    const char *reported_tcb; /* snp-config */
    bool mask_chip_id, mask_chip_key;
    const char *ecx;          /* feature-info */
    const char *provider_seed, *tcb; /* vlek-wrap */
};

enum { O_INIT = 1, O_REPORTED_TCB, O_MASK_CHIP_ID, O_MASK_CHIP_KEY, O_ECX, O_PROVIDER_SEED, O_TCB };

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
    while ((ch = mc_args_next(&a)) > 0) {
        switch (ch) {
        case O_INIT: c->init = 1; break;
        case O_REPORTED_TCB: c->reported_tcb = a.val; break;
        case O_MASK_CHIP_ID: c->mask_chip_id = true; break;
        case O_MASK_CHIP_KEY: c->mask_chip_key = true; break;
        case O_ECX: c->ecx = a.val; break;
        case O_PROVIDER_SEED: c->provider_seed = a.val; break;
        case O_TCB: c->tcb = a.val; break;
        }
    }
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
    if (c->snp)
        bc.rmp_size = MC_BOARD_RMP_AUTO;
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

/* ---- SEV-SNP ---------------------------------------------------------------------------------- */

static const struct mc_opt snp_init_opts[] = {
    {"init", 0, NULL, "SNP_INIT the platform first (the RMP, SNP_EN, SNP_INIT, WBINVD, DF_FLUSH as Linux does)",
     O_INIT, 0},
    {0},
};
static const struct mc_opt snp_config_opts[] = {
    {"reported-tcb", 0, "TCB", "the TCB reports carry: bl=N,tee=N,snp=N,ucode=N[,fmc=N] or 0xRAW\n"
     "(at most the committed TCB; default 0: the committed TCB)", O_REPORTED_TCB, 0},
    {"mask-chip-id", 0, NULL, "reports carry a zero CHIP_ID", O_MASK_CHIP_ID, 0},
    {"mask-chip-key", 0, NULL, "reports are not signed (the chip key is masked)", O_MASK_CHIP_KEY, 0},
    {0},
};
static const struct mc_opt feature_opts[] = {
    {"ecx", 0, "N", "the sub-function (0: command support, 1: guest message types; default 0)", O_ECX, 0},
    {0},
};
static const struct mc_opt vlek_wrap_opts[] = {
    {"provider-seed", 0, "TEXT", "the cloud provider's VLEK seed (SHA-384 of TEXT; required)", O_PROVIDER_SEED, 0},
    {"tcb", 0, "TCB", "the TCB the VLEK is for (default: the chip's reported TCB)", O_TCB, 0},
    {0},
};

/* A board for the SNP commands: the RMP the BIOS reserved; SNP up as the Linux ccp driver brings it
 * up when `up` (the platform state does not outlive the process; the state file keeps the TCB,
 * SNP_CONFIG and the VLEK). */
static int open_snp(struct fwcli *c, bool up)
{
    c->snp = true;
    if (open_fw(c))
        return -1;
    if (!mc_board_rmp(c->b)) {
        mc_seterr(&c->err, MC_E_UNSUPPORTED, "platform '%s' has no SEV-SNP", c->platform);
        close_fw(c);
        return -1;
    }
    if (up && mc_board_snp_init(c->b, NULL, &c->err)) {
        close_fw(c);
        return -1;
    }
    return 0;
}

static void tcb_out(struct fwcli *c, struct mc_json *j, const char *name, uint64_t raw)
{
    enum mc_snp_gen gen = (enum mc_snp_gen)mc_board_fw_config(c->b)->snp_gen;
    if (j)
        mc_cli_tcb_json(j, name, raw, gen);
    else
        mc_cli_tcb_text(name, raw, gen);
}

static int run_snp_status(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    struct fwcli c = {0};
    int rc = parse(&c, cmd, argc, argv);
    if (rc)
        return rc;
    if (open_snp(&c, c.init))
        return mc_cli_fail(argv[0], &c.err);
    uint8_t o[0x20];
    if (mc_board_snp_status(c.b, DATA_PA, o, NULL, &c.err))
        return finish(&c, argv[0], 1);
    quiet(&c);
    uint32_t flags = mc_le32(o + offsetof(struct mc_snp_platform_status, flags));
    uint64_t cur = mc_le64(o + offsetof(struct mc_snp_platform_status, current_tcb));
    uint64_t rep = mc_le64(o + offsetof(struct mc_snp_platform_status, reported_tcb));
    struct mc_psp_snp_tcb t;
    mc_psp_snp_tcb(c.psp, &t);
    if (c.json) {
        struct mc_json j;
        mc_json_begin(&j, stdout);
        mc_json_obj(&j, NULL);
        mc_json_str(&j, "platform", c.platform);
        mc_json_u64(&j, "api_major", o[0]);
        mc_json_u64(&j, "api_minor", o[1]);
        mc_json_str(&j, "state", mc_snp_pstate_name(o[2]));
        mc_json_bool(&j, "is_rmp_initialized", o[3] & MC_SNP_PS_RMP_INIT);
        mc_json_u64(&j, "build", mc_le32(o + 4));
        mc_json_bool(&j, "mask_chip_id", flags & MC_SNP_PS_MASK_CHIP_ID);
        mc_json_bool(&j, "mask_chip_key", flags & MC_SNP_PS_MASK_CHIP_KEY);
        mc_json_bool(&j, "vlek_en", flags & MC_SNP_PS_VLEK_EN);
        mc_json_bool(&j, "feature_info", flags & MC_SNP_PS_FEATURE_INFO);
        mc_json_u64(&j, "guest_count", mc_le32(o + 12));
        tcb_out(&c, &j, "current_tcb", cur);
        tcb_out(&c, &j, "reported_tcb", rep);
        tcb_out(&c, &j, "committed_tcb", t.committed);
        mc_json_str(&j, "state_file", c.state);
        mc_json_end(&j);
        mc_json_finish(&j);
    } else {
        printf("platform:              %s (emulated AMD Secure Processor, SEV-SNP)\n", c.platform);
        printf("api_version:           %u.%u\n", o[0], o[1]);
        printf("build:                 %u\n", mc_le32(o + 4));
        printf("state:                 %s\n", mc_snp_pstate_name(o[2]));
        printf("is_rmp_init:           %s\n", (o[3] & MC_SNP_PS_RMP_INIT) ? "yes" : "no");
        printf("mask_chip_id:          %s\n", (flags & MC_SNP_PS_MASK_CHIP_ID) ? "yes" : "no");
        printf("mask_chip_key:         %s\n", (flags & MC_SNP_PS_MASK_CHIP_KEY) ? "yes" : "no");
        printf("vlek_en:               %s\n", (flags & MC_SNP_PS_VLEK_EN) ? "yes (reports may be signed by the VLEK)" : "no");
        printf("feature_info:          %s\n", (flags & MC_SNP_PS_FEATURE_INFO) ? "yes (SNP_FEATURE_INFO)" : "no");
        printf("guest_count:           %u\n", mc_le32(o + 12));
        tcb_out(&c, NULL, "current_tcb:", cur);
        tcb_out(&c, NULL, "reported_tcb:", rep);
        tcb_out(&c, NULL, "committed_tcb:", t.committed);
        printf("state_file:            %s\n", c.state ? c.state : "(none: nothing persists)");
    }
    return finish(&c, argv[0], 0);
}

/* An SNP command after the bring-up (cmd 0: the bring-up alone), its buffer holding only a length
 * field of len bytes at offset 0 (len 0: no buffer). */
static int snp_simple(const struct mc_cli_cmd *cli, int argc, char **argv, uint32_t cmd, size_t len, const char *name)
{
    struct fwcli c = {0};
    int rc = parse(&c, cli, argc, argv);
    if (rc)
        return rc;
    if (open_snp(&c, true))
        return mc_cli_fail(argv[0], &c.err);
    uint8_t b[16] = {0};
    if (len)
        mc_put_le32(b, (uint32_t)len);
    if (cmd && run(&c, cmd, len ? b : NULL, len))
        return finish(&c, argv[0], 1);
    report_ok(&c, name);
    return finish(&c, argv[0], 0);
}

static int run_snp_init(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    return snp_simple(cmd, argc, argv, 0, 0, "SNP_INIT");
}
static int run_snp_shutdown(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    return snp_simple(cmd, argc, argv, MC_SEV_CMD_SNP_SHUTDOWN_EX, sizeof(struct mc_snp_shutdown_ex), "SNP_SHUTDOWN_EX");
}
static int run_snp_commit(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    return snp_simple(cmd, argc, argv, MC_SEV_CMD_SNP_COMMIT, sizeof(struct mc_snp_commit), "SNP_COMMIT");
}

static int run_snp_config(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    struct fwcli c = {0};
    int rc = parse(&c, cmd, argc, argv);
    if (rc)
        return rc;
    if (open_snp(&c, true))
        return mc_cli_fail(argv[0], &c.err);
    uint64_t tcb = 0;
    if (c.reported_tcb &&
        mc_snp_tcb_parse(c.reported_tcb, (enum mc_snp_gen)mc_board_fw_config(c.b)->snp_gen, &tcb, &c.err)) {
        quiet(&c);
        close_fw(&c);
        return mc_cli_usage_error(argv[0], "--reported-tcb: %s", c.err.msg);
    }
    uint8_t b[sizeof(struct mc_snp_config)] = {0};
    mc_put_le64(b + offsetof(struct mc_snp_config, reported_tcb), tcb);
    mc_put_le32(b + offsetof(struct mc_snp_config, flags), (c.mask_chip_id ? MC_SNP_CONFIG_MASK_CHIP_ID : 0) |
                                                               (c.mask_chip_key ? MC_SNP_CONFIG_MASK_CHIP_KEY : 0));
    if (run(&c, MC_SEV_CMD_SNP_CONFIG, b, sizeof b))
        return finish(&c, argv[0], 1);
    report_ok(&c, "SNP_CONFIG");
    return finish(&c, argv[0], 0);
}

static int run_vlek_load(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    struct fwcli c = {0};
    int rc = parse(&c, cmd, argc, argv);
    if (rc)
        return rc;
    uint8_t *w = NULL;
    size_t wl = 0;
    struct mc_error e = {0};
    if (mc_file_read(c.pos[0], 1 << 16, &w, &wl, &e))
        return mc_cli_fail(argv[0], &e);
    if (wl != MC_SNP_VLEK_WRAPPED_LEN) {
        free(w);
        return mc_cli_usage_error(argv[0], "'%s' holds %zu bytes; a wrapped VLEK (hashstick) is 0x%x bytes", c.pos[0], wl,
                                  MC_SNP_VLEK_WRAPPED_LEN);
    }
    if (open_snp(&c, true)) {
        free(w);
        return mc_cli_fail(argv[0], &c.err);
    }
    uint8_t b[sizeof(struct mc_snp_vlek_load)] = {0};
    mc_put_le32(b + offsetof(struct mc_snp_vlek_load, length), sizeof b);
    mc_put_le64(b + offsetof(struct mc_snp_vlek_load, wrapped_paddr), DATA_PA);
    uint32_t st = hw(&c, DATA_PA, w, wl, 1) ? 1 : run(&c, MC_SEV_CMD_SNP_VLEK_LOAD, b, sizeof b);
    free(w);
    if (st)
        return finish(&c, argv[0], 1);
    report_ok(&c, "SNP_VLEK_LOAD");
    return finish(&c, argv[0], 0);
}

/* The emulated AMD KDS's part: a VLEK for the cloud provider's seed, wrapped for this chip. */
static int run_vlek_wrap(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    struct fwcli c = {0};
    int rc = parse(&c, cmd, argc, argv);
    if (rc)
        return rc;
    if (!c.provider_seed)
        return mc_cli_usage_error(argv[0], "--provider-seed is required");
    if (open_snp(&c, false))
        return mc_cli_fail(argv[0], &c.err);
    struct mc_psp_snp_tcb t;
    mc_psp_snp_tcb(c.psp, &t);
    uint64_t tcb = t.reported;
    if (c.tcb && mc_snp_tcb_parse(c.tcb, (enum mc_snp_gen)mc_board_fw_config(c.b)->snp_gen, &tcb, &c.err)) {
        quiet(&c);
        close_fw(&c);
        return mc_cli_usage_error(argv[0], "--tcb: %s", c.err.msg);
    }
    uint8_t seed[MC_SNP_SEED_LEN], w[MC_SNP_VLEK_WRAPPED_LEN];
    struct mc_snp_identity *id = mc_psp_snp_identity(c.psp, &c.err);
    uint32_t st = !id || mc_sha384(c.provider_seed, strlen(c.provider_seed), seed, &c.err) ||
                  mc_snp_vlek_wrap(id, seed, tcb, NULL, w, &c.err) || write_file(&c, c.pos[0], w, sizeof w);
    mc_wipe(seed, sizeof seed);
    if (st)
        return finish(&c, argv[0], 1);
    quiet(&c);
    if (!c.json)
        printf("wrote a VLEK for TCB 0x%016llx wrapped for this chip (the emulated AMD KDS) to %s\n",
               (unsigned long long)tcb, c.pos[0]);
    report_ok(&c, "VLEK wrap");
    return finish(&c, argv[0], 0);
}

static int run_feature_info(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    struct fwcli c = {0};
    int rc = parse(&c, cmd, argc, argv);
    if (rc)
        return rc;
    uint64_t ecx = 0;
    struct mc_error e = {0};
    if (c.ecx && (mc_parse_u64(c.ecx, &ecx, &e) || ecx > 0xFFFFFFFFu))
        return mc_cli_usage_error(argv[0], "--ecx wants a 32-bit number, not '%s'", c.ecx);
    if (open_snp(&c, true))
        return mc_cli_fail(argv[0], &c.err);
    uint8_t b[sizeof(struct mc_snp_feature_info_cmd)] = {0}, o[sizeof(struct mc_snp_feature_info)];
    mc_put_le32(b + offsetof(struct mc_snp_feature_info_cmd, length), sizeof b);
    mc_put_le32(b + offsetof(struct mc_snp_feature_info_cmd, ecx_in), (uint32_t)ecx);
    mc_put_le64(b + offsetof(struct mc_snp_feature_info_cmd, out_paddr), DATA_PA);
    if (mc_board_snp_out_cmd(c.b, MC_SEV_CMD_SNP_FEATURE_INFO, b, sizeof b, DATA_PA, o, sizeof o, NULL, &c.err))
        return finish(&c, argv[0], 1);
    quiet(&c);
    uint32_t r[4] = {mc_le32(o), mc_le32(o + 4), mc_le32(o + 8), mc_le32(o + 12)};
    if (c.json) {
        struct mc_json j;
        mc_json_begin(&j, stdout);
        mc_json_obj(&j, NULL);
        mc_json_u64(&j, "ecx_in", ecx);
        mc_json_hex64(&j, "eax", r[0]);
        mc_json_hex64(&j, "ebx", r[1]);
        mc_json_hex64(&j, "ecx", r[2]);
        mc_json_hex64(&j, "edx", r[3]);
        if (ecx == 0) {
            mc_json_bool(&j, "sev_legacy_commands", r[1] & MC_SNP_FI0_EBX_SEV_LEGACY);
            mc_json_bool(&j, "vlek", r[2] & MC_SNP_FI0_ECX_VLEK);
            mc_json_bool(&j, "x86_snp_shutdown", r[2] & MC_SNP_FI0_ECX_X86_SNP_SHUTDOWN);
        }
        mc_json_end(&j);
        mc_json_finish(&j);
    } else {
        printf("SNP_FEATURE_INFO ecx=%llu: eax=0x%08x ebx=0x%08x ecx=0x%08x edx=0x%08x\n", (unsigned long long)ecx, r[0],
               r[1], r[2], r[3]);
        if (ecx == 0)
            printf("  highest sub-function %u; legacy SEV commands %s; VLEK %s; X86_SNP_SHUTDOWN %s\n", r[0],
                   (r[1] & MC_SNP_FI0_EBX_SEV_LEGACY) ? "yes" : "no", (r[2] & MC_SNP_FI0_ECX_VLEK) ? "yes" : "no",
                   (r[2] & MC_SNP_FI0_ECX_X86_SNP_SHUTDOWN) ? "yes" : "no");
        else if (ecx == 1)
            printf("  guest message types supported: 0x%08x (bit n: message type n)\n", r[0]);
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
    {.path = "fw snp-status",
     .summary = "SNP_PLATFORM_STATUS of the emulated SEV-SNP firmware",
     .synopsis = "--platform NAME [--state FILE] [--init] [--json]",
     .about = "Issues SNP_PLATFORM_STATUS (after the Linux driver's SNP bring-up with --init) into a page made a\n"
              "Firmware page and given back, and prints its fields: API version, build, state, IS_RMP_INIT,\n"
              "MASK_CHIP_ID, MASK_CHIP_KEY, VLEK_EN, FEATURE_INFO, guest count, current and reported TCB\n"
              "(decoded in the generation's layout), and the committed TCB the state file keeps.\n",
     .opts = snp_init_opts,
     .common = FW_COMMON,
     .examples = "memcrypt fw snp-status --platform milan --init\n"
                 "memcrypt fw snp-status --platform turin --json\n",
     .run = run_snp_status},
    {.path = "fw snp-init",
     .summary = "bring SEV-SNP up as the Linux ccp driver does (RMP, SNP_EN, SNP_INIT, DF_FLUSH)",
     .synopsis = "--platform NAME [--state FILE] [--json]",
     .about = "The RMP the BIOS reserved is zeroed, SYSCFG.SNP_EN set, SNP_INIT issued, every core WBINVDs and\n"
              "DF_FLUSH follows. The platform state lives as long as the process (every SNP subcommand does\n"
              "this first, as the driver does at load); the state file keeps the chip, TCB, SNP_CONFIG, VLEK.\n",
     .common = FW_COMMON,
     .examples = "memcrypt fw snp-init --platform genoa\n",
     .run = run_snp_init},
    {.path = "fw snp-shutdown",
     .summary = "SNP_SHUTDOWN_EX after the SNP bring-up",
     .synopsis = "--platform NAME [--state FILE] [--json]",
     .common = FW_COMMON,
     .examples = "memcrypt fw snp-shutdown --platform milan\n",
     .run = run_snp_shutdown},
    {.path = "fw snp-config",
     .summary = "SNP_CONFIG: the reported TCB and CHIP_ID / chip-key masking (kept in the state file)",
     .synopsis = "--platform NAME --state FILE [--reported-tcb TCB] [--mask-chip-id] [--mask-chip-key]",
     .about = "Sets what attestation reports carry: REPORTED_TCB (at most the committed TCB; 0 = the committed\n"
              "one), CHIP_ID zeroed, or no signature (MASK_CHIP_KEY). Refusals print the firmware status.\n",
     .opts = snp_config_opts,
     .common = FW_COMMON,
     .examples = "d=$(mktemp -d)\n"
                 "memcrypt fw snp-config --platform milan --state $d/fw.state --mask-chip-id\n"
                 "memcrypt fw snp-status --platform milan --state $d/fw.state\n",
     .run = run_snp_config},
    {.path = "fw snp-commit",
     .summary = "SNP_COMMIT: commit the running firmware (committed TCB := current TCB)",
     .synopsis = "--platform NAME --state FILE [--json]",
     .common = FW_COMMON,
     .examples = "d=$(mktemp -d)\n"
                 "memcrypt fw snp-commit --platform milan --state $d/fw.state\n",
     .run = run_snp_commit},
    {.path = "fw vlek-wrap",
     .summary = "the emulated AMD KDS: a VLEK for a cloud provider's seed, wrapped for this chip",
     .synopsis = "--platform NAME --state FILE --provider-seed TEXT [--tcb TCB] OUT",
     .about = "Writes the 0x1B0-byte wrapped VLEK (hashstick) that `fw vlek-load` takes: the VLEK seed is\n"
              "SHA-384(TEXT), at the chip's reported TCB (or --tcb), wrapped with this chip's key as AMD's KDS\n"
              "wraps it for a provider. Emulated: a real chip takes only AMD's.\n",
     .opts = vlek_wrap_opts,
     .common = FW_COMMON,
     .args = "OUT",
     .min_args = 1,
     .max_args = 1,
     .examples = "d=$(mktemp -d)\n"
                 "memcrypt fw vlek-wrap --platform milan --state $d/fw.state --provider-seed my-cloud $d/vlek.bin\n"
                 "memcrypt fw vlek-load --platform milan --state $d/fw.state $d/vlek.bin\n",
     .run = run_vlek_wrap},
    {.path = "fw vlek-load",
     .summary = "SNP_VLEK_LOAD a wrapped VLEK (kept in the state file; reports may then be VLEK-signed)",
     .synopsis = "--platform NAME --state FILE WRAPPED-VLEK",
     .about = "After the SNP bring-up, SNP_VLEK_LOAD of the 0x1B0-byte wrapped VLEK. A VLEK for another chip or\n"
              "TCB, or a damaged file, is refused with the firmware status (BAD_SVN, BAD_MEASUREMENT, ...).\n",
     .common = FW_COMMON,
     .args = "WRAPPED-VLEK",
     .min_args = 1,
     .max_args = 1,
     .examples = "d=$(mktemp -d)\n"
                 "memcrypt fw vlek-wrap --platform genoa --state $d/fw.state --provider-seed my-cloud $d/vlek.bin\n"
                 "memcrypt fw vlek-load --platform genoa --state $d/fw.state $d/vlek.bin\n"
                 "memcrypt fw snp-status --platform genoa --state $d/fw.state --init\n",
     .run = run_vlek_load},
    {.path = "fw feature-info",
     .summary = "SNP_FEATURE_INFO: what the SNP firmware supports",
     .synopsis = "--platform NAME [--state FILE] [--ecx N] [--json]",
     .opts = feature_opts,
     .common = FW_COMMON,
     .examples = "memcrypt fw feature-info --platform milan\n"
                 "memcrypt fw feature-info --platform milan --ecx 1 --json\n",
     .run = run_feature_info},
    {0},
};

/* `memcrypt fw --help`: one emulated chip kept in a state file, through both firmwares. */
const struct mc_cli_group_page mc_cli_fw_page = {
    .group = "fw",
    .examples = "d=$(mktemp -d)\n"
                "memcrypt fw status --platform genoa --state $d/fw.state   # a new emulated chip, kept in the file\n"
                "memcrypt fw pdh-export --state $d/fw.state $d/chain       # SEV: its PDH and certificate chain\n"
                "memcrypt certs show $d/chain/pdh.cert\n"
                "memcrypt fw snp-config --state $d/fw.state --mask-chip-id # SEV-SNP: reports will hide CHIP_ID\n"
                "memcrypt fw snp-status --state $d/fw.state --json\n",
};
