/* A /dev/sev-guest client written only against the kernel's <linux/sev-guest.h>, doing what snpguest
 * does inside an SEV-SNP guest (a report with report data, a derived key with its field select,
 * the extended report with the host's certificates), plus the hostile calls the driver must
 * survive. It knows nothing of memcrypt: tests run it under `memcrypt exec --guest`, and it would
 * run the same inside a real SNP guest.
 *
 *   sev_guest report HEX64 [FILE]          report for report data HEX64 (the raw 0x4A0-byte report
 *                                          to FILE); prints status, size, MEASUREMENT, REPORT_DATA
 *   sev_guest key ROOT VMPL GFS SVN TCB    derived key (ROOT 0 VCEK, 1 VMRK); prints status and key
 *   sev_guest ext-report HEX64 DIR         asks for the certificate length first (certs_len 0), then
 *                                          the report and the table: DIR/report.bin, DIR/certs.bin,
 *                                          and one line per table entry (GUID, offset, length)
 *   sev_guest hostile                      every bad call; one line per check, exit 1 on a mismatch
 *   sev_guest wrong-version                msg_version 2 (the firmware refuses it: VMPCK0 wiped)
 *   sev_guest loop N                       N reports (concurrency and speed tests)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/sev-guest.h>

#define DEV "/dev/sev-guest"
#define REPORT_LEN 0x4A0
#define VMM_INVALID_LEN (1ull << 32) /* SNP_GUEST_VMM_ERR(SNP_GUEST_VMM_ERR_INVALID_LEN) */

static int dev_open(void)
{
    int fd = open(DEV, O_RDWR);
    if (fd < 0) {
        fprintf(stderr, "sev_guest: %s: %s\n", DEV, strerror(errno));
        exit(3);
    }
    return fd;
}

static int request(int fd, unsigned long nr, void *req, void *resp, uint64_t *exitinfo2, uint8_t version)
{
    struct snp_guest_request_ioctl g = {.msg_version = version, .req_data = (uintptr_t)req, .resp_data = (uintptr_t)resp};
    int rc = ioctl(fd, nr, &g);
    if (exitinfo2)
        *exitinfo2 = g.exitinfo2;
    return rc < 0 ? errno : 0;
}

static void hex(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        printf("%02x", b[i]);
}

static int unhex(const char *s, uint8_t *out, size_t n)
{
    if (strlen(s) != 2 * n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (uint8_t)v;
    }
    return 0;
}

static int write_file(const char *path, const void *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b, 1, n, f) != n) {
        if (f)
            fclose(f);
        return -1;
    }
    return fclose(f);
}

/* MSG_REPORT_RSP: u32 status, u32 report size, 24 reserved bytes, the report. */
static void show_report(const uint8_t *rsp)
{
    uint32_t status, size;
    memcpy(&status, rsp, 4);
    memcpy(&size, rsp + 4, 4);
    printf("status %u size %u\n", status, size);
    if (status == 0 && size >= REPORT_LEN) {
        printf("measurement ");
        hex(rsp + 0x20 + 0x90, 48);
        printf("\nreport_data ");
        hex(rsp + 0x20 + 0x50, 64);
        printf("\nhost_data ");
        hex(rsp + 0x20 + 0xC0, 32);
        printf("\n");
    }
}

static int cmd_report(const char *data, const char *out)
{
    struct snp_report_req req = {0};
    struct snp_report_resp resp;
    if (unhex(data, req.user_data, 64))
        return 2;
    int fd = dev_open();
    uint64_t e2 = 0;
    int rc = request(fd, SNP_GET_REPORT, &req, &resp, &e2, 1);
    if (rc) {
        printf("SNP_GET_REPORT: %s (exitinfo2 0x%llx)\n", strerror(rc), (unsigned long long)e2);
        return 1;
    }
    show_report(resp.data);
    if (out && write_file(out, resp.data + 0x20, REPORT_LEN))
        return 1;
    close(fd);
    return 0;
}

static int cmd_key(char **a)
{
    struct snp_derived_key_req req = {.root_key_select = (uint32_t)strtoul(a[0], NULL, 0),
                                      .vmpl = (uint32_t)strtoul(a[1], NULL, 0),
                                      .guest_field_select = strtoull(a[2], NULL, 0),
                                      .guest_svn = (uint32_t)strtoul(a[3], NULL, 0),
                                      .tcb_version = strtoull(a[4], NULL, 0)};
    struct snp_derived_key_resp resp;
    int fd = dev_open();
    uint64_t e2 = 0;
    int rc = request(fd, SNP_GET_DERIVED_KEY, &req, &resp, &e2, 1);
    if (rc) {
        printf("SNP_GET_DERIVED_KEY: %s (exitinfo2 0x%llx)\n", strerror(rc), (unsigned long long)e2);
        return 1;
    }
    uint32_t status;
    memcpy(&status, resp.data, 4);
    printf("status %u key ", status);
    hex(resp.data + 0x20, 32);
    printf("\n");
    close(fd);
    return 0;
}

static int cmd_ext_report(const char *data, const char *dir)
{
    struct snp_ext_report_req req = {0};
    struct snp_report_resp resp;
    if (unhex(data, req.data.user_data, 64))
        return 2;
    int fd = dev_open();
    uint64_t e2 = 0;
    /* snpguest: first without a buffer, to learn the length. */
    int rc = request(fd, SNP_GET_EXT_REPORT, &req, &resp, &e2, 1);
    printf("query: %s exitinfo2 0x%llx certs_len %u\n", rc ? strerror(rc) : "success", (unsigned long long)e2,
           req.certs_len);
    if (rc != EIO || e2 != VMM_INVALID_LEN || req.certs_len == 0 || req.certs_len % 4096)
        return 1;
    void *certs = aligned_alloc(4096, req.certs_len);
    req.certs_address = (uintptr_t)certs;
    rc = request(fd, SNP_GET_EXT_REPORT, &req, &resp, &e2, 1);
    if (rc) {
        printf("SNP_GET_EXT_REPORT: %s (exitinfo2 0x%llx)\n", strerror(rc), (unsigned long long)e2);
        return 1;
    }
    show_report(resp.data);
    char p[4096];
    snprintf(p, sizeof p, "%s/report.bin", dir);
    if (write_file(p, resp.data + 0x20, REPORT_LEN))
        return 1;
    snprintf(p, sizeof p, "%s/certs.bin", dir);
    if (write_file(p, certs, req.certs_len))
        return 1;
    /* The GUID table: 16-byte GUID (RFC 4122 byte order), u32 offset, u32 length; all-zero ends. */
    const uint8_t *t = certs;
    for (size_t i = 0; (i + 1) * 24 <= req.certs_len; i++) {
        const uint8_t *e = t + 24 * i;
        uint32_t off, len;
        memcpy(&off, e + 16, 4);
        memcpy(&len, e + 20, 4);
        static const uint8_t zero[24];
        if (!memcmp(e, zero, 24))
            break;
        printf("cert %02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x offset %u length %u\n", e[0],
               e[1], e[2], e[3], e[4], e[5], e[6], e[7], e[8], e[9], e[10], e[11], e[12], e[13], e[14], e[15], off, len);
    }
    free(certs);
    close(fd);
    return 0;
}

/* ---- hostile calls --------------------------------------------------------------------------- */

static int bad;

static void expect(const char *what, int got, int want)
{
    printf("%-62s %s (%s)\n", what, got == want ? "ok" : "MISMATCH", got ? strerror(got) : "success");
    if (got != want) {
        printf("    expected %s\n", want ? strerror(want) : "success");
        bad = 1;
    }
}

static void expect_u64(const char *what, uint64_t got, uint64_t want)
{
    printf("%-62s %s (0x%llx)\n", what, got == want ? "ok" : "MISMATCH", (unsigned long long)got);
    if (got != want) {
        printf("    expected 0x%llx\n", (unsigned long long)want);
        bad = 1;
    }
}

static int raw_ioctl(int fd, unsigned long nr, void *arg) { return ioctl(fd, nr, arg) < 0 ? errno : 0; }

static int cmd_hostile(void)
{
    long pg = sysconf(_SC_PAGESIZE);
    int fd = dev_open();
    uint8_t *none = mmap(NULL, (size_t)pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint8_t *rdonly = mmap(NULL, (size_t)pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (none == MAP_FAILED || rdonly == MAP_FAILED)
        return 3;
    struct snp_report_req req = {0};
    struct snp_report_resp resp;
    struct snp_guest_request_ioctl g;
    struct stat st;
    expect("fstat: a character device", fstat(fd, &st) ? errno : (S_ISCHR(st.st_mode) ? 0 : ENOTTY), 0);

    /* Numbers the driver does not know: -ENOTTY, exitinfo2 0xff written back. */
    memset(&g, 0, sizeof g);
    g.msg_version = 1;
    g.req_data = (uintptr_t)&req;
    g.resp_data = (uintptr_t)&resp;
    expect("unknown ioctl 'S' 3", raw_ioctl(fd, _IOWR('S', 0x3, struct snp_guest_request_ioctl), &g), ENOTTY);
    expect_u64("  exitinfo2 written back", g.exitinfo2, 0xff);
    g.exitinfo2 = 0;
    expect("SNP_GET_REPORT encoded with a short structure",
           raw_ioctl(fd, _IOWR('S', 0x0, struct { uint8_t v; uint64_t a; }), &g), ENOTTY);
    expect("a /dev/sev number on /dev/sev-guest", raw_ioctl(fd, _IOWR('S', 0x0, uint64_t[2]), &g), ENOTTY);
    /* The argument itself. */
    expect("argument pointer NULL", raw_ioctl(fd, SNP_GET_REPORT, NULL), EFAULT);
    expect("argument pointer unreadable", raw_ioctl(fd, SNP_GET_REPORT, none), EFAULT);
    memset(&g, 0, sizeof g);
    g.req_data = (uintptr_t)&req;
    g.resp_data = (uintptr_t)&resp;
    g.exitinfo2 = 0x1234;
    expect("msg_version 0", raw_ioctl(fd, SNP_GET_REPORT, &g), EINVAL);
    expect_u64("  nothing written back", g.exitinfo2, 0x1234);
    g.msg_version = 1;
    g.req_data = 0;
    expect("req_data NULL", raw_ioctl(fd, SNP_GET_REPORT, &g), EINVAL);
    expect_u64("  exitinfo2 0xff written back", g.exitinfo2, 0xff);
    g.req_data = (uintptr_t)&req;
    g.resp_data = 0;
    expect("resp_data NULL (derived key)", raw_ioctl(fd, SNP_GET_DERIVED_KEY, &g), EINVAL);
    g.req_data = (uintptr_t)none;
    g.resp_data = (uintptr_t)&resp;
    expect("req_data unreadable", raw_ioctl(fd, SNP_GET_REPORT, &g), EFAULT);
    g.req_data = (uintptr_t)(none + pg - 8); /* the structure runs into the page */
    expect("req_data straddles an unreadable page", raw_ioctl(fd, SNP_GET_REPORT, &g), EFAULT);
    g.req_data = (uintptr_t)&req;
    g.resp_data = (uintptr_t)rdonly;
    g.exitinfo2 = 0x1234;
    expect("resp_data read-only (the request ran, the copy fails)", raw_ioctl(fd, SNP_GET_REPORT, &g), EFAULT);
    expect_u64("  exitinfo2 not written back (it is 0)", g.exitinfo2, 0x1234);
    /* A good request still works (the sequence numbers moved on in step). */
    expect("SNP_GET_REPORT after the failures", request(fd, SNP_GET_REPORT, &req, &resp, NULL, 1), 0);
    /* The extended request's certificate buffer. */
    struct snp_ext_report_req x = {0};
    void *certs = aligned_alloc(4096, 0x4000);
    uint64_t e2 = 0;
    x.certs_address = (uintptr_t)certs;
    x.certs_len = 100;
    expect("certs_len not a page multiple", request(fd, SNP_GET_EXT_REPORT, &x, &resp, NULL, 1), EINVAL);
    x.certs_len = 0x5000;
    expect("certs_len above 16 KiB", request(fd, SNP_GET_EXT_REPORT, &x, &resp, NULL, 1), EINVAL);
    x.certs_len = 0x1000;
    x.certs_address = 0xFFFF800000000000ull;
    expect("certs_address in the kernel's half", request(fd, SNP_GET_EXT_REPORT, &x, &resp, NULL, 1), EFAULT);
    x.certs_address = (uintptr_t)certs;
    x.certs_len = 0x1000;
    int rc = request(fd, SNP_GET_EXT_REPORT, &x, &resp, &e2, 1);
    expect("certificate buffer too small", rc, EIO);
    expect_u64("  exitinfo2 = SNP_GUEST_VMM_ERR(INVALID_LEN)", e2, VMM_INVALID_LEN);
    expect("  certs_len = the length needed (pages)", x.certs_len > 0x1000 && x.certs_len % 4096 == 0 ? 0 : EINVAL, 0);
    rc = request(fd, SNP_GET_EXT_REPORT, &x, &resp, &e2, 1);
    expect("the length it asked for", rc, 0);
    expect("  VMPCK0 kept, the sequence numbers in step", request(fd, SNP_GET_REPORT, &req, &resp, NULL, 1), 0);
    x.certs_address = (uintptr_t)none;
    x.certs_len = 0x4000;
    expect("certs_address unwritable (after the request)", request(fd, SNP_GET_EXT_REPORT, &x, &resp, NULL, 1), EFAULT);
    /* A field select the firmware refuses is a STATUS in the response, not an error. */
    struct snp_derived_key_req kq = {.guest_field_select = 1ull << 63};
    struct snp_derived_key_resp kr;
    rc = request(fd, SNP_GET_DERIVED_KEY, &kq, &kr, NULL, 1);
    uint32_t status = 0;
    memcpy(&status, kr.data, 4);
    expect("GUEST_FIELD_SELECT bit 63: the call succeeds", rc, 0);
    expect_u64("  MSG_KEY_RSP STATUS is INVALID_PARAM", status, 0x16);
    expect("and the next request works", request(fd, SNP_GET_REPORT, &req, &resp, NULL, 1), 0);
    free(certs);
    close(fd);
    return bad;
}

static int cmd_wrong_version(void)
{
    struct snp_report_req req = {0};
    struct snp_report_resp resp;
    int fd = dev_open();
    uint64_t e2 = 0;
    int rc = request(fd, SNP_GET_REPORT, &req, &resp, &e2, 2);
    printf("version 2: %s exitinfo2 0x%llx\n", rc ? strerror(rc) : "success", (unsigned long long)e2);
    rc = request(fd, SNP_GET_REPORT, &req, &resp, &e2, 1);
    printf("then: %s\n", rc ? strerror(rc) : "success");
    close(fd);
    return 0;
}

static int cmd_loop(long n)
{
    struct snp_report_req req = {0};
    struct snp_report_resp resp;
    int fd = dev_open();
    for (long i = 0; i < n; i++) {
        memcpy(req.user_data, &i, sizeof i);
        int rc = request(fd, SNP_GET_REPORT, &req, &resp, NULL, 1);
        if (rc) {
            printf("report %ld: %s\n", i, strerror(rc));
            return 1;
        }
        if (memcmp(resp.data + 0x20 + 0x50, &i, sizeof i) != 0) {
            printf("report %ld: another request's report data\n", i);
            return 1;
        }
    }
    close(fd);
    printf("%ld reports\n", n);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && !strcmp(argv[1], "report"))
        return cmd_report(argv[2], argc > 3 ? argv[3] : NULL);
    if (argc == 7 && !strcmp(argv[1], "key"))
        return cmd_key(argv + 2);
    if (argc == 4 && !strcmp(argv[1], "ext-report"))
        return cmd_ext_report(argv[2], argv[3]);
    if (argc == 2 && !strcmp(argv[1], "hostile"))
        return cmd_hostile();
    if (argc == 2 && !strcmp(argv[1], "wrong-version"))
        return cmd_wrong_version();
    if (argc == 3 && !strcmp(argv[1], "loop"))
        return cmd_loop(strtol(argv[2], NULL, 10));
    fprintf(stderr, "usage: sev_guest report HEX64 [FILE] | key ROOT VMPL GFS SVN TCB | ext-report HEX64 DIR | "
                    "hostile | wrong-version | loop N\n");
    return 2;
}
