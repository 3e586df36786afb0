/* memcrypt report — decode and verify SEV-SNP attestation reports. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <memcrypt/bytes.h>
#include <memcrypt/fileio.h>
#include <memcrypt/json.h>
#include <memcrypt/snp_report.h>
#include <memcrypt/snp_verify.h>

#include "cli.h"
#include "cli_util.h"
#include "snp_out.h"

#define CERT_FILE_MAX (1u << 20)

static void container_text(const struct mc_snp_container_info *ci, char *buf, size_t n)
{
    if (ci->kind != MC_SNP_CONTAINER_AZURE_HCL)
        snprintf(buf, n, "%s", mc_snp_container_name(ci->kind));
    else if (!ci->has_runtime_hash)
        snprintf(buf, n, "Azure vTPM HCL report (report at 0x%zx; %zu bytes of runtime claims, hash type %u not "
                         "checked)",
                 ci->report_offset, ci->runtime_len, ci->hash_type);
    else
        snprintf(buf, n, "Azure vTPM HCL report (report at 0x%zx; %zu bytes of runtime claims, their SHA-%zu %s "
                         "report_data)",
                 ci->report_offset, ci->runtime_len, ci->runtime_hash_len * 8,
                 ci->runtime_bound ? "starts" : "does NOT start");
}

enum { O_GENERATION = 1 };

static const struct mc_opt show_opts[] = {
    {"generation", 0, "GEN", "milan, genoa or turin: the TCB layout of a version 2 report (no CPUID)", O_GENERATION,
     0},
    {0},
};

static int run_show(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    enum mc_snp_gen hint = MC_SNP_GEN_UNKNOWN;
    struct mc_args a;
    int c;
    mc_args_init(&a, cmd, argc, argv);
    while ((c = mc_args_next(&a)) > 0) {
        if (c == O_GENERATION) {
            hint = mc_snp_gen_parse(a.val);
            if (hint == MC_SNP_GEN_UNKNOWN)
                return mc_cli_usage_error(argv[0], "unknown generation '%s' (milan, genoa, turin)", a.val);
        }
    }
    if (c < 0)
        return a.rc;
    const int json = a.json;
    struct mc_snp_report r;
    struct mc_snp_container_info ci;
    struct mc_error err;
    if (mc_cli_load_report(a.pos[0], &r, &ci, &err))
        return mc_cli_fail(argv[0], &err);
    enum mc_snp_gen gen = mc_cli_report_layout_gen(&r, hint);
    char ctext[200];
    container_text(&ci, ctext, sizeof ctext);
    if (json) {
        struct mc_json j;
        mc_json_begin(&j, stdout);
        mc_json_obj(&j, NULL);
        mc_json_obj(&j, "container");
        mc_json_str(&j, "kind", ci.kind == MC_SNP_CONTAINER_RAW ? "raw" : ci.kind == MC_SNP_CONTAINER_HEX ? "hex" : "azure-hcl");
        mc_json_u64(&j, "report_offset", ci.report_offset);
        if (ci.kind == MC_SNP_CONTAINER_AZURE_HCL) {
            mc_json_u64(&j, "runtime_data_bytes", ci.runtime_len);
            if (ci.has_runtime_hash)
                mc_json_bool(&j, "runtime_data_bound", ci.runtime_bound);
        }
        mc_json_end(&j);
        mc_cli_report_json(&j, &r, gen);
        mc_json_finish(&j);
    } else {
        if (ci.kind != MC_SNP_CONTAINER_RAW)
            printf("%-22s %s\n", "container", ctext);
        mc_cli_report_text(&r, gen, mc_snp_report_gen(&r) != MC_SNP_GEN_UNKNOWN);
    }
    return MC_EXIT_OK;
}

static int parse_time(const char *s, time_t *out)
{
    int y, mo, d, h = 0, mi = 0, se = 0, n = 0;
    uint64_t v;
    if (s[0] == '@') {
        if (mc_parse_u64(s + 1, &v, NULL) != MC_OK || v >= (1ull << 40))
            return -1;
        *out = (time_t)v;
        return 0;
    }
    if (!(sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &y, &mo, &d, &h, &mi, &se, &n) == 6 && s[n] == 0) &&
        !(sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) == 3 && s[n] == 0 && (h = mi = se = 0) == 0))
        return -1;
    if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60 || h < 0 ||
        mi < 0 || se < 0)
        return -1;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    *out = timegm(&tm);
    return 0;
}

struct blob {
    uint8_t *p;
    size_t n;
};

static int read_blob(const char *path, const char *file, struct blob *b)
{
    struct mc_error err;
    if (mc_file_read(file, CERT_FILE_MAX, &b->p, &b->n, &err))
        return mc_cli_fail(path, &err);
    return 0;
}

enum { O_VCEK = 1, O_ASK, O_ARK, O_AT, O_MEAS, O_RD, O_HD, O_IKD, O_MINTCB, O_NODEBUG, O_VMPL, O_PMASK, O_ROOTS,
       O_TABLE };

static const struct mc_opt verify_opts[] = {
    {"vcek", 0, "CERT", "the signing certificate (DER or PEM)", O_VCEK, MC_OPT_FILE},
    {"vlek", 0, "CERT", NULL, O_VCEK, MC_OPT_FILE},
    {"ask", 0, "CERT", "must be the trusted ASK/ASVK (adds no trust)", O_ASK, MC_OPT_FILE},
    {"asvk", 0, "CERT", NULL, O_ASK, MC_OPT_FILE},
    {"ark", 0, "CERT", "must be the trusted ARK (adds no trust)", O_ARK, MC_OPT_FILE},
    {"cert-table", 0, "FILE", "GUID-indexed certificate table from the extended report request", O_TABLE,
     MC_OPT_FILE},
    {"roots", 0, "DIR|FILE", "trust these roots instead of AMD's built-in ones: a folder (ark.pem,\n"
     "ask.pem/asvk.pem) or a cert_chain.pem file (the ASK or ASVK, then the ARK, PEM),\n"
     "as `memcrypt fetch ca`, `run --out-dir`, `fixtures` and a KDS write them", O_ROOTS, MC_OPT_FILE},
    {"at", 0, "TIME", "check certificate validity at YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ or @unix-seconds\n"
     "(default now)", O_AT, 0},
    {"measurement", 0, "HEX48", "policy check: the launch measurement", O_MEAS, 0},
    {"report-data", 0, "HEX|@FILE", "policy check: REPORT_DATA, 1..64 bytes, the rest zero\n(as `fixtures report` takes it)", O_RD, 0},
    {"host-data", 0, "HEX32", "policy check: HOST_DATA", O_HD, 0},
    {"id-key-digest", 0, "HEX48", "policy check: ID_KEY_DIGEST", O_IKD, 0},
    {"min-tcb", 0, "TCB", "bl=N,tee=N,snp=N,ucode=N[,fmc=N] or 0xRAW: every part of reported_tcb >= it", O_MINTCB,
     0},
    {"no-debug", 0, NULL, "policy DEBUG (bit 19) must be clear", O_NODEBUG, 0},
    {"vmpl", 0, "N", "the report's VMPL must be N", O_VMPL, 0},
    {"policy-mask", 0, "M[:V]", "(policy & M) must equal V (default 0)", O_PMASK, 0},
    {0},
};

static int run_verify(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    const char *vcek = NULL, *ask = NULL, *ark = NULL, *roots = NULL, *table = NULL, *mintcb = NULL;
    struct mc_snp_policy pol;
    memset(&pol, 0, sizeof pol);
    int c, rc;
    uint64_t v;
    struct mc_error err;
    struct mc_args a;
    mc_args_init(&a, cmd, argc, argv);
    while ((c = mc_args_next(&a)) > 0) {
        const char *val = a.val;
        switch (c) {
        case O_VCEK: vcek = val; break;
        case O_ASK: ask = val; break;
        case O_ARK: ark = val; break;
        case O_ROOTS: roots = val; break;
        case O_TABLE: table = val; break;
        case O_AT:
            if (parse_time(val, &pol.at))
                return mc_cli_usage_error(argv[0], "--at wants YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ or @unix-seconds, not '%s'", val);
            pol.has_at = true;
            break;
        case O_MEAS:
            if ((rc = mc_cli_hex_opt(argv[0], "measurement", val, pol.measurement, 48, false)))
                return rc;
            pol.has_measurement = true;
            break;
        case O_RD:
            if ((rc = mc_cli_report_data(argv[0], val, pol.report_data)))
                return rc;
            pol.has_report_data = true;
            break;
        case O_HD:
            if ((rc = mc_cli_hex_opt(argv[0], "host-data", val, pol.host_data, 32, false)))
                return rc;
            pol.has_host_data = true;
            break;
        case O_IKD:
            if ((rc = mc_cli_hex_opt(argv[0], "id-key-digest", val, pol.id_key_digest, 48, false)))
                return rc;
            pol.has_id_key_digest = true;
            break;
        case O_MINTCB: mintcb = val; break;
        case O_NODEBUG: pol.no_debug = true; break;
        case O_VMPL:
            if (mc_parse_u64(val, &v, &err) || v > 3)
                return mc_cli_usage_error(argv[0], "--vmpl wants 0..3, not '%s'", val);
            pol.vmpl = (uint32_t)v;
            pol.has_vmpl = true;
            break;
        case O_PMASK: {
            char buf[64];
            if (strlen(val) >= sizeof buf)
                return mc_cli_usage_error(argv[0], "--policy-mask value too long");
            strcpy(buf, val);
            char *colon = strchr(buf, ':');
            if (colon)
                *colon = 0;
            if (mc_parse_u64(buf, &pol.policy_mask, &err) || (colon && mc_parse_u64(colon + 1, &pol.policy_value, &err)))
                return mc_cli_usage_error(argv[0], "--policy-mask wants MASK[:VALUE] as numbers, not '%s'", val);
            if (pol.policy_value & ~pol.policy_mask)
                return mc_cli_usage_error(argv[0], "--policy-mask: VALUE has bits outside MASK");
            pol.has_policy_mask = true;
            break;
        }
        }
    }
    if (c < 0)
        return a.rc;
    const int json = a.json;
    if (mintcb) {
        /* Syntax is checked now; the parts are placed in the layout of the generation the
         * verification settles on (a version 2 report has no CPUID). */
        uint64_t probe;
        if (mc_snp_tcb_parse(mintcb, strstr(mintcb, "fmc") ? MC_SNP_GEN_TURIN : MC_SNP_GEN_MILAN, &probe, &err))
            return mc_cli_usage_error(argv[0], "--min-tcb: %s", err.msg);
        pol.min_tcb_spec = mintcb;
    }
    struct blob bv = {0}, bk = {0}, ba = {0}, bt = {0};
    struct mc_snp_certs given;
    memset(&given, 0, sizeof given);
    struct mc_snp_certtable t;
    int ret = MC_EXIT_ERROR;
    struct mc_snp_verifier *ver = NULL;
    struct mc_json j;
    const bool many = a.npos > 1;
    if (table) {
        if ((rc = read_blob(argv[0], table, &bt)))
            goto out_rc;
        if (mc_snp_certtable_parse(bt.p, bt.n, &t, &err)) {
            ret = mc_cli_error(argv[0], MC_EXIT_ERROR, "--cert-table %s: %s", table, err.msg);
            goto out;
        }
    }
    if (vcek) {
        if ((rc = read_blob(argv[0], vcek, &bv)))
            goto out_rc;
        given.vcek = bv.p;
        given.vcek_len = bv.n;
    }
    if (ask) {
        if ((rc = read_blob(argv[0], ask, &bk)))
            goto out_rc;
        given.ask = bk.p;
        given.ask_len = bk.n;
    }
    if (ark) {
        if ((rc = read_blob(argv[0], ark, &ba)))
            goto out_rc;
        given.ark = ba.p;
        given.ark_len = ba.n;
    }
    if (mc_snp_verifier_create(roots, &ver, &err)) {
        ret = mc_cli_fail(argv[0], &err);
        goto out;
    }
    /* One verifier for every report: a chain is verified once and each further report of the same
     * chip costs its ECDSA check. With several reports, one line (or one JSON element) each. */
    if (json && many) {
        mc_json_begin(&j, stdout);
        mc_json_obj(&j, NULL);
        mc_json_arr(&j, "reports");
    }
    bool all_ok = true, errors = false;
    for (int fi = 0; fi < a.npos; fi++) {
        const char *file = a.pos[fi];
        struct mc_snp_report r;
        struct mc_snp_container_info ci;
        struct mc_snp_result res;
        mc_status st = mc_cli_load_report(file, &r, &ci, &err);
        if (st == MC_OK) {
            struct mc_snp_certs certs = given;
            if (table) {
                mc_snp_certtable_certs(&t, bt.p, mc_snp_report_signer(&r) == MC_SNP_SIGNER_VLEK, &certs);
                if (vcek) {
                    certs.vcek = given.vcek;
                    certs.vcek_len = given.vcek_len;
                }
                if (ask) {
                    certs.ask = given.ask;
                    certs.ask_len = given.ask_len;
                }
                if (ark) {
                    certs.ark = given.ark;
                    certs.ark_len = given.ark_len;
                }
            }
            st = mc_snp_verify(ver, &r, &certs, &pol, &res, &err);
        }
        if (st != MC_OK && st != MC_E_VERIFY) {
            if (!many) {
                ret = mc_cli_fail(argv[0], &err);
                goto out;
            }
            errors = true;
            if (json) {
                mc_json_obj(&j, NULL);
                mc_json_str(&j, "file", file);
                mc_json_str(&j, "error", err.msg);
                mc_json_end(&j);
            } else {
                printf("%s: error: %s\n", file, err.msg);
            }
            continue;
        }
        /* An Azure HCL report binds its runtime claims (the vTPM keys) into REPORT_DATA: check it. */
        if (ci.kind == MC_SNP_CONTAINER_AZURE_HCL && ci.has_runtime_hash && res.n < MC_SNP_MAX_CHECKS) {
            struct mc_snp_check *k = &res.checks[res.n++];
            k->name = "hcl_claims";
            k->state = ci.runtime_bound ? MC_CHECK_PASS : MC_CHECK_FAIL;
            snprintf(k->reason, sizeof k->reason, "the SHA-%zu of the HCL report's %zu bytes of runtime claims %s "
                                                 "report_data[0..%zu]",
                     ci.runtime_hash_len * 8, ci.runtime_len, ci.runtime_bound ? "equals" : "does NOT equal",
                     ci.runtime_hash_len - 1);
            res.ok &= ci.runtime_bound;
        }
        all_ok &= res.ok;
        if (json) {
            if (!many)
                mc_json_begin(&j, stdout);
            mc_json_obj(&j, NULL);
            if (many)
                mc_json_str(&j, "file", file);
            mc_json_bool(&j, "ok", res.ok);
            mc_json_str(&j, "generation", mc_snp_gen_name(res.gen));
            mc_json_str(&j, "signer", mc_cli_signer_name(res.signer));
            mc_json_str(&j, "roots", mc_snp_verifier_roots(ver));
            mc_json_arr(&j, "checks");
            for (size_t i = 0; i < res.n; i++) {
                mc_json_obj(&j, NULL);
                mc_json_str(&j, "name", res.checks[i].name);
                mc_json_str(&j, "result", mc_check_state_name(res.checks[i].state));
                mc_json_str(&j, "reason", res.checks[i].reason);
                mc_json_end(&j);
            }
            mc_json_end(&j);
            mc_json_end(&j);
        } else if (many) {
            size_t k = 0;
            while (k < res.n && res.checks[k].state != MC_CHECK_FAIL)
                k++;
            if (res.ok)
                printf("%s: verified\n", file);
            else
                printf("%s: NOT verified: %s: %s\n", file, k < res.n ? res.checks[k].name : "?",
                       k < res.n ? res.checks[k].reason : "");
        } else {
            for (size_t i = 0; i < res.n; i++)
                printf("%-8s %-14s %s\n", mc_check_state_name(res.checks[i].state), res.checks[i].name,
                       res.checks[i].reason);
            printf("%s\n", res.ok ? "verified: every requested check passed" : "NOT verified: a check failed");
        }
    }
    if (json) {
        if (many) {
            mc_json_end(&j);
            mc_json_bool(&j, "ok", all_ok && !errors);
            mc_json_end(&j);
        }
        mc_json_finish(&j);
    }
    ret = errors ? MC_EXIT_ERROR : all_ok ? MC_EXIT_OK : MC_EXIT_CHECK;
    goto out;
out_rc:
    ret = rc;
out:
    mc_snp_verifier_destroy(ver);
    free(bv.p);
    free(bk.p);
    free(ba.p);
    free(bt.p);
    return ret;
}

const struct mc_cli_cmd mc_cli_report[] = {
    {.path = "report show",
     .summary = "decode an SEV-SNP attestation report",
     .synopsis = "FILE [--json] [--generation milan|genoa|turin]",
     .about = "Decodes every field of a 1184-byte SNP attestation report (versions 2, 3, 4 and 5): policy bits\n"
              "by name, TCB values in the generation's layout (Turin adds FMC), platform_info, key_info,\n"
              "CPUID family/model/stepping (v3+), mitigation vectors (v5). Version 2 reports carry no CPUID;\n"
              "--generation picks the TCB layout for them (default Milan/Genoa).\n",
     .opts = show_opts,
     .common = MC_CO_JSON,
     .args = "FILE (the report)",
     .min_args = 1,
     .max_args = 1,
     .examples = "memcrypt report show tests/data/amd/snp-reports/oak-turin-oc/report.bin\n",
     .run = run_show},
    {.path = "report verify",
     .summary = "verify an SEV-SNP attestation report against AMD's roots",
     .synopsis = "FILE (--vcek CERT | --cert-table FILE) [--ask CERT] [--ark CERT]\n"
                 "FILE ... [--roots DIR|FILE] [--at TIME] [policy checks] [--json]",
     .about = "Checks the chain ARK -> ASK (ASVK for a VLEK) -> VCEK/VLEK with AMD's built-in Milan, Genoa and\n"
              "Turin roots, certificate validity at TIME (default now), the VCEK's productName, hwID and SPLs\n"
              "against the report, and the report's ECDSA P-384 signature. Certificates may be DER or PEM;\n"
              "--ask/--ark files may be PEM bundles (AMD's cert_chain). FILE is the raw report, its hex text,\n"
              "or an Azure vTPM HCL report (report at 0x20; its runtime claims are checked against\n"
              "report_data). Without a VCEK the check fails and names the AMD key server URL for it.\n"
              "A failed check says what to fix: the TCB parts below the minimum and by how much, expected and\n"
              "reported values side by side, which AMD root a wrong --ask/--ark is, a time for --at when a\n"
              "certificate has expired. The policy checks are made only when given.\n",
     .opts = verify_opts,
     .common = MC_CO_JSON,
     .args = "FILE (the report)",
     .min_args = 1,
     .max_args = -1,
     .notes = "Several FILEs (reports of one chip, or of chips sharing the certificates given) are verified\n"
              "in one process by one verifier: the chain once, then one ECDSA check per report; each prints\n"
              "one line, 'FILE: verified' or 'FILE: NOT verified: <check>: <why>' (with --json an object\n"
              "{reports: [...], ok}). A report that cannot be read prints 'FILE: error: ...'.\n"
              "Exit status: 0 every check passed, 1 a check failed (the output names it), 2 usage, 3 error.\n",
     .examples = "memcrypt report verify tests/data/amd/snp-reports/oak-turin-oc/report.bin "
                 "--vcek tests/data/amd/snp-reports/oak-turin-oc/vcek.der --at 2026-01-01\n"
                 "d=$(mktemp -d)   # below: AMD's Turin cert_chain.pem as the KDS serves it (ASK, then ARK)\n"
                 "cat tests/data/amd/snp-ca/ask-turin.pem tests/data/amd/snp-ca/ark-turin.pem >$d/cert_chain.pem\n"
                 "memcrypt report verify tests/data/amd/snp-reports/oak-turin-oc/report.bin "
                 "--vcek tests/data/amd/snp-reports/oak-turin-oc/vcek.der --roots $d/cert_chain.pem --at 2026-01-01\n",
     .run = run_verify},
    {0},
};
