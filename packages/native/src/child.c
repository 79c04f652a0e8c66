/*
 * The child between clone and execve.
 *
 * It shares the parent's memory (CLONE_VM) and, through the thread pointer, the
 * parent thread's TLS, while that thread is suspended. So it must not touch
 * anything that could be half-updated or locked: no malloc, no stdio, no locks, no
 * glibc wrapper with hidden state. Everything here is a raw syscall() (the only
 * state it touches is errno, which belongs to the suspended parent thread and is
 * read back at once). In particular glibc's setuid()/setgid()/setgroups() would
 * broadcast the change to the parent's other threads (the setxid protocol): the
 * child uses syscall(SYS_setuid) and friends.
 */
#define _GNU_SOURCE
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

/* The kernel's struct sigaction for rt_sigaction. SIG_DFL with no flags is all zeros,
 * so the field order (which differs between architectures) does not matter. */
struct kernel_sigaction {
  void (*handler)(int);
  unsigned long flags;
  void (*restorer)(void);
  uint64_t mask;
};

/* The kernel's sigset_t is 64 bits on Linux (glibc's is 1024). */
#define KERNEL_SIGSET_SIZE 8
#define KERNEL_NSIG 64

/* Records the failure for the parent and ends the child. */
__attribute__((noreturn)) static void fail(struct cgb_child_context *ctx, const char *syscall_name, int error) {
  ctx->error = error;
  ctx->syscall = syscall_name;
  /* SYS_exit_group: the child is its own thread group (no CLONE_THREAD). */
  syscall(SYS_exit_group, 127);
  __builtin_unreachable();
}

/*
 * Every signal back to SIG_DFL. Caught signals would be reset by execve anyway, but
 * one delivered before it would run the parent's handler in the parent's memory;
 * ignored ones (Node ignores SIGPIPE and SIGXFSZ) survive execve and would leave a
 * script that never dies of a broken pipe. The child has its own copy of the
 * dispositions (no CLONE_SIGHAND), so the parent keeps its handlers.
 */
static void reset_signal_dispositions(void) {
  struct kernel_sigaction dfl = {0};
  for (int sig = 1; sig <= KERNEL_NSIG; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    syscall(SYS_rt_sigaction, sig, &dfl, NULL, KERNEL_SIGSET_SIZE);
  }
}

/* The pipe ends become fds 0, 1 and 2 (dup3 clears their close-on-exec flag). */
static int install_stdio(const int ends[3]) {
  int fds[3];
  /* An end that already sits on 0..2 (the server ran with a std fd closed) is moved
   * up first, so that installing one end never overwrites another. */
  for (int i = 0; i < 3; i++) {
    fds[i] = ends[i] < 3 ? (int)syscall(SYS_fcntl, ends[i], F_DUPFD_CLOEXEC, 3) : ends[i];
    if (fds[i] < 0) return -1;
  }
  for (int i = 0; i < 3; i++) {
    if (syscall(SYS_dup3, fds[i], i, 0) < 0) return -1;
  }
  return 0;
}

/*
 * Exactly three descriptors: everything from 3 up is closed. Node opens its own
 * descriptors close-on-exec, but not those it inherited from its parent.
 */
static void close_from_3(void) {
  if (syscall(SYS_close_range, 3U, ~0U, 0U) == 0) return;
  /* Kernels before 5.9: close them one by one, up to the descriptor limit. */
  uint64_t limit[2] = {0, 0};
  if (syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, limit) != 0) limit[0] = 65536;
  for (uint64_t fd = 3; fd < limit[0]; fd++) syscall(SYS_close, (int)fd);
}

/* Soft and hard limit alike, so the script cannot raise them again; except CPU time, whose
 * hard limit is a second later: SIGXCPU at the limit says why, SIGKILL follows if ignored. */
static int apply_limits(const struct cgb_request *req) {
  for (int i = 0; i < req->limit_count; i++) {
    uint64_t value = req->limits[i].value;
    uint64_t both[2] = {value, req->limits[i].resource == RLIMIT_CPU ? value + 1 : value};
    if (syscall(SYS_prlimit64, 0, req->limits[i].resource, both, NULL) != 0) return -1;
  }
  return 0;
}

/* As libuv does for Node's uid/gid: drop supplementary groups (an unprivileged
 * server cannot, and that is not an error), then the group, then the user. */
static void switch_user(struct cgb_child_context *ctx) {
  const struct cgb_request *req = ctx->req;
  if (!req->set_uid && !req->set_gid) return;
  syscall(SYS_setgroups, 0, NULL);
  if (req->set_gid && syscall(SYS_setgid, req->gid) != 0) fail(ctx, "setgid", errno);
  if (req->set_uid && syscall(SYS_setuid, req->uid) != 0) fail(ctx, "setuid", errno);
}

/*
 * execvp's search over the candidates the parent built from the child's PATH, with
 * glibc's rules: a candidate that is missing, under a non-directory, or denied is
 * skipped (EACCES remembered); any other error means the file was found and could
 * not run, and ends the search. Unlike execvp there is no /bin/sh retry on ENOEXEC:
 * a file without a shebang is an error, not a shell script.
 */
static int exec_candidates(const struct cgb_request *req) {
  int denied = 0;
  int error = ENOENT;
  for (char **candidate = req->candidates; *candidate != NULL; candidate++) {
    syscall(SYS_execve, *candidate, req->argv, req->envp);
    error = errno;
    switch (error) {
      case EACCES:
        denied = 1;
        break;
      case ENOENT:
      case ENOTDIR:
      case ESTALE:
      case ENODEV:
      case ETIMEDOUT:
        break;
      default:
        return error;
    }
  }
  return denied ? EACCES : error;
}

int cgb_child_main(void *arg) {
  struct cgb_child_context *ctx = arg;
  const struct cgb_request *req = ctx->req;
  uint64_t empty_mask = 0;

  /* All signals are still blocked (the parent blocked them around clone). */
  reset_signal_dispositions();
  /* A new session and process group led by the child: pgid == sid == pid, no terminal. */
  if (syscall(SYS_setsid) < 0) fail(ctx, "setsid", errno);
  if (install_stdio(ctx->ends) != 0) fail(ctx, "dup2", errno);
  close_from_3();
  /* Before the user switch, as libuv does: the server may enter directories the script's user cannot. */
  if (syscall(SYS_chdir, req->cwd) != 0) fail(ctx, "chdir", errno);
  /* Before the user switch too: as root any limit can be set, and the kernel checks
   * RLIMIT_NPROC when the uid changes (execve then fails with EAGAIN if over it). */
  if (apply_limits(req) != 0) fail(ctx, "setrlimit", errno);
  switch_user(ctx);
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &empty_mask, NULL, KERNEL_SIGSET_SIZE);
  fail(ctx, "execve", exec_candidates(req));
  return 127;
}
