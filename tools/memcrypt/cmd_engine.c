/* memcrypt engine — apply the memory encryption engine's line transform by hand. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <memcrypt/bytes.h>
#include <memcrypt/engine.h>
#include <memcrypt/json.h>

#include "cli.h"
#include "crypto/crypto.h"
#include "engine/engine_internal.h"

#define MAX_DATA (1u << 20)

static int run_engine(int argc, char **argv)
{
    int json = 0, decrypt = 0, have_pa = 0;
    const char *cipher_s = NULL, *key_s = NULL, *impl_s = "auto";
    uint64_t pa = 0;
    static const struct option opts[] = {{"cipher", required_argument, NULL, 'c'}, {"key", required_argument, NULL, 'k'},
                                         {"pa", required_argument, NULL, 'p'},     {"decrypt", no_argument, NULL, 'd'},
                                         {"impl", required_argument, NULL, 'i'},   {"json", no_argument, NULL, 'j'},
                                         {0}};
    int c;
    struct mc_error err = {0};
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'c': cipher_s = optarg; break;
        case 'k': key_s = optarg; break;
        case 'p':
            if (mc_parse_u64(optarg, &pa, &err) != MC_OK)
                return mc_cli_usage_error(argv[0], "--pa: %s", err.msg);
            have_pa = 1;
            break;
        case 'd': decrypt = 1; break;
        case 'i': impl_s = optarg; break;
        case 'j': json = 1; break;
        default: return mc_cli_usage_error(argv[0], "unknown option (see --help)");
        }
    }
    if (!cipher_s || !key_s || !have_pa)
        return mc_cli_usage_error(argv[0], "--cipher, --key and --pa are required");
    if (optind + 1 != argc)
        return mc_cli_usage_error(argv[0], "expected exactly one HEXDATA argument");
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
    const char *hex = argv[optind];
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
    {"engine", "apply the memory encryption engine's per-line AES-XTS transform",
     "usage: memcrypt engine --cipher aes-128-xts|aes-256-xts --key HEX --pa ADDR [--decrypt]\n"
     "                       [--impl auto|portable|aesni|vaes] [--json] HEXDATA\n"
     "\n"
     "Encrypts (or with --decrypt, decrypts) HEXDATA as 64-byte cache lines at consecutive\n"
     "physical addresses ADDR, ADDR+64, ... the way the memory controller's engine does:\n"
     "each line is AES-XTS over its 64 bytes with the tweak LE128(line address), so\n"
     "    openssl enc -aes-128-xts -K KEY -iv <LE128(pa) as 32 hex digits> -nopad\n"
     "gives the same bytes for each line.\n"
     "\n"
     "  --cipher C   aes-128-xts (32-byte key) or aes-256-xts (64-byte key)\n"
     "  --key HEX    data key || tweak key; the two halves must differ\n"
     "  --pa ADDR    physical address of the first line (64-byte aligned; decimal or 0x hex)\n"
     "  --decrypt    decrypt instead of encrypt\n"
     "  --impl I     engine implementation (default auto: the best this CPU runs)\n"
     "  --json       print a JSON object instead of bare hex\n"
     "\n"
     "Exit status: 0 done, 2 bad input (odd hex, unknown cipher, misaligned address, ...).\n"
     "\n"
     "example:\n"
     "  memcrypt engine --cipher aes-128-xts --key 00112233445566778899aabbccddeeff"
     "ffeeddccbbaa99887766554433221100 --pa 0x1000 $(printf '00%.0s' $(seq 64))\n",
     run_engine},
    {0},
};
