/* mkkernel — writes the tiny kernel and initrd of the direct-kernel-boot example
 * (examples/direct-kernel/): a bzImage in the format of the Linux x86 boot protocol 2.15
 * (Documentation/arch/x86/boot.rst) whose 32- and 64-bit entry points only halt, and an initrd
 * in the "newc" cpio format holding one file, /init.
 *
 * It is not Linux. It exists so that measured direct kernel boot (kernelHashes='yes': QEMU
 * hashes the kernel, initrd and command line into the firmware's hashes table) can be shown and
 * tested with files the project makes itself, byte for byte the same on every machine.
 *
 * usage: mkkernel BZIMAGE INITRD   (the build writes build/direct-kernel/; the copies in
 *        examples/direct-kernel/ are those bytes, checked by tests/cli_examples.sh)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SETUP_SECTS 1 /* one 512-byte sector of real-mode setup after the boot sector */

static void le16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void le32(uint8_t *p, uint32_t v)
{
    le16(p, (uint16_t)v);
    le16(p + 2, (uint16_t)(v >> 16));
}

static int write_file(const char *path, const uint8_t *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b, 1, n, f) != n || fclose(f) != 0) {
        perror(path);
        return 1;
    }
    return 0;
}

static int bzimage(const char *path)
{
    /* boot sector + setup sectors + the protected-mode kernel (4 KiB) */
    enum { SETUP = (SETUP_SECTS + 1) * 512, KERNEL = 4096 };
    static uint8_t img[SETUP + KERNEL];
    uint8_t *h = img;
    /* Boot sector: the legacy "use a boot loader" stub is not needed; the header fields are. */
    h[0x1F1] = SETUP_SECTS;                 /* setup_sects */
    le16(h + 0x1F2, 1);                     /* root_flags: read-only */
    le32(h + 0x1F4, KERNEL / 16);           /* syssize, in 16-byte paragraphs */
    le16(h + 0x1FA, 0xFFFF);                /* vid_mode: normal */
    le16(h + 0x1FE, 0xAA55);                /* boot_flag */
    h[0x200] = 0xEB;                        /* jump over the header ... */
    h[0x201] = 0x6A;                        /* ... to 0x26C */
    memcpy(h + 0x202, "HdrS", 4);           /* header magic */
    le16(h + 0x206, 0x020F);                /* boot protocol 2.15 */
    le16(h + 0x20E, 0x0270 - 0x200);        /* kernel_version: string at 0x270 */
    h[0x211] = 0x01;                        /* loadflags: LOADED_HIGH */
    le32(h + 0x214, 0x100000);              /* code32_start */
    le32(h + 0x22C, 0x7FFFFFFF);            /* initrd_addr_max */
    le32(h + 0x230, 0x200000);              /* kernel_alignment */
    h[0x234] = 1;                           /* relocatable_kernel */
    h[0x235] = 21;                          /* min_alignment: 2 MiB */
    le16(h + 0x236, 0x0003);                /* xloadflags: KERNEL_64, CAN_BE_LOADED_ABOVE_4G */
    le32(h + 0x238, 2047);                  /* cmdline_size */
    le32(h + 0x260, 0x10000);               /* init_size */
    /* Real-mode setup entry (0x26C): cli; hlt; jmp back to the hlt. */
    static const uint8_t rm[] = {0xFA, 0xF4, 0xEB, 0xFD};
    memcpy(h + 0x26C, rm, sizeof rm);
    static const char version[] = "0.1 (memcrypt tiny test kernel: halts; not Linux)";
    memcpy(h + 0x270, version, sizeof version);
    /* Protected-mode kernel: 32-bit entry at +0, 64-bit entry at +0x200, both cli; hlt; jmp. */
    uint8_t *k = img + SETUP;
    memcpy(k, rm, sizeof rm);
    memcpy(k + 0x200, rm, sizeof rm);
    static const char note[] = "memcrypt tiny test kernel for measured direct kernel boot (kernelHashes)";
    memcpy(k + 0x400, note, sizeof note);
    return write_file(path, img, sizeof img);
}

/* One newc cpio entry (header, name, data, each padded to 4 bytes). */
static size_t cpio_entry(uint8_t *out, unsigned ino, unsigned mode, const char *name, const char *data)
{
    size_t nl = strlen(name) + 1, dl = data ? strlen(data) : 0;
    char hdr[128];
    snprintf(hdr, sizeof hdr, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", ino, mode, 0u, 0u, 1u,
             0u, (unsigned)dl, 0u, 0u, 0u, 0u, (unsigned)nl, 0u);
    size_t n = 0;
    memcpy(out, hdr, 110);
    n = 110;
    memcpy(out + n, name, nl);
    n += nl;
    while (n % 4)
        out[n++] = 0;
    if (dl) {
        memcpy(out + n, data, dl);
        n += dl;
        while (n % 4)
            out[n++] = 0;
    }
    return n;
}

static int initrd(const char *path)
{
    static uint8_t buf[4096];
    size_t n = 0;
    n += cpio_entry(buf + n, 1, 0100755, "init",
                    "#!/bin/sh\n# The initrd of memcrypt's tiny test kernel (examples/direct-kernel).\n"
                    "echo 'measured direct kernel boot: this initrd is covered by the launch measurement'\n");
    n += cpio_entry(buf + n, 0, 0, "TRAILER!!!", NULL);
    while (n % 512)
        buf[n++] = 0;
    return write_file(path, buf, n);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s BZIMAGE INITRD\n", argv[0]);
        return 2;
    }
    return bzimage(argv[1]) || initrd(argv[2]);
}
