/* A folder lister written against the C library only, as programs list configfs-tsm folders:
 *   tsm_ls getdents DIR   open(O_DIRECTORY) + getdents64 with a small buffer (several calls), then
 *                         lseek(0) and the whole listing again; "NAME TYPE" per entry (d, f, ?)
 *   tsm_ls readdir DIR    opendir/readdir; telldir after the 3rd entry, seekdir back, rewinddir;
 *                         fdopendir of an open(O_DIRECTORY) descriptor, dirfd + fstat
 *   tsm_ls errors DIR FILE  what the kernel refuses: read of a folder (EISDIR), open for writing
 *                         (EISDIR), getdents64 with a 16-byte buffer (EINVAL), getdents64 and
 *                         opendir on an attribute (ENOTDIR), opendir of a missing folder (ENOENT)
 * Exit 0 when every call behaved as printed; the shell test compares the output. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char type_of(unsigned char t) { return t == DT_DIR ? 'd' : t == DT_REG ? 'f' : '?'; }

static int list_getdents(int fd)
{
    char buf[96]; /* a few records per call */
    int n = 0;
    for (;;) {
        ssize_t r = getdents64(fd, buf, sizeof buf);
        if (r < 0) {
            printf("getdents64: %s\n", strerror(errno));
            return -1;
        }
        if (r == 0)
            return n;
        for (ssize_t off = 0; off < r;) { /* struct linux_dirent64: d_reclen at 16, d_type 18, d_name 19 */
            uint16_t reclen;
            memcpy(&reclen, buf + off + 16, sizeof reclen);
            printf("%s %c\n", buf + off + 19, type_of((unsigned char)buf[off + 18]));
            if (reclen == 0)
                return -1;
            off += reclen;
            n++;
        }
    }
}

static int cmd_getdents(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        printf("open: %s\n", strerror(errno));
        return 1;
    }
    int a = list_getdents(fd);
    printf("-- again after lseek 0\n");
    if (lseek(fd, 0, SEEK_SET) != 0)
        printf("lseek: %s\n", strerror(errno));
    int b = list_getdents(fd);
    close(fd);
    printf("%d %d entries\n", a, b);
    return a < 0 || a != b;
}

static int cmd_readdir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        printf("opendir: %s\n", strerror(errno));
        return 1;
    }
    struct dirent *e;
    long mark = -1;
    char third[256] = "";
    int n = 0;
    errno = 0;
    while ((e = readdir(d))) {
        printf("%s %c\n", e->d_name, type_of(e->d_type));
        if (++n == 3) {
            mark = telldir(d);
            snprintf(third, sizeof third, "%s", e->d_name);
        }
    }
    int rc = errno ? 1 : 0;
    if (mark >= 0) { /* seekdir to after the 3rd entry: the 4th comes next */
        seekdir(d, mark);
        e = readdir(d);
        printf("-- after seekdir: %s\n", e ? e->d_name : "(end)");
    }
    rewinddir(d);
    e = readdir(d);
    printf("-- after rewinddir: %s\n", e ? e->d_name : "(end)");
    struct stat st;
    printf("-- dirfd: %s\n", fstat(dirfd(d), &st) == 0 && S_ISDIR(st.st_mode) ? "a folder" : "not a folder");
    closedir(d);
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    DIR *f = fd >= 0 ? fdopendir(fd) : NULL;
    int m = 0;
    while (f && readdir(f))
        m++;
    printf("-- fdopendir: %d entries\n", m);
    if (f)
        closedir(f);
    return rc || m != n;
}

static void say(const char *what, int ok)
{
    printf("%s: %s\n", what, ok ? "ok" : strerror(errno));
}

static int cmd_errors(const char *dir, const char *file)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    char b[16];
    errno = 0;
    ssize_t r = read(fd, b, sizeof b);
    say("read a folder", r >= 0);
    r = getdents64(fd, b, sizeof b);
    say("getdents64 with 16 bytes", r >= 0);
    close(fd);
    fd = open(dir, O_WRONLY);
    say("open a folder for writing", fd >= 0);
    fd = open(file, O_RDONLY);
    char big[512];
    r = getdents64(fd, big, sizeof big);
    say("getdents64 on an attribute", r >= 0);
    close(fd);
    DIR *d = opendir(file);
    say("opendir an attribute", d != NULL);
    char missing[4096];
    snprintf(missing, sizeof missing, "%s/none", dir);
    d = opendir(missing);
    say("opendir a missing folder", d != NULL);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 3 && !strcmp(argv[1], "getdents"))
        return cmd_getdents(argv[2]);
    if (argc == 3 && !strcmp(argv[1], "readdir"))
        return cmd_readdir(argv[2]);
    if (argc == 4 && !strcmp(argv[1], "errors"))
        return cmd_errors(argv[2], argv[3]);
    fprintf(stderr, "usage: tsm_ls getdents|readdir DIR | errors DIR FILE\n");
    return 2;
}
