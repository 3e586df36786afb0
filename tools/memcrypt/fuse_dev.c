/* memcrypt exec --fuse: /dev/sev and /dev/sev-guest as FUSE files (Debian's libfuse3), for programs
 * the LD_PRELOAD interposer cannot reach (static binaries, Go programs making raw system calls).
 *
 * exec makes a private mount namespace (root: CAP_SYS_ADMIN), gives it its own /dev — a tmpfs
 * holding a bind mount of every entry of the host's /dev, so nothing outside changes — adds two
 * empty files there and mounts a single-file FUSE file system on each (the root node is a regular
 * file). The program runs in that namespace as exec's child; exec serves the FUSE requests until it
 * exits. FUSE forwards an ioctl of an ordinary file system "restricted": only the _IOC_SIZE bytes
 * of the ioctl structure travel in the request and back in the reply. The buffers that structure
 * points to are read and written in the caller's memory with process_vm_readv/writev (the FUSE
 * request names the caller's thread). The ioctl itself is decoded by the same library calls the
 * interposer makes (mc_sevdev_ioctl, mc_sevguest_ioctl): this file only moves bytes. libfuse3 is
 * loaded when --fuse runs (cli_dl.h). */
#define _GNU_SOURCE
#define FUSE_USE_VERSION 35
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fuse_lowlevel.h>

#include <memcrypt/sevdev.h>
#include <memcrypt/sevguest.h>

#include "cli.h"
#include "cli_dl.h"
#include "fuse_dev.h"

#ifndef MC_FUSE3_SONAME
#define MC_FUSE3_SONAME "libfuse3.so.3"
#endif

/* The libfuse3 functions exec --fuse calls, resolved from the library loaded at run time (cli_dl.h:
 * linked, every memcrypt process would load it). */
static struct {
    void *handle;
    struct fuse_session *(*session_new)(struct fuse_args *, const struct fuse_lowlevel_ops *, size_t, void *);
    int (*session_mount)(struct fuse_session *, const char *);
    void (*session_unmount)(struct fuse_session *);
    void (*session_destroy)(struct fuse_session *);
    int (*session_fd)(struct fuse_session *);
    int (*session_exited)(struct fuse_session *);
    void (*session_exit)(struct fuse_session *);
    int (*session_receive_buf)(struct fuse_session *, struct fuse_buf *);
    void (*session_process_buf)(struct fuse_session *, const struct fuse_buf *);
    int (*reply_err)(fuse_req_t, int);
    int (*reply_attr)(fuse_req_t, const struct stat *, double);
    int (*reply_open)(fuse_req_t, const struct fuse_file_info *);
    int (*reply_ioctl)(fuse_req_t, int, const void *, size_t);
    void *(*req_userdata)(fuse_req_t);
    const struct fuse_ctx *(*req_ctx)(fuse_req_t);
    void (*opt_free_args)(struct fuse_args *);
} F;

static int fuse_load(const char *prog)
{
    const char *so = MC_FUSE3_SONAME;
    void *h = mc_cli_dlopen(prog, so, "libfuse3-3 fuse3");
    if (!h || MC_CLI_DLSYM(prog, h, so, F.session_new, fuse_session_new) ||
        MC_CLI_DLSYM(prog, h, so, F.session_mount, fuse_session_mount) ||
        MC_CLI_DLSYM(prog, h, so, F.session_unmount, fuse_session_unmount) ||
        MC_CLI_DLSYM(prog, h, so, F.session_destroy, fuse_session_destroy) ||
        MC_CLI_DLSYM(prog, h, so, F.session_fd, fuse_session_fd) ||
        MC_CLI_DLSYM(prog, h, so, F.session_exited, fuse_session_exited) ||
        MC_CLI_DLSYM(prog, h, so, F.session_exit, fuse_session_exit) ||
        MC_CLI_DLSYM(prog, h, so, F.session_receive_buf, fuse_session_receive_buf) ||
        MC_CLI_DLSYM(prog, h, so, F.session_process_buf, fuse_session_process_buf) ||
        MC_CLI_DLSYM(prog, h, so, F.reply_err, fuse_reply_err) || MC_CLI_DLSYM(prog, h, so, F.reply_attr, fuse_reply_attr) ||
        MC_CLI_DLSYM(prog, h, so, F.reply_open, fuse_reply_open) ||
        MC_CLI_DLSYM(prog, h, so, F.reply_ioctl, fuse_reply_ioctl) ||
        MC_CLI_DLSYM(prog, h, so, F.req_userdata, fuse_req_userdata) ||
        MC_CLI_DLSYM(prog, h, so, F.req_ctx, fuse_req_ctx) ||
        MC_CLI_DLSYM(prog, h, so, F.opt_free_args, fuse_opt_free_args)) {
        if (h)
            dlclose(h);
        return -1;
    }
    F.handle = h;
    return 0;
}

enum { N_SEV, N_GUEST, N_MAX };
static const char *const node_path[N_MAX] = {"/dev/sev", "/dev/sev-guest"};

struct node {
    int kind;
    struct fuse_session *se;
    bool mounted;
};

/* The devices (one per exec: the FUSE requests are served one at a time, as the driver's mutex
 * serialises them). */
static struct mc_sevdev *dev;
static struct mc_sevguest *gdev;
static struct node nodes[N_MAX];
static struct timespec node_time; /* the nodes' times: when they were mounted */

/* ---- the caller's memory -------------------------------------------------------------------- */

/* The ioctl structure's bytes travel with the request (win: read from the caller first, then the
 * bytes FUSE copied in; what is written there goes back in the reply); every other address is the
 * caller's, reached with process_vm_readv/writev. */
struct uctx {
    pid_t pid;
    uint64_t arg;
    uint8_t *win;
    size_t wlen;
};

static int vm_rw(pid_t pid, uint64_t a, void *buf, size_t len, bool wr)
{
    struct iovec l = {buf, len}, r = {(void *)(uintptr_t)a, len};
    ssize_t n = wr ? process_vm_writev(pid, &l, 1, &r, 1, 0) : process_vm_readv(pid, &l, 1, &r, 1, 0);
    return n == (ssize_t)len ? 0 : -1;
}

static int u_access(struct uctx *u, uint64_t a, uint8_t *buf, size_t len, bool wr)
{
    while (len) {
        size_t k;
        if (a >= u->arg && a - u->arg < u->wlen) {
            size_t off = (size_t)(a - u->arg);
            k = len < u->wlen - off ? len : u->wlen - off;
            if (wr)
                memcpy(u->win + off, buf, k);
            else
                memcpy(buf, u->win + off, k);
        } else {
            k = a < u->arg && u->arg - a < len ? (size_t)(u->arg - a) : len;
            if (a + k < a || vm_rw(u->pid, a, buf, k, wr))
                return -1;
        }
        a += k;
        buf += k;
        len -= k;
    }
    return 0;
}
static int u_read(void *c, uint64_t a, void *buf, size_t len) { return u_access(c, a, buf, len, false); }
static int u_write(void *c, uint64_t a, const void *buf, size_t len)
{
    return u_access(c, a, (uint8_t *)(uintptr_t)buf, len, true);
}

/* ---- the FUSE file system: one regular file, its root node --------------------------------- */

static void ll_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    (void)fi;
    if (ino != FUSE_ROOT_ID) {
        F.reply_err(req, ENOENT);
        return;
    }
    struct stat st;
    memset(&st, 0, sizeof st);
    st.st_ino = FUSE_ROOT_ID;
    st.st_mode = S_IFREG | 0660; /* the device's mode; a regular file: FUSE mounts on one */
    st.st_nlink = 1;
    st.st_uid = getuid();
    st.st_gid = getgid();
    st.st_blksize = 4096;
    st.st_atim = st.st_mtim = st.st_ctim = node_time;
    F.reply_attr(req, &st, 3600.0);
}

static void ll_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    if (ino != FUSE_ROOT_ID) {
        F.reply_err(req, ENOENT);
        return;
    }
    if ((fi->flags & O_TRUNC) && (fi->flags & O_ACCMODE) != O_RDONLY) {
        F.reply_err(req, EINVAL); /* a character device cannot be truncated */
        return;
    }
    fi->fh = (uint64_t)(fi->flags & O_ACCMODE);
    fi->direct_io = 1;
    fi->nonseekable = 1;
    F.reply_open(req, fi);
}

/* The drivers have no read or write method: EINVAL (the VFS said EBADF already without the mode). */
static void ll_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
    (void)ino, (void)size, (void)off, (void)fi;
    F.reply_err(req, EINVAL);
}
static void ll_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
    (void)ino, (void)buf, (void)size, (void)off, (void)fi;
    F.reply_err(req, EINVAL);
}

static void ll_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg, struct fuse_file_info *fi,
                     unsigned flags, const void *in, size_t in_size, size_t out_size)
{
    (void)ino;
    struct node *n = F.req_userdata(req);
    if (flags & FUSE_IOCTL_COMPAT) { /* a 32-bit caller: neither driver has a compat_ioctl */
        F.reply_err(req, ENOTTY);
        return;
    }
    size_t wlen = in_size > out_size ? in_size : out_size;
    uint8_t *win = calloc(1, wlen ? wlen : 1);
    if (!win) {
        F.reply_err(req, ENOMEM);
        return;
    }
    struct uctx u = {F.req_ctx(req)->pid, (uint64_t)(uintptr_t)arg, win, wlen};
    if (wlen > in_size && vm_rw(u.pid, u.arg + in_size, win + in_size, wlen - in_size, false))
        memset(win + in_size, 0, wlen - in_size);
    if (in_size)
        memcpy(win, in, in_size);
    struct mc_sevdev_user user = {&u, u_read, u_write};
    struct mc_error err = {0};
    long rc;
    if (n->kind == N_GUEST)
        rc = mc_sevguest_ioctl(gdev, cmd, u.arg, &user, &err);
    else
        rc = mc_sevdev_ioctl(dev, fi->fh == O_WRONLY || fi->fh == O_RDWR, cmd, u.arg, &user, &err);
    if (err.msg[0])
        fprintf(stderr, "memcrypt exec --fuse: %s: %s\n", node_path[n->kind], err.msg);
    F.reply_ioctl(req, (int)rc, win, out_size);
    free(win);
}

static const struct fuse_lowlevel_ops ops = {
    .getattr = ll_getattr, .open = ll_open, .read = ll_read, .write = ll_write, .ioctl = ll_ioctl,
};

/* ---- the namespace -------------------------------------------------------------------------- */

/* A private /dev: a tmpfs with every entry of the host's /dev bound into it (folders recursively:
 * pts, shm, ...; symbolic links copied), so the program sees the host's devices and the two
 * files this namespace adds, and nothing changes outside. */
static int private_dev(const char *cmd)
{
    char old[] = "/tmp/memcrypt-dev.XXXXXX";
    if (!mkdtemp(old))
        return mc_cli_error(cmd, MC_EXIT_ERROR, "--fuse: cannot make a temporary folder: %s", strerror(errno));
    int rc = 0;
    if (mount("/dev", old, NULL, MS_BIND | MS_REC, NULL) != 0) {
        rc = mc_cli_error(cmd, MC_EXIT_ERROR, "--fuse: the kernel refused a bind mount of /dev: %s", strerror(errno));
        rmdir(old);
        return rc;
    }
    if (mount("tmpfs", "/dev", "tmpfs", MS_NOSUID, "mode=0755") != 0) {
        rc = mc_cli_error(cmd, MC_EXIT_ERROR, "--fuse: the kernel refused a tmpfs on /dev: %s", strerror(errno));
        umount2(old, MNT_DETACH);
        rmdir(old);
        return rc;
    }
    DIR *d = opendir(old);
    struct dirent *e;
    while (d && !rc && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, "sev") ||
            !strcmp(e->d_name, "sev-guest"))
            continue;
        char from[PATH_MAX], to[PATH_MAX];
        snprintf(from, sizeof from, "%s/%s", old, e->d_name);
        snprintf(to, sizeof to, "/dev/%s", e->d_name);
        struct stat st;
        if (lstat(from, &st) != 0)
            continue;
        if (S_ISLNK(st.st_mode)) {
            char target[PATH_MAX];
            ssize_t k = readlink(from, target, sizeof target - 1);
            if (k > 0) {
                target[k] = 0;
                if (symlink(target, to) != 0)
                    rc = -1;
            }
            continue;
        }
        int made = S_ISDIR(st.st_mode) ? mkdir(to, st.st_mode & 07777) : close(open(to, O_CREAT | O_WRONLY, 0600));
        if (made != 0 || mount(from, to, NULL, MS_BIND | MS_REC, NULL) != 0)
            rc = -1;
    }
    if (d)
        closedir(d);
    umount2(old, MNT_DETACH);
    rmdir(old);
    if (rc)
        return mc_cli_error(cmd, MC_EXIT_ERROR, "--fuse: cannot rebuild /dev in the namespace: %s", strerror(errno));
    return 0;
}

/* Mount node k on its path (an empty regular file made for it). */
static int mount_node(const char *cmd, int k)
{
    int fd = open(node_path[k], O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0)
        return mc_cli_error(cmd, MC_EXIT_ERROR, "--fuse: cannot make %s: %s", node_path[k], strerror(errno));
    close(fd);
    char fsname[64];
    snprintf(fsname, sizeof fsname, "fsname=memcrypt-%s", node_path[k] + 5);
    char *argv[] = {"memcrypt", "-o", fsname, "-o", "subtype=memcrypt,allow_other,default_permissions", NULL};
    struct fuse_args fa = FUSE_ARGS_INIT(5, argv);
    nodes[k].kind = k;
    nodes[k].se = F.session_new(&fa, &ops, sizeof ops, &nodes[k]);
    F.opt_free_args(&fa); /* what the option parser added to the vector */
    if (!nodes[k].se)
        return mc_cli_error(cmd, MC_EXIT_ERROR, "--fuse: libfuse cannot start a session");
    if (F.session_mount(nodes[k].se, node_path[k]) != 0)
        return mc_cli_error(cmd, MC_EXIT_ERROR, "--fuse: the kernel refused the FUSE mount on %s (libfuse's message "
                                                "above)", node_path[k]);
    nodes[k].mounted = true;
    return 0;
}

static void teardown(void)
{
    for (int k = 0; k < N_MAX; k++) {
        if (nodes[k].mounted)
            F.session_unmount(nodes[k].se);
        if (nodes[k].se)
            F.session_destroy(nodes[k].se);
        nodes[k].se = NULL;
        nodes[k].mounted = false;
    }
    mc_sevguest_destroy(gdev);
    gdev = NULL;
    mc_sevdev_destroy(dev);
    dev = NULL;
}

int mc_cli_fuse_exec(const char *cmd, const char *state, const char *platform, const char *guest, char **prog)
{
    struct mc_error err = {0};
    if (!F.handle && fuse_load(cmd))
        return MC_EXIT_ERROR;
    /* The devices first: a chip or guest that cannot be used is reported before anything is mounted. */
    struct mc_sevdev_config dc = {.platform = platform, .state_path = state};
    mc_status s = mc_sevdev_create(&dc, &dev, &err);
    if (s && s != MC_E_UNSUPPORTED) /* a platform without SEV has no /dev/sev */
        return mc_cli_fail(cmd, &err);
    if (guest) {
        struct mc_sevguest_config gc = {.guest_path = guest, .state_path = state};
        if (mc_sevguest_create(&gc, &gdev, &err)) {
            teardown();
            return mc_cli_fail(cmd, &err);
        }
    }
    if (unshare(CLONE_NEWNS) != 0) {
        int e = errno;
        teardown();
        return mc_cli_error(cmd, MC_EXIT_ERROR, "--fuse: the kernel refused a private mount namespace (unshare: %s; "
                                                "root, or CAP_SYS_ADMIN, is needed)",
                            strerror(e));
    }
    int rc = 0;
    clock_gettime(CLOCK_REALTIME, &node_time);
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        rc = mc_cli_error(cmd, MC_EXIT_ERROR, "--fuse: the kernel refused to make / private: %s", strerror(errno));
    if (!rc)
        rc = private_dev(cmd);
    if (!rc && dev)
        rc = mount_node(cmd, N_SEV);
    if (!rc && gdev)
        rc = mount_node(cmd, N_GUEST);
    if (rc) {
        teardown();
        return rc;
    }

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGQUIT);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int sfd = signalfd(-1, &set, SFD_CLOEXEC);
    fflush(NULL);
    pid_t pid = sfd >= 0 ? fork() : -1;
    if (pid == 0) {
        sigprocmask(SIG_UNBLOCK, &set, NULL);
        execvp(prog[0], prog);
        fprintf(stderr, "memcrypt %s: %s: %s\n", cmd, prog[0], strerror(errno));
        _exit(errno == ENOENT ? 127 : 126);
    }
    if (pid < 0) {
        teardown();
        return mc_cli_error(cmd, MC_EXIT_ERROR, "--fuse: cannot start the program: %s", strerror(errno));
    }
    /* Serve until the program exits; SIGINT and SIGQUIT are the program's (a terminal sends them to
     * both), SIGTERM is passed on. */
    struct fuse_buf buf = {0};
    int status = 0;
    bool done = false;
    while (!done) {
        struct pollfd p[N_MAX + 1];
        int np = 0, which[N_MAX];
        p[np++] = (struct pollfd){.fd = sfd, .events = POLLIN};
        for (int k = 0; k < N_MAX; k++)
            if (nodes[k].mounted && !F.session_exited(nodes[k].se)) {
                which[np - 1] = k;
                p[np++] = (struct pollfd){.fd = F.session_fd(nodes[k].se), .events = POLLIN};
            }
        if (poll(p, (nfds_t)np, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[0].revents & POLLIN) {
            struct signalfd_siginfo si;
            if (read(sfd, &si, sizeof si) == (ssize_t)sizeof si && si.ssi_signo == SIGTERM)
                kill(pid, SIGTERM);
            if (waitpid(pid, &status, WNOHANG) == pid)
                done = true;
        }
        for (int i = 1; i < np && !done; i++) {
            if (!(p[i].revents & (POLLIN | POLLERR | POLLHUP)))
                continue;
            struct fuse_session *se = nodes[which[i - 1]].se;
            int r = F.session_receive_buf(se, &buf);
            if (r > 0)
                F.session_process_buf(se, &buf);
            else if (r < 0 && r != -EINTR && r != -EAGAIN)
                F.session_exit(se);
        }
    }
    if (!done) /* the loop broke down: the program still runs without its devices */
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
    free(buf.mem);
    close(sfd);
    teardown();
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
