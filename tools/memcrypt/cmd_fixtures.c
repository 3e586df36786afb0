/* memcrypt fixtures — test roots and signed SEV-SNP reports for CI without hardware. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <memcrypt/bytes.h>
#include <memcrypt/fileio.h>
#include <memcrypt/json.h>
#include <memcrypt/snp_fixture.h>
#include <memcrypt/snp_report.h>

#include "cli.h"
#include "cli_progress.h"
#include "cli_util.h"

enum { O_OUT = 1, O_GEN, O_VLEK, O_CHIP, O_TCB, O_ROOT };

static const struct mc_opt root_opts[] = {
    {"out", 0, "DIR", "the folder for the test root (created when missing)", O_OUT, MC_OPT_REQUIRED | MC_OPT_DIR},
    {"root", 0, "EXISTING", "issue under this existing test root (made by `memcrypt fixtures`): its ARK, and its\n"
     "ASK/ASVK when it has one (else a new one under its ARK); a new VCEK/VLEK", O_ROOT, MC_OPT_DIR},
    {"generation", 0, "GEN", "milan (default), genoa or turin; with --root: the root's", O_GEN, 0},
    {"vlek", 0, NULL, "an ASVK and a VLEK instead of an ASK and a VCEK", O_VLEK, 0},
    {"chip-id", 0, "HEX", "the VCEK's hwID (up to 64 bytes; default from the seed)", O_CHIP, 0},
    {"tcb", 0, "TCB", "bl=N,tee=N,snp=N,ucode=N[,fmc=N]: the VCEK's SPLs", O_TCB, 0},
    {0},
};

static int run_root(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    struct mc_snp_fixture_root_opts o;
    memset(&o, 0, sizeof o);
    o.gen = MC_SNP_GEN_UNKNOWN; /* Milan, or with --root the root's */
    const char *out = NULL, *tcb = NULL, *root = NULL;
    int c, rc;
    struct mc_args a;
    mc_args_init(&a, cmd, argc, argv);
    while ((c = mc_args_next(&a)) > 0) {
        const char *val = a.val;
        switch (c) {
        case O_OUT: out = val; break;
        case O_GEN:
            o.gen = mc_snp_gen_parse(val);
            if (o.gen == MC_SNP_GEN_UNKNOWN || strchr(val, '-'))
                return mc_cli_usage_error(argv[0], "--generation wants milan, genoa or turin, not '%s'", val);
            break;
        case O_VLEK: o.vlek = true; break;
        case O_CHIP:
            if ((rc = mc_cli_hex_opt(argv[0], "chip-id", val, o.chip_id, 64, true)))
                return rc;
            o.has_chip_id = true;
            break;
        case O_TCB: tcb = val; break;
        case O_ROOT: root = val; break;
        }
    }
    if (c < 0)
        return a.rc;
    const int json = a.json;
    if (a.seed) {
        o.seed = (const uint8_t *)a.seed;
        o.seed_len = strlen(a.seed);
    }
    struct mc_error err;
    struct mc_snp_fixture_root_info info = {.gen = o.gen == MC_SNP_GEN_UNKNOWN ? MC_SNP_GEN_MILAN : o.gen};
    if (tcb && !root) { /* with --root, read in the root's generation's layout */
        if (mc_snp_tcb_parse(tcb, info.gen, &o.tcb, &err))
            return mc_cli_usage_error(argv[0], "--tcb: %s", err.msg);
        o.has_tcb = true;
    }
    struct mc_cli_progress pr;
    mc_status st;
    if (root) {
        mc_cli_progress_begin(&pr, argv[0], o.vlek ? "issuing under the test root (an RSA-4096 ASVK when it has none)"
                                                   : "issuing under the test root (an RSA-4096 ASK when it has none)");
        st = mc_snp_fixture_make_root_from(out, root, &o, tcb, &info, &err);
    } else {
        mc_cli_progress_begin(&pr, argv[0], "making the RSA-4096 ARK and ASK of the test root");
        st = mc_snp_fixture_make_root(out, &o, &err);
    }
    mc_cli_progress_end(&pr);
    if (st)
        return mc_cli_fail(argv[0], &err);
    const char *leaf = o.vlek ? "vlek" : "vcek", *inter = o.vlek ? "asvk" : "ask";
    if (json) {
        struct mc_json j;
        mc_json_begin(&j, stdout);
        mc_json_obj(&j, NULL);
        mc_json_str(&j, "out", out);
        mc_json_str(&j, "generation", mc_snp_gen_name(info.gen));
        if (root) {
            mc_json_str(&j, "root", root);
            mc_json_bool(&j, "new_intermediate", info.new_intermediate);
        }
        mc_json_str(&j, "signer", o.vlek ? "VLEK" : "VCEK");
        mc_json_bool(&j, "deterministic", o.seed != NULL);
        mc_json_arr(&j, "files");
        char nm[64];
        mc_json_str(&j, NULL, "ark.pem");
        mc_json_str(&j, NULL, "ark-key.pem");
        snprintf(nm, sizeof nm, "%s.pem", inter); mc_json_str(&j, NULL, nm);
        snprintf(nm, sizeof nm, "%s-key.pem", inter); mc_json_str(&j, NULL, nm);
        snprintf(nm, sizeof nm, "%s.der", leaf); mc_json_str(&j, NULL, nm);
        snprintf(nm, sizeof nm, "%s.pem", leaf); mc_json_str(&j, NULL, nm);
        snprintf(nm, sizeof nm, "%s-key.pem", leaf); mc_json_str(&j, NULL, nm);
        mc_json_str(&j, NULL, "cert_chain.pem");
        mc_json_str(&j, NULL, "certtable.bin");
        mc_json_end(&j);
        mc_json_finish(&j);
    } else {
        printf("wrote a %s TEST root (not AMD) to %s: ark.pem, %s.pem, %s.der/.pem with their -key.pem files, "
               "cert_chain.pem, certtable.bin\n", mc_snp_gen_name(info.gen), out, inter, leaf);
        if (root)
            printf("under the root in %s: its ARK, %s %s, a new %s\n", root,
                   info.new_intermediate ? "a new" : "its", o.vlek ? "ASVK" : "ASK", o.vlek ? "VLEK" : "VCEK");
    }
    return MC_EXIT_OK;
}

enum { R_OUT = 1, R_KEY, R_VER, R_MEAS, R_RD, R_HD, R_IKD, R_POL, R_TCB, R_CHIP, R_VMPL, R_SVN, R_NEG, R_EXP };

static const struct mc_opt report_opts[] = {
    {"out", 0, "FILE", "the report file to write", R_OUT, MC_OPT_REQUIRED | MC_OPT_FILE},
    {"key", 0, "DIR", "a test root made by `memcrypt fixtures` (its VCEK/VLEK key signs)", R_KEY,
     MC_OPT_REQUIRED | MC_OPT_DIR},
    {"version", 0, "N", "report version 2, 3, 4 or 5 (default: the generation's)", R_VER, 0},
    {"measurement", 0, "HEX48", "MEASUREMENT", R_MEAS, 0},
    {"report-data", 0, "HEX|@FILE", "REPORT_DATA: hex of 1..64 bytes or @FILE with 1..64 raw bytes\n(the rest zero, as `report verify --report-data` takes it)", R_RD, 0},
    {"host-data", 0, "HEX32", "HOST_DATA", R_HD, 0},
    {"id-key-digest", 0, "HEX48", "ID_KEY_DIGEST", R_IKD, 0},
    {"policy", 0, "N", "guest POLICY", R_POL, 0},
    {"tcb", 0, "TCB", "bl=N,...|0xRAW: the TCB values (default: the certificate's SPLs)", R_TCB, 0},
    {"chip-id", 0, "HEX", "CHIP_ID (default: the certificate's hwID)", R_CHIP, 0},
    {"vmpl", 0, "N", "VMPL 0..3", R_VMPL, 0},
    {"guest-svn", 0, "N", "GUEST_SVN", R_SVN, 0},
    {"negative", 0, "KIND", "break one thing: wrong-hwid, expired, bad-signature or tcb-mismatch", R_NEG, 0},
    {"expired-cert-out", 0, "FILE", "where --negative expired writes its certificate (default FILE.expired.der)",
     R_EXP, MC_OPT_FILE},
    {0},
};

static int run_report(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    struct mc_snp_fixture_report_opts o;
    memset(&o, 0, sizeof o);
    const char *out = NULL, *tcb = NULL, *exp = NULL;
    int c, rc, neg;
    uint64_t v;
    struct mc_error err;
    struct mc_args a;
    mc_args_init(&a, cmd, argc, argv);
    while ((c = mc_args_next(&a)) > 0) {
        const char *val = a.val;
        switch (c) {
        case R_OUT: out = val; break;
        case R_KEY: o.key_dir = val; break;
        case R_VER:
            if (mc_parse_u64(val, &v, &err) || v < 2 || v > 5)
                return mc_cli_usage_error(argv[0], "--version wants 2, 3, 4 or 5, not '%s'", val);
            o.version = (uint32_t)v;
            break;
        case R_MEAS:
            if ((rc = mc_cli_hex_opt(argv[0], "measurement", val, o.measurement, 48, false)))
                return rc;
            o.has_measurement = true;
            break;
        case R_RD:
            if ((rc = mc_cli_report_data(argv[0], val, o.report_data)))
                return rc;
            o.has_report_data = true;
            break;
        case R_HD:
            if ((rc = mc_cli_hex_opt(argv[0], "host-data", val, o.host_data, 32, false)))
                return rc;
            o.has_host_data = true;
            break;
        case R_IKD:
            if ((rc = mc_cli_hex_opt(argv[0], "id-key-digest", val, o.id_key_digest, 48, false)))
                return rc;
            o.has_id_key_digest = true;
            break;
        case R_POL:
            if (mc_parse_u64(val, &o.policy, &err))
                return mc_cli_usage_error(argv[0], "--policy: %s", err.msg);
            o.has_policy = true;
            break;
        case R_TCB: tcb = val; break;
        case R_CHIP:
            if ((rc = mc_cli_hex_opt(argv[0], "chip-id", val, o.chip_id, 64, true)))
                return rc;
            o.has_chip_id = true;
            break;
        case R_VMPL:
            if (mc_parse_u64(val, &v, &err) || v > 3)
                return mc_cli_usage_error(argv[0], "--vmpl wants 0..3, not '%s'", val);
            o.vmpl = (uint32_t)v;
            break;
        case R_SVN:
            if (mc_parse_u64(val, &v, &err) || v > UINT32_MAX)
                return mc_cli_usage_error(argv[0], "--guest-svn wants a 32-bit number, not '%s'", val);
            o.guest_svn = (uint32_t)v;
            break;
        case R_NEG:
            neg = mc_snp_negative_parse(val);
            if (neg <= 0)
                return mc_cli_usage_error(argv[0], "--negative wants wrong-hwid, expired, bad-signature or tcb-mismatch");
            o.negative = (enum mc_snp_negative)neg;
            break;
        case R_EXP: exp = val; break;
        }
    }
    if (c < 0)
        return a.rc;
    const int json = a.json;
    if (a.seed) {
        o.seed = (const uint8_t *)a.seed;
        o.seed_len = strlen(a.seed);
    }
    char expbuf[4096];
    if (o.negative == MC_SNP_NEG_EXPIRED) {
        if (!exp) {
            snprintf(expbuf, sizeof expbuf, "%s.expired.der", out);
            exp = expbuf;
        }
        o.expired_cert_out = exp;
    }
    o.tcb_spec = tcb; /* parsed in the layout of the key folder's certificate */
    uint8_t rep[MC_SNP_REPORT_SIZE];
    struct mc_outset *os = NULL; /* the report and the expired certificate: both or neither */
    mc_status st = mc_outset_create(&os, &err);
    o.outputs = os;
    if (st || mc_snp_fixture_make_report(&o, rep, &err) || mc_outset_add(os, out, rep, sizeof rep, &err) ||
        mc_outset_commit(os, &err)) {
        mc_outset_destroy(os);
        return mc_cli_fail(argv[0], &err);
    }
    mc_outset_destroy(os);
    static const char *const negn[] = {"none", "wrong-hwid", "expired", "bad-signature", "tcb-mismatch"};
    if (json) {
        struct mc_json j;
        mc_json_begin(&j, stdout);
        mc_json_obj(&j, NULL);
        mc_json_str(&j, "out", out);
        mc_json_str(&j, "negative", negn[o.negative]);
        if (o.negative == MC_SNP_NEG_EXPIRED)
            mc_json_str(&j, "expired_certificate", exp);
        mc_json_finish(&j);
    } else {
        printf("wrote %s (%s)%s%s\n", out, o.negative ? negn[o.negative] : "a valid report",
               o.negative == MC_SNP_NEG_EXPIRED ? "; expired certificate: " : "",
               o.negative == MC_SNP_NEG_EXPIRED ? exp : "");
    }
    return MC_EXIT_OK;
}

const struct mc_cli_cmd mc_cli_fixtures[] = {
    {.path = "fixtures",
     .summary = "create a TEST SEV-SNP root (ARK, ASK/ASVK, VCEK/VLEK) for CI",
     .synopsis = "--out DIR [--generation milan|genoa|turin] [--vlek] [--seed S] [--chip-id HEX]\n"
                 "--out DIR ... [--tcb bl=N,tee=N,snp=N,ucode=N[,fmc=N]] [--json]\n"
                 "--out DIR --root EXISTING [--vlek] [--chip-id HEX] [--tcb ...] [--seed S] [--json]",
     .about = "Writes a test root as real X.509 (`openssl verify` accepts it): RSA-4096 ARK and ASK (or ASVK with\n"
              "--vlek) signed with RSASSA-PSS SHA-384, and an ECDSA P-384 VCEK (or VLEK) with every AMD extension.\n"
              "Every subject says 'memcrypt TEST ROOT (not AMD)'; `report verify` trusts it only with --roots DIR.\n"
              "Private keys are written next to the certificates. --seed makes every byte reproducible.\n"
              "--root EXISTING issues under a root made earlier, as AMD does (one ARK per product signs the ASK and\n"
              "the ASVK; one ASK signs a VCEK per chip and per TCB): DIR gets EXISTING's ARK, its ASK (ASVK with\n"
              "--vlek) or a new one signed by its ARK when it has none, and a new VCEK (VLEK) for --chip-id/--tcb,\n"
              "in the same files as a fresh root. EXISTING is checked first (certificates, keys, chain, TEST marking);\n"
              "the generation is EXISTING's. Reusing the ASK makes no RSA key, so it takes milliseconds, not seconds.\n"
              "Then: memcrypt fixtures report --out FILE --key DIR ...\n",
     .opts = root_opts,
     .common = MC_CO_SEED | MC_CO_JSON,
     .examples = "d=$(mktemp -d)\n"
                 "memcrypt fixtures --out $d/ci-root --generation genoa --seed example\n"
                 "memcrypt fixtures report --out $d/r.bin --key $d/ci-root\n"
                 "memcrypt report verify $d/r.bin --vcek $d/ci-root/vcek.der --roots $d/ci-root\n"
                 "memcrypt fixtures --out $d/updated --root $d/ci-root --tcb bl=10,tee=0,snp=24,ucode=84 --seed update\n"
                 "memcrypt fixtures report --out $d/r2.bin --key $d/updated\n"
                 "memcrypt report verify $d/r2.bin --vcek $d/updated/vcek.der --roots $d/ci-root\n",
     .run = run_root},
    {.path = "fixtures report",
     .summary = "sign an SEV-SNP report with a test VCEK/VLEK",
     .synopsis = "--out FILE --key DIR [--version 2|3|4|5] [--measurement HEX48] [--report-data HEX|@FILE]\n"
                 "--out FILE --key DIR [--host-data HEX32] [--id-key-digest HEX48] [--policy N] [--tcb bl=N,...|0xRAW]\n"
                 "--out FILE --key DIR [--chip-id HEX] [--vmpl N] [--guest-svn N] [--seed S] [--json]\n"
                 "--out FILE --key DIR --negative wrong-hwid|expired|bad-signature|tcb-mismatch [--expired-cert-out FILE]",
     .about = "Fields not given default to values that verify against DIR's certificate (its hwID and SPLs).\n"
              "A negative fixture breaks one thing: wrong-hwid flips a chip_id bit, tcb-mismatch raises snpSPL by\n"
              "one, bad-signature flips a signature bit, expired writes the same key certified for 2020 only to\n"
              "--expired-cert-out (default FILE.expired.der).\n",
     .opts = report_opts,
     .common = MC_CO_SEED | MC_CO_JSON,
     .examples = "d=$(mktemp -d)\n"
                 "memcrypt fixtures report --out $d/bad.bin --key examples/test-root --negative wrong-hwid\n"
                 "memcrypt report show $d/bad.bin\n",
     .run = run_report},
    {0},
};
