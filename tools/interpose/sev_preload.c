/* libmemcrypt-sev.so — LD_PRELOAD interposer: /dev/sev for unmodified programs.
 *
 * Loaded into a program (by `memcrypt exec`, or LD_PRELOAD by hand), it answers the C library
 * calls a program makes on the path /dev/sev and on the descriptors it returns — open, open64,
 * openat, openat64 (and their _FORTIFY_SOURCE forms), fopen, ioctl, close, dup/dup2/dup3,
 * fcntl(F_DUPFD*), fstat/stat/lstat/fstatat/statx (and the old __xstat family), access,
 * faccessat, poll/ppoll, read/write/pread/pwrite/readv/writev — as the Linux ccp driver's device
 * node does; ioctl(SEV_ISSUE_CMD) runs memcrypt's driver model (memcrypt/sevdev.h) on the chip
 * of MEMCRYPT_SEV_STATE (platform MEMCRYPT_SEV_PLATFORM, default milan). Every other path and
 * descriptor goes to the C library untouched.
 *
 * An emulated descriptor is a real one (an empty memfd, reopened with the caller's access mode
 * and flags) that this library remembers with its inode, so descriptor numbers, close-on-exec
 * and select/epoll bookkeeping stay the kernel's, and a descriptor closed behind this library's
 * back (fclose, close_range, a raw system call) is recognised as gone when its number comes back
 * for another file. This file is a process's "kernel side" of the device: the
 * descriptor table and the device below are per process, hence the globals (a preload library
 * has no other place to keep them).
 *
 * Not interposed (docs/kernel-interfaces.md): static binaries and programs that make system
 * calls themselves (Go), setuid programs (the loader ignores LD_PRELOAD), select/epoll readiness
 * (the backing /dev/null is always ready, as /dev/sev is), mmap, a descriptor inherited across
 * exec (it becomes /dev/null in the new program), symbolic links to /dev/sev.
 */
#define _GNU_SOURCE
#undef _FORTIFY_SOURCE /* these functions are defined here, not wrapped by the fortify inlines */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <memcrypt/sevdev.h>
#include <memcrypt/sevguest.h>

#define EXPORT __attribute__((visibility("default")))

/* ---- the C library's functions ------------------------------------------------------------ */

#define DECL_REAL(ret, name, ...)                                                                  \
    static ret (*real_##name)(__VA_ARGS__);                                                        \
    static ret (*get_##name(void))(__VA_ARGS__)                                                    \
    {                                                                                              \
        if (!real_##name)                                                                          \
            real_##name = (ret(*)(__VA_ARGS__))dlsym(RTLD_NEXT, #name);                            \
        return real_##name;                                                                        \
    }

DECL_REAL(int, open, const char *, int, ...)
DECL_REAL(int, open64, const char *, int, ...)
DECL_REAL(int, openat, int, const char *, int, ...)
DECL_REAL(int, openat64, int, const char *, int, ...)
DECL_REAL(int, __open_2, const char *, int)
DECL_REAL(int, __open64_2, const char *, int)
DECL_REAL(int, __openat_2, int, const char *, int)
DECL_REAL(int, __openat64_2, int, const char *, int)
DECL_REAL(FILE *, fopen, const char *, const char *)
DECL_REAL(FILE *, fopen64, const char *, const char *)
DECL_REAL(int, ioctl, int, unsigned long, ...)
DECL_REAL(int, close, int)
DECL_REAL(int, dup, int)
DECL_REAL(int, dup2, int, int)
DECL_REAL(int, dup3, int, int, int)
DECL_REAL(int, fcntl, int, int, ...)
DECL_REAL(int, fcntl64, int, int, ...)
DECL_REAL(int, fstat, int, struct stat *)
DECL_REAL(int, fstat64, int, struct stat64 *)
DECL_REAL(int, stat, const char *, struct stat *)
DECL_REAL(int, stat64, const char *, struct stat64 *)
DECL_REAL(int, lstat, const char *, struct stat *)
DECL_REAL(int, lstat64, const char *, struct stat64 *)
DECL_REAL(int, fstatat, int, const char *, struct stat *, int)
DECL_REAL(int, fstatat64, int, const char *, struct stat64 *, int)
DECL_REAL(int, statx, int, const char *, int, unsigned, struct statx *)
DECL_REAL(int, access, const char *, int)
DECL_REAL(int, faccessat, int, const char *, int, int)
DECL_REAL(int, poll, struct pollfd *, nfds_t, int)
DECL_REAL(int, ppoll, struct pollfd *, nfds_t, const struct timespec *, const sigset_t *)
DECL_REAL(ssize_t, read, int, void *, size_t)
DECL_REAL(ssize_t, write, int, const void *, size_t)
DECL_REAL(ssize_t, pread, int, void *, size_t, off_t)
DECL_REAL(ssize_t, pread64, int, void *, size_t, off64_t)
DECL_REAL(ssize_t, pwrite, int, const void *, size_t, off_t)
DECL_REAL(ssize_t, pwrite64, int, const void *, size_t, off64_t)
DECL_REAL(ssize_t, readv, int, const struct iovec *, int)
DECL_REAL(ssize_t, writev, int, const struct iovec *, int)

/* ---- the emulated descriptors ------------------------------------------------------------- */

#define MAX_FDS 256
struct efd {
    int fd;
    int flags; /* open flags: O_ACCMODE, O_PATH */
    dev_t dev; /* the backing memfd's identity */
    ino_t ino;
};
static pthread_mutex_t tab_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t dev_lock = PTHREAD_MUTEX_INITIALIZER; /* the driver's command mutex */
static struct efd tab[MAX_FDS];
static int ntab;              /* entries in use; read without the lock as a fast "none" test */
static struct mc_sevdev *dev; /* made at the first open, kept until exit */
static struct timespec dev_time;

static int find_locked(int fd)
{
    for (int i = 0; i < ntab; i++)
        if (tab[i].fd == fd)
            return i;
    return -1;
}

/* The open flags of an emulated descriptor, or -1 for any other descriptor. An entry whose
 * number now names another file (closed where this library did not see it) is dropped. */
static int emulated(int fd)
{
    if (__atomic_load_n(&ntab, __ATOMIC_ACQUIRE) == 0 || fd < 0)
        return -1;
    pthread_mutex_lock(&tab_lock);
    int i = find_locked(fd), fl = -1;
    if (i >= 0) {
        struct stat st;
        if (get_fstat()(fd, &st) == 0 && st.st_dev == tab[i].dev && st.st_ino == tab[i].ino) {
            fl = tab[i].flags;
        } else {
            tab[i] = tab[ntab - 1];
            __atomic_store_n(&ntab, ntab - 1, __ATOMIC_RELEASE);
        }
    }
    pthread_mutex_unlock(&tab_lock);
    return fl;
}

static void forget(int fd)
{
    pthread_mutex_lock(&tab_lock);
    int i = find_locked(fd);
    if (i >= 0) {
        tab[i] = tab[ntab - 1];
        __atomic_store_n(&ntab, ntab - 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&tab_lock);
}

static int remember(int fd, int flags)
{
    struct stat st;
    if (get_fstat()(fd, &st) != 0)
        return 0;
    pthread_mutex_lock(&tab_lock);
    int i = find_locked(fd), ok = 1;
    if (i < 0 && ntab < MAX_FDS) {
        i = ntab;
        __atomic_store_n(&ntab, ntab + 1, __ATOMIC_RELEASE);
    }
    if (i >= 0) {
        tab[i].fd = fd;
        tab[i].flags = flags;
        tab[i].dev = st.st_dev;
        tab[i].ino = st.st_ino;
    } else {
        ok = 0;
    }
    pthread_mutex_unlock(&tab_lock);
    return ok;
}

/* ---- which paths are the device ------------------------------------------------------------ */

/* Lexical normalisation of an absolute path: "//", "/./" and "/x/../" folded. */
static void normalise(char *p)
{
    char out[PATH_MAX];
    size_t o = 0;
    const char *s = p;
    while (*s) {
        while (*s == '/')
            s++;
        if (!*s)
            break;
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == 1 && s[0] == '.') {
        } else if (n == 2 && s[0] == '.' && s[1] == '.') {
            while (o > 0 && out[o - 1] != '/')
                o--;
            if (o > 0)
                o--;
        } else if (o + 1 + n < sizeof out) {
            out[o++] = '/';
            memcpy(out + o, s, n);
            o += n;
        }
        s += n;
    }
    if (o == 0)
        out[o++] = '/';
    out[o] = 0;
    memcpy(p, out, o + 1);
}

/* Which device a path names: 0 none, DEV_SEV, DEV_GUEST. */
#define DEV_SEV 1
#define DEV_GUEST 2
#define EFD_GUEST 0x40000000 /* in efd.flags: the descriptor is /dev/sev-guest (no O_ flag uses bit 30) */
static int is_dev_path(int dirfd, const char *path)
{
    if (!path)
        return 0;
    /* Fast test: the last component must be "sev" or "sev-guest" (no trailing slash). */
    size_t n = strlen(path), k = n >= 9 && !strcmp(path + n - 9, "sev-guest") ? 9 : 3;
    if (n < k || strcmp(path + n - 3, k == 9 ? "est" : "sev") != 0 || (n > k && path[n - k - 1] != '/'))
        return 0;
    char full[PATH_MAX];
    if (path[0] == '/') {
        if (n >= sizeof full)
            return 0;
        memcpy(full, path, n + 1);
    } else {
        char base[PATH_MAX];
        if (dirfd == AT_FDCWD) {
            if (!getcwd(base, sizeof base))
                return 0;
        } else {
            char link[64];
            snprintf(link, sizeof link, "/proc/self/fd/%d", dirfd);
            ssize_t r = readlink(link, base, sizeof base - 1);
            if (r <= 0)
                return 0;
            base[r] = 0;
        }
        if ((size_t)snprintf(full, sizeof full, "%s/%s", base, path) >= sizeof full)
            return 0;
    }
    normalise(full);
    return !strcmp(full, "/dev/sev") ? DEV_SEV : !strcmp(full, "/dev/sev-guest") ? DEV_GUEST : 0;
}

/* ---- the device ----------------------------------------------------------------------------- */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    char line[1200];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (k < 0)
        return;
    if ((size_t)k > sizeof line - 2)
        k = (int)sizeof line - 2;
    line[k++] = '\n';
    ssize_t w = get_write()(2, line, (size_t)k);
    (void)w;
}

static unsigned wait_ms(void)
{
    const char *v = getenv("MEMCRYPT_STATE_WAIT");
    if (!v || !*v)
        return 0;
    char *e;
    unsigned long s = strtoul(v, &e, 10);
    if (*e || s > 86400)
        return 0;
    return s ? (unsigned)s * 1000u : 1u;
}

/* The device behind the node, made once. Returns 0 or an errno for open(). */
static int device(void)
{
    if (dev)
        return 0;
    struct mc_sevdev_config cfg = {0};
    cfg.platform = getenv("MEMCRYPT_SEV_PLATFORM");
    if (!cfg.platform || !*cfg.platform)
        cfg.platform = "milan";
    cfg.state_path = getenv("MEMCRYPT_SEV_STATE");
    if (cfg.state_path && !*cfg.state_path)
        cfg.state_path = NULL;
    cfg.state_wait_ms = wait_ms();
    struct mc_error err = {0};
    mc_status s = mc_sevdev_create(&cfg, &dev, &err);
    if (s) {
        say("memcrypt-sev: /dev/sev: %s", err.msg);
        return s == MC_E_UNSUPPORTED || s == MC_E_NOTFOUND ? ENOENT : s == MC_E_BUSY ? EBUSY : EIO;
    }
    clock_gettime(CLOCK_REALTIME, &dev_time);
    return 0;
}

/* /dev/sev-guest: the saved SNP guest of MEMCRYPT_SEV_GUEST on the chip of MEMCRYPT_SEV_STATE
 * (`memcrypt exec --guest`). Without a guest there is no such device (a host, not an SNP guest). */
static struct mc_sevguest *gdev;

static int guest_device(void)
{
    if (gdev)
        return 0;
    struct mc_sevguest_config cfg = {0};
    cfg.guest_path = getenv("MEMCRYPT_SEV_GUEST");
    cfg.state_path = getenv("MEMCRYPT_SEV_STATE");
    if (!cfg.guest_path || !*cfg.guest_path || !cfg.state_path || !*cfg.state_path)
        return ENOENT;
    cfg.wait_ms = wait_ms();
    struct mc_error err = {0};
    mc_status s = mc_sevguest_create(&cfg, &gdev, &err);
    if (s) {
        say("memcrypt-sev: /dev/sev-guest: %s", err.msg);
        return s == MC_E_BUSY ? EBUSY : EIO;
    }
    if (!dev_time.tv_sec)
        clock_gettime(CLOCK_REALTIME, &dev_time);
    return 0;
}

/* open() of a device: the checks the VFS makes on a character device, then a descriptor. */
static int dev_open(int kind, int flags)
{
    if ((flags & O_CREAT) && (flags & O_EXCL))
        return errno = EEXIST, -1;
    if (flags & O_DIRECTORY)
        return errno = ENOTDIR, -1;
    if (!(flags & O_PATH)) {
        pthread_mutex_lock(&dev_lock);
        int e = kind == DEV_GUEST ? guest_device() : device();
        pthread_mutex_unlock(&dev_lock);
        if (e)
            return errno = e, -1;
    }
    int keep = flags & (O_ACCMODE | O_CLOEXEC | O_NONBLOCK | O_PATH);
    if ((keep & O_ACCMODE) == O_ACCMODE)
        keep &= ~O_ACCMODE; /* access mode 3: neither read nor write */
    /* A fresh inode, reopened with the caller's access mode (the memfd itself is read-write). */
    int mfd = memfd_create("memcrypt-sev", MFD_CLOEXEC);
    if (mfd < 0)
        return -1;
    char self[64];
    snprintf(self, sizeof self, "/proc/self/fd/%d", mfd);
    int fd = get_open()(self, keep);
    if (fd >= 0) {
        get_close()(mfd);
    } else { /* no /proc: keep the memfd as it is */
        fd = mfd;
        if (!(keep & O_CLOEXEC))
            get_fcntl()(fd, F_SETFD, 0);
    }
    if (!remember(fd, (flags & (O_ACCMODE | O_PATH)) | (kind == DEV_GUEST ? EFD_GUEST : 0))) {
        get_close()(fd);
        return errno = EMFILE, -1;
    }
    return fd;
}

static int mode_of(va_list ap, int flags)
{
    return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? va_arg(ap, int) : 0;
}

EXPORT int open(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    int mode = mode_of(ap, flags);
    va_end(ap);
    int k = is_dev_path(AT_FDCWD, path);
    if (k)
        return dev_open(k, flags);
    return get_open()(path, flags, mode);
}

EXPORT int open64(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    int mode = mode_of(ap, flags);
    va_end(ap);
    int k = is_dev_path(AT_FDCWD, path);
    if (k)
        return dev_open(k, flags);
    return get_open64()(path, flags, mode);
}

EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    int mode = mode_of(ap, flags);
    va_end(ap);
    int k = is_dev_path(dirfd, path);
    if (k)
        return dev_open(k, flags);
    return get_openat()(dirfd, path, flags, mode);
}

EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    int mode = mode_of(ap, flags);
    va_end(ap);
    int k = is_dev_path(dirfd, path);
    if (k)
        return dev_open(k, flags);
    return get_openat64()(dirfd, path, flags, mode);
}

EXPORT int __open_2(const char *path, int flags)
{
    int k = is_dev_path(AT_FDCWD, path);
    return k ? dev_open(k, flags) : get___open_2()(path, flags);
}
EXPORT int __open64_2(const char *path, int flags)
{
    int k = is_dev_path(AT_FDCWD, path);
    return k ? dev_open(k, flags) : get___open64_2()(path, flags);
}
EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
    int k = is_dev_path(dirfd, path);
    return k ? dev_open(k, flags) : get___openat_2()(dirfd, path, flags);
}
EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
    int k = is_dev_path(dirfd, path);
    return k ? dev_open(k, flags) : get___openat64_2()(dirfd, path, flags);
}

static FILE *dev_fopen(int kind, const char *mode)
{
    int flags;
    switch (mode[0]) {
    case 'r': flags = strchr(mode, '+') ? O_RDWR : O_RDONLY; break;
    case 'w': flags = (strchr(mode, '+') ? O_RDWR : O_WRONLY) | O_CREAT | O_TRUNC; break;
    case 'a': flags = (strchr(mode, '+') ? O_RDWR : O_WRONLY) | O_CREAT | O_APPEND; break;
    default: errno = EINVAL; return NULL;
    }
    if (strchr(mode, 'e'))
        flags |= O_CLOEXEC;
    if (strchr(mode, 'x'))
        flags |= O_EXCL;
    int fd = dev_open(kind, flags);
    if (fd < 0)
        return NULL;
    FILE *f = fdopen(fd, mode);
    if (!f) {
        int e = errno;
        forget(fd);
        get_close()(fd);
        errno = e;
    }
    return f;
}

EXPORT FILE *fopen(const char *path, const char *mode)
{
    int k = is_dev_path(AT_FDCWD, path);
    return k && mode ? dev_fopen(k, mode) : get_fopen()(path, mode);
}
EXPORT FILE *fopen64(const char *path, const char *mode)
{
    int k = is_dev_path(AT_FDCWD, path);
    return k && mode ? dev_fopen(k, mode) : get_fopen64()(path, mode);
}

/* ---- ioctl ----------------------------------------------------------------------------------- */

/* copy_from_user / copy_to_user: the kernel's view of this process's memory, so an unmapped or
 * read-only address is EFAULT instead of a crash. */
static int user_read(void *ctx, uint64_t a, void *buf, size_t len)
{
    (void)ctx;
    if (!len)
        return 0;
    struct iovec l = {buf, len}, r = {(void *)(uintptr_t)a, len};
    ssize_t n = process_vm_readv(getpid(), &l, 1, &r, 1, 0);
    if (n < 0 && (errno == ENOSYS || errno == EPERM)) { /* no process_vm_*: trust the pointer */
        memcpy(buf, (const void *)(uintptr_t)a, len);
        return 0;
    }
    return n == (ssize_t)len ? 0 : -1;
}

static int user_write(void *ctx, uint64_t a, const void *buf, size_t len)
{
    (void)ctx;
    if (!len)
        return 0;
    struct iovec l = {(void *)buf, len}, r = {(void *)(uintptr_t)a, len};
    ssize_t n = process_vm_writev(getpid(), &l, 1, &r, 1, 0);
    if (n < 0 && (errno == ENOSYS || errno == EPERM)) {
        memcpy((void *)(uintptr_t)a, buf, len);
        return 0;
    }
    return n == (ssize_t)len ? 0 : -1;
}

EXPORT int ioctl(int fd, unsigned long request, ...)
{
    va_list ap;
    va_start(ap, request);
    void *argp = va_arg(ap, void *);
    va_end(ap);
    int fl = emulated(fd);
    if (fl < 0)
        return get_ioctl()(fd, request, argp);
    if (fl & O_PATH)
        return errno = EBADF, -1;
    unsigned int req = (unsigned int)request;
    /* What the VFS answers before the driver sees the call. */
    if (req == FIOCLEX || req == FIONCLEX || req == FIONBIO || req == FIOASYNC)
        return get_ioctl()(fd, request, argp);
    if (req == FIOQSIZE)
        return errno = ENOTTY, -1;
    bool writable = (fl & O_ACCMODE) == O_WRONLY || (fl & O_ACCMODE) == O_RDWR;
    struct mc_sevdev_user u = {NULL, user_read, user_write};
    struct mc_error err = {0};
    bool guest = fl & EFD_GUEST;
    pthread_mutex_lock(&dev_lock);
    long rc = guest ? (gdev ? mc_sevguest_ioctl(gdev, request, (uint64_t)(uintptr_t)argp, &u, &err) : -ENODEV)
                    : (dev ? mc_sevdev_ioctl(dev, writable, request, (uint64_t)(uintptr_t)argp, &u, &err) : -ENODEV);
    pthread_mutex_unlock(&dev_lock);
    if (err.msg[0])
        say("memcrypt-sev: %s: %s", guest ? "/dev/sev-guest" : "/dev/sev", err.msg);
    if (rc < 0)
        return errno = (int)-rc, -1;
    return (int)rc;
}

/* ---- descriptors ---------------------------------------------------------------------------- */

EXPORT int close(int fd)
{
    if (emulated(fd) >= 0)
        forget(fd);
    return get_close()(fd);
}

static int dup_result(int oldfd, int newfd)
{
    int fl = emulated(oldfd);
    if (newfd >= 0) {
        if (fl >= 0) {
            if (!remember(newfd, fl)) {
                get_close()(newfd);
                return errno = EMFILE, -1;
            }
        } else if (newfd != oldfd) {
            forget(newfd); /* an emulated descriptor that dup2 replaced */
        }
    }
    return newfd;
}

EXPORT int dup(int fd) { return dup_result(fd, get_dup()(fd)); }
EXPORT int dup2(int fd, int fd2) { return dup_result(fd, get_dup2()(fd, fd2)); }
EXPORT int dup3(int fd, int fd2, int flags) { return dup_result(fd, get_dup3()(fd, fd2, flags)); }

static int fcntl_common(int (*real)(int, int, ...), int fd, int cmd, void *arg)
{
    int r = real(fd, cmd, arg);
    if ((cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) && r >= 0)
        return dup_result(fd, r);
    return r;
}

EXPORT int fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    return fcntl_common(get_fcntl(), fd, cmd, arg);
}

EXPORT int fcntl64(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    return fcntl_common(get_fcntl64(), fd, cmd, arg);
}

/* ---- stat ------------------------------------------------------------------------------------ */

/* The node as a host shows it: a misc character device (major 10) on devtmpfs, read-write for
 * the calling user (as a udev rule gives a CI user). The minor is dynamic on real hosts. */
#define DEV_MAJOR 10u
#define DEV_MINOR 124u       /* /dev/sev */
#define DEV_MINOR_GUEST 125u /* /dev/sev-guest */
#define DEV_MODE (S_IFCHR | 0660)

static int fd_kind(int fl) { return (fl & EFD_GUEST) ? DEV_GUEST : DEV_SEV; }

static void fill_stat(struct stat *st, int kind)
{
    unsigned minor = kind == DEV_GUEST ? DEV_MINOR_GUEST : DEV_MINOR;
    memset(st, 0, sizeof *st);
    st->st_dev = makedev(0, 5);
    st->st_ino = 1000 + minor;
    st->st_mode = DEV_MODE;
    st->st_nlink = 1;
    st->st_uid = geteuid();
    st->st_gid = getegid();
    st->st_rdev = makedev(DEV_MAJOR, minor);
    st->st_blksize = 4096;
    st->st_atim = st->st_mtim = st->st_ctim = dev_time;
}

_Static_assert(sizeof(struct stat) == sizeof(struct stat64), "stat and stat64 are one layout on LP64");

EXPORT int fstat(int fd, struct stat *st)
{
    int fl = emulated(fd);
    if (fl >= 0)
        return fill_stat(st, fd_kind(fl)), 0;
    return get_fstat()(fd, st);
}
EXPORT int fstat64(int fd, struct stat64 *st)
{
    int fl = emulated(fd);
    if (fl >= 0)
        return fill_stat((struct stat *)st, fd_kind(fl)), 0;
    return get_fstat64()(fd, st);
}
EXPORT int stat(const char *p, struct stat *st)
{
    int k = is_dev_path(AT_FDCWD, p);
    if (k)
        return fill_stat(st, k), 0;
    return get_stat()(p, st);
}
EXPORT int stat64(const char *p, struct stat64 *st)
{
    int k = is_dev_path(AT_FDCWD, p);
    if (k)
        return fill_stat((struct stat *)st, k), 0;
    return get_stat64()(p, st);
}
EXPORT int lstat(const char *p, struct stat *st)
{
    int k = is_dev_path(AT_FDCWD, p);
    if (k)
        return fill_stat(st, k), 0;
    return get_lstat()(p, st);
}
EXPORT int lstat64(const char *p, struct stat64 *st)
{
    int k = is_dev_path(AT_FDCWD, p);
    if (k)
        return fill_stat((struct stat *)st, k), 0;
    return get_lstat64()(p, st);
}

static int at_is_dev(int dirfd, const char *p, int flags)
{
    if ((flags & AT_EMPTY_PATH) && p && !*p) {
        int fl = emulated(dirfd);
        return fl >= 0 ? fd_kind(fl) : 0;
    }
    return is_dev_path(dirfd, p);
}

EXPORT int fstatat(int dirfd, const char *p, struct stat *st, int flags)
{
    int k = at_is_dev(dirfd, p, flags);
    if (k)
        return fill_stat(st, k), 0;
    return get_fstatat()(dirfd, p, st, flags);
}
EXPORT int fstatat64(int dirfd, const char *p, struct stat64 *st, int flags)
{
    int k = at_is_dev(dirfd, p, flags);
    if (k)
        return fill_stat((struct stat *)st, k), 0;
    return get_fstatat64()(dirfd, p, st, flags);
}

EXPORT int statx(int dirfd, const char *p, int flags, unsigned mask, struct statx *sx)
{
    int k = at_is_dev(dirfd, p, flags);
    if (!k)
        return get_statx()(dirfd, p, flags, mask, sx);
    struct stat st;
    fill_stat(&st, k);
    memset(sx, 0, sizeof *sx);
    sx->stx_mask = STATX_BASIC_STATS;
    sx->stx_blksize = (uint32_t)st.st_blksize;
    sx->stx_nlink = (uint32_t)st.st_nlink;
    sx->stx_uid = st.st_uid;
    sx->stx_gid = st.st_gid;
    sx->stx_mode = (uint16_t)st.st_mode;
    sx->stx_ino = st.st_ino;
    sx->stx_rdev_major = DEV_MAJOR;
    sx->stx_rdev_minor = minor(st.st_rdev);
    sx->stx_dev_major = 0;
    sx->stx_dev_minor = 5;
    sx->stx_atime.tv_sec = sx->stx_mtime.tv_sec = sx->stx_ctime.tv_sec = dev_time.tv_sec;
    sx->stx_atime.tv_nsec = sx->stx_mtime.tv_nsec = sx->stx_ctime.tv_nsec = (uint32_t)dev_time.tv_nsec;
    return 0;
}

/* The pre-2.33 glibc entry points that older binaries call (x86-64: the version argument is
 * always _STAT_VER_LINUX, whose structure is struct stat); answered by today's functions. */
EXPORT int __xstat(int v __attribute__((unused)), const char *p, struct stat *st)
{
    int k = is_dev_path(AT_FDCWD, p);
    return k ? (fill_stat(st, k), 0) : get_stat()(p, st);
}
EXPORT int __xstat64(int v __attribute__((unused)), const char *p, struct stat64 *st)
{
    int k = is_dev_path(AT_FDCWD, p);
    return k ? (fill_stat((struct stat *)st, k), 0) : get_stat64()(p, st);
}
EXPORT int __lxstat(int v __attribute__((unused)), const char *p, struct stat *st)
{
    int k = is_dev_path(AT_FDCWD, p);
    return k ? (fill_stat(st, k), 0) : get_lstat()(p, st);
}
EXPORT int __lxstat64(int v __attribute__((unused)), const char *p, struct stat64 *st)
{
    int k = is_dev_path(AT_FDCWD, p);
    return k ? (fill_stat((struct stat *)st, k), 0) : get_lstat64()(p, st);
}
EXPORT int __fxstat(int v __attribute__((unused)), int fd, struct stat *st)
{
    int fl = emulated(fd);
    return fl >= 0 ? (fill_stat(st, fd_kind(fl)), 0) : get_fstat()(fd, st);
}
EXPORT int __fxstat64(int v __attribute__((unused)), int fd, struct stat64 *st)
{
    int fl = emulated(fd);
    return fl >= 0 ? (fill_stat((struct stat *)st, fd_kind(fl)), 0) : get_fstat64()(fd, st);
}
EXPORT int __fxstatat(int v __attribute__((unused)), int dirfd, const char *p, struct stat *st, int flags)
{
    int k = at_is_dev(dirfd, p, flags);
    return k ? (fill_stat(st, k), 0) : get_fstatat()(dirfd, p, st, flags);
}
EXPORT int __fxstatat64(int v __attribute__((unused)), int dirfd, const char *p, struct stat64 *st, int flags)
{
    int k = at_is_dev(dirfd, p, flags);
    return k ? (fill_stat((struct stat *)st, k), 0)
                                      : get_fstatat64()(dirfd, p, st, flags);
}

static int dev_access(int mode)
{
    return (mode & X_OK) ? (errno = EACCES, -1) : 0;
}
EXPORT int access(const char *p, int mode)
{
    return is_dev_path(AT_FDCWD, p) ? dev_access(mode) : get_access()(p, mode);
}
EXPORT int faccessat(int dirfd, const char *p, int mode, int flags)
{
    return is_dev_path(dirfd, p) ? dev_access(mode) : get_faccessat()(dirfd, p, mode, flags);
}

/* ---- poll, read, write ----------------------------------------------------------------------- */

/* The driver has no poll method: the VFS reports DEFAULT_POLLMASK. */
#define DEFAULT_POLLMASK (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM)

static int poll_common(struct pollfd *fds, nfds_t n, int timeout_ms, const struct timespec *ts,
                       const sigset_t *sig, bool is_ppoll)
{
    if (__atomic_load_n(&ntab, __ATOMIC_ACQUIRE) == 0 || !fds)
        goto real;
    int ready = 0;
    for (nfds_t i = 0; i < n; i++)
        if (fds[i].fd >= 0 && emulated(fds[i].fd) >= 0)
            ready++;
    if (!ready)
        goto real;
    /* Hide the emulated entries (a negative fd is skipped), ask about the rest without waiting
     * (the device is always ready), then put them back with their events. */
    for (nfds_t i = 0; i < n; i++)
        if (fds[i].fd >= 0 && emulated(fds[i].fd) >= 0)
            fds[i].fd = ~fds[i].fd;
    struct timespec zero = {0, 0};
    int r = is_ppoll ? get_ppoll()(fds, n, &zero, sig) : get_poll()(fds, n, 0);
    int e = errno;
    for (nfds_t i = 0; i < n; i++)
        if (fds[i].fd < 0 && fds[i].fd != -1 && emulated(~fds[i].fd) >= 0) {
            fds[i].fd = ~fds[i].fd;
            fds[i].revents = (short)(fds[i].events & DEFAULT_POLLMASK);
        }
    if (r < 0)
        return errno = e, -1;
    return r + ready;
real:
    return is_ppoll ? get_ppoll()(fds, n, ts, sig) : get_poll()(fds, n, timeout_ms);
}

EXPORT int poll(struct pollfd *fds, nfds_t n, int timeout) { return poll_common(fds, n, timeout, NULL, NULL, false); }
EXPORT int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *sig)
{
    return poll_common(fds, n, 0, ts, sig, true);
}

/* The driver has no read or write method: EBADF without the access, else EINVAL. */
static int rw_err(int fl, bool wr)
{
    int acc = fl & O_ACCMODE;
    bool ok = wr ? (acc == O_WRONLY || acc == O_RDWR) : (acc == O_RDONLY || acc == O_RDWR);
    errno = ok && !(fl & O_PATH) ? EINVAL : EBADF;
    return -1;
}

EXPORT ssize_t read(int fd, void *b, size_t n)
{
    int fl = emulated(fd);
    return fl >= 0 ? rw_err(fl, false) : get_read()(fd, b, n);
}
EXPORT ssize_t write(int fd, const void *b, size_t n)
{
    int fl = emulated(fd);
    return fl >= 0 ? rw_err(fl, true) : get_write()(fd, b, n);
}
EXPORT ssize_t pread(int fd, void *b, size_t n, off_t o)
{
    int fl = emulated(fd);
    return fl >= 0 ? rw_err(fl, false) : get_pread()(fd, b, n, o);
}
EXPORT ssize_t pread64(int fd, void *b, size_t n, off64_t o)
{
    int fl = emulated(fd);
    return fl >= 0 ? rw_err(fl, false) : get_pread64()(fd, b, n, o);
}
EXPORT ssize_t pwrite(int fd, const void *b, size_t n, off_t o)
{
    int fl = emulated(fd);
    return fl >= 0 ? rw_err(fl, true) : get_pwrite()(fd, b, n, o);
}
EXPORT ssize_t pwrite64(int fd, const void *b, size_t n, off64_t o)
{
    int fl = emulated(fd);
    return fl >= 0 ? rw_err(fl, true) : get_pwrite64()(fd, b, n, o);
}
EXPORT ssize_t readv(int fd, const struct iovec *v, int n)
{
    int fl = emulated(fd);
    return fl >= 0 ? rw_err(fl, false) : get_readv()(fd, v, n);
}
EXPORT ssize_t writev(int fd, const struct iovec *v, int n)
{
    int fl = emulated(fd);
    return fl >= 0 ? rw_err(fl, true) : get_writev()(fd, v, n);
}

/* Keep the chip's files tidy when the program exits normally. */
__attribute__((destructor)) static void unload(void)
{
    pthread_mutex_lock(&dev_lock);
    mc_sevdev_destroy(dev);
    dev = NULL;
    pthread_mutex_unlock(&dev_lock);
}
