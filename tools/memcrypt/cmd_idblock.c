/* memcrypt idblock — build, sign and check SEV-SNP ID blocks and ID authentication info. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <memcrypt/bytes.h>
#include <memcrypt/fileio.h>
#include <memcrypt/idblock.h>
#include <memcrypt/json.h>
#include <memcrypt/measure.h>

#include "cli.h"
#include <memcrypt/crypto.h>
#include "measure_args.h"

enum {
    OPT_MEASUREMENT = 1,
    OPT_FAMILY_ID,
    OPT_IMAGE_ID,
    OPT_GUEST_SVN,
    OPT_POLICY,
    OPT_ID_KEY,
    OPT_AUTHOR_KEY,
    OPT_OUT_BLOCK,
    OPT_OUT_AUTH,
    OPT_ID_BLOCK,
    OPT_ID_AUTH,
    OPT_AUTHOR_EN,
};

static const struct mc_opt build_opts[] = {
    {"id-key", 0, "PEM", "the ID key: an unencrypted P-384 private key", OPT_ID_KEY, MC_OPT_REQUIRED | MC_OPT_FILE},
    {"idkey", 0, "PEM", NULL, OPT_ID_KEY, MC_OPT_FILE},
    {"author-key", 0, "PEM", "the author key (signs the ID key; optional)", OPT_AUTHOR_KEY, MC_OPT_FILE},
    {"authorkey", 0, "PEM", NULL, OPT_AUTHOR_KEY, MC_OPT_FILE},
    {"measurement", 0, "HEX", "the expected launch digest (96 hex digits or base64), or instead give\n"
     "the `memcrypt measure` options below (--mode snp --ovmf ... --vcpus ...)", OPT_MEASUREMENT, 0},
    {"family-id", 0, "HEX", "up to 16 bytes (zero padded; default zero)", OPT_FAMILY_ID, 0},
    {"image-id", 0, "HEX", "up to 16 bytes (zero padded; default zero)", OPT_IMAGE_ID, 0},
    {"guest-svn", 0, "N", "default 0", OPT_GUEST_SVN, 0},
    {"policy", 0, "N", "guest policy, default 0x30000", OPT_POLICY, 0},
    {"out-block", 0, "FILE", "also write the ID block (raw) to FILE", OPT_OUT_BLOCK, MC_OPT_FILE},
    {"out-auth", 0, "FILE", "also write the ID auth info (raw) to FILE", OPT_OUT_AUTH, MC_OPT_FILE},
    MC_MEASURE_OPTS,
    {0},
};

static const struct mc_opt check_opts[] = {
    {"id-block", 0, "B64|FILE", "the ID block: base64, or a file holding it raw or as base64", OPT_ID_BLOCK,
     MC_OPT_REQUIRED | MC_OPT_FILE},
    {"id-auth", 0, "B64|FILE", "the ID auth info, the same way", OPT_ID_AUTH, MC_OPT_REQUIRED | MC_OPT_FILE},
    {"measurement", 0, "HEX", "the expected launch digest (96 hex digits)", OPT_MEASUREMENT, 0},
    {"policy", 0, "N", "the expected policy", OPT_POLICY, 0},
    {"author-key-enabled", 0, "on|off", "check the author key's signature (default: on when AUTH_KEY_ALGO is set)",
     OPT_AUTHOR_EN, 0},
    {0},
};

static int parse_id(const char *path, const char *what, const char *arg, uint8_t out[16])
{
    size_t n;
    struct mc_error e;
    memset(out, 0, 16);
    if (mc_hex_decode(arg, out, 16, &n, &e) != MC_OK)
        return mc_cli_usage_error(path, "--%s: up to 16 bytes of hex expected (%s)", what, e.msg);
    return -1;
}

static int parse_u64(const char *path, const char *what, const char *arg, uint64_t *v, uint64_t max)
{
    struct mc_error e;
    if (mc_parse_u64(arg, v, &e) != MC_OK)
        return mc_cli_usage_error(path, "--%s: %s", what, e.msg);
    if (*v > max)
        return mc_cli_usage_error(path, "--%s: 0x%llx is too large", what, (unsigned long long)*v);
    return -1;
}

static void print_b64(FILE *f, const uint8_t *p, size_t n)
{
    char *s = malloc(mc_base64_encoded_len(n) + 1);
    if (!s)
        return;
    mc_base64_encode(p, n, s);
    fputs(s, f);
    free(s);
}

static void json_b64(struct mc_json *j, const char *key, const uint8_t *p, size_t n)
{
    char *s = malloc(mc_base64_encoded_len(n) + 1);
    if (!s)
        return;
    mc_base64_encode(p, n, s);
    mc_json_str(j, key, s);
    free(s);
}

static int run_build(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    struct mc_measure_req req;
    mc_measure_req_init(&req);
    struct mc_id_block blk = {.version = MC_ID_BLOCK_VERSION, .policy = MC_SNP_DEFAULT_POLICY};
    const char *measurement = NULL, *id_key = NULL, *author_key = NULL, *out_block = NULL, *out_auth = NULL;
    bool measure_args = false;
    uint64_t v;
    int c = 0, rc = -1;
    struct mc_args a;
    mc_args_init(&a, cmd, argc, argv);
    while (rc < 0 && (c = mc_args_next(&a)) > 0) {
        const char *val = a.val;
        struct mc_error e;
        if (c >= MC_MEASURE_OPT_BASE && c < MC_MEASURE_OPT_END) {
            measure_args = true;
            if (mc_measure_req_opt(&req, c, val, &e) != MC_OK)
                rc = mc_cli_usage_error(argv[0], "%s", e.msg);
            continue;
        }
        switch (c) {
        case OPT_MEASUREMENT: measurement = val; break;
        case OPT_FAMILY_ID: rc = parse_id(argv[0], "family-id", val, blk.family_id); break;
        case OPT_IMAGE_ID: rc = parse_id(argv[0], "image-id", val, blk.image_id); break;
        case OPT_GUEST_SVN:
            rc = parse_u64(argv[0], "guest-svn", val, &v, UINT32_MAX);
            blk.guest_svn = (uint32_t)v;
            break;
        case OPT_POLICY: rc = parse_u64(argv[0], "policy", val, &blk.policy, UINT64_MAX); break;
        case OPT_ID_KEY: id_key = val; break;
        case OPT_AUTHOR_KEY: author_key = val; break;
        case OPT_OUT_BLOCK: out_block = val; break;
        case OPT_OUT_AUTH: out_auth = val; break;
        }
    }
    if (rc < 0 && c < 0)
        rc = a.rc;
    const bool json = a.json;
    if (rc < 0 && !measurement == !measure_args)
        rc = mc_cli_usage_error(argv[0], "give either --measurement HEX or the measure options (--mode snp ...)");
    struct mc_error e;
    if (rc < 0 && measurement) {
        /* 96 hex digits, or base64 as snp-create-id-block takes it. */
        size_t n = 0;
        if ((mc_hex_decode(measurement, blk.ld, sizeof blk.ld, &n, &e) != MC_OK || n != 48) &&
            (mc_base64_decode(measurement, strlen(measurement), blk.ld, sizeof blk.ld, &n, &e) != MC_OK || n != 48))
            rc = mc_cli_usage_error(argv[0],
                                    "--measurement must be a SHA-384 launch digest: 96 hex digits or 64 base64 characters");
    } else if (rc < 0) {
        mc_status st = mc_measure_req_finish(&req, &e);
        if (st == MC_E_INVAL)
            rc = mc_cli_usage_error(argv[0], "%s", e.msg);
        else if (st != MC_OK)
            rc = mc_cli_fail(argv[0], &e);
        else if (req.in.mode != MC_MEASURE_SNP && req.in.mode != MC_MEASURE_SNP_SVSM)
            rc = mc_cli_usage_error(argv[0], "an ID block needs an SEV-SNP measurement (--mode snp or snp:svsm)");
        else {
            size_t n;
            if (mc_measure(&req.in, blk.ld, &n, &e) != MC_OK)
                rc = mc_cli_fail(argv[0], &e);
        }
    }
    uint8_t *idpem = NULL, *aupem = NULL;
    size_t idlen = 0, aulen = 0;
    uint8_t block[MC_ID_BLOCK_LEN], auth[MC_ID_AUTH_LEN];
    struct mc_id_auth_result res;
    if (rc < 0 && mc_file_read(id_key, 1 << 20, &idpem, &idlen, &e) != MC_OK)
        rc = mc_cli_fail(argv[0], &e);
    if (rc < 0 && author_key && mc_file_read(author_key, 1 << 20, &aupem, &aulen, &e) != MC_OK)
        rc = mc_cli_fail(argv[0], &e);
    if (rc < 0) {
        mc_id_block_encode(&blk, block);
        if (mc_id_auth_sign(block, idpem, idlen, aupem, aulen, auth, &e) != MC_OK) {
            /* Name the file at fault (FILE: why): the ID key alone signs, or it is the ID key's. */
            struct mc_error e2;
            const char *bad = aupem && mc_id_auth_sign(block, idpem, idlen, NULL, 0, auth, &e2) == MC_OK
                                  ? author_key : id_key;
            struct mc_error named;
            mc_seterr(&named, e.code, "%s: %s", bad, e.msg);
            rc = mc_cli_fail(argv[0], &named);
        } else if (mc_id_auth_verify(block, auth, aupem != NULL, &res, &e) != MC_OK) {
            rc = mc_cli_fail(argv[0], &e);
        }
    }
    struct mc_outset *os = NULL; /* the block and the auth structure: both or neither */
    if (rc < 0 && (out_block || out_auth) &&
        (mc_outset_create(&os, &e) != MC_OK || (out_block && mc_outset_add(os, out_block, block, sizeof block, &e)) ||
         (out_auth && mc_outset_add(os, out_auth, auth, sizeof auth, &e)) || mc_outset_commit(os, &e) != MC_OK))
        rc = mc_cli_fail(argv[0], &e);
    mc_outset_destroy(os);
    if (rc < 0) {
        char ld[97], ikd[97], akd[97];
        mc_hex_encode(blk.ld, 48, ld);
        mc_hex_encode(res.id_key_digest, 48, ikd);
        mc_hex_encode(res.author_key_digest, 48, akd);
        if (json) {
            struct mc_json j;
            mc_json_begin(&j, stdout);
            mc_json_obj(&j, NULL);
            mc_json_str(&j, "measurement", ld);
            mc_json_hex64(&j, "policy", blk.policy);
            mc_json_u64(&j, "guest_svn", blk.guest_svn);
            mc_json_hexbytes(&j, "family_id", blk.family_id, 16);
            mc_json_hexbytes(&j, "image_id", blk.image_id, 16);
            json_b64(&j, "id_block", block, sizeof block);
            json_b64(&j, "id_auth", auth, sizeof auth);
            mc_json_str(&j, "id_key_digest", ikd);
            if (res.author_key)
                mc_json_str(&j, "author_key_digest", akd);
            mc_json_bool(&j, "author_key_enabled", res.author_key);
            mc_json_finish(&j);
        } else {
            printf("measurement:       %s\nid_key_digest:     %s\n", ld, ikd);
            if (res.author_key)
                printf("author_key_digest: %s\n", akd);
            printf("id_block: ");
            print_b64(stdout, block, sizeof block);
            printf("\nid_auth: ");
            print_b64(stdout, auth, sizeof auth);
            printf("\n\nQEMU:    -object sev-snp-guest,...,policy=0x%llx,id-block=", (unsigned long long)blk.policy);
            print_b64(stdout, block, sizeof block);
            printf(",id-auth=");
            print_b64(stdout, auth, sizeof auth);
            printf(",author-key-enabled=%s\n", res.author_key ? "on" : "off");
            printf("libvirt: <launchSecurity type='sev-snp' authorKey='%s'>\n           <policy>0x%llx</policy>\n"
                   "           <idBlock>",
                   res.author_key ? "yes" : "no", (unsigned long long)blk.policy);
            print_b64(stdout, block, sizeof block);
            printf("</idBlock>\n           <idAuth>");
            print_b64(stdout, auth, sizeof auth);
            printf("</idAuth>\n         </launchSecurity>\n");
        }
        rc = MC_EXIT_OK;
    }
    if (idpem)
        mc_wipe(idpem, idlen);
    if (aupem)
        mc_wipe(aupem, aulen);
    free(idpem);
    free(aupem);
    mc_measure_req_free(&req);
    return rc;
}

/* A structure given as base64 text, or a file holding it raw or as base64. */
static mc_status load_blob(const char *arg, uint8_t *out, size_t want, struct mc_error *err)
{
    struct stat sb;
    uint8_t *buf = NULL;
    size_t len = 0, n = 0;
    mc_status st;
    if (stat(arg, &sb) == 0) {
        st = mc_file_read(arg, 1 << 16, &buf, &len, err);
        if (st != MC_OK)
            return st;
        if (len == want) {
            memcpy(out, buf, want);
            free(buf);
            return MC_OK;
        }
        st = mc_base64_decode((const char *)buf, len, out, want, &n, err);
        free(buf);
    } else {
        st = mc_base64_decode(arg, strlen(arg), out, want, &n, err);
    }
    if (st == MC_OK && n != want)
        st = mc_seterr(err, MC_E_FORMAT, "decoded %zu bytes, expected %zu", n, want);
    return st;
}

static int run_check(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    const char *b = NULL, *au = NULL, *m = NULL;
    int author_en = -1;
    bool have_policy = false;
    uint64_t policy = 0;
    int c = 0, rc = -1;
    struct mc_args a;
    mc_args_init(&a, cmd, argc, argv);
    while (rc < 0 && (c = mc_args_next(&a)) > 0) {
        const char *val = a.val;
        switch (c) {
        case OPT_ID_BLOCK: b = val; break;
        case OPT_ID_AUTH: au = val; break;
        case OPT_MEASUREMENT: m = val; break;
        case OPT_POLICY:
            have_policy = true;
            rc = parse_u64(argv[0], "policy", val, &policy, UINT64_MAX);
            break;
        case OPT_AUTHOR_EN:
            if (!strcmp(val, "on") || !strcmp(val, "yes"))
                author_en = 1;
            else if (!strcmp(val, "off") || !strcmp(val, "no"))
                author_en = 0;
            else
                rc = mc_cli_usage_error(argv[0], "--author-key-enabled takes on or off");
            break;
        }
    }
    if (rc >= 0)
        return rc;
    if (c < 0)
        return a.rc;
    const bool json = a.json;
    uint8_t block[MC_ID_BLOCK_LEN], auth[MC_ID_AUTH_LEN], want[48];
    struct mc_error e, e2;
    if (load_blob(b, block, sizeof block, &e2) != MC_OK) {
        mc_seterr(&e, e2.code, "--id-block: %s", e2.msg);
        return mc_cli_fail(argv[0], &e);
    }
    if (load_blob(au, auth, sizeof auth, &e2) != MC_OK) {
        mc_seterr(&e, e2.code, "--id-auth: %s", e2.msg);
        return mc_cli_fail(argv[0], &e);
    }
    size_t n;
    if (m && (mc_hex_decode(m, want, sizeof want, &n, &e) != MC_OK || n != 48))
        return mc_cli_usage_error(argv[0], "--measurement must be 96 hex digits");
    struct mc_id_block blk;
    mc_id_block_decode(block, &blk);
    struct mc_id_auth_result res;
    memset(&res, 0, sizeof res);
    if (author_en < 0)
        author_en = mc_id_auth_author_algo(auth) != 0;
    mc_status st = mc_id_auth_verify(block, auth, author_en == 1, &res, &e);
    const char *fail = st != MC_OK ? e.msg : NULL;
    char why[160];
    if (!fail && m && !mc_ct_equal(want, blk.ld, 48))
        fail = "the ID block's launch digest differs from --measurement";
    if (!fail && have_policy && policy != blk.policy) {
        snprintf(why, sizeof why, "the ID block's policy 0x%llx differs from --policy 0x%llx",
                 (unsigned long long)blk.policy, (unsigned long long)policy);
        fail = why;
    }
    char ld[97], ikd[97], akd[97];
    mc_hex_encode(blk.ld, 48, ld);
    mc_hex_encode(res.id_key_digest, 48, ikd);
    mc_hex_encode(res.author_key_digest, 48, akd);
    if (json) {
        struct mc_json j;
        mc_json_begin(&j, stdout);
        mc_json_obj(&j, NULL);
        mc_json_bool(&j, "ok", fail == NULL);
        if (fail)
            mc_json_str(&j, "failure", fail);
        mc_json_str(&j, "measurement", ld);
        mc_json_hexbytes(&j, "family_id", blk.family_id, 16);
        mc_json_hexbytes(&j, "image_id", blk.image_id, 16);
        mc_json_u64(&j, "version", blk.version);
        mc_json_u64(&j, "guest_svn", blk.guest_svn);
        mc_json_hex64(&j, "policy", blk.policy);
        if (st == MC_OK) {
            mc_json_str(&j, "id_key_digest", ikd);
            mc_json_bool(&j, "author_key_enabled", res.author_key);
            if (res.author_key)
                mc_json_str(&j, "author_key_digest", akd);
        }
        mc_json_finish(&j);
    } else {
        printf("measurement:       %s\nfamily_id:         ", ld);
        for (int i = 0; i < 16; i++)
            printf("%02x", blk.family_id[i]);
        printf("\nimage_id:          ");
        for (int i = 0; i < 16; i++)
            printf("%02x", blk.image_id[i]);
        printf("\nversion:           %u\nguest_svn:         %u\npolicy:            0x%llx\n", blk.version,
               blk.guest_svn, (unsigned long long)blk.policy);
        if (st == MC_OK) {
            printf("id_key_digest:     %s\n", ikd);
            printf("author_key_digest: %s\n", res.author_key ? akd : "none");
        }
        printf("%s%s\n", fail ? "FAILED: " : "OK: signatures verify", fail ? fail : "");
    }
    return fail ? MC_EXIT_CHECK : MC_EXIT_OK;
}

const struct mc_cli_cmd mc_cli_idblock[] = {
    {.path = "idblock",
     .summary = "build and sign an SEV-SNP ID block and ID auth info (base64 for QEMU/libvirt)",
     .synopsis = "--id-key PEM [--author-key PEM] (--measurement HEX | MEASURE-OPTIONS)\n"
                 "... [--family-id HEX] [--image-id HEX] [--guest-svn N] [--policy N]\n"
                 "... [--out-block FILE] [--out-auth FILE] [--json]",
     .about = "Builds the 0x60-byte ID block (launch digest, family and image IDs, version 1, guest SVN,\n"
              "policy) and the 0x1000-byte ID authentication structure signed with the ECDSA P-384 ID key\n"
              "(and the author key over the ID key), in the SNP ABI's little-endian formats. Prints them in\n"
              "base64 for QEMU (-object sev-snp-guest,id-block=...,id-auth=...) and libvirt (<idBlock>,\n"
              "<idAuth>), and the ID_KEY_DIGEST / AUTHOR_KEY_DIGEST attestation reports will show.\n",
     .opts = build_opts,
     .common = MC_CO_JSON,
     .examples = "d=$(mktemp -d)\n"
                 "openssl ecparam -name secp384r1 -genkey -noout -out $d/id.pem\n"
                 "memcrypt idblock --id-key $d/id.pem --mode snp --vcpus 4 --vcpu-type EPYC-Milan "
                 "--ovmf /usr/share/ovmf/OVMF.fd --guest-features 0x21\n",
     .run = run_build},
    {.path = "idblock check",
     .summary = "verify an ID block / ID auth pair as LAUNCH_FINISH does",
     .synopsis = "--id-block B64|FILE --id-auth B64|FILE [--measurement HEX] [--policy N]\n"
                 "... [--author-key-enabled on|off] [--json]",
     .about = "Decodes the pair (base64 text, or files holding the raw structures or base64), checks the\n"
              "key algorithms, curve and point, the ID block signature and — with author-key-enabled — the\n"
              "author key's signature over the ID key; optionally that the launch digest and policy are the\n"
              "expected ones. Prints the fields and the key digests an attestation report shows.\n",
     .opts = check_opts,
     .common = MC_CO_JSON,
     .notes = "Exit status 0 when every check passes, 1 when one fails (the output says which).\n",
     .examples = "d=$(mktemp -d)\n"
                 "openssl ecparam -name secp384r1 -genkey -noout -out $d/id.pem\n"
                 "memcrypt idblock --id-key $d/id.pem --measurement $(printf '%096d' 0) "
                 "--out-block $d/block.bin --out-auth $d/auth.bin\n"
                 "memcrypt idblock check --id-block $d/block.bin --id-auth $d/auth.bin\n",
     .run = run_check},
    {0},
};
