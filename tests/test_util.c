/* Tests of the shared helpers: errors, hex, numbers, base64, DRBG determinism, JSON. */
#include <memcrypt/bytes.h>
#include <memcrypt/error.h>
#include <memcrypt/fileio.h>
#include <memcrypt/fw_status.h>
#include <memcrypt/json.h>

#include <unistd.h>

#include "check.h"
#include "crypto/crypto.h"

static void test_status_names(void)
{
    CHECK(!strcmp(mc_status_name(MC_OK), "MC_OK"));
    CHECK(!strcmp(mc_status_name(MC_E_FAULT), "MC_E_FAULT"));
    CHECK(!strcmp(mc_status_name((mc_status)999), "MC_E_UNKNOWN"));
    struct mc_error e;
    CHECK(mc_seterr(&e, MC_E_RANGE, "x=%d", 5) == MC_E_RANGE);
    CHECK(e.code == MC_E_RANGE && !strcmp(e.msg, "x=5"));
    CHECK(mc_seterr(NULL, MC_E_IO, "ignored") == MC_E_IO);
    /* Every status has its own name; a firmware refusal is not a failed check. */
    for (int s = 0; s < MC_E__COUNT; s++)
        for (int t = s + 1; t < MC_E__COUNT; t++)
            CHECK_MSG(strcmp(mc_status_name((mc_status)s), mc_status_name((mc_status)t)), "%d %d", s, t);
    CHECK(!strcmp(mc_status_name(MC_E_FIRMWARE), "MC_E_FIRMWARE") && MC_E_FIRMWARE != MC_E_VERIFY);
    CHECK(mc_seterr_fw(&e, MC_FW_INVALID_PLATFORM_STATE, "INIT: %s", "refused") == MC_E_FIRMWARE);
    CHECK(e.code == MC_E_FIRMWARE && e.fw_status == MC_FW_INVALID_PLATFORM_STATE && !strcmp(e.msg, "INIT: refused"));
    CHECK(mc_seterr(&e, MC_E_FIRMWARE, "reworded") == MC_E_FIRMWARE && e.fw_status == MC_FW_INVALID_PLATFORM_STATE);
    CHECK(mc_seterr(&e, MC_E_VERIFY, "bad signature") == MC_E_VERIFY && e.fw_status == 0);
    CHECK(mc_seterr_fw(&e, MC_FW_BAD_SIGNATURE, "x") == MC_E_FIRMWARE);
    mc_clearerr(&e);
    CHECK(e.code == MC_OK && e.fw_status == 0 && !e.msg[0]);
}

static void test_hex(void)
{
    uint8_t b[8];
    size_t n;
    CHECK(mc_hex_decode("0xDEADbeef", b, sizeof b, &n, NULL) == MC_OK && n == 4 && b[0] == 0xde && b[3] == 0xef);
    CHECK(mc_hex_decode("abc", b, sizeof b, &n, NULL) == MC_E_FORMAT);
    CHECK(mc_hex_decode("zz", b, sizeof b, &n, NULL) == MC_E_FORMAT);
    CHECK(mc_hex_decode("000102030405060708", b, sizeof b, &n, NULL) == MC_E_RANGE);
    char s[9];
    mc_hex_encode(b, 4, s);
    CHECK(!strcmp(s, "deadbeef"));
}

static void test_numbers(void)
{
    uint64_t v;
    CHECK(mc_parse_u64("0x10", &v, NULL) == MC_OK && v == 16);
    CHECK(mc_parse_u64("18446744073709551615", &v, NULL) == MC_OK && v == UINT64_MAX);
    CHECK(mc_parse_u64("18446744073709551616", &v, NULL) == MC_E_RANGE);
    CHECK(mc_parse_u64("-1", &v, NULL) == MC_E_FORMAT);
    CHECK(mc_parse_u64("12x", &v, NULL) == MC_E_FORMAT);
    CHECK(mc_parse_u64("", &v, NULL) == MC_E_FORMAT);
    CHECK(mc_parse_size("64M", &v, NULL) == MC_OK && v == 64ull << 20);
    CHECK(mc_parse_size("1TB", &v, NULL) == MC_OK && v == 1ull << 40);
    CHECK(mc_parse_size("4096", &v, NULL) == MC_OK && v == 4096);
    CHECK(mc_parse_size("99999999999999T", &v, NULL) == MC_E_RANGE);
    CHECK(mc_parse_seconds_ms("30", &v, NULL) == MC_OK && v == 30000);
    CHECK(mc_parse_seconds_ms("0", &v, NULL) == MC_OK && v == 0);
    CHECK(mc_parse_seconds_ms("0.2", &v, NULL) == MC_OK && v == 200);
    CHECK(mc_parse_seconds_ms("1.05", &v, NULL) == MC_OK && v == 1050);
    CHECK(mc_parse_seconds_ms("2.001", &v, NULL) == MC_OK && v == 2001);
    CHECK(mc_parse_seconds_ms("007.500", &v, NULL) == MC_OK && v == 7500);
    CHECK(mc_parse_seconds_ms("18446744073709550", &v, NULL) == MC_OK && v == 18446744073709550000ull);
    CHECK(mc_parse_seconds_ms("18446744073709551", &v, NULL) == MC_E_RANGE);
    CHECK(mc_parse_seconds_ms("99999999999999999999", &v, NULL) == MC_E_RANGE);
    CHECK(mc_parse_seconds_ms("0.0001", &v, NULL) == MC_E_FORMAT);
    CHECK(mc_parse_seconds_ms(".5", &v, NULL) == MC_E_FORMAT);
    CHECK(mc_parse_seconds_ms("5.", &v, NULL) == MC_E_FORMAT);
    CHECK(mc_parse_seconds_ms("-1", &v, NULL) == MC_E_FORMAT);
    CHECK(mc_parse_seconds_ms("+1", &v, NULL) == MC_E_FORMAT);
    CHECK(mc_parse_seconds_ms("1s", &v, NULL) == MC_E_FORMAT);
    CHECK(mc_parse_seconds_ms("1,5", &v, NULL) == MC_E_FORMAT);
    CHECK(mc_parse_seconds_ms(" 1", &v, NULL) == MC_E_FORMAT);
    CHECK(mc_parse_seconds_ms("", &v, NULL) == MC_E_FORMAT);
}

static void test_base64(void)
{
    /* RFC 4648 section 10 vectors. */
    static const char *const enc[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    const char *plain = "foobar";
    for (size_t i = 0; i < 7; i++) {
        char out[16];
        mc_base64_encode((const uint8_t *)plain, i, out);
        CHECK(!strcmp(out, enc[i]));
        uint8_t back[8];
        size_t n;
        CHECK(mc_base64_decode(enc[i], strlen(enc[i]), back, sizeof back, &n, NULL) == MC_OK && n == i &&
              !memcmp(back, plain, i));
    }
    uint8_t b[8];
    size_t n;
    CHECK(mc_base64_decode("Zg=", 3, b, sizeof b, &n, NULL) == MC_E_FORMAT);
    CHECK(mc_base64_decode("Zh==", 4, b, sizeof b, &n, NULL) == MC_E_FORMAT); /* non-canonical */
    CHECK(mc_base64_decode("Z!==", 4, b, sizeof b, &n, NULL) == MC_E_FORMAT);
    CHECK(mc_base64_decode("Zm9vYmFy", 8, b, 2, &n, NULL) == MC_E_RANGE);
}

static void test_rng_deterministic(void)
{
    struct mc_rng *a, *b, *c, *os;
    uint8_t x[100], y[100], z[100], w[100];
    CHECK(mc_rng_create((const uint8_t *)"seed", 4, &a, NULL) == MC_OK);
    CHECK(mc_rng_create((const uint8_t *)"seed", 4, &b, NULL) == MC_OK);
    CHECK(mc_rng_create((const uint8_t *)"seee", 4, &c, NULL) == MC_OK);
    CHECK(mc_rng_create(NULL, 0, &os, NULL) == MC_OK);
    CHECK(mc_rng_is_deterministic(a) && !mc_rng_is_deterministic(os));
    /* Many requests: no reseed may fail in deterministic mode. */
    for (int i = 0; i < 3000; i++) {
        CHECK(mc_rng_bytes(a, x, sizeof x, NULL) == MC_OK);
        CHECK(mc_rng_bytes(b, y, sizeof y, NULL) == MC_OK);
    }
    CHECK(!memcmp(x, y, sizeof x));
    CHECK(mc_rng_bytes(c, z, sizeof z, NULL) == MC_OK && memcmp(x, z, sizeof x) != 0);
    CHECK(mc_rng_bytes(os, w, sizeof w, NULL) == MC_OK && memcmp(x, w, sizeof x) != 0);
    mc_rng_destroy(a);
    mc_rng_destroy(b);
    mc_rng_destroy(c);
    mc_rng_destroy(os);
}

static void test_json(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    struct mc_json j;
    mc_json_begin(&j, f);
    mc_json_obj(&j, NULL);
    mc_json_str(&j, "s", "a\"b\n");
    mc_json_arr(&j, "a");
    mc_json_u64(&j, NULL, 1);
    mc_json_bool(&j, NULL, true);
    mc_json_end(&j);
    mc_json_arr(&j, "e");
    mc_json_end(&j);
    mc_json_finish(&j);
    fclose(f);
    CHECK(!strcmp(buf, "{\n  \"s\": \"a\\\"b\\n\",\n  \"a\": [\n    1,\n    true\n  ],\n  \"e\": []\n}\n"));
    free(buf);
}

static void test_atomic_file(void)
{
    char path[] = "/tmp/mc_test_fileXXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    CHECK(mc_file_write_atomic(path, (const uint8_t *)"hello", 5, NULL) == MC_OK);
    uint8_t *b;
    size_t n;
    CHECK(mc_file_read(path, 100, &b, &n, NULL) == MC_OK && n == 5 && !memcmp(b, "hello", 5));
    free(b);
    CHECK(mc_file_read(path, 4, &b, &n, NULL) == MC_E_RANGE);
    CHECK(mc_file_read("/nonexistent/x", 4, &b, &n, NULL) == MC_E_IO);
    unlink(path);
}

/* mc_split_words: shell quoting without expansions, errors named, the word limit kept. */
static void test_split_words(void)
{
    static const struct {
        const char *in;
        int n;
        const char *w[6];
    } cases[] = {
        {"--mode snp  --vcpus\t4 ", 4, {"--mode", "snp", "--vcpus", "4"}},
        {"--append 'console=ttyS0 quiet' x", 3, {"--append", "console=ttyS0 quiet", "x"}},
        {"\"a \\\"b\\\" \\$c\\n\" d\\ e", 2, {"a \"b\" $c\\n", "d e"}},
        {"a'b'\"c\" '' \"\"", 3, {"abc", "", ""}},
        {"'it'\\''s'", 1, {"it's"}},
        {"", 0, {0}},
        {"   \t ", 0, {0}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[128];
        snprintf(buf, sizeof buf, "%s", cases[i].in);
        char *w[8];
        const char *why = NULL;
        int n = mc_split_words(buf, w, 8, &why);
        CHECK_MSG(n == cases[i].n, "case %zu: %d words", i, n);
        for (int k = 0; k < n && k < cases[i].n; k++)
            CHECK_MSG(!strcmp(w[k], cases[i].w[k]), "case %zu word %d: '%s'", i, k, w[k]);
    }
    const char *bad[] = {"--append 'x", "a \"b", "x \"y\\\""};
    for (size_t i = 0; i < 3; i++) {
        char buf[64];
        snprintf(buf, sizeof buf, "%s", bad[i]);
        char *w[8];
        const char *why = NULL;
        CHECK(mc_split_words(buf, w, 8, &why) == -1 && why && strstr(why, "unterminated"));
    }
    char many[] = "a b c d e";
    char *w[4];
    const char *why = NULL;
    CHECK(mc_split_words(many, w, 4, &why) == -1 && why && strstr(why, "too many"));
}

int main(void)
{
    RUN(test_status_names);
    RUN(test_hex);
    RUN(test_numbers);
    RUN(test_base64);
    RUN(test_rng_deterministic);
    RUN(test_json);
    RUN(test_atomic_file);
    RUN(test_split_words);
    return check_summary();
}
