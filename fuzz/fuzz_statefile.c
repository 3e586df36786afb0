/* Fuzz target: the firmware's persistent state. The input is used (1) as the state file a new
 * firmware loads and (2) as the INIT_EX NV area in DRAM. Either must be refused with a clear
 * error (MC_E_FORMAT / SECURE_DATA_INVALID) or accepted; never a crash, and a refused INIT_EX
 * leaves the firmware unchanged. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <memcrypt/bytes.h>
#include <memcrypt/fileio.h>
#include <memcrypt/machine.h>
#include <memcrypt/psp.h>
#include <memcrypt/vm.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/mc-fuzz-statefile-%d.state", (int)getpid());
    struct mc_machine *m;
    struct mc_machine_config mc;
    mc_machine_config_init(&mc);
    mc.platform = "rome";
    mc.dram_size = 1ull << 20;
    mc.seed = (const uint8_t *)"fuzz";
    mc.seed_len = 4;
    if (mc_machine_create(&mc, &m, NULL))
        return 0;
    struct mc_sev_port port;
    struct mc_psp_mem mem;
    struct mc_psp_config cfg;
    mc_sev_port_init(&port, mc_machine_mc(m), &mem);
    mc_psp_config_from_profile(mc_machine_profile(m), &cfg, NULL);
    cfg.root_bits = 2048;
    struct mc_psp *psp = NULL;
    struct mc_error e;
    /* (1) as a state file */
    if (mc_file_write_atomic(path, data, size, NULL) == MC_OK) {
        cfg.state_path = path;
        if (mc_psp_create(&cfg, &mem, mc_machine_rng(m), &psp, &e) == MC_OK)
            mc_psp_destroy(psp);
        else if (e.msg[0] == 0)
            abort(); /* every refusal says why */
        psp = NULL;
        unlink(path);
    }
    /* (2) as the INIT_EX NV area */
    cfg.state_path = NULL;
    if (mc_psp_create(&cfg, &mem, mc_machine_rng(m), &psp, NULL) == MC_OK) {
        uint8_t nv[0x8000];
        memset(nv, 0xFF, sizeof nv);
        memcpy(nv, data, size < sizeof nv ? size : sizeof nv);
        struct mc_fault f;
        mc_machine_phys_write(m, 0x10000, nv, sizeof nv, &f, NULL);
        uint8_t b[0x24] = {0};
        mc_put_le32(b, 0x24);
        mc_put_le64(b + 0x18, 0x10000);
        mc_put_le32(b + 0x20, 0x8000);
        mc_machine_phys_write(m, 0x1000, b, sizeof b, &f, NULL);
        uint8_t s0[32], s1[32];
        mc_psp_snapshot(psp, s0, NULL);
        uint32_t st;
        mc_psp_command(psp, 0x00D, 0x1000, &st, NULL);
        mc_psp_snapshot(psp, s1, NULL);
        if (st != 0 && memcmp(s0, s1, 32) != 0)
            abort();
        if (st != 0 && st != 0x18)
            abort(); /* a bad NV image is SECURE_DATA_INVALID */
        mc_psp_destroy(psp);
    }
    mc_machine_destroy(m);
    return 0;
}
