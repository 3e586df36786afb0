/* Benchmark: throughput of copies through the memory controller (cache + engine + DRAM) on an
 * MKTME machine, per KeyID configuration:
 *   bypass      KeyID programmed with PCONFIG KEYID_NO_ENCRYPT (no engine work)
 *   tme         KeyID 0, the TME platform key (AES-XTS-128)
 *   mktme-128   KeyID programmed with PCONFIG KEYID_SET_KEY_RANDOM, AES-XTS-128
 *   mktme-256   KeyID programmed with PCONFIG KEYID_SET_KEY_RANDOM, AES-XTS-256
 * on the Sapphire Rapids profile (it enumerates both AES-XTS-128 and AES-XTS-256 for MKTME).
 * A copy reads SIZE bytes through one KeyID and writes them through the same KeyID
 * (mc_machine_copy, paging off: identity), so each byte is decrypted once and encrypted once.
 *
 *   bench_mktme [--json] [--size MiB] [--seconds S]   (defaults 8 MiB, 1 s per case, best of 3)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <memcrypt/engine.h>
#include <memcrypt/json.h>
#include <memcrypt/board.h>
#include <memcrypt/machine.h>
#include <memcrypt/pconfig.h>
#include <memcrypt/tme.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int program(struct mc_board *b, uint16_t keyid, uint8_t cmd, uint16_t alg)
{
    struct mc_mktme_key_program kp;
    memset(&kp, 0, sizeof kp);
    kp.keyid = keyid;
    kp.command = cmd;
    kp.alg = alg;
    uint8_t raw[MC_MKTME_KP_SIZE];
    mc_mktme_kp_encode(&kp, raw);
    struct mc_fault f;
    if (mc_machine_phys_write(mc_board_machine(b), 0xF000, raw, sizeof raw, &f, NULL) != MC_OK)
        return -1;
    struct mc_pconfig_cpu cpu;
    memset(&cpu, 0, sizeof cpu);
    cpu.rbx = 0xF000;
    struct mc_tme_event ev;
    if (mc_board_pconfig(b, &cpu, &ev, NULL) != MC_OK || cpu.rax != 0)
        return -1;
    return 0;
}

int main(int argc, char **argv)
{
    int json = 0;
    double secs = 1.0;
    uint64_t mib = 8;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            secs = atof(argv[++i]);
        else if (!strcmp(argv[i], "--size") && i + 1 < argc)
            mib = strtoull(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "usage: bench_mktme [--json] [--size MiB] [--seconds S]\n");
            return 2;
        }
    }
    if (mib < 1 || mib > 256 || secs <= 0) {
        fprintf(stderr, "bench_mktme: --size must be 1..256 MiB and --seconds > 0\n");
        return 2;
    }
    const uint64_t size = mib << 20;
    struct mc_board_config cfg;
    struct mc_error e;
    struct mc_board *b = NULL;
    static const uint8_t seed[] = "bench-mktme";
    if (mc_board_config_init(&cfg, "sapphire-rapids", &e) == MC_OK) {
        cfg.machine.dram_size = 4 * size + (16u << 20);
        cfg.machine.seed = seed;
        cfg.machine.seed_len = sizeof seed;
        mc_board_create(&cfg, &b, &e);
    }
    if (!b) {
        fprintf(stderr, "bench_mktme: %s\n", e.msg);
        return 3;
    }
    struct mc_machine *m = mc_board_machine(b);
    struct mc_tme *t = mc_board_tme(b);
    if (program(b, 1, MC_PCONFIG_KEYID_NO_ENCRYPT, MC_MKTME_ALG_AES_XTS_128) ||
        program(b, 2, MC_PCONFIG_KEYID_SET_KEY_RANDOM, MC_MKTME_ALG_AES_XTS_128) ||
        program(b, 3, MC_PCONFIG_KEYID_SET_KEY_RANDOM, MC_MKTME_ALG_AES_XTS_256)) {
        fprintf(stderr, "bench_mktme: key setup failed\n");
        return 3;
    }
    static const struct { const char *name; uint32_t keyid; } cases[] = {
        {"bypass", 1}, {"tme", 0}, {"mktme-128", 2}, {"mktme-256", 3}};
    const uint64_t src = 16u << 20, dst = src + 2 * size;
    uint8_t *buf = malloc(1u << 20);
    for (size_t i = 0; buf && i < (1u << 20); i++)
        buf[i] = (uint8_t)(i * 131 + 7);
    double mbs[4] = {0};
    for (int c = 0; c < 4; c++) {
        uint64_t s_addr, d_addr;
        struct mc_fault f;
        if (!buf || mc_tme_pa_compose(t, src, cases[c].keyid, &s_addr, &e) != MC_OK ||
            mc_tme_pa_compose(t, dst, cases[c].keyid, &d_addr, &e) != MC_OK)
            return 3;
        for (uint64_t off = 0; off < size; off += 1u << 20)
            if (mc_machine_phys_write(m, s_addr + off, buf, 1u << 20, &f, &e) != MC_OK) {
                fprintf(stderr, "bench_mktme: %s\n", e.msg);
                return 3;
            }
        for (int rep = 0; rep < 3; rep++) {
            double t0 = now(), t1;
            uint64_t bytes = 0;
            do {
                if (mc_machine_copy(m, d_addr, s_addr, size, &f, &e) != MC_OK) {
                    fprintf(stderr, "bench_mktme: %s\n", e.msg);
                    return 3;
                }
                bytes += size;
                t1 = now();
            } while (t1 - t0 < secs / 3);
            double r = (double)bytes / (t1 - t0) / 1e6;
            if (r > mbs[c])
                mbs[c] = r;
        }
    }
    if (json) {
        struct mc_json j;
        mc_json_begin(&j, stdout);
        mc_json_obj(&j, NULL);
        mc_json_str(&j, "bench", "mktme");
        mc_json_u64(&j, "copy_bytes", size);
        mc_json_str(&j, "engine_impl", mc_engine_impl_name(mc_engine_get_impl(mc_machine_engine(m))));
        mc_json_arr(&j, "results");
        for (int c = 0; c < 4; c++) {
            mc_json_obj(&j, NULL);
            mc_json_str(&j, "case", cases[c].name);
            mc_json_u64(&j, "keyid", cases[c].keyid);
            mc_json_double(&j, "copy_mb_per_s", mbs[c]);
            mc_json_end(&j);
        }
        mc_json_end(&j);
        mc_json_finish(&j);
    } else {
        printf("bench_mktme: %llu MiB copies through the memory controller (engine %s), best of 3\n",
               (unsigned long long)mib, mc_engine_impl_name(mc_engine_get_impl(mc_machine_engine(m))));
        for (int c = 0; c < 4; c++)
            printf("  %-10s KeyID %u  %8.1f MB/s copied\n", cases[c].name, cases[c].keyid, mbs[c]);
    }
    free(buf);
    mc_board_destroy(b);
    return 0;
}
