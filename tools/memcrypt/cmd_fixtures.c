/* memcrypt fixtures — test roots and signed SEV-SNP reports for CI without hardware. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <memcrypt/bytes.h>
#include <memcrypt/fileio.h>
#include <memcrypt/json.h>
#include <memcrypt/snp_fixture.h>
#include <memcrypt/snp_report.h>

#include "cli.h"
#include "cli_util.h"

static int run_root(int argc, char **argv)
{
    enum { O_OUT = 256, O_GEN, O_VLEK, O_SEED, O_CHIP, O_TCB, O_JSON };
    static const struct option opts[] = {{"out", required_argument, NULL, O_OUT}, {"generation", required_argument, NULL, O_GEN},
                                         {"vlek", no_argument, NULL, O_VLEK}, {"seed", required_argument, NULL, O_SEED},
                                         {"chip-id", required_argument, NULL, O_CHIP}, {"tcb", required_argument, NULL, O_TCB},
                                         {"json", no_argument, NULL, O_JSON}, {0}};
    struct mc_snp_fixture_root_opts o;
    memset(&o, 0, sizeof o);
    o.gen = MC_SNP_GEN_MILAN;
    const char *out = NULL, *tcb = NULL;
    int c, rc, json = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_OUT: out = optarg; break;
        case O_GEN:
            o.gen = mc_snp_gen_parse(optarg);
            if (o.gen == MC_SNP_GEN_UNKNOWN || strchr(optarg, '-'))
                return mc_cli_usage_error(argv[0], "--generation wants milan, genoa or turin, not '%s'", optarg);
            break;
        case O_VLEK: o.vlek = true; break;
        case O_SEED: o.seed = (const uint8_t *)optarg; o.seed_len = strlen(optarg); break;
        case O_CHIP:
            if ((rc = mc_cli_hex_opt(argv[0], "chip-id", optarg, o.chip_id, 64, true)))
                return rc;
            o.has_chip_id = true;
            break;
        case O_TCB: tcb = optarg; break;
        case O_JSON: json = 1; break;
        default: return MC_EXIT_USAGE;
        }
    }
    if (optind != argc)
        return mc_cli_usage_error(argv[0], "unexpected argument '%s'", argv[optind]);
    if (!out)
        return mc_cli_usage_error(argv[0], "--out DIR is required");
    struct mc_error err;
    if (tcb) {
        if (mc_snp_tcb_parse(tcb, o.gen, &o.tcb, &err))
            return mc_cli_usage_error(argv[0], "--tcb: %s", err.msg);
        o.has_tcb = true;
    }
    if (mc_snp_fixture_make_root(out, &o, &err))
        return mc_cli_fail(argv[0], &err);
    const char *leaf = o.vlek ? "vlek" : "vcek", *inter = o.vlek ? "asvk" : "ask";
    if (json) {
        struct mc_json j;
        mc_json_begin(&j, stdout);
        mc_json_obj(&j, NULL);
        mc_json_str(&j, "out", out);
        mc_json_str(&j, "generation", mc_snp_gen_name(o.gen));
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
               "cert_chain.pem, certtable.bin\n", mc_snp_gen_name(o.gen), out, inter, leaf);
    }
    return MC_EXIT_OK;
}

static int run_report(int argc, char **argv)
{
    enum { O_OUT = 256, O_KEY, O_SEED, O_VER, O_MEAS, O_RD, O_HD, O_IKD, O_POL, O_TCB, O_CHIP, O_VMPL, O_SVN, O_NEG,
           O_EXP, O_JSON };
    static const struct option opts[] = {
        {"out", required_argument, NULL, O_OUT}, {"key", required_argument, NULL, O_KEY},
        {"seed", required_argument, NULL, O_SEED}, {"version", required_argument, NULL, O_VER},
        {"measurement", required_argument, NULL, O_MEAS}, {"report-data", required_argument, NULL, O_RD},
        {"host-data", required_argument, NULL, O_HD}, {"id-key-digest", required_argument, NULL, O_IKD},
        {"policy", required_argument, NULL, O_POL}, {"tcb", required_argument, NULL, O_TCB},
        {"chip-id", required_argument, NULL, O_CHIP}, {"vmpl", required_argument, NULL, O_VMPL},
        {"guest-svn", required_argument, NULL, O_SVN}, {"negative", required_argument, NULL, O_NEG},
        {"expired-cert-out", required_argument, NULL, O_EXP}, {"json", no_argument, NULL, O_JSON}, {0}};
    struct mc_snp_fixture_report_opts o;
    memset(&o, 0, sizeof o);
    const char *out = NULL, *tcb = NULL, *exp = NULL;
    int c, rc, json = 0, neg;
    uint64_t v;
    struct mc_error err;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_OUT: out = optarg; break;
        case O_KEY: o.key_dir = optarg; break;
        case O_SEED: o.seed = (const uint8_t *)optarg; o.seed_len = strlen(optarg); break;
        case O_VER:
            if (mc_parse_u64(optarg, &v, &err) || v < 2 || v > 5)
                return mc_cli_usage_error(argv[0], "--version wants 2, 3, 4 or 5, not '%s'", optarg);
            o.version = (uint32_t)v;
            break;
        case O_MEAS:
            if ((rc = mc_cli_hex_opt(argv[0], "measurement", optarg, o.measurement, 48, false)))
                return rc;
            o.has_measurement = true;
            break;
        case O_RD:
            if ((rc = mc_cli_report_data(argv[0], optarg, o.report_data)))
                return rc;
            o.has_report_data = true;
            break;
        case O_HD:
            if ((rc = mc_cli_hex_opt(argv[0], "host-data", optarg, o.host_data, 32, false)))
                return rc;
            o.has_host_data = true;
            break;
        case O_IKD:
            if ((rc = mc_cli_hex_opt(argv[0], "id-key-digest", optarg, o.id_key_digest, 48, false)))
                return rc;
            o.has_id_key_digest = true;
            break;
        case O_POL:
            if (mc_parse_u64(optarg, &o.policy, &err))
                return mc_cli_usage_error(argv[0], "--policy: %s", err.msg);
            o.has_policy = true;
            break;
        case O_TCB: tcb = optarg; break;
        case O_CHIP:
            if ((rc = mc_cli_hex_opt(argv[0], "chip-id", optarg, o.chip_id, 64, true)))
                return rc;
            o.has_chip_id = true;
            break;
        case O_VMPL:
            if (mc_parse_u64(optarg, &v, &err) || v > 3)
                return mc_cli_usage_error(argv[0], "--vmpl wants 0..3, not '%s'", optarg);
            o.vmpl = (uint32_t)v;
            break;
        case O_SVN:
            if (mc_parse_u64(optarg, &v, &err) || v > UINT32_MAX)
                return mc_cli_usage_error(argv[0], "--guest-svn wants a 32-bit number, not '%s'", optarg);
            o.guest_svn = (uint32_t)v;
            break;
        case O_NEG:
            neg = mc_snp_negative_parse(optarg);
            if (neg <= 0)
                return mc_cli_usage_error(argv[0], "--negative wants wrong-hwid, expired, bad-signature or tcb-mismatch");
            o.negative = (enum mc_snp_negative)neg;
            break;
        case O_EXP: exp = optarg; break;
        case O_JSON: json = 1; break;
        default: return MC_EXIT_USAGE;
        }
    }
    if (optind != argc)
        return mc_cli_usage_error(argv[0], "unexpected argument '%s'", argv[optind]);
    if (!out || !o.key_dir)
        return mc_cli_usage_error(argv[0], "--out FILE and --key DIR are required");
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
    mc_status st = mc_outset_new(&os, &err);
    o.outputs = os;
    if (st || mc_snp_fixture_make_report(&o, rep, &err) || mc_outset_add(os, out, rep, sizeof rep, &err) ||
        mc_outset_commit(os, &err)) {
        mc_outset_free(os);
        return mc_cli_fail(argv[0], &err);
    }
    mc_outset_free(os);
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
    {"fixtures", "create a TEST SEV-SNP root (ARK, ASK/ASVK, VCEK/VLEK) for CI",
     "usage: memcrypt fixtures --out DIR [--generation milan|genoa|turin] [--vlek] [--seed S]\n"
     "                         [--chip-id HEX] [--tcb bl=N,tee=N,snp=N,ucode=N[,fmc=N]] [--json]\n\n"
     "Writes a test root as real X.509 (`openssl verify` accepts it): RSA-4096 ARK and ASK (or ASVK with\n"
     "--vlek) signed with RSASSA-PSS SHA-384, and an ECDSA P-384 VCEK (or VLEK) with every AMD extension.\n"
     "Every subject says 'memcrypt TEST ROOT (not AMD)'; `report verify` trusts it only with --roots DIR.\n"
     "Private keys are written next to the certificates. --seed makes every byte reproducible.\n"
     "Then: memcrypt fixtures report --out FILE --key DIR ...\n",
     run_root},
    {"fixtures report", "sign an SEV-SNP report with a test VCEK/VLEK",
     "usage: memcrypt fixtures report --out FILE --key DIR [--version 2|3|4|5] [--measurement HEX48]\n"
     "         [--report-data HEX|@FILE] [--host-data HEX32] [--id-key-digest HEX48] [--policy N]\n"
     "         [--tcb bl=N,...|0xRAW] [--chip-id HEX] [--vmpl N] [--guest-svn N] [--seed S]\n"
     "         [--negative wrong-hwid|expired|bad-signature|tcb-mismatch] [--expired-cert-out FILE] [--json]\n\n"
     "Fields not given default to values that verify against DIR's certificate (its hwID and SPLs).\n"
     "A negative fixture breaks one thing: wrong-hwid flips a chip_id bit, tcb-mismatch raises snpSPL by\n"
     "one, bad-signature flips a signature bit, expired writes the same key certified for 2020 only to\n"
     "--expired-cert-out (default FILE.expired.der).\n",
     run_report},
    {0},
};
