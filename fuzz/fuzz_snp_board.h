/* The platform the SNP guest fuzz targets start from: a Milan board (64 MiB DRAM, 2048-bit emulated
 * roots, an RMP the BIOS reserved) with SNP brought up as the Linux ccp driver does. */
#ifndef FUZZ_SNP_BOARD_H
#define FUZZ_SNP_BOARD_H

#include <string.h>

#include <memcrypt/board.h>

#include "crypto/crypto.h"

static inline mc_status fuzz_snp_board(const char *seed, struct mc_board **out, struct mc_error *e)
{
    mc_crypto_init();
    struct mc_board_config bc;
    mc_status s = mc_board_config_init(&bc, "milan", e);
    if (s)
        return s;
    bc.machine.dram_size = 64ull << 20;
    bc.machine.seed = (const uint8_t *)seed;
    bc.machine.seed_len = strlen(seed);
    bc.fw.root_bits = 2048;
    bc.rmp_size = MC_BOARD_RMP_AUTO;
    if ((s = mc_board_create(&bc, out, e)))
        return s;
    return mc_board_snp_init(*out, NULL, e);
}

#endif
