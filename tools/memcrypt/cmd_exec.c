/* memcrypt exec — run an unmodified program with /dev/sev answered by an emulated chip.
 *
 * The program runs with libmemcrypt-sev.so preloaded (tools/interpose/sev_preload.c): its
 * open/ioctl/... calls on /dev/sev reach memcrypt's model of the Linux ccp driver
 * (memcrypt/sevdev.h) over the chip of --state FILE. Without --state, a chip made for this run
 * (in a temporary folder, removed afterwards) is shared by the program and every process it
 * starts. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memcrypt/fileio.h>
#include <memcrypt/migrate.h>
#include <memcrypt/psp.h>
#include <memcrypt/sevdev.h>

#include "cli.h"
#include "cli_util.h"
#include "fuse_dev.h"

/* The interposer: $MEMCRYPT_SEV_LIB, else beside this binary (a build folder), else installed. */
static int find_preload(char *out, size_t cap)
{
    const char *env = getenv("MEMCRYPT_SEV_LIB");
    if (env && *env) {
        if (access(env, R_OK) != 0)
            return -1;
        return (size_t)snprintf(out, cap, "%s", env) < cap ? 0 : -1;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            if ((size_t)snprintf(out, cap, "%s/libmemcrypt-sev.so", exe) < cap && access(out, R_OK) == 0)
                return 0;
        }
    }
    if ((size_t)snprintf(out, cap, "%s", MC_SEV_PRELOAD_INSTALLED) < cap && access(out, R_OK) == 0)
        return 0;
    return -1;
}

/* An absolute path for FILE (the program may change folder): its folder resolved, its name kept. */
static int absolute(const char *path, char *out, size_t cap)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    if (!*name)
        return -1;
    if (slash) {
        size_t dl = (size_t)(slash - path);
        char tmp[PATH_MAX];
        if (dl >= sizeof tmp)
            return -1;
        memcpy(tmp, path, dl);
        tmp[dl] = 0;
        if (!realpath(dl ? tmp : "/", dir))
            return -1;
    } else if (!getcwd(dir, sizeof dir)) {
        return -1;
    }
    return (size_t)snprintf(out, cap, "%s/%s", strcmp(dir, "/") ? dir : "", name) < cap ? 0 : -1;
}

/* A chip made for one run: its file, lock and folder. */
static void remove_chip(const char *path, const char *tmpdir)
{
    char f[PATH_MAX + 8];
    unlink(path);
    if ((size_t)snprintf(f, sizeof f, "%s.lock", path) < sizeof f)
        unlink(f);
    rmdir(tmpdir);
}

enum { X_GUEST = 1, X_FUSE };

static const struct mc_opt exec_opts[] = {
    {"guest", 0, "GUEST",
     "a saved SEV-SNP guest (made on the chip of --state): PROGRAM runs inside it, with\n"
     "/dev/sev-guest and configfs-tsm (/sys/kernel/config/tsm/report) answered by that guest",
     X_GUEST, MC_OPT_FILE},
    {"fuse", 0, NULL,
     "also for programs the preloaded library cannot reach (static binaries, raw system calls):\n"
     "PROGRAM runs in a private mount namespace whose /dev/sev and /dev/sev-guest are FUSE files\n"
     "served by exec (root: CAP_SYS_ADMIN; nothing changes outside the namespace)",
     X_FUSE, 0},
    {0},
};

/* The guest file's header: an SNP guest of the state file's platform (its body is read at the
 * program's first open of /dev/sev-guest). */
static int check_guest(const char *prog, const char *guest, char *abs, size_t cap)
{
    uint8_t *file = NULL;
    size_t len = 0;
    struct mc_guest_file_info gi;
    struct mc_error err = {0};
    if (absolute(guest, abs, cap) != 0) {
        fprintf(stderr, "memcrypt %s: %s: cannot resolve its folder: %s\n", prog, guest, strerror(errno));
        return MC_EXIT_ERROR;
    }
    /* Under the guest's lock: a program of another exec may be writing it back now. */
    int lock = -1;
    unsigned wait = mc_cli_state_wait_ms();
    mc_status s = mc_file_lock(abs, wait ? wait : MC_PSP_STATE_WAIT_MS, &lock, &err);
    if (!s)
        s = mc_file_read(abs, (size_t)1 << 36, &file, &len, &err);
    if (lock >= 0)
        mc_file_unlock(lock);
    if (s) {
        free(file);
        return mc_cli_fail(prog, &err);
    }
    if (len == 0)
        s = mc_seterr(&err, MC_E_FORMAT, "the file is empty");
    else
        s = mc_guest_file_info(file, len, &gi, &err);
    free(file);
    if (s)
        return mc_cli_error(prog, MC_EXIT_ERROR, "--guest %s: %s (it must be a saved SEV-SNP guest: memcrypt run "
                            "SNP-DOMAIN.xml --state FILE --save GUEST)", guest, err.msg);
    if (gi.kind != MC_GUEST_KIND_SNP) {
        fprintf(stderr, "memcrypt %s: %s is a saved SEV%s guest; --guest takes an SEV-SNP guest\n", prog, guest,
                gi.kind == MC_MIGRATE_KIND_SEV_ES ? "-ES" : "");
        return MC_EXIT_ERROR;
    }
    return 0;
}

static int run_exec(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    struct mc_args a;
    int ch, rc;
    const char *guest = NULL;
    bool fuse = false;
    mc_args_init(&a, cmd, argc, argv);
    while ((ch = mc_args_next(&a)) > 0) {
        if (ch == X_GUEST)
            guest = a.val;
        else if (ch == X_FUSE)
            fuse = true;
    }
    if (ch < 0)
        return a.rc;
    const char *state = a.state, *platform = a.platform;
    if (guest && !state)
        return mc_cli_usage_error(argv[0], "--guest needs --state FILE: the chip that saved the guest");
    char guest_abs[PATH_MAX];
    if (guest && (rc = check_guest(argv[0], guest, guest_abs, sizeof guest_abs)))
        return rc;
    char **prog = a.pos;
    prog[a.npos] = NULL; /* the positional arguments sit at the front of argv + 1 */

    char lib[PATH_MAX];
    if (find_preload(lib, sizeof lib) != 0) {
        fprintf(stderr, "memcrypt %s: libmemcrypt-sev.so not found (beside this program, at %s, or "
                        "$MEMCRYPT_SEV_LIB)\n", argv[0], MC_SEV_PRELOAD_INSTALLED);
        return MC_EXIT_ERROR;
    }

    /* The chip: an existing state file keeps its platform; a new one is made now. */
    char path[PATH_MAX], tmpdir[PATH_MAX - 64] = "";
    char fileplat[32];
    struct mc_error err = {0};
    struct stat st;
    if (state) {
        if (absolute(state, path, sizeof path) != 0) {
            fprintf(stderr, "memcrypt %s: %s: cannot resolve its folder: %s\n", argv[0], state, strerror(errno));
            return MC_EXIT_ERROR;
        }
    } else {
        const char *t = getenv("TMPDIR");
        if ((size_t)snprintf(tmpdir, sizeof tmpdir, "%s/memcrypt-exec.XXXXXX", t && *t ? t : "/tmp") >=
                sizeof tmpdir ||
            !mkdtemp(tmpdir)) {
            fprintf(stderr, "memcrypt %s: cannot make a temporary folder: %s\n", argv[0], strerror(errno));
            return MC_EXIT_ERROR;
        }
        if ((size_t)snprintf(path, sizeof path, "%s/chip.state", tmpdir) >= sizeof path) {
            rmdir(tmpdir);
            return MC_EXIT_ERROR;
        }
    }
    if (stat(path, &st) == 0) {
        if (mc_psp_state_file_platform(path, fileplat, &err))
            return mc_cli_fail(argv[0], &err);
        if (platform && strcmp(platform, fileplat) != 0) {
            fprintf(stderr, "memcrypt %s: %s is a '%s' chip, not '%s'\n", argv[0], path, fileplat, platform);
            return MC_EXIT_USAGE;
        }
        platform = fileplat;
    } else {
        if (!platform)
            platform = "milan";
    }
    /* A new chip is made here, before the program starts: a bad platform or a busy lock is
     * reported now. An existing file was checked above (its header); the program's first open
     * of /dev/sev reads the rest, which keeps exec's own start-up short. */
    if (platform != fileplat) {
        struct mc_sevdev_config cfg = {.platform = platform, .state_path = path,
                                       .state_wait_ms = mc_cli_state_wait_ms()};
        struct mc_sevdev *d;
        mc_status s = mc_sevdev_create(&cfg, &d, &err);
        if (s) {
            if (tmpdir[0])
                rmdir(tmpdir);
            if (s == MC_E_NOTFOUND || s == MC_E_UNSUPPORTED)
                return mc_cli_usage_error(argv[0], "%s", err.msg);
            return mc_cli_fail(argv[0], &err);
        }
        mc_sevdev_destroy(d);
    }

    const char *old = getenv("LD_PRELOAD");
    size_t pl = strlen(lib) + (old ? strlen(old) + 1 : 0) + 1;
    char *preload = malloc(pl);
    if (!preload)
        return MC_EXIT_ERROR;
    snprintf(preload, pl, "%s%s%s", lib, old && *old ? ":" : "", old && *old ? old : "");
    /* With --fuse the device nodes are the FUSE files (the preloaded library leaves them alone and
     * still answers configfs-tsm). */
    if (setenv("LD_PRELOAD", preload, 1) || setenv("MEMCRYPT_SEV_STATE", path, 1) ||
        setenv("MEMCRYPT_SEV_PLATFORM", platform, 1) || (guest && setenv("MEMCRYPT_SEV_GUEST", guest_abs, 1)) ||
        (!guest && unsetenv("MEMCRYPT_SEV_GUEST")) || (fuse ? setenv("MEMCRYPT_SEV_FUSE", "1", 1)
                                                            : unsetenv("MEMCRYPT_SEV_FUSE"))) {
        free(preload);
        return MC_EXIT_ERROR;
    }
    free(preload);
    fflush(NULL);
    if (fuse) {
        rc = mc_cli_fuse_exec(argv[0], path, platform, guest ? guest_abs : NULL, prog);
        if (tmpdir[0])
            remove_chip(path, tmpdir);
        return rc;
    }
    if (!tmpdir[0]) {
        execvp(prog[0], prog);
        fprintf(stderr, "memcrypt %s: %s: %s\n", argv[0], prog[0], strerror(errno));
        return errno == ENOENT ? 127 : 126;
    }
    /* A chip for this run only: wait for the program, then remove it. */
    pid_t pid = fork();
    if (pid == 0) {
        execvp(prog[0], prog);
        fprintf(stderr, "memcrypt %s: %s: %s\n", argv[0], prog[0], strerror(errno));
        _exit(errno == ENOENT ? 127 : 126);
    }
    int status = 0;
    if (pid < 0) {
        fprintf(stderr, "memcrypt %s: fork: %s\n", argv[0], strerror(errno));
        rc = MC_EXIT_ERROR;
    } else {
        signal(SIGINT, SIG_IGN); /* the program gets the terminal's signals; we wait for it */
        signal(SIGQUIT, SIG_IGN);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    remove_chip(path, tmpdir);
    return rc;
}

const struct mc_cli_cmd mc_cli_exec[] = {
    {.path = "exec",
     .summary = "run a program with /dev/sev answered by an emulated chip (LD_PRELOAD)",
     .synopsis = "[--state FILE] [--platform NAME] [--guest GUEST] [--fuse] [--] PROGRAM [ARGS...]",
     .about = "Runs PROGRAM with libmemcrypt-sev.so preloaded: its open/ioctl/close/fstat/poll/read/write\n"
              "on /dev/sev behave as the Linux ccp driver's device node (SEV_ISSUE_CMD with every command\n"
              "of linux/psp-sev.h), backed by an emulated chip. Other files are untouched.\n"
              "--state FILE is the chip's state file (made with --platform if missing; an existing file\n"
              "keeps its platform); processes sharing it see one chip (locked). Without --state, a chip\n"
              "made for this run and removed afterwards. --platform is the CPU profile of a new chip\n"
              "(default milan). The first argument that is not an option is PROGRAM: what follows it\n"
              "is PROGRAM's.\n"
              "With --guest GUEST (a saved SEV-SNP guest, e.g. from `memcrypt run --save`), PROGRAM runs\n"
              "inside that guest: /dev/sev-guest (SNP_GET_REPORT, SNP_GET_DERIVED_KEY, SNP_GET_EXT_REPORT of\n"
              "linux/sev-guest.h) and configfs-tsm reports go through the guest's message channel (VMPCK0,\n"
              "its sequence numbers) to the firmware of --state's chip; the guest file is updated after\n"
              "every request (locked: concurrent programs share one guest).\n"
              "With --fuse (root), /dev/sev and /dev/sev-guest are FUSE files in a private mount namespace, so\n"
              "static binaries and programs that make system calls themselves reach them too; the same\n"
              "decoder answers (docs/kernel-interfaces.md: what differs).\n",
     .opts = exec_opts,
     .common = MC_CO_STATE | MC_CO_PLATFORM,
     .opts_end_at_arg = true,
     .args = "PROGRAM",
     .min_args = 1,
     .max_args = -1,
     .notes = "Exit status: PROGRAM's; 2 usage error, 3 the chip cannot be used, 126/127 PROGRAM cannot\n"
              "be run. Not interposed: static binaries, programs that make system calls themselves\n"
              "(Go), setuid programs (docs/kernel-interfaces.md).\n",
     .examples = "memcrypt exec -- python3 -c 'import os; print(os.stat(\"/dev/sev\"))'\n"
                 "d=$(mktemp -d)\n"
                 "memcrypt exec --state $d/ci.state --platform genoa python3 -c "
                 "'import os, stat; assert stat.S_ISCHR(os.stat(\"/dev/sev\").st_mode)'\n",
     .run = run_exec},
    {0},
};
