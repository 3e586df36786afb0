/* DMA views: a device with C=1 (host key), with C=0 (raw DRAM), a 32-bit device that cannot
 * express the C-bit and needs a bounce buffer, and TSME (devices see plaintext). */
#include <memcrypt/dma.h>
#include <memcrypt/machine.h>

#include "check.h"

static struct mc_machine *mk(const char *plat, int tsme)
{
    struct mc_machine_config c;
    mc_machine_config_init(&c);
    c.platform = plat;
    c.dram_size = 8u << 20;
    c.seed = (const uint8_t *)"dma";
    c.seed_len = 3;
    c.bios.tsme = tsme;
    struct mc_machine *m = NULL;
    CHECK(mc_machine_create(&c, &m, NULL) == MC_OK);
    return m;
}

static void test_views(void)
{
    struct mc_machine *m = mk("rome", -1);
    const uint64_t C = 1ull << 47;
    const char msg[64] = "page written by the CPU through an encrypted (C=1) mapping";
    CHECK(mc_machine_phys_write(m, C | 0x400000, msg, 64, NULL, NULL) == MC_OK);
    struct mc_dma_port dev64, dev32;
    struct mc_error e;
    CHECK(mc_dma_init(&dev64, mc_machine_mc(m), 64, &e) == MC_OK);
    CHECK(mc_dma_init(&dev32, mc_machine_mc(m), 32, &e) == MC_OK);
    CHECK(!mc_dma_needs_bounce(&dev64) && mc_dma_needs_bounce(&dev32));
    uint8_t b[64], raw[64];
    /* C=1: decrypted with the host key (and coherent with the CPU's C=1 lines). */
    CHECK(mc_dma_read(&dev64, C | 0x400000, b, 64, NULL, &e) == MC_OK && !memcmp(b, msg, 64));
    /* C=0: raw DRAM (ciphertext once written back). */
    CHECK(mc_machine_wbinvd(m, NULL) == MC_OK);
    CHECK(mc_dma_read(&dev64, 0x400000, b, 64, NULL, &e) == MC_OK);
    CHECK(mc_dram_read(mc_machine_dram(m), 0x400000, raw, 64, NULL) == MC_OK);
    CHECK(!memcmp(b, raw, 64) && memcmp(b, msg, 64) != 0);
    /* 32-bit device: cannot emit the C-bit. */
    CHECK(mc_dma_read(&dev32, C | 0x400000, b, 64, NULL, &e) == MC_E_RANGE);
    CHECK(mc_dma_read(&dev32, 0x400000, b, 64, NULL, &e) == MC_OK && memcmp(b, msg, 64) != 0);
    /* Bounce: CPU copies the encrypted page into a C=0 buffer at 0x10000; the device reads it. */
    CHECK(mc_dma_bounce_to_device(mc_machine_mc(m), C | 0x400000, 0x10000, 64, &e) == MC_OK);
    CHECK(mc_dma_read(&dev32, 0x10000, b, 64, NULL, &e) == MC_OK && !memcmp(b, msg, 64));
    /* Device writes into the bounce buffer; the CPU copies it into the encrypted page. */
    const char in[64] = "data the device produced";
    CHECK(mc_dma_write(&dev32, 0x10000, in, 64, NULL, &e) == MC_OK);
    CHECK(mc_dma_bounce_from_device(mc_machine_mc(m), 0x10000, C | 0x401000, 64, &e) == MC_OK);
    CHECK(mc_machine_phys_read(m, C | 0x401000, b, 64, NULL, NULL) == MC_OK && !memcmp(b, in, 64));
    CHECK(mc_dram_read(mc_machine_dram(m), 0x401000, raw, 64, NULL) == MC_OK && memcmp(raw, in, 64) != 0);
    /* Bad input. */
    struct mc_fault f;
    CHECK(mc_dma_init(&dev32, mc_machine_mc(m), 8, &e) == MC_E_RANGE);
    CHECK(mc_dma_read(&dev64, 1ull << 50, b, 8, &f, &e) == MC_E_FAULT && f.kind == MC_FAULT_GP);
    CHECK(mc_dma_read(&dev64, 0x400000, NULL, 8, &f, &e) == MC_E_INVAL);
    CHECK(mc_dma_read(&dev64, 0x400000, b, 0, &f, &e) == MC_E_INVAL);
    CHECK(mc_dma_read(&dev32, 0xFFFFFFF0, b, 32, &f, &e) == MC_E_RANGE);
    CHECK(mc_dma_bounce_to_device(mc_machine_mc(m), C | 0x400000, 0x7FFFFF0, 64, &e) == MC_E_RANGE);
    mc_machine_destroy(m);
}

static void test_tsme_device(void)
{
    struct mc_machine *m = mk("milan", 1);
    const char msg[32] = "TSME: devices see plaintext";
    CHECK(mc_machine_phys_write(m, 0x2000, msg, 32, NULL, NULL) == MC_OK);
    CHECK(mc_machine_wbinvd(m, NULL) == MC_OK);
    struct mc_dma_port d;
    CHECK(mc_dma_init(&d, mc_machine_mc(m), 32, NULL) == MC_OK);
    CHECK(!mc_dma_needs_bounce(&d));
    uint8_t b[32], raw[32];
    CHECK(mc_dma_read(&d, 0x2000, b, 32, NULL, NULL) == MC_OK && !memcmp(b, msg, 32));
    CHECK(mc_dram_read(mc_machine_dram(m), 0x2000, raw, 32, NULL) == MC_OK && memcmp(raw, msg, 32) != 0);
    mc_machine_destroy(m);
}

int main(void)
{
    RUN(test_views);
    RUN(test_tsme_device);
    return check_summary();
}
