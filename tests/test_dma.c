/* DMA views: a device with C=1 (host key), with C=0 (raw DRAM), a 32-bit device that cannot
 * express the C-bit and needs a bounce buffer, and TSME (devices see plaintext). */
#include <memcrypt/board.h>
#include <memcrypt/bytes.h>
#include <memcrypt/dma.h>
#include <memcrypt/machine.h>
#include <memcrypt/pconfig.h>
#include <memcrypt/tme.h>

#include "check.h"
#include "crypto/xts.h"

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
    CHECK(mc_dma_init(&dev64, mc_machine_memctl(m), 64, &e) == MC_OK);
    CHECK(mc_dma_init(&dev32, mc_machine_memctl(m), 32, &e) == MC_OK);
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
    CHECK(mc_dma_bounce_to_device(mc_machine_memctl(m), C | 0x400000, 0x10000, 64, &e) == MC_OK);
    CHECK(mc_dma_read(&dev32, 0x10000, b, 64, NULL, &e) == MC_OK && !memcmp(b, msg, 64));
    /* Device writes into the bounce buffer; the CPU copies it into the encrypted page. */
    const char in[64] = "data the device produced";
    CHECK(mc_dma_write(&dev32, 0x10000, in, 64, NULL, &e) == MC_OK);
    CHECK(mc_dma_bounce_from_device(mc_machine_memctl(m), 0x10000, C | 0x401000, 64, &e) == MC_OK);
    CHECK(mc_machine_phys_read(m, C | 0x401000, b, 64, NULL, NULL) == MC_OK && !memcmp(b, in, 64));
    CHECK(mc_dram_read(mc_machine_dram(m), 0x401000, raw, 64, NULL) == MC_OK && memcmp(raw, in, 64) != 0);
    /* Bad input. */
    struct mc_fault f;
    CHECK(mc_dma_init(&dev32, mc_machine_memctl(m), 8, &e) == MC_E_RANGE);
    CHECK(mc_dma_read(&dev64, 1ull << 50, b, 8, &f, &e) == MC_E_FAULT && f.kind == MC_FAULT_GP);
    CHECK(mc_dma_read(&dev64, 0x400000, NULL, 8, &f, &e) == MC_E_INVAL);
    CHECK(mc_dma_read(&dev64, 0x400000, b, 0, &f, &e) == MC_E_INVAL);
    CHECK(mc_dma_read(&dev32, 0xFFFFFFF0, b, 32, &f, &e) == MC_E_RANGE);
    CHECK(mc_dma_bounce_to_device(mc_machine_memctl(m), C | 0x400000, 0x7FFFFF0, 64, &e) == MC_E_RANGE);
    /* Ranges that wrap around 2^64 and empty or NULL arguments are refused before any access. */
    CHECK(mc_dma_bounce_to_device(mc_machine_memctl(m), ~0ull - 8, 0x10000, 64, &e) == MC_E_RANGE);
    CHECK(mc_dma_bounce_from_device(mc_machine_memctl(m), ~0ull - 8, 0x401000, 64, &e) == MC_E_RANGE);
    CHECK(mc_dma_bounce_from_device(mc_machine_memctl(m), 0x10000, 0x401000, 0, &e) == MC_E_INVAL);
    CHECK(mc_dma_bounce_from_device(NULL, 0x10000, 0x401000, 64, &e) == MC_E_INVAL);
    CHECK(mc_dma_read(NULL, 0x400000, b, 8, &f, &e) == MC_E_INVAL);
    CHECK(!mc_dma_reachable(&dev64, ~0ull, 2) && !mc_dma_needs_bounce(NULL));
    mc_machine_destroy(m);
}

static void test_tsme_device(void)
{
    struct mc_machine *m = mk("milan", 1);
    const char msg[32] = "TSME: devices see plaintext";
    CHECK(mc_machine_phys_write(m, 0x2000, msg, 32, NULL, NULL) == MC_OK);
    CHECK(mc_machine_wbinvd(m, NULL) == MC_OK);
    struct mc_dma_port d;
    CHECK(mc_dma_init(&d, mc_machine_memctl(m), 32, NULL) == MC_OK);
    CHECK(!mc_dma_needs_bounce(&d));
    uint8_t b[32], raw[32];
    CHECK(mc_dma_read(&d, 0x2000, b, 32, NULL, NULL) == MC_OK && !memcmp(b, msg, 32));
    CHECK(mc_dram_read(mc_machine_dram(m), 0x2000, raw, 32, NULL) == MC_OK && memcmp(raw, msg, 32) != 0);
    mc_machine_destroy(m);
}

/* PCONFIG DIRECT (AES-XTS-128) or NO_ENCRYPT for keyid, structure at 0x1000 (paging off). */
static void program(struct mc_board *bd, uint16_t keyid, uint8_t cmd, const uint8_t key[32])
{
    struct mc_mktme_key_program kp;
    memset(&kp, 0, sizeof kp);
    kp.keyid = keyid;
    kp.command = cmd;
    kp.alg = MC_MKTME_ALG_AES_XTS_128;
    if (key) {
        memcpy(kp.key_field_1, key, 16);
        memcpy(kp.key_field_2, key + 16, 16);
    }
    uint8_t raw[MC_MKTME_KP_SIZE];
    mc_mktme_kp_encode(&kp, raw);
    CHECK(mc_machine_phys_write(mc_board_machine(bd), 0x1000, raw, sizeof raw, NULL, NULL) == MC_OK);
    struct mc_pconfig_cpu cpu;
    memset(&cpu, 0, sizeof cpu);
    cpu.rbx = 0x1000;
    struct mc_tme_event ev;
    CHECK(mc_board_pconfig(bd, &cpu, &ev, NULL) == MC_OK && cpu.rax == 0);
}

/* MKTME: KeyIDs on DMA addresses. A device issuing the VM's KeyID goes through that KeyID's
 * key (coherent with the CPU's lines of the same KeyID); through KeyID 0 it sees the VM's page
 * decrypted with the TME key (garbage); a device whose mask stops below the KeyID bits can only
 * use KeyID 0. DRAM bytes of a device write are checked against OpenSSL's AES-XTS. */
static void test_mktme_keyids(void)
{
    struct mc_board_config bc;
    CHECK(mc_board_config_init(&bc, "sapphire-rapids", NULL) == MC_OK);
    bc.machine.dram_size = 8u << 20;
    bc.machine.seed = (const uint8_t *)"dma";
    bc.machine.seed_len = 3;
    struct mc_board *bd = NULL;
    CHECK(mc_board_create(&bc, &bd, NULL) == MC_OK);
    struct mc_machine *m = mc_board_machine(bd);
    struct mc_tme *t = mc_board_tme(bd);
    uint8_t key[32];
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)(0x40 + 3 * i);
    program(bd, 1, MC_PCONFIG_KEYID_SET_KEY_DIRECT, key);
    program(bd, 2, MC_PCONFIG_KEYID_NO_ENCRYPT, NULL);
    const unsigned shift = mc_tme_keyid_shift(t); /* 46 */
    const uint64_t K1 = 1ull << shift, K2 = 2ull << shift, pa = 0x300000;
    struct mc_dma_port dev64, dev46, dev47, dev32;
    struct mc_error e;
    CHECK(mc_dma_init(&dev64, mc_machine_memctl(m), 64, &e) == MC_OK);
    CHECK(mc_dma_init(&dev46, mc_machine_memctl(m), 46, &e) == MC_OK);
    CHECK(mc_dma_init(&dev47, mc_machine_memctl(m), 47, &e) == MC_OK);
    CHECK(mc_dma_init(&dev32, mc_machine_memctl(m), 32, &e) == MC_OK);
    CHECK(mc_dma_max_keyid(&dev64) == 63 && mc_dma_max_keyid(&dev46) == 0 && mc_dma_max_keyid(&dev47) == 1);
    CHECK(mc_dma_max_keyid(&dev32) == 0 && mc_dma_max_keyid(NULL) == 0);

    const char msg[64] = "VM page written by the CPU through KeyID 1";
    CHECK(mc_machine_phys_write(m, K1 | pa, msg, 64, NULL, NULL) == MC_OK);
    uint8_t b[64], raw[64], want[64], iv[16] = {0};
    /* Same KeyID: the device gets the CPU's (still cached) line. */
    CHECK(mc_dma_read(&dev64, K1 | pa, b, 64, NULL, &e) == MC_OK && !memcmp(b, msg, 64));
    CHECK(mc_dma_read(&dev47, K1 | pa, b, 64, NULL, &e) == MC_OK && !memcmp(b, msg, 64));
    /* KeyID 0: DRAM decrypted with the TME key — neither the plaintext nor the DRAM bytes. */
    CHECK(mc_machine_wbinvd(m, NULL) == MC_OK);
    CHECK(mc_dma_read(&dev64, pa, b, 64, NULL, &e) == MC_OK);
    CHECK(mc_dram_read(mc_machine_dram(m), pa, raw, 64, NULL) == MC_OK);
    CHECK(memcmp(b, msg, 64) != 0 && memcmp(b, raw, 64) != 0);
    /* A 46-bit device cannot put KeyID 1 on the bus. */
    CHECK(mc_dma_read(&dev46, K1 | pa, b, 64, NULL, &e) == MC_E_RANGE);
    CHECK(mc_dma_read(&dev46, pa, b, 64, NULL, &e) == MC_OK && memcmp(b, msg, 64) != 0);
    /* Device writes through KeyID 1: DRAM = AES-XTS-128(key, tweak = LE128(pa)) per OpenSSL. */
    const char in[64] = "network packet DMA'd into the VM's buffer";
    CHECK(mc_dma_write(&dev64, K1 | (pa + 0x40), in, 64, NULL, &e) == MC_OK);
    CHECK(mc_machine_phys_read(m, K1 | (pa + 0x40), b, 64, NULL, NULL) == MC_OK && !memcmp(b, in, 64));
    CHECK(mc_machine_wbinvd(m, NULL) == MC_OK);
    CHECK(mc_dram_read(mc_machine_dram(m), pa + 0x40, raw, 64, NULL) == MC_OK);
    mc_put_le64(iv, pa + 0x40);
    CHECK(mc_xts_evp(128, key, 0, iv, (const uint8_t *)in, want, 64, NULL) == MC_OK);
    CHECK(!memcmp(raw, want, 64));
    /* NO_ENCRYPT KeyID 2: what the device writes is what DRAM holds. */
    CHECK(mc_dma_write(&dev64, K2 | 0x310000, in, 64, NULL, &e) == MC_OK);
    CHECK(mc_machine_wbinvd(m, NULL) == MC_OK);
    CHECK(mc_dram_read(mc_machine_dram(m), 0x310000, raw, 64, NULL) == MC_OK && !memcmp(raw, in, 64));
    /* Bits at or above MAXPHYADDR (52) are not an address: #GP, nothing written. */
    struct mc_fault f;
    CHECK(mc_dma_write(&dev64, (1ull << 52) | pa, in, 64, &f, &e) == MC_E_FAULT && f.kind == MC_FAULT_GP);
    CHECK(mc_machine_phys_read(m, K1 | pa, b, 64, NULL, NULL) == MC_OK && !memcmp(b, msg, 64));
    mc_board_destroy(bd);
}

int main(void)
{
    RUN(test_views);
    RUN(test_mktme_keyids);
    RUN(test_tsme_device);
    return check_summary();
}
