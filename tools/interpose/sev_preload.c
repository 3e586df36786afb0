/* libmemcrypt-sev.so — LD_PRELOAD interposer: /dev/sev for unmodified programs.
 *
 * Loaded into a program (by `memcrypt exec`, or LD_PRELOAD by hand), it answers the C library
 * calls a program makes on the path /dev/sev and on the descriptors it returns — open, open64,
 * openat, openat64 (and their _FORTIFY_SOURCE forms), fopen, ioctl, close, dup/dup2/dup3,
 * fcntl(F_DUPFD*), fstat/stat/lstat/fstatat/statx (and the old __xstat family), access,
 * faccessat, poll/ppoll, read/write/pread/pwrite/readv/writev — as the Linux ccp driver's device
 * node does; ioctl(SEV_ISSUE_CMD) runs memcrypt's driver model (memcrypt/sevdev.h) on the chip
 * of MEMCRYPT_SEV_STATE (platform MEMCRYPT_SEV_PLATFORM, default milan). Under `memcrypt exec
 * --guest` (MEMCRYPT_SEV_GUEST) also /dev/sev-guest and the configfs-tsm tree: its attributes
 * (open/read/write/...), mkdir/rmdir, and its folders (open, getdents64, lseek, the opendir/readdir
 * family, *at calls relative to an open folder, the xattr calls `ls -l` makes). Every other path
 * and descriptor goes to the C library untouched.
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
#include <dirent.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <memcrypt/bytes.h>
#include <memcrypt/sevdev.h>
#include <memcrypt/sevguest.h>
#include <memcrypt/tsm.h>

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
DECL_REAL(off_t, lseek, int, off_t, int)
DECL_REAL(off64_t, lseek64, int, off64_t, int)
DECL_REAL(ssize_t, copy_file_range, int, off64_t *, int, off64_t *, size_t, unsigned)
DECL_REAL(int, mkdir, const char *, mode_t)
DECL_REAL(int, mkdirat, int, const char *, mode_t)
DECL_REAL(int, rmdir, const char *)
DECL_REAL(int, unlinkat, int, const char *, int)
DECL_REAL(int, unlink, const char *)
DECL_REAL(int, fflush, FILE *)
DECL_REAL(DIR *, opendir, const char *)
DECL_REAL(DIR *, fdopendir, int)
DECL_REAL(int, closedir, DIR *)
DECL_REAL(struct dirent *, readdir, DIR *)
DECL_REAL(struct dirent64 *, readdir64, DIR *)
DECL_REAL(int, readdir_r, DIR *, struct dirent *, struct dirent **)
DECL_REAL(int, readdir64_r, DIR *, struct dirent64 *, struct dirent64 **)
DECL_REAL(int, dirfd, DIR *)
DECL_REAL(void, rewinddir, DIR *)
DECL_REAL(long, telldir, DIR *)
DECL_REAL(void, seekdir, DIR *, long)
DECL_REAL(ssize_t, getdents64, int, void *, size_t)
DECL_REAL(ssize_t, getxattr, const char *, const char *, void *, size_t)
DECL_REAL(ssize_t, lgetxattr, const char *, const char *, void *, size_t)
DECL_REAL(ssize_t, fgetxattr, int, const char *, void *, size_t)
DECL_REAL(ssize_t, listxattr, const char *, char *, size_t)
DECL_REAL(ssize_t, llistxattr, const char *, char *, size_t)
DECL_REAL(ssize_t, flistxattr, int, char *, size_t)
DECL_REAL(int, setxattr, const char *, const char *, const void *, size_t, int)
DECL_REAL(int, lsetxattr, const char *, const char *, const void *, size_t, int)
DECL_REAL(int, fsetxattr, int, const char *, const void *, size_t, int)
DECL_REAL(int, removexattr, const char *, const char *)
DECL_REAL(int, lremovexattr, const char *, const char *)
DECL_REAL(int, fremovexattr, int, const char *)

/* ---- the emulated descriptors ------------------------------------------------------------- */

#define MAX_FDS 256
struct efd {
    int fd;
    int flags; /* open flags: O_ACCMODE, O_PATH; EFD_GUEST, EFD_TSM, EFD_TSMDIR */
    int ofd;   /* configfs-tsm: the open file or folder (struct ofd) it shares with its duplicates; else -1 */
    dev_t dev; /* the backing memfd's identity */
    ino_t ino;
};
static pthread_mutex_t tab_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t dev_lock = PTHREAD_MUTEX_INITIALIZER; /* the driver's command mutex */
static struct efd tab[MAX_FDS];
static int ntab;              /* entries in use; read without the lock as a fast "none" test */
static struct mc_sevdev *dev; /* made at the first open, kept until exit */
static struct timespec dev_time;

static void ofd_release(int i);

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
    int i = find_locked(fd), o = -1;
    if (i >= 0) {
        o = tab[i].ofd;
        tab[i] = tab[ntab - 1];
        __atomic_store_n(&ntab, ntab - 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&tab_lock);
    if (o >= 0)
        ofd_release(o);
}

/* The open configfs-tsm file behind an emulated descriptor, or -1. */
static int ofd_of(int fd)
{
    pthread_mutex_lock(&tab_lock);
    int i = find_locked(fd), o = i >= 0 ? tab[i].ofd : -1;
    pthread_mutex_unlock(&tab_lock);
    return o;
}

static int remember_ofd(int fd, int flags, int ofd);
static int remember(int fd, int flags) { return remember_ofd(fd, flags, -1); }

static int remember_ofd(int fd, int flags, int ofd)
{
    struct stat st;
    if (get_fstat()(fd, &st) != 0)
        return 0;
    pthread_mutex_lock(&tab_lock);
    int i = find_locked(fd), ok = 1, old = i >= 0 ? tab[i].ofd : -1;
    if (i < 0 && ntab < MAX_FDS) {
        i = ntab;
        __atomic_store_n(&ntab, ntab + 1, __ATOMIC_RELEASE);
    }
    if (i >= 0) {
        tab[i].fd = fd;
        tab[i].flags = flags;
        tab[i].ofd = ofd;
        tab[i].dev = st.st_dev;
        tab[i].ino = st.st_ino;
    } else {
        ok = 0;
    }
    pthread_mutex_unlock(&tab_lock);
    if (old >= 0 && old != ofd) /* dup2 over another open tsm file: its last reference may go */
        ofd_release(old);
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

/* Which node a path names: 0 none of ours, DEV_SEV, DEV_GUEST, or in the configfs-tsm tree of
 * `memcrypt exec --guest` (MEMCRYPT_SEV_GUEST set) TSM_DIR (the tree's folders and report items) or
 * TSM_FILE (an attribute; the item's name and the attribute in tsm_name / tsm_attr of this thread).
 * A path inside the tree that does not exist is not ours: the host's file system says ENOENT. */
#define DEV_SEV 1
#define DEV_GUEST 2
#define TSM_DIR 3
#define TSM_FILE 4
#define EFD_GUEST 0x40000000 /* in efd.flags: the descriptor is /dev/sev-guest (no O_ flag uses bit 30) */
#define EFD_TSM 0x20000000   /* in efd.flags: a configfs-tsm attribute (bit 29) */
#define EFD_TSMDIR 0x10000000 /* in efd.flags: a configfs-tsm folder (bit 28) */
static __thread char tsm_name[MC_TSM_NAME_MAX + 1];
static __thread char tsm_path[PATH_MAX]; /* the node's full path (its inode number is made from it) */
static __thread enum mc_tsm_attr tsm_attr;
static __thread enum mc_tsm_node tsm_node_kind;
static int tsm_lookup_full(const char *full);

static const char *tsmdir_path(int dirfd);

/* dirfd/path as an absolute, normalised path (dirfd may be an open folder of the tree). */
static int full_path(int dirfd, const char *path, char *full, size_t cap)
{
    size_t n = strlen(path);
    if (path[0] == '/') {
        if (n >= cap)
            return -1;
        memcpy(full, path, n + 1);
    } else {
        char base[PATH_MAX];
        const char *td = dirfd == AT_FDCWD ? NULL : tsmdir_path(dirfd);
        if (dirfd == AT_FDCWD) {
            if (!getcwd(base, sizeof base))
                return -1;
        } else if (td) {
            snprintf(base, sizeof base, "%s", td);
        } else {
            char link[64];
            snprintf(link, sizeof link, "/proc/self/fd/%d", dirfd);
            ssize_t r = readlink(link, base, sizeof base - 1);
            if (r <= 0)
                return -1;
            base[r] = 0;
        }
        if ((size_t)snprintf(full, cap, "%s/%s", base, path) >= cap)
            return -1;
    }
    normalise(full);
    return 0;
}

/* Only absolute paths into /sys, or paths relative to an open folder of the tree, are looked up
 * (the library's own files never are). */
static __thread int in_lib; /* inside a library call made by this file: pass every call through */
static bool tsm_candidate(int dirfd, const char *path)
{
    if (in_lib)
        return false;
    bool rel = path[0] != '/' && dirfd != AT_FDCWD && tsmdir_path(dirfd);
    if (!rel && (strncmp(path, "/sys/", 5) != 0 || !strstr(path, "tsm")))
        return false;
    const char *g = getenv("MEMCRYPT_SEV_GUEST");
    return g && *g;
}

static int is_dev_path(int dirfd, const char *path)
{
    if (!path)
        return 0;
    /* Fast test: the last component must be "sev" or "sev-guest" (no trailing slash), or the
     * path may lie in the tsm tree. */
    size_t n = strlen(path), k = n >= 9 && !strcmp(path + n - 9, "sev-guest") ? 9 : 3;
    bool node = n >= k && !strcmp(path + n - 3, k == 9 ? "est" : "sev") && (n == k || path[n - k - 1] == '/');
    if (node && getenv("MEMCRYPT_SEV_FUSE")) /* `memcrypt exec --fuse`: the nodes are FUSE files */
        node = false;
    bool tsm = !node && tsm_candidate(dirfd, path);
    if (!node && !tsm)
        return 0;
    char full[PATH_MAX];
    if (full_path(dirfd, path, full, sizeof full))
        return 0;
    if (tsm)
        return tsm_lookup_full(full);
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
    uint64_t ms;
    if (!v || !*v || mc_parse_seconds_ms(v, &ms, NULL) != MC_OK || ms > 86400000u)
        return 0;
    return ms ? (unsigned)ms : 1u;
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

/* ---- configfs-tsm ------------------------------------------------------------------------- */

/* The tree of `memcrypt exec --guest GUEST`: its state is GUEST.tsm, shared by every process. */
static struct mc_tsm *tsmt;

static int tsm_tree(void) /* dev_lock held */
{
    if (tsmt)
        return 0;
    const char *g = getenv("MEMCRYPT_SEV_GUEST");
    char path[PATH_MAX];
    if (!g || !*g || (size_t)snprintf(path, sizeof path, "%s.tsm", g) >= sizeof path)
        return ENOENT;
    struct mc_tsm_config c = {.state_path = path, .wait_ms = wait_ms(), .guest = gdev, .privlevel_floor = 0};
    if (!dev_time.tv_sec) /* the nodes' times: when this process first saw them */
        clock_gettime(CLOCK_REALTIME, &dev_time);
    struct mc_error err = {0};
    if (mc_tsm_create(&c, &tsmt, &err)) {
        say("memcrypt-sev: configfs-tsm: %s", err.msg);
        return EIO;
    }
    return 0;
}

static int tsm_lookup_full(const char *full)
{
    enum mc_tsm_node node;
    char name[MC_TSM_NAME_MAX + 1];
    enum mc_tsm_attr attr = MC_TSM_INBLOB;
    pthread_mutex_lock(&dev_lock);
    in_lib++;
    int rc = tsm_tree() ? 1 : mc_tsm_lookup(tsmt, full, &node, name, &attr);
    in_lib--;
    pthread_mutex_unlock(&dev_lock);
    if (rc != 0)
        return 0; /* not the tree's, or missing in it */
    tsm_node_kind = node;
    snprintf(tsm_path, sizeof tsm_path, "%s", full);
    if (node != MC_TSM_DIR)
        memcpy(tsm_name, name, sizeof tsm_name);
    tsm_attr = attr;
    return node == MC_TSM_FILE ? TSM_FILE : TSM_DIR;
}

/* An open attribute file: what configfs keeps per open file (its buffer, filled at the first read
 * or by writes, stored at the release of a binary attribute written to). Shared by duplicates.
 * An open folder (dir): its path, and the names it lists in buf (NUL after each, read when the
 * listing starts at position 0), pos the index of the next entry ("." and ".." are 0 and 1). */
#define MAX_OFDS 64
struct ofd {
    bool used, filled, wrote, dir;
    char *dpath;
    int refs;
    int mfd; /* the library's own read-write descriptor of the backing memfd (-1: none) */
    char name[MC_TSM_NAME_MAX + 1];
    enum mc_tsm_attr attr;
    uint8_t *buf;
    size_t len;
    off_t pos;
};
static struct ofd ofds[MAX_OFDS]; /* dev_lock */

/* The open file behind fd with dev_lock taken (the caller unlocks), or NULL with errno EBADF. */
static int ofd_of(int fd);
static struct ofd *ofd_lock(int fd)
{
    int i = ofd_of(fd);
    if (i < 0)
        return errno = EBADF, NULL;
    pthread_mutex_lock(&dev_lock);
    return &ofds[i];
}

/* The last reference goes. What was written into the file's buffer — the backing memfd: writes
 * through write(), through stdio, or by system calls this library never saw — is stored, as
 * configfs stores a binary attribute at release (its result ignored). A normal attribute stores at
 * each write() seen here; bytes that reached its buffer around write() are stored now. */
static void ofd_release(int i)
{
    pthread_mutex_lock(&dev_lock);
    struct ofd *o = &ofds[i];
    if (o->used && --o->refs <= 0) {
        uint8_t data[MC_TSM_INBLOB_MAX + 1];
        ssize_t n = o->mfd >= 0 && (mc_tsm_attr_mode(o->attr) & 0222) ? get_pread()(o->mfd, data, sizeof data, 0) : 0;
        if (n > (ssize_t)MC_TSM_INBLOB_MAX)
            n = MC_TSM_INBLOB_MAX;
        if ((n > 0 || (o->wrote && mc_tsm_attr_binary(o->attr))) && !tsm_tree()) {
            in_lib++;
            mc_tsm_store(tsmt, o->name, o->attr, data, n > 0 ? (size_t)n : 0, NULL);
            in_lib--;
        }
        if (o->mfd >= 0)
            get_close()(o->mfd);
        free(o->buf);
        free(o->dpath);
        memset(o, 0, sizeof *o);
    }
    pthread_mutex_unlock(&dev_lock);
}

static void ofd_ref(int i)
{
    pthread_mutex_lock(&dev_lock);
    ofds[i].refs++;
    pthread_mutex_unlock(&dev_lock);
}

/* A fresh inode for an emulated descriptor: an empty memfd reopened with the caller's access mode
 * and flags (the memfd itself is read-write). */
static int backing_fd(int flags, const char *name, int *rw)
{
    int keep = flags & (O_ACCMODE | O_CLOEXEC | O_NONBLOCK | O_PATH);
    if ((keep & O_ACCMODE) == O_ACCMODE)
        keep &= ~O_ACCMODE; /* access mode 3: neither read nor write */
    int mfd = memfd_create(name, MFD_CLOEXEC);
    if (mfd < 0)
        return -1;
    char self[64];
    snprintf(self, sizeof self, "/proc/self/fd/%d", mfd);
    int fd = get_open()(self, keep);
    if (fd >= 0 && rw) {
        *rw = mfd; /* the library's own read-write view of the buffer */
    } else if (fd >= 0) {
        get_close()(mfd);
    } else { /* no /proc: keep the memfd as it is */
        fd = mfd;
        if (rw)
            *rw = -1;
        if (!(keep & O_CLOEXEC))
            get_fcntl()(fd, F_SETFD, 0);
    }
    return fd;
}

/* A read-write descriptor of the memfd behind fd (an inherited emulated descriptor), or -1. */
static int reopen_rw(int fd)
{
    char self[64];
    snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
    return get_open()(self, O_RDWR | O_CLOEXEC);
}

/* A free open-file slot, one reference: an attribute (tsm_name, tsm_attr of this thread) or a
 * folder (dir, its path dpath, owned by the slot from now on). -1 with ENFILE when all are used. */
static int ofd_alloc(bool dir, char *dpath)
{
    pthread_mutex_lock(&dev_lock);
    int i = 0;
    while (i < MAX_OFDS && ofds[i].used)
        i++;
    if (i < MAX_OFDS) {
        memset(&ofds[i], 0, sizeof ofds[i]);
        ofds[i].used = true;
        ofds[i].refs = 1;
        ofds[i].mfd = -1;
        ofds[i].dir = dir;
        ofds[i].dpath = dpath;
        ofds[i].attr = tsm_attr;
        memcpy(ofds[i].name, tsm_name, sizeof tsm_name);
    }
    pthread_mutex_unlock(&dev_lock);
    return i < MAX_OFDS ? i : (errno = ENFILE, -1);
}

/* The descriptor of open file (or folder) slot i: a backing memfd named mname, remembered with
 * efd; the slot is released when that fails. */
static int ofd_fd(int i, int flags, const char *mname, int efd)
{
    int rw = -1;
    int fd = backing_fd(flags & ~O_DIRECTORY, mname, efd == EFD_TSM ? &rw : NULL);
    ofds[i].mfd = rw; /* the slot is ours: used is set */
    if (fd < 0 || !remember_ofd(fd, (flags & (O_ACCMODE | O_PATH)) | efd, i)) {
        int e = fd < 0 ? errno : EMFILE;
        if (fd >= 0)
            get_close()(fd);
        ofd_release(i);
        return errno = e, -1;
    }
    return fd;
}

/* open() of an attribute: configfs's checks (no store for a writer or no show for a reader:
 * EACCES), then a descriptor with its own buffer. */
static int tsm_open(int flags)
{
    if ((flags & O_CREAT) && (flags & O_EXCL))
        return errno = EEXIST, -1;
    if (flags & O_DIRECTORY)
        return errno = ENOTDIR, -1;
    unsigned mode = mc_tsm_attr_mode(tsm_attr);
    int acc = flags & O_ACCMODE;
    if (!(flags & O_PATH) && (((acc == O_RDONLY || acc == O_RDWR) && !(mode & 0444)) ||
                              ((acc == O_WRONLY || acc == O_RDWR) && !(mode & 0222))))
        return errno = EACCES, -1;
    int i = ofd_alloc(false, NULL);
    if (i < 0)
        return -1;
    char mname[MC_TSM_NAME_MAX + 64];
    snprintf(mname, sizeof mname, "memcrypt-tsm:%s:%s", mc_tsm_attr_name(tsm_attr), tsm_name);
    return ofd_fd(i, flags, mname, EFD_TSM);
}

/* read/write on an attribute at *pos (the file's position, or a pread/pwrite offset). */
static ssize_t tsm_rw(int fd, int fl, void *b, size_t n, off_t *pos, bool wr)
{
    int acc = fl & O_ACCMODE;
    if ((fl & O_PATH) || (wr ? acc == O_RDONLY : acc == O_WRONLY))
        return errno = EBADF, -1;
    struct ofd *o = ofd_lock(fd);
    if (!o)
        return -1;
    ssize_t r = 0;
    int e = 0;
    off_t p = pos ? *pos : o->pos;
    in_lib++;
    int te = tsm_tree();
    if (te) {
        e = te;
    } else if (p < 0 && !(wr && mc_tsm_attr_binary(o->attr))) {
        e = EINVAL;
    } else if (wr && mc_tsm_attr_binary(o->attr)) { /* configfs_bin_write_iter: buffered to the release */
        if (!pos) /* the file position of the buffer is the memfd's (stdio and system calls move it) */
            p = get_lseek()(fd, 0, SEEK_CUR);
        if ((uint64_t)p + n > MC_TSM_INBLOB_MAX) {
            e = EFBIG;
        } else {
            r = pos ? get_pwrite()(fd, b, n, p) : get_write()(fd, b, n);
            e = r < 0 ? errno : 0;
            r = r < 0 ? 0 : r;
            o->wrote = true;
            pos = NULL; /* the position moved with the memfd's */
            p = -1;
        }
    } else if (wr) { /* configfs_write_iter: each write is one store */
        struct mc_error err = {0};
        long rc = mc_tsm_store(tsmt, o->name, o->attr, b, n, &err);
        if (rc < 0)
            e = (int)-rc;
        else
            r = rc;
    } else {
        if (!o->filled) { /* the first read fills the buffer; an error leaves it for the next */
            if (o->attr == MC_TSM_OUTBLOB || o->attr == MC_TSM_AUXBLOB) {
                e = guest_device();
                if (!e)
                    mc_tsm_set_guest(tsmt, gdev);
            }
            struct mc_error err = {0};
            int rc = e ? 0 : mc_tsm_read(tsmt, o->name, o->attr, &o->buf, &o->len, &err);
            if (rc < 0) {
                e = -rc;
                if (err.msg[0])
                    say("memcrypt-sev: configfs-tsm: %s", err.msg);
            } else if (!e) {
                o->filled = true;
            }
        }
        if (!e && (size_t)p < o->len) {
            r = (ssize_t)((size_t)p + n > o->len ? o->len - (size_t)p : n);
            memcpy(b, o->buf + p, (size_t)r);
        }
    }
    in_lib--;
    if (!e && p >= 0) {
        if (pos)
            *pos = p + r;
        else
            o->pos = p + r;
    }
    pthread_mutex_unlock(&dev_lock);
    return e ? (errno = e, -1) : r;
}

/* A normal attribute's bytes that reached its buffer around write(): stored now (configfs stores
 * each write), the buffer emptied. 0 or the store's errno. */
static int tsm_drain(int i, int fd)
{
    pthread_mutex_lock(&dev_lock);
    struct ofd *o = &ofds[i];
    uint8_t data[256];
    ssize_t n = o->used && o->mfd >= 0 ? get_pread()(o->mfd, data, sizeof data, 0) : 0;
    int e = 0;
    if (n > 0) {
        in_lib++;
        long rc = tsm_tree() ? -EIO : mc_tsm_store(tsmt, o->name, o->attr, data, (size_t)n, NULL);
        in_lib--;
        e = rc < 0 ? (int)-rc : 0;
        if (ftruncate(o->mfd, 0) == 0)
            get_lseek()(fd, 0, SEEK_SET);
    }
    pthread_mutex_unlock(&dev_lock);
    return e;
}

static off_t tsm_seek(int fd, off_t off, int whence)
{
    int i = ofd_of(fd);
    if (i < 0)
        return errno = EBADF, -1;
    if (mc_tsm_attr_mode(ofds[i].attr) & 0222) /* a written buffer is the memfd */
        return get_lseek()(fd, off, whence);
    pthread_mutex_lock(&dev_lock);
    off_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? ofds[i].pos : whence == SEEK_END ? 4096 : -1;
    off_t r = base < 0 || (off < 0 && -off > base) ? -1 : base + off;
    if (r >= 0)
        ofds[i].pos = r;
    pthread_mutex_unlock(&dev_lock);
    return r < 0 ? (errno = EINVAL, -1) : r;
}

/* ---- configfs-tsm folders: open, getdents64, the dirent stream --------------------------- */

/* The inode number of a node of the tree: made from its path, so stat and readdir agree and every
 * folder is distinct (ls -R tells folders apart by device and inode). */
static ino_t tsm_ino(const char *path)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (const char *c = path; *c; c++)
        h = (h ^ (uint8_t)*c) * 0x100000001b3ull;
    return (ino_t)(0x1000 + h % 0x7fffe000u);
}

/* A slot for an open folder of path (its duplicates share it), or -1 (errno set). */
static int tsmdir_slot(const char *p)
{
    char *path = strdup(p);
    if (!path)
        return errno = ENOMEM, -1;
    int i = ofd_alloc(true, path);
    if (i < 0)
        free(path);
    return i;
}

/* The folder an emulated descriptor is open on, or NULL (borrowed: the slot lives while fd is open). */
static const char *tsmdir_path(int dirfd)
{
    int fl = emulated(dirfd), o = fl >= 0 && (fl & EFD_TSMDIR) ? ofd_of(dirfd) : -1;
    return o >= 0 ? ofds[o].dpath : NULL;
}

/* open() of a folder (the one in tsm_path): read only (a writer is EISDIR, as the VFS answers for
 * any folder). The backing memfd is named after the folder, for a program that inherits it. */
static int tsmdir_open(int flags)
{
    int acc = flags & O_ACCMODE;
    if (!(flags & O_PATH) && (acc != O_RDONLY || (flags & O_CREAT) || (flags & O_TRUNC)))
        return errno = EISDIR, -1;
    int i = tsmdir_slot(tsm_path);
    if (i < 0)
        return -1;
    char mname[PATH_MAX + 32];
    snprintf(mname, sizeof mname, "memcrypt-tsmdir:%s", tsm_path);
    return ofd_fd(i, flags, mname, EFD_TSMDIR);
}

/* Entry idx of open folder o: ".", "..", then the names the tree lists (read at idx 0). 1 with the
 * entry, 0 past the end, or -errno. dev_lock held. */
static int tsmdir_entry(struct ofd *o, size_t idx, char *name, size_t cap, ino_t *ino, unsigned char *type)
{
    if (idx == 0 && !o->filled) {
        char *b = NULL;
        size_t n = 0;
        in_lib++;
        int rc = tsm_tree() ? -EIO : mc_tsm_list(tsmt, o->dpath, &b, &n);
        in_lib--;
        if (rc < 0)
            return rc;
        free(o->buf);
        o->buf = (uint8_t *)b;
        o->len = n;
        o->filled = true;
    }
    *type = DT_DIR;
    if (idx < 2) {
        char parent[PATH_MAX];
        snprintf(parent, sizeof parent, "%s", o->dpath);
        char *slash = strrchr(parent, '/');
        if (idx == 1 && slash)
            *slash = 0;
        snprintf(name, cap, "%s", idx ? ".." : ".");
        *ino = tsm_ino(parent);
        return 1;
    }
    size_t k = 2, off = 0;
    while (off < o->len && k < idx) {
        off += strlen((const char *)o->buf + off) + 1;
        k++;
    }
    if (off >= o->len)
        return 0;
    const char *nm = (const char *)o->buf + off;
    char full[PATH_MAX];
    snprintf(full, sizeof full, "%s/%s", o->dpath, nm);
    snprintf(name, cap, "%s", nm);
    *ino = tsm_ino(full);
    /* the root and the report folder hold folders; an item holds attributes */
    size_t rl = strlen(MC_TSM_ROOT "/report/");
    *type = strncmp(o->dpath, MC_TSM_ROOT "/report/", rl) == 0 ? DT_REG : DT_DIR;
    return 1;
}

struct linux_dirent64_hdr { /* the kernel's struct linux_dirent64 without its name */
    uint64_t d_ino;
    int64_t d_off;
    uint16_t d_reclen;
    uint8_t d_type;
};
#define DIRENT64_NAME 19 /* offsetof(struct linux_dirent64, d_name) */

/* getdents64 on a folder: as many whole records as fit (none fits: EINVAL), the position moved. */
static ssize_t tsmdir_getdents(int fd, int fl, void *buf, size_t count)
{
    struct ofd *o = fl & O_PATH ? (errno = EBADF, NULL) : ofd_lock(fd);
    if (!o)
        return -1;
    size_t used = 0;
    int e = 0;
    for (;;) {
        char name[MC_TSM_NAME_MAX + 1];
        ino_t ino;
        unsigned char type;
        int r = tsmdir_entry(o, (size_t)o->pos, name, sizeof name, &ino, &type);
        if (r < 0) {
            e = -r;
            break;
        }
        if (r == 0)
            break;
        size_t nl = strlen(name), rec = (DIRENT64_NAME + nl + 1 + 7) & ~(size_t)7;
        if (used + rec > count) {
            if (used == 0)
                e = EINVAL;
            break;
        }
        struct linux_dirent64_hdr h = {(uint64_t)ino, o->pos + 1, (uint16_t)rec, type};
        uint8_t *p = (uint8_t *)buf + used;
        memset(p, 0, rec);
        memcpy(p, &h, DIRENT64_NAME);
        memcpy(p + DIRENT64_NAME, name, nl);
        used += rec;
        o->pos++;
    }
    pthread_mutex_unlock(&dev_lock);
    return e && !used ? (errno = e, -1) : (ssize_t)used;
}

/* configfs_dir_lseek: SEEK_SET and SEEK_CUR, a position that is an entry index; 0 lists anew. */
static off_t tsmdir_seek(int fd, off_t off, int whence)
{
    struct ofd *o = ofd_lock(fd);
    if (!o)
        return -1;
    off_t r = whence == SEEK_SET ? off : whence == SEEK_CUR ? o->pos + off : -1;
    if (r >= 0) {
        o->pos = r;
        if (r == 0)
            o->filled = false;
    }
    pthread_mutex_unlock(&dev_lock);
    return r < 0 ? (errno = EINVAL, -1) : r;
}

EXPORT ssize_t getdents64(int fd, void *buf, size_t count)
{
    int fl = emulated(fd);
    if (fl >= 0 && (fl & EFD_TSMDIR))
        return tsmdir_getdents(fd, fl, buf, count);
    if (fl >= 0)
        return errno = ENOTDIR, -1;
    return get_getdents64()(fd, buf, count);
}

/* The dirent stream of a folder: opendir/fdopendir give one of these (a DIR of this library, told
 * apart from the C library's by the table below), readdir & co. read it through tsmdir_entry. */
_Static_assert(sizeof(struct dirent) == sizeof(struct dirent64), "dirent and dirent64 are one layout on LP64");
#define MAX_DIRS 32
struct edir {
    int fd;
    struct dirent64 ent;
};
static struct edir *edirs[MAX_DIRS]; /* tab_lock */

static struct edir *edir_of(DIR *d)
{
    if (!d || __atomic_load_n(&ntab, __ATOMIC_ACQUIRE) == 0)
        return NULL;
    struct edir *r = NULL;
    pthread_mutex_lock(&tab_lock);
    for (int i = 0; i < MAX_DIRS && !r; i++)
        if (edirs[i] == (struct edir *)d)
            r = edirs[i];
    pthread_mutex_unlock(&tab_lock);
    return r;
}

static DIR *edir_new(int fd)
{
    struct edir *e = calloc(1, sizeof *e);
    if (!e)
        return errno = ENOMEM, NULL;
    e->fd = fd;
    pthread_mutex_lock(&tab_lock);
    int i = 0;
    while (i < MAX_DIRS && edirs[i])
        i++;
    if (i < MAX_DIRS)
        edirs[i] = e;
    pthread_mutex_unlock(&tab_lock);
    if (i == MAX_DIRS) {
        free(e);
        return errno = EMFILE, NULL;
    }
    return (DIR *)e;
}

EXPORT DIR *fdopendir(int fd)
{
    int fl = emulated(fd);
    if (fl < 0)
        return get_fdopendir()(fd);
    if (!(fl & EFD_TSMDIR))
        return errno = ENOTDIR, NULL;
    if (fl & O_PATH)
        return errno = EBADF, NULL;
    return edir_new(fd);
}

EXPORT DIR *opendir(const char *path)
{
    int k = is_dev_path(AT_FDCWD, path);
    if (!k)
        return get_opendir()(path);
    if (k != TSM_DIR)
        return errno = ENOTDIR, NULL;
    int fd = tsmdir_open(O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    DIR *d = edir_new(fd);
    if (!d) {
        int e = errno;
        forget(fd);
        get_close()(fd);
        errno = e;
    }
    return d;
}

EXPORT int closedir(DIR *d)
{
    struct edir *e = edir_of(d);
    if (!e)
        return get_closedir()(d);
    pthread_mutex_lock(&tab_lock);
    for (int i = 0; i < MAX_DIRS; i++)
        if (edirs[i] == e)
            edirs[i] = NULL;
    pthread_mutex_unlock(&tab_lock);
    int fd = e->fd;
    free(e);
    return close(fd);
}

/* The next entry, or NULL (errno kept at the end of the folder, set on an error). */
static struct dirent64 *edir_read(struct edir *e)
{
    struct ofd *o = ofd_lock(e->fd);
    if (!o)
        return NULL;
    ino_t ino;
    unsigned char type;
    int r = tsmdir_entry(o, (size_t)o->pos, e->ent.d_name, sizeof e->ent.d_name, &ino, &type);
    if (r > 0) {
        o->pos++;
        e->ent.d_ino = ino;
        e->ent.d_off = o->pos;
        e->ent.d_type = type;
        e->ent.d_reclen = sizeof e->ent;
    }
    pthread_mutex_unlock(&dev_lock);
    if (r < 0)
        errno = -r;
    return r > 0 ? &e->ent : NULL;
}

EXPORT struct dirent *readdir(DIR *d)
{
    struct edir *e = edir_of(d);
    return e ? (struct dirent *)edir_read(e) : get_readdir()(d);
}
EXPORT struct dirent64 *readdir64(DIR *d)
{
    struct edir *e = edir_of(d);
    return e ? edir_read(e) : get_readdir64()(d);
}
static int edir_read_r(struct edir *e, struct dirent64 *ent, struct dirent64 **res)
{
    int saved = errno;
    errno = 0;
    struct dirent64 *r = edir_read(e);
    int err = errno;
    errno = saved;
    if (r)
        memcpy(ent, r, sizeof *ent);
    *res = r ? ent : NULL;
    return r ? 0 : err;
}
EXPORT int readdir_r(DIR *d, struct dirent *ent, struct dirent **res)
{
    struct edir *e = edir_of(d);
    return e ? edir_read_r(e, (struct dirent64 *)ent, (struct dirent64 **)res) : get_readdir_r()(d, ent, res);
}
EXPORT int readdir64_r(DIR *d, struct dirent64 *ent, struct dirent64 **res)
{
    struct edir *e = edir_of(d);
    return e ? edir_read_r(e, ent, res) : get_readdir64_r()(d, ent, res);
}
EXPORT int dirfd(DIR *d)
{
    struct edir *e = edir_of(d);
    return e ? e->fd : get_dirfd()(d);
}
EXPORT void rewinddir(DIR *d)
{
    struct edir *e = edir_of(d);
    if (e)
        tsmdir_seek(e->fd, 0, SEEK_SET);
    else
        get_rewinddir()(d);
}
EXPORT long telldir(DIR *d)
{
    struct edir *e = edir_of(d);
    return e ? (long)tsmdir_seek(e->fd, 0, SEEK_CUR) : get_telldir()(d);
}
EXPORT void seekdir(DIR *d, long pos)
{
    struct edir *e = edir_of(d);
    if (e)
        tsmdir_seek(e->fd, pos, SEEK_SET);
    else
        get_seekdir()(d, pos);
}

/* mkdir/rmdir in the tree: the report folder's items; the rest as configfs answers. */
static int tsm_dirop(int dirfd, const char *path, bool make)
{
    if (!path || !tsm_candidate(dirfd, path))
        return 1;
    char full[PATH_MAX];
    if (full_path(dirfd, path, full, sizeof full))
        return 1;
    const char *rep = MC_TSM_ROOT "/report";
    size_t rl = strlen(rep), tl = strlen(MC_TSM_ROOT);
    if (strncmp(full, MC_TSM_ROOT, tl) != 0 || (full[tl] && full[tl] != '/'))
        return 1;
    pthread_mutex_lock(&dev_lock);
    in_lib++;
    int rc = tsm_tree();
    rc = rc ? -rc : 0;
    if (!rc) {
        if (!strcmp(full, MC_TSM_ROOT) || !strcmp(full, rep)) {
            rc = make ? -EEXIST : -EPERM;
        } else if (strncmp(full, rep, rl) != 0 || full[rl] != '/') {
            rc = -ENOENT;
        } else {
            const char *name = full + rl + 1, *slash = strchr(name, '/');
            if (!slash) {
                rc = make ? mc_tsm_mkdir(tsmt, name) : mc_tsm_rmdir(tsmt, name);
            } else {
                enum mc_tsm_node node;
                char nm[MC_TSM_NAME_MAX + 1];
                enum mc_tsm_attr attr;
                char item[PATH_MAX];
                snprintf(item, sizeof item, "%.*s", (int)(slash - full), full);
                int l = mc_tsm_lookup(tsmt, full, &node, nm, &attr);
                int li = mc_tsm_lookup(tsmt, item, &node, nm, &attr);
                /* Inside an item: no sub-folders (EPERM); an attribute is not a folder (ENOTDIR). */
                rc = li ? -ENOENT : !l ? (make ? -EEXIST : -ENOTDIR) : make ? -EPERM : -ENOENT;
            }
        }
    }
    in_lib--;
    pthread_mutex_unlock(&dev_lock);
    return rc < 0 ? (errno = -rc, -1) : 0;
}

EXPORT int mkdir(const char *path, mode_t mode)
{
    int r = tsm_dirop(AT_FDCWD, path, true);
    return r <= 0 ? r : get_mkdir()(path, mode);
}
EXPORT int mkdirat(int dirfd, const char *path, mode_t mode)
{
    int r = tsm_dirop(dirfd, path, true);
    return r <= 0 ? r : get_mkdirat()(dirfd, path, mode);
}
EXPORT int rmdir(const char *path)
{
    int r = tsm_dirop(AT_FDCWD, path, false);
    return r <= 0 ? r : get_rmdir()(path);
}
EXPORT int unlinkat(int dirfd, const char *path, int flags)
{
    if (flags & AT_REMOVEDIR) {
        int r = tsm_dirop(dirfd, path, false);
        return r <= 0 ? r : get_unlinkat()(dirfd, path, flags);
    }
    int k = is_dev_path(dirfd, path); /* configfs has no unlink */
    return k >= TSM_DIR ? (errno = k == TSM_DIR ? EISDIR : EPERM, -1) : get_unlinkat()(dirfd, path, flags);
}
EXPORT int unlink(const char *path)
{
    int k = is_dev_path(AT_FDCWD, path);
    return k >= TSM_DIR ? (errno = k == TSM_DIR ? EISDIR : EPERM, -1) : get_unlink()(path);
}

/* open() of a device: the checks the VFS makes on a character device, then a descriptor. */
static int dev_open(int kind, int flags)
{
    if (kind == TSM_FILE)
        return tsm_open(flags);
    if (kind == TSM_DIR)
        return tsmdir_open(flags);
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
    int fd = backing_fd(flags, kind == DEV_GUEST ? "memcrypt-sev-guest" : "memcrypt-sev", NULL);
    if (fd < 0)
        return -1;
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
    if ((fl & (EFD_TSM | EFD_TSMDIR)) && req != FIOCLEX && req != FIONCLEX && req != FIONBIO && req != FIOASYNC)
        return errno = ENOTTY, -1; /* configfs files have no ioctl */
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
            int o = ofd_of(oldfd);
            if (o >= 0 && newfd != oldfd)
                ofd_ref(o);
            if (!remember_ofd(newfd, fl, o)) {
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

/* The kind of an emulated descriptor (for a tsm attribute, tsm_attr is set to its attribute). */
static int fd_kind(int fd, int fl)
{
    if (fl & (EFD_TSM | EFD_TSMDIR)) {
        int o = ofd_of(fd);
        if (o >= 0 && (fl & EFD_TSMDIR))
            snprintf(tsm_path, sizeof tsm_path, "%s", ofds[o].dpath);
        else if (o >= 0)
            snprintf(tsm_path, sizeof tsm_path, "%s/report/%s/%s", MC_TSM_ROOT, ofds[o].name,
                     mc_tsm_attr_name(tsm_attr = ofds[o].attr));
        return fl & EFD_TSMDIR ? TSM_DIR : TSM_FILE;
    }
    return (fl & EFD_GUEST) ? DEV_GUEST : DEV_SEV;
}

/* A folder's links: 2 and one per sub-folder (the root: report; the report folder: its items). */
static nlink_t tsm_nlink(const char *path)
{
    if (strcmp(path, MC_TSM_ROOT "/report") != 0)
        return strcmp(path, MC_TSM_ROOT) ? 2 : 3;
    char *b = NULL;
    size_t n = 0, items = 0;
    pthread_mutex_lock(&dev_lock);
    in_lib++;
    if (!tsm_tree() && mc_tsm_list(tsmt, path, &b, &n) == 0)
        for (size_t i = 0; i < n; i++)
            items += b[i] == 0;
    in_lib--;
    pthread_mutex_unlock(&dev_lock);
    free(b);
    return 2 + items;
}

static void fill_stat(struct stat *st, int kind)
{
    if (kind == TSM_DIR || kind == TSM_FILE) { /* configfs: folders 0755, attributes 0444 / 0200 */
        memset(st, 0, sizeof *st);
        st->st_dev = makedev(0, 0x1c);
        st->st_ino = tsm_ino(tsm_path);
        st->st_mode = kind == TSM_DIR ? (S_IFDIR | 0755) : (S_IFREG | mc_tsm_attr_mode(tsm_attr));
        st->st_nlink = kind == TSM_DIR ? tsm_nlink(tsm_path) : 1;
        st->st_size = kind == TSM_DIR ? 0 : 4096;
        st->st_blksize = 4096;
        st->st_atim = st->st_mtim = st->st_ctim = dev_time;
        return;
    }
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
        return fill_stat(st, fd_kind(fd, fl)), 0;
    return get_fstat()(fd, st);
}
EXPORT int fstat64(int fd, struct stat64 *st)
{
    int fl = emulated(fd);
    if (fl >= 0)
        return fill_stat((struct stat *)st, fd_kind(fd, fl)), 0;
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
        return fl >= 0 ? fd_kind(dirfd, fl) : 0;
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
    sx->stx_rdev_major = major(st.st_rdev);
    sx->stx_rdev_minor = minor(st.st_rdev);
    sx->stx_dev_major = major(st.st_dev);
    sx->stx_dev_minor = minor(st.st_dev);
    sx->stx_size = (uint64_t)st.st_size;
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
    return fl >= 0 ? (fill_stat(st, fd_kind(fd, fl)), 0) : get_fstat()(fd, st);
}
EXPORT int __fxstat64(int v __attribute__((unused)), int fd, struct stat64 *st)
{
    int fl = emulated(fd);
    return fl >= 0 ? (fill_stat((struct stat *)st, fd_kind(fd, fl)), 0) : get_fstat64()(fd, st);
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

static int dev_access(int kind, int mode)
{
    return (mode & X_OK) && kind != TSM_DIR ? (errno = EACCES, -1) : 0;
}
EXPORT int access(const char *p, int mode)
{
    int k = is_dev_path(AT_FDCWD, p);
    return k ? dev_access(k, mode) : get_access()(p, mode);
}
EXPORT int faccessat(int dirfd, const char *p, int mode, int flags)
{
    int k = is_dev_path(dirfd, p);
    return k ? dev_access(k, mode) : get_faccessat()(dirfd, p, mode, flags);
}

/* ---- extended attributes --------------------------------------------------------------------- */

/* Neither configfs nor this device node has xattr handlers, and no security module labels them
 * here: the VFS answers EOPNOTSUPP to get/set/remove and an empty list (ls -l asks for
 * security.selinux and the ACLs of every entry). */
#define XATTR_NONE(kind) ((void)(kind), errno = EOPNOTSUPP, -1)
EXPORT ssize_t getxattr(const char *p, const char *n, void *v, size_t z)
{
    int k = is_dev_path(AT_FDCWD, p);
    return k ? XATTR_NONE(k) : get_getxattr()(p, n, v, z);
}
EXPORT ssize_t lgetxattr(const char *p, const char *n, void *v, size_t z)
{
    int k = is_dev_path(AT_FDCWD, p);
    return k ? XATTR_NONE(k) : get_lgetxattr()(p, n, v, z);
}
EXPORT ssize_t fgetxattr(int fd, const char *n, void *v, size_t z)
{
    int fl = emulated(fd);
    return fl >= 0 ? XATTR_NONE(fl) : get_fgetxattr()(fd, n, v, z);
}
EXPORT ssize_t listxattr(const char *p, char *l, size_t z)
{
    return is_dev_path(AT_FDCWD, p) ? 0 : get_listxattr()(p, l, z);
}
EXPORT ssize_t llistxattr(const char *p, char *l, size_t z)
{
    return is_dev_path(AT_FDCWD, p) ? 0 : get_llistxattr()(p, l, z);
}
EXPORT ssize_t flistxattr(int fd, char *l, size_t z)
{
    return emulated(fd) >= 0 ? 0 : get_flistxattr()(fd, l, z);
}
EXPORT int setxattr(const char *p, const char *n, const void *v, size_t z, int f)
{
    int k = is_dev_path(AT_FDCWD, p);
    return k ? XATTR_NONE(k) : get_setxattr()(p, n, v, z, f);
}
EXPORT int lsetxattr(const char *p, const char *n, const void *v, size_t z, int f)
{
    int k = is_dev_path(AT_FDCWD, p);
    return k ? XATTR_NONE(k) : get_lsetxattr()(p, n, v, z, f);
}
EXPORT int fsetxattr(int fd, const char *n, const void *v, size_t z, int f)
{
    int fl = emulated(fd);
    return fl >= 0 ? XATTR_NONE(fl) : get_fsetxattr()(fd, n, v, z, f);
}
EXPORT int removexattr(const char *p, const char *n)
{
    int k = is_dev_path(AT_FDCWD, p);
    return k ? XATTR_NONE(k) : get_removexattr()(p, n);
}
EXPORT int lremovexattr(const char *p, const char *n)
{
    int k = is_dev_path(AT_FDCWD, p);
    return k ? XATTR_NONE(k) : get_lremovexattr()(p, n);
}
EXPORT int fremovexattr(int fd, const char *n)
{
    int fl = emulated(fd);
    return fl >= 0 ? XATTR_NONE(fl) : get_fremovexattr()(fd, n);
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
    errno = ok && !(fl & O_PATH) ? ((fl & EFD_TSMDIR) ? EISDIR : EINVAL) : EBADF;
    return -1;
}

EXPORT ssize_t read(int fd, void *b, size_t n)
{
    int fl = emulated(fd);
    if (fl >= 0 && (fl & EFD_TSM))
        return tsm_rw(fd, fl, (void *)b, n, NULL, false);
    return fl >= 0 ? rw_err(fl, false) : get_read()(fd, b, n);
}
EXPORT ssize_t write(int fd, const void *b, size_t n)
{
    int fl = emulated(fd);
    if (fl >= 0 && (fl & EFD_TSM))
        return tsm_rw(fd, fl, (void *)b, n, NULL, true);
    return fl >= 0 ? rw_err(fl, true) : get_write()(fd, b, n);
}
EXPORT ssize_t pread(int fd, void *b, size_t n, off_t o)
{
    int fl = emulated(fd);
    if (fl >= 0 && (fl & EFD_TSM)) {
        off_t at = (off_t)o;
        return tsm_rw(fd, fl, (void *)b, n, &at, false);
    }
    return fl >= 0 ? rw_err(fl, false) : get_pread()(fd, b, n, o);
}
EXPORT ssize_t pread64(int fd, void *b, size_t n, off64_t o)
{
    int fl = emulated(fd);
    if (fl >= 0 && (fl & EFD_TSM)) {
        off_t at = (off_t)o;
        return tsm_rw(fd, fl, (void *)b, n, &at, false);
    }
    return fl >= 0 ? rw_err(fl, false) : get_pread64()(fd, b, n, o);
}
EXPORT ssize_t pwrite(int fd, const void *b, size_t n, off_t o)
{
    int fl = emulated(fd);
    if (fl >= 0 && (fl & EFD_TSM)) {
        off_t at = (off_t)o;
        return tsm_rw(fd, fl, (void *)b, n, &at, true);
    }
    return fl >= 0 ? rw_err(fl, true) : get_pwrite()(fd, b, n, o);
}
EXPORT ssize_t pwrite64(int fd, const void *b, size_t n, off64_t o)
{
    int fl = emulated(fd);
    if (fl >= 0 && (fl & EFD_TSM)) {
        off_t at = (off_t)o;
        return tsm_rw(fd, fl, (void *)b, n, &at, true);
    }
    return fl >= 0 ? rw_err(fl, true) : get_pwrite64()(fd, b, n, o);
}
/* readv/writev on an attribute: one buffer (configfs gets the whole vector in one call). */
static ssize_t tsm_rwv(int fd, int fl, const struct iovec *v, int n, bool wr)
{
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += v[i].iov_len;
    if (n < 0 || total > (1u << 20))
        return errno = EINVAL, -1;
    uint8_t *b = malloc(total ? total : 1);
    if (!b)
        return errno = ENOMEM, -1;
    size_t off = 0;
    for (int i = 0; wr && i < n; off += v[i].iov_len, i++)
        memcpy(b + off, v[i].iov_base, v[i].iov_len);
    ssize_t r = tsm_rw(fd, fl, b, total, NULL, wr);
    for (int i = 0, done = 0; !wr && r > 0 && i < n && done < r; i++) {
        size_t k = (size_t)(r - done) < v[i].iov_len ? (size_t)(r - done) : v[i].iov_len;
        memcpy(v[i].iov_base, b + done, k);
        done += (int)k;
    }
    int e = errno;
    free(b);
    errno = e;
    return r;
}

EXPORT ssize_t readv(int fd, const struct iovec *v, int n)
{
    int fl = emulated(fd);
    if (fl >= 0 && (fl & EFD_TSM))
        return tsm_rwv(fd, fl, v, n, false);
    return fl >= 0 ? rw_err(fl, false) : get_readv()(fd, v, n);
}
EXPORT ssize_t writev(int fd, const struct iovec *v, int n)
{
    int fl = emulated(fd);
    if (fl >= 0 && (fl & EFD_TSM))
        return tsm_rwv(fd, fl, v, n, true);
    return fl >= 0 ? rw_err(fl, true) : get_writev()(fd, v, n);
}

EXPORT off_t lseek(int fd, off_t off, int whence)
{
    int fl = emulated(fd);
    if (fl >= 0 && (fl & EFD_TSMDIR))
        return tsmdir_seek(fd, off, whence);
    return fl >= 0 && (fl & EFD_TSM) ? tsm_seek(fd, off, whence) : get_lseek()(fd, off, whence);
}
EXPORT off64_t lseek64(int fd, off64_t off, int whence)
{
    int fl = emulated(fd);
    if (fl >= 0 && (fl & EFD_TSMDIR))
        return tsmdir_seek(fd, off, whence);
    return fl >= 0 && (fl & EFD_TSM) ? tsm_seek(fd, off, whence) : get_lseek64()(fd, off, whence);
}

/* configfs and a host's file system are different file systems: EXDEV (cat falls back to read). */
EXPORT ssize_t copy_file_range(int in, off64_t *ino, int out, off64_t *outo, size_t n, unsigned flags)
{
    if (emulated(in) >= 0 || emulated(out) >= 0)
        return errno = EXDEV, -1;
    return get_copy_file_range()(in, ino, out, outo, n, flags);
}

/* stdio writes reach the kernel through glibc's internal write, which no preloaded library sees: a
 * program that fflush()es a stream on an attribute (bash's echo does) gets the store's answer for the
 * buffered bytes here, as its write() would from configfs (an error sets the stream's error flag). */
EXPORT int fflush(FILE *f)
{
#ifdef __GLIBC__
    int fd = f ? fileno(f) : -1, fl = fd >= 0 ? emulated(fd) : -1;
    if (fl >= 0 && (fl & EFD_TSM) && f->_IO_write_ptr > f->_IO_write_base) {
        size_t n = (size_t)(f->_IO_write_ptr - f->_IO_write_base);
        ssize_t r = tsm_rw(fd, fl, f->_IO_write_base, n, NULL, true);
        f->_IO_write_ptr = f->_IO_write_base; /* consumed either way, as a failed write(2) leaves it */
        if (r < 0) {
            f->_flags |= 0x20; /* _IO_ERR_SEEN: ferror() */
            return EOF;
        }
    }
    /* What a line-buffered stream already wrote (glibc's own write) into a normal attribute's
     * buffer is stored now, with its answer. */
    int o = fl >= 0 && (fl & EFD_TSM) ? ofd_of(fd) : -1;
    if (o >= 0 && !mc_tsm_attr_binary(ofds[o].attr) && (mc_tsm_attr_mode(ofds[o].attr) & 0222)) {
        int e = tsm_drain(o, fd);
        if (e) {
            int r = get_fflush()(f);
            (void)r;
            f->_flags |= 0x20;
            errno = e;
            return EOF;
        }
    }
#endif
    return get_fflush()(f);
}

/* Descriptors inherited across exec (a shell's redirection, then the program): the backing memfd
 * names what it is ("memcrypt-sev", "memcrypt-sev-guest", "memcrypt-tsm:ATTR:ITEM"), so the new
 * program's emulated descriptors are adopted when it starts. */
__attribute__((constructor)) static void adopt(void)
{
    if (!getenv("MEMCRYPT_SEV_STATE"))
        return;
    for (int fd = 0; fd < MAX_FDS; fd++) {
        char self[64], target[PATH_MAX];
        snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(self, target, sizeof target - 1);
        if (n <= 0)
            continue;
        target[n] = 0;
        const char *m = "/memfd:memcrypt-";
        bool own = false; /* this library's own view of an adopted buffer */
        for (int i = 0; i < MAX_OFDS; i++)
            own |= ofds[i].used && ofds[i].mfd == fd;
        if (own || strncmp(target, m, strlen(m)) != 0)
            continue;
        char *name = target + strlen("/memfd:");
        char *end = strstr(name, " (deleted)");
        if (end)
            *end = 0;
        int acc = get_fcntl()(fd, F_GETFL);
        if (acc < 0)
            continue;
        acc &= O_ACCMODE | O_PATH;
        if (!strcmp(name, "memcrypt-sev")) {
            remember(fd, acc);
        } else if (!strcmp(name, "memcrypt-sev-guest")) {
            remember(fd, acc | EFD_GUEST);
        } else if (!strncmp(name, "memcrypt-tsmdir:", 16)) { /* a folder (listed anew) */
            int i = tsmdir_slot(name + 16);
            if (i >= 0 && !remember_ofd(fd, acc | EFD_TSMDIR, i))
                ofd_release(i);
        } else if (!strncmp(name, "memcrypt-tsm:", 13)) {
            char *attr = name + 13, *item = strchr(attr, ':');
            if (!item)
                continue;
            *item++ = 0;
            int a = 0;
            while (a < MC_TSM_NATTR && strcmp(mc_tsm_attr_name((enum mc_tsm_attr)a), attr))
                a++;
            if (a == MC_TSM_NATTR || strlen(item) > MC_TSM_NAME_MAX)
                continue;
            int i = 0;
            while (i < MAX_OFDS && ofds[i].used)
                i++;
            if (i == MAX_OFDS)
                continue;
            memset(&ofds[i], 0, sizeof ofds[i]);
            ofds[i].used = true;
            ofds[i].refs = 1;
            ofds[i].attr = (enum mc_tsm_attr)a;
            snprintf(ofds[i].name, sizeof ofds[i].name, "%s", item);
            ofds[i].mfd = reopen_rw(fd);
            if (!remember_ofd(fd, acc | EFD_TSM, i)) {
                if (ofds[i].mfd >= 0)
                    get_close()(ofds[i].mfd);
                memset(&ofds[i], 0, sizeof ofds[i]);
            }
        }
    }
}

/* Keep the chip's files tidy when the program exits normally. */
__attribute__((destructor)) static void unload(void)
{
    /* A program that exits without closing an attribute it wrote: the exit releases the file. */
    for (int i = 0; i < MAX_OFDS; i++)
        while (ofds[i].used)
            ofd_release(i);
    pthread_mutex_lock(&dev_lock);
    mc_tsm_destroy(tsmt);
    tsmt = NULL;
    mc_sevguest_destroy(gdev);
    gdev = NULL;
    mc_sevdev_destroy(dev);
    dev = NULL;
    pthread_mutex_unlock(&dev_lock);
}
