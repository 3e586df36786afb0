/* memcrypt engine — apply the memory encryption engine's line transform by hand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <memcrypt/bytes.h>
#include <memcrypt/engine.h>
#include <memcrypt/json.h>

#include "cli.h"
#include <memcrypt/crypto.h>

#define MAX_DATA (1u << 20)

enum { O_CIPHER = 1, O_KEY, O_PA, O_DECRYPT, O_IMPL };

static const struct mc_opt engine_opts[] = {
    {"cipher", 0, "C", "aes-128-xts (32-byte key) or aes-256-xts (64-byte key)", O_CIPHER, MC_OPT_REQUIRED},
    {"key", 0, "HEX", "data key || tweak key; the two halves must differ", O_KEY, MC_OPT_REQUIRED},
    {"pa", 0, "ADDR", "physical address of the first line (64-byte aligned; decimal or 0x hex)", O_PA,
     MC_OPT_REQUIRED},
    {"decrypt", 0, NULL, "decrypt instead of encrypt", O_DECRYPT, 0},
    {"impl", 0, "I", "engine implementation: auto (default: the best this CPU runs), portable, aesni, vaes", O_IMPL,
     0},
    {0},
};

static int run_engine(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    int decrypt = 0;
    const char *cipher_s = NULL, *key_s = NULL, *impl_s = "auto";
    uint64_t pa = 0;
    struct mc_error err = {0};
    struct mc_args a;
    int c;
    mc_args_init(&a, cmd, argc, argv);
    while ((c = mc_args_next(&a)) > 0) {
        switch (c) {
        case O_CIPHER: cipher_s = a.val; break;
        case O_KEY: key_s = a.val; break;
        case O_PA:
            if (mc_parse_u64(a.val, &pa, &err) != MC_OK)
                return mc_cli_usage_error(argv[0], "--pa: %s", err.msg);
            break;
        case O_DECRYPT: decrypt = 1; break;
        case O_IMPL: impl_s = a.val; break;
        }
    }
    if (c < 0)
        return a.rc;
    const bool json = a.json;
    enum mc_cipher ci;
    if (!strcmp(cipher_s, "aes-128-xts"))
        ci = MC_CIPHER_AES128_XTS;
    else if (!strcmp(cipher_s, "aes-256-xts"))
        ci = MC_CIPHER_AES256_XTS;
    else
        return mc_cli_usage_error(argv[0], "unknown cipher '%s' (aes-128-xts or aes-256-xts)", cipher_s);
    enum mc_engine_impl impl;
    if (!strcmp(impl_s, "auto"))
        impl = MC_IMPL_AUTO;
    else if (!strcmp(impl_s, "portable"))
        impl = MC_IMPL_PORTABLE;
    else if (!strcmp(impl_s, "aesni"))
        impl = MC_IMPL_AESNI;
    else if (!strcmp(impl_s, "vaes"))
        impl = MC_IMPL_VAES;
    else
        return mc_cli_usage_error(argv[0], "unknown implementation '%s' (auto, portable, aesni, vaes)", impl_s);

    uint8_t key[64];
    size_t keylen;
    if (mc_hex_decode(key_s, key, sizeof key, &keylen, &err) != MC_OK) {
        mc_wipe(key, sizeof key);
        return mc_cli_usage_error(argv[0], "--key: %s", err.msg);
    }
    const char *hex = a.pos[0];
    size_t hexlen = strlen(hex);
    if (hexlen > 2 * (size_t)MAX_DATA + 2) {
        mc_wipe(key, sizeof key);
        return mc_cli_usage_error(argv[0], "HEXDATA is larger than %u bytes", MAX_DATA);
    }
    uint8_t *in = malloc(MAX_DATA), *out = malloc(MAX_DATA);
    char *txt = NULL;
    int rc = MC_EXIT_OK;
    size_t len = 0;
    if (!in || !out) {
        mc_seterr(&err, MC_E_NOMEM, "out of memory");
        rc = mc_cli_fail(argv[0], &err);
        goto done;
    }
    if (mc_hex_decode(hex, in, MAX_DATA, &len, &err) != MC_OK) {
        rc = mc_cli_usage_error(argv[0], "HEXDATA: %s", err.msg);
        goto done;
    }
    if (len == 0 || len % MC_LINE_SIZE) {
        rc = mc_cli_usage_error(argv[0], "HEXDATA is %zu bytes; it must be a non-zero multiple of 64 (whole lines)",
                                len);
        goto done;
    }
    mc_status st = mc_xts_lines_impl(impl, ci, key, keylen, pa, decrypt, in, out, len, &err);
    if (st == MC_E_INVAL || st == MC_E_ALIGN || st == MC_E_RANGE || st == MC_E_UNSUPPORTED) {
        rc = mc_cli_usage_error(argv[0], "%s", err.msg);
        goto done;
    }
    if (st != MC_OK) {
        rc = mc_cli_fail(argv[0], &err);
        goto done;
    }
    if (json) {
        struct mc_json j;
        mc_json_begin(&j, stdout);
        mc_json_obj(&j, NULL);
        mc_json_str(&j, "cipher", cipher_s);
        mc_json_str(&j, "direction", decrypt ? "decrypt" : "encrypt");
        mc_json_hex64(&j, "pa", pa);
        mc_json_u64(&j, "lines", len / MC_LINE_SIZE);
        mc_json_hexbytes(&j, "output", out, len);
        mc_json_end(&j);
        mc_json_finish(&j);
    } else {
        txt = malloc(2 * len + 1);
        if (!txt) {
            mc_seterr(&err, MC_E_NOMEM, "out of memory");
            rc = mc_cli_fail(argv[0], &err);
            goto done;
        }
        mc_hex_encode(out, len, txt);
        printf("%s\n", txt);
    }
done:
    mc_wipe(key, sizeof key);
    if (in)
        mc_wipe(in, MAX_DATA);
    if (out)
        mc_wipe(out, MAX_DATA);
    free(in);
    free(out);
    free(txt);
    return rc;
}

const struct mc_cli_cmd mc_cli_engine[] = {
    {.path = "engine",
     .summary = "apply the memory encryption engine's per-line AES-XTS transform",
     .synopsis = "--cipher C --key HEX --pa ADDR [--decrypt] [--impl I] [--json] HEXDATA",
     .about = "Encrypts (or with --decrypt, decrypts) HEXDATA as 64-byte cache lines at consecutive\n"
              "physical addresses ADDR, ADDR+64, ... the way the memory controller's engine does:\n"
              "each line is AES-XTS over its 64 bytes with the tweak LE128(line address), so\n"
              "    openssl enc -aes-128-xts -K KEY -iv <LE128(pa) as 32 hex digits> -nopad\n"
              "gives the same bytes for each line.\n",
     .opts = engine_opts,
     .common = MC_CO_JSON,
     .args = "HEXDATA",
     .min_args = 1,
     .max_args = 1,
     .notes = "Exit status: 0 done, 2 bad input (odd hex, unknown cipher, misaligned address, ...).\n",
     .examples = "memcrypt engine --cipher aes-128-xts --key 00112233445566778899aabbccddeeff"
                 "ffeeddccbbaa99887766554433221100 --pa 0x1000 $(printf '00%.0s' $(seq 64))\n",
     .run = run_engine},
    {0},
};
