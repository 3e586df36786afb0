/* A small program on libmemcrypt: the SEV-SNP launch measurement of a QEMU/KVM guest booted from
 * an OVMF image, as the AMD Secure Processor will report it (the same digest as
 * `memcrypt measure --mode snp`).
 *
 * Build it against the installed library, or against a build tree (memcrypt-uninstalled.pc):
 *     cc snp-measure.c -o snp-measure $(pkg-config --cflags --libs memcrypt)
 *     PKG_CONFIG_PATH=build cc examples/snp-measure.c -o snp-measure $(pkg-config --cflags --libs memcrypt)
 * Run it:
 *     ./snp-measure /usr/share/ovmf/OVMF.fd 4 EPYC-Milan 0x21
 */
#include <stdio.h>
#include <stdlib.h>

#include <memcrypt/fileio.h>
#include <memcrypt/measure.h>
#include <memcrypt/vmsa.h>

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 5) {
        fprintf(stderr, "usage: %s OVMF.fd [VCPUS [VCPU-TYPE [GUEST-FEATURES]]]\n", argv[0]);
        return 2;
    }
    struct mc_error err;
    struct mc_measure_input in = {
        .mode = MC_MEASURE_SNP,
        .vcpus = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 0) : 1,
        .vmm = MC_VMM_QEMU,
        .guest_features = argc > 4 ? strtoull(argv[4], NULL, 0) : 0x1,
    };
    if (mc_vcpu_type_sig(argc > 3 ? argv[3] : "EPYC-Milan", &in.vcpu_sig, &err) != MC_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 2;
    }
    uint8_t *image = NULL;
    size_t image_len = 0;
    if (mc_file_read(argv[1], 64u << 20, &image, &image_len, &err) != MC_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 3;
    }
    in.ovmf = image;
    in.ovmf_len = image_len;
    uint8_t digest[MC_MEASURE_MAX_DIGEST];
    size_t n = 0;
    mc_status st = mc_measure(&in, digest, &n, &err);
    free(image);
    if (st != MC_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 3;
    }
    for (size_t i = 0; i < n; i++)
        printf("%02x", digest[i]);
    printf("\n");
    return 0;
}
